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

#define REPORT_CTL	16
#define NULL_MARK	"\x7f"
#define DKIM_MORE	" more DKIM results not listed)"
#define JSON_MAX_DKIM	20

struct pool {
	char	**s;
	size_t	  n, next;
};

static const char *
pick(struct pool *p)
{
	const char *s;

	if (p->n == 0)
		return NULL;
	s = p->s[p->next++ % p->n];
	return strcmp(s, NULL_MARK) == 0 ? NULL : s;
}

#define S(field)	((field) = (char *)pick(pool))

static enum auth_res
res(unsigned b)
{
	return (enum auth_res)(b % (AUTH_NXDOMAIN + 1));
}

static size_t
small_count(unsigned b)
{
	return b % 5;
}

static void
fill_spf(struct spf_check *c, struct pool *pool, unsigned ctl)
{
	c->result = res(ctl);
	S(c->identity); S(c->sender); S(c->domain); S(c->record);
	S(c->mechanism); S(c->explanation); S(c->reason); S(c->problem);
	c->lookups = (int)(ctl % 13);
	c->void_lookups = (int)(ctl % 3);
	c->dnssec = (ctl >> 4) & 1;
	c->nsteps = small_count(ctl >> 5);
	c->steps = c->nsteps ? xcalloc(c->nsteps, sizeof(*c->steps)) : NULL;
	for (size_t i = 0; i < c->nsteps; i++) {
		c->steps[i].depth = (int)i;
		S(c->steps[i].via); S(c->steps[i].domain);
		S(c->steps[i].record); S(c->steps[i].result);
	}
}

static void
fill_dkim(struct verify_result *r, struct pool *pool, unsigned ctl, unsigned ctl2)
{
	static const size_t many[] = { 20, 50, 100, 300, 1000 };

	r->ndkim = ctl < 251 ? small_count(ctl) : many[ctl - 251];
	r->dkim = r->ndkim ? xcalloc(r->ndkim, sizeof(*r->dkim)) : NULL;
	for (size_t i = 0; i < r->ndkim; i++) {
		struct dkim_sig *s = &r->dkim[i];

		s->result = res(ctl2 + i);
		S(s->domain); S(s->selector); S(s->identity); S(s->algorithm);
		S(s->key_type); S(s->canonicalization); S(s->signed_headers);
		S(s->b_prefix); S(s->key_record); S(s->error); S(s->reason);
		s->key_bits = (int)(ctl2 * 8);
		s->body_length = (long long)ctl2 - 1;
		s->timestamp = (long long)ctl2 * 1000000 - 1;
		s->expiration = -1;
		s->testing = ctl2 & 1;
		s->dnssec = (ctl2 >> 1) & 1;
		s->aligned = (ctl2 >> 2) & 1;
	}
}

static void
fill_dmarc(struct dmarc_result *d, struct pool *pool, const uint8_t *ctl)
{
	d->result = res(ctl[0]);
	S(d->domain); S(d->org_domain); S(d->record_domain); S(d->record);
	S(d->policy); S(d->policy_tag); S(d->p); S(d->sp); S(d->np);
	S(d->aligned_dkim_domain); S(d->rua); S(d->ruf); S(d->reason);
	d->pct = (int)ctl[1] - 28;
	d->testing = ctl[1] & 1;
	d->psd = (ctl[1] >> 1) & 1;
	d->adkim = (char)ctl[2];
	d->aspf = (char)ctl[3];
	d->spf_aligned = ctl[0] >> 7;
	d->dkim_aligned = (ctl[0] >> 6) & 1;
	d->dnssec = (ctl[0] >> 5) & 1;
	d->rfc7489.result = res(ctl[1]);
	S(d->rfc7489.org_domain); S(d->rfc7489.policy); S(d->rfc7489.note);
}

static void
fill(struct verify_result *r, struct report_meta *m, struct pool *pool,
    const uint8_t *ctl)
{
	memset(r, 0, sizeof(*r));
	S(r->client_ip); S(r->helo); S(r->mail_from);
	r->nrcpt = small_count(ctl[0]);
	r->rcpt = r->nrcpt ? xcalloc(r->nrcpt, sizeof(char *)) : NULL;
	for (size_t i = 0; i < r->nrcpt; i++)
		S(r->rcpt[i]);
	S(r->message_error); S(r->from); S(r->from_address); S(r->from_domain);
	S(r->message_id); S(r->subject);
	fill_spf(&r->spf, pool, ctl[1]);
	fill_spf(&r->spf_helo, pool, ctl[2]);
	fill_dkim(r, pool, ctl[3], ctl[4]);
	fill_dmarc(&r->dmarc, pool, ctl + 5);
	r->adsp.result = res(ctl[9]);
	S(r->adsp.domain); S(r->adsp.policy); S(r->adsp.record); S(r->adsp.reason);
	r->iprev.result = res(ctl[10]);
	S(r->iprev.ip); S(r->iprev.ptr); S(r->iprev.reason);
	r->iprev.nnames = small_count(ctl[11]);
	r->iprev.names = r->iprev.nnames ? xcalloc(r->iprev.nnames, sizeof(char *)) : NULL;
	for (size_t i = 0; i < r->iprev.nnames; i++)
		S(r->iprev.names[i]);
	r->elapsed_us = (uint64_t)ctl[12] * 977;
	memset(m, 0, sizeof(*m));
	if (ctl[13] & 1) {
		m->id = pick(pool); m->authserv_id = pick(pool);
		m->received_at = pick(pool); m->client_port = pick(pool);
		m->tls_protocol = pick(pool); m->tls_cipher = pick(pool);
		m->tag = pick(pool); m->file = pick(pool);
	}
}

static void
unfill(struct verify_result *r)
{
	free(r->rcpt);
	free(r->spf.steps);
	free(r->spf_helo.steps);
	free(r->dkim);
	free(r->iprev.names);
}

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
	uint8_t ctl[REPORT_CTL] = { 0 };
	struct pool pool = { NULL, 0, 0 };
	struct verify_result r;
	struct report_meta m;
	const char *authserv, *p, *end;
	char *ar0, *ar1;
	size_t k = size < REPORT_CTL ? size : REPORT_CTL;

	memcpy(ctl, data, k);
	for (p = (const char *)data + k, end = (const char *)data + size; p < end;) {
		const char *z = memchr(p, '\0', (size_t)(end - p));
		size_t l = z ? (size_t)(z - p) : (size_t)(end - p);

		pool.s = xreallocarray(pool.s, pool.n + 1, sizeof(char *));
		pool.s[pool.n++] = xstrndup(p, l);
		p += l + 1;
	}
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
	for (size_t i = 0; i < pool.n; i++)
		free(pool.s[i]);
	free(pool.s);
	return 0;
}
