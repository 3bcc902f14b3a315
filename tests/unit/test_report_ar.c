/*
 * test_report_ar - reply/report_ar.c and report_json.c on hostile and huge
 * values: the Authentication-Results field stays one field (no line break
 * but the folds, quotes balanced, one resinfo per result) and under its
 * 64 KiB limit however many DKIM signatures a message carries (a fuzz_report
 * regression: 1000 signatures, or 100 with long values, made report_ar()
 * call fatal() - a message may carry MSG_MAX_FIELDS DKIM-Signature fields).
 */
#include <stdlib.h>
#include <string.h>

#include "../../common/util.h"
#include "../../reply/report.h"
#include "t.h"

/* resinfo separators outside quoted strings and comments */
static size_t
count_resinfo(const char *ar)
{
	size_t n = 0;
	int q = 0, depth = 0;

	for (const char *p = ar; *p; p++) {
		if (q) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '"')
				q = 0;
		} else if (*p == '"')
			q = 1;
		else if (*p == '(')
			depth++;
		else if (*p == ')')
			depth--;
		else if (*p == ';' && depth == 0)
			n++;
	}
	return n;
}

static int
printable_one_line(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

static void
test_many_dkim(void)
{
	static const size_t counts[] = { 20, 100, 1000 };
	char *longv = xmalloc(1001);
	struct verify_result r;

	for (int i = 0; i < 1000; i++)	/* quoted and escaped: ~2 octets each */
		longv[i] = i % 2 ? '"' : 'x';
	longv[1000] = '\0';
	for (size_t c = 0; c < ARRAY_SIZE(counts); c++) {
		for (int longvals = 0; longvals < 2; longvals++) {
			char label[64], *ar, *more, *json;
			unsigned long listed, rest;
			size_t n = counts[c];

			memset(&r, 0, sizeof(r));
			r.ndkim = n;
			r.dkim = xcalloc(n, sizeof(*r.dkim));
			for (size_t i = 0; i < n; i++) {
				r.dkim[i].result = AUTH_POLICY;
				r.dkim[i].domain = longvals ? longv : "example.com";
				r.dkim[i].selector = longvals ? longv : "sel";
				r.dkim[i].identity = longvals ? longv : "@example.com";
				r.dkim[i].algorithm = longvals ? longv : "rsa-sha256";
				r.dkim[i].reason = longvals ? longv : "too-many-signatures";
				r.dkim[i].b_prefix = "abcdefghij";
			}
			snprintf(label, sizeof(label), "%zu DKIM results, %s values", n,
			    longvals ? "1000-octet quoted" : "short");
			ar = report_ar(&r, "mx.example.net", 1);	/* was fatal() */
			T_OK(strlen(ar) < 64 * 1024, label);
			more = strstr(ar, " more DKIM results not listed)");
			/* under the 32 KiB DKIM budget everything is listed */
			if (!longvals && n <= 100) {
				T_OK(more == NULL, label);
				T_EQ_INT(count_resinfo(ar), n + 4, label);
			} else {
				T_OK(more != NULL, label);
				while (more && more[-1] >= '0' && more[-1] <= '9')
					more--;
				rest = more ? strtoul(more, NULL, 10) : 0;
				listed = count_resinfo(ar) - 4;
				T_EQ_INT(listed + rest, n, label);
				T_OK(listed > 0 && rest > 0, label);
			}
			json = report_json_text(&r, NULL, 0);
			T_OK(json != NULL && strchr(json, '\n') == NULL, label);
			free(json);
			free(ar);
			free(r.dkim);
		}
	}
	free(longv);
}

static void
test_hostile(void)
{
	struct verify_result r;
	struct dkim_sig sig;
	char *ptr = xmalloc(1001), *ar;
	json_t *o;
	json_error_t jerr;
	char *json;

	memset(ptr, 'p', 1000);
	ptr[1000] = '\0';
	memset(&r, 0, sizeof(r));
	memset(&sig, 0, sizeof(sig));
	sig.result = AUTH_FAIL;
	sig.domain = "evil.example\r\nX-Injected: yes";
	sig.selector = "s\"; dkim=pass";
	sig.reason = "a;b (c";
	r.dkim = &sig;
	r.ndkim = 1;
	r.mail_from = "a@example.com";
	r.spf.result = AUTH_PERMERROR;
	r.spf.reason = "\"; spf=pass \\";
	r.from_domain = "x.example\n";
	r.iprev.result = AUTH_PASS;
	r.iprev.ip = "192.0.2.1";
	r.iprev.ptr = ptr;
	r.subject = "\xff\xfe caf\xc3\xa9";

	ar = report_ar(&r, "mx.example.net", 0);
	T_OK(printable_one_line(ar), "hostile: one printable line");
	T_EQ_INT(count_resinfo(ar), 1 + 1 + 3, "hostile: spf, dkim, dmarc, adsp, iprev");
	T_OK(strstr(ar, "X-Injected: yes") == NULL || strstr(ar, "\"evil.exampleX-Injected: yes\""),
	    "hostile: the CR LF is dropped inside a quoted value");
	T_OK(strstr(ar, "(" "pppp") != NULL && strlen(strstr(ar, "(pppp")) <= 256 + 2,
	    "hostile: the PTR comment is cut at 256 octets");
	free(ar);

	json = report_json_text(&r, NULL, 1);
	o = json_loads(json, 0, &jerr);
	T_OK(o != NULL, "hostile: JSON parses");
	T_EQ_STR(json_string_value(json_object_get(json_object_get(o, "message"), "subject")),
	    "\xef\xbf\xbd\xef\xbf\xbd caf\xc3\xa9", "hostile: invalid UTF-8 becomes U+FFFD");
	json_decref(o);
	free(json);
	free(ptr);
}

int
main(void)
{
	test_many_dkim();
	test_hostile();
	return t_done("test_report_ar");
}
