/*
 * fuzz_spf_eval - SPF check_host() (verify/spf.c with libspf2 behind it,
 * and spf_record.c) against a zone from the input, served by an
 * in-process DNS server (fakedns.h) through the real resolver.
 *
 * Input: a control byte (client address, identity), then zone text
 * (fakedns.h: "NAME TYPE DATA" lines).  The sender is
 * user@example.com, the HELO mail.example.com.
 *
 * Invariants:
 *  - a result of RFC 7208 2.6 (none neutral pass fail softfail temperror
 *    permerror) with a reason; permerror and temperror name a problem;
 *  - the limits of 4.6.4 hold: at most 10 DNS-querying terms counted (11
 *    when the 11th is what made it permerror), at most 2 void lookups (3);
 *  - bounded work: the queries the server saw stay under what 4.6.4
 *    allows (11 records, 10 terms with 10 names each, exp=, CNAME hops);
 *  - every string is valid UTF-8 (they go into JSON and reports).
 */
#include <stdlib.h>
#include <string.h>

#include "../../common/dns.h"
#include "../../common/util.h"
#include "../../verify/spf.h"
#include "fakedns.h"
#include "fuzz.h"

/* 11 record fetches + 10 terms x (1 + 10 names) + exp= + the p macro's
 * PTR and 10 names, each lookup up to DNS_MAX_CNAME_HOPS + 1 queries */
#define MAX_QUERIES	((11 + 10 * 11 + 1 + 11) * (DNS_MAX_CNAME_HOPS + 1))

static struct fakedns dns;
static struct dns_resolver *res;
static struct spf_ctx *ctx;

static void
check_str(const char *what, const char *s)
{
	if (s != NULL)
		FUZZ_CHECK(fuzz_utf8((const unsigned char *)s, strlen(s)),
		    "%s is not UTF-8", what);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ips[] = { "192.0.2.1", "2001:db8::1", "192.0.2.200",
	    "198.51.100.7", "::ffff:192.0.2.1", "127.0.0.1" };
	struct fuzz_in in = { data, size };
	unsigned c = fuzz_byte(&in);
	struct spf_check out;
	char err[256];
	unsigned long q;

	if (ctx == NULL) {
		fakedns_start(&dns);
		res = fakedns_resolver(&dns);
		if ((ctx = spf_ctx_new(res, "mx.fuzz.example", err, sizeof(err))) == NULL) {
			fprintf(stderr, "spf_ctx_new: %s\n", err);
			abort();
		}
	}
	fakedns_zone(&dns, (const char *)in.p, in.n);
	memset(&out, 0, sizeof(out));
	if (c & 0x80)
		spf_check_run(ctx, "helo", ips[c % ARRAY_SIZE(ips)], "mail.example.com",
		    "postmaster@mail.example.com", &out);
	else
		spf_check_run(ctx, "mailfrom", ips[c % ARRAY_SIZE(ips)], "mail.example.com",
		    "user@example.com", &out);
	q = fakedns_queries(&dns);
	FUZZ_CHECK(out.result == AUTH_NONE || out.result == AUTH_NEUTRAL ||
	    out.result == AUTH_PASS || out.result == AUTH_FAIL || out.result == AUTH_SOFTFAIL ||
	    out.result == AUTH_TEMPERROR || out.result == AUTH_PERMERROR, "result %d",
	    out.result);
	FUZZ_CHECK(out.reason != NULL && out.reason[0], "no reason");
	FUZZ_CHECK((out.result != AUTH_PERMERROR && out.result != AUTH_TEMPERROR) ||
	    (out.problem != NULL && out.problem[0]), "%s without a problem (%s)",
	    out.result == AUTH_PERMERROR ? "permerror" : "temperror", out.reason);
	FUZZ_CHECK(out.lookups >= 0 && out.lookups <= SPF_MAX_DNS_MECHS + 1,
	    "%d DNS terms", out.lookups);
	FUZZ_CHECK(out.lookups <= SPF_MAX_DNS_MECHS || out.result == AUTH_PERMERROR,
	    "%d DNS terms and no permerror", out.lookups);
	FUZZ_CHECK(out.void_lookups >= 0 && out.void_lookups <= SPF_MAX_VOID_LOOKUPS + 1,
	    "%d void lookups", out.void_lookups);
	FUZZ_CHECK(q <= MAX_QUERIES, "%lu DNS queries for one check_host()", q);
	check_str("reason", out.reason);
	check_str("explanation", out.explanation);
	check_str("record", out.record);
	check_str("mechanism", out.mechanism);
	check_str("problem", out.problem);
	for (size_t i = 0; i < out.nsteps; i++) {
		check_str("step record", out.steps[i].record);
		check_str("step domain", out.steps[i].domain);
	}
	spf_check_free(&out);
	return 0;
}
