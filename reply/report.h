/*
 * report.h - rendering a struct verify_result: JSON (the machine-readable
 * report, the same in `mailtest verify --format json`, the mailed
 * attachment and the HTTP API), Authentication-Results (RFC 8601), and
 * the text and HTML reports for people.
 *
 * Entry points: report_json(), report_json_text(), report_ar(),
 * report_text(), report_html().  All return allocated strings or jansson
 * objects that the caller frees (free(), json_decref()).  Values taken from
 * the message or DNS are untrusted: every renderer escapes for its format
 * (JSON strings are valid UTF-8, A-R values are quoted and stripped of
 * control characters, HTML is entity-escaped).
 */
#ifndef MT_REPORT_H
#define MT_REPORT_H

#include <jansson.h>

#include "../verify/verify.h"

/* What the daemon knows beyond the verification (all optional). */
struct report_meta {
	const char	*id;		/* message/queue id */
	const char	*authserv_id;
	const char	*received_at;	/* RFC 3339 */
	const char	*client_port;
	const char	*tls_protocol;	/* NULL = no TLS */
	const char	*tls_cipher;
	const char	*tag;		/* +tag of the check address */
	const char	*file;		/* batch mode: input file name */
};

json_t	*report_json(const struct verify_result *, const struct report_meta *);
/* flags: 0 compact one line (NDJSON), 1 indented */
char	*report_json_text(const struct verify_result *, const struct report_meta *,
	    int pretty);
/* fold: 0 one line, 1 folded with "\n\t" between results */
char	*report_ar(const struct verify_result *, const char *authserv_id, int fold);
char	*report_text(const struct verify_result *, const struct report_meta *);
char	*report_html(const struct verify_result *, const struct report_meta *);

/* JSON string from untrusted bytes: invalid UTF-8 becomes U+FFFD. */
json_t	*report_jstr(const char *);

/*
 * Shared by the text and HTML reports and the mail's Subject
 * (report_summary.c).  Allocated, UTF-8, not yet cleaned or escaped.
 *   report_subject()       "mailtest: SPF pass, DKIM pass, DMARC pass — example.com"
 *   report_dkim_overall()  the DKIM word of the subject: pass if any
 *                          signature passed, else the first one's, else none
 *   report_verdict_*()     the one-line explanation beside each verdict
 */
char	*report_subject(const struct verify_result *);
enum auth_res report_dkim_overall(const struct verify_result *);
char	*report_verdict_spf(const struct verify_result *);
char	*report_verdict_dkim(const struct verify_result *, const struct dkim_sig *);
char	*report_verdict_dmarc(const struct verify_result *);
char	*report_verdict_adsp(const struct verify_result *);
char	*report_verdict_iprev(const struct verify_result *);
/*
 * A stored JSON report back into a result and meta (report_load.c), for
 * `mailtest show`: every string allocated, freed by report_loaded_free()
 * (not verify_result_free()).  -1 when j is not a report.
 */
int	 report_from_json(json_t *j, struct verify_result *, struct report_meta *);
void	 report_loaded_free(struct verify_result *, struct report_meta *);
/* What a receiver does under a DMARC policy word, in words. */
const char *report_policy_effect(const char *policy);

#endif
