/*
 * report_doc.h - the content of the report for people, once, as a list of
 * items (headings, verdict lines, key/value rows, findings, the
 * Authentication-Results field), so that the text and the HTML report say
 * exactly the same things in the same order:
 *   verdicts, envelope, message, SPF, DKIM, DMARC, ADSP, iprev, what to
 *   fix, Authentication-Results.
 *
 * Entry points: report_doc_build() (report_doc.c), rendered by
 * report_text() (report_text.c) and report_html() (report_html.c);
 * report_doc_free().
 * Ownership: the doc owns every string in it.  Strings are raw UTF-8 from
 * the message and DNS: renderers clean and escape them (textfmt.h).
 */
#ifndef MT_REPORT_DOC_H
#define MT_REPORT_DOC_H

#include <stddef.h>

#include "../verify/verify.h"
#include "advice.h"
#include "report.h"

enum rdoc_kind {
	RDOC_HEADING,	/* key: section title */
	RDOC_VERDICT,	/* key: mechanism, result, value: one-line summary */
	RDOC_SUBHEAD,	/* key: "Signature 1 of 2" */
	RDOC_KV,	/* key, value (level 0 or 1) */
	RDOC_STEP,	/* SPF record seen: key "via -> domain: result", value record, level depth */
	RDOC_PARA,	/* value: a sentence */
	RDOC_ADVICE,	/* key: mechanism, severity, value: problem, extra: fix */
	RDOC_FIELD	/* value: a header field as folded ("\n\t" between parts) */
};

struct rdoc_item {
	enum rdoc_kind		 kind;
	int			 level;
	enum auth_res		 result;
	enum advice_severity	 severity;
	char			*key;	/* owned */
	char			*value;	/* owned */
	char			*extra;	/* owned */
};

struct rdoc {
	struct rdoc_item	*v;	/* owned */
	size_t			 n, cap;
	char			*title;	/* owned: "mailtest report" */
	char			*subtitle;	/* owned: "Checked by HOST." or NULL */
};

void	 report_doc_build(struct rdoc *, const struct verify_result *,
	    const struct report_meta *);
void	 report_doc_free(struct rdoc *);

#endif
