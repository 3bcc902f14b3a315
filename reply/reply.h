/*
 * reply.h - what happens to a verified message: the report is rendered,
 * the reply policy decides whether and to whom it goes (RFC 3834, rate
 * limits), and the report is queued durably for delivery by the delivery
 * threads (MX or relay, STARTTLS, retries with back-off).
 *
 * Entry points:
 *   reply_ctx_new()   at start-up, before privileges are dropped
 *   reply_signer_start()  then, before the drop and before any thread: forks
 *                     the process that holds the report-signing key
 *                     (signer.h); this process never reads the key
 *   reply_process()   on a worker thread, after verify_run(); returns 0 once
 *                     the outcome is durable (report queued, or suppressed
 *                     and recorded with its reason) - only then may the
 *                     caller remove the message from the spool.  Idempotent
 *                     per message id: processing the same id again after a
 *                     crash neither loses nor duplicates the report.
 *                     -1 on a resource failure: the caller retries later.
 *   reply_start()     starts the delivery threads; reply_stop() joins them.
 *   reply_pending()   reports known to the delivery threads (queued or being
 *                     sent); reply_due() those due now or being sent
 *   reply_report_from(), reply_sign_domain()   the report's From: address
 *                     and signing domain as the config gives them
 * Ownership: nothing passed in is kept, except the DNS resolver, which the
 * delivery threads use (it must outlive the context).
 *
 * Modules: policy.h (never-reply rules, recipient), ratelimit.h, mime.h
 * (composition), dkimsign.h (signing), outq.h (queue files), deliver.h
 * (threads, routing), smtpc.h (SMTP client), record.h (the outcome).
 */
#ifndef MT_REPLY_H
#define MT_REPLY_H

#include <stddef.h>

#include "../common/config.h"
#include "../common/spool.h"
#include "../verify/verify.h"

struct dns_resolver;
struct reply_ctx;
struct signer_user;

struct reply_ctx *reply_ctx_new(const struct config *, struct dns_resolver *,
	    char *err, size_t errlen);
void	 reply_ctx_free(struct reply_ctx *);
int	 reply_signer_start(struct reply_ctx *, const struct config *,
	    const struct signer_user *, char *err, size_t errlen);
int	 reply_process(struct reply_ctx *, const struct spool_env *, const char *msg,
	    size_t msglen, const struct verify_result *);
int	 reply_start(struct reply_ctx *);
void	 reply_stop(struct reply_ctx *);
size_t	 reply_pending(struct reply_ctx *);
size_t	 reply_due(struct reply_ctx *);
void	 reply_report_from(const struct config *, char *buf, size_t n);
void	 reply_sign_domain(const struct config *, char *buf, size_t n);

#endif
