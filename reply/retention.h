/*
 * retention.h - stored reports are kept for report_retention, then removed.
 *
 * retention_prune() is the one place that knows where reports are kept:
 * today SPOOL/reports/ID.json (record.h), removed when the file's mtime -
 * the time the outcome was recorded; a record is written once - is older
 * than now - report_retention (left-over .ID.tmp files too).  The report
 * store (SQLite/PostgreSQL) replaces the body of retention_prune() with
 * its own delete; the thread around it stays.
 *
 * retention_start() runs retention_prune() on a thread of its own (disk
 * work never runs on the event loop): once at start-up, then every
 * report_retention/60 seconds, at least every second and at most every
 * RETENTION_MAX_INTERVAL_S.  retention_stop() wakes and joins it.
 *
 * Entry points: retention_prune(), retention_start(), retention_stop().
 * Errors: retention_prune() returns -1 (errno set) when the directory
 * cannot be read; a file that cannot be removed is logged and skipped.
 * retention_start() returns NULL when the thread cannot be created.
 * Ownership: the struct retention is freed by retention_stop().
 */
#ifndef MT_RETENTION_H
#define MT_RETENTION_H

#include <stddef.h>
#include <time.h>

#define RETENTION_MAX_INTERVAL_S	3600

struct retention;

/* Returns the number of reports removed, or -1. */
long	 retention_prune(const char *spool_dir, long retention_s, time_t now);
struct retention *retention_start(const char *spool_dir, long retention_s);
void	 retention_stop(struct retention *);

#endif
