/*
 * dnscheckq - dnscheck_run() as the daemon's workers will call it: several
 * threads at once, one shared resolver (with its cache), each thread its
 * own result (test driver).
 *
 *   dnscheckq SERVER THREADS ROUNDS DOMAIN [SELECTOR...]
 *     runs THREADS threads, each checking DOMAIN ROUNDS times; prints one
 *     line per thread: its last result's JSON (compact), and after them
 *     the "what to fix" text of the last result (dnscheck_render_fixes()).
 *     Exit 0, or 1 if a thread's results differ from round to round.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/dns.h"
#include "../../common/util.h"
#include "../../reply/dnscheck_render.h"
#include "../../verify/dnscheck.h"

#define MAX_THREADS	16

struct job {
	const struct verify_config *cfg;
	const char	*domain;
	const char *const *sel;
	size_t		 nsel;
	int		 rounds;
	char		*json;		/* last round's JSON, without "lookups" */
	char		*fixes;
	int		 differs;
	pthread_t	 t;
};

/* The result without what legitimately varies (the list of lookups). */
static char *
stable_json(const struct dnscheck_result *r)
{
	json_t *j = dnscheck_json(r);
	char *s;

	json_object_del(j, "lookups");
	s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	return s;
}

static void *
work(void *arg)
{
	struct job *jb = arg;

	for (int i = 0; i < jb->rounds; i++) {
		struct dnscheck_result r;
		char *s;

		if (dnscheck_run(jb->cfg, jb->domain, jb->sel, jb->nsel, &r) < 0) {
			fprintf(stderr, "dnscheck_run: %s\n", r.error);
			jb->differs = 1;
			dnscheck_result_free(&r);
			return NULL;
		}
		s = stable_json(&r);
		if (jb->json != NULL && strcmp(jb->json, s) != 0)
			jb->differs = 1;
		free(jb->json);
		jb->json = s;
		free(jb->fixes);
		jb->fixes = dnscheck_render_fixes(&r);
		dnscheck_result_free(&r);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	struct dns_config dc = { 0 };
	struct verify_config vc = { 0 };
	struct job jobs[MAX_THREADS];
	char err[256];
	long nthreads, rounds;
	int rc = 0;

	if (argc < 5 || str_to_long(argv[2], 1, MAX_THREADS, &nthreads) < 0 ||
	    str_to_long(argv[3], 1, 100, &rounds) < 0) {
		fprintf(stderr, "usage: dnscheckq SERVER THREADS ROUNDS DOMAIN [SELECTOR...]\n");
		return 2;
	}
	dc.servers[0] = argv[1];
	dc.nservers = 1;
	dc.timeout_ms = 500;
	if ((vc.dns = dns_resolver_new(&dc, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	memset(jobs, 0, sizeof(jobs));
	for (long i = 0; i < nthreads; i++) {
		jobs[i].cfg = &vc;
		jobs[i].domain = argv[4];
		jobs[i].sel = (const char *const *)argv + 5;
		jobs[i].nsel = (size_t)(argc - 5);
		jobs[i].rounds = (int)rounds;
		if (pthread_create(&jobs[i].t, NULL, work, &jobs[i]) != 0)
			fatal("pthread_create");
	}
	for (long i = 0; i < nthreads; i++)
		pthread_join(jobs[i].t, NULL);
	for (long i = 0; i < nthreads; i++) {
		printf("%s\n", jobs[i].json ? jobs[i].json : "null");
		rc |= jobs[i].differs;
	}
	fputs(jobs[nthreads - 1].fixes ? jobs[nthreads - 1].fixes : "", stdout);
	for (long i = 0; i < nthreads; i++) {
		free(jobs[i].json);
		free(jobs[i].fixes);
	}
	dns_resolver_free(vc.dns);
	return rc;
}
