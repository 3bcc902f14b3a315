/*
 * session.h - one SMTP session (RFC 5321, with PIPELINING 2920, SIZE 1870,
 * 8BITMIME 6152, SMTPUTF8 6531, ENHANCEDSTATUSCODES 2034/3463, STARTTLS
 * 3207) as an explicit state machine driven by a command table.
 *
 * I/O is apart from protocol: one bufferevent callback turns socket events
 * into SMTP_IO_* events for smtp_io(), the only switch on them; the protocol
 * code reads complete lines (a hard limit applies before a line is complete)
 * and writes replies into the output buffer, never the socket.  Reading
 * stops while replies back up (a client that does not read), and a session
 * that says 221/421 is freed only once that reply is flushed.
 *
 * A transaction (struct smtp_tx) is created at MAIL and freed at RSET, at
 * HELO/EHLO, or when the message was spooled or refused.  At the end of
 * DATA the message goes to the spool writer thread; the session waits in
 * SMTP_ST_COMMIT and is found again by its 64-bit key when the writer is
 * done (server_session_find), never through a pointer the job keeps.
 *
 * Entry points: smtp_session_new() (accept), smtp_session_commit_done(),
 * smtp_session_shutdown() (SIGTERM), smtp_session_free().
 * Ownership: a session owns its bufferevent, socket, timer and transaction.
 * Errors: protocol errors are replies; resource failures end the session.
 */
#ifndef MT_SESSION_H
#define MT_SESSION_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <event2/bufferevent.h>

#include "../common/util.h"
#include "smtp_data.h"

struct server;
struct spooler_job;

enum smtp_state {
	SMTP_ST_CONNECTED,	/* greet pause: the banner is not out yet */
	SMTP_ST_GREETED,	/* banner sent: HELO/EHLO expected */
	SMTP_ST_HELO,		/* HELO/EHLO done, no transaction */
	SMTP_ST_MAIL,		/* MAIL accepted, no recipient yet */
	SMTP_ST_RCPT,		/* one or more recipients accepted */
	SMTP_ST_DATA,		/* reading the message */
	SMTP_ST_COMMIT,		/* message with the spool writer; input waits */
	SMTP_ST_STARTTLS,	/* 220 sent: TLS starts once it is flushed */
	SMTP_ST_CLOSING,	/* the last reply (221/421) is being flushed */
	SMTP_ST_COUNT
};

enum smtp_io_event {
	SMTP_IO_DATAIN,		/* input arrived */
	SMTP_IO_LOWAT,		/* output flushed */
	SMTP_IO_TIMEOUT,	/* idle: nothing read or written in time */
	SMTP_IO_EOF,		/* the client closed its side */
	SMTP_IO_ERROR,		/* socket or TLS error */
	SMTP_IO_TLS_READY	/* TLS handshake done */
};

struct smtp_tx {
	char		 id[ID_LEN + 1];	/* message id, chosen at DATA */
	char		*mail_from;	/* owned; "" = null sender */
	char		**rcpt;		/* owned, nrcpt entries */
	size_t		 nrcpt;
	char		*tag;		/* owned; tag of the first tagged check address */
	long long	 size_declared;	/* SIZE=, -1 absent */
	int		 smtputf8;	/* MAIL ... SMTPUTF8 */
	struct sbuf	 data;		/* Received: + content, owned until the commit */
	size_t		 hdr_len;	/* length of our Received: field in data */
	struct smtp_data dm;		/* the DATA parser */
	size_t		 mem;		/* octets counted in server->data_mem */
	uint64_t	 data_start_ms;	/* monotonic */
	uint64_t	 received_ms;	/* realtime, at DATA */
	char		 received[32];	/* RFC 3339 UTC */
};

struct smtp_session {
	uint64_t	 key;		/* table key: unique for the process lifetime */
	char		 id[ID_LEN + 1];	/* session id in logs */
	struct server	*srv;		/* not owned */
	struct smtp_session *hnext;	/* server table chain */
	int		 fd;		/* owned until TLS: then the TLS bufferevent owns it */
	int		 linger;	/* we ended it: close via server_linger() */
	struct bufferevent *bev;	/* owned */
	struct event	*timer;		/* owned; greet pause, then the DATA watchdog */
	enum smtp_state	 state;
	char		 ip[INET6_ADDRSTRLEN];	/* the client (from the PROXY header if any) */
	int		 port;
	char		*proxy_peer;	/* owned; the proxy's address, NULL without PROXY */
	char		*helo;		/* owned; set by smtp_proceed_helo() */
	int		 esmtp;		/* EHLO (not HELO) */
	int		 tls;		/* the TLS bufferevent is in place */
	const char	*tls_protocol;	/* static strings of OpenSSL, NULL = none */
	const char	*tls_cipher;
	unsigned	 ncommands;
	unsigned	 nbad;
	unsigned	 ntx;		/* MAIL commands accepted */
	unsigned	 nqueued;
	int		 paused;	/* input not processed: replies back up */
	int		 skip_line;	/* discarding the rest of an over-long line */
	int		 eof;		/* the client closed its side */
	const char	*verb;		/* command being handled, for logs */
	const char	*close_reason;	/* static */
	uint64_t	 connect_ms;
	struct smtp_tx	*tx;		/* owned; NULL outside a transaction */
};

struct smtp_session *smtp_session_new(struct server *, int fd,
	    const struct sockaddr *, socklen_t, const char *ip, int port);
void	 smtp_session_commit_done(struct smtp_session *, struct spooler_job *);
void	 smtp_session_shutdown(struct smtp_session *, int hard);
void	 smtp_session_free(struct smtp_session *, const char *reason);

#endif
