/*
 * fuzz_dmarc_record - DMARC records and DMARC's name arithmetic
 * (verify/dmarc_record.c) on arbitrary TXT record bytes.
 *
 * Input: a mode byte, then the text (mode bit 0: prefix "v=DMARC1; ").
 * The text is also taken as a domain name for the tree walk.
 *
 * Invariants:
 *  - dmarc_record_is_dmarc() agrees with a reference of RFC 9989 4.7
 *    ("v", *WSP "=" *WSP, case-sensitive "DMARC1", then *WSP and ";" or
 *    the end);
 *  - parsing never fails and gives defaults or valid values: p/sp/np one of
 *    the enum, text kept exactly when the tag was there, adkim/aspf 'r' or
 *    's', psd 'y'/'n'/'u', pct 0-100, np/t/psd unset in the RFC 7489 view,
 *    the ignored text bounded; the same for both tag sets;
 *  - dmarc_record_tags() describes segments inside the record, in order,
 *    at most DMARC_MAX_TAGS, and a tag it calls OK is one the parse used;
 *  - every segment of an accepted rua= counts at most DMARC_MAX_URIS;
 *  - the walk (RFC 9989 4.10): at most 8 names, each a suffix of the
 *    start on a label boundary, with fewer labels each time, the last one
 *    the TLD; dmarc_domain_under() holds for each.
 */
#include <stdlib.h>
#include <string.h>

#include "../../common/util.h"
#include "../../verify/dmarc_record.h"
#include "fuzz.h"

static int
wsp(char c)
{
	return c == ' ' || c == '\t';
}

static int
ref_is_dmarc(const char *t, size_t n)
{
	size_t i = 0;

	if (n == 0 || (t[0] != 'v' && t[0] != 'V'))
		return 0;
	for (i = 1; i < n && wsp(t[i]); i++)
		;
	if (i == n || t[i++] != '=')
		return 0;
	while (i < n && wsp(t[i]))
		i++;
	if (n - i < 6 || strncmp(t + i, "DMARC1", 6) != 0)
		return 0;
	for (i += 6; i < n && wsp(t[i]); i++)
		;
	return i == n || t[i] == ';';
}

static void
check_req(enum dmarc_req r, const char *text)
{
	FUZZ_CHECK(r >= DMARC_REQ_ABSENT && r <= DMARC_REQ_INVALID, "request %d", r);
	FUZZ_CHECK((r == DMARC_REQ_ABSENT) == (text == NULL), "request %d with text %s",
	    r, text ? text : "(null)");
	if (r != DMARC_REQ_ABSENT && r != DMARC_REQ_INVALID)
		FUZZ_CHECK(dmarc_req_name(r) != NULL, "no name for %d", r);
}

static void
check_parse(const char *t, size_t n, enum dmarc_spec spec)
{
	struct dmarc_record r;
	struct dmarc_tag_info info[DMARC_MAX_TAGS + 8];
	size_t ni, prev = 0;

	dmarc_record_parse(t, n, spec, &r);
	check_req(r.p, r.p_text);
	check_req(r.sp, r.sp_text);
	check_req(r.np, r.np_text);
	FUZZ_CHECK(r.adkim == 'r' || r.adkim == 's', "adkim %d", r.adkim);
	FUZZ_CHECK(r.aspf == 'r' || r.aspf == 's', "aspf %d", r.aspf);
	FUZZ_CHECK(r.psd == 'y' || r.psd == 'n' || r.psd == 'u', "psd %d", r.psd);
	FUZZ_CHECK(r.pct >= 0 && r.pct <= 100, "pct %d", r.pct);
	FUZZ_CHECK(r.testing == 0 || r.testing == 1, "t %d", r.testing);
	if (spec == DMARC_SPEC_7489)
		FUZZ_CHECK(r.np == DMARC_REQ_ABSENT && !r.testing && r.psd == 'u',
		    "RFC 9989 tags used in the RFC 7489 view");
	FUZZ_CHECK(r.rua_valid >= 0 && r.rua_valid <= DMARC_MAX_URIS &&
	    r.ruf_valid >= 0 && r.ruf_valid <= DMARC_MAX_URIS, "uris %d %d",
	    r.rua_valid, r.ruf_valid);
	FUZZ_CHECK(r.rua != NULL || r.rua_valid == 0, "rua_valid without rua");
	FUZZ_CHECK(r.ignored == NULL || strlen(r.ignored) <= DMARC_MAX_IGNORED,
	    "ignored text of %zu octets", strlen(r.ignored));

	ni = dmarc_record_tags(t, n, spec, info, ARRAY_SIZE(info));
	FUZZ_CHECK(ni <= DMARC_MAX_TAGS, "%zu tags described", ni);
	for (size_t i = 0; i < ni; i++) {
		FUZZ_CHECK(info[i].pos >= prev && info[i].pos + info[i].len <= n,
		    "tag %zu at %zu+%zu", i, info[i].pos, info[i].len);
		prev = info[i].pos + info[i].len;
		FUZZ_CHECK(info[i].status <= DMARC_TAG_DUPLICATE, "status %d", info[i].status);
		FUZZ_CHECK(memchr(info[i].name, '\0', sizeof(info[i].name)) != NULL,
		    "name not terminated");
		if (info[i].status == DMARC_TAG_OK) {
			const char *nm = info[i].name;

			FUZZ_CHECK(!str_caseeq(nm, "p") || r.p_text != NULL, "p OK, not used");
			FUZZ_CHECK(!str_caseeq(nm, "sp") || r.sp_text != NULL, "sp OK, not used");
			FUZZ_CHECK(!str_caseeq(nm, "rua") || r.rua != NULL, "rua OK, not used");
			FUZZ_CHECK(!str_caseeq(nm, "pct") || r.pct_given, "pct OK, not used");
		}
	}
	dmarc_record_free(&r);
}

static void
check_walk(const char *t, size_t n)
{
	char *d = xstrndup(t, n), norm[300];
	const char *out[DMARC_WALK_MAX_QUERIES];
	size_t k, labels, prev;

	/* the walk is only ever asked for a name with non-empty labels */
	if (strlen(d) != n || dmarc_domain_norm(d, norm, sizeof(norm)) == NULL ||
	    norm[0] == '.' || strstr(norm, "..") != NULL || norm[strlen(norm) - 1] == '.') {
		free(d);
		return;
	}
	for (const char *p = norm; *p; p++)
		FUZZ_CHECK(!(*p >= 'A' && *p <= 'Z'), "upper case after norm");
	labels = dmarc_domain_labels(norm);
	for (int inc = 0; inc < 2; inc++) {
		k = dmarc_walk_targets(norm, inc, out);
		FUZZ_CHECK(k <= DMARC_WALK_MAX_QUERIES, "%zu walk targets", k);
		FUZZ_CHECK(k > 0 || labels <= 1 - (size_t)inc, "no targets for %s", norm);
		prev = labels + 1;
		for (size_t i = 0; i < k; i++) {
			size_t l, ol, nl;

			FUZZ_CHECK(out[i] != NULL, "NULL target %zu", i);
			ol = strlen(out[i]);
			nl = strlen(norm);
			FUZZ_CHECK(ol <= nl && strcmp(norm + nl - ol, out[i]) == 0 &&
			    (ol == nl || norm[nl - ol - 1] == '.'),
			    "%s is not a suffix of %s", out[i], norm);
			l = dmarc_domain_labels(out[i]);
			FUZZ_CHECK(l < prev, "labels %zu after %zu", l, prev);
			prev = l;
			FUZZ_CHECK(dmarc_domain_under(norm, out[i]), "%s not under %s", norm,
			    out[i]);
			if (i == 0 && inc)
				FUZZ_CHECK(out[i] == norm, "the walk does not start at the start");
		}
		if (k > (size_t)inc)
			FUZZ_CHECK(dmarc_domain_labels(out[k - 1]) == 1, "the walk ends at %s",
			    out[k - 1]);
	}
	free(d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	unsigned mode = fuzz_byte(&in);
	const char *t = (const char *)in.p;
	size_t n = in.n;
	char *buf = NULL;

	if (mode & 1) {
		buf = xmalloc(n + 11);
		memcpy(buf, "v=DMARC1; ", 10);
		memcpy(buf + 10, t, n);
		t = buf;
		n += 10;
	}
	FUZZ_CHECK(dmarc_record_is_dmarc(t, n) == ref_is_dmarc(t, n),
	    "is_dmarc %d, reference %d", dmarc_record_is_dmarc(t, n), ref_is_dmarc(t, n));
	if (dmarc_record_is_dmarc(t, n)) {
		check_parse(t, n, DMARC_SPEC_9989);
		check_parse(t, n, DMARC_SPEC_7489);
	}
	for (size_t i = 0; i < n; i++)
		if (t[i] == ';' || t[i] == ',') {
			(void)dmarc_uri_ok(t, i);
			break;
		}
	(void)dmarc_uri_ok(t, n);
	check_walk((const char *)in.p, in.n);
	free(buf);
	return 0;
}
