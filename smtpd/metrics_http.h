/*
 * metrics_http.h - the Prometheus endpoint of mailtestd: GET /metrics on
 * metrics_listen answers common/metrics.h's registry in the text format
 * (version 0.0.4), served by libevent's evhttp on the daemon's event loop.
 * Rendering reads atomics and copies the DNS layer's counters
 * (dns_stats_get(), a mutex held only for a struct copy): nothing waits
 * on disk or network.
 *
 * metrics_listen: "PORT" (127.0.0.1:PORT), "ADDR:PORT" or "[ADDR6]:PORT";
 * "" = off.  The socket is bound by metrics_http_bind() before privileges
 * are dropped and served from metrics_http_start() once the loop exists.
 * Requests: GET and HEAD only, headers at most 8 KiB, no body, 10 s
 * timeout; other paths are 404.
 *
 * Entry points: metrics_http_bind(), metrics_http_start(), metrics_http_free().
 * Errors: -1 / NULL with err filled (metrics_http_bind() returns NULL with
 * err empty when metrics_listen is "").
 */
#ifndef MT_METRICS_HTTP_H
#define MT_METRICS_HTTP_H

#include <stddef.h>

#include <event2/event.h>

struct dns_resolver;
struct metrics_http;

struct metrics_http *metrics_http_bind(const char *spec, char *err, size_t errlen);
/* dns: borrowed, may be NULL */
int	 metrics_http_start(struct metrics_http *, struct event_base *,
	    struct dns_resolver *dns, char *err, size_t errlen);
void	 metrics_http_free(struct metrics_http *);

#endif
