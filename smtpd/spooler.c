/* spooler.c - the spool writer thread: see spooler.h */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "../common/log.h"
#include "../common/metrics.h"
#include "../common/util.h"
#include "spooler.h"
#include "workers.h"

struct spooler {
	struct spool		*spool;		/* not owned */
	struct workers		*workers;	/* not owned */
	struct event		*ev_done;	/* owned; activated from the thread */
	spooler_done_fn		*done;
	void			*done_arg;
	pthread_t		 thread;
	int			 started;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct spooler_job	*pending, **pending_tail;	/* loop -> writer */
	struct spooler_job	*finished, **finished_tail;	/* writer -> loop */
	int			 stop;
};

void
spooler_job_free(struct spooler_job *j)
{
	if (j == NULL)
		return;
	spool_env_free(&j->env);
	free(j->msg);
	free(j);
}

/* Loop thread: hand every finished job to the done callback. */
static void
spooler_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct spooler *sp = arg;
	struct spooler_job *j, *next;

	pthread_mutex_lock(&sp->mu);
	j = sp->finished;
	sp->finished = NULL;
	sp->finished_tail = &sp->finished;
	pthread_mutex_unlock(&sp->mu);
	for (; j; j = next) {
		next = j->next;
		j->next = NULL;
		sp->done(j, sp->done_arg);
	}
}

struct spooler *
spooler_new(struct spool *spool, struct workers *w, struct event_base *base,
    spooler_done_fn *done, void *arg)
{
	struct spooler *sp = xcalloc(1, sizeof(*sp));

	sp->spool = spool;
	sp->workers = w;
	sp->done = done;
	sp->done_arg = arg;
	sp->pending_tail = &sp->pending;
	sp->finished_tail = &sp->finished;
	pthread_mutex_init(&sp->mu, NULL);
	pthread_cond_init(&sp->cv, NULL);
	sp->ev_done = event_new(base, -1, 0, spooler_done_cb, sp);
	if (sp->ev_done == NULL)
		fatal("event_new");
	return sp;
}

/* One group commit of the jobs taken from the queue. */
static void
spooler_commit(struct spooler *sp, struct spooler_job *batch)
{
	struct spool_item items[SPOOLER_MAX_BATCH];
	struct spooler_job *j;
	size_t n = 0, i, failed;
	uint64_t t0 = time_mono_ms();

	for (j = batch; j; j = j->next) {
		memset(&items[n], 0, sizeof(items[n]));
		items[n].env = &j->env;
		items[n].msg = j->msg;
		items[n].len = j->len;
		n++;
	}
	failed = spool_commit_many(sp->spool, items, n);
	for (i = 0, j = batch; j; j = j->next, i++) {
		j->rc = items[i].rc;
		str_copy(j->err, items[i].err, sizeof(j->err));
		if (j->rc == 0) {
			/* counted before a worker can finish (and uncount) it */
			metrics_inc(METRIC_SPOOL_MESSAGES);
			workers_submit(sp->workers, j->env.id);
		} else
			log_err(j->env.id, "spool", "commit-failed session=%s error=\"%s\"",
			    j->session_id, j->err);
		/* the message is on disk: its copy in memory is no longer needed */
		free(j->msg);
		j->msg = NULL;
	}
	log_debug("-", "spool", "group-commit messages=%zu failed=%zu ms=%llu", n, failed,
	    (unsigned long long)(time_mono_ms() - t0));
}

static void *
spooler_main(void *arg)
{
	struct spooler *sp = arg;

	for (;;) {
		struct spooler_job *batch, **tail, *j;
		size_t n = 0;

		pthread_mutex_lock(&sp->mu);
		while (sp->pending == NULL && !sp->stop)
			pthread_cond_wait(&sp->cv, &sp->mu);
		if (sp->pending == NULL) {	/* stop, and nothing left to commit */
			pthread_mutex_unlock(&sp->mu);
			break;
		}
		batch = sp->pending;
		for (tail = &batch; *tail && n < SPOOLER_MAX_BATCH; tail = &(*tail)->next)
			n++;
		sp->pending = *tail;
		if (sp->pending == NULL)
			sp->pending_tail = &sp->pending;
		*tail = NULL;
		pthread_mutex_unlock(&sp->mu);

		spooler_commit(sp, batch);

		pthread_mutex_lock(&sp->mu);
		for (j = batch; j; j = j->next)
			tail = &j->next;
		*sp->finished_tail = batch;
		sp->finished_tail = tail;
		pthread_mutex_unlock(&sp->mu);
		event_active(sp->ev_done, EV_READ, 0);
	}
	return NULL;
}

int
spooler_start(struct spooler *sp)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&sp->thread, NULL, spooler_main, sp);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return -1;
	sp->started = 1;
	return 0;
}

void
spooler_submit(struct spooler *sp, struct spooler_job *j)
{
	j->next = NULL;
	pthread_mutex_lock(&sp->mu);
	*sp->pending_tail = j;
	sp->pending_tail = &j->next;
	pthread_cond_signal(&sp->cv);
	pthread_mutex_unlock(&sp->mu);
}

void
spooler_stop(struct spooler *sp)
{
	if (!sp->started)
		return;
	pthread_mutex_lock(&sp->mu);
	sp->stop = 1;
	pthread_cond_signal(&sp->cv);
	pthread_mutex_unlock(&sp->mu);
	pthread_join(sp->thread, NULL);
	sp->started = 0;
}

void
spooler_free(struct spooler *sp)
{
	struct spooler_job *j, *next;

	if (sp == NULL)
		return;
	spooler_stop(sp);
	for (j = sp->pending; j; j = next) {
		next = j->next;
		spooler_job_free(j);
	}
	for (j = sp->finished; j; j = next) {
		next = j->next;
		spooler_job_free(j);
	}
	event_free(sp->ev_done);
	pthread_mutex_destroy(&sp->mu);
	pthread_cond_destroy(&sp->cv);
	free(sp);
}
