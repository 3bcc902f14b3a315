/* report_json.c - the JSON report (contract in ../shared/DESIGN.md) */
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "../verify/dnscheck.h"
#include "dnscheck_render.h"
#include "report.h"

json_t *
report_jstr(const char *s)
{
	const unsigned char *p;
	struct sbuf b;
	json_t *j;

	if (s == NULL)
		return json_null();
	if ((j = json_string(s)) != NULL)
		return j;
	/* not valid UTF-8: replace each bad byte with U+FFFD */
	sbuf_init(&b, 0);
	for (p = (const unsigned char *)s; *p;) {
		size_t k = 0;

		if (*p < 0x80) {
			sbuf_addc(&b, (char)*p++);
			continue;
		}
		if (*p >= 0xc2 && *p <= 0xdf)
			k = 1;
		else if (*p >= 0xe0 && *p <= 0xef)
			k = 2;
		else if (*p >= 0xf0 && *p <= 0xf4)
			k = 3;
		for (size_t i = 1; k && i <= k; i++)
			if ((p[i] & 0xc0) != 0x80)
				k = 0;
		if (k == 0) {
			sbuf_adds(&b, "\xef\xbf\xbd");
			p++;
			continue;
		}
		sbuf_add(&b, p, k + 1);
		p += k + 1;
	}
	j = json_string(sbuf_str(&b));
	sbuf_free(&b);
	return j ? j : json_string("\xef\xbf\xbd");
}

static void
set_str(json_t *o, const char *k, const char *v)
{
	json_object_set_new(o, k, report_jstr(v));
}

static json_t *
spf_json(const struct spf_check *c, int with_steps)
{
	json_t *o = json_object();

	set_str(o, "result", auth_res_name(c->result));
	set_str(o, "domain", c->domain);
	set_str(o, "identity", c->identity);
	set_str(o, "sender", c->sender);
	set_str(o, "record", c->record);
	set_str(o, "mechanism", c->mechanism);
	set_str(o, "explanation", c->explanation);
	json_object_set_new(o, "lookups", json_integer(c->lookups));
	json_object_set_new(o, "void_lookups", json_integer(c->void_lookups));
	json_object_set_new(o, "dnssec", json_boolean(c->dnssec));
	set_str(o, "reason", c->reason);
	set_str(o, "problem", c->problem);
	if (with_steps) {
		json_t *a = json_array();

		for (size_t i = 0; i < c->nsteps; i++) {
			json_t *s = json_object();

			json_object_set_new(s, "depth", json_integer(c->steps[i].depth));
			set_str(s, "via", c->steps[i].via);
			set_str(s, "domain", c->steps[i].domain);
			set_str(s, "record", c->steps[i].record);
			set_str(s, "result", c->steps[i].result);
			json_array_append_new(a, s);
		}
		json_object_set_new(o, "records", a);
	}
	return o;
}

static json_t *
dkim_json(const struct dkim_sig *s)
{
	json_t *o = json_object();

	set_str(o, "result", auth_res_name(s->result));
	set_str(o, "domain", s->domain);
	set_str(o, "selector", s->selector);
	set_str(o, "identity", s->identity);
	set_str(o, "algorithm", s->algorithm);
	set_str(o, "key_type", s->key_type);
	json_object_set_new(o, "key_bits", s->key_bits ? json_integer(s->key_bits) : json_null());
	set_str(o, "canonicalization", s->canonicalization);
	json_object_set_new(o, "body_length",
	    s->body_length >= 0 ? json_integer(s->body_length) : json_null());
	json_object_set_new(o, "timestamp",
	    s->timestamp >= 0 ? json_integer(s->timestamp) : json_null());
	json_object_set_new(o, "expiration",
	    s->expiration >= 0 ? json_integer(s->expiration) : json_null());
	set_str(o, "signed_headers", s->signed_headers);
	set_str(o, "header_b", s->b_prefix);
	json_object_set_new(o, "aligned", json_boolean(s->aligned));
	json_object_set_new(o, "testing", json_boolean(s->testing));
	json_object_set_new(o, "dnssec", json_boolean(s->dnssec));
	set_str(o, "key_record", s->key_record);
	set_str(o, "error", s->error);
	set_str(o, "reason", s->reason);
	return o;
}

static json_t *
dmarc_json(const struct dmarc_result *d)
{
	json_t *o = json_object(), *v = json_object();
	char c[2] = { 0, 0 };

	set_str(o, "result", auth_res_name(d->result));
	set_str(o, "policy", d->policy);
	set_str(o, "policy_tag", d->policy_tag);
	set_str(o, "domain", d->domain);
	set_str(o, "org_domain", d->org_domain);
	set_str(o, "record_domain", d->record_domain);
	set_str(o, "record", d->record);
	json_object_set_new(o, "spf_aligned", json_boolean(d->spf_aligned));
	json_object_set_new(o, "dkim_aligned", json_boolean(d->dkim_aligned));
	set_str(o, "aligned_dkim_domain", d->aligned_dkim_domain);
	set_str(o, "p", d->p);
	set_str(o, "sp", d->sp);
	set_str(o, "np", d->np);
	c[0] = d->adkim;
	set_str(o, "adkim", d->adkim ? c : NULL);
	c[0] = d->aspf;
	set_str(o, "aspf", d->aspf ? c : NULL);
	json_object_set_new(o, "pct", json_integer(d->pct));
	json_object_set_new(o, "testing", json_boolean(d->testing));
	json_object_set_new(o, "psd", json_boolean(d->psd));
	set_str(o, "rua", d->rua);
	set_str(o, "ruf", d->ruf);
	json_object_set_new(o, "dnssec", json_boolean(d->dnssec));
	set_str(o, "reason", d->reason);
	set_str(v, "result", auth_res_name(d->rfc7489.result));
	set_str(v, "org_domain", d->rfc7489.org_domain);
	set_str(v, "policy", d->rfc7489.policy);
	json_object_set_new(v, "spf_aligned", json_boolean(d->rfc7489.spf_aligned));
	json_object_set_new(v, "dkim_aligned", json_boolean(d->rfc7489.dkim_aligned));
	set_str(v, "note", d->rfc7489.note);
	json_object_set_new(o, "rfc7489", v);
	return o;
}

json_t *
report_json(const struct verify_result *r, const struct report_meta *meta)
{
	json_t *o = json_object(), *env = json_object(), *rc = json_array();
	json_t *msg = json_object(), *dk = json_array(), *x;
	char *ar;

	if (meta && meta->file)
		set_str(o, "file", meta->file);
	if (meta && meta->id)
		set_str(o, "id", meta->id);
	set_str(env, "client_ip", r->client_ip);
	set_str(env, "helo", r->helo);
	set_str(env, "mail_from", r->mail_from);
	for (size_t i = 0; i < r->nrcpt; i++)
		json_array_append_new(rc, report_jstr(r->rcpt[i]));
	json_object_set_new(env, "rcpt", rc);
	if (meta && (meta->received_at || meta->tls_protocol || meta->client_port)) {
		set_str(env, "received_at", meta->received_at);
		set_str(env, "client_port", meta->client_port);
		set_str(env, "tls_protocol", meta->tls_protocol);
		set_str(env, "tls_cipher", meta->tls_cipher);
	}
	if (meta && meta->tag)
		set_str(env, "tag", meta->tag);
	json_object_set_new(o, "envelope", env);

	set_str(msg, "from", r->from);
	set_str(msg, "from_address", r->from_address);
	set_str(msg, "from_domain", r->from_domain);
	set_str(msg, "message_id", r->message_id);
	set_str(msg, "subject", r->subject);
	set_str(msg, "error", r->message_error);
	json_object_set_new(o, "message", msg);

	x = spf_json(&r->spf, 1);
	json_object_set_new(x, "helo", spf_json(&r->spf_helo, 1));
	json_object_set_new(o, "spf", x);
	for (size_t i = 0; i < r->ndkim; i++)
		json_array_append_new(dk, dkim_json(&r->dkim[i]));
	json_object_set_new(o, "dkim", dk);
	json_object_set_new(o, "dmarc", dmarc_json(&r->dmarc));

	x = json_object();
	set_str(x, "result", auth_res_name(r->adsp.result));
	set_str(x, "policy", r->adsp.policy);
	set_str(x, "domain", r->adsp.domain);
	set_str(x, "record", r->adsp.record);
	set_str(x, "reason", r->adsp.reason);
	json_object_set_new(x, "historic", json_true());
	json_object_set_new(o, "adsp", x);

	x = json_object();
	set_str(x, "result", auth_res_name(r->iprev.result));
	set_str(x, "ip", r->iprev.ip);
	set_str(x, "ptr", r->iprev.ptr);
	rc = json_array();
	for (size_t i = 0; i < r->iprev.nnames; i++)
		json_array_append_new(rc, report_jstr(r->iprev.names[i]));
	json_object_set_new(x, "names", rc);
	set_str(x, "reason", r->iprev.reason);
	json_object_set_new(o, "iprev", x);

	if (r->domain_check)
		json_object_set_new(o, "domain_check", dnscheck_json(r->domain_check));

	ar = report_ar(r, meta && meta->authserv_id ? meta->authserv_id : "localhost", 0);
	set_str(o, "authentication_results", ar);
	free(ar);
	json_object_set_new(o, "elapsed_ms", json_real((double)r->elapsed_us / 1000.0));
	return o;
}

char *
report_json_text(const struct verify_result *r, const struct report_meta *meta,
    int pretty)
{
	json_t *o = report_json(r, meta);
	char *s = json_dumps(o, (pretty ? JSON_INDENT(2) : JSON_COMPACT) |
	    JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));

	json_decref(o);
	if (s == NULL)
		fatal("json_dumps failed");
	return s;
}
