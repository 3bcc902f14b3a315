/*
 * tls.h - the server side of STARTTLS (RFC 3207): an OpenSSL context with
 * TLS 1.2 as the minimum, no compression, no renegotiation, buffers released
 * while a connection is idle; the certificate and key from tls_cert /
 * tls_key, or, when neither is configured, SPOOL/tls/cert.pem and key.pem,
 * generated at first start (self-signed, ECDSA P-256, CN and DNS SAN =
 * hostname, 10 years; key mode 0600).
 *
 * Entry points: tls_server_ctx() (before privileges are dropped: it reads
 * the key), tls_error_text().
 * Ownership: the caller SSL_CTX_free()s the context.
 * Errors: NULL with err set; with tls off, NULL and err = "".
 */
#ifndef MT_TLS_H
#define MT_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "../common/config.h"

SSL_CTX	*tls_server_ctx(const struct config *, const char *spool_dir, char *err,
	    size_t errlen);
/* The last OpenSSL error of this thread as text (static buffer of the thread). */
const char *tls_error_text(unsigned long);

#endif
