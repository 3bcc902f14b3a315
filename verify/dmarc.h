/*
 * dmarc.h - DMARC (RFC 9989; the RFC 7489 view through libopendmarc).
 *
 * DMARC consumes the SPF and DKIM results; it does not check again.
 * Entry points: dmarc_ctx_new() per thread, dmarc_check_run(), dmarc_result_free().
 * from_domain is the single author domain, or NULL with from_error saying
 * why there is none (no From, several From fields or addresses, bad syntax):
 * that is permerror.  dmarc_check_run() sets sigs[i].aligned.
 * Ownership: strings in *out are owned by it.
 */
#ifndef MT_DMARC_H
#define MT_DMARC_H

#include "verify.h"

struct dmarc_ctx;

struct dmarc_ctx *dmarc_ctx_new(const struct verify_config *, char *err, size_t errlen);
void	 dmarc_ctx_free(struct dmarc_ctx *);
void	 dmarc_check_run(struct dmarc_ctx *, const char *from_domain,
	    const char *from_error, const struct spf_check *spf_mailfrom,
	    struct dkim_sig *sigs, size_t nsigs, struct dmarc_result *out);
void	 dmarc_result_free(struct dmarc_result *);

#endif
