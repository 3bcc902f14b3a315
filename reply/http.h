/*
 * http.h - the report API and web pages of mailtestd, on the listener
 * `http_listen` (off when empty):
 *
 *   GET /api/v1/reports?tag=&since=&until=&domain=&verdict=MECH:WORD&limit=&offset=
 *                                   JSON list of summaries, newest first
 *   GET /api/v1/reports/ID          the JSON report (+ "reply" and its delivery)
 *   GET /api/v1/reports/ID/raw-headers   the tested message's header block
 *   GET /api/v1/wait?tag=T&timeout=S[&since=]   long-poll: 200 with the report
 *                                   as soon as one with that tag is stored,
 *                                   204 No Content when the timeout passes
 *   GET /                           HTML list of recent reports (filters)
 *   GET /reports/ID                 HTML report (the mailed HTML report)
 *
 * Threads: the server has its own thread running its own event_base (the
 * SMTP loop never sees an HTTP byte), and HTTP_POOL_THREADS threads that
 * run the store queries and render the answers; a finished job goes back
 * to the HTTP loop through a queue and event_active(), and only the loop
 * touches evhttp objects.  Long-polls wait on the loop (a timer each, no
 * thread): a report stored by a worker (or, with PostgreSQL, by another
 * instance: NOTIFY) wakes the waits with a matching tag through
 * store_subscribe(); every HTTP_WAIT_RECHECK seconds they look again
 * anyway, so a notification lost with a connection costs seconds, not
 * the report.
 *
 * Access: a bearer token (`http_token`, at least HTTP_TOKEN_MIN characters
 * of RFC 6750 b64token) is required on every request when set, and must be
 * set when the listener is not on loopback (http_new() refuses).  Browsers
 * may give it as the password of HTTP Basic authentication (any user
 * name).  The comparison is constant-time (CRYPTO_memcmp of SHA-256
 * digests).  401 with WWW-Authenticate otherwise.
 *
 * Entry points: http_new() before privileges are dropped (parses the
 * configuration and binds the socket; NULL without err when http_listen
 * is empty), http_start() after fork/setuid (threads, subscription to the
 * store that record_open() opened for cf->spool_dir), http_free() (stops
 * the threads; pending requests are dropped with their connections).
 * http_parse_time() is exported for the unit test.  Errors: NULL / -1
 * with err.
 */
#ifndef MT_HTTP_H
#define MT_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "../common/config.h"

#define HTTP_POOL_THREADS	2
#define HTTP_MAX_URI		2048	/* bytes of the request target: 414 */
#define HTTP_MAX_HEADER_BYTES	8192	/* the whole header block (evhttp) */
#define HTTP_MAX_HEADERS	50	/* header fields: 431 */
#define HTTP_MAX_BODY		1024	/* GET has none (evhttp: 413) */
#define HTTP_IO_TIMEOUT		30	/* seconds to read a request / write a reply */
#define HTTP_MAX_QUEUE		256	/* jobs waiting for the pool: 503 */
#define HTTP_MAX_WAITERS	64	/* long-polls at once: 503 */
#define HTTP_WAIT_DEFAULT	30	/* seconds */
#define HTTP_WAIT_MAX		300
#define HTTP_WAIT_RECHECK	5	/* seconds between looks without a notification */
#define HTTP_LIST_DEFAULT	50
#define HTTP_OFFSET_MAX		100000
#define HTTP_DOMAIN_MAX		253	/* RFC 1035 2.3.4 */
#define HTTP_TOKEN_MIN		16
#define HTTP_TOKEN_MAX		255
#define HTTP_TIME_MAX		INT64_C(253402300799)	/* 9999-12-31T23:59:59Z */

struct http_server;

struct http_server *http_new(const struct config *, char *err, size_t errlen);
int	 http_start(struct http_server *, char *err, size_t errlen);
void	 http_free(struct http_server *);
/* The bound port (port 0 in the configuration picks one). */
int	 http_port(const struct http_server *);

/* RFC 3339 (2026-05-01T12:00:00Z, offsets, fractions) or epoch seconds. */
int	 http_parse_time(const char *, int64_t *);

#endif
