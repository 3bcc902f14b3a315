/*
 * report_ar.c - the Authentication-Results header field (RFC 8601) for a
 * verification.  Methods: spf (smtp.mailfrom / smtp.helo, RFC 7208 9.1),
 * dkim (header.d, header.i, header.s, header.a, header.b, RFC 8601 2.7.1),
 * dmarc (header.from, RFC 7489 11.2), dkim-adsp (header.from, RFC 5617 5.4),
 * iprev (policy.iprev, RFC 8601 2.7.3).
 *
 * Every value that came from the message or DNS is written as an RFC 2045
 * token when it is one, and as a quoted-string otherwise, with control and
 * non-ASCII bytes dropped, so nothing can end the field or add another.
 * The field stays under AR_LIMIT: values are cut at AR_MAX_VALUE and DKIM
 * results past AR_DKIM_BUDGET are only counted.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "report.h"

#define AR_MAX_VALUE	256	/* longer values are cut (b= prefixes, reasons) */
#define AR_LIMIT	(64 * 1024)	/* the whole field */
/*
 * DKIM results are listed while the field is below this; the rest are
 * counted in a comment.  A message may carry up to MSG_MAX_FIELDS
 * signatures, each listed one may take 6 quoted values (< 3 KiB), and what
 * follows DKIM (DMARC, ADSP, iprev) < 4 KiB: 32 KiB keeps the field under
 * AR_LIMIT whatever the values.
 */
#define AR_DKIM_BUDGET	(32 * 1024)

static int
is_token_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* A domain-name or local@domain as RFC 8601 pvalue allows, else quoted. */
static void
add_value(struct sbuf *b, const char *v, int allow_at)
{
	size_t n = 0, ats = 0;
	int token = *v != '\0';

	for (const char *p = v; *p && n < AR_MAX_VALUE; p++, n++) {
		unsigned char c = (unsigned char)*p;

		if (c == '@' && allow_at && ats++ == 0)
			continue;
		if (!is_token_char(c))
			token = 0;
	}
	if (token && strlen(v) <= AR_MAX_VALUE) {
		sbuf_adds(b, v);
		return;
	}
	sbuf_addc(b, '"');
	n = 0;
	for (const char *p = v; *p && n < AR_MAX_VALUE; p++, n++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20 || c >= 0x7f)
			continue;
		if (c == '"' || c == '\\')
			sbuf_addc(b, '\\');
		sbuf_addc(b, (char)c);
	}
	sbuf_addc(b, '"');
}

static void
sep(struct sbuf *b, int fold)
{
	sbuf_adds(b, fold ? ";\n\t" : "; ");
}

static void
add_prop(struct sbuf *b, const char *name, const char *v, int allow_at)
{
	if (v == NULL || *v == '\0')
		return;
	sbuf_printf(b, " %s=", name);
	add_value(b, v, allow_at);
}

static void
add_reason(struct sbuf *b, enum auth_res r, const char *reason)
{
	if (reason == NULL || r == AUTH_PASS || r == AUTH_NONE)
		return;
	sbuf_adds(b, " reason=");
	add_value(b, reason, 0);
}

/* Only lower-case letters: a policy word from DNS cannot inject anything. */
static const char *
word(const char *s, char *buf, size_t n)
{
	size_t i = 0;

	for (; s && *s && i + 1 < n; s++)
		if (islower((unsigned char)*s))
			buf[i++] = *s;
	buf[i] = '\0';
	return buf;
}

char *
report_ar(const struct verify_result *r, const char *authserv_id, int fold)
{
	struct sbuf b;

	sbuf_init(&b, AR_LIMIT);
	sbuf_adds(&b, "Authentication-Results: ");
	add_value(&b, authserv_id, 0);

	/* SPF: MAIL FROM (or postmaster@HELO), then HELO when it was checked */
	sep(&b, fold);
	sbuf_printf(&b, "spf=%s", auth_res_name(r->spf.result));
	add_reason(&b, r->spf.result, r->spf.result == AUTH_PERMERROR ||
	    r->spf.result == AUTH_TEMPERROR ? r->spf.reason : NULL);
	if (r->mail_from && *r->mail_from)
		add_prop(&b, "smtp.mailfrom", r->spf.sender ? r->spf.sender : r->mail_from, 1);
	else
		add_prop(&b, "smtp.helo", r->helo, 0);
	if (r->mail_from && *r->mail_from && r->spf_helo.domain != NULL) {
		sep(&b, fold);
		sbuf_printf(&b, "spf=%s", auth_res_name(r->spf_helo.result));
		add_prop(&b, "smtp.helo", r->helo, 0);
	}

	/* DKIM: one resinfo per signature, "none" when there is none */
	if (r->ndkim == 0) {
		sep(&b, fold);
		sbuf_adds(&b, "dkim=none");
		if (r->message_error)
			add_reason(&b, AUTH_PERMERROR, "message could not be parsed");
	}
	for (size_t i = 0; i < r->ndkim; i++) {
		const struct dkim_sig *s = &r->dkim[i];
		char bpre[16] = "";

		if (b.len > AR_DKIM_BUDGET) {
			sbuf_printf(&b, " (%zu more DKIM results not listed)",
			    r->ndkim - i);
			break;
		}
		sep(&b, fold);
		sbuf_printf(&b, "dkim=%s", auth_res_name(s->result));
		add_reason(&b, s->result, s->reason);
		add_prop(&b, "header.d", s->domain, 0);
		add_prop(&b, "header.i", s->identity, 1);
		add_prop(&b, "header.s", s->selector, 0);
		add_prop(&b, "header.a", s->algorithm, 0);
		if (s->b_prefix) {
			str_copy(bpre, s->b_prefix, 9);	/* 8 characters, RFC 6008 */
			add_prop(&b, "header.b", bpre, 0);
		}
	}

	/* DMARC */
	sep(&b, fold);
	sbuf_printf(&b, "dmarc=%s", auth_res_name(r->dmarc.result));
	if (r->dmarc.policy && r->dmarc.result != AUTH_NONE) {
		char w[16];

		sbuf_printf(&b, " (p=%s", word(r->dmarc.p ? r->dmarc.p : r->dmarc.policy,
		    w, sizeof(w)));
		sbuf_printf(&b, " dis=%s)", r->dmarc.result == AUTH_FAIL ?
		    word(r->dmarc.policy, w, sizeof(w)) : "none");
	}
	add_reason(&b, r->dmarc.result, r->dmarc.result == AUTH_PERMERROR ||
	    r->dmarc.result == AUTH_TEMPERROR ? r->dmarc.reason : NULL);
	add_prop(&b, "header.from", r->dmarc.domain ? r->dmarc.domain : r->from_domain, 0);

	/* ADSP (historic) */
	sep(&b, fold);
	sbuf_printf(&b, "dkim-adsp=%s", auth_res_name(r->adsp.result));
	add_prop(&b, "header.from", r->from_address, 1);

	/* iprev */
	sep(&b, fold);
	sbuf_printf(&b, "iprev=%s", auth_res_name(r->iprev.result));
	add_prop(&b, "policy.iprev", r->iprev.ip, 0);
	if (r->iprev.ptr) {
		size_t n = 0;

		sbuf_adds(&b, " (");
		for (const char *p = r->iprev.ptr; *p && n < AR_MAX_VALUE; p++, n++)
			if (is_token_char((unsigned char)*p) || *p == '.')
				sbuf_addc(&b, *p);
		sbuf_adds(&b, ")");
	}
	if (b.overflow)
		fatal("Authentication-Results larger than 64 KiB");
	return sbuf_steal(&b);
}
