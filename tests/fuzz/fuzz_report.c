/*
 * fuzz_report - reply/report_json.c and reply/report_ar.c on hostile values.
 *
 * Input: REPORT_CTL control bytes (results, counts, flags), then the
 * strings, separated by NUL.  Every string field of a struct verify_result
 * (and of the report_meta) takes the next string in turn, cycling; the
 * string "\x7f" stands for NULL.  Counts: rcpt, SPF steps, iprev names 0-4;
 * DKIM signatures 0-4 or, for the control bytes 251-255, 20 to 1000 (a
 * message may carry that many DKIM-Signature fields: MSG_MAX_FIELDS).
 *
 * Invariants, JSON (for up to JSON_MAX_DKIM signatures): both layouts
 * parse back (json_loads) and are valid UTF-8; compact is one line; a value
 * that was valid UTF-8 comes back unchanged; "authentication_results" is
 * report_ar()'s one-line text.
 * Authentication-Results: starts with the field name; printable ASCII only,
 * with "\n\t" after a ';' as the only line break (fold=1) and none for
 * fold=0; quotes and comments balanced; exactly one resinfo (";" outside
 * quotes and comments) per result, each "method=result" with a known method
 * and result word, so no value can add, end or change a result.
 */
#include <stdlib.h>
#include <string.h>

#include "../../common/util.h"
#include "../../reply/report.h"
#include "fuzz.h"
#include "fuzz_result.h"

#define DKIM_MORE	" more DKIM results not listed)"
#define JSON_MAX_DKIM	20

static int
is_result_word(const char *s, size_t n)
{
	for (int i = AUTH_NONE; i <= AUTH_NXDOMAIN; i++) {
		const char *w = auth_res_name((enum auth_res)i);

		if (strlen(w) == n && memcmp(w, s, n) == 0)
			return 1;
	}
	return 0;
}

/* "method=result" at s, with a known method and result word. */
static int
resinfo_ok(const char *s)
{
	static const char *const methods[] = { "spf", "dkim", "dmarc", "dkim-adsp", "iprev" };
	size_t ml = strcspn(s, "="), rl;

	if (s[ml] != '=')
		return 0;
	rl = strspn(s + ml + 1, "abcdefghijklmnopqrstuvwxyz");
	if (!is_result_word(s + ml + 1, rl))
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(methods); i++)
		if (strlen(methods[i]) == ml && memcmp(methods[i], s, ml) == 0)
			return 1;
	return 0;
}

static void
check_ar(const char *ar, const struct verify_result *r, int fold)
{
	static const char head[] = "Authentication-Results: ";
	size_t want = 1 + (r->mail_from && *r->mail_from && r->spf_helo.domain) +
	    (r->ndkim ? r->ndkim : 1) + 3, semis = 0, ndkim = 0, more = 0;
	int quoted = 0, depth = 0;

	FUZZ_CHECK(strncmp(ar, head, sizeof(head) - 1) == 0, "A-R head");
	for (const char *p = ar; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '\n') {
			FUZZ_CHECK(fold && p > ar && p[-1] == ';' && p[1] == '\t',
			    "line break not a fold at offset %zu", (size_t)(p - ar));
			continue;
		}
		FUZZ_CHECK((c >= 0x20 && c < 0x7f) || (c == '\t' && fold && p[-1] == '\n'),
		    "byte %#x at offset %zu", c, (size_t)(p - ar));
		if (quoted) {
			if (c == '\\') {
				FUZZ_CHECK(p[1] != '\0', "escape at the end");
				p++;
			} else if (c == '"')
				quoted = 0;
			continue;
		}
		if (c == '"')
			quoted = 1;
		else if (c == '(') {
			char *e;
			unsigned long k = strtoul(p + 1, &e, 10);

			/* DKIM results past the budget are counted (report_ar.c) */
			if (depth == 0 && e > p + 1 && strncmp(e, DKIM_MORE,
			    sizeof(DKIM_MORE) - 1) == 0) {
				FUZZ_CHECK(more == 0, "two DKIM counts");
				more = k;
			}
			depth++;
		}
		else if (c == ')')
			FUZZ_CHECK(--depth >= 0, "')' without '(' at offset %zu",
			    (size_t)(p - ar));
		else if (c == ';' && depth == 0) {
			const char *q = p + 1;

			semis++;
			q += strspn(q, " \n\t");
			FUZZ_CHECK(resinfo_ok(q), "resinfo %zu is not method=result: \"%.40s\"",
			    semis, q);
			if (strncmp(q, "dkim=", 5) == 0)
				ndkim++;
		}
	}
	FUZZ_CHECK(!quoted, "unbalanced quote");
	FUZZ_CHECK(depth == 0, "unbalanced comment");
	FUZZ_CHECK(strlen(ar) < 64 * 1024, "A-R of %zu bytes", strlen(ar));
	if (more)
		FUZZ_CHECK(ndkim + more == r->ndkim,
		    "%zu DKIM results listed, %zu counted, %zu in all", ndkim, more,
		    r->ndkim);
	else
		FUZZ_CHECK(ndkim == (r->ndkim ? r->ndkim : 1), "%zu DKIM results of %zu",
		    ndkim, r->ndkim);
	FUZZ_CHECK(semis + more == want, "%zu resinfo, want %zu", semis, want);
}

static void
check_roundtrip(json_t *o, const char *section, const char *key, const char *orig)
{
	json_t *sec = json_object_get(o, section), *v;

	FUZZ_CHECK(sec != NULL, "no \"%s\"", section);
	v = json_object_get(sec, key);
	FUZZ_CHECK(v != NULL, "no \"%s.%s\"", section, key);
	if (orig == NULL) {
		FUZZ_CHECK(json_is_null(v), "\"%s.%s\" is not null", section, key);
		return;
	}
	FUZZ_CHECK(json_is_string(v), "\"%s.%s\" is not a string", section, key);
	if (fuzz_utf8((const unsigned char *)orig, strlen(orig)))
		FUZZ_CHECK(strcmp(json_string_value(v), orig) == 0,
		    "\"%s.%s\" changed", section, key);
}

static void
check_json(const struct verify_result *r, const struct report_meta *m, int pretty,
    const char *ar_line)
{
	char *text = report_json_text(r, m, pretty);
	json_error_t jerr;
	json_t *o;

	FUZZ_CHECK(fuzz_utf8((const unsigned char *)text, strlen(text)),
	    "JSON text is not valid UTF-8");
	if (!pretty)
		FUZZ_CHECK(strchr(text, '\n') == NULL, "compact JSON spans lines");
	o = json_loads(text, 0, &jerr);
	FUZZ_CHECK(o != NULL, "JSON does not parse: %s (line %d col %d)", jerr.text,
	    jerr.line, jerr.column);
	check_roundtrip(o, "message", "subject", r->subject);
	check_roundtrip(o, "message", "from", r->from);
	check_roundtrip(o, "envelope", "helo", r->helo);
	check_roundtrip(o, "adsp", "record", r->adsp.record);
	FUZZ_CHECK(json_array_size(json_object_get(o, "dkim")) == r->ndkim,
	    "dkim array size");
	FUZZ_CHECK(strcmp(json_string_value(json_object_get(o, "authentication_results")),
	    ar_line) == 0, "authentication_results differs from report_ar()");
	json_decref(o);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t ctl[REPORT_CTL];
	struct pool pool;
	struct verify_result r;
	struct report_meta m;
	const char *authserv;
	char *ar0, *ar1;

	pool_load(&pool, data, size, ctl, 0);
	fill(&r, &m, &pool, ctl);
	authserv = m.authserv_id ? m.authserv_id : "localhost";

	ar0 = report_ar(&r, authserv, 0);
	ar1 = report_ar(&r, authserv, 1);
	check_ar(ar0, &r, 0);
	check_ar(ar1, &r, 1);
	/*
	 * The JSON renderer has no path that depends on the number of DKIM
	 * results (the A-R's budget has), and under ASan 1000 of them cost
	 * ~30000 allocations an execution: JSON is checked up to 20.
	 */
	if (r.ndkim <= JSON_MAX_DKIM) {
		check_json(&r, &m, ctl[14] & 1, ar0);
		if (ctl[14] & 2)
			check_json(&r, &m, !(ctl[14] & 1), ar0);
	}
	free(ar0);
	free(ar1);

	unfill(&r);
	pool_free(&pool);
	return 0;
}
