/* spool.c - see spool.h */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "spool.h"

#define SPOOL_MAGIC		"MAILTEST-SPOOL 1"
/* the largest message_size_limit (1 GiB) plus room for the envelope */
#define SPOOL_MAX_FILE		((size_t)1024 * 1024 * 1024 + 4 * 1024 * 1024)

struct spool {
	char	*dir;		/* absolute path, owned */
	char	*tmp;		/* dir/tmp: files being written, owned */
	char	*incoming;	/* dir/incoming: durable messages, owned */
	int	 lock_fd;	/* flock(LOCK_EX) on dir/lock while open */
};

static int
mkdir_if_missing(const char *path, char *err, size_t errlen)
{
	if (mkdir(path, 0750) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Files in tmp/ were never acknowledged to a client: they go. */
static void
spool_clean_tmp(struct spool *s)
{
	DIR *d = opendir(s->tmp);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		(void)unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}

struct spool *
spool_open(const char *dir, char *err, size_t errlen)
{
	struct spool *s;
	char real[PATH_MAX], *lock;

	if (mkdir_if_missing(dir, err, errlen) < 0)
		return NULL;
	if (realpath(dir, real) == NULL) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->dir = xstrdup(real);
	s->tmp = xasprintf("%s/tmp", real);
	s->incoming = xasprintf("%s/incoming", real);
	s->lock_fd = -1;
	if (mkdir_if_missing(s->tmp, err, errlen) < 0 ||
	    mkdir_if_missing(s->incoming, err, errlen) < 0)
		goto fail;
	lock = xasprintf("%s/lock", real);
	s->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (s->lock_fd < 0) {
		snprintf(err, errlen, "%s: %s", lock, strerror(errno));
		free(lock);
		goto fail;
	}
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(err, errlen, "%s: in use by another process (%s)", real,
		    strerror(errno));
		free(lock);
		goto fail;
	}
	free(lock);
	spool_clean_tmp(s);
	return s;
fail:
	spool_close(s);
	return NULL;
}

void
spool_close(struct spool *s)
{
	if (s == NULL)
		return;
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	free(s->dir);
	free(s->tmp);
	free(s->incoming);
	free(s);
}

const char *
spool_path(const struct spool *s)
{
	return s->dir;
}

static int
value_ok(const char *v)
{
	return v == NULL || strpbrk(v, "\r\n") == NULL;
}

static int
env_ok(const struct spool_env *e, char *err, size_t errlen)
{
	size_t i;

	if (!id_valid(e->id)) {
		snprintf(err, errlen, "invalid message id");
		return -1;
	}
	if (e->nrcpt == 0 || e->nrcpt > SPOOL_MAX_RCPT) {
		snprintf(err, errlen, "%zu recipients (1 to %d)", e->nrcpt, SPOOL_MAX_RCPT);
		return -1;
	}
	if (!value_ok(e->received) || !value_ok(e->client_ip) || !value_ok(e->helo) ||
	    !value_ok(e->mail_from) || !value_ok(e->tag) || !value_ok(e->tls_protocol) ||
	    !value_ok(e->tls_cipher) || !value_ok(e->proxy_peer))
		goto bad;
	for (i = 0; i < e->nrcpt; i++)
		if (e->rcpt[i] == NULL || !value_ok(e->rcpt[i]))
			goto bad;
	return 0;
bad:
	snprintf(err, errlen, "envelope value with CR or LF");
	return -1;
}

static void
env_text(struct sbuf *b, const struct spool_env *e)
{
	size_t i;

	sbuf_printf(b, "%s\nid: %s\nreceived: %s\nreceived-ms: %llu\n", SPOOL_MAGIC,
	    e->id, e->received ? e->received : "",
	    (unsigned long long)e->received_ms);
	sbuf_printf(b, "client-ip: %s\nclient-port: %d\nhelo: %s\nmail-from: %s\n",
	    e->client_ip ? e->client_ip : "", e->client_port, e->helo ? e->helo : "",
	    e->mail_from ? e->mail_from : "");
	for (i = 0; i < e->nrcpt; i++)
		sbuf_printf(b, "rcpt: %s\n", e->rcpt[i]);
	if (e->tag)
		sbuf_printf(b, "tag: %s\n", e->tag);
	if (e->tls_protocol)
		sbuf_printf(b, "tls-protocol: %s\n", e->tls_protocol);
	if (e->tls_cipher)
		sbuf_printf(b, "tls-cipher: %s\n", e->tls_cipher);
	if (e->proxy_peer)
		sbuf_printf(b, "proxy-peer: %s\n", e->proxy_peer);
	sbuf_adds(b, "\n");
}

/* Write tmp/ID and fsync it. */
static int
spool_write_tmp(struct spool *s, struct spool_item *it)
{
	struct sbuf hdr;
	char *path;
	int fd, rc = -1;

	if (env_ok(it->env, it->err, sizeof(it->err)) < 0)
		return -1;
	sbuf_init(&hdr, 0);
	env_text(&hdr, it->env);
	path = xasprintf("%s/%s", s->tmp, it->env->id);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0) {
		snprintf(it->err, sizeof(it->err), "%s: %s", path, strerror(errno));
		goto out_free;
	}
	if (write_all(fd, hdr.s, hdr.len) < 0 || write_all(fd, it->msg, it->len) < 0 ||
	    fsync(fd) < 0) {
		snprintf(it->err, sizeof(it->err), "%s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		goto out_free;
	}
	if (close(fd) < 0) {
		snprintf(it->err, sizeof(it->err), "%s: %s", path, strerror(errno));
		unlink(path);
		goto out_free;
	}
	rc = 0;
out_free:
	free(path);
	sbuf_free(&hdr);
	return rc;
}

static int
spool_publish(struct spool *s, struct spool_item *it)
{
	char *from = xasprintf("%s/%s", s->tmp, it->env->id);
	char *to = xasprintf("%s/%s", s->incoming, it->env->id);
	int rc = 0;

	if (rename(from, to) < 0) {
		snprintf(it->err, sizeof(it->err), "rename to %s: %s", to, strerror(errno));
		unlink(from);
		rc = -1;
	}
	free(from);
	free(to);
	return rc;
}

size_t
spool_commit_many(struct spool *s, struct spool_item *items, size_t n)
{
	size_t i, failed = 0, published = 0;

	for (i = 0; i < n; i++) {
		items[i].err[0] = '\0';
		items[i].rc = spool_write_tmp(s, &items[i]);
	}
	for (i = 0; i < n; i++) {
		if (items[i].rc == 0)
			items[i].rc = spool_publish(s, &items[i]);
		if (items[i].rc == 0)
			published++;
	}
	/* one directory fsync makes every rename of the batch durable */
	if (published && fsync_dir(s->incoming) < 0) {
		int e = errno;

		for (i = 0; i < n; i++) {
			char *p;

			if (items[i].rc != 0)
				continue;
			/* the client is told 451: do not process it behind its back */
			p = xasprintf("%s/%s", s->incoming, items[i].env->id);
			unlink(p);
			free(p);
			items[i].rc = -1;
			snprintf(items[i].err, sizeof(items[i].err), "fsync %s: %s",
			    s->incoming, strerror(e));
		}
	}
	for (i = 0; i < n; i++)
		if (items[i].rc != 0)
			failed++;
	return failed;
}

int
spool_commit(struct spool *s, const struct spool_env *env, const char *msg,
    size_t len, char *err, size_t errlen)
{
	struct spool_item it;

	memset(&it, 0, sizeof(it));
	it.env = env;
	it.msg = msg;
	it.len = len;
	if (spool_commit_many(s, &it, 1) != 0) {
		str_copy(err, it.err, errlen);
		return -1;
	}
	return 0;
}

static int
id_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
spool_list(struct spool *s, char ***ids, size_t *n)
{
	DIR *d = opendir(s->incoming);
	struct dirent *e;
	size_t cap = 0;

	*ids = NULL;
	*n = 0;
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (!id_valid(e->d_name))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			*ids = xreallocarray(*ids, cap, sizeof(**ids));
		}
		(*ids)[(*n)++] = xstrdup(e->d_name);
	}
	closedir(d);
	if (*n)
		qsort(*ids, *n, sizeof(**ids), id_cmp);
	return 0;
}

static int
env_set(struct spool_env *e, const char *key, const char *val)
{
	long v;

	if (strcmp(key, "id") == 0) {
		if (!id_valid(val))
			return -1;
		str_copy(e->id, val, sizeof(e->id));
	} else if (strcmp(key, "received") == 0) {
		free(e->received);
		e->received = xstrdup(val);
	} else if (strcmp(key, "received-ms") == 0) {
		e->received_ms = strtoull(val, NULL, 10);
	} else if (strcmp(key, "client-ip") == 0) {
		free(e->client_ip);
		e->client_ip = xstrdup(val);
	} else if (strcmp(key, "client-port") == 0) {
		if (str_to_long(val, 0, 65535, &v) < 0)
			return -1;
		e->client_port = (int)v;
	} else if (strcmp(key, "helo") == 0) {
		free(e->helo);
		e->helo = xstrdup(val);
	} else if (strcmp(key, "mail-from") == 0) {
		free(e->mail_from);
		e->mail_from = xstrdup(val);
	} else if (strcmp(key, "rcpt") == 0) {
		if (e->nrcpt == SPOOL_MAX_RCPT)
			return -1;
		e->rcpt = xreallocarray(e->rcpt, e->nrcpt + 1, sizeof(*e->rcpt));
		e->rcpt[e->nrcpt++] = xstrdup(val);
	} else if (strcmp(key, "tag") == 0) {
		free(e->tag);
		e->tag = xstrdup(val);
	} else if (strcmp(key, "tls-protocol") == 0) {
		free(e->tls_protocol);
		e->tls_protocol = xstrdup(val);
	} else if (strcmp(key, "tls-cipher") == 0) {
		free(e->tls_cipher);
		e->tls_cipher = xstrdup(val);
	} else if (strcmp(key, "proxy-peer") == 0) {
		free(e->proxy_peer);
		e->proxy_peer = xstrdup(val);
	}
	/* other keys: written by a newer version; ignored */
	return 0;
}

/* Parse the envelope of buf; returns the offset of the message, or -1. */
static long
env_parse(struct spool_env *e, char *buf, size_t len)
{
	char *p = buf, *end = buf + len;
	size_t ml = strlen(SPOOL_MAGIC);

	if (len < ml + 1 || memcmp(buf, SPOOL_MAGIC, ml) != 0 || buf[ml] != '\n')
		return -1;
	p += ml + 1;
	for (;;) {
		char *nl = memchr(p, '\n', (size_t)(end - p)), *colon, *val;

		if (nl == NULL)
			return -1;
		if (nl == p)
			return (long)(nl + 1 - buf);
		*nl = '\0';
		if ((colon = strchr(p, ':')) == NULL)
			return -1;
		*colon = '\0';
		val = colon + 1;
		if (*val == ' ')
			val++;
		if (env_set(e, p, val) < 0)
			return -1;
		*colon = ':';
		*nl = '\n';
		p = nl + 1;
	}
}

int
spool_load(struct spool *s, const char *id, struct spool_env *env, char **msg,
    size_t *len, char *err, size_t errlen)
{
	char *path, *buf;
	size_t blen;
	long off;

	memset(env, 0, sizeof(*env));
	*msg = NULL;
	*len = 0;
	if (!id_valid(id)) {
		snprintf(err, errlen, "invalid message id");
		errno = EINVAL;
		return -1;
	}
	path = xasprintf("%s/%s", s->incoming, id);
	if (read_file(path, SPOOL_MAX_FILE, &buf, &blen) < 0) {
		int e = errno;

		snprintf(err, errlen, "%s: %s", path, strerror(e));
		free(path);
		errno = e;
		return -1;
	}
	off = env_parse(env, buf, blen);
	if (off < 0 || strcmp(env->id, id) != 0 || env->nrcpt == 0 ||
	    env->client_ip == NULL || env->mail_from == NULL) {
		snprintf(err, errlen, "%s: not a valid spool file", path);
		spool_env_free(env);
		free(buf);
		free(path);
		errno = EBADMSG;
		return -1;
	}
	free(path);
	*len = blen - (size_t)off;
	memmove(buf, buf + off, *len);
	buf[*len] = '\0';
	*msg = buf;
	return 0;
}

int
spool_remove(struct spool *s, const char *id)
{
	char *path;
	int rc = 0;

	if (!id_valid(id)) {
		errno = EINVAL;
		return -1;
	}
	path = xasprintf("%s/%s", s->incoming, id);
	if (unlink(path) < 0 && errno != ENOENT)
		rc = -1;
	else if (fsync_dir(s->incoming) < 0)
		rc = -1;
	free(path);
	return rc;
}

void
spool_env_free(struct spool_env *e)
{
	size_t i;

	free(e->received);
	free(e->client_ip);
	free(e->helo);
	free(e->mail_from);
	for (i = 0; i < e->nrcpt; i++)
		free(e->rcpt[i]);
	free(e->rcpt);
	free(e->tag);
	free(e->tls_protocol);
	free(e->tls_cipher);
	free(e->proxy_peer);
	memset(e, 0, sizeof(*e));
}
