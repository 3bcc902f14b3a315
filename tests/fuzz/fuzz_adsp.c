/*
 * fuzz_adsp - the ADSP record parser (verify/adsp.c, adsp_record_parse())
 * on arbitrary bytes, as they come from a TXT record (not NUL-terminated,
 * may hold NULs).
 *
 * Invariants: success gives a dkim= value made of VALCHAR and inner WSP
 * only (RFC 5617 4.2.1), never longer than the record, from a record with
 * no NUL; failure gives no value and a reason; a record that starts with
 * a space is always refused (4.2.1: it starts with "dkim").
 */
#include <stdlib.h>
#include <string.h>

#include "../../common/util.h"
#include "../../verify/adsp.h"
#include "fuzz.h"

static void
check_practice(const char *pr, const uint8_t *rec, size_t len)
{
	size_t n = strlen(pr);

	FUZZ_CHECK(n <= len, "practice longer than the record");
	FUZZ_CHECK(memchr(rec, '\0', len) == NULL, "accepted a record with a NUL");
	FUZZ_CHECK(n == 0 || (pr[0] != ' ' && pr[0] != '\t' && pr[n - 1] != ' ' &&
	    pr[n - 1] != '\t'), "white space around \"%s\"", pr);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)pr[i];

		FUZZ_CHECK(c == ' ' || c == '\t' || (c >= 0x21 && c <= 0x7e && c != ';'),
		    "byte %#x in the practice", c);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *pr, *pr2, err[200], err2[200];
	uint8_t *spaced;
	int rc, rc2;

	err[0] = '\0';
	rc = adsp_record_parse((const char *)data, size, &pr, err, sizeof(err));
	if (rc == 0) {
		FUZZ_CHECK(pr != NULL, "success without a practice");
		check_practice(pr, data, size);
	} else {
		FUZZ_CHECK(rc == -1 && pr == NULL, "rc %d, practice %p", rc, (void *)pr);
		FUZZ_CHECK(err[0] != '\0', "failure without a reason");
	}

	spaced = xmalloc(size + 1);
	spaced[0] = ' ';
	memcpy(spaced + 1, data, size);
	/* RFC 5617 4.2.1: "the first four characters of the record are
	 * lowercase dkim" - so a leading space always makes a record invalid */
	rc2 = adsp_record_parse((const char *)spaced, size + 1, &pr2, err2, sizeof(err2));
	FUZZ_CHECK(rc2 == -1 && pr2 == NULL, "a record starting with a space was accepted");
	free(spaced);
	free(pr);
	free(pr2);
	return 0;
}
