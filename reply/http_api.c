/*
 * http_api.c - the parameters of every route and the JSON answers of the
 * API (see http.h, http_impl.h).  Parameters are checked on the loop
 * (http_params_parse(): unknown, repeated or malformed parameters are 400
 * with a JSON error naming the parameter); the answers are made on pool
 * threads.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "../common/log.h"
#include "../common/store.h"
#include "../common/util.h"
#include "http.h"
#include "http_impl.h"
#include "record.h"
#include "report.h"

#define HTTP_MAX_PARAMS		16	/* parameters in one query string */
#define JSON_FLAGS		(JSON_INDENT(2) | JSON_PRESERVE_ORDER | \
				 JSON_REAL_PRECISION(6))

/* ---- errors ----------------------------------------------------------------------- */

void
http_error(struct http_resp *r, int status, const char *fmt, ...)
{
	json_t *o = json_object();
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_set_new(o, "error", report_jstr(msg));
	free(r->body);
	r->body = json_dumps(o, JSON_COMPACT);
	r->len = r->body ? strlen(r->body) : 0;
	r->ctype = HTTP_JSON;
	r->status = status;
	json_decref(o);
}

static void
json_resp(struct http_resp *r, json_t *o)
{
	free(r->body);
	r->body = json_dumps(o, JSON_FLAGS);
	if (r->body == NULL) {
		http_error(r, 500, "cannot encode the answer");
		return;
	}
	r->len = strlen(r->body);
	r->ctype = HTTP_JSON;
	r->status = 200;
}

/* ---- parameters ---------------------------------------------------------------------- */

/* "2026-05-01T12:00:00Z", "...T12:00:00.25+02:00", or "1777636800". */
int
http_parse_time(const char *s, int64_t *out)
{
	struct tm tm = { 0 };
	const char *p;
	long off = 0;
	int64_t t;
	char *end;

	if (*s >= '0' && *s <= '9' && s[strspn(s, "0123456789")] == '\0') {
		if (strlen(s) > 12)
			return -1;
		t = strtoll(s, &end, 10);
		if (t > HTTP_TIME_MAX)
			return -1;
		*out = t;
		return 0;
	}
	p = strptime(s, "%Y-%m-%d", &tm);
	if (p == NULL || (*p != 'T' && *p != 't') || strlen(s) < 20 ||
	    (p = strptime(p + 1, "%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*p == '.') {
		p++;
		if (strspn(p, "0123456789") == 0 || strspn(p, "0123456789") > 9)
			return -1;
		p += strspn(p, "0123456789");
	}
	if (*p == 'Z' || *p == 'z')
		p++;
	else if ((*p == '+' || *p == '-' || *p == ' ') && strlen(p) == 6 && p[3] == ':' &&
	    strspn(p + 1, "0123456789") == 2 && strspn(p + 4, "0123456789") == 2) {
		/* a '+' that a form decoded into a space is still a '+' */
		off = ((p[1] - '0') * 10 + (p[2] - '0')) * 3600L +
		    ((p[4] - '0') * 10 + (p[5] - '0')) * 60L;
		if (off >= 24 * 3600)
			return -1;
		if (*p == '-')
			off = -off;
		p += 6;
	} else
		return -1;
	if (*p != '\0' || tm.tm_sec > 60)
		return -1;
	t = (int64_t)timegm(&tm) - off;
	if (t < 0 || t > HTTP_TIME_MAX)
		return -1;
	*out = t;
	return 0;
}

static int
domain_ok(const char *d)
{
	size_t n = strlen(d);

	return n > 0 && n <= HTTP_DOMAIN_MAX && strspn(d,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") == n;
}

static int
num(const char *v, long min, long max, long *out)
{
	return strspn(v, "0123456789") == strlen(v) && *v && strlen(v) <= 9 &&
	    str_to_long(v, min, max, out) == 0 ? 0 : -1;
}

/* The parameters each route takes ("verdict" may repeat). */
static const char *const route_params[][8] = {
	[ROUTE_LIST] = { "tag", "since", "until", "domain", "verdict", "limit", "offset" },
	[ROUTE_REPORT] = { NULL },
	[ROUTE_RAW] = { NULL },
	[ROUTE_WAIT] = { "tag", "timeout", "since" },
	[ROUTE_PAGE_LIST] = { "tag", "domain", "verdict", "offset" },
	[ROUTE_PAGE_REPORT] = { NULL },
};

static int
param_one(enum http_route route, const char *k, const char *v, struct http_params *p,
    char *err, size_t errlen)
{
	int page = route == ROUTE_PAGE_LIST;
	long n;

	if (page && *v == '\0')		/* an empty form field filters nothing */
		return 0;
	if (strcmp(k, "tag") == 0) {
		if (!store_tag_valid(v))
			goto out_bad;
		str_copy(p->tag, v, sizeof(p->tag));
	} else if (strcmp(k, "domain") == 0) {
		if (!domain_ok(v))
			goto out_bad;
		str_copy(p->domain, v, sizeof(p->domain));
		str_lower(p->domain);
	} else if (strcmp(k, "since") == 0 || strcmp(k, "until") == 0) {
		if (http_parse_time(v, k[0] == 's' ? &p->since : &p->until) < 0)
			goto out_bad;
	} else if (strcmp(k, "verdict") == 0) {
		const char *colon = strchr(v, ':');
		char mech[16];
		enum store_mech m;

		if (p->nverdict == STORE_MAX_VERDICTS) {
			snprintf(err, errlen, "verdict: at most %d", STORE_MAX_VERDICTS);
			return -1;
		}
		if (colon == NULL || (size_t)(colon - v) >= sizeof(mech))
			goto out_bad;
		memcpy(mech, v, (size_t)(colon - v));
		mech[colon - v] = '\0';
		if (store_mech_from_name(mech, &m) < 0 || !store_word_valid(m, colon + 1))
			goto out_bad;
		p->vmech[p->nverdict] = m;
		str_copy(p->vword[p->nverdict++], colon + 1, sizeof(p->vword[0]));
	} else if (strcmp(k, "limit") == 0) {
		if (num(v, 1, STORE_LIST_MAX, &n) < 0)
			goto out_bad;
		p->limit = (size_t)n;
	} else if (strcmp(k, "offset") == 0) {
		if (num(v, 0, HTTP_OFFSET_MAX, &n) < 0)
			goto out_bad;
		p->offset = (size_t)n;
	} else if (strcmp(k, "timeout") == 0) {
		if (num(v, 0, HTTP_WAIT_MAX, &n) < 0)
			goto out_bad;
		p->timeout = (int)n;
	}
	return 0;
out_bad:
	if (strcmp(k, "tag") == 0)
		snprintf(err, errlen, "tag: 1 to %d characters of A-Z a-z 0-9 . _ = -",
		    STORE_TAG_MAX);
	else if (strcmp(k, "domain") == 0)
		snprintf(err, errlen, "domain: a domain name of at most %d characters",
		    HTTP_DOMAIN_MAX);
	else if (strcmp(k, "verdict") == 0)
		snprintf(err, errlen, "verdict: MECHANISM:RESULT, e.g. dmarc:pass "
		    "(spf, dkim, dmarc, adsp, iprev and their RFC 8601 result words)");
	else if (k[0] == 's' || k[0] == 'u')
		snprintf(err, errlen, "%s: an RFC 3339 time (2026-05-01T12:00:00Z) or "
		    "seconds since the epoch", k);
	else
		snprintf(err, errlen, "%s: a number from %d to %d", k,
		    strcmp(k, "limit") == 0 ? 1 : 0, strcmp(k, "limit") == 0 ?
		    STORE_LIST_MAX : strcmp(k, "offset") == 0 ? HTTP_OFFSET_MAX :
		    HTTP_WAIT_MAX);
	return -1;
}

int
http_params_parse(enum http_route route, const char *query, struct http_params *p,
    char *err, size_t errlen)
{
	struct evkeyvalq kv;
	struct evkeyval *e;
	size_t n = 0, seen[8] = { 0 };
	int rc = 0;

	memset(p, 0, sizeof(*p));
	p->limit = HTTP_LIST_DEFAULT;
	p->timeout = HTTP_WAIT_DEFAULT;
	TAILQ_INIT(&kv);
	if (query && *query && evhttp_parse_query_str(query, &kv) < 0) {
		snprintf(err, errlen, "malformed query string");
		rc = -1;
		goto out_clear;
	}
	TAILQ_FOREACH(e, &kv, next)
		n++;
	if (n > HTTP_MAX_PARAMS) {
		snprintf(err, errlen, "at most %d parameters", HTTP_MAX_PARAMS);
		rc = -1;
		goto out_clear;
	}
	TAILQ_FOREACH(e, &kv, next) {
		size_t i;

		for (i = 0; i < 8 && route_params[route][i]; i++)
			if (strcmp(e->key, route_params[route][i]) == 0)
				break;
		if (i == 8 || route_params[route][i] == NULL) {
			snprintf(err, errlen, "unknown parameter \"%.40s\"", e->key);
			rc = -1;
			break;
		}
		if (seen[i]++ && strcmp(e->key, "verdict") != 0) {
			snprintf(err, errlen, "%s: given more than once", e->key);
			rc = -1;
			break;
		}
		if ((rc = param_one(route, e->key, e->value, p, err, errlen)) < 0)
			break;
	}
	if (rc == 0 && route == ROUTE_WAIT && p->tag[0] == '\0') {
		snprintf(err, errlen, "tag: required");
		rc = -1;
	}
	if (rc == 0 && p->since && p->until && p->until <= p->since) {
		snprintf(err, errlen, "until: must be after since");
		rc = -1;
	}
out_clear:
	evhttp_clear_headers(&kv);
	return rc;
}

/* ---- answers ------------------------------------------------------------------------- */

static json_t *
jtime(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char buf[32];

	gmtime_r(&tt, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

static json_t *
summary(const struct store_row *r)
{
	json_t *o = json_object(), *v = json_object(), *rep = json_object();

	json_object_set_new(o, "id", json_string(r->id));
	json_object_set_new(o, "created", jtime(r->created));
	json_object_set_new(o, "tag", report_jstr(r->tag));
	json_object_set_new(o, "from_domain", report_jstr(r->from_domain));
	json_object_set_new(o, "sender_domain", report_jstr(r->sender_domain));
	json_object_set_new(o, "mail_from", report_jstr(r->mail_from));
	json_object_set_new(o, "client_ip", report_jstr(r->client_ip));
	json_object_set_new(o, "subject", report_jstr(r->subject));
	for (int i = 0; i < STORE_NMECH; i++)
		json_object_set_new(v, store_mech_name((enum store_mech)i),
		    report_jstr(r->verdict[i]));
	json_object_set_new(o, "verdicts", v);
	json_object_set_new(rep, "state", report_jstr(r->reply_state));
	json_object_set_new(rep, "detail", report_jstr(r->reply_detail));
	json_object_set_new(rep, "attempts", json_integer(r->reply_attempts));
	json_object_set_new(rep, "updated", jtime(r->reply_updated));
	json_object_set_new(o, "reply", rep);
	json_object_set_new(o, "url", json_sprintf("/api/v1/reports/%s", r->id));
	return o;
}

/* The query of a list or a wait. */
static void
query_of(const struct http_params *p, struct store_query *q)
{
	memset(q, 0, sizeof(*q));
	q->tag = p->tag[0] ? p->tag : NULL;
	q->domain = p->domain[0] ? p->domain : NULL;
	q->since = p->since;
	q->until = p->until;
	for (size_t i = 0; i < p->nverdict; i++) {
		q->verdict[i].mech = p->vmech[i];
		q->verdict[i].word = p->vword[i];
	}
	q->nverdict = p->nverdict;
	q->limit = p->limit ? p->limit : HTTP_LIST_DEFAULT;
	q->offset = p->offset;
}

void
http_api_list(const struct http_ctx *c, const struct http_params *p, struct http_resp *r)
{
	struct store_query q;
	struct store_row *rows;
	size_t n;
	int more;
	char err[512];
	json_t *o, *a;

	query_of(p, &q);
	if (store_list(c->store, &q, &rows, &n, &more, err, sizeof(err)) < 0) {
		log_err(NULL, "http", "list failed: %s", err);
		http_error(r, 500, "the report store failed");
		return;
	}
	o = json_object();
	a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, summary(&rows[i]));
	json_object_set_new(o, "reports", a);
	json_object_set_new(o, "count", json_integer((json_int_t)n));
	json_object_set_new(o, "limit", json_integer((json_int_t)q.limit));
	json_object_set_new(o, "offset", json_integer((json_int_t)q.offset));
	json_object_set_new(o, "more", json_boolean(more));
	json_resp(r, o);
	json_decref(o);
	store_rows_free(rows, n);
}

void
http_api_report(const struct http_ctx *c, const char *id, struct http_resp *r)
{
	json_t *rec;
	char err[512];

	if (record_load(c->spool_dir, id, &rec, err, sizeof(err)) < 0) {
		if (errno == ENOENT) {
			http_error(r, 404, "no report %s", id);
			return;
		}
		log_err(id, "http", "load failed: %s", err);
		http_error(r, 500, "the report store failed");
		return;
	}
	json_resp(r, rec);
	json_decref(rec);
}

void
http_api_raw(const struct http_ctx *c, const char *id, struct http_resp *r)
{
	struct store_row row;
	char err[512];
	int rc = store_get(c->store, id, &row, err, sizeof(err));

	if (rc == 1) {
		http_error(r, 404, "no report %s", id);
		return;
	}
	if (rc < 0) {
		log_err(id, "http", "load failed: %s", err);
		http_error(r, 500, "the report store failed");
		return;
	}
	r->status = 200;
	r->ctype = HTTP_TEXT;
	r->body = row.headers ? row.headers : xstrdup("");
	r->len = row.headers ? row.headers_len : 0;
	row.headers = NULL;
	store_row_free(&row);
}

int
http_api_wait(const struct http_ctx *c, const struct http_params *p, struct http_resp *r)
{
	struct http_params one = *p;
	struct store_query q;
	struct store_row *rows;
	size_t n;
	int more;
	char err[512], id[ID_LEN + 1];

	one.limit = 1;
	one.offset = 0;
	query_of(&one, &q);
	if (store_list(c->store, &q, &rows, &n, &more, err, sizeof(err)) < 0) {
		log_err(NULL, "http", "wait query failed: %s", err);
		http_error(r, 500, "the report store failed");
		return -1;
	}
	if (n == 0) {
		store_rows_free(rows, n);
		return 0;
	}
	str_copy(id, rows[0].id, sizeof(id));
	store_rows_free(rows, n);
	http_api_report(c, id, r);
	return r->status == 200 ? 1 : -1;
}
