/*
 * proxy_conn.h - connections accepted on a proxy_listen listener, before
 * they become SMTP sessions (HAProxy's PROXY protocol, v1 and v2; the
 * parser is proxy.h).
 *
 *   - The peer must be in proxy_trusted (addresses or CIDRs): anyone else
 *     could claim any client address, so an untrusted peer is closed at
 *     once, without a reply (logged `refused client=IP reason=proxy-untrusted`).
 *     No 421: on this listener a 421 would reach whoever the peer is as if
 *     a proxy had vouched for it, and a real proxy expects silence until
 *     it has sent its header - Postfix's smtpd_upstream_proxy_protocol
 *     and nginx's proxy_protocol listeners also just close.
 *   - The header is read with MSG_PEEK and then consumed exactly, so the
 *     client's first octets stay in the socket for the session (an early
 *     talker is still seen as one).  It must be complete within
 *     PROXY_CONN_TIMEOUT_S seconds (or smtp_idle_timeout if shorter);
 *     malformed, incomplete or late headers close the connection
 *     (`reason=proxy-malformed|proxy-eof|proxy-timeout`).
 *   - Then server_session_open() gets the client's address from the
 *     header (LOCAL / UNKNOWN: the connection's own), so SPF, iprev, the
 *     per-address limits, Received: and the report see the real client;
 *     the proxy's address is kept as the envelope's proxy_peer.
 * Pending headers count against smtp_max_connections.
 *
 * Entry points (loop thread): proxy_conn_config() (parse proxy_trusted at
 * bind time), proxy_conn_accept_cb() (the listener's callback),
 * proxy_conn_free_all() (SIGTERM, teardown).
 * Ownership: pending connections belong to the server's list.
 */
#ifndef MT_PROXY_CONN_H
#define MT_PROXY_CONN_H

#include <stddef.h>

#include <event2/listener.h>

/* Postfix's smtpd_upstream_proxy_timeout is 5 s; a proxy sends at once */
#define PROXY_CONN_TIMEOUT_S	5

struct server;

int	 proxy_conn_config(struct server *, char *err, size_t errlen);
void	 proxy_conn_accept_cb(struct evconnlistener *, evutil_socket_t,
	    struct sockaddr *, int, void *srv);
void	 proxy_conn_free_all(struct server *);

#endif
