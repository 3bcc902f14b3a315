/* mime.c - see mime.h */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mime.h"
#include "textfmt.h"

#define HEADER_VALUE_MAX	2000	/* bytes of one header value, before encoding */
#define LITERAL_WORD_MAX	64	/* longer words are encoded (and so can fold) */
#define EW_PREFIX		"=?UTF-8?Q?"
#define EW_OVERHEAD		12	/* "=?UTF-8?Q?" + "?=" */
#define LINE_MAX_SMTP		998	/* RFC 5322 2.1.1 MUST */

/* May this word appear as it is in an unstructured field? */
static int
word_is_literal(const char *w, size_t n)
{
	if (n > LITERAL_WORD_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)w[i];

		if (c < 0x21 || c > 0x7e)
			return 0;
		/* something a decoder could take for an encoded-word */
		if ((c == '=' && i + 1 < n && w[i + 1] == '?') ||
		    (c == '?' && i + 1 < n && w[i + 1] == '='))
			return 0;
	}
	return 1;
}

/* RFC 2047 4.2 Q encoding of one byte, conservatively. */
static size_t
q_encode(unsigned char c, char out[4])
{
	static const char hex[] = "0123456789ABCDEF";

	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    strchr("!*+-/.,:;", c) != NULL) {
		out[0] = (char)c;
		return 1;
	}
	if (c == ' ') {
		out[0] = '_';
		return 1;
	}
	out[0] = '=';
	out[1] = hex[c >> 4];
	out[2] = hex[c & 15];
	return 3;
}

static size_t
utf8_seq_len(const char *s, size_t n)
{
	size_t k = 1;

	while (k < n && ((unsigned char)s[k] & 0xc0) == 0x80)
		k++;
	return k;
}

/* Emit s[0..n) as encoded-words, folding as needed; *col is the column. */
static void
encode_run(struct sbuf *b, const char *s, size_t n, size_t *col)
{
	size_t i = 0;

	while (i < n) {
		size_t room, used = EW_OVERHEAD;

		/* room for the longest character: 4 bytes, 12 encoded */
		if (*col + 1 + EW_OVERHEAD + 12 > MIME_LINE_MAX) {
			sbuf_adds(b, "\r\n");
			*col = 0;
		}
		room = MIME_LINE_MAX - *col - 1;
		if (room > MIME_ENCODED_WORD_MAX)
			room = MIME_ENCODED_WORD_MAX;
		sbuf_adds(b, " " EW_PREFIX);
		while (i < n) {
			size_t k = utf8_seq_len(s + i, n - i), enc = 0;
			char tmp[16 * 3];

			for (size_t j = 0; j < k && j < 16; j++)
				enc += q_encode((unsigned char)s[i + j], tmp + enc);
			if (used + enc > room)
				break;
			sbuf_add(b, tmp, enc);
			used += enc;
			i += k;
		}
		sbuf_adds(b, "?=");
		*col += 1 + used;
	}
}

void
mime_header(struct sbuf *b, const char *name, const char *value)
{
	char *v = textfmt_clean(value, HEADER_VALUE_MAX, 1);
	size_t col = strlen(name) + 1;
	const char *p = v;

	sbuf_printf(b, "%s:", name);
	while (*p) {
		const char *w, *run_start, *run_end;
		size_t n;

		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		w = p;
		while (*p && *p != ' ')
			p++;
		n = (size_t)(p - w);
		if (word_is_literal(w, n)) {
			if (col + 1 + n > MIME_LINE_MAX && col > strlen(name) + 1) {
				sbuf_adds(b, "\r\n");
				col = 0;
			}
			sbuf_addc(b, ' ');
			sbuf_add(b, w, n);
			col += 1 + n;
			continue;
		}
		/* a run of words that need encoding, with the spaces between them */
		run_start = w;
		run_end = p;
		for (;;) {
			const char *q = run_end, *w2;

			while (*q == ' ')
				q++;
			w2 = q;
			while (*q && *q != ' ')
				q++;
			if (q == w2 || word_is_literal(w2, (size_t)(q - w2)))
				break;
			run_end = q;
		}
		encode_run(b, run_start, (size_t)(run_end - run_start), &col);
		p = run_end;
	}
	sbuf_adds(b, "\r\n");
	free(v);
}

void
mime_qp(struct sbuf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t col = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		int at_eol = i + 1 == len || s[i + 1] == '\n' ||
		    (s[i + 1] == '\r' && i + 2 < len && s[i + 2] == '\n');
		char enc[3];
		size_t n = 1;

		if (c == '\r' && i + 1 < len && s[i + 1] == '\n')
			continue;
		if (c == '\n') {
			sbuf_adds(b, "\r\n");
			col = 0;
			continue;
		}
		enc[0] = (char)c;
		/* mbox "From " quoting would change the body: never start a line so */
		if (c == '=' || c >= 0x7f || (c < 0x20 && c != '\t') ||
		    ((c == ' ' || c == '\t') && at_eol) ||
		    (col == 0 && c == 'F' && len - i >= 5 && memcmp(s + i, "From ", 5) == 0) ||
		    (col == 0 && c == '.')) {
			enc[0] = '=';
			enc[1] = hex[c >> 4];
			enc[2] = hex[c & 15];
			n = 3;
		}
		if (col + n > MIME_QP_LINE_MAX - 1) {
			sbuf_adds(b, "=\r\n");
			col = 0;
		}
		sbuf_add(b, enc, n);
		col += n;
	}
	if (col > 0)
		sbuf_adds(b, "\r\n");
}

void
mime_base64(struct sbuf *b, const void *data, size_t len)
{
	const unsigned char *p = data;
	unsigned char out[80];

	/* 57 bytes -> 76 characters per line (RFC 2045 6.8) */
	for (size_t i = 0; i < len; i += 57) {
		size_t n = len - i < 57 ? len - i : 57;
		int k = EVP_EncodeBlock(out, p + i, (int)n);

		sbuf_add(b, out, (size_t)k);
		sbuf_adds(b, "\r\n");
	}
}

int
mime_msgid_ok(const char *value, char *out, size_t outlen)
{
	const char *s, *e, *at;

	if (value == NULL || (s = strchr(value, '<')) == NULL ||
	    (e = strchr(s, '>')) == NULL)
		return -1;
	if ((size_t)(e - s + 1) > MIME_MSGID_MAX || (size_t)(e - s + 2) > outlen)
		return -1;
	at = NULL;
	for (const char *p = s + 1; p < e; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x21 || c > 0x7e || c == '<' || c == '"' || c == '\\')
			return -1;
		if (c == '@')
			at = p;
	}
	if (at == NULL || at == s + 1 || at + 1 == e)
		return -1;
	memcpy(out, s, (size_t)(e - s + 1));
	out[e - s + 1] = '\0';
	return 0;
}

void
mime_date(time_t t, char *buf, size_t n)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
	    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, n, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7],
	    tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour,
	    tm.tm_min, tm.tm_sec);
}

/* May this text go as 7bit (RFC 2045 2.7) without colliding with "=_" boundaries? */
static int
is_7bit(const char *s, size_t len)
{
	size_t line = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == 0 || c >= 0x80 || (c == '\r' && (i + 1 == len || s[i + 1] != '\n')))
			return 0;
		if (c == '=' && i + 1 < len && s[i + 1] == '_')
			return 0;
		/* mbox "From " quoting or a lone "." would change a signed body */
		if (line == 0 && (c == '.' || (len - i >= 5 && memcmp(s + i, "From ", 5) == 0)))
			return 0;
		if (c == '\n')
			line = 0;
		else if (++line > LINE_MAX_SMTP)
			return 0;
	}
	return 1;
}

/* Text with LF or CRLF line ends -> CRLF, ending with one. */
static void
add_crlf_text(struct sbuf *b, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n')
			continue;
		if (s[i] == '\n')
			sbuf_adds(b, "\r\n");
		else
			sbuf_addc(b, s[i]);
	}
	if (len == 0 || s[len - 1] != '\n')
		sbuf_adds(b, "\r\n");
}

static void
add_text_part(struct sbuf *b, const char *type, const char *disposition,
    const char *s, size_t len)
{
	sbuf_printf(b, "Content-Type: %s; charset=utf-8\r\n", type);
	if (disposition)
		sbuf_printf(b, "Content-Disposition: %s\r\n", disposition);
	if (is_7bit(s, len)) {
		sbuf_adds(b, "Content-Transfer-Encoding: 7bit\r\n\r\n");
		add_crlf_text(b, s, len);
	} else {
		sbuf_adds(b, "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
		mime_qp(b, s, len);
	}
}

static void
compose_header(struct sbuf *b, const struct mime_report *r, const char *mixed)
{
	char date[64], msgid[MIME_MSGID_MAX + 2];

	sbuf_printf(b, "From: mailtest <%s>\r\n", r->from);
	sbuf_printf(b, "To: <%s>\r\n", r->to);
	mime_header(b, "Subject", r->subject);
	mime_date(r->date, date, sizeof(date));
	sbuf_printf(b, "Date: %s\r\n", date);
	sbuf_printf(b, "Message-ID: %s\r\n", r->message_id);
	if (r->in_reply_to && mime_msgid_ok(r->in_reply_to, msgid, sizeof(msgid)) == 0) {
		sbuf_printf(b, "In-Reply-To: %s\r\n", msgid);
		sbuf_printf(b, "References: %s\r\n", msgid);
	}
	sbuf_adds(b, "Auto-Submitted: auto-replied\r\n");	/* RFC 3834 5 */
	mime_header(b, "X-Mailtest-Loop", r->loop_token);
	sbuf_printf(b, "X-Mailtest-Id: %s\r\n", r->id);
	sbuf_adds(b, "MIME-Version: 1.0\r\n");
	sbuf_printf(b, "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n", mixed);
}

char *
mime_compose(const struct mime_report *r, size_t *len)
{
	struct sbuf b;
	char mixed[64], alt[64], disp[128];
	size_t hlen = r->orig_header_len;

	snprintf(mixed, sizeof(mixed), "=_mt_mixed_%s", r->id);
	snprintf(alt, sizeof(alt), "=_mt_alt_%s", r->id);
	sbuf_init(&b, 0);
	compose_header(&b, r, mixed);
	sbuf_adds(&b, "This is a MIME message: the mailtest report, as text and HTML, "
	    "with the\r\nJSON report and the header of the tested message attached.\r\n");

	sbuf_printf(&b, "\r\n--%s\r\nContent-Type: multipart/alternative; "
	    "boundary=\"%s\"\r\n\r\n", mixed, alt);
	sbuf_printf(&b, "--%s\r\n", alt);
	add_text_part(&b, "text/plain", NULL, r->text, strlen(r->text));
	sbuf_printf(&b, "\r\n--%s\r\n", alt);
	sbuf_adds(&b, "Content-Type: text/html; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
	mime_qp(&b, r->html, strlen(r->html));
	sbuf_printf(&b, "\r\n--%s--\r\n", alt);

	sbuf_printf(&b, "\r\n--%s\r\n", mixed);
	sbuf_printf(&b, "Content-Type: application/json; name=\"mailtest-%s.json\"\r\n"
	    "Content-Disposition: attachment; filename=\"mailtest-%s.json\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n", r->id, r->id);
	mime_base64(&b, r->json, strlen(r->json));

	sbuf_printf(&b, "\r\n--%s\r\n", mixed);
	if (hlen > MIME_HEADERS_MAX)
		hlen = MIME_HEADERS_MAX;
	snprintf(disp, sizeof(disp), "attachment; filename=\"original-headers-%s.txt\"",
	    r->id);
	add_text_part(&b, "text/rfc822-headers", disp, r->orig_header ? r->orig_header : "",
	    r->orig_header ? hlen : 0);
	sbuf_printf(&b, "\r\n--%s--\r\n", mixed);
	if (b.overflow)
		fatal("report message larger than %u bytes", SBUF_DEFAULT_LIMIT);
	*len = b.len;
	return sbuf_steal(&b);
}
