/* session.c - the SMTP session state machine: see session.h */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "../common/config.h"
#include "../common/log.h"
#include "../common/metrics.h"
#include "../common/util.h"
#include "refusal.h"
#include "server.h"
#include "session.h"
#include "smtp_data.h"
#include "smtp_parse.h"
#include "spooler.h"
#include "tls.h"

/* Stop reading while this many reply octets wait for a client (STYLE 6). */
#define SMTP_OUT_HIWAT		(32 * 1024)
/* Input kept before libevent stops reading: above the largest line limit. */
#define SMTP_IN_HIWAT		(64 * 1024 + 64)
/* The largest smtp_max_line the configuration allows, plus the NUL. */
#define SMTP_LINE_BUF		(64 * 1024 + 1)
/* The DATA watchdog (data timeout, minimum rate) runs once a second. */
#define SMTP_WATCHDOG_MS	1000

static const char *const smtp_state_names[SMTP_ST_COUNT] = {
	"connected", "greeted", "helo", "mail", "rcpt", "data", "commit",
	"starttls", "closing"
};

/* What the check function found, for the proceed function. */
struct smtp_cmd_ctx {
	struct smtp_path	 path;
	struct smtp_mail_params	 params;
	char			 tag[SMTP_MAX_TAG + 1];
};

typedef int smtp_check_fn(struct smtp_session *, const char *, struct smtp_cmd_ctx *);
typedef void smtp_proceed_fn(struct smtp_session *, const char *, struct smtp_cmd_ctx *);

struct smtp_cmd_row {
	enum smtp_cmd	 cmd;
	const char	*name;
	smtp_check_fn	*check;		/* replies and returns -1 to refuse */
	smtp_proceed_fn	*proceed;
};

static void smtp_io(struct smtp_session *, enum smtp_io_event);
static void smtp_input(struct smtp_session *);
static void smtp_close(struct smtp_session *, const char *reason, const char *fmt, ...)
	    MT_PRINTF(3, 4);

static char smtp_linebuf[SMTP_LINE_BUF];	/* loop thread only */

/* ---- state, replies, transactions ------------------------------------ */

static int
smtp_idle_state(enum smtp_state st)
{
	return st == SMTP_ST_GREETED || st == SMTP_ST_HELO;
}

/* The one place the state changes: logged, and a stopping server closes
 * sessions that come back to an idle state. */
static void
smtp_set_state(struct smtp_session *s, enum smtp_state st)
{
	log_debug(s->id, "smtpd", "state from=%s to=%s%s%s", smtp_state_names[s->state],
	    smtp_state_names[st], st == SMTP_ST_CLOSING ? " reason=" : "",
	    st == SMTP_ST_CLOSING ? s->close_reason : "");
	s->state = st;
	if (s->srv->stopping && smtp_idle_state(st))
		smtp_close(s, "shutdown", "421 4.3.2 %s Service shutting down, closing "
		    "transmission channel", s->srv->cf->hostname);
}

static void
smtp_reply(struct smtp_session *s, const char *fmt, ...) MT_PRINTF(2, 3);

static void
smtp_reply(struct smtp_session *s, const char *fmt, ...)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	if (line[0] == '4' || line[0] == '5') {
		const char *why = refusal_reason(line);

		log_info(s->id, "smtpd", "reject cmd=%s reply=\"%s\"",
		    s->verb ? s->verb : "-", line);
		if (why)
			metrics_add_label(METRIC_REFUSED, why, NULL, 1);
	}
	evbuffer_add(out, line, (size_t)n);
	evbuffer_add(out, "\r\n", 2);
}

/* A bad command: the reply, then the limit (STYLE 7: protocol errors reply). */
static void
smtp_bad(struct smtp_session *s, const char *reply)
{
	smtp_reply(s, "%s", reply);
	if (++s->nbad >= (unsigned)s->srv->cf->smtp_max_bad_commands)
		smtp_close(s, "too-many-errors", "421 4.7.0 %s Too many errors, closing "
		    "transmission channel", s->srv->cf->hostname);
}

static void
smtp_tx_free(struct smtp_session *s)
{
	struct smtp_tx *tx = s->tx;

	if (tx == NULL)
		return;
	s->srv->data_mem -= tx->mem;
	metrics_set(METRIC_DATA_MEMORY, (int64_t)s->srv->data_mem);
	free(tx->mail_from);
	for (size_t i = 0; i < tx->nrcpt; i++)
		free(tx->rcpt[i]);
	free(tx->rcpt);
	free(tx->tag);
	sbuf_free(&tx->data);
	free(tx);
	s->tx = NULL;
}

static void
smtp_close(struct smtp_session *s, const char *reason, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (s->state == SMTP_ST_CLOSING)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	smtp_reply(s, "%s", line);
	s->close_reason = reason;
	/* the client may still be sending: let it read this reply */
	s->linger = strcmp(reason, "shutdown") != 0;
	smtp_tx_free(s);
	if (s->timer)
		evtimer_del(s->timer);
	bufferevent_disable(s->bev, EV_READ);
	smtp_set_state(s, SMTP_ST_CLOSING);
}

static void
smtp_set_idle_timeouts(struct smtp_session *s)
{
	struct timeval tv = { s->srv->cf->smtp_idle_timeout, 0 };

	bufferevent_set_timeouts(s->bev, &tv, &tv);
}

/* ---- the command table: checks ---------------------------------------- */

static int
smtp_check_helo(struct smtp_session *s, const char *arg, struct smtp_cmd_ctx *c)
{
	if (!smtp_helo_valid(arg)) {
		smtp_bad(s, "501 5.5.4 Syntax: EHLO hostname");
		return -1;
	}
	return 0;
}

static int
smtp_check_mail(struct smtp_session *s, const char *arg, struct smtp_cmd_ctx *c)
{
	const struct config *cf = s->srv->cf;
	enum smtp_addr_err ae;
	enum smtp_param_err pe;

	if (s->state == SMTP_ST_GREETED) {
		smtp_bad(s, "503 5.5.1 Error: send HELO/EHLO first");
		return -1;
	}
	if (s->tx != NULL) {
		smtp_bad(s, "503 5.5.1 Error: nested MAIL command");
		return -1;
	}
	if (s->ntx >= (unsigned)cf->smtp_max_transactions) {
		smtp_close(s, "too-many-transactions", "421 4.7.0 %s Too many "
		    "transactions in one session, closing transmission channel",
		    cf->hostname);
		return -1;
	}
	if ((ae = smtp_path_parse(arg, SMTP_PATH_REVERSE, &c->path)) != SMTP_ADDR_OK) {
		if (ae == SMTP_ADDR_SOURCE_ROUTE)
			smtp_reply(s, "553 5.1.7 Source routes are not accepted");
		else
			smtp_bad(s, "501 5.1.7 Bad sender address syntax");
		return -1;
	}
	pe = smtp_mail_params_parse(c->path.params, &c->params);
	if (pe == SMTP_PARAM_OK && *c->path.params && !s->esmtp)
		pe = SMTP_PARAM_UNKNOWN;	/* parameters need EHLO */
	switch (pe) {
	case SMTP_PARAM_OK:
		break;
	case SMTP_PARAM_UNKNOWN:
		smtp_bad(s, "555 5.5.4 Unsupported option");
		return -1;
	default:
		smtp_bad(s, "501 5.5.4 Syntax error in parameters");
		return -1;
	}
	if (c->path.utf8 && !c->params.smtputf8) {
		/* RFC 6531 3.4: a UTF-8 address needs the SMTPUTF8 parameter */
		smtp_reply(s, "553 5.6.7 Non-ASCII address without SMTPUTF8");
		return -1;
	}
	if (c->params.size == -2 || c->params.size > cf->message_size_limit) {
		smtp_reply(s, "552 5.3.4 Message size exceeds fixed limit");
		return -1;
	}
	return 0;
}

static int
smtp_check_rcpt(struct smtp_session *s, const char *arg, struct smtp_cmd_ctx *c)
{
	const struct config *cf = s->srv->cf;
	enum smtp_addr_err ae;

	if (s->tx == NULL) {
		smtp_bad(s, "503 5.5.1 Error: need MAIL command");
		return -1;
	}
	ae = smtp_path_parse(arg, SMTP_PATH_FORWARD, &c->path);
	switch (ae) {
	case SMTP_ADDR_OK:
		break;
	case SMTP_ADDR_SOURCE_ROUTE:
	case SMTP_ADDR_PERCENT:
	case SMTP_ADDR_BANG:
	case SMTP_ADDR_QUOTED_AT:
		log_info(s->id, "smtpd", "relay-attempt kind=%s", smtp_addr_err_text(ae));
		smtp_reply(s, "550 5.7.1 Relay access denied");
		return -1;
	default:
		smtp_bad(s, "501 5.1.3 Bad recipient address syntax");
		return -1;
	}
	if (*c->path.params) {
		smtp_bad(s, "555 5.5.4 Unsupported option");
		return -1;
	}
	if (c->path.utf8 && !s->tx->smtputf8) {
		smtp_reply(s, "553 5.6.7 Non-ASCII address without SMTPUTF8");
		return -1;
	}
	if (smtp_check_address(&cf->check_address, cf->tag_separator, c->path.addr,
	    c->tag, sizeof(c->tag)) < 0) {
		smtp_reply(s, "550 5.7.1 <%.300s>: Recipient address rejected: not a "
		    "check address; relay access denied", c->path.addr);
		return -1;
	}
	if (s->tx->nrcpt >= (size_t)cf->smtp_max_recipients ||
	    s->tx->nrcpt >= SPOOL_MAX_RCPT) {
		/* RFC 5321 4.5.3.1.10: 452 for too many recipients */
		smtp_reply(s, "452 4.5.3 Too many recipients");
		return -1;
	}
	return 0;
}

static int
smtp_check_data(struct smtp_session *s, const char *arg, struct smtp_cmd_ctx *c)
{
	const struct config *cf = s->srv->cf;
	long long need;

	if (*arg) {
		smtp_bad(s, "501 5.5.4 Syntax: DATA");
		return -1;
	}
	if (s->tx == NULL) {
		smtp_bad(s, "503 5.5.1 Error: need MAIL command");
		return -1;
	}
	if (s->tx->nrcpt == 0) {
		/* RFC 2920 3.1: a pipelined DATA after refused RCPTs */
		smtp_reply(s, "554 5.5.1 Error: no valid recipients");
		return -1;
	}
	need = s->tx->size_declared > 0 ? s->tx->size_declared : 0;
	if ((long long)s->srv->data_mem + need >= cf->smtp_data_memory) {
		smtp_reply(s, "452 4.3.1 Insufficient system storage, try again later");
		return -1;
	}
	return 0;
}

static int
smtp_check_noarg(struct smtp_session *s, const char *arg, struct smtp_cmd_ctx *c)
{
	if (*arg) {
		smtp_bad(s, "501 5.5.4 Syntax error: no parameters allowed");
		return -1;
	}
	return 0;
}

static int
smtp_check_any(struct smtp_session *s, const char *arg, struct smtp_cmd_ctx *c)
{
	return 0;
}

static int
smtp_check_starttls(struct smtp_session *s, const char *arg, struct smtp_cmd_ctx *c)
{
	if (s->srv->tls == NULL) {
		smtp_bad(s, "502 5.5.1 Error: command not implemented");
		return -1;
	}
	if (s->tls) {
		smtp_bad(s, "503 5.5.1 Error: TLS already active");
		return -1;
	}
	if (*arg) {
		smtp_bad(s, "501 5.5.4 Syntax: STARTTLS");
		return -1;
	}
	if (s->state == SMTP_ST_GREETED) {
		smtp_bad(s, "503 5.5.1 Error: send EHLO first");
		return -1;
	}
	if (s->tx != NULL) {
		smtp_bad(s, "503 5.5.1 Error: MAIL transaction in progress");
		return -1;
	}
	return 0;
}

/* ---- the command table: proceed --------------------------------------- */

static void
smtp_proceed_helo(struct smtp_session *s, const char *arg, struct smtp_cmd_ctx *c)
{
	const struct config *cf = s->srv->cf;
	const char *ext[8];
	size_t n = 0, i;
	char size[64];

	smtp_tx_free(s);
	free(s->helo);
	s->helo = xstrdup(arg);
	s->esmtp = s->verb[0] == 'E';
	log_info(s->id, "smtpd", "helo name=%s esmtp=%d", s->helo, s->esmtp);
	if (!s->esmtp) {
		/* RFC 2034: no enhanced code in replies to HELO and EHLO */
		smtp_reply(s, "250 %s", cf->hostname);
		smtp_set_state(s, SMTP_ST_HELO);
		return;
	}
	snprintf(size, sizeof(size), "SIZE %ld", cf->message_size_limit);
	ext[n++] = "PIPELINING";
	ext[n++] = size;
	ext[n++] = "8BITMIME";
	ext[n++] = "SMTPUTF8";
	ext[n++] = "ENHANCEDSTATUSCODES";
	if (s->srv->tls && !s->tls)
		ext[n++] = "STARTTLS";
	smtp_reply(s, "250-%s Hello %s [%s]", cf->hostname, s->helo, s->ip);
	for (i = 0; i < n; i++)
		smtp_reply(s, "250%c%s", i + 1 == n ? ' ' : '-', ext[i]);
	smtp_set_state(s, SMTP_ST_HELO);
}

static void
smtp_proceed_mail(struct smtp_session *s, const char *arg, struct smtp_cmd_ctx *c)
{
	struct smtp_tx *tx = xcalloc(1, sizeof(*tx));

	tx->mail_from = xstrdup(c->path.addr);
	tx->size_declared = c->params.size;
	tx->smtputf8 = c->params.smtputf8;
	sbuf_init(&tx->data, 0);
	s->tx = tx;
	s->ntx++;
	log_info(s->id, "smtpd", "mail from=<%s> size=%lld body=%s%s", tx->mail_from,
	    tx->size_declared, c->params.body8 ? "8BITMIME" : "7BIT",
	    tx->smtputf8 ? " smtputf8=1" : "");
	smtp_reply(s, "250 2.1.0 Ok");
	smtp_set_state(s, SMTP_ST_MAIL);
}

static void
smtp_proceed_rcpt(struct smtp_session *s, const char *arg, struct smtp_cmd_ctx *c)
{
	struct smtp_tx *tx = s->tx;
	size_t i;

	for (i = 0; i < tx->nrcpt; i++)
		if (str_caseeq(tx->rcpt[i], c->path.addr))
			break;
	if (i == tx->nrcpt) {	/* a duplicate is acknowledged, kept once */
		tx->rcpt = xreallocarray(tx->rcpt, tx->nrcpt + 1, sizeof(*tx->rcpt));
		tx->rcpt[tx->nrcpt++] = xstrdup(c->path.addr);
		if (tx->tag == NULL && c->tag[0])
			tx->tag = xstrdup(c->tag);
	}
	log_info(s->id, "smtpd", "rcpt to=<%s>%s%s", c->path.addr,
	    c->tag[0] ? " tag=" : "", c->tag);
	smtp_reply(s, "250 2.1.5 Ok");
	smtp_set_state(s, SMTP_ST_RCPT);
}

static const char *
smtp_protocol(const struct smtp_session *s)
{
	if (s->tx && s->tx->smtputf8)		/* RFC 6531 3.7.3 */
		return s->tls ? "UTF8SMTPS" : "UTF8SMTP";
	if (s->tls)				/* RFC 3848 */
		return "ESMTPS";
	return s->esmtp ? "ESMTP" : "SMTP";
}

/* RFC 5321 4.4: our trace field, first in the stored message. */
static void
smtp_received(struct smtp_session *s)
{
	struct smtp_tx *tx = s->tx;
	const struct config *cf = s->srv->cf;
	struct sbuf *b = &tx->data;
	char date[64];
	time_t now = (time_t)(tx->received_ms / 1000);
	struct tm tm;
	int v6 = strchr(s->ip, ':') != NULL;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	strftime(tx->received, sizeof(tx->received), "%Y-%m-%dT%H:%M:%SZ", &tm);
	sbuf_printf(b, "Received: from %s ([%s%s])\r\n", s->helo, v6 ? "IPv6:" : "", s->ip);
	if (s->tls)
		sbuf_printf(b, "\t(using %s with cipher %s)\r\n", s->tls_protocol,
		    s->tls_cipher);
	sbuf_printf(b, "\tby %s (mailtestd) with %s id %s", cf->hostname,
	    smtp_protocol(s), tx->id);
	if (tx->nrcpt == 1)
		sbuf_printf(b, "\r\n\tfor <%s>", tx->rcpt[0]);
	sbuf_printf(b, "; %s\r\n", date);
	tx->hdr_len = b->len;
}

static void
smtp_watchdog_start(struct smtp_session *s)
{
	struct timeval tv = { 0, SMTP_WATCHDOG_MS * 1000 };

	evtimer_add(s->timer, &tv);
}

static void
smtp_proceed_data(struct smtp_session *s, const char *arg, struct smtp_cmd_ctx *c)
{
	const struct config *cf = s->srv->cf;
	struct smtp_tx *tx = s->tx;

	id_new(tx->id);
	tx->data_start_ms = time_mono_ms();
	tx->received_ms = time_real_ms();
	smtp_received(s);
	s->srv->data_mem += tx->data.len;
	tx->mem = tx->data.len;
	metrics_set(METRIC_DATA_MEMORY, (int64_t)s->srv->data_mem);
	smtp_data_init(&tx->dm, &tx->data, (size_t)cf->message_size_limit,
	    (size_t)cf->smtp_max_text_line, strcmp(cf->smtp_bare_lf, "normalize") == 0);
	log_debug(s->id, "smtpd", "data msgid=%s", tx->id);
	smtp_reply(s, "354 End data with <CR><LF>.<CR><LF>");
	smtp_set_state(s, SMTP_ST_DATA);
	smtp_watchdog_start(s);
}

static void
smtp_proceed_rset(struct smtp_session *s, const char *arg, struct smtp_cmd_ctx *c)
{
	smtp_tx_free(s);
	smtp_reply(s, "250 2.0.0 Ok");
	smtp_set_state(s, s->state == SMTP_ST_GREETED ? SMTP_ST_GREETED : SMTP_ST_HELO);
}

static void
smtp_proceed_noop(struct smtp_session *s, const char *arg, struct smtp_cmd_ctx *c)
{
	smtp_reply(s, "250 2.0.0 Ok");
}

static void
smtp_proceed_quit(struct smtp_session *s, const char *arg, struct smtp_cmd_ctx *c)
{
	smtp_close(s, "quit", "221 2.0.0 Bye");
}

static void
smtp_proceed_vrfy(struct smtp_session *s, const char *arg, struct smtp_cmd_ctx *c)
{
	smtp_reply(s, "252 2.0.0 Cannot VRFY user, but will accept mail for check "
	    "addresses");
}

static void
smtp_proceed_help(struct smtp_session *s, const char *arg, struct smtp_cmd_ctx *c)
{
	smtp_reply(s, "214-2.0.0 Commands: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT "
	    "VRFY HELP%s", s->srv->tls ? " STARTTLS" : "");
	smtp_reply(s, "214 2.0.0 Send a message to a check address for a report");
}

static void
smtp_proceed_starttls(struct smtp_session *s, const char *arg, struct smtp_cmd_ctx *c)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t n = evbuffer_get_length(in);

	/* RFC 3207 / CVE-2011-0411: plaintext behind STARTTLS is discarded,
	 * never read as a command of the TLS session */
	if (n > 0) {
		evbuffer_drain(in, n);
		log_warn(s->id, "smtpd", "tls plaintext-after-starttls discarded=%zu", n);
	}
	bufferevent_disable(s->bev, EV_READ);
	smtp_reply(s, "220 2.0.0 Ready to start TLS");
	smtp_set_state(s, SMTP_ST_STARTTLS);
}

static void
smtp_proceed_notimpl(struct smtp_session *s, const char *arg, struct smtp_cmd_ctx *c)
{
	smtp_bad(s, "502 5.5.1 Error: command not implemented");
}

static void
smtp_proceed_forbidden(struct smtp_session *s, const char *arg, struct smtp_cmd_ctx *c)
{
	log_info(s->id, "smtpd", "forbidden command=%s", s->verb);
	smtp_close(s, "forbidden-command", "421 4.7.0 %s Not an SMTP command, closing "
	    "transmission channel", s->srv->cf->hostname);
}

/* Indexed by enum smtp_cmd (STYLE 4). */
static const struct smtp_cmd_row smtp_cmds[SMTP_CMD_COUNT] = {
	[SMTP_CMD_UNKNOWN] =	{ SMTP_CMD_UNKNOWN, "UNKNOWN", NULL, NULL },
	[SMTP_CMD_HELO] =	{ SMTP_CMD_HELO, "HELO", smtp_check_helo, smtp_proceed_helo },
	[SMTP_CMD_EHLO] =	{ SMTP_CMD_EHLO, "EHLO", smtp_check_helo, smtp_proceed_helo },
	[SMTP_CMD_MAIL] =	{ SMTP_CMD_MAIL, "MAIL FROM", smtp_check_mail, smtp_proceed_mail },
	[SMTP_CMD_RCPT] =	{ SMTP_CMD_RCPT, "RCPT TO", smtp_check_rcpt, smtp_proceed_rcpt },
	[SMTP_CMD_DATA] =	{ SMTP_CMD_DATA, "DATA", smtp_check_data, smtp_proceed_data },
	[SMTP_CMD_RSET] =	{ SMTP_CMD_RSET, "RSET", smtp_check_noarg, smtp_proceed_rset },
	[SMTP_CMD_NOOP] =	{ SMTP_CMD_NOOP, "NOOP", smtp_check_any, smtp_proceed_noop },
	[SMTP_CMD_QUIT] =	{ SMTP_CMD_QUIT, "QUIT", smtp_check_noarg, smtp_proceed_quit },
	[SMTP_CMD_VRFY] =	{ SMTP_CMD_VRFY, "VRFY", smtp_check_any, smtp_proceed_vrfy },
	[SMTP_CMD_HELP] =	{ SMTP_CMD_HELP, "HELP", smtp_check_any, smtp_proceed_help },
	[SMTP_CMD_STARTTLS] =	{ SMTP_CMD_STARTTLS, "STARTTLS", smtp_check_starttls,
				    smtp_proceed_starttls },
	[SMTP_CMD_NOTIMPL] =	{ SMTP_CMD_NOTIMPL, "NOTIMPL", smtp_check_any,
				    smtp_proceed_notimpl },
	[SMTP_CMD_FORBIDDEN] =	{ SMTP_CMD_FORBIDDEN, "FORBIDDEN", smtp_check_any,
				    smtp_proceed_forbidden },
};

/* ---- input: command lines --------------------------------------------- */

static void
smtp_command(struct smtp_session *s, char *line, size_t len)
{
	const struct config *cf = s->srv->cf;
	const struct smtp_cmd_row *row;
	struct smtp_cmdline cl;
	struct smtp_cmd_ctx ctx;

	s->verb = NULL;
	if (++s->ncommands > (unsigned)cf->smtp_max_commands) {
		smtp_close(s, "too-many-commands", "421 4.7.0 %s Too many commands, "
		    "closing transmission channel", cf->hostname);
		return;
	}
	switch (smtp_cmd_parse(line, len, &cl)) {
	case SMTP_CMD_OK:
		break;
	case SMTP_CMD_BADCHAR:
		smtp_bad(s, "500 5.5.2 Error: control character, bare CR or bare LF "
		    "in command");
		return;
	case SMTP_CMD_SYNTAX:
		s->verb = cl.verb;
		smtp_bad(s, cl.cmd == SMTP_CMD_MAIL ? "501 5.5.4 Syntax: MAIL FROM:<address>" :
		    "501 5.5.4 Syntax: RCPT TO:<address>");
		return;
	case SMTP_CMD_EMPTY:
	case SMTP_CMD_NOVERB:
		smtp_bad(s, "500 5.5.2 Error: command not recognized");
		return;
	}
	row = &smtp_cmds[cl.cmd];
	s->verb = cl.verb;
	memset(&ctx, 0, sizeof(ctx));
	if (row->check(s, cl.arg, &ctx) < 0)
		return;
	row->proceed(s, cl.arg, &ctx);
}

/*
 * A partial command line must be complete within smtp_idle_timeout of the
 * moment it was first seen.  The idle timeout alone restarts with every
 * octet, so a client trickling one octet at a time (slowloris) would hold
 * its session for ever; Postfix's smtpd_per_record_deadline does the same.
 * The session timer is free in the command states (it serves the greet
 * pause before them and the DATA watchdog after).
 */
static void
smtp_line_deadline_start(struct smtp_session *s)
{
	struct timeval tv = { s->srv->cf->smtp_idle_timeout, 0 };

	if (!evtimer_pending(s->timer, NULL))
		evtimer_add(s->timer, &tv);
}

/*
 * How much of in, which holds no end of line, can be discarded while a
 * line too long is skipped: all of it but a CR at the end, which may be
 * the first half of the CRLF that ends the line (the LF in the next read;
 * found by fuzz_session: draining that CR skipped the next line too).
 */
static size_t
smtp_skippable(struct evbuffer *in)
{
	size_t n = evbuffer_get_length(in);
	struct evbuffer_ptr last;
	char c;

	if (n == 0 || evbuffer_ptr_set(in, &last, n - 1, EVBUFFER_PTR_SET) < 0 ||
	    evbuffer_copyout_from(in, &last, &c, 1) != 1)
		return n;
	return c == '\r' ? n - 1 : n;
}

/*
 * One command line out of the input.  The limit holds before a line is
 * complete (STYLE 6): past smtp_max_line octets without CRLF the rest of
 * the line is discarded and refused.  Returns 1 when a line was handled,
 * 0 when none is complete yet.
 */
static int
smtp_line_input(struct smtp_session *s, struct evbuffer *in)
{
	const struct config *cf = s->srv->cf;
	size_t eol_len = 0, max = (size_t)cf->smtp_max_line;
	enum evbuffer_eol_style style = strcmp(cf->smtp_bare_lf, "normalize") == 0 ?
	    EVBUFFER_EOL_CRLF : EVBUFFER_EOL_CRLF_STRICT;
	struct evbuffer_ptr pos = evbuffer_search_eol(in, NULL, &eol_len, style);
	size_t len;

	if (pos.pos < 0) {
		if (evbuffer_get_length(in) >= max || s->skip_line) {
			evbuffer_drain(in, smtp_skippable(in));
			s->skip_line = 1;
		}
		smtp_line_deadline_start(s);
		return 0;
	}
	/* a whole line: its deadline is met (DATA starts its own watchdog) */
	evtimer_del(s->timer);
	len = (size_t)pos.pos;
	if (s->skip_line || len + eol_len > max) {
		/* RFC 5321 4.5.3.1.4: 512 octets with the CRLF */
		evbuffer_drain(in, len + eol_len);
		s->skip_line = 0;
		s->verb = NULL;
		smtp_bad(s, "500 5.5.2 Error: line too long");
		return 1;
	}
	evbuffer_remove(in, smtp_linebuf, len);
	evbuffer_drain(in, eol_len);
	smtp_linebuf[len] = '\0';
	smtp_command(s, smtp_linebuf, len);
	return 1;
}

/* ---- input: DATA ------------------------------------------------------ */

static struct spooler_job *
smtp_job_new(struct smtp_session *s)
{
	struct smtp_tx *tx = s->tx;
	struct spooler_job *j = xcalloc(1, sizeof(*j));

	j->session = s->key;
	str_copy(j->session_id, s->id, sizeof(j->session_id));
	str_copy(j->env.id, tx->id, sizeof(j->env.id));
	j->env.received = xstrdup(tx->received);
	j->env.received_ms = time_real_ms();	/* the end of DATA: for the latency metric */
	j->env.client_ip = xstrdup(s->ip);
	j->env.client_port = s->port;
	if (s->proxy_peer)
		j->env.proxy_peer = xstrdup(s->proxy_peer);
	j->env.helo = xstrdup(s->helo ? s->helo : "");
	j->env.mail_from = tx->mail_from;
	tx->mail_from = NULL;
	j->env.rcpt = tx->rcpt;
	j->env.nrcpt = tx->nrcpt;
	tx->rcpt = NULL;
	tx->nrcpt = 0;
	j->env.tag = tx->tag;
	tx->tag = NULL;
	if (s->tls) {
		j->env.tls_protocol = xstrdup(s->tls_protocol);
		j->env.tls_cipher = xstrdup(s->tls_cipher);
	}
	j->size = (size_t)tx->dm.size;
	j->len = tx->data.len;
	j->msg = sbuf_steal(&tx->data);
	j->mem = tx->mem;	/* released when the job comes back */
	tx->mem = 0;
	return j;
}

/* The final ".": refuse, or hand the message to the spool writer. */
static void
smtp_data_end(struct smtp_session *s)
{
	const struct config *cf = s->srv->cf;
	struct smtp_tx *tx = s->tx;
	unsigned f = tx->dm.flags;
	size_t hops;

	evtimer_del(s->timer);
	s->verb = "DATA";
	if ((f & SMTP_DATA_TOO_BIG) && tx->dm.size <= (uint64_t)cf->message_size_limit)
		smtp_reply(s, "452 4.3.1 Insufficient system storage, try again later");
	else if (f & SMTP_DATA_TOO_BIG)
		smtp_reply(s, "552 5.3.4 Message size exceeds fixed limit of %ld octets",
		    cf->message_size_limit);
	else if ((f & (SMTP_DATA_BARE_LF | SMTP_DATA_BARE_CR)) && !tx->dm.normalize)
		smtp_reply(s, "554 5.6.0 Message refused: bare %s in the message "
		    "(RFC 5321 2.3.8); lines end with CRLF",
		    (f & SMTP_DATA_BARE_LF) ? "LF" : "CR");
	else if (f & SMTP_DATA_NUL)
		smtp_reply(s, "554 5.6.0 Message refused: NUL octet in the message");
	else if (f & SMTP_DATA_LONG_LINE)
		smtp_reply(s, "554 5.6.0 Message refused: a line longer than %ld octets "
		    "(RFC 5321 4.5.3.1.6)", cf->smtp_max_text_line);
	else if ((hops = smtp_data_count_received(tx->data.s + tx->hdr_len,
	    tx->data.len - tx->hdr_len)) > (size_t)cf->smtp_received_limit)
		smtp_reply(s, "554 5.4.6 Too many Received: fields (%zu): mail loop?", hops);
	else {
		struct spooler_job *j;

		if (f & (SMTP_DATA_BARE_LF | SMTP_DATA_BARE_CR))
			log_info(s->id, "smtpd", "normalized msgid=%s bare-lf=%d bare-cr=%d",
			    tx->id, !!(f & SMTP_DATA_BARE_LF), !!(f & SMTP_DATA_BARE_CR));
		j = smtp_job_new(s);

		smtp_tx_free(s);
		/* the client waits for the reply: no idle timeout meanwhile */
		bufferevent_set_timeouts(s->bev, NULL, NULL);
		smtp_set_state(s, SMTP_ST_COMMIT);
		spooler_submit(s->srv->spooler, j);
		return;
	}
	log_info(s->id, "smtpd", "refused msgid=%s size=%llu flags=0x%x", tx->id,
	    (unsigned long long)tx->dm.size, f);
	smtp_tx_free(s);
	smtp_set_state(s, SMTP_ST_HELO);
}

/* Feed input to the DATA parser within the size and memory limits. */
static void
smtp_data_input(struct smtp_session *s, struct evbuffer *in)
{
	const struct config *cf = s->srv->cf;
	struct smtp_tx *tx = s->tx;

	while (evbuffer_get_length(in) > 0 && !tx->dm.done) {
		struct evbuffer_iovec v;
		size_t others = s->srv->data_mem - tx->mem, room, used;

		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		/* content this session may hold: the message limit, and what
		 * smtp_data_memory leaves after every other session */
		room = (size_t)cf->smtp_data_memory > others + tx->hdr_len ?
		    (size_t)cf->smtp_data_memory - others - tx->hdr_len : 0;
		/* recomputed on every feed: memory another session gave back
		 * is room again (content already dropped stays dropped) */
		tx->dm.max_size = room < (size_t)cf->message_size_limit ?
		    room : (size_t)cf->message_size_limit;
		used = smtp_data_feed(&tx->dm, v.iov_base, v.iov_len);
		evbuffer_drain(in, used);
		s->srv->data_mem += tx->data.len - tx->mem;
		tx->mem = tx->data.len;
		metrics_set(METRIC_DATA_MEMORY, (int64_t)s->srv->data_mem);
	}
	if (tx->dm.done)
		smtp_data_end(s);
}

/* ---- input dispatch ---------------------------------------------------- */

static void
smtp_input_process(struct smtp_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	struct evbuffer *out = bufferevent_get_output(s->bev);

	while (!s->paused && evbuffer_get_length(in) > 0) {
		switch (s->state) {
		case SMTP_ST_CONNECTED:
			/* unauthorized pipelining before the banner */
			evbuffer_drain(in, evbuffer_get_length(in));
			smtp_close(s, "early-talker", "554 5.5.1 %s Protocol error: "
			    "talking before the greeting", s->srv->cf->hostname);
			return;
		case SMTP_ST_DATA:
			smtp_data_input(s, in);
			break;
		case SMTP_ST_COMMIT:
			return;		/* pipelined commands wait for the reply */
		case SMTP_ST_STARTTLS:
		case SMTP_ST_CLOSING:
			evbuffer_drain(in, evbuffer_get_length(in));
			return;
		default:
			if (smtp_line_input(s, in) == 0)
				return;
			break;
		}
		if (evbuffer_get_length(out) > SMTP_OUT_HIWAT && s->state != SMTP_ST_CLOSING) {
			/* the client does not read its replies: stop reading it */
			s->paused = 1;
			bufferevent_disable(s->bev, EV_READ);
			log_debug(s->id, "smtpd", "paused output=%zu", evbuffer_get_length(out));
		}
	}
}

/* After the client's EOF, once its input is answered: close. */
static void
smtp_eof_close(struct smtp_session *s)
{
	if (s->state == SMTP_ST_CLOSING)
		return;
	/* a message without its final "." is dropped: nothing is spooled */
	s->close_reason = s->state == SMTP_ST_DATA ? "eof-in-data" : "eof";
	smtp_tx_free(s);
	evtimer_del(s->timer);
	smtp_set_state(s, SMTP_ST_CLOSING);
}

static void
smtp_input(struct smtp_session *s)
{
	smtp_input_process(s);
	if (s->eof && !s->paused && s->state != SMTP_ST_COMMIT)
		smtp_eof_close(s);
}

/* A closing session whose last reply is out: time to free it. */
static int
smtp_flushed_closing(struct smtp_session *s)
{
	return s->state == SMTP_ST_CLOSING &&
	    evbuffer_get_length(bufferevent_get_output(s->bev)) == 0;
}

/* ---- TLS --------------------------------------------------------------- */

static void smtp_bev_setup(struct smtp_session *);

static void
smtp_tls_start(struct smtp_session *s)
{
	SSL *ssl = SSL_new(s->srv->tls);
	struct bufferevent *bev;

	if (ssl == NULL) {
		log_err(s->id, "smtpd", "tls SSL_new failed: %s", tls_error_text(ERR_get_error()));
		smtp_session_free(s, "tls-resource");
		return;
	}
	bev = bufferevent_openssl_socket_new(s->srv->base, s->fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		/* libevent 2.1 frees ssl itself on this path (CLOSE_ON_FREE) */
		smtp_session_free(s, "tls-resource");
		return;
	}
	bufferevent_free(s->bev);	/* the plain one: it does not close fd */
	s->bev = bev;
	s->tls = 1;			/* fd and SSL now belong to bev */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	smtp_bev_setup(s);
	/* RFC 3207 4.2: forget what the client said before TLS */
	free(s->helo);
	s->helo = NULL;
	s->esmtp = 0;
	smtp_set_state(s, SMTP_ST_GREETED);
}

static void
smtp_tls_ready(struct smtp_session *s)
{
	SSL *ssl = bufferevent_openssl_get_ssl(s->bev);

	s->tls_protocol = SSL_get_version(ssl);
	s->tls_cipher = SSL_get_cipher_name(ssl);
	log_info(s->id, "smtpd", "tls protocol=%s cipher=%s", s->tls_protocol,
	    s->tls_cipher);
}

/* ---- I/O ----------------------------------------------------------------- */

static void
smtp_read_cb(struct bufferevent *bev, void *arg)
{
	smtp_io(arg, SMTP_IO_DATAIN);
}

static void
smtp_write_cb(struct bufferevent *bev, void *arg)
{
	smtp_io(arg, SMTP_IO_LOWAT);
}

static void
smtp_event_cb(struct bufferevent *bev, short what, void *arg)
{
	if (what & BEV_EVENT_CONNECTED)
		smtp_io(arg, SMTP_IO_TLS_READY);
	else if (what & BEV_EVENT_TIMEOUT)
		smtp_io(arg, SMTP_IO_TIMEOUT);
	else if (what & BEV_EVENT_EOF)
		smtp_io(arg, SMTP_IO_EOF);
	else if (what & BEV_EVENT_ERROR)
		smtp_io(arg, SMTP_IO_ERROR);
}

static void
smtp_bev_setup(struct smtp_session *s)
{
	bufferevent_setcb(s->bev, smtp_read_cb, smtp_write_cb, smtp_event_cb, s);
	bufferevent_setwatermark(s->bev, EV_READ, 0, SMTP_IN_HIWAT);
	smtp_set_idle_timeouts(s);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}

/* The client closed its side: answer what it asked, then close. */
static void
smtp_eof(struct smtp_session *s)
{
	s->eof = 1;
	bufferevent_disable(s->bev, EV_READ);
	if (s->state == SMTP_ST_COMMIT || s->paused)
		return;		/* smtp_input() closes once this is answered */
	smtp_eof_close(s);
}

/* The one switch on I/O events (STYLE 5). */
static void
smtp_io(struct smtp_session *s, enum smtp_io_event ev)
{
	switch (ev) {
	case SMTP_IO_DATAIN:
		smtp_input(s);
		break;
	case SMTP_IO_LOWAT:
		if (s->state == SMTP_ST_STARTTLS) {
			smtp_tls_start(s);
			return;
		}
		if (s->paused) {
			s->paused = 0;
			if (!s->eof)
				bufferevent_enable(s->bev, EV_READ);
			smtp_input(s);
		}
		break;
	case SMTP_IO_TIMEOUT:
		if (s->state == SMTP_ST_CLOSING) {
			/* a client that reads nothing: the write timeout ends it */
			s->linger = 0;
			smtp_session_free(s, s->close_reason);
			return;
		}
		smtp_close(s, "idle-timeout", "421 4.4.2 %s Error: timeout exceeded",
		    s->srv->cf->hostname);
		break;
	case SMTP_IO_EOF:
		smtp_eof(s);
		break;
	case SMTP_IO_ERROR:
		if (s->tls && s->tls_protocol == NULL) {
			unsigned long e = bufferevent_get_openssl_error(s->bev);

			log_info(s->id, "smtpd", "tls handshake-failed error=\"%s\"",
			    e ? tls_error_text(e) : strerror(EVUTIL_SOCKET_ERROR()));
			metrics_add_label(METRIC_REFUSED, "tls", NULL, 1);
		}
		smtp_session_free(s, s->state == SMTP_ST_DATA ? "error-in-data" : "error");
		return;
	case SMTP_IO_TLS_READY:
		smtp_tls_ready(s);
		break;
	}
	if (smtp_flushed_closing(s))
		smtp_session_free(s, s->close_reason);
}

/* ---- timers: greet pause and the DATA watchdog ------------------------ */

static void
smtp_banner(struct smtp_session *s)
{
	/* RFC 2034: no enhanced code in the greeting */
	smtp_reply(s, "220 %s ESMTP mailtestd", s->srv->cf->hostname);
	smtp_set_state(s, SMTP_ST_GREETED);
}

static void
smtp_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_session *s = arg;
	const struct config *cf = s->srv->cf;
	uint64_t el;

	switch (s->state) {
	case SMTP_ST_CONNECTED:
		smtp_banner(s);
		break;
	case SMTP_ST_DATA:
		el = time_mono_ms() - s->tx->data_start_ms;
		if (el >= (uint64_t)cf->smtp_data_timeout * 1000) {
			smtp_close(s, "data-timeout", "421 4.4.2 %s Error: DATA timeout "
			    "exceeded", cf->hostname);
			break;
		}
		if (cf->smtp_min_data_rate > 0 &&
		    el >= (uint64_t)cf->smtp_data_rate_grace * 1000 &&
		    s->tx->dm.wire * 1000 / el < (uint64_t)cf->smtp_min_data_rate) {
			smtp_close(s, "data-too-slow", "421 4.4.2 %s Error: data rate below "
			    "%ld octets/s", cf->hostname, cf->smtp_min_data_rate);
			break;
		}
		smtp_watchdog_start(s);
		break;
	case SMTP_ST_GREETED:
	case SMTP_ST_HELO:
	case SMTP_ST_MAIL:
	case SMTP_ST_RCPT:
		/* smtp_line_deadline_start(): a line that never ends */
		smtp_close(s, "command-timeout", "421 4.4.2 %s Error: timeout exceeded "
		    "(command line not complete)", cf->hostname);
		break;
	default:
		break;
	}
}

/* ---- life cycle ---------------------------------------------------------- */

struct smtp_session *
smtp_session_new(struct server *srv, int fd, const struct sockaddr *sa, socklen_t salen,
    const char *ip, int port)
{
	const struct config *cf = srv->cf;
	struct smtp_session *s = xcalloc(1, sizeof(*s));

	s->srv = srv;
	s->fd = fd;
	s->key = ++srv->next_key;
	id_new(s->id);
	str_copy(s->ip, ip, sizeof(s->ip));
	s->port = port;
	s->connect_ms = time_mono_ms();
	s->state = SMTP_ST_CONNECTED;
	s->bev = bufferevent_socket_new(srv->base, fd, 0);
	s->timer = evtimer_new(srv->base, smtp_timer_cb, s);
	if (s->bev == NULL || s->timer == NULL) {
		if (s->bev)
			bufferevent_free(s->bev);
		if (s->timer)
			event_free(s->timer);
		free(s);
		return NULL;
	}
	smtp_bev_setup(s);
	log_info(s->id, "smtpd", "connect client=%s port=%d", s->ip, s->port);
	if (cf->smtp_greet_pause_ms > 0) {
		struct timeval tv = { cf->smtp_greet_pause_ms / 1000,
		    (cf->smtp_greet_pause_ms % 1000) * 1000 };

		evtimer_add(s->timer, &tv);
	} else
		smtp_banner(s);
	return s;
}

void
smtp_session_commit_done(struct smtp_session *s, struct spooler_job *j)
{
	if (s->state != SMTP_ST_COMMIT)
		return;
	s->verb = "DATA";
	if (j->rc == 0) {
		s->nqueued++;
		smtp_reply(s, "250 2.0.0 Ok: queued as %s", j->env.id);
	} else
		smtp_reply(s, "451 4.3.0 Error: queue file write error, try again later");
	smtp_set_idle_timeouts(s);
	smtp_set_state(s, SMTP_ST_HELO);
	/* the commands pipelined behind the message, and a pending EOF */
	smtp_input(s);
	if (smtp_flushed_closing(s))
		smtp_session_free(s, s->close_reason);
}

void
smtp_session_shutdown(struct smtp_session *s, int hard)
{
	if (s->state == SMTP_ST_CLOSING)
		return;
	if (hard || smtp_idle_state(s->state) || s->state == SMTP_ST_CONNECTED)
		smtp_close(s, "shutdown", "421 4.3.2 %s Service shutting down, closing "
		    "transmission channel", s->srv->cf->hostname);
}

void
smtp_session_free(struct smtp_session *s, const char *reason)
{
	struct server *srv = s->srv;

	log_info(s->id, "smtpd", "disconnect client=%s reason=%s state=%s commands=%u "
	    "queued=%u ms=%llu", s->ip, reason ? reason : "-", smtp_state_names[s->state],
	    s->ncommands, s->nqueued,
	    (unsigned long long)(time_mono_ms() - s->connect_ms));
	smtp_tx_free(s);
	if (s->timer)
		event_free(s->timer);
	if (s->bev)
		bufferevent_free(s->bev);
	if (!s->tls && s->linger)
		server_linger(srv, s->fd);
	else if (!s->tls)
		close(s->fd);
	free(s->helo);
	free(s->proxy_peer);
	server_session_gone(srv, s);
	free(s);
}
