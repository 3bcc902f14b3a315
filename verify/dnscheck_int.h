/*
 * dnscheck_int.h - private to dnscheck.c, dnscheck_spf.c and
 * dnscheck_dmarc.c (the three parts of the dnscheck module; the module's
 * interface is dnscheck.h).
 *
 * A struct dnscheck_ctx lives on dnscheck_run()'s stack for one check: the
 * parts look names up through dc_query() (which records every lookup and
 * its DNSSEC status, counts them against DNSCHECK_MAX_QUERIES and marks
 * lookup failures), and report through dc_finding().
 */
#ifndef MT_DNSCHECK_INT_H
#define MT_DNSCHECK_INT_H

#include <stdarg.h>

#include "../common/util.h"
#include "dnscheck.h"

struct dmarc_ctx;

struct dnscheck_ctx {
	const struct verify_config *cfg;	/* the caller's */
	struct dnscheck_result	*res;		/* the caller's, being filled */
	struct dmarc_ctx	*dmarc;		/* owned; for the PSL, made on demand */
	int			 dmarc_failed;	/* making it failed: no PSL */
	struct dkim_key_cache	*keys;		/* the caller's, or NULL (dkim_key.h) */
};

/*
 * Look name up (type DNS_T_*); matters: a TEMPFAIL makes the whole check
 * a lookup failure (exit 2).  NULL when the query budget is spent (a
 * finding says so).  Release the answer with dns_answer_release().
 */
const struct dns_answer *dc_query(struct dnscheck_ctx *, const char *name, int type,
	    int matters);
/*
 * Add a finding; suggestion is taken over (freed if the finding is
 * dropped).  Returns the finding, or NULL past DNSCHECK_MAX_FINDINGS.
 */
struct dnscheck_finding *dc_finding(struct dnscheck_ctx *, enum dnscheck_severity,
	    const char *area, const char *code, const char *name, const char *rfc,
	    char *suggestion, const char *fmt, ...) MT_PRINTF(8, 9);
/* Printable copy of DNS text (control bytes as \xHH). */
char	*dc_printable(const char *, size_t);
/* A copy without '"' and '\' characters, or NULL when there are none. */
char	*dc_unquote(const char *, size_t);
/* Is d the checked domain or under it (the user's own names)? */
int	 dc_own(const struct dnscheck_ctx *, const char *d);
/* The PSL Organizational Domain of d into out; -1 when unknown. */
int	 dc_org_domain(struct dnscheck_ctx *, const char *d, char *out, size_t n);

void	 dc_spf(struct dnscheck_ctx *);
void	 dc_spf_free(struct dnscheck_spf *);
void	 dc_dmarc(struct dnscheck_ctx *);
void	 dc_dmarc_suggest(struct dnscheck_ctx *);
void	 dc_dmarc_free(struct dnscheck_dmarc *);

#endif
