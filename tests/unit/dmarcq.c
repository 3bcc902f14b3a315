/*
 * dmarcq - feed dmarc_check_run() abstract inputs and print the result as
 * the JSON report renders it (test driver; DNS from a given server).
 *
 *   dmarcq SERVER [--timeout MS] [--psl PATH]
 *          (--from DOMAIN | --from-error TEXT)
 *          [--spf RESULT:DOMAIN[:helo]] [--dkim RESULT:DOMAIN[:SELECTOR]]...
 *     one line: {"dmarc": {...}, "dkim": [...]}
 *   dmarcq --org [--psl PATH] DOMAIN...
 *     one line per domain: DOMAIN TAB libpsl-org TAB libopendmarc-org
 *     ("-" when there is none)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../common/dns.h"
#include "../../common/util.h"
#include "../../reply/report.h"
#include "../../verify/dmarc.h"

#define MAX_SIGS	64

static enum auth_res
res_from(const char *s)
{
	static const char *names[] = { "none", "pass", "fail", "softfail", "neutral",
	    "policy", "temperror", "permerror" };
	static const enum auth_res vals[] = { AUTH_NONE, AUTH_PASS, AUTH_FAIL,
	    AUTH_SOFTFAIL, AUTH_NEUTRAL, AUTH_POLICY, AUTH_TEMPERROR, AUTH_PERMERROR };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strcmp(s, names[i]) == 0)
			return vals[i];
	fprintf(stderr, "dmarcq: unknown result %s\n", s);
	exit(2);
}

/* "RESULT:DOMAIN[:EXTRA]" split in place */
static void
split3(char *s, char **a, char **b, char **c)
{
	char *p;

	*a = s;
	*b = *c = NULL;
	if ((p = strchr(s, ':')) == NULL)
		return;
	*p = '\0';
	*b = p + 1;
	if ((p = strchr(*b, ':')) != NULL) {
		*p = '\0';
		*c = p + 1;
	}
}

static int
org_mode(const char *psl, int argc, char **argv)
{
	struct verify_config vc = { 0 };
	struct dmarc_ctx *c;
	char err[256];

	vc.public_suffix_list = psl;
	if ((c = dmarc_ctx_new(&vc, err, sizeof(err))) == NULL) {
		fprintf(stderr, "dmarcq: %s\n", err);
		return 2;
	}
	for (int i = 0; i < argc; i++) {
		char a[300], b[300];

		printf("%s\t%s\t%s\n", argv[i],
		    dmarc_psl_org(c, argv[i], a, sizeof(a)) == 0 ? a : "-",
		    dmarc_opendmarc_org(argv[i], b, sizeof(b)) == 0 && *b ? b : "-");
	}
	dmarc_ctx_free(c);
	return 0;
}

int
main(int argc, char **argv)
{
	struct dns_config cf = { 0 };
	struct verify_config vc = { 0 };
	struct verify_result r;
	struct dkim_sig sigs[MAX_SIGS];
	struct spf_check spf;
	struct dmarc_ctx *c;
	const char *from = NULL, *from_error = NULL, *psl = NULL;
	char err[256], *s;
	json_t *all, *o;
	size_t nsigs = 0;
	int i = 1;

	memset(sigs, 0, sizeof(sigs));
	memset(&spf, 0, sizeof(spf));
	if (argc > 1 && strcmp(argv[1], "--org") == 0) {
		if (argc > 3 && strcmp(argv[2], "--psl") == 0)
			return org_mode(argv[3], argc - 4, argv + 4);
		return org_mode(NULL, argc - 2, argv + 2);
	}
	if (argc < 2) {
		fprintf(stderr, "usage: dmarcq SERVER [options] | dmarcq --org DOMAIN...\n");
		return 2;
	}
	cf.servers[0] = argv[i++];
	cf.nservers = 1;
	cf.timeout_ms = 300;
	cf.attempts = 1;
	for (; i + 1 < argc; i += 2) {
		char *a, *b, *e;

		if (strcmp(argv[i], "--timeout") == 0)
			cf.timeout_ms = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--psl") == 0)
			psl = argv[i + 1];
		else if (strcmp(argv[i], "--from") == 0)
			from = argv[i + 1];
		else if (strcmp(argv[i], "--from-error") == 0)
			from_error = argv[i + 1];
		else if (strcmp(argv[i], "--spf") == 0) {
			split3(argv[i + 1], &a, &b, &e);
			spf.result = res_from(a);
			spf.domain = b;
			spf.identity = e && strcmp(e, "helo") == 0 ? "helo" : "mailfrom";
		} else if (strcmp(argv[i], "--dkim") == 0 && nsigs < MAX_SIGS) {
			split3(argv[i + 1], &a, &b, &e);
			sigs[nsigs].result = res_from(a);
			sigs[nsigs].domain = b;
			sigs[nsigs].selector = e ? e : "sel";
			sigs[nsigs].body_length = sigs[nsigs].timestamp =
			    sigs[nsigs].expiration = -1;
			nsigs++;
		} else {
			fprintf(stderr, "dmarcq: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if ((vc.dns = dns_resolver_new(&cf, err, sizeof(err))) == NULL) {
		fprintf(stderr, "dmarcq: %s\n", err);
		return 2;
	}
	vc.public_suffix_list = psl;
	if ((c = dmarc_ctx_new(&vc, err, sizeof(err))) == NULL) {
		fprintf(stderr, "dmarcq: %s\n", err);
		return 2;
	}
	memset(&r, 0, sizeof(r));
	dmarc_check_run(c, from, from_error, &spf, sigs, nsigs, &r.dmarc);
	r.dkim = sigs;
	r.ndkim = nsigs;
	r.spf = spf;
	all = report_json(&r, NULL);
	o = json_object();
	json_object_set(o, "dmarc", json_object_get(all, "dmarc"));
	json_object_set(o, "dkim", json_object_get(all, "dkim"));
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	printf("%s\n", s);
	free(s);
	json_decref(o);
	json_decref(all);
	dmarc_result_free(&r.dmarc);
	dmarc_ctx_free(c);
	dns_resolver_free(vc.dns);
	return 0;
}
