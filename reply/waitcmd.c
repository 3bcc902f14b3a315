/* waitcmd.c - `mailtest wait` (see waitcmd.h) */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "../common/store.h"
#include "../common/util.h"
#include "http.h"
#include "record.h"
#include "report.h"
#include "waitcmd.h"

struct url {
	char	 host[256];
	char	 port[8];
	char	 prefix[512];	/* path before /api/v1, without the final '/' */
};

struct expect {
	enum store_mech	 mech;
	char		 words[64];	/* "pass" or "pass|policy" */
};

struct wait_opts {
	const char	*tag, *token, *format;
	long		 timeout;
	struct url	 url;
	struct expect	 ex[WAIT_MAX_EXPECT];
	size_t		 nex;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: mailtest wait --tag TAG [--timeout SECONDS] [--expect LIST]\n"
	    "                     [--url http://HOST:PORT] [--token TOKEN]\n"
	    "                     [--format text|json]\n"
	    "\n"
	    "Waits until mailtestd has stored the report of a message sent to\n"
	    "check+TAG@... (or check+TAG.from@...), then checks its verdicts.\n"
	    "\n"
	    "  --tag TAG          the tag of the check address (e.g. $CI_JOB_ID)\n"
	    "  --timeout SECONDS  how long to wait in all (default %d)\n"
	    "  --expect LIST      e.g. spf=pass,dkim=pass,dmarc=pass; alternatives\n"
	    "                     with |: dkim=pass|policy.  Mechanisms: spf, dkim\n"
	    "                     (pass when any signature passed), dmarc, adsp, iprev\n"
	    "  --url URL          mailtestd's http_listen (default $MAILTEST_URL,\n"
	    "                     else %s)\n"
	    "  --token TOKEN      its http_token (default $MAILTEST_TOKEN)\n"
	    "  --format FMT       what to print on success: text (one line) or json\n"
	    "\n"
	    "Exit status:\n"
	    "  0  the report arrived and every expectation holds\n"
	    "  1  the report arrived and an expectation does not hold (the report is\n"
	    "     printed)\n"
	    "  2  usage error, connection or HTTP error (a refused token too)\n"
	    "  3  no report with that tag before the timeout\n",
	    WAIT_DEFAULT_TIMEOUT, WAIT_DEFAULT_URL);
}

/* http://HOST[:PORT][/PREFIX] */
static int
url_parse(const char *s, struct url *u)
{
	const char *p, *slash, *hend;

	memset(u, 0, sizeof(*u));
	if (strncasecmp(s, "http://", 7) != 0)
		return -1;
	p = s + 7;
	slash = strchr(p, '/');
	if (slash == NULL)
		slash = p + strlen(p);
	if (*p == '[') {
		if ((hend = memchr(p, ']', (size_t)(slash - p))) == NULL ||
		    (size_t)(hend - p - 1) >= sizeof(u->host))
			return -1;
		memcpy(u->host, p + 1, (size_t)(hend - p - 1));
		p = hend + 1;
	} else {
		hend = memchr(p, ':', (size_t)(slash - p));
		if (hend == NULL)
			hend = slash;
		if (hend == p || (size_t)(hend - p) >= sizeof(u->host))
			return -1;
		memcpy(u->host, p, (size_t)(hend - p));
		p = hend;
	}
	if (*p == ':') {
		if (slash - p - 1 < 1 || slash - p - 1 > 5 ||
		    strspn(p + 1, "0123456789") != (size_t)(slash - p - 1))
			return -1;
		memcpy(u->port, p + 1, (size_t)(slash - p - 1));
	} else if (p != slash)
		return -1;
	else
		str_copy(u->port, "80", sizeof(u->port));
	if (strlen(slash) >= sizeof(u->prefix) || strpbrk(slash, "?# \r\n") != NULL)
		return -1;
	str_copy(u->prefix, slash, sizeof(u->prefix));
	while (u->prefix[0] && u->prefix[strlen(u->prefix) - 1] == '/')
		u->prefix[strlen(u->prefix) - 1] = '\0';
	return 0;
}

static int
expect_parse(const char *list, struct wait_opts *o)
{
	char *copy = xstrdup(list), *save = NULL, *item;
	int rc = 0;

	for (item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '='), *w, *wsave = NULL, *words;
		struct expect *e;

		if (eq == NULL || o->nex == WAIT_MAX_EXPECT) {
			rc = -1;
			break;
		}
		*eq = '\0';
		e = &o->ex[o->nex];
		if (store_mech_from_name(item, &e->mech) < 0 ||
		    strlen(eq + 1) >= sizeof(e->words)) {
			rc = -1;
			break;
		}
		str_copy(e->words, eq + 1, sizeof(e->words));
		words = xstrdup(eq + 1);
		for (w = strtok_r(words, "|", &wsave); w; w = strtok_r(NULL, "|", &wsave))
			if (!store_word_valid(e->mech, w))
				rc = -1;
		free(words);
		if (rc < 0 || e->words[0] == '\0') {
			rc = -1;
			break;
		}
		o->nex++;
	}
	free(copy);
	return rc;
}

static int
token_valid(const char *t)
{
	for (; *t; t++)
		if (*t <= ' ' || *t >= 0x7f)
			return 0;
	return 1;
}

/* ---- one HTTP/1.1 GET ------------------------------------------------------------------ */

static int
wait_fd(int fd, short ev, time_t deadline)
{
	struct pollfd p = { .fd = fd, .events = ev };
	long ms = (long)(deadline - time(NULL)) * 1000;
	int rc;

	if (ms <= 0)
		return 0;
	while ((rc = poll(&p, 1, (int)ms)) < 0 && errno == EINTR)
		;
	return rc > 0;
}

static int
connect_to(const struct url *u, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai, *a;
	int fd = -1, rc, soerr;
	socklen_t sl = sizeof(soerr);

	if ((rc = getaddrinfo(u->host, u->port, &hints, &ai)) != 0) {
		snprintf(err, errlen, "%s: %s", u->host, gai_strerror(rc));
		return -1;
	}
	for (a = ai; a; a = a->ai_next) {
		fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		soerr = ETIMEDOUT;
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		if (errno != EINPROGRESS)
			soerr = errno;
		else if (wait_fd(fd, POLLOUT, time(NULL) + WAIT_CONNECT_TIMEOUT) &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
			break;
		snprintf(err, errlen, "connect to %s port %s: %s", u->host, u->port,
		    strerror(soerr));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

/* Decode a chunked body in place; -1 when malformed. */
static int
dechunk(char *b, size_t *len)
{
	size_t in = 0, out = 0;

	for (;;) {
		char *end;
		unsigned long n = strtoul(b + in, &end, 16);
		char *crlf = strstr(b + in, "\r\n");

		if (crlf == NULL || end == b + in || n > *len)
			return -1;
		in = (size_t)(crlf - b) + 2;
		if (n == 0)
			break;
		if (in + n + 2 > *len)
			return -1;
		memmove(b + out, b + in, n);
		out += n;
		in += n + 2;
	}
	*len = out;
	b[out] = '\0';
	return 0;
}

static int
http_get(const struct url *u, const char *target, const char *token, int io_timeout,
    int *status, char **body, size_t *blen, char *err, size_t errlen)
{
	struct sbuf req, resp;
	time_t deadline = time(NULL) + io_timeout;
	char buf[16384], *hdr_end, *te;
	ssize_t k;
	size_t off = 0;
	int fd, rc = -1;

	*body = NULL;
	if ((fd = connect_to(u, err, errlen)) < 0)
		return -1;
	sbuf_init(&req, 0);
	sbuf_init(&resp, (size_t)WAIT_MAX_RESPONSE);
	sbuf_printf(&req, "GET %s HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: mailtest/%s\r\n"
	    "Accept: application/json\r\nConnection: close\r\n", target, u->host, u->port,
	    MAILTEST_VERSION);
	if (token && *token)
		sbuf_printf(&req, "Authorization: Bearer %s\r\n", token);
	sbuf_adds(&req, "\r\n");
	while (off < req.len) {
		if (!wait_fd(fd, POLLOUT, deadline) ||
		    (k = write(fd, req.s + off, req.len - off)) < 0) {
			snprintf(err, errlen, "sending the request: %s", strerror(errno));
			goto out_close;
		}
		off += (size_t)k;
	}
	for (;;) {
		if (!wait_fd(fd, POLLIN, deadline)) {
			snprintf(err, errlen, "no answer from %s:%s within %ds", u->host,
			    u->port, io_timeout);
			goto out_close;
		}
		if ((k = read(fd, buf, sizeof(buf))) < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			snprintf(err, errlen, "reading the answer: %s", strerror(errno));
			goto out_close;
		}
		if (k == 0)
			break;
		sbuf_add(&resp, buf, (size_t)k);
		if (resp.overflow) {
			snprintf(err, errlen, "answer larger than %ld bytes", WAIT_MAX_RESPONSE);
			goto out_close;
		}
	}
	if (resp.len < 12 || strncmp(resp.s, "HTTP/1.", 7) != 0 ||
	    (hdr_end = strstr(resp.s, "\r\n\r\n")) == NULL) {
		snprintf(err, errlen, "not an HTTP answer from %s:%s", u->host, u->port);
		goto out_close;
	}
	*status = atoi(resp.s + 9);
	*hdr_end = '\0';
	te = strcasestr(resp.s, "\r\nTransfer-Encoding: chunked");
	*blen = resp.len - (size_t)(hdr_end + 4 - resp.s);
	*body = xmalloc(*blen + 1);
	memcpy(*body, hdr_end + 4, *blen);
	(*body)[*blen] = '\0';
	if (te && dechunk(*body, blen) < 0) {
		snprintf(err, errlen, "malformed chunked answer");
		free(*body);
		*body = NULL;
		goto out_close;
	}
	rc = 0;
out_close:
	close(fd);
	sbuf_free(&req);
	sbuf_free(&resp);
	return rc;
}

/* ---- the verdicts ------------------------------------------------------------------------ */

static int
word_in(const char *word, const char *alts)
{
	size_t n = strlen(word);

	for (const char *p = alts; p && *p; p = strchr(p, '|') ? strchr(p, '|') + 1 : NULL)
		if (strncmp(p, word, n) == 0 && (p[n] == '\0' || p[n] == '|'))
			return 1;
	return 0;
}

static void
print_text_report(json_t *rec, const char *authserv_id)
{
	struct verify_result r;
	struct report_meta m;
	char *text;

	if (report_from_json(rec, &r, &m) < 0) {
		fprintf(stderr, "mailtest: the answer is not a mailtest report\n");
		return;
	}
	m.authserv_id = authserv_id;
	text = report_text(&r, &m);
	fputs(text, stdout);
	free(text);
	m.authserv_id = NULL;
	report_loaded_free(&r, &m);
}

static int
judge(const struct wait_opts *o, json_t *rec)
{
	struct store_row row;
	const char *id = json_string_value(json_object_get(rec, "id"));
	int failed = 0;
	char *out;

	record_row_from_report(&row, id && id_valid(id) ? id : "000000000000", rec);
	for (size_t i = 0; i < o->nex; i++) {
		const char *got = row.verdict[o->ex[i].mech];

		if (got == NULL || !word_in(got, o->ex[i].words)) {
			fprintf(stderr, "mailtest: expectation failed: %s=%s (expected %s)\n",
			    store_mech_name(o->ex[i].mech), got ? got : "missing",
			    o->ex[i].words);
			failed = 1;
		}
	}
	if (failed)
		print_text_report(rec, NULL);
	else if (strcmp(o->format, "json") == 0) {
		out = json_dumps(rec, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
		    JSON_REAL_PRECISION(6));
		puts(out ? out : "null");
		free(out);
	} else {
		printf("mailtest: %s", id ? id : "?");
		for (int m = 0; m < STORE_NMECH; m++)
			printf(" %s=%s", store_mech_name((enum store_mech)m),
			    row.verdict[m] ? row.verdict[m] : "-");
		printf("%s\n", o->nex ? ": expectations hold" : "");
	}
	record_row_clear(&row);
	return failed ? WAIT_EXPECT_FAILED : WAIT_OK;
}

/* ---- the command --------------------------------------------------------------------------- */

static int
parse_args(int argc, char **argv, struct wait_opts *o)
{
	static const struct option lo[] = {
		{ "tag", required_argument, NULL, 't' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "expect", required_argument, NULL, 'e' },
		{ "url", required_argument, NULL, 'u' },
		{ "token", required_argument, NULL, 'k' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *url = getenv("MAILTEST_URL"), *expect = NULL;
	int c;

	memset(o, 0, sizeof(*o));
	o->timeout = WAIT_DEFAULT_TIMEOUT;
	o->token = getenv("MAILTEST_TOKEN");
	o->format = "text";
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 't': o->tag = optarg; break;
		case 'T':
			if (str_to_long(optarg, 0, WAIT_MAX_TIMEOUT, &o->timeout) < 0) {
				fprintf(stderr, "mailtest: --timeout: 0 to %d seconds\n",
				    WAIT_MAX_TIMEOUT);
				return -1;
			}
			break;
		case 'e': expect = optarg; break;
		case 'u': url = optarg; break;
		case 'k': o->token = optarg; break;
		case 'f': o->format = optarg; break;
		case 'h': usage(stdout); return 1;
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc || o->tag == NULL) {
		usage(stderr);
		return -1;
	}
	if (!store_tag_valid(o->tag)) {
		fprintf(stderr, "mailtest: --tag: 1 to %d characters of A-Z a-z 0-9 . _ = -\n",
		    STORE_TAG_MAX);
		return -1;
	}
	if (url_parse(url && *url ? url : WAIT_DEFAULT_URL, &o->url) < 0) {
		fprintf(stderr, "mailtest: --url: expected http://HOST[:PORT][/PATH]\n");
		return -1;
	}
	if (o->token && !token_valid(o->token)) {
		fprintf(stderr, "mailtest: --token: no spaces or control characters\n");
		return -1;
	}
	if (expect && expect_parse(expect, o) < 0) {
		fprintf(stderr, "mailtest: --expect: MECH=RESULT[|RESULT],... with MECH "
		    "spf, dkim, dmarc, adsp or iprev and its RFC 8601 result words\n");
		return -1;
	}
	if (strcmp(o->format, "text") != 0 && strcmp(o->format, "json") != 0) {
		fprintf(stderr, "mailtest: --format: text or json\n");
		return -1;
	}
	return 0;
}

/* One long-poll: WAIT_OK with *rec, WAIT_TIMEOUT, or WAIT_ERROR. */
static int
poll_once(const struct wait_opts *o, long secs, json_t **rec)
{
	char target[1024], err[512], *body;
	size_t blen;
	json_error_t je;
	int status;

	struct sbuf t;

	sbuf_init(&t, sizeof(target));
	sbuf_printf(&t, "%s/api/v1/wait?tag=", o->url.prefix);
	for (const char *p = o->tag; *p; p++)	/* the tag charset: only '=' needs it */
		sbuf_adds(&t, *p == '=' ? "%3D" : (char[2]){ *p, '\0' });
	sbuf_printf(&t, "&timeout=%ld", secs);
	str_copy(target, sbuf_str(&t), sizeof(target));
	sbuf_free(&t);
	if (http_get(&o->url, target, o->token, (int)secs + WAIT_IO_SLACK, &status, &body,
	    &blen, err, sizeof(err)) < 0) {
		fprintf(stderr, "mailtest: %s\n", err);
		return WAIT_ERROR;
	}
	if (status == 204) {
		free(body);
		return WAIT_TIMEOUT;
	}
	if (status != 200) {
		json_t *e = json_loadb(body, blen, 0, &je);
		const char *msg = json_string_value(json_object_get(e, "error"));

		fprintf(stderr, "mailtest: HTTP %d from %s:%s%s%s\n", status, o->url.host,
		    o->url.port, msg ? ": " : "", msg ? msg : "");
		json_decref(e);
		free(body);
		return WAIT_ERROR;
	}
	*rec = json_loadb(body, blen, 0, &je);
	free(body);
	if (*rec == NULL || !json_is_object(*rec)) {
		fprintf(stderr, "mailtest: the answer is not JSON: %s\n", je.text);
		json_decref(*rec);
		return WAIT_ERROR;
	}
	return WAIT_OK;
}

int
waitcmd_main(int argc, char **argv)
{
	struct wait_opts o;
	json_t *rec = NULL;
	time_t deadline;
	int rc;

	if ((rc = parse_args(argc, argv, &o)) != 0)
		return rc > 0 ? WAIT_OK : WAIT_ERROR;
	deadline = time(NULL) + o.timeout;
	for (;;) {
		long left = (long)(deadline - time(NULL));

		if (left < 0)
			left = 0;
		rc = poll_once(&o, left > HTTP_WAIT_MAX ? HTTP_WAIT_MAX : left, &rec);
		if (rc != WAIT_TIMEOUT || time(NULL) >= deadline)
			break;
	}
	if (rc == WAIT_TIMEOUT) {
		fprintf(stderr, "mailtest: no report with tag %s within %lds\n", o.tag,
		    o.timeout);
		return WAIT_TIMEOUT;
	}
	if (rc != WAIT_OK)
		return rc;
	rc = judge(&o, rec);
	json_decref(rec);
	return rc;
}
