/* ratelimit.c - see ratelimit.h */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/util.h"
#include "ratelimit.h"

#define RATE_BUCKETS		4096
#define RATE_KEY_MAX		400	/* "a:" + address */
#define RATE_LOG_MAX		(64L * 1024 * 1024)	/* replayed at most */
#define RATE_COMPACT_LINES	100000	/* appended lines before compaction */

struct rate_entry {
	char			*key;	/* owned: "a:addr", "d:domain", "i:ip" */
	time_t			*t;	/* owned: times in the window, oldest first */
	size_t			 n, cap;
	struct rate_entry	*next;
};

struct rate {
	pthread_mutex_t		 mu;
	struct rate_entry	*bucket[RATE_BUCKETS];
	size_t			 nkeys;
	long			 limit[3];	/* address, domain, ip */
	char			*log_path;	/* owned, NULL = no log */
	int			 log_fd;
	long			 appended;
};

static const char kinds[3] = { 'a', 'd', 'i' };

const char *
rate_verdict_name(enum rate_verdict v)
{
	switch (v) {
	case RATE_OK:		return "ok";
	case RATE_ADDRESS:	return "rate-address";
	case RATE_DOMAIN:	return "rate-domain";
	case RATE_IP:		return "rate-ip";
	case RATE_FULL:		return "rate-table-full";
	}
	return "?";
}

static uint32_t
hash(const char *s)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h % RATE_BUCKETS;
}

static void
make_key(char *buf, size_t n, char kind, const char *v)
{
	size_t i = 2;

	buf[0] = kind;
	buf[1] = ':';
	for (; v && *v && i + 1 < n; v++)
		buf[i++] = (char)ascii_lower((unsigned char)*v);
	buf[i] = '\0';
}

static struct rate_entry *
find(struct rate *r, const char *key)
{
	for (struct rate_entry *e = r->bucket[hash(key)]; e; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

/* Drop the times outside the window; returns the count left. */
static size_t
prune(struct rate_entry *e, time_t now)
{
	size_t k = 0;

	for (size_t i = 0; i < e->n; i++)
		if (e->t[i] > now - RATE_WINDOW && e->t[i] <= now + RATE_WINDOW)
			e->t[k++] = e->t[i];
	e->n = k;
	return k;
}

/* Remove keys with nothing in the window. */
static void
sweep(struct rate *r, time_t now)
{
	for (size_t b = 0; b < RATE_BUCKETS; b++) {
		struct rate_entry **pp = &r->bucket[b];

		while (*pp) {
			struct rate_entry *e = *pp;

			if (prune(e, now) == 0) {
				*pp = e->next;
				free(e->key);
				free(e->t);
				free(e);
				r->nkeys--;
			} else
				pp = &e->next;
		}
	}
}

static struct rate_entry *
create(struct rate *r, const char *key)
{
	struct rate_entry *e = xcalloc(1, sizeof(*e));
	uint32_t h = hash(key);

	e->key = xstrdup(key);
	e->next = r->bucket[h];
	r->bucket[h] = e;
	r->nkeys++;
	return e;
}

/* Count one reply for key; the entry keeps at most `limit` times. */
static void
count(struct rate *r, const char *key, long limit, time_t now)
{
	struct rate_entry *e = find(r, key);

	if (e == NULL)
		e = create(r, key);
	prune(e, now);
	if ((long)e->n >= limit && e->n > 0) {
		memmove(e->t, e->t + 1, (e->n - 1) * sizeof(*e->t));
		e->n--;
	}
	if (e->n == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 4;
		if ((long)e->cap > limit)
			e->cap = (size_t)limit;
		e->t = xreallocarray(e->t, e->cap, sizeof(*e->t));
	}
	e->t[e->n++] = now;
}

static void
log_value(char *out, size_t n, const char *v)
{
	size_t i = 0;

	if (v == NULL || *v == '\0')
		v = "-";
	for (; *v && i + 1 < n; v++)
		out[i++] = (unsigned char)*v <= 0x20 || *v == 0x7f ? '?' : *v;
	out[i] = '\0';
}

/* Replay the log into the table and rewrite it with the lines still in the window. */
static int
log_compact(struct rate *r, time_t now, int replay, char *err, size_t errlen)
{
	char *buf = NULL, *line, *save = NULL, *tmp;
	size_t len = 0;
	struct sbuf keep;
	int fd;

	if (read_file(r->log_path, RATE_LOG_MAX, &buf, &len) < 0 && errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", r->log_path, strerror(errno));
		return -1;
	}
	sbuf_init(&keep, 0);
	for (line = buf ? strtok_r(buf, "\n", &save) : NULL; line;
	    line = strtok_r(NULL, "\n", &save)) {
		char v[3][RATE_KEY_MAX], key[RATE_KEY_MAX];
		long long t;

		if (sscanf(line, "%lld %399s %399s %399s", &t, v[0], v[1], v[2]) != 4 ||
		    t <= now - RATE_WINDOW || t > now + RATE_WINDOW)
			continue;
		sbuf_printf(&keep, "%s\n", line);
		for (int k = 0; replay && k < 3; k++) {
			if (r->limit[k] <= 0 || strcmp(v[k], "-") == 0)
				continue;
			make_key(key, sizeof(key), kinds[k], v[k]);
			if (find(r, key) != NULL || r->nkeys < RATE_MAX_KEYS)
				count(r, key, r->limit[k], (time_t)t);
		}
	}
	free(buf);
	tmp = xasprintf("%s.tmp", r->log_path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write_all(fd, keep.s ? keep.s : "", keep.len) < 0 ||
	    close(fd) < 0 || rename(tmp, r->log_path) < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		sbuf_free(&keep);
		free(tmp);
		return -1;
	}
	sbuf_free(&keep);
	free(tmp);
	if (r->log_fd >= 0)
		close(r->log_fd);
	r->log_fd = open(r->log_path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (r->log_fd < 0) {
		snprintf(err, errlen, "%s: %s", r->log_path, strerror(errno));
		return -1;
	}
	r->appended = 0;
	return 0;
}

struct rate *
rate_open(const char *log_path, long per_address, long per_domain, long per_ip,
    time_t now, char *err, size_t errlen)
{
	struct rate *r = xcalloc(1, sizeof(*r));

	pthread_mutex_init(&r->mu, NULL);
	r->limit[0] = per_address;
	r->limit[1] = per_domain;
	r->limit[2] = per_ip;
	r->log_fd = -1;
	if (log_path) {
		r->log_path = xstrdup(log_path);
		if (log_compact(r, now, 1, err, errlen) < 0) {
			rate_close(r);
			return NULL;
		}
	}
	return r;
}

void
rate_close(struct rate *r)
{
	if (r == NULL)
		return;
	for (size_t b = 0; b < RATE_BUCKETS; b++)
		while (r->bucket[b]) {
			struct rate_entry *e = r->bucket[b];

			r->bucket[b] = e->next;
			free(e->key);
			free(e->t);
			free(e);
		}
	if (r->log_fd >= 0)
		close(r->log_fd);
	pthread_mutex_destroy(&r->mu);
	free(r->log_path);
	free(r);
}

static void
log_append(struct rate *r, const char *const v[3], time_t now)
{
	char a[RATE_KEY_MAX], d[RATE_KEY_MAX], i[RATE_KEY_MAX], err[256];
	char *line;

	if (r->log_fd < 0)
		return;
	log_value(a, sizeof(a), v[0]);
	log_value(d, sizeof(d), v[1]);
	log_value(i, sizeof(i), v[2]);
	line = xasprintf("%lld %s %s %s\n", (long long)now, a, d, i);
	(void)write_all(r->log_fd, line, strlen(line));	/* best effort, see header */
	free(line);
	if (++r->appended > RATE_COMPACT_LINES)
		(void)log_compact(r, now, 0, err, sizeof(err));
}

enum rate_verdict
rate_take(struct rate *r, const char *address, const char *domain, const char *ip,
    time_t now)
{
	const char *const v[3] = { address, domain, ip };
	static const enum rate_verdict over[3] = { RATE_ADDRESS, RATE_DOMAIN, RATE_IP };
	char key[3][RATE_KEY_MAX];
	size_t fresh = 0;

	pthread_mutex_lock(&r->mu);
	for (int k = 0; k < 3; k++) {
		struct rate_entry *e;

		key[k][0] = '\0';
		if (r->limit[k] <= 0 || v[k] == NULL || *v[k] == '\0')
			continue;
		make_key(key[k], sizeof(key[k]), kinds[k], v[k]);
		if ((e = find(r, key[k])) == NULL)
			fresh++;
		else if ((long)prune(e, now) >= r->limit[k]) {
			pthread_mutex_unlock(&r->mu);
			return over[k];
		}
	}
	if (fresh && r->nkeys + fresh > RATE_MAX_KEYS) {
		sweep(r, now);
		if (r->nkeys + fresh > RATE_MAX_KEYS) {
			pthread_mutex_unlock(&r->mu);
			return RATE_FULL;
		}
	}
	for (int k = 0; k < 3; k++)
		if (key[k][0])
			count(r, key[k], r->limit[k], now);
	log_append(r, v, now);
	pthread_mutex_unlock(&r->mu);
	return RATE_OK;
}
