/*
 * ratelimit.h - anti-reflection: at most N reports per hour (a sliding
 * window of 3600 s) to one recipient address, to one recipient domain, and
 * about messages from one client IP (config rate_per_address,
 * rate_per_domain, rate_per_ip; 0 = unlimited).
 *
 * rate_take() checks all three and, only when all allow it, counts the
 * reply against each: a suppressed reply costs nothing.  The counts
 * survive a restart: each counted reply is appended to a log file
 * (SPOOL/ratelimit.log, "EPOCH ADDRESS DOMAIN IP" lines, no fsync: losing
 * the last lines in a crash only forgets a few replies), which
 * rate_open() replays and compacts.
 *
 * Memory is bounded: at most RATE_MAX_KEYS keys, each holding at most its
 * limit of timestamps; when the table is full of keys active in the last
 * hour, new keys are refused (the reply is suppressed) rather than
 * forgetting counts.  Thread-safe (one mutex).
 *
 * Entry points: rate_open(), rate_take(), rate_close().  Errors: rate_open()
 * returns NULL with err when the log cannot be opened.
 */
#ifndef MT_RATELIMIT_H
#define MT_RATELIMIT_H

#include <stddef.h>
#include <time.h>

#define RATE_WINDOW	3600	/* seconds */
#define RATE_MAX_KEYS	100000

enum rate_verdict {
	RATE_OK = 0,
	RATE_ADDRESS,		/* rate_per_address reached */
	RATE_DOMAIN,
	RATE_IP,
	RATE_FULL		/* too many keys to track */
};

struct rate;

/* log_path NULL: no persistence (tests of the arithmetic). */
struct rate *rate_open(const char *log_path, long per_address, long per_domain,
	    long per_ip, time_t now, char *err, size_t errlen);
enum rate_verdict rate_take(struct rate *, const char *address, const char *domain,
	    const char *ip, time_t now);
void	 rate_close(struct rate *);
const char *rate_verdict_name(enum rate_verdict);

#endif
