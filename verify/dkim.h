/*
 * dkim.h - DKIM verification (RFC 6376, RFC 8463 ed25519, RFC 8301) with
 * libopendkim, keys fetched through the common DNS layer.
 *
 * Entry points: dkim_ctx_new() per thread, dkim_check_run(), dkim_sigs_free(),
 * dkim_ctx_keys() (the context's cache of parsed key records, dkim_key.h,
 * lent to the record checker of the same thread).
 * dkim_check_run() reports every DKIM-Signature field on its own, in header
 * order (at most max_signatures are verified; the rest are reported as
 * policy "too-many-signatures").  Never fails: problems are verdicts.
 * Ownership: *sigs is allocated (dkim_sigs_free()).
 */
#ifndef MT_DKIM_H
#define MT_DKIM_H

#include "../common/msg.h"
#include "verify.h"

struct dkim_ctx;

struct dkim_ctx *dkim_ctx_new(const struct verify_config *, char *err, size_t errlen);
void	 dkim_ctx_free(struct dkim_ctx *);
void	 dkim_check_run(struct dkim_ctx *, const struct msg *, time_t now,
	    struct dkim_sig **sigs, size_t *nsigs);
void	 dkim_sigs_free(struct dkim_sig *, size_t n);
/* Owned by the context; valid until dkim_ctx_free(); same thread only. */
struct dkim_key_cache *dkim_ctx_keys(struct dkim_ctx *);
/*
 * For tests and fuzzing: the checks dkim_check_run() makes on one
 * DKIM-Signature field value (RFC 6376 3.2, 3.5, 6.1.1) at time now,
 * before libopendkim sees the field.  0 when it passes them (its key would
 * be looked up at keyname, "s._domainkey.d"); -1 when it is refused, with
 * *error a static word and *reason allocated (the caller frees it).
 */
int	 dkim_sig_precheck(const char *value, size_t len, time_t now, char *keyname,
	    size_t keylen, const char **error, char **reason);

#endif
