/* dkim.c - PLACEHOLDER until the libopendkim-based implementation lands. */
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "dkim.h"

struct dkim_ctx { int unused; };

struct dkim_ctx *
dkim_ctx_new(const struct verify_config *cfg, char *err, size_t errlen)
{
	(void)cfg; (void)err; (void)errlen;
	return xcalloc(1, sizeof(struct dkim_ctx));
}

void
dkim_ctx_free(struct dkim_ctx *c)
{
	free(c);
}

void
dkim_check_run(struct dkim_ctx *c, const struct msg *m, time_t now,
    struct dkim_sig **sigs, size_t *nsigs)
{
	(void)c; (void)m; (void)now;
	*sigs = NULL;
	*nsigs = 0;
}

void
dkim_sigs_free(struct dkim_sig *s, size_t n)
{
	(void)n;
	free(s);
}
