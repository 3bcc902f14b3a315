/* metrics_http.c - GET /metrics with evhttp: see metrics_http.h */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "../common/dns.h"
#include "../common/log.h"
#include "../common/metrics.h"
#include "../common/util.h"
#include "metrics_http.h"

#define METRICS_HTTP_BACKLOG		64
#define METRICS_HTTP_TIMEOUT_S		10
#define METRICS_HTTP_MAX_HEADERS	8192
#define METRICS_HTTP_MAX_BODY		0
#define METRICS_HTTP_PATH		"/metrics"
/* exposition format 0.0.4 */
#define METRICS_HTTP_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

struct metrics_http {
	int			 fd;		/* owned until evhttp takes it */
	char			 name[INET6_ADDRSTRLEN + 8];
	struct evhttp		*http;		/* owned */
	struct dns_resolver	*dns;		/* borrowed */
};

/* "PORT", "ADDR:PORT", "[ADDR6]:PORT" -> host and port strings. */
static int
metrics_http_split(const char *spec, char *host, size_t hostlen, char *port, size_t portlen)
{
	const char *colon = strrchr(spec, ':');
	size_t hl;

	if (colon == NULL) {
		if (snprintf(host, hostlen, "127.0.0.1") >= (int)hostlen ||
		    snprintf(port, portlen, "%s", spec) >= (int)portlen)
			return -1;
		return 0;
	}
	if (spec[0] == '[') {
		if (colon == spec || colon[-1] != ']')
			return -1;
		hl = (size_t)(colon - spec - 2);
		spec++;
	} else {
		if (strchr(spec, ':') != colon)
			return -1;	/* a bare IPv6 address: brackets needed */
		hl = (size_t)(colon - spec);
	}
	if (hl == 0 || hl >= hostlen || snprintf(port, portlen, "%s", colon + 1) >= (int)portlen)
		return -1;
	memcpy(host, spec, hl);
	host[hl] = '\0';
	return 0;
}

struct metrics_http *
metrics_http_bind(const char *spec, char *err, size_t errlen)
{
	struct metrics_http *m;
	struct addrinfo hints, *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	char host[INET6_ADDRSTRLEN + 1], port[8], h[INET6_ADDRSTRLEN], p[8];
	long pn;
	int on = 1, rc;

	err[0] = '\0';
	if (spec == NULL || spec[0] == '\0')
		return NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	if (metrics_http_split(spec, host, sizeof(host), port, sizeof(port)) < 0 ||
	    str_to_long(port, 0, 65535, &pn) < 0 ||
	    (rc = getaddrinfo(host, port, &hints, &ai)) != 0) {
		snprintf(err, errlen, "metrics_listen: \"%s\" is not PORT, ADDR:PORT or "
		    "[ADDR6]:PORT", spec);
		return NULL;
	}
	m = xcalloc(1, sizeof(*m));
	m->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->fd < 0)
		goto out_err;
	setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (ai->ai_family == AF_INET6)
		setsockopt(m->fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(m->fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
	    listen(m->fd, METRICS_HTTP_BACKLOG) < 0 ||
	    getsockname(m->fd, (struct sockaddr *)&ss, &sslen) < 0)
		goto out_err;
	getnameinfo((struct sockaddr *)&ss, sslen, h, sizeof(h), p, sizeof(p),
	    NI_NUMERICHOST | NI_NUMERICSERV);
	snprintf(m->name, sizeof(m->name), strchr(h, ':') ? "[%s]:%s" : "%s:%s", h, p);
	freeaddrinfo(ai);
	return m;
out_err:
	snprintf(err, errlen, "metrics_listen %s: %s", spec, strerror(errno));
	freeaddrinfo(ai);
	metrics_http_free(m);
	return NULL;
}

/* The DNS layer keeps its own counters: copy them in before rendering. */
static void
metrics_http_dns(struct dns_resolver *dns)
{
	struct dns_stats st;

	if (dns == NULL)
		return;
	dns_stats_get(dns, &st);
	metrics_set(METRIC_DNS_LOOKUPS, (int64_t)st.lookups);
	metrics_set(METRIC_DNS_CACHE_HITS, (int64_t)st.cache_hits);
	metrics_set(METRIC_DNS_QUERIES, (int64_t)st.queries);
	metrics_set(METRIC_DNS_TIMEOUTS, (int64_t)st.timeouts);
	metrics_set(METRIC_DNS_TEMPFAILS, (int64_t)st.tempfails);
}

static void
metrics_http_cb(struct evhttp_request *req, void *arg)
{
	struct metrics_http *m = arg;
	struct evbuffer *out = evbuffer_new();
	struct sbuf b;

	if (out == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	metrics_http_dns(m->dns);
	sbuf_init(&b, 0);
	metrics_render(&b);
	evbuffer_add(out, sbuf_str(&b), b.len);
	sbuf_free(&b);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	    METRICS_HTTP_CONTENT_TYPE);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-store");
	evhttp_send_reply(req, HTTP_OK, "OK", out);
	evbuffer_free(out);
}

static void
metrics_http_notfound_cb(struct evhttp_request *req, void *arg)
{
	evhttp_send_error(req, HTTP_NOTFOUND, "Only " METRICS_HTTP_PATH " is served here");
}

int
metrics_http_start(struct metrics_http *m, struct event_base *base,
    struct dns_resolver *dns, char *err, size_t errlen)
{
	if (m == NULL)
		return 0;
	m->dns = dns;
	if ((m->http = evhttp_new(base)) == NULL) {
		snprintf(err, errlen, "metrics_listen: evhttp_new failed");
		return -1;
	}
	evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_timeout(m->http, METRICS_HTTP_TIMEOUT_S);
	evhttp_set_max_headers_size(m->http, METRICS_HTTP_MAX_HEADERS);
	evhttp_set_max_body_size(m->http, METRICS_HTTP_MAX_BODY);
	evhttp_set_cb(m->http, METRICS_HTTP_PATH, metrics_http_cb, m);
	evhttp_set_gencb(m->http, metrics_http_notfound_cb, m);
	if (evhttp_accept_socket_with_handle(m->http, m->fd) == NULL) {
		snprintf(err, errlen, "metrics_listen %s: evhttp_accept_socket failed", m->name);
		return -1;
	}
	m->fd = -1;	/* evhttp closes it now */
	log_info("-", "metrics", "listen addr=%s path=%s", m->name, METRICS_HTTP_PATH);
	return 0;
}

void
metrics_http_free(struct metrics_http *m)
{
	if (m == NULL)
		return;
	if (m->http)
		evhttp_free(m->http);
	if (m->fd >= 0)
		close(m->fd);
	free(m);
}
