/*
 * test_store - common/store.c and its backends: one suite, run against
 * SQLite (a temporary file) always, and against PostgreSQL when
 * MAILTEST_STORE_PG holds a libpq conninfo of an empty database
 * (tests/test_store_pg.py starts a server and sets it).
 *
 * Cases: round trip of every column (an 8-bit header block with a NUL),
 * idempotent put, exists/get of missing and malformed ids, delivery
 * updates, every list filter (tag and tag base, domain, since/until,
 * verdicts), order, limit/offset/more, values that look like SQL, prune
 * in batches, 8 threads putting at once through the pool, the subscriber,
 * open errors; SQLite: WAL mode on disk; PostgreSQL: a second store sees
 * the first one's rows and gets its NOTIFY, and a connection killed by the
 * server is opened again.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "../../common/store.h"
#include "../../common/util.h"
#include "../../reply/record.h"
#include "t.h"

#define NTHREADS	8
#define PER_THREAD	25
#define NPRUNE		(STORE_PRUNE_BATCH + 7)

static char label[64];

#define L(s)	(snprintf(label, sizeof(label), "%s: %s", kind, (s)), label)

static void
row_fill(struct store_row *r, const char *id, int64_t created, const char *tag,
    const char *domain, const char *dmarc)
{
	memset(r, 0, sizeof(*r));
	str_copy(r->id, id, sizeof(r->id));
	r->created = created;
	r->tag = (char *)tag;
	r->tag_base = (char *)tag;
	r->client_ip = "192.0.2.1";
	r->helo = "mail.example.org";
	r->mail_from = "a@example.org";
	r->sender_domain = (char *)domain;
	r->from_domain = "from.example";
	r->subject = "hello";
	r->verdict[STORE_SPF] = "pass";
	r->verdict[STORE_DKIM] = "none";
	r->verdict[STORE_DMARC] = (char *)dmarc;
	r->verdict[STORE_ADSP] = "none";
	r->verdict[STORE_IPREV] = "pass";
	r->reply_state = STORE_QUEUED;
	r->report = "{\"a\": 1}";
}

static void
make_id(char *buf, int n)
{
	snprintf(buf, ID_LEN + 1, "T%011d", n);
}

static size_t
count(struct store *s, const struct store_query *q0, int *more)
{
	struct store_query q = *q0;
	struct store_row *rows;
	size_t n;
	char err[512];

	if (q.limit == 0)
		q.limit = STORE_LIST_MAX;
	if (store_list(s, &q, &rows, &n, more, err, sizeof(err)) < 0) {
		fprintf(stderr, "list: %s\n", err);
		return (size_t)-1;
	}
	store_rows_free(rows, n);
	return n;
}

static void
t_roundtrip(struct store *s, const char *kind)
{
	static const char hdr[] = "Subject: caf\xc3\xa9 \xff\r\nX-Nul: a\0b\r\n\r\n";
	struct store_row r, g;
	char err[512];

	row_fill(&r, "A00000000001", 50, "ci-1.from", "example.org", "pass");
	r.tag_base = "ci-1";
	r.reply_detail = "'; DROP TABLE mailtest_reports; --";
	r.headers = (char *)hdr;
	r.headers_len = sizeof(hdr) - 1;
	T_EQ_INT(store_put(s, &r, err, sizeof(err)), 0, L("put"));
	T_EQ_INT(store_get(s, "A00000000001", &g, err, sizeof(err)), 0, L("get"));
	T_EQ_STR(g.id, "A00000000001", L("id"));
	T_EQ_INT(g.created, 50, L("created"));
	T_EQ_STR(g.tag, "ci-1.from", L("tag"));
	T_EQ_STR(g.tag_base, "ci-1", L("tag_base"));
	T_EQ_STR(g.client_ip, "192.0.2.1", L("client_ip"));
	T_EQ_STR(g.helo, "mail.example.org", L("helo"));
	T_EQ_STR(g.mail_from, "a@example.org", L("mail_from"));
	T_EQ_STR(g.sender_domain, "example.org", L("sender_domain"));
	T_EQ_STR(g.from_domain, "from.example", L("from_domain"));
	T_EQ_STR(g.subject, "hello", L("subject"));
	T_EQ_STR(g.verdict[STORE_DMARC], "pass", L("dmarc"));
	T_EQ_STR(g.verdict[STORE_IPREV], "pass", L("iprev"));
	T_EQ_STR(g.reply_state, "queued", L("reply_state"));
	T_EQ_STR(g.reply_detail, r.reply_detail, L("detail that looks like SQL"));
	T_EQ_INT(g.reply_updated, 50, L("reply_updated defaults to created"));
	T_EQ_STR(g.report, "{\"a\": 1}", L("report"));
	T_EQ_INT(g.headers_len, sizeof(hdr) - 1, L("header length (8-bit, NUL)"));
	T_OK(g.headers && memcmp(g.headers, hdr, sizeof(hdr) - 1) == 0, L("header bytes"));
	store_row_free(&g);

	/* idempotent: the second put of an id changes nothing */
	r.subject = "changed";
	T_EQ_INT(store_put(s, &r, err, sizeof(err)), 0, L("second put succeeds"));
	T_EQ_INT(store_get(s, "A00000000001", &g, err, sizeof(err)), 0, L("get again"));
	T_EQ_STR(g.subject, "hello", L("second put did not overwrite"));
	store_row_free(&g);
	{
		struct store_query q = { .tag = "ci-1" };
		int more;

		T_EQ_INT(count(s, &q, &more), 1, L("one row after two puts"));
	}
	T_EQ_INT(store_exists(s, "A00000000001", err, sizeof(err)), 1, L("exists"));
	T_EQ_INT(store_exists(s, "A00000000002", err, sizeof(err)), 0, L("not exists"));
	T_EQ_INT(store_exists(s, "x' OR 1=1 --", err, sizeof(err)), 0, L("bad id"));
	T_EQ_INT(store_get(s, "A00000000002", &g, err, sizeof(err)), 1, L("get missing"));
	T_EQ_INT(store_get(s, "../../etc/pas", &g, err, sizeof(err)), 1, L("get bad id"));

	T_EQ_INT(store_set_delivery(s, "A00000000001", STORE_DEFERRED, "451 try later", 2,
	    err, sizeof(err)), 0, L("set delivery"));
	T_EQ_INT(store_get(s, "A00000000001", &g, err, sizeof(err)), 0, L("get updated"));
	T_EQ_STR(g.reply_state, "deferred", L("state updated"));
	T_EQ_STR(g.reply_detail, "451 try later", L("detail updated"));
	T_EQ_INT(g.reply_attempts, 2, L("attempts updated"));
	T_OK(g.reply_updated > 1700000000, L("update time is now"));
	store_row_free(&g);
	T_EQ_INT(store_set_delivery(s, "A00000000009", STORE_DELIVERED, NULL, 1, err,
	    sizeof(err)), 1, L("delivery of a missing id"));
}

static void
t_list(struct store *s, const char *kind)
{
	struct store_row r, *rows;
	char err[512], id[ID_LEN + 1];
	size_t n;
	int more;

	/* B1..B6: created 100..600; tags/domains/dmarc vary */
	static const struct {
		const char *tag, *domain, *dmarc;
	} v[] = {
		{ "build-1", "a.example", "pass" }, { "build-1", "b.example", "fail" },
		{ "build-2", "a.example", "pass" }, { NULL, "a.example", "none" },
		{ "build-2", "c.example", "fail" }, { "build-3", "b.example", "pass" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		snprintf(id, sizeof(id), "B%011zu", i + 1);
		row_fill(&r, id, 100 * (int64_t)(i + 1), v[i].tag, v[i].domain, v[i].dmarc);
		T_EQ_INT(store_put(s, &r, err, sizeof(err)), 0, L("put list row"));
	}
	{
		struct store_query q = { .since = 100, .limit = 10 };

		T_EQ_INT(store_list(s, &q, &rows, &n, &more, err, sizeof(err)), 0, L("list"));
		T_EQ_INT(n, 6, L("all six"));
		T_EQ_STR(n ? rows[0].id : NULL, "B00000000006", L("newest first"));
		T_EQ_STR(n ? rows[5].id : NULL, "B00000000001", L("oldest last"));
		T_OK(n && rows[0].report == NULL, L("list leaves the report out"));
		T_EQ_INT(more, 0, L("no more"));
		store_rows_free(rows, n);
	}
	{
		struct store_query q = { .since = 100, .limit = 2, .offset = 2 };

		T_EQ_INT(store_list(s, &q, &rows, &n, &more, err, sizeof(err)), 0, L("page"));
		T_EQ_INT(n, 2, L("page of two"));
		T_EQ_STR(n ? rows[0].id : NULL, "B00000000004", L("offset 2"));
		T_EQ_INT(more, 1, L("more after the page"));
		store_rows_free(rows, n);
	}
	{
		struct store_query q = { .tag = "build-2", .since = 100 };

		T_EQ_INT(count(s, &q, &more), 2, L("tag"));
		q.tag = "build";
		T_EQ_INT(count(s, &q, &more), 0, L("tag is not a prefix match"));
		q.tag = "x' OR '1'='1";
		T_EQ_INT(count(s, &q, &more), 0, L("tag that looks like SQL"));
	}
	{
		struct store_query q = { .domain = "a.example", .since = 100 };

		T_EQ_INT(count(s, &q, &more), 3, L("sender domain"));
		q.domain = "from.example";
		T_EQ_INT(count(s, &q, &more), 6, L("from domain"));
	}
	{
		struct store_query q = { .since = 200, .until = 500 };

		T_EQ_INT(count(s, &q, &more), 3, L("since inclusive, until exclusive"));
	}
	{
		struct store_query q = { .since = 100, .nverdict = 1 };

		q.verdict[0].mech = STORE_DMARC;
		q.verdict[0].word = "pass";
		T_EQ_INT(count(s, &q, &more), 3, L("dmarc:pass"));
		q.nverdict = 2;
		q.verdict[1].mech = STORE_SPF;
		q.verdict[1].word = "fail";
		T_EQ_INT(count(s, &q, &more), 0, L("dmarc:pass and spf:fail"));
		q.tag = "build-1";
		q.nverdict = 1;
		T_EQ_INT(count(s, &q, &more), 1, L("tag and verdict"));
	}
	{
		/* one second, stored out of arrival order: the ids decide */
		struct store_query q = { .since = 700, .limit = 10 };

		row_fill(&r, "C00000000002", 700, NULL, "d.example", "pass");
		T_EQ_INT(store_put(s, &r, err, sizeof(err)), 0, L("put later id first"));
		row_fill(&r, "C00000000001", 700, NULL, "d.example", "pass");
		T_EQ_INT(store_put(s, &r, err, sizeof(err)), 0, L("put earlier id second"));
		T_EQ_INT(store_list(s, &q, &rows, &n, &more, err, sizeof(err)), 0, L("list 700"));
		T_EQ_INT(n, 2, L("two in the second"));
		T_EQ_STR(n ? rows[0].id : NULL, "C00000000002", L("same second: later id first"));
		store_rows_free(rows, n);
	}
}

/* A report's created time is when the daemon received the message. */
static void
t_record_created(const char *kind)
{
	struct store_row r;
	json_t *rep;

	rep = json_pack("{s:{s:s}}", "envelope", "received_at", "2026-11-27T03:04:05Z");
	record_row_from_report(&r, "D00000000001", rep);
	T_EQ_INT(r.created, 1795748645, L("created = envelope received_at"));
	record_row_clear(&r);
	json_decref(rep);
	rep = json_pack("{s:{s:s}}", "envelope", "received_at", "2026-11-27 03:04");
	record_row_from_report(&r, "D00000000002", rep);
	T_EQ_INT(r.created, 0, L("unreadable received_at: 0 (now, at put)"));
	record_row_clear(&r);
	json_decref(rep);
	rep = json_object();
	record_row_from_report(&r, "D00000000003", rep);
	T_EQ_INT(r.created, 0, L("no envelope (mailtest verify): 0"));
	record_row_clear(&r);
	json_decref(rep);
}

static void
t_prune(struct store *s, const char *kind)
{
	struct store_row r;
	char err[512], id[ID_LEN + 1];
	size_t removed = 0;
	int64_t now = (int64_t)time(NULL);
	int ok = 1;

	for (int i = 0; i < NPRUNE; i++) {
		snprintf(id, sizeof(id), "P%011d", i);
		row_fill(&r, id, 1000 + i, "old", "old.example", "none");
		ok &= store_put(s, &r, err, sizeof(err)) == 0;
	}
	T_OK(ok, L("old rows stored"));
	row_fill(&r, "P99999999999", now, "new", "new.example", "none");
	T_EQ_INT(store_put(s, &r, err, sizeof(err)), 0, L("new row"));
	T_EQ_INT(store_prune(s, now - 60, &removed, err, sizeof(err)), 0, L("prune"));
	/* the rows of the other cases (created 50..600) go too */
	T_OK(removed >= NPRUNE, L("more than one batch removed"));
	T_EQ_INT(store_exists(s, "P00000000000", err, sizeof(err)), 0, L("old row gone"));
	T_EQ_INT(store_exists(s, "P99999999999", err, sizeof(err)), 1, L("new row kept"));
}

struct putter {
	struct store	*s;
	int		 base, failed;
};

static void *
putter_main(void *arg)
{
	struct putter *p = arg;
	struct store_row r;
	char err[512], id[ID_LEN + 1];

	for (int i = 0; i < PER_THREAD; i++) {
		make_id(id, p->base + i);
		row_fill(&r, id, (int64_t)time(NULL), "threads", "t.example", "pass");
		if (store_put(p->s, &r, err, sizeof(err)) < 0) {
			fprintf(stderr, "put: %s\n", err);
			p->failed++;
		}
	}
	return NULL;
}

static void
t_threads(struct store *s, const char *kind)
{
	pthread_t th[NTHREADS];
	struct putter p[NTHREADS];
	struct store_query q = { .tag = "threads" };
	int failed = 0, more;

	for (int i = 0; i < NTHREADS; i++) {
		p[i].s = s;
		p[i].base = 100000 + i * 1000;
		p[i].failed = 0;
		pthread_create(&th[i], NULL, putter_main, &p[i]);
	}
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		failed += p[i].failed;
	}
	T_EQ_INT(failed, 0, L("no put failed under contention"));
	T_EQ_INT(count(s, &q, &more), NTHREADS * PER_THREAD, L("every row there"));
}

struct seen {
	pthread_mutex_t	 mu;
	int		 n;
	char		 tag[STORE_TAG_MAX + 1];
};

static void
on_put(void *arg, const char *tag)
{
	struct seen *w = arg;

	pthread_mutex_lock(&w->mu);
	if (tag) {
		w->n++;
		str_copy(w->tag, tag, sizeof(w->tag));
	}
	pthread_mutex_unlock(&w->mu);
}

/* Wait (bounded) until the subscriber saw tag. */
static int
seen_wait(struct seen *w, const char *tag)
{
	for (int i = 0; i < 400; i++) {
		int ok;

		pthread_mutex_lock(&w->mu);
		ok = strcmp(w->tag, tag) == 0;
		pthread_mutex_unlock(&w->mu);
		if (ok)
			return 1;
		usleep(50000);
	}
	return 0;
}

static void
t_subscribe(struct store *s, const char *kind)
{
	struct seen w = { .mu = PTHREAD_MUTEX_INITIALIZER };
	struct store_row r;
	char err[512];

	T_EQ_INT(store_subscribe(s, on_put, &w), 0, L("subscribe"));
	row_fill(&r, "N00000000001", 0, "notify-1", "n.example", "pass");
	T_EQ_INT(store_put(s, &r, err, sizeof(err)), 0, L("put"));
	T_OK(seen_wait(&w, "notify-1"), L("subscriber told of the put"));
	store_subscribe(s, NULL, NULL);
}

static void
t_open_errors(const char *dir)
{
	char err[512], *p = xasprintf("%s/none", dir);
	struct store *s;

	s = store_open("mysql:x", dir, NULL, 0, err, sizeof(err));
	T_OK(s == NULL && strstr(err, "expected sqlite:PATH") != NULL, "unknown backend");
	s = store_open("sqlite:", dir, NULL, 0, err, sizeof(err));
	T_OK(s == NULL, "sqlite: without a path");
	s = store_open("", p, NULL, STORE_NOCREATE, err, sizeof(err));
	T_OK(s == NULL && strstr(err, "no report has been stored") != NULL,
	    "NOCREATE on a missing file");
	free(p);
}

static void
t_sqlite_wal(const char *path)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	const char *mode = NULL;

	T_EQ_INT(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK,
	    "sqlite: open the file directly");
	if (sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		mode = (const char *)sqlite3_column_text(st, 0);
	T_EQ_STR(mode, "wal", "sqlite: the file is in WAL mode");
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* PostgreSQL: a second store (another instance) and a killed connection. */
static void
t_pg_shared(struct store *a, const char *spec, const char *conninfo)
{
	const char *kind = "postgresql";
	struct seen w = { .mu = PTHREAD_MUTEX_INITIALIZER };
	struct store *b;
	struct store_row r, g;
	char err[512];
	PGconn *admin;
	PGresult *res;
	int rc = -1;

	b = store_open(spec, "/nonexistent", NULL, 0, err, sizeof(err));
	T_OK(b != NULL, L("second store opens"));
	if (b == NULL)
		return;
	T_EQ_INT(store_subscribe(b, on_put, &w), 0, L("second store listens"));
	/* the listener reports itself with a tag-less call; give it a moment to
	 * LISTEN before the put (a missed NOTIFY would still be found by the
	 * long-poll's re-check, but this case is about NOTIFY) */
	for (int i = 0; i < 100 && w.n == 0; i++) {
		usleep(50000);
		row_fill(&r, "W00000000000", 0, "warmup", "w.example", "none");
		r.id[11] = (char)('0' + i % 10);
		store_put(a, &r, err, sizeof(err));
	}
	row_fill(&r, "S00000000001", 0, "shared-1", "s.example", "pass");
	T_EQ_INT(store_put(a, &r, err, sizeof(err)), 0, L("first store puts"));
	T_OK(seen_wait(&w, "shared-1"), L("second store got the NOTIFY"));
	T_EQ_INT(store_get(b, "S00000000001", &g, err, sizeof(err)), 0,
	    L("second store reads the row"));
	store_row_free(&g);

	/* the server ends every mailtest connection: the pool opens new ones */
	admin = PQconnectdb(conninfo);
	res = PQexec(admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
	    "WHERE application_name = 'mailtest'");
	T_EQ_INT(PQresultStatus(res), PGRES_TUPLES_OK, L("terminate backends"));
	PQclear(res);
	PQfinish(admin);
	for (int i = 0; i < STORE_CONNS + 1 && rc != 0; i++)
		rc = store_get(a, "S00000000001", &g, err, sizeof(err));
	T_EQ_INT(rc, 0, L("reconnected after the server closed the connections"));
	store_row_free(&g);
	store_close(b);
}

static void
suite(const char *spec, const char *dir, const char *kind)
{
	char err[512];
	struct store *s = store_open(spec, dir, NULL, 0, err, sizeof(err));

	T_OK(s != NULL, L("open"));
	if (s == NULL) {
		fprintf(stderr, "%s: %s\n", kind, err);
		return;
	}
	T_EQ_STR(store_kind(s), kind, L("kind"));
	t_roundtrip(s, kind);
	t_list(s, kind);
	t_threads(s, kind);
	t_subscribe(s, kind);
	t_prune(s, kind);
	if (strcmp(kind, "postgresql") == 0)
		t_pg_shared(s, spec, spec + strlen("postgresql:"));
	store_close(s);
	printf("test_store: the suite ran against %s\n", kind);
}

int
main(void)
{
	char dir[] = "/tmp/test_store.XXXXXX", *path, *rm;
	const char *pg = getenv("MAILTEST_STORE_PG");

	if (mkdtemp(dir) == NULL)
		return 2;
	t_record_created("record");
	suite("", dir, "sqlite");
	path = xasprintf("%s/reports.db", dir);
	t_sqlite_wal(path);
	t_open_errors(dir);
	if (pg && *pg) {
		char *spec = xasprintf("postgresql:%s", pg);

		suite(spec, dir, "postgresql");
		free(spec);
	} else
		printf("test_store: PostgreSQL not run here (MAILTEST_STORE_PG unset; "
		    "tests/test_store_pg.py runs it)\n");
	free(path);
	rm = xasprintf("rm -rf '%s'", dir);
	if (system(rm) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	free(rm);
	return t_done("test_store");
}
