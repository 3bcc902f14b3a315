/*
 * test_spool - common/spool.c: commit / list / load / remove round trip,
 * group commit with a bad item in the batch, refusal of envelope values
 * with CR or LF, the lock against a second process, leftovers in tmp/.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../common/spool.h"
#include "../../common/util.h"
#include "t.h"

static int
exists(const char *dir, const char *sub, const char *id)
{
	char p[4096];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s/%s", dir, sub, id);
	return stat(p, &st) == 0;
}

static void
env_fill(struct spool_env *e, char **rcpt, size_t nrcpt)
{
	memset(e, 0, sizeof(*e));
	id_new(e->id);
	e->received = "2024-05-01T10:00:00Z";
	e->received_ms = 1714557600123ULL;
	e->client_ip = "2001:db8::7";
	e->client_port = 40123;
	e->helo = "mail.example.org";
	e->mail_from = "";
	e->rcpt = rcpt;
	e->nrcpt = nrcpt;
	e->tag = "json";
	e->tls_protocol = "TLSv1.3";
	e->tls_cipher = "TLS_AES_256_GCM_SHA384";
}

int
main(void)
{
	char dir[] = "/tmp/mt-spool-XXXXXX", err[256];
	char *rcpt[] = { "check+json@localhost", "check@localhost" };
	static const char msg[] = "Received: x\r\nSubject: t\r\n\r\nbody\r\n";
	struct spool *s, *s2;
	struct spool_env e, got;
	char **ids, *body;
	size_t n, len;

	if (mkdtemp(dir) == NULL)
		fatal("mkdtemp");
	s = spool_open(dir, err, sizeof(err));
	T_OK(s != NULL, "open");
	if (s == NULL)
		return t_done("test_spool");
	T_OK(spool_open(dir, err, sizeof(err)) == NULL, "a second open is refused");
	T_OK(strstr(err, "in use") != NULL, "the lock is named in the error");

	env_fill(&e, rcpt, 2);
	T_EQ_INT(spool_commit(s, &e, msg, sizeof(msg) - 1, err, sizeof(err)), 0, "commit");
	T_OK(exists(dir, "incoming", e.id), "file in incoming/");
	T_OK(!exists(dir, "tmp", e.id), "nothing left in tmp/");
	T_EQ_INT(spool_list(s, &ids, &n), 0, "list");
	T_EQ_INT(n, 1, "one message listed");
	if (n == 1)
		T_EQ_STR(ids[0], e.id, "listed id");
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);

	T_EQ_INT(spool_load(s, e.id, &got, &body, &len, err, sizeof(err)), 0, "load");
	T_EQ_STR(got.id, e.id, "id");
	T_EQ_STR(got.received, e.received, "received");
	T_EQ_INT(got.received_ms, e.received_ms, "received_ms");
	T_EQ_STR(got.client_ip, "2001:db8::7", "client ip");
	T_EQ_INT(got.client_port, 40123, "client port");
	T_EQ_STR(got.helo, "mail.example.org", "helo");
	T_EQ_STR(got.mail_from, "", "null sender survives");
	T_EQ_INT(got.nrcpt, 2, "two recipients");
	if (got.nrcpt == 2)
		T_EQ_STR(got.rcpt[1], "check@localhost", "second recipient");
	T_EQ_STR(got.tag, "json", "tag");
	T_EQ_STR(got.tls_protocol, "TLSv1.3", "tls protocol");
	T_EQ_STR(got.tls_cipher, "TLS_AES_256_GCM_SHA384", "tls cipher");
	T_EQ_STR(got.proxy_peer, NULL, "no proxy");
	T_EQ_INT(len, sizeof(msg) - 1, "message length");
	T_OK(len == sizeof(msg) - 1 && memcmp(body, msg, len) == 0, "message bytes");
	spool_env_free(&got);
	free(body);

	T_EQ_INT(spool_remove(s, e.id), 0, "remove");
	T_OK(!exists(dir, "incoming", e.id), "removed");
	T_EQ_INT(spool_load(s, e.id, &got, &body, &len, err, sizeof(err)), -1, "load removed");
	T_EQ_INT(errno, ENOENT, "ENOENT after remove");
	T_EQ_INT(spool_remove(s, e.id), 0, "remove twice is fine");
	T_EQ_INT(spool_load(s, "../../etc/pas", &got, &body, &len, err, sizeof(err)), -1,
	    "no paths as ids");

	/* group commit: the bad item fails alone */
	{
		struct spool_env a, b, c;
		struct spool_item it[3];

		env_fill(&a, rcpt, 1);
		env_fill(&b, rcpt, 1);
		env_fill(&c, rcpt, 1);
		b.helo = "evil\r\nX-Injected: yes";
		memset(it, 0, sizeof(it));
		it[0].env = &a;
		it[1].env = &b;
		it[2].env = &c;
		for (int i = 0; i < 3; i++) {
			it[i].msg = msg;
			it[i].len = sizeof(msg) - 1;
		}
		T_EQ_INT(spool_commit_many(s, it, 3), 1, "one of three failed");
		T_EQ_INT(it[0].rc, 0, "first durable");
		T_EQ_INT(it[1].rc, -1, "CR/LF in a value refused");
		T_OK(strstr(it[1].err, "CR or LF") != NULL, "reason given");
		T_EQ_INT(it[2].rc, 0, "third durable");
		T_OK(!exists(dir, "incoming", b.id), "refused one not spooled");
		T_EQ_INT(spool_list(s, &ids, &n), 0, "list two");
		T_EQ_INT(n, 2, "two listed");
		if (n == 2)
			T_OK(strcmp(ids[0], ids[1]) < 0, "sorted");
		for (size_t i = 0; i < n; i++)
			free(ids[i]);
		free(ids);
		e.nrcpt = 0;
		T_EQ_INT(spool_commit(s, &e, msg, 3, err, sizeof(err)), -1, "no recipients");
		spool_remove(s, a.id);
		spool_remove(s, c.id);
	}

	/* a corrupt file is reported, not half-loaded */
	{
		char id[ID_LEN + 1], p[4096];
		int fd;

		id_new(id);
		snprintf(p, sizeof(p), "%s/incoming/%s", dir, id);
		fd = open(p, O_WRONLY | O_CREAT, 0600);
		T_OK(fd >= 0 && write(fd, "garbage\n\nx", 10) == 10, "write corrupt");
		close(fd);
		T_EQ_INT(spool_load(s, id, &got, &body, &len, err, sizeof(err)), -1, "corrupt");
		T_EQ_INT(errno, EBADMSG, "EBADMSG");
		unlink(p);
	}

	/* tmp/ leftovers (never acknowledged) are cleaned at open */
	{
		char p[4096];
		int fd;

		spool_close(s);
		snprintf(p, sizeof(p), "%s/tmp/AAAAAAAAAAAA", dir);
		fd = open(p, O_WRONLY | O_CREAT, 0600);
		close(fd);
		s2 = spool_open(dir, err, sizeof(err));
		T_OK(s2 != NULL, "reopen after close");
		T_OK(!exists(dir, "tmp", "AAAAAAAAAAAA"), "tmp cleaned");
		spool_close(s2);
	}
	{
		char cmd[4200];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	return t_done("test_spool");
}
