/* spf.c - PLACEHOLDER until the libspf2-based implementation lands. */
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "spf.h"

struct spf_ctx { int unused; };

struct spf_ctx *
spf_ctx_new(struct dns_resolver *dns, const char *host, char *err, size_t errlen)
{
	(void)dns; (void)host; (void)err; (void)errlen;
	return xcalloc(1, sizeof(struct spf_ctx));
}

void
spf_ctx_free(struct spf_ctx *c)
{
	free(c);
}

void
spf_check_run(struct spf_ctx *c, const char *identity, const char *ip,
    const char *helo, const char *sender, struct spf_check *out)
{
	(void)c; (void)ip; (void)helo;
	memset(out, 0, sizeof(*out));
	out->identity = xstrdup(identity);
	out->sender = xstrdup(sender);
	out->reason = xstrdup("SPF is not implemented yet");
}

void
spf_check_free(struct spf_check *c)
{
	free(c->identity); free(c->sender); free(c->domain); free(c->record);
	free(c->mechanism); free(c->explanation); free(c->reason); free(c->problem);
	for (size_t i = 0; i < c->nsteps; i++) {
		free(c->steps[i].via); free(c->steps[i].domain);
		free(c->steps[i].record); free(c->steps[i].result);
	}
	free(c->steps);
	memset(c, 0, sizeof(*c));
}
