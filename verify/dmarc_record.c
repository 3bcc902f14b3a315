/* dmarc_record.c - DMARC record syntax and name arithmetic: see dmarc_record.h */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "dmarc_record.h"

static int
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 9989 4.8: dmarc-value = %x20-3A / %x3C-7E (any printing character but ";") */
static int
value_char_ok(char c)
{
	unsigned char u = (unsigned char)c;

	return (u >= 0x20 && u <= 0x3a) || (u >= 0x3c && u <= 0x7e);
}

int
dmarc_record_is_dmarc(const char *txt, size_t len)
{
	size_t i = 0;

	if (len < 1 || (txt[0] != 'v' && txt[0] != 'V'))
		return 0;
	for (i = 1; i < len && is_wsp(txt[i]); i++)
		;
	if (i >= len || txt[i] != '=')
		return 0;
	for (i++; i < len && is_wsp(txt[i]); i++)
		;
	/* %s"DMARC1": case-sensitive (RFC 7405) */
	if (len - i < 6 || memcmp(txt + i, "DMARC1", 6) != 0)
		return 0;
	for (i += 6; i < len && is_wsp(txt[i]); i++)
		;
	return i == len || txt[i] == ';';
}

const char *
dmarc_req_name(enum dmarc_req r)
{
	switch (r) {
	case DMARC_REQ_NONE:		return "none";
	case DMARC_REQ_QUARANTINE:	return "quarantine";
	case DMARC_REQ_REJECT:		return "reject";
	default:			return NULL;
	}
}

static int
word_eq(const char *v, size_t n, const char *w)
{
	return strlen(w) == n && str_ncaseeq(v, w, n);
}

/* RFC 9989 4.8 dmarc-request; ABNF strings are case-insensitive (RFC 5234 2.3) */
static enum dmarc_req
parse_request(const char *v, size_t n)
{
	if (word_eq(v, n, "none"))
		return DMARC_REQ_NONE;
	if (word_eq(v, n, "quarantine"))
		return DMARC_REQ_QUARANTINE;
	if (word_eq(v, n, "reject"))
		return DMARC_REQ_REJECT;
	return DMARC_REQ_INVALID;
}

static int
uri_char_ok(unsigned char c)
{
	/* RFC 3986 2.2/2.3 unreserved and reserved characters, minus ","
	 * and "!" which RFC 9989 4.8 requires to be percent-encoded */
	if (ascii_isalpha((char)c) || ascii_isdigit((char)c))
		return 1;
	return c != 0 && strchr("-._~:/?#[]@$&'()*+;=", c) != NULL;
}

static int
hexdig(char c)
{
	return ascii_isdigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int
dmarc_uri_ok(const char *s, size_t n)
{
	size_t i, end = n;

	if (n == 0 || n > DMARC_MAX_URI_LEN)
		return 0;
	/* obs-dmarc-report-size = "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] */
	for (i = 0; i < n; i++)
		if (s[i] == '!')
			break;
	if (i < n) {
		size_t j = i + 1, d = 0;

		while (j < n && ascii_isdigit(s[j]))
			j++, d++;
		if (j < n && strchr("kmgtKMGT", s[j]) != NULL)
			j++;
		if (d == 0 || j != n)
			return 0;
		end = i;
	}
	/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */
	if (end == 0 || !ascii_isalpha(s[0]))
		return 0;
	for (i = 1; i < end && s[i] != ':'; i++)
		if (!ascii_isalpha(s[i]) && !ascii_isdigit(s[i]) && s[i] != '+' && s[i] != '-' &&
		    s[i] != '.')
			return 0;
	if (i >= end || i + 1 >= end)
		return 0;
	for (i++; i < end; i++) {
		if (s[i] == '%') {
			if (i + 2 >= end)
				return 0;
			if (!hexdig(s[i + 1]) || !hexdig(s[i + 2]))
				return 0;
			i += 2;
			continue;
		}
		if (!uri_char_ok((unsigned char)s[i]) || s[i] == ';')
			return 0;
	}
	return 1;
}

/* dmarc-urilist: URIs separated by *WSP "," *WSP; count the valid ones */
static int
count_uris(const char *v, size_t n, int *all_ok)
{
	size_t i = 0;
	int good = 0, seen = 0;

	*all_ok = 1;
	while (i <= n && seen < DMARC_MAX_URIS) {
		size_t b, e;

		while (i < n && is_wsp(v[i]))
			i++;
		b = i;
		while (i < n && v[i] != ',')
			i++;
		e = i;
		while (e > b && is_wsp(v[e - 1]))
			e--;
		seen++;
		if (dmarc_uri_ok(v + b, e - b))
			good++;
		else
			*all_ok = 0;
		i++;	/* past the comma (or the end) */
	}
	return good;
}

static int
parse_pct(const char *v, size_t n, int *out)
{
	int x = 0;

	if (n == 0 || n > 3)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!ascii_isdigit(v[i]))
			return -1;
		x = x * 10 + (v[i] - '0');
	}
	if (x > 100)
		return -1;
	*out = x;
	return 0;
}

/* dmarc-fo (RFC 9989 4.8): colon-separated 0, 1, d, s; 0 and 1 exclusive */
static int
fo_ok(const char *v, size_t n)
{
	int zero_one = 0, d = 0, s = 0;
	size_t i = 0;

	while (i < n) {
		if (i + 1 < n && v[i + 1] != ':')
			return 0;
		switch (v[i]) {
		case '0': case '1':
			if (zero_one++)
				return 0;
			break;
		case 'd': case 'D':
			if (d++)
				return 0;
			break;
		case 's': case 'S':
			if (s++)
				return 0;
			break;
		default:
			return 0;
		}
		i += 2;
	}
	return n > 0 && v[n - 1] != ':';
}

static void
note_ignored(struct sbuf *ign, const char *what, size_t n)
{
	if (ign->len > 0)
		sbuf_adds(ign, "; ");
	sbuf_add(ign, what, n);
}

enum tag_id {
	TAG_UNKNOWN = -1, TAG_P, TAG_SP, TAG_NP, TAG_ADKIM, TAG_ASPF, TAG_T,
	TAG_PSD, TAG_PCT, TAG_RUA, TAG_RUF, TAG_FO, TAG_RI, TAG_RF, TAG_V, TAG_COUNT
};

static const struct {
	const char	*name;
	int		 in9989, in7489;
} tag_tab[TAG_COUNT] = {
	[TAG_P] = { "p", 1, 1 },	[TAG_SP] = { "sp", 1, 1 },
	[TAG_NP] = { "np", 1, 0 },	[TAG_ADKIM] = { "adkim", 1, 1 },
	[TAG_ASPF] = { "aspf", 1, 1 },	[TAG_T] = { "t", 1, 0 },
	[TAG_PSD] = { "psd", 1, 0 },	[TAG_PCT] = { "pct", 1, 1 },
	[TAG_RUA] = { "rua", 1, 1 },	[TAG_RUF] = { "ruf", 1, 1 },
	[TAG_FO] = { "fo", 1, 1 },	[TAG_RI] = { "ri", 1, 1 },
	[TAG_RF] = { "rf", 1, 1 },	[TAG_V] = { "v", 1, 1 },
};

static enum tag_id
tag_lookup(const char *name, size_t n, enum dmarc_spec spec)
{
	for (int i = 0; i < TAG_COUNT; i++)
		if (word_eq(name, n, tag_tab[i].name))
			return (spec == DMARC_SPEC_9989 ? tag_tab[i].in9989 :
			    tag_tab[i].in7489) ? (enum tag_id)i : TAG_UNKNOWN;
	return TAG_UNKNOWN;
}

/* Apply one known tag's value; 0 if valid, -1 if the value is not valid. */
static int
apply_tag(struct dmarc_record *r, enum tag_id id, const char *v, size_t n)
{
	int all_ok, x;

	switch (id) {
	case TAG_P:
		r->p_text = xstrndup(v, n);
		return (r->p = parse_request(v, n)) == DMARC_REQ_INVALID ? -1 : 0;
	case TAG_SP:
		r->sp_text = xstrndup(v, n);
		return (r->sp = parse_request(v, n)) == DMARC_REQ_INVALID ? -1 : 0;
	case TAG_NP:
		r->np_text = xstrndup(v, n);
		return (r->np = parse_request(v, n)) == DMARC_REQ_INVALID ? -1 : 0;
	case TAG_ADKIM:
	case TAG_ASPF:
		if (n != 1 || strchr("rRsS", v[0]) == NULL)
			return -1;
		*(id == TAG_ADKIM ? &r->adkim : &r->aspf) = (char)ascii_lower(v[0]);
		return 0;
	case TAG_T:
		if (n != 1 || strchr("yYnN", v[0]) == NULL)
			return -1;
		r->testing = ascii_lower(v[0]) == 'y';
		return 0;
	case TAG_PSD:
		if (n != 1 || strchr("yYnNuU", v[0]) == NULL)
			return -1;
		r->psd = (char)ascii_lower(v[0]);
		return 0;
	case TAG_PCT:
		if (parse_pct(v, n, &x) < 0)
			return -1;
		r->pct = x;
		r->pct_given = 1;
		return 0;
	case TAG_RUA:
	case TAG_RUF:
		x = count_uris(v, n, &all_ok);
		if (id == TAG_RUA) {
			r->rua = xstrndup(v, n);
			r->rua_valid = x;
		} else {
			r->ruf = xstrndup(v, n);
			r->ruf_valid = x;
		}
		return all_ok ? 0 : -1;
	case TAG_FO:
		return fo_ok(v, n) ? 0 : -1;
	case TAG_RI:
		for (size_t i = 0; i < n; i++)
			if (!ascii_isdigit(v[i]))
				return -1;
		return n > 0 ? 0 : -1;
	case TAG_RF:
	case TAG_V:
	case TAG_UNKNOWN:
	case TAG_COUNT:
		return 0;
	}
	return 0;
}

/*
 * One "tag = value" segment (already without its ";"), WSP around.
 * Returns the tag id (TAG_UNKNOWN for unknown tags) or -2 for a syntax
 * error; the value in *vb, *vn.
 */
static int
split_tag(const char *s, size_t n, enum dmarc_spec spec, const char **vb, size_t *vn)
{
	size_t i = 0, nb, ne;

	while (i < n && is_wsp(s[i]))
		i++;
	while (n > i && is_wsp(s[n - 1]))
		n--;
	nb = i;
	while (i < n && ascii_isalpha(s[i]))
		i++;
	ne = i;
	if (ne == nb)
		return -2;
	while (i < n && is_wsp(s[i]))
		i++;
	if (i >= n || s[i] != '=')
		return -2;
	for (i++; i < n && is_wsp(s[i]); i++)
		;
	if (i >= n)
		return -2;
	for (size_t k = i; k < n; k++)
		if (!value_char_ok(s[k]))
			return -2;
	*vb = s + i;
	*vn = n - i;
	return tag_lookup(s + nb, ne - nb, spec);
}

/* The tag name of a segment as published (letters only, cut to fit). */
static void
seg_name(const char *s, size_t n, char *out, size_t outlen)
{
	size_t i = 0, o = 0;

	while (i < n && is_wsp(s[i]))
		i++;
	while (i < n && ascii_isalpha(s[i]) && o + 1 < outlen)
		out[o++] = s[i++];
	out[o] = '\0';
}

/*
 * The tag walk of dmarc_record_parse(), reporting what became of each
 * segment into info (up to maxinfo entries; *ninfo counts them).
 */
static void
parse_tags(const char *txt, size_t len, enum dmarc_spec spec, struct dmarc_record *r,
    struct sbuf *ign, struct dmarc_tag_info *info, size_t maxinfo, size_t *ninfo)
{
	unsigned seen = 0;
	size_t pos = 0;
	int ntags = 0;

	/* the first segment is the v tag (dmarc_record_is_dmarc() checked it) */
	while (pos < len && txt[pos] != ';')
		pos++;
	while (pos < len && ntags < DMARC_MAX_TAGS) {
		size_t b = ++pos, vn = 0;
		const char *vb = NULL;
		enum dmarc_tag_status st = DMARC_TAG_OK;
		int id;

		while (pos < len && txt[pos] != ';')
			pos++;
		{
			size_t k = b;

			while (k < pos && is_wsp(txt[k]))
				k++;
			if (k == pos)
				continue;	/* empty segment, e.g. a trailing ";" */
		}
		ntags++;
		id = split_tag(txt + b, pos - b, spec, &vb, &vn);
		if (id == -2) {
			note_ignored(ign, txt + b, pos - b);
			st = DMARC_TAG_SYNTAX;
		} else if (id == TAG_V) {
			st = DMARC_TAG_DUPLICATE;	/* ignored: v is the first tag */
		} else if (id == TAG_UNKNOWN) {
			st = DMARC_TAG_UNKNOWN;	/* RFC 9989 4.7: MUST be ignored */
		} else if (seen & (1u << id)) {
			if (r->dup_tag == NULL)
				r->dup_tag = xstrdup(tag_tab[id].name);
			note_ignored(ign, txt + b, pos - b);
			st = DMARC_TAG_DUPLICATE;
		} else {
			seen |= 1u << id;
			if (apply_tag(r, (enum tag_id)id, vb, vn) < 0) {
				note_ignored(ign, txt + b, pos - b);
				st = DMARC_TAG_BADVALUE;
			}
		}
		if (info != NULL && *ninfo < maxinfo) {
			struct dmarc_tag_info *ti = &info[(*ninfo)++];

			ti->pos = b;
			ti->len = pos - b;
			ti->status = st;
			seg_name(txt + b, pos - b, ti->name, sizeof(ti->name));
		}
	}
}

static void
record_init(struct dmarc_record *r)
{
	memset(r, 0, sizeof(*r));
	r->adkim = r->aspf = 'r';
	r->psd = 'u';
	r->pct = 100;
}

void
dmarc_record_parse(const char *txt, size_t len, enum dmarc_spec spec,
    struct dmarc_record *r)
{
	struct sbuf ign;

	record_init(r);
	sbuf_init(&ign, DMARC_MAX_IGNORED);
	parse_tags(txt, len, spec, r, &ign, NULL, 0, NULL);
	if (ign.overflow)
		r->ignored = xstrdup("(too much to show)");
	else if (ign.len > 0)
		r->ignored = sbuf_steal(&ign);
	sbuf_free(&ign);
}

size_t
dmarc_record_tags(const char *txt, size_t len, enum dmarc_spec spec,
    struct dmarc_tag_info *info, size_t maxinfo)
{
	struct dmarc_record r;
	struct sbuf ign;
	size_t n = 0;

	record_init(&r);
	sbuf_init(&ign, DMARC_MAX_IGNORED);
	parse_tags(txt, len, spec, &r, &ign, info, maxinfo, &n);
	sbuf_free(&ign);
	dmarc_record_free(&r);
	return n;
}

void
dmarc_record_free(struct dmarc_record *r)
{
	free(r->p_text);
	free(r->sp_text);
	free(r->np_text);
	free(r->rua);
	free(r->ruf);
	free(r->dup_tag);
	free(r->ignored);
	memset(r, 0, sizeof(*r));
}

char *
dmarc_domain_norm(const char *in, char *out, size_t outlen)
{
	size_t n;

	if (in == NULL || (n = strlen(in)) == 0)
		return NULL;
	while (n > 1 && in[n - 1] == '.')
		n--;
	if (n + 1 > outlen)
		return NULL;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)ascii_lower((unsigned char)in[i]);
	out[n] = '\0';
	return out;
}

size_t
dmarc_domain_labels(const char *d)
{
	size_t n = 1;

	if (d == NULL || *d == '\0')
		return 0;
	for (; *d; d++)
		if (*d == '.')
			n++;
	return n;
}

const char *
dmarc_domain_suffix(const char *d, size_t n)
{
	size_t total = dmarc_domain_labels(d), skip;

	if (n == 0 || n > total)
		return NULL;
	for (skip = total - n; skip > 0; d++)
		if (*d == '.')
			skip--;
	return d;
}

int
dmarc_domain_under(const char *d, const char *parent)
{
	size_t dl = strlen(d), pl = strlen(parent);

	if (pl == 0 || dl < pl)
		return 0;
	if (!str_caseeq(d + dl - pl, parent))
		return 0;
	return dl == pl || d[dl - pl - 1] == '.';
}

size_t
dmarc_walk_targets(const char *start, int include_start,
    const char *out[DMARC_WALK_MAX_QUERIES])
{
	size_t x = dmarc_domain_labels(start), n = 0, k;

	if (x == 0)
		return 0;
	if (include_start)
		out[n++] = start;
	/* step 4: x < 8: drop one label; x >= 8: keep the rightmost 7 */
	k = x - 1 < DMARC_WALK_SHORTEN_TO ? x - 1 : DMARC_WALK_SHORTEN_TO;
	for (; k >= 1 && n < DMARC_WALK_MAX_QUERIES; k--)
		out[n++] = dmarc_domain_suffix(start, k);
	return n;
}
