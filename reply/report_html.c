/*
 * report_html.c - the HTML report: the report document (report_doc.h) as
 * one self-contained HTML page for mail clients.  No remote resources
 * (no images, fonts, stylesheets), no scripts, no <style> block (webmail
 * clients drop or rewrite it): inline style attributes and tables only.
 * Every value is cleaned (textfmt_clean) and entity-escaped; the only
 * attribute values are our own constants.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "report.h"
#include "report_doc.h"
#include "textfmt.h"

#define FONT	"font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;"
#define MONO	"font-family:Menlo,Consolas,'DejaVu Sans Mono',monospace;"
#define CELL	"padding:3px 8px;vertical-align:top;"

struct colors {
	const char	*fg, *bg;
};

/* Badge colours by result: green pass, red failure, amber doubt, grey none. */
static struct colors
result_colors(enum auth_res r)
{
	switch (r) {
	case AUTH_PASS:
		return (struct colors){ "#0f5323", "#d3f5dc" };
	case AUTH_FAIL:
	case AUTH_PERMERROR:
	case AUTH_DISCARD:
	case AUTH_NXDOMAIN:
		return (struct colors){ "#82071e", "#ffdfe3" };
	case AUTH_SOFTFAIL:
	case AUTH_NEUTRAL:
	case AUTH_TEMPERROR:
	case AUTH_POLICY:
	case AUTH_UNKNOWN:
		return (struct colors){ "#6a3e00", "#fff0c2" };
	case AUTH_NONE:
		break;
	}
	return (struct colors){ "#333b44", "#e6e9ed" };
}

static struct colors
severity_colors(enum advice_severity s)
{
	switch (s) {
	case ADVICE_ERROR:
		return result_colors(AUTH_FAIL);
	case ADVICE_WARNING:
		return result_colors(AUTH_SOFTFAIL);
	case ADVICE_NOTE:
		break;
	}
	return result_colors(AUTH_NONE);
}

static void
badge(struct sbuf *b, struct colors c, const char *word)
{
	sbuf_printf(b, "<span style=\"display:inline-block;min-width:70px;"
	    "text-align:center;padding:1px 6px;border-radius:4px;font-weight:bold;"
	    "color:%s;background:%s;\">", c.fg, c.bg);
	textfmt_html(b, word);
	sbuf_adds(b, "</span>");
}

static void
table_open(struct sbuf *b)
{
	sbuf_adds(b, "<table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" "
	    "style=\"border-collapse:collapse;width:100%;margin:0 0 6px 0;\">\n");
}

static void
html_kv(struct sbuf *b, const struct rdoc_item *it, int mono)
{
	sbuf_printf(b, "<tr><th style=\"" CELL "text-align:left;font-weight:normal;"
	    "color:#57606a;white-space:nowrap;width:130px;padding-left:%dpx;\">",
	    8 + 16 * (it->level > 4 ? 4 : it->level));
	textfmt_html(b, it->key);
	sbuf_printf(b, "</th><td style=\"" CELL "word-break:break-word;"
	    "overflow-wrap:anywhere;%s\">", mono ? MONO "font-size:13px;" : "");
	textfmt_html(b, it->value);
	sbuf_adds(b, "</td></tr>\n");
}

static void
html_verdict(struct sbuf *b, const struct rdoc_item *it)
{
	sbuf_adds(b, "<tr data-mechanism=\"");
	textfmt_html(b, it->key);
	sbuf_printf(b, "\" data-result=\"%s\"><td style=\"" CELL
	    "font-weight:bold;width:60px;\">", auth_res_name(it->result));
	textfmt_html(b, it->key);
	sbuf_adds(b, "</td><td style=\"" CELL "width:90px;\">");
	badge(b, result_colors(it->result), auth_res_name(it->result));
	sbuf_adds(b, "</td><td style=\"" CELL "word-break:break-word;"
	    "overflow-wrap:anywhere;\">");
	textfmt_html(b, it->value);
	sbuf_adds(b, "</td></tr>\n");
}

static void
html_step(struct sbuf *b, const struct rdoc_item *it)
{
	sbuf_printf(b, "<tr><td colspan=\"2\" style=\"" CELL "padding-left:%dpx;\">"
	    "<div>", 24 + 16 * it->level);
	textfmt_html(b, it->key);
	sbuf_adds(b, "</div><div style=\"" MONO "font-size:13px;color:#24292f;"
	    "overflow-wrap:anywhere;\">");
	textfmt_html(b, it->value);
	sbuf_adds(b, "</div></td></tr>\n");
}

static void
html_advice(struct sbuf *b, const struct rdoc_item *it)
{
	sbuf_printf(b, "<li data-severity=\"%s\" style=\"margin:0 0 10px 0;\">",
	    advice_severity_name(it->severity));
	badge(b, severity_colors(it->severity), advice_severity_name(it->severity));
	sbuf_adds(b, " <b>");
	textfmt_html(b, it->key);
	sbuf_adds(b, ":</b> ");
	textfmt_html(b, it->value);
	sbuf_adds(b, "<br><span style=\"color:#0b3d91;\"><b>Fix:</b> ");
	textfmt_html(b, it->extra);
	sbuf_adds(b, "</span></li>\n");
}

static int
is_table_kind(enum rdoc_kind k)
{
	return k == RDOC_VERDICT || k == RDOC_KV || k == RDOC_STEP || k == RDOC_SUBHEAD;
}

static void
html_item(struct sbuf *b, const struct rdoc_item *it, int mono)
{
	switch (it->kind) {
	case RDOC_HEADING:
		sbuf_adds(b, "<h2 style=\"font-size:17px;margin:18px 0 6px 0;padding:0 0 "
		    "3px 0;border-bottom:1px solid #d0d7de;\">");
		textfmt_html(b, it->key);
		sbuf_adds(b, "</h2>\n");
		break;
	case RDOC_VERDICT:
		html_verdict(b, it);
		break;
	case RDOC_SUBHEAD:
		sbuf_adds(b, "<tr><td colspan=\"2\" style=\"" CELL "font-weight:bold;"
		    "padding-top:8px;\">");
		textfmt_html(b, it->key);
		sbuf_adds(b, "</td></tr>\n");
		break;
	case RDOC_KV:
		html_kv(b, it, mono);
		break;
	case RDOC_STEP:
		html_step(b, it);
		break;
	case RDOC_PARA:
		sbuf_adds(b, "<p style=\"margin:4px 8px;\">");
		textfmt_html(b, it->value);
		sbuf_adds(b, "</p>\n");
		break;
	case RDOC_ADVICE:
		html_advice(b, it);
		break;
	case RDOC_FIELD:
		sbuf_adds(b, "<pre style=\"" MONO "font-size:12px;white-space:pre-wrap;"
		    "overflow-wrap:anywhere;background:#f6f8fa;border:1px solid #d0d7de;"
		    "border-radius:4px;padding:8px;margin:4px 0;\">");
		/* keep the folding: "\n\t" shown as a new indented line */
		for (const char *p = it->value; *p;) {
			const char *e = strchr(p, '\n');
			char *line = e ? xstrndup(p, (size_t)(e - p)) : xstrdup(p);

			textfmt_html(b, line[0] == '\t' ? line + 1 : line);
			free(line);
			if (e == NULL)
				break;
			sbuf_adds(b, "\n    ");
			p = e + 1;
		}
		sbuf_adds(b, "</pre>\n");
		break;
	}
}

/* Key/value rows whose values are records or addresses look better in mono. */
static int
mono_key(const char *key)
{
	static const char *const keys[] = { "Record", "Key record", "Signed fields",
	    "MAIL FROM", "RCPT TO", "Client IP", "HELO", "Message-ID", "Identity" };

	for (size_t i = 0; key && i < ARRAY_SIZE(keys); i++)
		if (strcmp(key, keys[i]) == 0)
			return 1;
	return 0;
}

char *
report_html(const struct verify_result *r, const struct report_meta *meta)
{
	struct rdoc d;
	struct sbuf b;
	int in_table = 0, in_list = 0;

	report_doc_build(&d, r, meta);
	sbuf_init(&b, 0);
	sbuf_adds(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
	    "<title>");
	textfmt_html(&b, d.title);
	sbuf_adds(&b, "</title></head>\n<body style=\"margin:0;padding:12px;"
	    "background:#f3f4f6;color:#1f2328;" FONT "font-size:14px;line-height:1.4;\">\n"
	    "<div style=\"max-width:780px;margin:0 auto;background:#ffffff;"
	    "border:1px solid #d0d7de;border-radius:6px;padding:16px 20px;\">\n"
	    "<h1 style=\"font-size:22px;margin:0 0 4px 0;\">");
	textfmt_html(&b, d.title);
	sbuf_adds(&b, "</h1>\n");
	if (d.subtitle) {
		sbuf_adds(&b, "<p style=\"margin:0 0 8px 0;color:#57606a;\">");
		textfmt_html(&b, d.subtitle);
		sbuf_adds(&b, "</p>\n");
	}
	for (size_t i = 0; i < d.n; i++) {
		const struct rdoc_item *it = &d.v[i];

		if (in_table && !is_table_kind(it->kind)) {
			sbuf_adds(&b, "</table>\n");
			in_table = 0;
		}
		if (in_list && it->kind != RDOC_ADVICE) {
			sbuf_adds(&b, "</ol>\n");
			in_list = 0;
		}
		if (!in_table && is_table_kind(it->kind)) {
			table_open(&b);
			in_table = 1;
		}
		if (!in_list && it->kind == RDOC_ADVICE) {
			sbuf_adds(&b, "<ol style=\"margin:4px 0;padding-left:24px;\">\n");
			in_list = 1;
		}
		html_item(&b, it, it->kind == RDOC_KV && mono_key(it->key));
	}
	if (in_table)
		sbuf_adds(&b, "</table>\n");
	if (in_list)
		sbuf_adds(&b, "</ol>\n");
	sbuf_adds(&b, "</div>\n</body></html>\n");
	report_doc_free(&d);
	return sbuf_steal(&b);
}
