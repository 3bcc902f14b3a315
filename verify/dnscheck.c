/*
 * dnscheck.c - the record checker: the check as a whole (dnscheck_run()),
 * lookups and findings for all parts, DKIM keys (through dkim_key.h, the
 * verifier's own parser), MX, ADSP, MTA-STS, TLS-RPT and BIMI.  SPF is in
 * dnscheck_spf.c, DMARC in dnscheck_dmarc.c.  See dnscheck.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/dns.h"
#include "../common/util.h"
#include "dkim_key.h"
#include "dmarc.h"
#include "dmarc_record.h"
#include "dnscheck.h"
#include "dnscheck_int.h"
#include "spf_record.h"

/* RFC 8301 3.2: verifiers MUST handle keys of 1024 to 4096 bits */
#define DKIM_RSA_MAX_REQUIRED	4096
/* RFC 8461 3.1: sts-id = 1*32(ALPHA / DIGIT); sts-ext-name: 1 + 31 */
#define STS_ID_MAX		32
#define STS_EXT_NAME_MAX	32
/* fields looked at in one MTA-STS / TLS-RPT / BIMI record (our bound) */
#define KV_MAX			16

/* ---- lookups and findings ------------------------------------------------ */

const struct dns_answer *
dc_query(struct dnscheck_ctx *c, const char *name, int type, int matters)
{
	struct dnscheck_result *r = c->res;
	const struct dns_answer *a;
	struct dnscheck_lookup *l;

	if (r->nlookups >= DNSCHECK_MAX_QUERIES) {
		if (r->lookups_dropped++ == 0)
			dc_finding(c, DNSCHECK_WARNING, "dns", "dns-too-many-lookups",
			    r->domain, NULL, NULL, "the check stopped after %d DNS "
			    "lookups; what needed more was not checked",
			    DNSCHECK_MAX_QUERIES);
		return NULL;
	}
	a = dns_lookup(c->cfg->dns, name, type);
	l = &r->lookups[r->nlookups++];
	l->name = xstrdup(name);
	l->type = type;
	l->status = a->status;
	l->secure = a->secure;
	l->why = a->why ? xstrdup(a->why) : NULL;
	if (a->status == DNS_TEMPFAIL && matters)
		r->lookup_failed = 1;
	return a;
}

static void
finding_free(struct dnscheck_finding *f)
{
	free(f->area);
	free(f->code);
	free(f->rfc);
	free(f->name);
	free(f->message);
	free(f->suggestion);
	free(f->suggestion_name);
}

/*
 * Room for one more finding of severity sev: 0, or -1 to drop it.  Past
 * DNSCHECK_MAX_SAME_CODE of one code the rest are dropped; when the list
 * is full, the last finding of the lowest severity below sev makes room,
 * so that notes never crowd out errors.
 */
static int
finding_room(struct dnscheck_result *r, enum dnscheck_severity sev, const char *code)
{
	size_t same = 0, victim = r->nfindings;

	for (size_t i = 0; i < r->nfindings; i++)
		same += strcmp(r->findings[i].code, code) == 0;
	if (same >= DNSCHECK_MAX_SAME_CODE)
		return -1;
	if (r->nfindings < DNSCHECK_MAX_FINDINGS)
		return 0;
	for (size_t i = r->nfindings; i-- > 0; )
		if (r->findings[i].severity < sev && (victim == r->nfindings ||
		    r->findings[i].severity < r->findings[victim].severity))
			victim = i;
	if (victim == r->nfindings)
		return -1;
	finding_free(&r->findings[victim]);
	memmove(&r->findings[victim], &r->findings[victim + 1],
	    (r->nfindings - victim - 1) * sizeof(*r->findings));
	r->nfindings--;
	r->findings_dropped++;
	return 0;
}

struct dnscheck_finding *
dc_finding(struct dnscheck_ctx *c, enum dnscheck_severity sev, const char *area,
    const char *code, const char *name, const char *rfc, char *suggestion,
    const char *fmt, ...)
{
	struct dnscheck_result *r = c->res;
	struct dnscheck_finding *f;
	struct sbuf b;
	va_list ap;

	/* counted even when not kept: the exit status depends on them */
	if (sev == DNSCHECK_ERROR)
		r->nerrors++;
	else if (sev == DNSCHECK_WARNING)
		r->nwarnings++;
	else
		r->ninfos++;
	if (finding_room(r, sev, code) < 0) {
		r->findings_dropped++;
		free(suggestion);
		return NULL;
	}
	f = &r->findings[r->nfindings++];
	memset(f, 0, sizeof(*f));
	f->severity = sev;
	/* copies, so that a result rebuilt from stored JSON frees the same way */
	f->area = xstrdup(area);
	f->code = xstrdup(code);
	f->name = xstrdup(name);
	f->rfc = rfc ? xstrdup(rfc) : NULL;
	f->suggestion = suggestion;
	sbuf_init(&b, 0);
	va_start(ap, fmt);
	sbuf_vprintf(&b, fmt, ap);
	va_end(ap);
	f->message = sbuf_steal(&b);
	sbuf_free(&b);
	return f;
}

char *
dc_printable(const char *s, size_t len)
{
	return spf_printable(s, len);
}

char *
dc_unquote(const char *s, size_t len)
{
	char *out;
	size_t o = 0;

	if (memchr(s, '"', len) == NULL && memchr(s, '\\', len) == NULL)
		return NULL;
	out = xmalloc(len + 1);
	for (size_t i = 0; i < len; i++)
		if (s[i] != '"' && s[i] != '\\')
			out[o++] = s[i];
	out[o] = '\0';
	return out;
}

int
dc_own(const struct dnscheck_ctx *c, const char *d)
{
	return dmarc_domain_under(d, c->res->domain);
}

int
dc_org_domain(struct dnscheck_ctx *c, const char *d, char *out, size_t n)
{
	char err[200];

	if (c->dmarc == NULL && !c->dmarc_failed &&
	    (c->dmarc = dmarc_ctx_new(c->cfg, err, sizeof(err))) == NULL)
		c->dmarc_failed = 1;
	if (c->dmarc == NULL)
		return -1;
	return dmarc_psl_org(c->dmarc, d, out, n);
}

/* The first TXT RR of an answer and the number of them. */
static const struct dns_rr *
first_txt(const struct dns_answer *a, size_t *n)
{
	const struct dns_rr *f = NULL;

	*n = 0;
	for (size_t i = 0; a->status == DNS_OK && i < a->nrr; i++)
		if (a->rr[i].type == DNS_T_TXT && (*n)++ == 0)
			f = &a->rr[i];
	return f;
}

/* ---- DKIM keys (RFC 6376 3.6.1, RFC 8301, RFC 8463) ---------------------- */

/*
 * A clean record from the tags of txt: v=DKIM1 first, the known tags in
 * the usual order, p= last, white space out of p=; t=y dropped when
 * drop_testing.  NULL unless the result is a valid key record.
 */
static char *
dkim_rebuild(const char *txt, size_t len, int drop_testing)
{
	static const char *const strip[] = { "p", "h", "s", "t", NULL };
	static const char *const order[] = { "k", "h", "n", "s", "t" };
	struct dkim_tags tl;
	struct dkim_key key;
	struct sbuf b;
	char err[200], *out;
	const char *p;

	if (dkim_tags_parse(&tl, txt, len, strip, err, sizeof(err)) < 0)
		return NULL;
	if ((p = dkim_tag_get(&tl, "p")) == NULL) {
		dkim_tags_free(&tl);
		return NULL;
	}
	sbuf_init(&b, 0);
	sbuf_adds(&b, "v=DKIM1");
	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		const char *v = dkim_tag_get(&tl, order[i]);

		if (v == NULL || *v == '\0')
			continue;
		if (strcmp(order[i], "t") == 0 && drop_testing) {
			if (dkim_list_has(v, "s"))
				sbuf_adds(&b, "; t=s");
			continue;
		}
		sbuf_printf(&b, "; %s=%s", order[i], v);
	}
	sbuf_printf(&b, "; p=%s", p);
	dkim_tags_free(&tl);
	out = sbuf_steal(&b);
	sbuf_free(&b);
	dkim_key_parse(&key, out, strlen(out));
	if (!key.valid) {
		free(out);
		out = NULL;
	}
	dkim_key_free(&key);
	return out;
}

/* The span of the p= value in a key record, for the string-boundary check. */
static int
dkim_p_span(const char *s, size_t len, size_t *from, size_t *to)
{
	for (size_t i = 0; i < len; ) {
		size_t e = i, j = i;

		while (e < len && s[e] != ';')
			e++;
		while (j < e && (s[j] == ' ' || s[j] == '\t'))
			j++;
		if (j < e && s[j] == 'p') {
			for (j++; j < e && (s[j] == ' ' || s[j] == '\t'); j++)
				;
			if (j < e && s[j] == '=') {
				*from = j + 1;
				*to = e;
				return 0;
			}
		}
		i = e + 1;
	}
	return -1;
}

/* Strings split with white space at a boundary inside p= (RFC 6376 3.6.1). */
static void
dkim_check_strings(struct dnscheck_ctx *c, const struct dnscheck_dkim *k,
    const struct dns_rr *rr)
{
	size_t from, to, off = 0;
	const char *s = rr->u.txt.data;

	if (rr->u.txt.nstr < 2 || dkim_p_span(s, rr->u.txt.len, &from, &to) < 0)
		return;
	for (size_t i = 0; i + 1 < rr->u.txt.nstr; i++) {
		off += rr->u.txt.strlen[i];
		if (off <= from || off >= to)
			continue;
		if (s[off - 1] == ' ' || s[off - 1] == '\t' || s[off] == ' ' ||
		    s[off] == '\t') {
			dc_finding(c, DNSCHECK_WARNING, "dkim", "dkim-split-space", k->name,
			    "RFC 6376 3.6.1", dkim_rebuild(s, rr->u.txt.len, 0),
			    "the key record is published as %zu strings and the key "
			    "(p=) is split with white space at the boundary (octet %zu); "
			    "RFC 6376 allows it, but some verifiers read the key with "
			    "the space and fail: publish it without", rr->u.txt.nstr, off);
			return;
		}
	}
}

/* Several TXT records where two are the halves of one key (3.6.2.2). */
static char *
dkim_joined_halves(const struct dns_answer *a)
{
	for (size_t i = 0; i < a->nrr; i++)
		for (size_t j = 0; j < a->nrr; j++) {
			const struct dns_rr *x = &a->rr[i], *y = &a->rr[j];
			struct dkim_key key;
			char *cat;

			if (i == j || x->type != DNS_T_TXT || y->type != DNS_T_TXT)
				continue;
			cat = xmalloc(x->u.txt.len + y->u.txt.len + 1);
			memcpy(cat, x->u.txt.data, x->u.txt.len);
			memcpy(cat + x->u.txt.len, y->u.txt.data, y->u.txt.len);
			cat[x->u.txt.len + y->u.txt.len] = '\0';
			dkim_key_parse(&key, cat, x->u.txt.len + y->u.txt.len);
			if (key.valid && !key.revoked && key.type != DKIM_KEY_UNKNOWN) {
				dkim_key_free(&key);
				return cat;
			}
			dkim_key_free(&key);
			free(cat);
		}
	return NULL;
}

/* The properties of a valid key, as findings. */
static void
dkim_judge(struct dnscheck_ctx *c, struct dnscheck_dkim *k, const struct dkim_key *key,
    const char *txt, size_t len)
{
	if (key->revoked) {
		dc_finding(c, k->given ? DNSCHECK_WARNING : DNSCHECK_INFO, "dkim",
		    "dkim-revoked", k->name, "RFC 6376 3.6.1", NULL, "the key at "
		    "selector %s is revoked (empty p=): signatures made with it fail; "
		    "fine for a retired selector, but nothing should sign with it",
		    k->selector);
		return;
	}
	if (key->type == DKIM_KEY_UNKNOWN) {
		dc_finding(c, DNSCHECK_ERROR, "dkim", "dkim-key-type", k->name,
		    "RFC 6376 3.6.1", NULL, "k=%s is not a key type verifiers know "
		    "(rsa, ed25519): they ignore the key, so every signature with "
		    "selector %s fails", key->k ? key->k : "?", k->selector);
		return;
	}
	if (key->type == DKIM_KEY_RSA && key->bits < DKIM_RSA_MIN_BITS)
		dc_finding(c, DNSCHECK_ERROR, "dkim", "dkim-key-broken", k->name,
		    "RFC 8301 3.2", NULL, "the RSA key has %d bits: verifiers must not "
		    "accept keys under %d bits, so every signature fails; generate a "
		    "2048-bit key and publish it (under a new selector)", key->bits,
		    DKIM_RSA_MIN_BITS);
	else if (key->type == DKIM_KEY_RSA && key->bits < DKIM_RSA_GOOD_BITS)
		dc_finding(c, DNSCHECK_WARNING, "dkim", "dkim-key-weak", k->name,
		    "RFC 8301 3.2", NULL, "the RSA key has %d bits; signers should use "
		    "at least %d bits: publish a 2048-bit key under a new selector "
		    "and switch signing to it", key->bits, DKIM_RSA_GOOD_BITS);
	else if (key->type == DKIM_KEY_RSA && key->bits > DKIM_RSA_MAX_REQUIRED)
		dc_finding(c, DNSCHECK_WARNING, "dkim", "dkim-key-large", k->name,
		    "RFC 8301 3.2", NULL, "the RSA key has %d bits; verifiers are only "
		    "required to handle up to %d bits and many cannot verify it: use "
		    "2048 bits", key->bits, DKIM_RSA_MAX_REQUIRED);
	if (key->type == DKIM_KEY_ED25519)
		dc_finding(c, DNSCHECK_INFO, "dkim", "dkim-ed25519", k->name,
		    "RFC 8463", NULL, "an ed25519 key: not every receiver verifies "
		    "ed25519 signatures yet, so sign with an RSA key as well");
	if (key->testing)
		dc_finding(c, DNSCHECK_WARNING, "dkim", "dkim-testing", k->name,
		    "RFC 6376 3.6.1", dkim_rebuild(txt, len, 1), "the key is marked "
		    "t=y (testing): receivers may treat signed mail as unsigned; "
		    "remove t=y once signing works");
	if (key->h && !dkim_list_has(key->h, "sha256"))
		dc_finding(c, DNSCHECK_ERROR, "dkim", "dkim-hash", k->name,
		    "RFC 8301 3.1", NULL, "the key allows only h=%s: rsa-sha256 "
		    "signatures cannot use it and sha1 is no longer accepted; remove "
		    "h= or make it h=sha256", key->h);
	if (key->s && !dkim_list_has(key->s, "email") && !dkim_list_has(key->s, "*"))
		dc_finding(c, DNSCHECK_ERROR, "dkim", "dkim-service", k->name,
		    "RFC 6376 3.6.1", NULL, "the key is for service s=%s, not email: "
		    "verifiers will not use it for mail; remove s=", key->s);
}

/* A record that does not parse: say why, and what it should have been. */
static int
dkim_broken(struct dnscheck_ctx *c, struct dnscheck_dkim *k, const struct dkim_key *key,
    struct dkim_key *fixed, char **fixed_text)
{
	char *uq = dc_unquote(key->text, strlen(key->text));

	k->error = xstrdup(key->err);
	if (uq != NULL) {
		dkim_key_parse(fixed, uq, strlen(uq));
		if (fixed->valid) {
			dc_finding(c, DNSCHECK_ERROR, "dkim", "dkim-quotes", k->name,
			    "RFC 6376 3.6.1", xstrdup(uq), "the key record holds quote "
			    "or backslash characters (the DNS provider's form took the "
			    "quotes you typed as part of the text): %s; without them the "
			    "record is valid", key->err);
			*fixed_text = uq;
			return 0;
		}
		dkim_key_free(fixed);
		free(uq);
	}
	dc_finding(c, DNSCHECK_ERROR, "dkim", "dkim-syntax", k->name, "RFC 6376 3.6.1",
	    dkim_rebuild(key->text, strlen(key->text), 0), "the key record is not "
	    "valid: %s; signatures with selector %s fail (permerror)", key->err,
	    k->selector);
	return -1;
}

static void
dkim_fill(struct dnscheck_dkim *k, const struct dkim_key *key)
{
	k->valid = 1;
	k->revoked = key->revoked;
	k->testing = key->testing;
	k->bits = key->revoked ? 0 : key->bits;
	if (!key->revoked)
		k->key_type = xstrdup(key->type == DKIM_KEY_RSA ? "rsa" :
		    key->type == DKIM_KEY_ED25519 ? "ed25519" : key->k ? key->k : "?");
}

static void
dkim_one(struct dnscheck_ctx *c, struct dnscheck_dkim *k)
{
	const struct dns_answer *a;
	const struct dns_rr *rr;
	struct dkim_key key, fixed;
	char *joined = NULL, *fixed_text = NULL;

	if ((a = dc_query(c, k->name, DNS_T_TXT, 1)) == NULL)
		return;
	k->status = a->status;
	k->secure = a->secure;
	rr = first_txt(a, &k->nrecords);
	if (a->status == DNS_TEMPFAIL) {
		dc_finding(c, DNSCHECK_ERROR, "dkim", "dkim-lookup-failed", k->name, NULL,
		    NULL, "the lookup of the key failed (%s): try again; if it "
		    "persists, the name servers of %s have a problem", a->why ? a->why :
		    "DNS error", c->res->domain);
		goto out_release;
	}
	if (rr == NULL) {
		if (k->given)
			dc_finding(c, DNSCHECK_ERROR, "dkim", "dkim-missing", k->name,
			    "RFC 6376 6.1.2", NULL, "there is no key at %s (%s): mail "
			    "signed with s=%s d=%s fails DKIM (permerror); publish the "
			    "public key your signing service shows for this selector",
			    k->name, a->status == DNS_NXDOMAIN ? "the name does not exist" :
			    "no TXT record", k->selector, c->res->domain);
		goto out_release;
	}
	k->found = 1;
	k->record = dc_printable(rr->u.txt.data, rr->u.txt.len);
	k->nstrings = rr->u.txt.nstr;
	if (k->nrecords > 1 && (joined = dkim_joined_halves(a)) != NULL) {
		dc_finding(c, DNSCHECK_ERROR, "dkim", "dkim-split-records", k->name,
		    "RFC 6376 3.6.2.2", xstrdup(joined), "the key is published as "
		    "%zu separate TXT records instead of one record of several "
		    "strings: verifiers read each record on its own and none is a "
		    "whole key; publish the parts as one record", k->nrecords);
		dkim_key_parse_cached(c->keys, &key, joined, strlen(joined));
		dkim_fill(k, &key);
		dkim_judge(c, k, &key, joined, strlen(joined));
		dkim_key_free(&key);
		free(joined);
		goto out_release;
	}
	if (k->nrecords > 1)
		dc_finding(c, DNSCHECK_ERROR, "dkim", "dkim-multiple", k->name,
		    "RFC 6376 3.6.2.2", NULL, "%zu TXT records at %s: there must be "
		    "one, and with several the result is undefined (most verifiers "
		    "use one at random); remove the old ones", k->nrecords, k->name);
	dkim_key_parse_cached(c->keys, &key, rr->u.txt.data, rr->u.txt.len);
	if (key.valid) {
		dkim_fill(k, &key);
		dkim_judge(c, k, &key, rr->u.txt.data, rr->u.txt.len);
		dkim_check_strings(c, k, rr);
	} else if (dkim_broken(c, k, &key, &fixed, &fixed_text) == 0) {
		dkim_fill(k, &fixed);
		dkim_judge(c, k, &fixed, fixed_text, strlen(fixed_text));
		dkim_key_free(&fixed);
		free(fixed_text);
	}
	dkim_key_free(&key);
out_release:
	dns_answer_release(a);
}

static void
dc_dkim(struct dnscheck_ctx *c, const char *const *sel, size_t nsel)
{
	static const char *const common[] = DNSCHECK_COMMON_SELECTORS;
	struct dnscheck_result *r = c->res;
	size_t found = 0, failed = 0;
	struct sbuf names;

	if (nsel == 0) {
		sel = common;
		nsel = ARRAY_SIZE(common);
		r->dkim_probed = 1;
	}
	r->dkim = xcalloc(nsel, sizeof(*r->dkim));
	for (size_t i = 0; i < nsel; i++) {
		struct dnscheck_dkim *k = &r->dkim[r->ndkim++];

		k->selector = xstrdup(sel[i]);
		k->name = xasprintf("%s._domainkey.%s", sel[i], r->domain);
		k->given = !r->dkim_probed;
		dkim_one(c, k);
		found += k->found;
		failed += k->status == DNS_TEMPFAIL;
	}
	if (!r->dkim_probed || found > 0 || failed > 0)
		return;
	sbuf_init(&names, 0);
	for (size_t i = 0; i < nsel; i++)
		sbuf_printf(&names, "%s%s", i ? ", " : "", sel[i]);
	dc_finding(c, DNSCHECK_WARNING, "dkim", "dkim-none-found", r->domain, NULL, NULL,
	    "no DKIM key was found under the common selectors (%s): if your mail "
	    "is signed, run the check again with --selector and the s= of your "
	    "signatures; if it is not, set up DKIM signing where you send from - "
	    "DMARC then depends on SPF alone, which breaks on forwarding",
	    sbuf_str(&names));
	sbuf_free(&names);
}

/* ---- MX (RFC 5321 5.1, RFC 7505) ------------------------------------------ */

static int
has_address(struct dnscheck_ctx *c, const char *name)
{
	static const int types[] = { DNS_T_A, DNS_T_AAAA };
	int any = 0;

	for (size_t i = 0; i < ARRAY_SIZE(types) && !any; i++) {
		const struct dns_answer *a = dc_query(c, name, types[i], 0);

		if (a == NULL)
			break;
		any = a->status == DNS_OK && a->nrr > 0;
		dns_answer_release(a);
	}
	return any;
}

static void
dc_mx(struct dnscheck_ctx *c)
{
	struct dnscheck_result *r = c->res;
	struct dnscheck_mx *m = &r->mx;
	const struct dns_answer *a;

	if ((a = dc_query(c, r->domain, DNS_T_MX, 1)) == NULL)
		return;
	m->status = a->status;
	m->secure = a->secure;
	for (size_t i = 0; a->status == DNS_OK && i < a->nrr; i++) {
		if (a->rr[i].type != DNS_T_MX)
			continue;
		m->hosts = xreallocarray(m->hosts, m->n + 1, sizeof(*m->hosts));
		m->prefs = xreallocarray(m->prefs, m->n + 1, sizeof(*m->prefs));
		m->hosts[m->n] = dc_printable(a->rr[i].u.mx.host, strlen(a->rr[i].u.mx.host));
		m->prefs[m->n++] = a->rr[i].u.mx.pref;
		if (strcmp(a->rr[i].u.mx.host, ".") == 0)
			m->null_mx = 1;
	}
	if (a->status == DNS_TEMPFAIL)
		dc_finding(c, DNSCHECK_ERROR, "mx", "mx-lookup-failed", r->domain, NULL,
		    NULL, "the MX lookup failed (%s)", a->why ? a->why : "DNS error");
	else if (a->status == DNS_NXDOMAIN)
		dc_finding(c, DNSCHECK_ERROR, "dns", "domain-nxdomain", r->domain, NULL,
		    NULL, "%s does not exist in the DNS (NXDOMAIN): receivers reject "
		    "mail from it, and nothing below can be published until the "
		    "domain is delegated", r->domain);
	else if (m->null_mx && m->n > 1)
		dc_finding(c, DNSCHECK_ERROR, "mx", "mx-null-mixed", r->domain,
		    "RFC 7505 3", NULL, "a null MX (\"0 .\") is published together "
		    "with %zu other MX records: a domain that publishes a null MX must "
		    "publish no other; remove one or the other", m->n - 1);
	else if (m->null_mx)
		dc_finding(c, DNSCHECK_INFO, "mx", "mx-null", r->domain, "RFC 7505", NULL,
		    "null MX: %s accepts no mail, so replies, bounces and reports to "
		    "its addresses cannot be delivered (right for a domain that only "
		    "sends)", r->domain);
	else if (m->n == 0 && (m->address = has_address(c, r->domain)))
		dc_finding(c, DNSCHECK_INFO, "mx", "mx-implicit", r->domain,
		    "RFC 5321 5.1", NULL, "no MX record: mail to %s goes to its "
		    "address record; publish an MX for the server that receives it",
		    r->domain);
	else if (m->n == 0)
		dc_finding(c, DNSCHECK_WARNING, "mx", "mx-none", r->domain,
		    "RFC 5321 5.1", NULL, "no MX and no address record: mail to %s "
		    "(replies, bounces, reports) cannot be delivered; receivers "
		    "distrust senders that cannot receive", r->domain);
	dns_answer_release(a);
}

/* ---- tag=value records: MTA-STS, TLS-RPT, BIMI ---------------------------- */

struct kv {
	const char	*name, *val;
	size_t		 nlen, vlen;
};

/*
 * field *( *WSP ";" *WSP field ) [ *WSP ";" *WSP ]: name "=" value pairs
 * (RFC 8461 3.1, RFC 8460 3).  The count, or -1 with *bad at the field.
 */
static int
kv_split(const char *s, size_t len, struct kv *out, int max, size_t *bad)
{
	size_t i = 0;
	int n = 0;

	while (i < len) {
		size_t b = i, e, eq;

		while (i < len && s[i] != ';')
			i++;
		e = i++;
		while (b < e && (s[b] == ' ' || s[b] == '\t'))
			b++;
		while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t'))
			e--;
		if (b == e && i >= len)
			break;		/* a trailing delimiter */
		for (eq = b; eq < e && s[eq] != '='; eq++)
			;
		if (b == e || eq == e || eq == b || n == max) {
			*bad = b;
			return -1;
		}
		out[n].name = s + b;
		out[n].nlen = eq - b;
		out[n].val = s + eq + 1;
		out[n].vlen = e - eq - 1;
		n++;
	}
	return n;
}

static int
kv_is(const struct kv *f, const char *name)
{
	return f->nlen == strlen(name) && memcmp(f->name, name, f->nlen) == 0;
}

/* The TXT records at name that start with prefix (case-sensitive). */
static const struct dns_answer *
txt_kind(struct dnscheck_ctx *c, struct dnscheck_txt *t, const char *name,
    const char *prefix, const struct dns_rr **first)
{
	const struct dns_answer *a;

	*first = NULL;
	t->name = xstrdup(name);
	if ((a = dc_query(c, name, DNS_T_TXT, 0)) == NULL)
		return NULL;
	t->status = a->status;
	t->secure = a->secure;
	for (size_t i = 0; a->status == DNS_OK && i < a->nrr; i++) {
		const struct dns_rr *rr = &a->rr[i];

		if (rr->type != DNS_T_TXT || rr->u.txt.len < strlen(prefix) ||
		    memcmp(rr->u.txt.data, prefix, strlen(prefix)) != 0)
			continue;
		if (t->nrecords++ == 0) {
			*first = rr;
			t->record = dc_printable(rr->u.txt.data, rr->u.txt.len);
		}
	}
	if (a->status == DNS_TEMPFAIL)
		dc_finding(c, DNSCHECK_WARNING, "dns", "lookup-failed", name, NULL, NULL,
		    "the lookup of %s failed (%s): not checked", name,
		    a->why ? a->why : "DNS error");
	return a;
}

/* RFC 8461 3.1 sts-id: 1*32(ALPHA / DIGIT) */
static int
sts_id_ok(const char *v, size_t n)
{
	if (n == 0 || n > STS_ID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'z') ||
		    (v[i] >= 'A' && v[i] <= 'Z')))
			return 0;
	return 1;
}

/* RFC 8461 3.1 sts-extension: name (ALPHA/DIGIT) *31(ALPHA/DIGIT/"_"/"-"/"."),
 * value 1*(%x21-3A / %x3C / %x3E-7E) */
static int
sts_ext_ok(const struct kv *f)
{
	if (f->nlen == 0 || f->nlen > STS_EXT_NAME_MAX || f->vlen == 0)
		return 0;
	for (size_t i = 0; i < f->nlen; i++) {
		char ch = f->name[i];

		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= 'A' && ch <= 'Z') || (i > 0 && strchr("_-.", ch))))
			return 0;
	}
	for (size_t i = 0; i < f->vlen; i++) {
		unsigned char ch = (unsigned char)f->val[i];

		if (ch < 0x21 || ch > 0x7e || ch == ';' || ch == '=')
			return 0;
	}
	return 1;
}

/* "v=STSv1; id=" with the letters and digits of the id given (or a date-like one). */
static char *
sts_fix(const struct kv *id)
{
	char buf[STS_ID_MAX + 1];
	size_t o = 0;

	for (size_t i = 0; id != NULL && i < id->vlen && o < STS_ID_MAX; i++)
		if (sts_id_ok(id->val + i, 1))
			buf[o++] = id->val[i];
	buf[o] = '\0';
	return xasprintf("v=STSv1; id=%s", o ? buf : "20260101000000");
}

static void
sts_syntax(struct dnscheck_ctx *c, const char *name, const char *s, size_t len)
{
	struct kv f[KV_MAX];
	const struct kv *id = NULL;
	size_t bad = 0;
	int n = kv_split(s, len, f, KV_MAX, &bad), nid = 0;

	if (n < 0) {
		dc_finding(c, DNSCHECK_ERROR, "mta-sts", "mta-sts-syntax", name,
		    "RFC 8461 3.1", sts_fix(NULL), "the MTA-STS record is not a list of "
		    "name=value fields separated by \";\" (at octet %zu): senders "
		    "ignore it", bad + 1);
		return;
	}
	for (int i = 1; i < n; i++) {
		if (kv_is(&f[i], "id")) {
			id = &f[i];
			nid++;
		} else if (!sts_ext_ok(&f[i])) {
			dc_finding(c, DNSCHECK_ERROR, "mta-sts", "mta-sts-syntax", name,
			    "RFC 8461 3.1", sts_fix(id), "the field \"%.*s\" is not "
			    "valid: senders ignore the record", (int)(f[i].nlen +
			    f[i].vlen + 1), f[i].name);
			return;
		}
	}
	if (n < 1 || !kv_is(&f[0], "v") || f[0].vlen != 5 ||
	    memcmp(f[0].val, "STSv1", 5) != 0 || nid != 1 ||
	    !sts_id_ok(id->val, id->vlen))
		dc_finding(c, DNSCHECK_ERROR, "mta-sts", "mta-sts-syntax", name,
		    "RFC 8461 3.1", sts_fix(id), "the MTA-STS record must be "
		    "\"v=STSv1\" followed by exactly one id= of 1 to 32 letters and "
		    "digits (change it whenever the policy file changes)");
}

static void
dc_mta_sts(struct dnscheck_ctx *c)
{
	struct dnscheck_result *r = c->res;
	const struct dns_answer *a;
	const struct dns_rr *rr;
	char *name = xasprintf("_mta-sts.%s", r->domain);

	if ((a = txt_kind(c, &r->mta_sts, name, "v=STSv1", &rr)) != NULL) {
		if (a->status == DNS_TEMPFAIL)
			;
		else if (r->mta_sts.nrecords == 0)
			dc_finding(c, DNSCHECK_INFO, "mta-sts", "mta-sts-missing", name,
			    "RFC 8461", NULL, "no MTA-STS record: senders deliver to %s "
			    "with opportunistic TLS only, which an attacker on the path "
			    "can strip; MTA-STS also needs a policy file at "
			    "https://mta-sts.%s/.well-known/mta-sts.txt", r->domain,
			    r->domain);
		else if (r->mta_sts.nrecords > 1)
			dc_finding(c, DNSCHECK_ERROR, "mta-sts", "mta-sts-multiple", name,
			    "RFC 8461 3.1", NULL, "%d MTA-STS records: with more than one, "
			    "senders act as if there were none; keep one",
			    r->mta_sts.nrecords);
		else {
			sts_syntax(c, name, rr->u.txt.data, rr->u.txt.len);
			dc_finding(c, DNSCHECK_INFO, "mta-sts", "mta-sts-present", name,
			    "RFC 8461 3.2", NULL, "MTA-STS is published; its policy file "
			    "(https://mta-sts.%s/.well-known/mta-sts.txt) is not fetched "
			    "by this check", r->domain);
		}
		dns_answer_release(a);
	}
	free(name);
}

/* RFC 8460 3: rua = URI *("," URI), each mailto: or https: */
static int
tlsrpt_rua_ok(const char *v, size_t n)
{
	size_t i = 0;

	while (i <= n) {
		size_t b, e;

		while (i < n && (v[i] == ' ' || v[i] == '\t'))
			i++;
		b = i;
		while (i < n && v[i] != ',')
			i++;
		e = i;
		while (e > b && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (!dmarc_uri_ok(v + b, e - b) || !((e - b > 7 &&
		    str_ncaseeq(v + b, "mailto:", 7)) || (e - b > 8 &&
		    str_ncaseeq(v + b, "https://", 8))))
			return 0;
		i++;
	}
	return 1;
}

static void
dc_tls_rpt(struct dnscheck_ctx *c)
{
	struct dnscheck_result *r = c->res;
	const struct dns_answer *a;
	const struct dns_rr *rr;
	char *name = xasprintf("_smtp._tls.%s", r->domain);
	char *fix = xasprintf("v=TLSRPTv1; rua=mailto:tls-reports@%s", r->domain);
	struct kv f[KV_MAX];
	size_t bad;
	int n, rua = -1;

	if ((a = txt_kind(c, &r->tls_rpt, name, "v=TLSRPTv1", &rr)) == NULL)
		goto out_free;
	if (a->status == DNS_TEMPFAIL)
		;
	else if (r->tls_rpt.nrecords == 0)
		dc_finding(c, DNSCHECK_INFO, "tls-rpt", "tls-rpt-missing", name,
		    "RFC 8460", xstrdup(fix), "no TLS-RPT record: senders cannot "
		    "tell you when TLS to your mail servers fails");
	else if (r->tls_rpt.nrecords > 1)
		dc_finding(c, DNSCHECK_ERROR, "tls-rpt", "tls-rpt-multiple", name,
		    "RFC 8460 3", NULL, "%d TLS-RPT records: with more than one, "
		    "senders send no reports; keep one", r->tls_rpt.nrecords);
	else if ((n = kv_split(rr->u.txt.data, rr->u.txt.len, f, KV_MAX, &bad)) < 0)
		dc_finding(c, DNSCHECK_ERROR, "tls-rpt", "tls-rpt-syntax", name,
		    "RFC 8460 3", xstrdup(fix), "the TLS-RPT record is not a list of "
		    "name=value fields separated by \";\" (at octet %zu)", bad + 1);
	else {
		for (int i = 1; i < n; i++)
			if (kv_is(&f[i], "rua"))
				rua = i;
		if (!kv_is(&f[0], "v") || f[0].vlen != 8 ||
		    memcmp(f[0].val, "TLSRPTv1", 8) != 0 || rua < 0 ||
		    !tlsrpt_rua_ok(f[rua].val, f[rua].vlen))
			dc_finding(c, DNSCHECK_ERROR, "tls-rpt", "tls-rpt-syntax", name,
			    "RFC 8460 3", xstrdup(fix), "the TLS-RPT record needs "
			    "\"v=TLSRPTv1\" and a rua= of mailto: or https: addresses "
			    "separated by commas");
	}
	dns_answer_release(a);
out_free:
	free(fix);
	free(name);
}

static void
dc_bimi(struct dnscheck_ctx *c)
{
	struct dnscheck_result *r = c->res;
	const struct dns_answer *a;
	const struct dns_rr *rr;
	char *name = xasprintf("default._bimi.%s", r->domain);
	struct kv f[KV_MAX];
	size_t bad;
	int n, l = -1;

	if ((a = txt_kind(c, &r->bimi, name, "v=BIMI1", &rr)) == NULL)
		goto out_free;
	if (rr != NULL) {
		n = kv_split(rr->u.txt.data, rr->u.txt.len, f, KV_MAX, &bad);
		for (int i = 1; i < n; i++)
			if (kv_is(&f[i], "l"))
				l = i;
		if (n < 0 || l < 0 || (f[l].vlen > 0 && !(f[l].vlen > 8 &&
		    str_ncaseeq(f[l].val, "https://", 8))))
			dc_finding(c, DNSCHECK_WARNING, "bimi", "bimi-syntax", name, NULL,
			    NULL, "the BIMI record needs \"v=BIMI1; l=https://...\" "
			    "with the https: address of an SVG logo");
		if (r->dmarc.p == NULL || !(str_caseeq(r->dmarc.p, "quarantine") ||
		    str_caseeq(r->dmarc.p, "reject")) || r->dmarc.pct < 100)
			dc_finding(c, DNSCHECK_WARNING, "bimi", "bimi-dmarc", name, NULL,
			    NULL, "BIMI logos are shown only for domains whose DMARC "
			    "policy is quarantine or reject (for all mail): the logo "
			    "will not appear until DMARC is enforced");
	}
	dns_answer_release(a);
out_free:
	free(name);
}

/* ---- ADSP (RFC 5617, historic) -------------------------------------------- */

static void
dc_adsp(struct dnscheck_ctx *c)
{
	struct dnscheck_result *r = c->res;
	const struct dns_answer *a;
	const struct dns_rr *rr;
	char *name = xasprintf("_adsp._domainkey.%s", r->domain);

	if ((a = txt_kind(c, &r->adsp, name, "", &rr)) != NULL) {
		if (rr != NULL)
			dc_finding(c, DNSCHECK_INFO, "adsp", "adsp-historic", name,
			    "RFC 5617; historic since 2013", NULL, "an ADSP record is "
			    "published (%s); ADSP was moved to Historic in 2013 and "
			    "receivers no longer use it - DMARC replaced it: you may "
			    "remove the record", r->adsp.record);
		dns_answer_release(a);
	}
	free(name);
}

/* ---- the check -------------------------------------------------------------- */

const char *
dnscheck_severity_name(enum dnscheck_severity s)
{
	switch (s) {
	case DNSCHECK_ERROR:	return "error";
	case DNSCHECK_WARNING:	return "warning";
	default:		return "info";
	}
}

int
dnscheck_exit_status(const struct dnscheck_result *r)
{
	if (r->error != NULL || r->lookup_failed)
		return 2;
	return r->nerrors + r->nwarnings > 0 ? 1 : 0;
}

/* Lower case, no trailing dot, a name that can be asked: 0, or -1 with why. */
static int
check_args(struct dnscheck_result *r, const char *domain, const char *const *sel,
    size_t nsel)
{
	char name[DNS_MAX_NAME + 64];
	size_t n = strlen(domain);

	while (n > 1 && domain[n - 1] == '.')
		n--;
	r->domain = xstrndup(domain, n);
	str_lower(r->domain);
	if (!dns_name_ok(r->domain) || strchr(r->domain, '.') == NULL) {
		r->error = xasprintf("\"%s\" is not a domain name that can be looked "
		    "up", r->domain);
		return -1;
	}
	if (nsel > DNSCHECK_MAX_SELECTORS) {
		r->error = xasprintf("at most %d selectors", DNSCHECK_MAX_SELECTORS);
		return -1;
	}
	for (size_t i = 0; i < nsel; i++) {
		snprintf(name, sizeof(name), "%s._domainkey.%s", sel[i], r->domain);
		if (sel[i][0] == '\0' || strlen(sel[i]) > DNS_MAX_NAME ||
		    !dns_name_ok(name)) {
			r->error = xasprintf("\"%s\" is not a selector that can be "
			    "looked up under %s", sel[i], r->domain);
			return -1;
		}
	}
	return 0;
}

int
dnscheck_run(const struct verify_config *cfg, const char *domain,
    const char *const *sel, size_t nsel, struct dnscheck_result *r)
{
	return dnscheck_run_keys(cfg, NULL, domain, sel, nsel, r);
}

int
dnscheck_run_keys(const struct verify_config *cfg, struct dkim_key_cache *keys,
    const char *domain, const char *const *sel, size_t nsel,
    struct dnscheck_result *r)
{
	struct dnscheck_ctx c;

	memset(r, 0, sizeof(*r));
	r->dmarc.pct = 100;
	r->dmarc.adkim = r->dmarc.aspf = 'r';
	if (check_args(r, domain, sel, nsel) < 0)
		return -1;
	memset(&c, 0, sizeof(c));
	c.cfg = cfg;
	c.res = r;
	c.keys = keys;
	r->servers = xstrdup(dns_servers_text(cfg->dns));
	r->lookups = xcalloc(DNSCHECK_MAX_QUERIES, sizeof(*r->lookups));
	r->findings = xcalloc(DNSCHECK_MAX_FINDINGS, sizeof(*r->findings));
	dc_mx(&c);
	dc_spf(&c);
	dc_dkim(&c, sel, nsel);
	dc_dmarc(&c);
	dc_adsp(&c);
	dc_mta_sts(&c);
	dc_tls_rpt(&c);
	dc_bimi(&c);
	if (c.dmarc != NULL)
		dmarc_ctx_free(c.dmarc);
	return 0;
}

static void
txt_free(struct dnscheck_txt *t)
{
	free(t->name);
	free(t->record);
}

void
dnscheck_result_free(struct dnscheck_result *r)
{
	free(r->domain);
	free(r->error);
	free(r->servers);
	dc_spf_free(&r->spf);
	for (size_t i = 0; i < r->ndkim; i++) {
		free(r->dkim[i].selector);
		free(r->dkim[i].name);
		free(r->dkim[i].record);
		free(r->dkim[i].key_type);
		free(r->dkim[i].error);
	}
	free(r->dkim);
	dc_dmarc_free(&r->dmarc);
	txt_free(&r->adsp);
	txt_free(&r->mta_sts);
	txt_free(&r->tls_rpt);
	txt_free(&r->bimi);
	for (size_t i = 0; i < r->mx.n; i++)
		free(r->mx.hosts[i]);
	free(r->mx.hosts);
	free(r->mx.prefs);
	for (size_t i = 0; i < r->nfindings; i++)
		finding_free(&r->findings[i]);
	free(r->findings);
	free(r->suggested_dmarc);
	for (size_t i = 0; i < r->ndmarc_steps; i++)
		free(r->dmarc_steps[i]);
	free(r->dmarc_steps);
	for (size_t i = 0; i < r->nlookups; i++) {
		free(r->lookups[i].name);
		free(r->lookups[i].why);
	}
	free(r->lookups);
	memset(r, 0, sizeof(*r));
}
