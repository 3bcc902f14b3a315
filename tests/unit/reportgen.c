/*
 * reportgen - print a report for one of the hand-built scenarios
 * (scenarios.h), for tests that look at the output with other tools
 * (headless Chromium for the HTML report).
 *
 *   reportgen pass|spoofed|unsigned text|html|json
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../reply/report.h"
#include "scenarios.h"

int
main(int argc, char **argv)
{
	struct verify_result r;
	struct report_meta m;
	char *out;

	if (argc != 3) {
		fprintf(stderr, "usage: reportgen pass|spoofed|unsigned text|html|json\n");
		return 2;
	}
	if (strcmp(argv[1], "pass") == 0)
		scenario_pass(&r, &m);
	else if (strcmp(argv[1], "spoofed") == 0 || strcmp(argv[1], "unsigned") == 0) {
		scenario_spoofed(&r, &m);
		if (strcmp(argv[1], "unsigned") == 0)
			r.ndkim = 0;
	} else {
		fprintf(stderr, "reportgen: unknown scenario %s\n", argv[1]);
		return 2;
	}
	if (strcmp(argv[2], "text") == 0)
		out = report_text(&r, &m);
	else if (strcmp(argv[2], "html") == 0)
		out = report_html(&r, &m);
	else if (strcmp(argv[2], "json") == 0)
		out = report_json_text(&r, &m, 1);
	else {
		fprintf(stderr, "reportgen: unknown format %s\n", argv[2]);
		return 2;
	}
	fputs(out, stdout);
	free(out);
	return 0;
}
