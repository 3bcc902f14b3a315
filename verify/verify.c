/* verify.c - the engine's entry points: see verify.h */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/dns.h"
#include "../common/idn.h"
#include "../common/msg.h"
#include "../common/util.h"
#include "adsp.h"
#include "dkim.h"
#include "dmarc.h"
#include "dnscheck.h"
#include "iprev.h"
#include "spf.h"
#include "verify.h"

struct verify_ctx {
	struct verify_config	 cfg;
	struct spf_ctx		*spf;
	struct dkim_ctx		*dkim;
	struct dmarc_ctx	*dmarc;
};

const char *
auth_res_name(enum auth_res r)
{
	switch (r) {
	case AUTH_NONE:		return "none";
	case AUTH_PASS:		return "pass";
	case AUTH_FAIL:		return "fail";
	case AUTH_SOFTFAIL:	return "softfail";
	case AUTH_NEUTRAL:	return "neutral";
	case AUTH_POLICY:	return "policy";
	case AUTH_TEMPERROR:	return "temperror";
	case AUTH_PERMERROR:	return "permerror";
	case AUTH_UNKNOWN:	return "unknown";
	case AUTH_DISCARD:	return "discard";
	case AUTH_NXDOMAIN:	return "nxdomain";
	}
	return "none";
}

struct verify_ctx *
verify_ctx_new(const struct verify_config *cfg, char *err, size_t errlen)
{
	struct verify_ctx *c = xcalloc(1, sizeof(*c));

	c->cfg = *cfg;
	if (c->cfg.dkim_max_signatures <= 0)
		c->cfg.dkim_max_signatures = 16;
	if (c->cfg.dkim_min_key_bits <= 0)
		c->cfg.dkim_min_key_bits = 1024;
	if (c->cfg.authserv_id == NULL)
		c->cfg.authserv_id = "localhost";
	if ((c->spf = spf_ctx_new(cfg->dns, c->cfg.authserv_id, err, errlen)) == NULL ||
	    (c->dkim = dkim_ctx_new(&c->cfg, err, errlen)) == NULL ||
	    (c->dmarc = dmarc_ctx_new(&c->cfg, err, errlen)) == NULL) {
		verify_ctx_free(c);
		return NULL;
	}
	return c;
}

void
verify_ctx_free(struct verify_ctx *c)
{
	if (c == NULL)
		return;
	if (c->spf)
		spf_ctx_free(c->spf);
	if (c->dkim)
		dkim_ctx_free(c->dkim);
	if (c->dmarc)
		dmarc_ctx_free(c->dmarc);
	free(c);
}

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* HELO is checked when it is a name, not an address literal (RFC 7208 2.3). */
static int
helo_is_name(const char *helo)
{
	struct in6_addr a;

	if (helo == NULL || *helo == '\0' || *helo == '[')
		return 0;
	if (inet_pton(AF_INET, helo, &a) == 1 || inet_pton(AF_INET6, helo, &a) == 1)
		return 0;
	return 1;
}

static void
spf_none(struct spf_check *c, const char *identity, const char *why)
{
	memset(c, 0, sizeof(*c));
	c->result = AUTH_NONE;
	c->identity = xstrdup(identity);
	c->reason = xstrdup(why);
}

static void
spf_copy(struct spf_check *dst, const struct spf_check *src)
{
	*dst = *src;
	dst->identity = dup_or_null(src->identity);
	dst->sender = dup_or_null(src->sender);
	dst->domain = dup_or_null(src->domain);
	dst->record = dup_or_null(src->record);
	dst->mechanism = dup_or_null(src->mechanism);
	dst->explanation = dup_or_null(src->explanation);
	dst->reason = dup_or_null(src->reason);
	dst->problem = dup_or_null(src->problem);
	dst->steps = src->nsteps ? xcalloc(src->nsteps, sizeof(*dst->steps)) : NULL;
	for (size_t i = 0; i < src->nsteps; i++) {
		dst->steps[i].depth = src->steps[i].depth;
		dst->steps[i].via = dup_or_null(src->steps[i].via);
		dst->steps[i].domain = dup_or_null(src->steps[i].domain);
		dst->steps[i].record = dup_or_null(src->steps[i].record);
		dst->steps[i].result = dup_or_null(src->steps[i].result);
	}
}

/*
 * RFC 8616 3: SPF evaluates U-labels in MAIL FROM and HELO as A-labels.
 * The ASCII form of in's identities in *ascii (borrowing what needs no
 * change; idn_free_input() frees the rest).  A name that is not a valid
 * IDN stays as it is: check_host() then finds it malformed (permerror or
 * none, RFC 7208 4.3) and says so.
 */
static void
idn_input(const struct verify_input *in, struct verify_input *ascii, char **own)
{
	char err[128], *d;
	const char *at;

	*ascii = *in;
	own[0] = own[1] = NULL;
	if (in->helo && idn_to_ascii(in->helo, &d, err, sizeof(err)) == 0 && d)
		ascii->helo = own[0] = d;
	if (in->mail_from && (at = strrchr(in->mail_from, '@')) != NULL &&
	    idn_to_ascii(at + 1, &d, err, sizeof(err)) == 0 && d) {
		own[1] = xasprintf("%.*s@%s", (int)(at - in->mail_from), in->mail_from, d);
		ascii->mail_from = own[1];
		free(d);
	}
}

static void
run_spf(struct verify_ctx *c, const struct verify_input *orig, struct verify_result *r)
{
	char *helo_sender = NULL, *own[2];
	struct verify_input ascii;
	const struct verify_input *in = &ascii;

	idn_input(orig, &ascii, own);

	if (helo_is_name(in->helo)) {
		helo_sender = xasprintf("postmaster@%s", in->helo);
		spf_check_run(c->spf, "helo", in->client_ip, in->helo, helo_sender,
		    &r->spf_helo);
	} else {
		spf_none(&r->spf_helo, "helo", in->helo && *in->helo ?
		    "HELO is an address literal: not checked (RFC 7208 2.3)" :
		    "no HELO name given");
	}
	if (in->mail_from && *in->mail_from) {
		const char *at = strrchr(in->mail_from, '@');

		if (at == NULL) {
			/* RFC 7208 4.3: no local-part -> "postmaster" */
			char *s = xasprintf("postmaster@%s", in->mail_from);

			spf_check_run(c->spf, "mailfrom", in->client_ip, in->helo, s, &r->spf);
			free(s);
		} else
			spf_check_run(c->spf, "mailfrom", in->client_ip, in->helo,
			    in->mail_from, &r->spf);
	} else if (helo_sender != NULL) {
		/* RFC 7208 2.4: null reverse-path -> postmaster@HELO; same check */
		spf_copy(&r->spf, &r->spf_helo);
	} else {
		spf_none(&r->spf, "helo", "null sender and no HELO name to check");
	}
	free(helo_sender);
	free(own[0]);
	free(own[1]);
}

/* The single author (RFC 5322 3.6.2; RFC 9989 requires exactly one). */
static const char *
find_author(const struct msg *m, struct verify_result *r, char *err, size_t errlen)
{
	const struct msg_field *f;
	struct msg_addr *a;
	size_t n, it = 0;
	char perr[200];

	if ((f = msg_next(m, "From", &it)) == NULL) {
		snprintf(err, errlen, "the message has no From: field");
		return NULL;
	}
	r->from = msg_field_unfold(f);
	if (msg_next(m, "From", &it) != NULL) {
		snprintf(err, errlen, "the message has more than one From: field");
		return NULL;
	}
	if (msg_addrs_parse(r->from, &a, &n, perr, sizeof(perr)) < 0) {
		snprintf(err, errlen, "the From: field cannot be parsed: %s", perr);
		return NULL;
	}
	if (n != 1) {
		snprintf(err, errlen, n == 0 ? "the From: field holds no address" :
		    "the From: field holds %zu addresses; DMARC needs exactly one", n);
		msg_addrs_free(a, n);
		return NULL;
	}
	if (a[0].domain == NULL || a[0].domain[0] == '\0' || a[0].domain[0] == '[') {
		snprintf(err, errlen, "the From: address has no domain name");
		msg_addrs_free(a, n);
		return NULL;
	}
	r->from_address = xstrdup(a[0].addr);
	/* RFC 8616 5: DMARC looks up and aligns the A-label form */
	if (idn_to_ascii(a[0].domain, &r->from_domain, perr, sizeof(perr)) < 0) {
		snprintf(err, errlen, "the From: domain is not a valid "
		    "internationalized domain name (RFC 8616): %s", perr);
		msg_addrs_free(a, n);
		return NULL;
	}
	if (r->from_domain == NULL)
		r->from_domain = xstrdup(a[0].domain);
	msg_addrs_free(a, n);
	return r->from_domain;
}

/*
 * The author domain's records, checked the way `mailtest dns-check` does, so
 * that the report's "what to fix" covers the domain and not only this
 * message.  The selectors are those of the author domain's own signatures
 * (none: dnscheck probes the common ones).
 */
static void
run_domain_check(struct verify_ctx *c, const char *author, struct verify_result *r)
{
	const char *sel[DNSCHECK_MAX_SELECTORS];
	size_t nsel = 0;

	for (size_t i = 0; i < r->ndkim && nsel < DNSCHECK_MAX_SELECTORS; i++) {
		const struct dkim_sig *s = &r->dkim[i];
		size_t j;

		if (s->domain == NULL || s->selector == NULL ||
		    !str_caseeq(s->domain, author))
			continue;
		for (j = 0; j < nsel && strcmp(sel[j], s->selector) != 0; j++)
			;
		if (j == nsel)
			sel[nsel++] = s->selector;
	}
	r->domain_check = xcalloc(1, sizeof(*r->domain_check));
	if (dnscheck_run_keys(&c->cfg, dkim_ctx_keys(c->dkim), author, sel, nsel,
	    r->domain_check) < 0) {
		dnscheck_result_free(r->domain_check);
		free(r->domain_check);
		r->domain_check = NULL;
	}
}

int
verify_run(struct verify_ctx *c, const struct verify_input *in, struct verify_result *r)
{
	uint64_t t0 = time_mono_ms(), lookups0 = 0;
	struct dns_stats st;
	struct msg m;
	char ferr[256] = "";
	const char *author = NULL;
	time_t now = c->cfg.fixed_time ? c->cfg.fixed_time : time(NULL);
	int parsed;

	memset(r, 0, sizeof(*r));
	dns_stats_get(c->cfg.dns, &st);
	lookups0 = st.lookups;
	r->client_ip = dup_or_null(in->client_ip);
	r->helo = dup_or_null(in->helo);
	r->mail_from = xstrdup(in->mail_from ? in->mail_from : "");
	if (in->nrcpt) {
		r->rcpt = xcalloc(in->nrcpt, sizeof(char *));
		for (size_t i = 0; i < in->nrcpt; i++)
			r->rcpt[i] = xstrdup(in->rcpt[i]);
		r->nrcpt = in->nrcpt;
	}

	run_spf(c, in, r);
	iprev_check_run(c->cfg.dns, in->client_ip, &r->iprev);

	parsed = msg_parse(&m, in->msg, in->msglen, NULL) == 0;
	if (!parsed) {
		r->message_error = xstrdup(m.error);
		snprintf(ferr, sizeof(ferr), "the message cannot be parsed: %s", m.error);
	} else {
		r->message_id = msg_get_value(&m, "Message-ID");
		r->subject = msg_get_value(&m, "Subject");
		author = find_author(&m, r, ferr, sizeof(ferr));
		dkim_check_run(c->dkim, &m, now, &r->dkim, &r->ndkim);
	}
	dmarc_check_run(c->dmarc, author, ferr, &r->spf, r->dkim, r->ndkim, &r->dmarc);
	adsp_check_run(c->cfg.dns, author, ferr, r->dkim, r->ndkim, &r->adsp);
	if (c->cfg.domain_check && author != NULL)
		run_domain_check(c, author, r);
	if (parsed)
		msg_free(&m);

	dns_stats_get(c->cfg.dns, &st);
	r->dns_lookups = st.lookups - lookups0;	/* approximate when threads share */
	r->elapsed_us = (time_mono_ms() - t0) * 1000;
	return 0;
}

void
verify_result_free(struct verify_result *r)
{
	free(r->client_ip);
	free(r->helo);
	free(r->mail_from);
	for (size_t i = 0; i < r->nrcpt; i++)
		free(r->rcpt[i]);
	free(r->rcpt);
	free(r->message_error);
	free(r->from);
	free(r->from_address);
	free(r->from_domain);
	free(r->message_id);
	free(r->subject);
	spf_check_free(&r->spf);
	spf_check_free(&r->spf_helo);
	dkim_sigs_free(r->dkim, r->ndkim);
	dmarc_result_free(&r->dmarc);
	adsp_result_free(&r->adsp);
	iprev_result_free(&r->iprev);
	if (r->domain_check) {
		dnscheck_result_free(r->domain_check);
		free(r->domain_check);
	}
	memset(r, 0, sizeof(*r));
}
