/* test_dmarc_record.c - DMARC record syntax and tree-walk label arithmetic */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/util.h"
#include "../../verify/dmarc_record.h"
#include "t.h"

static void
test_is_dmarc(void)
{
	static const struct { const char *txt; int want; const char *label; } tab[] = {
		{ "v=DMARC1; p=reject", 1, "plain" },
		{ "v=DMARC1", 1, "version only" },
		{ "v = DMARC1; p=reject", 1, "WSP around = (RFC 9989 4.8 equals)" },
		{ "v=DMARC1 ; p=none", 1, "WSP before ;" },
		{ "V=DMARC1; p=none", 1, "tag name case-insensitive (RFC 5234)" },
		{ "v=dmarc1; p=reject", 0, "value case-sensitive %s\"DMARC1\"" },
		{ "v=DMARC1x; p=reject", 0, "trailing garbage after DMARC1" },
		{ "v=DMARC2; p=reject", 0, "other version" },
		{ "p=reject; v=DMARC1", 0, "v not first (RFC 9989 4.7)" },
		{ " v=DMARC1; p=reject", 0, "leading space" },
		{ "some other txt record", 0, "not DMARC" },
		{ "", 0, "empty" },
	};

	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		T_EQ_INT(dmarc_record_is_dmarc(tab[i].txt, strlen(tab[i].txt)),
		    tab[i].want, tab[i].label);
}

static void
parse(const char *txt, enum dmarc_spec spec, struct dmarc_record *r)
{
	dmarc_record_parse(txt, strlen(txt), spec, r);
}

static void
test_tags(void)
{
	struct dmarc_record r;

	parse("v=DMARC1; p=quarantine; sp=reject; np=none; adkim=s; aspf=S; t=y; "
	    "psd=n; pct=50; rua=mailto:a@example.com,mailto:b@example.com!10m; "
	    "ruf=mailto:f@example.com; fo=0:d; ri=3600; rf=afrf; x=unknown",
	    DMARC_SPEC_9989, &r);
	T_EQ_INT(r.p, DMARC_REQ_QUARANTINE, "p");
	T_EQ_INT(r.sp, DMARC_REQ_REJECT, "sp");
	T_EQ_INT(r.np, DMARC_REQ_NONE, "np");
	T_EQ_STR(r.np_text, "none", "np as published");
	T_EQ_INT(r.adkim, 's', "adkim");
	T_EQ_INT(r.aspf, 's', "aspf=S is strict");
	T_EQ_INT(r.testing, 1, "t=y");
	T_EQ_INT(r.psd, 'n', "psd=n");
	T_EQ_INT(r.pct, 50, "pct");
	T_EQ_INT(r.rua_valid, 2, "two valid rua URIs (one with obsolete !size)");
	T_EQ_STR(r.rua, "mailto:a@example.com,mailto:b@example.com!10m", "rua as published");
	T_EQ_INT(r.ruf_valid, 1, "ruf");
	T_OK(r.ignored == NULL, "nothing ignored (unknown tags are not errors)");
	T_OK(r.dup_tag == NULL, "no duplicate");
	dmarc_record_free(&r);

	parse("v=DMARC1", DMARC_SPEC_9989, &r);
	T_EQ_INT(r.p, DMARC_REQ_ABSENT, "p absent");
	T_EQ_INT(r.adkim, 'r', "adkim default r");
	T_EQ_INT(r.aspf, 'r', "aspf default r");
	T_EQ_INT(r.psd, 'u', "psd default u");
	T_EQ_INT(r.testing, 0, "t default n");
	T_EQ_INT(r.pct, 100, "pct default 100");
	dmarc_record_free(&r);

	parse("v=DMARC1; p = Reject ; adkim = S;", DMARC_SPEC_9989, &r);
	T_EQ_INT(r.p, DMARC_REQ_REJECT, "WSP around = and value case");
	T_EQ_INT(r.adkim, 's', "adkim = S");
	T_OK(r.ignored == NULL, "trailing ; is allowed");
	dmarc_record_free(&r);
}

static void
test_bad_values(void)
{
	struct dmarc_record r;

	/* RFC 9989 4.8: syntax errors are discarded in favour of defaults */
	parse("v=DMARC1; p=none; reject", DMARC_SPEC_9989, &r);
	T_EQ_INT(r.p, DMARC_REQ_NONE, "a tag without = is ignored, p=none stays");
	T_EQ_STR(r.ignored, " reject", "the bad part is kept for the report");
	dmarc_record_free(&r);

	parse("v=DMARC1; p=bogus; adkim=x; aspf=relaxed; t=maybe; psd=q; pct=101; "
	    "fo=0:1", DMARC_SPEC_9989, &r);
	T_EQ_INT(r.p, DMARC_REQ_INVALID, "p=bogus is invalid (4.10.1 decides)");
	T_EQ_STR(r.p_text, "bogus", "p as published");
	T_EQ_INT(r.adkim, 'r', "adkim=x -> default");
	T_EQ_INT(r.aspf, 'r', "aspf=relaxed (not r/s) -> default");
	T_EQ_INT(r.testing, 0, "t=maybe -> default n");
	T_EQ_INT(r.psd, 'u', "psd=q -> default u");
	T_EQ_INT(r.pct, 100, "pct=101 -> default");
	T_OK(r.ignored != NULL && strstr(r.ignored, "fo=0:1") != NULL,
	    "fo=0:1 (0 and 1 exclusive) ignored");
	dmarc_record_free(&r);

	parse("v=DMARC1; p=rej", DMARC_SPEC_9989, &r);
	T_EQ_INT(r.p, DMARC_REQ_INVALID, "no prefix matching (libopendmarc takes p=rej)");
	dmarc_record_free(&r);

	parse("v=DMARC1; p=reject; rua=not a uri", DMARC_SPEC_9989, &r);
	T_EQ_INT(r.rua_valid, 0, "rua with spaces is not a URI");
	dmarc_record_free(&r);

	parse("v=DMARC1; p=reject; p=none", DMARC_SPEC_9989, &r);
	T_EQ_INT(r.p, DMARC_REQ_REJECT, "duplicate: the first p counts");
	T_EQ_STR(r.dup_tag, "p", "duplicate reported");
	dmarc_record_free(&r);

	parse("v=DMARC1; p=reject; =x; 1a=b; sp=", DMARC_SPEC_9989, &r);
	T_EQ_INT(r.p, DMARC_REQ_REJECT, "bad segments do not disturb p");
	T_EQ_INT(r.sp, DMARC_REQ_ABSENT, "sp= with empty value is a syntax error");
	dmarc_record_free(&r);
}

static void
test_spec_7489(void)
{
	struct dmarc_record r;

	/* np, psd and t do not exist in RFC 7489: unknown tags, ignored */
	parse("v=DMARC1; p=reject; np=quarantine; psd=y; t=y", DMARC_SPEC_7489, &r);
	T_EQ_INT(r.np, DMARC_REQ_ABSENT, "7489: np unknown");
	T_EQ_INT(r.psd, 'u', "7489: psd unknown");
	T_EQ_INT(r.testing, 0, "7489: t unknown");
	T_EQ_INT(r.p, DMARC_REQ_REJECT, "7489: p");
	dmarc_record_free(&r);
}

static void
test_uri(void)
{
	static const struct { const char *u; int want; } tab[] = {
		{ "mailto:dmarc@example.com", 1 }, { "https://example.com/r", 1 },
		{ "mailto:x@example.com!50k", 1 }, { "mailto:x%2Cy@example.com", 1 },
		{ "mailto:x@example.com!", 0 }, { "mailto:x@example.com!5x", 0 },
		{ "dmarc@example.com", 0 }, { "1mailto:x@y", 0 }, { "mailto:", 0 },
		{ "mailto:a b@example.com", 0 }, { "mailto:x%2@example.com", 0 },
	};

	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		T_EQ_INT(dmarc_uri_ok(tab[i].u, strlen(tab[i].u)), tab[i].want, tab[i].u);
}

static void
walk_is(const char *start, int include, const char *want[], size_t nwant, const char *label)
{
	const char *t[DMARC_WALK_MAX_QUERIES];
	size_t n = dmarc_walk_targets(start, include, t);

	T_EQ_INT(n, nwant, label);
	for (size_t i = 0; i < n && i < nwant; i++)
		T_EQ_STR(t[i], want[i], label);
}

static void
test_walk(void)
{
	const char *w13[] = { "a.b.c.d.e.f.g.h.i.j.k.example.com", "g.h.i.j.k.example.com",
	    "h.i.j.k.example.com", "i.j.k.example.com", "j.k.example.com",
	    "k.example.com", "example.com", "com" };
	const char *w8[] = { "a.b.c.d.e.f.example.com", "b.c.d.e.f.example.com",
	    "c.d.e.f.example.com", "d.e.f.example.com", "e.f.example.com",
	    "f.example.com", "example.com", "com" };
	const char *w9[] = { "x.a.b.c.d.e.f.example.com", "b.c.d.e.f.example.com",
	    "c.d.e.f.example.com", "d.e.f.example.com", "e.f.example.com",
	    "f.example.com", "example.com", "com" };
	const char *w3[] = { "mail.example.com", "example.com", "com" };
	const char *w3p[] = { "example.com", "com" };
	const char *w1[] = { "com" };

	walk_is("a.b.c.d.e.f.g.h.i.j.k.example.com", 1, w13, 8,
	    "RFC 9989 4.10: 13 labels give the 8 queries of the mailauth case");
	walk_is("a.b.c.d.e.f.example.com", 1, w8, 8, "8 labels: one label dropped");
	walk_is("x.a.b.c.d.e.f.example.com", 1, w9, 8, "9 labels: shortened to 7");
	walk_is("mail.example.com", 1, w3, 3, "short name");
	walk_is("mail.example.com", 0, w3p, 2, "without the start");
	walk_is("com", 1, w1, 1, "a TLD");
	T_EQ_INT(dmarc_walk_targets("", 1, (const char *[8]){ 0 }), 0, "empty name");
}

static void
test_names(void)
{
	char buf[64];

	T_EQ_STR(dmarc_domain_norm("Mail.EXAMPLE.com.", buf, sizeof(buf)),
	    "mail.example.com", "lower-case, trailing dot dropped");
	T_OK(dmarc_domain_norm("example.com", buf, 5) == NULL, "too long for the buffer");
	T_EQ_INT(dmarc_domain_labels("a.b.c"), 3, "labels");
	T_EQ_STR(dmarc_domain_suffix("a.b.example.com", 2), "example.com", "suffix 2");
	T_OK(dmarc_domain_suffix("a.b", 3) == NULL, "suffix too long");
	T_EQ_INT(dmarc_domain_under("mail.Example.com", "example.com"), 1, "under, case");
	T_EQ_INT(dmarc_domain_under("example.com", "example.com"), 1, "equal is under");
	T_EQ_INT(dmarc_domain_under("badexample.com", "example.com"), 0, "label boundary");
	T_EQ_INT(dmarc_domain_under("com", "example.com"), 0, "parent is not under child");
}

/* dmarc_record_tags(): what became of each tag (for dns-check) */
static void
test_tag_info(void)
{
	static const char rec[] = "v=DMARC1; p=reject; rau=mailto:a@b.example; "
	    "pct=150; p=none; adkim=s;; garbage; t=y; v=DMARC1";
	static const struct {
		const char		*name;
		enum dmarc_tag_status	 st;
		const char		*text;
	} want[] = {
		{ "p", DMARC_TAG_OK, " p=reject" },
		{ "rau", DMARC_TAG_UNKNOWN, " rau=mailto:a@b.example" },
		{ "pct", DMARC_TAG_BADVALUE, " pct=150" },
		{ "p", DMARC_TAG_DUPLICATE, " p=none" },
		{ "adkim", DMARC_TAG_OK, " adkim=s" },
		{ "garbage", DMARC_TAG_SYNTAX, " garbage" },
		{ "t", DMARC_TAG_OK, " t=y" },
		{ "v", DMARC_TAG_DUPLICATE, " v=DMARC1" },
	};
	struct dmarc_tag_info ti[16];
	size_t n = dmarc_record_tags(rec, strlen(rec), DMARC_SPEC_9989, ti, 16);

	T_EQ_INT(n, ARRAY_SIZE(want), "tag info: one entry per non-empty segment");
	for (size_t i = 0; i < n && i < ARRAY_SIZE(want); i++) {
		char seg[64];

		snprintf(seg, sizeof(seg), "%.*s", (int)ti[i].len, rec + ti[i].pos);
		T_EQ_STR(ti[i].name, want[i].name, want[i].text);
		T_EQ_INT(ti[i].status, want[i].st, want[i].text);
		T_EQ_STR(seg, want[i].text, want[i].text);
	}
	/* RFC 7489 has no t tag: unknown there */
	n = dmarc_record_tags(rec, strlen(rec), DMARC_SPEC_7489, ti, 16);
	T_EQ_INT(ti[6].status, DMARC_TAG_UNKNOWN, "7489: t= is an unknown tag");
	T_EQ_INT(dmarc_record_tags(rec, strlen(rec), DMARC_SPEC_9989, ti, 2), 2,
	    "tag info: bounded by maxinfo");
}

int
main(void)
{
	test_tag_info();
	test_is_dmarc();
	test_tags();
	test_bad_values();
	test_spec_7489();
	test_uri();
	test_walk();
	test_names();
	return t_done("test_dmarc_record");
}
