/* signer.c - see signer.h */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "signer.h"

#define SIGNER_FD	3	/* the child's end of the socketpair */
#define SIGNER_COMM	"mailtestd-sign"	/* at most 15 octets (PR_SET_NAME) */
/* a signer that takes longer to answer (or to start: key generation) is
 * taken for hung: killed, and treated as gone */
#define SIGNER_TIMEOUT_S	60

struct signer {
	pthread_mutex_t	 mu;		/* one request at a time */
	int		 fd;		/* owned: the parent's end; -1 once gone */
	pid_t		 pid;		/* the child; 0 once reaped */
	char		*path;		/* owned */
	char		*name;		/* owned: selector._domainkey.domain */
	char		*record;	/* owned */
	int		 generated;
};

/* ---- framing --------------------------------------------------------------- */

/* Read exactly n octets: 0, or -1 on EOF or error. */
static int
read_full(int fd, void *buf, size_t n)
{
	char *p = buf;

	while (n > 0) {
		ssize_t r = read(fd, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EPIPE;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int
frame_write(int fd, const char *a, size_t alen, const char *b, size_t blen)
{
	uint32_t n = htonl((uint32_t)(alen + blen));

	if (write_all(fd, &n, sizeof(n)) < 0 || (alen && write_all(fd, a, alen) < 0) ||
	    (blen && write_all(fd, b, blen) < 0))
		return -1;
	return 0;
}

/* One frame of at most max octets, NUL-terminated; NULL on EOF, error or size. */
static char *
frame_read(int fd, size_t max, size_t *lenp)
{
	uint32_t n;
	char *buf;

	if (read_full(fd, &n, sizeof(n)) < 0)
		return NULL;
	n = ntohl(n);
	if (n > max) {
		errno = EMSGSIZE;
		return NULL;
	}
	buf = xmalloc((size_t)n + 1);
	if (read_full(fd, buf, n) < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*lenp = n;
	return buf;
}

/* ---- the child ------------------------------------------------------------- */

static void
child_fail(const char *err)
{
	frame_write(SIGNER_FD, "1", 1, err, strlen(err));
	_exit(1);
}

static int
child_drop(const struct signer_user *u, char *err, size_t errlen)
{
	if (u->drop && (setgroups(1, &u->gid) < 0 || setgid(u->gid) < 0 ||
	    setuid(u->uid) < 0)) {
		snprintf(err, errlen, "signer: dropping privileges: %s", strerror(errno));
		return -1;
	}
	/* after setuid(): the same user may not ptrace us or read our memory */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		snprintf(err, errlen, "signer: PR_SET_DUMPABLE: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void
child_ready(struct dkimsign *ds)
{
	struct sbuf b;

	sbuf_init(&b, 0);
	sbuf_addc(&b, '0');
	sbuf_addc(&b, dkimsign_generated(ds) ? '1' : '0');
	sbuf_adds(&b, dkimsign_key_path(ds));
	sbuf_addc(&b, '\0');
	sbuf_adds(&b, dkimsign_name(ds));
	sbuf_addc(&b, '\0');
	sbuf_adds(&b, dkimsign_record(ds));
	if (frame_write(SIGNER_FD, b.s, b.len, NULL, 0) < 0)
		_exit(1);
	sbuf_free(&b);
}

/* Sign requests until EOF; never returns. */
static void
child_serve(struct dkimsign *ds)
{
	char err[512];

	for (;;) {
		size_t len, idlen;
		char *req = frame_read(SIGNER_FD, SIGNER_MAX_MSG + SIGNER_MAX_JOBID + 1, &len);
		char *sig;

		if (req == NULL)
			break;		/* the parent closed its end, or is gone */
		idlen = strnlen(req, len);
		if (idlen == len || idlen > SIGNER_MAX_JOBID) {
			free(req);
			break;		/* not our protocol: stop */
		}
		sig = dkimsign_sign(ds, req + idlen + 1, len - idlen - 1, req, err, sizeof(err));
		if (sig != NULL && strlen(sig) >= SIGNER_MAX_REPLY) {
			free(sig);
			sig = NULL;
			snprintf(err, sizeof(err), "signature too long");
		}
		if ((sig ? frame_write(SIGNER_FD, "0", 1, sig, strlen(sig)) :
		    frame_write(SIGNER_FD, "1", 1, err, strlen(err))) < 0) {
			free(sig);
			free(req);
			break;
		}
		free(sig);
		free(req);
	}
	dkimsign_free(ds);
	_exit(0);
}

static void
child_main(int fd, pid_t parent, const struct dkimsign_config *c,
    const struct signer_user *u)
{
	struct dkimsign *ds;
	char err[512];

	/* a parent killed outright takes us with it; one gone already too */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != parent)
		_exit(1);
	/* a SIGTERM for the whole group (systemd, a terminal) must leave us
	 * to sign what the daemon finishes while it stops: its EOF ends us */
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	prctl(PR_SET_NAME, SIGNER_COMM, 0, 0, 0);	/* ps, top: comm */
	if (fd != SIGNER_FD && (dup2(fd, SIGNER_FD) < 0 || close(fd) < 0))
		_exit(1);
	/* nothing of the network process: listeners, spool, store, TLS */
	if (close_range(SIGNER_FD + 1, ~0U, 0) < 0)
		_exit(1);
	if ((ds = dkimsign_new(c, err, sizeof(err))) == NULL)
		child_fail(err);
	if (child_drop(u, err, sizeof(err)) < 0)
		child_fail(err);
	child_ready(ds);
	child_serve(ds);
}

/* ---- the parent ------------------------------------------------------------ */

/* The child is gone: reap it, say how it ended (once). */
static void
signer_lost(struct signer *s, const char *why)
{
	int st = 0;

	if (s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
	}
	/* hung (timeout) or talking nonsense: it must not linger */
	if (s->pid > 0)
		kill(s->pid, SIGKILL);
	if (s->pid > 0 && waitpid(s->pid, &st, 0) == s->pid) {
		if (WIFSIGNALED(st))
			log_err(NULL, "reply", "signer-died pid=%d signal=%d why=\"%s\": reports "
			    "go out unsigned until mailtestd restarts", (int)s->pid,
			    WTERMSIG(st), why);
		else
			log_err(NULL, "reply", "signer-died pid=%d status=%d why=\"%s\": reports "
			    "go out unsigned until mailtestd restarts", (int)s->pid,
			    WEXITSTATUS(st), why);
	}
	s->pid = 0;
}

static int
signer_take_ready(struct signer *s, const char *buf, size_t len, char *err, size_t errlen)
{
	const char *p, *name, *rec, *end = buf + len;

	if (len < 2 || buf[0] != '0') {
		snprintf(err, errlen, "%s", len > 1 ? buf + 1 : "signer: no answer");
		return -1;
	}
	s->generated = buf[1] == '1';
	p = buf + 2;
	name = p + strnlen(p, (size_t)(end - p)) + 1;
	if (name >= end) {
		snprintf(err, errlen, "signer: bad ready message");
		return -1;
	}
	rec = name + strnlen(name, (size_t)(end - name)) + 1;
	if (rec > end) {
		snprintf(err, errlen, "signer: bad ready message");
		return -1;
	}
	s->path = xstrdup(p);
	s->name = xstrdup(name);
	s->record = xstrdup(rec);
	return 0;
}

struct signer *
signer_start(const struct dkimsign_config *c, const struct signer_user *u, char *err,
    size_t errlen)
{
	struct signer *s = xcalloc(1, sizeof(*s));
	struct timeval tv = { SIGNER_TIMEOUT_S, 0 };
	pid_t parent = getpid();
	int sv[2];
	char *ready;
	size_t len;

	pthread_mutex_init(&s->mu, NULL);
	s->fd = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(err, errlen, "signer: socketpair: %s", strerror(errno));
		goto out_fail;
	}
	s->pid = fork();
	if (s->pid < 0) {
		snprintf(err, errlen, "signer: fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		s->pid = 0;
		goto out_fail;
	}
	if (s->pid == 0) {
		close(sv[0]);
		child_main(sv[1], parent, c, u);
		_exit(1);
	}
	close(sv[1]);
	s->fd = sv[0];
	if (setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(s->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		snprintf(err, errlen, "signer: SO_RCVTIMEO: %s", strerror(errno));
		signer_lost(s, "setsockopt");
		goto out_fail;
	}
	if ((ready = frame_read(s->fd, SIGNER_MAX_REPLY, &len)) == NULL) {
		snprintf(err, errlen, "signer: no answer from the signer process: %s",
		    strerror(errno));
		signer_lost(s, "start");
		goto out_fail;
	}
	if (signer_take_ready(s, ready, len, err, errlen) < 0) {
		free(ready);
		close(s->fd);
		s->fd = -1;
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
		goto out_fail;
	}
	free(ready);
	log_info(NULL, "reply", "signer pid=%d key=%s", (int)s->pid, s->path);
	return s;
out_fail:
	signer_stop(s);
	return NULL;
}

char *
signer_sign(struct signer *s, const char *msg, size_t len, const char *jobid, char *err,
    size_t errlen)
{
	const char *id = jobid ? jobid : "report";
	char *rep, *out = NULL;
	size_t rlen;

	if (len > SIGNER_MAX_MSG || strlen(id) > SIGNER_MAX_JOBID) {
		snprintf(err, errlen, "report too large to sign (%zu octets)", len);
		return NULL;
	}
	pthread_mutex_lock(&s->mu);
	if (s->fd < 0) {
		snprintf(err, errlen, "signer process gone");
		goto out_unlock;
	}
	if (frame_write(s->fd, id, strlen(id) + 1, msg, len) < 0 ||
	    (rep = frame_read(s->fd, SIGNER_MAX_REPLY, &rlen)) == NULL) {
		snprintf(err, errlen, "signer process gone: %s", strerror(errno));
		signer_lost(s, strerror(errno));
		goto out_unlock;
	}
	if (rlen >= 1 && rep[0] == '0') {
		out = xstrdup(rep + 1);
		free(rep);
	} else {
		snprintf(err, errlen, "%s", rlen > 1 ? rep + 1 : "signer: empty answer");
		free(rep);
	}
out_unlock:
	pthread_mutex_unlock(&s->mu);
	return out;
}

const char *
signer_record(const struct signer *s)
{
	return s->record;
}

const char *
signer_name(const struct signer *s)
{
	return s->name;
}

const char *
signer_key_path(const struct signer *s)
{
	return s->path;
}

int
signer_generated(const struct signer *s)
{
	return s->generated;
}

char *
signer_zone_line(const struct signer *s)
{
	return dkimsign_zone_line_of(s->name, s->record);
}

pid_t
signer_pid(const struct signer *s)
{
	return s->pid;
}

/* EOF ends the child; it is reaped here. */
void
signer_stop(struct signer *s)
{
	if (s == NULL)
		return;
	if (s->fd >= 0)
		close(s->fd);
	if (s->pid > 0)
		waitpid(s->pid, NULL, 0);
	pthread_mutex_destroy(&s->mu);
	free(s->path);
	free(s->name);
	free(s->record);
	free(s);
}
