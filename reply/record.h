/*
 * record.h - what happened to each verified message, kept so that the
 * report stays available whether or not it was mailed: the JSON report
 * plus a "reply" member {status, reason, detail, to, chosen_by, at}.
 *
 * This is the one place that records outcomes.  For now the store is
 * files: SPOOL/reports/ID.json, written tmp -> fsync -> rename -> fsync
 * dir.  A database store (SQLite/PostgreSQL) replaces the bodies of these
 * functions later; callers do not change.
 *
 * Entry points: record_outcome(), record_exists(), record_load().
 * Errors: -1 with err set.  Ownership: record_load() returns a jansson
 * object the caller json_decref()s.
 */
#ifndef MT_RECORD_H
#define MT_RECORD_H

#include <jansson.h>
#include <stddef.h>

#define RECORD_MAX_FILE	(16L * 1024 * 1024)

struct record_outcome {
	const char	*status;	/* "queued", "suppressed" */
	const char	*reason;	/* rule word when suppressed (policy.h, ratelimit.h) */
	const char	*detail;	/* in words */
	const char	*to;		/* recipient, when queued */
	const char	*chosen_by;	/* "mail-from", "from", "reply-to" */
	const char	*at;		/* RFC 3339 time of the decision */
};

/* report: the JSON report object (not consumed). */
int	 record_outcome(const char *spool_dir, const char *id, json_t *report,
	    const struct record_outcome *, char *err, size_t errlen);
int	 record_exists(const char *spool_dir, const char *id);
int	 record_load(const char *spool_dir, const char *id, json_t **out, char *err,
	    size_t errlen);

#endif
