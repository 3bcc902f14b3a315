/*
 * workers.h - the worker pool: threads that take spooled messages, run
 * verify_run() on them (one verify_ctx per thread, one shared DNS resolver)
 * and hand the result to reply_process().  Only when reply_process()
 * returned 0 is the message removed from the spool; a failure is retried
 * with back-off (1 s doubling to 5 min).  An id is queued at most once and
 * is never processed by two workers at the same time.
 *
 * At start-up main() submits every id found in incoming/ (messages whose
 * processing did not finish before a crash or a stop).  At stop, workers
 * finish the message they hold; the rest stays on disk for the next start.
 *
 * Entry points: workers_new(), workers_start(), workers_submit() (any
 * thread), workers_stop(), workers_free().
 * Ownership: nothing submitted is kept but the id; the spool, resolver and
 * reply context are the caller's and must outlive workers_stop().
 * Errors: workers_start() returns -1 with err (verify context, thread).
 * Logs: "ID worker processed ..." once reply_process() returned 0, then
 * "ID worker removed".
 */
#ifndef MT_WORKERS_H
#define MT_WORKERS_H

#include <stddef.h>

#include "../common/config.h"
#include "../common/spool.h"

struct dns_resolver;
struct reply_ctx;
struct workers;

struct workers *workers_new(const struct config *, struct spool *, struct dns_resolver *,
	    struct reply_ctx *);
int	 workers_start(struct workers *, char *err, size_t errlen);
void	 workers_submit(struct workers *, const char *id);
void	 workers_stop(struct workers *);
void	 workers_free(struct workers *);

#endif
