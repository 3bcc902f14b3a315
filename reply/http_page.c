/*
 * http_page.c - the web pages of the report listener (see http.h): the
 * list of recent reports with its filter form, and one report, which is
 * the HTML report of the mail (report_html()) with a bar of links and the
 * state of the reply added at the top.
 *
 * Pages are self-contained: one <style> block and inline styles (the
 * server's Content-Security-Policy allows only those), no script, no
 * remote resource; links and the form work without JavaScript.  Every
 * value is cleaned and entity-escaped (textfmt_html()); values in links
 * are percent-encoded first.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/http.h>

#include "../common/log.h"
#include "../common/store.h"
#include "../common/util.h"
#include "http.h"
#include "http_impl.h"
#include "record.h"
#include "report.h"
#include "textfmt.h"

#define PAGE_SIZE	50	/* reports per list page */

static const char page_css[] =
	"body{margin:0;padding:16px;background:#f3f4f6;color:#1f2328;"
	"font:14px/1.4 -apple-system,'Segoe UI',Helvetica,Arial,sans-serif}"
	"main{max-width:1100px;margin:0 auto;background:#fff;border:1px solid #d0d7de;"
	"border-radius:6px;padding:16px 20px}"
	"h1{font-size:22px;margin:0 0 12px}"
	"form{display:flex;flex-wrap:wrap;gap:8px;align-items:end;margin:0 0 12px}"
	"label{display:flex;flex-direction:column;font-size:12px;color:#57606a}"
	"input,select{font:inherit;padding:3px 6px;border:1px solid #d0d7de;border-radius:4px}"
	"button{font:inherit;padding:4px 12px}"
	"table{border-collapse:collapse;width:100%}"
	"th,td{text-align:left;padding:4px 6px;border-bottom:1px solid #eaeef2;"
	"vertical-align:top;overflow-wrap:break-word}"
	"td.subject{max-width:380px;overflow-wrap:anywhere}"
	"th{font-size:12px;color:#57606a}"
	".b{display:inline-block;min-width:64px;text-align:center;padding:0 4px;"
	"border-radius:4px;font-weight:bold;font-size:12px;white-space:nowrap}"
	".pass{color:#0f5323;background:#d3f5dc}"
	".fail,.permerror,.discard,.nxdomain,.gave-up{color:#82071e;background:#ffdfe3}"
	".softfail,.neutral,.temperror,.policy,.unknown,.deferred{color:#6a3e00;"
	"background:#fff0c2}"
	".none,.queued,.suppressed,.delivered{color:#333b44;background:#e6e9ed}"
	"nav a{margin-right:12px}"
	".muted{color:#57606a}";

static void
page_open(struct sbuf *b, const char *title)
{
	sbuf_adds(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
	    "<title>");
	textfmt_html(b, title);
	sbuf_printf(b, "</title><style>%s</style></head>\n<body><main>\n<h1>", page_css);
	textfmt_html(b, title);
	sbuf_adds(b, "</h1>\n");
}

static void
page_done(struct http_resp *r, struct sbuf *b, int status)
{
	sbuf_adds(b, "</main></body></html>\n");
	r->status = status;
	r->ctype = HTTP_HTML;
	r->len = b->len;
	r->body = sbuf_steal(b);
}

void
http_page_error(struct http_resp *r, int status, const char *msg)
{
	struct sbuf b;
	char title[64];

	sbuf_init(&b, 0);
	snprintf(title, sizeof(title), "mailtest: error %d", status);
	page_open(&b, title);
	sbuf_adds(&b, "<p id=\"error\">");
	textfmt_html(&b, msg);
	sbuf_adds(&b, "</p>\n<p><a href=\"/\">All reports</a></p>\n");
	free(r->body);
	page_done(r, &b, status);
}

/* A result word as a badge; the class is the word itself only when known. */
static void
badge(struct sbuf *b, enum store_mech m, const char *word)
{
	const char *cls = word && store_word_valid(m, word) ? word : "none";

	sbuf_printf(b, "<span class=\"b %s\">", cls);
	textfmt_html(b, word ? word : "-");
	sbuf_adds(b, "</span>");
}

static void
reply_badge(struct sbuf *b, const char *state)
{
	static const char *const states[] = { STORE_QUEUED, STORE_SUPPRESSED,
		STORE_DELIVERED, STORE_DEFERRED, STORE_GAVE_UP };
	const char *cls = "none";

	for (size_t i = 0; i < ARRAY_SIZE(states); i++)
		if (state && strcmp(state, states[i]) == 0)
			cls = states[i];
	sbuf_printf(b, "<span class=\"b %s\">", cls);
	textfmt_html(b, state ? state : "-");
	sbuf_adds(b, "</span>");
}

/* name=value&, percent-encoded, then entity-escaped for an href */
static void
link_param(struct sbuf *b, const char *name, const char *value)
{
	char *enc;

	if (value == NULL || *value == '\0')
		return;
	enc = evhttp_uriencode(value, -1, 0);
	sbuf_printf(b, "%s=", name);
	textfmt_html(b, enc ? enc : "");
	sbuf_adds(b, "&amp;");
	free(enc);
}

static void
filter_form(struct sbuf *b, const struct http_params *p, const char *verdict)
{
	sbuf_adds(b, "<form method=\"get\" action=\"/\" id=\"filter\">"
	    "<label>Tag<input name=\"tag\" maxlength=\"64\" value=\"");
	textfmt_html(b, p->tag);
	sbuf_adds(b, "\"></label><label>Sender domain<input name=\"domain\" "
	    "maxlength=\"253\" value=\"");
	textfmt_html(b, p->domain);
	sbuf_adds(b, "\"></label><label>Verdict<select name=\"verdict\">"
	    "<option value=\"\">any</option>");
	for (int m = 0; m < STORE_NMECH; m++)
		for (const char *const *w = store_mech_words((enum store_mech)m); *w; w++) {
			char v[32];

			snprintf(v, sizeof(v), "%s:%s", store_mech_name((enum store_mech)m), *w);
			sbuf_printf(b, "<option value=\"%s\"%s>%s</option>", v,
			    strcmp(v, verdict) == 0 ? " selected" : "", v);
		}
	sbuf_adds(b, "</select></label><button type=\"submit\">Filter</button>"
	    "<a href=\"/\">Clear</a></form>\n");
}

static void
list_row(struct sbuf *b, const struct store_row *r)
{
	time_t t = (time_t)r->created;
	struct tm tm;
	char when[32];

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	sbuf_printf(b, "<tr data-id=\"%s\"><td><a href=\"/reports/%s\">%s</a></td><td "
	    "class=\"tag\">", r->id, r->id, when);
	textfmt_html(b, r->tag ? r->tag : "");
	sbuf_adds(b, "</td><td>");
	textfmt_html(b, r->from_domain ? r->from_domain : "");
	sbuf_adds(b, "</td><td>");
	textfmt_html(b, r->mail_from ? r->mail_from : "");
	sbuf_adds(b, "</td><td class=\"subject\">");
	textfmt_html(b, r->subject ? r->subject : "");
	sbuf_adds(b, "</td>");
	for (int m = 0; m < STORE_NMECH; m++) {
		if (m == STORE_ADSP)
			continue;	/* historic: on the report page only */
		sbuf_printf(b, "<td class=\"%s\">", store_mech_name((enum store_mech)m));
		badge(b, (enum store_mech)m, r->verdict[m]);
		sbuf_adds(b, "</td>");
	}
	sbuf_adds(b, "<td class=\"reply\">");
	reply_badge(b, r->reply_state);
	sbuf_adds(b, "</td></tr>\n");
}

static void
page_links(struct sbuf *b, const struct http_params *p, const char *verdict, int more)
{
	if (p->offset == 0 && !more)
		return;
	sbuf_adds(b, "<nav id=\"pages\">");
	if (p->offset > 0) {
		sbuf_adds(b, "<a id=\"newer\" href=\"/?");
		link_param(b, "tag", p->tag);
		link_param(b, "domain", p->domain);
		link_param(b, "verdict", verdict);
		sbuf_printf(b, "offset=%zu\">Newer</a>", p->offset > PAGE_SIZE ?
		    p->offset - PAGE_SIZE : 0);
	}
	if (more) {
		sbuf_adds(b, "<a id=\"older\" href=\"/?");
		link_param(b, "tag", p->tag);
		link_param(b, "domain", p->domain);
		link_param(b, "verdict", verdict);
		sbuf_printf(b, "offset=%zu\">Older</a>", p->offset + PAGE_SIZE);
	}
	sbuf_adds(b, "</nav>\n");
}

void
http_page_list(const struct http_ctx *c, const struct http_params *p, struct http_resp *r)
{
	struct store_query q = { 0 };
	struct store_row *rows;
	struct sbuf b;
	size_t n;
	int more;
	char err[512], verdict[32] = "";

	q.tag = p->tag[0] ? p->tag : NULL;
	q.domain = p->domain[0] ? p->domain : NULL;
	if (p->nverdict) {
		q.verdict[0].mech = p->vmech[0];
		q.verdict[0].word = p->vword[0];
		q.nverdict = 1;
		snprintf(verdict, sizeof(verdict), "%s:%s", store_mech_name(p->vmech[0]),
		    p->vword[0]);
	}
	q.limit = PAGE_SIZE;
	q.offset = p->offset;
	if (store_list(c->store, &q, &rows, &n, &more, err, sizeof(err)) < 0) {
		log_err(NULL, "http", "list failed: %s", err);
		http_page_error(r, 500, "the report store failed");
		return;
	}
	sbuf_init(&b, 0);
	page_open(&b, "mailtest reports");
	filter_form(&b, p, verdict);
	if (n == 0)
		sbuf_adds(&b, "<p id=\"empty\">No reports match.</p>\n");
	else {
		sbuf_adds(&b, "<table id=\"reports\"><thead><tr><th>Received (UTC)</th>"
		    "<th>Tag</th><th>From domain</th><th>MAIL FROM</th><th>Subject</th>"
		    "<th>SPF</th><th>DKIM</th><th>DMARC</th><th>iprev</th><th>Reply</th>"
		    "</tr></thead><tbody>\n");
		for (size_t i = 0; i < n; i++)
			list_row(&b, &rows[i]);
		sbuf_adds(&b, "</tbody></table>\n");
	}
	page_links(&b, p, verdict, more);
	sbuf_adds(&b, "<p class=\"muted\">The same list as JSON: <a href=\"/api/v1/reports?");
	link_param(&b, "tag", p->tag);
	link_param(&b, "domain", p->domain);
	link_param(&b, "verdict", verdict);
	sbuf_printf(&b, "offset=%zu\">/api/v1/reports</a></p>\n", p->offset);
	store_rows_free(rows, n);
	page_done(r, &b, 200);
}

/* The bar above the report: links, tag, and what became of the reply. */
static void
report_bar(struct sbuf *b, const char *id, json_t *rec)
{
	json_t *rep = json_object_get(rec, "reply");
	json_t *del = json_object_get(rep, "delivery");
	const char *state = json_string_value(json_object_get(del, "state"));
	const char *detail = json_string_value(json_object_get(del, "detail"));
	const char *to = json_string_value(json_object_get(rep, "to"));
	const char *tag = json_string_value(json_object_get(json_object_get(rec,
	    "envelope"), "tag"));

	sbuf_printf(b, "<div id=\"bar\" style=\"max-width:780px;margin:0 auto 8px auto;"
	    "font-size:13px;\"><nav><a href=\"/\">All reports</a><a href=\"/api/v1/"
	    "reports/%s\">JSON</a><a href=\"/api/v1/reports/%s/raw-headers\">Raw "
	    "headers</a></nav><p style=\"margin:4px 0 0 0;\">", id, id);
	if (tag) {
		sbuf_adds(b, "Tag <code id=\"tag\">");
		textfmt_html(b, tag);
		sbuf_adds(b, "</code> &middot; ");
	}
	sbuf_adds(b, "Reply <span id=\"reply\">");
	reply_badge(b, state);
	sbuf_adds(b, "</span>");
	if (to) {
		sbuf_adds(b, " to ");
		textfmt_html(b, to);
	}
	if (detail) {
		sbuf_adds(b, ": ");
		textfmt_html(b, detail);
	}
	sbuf_adds(b, "</p></div>\n");
}

void
http_page_report(const struct http_ctx *c, const char *id, struct http_resp *r)
{
	struct verify_result res;
	struct report_meta m;
	struct sbuf b;
	json_t *rec;
	char err[512], *html, *body, *after;

	if (record_load(c->spool_dir, id, &rec, err, sizeof(err)) < 0) {
		if (errno == ENOENT)
			http_page_error(r, 404, "There is no report with this id.");
		else {
			log_err(id, "http", "load failed: %s", err);
			http_page_error(r, 500, "the report store failed");
		}
		return;
	}
	if (report_from_json(rec, &res, &m) < 0) {
		json_decref(rec);
		http_page_error(r, 500, "the stored report cannot be read");
		return;
	}
	m.authserv_id = c->authserv_id;
	html = report_html(&res, &m);
	m.authserv_id = NULL;
	report_loaded_free(&res, &m);
	/* the bar goes right after <body ...> (report_html() writes one) */
	body = strstr(html, "<body");
	after = body ? strchr(body, '>') : NULL;
	sbuf_init(&b, 0);
	if (after) {
		sbuf_add(&b, html, (size_t)(after + 1 - html));
		sbuf_adds(&b, "\n<style>");
		sbuf_adds(&b, strstr(page_css, ".b{"));
		sbuf_adds(&b, "</style>\n");
		report_bar(&b, id, rec);
		sbuf_adds(&b, after + 1);
	} else
		sbuf_adds(&b, html);
	free(html);
	json_decref(rec);
	r->status = 200;
	r->ctype = HTTP_HTML;
	r->len = b.len;
	r->body = sbuf_steal(&b);
}
