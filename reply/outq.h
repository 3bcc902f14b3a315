/*
 * outq.h - the durable outbound queue: one file per report under
 * SPOOL/outbound/, named by the tested message's id.
 *
 * File format (like the spool's): a "MAILTEST-OUTBOUND 1" line,
 * "key: value" lines (id, rcpt, created, attempts, next-try, last-error;
 * values never contain CR or LF), an empty line, the report message
 * (CRLF, signed).  The state lives in the file, so it survives restarts.
 *
 * Durability: every write is tmp file -> fsync -> rename -> fsync(dir).
 * A new entry is first written as ID.new (ignored by the delivery
 * threads) and renamed to ID once the outcome is recorded
 * (outq_promote()); see reply.c for why.
 *
 * Concurrency between threads and processes (daemon, `mailtest flush`):
 * whoever changes or removes ID holds flock(LOCK_EX) on the file, and
 * checks after locking that the file it holds is still the one named ID
 * (a rename replaces the inode).  outq_lock() does both.
 *
 * Entry points: outq_write(), outq_promote(), outq_read(), outq_list(),
 * outq_lock(), outq_update_locked(), outq_remove_locked(), outq_entry_free().
 * Errors: -1 with err set (errno kept); outq_lock() returns -1 with errno
 * ENOENT when the entry is gone.
 * Ownership: outq_read() fills an entry the caller frees with
 * outq_entry_free(); outq_list() returns an array of ids to free with
 * outq_list_free().
 */
#ifndef MT_OUTQ_H
#define MT_OUTQ_H

#include <stddef.h>
#include <time.h>

#include "../common/util.h"

#define OUTQ_MAGIC		"MAILTEST-OUTBOUND 1"
#define OUTQ_MAX_FILE		(32L * 1024 * 1024)
#define OUTQ_MAX_ERROR		400	/* bytes of last-error kept */
#define OUTQ_MAX_ENTRIES	100000	/* listed at most */

struct outq_entry {
	char	 id[ID_LEN + 1];
	char	*rcpt;		/* owned */
	time_t	 created;
	int	 attempts;
	time_t	 next_try;
	char	*last_error;	/* owned; NULL if none */
	char	*msg;		/* owned; NULL when read without the body */
	size_t	 msglen;
};

/* suffix "" (the live entry) or ".new" (not yet handed to delivery) */
int	 outq_write(const char *dir, const struct outq_entry *, const char *suffix,
	    char *err, size_t errlen);
int	 outq_promote(const char *dir, const char *id, char *err, size_t errlen);
int	 outq_read(const char *path, struct outq_entry *, int with_body, char *err,
	    size_t errlen);
int	 outq_read_fd(int fd, struct outq_entry *, int with_body, char *err, size_t errlen);
int	 outq_list(const char *dir, char ***ids, size_t *n);
void	 outq_list_free(char **ids, size_t n);
int	 outq_lock(const char *dir, const char *id, int wait);
int	 outq_update_locked(const char *dir, int fd, const struct outq_entry *,
	    char *err, size_t errlen);
int	 outq_remove_locked(const char *dir, const char *id, int fd);
void	 outq_entry_free(struct outq_entry *);
/* Back-off after `attempts` failures: retry_min doubled each time, at most retry_max. */
long	 outq_backoff(long retry_min, long retry_max, int attempts);

#endif
