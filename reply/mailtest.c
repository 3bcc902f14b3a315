/*
 * mailtest.c - the command-line front: `mailtest verify` (offline checks on
 * files, the same engine as the daemon), and the operator commands.
 *
 *   mailtest verify [options] FILE...   exit 0 verified, 1 unreadable or
 *                                       unparsable file, 2 usage
 *   mailtest dns-check [options] DOMAIN exit 0 no problems, 1 problems,
 *                                       2 usage or a lookup failure
 *   mailtest queue | show | flush | dkim-record   operator commands (opcmd.h)
 *   mailtest wait --tag T ...           waits for a report over HTTP (waitcmd.h)
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/config.h"
#include "../common/dns.h"
#include "../common/idn.h"
#include "../common/log.h"
#include "../common/msg.h"
#include "../common/util.h"
#include "../verify/dnscheck.h"
#include "../verify/verify.h"
#include "dnscheck_render.h"
#include "opcmd.h"
#include "report.h"
#include "waitcmd.h"

#define MAX_RCPT	1000

static const char *progname = "mailtest";

static void
usage_main(FILE *f)
{
	fprintf(f,
	    "usage: mailtest COMMAND [options]\n"
	    "\n"
	    "commands:\n"
	    "  verify       check SPF, DKIM, DMARC, ADSP and iprev on message files\n"
	    "  dns-check    check a domain's SPF, DKIM, DMARC, MX, MTA-STS, TLS-RPT,\n"
	    "               BIMI and ADSP records, and say how to fix them\n"
	    "  queue        list the incoming spool and the outbound report queue\n"
	    "  show ID      print a stored report (text, --format json or html)\n"
	    "  flush        make deferred reports due now\n"
	    "  wait         wait for the report of a tagged message (CI pipelines)\n"
	    "  dkim-record  print the DNS record for the report signing key\n"
	    "  version      print the version\n"
	    "\n"
	    "`mailtest COMMAND --help` describes each command.\n");
}

static void
usage_verify(FILE *f)
{
	fprintf(f,
	    "usage: mailtest verify [--ip ADDR] [--helo NAME] [--mail-from ADDR]\n"
	    "                       [--rcpt ADDR]... [--dns HOST[:PORT]]...\n"
	    "                       [--format text|json|ar] [-c CONFIG] FILE...\n"
	    "\n"
	    "Reads RFC 5322 messages (\"-\" for standard input) and checks them as if\n"
	    "they had arrived from ADDR, which said HELO NAME and MAIL FROM:<ADDR>.\n"
	    "Without --mail-from, the message's Return-Path: is used; \"\" is <>.\n"
	    "One file: one report.  Several files: one JSON object per line (NDJSON),\n"
	    "each with \"file\", sharing one DNS cache.\n"
	    "\n"
	    "  --ip ADDR            client IP address (IPv4 or IPv6)\n"
	    "  --helo NAME          HELO/EHLO name\n"
	    "  --mail-from ADDR     envelope sender (\"\" for the null sender)\n"
	    "  --rcpt ADDR          envelope recipient (repeatable)\n"
	    "  --dns HOST[:PORT]    DNS server to ask (repeatable; default: config,\n"
	    "                       then /etc/resolv.conf)\n"
	    "  --dns-timeout MS     per-attempt DNS timeout (default 2000)\n"
	    "  --format FMT         text, json, html or ar (Authentication-Results only)\n"
	    "  --authserv-id NAME   authserv-id for Authentication-Results\n"
	    "  --time EPOCH         verify as of this time (signature expiry)\n"
	    "  --no-domain-check    do not also check the author domain's records\n"
	    "                       (SPF tree, DKIM keys, DMARC, ... as dns-check does)\n"
	    "  -c FILE              read DNS and limits from a mailtest.conf\n"
	    "\n"
	    "Exit status: 0 every file was verified (whatever the verdicts),\n"
	    "1 a file could not be read or parsed, 2 usage error.\n");
}

enum fmt { FMT_TEXT, FMT_JSON, FMT_AR, FMT_HTML };

struct verify_opts {
	const char	*ip, *helo, *mail_from, *authserv_id, *config;
	const char	*rcpt[MAX_RCPT];
	size_t		 nrcpt;
	const char	*dns[DNS_MAX_SERVERS];
	int		 ndns;
	long		 dns_timeout;
	long		 fixed_time;
	int		 no_domain_check;
	enum fmt	 format;
	int		 format_given;
};

/* Return-Path: <x> from the message, when --mail-from was not given. */
static char *
return_path(const char *buf, size_t len)
{
	struct msg m;
	char *v = NULL, *s, *e;

	if (msg_parse(&m, buf, len, NULL) < 0)
		return NULL;
	v = msg_get_value(&m, "Return-Path");
	msg_free(&m);
	if (v == NULL)
		return NULL;
	s = strchr(v, '<');
	e = strrchr(v, '>');
	if (s && e && e > s) {
		memmove(v, s + 1, (size_t)(e - s - 1));
		v[e - s - 1] = '\0';
	}
	return v;
}

static int
verify_one(struct verify_ctx *ctx, const struct verify_opts *o, const char *file,
    int many, const char *authserv_id)
{
	struct verify_input in;
	struct verify_result res;
	struct report_meta meta = { 0 };
	char *buf = NULL, *rp = NULL, *out;
	size_t len = 0;
	int rc = 0;

	/* 64 MiB: more than any message size limit; the header limit is msg.h's */
	if (read_file(file, 64 * 1024 * 1024, &buf, &len) < 0) {
		fprintf(stderr, "%s: %s: cannot read: %s\n", progname, file,
		    errno == EFBIG ? "larger than 64 MiB" : strerror(errno));
		if (many) {
			json_t *j = json_object();
			char *s;

			json_object_set_new(j, "file", report_jstr(file));
			json_object_set_new(j, "error", json_string("cannot read"));
			s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
			puts(s);
			free(s);
			json_decref(j);
		}
		return 1;
	}
	memset(&in, 0, sizeof(in));
	in.msg = buf;
	in.msglen = len;
	in.client_ip = o->ip;
	in.helo = o->helo;
	if (o->mail_from)
		in.mail_from = o->mail_from;
	else
		in.mail_from = rp = return_path(buf, len);
	in.rcpt = o->rcpt;
	in.nrcpt = o->nrcpt;
	if (verify_run(ctx, &in, &res) < 0)
		rc = 1;
	if (res.message_error) {
		fprintf(stderr, "%s: %s: cannot parse the message: %s\n", progname,
		    file, res.message_error);
		rc = 1;
	}
	meta.authserv_id = authserv_id;
	meta.file = many ? file : NULL;
	switch (o->format) {
	case FMT_JSON:
		out = report_json_text(&res, &meta, !many);
		break;
	case FMT_AR:
		out = report_ar(&res, authserv_id, !many);
		break;
	case FMT_HTML:
		out = report_html(&res, &meta);
		break;
	default:
		out = report_text(&res, &meta);
		break;
	}
	if (many && o->format == FMT_TEXT)
		printf("==> %s <==\n", file);
	fputs(out, stdout);
	if (out[0] && out[strlen(out) - 1] != '\n')
		fputc('\n', stdout);
	free(out);
	verify_result_free(&res);
	free(rp);
	free(buf);
	return rc;
}

/* One more DNS server from the command line: -1 (said) past DNS_MAX_SERVERS. */
static int
opt_server(const char **v, int *n, const char *arg, const char *flag)
{
	if (*n == DNS_MAX_SERVERS) {
		fprintf(stderr, "%s: at most %d %s\n", progname, DNS_MAX_SERVERS, flag);
		return -1;
	}
	v[(*n)++] = arg;
	return 0;
}

/* --dns-timeout MS: -1 (said) unless 10 to 60000. */
static int
opt_dns_timeout(const char *arg, long *out)
{
	if (str_to_long(arg, 10, 60000, out) < 0) {
		fprintf(stderr, "%s: --dns-timeout: 10 to 60000 ms\n", progname);
		return -1;
	}
	return 0;
}

static int
cmd_verify(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "ip", required_argument, NULL, 'i' },
		{ "helo", required_argument, NULL, 'H' },
		{ "mail-from", required_argument, NULL, 'm' },
		{ "rcpt", required_argument, NULL, 'r' },
		{ "dns", required_argument, NULL, 'd' },
		{ "dns-timeout", required_argument, NULL, 'T' },
		{ "format", required_argument, NULL, 'f' },
		{ "authserv-id", required_argument, NULL, 'a' },
		{ "time", required_argument, NULL, 't' },
		{ "no-domain-check", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct verify_opts o;
	struct config cf;
	struct dns_config dc = { 0 };
	struct verify_config vc = { 0 };
	struct dns_resolver *dns;
	struct verify_ctx *ctx;
	char err[512];
	int c, rc = 0;

	memset(&o, 0, sizeof(o));
	o.format = FMT_TEXT;
	while ((c = getopt_long(argc, argv, "c:h", lo, NULL)) != -1) {
		long v;

		switch (c) {
		case 'i': o.ip = optarg; break;
		case 'H': o.helo = optarg; break;
		case 'm': o.mail_from = optarg; break;
		case 'a': o.authserv_id = optarg; break;
		case 'c': o.config = optarg; break;
		case 'r':
			if (o.nrcpt == MAX_RCPT) {
				fprintf(stderr, "%s: more than %d --rcpt\n", progname, MAX_RCPT);
				return 2;
			}
			o.rcpt[o.nrcpt++] = optarg;
			break;
		case 'd':
			if (opt_server(o.dns, &o.ndns, optarg, "--dns servers") < 0)
				return 2;
			break;
		case 'T':
			if (opt_dns_timeout(optarg, &o.dns_timeout) < 0)
				return 2;
			break;
		case 'N':
			o.no_domain_check = 1;
			break;
		case 't':
			if (str_to_long(optarg, 1, 4102444800L, &v) < 0) {
				fprintf(stderr, "%s: --time: seconds since 1970\n", progname);
				return 2;
			}
			o.fixed_time = v;
			break;
		case 'f':
			o.format_given = 1;
			if (strcmp(optarg, "json") == 0)
				o.format = FMT_JSON;
			else if (strcmp(optarg, "text") == 0)
				o.format = FMT_TEXT;
			else if (strcmp(optarg, "ar") == 0)
				o.format = FMT_AR;
			else if (strcmp(optarg, "html") == 0)
				o.format = FMT_HTML;
			else {
				fprintf(stderr, "%s: --format must be text, json, html or ar\n",
				    progname);
				return 2;
			}
			break;
		case 'h':
			usage_verify(stdout);
			return 0;
		default:
			usage_verify(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "%s verify: no message file given\n", progname);
		usage_verify(stderr);
		return 2;
	}
	if (o.config) {
		if (config_load(&cf, o.config, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s: %s\n", progname, err);
			config_free(&cf);
			return 2;
		}
	} else
		config_defaults(&cf);
	if (o.ndns) {
		for (int i = 0; i < o.ndns; i++)
			dc.servers[i] = o.dns[i];
		dc.nservers = o.ndns;
	} else {
		for (size_t i = 0; i < cf.dns_server.n && i < DNS_MAX_SERVERS; i++)
			dc.servers[dc.nservers++] = cf.dns_server.v[i];
	}
	dc.timeout_ms = o.dns_timeout ? (int)o.dns_timeout : (int)cf.dns_timeout_ms;
	dc.attempts = (int)cf.dns_attempts;
	dc.cache_size = (size_t)cf.dns_cache_size;
	dc.max_ttl = (uint32_t)cf.dns_max_ttl;
	if ((dns = dns_resolver_new(&dc, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s: %s\n", progname, err);
		config_free(&cf);
		return 2;
	}
	vc.dns = dns;
	vc.authserv_id = o.authserv_id ? o.authserv_id : cf.authserv_id;
	vc.public_suffix_list = cf.public_suffix_list;
	vc.dkim_max_signatures = (int)cf.dkim_max_signatures;
	vc.dkim_min_key_bits = (int)cf.dkim_min_key_bits;
	vc.fixed_time = (time_t)o.fixed_time;
	vc.domain_check = cf.domain_check && !o.no_domain_check;
	if ((ctx = verify_ctx_new(&vc, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s: %s\n", progname, err);
		dns_resolver_free(dns);
		config_free(&cf);
		return 2;
	}
	if (argc - optind > 1 && !o.format_given)
		o.format = FMT_JSON;	/* batch mode is NDJSON */
	for (int i = optind; i < argc; i++)
		if (verify_one(ctx, &o, argv[i], argc - optind > 1, vc.authserv_id) != 0)
			rc = 1;
	fflush(stdout);
	verify_ctx_free(ctx);
	dns_resolver_free(dns);
	config_free(&cf);
	return rc;
}

static void
usage_dns_check(FILE *f)
{
	fprintf(f,
	    "usage: mailtest dns-check DOMAIN [--selector S]... [--server HOST[:PORT]]\n"
	    "                          [--format text|json] [--dns-timeout MS] [-c CONFIG]\n"
	    "       mailtest dns-check --suggest-dmarc DOMAIN [same options]\n"
	    "\n"
	    "Looks up the mail authentication records of DOMAIN and reports every\n"
	    "problem with its severity (error, warning, info), what it means, and a\n"
	    "corrected record where one can be derived: SPF with its include/redirect\n"
	    "tree (DNS-querying terms against the limit of 10, void lookups against 2,\n"
	    "syntax, endings, ptr, loops, several records, type-99 records), DKIM keys\n"
	    "(type, size, t=y, revoked, syntax, records split wrongly), DMARC (every\n"
	    "tag, policy, pct, t=y, alignment, rua/ruf and whether other domains\n"
	    "agreed to receive them), ADSP (historic), MX, MTA-STS, TLS-RPT, BIMI,\n"
	    "and the DNSSEC status of each answer.\n"
	    "\n"
	    "  --selector S         DKIM selector to check (repeatable, up to %d);\n"
	    "                       none: the common ones (google, selector1,\n"
	    "                       selector2, default, k1, s1, s2, dkim, mail)\n"
	    "  --server HOST[:PORT] ask this DNS server, e.g. your provider's\n"
	    "                       authoritative server to see records before they\n"
	    "                       propagate (no cache); default: the configured\n"
	    "                       resolver (-c), then /etc/resolv.conf\n"
	    "  --format FMT         text (default) or json\n"
	    "  --suggest-dmarc      print the DMARC record to publish next and the\n"
	    "                       steps to p=reject, taking the records found into\n"
	    "                       account\n"
	    "  --dns-timeout MS     per-attempt DNS timeout (default 2000)\n"
	    "  -c FILE              read dns_server and timeouts from a mailtest.conf\n"
	    "\n"
	    "Exit status: 0 no problems (notes only), 1 problems found (an error or\n"
	    "a warning), 2 usage error, or a lookup that matters (SPF, DKIM, DMARC,\n"
	    "MX) timed out or failed (SERVFAIL): the check is incomplete.\n"
	    "With --suggest-dmarc: 0 when the suggestion was made, 2 as above.\n",
	    DNSCHECK_MAX_SELECTORS);
}

static int
cmd_dns_check(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "selector", required_argument, NULL, 's' },
		{ "server", required_argument, NULL, 'S' },
		{ "format", required_argument, NULL, 'f' },
		{ "dns-timeout", required_argument, NULL, 'T' },
		{ "suggest-dmarc", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *sel[DNSCHECK_MAX_SELECTORS], *config = NULL;
	struct dns_config dc = { 0 };
	struct verify_config vc = { 0 };
	struct dnscheck_result res;
	struct config cf;
	struct dns_resolver *dns;
	size_t nsel = 0;
	long timeout = 0;
	int c, json = 0, suggest = 0, rc;
	char err[512], *out, *alabel = NULL;

	while ((c = getopt_long(argc, argv, "c:h", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			if (nsel == DNSCHECK_MAX_SELECTORS) {
				fprintf(stderr, "%s: at most %d --selector\n", progname,
				    DNSCHECK_MAX_SELECTORS);
				return 2;
			}
			sel[nsel++] = optarg;
			break;
		case 'S':
			if (opt_server(dc.servers, &dc.nservers, optarg, "--server") < 0)
				return 2;
			break;
		case 'f':
			if (strcmp(optarg, "json") != 0 && strcmp(optarg, "text") != 0) {
				fprintf(stderr, "%s: --format must be text or json\n", progname);
				return 2;
			}
			json = strcmp(optarg, "json") == 0;
			break;
		case 'T':
			if (opt_dns_timeout(optarg, &timeout) < 0)
				return 2;
			break;
		case 'D': suggest = 1; break;
		case 'c': config = optarg; break;
		case 'h':
			usage_dns_check(stdout);
			return 0;
		default:
			usage_dns_check(stderr);
			return 2;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "%s dns-check: give exactly one DOMAIN\n", progname);
		usage_dns_check(stderr);
		return 2;
	}
	if (config == NULL)
		config_defaults(&cf);
	else if (config_load(&cf, config, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", progname, err);
		config_free(&cf);
		return 2;
	}
	/* at the given (authoritative) server, answers must be fresh */
	dc.no_cache = dc.nservers > 0;
	if (dc.nservers == 0)
		for (size_t i = 0; i < cf.dns_server.n && i < DNS_MAX_SERVERS; i++)
			dc.servers[dc.nservers++] = cf.dns_server.v[i];
	dc.timeout_ms = timeout ? (int)timeout : (int)cf.dns_timeout_ms;
	dc.attempts = (int)cf.dns_attempts;
	dc.max_ttl = (uint32_t)cf.dns_max_ttl;
	if ((dns = dns_resolver_new(&dc, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s: %s\n", progname, err);
		config_free(&cf);
		return 2;
	}
	vc.dns = dns;
	vc.public_suffix_list = cf.public_suffix_list;
	/* a domain in U-labels is checked under its A-label name (RFC 8616) */
	if (idn_to_ascii(argv[optind], &alabel, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s dns-check: %s: not a valid internationalized "
		    "domain name: %s\n", progname, argv[optind], err);
		rc = 2;
		dns_resolver_free(dns);
		config_free(&cf);
		return rc;
	}
	if (dnscheck_run(&vc, alabel ? alabel : argv[optind], sel, nsel, &res) < 0) {
		fprintf(stderr, "%s dns-check: %s\n", progname, res.error);
		rc = 2;
		goto out_free;
	}
	rc = dnscheck_exit_status(&res);
	if (json)
		out = dnscheck_render_json(&res, 1);
	else if (suggest)
		out = dnscheck_render_suggest(&res);
	else
		out = dnscheck_render_text(&res);
	puts(out);
	free(out);
	if (suggest && rc == 1)
		rc = 0;
out_free:
	dnscheck_result_free(&res);
	dns_resolver_free(dns);
	config_free(&cf);
	free(alabel);
	return rc;
}

int
main(int argc, char **argv)
{
	log_open("mailtest", 1, LOG_WARNING);
	if (argc < 2) {
		usage_main(stderr);
		return 2;
	}
	if (strcmp(argv[1], "verify") == 0)
		return cmd_verify(argc - 1, argv + 1);
	if (strcmp(argv[1], "wait") == 0)
		return waitcmd_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "dns-check") == 0)
		return cmd_dns_check(argc - 1, argv + 1);
	if (strcmp(argv[1], "queue") == 0)
		return opcmd_queue(argc - 1, argv + 1);
	if (strcmp(argv[1], "show") == 0)
		return opcmd_show(argc - 1, argv + 1);
	if (strcmp(argv[1], "flush") == 0)
		return opcmd_flush(argc - 1, argv + 1);
	if (strcmp(argv[1], "dkim-record") == 0)
		return opcmd_dkim_record(argc - 1, argv + 1);
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("mailtest %s\n", MAILTEST_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage_main(stdout);
		return 0;
	}
	fprintf(stderr, "%s: unknown command \"%s\"\n", progname, argv[1]);
	usage_main(stderr);
	return 2;
}
