/* record.c - see record.h */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/util.h"
#include "record.h"
#include "report.h"

static char *
reports_dir(const char *spool_dir)
{
	return xasprintf("%s/reports", spool_dir);
}

int
record_exists(const char *spool_dir, const char *id)
{
	char *path;
	int rc;

	if (!id_valid(id))
		return 0;
	path = xasprintf("%s/reports/%s.json", spool_dir, id);
	rc = access(path, F_OK) == 0;
	free(path);
	return rc;
}

int
record_outcome(const char *spool_dir, const char *id, json_t *report,
    const struct record_outcome *o, char *err, size_t errlen)
{
	json_t *rec = json_deep_copy(report), *rep = json_object();
	char *dir = reports_dir(spool_dir), *tmp = NULL, *path = NULL, *text = NULL;
	int fd = -1, rc = -1;

	if (!id_valid(id)) {
		snprintf(err, errlen, "bad id");
		goto out_free;
	}
	if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		goto out_free;
	}
	json_object_set_new(rep, "status", report_jstr(o->status));
	json_object_set_new(rep, "reason", report_jstr(o->reason));
	json_object_set_new(rep, "detail", report_jstr(o->detail));
	json_object_set_new(rep, "to", report_jstr(o->to));
	json_object_set_new(rep, "chosen_by", report_jstr(o->chosen_by));
	json_object_set_new(rep, "at", report_jstr(o->at));
	json_object_set_new(rec, "reply", rep);
	rep = NULL;
	text = json_dumps(rec, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	if (text == NULL) {
		snprintf(err, errlen, "json_dumps failed");
		goto out_free;
	}
	tmp = xasprintf("%s/.%s.tmp", dir, id);
	path = xasprintf("%s/%s.json", dir, id);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0 || write_all(fd, text, strlen(text)) < 0 || write_all(fd, "\n", 1) < 0 ||
	    fsync(fd) < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out_free;
	}
	if (close(fd) < 0 || (fd = -1, rename(tmp, path) < 0) || fsync_dir(dir) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out_free;
	}
	rc = 0;
out_free:
	if (fd >= 0)
		close(fd);
	json_decref(rec);
	json_decref(rep);
	free(text);
	free(tmp);
	free(path);
	free(dir);
	return rc;
}

int
record_load(const char *spool_dir, const char *id, json_t **out, char *err,
    size_t errlen)
{
	char *path, *buf = NULL;
	size_t len;
	json_error_t je;

	if (!id_valid(id)) {
		snprintf(err, errlen, "\"%s\" is not a mailtest id (12 characters 0-9 A-Z)",
		    id);
		return -1;
	}
	path = xasprintf("%s/reports/%s.json", spool_dir, id);
	if (read_file(path, RECORD_MAX_FILE, &buf, &len) < 0) {
		snprintf(err, errlen, "%s: %s", path, errno == ENOENT ?
		    "no such report" : strerror(errno));
		free(path);
		return -1;
	}
	*out = json_loadb(buf, len, 0, &je);
	free(buf);
	if (*out == NULL) {
		snprintf(err, errlen, "%s: %s (line %d)", path, je.text, je.line);
		free(path);
		return -1;
	}
	free(path);
	return 0;
}
