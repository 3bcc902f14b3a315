/*
 * test_report - the reports for people: golden files of the text report
 * (tests/golden/NAME.ref), the 78-column limit, the Subject, the advice, and
 * hostile values in every renderer (text, HTML, JSON).
 *
 * Golden files: run from the repository root (tests/check.sh does).  On a
 * difference the test prints a unified diff.  To regenerate after an
 * intended change:  MAILTEST_GOLDEN_UPDATE=1 build/tests/test_report
 * (then review the diff with git before committing).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/util.h"
#include "../../reply/advice.h"
#include "../../reply/report.h"
#include "../../reply/textfmt.h"
#include "scenarios.h"
#include "t.h"

#define GOLDEN_DIR	"tests/golden"

static int
golden(const char *name, const char *got)
{
	char path[256], tmp[] = "/tmp/mt-golden-XXXXXX", cmd[600];
	char *want = NULL;
	size_t len;
	FILE *f;
	int fd, same;

	snprintf(path, sizeof(path), "%s/%s", GOLDEN_DIR, name);
	if (getenv("MAILTEST_GOLDEN_UPDATE")) {
		if ((f = fopen(path, "w")) == NULL || fputs(got, f) < 0 || fclose(f) != 0) {
			fprintf(stderr, "cannot write %s\n", path);
			return 0;
		}
		fprintf(stderr, "updated %s\n", path);
		return 1;
	}
	if (read_file(path, 1 << 20, &want, &len) < 0) {
		fprintf(stderr, "cannot read %s (run from the repository root; "
		    "MAILTEST_GOLDEN_UPDATE=1 creates it)\n", path);
		return 0;
	}
	same = strcmp(want, got) == 0;
	if (!same && (fd = mkstemp(tmp)) >= 0) {
		write_all(fd, got, strlen(got));
		close(fd);
		snprintf(cmd, sizeof(cmd), "diff -u %s %s >&2", path, tmp);
		if (system(cmd) < 0)
			perror("diff");
		unlink(tmp);
	}
	free(want);
	return same;
}

/* Every line at most 78 columns, valid UTF-8, no control characters. */
static int
text_well_formed(const char *s, char *why, size_t n)
{
	size_t col = 0, line = 1;
	json_t *j;

	if ((j = json_string(s)) == NULL) {
		snprintf(why, n, "not valid UTF-8");
		return 0;
	}
	json_decref(j);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '\n') {
			col = 0;
			line++;
			continue;
		}
		if (*p < 0x20 || *p == 0x7f) {
			snprintf(why, n, "control character 0x%02x on line %zu", *p, line);
			return 0;
		}
		if ((*p & 0xc0) != 0x80 && ++col > TEXTFMT_WIDTH) {
			snprintf(why, n, "line %zu is longer than %d columns", line,
			    TEXTFMT_WIDTH);
			return 0;
		}
	}
	return 1;
}

static void
test_golden(void)
{
	struct verify_result r;
	struct report_meta m;
	char why[128] = "";
	char *t;

	scenario_pass(&r, &m);
	t = report_text(&r, &m);
	T_OK(golden("report-pass.ref", t), "text report, all pass (golden)");
	T_OK(text_well_formed(t, why, sizeof(why)), why);
	free(t);

	scenario_spoofed(&r, &m);
	t = report_text(&r, &m);
	T_OK(golden("report-spoofed.ref", t), "text report, acme.com spoofed (golden)");
	T_OK(text_well_formed(t, why, sizeof(why)), why);
	free(t);

	/* the same without a signature at all */
	r.ndkim = 0;
	t = report_text(&r, &m);
	T_OK(golden("report-unsigned.ref", t), "text report, acme.com unsigned (golden)");
	free(t);
}

static void
test_subject(void)
{
	struct verify_result r;
	struct report_meta m;
	char *s;

	scenario_pass(&r, &m);
	s = report_subject(&r);
	T_EQ_STR(s, "mailtest: SPF pass, DKIM pass, DMARC pass \xe2\x80\x94 example.com",
	    "subject, pass");
	free(s);
	scenario_spoofed(&r, &m);
	s = report_subject(&r);
	T_EQ_STR(s, "mailtest: SPF softfail, DKIM fail, DMARC fail \xe2\x80\x94 acme.com",
	    "subject, spoofed");
	free(s);
	r.ndkim = 0;
	r.from_domain = "evil\r\nBcc: victim@example.org";
	s = report_subject(&r);
	T_OK(strchr(s, '\r') == NULL && strchr(s, '\n') == NULL,
	    "subject: CR/LF from the From: domain removed");
	T_OK(strstr(s, "DKIM none") != NULL, "subject: DKIM none without signature");
	free(s);
}

static int
has_finding(const struct advice_list *l, const char *mech, enum advice_severity sev,
    const char *problem_part, const char *fix_part)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].mechanism, mech) == 0 && l->v[i].severity == sev &&
		    strstr(l->v[i].problem, problem_part) &&
		    (fix_part == NULL || strstr(l->v[i].fix, fix_part)))
			return 1;
	return 0;
}

static void
test_advice(void)
{
	struct verify_result r;
	struct report_meta m;
	struct advice_list l;

	scenario_pass(&r, &m);
	advice_init(&l);
	advice_from_result(&l, &r, &m);
	T_EQ_INT(l.n, 0, "no findings when everything passes with p=reject");
	advice_free(&l);

	scenario_spoofed(&r, &m);
	advice_init(&l);
	advice_from_result(&l, &r, &m);
	T_OK(has_finding(&l, "SPF", ADVICE_ERROR, "does not authorize 192.0.2.7",
	    "add ip4:192.0.2.7"), "SPF softfail: authorize the IP");
	T_OK(has_finding(&l, "DKIM", ADVICE_ERROR, "does not verify", "google._domainkey.acme.com"),
	    "DKIM signature mismatch: check the key");
	T_OK(has_finding(&l, "DMARC", ADVICE_ERROR, "quarantine", "d=acme.com"),
	    "DMARC fail: policy quarantine, sign as d=acme.com");
	T_OK(has_finding(&l, "DMARC", ADVICE_ERROR, "aspf", NULL) == 0 ||
	    has_finding(&l, "DMARC", ADVICE_ERROR, "SPF did not pass", NULL),
	    "DMARC fail explains SPF");
	T_OK(has_finding(&l, "ADSP", ADVICE_NOTE, "historic since 2013",
	    "remove _adsp._domainkey.acme.com"), "ADSP: historic, remove the record");
	T_OK(has_finding(&l, "iprev", ADVICE_WARNING, "does not point back", "PTR"),
	    "iprev fail");
	T_OK(has_finding(&l, "TLS", ADVICE_NOTE, "without TLS", "STARTTLS"),
	    "no TLS noted");
	T_OK(has_finding(&l, "DMARC", ADVICE_NOTE, "no rua=", NULL), "no rua noted");
	advice_sort(&l);
	for (size_t i = 1; i < l.n; i++)
		T_OK(l.v[i - 1].severity <= l.v[i].severity, "sorted by severity");
	advice_free(&l);

	/* body hash mismatch, in the words of the issue */
	scenario_spoofed(&r, &m);
	{
		struct dkim_sig s = r.dkim[0];

		s.error = "body-hash-mismatch";
		r.dkim = &s;
		advice_init(&l);
		advice_from_result(&l, &r, &m);
		T_OK(has_finding(&l, "DKIM", ADVICE_ERROR, "body was changed after signing",
		    NULL), "DKIM body hash mismatch explained");
		advice_free(&l);
	}
	/* advice_add() for other producers (dns-check), and the bound */
	advice_init(&l);
	for (int i = 0; i < ADVICE_MAX + 5; i++)
		advice_add(&l, "MX", ADVICE_WARNING, "p", "f");
	T_EQ_INT(l.n, ADVICE_MAX, "advice list bounded");
	T_EQ_INT(l.dropped, 5, "dropped findings counted");
	advice_free(&l);
}

static void
test_textfmt(void)
{
	static const struct { const char *label, *in, *want; } clean[] = {
		{ "ascii", "hello", "hello" },
		{ "CR LF TAB", "a\r\nb\tc", "a  b c" },
		{ "ESC", "a\x1b[31mb", "a?[31mb" },
		{ "invalid UTF-8", "a\xff" "b", "a\xef\xbf\xbd" "b" },
		{ "overlong", "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd" },
		{ "surrogate", "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "bidi override", "a\xe2\x80\xae" "b", "a?b" },
		{ "C1 control", "a\xc2\x85" "b", "a?b" },
		{ "utf-8 kept", "J\xc3\xbcrgen \xe2\x80\x94 \xf0\x9f\x93\xa7", "J\xc3\xbcrgen \xe2\x80\x94 \xf0\x9f\x93\xa7" },
	};
	struct sbuf b;
	char *s;

	for (size_t i = 0; i < ARRAY_SIZE(clean); i++) {
		s = textfmt_clean(clean[i].in, 100, 1);
		T_EQ_STR(s, clean[i].want, clean[i].label);
		free(s);
	}
	s = textfmt_clean("abcdefghij", 8, 1);
	T_EQ_STR(s, "abcde...", "cut with ellipsis, at most 8 bytes");
	free(s);
	s = textfmt_clean("\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc\xc3\xbc", 8, 1);
	T_EQ_STR(s, "\xc3\xbc\xc3\xbc...", "cut at a character boundary");
	free(s);

	sbuf_init(&b, 0);
	textfmt_wrap(&b, 4, "    ", "one two three four five", 14);
	T_EQ_STR(sbuf_str(&b), "one two\n    three four\n    five\n", "wrap at spaces");
	sbuf_reset(&b);
	textfmt_wrap(&b, 0, "  ", "abcdefghijklmnop", 6);
	T_EQ_STR(sbuf_str(&b), "abcdef\n  ghij\n  klmn\n  op\n", "long word cut");
	sbuf_reset(&b);
	textfmt_wrap(&b, 2, "  ", "\xc3\xa4\xc3\xa4\xc3\xa4 \xc3\xb6\xc3\xb6", 6);
	T_EQ_STR(sbuf_str(&b), "\xc3\xa4\xc3\xa4\xc3\xa4\n  \xc3\xb6\xc3\xb6\n",
	    "columns are characters, not bytes");
	sbuf_reset(&b);
	textfmt_html(&b, "<a href=\"x\">'&'</a>");
	T_EQ_STR(sbuf_str(&b), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;",
	    "HTML escaping");
	sbuf_free(&b);
}

/* Hostile values everywhere: nothing escapes its format. */
static void
test_hostile(void)
{
	static const char evil[] = "x\r\nBcc: victim@example.org\r\n\r\n<script>alert(1)"
	    "</script><img src=\"http://evil.example/t.png\">\x1b[2J\xff\xfe"
	    "\xe2\x80\xae" "gnp.exe\"'&";
	struct verify_result r;
	struct report_meta m;
	struct dkim_sig s;
	char why[128] = "", *t, *h, *j, *big;
	json_t *o;
	json_error_t je;

	scenario_spoofed(&r, &m);
	big = xmalloc(200000);
	memset(big, 'A', 199999);
	big[199999] = '\0';
	s = r.dkim[0];
	s.domain = (char *)evil;
	s.reason = (char *)evil;
	s.key_record = big;
	r.dkim = &s;
	r.subject = (char *)evil;
	r.from = (char *)evil;
	r.helo = (char *)evil;
	r.spf.record = (char *)evil;
	r.dmarc.reason = (char *)evil;
	r.iprev.ptr = (char *)evil;
	m.tls_protocol = (char *)evil;

	t = report_text(&r, &m);
	T_OK(text_well_formed(t, why, sizeof(why)), "hostile text: well formed");
	T_OK(strlen(t) < 100000, "hostile text: long values are bounded");
	free(t);

	h = report_html(&r, &m);
	T_OK(strstr(h, "<script") == NULL, "HTML: no script element");
	T_OK(strstr(h, "<img") == NULL, "HTML: no img element");
	T_OK(strstr(h, "&lt;script&gt;") != NULL, "HTML: escaped instead");
	T_OK(strstr(h, " src=\"") == NULL && strstr(h, " href=\"") == NULL,
	    "HTML: no src/href attributes at all");
	T_OK(strchr(h, '\x1b') == NULL && strchr(h, '\r') == NULL, "HTML: no controls");
	T_OK(strstr(h, "\xe2\x80\xae") == NULL, "HTML: no bidi override");
	o = json_string(h);
	T_OK(o != NULL, "HTML: valid UTF-8");
	json_decref(o);
	free(h);

	j = report_json_text(&r, &m, 0);
	o = json_loads(j, 0, &je);
	T_OK(o != NULL, "JSON: parses (valid UTF-8)");
	T_OK(o && strstr(json_string_value(json_object_get(json_object_get(o, "message"),
	    "subject")), "\r\nBcc:") != NULL, "JSON: the value itself is kept, escaped");
	T_OK(strchr(j, '\n') == NULL, "JSON: one line");
	json_decref(o);
	free(j);
	free(big);
}

int
main(void)
{
	test_textfmt();
	test_subject();
	test_advice();
	test_golden();
	test_hostile();
	return t_done("test_report");
}
