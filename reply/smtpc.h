/*
 * smtpc.h - the SMTP client that delivers reports: one transaction on one
 * connection (RFC 5321), with STARTTLS (RFC 3207, OpenSSL) and AUTH
 * PLAIN/LOGIN (RFC 4954, RFC 4616) for relays.  Always MAIL FROM:<>
 * (reports are automatic replies: RFC 3834 3.3, RFC 5321 4.5.5).
 *
 * Blocking sockets with a timeout on every step: it runs on the delivery
 * threads only, never on an event loop.  The caller blocks SIGPIPE on those
 * threads (deliver.c does).
 *
 * Entry point: smtpc_send().  Never fails without saying why: the result
 * holds the stage, the last reply code and text (sanitised, one line).
 * TLS levels: NONE never STARTTLS; MAY use it when offered and fall back
 * to plain text on a failed handshake (RFC 7435 opportunistic security,
 * no certificate check); REQUIRE refuse to send without it (certificate
 * not verified either: Postfix's "encrypt" level).  AUTH is attempted only
 * inside TLS.
 */
#ifndef MT_SMTPC_H
#define MT_SMTPC_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <sys/socket.h>

#define SMTPC_REPLY_LINE_MAX	1000	/* RFC 5321 4.5.3.1.5 says 512; be lenient */
#define SMTPC_REPLY_LINES_MAX	100
#define SMTPC_TEXT_MAX		400

/* VERIFY: REQUIRE, and the peer's certificate must chain to a CA of the
 * context (SSL_VERIFY_PEER) and name peer_name (RFC 6125; an IP address
 * against the certificate's IP addresses). */
enum smtpc_tls { SMTPC_TLS_NONE, SMTPC_TLS_MAY, SMTPC_TLS_REQUIRE, SMTPC_TLS_VERIFY };
enum smtpc_status { SMTPC_SENT, SMTPC_TEMP, SMTPC_PERM };

struct smtpc_opts {
	const char	*helo;		/* our host name for EHLO */
	int		 timeout;	/* seconds per step */
	enum smtpc_tls	 tls;
	SSL_CTX		*ssl;		/* client context; NULL = no TLS possible */
	const char	*user;		/* AUTH when set (and only inside TLS) */
	const char	*password;
	const char	*peer_name;	/* host name, for SNI and logs; may be NULL */
	/* called at once when the peer answers 250 to the data, before QUIT:
	 * the caller forgets the message durably there (exactly once) */
	void		(*accepted)(void *);
	void		*accepted_arg;
};

struct smtpc_result {
	enum smtpc_status status;
	int		 host_level;	/* the failure is this host's, not this message's:
					 * the caller may try another host */
	int		 code;		/* last reply code, 0 if none */
	const char	*stage;		/* "connect", "greeting", "ehlo", "starttls",
					 * "auth", "mail", "rcpt", "data", "dot" */
	char		 text[SMTPC_TEXT_MAX];
	char		 tls[96];	/* "TLSv1.3 TLS_AES_256_GCM_SHA384", "" if none */
};

void	 smtpc_send(const struct smtpc_opts *, const struct sockaddr *, socklen_t,
	    const char *rcpt, const char *msg, size_t len, struct smtpc_result *);
/* "HOST[:PORT]", "[v6]:PORT": host (no brackets) and port; -1 if malformed. */
int	 smtpc_parse_hostport(const char *, char *host, size_t n, int *port, int dflt);

#endif
