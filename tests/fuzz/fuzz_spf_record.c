/*
 * fuzz_spf_record - our SPF record grammar and macro expander
 * (verify/spf_record.c) on arbitrary TXT record bytes.
 *
 * Input: a mode byte, then the text.  Mode bit 0: the text as a whole
 * record; else "v=spf1 " + the text.  Bit 1: the text also as a
 * macro-string (domain-spec and explain-string) with hostile macro values
 * taken from the end of the input.
 *
 * Invariants:
 *  - a parsed record starts with "v=spf1" (4.5); its terms lie in the
 *    record in order, their text is the record's, they hold only 0x21-0x7e
 *    (4.6.1); mechanisms have a qualifier of "+-~?", modifiers none;
 *    redirect= and exp= at most once each and their index right; CIDR
 *    lengths within 0-32 / 0-128; every domain-spec passes
 *    spf_domain_spec_check(); spf_record_dns_terms() counts include a mx
 *    ptr exists redirect;
 *  - an error has a position inside the text, words and an RFC section;
 *  - macro expansion succeeds exactly when spf_macro_check() does; in
 *    domain mode the result has no trailing dot (unless it ended in "..":
 *    then it is no name spf_domain_ok() takes) and is at most 253 octets
 *    unless it has no dot to cut at (7.3), never more than SPF_EXPAND_MAX;
 *    a macro-free domain-spec expands to itself (less a trailing dot);
 *    explanations are at most SPF_EXPLAIN_MAX;
 *  - spf_printable() output is printable ASCII.
 */
#include <stdlib.h>
#include <string.h>

#include "../../common/util.h"
#include "../../verify/spf_record.h"
#include "fuzz.h"

static void
check_err(const struct spf_error *e, size_t len)
{
	FUZZ_CHECK(e->pos <= len || e->pos == SPF_RECORD_MAX_LEN, "error at %zu of %zu",
	    e->pos, len);
	FUZZ_CHECK(e->msg[0] != '\0' && e->rfc != NULL, "error without words");
	FUZZ_CHECK(memchr(e->msg, '\0', sizeof(e->msg)) != NULL, "unterminated message");
}

static const char *
fake_p(void *arg, const char *domain)
{
	return arg;
}

static void
check_expand(const char *s, size_t len, const char *val)
{
	struct spf_macro_vars v;
	struct spf_error err;
	char *out = NULL, *out2 = NULL;
	int rc, ck;

	memset(&v, 0, sizeof(v));
	v.s = val;
	v.l = val;
	v.o = "example.com";
	v.d = val;
	v.i = "192.0.2.1";
	v.v = "in-addr";
	v.h = val;
	v.c = "192.0.2.1";
	v.r = val;
	v.t = "1700000000";
	v.p = fake_p;
	v.parg = (void *)val;

	/* domain-spec */
	ck = spf_macro_check(s, len, 0, &err);
	rc = spf_macro_expand(s, len, &v, SPF_EXPAND_DOMAIN, &out, &err);
	FUZZ_CHECK((rc == 0) == (ck == 0), "expand %d, check %d", rc, ck);
	if (rc == 0) {
		size_t n = strlen(out);

		FUZZ_CHECK(n <= SPF_EXPAND_MAX, "expanded to %zu octets", n);
		/* 7.1: the trailing dot of a domain-spec goes; another one left
		 * means an empty label, which spf_domain_ok() refuses to look up */
		FUZZ_CHECK(n == 0 || out[n - 1] != '.' || !spf_domain_ok(out),
		    "trailing dot kept on a name that would be looked up: %s", out);
		FUZZ_CHECK(n <= SPF_DOMAIN_MAX || memchr(out, '.', n) == NULL,
		    "%zu octets with a dot left to cut at", n);
		if (memchr(s, '%', len) == NULL && len <= SPF_DOMAIN_MAX) {
			size_t want = len && s[len - 1] == '.' ? len - 1 : len;

			FUZZ_CHECK(n == want && memcmp(out, s, n) == 0,
			    "literal \"%.*s\" expanded to \"%s\"", (int)len, s, out);
		}
		FUZZ_CHECK(spf_macro_expand(s, len, &v, SPF_EXPAND_DOMAIN, &out2, &err) == 0 &&
		    strcmp(out, out2) == 0, "expansion is not deterministic");
		free(out2);
	} else {
		FUZZ_CHECK(out == NULL, "output on failure");
		check_err(&err, len);
	}
	free(out);

	/* explain-string */
	out = NULL;
	ck = spf_macro_check(s, len, 1, &err);
	rc = spf_macro_expand(s, len, &v, SPF_EXPAND_EXPLAIN, &out, &err);
	FUZZ_CHECK((rc == 0) == (ck == 0), "explain: expand %d, check %d", rc, ck);
	if (rc == 0)
		FUZZ_CHECK(strlen(out) <= SPF_EXPLAIN_MAX, "explanation of %zu octets",
		    strlen(out));
	else
		check_err(&err, len);
	free(out);
}

static void
check_record(const char *txt, size_t len)
{
	struct spf_record r;
	struct spf_error err;
	size_t prev_end = 0, dns = 0;
	int redirects = 0, exps = 0;

	memset(&err, 0, sizeof(err));
	if (spf_record_parse(txt, len, &r, &err) < 0) {
		check_err(&err, len);
		FUZZ_CHECK(r.nterms == 0 && r.terms == NULL, "terms left after a failure");
		return;
	}
	FUZZ_CHECK(spf_record_is_spf(txt, len), "parsed a record without v=spf1");
	for (size_t i = 0; i < r.nterms; i++) {
		const struct spf_term *t = &r.terms[i];

		FUZZ_CHECK(t->pos >= prev_end && t->pos + t->len <= len && t->len > 0,
		    "term %zu at %zu+%zu", i, t->pos, t->len);
		prev_end = t->pos + t->len;
		FUZZ_CHECK(strlen(t->text) == t->len && memcmp(t->text, txt + t->pos, t->len) == 0,
		    "term %zu text", i);
		for (size_t k = 0; k < t->len; k++)
			FUZZ_CHECK(t->text[k] >= 0x21 && t->text[k] <= 0x7e, "octet %#x in a term",
			    (unsigned char)t->text[k]);
		if (t->kind >= SPF_REDIRECT) {
			FUZZ_CHECK(t->qual == 0 && t->name != NULL && t->spec != NULL,
			    "modifier %zu", i);
			redirects += t->kind == SPF_REDIRECT;
			exps += t->kind == SPF_EXP;
			if (t->kind == SPF_REDIRECT)
				FUZZ_CHECK(r.redirect == (int)i, "redirect index");
			if (t->kind == SPF_EXP)
				FUZZ_CHECK(r.exp == (int)i, "exp index");
		} else
			FUZZ_CHECK(t->qual && strchr("+-~?", t->qual), "qualifier %d", t->qual);
		FUZZ_CHECK(t->cidr4 >= -1 && t->cidr4 <= 32 && t->cidr6 >= -1 && t->cidr6 <= 128,
		    "cidr %d //%d", t->cidr4, t->cidr6);
		if (t->spec && t->kind != SPF_UNKNOWN_MOD) {
			struct spf_error e2;

			FUZZ_CHECK(spf_domain_spec_check(t->spec, strlen(t->spec), &e2) == 0,
			    "domain-spec \"%s\" accepted in a record, refused alone", t->spec);
		}
		dns += t->kind == SPF_INCLUDE || t->kind == SPF_A || t->kind == SPF_MX ||
		    t->kind == SPF_PTR || t->kind == SPF_EXISTS || t->kind == SPF_REDIRECT;
		FUZZ_CHECK(spf_kind_name(t->kind) != NULL, "kind %d", t->kind);
	}
	FUZZ_CHECK(redirects <= 1 && exps <= 1, "%d redirect=, %d exp=", redirects, exps);
	FUZZ_CHECK(redirects || r.redirect == -1, "redirect index without redirect=");
	FUZZ_CHECK(exps || r.exp == -1, "exp index without exp=");
	FUZZ_CHECK(spf_record_dns_terms(&r) == dns, "%zu DNS terms, counted %zu",
	    spf_record_dns_terms(&r), dns);
	spf_record_free(&r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	unsigned mode = fuzz_byte(&in);
	const char *text = (const char *)in.p;
	size_t len = in.n, vl;
	char *rec, *val, *pr;

	if (mode & 1) {
		check_record(text, len);
	} else {
		rec = xmalloc(len + 8);
		memcpy(rec, "v=spf1 ", 7);
		memcpy(rec + 7, text, len);
		check_record(rec, len + 7);
		free(rec);
	}
	if (mode & 2) {
		/* the macro values: the last (mode >> 2) octets of the input */
		vl = (mode >> 2) < len ? (mode >> 2) : len;
		val = xstrndup(text + len - vl, vl);
		check_expand(text, len - vl, val);
		free(val);
	}
	pr = spf_printable(text, len);
	FUZZ_CHECK(fuzz_printable(pr), "spf_printable is not printable");
	free(pr);
	return 0;
}
