/*
 * store_pg.c - the PostgreSQL backend of the report store (see store.h),
 * on libpq.
 *
 * Connections: PQconnectdbParams() with the operator's CONNINFO expanded
 * after our defaults (connect_timeout=10, application_name=mailtest; the
 * operator's values win), then statement_timeout=30s, so no call waits
 * without bound.  The fixed statements are prepared once per connection
 * (PQprepare) and run with PQexecPrepared(); the header block goes as a
 * binary bytea parameter.  A connection whose status is no longer
 * CONNECTION_OK is closed by the pool and opened again on next use.
 *
 * Notifications: the insert and `pg_notify('mailtest_reports', NONCE TAG)`
 * are one statement (a CTE), so a notification is sent exactly when a row
 * was inserted, at its commit.  store_subscribe() starts a listener thread
 * with its own connection (LISTEN mailtest_reports; poll() on its socket
 * and on a pipe that stops it); it passes on the notifications of other
 * processes (this process's own, recognised by the nonce, were passed on
 * by store_put() already).  After it (re)connects it passes on one
 * notification without a tag: what was stored meanwhile is looked for.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "log.h"
#include "store.h"
#include "store_impl.h"
#include "util.h"

#define PG_CONNECT_TIMEOUT	"10"	/* seconds, unless CONNINFO says otherwise */
#define PG_STATEMENT_TIMEOUT	"SET statement_timeout = 30000"
#define PG_LISTEN_RETRY_MAX	30	/* seconds between reconnection attempts */
#define PG_SCHEMA_LOCK		"7163440187"	/* advisory lock key: one creator at a time */

/* OIDs of the built-in types (pg_type.h) */
#define OID_INT4	23
#define OID_INT8	20
#define OID_TEXT	25
#define OID_BYTEA	17

static const char put_sql[] =
	"WITH ins AS (INSERT INTO mailtest_reports (" STORE_COLS_ALL ") VALUES ($1, $2, "
	"$3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, "
	"$20, $21) ON CONFLICT (id) DO NOTHING RETURNING 1) "
	"SELECT pg_notify('" STORE_NOTIFY_CHANNEL "', $22) FROM ins";

static const struct {
	const char	*name, *sql;
	int		 n;
	Oid		 types[22];
} stmts[] = {
	{ "mt_put", put_sql, 22, { OID_TEXT, OID_INT8, OID_TEXT, OID_TEXT, OID_TEXT,
	    OID_TEXT, OID_TEXT, OID_TEXT, OID_TEXT, OID_TEXT, OID_TEXT, OID_TEXT,
	    OID_TEXT, OID_TEXT, OID_TEXT, OID_TEXT, OID_TEXT, OID_INT4, OID_INT8,
	    OID_TEXT, OID_BYTEA, OID_TEXT } },
	{ "mt_exists", "SELECT 1 FROM mailtest_reports WHERE id = $1", 1, { OID_TEXT } },
	{ "mt_get", "SELECT " STORE_COLS_ALL " FROM mailtest_reports WHERE id = $1", 1,
	    { OID_TEXT } },
	{ "mt_delivery", "UPDATE mailtest_reports SET reply_state = $2, reply_detail = $3, "
	    "reply_attempts = $4, reply_updated = $5 WHERE id = $1", 5,
	    { OID_TEXT, OID_TEXT, OID_TEXT, OID_INT4, OID_INT8 } },
	{ "mt_prune", "DELETE FROM mailtest_reports WHERE id IN (SELECT id FROM "
	    "mailtest_reports WHERE created < $1 LIMIT $2)", 2, { OID_INT8, OID_INT4 } },
};

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS mailtest_schema (version INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS mailtest_reports ("
	" id TEXT PRIMARY KEY, created BIGINT NOT NULL, tag TEXT, tag_base TEXT,"
	" client_ip TEXT, helo TEXT, mail_from TEXT, sender_domain TEXT,"
	" from_domain TEXT, subject TEXT, spf TEXT, dkim TEXT, dmarc TEXT, adsp TEXT,"
	" iprev TEXT, reply_state TEXT NOT NULL, reply_detail TEXT,"
	" reply_attempts INTEGER NOT NULL DEFAULT 0, reply_updated BIGINT NOT NULL,"
	" report TEXT NOT NULL, headers BYTEA, seq BIGSERIAL);"
	STORE_INDEX_SQL;

struct store_conn {
	PGconn		*pg;		/* owned */
	const char	*nonce;		/* the store's */
	int		 prepared;	/* the statements exist on this connection */
};

struct pg_listen {
	pthread_t	 th;
	int		 pipe[2];	/* write end: stop */
	struct store	*s;		/* borrowed */
};

/* libpq's message without its trailing newline */
static void
pg_err(PGconn *pg, const char *what, char *err, size_t errlen)
{
	size_t n;

	snprintf(err, errlen, "postgresql %s: %s", what, pg ? PQerrorMessage(pg) :
	    "out of memory");
	n = strlen(err);
	while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == '\r'))
		err[--n] = '\0';
	for (char *p = err; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
}

/* Notices (NOTICE: relation exists, skipping) are not errors: dropped. */
static void
pg_notice(void *arg, const char *msg)
{
	char buf[512];

	log_debug(NULL, "store", "postgresql notice: %s", log_safe(buf, sizeof(buf), msg));
}

static PGconn *
pg_open(const char *conninfo, char *err, size_t errlen)
{
	const char *const keys[] = { "connect_timeout", "application_name", "dbname",
		NULL };
	const char *const vals[] = { PG_CONNECT_TIMEOUT, "mailtest", conninfo, NULL };
	PGconn *pg = PQconnectdbParams(keys, vals, 1);

	if (pg == NULL || PQstatus(pg) != CONNECTION_OK) {
		pg_err(pg, "connect", err, errlen);
		PQfinish(pg);
		return NULL;
	}
	PQsetNoticeProcessor(pg, pg_notice, NULL);
	return pg;
}

/* Run a command without results; -1 with err. */
static int
pg_exec(PGconn *pg, const char *sql, const char *what, char *err, size_t errlen)
{
	PGresult *res = PQexec(pg, sql);
	ExecStatusType st = PQresultStatus(res);
	int rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : -1;

	if (rc < 0)
		pg_err(pg, what, err, errlen);
	PQclear(res);
	return rc;
}

static void
pg_disconnect(struct store_conn *c)
{
	if (c == NULL)
		return;
	PQfinish(c->pg);
	free(c);
}

static struct store_conn *
pg_connect(struct store *s, char *err, size_t errlen)
{
	struct store_conn *c;
	PGconn *pg;

	if ((pg = pg_open(s->target, err, errlen)) == NULL)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->pg = pg;
	c->nonce = s->nonce;
	if (pg_exec(pg, PG_STATEMENT_TIMEOUT, "statement_timeout", err, errlen) < 0)
		goto out_fail;
	return c;
out_fail:
	pg_disconnect(c);
	return NULL;
}

/* The statements are prepared after the schema exists (first use). */
static int
pg_prepared(struct store_conn *c, char *err, size_t errlen)
{
	PGresult *res;

	if (c->prepared)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(stmts); i++) {
		res = PQprepare(c->pg, stmts[i].name, stmts[i].sql, stmts[i].n,
		    stmts[i].types);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			pg_err(c->pg, "prepare", err, errlen);
			PQclear(res);
			return -1;
		}
		PQclear(res);
	}
	c->prepared = 1;
	return 0;
}

static int
pg_broken(struct store_conn *c)
{
	return PQstatus(c->pg) != CONNECTION_OK;
}

static int
pg_schema(struct store_conn *c, char *err, size_t errlen)
{
	PGresult *res;
	int version = -1;

	if (pg_exec(c->pg, "BEGIN", "begin", err, errlen) < 0)
		return -1;
	if (pg_exec(c->pg, "SELECT pg_advisory_xact_lock(" PG_SCHEMA_LOCK ")", "lock",
	    err, errlen) < 0 || pg_exec(c->pg, schema_sql, "schema", err, errlen) < 0)
		goto out_rollback;
	res = PQexec(c->pg, "SELECT max(version) FROM mailtest_schema");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		pg_err(c->pg, "schema version", err, errlen);
		PQclear(res);
		goto out_rollback;
	}
	if (!PQgetisnull(res, 0, 0))
		version = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	if (version > STORE_SCHEMA_VERSION) {
		snprintf(err, errlen, "the store's schema (version %d) is newer than this "
		    "mailtest's (%d)", version, STORE_SCHEMA_VERSION);
		goto out_rollback;
	}
	if (version < 0 && pg_exec(c->pg, "INSERT INTO mailtest_schema VALUES (1)",
	    "schema version", err, errlen) < 0)
		goto out_rollback;
	return pg_exec(c->pg, "COMMIT", "commit", err, errlen);
out_rollback:
	PQclear(PQexec(c->pg, "ROLLBACK"));
	return -1;
}

/* Run prepared statement i; the result (caller PQclear()s) or NULL with err. */
static PGresult *
pg_run(struct store_conn *c, size_t i, const char *const *vals, const int *lens,
    const int *fmts, char *err, size_t errlen)
{
	PGresult *res;
	ExecStatusType st;

	if (pg_prepared(c, err, errlen) < 0)
		return NULL;
	res = PQexecPrepared(c->pg, stmts[i].name, stmts[i].n, vals, lens, fmts, 0);
	st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		pg_err(c->pg, stmts[i].name + 3, err, errlen);
		PQclear(res);
		return NULL;
	}
	return res;
}

static int
pg_put(struct store_conn *c, const struct store_row *r, char *err, size_t errlen)
{
	const char *v[22];
	int lens[22] = { 0 }, fmts[22] = { 0 };
	char created[24], attempts[16], updated[24], payload[16 + STORE_TAG_MAX + 2];
	PGresult *res;

	snprintf(created, sizeof(created), "%lld", (long long)r->created);
	snprintf(attempts, sizeof(attempts), "%d", r->reply_attempts);
	snprintf(updated, sizeof(updated), "%lld", (long long)r->reply_updated);
	v[0] = r->id;
	v[1] = created;
	v[2] = r->tag;
	v[3] = r->tag_base;
	v[4] = r->client_ip;
	v[5] = r->helo;
	v[6] = r->mail_from;
	v[7] = r->sender_domain;
	v[8] = r->from_domain;
	v[9] = r->subject;
	for (int i = 0; i < STORE_NMECH; i++)
		v[10 + i] = r->verdict[i];
	v[15] = r->reply_state ? r->reply_state : STORE_QUEUED;
	v[16] = r->reply_detail;
	v[17] = attempts;
	v[18] = updated;
	v[19] = r->report ? r->report : "{}";
	v[20] = r->headers;
	lens[20] = (int)r->headers_len;
	fmts[20] = 1;		/* binary bytea: the bytes as they are */
	snprintf(payload, sizeof(payload), "%s %s", c->nonce, r->tag ? r->tag : "");
	v[21] = payload;
	if ((res = pg_run(c, 0, v, lens, fmts, err, errlen)) == NULL)
		return -1;
	PQclear(res);
	return 0;
}

static int
pg_exists(struct store_conn *c, const char *id, char *err, size_t errlen)
{
	const char *v[1] = { id };
	PGresult *res = pg_run(c, 1, v, NULL, NULL, err, errlen);
	int rc;

	if (res == NULL)
		return -1;
	rc = PQntuples(res) > 0;
	PQclear(res);
	return rc;
}

static char *
col_text(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : xstrdup(PQgetvalue(res, row, col));
}

static void
row_summary(const PGresult *res, int k, struct store_row *r)
{
	str_copy(r->id, PQgetvalue(res, k, 0), sizeof(r->id));
	r->created = strtoll(PQgetvalue(res, k, 1), NULL, 10);
	r->tag = col_text(res, k, 2);
	r->tag_base = col_text(res, k, 3);
	r->client_ip = col_text(res, k, 4);
	r->helo = col_text(res, k, 5);
	r->mail_from = col_text(res, k, 6);
	r->sender_domain = col_text(res, k, 7);
	r->from_domain = col_text(res, k, 8);
	r->subject = col_text(res, k, 9);
	for (int i = 0; i < STORE_NMECH; i++)
		r->verdict[i] = col_text(res, k, 10 + i);
	r->reply_state = col_text(res, k, 15);
	r->reply_detail = col_text(res, k, 16);
	r->reply_attempts = atoi(PQgetvalue(res, k, 17));
	r->reply_updated = strtoll(PQgetvalue(res, k, 18), NULL, 10);
}

static int
pg_get(struct store_conn *c, const char *id, struct store_row *r, char *err,
    size_t errlen)
{
	const char *v[1] = { id };
	PGresult *res = pg_run(c, 2, v, NULL, NULL, err, errlen);

	if (res == NULL)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return 1;
	}
	row_summary(res, 0, r);
	r->report = col_text(res, 0, 19);
	if (!PQgetisnull(res, 0, 20)) {
		size_t n;
		unsigned char *b = PQunescapeBytea((const unsigned char *)PQgetvalue(res,
		    0, 20), &n);

		if (b == NULL) {
			snprintf(err, errlen, "postgresql: cannot decode the header block");
			PQclear(res);
			store_row_free(r);
			return -1;
		}
		r->headers = xmalloc(n + 1);
		memcpy(r->headers, b, n);
		r->headers[n] = '\0';
		r->headers_len = n;
		PQfreemem(b);
	}
	PQclear(res);
	return 0;
}

static int
pg_set_delivery(struct store_conn *c, const char *id, const char *state,
    const char *detail, int attempts, int64_t now, char *err, size_t errlen)
{
	char a[16], t[24];
	const char *v[5] = { id, state, detail, a, t };
	PGresult *res;
	int rc;

	snprintf(a, sizeof(a), "%d", attempts);
	snprintf(t, sizeof(t), "%lld", (long long)now);
	if ((res = pg_run(c, 3, v, NULL, NULL, err, errlen)) == NULL)
		return -1;
	rc = strcmp(PQcmdTuples(res), "0") == 0 ? 1 : 0;
	PQclear(res);
	return rc;
}

static int
pg_list(struct store_conn *c, const struct store_sql *q, struct store_row **rows,
    size_t *n, char *err, size_t errlen)
{
	const char *v[STORE_MAX_PARAMS];
	char ints[STORE_MAX_PARAMS][24];
	PGresult *res;
	int k;

	for (size_t i = 0; i < q->np; i++) {
		if (q->p[i].is_int) {
			snprintf(ints[i], sizeof(ints[i]), "%lld", (long long)q->p[i].i);
			v[i] = ints[i];
		} else
			v[i] = q->p[i].s;
	}
	res = PQexecParams(c->pg, sbuf_str(&q->sql), (int)q->np, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		pg_err(c->pg, "select", err, errlen);
		PQclear(res);
		return -1;
	}
	k = PQntuples(res);
	*rows = xcalloc(k > 0 ? (size_t)k : 1, sizeof(**rows));
	for (int i = 0; i < k; i++)
		row_summary(res, i, &(*rows)[i]);
	*n = (size_t)k;
	PQclear(res);
	return 0;
}

static int
pg_prune(struct store_conn *c, int64_t before, size_t *removed, char *err,
    size_t errlen)
{
	char b[24], lim[16];
	const char *v[2] = { b, lim };
	PGresult *res;
	long k;

	snprintf(b, sizeof(b), "%lld", (long long)before);
	snprintf(lim, sizeof(lim), "%d", STORE_PRUNE_BATCH);
	do {
		if ((res = pg_run(c, 4, v, NULL, NULL, err, errlen)) == NULL)
			return -1;
		k = atol(PQcmdTuples(res));
		PQclear(res);
		*removed += (size_t)k;
	} while (k == STORE_PRUNE_BATCH);
	return 0;
}

/* ---- LISTEN ------------------------------------------------------------------- */

/* Wait up to ms for the stop pipe; 1 when told to stop. */
static int
listen_pause(struct pg_listen *l, int ms)
{
	struct pollfd p = { .fd = l->pipe[0], .events = POLLIN };

	return poll(&p, 1, ms) > 0;
}

static void
listen_deliver(struct pg_listen *l, PGconn *pg)
{
	PGnotify *n;

	while ((n = PQnotifies(pg)) != NULL) {
		const char *sp = strchr(n->extra, ' ');
		size_t nl = sp ? (size_t)(sp - n->extra) : strlen(n->extra);

		if (!(nl == strlen(l->s->nonce) && strncmp(n->extra, l->s->nonce, nl) == 0))
			store_notify(l->s, sp && sp[1] ? sp + 1 : NULL);
		PQfreemem(n);
	}
}

/* One LISTEN connection until it fails (0) or we are stopped (1). */
static int
listen_session(struct pg_listen *l, PGconn *pg)
{
	struct pollfd p[2];
	char err[512];

	if (pg_exec(pg, "LISTEN " STORE_NOTIFY_CHANNEL, "listen", err, sizeof(err)) < 0) {
		log_warn(NULL, "store", "listen failed store=%s error=\"%s\"", l->s->label,
		    err);
		return 0;
	}
	log_info(NULL, "store", "listening channel=%s store=%s", STORE_NOTIFY_CHANNEL,
	    l->s->label);
	store_notify(l->s, NULL);	/* look for what came while we were away */
	for (;;) {
		p[0].fd = PQsocket(pg);
		p[0].events = POLLIN;
		p[1].fd = l->pipe[0];
		p[1].events = POLLIN;
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return 0;
		if (p[1].revents)
			return 1;
		if (p[0].revents && PQconsumeInput(pg) == 0) {
			pg_err(pg, "listen", err, sizeof(err));
			log_warn(NULL, "store", "listen connection lost store=%s error=\"%s\"",
			    l->s->label, err);
			return 0;
		}
		listen_deliver(l, pg);
	}
}

static void *
listen_main(void *arg)
{
	struct pg_listen *l = arg;
	char err[512];
	int wait = 1, stop = 0;

	while (!stop) {
		PGconn *pg = pg_open(l->s->target, err, sizeof(err));

		if (pg == NULL) {
			log_warn(NULL, "store", "listen connect failed store=%s retry_in=%ds "
			    "error=\"%s\"", l->s->label, wait, err);
			stop = listen_pause(l, wait * 1000);
			wait = wait * 2 > PG_LISTEN_RETRY_MAX ? PG_LISTEN_RETRY_MAX : wait * 2;
			continue;
		}
		wait = 1;
		stop = listen_session(l, pg);
		PQfinish(pg);
		if (!stop)
			stop = listen_pause(l, 1000);
	}
	return NULL;
}

static int
pg_listen_start(struct store *s)
{
	struct pg_listen *l;

	if (s->priv != NULL)
		return 0;
	l = xcalloc(1, sizeof(*l));
	l->s = s;
	if (pipe2(l->pipe, O_CLOEXEC) < 0) {
		free(l);
		return -1;
	}
	if (pthread_create(&l->th, NULL, listen_main, l) != 0) {
		close(l->pipe[0]);
		close(l->pipe[1]);
		free(l);
		return -1;
	}
	s->priv = l;
	return 0;
}

static void
pg_listen_stop(struct store *s)
{
	struct pg_listen *l = s->priv;

	if (l == NULL)
		return;
	if (write(l->pipe[1], "x", 1) < 0)
		log_err(NULL, "store", "stopping the listener: %s", strerror(errno));
	pthread_join(l->th, NULL);
	close(l->pipe[0]);
	close(l->pipe[1]);
	free(l);
	s->priv = NULL;
}

const struct store_ops store_pg_ops = {
	.kind = "postgresql",
	.connect = pg_connect,
	.disconnect = pg_disconnect,
	.broken = pg_broken,
	.schema = pg_schema,
	.put = pg_put,
	.exists = pg_exists,
	.get = pg_get,
	.set_delivery = pg_set_delivery,
	.list = pg_list,
	.prune = pg_prune,
	.listen_start = pg_listen_start,
	.listen_stop = pg_listen_stop,
};
