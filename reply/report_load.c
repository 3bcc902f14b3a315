/*
 * report_load.c - a stored JSON report back into a struct verify_result,
 * so that `mailtest show` renders the same text and HTML from a stored
 * record as the mail carried (see report.h: report_from_json()).
 * The inverse of report_json(): every field it writes is read back.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "../verify/dnscheck.h"
#include "report.h"

#define LOAD_MAX_ITEMS	1000	/* array elements read back */

static char *
s_get(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));

	return v ? xstrdup(v) : NULL;
}

static long long
i_get(json_t *o, const char *k, long long dflt)
{
	json_t *v = json_object_get(o, k);

	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

static int
b_get(json_t *o, const char *k)
{
	return json_is_true(json_object_get(o, k));
}

static enum auth_res
res_get(json_t *o)
{
	static const enum auth_res all[] = { AUTH_NONE, AUTH_PASS, AUTH_FAIL, AUTH_SOFTFAIL,
	    AUTH_NEUTRAL, AUTH_POLICY, AUTH_TEMPERROR, AUTH_PERMERROR, AUTH_UNKNOWN,
	    AUTH_DISCARD, AUTH_NXDOMAIN };
	const char *v = json_string_value(json_object_get(o, "result"));

	for (size_t i = 0; v && i < ARRAY_SIZE(all); i++)
		if (strcmp(v, auth_res_name(all[i])) == 0)
			return all[i];
	return AUTH_NONE;
}

static char **
strings_get(json_t *a, size_t *n)
{
	char **v;

	*n = json_is_array(a) ? json_array_size(a) : 0;
	if (*n > LOAD_MAX_ITEMS)
		*n = LOAD_MAX_ITEMS;
	if (*n == 0)
		return NULL;
	v = xcalloc(*n, sizeof(*v));
	for (size_t i = 0; i < *n; i++)
		v[i] = xstrdup(json_string_value(json_array_get(a, i)) ?
		    json_string_value(json_array_get(a, i)) : "");
	return v;
}

static void
spf_get(json_t *o, struct spf_check *c)
{
	json_t *steps = json_object_get(o, "records");

	c->result = res_get(o);
	c->domain = s_get(o, "domain");
	c->identity = s_get(o, "identity");
	c->sender = s_get(o, "sender");
	c->record = s_get(o, "record");
	c->mechanism = s_get(o, "mechanism");
	c->explanation = s_get(o, "explanation");
	c->lookups = (int)i_get(o, "lookups", 0);
	c->void_lookups = (int)i_get(o, "void_lookups", 0);
	c->dnssec = b_get(o, "dnssec");
	c->reason = s_get(o, "reason");
	c->problem = s_get(o, "problem");
	c->nsteps = json_is_array(steps) ? json_array_size(steps) : 0;
	if (c->nsteps > LOAD_MAX_ITEMS)
		c->nsteps = LOAD_MAX_ITEMS;
	c->steps = c->nsteps ? xcalloc(c->nsteps, sizeof(*c->steps)) : NULL;
	for (size_t i = 0; i < c->nsteps; i++) {
		json_t *s = json_array_get(steps, i);

		c->steps[i].depth = (int)i_get(s, "depth", 0);
		c->steps[i].via = s_get(s, "via");
		c->steps[i].domain = s_get(s, "domain");
		c->steps[i].record = s_get(s, "record");
		c->steps[i].result = s_get(s, "result");
	}
}

static void
dkim_get(json_t *o, struct dkim_sig *s)
{
	s->result = res_get(o);
	s->domain = s_get(o, "domain");
	s->selector = s_get(o, "selector");
	s->identity = s_get(o, "identity");
	s->algorithm = s_get(o, "algorithm");
	s->key_type = s_get(o, "key_type");
	s->key_bits = (int)i_get(o, "key_bits", 0);
	s->canonicalization = s_get(o, "canonicalization");
	s->body_length = i_get(o, "body_length", -1);
	s->timestamp = i_get(o, "timestamp", -1);
	s->expiration = i_get(o, "expiration", -1);
	s->signed_headers = s_get(o, "signed_headers");
	s->b_prefix = s_get(o, "header_b");
	s->aligned = b_get(o, "aligned");
	s->testing = b_get(o, "testing");
	s->dnssec = b_get(o, "dnssec");
	s->key_record = s_get(o, "key_record");
	s->error = s_get(o, "error");
	s->reason = s_get(o, "reason");
}

static char
char_get(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));

	return v && v[0] ? v[0] : 0;
}

static void
dmarc_get(json_t *o, struct dmarc_result *d)
{
	json_t *v = json_object_get(o, "rfc7489");

	d->result = res_get(o);
	d->policy = s_get(o, "policy");
	d->policy_tag = s_get(o, "policy_tag");
	d->domain = s_get(o, "domain");
	d->org_domain = s_get(o, "org_domain");
	d->record_domain = s_get(o, "record_domain");
	d->record = s_get(o, "record");
	d->spf_aligned = b_get(o, "spf_aligned");
	d->dkim_aligned = b_get(o, "dkim_aligned");
	d->aligned_dkim_domain = s_get(o, "aligned_dkim_domain");
	d->p = s_get(o, "p");
	d->sp = s_get(o, "sp");
	d->np = s_get(o, "np");
	d->adkim = char_get(o, "adkim");
	d->aspf = char_get(o, "aspf");
	d->pct = (int)i_get(o, "pct", 100);
	d->testing = b_get(o, "testing");
	d->psd = b_get(o, "psd");
	d->rua = s_get(o, "rua");
	d->ruf = s_get(o, "ruf");
	d->dnssec = b_get(o, "dnssec");
	d->reason = s_get(o, "reason");
	d->rfc7489.result = res_get(v);
	d->rfc7489.org_domain = s_get(v, "org_domain");
	d->rfc7489.policy = s_get(v, "policy");
	d->rfc7489.note = s_get(v, "note");
}

/* The author domain's findings (what "what to fix" needs of dnscheck.h). */
static void
domain_check_get(json_t *o, struct verify_result *r)
{
	json_t *f = json_object_get(o, "findings");
	struct dnscheck_result *d;
	size_t n;

	if (!json_is_object(o) || !json_is_array(f))
		return;
	d = r->domain_check = xcalloc(1, sizeof(*d));
	d->domain = s_get(o, "domain");
	n = json_array_size(f);
	if (n > DNSCHECK_MAX_FINDINGS)
		n = DNSCHECK_MAX_FINDINGS;
	d->findings = n ? xcalloc(n, sizeof(*d->findings)) : NULL;
	for (size_t i = 0; i < n; i++) {
		json_t *x = json_array_get(f, i);
		struct dnscheck_finding *k = &d->findings[d->nfindings];
		const char *sev = json_string_value(json_object_get(x, "severity"));

		if (!json_is_object(x) || sev == NULL)
			continue;
		k->severity = strcmp(sev, "error") == 0 ? DNSCHECK_ERROR :
		    strcmp(sev, "warning") == 0 ? DNSCHECK_WARNING : DNSCHECK_INFO;
		k->area = s_get(x, "area");
		k->code = s_get(x, "code");
		k->name = s_get(x, "name");
		k->message = s_get(x, "message");
		k->rfc = s_get(x, "rfc");
		k->suggestion = s_get(x, "suggestion");
		k->suggestion_name = s_get(x, "suggestion_name");
		d->nfindings++;
	}
}

int
report_from_json(json_t *j, struct verify_result *r, struct report_meta *m)
{
	json_t *env = json_object_get(j, "envelope"), *msg = json_object_get(j, "message");
	json_t *spf = json_object_get(j, "spf"), *dk = json_object_get(j, "dkim"), *x;

	memset(r, 0, sizeof(*r));
	memset(m, 0, sizeof(*m));
	if (!json_is_object(j) || !json_is_object(env) || !json_is_object(spf))
		return -1;
	m->id = s_get(j, "id");
	m->received_at = s_get(env, "received_at");
	m->client_port = s_get(env, "client_port");
	m->tls_protocol = s_get(env, "tls_protocol");
	m->tls_cipher = s_get(env, "tls_cipher");
	m->tag = s_get(env, "tag");
	r->client_ip = s_get(env, "client_ip");
	r->helo = s_get(env, "helo");
	r->mail_from = s_get(env, "mail_from");
	r->rcpt = strings_get(json_object_get(env, "rcpt"), &r->nrcpt);
	r->from = s_get(msg, "from");
	r->from_address = s_get(msg, "from_address");
	r->from_domain = s_get(msg, "from_domain");
	r->message_id = s_get(msg, "message_id");
	r->subject = s_get(msg, "subject");
	r->message_error = s_get(msg, "error");
	spf_get(spf, &r->spf);
	spf_get(json_object_get(spf, "helo"), &r->spf_helo);
	r->ndkim = json_is_array(dk) ? json_array_size(dk) : 0;
	if (r->ndkim > LOAD_MAX_ITEMS)
		r->ndkim = LOAD_MAX_ITEMS;
	r->dkim = r->ndkim ? xcalloc(r->ndkim, sizeof(*r->dkim)) : NULL;
	for (size_t i = 0; i < r->ndkim; i++)
		dkim_get(json_array_get(dk, i), &r->dkim[i]);
	dmarc_get(json_object_get(j, "dmarc"), &r->dmarc);
	x = json_object_get(j, "adsp");
	r->adsp.result = res_get(x);
	r->adsp.policy = s_get(x, "policy");
	r->adsp.domain = s_get(x, "domain");
	r->adsp.record = s_get(x, "record");
	r->adsp.reason = s_get(x, "reason");
	x = json_object_get(j, "iprev");
	r->iprev.result = res_get(x);
	r->iprev.ip = s_get(x, "ip");
	r->iprev.ptr = s_get(x, "ptr");
	r->iprev.names = strings_get(json_object_get(x, "names"), &r->iprev.nnames);
	r->iprev.reason = s_get(x, "reason");
	domain_check_get(json_object_get(j, "domain_check"), r);
	return 0;
}

static void
spf_free(struct spf_check *c)
{
	free(c->identity); free(c->sender); free(c->domain); free(c->record);
	free(c->mechanism); free(c->explanation); free(c->reason); free(c->problem);
	for (size_t i = 0; i < c->nsteps; i++) {
		free(c->steps[i].via); free(c->steps[i].domain);
		free(c->steps[i].record); free(c->steps[i].result);
	}
	free(c->steps);
}

void
report_loaded_free(struct verify_result *r, struct report_meta *m)
{
	free((char *)m->id); free((char *)m->received_at); free((char *)m->client_port);
	free((char *)m->tls_protocol); free((char *)m->tls_cipher); free((char *)m->tag);
	free(r->client_ip); free(r->helo); free(r->mail_from);
	for (size_t i = 0; i < r->nrcpt; i++)
		free(r->rcpt[i]);
	free(r->rcpt);
	free(r->from); free(r->from_address); free(r->from_domain); free(r->message_id); free(r->subject);
	free(r->message_error);
	spf_free(&r->spf);
	spf_free(&r->spf_helo);
	for (size_t i = 0; i < r->ndkim; i++) {
		struct dkim_sig *s = &r->dkim[i];

		free(s->domain); free(s->selector); free(s->identity); free(s->algorithm);
		free(s->key_type); free(s->canonicalization); free(s->signed_headers);
		free(s->b_prefix);
		free(s->key_record); free(s->error); free(s->reason);
	}
	free(r->dkim);
	free(r->dmarc.policy); free(r->dmarc.policy_tag); free(r->dmarc.domain);
	free(r->dmarc.org_domain); free(r->dmarc.record_domain); free(r->dmarc.record);
	free(r->dmarc.aligned_dkim_domain); free(r->dmarc.p); free(r->dmarc.sp);
	free(r->dmarc.np); free(r->dmarc.rua); free(r->dmarc.ruf); free(r->dmarc.reason);
	free(r->dmarc.rfc7489.org_domain); free(r->dmarc.rfc7489.policy);
	free(r->dmarc.rfc7489.note);
	free(r->adsp.policy); free(r->adsp.domain); free(r->adsp.record); free(r->adsp.reason);
	free(r->iprev.ip); free(r->iprev.ptr);
	for (size_t i = 0; i < r->iprev.nnames; i++)
		free(r->iprev.names[i]);
	free(r->iprev.names);
	free(r->iprev.reason);
	if (r->domain_check) {
		dnscheck_result_free(r->domain_check);
		free(r->domain_check);
	}
	memset(r, 0, sizeof(*r));
	memset(m, 0, sizeof(*m));
}
