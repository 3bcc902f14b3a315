/*
 * server.h - the event-loop side of mailtestd: listening sockets (IPv4 and
 * IPv6, bound before privileges are dropped), the connection limits (in
 * total and per client address), the table of live sessions by 64-bit key,
 * the accounting of DATA memory, signals (SIGHUP: reopen logs and reload
 * the reloadable keys; SIGTERM/SIGINT: stop accepting, let sessions finish
 * within shutdown_timeout, leave the loop) and the completions of the spool
 * writer.
 *
 * Everything here runs on the event-loop thread, except server_bind() and
 * server_new(), which run in main() before the loop exists.
 *
 * Entry points: server_new(), server_bind(), server_start(), server_run(),
 * server_free(); for sessions: server_session_find(), server_session_gone(),
 * server_commit_done().
 * Ownership: the server owns its sessions (freed at server_free()), its
 * listening sockets and the configuration it was given.
 * Errors: server_bind()/server_start() return -1 with err filled.
 */
#ifndef MT_SERVER_H
#define MT_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "../common/config.h"
#include "../common/spool.h"
#include "proxy.h"

/* listen and proxy_listen, where "*:25" binds two */
#define SERVER_MAX_LISTEN	(4 * CONFIG_MAX_LIST)

/*
 * Lingering close: a session we end (421, 554) while its client may still
 * be sending is shut down for writing, then read and discarded for a while
 * before close(), so that unread input does not make the kernel answer
 * with a reset that destroys our last reply before the client reads it
 * (a pipelining client that sent 10,000 RCPTs never saw its 421).
 */
#define SERVER_LINGER_MAX	64		/* sockets lingering at once */
#define SERVER_LINGER_MS	2000		/* at most this long each */
#define SERVER_LINGER_BYTES	(256 * 1024)	/* and this much read away */

struct server_linger;

struct proxy_conn;
struct smtp_session;
struct spooler;
struct spooler_job;
struct ip_count;

struct server {
	struct event_base	*base;		/* owned */
	struct config		*cf;		/* owned; reloadable keys replaced on SIGHUP */
	char			*config_path;	/* owned; NULL = embedded defaults */
	SSL_CTX			*tls;		/* owned; NULL = no STARTTLS */
	struct spool		*spool;		/* not owned (main) */
	struct spooler		*spooler;	/* not owned (main) */
	/* listeners */
	int			 listen_fd[SERVER_MAX_LISTEN];
	char			*listen_name[SERVER_MAX_LISTEN];	/* owned */
	struct evconnlistener	*listener[SERVER_MAX_LISTEN];	/* owned */
	int			 listen_proxy[SERVER_MAX_LISTEN];	/* a proxy_listen one */
	size_t			 nlisten;
	/* PROXY protocol (proxy_conn.h) */
	struct proxy_cidr	 trusted[CONFIG_MAX_LIST];	/* proxy_trusted */
	size_t			 ntrusted;
	struct proxy_conn	*proxy_conns;	/* owned: waiting for their header */
	size_t			 nproxy;
	/* sessions by key (hash, chained through the session) */
	struct smtp_session	**table;	/* owned array */
	size_t			 table_size;	/* a power of two */
	size_t			 nsessions;
	uint64_t		 next_key;
	struct ip_count		**ips;		/* sessions per client address */
	size_t			 ips_size;
	size_t			 data_mem;	/* octets in DATA buffers + commits in flight */
	struct server_linger	*lingers;	/* owned: closed sockets being drained */
	size_t			 nlinger;
	/* lifecycle */
	int			 log_stderr;	/* -f: logs on stderr (kept on reload) */
	int			 stopping;	/* SIGTERM seen: no new sessions */
	struct event		*ev_signal[3];	/* SIGHUP, SIGTERM, SIGINT */
	struct event		*ev_stop;	/* shutdown_timeout, then the hard stop */
	struct event		*ev_accept;	/* listeners paused after EMFILE & co */
	int			 hard_stop;	/* shutdown_timeout passed */
};

struct server *server_new(struct config *cf, const char *config_path);
int	 server_bind(struct server *, char *err, size_t errlen);
int	 server_start(struct server *, struct event_base *, SSL_CTX *, struct spool *,
	    struct spooler *, char *err, size_t errlen);
int	 server_run(struct server *);
void	 server_free(struct server *);

struct smtp_session *server_session_find(struct server *, uint64_t key);
/*
 * A connection becomes a session (limits per address checked first, with a
 * 421 and close when over).  proxy_peer: the proxy's address when sa came
 * from a PROXY header (proxy_version 1 or 2), else NULL.
 */
struct smtp_session *server_session_open(struct server *, int fd, const struct sockaddr *,
	    socklen_t, const char *proxy_peer, int proxy_version);
/* Send a one-line reply on a bare socket, close it, log (and count) why. */
void	 server_refuse(int fd, const char *ip, const char *reason, const char *reply);
/* Called by smtp_session_free(): unlink from the tables, maybe leave the loop. */
void	 server_session_gone(struct server *, struct smtp_session *);
/* Close fd (a session's socket, its last reply written) the lingering way. */
void	 server_linger(struct server *, int fd);
/* The spool writer finished a job (loop thread). */
void	 server_commit_done(struct spooler_job *, void *srv);

#endif
