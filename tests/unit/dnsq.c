/* dnsq - query through common/dns.c and print the answer (test driver). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/dns.h"

static int
type_from(const char *s)
{
	static const struct { const char *n; int t; } tab[] = {
		{ "A", DNS_T_A }, { "AAAA", DNS_T_AAAA }, { "TXT", DNS_T_TXT },
		{ "MX", DNS_T_MX }, { "PTR", DNS_T_PTR }, { "CNAME", DNS_T_CNAME },
		{ "NS", DNS_T_NS }, { "SPF", DNS_T_SPF },
	};
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strcmp(tab[i].n, s) == 0)
			return tab[i].t;
	return atoi(s);
}

int
main(int argc, char **argv)
{
	struct dns_config cf = { 0 };
	struct dns_resolver *r;
	char err[256];
	int repeat = 1;

	if (argc < 4) {
		fprintf(stderr, "usage: dnsq SERVER NAME TYPE [REPEAT] [TIMEOUT_MS]\n");
		return 2;
	}
	cf.servers[0] = argv[1];
	cf.nservers = 1;
	if (argc > 4)
		repeat = atoi(argv[4]);
	cf.timeout_ms = argc > 5 ? atoi(argv[5]) : 500;
	cf.attempts = 1;
	if ((r = dns_resolver_new(&cf, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	for (int k = 0; k < repeat; k++) {
		const struct dns_answer *a = dns_lookup(r, argv[2], type_from(argv[3]));

		printf("status=%s rcode=%d secure=%d ttl=%u canonical=%s hops=%d n=%zu",
		    dns_status_name(a->status), a->rcode, a->secure, a->ttl,
		    a->canonical, a->cname_hops, a->nrr);
		if (a->why)
			printf(" why=\"%s\"", a->why);
		printf("\n");
		for (size_t i = 0; i < a->nrr; i++) {
			const struct dns_rr *rr = &a->rr[i];
			char buf[64];

			switch (rr->type) {
			case DNS_T_A: case DNS_T_AAAA:
				printf("  %s %s\n", dns_type_name(rr->type), dns_rr_addr_text(rr, buf, sizeof(buf)));
				break;
			case DNS_T_MX:
				printf("  MX %u %s\n", rr->u.mx.pref, rr->u.mx.host);
				break;
			case DNS_T_TXT: case DNS_T_SPF:
				printf("  TXT nstr=%zu \"%s\"\n", rr->u.txt.nstr, rr->u.txt.data);
				break;
			default:
				printf("  %s %s\n", dns_type_name(rr->type), rr->u.name);
			}
		}
		dns_answer_release(a);
	}
	{
		struct dns_stats st;

		dns_stats_get(r, &st);
		printf("stats lookups=%llu hits=%llu queries=%llu timeouts=%llu\n",
		    (unsigned long long)st.lookups, (unsigned long long)st.cache_hits,
		    (unsigned long long)st.queries, (unsigned long long)st.timeouts);
	}
	dns_resolver_free(r);
	return 0;
}
