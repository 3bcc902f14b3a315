/*
 * fuzz_dkim_key - DKIM key records and the RFC 6376 3.2 tag-list syntax
 * (verify/dkim_key.c) on arbitrary TXT record bytes.
 *
 * Input: a TXT record as DNS gives it (the strings joined; may hold NULs).
 *
 * Invariants:
 *  - dkim_key_parse() keeps the text; a record with a NUL is never valid;
 *    an invalid record has a reason in printable ASCII; a valid one is
 *    revoked (empty p=), of an unknown k= (ignored, 3.6.1), or has a key:
 *    ed25519 of 32 raw octets (RFC 8463 4.2), or RSA whose "k=rsa; p=..."
 *    for the library holds a SubjectPublicKeyInfo that OpenSSL reads back
 *    as RSA with the same size;
 *  - dkim_tags_parse(): names are ALPHA *(ALPHA / DIGIT / "_"), at most
 *    DKIM_TAGNAME_MAX, never twice, at most DKIM_TAGS_MAX; values are
 *    VALCHAR (0x21-0x7e but ';') with inner white space only, none at all
 *    for the stripped tags; failure leaves nothing allocated (LSan) and
 *    gives printable words;
 *  - dkim_b64_decode() of the text: the octet count of strict base64;
 *  - dkim_quote(): printable, bounded.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "../../common/util.h"
#include "../../verify/dkim_key.h"
#include "fuzz.h"

static const char *const strip[] = { "p", "h", "s", "t", NULL };

static void
check_tags(const char *s, size_t n)
{
	struct dkim_tags tl;
	char err[200];

	err[0] = '\0';
	if (dkim_tags_parse(&tl, s, n, strip, err, sizeof(err)) < 0) {
		FUZZ_CHECK(err[0] && fuzz_printable(err), "failure without printable words: %s",
		    err);
		FUZZ_CHECK(tl.n == 0, "tags left after a failure");
		return;
	}
	FUZZ_CHECK(tl.n >= 0 && tl.n <= DKIM_TAGS_MAX, "%d tags", tl.n);
	for (int i = 0; i < tl.n; i++) {
		const char *nm = tl.t[i].name, *v = tl.t[i].val;
		size_t nl = strlen(nm), vl = strlen(v);
		int stripped = 0;

		FUZZ_CHECK(nl >= 1 && nl <= DKIM_TAGNAME_MAX, "name of %zu", nl);
		FUZZ_CHECK((nm[0] >= 'a' && nm[0] <= 'z') || (nm[0] >= 'A' && nm[0] <= 'Z'),
		    "name %s", nm);
		for (size_t k = 0; k < nl; k++)
			FUZZ_CHECK(strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789_", nm[k]) != NULL, "name %s", nm);
		for (int j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(tl.t[j].name, nm) != 0, "%s twice", nm);
		FUZZ_CHECK(dkim_tag_get(&tl, nm) == v, "dkim_tag_get(%s)", nm);
		for (int k = 0; strip[k]; k++)
			stripped |= strcmp(strip[k], nm) == 0;
		for (size_t k = 0; k < vl; k++) {
			unsigned char c = (unsigned char)v[k];
			int ws = c == ' ' || c == '\t' || c == '\r' || c == '\n';

			FUZZ_CHECK(c != ';', "';' in the value of %s", nm);
			FUZZ_CHECK(ws || (c >= 0x21 && c <= 0x7e), "octet %#x in %s", c, nm);
			FUZZ_CHECK(!ws || (!stripped && k > 0 && k + 1 < vl),
			    "white space at %zu of %s=%s", k, nm, v);
		}
	}
	dkim_tags_free(&tl);
}

static void
check_key(const char *s, size_t n)
{
	struct dkim_key k;

	dkim_key_parse(&k, s, n);
	FUZZ_CHECK(k.text != NULL && memcmp(k.text, s, strlen(k.text)) == 0,
	    "text not kept");
	if (memchr(s, '\0', n) != NULL)
		FUZZ_CHECK(!k.valid, "a record with a NUL is valid");
	if (!k.valid) {
		FUZZ_CHECK(k.err[0] != '\0' && fuzz_printable(k.err), "reason \"%s\"", k.err);
		FUZZ_CHECK(k.libkey == NULL, "a library key for an invalid record");
	} else if (k.revoked || k.type == DKIM_KEY_UNKNOWN) {
		FUZZ_CHECK(k.libkey == NULL, "a library key for a revoked/unknown key");
	} else if (k.type == DKIM_KEY_ED25519) {
		FUZZ_CHECK(k.bits == 256 && k.libkey != NULL &&
		    strncmp(k.libkey, "k=ed25519; p=", 13) == 0 &&
		    dkim_b64_decode(k.libkey + 13, NULL) == 32, "ed25519 key %s", k.libkey);
	} else {
		const char *p;
		long dl;
		unsigned char *der;
		const unsigned char *pp;
		EVP_PKEY *pk;

		FUZZ_CHECK(k.type == DKIM_KEY_RSA && k.libkey != NULL &&
		    strncmp(k.libkey, "k=rsa; p=", 9) == 0, "RSA key %s", k.libkey);
		p = k.libkey + 9;
		dl = dkim_b64_decode(p, NULL);
		FUZZ_CHECK(dl > 0, "the library key is not base64");
		der = xmalloc((size_t)dl + 1);
		dkim_b64_decode(p, der);
		pp = der;
		pk = d2i_PUBKEY(NULL, &pp, dl);
		FUZZ_CHECK(pk != NULL && pp == der + dl && EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA,
		    "the library key is not an RSA SubjectPublicKeyInfo");
		FUZZ_CHECK(EVP_PKEY_get_bits(pk) == k.bits, "bits %d, key %d", k.bits,
		    EVP_PKEY_get_bits(pk));
		EVP_PKEY_free(pk);
		free(der);
	}
	dkim_key_free(&k);
}

static void
check_b64(const char *s, size_t n)
{
	char *z = xstrndup(s, n);
	size_t zl = strlen(z), pad = 0;
	long got = dkim_b64_decode(z, NULL);

	if (got >= 0) {
		while (pad < 2 && pad < zl && z[zl - 1 - pad] == '=')
			pad++;
		FUZZ_CHECK(zl % 4 == 0 && (size_t)got == zl / 4 * 3 - pad,
		    "%ld octets from %zu characters", got, zl);
		for (size_t i = 0; i < zl - pad; i++)
			FUZZ_CHECK(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			    "0123456789+/", z[i]) != NULL, "base64 with %#x", (unsigned char)z[i]);
	}
	free(z);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	char q[DKIM_QUOTE_MAX + 8];

	check_key(s, size);
	check_tags(s, size);
	check_b64(s, size);
	dkim_quote(q, sizeof(q), s, size);
	FUZZ_CHECK(fuzz_printable(q) && strlen(q) < sizeof(q), "dkim_quote: %s", q);
	return 0;
}
