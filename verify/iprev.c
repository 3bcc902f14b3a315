/*
 * iprev.c - RFC 8601 3 "iprev": the client's IP has a PTR name whose A/AAAA
 * records include the IP again (forward-confirmed reverse DNS, RFC 8601
 * 3 and RFC 1912 2.1).  pass when one name confirms; fail when every
 * forward lookup says the data does not exist or does not match;
 * temperror when DNS failed and nothing confirmed; permerror when no PTR
 * data are published for the address (NXDOMAIN or no answer: RFC 8601 3
 * "permerror") or there is no usable client address.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/dns.h"
#include "../common/util.h"
#include "iprev.h"

/* 1 if name has an A/AAAA record equal to addr; *failed set to name on a
 * temporary DNS error (the first one) */
static int
forward_confirms(struct dns_resolver *dns, const char *name, int family,
    const void *addr, const char **failed)
{
	const struct dns_answer *a;
	int hit = 0;

	a = dns_lookup(dns, name, family == AF_INET ? DNS_T_A : DNS_T_AAAA);
	if (a->status == DNS_TEMPFAIL && *failed == NULL)
		*failed = name;
	for (size_t i = 0; i < a->nrr && !hit; i++) {
		if (family == AF_INET && a->rr[i].type == DNS_T_A)
			hit = memcmp(&a->rr[i].u.a, addr, 4) == 0;
		else if (family == AF_INET6 && a->rr[i].type == DNS_T_AAAA)
			hit = memcmp(&a->rr[i].u.aaaa, addr, 16) == 0;
	}
	dns_answer_release(a);
	return hit;
}

void
iprev_check_run(struct dns_resolver *dns, const char *ip, struct iprev_result *out)
{
	unsigned char addr[16];
	char rev[128];
	const struct dns_answer *a;
	const char *failed = NULL;
	int family;

	memset(out, 0, sizeof(*out));
	out->ip = ip ? xstrdup(ip) : NULL;
	if (ip == NULL) {
		out->result = AUTH_PERMERROR;
		out->reason = xstrdup("no client IP address is known");
		return;
	}
	if (inet_pton(AF_INET, ip, addr) == 1)
		family = AF_INET;
	else if (inet_pton(AF_INET6, ip, addr) == 1)
		family = AF_INET6;
	else {
		out->result = AUTH_PERMERROR;
		out->reason = xasprintf("\"%s\" is not an IP address", ip);
		return;
	}
	/* an IPv4-mapped IPv6 client is an IPv4 client */
	if (family == AF_INET6 && IN6_IS_ADDR_V4MAPPED((struct in6_addr *)addr)) {
		memmove(addr, addr + 12, 4);
		family = AF_INET;
		inet_ntop(AF_INET, addr, rev, sizeof(rev));
		free(out->ip);
		out->ip = xstrdup(rev);
	}
	dns_reverse_name(out->ip, rev, sizeof(rev));
	a = dns_lookup(dns, rev, DNS_T_PTR);
	if (a->status == DNS_TEMPFAIL) {
		out->result = AUTH_TEMPERROR;
		out->reason = xasprintf("the PTR lookup for %s failed: %s", out->ip,
		    a->why ? a->why : "DNS error");
		dns_answer_release(a);
		return;
	}
	if (a->status != DNS_OK) {
		/* RFC 8601 3: "no PTR data are published for the connecting IP
		 * address" is permerror, not fail */
		out->result = AUTH_PERMERROR;
		out->reason = xasprintf("%s has no PTR record (%s)", out->ip,
		    a->status == DNS_NXDOMAIN ? "NXDOMAIN" :
		    a->status == DNS_BADNAME ? "the reverse name cannot be asked" : "no data");
		dns_answer_release(a);
		return;
	}
	out->names = xcalloc(a->nrr, sizeof(char *));
	for (size_t i = 0; i < a->nrr; i++)
		if (a->rr[i].type == DNS_T_PTR)
			out->names[out->nnames++] = xstrdup(a->rr[i].u.name);
	dns_answer_release(a);
	for (size_t i = 0; i < out->nnames && i < IPREV_MAX_NAMES; i++) {
		if (forward_confirms(dns, out->names[i], family, addr, &failed)) {
			out->result = AUTH_PASS;
			out->ptr = xstrdup(out->names[i]);
			out->reason = xasprintf("%s has PTR %s, which resolves back to it",
			    out->ip, out->ptr);
			return;
		}
	}
	out->ptr = out->nnames ? xstrdup(out->names[0]) : NULL;
	if (failed != NULL) {
		out->result = AUTH_TEMPERROR;
		out->reason = xasprintf("the forward lookup of %s failed and no other "
		    "PTR name resolves back to %s", failed, out->ip);
	} else {
		out->result = AUTH_FAIL;
		out->reason = xasprintf("%s has PTR %s, but %s does not resolve back to %s%s",
		    out->ip, out->ptr ? out->ptr : "?", out->ptr ? out->ptr : "it",
		    out->ip, out->nnames > IPREV_MAX_NAMES ? " (only the first 10 names checked)" : "");
	}
}

void
iprev_result_free(struct iprev_result *r)
{
	free(r->ip);
	free(r->ptr);
	for (size_t i = 0; i < r->nnames; i++)
		free(r->names[i]);
	free(r->names);
	free(r->reason);
	memset(r, 0, sizeof(*r));
}
