/*
 * dnscheck_dmarc.c - the DMARC part of the record checker (see dnscheck.h):
 * the record at _dmarc.<domain> or, failing that, where the DNS tree walk
 * finds it (RFC 9989 4.10, dmarc_walk_targets()); every tag as the
 * verifier's parser takes it (dmarc_record_tags()); the policy and its
 * strength; the report destinations and, for those of another
 * organization, whether they agreed to receive the reports (RFC 7489 7.1:
 * TXT "v=DMARC1" at <policy domain>._report._dmarc.<destination>); and
 * the DMARC record to publish next, with the path to p=reject.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/dns.h"
#include "../common/util.h"
#include "dmarc_record.h"
#include "dnscheck.h"
#include "dnscheck_int.h"

#define DMARC_PREFIX		"_dmarc."
#define REPORT_INFIX		"._report._dmarc."
/* the mailbox proposed for aggregate reports: <this>@<domain> */
#define REPORT_MAILBOX		"dmarc-reports"

/* The tags of a record kept as "name=value" texts, to edit and rebuild. */
struct dtags {
	char		 name[DMARC_MAX_TAGS][16];
	char		*text[DMARC_MAX_TAGS];	/* owned */
	size_t		 n;
};

static void
dtags_free(struct dtags *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->text[i]);
	t->n = 0;
}

/* The valid tags of a record (those the parser used), white space trimmed. */
static void
dtags_from(struct dtags *t, const char *txt, const struct dmarc_tag_info *ti, size_t n)
{
	t->n = 0;
	for (size_t i = 0; i < n && t->n < DMARC_MAX_TAGS; i++) {
		const char *s = txt + ti[i].pos;
		size_t len = ti[i].len;
		char *copy;

		if (ti[i].status != DMARC_TAG_OK)
			continue;
		copy = xstrndup(s, len);
		str_copy(t->name[t->n], ti[i].name, sizeof(t->name[0]));
		t->text[t->n++] = xstrdup(str_trim(copy));
		free(copy);
	}
}

static void
dtags_drop(struct dtags *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (str_caseeq(t->name[i], name)) {
			free(t->text[i]);
			memmove(&t->text[i], &t->text[i + 1], (t->n - i - 1) * sizeof(char *));
			memmove(&t->name[i], &t->name[i + 1], (t->n - i - 1) * sizeof(t->name[0]));
			t->n--;
			i--;
		}
}

/* Set name=value: in place, or p first and others at the end. */
static void
dtags_set(struct dtags *t, const char *name, const char *value)
{
	size_t at;

	for (size_t i = 0; i < t->n; i++)
		if (str_caseeq(t->name[i], name)) {
			free(t->text[i]);
			t->text[i] = xasprintf("%s=%s", name, value);
			return;
		}
	if (t->n == DMARC_MAX_TAGS)
		return;
	at = strcmp(name, "p") == 0 ? 0 : t->n;
	memmove(&t->text[at + 1], &t->text[at], (t->n - at) * sizeof(char *));
	memmove(&t->name[at + 1], &t->name[at], (t->n - at) * sizeof(t->name[0]));
	str_copy(t->name[at], name, sizeof(t->name[0]));
	t->text[at] = xasprintf("%s=%s", name, value);
	t->n++;
}

/* "v=DMARC1; ..." - NULL unless the verifier's parser takes all of it. */
static char *
dtags_record(const struct dtags *t)
{
	struct dmarc_record rec;
	struct sbuf b;
	char *out;
	int ok;

	sbuf_init(&b, 0);
	sbuf_adds(&b, "v=DMARC1");
	for (size_t i = 0; i < t->n; i++)
		sbuf_printf(&b, "; %s", t->text[i]);
	out = sbuf_steal(&b);
	sbuf_free(&b);
	if (!dmarc_record_is_dmarc(out, strlen(out))) {
		free(out);
		return NULL;
	}
	dmarc_record_parse(out, strlen(out), DMARC_SPEC_9989, &rec);
	ok = rec.ignored == NULL && rec.dup_tag == NULL &&
	    rec.p != DMARC_REQ_ABSENT && rec.p != DMARC_REQ_INVALID;
	dmarc_record_free(&rec);
	if (!ok) {
		free(out);
		return NULL;
	}
	return out;
}

/* The record's valid tags, p= ensured (none), then one edit. */
static char *
fixed_record(const struct dtags *base, const char *drop, const char *set,
    const char *value)
{
	struct dtags t;
	char *out;

	t.n = 0;
	for (size_t i = 0; i < base->n; i++) {
		str_copy(t.name[t.n], base->name[i], sizeof(t.name[0]));
		t.text[t.n++] = xstrdup(base->text[i]);
	}
	{
		int has_p = 0;

		for (size_t i = 0; i < t.n; i++)
			has_p |= str_caseeq(t.name[i], "p");
		if (!has_p)
			dtags_set(&t, "p", "none");
	}
	if (drop != NULL)
		dtags_drop(&t, drop);
	if (set != NULL)
		dtags_set(&t, set, value);
	out = dtags_record(&t);
	dtags_free(&t);
	return out;
}

/* ---- report destinations (RFC 7489 7.1) -------------------------------------- */

/* Is dest in the same organization as the policy domain? */
static int
same_org(struct dnscheck_ctx *c, const char *pol, const char *dest)
{
	char a[DNS_MAX_NAME + 2], b[DNS_MAX_NAME + 2];

	if (dc_org_domain(c, pol, a, sizeof(a)) == 0 &&
	    dc_org_domain(c, dest, b, sizeof(b)) == 0)
		return str_caseeq(a, b);
	return dmarc_domain_under(dest, pol) || dmarc_domain_under(pol, dest);
}

static void
authorize(struct dnscheck_ctx *c, struct dnscheck_report_uri *u, const char *pol)
{
	const struct dns_answer *a;
	struct dnscheck_finding *f;

	u->auth_name = xasprintf("%s" REPORT_INFIX "%s", pol, u->domain);
	if (!dns_name_ok(u->auth_name)) {
		u->authorized = 0;
		return;
	}
	if ((a = dc_query(c, u->auth_name, DNS_T_TXT, 1)) == NULL)
		return;
	for (size_t i = 0; a->status == DNS_OK && i < a->nrr; i++)
		if (a->rr[i].type == DNS_T_TXT &&
		    dmarc_record_is_dmarc(a->rr[i].u.txt.data, a->rr[i].u.txt.len))
			u->authorized = 1;
	if (a->status == DNS_TEMPFAIL)
		dc_finding(c, DNSCHECK_ERROR, "dmarc", "dmarc-lookup-failed",
		    u->auth_name, NULL, NULL, "the lookup of %s failed (%s), so it is "
		    "not known whether %s accepts your reports", u->auth_name,
		    a->why ? a->why : "DNS error", u->domain);
	else if (u->authorized != 1) {
		u->authorized = 0;
		f = dc_finding(c, DNSCHECK_ERROR, "dmarc", "dmarc-report-unauthorized",
		    c->res->dmarc.name, "RFC 7489 7.1", xstrdup("v=DMARC1;"),
		    "%s=%s sends reports to %s, another organization, which has not "
		    "said it accepts reports for %s: receivers send nothing there. "
		    "The owner of %s must publish a TXT record \"v=DMARC1;\" at %s",
		    u->tag, u->uri, u->domain, pol, u->domain, u->auth_name);
		if (f != NULL)
			f->suggestion_name = xstrdup(u->auth_name);
	}
	dns_answer_release(a);
}

/* One URI of rua= or ruf=. */
static void
report_uri(struct dnscheck_ctx *c, const char *tag, const char *s, size_t n,
    const char *pol)
{
	struct dnscheck_dmarc *d = &c->res->dmarc;
	struct dnscheck_report_uri *u;
	const char *at, *end;

	if (d->nuris >= DNSCHECK_MAX_REPORT_URIS)
		return;
	u = &d->uris[d->nuris++];
	u->tag = tag;
	u->uri = dc_printable(s, n);
	u->authorized = -1;
	if (!dmarc_uri_ok(s, n)) {
		dc_finding(c, DNSCHECK_ERROR, "dmarc", "dmarc-uri-invalid", d->name,
		    "RFC 9989 4.8", NULL, "%s= holds \"%s\", which is not a URI "
		    "(commas and \"!\" in an address must be written %%2C and %%21): "
		    "receivers drop it", tag, u->uri);
		return;
	}
	if (n < 8 || !str_ncaseeq(s, "mailto:", 7)) {
		dc_finding(c, DNSCHECK_WARNING, "dmarc", "dmarc-uri-scheme", d->name,
		    "RFC 9989 4.7", NULL, "%s= holds \"%s\": reports are sent by mail "
		    "only, to mailto: addresses", tag, u->uri);
		return;
	}
	for (end = s + 7; end < s + n && *end != '!' && *end != '?'; end++)
		;
	at = memrchr(s + 7, '@', (size_t)(end - s - 7));
	if (at == NULL || at + 1 >= end) {
		dc_finding(c, DNSCHECK_ERROR, "dmarc", "dmarc-uri-invalid", d->name,
		    "RFC 9989 4.8", NULL, "%s= holds \"%s\", which is not a mail "
		    "address", tag, u->uri);
		return;
	}
	u->domain = xstrndup(at + 1, (size_t)(end - at - 1));
	str_lower(u->domain);
	if (!same_org(c, pol, u->domain)) {
		u->external = 1;
		authorize(c, u, pol);
	}
}

static void
report_uris(struct dnscheck_ctx *c, const char *tag, const char *list, const char *pol)
{
	size_t n = strlen(list), i = 0;

	while (i <= n) {
		size_t b, e;

		while (i < n && (list[i] == ' ' || list[i] == '\t'))
			i++;
		b = i;
		while (i < n && list[i] != ',')
			i++;
		e = i;
		while (e > b && (list[e - 1] == ' ' || list[e - 1] == '\t'))
			e--;
		if (e > b)
			report_uri(c, tag, list + b, e - b, pol);
		i++;
	}
}

/* ---- one record -------------------------------------------------------------- */

static const char *
tag_words(enum dmarc_tag_status st)
{
	switch (st) {
	case DMARC_TAG_UNKNOWN:
		return "is not a DMARC tag, so receivers ignore it (a typo?)";
	case DMARC_TAG_SYNTAX:
		return "is not a tag=value pair; receivers discard it";
	case DMARC_TAG_BADVALUE:
		return "has a value that is not valid; receivers discard it and use "
		    "the default";
	default:
		return "repeats a tag; receivers discard the repetition";
	}
}

static void
tag_findings(struct dnscheck_ctx *c, const char *txt, const struct dmarc_tag_info *ti,
    size_t n, const struct dtags *base)
{
	const char *name = c->res->dmarc.name;

	for (size_t i = 0; i < n; i++) {
		char *seg;

		if (ti[i].status == DMARC_TAG_OK ||
		    (ti[i].status == DMARC_TAG_BADVALUE && (str_caseeq(ti[i].name, "rua") ||
		    str_caseeq(ti[i].name, "ruf"))))
			continue;	/* URIs: said one by one (report_uri()) */
		seg = xstrndup(txt + ti[i].pos, ti[i].len);
		dc_finding(c, ti[i].status == DMARC_TAG_UNKNOWN ? DNSCHECK_WARNING :
		    DNSCHECK_ERROR, "dmarc", ti[i].status == DMARC_TAG_UNKNOWN ?
		    "dmarc-unknown-tag" : "dmarc-bad-tag", name,
		    ti[i].status == DMARC_TAG_UNKNOWN ? "RFC 9989 4.7" : "RFC 9989 4.8",
		    fixed_record(base, NULL, NULL, NULL), "\"%s\" %s", str_trim(seg),
		    tag_words(ti[i].status));
		free(seg);
	}
}

static void
policy_findings(struct dnscheck_ctx *c, const struct dmarc_record *rec,
    const struct dtags *base)
{
	const char *name = c->res->dmarc.name;
	int strong = rec->p == DMARC_REQ_QUARANTINE || rec->p == DMARC_REQ_REJECT;

	if (rec->p == DMARC_REQ_ABSENT || rec->p == DMARC_REQ_INVALID)
		dc_finding(c, rec->rua_valid ? DNSCHECK_WARNING : DNSCHECK_ERROR, "dmarc",
		    "dmarc-no-policy", name, "RFC 9989 4.10.1",
		    fixed_record(base, NULL, NULL, NULL), "the record has no valid p=: "
		    "%s", rec->rua_valid ? "with a valid rua= it acts as p=none "
		    "(reports only)" : "without a valid rua= either, receivers ignore "
		    "the whole record");
	else if (rec->p == DMARC_REQ_NONE)
		dc_finding(c, DNSCHECK_WARNING, "dmarc", "dmarc-policy-none", name,
		    "RFC 9989 4.7", fixed_record(base, NULL, "p", "quarantine"),
		    "p=none is monitoring only: receivers do nothing with mail that "
		    "fails DMARC, so anyone can still send as your domain. Once the "
		    "aggregate reports show your own mail passing, move to "
		    "p=quarantine, then p=reject (see --suggest-dmarc)");
	if (strong && rec->sp == DMARC_REQ_NONE)
		dc_finding(c, DNSCHECK_WARNING, "dmarc", "dmarc-sp-none", name,
		    "RFC 9989 4.7", fixed_record(base, "sp", NULL, NULL), "sp=none "
		    "leaves the subdomains unprotected: mail from any name under the "
		    "domain is not rejected; remove sp= to give them p=%s",
		    dmarc_req_name(rec->p));
	if (strong && rec->np == DMARC_REQ_NONE)
		dc_finding(c, DNSCHECK_WARNING, "dmarc", "dmarc-np-none", name,
		    "RFC 9989 4.7", fixed_record(base, "np", NULL, NULL), "np=none "
		    "leaves names that do not exist unprotected: forgers can send from "
		    "made-up subdomains; remove np=");
	if (rec->pct_given && rec->pct < 100)
		dc_finding(c, DNSCHECK_WARNING, "dmarc", "dmarc-pct", name,
		    "RFC 7489 6.3; historic in RFC 9989", fixed_record(base, "pct", NULL,
		    NULL), "pct=%d: receivers that still read pct apply the policy to "
		    "%d%% of failing mail only; RFC 9989 dropped pct (use t=y for a "
		    "trial): remove it", rec->pct, rec->pct);
	else if (rec->pct_given)
		dc_finding(c, DNSCHECK_INFO, "dmarc", "dmarc-pct-historic", name,
		    "RFC 7489 6.3", NULL, "pct=100 is the default and pct is historic "
		    "in RFC 9989: harmless, and can go");
	if (rec->testing)
		dc_finding(c, DNSCHECK_WARNING, "dmarc", "dmarc-testing", name,
		    "RFC 9989 4.7", fixed_record(base, "t", NULL, NULL), "t=y (testing): "
		    "receivers apply the policy one step weaker (reject as quarantine, "
		    "quarantine as none); remove t=y when the trial is over");
	if (rec->adkim == 's' || rec->aspf == 's')
		dc_finding(c, DNSCHECK_INFO, "dmarc", "dmarc-strict", name,
		    "RFC 9989 3.2.10", NULL, "strict alignment (%s%s%s): DKIM d= and the "
		    "SPF (MAIL FROM) domain must be exactly %s - mail signed or sent "
		    "from a subdomain fails DMARC", rec->adkim == 's' ? "adkim=s" : "",
		    rec->adkim == 's' && rec->aspf == 's' ? ", " : "",
		    rec->aspf == 's' ? "aspf=s" : "", c->res->dmarc.policy_domain);
	if (rec->rua == NULL) {
		char *rua = xasprintf("mailto:" REPORT_MAILBOX "@%s", c->res->domain);

		dc_finding(c, DNSCHECK_WARNING, "dmarc", "dmarc-no-rua", name,
		    "RFC 9989 4.7", fixed_record(base, NULL, "rua", rua), "no rua=: "
		    "nobody receives the aggregate reports, so you cannot see who sends "
		    "mail as your domain or whether your own mail passes");
		free(rua);
	}
}

static void
analyse(struct dnscheck_ctx *c, const char *txt, size_t len)
{
	struct dnscheck_dmarc *d = &c->res->dmarc;
	struct dmarc_tag_info ti[DMARC_MAX_TAGS];
	struct dmarc_record rec;
	struct dtags base;
	char *raw = xstrndup(txt, len);
	size_t n;

	d->record = dc_printable(txt, len);
	dmarc_record_parse(raw, len, DMARC_SPEC_9989, &rec);
	n = dmarc_record_tags(raw, len, DMARC_SPEC_9989, ti, DMARC_MAX_TAGS);
	dtags_from(&base, raw, ti, n);
	d->p = rec.p_text ? xstrdup(rec.p_text) : NULL;
	d->sp = rec.sp_text ? xstrdup(rec.sp_text) : NULL;
	d->np = rec.np_text ? xstrdup(rec.np_text) : NULL;
	d->pct = rec.pct;
	d->testing = rec.testing;
	d->adkim = rec.adkim;
	d->aspf = rec.aspf;
	tag_findings(c, raw, ti, n, &base);
	policy_findings(c, &rec, &base);
	d->uris = xcalloc(DNSCHECK_MAX_REPORT_URIS, sizeof(*d->uris));
	if (rec.rua)
		report_uris(c, "rua", rec.rua, d->policy_domain);
	if (rec.ruf)
		report_uris(c, "ruf", rec.ruf, d->policy_domain);
	dtags_free(&base);
	dmarc_record_free(&rec);
	free(raw);
}

/*
 * A TXT record at _dmarc that is meant to be DMARC but is not seen as
 * such: quotes taken literally, or v=DMARC1 not first.
 */
static void
almost_dmarc(struct dnscheck_ctx *c, const char *name, const char *txt, size_t len)
{
	char *uq = dc_unquote(txt, len), *fix = NULL;
	const char *v;

	if (uq != NULL && dmarc_record_is_dmarc(uq, strlen(uq))) {
		dc_finding(c, DNSCHECK_ERROR, "dmarc", "dmarc-quotes", name,
		    "RFC 9989 4.7", uq, "the DMARC record holds quote or backslash "
		    "characters, so it does not start with v=DMARC1 and receivers do "
		    "not see it (the DNS provider's form took the quotes you typed as "
		    "part of the text)");
		return;
	}
	free(uq);
	if ((v = memmem(txt, len, "v=DMARC1", 8)) == NULL)
		return;
	{
		char *rest = xstrndup(txt, len);
		size_t off = (size_t)(v - txt), e = off + 8;

		while (e < len && (rest[e] == ' ' || rest[e] == ';'))
			e++;
		memmove(rest + off, rest + e, len - e + 1);
		fix = xasprintf("v=DMARC1; %s", str_trim(rest));
		free(rest);
		if (!dmarc_record_is_dmarc(fix, strlen(fix))) {
			free(fix);
			fix = NULL;
		}
	}
	dc_finding(c, DNSCHECK_ERROR, "dmarc", "dmarc-version-not-first", name,
	    "RFC 9989 4.7", fix, "a TXT record at %s holds v=DMARC1, but not as its "
	    "first tag: receivers only see records that start with v=DMARC1", name);
}

/* The DMARC records at _dmarc.<d>: count, first one in *txt. */
static int
fetch(struct dnscheck_ctx *c, const char *d, int at_domain, char **txt, size_t *len)
{
	char *name = xasprintf(DMARC_PREFIX "%s", d);
	const struct dns_answer *a;
	int n = 0;

	*txt = NULL;
	if (!dns_name_ok(name) || (a = dc_query(c, name, DNS_T_TXT, 1)) == NULL) {
		free(name);
		return 0;
	}
	if (at_domain) {
		c->res->dmarc.status = a->status;
		c->res->dmarc.secure = a->secure;
	}
	for (size_t i = 0; a->status == DNS_OK && i < a->nrr; i++) {
		const struct dns_rr *rr = &a->rr[i];

		if (rr->type != DNS_T_TXT)
			continue;
		if (!dmarc_record_is_dmarc(rr->u.txt.data, rr->u.txt.len)) {
			if (at_domain)
				almost_dmarc(c, name, rr->u.txt.data, rr->u.txt.len);
			continue;
		}
		if (n++ == 0) {
			*txt = xstrndup(rr->u.txt.data, rr->u.txt.len);
			*len = rr->u.txt.len;
		}
	}
	if (a->status == DNS_TEMPFAIL) {
		dc_finding(c, DNSCHECK_ERROR, "dmarc", "dmarc-lookup-failed", name, NULL,
		    NULL, "the lookup of %s failed (%s): receivers get temperror",
		    name, a->why ? a->why : "DNS error");
		n = -1;
	}
	dns_answer_release(a);
	free(name);
	return n;
}

static void
found_at(struct dnscheck_ctx *c, const char *d, int at_domain, int n)
{
	struct dnscheck_dmarc *dm = &c->res->dmarc;

	dm->name = xasprintf(DMARC_PREFIX "%s", d);
	dm->policy_domain = xstrdup(d);
	dm->at_domain = at_domain;
	dm->nrecords = n;
	if (n > 1)
		dc_finding(c, DNSCHECK_ERROR, "dmarc", "dmarc-multiple", dm->name,
		    "RFC 9989 4.10", NULL, "%d DMARC records at %s: with more than one, "
		    "receivers act as if there were none; keep one (the first is "
		    "shown and checked below)", n, dm->name);
	if (!at_domain)
		dc_finding(c, DNSCHECK_INFO, "dmarc", "dmarc-inherited", dm->name,
		    "RFC 9989 4.10", NULL, "there is no record at _dmarc.%s; the DNS "
		    "tree walk finds the one at %s, and for %s its sp= (np= for names "
		    "that do not exist) applies, else its p=", c->res->domain, dm->name,
		    c->res->domain);
}

void
dc_dmarc(struct dnscheck_ctx *c)
{
	struct dnscheck_result *r = c->res;
	const char *t[DMARC_WALK_MAX_QUERIES];
	struct dnscheck_finding *f;
	char *txt = NULL;
	size_t len = 0, nt;
	int n;

	if ((n = fetch(c, r->domain, 1, &txt, &len)) > 0)
		found_at(c, r->domain, 1, n);
	nt = n == 0 ? dmarc_walk_targets(r->domain, 0, t) : 0;
	for (size_t i = 0; i < nt && n == 0; i++)
		if ((n = fetch(c, t[i], 0, &txt, &len)) > 0)
			found_at(c, t[i], 0, n);
	if (txt != NULL)
		analyse(c, txt, len);
	free(txt);
	dc_dmarc_suggest(c);
	if (n == 0 && (f = dc_finding(c, DNSCHECK_WARNING, "dmarc", "dmarc-missing",
	    r->domain,
		    "RFC 9989 4.10", r->suggested_dmarc ? xstrdup(r->suggested_dmarc) :
		    NULL, "no DMARC record, at _dmarc.%s or above it: receivers "
		    "apply no policy to mail that fails SPF and DKIM, and large "
		    "mailbox providers ask bulk senders for one. Start with the "
		    "suggested record (p=none, reports to you) at _dmarc.%s",
		    r->domain, r->domain)) != NULL && f->suggestion != NULL)
		f->suggestion_name = xasprintf(DMARC_PREFIX "%s", r->domain);
}

/* ---- what to publish next ------------------------------------------------------ */

/* The rua= to propose: the record's own usable mailto: URIs, else ours. */
static char *
suggest_rua(const struct dnscheck_result *r)
{
	struct sbuf b;

	sbuf_init(&b, 0);
	for (size_t i = 0; i < r->dmarc.nuris; i++) {
		const struct dnscheck_report_uri *u = &r->dmarc.uris[i];

		if (strcmp(u->tag, "rua") == 0 && u->domain && u->authorized != 0)
			sbuf_printf(&b, "%s%s", b.len ? "," : "", u->uri);
	}
	if (b.len == 0)
		sbuf_printf(&b, "mailto:" REPORT_MAILBOX "@%s", r->domain);
	return sbuf_steal(&b);
}

static char *
step_record(const struct dnscheck_result *r, const char *p, const char *rua)
{
	return xasprintf("v=DMARC1; p=%s; rua=%s; adkim=%c; aspf=%c", p, rua,
	    r->dmarc.adkim == 's' ? 's' : 'r', r->dmarc.aspf == 's' ? 's' : 'r');
}

static void
add_step(struct dnscheck_result *r, char *s)
{
	r->dmarc_steps = xreallocarray(r->dmarc_steps, r->ndmarc_steps + 1,
	    sizeof(*r->dmarc_steps));
	r->dmarc_steps[r->ndmarc_steps++] = s;
}

/* Has an area any finding at or above warning? */
static int
area_trouble(const struct dnscheck_result *r, const char *area)
{
	for (size_t i = 0; i < r->nfindings; i++)
		if (strcmp(r->findings[i].area, area) == 0 &&
		    r->findings[i].severity != DNSCHECK_INFO)
			return 1;
	return 0;
}

static char *
dkim_words(const struct dnscheck_result *r)
{
	struct sbuf b;

	sbuf_init(&b, 0);
	for (size_t i = 0; i < r->ndkim; i++) {
		const struct dnscheck_dkim *k = &r->dkim[i];

		if (k->valid && !k->revoked && k->key_type)
			sbuf_printf(&b, "%s%s (%s %d bits)", b.len ? ", " : "",
			    k->selector, k->key_type, k->bits);
	}
	return sbuf_steal(&b);
}

void
dc_dmarc_suggest(struct dnscheck_ctx *c)
{
	struct dnscheck_result *r = c->res;
	const char *p = r->dmarc.p;
	int stage = p == NULL ? 0 : str_caseeq(p, "reject") ? 3 :
	    str_caseeq(p, "quarantine") ? 2 : str_caseeq(p, "none") ? 1 : 0;
	char *rua = suggest_rua(r), *keys = dkim_words(r);
	char *rec[3] = { step_record(r, "none", rua), step_record(r, "quarantine", rua),
	    step_record(r, "reject", rua) };
	static const char *const mark[] = { "", " (you are here)", " (done)" };

	if (stage > 0 && (r->dmarc.testing || r->dmarc.pct < 100))
		stage--;	/* a trial is not the step yet */
	r->suggested_dmarc = xstrdup(rec[stage < 3 ? stage : 2]);
	add_step(r, r->spf.record == NULL ? xasprintf("1. SPF: publish an SPF record "
	    "at %s listing every service that sends as it (v=spf1 ... ~all)",
	    r->domain) : area_trouble(r, "spf") ? xstrdup("1. SPF: fix the SPF "
	    "problems listed above first") : xasprintf("1. SPF: in place (%zu of %d "
	    "DNS lookups)", r->spf.dns_terms, 10));
	add_step(r, *keys ? xasprintf("2. DKIM: keys found at %s; make sure every "
	    "service that sends as %s signs with d=%s", keys, r->domain, r->domain) :
	    xasprintf("2. DKIM: no key found%s: set up DKIM signing at every "
	    "service that sends as %s - DMARC passes with SPF or DKIM aligned, and "
	    "only DKIM survives forwarding", r->dkim_probed ? " at the common "
	    "selectors" : "", r->domain));
	add_step(r, xasprintf("3. Publish at _dmarc.%s: %s%s - monitoring only. "
	    "Read the aggregate reports (make sure the rua= mailbox exists) for 2 to "
	    "4 weeks and fix every service of yours that fails", r->domain, rec[0],
	    mark[stage > 1 ? 2 : stage == 1 ? 1 : 0]));
	add_step(r, xasprintf("4. Then: %s%s - failing mail goes to the spam "
	    "folder; watch the reports for another 2 to 4 weeks", rec[1],
	    mark[stage > 2 ? 2 : stage == 2 ? 1 : 0]));
	add_step(r, xasprintf("5. Finally: %s%s - failing mail is refused",
	    rec[2], mark[stage == 3 ? 1 : 0]));
	for (size_t i = 0; i < ARRAY_SIZE(rec); i++)
		free(rec[i]);
	free(rua);
	free(keys);
}

void
dc_dmarc_free(struct dnscheck_dmarc *d)
{
	free(d->name);
	free(d->policy_domain);
	free(d->record);
	free(d->p);
	free(d->sp);
	free(d->np);
	for (size_t i = 0; i < d->nuris; i++) {
		free(d->uris[i].uri);
		free(d->uris[i].domain);
		free(d->uris[i].auth_name);
	}
	free(d->uris);
}
