/* test_spf_record - verify/spf_record.c: RFC 7208 grammar, domain-spec, macros */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/util.h"
#include "../../verify/spf_record.h"
#include "t.h"

static void
test_is_spf(void)
{
	static const struct { const char *label, *txt; int want; } c[] = {
		{ "4.5 plain", "v=spf1 -all", 1 },
		{ "4.5 bare version", "v=spf1", 1 },
		{ "4.5 case-insensitive", "V=SpF1 ~all", 1 },
		{ "4.5 version must end in space", "v=spf10 -all", 0 },
		{ "4.5 no space after version", "v=spf1mx", 0 },
		{ "4.5 other TXT", "google-site-verification=abc", 0 },
		{ "4.5 leading space", " v=spf1 -all", 0 },
		{ "4.5 short", "v=spf", 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(c); i++)
		T_EQ_INT(spf_record_is_spf(c[i].txt, strlen(c[i].txt)), c[i].want, c[i].label);
}

/* Valid records: the terms as parsed. */
static void
test_parse_ok(void)
{
	static const struct {
		const char	*label, *rec;
		size_t		 nterms, dns;
		int		 idx;		/* term to look at */
		enum spf_kind	 kind;
		char		 qual;
		const char	*spec;
		int		 cidr4, cidr6;
	} c[] = {
		{ "4.6.1 empty record", "v=spf1", 0, 0, -1, 0, 0, NULL, -1, -1 },
		{ "4.6.1 two spaces and trailing space", "v=spf1 a  -all ", 2, 1, 1,
		    SPF_ALL, '-', NULL, -1, -1 },
		{ "5.3 a with dual cidr", "v=spf1 a/24//64 -all", 2, 1, 0, SPF_A, '+',
		    NULL, 24, 64 },
		{ "5.3 a:domain/cidr", "v=spf1 ~a:foo.example.com/24", 1, 1, 0, SPF_A, '~',
		    "foo.example.com", 24, -1 },
		{ "5.3 a with ':' and '/' in the domain", "v=spf1 a:foo:bar/baz.example.com",
		    1, 1, 0, SPF_A, '+', "foo:bar/baz.example.com", -1, -1 },
		{ "5.4 mx ip6 cidr only", "v=spf1 ?mx:%{d}//97", 1, 1, 0, SPF_MX, '?',
		    "%{d}", -1, 97 },
		{ "5.4 mx macro-mania", "v=spf1 -mx:%%%_/.Clara.de/27", 1, 1, 0, SPF_MX, '-',
		    "%%%_/.Clara.de", 27, -1 },
		{ "5.5 ptr bare", "v=spf1 ptr", 1, 1, 0, SPF_PTR, '+', NULL, -1, -1 },
		{ "5.6 ip4 /0", "v=spf1 ip4:1.1.1.1/0 -all", 2, 0, 0, SPF_IP4, '+', NULL, 0, -1 },
		{ "5.6 ip6 /128", "v=spf1 ip6:2001:db8::1/128", 1, 0, 0, SPF_IP6, '+', NULL,
		    -1, 128 },
		{ "5.6 ip6 embedded v4", "v=spf1 ip6:::1.1.1.1/0", 1, 0, 0, SPF_IP6, '+',
		    NULL, -1, 0 },
		{ "5.2 include", "v=spf1 include:_spf.example.com -all", 2, 1, 0, SPF_INCLUDE,
		    '+', "_spf.example.com", -1, -1 },
		{ "5.7 exists with macros", "v=spf1 exists:%{i}.%{s1}.100/86400.rate.%{d}",
		    1, 1, 0, SPF_EXISTS, '+', "%{i}.%{s1}.100/86400.rate.%{d}", -1, -1 },
		{ "6 unknown modifier ignored", "v=spf1 moo.cow-far_out=man:dog/cat ip4:1.2.3.4",
		    2, 0, 0, SPF_UNKNOWN_MOD, 0, "man:dog/cat", -1, -1 },
		{ "6.1 redirect", "v=spf1 redirect=%{d}.d.spf.example.com.", 1, 1, 0,
		    SPF_REDIRECT, 0, "%{d}.d.spf.example.com.", -1, -1 },
		{ "6.2 exp", "v=spf1 -all exp=msg.%{D2}", 2, 0, 1, SPF_EXP, 0, "msg.%{D2}",
		    -1, -1 },
		{ "7.1 toplabel with dashes", "v=spf1 a:foo.example.xn--zckzah -all", 2, 1, 0,
		    SPF_A, '+', "foo.example.xn--zckzah", -1, -1 },
		{ "7.1 upper-case names", "v=spf1 A:EXAMPLE.COM IP4:192.0.2.1 -ALL", 3, 1, 2,
		    SPF_ALL, '-', NULL, -1, -1 },
		{ "4.6.4 dns terms counted", "v=spf1 a mx ptr exists:x.example.com "
		    "include:y.example.com ip4:1.2.3.4 all redirect=z.example.com", 8, 6, 6,
		    SPF_ALL, '+', NULL, -1, -1 },
	};
	struct spf_record r;
	struct spf_error err;

	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		int rc = spf_record_parse(c[i].rec, strlen(c[i].rec), &r, &err);

		T_EQ_INT(rc, 0, c[i].label);
		if (rc < 0) {
			fprintf(stderr, "  %s: at %zu: %s\n", c[i].label, err.pos, err.msg);
			continue;
		}
		T_EQ_INT(r.nterms, c[i].nterms, c[i].label);
		T_EQ_INT(spf_record_dns_terms(&r), c[i].dns, c[i].label);
		if (c[i].idx >= 0 && (size_t)c[i].idx < r.nterms) {
			const struct spf_term *t = &r.terms[c[i].idx];

			T_EQ_INT(t->kind, c[i].kind, c[i].label);
			T_EQ_INT(t->qual, c[i].qual, c[i].label);
			T_EQ_STR(t->spec, c[i].spec, c[i].label);
			T_EQ_INT(t->cidr4, c[i].cidr4, c[i].label);
			T_EQ_INT(t->cidr6, c[i].cidr6, c[i].label);
		}
		spf_record_free(&r);
	}
	/* positions and texts of terms */
	T_EQ_INT(spf_record_parse("v=spf1  mx  -all", 16, &r, &err), 0, "4.6.1 positions");
	T_EQ_INT(r.terms[0].pos, 8, "4.6.1 position of mx");
	T_EQ_INT(r.terms[1].pos, 12, "4.6.1 position of -all");
	T_EQ_STR(r.terms[1].text, "-all", "4.6.1 term text");
	T_EQ_INT(r.has_all, 1, "6.1 has_all");
	spf_record_free(&r);
	T_EQ_INT(spf_record_parse("v=spf1 ip4:192.0.2.7/24", 23, &r, &err), 0, "5.6 ip4 value");
	T_EQ_INT(r.terms[0].ip4.s_addr, inet_addr("192.0.2.7"), "5.6 ip4 address");
	spf_record_free(&r);
}

/* Syntax errors: permerror material, with a position and plain words. */
static void
test_parse_errors(void)
{
	static const struct {
		const char	*label, *rec;
		size_t		 len;		/* 0: strlen */
		size_t		 pos;
		const char	*rfc, *words;
	} c[] = {
		{ "4.6 unknown mechanism after all", "v=spf1 ip4:1.2.3.4 -all moo", 0, 24,
		    "RFC 7208 4.6.1", "unknown mechanism 'moo'" },
		{ "4.6.1 control character", "v=spf1 a:ctrl.example.com\rptr -all", 0, 25,
		    "RFC 7208 4.6.1", "control character 0x0D" },
		{ "4.6.1 newline", "v=spf1 ip4:192.0.2.5\n include:x.example.com", 0, 20,
		    "RFC 7208 4.6.1", "control character 0x0A" },
		{ "3.1 non-ASCII in a domain", "v=spf1 a:\xef\xbb\xbfgarbage.example.net -all",
		    0, 9, "RFC 7208 3.1", "non-ASCII octet 0xEF" },
		{ "3.1 non-ASCII before a term", "v=spf1 \x80" "a:example.net -all", 0, 7,
		    "RFC 7208 3.1", "non-ASCII" },
		{ "7.1 NUL in a domain", "v=spf1 a:foo.example.com\0", 25, 24,
		    "RFC 7208 4.6.1", "control character 0x00" },
		{ "4.6.1 modifier with slash name", "v=spf1 moo.cow/far_out=man:dog/cat", 0, 7,
		    "RFC 7208 4.6.1", "unknown mechanism" },
		{ "6 modifier name starts with digit", "v=spf1 1up=foo", 0, 7, "RFC 7208 6",
		    "must start with a letter" },
		{ "6 empty modifier name", "v=spf1 =all", 0, 7, "RFC 7208 6",
		    "without a name" },
		{ "4.6.1 qualified modifier", "v=spf1 -redirect=x.example.com", 0, 7,
		    "RFC 7208 4.6.1", "cannot have a qualifier" },
		{ "6 redirect as a mechanism", "v=spf1 redirect:t2.example.com", 0, 7,
		    "RFC 7208 6", "is a modifier" },
		{ "6 exp twice", "v=spf1 exp=a.example.com -all exp=b.example.com", 0, 30,
		    "RFC 7208 6", "exp= appears more than once" },
		{ "6 redirect twice", "v=spf1 redirect=a.example.com redirect=a.example.com",
		    0, 30, "RFC 7208 6", "redirect= appears" },
		{ "6.2 empty exp", "v=spf1 exp= -all", 0, 11, "RFC 7208 7.1",
		    "empty domain-spec" },
		{ "6.1 redirect to -all", "v=spf1 redirect=-all ?all", 0, 16, "RFC 7208 7.1",
		    "not a domain name" },
		{ "6 unknown modifier bad macro", "v=spf1 -all foo=%abc", 0, 16,
		    "RFC 7208 7.1", "must be followed by" },
		{ "5.1 all with a dot", "v=spf1 -all.", 0, 8, "RFC 7208 4.6.1",
		    "unknown mechanism 'all.'" },
		{ "5.1 all with an argument", "v=spf1 -all:foobar", 0, 11, "RFC 7208 5.1",
		    "takes no argument" },
		{ "5.1 all with a cidr", "v=spf1 -all/8", 0, 11, "RFC 7208 5.1", "no argument" },
		{ "5.5 ptr with cidr", "v=spf1 ptr/0 -all", 0, 10, "RFC 7208 5.5",
		    "no prefix length" },
		{ "5.5 ptr empty domain", "v=spf1 ptr:", 0, 11, "RFC 7208 7.1", "empty" },
		{ "5.3 a empty domain", "v=spf1 a:", 0, 9, "RFC 7208 7.1", "empty" },
		{ "5.3 a/33", "v=spf1 a/33 -all", 0, 9, "RFC 7208 5.6", "IPv4 prefix length" },
		{ "5.3 a//129", "v=spf1 a//129 -all", 0, 10, "RFC 7208 5.6",
		    "IPv6 prefix length" },
		{ "5.3 a/24/64", "v=spf1 a/24/64 -all", 0, 12, "RFC 7208 5.6",
		    "IPv4 prefix length" },
		{ "7.1 a numeric toplabel", "v=spf1 a:111.222.33.44", 0, 20, "RFC 7208 7.1",
		    "top-level label" },
		{ "7.1 a toplabel starting with dash", "v=spf1 mx:example.-com", 0, 18,
		    "RFC 7208 7.1", "top-level label" },
		{ "7.1 only a toplabel", "v=spf1 a:museum", 0, 9, "RFC 7208 7.1",
		    "not a domain name" },
		{ "7.1 only a toplabel and dot", "v=spf1 a:museum.", 0, 9, "RFC 7208 7.1",
		    "not a domain name" },
		{ "7.1 no dot at all", "v=spf1 a:foo-bar -all", 0, 9, "RFC 7208 7.1",
		    "not a domain name" },
		{ "7.1 port after domain", "v=spf1 a:example.com:8080", 0, 17, "RFC 7208 7.1",
		    "top-level label" },
		{ "5.2 include without domain", "v=spf1 include -all", 0, 14, "RFC 7208 5.2",
		    "needs a domain" },
		{ "5.2 include with cidr", "v=spf1 include:ip5.example.com/24 -all", 0, 27,
		    "RFC 7208 7.1", "top-level label" },
		{ "5.7 exists without domain", "v=spf1 exists", 0, 13, "RFC 7208 5.7",
		    "needs a domain" },
		{ "5.6 ip4 leading zero in cidr", "v=spf1 ip4:1.2.3.4/032", 0, 18,
		    "RFC 7208 5.6", "prefix length" },
		{ "5.6 ip4 /33", "v=spf1 ip4:1.2.3.4/33", 0, 18, "RFC 7208 5.6",
		    "prefix length" },
		{ "5.6 ip4 dual cidr", "v=spf1 ip4:1.2.3.4//32", 0, 18, "RFC 7208 5.6",
		    "prefix length" },
		{ "5.6 ip4 short", "v=spf1 ip4:1.2.3", 0, 11, "RFC 7208 5.6",
		    "not a valid IPv4" },
		{ "5.6 ip4 leading zero in octet", "v=spf1 ip4:1.2.03.4", 0, 11,
		    "RFC 7208 5.6", "not a valid IPv4" },
		{ "5.6 ip4 with port", "v=spf1 ip4:1.2.3.4:8080", 0, 11, "RFC 7208 5.6",
		    "not a valid IPv4" },
		{ "5.6 bare ip4", "v=spf1 ip4", 0, 10, "RFC 7208 5.6", "needs an address" },
		{ "5.6 ip6 bad", "v=spf1 ip6::CAFE::BABE", 0, 11, "RFC 7208 5.6",
		    "not a valid IPv6" },
		{ "5.6 ip6 dual cidr", "v=spf1 ip6:::1.1.1.1//33", 0, 20, "RFC 7208 5.6",
		    "prefix length" },
		{ "7.1 invalid macro char", "v=spf1 -exists:%(ir).sbl.example.com ?all", 0, 15,
		    "RFC 7208 7.1", "'%' must be followed by" },
		{ "7.1 trailing %", "v=spf1 exists:foo%.sbl.example.com", 0, 17,
		    "RFC 7208 7.1", "'%' must be followed by" },
		{ "7.1 c only in exp", "v=spf1 -all exp=%{c}.example.com", 0, 18,
		    "RFC 7208 7.1", "allowed only in exp=" },
		{ "7.1 unknown macro letter", "v=spf1 a:%{a}.example.com", 0, 11,
		    "RFC 7208 7.1", "unknown macro letter 'a'" },
		{ "7.3 zero parts", "v=spf1 a:%{d0}.example.com", 0, 12, "RFC 7208 7.3",
		    "must not be zero" },
		{ "7.1 unterminated macro", "v=spf1 a:%{d2r", 0, 9, "RFC 7208 7.1",
		    "unterminated" },
		{ "7.1 macro inside macro", "v=spf1 a:%{%{d}}.example.com", 0, 11,
		    "RFC 7208 7.1", "unknown macro letter '%'" },
		{ "4.5 not an SPF record", "v=spf10 -all", 0, 0, "RFC 7208 4.5",
		    "must start with" },
	};
	struct spf_record r;
	struct spf_error err;

	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		size_t n = c[i].len ? c[i].len : strlen(c[i].rec);

		memset(&err, 0, sizeof(err));
		T_EQ_INT(spf_record_parse(c[i].rec, n, &r, &err), -1, c[i].label);
		T_EQ_INT(err.pos, c[i].pos, c[i].label);
		T_EQ_STR(err.rfc, c[i].rfc, c[i].label);
		T_OK(strstr(err.msg, c[i].words) != NULL, c[i].label);
		if (strstr(err.msg, c[i].words) == NULL)
			fprintf(stderr, "  %s: message \"%s\"\n", c[i].label, err.msg);
		T_EQ_INT(r.nterms, 0, c[i].label);	/* freed on error */
	}
}

static const char *
fake_p(void *arg, const char *domain)
{
	(void)domain;
	return arg;
}

static void
vars_rfc(struct spf_macro_vars *v, int ip6)
{
	/* RFC 7208 7.4: strong-bad@email.example.com from 192.0.2.3 / 2001:db8::cb01 */
	memset(v, 0, sizeof(*v));
	v->s = "strong-bad@email.example.com";
	v->l = "strong-bad";
	v->o = "email.example.com";
	v->d = "email.example.com";
	v->i = ip6 ? "2.0.0.1.0.d.b.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.c.b.0.1" :
	    "192.0.2.3";
	v->v = ip6 ? "ip6" : "in-addr";
	v->h = "mx.example.org";
	v->c = ip6 ? "2001:db8::cb01" : "192.0.2.3";
	v->r = "receiver.example.net";
	v->t = "1700000000";
	v->p = fake_p;
	v->parg = "mx.example.org";
}

static void
test_expand(void)
{
	static const struct {
		const char	*label, *spec, *want;
		int		 ip6, explain;
	} c[] = {
		{ "7.4 s", "%{s}", "strong-bad@email.example.com", 0, 0 },
		{ "7.4 o", "%{o}", "email.example.com", 0, 0 },
		{ "7.4 d", "%{d}", "email.example.com", 0, 0 },
		{ "7.4 d4", "%{d4}", "email.example.com", 0, 0 },
		{ "7.4 d3", "%{d3}", "email.example.com", 0, 0 },
		{ "7.4 d2", "%{d2}", "example.com", 0, 0 },
		{ "7.4 d1", "%{d1}", "com", 0, 0 },
		{ "7.4 dr", "%{dr}", "com.example.email", 0, 0 },
		{ "7.4 d2r", "%{d2r}", "example.email", 0, 0 },
		{ "7.4 l", "%{l}", "strong-bad", 0, 0 },
		{ "7.4 l-", "%{l-}", "strong.bad", 0, 0 },
		{ "7.4 lr", "%{lr}", "strong-bad", 0, 0 },
		{ "7.4 lr-", "%{lr-}", "bad.strong", 0, 0 },
		{ "7.4 l1r-", "%{l1r-}", "strong", 0, 0 },
		{ "7.4 ir.v._spf.d2", "%{ir}.%{v}._spf.%{d2}",
		    "3.2.0.192.in-addr._spf.example.com", 0, 0 },
		{ "7.4 lr-.lp._spf.d2", "%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com",
		    0, 0 },
		{ "7.4 lr-.lp.ir.v._spf.d2", "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
		    "bad.strong.lp.3.2.0.192.in-addr._spf.example.com", 0, 0 },
		{ "7.4 ir.v.l1r-.lp._spf.d2", "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
		    "3.2.0.192.in-addr.strong.lp._spf.example.com", 0, 0 },
		{ "7.4 d2.trusted-domains", "%{d2}.trusted-domains.example.net",
		    "example.com.trusted-domains.example.net", 0, 0 },
		{ "7.4 ipv6 ir.v._spf.d2", "%{ir}.%{v}._spf.%{d2}",
		    "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf."
		    "example.com", 1, 0 },
		{ "7.3 p", "%{p2}.trusted.example.net", "example.org.trusted.example.net", 0, 0 },
		{ "7.3 escapes", "%%%_%-x.example.com", "% %20x.example.com", 0, 0 },
		{ "7.3 trailing dot dropped in domains", "%{d}.", "email.example.com", 0, 0 },
		{ "7.3 trailing dot kept in explanations", "This is a test.",
		    "This is a test.", 0, 1 },
		{ "7.3 upper case is URL-escaped", "%{S}", "strong-bad%40email.example.com",
		    0, 0 },
		{ "7.3 several delimiters", "%{l2r+-}", "bad.strong", 0, 0 },
		{ "7.3 explanation with c r t", "%{c} at %{r} %{t}",
		    "192.0.2.3 at receiver.example.net 1700000000", 0, 1 },
		{ "7.3 ipv6 c", "%{c} is %{i}", "2001:db8::cb01 is 2.0.0.1.0.d.b.8.0.0.0.0.0.0."
		    "0.0.0.0.0.0.0.0.0.0.0.0.0.0.c.b.0.1", 1, 1 },
		{ "7.3 huge digit count is all parts", "%{d99999999999999999999r}.x.example",
		    "com.example.email.x.example", 0, 0 },
		{ "7.3 uppercase R and D", "%{D2R}", "example.email", 0, 0 },
	};
	struct spf_macro_vars v;
	struct spf_error err;
	char *out;

	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		vars_rfc(&v, c[i].ip6);
		out = NULL;
		T_EQ_INT(spf_macro_expand(c[i].spec, strlen(c[i].spec), &v, c[i].explain ?
		    SPF_EXPAND_EXPLAIN : SPF_EXPAND_DOMAIN, &out, &err), 0, c[i].label);
		T_EQ_STR(out, c[i].want, c[i].label);
		free(out);
	}
	/* 7.3: over 253 octets, labels go from the left */
	{
		struct sbuf b;
		size_t n;

		sbuf_init(&b, 0);
		for (int k = 0; k < 30; k++)
			sbuf_adds(&b, "%{d}.");		/* 30 x 18 octets */
		sbuf_adds(&b, "end.example");
		vars_rfc(&v, 0);
		T_EQ_INT(spf_macro_expand(b.s, b.len, &v, SPF_EXPAND_DOMAIN, &out, &err), 0,
		    "7.3 truncation");
		n = strlen(out);
		T_OK(n <= 253 && n > 253 - 64, "7.3 truncated to at most 253");
		T_OK(str_has_suffix_ci(out, ".email.example.com.end.example"),
		    "7.3 right-hand side kept");
		T_OK(strncmp(out, "email.", 6) == 0 || strncmp(out, "example.", 8) == 0 ||
		    strncmp(out, "com.", 4) == 0, "7.3 cut on a label boundary");
		free(out);
		/* hostile: 20000 macros stay bounded and end the same way */
		sbuf_reset(&b);
		for (int k = 0; k < 20000; k++)
			sbuf_adds(&b, "%{s}");
		sbuf_adds(&b, ".tail.example");
		T_EQ_INT(spf_macro_expand(b.s, b.len, &v, SPF_EXPAND_DOMAIN, &out, &err), 0,
		    "hostile: 20000 macros");
		T_OK(strlen(out) <= 253, "hostile: 20000 macros, bounded");
		T_OK(str_has_suffix_ci(out, ".example.com.tail.example"),
		    "hostile: 20000 macros, tail kept");
		free(out);
		/* explanation: cut at SPF_EXPLAIN_MAX */
		T_EQ_INT(spf_macro_expand(b.s, b.len, &v, SPF_EXPAND_EXPLAIN, &out, &err), 0,
		    "hostile: long explanation");
		T_EQ_INT(strlen(out), SPF_EXPLAIN_MAX, "hostile: explanation capped");
		free(out);
		sbuf_free(&b);
	}
	/* errors in expansion are syntax errors */
	vars_rfc(&v, 0);
	T_EQ_INT(spf_macro_expand("%{r}.example.com", 16, &v, SPF_EXPAND_DOMAIN, &out, &err),
	    -1, "7.1 r not allowed in domain-spec expansion");
	T_OK(out == NULL, "7.1 no output on error");
	T_EQ_INT(spf_macro_expand("The %{x}-files.", 15, &v, SPF_EXPAND_EXPLAIN, &out, &err),
	    -1, "6.2 explanation with bad macro");
	T_EQ_INT(spf_macro_expand("bad\x01text", 8, &v, SPF_EXPAND_EXPLAIN, &out, &err),
	    -1, "6.2 control character in explanation");
	T_EQ_INT(spf_macro_expand("\xef\xbb\xbf" "Explanation", 14, &v, SPF_EXPAND_EXPLAIN,
	    &out, &err), -1, "6.2 non-ASCII explanation");
}

static void
test_domain_spec(void)
{
	static const struct { const char *label, *spec; int ok; } c[] = {
		{ "7.1 plain", "example.com", 1 },
		{ "7.1 trailing dot", "example.com.", 1 },
		{ "7.1 ends in macro", "%{d}", 1 },
		{ "7.1 ends in %%", "foo%%", 1 },
		{ "7.1 empty label is syntax-valid", "mail.example...com", 1 },
		{ "7.1 leading dot is syntax-valid", ".museum", 1 },
		{ "7.1 macro then dot only", "%{d}.", 0 },
		{ "7.1 toplabel all digits", "abc.123", 0 },
		{ "7.1 toplabel digits and dash", "abc.1-2", 1 },
		{ "7.1 toplabel ends with dash", "abc.com-", 0 },
		{ "7.1 single label", "localhost", 0 },
		{ "7.1 space", "a b.example.com", 0 },
		{ "7.1 two trailing dots", "example.com..", 0 },
		{ "7.1 empty", "", 0 },
	};
	struct spf_error err;

	for (size_t i = 0; i < ARRAY_SIZE(c); i++)
		T_EQ_INT(spf_domain_spec_check(c[i].spec, strlen(c[i].spec), &err) == 0,
		    c[i].ok, c[i].label);
}

static void
test_domain_ok(void)
{
	static const struct { const char *label, *d; int ok; } c[] = {
		{ "4.3 plain", "example.com", 1 },
		{ "4.3 single label", "A2345678", 0 },
		{ "4.3 empty label", "A...example.com", 0 },
		{ "4.3 63-octet label",
		    "a12345678901234567890123456789012345678901234567890123456789012.example.com", 1 },
		{ "4.3 64-octet label",
		    "a123456789012345678901234567890123456789012345678901234567890123.example.com", 0 },
		{ "4.3 empty", "", 0 },
		{ "4.3 leading dot", ".example.com", 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(c); i++)
		T_EQ_INT(spf_domain_ok(c[i].d), c[i].ok, c[i].label);
}

/* Hostile records: bounded, no crash, clear errors. */
static void
test_hostile(void)
{
	struct spf_record r;
	struct spf_error err;
	struct sbuf b;
	char *big, *p;

	/* 65535 octets of ip4 terms parse */
	sbuf_init(&b, 0);
	sbuf_adds(&b, "v=spf1");
	while (b.len + 16 < SPF_RECORD_MAX_LEN)
		sbuf_adds(&b, " ip4:192.0.2.1");
	T_EQ_INT(spf_record_parse(b.s, b.len, &r, &err), 0, "hostile: 64 kB record");
	T_OK(r.nterms > 4000, "hostile: 64 kB record, terms");
	spf_record_free(&r);
	/* one octet more than a TXT record can hold */
	big = xmalloc(SPF_RECORD_MAX_LEN + 2);
	memset(big, 'a', SPF_RECORD_MAX_LEN + 1);
	memcpy(big, "v=spf1 ", 7);
	big[SPF_RECORD_MAX_LEN + 1] = '\0';
	T_EQ_INT(spf_record_parse(big, SPF_RECORD_MAX_LEN + 1, &r, &err), -1,
	    "hostile: over 65535 octets");
	free(big);
	/* deeply nested-looking macros */
	sbuf_reset(&b);
	sbuf_adds(&b, "v=spf1 a:");
	for (int k = 0; k < 5000; k++)
		sbuf_adds(&b, "%{d999r}");
	T_EQ_INT(spf_record_parse(b.s, b.len, &r, &err), 0, "hostile: 5000 macros");
	spf_record_free(&r);
	sbuf_reset(&b);
	sbuf_adds(&b, "v=spf1 a:");
	for (int k = 0; k < 2000; k++)
		sbuf_adds(&b, "%{");
	T_EQ_INT(spf_record_parse(b.s, b.len, &r, &err), -1, "hostile: 2000 x '%{'");
	/* every byte value as a term */
	for (int c = 0; c < 256; c++) {
		char rec[16];
		size_t n;
		int rc;

		n = (size_t)snprintf(rec, sizeof(rec), "v=spf1 a%c", c ? c : 'x');
		if (c == 0)
			rec[n - 1] = '\0';
		rc = spf_record_parse(rec, n, &r, &err);
		if (rc == 0)
			spf_record_free(&r);
		/* "a " is a mechanism, "a=" an unknown modifier with an empty value */
		T_EQ_INT(rc, c == ' ' || c == '=' ? 0 : -1, "hostile: byte after a");
	}
	/* a printable copy escapes control characters */
	p = spf_printable("v=spf1 a\0b\r", 11);
	T_EQ_STR(p, "v=spf1 a\\x00b\\x0D", "printable");
	free(p);
	/* and 8-bit octets, as spf_record.h says (found by fuzz_spf_record) */
	p = spf_printable("v=spf1 include:caf\xc3\xa9.example \x7f\xff", 31);
	T_EQ_STR(p, "v=spf1 include:caf\\xC3\\xA9.example \\x7F\\xFF",
	    "printable: 8-bit and DEL escaped (regress fuzz_spf_record)");
	free(p);
	sbuf_free(&b);
}

int
main(void)
{
	test_is_spf();
	test_parse_ok();
	test_parse_errors();
	test_expand();
	test_domain_spec();
	test_domain_ok();
	test_hostile();
	return t_done("test_spf_record");
}
