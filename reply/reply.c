/*
 * reply.c - PLACEHOLDER hand-off until the report/reply work lands: writes
 * the JSON report durably to SPOOL/reports/ID.json and sends nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/util.h"
#include "report.h"
#include "reply.h"

struct reply_ctx {
	char	*dir;
	char	*authserv_id;
};

struct reply_ctx *
reply_ctx_new(const struct config *cf, struct dns_resolver *dns, char *err, size_t errlen)
{
	struct reply_ctx *r = xcalloc(1, sizeof(*r));

	(void)dns;
	r->dir = xasprintf("%s/reports", cf->spool_dir);
	if (mkdir(r->dir, 0750) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", r->dir, strerror(errno));
		free(r->dir);
		free(r);
		return NULL;
	}
	r->authserv_id = xstrdup(cf->authserv_id);
	return r;
}

void
reply_ctx_free(struct reply_ctx *r)
{
	if (r == NULL)
		return;
	free(r->dir);
	free(r->authserv_id);
	free(r);
}

int
reply_process(struct reply_ctx *r, const struct spool_env *env, const char *msg,
    size_t msglen, const struct verify_result *res)
{
	struct report_meta meta = { 0 };
	char *json, *tmp, *path;
	int fd, rc = -1;

	(void)msg;
	(void)msglen;
	meta.id = env->id;
	meta.authserv_id = r->authserv_id;
	meta.received_at = env->received;
	meta.tls_protocol = env->tls_protocol;
	meta.tls_cipher = env->tls_cipher;
	meta.tag = env->tag;
	json = report_json_text(res, &meta, 1);
	tmp = xasprintf("%s/.%s.tmp", r->dir, env->id);
	path = xasprintf("%s/%s.json", r->dir, env->id);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd >= 0 && write_all(fd, json, strlen(json)) == 0 && fsync(fd) == 0 &&
	    close(fd) == 0 && rename(tmp, path) == 0 && fsync_dir(r->dir) == 0)
		rc = 0;
	else if (fd >= 0)
		close(fd);
	free(json);
	free(tmp);
	free(path);
	return rc;
}

int
reply_start(struct reply_ctx *r)
{
	(void)r;
	return 0;
}

void
reply_stop(struct reply_ctx *r)
{
	(void)r;
}
