/*
 * store.c - the backend-independent part of the report store (store.h):
 * the connection pool, the pruner thread, the subscriber, the list query
 * builder, and the names of the verdict columns.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "store.h"
#include "store_impl.h"
#include "util.h"

static const char *const mech_names[STORE_NMECH] = {
	"spf", "dkim", "dmarc", "adsp", "iprev"
};

/* RFC 8601 2.7.1-2.7.3 and 2.7.4 (iprev), RFC 5617 5.4 (adsp). */
static const char *const spf_words[] = { "none", "neutral", "pass", "fail",
	"softfail", "temperror", "permerror", NULL };
static const char *const dkim_words[] = { "none", "pass", "fail", "policy",
	"neutral", "temperror", "permerror", NULL };
static const char *const dmarc_words[] = { "none", "pass", "fail", "temperror",
	"permerror", NULL };
static const char *const adsp_words[] = { "none", "pass", "unknown", "fail",
	"discard", "nxdomain", "temperror", "permerror", NULL };
static const char *const iprev_words[] = { "pass", "fail", "temperror",
	"permerror", NULL };
static const char *const *const mech_words[STORE_NMECH] = {
	spf_words, dkim_words, dmarc_words, adsp_words, iprev_words
};

const char *
store_mech_name(enum store_mech m)
{
	return m < STORE_NMECH ? mech_names[m] : "?";
}

int
store_mech_from_name(const char *s, enum store_mech *m)
{
	for (int i = 0; i < STORE_NMECH; i++)
		if (strcmp(s, mech_names[i]) == 0) {
			*m = (enum store_mech)i;
			return 0;
		}
	return -1;
}

const char *const *
store_mech_words(enum store_mech m)
{
	static const char *const none[] = { NULL };

	return m < STORE_NMECH ? mech_words[m] : none;
}

int
store_word_valid(enum store_mech m, const char *w)
{
	if (m >= STORE_NMECH)
		return 0;
	for (const char *const *p = mech_words[m]; *p; p++)
		if (strcmp(*p, w) == 0)
			return 1;
	return 0;
}

/* The charset smtpd accepts in a +tag: [A-Za-z0-9._=-]. */
int
store_tag_valid(const char *t)
{
	size_t n = 0;

	for (; t[n]; n++)
		if (!((t[n] >= 'a' && t[n] <= 'z') || (t[n] >= 'A' && t[n] <= 'Z') ||
		    (t[n] >= '0' && t[n] <= '9') || strchr("._=-", t[n]) != NULL))
			return 0;
	return n > 0 && n <= STORE_TAG_MAX;
}

char *
store_dup(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* ---- open and close ------------------------------------------------------ */

/* "host=db port=5432 password=x" -> the same without the password, for logs */
static char *
pg_label(const char *conninfo)
{
	const char *p = strstr(conninfo, "password");

	if (p == NULL)
		return xasprintf("postgresql:%s", conninfo);
	return xasprintf("postgresql:%.*s(password hidden)", (int)(p - conninfo),
	    conninfo);
}

static struct store *
store_alloc(const struct store_ops *ops, const char *target, char *label)
{
	struct store *s = xcalloc(1, sizeof(*s));

	s->ops = ops;
	s->target = xstrdup(target);
	s->label = label;
	id_new(s->nonce);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	pthread_mutex_init(&s->sub_mu, NULL);
	pthread_cond_init(&s->pruner_cv, NULL);
	return s;
}

struct store *
store_open(const char *spec, const char *spool_dir, const char *user, int flags,
    char *err, size_t errlen)
{
	struct store *s;
	struct store_conn *c;
	int rc;

	if (spec == NULL || *spec == '\0') {
		char *path = xasprintf("%s/reports.db", spool_dir);

		s = store_alloc(&store_sqlite_ops, path, xasprintf("sqlite:%s", path));
		free(path);
	} else if (strncmp(spec, "sqlite:", 7) == 0 && spec[7] != '\0')
		s = store_alloc(&store_sqlite_ops, spec + 7, xstrdup(spec));
	else if (strncmp(spec, "postgresql:", 11) == 0)
		s = store_alloc(&store_pg_ops, spec + 11, pg_label(spec + 11));
	else {
		snprintf(err, errlen, "store \"%.100s\": expected sqlite:PATH or "
		    "postgresql:CONNINFO (or nothing for SPOOL/reports.db)", spec);
		return NULL;
	}
	if (s->ops == &store_sqlite_ops && store_sqlite_check(s, flags, err, errlen) < 0)
		goto out_fail;
	/* check the backend now and make the schema; working connections are
	 * opened later, by the threads that use them */
	if ((c = s->ops->connect(s, err, errlen)) == NULL)
		goto out_fail;
	rc = s->ops->schema(c, err, errlen);
	s->ops->disconnect(c);
	if (rc < 0)
		goto out_fail;
	if (s->ops == &store_sqlite_ops)
		store_sqlite_chown(s, user);
	return s;
out_fail:
	store_close(s);
	return NULL;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	store_pruner_stop(s);
	if (s->ops->listen_stop)
		s->ops->listen_stop(s);
	for (int i = 0; i < STORE_CONNS; i++)
		if (s->conn[i])
			s->ops->disconnect(s->conn[i]);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->sub_mu);
	pthread_cond_destroy(&s->pruner_cv);
	free(s->target);
	free(s->label);
	free(s);
}

const char *
store_kind(const struct store *s)
{
	return s->ops->kind;
}

const char *
store_where(const struct store *s)
{
	return s->label;
}

/* ---- the pool --------------------------------------------------------------- */

/* A connection for this thread, or -1 (err set) when none can be opened. */
static int
pool_take(struct store *s, char *err, size_t errlen)
{
	struct store_conn *c;
	int i;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		for (i = 0; i < STORE_CONNS; i++)
			if (!s->busy[i])
				break;
		if (i < STORE_CONNS)
			break;
		pthread_cond_wait(&s->cv, &s->mu);
	}
	s->busy[i] = 1;
	c = s->conn[i];
	pthread_mutex_unlock(&s->mu);
	if (c == NULL && (c = s->ops->connect(s, err, errlen)) == NULL) {
		pthread_mutex_lock(&s->mu);
		s->busy[i] = 0;
		pthread_cond_signal(&s->cv);
		pthread_mutex_unlock(&s->mu);
		return -1;
	}
	s->conn[i] = c;		/* slot i is ours while busy */
	return i;
}

static void
pool_give(struct store *s, int i, int failed)
{
	if (failed && s->ops->broken(s->conn[i])) {
		log_warn(NULL, "store", "connection lost, reconnecting on next use "
		    "store=%s", s->label);
		s->ops->disconnect(s->conn[i]);
		s->conn[i] = NULL;
	}
	pthread_mutex_lock(&s->mu);
	s->busy[i] = 0;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

int
store_put(struct store *s, const struct store_row *row, char *err, size_t errlen)
{
	struct store_row r = *row;
	int i, rc;

	if (!id_valid(row->id)) {
		snprintf(err, errlen, "bad id");
		return -1;
	}
	if (r.created == 0)
		r.created = (int64_t)time(NULL);
	if (r.reply_updated == 0)
		r.reply_updated = r.created;
	if ((i = pool_take(s, err, errlen)) < 0)
		return -1;
	rc = s->ops->put(s->conn[i], &r, err, errlen);
	pool_give(s, i, rc < 0);
	if (rc == 0)
		store_notify(s, r.tag);
	return rc;
}

int
store_exists(struct store *s, const char *id, char *err, size_t errlen)
{
	int i, rc;

	if (!id_valid(id))
		return 0;
	if ((i = pool_take(s, err, errlen)) < 0)
		return -1;
	rc = s->ops->exists(s->conn[i], id, err, errlen);
	pool_give(s, i, rc < 0);
	return rc;
}

int
store_get(struct store *s, const char *id, struct store_row *row, char *err,
    size_t errlen)
{
	int i, rc;

	memset(row, 0, sizeof(*row));
	if (!id_valid(id))
		return 1;
	if ((i = pool_take(s, err, errlen)) < 0)
		return -1;
	rc = s->ops->get(s->conn[i], id, row, err, errlen);
	pool_give(s, i, rc < 0);
	return rc;
}

int
store_set_delivery(struct store *s, const char *id, const char *state,
    const char *detail, int attempts, char *err, size_t errlen)
{
	int i, rc;

	if (!id_valid(id))
		return 1;
	if ((i = pool_take(s, err, errlen)) < 0)
		return -1;
	rc = s->ops->set_delivery(s->conn[i], id, state, detail, attempts,
	    (int64_t)time(NULL), err, errlen);
	pool_give(s, i, rc < 0);
	return rc;
}

int
store_list(struct store *s, const struct store_query *q, struct store_row **rows,
    size_t *n, int *more, char *err, size_t errlen)
{
	struct store_query q1 = *q;
	struct store_sql sql;
	int i, rc;

	*rows = NULL;
	*n = 0;
	*more = 0;
	if (q1.limit == 0 || q1.limit > STORE_LIST_MAX || q1.nverdict > STORE_MAX_VERDICTS) {
		snprintf(err, errlen, "bad query limits");
		return -1;
	}
	q1.limit++;		/* one more row tells whether there are more */
	if ((i = pool_take(s, err, errlen)) < 0)
		return -1;
	store_list_sql(&sql, &q1, s->ops == &store_sqlite_ops ? '?' : '$');
	rc = s->ops->list(s->conn[i], &sql, rows, n, err, errlen);
	store_sql_free(&sql);
	pool_give(s, i, rc < 0);
	if (rc == 0 && *n > q->limit) {
		*more = 1;
		store_row_free(&(*rows)[*n - 1]);
		(*n)--;
	}
	return rc;
}

int
store_prune(struct store *s, int64_t before, size_t *removed, char *err, size_t errlen)
{
	int i, rc;

	*removed = 0;
	if ((i = pool_take(s, err, errlen)) < 0)
		return -1;
	rc = s->ops->prune(s->conn[i], before, removed, err, errlen);
	pool_give(s, i, rc < 0);
	return rc;
}

/* ---- the list query -------------------------------------------------------- */

static void
sql_param(struct store_sql *q, char style, int is_int, const char *sv, int64_t iv)
{
	if (q->np >= STORE_MAX_PARAMS)
		fatal("store: too many query parameters");
	q->p[q->np].is_int = is_int;
	q->p[q->np].s = sv;
	q->p[q->np].i = iv;
	q->np++;
	sbuf_printf(&q->sql, "%c%zu", style, q->np);
}

/*
 * Only constant text goes into the SQL; every value is a parameter.  The
 * verdict column names come from mech_names[], never from the request.
 */
void
store_list_sql(struct store_sql *q, const struct store_query *f, char style)
{
	const char *and = " WHERE ";

	memset(q, 0, sizeof(*q));
	sbuf_init(&q->sql, 0);
	sbuf_adds(&q->sql, "SELECT " STORE_COLS_SUMMARY " FROM mailtest_reports");
	if (f->tag) {
		sbuf_printf(&q->sql, "%s(tag = ", and);
		sql_param(q, style, 0, f->tag, 0);
		sbuf_adds(&q->sql, " OR tag_base = ");
		sql_param(q, style, 0, f->tag, 0);
		sbuf_adds(&q->sql, ")");
		and = " AND ";
	}
	if (f->domain) {
		sbuf_printf(&q->sql, "%s(sender_domain = ", and);
		sql_param(q, style, 0, f->domain, 0);
		sbuf_adds(&q->sql, " OR from_domain = ");
		sql_param(q, style, 0, f->domain, 0);
		sbuf_adds(&q->sql, ")");
		and = " AND ";
	}
	if (f->since > 0) {
		sbuf_printf(&q->sql, "%screated >= ", and);
		sql_param(q, style, 1, NULL, f->since);
		and = " AND ";
	}
	if (f->until > 0) {
		sbuf_printf(&q->sql, "%screated < ", and);
		sql_param(q, style, 1, NULL, f->until);
		and = " AND ";
	}
	for (size_t i = 0; i < f->nverdict && i < STORE_MAX_VERDICTS; i++) {
		sbuf_printf(&q->sql, "%s%s = ", and, store_mech_name(f->verdict[i].mech));
		sql_param(q, style, 0, f->verdict[i].word, 0);
		and = " AND ";
	}
	/* within one second: the ids, time-ordered to 10 ms by the daemon
	 * (util.h), then the order of insertion (SQLite's rowid, the
	 * PostgreSQL sequence shared by every instance) */
	sbuf_printf(&q->sql, " ORDER BY created DESC, id DESC, %s DESC LIMIT ",
	    style == '?' ? "rowid" : "seq");
	sql_param(q, style, 1, NULL, (int64_t)f->limit);
	sbuf_adds(&q->sql, " OFFSET ");
	sql_param(q, style, 1, NULL, (int64_t)f->offset);
}

void
store_sql_free(struct store_sql *q)
{
	sbuf_free(&q->sql);
}

/* ---- notifications ---------------------------------------------------------- */

int
store_subscribe(struct store *s, void (*cb)(void *, const char *), void *arg)
{
	pthread_mutex_lock(&s->sub_mu);
	s->sub_cb = cb;
	s->sub_arg = arg;
	pthread_mutex_unlock(&s->sub_mu);
	if (cb && s->ops->listen_start)
		return s->ops->listen_start(s);
	return 0;
}

void
store_notify(struct store *s, const char *tag)
{
	pthread_mutex_lock(&s->sub_mu);
	if (s->sub_cb)
		s->sub_cb(s->sub_arg, tag);
	pthread_mutex_unlock(&s->sub_mu);
}

/* ---- the pruner -------------------------------------------------------------- */

static void
prune_once(struct store *s)
{
	char err[512];
	size_t removed;
	int64_t before = (int64_t)time(NULL) - s->retention;

	if (store_prune(s, before, &removed, err, sizeof(err)) < 0)
		log_err(NULL, "store", "prune failed store=%s error=\"%s\"", s->label, err);
	else
		log_info(NULL, "store", "prune removed=%zu retention=%lds", removed,
		    s->retention);
}

static void *
pruner_main(void *arg)
{
	struct store *s = arg;
	struct timespec ts;

	pthread_mutex_lock(&s->mu);
	while (!s->pruner_stop) {
		pthread_mutex_unlock(&s->mu);
		prune_once(s);
		pthread_mutex_lock(&s->mu);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += STORE_PRUNE_EVERY;
		while (!s->pruner_stop &&
		    pthread_cond_timedwait(&s->pruner_cv, &s->mu, &ts) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

int
store_pruner_start(struct store *s, long retention_s)
{
	if (s->pruner_on)
		return 0;
	s->retention = retention_s;
	s->pruner_stop = 0;
	if (pthread_create(&s->pruner, NULL, pruner_main, s) != 0)
		return -1;
	s->pruner_on = 1;
	return 0;
}

void
store_pruner_stop(struct store *s)
{
	if (!s->pruner_on)
		return;
	pthread_mutex_lock(&s->mu);
	s->pruner_stop = 1;
	pthread_cond_broadcast(&s->pruner_cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->pruner, NULL);
	s->pruner_on = 0;
}

/* ---- rows -------------------------------------------------------------------- */

void
store_row_free(struct store_row *r)
{
	if (r == NULL)
		return;
	free(r->tag);
	free(r->tag_base);
	free(r->client_ip);
	free(r->helo);
	free(r->mail_from);
	free(r->sender_domain);
	free(r->from_domain);
	free(r->subject);
	for (int i = 0; i < STORE_NMECH; i++)
		free(r->verdict[i]);
	free(r->reply_state);
	free(r->reply_detail);
	free(r->report);
	free(r->headers);
	memset(r, 0, sizeof(*r));
}

void
store_rows_free(struct store_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_row_free(&rows[i]);
	free(rows);
}
