/*
 * replyq - test driver for the reply side, standing in for the daemon's
 * worker: loads messages and their envelope, runs verify_run() and
 * reply_process() on each, then runs the delivery threads until the queue
 * is in the state asked for or a deadline passes.
 *
 *   replyq -c CONFIG [--ip A] [--helo H] [--mail-from M] [--rcpt R]
 *          [--tag T] [--id ID] [--port N] [--tls-protocol P --tls-cipher C]
 *          [--received RFC3339] [--time EPOCH] [--wait all|due|none]
 *          [--deadline S] [--threads N] [MSG...]
 *
 * --threads N  run verify_run()/reply_process() on N threads at once, as
 *              the daemon's worker pool does (each thread its own verify_ctx)
 * --wait all   until no report is queued (delivered or given up)
 * --wait due   until nothing is due (deferred reports may remain)
 * --wait none  do not start the delivery threads
 * Prints "ID" per message (in order).  Exit 0 when the wait ended as
 * asked, 3 on the deadline, 1 on an error, 2 on usage.
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../common/config.h"
#include "../../common/dns.h"
#include "../../common/log.h"
#include "../../common/spool.h"
#include "../../common/util.h"
#include "../../reply/reply.h"
#include "../../reply/signer.h"
#include "../../verify/verify.h"

struct opts {
	const char	*config, *ip, *helo, *mail_from, *rcpt, *tag, *id;
	const char	*tls_protocol, *tls_cipher, *received, *wait;
	long		 port, deadline, fixed_time, threads;
};

struct worker {
	struct reply_ctx	*rc;
	const struct verify_config *vcf;
	const struct opts	*o;
	char			**files;
	int			 nfiles, next, failed;
	pthread_mutex_t		 mu;
};

static int
process_one(struct reply_ctx *rc, struct verify_ctx *vc, const struct opts *o,
    const char *file)
{
	struct spool_env env = { 0 };
	struct verify_input in = { 0 };
	struct verify_result res;
	const char *rcpts[1] = { o->rcpt };
	char *msg;
	size_t len;
	int r;

	if (read_file(file, 64 * 1024 * 1024, &msg, &len) < 0) {
		perror(file);
		return -1;
	}
	if (o->id)
		str_copy(env.id, o->id, sizeof(env.id));
	else
		id_new(env.id);
	env.received = (char *)(o->received ? o->received : "2026-11-26T12:00:00Z");
	env.client_ip = (char *)o->ip;
	env.client_port = (int)o->port;
	env.helo = (char *)o->helo;
	env.mail_from = (char *)(o->mail_from ? o->mail_from : "");
	env.rcpt = (char **)rcpts;
	env.nrcpt = 1;
	env.tag = (char *)o->tag;
	env.tls_protocol = (char *)o->tls_protocol;
	env.tls_cipher = (char *)o->tls_cipher;
	in.msg = msg;
	in.msglen = len;
	in.client_ip = o->ip;
	in.helo = o->helo;
	in.mail_from = env.mail_from;
	in.rcpt = rcpts;
	in.nrcpt = 1;
	verify_run(vc, &in, &res);
	r = reply_process(rc, &env, msg, len, &res);
	verify_result_free(&res);
	free(msg);
	if (r == 0)
		printf("%s\n", env.id);
	fflush(stdout);
	return r;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct verify_ctx *vc;
	char err[256];

	if ((vc = verify_ctx_new(w->vcf, err, sizeof(err))) == NULL) {
		fprintf(stderr, "replyq: %s\n", err);
		pthread_mutex_lock(&w->mu);
		w->failed = 1;
		pthread_mutex_unlock(&w->mu);
		return NULL;
	}
	for (;;) {
		int i;

		pthread_mutex_lock(&w->mu);
		i = w->next < w->nfiles ? w->next++ : -1;
		pthread_mutex_unlock(&w->mu);
		if (i < 0)
			break;
		if (process_one(w->rc, vc, w->o, w->files[i]) < 0) {
			pthread_mutex_lock(&w->mu);
			w->failed = 1;
			pthread_mutex_unlock(&w->mu);
		}
	}
	verify_ctx_free(vc);
	return NULL;
}

static int
process_parallel(struct reply_ctx *rc, const struct verify_config *vcf,
    const struct opts *o, char **files, int n)
{
	struct worker w = { .rc = rc, .vcf = vcf, .o = o, .files = files, .nfiles = n };
	pthread_t t[64];
	int k = o->threads > 64 ? 64 : (int)o->threads;

	pthread_mutex_init(&w.mu, NULL);
	for (int i = 0; i < k; i++)
		pthread_create(&t[i], NULL, worker_main, &w);
	for (int i = 0; i < k; i++)
		pthread_join(t[i], NULL);
	pthread_mutex_destroy(&w.mu);
	return w.failed ? -1 : 0;
}

static int
wait_queue(struct reply_ctx *rc, const struct opts *o)
{
	time_t end = time(NULL) + o->deadline;
	int all = strcmp(o->wait, "all") == 0;

	if (reply_start(rc) < 0)
		return 1;
	for (;;) {
		size_t n = all ? reply_pending(rc) : reply_due(rc);

		if (n == 0)
			break;
		if (time(NULL) >= end) {
			fprintf(stderr, "replyq: deadline: %zu report(s) still queued\n", n);
			reply_stop(rc);
			return 3;
		}
		usleep(20000);
	}
	reply_stop(rc);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "ip", required_argument, NULL, 'i' }, { "helo", required_argument, NULL, 'H' },
		{ "mail-from", required_argument, NULL, 'm' },
		{ "rcpt", required_argument, NULL, 'r' }, { "tag", required_argument, NULL, 'T' },
		{ "id", required_argument, NULL, 'I' }, { "port", required_argument, NULL, 'p' },
		{ "tls-protocol", required_argument, NULL, 'P' },
		{ "tls-cipher", required_argument, NULL, 'C' },
		{ "received", required_argument, NULL, 'R' },
		{ "time", required_argument, NULL, 't' }, { "wait", required_argument, NULL, 'w' },
		{ "deadline", required_argument, NULL, 'd' },
		{ "threads", required_argument, NULL, 'n' }, { NULL, 0, NULL, 0 }
	};
	struct opts o = { .rcpt = "check@localhost", .wait = "all", .deadline = 30 };
	struct config cf;
	struct dns_config dc = { 0 };
	struct signer_user su = { 0 };
	struct verify_config vcf = { 0 };
	struct dns_resolver *dns;
	struct verify_ctx *vc;
	struct reply_ctx *rc;
	char err[512];
	int c, status = 0;

	while ((c = getopt_long(argc, argv, "c:", lo, NULL)) != -1) {
		switch (c) {
		case 'c': o.config = optarg; break;
		case 'i': o.ip = optarg; break;
		case 'H': o.helo = optarg; break;
		case 'm': o.mail_from = optarg; break;
		case 'r': o.rcpt = optarg; break;
		case 'T': o.tag = optarg; break;
		case 'I': o.id = optarg; break;
		case 'p': o.port = atol(optarg); break;
		case 'P': o.tls_protocol = optarg; break;
		case 'C': o.tls_cipher = optarg; break;
		case 'R': o.received = optarg; break;
		case 't': o.fixed_time = atol(optarg); break;
		case 'w': o.wait = optarg; break;
		case 'd': o.deadline = atol(optarg); break;
		case 'n': o.threads = atol(optarg); break;
		default:
			fprintf(stderr, "replyq: see the comment at the top of tests/unit/replyq.c\n");
			return 2;
		}
	}
	if (o.config == NULL || (o.id && argc - optind > 1)) {
		fprintf(stderr, "replyq: -c CONFIG is required; --id takes one message\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	log_open("replyq", 1, LOG_DEBUG);
	if (config_load(&cf, o.config, err, sizeof(err)) < 0) {
		fprintf(stderr, "replyq: %s\n", err);
		config_free(&cf);
		return 2;
	}
	for (size_t i = 0; i < cf.dns_server.n && i < DNS_MAX_SERVERS; i++)
		dc.servers[dc.nservers++] = cf.dns_server.v[i];
	dc.timeout_ms = (int)cf.dns_timeout_ms;
	dc.attempts = (int)cf.dns_attempts;
	if ((dns = dns_resolver_new(&dc, err, sizeof(err))) == NULL) {
		fprintf(stderr, "replyq: %s\n", err);
		config_free(&cf);
		return 1;
	}
	vcf.dns = dns;
	vcf.authserv_id = cf.authserv_id;
	vcf.public_suffix_list = cf.public_suffix_list;
	vcf.fixed_time = (time_t)o.fixed_time;
	vcf.domain_check = cf.domain_check;
	vc = verify_ctx_new(&vcf, err, sizeof(err));
	rc = vc ? reply_ctx_new(&cf, dns, err, sizeof(err)) : NULL;
	if (rc != NULL && reply_signer_start(rc, &cf, &su, err, sizeof(err)) < 0) {
		reply_ctx_free(rc);
		rc = NULL;
	}
	if (rc == NULL) {
		fprintf(stderr, "replyq: %s\n", err);
		verify_ctx_free(vc);
		dns_resolver_free(dns);
		config_free(&cf);
		return 1;
	}
	if (o.threads > 1) {
		if (process_parallel(rc, &vcf, &o, argv + optind, argc - optind) < 0)
			status = 1;
	} else
		for (int i = optind; i < argc; i++)
			if (process_one(rc, vc, &o, argv[i]) < 0)
				status = 1;
	if (status == 0 && strcmp(o.wait, "none") != 0)
		status = wait_queue(rc, &o);
	reply_ctx_free(rc);
	verify_ctx_free(vc);
	dns_resolver_free(dns);
	config_free(&cf);
	return status;
}
