/* spf_record.c - RFC 7208 record grammar and macros: see spf_record.h */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "spf_record.h"

#define SPF_DELIMITERS	".-+,/_="	/* RFC 7208 7.1 delimiter */

static const struct {
	const char	*name;
	enum spf_kind	 kind;
} spf_mechs[] = {
	{ "all", SPF_ALL }, { "include", SPF_INCLUDE }, { "a", SPF_A },
	{ "mx", SPF_MX }, { "ptr", SPF_PTR }, { "ip4", SPF_IP4 },
	{ "ip6", SPF_IP6 }, { "exists", SPF_EXISTS },
};

/* One macro-expand of RFC 7208 7.1, as scanned. */
struct spf_macro {
	char	 letter;	/* lower-case letter, or '%', '_', '-' */
	int	 upper;		/* URL-escape the value (7.3) */
	int	 digits;	/* right-hand parts to keep; 0 = all */
	int	 reverse;
	char	 delims[sizeof(SPF_DELIMITERS)];
	size_t	 end;		/* offset just past the macro */
};

static void
set_err(struct spf_error *err, size_t pos, const char *rfc, const char *fmt, ...)
	MT_PRINTF(4, 5);

static void
set_err(struct spf_error *err, size_t pos, const char *rfc, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	err->pos = pos;
	err->rfc = rfc;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

const char *
spf_kind_name(enum spf_kind k)
{
	switch (k) {
	case SPF_ALL:		return "all";
	case SPF_INCLUDE:	return "include";
	case SPF_A:		return "a";
	case SPF_MX:		return "mx";
	case SPF_PTR:		return "ptr";
	case SPF_IP4:		return "ip4";
	case SPF_IP6:		return "ip6";
	case SPF_EXISTS:	return "exists";
	case SPF_REDIRECT:	return "redirect";
	case SPF_EXP:		return "exp";
	case SPF_UNKNOWN_MOD:	return "unknown-modifier";
	}
	return "?";
}

int
spf_term_queries_dns(const struct spf_term *t)
{
	switch (t->kind) {
	case SPF_INCLUDE: case SPF_A: case SPF_MX: case SPF_PTR:
	case SPF_EXISTS: case SPF_REDIRECT:
		return 1;
	default:
		return 0;
	}
}

size_t
spf_record_dns_terms(const struct spf_record *r)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nterms; i++)
		n += spf_term_queries_dns(&r->terms[i]);
	return n;
}

/* RFC 7208 4.5: "v=spf1" followed by a space or the end, case-insensitive. */
int
spf_record_is_spf(const char *txt, size_t len)
{
	return len >= 6 && str_ncaseeq(txt, "v=spf1", 6) && (len == 6 || txt[6] == ' ');
}

/* A character that may stand outside a macro (7.1 macro-literal). */
static int
is_macro_literal(int c)
{
	return c >= 0x21 && c <= 0x7e && c != '%';
}

static void
char_err(struct spf_error *err, size_t pos, unsigned char c)
{
	if (c >= 0x80)
		set_err(err, pos, "RFC 7208 3.1", "non-ASCII octet 0x%02X: SPF records "
		    "and explanations are 7-bit ASCII", c);
	else if (c == ' ')
		set_err(err, pos, "RFC 7208 7.1", "a space is not allowed here");
	else
		set_err(err, pos, "RFC 7208 4.6.1", "control character 0x%02X: terms are "
		    "separated by spaces only", c);
}

/*
 * Scan the macro-expand at s[i] (a '%').  explain: c, r and t are allowed
 * (7.1: only in exp= explanations).
 */
static int
macro_scan(const char *s, size_t len, size_t i, int explain, struct spf_macro *m,
    struct spf_error *err)
{
	size_t j = i + 1, nd = 0;
	long digits = 0;
	int c;

	memset(m, 0, sizeof(*m));
	if (j >= len) {
		set_err(err, i, "RFC 7208 7.1", "'%%' at the end: write %%%% for a "
		    "literal percent sign");
		return -1;
	}
	if (s[j] == '%' || s[j] == '_' || s[j] == '-') {
		m->letter = s[j];
		m->end = j + 1;
		return 0;
	}
	if (s[j] != '{') {
		set_err(err, i, "RFC 7208 7.1", "'%%' must be followed by '{', '%%', "
		    "'_' or '-', not %s%c%s", s[j] > 0x20 && s[j] < 0x7f ? "'" : "0x",
		    s[j] > 0x20 && s[j] < 0x7f ? s[j] : '?', s[j] > 0x20 && s[j] < 0x7f ?
		    "'" : "");
		return -1;
	}
	j++;
	if (j >= len) {
		set_err(err, i, "RFC 7208 7.1", "unterminated macro: '}' missing");
		return -1;
	}
	c = (unsigned char)s[j];
	m->upper = c >= 'A' && c <= 'Z';
	c = ascii_lower(c);
	if (strchr("slodiphv", c) == NULL || c == '\0') {
		if (c != '\0' && strchr("crt", c) != NULL) {
			if (!explain) {
				set_err(err, j, "RFC 7208 7.1", "the macro letter '%c' is "
				    "allowed only in exp= explanation text", s[j]);
				return -1;
			}
		} else {
			set_err(err, j, "RFC 7208 7.1", "unknown macro letter %s%c%s "
			    "(valid: s l o d i p h v, and c r t in explanations)",
			    s[j] > 0x20 && s[j] < 0x7f ? "'" : "0x",
			    s[j] > 0x20 && s[j] < 0x7f ? s[j] : '?',
			    s[j] > 0x20 && s[j] < 0x7f ? "'" : "");
			return -1;
		}
	}
	m->letter = (char)c;
	j++;
	while (j < len && ascii_isdigit(s[j])) {
		if (digits < SPF_MACRO_DIGITS_MAX)
			digits = digits * 10 + (s[j] - '0');
		nd++;
		j++;
	}
	if (nd > 0 && digits == 0) {
		set_err(err, j - 1, "RFC 7208 7.3", "the number of parts in a macro "
		    "must not be zero");
		return -1;
	}
	m->digits = digits > SPF_MACRO_DIGITS_MAX ? SPF_MACRO_DIGITS_MAX : (int)digits;
	if (j < len && (s[j] == 'r' || s[j] == 'R')) {
		m->reverse = 1;
		j++;
	}
	while (j < len && s[j] != '\0' && strchr(SPF_DELIMITERS, s[j]) != NULL) {
		if (strchr(m->delims, s[j]) == NULL)
			m->delims[strlen(m->delims)] = s[j];
		j++;
	}
	if (j >= len || s[j] != '}') {
		set_err(err, j < len ? j : i, "RFC 7208 7.1", j < len ?
		    "invalid character in a macro (expected digits, 'r', delimiters "
		    ".-+,/_= and '}')" : "unterminated macro: '}' missing");
		return -1;
	}
	m->end = j + 1;
	return 0;
}

int
spf_macro_check(const char *s, size_t len, int explain, struct spf_error *err)
{
	struct spf_macro m;

	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			if (macro_scan(s, len, i, explain, &m, err) < 0)
				return -1;
			i = m.end;
			continue;
		}
		if (!is_macro_literal(c) && !(explain && c == ' ')) {
			char_err(err, i, c);
			return -1;
		}
		i++;
	}
	return 0;
}

/* 7.1 toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum ) */
static int
toplabel_ok(const char *s, size_t n)
{
	int alpha = 0, dash = 0;

	if (n == 0 || !ascii_isalnum(s[0]) || !ascii_isalnum(s[n - 1]))
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '-')
			dash = 1;
		else if (ascii_isalpha(s[i]))
			alpha = 1;
		else if (!ascii_isdigit(s[i]))
			return 0;
	}
	return alpha || dash;
}

/* 7.1 domain-spec = macro-string domain-end; domain-end = ( "." toplabel [ "." ] ) / macro-expand */
int
spf_domain_spec_check(const char *s, size_t len, struct spf_error *err)
{
	struct spf_macro m;
	size_t last_macro_end = (size_t)-1, e, dot;

	if (len == 0) {
		set_err(err, 0, "RFC 7208 7.1", "empty domain-spec: a domain name is "
		    "required here");
		return -1;
	}
	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			if (macro_scan(s, len, i, 0, &m, err) < 0)
				return -1;
			i = last_macro_end = m.end;
			continue;
		}
		if (!is_macro_literal(c)) {
			char_err(err, i, c);
			return -1;
		}
		i++;
	}
	if (last_macro_end == len)
		return 0;
	e = len;
	if (s[e - 1] == '.')
		e--;
	for (dot = e; dot > 0 && s[dot - 1] != '.'; dot--)
		;
	if (dot == 0 || (last_macro_end != (size_t)-1 && last_macro_end > dot)) {
		set_err(err, 0, "RFC 7208 7.1", "'%.*s' is not a domain name: it must "
		    "end in a dot and a top-level label (or in a macro)",
		    (int)(len > 80 ? 80 : len), s);
		return -1;
	}
	if (!toplabel_ok(s + dot, e - dot)) {
		set_err(err, dot, "RFC 7208 7.1", "'%.*s' is not a valid top-level "
		    "label: letters, digits and inner dashes, not all digits",
		    (int)(e - dot > 63 ? 63 : e - dot), s + dot);
		return -1;
	}
	return 0;
}

/* ip4-cidr-length / ip6-cidr-length: "0" / %x31-39 0*nDIGIT, at most max */
static int
cidr_parse(const char *s, size_t n, int max, int *out)
{
	int v = 0;

	if (n == 0 || n > 3 || (n > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!ascii_isdigit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

/* ip4-network = qnum "." qnum "." qnum "." qnum, qnum without leading zeros */
static int
ip4_parse(const char *s, size_t n, struct in_addr *out)
{
	unsigned char b[4];
	size_t i = 0;

	for (int k = 0; k < 4; k++) {
		size_t st = i;
		int v = 0;

		while (i < n && ascii_isdigit(s[i]) && i - st < 3)
			v = v * 10 + (s[i++] - '0');
		if (i == st || v > 255 || (i - st > 1 && s[st] == '0'))
			return -1;
		b[k] = (unsigned char)v;
		if (k < 3) {
			if (i >= n || s[i] != '.')
				return -1;
			i++;
		}
	}
	if (i != n)
		return -1;
	memcpy(&out->s_addr, b, 4);
	return 0;
}

static int
ip6_parse(const char *s, size_t n, struct in6_addr *out)
{
	char buf[INET6_ADDRSTRLEN + 8];

	if (n == 0 || n >= sizeof(buf))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!ascii_isdigit(s[i]) && strchr("abcdefABCDEF:.", s[i]) == NULL)
			return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return inet_pton(AF_INET6, buf, out) == 1 ? 0 : -1;
}

/*
 * Split a trailing dual-cidr-length off s[0..*n): [ "/" ip4 ] [ "//" ip6 ].
 * *n becomes the length of what precedes it.
 */
static int
dual_cidr_strip(const char *s, size_t *n, size_t pos, struct spf_term *t,
    struct spf_error *err)
{
	size_t e = *n, k;

	for (k = e; k > 0 && ascii_isdigit(s[k - 1]); k--)
		;
	if (k < e && k >= 2 && s[k - 1] == '/' && s[k - 2] == '/') {
		if (cidr_parse(s + k, e - k, 128, &t->cidr6) < 0) {
			set_err(err, pos + k, "RFC 7208 5.6", "invalid IPv6 prefix length "
			    "'/%.*s' (0 to 128, no leading zeros)", (int)(e - k), s + k);
			return -1;
		}
		e = k - 2;
	}
	for (k = e; k > 0 && ascii_isdigit(s[k - 1]); k--)
		;
	if (k < e && k >= 1 && s[k - 1] == '/') {
		if (cidr_parse(s + k, e - k, 32, &t->cidr4) < 0) {
			set_err(err, pos + k, "RFC 7208 5.6", "invalid IPv4 prefix length "
			    "'/%.*s' (0 to 32, no leading zeros)", (int)(e - k), s + k);
			return -1;
		}
		e = k - 1;
	}
	*n = e;
	return 0;
}

static int
domain_spec_at(const char *s, size_t n, size_t pos, struct spf_error *err)
{
	if (spf_domain_spec_check(s, n, err) < 0) {
		if (err)
			err->pos += pos;
		return -1;
	}
	return 0;
}

/* ip4 / ip6: ":" network [ "/" cidr ] */
static int
parse_ip(const char *name, const char *rest, size_t n, size_t pos, struct spf_term *t,
    struct spf_error *err)
{
	const char *slash;
	size_t net;
	int v6 = t->kind == SPF_IP6;

	if (n < 2 || rest[0] != ':') {
		set_err(err, pos, v6 ? "RFC 7208 5.6" : "RFC 7208 5.6",
		    "%s needs an address: %s:ADDRESS[/PREFIX]", name, name);
		return -1;
	}
	rest++, n--, pos++;
	slash = memchr(rest, '/', n);
	net = slash ? (size_t)(slash - rest) : n;
	if ((v6 ? ip6_parse(rest, net, &t->ip6) : ip4_parse(rest, net, &t->ip4)) < 0) {
		set_err(err, pos, "RFC 7208 5.6", "'%.*s' is not a valid %s address%s",
		    (int)(net > 60 ? 60 : net), rest, v6 ? "IPv6" : "IPv4", v6 ? "" :
		    " (four decimal numbers 0-255 without leading zeros)");
		return -1;
	}
	if (slash && cidr_parse(slash + 1, n - net - 1, v6 ? 128 : 32,
	    v6 ? &t->cidr6 : &t->cidr4) < 0) {
		set_err(err, pos + net, "RFC 7208 5.6", "invalid prefix length '%.*s' "
		    "(one '/' and 0 to %d, no leading zeros)", (int)(n - net > 20 ? 20 :
		    n - net), slash, v6 ? 128 : 32);
		return -1;
	}
	return 0;
}

static int
parse_mechanism(const char *s, size_t n, size_t pos, size_t nl, struct spf_term *t,
    struct spf_error *err)
{
	const char *rest = s + nl;
	size_t rn = n - nl, dn;

	switch (t->kind) {
	case SPF_ALL:
		if (rn != 0) {
			set_err(err, pos + nl, "RFC 7208 5.1", "'all' takes no argument");
			return -1;
		}
		return 0;
	case SPF_INCLUDE:
	case SPF_EXISTS:
		if (rn == 0 || rest[0] != ':') {
			set_err(err, pos + nl, t->kind == SPF_INCLUDE ? "RFC 7208 5.2" :
			    "RFC 7208 5.7", "%s needs a domain: %s:DOMAIN",
			    spf_kind_name(t->kind), spf_kind_name(t->kind));
			return -1;
		}
		if (domain_spec_at(rest + 1, rn - 1, pos + nl + 1, err) < 0)
			return -1;
		t->spec = xstrndup(rest + 1, rn - 1);
		return 0;
	case SPF_PTR:
		if (rn == 0)
			return 0;
		if (rest[0] != ':') {
			set_err(err, pos + nl, "RFC 7208 5.5", "ptr takes only an optional "
			    "domain (ptr:DOMAIN), no prefix length");
			return -1;
		}
		if (domain_spec_at(rest + 1, rn - 1, pos + nl + 1, err) < 0)
			return -1;
		t->spec = xstrndup(rest + 1, rn - 1);
		return 0;
	case SPF_A:
	case SPF_MX:
		if (rn == 0)
			return 0;
		if (rest[0] == '/') {
			dn = rn;
			if (dual_cidr_strip(rest, &dn, pos + nl, t, err) < 0)
				return -1;
			if (dn != 0) {
				set_err(err, pos + nl, "RFC 7208 5.3", "invalid prefix length "
				    "after '%s' (write /N for IPv4, //N for IPv6)",
				    spf_kind_name(t->kind));
				return -1;
			}
			return 0;
		}
		if (rest[0] != ':') {
			set_err(err, pos + nl, "RFC 7208 5.3", "unexpected text after '%s'",
			    spf_kind_name(t->kind));
			return -1;
		}
		dn = rn - 1;
		if (dual_cidr_strip(rest + 1, &dn, pos + nl + 1, t, err) < 0 ||
		    domain_spec_at(rest + 1, dn, pos + nl + 1, err) < 0)
			return -1;
		t->spec = xstrndup(rest + 1, dn);
		return 0;
	case SPF_IP4:
	case SPF_IP6:
		return parse_ip(spf_kind_name(t->kind), rest, rn, pos + nl, t, err);
	default:
		return -1;
	}
}

static int
parse_modifier(const char *s, size_t n, size_t pos, size_t nl, struct spf_record *r,
    int idx, struct spf_term *t, struct spf_error *err)
{
	const char *v = s + nl + 1;
	size_t vn = n - nl - 1;

	t->name = xstrndup(s, nl);
	t->spec = xstrndup(v, vn);
	if (nl == 8 && str_ncaseeq(s, "redirect", 8))
		t->kind = SPF_REDIRECT;
	else if (nl == 3 && str_ncaseeq(s, "exp", 3))
		t->kind = SPF_EXP;
	else
		t->kind = SPF_UNKNOWN_MOD;
	if (t->kind == SPF_UNKNOWN_MOD) {
		if (spf_macro_check(v, vn, 0, err) < 0) {
			err->pos += pos + nl + 1;
			return -1;
		}
		return 0;
	}
	if ((t->kind == SPF_REDIRECT ? r->redirect : r->exp) >= 0) {
		set_err(err, pos, "RFC 7208 6", "%s= appears more than once",
		    spf_kind_name(t->kind));
		return -1;
	}
	if (domain_spec_at(v, vn, pos + nl + 1, err) < 0)
		return -1;
	if (t->kind == SPF_REDIRECT)
		r->redirect = idx;
	else
		r->exp = idx;
	return 0;
}

/* One term of 4.6.1: directive / modifier. */
static int
parse_term(const char *s, size_t n, size_t pos, struct spf_record *r,
    struct spf_error *err)
{
	struct spf_term *t;
	size_t i, j = 0, nl;
	char q = 0;

	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e) {
			char_err(err, pos + i, (unsigned char)s[i]);
			return -1;
		}
	}
	if (strchr("+-~?", s[0]) != NULL)
		q = s[j++];
	for (i = j; i < n && (ascii_isalnum(s[i]) || s[i] == '.' || s[i] == '-' ||
	    s[i] == '_'); i++)
		;
	nl = i - j;
	r->terms = xreallocarray(r->terms, r->nterms + 1, sizeof(*r->terms));
	t = &r->terms[r->nterms];
	memset(t, 0, sizeof(*t));
	t->pos = pos;
	t->len = n;
	t->text = xstrndup(s, n);
	t->cidr4 = t->cidr6 = -1;
	r->nterms++;	/* freed with the record even when it fails below */
	if (i < n && s[i] == '=') {
		if (q) {
			set_err(err, pos, "RFC 7208 4.6.1", "a modifier cannot have a "
			    "qualifier ('%c')", q);
			return -1;
		}
		if (nl == 0 || !ascii_isalpha(s[0])) {
			set_err(err, pos, "RFC 7208 6", nl == 0 ? "modifier without a name "
			    "before '='" : "a modifier name must start with a letter");
			return -1;
		}
		return parse_modifier(s, n, pos, nl, r, (int)r->nterms - 1, t, err);
	}
	t->qual = q ? q : '+';
	for (i = 0; i < ARRAY_SIZE(spf_mechs); i++)
		if (strlen(spf_mechs[i].name) == nl && str_ncaseeq(s + j, spf_mechs[i].name, nl))
			break;
	if (i == ARRAY_SIZE(spf_mechs)) {
		if ((nl == 8 && str_ncaseeq(s + j, "redirect", 8)) ||
		    (nl == 3 && str_ncaseeq(s + j, "exp", 3)))
			set_err(err, pos + j, "RFC 7208 6", "'%.*s' is a modifier: write "
			    "%.*s=DOMAIN", (int)nl, s + j, (int)nl, s + j);
		else
			set_err(err, pos + j, "RFC 7208 4.6.1", "unknown mechanism '%.*s'",
			    (int)(n - j > 40 ? 40 : n - j), s + j);
		return -1;
	}
	t->kind = spf_mechs[i].kind;
	if (t->kind == SPF_ALL)
		r->has_all = 1;
	return parse_mechanism(s + j, n - j, pos + j, nl, t, err);
}

int
spf_record_parse(const char *txt, size_t len, struct spf_record *r, struct spf_error *err)
{
	size_t i, st;

	memset(r, 0, sizeof(*r));
	r->redirect = r->exp = -1;
	if (len > SPF_RECORD_MAX_LEN) {
		set_err(err, SPF_RECORD_MAX_LEN, "RFC 7208 3.3", "record longer than "
		    "%d octets", SPF_RECORD_MAX_LEN);
		return -1;
	}
	if (!spf_record_is_spf(txt, len)) {
		set_err(err, 0, "RFC 7208 4.5", "not an SPF record: it must start "
		    "with \"v=spf1\" and a space");
		return -1;
	}
	for (i = 6; i < len;) {
		if (txt[i] == ' ') {
			i++;
			continue;
		}
		for (st = i; i < len && txt[i] != ' '; i++)
			;
		if (parse_term(txt + st, i - st, st, r, err) < 0) {
			spf_record_free(r);
			return -1;
		}
	}
	return 0;
}

void
spf_record_free(struct spf_record *r)
{
	for (size_t i = 0; i < r->nterms; i++) {
		free(r->terms[i].text);
		free(r->terms[i].name);
		free(r->terms[i].spec);
	}
	free(r->terms);
	memset(r, 0, sizeof(*r));
	r->redirect = r->exp = -1;
}

int
spf_domain_ok(const char *d)
{
	size_t n = strlen(d), lab = 0, labels = 0;

	if (n == 0 || n > SPF_DOMAIN_MAX)
		return 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || d[i] == '.') {
			if (lab == 0 || lab > SPF_LABEL_MAX)
				return 0;
			labels++;
			lab = 0;
		} else
			lab++;
	}
	return labels >= 2;
}

char *
spf_printable(const char *s, size_t len)
{
	struct sbuf b;

	sbuf_init(&b, 0);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f)
			sbuf_printf(&b, "\\x%02X", c);
		else
			sbuf_addc(&b, (char)c);
	}
	return sbuf_steal(&b);
}

/* ---- expansion (7.3) ------------------------------------------------ */

static void
url_escape(struct sbuf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
			sbuf_addc(b, (char)c);
		else
			sbuf_printf(b, "%%%02X", c);
	}
}

/* Split on the delimiters, reverse, keep the right-hand parts, join with ".". */
static void
macro_transform(struct sbuf *b, const char *v, const struct spf_macro *m)
{
	const char *delims = m->delims[0] ? m->delims : ".";
	size_t n = strlen(v), np = 1, k = 0, first;
	size_t *st, *ln;
	struct sbuf t;

	if (!m->digits && !m->reverse && !m->delims[0]) {
		if (m->upper)
			url_escape(b, v, n);
		else
			sbuf_add(b, v, n);
		return;
	}
	for (size_t i = 0; i < n; i++)
		np += strchr(delims, v[i]) != NULL && v[i] != '\0';
	st = xcalloc(np, sizeof(*st));
	ln = xcalloc(np, sizeof(*ln));
	st[0] = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || strchr(delims, v[i]) != NULL) {
			ln[k] = i - st[k];
			if (++k < np)
				st[k] = i + 1;
		}
	}
	if (m->reverse) {
		for (size_t i = 0; i < np / 2; i++) {
			size_t a = st[i], l = ln[i];

			st[i] = st[np - 1 - i], ln[i] = ln[np - 1 - i];
			st[np - 1 - i] = a, ln[np - 1 - i] = l;
		}
	}
	first = m->digits && (size_t)m->digits < np ? np - (size_t)m->digits : 0;
	sbuf_init(&t, 0);
	for (size_t i = first; i < np; i++) {
		if (i > first)
			sbuf_addc(&t, '.');
		sbuf_add(&t, v + st[i], ln[i]);
	}
	if (m->upper)
		url_escape(b, t.s ? t.s : "", t.len);
	else
		sbuf_add(b, t.s ? t.s : "", t.len);
	sbuf_free(&t);
	free(st);
	free(ln);
}

static const char *
macro_value(const struct spf_macro_vars *vars, char letter)
{
	const char *v;

	switch (letter) {
	case 's': v = vars->s; break;
	case 'l': v = vars->l; break;
	case 'o': v = vars->o; break;
	case 'd': v = vars->d; break;
	case 'i': v = vars->i; break;
	case 'v': v = vars->v; break;
	case 'h': v = vars->h; break;
	case 'c': v = vars->c; break;
	case 'r': v = vars->r; break;
	case 't': v = vars->t; break;
	case 'p': v = vars->p ? vars->p(vars->parg, vars->d) : NULL; break;
	default: v = NULL; break;
	}
	return v ? v : (letter == 'p' || letter == 'r' ? "unknown" : "");
}

/*
 * Domain mode keeps the working string bounded: the final name is cut to
 * 253 octets by removing whole labels from the left (7.3), so dropping a
 * left part while more than 253 octets remain cannot change the result.
 */
static void
domain_chop(struct sbuf *b)
{
	size_t keep = SPF_EXPAND_MAX / 2;

	if (b->len <= SPF_EXPAND_MAX)
		return;
	memmove(b->s, b->s + b->len - keep, keep);
	b->len = keep;
	b->s[keep] = '\0';
}

static void
domain_finish(struct sbuf *b)
{
	char *dot;

	if (b->len > 0 && b->s[b->len - 1] == '.')
		b->s[--b->len] = '\0';
	while (b->len > SPF_DOMAIN_MAX && (dot = memchr(b->s, '.', b->len)) != NULL) {
		size_t cut = (size_t)(dot - b->s) + 1;

		memmove(b->s, b->s + cut, b->len - cut + 1);
		b->len -= cut;
	}
}

int
spf_macro_expand(const char *s, size_t len, const struct spf_macro_vars *vars,
    enum spf_expand_mode mode, char **out, struct spf_error *err)
{
	int explain = mode == SPF_EXPAND_EXPLAIN;
	struct spf_macro m;
	struct sbuf b;

	*out = NULL;
	if (spf_macro_check(s, len, explain, err) < 0)
		return -1;
	sbuf_init(&b, 0);
	for (size_t i = 0; i < len;) {
		if (s[i] != '%') {
			sbuf_addc(&b, s[i++]);
		} else {
			if (macro_scan(s, len, i, explain, &m, err) < 0) {
				sbuf_free(&b);
				return -1;
			}
			i = m.end;
			if (m.letter == '%')
				sbuf_addc(&b, '%');
			else if (m.letter == '_')
				sbuf_addc(&b, ' ');
			else if (m.letter == '-')
				sbuf_adds(&b, "%20");
			else
				macro_transform(&b, macro_value(vars, m.letter), &m);
		}
		if (explain && b.len >= SPF_EXPLAIN_MAX) {
			b.len = SPF_EXPLAIN_MAX;
			b.s[b.len] = '\0';
			break;
		}
		if (!explain)
			domain_chop(&b);
	}
	if (!explain && b.len > 0)
		domain_finish(&b);
	*out = sbuf_steal(&b);
	return 0;
}
