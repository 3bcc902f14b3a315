/*
 * store_impl.h - what store.c (the pool, the pruner, the notifications,
 * the query builder) and the backends (store_sqlite.c, store_pg.c) share.
 * Not for other modules: they use store.h.
 *
 * A backend gives a table of operations on one connection; store.c hands
 * each connection to one thread at a time.  After an operation fails,
 * store.c asks broken(): a broken connection is closed and its slot opened
 * again on next use (a restarted PostgreSQL server is reconnected).
 */
#ifndef MT_STORE_IMPL_H
#define MT_STORE_IMPL_H

#include <pthread.h>

#include "util.h"

#include "store.h"

/* Columns in the order every statement reads and writes them. */
#define STORE_COLS_SUMMARY \
	"id, created, tag, tag_base, client_ip, helo, mail_from, sender_domain, " \
	"from_domain, subject, spf, dkim, dmarc, adsp, iprev, reply_state, " \
	"reply_detail, reply_attempts, reply_updated"
#define STORE_NCOLS_SUMMARY	19
#define STORE_COLS_ALL		STORE_COLS_SUMMARY ", report, headers"
#define STORE_NCOLS_ALL		21
#define STORE_SCHEMA_VERSION	1
/* The indexes, the same in both backends (after their CREATE TABLE). */
#define STORE_INDEX_SQL \
	"CREATE INDEX IF NOT EXISTS mailtest_reports_created ON mailtest_reports (created);" \
	"CREATE INDEX IF NOT EXISTS mailtest_reports_tag ON mailtest_reports (tag, created);" \
	"CREATE INDEX IF NOT EXISTS mailtest_reports_tag_base ON mailtest_reports " \
	" (tag_base, created);" \
	"CREATE INDEX IF NOT EXISTS mailtest_reports_sender ON mailtest_reports " \
	" (sender_domain, created);" \
	"CREATE INDEX IF NOT EXISTS mailtest_reports_from ON mailtest_reports " \
	" (from_domain, created);"

struct store_conn;

/* A parameter of an assembled query. */
struct store_param {
	int		 is_int;
	const char	*s;
	int64_t		 i;
};

#define STORE_MAX_PARAMS	16

struct store_sql {
	struct sbuf	 sql;
	struct store_param p[STORE_MAX_PARAMS];
	size_t		 np;
};

struct store_ops {
	const char	*kind;
	struct store_conn *(*connect)(struct store *, char *err, size_t errlen);
	void		(*disconnect)(struct store_conn *);
	int		(*broken)(struct store_conn *);
	int		(*schema)(struct store_conn *, char *err, size_t errlen);
	int		(*put)(struct store_conn *, const struct store_row *, char *err,
			    size_t errlen);
	int		(*exists)(struct store_conn *, const char *id, char *err,
			    size_t errlen);
	int		(*get)(struct store_conn *, const char *id, struct store_row *,
			    char *err, size_t errlen);
	int		(*set_delivery)(struct store_conn *, const char *id,
			    const char *state, const char *detail, int attempts,
			    int64_t now, char *err, size_t errlen);
	/* rows: the summary columns; sql built by store_list_sql() */
	int		(*list)(struct store_conn *, const struct store_sql *,
			    struct store_row **, size_t *, char *err, size_t errlen);
	int		(*prune)(struct store_conn *, int64_t before, size_t *removed,
			    char *err, size_t errlen);
	/* PostgreSQL: the LISTEN thread (NULL for SQLite) */
	int		(*listen_start)(struct store *);
	void		(*listen_stop)(struct store *);
};

struct store {
	const struct store_ops *ops;
	char		*target;	/* owned: SQLite path or libpq conninfo */
	char		*label;		/* owned: for logs (no password) */
	char		 nonce[16];	/* this process's NOTIFY payload prefix */
	pthread_mutex_t	 mu;		/* the pool */
	pthread_cond_t	 cv;
	struct store_conn *conn[STORE_CONNS];	/* owned; NULL = not opened yet */
	int		 busy[STORE_CONNS];
	/* the subscriber */
	pthread_mutex_t	 sub_mu;
	void		(*sub_cb)(void *, const char *);
	void		*sub_arg;
	/* the pruner thread */
	pthread_t	 pruner;
	int		 pruner_on, pruner_stop;
	long		 retention;
	pthread_cond_t	 pruner_cv;
	/* backend state beyond connections (the PostgreSQL listener) */
	void		*priv;		/* owned by the backend */
};

extern const struct store_ops store_sqlite_ops;
extern const struct store_ops store_pg_ops;

/* SQLite: the file must exist with STORE_NOCREATE; files go to user when root. */
int	 store_sqlite_check(struct store *, int flags, char *err, size_t errlen);
void	 store_sqlite_chown(struct store *, const char *user);
/* Tell the subscriber (any thread). */
void	 store_notify(struct store *, const char *tag);
/* The list query, with '?' (SQLite) or '$' (PostgreSQL) placeholders. */
void	 store_list_sql(struct store_sql *, const struct store_query *, char style);
void	 store_sql_free(struct store_sql *);
/* Text of a result word column, NULL-safe copy. */
char	*store_dup(const char *);

#endif
