/*
 * scenarios.h - verification results built by hand for the report tests
 * (the engine's placeholders must not decide what the report looks like):
 *
 *   scenario_pass()     example.com: SPF, DKIM, DMARC (p=reject) all pass
 *   scenario_spoofed()  acme.com spoofed from 192.0.2.7: SPF softfail for
 *                       "v=spf1 include:_spf.google.com ~all", a DKIM
 *                       signature that does not verify, ADSP fail under
 *                       dkim=all, DMARC fail with p=quarantine adkim=s aspf=s
 *
 * The results point at static strings: never pass them to
 * verify_result_free().
 */
#ifndef MT_TEST_SCENARIOS_H
#define MT_TEST_SCENARIOS_H

#include <string.h>

#include "../../common/util.h"
#include "../../reply/report.h"
#include "../../verify/verify.h"

static char *scen_rcpt[] = { "check@mailtest.example.net" };

static struct spf_step scen_pass_steps[] = {
	{ 0, NULL, "example.com", "v=spf1 ip4:192.0.2.0/24 -all", "pass" },
};

static struct dkim_sig scen_pass_dkim[] = { {
	.result = AUTH_PASS, .domain = "example.com", .selector = "sel",
	.identity = "@example.com", .algorithm = "rsa-sha256", .key_type = "rsa",
	.key_bits = 2048, .canonicalization = "relaxed/relaxed", .body_length = -1,
	.timestamp = 1795700000, .expiration = -1,
	.signed_headers = "from:to:subject:date:message-id:mime-version",
	.b_prefix = "dGhpcyBp",
	.key_record = "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"
	    "u1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0/IzW7yWR7QkrmBL"
	    "7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3q"
	    "qGElvW/VDL5AaWTg0nLVkjRo9z+40RQzuVaE8AkAFmxZzow3x+VJYKdjykkJ0iT9wCS0DRTXu269"
	    "V264Vf/3jvredZiKRkgwlL9xNAwxXFg0x/XFw005UWVRIkdgcKWTjpBP2dPwVZ4WWC+9aGVd+Gyn"
	    "1o0CLelf4rEjGoXbAAEgAqeGUxrcIlbjXfbcmwIDAQAB",
	.aligned = 1,
} };

static char *scen_pass_ptr[] = { "mail.example.com" };

static inline void
scenario_pass(struct verify_result *r, struct report_meta *m)
{
	memset(r, 0, sizeof(*r));
	r->client_ip = "192.0.2.10";
	r->helo = "mail.example.com";
	r->mail_from = "alice@example.com";
	r->rcpt = scen_rcpt;
	r->nrcpt = 1;
	r->from = "Alice Example <alice@example.com>";
	r->from_address = "alice@example.com";
	r->from_domain = "example.com";
	r->message_id = "<pass.1@example.com>";
	r->subject = "Quarterly report";
	r->spf = (struct spf_check){ .result = AUTH_PASS, .identity = "mailfrom",
	    .sender = "alice@example.com", .domain = "example.com",
	    .record = "v=spf1 ip4:192.0.2.0/24 -all", .mechanism = "ip4:192.0.2.0/24",
	    .reason = "192.0.2.10 matches ip4:192.0.2.0/24", .lookups = 0,
	    .steps = scen_pass_steps, .nsteps = 1 };
	r->spf_helo = (struct spf_check){ .result = AUTH_PASS, .identity = "helo",
	    .sender = "postmaster@mail.example.com", .domain = "mail.example.com",
	    .record = "v=spf1 a -all", .mechanism = "a", .lookups = 1 };
	r->dkim = scen_pass_dkim;
	r->ndkim = 1;
	r->dmarc = (struct dmarc_result){ .result = AUTH_PASS, .domain = "example.com",
	    .org_domain = "example.com", .record_domain = "example.com",
	    .record = "v=DMARC1; p=reject; rua=mailto:dmarc@example.com",
	    .policy = "reject", .policy_tag = "p", .p = "reject", .pct = 100,
	    .adkim = 'r', .aspf = 'r', .spf_aligned = 1, .dkim_aligned = 1,
	    .aligned_dkim_domain = "example.com", .rua = "mailto:dmarc@example.com",
	    .reason = "SPF and DKIM pass in alignment with example.com" };
	r->adsp = (struct adsp_result){ .result = AUTH_PASS, .domain = "example.com",
	    .reason = "a valid signature from the author domain (RFC 5617 4.3)" };
	r->iprev = (struct iprev_result){ .result = AUTH_PASS, .ip = "192.0.2.10",
	    .ptr = "mail.example.com", .names = scen_pass_ptr, .nnames = 1 };
	memset(m, 0, sizeof(*m));
	m->id = "0PASS0000001";
	m->authserv_id = "mailtest.example.net";
	m->received_at = "2026-11-26T12:00:00Z";
	m->tls_protocol = "TLSv1.3";
	m->tls_cipher = "TLS_AES_256_GCM_SHA384";
}

static struct spf_step scen_spoof_steps[] = {
	{ 0, NULL, "acme.com", "v=spf1 include:_spf.google.com ~all", "softfail" },
	{ 1, "include:_spf.google.com", "_spf.google.com",
	    "v=spf1 include:_netblocks.google.com include:_netblocks2.google.com "
	    "include:_netblocks3.google.com ~all", "no match" },
	{ 2, "include:_netblocks.google.com", "_netblocks.google.com",
	    "v=spf1 ip4:35.190.247.0/24 ip4:64.233.160.0/19 ip4:66.102.0.0/20 "
	    "ip4:66.249.80.0/20 ip4:72.14.192.0/18 ip4:74.125.0.0/16 "
	    "ip4:108.177.8.0/21 ip4:173.194.0.0/16 ip4:209.85.128.0/17 "
	    "ip4:216.58.192.0/19 ip4:216.239.32.0/19 ~all", "no match" },
	{ 2, "include:_netblocks2.google.com", "_netblocks2.google.com",
	    "v=spf1 ip6:2001:4860:4000::/36 ip6:2404:6800:4000::/36 "
	    "ip6:2607:f8b0:4000::/36 ip6:2800:3f0:4000::/36 ~all", "no match" },
	{ 2, "include:_netblocks3.google.com", "_netblocks3.google.com",
	    "v=spf1 ip4:172.217.0.0/19 ip4:172.253.56.0/21 ip4:108.177.96.0/19 ~all",
	    "no match" },
};

static struct dkim_sig scen_spoof_dkim[] = { {
	.result = AUTH_FAIL, .domain = "acme.com", .selector = "google",
	.algorithm = "rsa-sha256", .key_type = "rsa", .key_bits = 2048,
	.canonicalization = "relaxed/relaxed", .body_length = -1,
	.timestamp = 1795690000, .expiration = -1,
	.signed_headers = "from:to:subject:date:message-id", .b_prefix = "Zm9yZ2Vk",
	.key_record = "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"
	    "vWq7sm9zcwQ8lQ0eX2kz0rV3wqL5d6Q0p1uYQIDAQAB",
	.aligned = 1, .error = "signature-mismatch",
	.reason = "the header signature does not verify",
} };

static char *scen_spoof_ptr[] = { "host7.attacker.example" };

static inline void
scenario_spoofed(struct verify_result *r, struct report_meta *m)
{
	memset(r, 0, sizeof(*r));
	r->client_ip = "192.0.2.7";
	r->helo = "mail.attacker.example";
	r->mail_from = "ceo@acme.com";
	r->rcpt = scen_rcpt;
	r->nrcpt = 1;
	r->from = "\"ACME CEO\" <ceo@acme.com>";
	r->from_address = "ceo@acme.com";
	r->from_domain = "acme.com";
	r->message_id = "<spoof.1@attacker.example>";
	r->subject = "Urgent: wire transfer today";
	r->spf = (struct spf_check){ .result = AUTH_SOFTFAIL, .identity = "mailfrom",
	    .sender = "ceo@acme.com", .domain = "acme.com",
	    .record = "v=spf1 include:_spf.google.com ~all", .mechanism = "~all",
	    .reason = "192.0.2.7 matches no term before ~all", .lookups = 4,
	    .steps = scen_spoof_steps, .nsteps = ARRAY_SIZE(scen_spoof_steps) };
	r->spf_helo = (struct spf_check){ .result = AUTH_NONE, .identity = "helo",
	    .sender = "postmaster@mail.attacker.example",
	    .domain = "mail.attacker.example",
	    .reason = "mail.attacker.example publishes no SPF record" };
	r->dkim = scen_spoof_dkim;
	r->ndkim = 1;
	r->dmarc = (struct dmarc_result){ .result = AUTH_FAIL, .domain = "acme.com",
	    .org_domain = "acme.com", .record_domain = "acme.com",
	    .record = "v=DMARC1; p=quarantine; adkim=s; aspf=s",
	    .policy = "quarantine", .policy_tag = "p", .p = "quarantine", .pct = 100,
	    .adkim = 's', .aspf = 's',
	    .reason = "neither SPF nor DKIM passed in alignment with acme.com" };
	r->adsp = (struct adsp_result){ .result = AUTH_FAIL, .domain = "acme.com",
	    .policy = "all", .record = "dkim=all",
	    .reason = "no valid signature from acme.com, which says dkim=all" };
	r->iprev = (struct iprev_result){ .result = AUTH_FAIL, .ip = "192.0.2.7",
	    .ptr = "host7.attacker.example", .names = scen_spoof_ptr, .nnames = 1,
	    .reason = "host7.attacker.example does not resolve to 192.0.2.7" };
	memset(m, 0, sizeof(*m));
	m->id = "0SPOOF000001";
	m->authserv_id = "mailtest.example.net";
	m->received_at = "2026-11-26T12:05:00Z";
}

#endif
