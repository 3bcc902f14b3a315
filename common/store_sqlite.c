/*
 * store_sqlite.c - the SQLite backend of the report store (see store.h).
 *
 * One database file in WAL mode (readers never wait for the writer) with
 * synchronous=FULL: in WAL mode NORMAL may lose the last commits on power
 * loss, and reply_process() removes the message from the spool once its
 * report is recorded, so a commit must be durable when it returns.  Each
 * connection waits up to STORE_BUSY_MS for a lock (busy timeout) and keeps
 * its fixed statements prepared (SQLITE_PREPARE_PERSISTENT).  Connections
 * are opened with SQLITE_OPEN_NOMUTEX: store.c's pool gives each to one
 * thread at a time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <unistd.h>

#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "store_impl.h"
#include "util.h"

enum stmt { ST_PUT, ST_EXISTS, ST_GET, ST_DELIVERY, ST_PRUNE, ST_N };

static const char *const stmt_sql[ST_N] = {
	[ST_PUT] = "INSERT INTO mailtest_reports (" STORE_COLS_ALL ") VALUES (?1, ?2, "
	    "?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
	    "?19, ?20, ?21) ON CONFLICT (id) DO NOTHING",
	[ST_EXISTS] = "SELECT 1 FROM mailtest_reports WHERE id = ?1",
	[ST_GET] = "SELECT " STORE_COLS_ALL " FROM mailtest_reports WHERE id = ?1",
	[ST_DELIVERY] = "UPDATE mailtest_reports SET reply_state = ?2, reply_detail = ?3, "
	    "reply_attempts = ?4, reply_updated = ?5 WHERE id = ?1",
	[ST_PRUNE] = "DELETE FROM mailtest_reports WHERE id IN (SELECT id FROM "
	    "mailtest_reports WHERE created < ?1 LIMIT ?2)",
};

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS mailtest_schema (version INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS mailtest_reports ("
	" id TEXT PRIMARY KEY, created INTEGER NOT NULL, tag TEXT, tag_base TEXT,"
	" client_ip TEXT, helo TEXT, mail_from TEXT, sender_domain TEXT,"
	" from_domain TEXT, subject TEXT, spf TEXT, dkim TEXT, dmarc TEXT, adsp TEXT,"
	" iprev TEXT, reply_state TEXT NOT NULL, reply_detail TEXT,"
	" reply_attempts INTEGER NOT NULL DEFAULT 0, reply_updated INTEGER NOT NULL,"
	" report TEXT NOT NULL, headers BLOB);"
	STORE_INDEX_SQL;

struct store_conn {
	sqlite3		*db;		/* owned */
	sqlite3_stmt	*st[ST_N];	/* owned; prepared on first use */
	int		 broken;
};

static void
sq_err(struct store_conn *c, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "sqlite %s: %s", what, sqlite3_errmsg(c->db));
	switch (sqlite3_errcode(c->db) & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_CONSTRAINT:
	case SQLITE_TOOBIG:
		break;
	default:		/* I/O, corruption, a replaced file: open again */
		c->broken = 1;
	}
}

int
store_sqlite_check(struct store *s, int flags, char *err, size_t errlen)
{
	if ((flags & STORE_NOCREATE) && access(s->target, F_OK) < 0) {
		snprintf(err, errlen, "%s: %s (no report has been stored there yet)",
		    s->target, strerror(errno));
		return -1;
	}
	return 0;
}

/* Started as root before the privilege drop: the files belong to user. */
void
store_sqlite_chown(struct store *s, const char *user)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	struct passwd *pw;

	if (geteuid() != 0 || user == NULL || *user == '\0')
		return;
	if ((pw = getpwnam(user)) == NULL)
		return;		/* mailtestd refuses to start then */
	for (size_t i = 0; i < ARRAY_SIZE(suffix); i++) {
		char *p = xasprintf("%s%s", s->target, suffix[i]);

		if (chown(p, pw->pw_uid, pw->pw_gid) < 0 && errno != ENOENT)
			log_warn(NULL, "store", "chown %s to %s: %s", p, user,
			    strerror(errno));
		free(p);
	}
}

static void
sq_disconnect(struct store_conn *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < ST_N; i++)
		sqlite3_finalize(c->st[i]);
	sqlite3_close(c->db);
	free(c);
}

static struct store_conn *
sq_connect(struct store *s, char *err, size_t errlen)
{
	struct store_conn *c = xcalloc(1, sizeof(*c));
	sqlite3_stmt *st = NULL;
	const char *mode;

	if (sqlite3_open_v2(s->target, &c->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "sqlite open %s: %s", s->target,
		    c->db ? sqlite3_errmsg(c->db) : "out of memory");
		goto out_fail;
	}
	sqlite3_busy_timeout(c->db, STORE_BUSY_MS);
	if (sqlite3_prepare_v2(c->db, "PRAGMA journal_mode=WAL", -1, &st, NULL) !=
	    SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
		snprintf(err, errlen, "sqlite %s: journal_mode=WAL: %s", s->target,
		    sqlite3_errmsg(c->db));
		goto out_fail;
	}
	mode = (const char *)sqlite3_column_text(st, 0);
	if (mode == NULL || strcmp(mode, "wal") != 0) {
		snprintf(err, errlen, "sqlite %s: WAL mode refused (journal_mode=%s)",
		    s->target, mode ? mode : "?");
		goto out_fail;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_exec(c->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "sqlite %s: synchronous=FULL: %s", s->target,
		    sqlite3_errmsg(c->db));
		goto out_fail;
	}
	return c;
out_fail:
	sqlite3_finalize(st);
	sq_disconnect(c);
	return NULL;
}

static int
sq_broken(struct store_conn *c)
{
	return c->broken;
}

static int
sq_schema(struct store_conn *c, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = -1, version = -1;

	if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		sq_err(c, "begin", err, errlen);
		return -1;
	}
	if (sqlite3_exec(c->db, schema_sql, NULL, NULL, NULL) != SQLITE_OK) {
		sq_err(c, "schema", err, errlen);
		goto out_rollback;
	}
	if (sqlite3_prepare_v2(c->db, "SELECT max(version) FROM mailtest_schema", -1, &st,
	    NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
		sq_err(c, "schema version", err, errlen);
		goto out_rollback;
	}
	if (sqlite3_column_type(st, 0) != SQLITE_NULL)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	if (version > STORE_SCHEMA_VERSION) {
		snprintf(err, errlen, "the store's schema (version %d) is newer than this "
		    "mailtest's (%d)", version, STORE_SCHEMA_VERSION);
		goto out_rollback;
	}
	if (version < 0 && sqlite3_exec(c->db, "INSERT INTO mailtest_schema VALUES (1)",
	    NULL, NULL, NULL) != SQLITE_OK) {
		sq_err(c, "schema version", err, errlen);
		goto out_rollback;
	}
	if (sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		sq_err(c, "commit", err, errlen);
		goto out_rollback;
	}
	return 0;
out_rollback:
	sqlite3_finalize(st);
	sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* The prepared statement, reset and ready for binding; NULL with err. */
static sqlite3_stmt *
stmt(struct store_conn *c, enum stmt which, char *err, size_t errlen)
{
	if (c->st[which] == NULL && sqlite3_prepare_v3(c->db, stmt_sql[which], -1,
	    SQLITE_PREPARE_PERSISTENT, &c->st[which], NULL) != SQLITE_OK) {
		sq_err(c, "prepare", err, errlen);
		return NULL;
	}
	return c->st[which];
}

static void
stmt_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

static void
bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

static int
sq_put(struct store_conn *c, const struct store_row *r, char *err, size_t errlen)
{
	sqlite3_stmt *st = stmt(c, ST_PUT, err, errlen);
	int rc;

	if (st == NULL)
		return -1;
	bind_text(st, 1, r->id);
	sqlite3_bind_int64(st, 2, r->created);
	bind_text(st, 3, r->tag);
	bind_text(st, 4, r->tag_base);
	bind_text(st, 5, r->client_ip);
	bind_text(st, 6, r->helo);
	bind_text(st, 7, r->mail_from);
	bind_text(st, 8, r->sender_domain);
	bind_text(st, 9, r->from_domain);
	bind_text(st, 10, r->subject);
	for (int i = 0; i < STORE_NMECH; i++)
		bind_text(st, 11 + i, r->verdict[i]);
	bind_text(st, 16, r->reply_state ? r->reply_state : STORE_QUEUED);
	bind_text(st, 17, r->reply_detail);
	sqlite3_bind_int(st, 18, r->reply_attempts);
	sqlite3_bind_int64(st, 19, r->reply_updated);
	bind_text(st, 20, r->report ? r->report : "{}");
	if (r->headers)
		sqlite3_bind_blob64(st, 21, r->headers, r->headers_len, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 21);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		sq_err(c, "insert", err, errlen);
	stmt_done(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
sq_exists(struct store_conn *c, const char *id, char *err, size_t errlen)
{
	sqlite3_stmt *st = stmt(c, ST_EXISTS, err, errlen);
	int rc;

	if (st == NULL)
		return -1;
	bind_text(st, 1, id);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		sq_err(c, "select", err, errlen);
	stmt_done(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static char *
col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? xstrdup((const char *)t) : NULL;
}

static void
row_summary(sqlite3_stmt *st, struct store_row *r)
{
	const unsigned char *id = sqlite3_column_text(st, 0);

	str_copy(r->id, id ? (const char *)id : "", sizeof(r->id));
	r->created = sqlite3_column_int64(st, 1);
	r->tag = col_text(st, 2);
	r->tag_base = col_text(st, 3);
	r->client_ip = col_text(st, 4);
	r->helo = col_text(st, 5);
	r->mail_from = col_text(st, 6);
	r->sender_domain = col_text(st, 7);
	r->from_domain = col_text(st, 8);
	r->subject = col_text(st, 9);
	for (int i = 0; i < STORE_NMECH; i++)
		r->verdict[i] = col_text(st, 10 + i);
	r->reply_state = col_text(st, 15);
	r->reply_detail = col_text(st, 16);
	r->reply_attempts = sqlite3_column_int(st, 17);
	r->reply_updated = sqlite3_column_int64(st, 18);
}

static int
sq_get(struct store_conn *c, const char *id, struct store_row *r, char *err,
    size_t errlen)
{
	sqlite3_stmt *st = stmt(c, ST_GET, err, errlen);
	int rc;

	if (st == NULL)
		return -1;
	bind_text(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const void *h = sqlite3_column_blob(st, 20);
		int hl = sqlite3_column_bytes(st, 20);

		row_summary(st, r);
		r->report = col_text(st, 19);
		if (h != NULL) {
			r->headers = xmalloc((size_t)hl + 1);
			memcpy(r->headers, h, (size_t)hl);
			r->headers[hl] = '\0';
			r->headers_len = (size_t)hl;
		}
	} else if (rc != SQLITE_DONE)
		sq_err(c, "select", err, errlen);
	stmt_done(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

static int
sq_set_delivery(struct store_conn *c, const char *id, const char *state,
    const char *detail, int attempts, int64_t now, char *err, size_t errlen)
{
	sqlite3_stmt *st = stmt(c, ST_DELIVERY, err, errlen);
	int rc;

	if (st == NULL)
		return -1;
	bind_text(st, 1, id);
	bind_text(st, 2, state);
	bind_text(st, 3, detail);
	sqlite3_bind_int(st, 4, attempts);
	sqlite3_bind_int64(st, 5, now);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		sq_err(c, "update", err, errlen);
	stmt_done(st);
	if (rc != SQLITE_DONE)
		return -1;
	return sqlite3_changes(c->db) > 0 ? 0 : 1;
}

static int
sq_list(struct store_conn *c, const struct store_sql *q, struct store_row **rows,
    size_t *n, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	int rc;

	if (sqlite3_prepare_v2(c->db, sbuf_str(&q->sql), -1, &st, NULL) != SQLITE_OK) {
		sq_err(c, "prepare", err, errlen);
		return -1;
	}
	for (size_t i = 0; i < q->np; i++)
		if (q->p[i].is_int)
			sqlite3_bind_int64(st, (int)i + 1, q->p[i].i);
		else
			bind_text(st, (int)i + 1, q->p[i].s);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*rows = xreallocarray(*rows, cap, sizeof(**rows));
		}
		memset(&(*rows)[*n], 0, sizeof(**rows));
		row_summary(st, &(*rows)[(*n)++]);
	}
	if (rc != SQLITE_DONE) {
		sq_err(c, "select", err, errlen);
		store_rows_free(*rows, *n);
		*rows = NULL;
		*n = 0;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
sq_prune(struct store_conn *c, int64_t before, size_t *removed, char *err,
    size_t errlen)
{
	sqlite3_stmt *st;
	int rc, k;

	do {
		if ((st = stmt(c, ST_PRUNE, err, errlen)) == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, before);
		sqlite3_bind_int(st, 2, STORE_PRUNE_BATCH);
		rc = sqlite3_step(st);
		k = rc == SQLITE_DONE ? sqlite3_changes(c->db) : 0;
		if (rc != SQLITE_DONE)
			sq_err(c, "delete", err, errlen);
		stmt_done(st);
		if (rc != SQLITE_DONE)
			return -1;
		*removed += (size_t)k;
	} while (k == STORE_PRUNE_BATCH);
	return 0;
}

const struct store_ops store_sqlite_ops = {
	.kind = "sqlite",
	.connect = sq_connect,
	.disconnect = sq_disconnect,
	.broken = sq_broken,
	.schema = sq_schema,
	.put = sq_put,
	.exists = sq_exists,
	.get = sq_get,
	.set_delivery = sq_set_delivery,
	.list = sq_list,
	.prune = sq_prune,
};
