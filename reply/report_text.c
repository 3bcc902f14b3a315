/* report_text.c - PLACEHOLDER text report (the full report comes with the reply work) */
#include <stdlib.h>

#include "../common/util.h"
#include "report.h"

char *
report_text(const struct verify_result *r, const struct report_meta *meta)
{
	struct sbuf b;
	char *ar;

	sbuf_init(&b, 0);
	sbuf_printf(&b, "SPF:   %s\n", auth_res_name(r->spf.result));
	for (size_t i = 0; i < r->ndkim; i++)
		sbuf_printf(&b, "DKIM:  %s (d=%s s=%s)\n", auth_res_name(r->dkim[i].result),
		    r->dkim[i].domain ? r->dkim[i].domain : "?",
		    r->dkim[i].selector ? r->dkim[i].selector : "?");
	if (r->ndkim == 0)
		sbuf_adds(&b, "DKIM:  none\n");
	sbuf_printf(&b, "DMARC: %s\n", auth_res_name(r->dmarc.result));
	sbuf_printf(&b, "ADSP:  %s\n", auth_res_name(r->adsp.result));
	sbuf_printf(&b, "iprev: %s\n", auth_res_name(r->iprev.result));
	ar = report_ar(r, meta && meta->authserv_id ? meta->authserv_id : "localhost", 1);
	sbuf_printf(&b, "\n%s\n", ar);
	free(ar);
	return sbuf_steal(&b);
}

char *
report_html(const struct verify_result *r, const struct report_meta *meta)
{
	(void)r; (void)meta;
	return xstrdup("<!DOCTYPE html><html><body><p>not yet</p></body></html>");
}
