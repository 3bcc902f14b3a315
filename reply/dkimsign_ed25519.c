/*
 * dkimsign_ed25519.c - our own ed25519-sha256 DKIM signer (RFC 6376 3.7
 * and 5, RFC 8463 3), used instead of libopendkim's for that algorithm
 * only: libopendkim 2.11.0~beta2 leaks the private key object and its
 * output buffer on every ed25519 signature (dkim_privkey_load() allocates
 * them, dkim_free() releases them only for RSA keys; LeakSanitizer shows
 * about 1.2 KB per report; README "Dependency notes").  RSA signing stays
 * with libopendkim.
 *
 * Canonicalization is relaxed/relaxed (RFC 6376 3.4.2, 3.4.4); the
 * signature is PureEdDSA Ed25519 over the SHA-256 hash (RFC 8463 3).
 * Tests compare our body hash with libopendkim's for the same message and
 * verify whole signatures with python3-dkim.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/msg.h"
#include "../common/util.h"
#include "dkimsign.h"

#define SIG_LINE	76	/* fold the DKIM-Signature field near here */

static int
wsp(char c)
{
	return c == ' ' || c == '\t';
}

void
dkimsign_canon_header(struct sbuf *b, const char *field, size_t len)
{
	const char *colon = memchr(field, ':', len), *p, *end = field + len;
	size_t n;
	int space = 0, started = 0;

	if (colon == NULL)
		return;
	/* name: lower case, no WSP before the colon */
	n = (size_t)(colon - field);
	while (n > 0 && wsp(field[n - 1]))
		n--;
	for (size_t i = 0; i < n; i++)
		sbuf_addc(b, (char)ascii_lower((unsigned char)field[i]));
	sbuf_addc(b, ':');
	/* value: unfolded, WSP runs as one SP, none at either end */
	for (p = colon + 1; p < end; p++) {
		if (*p == '\r' || *p == '\n')
			continue;
		if (wsp(*p)) {
			space = 1;
			continue;
		}
		if (space && started)
			sbuf_addc(b, ' ');
		space = 0;
		started = 1;
		sbuf_addc(b, *p);
	}
	sbuf_adds(b, "\r\n");
}

void
dkimsign_canon_body(struct sbuf *b, const char *body, size_t len)
{
	size_t pending_empty = 0, i = 0;

	while (i < len) {
		size_t e = i, k;
		int space = 0, nonempty = 0;
		struct sbuf line;

		while (e < len && body[e] != '\n')
			e++;
		k = e;
		if (k > i && body[k - 1] == '\r')
			k--;
		sbuf_init(&line, 0);
		for (size_t j = i; j < k; j++) {
			if (wsp(body[j])) {
				space = 1;
				continue;
			}
			if (space)
				sbuf_addc(&line, ' ');
			space = 0;
			sbuf_addc(&line, body[j]);
			nonempty = 1;
		}
		if (nonempty) {
			/* empty lines are kept unless they end the body */
			for (; pending_empty > 0; pending_empty--)
				sbuf_adds(b, "\r\n");
			sbuf_add(b, line.s, line.len);
			sbuf_adds(b, "\r\n");
		} else
			pending_empty++;
		sbuf_free(&line);
		i = e < len ? e + 1 : e;
	}
}

static char *
b64(const unsigned char *p, size_t n)
{
	char *out = xmalloc(4 * ((n + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

/* The h= list: our fields present in the message, then the oversigned ones. */
static void
header_list(const struct msg *m, const char *const *names, const char *const *over,
    struct sbuf *h)
{
	for (size_t i = 0; names[i]; i++)
		for (size_t k = msg_count(m, names[i]); k > 0; k--)
			sbuf_printf(h, "%s%s", h->len ? ":" : "", names[i]);
	for (size_t i = 0; over[i]; i++)
		sbuf_printf(h, "%s%s", h->len ? ":" : "", over[i]);
}

/* Header hash input: each h= name takes the next instance from the bottom. */
static void
hash_headers(const struct msg *m, const char *hlist, struct sbuf *in)
{
	char *copy = xstrdup(hlist), *name, *save = NULL;
	size_t used[64] = { 0 };	/* instances used, per distinct name */
	const char *seen[64];
	size_t nseen = 0;

	for (name = strtok_r(copy, ":", &save); name; name = strtok_r(NULL, ":", &save)) {
		size_t k, slot = nseen, count = 0;
		const struct msg_field *f = NULL;

		for (k = 0; k < nseen; k++)
			if (str_caseeq(seen[k], name))
				slot = k;
		if (slot == nseen && nseen < ARRAY_SIZE(seen))
			seen[nseen++] = name;
		for (size_t i = m->nf; i > 0; i--) {
			const struct msg_field *c = &m->f[i - 1];

			if (c->namelen == strlen(name) && str_ncaseeq(c->name, name, c->namelen) &&
			    count++ == used[slot]) {
				f = c;
				break;
			}
		}
		used[slot]++;
		if (f != NULL)	/* a name listed more often than present adds nothing */
			dkimsign_canon_header(in, f->raw, f->rawlen);
	}
	free(copy);
}

/*
 * "DKIM-Signature: tags" folded at "; " and after ':' in h= (FWS is allowed
 * there, RFC 6376 3.5).  The hash covers exactly this folded text, so the
 * folding cannot change what is verified.  No final CRLF; ends in "b=".
 */
static void
fold_tags(struct sbuf *b, const char *value)
{
	size_t col = 16;
	const char *p = value;

	sbuf_adds(b, "DKIM-Signature: ");
	while (*p) {
		const char *e = strstr(p, "; ");
		size_t n = e ? (size_t)(e - p) + 1 : strlen(p);

		if (col + n > SIG_LINE && col > 16) {
			sbuf_adds(b, "\r\n\t");
			col = 8;
		}
		for (size_t i = 0; i < n; i++) {
			sbuf_addc(b, p[i]);
			col++;
			if (p[0] == 'h' && p[i] == ':' && col > SIG_LINE - 16 && i + 1 < n) {
				sbuf_adds(b, "\r\n\t ");
				col = 9;
			}
		}
		p += n;
		if (*p == ' ') {
			sbuf_addc(b, ' ');
			col++;
			p++;
		}
	}
}

/* The signature after "b=", in pieces on continuation lines. */
static void
add_b(struct sbuf *b, const char *sig)
{
	size_t n = strlen(sig);

	for (size_t i = 0; i < n; i += 64) {
		sbuf_adds(b, "\r\n\t ");
		sbuf_add(b, sig + i, n - i < 64 ? n - i : 64);
	}
	sbuf_adds(b, "\r\n");
}

char *
dkimsign_ed25519(EVP_PKEY *key, const char *selector, const char *domain,
    const char *const *sign_headers, const char *const *oversign, time_t now,
    const char *msg, size_t len, char *err, size_t errlen)
{
	struct msg m;
	struct sbuf body, h, in, value, field;
	unsigned char bh[32], hash[32], sig[64];
	size_t siglen = sizeof(sig);
	char *bh64, *sig64, *out = NULL;
	EVP_MD_CTX *ctx;

	if (msg_parse(&m, msg, len, NULL) < 0) {
		snprintf(err, errlen, "report cannot be parsed: %s", m.error);
		msg_free(&m);
		return NULL;
	}
	sbuf_init(&body, 0);
	dkimsign_canon_body(&body, msg + m.body_off, len - m.body_off);
	EVP_Digest(body.s ? body.s : "", body.len, bh, NULL, EVP_sha256(), NULL);
	bh64 = b64(bh, sizeof(bh));
	sbuf_init(&h, 0);
	header_list(&m, sign_headers, oversign, &h);
	sbuf_init(&value, 0);
	sbuf_printf(&value, "v=1; a=ed25519-sha256; c=relaxed/relaxed; d=%s; s=%s; "
	    "t=%lld; h=%s; bh=%s; b=", domain, selector, (long long)now, sbuf_str(&h), bh64);
	/* RFC 6376 3.7: the selected fields, then this field with b= empty, no CRLF */
	sbuf_init(&in, 0);
	hash_headers(&m, sbuf_str(&h), &in);
	sbuf_init(&field, 0);
	fold_tags(&field, sbuf_str(&value));
	dkimsign_canon_header(&in, field.s, field.len);
	in.len -= 2;	/* without the final CRLF */
	in.s[in.len] = '\0';
	EVP_Digest(in.s, in.len, hash, NULL, EVP_sha256(), NULL);
	/* RFC 8463 3: PureEdDSA over the SHA-256 hash */
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL || EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, hash, sizeof(hash)) != 1) {
		snprintf(err, errlen, "Ed25519 signing failed");
		sbuf_free(&field);
	} else {
		sig64 = b64(sig, siglen);
		add_b(&field, sig64);
		out = sbuf_steal(&field);
		free(sig64);
	}
	EVP_MD_CTX_free(ctx);
	free(bh64);
	sbuf_free(&body);
	sbuf_free(&h);
	sbuf_free(&in);
	sbuf_free(&value);
	msg_free(&m);
	return out;
}
