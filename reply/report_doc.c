/* report_doc.c - what the report says, in order (see report_doc.h) */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "report_doc.h"

#define RDOC_MAX_ITEMS		2000	/* far above any real report */
#define RDOC_MAX_STEPS		64	/* SPF records listed */
#define RDOC_MAX_PTR		16	/* PTR names listed */

static const char *
nz(const char *s, const char *dflt)
{
	return s && *s ? s : dflt;
}

static struct rdoc_item *
item(struct rdoc *d, enum rdoc_kind kind, int level, const char *key)
{
	struct rdoc_item *it;

	if (d->n == RDOC_MAX_ITEMS)
		fatal("report document larger than %d items", RDOC_MAX_ITEMS);
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 64;
		d->v = xreallocarray(d->v, d->cap, sizeof(*d->v));
	}
	it = &d->v[d->n++];
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	it->level = level;
	it->key = key ? xstrdup(key) : NULL;
	return it;
}

static void
heading(struct rdoc *d, const char *title)
{
	item(d, RDOC_HEADING, 0, title);
}

static void
subhead(struct rdoc *d, const char *title)
{
	item(d, RDOC_SUBHEAD, 0, title);
}

static void
kv(struct rdoc *d, int level, const char *key, const char *value)
{
	if (value == NULL)
		return;
	item(d, RDOC_KV, level, key)->value = xstrdup(value);
}

static void
kvf(struct rdoc *d, int level, const char *key, const char *fmt, ...)
    MT_PRINTF(4, 5);

static void
kvf(struct rdoc *d, int level, const char *key, const char *fmt, ...)
{
	struct sbuf v;
	va_list ap;

	sbuf_init(&v, 0);
	va_start(ap, fmt);
	sbuf_vprintf(&v, fmt, ap);
	va_end(ap);
	item(d, RDOC_KV, level, key)->value = sbuf_steal(&v);
}

static void
para(struct rdoc *d, const char *text)
{
	item(d, RDOC_PARA, 0, NULL)->value = xstrdup(text);
}

/* Takes ownership of summary. */
static void
verdict(struct rdoc *d, const char *mech, enum auth_res res, char *summary)
{
	struct rdoc_item *it = item(d, RDOC_VERDICT, 0, mech);

	it->result = res;
	it->value = summary;
}

static void
section_verdicts(struct rdoc *d, const struct verify_result *r)
{
	heading(d, "Verdicts");
	verdict(d, "SPF", r->spf.result, report_verdict_spf(r));
	if (r->ndkim == 0)
		verdict(d, "DKIM", AUTH_NONE, report_verdict_dkim(r, NULL));
	for (size_t i = 0; i < r->ndkim; i++)
		verdict(d, "DKIM", r->dkim[i].result, report_verdict_dkim(r, &r->dkim[i]));
	verdict(d, "DMARC", r->dmarc.result, report_verdict_dmarc(r));
	verdict(d, "ADSP", r->adsp.result, report_verdict_adsp(r));
	verdict(d, "iprev", r->iprev.result, report_verdict_iprev(r));
}

static void
section_envelope(struct rdoc *d, const struct verify_result *r,
    const struct report_meta *m)
{
	heading(d, "Envelope (as received)");
	kv(d, 0, "Client IP", nz(r->client_ip, "(unknown)"));
	if (m && m->client_port)
		kv(d, 0, "Client port", m->client_port);
	kv(d, 0, "HELO", nz(r->helo, "(none given)"));
	if (r->mail_from && *r->mail_from)
		kvf(d, 0, "MAIL FROM", "<%s>", r->mail_from);
	else
		kv(d, 0, "MAIL FROM", "<> (null sender)");
	for (size_t i = 0; i < r->nrcpt; i++)
		kvf(d, 0, i == 0 ? "RCPT TO" : "", "<%s>", r->rcpt[i]);
	if (m && m->received_at) {
		if (m->tls_protocol)
			kvf(d, 0, "TLS", "%s, %s", m->tls_protocol,
			    nz(m->tls_cipher, "cipher unknown"));
		else
			kv(d, 0, "TLS", "no TLS");
		kv(d, 0, "Received at", m->received_at);
	}
	if (m && m->id)
		kv(d, 0, "Queue ID", m->id);
	if (m && m->tag)
		kv(d, 0, "Address tag", m->tag);
}

static void
section_message(struct rdoc *d, const struct verify_result *r)
{
	heading(d, "Message");
	if (r->message_error) {
		kv(d, 0, "Error", r->message_error);
		return;
	}
	kv(d, 0, "From", nz(r->from, "(none)"));
	kv(d, 0, "Author domain", r->from_domain);
	kv(d, 0, "Subject", nz(r->subject, "(none)"));
	kv(d, 0, "Message-ID", nz(r->message_id, "(none)"));
}

static void
spf_steps(struct rdoc *d, const struct spf_check *c)
{
	if (c->nsteps == 0)
		return;
	subhead(d, "Records seen");
	for (size_t i = 0; i < c->nsteps && i < RDOC_MAX_STEPS; i++) {
		const struct spf_step *s = &c->steps[i];
		struct rdoc_item *it;
		char *line;

		line = xasprintf("%s%s%s: %s", nz(s->via, ""), s->via ? " -> " : "",
		    nz(s->domain, "?"), nz(s->result, "?"));
		it = item(d, RDOC_STEP, s->depth < 0 ? 0 : s->depth > 8 ? 8 : s->depth,
		    line);
		it->value = xstrdup(nz(s->record, "(no SPF record)"));
		free(line);
	}
}

static void
spf_one(struct rdoc *d, const struct spf_check *c, int level)
{
	kv(d, level, "Result", auth_res_name(c->result));
	if (c->sender)
		kvf(d, level, "Identity", "%s, %s", nz(c->identity, "?"), c->sender);
	kv(d, level, "Domain", c->domain);
	if (c->record)
		kvf(d, level, "Record", "%s%s", c->record,
		    c->dnssec ? " (DNSSEC-validated)" : "");
	kv(d, level, "Decided by", c->mechanism);
	if (c->domain)
		kvf(d, level, "DNS lookups", "%d of 10, void lookups %d of 2",
		    c->lookups, c->void_lookups);
	kv(d, level, "Explanation", c->explanation);
	kv(d, level, "Reason", c->reason);
	kv(d, level, "Problem", c->problem);
}

static void
section_spf(struct rdoc *d, const struct verify_result *r)
{
	heading(d, "SPF (RFC 7208)");
	spf_one(d, &r->spf, 0);
	spf_steps(d, &r->spf);
	if (r->mail_from && *r->mail_from) {
		subhead(d, "HELO identity");
		if (r->spf_helo.domain)
			spf_one(d, &r->spf_helo, 1);
		else
			kvf(d, 1, "Result", "%s (%s)", auth_res_name(r->spf_helo.result),
			    nz(r->spf_helo.reason, "not checked"));
	}
}

static void
dkim_one(struct rdoc *d, const struct dkim_sig *s)
{
	kv(d, 1, "Result", auth_res_name(s->result));
	/* alignment counts for DMARC only when the signature passes */
	kvf(d, 1, "Domain", "d=%s, %s", nz(s->domain, "?"),
	    !s->aligned ? "not aligned with the From: domain" :
	    s->result == AUTH_PASS ? "aligned with the From: domain" :
	    "the From: domain's, but the signature did not verify, so it does not "
	    "count for DMARC");
	kvf(d, 1, "Selector", "s=%s (key at %s._domainkey.%s)", nz(s->selector, "?"),
	    nz(s->selector, "?"), nz(s->domain, "?"));
	kv(d, 1, "Identity", s->identity);
	if (s->algorithm)
		kvf(d, 1, "Algorithm", "%s%s%s", s->algorithm,
		    s->key_type ? ", key type " : "", s->key_type ? s->key_type : "");
	if (s->key_bits > 0)
		kvf(d, 1, "Key size", "%d bits", s->key_bits);
	kv(d, 1, "Canonical.", s->canonicalization);
	if (s->body_length >= 0)
		kvf(d, 1, "Body length", "l=%lld (only this much is signed)",
		    s->body_length);
	kv(d, 1, "Signed fields", s->signed_headers);
	if (s->timestamp >= 0)
		kvf(d, 1, "Signed at", "t=%lld", s->timestamp);
	if (s->expiration >= 0)
		kvf(d, 1, "Expires", "x=%lld", s->expiration);
	if (s->key_record)
		kvf(d, 1, "Key record", "%s%s", s->key_record,
		    s->dnssec ? " (DNSSEC-validated)" : "");
	if (s->testing)
		kv(d, 1, "Testing", "the key has t=y (testing mode)");
	kv(d, 1, "Error", s->error);
	kv(d, 1, "Reason", s->reason);
}

static void
section_dkim(struct rdoc *d, const struct verify_result *r)
{
	heading(d, "DKIM (RFC 6376, RFC 8463)");
	if (r->ndkim == 0) {
		para(d, r->message_error ? "Not checked: the header could not be read." :
		    "The message has no DKIM-Signature field.");
		return;
	}
	for (size_t i = 0; i < r->ndkim; i++) {
		char *t = xasprintf("Signature %zu of %zu", i + 1, r->ndkim);

		subhead(d, t);
		free(t);
		dkim_one(d, &r->dkim[i]);
	}
}

static void
section_dmarc(struct rdoc *d, const struct verify_result *r)
{
	const struct dmarc_result *m = &r->dmarc;

	heading(d, "DMARC (RFC 9989)");
	kv(d, 0, "Result", auth_res_name(m->result));
	kv(d, 0, "From domain", m->domain);
	kv(d, 0, "Org. domain", m->org_domain);
	if (m->record) {
		kvf(d, 0, "Record", "_dmarc.%s: %s%s", nz(m->record_domain, "?"),
		    m->record, m->dnssec ? " (DNSSEC-validated)" : "");
		kvf(d, 0, "Alignment", "SPF %s (aspf=%c), DKIM %s (adkim=%c)%s%s",
		    m->spf_aligned ? "aligned" : "not aligned", m->aspf ? m->aspf : 'r',
		    m->dkim_aligned ? "aligned" : "not aligned", m->adkim ? m->adkim : 'r',
		    m->aligned_dkim_domain ? " via d=" : "",
		    nz(m->aligned_dkim_domain, ""));
		if (m->policy)
			kvf(d, 0, "Policy", "%s (from %s=): %s a receiver would %s",
			    m->policy, nz(m->policy_tag, "p"), m->result == AUTH_FAIL ?
			    "for this message" : "when DMARC fails,",
			    report_policy_effect(m->policy));
		if (m->pct > 0 && m->pct < 100)
			kvf(d, 0, "pct", "%d (RFC 7489: the policy covers %d%% of "
			    "failing mail)", m->pct, m->pct);
		if (m->testing)
			kv(d, 0, "Testing", "t=y: receivers apply one step less strict");
		kv(d, 0, "Reports to", m->rua);
	}
	kv(d, 0, "Reason", m->reason);
	if (m->rfc7489.note)
		kvf(d, 0, "RFC 7489 view", "%s, policy %s, org. domain %s: %s",
		    auth_res_name(m->rfc7489.result), nz(m->rfc7489.policy, "none"),
		    nz(m->rfc7489.org_domain, "?"), m->rfc7489.note);
}

static void
section_adsp_iprev(struct rdoc *d, const struct verify_result *r)
{
	heading(d, "ADSP (RFC 5617, historic since 2013: informational)");
	kv(d, 0, "Result", auth_res_name(r->adsp.result));
	kv(d, 0, "Author domain", r->adsp.domain);
	if (r->adsp.record)
		kvf(d, 0, "Record", "_adsp._domainkey.%s: %s", nz(r->adsp.domain, "?"),
		    r->adsp.record);
	kv(d, 0, "Reason", r->adsp.reason);

	heading(d, "iprev (RFC 8601 3)");
	kv(d, 0, "Result", auth_res_name(r->iprev.result));
	kv(d, 0, "Address", nz(r->iprev.ip, r->client_ip));
	for (size_t i = 0; i < r->iprev.nnames && i < RDOC_MAX_PTR; i++)
		kv(d, 0, i == 0 ? "PTR names" : "", r->iprev.names[i]);
	kv(d, 0, "Confirmed", r->iprev.result == AUTH_PASS ? r->iprev.ptr : NULL);
	kv(d, 0, "Reason", r->iprev.reason);
}

static void
section_advice(struct rdoc *d, const struct verify_result *r,
    const struct report_meta *m)
{
	struct advice_list l;

	advice_init(&l);
	advice_from_result(&l, r, m);
	advice_sort(&l);
	heading(d, "What to fix");
	if (l.n == 0)
		para(d, "Nothing: every check passed.");
	for (size_t i = 0; i < l.n; i++) {
		struct rdoc_item *it = item(d, RDOC_ADVICE, 0, l.v[i].mechanism);

		it->severity = l.v[i].severity;
		it->value = xstrdup(l.v[i].problem);
		it->extra = xstrdup(l.v[i].fix);
	}
	advice_free(&l);
}

void
report_doc_build(struct rdoc *d, const struct verify_result *r,
    const struct report_meta *m)
{
	memset(d, 0, sizeof(*d));
	d->title = xstrdup("mailtest report");
	if (m && m->authserv_id)
		d->subtitle = xasprintf("Checked by %s.", m->authserv_id);
	section_verdicts(d, r);
	section_envelope(d, r, m);
	section_message(d, r);
	section_spf(d, r);
	section_dkim(d, r);
	section_dmarc(d, r);
	section_adsp_iprev(d, r);
	section_advice(d, r, m);
	heading(d, "Authentication-Results");
	item(d, RDOC_FIELD, 0, NULL)->value = report_ar(r,
	    m && m->authserv_id ? m->authserv_id : "localhost", 1);
}

void
report_doc_free(struct rdoc *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].key);
		free(d->v[i].value);
		free(d->v[i].extra);
	}
	free(d->v);
	free(d->title);
	free(d->subtitle);
	memset(d, 0, sizeof(*d));
}
