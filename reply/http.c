/*
 * http.c - the HTTP server of the report API and pages (see http.h): the
 * listener, the loop thread, the query pool, the long-polls, access and
 * request limits.  The handlers are in http_api.c and http_page.c.
 *
 * Jobs: a request that passed the checks on the loop becomes a job; a pool
 * thread runs its handler (store queries, rendering) and queues it back;
 * the loop sends the answer.  A long-poll that found nothing waits on the
 * loop (state JOB_WAITING, a deadline timer) until a notification, the
 * periodic re-check or its deadline sends it to the pool again or answers
 * 204.  A notification that came while the job was in the pool is not
 * lost: the job remembers the notification count when it was queued, and
 * goes straight back to the pool when the count moved.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "../common/log.h"
#include "../common/store.h"
#include "../common/util.h"
#include "http.h"
#include "http_impl.h"
#include "record.h"

#define HTTP_NOTIFY_RING	32	/* tags remembered between two loop turns */
#define HTTP_LISTEN_BACKLOG	128
#define HTTP_CSP		"default-src 'none'; style-src 'unsafe-inline'; " \
				"img-src data:; form-action 'self'; base-uri 'none'; " \
				"frame-ancestors 'none'"

enum job_state { JOB_POOL, JOB_WAITING };

struct http_job {
	struct http_server	*h;
	struct evhttp_request	*req;		/* evhttp's; used on the loop only */
	enum http_route		 route;
	struct http_params	 p;
	struct http_resp	 resp;		/* owned */
	enum job_state		 state;
	int			 found, failed;	/* wait: what the last look gave */
	int			 expired;	/* wait: deadline passed */
	uint64_t		 gen;		/* notification count when queued */
	struct event		*timer;		/* wait: deadline; owned */
	struct http_job		*next;		/* pool or done queue */
	struct http_job		*wprev, *wnext;	/* waiters (loop only) */
};

struct http_server {
	char			*listen;	/* owned: ADDR:PORT */
	int			 fd;		/* bound socket, until evhttp has it */
	int			 port;
	int			 have_token;
	unsigned char		 token_sha[SHA256_DIGEST_LENGTH];
	char			*spool_dir;	/* owned */
	char			*authserv_id;	/* owned */
	struct http_ctx		 ctx;
	struct event_base	*base;		/* owned */
	struct evhttp		*http;		/* owned */
	struct event		*done_ev, *notify_ev, *recheck_ev, *shutdown_ev;
	pthread_t		 loop_th;
	int			 loop_on;
	pthread_t		 pool[HTTP_POOL_THREADS];
	int			 npool;
	/* under mu: the pool queue, the done queue, the notified tags */
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct http_job		*q_head, *q_tail, *d_head, *d_tail;
	size_t			 q_len;
	int			 stop;
	char			 ring[HTTP_NOTIFY_RING][STORE_TAG_MAX + 1];
	size_t			 nring;
	int			 ring_all;	/* a tag-less notification, or overflow */
	_Atomic uint64_t	 gen;		/* notifications so far */
	/* loop only */
	struct http_job		*waiters;
	size_t			 nwaits;	/* long-polls open (waiting or in the pool) */
};

/* ---- set-up ------------------------------------------------------------------- */

static int
token_ok(const char *t)
{
	size_t n = strlen(t), i;

	/* RFC 6750 2.1 b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
	for (i = 0; i < n && (isalnum((unsigned char)t[i]) || strchr("-._~+/", t[i])); i++)
		;
	while (i < n && t[i] == '=')
		i++;
	return i == n && n >= HTTP_TOKEN_MIN && n <= HTTP_TOKEN_MAX;
}

static int
addr_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return 0;
}

/* ADDR:PORT, [ADDR6]:PORT; numeric addresses or "localhost". */
static int
bind_listener(struct http_server *h, int *loopback, char *err, size_t errlen)
{
	char host[256], *colon, port[8];
	struct addrinfo hints = { 0 }, *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int one = 1, rc;

	str_copy(host, h->listen, sizeof(host));
	if ((colon = strrchr(host, ':')) == NULL || colon[1] == '\0') {
		snprintf(err, errlen, "http_listen \"%s\": expected ADDR:PORT", h->listen);
		return -1;
	}
	*colon = '\0';
	str_copy(port, colon + 1, sizeof(port));
	if (host[0] == '[' && colon > host + 1 && colon[-1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (strcmp(host, "localhost") ? AI_NUMERICHOST : 0);
	if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0) {
		snprintf(err, errlen, "http_listen \"%s\": %s", h->listen, gai_strerror(rc));
		return -1;
	}
	*loopback = addr_loopback(ai->ai_addr);
	if (!*loopback && !h->have_token) {	/* refused before anything listens */
		snprintf(err, errlen, "http_listen %s is not a loopback address: set "
		    "http_token (refusing to serve reports without one)", h->listen);
		freeaddrinfo(ai);
		return -1;
	}
	h->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (h->fd < 0 || setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (ai->ai_family == AF_INET6 && setsockopt(h->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
	    sizeof(one)) < 0) || bind(h->fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
	    listen(h->fd, HTTP_LISTEN_BACKLOG) < 0 ||
	    getsockname(h->fd, (struct sockaddr *)&ss, &sl) < 0) {
		snprintf(err, errlen, "http_listen %s: %s", h->listen, strerror(errno));
		freeaddrinfo(ai);
		return -1;
	}
	h->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port :
	    ((struct sockaddr_in6 *)&ss)->sin6_port);
	freeaddrinfo(ai);
	return 0;
}

struct http_server *
http_new(const struct config *cf, char *err, size_t errlen)
{
	struct http_server *h;
	int loopback = 0;

	err[0] = '\0';
	if (cf->http_listen == NULL || cf->http_listen[0] == '\0')
		return NULL;
	h = xcalloc(1, sizeof(*h));
	h->fd = -1;
	h->listen = xstrdup(cf->http_listen);
	h->spool_dir = xstrdup(cf->spool_dir);
	h->authserv_id = xstrdup(cf->authserv_id && *cf->authserv_id ? cf->authserv_id :
	    cf->hostname && *cf->hostname ? cf->hostname : "localhost");
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	if (cf->http_token && cf->http_token[0]) {
		if (!token_ok(cf->http_token)) {
			snprintf(err, errlen, "http_token: %d to %d characters of A-Z a-z 0-9 "
			    "- . _ ~ + / (RFC 6750 b64token)", HTTP_TOKEN_MIN, HTTP_TOKEN_MAX);
			goto out_fail;
		}
		SHA256((const unsigned char *)cf->http_token, strlen(cf->http_token),
		    h->token_sha);
		h->have_token = 1;
	}
	if (bind_listener(h, &loopback, err, errlen) < 0)
		goto out_fail;
	return h;
out_fail:
	http_free(h);
	return NULL;
}

int
http_port(const struct http_server *h)
{
	return h->port;
}

/* ---- responses (loop) ------------------------------------------------------- */

static void
send_resp(struct evhttp_request *req, struct http_resp *r)
{
	struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
	struct evbuffer *buf = evbuffer_new();
	char ra[16];

	if (r->body)
		evhttp_add_header(oh, "Content-Type", r->ctype);
	evhttp_add_header(oh, "Cache-Control", "no-store");
	evhttp_add_header(oh, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(oh, "Referrer-Policy", "no-referrer");
	evhttp_add_header(oh, "X-Frame-Options", "DENY");
	evhttp_add_header(oh, "Content-Security-Policy", HTTP_CSP);
	if (r->status == 401)
		evhttp_add_header(oh, "WWW-Authenticate", r->challenge == HTTP_AUTH_BASIC ?
		    "Basic realm=\"mailtest\", charset=\"UTF-8\"" :
		    "Bearer realm=\"mailtest\"");
	if (r->status == 405)
		evhttp_add_header(oh, "Allow", "GET, HEAD");
	if (r->retry_after > 0) {
		snprintf(ra, sizeof(ra), "%d", r->retry_after);
		evhttp_add_header(oh, "Retry-After", ra);
	}
	if (buf && r->body)
		evbuffer_add(buf, r->body, r->len);
	evhttp_send_reply(req, r->status, NULL, buf);
	if (buf)
		evbuffer_free(buf);
}

static int
route_is_page(enum http_route r)
{
	return r == ROUTE_PAGE_LIST || r == ROUTE_PAGE_REPORT;
}

/* An answer given on the loop, before any job exists. */
static void
reply_now(struct evhttp_request *req, int page, int status, const char *msg)
{
	struct http_resp r = { 0 };

	if (page)
		http_page_error(&r, status, msg);
	else
		http_error(&r, status, "%s", msg);
	if (status == 401)
		r.challenge = page ? HTTP_AUTH_BASIC : HTTP_AUTH_BEARER;
	if (status == 503)
		r.retry_after = 5;
	send_resp(req, &r);
	free(r.body);
}

/* ---- jobs ---------------------------------------------------------------------- */

static void
job_free(struct http_job *j)
{
	if (j->timer)
		event_free(j->timer);
	if (j->route == ROUTE_WAIT)
		j->h->nwaits--;
	free(j->resp.body);
	free(j);
}

static void
waiter_unlink(struct http_job *j)
{
	if (j->wprev)
		j->wprev->wnext = j->wnext;
	else
		j->h->waiters = j->wnext;
	if (j->wnext)
		j->wnext->wprev = j->wprev;
	j->wprev = j->wnext = NULL;
}

/* Queue for the pool (loop). */
static void
job_submit(struct http_job *j)
{
	struct http_server *h = j->h;

	j->state = JOB_POOL;
	j->gen = atomic_load(&h->gen);
	free(j->resp.body);
	memset(&j->resp, 0, sizeof(j->resp));
	pthread_mutex_lock(&h->mu);
	j->next = NULL;
	if (h->q_tail)
		h->q_tail->next = j;
	else
		h->q_head = j;
	h->q_tail = j;
	h->q_len++;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

static void
job_answer(struct http_job *j)
{
	send_resp(j->req, &j->resp);
	job_free(j);
}

static void
wait_timeout_answer(struct http_job *j)
{
	free(j->resp.body);
	memset(&j->resp, 0, sizeof(j->resp));
	j->resp.status = 204;	/* No Content: no report with that tag in time */
	job_answer(j);
}

/* A job back from the pool (loop). */
static void
job_back(struct http_job *j)
{
	struct http_server *h = j->h;

	if (j->route != ROUTE_WAIT || j->found || j->failed) {
		job_answer(j);
		return;
	}
	if (j->expired) {		/* set by wait_deadline() */
		wait_timeout_answer(j);
		return;
	}
	if (atomic_load(&h->gen) != j->gen) {	/* stored meanwhile: look again */
		job_submit(j);
		return;
	}
	j->state = JOB_WAITING;
	j->wprev = NULL;
	j->wnext = h->waiters;
	if (h->waiters)
		h->waiters->wprev = j;
	h->waiters = j;
}

static void
done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_server *h = arg;
	struct http_job *j, *next;

	pthread_mutex_lock(&h->mu);
	j = h->d_head;
	h->d_head = h->d_tail = NULL;
	pthread_mutex_unlock(&h->mu);
	for (; j; j = next) {
		next = j->next;
		job_back(j);
	}
}

static void
wait_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct http_job *j = arg;

	j->expired = 1;
	if (j->state == JOB_WAITING) {
		waiter_unlink(j);
		wait_timeout_answer(j);
	}			/* in the pool: job_back() answers */
}

static int
tag_matches(const char *want, const char *stored)
{
	size_t n = strlen(want);

	return strcmp(want, stored) == 0 ||
	    (strncmp(want, stored, n) == 0 && stored[n] == '.');
}

/* Wake the waiting long-polls that a notification concerns (loop). */
static void
notify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_server *h = arg;
	char ring[HTTP_NOTIFY_RING][STORE_TAG_MAX + 1];
	size_t n;
	int all;
	struct http_job *j, *next;

	pthread_mutex_lock(&h->mu);
	n = h->nring;
	all = h->ring_all;
	memcpy(ring, h->ring, n * sizeof(ring[0]));
	h->nring = 0;
	h->ring_all = 0;
	pthread_mutex_unlock(&h->mu);
	for (j = h->waiters; j; j = next) {
		int hit = all;

		next = j->wnext;
		for (size_t i = 0; i < n && !hit; i++)
			hit = tag_matches(j->p.tag, ring[i]);
		if (hit) {
			waiter_unlink(j);
			job_submit(j);
		}
	}
}

static void
recheck_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_server *h = arg;
	struct http_job *j, *next;

	for (j = h->waiters; j; j = next) {
		next = j->wnext;
		waiter_unlink(j);
		job_submit(j);
	}
}

/* store_subscribe(): any thread, must not block. */
static void
on_stored(void *arg, const char *tag)
{
	struct http_server *h = arg;

	atomic_fetch_add(&h->gen, 1);
	pthread_mutex_lock(&h->mu);
	if (tag == NULL || h->nring == HTTP_NOTIFY_RING)
		h->ring_all = 1;
	else
		str_copy(h->ring[h->nring++], tag, sizeof(h->ring[0]));
	pthread_mutex_unlock(&h->mu);
	event_active(h->notify_ev, EV_READ, 0);
}

/* ---- the pool -------------------------------------------------------------------- */

static void
job_run(struct http_server *h, struct http_job *j)
{
	int rc;

	switch (j->route) {
	case ROUTE_LIST:
		http_api_list(&h->ctx, &j->p, &j->resp);
		break;
	case ROUTE_REPORT:
		http_api_report(&h->ctx, j->p.id, &j->resp);
		break;
	case ROUTE_RAW:
		http_api_raw(&h->ctx, j->p.id, &j->resp);
		break;
	case ROUTE_WAIT:
		rc = http_api_wait(&h->ctx, &j->p, &j->resp);
		j->found = rc == 1;
		j->failed = rc < 0;
		break;
	case ROUTE_PAGE_LIST:
		http_page_list(&h->ctx, &j->p, &j->resp);
		break;
	case ROUTE_PAGE_REPORT:
		http_page_report(&h->ctx, j->p.id, &j->resp);
		break;
	}
}

static void *
pool_main(void *arg)
{
	struct http_server *h = arg;
	struct http_job *j;

	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (!h->stop && h->q_head == NULL)
			pthread_cond_wait(&h->cv, &h->mu);
		if (h->stop)
			break;
		j = h->q_head;
		if ((h->q_head = j->next) == NULL)
			h->q_tail = NULL;
		h->q_len--;
		pthread_mutex_unlock(&h->mu);
		job_run(h, j);
		pthread_mutex_lock(&h->mu);
		j->next = NULL;
		if (h->d_tail)
			h->d_tail->next = j;
		else
			h->d_head = j;
		h->d_tail = j;
		pthread_mutex_unlock(&h->mu);
		event_active(h->done_ev, EV_READ, 0);	/* not under mu: libevent locks too */
		pthread_mutex_lock(&h->mu);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

/* ---- requests (loop) --------------------------------------------------------------- */

static int
auth_ok(struct http_server *h, struct evhttp_request *req)
{
	const char *a = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Authorization");
	unsigned char got[SHA256_DIGEST_LENGTH], dec[3 * (HTTP_TOKEN_MAX + 64) / 4 + 4];
	const char *tok = NULL, *colon;
	size_t toklen = 0, n;
	int k;

	if (!h->have_token)
		return 1;
	if (a == NULL)
		return 0;
	if (strncasecmp(a, "Bearer ", 7) == 0) {
		tok = a + 7;
		toklen = strlen(tok);
	} else if (strncasecmp(a, "Basic ", 6) == 0) {
		n = strlen(a + 6);
		if (n == 0 || n > 4 * (sizeof(dec) - 4) / 3 || n % 4 != 0)
			return 0;
		if ((k = EVP_DecodeBlock(dec, (const unsigned char *)a + 6, (int)n)) < 0)
			return 0;
		while (k > 0 && a[6 + n - 1] == '=' && n-- > 0)
			k--;	/* EVP_DecodeBlock counts the padding */
		dec[k] = '\0';
		if ((colon = memchr(dec, ':', (size_t)k)) == NULL)
			return 0;
		tok = colon + 1;
		toklen = (size_t)k - (size_t)(tok - (const char *)dec);
	}
	if (tok == NULL || toklen > HTTP_TOKEN_MAX)
		return 0;
	SHA256((const unsigned char *)tok, toklen, got);
	return CRYPTO_memcmp(got, h->token_sha, sizeof(got)) == 0;
}

static int
path_id(const char *path, const char *prefix, const char *suffix, char *id)
{
	size_t pl = strlen(prefix);

	if (strncmp(path, prefix, pl) != 0 || strlen(path + pl) != ID_LEN + strlen(suffix) ||
	    strcmp(path + pl + ID_LEN, suffix) != 0)
		return 0;
	memcpy(id, path + pl, ID_LEN);
	id[ID_LEN] = '\0';
	return id_valid(id);
}

/* -1: no such path */
static int
route_of(const char *path, char *id, enum http_route *r)
{
	if (strcmp(path, "/api/v1/reports") == 0)
		*r = ROUTE_LIST;
	else if (strcmp(path, "/api/v1/wait") == 0)
		*r = ROUTE_WAIT;
	else if (path_id(path, "/api/v1/reports/", "", id))
		*r = ROUTE_REPORT;
	else if (path_id(path, "/api/v1/reports/", "/raw-headers", id))
		*r = ROUTE_RAW;
	else if (strcmp(path, "/") == 0)
		*r = ROUTE_PAGE_LIST;
	else if (path_id(path, "/reports/", "", id))
		*r = ROUTE_PAGE_REPORT;
	else
		return -1;
	return 0;
}

static size_t
header_count(struct evhttp_request *req)
{
	struct evkeyval *kv;
	size_t n = 0;

	TAILQ_FOREACH(kv, evhttp_request_get_input_headers(req), next)
		n++;
	return n;
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct http_server *h = arg;
	const char *uri = evhttp_request_get_uri(req), *path;
	const struct evhttp_uri *pu = evhttp_request_get_evhttp_uri(req);
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	struct http_params p;
	struct http_job *j;
	enum http_route route = ROUTE_LIST;
	char err[256], id[ID_LEN + 1] = "";
	int page;

	path = pu ? evhttp_uri_get_path(pu) : NULL;
	page = path && strncmp(path, "/api/", 5) != 0;
	if (uri == NULL || strlen(uri) > HTTP_MAX_URI) {
		reply_now(req, page, 414, "request target too long");
		return;
	}
	if (header_count(req) > HTTP_MAX_HEADERS) {
		reply_now(req, page, 431, "too many header fields");
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		reply_now(req, page, 405, "only GET and HEAD");
		return;
	}
	if (!auth_ok(h, req)) {
		reply_now(req, page, 401, "a valid bearer token is required");
		return;
	}
	if (path == NULL || route_of(path, id, &route) < 0) {
		reply_now(req, page, 404, "no such resource");
		return;
	}
	page = route_is_page(route);
	if (http_params_parse(route, evhttp_uri_get_query(pu), &p, err, sizeof(err)) < 0) {
		reply_now(req, page, 400, err);
		return;
	}
	str_copy(p.id, id, sizeof(p.id));
	if (route == ROUTE_WAIT && h->nwaits >= HTTP_MAX_WAITERS) {
		reply_now(req, 0, 503, "too many long-polls at once");
		return;
	}
	if (h->q_len >= HTTP_MAX_QUEUE) {
		reply_now(req, page, 503, "busy");
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->h = h;
	j->req = req;
	j->route = route;
	j->p = p;
	if (route == ROUTE_WAIT) {
		struct timeval tv = { p.timeout, 0 };

		h->nwaits++;
		j->timer = evtimer_new(h->base, wait_deadline, j);
		if (j->timer == NULL || evtimer_add(j->timer, &tv) < 0)
			fatal("http: evtimer");
	}
	job_submit(j);
}

/* ---- start and stop ----------------------------------------------------------------- */

static void *
loop_main(void *arg)
{
	struct http_server *h = arg;

	event_base_dispatch(h->base);
	return NULL;
}

int
http_start(struct http_server *h, char *err, size_t errlen)
{
	struct timeval every = { HTTP_WAIT_RECHECK, 0 };

	h->ctx.store = record_store(h->spool_dir);
	h->ctx.spool_dir = h->spool_dir;
	h->ctx.authserv_id = h->authserv_id;
	if (h->ctx.store == NULL) {
		snprintf(err, errlen, "http: no report store is open");
		return -1;
	}
	if (evthread_use_pthreads() < 0 || (h->base = event_base_new()) == NULL ||
	    (h->http = evhttp_new(h->base)) == NULL) {
		snprintf(err, errlen, "http: libevent set-up failed");
		return -1;
	}
	evhttp_set_max_headers_size(h->http, HTTP_MAX_HEADER_BYTES);
	evhttp_set_max_body_size(h->http, HTTP_MAX_BODY);
	evhttp_set_timeout(h->http, HTTP_IO_TIMEOUT);
	evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
	    EVHTTP_REQ_PATCH);
	evhttp_set_gencb(h->http, on_request, h);
	if (evhttp_accept_socket_with_handle(h->http, h->fd) == NULL) {
		snprintf(err, errlen, "http: cannot listen on %s", h->listen);
		return -1;
	}
	h->fd = -1;		/* evhttp's now */
	h->done_ev = event_new(h->base, -1, 0, done_cb, h);
	h->notify_ev = event_new(h->base, -1, 0, notify_cb, h);
	h->recheck_ev = event_new(h->base, -1, EV_PERSIST, recheck_cb, h);
	if (!h->done_ev || !h->notify_ev || !h->recheck_ev ||
	    event_add(h->recheck_ev, &every) < 0) {
		snprintf(err, errlen, "http: event set-up failed");
		return -1;
	}
	for (; h->npool < HTTP_POOL_THREADS; h->npool++)
		if (pthread_create(&h->pool[h->npool], NULL, pool_main, h) != 0) {
			snprintf(err, errlen, "http: pthread_create: %s", strerror(errno));
			return -1;
		}
	if (pthread_create(&h->loop_th, NULL, loop_main, h) != 0) {
		snprintf(err, errlen, "http: pthread_create: %s", strerror(errno));
		return -1;
	}
	h->loop_on = 1;
	if (store_subscribe(h->ctx.store, on_stored, h) < 0)
		log_warn(NULL, "http", "no notifications from the store: long-polls look "
		    "every %ds", HTTP_WAIT_RECHECK);
	log_info(NULL, "http", "listen addr=%s port=%d token=%s store=%s", h->listen,
	    h->port, h->have_token ? "required" : "none", store_kind(h->ctx.store));
	return 0;
}

/* On the loop at shutdown: every open request gets 503, then the loop ends. */
static void
shutdown_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_server *h = arg;
	struct http_job *lists[2], *j, *next;
	struct timeval flush = { 0, 200000 };

	pthread_mutex_lock(&h->mu);
	lists[0] = h->q_head;
	lists[1] = h->d_head;
	h->q_head = h->q_tail = h->d_head = h->d_tail = NULL;
	pthread_mutex_unlock(&h->mu);
	for (j = h->waiters; j; j = next) {
		next = j->wnext;
		waiter_unlink(j);
		reply_now(j->req, 0, 503, "shutting down");
		job_free(j);
	}
	for (int i = 0; i < 2; i++)
		for (j = lists[i]; j; j = next) {
			next = j->next;
			reply_now(j->req, route_is_page(j->route), 503, "shutting down");
			job_free(j);
		}
	event_base_loopexit(h->base, &flush);
}

void
http_free(struct http_server *h)
{
	if (h == NULL)
		return;
	if (h->ctx.store)
		store_subscribe(h->ctx.store, NULL, NULL);
	pthread_mutex_lock(&h->mu);
	h->stop = 1;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	for (int i = 0; i < h->npool; i++)
		pthread_join(h->pool[i], NULL);
	if (h->loop_on) {
		h->shutdown_ev = event_new(h->base, -1, 0, shutdown_cb, h);
		if (h->shutdown_ev)
			event_active(h->shutdown_ev, EV_READ, 0);
		else
			event_base_loopbreak(h->base);
		pthread_join(h->loop_th, NULL);
	}
	if (h->http)
		evhttp_free(h->http);
	if (h->done_ev)
		event_free(h->done_ev);
	if (h->notify_ev)
		event_free(h->notify_ev);
	if (h->recheck_ev)
		event_free(h->recheck_ev);
	if (h->shutdown_ev)
		event_free(h->shutdown_ev);
	if (h->base)
		event_base_free(h->base);
	if (h->fd >= 0)
		close(h->fd);
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->cv);
	free(h->listen);
	free(h->spool_dir);
	free(h->authserv_id);
	free(h);
}
