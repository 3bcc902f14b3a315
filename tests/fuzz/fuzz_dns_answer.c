/*
 * fuzz_dns_answer - common/dns.c's response parser (dns_parse_response(),
 * the code dns_lookup() runs on every packet it receives).
 *
 * Input: one byte choosing the question (type and name), then the packet.
 * Invariants: the return value agrees with the status; a usable answer
 * holds 1..DNS_MAX_RRS records of the type asked for; TXT data is
 * NUL-terminated and its string lengths add up; names fit DNS_MAX_NAME;
 * TTLs are at most 2^31 - 1 (RFC 2181 8) unless "no SOA"; the CNAME chain
 * is bounded; everything is freed by dns_answer_release().
 */
#include <string.h>

#include "../../common/dns.h"
#include "../../common/util.h"
#include "fuzz.h"

static const int qtypes[] = {
	DNS_T_A, DNS_T_AAAA, DNS_T_MX, DNS_T_TXT, DNS_T_PTR, DNS_T_CNAME,
	DNS_T_NS, DNS_T_SPF,
};
static const char *const qnames[] = {
	"example.com", "Example.COM.", "a.example.com", "1.2.0.192.in-addr.arpa",
};

static void
check_name(const char *s, const char *what)
{
	FUZZ_CHECK(s != NULL, "%s is NULL", what);
	FUZZ_CHECK(strlen(s) <= DNS_MAX_NAME + 1, "%s is %zu octets", what, strlen(s));
}

static void
check_rr(const struct dns_answer *a, const struct dns_rr *rr)
{
	char buf[64];

	FUZZ_CHECK(rr->type == a->qtype, "RR of type %u for a %u question",
	    rr->type, a->qtype);
	FUZZ_CHECK(rr->ttl <= 0x7fffffffu, "RR TTL %u", rr->ttl);
	switch (rr->type) {
	case DNS_T_A:
	case DNS_T_AAAA:
		FUZZ_CHECK(dns_rr_addr_text(rr, buf, sizeof(buf)) != NULL, "address text");
		break;
	case DNS_T_MX:
		check_name(rr->u.mx.host, "MX host");
		break;
	case DNS_T_PTR:
	case DNS_T_CNAME:
	case DNS_T_NS:
		check_name(rr->u.name, "target name");
		break;
	case DNS_T_TXT:
	case DNS_T_SPF: {
		size_t sum = 0;

		FUZZ_CHECK(rr->u.txt.data != NULL && rr->u.txt.data[rr->u.txt.len] == '\0',
		    "TXT data not NUL-terminated");
		FUZZ_CHECK(rr->u.txt.nstr >= 1, "TXT with no string");
		for (size_t i = 0; i < rr->u.txt.nstr; i++)
			sum += rr->u.txt.strlen[i];
		FUZZ_CHECK(sum == rr->u.txt.len, "TXT lengths %zu != %zu", sum,
		    rr->u.txt.len);
		break;
	}
	default:
		FUZZ_CHECK(0, "unexpected RR type %u", rr->type);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_answer *a;
	unsigned sel;
	int rc, qtype;
	const char *qname;

	if (size < 1)
		return 0;
	sel = data[0];
	qtype = qtypes[sel % ARRAY_SIZE(qtypes)];
	qname = qnames[(sel / ARRAY_SIZE(qtypes)) % ARRAY_SIZE(qnames)];
	rc = dns_parse_response(data + 1, size - 1, qname, qtype, &a);

	FUZZ_CHECK(a != NULL, "no answer");
	FUZZ_CHECK(strcmp(a->qname, qname) == 0 && a->qtype == qtype, "question lost");
	FUZZ_CHECK(a->secure == 0 || a->secure == 1, "secure=%d", a->secure);
	check_name(a->canonical, "canonical name");
	FUZZ_CHECK(a->cname_hops >= 0 && a->cname_hops <= DNS_MAX_CNAME_HOPS,
	    "%d CNAME hops", a->cname_hops);
	switch (rc) {
	case -1:
		FUZZ_CHECK(a->status == DNS_TEMPFAIL || a->status == DNS_BADNAME,
		    "rc -1 with status %s", dns_status_name(a->status));
		FUZZ_CHECK(a->why != NULL && a->why[0], "failure without a reason");
		break;
	case 0:
		FUZZ_CHECK(a->why == NULL, "reason \"%s\" on a usable answer", a->why);
		FUZZ_CHECK(a->status == DNS_OK || a->status == DNS_NODATA ||
		    a->status == DNS_NXDOMAIN, "rc 0 with status %s",
		    dns_status_name(a->status));
		FUZZ_CHECK((a->status == DNS_OK) == (a->nrr > 0), "status %s with %zu RRs",
		    dns_status_name(a->status), a->nrr);
		FUZZ_CHECK(a->ttl <= 0x7fffffffu || (a->ttl == UINT32_MAX &&
		    a->status != DNS_OK), "TTL %u", a->ttl);
		break;
	case 1:
		FUZZ_CHECK(a->nrr == 0 && a->cname_hops > 0 && a->why == NULL,
		    "re-query with %zu RRs, %d hops", a->nrr, a->cname_hops);
		break;
	default:
		FUZZ_CHECK(0, "rc %d", rc);
	}
	FUZZ_CHECK(a->nrr <= DNS_MAX_RRS, "%zu RRs kept", a->nrr);
	for (size_t i = 0; i < a->nrr; i++)
		check_rr(a, &a->rr[i]);
	dns_answer_release(a);
	return 0;
}
