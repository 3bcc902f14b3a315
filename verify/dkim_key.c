/* dkim_key.c - DKIM key records and tag-lists: see dkim_key.h */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "../common/util.h"
#include "dkim_key.h"

/* Tags whose values may hold FWS that carries no meaning (RFC 6376 3.6.1). */
static const char *const key_strip[] = { "p", "h", "s", "t", NULL };

static int
is_fws(int ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* Printable, bounded quote of hostile text for a reason. */
void
dkim_quote(char *out, size_t n, const char *s, size_t len)
{
	size_t o = 0;

	for (size_t k = 0; k < len && o + 4 < n; k++) {
		unsigned char ch = (unsigned char)s[k];

		if (k == DKIM_QUOTE_MAX) {
			out[o++] = '.';
			out[o++] = '.';
			out[o++] = '.';
			break;
		}
		out[o++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
	}
	out[o] = '\0';
}


/*
 * RFC 6376 3.2 tag-list: tag=value pairs separated by ';', FWS around
 * names and values, tag-name = ALPHA *(ALPHA / DIGIT / "_"), VALCHAR =
 * %x21-3A / %x3C-7E, no tag twice.  Empty elements are tolerated.  Values
 * are trimmed; the tags named in strip (base64 and colon-separated lists,
 * where the grammar allows FWS inside) lose all white space.  0, or -1.
 */
static int
tags_split(struct dkim_tags *tl, const char *s, size_t len, const char *const *strip,
    char *err, size_t errlen)
{
	size_t p = 0;

	tl->n = 0;
	while (p < len) {
		size_t ns, ne, vs, ve, semi;
		struct dkim_tag *tg;
		char q[DKIM_QUOTE_MAX + 8];

		for (semi = p; semi < len && s[semi] != ';'; semi++)
			;
		while (p < semi && is_fws((unsigned char)s[p]))
			p++;
		if (p == semi) {		/* empty element */
			p = semi + 1;
			continue;
		}
		ns = p;
		while (p < semi && (ascii_isalpha((unsigned char)s[p]) ||
		    ascii_isdigit((unsigned char)s[p]) || s[p] == '_'))
			p++;
		ne = p;
		while (p < semi && is_fws((unsigned char)s[p]))
			p++;
		if (ne == ns || !ascii_isalpha((unsigned char)s[ns]) || p == semi || s[p] != '=') {
			dkim_quote(q, sizeof(q), s + ns, semi - ns);
			snprintf(err, errlen, "\"%s\" is not a tag=value pair (RFC 6376 3.2)", q);
			return -1;
		}
		if (ne - ns > DKIM_TAGNAME_MAX) {
			snprintf(err, errlen, "a tag name longer than %d characters",
			    DKIM_TAGNAME_MAX);
			return -1;
		}
		vs = p + 1;
		ve = semi;
		for (size_t k = vs; k < ve; k++) {
			unsigned char ch = (unsigned char)s[k];

			if (!is_fws(ch) && (ch < 0x21 || ch > 0x7e)) {
				snprintf(err, errlen, "the value of %.*s holds a byte that "
				    "is not printable ASCII (0x%02x, RFC 6376 3.2)",
				    (int)(ne - ns), s + ns, ch);
				return -1;
			}
		}
		for (int k = 0; k < tl->n; k++)
			if (strlen(tl->t[k].name) == ne - ns &&
			    memcmp(tl->t[k].name, s + ns, ne - ns) == 0) {
				snprintf(err, errlen, "the tag %.*s appears twice, which "
				    "makes the whole tag-list invalid (RFC 6376 3.2)",
				    (int)(ne - ns), s + ns);
				return -1;
			}
		if (tl->n == DKIM_TAGS_MAX) {
			snprintf(err, errlen, "more than %d tags", DKIM_TAGS_MAX);
			return -1;
		}
		tg = &tl->t[tl->n++];
		memcpy(tg->name, s + ns, ne - ns);
		tg->name[ne - ns] = '\0';
		while (vs < ve && is_fws((unsigned char)s[vs]))
			vs++;
		while (ve > vs && is_fws((unsigned char)s[ve - 1]))
			ve--;
		tg->val = xmalloc(ve - vs + 1);
		{
			size_t o = 0;
			int squeeze = 0;

			for (int k = 0; strip[k]; k++)
				squeeze |= strcmp(strip[k], tg->name) == 0;
			for (size_t k = vs; k < ve; k++)
				if (!squeeze || !is_fws((unsigned char)s[k]))
					tg->val[o++] = s[k];
			tg->val[o] = '\0';
		}
		p = semi + 1;
	}
	return 0;
}

void
dkim_tags_free(struct dkim_tags *tl)
{
	for (int k = 0; k < tl->n; k++)
		free(tl->t[k].val);
	tl->n = 0;
}

/* tags_split(), leaving nothing allocated when it fails */
int
dkim_tags_parse(struct dkim_tags *tl, const char *s, size_t len, const char *const *strip,
    char *err, size_t errlen)
{
	if (tags_split(tl, s, len, strip, err, errlen) == 0)
		return 0;
	dkim_tags_free(tl);
	return -1;
}

/* Tag names are case-sensitive (RFC 6376 3.2). */
const char *
dkim_tag_get(const struct dkim_tags *tl, const char *name)
{
	for (int k = 0; k < tl->n; k++)
		if (strcmp(tl->t[k].name, name) == 0)
			return tl->t[k].val;
	return NULL;
}

static int
b64val(int ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ascii_isdigit(ch))
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}


/*
 * Strict base64 (RFC 2045 alphabet, '=' padding only at the end, white
 * space already removed).  Decodes into out (at least 3 * len / 4 bytes;
 * NULL to check only).  Returns the byte count or -1.
 */
long
dkim_b64_decode(const char *s, unsigned char *out)
{
	size_t len = strlen(s), pad = 0, o = 0;
	unsigned long acc = 0;
	int nbits = 0;

	while (pad < len && pad < 2 && s[len - 1 - pad] == '=')
		pad++;
	if (len == 0 || (len % 4) != 0)
		return -1;
	for (size_t k = 0; k < len - pad; k++) {
		int v = b64val((unsigned char)s[k]);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned long)v;
		nbits += 6;
		if (nbits >= 8) {
			nbits -= 8;
			if (out)
				out[o] = (unsigned char)(acc >> nbits);
			o++;
			acc &= (1UL << nbits) - 1;
		}
	}
	return (long)o;
}

static char *
b64_encode(const unsigned char *in, size_t len)
{
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	return out;
}

/* Does the colon-separated list (white space removed) hold word? */
int
dkim_list_has(const char *list, const char *word)
{
	size_t wl = strlen(word);

	for (const char *p = list; p && *p; ) {
		const char *e = strchr(p, ':');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (n == wl && str_ncaseeq(p, word, n))
			return 1;
		p = e ? e + 1 : NULL;
	}
	return 0;
}

/* ------------------------------------------- key record, RFC 6376 3.6.1 */

static void
key_decode(struct dkim_key *kr, const char *p)
{
	long n;
	unsigned char *der;
	const unsigned char *pp;
	EVP_PKEY *pk = NULL;

	if ((n = dkim_b64_decode(p, NULL)) < 0) {
		snprintf(kr->err, sizeof(kr->err), "p= is not valid base64");
		return;
	}
	der = xmalloc((size_t)n + 1);
	dkim_b64_decode(p, der);
	if (kr->type == DKIM_KEY_ED25519) {
		/* RFC 8463 4.2: the raw 32-byte public key, not SubjectPublicKeyInfo */
		if (n != 32)
			snprintf(kr->err, sizeof(kr->err), "p= holds %ld bytes; an "
			    "ed25519 key is the raw 32-byte public key (RFC 8463 4.2)", n);
		else {
			kr->bits = 256;
			kr->valid = 1;
			kr->libkey = xasprintf("k=ed25519; p=%s", p);
		}
		free(der);
		return;
	}
	pp = der;
	pk = d2i_PUBKEY(NULL, &pp, n);
	if (pk != NULL && (pp != der + n || EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA)) {
		EVP_PKEY_free(pk);
		pk = NULL;
	}
	if (pk != NULL)
		kr->libkey = xasprintf("k=rsa; p=%s", p);
	else {
		/* a bare PKCS#1 RSAPublicKey: accepted (RFC 6376 3.6.1 names
		 * RSAPublicKey), re-encoded as SubjectPublicKeyInfo for the library */
		pp = der;
		pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &pp, n);
		if (pk != NULL && pp == der + n) {
			unsigned char *spki = NULL;
			int sl = i2d_PUBKEY(pk, &spki);

			if (sl > 0) {
				char *b = b64_encode(spki, (size_t)sl);

				kr->libkey = xasprintf("k=rsa; p=%s", b);
				free(b);
			}
			OPENSSL_free(spki);
		}
	}
	if (pk == NULL || kr->libkey == NULL) {
		snprintf(kr->err, sizeof(kr->err), "p= does not hold an RSA public key "
		    "(DER SubjectPublicKeyInfo, base64)");
		EVP_PKEY_free(pk);
		free(der);
		return;
	}
	kr->bits = EVP_PKEY_get_bits(pk);
	kr->valid = 1;
	EVP_PKEY_free(pk);
	free(der);
}

void
dkim_key_parse(struct dkim_key *kr, const char *txt, size_t len)
{
	struct dkim_tags tl;
	const char *v, *p, *t;
	char q[DKIM_QUOTE_MAX + 8];

	memset(kr, 0, sizeof(*kr));
	kr->text = xstrndup(txt, len);
	if (memchr(txt, '\0', len) != NULL) {
		snprintf(kr->err, sizeof(kr->err), "the record holds a NUL byte");
		return;
	}
	if (dkim_tags_parse(&tl, txt, len, key_strip, kr->err, sizeof(kr->err)) < 0)
		return;
	v = dkim_tag_get(&tl, "v");
	if (v != NULL && (tl.n == 0 || strcmp(tl.t[0].name, "v") != 0)) {
		snprintf(kr->err, sizeof(kr->err), "v= is present but not the first "
		    "tag (RFC 6376 3.6.1)");
		goto out;
	}
	if (v != NULL && strcmp(v, "DKIM1") != 0) {
		dkim_quote(q, sizeof(q), v, strlen(v));
		snprintf(kr->err, sizeof(kr->err), "v=%s: only v=DKIM1 records are DKIM "
		    "keys (RFC 6376 3.6.1)", q);
		goto out;
	}
	if ((p = dkim_tag_get(&tl, "p")) == NULL) {
		snprintf(kr->err, sizeof(kr->err), "the record has no p= tag (RFC 6376 "
		    "3.6.1: required)");
		goto out;
	}
	if (dkim_tag_get(&tl, "k"))
		kr->k = xstrdup(dkim_tag_get(&tl, "k"));
	kr->type = kr->k == NULL || str_caseeq(kr->k, "rsa") ? DKIM_KEY_RSA :
	    str_caseeq(kr->k, "ed25519") ? DKIM_KEY_ED25519 : DKIM_KEY_UNKNOWN;
	if (dkim_tag_get(&tl, "h"))
		kr->h = xstrdup(dkim_tag_get(&tl, "h"));
	if (dkim_tag_get(&tl, "s"))
		kr->s = xstrdup(dkim_tag_get(&tl, "s"));
	if ((t = dkim_tag_get(&tl, "t")) != NULL) {
		kr->testing = dkim_list_has(t, "y");
		kr->strict = dkim_list_has(t, "s");
	}
	if (*p == '\0') {
		kr->revoked = 1;	/* 3.6.1: an empty p= means revoked */
		kr->valid = 1;
		goto out;
	}
	if (kr->type == DKIM_KEY_UNKNOWN) {
		kr->valid = 1;		/* "unrecognized key types MUST be ignored" */
		goto out;
	}
	key_decode(kr, p);
out:
	dkim_tags_free(&tl);
}

void
dkim_key_free(struct dkim_key *kr)
{
	free(kr->text);
	free(kr->k);
	free(kr->h);
	free(kr->s);
	free(kr->libkey);
	memset(kr, 0, sizeof(*kr));
}

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

void
dkim_key_copy(struct dkim_key *dst, const struct dkim_key *src)
{
	*dst = *src;
	dst->text = dup_or_null(src->text);
	dst->k = dup_or_null(src->k);
	dst->h = dup_or_null(src->h);
	dst->s = dup_or_null(src->s);
	dst->libkey = dup_or_null(src->libkey);
}

/* One parsed key record in a cache. */
struct keycache_ent {
	char		*text;		/* owned; the record as received (NULL: free slot) */
	size_t		 len;
	struct dkim_key	 key;		/* owned; dkim_key_parse(text, len) */
};

struct dkim_key_cache {
	struct keycache_ent e[DKIM_KEYCACHE_SLOTS];	/* owned */
	unsigned int	 next;		/* next slot to evict */
};

struct dkim_key_cache *
dkim_key_cache_new(void)
{
	return xcalloc(1, sizeof(struct dkim_key_cache));
}

void
dkim_key_cache_free(struct dkim_key_cache *kc)
{
	if (kc == NULL)
		return;
	for (size_t k = 0; k < DKIM_KEYCACHE_SLOTS; k++)
		if (kc->e[k].text != NULL) {
			free(kc->e[k].text);
			dkim_key_free(&kc->e[k].key);
		}
	free(kc);
}

void
dkim_key_parse_cached(struct dkim_key_cache *kc, struct dkim_key *kr,
    const char *txt, size_t len)
{
	struct keycache_ent *ce;

	if (kc == NULL) {
		dkim_key_parse(kr, txt, len);
		return;
	}
	for (size_t k = 0; k < DKIM_KEYCACHE_SLOTS; k++) {
		ce = &kc->e[k];
		if (ce->text != NULL && ce->len == len && memcmp(ce->text, txt, len) == 0) {
			dkim_key_copy(kr, &ce->key);
			return;
		}
	}
	dkim_key_parse(kr, txt, len);
	if (len > DKIM_KEYCACHE_MAXLEN)
		return;
	ce = &kc->e[kc->next];
	kc->next = (kc->next + 1) % DKIM_KEYCACHE_SLOTS;
	if (ce->text != NULL) {
		free(ce->text);
		dkim_key_free(&ce->key);
	}
	ce->text = xmalloc(len + 1);
	memcpy(ce->text, txt, len);
	ce->text[len] = '\0';
	ce->len = len;
	dkim_key_copy(&ce->key, kr);
}
