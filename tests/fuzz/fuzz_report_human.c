/*
 * fuzz_report_human - the reports for people and the report mail, from
 * hostile values: reply/report_doc.c + report_text.c + report_html.c
 * (through textfmt.c and advice.c), the Subject (report_summary.c,
 * mime_header()), the reply policy's choice of recipient (policy.c) and
 * the whole MIME message (mime_compose()), as reply.c builds it.
 *
 * Input: the fuzz_report format (fuzz_result.h): control bytes, then
 * NUL-separated strings (each cut to 300 octets: wider than any line of
 * the output, and the cost stays ~50 runs a second) that fill every string
 * of a verify_result.  The
 * first string, whole, also serves as the tested message (its header
 * block goes into the report, and the policy reads it), the second as
 * MAIL FROM.
 *
 * Invariants:
 *  - text report: valid UTF-8, no line wider than 78 columns, no control
 *    character but LF, no C1 control, no bidi override or isolate;
 *  - HTML report: valid UTF-8; every "<" opens one of the tags the
 *    renderer writes (nothing from the input: no <script, <img, <a ...),
 *    every attribute value is double-quoted and no attribute is an event
 *    handler (on...) and no value holds "javascript:", "url(", "<", ">" or
 *    "&" (the input's "javascript:alert(1)" may only appear as text), every
 *    "&" starts an entity, no "<script" anywhere, no control but LF;
 *  - Subject: one header field (CRLF only at its end, folds are CRLF +
 *    space), 7-bit printable, lines at most 78, every encoded-word a valid
 *    RFC 2047 "=?UTF-8?Q?...?=" of at most 75 characters;
 *  - the report mail: 7-bit, CRLF line ends only, lines at most 998 (RFC
 *    5322 2.1.1) and header lines at most 78; its header has exactly our
 *    fields, once each, in order (nothing injected), To: is <rcpt> for a
 *    recipient policy_address_ok() accepted; the MIME boundaries appear
 *    exactly where mime_compose() puts them (no value can end a part).
 */
#include <stdlib.h>
#include <string.h>

#include "../../common/config.h"
#include "../../common/msg.h"
#include "../../common/spool.h"
#include "../../common/util.h"
#include "../../reply/mime.h"
#include "../../reply/policy.h"
#include "../../reply/report.h"
#include "fuzz.h"
#include "fuzz_result.h"

#define ID	"FUZZ0REPORT1"
#define VALUE_MAX	300	/* octets of each value; the message is whole */

/* Code point at s (valid UTF-8 assumed), its length in *n. */
static unsigned
cp_at(const unsigned char *s, size_t *n)
{
	if (s[0] < 0x80) {
		*n = 1;
		return s[0];
	}
	if (s[0] < 0xe0) {
		*n = 2;
		return (s[0] & 0x1fu) << 6 | (s[1] & 0x3fu);
	}
	if (s[0] < 0xf0) {
		*n = 3;
		return (s[0] & 0x0fu) << 12 | (s[1] & 0x3fu) << 6 | (s[2] & 0x3fu);
	}
	*n = 4;
	return (s[0] & 0x07u) << 18 | (s[1] & 0x3fu) << 12 | (s[2] & 0x3fu) << 6 |
	    (s[3] & 0x3fu);
}

static int
bidi_or_control(unsigned c)
{
	return (c < 0x20 && c != '\n') || (c >= 0x7f && c <= 0x9f) || c == 0x61c ||
	    c == 0x200e || c == 0x200f || (c >= 0x202a && c <= 0x202e) ||
	    (c >= 0x2066 && c <= 0x2069);
}

static void
check_text(const char *t)
{
	size_t len = strlen(t), col = 0, line = 1;

	FUZZ_CHECK(fuzz_utf8((const unsigned char *)t, len), "text report: invalid UTF-8");
	for (size_t i = 0; i < len;) {
		size_t n;
		unsigned c = cp_at((const unsigned char *)t + i, &n);

		FUZZ_CHECK(!bidi_or_control(c), "text report line %zu: U+%04X", line, c);
		if (c == '\n') {
			col = 0;
			line++;
		} else
			FUZZ_CHECK(++col <= 78, "text report line %zu wider than 78 columns:\n%s",
			    line, t);
		i += n;
	}
}

static const char *const html_tags[] = {
	"html", "head", "meta", "title", "body", "div", "h1", "h2", "p", "span",
	"table", "tr", "td", "th", "b", "br", "pre", "ol", "li", NULL
};

/* One tag at p ('<'): name known, attributes name="value"; returns its end. */
static const char *
check_tag(const char *p)
{
	const char *q = p + 1, *e;
	size_t n;
	int known = 0;

	if (*q == '!') {		/* <!DOCTYPE html> */
		FUZZ_CHECK(strncmp(q, "!DOCTYPE html>", 14) == 0, "markup %.20s", p);
		return q + 14;
	}
	if (*q == '/')
		q++;
	n = strspn(q, "abcdefghijklmnopqrstuvwxyz0123456789");
	for (size_t i = 0; html_tags[i]; i++)
		known |= strlen(html_tags[i]) == n && strncmp(html_tags[i], q, n) == 0;
	FUZZ_CHECK(known, "tag <%.*s> is not one the renderer writes", (int)(n + 10), q);
	q += n;
	for (;;) {
		q += strspn(q, " \n");
		if (*q == '>')
			return q + 1;
		n = strspn(q, "abcdefghijklmnopqrstuvwxyz-");
		FUZZ_CHECK(n > 0, "garbage in a tag: %.40s", q);
		FUZZ_CHECK(strncmp(q, "on", 2) != 0, "event handler %.20s", q);
		q += n;
		if (*q != '=')
			continue;	/* a bare attribute */
		FUZZ_CHECK(q[1] == '"', "unquoted attribute value: %.40s", q - n);
		e = strchr(q + 2, '"');
		FUZZ_CHECK(e != NULL, "unterminated attribute value");
		FUZZ_CHECK(memchr(q + 2, '<', (size_t)(e - q - 2)) == NULL &&
		    memchr(q + 2, '>', (size_t)(e - q - 2)) == NULL &&
		    memchr(q + 2, '&', (size_t)(e - q - 2)) == NULL, "<>& in an attribute value");
		FUZZ_CHECK(memmem(q + 2, (size_t)(e - q - 2), "javascript:", 11) == NULL &&
		    memmem(q + 2, (size_t)(e - q - 2), "url(", 4) == NULL,
		    "script or URL in an attribute value");
		q = e + 1;
	}
}

static void
check_html(const char *h)
{
	size_t len = strlen(h);

	FUZZ_CHECK(fuzz_utf8((const unsigned char *)h, len), "HTML report: invalid UTF-8");
	FUZZ_CHECK(strcasestr(h, "<script") == NULL, "script in the HTML report");
	for (const char *p = h; *p;) {
		unsigned char c = (unsigned char)*p;

		FUZZ_CHECK(c >= 0x20 || c == '\n', "control %#x in the HTML report", c);
		if (c == '<') {
			p = check_tag(p);
			continue;
		}
		FUZZ_CHECK(c != '>', "'>' outside a tag: %.40s", p);
		if (c == '&') {
			size_t n = strspn(p + 1, "#abcdefghijklmnopqrstuvwxyz0123456789");

			FUZZ_CHECK(n > 0 && p[1 + n] == ';', "'&' is not an entity: %.20s", p);
		}
		p++;
	}
}

/* "=?UTF-8?Q?...?=" at p; returns its length. */
static size_t
check_ew(const char *p)
{
	const char *q = p + 10;

	FUZZ_CHECK(strncmp(p, "=?UTF-8?Q?", 10) == 0, "encoded-word %.20s", p);
	while (*q && !(q[0] == '?' && q[1] == '=')) {
		if (*q == '=') {
			FUZZ_CHECK(strchr("0123456789ABCDEF", q[1]) && q[1] &&
			    strchr("0123456789ABCDEF", q[2]) && q[2], "Q escape %.3s", q);
			q += 3;
			continue;
		}
		FUZZ_CHECK(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789!*+-/.,:;_", *q) != NULL, "octet %#x in an encoded-word",
		    (unsigned char)*q);
		q++;
	}
	FUZZ_CHECK(*q == '?', "unterminated encoded-word");
	FUZZ_CHECK(q + 2 - p <= MIME_ENCODED_WORD_MAX, "encoded-word of %zu",
	    (size_t)(q + 2 - p));
	return (size_t)(q + 2 - p);
}

/* One header field "Name: ..." CRLF, folded; returns its length. */
static size_t
check_field(const char *f, size_t len, const char *name)
{
	size_t i = 0, col = 0, nl = strlen(name);

	FUZZ_CHECK(len > nl && strncmp(f, name, nl) == 0 && f[nl] == ':', "field %s", name);
	for (;;) {
		FUZZ_CHECK(i < len, "field %s without CRLF", name);
		if (f[i] == '\r') {
			FUZZ_CHECK(i + 1 < len && f[i + 1] == '\n', "bare CR in %s", name);
			i += 2;
			col = 0;
			if (i >= len || (f[i] != ' ' && f[i] != '\t'))
				return i;
			continue;
		}
		FUZZ_CHECK(f[i] >= 0x20 && f[i] < 0x7f, "octet %#x in %s", (unsigned char)f[i],
		    name);
		if (f[i] == '=' && f[i + 1] == '?') {
			size_t n = check_ew(f + i);

			col += n;
			i += n;
		} else {
			col++;
			i++;
		}
		FUZZ_CHECK(col <= MIME_LINE_MAX, "%s: line over %d columns", name, MIME_LINE_MAX);
	}
}

static void
check_subject(const char *subject)
{
	struct sbuf b;
	size_t n;

	sbuf_init(&b, 0);
	mime_header(&b, "Subject", subject);
	n = check_field(b.s, b.len, "Subject");
	FUZZ_CHECK(n == b.len, "Subject is more than one field: %s", b.s);
	sbuf_free(&b);
}

static size_t
count_lines(const char *m, size_t len, const char *line)
{
	size_t n = 0, ll = strlen(line);

	for (const char *p = m; p < m + len;) {
		const char *e = memchr(p, '\r', (size_t)(m + len - p));

		if (e == NULL)
			break;
		n += (size_t)(e - p) == ll && memcmp(p, line, ll) == 0;
		p = e + 2;
	}
	return n;
}

static void
check_mail(const char *m, size_t len, const char *rcpt, int irt)
{
	static const char *const names[] = { "From", "To", "Subject", "Date", "Message-ID",
	    "In-Reply-To", "References", "Auto-Submitted", "X-Mailtest-Loop",
	    "X-Mailtest-Id", "MIME-Version", "Content-Type" };
	struct msg msg;
	size_t k = 0, col = 0, hdr_end;
	char *to;
	const char *he = strstr(m, "\r\n\r\n");

	FUZZ_CHECK(he != NULL, "no end of the header");
	hdr_end = (size_t)(he - m) + 2;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)m[i];

		FUZZ_CHECK(c != 0 && c < 0x80, "octet %#x at %zu of the report mail", c, i);
		FUZZ_CHECK(c != '\r' || (i + 1 < len && m[i + 1] == '\n'), "bare CR at %zu", i);
		FUZZ_CHECK(c != '\n' || (i > 0 && m[i - 1] == '\r'), "bare LF at %zu", i);
		if (c == '\r')
			continue;
		if (c == '\n') {
			col = 0;
			continue;
		}
		col++;
		FUZZ_CHECK(col <= 998, "line over 998 octets at %zu", i);
		FUZZ_CHECK(i >= hdr_end || col <= MIME_LINE_MAX, "header line over 78 at %zu", i);
	}
	FUZZ_CHECK(msg_parse(&msg, m, len, NULL) == 0, "the report mail does not parse: %s",
	    msg.error);
	for (size_t i = 0; i < msg.nf; i++) {
		while (k < ARRAY_SIZE(names) && !(irt || (strcmp(names[k], "In-Reply-To") &&
		    strcmp(names[k], "References"))))
			k++;
		FUZZ_CHECK(k < ARRAY_SIZE(names) && msg.f[i].namelen == strlen(names[k]) &&
		    strncmp(msg.f[i].name, names[k], msg.f[i].namelen) == 0,
		    "header field %zu is %.*s, expected %s", i, (int)msg.f[i].namelen,
		    msg.f[i].name, k < ARRAY_SIZE(names) ? names[k] : "none");
		k++;
	}
	FUZZ_CHECK(k == ARRAY_SIZE(names), "%zu header fields", msg.nf);
	to = msg_get_value(&msg, "To");
	FUZZ_CHECK(to && to[0] == '<' && strlen(to) == strlen(rcpt) + 2 &&
	    strncmp(to + 1, rcpt, strlen(rcpt)) == 0, "To: %s for <%s>", to, rcpt);
	free(to);
	msg_free(&msg);
	FUZZ_CHECK(count_lines(m, len, "--=_mt_mixed_" ID) == 3 &&
	    count_lines(m, len, "--=_mt_mixed_" ID "--") == 1 &&
	    count_lines(m, len, "--=_mt_alt_" ID) == 2 &&
	    count_lines(m, len, "--=_mt_alt_" ID "--") == 1, "MIME boundaries moved");
}

static void
compose(const struct verify_result *r, const struct report_meta *meta,
    const struct pool *pool, const char *msg, const char *text, const char *html,
    const char *subject)
{
	struct config cf;
	struct spool_env env;
	struct policy_input in;
	struct policy_decision d;
	struct mime_report mr;
	char *json, *mail, id[2][ID_LEN + 1] = { ID, ID };
	char msgid[MIME_MSGID_MAX + 2];
	size_t len;

	config_defaults(&cf);
	memset(&env, 0, sizeof(env));
	str_copy(env.id, ID, sizeof(env.id));
	env.client_ip = (char *)"192.0.2.1";
	env.helo = (char *)"client.example";
	env.mail_from = pool->n > 1 ? pool->s[1] : (char *)"sender@example.com";
	env.tag = pool->n > 2 ? pool->s[2] : NULL;
	memset(&in, 0, sizeof(in));
	in.cf = &cf;
	in.report_from = "mailtest@mx.example";
	in.env = &env;
	in.msg = msg;
	in.msglen = strlen(msg);
	in.res = r;
	policy_decide(&in, &d);
	if (d.send) {
		char dom[256];

		FUZZ_CHECK(policy_address_ok(d.rcpt, dom, sizeof(dom)), "policy chose <%s>",
		    d.rcpt);
		FUZZ_CHECK(strpbrk(d.rcpt, "\r\n<> \"") == NULL, "recipient <%s>", d.rcpt);
	}
	/* the detail is logged and recorded: clean UTF-8 (policy.h: sanitised) */
	FUZZ_CHECK(fuzz_utf8((const unsigned char *)d.detail, strlen(d.detail)),
	    "decision detail is not UTF-8");
	for (size_t i = 0, n; d.detail[i]; i += n)
		FUZZ_CHECK(!bidi_or_control(cp_at((const unsigned char *)d.detail + i, &n)) &&
		    d.detail[i] != '\n', "control in the decision detail: %s", d.detail);
	json = report_json_text(r, meta, 0);
	memset(&mr, 0, sizeof(mr));
	mr.id = id[0];
	mr.from = "mailtest@mx.example";
	mr.to = d.send ? d.rcpt : "nobody@example.com";
	mr.subject = subject;
	mr.message_id = "<" ID ".report@mx.example>";
	mr.in_reply_to = r->message_id;
	mr.loop_token = "mx.example";
	mr.date = 1700000000;
	mr.text = text;
	mr.html = html;
	mr.json = json;
	mr.orig_header = msg;
	mr.orig_header_len = strlen(msg);
	mail = mime_compose(&mr, &len);
	check_mail(mail, len, mr.to, r->message_id &&
	    mime_msgid_ok(r->message_id, msgid, sizeof(msgid)) == 0);
	free(mail);
	free(json);
	config_free(&cf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t ctl[REPORT_CTL];
	struct pool pool;
	struct verify_result r;
	struct report_meta m;
	char *text, *html, *subject, *msg;
	const uint8_t *z;
	size_t k;

	/*
	 * the values are cut to VALUE_MAX (each of ~130 fields takes one: the
	 * three renderings and their quoted-printable copies in the mail grow
	 * with fields x length); the message keeps its whole header block
	 */
	pool_load(&pool, data, size, ctl, VALUE_MAX);
	k = size < REPORT_CTL ? size : REPORT_CTL;
	z = memchr(data + k, '\0', size - k);
	msg = xstrndup((const char *)data + k, z ? (size_t)(z - (data + k)) : size - k);
	fill(&r, &m, &pool, ctl);
	/*
	 * the cost (text, HTML, JSON, then all three quoted-printable in the
	 * mail) grows with the DKIM results: 6 are enough to repeat every
	 * section; fuzz_report covers the many-results budgets
	 */
	if (r.ndkim > 6)
		r.ndkim = 6;
	text = report_text(&r, &m);
	check_text(text);
	html = report_html(&r, &m);
	check_html(html);
	subject = report_subject(&r);
	check_subject(subject);
	compose(&r, &m, &pool, msg, text, html, subject);
	free(msg);
	free(subject);
	free(html);
	free(text);
	unfill(&r);
	pool_free(&pool);
	return 0;
}
