/*
 * dkim_key.h - DKIM key records (RFC 6376 3.6.1, RFC 8463 4.2, RFC 8301
 * 3.2) and the tag-list syntax they share with DKIM-Signature fields
 * (RFC 6376 3.2).  Pure functions on text: no DNS.
 *
 * The one parser of key records: the verifier (dkim.c) and the record
 * checker (dnscheck.c, `mailtest dns-check`) both call dkim_key_parse().
 *
 * Entry points:
 *   dkim_key_parse(&key, txt, len)   one TXT record (its strings joined)
 *   dkim_key_free(&key)
 *   dkim_key_copy(&dst, &src)        a deep copy (callers cache parsed keys)
 *   dkim_key_cache_new(), dkim_key_cache_free(), dkim_key_parse_cached()
 *                                    parsed records kept by their exact text
 *   dkim_tags_parse(), dkim_tags_free(), dkim_tag_get()   RFC 6376 3.2
 *   dkim_list_has(), dkim_b64_decode(), dkim_quote()      small helpers
 * Ownership: a struct dkim_key owns its strings (dkim_key_free()); a
 * struct dkim_tags owns its values (dkim_tags_free()); a struct
 * dkim_key_cache owns its entries, and hands out copies.
 * Errors: dkim_key_parse() never fails: a record that is not a usable key
 * has ->valid 0 and ->err in plain words; dkim_tags_parse() returns -1 and
 * writes why into err, leaving nothing allocated.
 */
#ifndef MT_DKIM_KEY_H
#define MT_DKIM_KEY_H

#include <stddef.h>

/* Tags in one tag-list and the length of a tag name: generous bounds. */
#define DKIM_TAGS_MAX		64
#define DKIM_TAGNAME_MAX	32
/* Longest text quoted from a hostile field in a reason. */
#define DKIM_QUOTE_MAX		60
/* RFC 8301 3.2: verifiers MUST NOT consider keys under 1024 bits valid */
#define DKIM_RSA_MIN_BITS	1024
/* RFC 8301 3.2: signers SHOULD use keys of at least 2048 bits */
#define DKIM_RSA_GOOD_BITS	2048

struct dkim_tag {
	char		 name[DKIM_TAGNAME_MAX + 1];
	char		*val;		/* owned; trimmed (see dkim_tags_parse()) */
};

struct dkim_tags {
	struct dkim_tag	 t[DKIM_TAGS_MAX];
	int		 n;
};

enum dkim_key_type { DKIM_KEY_UNKNOWN = 0, DKIM_KEY_RSA, DKIM_KEY_ED25519 };

/* One TXT record at a key name, parsed (RFC 6376 3.6.1). */
struct dkim_key {
	char		*text;		/* owned; as published */
	int		 valid;		/* parsed and usable in principle */
	int		 revoked;	/* p= empty */
	char		 err[200];	/* why not valid */
	enum dkim_key_type type;
	char		*k;		/* owned; k= as published (NULL: rsa) */
	char		*h;		/* owned; h= or NULL */
	char		*s;		/* owned; s= or NULL */
	int		 testing;	/* t=y */
	int		 strict;	/* t=s */
	int		 bits;
	char		*libkey;	/* owned; "k=..; p=.." for libopendkim, or NULL */
};

void	 dkim_key_parse(struct dkim_key *, const char *txt, size_t len);
void	 dkim_key_free(struct dkim_key *);
/* dst (uninitialized) becomes an independent copy of src: free both. */
void	 dkim_key_copy(struct dkim_key *dst, const struct dkim_key *src);

/*
 * A cache of parsed key records, keyed by the exact record text:
 * dkim_key_parse() is a pure function of that text, and decoding an RSA key
 * with OpenSSL 3.0 (d2i_PUBKEY: its decoder set-up) costs about a million
 * instructions, more than the RSA verification itself.  Callers still look
 * the record up in DNS for every message (TTLs are honoured there); only
 * the parse of an identical text is reused.  Records longer than
 * DKIM_KEYCACHE_MAXLEN (bigger than any usable key) are parsed every time;
 * eviction is round-robin.  Not thread-safe: one cache per thread (the
 * verifier's is in its per-thread struct dkim_ctx).
 */
#define DKIM_KEYCACHE_SLOTS	32
#define DKIM_KEYCACHE_MAXLEN	4096

struct dkim_key_cache;

struct dkim_key_cache *dkim_key_cache_new(void);
void	 dkim_key_cache_free(struct dkim_key_cache *);
/* kr (uninitialized) = dkim_key_parse(txt, len), from the cache when it
 * holds that text; kc NULL parses.  Free kr with dkim_key_free(). */
void	 dkim_key_parse_cached(struct dkim_key_cache *kc, struct dkim_key *kr,
	    const char *txt, size_t len);

/*
 * RFC 6376 3.2 tag-list.  Values are trimmed; the tags named in strip (a
 * NULL-terminated list: base64 and colon-separated values, where the
 * grammar allows FWS inside) lose all white space.  0, or -1 with err.
 */
int	 dkim_tags_parse(struct dkim_tags *, const char *s, size_t len,
	    const char *const *strip, char *err, size_t errlen);
void	 dkim_tags_free(struct dkim_tags *);
/* Tag names are case-sensitive (RFC 6376 3.2); NULL when absent. */
const char *dkim_tag_get(const struct dkim_tags *, const char *name);
/* Does the colon-separated list (white space removed) hold word? */
int	 dkim_list_has(const char *list, const char *word);
/* Strict base64 into out (NULL: check only): the byte count, or -1. */
long	 dkim_b64_decode(const char *s, unsigned char *out);
/* Printable, bounded (DKIM_QUOTE_MAX) quote of hostile text, into out. */
void	 dkim_quote(char *out, size_t n, const char *s, size_t len);

#endif
