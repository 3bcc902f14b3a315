/*
 * policy.h - whether a report may be sent, and to whom: the never-reply
 * rules (RFC 3834 2 and 5, RFC 5321 4.5.5, RFC 5230 4.6), loop detection,
 * the address tag that picks the recipient, and the optional
 * "authenticated" policy.  Rate limits are separate (ratelimit.h): they
 * apply after these rules, to replies that would be sent.
 *
 * Rules, in order (the first that matches suppresses the reply):
 *   disabled          config reply = no
 *   null-sender       MAIL FROM:<> (RFC 3834 2, RFC 5321 4.5.5)
 *   unparsable        the header cannot be parsed: the rules below
 *                     cannot be checked, so nothing is sent
 *   auto-submitted    Auto-Submitted: anything but "no" (RFC 3834 5)
 *   mailing-list      List-Id or List-Post present (RFC 2919, RFC 2369)
 *   precedence        Precedence: bulk, list or junk (RFC 3834 2)
 *   loop              our own X-Mailtest-Loop field, or more Received:
 *                     fields than smtp_received_limit
 *   automatic-sender  MAIL FROM or the recipient is MAILER-DAEMON,
 *                     postmaster, LISTSERV, majordomo, owner-* or *-request
 *                     (RFC 5230 4.6 heuristics)
 *   tag-no-address    the tag asked for From:/Reply-To: and there is none
 *   bad-recipient     the address cannot be used in RCPT TO (not ASCII,
 *                     quoted local part, domain not a host name)
 *   self              the recipient is report_from or a check address
 *   unauthenticated   reply_policy authenticated, and neither SPF passed
 *                     for nor a passing DKIM signature was made by the
 *                     recipient's domain (or a parent or child of it)
 * "noreply"-style addresses are NOT suppressed: they are not automatic
 * responders (no loop), and QA systems often send as noreply@.
 *
 * Tags (check+TAG@): the tag is split on '.'; a part "from" or "replyto"
 * (listed in reply_tags) sends the report to the From: address, or to the
 * Reply-To: address (From: when there is none).  Other parts (a CI job id)
 * change nothing.
 *
 * Entry point: policy_decide().  No allocation survives the call; errors
 * are decisions.
 */
#ifndef MT_POLICY_H
#define MT_POLICY_H

#include <stddef.h>

#include "../common/config.h"
#include "../common/spool.h"
#include "../verify/verify.h"

#define POLICY_MAX_ADDR		320	/* RFC 5321 4.5.3.1.1/2: 64 + 1 + 255 */

struct policy_input {
	const struct config	*cf;		/* reply, reply_tags, reply_policy,
						 * smtp_received_limit, check_address,
						 * tag_separator */
	const char		*report_from;	/* our From: address */
	const struct spool_env	*env;
	const char		*msg;
	size_t			 msglen;
	const struct verify_result *res;
};

struct policy_decision {
	int	 send;			/* 1: send to rcpt; 0: suppressed */
	char	 reason[32];		/* rule word above, "" when sending */
	char	 detail[256];		/* the same in words (values sanitised) */
	char	 rcpt[POLICY_MAX_ADDR + 1];	/* the recipient chosen */
	char	 rcpt_domain[256];
	char	 chosen_by[16];		/* "mail-from", "from", "reply-to" */
};

void	 policy_decide(const struct policy_input *, struct policy_decision *);
/* For the tests and the daemon's logs: is this local part an automatic sender? */
int	 policy_automatic_local(const char *local);
/* Usable in RCPT TO:<...>?  Fills domain (lower case). */
int	 policy_address_ok(const char *addr, char *domain, size_t n);

#endif
