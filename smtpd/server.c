/* server.c - listeners, limits, the session table, signals: see server.h */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <systemd/sd-daemon.h>

#include "../common/log.h"
#include "../common/metrics.h"
#include "../common/util.h"
#include "proxy_conn.h"
#include "refusal.h"
#include "server.h"
#include "session.h"
#include "spooler.h"

#define SERVER_BACKLOG		511
#define SERVER_TABLE_MIN	1024
#define SERVER_TABLE_MAX	(1 << 20)
#define SERVER_IP_BUCKETS	4096
/* after shutdown_timeout, sessions get this long to flush their 421 */
#define SERVER_HARD_STOP_MS	2000
/* out of descriptors or memory: stop accepting for this long */
#define SERVER_ACCEPT_PAUSE_MS	1000

struct ip_count {
	char		 ip[INET6_ADDRSTRLEN];
	unsigned	 n;
	struct ip_count	*next;
};

struct server *
server_new(struct config *cf, const char *config_path)
{
	struct server *srv = xcalloc(1, sizeof(*srv));
	size_t want = (size_t)cf->smtp_max_connections;

	srv->cf = cf;
	srv->config_path = config_path ? xstrdup(config_path) : NULL;
	srv->table_size = SERVER_TABLE_MIN;
	while (srv->table_size < want && srv->table_size < SERVER_TABLE_MAX)
		srv->table_size <<= 1;
	srv->table = xcalloc(srv->table_size, sizeof(*srv->table));
	srv->ips_size = SERVER_IP_BUCKETS;
	srv->ips = xcalloc(srv->ips_size, sizeof(*srv->ips));
	for (size_t i = 0; i < SERVER_MAX_LISTEN; i++)
		srv->listen_fd[i] = -1;
	return srv;
}

/* ---- listen addresses ----------------------------------------------------- */

/*
 * "ADDR:PORT", "[ADDR6]:PORT" or "*:PORT" (every IPv4 and IPv6 address).
 * Port 0 takes a free port (logged).  Returns the number of addresses (1 or
 * 2) or -1.
 */
static int
server_listen_parse(const char *spec, struct sockaddr_storage ss[2], socklen_t len[2])
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon, *port;
	size_t hl;
	long p;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss[0];
	struct sockaddr_in6 *sin6;

	memset(ss, 0, 2 * sizeof(*ss));
	if (spec[0] == '[') {
		const char *e = strchr(spec, ']');

		if (e == NULL || e[1] != ':')
			return -1;
		hl = (size_t)(e - spec - 1);
		if (hl >= sizeof(host))
			return -1;
		memcpy(host, spec + 1, hl);
		host[hl] = '\0';
		port = e + 2;
	} else {
		if ((colon = strrchr(spec, ':')) == NULL || strchr(spec, ':') != colon)
			return -1;
		hl = (size_t)(colon - spec);
		if (hl >= sizeof(host))
			return -1;
		memcpy(host, spec, hl);
		host[hl] = '\0';
		port = colon + 1;
	}
	if (str_to_long(port, 0, 65535, &p) < 0)
		return -1;
	if (strcmp(host, "*") == 0) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
		len[0] = sizeof(*sin);
		sin6 = (struct sockaddr_in6 *)&ss[1];
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
		sin6->sin6_addr = in6addr_any;
		len[1] = sizeof(*sin6);
		return 2;
	}
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
		len[0] = sizeof(*sin);
		return 1;
	}
	sin6 = (struct sockaddr_in6 *)&ss[0];
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
		len[0] = sizeof(*sin6);
		return 1;
	}
	return -1;
}

static void
sockaddr_text(const struct sockaddr *sa, char *ip, size_t iplen, int *port)
{
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], ip, (socklen_t)iplen);
		else
			inet_ntop(AF_INET6, &s6->sin6_addr, ip, (socklen_t)iplen);
		*port = ntohs(s6->sin6_port);
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, ip, (socklen_t)iplen);
		*port = ntohs(s4->sin_port);
	}
}

static int
server_bind_one(struct server *srv, const struct sockaddr_storage *ss, socklen_t len,
    const char *spec, int proxy, char *err, size_t errlen)
{
	int fd, on = 1, port;
	struct sockaddr_storage bound;
	socklen_t blen = sizeof(bound);
	char ip[INET6_ADDRSTRLEN];

	if (srv->nlisten == SERVER_MAX_LISTEN) {
		snprintf(err, errlen, "listen: too many addresses");
		return -1;
	}
	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "listen %s: socket: %s", spec, strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, (const struct sockaddr *)ss, len) < 0 ||
	    listen(fd, SERVER_BACKLOG) < 0 ||
	    getsockname(fd, (struct sockaddr *)&bound, &blen) < 0) {
		snprintf(err, errlen, "listen %s: %s", spec, strerror(errno));
		close(fd);
		return -1;
	}
	sockaddr_text((struct sockaddr *)&bound, ip, sizeof(ip), &port);
	srv->listen_fd[srv->nlisten] = fd;
	srv->listen_proxy[srv->nlisten] = proxy;
	srv->listen_name[srv->nlisten] = strchr(ip, ':') ? xasprintf("[%s]:%d", ip, port) :
	    xasprintf("%s:%d", ip, port);
	srv->nlisten++;
	return 0;
}

static int
server_bind_list(struct server *srv, const struct config_list *l, const char *key,
    int proxy, char *err, size_t errlen)
{
	for (size_t i = 0; i < l->n; i++) {
		struct sockaddr_storage ss[2];
		socklen_t len[2];
		int n = server_listen_parse(l->v[i], ss, len);

		if (n < 0) {
			snprintf(err, errlen, "%s: \"%s\" is not ADDR:PORT, [ADDR6]:PORT "
			    "or *:PORT", key, l->v[i]);
			return -1;
		}
		for (int j = 0; j < n; j++)
			if (server_bind_one(srv, &ss[j], len[j], l->v[i], proxy, err,
			    errlen) < 0)
				return -1;
	}
	return 0;
}

int
server_bind(struct server *srv, char *err, size_t errlen)
{
	if (srv->cf->listen.n == 0 && srv->cf->proxy_listen.n == 0) {
		snprintf(err, errlen, "listen: no address configured");
		return -1;
	}
	if (proxy_conn_config(srv, err, errlen) < 0 ||
	    server_bind_list(srv, &srv->cf->listen, "listen", 0, err, errlen) < 0 ||
	    server_bind_list(srv, &srv->cf->proxy_listen, "proxy_listen", 1, err, errlen) < 0)
		return -1;
	return 0;
}

/* ---- sessions, per-address counts --------------------------------------- */

static size_t
ip_hash(const char *s)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static struct ip_count **
ip_find(struct server *srv, const char *ip)
{
	struct ip_count **pp = &srv->ips[ip_hash(ip) & (srv->ips_size - 1)];

	while (*pp && strcmp((*pp)->ip, ip) != 0)
		pp = &(*pp)->next;
	return pp;
}

struct smtp_session *
server_session_find(struct server *srv, uint64_t key)
{
	struct smtp_session *s = srv->table[key & (srv->table_size - 1)];

	while (s && s->key != key)
		s = s->hnext;
	return s;
}

void
server_session_gone(struct server *srv, struct smtp_session *s)
{
	struct smtp_session **pp = &srv->table[s->key & (srv->table_size - 1)];
	struct ip_count **ip = ip_find(srv, s->ip);

	while (*pp && *pp != s)
		pp = &(*pp)->hnext;
	if (*pp == NULL)
		fatal("session %s not in the table", s->id);
	*pp = s->hnext;
	srv->nsessions--;
	metrics_dec(METRIC_SESSIONS);
	if (*ip && --(*ip)->n == 0) {
		struct ip_count *dead = *ip;

		*ip = dead->next;
		free(dead);
	}
	if (srv->stopping && srv->nsessions == 0)
		event_base_loopexit(srv->base, NULL);
}

/* ---- lingering close (server.h) ------------------------------------------ */

struct server_linger {
	struct server		*srv;
	struct event		*ev;		/* owned */
	int			 fd;		/* owned */
	size_t			 drained;
	struct server_linger	*next, **prevp;	/* srv->lingers */
};

static void
linger_free(struct server_linger *l)
{
	*l->prevp = l->next;
	if (l->next)
		l->next->prevp = l->prevp;
	l->srv->nlinger--;
	event_free(l->ev);
	close(l->fd);
	free(l);
}

static void
linger_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server_linger *l = arg;
	char buf[4096];
	ssize_t n = 0;

	if (what & EV_READ) {
		while (l->drained < SERVER_LINGER_BYTES &&
		    (n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
			l->drained += (size_t)n;
		/* more may come: wait for it (or the timeout), else done */
		if (l->drained < SERVER_LINGER_BYTES && n < 0 &&
		    (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
	}
	linger_free(l);
}

void
server_linger(struct server *srv, int fd)
{
	struct timeval tv = { SERVER_LINGER_MS / 1000, (SERVER_LINGER_MS % 1000) * 1000 };
	struct server_linger *l;

	/* FIN after the last reply; a flood or a stop gets a plain close */
	if (shutdown(fd, SHUT_WR) < 0 || srv->stopping ||
	    srv->nlinger >= SERVER_LINGER_MAX) {
		close(fd);
		return;
	}
	l = xcalloc(1, sizeof(*l));
	l->srv = srv;
	l->fd = fd;
	l->ev = event_new(srv->base, fd, EV_READ | EV_PERSIST, linger_cb, l);
	if (l->ev == NULL || event_add(l->ev, &tv) < 0) {
		if (l->ev)
			event_free(l->ev);
		close(fd);
		free(l);
		return;
	}
	l->next = srv->lingers;
	if (l->next)
		l->next->prevp = &l->next;
	l->prevp = &srv->lingers;
	srv->lingers = l;
	srv->nlinger++;
}

void
server_refuse(int fd, const char *ip, const char *reason, const char *reply)
{
	const char *why = refusal_reason(reply);

	/* a short reply fits in the socket buffer: no bufferevent needed */
	(void)send(fd, reply, strlen(reply), MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
	log_info("-", "smtpd", "refused client=%s reason=%s", ip, reason);
	if (why)
		metrics_add_label(METRIC_REFUSED, why, NULL, 1);
}

struct smtp_session *
server_session_open(struct server *srv, int fd, const struct sockaddr *sa, socklen_t salen,
    const char *proxy_peer, int proxy_version)
{
	const struct config *cf = srv->cf;
	struct smtp_session *s;
	struct ip_count **ipc;
	char ip[INET6_ADDRSTRLEN], reply[300];
	int port;

	sockaddr_text(sa, ip, sizeof(ip), &port);
	if (srv->nsessions + srv->nproxy >= (size_t)cf->smtp_max_connections) {
		snprintf(reply, sizeof(reply), "421 4.7.0 %s Too many connections, try "
		    "again later\r\n", cf->hostname);
		server_refuse(fd, ip, "max-connections", reply);
		return NULL;
	}
	ipc = ip_find(srv, ip);
	if (*ipc && (*ipc)->n >= (unsigned)cf->smtp_max_connections_per_ip) {
		snprintf(reply, sizeof(reply), "421 4.7.0 %s Too many connections from "
		    "your address, try again later\r\n", cf->hostname);
		server_refuse(fd, ip, "max-connections-per-ip", reply);
		return NULL;
	}
	if ((s = smtp_session_new(srv, fd, sa, salen, ip, port)) == NULL) {
		server_refuse(fd, ip, "resources", "421 4.3.0 Out of resources\r\n");
		return NULL;
	}
	if (proxy_peer) {
		s->proxy_peer = xstrdup(proxy_peer);
		log_info(s->id, "smtpd", "proxy client=%s port=%d proxy=%s version=%d", ip, port,
		    proxy_peer, proxy_version);
	}
	if (*ipc == NULL) {
		*ipc = xcalloc(1, sizeof(**ipc));
		str_copy((*ipc)->ip, ip, sizeof((*ipc)->ip));
	}
	(*ipc)->n++;
	s->hnext = srv->table[s->key & (srv->table_size - 1)];
	srv->table[s->key & (srv->table_size - 1)] = s;
	srv->nsessions++;
	metrics_inc(METRIC_SESSIONS_TOTAL);
	metrics_inc(METRIC_SESSIONS);
	return s;
}

static void
server_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct server *srv = arg;

	if (srv->stopping) {
		close(fd);
		return;
	}
	server_session_open(srv, fd, sa, (socklen_t)salen, NULL, 0);
}

static void
server_accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct server *srv = arg;
	int e = EVUTIL_SOCKET_ERROR();
	struct timeval tv = { 0, SERVER_ACCEPT_PAUSE_MS * 1000 };

	if (e != EMFILE && e != ENFILE && e != ENOBUFS && e != ENOMEM) {
		log_warn("-", "smtpd", "accept error=\"%s\"", strerror(e));
		return;
	}
	/* the listening socket stays readable: without a pause this would spin */
	if (evtimer_pending(srv->ev_accept, NULL))
		return;
	log_err("-", "smtpd", "accept error=\"%s\" sessions=%zu: not accepting for %d ms",
	    strerror(e), srv->nsessions, SERVER_ACCEPT_PAUSE_MS);
	for (size_t i = 0; i < srv->nlisten; i++)
		if (srv->listener[i])
			evconnlistener_disable(srv->listener[i]);
	evtimer_add(srv->ev_accept, &tv);
}

static void
server_accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	if (srv->stopping)
		return;
	for (size_t i = 0; i < srv->nlisten; i++)
		if (srv->listener[i])
			evconnlistener_enable(srv->listener[i]);
	log_info("-", "smtpd", "accepting again sessions=%zu", srv->nsessions);
}

/* ---- completions of the spool writer ------------------------------------- */

void
server_commit_done(struct spooler_job *j, void *arg)
{
	struct server *srv = arg;
	struct smtp_session *s;

	srv->data_mem -= j->mem;
	metrics_set(METRIC_DATA_MEMORY, (int64_t)srv->data_mem);
	if (j->rc == 0) {
		log_info(j->env.id, "smtpd", "queued session=%s from=<%s> nrcpt=%zu size=%zu%s%s",
		    j->session_id, j->env.mail_from, j->env.nrcpt, j->size,
		    j->env.tag ? " tag=" : "", j->env.tag ? j->env.tag : "");
		metrics_inc(METRIC_MESSAGES_ACCEPTED);
	}
	if ((s = server_session_find(srv, j->session)) != NULL)
		smtp_session_commit_done(s, j);
	else
		log_info(j->env.id, "smtpd", "commit-done session=%s gone=1", j->session_id);
	spooler_job_free(j);
}

/* ---- signals: reload, stop ------------------------------------------------ */

static void
server_foreach(struct server *srv, void (*fn)(struct smtp_session *, int), int arg)
{
	for (size_t i = 0; i < srv->table_size; i++) {
		struct smtp_session *s = srv->table[i], *next;

		for (; s; s = next) {
			next = s->hnext;	/* fn may free s */
			fn(s, arg);
		}
	}
}

static void
server_free_session(struct smtp_session *s, int arg)
{
	smtp_session_free(s, "shutdown-forced");
}

static void
server_stop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	struct timeval tv = { SERVER_HARD_STOP_MS / 1000, (SERVER_HARD_STOP_MS % 1000) * 1000 };

	if (!srv->hard_stop) {
		log_info("-", "smtpd", "shutdown-timeout sessions=%zu", srv->nsessions);
		srv->hard_stop = 1;
		server_foreach(srv, smtp_session_shutdown, 1);
		if (srv->nsessions > 0)
			evtimer_add(srv->ev_stop, &tv);
		return;
	}
	server_foreach(srv, server_free_session, 0);
}

static void
server_stop(struct server *srv)
{
	struct timeval tv = { srv->cf->shutdown_timeout, 0 };

	if (srv->stopping)
		return;
	srv->stopping = 1;
	sd_notify(0, "STOPPING=1");
	log_info("-", "smtpd", "stopping sessions=%zu timeout=%lds", srv->nsessions,
	    srv->cf->shutdown_timeout);
	for (size_t i = 0; i < srv->nlisten; i++) {
		evconnlistener_free(srv->listener[i]);
		srv->listener[i] = NULL;
		srv->listen_fd[i] = -1;		/* closed with the listener */
	}
	proxy_conn_free_all(srv);	/* no header yet: nothing to finish */
	server_foreach(srv, smtp_session_shutdown, 0);
	if (srv->nsessions == 0) {
		event_base_loopexit(srv->base, NULL);
		return;
	}
	evtimer_add(srv->ev_stop, &tv);
}

#define SWAP(a, b, T)	do { T t_ = (a); (a) = (b); (b) = t_; } while (0)

/* Keys that take effect at once; the rest needs a restart. */
static void
server_apply(struct config *cur, struct config *nc)
{
	SWAP(cur->check_address, nc->check_address, struct config_list);
	SWAP(cur->tag_separator, nc->tag_separator, char *);
	SWAP(cur->log_level, nc->log_level, char *);
	SWAP(cur->smtp_bare_lf, nc->smtp_bare_lf, char *);
	cur->message_size_limit = nc->message_size_limit;
	cur->smtp_max_line = nc->smtp_max_line;
	cur->smtp_max_text_line = nc->smtp_max_text_line;
	cur->smtp_max_recipients = nc->smtp_max_recipients;
	cur->smtp_max_commands = nc->smtp_max_commands;
	cur->smtp_max_bad_commands = nc->smtp_max_bad_commands;
	cur->smtp_max_transactions = nc->smtp_max_transactions;
	cur->smtp_idle_timeout = nc->smtp_idle_timeout;
	cur->smtp_data_timeout = nc->smtp_data_timeout;
	cur->smtp_min_data_rate = nc->smtp_min_data_rate;
	cur->smtp_data_rate_grace = nc->smtp_data_rate_grace;
	cur->smtp_max_connections_per_ip = nc->smtp_max_connections_per_ip;
	cur->smtp_greet_pause_ms = nc->smtp_greet_pause_ms;
	cur->smtp_data_memory = nc->smtp_data_memory;
	cur->smtp_received_limit = nc->smtp_received_limit;
	cur->shutdown_timeout = nc->shutdown_timeout;
	/* smtp_max_connections sizes the session table: restart */
}

static char *
config_text(const struct config *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		fatal("open_memstream");
	config_dump(c, f);
	fclose(f);
	return buf;
}

static void
server_reload(struct server *srv)
{
	struct config nc;
	char err[512], *a, *b;

	log_reopen();
	sd_notify(0, "RELOADING=1");
	if (srv->config_path == NULL) {
		log_info("-", "smtpd", "reload logs=reopened config=embedded-defaults");
		sd_notify(0, "READY=1");
		return;
	}
	if (config_load(&nc, srv->config_path, err, sizeof(err)) < 0) {
		log_err("-", "smtpd", "reload-failed error=\"%s\" (configuration unchanged)", err);
		config_free(&nc);
		sd_notify(0, "READY=1");
		return;
	}
	server_apply(srv->cf, &nc);
	log_open("mailtestd", srv->log_stderr, log_level_from_name(srv->cf->log_level));
	a = config_text(srv->cf);
	b = config_text(&nc);
	if (strcmp(a, b) != 0)
		log_warn("-", "smtpd", "reload: changes to listen, tls, spool, user, workers, "
		    "dns, verification or reply keys take effect at restart");
	free(a);
	free(b);
	config_free(&nc);
	log_info("-", "smtpd", "reload config=%s", srv->config_path);
	sd_notify(0, "READY=1");
}

static void
server_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;

	if (sig == SIGHUP)
		server_reload(srv);
	else
		server_stop(srv);
}

int
server_start(struct server *srv, struct event_base *base, SSL_CTX *tls,
    struct spool *spool, struct spooler *spooler, char *err, size_t errlen)
{
	static const int sigs[3] = { SIGHUP, SIGTERM, SIGINT };

	srv->base = base;
	srv->tls = tls;
	srv->spool = spool;
	srv->spooler = spooler;
	for (size_t i = 0; i < srv->nlisten; i++) {
		srv->listener[i] = evconnlistener_new(base, srv->listen_proxy[i] ?
		    proxy_conn_accept_cb : server_accept_cb, srv,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, srv->listen_fd[i]);
		if (srv->listener[i] == NULL) {
			snprintf(err, errlen, "listener %s", srv->listen_name[i]);
			return -1;
		}
		evconnlistener_set_error_cb(srv->listener[i], server_accept_error_cb);
		log_info("-", "smtpd", "listen addr=%s%s", srv->listen_name[i],
		    srv->listen_proxy[i] ? " proxy=yes" : "");
	}
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++) {
		srv->ev_signal[i] = evsignal_new(base, sigs[i], server_signal_cb, srv);
		if (srv->ev_signal[i] == NULL || evsignal_add(srv->ev_signal[i], NULL) < 0) {
			snprintf(err, errlen, "signal handler");
			return -1;
		}
	}
	if ((srv->ev_stop = evtimer_new(base, server_stop_cb, srv)) == NULL ||
	    (srv->ev_accept = evtimer_new(base, server_accept_resume_cb, srv)) == NULL) {
		snprintf(err, errlen, "timer");
		return -1;
	}
	return 0;
}

int
server_run(struct server *srv)
{
	return event_base_dispatch(srv->base) < 0 ? -1 : 0;
}

void
server_free(struct server *srv)
{
	if (srv == NULL)
		return;
	if (srv->base)
		server_foreach(srv, server_free_session, 0);
	while (srv->lingers)
		linger_free(srv->lingers);
	proxy_conn_free_all(srv);
	for (size_t i = 0; i < srv->nlisten; i++) {
		if (srv->listener[i])
			evconnlistener_free(srv->listener[i]);
		else if (srv->listen_fd[i] >= 0)
			close(srv->listen_fd[i]);
		free(srv->listen_name[i]);
	}
	for (size_t i = 0; i < ARRAY_SIZE(srv->ev_signal); i++)
		if (srv->ev_signal[i])
			event_free(srv->ev_signal[i]);
	if (srv->ev_stop)
		event_free(srv->ev_stop);
	if (srv->ev_accept)
		event_free(srv->ev_accept);
	for (size_t i = 0; i < srv->ips_size; i++) {
		struct ip_count *c = srv->ips[i], *next;

		for (; c; c = next) {
			next = c->next;
			free(c);
		}
	}
	free(srv->ips);
	free(srv->table);
	free(srv->config_path);
	free(srv);
}
