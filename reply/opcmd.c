/* opcmd.c - see opcmd.h */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/config.h"
#include "../common/store.h"
#include "../common/util.h"
#include "deliver.h"
#include "dkimsign.h"
#include "opcmd.h"
#include "outq.h"
#include "record.h"
#include "reply.h"
#include "report.h"
#include "textfmt.h"

#define DEFAULT_CONFIG	SYSCONFDIR "/mailtest/mailtest.conf"
#define SPOOL_HEAD_MAX	4096	/* bytes of an incoming spool file read for `queue` */

/* -c CONFIG (or the default file, or the built-in defaults); -1 on error. */
static int
load_config(struct config *cf, const char *path)
{
	char err[512];

	if (path == NULL && access(DEFAULT_CONFIG, R_OK) == 0)
		path = DEFAULT_CONFIG;
	if (path == NULL) {
		config_defaults(cf);
		return 0;
	}
	if (config_load(cf, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "mailtest: %s\n", err);
		config_free(cf);
		return -1;
	}
	return 0;
}

/* Common option parsing: -c CONFIG and, for show, --format. */
static int
parse_opts(int argc, char **argv, const char **config, const char **format,
    const char *usage)
{
	static const struct option lo[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:f:h", lo, NULL)) != -1) {
		switch (c) {
		case 'c':
			*config = optarg;
			break;
		case 'f':
			if (format == NULL)
				goto out_usage;
			*format = optarg;
			break;
		case 'h':
			printf("usage: %s\n", usage);
			return 1;
		default:
			goto out_usage;
		}
	}
	return 0;
out_usage:
	fprintf(stderr, "usage: %s\n", usage);
	return 2;
}

static void
format_when(time_t t, time_t now, char *buf, size_t n)
{
	long d = (long)(t - now);

	if (t <= now)
		snprintf(buf, n, "now");
	else if (d < 120)
		snprintf(buf, n, "in %lds", d);
	else if (d < 7200)
		snprintf(buf, n, "in %ldm%02lds", d / 60, d % 60);
	else
		snprintf(buf, n, "in %ldh%02ldm", d / 3600, (d % 3600) / 60);
}

/* Incoming spool: files named by an id; the "mail_from"-like key if found. */
static void
list_incoming(const char *spool)
{
	char *dir = xasprintf("%s/incoming", spool);
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	printf("Incoming spool (%s):\n", dir);
	while (d && (de = readdir(d)) != NULL) {
		char *path, head[SPOOL_HEAD_MAX + 1], *from, *clean;
		struct stat st;
		ssize_t k;
		int fd;

		if (!id_valid(de->d_name))
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		head[0] = '\0';
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
			k = read(fd, head, SPOOL_HEAD_MAX);
			head[k > 0 ? k : 0] = '\0';
			close(fd);
		}
		from = strstr(head, "\nmail_from: ");
		if (from == NULL)
			from = strstr(head, "\nmail-from: ");
		if (from) {
			from += 12;
			from[strcspn(from, "\n")] = '\0';
		}
		clean = textfmt_clean(from ? from : "?", 200, 0);
		stat(path, &st);
		printf("  %s  %8lld bytes  from <%s>\n", de->d_name, (long long)st.st_size,
		    clean);
		free(clean);
		free(path);
		n++;
	}
	if (d)
		closedir(d);
	printf("  %zu message(s) waiting for verification\n", n);
	free(dir);
}

static void
list_outbound(const char *spool, time_t now)
{
	char *dir = xasprintf("%s/outbound", spool), err[256], when[32];
	char **ids;
	size_t n;

	printf("\nOutbound queue (%s):\n", dir);
	if (outq_list(dir, &ids, &n) < 0) {
		printf("  cannot read: %s\n", strerror(errno));
		free(dir);
		return;
	}
	if (n)
		printf("  %-12s  %-8s  %-10s  %s\n", "ID", "attempts", "next try", "recipient");
	for (size_t i = 0; i < n; i++) {
		struct outq_entry e;
		char *path = xasprintf("%s/%s", dir, ids[i]), *c;

		if (outq_read(path, &e, 0, err, sizeof(err)) < 0) {
			printf("  %-12s  unreadable: %s\n", ids[i], err);
			free(path);
			continue;
		}
		format_when(e.next_try, now, when, sizeof(when));
		c = textfmt_clean(e.rcpt, 200, 0);
		printf("  %-12s  %-8d  %-10s  <%s>\n", e.id, e.attempts, when, c);
		free(c);
		if (e.last_error) {
			c = textfmt_clean(e.last_error, 300, 0);
			printf("  %-12s  last error: %s\n", "", c);
			free(c);
		}
		outq_entry_free(&e);
		free(path);
	}
	printf("  %zu report(s) queued\n", n);
	outq_list_free(ids, n);
	free(dir);
}

int
opcmd_queue(int argc, char **argv)
{
	const char *config = NULL;
	struct config cf;
	int rc;

	if ((rc = parse_opts(argc, argv, &config, NULL, "mailtest queue [-c CONFIG]")))
		return rc == 1 ? 0 : rc;
	if (load_config(&cf, config) < 0)
		return 1;
	list_incoming(cf.spool_dir);
	list_outbound(cf.spool_dir, time(NULL));
	config_free(&cf);
	return 0;
}

int
opcmd_flush(int argc, char **argv)
{
	const char *config = NULL;
	struct config cf;
	char *dir, *marker, err[256], **ids;
	size_t n, made = 0;
	int rc, fd;
	time_t now = time(NULL);

	if ((rc = parse_opts(argc, argv, &config, NULL, "mailtest flush [-c CONFIG]")))
		return rc == 1 ? 0 : rc;
	if (load_config(&cf, config) < 0)
		return 1;
	dir = xasprintf("%s/outbound", cf.spool_dir);
	if (outq_list(dir, &ids, &n) < 0) {
		fprintf(stderr, "mailtest: %s: %s\n", dir, strerror(errno));
		free(dir);
		config_free(&cf);
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		struct outq_entry e;

		if ((fd = outq_lock(dir, ids[i], 1)) < 0)
			continue;	/* delivered meanwhile */
		if (outq_read_fd(fd, &e, 1, err, sizeof(err)) == 0) {
			if (e.next_try > now) {
				e.next_try = now;
				if (outq_update_locked(dir, fd, &e, err, sizeof(err)) < 0)
					fprintf(stderr, "mailtest: %s: %s\n", ids[i], err);
				else
					made++;
			}
			outq_entry_free(&e);
		}
		close(fd);
	}
	outq_list_free(ids, n);
	/* a running mailtestd notices the marker within a second */
	marker = xasprintf("%s/%s", dir, DELIVER_FLUSH_FILE);
	if ((fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0640)) >= 0)
		close(fd);
	printf("%zu deferred report(s) made due now; a running mailtestd tries "
	    "them within a second\n", made);
	free(marker);
	free(dir);
	config_free(&cf);
	return 0;
}

static void
show_reply(json_t *rec, const char *spool, const char *id)
{
	json_t *rep = json_object_get(rec, "reply");
	const char *keys[] = { "status", "reason", "detail", "to", "chosen_by", "at" };
	const char *labels[] = { "Status", "Reason", "Detail", "To", "Chosen by", "At" };
	char *path = xasprintf("%s/outbound/%s", spool, id), err[256], when[32];
	struct outq_entry e;

	printf("\nReply\n-----\n");
	for (size_t i = 0; rep && i < ARRAY_SIZE(keys); i++) {
		const char *v = json_string_value(json_object_get(rep, keys[i]));
		char *c;

		if (v == NULL)
			continue;
		c = textfmt_clean(v, 300, 0);
		printf("  %-14s %s\n", labels[i], c);
		free(c);
	}
	if (outq_read(path, &e, 0, err, sizeof(err)) == 0) {
		format_when(e.next_try, time(NULL), when, sizeof(when));
		printf("  %-14s queued, %d attempt(s), next try %s\n", "Delivery", e.attempts,
		    when);
		if (e.last_error) {
			char *c = textfmt_clean(e.last_error, 300, 0);

			printf("  %-14s %s\n", "Last error", c);
			free(c);
		}
		outq_entry_free(&e);
	} else if (json_string_value(json_object_get(rep, "status")) &&
	    strcmp(json_string_value(json_object_get(rep, "status")), "queued") == 0) {
		json_t *del = json_object_get(rep, "delivery");
		const char *state = json_string_value(json_object_get(del, "state"));
		const char *detail = json_string_value(json_object_get(del, "detail"));
		char *c = textfmt_clean(detail ? detail : "", 300, 0);

		printf("  %-14s %s after %lld attempt(s)%s%s\n", "Delivery",
		    state ? state : "unknown",
		    (long long)json_integer_value(json_object_get(del, "attempts")),
		    *c ? ": " : "", c);
		free(c);
	}
	free(path);
}

int
opcmd_show(int argc, char **argv)
{
	const char *config = NULL, *format = "text";
	struct config cf;
	struct verify_result r;
	struct report_meta m;
	json_t *rec;
	char err[512], *out;
	int rc;

	if ((rc = parse_opts(argc, argv, &config, &format,
	    "mailtest show ID [-c CONFIG] [--format text|json|html]")))
		return rc == 1 ? 0 : rc;
	if (optind != argc - 1 || (strcmp(format, "text") && strcmp(format, "json") &&
	    strcmp(format, "html"))) {
		fprintf(stderr, "usage: mailtest show ID [-c CONFIG] [--format text|json|html]\n");
		return 2;
	}
	if (load_config(&cf, config) < 0)
		return 1;
	if (!id_valid(argv[optind])) {
		fprintf(stderr, "mailtest: \"%s\" is not a mailtest id (12 characters "
		    "0-9 A-Z)\n", argv[optind]);
		config_free(&cf);
		return 1;
	}
	if (record_open(&cf, STORE_NOCREATE, err, sizeof(err)) < 0) {
		fprintf(stderr, "mailtest: %s: no such report (%s)\n", argv[optind], err);
		config_free(&cf);
		return 1;
	}
	if (record_load(cf.spool_dir, argv[optind], &rec, err, sizeof(err)) < 0) {
		fprintf(stderr, "mailtest: %s\n", err);
		record_close(cf.spool_dir);
		config_free(&cf);
		return 1;
	}
	if (strcmp(format, "json") == 0) {
		out = json_dumps(rec, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
		    JSON_REAL_PRECISION(6));
		puts(out ? out : "null");
		free(out);
	} else if (report_from_json(rec, &r, &m) < 0) {
		fprintf(stderr, "mailtest: %s: not a mailtest report\n", argv[optind]);
		rc = 1;
	} else {
		m.authserv_id = cf.authserv_id;
		out = strcmp(format, "html") == 0 ? report_html(&r, &m) : report_text(&r, &m);
		fputs(out, stdout);
		free(out);
		if (strcmp(format, "text") == 0)
			show_reply(rec, cf.spool_dir, argv[optind]);
		m.authserv_id = NULL;
		report_loaded_free(&r, &m);
	}
	json_decref(rec);
	record_close(cf.spool_dir);
	config_free(&cf);
	return rc;
}

int
opcmd_dkim_record(int argc, char **argv)
{
	const char *config = NULL;
	struct config cf;
	struct dkimsign_config dc;
	struct dkimsign *ds;
	char domain[256], err[512], *zone;
	int rc;

	if ((rc = parse_opts(argc, argv, &config, NULL, "mailtest dkim-record [-c CONFIG]")))
		return rc == 1 ? 0 : rc;
	if (load_config(&cf, config) < 0)
		return 1;
	reply_sign_domain(&cf, domain, sizeof(domain));
	dc.key_path = cf.dkim_sign_key;
	dc.spool_dir = cf.spool_dir;
	dc.selector = cf.dkim_sign_selector;
	dc.domain = domain;
	dc.algorithm = cf.dkim_sign_algorithm;
	if (mkdir(cf.spool_dir, 0750) < 0 && errno != EEXIST) {
		fprintf(stderr, "mailtest: %s: %s\n", cf.spool_dir, strerror(errno));
		config_free(&cf);
		return 1;
	}
	if ((ds = dkimsign_new(&dc, err, sizeof(err))) == NULL) {
		fprintf(stderr, "mailtest: %s\n", err);
		config_free(&cf);
		return 1;
	}
	zone = dkimsign_zone_line(ds);
	printf("; report signing key (%s): %s%s\n", cf.dkim_sign_algorithm,
	    dkimsign_key_path(ds), dkimsign_generated(ds) ? " (generated now)" : "");
	printf("; publish this TXT record (its strings are joined without spaces):\n");
	printf("%s\n", zone);
	free(zone);
	dkimsign_free(ds);
	config_free(&cf);
	return 0;
}
