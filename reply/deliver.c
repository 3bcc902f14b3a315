/* deliver.c - see deliver.h */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/dns.h"
#include "../common/log.h"
#include "../common/metrics.h"
#include "../common/util.h"
#include "deliver.h"
#include "../common/store.h"
#include "outq.h"
#include "record.h"
#include "smtpc.h"

#define PASSWORD_MAX	1024
#define REMOVED		((time_t)-1)

struct dq_item {
	char	 id[ID_LEN + 1];
	time_t	 next_try;
	int	 busy;		/* a thread is trying it */
};

struct target {
	char			 name[DNS_MAX_NAME + 1];
	struct sockaddr_storage	 ss;
	socklen_t		 len;
};

enum route_status { ROUTE_OK, ROUTE_TEMP, ROUTE_PERM };

struct deliver {
	char			*dir;		/* owned: SPOOL/outbound */
	char			*spool;		/* owned: SPOOL (record.h) */
	struct dns_resolver	*dns;		/* borrowed */
	char			*helo;		/* owned */
	long			 retry_min, retry_max, lifetime, timeout, port;
	int			 nthreads;
	int			 use_relay;
	char			 relay_host[DNS_MAX_NAME + 1];
	int			 relay_port;
	enum smtpc_tls		 relay_tls, mx_tls;
	char			*user, *password;	/* owned */
	SSL_CTX			*ssl;		/* owned */
	SSL_CTX			*relay_ssl;	/* owned: relay_tls verify, else NULL */
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct dq_item		*items;		/* owned; under mu */
	size_t			 n, cap;
	int			 stop;
	pthread_t		*threads;	/* owned */
	int			 started;
	time_t			 last_rescan, last_flush_check;
};

static enum smtpc_tls
tls_level(const char *s)
{
	if (strcmp(s, "verify") == 0)
		return SMTPC_TLS_VERIFY;
	if (strcmp(s, "require") == 0)
		return SMTPC_TLS_REQUIRE;
	if (strcmp(s, "may") == 0)
		return SMTPC_TLS_MAY;
	return SMTPC_TLS_NONE;
}

static int
read_password(struct deliver *d, const char *path, char *err, size_t errlen)
{
	char *buf;
	size_t len;

	if (read_file(path, PASSWORD_MAX, &buf, &len) < 0) {
		snprintf(err, errlen, "relay_password_file %s: %s", path, strerror(errno));
		return -1;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	if (len == 0 || memchr(buf, '\0', len) != NULL) {
		snprintf(err, errlen, "relay_password_file %s: empty or binary", path);
		free(buf);
		return -1;
	}
	d->password = buf;
	return 0;
}

/* relay_tls verify: a context that checks the relay's certificate against
 * relay_tls_ca (or the system's CAs); smtpc checks the name per connection. */
static int
relay_verify_setup(struct deliver *d, const struct config *cf, char *err, size_t errlen)
{
	const char *ca = cf->relay_tls_ca;
	unsigned long e;

	if ((d->relay_ssl = SSL_CTX_new(TLS_client_method())) == NULL) {
		snprintf(err, errlen, "SSL_CTX_new failed");
		return -1;
	}
	SSL_CTX_set_min_proto_version(d->relay_ssl, TLS1_2_VERSION);
	SSL_CTX_set_verify(d->relay_ssl, SSL_VERIFY_PEER, NULL);
	if (ca && *ca ? SSL_CTX_load_verify_locations(d->relay_ssl, ca, NULL) == 1 :
	    SSL_CTX_set_default_verify_paths(d->relay_ssl) == 1)
		return 0;
	e = ERR_get_error();
	ERR_clear_error();
	snprintf(err, errlen, "relay_tls_ca \"%s\": %s", ca && *ca ? ca : "(system)",
	    e ? ERR_reason_error_string(e) : "cannot be read");
	return -1;
}

static int
relay_setup(struct deliver *d, const struct config *cf, char *err, size_t errlen)
{
	if (cf->relay == NULL || cf->relay[0] == '\0')
		return 0;
	d->use_relay = 1;
	if (smtpc_parse_hostport(cf->relay, d->relay_host, sizeof(d->relay_host),
	    &d->relay_port, 25) < 0) {
		snprintf(err, errlen, "relay \"%s\": expected HOST[:PORT]", cf->relay);
		return -1;
	}
	d->relay_tls = tls_level(cf->relay_tls);
	if (d->relay_tls == SMTPC_TLS_VERIFY && relay_verify_setup(d, cf, err, errlen) < 0)
		return -1;
	if (cf->relay_user && *cf->relay_user) {
		if (d->relay_tls == SMTPC_TLS_NONE) {
			snprintf(err, errlen, "relay_user needs TLS: set relay_tls to "
			    "verify, require or may (AUTH is never sent in plain text)");
			return -1;
		}
		if (cf->relay_password_file == NULL || *cf->relay_password_file == '\0') {
			snprintf(err, errlen, "relay_user is set but relay_password_file "
			    "is not");
			return -1;
		}
		d->user = xstrdup(cf->relay_user);
		return read_password(d, cf->relay_password_file, err, errlen);
	}
	return 0;
}

struct deliver *
deliver_new(const struct config *cf, struct dns_resolver *dns, const char *helo,
    char *err, size_t errlen)
{
	struct deliver *d = xcalloc(1, sizeof(*d));

	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->cv, NULL);
	d->dir = xasprintf("%s/outbound", cf->spool_dir);
	d->spool = xstrdup(cf->spool_dir);
	d->dns = dns;
	d->helo = xstrdup(helo);
	d->retry_min = cf->retry_min;
	d->retry_max = cf->retry_max;
	d->lifetime = cf->queue_lifetime;
	d->timeout = cf->delivery_timeout;
	d->port = cf->delivery_port;
	d->nthreads = (int)cf->delivery_threads;
	d->mx_tls = tls_level(cf->smtp_client_tls);
	if (mkdir(d->dir, 0750) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", d->dir, strerror(errno));
		goto out_fail;
	}
	if (relay_setup(d, cf, err, errlen) < 0)
		goto out_fail;
	if ((d->ssl = SSL_CTX_new(TLS_client_method())) == NULL) {
		snprintf(err, errlen, "SSL_CTX_new failed");
		goto out_fail;
	}
	/* opportunistic (RFC 7435) and Postfix "encrypt": no certificate check */
	SSL_CTX_set_verify(d->ssl, SSL_VERIFY_NONE, NULL);
	return d;
out_fail:
	deliver_free(d);
	return NULL;
}

void
deliver_free(struct deliver *d)
{
	if (d == NULL)
		return;
	deliver_stop(d);
	if (d->ssl)
		SSL_CTX_free(d->ssl);
	if (d->relay_ssl)
		SSL_CTX_free(d->relay_ssl);
	if (d->password)
		memset(d->password, 0, strlen(d->password));
	free(d->password);
	free(d->user);
	free(d->items);
	free(d->threads);
	free(d->dir);
	free(d->spool);
	free(d->helo);
	pthread_cond_destroy(&d->cv);
	pthread_mutex_destroy(&d->mu);
	free(d);
}

/* ---- the in-memory schedule (under d->mu) ------------------------------ */

static struct dq_item *
item_find(struct deliver *d, const char *id)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->items[i].id, id) == 0)
			return &d->items[i];
	return NULL;
}

static void
item_add(struct deliver *d, const char *id, time_t next_try)
{
	struct dq_item *it = item_find(d, id);

	if (it != NULL) {
		if (!it->busy)
			it->next_try = next_try;
		return;
	}
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 64;
		d->items = xreallocarray(d->items, d->cap, sizeof(*d->items));
	}
	it = &d->items[d->n++];
	str_copy(it->id, id, sizeof(it->id));
	it->next_try = next_try;
	it->busy = 0;
	metrics_set(METRIC_OUTBOUND_MESSAGES, (int64_t)d->n);
}

static void
item_remove(struct deliver *d, const char *id)
{
	struct dq_item *it = item_find(d, id);

	if (it != NULL)
		*it = d->items[--d->n];
	metrics_set(METRIC_OUTBOUND_MESSAGES, (int64_t)d->n);
}

/* Re-read the queue directory: new files, flushed times, removed files. */
static void
rescan_locked(struct deliver *d, time_t now)
{
	char **ids, err[256];
	size_t n;

	d->last_rescan = now;
	if (outq_list(d->dir, &ids, &n) < 0) {
		log_err(NULL, "deliver", "rescan dir=%s error=\"%s\"", d->dir, strerror(errno));
		return;
	}
	for (size_t i = 0; i < d->n;) {
		int present = 0;

		for (size_t k = 0; k < n && !present; k++)
			present = strcmp(ids[k], d->items[i].id) == 0;
		if (!present && !d->items[i].busy)
			d->items[i] = d->items[--d->n];
		else
			i++;
	}
	for (size_t k = 0; k < n; k++) {
		struct outq_entry e;
		char *path = xasprintf("%s/%s", d->dir, ids[k]);

		if (outq_read(path, &e, 0, err, sizeof(err)) == 0) {
			item_add(d, ids[k], e.next_try);
			outq_entry_free(&e);
		} else if (errno != ENOENT)
			log_err(ids[k], "deliver", "unreadable queue file: %s", err);
		free(path);
	}
	outq_list_free(ids, n);
	metrics_set(METRIC_OUTBOUND_MESSAGES, (int64_t)d->n);
}

void
deliver_notify(struct deliver *d, const char *id)
{
	pthread_mutex_lock(&d->mu);
	item_add(d, id, time(NULL));
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

size_t
deliver_pending(struct deliver *d)
{
	size_t n;

	pthread_mutex_lock(&d->mu);
	n = d->n;
	pthread_mutex_unlock(&d->mu);
	return n;
}

size_t
deliver_due(struct deliver *d)
{
	time_t now = time(NULL);
	size_t n = 0;

	pthread_mutex_lock(&d->mu);
	for (size_t i = 0; i < d->n; i++)
		if (d->items[i].busy || d->items[i].next_try <= now)
			n++;
	pthread_mutex_unlock(&d->mu);
	return n;
}

/* ---- routing -------------------------------------------------------------- */

static void
target_add(struct target *t, size_t *n, const char *name, const struct dns_rr *rr,
    int port)
{
	struct target *x;

	if (*n >= DELIVER_MAX_ADDRS)
		return;
	x = &t[(*n)++];
	memset(x, 0, sizeof(*x));
	str_copy(x->name, name, sizeof(x->name));
	if (rr->type == DNS_T_A) {
		struct sockaddr_in *s = (struct sockaddr_in *)&x->ss;

		s->sin_family = AF_INET;
		s->sin_port = htons((uint16_t)port);
		s->sin_addr = rr->u.a;
		x->len = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&x->ss;

		s->sin6_family = AF_INET6;
		s->sin6_port = htons((uint16_t)port);
		s->sin6_addr = rr->u.aaaa;
		x->len = sizeof(*s);
	}
}

/* A and AAAA of one host; returns DNS_TEMPFAIL if a lookup failed, else OK. */
static enum dns_status
host_addrs(struct deliver *d, const char *host, int port, struct target *t, size_t *n)
{
	static const int types[] = { DNS_T_A, DNS_T_AAAA };
	enum dns_status worst = DNS_OK;
	struct dns_rr lit;

	memset(&lit, 0, sizeof(lit));
	if (inet_pton(AF_INET, host, &lit.u.a) == 1) {
		lit.type = DNS_T_A;
		target_add(t, n, host, &lit, port);
		return DNS_OK;
	}
	if (inet_pton(AF_INET6, host, &lit.u.aaaa) == 1) {
		lit.type = DNS_T_AAAA;
		target_add(t, n, host, &lit, port);
		return DNS_OK;
	}
	if (str_caseeq(host, "localhost")) {	/* RFC 6761 6.3 */
		lit.type = DNS_T_A;
		inet_pton(AF_INET, "127.0.0.1", &lit.u.a);
		target_add(t, n, host, &lit, port);
		return DNS_OK;
	}
	for (size_t k = 0; k < ARRAY_SIZE(types); k++) {
		const struct dns_answer *a = dns_lookup(d->dns, host, types[k]);

		if (a->status == DNS_TEMPFAIL)
			worst = DNS_TEMPFAIL;
		for (size_t i = 0; a->status == DNS_OK && i < a->nrr; i++)
			if (a->rr[i].type == types[k])
				target_add(t, n, host, &a->rr[i], port);
		dns_answer_release(a);
	}
	return worst;
}

struct mx {
	uint16_t pref;
	char	 host[DNS_MAX_NAME + 1];
	uint32_t shuffle;
};

static int
mx_cmp(const void *a, const void *b)
{
	const struct mx *x = a, *y = b;

	if (x->pref != y->pref)
		return x->pref < y->pref ? -1 : 1;
	return x->shuffle < y->shuffle ? -1 : x->shuffle > y->shuffle;
}

static enum route_status
route_mx(struct deliver *d, const char *domain, struct target *t, size_t *n,
    char *why, size_t whylen)
{
	const struct dns_answer *a = dns_lookup(d->dns, domain, DNS_T_MX);
	struct mx mx[DELIVER_MAX_MX];
	size_t nmx = 0;
	int tempfail = 0;

	switch (a->status) {
	case DNS_OK:
		break;
	case DNS_NODATA:	/* RFC 5321 5.1: the domain itself is the implicit MX */
		dns_answer_release(a);
		if (host_addrs(d, domain, (int)d->port, t, n) == DNS_TEMPFAIL && *n == 0) {
			snprintf(why, whylen, "address lookup for %s failed", domain);
			return ROUTE_TEMP;
		}
		if (*n == 0) {
			snprintf(why, whylen, "%s has neither MX nor address records", domain);
			return ROUTE_PERM;
		}
		return ROUTE_OK;
	case DNS_NXDOMAIN:
		dns_answer_release(a);
		snprintf(why, whylen, "the domain %s does not exist", domain);
		return ROUTE_PERM;
	default:
		snprintf(why, whylen, "MX lookup for %s: %s", domain,
		    a->why ? a->why : dns_status_name(a->status));
		dns_answer_release(a);
		return ROUTE_TEMP;
	}
	for (size_t i = 0; i < a->nrr && nmx < DELIVER_MAX_MX; i++) {
		if (a->rr[i].type != DNS_T_MX)
			continue;
		mx[nmx].pref = a->rr[i].u.mx.pref;
		str_copy(mx[nmx].host, a->rr[i].u.mx.host ? a->rr[i].u.mx.host : "",
		    sizeof(mx[nmx].host));
		mx[nmx].shuffle = arc4random();
		nmx++;
	}
	dns_answer_release(a);
	if (nmx == 1 && (mx[0].host[0] == '\0' || strcmp(mx[0].host, ".") == 0)) {
		snprintf(why, whylen, "%s publishes a null MX: it accepts no mail "
		    "(RFC 7505)", domain);
		return ROUTE_PERM;
	}
	qsort(mx, nmx, sizeof(mx[0]), mx_cmp);
	for (size_t i = 0; i < nmx && *n < DELIVER_MAX_ADDRS; i++) {
		if (!dns_name_ok(mx[i].host))
			continue;
		if (host_addrs(d, mx[i].host, (int)d->port, t, n) == DNS_TEMPFAIL)
			tempfail = 1;
	}
	if (*n == 0) {
		snprintf(why, whylen, "no address for the MX hosts of %s%s", domain,
		    tempfail ? " (DNS lookup failed)" : "");
		return ROUTE_TEMP;
	}
	return ROUTE_OK;
}

static enum route_status
route(struct deliver *d, const char *rcpt, struct target *t, size_t *n, char *why,
    size_t whylen)
{
	const char *at = strrchr(rcpt, '@');

	*n = 0;
	if (d->use_relay) {
		if (host_addrs(d, d->relay_host, d->relay_port, t, n) == DNS_TEMPFAIL &&
		    *n == 0) {
			snprintf(why, whylen, "address lookup for relay %s failed",
			    d->relay_host);
			return ROUTE_TEMP;
		}
		if (*n == 0) {
			snprintf(why, whylen, "relay %s has no address", d->relay_host);
			return ROUTE_TEMP;
		}
		return ROUTE_OK;
	}
	if (at == NULL || !dns_name_ok(at + 1)) {
		snprintf(why, whylen, "the recipient's domain cannot be looked up");
		return ROUTE_PERM;
	}
	return route_mx(d, at + 1, t, n, why, whylen);
}

/* ---- one attempt ------------------------------------------------------- */

struct accepted_ctx {
	struct deliver	*d;
	const char	*id;
	int		 fd;
	int		 removed;
};

/* The peer has the report: forget it durably before anything else (QUIT). */
static void
on_accepted(void *arg)
{
	struct accepted_ctx *a = arg;

	if (outq_remove_locked(a->d->dir, a->id, a->fd) < 0)
		log_err(a->id, "deliver", "remove after delivery failed: %s",
		    strerror(errno));
	a->removed = 1;
}

static enum smtpc_status
send_to_targets(struct deliver *d, const struct outq_entry *e, struct target *t,
    size_t n, struct accepted_ctx *acc, char *why, size_t whylen)
{
	struct smtpc_opts o = { .helo = d->helo, .timeout = (int)d->timeout,
	    .ssl = d->ssl, .accepted = on_accepted, .accepted_arg = acc };
	struct smtpc_result r;
	int all_perm = 1, stopping;

	o.tls = d->use_relay ? d->relay_tls : d->mx_tls;
	if (d->relay_ssl)
		o.ssl = d->relay_ssl;
	o.user = d->use_relay ? d->user : NULL;
	o.password = d->password;
	for (size_t i = 0; i < n; i++) {
		char addr[INET6_ADDRSTRLEN + 8], safe[SMTPC_TEXT_MAX];

		o.peer_name = t[i].name;
		getnameinfo((struct sockaddr *)&t[i].ss, t[i].len, addr, sizeof(addr),
		    NULL, 0, NI_NUMERICHOST);
		smtpc_send(&o, (struct sockaddr *)&t[i].ss, t[i].len, e->rcpt, e->msg,
		    e->msglen, &r);
		log_safe(safe, sizeof(safe), r.text);
		log_info(e->id, "deliver", "attempt host=%s addr=%s stage=%s code=%d "
		    "tls=\"%s\" status=%s reply=\"%s\"", t[i].name, addr, r.stage, r.code,
		    r.tls, r.status == SMTPC_SENT ? "sent" : r.status == SMTPC_PERM ?
		    "permanent" : "temporary", safe);
		snprintf(why, whylen, "%s[%s] at %s: %s", t[i].name, addr, r.stage, r.text);
		if (r.status == SMTPC_SENT || !r.host_level)
			return r.status;
		if (r.status != SMTPC_PERM)
			all_perm = 0;
		pthread_mutex_lock(&d->mu);
		stopping = d->stop;
		pthread_mutex_unlock(&d->mu);
		if (stopping)	/* shutting down: the other hosts can wait */
			return SMTPC_TEMP;
	}
	return n > 0 && all_perm ? SMTPC_PERM : SMTPC_TEMP;
}

/* Try one entry; the new next-try time, or REMOVED. */
static time_t
attempt(struct deliver *d, const char *id)
{
	struct outq_entry e;
	struct target t[DELIVER_MAX_ADDRS];
	struct accepted_ctx acc = { 0 };
	char err[512], why[512] = "", safe[512];
	size_t n = 0;
	time_t now, next = REMOVED;
	enum route_status rs;
	enum smtpc_status st;
	int fd;

	if ((fd = outq_lock(d->dir, id, 1)) < 0)
		return errno == ENOENT ? REMOVED : time(NULL) + d->retry_min;
	if (outq_read_fd(fd, &e, 1, err, sizeof(err)) < 0) {
		char *bad = xasprintf("%s/%s", d->dir, id), *aside = xasprintf("%s.bad", bad);

		log_err(id, "deliver", "corrupt queue file moved aside: %s", err);
		rename(bad, aside);
		free(bad);
		free(aside);
		close(fd);
		return REMOVED;
	}
	now = time(NULL);
	if (e.next_try > now) {		/* changed by another process */
		next = e.next_try;
		goto out_close;
	}
	acc.d = d;
	acc.id = id;
	acc.fd = fd;
	rs = route(d, e.rcpt, t, &n, why, sizeof(why));
	st = rs == ROUTE_OK ? send_to_targets(d, &e, t, n, &acc, why, sizeof(why)) :
	    rs == ROUTE_PERM ? SMTPC_PERM : SMTPC_TEMP;
	now = time(NULL);
	log_safe(safe, sizeof(safe), why);
	if (st == SMTPC_SENT) {
		if (!acc.removed)
			on_accepted(&acc);
		log_info(id, "deliver", "delivered to=<%s> attempts=%d via=\"%s\"", e.rcpt,
		    e.attempts + 1, safe);
		record_delivery(d->spool, id, STORE_DELIVERED, safe, e.attempts + 1);
		metrics_inc(METRIC_REPLIES_SENT);
	} else if (st == SMTPC_PERM || now - e.created >= d->lifetime) {
		outq_remove_locked(d->dir, id, fd);
		log_warn(id, "deliver", "gave up to=<%s> attempts=%d reason=%s error=\"%s\"",
		    e.rcpt, e.attempts + 1, st == SMTPC_PERM ? "permanent" :
		    "queue_lifetime", safe);
		record_delivery(d->spool, id, STORE_GAVE_UP, safe, e.attempts + 1);
		metrics_add_label(METRIC_REPLIES_GIVEN_UP, st == SMTPC_PERM ? "permanent" :
		    "queue_lifetime", NULL, 1);
	} else {
		e.attempts++;
		next = now + outq_backoff(d->retry_min, d->retry_max, e.attempts);
		if (next > e.created + d->lifetime)
			next = e.created + d->lifetime;
		e.next_try = next;
		free(e.last_error);
		e.last_error = xstrdup(why);
		if (outq_update_locked(d->dir, fd, &e, err, sizeof(err)) < 0)
			log_err(id, "deliver", "queue update failed: %s", err);
		log_info(id, "deliver", "deferred to=<%s> attempts=%d next_in=%lds "
		    "error=\"%s\"", e.rcpt, e.attempts, (long)(next - now), safe);
		record_delivery(d->spool, id, STORE_DEFERRED, safe, e.attempts);
		metrics_inc(METRIC_REPLIES_DEFERRED);
	}
out_close:
	close(fd);
	outq_entry_free(&e);
	return next;
}

/* ---- the threads -------------------------------------------------------- */

static void
check_flush_locked(struct deliver *d, time_t now)
{
	char *marker;

	if (now == d->last_flush_check)
		return;
	d->last_flush_check = now;
	marker = xasprintf("%s/%s", d->dir, DELIVER_FLUSH_FILE);
	if (unlink(marker) == 0) {
		log_info(NULL, "deliver", "flush requested: re-reading the queue");
		rescan_locked(d, now);
	} else if (now - d->last_rescan >= DELIVER_RESCAN_S)
		rescan_locked(d, now);
	free(marker);
}

static struct dq_item *
next_due_locked(struct deliver *d, time_t *earliest)
{
	struct dq_item *best = NULL;

	for (size_t i = 0; i < d->n; i++)
		if (!d->items[i].busy && (best == NULL || d->items[i].next_try < best->next_try))
			best = &d->items[i];
	*earliest = best ? best->next_try : 0;
	return best;
}

static void *
thread_main(void *arg)
{
	struct deliver *d = arg;

	/* every signal is blocked here (deliver_start()): SIGPIPE from a peer
	 * closing early, and SIGTERM/SIGHUP, which belong to the event loop */
	pthread_mutex_lock(&d->mu);
	while (!d->stop) {
		time_t now = time(NULL), earliest, next;
		struct dq_item *it;
		char id[ID_LEN + 1];

		check_flush_locked(d, now);
		it = next_due_locked(d, &earliest);
		if (it == NULL || earliest > now) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;	/* look for the flush marker every second */
			pthread_cond_timedwait(&d->cv, &d->mu, &ts);
			continue;
		}
		it->busy = 1;
		str_copy(id, it->id, sizeof(id));
		pthread_mutex_unlock(&d->mu);
		next = attempt(d, id);
		pthread_mutex_lock(&d->mu);
		if ((it = item_find(d, id)) != NULL) {
			it->busy = 0;
			if (next == REMOVED)
				item_remove(d, id);
			else
				it->next_try = next;
		}
		pthread_cond_broadcast(&d->cv);
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

int
deliver_start(struct deliver *d)
{
	sigset_t all, old;
	int rc = 0;

	pthread_mutex_lock(&d->mu);
	rescan_locked(d, time(NULL));
	d->stop = 0;
	pthread_mutex_unlock(&d->mu);
	d->threads = xcalloc((size_t)d->nthreads, sizeof(*d->threads));
	/*
	 * Threads inherit the creator's mask: block everything around
	 * pthread_create() so that a process-directed SIGTERM never lands on a
	 * delivery thread - once the daemon tears its event loop down, the
	 * default action would kill the process mid-shutdown.
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (d->started = 0; d->started < d->nthreads; d->started++)
		if (pthread_create(&d->threads[d->started], NULL, thread_main, d) != 0) {
			rc = -1;
			break;
		}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc < 0) {
		log_err(NULL, "deliver", "pthread_create: %s", strerror(errno));
		deliver_stop(d);
		return -1;
	}
	log_info(NULL, "deliver", "started threads=%d queue=%zu relay=%s", d->nthreads,
	    d->n, d->use_relay ? d->relay_host : "(MX)");
	return 0;
}

void
deliver_stop(struct deliver *d)
{
	pthread_mutex_lock(&d->mu);
	d->stop = 1;
	pthread_cond_broadcast(&d->cv);
	pthread_mutex_unlock(&d->mu);
	for (int i = 0; i < d->started; i++)
		pthread_join(d->threads[i], NULL);
	d->started = 0;
	free(d->threads);
	d->threads = NULL;
}
