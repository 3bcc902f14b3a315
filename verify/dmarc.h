/*
 * dmarc.h - DMARC (RFC 9989; the RFC 7489 view through libopendmarc).
 *
 * DMARC consumes the SPF and DKIM results; it does not check again.
 * Entry points: dmarc_ctx_new() per thread, dmarc_check_run(), dmarc_result_free();
 * dmarc_psl_org() (the RFC 7489 Organizational Domain from the public
 * suffix list, via libpsl) and dmarc_opendmarc_org() (libopendmarc's own
 * answer to the same question, kept for comparison and tests).
 * from_domain is the single author domain, or NULL with from_error saying
 * why there is none (no From, several From fields or addresses, bad syntax):
 * that is permerror.  dmarc_check_run() sets sigs[i].aligned.
 * Ownership: strings in *out are owned by it.
 * Threads: one dmarc_ctx per thread; the public suffix list is loaded once
 * for all of them (with the first context) and freed with the last.
 * Errors: results, never failures: DNS trouble is temperror when the
 * outcome depends on it; an unreadable public suffix list leaves the RFC
 * 7489 view empty with a note saying so.
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
/* 0 and the name in out, or -1 (a public suffix itself, invalid, no list). */
int	 dmarc_psl_org(struct dmarc_ctx *, const char *domain, char *out, size_t outlen);
/* libopendmarc's opendmarc_get_tld(); only while some dmarc_ctx exists */
int	 dmarc_opendmarc_org(const char *domain, char *out, size_t outlen);

#endif
