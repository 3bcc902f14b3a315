/*
 * test_dmarc_threads.c - the public suffix list is shared: contexts made and
 * freed on several threads at once, with lookups running meanwhile, give
 * the same answers (run under ASan and valgrind by tests/check.sh).
 */
#include <pthread.h>
#include <string.h>

#include "../../verify/dmarc.h"
#include "t.h"

#define NTHREADS	4
#define ROUNDS		50

static const struct { const char *in, *want; } tab[] = {
	{ "mail.example.co.uk", "example.co.uk" },
	{ "a.b.example.com", "example.com" },
	{ "giant.bank.example", "bank.example" },
	{ "a.b.c.mm", "b.c.mm" },
};

static void *
worker(void *arg)
{
	int *bad = arg;

	for (int r = 0; r < ROUNDS; r++) {
		struct verify_config vc;
		struct dmarc_ctx *c;
		char out[256], err[64];

		memset(&vc, 0, sizeof(vc));
		if ((c = dmarc_ctx_new(&vc, err, sizeof(err))) == NULL) {
			(*bad)++;
			continue;
		}
		for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
			if (dmarc_psl_org(c, tab[i].in, out, sizeof(out)) != 0 ||
			    strcmp(out, tab[i].want) != 0)
				(*bad)++;
		(void)dmarc_opendmarc_org("mail.example.co.uk", out, sizeof(out));
		dmarc_ctx_free(c);
	}
	return NULL;
}

int
main(void)
{
	pthread_t th[NTHREADS];
	int bad[NTHREADS] = { 0 };

	for (int i = 0; i < NTHREADS; i++)
		T_EQ_INT(pthread_create(&th[i], NULL, worker, &bad[i]), 0, "thread started");
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		T_EQ_INT(bad[i], 0, "every lookup right on every thread");
	}
	return t_done("test_dmarc_threads");
}
