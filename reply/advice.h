/*
 * advice.h - "what to fix": from a verification result to a list of
 * findings, each a problem and its fix in plain words, per mechanism.
 *
 * The list is the one place where advice is written: the text, HTML and
 * JSON reports render it, and `mailtest dns-check` adds its domain
 * findings to the same list with advice_add().
 *
 * Entry points:
 *   advice_from_result(list, result, meta)   appends the findings of one
 *                                            verification (meta optional:
 *                                            it tells whether TLS was used)
 *   advice_add(list, mechanism, severity, problem, fix)
 *   advice_sort(list)                        errors first, then warnings,
 *                                            then notes; stable otherwise
 *   advice_free(list)
 * Ownership: the list owns every string in it (copies of what was given).
 * Values from the message or DNS are copied as they are: renderers clean
 * and escape them (textfmt.h).  Errors: none (out of memory is fatal).
 */
#ifndef MT_ADVICE_H
#define MT_ADVICE_H

#include <stddef.h>

#include "../common/util.h"
#include "../verify/verify.h"
#include "report.h"

enum advice_severity {
	ADVICE_ERROR = 0,	/* mail fails or will be treated as spoofed */
	ADVICE_WARNING,		/* works now, but fragile or weaker than it should be */
	ADVICE_NOTE		/* for information */
};

#define ADVICE_MAX	64	/* findings kept per list */

struct advice {
	char			*mechanism;	/* "SPF", "DKIM", "DMARC", "ADSP", "iprev", ... */
	enum advice_severity	 severity;
	char			*problem;	/* what is wrong, one or two sentences */
	char			*fix;		/* what to do about it */
};

struct advice_list {
	struct advice	 v[ADVICE_MAX];	/* owned */
	size_t		 n;
	size_t		 dropped;	/* findings beyond ADVICE_MAX */
};

void	 advice_init(struct advice_list *);
void	 advice_add(struct advice_list *, const char *mechanism,
	    enum advice_severity, const char *problem, const char *fix);
void	 advice_from_result(struct advice_list *, const struct verify_result *,
	    const struct report_meta *);
void	 advice_sort(struct advice_list *);
void	 advice_free(struct advice_list *);
const char *advice_severity_name(enum advice_severity);

#endif
