/* dmarc.c - PLACEHOLDER until the RFC 9989 implementation lands. */
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "dmarc.h"

struct dmarc_ctx { int unused; };

struct dmarc_ctx *
dmarc_ctx_new(const struct verify_config *cfg, char *err, size_t errlen)
{
	(void)cfg; (void)err; (void)errlen;
	return xcalloc(1, sizeof(struct dmarc_ctx));
}

void
dmarc_ctx_free(struct dmarc_ctx *c)
{
	free(c);
}

void
dmarc_check_run(struct dmarc_ctx *c, const char *from_domain, const char *from_error,
    const struct spf_check *spf, struct dkim_sig *sigs, size_t nsigs,
    struct dmarc_result *out)
{
	(void)c; (void)from_error; (void)spf; (void)sigs; (void)nsigs;
	memset(out, 0, sizeof(*out));
	out->domain = from_domain ? xstrdup(from_domain) : NULL;
	out->reason = xstrdup("DMARC is not implemented yet");
}

void
dmarc_result_free(struct dmarc_result *r)
{
	free(r->domain); free(r->reason);
	memset(r, 0, sizeof(*r));
}
