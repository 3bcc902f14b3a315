/*
 * report_text.c - the text report for people: the report document
 * (report_doc.h) as plain UTF-8 in aligned columns, no line wider than 78
 * columns (RFC 5322 2.1.1), readable in any mail client.
 *
 * Every value goes through textfmt (control characters, invalid UTF-8 and
 * bidi overrides removed, length bounded, wrapped).
 */
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "report.h"
#include "report_doc.h"
#include "textfmt.h"

#define W		TEXTFMT_WIDTH
#define KEY_COLS	14	/* key column of key/value rows */
#define VERDICT_COL	20	/* where the verdict summaries start */
#define MAX_INDENT	24

static void
spaces(char *buf, size_t n)
{
	if (n > MAX_INDENT + 4)
		n = MAX_INDENT + 4;
	memset(buf, ' ', n);
	buf[n] = '\0';
}

static void
heading(struct sbuf *b, const char *title, char underline)
{
	char *t = textfmt_clean(title, 200, 0);
	size_t n = textfmt_cols(t);

	sbuf_printf(b, "%s\n", t);
	for (size_t i = 0; i < n && i < W; i++)
		sbuf_addc(b, underline);
	sbuf_addc(b, '\n');
	free(t);
}

static void
text_kv(struct sbuf *b, const struct rdoc_item *it)
{
	int indent = 2 + 2 * (it->level > 4 ? 4 : it->level);
	size_t col = (size_t)indent + KEY_COLS + 1;
	char pad[MAX_INDENT + 8], *key = textfmt_clean(it->key, 64, 0);

	spaces(pad, col);
	sbuf_printf(b, "%*s%-*s ", indent, "", KEY_COLS, key);
	textfmt_wrap(b, col, pad, it->value, W);
	free(key);
}

static void
text_step(struct sbuf *b, const struct rdoc_item *it)
{
	int indent = 4 + 4 * (it->level > 4 ? 4 : it->level);
	char pad[MAX_INDENT + 8];

	spaces(pad, (size_t)indent + 2);
	sbuf_printf(b, "%*s", indent, "");
	textfmt_wrap(b, (size_t)indent, pad, it->key, W);
	sbuf_adds(b, pad);
	textfmt_wrap(b, (size_t)indent + 2, pad, it->value, W);
}

static void
text_advice(struct sbuf *b, const struct rdoc_item *it, int num)
{
	char label[64];
	int n;

	n = snprintf(label, sizeof(label), "%2d. [%s] %s: ", num,
	    advice_severity_name(it->severity), it->key);
	if (num > 1)
		sbuf_addc(b, '\n');
	sbuf_adds(b, label);
	textfmt_wrap(b, (size_t)n, "    ", it->value, W);
	sbuf_adds(b, "    Fix: ");
	textfmt_wrap(b, 9, "         ", it->extra, W);
}

/* A header field as folded: continuation lines indented under it. */
static void
text_field(struct sbuf *b, const char *field)
{
	char *copy = xstrdup(field), *line, *save = NULL;

	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int cont = line[0] == '\t';

		sbuf_adds(b, cont ? "    " : "");
		textfmt_wrap(b, cont ? 4 : 0, "      ", line + cont, W);
	}
	free(copy);
}

static void
text_item(struct sbuf *b, const struct rdoc_item *it, int *advice_num)
{
	static const char vpad[] = "                    ";	/* VERDICT_COL */
	char *s;

	switch (it->kind) {
	case RDOC_HEADING:
		sbuf_addc(b, '\n');
		heading(b, it->key, '-');
		break;
	case RDOC_VERDICT:
		sbuf_printf(b, "  %-6s %-10s ", it->key, auth_res_name(it->result));
		textfmt_wrap(b, VERDICT_COL, vpad, it->value, W);
		break;
	case RDOC_SUBHEAD:
		s = textfmt_clean(it->key, 200, 0);
		sbuf_printf(b, "  %s\n", s);
		free(s);
		break;
	case RDOC_KV:
		text_kv(b, it);
		break;
	case RDOC_STEP:
		text_step(b, it);
		break;
	case RDOC_PARA:
		sbuf_adds(b, "  ");
		textfmt_wrap(b, 2, "  ", it->value, W);
		break;
	case RDOC_ADVICE:
		text_advice(b, it, ++*advice_num);
		break;
	case RDOC_FIELD:
		text_field(b, it->value);
		break;
	}
}

char *
report_text(const struct verify_result *r, const struct report_meta *meta)
{
	struct rdoc d;
	struct sbuf b;
	int advice_num = 0;

	report_doc_build(&d, r, meta);
	sbuf_init(&b, 0);
	heading(&b, d.title, '=');
	if (d.subtitle)
		textfmt_wrap(&b, 0, "  ", d.subtitle, W);
	for (size_t i = 0; i < d.n; i++)
		text_item(&b, &d.v[i], &advice_num);
	report_doc_free(&d);
	return sbuf_steal(&b);
}
