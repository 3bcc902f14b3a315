/*
 * store.h - the report store: one row per processed message (its JSON
 * report, envelope, verdicts, original header block, the delivery state of
 * its reply, creation time and tag), behind one interface with two
 * backends:
 *
 *   sqlite:PATH           (store_sqlite.c) the embedded default; "" means
 *                         sqlite:SPOOL/reports.db.  One file, WAL mode,
 *                         synchronous=FULL (a commit is on disk before
 *                         store_put() returns), busy timeout.
 *   postgresql:CONNINFO   (store_pg.c) libpq; several mailtestd instances
 *                         behind the same MX share one store.  New reports
 *                         are announced with NOTIFY mailtest_reports.
 *
 * Threads: a store is shared by every thread of the process.  It holds a
 * pool of at most STORE_CONNS connections, each used by one thread at a
 * time (a thread takes a free one, waiting when all are busy, and gives it
 * back after the call): SQLite connections are opened with
 * SQLITE_OPEN_NOMUTEX because the pool serialises each one; libpq
 * connections are never shared between threads while in use.  Connections
 * are opened lazily, so a store opened before fork()/setuid() opens its
 * working connections in the process and as the user that uses them;
 * store_open() itself only checks the backend and creates the schema
 * (with a connection it closes again).  Every value goes to the database
 * as a bound parameter of a prepared statement; the few statements with
 * optional filters are assembled from constant fragments.
 *
 * Entry points: store_open(), store_close(), store_put() (idempotent per
 * id: a second put of the same id changes nothing and returns 0),
 * store_exists(), store_get(), store_set_delivery(), store_list(),
 * store_prune(), store_pruner_start()/store_pruner_stop() (a thread that
 * prunes every STORE_PRUNE_EVERY seconds), store_subscribe() (called after
 * every put by this process and, for PostgreSQL, by any instance).
 * Errors: -1 with err set ("what: why"); store_get() returns 1 when the id
 * is not there.  Ownership: rows filled by store_get()/store_list() are
 * freed with store_row_free()/store_rows_free(); strings in a row given to
 * store_put() are borrowed.
 */
#ifndef MT_STORE_H
#define MT_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define STORE_CONNS		4	/* connections per process */
#define STORE_TAG_MAX		64	/* smtpd accepts 32 */
#define STORE_BUSY_MS		10000	/* SQLite busy timeout */
#define STORE_PRUNE_EVERY	3600	/* seconds between prunes */
#define STORE_PRUNE_BATCH	1000	/* rows deleted per transaction */
#define STORE_LIST_MAX		500
#define STORE_MAX_VERDICTS	5	/* verdict filters in one query */
#define STORE_NOTIFY_CHANNEL	"mailtest_reports"

/* The delivery states of a report's reply. */
#define STORE_QUEUED		"queued"
#define STORE_SUPPRESSED	"suppressed"
#define STORE_DELIVERED		"delivered"
#define STORE_DEFERRED		"deferred"
#define STORE_GAVE_UP		"gave-up"

/* The verdict columns, in this order everywhere. */
enum store_mech { STORE_SPF, STORE_DKIM, STORE_DMARC, STORE_ADSP, STORE_IPREV,
	STORE_NMECH };

struct store_row {
	char		 id[16];
	int64_t		 created;	/* epoch seconds (the daemon: when the message was received); 0 in a put = now */
	char		*tag;		/* NULL = none */
	char		*tag_base;	/* tag up to its first '.' (check+ci-42.from) */
	char		*client_ip;
	char		*helo;
	char		*mail_from;
	char		*sender_domain;	/* domain of MAIL FROM, lower case */
	char		*from_domain;	/* domain of From:, lower case */
	char		*subject;
	char		*verdict[STORE_NMECH];	/* result words */
	char		*reply_state;	/* STORE_QUEUED ... */
	char		*reply_detail;	/* suppression reason, last error, ... */
	int		 reply_attempts;
	int64_t		 reply_updated;
	char		*report;	/* JSON text (store_list() leaves it NULL) */
	char		*headers;	/* the header block, bytes (may hold 8-bit) */
	size_t		 headers_len;
};

/* A list query; NULL / 0 fields do not filter. */
struct store_query {
	const char	*tag;		/* matches tag or tag_base */
	const char	*domain;	/* sender_domain or from_domain */
	int64_t		 since;		/* created >= since (when > 0) */
	int64_t		 until;		/* created < until (when > 0) */
	struct {
		enum store_mech	 mech;
		const char	*word;
	}		 verdict[STORE_MAX_VERDICTS];
	size_t		 nverdict;
	size_t		 limit;		/* 1..STORE_LIST_MAX */
	size_t		 offset;
};

struct store;

/* flags */
#define STORE_NOCREATE	0x1	/* SQLite: the file must exist (CLI reads) */

struct store *store_open(const char *spec, const char *spool_dir, const char *user,
	    int flags, char *err, size_t errlen);
void	 store_close(struct store *);
const char *store_kind(const struct store *);	/* "sqlite" | "postgresql" */
const char *store_where(const struct store *);	/* path, or host/db for logs */

int	 store_put(struct store *, const struct store_row *, char *err, size_t errlen);
/* 1 there, 0 not there, -1 error */
int	 store_exists(struct store *, const char *id, char *err, size_t errlen);
int	 store_get(struct store *, const char *id, struct store_row *, char *err,
	    size_t errlen);
/* 1 when the id is not there */
int	 store_set_delivery(struct store *, const char *id, const char *state,
	    const char *detail, int attempts, char *err, size_t errlen);
/* Newest first (created, then id, then order of insertion); *more set when rows follow. */
int	 store_list(struct store *, const struct store_query *, struct store_row **rows,
	    size_t *n, int *more, char *err, size_t errlen);
int	 store_prune(struct store *, int64_t before, size_t *removed, char *err,
	    size_t errlen);
int	 store_pruner_start(struct store *, long retention_s);
void	 store_pruner_stop(struct store *);

/*
 * cb(arg, tag) runs on the putting thread (or the PostgreSQL listener
 * thread) after a report was stored; tag may be NULL.  It must not block.
 * At most one subscriber.  For PostgreSQL it also starts the LISTEN thread.
 */
int	 store_subscribe(struct store *, void (*cb)(void *, const char *), void *arg);

void	 store_row_free(struct store_row *);
void	 store_rows_free(struct store_row *, size_t);

const char *store_mech_name(enum store_mech);
int	 store_mech_from_name(const char *, enum store_mech *);
/* The result words of mech, NULL-terminated (RFC 8601 / RFC 5617 names). */
const char *const *store_mech_words(enum store_mech);
/* Is word a result word of mech? */
int	 store_word_valid(enum store_mech, const char *word);
int	 store_tag_valid(const char *);

#endif
