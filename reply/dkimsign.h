/*
 * dkimsign.h - the responder's own DKIM signature on its reports, made
 * with libopendkim's signing API (dkim_sign(), relaxed/relaxed, rsa-sha256
 * or ed25519-sha256 per RFC 6376 / RFC 8463).
 *
 * The key is a PEM private key (PKCS#8 or traditional) named by the
 * config (dkim_sign_key).  When none is named, one is generated with the
 * OpenSSL API the first time (RSA 2048 or Ed25519) under
 * SPOOL/dkim/SELECTOR-rsa.pem (or -ed25519.pem), mode 0600, and reused
 * afterwards; dkimsign_record() gives the DNS TXT record to publish.
 *
 * Entry points:
 *   dkimsign_new()      load or generate the key (before privileges drop)
 *   dkimsign_sign()     a DKIM-Signature field for a CRLF message; thread-safe
 *   dkimsign_record()   "v=DKIM1; k=rsa; p=..." ; dkimsign_name() the owner name
 *   dkimsign_zone_line() the record as a zone-file line (strings <= 255 octets)
 * In mailtestd these run in the signer process only (signer.h); the
 * daemon itself never calls dkimsign_new().
 *   dkimsign_free()
 * Errors: -1 / NULL with a message in err.  A key that does not match the
 * configured algorithm, an unreadable key, a bad selector or domain are
 * errors at start-up, not at the first report.
 * Ownership: results of dkimsign_sign() and dkimsign_zone_line() are the
 * caller's to free(); the rest belongs to the struct.
 */
#ifndef MT_DKIMSIGN_H
#define MT_DKIMSIGN_H

#include <openssl/evp.h>
#include <stddef.h>
#include <time.h>

#include "../common/util.h"

#define DKIMSIGN_RSA_BITS	2048	/* RFC 8301 3.2: signers SHOULD use >= 2048 */
#define DKIMSIGN_MAX_KEY	(64 * 1024)

struct dkimsign;

struct dkimsign_config {
	const char	*key_path;	/* "" or NULL: generate under spool_dir */
	const char	*spool_dir;
	const char	*selector;
	const char	*domain;
	const char	*algorithm;	/* "rsa-sha256" | "ed25519-sha256" */
};

struct dkimsign *dkimsign_new(const struct dkimsign_config *, char *err, size_t errlen);
void	 dkimsign_free(struct dkimsign *);
/* "DKIM-Signature: ...\r\n" (folded, CRLF), or NULL with err. */
char	*dkimsign_sign(struct dkimsign *, const char *msg, size_t len, const char *jobid,
	    char *err, size_t errlen);
const char *dkimsign_record(const struct dkimsign *);
const char *dkimsign_name(const struct dkimsign *);	/* SELECTOR._domainkey.DOMAIN */
const char *dkimsign_key_path(const struct dkimsign *);
int	 dkimsign_generated(const struct dkimsign *);	/* 1: made by this dkimsign_new() */
char	*dkimsign_zone_line(const struct dkimsign *);
/* The same from the owner name and the record (signer.c, parent side). */
char	*dkimsign_zone_line_of(const char *name, const char *record);

/*
 * Inside the module (dkimsign_ed25519.c, see there for why): our
 * ed25519-sha256 signer, and the relaxed canonicalizations it uses
 * (RFC 6376 3.4.2 header field with CRLF, 3.4.4 body), exposed for tests.
 */
char	*dkimsign_ed25519(EVP_PKEY *, const char *selector, const char *domain,
	    const char *const *sign_headers, const char *const *oversign, time_t now,
	    const char *msg, size_t len, char *err, size_t errlen);
void	 dkimsign_canon_header(struct sbuf *, const char *field, size_t len);
void	 dkimsign_canon_body(struct sbuf *, const char *body, size_t len);

#endif
