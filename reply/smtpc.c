/* smtpc.c - see smtpc.h */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "../common/util.h"
#include "smtpc.h"
#include "textfmt.h"

#define CAP_STARTTLS	0x1
#define CAP_AUTH_PLAIN	0x2
#define CAP_AUTH_LOGIN	0x4

struct conn {
	int		 fd;
	SSL		*ssl;
	int		 timeout;
	char		 buf[4096];
	size_t		 len, off;
	int		 caps;
	char		 tls_why[128];	/* why the handshake failed, "" = not said */
};

struct reply {
	int	 code;
	char	 text[SMTPC_TEXT_MAX];	/* first line's text, sanitised */
};

static void
result_set(struct smtpc_result *r, enum smtpc_status st, int host_level,
    const char *stage, int code, const char *fmt, ...) MT_PRINTF(6, 7);

static void
result_set(struct smtpc_result *r, enum smtpc_status st, int host_level,
    const char *stage, int code, const char *fmt, ...)
{
	char raw[SMTPC_TEXT_MAX], *clean;
	va_list ap;

	r->status = st;
	r->host_level = host_level;
	r->stage = stage;
	r->code = code;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	clean = textfmt_clean(raw, sizeof(r->text) - 1, 1);
	str_copy(r->text, clean, sizeof(r->text));
	free(clean);
}

int
smtpc_parse_hostport(const char *s, char *host, size_t n, int *port, int dflt)
{
	const char *colon;
	long p = dflt;
	size_t hl;

	if (s == NULL || *s == '\0')
		return -1;
	if (*s == '[') {
		const char *e = strchr(s, ']');

		if (e == NULL)
			return -1;
		hl = (size_t)(e - s - 1);
		if (hl == 0 || hl >= n)
			return -1;
		memcpy(host, s + 1, hl);
		host[hl] = '\0';
		if (e[1] == ':' && str_to_long(e + 2, 1, 65535, &p) < 0)
			return -1;
		if (e[1] != '\0' && e[1] != ':')
			return -1;
	} else if ((colon = strchr(s, ':')) != NULL && strchr(colon + 1, ':') == NULL) {
		hl = (size_t)(colon - s);
		if (hl == 0 || hl >= n || str_to_long(colon + 1, 1, 65535, &p) < 0)
			return -1;
		memcpy(host, s, hl);
		host[hl] = '\0';
	} else {
		if (strlen(s) >= n)
			return -1;
		str_copy(host, s, n);	/* a name, an IPv4 or a bare IPv6 address */
	}
	*port = (int)p;
	return 0;
}

static int
conn_open(struct conn *c, const struct sockaddr *sa, socklen_t salen, int timeout)
{
	struct pollfd pfd;
	struct timeval tv = { .tv_sec = timeout };
	int err = 0, fl;
	socklen_t el = sizeof(err);

	memset(c, 0, sizeof(*c));
	c->timeout = timeout;
	if ((c->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	fl = fcntl(c->fd, F_GETFL);
	fcntl(c->fd, F_SETFL, fl | O_NONBLOCK);
	if (connect(c->fd, sa, salen) < 0) {
		if (errno != EINPROGRESS)
			goto out_close;
		pfd.fd = c->fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, timeout * 1000) != 1) {
			errno = ETIMEDOUT;
			goto out_close;
		}
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err) {
			errno = err ? err : errno;
			goto out_close;
		}
	}
	fcntl(c->fd, F_SETFL, fl & ~O_NONBLOCK);
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return 0;
out_close:
	err = errno;
	close(c->fd);
	c->fd = -1;
	errno = err;
	return -1;
}

static void
conn_close(struct conn *c)
{
	if (c->ssl) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static int
conn_write(struct conn *c, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k;

		if (c->ssl) {
			int w = SSL_write(c->ssl, p, n > 65536 ? 65536 : (int)n);

			if (w <= 0)
				return -1;
			k = w;
		} else {
			k = send(c->fd, p, n, MSG_NOSIGNAL);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				return -1;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int
conn_fill(struct conn *c)
{
	ssize_t k;

	c->len = c->off = 0;
	for (;;) {
		if (c->ssl) {
			int r = SSL_read(c->ssl, c->buf, sizeof(c->buf));

			k = r;
		} else
			k = recv(c->fd, c->buf, sizeof(c->buf), 0);
		if (k < 0 && errno == EINTR && c->ssl == NULL)
			continue;
		if (k <= 0)
			return -1;
		c->len = (size_t)k;
		return 0;
	}
}

/* One line without CRLF; -1 on error, timeout, or a line over the limit. */
static int
conn_line(struct conn *c, char *line, size_t n)
{
	size_t i = 0;

	for (;;) {
		char ch;

		if (c->off == c->len && conn_fill(c) < 0)
			return -1;
		ch = c->buf[c->off++];
		if (ch == '\n') {
			if (i > 0 && line[i - 1] == '\r')
				i--;
			line[i] = '\0';
			return (int)i;
		}
		if (i + 1 >= n)
			return -1;
		line[i++] = ch;
	}
}

/* A (multi-line) reply; EHLO capabilities are noted in c->caps. */
static int
read_reply(struct conn *c, struct reply *rp, int ehlo)
{
	char line[SMTPC_REPLY_LINE_MAX + 1];

	rp->code = 0;
	rp->text[0] = '\0';
	for (int i = 0; i < SMTPC_REPLY_LINES_MAX; i++) {
		int n = conn_line(c, line, sizeof(line));
		int code;

		if (n < 4 || line[0] < '2' || line[0] > '5' || line[1] < '0' ||
		    line[1] > '9' || line[2] < '0' || line[2] > '9' ||
		    (line[3] != ' ' && line[3] != '-' && line[3] != '\0'))
			return -1;
		code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
		if (i == 0) {
			rp->code = code;
			str_copy(rp->text, line, sizeof(rp->text));
		} else if (code != rp->code)
			return -1;
		if (ehlo && i > 0) {
			const char *kw = line + 4;

			if (str_caseeq(kw, "STARTTLS"))
				c->caps |= CAP_STARTTLS;
			else if (str_ncaseeq(kw, "AUTH", 4) && (kw[4] == ' ' || kw[4] == '=')) {
				if (strstr(kw, "PLAIN") || strstr(kw, "plain"))
					c->caps |= CAP_AUTH_PLAIN;
				if (strstr(kw, "LOGIN") || strstr(kw, "login"))
					c->caps |= CAP_AUTH_LOGIN;
			}
		}
		if (line[3] != '-')
			return 0;
	}
	return -1;
}

static int
command(struct conn *c, struct reply *rp, int ehlo, const char *fmt, ...)
    MT_PRINTF(4, 5);

static int
command(struct conn *c, struct reply *rp, int ehlo, const char *fmt, ...)
{
	char buf[1100];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf) - 2)
		return -1;
	memcpy(buf + n, "\r\n", 2);
	if (conn_write(c, buf, (size_t)n + 2) < 0)
		return -1;
	return read_reply(c, rp, ehlo);
}

static int
ehlo(struct conn *c, const struct smtpc_opts *o, struct reply *rp)
{
	c->caps = 0;
	if (command(c, rp, 1, "EHLO %s", o->helo) < 0)
		return -1;
	if (rp->code / 100 == 5 && command(c, rp, 0, "HELO %s", o->helo) < 0)
		return -1;	/* RFC 5321 4.1.4: fall back to HELO */
	return 0;
}

static int
starttls(struct conn *c, const struct smtpc_opts *o, struct smtpc_result *r)
{
	struct in6_addr a;
	int is_ip;

	if ((c->ssl = SSL_new(o->ssl)) == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
		return -1;
	is_ip = o->peer_name && (inet_pton(AF_INET, o->peer_name, &a) == 1 ||
	    inet_pton(AF_INET6, o->peer_name, &a) == 1);
	if (o->peer_name && !is_ip)
		SSL_set_tlsext_host_name(c->ssl, o->peer_name);
	if (o->tls == SMTPC_TLS_VERIFY) {
		X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);

		if (o->peer_name == NULL || (is_ip ?
		    X509_VERIFY_PARAM_set1_ip_asc(vp, o->peer_name) :
		    SSL_set1_host(c->ssl, o->peer_name)) != 1) {
			SSL_free(c->ssl);
			c->ssl = NULL;
			return -1;
		}
		SSL_set_verify(c->ssl, SSL_VERIFY_PEER, NULL);
	}
	if (SSL_connect(c->ssl) != 1) {
		long v = SSL_get_verify_result(c->ssl);

		if (o->tls == SMTPC_TLS_VERIFY && v != X509_V_OK)
			snprintf(c->tls_why, sizeof(c->tls_why), "certificate "
			    "not accepted: %s", X509_verify_cert_error_string(v));
		ERR_clear_error();
		SSL_free(c->ssl);
		c->ssl = NULL;
		return -1;
	}
	snprintf(r->tls, sizeof(r->tls), "%s %s", SSL_get_version(c->ssl),
	    SSL_get_cipher_name(c->ssl));
	c->len = c->off = 0;	/* RFC 3207 4.2: forget what came before */
	return 0;
}

static int
auth(struct conn *c, const struct smtpc_opts *o, struct reply *rp)
{
	size_t ul = strlen(o->user), pl = strlen(o->password);
	unsigned char *raw = xmalloc(ul + pl + 2);
	char *b64 = xmalloc(4 * ((ul + pl + 2 + 2) / 3) + 1);
	int rc = -1;

	if (c->caps & CAP_AUTH_PLAIN) {
		/* RFC 4616: authzid NUL authcid NUL passwd */
		raw[0] = '\0';
		memcpy(raw + 1, o->user, ul);
		raw[ul + 1] = '\0';
		memcpy(raw + ul + 2, o->password, pl);
		EVP_EncodeBlock((unsigned char *)b64, raw, (int)(ul + pl + 2));
		rc = command(c, rp, 0, "AUTH PLAIN %s", b64);
	} else if (c->caps & CAP_AUTH_LOGIN) {
		if (command(c, rp, 0, "AUTH LOGIN") == 0 && rp->code == 334) {
			EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)o->user,
			    (int)ul);
			if (command(c, rp, 0, "%s", b64) == 0 && rp->code == 334) {
				EVP_EncodeBlock((unsigned char *)b64,
				    (const unsigned char *)o->password, (int)pl);
				rc = command(c, rp, 0, "%s", b64);
			} else
				rc = 0;
		} else
			rc = 0;
	} else {
		rp->code = 0;
		str_copy(rp->text, "the server offers neither AUTH PLAIN nor LOGIN",
		    sizeof(rp->text));
		rc = 0;
	}
	OPENSSL_cleanse(raw, ul + pl + 2);
	OPENSSL_cleanse(b64, strlen(b64));
	free(raw);
	free(b64);
	return rc;
}

/* The message, dot-stuffed (RFC 5321 4.5.2), then the final ".". */
static int
send_data(struct conn *c, const char *msg, size_t len)
{
	struct sbuf b;
	int bol = 1, rc;

	sbuf_init(&b, 0);
	for (size_t i = 0; i < len; i++) {
		if (bol && msg[i] == '.')
			sbuf_addc(&b, '.');
		if (msg[i] == '\n' && (i == 0 || msg[i - 1] != '\r'))
			sbuf_addc(&b, '\r');
		sbuf_addc(&b, msg[i]);
		bol = msg[i] == '\n';
	}
	if (!bol)
		sbuf_adds(&b, "\r\n");
	sbuf_adds(&b, ".\r\n");
	rc = b.overflow ? -1 : conn_write(c, b.s, b.len);
	sbuf_free(&b);
	return rc;
}

static enum smtpc_status
status_of(int code)
{
	return code / 100 == 5 ? SMTPC_PERM : SMTPC_TEMP;
}

/* Greeting, EHLO, STARTTLS, AUTH; 0 when ready for MAIL. */
static int
session_open(struct conn *c, const struct smtpc_opts *o, int use_tls,
    struct smtpc_result *r, int *tls_failed)
{
	struct reply rp;

	if (read_reply(c, &rp, 0) < 0) {
		result_set(r, SMTPC_TEMP, 1, "greeting", 0, "no greeting: %s",
		    errno ? strerror(errno) : "protocol error");
		return -1;
	}
	if (rp.code != 220) {
		result_set(r, status_of(rp.code), 1, "greeting", rp.code, "%s", rp.text);
		return -1;
	}
	if (ehlo(c, o, &rp) < 0 || rp.code != 250) {
		result_set(r, rp.code ? status_of(rp.code) : SMTPC_TEMP, 1, "ehlo", rp.code,
		    "%s", rp.code ? rp.text : "connection lost at EHLO");
		return -1;
	}
	if (use_tls && (c->caps & CAP_STARTTLS) && o->ssl) {
		if (command(c, &rp, 0, "STARTTLS") < 0 || rp.code != 220 ||
		    starttls(c, o, r) < 0) {
			*tls_failed = 1;
			result_set(r, SMTPC_TEMP, 1, "starttls", rp.code, "STARTTLS failed%s%s",
			    rp.code != 220 ? (rp.code ? ": " : "") : c->tls_why[0] ? ": " : "",
			    rp.code != 220 ? rp.text : c->tls_why);
			return -1;
		}
		if (ehlo(c, o, &rp) < 0 || rp.code != 250) {
			/* TLS 1.3: a server that rejects the handshake (a client
			 * certificate it wanted) says so only after SSL_connect() */
			if (rp.code == 0)
				*tls_failed = 1;
			result_set(r, SMTPC_TEMP, 1, "ehlo", rp.code, "EHLO after STARTTLS: %s",
			    rp.code ? rp.text : "connection lost (TLS rejected?)");
			return -1;
		}
	}
	if ((o->tls == SMTPC_TLS_REQUIRE || o->tls == SMTPC_TLS_VERIFY) && c->ssl == NULL) {
		result_set(r, SMTPC_TEMP, 1, "starttls", 0, "TLS is required (relay_tls "
		    "%s) and the server does not offer STARTTLS",
		    o->tls == SMTPC_TLS_VERIFY ? "verify" : "require");
		return -1;
	}
	if (o->user && *o->user) {
		if (c->ssl == NULL) {
			result_set(r, SMTPC_TEMP, 1, "auth", 0, "not sending the relay "
			    "password without TLS (the server offers no STARTTLS)");
			return -1;
		}
		if (auth(c, o, &rp) < 0 || rp.code != 235) {
			result_set(r, SMTPC_TEMP, 1, "auth", rp.code, "AUTH failed: %s",
			    rp.text[0] ? rp.text : "connection lost");
			return -1;
		}
	}
	return 0;
}

static void
transaction(struct conn *c, const struct smtpc_opts *o, const char *rcpt,
    const char *msg, size_t len, struct smtpc_result *r)
{
	struct reply rp;

	if (command(c, &rp, 0, "MAIL FROM:<>") < 0) {
		result_set(r, SMTPC_TEMP, 1, "mail", 0, "connection lost at MAIL");
		return;
	}
	if (rp.code != 250) {
		result_set(r, status_of(rp.code), 0, "mail", rp.code, "%s", rp.text);
		return;
	}
	if (command(c, &rp, 0, "RCPT TO:<%s>", rcpt) < 0) {
		result_set(r, SMTPC_TEMP, 1, "rcpt", 0, "connection lost at RCPT");
		return;
	}
	if (rp.code != 250 && rp.code != 251) {
		result_set(r, status_of(rp.code), 0, "rcpt", rp.code, "%s", rp.text);
		return;
	}
	if (command(c, &rp, 0, "DATA") < 0) {
		result_set(r, SMTPC_TEMP, 1, "data", 0, "connection lost at DATA");
		return;
	}
	if (rp.code != 354) {
		result_set(r, status_of(rp.code), 0, "data", rp.code, "%s", rp.text);
		return;
	}
	if (send_data(c, msg, len) < 0 || read_reply(c, &rp, 0) < 0) {
		/* the peer may have taken it: retrying may duplicate (RFC 5321 4.5.4.1) */
		result_set(r, SMTPC_TEMP, 0, "dot", 0, "no reply to the end of data");
		return;
	}
	if (rp.code != 250) {
		result_set(r, status_of(rp.code), 0, "dot", rp.code, "%s", rp.text);
		return;
	}
	result_set(r, SMTPC_SENT, 0, "dot", rp.code, "%s", rp.text);
	if (o->accepted)
		o->accepted(o->accepted_arg);
	(void)command(c, &rp, 0, "QUIT");
}

void
smtpc_send(const struct smtpc_opts *o, const struct sockaddr *sa, socklen_t salen,
    const char *rcpt, const char *msg, size_t len, struct smtpc_result *r)
{
	struct conn c;
	int use_tls = o->tls != SMTPC_TLS_NONE, tls_failed = 0;

	memset(r, 0, sizeof(*r));
	for (int round = 0; round < 2; round++) {
		errno = 0;
		if (conn_open(&c, sa, salen, o->timeout) < 0) {
			result_set(r, SMTPC_TEMP, 1, "connect", 0, "connect: %s",
			    strerror(errno));
			return;
		}
		if (session_open(&c, o, use_tls, r, &tls_failed) == 0) {
			transaction(&c, o, rcpt, msg, len, r);
			conn_close(&c);
			return;
		}
		conn_close(&c);
		/* opportunistic TLS: a failed handshake is retried in plain text */
		if (!(tls_failed && o->tls == SMTPC_TLS_MAY && !(o->user && *o->user)))
			return;
		use_tls = 0;
		r->tls[0] = '\0';
	}
}
