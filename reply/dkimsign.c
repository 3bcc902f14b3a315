/* dkimsign.c - see dkimsign.h */
#include <errno.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <opendkim/dkim.h>

#include "../common/dns.h"
#include "../common/msg.h"
#include "../common/util.h"
#include "dkimsign.h"

#define TXT_STRING_MAX	255	/* RFC 1035 3.3: one character-string */

struct dkimsign {
	DKIM_LIB	*lib;		/* owned; used under mu */
	pthread_mutex_t	 mu;
	char		*pem;		/* owned: the private key, PEM */
	size_t		 pemlen;
	char		*path;		/* owned */
	char		*selector;	/* owned */
	char		*domain;	/* owned */
	char		*name;		/* owned: selector._domainkey.domain */
	char		*record;	/* owned: v=DKIM1; k=...; p=... */
	int		 ed25519;
	int		 generated;
	EVP_PKEY	*edkey;		/* owned: Ed25519 keys are signed with our code */
};

/* Header fields signed, in this order; From is signed twice (RFC 6376 8.15). */
static const char *const sign_headers[] = {
	"from", "to", "subject", "date", "message-id", "in-reply-to", "references",
	"auto-submitted", "x-mailtest-id", "mime-version", "content-type", NULL
};
static const char *const oversign_headers[] = { "from", "subject", NULL };

static int
selector_ok(const char *s)
{
	if (s == NULL || *s == '\0' || *s == '.' || strstr(s, "..") || strlen(s) > 63)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '.' || *s == '_'))
			return 0;
	return 1;
}

static void
ssl_err(char *err, size_t errlen, const char *what)
{
	char e[256];

	ERR_error_string_n(ERR_get_error(), e, sizeof(e));
	snprintf(err, errlen, "%s: %s", what, e);
	ERR_clear_error();
}

/* The public half as DKIM wants it: SPKI DER for RSA, raw 32 octets for Ed25519. */
static char *
public_record(EVP_PKEY *k, int ed25519)
{
	unsigned char *der = NULL, raw[64];
	size_t rawlen = sizeof(raw);
	int n;
	struct sbuf b;
	char *out;

	if (ed25519) {
		if (EVP_PKEY_get_raw_public_key(k, raw, &rawlen) != 1)
			return NULL;
		der = raw;
		n = (int)rawlen;
	} else if ((n = i2d_PUBKEY(k, &der)) <= 0)
		return NULL;
	out = xmalloc((size_t)(4 * ((n + 2) / 3) + 1));
	EVP_EncodeBlock((unsigned char *)out, der, n);
	if (!ed25519)
		OPENSSL_free(der);
	sbuf_init(&b, 0);
	sbuf_printf(&b, "v=DKIM1; k=%s; p=%s", ed25519 ? "ed25519" : "rsa", out);
	free(out);
	return sbuf_steal(&b);
}

static int
write_new_key(const char *path, int ed25519, char *err, size_t errlen)
{
	EVP_PKEY *k;
	BIO *bio;
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	char *pem;
	long n;
	int fd, rc = -1;

	k = ed25519 ? EVP_PKEY_Q_keygen(NULL, NULL, "ED25519") :
	    EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)DKIMSIGN_RSA_BITS);
	if (k == NULL) {
		ssl_err(err, errlen, "key generation");
		free(tmp);
		return -1;
	}
	bio = BIO_new(BIO_s_mem());
	if (bio == NULL || PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL) != 1) {
		ssl_err(err, errlen, "PEM encoding");
		goto out_free_key;
	}
	n = BIO_get_mem_data(bio, &pem);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write_all(fd, pem, (size_t)n) < 0 || fsync(fd) < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		goto out_free_key;
	}
	close(fd);
	/* link(): of two processes generating at once, the first key wins */
	if (link(tmp, path) < 0 && errno != EEXIST)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	else
		rc = 0;
	unlink(tmp);
out_free_key:
	BIO_free(bio);
	EVP_PKEY_free(k);
	free(tmp);
	return rc;
}

static int
key_path(struct dkimsign *d, const struct dkimsign_config *c, char *err, size_t errlen)
{
	char *dir;

	if (c->key_path && *c->key_path) {
		d->path = xstrdup(c->key_path);
		return 0;
	}
	dir = xasprintf("%s/dkim", c->spool_dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		free(dir);
		return -1;
	}
	d->path = xasprintf("%s/%s-%s.pem", dir, c->selector, d->ed25519 ? "ed25519" : "rsa");
	free(dir);
	if (access(d->path, F_OK) < 0) {
		if (write_new_key(d->path, d->ed25519, err, errlen) < 0)
			return -1;
		d->generated = 1;
	}
	return 0;
}

static int
load_key(struct dkimsign *d, char *err, size_t errlen)
{
	EVP_PKEY *k;
	BIO *bio;
	int type;

	if (read_file(d->path, DKIMSIGN_MAX_KEY, &d->pem, &d->pemlen) < 0) {
		snprintf(err, errlen, "dkim_sign_key %s: %s", d->path, strerror(errno));
		return -1;
	}
	bio = BIO_new_mem_buf(d->pem, (int)d->pemlen);
	k = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	if (k == NULL) {
		ssl_err(err, errlen, d->path);
		return -1;
	}
	type = EVP_PKEY_get_base_id(k);
	if ((d->ed25519 && type != EVP_PKEY_ED25519) ||
	    (!d->ed25519 && type != EVP_PKEY_RSA)) {
		snprintf(err, errlen, "%s: the key is not an %s key, as "
		    "dkim_sign_algorithm says", d->path, d->ed25519 ? "Ed25519" : "RSA");
		EVP_PKEY_free(k);
		return -1;
	}
	if (!d->ed25519 && EVP_PKEY_get_bits(k) < 1024) {
		snprintf(err, errlen, "%s: RSA keys under 1024 bits are not accepted by "
		    "receivers (RFC 8301 3.2)", d->path);
		EVP_PKEY_free(k);
		return -1;
	}
	d->record = public_record(k, d->ed25519);
	if (d->ed25519)
		d->edkey = k;
	else
		EVP_PKEY_free(k);
	if (d->record == NULL) {
		ssl_err(err, errlen, "public key");
		return -1;
	}
	return 0;
}

static int
lib_setup(struct dkimsign *d, char *err, size_t errlen)
{
	if ((d->lib = dkim_init(NULL, NULL)) == NULL) {
		snprintf(err, errlen, "dkim_init failed");
		return -1;
	}
	/* list options take the array itself and the size of a pointer */
	if (dkim_options(d->lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS, (void *)sign_headers,
	    sizeof(char **)) != DKIM_STAT_OK ||
	    dkim_options(d->lib, DKIM_OP_SETOPT, DKIM_OPTS_OVERSIGNHDRS,
	    (void *)oversign_headers, sizeof(char **)) != DKIM_STAT_OK) {
		snprintf(err, errlen, "dkim_options(SIGNHDRS) failed");
		return -1;
	}
	return 0;
}

struct dkimsign *
dkimsign_new(const struct dkimsign_config *c, char *err, size_t errlen)
{
	struct dkimsign *d = xcalloc(1, sizeof(*d));

	pthread_mutex_init(&d->mu, NULL);
	d->ed25519 = c->algorithm && strcmp(c->algorithm, "ed25519-sha256") == 0;
	if (!selector_ok(c->selector)) {
		snprintf(err, errlen, "dkim_sign_selector \"%s\": letters, digits, '-', "
		    "'_' and '.' only", c->selector ? c->selector : "");
		goto out_fail;
	}
	if (c->domain == NULL || !dns_name_ok(c->domain) || strchr(c->domain, '/')) {
		snprintf(err, errlen, "report signing domain \"%s\" is not a domain name "
		    "(set dkim_sign_domain or report_from)", c->domain ? c->domain : "");
		goto out_fail;
	}
	d->selector = xstrdup(c->selector);
	d->domain = xstrdup(c->domain);
	str_lower(d->domain);
	d->name = xasprintf("%s._domainkey.%s", d->selector, d->domain);
	if (key_path(d, c, err, errlen) < 0 || load_key(d, err, errlen) < 0 ||
	    lib_setup(d, err, errlen) < 0)
		goto out_fail;
	return d;
out_fail:
	dkimsign_free(d);
	return NULL;
}

void
dkimsign_free(struct dkimsign *d)
{
	if (d == NULL)
		return;
	if (d->lib)
		dkim_close(d->lib);
	EVP_PKEY_free(d->edkey);
	pthread_mutex_destroy(&d->mu);
	if (d->pem)
		OPENSSL_cleanse(d->pem, d->pemlen);
	free(d->pem);
	free(d->path);
	free(d->selector);
	free(d->domain);
	free(d->name);
	free(d->record);
	free(d);
}

/* Feed header fields and body to libopendkim; the caller holds d->mu. */
static DKIM_STAT
sign_feed(DKIM *dk, const char *msg, size_t len, char *err, size_t errlen)
{
	struct msg m;
	DKIM_STAT st = DKIM_STAT_OK;

	if (msg_parse(&m, msg, len, NULL) < 0) {
		snprintf(err, errlen, "report cannot be parsed: %s", m.error);
		msg_free(&m);
		return DKIM_STAT_INTERNAL;
	}
	for (size_t i = 0; i < m.nf && st == DKIM_STAT_OK; i++) {
		size_t n = m.f[i].rawlen;

		/* the field without its final CRLF; folds stay CRLF + WSP */
		while (n > 0 && (m.f[i].raw[n - 1] == '\n' || m.f[i].raw[n - 1] == '\r'))
			n--;
		st = dkim_header(dk, (u_char *)m.f[i].raw, n);
	}
	if (st == DKIM_STAT_OK)
		st = dkim_eoh(dk);
	if (st == DKIM_STAT_OK && m.body_off < len)
		st = dkim_body(dk, (u_char *)msg + m.body_off, len - m.body_off);
	if (st == DKIM_STAT_OK)
		st = dkim_eom(dk, NULL);
	if (st != DKIM_STAT_OK)
		snprintf(err, errlen, "signing: %s (%d)", dkim_geterror(dk) ?
		    dkim_geterror(dk) : "libopendkim error", (int)st);
	msg_free(&m);
	return st;
}

char *
dkimsign_sign(struct dkimsign *d, const char *msg, size_t len, const char *jobid,
    char *err, size_t errlen)
{
	static const char name[] = "DKIM-Signature: ";
	DKIM *dk;
	DKIM_STAT st;
	u_char *sig = NULL;
	size_t siglen = 0;
	struct sbuf b;

	if (d->ed25519) {
		char *h;

		pthread_mutex_lock(&d->mu);
		h = dkimsign_ed25519(d->edkey, d->selector, d->domain, sign_headers,
		    oversign_headers, time(NULL), msg, len, err, errlen);
		pthread_mutex_unlock(&d->mu);
		return h;
	}
	pthread_mutex_lock(&d->mu);
	dk = dkim_sign(d->lib, (const u_char *)(jobid ? jobid : "report"), NULL,
	    (dkim_sigkey_t)d->pem, (const u_char *)d->selector,
	    (const u_char *)d->domain, DKIM_CANON_RELAXED, DKIM_CANON_RELAXED,
	    d->ed25519 ? DKIM_SIGN_ED25519SHA256 : DKIM_SIGN_RSASHA256, -1, &st);
	if (dk == NULL) {
		pthread_mutex_unlock(&d->mu);
		snprintf(err, errlen, "dkim_sign: status %d", (int)st);
		return NULL;
	}
	st = sign_feed(dk, msg, len, err, errlen);
	if (st == DKIM_STAT_OK &&
	    (st = dkim_getsighdr_d(dk, sizeof(name) - 1, &sig, &siglen)) != DKIM_STAT_OK)
		snprintf(err, errlen, "dkim_getsighdr_d: status %d", (int)st);
	sbuf_init(&b, 0);
	if (st == DKIM_STAT_OK) {
		sbuf_adds(&b, name);
		/* every line break CRLF (libopendkim 2.11 folds with CRLF already) */
		for (size_t i = 0; i < siglen; i++) {
			if (sig[i] == '\n' && (i == 0 || sig[i - 1] != '\r'))
				sbuf_addc(&b, '\r');
			sbuf_addc(&b, (char)sig[i]);
		}
		sbuf_adds(&b, "\r\n");
	}
	dkim_free(dk);
	pthread_mutex_unlock(&d->mu);
	if (st != DKIM_STAT_OK) {
		sbuf_free(&b);
		return NULL;
	}
	return sbuf_steal(&b);
}

const char *
dkimsign_record(const struct dkimsign *d)
{
	return d->record;
}

const char *
dkimsign_name(const struct dkimsign *d)
{
	return d->name;
}

const char *
dkimsign_key_path(const struct dkimsign *d)
{
	return d->path;
}

int
dkimsign_generated(const struct dkimsign *d)
{
	return d->generated;
}

char *
dkimsign_zone_line(const struct dkimsign *d)
{
	return dkimsign_zone_line_of(d->name, d->record);
}

char *
dkimsign_zone_line_of(const char *name, const char *record)
{
	struct sbuf b;
	const char *p = record;

	sbuf_init(&b, 0);
	sbuf_printf(&b, "%s. IN TXT (", name);
	while (*p) {
		size_t n = strlen(p);

		if (n > TXT_STRING_MAX - 5)
			n = TXT_STRING_MAX - 5;
		sbuf_printf(&b, " \"%.*s\"", (int)n, p);
		p += n;
	}
	sbuf_adds(&b, " )");
	return sbuf_steal(&b);
}
