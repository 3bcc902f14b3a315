/*
 * test_reply - the reply side's pieces without the network: header
 * encoding (RFC 2047) and injection attempts, quoted-printable and base64,
 * msg-id checks, the composed message, the never-reply rules and the
 * recipient choice, rate-limit and back-off arithmetic, queue file round
 * trips, and the JSON report read back for `mailtest show`.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../common/config.h"
#include "../../common/msg.h"
#include "../../common/util.h"
#include "../../reply/dkimsign.h"
#include "../../reply/mime.h"
#include "../../reply/outq.h"
#include "../../reply/policy.h"
#include "../../reply/ratelimit.h"
#include "../../reply/report.h"
#include "../../reply/smtpc.h"
#include "scenarios.h"
#include "t.h"

/* ---- helpers: decoders written independently of mime.c ------------------ */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decode a field value: unfold, then RFC 2047 Q words (UTF-8 only). */
static char *
decode_field(const char *v)
{
	struct sbuf u, out;
	const char *p;
	int prev_ew = 0;

	sbuf_init(&u, 0);
	for (p = v; *p; p++)
		if (!(p[0] == '\r' && p[1] == '\n') && *p != '\n')
			sbuf_addc(&u, *p);
	sbuf_init(&out, 0);
	p = sbuf_str(&u);
	while (*p) {
		const char *ws = p, *w;

		while (*p == ' ' || *p == '\t')
			p++;
		w = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		if (p == w)
			break;
		if (strncmp(w, "=?UTF-8?Q?", 10) == 0 && p - w >= 12 &&
		    p[-1] == '=' && p[-2] == '?') {
			if (!prev_ew && out.len)
				sbuf_add(&out, ws, (size_t)(w - ws));
			for (const char *q = w + 10; q < p - 2; q++) {
				if (*q == '_')
					sbuf_addc(&out, ' ');
				else if (*q == '=' && q + 2 < p - 2 + 1 && hexval(q[1]) >= 0 &&
				    hexval(q[2]) >= 0) {
					sbuf_addc(&out, (char)(hexval(q[1]) * 16 + hexval(q[2])));
					q += 2;
				} else
					sbuf_addc(&out, *q);
			}
			prev_ew = 1;
		} else {
			if (out.len)
				sbuf_add(&out, ws, (size_t)(w - ws));
			sbuf_add(&out, w, (size_t)(p - w));
			prev_ew = 0;
		}
	}
	sbuf_free(&u);
	return sbuf_steal(&out);
}

static char *
qp_decode(const char *s)
{
	struct sbuf b;

	sbuf_init(&b, 0);
	for (const char *p = s; *p; p++) {
		if (p[0] == '=' && p[1] == '\r' && p[2] == '\n') {
			p += 2;
			continue;
		}
		if (p[0] == '=' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
			sbuf_addc(&b, (char)(hexval(p[1]) * 16 + hexval(p[2])));
			p += 2;
			continue;
		}
		sbuf_addc(&b, *p);
	}
	return sbuf_steal(&b);
}

/* Every line (CRLF-separated) at most max; continuation lines start with WSP. */
static int
header_lines_ok(const char *h, size_t max, int folded)
{
	const char *p = h;

	while (*p) {
		const char *e = strstr(p, "\r\n");
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (n > max || memchr(p, '\r', n) || memchr(p, '\n', n))
			return 0;
		if (folded && p != h && *p != ' ' && *p != '\t')
			return 0;
		if (e == NULL)
			break;
		p = e + 2;
	}
	return 1;
}

/* ---- RFC 2047 and header injection ----------------------------------------- */

static void
test_header(void)
{
	static const struct { const char *label, *value; } cases[] = {
		{ "ascii", "hello world" },
		{ "subject with em dash",
		    "mailtest: SPF pass, DKIM pass, DMARC pass \xe2\x80\x94 example.com" },
		{ "CRLF injection", "evil\r\nBcc: victim@example.org\r\n\r\nbody" },
		{ "bare LF injection", "evil\nBcc: victim@example.org" },
		{ "encoded-word lookalike", "=?UTF-8?B?QmNjOiB2aWN0aW1AZXhhbXBsZS5vcmc=?=" },
		{ "long non-ASCII", "\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc"
		    "\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc"
		    "\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc"
		    "\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc"
		    " and \xf0\x9f\x93\xa7\xf0\x9f\x93\xa7\xf0\x9f\x93\xa7\xf0\x9f\x93\xa7"
		    "\xf0\x9f\x93\xa7\xf0\x9f\x93\xa7\xf0\x9f\x93\xa7\xf0\x9f\x93\xa7 end" },
		{ "long ascii word", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct sbuf b;
		char *dec, *want;
		const char *v;

		sbuf_init(&b, 0);
		mime_header(&b, "Subject", cases[i].value);
		v = sbuf_str(&b);
		T_OK(strncmp(v, "Subject:", 8) == 0, cases[i].label);
		T_OK(b.len >= 2 && strcmp(v + b.len - 2, "\r\n") == 0, cases[i].label);
		T_OK(header_lines_ok(v, MIME_LINE_MAX, 1), cases[i].label);
		T_OK(strstr(v, "\r\nBcc") == NULL && strstr(v, "\nBcc") == NULL,
		    "no field injected");
		T_OK(strstr(v, "QmNjOiB2aWN0aW1") == NULL || strstr(v, "=3D=3F") != NULL ||
		    strstr(v, "=?UTF-8?B?") == NULL, "lookalike encoded, not passed through");
		/* decodes back to the value, with CR/LF turned into spaces */
		dec = decode_field(v + 8);
		want = xstrdup(cases[i].value);
		for (char *p = want; *p; p++)
			if (*p == '\r' || *p == '\n')
				*p = ' ';
		{
			/* compare with runs of spaces collapsed, as folding does */
			struct sbuf w;
			int sp = 0;

			sbuf_init(&w, 0);
			for (char *p = want; *p; p++) {
				if (*p == ' ') {
					if (!sp && w.len)
						sbuf_addc(&w, ' ');
					sp = 1;
				} else {
					sbuf_addc(&w, *p);
					sp = 0;
				}
			}
			if (w.len && w.s[w.len - 1] == ' ')
				w.s[--w.len] = '\0';
			T_EQ_STR(dec, sbuf_str(&w), cases[i].label);
			sbuf_free(&w);
		}
		free(dec);
		free(want);
		sbuf_free(&b);
	}
	/* the encoded-word lookalike must be encoded (so it decodes to itself) */
	{
		struct sbuf b;

		sbuf_init(&b, 0);
		mime_header(&b, "Subject", "=?UTF-8?B?QmNjOiB4?=");
		T_OK(strstr(b.s, "Subject: =?UTF-8?B?") == NULL, "lookalike not literal");
		sbuf_free(&b);
	}
}

static void
test_qp_base64(void)
{
	static const struct { const char *label, *in, *want; } cases[] = {
		{ "equals", "a=b\n", "a=3Db\r\n" },
		{ "trailing space", "x \ny\t\n", "x=20\r\ny=09\r\n" },
		{ "utf-8", "\xc3\xbc\n", "=C3=BC\r\n" },
		{ "From at line start", "From me\nnot From\n", "=46rom me\r\nnot From\r\n" },
		{ "dot at line start", ".\n", "=2E\r\n" },
		{ "CRLF in", "a\r\nb", "a\r\nb\r\n" },
	};
	struct sbuf b;
	char long_line[301], *dec;
	unsigned char raw[100], back[200];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		sbuf_init(&b, 0);
		mime_qp(&b, cases[i].in, strlen(cases[i].in));
		T_EQ_STR(sbuf_str(&b), cases[i].want, cases[i].label);
		sbuf_free(&b);
	}
	memset(long_line, 'x', 300);
	long_line[300] = '\0';
	long_line[150] = '=';
	sbuf_init(&b, 0);
	mime_qp(&b, long_line, 300);
	T_OK(header_lines_ok(b.s, MIME_QP_LINE_MAX, 0), "QP lines at most 76");
	dec = qp_decode(b.s);
	T_OK(strncmp(dec, long_line, 300) == 0 && strcmp(dec + 300, "\r\n") == 0,
	    "QP soft breaks decode back");
	free(dec);
	sbuf_free(&b);

	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = (unsigned char)(i * 7 + 3);
	sbuf_init(&b, 0);
	mime_base64(&b, raw, sizeof(raw));
	T_OK(header_lines_ok(b.s, 76, 0), "base64 lines at most 76");
	{
		char *one = xstrdup(b.s), *q = one;

		for (char *p = one; *p; p++)
			if (*p != '\r' && *p != '\n')
				*q++ = *p;
		*q = '\0';
		T_EQ_INT(EVP_DecodeBlock(back, (unsigned char *)one, (int)strlen(one)), 102,
		    "base64 decodes (padded to 102)");
		T_OK(memcmp(back, raw, sizeof(raw)) == 0, "base64 round trip");
		free(one);
	}
	sbuf_free(&b);
}

static void
test_msgid(void)
{
	static const struct { const char *label, *in, *want; } cases[] = {
		{ "plain", "<a@b.example>", "<a@b.example>" },
		{ "spaces and comment", "  <a.b@c.example> (x)", "<a.b@c.example>" },
		{ "no at", "<abc>", NULL },
		{ "space inside", "<a b@c>", NULL },
		{ "CR inside", "<a\r@c>", NULL },
		{ "no closing", "<a@c", NULL },
		{ "at edge", "<@c>", NULL },
		{ "NULL", NULL, NULL },
	};
	char out[MIME_MSGID_MAX + 2], big[400];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int rc = mime_msgid_ok(cases[i].in, out, sizeof(out));

		T_EQ_INT(rc, cases[i].want ? 0 : -1, cases[i].label);
		if (cases[i].want && rc == 0)
			T_EQ_STR(out, cases[i].want, cases[i].label);
	}
	memset(big, 'a', sizeof(big));
	big[0] = '<';
	big[200] = '@';
	big[398] = '>';
	big[399] = '\0';
	T_EQ_INT(mime_msgid_ok(big, out, sizeof(out)), -1, "too long");
}

static void
test_compose(void)
{
	struct mime_report r = { 0 };
	struct msg m;
	char *mail, *v;
	size_t len;
	const char *orig = "From: a@b.example\r\nSubject: \xff\xfe bad\r\n"
	    "X-Long: =_mt_mixed_0TEST0000001\r\n\r\n";

	r.id = "0TEST0000001";
	r.from = "mailtest@mailtest.test";
	r.to = "user@example.com";
	r.subject = "mailtest: SPF pass \xe2\x80\x94 evil\r\nBcc: victim@example.org";
	r.message_id = "<0TEST0000001.report@mailtest.test>";
	r.in_reply_to = "<orig@example.com>\r\nBcc: victim@example.org";
	r.loop_token = "mailtest.test";
	r.date = 1795700000;
	r.text = "text report\nFrom here\n";
	r.html = "<p>html</p>";
	r.json = "{\"a\": 1}";
	r.orig_header = orig;
	r.orig_header_len = strlen(orig);
	mail = mime_compose(&r, &len);
	T_EQ_INT(msg_parse(&m, mail, len, NULL), 0, "composed message parses");
	T_EQ_INT(msg_count(&m, "Bcc"), 0, "no Bcc injected");
	v = msg_get_value(&m, "In-Reply-To");
	T_EQ_STR(v, "<orig@example.com>", "In-Reply-To is the msg-id only");
	free(v);
	v = msg_get_value(&m, "Auto-Submitted");
	T_EQ_STR(v, "auto-replied", "Auto-Submitted (RFC 3834 5)");
	free(v);
	v = msg_get_value(&m, "Date");
	T_EQ_STR(v, "Thu, 26 Nov 2026 13:33:20 +0000", "Date, RFC 5322 3.3");
	free(v);
	T_EQ_INT(msg_count(&m, "Message-ID"), 1, "one Message-ID");
	T_OK(header_lines_ok(mail + 0, 998, 0), "no line over 998 (RFC 5322 2.1.1)");
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)mail[i] >= 0x80 || (mail[i] == '\n' && (i == 0 ||
		    mail[i - 1] != '\r'))) {
			T_OK(0, "7-bit and CRLF only");
			break;
		}
	/* the header attachment mentions the boundary: it must be encoded */
	T_OK(strstr(mail, "X-Long: =3D_mt_mixed_") != NULL,
	    "boundary text inside a part is QP-encoded");
	T_OK(strstr(mail, "=46rom here") != NULL, "From at line start protected");
	msg_free(&m);
	free(mail);
}

/* ---- the never-reply rules ---------------------------------------------- */

struct pcase {
	const char	*label;
	const char	*mail_from;
	const char	*tag;
	const char	*header;	/* the message header (a body is added) */
	const char	*policy;	/* reply_policy */
	int		 spf_pass;	/* SPF pass for the MAIL FROM domain */
	const char	*dkim_pass;	/* d= of a passing signature, or NULL */
	int		 send;
	const char	*reason_or_rcpt;
};

static const char H[] = "From: Alice <alice@example.com>\r\nTo: check@mailtest.test\r\n"
    "Subject: test\r\nMessage-ID: <1@example.com>\r\n";

static const struct pcase pcases[] = {
	{ "plain: MAIL FROM", "bounce@example.net", NULL, H, "always", 0, NULL, 1,
	    "bounce@example.net" },
	{ "null sender", "", NULL, H, "always", 0, NULL, 0, "null-sender" },
	{ "Auto-Submitted: auto-replied", "a@example.com", NULL,
	    "From: a@example.com\r\nAuto-Submitted: auto-replied\r\n", "always", 0, NULL, 0,
	    "auto-submitted" },
	{ "Auto-Submitted: auto-generated (comment)", "a@example.com", NULL,
	    "From: a@example.com\r\nAuto-Submitted: Auto-Generated (x)\r\n", "always", 0,
	    NULL, 0, "auto-submitted" },
	{ "Auto-Submitted: no", "a@example.com", NULL,
	    "From: a@example.com\r\nAuto-Submitted: No\r\n", "always", 0, NULL, 1,
	    "a@example.com" },
	{ "List-Id", "a@example.com", NULL,
	    "From: a@example.com\r\nList-Id: <l.example.com>\r\n", "always", 0, NULL, 0,
	    "mailing-list" },
	{ "List-Post", "a@example.com", NULL,
	    "From: a@example.com\r\nList-Post: <mailto:l@example.com>\r\n", "always", 0,
	    NULL, 0, "mailing-list" },
	{ "List-Unsubscribe alone is fine", "a@example.com", NULL,
	    "From: a@example.com\r\nList-Unsubscribe: <mailto:u@example.com>\r\n",
	    "always", 0, NULL, 1, "a@example.com" },
	{ "Precedence: bulk", "a@example.com", NULL,
	    "From: a@example.com\r\nPrecedence: BULK\r\n", "always", 0, NULL, 0, "precedence" },
	{ "Precedence: list", "a@example.com", NULL,
	    "From: a@example.com\r\nPrecedence: list\r\n", "always", 0, NULL, 0, "precedence" },
	{ "Precedence: junk", "a@example.com", NULL,
	    "From: a@example.com\r\nPrecedence: junk\r\n", "always", 0, NULL, 0, "precedence" },
	{ "Precedence: first-class", "a@example.com", NULL,
	    "From: a@example.com\r\nPrecedence: first-class\r\n", "always", 0, NULL, 1,
	    "a@example.com" },
	{ "our loop header", "a@example.com", NULL,
	    "From: a@example.com\r\nX-Mailtest-Loop: other.example\r\n", "always", 0, NULL,
	    0, "loop" },
	{ "too many Received", "a@example.com", NULL,
	    "Received: 1\r\nReceived: 2\r\nReceived: 3\r\nReceived: 4\r\nFrom: a@example.com\r\n",
	    "always", 0, NULL, 0, "loop" },
	{ "Received at the limit", "a@example.com", NULL,
	    "Received: 1\r\nReceived: 2\r\nReceived: 3\r\nFrom: a@example.com\r\n",
	    "always", 0, NULL, 1, "a@example.com" },
	{ "From: our own address", "a@example.com", NULL,
	    "From: mailtest <mailtest@mailtest.test>\r\n", "always", 0, NULL, 0, "loop" },
	{ "MAILER-DAEMON", "MAILER-DAEMON@example.com", NULL, H, "always", 0, NULL, 0,
	    "automatic-sender" },
	{ "postmaster", "Postmaster@example.com", NULL, H, "always", 0, NULL, 0,
	    "automatic-sender" },
	{ "owner-list", "owner-list@example.com", NULL, H, "always", 0, NULL, 0,
	    "automatic-sender" },
	{ "list-request", "list-request@example.com", NULL, H, "always", 0, NULL, 0,
	    "automatic-sender" },
	{ "noreply is answered", "noreply@example.com", NULL, H, "always", 0, NULL, 1,
	    "noreply@example.com" },
	{ "to ourselves", "check+x@mailtest.test", NULL, H, "always", 0, NULL, 0, "self" },
	{ "to report_from", "mailtest@mailtest.test", NULL, H, "always", 0, NULL, 0, "self" },
	{ "unparsable header", "a@example.com", NULL, "From a@example.com\r\n", "always", 0,
	    NULL, 0, "unparsable" },
	{ "quoted local part", "\"a b\"@example.com", NULL, H, "always", 0, NULL, 0,
	    "bad-recipient" },
	{ "address literal", "a@[192.0.2.1]", NULL, H, "always", 0, NULL, 0,
	    "bad-recipient" },
	{ "non-ASCII local part", "j\xc3\xb6rg@example.com", NULL, H, "always", 0, NULL, 0,
	    "bad-recipient" },
	{ "CRLF in MAIL FROM", "a@example.com\r\nRCPT TO:<v@example.org>", NULL, H,
	    "always", 0, NULL, 0, "bad-recipient" },
	{ "tag from", "bounce@example.net", "from", H, "always", 0, NULL, 1,
	    "alice@example.com" },
	{ "tag from with a job id", "bounce@example.net", "job42.from", H, "always", 0,
	    NULL, 1, "alice@example.com" },
	{ "tag replyto", "bounce@example.net", "replyto",
	    "From: alice@example.com\r\nReply-To: Team <team@example.org>, x@y.example\r\n",
	    "always", 0, NULL, 1, "team@example.org" },
	{ "tag replyto without Reply-To", "bounce@example.net", "replyto", H, "always", 0,
	    NULL, 1, "alice@example.com" },
	{ "other tag", "bounce@example.net", "ci-1234", H, "always", 0, NULL, 1,
	    "bounce@example.net" },
	{ "tag from, no From:", "bounce@example.net", "from", "Subject: x\r\n", "always", 0,
	    NULL, 0, "tag-no-address" },
	{ "tag from, From: is MAILER-DAEMON", "bounce@example.net", "from",
	    "From: MAILER-DAEMON@example.com\r\n", "always", 0, NULL, 0, "automatic-sender" },
	{ "authenticated: nothing passed", "a@example.com", NULL, H, "authenticated", 0,
	    NULL, 0, "unauthenticated" },
	{ "authenticated: SPF pass", "a@example.com", NULL, H, "authenticated", 1, NULL, 1,
	    "a@example.com" },
	{ "authenticated: DKIM parent domain", "a@mail.example.com", NULL, H,
	    "authenticated", 0, "example.com", 1, "a@mail.example.com" },
	{ "authenticated: DKIM other domain", "a@example.com", NULL, H, "authenticated", 0,
	    "example.net", 0, "unauthenticated" },
	{ "authenticated: DKIM lookalike suffix", "a@badexample.com", NULL, H,
	    "authenticated", 0, "example.com", 0, "unauthenticated" },
	{ "authenticated: SPF for MAIL FROM, tag picks another domain",
	    "bounce@esp.example", "from", H, "authenticated", 1, NULL, 0, "unauthenticated" },
	{ "authenticated: DKIM for From:, tag from", "bounce@esp.example", "from", H,
	    "authenticated", 0, "example.com", 1, "alice@example.com" },
};

static void
test_policy(void)
{
	struct config cf;
	char err[256];

	config_defaults(&cf);
	T_EQ_INT(config_set(&cf, "check_address", "check@mailtest.test", err, sizeof(err)),
	    0, "config check_address");
	T_EQ_INT(config_set(&cf, "smtp_received_limit", "3", err, sizeof(err)), 0,
	    "config received limit");
	for (size_t i = 0; i < ARRAY_SIZE(pcases); i++) {
		const struct pcase *c = &pcases[i];
		struct policy_input in = { 0 };
		struct policy_decision d;
		struct spool_env env = { 0 };
		struct verify_result r;
		struct dkim_sig sig = { 0 };
		char *msg = xasprintf("%s\r\nbody\r\n", c->header);

		memset(&r, 0, sizeof(r));
		env.mail_from = (char *)c->mail_from;
		env.tag = (char *)c->tag;
		r.mail_from = (char *)c->mail_from;
		if (c->spf_pass) {
			r.spf.result = AUTH_PASS;
			r.spf.identity = "mailfrom";
			r.spf.domain = strrchr(c->mail_from, '@') + 1;
		}
		if (c->dkim_pass) {
			sig.result = AUTH_PASS;
			sig.domain = (char *)c->dkim_pass;
			r.dkim = &sig;
			r.ndkim = 1;
		}
		free(cf.reply_policy);
		cf.reply_policy = xstrdup(c->policy);
		in.cf = &cf;
		in.report_from = "mailtest@mailtest.test";
		in.env = &env;
		in.msg = msg;
		in.msglen = strlen(msg);
		in.res = &r;
		policy_decide(&in, &d);
		T_EQ_INT(d.send, c->send, c->label);
		T_EQ_STR(c->send ? d.rcpt : d.reason, c->reason_or_rcpt, c->label);
		T_OK(strchr(d.detail, '\r') == NULL && strchr(d.detail, '\n') == NULL,
		    "detail is one line");
		free(msg);
	}
	/* tags not listed in reply_tags change nothing */
	T_EQ_INT(config_set(&cf, "reply_tags", "replyto", err, sizeof(err)), 0, "reply_tags");
	{
		struct policy_input in = { 0 };
		struct policy_decision d;
		struct spool_env env = { 0 };
		struct verify_result r;
		char *msg = xasprintf("%s\r\nbody\r\n", H);

		memset(&r, 0, sizeof(r));
		env.mail_from = "bounce@example.net";
		env.tag = "from";
		in.cf = &cf;
		in.report_from = "mailtest@mailtest.test";
		in.env = &env;
		in.msg = msg;
		in.msglen = strlen(msg);
		in.res = &r;
		policy_decide(&in, &d);
		T_EQ_STR(d.rcpt, "bounce@example.net", "tag from not allowed: MAIL FROM");
		T_EQ_INT(config_set(&cf, "reply", "no", err, sizeof(err)), 0, "reply no");
		policy_decide(&in, &d);
		T_EQ_STR(d.reason, "disabled", "reply = no");
		free(msg);
	}
	config_free(&cf);
}

/* ---- rate limits and back-off -------------------------------------------- */

static void
test_rate(void)
{
	char dir[] = "/tmp/mt-rate-XXXXXX", path[64], err[256];
	struct rate *r;
	time_t t0 = 1795700000;

	r = rate_open(NULL, 2, 3, 4, t0, err, sizeof(err));
	T_EQ_INT(rate_take(r, "A@x.example", "x.example", "192.0.2.1", t0), RATE_OK, "1st");
	T_EQ_INT(rate_take(r, "a@x.example", "x.example", "192.0.2.1", t0 + 1), RATE_OK,
	    "2nd (address case-insensitive)");
	T_EQ_INT(rate_take(r, "a@x.example", "x.example", "192.0.2.1", t0 + 2),
	    RATE_ADDRESS, "3rd to the address: limited");
	T_EQ_INT(rate_take(r, "b@x.example", "x.example", "192.0.2.1", t0 + 3), RATE_OK,
	    "another address, same domain (3rd for the domain)");
	T_EQ_INT(rate_take(r, "c@x.example", "x.example", "192.0.2.1", t0 + 4),
	    RATE_DOMAIN, "4th to the domain: limited");
	T_EQ_INT(rate_take(r, "d@y.example", "y.example", "192.0.2.1", t0 + 5), RATE_OK,
	    "4th from the IP");
	T_EQ_INT(rate_take(r, "e@z.example", "z.example", "192.0.2.1", t0 + 6), RATE_IP,
	    "5th from the IP: limited");
	T_EQ_INT(rate_take(r, "e@z.example", "z.example", "192.0.2.2", t0 + 7), RATE_OK,
	    "another IP");
	T_EQ_INT(rate_take(r, "a@x.example", "x.example", "192.0.2.3", t0 + 3600),
	    RATE_OK, "an hour after the first: allowed again");
	T_EQ_INT(rate_take(r, "a@x.example", "x.example", "192.0.2.3", t0 + 3600),
	    RATE_ADDRESS, "sliding window: the one at t0+1 still counts");
	T_EQ_INT(rate_take(r, "a@x.example", "x.example", "192.0.2.3", t0 + 3601),
	    RATE_OK, "... until t0+3601");
	rate_close(r);

	r = rate_open(NULL, 0, 0, 0, t0, err, sizeof(err));
	for (int i = 0; i < 1000; i++)
		if (rate_take(r, "a@x.example", "x.example", "192.0.2.1", t0) != RATE_OK) {
			T_OK(0, "0 = unlimited");
			break;
		}
	rate_close(r);

	/* the counts survive a restart through the log */
	T_OK(mkdtemp(dir) != NULL, "mkdtemp");
	snprintf(path, sizeof(path), "%s/rate.log", dir);
	r = rate_open(path, 2, 0, 0, t0, err, sizeof(err));
	T_OK(r != NULL, err);
	rate_take(r, "a@x.example", "x.example", "192.0.2.1", t0);
	rate_take(r, "a@x.example", "x.example", "192.0.2.1", t0);
	rate_close(r);
	r = rate_open(path, 2, 0, 0, t0 + 10, err, sizeof(err));
	T_EQ_INT(rate_take(r, "a@x.example", "x.example", "192.0.2.1", t0 + 10),
	    RATE_ADDRESS, "limited after a restart");
	rate_close(r);
	r = rate_open(path, 2, 0, 0, t0 + RATE_WINDOW + 1, err, sizeof(err));
	T_EQ_INT(rate_take(r, "a@x.example", "x.example", "192.0.2.1",
	    t0 + RATE_WINDOW + 1), RATE_OK, "old log lines expire");
	rate_close(r);
	unlink(path);
	rmdir(dir);
}

static void
test_backoff(void)
{
	static const struct { long min, max; int attempts; long want; } c[] = {
		{ 300, 3600, 1, 300 }, { 300, 3600, 2, 600 }, { 300, 3600, 3, 1200 },
		{ 300, 3600, 4, 2400 }, { 300, 3600, 5, 3600 }, { 300, 3600, 50, 3600 },
		{ 60, 3600, 7, 3600 }, { 60, 3600, 6, 1920 }, { 100, 50, 1, 50 },
		{ 1, 2, 1000000, 2 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		char label[64];

		snprintf(label, sizeof(label), "backoff(%ld,%ld,%d)", c[i].min, c[i].max,
		    c[i].attempts);
		T_EQ_INT(outq_backoff(c[i].min, c[i].max, c[i].attempts), c[i].want, label);
	}
}

/* ---- queue files --------------------------------------------------------- */

static void
test_outq(void)
{
	char dir[] = "/tmp/mt-outq-XXXXXX", err[256], **ids, *path;
	struct outq_entry e = { 0 }, back;
	size_t n;
	int fd;

	T_OK(mkdtemp(dir) != NULL, "mkdtemp");
	str_copy(e.id, "0QUEUE000001", sizeof(e.id));
	e.rcpt = "user@example.com";
	e.created = 1795700000;
	e.next_try = 1795700000;
	e.msg = "Subject: x\r\n\r\nbody with \r\n\r\nempty lines\r\n";
	e.msglen = strlen(e.msg);
	T_EQ_INT(outq_write(dir, &e, ".new", err, sizeof(err)), 0, "write .new");
	T_EQ_INT(outq_list(dir, &ids, &n), 0, "list");
	T_EQ_INT(n, 0, ".new is not listed (not yet handed to delivery)");
	outq_list_free(ids, n);
	T_EQ_INT(outq_promote(dir, e.id, err, sizeof(err)), 0, "promote");
	T_EQ_INT(outq_list(dir, &ids, &n), 0, "list");
	T_EQ_INT(n, 1, "listed after promotion");
	outq_list_free(ids, n);

	fd = outq_lock(dir, e.id, 0);
	T_OK(fd >= 0, "lock");
	T_EQ_INT(outq_lock(dir, e.id, 0), -1, "second lock refused while held");
	T_EQ_INT(outq_read_fd(fd, &back, 1, err, sizeof(err)), 0, "read");
	T_EQ_STR(back.rcpt, "user@example.com", "rcpt round trip");
	T_OK(back.msglen == e.msglen && memcmp(back.msg, e.msg, e.msglen) == 0,
	    "message round trip, byte for byte");
	back.attempts = 3;
	back.next_try = 1795703600;
	free(back.last_error);
	back.last_error = xstrdup("451 4.3.0 busy\r\nnext-try: 0\r\nrcpt: evil@x");
	T_EQ_INT(outq_update_locked(dir, fd, &back, err, sizeof(err)), 0, "update");
	close(fd);
	outq_entry_free(&back);

	path = xasprintf("%s/%s", dir, e.id);
	T_EQ_INT(outq_read(path, &back, 0, err, sizeof(err)), 0, "re-read header only");
	T_EQ_INT(back.attempts, 3, "attempts kept");
	T_EQ_INT(back.next_try, 1795703600, "next try kept");
	T_EQ_STR(back.rcpt, "user@example.com", "state injection through last-error failed");
	T_OK(back.last_error && strchr(back.last_error, '\n') == NULL, "last-error one line");
	T_OK(back.msg == NULL, "header only");
	outq_entry_free(&back);

	fd = outq_lock(dir, e.id, 1);
	T_EQ_INT(outq_remove_locked(dir, e.id, fd), 0, "remove");
	close(fd);
	T_EQ_INT(outq_lock(dir, e.id, 1), -1, "gone");
	T_EQ_INT(errno, ENOENT, "ENOENT when gone");

	/* corrupt files are refused with a reason */
	{
		FILE *f = fopen(path, "w");

		fputs("MAILTEST-OUTBOUND 1\nid: 0QUEUE000001\n", f);
		fclose(f);
		T_EQ_INT(outq_read(path, &back, 1, err, sizeof(err)), -1, "truncated file");
		unlink(path);
	}
	free(path);
	rmdir(dir);
}

static void
test_hostport(void)
{
	char h[256];
	int port;

	T_EQ_INT(smtpc_parse_hostport("relay.example:587", h, sizeof(h), &port, 25), 0,
	    "host:port");
	T_EQ_STR(h, "relay.example", "host");
	T_EQ_INT(port, 587, "port");
	T_EQ_INT(smtpc_parse_hostport("[2001:db8::1]:2525", h, sizeof(h), &port, 25), 0,
	    "[v6]:port");
	T_EQ_STR(h, "2001:db8::1", "v6 host");
	T_EQ_INT(port, 2525, "v6 port");
	T_EQ_INT(smtpc_parse_hostport("127.0.0.1", h, sizeof(h), &port, 25), 0, "bare");
	T_EQ_INT(port, 25, "default port");
	T_EQ_INT(smtpc_parse_hostport("h:99999", h, sizeof(h), &port, 25), -1, "bad port");
	T_EQ_INT(smtpc_parse_hostport("[::1", h, sizeof(h), &port, 25), -1, "no ]");
}

/* ---- JSON back to the report (mailtest show) ------------------------------ */

static void
test_roundtrip(void)
{
	void (*scen[])(struct verify_result *, struct report_meta *) = {
		scenario_pass, scenario_spoofed
	};

	for (size_t i = 0; i < ARRAY_SIZE(scen); i++) {
		struct verify_result r, back;
		struct report_meta m, mback;
		json_t *j;
		char *t1, *t2;

		scen[i](&r, &m);
		j = report_json(&r, &m);
		T_EQ_INT(report_from_json(j, &back, &mback), 0, "report_from_json");
		mback.authserv_id = m.authserv_id;
		t1 = report_text(&r, &m);
		t2 = report_text(&back, &mback);
		T_EQ_STR(t2, t1, "text from the stored JSON equals the original");
		mback.authserv_id = NULL;
		report_loaded_free(&back, &mback);
		json_decref(j);
		free(t1);
		free(t2);
	}
	{
		struct verify_result back;
		struct report_meta mback;
		json_t *j = json_pack("{s:s}", "x", "y");

		T_EQ_INT(report_from_json(j, &back, &mback), -1, "not a report");
		json_decref(j);
	}
}

/* ---- our ed25519 signer's canonicalization --------------------------------- */

static char *
bh_of(const char *sighdr)
{
	const char *p = strstr(sighdr, "bh="), *e;
	struct sbuf b;

	if (p == NULL)
		return xstrdup("");
	p += 3;
	e = strchr(p, ';');
	sbuf_init(&b, 0);
	for (; p < (e ? e : p + strlen(p)); p++)
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			sbuf_addc(&b, *p);
	return sbuf_steal(&b);
}

static void
test_canon(void)
{
	/* RFC 6376 3.4.5, the example */
	static const char h1[] = "A: X\r\n", h2[] = "B : Y\t\r\n\t Z  \r\n";
	static const char body[] = " C \r\nD \t E\r\n\r\n\r\n";
	static const char *const bodies[] = {
		"Hello.\r\n", " C \r\nD \t E\r\n\r\n\r\n", "  lead\r\n\t\r\n.\r\n",
		"a  b\t\tc \r\n\r\nx\r\n\r\n", "\r\n\r\n", "=?x?=  \t\r\n",
	};
	struct dkimsign_config dc = { .key_path = "tests/keys/rsa2048.pem",
	    .spool_dir = "/tmp", .selector = "sel", .domain = "example.com",
	    .algorithm = "rsa-sha256" };
	struct dkimsign *ds;
	struct sbuf b;
	char err[256];

	sbuf_init(&b, 0);
	dkimsign_canon_header(&b, h1, strlen(h1));
	dkimsign_canon_header(&b, h2, strlen(h2));
	T_EQ_STR(sbuf_str(&b), "a:X\r\nb:Y Z\r\n", "RFC 6376 3.4.5 relaxed header");
	sbuf_reset(&b);
	dkimsign_canon_body(&b, body, strlen(body));
	T_EQ_STR(sbuf_str(&b), " C\r\nD E\r\n", "RFC 6376 3.4.5 relaxed body");
	sbuf_reset(&b);
	dkimsign_canon_body(&b, "no final line break", 19);
	T_EQ_STR(sbuf_str(&b), "no final line break\r\n", "RFC 6376 3.4.4: a CRLF is added");
	sbuf_free(&b);

	/* our body hash equals libopendkim's for the same bodies */
	ds = dkimsign_new(&dc, err, sizeof(err));
	T_OK(ds != NULL, err);
	for (size_t i = 0; ds && i < ARRAY_SIZE(bodies); i++) {
		char *msg = xasprintf("From: a@example.com\r\nSubject: x\r\n\r\n%s", bodies[i]);
		char *lib = dkimsign_sign(ds, msg, strlen(msg), "t", err, sizeof(err));
		unsigned char md[32];
		char ours[64];
		char *lbh;

		sbuf_init(&b, 0);
		dkimsign_canon_body(&b, msg + strlen(msg) - strlen(bodies[i]), strlen(bodies[i]));
		EVP_Digest(b.s ? b.s : "", b.len, md, NULL, EVP_sha256(), NULL);
		EVP_EncodeBlock((unsigned char *)ours, md, 32);
		lbh = bh_of(lib ? lib : "");
		if (lib == NULL)
			fprintf(stderr, "body %zu: %s\n", i, err);
		T_EQ_STR(ours, lbh, "body hash equals libopendkim's");
		free(lbh);
		free(lib);
		free(msg);
		sbuf_free(&b);
	}
	dkimsign_free(ds);
}

int
main(void)
{
	test_canon();
	test_header();
	test_qp_base64();
	test_msgid();
	test_compose();
	test_policy();
	test_rate();
	test_backoff();
	test_outq();
	test_hostport();
	test_roundtrip();
	return t_done("test_reply");
}
