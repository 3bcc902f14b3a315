/*
 * deliver.h - the delivery threads: they take due entries from the
 * outbound queue (outq.h) and hand them to smtpc, directly to the
 * recipient domain's MX hosts or through the configured relay.
 *
 * Routing (direct): MX lookup through the common DNS layer; hosts in
 * preference order (shuffled within one preference, RFC 5321 5.1); no MX
 * (NODATA) -> the domain's own A/AAAA (implicit MX); a null MX "."
 * (RFC 7505) or NXDOMAIN -> give up; DNS trouble -> retry later.  At most
 * DELIVER_MAX_ADDRS addresses are tried per attempt.
 *
 * Outcome of an attempt: 250 after the data -> the queue file is removed
 * and the directory fsync'd at once (exactly once where the peer accepted
 * it); a 5xx for the message, a null MX, an unknown domain -> given up
 * (removed, logged); anything else -> attempts+1, next try after the
 * back-off (retry_min doubling up to retry_max), given up when the entry
 * is older than queue_lifetime.  Every step is logged with the queue id.
 *
 * `mailtest flush` (another process) sets next-try to now in each file,
 * then creates SPOOL/outbound/.flush; the threads look for it every
 * second, re-read the queue directory and remove it.
 *
 * deliver_stop() waits for the attempts in flight: every SMTP step is
 * bounded by delivery_timeout, and a stopping thread tries no further
 * hosts.  An attempt cut short is simply tried again after the restart.
 *
 * Entry points: deliver_new(), deliver_start(), deliver_notify(),
 * deliver_pending(), deliver_stop(), deliver_free().  The resolver is
 * borrowed (it must outlive the struct).  Errors: deliver_new() returns
 * NULL with err (bad relay, unreadable password file).
 */
#ifndef MT_DELIVER_H
#define MT_DELIVER_H

#include <stddef.h>

#include "../common/config.h"

#define DELIVER_MAX_ADDRS	10	/* addresses tried per attempt (cf. Postfix 5) */
#define DELIVER_MAX_MX		20	/* MX hosts considered */
#define DELIVER_FLUSH_FILE	".flush"
#define DELIVER_RESCAN_S	60	/* full re-read of the queue directory */

struct dns_resolver;
struct deliver;

struct deliver *deliver_new(const struct config *, struct dns_resolver *,
	    const char *helo_name, char *err, size_t errlen);
int	 deliver_start(struct deliver *);
/* An entry was promoted into the queue: deliver it now. */
void	 deliver_notify(struct deliver *, const char *id);
/* Entries known to the threads (queued or being tried). */
size_t	 deliver_pending(struct deliver *);
/* Entries due now or being tried (0: only deferred ones, if any, remain). */
size_t	 deliver_due(struct deliver *);
void	 deliver_stop(struct deliver *);
void	 deliver_free(struct deliver *);

#endif
