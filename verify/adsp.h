/*
 * adsp.h - ADSP (RFC 5617, moved to Historic in 2013): our own
 * implementation of its procedure (libopendkim dropped ADSP in 2.10).
 * Reported as informational.
 *
 * Entry point: adsp_check_run(); adsp_result_free().  adsp_record_parse()
 * is the record parser alone (for tests and fuzzing).
 * author_domain NULL (no single author) gives permerror with from_error.
 */
#ifndef MT_ADSP_H
#define MT_ADSP_H

#include "verify.h"

void	 adsp_check_run(struct dns_resolver *, const char *author_domain,
	    const char *from_error, const struct dkim_sig *sigs, size_t nsigs,
	    struct adsp_result *out);
void	 adsp_result_free(struct adsp_result *);
/*
 * Parse an ADSP record (RFC 5617 4.2.1, a tag-list with WSP) of len bytes
 * (not NUL-terminated; a NUL inside makes it invalid).  Returns 0 and the
 * dkim= value in *practice (malloc'd, the caller frees it), or -1 with
 * *practice NULL when the record is not valid and must be ignored (why in
 * err).
 */
int	 adsp_record_parse(const char *rec, size_t len, char **practice,
	    char *err, size_t errlen);

#endif
