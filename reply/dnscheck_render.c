/* dnscheck_render.c - record-check findings as text and JSON: see dnscheck_render.h */
#include <stdlib.h>
#include <string.h>

#include "../common/dns.h"
#include "../common/util.h"
#include "../verify/spf.h"
#include "dnscheck_render.h"
#include "report.h"

/* ---- JSON ------------------------------------------------------------------- */

static void
jset(json_t *o, const char *k, const char *v)
{
	json_object_set_new(o, k, report_jstr(v));
}

static void
jbool(json_t *o, const char *k, int v)
{
	json_object_set_new(o, k, json_boolean(v));
}

static void
jint(json_t *o, const char *k, long long v)
{
	json_object_set_new(o, k, json_integer(v));
}

static const char *
status_name(enum dns_status s)
{
	return dns_status_name(s);
}

static json_t *
spf_json(const struct dnscheck_spf *s)
{
	json_t *o = json_object(), *tree = json_array();

	jset(o, "record", s->record);
	jint(o, "records", s->nrecords);
	jbool(o, "dnssec", s->secure);
	jset(o, "type99_record", s->type99);
	jint(o, "dns_terms", (long long)s->dns_terms);
	jint(o, "dns_terms_limit", SPF_MAX_DNS_MECHS);
	jint(o, "void_lookups", (long long)s->void_lookups);
	jint(o, "void_lookups_limit", SPF_MAX_VOID_LOOKUPS);
	jbool(o, "truncated", s->truncated);
	for (size_t i = 0; i < s->nnodes; i++) {
		const struct dnscheck_spf_node *n = &s->nodes[i];
		json_t *j = json_object();

		jint(j, "depth", n->depth);
		jint(j, "parent", n->parent);
		jset(j, "via", n->via);
		jset(j, "domain", n->domain);
		jset(j, "record", n->record);
		jset(j, "status", n->loop ? "loop" : status_name(n->status));
		jbool(j, "dnssec", n->secure);
		jint(j, "records", n->nrecords);
		jbool(j, "broken", n->broken);
		jbool(j, "loop", n->loop);
		jint(j, "terms", (long long)n->terms);
		jint(j, "dns_terms", (long long)n->dns_terms);
		jint(j, "void_lookups", (long long)n->void_lookups);
		json_array_append_new(tree, j);
	}
	json_object_set_new(o, "tree", tree);
	return o;
}

static json_t *
dkim_json(const struct dnscheck_result *r)
{
	json_t *o = json_object(), *a = json_array();

	jbool(o, "probed", r->dkim_probed);
	for (size_t i = 0; i < r->ndkim; i++) {
		const struct dnscheck_dkim *k = &r->dkim[i];
		json_t *j = json_object();

		jset(j, "selector", k->selector);
		jset(j, "name", k->name);
		jbool(j, "given", k->given);
		jbool(j, "found", k->found);
		jset(j, "status", status_name(k->status));
		jbool(j, "dnssec", k->secure);
		jset(j, "record", k->record);
		jint(j, "records", (long long)k->nrecords);
		jint(j, "strings", (long long)k->nstrings);
		jbool(j, "valid", k->valid);
		jset(j, "key_type", k->key_type);
		jint(j, "key_bits", k->bits);
		jbool(j, "testing", k->testing);
		jbool(j, "revoked", k->revoked);
		jset(j, "error", k->error);
		json_array_append_new(a, j);
	}
	json_object_set_new(o, "selectors", a);
	return o;
}

static json_t *
dmarc_json(const struct dnscheck_dmarc *d)
{
	json_t *o = json_object(), *a = json_array();
	char al[2] = { 0, 0 };

	jset(o, "name", d->name);
	jset(o, "policy_domain", d->policy_domain);
	jbool(o, "at_domain", d->at_domain);
	jset(o, "status", status_name(d->status));
	jbool(o, "dnssec", d->secure);
	jint(o, "records", d->nrecords);
	jset(o, "record", d->record);
	jset(o, "p", d->p);
	jset(o, "sp", d->sp);
	jset(o, "np", d->np);
	jint(o, "pct", d->pct);
	jbool(o, "testing", d->testing);
	al[0] = d->adkim;
	jset(o, "adkim", al);
	al[0] = d->aspf;
	jset(o, "aspf", al);
	for (size_t i = 0; i < d->nuris; i++) {
		const struct dnscheck_report_uri *u = &d->uris[i];
		json_t *j = json_object();

		jset(j, "tag", u->tag);
		jset(j, "uri", u->uri);
		jset(j, "domain", u->domain);
		jbool(j, "external", u->external);
		json_object_set_new(j, "authorized", u->authorized < 0 ? json_null() :
		    json_boolean(u->authorized));
		jset(j, "authorization_name", u->auth_name);
		json_array_append_new(a, j);
	}
	json_object_set_new(o, "reports", a);
	return o;
}

static json_t *
txt_json(const struct dnscheck_txt *t)
{
	json_t *o = json_object();

	jset(o, "name", t->name);
	jset(o, "status", t->name ? status_name(t->status) : NULL);
	jbool(o, "dnssec", t->secure);
	jint(o, "records", t->nrecords);
	jset(o, "record", t->record);
	return o;
}

static json_t *
mx_json(const struct dnscheck_mx *m)
{
	json_t *o = json_object(), *a = json_array();

	jset(o, "status", status_name(m->status));
	jbool(o, "dnssec", m->secure);
	jbool(o, "null_mx", m->null_mx);
	jbool(o, "address_fallback", m->address);
	for (size_t i = 0; i < m->n; i++) {
		json_t *j = json_object();

		jint(j, "preference", m->prefs[i]);
		jset(j, "host", m->hosts[i]);
		json_array_append_new(a, j);
	}
	json_object_set_new(o, "hosts", a);
	return o;
}

static json_t *
findings_json(const struct dnscheck_result *r)
{
	json_t *a = json_array();

	for (size_t i = 0; i < r->nfindings; i++) {
		const struct dnscheck_finding *f = &r->findings[i];
		json_t *j = json_object();

		jset(j, "severity", dnscheck_severity_name(f->severity));
		jset(j, "area", f->area);
		jset(j, "code", f->code);
		jset(j, "name", f->name);
		jset(j, "message", f->message);
		jset(j, "rfc", f->rfc);
		jset(j, "suggestion", f->suggestion);
		jset(j, "suggestion_name", f->suggestion ? (f->suggestion_name ?
		    f->suggestion_name : f->name) : NULL);
		json_array_append_new(a, j);
	}
	return a;
}

json_t *
dnscheck_json(const struct dnscheck_result *r)
{
	json_t *o = json_object(), *c = json_object(), *s = json_object(), *l;
	int ex = dnscheck_exit_status(r);

	jset(o, "domain", r->domain);
	jset(o, "dns_servers", r->servers);
	jset(o, "status", ex == 2 ? "lookup-failed" : ex == 1 ? "problems" : "ok");
	jint(o, "exit_status", ex);
	jint(c, "error", (long long)r->nerrors);
	jint(c, "warning", (long long)r->nwarnings);
	jint(c, "info", (long long)r->ninfos);
	jint(c, "dropped", (long long)r->findings_dropped);
	json_object_set_new(o, "counts", c);
	json_object_set_new(o, "findings", findings_json(r));
	json_object_set_new(o, "spf", spf_json(&r->spf));
	json_object_set_new(o, "dkim", dkim_json(r));
	json_object_set_new(o, "dmarc", dmarc_json(&r->dmarc));
	json_object_set_new(o, "adsp", txt_json(&r->adsp));
	json_object_set_new(o, "mx", mx_json(&r->mx));
	json_object_set_new(o, "mta_sts", txt_json(&r->mta_sts));
	json_object_set_new(o, "tls_rpt", txt_json(&r->tls_rpt));
	json_object_set_new(o, "bimi", txt_json(&r->bimi));
	jset(s, "record", r->suggested_dmarc);
	l = json_array();
	for (size_t i = 0; i < r->ndmarc_steps; i++)
		json_array_append_new(l, report_jstr(r->dmarc_steps[i]));
	json_object_set_new(s, "steps", l);
	json_object_set_new(o, "suggested_dmarc", s);
	l = json_array();
	for (size_t i = 0; i < r->nlookups; i++) {
		const struct dnscheck_lookup *k = &r->lookups[i];
		json_t *j = json_object();

		jset(j, "name", k->name);
		jset(j, "type", dns_type_name(k->type));
		jset(j, "status", status_name(k->status));
		jbool(j, "dnssec", k->secure);
		jset(j, "why", k->why);
		json_array_append_new(l, j);
	}
	json_object_set_new(o, "lookups", l);
	return o;
}

char *
dnscheck_render_json(const struct dnscheck_result *r, int pretty)
{
	json_t *j = dnscheck_json(r);
	char *s = json_dumps(j, JSON_PRESERVE_ORDER | (pretty ? JSON_INDENT(2) :
	    JSON_COMPACT));

	json_decref(j);
	if (s == NULL)
		fatal("out of memory");
	return s;
}

/* ---- text -------------------------------------------------------------------- */

static const char *
dnssec(int secure)
{
	return secure ? " [DNSSEC]" : "";
}

static const char *
absent(enum dns_status s)
{
	switch (s) {
	case DNS_NXDOMAIN:	return "not published (the name does not exist)";
	case DNS_TEMPFAIL:	return "lookup failed";
	case DNS_BADNAME:	return "not a name that can be looked up";
	default:		return "not published";
	}
}

static void
text_spf(struct sbuf *b, const struct dnscheck_spf *s)
{
	sbuf_printf(b, "SPF\n");
	if (s->nnodes == 0 || s->nodes[0].record == NULL) {
		sbuf_printf(b, "  %s\n", s->nnodes == 0 ? "not looked up" :
		    s->nodes[0].status == DNS_OK ? "no SPF record" :
		    absent(s->nodes[0].status));
		return;
	}
	for (size_t i = 0; i < s->nnodes; i++) {
		const struct dnscheck_spf_node *n = &s->nodes[i];

		sbuf_printf(b, "  %*s%s%s%s\n", 2 * n->depth, "", n->via ? n->via : "",
		    n->via ? " -> " : "", n->domain);
		if (n->loop)
			sbuf_printf(b, "  %*s  (loop: already above)\n", 2 * n->depth, "");
		else if (n->record)
			sbuf_printf(b, "  %*s  %s%s\n  %*s  (%zu terms, %zu querying DNS, "
			    "%zu void)\n", 2 * n->depth, "", n->record, dnssec(n->secure),
			    2 * n->depth, "", n->terms, n->dns_terms, n->void_lookups);
		else if (i > 0)
			sbuf_printf(b, "  %*s  %s\n", 2 * n->depth, "", n->status == DNS_OK ?
			    "no SPF record" : absent(n->status));
	}
	if (s->record)
		sbuf_printf(b, "  DNS-querying terms: %zu of %d; void lookups: %zu of %d%s\n",
		    s->dns_terms, SPF_MAX_DNS_MECHS, s->void_lookups,
		    SPF_MAX_VOID_LOOKUPS, s->truncated ? " (tree cut short)" : "");
	if (s->type99)
		sbuf_printf(b, "  SPF (type 99) record: %s\n", s->type99);
}

static void
text_dkim(struct sbuf *b, const struct dnscheck_result *r)
{
	size_t shown = 0;

	sbuf_printf(b, "DKIM%s\n", r->dkim_probed ? " (common selectors)" : "");
	for (size_t i = 0; i < r->ndkim; i++) {
		const struct dnscheck_dkim *k = &r->dkim[i];

		if (!k->found && !k->given && k->status != DNS_TEMPFAIL)
			continue;
		shown++;
		sbuf_printf(b, "  %s: ", k->name);
		if (!k->found)
			sbuf_printf(b, "%s\n", absent(k->status));
		else if (k->revoked)
			sbuf_printf(b, "revoked (empty p=)%s\n", dnssec(k->secure));
		else if (k->valid)
			sbuf_printf(b, "%s, %d bits%s%s\n", k->key_type ? k->key_type : "?",
			    k->bits, k->testing ? ", testing (t=y)" : "",
			    dnssec(k->secure));
		else
			sbuf_printf(b, "not valid: %s%s\n", k->error ? k->error : "?",
			    dnssec(k->secure));
	}
	if (shown == 0)
		sbuf_printf(b, "  no key found\n");
}

static void
text_dmarc(struct sbuf *b, const struct dnscheck_dmarc *d)
{
	sbuf_printf(b, "DMARC\n");
	if (d->record == NULL) {
		sbuf_printf(b, "  %s\n", absent(d->status));
		return;
	}
	sbuf_printf(b, "  %s: %s%s\n", d->name, d->record, dnssec(d->secure));
	if (!d->at_domain)
		sbuf_printf(b, "  (found by the DNS tree walk, not at the domain)\n");
	sbuf_printf(b, "  policy p=%s%s%s%s%s, pct=%d%s, alignment adkim=%c aspf=%c\n",
	    d->p ? d->p : "(none given)", d->sp ? " sp=" : "", d->sp ? d->sp : "",
	    d->np ? " np=" : "", d->np ? d->np : "", d->pct,
	    d->testing ? ", testing (t=y)" : "", d->adkim, d->aspf);
	for (size_t i = 0; i < d->nuris; i++) {
		const struct dnscheck_report_uri *u = &d->uris[i];

		sbuf_printf(b, "  %s %s%s\n", u->tag, u->uri, !u->external ? "" :
		    u->authorized == 1 ? " (another domain; it accepts the reports)" :
		    u->authorized == 0 ? " (another domain; it has NOT agreed to "
		    "receive them)" : " (another domain; not known)");
	}
}

static void
text_txt(struct sbuf *b, const char *title, const struct dnscheck_txt *t)
{
	sbuf_printf(b, "%-9s %s: ", title, t->name ? t->name : "?");
	if (t->record)
		sbuf_printf(b, "%s%s\n", t->record, dnssec(t->secure));
	else
		sbuf_printf(b, "%s\n", absent(t->status));
}

static void
text_mx(struct sbuf *b, const struct dnscheck_mx *m)
{
	sbuf_printf(b, "MX        ");
	if (m->n == 0)
		sbuf_printf(b, "%s%s\n", m->status == DNS_NODATA ? "none" :
		    absent(m->status), m->address ? " (mail goes to the address "
		    "record)" : "");
	for (size_t i = 0; i < m->n; i++)
		sbuf_printf(b, "%s%d %s", i ? ", " : "", m->prefs[i], m->hosts[i]);
	if (m->n > 0)
		sbuf_printf(b, "%s%s\n", m->null_mx ? " (null MX: accepts no mail)" : "",
		    dnssec(m->secure));
}

static void
text_finding(struct sbuf *b, const struct dnscheck_finding *f)
{
	sbuf_printf(b, "  [%s] %s: %s", dnscheck_severity_name(f->severity), f->name,
	    f->message);
	if (f->rfc)
		sbuf_printf(b, " (%s)", f->rfc);
	sbuf_addc(b, '\n');
	if (f->suggestion)
		sbuf_printf(b, "      suggested record for %s:\n        %s\n",
		    f->suggestion_name ? f->suggestion_name : f->name, f->suggestion);
}

static void
text_findings(struct sbuf *b, const struct dnscheck_result *r, int with_info)
{
	static const enum dnscheck_severity order[] = { DNSCHECK_ERROR,
	    DNSCHECK_WARNING, DNSCHECK_INFO };

	for (size_t o = 0; o < ARRAY_SIZE(order); o++) {
		if (order[o] == DNSCHECK_INFO && !with_info)
			break;
		for (size_t i = 0; i < r->nfindings; i++)
			if (r->findings[i].severity == order[o])
				text_finding(b, &r->findings[i]);
	}
}

char *
dnscheck_render_text(const struct dnscheck_result *r)
{
	struct sbuf b;
	char *out;
	int ex = dnscheck_exit_status(r);

	sbuf_init(&b, 0);
	sbuf_printf(&b, "DNS check of %s (asked %s)\n\n", r->domain,
	    r->servers && *r->servers ? r->servers : "the system resolver");
	text_spf(&b, &r->spf);
	text_dkim(&b, r);
	text_dmarc(&b, &r->dmarc);
	text_txt(&b, "ADSP", &r->adsp);
	text_mx(&b, &r->mx);
	text_txt(&b, "MTA-STS", &r->mta_sts);
	text_txt(&b, "TLS-RPT", &r->tls_rpt);
	text_txt(&b, "BIMI", &r->bimi);
	sbuf_printf(&b, "\nFindings: %zu error%s, %zu warning%s, %zu note%s\n",
	    r->nerrors, r->nerrors == 1 ? "" : "s", r->nwarnings,
	    r->nwarnings == 1 ? "" : "s", r->ninfos, r->ninfos == 1 ? "" : "s");
	text_findings(&b, r, 1);
	if (r->findings_dropped)
		sbuf_printf(&b, "  (%zu more not shown)\n", r->findings_dropped);
	sbuf_printf(&b, "\n%s\n", ex == 2 ? "Result: a lookup failed; the check is "
	    "incomplete (exit 2)" : ex == 1 ? "Result: problems found (exit 1)" :
	    "Result: no problems found (exit 0)");
	out = sbuf_steal(&b);
	sbuf_free(&b);
	return out;
}

char *
dnscheck_render_suggest(const struct dnscheck_result *r)
{
	struct sbuf b;
	char *out;

	sbuf_init(&b, 0);
	sbuf_printf(&b, "DMARC for %s\n\n", r->domain);
	if (r->dmarc.record)
		sbuf_printf(&b, "Now at %s:\n  %s\n\n", r->dmarc.name, r->dmarc.record);
	else
		sbuf_printf(&b, "Now: no DMARC record.\n\n");
	sbuf_printf(&b, "Publish next, as a TXT record at _dmarc.%s:\n  %s\n\n",
	    r->domain, r->suggested_dmarc ? r->suggested_dmarc : "?");
	sbuf_printf(&b, "The way to p=reject:\n");
	for (size_t i = 0; i < r->ndmarc_steps; i++)
		sbuf_printf(&b, "  %s\n", r->dmarc_steps[i]);
	out = sbuf_steal(&b);
	sbuf_free(&b);
	return out;
}

char *
dnscheck_render_fixes(const struct dnscheck_result *r)
{
	struct sbuf b;
	char *out;

	sbuf_init(&b, 0);
	text_findings(&b, r, 0);
	out = sbuf_steal(&b);
	sbuf_free(&b);
	return out;
}
