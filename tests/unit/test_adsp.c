/*
 * test_adsp - the ADSP record parser (verify/adsp.c, RFC 5617 4.2.1):
 * tag-list syntax, the dkim= practice, records that must be ignored.
 * The records are those of the fuzz_adsp seed corpus.
 */
#include <stdlib.h>
#include <string.h>

#include "../../common/util.h"
#include "../../verify/adsp.h"
#include "t.h"

int
main(void)
{
	static const struct {
		const char *rec;
		size_t len;		/* 0: strlen */
		int rc;
		const char *practice;
	} cases[] = {
		{ "dkim=all", 0, 0, "all" },
		{ "dkim=unknown", 0, 0, "unknown" },
		{ "dkim=discardable", 0, 0, "discardable" },
		/* 4.2.1: "the first four characters of the record are lowercase dkim" */
		{ " dkim = all ; ", 0, -1, NULL },
		{ "dkim = all ; ", 0, 0, "all" },
		{ "dkim\t=\tall\t", 0, 0, "all" },
		{ "x=y; dkim=all; z=1", 0, -1, NULL },
		{ "dkim=all; x=y; z=1", 0, 0, "all" },
		{ ";;dkim=all;;", 0, -1, NULL },
		{ "dkim=all;;", 0, 0, "all" },
		{ "dkim=something", 0, 0, "something" },	/* unknown: caller's job */
		{ "DKIM=all", 0, -1, NULL },		/* tag names are case-sensitive */
		{ "dkim=all; dkim=unknown", 0, -1, NULL },	/* duplicate tag */
		{ "a=b", 0, -1, NULL },			/* dkim= is required */
		{ "", 0, -1, NULL },
		{ "dkim all", 0, -1, NULL },
		{ "1x=2; dkim=all", 0, -1, NULL },	/* tag-name starts with ALPHA */
		{ "dkim=a\x01l", 0, -1, NULL },		/* not VALCHAR */
		{ "dkim=\xc3\xa4ll", 0, -1, NULL },
		{ "dkim=all\0", 9, -1, NULL },		/* NUL inside the TXT data */
	};
	char many[400];
	size_t o = 0;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *pr = (char *)1, err[200] = "";
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].rec);
		int rc = adsp_record_parse(cases[i].rec, len, &pr, err, sizeof(err));

		T_EQ_INT(rc, cases[i].rc, cases[i].rec);
		T_EQ_STR(pr, cases[i].practice, cases[i].rec);
		if (rc < 0)
			T_OK(err[0] != '\0', cases[i].rec);
		free(pr);
	}
	/* more than 32 tags: refused, nothing leaked */
	o += (size_t)snprintf(many + o, sizeof(many) - o, "dkim=all");
	for (int i = 0; i < 33; i++)
		o += (size_t)snprintf(many + o, sizeof(many) - o, ";t%d=v", i);
	{
		char *pr, err[200];

		T_EQ_INT(adsp_record_parse(many, strlen(many), &pr, err, sizeof(err)), -1,
		    "33 tags and dkim=");
		T_OK(pr == NULL && strstr(err, "more than") != NULL, "tag limit message");
	}
	return t_done("test_adsp");
}
