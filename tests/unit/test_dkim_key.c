/*
 * test_dkim_key - verify/dkim_key.c: the DKIM key record parser shared by
 * the verifier and dns-check (RFC 6376 3.2, 3.6.1; RFC 8463 4.2; RFC 8301).
 * The keys are tests/keys/{rsa1024,rsa512,ed25519}.pem's public halves
 * (openssl pkey -pubout -outform DER | base64; PKCS#1 with -RSAPublicKey_out).
 */
#include <stdlib.h>
#include <string.h>

#include "../../common/util.h"
#include "../../verify/dkim_key.h"
#include "t.h"

#define RSA1024	"MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDTDc7sFsHL2ZwsU/Rvt1LqKtXdclaGuvZtlXwtpw9kfg2WuChhFhoTcJQTbbS/glthoScmyI9zD0N40X+5zrqdWg/2WLby5l4ZRfDaKZUr+TjqNNWKyO6RQyd6kBMCITAdtc8bDwr0kYA4xQxIUszT8deR6+ZXW8q1PdLTctfFRQIDAQAB"
#define RSA512	"MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAL8a5nrDobBMAv/CwCRHzkJxIIKNJovyU3xw2DX7BOodHUcFkY/fXX337zOoJgafVfy7wzDJrYTooZ4//Kt3kp0CAwEAAQ=="
#define RSA1024_PKCS1 "MIGJAoGBANMNzuwWwcvZnCxT9G+3Uuoq1d1yVoa69m2VfC2nD2R+DZa4KGEWGhNwlBNttL+CW2GhJybIj3MPQ3jRf7nOup1aD/ZYtvLmXhlF8NoplSv5OOo01YrI7pFDJ3qQEwIhMB21zxsPCvSRgDjFDEhSzNPx15Hr5ldbyrU90tNy18VFAgMBAAE="
#define ED25519	"m5kB2bLvm3PTfBALd/GROWoVMAR4L6Lsub5klJiO+vk="

static void
test_keys(void)
{
	static const struct {
		const char	*label, *rec;
		int		 valid, revoked, testing, strict, bits;
		enum dkim_key_type type;
		const char	*err;		/* substring of ->err, or NULL */
	} c[] = {
		{ "3.6.1 rsa 1024", "v=DKIM1; k=rsa; p=" RSA1024, 1, 0, 0, 0, 1024,
		    DKIM_KEY_RSA, NULL },
		{ "3.6.1 k= defaults to rsa, v= optional", "p=" RSA512, 1, 0, 0, 0, 512,
		    DKIM_KEY_RSA, NULL },
		{ "3.6.1 RSAPublicKey (PKCS#1) accepted", "v=DKIM1; p=" RSA1024_PKCS1, 1, 0,
		    0, 0, 1024, DKIM_KEY_RSA, NULL },
		{ "RFC 8463 4.2 raw ed25519", "v=DKIM1; k=ed25519; p=" ED25519, 1, 0, 0, 0,
		    256, DKIM_KEY_ED25519, NULL },
		{ "3.6.1 FWS inside p= is allowed", "v=DKIM1; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDT \t\r\n Dc7sFsHL2ZwsU/Rvt1LqKtXdclaGuvZtlXwtpw9kfg2WuChhFhoTcJQTbbS/glthoScmyI9zD0N40X+5zrqdWg/2WLby5l4ZRfDaKZUr+TjqNNWKyO6RQyd6kBMCITAdtc8bDwr0kYA4xQxIUszT8deR6+ZXW8q1PdLTctfFRQIDAQAB", 1, 0, 0, 0,
		    1024, DKIM_KEY_RSA, NULL },
		{ "3.6.1 t=y testing", "v=DKIM1; t=y; p=" RSA1024, 1, 0, 1, 0, 1024,
		    DKIM_KEY_RSA, NULL },
		{ "3.6.1 t=y:s", "v=DKIM1; t=y:s; p=" RSA1024, 1, 0, 1, 1, 1024,
		    DKIM_KEY_RSA, NULL },
		{ "3.6.1 empty p= is revoked", "v=DKIM1; k=rsa; p=", 1, 1, 0, 0, 0,
		    DKIM_KEY_RSA, NULL },
		{ "3.6.1 unknown k= is ignored, not an error", "v=DKIM1; k=foo; p=abcd", 1,
		    0, 0, 0, 0, DKIM_KEY_UNKNOWN, NULL },
		{ "3.6.1 v= must come first", "k=rsa; v=DKIM1; p=" RSA1024, 0, 0, 0, 0, 0,
		    DKIM_KEY_UNKNOWN, "not the first" },
		{ "3.6.1 v=DKIM2", "v=DKIM2; p=" RSA1024, 0, 0, 0, 0, 0, DKIM_KEY_UNKNOWN,
		    "only v=DKIM1" },
		{ "3.6.1 p= required", "v=DKIM1; k=rsa", 0, 0, 0, 0, 0, DKIM_KEY_UNKNOWN,
		    "no p=" },
		{ "3.2 duplicate tag", "v=DKIM1; p=" RSA1024 "; p=" RSA1024, 0, 0, 0, 0, 0,
		    DKIM_KEY_UNKNOWN, "appears twice" },
		{ "3.2 not a tag=value pair", "v=DKIM1; rsa; p=" RSA1024, 0, 0, 0, 0, 0,
		    DKIM_KEY_UNKNOWN, "not a tag=value pair" },
		{ "base64 broken by a quote", "v=DKIM1; p=MIGfMA0\"\"GCSqGSIb3DQEB", 0, 0, 0,
		    0, 0, DKIM_KEY_RSA, "not valid base64" },
		{ "ed25519 key must be 32 bytes", "v=DKIM1; k=ed25519; p=" RSA512, 0, 0, 0, 0,
		    0, DKIM_KEY_ED25519, "32-byte" },
		{ "base64 of something else", "v=DKIM1; p=aGVsbG8gd29ybGQh", 0, 0, 0, 0, 0,
		    DKIM_KEY_RSA, "RSA public key" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		struct dkim_key k;

		dkim_key_parse(&k, c[i].rec, strlen(c[i].rec));
		T_EQ_INT(k.valid, c[i].valid, c[i].label);
		T_EQ_INT(k.revoked, c[i].revoked, c[i].label);
		T_EQ_INT(k.testing, c[i].testing, c[i].label);
		T_EQ_INT(k.strict, c[i].strict, c[i].label);
		T_EQ_INT(k.bits, c[i].bits, c[i].label);
		T_EQ_INT(k.type, c[i].type, c[i].label);
		T_EQ_STR(k.text, c[i].rec, c[i].label);
		if (c[i].err)
			T_OK(strstr(k.err, c[i].err) != NULL, c[i].label);
		else
			T_OK(k.valid || k.err[0] != '\0', c[i].label);
		dkim_key_free(&k);
	}
}

static void
test_tags(void)
{
	static const char *const strip[] = { "p", NULL };
	struct dkim_tags tl;
	char err[200];

	T_EQ_INT(dkim_tags_parse(&tl, " a = 1 ;p= ab cd\r\n ef; ;", 24, strip, err,
	    sizeof(err)), 0, "3.2 FWS around names and values, empty element");
	T_EQ_INT(tl.n, 2, "3.2 two tags");
	T_EQ_STR(dkim_tag_get(&tl, "a"), "1", "3.2 value trimmed");
	T_EQ_STR(dkim_tag_get(&tl, "p"), "abcdef", "3.2 strip tag loses FWS");
	T_OK(dkim_tag_get(&tl, "A") == NULL, "3.2 tag names are case-sensitive");
	dkim_tags_free(&tl);
	T_EQ_INT(dkim_tags_parse(&tl, "a=\x01", 3, strip, err, sizeof(err)), -1,
	    "3.2 control byte in a value");
	T_OK(dkim_list_has("sha1:sha256", "sha256"), "list has");
	T_OK(!dkim_list_has("sha1", "sha256"), "list has not");
	T_EQ_INT(dkim_b64_decode("aGk=", NULL), 2, "b64 length");
	T_EQ_INT(dkim_b64_decode("aGk", NULL), -1, "b64 unpadded");
}

/* dkim_key_copy(): a deep copy that outlives its source (the verifier's
 * key cache hands out copies of one parse) */
static void
test_copy(void)
{
	static const char *const recs[] = {
		"v=DKIM1; k=rsa; h=sha256; s=email; t=y:s; p=" RSA1024,
		"v=DKIM1; k=ed25519; p=" ED25519,
		"v=DKIM1; p=",
		"v=DKIM2; p=" RSA1024,
	};

	for (size_t i = 0; i < sizeof(recs) / sizeof(recs[0]); i++) {
		struct dkim_key a, b, c;

		dkim_key_parse(&a, recs[i], strlen(recs[i]));
		dkim_key_parse(&c, recs[i], strlen(recs[i]));
		dkim_key_copy(&b, &a);
		dkim_key_free(&a);	/* the copy owns its own strings */
		T_EQ_STR(b.text, c.text, "copy text");
		T_EQ_STR(b.k, c.k, "copy k");
		T_EQ_STR(b.h, c.h, "copy h");
		T_EQ_STR(b.s, c.s, "copy s");
		T_EQ_STR(b.libkey, c.libkey, "copy libkey");
		T_EQ_STR(b.err, c.err, "copy err");
		T_EQ_INT(b.valid, c.valid, "copy valid");
		T_EQ_INT(b.revoked, c.revoked, "copy revoked");
		T_EQ_INT(b.type, c.type, "copy type");
		T_EQ_INT(b.bits, c.bits, "copy bits");
		T_EQ_INT(b.testing, c.testing, "copy testing");
		T_EQ_INT(b.strict, c.strict, "copy strict");
		dkim_key_free(&b);
		dkim_key_free(&c);
	}
}

/* dkim_key_parse_cached(): the same answers as dkim_key_parse(), whatever
 * the cache holds: a text seen before, a text that differs in one tag, more
 * texts than slots (eviction), a text too long to keep, no cache at all */
static void
same_key(const struct dkim_key *a, const struct dkim_key *b, const char *what)
{
	T_EQ_STR(a->text, b->text, what);
	T_EQ_STR(a->k, b->k, what);
	T_EQ_STR(a->h, b->h, what);
	T_EQ_STR(a->libkey, b->libkey, what);
	T_EQ_STR(a->err, b->err, what);
	T_EQ_INT(a->valid, b->valid, what);
	T_EQ_INT(a->revoked, b->revoked, what);
	T_EQ_INT(a->type, b->type, what);
	T_EQ_INT(a->bits, b->bits, what);
	T_EQ_INT(a->testing, b->testing, what);
}

static void
test_cache(void)
{
	static const char *const recs[] = {
		"v=DKIM1; k=rsa; p=" RSA1024,
		"v=DKIM1; k=rsa; t=y; p=" RSA1024,
		"v=DKIM1; k=ed25519; p=" ED25519,
		"v=DKIM1; k=ed25519; p=" RSA1024,
		"v=DKIM1; p=",
	};
	struct dkim_key_cache *kc = dkim_key_cache_new();
	char filler[64], *big;
	size_t biglen = DKIM_KEYCACHE_MAXLEN + 100;

	/* three rounds: cold, warm, and warm after DKIM_KEYCACHE_SLOTS other
	 * texts have gone through (every slot evicted) */
	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < sizeof(recs) / sizeof(recs[0]); i++) {
			struct dkim_key a, b;

			dkim_key_parse(&a, recs[i], strlen(recs[i]));
			dkim_key_parse_cached(kc, &b, recs[i], strlen(recs[i]));
			same_key(&a, &b, "cached parse");
			dkim_key_free(&a);
			dkim_key_free(&b);
		}
		if (round == 1)
			for (int k = 0; k < DKIM_KEYCACHE_SLOTS; k++) {
				struct dkim_key f;

				snprintf(filler, sizeof(filler), "v=DKIM1; n=%d; p=", k);
				dkim_key_parse_cached(kc, &f, filler, strlen(filler));
				T_EQ_INT(f.revoked, 1, "filler parsed");
				dkim_key_free(&f);
			}
	}
	/* too long to keep: parsed every time, the same answer */
	big = xmalloc(biglen + 1);
	memset(big, ' ', biglen);
	memcpy(big, "v=DKIM1; p=", 11);
	big[biglen] = '\0';
	for (int k = 0; k < 2; k++) {
		struct dkim_key a, b;

		dkim_key_parse(&a, big, biglen);
		dkim_key_parse_cached(kc, &b, big, biglen);
		same_key(&a, &b, "long record");
		dkim_key_free(&a);
		dkim_key_free(&b);
	}
	free(big);
	{
		struct dkim_key a, b;

		dkim_key_parse(&a, recs[0], strlen(recs[0]));
		dkim_key_parse_cached(NULL, &b, recs[0], strlen(recs[0]));
		same_key(&a, &b, "no cache");
		dkim_key_free(&a);
		dkim_key_free(&b);
	}
	dkim_key_cache_free(kc);
	dkim_key_cache_free(NULL);
}

int
main(void)
{
	test_keys();
	test_tags();
	test_copy();
	test_cache();
	return t_done("test_dkim_key");
}
