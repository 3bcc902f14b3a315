/* outq.c - see outq.h */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/util.h"
#include "outq.h"
#include "textfmt.h"

#define OUTQ_MAX_HEADER	4096	/* the key: value part */

long
outq_backoff(long retry_min, long retry_max, int attempts)
{
	long d = retry_min > 0 ? retry_min : 1;

	for (int i = 1; i < attempts && d < retry_max; i++)
		d = d > retry_max / 2 ? retry_max : d * 2;
	return d < retry_max ? d : retry_max;
}

void
outq_entry_free(struct outq_entry *e)
{
	free(e->rcpt);
	free(e->last_error);
	free(e->msg);
	memset(e, 0, sizeof(*e));
}

static void
format(struct sbuf *b, const struct outq_entry *e)
{
	char *err = e->last_error ? textfmt_clean(e->last_error, OUTQ_MAX_ERROR, 1) : NULL;

	sbuf_printf(b, "%s\nid: %s\nrcpt: %s\ncreated: %lld\nattempts: %d\n"
	    "next-try: %lld\n", OUTQ_MAGIC, e->id, e->rcpt, (long long)e->created,
	    e->attempts, (long long)e->next_try);
	if (err)
		sbuf_printf(b, "last-error: %s\n", err);
	sbuf_addc(b, '\n');
	sbuf_add(b, e->msg, e->msglen);
	free(err);
}

/* tmp -> fsync -> rename to final -> fsync(dir); tmp names unique per call */
static int
write_durably(const char *dir, const char *final, const struct sbuf *b, long uid,
    long gid, char *err, size_t errlen)
{
	static unsigned long counter;
	char *tmp = xasprintf("%s/.tmp.%ld.%lu", dir, (long)getpid(),
	    __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED));
	int fd, rc = -1;

	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd >= 0 && uid >= 0 && geteuid() == 0 && (uid_t)uid != geteuid())
		(void)fchown(fd, (uid_t)uid, (gid_t)gid);
	if (fd < 0 || write_all(fd, b->s, b->len) < 0 || fsync(fd) < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		goto out_free_tmp;
	}
	if (close(fd) < 0 || rename(tmp, final) < 0 || fsync_dir(dir) < 0) {
		snprintf(err, errlen, "%s: %s", final, strerror(errno));
		unlink(tmp);
		goto out_free_tmp;
	}
	rc = 0;
out_free_tmp:
	free(tmp);
	return rc;
}

static int
write_entry(const char *dir, const struct outq_entry *e, const char *suffix, long uid,
    long gid, char *err, size_t errlen);

int
outq_write(const char *dir, const struct outq_entry *e, const char *suffix, char *err,
    size_t errlen)
{
	return write_entry(dir, e, suffix, -1, -1, err, errlen);
}

static int
write_entry(const char *dir, const struct outq_entry *e, const char *suffix, long uid,
    long gid, char *err, size_t errlen)
{
	struct sbuf b;
	char *final;
	int rc;

	if (!id_valid(e->id)) {
		snprintf(err, errlen, "bad queue id");
		return -1;
	}
	sbuf_init(&b, OUTQ_MAX_FILE);
	format(&b, e);
	if (b.overflow) {
		snprintf(err, errlen, "%s: report too large for the queue", e->id);
		sbuf_free(&b);
		return -1;
	}
	final = xasprintf("%s/%s%s", dir, e->id, suffix ? suffix : "");
	rc = write_durably(dir, final, &b, uid, gid, err, errlen);
	free(final);
	sbuf_free(&b);
	return rc;
}

int
outq_promote(const char *dir, const char *id, char *err, size_t errlen)
{
	char *from = xasprintf("%s/%s.new", dir, id), *to = xasprintf("%s/%s", dir, id);
	int rc = 0;

	if (rename(from, to) < 0 || fsync_dir(dir) < 0) {
		snprintf(err, errlen, "%s: %s", from, strerror(errno));
		rc = -1;
	}
	free(from);
	free(to);
	return rc;
}

static int
parse(char *buf, size_t len, struct outq_entry *e, int with_body, char *err,
    size_t errlen)
{
	char *p = buf, *end = buf + len, *nl;
	size_t ml = strlen(OUTQ_MAGIC);

	memset(e, 0, sizeof(*e));
	if (len < ml + 1 || memcmp(buf, OUTQ_MAGIC, ml) != 0 || buf[ml] != '\n') {
		snprintf(err, errlen, "not a mailtest outbound queue file");
		return -1;
	}
	p += ml + 1;
	while (p < end && *p != '\n') {
		char *colon;

		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL ||
		    nl - buf > OUTQ_MAX_HEADER || (colon = memchr(p, ':', (size_t)(nl - p))) == NULL) {
			snprintf(err, errlen, "malformed queue file header");
			outq_entry_free(e);
			return -1;
		}
		*nl = '\0';
		*colon = '\0';
		colon += colon[1] == ' ' ? 2 : 1;
		if (strcmp(p, "id") == 0)
			str_copy(e->id, colon, sizeof(e->id));
		else if (strcmp(p, "rcpt") == 0 && e->rcpt == NULL)
			e->rcpt = xstrdup(colon);
		else if (strcmp(p, "created") == 0)
			e->created = (time_t)strtoll(colon, NULL, 10);
		else if (strcmp(p, "attempts") == 0)
			e->attempts = atoi(colon);
		else if (strcmp(p, "next-try") == 0)
			e->next_try = (time_t)strtoll(colon, NULL, 10);
		else if (strcmp(p, "last-error") == 0 && e->last_error == NULL)
			e->last_error = xstrdup(colon);
		p = nl + 1;
	}
	if (p >= end || !id_valid(e->id) || e->rcpt == NULL) {
		snprintf(err, errlen, "queue file lacks id, rcpt or the empty line");
		outq_entry_free(e);
		return -1;
	}
	p++;
	if (with_body) {
		e->msglen = (size_t)(end - p);
		e->msg = xmalloc(e->msglen + 1);
		memcpy(e->msg, p, e->msglen);
		e->msg[e->msglen] = '\0';
	}
	return 0;
}

int
outq_read_fd(int fd, struct outq_entry *e, int with_body, char *err, size_t errlen)
{
	struct sbuf b;
	char chunk[65536];
	off_t off = 0;
	ssize_t n;
	int rc;

	sbuf_init(&b, OUTQ_MAX_FILE);
	while ((n = pread(fd, chunk, sizeof(chunk), off)) > 0) {
		sbuf_add(&b, chunk, (size_t)n);
		off += n;
		if (!with_body && b.len > OUTQ_MAX_HEADER)
			break;
	}
	if (n < 0 || b.overflow) {
		snprintf(err, errlen, "read: %s", n < 0 ? strerror(errno) : "too large");
		sbuf_free(&b);
		return -1;
	}
	if (b.s == NULL)
		sbuf_adds(&b, "");
	rc = parse(b.s, b.len, e, with_body, err, errlen);
	sbuf_free(&b);
	return rc;
}

int
outq_read(const char *path, struct outq_entry *e, int with_body, char *err,
    size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = outq_read_fd(fd, e, with_body, err, errlen);
	close(fd);
	return rc;
}

static int
cmp_ids(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
outq_list(const char *dir, char ***ids, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t cap = 0;

	*ids = NULL;
	*n = 0;
	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL && *n < OUTQ_MAX_ENTRIES) {
		if (!id_valid(de->d_name))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 32;
			*ids = xreallocarray(*ids, cap, sizeof(**ids));
		}
		(*ids)[(*n)++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (*n)
		qsort(*ids, *n, sizeof(**ids), cmp_ids);
	return 0;
}

void
outq_list_free(char **ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

int
outq_lock(const char *dir, const char *id, int wait)
{
	char *path = xasprintf("%s/%s", dir, id);
	struct stat st;
	int fd = -1, saved;

	for (int tries = 0; tries < 100; tries++) {
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			break;
		if (flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB) < 0) {
			saved = errno;
			close(fd);
			fd = -1;
			errno = saved;
			break;
		}
		if (fstat(fd, &st) == 0 && st.st_nlink > 0)
			break;		/* still the live file */
		close(fd);		/* replaced while we waited: take the new one */
		fd = -1;
		errno = ENOENT;
	}
	saved = errno;
	free(path);
	errno = saved;
	return fd;
}

int
outq_update_locked(const char *dir, int fd, const struct outq_entry *e, char *err,
    size_t errlen)
{
	struct stat st;

	/* the fd is held by the caller until after the rename; its owner is kept
	 * (`mailtest flush` run as root must not take the file from mailtestd) */
	if (fstat(fd, &st) == 0)
		return write_entry(dir, e, "", (long)st.st_uid, (long)st.st_gid, err, errlen);
	return outq_write(dir, e, "", err, errlen);
}

int
outq_remove_locked(const char *dir, const char *id, int fd)
{
	char *path = xasprintf("%s/%s", dir, id);
	int rc;

	(void)fd;
	rc = unlink(path) < 0 || fsync_dir(dir) < 0 ? -1 : 0;
	free(path);
	return rc;
}
