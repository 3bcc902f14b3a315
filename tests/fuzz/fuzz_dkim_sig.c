/*
 * fuzz_dkim_sig - what verify/dkim.c does with a DKIM-Signature field
 * before libopendkim sees it (dkim_sig_precheck(): the RFC 6376 3.2
 * tag-list, 3.5 tags, 6.1.1 checks), on arbitrary field values.
 *
 * Input: a clock byte (the verification time), then the field value as it
 * follows "DKIM-Signature:" (folded or not, any octets).
 *
 * Invariants:
 *  - a field that passes is a tag-list (dkim_tags_parse() agrees) with
 *    v=1, every required tag (a b bh d h s) non-empty, a known a= (RFC
 *    8301, 8463), base64 b= and bh=, From in h=; its key name is
 *    "s._domainkey.d" of letters, digits, '-', '_' and dots, at most 253
 *    octets: nothing else ever reaches the DNS or the library;
 *  - a refused field has an error word and a reason in printable ASCII
 *    (it goes into the report and the Authentication-Results comment) of
 *    bounded length, and nothing else is allocated (LSan).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../common/util.h"
#include "../../verify/dkim.h"
#include "../../verify/dkim_key.h"
#include "fuzz.h"

#define REASON_MAX	2048

static const char *const sig_strip[] = { "b", "bh", "h", "q", "z", NULL };

static void
check_passed(const char *v, size_t n, const char *keyname)
{
	struct dkim_tags tl;
	char err[200];
	const char *a, *h;
	static const char *const req[] = { "a", "b", "bh", "d", "h", "s" };

	FUZZ_CHECK(dkim_tags_parse(&tl, v, n, sig_strip, err, sizeof(err)) == 0,
	    "passed, but not a tag-list: %s", err);
	FUZZ_CHECK(dkim_tag_get(&tl, "v") && strcmp(dkim_tag_get(&tl, "v"), "1") == 0,
	    "passed without v=1");
	for (size_t i = 0; i < ARRAY_SIZE(req); i++)
		FUZZ_CHECK(dkim_tag_get(&tl, req[i]) && *dkim_tag_get(&tl, req[i]),
		    "passed without %s=", req[i]);
	a = dkim_tag_get(&tl, "a");
	FUZZ_CHECK(str_caseeq(a, "rsa-sha256") || str_caseeq(a, "rsa-sha1") ||
	    str_caseeq(a, "ed25519-sha256"), "passed with a=%s", a);
	FUZZ_CHECK(dkim_b64_decode(dkim_tag_get(&tl, "b"), NULL) >= 0 &&
	    dkim_b64_decode(dkim_tag_get(&tl, "bh"), NULL) >= 0, "passed with bad base64");
	h = dkim_tag_get(&tl, "h");
	FUZZ_CHECK(dkim_list_has(h, "from"), "passed without From in h=%s", h);
	FUZZ_CHECK(strlen(keyname) <= 253 && strstr(keyname, "._domainkey.") != NULL,
	    "key name %s", keyname);
	for (const char *p = keyname; *p; p++)
		FUZZ_CHECK(strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789-_.", *p) != NULL, "octet %#x in the key name %s",
		    (unsigned char)*p, keyname);
	FUZZ_CHECK(strstr(keyname, "..") == NULL && keyname[0] != '.' &&
	    keyname[strlen(keyname) - 1] != '.', "empty label in %s", keyname);
	dkim_tags_free(&tl);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const time_t clocks[] = { 0, 1, 1700000000, 2000000000, 99999999999LL };
	struct fuzz_in in = { data, size };
	time_t now = clocks[fuzz_byte(&in) % ARRAY_SIZE(clocks)];
	char keyname[600], *reason = (char *)"unset";
	const char *error = "unset";
	int rc;

	keyname[0] = '\0';
	rc = dkim_sig_precheck((const char *)in.p, in.n, now, keyname, sizeof(keyname),
	    &error, &reason);
	if (rc == 0) {
		FUZZ_CHECK(error == NULL && reason == NULL, "passed with a reason");
		check_passed((const char *)in.p, in.n, keyname);
	} else {
		FUZZ_CHECK(rc == -1 && error != NULL && reason != NULL, "refused: rc %d", rc);
		FUZZ_CHECK(fuzz_printable(error) && fuzz_printable(reason),
		    "not printable: %s: %s", error, reason);
		FUZZ_CHECK(strlen(reason) < REASON_MAX, "reason of %zu octets", strlen(reason));
		free(reason);
	}
	return 0;
}
