/* advice.c - see advice.h */
#include <stdlib.h>
#include <string.h>

#include "../verify/dnscheck.h"
#include "advice.h"

/* RFC 7208 4.6.4: at most 10 DNS-querying terms, at most 2 void lookups */
#define SPF_LOOKUP_LIMIT	10
#define SPF_VOID_LIMIT		2
#define SPF_LOOKUP_WARN		8	/* warn before the limit is reached */
/* RFC 8301 3.2: RSA keys of at least 1024 bits; 2048 recommended */
#define DKIM_RSA_GOOD_BITS	2048

static const char *
nz(const char *s, const char *dflt)
{
	return s && *s ? s : dflt;
}

void
advice_init(struct advice_list *l)
{
	memset(l, 0, sizeof(*l));
}

/* Takes ownership of problem and fix. */
static void
add_own(struct advice_list *l, const char *mech, enum advice_severity sev,
    char *problem, char *fix)
{
	struct advice *a;

	if (l->n == ADVICE_MAX) {
		l->dropped++;
		free(problem);
		free(fix);
		return;
	}
	a = &l->v[l->n++];
	a->mechanism = xstrdup(mech);
	a->severity = sev;
	a->problem = problem;
	a->fix = fix;
}

void
advice_add(struct advice_list *l, const char *mech, enum advice_severity sev,
    const char *problem, const char *fix)
{
	add_own(l, mech, sev, xstrdup(problem ? problem : ""), xstrdup(fix ? fix : ""));
}

void
advice_free(struct advice_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].mechanism);
		free(l->v[i].problem);
		free(l->v[i].fix);
	}
	memset(l, 0, sizeof(*l));
}

const char *
advice_severity_name(enum advice_severity s)
{
	switch (s) {
	case ADVICE_ERROR:	return "error";
	case ADVICE_WARNING:	return "warning";
	case ADVICE_NOTE:	return "note";
	}
	return "note";
}

void
advice_sort(struct advice_list *l)
{
	/* insertion sort: stable, and n <= ADVICE_MAX */
	for (size_t i = 1; i < l->n; i++) {
		struct advice t = l->v[i];
		size_t j = i;

		while (j > 0 && l->v[j - 1].severity > t.severity) {
			l->v[j] = l->v[j - 1];
			j--;
		}
		l->v[j] = t;
	}
}

/* Does the SPF record hold this term (case-insensitive, whole word)? */
static int
spf_has_term(const char *record, const char *term)
{
	size_t n = strlen(term);

	for (const char *p = record; p && *p;) {
		const char *e;

		while (*p == ' ')
			p++;
		e = p;
		while (*e && *e != ' ')
			e++;
		if ((size_t)(e - p) == n && str_ncaseeq(p, term, n))
			return 1;
		p = e;
	}
	return 0;
}

/* Does the record hold a term starting with prefix ("ptr", "ptr:")? */
static int
spf_has_mech(const char *record, const char *mech)
{
	size_t n = strlen(mech);

	for (const char *p = record; p && *p;) {
		const char *e;

		while (*p == ' ')
			p++;
		if (*p == '+' || *p == '-' || *p == '~' || *p == '?')
			p++;
		e = p;
		while (*e && *e != ' ')
			e++;
		if ((size_t)(e - p) >= n && str_ncaseeq(p, mech, n) &&
		    ((size_t)(e - p) == n || p[n] == ':' || p[n] == '/'))
			return 1;
		p = e;
	}
	return 0;
}

static const char *
ip_mech(const char *ip)
{
	return ip && strchr(ip, ':') ? "ip6" : "ip4";
}

static void
advice_spf_unauthorized(struct advice_list *l, const struct verify_result *r,
    const struct spf_check *c, enum advice_severity sev, const char *how)
{
	const char *ip = nz(r->client_ip, "the sending IP");

	add_own(l, "SPF", sev,
	    xasprintf("your SPF record (%s) does not authorize %s: the result is "
	    "%s%s.", nz(c->domain, "?"), ip, auth_res_name(c->result), how),
	    xasprintf("add %s:%s to the SPF record of %s, or include your mail "
	    "provider's SPF domain (include:...) if %s sends for you.",
	    ip_mech(r->client_ip), ip, nz(c->domain, "your domain"), ip));
}

static void
advice_spf_result(struct advice_list *l, const struct verify_result *r)
{
	const struct spf_check *c = &r->spf;
	const char *d = nz(c->domain, "the sender's domain");

	switch (c->result) {
	case AUTH_PASS:
		break;
	case AUTH_NONE:
		if (c->domain == NULL)
			break;	/* nothing was checked (null sender, no HELO) */
		add_own(l, "SPF", ADVICE_ERROR,
		    xasprintf("%s publishes no SPF record, so receivers cannot tell "
		    "which servers may send its mail.", d),
		    xasprintf("publish a TXT record at %s such as \"v=spf1 %s:%s "
		    "-all\" (list every server and provider that sends for %s).",
		    d, ip_mech(r->client_ip), nz(r->client_ip, "ADDRESS"), d));
		break;
	case AUTH_FAIL:
		advice_spf_unauthorized(l, r, c, ADVICE_ERROR,
		    " (-all: receivers may reject the message)");
		break;
	case AUTH_SOFTFAIL:
		advice_spf_unauthorized(l, r, c, ADVICE_ERROR,
		    " (~all: receivers treat the message as suspicious)");
		break;
	case AUTH_NEUTRAL:
		advice_spf_unauthorized(l, r, c, ADVICE_WARNING,
		    " (?all: the record asserts nothing about this server)");
		break;
	case AUTH_PERMERROR:
		add_own(l, "SPF", ADVICE_ERROR,
		    xasprintf("the SPF record of %s is broken: %s%s%s.", d,
		    nz(c->reason, "permanent error"), c->problem ? " - " : "",
		    nz(c->problem, "")),
		    c->lookups > SPF_LOOKUP_LIMIT || (c->reason &&
		    strstr(c->reason, "lookup")) ?
		    xstrdup("at most 10 terms may cause DNS lookups (include, a, mx, "
		    "ptr, exists, redirect; RFC 7208 4.6.4): remove unused includes "
		    "or replace some with ip4:/ip6: ranges.") :
		    xstrdup("correct the record's syntax (RFC 7208 section 4.6 and 5); "
		    "receivers treat a broken record like a failure."));
		break;
	case AUTH_TEMPERROR:
		add_own(l, "SPF", ADVICE_WARNING,
		    xasprintf("the SPF lookup for %s failed temporarily: %s.", d,
		    nz(c->reason, "DNS error")),
		    xasprintf("make sure every authoritative DNS server of %s answers "
		    "(TXT queries over UDP and TCP), then test again.", d));
		break;
	default:
		break;
	}
}

static void
advice_spf_record(struct advice_list *l, const struct spf_check *c)
{
	const char *d = nz(c->domain, "your domain");

	if (c->record == NULL)
		return;
	if (spf_has_term(c->record, "+all") || spf_has_term(c->record, "all"))
		add_own(l, "SPF", ADVICE_ERROR,
		    xasprintf("the SPF record of %s ends in +all: it authorizes every "
		    "server on the Internet to send as %s.", d, d),
		    xstrdup("replace +all with -all (or ~all while you are still "
		    "listing your senders)."));
	if (spf_has_mech(c->record, "ptr"))
		add_own(l, "SPF", ADVICE_WARNING,
		    xasprintf("the SPF record of %s uses the ptr mechanism, which "
		    "RFC 7208 5.5 says not to use: it is slow and many receivers "
		    "skip it.", d),
		    xstrdup("replace ptr with ip4:/ip6: ranges or a: terms."));
	if (c->lookups >= SPF_LOOKUP_WARN && c->lookups <= SPF_LOOKUP_LIMIT &&
	    c->result != AUTH_PERMERROR)
		add_own(l, "SPF", ADVICE_WARNING,
		    xasprintf("the SPF check of %s needed %d of the 10 DNS lookups "
		    "allowed (RFC 7208 4.6.4); one more include may break it.", d,
		    c->lookups),
		    xstrdup("remove includes you no longer use, or replace some with "
		    "ip4:/ip6: ranges."));
	if (c->void_lookups >= SPF_VOID_LIMIT && c->result != AUTH_PERMERROR)
		add_own(l, "SPF", ADVICE_WARNING,
		    xasprintf("the SPF check of %s met %d lookups that returned "
		    "nothing (the limit is 2, RFC 7208 4.6.4).", d, c->void_lookups),
		    xstrdup("remove terms that name domains without the records asked "
		    "for."));
}

static void
advice_spf(struct advice_list *l, const struct verify_result *r)
{
	advice_spf_result(l, r);
	advice_spf_record(l, &r->spf);
	if (r->mail_from && *r->mail_from && r->spf_helo.domain &&
	    (r->spf_helo.result == AUTH_FAIL || r->spf_helo.result == AUTH_SOFTFAIL))
		add_own(l, "SPF", ADVICE_WARNING,
		    xasprintf("the HELO name %s does not authorize %s (SPF %s); some "
		    "receivers check it.", nz(r->helo, "?"), nz(r->client_ip, "?"),
		    auth_res_name(r->spf_helo.result)),
		    xasprintf("publish \"v=spf1 a -all\" at %s, with an A/AAAA record "
		    "for the server, or have the server say a HELO name that does.",
		    nz(r->helo, "the HELO name")));
}

static char *
dkim_label(const struct dkim_sig *s)
{
	return xasprintf("DKIM signature d=%s s=%s", nz(s->domain, "?"),
	    nz(s->selector, "?"));
}

/* Problem and fix for a signature that did not pass, by its error word. */
static void
advice_dkim_error(struct advice_list *l, const struct dkim_sig *s)
{
	const char *e = nz(s->error, ""), *d = nz(s->domain, "?"),
	    *sel = nz(s->selector, "?");
	enum advice_severity sev = s->result == AUTH_TEMPERROR ? ADVICE_WARNING :
	    ADVICE_ERROR;
	char *lab = dkim_label(s), *problem, *fix;

	if (strcmp(e, "body-hash-mismatch") == 0) {
		problem = xasprintf("DKIM body hash mismatch (%s): the body was changed "
		    "after signing - often a footer added by a list or gateway.", lab);
		fix = xstrdup("sign after the last change to the body (after "
		    "disclaimers and footers), or stop the gateway from changing "
		    "signed mail; c=relaxed/relaxed only tolerates whitespace "
		    "changes.");
	} else if (strcmp(e, "signature-mismatch") == 0) {
		problem = xasprintf("the %s does not verify: a signed header field was "
		    "changed in transit, or the key in DNS is not the signing key's "
		    "public half.", lab);
		fix = xasprintf("check that %s._domainkey.%s publishes the public key "
		    "of the key you sign with, and that nothing rewrites signed "
		    "fields (Subject, From, To) after signing.", sel, d);
	} else if (strcmp(e, "key-not-found") == 0) {
		problem = xasprintf("no DKIM key is published at %s._domainkey.%s "
		    "(%s).", sel, d, lab);
		fix = xasprintf("publish the public key as a TXT record at "
		    "%s._domainkey.%s (\"v=DKIM1; k=rsa; p=...\").", sel, d);
	} else if (strcmp(e, "key-revoked") == 0) {
		problem = xasprintf("the key at %s._domainkey.%s is revoked (empty "
		    "p=).", sel, d);
		fix = xstrdup("sign with a key whose public half is published, or "
		    "republish this key.");
	} else if (strcmp(e, "key-syntax") == 0) {
		problem = xasprintf("the key record at %s._domainkey.%s is malformed: "
		    "%s.", sel, d, nz(s->reason, "syntax error"));
		fix = xstrdup("republish it as one TXT record \"v=DKIM1; k=rsa; "
		    "p=BASE64\" (strings of a long record are concatenated without "
		    "spaces).");
	} else if (strcmp(e, "key-too-small") == 0) {
		problem = xasprintf("the %s uses a %d-bit RSA key; receivers reject RSA "
		    "keys under 1024 bits (RFC 8301 3.2).", lab, s->key_bits);
		fix = xstrdup("generate a 2048-bit RSA key, publish it under a new "
		    "selector and sign with it.");
	} else if (strcmp(e, "expired") == 0) {
		problem = xasprintf("the %s has expired (x= is in the past).", lab);
		fix = xstrdup("give signatures a longer lifetime (x=), or make sure "
		    "mail is sent soon after signing.");
	} else if (strcmp(e, "future") == 0) {
		problem = xasprintf("the %s has a timestamp in the future (t=).", lab);
		fix = xstrdup("set the signing server's clock right (NTP).");
	} else if (strcmp(e, "unsupported-algorithm") == 0) {
		problem = xasprintf("the %s uses %s, which receivers no longer accept "
		    "(RFC 8301: rsa-sha1 must not be used).", lab,
		    nz(s->algorithm, "an unknown algorithm"));
		fix = xstrdup("sign with rsa-sha256 (and, if you like, also "
		    "ed25519-sha256).");
	} else if (strcmp(e, "header-not-signed") == 0) {
		problem = xasprintf("the %s does not cover the From: field.", lab);
		fix = xstrdup("include From in the signed header fields (h=).");
	} else if (strcmp(e, "dns-error") == 0) {
		problem = xasprintf("the key lookup for the %s failed temporarily: %s.",
		    lab, nz(s->reason, "DNS error"));
		fix = xasprintf("make sure the DNS servers of %s answer for "
		    "%s._domainkey.%s, then test again.", d, sel, d);
	} else if (strcmp(e, "too-many-signatures") == 0) {
		problem = xasprintf("the %s was not checked: the message carries more "
		    "signatures than receivers verify.", lab);
		fix = xstrdup("sign each message once or twice, not more.");
		sev = ADVICE_NOTE;
	} else if (strcmp(e, "syntax") == 0) {
		problem = xasprintf("the %s is malformed: %s.", lab,
		    nz(s->reason, "syntax error"));
		fix = xstrdup("check the signer's configuration; the DKIM-Signature "
		    "field must follow RFC 6376 3.5.");
	} else {
		problem = xasprintf("the %s did not verify (%s): %s.", lab,
		    auth_res_name(s->result), nz(s->reason, nz(s->error, "no reason given")));
		fix = xasprintf("check the signer and the key at %s._domainkey.%s.",
		    sel, d);
	}
	add_own(l, "DKIM", sev, problem, fix);
	free(lab);
}

static void
advice_dkim(struct advice_list *l, const struct verify_result *r)
{
	int aligned_pass = 0, any_pass = 0;

	if (r->ndkim == 0) {
		if (r->message_error == NULL)
			add_own(l, "DKIM", ADVICE_ERROR,
			    xstrdup("the message carries no DKIM signature."),
			    xasprintf("sign outgoing mail with DKIM for your From: domain "
			    "(d=%s); your mail server or provider can do this.",
			    nz(r->from_domain, "your domain")));
		return;
	}
	for (size_t i = 0; i < r->ndkim; i++) {
		const struct dkim_sig *s = &r->dkim[i];

		if (s->result == AUTH_PASS) {
			any_pass = 1;
			aligned_pass |= s->aligned;
		}
	}
	for (size_t i = 0; i < r->ndkim; i++) {
		const struct dkim_sig *s = &r->dkim[i];
		char *lab;

		if (s->result != AUTH_PASS) {
			/* a failing extra signature next to a good one is a note */
			if (aligned_pass && s->result != AUTH_TEMPERROR)
				add_own(l, "DKIM", ADVICE_NOTE,
				    xasprintf("another signature (d=%s s=%s) failed: %s; "
				    "the aligned one that passed is enough.",
				    nz(s->domain, "?"), nz(s->selector, "?"),
				    nz(s->reason, nz(s->error, auth_res_name(s->result)))),
				    xstrdup("remove the failing signer if it is yours."));
			else
				advice_dkim_error(l, s);
			continue;
		}
		lab = dkim_label(s);
		if (!s->aligned && !aligned_pass && r->from_domain)
			add_own(l, "DKIM", ADVICE_ERROR,
			    xasprintf("the %s passes but does not align with the From: "
			    "domain %s, so it does not count for DMARC.", lab,
			    r->from_domain),
			    xasprintf("sign with d=%s (or, under relaxed alignment, a "
			    "domain in the same organizational domain).", r->from_domain));
		if (s->key_type && strcmp(s->key_type, "rsa") == 0 && s->key_bits > 0 &&
		    s->key_bits < DKIM_RSA_GOOD_BITS)
			add_own(l, "DKIM", ADVICE_WARNING,
			    xasprintf("the %s uses a %d-bit RSA key.", lab, s->key_bits),
			    xstrdup("move to a 2048-bit key (RFC 8301 recommends at least "
			    "2048 bits for signers)."));
		if (s->body_length >= 0)
			add_own(l, "DKIM", ADVICE_WARNING,
			    xasprintf("the %s covers only the first %lld bytes of the body "
			    "(l=): anyone can append text and keep the signature valid.",
			    lab, s->body_length),
			    xstrdup("sign the whole body (drop the l= option)."));
		if (s->testing)
			add_own(l, "DKIM", ADVICE_NOTE,
			    xasprintf("the key of the %s is in testing mode (t=y): "
			    "receivers may ignore the signature.", lab),
			    xstrdup("remove t=y from the key record once signing works."));
		free(lab);
	}
	(void)any_pass;
}

static void
advice_dmarc_fail(struct advice_list *l, const struct verify_result *r)
{
	const struct dmarc_result *m = &r->dmarc;
	const char *d = nz(m->domain, "?");
	const char *pol = nz(m->policy, "none");
	struct sbuf why;

	sbuf_init(&why, 0);
	if (r->spf.result == AUTH_PASS)
		sbuf_printf(&why, " SPF passed for %s, which does not align with %s "
		    "(aspf=%s).", nz(r->spf.domain, "?"), d,
		    m->aspf == 's' ? "s: strict, the same domain" : "r: relaxed");
	else
		sbuf_printf(&why, " SPF did not pass (%s).", auth_res_name(r->spf.result));
	if (r->ndkim == 0)
		sbuf_adds(&why, " There is no DKIM signature.");
	else if (!m->dkim_aligned)
		sbuf_printf(&why, " No DKIM signature both passed and aligned with %s "
		    "(adkim=%s).", d, m->adkim == 's' ? "s: strict, the same domain" :
		    "r: relaxed");
	add_own(l, "DMARC", ADVICE_ERROR,
	    xasprintf("DMARC fails for %s: neither SPF nor DKIM passed in alignment "
	    "with the From: domain.%s A receiver would apply policy %s%s.", d,
	    sbuf_str(&why), pol, strcmp(pol, "quarantine") == 0 ?
	    " (deliver to spam)" : strcmp(pol, "reject") == 0 ?
	    " (refuse the message)" : " (deliver normally, and report)"),
	    xasprintf("sign with DKIM as d=%s (the most robust fix), and/or send "
	    "with a MAIL FROM address %s%s whose SPF record authorizes your "
	    "servers.", d, m->aspf == 's' ? "at exactly " : "under ", d));
	sbuf_free(&why);
}

static void
advice_dmarc(struct advice_list *l, const struct verify_result *r)
{
	const struct dmarc_result *m = &r->dmarc;
	const char *d = nz(m->domain, nz(r->from_domain, "the From: domain"));

	switch (m->result) {
	case AUTH_NONE:
		if (m->domain == NULL)
			break;
		add_own(l, "DMARC", ADVICE_WARNING,
		    xasprintf("%s publishes no DMARC record: receivers apply their own "
		    "rules, and you get no reports about mail sent as %s.", d, d),
		    xasprintf("publish a TXT record at _dmarc.%s: \"v=DMARC1; p=none; "
		    "rua=mailto:dmarc-reports@%s\" to start; move to p=quarantine or "
		    "p=reject once the reports show only your own mail.", d, d));
		break;
	case AUTH_FAIL:
		advice_dmarc_fail(l, r);
		break;
	case AUTH_PERMERROR:
		add_own(l, "DMARC", ADVICE_ERROR,
		    xasprintf("the DMARC check for %s could not be done: %s.", d,
		    nz(m->reason, "permanent error")),
		    xasprintf("correct the record at _dmarc.%s (RFC 9989): one record, "
		    "starting with v=DMARC1, with a p= tag.", nz(m->record_domain, d)));
		break;
	case AUTH_TEMPERROR:
		add_own(l, "DMARC", ADVICE_WARNING,
		    xasprintf("the DMARC lookup for %s failed temporarily: %s.", d,
		    nz(m->reason, "DNS error")),
		    xasprintf("make sure the DNS servers of %s answer for _dmarc.%s.",
		    d, d));
		break;
	case AUTH_PASS:
		if (m->policy && strcmp(m->policy, "none") == 0)
			add_own(l, "DMARC", ADVICE_NOTE,
			    xasprintf("DMARC passes; the policy of %s is p=none, so "
			    "spoofed mail claiming to be from %s is not stopped.", d, d),
			    xstrdup("once the aggregate reports show that all your mail "
			    "passes, move to p=quarantine, then p=reject."));
		break;
	default:
		break;
	}
	if (m->record && m->rua == NULL && m->result != AUTH_PERMERROR)
		add_own(l, "DMARC", ADVICE_NOTE,
		    xasprintf("the DMARC record of %s asks for no aggregate reports "
		    "(no rua=).", d),
		    xasprintf("add rua=mailto:ADDRESS to _dmarc.%s to learn who sends "
		    "mail as %s.", nz(m->record_domain, d), d));
	if (m->rfc7489.note)
		add_own(l, "DMARC", ADVICE_NOTE,
		    xasprintf("a receiver that still follows RFC 7489 would decide "
		    "differently: %s.", m->rfc7489.note),
		    xstrdup("make the record valid under both RFC 9989 and RFC 7489 "
		    "(for instance, also state p= for subdomains with sp=)."));
}

static void
advice_adsp(struct advice_list *l, const struct verify_result *r)
{
	const struct adsp_result *a = &r->adsp;

	if (a->record == NULL && a->policy == NULL)
		return;
	add_own(l, "ADSP", ADVICE_NOTE,
	    xasprintf("ADSP is historic since 2013 and receivers ignore it%s.",
	    a->result == AUTH_FAIL || a->result == AUTH_DISCARD ?
	    "; under it this message would fail, as it carries no valid "
	    "signature from the author domain" : ""),
	    xasprintf("you may remove _adsp._domainkey.%s; DMARC replaces it.",
	    nz(a->domain, nz(r->from_domain, "your domain"))));
}

static void
advice_iprev(struct advice_list *l, const struct verify_result *r)
{
	const struct iprev_result *i = &r->iprev;
	const char *ip = nz(i->ip, nz(r->client_ip, "?"));

	if (r->client_ip == NULL)
		return;
	switch (i->result) {
	case AUTH_FAIL:
	case AUTH_PERMERROR:
		add_own(l, "iprev", ADVICE_WARNING,
		    i->nnames == 0 ?
		    xasprintf("the sending address %s has no reverse DNS (PTR) "
		    "record; many receivers distrust such servers.", ip) :
		    xasprintf("the reverse DNS of %s (%s) does not point back to it "
		    "(no A/AAAA record of that name holds %s).", ip,
		    nz(i->ptr, i->names[0]), ip),
		    xasprintf("ask whoever runs %s (your hosting or Internet "
		    "provider) for a PTR record naming your server, and give that "
		    "name an A/AAAA record with %s.", ip, ip));
		break;
	case AUTH_TEMPERROR:
		add_own(l, "iprev", ADVICE_NOTE,
		    xasprintf("the reverse DNS lookup of %s failed temporarily: %s.",
		    ip, nz(i->reason, "DNS error")),
		    xstrdup("check the reverse DNS servers of the address."));
		break;
	default:
		break;
	}
}

/* Mechanism names of the report for the areas of dnscheck.h. */
static const char *
area_label(const char *area)
{
	static const struct { const char *area, *label; } tab[] = {
		{ "spf", "SPF" }, { "dkim", "DKIM" }, { "dmarc", "DMARC" },
		{ "adsp", "ADSP" }, { "mx", "MX" }, { "mta-sts", "MTA-STS" },
		{ "tls-rpt", "TLS-RPT" }, { "bimi", "BIMI" },
	};

	for (size_t i = 0; area && i < ARRAY_SIZE(tab); i++)
		if (strcmp(tab[i].area, area) == 0)
			return tab[i].label;
	return "DNS";
}

/*
 * A domain finding that the verdicts above already explain, in their own
 * words: the same record, the same problem.  Only when the checked domain is
 * the one the verdict was about.
 */
static int
domain_finding_covered(const struct verify_result *r, const char *code,
    const char *domain)
{
	int spf_same = r->spf.domain && str_caseeq(r->spf.domain, domain);
	int dmarc_same = r->dmarc.domain && str_caseeq(r->dmarc.domain, domain);

	if (strcmp(code, "adsp-historic") == 0)
		return r->adsp.record != NULL || r->adsp.policy != NULL;
	if (strcmp(code, "spf-pass-all") == 0 || strcmp(code, "spf-ptr") == 0)
		return spf_same && r->spf.record != NULL;
	if (strcmp(code, "spf-missing") == 0)
		return spf_same && r->spf.result == AUTH_NONE;
	if (strcmp(code, "dmarc-missing") == 0)
		return dmarc_same && r->dmarc.result == AUTH_NONE;
	if (strcmp(code, "dmarc-policy-none") == 0)
		return dmarc_same && r->dmarc.result == AUTH_PASS;
	if (strcmp(code, "dkim-key-weak") == 0) {
		for (size_t i = 0; i < r->ndkim; i++)
			if (r->dkim[i].domain && str_caseeq(r->dkim[i].domain, domain) &&
			    r->dkim[i].key_bits > 0 && r->dkim[i].key_bits < 2048)
				return 1;
		return 0;
	}
	if (strcmp(code, "dmarc-no-rua") == 0)
		return dmarc_same && r->dmarc.record != NULL && r->dmarc.rua == NULL;
	return 0;
}

/*
 * The author domain's own records (verify_config.domain_check): errors and
 * warnings, and the one note that asks for an action (ADSP is historic:
 * remove it), each with its corrected record where dns-check derived one.
 */
static void
advice_domain(struct advice_list *l, const struct verify_result *r)
{
	const struct dnscheck_result *d = r->domain_check;

	if (d == NULL || d->domain == NULL)
		return;
	for (size_t i = 0; i < d->nfindings; i++) {
		const struct dnscheck_finding *f = &d->findings[i];
		enum advice_severity sev;
		char *fix;

		if (f->code == NULL || f->message == NULL)
			continue;
		if (f->severity == DNSCHECK_INFO && strcmp(f->code, "adsp-historic") != 0)
			continue;
		if (domain_finding_covered(r, f->code, d->domain))
			continue;
		sev = f->severity == DNSCHECK_ERROR ? ADVICE_ERROR :
		    f->severity == DNSCHECK_WARNING ? ADVICE_WARNING : ADVICE_NOTE;
		if (strcmp(f->code, "adsp-historic") == 0)
			fix = xasprintf("you may remove the TXT record at %s.",
			    nz(f->name, d->domain));
		else if (f->suggestion)
			fix = xasprintf("publish at %s: %s", nz(f->suggestion_name,
			    nz(f->name, d->domain)), f->suggestion);
		else
			fix = xasprintf("`mailtest dns-check %s` shows the records and "
			    "the details.", d->domain);
		add_own(l, area_label(f->area), sev, f->rfc ?
		    xasprintf("%s (%s)", f->message, f->rfc) : xstrdup(f->message), fix);
	}
}

void
advice_from_result(struct advice_list *l, const struct verify_result *r,
    const struct report_meta *meta)
{
	if (r->message_error)
		add_own(l, "message", ADVICE_ERROR,
		    xasprintf("the message header could not be read: %s; DKIM, DMARC "
		    "and ADSP could not be checked.", r->message_error),
		    xstrdup("send a message whose header follows RFC 5322 (one From: "
		    "field with one address, \"Name: value\" lines, an empty line "
		    "before the body)."));
	advice_spf(l, r);
	advice_dkim(l, r);
	advice_dmarc(l, r);
	advice_adsp(l, r);
	advice_iprev(l, r);
	advice_domain(l, r);
	if (meta && meta->received_at && meta->tls_protocol == NULL)
		add_own(l, "TLS", ADVICE_NOTE,
		    xstrdup("the message arrived without TLS: anyone on the path "
		    "could read it."),
		    xstrdup("enable STARTTLS on the sending server (most providers "
		    "offer it; RFC 3207)."));
}
