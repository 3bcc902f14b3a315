/*
 * report_summary.c - the one-line verdicts and the Subject of the report,
 * shared by the text and HTML renderers (see report.h).
 */
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "report.h"
#include "textfmt.h"

#define SUBJECT_MAX_DOMAIN	253	/* RFC 1035 2.3.4 */

static const char *
nz(const char *s, const char *dflt)
{
	return s && *s ? s : dflt;
}

enum auth_res
report_dkim_overall(const struct verify_result *r)
{
	if (r->ndkim == 0)
		return AUTH_NONE;
	for (size_t i = 0; i < r->ndkim; i++)
		if (r->dkim[i].result == AUTH_PASS)
			return AUTH_PASS;
	return r->dkim[0].result;
}

/* The domain the report is about: From:, else MAIL FROM, else HELO. */
static const char *
subject_domain(const struct verify_result *r)
{
	const char *at;

	if (r->from_domain && *r->from_domain)
		return r->from_domain;
	if (r->mail_from && (at = strrchr(r->mail_from, '@')) != NULL && at[1])
		return at + 1;
	return nz(r->helo, "unknown sender");
}

char *
report_subject(const struct verify_result *r)
{
	char *dom = textfmt_clean(subject_domain(r), SUBJECT_MAX_DOMAIN, 0);
	char *s;

	s = xasprintf("mailtest: SPF %s, DKIM %s, DMARC %s \xe2\x80\x94 %s",
	    auth_res_name(r->spf.result), auth_res_name(report_dkim_overall(r)),
	    auth_res_name(r->dmarc.result), dom);
	free(dom);
	return s;
}

char *
report_verdict_spf(const struct verify_result *r)
{
	const struct spf_check *c = &r->spf;
	const char *ip = nz(r->client_ip, "the client");
	const char *id = c->identity && strcmp(c->identity, "helo") == 0 ?
	    " (HELO identity)" : "";

	switch (c->result) {
	case AUTH_PASS:
		return xasprintf("%s authorizes %s%s", nz(c->domain, "?"), ip, id);
	case AUTH_FAIL:
	case AUTH_SOFTFAIL:
	case AUTH_NEUTRAL:
		return xasprintf("%s does not authorize %s%s", nz(c->domain, "?"), ip, id);
	case AUTH_NONE:
		if (c->domain)
			return xasprintf("%s publishes no SPF record%s", c->domain, id);
		return xstrdup(nz(c->reason, "not checked"));
	default:
		return xasprintf("%s%s%s", c->domain ? c->domain : "",
		    c->domain ? ": " : "", nz(c->reason, "error"));
	}
}

char *
report_verdict_dkim(const struct verify_result *r, const struct dkim_sig *s)
{
	struct sbuf b;

	if (s == NULL)
		return xstrdup(r->message_error ? "not checked: the header could not be read" :
		    "the message is not signed");
	sbuf_init(&b, 0);
	sbuf_printf(&b, "d=%s s=%s", nz(s->domain, "?"), nz(s->selector, "?"));
	if (s->algorithm)
		sbuf_printf(&b, ", %s", s->algorithm);
	/* the key's size (and its type when it does not fit a=: "rsa key") */
	if (s->key_bits > 0 && s->key_type && s->algorithm &&
	    strncmp(s->algorithm, s->key_type, strlen(s->key_type)) != 0)
		sbuf_printf(&b, ", %s key %d-bit", s->key_type, s->key_bits);
	else if (s->key_bits > 0)
		sbuf_printf(&b, " %d-bit", s->key_bits);
	if (s->result == AUTH_PASS)
		sbuf_adds(&b, s->aligned ? ", aligned with From:" :
		    ", not aligned with From:");
	else
		sbuf_printf(&b, ": %s", nz(s->reason, nz(s->error, "did not verify")));
	return sbuf_steal(&b);
}

const char *
report_policy_effect(const char *policy)
{
	if (policy == NULL)
		return "no policy";
	if (strcmp(policy, "reject") == 0)
		return "refuse the message";
	if (strcmp(policy, "quarantine") == 0)
		return "deliver to spam";
	return "deliver normally";
}

char *
report_verdict_dmarc(const struct verify_result *r)
{
	const struct dmarc_result *d = &r->dmarc;
	const char *dom = nz(d->domain, nz(r->from_domain, "?"));

	switch (d->result) {
	case AUTH_PASS:
		return xasprintf("%s, policy %s", dom, nz(d->policy, "none"));
	case AUTH_FAIL:
		return xasprintf("%s: a receiver would apply p=%s (%s)", dom,
		    nz(d->policy, "none"), report_policy_effect(d->policy));
	case AUTH_NONE:
		if (d->domain)
			return xasprintf("%s publishes no DMARC record", d->domain);
		return xstrdup(nz(d->reason, "not checked"));
	default:
		return xasprintf("%s: %s", dom, nz(d->reason, "error"));
	}
}

char *
report_verdict_adsp(const struct verify_result *r)
{
	const struct adsp_result *a = &r->adsp;

	if (a->policy)
		return xasprintf("dkim=%s at %s (historic, informational)", a->policy,
		    nz(a->domain, "?"));
	return xstrdup("historic since 2013, informational only");
}

char *
report_verdict_iprev(const struct verify_result *r)
{
	const struct iprev_result *i = &r->iprev;
	const char *ip = nz(i->ip, nz(r->client_ip, "?"));

	if (i->result == AUTH_PASS)
		return xasprintf("%s is %s", ip, nz(i->ptr, "?"));
	if (r->client_ip == NULL)
		return xstrdup("no client address known");
	if (i->reason && strstr(i->reason, ip))
		return xstrdup(i->reason);	/* it names the address already */
	return xasprintf("%s: %s", ip, nz(i->reason, i->nnames ?
	    "the PTR name does not point back" : "no PTR record"));
}
