/* workers.c - the verification worker pool: see workers.h */
#include <errno.h>
#include <pthread.h>
#include <search.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/log.h"
#include "../common/metrics.h"
#include "../common/util.h"
#include "../reply/reply.h"
#include "../verify/verify.h"
#include "workers.h"

#define WORKERS_RETRY_MIN_MS	1000
#define WORKERS_RETRY_MAX_MS	(5 * 60 * 1000)

struct work {
	char		 id[ID_LEN + 1];
	unsigned	 attempts;
	uint64_t	 not_before;	/* monotonic ms */
	struct work	*next;
};

struct worker {
	struct workers		*w;
	struct verify_ctx	*vctx;	/* owned: the libraries' handles are per thread */
	pthread_t		 thread;
	int			 started;
};

struct workers {
	const struct config	*cf;		/* not owned */
	struct spool		*spool;		/* not owned */
	struct dns_resolver	*dns;		/* not owned, shared by all workers */
	struct reply_ctx	*reply;		/* not owned */
	struct verify_config	 vcfg;
	struct worker		*pool;		/* owned, n entries */
	size_t			 n;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct work		*ready, **ready_tail;	/* FIFO */
	struct work		*retry;		/* sorted by not_before */
	void			*known;		/* tsearch set of ids queued or in work */
	int			 stop;
};

static int
id_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

struct workers *
workers_new(const struct config *cf, struct spool *spool, struct dns_resolver *dns,
    struct reply_ctx *reply)
{
	struct workers *w = xcalloc(1, sizeof(*w));

	w->cf = cf;
	w->spool = spool;
	w->dns = dns;
	w->reply = reply;
	w->vcfg.dns = dns;
	w->vcfg.authserv_id = cf->authserv_id;
	w->vcfg.public_suffix_list = cf->public_suffix_list;
	w->vcfg.dkim_max_signatures = (int)cf->dkim_max_signatures;
	w->vcfg.dkim_min_key_bits = (int)cf->dkim_min_key_bits;
	w->vcfg.domain_check = cf->domain_check;
	w->n = (size_t)cf->workers;
	w->pool = xcalloc(w->n, sizeof(*w->pool));
	w->ready_tail = &w->ready;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	return w;
}

void
workers_submit(struct workers *w, const char *id)
{
	struct work *k;
	char *key;

	pthread_mutex_lock(&w->mu);
	if (tfind(id, &w->known, id_cmp) != NULL) {
		/* queued or being processed already: never twice at once */
		pthread_mutex_unlock(&w->mu);
		return;
	}
	k = xcalloc(1, sizeof(*k));
	str_copy(k->id, id, sizeof(k->id));
	key = k->id;
	if (tsearch(key, &w->known, id_cmp) == NULL)
		fatal("tsearch: out of memory");
	*w->ready_tail = k;
	w->ready_tail = &k->next;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* Next work item; NULL when stopping.  Called with mu held. */
static struct work *
workers_take(struct workers *w)
{
	for (;;) {
		uint64_t now = time_mono_ms();
		struct work *k;

		if (w->stop)
			return NULL;
		if ((k = w->ready) != NULL) {
			w->ready = k->next;
			if (w->ready == NULL)
				w->ready_tail = &w->ready;
			k->next = NULL;
			return k;
		}
		if (w->retry && w->retry->not_before <= now) {
			k = w->retry;
			w->retry = k->next;
			k->next = NULL;
			return k;
		}
		if (w->retry) {
			struct timespec ts;
			uint64_t wait = w->retry->not_before - now;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += (time_t)(wait / 1000);
			ts.tv_nsec += (long)(wait % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&w->cv, &w->mu, &ts);
		} else
			pthread_cond_wait(&w->cv, &w->mu);
	}
}

/* Done with an id: forget it, or schedule it again. Called with mu held. */
static void
workers_finish(struct workers *w, struct work *k, int retry)
{
	struct work **pp;
	uint64_t delay;

	if (!retry) {
		tdelete(k->id, &w->known, id_cmp);
		free(k);
		return;
	}
	delay = (uint64_t)WORKERS_RETRY_MIN_MS << (k->attempts < 16 ? k->attempts : 16);
	if (delay > WORKERS_RETRY_MAX_MS)
		delay = WORKERS_RETRY_MAX_MS;
	k->attempts++;
	k->not_before = time_mono_ms() + delay;
	for (pp = &w->retry; *pp && (*pp)->not_before <= k->not_before; pp = &(*pp)->next)
		;
	k->next = *pp;
	*pp = k;
	log_warn(k->id, "worker", "retry attempt=%u in_ms=%llu", k->attempts,
	    (unsigned long long)delay);
}

enum { WORK_DONE, WORK_RETRY };

/* The verdicts and the latency of one processed message. */
static void
worker_metrics(const struct spool_env *env, const struct verify_result *res)
{
	uint64_t now = time_real_ms();

	metrics_inc(METRIC_MESSAGES_VERIFIED);
	metrics_add_label(METRIC_VERDICTS, "spf", auth_res_name(res->spf.result), 1);
	metrics_add_label(METRIC_VERDICTS, "spf_helo", auth_res_name(res->spf_helo.result), 1);
	if (res->ndkim == 0)
		metrics_add_label(METRIC_VERDICTS, "dkim", "none", 1);
	for (size_t i = 0; i < res->ndkim; i++)
		metrics_add_label(METRIC_VERDICTS, "dkim", auth_res_name(res->dkim[i].result), 1);
	metrics_add_label(METRIC_VERDICTS, "dmarc", auth_res_name(res->dmarc.result), 1);
	metrics_add_label(METRIC_VERDICTS, "adsp", auth_res_name(res->adsp.result), 1);
	metrics_add_label(METRIC_VERDICTS, "iprev", auth_res_name(res->iprev.result), 1);
	/* received_ms is the end of DATA (smtp_job_new) */
	if (env->received_ms > 0 && now >= env->received_ms)
		metrics_observe_ms(METRIC_REPORT_LATENCY, now - env->received_ms);
}

static int
worker_process(struct worker *wk, const char *id)
{
	struct workers *w = wk->w;
	struct spool_env env;
	struct verify_input in;
	struct verify_result res;
	char *msg, err[256];
	size_t len;
	uint64_t t0 = time_mono_ms();
	int rc;

	if (spool_load(w->spool, id, &env, &msg, &len, err, sizeof(err)) < 0) {
		if (errno == ENOENT) {
			log_debug(id, "worker", "gone");
			return WORK_DONE;
		}
		if (errno == EBADMSG) {
			/* kept on disk for a human; tried again at the next start */
			log_err(id, "worker", "corrupt-spool-file error=\"%s\"", err);
			return WORK_DONE;
		}
		log_err(id, "worker", "load-failed error=\"%s\"", err);
		return WORK_RETRY;
	}
	memset(&in, 0, sizeof(in));
	memset(&res, 0, sizeof(res));
	in.msg = msg;
	in.msglen = len;
	in.client_ip = env.client_ip;
	in.helo = env.helo && *env.helo ? env.helo : NULL;
	in.mail_from = env.mail_from;
	in.rcpt = (const char *const *)env.rcpt;
	in.nrcpt = env.nrcpt;
	if (verify_run(wk->vctx, &in, &res) < 0) {
		log_err(id, "worker", "verify-failed error=\"%s\"",
		    res.message_error ? res.message_error : "internal");
		rc = WORK_RETRY;
		goto out_free;
	}
	if (reply_process(w->reply, &env, msg, len, &res) < 0) {
		log_err(id, "worker", "reply-failed");
		rc = WORK_RETRY;
		goto out_free;
	}
	log_info(id, "worker", "processed spf=%s dkim=%zu dmarc=%s iprev=%s ms=%llu",
	    auth_res_name(res.spf.result), res.ndkim, auth_res_name(res.dmarc.result),
	    auth_res_name(res.iprev.result), (unsigned long long)(time_mono_ms() - t0));
	worker_metrics(&env, &res);
	if (spool_remove(w->spool, id) < 0) {
		/* reply_process() is idempotent per id: doing it again is safe */
		log_err(id, "worker", "remove-failed error=\"%s\"", strerror(errno));
		rc = WORK_RETRY;
		goto out_free;
	}
	log_info(id, "worker", "removed");
	metrics_dec(METRIC_SPOOL_MESSAGES);
	rc = WORK_DONE;
out_free:
	verify_result_free(&res);
	spool_env_free(&env);
	free(msg);
	return rc;
}

static void *
worker_main(void *arg)
{
	struct worker *wk = arg;
	struct workers *w = wk->w;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct work *k = workers_take(w);
		int rc;

		if (k == NULL)
			break;
		pthread_mutex_unlock(&w->mu);
		rc = worker_process(wk, k->id);
		pthread_mutex_lock(&w->mu);
		workers_finish(w, k, rc == WORK_RETRY);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

int
workers_start(struct workers *w, char *err, size_t errlen)
{
	sigset_t all, old;
	size_t i;

	for (i = 0; i < w->n; i++) {
		w->pool[i].w = w;
		if ((w->pool[i].vctx = verify_ctx_new(&w->vcfg, err, errlen)) == NULL)
			return -1;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0; i < w->n; i++) {
		if (pthread_create(&w->pool[i].thread, NULL, worker_main, &w->pool[i]) != 0) {
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			snprintf(err, errlen, "pthread_create: %s", strerror(errno));
			return -1;
		}
		w->pool[i].started = 1;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return 0;
}

void
workers_stop(struct workers *w)
{
	size_t i;

	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	for (i = 0; i < w->n; i++)
		if (w->pool[i].started) {
			pthread_join(w->pool[i].thread, NULL);
			w->pool[i].started = 0;
		}
}

static void
work_list_free(struct workers *w, struct work *k)
{
	while (k) {
		struct work *next = k->next;

		tdelete(k->id, &w->known, id_cmp);
		free(k);
		k = next;
	}
}

void
workers_free(struct workers *w)
{
	size_t i;

	if (w == NULL)
		return;
	workers_stop(w);
	work_list_free(w, w->ready);
	work_list_free(w, w->retry);
	for (i = 0; i < w->n; i++)
		verify_ctx_free(w->pool[i].vctx);
	free(w->pool);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
}
