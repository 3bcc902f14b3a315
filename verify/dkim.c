/*
 * dkim.c - DKIM verification: libopendkim 2.11 does the canonicalization,
 * hashing and signature arithmetic; this file does everything around it
 * that the library gets wrong or cannot do safely (see README.md,
 * "Dependency notes"):
 *
 *  - keys come from common/dns.h through dkim_set_key_lookup(); NXDOMAIN and
 *    NODATA are "no key" (permerror), timeouts and SERVFAIL temperror
 *    (RFC 6376 6.1.2 steps 2 and 3; the library's own resolver calls a
 *    missing key a temporary error);
 *  - each DKIM-Signature field is parsed and checked here first (RFC 6376
 *    3.2, 3.5, 6.1.1): v=, required tags, a=, c=, q= (the library skips q=
 *    when a key callback is installed), d=/i=, From in h=, t=/x= against
 *    our clock (the library reads time() itself, so --time needs the drift
 *    trick in pass_drift()); a signature that fails here is marked ignored
 *    before the library would look its key up;
 *  - the key record is parsed and validated by dkim_key.c (RFC 6376 3.6.1:
 *    v=DKIM1 first, k=, h=, s=, t=y/s, empty p= revoked, duplicates, syntax;
 *    RFC 8463 raw 32-byte ed25519 keys; key sizes, RFC 8301 3.2), checked
 *    against the signature here (6.1.2), and the library is handed a minimal "k=..; p=.." record that fits its
 *    1024-byte key buffer; several key records at one name are tried in
 *    turn (RFC 6376 6.1.2 step 4) by re-running the library;
 *  - the verdict per signature is ours: body hash apart from signature
 *    mismatch (dkim_sig_getbh(), or the hashes themselves when the library
 *    stopped before the body hash), rsa-sha1 is "policy" (RFC 8301 3.1),
 *    RSA keys under the minimum "permerror key-too-small".
 *
 * Work is bounded: at most max_signatures fields are verified (the rest are
 * reported "policy too-many-signatures" and, unless a verified signature
 * covers DKIM-Signature fields, not even shown to the library); at most
 * DKIM_MAX_KEY_RECORDS records per name and DKIM_MAX_PASSES library runs.
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <opendkim/dkim.h>

#include "../common/dns.h"
#include "../common/util.h"
#include "dkim.h"
#include "dkim_key.h"

/* RFC 6376 3.5 (t=, x=): values longer than 12 digits MAY be taken as
 * infinite; we refuse them as syntax errors instead of guessing. */
#define DKIM_MAX_TIME_DIGITS	12
/* Clock skew allowed on t= and x= (libopendkim's DEFCLOCKDRIFT). */
#define DKIM_CLOCK_SKEW		300
/* Extra drift handed to the library so its wall-clock checks never
 * contradict ours (our check ran a moment before its time() call). */
#define DKIM_DRIFT_MARGIN	3600
/* RFC 6008 4 / RFC 8601 2.7.1 header.b: the leading characters of b=. */
#define DKIM_B_PREFIX_LEN	8
/* l= beyond this is nonsense (and would overflow the library's ssize_t). */
#define DKIM_MAX_BODY_LENGTH	1000000000000000LL
/* Key records considered at one selector (RFC 6376 3.6.2.2 wants one). */
#define DKIM_MAX_KEY_RECORDS	8
/* Library runs per message: the first, then one per extra key record. */
#define DKIM_MAX_PASSES		(1 + DKIM_MAX_KEY_RECORDS)
/* libopendkim's key buffer (dkim_get_key(): BUFRSZ + 1 bytes). */
#define DKIM_LIB_KEYBUF		1024
/* Body bytes converted from bare LF to CRLF per call to dkim_body(). */
#define DKIM_BODY_CHUNK		(64 * 1024)

enum dkim_alg { ALG_UNKNOWN = 0, ALG_RSA_SHA1, ALG_RSA_SHA256, ALG_ED25519_SHA256 };

struct dkim_ctx {
	DKIM_LIB	*lib;		/* owned; one per thread */
	struct dns_resolver *dns;	/* shared; not owned */
	int		 max_sigs;
	int		 min_bits;
	struct sbuf	 scratch;	/* one header field / body chunk */
	struct dkim_key_cache *keys;	/* owned; parsed key records (dkim_key.h) */
};

/* Tags whose values may hold FWS that carries no meaning (RFC 6376 3.5). */
static const char *const sig_strip[] = { "b", "bh", "h", "q", "z", NULL };

/* The answer for one key name, shared by the signatures that use it. */
struct keyent {
	char		*name;		/* owned; selector._domainkey.domain */
	enum dns_status	 status;
	char		*why;		/* owned; DNS error text */
	int		 secure;
	struct dkim_key	 rec[DKIM_MAX_KEY_RECORDS];
	int		 nrec;
	int		 more;		/* records beyond DKIM_MAX_KEY_RECORDS */
};

/* What one library run said about one signature. */
struct libres {
	int		 seen;
	unsigned int	 flags;
	int		 err;
	int		 bh;
	int		 body_ok;	/* -1 unknown, 0 mismatch, 1 match (our compare) */
	unsigned int	 bits;
	long long	 body_len;	/* canonicalized body bytes (for l=) */
};

struct sigst {
	const struct msg_field *f;
	struct dkim_tags	 tags;
	int		 considered;	/* within the first max_signatures */
	int		 final;		/* verdict decided */
	enum auth_res	 res;
	const char	*error;		/* static word */
	char		*reason;	/* owned */
	/* interpreted tags (pointers into tags) */
	const char	*a, *b, *bh, *c, *d, *s, *h, *i, *q;
	enum dkim_alg	 alg;
	char		 canon[32];
	long long	 l, t, x;
	char		*identity;	/* owned; i= decoded, or "@d" */
	/* key */
	struct keyent	*key;		/* in the message's cache */
	int		 cand[DKIM_MAX_KEY_RECORDS];	/* usable records, by index */
	int		 ncand;
	int		 try;		/* index into cand[] for this pass */
	int		 used;		/* record given to the library, -1 none */
	int		 keyfail;	/* the key step decided the verdict */
	/* library */
	int		 active;	/* verified in this pass */
	DKIM_SIGINFO	*si;		/* this pass's handle, NULL outside it */
	struct libres	 lr;
};

struct msgstate {
	struct dkim_ctx	*c;
	time_t		 now;
	struct sigst	*sig;
	size_t		 nsig;
	size_t		*fed;		/* library index -> sig index */
	size_t		 nfed;
	int		 mismatch;	/* the library saw another number of signatures */
	struct keyent	*keys;		/* nsig slots, allocated once */
	size_t		 nkeys;
};

/* ---------------------------------------------------------------- text */

/* Decimal digits only, at most maxdigits: the value, or -1. */
static long long
parse_uint(const char *s, int maxdigits)
{
	long long v = 0;
	int n = 0;

	if (s == NULL || *s == '\0')
		return -1;
	for (; *s; s++, n++) {
		if (!ascii_isdigit((unsigned char)*s) || n >= maxdigits ||
		    v > (LLONG_MAX - (*s - '0')) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

/* dkim-quoted-printable (RFC 6376 2.11) of i=, decoded; NULL if broken. */
static char *
qp_decode(const char *s)
{
	size_t len = strlen(s), o = 0;
	char *out = xmalloc(len + 1);

	for (size_t k = 0; k < len; k++) {
		if (s[k] == '=') {
			int hi, lo;

			if (k + 2 >= len || !isxdigit((unsigned char)s[k + 1]) ||
			    !isxdigit((unsigned char)s[k + 2])) {
				free(out);
				return NULL;
			}
			hi = isdigit((unsigned char)s[k + 1]) ? s[k + 1] - '0' :
			    (tolower((unsigned char)s[k + 1]) - 'a' + 10);
			lo = isdigit((unsigned char)s[k + 2]) ? s[k + 2] - '0' :
			    (tolower((unsigned char)s[k + 2]) - 'a' + 10);
			out[o++] = (char)(hi * 16 + lo);
			k += 2;
		} else
			out[o++] = s[k];
	}
	out[o] = '\0';
	return out;
}

/*
 * RFC 6376 3.5 d= and s=: sub-domain *("." sub-domain), labels of letters,
 * digits and '-' (and '_', seen in selectors in the wild), 1..63 octets.
 */
static int
name_syntax_ok(const char *s)
{
	size_t label = 0;

	if (*s == '\0' || strlen(s) > DNS_MAX_NAME)
		return 0;
	for (; *s; s++) {
		if (*s == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if (ascii_isalpha((unsigned char)*s) || ascii_isdigit((unsigned char)*s) ||
		    *s == '-' || *s == '_') {
			if (++label > DNS_MAX_LABEL)
				return 0;
		} else
			return 0;
	}
	return label > 0;
}

/* d= equal to or a parent of dom (case-insensitive, label boundary). */
static int
domain_within(const char *dom, const char *d)
{
	size_t ld = strlen(dom), lp = strlen(d);

	if (str_caseeq(dom, d))
		return 1;
	return ld > lp && dom[ld - lp - 1] == '.' && str_caseeq(dom + ld - lp, d);
}

static const char *
alg_hash(enum dkim_alg a)
{
	return a == ALG_RSA_SHA1 ? "sha1" : "sha256";
}

static void
verdict(struct sigst *sg, enum auth_res r, const char *error, char *reason)
{
	sg->final = 1;
	sg->res = r;
	sg->error = error;
	free(sg->reason);
	sg->reason = reason;
}

/* ------------------------------------------------- signature, RFC 6.1.1 */

static int
alg_parse(const char *a)
{
	if (str_caseeq(a, "rsa-sha256"))
		return ALG_RSA_SHA256;
	if (str_caseeq(a, "rsa-sha1"))
		return ALG_RSA_SHA1;
	if (str_caseeq(a, "ed25519-sha256"))
		return ALG_ED25519_SHA256;
	return ALG_UNKNOWN;
}

static int
canon_parse(struct sigst *sg)
{
	const char *c = sg->c ? sg->c : "simple/simple";
	const char *slash = strchr(c, '/');
	size_t hl = slash ? (size_t)(slash - c) : strlen(c);
	const char *body = slash ? slash + 1 : "simple";

	if (!((hl == 6 && str_ncaseeq(c, "simple", 6)) ||
	    (hl == 7 && str_ncaseeq(c, "relaxed", 7))))
		return -1;
	if (!str_caseeq(body, "simple") && !str_caseeq(body, "relaxed"))
		return -1;
	snprintf(sg->canon, sizeof(sg->canon), "%.*s/%s", (int)hl, c, body);
	str_lower(sg->canon);
	return 0;
}

/* q=: a colon-separated list; only dns/txt is defined (RFC 6376 3.5). */
static int
query_ok(const char *q)
{
	return q == NULL || dkim_list_has(q, "dns/txt");
}

/* h= must name From (RFC 6376 5.4, 6.1.1). */
static int
from_signed(const char *h)
{
	return dkim_list_has(h, "from");
}

/* Syntax and semantics of the field itself; sets the verdict on failure. */
static void
sig_check_tags(struct sigst *sg, time_t now)
{
	char q[DKIM_QUOTE_MAX + 8];
	const char *v = dkim_tag_get(&sg->tags, "v");
	static const char *const required[] = { "a", "b", "bh", "d", "h", "s" };

	if (v == NULL) {
		verdict(sg, AUTH_PERMERROR, "syntax", xstrdup("the signature has no "
		    "v= tag, which RFC 6376 3.5 requires (v=1): it was made by a "
		    "pre-standard DKIM draft implementation"));
		return;
	}
	if (strcmp(v, "1") != 0) {
		dkim_quote(q, sizeof(q), v, strlen(v));
		verdict(sg, AUTH_PERMERROR, "syntax", xasprintf("the signature says "
		    "v=%s; RFC 6376 3.5 defines only v=1 (incompatible version)", q));
		return;
	}
	for (size_t k = 0; k < ARRAY_SIZE(required); k++)
		if (dkim_tag_get(&sg->tags, required[k]) == NULL ||
		    *dkim_tag_get(&sg->tags, required[k]) == '\0') {
			verdict(sg, AUTH_PERMERROR, "syntax", xasprintf("the required tag "
			    "%s= is missing or empty (RFC 6376 3.5)", required[k]));
			return;
		}
	if ((sg->alg = alg_parse(sg->a)) == ALG_UNKNOWN) {
		dkim_quote(q, sizeof(q), sg->a, strlen(sg->a));
		verdict(sg, AUTH_PERMERROR, "unsupported-algorithm", xasprintf("a=%s is "
		    "not an algorithm this verifier knows (rsa-sha256, ed25519-sha256; "
		    "rsa-sha1 is obsolete, RFC 8301): sign with rsa-sha256", q));
		return;
	}
	if (canon_parse(sg) < 0) {
		dkim_quote(q, sizeof(q), sg->c, strlen(sg->c));
		verdict(sg, AUTH_PERMERROR, "syntax", xasprintf("c=%s is not a "
		    "canonicalization (simple or relaxed, RFC 6376 3.4)", q));
		return;
	}
	if (!name_syntax_ok(sg->d) || !name_syntax_ok(sg->s) ||
	    strlen(sg->s) + strlen(sg->d) + sizeof("._domainkey.") > DNS_MAX_NAME + 1) {
		char q2[DKIM_QUOTE_MAX + 8];

		dkim_quote(q, sizeof(q), sg->s, strlen(sg->s));
		dkim_quote(q2, sizeof(q2), sg->d, strlen(sg->d));
		verdict(sg, AUTH_PERMERROR, "syntax", xasprintf("s=%s / d=%s do not form "
		    "a DNS name that can be looked up (RFC 6376 3.5, 3.6.2.1)", q, q2));
		return;
	}
	if (sg->i != NULL) {
		const char *at;

		sg->identity = qp_decode(sg->i);
		if (sg->identity == NULL || (at = strrchr(sg->identity, '@')) == NULL ||
		    !domain_within(at + 1, sg->d)) {
			dkim_quote(q, sizeof(q), sg->i, strlen(sg->i));
			verdict(sg, AUTH_PERMERROR, "syntax", xasprintf("i=%s is not an "
			    "identity in d=%s or one of its subdomains (RFC 6376 3.5, "
			    "domain mismatch)", q, sg->d));
			return;
		}
	} else
		sg->identity = xasprintf("@%s", sg->d);
	if (!query_ok(sg->q)) {
		dkim_quote(q, sizeof(q), sg->q, strlen(sg->q));
		verdict(sg, AUTH_PERMERROR, "syntax", xasprintf("q=%s names no key query "
		    "method this verifier knows; RFC 6376 3.5 defines only dns/txt", q));
		return;
	}
	if (dkim_b64_decode(sg->b, NULL) < 0 || dkim_b64_decode(sg->bh, NULL) < 0) {
		verdict(sg, AUTH_PERMERROR, "syntax", xasprintf("%s= is not valid base64 "
		    "(RFC 6376 3.5)", dkim_b64_decode(sg->b, NULL) < 0 ? "b" : "bh"));
		return;
	}
	if (dkim_tag_get(&sg->tags, "l") &&
	    ((sg->l = parse_uint(dkim_tag_get(&sg->tags, "l"), 76)) < 0 ||
	    sg->l > DKIM_MAX_BODY_LENGTH)) {
		verdict(sg, AUTH_PERMERROR, "syntax", xstrdup("l= is not a body length "
		    "in decimal digits (RFC 6376 3.5)"));
		return;
	}
	if ((dkim_tag_get(&sg->tags, "t") && (sg->t = parse_uint(dkim_tag_get(&sg->tags, "t"),
	    DKIM_MAX_TIME_DIGITS)) < 0) || (dkim_tag_get(&sg->tags, "x") &&
	    (sg->x = parse_uint(dkim_tag_get(&sg->tags, "x"), DKIM_MAX_TIME_DIGITS)) < 0)) {
		verdict(sg, AUTH_PERMERROR, "syntax", xasprintf("%s= is not a time in "
		    "seconds since 1970 of at most %d digits (RFC 6376 3.5)",
		    sg->t < 0 && dkim_tag_get(&sg->tags, "t") ? "t" : "x",
		    DKIM_MAX_TIME_DIGITS));
		return;
	}
	if (sg->t >= 0 && sg->x >= 0 && sg->x <= sg->t) {
		verdict(sg, AUTH_PERMERROR, "syntax", xasprintf("x=%lld is not after "
		    "t=%lld; RFC 6376 3.5 requires the expiry to be later than the "
		    "timestamp", sg->x, sg->t));
		return;
	}
	if (!from_signed(sg->h)) {
		dkim_quote(q, sizeof(q), sg->h, strlen(sg->h));
		verdict(sg, AUTH_PERMERROR, "header-not-signed", xasprintf("the From "
		    "field is not among the signed header fields (h=%s): RFC 6376 5.4 "
		    "requires it, so the signature is ignored; add From to h=", q));
		return;
	}
	if (sg->x >= 0 && (long long)now > sg->x + DKIM_CLOCK_SKEW) {
		verdict(sg, AUTH_PERMERROR, "expired", xasprintf("the signature expired "
		    "%lld seconds before the verification time (x=%lld, RFC 6376 3.5): "
		    "the message was delivered too late, or x= is too short",
		    (long long)now - sg->x, sg->x));
		return;
	}
	if (sg->t >= 0 && sg->t > (long long)now + DKIM_CLOCK_SKEW) {
		verdict(sg, AUTH_PERMERROR, "future", xasprintf("the signature's "
		    "timestamp t=%lld is %lld seconds in the future (RFC 6376 3.5): "
		    "check the signing host's clock", sg->t, sg->t - (long long)now));
		return;
	}
}

static void
sig_prepare(struct sigst *sg, time_t now)
{
	char err[200];

	sg->l = sg->t = sg->x = -1;
	sg->used = -1;
	sg->lr.body_ok = -1;
	if (dkim_tags_parse(&sg->tags, sg->f->value, sg->f->valuelen, sig_strip, err,
	    sizeof(err)) < 0) {
		verdict(sg, AUTH_PERMERROR, "syntax", xasprintf("the DKIM-Signature "
		    "field cannot be parsed: %s", err));
		return;
	}
	sg->a = dkim_tag_get(&sg->tags, "a");
	sg->b = dkim_tag_get(&sg->tags, "b");
	sg->bh = dkim_tag_get(&sg->tags, "bh");
	sg->c = dkim_tag_get(&sg->tags, "c");
	sg->d = dkim_tag_get(&sg->tags, "d");
	sg->s = dkim_tag_get(&sg->tags, "s");
	sg->h = dkim_tag_get(&sg->tags, "h");
	sg->i = dkim_tag_get(&sg->tags, "i");
	sg->q = dkim_tag_get(&sg->tags, "q");
	sig_check_tags(sg, now);
}

int
dkim_sig_precheck(const char *value, size_t len, time_t now, char *keyname,
    size_t keylen, const char **error, char **reason)
{
	struct msg_field f = { .value = value, .valuelen = len };
	struct sigst sg;
	int rc;

	memset(&sg, 0, sizeof(sg));
	sg.f = &f;
	sig_prepare(&sg, now);
	rc = sg.final ? -1 : 0;
	*error = sg.final ? sg.error : NULL;
	*reason = sg.reason;		/* NULL unless refused */
	if (!sg.final)
		snprintf(keyname, keylen, "%s._domainkey.%s", sg.s, sg.d);
	dkim_tags_free(&sg.tags);
	free(sg.identity);
	return rc;
}

/* ------------------------------------------ key records, RFC 6376 6.1.2 */

static void
keyent_free(struct keyent *e)
{
	free(e->name);
	free(e->why);
	for (int k = 0; k < e->nrec; k++)
		dkim_key_free(&e->rec[k]);
}

/* The key records at name, looked up once per message. */
static struct keyent *
key_fetch(struct msgstate *st, const char *name)
{
	const struct dns_answer *a;
	struct keyent *e;

	for (size_t k = 0; k < st->nkeys; k++)
		if (str_caseeq(st->keys[k].name, name))
			return &st->keys[k];
	if (st->nkeys == st->nsig)	/* cannot happen: one name per signature */
		fatal("dkim: key cache full");
	e = &st->keys[st->nkeys++];	/* never moved: sigst.key points here */
	memset(e, 0, sizeof(*e));
	e->name = xstrdup(name);
	a = dns_lookup(st->c->dns, name, DNS_T_TXT);
	e->status = a->status;
	e->secure = a->secure;
	if (a->why)
		e->why = xstrdup(a->why);
	for (size_t k = 0; k < a->nrr; k++) {
		if (a->rr[k].type != DNS_T_TXT)
			continue;
		if (e->nrec == DKIM_MAX_KEY_RECORDS) {
			e->more++;
			continue;
		}
		dkim_key_parse_cached(st->c->keys, &e->rec[e->nrec++],
		    a->rr[k].u.txt.data, a->rr[k].u.txt.len);
	}
	dns_answer_release(a);
	return e;
}

/* Can record kr verify signature sg?  NULL, or why not (RFC 6376 6.1.2). */
static char *
key_unfit(const struct sigst *sg, const struct dkim_key *kr, const char **error)
{
	*error = "key-inappropriate";
	if (kr->h != NULL && !dkim_list_has(kr->h, alg_hash(sg->alg)))
		return xasprintf("the key record allows only h=%s, and the signature "
		    "uses %s (RFC 6376 6.1.2, inappropriate hash algorithm)", kr->h,
		    alg_hash(sg->alg));
	if (kr->revoked) {
		*error = "key-revoked";
		return xstrdup("the key record has an empty p=: the key is revoked "
		    "(RFC 6376 3.6.1); sign with a selector whose key is published");
	}
	if (kr->s != NULL && !dkim_list_has(kr->s, "email") && !dkim_list_has(kr->s, "*"))
		return xasprintf("the key record is for service s=%s, not email "
		    "(RFC 6376 3.6.1)", kr->s);
	if (kr->type == DKIM_KEY_UNKNOWN ||
	    (kr->type == DKIM_KEY_RSA) != (sg->alg == ALG_RSA_SHA1 || sg->alg == ALG_RSA_SHA256))
		return xasprintf("the key record is k=%s and the signature a=%s "
		    "(RFC 6376 6.1.2, inappropriate key algorithm)",
		    kr->k ? kr->k : "rsa", sg->a);
	if (kr->strict) {
		const char *at = strrchr(sg->identity, '@');

		if (at == NULL || !str_caseeq(at + 1, sg->d))
			return xasprintf("the key record has t=s, so i= must be in d=%s "
			    "itself, not a subdomain (RFC 6376 3.6.1)", sg->d);
	}
	if (kr->libkey == NULL || strlen(kr->libkey) >= DKIM_LIB_KEYBUF) {
		*error = "key-too-large";
		return xasprintf("the %d-bit key does not fit libopendkim's %d-byte "
		    "key buffer; RFC 8301 3.2 asks verifiers to handle keys of 1024 to "
		    "4096 bits: publish a 2048-bit key", kr->bits, DKIM_LIB_KEYBUF);
	}
	return NULL;
}

/*
 * The key step for one signature: fetch, then the records that fit.  On
 * failure the verdict is set (keyfail).
 */
static void
key_select(struct msgstate *st, struct sigst *sg)
{
	char name[DNS_MAX_NAME + 32], *why = NULL;
	const char *error = NULL;
	struct keyent *e;
	int nvalid = 0;

	snprintf(name, sizeof(name), "%s._domainkey.%s", sg->s, sg->d);
	e = sg->key = key_fetch(st, name);
	sg->ncand = 0;
	switch (e->status) {
	case DNS_OK:
		break;
	case DNS_NODATA:
	case DNS_NXDOMAIN:
		sg->keyfail = 1;
		verdict(sg, AUTH_PERMERROR, "key-not-found", xasprintf("there is no key "
		    "record at %s (%s): publish the selector's public key there, or "
		    "sign with a selector that exists (RFC 6376 6.1.2, no key for "
		    "signature)", name, e->status == DNS_NXDOMAIN ? "the name does not "
		    "exist" : "the name has no TXT record"));
		return;
	case DNS_BADNAME:
		sg->keyfail = 1;
		verdict(sg, AUTH_PERMERROR, "syntax", xasprintf("the key name %s "
		    "cannot be looked up: %s", name, e->why ? e->why : "bad name"));
		return;
	case DNS_TEMPFAIL:
	default:
		sg->keyfail = 1;
		verdict(sg, AUTH_TEMPERROR, "dns-error", xasprintf("the key lookup for %s "
		    "failed (%s): a temporary DNS problem, try again later; if it "
		    "persists, check the name servers of %s (RFC 6376 6.1.2, key "
		    "unavailable)", name, e->why ? e->why : "no answer", sg->d));
		return;
	}
	if (e->nrec == 0) {
		sg->keyfail = 1;
		verdict(sg, AUTH_PERMERROR, "key-not-found", xasprintf("there is no TXT "
		    "record at %s (RFC 6376 6.1.2, no key for signature)", name));
		return;
	}
	for (int k = 0; k < e->nrec; k++) {
		const char *err1;
		char *w;

		if (!e->rec[k].valid)
			continue;
		nvalid++;
		if ((w = key_unfit(sg, &e->rec[k], &err1)) == NULL) {
			sg->cand[sg->ncand++] = k;
			continue;
		}
		if (why == NULL) {
			why = w;
			error = err1;
		} else
			free(w);
	}
	if (sg->ncand > 0) {
		free(why);
		return;
	}
	sg->keyfail = 1;
	if (nvalid == 0) {
		verdict(sg, AUTH_PERMERROR, "key-syntax", xasprintf("the key record at %s "
		    "is not valid: %s (RFC 6376 6.1.2, key syntax error)%s", name,
		    e->rec[0].err, e->nrec > 1 ? "; nor are the other records there" : ""));
		return;
	}
	verdict(sg, AUTH_PERMERROR, error, xasprintf("%s: %s", name, why));
	free(why);
}

/* ------------------------------------------------------- library glue */

static struct sigst *
sig_of(struct msgstate *st, DKIM_SIGINFO *si)
{
	for (size_t k = 0; k < st->nfed; k++)
		if (st->sig[st->fed[k]].si == si)
			return &st->sig[st->fed[k]];
	return NULL;
}

/* After the library parsed the fields: map its handles, ignore the rest. */
static DKIM_CBSTAT
cb_prescreen(DKIM *d, DKIM_SIGINFO **sigs, int nsigs)
{
	struct msgstate *st = dkim_get_user_context(d);

	if (st == NULL)
		return DKIM_CBSTAT_ERROR;
	if ((size_t)nsigs != st->nfed) {
		st->mismatch = 1;
		for (int k = 0; k < nsigs; k++)
			dkim_sig_ignore(sigs[k]);
		return DKIM_CBSTAT_CONTINUE;
	}
	for (int k = 0; k < nsigs; k++) {
		struct sigst *sg = &st->sig[st->fed[k]];

		sg->si = sigs[k];
		if (!sg->active)
			dkim_sig_ignore(sigs[k]);
	}
	return DKIM_CBSTAT_CONTINUE;
}

/*
 * The key for one signature, through our DNS layer.  Errors are never
 * returned as TRYAGAIN/ERROR (the library would abandon every later
 * signature): the verdict is recorded and the library told "not found".
 */
static DKIM_CBSTAT
cb_key_lookup(DKIM *d, DKIM_SIGINFO *si, u_char *buf, size_t buflen)
{
	struct msgstate *st = dkim_get_user_context(d);
	struct sigst *sg;
	const struct dkim_key *kr;

	if (st == NULL || (sg = sig_of(st, si)) == NULL)
		return DKIM_CBSTAT_NOTFOUND;
	if (sg->key == NULL)
		key_select(st, sg);
	if (sg->keyfail || sg->try >= sg->ncand)
		return DKIM_CBSTAT_NOTFOUND;
	sg->used = sg->cand[sg->try];
	kr = &sg->key->rec[sg->used];
	if (strlen(kr->libkey) >= buflen)
		return DKIM_CBSTAT_NOTFOUND;
	memcpy(buf, kr->libkey, strlen(kr->libkey) + 1);
	return DKIM_CBSTAT_CONTINUE;
}

/* bare LF -> CRLF into the scratch buffer; *prev carries across calls */
static void
fix_eol(struct sbuf *b, const char *s, size_t n, char *prev)
{
	size_t from = 0;

	for (size_t k = 0; k < n; k++) {
		char pc = k ? s[k - 1] : *prev;

		if (s[k] == '\n' && pc != '\r') {
			sbuf_add(b, s + from, k - from);
			sbuf_add(b, "\r\n", 2);
			from = k + 1;
		}
	}
	sbuf_add(b, s + from, n - from);
	if (n)
		*prev = s[n - 1];
}

static int
is_sig_field(const struct msg_field *f)
{
	return f->namelen == 14 && str_ncaseeq(f->name, "DKIM-Signature", 14);
}

static int
feed_header(struct dkim_ctx *c, DKIM *d, const struct msg_field *f, int bare_lf)
{
	size_t n = f->rawlen;
	DKIM_STAT ds;

	if (n && f->raw[n - 1] == '\n')
		n--;
	if (n && f->raw[n - 1] == '\r')
		n--;
	if (n == 0)
		return 0;
	sbuf_reset(&c->scratch);
	if (bare_lf) {
		char prev = '\0';

		fix_eol(&c->scratch, f->raw, n, &prev);
	} else
		sbuf_add(&c->scratch, f->raw, n);
	if (c->scratch.overflow)
		return -1;
	ds = dkim_header(d, (u_char *)c->scratch.s, c->scratch.len);
	/* SYNTAX: a malformed DKIM-Signature (kept as a bad handle) */
	return ds == DKIM_STAT_OK || ds == DKIM_STAT_SYNTAX ? 0 : -1;
}

static int
feed_body(struct dkim_ctx *c, DKIM *d, const struct msg *m)
{
	const char *body = m->buf + m->body_off;
	size_t len = m->len - m->body_off;
	char prev = '\n';

	if (m->body_off >= m->len)
		return 0;
	if (!m->bare_lf)
		return dkim_body(d, (u_char *)body, len) == DKIM_STAT_OK ? 0 : -1;
	for (size_t off = 0; off < len; off += DKIM_BODY_CHUNK) {
		size_t n = len - off < DKIM_BODY_CHUNK ? len - off : DKIM_BODY_CHUNK;

		sbuf_reset(&c->scratch);
		fix_eol(&c->scratch, body + off, n, &prev);
		if (c->scratch.overflow ||
		    dkim_body(d, (u_char *)c->scratch.s, c->scratch.len) != DKIM_STAT_OK)
			return -1;
	}
	return 0;
}

/*
 * libopendkim checks t= and x= against time() itself (dkim_sig_expired(),
 * dkim_sig_future()) with a clock drift allowance.  Our check (with the
 * pinned clock of --time, when set) has already passed every active
 * signature, so widen the allowance until the library's check cannot
 * refuse any of them.
 */
static uint64_t
pass_drift(const struct msgstate *st)
{
	long long wall = (long long)time(NULL), drift = DKIM_CLOCK_SKEW;

	for (size_t k = 0; k < st->nsig; k++) {
		const struct sigst *sg = &st->sig[k];

		if (!sg->active)
			continue;
		if (sg->x >= 0 && wall + DKIM_DRIFT_MARGIN - sg->x > drift)
			drift = wall + DKIM_DRIFT_MARGIN - sg->x;
		if (sg->t >= 0 && sg->t - wall + DKIM_DRIFT_MARGIN > drift)
			drift = sg->t - wall + DKIM_DRIFT_MARGIN;
	}
	return (uint64_t)drift;
}

static int
lib_setup_error(int e)
{
	switch (e) {
	case DKIM_SIGERROR_OK:
	case DKIM_SIGERROR_UNKNOWN:
	case DKIM_SIGERROR_BADSIG:
	case DKIM_SIGERROR_NOKEY:
	case DKIM_SIGERROR_KEYTOOSMALL:
	case DKIM_SIGERROR_TOOLARGE_L:
	case DKIM_SIGERROR_KEYDECODE:
		return 0;
	default:
		return 1;
	}
}

/* What the library found, read before the handle is freed. */
static void
collect(DKIM *d, struct sigst *sg)
{
	void *hh, *bhash;
	size_t hhlen, bhlen;
	ssize_t msglen = 0, canonlen = 0, signlen = 0;
	long n;

	memset(&sg->lr, 0, sizeof(sg->lr));
	sg->lr.body_ok = -1;
	sg->lr.body_len = -1;
	if (sg->si == NULL)
		return;
	sg->lr.seen = 1;
	sg->lr.flags = dkim_sig_getflags(sg->si);
	sg->lr.err = dkim_sig_geterror(sg->si);
	sg->lr.bh = dkim_sig_getbh(sg->si);
	if (dkim_sig_getkeysize(sg->si, &sg->lr.bits) != DKIM_STAT_OK)
		sg->lr.bits = 0;
	if (lib_setup_error(sg->lr.err))
		return;		/* no canonicalization: the hashes would assert() */
	if (dkim_sig_gethashes(sg->si, &hh, &hhlen, &bhash, &bhlen) == DKIM_STAT_OK &&
	    (n = dkim_b64_decode(sg->bh, NULL)) >= 0) {
		unsigned char *want = xmalloc((size_t)n + 1);

		dkim_b64_decode(sg->bh, want);
		sg->lr.body_ok = (size_t)n == bhlen && memcmp(want, bhash, bhlen) == 0;
		free(want);
	}
	if (dkim_sig_getcanonlen(d, sg->si, &msglen, &canonlen, &signlen) ==
	    DKIM_STAT_OK)
		sg->lr.body_len = (long long)canonlen;
}

/* One library run over the message for the active signatures. */
static int
run_pass(struct msgstate *st, const struct msg *m, int feed_all_sigs)
{
	struct dkim_ctx *c = st->c;
	DKIM_STAT ds;
	DKIM *d;
	uint64_t drift = pass_drift(st);
	size_t fi = 0;
	int rc = -1;
	_Bool testkey = 0;

	if (dkim_options(c->lib, DKIM_OP_SETOPT, DKIM_OPTS_CLOCKDRIFT, &drift,
	    sizeof(drift)) != DKIM_STAT_OK)
		return -1;
	if ((d = dkim_verify(c->lib, (const u_char *)"mailtest", NULL, &ds)) == NULL)
		return -1;
	dkim_set_user_context(d, st);
	for (size_t k = 0; k < st->nsig; k++)
		if (!st->sig[k].active)
			st->sig[k].lr.seen = 0;	/* not a key donor in this pass */
	st->nfed = 0;
	st->mismatch = 0;
	for (size_t k = 0; k < m->nf; k++) {
		if (is_sig_field(&m->f[k])) {
			struct sigst *sg = &st->sig[fi++];

			sg->si = NULL;
			if (!sg->considered && !feed_all_sigs)
				continue;
			st->fed[st->nfed++] = (size_t)(sg - st->sig);
		}
		if (feed_header(c, d, &m->f[k], m->bare_lf) < 0)
			goto out_free;
	}
	ds = dkim_eoh(d);
	if (ds == DKIM_STAT_OK) {
		if (feed_body(c, d, m) < 0)
			goto out_free;
		(void)dkim_eom(d, &testkey);
	} else if (ds != DKIM_STAT_NOSIG)
		goto out_free;
	if (st->mismatch)
		goto out_free;
	for (size_t k = 0; k < st->nsig; k++)
		if (st->sig[k].active)
			collect(d, &st->sig[k]);
	rc = 0;
out_free:
	dkim_free(d);
	for (size_t k = 0; k < st->nsig; k++)
		st->sig[k].si = NULL;
	return rc;
}

/* ------------------------------------------------------------ verdict */

/* The verdict for a signature the library ran with a key we chose. */
static void
sig_finish(struct msgstate *st, struct sigst *sg)
{
	const struct dkim_key *kr;
	const char *kname;
	int crypto_ok, too_small;

	if (!sg->lr.seen) {
		verdict(sg, AUTH_TEMPERROR, "syntax", xstrdup("libopendkim did not "
		    "report on this signature (internal error)"));
		return;
	}
	if (sg->lr.err == DKIM_SIGERROR_EXPIRED || sg->lr.err == DKIM_SIGERROR_FUTURE) {
		verdict(sg, AUTH_NEUTRAL, sg->lr.err == DKIM_SIGERROR_EXPIRED ?
		    "expired" : "future", xasprintf("libopendkim's own clock check "
		    "refused the signature (%s) although it is valid at the "
		    "verification time", dkim_sig_geterrorstr(sg->lr.err)));
		return;
	}
	if (lib_setup_error(sg->lr.err)) {
		verdict(sg, AUTH_PERMERROR, "syntax", xasprintf("libopendkim rejected the "
		    "signature: %s", dkim_sig_geterrorstr(sg->lr.err) ?
		    dkim_sig_geterrorstr(sg->lr.err) : "unknown error"));
		return;
	}
	if (sg->used < 0 || sg->key == NULL) {
		verdict(sg, AUTH_TEMPERROR, "syntax", xstrdup("libopendkim did not ask "
		    "for the key (internal error)"));
		return;
	}
	kr = &sg->key->rec[sg->used];
	kname = sg->key->name;
	if (sg->lr.err == DKIM_SIGERROR_KEYDECODE || sg->lr.err == DKIM_SIGERROR_NOKEY) {
		verdict(sg, AUTH_PERMERROR, "key-syntax", xasprintf("libopendkim could "
		    "not use the key at %s", kname));
		return;
	}
	crypto_ok = (sg->lr.flags & DKIM_SIGFLAG_PASSED) != 0 &&
	    sg->lr.bh == DKIM_SIGBH_MATCH && sg->lr.err != DKIM_SIGERROR_TOOLARGE_L;
	too_small = kr->type == DKIM_KEY_RSA && kr->bits < st->c->min_bits;
	if (too_small) {
		verdict(sg, AUTH_PERMERROR, "key-too-small", xasprintf("the RSA key at %s "
		    "has %d bits, below the %d-bit minimum (RFC 8301 3.2: verifiers MUST "
		    "NOT accept keys under 1024 bits); %s; publish a 2048-bit key",
		    kname, kr->bits, st->c->min_bits, crypto_ok ? "the signature itself "
		    "verifies" : "the signature does not verify either"));
		return;
	}
	if (sg->lr.err == DKIM_SIGERROR_TOOLARGE_L) {
		verdict(sg, AUTH_FAIL, "body-hash-mismatch", xasprintf("the signature "
		    "covers l=%lld body bytes but the body has only %lld after "
		    "canonicalization: the body was shortened after signing",
		    sg->l, sg->lr.body_len));
		return;
	}
	if (!crypto_ok) {
		if (sg->lr.bh == DKIM_SIGBH_MISMATCH || sg->lr.body_ok == 0)
			verdict(sg, AUTH_FAIL, "body-hash-mismatch", xasprintf("the body "
			    "hash does not match: the body was changed after signing - "
			    "often a footer or disclaimer added by a mailing list or a "
			    "gateway, or a re-encoding of the text (c=%s)%s", sg->canon,
			    sg->l >= 0 ? "" : "; only the first l= bytes would be checked "
			    "with l=, but l= is itself risky"));
		else
			verdict(sg, AUTH_FAIL, "signature-mismatch", xasprintf("the body is "
			    "intact but the signature does not verify: a signed header "
			    "field (h=%s) was changed after signing, or the key at %s is "
			    "not the one that signed", sg->h, kname));
		return;
	}
	if (sg->alg == ALG_RSA_SHA1) {
		verdict(sg, AUTH_POLICY, "unsupported-algorithm", xasprintf("the "
		    "signature verifies, but it uses rsa-sha1, which RFC 8301 3.1 "
		    "forbids verifiers to accept: sign with rsa-sha256"));
		return;
	}
	verdict(sg, AUTH_PASS, NULL, xasprintf("the signature verifies with the "
	    "%d-bit %s key at %s%s%s", kr->bits, kr->type == DKIM_KEY_ED25519 ? "ed25519" :
	    "RSA", kname, kr->testing ? "; the key is marked t=y (testing): RFC 6376 "
	    "3.6.1 asks receivers to treat the message as unsigned" : "",
	    sg->ncand > 1 || sg->key->nrec > 1 ? "; note: several key records are "
	    "published there, and RFC 6376 3.6.2.2 says there must be one" : ""));
}

/* Should this signature be tried again with another key record? */
static int
sig_retry(struct msgstate *st, struct sigst *sg)
{
	if (sg->keyfail || !sg->final)
		return 0;
	if (sg->error && strcmp(sg->error, "signature-mismatch") == 0 &&
	    sg->try + 1 < sg->ncand) {
		sg->try++;
		return 1;
	}
	(void)st;
	return 0;
}

/* ------------------------------------------------------------- output */

static void
sig_output(const struct msgstate *st, const struct sigst *sg, struct dkim_sig *o)
{
	memset(o, 0, sizeof(*o));
	o->result = sg->res;
	o->body_length = sg->l;
	o->timestamp = sg->t;
	o->expiration = sg->x;
	if (sg->d)
		o->domain = xstrdup(sg->d);
	if (sg->s)
		o->selector = xstrdup(sg->s);
	if (sg->identity)
		o->identity = xstrdup(sg->identity);
	else if (sg->d)
		o->identity = xasprintf("@%s", sg->d);
	if (sg->a)
		o->algorithm = xstrdup(sg->a);
	if (sg->canon[0])
		o->canonicalization = xstrdup(sg->canon);
	else if (sg->c)
		o->canonicalization = xstrdup(sg->c);
	if (sg->h)
		o->signed_headers = xstrdup(sg->h);
	if (sg->b)
		o->b_prefix = xstrndup(sg->b, strnlen(sg->b, DKIM_B_PREFIX_LEN));
	if (sg->key) {
		const struct dkim_key *kr = NULL;

		o->dnssec = sg->key->secure;
		if (sg->used >= 0)
			kr = &sg->key->rec[sg->used];
		else if (sg->key->nrec > 0)
			kr = &sg->key->rec[0];
		if (kr) {
			o->key_record = xstrdup(kr->text);
			o->testing = kr->testing;
			if (kr->valid && !kr->revoked && kr->type != DKIM_KEY_UNKNOWN) {
				o->key_type = xstrdup(kr->type == DKIM_KEY_ED25519 ? "ed25519" : "rsa");
				o->key_bits = kr->bits;
			}
		}
	}
	if (sg->error)
		o->error = xstrdup(sg->error);
	if (sg->reason)
		o->reason = xstrdup(sg->reason);
	(void)st;
}

/* ---------------------------------------------------------- interface */

struct dkim_ctx *
dkim_ctx_new(const struct verify_config *cfg, char *err, size_t errlen)
{
	struct dkim_ctx *c = xcalloc(1, sizeof(*c));
	uint32_t flags = DKIM_LIBFLAGS_BADSIGHANDLES;
	unsigned int minbits = 1;	/* our own check decides (key-too-small) */

	c->dns = cfg->dns;
	c->max_sigs = cfg->dkim_max_signatures > 0 ? cfg->dkim_max_signatures : 16;
	c->min_bits = cfg->dkim_min_key_bits > 0 ? cfg->dkim_min_key_bits : 1024;
	sbuf_init(&c->scratch, 0);
	c->keys = dkim_key_cache_new();
	if ((c->lib = dkim_init(NULL, NULL)) == NULL) {
		snprintf(err, errlen, "dkim_init() failed");
		goto out_free;
	}
	if (dkim_options(c->lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags,
	    sizeof(flags)) != DKIM_STAT_OK ||
	    dkim_options(c->lib, DKIM_OP_SETOPT, DKIM_OPTS_MINKEYBITS, &minbits,
	    sizeof(minbits)) != DKIM_STAT_OK ||
	    dkim_set_key_lookup(c->lib, cb_key_lookup) != DKIM_STAT_OK ||
	    dkim_set_prescreen(c->lib, cb_prescreen) != DKIM_STAT_OK) {
		snprintf(err, errlen, "libopendkim refused an option (version %#x)",
		    (unsigned)dkim_libversion());
		goto out_free;
	}
	return c;
out_free:
	dkim_ctx_free(c);
	return NULL;
}

struct dkim_key_cache *
dkim_ctx_keys(struct dkim_ctx *c)
{
	return c->keys;
}

void
dkim_ctx_free(struct dkim_ctx *c)
{
	if (c == NULL)
		return;
	if (c->lib)
		dkim_close(c->lib);
	sbuf_free(&c->scratch);
	dkim_key_cache_free(c->keys);
	free(c);
}

/* Does a verified signature sign DKIM-Signature fields?  Then all are fed. */
static int
covers_sig_fields(const struct msgstate *st)
{
	for (size_t k = 0; k < st->nsig; k++)
		if (st->sig[k].considered && st->sig[k].h &&
		    dkim_list_has(st->sig[k].h, "dkim-signature"))
			return 1;
	return 0;
}

/*
 * libopendkim reuses the key of an earlier signature with the same d= and
 * s= (byte for byte) without asking again.  Which record was that, and may
 * this signature use it?  0 (sg->used set) or -1.
 */
static int
key_reused(struct msgstate *st, struct sigst *sg)
{
	for (size_t k = 0; k < st->nsig; k++) {
		struct sigst *o = &st->sig[k];

		if (o == sg || !o->lr.seen || o->used < 0 || o->key != sg->key ||
		    strcmp(o->d, sg->d) != 0 || strcmp(o->s, sg->s) != 0)
			continue;
		for (int j = 0; j < sg->ncand; j++)
			if (sg->cand[j] == o->used) {
				sg->try = j;
				sg->used = o->used;
				return 0;
			}
		return -1;
	}
	return -1;
}

static void
verify_all(struct msgstate *st, const struct msg *m)
{
	int feed_all = covers_sig_fields(st), pending = 0;

	for (size_t k = 0; k < st->nsig; k++) {
		st->sig[k].active = st->sig[k].considered && !st->sig[k].final;
		pending |= st->sig[k].active;
	}
	for (int pass = 0; pending && pass < DKIM_MAX_PASSES; pass++) {
		if (run_pass(st, m, feed_all) < 0) {
			for (size_t k = 0; k < st->nsig; k++)
				if (st->sig[k].active && !st->sig[k].final)
					verdict(&st->sig[k], AUTH_TEMPERROR, "syntax",
					    xstrdup("libopendkim could not process the "
					    "message (internal error)"));
			return;
		}
		pending = 0;
		for (size_t k = 0; k < st->nsig; k++) {
			struct sigst *sg = &st->sig[k];

			if (!sg->active)
				continue;
			if (sg->lr.seen && (lib_setup_error(sg->lr.err) ||
			    sg->lr.err == DKIM_SIGERROR_EXPIRED ||
			    sg->lr.err == DKIM_SIGERROR_FUTURE)) {
				sig_finish(st, sg);	/* refused before any key */
				sg->active = 0;
				continue;
			}
			if (!sg->keyfail && sg->key == NULL)
				key_select(st, sg);	/* the library never asked */
			if (!sg->keyfail && sg->used < 0 && key_reused(st, sg) < 0) {
				/* alone next time, so that the library asks */
				if (pass + 1 < DKIM_MAX_PASSES) {
					pending = 1;
					continue;
				}
				verdict(sg, AUTH_TEMPERROR, "syntax", xstrdup(
				    "libopendkim did not ask for the key (internal "
				    "error)"));
			} else if (!sg->keyfail)
				sig_finish(st, sg);
			sg->active = sig_retry(st, sg);
			if (sg->active) {
				sg->final = 0;
				sg->used = -1;
			}
			pending |= sg->active;
		}
	}
}

void
dkim_check_run(struct dkim_ctx *c, const struct msg *m, time_t now,
    struct dkim_sig **sigs, size_t *nsigs)
{
	struct msgstate st;
	size_t n = 0, fi = 0;

	*sigs = NULL;
	*nsigs = 0;
	for (size_t k = 0; k < m->nf; k++)
		n += is_sig_field(&m->f[k]);
	if (n == 0)
		return;
	memset(&st, 0, sizeof(st));
	st.c = c;
	st.now = now;
	st.nsig = n;
	st.sig = xcalloc(n, sizeof(*st.sig));
	st.fed = xcalloc(n, sizeof(*st.fed));
	st.keys = xcalloc(n, sizeof(*st.keys));
	for (size_t k = 0; k < m->nf; k++) {
		struct sigst *sg;

		if (!is_sig_field(&m->f[k]))
			continue;
		sg = &st.sig[fi];
		sg->f = &m->f[k];
		sg->considered = fi < (size_t)c->max_sigs;
		sig_prepare(sg, now);
		if (!sg->considered && !sg->final)
			verdict(sg, AUTH_POLICY, "too-many-signatures", xasprintf("the "
			    "message carries %zu DKIM signatures and only the first %d "
			    "are verified (a bound on the work one message can cause, "
			    "RFC 6376 6.1); this one was not checked", n, c->max_sigs));
		else if (!sg->considered)
			verdict(sg, AUTH_POLICY, "too-many-signatures", xasprintf("the "
			    "message carries %zu DKIM signatures and only the first %d "
			    "are verified; this one was not checked (it is also "
			    "malformed: %s)", n, c->max_sigs, sg->reason));
		fi++;
	}
	verify_all(&st, m);
	*sigs = xcalloc(n, sizeof(**sigs));
	for (size_t k = 0; k < n; k++) {
		sig_output(&st, &st.sig[k], &(*sigs)[k]);
		dkim_tags_free(&st.sig[k].tags);
		free(st.sig[k].identity);
		free(st.sig[k].reason);
	}
	*nsigs = n;
	for (size_t k = 0; k < st.nkeys; k++)
		keyent_free(&st.keys[k]);
	free(st.keys);
	free(st.sig);
	free(st.fed);
}

void
dkim_sigs_free(struct dkim_sig *s, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		free(s[k].domain);
		free(s[k].selector);
		free(s[k].identity);
		free(s[k].algorithm);
		free(s[k].key_type);
		free(s[k].canonicalization);
		free(s[k].signed_headers);
		free(s[k].b_prefix);
		free(s[k].key_record);
		free(s[k].error);
		free(s[k].reason);
	}
	free(s);
}
