/* tls.c - the STARTTLS context and the self-signed certificate: see tls.h */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../common/log.h"
#include "../common/util.h"
#include "tls.h"

#define TLS_SELF_SIGNED_DAYS	3650
#define TLS_SERIAL_BYTES	16

const char *
tls_error_text(unsigned long e)
{
	static __thread char buf[256];

	if (e == 0)
		return "unknown error";
	ERR_error_string_n(e, buf, sizeof(buf));
	return buf;
}

static void
tls_err(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s: %s", what, tls_error_text(ERR_get_error()));
	ERR_clear_error();
}

/* Write data to path through a temporary file and rename (mode given). */
static int
tls_write_pem(const char *path, EVP_PKEY *key, X509 *cert, mode_t mode, char *err,
    size_t errlen)
{
	char *tmp = xasprintf("%s.tmp", path);
	FILE *f = NULL;
	int fd, rc = -1;

	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out_free;
	}
	if ((key && !PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL)) ||
	    (cert && !PEM_write_X509(f, cert))) {
		tls_err(err, errlen, path);
		fclose(f);
		unlink(tmp);
		goto out_free;
	}
	if (fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0 ||
	    rename(tmp, path) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(tmp);
		goto out_free;
	}
	rc = 0;
out_free:
	free(tmp);
	return rc;
}

static X509 *
tls_make_cert(EVP_PKEY *key, const char *hostname)
{
	X509 *x = X509_new();
	X509_NAME *name;
	X509_EXTENSION *ext;
	X509V3_CTX v3;
	unsigned char serial[TLS_SERIAL_BYTES];
	BIGNUM *bn = NULL;
	char *san = xasprintf("DNS:%s", hostname);
	int ok = 0;

	if (x == NULL || RAND_bytes(serial, sizeof(serial)) != 1)
		goto out_free;
	serial[0] &= 0x7f;	/* a positive serial (RFC 5280 4.1.2.2) */
	if ((bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
	    !X509_set_version(x, 2) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), (long)TLS_SELF_SIGNED_DAYS * 86400) ||
	    !X509_set_pubkey(x, key))
		goto out_free;
	name = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)hostname, -1, -1, 0) ||
	    !X509_set_issuer_name(x, name))
		goto out_free;
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san)) == NULL)
		goto out_free;
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	if (!X509_sign(x, key, EVP_sha256()))
		goto out_free;
	ok = 1;
out_free:
	BN_free(bn);
	free(san);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* First start without a configured certificate: make one. */
static int
tls_self_signed(const char *dir, const char *cert, const char *keyf,
    const char *hostname, char *err, size_t errlen)
{
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	int rc = -1;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if ((key = EVP_EC_gen("P-256")) == NULL) {
		tls_err(err, errlen, "EC key generation");
		goto out_free;
	}
	if ((x = tls_make_cert(key, hostname)) == NULL) {
		tls_err(err, errlen, "self-signed certificate");
		goto out_free;
	}
	if (tls_write_pem(keyf, key, NULL, 0600, err, errlen) < 0 ||
	    tls_write_pem(cert, NULL, x, 0644, err, errlen) < 0)
		goto out_free;
	log_info("-", "tls", "self-signed certificate=%s cn=%s", cert, hostname);
	rc = 0;
out_free:
	EVP_PKEY_free(key);
	X509_free(x);
	return rc;
}

SSL_CTX *
tls_server_ctx(const struct config *cf, const char *spool_dir, char *err, size_t errlen)
{
	SSL_CTX *ctx;
	char *dir = NULL, *cert = NULL, *key = NULL;
	static const unsigned char sid[] = "mailtestd";

	err[0] = '\0';
	if (!cf->tls)
		return NULL;
	if ((cf->tls_cert[0] == '\0') != (cf->tls_key[0] == '\0')) {
		snprintf(err, errlen, "tls_cert and tls_key: set both or neither");
		return NULL;
	}
	if (cf->tls_cert[0]) {
		cert = xstrdup(cf->tls_cert);
		key = xstrdup(cf->tls_key);
	} else {
		dir = xasprintf("%s/tls", spool_dir);
		cert = xasprintf("%s/cert.pem", dir);
		key = xasprintf("%s/key.pem", dir);
		if ((access(cert, F_OK) < 0 || access(key, F_OK) < 0) &&
		    tls_self_signed(dir, cert, key, cf->hostname, err, errlen) < 0)
			goto fail;
	}
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		tls_err(err, errlen, "SSL_CTX_new");
		goto fail;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* an idle TLS session keeps no read/write buffers */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1);
	if (cf->tls_ciphers[0] && !SSL_CTX_set_cipher_list(ctx, cf->tls_ciphers)) {
		tls_err(err, errlen, "tls_ciphers");
		goto fail_ctx;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		tls_err(err, errlen, cert);
		goto fail_ctx;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		tls_err(err, errlen, key);
		goto fail_ctx;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		tls_err(err, errlen, "certificate and key do not match");
		goto fail_ctx;
	}
	free(dir);
	free(cert);
	free(key);
	return ctx;
fail_ctx:
	SSL_CTX_free(ctx);
fail:
	free(dir);
	free(cert);
	free(key);
	return NULL;
}
