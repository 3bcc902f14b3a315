/*
 * record.h - what happened to each verified message, kept so that the
 * report stays available whether or not it was mailed: the JSON report
 * plus a "reply" member {status, reason, detail, to, chosen_by, at}, the
 * tested message's header block, and the delivery state of the reply.
 *
 * This is the one place that records outcomes.  They go to the report
 * store (common/store.h: SQLite SPOOL/reports.db by default, or the
 * `store` of the configuration); no JSON file is written any more.
 * record_open() opens the configured store for a spool directory (once
 * per process and spool: later calls share it, counted) and record_close()
 * lets it go; the other functions find the store by the spool directory,
 * so their callers did not change when the files became a database.
 *
 * Entry points: record_open(), record_close(), record_store(),
 * record_outcome() (idempotent per id: a second outcome for an id changes
 * nothing), record_exists(), record_load(), record_delivery().
 * Errors: -1 with err set.  Ownership: record_load() returns a jansson
 * object the caller json_decref()s; record_store() is borrowed until
 * record_close().
 */
#ifndef MT_RECORD_H
#define MT_RECORD_H

#include <jansson.h>
#include <stddef.h>

#include "../common/config.h"

#define RECORD_MAX_STORES	8	/* spool directories open at once */
#define RECORD_MAX_SUBJECT	300	/* bytes of the Subject kept for lists */

struct store;

struct record_outcome {
	const char	*status;	/* "queued", "suppressed" */
	const char	*reason;	/* rule word when suppressed (policy.h, ratelimit.h) */
	const char	*detail;	/* in words */
	const char	*to;		/* recipient, when queued */
	const char	*chosen_by;	/* "mail-from", "from", "reply-to" */
	const char	*at;		/* RFC 3339 time of the decision */
	const char	*headers;	/* the tested message's header block (bytes) */
	size_t		 headers_len;
};

/* flags: STORE_NOCREATE (store.h) for commands that only read */
int	 record_open(const struct config *, int flags, char *err, size_t errlen);
void	 record_close(const char *spool_dir);
struct store *record_store(const char *spool_dir);

/* report: the JSON report object (not consumed). */
int	 record_outcome(const char *spool_dir, const char *id, json_t *report,
	    const struct record_outcome *, char *err, size_t errlen);
int	 record_exists(const char *spool_dir, const char *id);
/* The report with "reply" and reply.delivery {state, detail, attempts, updated};
 * -1 with errno ENOENT when there is no such report. */
int	 record_load(const char *spool_dir, const char *id, json_t **out, char *err,
	    size_t errlen);
/* The delivery threads: state is STORE_DELIVERED, _DEFERRED or _GAVE_UP. */
int	 record_delivery(const char *spool_dir, const char *id, const char *state,
	    const char *detail, int attempts);

/* The JSON report as the store keeps it, turned into a row (record.c). */
struct store_row;
void	 record_row_from_report(struct store_row *, const char *id, json_t *report);
void	 record_row_clear(struct store_row *);

#endif
