/* record.c - see record.h */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/log.h"
#include "../common/store.h"
#include "../common/util.h"
#include "record.h"
#include "report.h"
#include "textfmt.h"

struct binding {
	char		*spool;		/* owned; NULL = free slot */
	struct store	*store;		/* owned */
	int		 refs;
};

static pthread_mutex_t bind_mu = PTHREAD_MUTEX_INITIALIZER;
static struct binding bindings[RECORD_MAX_STORES];

int
record_open(const struct config *cf, int flags, char *err, size_t errlen)
{
	struct binding *free_slot = NULL;
	struct store *s;
	int rc = -1;

	pthread_mutex_lock(&bind_mu);
	for (size_t i = 0; i < RECORD_MAX_STORES; i++) {
		if (bindings[i].spool && strcmp(bindings[i].spool, cf->spool_dir) == 0) {
			bindings[i].refs++;
			rc = 0;
			goto out_unlock;
		}
		if (bindings[i].spool == NULL && free_slot == NULL)
			free_slot = &bindings[i];
	}
	if (free_slot == NULL) {
		snprintf(err, errlen, "more than %d report stores open", RECORD_MAX_STORES);
		goto out_unlock;
	}
	if ((s = store_open(cf->store, cf->spool_dir, cf->user, flags, err, errlen)) == NULL)
		goto out_unlock;
	free_slot->spool = xstrdup(cf->spool_dir);
	free_slot->store = s;
	free_slot->refs = 1;
	log_info(NULL, "record", "store open kind=%s where=%s", store_kind(s),
	    store_where(s));
	rc = 0;
out_unlock:
	pthread_mutex_unlock(&bind_mu);
	return rc;
}

void
record_close(const char *spool_dir)
{
	pthread_mutex_lock(&bind_mu);
	for (size_t i = 0; i < RECORD_MAX_STORES; i++)
		if (bindings[i].spool && strcmp(bindings[i].spool, spool_dir) == 0) {
			if (--bindings[i].refs == 0) {
				store_close(bindings[i].store);
				free(bindings[i].spool);
				memset(&bindings[i], 0, sizeof(bindings[i]));
			}
			break;
		}
	pthread_mutex_unlock(&bind_mu);
}

struct store *
record_store(const char *spool_dir)
{
	struct store *s = NULL;

	pthread_mutex_lock(&bind_mu);
	for (size_t i = 0; i < RECORD_MAX_STORES && s == NULL; i++)
		if (bindings[i].spool && strcmp(bindings[i].spool, spool_dir) == 0)
			s = bindings[i].store;
	pthread_mutex_unlock(&bind_mu);
	return s;
}

static struct store *
store_for(const char *spool_dir, char *err, size_t errlen)
{
	struct store *s = record_store(spool_dir);

	if (s == NULL)
		snprintf(err, errlen, "no report store is open for %s", spool_dir);
	return s;
}

/* ---- the row ------------------------------------------------------------------ */

static const char *
jget(json_t *o, const char *a, const char *b)
{
	json_t *v = json_object_get(o, a);

	if (b)
		v = json_object_get(v, b);
	return json_string_value(v);
}

static char *
nz_dup(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static char *
lower_dup(const char *s)
{
	char *d;

	if (s == NULL || *s == '\0')
		return NULL;
	d = xstrdup(s);
	str_lower(d);
	return d;
}

/* The DKIM word of the subject line: pass if any passed, else the first's. */
static const char *
dkim_overall(json_t *report)
{
	json_t *a = json_object_get(report, "dkim"), *sig;
	size_t i;

	if (!json_is_array(a) || json_array_size(a) == 0)
		return "none";
	json_array_foreach(a, i, sig)
		if (json_string_value(json_object_get(sig, "result")) &&
		    strcmp(json_string_value(json_object_get(sig, "result")), "pass") == 0)
			return "pass";
	return jget(json_array_get(a, 0), "result", NULL);
}

/* The envelope's received_at (RFC 3339 UTC, as the daemon writes it) in
 * seconds since the epoch: a report's "created", so that the list is in the
 * order the messages arrived, not the order the workers finished.  0 (the
 * store then takes the current time) when absent, as for mailtest verify. */
static int64_t
received_time(const char *s)
{
	struct tm tm;
	const char *end;

	if (s == NULL)
		return 0;
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end == NULL || *end != '\0')
		return 0;
	return (int64_t)timegm(&tm);
}

void
record_row_from_report(struct store_row *r, const char *id, json_t *report)
{
	const char *mf = jget(report, "envelope", "mail_from");
	const char *tag = jget(report, "envelope", "tag"), *at;
	const char *subject = jget(report, "message", "subject");

	memset(r, 0, sizeof(*r));
	str_copy(r->id, id, sizeof(r->id));
	if (tag && store_tag_valid(tag)) {
		r->tag = xstrdup(tag);
		r->tag_base = xstrndup(tag, strcspn(tag, "."));
	}
	r->client_ip = nz_dup(jget(report, "envelope", "client_ip"));
	r->helo = nz_dup(jget(report, "envelope", "helo"));
	r->mail_from = nz_dup(mf);
	if (mf && (at = strrchr(mf, '@')) != NULL)
		r->sender_domain = lower_dup(at + 1);
	r->from_domain = lower_dup(jget(report, "message", "from_domain"));
	r->subject = subject ? textfmt_clean(subject, RECORD_MAX_SUBJECT, 1) : NULL;
	r->verdict[STORE_SPF] = nz_dup(jget(report, "spf", "result"));
	r->verdict[STORE_DKIM] = nz_dup(dkim_overall(report));
	r->verdict[STORE_DMARC] = nz_dup(jget(report, "dmarc", "result"));
	r->verdict[STORE_ADSP] = nz_dup(jget(report, "adsp", "result"));
	r->verdict[STORE_IPREV] = nz_dup(jget(report, "iprev", "result"));
	r->created = received_time(jget(report, "envelope", "received_at"));
}

/* Frees what record_row_from_report() allocated (not report/headers). */
void
record_row_clear(struct store_row *r)
{
	r->report = NULL;
	r->headers = NULL;
	r->reply_state = NULL;
	r->reply_detail = NULL;
	store_row_free(r);
}

/* ---- the entry points --------------------------------------------------------- */

int
record_exists(const char *spool_dir, const char *id)
{
	char err[512];
	struct store *s;
	int rc;

	if (!id_valid(id) || (s = store_for(spool_dir, err, sizeof(err))) == NULL)
		return 0;
	if ((rc = store_exists(s, id, err, sizeof(err))) < 0) {
		/* treated as absent: reply_process() then does everything again
		 * and fails at record_outcome(), so the message stays spooled */
		log_err(id, "record", "exists failed: %s", err);
		return 0;
	}
	return rc;
}

int
record_outcome(const char *spool_dir, const char *id, json_t *report,
    const struct record_outcome *o, char *err, size_t errlen)
{
	json_t *rec, *rep;
	struct store_row row;
	struct store *s;
	char *text, *detail = NULL;
	int rc;

	if (!id_valid(id)) {
		snprintf(err, errlen, "bad id");
		return -1;
	}
	if ((s = store_for(spool_dir, err, errlen)) == NULL)
		return -1;
	rec = json_deep_copy(report);
	rep = json_object();
	json_object_set_new(rep, "status", report_jstr(o->status));
	json_object_set_new(rep, "reason", report_jstr(o->reason));
	json_object_set_new(rep, "detail", report_jstr(o->detail));
	json_object_set_new(rep, "to", report_jstr(o->to));
	json_object_set_new(rep, "chosen_by", report_jstr(o->chosen_by));
	json_object_set_new(rep, "at", report_jstr(o->at));
	json_object_set_new(rec, "reply", rep);
	text = json_dumps(rec, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	if (text == NULL) {
		snprintf(err, errlen, "json_dumps failed");
		json_decref(rec);
		return -1;
	}
	record_row_from_report(&row, id, rec);
	row.report = text;
	row.headers = (char *)o->headers;
	row.headers_len = o->headers ? o->headers_len : 0;
	if (o->status && strcmp(o->status, "suppressed") == 0) {
		row.reply_state = STORE_SUPPRESSED;
		char *raw = xasprintf("%s%s%s", o->reason ? o->reason : "",
		    o->reason && o->detail ? ": " : "", o->detail ? o->detail : "");

		/* text columns are valid UTF-8 (PostgreSQL refuses anything else) */
		detail = textfmt_clean(raw, TEXTFMT_MAX_VALUE, 1);
		free(raw);
		row.reply_detail = detail;
	} else
		row.reply_state = STORE_QUEUED;
	rc = store_put(s, &row, err, errlen);
	record_row_clear(&row);
	free(detail);
	free(text);
	json_decref(rec);
	return rc;
}

static void
rfc3339(int64_t t, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int
record_load(const char *spool_dir, const char *id, json_t **out, char *err,
    size_t errlen)
{
	struct store_row row;
	struct store *s;
	json_error_t je;
	json_t *rep, *del;
	char when[32];
	int rc;

	if (!id_valid(id)) {
		snprintf(err, errlen, "\"%s\" is not a mailtest id (12 characters 0-9 A-Z)",
		    id);
		return -1;
	}
	if ((s = store_for(spool_dir, err, errlen)) == NULL)
		return -1;
	if ((rc = store_get(s, id, &row, err, errlen)) != 0) {
		if (rc == 1) {
			snprintf(err, errlen, "%s: no such report", id);
			errno = ENOENT;
		} else
			errno = EIO;
		return -1;
	}
	*out = json_loads(row.report ? row.report : "", 0, &je);
	if (*out == NULL || !json_is_object(*out)) {
		snprintf(err, errlen, "%s: stored report is not JSON: %s", id, je.text);
		json_decref(*out);
		*out = NULL;
		store_row_free(&row);
		return -1;
	}
	if ((rep = json_object_get(*out, "reply")) == NULL) {
		rep = json_object();
		json_object_set_new(*out, "reply", rep);
	}
	del = json_object();
	rfc3339(row.reply_updated, when, sizeof(when));
	json_object_set_new(del, "state", report_jstr(row.reply_state));
	json_object_set_new(del, "detail", report_jstr(row.reply_detail));
	json_object_set_new(del, "attempts", json_integer(row.reply_attempts));
	json_object_set_new(del, "updated", json_string(when));
	json_object_set_new(rep, "delivery", del);
	store_row_free(&row);
	return 0;
}

int
record_delivery(const char *spool_dir, const char *id, const char *state,
    const char *detail, int attempts)
{
	char err[512], *clean;
	struct store *s;
	int rc;

	if ((s = store_for(spool_dir, err, sizeof(err))) == NULL) {
		log_err(id, "record", "delivery state=%s not recorded: %s", state, err);
		return -1;
	}
	clean = detail ? textfmt_clean(detail, TEXTFMT_MAX_VALUE, 1) : NULL;
	rc = store_set_delivery(s, id, state, clean, attempts, err, sizeof(err));
	free(clean);
	if (rc < 0)
		log_err(id, "record", "delivery state=%s not recorded: %s", state, err);
	else if (rc == 1)
		log_warn(id, "record", "delivery state=%s: no report with this id", state);
	return rc < 0 ? -1 : 0;
}
