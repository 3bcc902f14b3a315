/* proxy_conn.c - reading the PROXY header of a new connection: see proxy_conn.h */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "../common/log.h"
#include "../common/metrics.h"
#include "../common/util.h"
#include "proxy.h"
#include "proxy_conn.h"
#include "server.h"

struct proxy_conn {
	struct server		*srv;		/* not owned */
	int			 fd;		/* owned until handed to the session */
	struct sockaddr_storage	 peer;
	socklen_t		 peerlen;
	char			 peer_ip[INET6_ADDRSTRLEN];
	struct event		*ev_read;	/* owned */
	struct event		*ev_deadline;	/* owned */
	struct proxy_parser	 parser;
	struct proxy_conn	*next, **pprev;	/* the server's list */
};

int
proxy_conn_config(struct server *srv, char *err, size_t errlen)
{
	const struct config_list *l = &srv->cf->proxy_trusted;

	srv->ntrusted = 0;
	for (size_t i = 0; i < l->n; i++) {
		if (proxy_cidr_parse(l->v[i], &srv->trusted[srv->ntrusted]) < 0) {
			snprintf(err, errlen, "proxy_trusted: \"%s\" is not an address or "
			    "CIDR (ADDR/BITS, host bits zero)", l->v[i]);
			return -1;
		}
		srv->ntrusted++;
	}
	if (srv->cf->proxy_listen.n > 0 && srv->ntrusted == 0) {
		snprintf(err, errlen, "proxy_listen needs proxy_trusted: the addresses of "
		    "the proxies allowed to send PROXY headers");
		return -1;
	}
	return 0;
}

static int
proxy_conn_trusted(const struct server *srv, const struct sockaddr *sa)
{
	for (size_t i = 0; i < srv->ntrusted; i++)
		if (proxy_cidr_match(&srv->trusted[i], sa))
			return 1;
	return 0;
}

static void
proxy_addr_text(const struct sockaddr *sa, char *ip, size_t n)
{
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], ip, (socklen_t)n);
		else
			inet_ntop(AF_INET6, &s6->sin6_addr, ip, (socklen_t)n);
	} else
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, ip,
		    (socklen_t)n);
}

/* Out of the list; the caller closes or hands over the descriptor. */
static void
proxy_conn_unlink(struct proxy_conn *pc)
{
	*pc->pprev = pc->next;
	if (pc->next)
		pc->next->pprev = pc->pprev;
	pc->srv->nproxy--;
	if (pc->ev_read)
		event_free(pc->ev_read);
	if (pc->ev_deadline)
		event_free(pc->ev_deadline);
	free(pc);
}

static void
proxy_conn_drop(struct proxy_conn *pc, const char *reason, const char *metric,
    const char *detail)
{
	log_info("-", "smtpd", "refused client=%s reason=%s%s%s%s", pc->peer_ip, reason,
	    detail ? " error=\"" : "", detail ? detail : "", detail ? "\"" : "");
	metrics_add_label(METRIC_REFUSED, metric, NULL, 1);
	close(pc->fd);
	proxy_conn_unlink(pc);
}

/* The header is in: the session starts with the client's address. */
static void
proxy_conn_done(struct proxy_conn *pc)
{
	struct server *srv = pc->srv;
	struct proxy_parser *p = &pc->parser;
	struct sockaddr_storage client;
	socklen_t clen;
	int fd = pc->fd, version = p->version, local = p->local;
	char peer[INET6_ADDRSTRLEN];

	if (local) {		/* LOCAL / UNKNOWN: the connection's own endpoints */
		client = pc->peer;
		clen = pc->peerlen;
	} else {
		client = p->src;
		clen = p->srclen;
	}
	str_copy(peer, pc->peer_ip, sizeof(peer));
	proxy_conn_unlink(pc);
	metrics_add_label(METRIC_PROXY_HEADERS, version == 1 ? "1" : "2", NULL, 1);
	server_session_open(srv, fd, (struct sockaddr *)&client, clen,
	    local ? NULL : peer, version);
}

static void
proxy_conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_conn *pc = arg;
	unsigned char buf[PROXY_MAX_HEADER];
	size_t want = proxy_want(&pc->parser), used = 0;
	enum proxy_status st;
	ssize_t n;

	if (want > sizeof(buf))
		want = sizeof(buf);
	/* look first: what follows the header is the client's, not ours */
	n = recv(fd, buf, want, MSG_PEEK);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		proxy_conn_drop(pc, "proxy-error", "proxy_malformed", strerror(errno));
		return;
	}
	if (n == 0) {
		proxy_conn_drop(pc, "proxy-eof", "proxy_malformed", NULL);
		return;
	}
	st = proxy_feed(&pc->parser, buf, (size_t)n, &used);
	if (st == PROXY_ERROR) {
		proxy_conn_drop(pc, "proxy-malformed", "proxy_malformed", pc->parser.error);
		return;
	}
	/* consume exactly the header octets just parsed (they were peeked) */
	if (used > 0 && recv(fd, buf, used, 0) != (ssize_t)used) {
		proxy_conn_drop(pc, "proxy-error", "proxy_malformed", "short read");
		return;
	}
	if (st == PROXY_DONE)
		proxy_conn_done(pc);
}

static void
proxy_conn_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	proxy_conn_drop(arg, "proxy-timeout", "proxy_timeout", NULL);
}

static void
proxy_conn_start(struct server *srv, int fd, const struct sockaddr *sa, socklen_t salen,
    const char *ip)
{
	struct proxy_conn *pc = xcalloc(1, sizeof(*pc));
	long secs = srv->cf->smtp_idle_timeout < PROXY_CONN_TIMEOUT_S ?
	    srv->cf->smtp_idle_timeout : PROXY_CONN_TIMEOUT_S;
	struct timeval tv = { secs, 0 };

	pc->srv = srv;
	pc->fd = fd;
	memcpy(&pc->peer, sa, salen);
	pc->peerlen = salen;
	str_copy(pc->peer_ip, ip, sizeof(pc->peer_ip));
	proxy_init(&pc->parser);
	pc->next = srv->proxy_conns;
	if (pc->next)
		pc->next->pprev = &pc->next;
	pc->pprev = &srv->proxy_conns;
	srv->proxy_conns = pc;
	srv->nproxy++;
	pc->ev_read = event_new(srv->base, fd, EV_READ | EV_PERSIST, proxy_conn_read_cb, pc);
	pc->ev_deadline = evtimer_new(srv->base, proxy_conn_deadline_cb, pc);
	if (pc->ev_read == NULL || pc->ev_deadline == NULL ||
	    event_add(pc->ev_read, NULL) < 0 || evtimer_add(pc->ev_deadline, &tv) < 0) {
		proxy_conn_drop(pc, "resources", "resources", NULL);
		return;
	}
	log_debug("-", "smtpd", "proxy-connect peer=%s", ip);
}

void
proxy_conn_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct server *srv = arg;
	char ip[INET6_ADDRSTRLEN];

	proxy_addr_text(sa, ip, sizeof(ip));
	if (srv->stopping) {
		close(fd);
		return;
	}
	if (!proxy_conn_trusted(srv, sa)) {
		close(fd);
		log_info("-", "smtpd", "refused client=%s reason=proxy-untrusted", ip);
		metrics_add_label(METRIC_REFUSED, "proxy_untrusted", NULL, 1);
		return;
	}
	if (srv->nsessions + srv->nproxy >= (size_t)srv->cf->smtp_max_connections) {
		char reply[300];

		snprintf(reply, sizeof(reply), "421 4.7.0 %s Too many connections, try "
		    "again later\r\n", srv->cf->hostname);
		server_refuse(fd, ip, "max-connections", reply);
		return;
	}
	proxy_conn_start(srv, fd, sa, (socklen_t)salen, ip);
}

void
proxy_conn_free_all(struct server *srv)
{
	while (srv->proxy_conns) {
		struct proxy_conn *pc = srv->proxy_conns;

		close(pc->fd);
		proxy_conn_unlink(pc);
	}
}
