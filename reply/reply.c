/*
 * reply.c - from a verified message to a durable outcome (see reply.h).
 *
 * Crash safety of reply_process(), per message id, in this order:
 *   1. the report mail is written to SPOOL/outbound/ID.new (durable; the
 *      delivery threads ignore *.new)
 *   2. the outcome is recorded (the report store, record.h; durable)
 *   3. ID.new is renamed to ID (durable) and the threads are told.
 * Processing the id again: when the record exists, only step 3 is
 * finished (if ID.new is still there) - so a report that was already
 * delivered and removed from the queue is never queued twice, and one
 * that was recorded but not yet promoted is not lost.  Without a record,
 * everything is done again (overwriting ID.new).
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/dns.h"
#include "../common/log.h"
#include "../common/metrics.h"
#include "../common/msg.h"
#include "../common/util.h"
#include "deliver.h"
#include "dkimsign.h"
#include "mime.h"
#include "outq.h"
#include "policy.h"
#include "ratelimit.h"
#include "record.h"
#include "reply.h"
#include "report.h"
#include "signer.h"

#define ORIG_HEADER_SCAN	(1024 * 1024)	/* where to look for the end of an unparsable header */

struct reply_ctx {
	struct config	 pcf;		/* owned: the keys the policy reads */
	char		*spool_dir;	/* owned */
	char		*outq_dir;	/* owned */
	char		*hostname;	/* owned */
	char		*authserv_id;	/* owned */
	char		*report_from;	/* owned */
	struct signer	*signer;	/* owned: the signing process (signer.h) */
	struct rate	*rate;		/* owned */
	struct deliver	*deliver;	/* owned */
	int		 started;
	int		 record_open;	/* record_open() succeeded: record_close() */
};

void
reply_report_from(const struct config *cf, char *buf, size_t n)
{
	if (cf->report_from && *cf->report_from)
		str_copy(buf, cf->report_from, n);
	else
		snprintf(buf, n, "mailtest@%s", cf->hostname && *cf->hostname ?
		    cf->hostname : "localhost");
}

void
reply_sign_domain(const struct config *cf, char *buf, size_t n)
{
	char from[512];
	const char *at;

	if (cf->dkim_sign_domain && *cf->dkim_sign_domain) {
		str_copy(buf, cf->dkim_sign_domain, n);
		return;
	}
	reply_report_from(cf, from, sizeof(from));
	at = strrchr(from, '@');
	str_copy(buf, at ? at + 1 : from, n);
}

static void
copy_list(struct config_list *dst, const struct config_list *src)
{
	dst->n = src->n;
	for (size_t i = 0; i < src->n; i++)
		dst->v[i] = xstrdup(src->v[i]);
}

static void
policy_config(struct config *p, const struct config *cf)
{
	memset(p, 0, sizeof(*p));
	p->reply = cf->reply;
	copy_list(&p->reply_tags, &cf->reply_tags);
	copy_list(&p->check_address, &cf->check_address);
	p->reply_policy = xstrdup(cf->reply_policy);
	p->tag_separator = xstrdup(cf->tag_separator ? cf->tag_separator : "");
	p->smtp_received_limit = cf->smtp_received_limit;
}

/*
 * reply_ctx_new() runs before privileges are dropped: what it creates
 * must belong to the user the workers will run as.
 */
static void
give_to_user(const char *path, const char *user)
{
	struct passwd *pw;

	if (geteuid() != 0 || user == NULL || *user == '\0')
		return;
	if ((pw = getpwnam(user)) == NULL || chown(path, pw->pw_uid, pw->pw_gid) < 0)
		log_warn(NULL, "reply", "chown %s to %s: %s", path, user,
		    pw ? strerror(errno) : "no such user");
}

static int
make_dir(const char *spool, const char *sub, const char *user, char *err, size_t errlen)
{
	char *d = sub ? xasprintf("%s/%s", spool, sub) : xstrdup(spool);
	int rc = 0;

	if (mkdir(d, 0750) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", d, strerror(errno));
		rc = -1;
	} else if (sub != NULL)
		give_to_user(d, user);
	free(d);
	return rc;
}

/*
 * The report-signing key lives in a process of its own (signer.h): this
 * process never opens the key file.  Called before privileges are dropped
 * and before any thread starts.
 */
int
reply_signer_start(struct reply_ctx *r, const struct config *cf,
    const struct signer_user *u, char *err, size_t errlen)
{
	struct dkimsign_config dc;
	char domain[256];
	char *zone;

	reply_sign_domain(cf, domain, sizeof(domain));
	dc.key_path = cf->dkim_sign_key;
	dc.spool_dir = cf->spool_dir;
	dc.selector = cf->dkim_sign_selector;
	dc.domain = domain;
	dc.algorithm = cf->dkim_sign_algorithm;
	if ((r->signer = signer_start(&dc, u, err, errlen)) == NULL)
		return -1;
	zone = signer_zone_line(r->signer);
	if (signer_generated(r->signer))
		log_warn(NULL, "reply", "dkim-key generated key=%s: publish %s",
		    signer_key_path(r->signer), zone);
	else
		log_info(NULL, "reply", "dkim-key key=%s record=%s",
		    signer_key_path(r->signer), zone);
	free(zone);
	return 0;
}

struct reply_ctx *
reply_ctx_new(const struct config *cf, struct dns_resolver *dns, char *err, size_t errlen)
{
	struct reply_ctx *r = xcalloc(1, sizeof(*r));
	char from[512], *ratelog;

	policy_config(&r->pcf, cf);
	r->spool_dir = xstrdup(cf->spool_dir);
	r->outq_dir = xasprintf("%s/outbound", cf->spool_dir);
	r->hostname = xstrdup(cf->hostname && *cf->hostname ? cf->hostname : "localhost");
	r->authserv_id = xstrdup(cf->authserv_id && *cf->authserv_id ? cf->authserv_id :
	    r->hostname);
	reply_report_from(cf, from, sizeof(from));
	r->report_from = xstrdup(from);
	if (make_dir(cf->spool_dir, NULL, cf->user, err, errlen) < 0 ||
	    make_dir(cf->spool_dir, "outbound", cf->user, err, errlen) < 0)
		goto out_fail;
	if (record_open(cf, 0, err, errlen) < 0)
		goto out_fail;
	r->record_open = 1;
	ratelog = xasprintf("%s/ratelimit.log", cf->spool_dir);
	r->rate = rate_open(ratelog, cf->rate_per_address, cf->rate_per_domain,
	    cf->rate_per_ip, time(NULL), err, errlen);
	if (r->rate)
		give_to_user(ratelog, cf->user);
	free(ratelog);
	if (r->rate == NULL)
		goto out_fail;
	if ((r->deliver = deliver_new(cf, dns, r->hostname, err, errlen)) == NULL)
		goto out_fail;
	return r;
out_fail:
	reply_ctx_free(r);
	return NULL;
}

void
reply_ctx_free(struct reply_ctx *r)
{
	if (r == NULL)
		return;
	if (r->deliver)
		deliver_free(r->deliver);
	rate_close(r->rate);
	signer_stop(r->signer);
	if (r->record_open)
		record_close(r->spool_dir);
	config_free(&r->pcf);
	free(r->spool_dir);
	free(r->outq_dir);
	free(r->hostname);
	free(r->authserv_id);
	free(r->report_from);
	free(r);
}

int
reply_start(struct reply_ctx *r)
{
	if (r->started)
		return 0;
	if (deliver_start(r->deliver) < 0)
		return -1;
	r->started = 1;
	return 0;
}

void
reply_stop(struct reply_ctx *r)
{
	if (r->started)
		deliver_stop(r->deliver);
	r->started = 0;
}

size_t
reply_pending(struct reply_ctx *r)
{
	return deliver_pending(r->deliver);
}

size_t
reply_due(struct reply_ctx *r)
{
	return deliver_due(r->deliver);
}

/* The tested message's header block, as received (bounded). */
static size_t
orig_header_len(const char *msg, size_t len)
{
	struct msg m;
	size_t n;

	if (msg_parse(&m, msg, len, NULL) == 0) {
		n = m.header_len;
		msg_free(&m);
		return n;
	}
	msg_free(&m);
	for (n = 0; n < len && n < ORIG_HEADER_SCAN; n++)
		if (msg[n] == '\n' && (n + 1 == len || msg[n + 1] == '\n' ||
		    (msg[n + 1] == '\r' && n + 2 < len && msg[n + 2] == '\n')))
			return n + 1;
	return n;
}

/* Compose, sign and write SPOOL/outbound/ID.new. */
static int
queue_report(struct reply_ctx *r, const struct spool_env *env, const char *msg,
    size_t msglen, const struct verify_result *res, const struct report_meta *meta,
    const char *json, const char *rcpt)
{
	struct mime_report mr = { 0 };
	struct outq_entry e = { 0 };
	char msgid[512], err[512];
	char *subject = report_subject(res), *text = report_text(res, meta);
	char *html = report_html(res, meta), *mail, *sig;
	size_t len;
	int rc;

	snprintf(msgid, sizeof(msgid), "<%s.report@%s>", env->id,
	    dns_name_ok(r->hostname) ? r->hostname : "localhost");
	mr.id = env->id;
	mr.from = r->report_from;
	mr.to = rcpt;
	mr.subject = subject;
	mr.message_id = msgid;
	mr.in_reply_to = res->message_id;
	mr.loop_token = r->hostname;
	mr.date = time(NULL);
	mr.text = text;
	mr.html = html;
	mr.json = json;
	mr.orig_header = msg;
	mr.orig_header_len = orig_header_len(msg, msglen);
	mail = mime_compose(&mr, &len);
	if (r->signer == NULL)
		snprintf(err, sizeof(err), "no signer process");
	if ((sig = r->signer ? signer_sign(r->signer, mail, len, env->id, err,
	    sizeof(err)) : NULL) == NULL)
		log_err(env->id, "reply", "dkim-sign failed, sending unsigned: %s", err);
	str_copy(e.id, env->id, sizeof(e.id));
	e.rcpt = (char *)rcpt;
	e.created = time(NULL);
	e.next_try = e.created;
	e.msg = sig ? xasprintf("%s%s", sig, mail) : mail;
	e.msglen = sig ? strlen(sig) + len : len;
	rc = outq_write(r->outq_dir, &e, ".new", err, sizeof(err));
	if (rc < 0)
		log_err(env->id, "reply", "queue write failed: %s", err);
	if (sig) {
		free(e.msg);
		free(sig);
	}
	free(mail);
	free(subject);
	free(text);
	free(html);
	return rc;
}

/* Finish step 3 for an id whose outcome is recorded. */
static int
finish_promotion(struct reply_ctx *r, const char *id, int resumed)
{
	char *pending = xasprintf("%s/%s.new", r->outq_dir, id), err[512];
	int rc = 0;

	if (access(pending, F_OK) == 0) {
		if (outq_promote(r->outq_dir, id, err, sizeof(err)) < 0) {
			log_err(id, "reply", "promote failed: %s", err);
			rc = -1;
		} else {
			if (resumed)
				log_info(id, "reply", "queued (finished after a restart)");
			deliver_notify(r->deliver, id);
		}
	}
	free(pending);
	return rc;
}

static void
rfc3339_now(char *buf, size_t n)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
log_outcome(const char *id, const struct policy_decision *d)
{
	char a[POLICY_MAX_ADDR + 1], b[300];

	if (d->send) {
		log_info(id, "reply", "queued to=<%s> chosen_by=%s",
		    log_safe(a, sizeof(a), d->rcpt), d->chosen_by);
		metrics_inc(METRIC_REPLIES_QUEUED);
	} else {
		log_info(id, "reply", "suppressed reason=%s detail=\"%s\"", d->reason,
		    log_safe(b, sizeof(b), d->detail));
		metrics_add_label(METRIC_REPLIES_SUPPRESSED, d->reason, NULL, 1);
	}
}

int
reply_process(struct reply_ctx *r, const struct spool_env *env, const char *msg,
    size_t msglen, const struct verify_result *res)
{
	struct report_meta meta = { 0 };
	struct policy_input in = { 0 };
	struct policy_decision d;
	struct record_outcome o = { 0 };
	enum rate_verdict rv;
	char port[16], at[32], err[512], *json;
	json_t *report;
	int rc = -1;

	if (!id_valid(env->id)) {
		log_err(NULL, "reply", "refusing a message without a valid id");
		return -1;
	}
	if (record_exists(r->spool_dir, env->id))
		return finish_promotion(r, env->id, 1);

	meta.id = env->id;
	meta.authserv_id = r->authserv_id;
	meta.received_at = env->received;
	if (env->client_port > 0) {
		snprintf(port, sizeof(port), "%d", env->client_port);
		meta.client_port = port;
	}
	meta.tls_protocol = env->tls_protocol;
	meta.tls_cipher = env->tls_cipher;
	meta.tag = env->tag;

	in.cf = &r->pcf;
	in.report_from = r->report_from;
	in.env = env;
	in.msg = msg;
	in.msglen = msglen;
	in.res = res;
	policy_decide(&in, &d);
	if (d.send && (rv = rate_take(r->rate, d.rcpt, d.rcpt_domain, env->client_ip,
	    time(NULL))) != RATE_OK) {
		d.send = 0;
		str_copy(d.reason, rate_verdict_name(rv), sizeof(d.reason));
		snprintf(d.detail, sizeof(d.detail), "%s for <%s>", rv == RATE_ADDRESS ?
		    "rate_per_address reached" : rv == RATE_DOMAIN ?
		    "rate_per_domain reached" : rv == RATE_IP ? "rate_per_ip reached" :
		    "too many recipients tracked", d.rcpt);
	}

	report = report_json(res, &meta);
	json = json_dumps(report, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
	    JSON_REAL_PRECISION(6));
	if (json == NULL)
		fatal("json_dumps failed");
	if (d.send && queue_report(r, env, msg, msglen, res, &meta, json, d.rcpt) < 0)
		goto out_free;

	rfc3339_now(at, sizeof(at));
	o.status = d.send ? "queued" : "suppressed";
	o.reason = d.send ? NULL : d.reason;
	o.detail = d.send ? NULL : d.detail;
	o.to = d.rcpt[0] ? d.rcpt : NULL;
	o.chosen_by = d.chosen_by[0] ? d.chosen_by : NULL;
	o.at = at;
	o.headers = msg;
	o.headers_len = orig_header_len(msg, msglen);
	if (record_outcome(r->spool_dir, env->id, report, &o, err, sizeof(err)) < 0) {
		log_err(env->id, "reply", "record failed: %s", err);
		goto out_free;
	}
	if (d.send && finish_promotion(r, env->id, 0) < 0)
		goto out_free;
	log_outcome(env->id, &d);
	rc = 0;
out_free:
	json_decref(report);
	free(json);
	return rc;
}
