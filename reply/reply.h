/*
 * reply.h - what happens to a verified message: the report is rendered,
 * the reply policy decides whether and to whom it goes (RFC 3834, rate
 * limits), and the report is queued durably for delivery by the delivery
 * threads (MX or relay, STARTTLS, retries with back-off).
 *
 * Entry points:
 *   reply_ctx_new()   at start-up, before privileges are dropped (reads the
 *                     report-signing key)
 *   reply_process()   on a worker thread, after verify_run(); returns 0 once
 *                     the outcome is durable (report queued, or suppressed
 *                     and recorded with its reason) - only then may the
 *                     caller remove the message from the spool.  Idempotent
 *                     per message id: processing the same id again after a
 *                     crash neither loses nor duplicates the report.
 *                     -1 on a resource failure: the caller retries later.
 *   reply_start()     starts the delivery threads; reply_stop() joins them.
 * Ownership: nothing passed in is kept.
 */
#ifndef MT_REPLY_H
#define MT_REPLY_H

#include <stddef.h>

#include "../common/config.h"
#include "../common/spool.h"
#include "../verify/verify.h"

struct dns_resolver;
struct reply_ctx;

struct reply_ctx *reply_ctx_new(const struct config *, struct dns_resolver *,
	    char *err, size_t errlen);
void	 reply_ctx_free(struct reply_ctx *);
int	 reply_process(struct reply_ctx *, const struct spool_env *, const char *msg,
	    size_t msglen, const struct verify_result *);
int	 reply_start(struct reply_ctx *);
void	 reply_stop(struct reply_ctx *);

#endif
