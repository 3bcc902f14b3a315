/*
 * fuzz_dkim - DKIM verification of a whole message (verify/dkim.c around
 * libopendkim, dkim_key.c) with its keys from a zone in the input, served
 * by an in-process DNS server (fakedns.h) through the real resolver.
 *
 * Input: zone text (fakedns.h), a line "%%", then the message.  The seeds
 * are messages signed by python3-dkim with the test keys, so the fuzzer
 * starts from signatures that verify and mutates around them.
 *
 * Invariants:
 *  - one result per DKIM-Signature field, in order, each one of RFC 8601
 *    2.7.1 (none pass fail policy neutral temperror permerror) with a
 *    reason; reasons and error words are printable ASCII (they go into
 *    the report and the Authentication-Results comment);
 *  - past dkim_max_signatures (16) fields, the rest are policy
 *    too-many-signatures and cost no DNS query: at most 16 key names are
 *    asked, each with at most DNS_MAX_CNAME_HOPS + 1 queries;
 *  - a pass has a key of at least dkim_min_key_bits (RSA) and an
 *    algorithm of rsa-sha256 or ed25519-sha256 (RFC 8301).
 */
#include <stdlib.h>
#include <string.h>

#include "../../common/dns.h"
#include "../../common/msg.h"
#include "../../common/util.h"
#include "../../verify/dkim.h"
#include "fakedns.h"
#include "fuzz.h"

#define MAX_SIGS	16
#define MAX_QUERIES	(MAX_SIGS * (DNS_MAX_CNAME_HOPS + 1))

static struct fakedns dns;
static struct dns_resolver *res;
static struct dkim_ctx *ctx;

static int
is_sig(const struct msg_field *f)
{
	return f->namelen == 14 && str_ncaseeq(f->name, "DKIM-Signature", 14);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *sep = memmem(p, size, "\n%%\n", 4);
	struct verify_config vc;
	struct msg m;
	struct dkim_sig *sigs;
	size_t nsigs, nf = 0;
	char err[256];
	unsigned long q;

	if (ctx == NULL) {
		fakedns_start(&dns);
		res = fakedns_resolver(&dns);
		memset(&vc, 0, sizeof(vc));
		vc.dns = res;
		vc.dkim_max_signatures = MAX_SIGS;
		vc.dkim_min_key_bits = 1024;
		vc.fixed_time = 1800000000;
		if ((ctx = dkim_ctx_new(&vc, err, sizeof(err))) == NULL) {
			fprintf(stderr, "dkim_ctx_new: %s\n", err);
			abort();
		}
	}
	if (sep == NULL)
		return 0;
	fakedns_zone(&dns, p, (size_t)(sep - p));
	p = sep + 4;
	size -= (size_t)(p - (const char *)data);
	if (msg_parse(&m, p, size, NULL) < 0) {
		msg_free(&m);
		return 0;
	}
	for (size_t i = 0; i < m.nf; i++)
		nf += is_sig(&m.f[i]);
	dkim_check_run(ctx, &m, 1800000000, &sigs, &nsigs);
	q = fakedns_queries(&dns);
	FUZZ_CHECK(nsigs == nf, "%zu results for %zu DKIM-Signature fields", nsigs, nf);
	FUZZ_CHECK(q <= MAX_QUERIES, "%lu DNS queries for %zu signatures", q, nsigs);
	for (size_t i = 0; i < nsigs; i++) {
		const struct dkim_sig *s = &sigs[i];

		FUZZ_CHECK(s->result == AUTH_NONE || s->result == AUTH_PASS ||
		    s->result == AUTH_FAIL || s->result == AUTH_POLICY ||
		    s->result == AUTH_NEUTRAL || s->result == AUTH_TEMPERROR ||
		    s->result == AUTH_PERMERROR, "result %d", s->result);
		FUZZ_CHECK(s->reason != NULL && fuzz_printable(s->reason), "reason %zu: %s", i,
		    s->reason ? s->reason : "(null)");
		FUZZ_CHECK(s->error == NULL || fuzz_printable(s->error), "error %s", s->error);
		if (i >= MAX_SIGS)
			FUZZ_CHECK(s->result == AUTH_POLICY || s->result == AUTH_PERMERROR,
			    "signature %zu of %zu verified past the limit", i + 1, nsigs);
		if (s->result == AUTH_PASS) {
			FUZZ_CHECK(s->algorithm && (str_caseeq(s->algorithm, "rsa-sha256") ||
			    str_caseeq(s->algorithm, "ed25519-sha256")), "pass with %s",
			    s->algorithm);
			FUZZ_CHECK(s->key_bits >= 1024 || (s->key_type &&
			    str_caseeq(s->key_type, "ed25519")), "pass with %d bits", s->key_bits);
		}
	}
	dkim_sigs_free(sigs, nsigs);
	msg_free(&m);
	return 0;
}
