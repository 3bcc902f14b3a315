/* config.c - see config.h */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "util.h"

enum ctype { CT_STR, CT_INT, CT_SIZE, CT_DURATION, CT_BOOL, CT_LIST, CT_ENUM };

struct ckey {
	const char	*name;
	enum ctype	 type;
	const char	*def;
	size_t		 off;
	long		 min, max;
	const char	*choices;	/* CT_ENUM: "a|b|c" */
};

#define F(f)	offsetof(struct config, f)
#define KB	1024L
#define MB	(1024L * 1024)
#define DAY	86400L

static const struct ckey keys[] = {
	{ "hostname", CT_STR, "", F(hostname), 0, 253, NULL },
	{ "authserv_id", CT_STR, "", F(authserv_id), 0, 253, NULL },
	{ "listen", CT_LIST, "127.0.0.1:2525", F(listen), 0, 0, NULL },
	{ "proxy_listen", CT_LIST, "", F(proxy_listen), 0, 0, NULL },
	{ "proxy_trusted", CT_LIST, "", F(proxy_trusted), 0, 0, NULL },
	{ "metrics_listen", CT_STR, "", F(metrics_listen), 0, 255, NULL },
	{ "http_listen", CT_STR, "", F(http_listen), 0, 255, NULL },
	{ "http_token", CT_STR, "", F(http_token), 0, 255, NULL },
	{ "check_address", CT_LIST, "check@localhost", F(check_address), 0, 0, NULL },
	{ "tag_separator", CT_STR, "+", F(tag_separator), 0, 1, NULL },
	{ "spool_dir", CT_STR, "./mailtest-spool", F(spool_dir), 1, PATH_MAX, NULL },
	{ "user", CT_STR, "", F(user), 0, 64, NULL },
	{ "log_level", CT_ENUM, "info", F(log_level), 0, 0, "debug|info|warning|error" },
	{ "workers", CT_INT, "4", F(workers), 1, 256, NULL },
	{ "shutdown_timeout", CT_DURATION, "30s", F(shutdown_timeout), 0, 3600, NULL },
	{ "smtp_max_line", CT_SIZE, "512", F(smtp_max_line), 512, 64 * KB, NULL },
	{ "smtp_max_text_line", CT_SIZE, "1000", F(smtp_max_text_line), 1000, 1 * MB, NULL },
	{ "message_size_limit", CT_SIZE, "10M", F(message_size_limit), 1 * KB, 1024 * MB, NULL },
	{ "smtp_max_recipients", CT_INT, "100", F(smtp_max_recipients), 1, 100000, NULL },
	{ "smtp_max_commands", CT_INT, "1000", F(smtp_max_commands), 10, 1000000, NULL },
	{ "smtp_max_bad_commands", CT_INT, "10", F(smtp_max_bad_commands), 1, 10000, NULL },
	{ "smtp_max_transactions", CT_INT, "100", F(smtp_max_transactions), 1, 100000, NULL },
	{ "smtp_idle_timeout", CT_DURATION, "300s", F(smtp_idle_timeout), 1, 3600, NULL },
	{ "smtp_data_timeout", CT_DURATION, "600s", F(smtp_data_timeout), 1, 7200, NULL },
	{ "smtp_min_data_rate", CT_SIZE, "1k", F(smtp_min_data_rate), 0, 1024 * MB, NULL },
	{ "smtp_data_rate_grace", CT_DURATION, "30s", F(smtp_data_rate_grace), 1, 3600, NULL },
	{ "smtp_max_connections", CT_INT, "500", F(smtp_max_connections), 1, 1000000, NULL },
	{ "smtp_max_connections_per_ip", CT_INT, "20", F(smtp_max_connections_per_ip), 1, 1000000, NULL },
	{ "smtp_greet_pause_ms", CT_INT, "0", F(smtp_greet_pause_ms), 0, 30000, NULL },
	{ "smtp_data_memory", CT_SIZE, "256M", F(smtp_data_memory), 1 * MB, 64L * 1024 * MB, NULL },
	{ "smtp_bare_lf", CT_ENUM, "reject", F(smtp_bare_lf), 0, 0, "reject|normalize" },
	{ "smtp_received_limit", CT_INT, "50", F(smtp_received_limit), 1, 1000, NULL },
	{ "tls", CT_BOOL, "yes", F(tls), 0, 1, NULL },
	{ "tls_cert", CT_STR, "", F(tls_cert), 0, PATH_MAX, NULL },
	{ "tls_key", CT_STR, "", F(tls_key), 0, PATH_MAX, NULL },
	{ "tls_ciphers", CT_STR, "", F(tls_ciphers), 0, 1024, NULL },
	{ "dns_server", CT_LIST, "", F(dns_server), 0, 0, NULL },
	{ "dns_timeout_ms", CT_INT, "2000", F(dns_timeout_ms), 10, 60000, NULL },
	{ "dns_attempts", CT_INT, "2", F(dns_attempts), 1, 10, NULL },
	{ "dns_cache_size", CT_INT, "20000", F(dns_cache_size), 16, 10000000, NULL },
	{ "dns_max_ttl", CT_DURATION, "1d", F(dns_max_ttl), 0, 7 * DAY, NULL },
	{ "dkim_max_signatures", CT_INT, "16", F(dkim_max_signatures), 1, 100, NULL },
	{ "dkim_min_key_bits", CT_INT, "1024", F(dkim_min_key_bits), 512, 16384, NULL },
	{ "domain_check", CT_BOOL, "yes", F(domain_check), 0, 1, NULL },
	{ "public_suffix_list", CT_STR, "/usr/share/publicsuffix/public_suffix_list.dat",
	    F(public_suffix_list), 0, PATH_MAX, NULL },
	{ "reply", CT_BOOL, "yes", F(reply), 0, 1, NULL },
	{ "report_from", CT_STR, "", F(report_from), 0, 512, NULL },
	{ "reply_tags", CT_LIST, "from, replyto", F(reply_tags), 0, 0, NULL },
	{ "reply_policy", CT_ENUM, "always", F(reply_policy), 0, 0, "always|authenticated" },
	{ "rate_per_address", CT_INT, "10", F(rate_per_address), 0, 1000000, NULL },
	{ "rate_per_domain", CT_INT, "100", F(rate_per_domain), 0, 1000000, NULL },
	{ "rate_per_ip", CT_INT, "60", F(rate_per_ip), 0, 1000000, NULL },
	{ "dkim_sign_key", CT_STR, "", F(dkim_sign_key), 0, PATH_MAX, NULL },
	{ "dkim_sign_selector", CT_STR, "mailtest", F(dkim_sign_selector), 1, 63, NULL },
	{ "dkim_sign_domain", CT_STR, "", F(dkim_sign_domain), 0, 253, NULL },
	{ "dkim_sign_algorithm", CT_ENUM, "rsa-sha256", F(dkim_sign_algorithm), 0, 0,
	    "rsa-sha256|ed25519-sha256" },
	{ "relay", CT_STR, "", F(relay), 0, 255, NULL },
	{ "relay_tls", CT_ENUM, "may", F(relay_tls), 0, 0, "none|may|require|verify" },
	{ "relay_tls_ca", CT_STR, "", F(relay_tls_ca), 0, PATH_MAX, NULL },
	{ "relay_user", CT_STR, "", F(relay_user), 0, 255, NULL },
	{ "relay_password_file", CT_STR, "", F(relay_password_file), 0, PATH_MAX, NULL },
	{ "smtp_client_tls", CT_ENUM, "may", F(smtp_client_tls), 0, 0, "none|may" },
	{ "delivery_threads", CT_INT, "2", F(delivery_threads), 1, 64, NULL },
	{ "delivery_timeout", CT_DURATION, "60s", F(delivery_timeout), 1, 3600, NULL },
	{ "retry_min", CT_DURATION, "5m", F(retry_min), 1, DAY, NULL },
	{ "retry_max", CT_DURATION, "1h", F(retry_max), 1, 7 * DAY, NULL },
	{ "queue_lifetime", CT_DURATION, "3d", F(queue_lifetime), 1, 30 * DAY, NULL },
	{ "delivery_port", CT_INT, "25", F(delivery_port), 1, 65535, NULL },
	{ "store", CT_STR, "", F(store), 0, 4096, NULL },
	{ "report_retention", CT_DURATION, "30d", F(report_retention), 60, 3650 * DAY, NULL },
};

static void *
field(struct config *c, const struct ckey *k)
{
	return (char *)c + k->off;
}

static const void *
cfield(const struct config *c, const struct ckey *k)
{
	return (const char *)c + k->off;
}

int
config_parse_bool(const char *s, int *out)
{
	if (str_caseeq(s, "yes") || str_caseeq(s, "true") || str_caseeq(s, "on") ||
	    strcmp(s, "1") == 0)
		*out = 1;
	else if (str_caseeq(s, "no") || str_caseeq(s, "false") || str_caseeq(s, "off") ||
	    strcmp(s, "0") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

static int
parse_scaled(const char *s, long *out, const char *units, const long *mult)
{
	char *end;
	long v;
	const char *u;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || v < 0)
		return -1;
	if (*end == '\0') {
		*out = v;
		return 0;
	}
	if (end[1] != '\0' || (u = strchr(units, ascii_lower((unsigned char)*end))) == NULL)
		return -1;
	if (v > LONG_MAX / mult[u - units])
		return -1;
	*out = v * mult[u - units];
	return 0;
}

int
config_parse_size(const char *s, long *out)
{
	static const long m[] = { 1024L, 1024L * 1024, 1024L * 1024 * 1024 };

	return parse_scaled(s, out, "kmg", m);
}

int
config_parse_duration(const char *s, long *out)
{
	static const long m[] = { 1, 60, 3600, 86400, 7 * 86400 };

	return parse_scaled(s, out, "smhdw", m);
}

static int
set_list(struct config_list *l, const char *value, char *err, size_t errlen)
{
	char *copy = xstrdup(value), *tok, *save = NULL;

	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	l->n = 0;
	for (tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		if (l->n == CONFIG_MAX_LIST) {
			snprintf(err, errlen, "more than %d values", CONFIG_MAX_LIST);
			free(copy);
			return -1;
		}
		l->v[l->n++] = xstrdup(tok);
	}
	free(copy);
	return 0;
}

static int
set_key(struct config *c, const struct ckey *k, const char *value, char *err,
    size_t errlen)
{
	long v;

	switch (k->type) {
	case CT_STR:
		if ((long)strlen(value) > k->max || (long)strlen(value) < k->min) {
			snprintf(err, errlen, "%s: value must be %ld to %ld characters",
			    k->name, k->min, k->max);
			return -1;
		}
		free(*(char **)field(c, k));
		*(char **)field(c, k) = xstrdup(value);
		return 0;
	case CT_ENUM: {
		const char *p = k->choices;
		size_t n = strlen(value);

		while (p) {
			const char *bar = strchr(p, '|');
			size_t l = bar ? (size_t)(bar - p) : strlen(p);

			if (l == n && strncmp(p, value, n) == 0) {
				free(*(char **)field(c, k));
				*(char **)field(c, k) = xstrdup(value);
				return 0;
			}
			p = bar ? bar + 1 : NULL;
		}
		snprintf(err, errlen, "%s: \"%s\" is not one of %s", k->name, value,
		    k->choices);
		return -1;
	}
	case CT_BOOL:
		if (config_parse_bool(value, (int *)field(c, k)) < 0) {
			snprintf(err, errlen, "%s: \"%s\" is not yes or no", k->name, value);
			return -1;
		}
		return 0;
	case CT_INT:
	case CT_SIZE:
	case CT_DURATION:
		if ((k->type == CT_INT && str_to_long(value, LONG_MIN, LONG_MAX, &v) < 0) ||
		    (k->type == CT_SIZE && config_parse_size(value, &v) < 0) ||
		    (k->type == CT_DURATION && config_parse_duration(value, &v) < 0)) {
			snprintf(err, errlen, "%s: \"%s\" is not %s", k->name, value,
			    k->type == CT_INT ? "a number" : k->type == CT_SIZE ?
			    "a size (e.g. 512, 64k, 10M)" : "a duration (e.g. 30s, 5m, 2h, 3d)");
			return -1;
		}
		if (v < k->min || v > k->max) {
			snprintf(err, errlen, "%s: %ld is out of range (%ld to %ld)",
			    k->name, v, k->min, k->max);
			return -1;
		}
		*(long *)field(c, k) = v;
		return 0;
	case CT_LIST:
		if (set_list((struct config_list *)field(c, k), value, err, errlen) < 0) {
			char tmp[256];

			str_copy(tmp, err, sizeof(tmp));
			snprintf(err, errlen, "%s: %s", k->name, tmp);
			return -1;
		}
		return 0;
	}
	return -1;
}

static const struct ckey *
find_key(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

int
config_set(struct config *c, const char *key, const char *value, char *err,
    size_t errlen)
{
	const struct ckey *k = find_key(key);

	if (k == NULL) {
		snprintf(err, errlen, "unknown key \"%s\"", key);
		return -1;
	}
	return set_key(c, k, value, err, errlen);
}

static void
derive(struct config *c)
{
	if (c->hostname[0] == '\0') {
		char h[256];

		if (gethostname(h, sizeof(h)) < 0 || h[0] == '\0')
			str_copy(h, "localhost", sizeof(h));
		h[sizeof(h) - 1] = '\0';
		free(c->hostname);
		c->hostname = xstrdup(h);
	}
	if (c->authserv_id[0] == '\0') {
		free(c->authserv_id);
		c->authserv_id = xstrdup(c->hostname);
	}
}

void
config_defaults(struct config *c)
{
	char err[256];

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (set_key(c, &keys[i], keys[i].def, err, sizeof(err)) < 0)
			fatal("built-in default: %s", err);
	derive(c);
}

/* The lines of f (named path in errors) over the defaults already in c. */
static int
load_stream(struct config *c, FILE *f, const char *path, char *err, size_t errlen)
{
	char line[CONFIG_MAX_LINE + 2], e[512];
	unsigned lineno = 0;
	char seen[ARRAY_SIZE(keys)] = { 0 };

	while (fgets(line, sizeof(line), f) != NULL) {
		char *p, *key, *val;
		const struct ckey *k;
		size_t n = strlen(line);

		lineno++;
		if (n == sizeof(line) - 1 && line[n - 1] != '\n') {
			snprintf(err, errlen, "%s:%u: line longer than %d characters",
			    path, lineno, CONFIG_MAX_LINE);
			return -1;
		}
		p = str_trim(line);
		if (*p == '\0' || *p == '#')
			continue;
		key = p;
		p += strcspn(p, " \t=");
		if (*p) {
			*p++ = '\0';
			p += strspn(p, " \t=");
		}
		val = str_trim(p);
		if (strlen(val) >= 2 && val[0] == '"' && val[strlen(val) - 1] == '"') {
			val[strlen(val) - 1] = '\0';
			val++;
		}
		if ((k = find_key(key)) == NULL) {
			snprintf(err, errlen, "%s:%u: unknown key \"%.64s\"", path, lineno, key);
			return -1;
		}
		if (seen[k - keys]) {
			snprintf(err, errlen, "%s:%u: \"%s\" is set twice", path, lineno, key);
			return -1;
		}
		seen[k - keys] = 1;
		if (set_key(c, k, val, e, sizeof(e)) < 0) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, e);
			return -1;
		}
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		return -1;
	}
	return 0;
}

/* config_defaults(), with hostname/authserv_id derived again after the file. */
static void
load_begin(struct config *c)
{
	config_defaults(c);
	c->hostname[0] = '\0';
	c->authserv_id[0] = '\0';
}

int
config_load(struct config *c, const char *path, char *err, size_t errlen)
{
	FILE *f;
	int rc;

	load_begin(c);
	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = load_stream(c, f, path, err, errlen);
	fclose(f);
	derive(c);
	return rc;
}

int
config_load_buffer(struct config *c, const char *name, const char *buf,
    size_t len, char *err, size_t errlen)
{
	FILE *f;
	int rc = 0;

	load_begin(c);
	/* an empty buffer is an empty file (fmemopen refuses size 0) */
	if (len > 0) {
		if ((f = fmemopen((void *)buf, len, "r")) == NULL) {
			snprintf(err, errlen, "%s: %s", name, strerror(errno));
			derive(c);
			return -1;
		}
		rc = load_stream(c, f, name, err, errlen);
		fclose(f);
	}
	derive(c);
	return rc;
}

void
config_free(struct config *c)
{
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		const struct ckey *k = &keys[i];

		if (k->type == CT_STR || k->type == CT_ENUM) {
			free(*(char **)field(c, k));
		} else if (k->type == CT_LIST) {
			struct config_list *l = field(c, k);

			for (size_t j = 0; j < l->n; j++)
				free(l->v[j]);
		}
	}
	memset(c, 0, sizeof(*c));
}

void
config_dump(const struct config *c, FILE *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		const struct ckey *k = &keys[i];

		fprintf(out, "%s ", k->name);
		switch (k->type) {
		case CT_STR:
		case CT_ENUM:
			fprintf(out, "%s", *(char *const *)cfield(c, k));
			break;
		case CT_BOOL:
			fprintf(out, "%s", *(const int *)cfield(c, k) ? "yes" : "no");
			break;
		case CT_INT:
		case CT_SIZE:
		case CT_DURATION:
			fprintf(out, "%ld", *(const long *)cfield(c, k));
			break;
		case CT_LIST: {
			const struct config_list *l = cfield(c, k);

			for (size_t j = 0; j < l->n; j++)
				fprintf(out, "%s%s", j ? ", " : "", l->v[j]);
			break;
		}
		}
		fputc('\n', out);
	}
}
