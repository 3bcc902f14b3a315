/* retention.c - removing reports older than report_retention: see retention.h */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/metrics.h"
#include "../common/util.h"
#include "retention.h"

struct retention {
	char		*spool_dir;	/* owned */
	long		 retention_s;
	long		 interval_s;
	pthread_t	 thread;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		 stop;		/* under mu */
};

/* "ID.json" or ".ID.tmp" (record.c's names) */
static int
retention_name_ok(const char *name)
{
	char id[ID_LEN + 1];
	size_t n = strlen(name);

	if (n == ID_LEN + 5 && strcmp(name + ID_LEN, ".json") == 0) {
		memcpy(id, name, ID_LEN);
	} else if (n == ID_LEN + 5 && name[0] == '.' && strcmp(name + 1 + ID_LEN, ".tmp") == 0) {
		memcpy(id, name + 1, ID_LEN);
	} else
		return 0;
	id[ID_LEN] = '\0';
	return id_valid(id);
}

long
retention_prune(const char *spool_dir, long retention_s, time_t now)
{
	char *dir = xasprintf("%s/reports", spool_dir);
	time_t cutoff = now - retention_s;
	struct dirent *de;
	long removed = 0;
	DIR *d;
	int dfd;

	if ((d = opendir(dir)) == NULL) {
		int e = errno;

		free(dir);
		errno = e;
		return e == ENOENT ? 0 : -1;
	}
	dfd = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (!retention_name_ok(de->d_name))
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode) || st.st_mtime >= cutoff)
			continue;
		if (unlinkat(dfd, de->d_name, 0) < 0) {
			if (errno != ENOENT)
				log_warn("-", "retention", "remove %s/%s: %s", dir, de->d_name,
				    strerror(errno));
			continue;
		}
		removed++;
	}
	closedir(d);
	if (removed > 0 && fsync_dir(dir) < 0)
		log_warn("-", "retention", "fsync %s: %s", dir, strerror(errno));
	free(dir);
	return removed;
}

static void
retention_round(struct retention *r)
{
	long n = retention_prune(r->spool_dir, r->retention_s, time(NULL));

	if (n < 0)
		log_err("-", "retention", "prune dir=%s/reports error=\"%s\"", r->spool_dir,
		    strerror(errno));
	else if (n > 0) {
		metrics_add(METRIC_REPORTS_PRUNED, n);
		log_info("-", "retention", "pruned reports=%ld older_than=%lds", n,
		    r->retention_s);
	}
}

static void *
retention_main(void *arg)
{
	struct retention *r = arg;

	pthread_mutex_lock(&r->mu);
	while (!r->stop) {
		struct timespec ts;

		pthread_mutex_unlock(&r->mu);
		retention_round(r);
		pthread_mutex_lock(&r->mu);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += r->interval_s;
		while (!r->stop && pthread_cond_timedwait(&r->cv, &r->mu, &ts) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

struct retention *
retention_start(const char *spool_dir, long retention_s)
{
	struct retention *r = xcalloc(1, sizeof(*r));
	sigset_t all, old;
	int rc;

	r->spool_dir = xstrdup(spool_dir);
	r->retention_s = retention_s;
	r->interval_s = retention_s / 60;
	if (r->interval_s < 1)
		r->interval_s = 1;
	if (r->interval_s > RETENTION_MAX_INTERVAL_S)
		r->interval_s = RETENTION_MAX_INTERVAL_S;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	/* signals belong to the event loop (as for the other threads) */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&r->thread, NULL, retention_main, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		pthread_cond_destroy(&r->cv);
		pthread_mutex_destroy(&r->mu);
		free(r->spool_dir);
		free(r);
		errno = rc;
		return NULL;
	}
	log_info("-", "retention", "started keep=%lds every=%lds", r->retention_s,
	    r->interval_s);
	return r;
}

void
retention_stop(struct retention *r)
{
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = 1;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->thread, NULL);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r->spool_dir);
	free(r);
}
