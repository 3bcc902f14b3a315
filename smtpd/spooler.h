/*
 * spooler.h - the spool writer: a thread that makes accepted messages
 * durable off the event loop.  The loop submits a job at the end of DATA;
 * the writer takes every job waiting (a group commit: each file written and
 * fsync'd, all renamed, incoming/ fsync'd once), hands each durable id to
 * the workers, and passes the jobs back to the loop with event_active(),
 * where the done callback finds the session by its key and answers 250 (or
 * 451 when the commit failed).
 *
 * Entry points: spooler_new(), spooler_start(), spooler_submit() (loop
 * thread), spooler_stop() (commits what was submitted, then joins),
 * spooler_free(), spooler_job_free().
 * Ownership: a submitted job belongs to the spooler until the done callback,
 * which must spooler_job_free() it.  Jobs never completed on the loop
 * (shut down first) are freed by spooler_free().
 * Errors: spooler_start() returns -1 (thread creation); a commit failure is
 * rc = -1 with err in the job.
 */
#ifndef MT_SPOOLER_H
#define MT_SPOOLER_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "../common/spool.h"

/* at most this many messages in one group commit */
#define SPOOLER_MAX_BATCH	64

struct workers;

struct spooler_job {
	uint64_t	 session;	/* key of the waiting session */
	char		 session_id[ID_LEN + 1];	/* for the log */
	struct spool_env env;		/* strings owned by the job */
	char		*msg;		/* owned */
	size_t		 len;
	size_t		 mem;		/* octets counted against smtp_data_memory */
	size_t		 size;		/* message size as the client sent it */
	int		 rc;		/* 0 = durable */
	char		 err[160];
	struct spooler_job *next;
};

typedef void spooler_done_fn(struct spooler_job *, void *arg);

struct spooler *spooler_new(struct spool *spool, struct workers *w,
	    struct event_base *base, spooler_done_fn *done, void *arg);
int	 spooler_start(struct spooler *);
void	 spooler_submit(struct spooler *, struct spooler_job *);
void	 spooler_stop(struct spooler *);
void	 spooler_free(struct spooler *);
void	 spooler_job_free(struct spooler_job *);

#endif
