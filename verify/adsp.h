/*
 * adsp.h - ADSP (RFC 5617, moved to Historic in 2013): our own
 * implementation of its procedure (libopendkim dropped ADSP in 2.10).
 * Reported as informational.
 *
 * Entry point: adsp_check_run(); adsp_result_free().
 * author_domain NULL (no single author) gives permerror with from_error.
 */
#ifndef MT_ADSP_H
#define MT_ADSP_H

#include "verify.h"

void	 adsp_check_run(struct dns_resolver *, const char *author_domain,
	    const char *from_error, const struct dkim_sig *sigs, size_t nsigs,
	    struct adsp_result *out);
void	 adsp_result_free(struct adsp_result *);

#endif
