/*
 * dnscheck_render.h - the findings of a record check (verify/dnscheck.h)
 * for people and programs: the text of `mailtest dns-check`, its JSON
 * (--format json), the --suggest-dmarc text, and the "what to fix" list
 * for the mailed report.
 *
 * Entry points: dnscheck_json(), dnscheck_render_json(),
 * dnscheck_render_text(), dnscheck_render_suggest(), dnscheck_render_fixes().
 * Ownership: strings are the caller's to free(); the json_t is the
 * caller's to json_decref().  DNS text is untrusted: it arrives printable
 * (control bytes as \xHH, from dnscheck.c) and JSON strings are made valid
 * UTF-8 (report_jstr()).  Nothing here fails except by running out of
 * memory (fatal).
 */
#ifndef MT_DNSCHECK_RENDER_H
#define MT_DNSCHECK_RENDER_H

#include <jansson.h>

#include "../verify/dnscheck.h"

json_t	*dnscheck_json(const struct dnscheck_result *);
/* pretty: 1 indented, 0 one line */
char	*dnscheck_render_json(const struct dnscheck_result *, int pretty);
char	*dnscheck_render_text(const struct dnscheck_result *);
/* --suggest-dmarc: the record to publish next and the path to p=reject */
char	*dnscheck_render_suggest(const struct dnscheck_result *);
/* errors and warnings with their corrected records, "" when none */
char	*dnscheck_render_fixes(const struct dnscheck_result *);

#endif
