/*
 * recordq - run records through the verifiers' own parsers (test driver
 * for dns-check's suggested records).
 *
 *   recordq spf|dmarc|dkim RECORD...
 *     one JSON line per record: {"ok": true} or {"ok": false, "error": "..."}
 *     spf:   spf_record_parse() accepts it
 *     dmarc: dmarc_record_is_dmarc(), and dmarc_record_tags() finds every
 *            tag known and valid (nothing ignored or discarded), p= valid
 *     dkim:  dkim_key_parse() finds a valid key record
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../common/util.h"
#include "../../verify/dkim_key.h"
#include "../../verify/dmarc_record.h"
#include "../../verify/spf_record.h"

static const char *
check_spf(const char *s, char *err, size_t n)
{
	struct spf_record rec;
	struct spf_error e;

	if (spf_record_parse(s, strlen(s), &rec, &e) < 0) {
		snprintf(err, n, "octet %zu: %s", e.pos + 1, e.msg);
		return err;
	}
	spf_record_free(&rec);
	return NULL;
}

static const char *
check_dmarc(const char *s, char *err, size_t n)
{
	struct dmarc_tag_info ti[DMARC_MAX_TAGS];
	struct dmarc_record rec;
	size_t nt;
	int p_ok;

	if (!dmarc_record_is_dmarc(s, strlen(s)))
		return "not a DMARC record";
	nt = dmarc_record_tags(s, strlen(s), DMARC_SPEC_9989, ti, DMARC_MAX_TAGS);
	for (size_t i = 0; i < nt; i++)
		if (ti[i].status != DMARC_TAG_OK) {
			snprintf(err, n, "tag %zu (%s) status %d", i + 1, ti[i].name,
			    (int)ti[i].status);
			return err;
		}
	dmarc_record_parse(s, strlen(s), DMARC_SPEC_9989, &rec);
	p_ok = rec.p != DMARC_REQ_ABSENT && rec.p != DMARC_REQ_INVALID;
	dmarc_record_free(&rec);
	return p_ok ? NULL : "no valid p=";
}

static const char *
check_dkim(const char *s, char *err, size_t n)
{
	struct dkim_key k;
	const char *r = NULL;

	dkim_key_parse(&k, s, strlen(s));
	if (!k.valid) {
		snprintf(err, n, "%s", k.err);
		r = err;
	}
	dkim_key_free(&k);
	return r;
}

int
main(int argc, char **argv)
{
	const char *(*fn)(const char *, char *, size_t);

	if (argc < 2)
		goto out_usage;
	if (strcmp(argv[1], "spf") == 0)
		fn = check_spf;
	else if (strcmp(argv[1], "dmarc") == 0)
		fn = check_dmarc;
	else if (strcmp(argv[1], "dkim") == 0)
		fn = check_dkim;
	else
		goto out_usage;
	for (int i = 2; i < argc; i++) {
		char err[300];
		const char *e = fn(argv[i], err, sizeof(err));
		json_t *j = json_pack("{s:b}", "ok", e == NULL);
		char *line;

		if (e != NULL)
			json_object_set_new(j, "error", json_string(e));
		line = json_dumps(j, JSON_COMPACT);
		puts(line);
		free(line);
		json_decref(j);
	}
	return 0;
out_usage:
	fprintf(stderr, "usage: recordq spf|dmarc|dkim RECORD...\n");
	return 2;
}
