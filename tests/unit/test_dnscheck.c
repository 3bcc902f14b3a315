/*
 * test_dnscheck - the bounds of dns-check's findings (verify/dnscheck.c,
 * dc_finding()): one code is kept DNSCHECK_MAX_SAME_CODE times, the list
 * holds DNSCHECK_MAX_FINDINGS, notes give way to errors, and every finding
 * is counted (the exit status depends on the counts); dc_unquote().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/util.h"
#include "../../verify/dnscheck.h"
#include "../../verify/dnscheck_int.h"
#include "t.h"

static char codes[DNSCHECK_MAX_FINDINGS + 8][16];

static void
test_bounds(void)
{
	struct dnscheck_result r;
	struct dnscheck_ctx c;
	size_t kept_infos = 0;

	memset(&r, 0, sizeof(r));
	memset(&c, 0, sizeof(c));
	c.res = &r;
	r.findings = xcalloc(DNSCHECK_MAX_FINDINGS, sizeof(*r.findings));
	for (int i = 0; i < DNSCHECK_MAX_SAME_CODE + 3; i++)
		dc_finding(&c, DNSCHECK_WARNING, "spf", "same", "n", NULL,
		    xstrdup("v=spf1 -all"), "warning %d", i);
	T_EQ_INT(r.nfindings, DNSCHECK_MAX_SAME_CODE, "one code kept 8 times");
	T_EQ_INT(r.findings_dropped, 3, "the rest dropped");
	T_EQ_INT(r.nwarnings, DNSCHECK_MAX_SAME_CODE + 3, "and all counted");
	for (int i = 0; i < DNSCHECK_MAX_FINDINGS; i++) {
		snprintf(codes[i], sizeof(codes[i]), "info-%d", i);
		dc_finding(&c, DNSCHECK_INFO, "dns", codes[i], "n", NULL, NULL, "note");
	}
	T_EQ_INT(r.nfindings, DNSCHECK_MAX_FINDINGS, "the list is full");
	T_OK(dc_finding(&c, DNSCHECK_INFO, "dns", "late-info", "n", NULL, NULL, "x") == NULL,
	    "a note does not fit a full list");
	T_OK(dc_finding(&c, DNSCHECK_ERROR, "spf", "late-error", "n", NULL, NULL, "e") != NULL,
	    "an error does: a note makes room");
	T_EQ_INT(r.nfindings, DNSCHECK_MAX_FINDINGS, "still full");
	T_EQ_STR(r.findings[r.nfindings - 1].code, "late-error", "the error is last");
	for (size_t i = 0; i < r.nfindings; i++)
		kept_infos += r.findings[i].severity == DNSCHECK_INFO;
	T_EQ_INT(kept_infos, DNSCHECK_MAX_FINDINGS - DNSCHECK_MAX_SAME_CODE - 1,
	    "one note gave way");
	T_EQ_INT(r.nerrors, 1, "the error counted");
	T_EQ_INT(r.ninfos, DNSCHECK_MAX_FINDINGS + 1, "every note counted");
	T_EQ_INT(dnscheck_exit_status(&r), 1, "exit 1: problems");
	r.lookup_failed = 1;
	T_EQ_INT(dnscheck_exit_status(&r), 2, "exit 2: a lookup failed");
	dnscheck_result_free(&r);
}

static void
test_unquote(void)
{
	char *s;

	T_OK(dc_unquote("v=spf1 -all", 11) == NULL, "nothing to take out");
	s = dc_unquote("\"v=spf1 \\\"-all\\\"\"", 17);
	T_EQ_STR(s, "v=spf1 -all", "quotes and backslashes out");
	free(s);
}

int
main(void)
{
	test_bounds();
	test_unquote();
	return t_done("test_dnscheck");
}
