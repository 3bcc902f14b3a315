/*
 * mailtestd.c - the SMTP daemon: mailtestd [-c FILE] [-f] [-n]
 *
 *   -c FILE  configuration (default: the embedded defaults)
 *   -f       stay in the foreground and log to stderr
 *   -n       print the effective configuration and exit
 *
 * Start-up order (STYLE 11): read the configuration, open the spool, read
 * (or make) the TLS key, bind the listeners, set up the DNS resolver and the
 * reply side (which opens the report store), bind the HTTP listener, then
 * drop privileges, then start the threads (spool writer, workers, reply,
 * store pruner, HTTP) and enter the event loop.  Exit status 0 after SIGTERM,
 * 1 when start-up fails, 2 on usage errors.
 */
#include <errno.h>
#include <limits.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <openssl/ssl.h>
#include <systemd/sd-daemon.h>

#include "../common/config.h"
#include "../common/dns.h"
#include "../common/log.h"
#include "../common/metrics.h"
#include "../common/spool.h"
#include "../common/store.h"
#include "../common/util.h"
#include "../reply/http.h"
#include "../reply/record.h"
#include "../reply/reply.h"
#include "../reply/signer.h"
#include "metrics_http.h"
#include "server.h"
#include "spooler.h"
#include "tls.h"
#include "workers.h"

struct daemon_user {
	int	 drop;		/* started as root with `user` set */
	uid_t	 uid;
	gid_t	 gid;
	char	 name[65];
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: mailtestd [-c FILE] [-f] [-n]\n"
	    "  -c FILE  configuration file (default: embedded defaults)\n"
	    "  -f       foreground, log to stderr\n"
	    "  -n       print the effective configuration and exit\n");
}

static int
daemon_user_lookup(const struct config *cf, struct daemon_user *u, char *err, size_t errlen)
{
	struct passwd *pw;

	memset(u, 0, sizeof(*u));
	if (cf->user[0] == '\0') {
		if (geteuid() == 0)
			log_warn("-", "mailtestd", "running as root: set `user` to drop "
			    "privileges");
		return 0;
	}
	errno = 0;
	if ((pw = getpwnam(cf->user)) == NULL) {
		snprintf(err, errlen, "user \"%s\" does not exist%s", cf->user,
		    geteuid() == 0 ? ": refusing to run as root" : "");
		return -1;
	}
	if (geteuid() != 0) {
		if (pw->pw_uid != geteuid())
			log_warn("-", "mailtestd", "not started as root: user=%s ignored",
			    cf->user);
		return 0;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "user \"%s\" is root", cf->user);
		return -1;
	}
	u->drop = 1;
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	str_copy(u->name, cf->user, sizeof(u->name));
	return 0;
}

static const struct daemon_user *daemon_chown_user;
static const char *daemon_chown_skip[2];

static int
daemon_chown_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	/* the TLS key and a generated report-signing key stay root's */
	if (type == FTW_D && (strcmp(path, daemon_chown_skip[0]) == 0 ||
	    strcmp(path, daemon_chown_skip[1]) == 0))
		return FTW_SKIP_SUBTREE;
	if (lchown(path, daemon_chown_user->uid, daemon_chown_user->gid) < 0)
		log_warn("-", "mailtestd", "chown %s: %s", path, strerror(errno));
	return FTW_CONTINUE;
}

/* The spool belongs to the unprivileged user (except tls/ and dkim/). */
static void
daemon_spool_chown(const char *dir, const struct daemon_user *u)
{
	char *tls = xasprintf("%s/tls", dir), *dkim = xasprintf("%s/dkim", dir);

	daemon_chown_user = u;
	daemon_chown_skip[0] = tls;
	daemon_chown_skip[1] = dkim;
	nftw(dir, daemon_chown_one, 16, FTW_PHYS | FTW_ACTIONRETVAL);
	free(tls);
	free(dkim);
}

static int
daemon_drop_privileges(const struct daemon_user *u, char *err, size_t errlen)
{
	if (setgroups(1, &u->gid) < 0 || setgid(u->gid) < 0 || setuid(u->uid) < 0) {
		snprintf(err, errlen, "dropping privileges to %s: %s", u->name, strerror(errno));
		return -1;
	}
	if (setuid(0) == 0) {
		snprintf(err, errlen, "could regain root after dropping privileges");
		return -1;
	}
	log_info("-", "mailtestd", "privileges user=%s uid=%u gid=%u", u->name,
	    (unsigned)u->uid, (unsigned)u->gid);
	return 0;
}

static struct dns_resolver *
daemon_resolver_new(const struct config *cf, char *err, size_t errlen)
{
	struct dns_config dc;

	memset(&dc, 0, sizeof(dc));
	if (cf->dns_server.n > DNS_MAX_SERVERS) {
		snprintf(err, errlen, "dns_server: at most %d servers", DNS_MAX_SERVERS);
		return NULL;
	}
	for (size_t i = 0; i < cf->dns_server.n; i++)
		dc.servers[dc.nservers++] = cf->dns_server.v[i];
	dc.timeout_ms = (int)cf->dns_timeout_ms;
	dc.attempts = (int)cf->dns_attempts;
	dc.cache_size = (size_t)cf->dns_cache_size;
	dc.max_ttl = (uint32_t)cf->dns_max_ttl;
	return dns_resolver_new(&dc, err, errlen);
}

/* Messages accepted before a crash or a stop and not finished. */
static void
daemon_recover(struct spool *spool, struct workers *w)
{
	char **ids;
	size_t n, i;

	if (spool_list(spool, &ids, &n) < 0) {
		log_err("-", "mailtestd", "spool list: %s", strerror(errno));
		return;
	}
	metrics_set(METRIC_SPOOL_MESSAGES, (int64_t)n);
	for (i = 0; i < n; i++) {
		workers_submit(w, ids[i]);
		free(ids[i]);
	}
	free(ids);
	log_info("-", "mailtestd", "recovered messages=%zu", n);
}

struct daemon {
	struct config		 cf;
	const char		*config_path;
	int			 foreground;
	struct daemon_user	 user;
	struct spool		*spool;
	SSL_CTX			*tls;
	struct server		*srv;
	struct dns_resolver	*dns;
	struct reply_ctx	*reply;
	struct event_base	*base;
	struct workers		*workers;
	struct spooler		*spooler;
	int			 reply_started;
	struct http_server	*http;		/* NULL when http_listen is empty */
	struct store		*store;		/* borrowed from record.h: pruned */
	struct metrics_http	*metrics;
};

/* Everything that needs privileges, before the drop. */
static int
daemon_prepare(struct daemon *d, char *err, size_t errlen)
{
	if (daemon_user_lookup(&d->cf, &d->user, err, errlen) < 0)
		return -1;
	if ((d->spool = spool_open(d->cf.spool_dir, err, errlen)) == NULL)
		return -1;
	/* from here on the spool is named by its absolute path */
	free(d->cf.spool_dir);
	d->cf.spool_dir = xstrdup(spool_path(d->spool));
	if ((d->tls = tls_server_ctx(&d->cf, d->cf.spool_dir, err, errlen)) == NULL &&
	    err[0])
		return -1;
	d->srv = server_new(&d->cf, d->config_path);
	d->srv->log_stderr = d->foreground;
	if (server_bind(d->srv, err, errlen) < 0)
		return -1;
	if ((d->metrics = metrics_http_bind(d->cf.metrics_listen, err, errlen)) == NULL &&
	    err[0])
		return -1;
	if ((d->dns = daemon_resolver_new(&d->cf, err, errlen)) == NULL)
		return -1;
	if ((d->reply = reply_ctx_new(&d->cf, d->dns, err, errlen)) == NULL)
		return -1;
	d->store = record_store(d->cf.spool_dir);
	if ((d->http = http_new(&d->cf, err, errlen)) == NULL && err[0])
		return -1;
	if (d->user.drop)
		daemon_spool_chown(d->cf.spool_dir, &d->user);
	return 0;
}

/*
 * The report-signing key's own process (reply/signer.h), forked after
 * daemon() (it must be our child, and dies with us) and before the drop
 * and the threads; it drops to the same user itself once it holds the key.
 */
static int
daemon_signer_start(struct daemon *d, char *err, size_t errlen)
{
	struct signer_user su;

	su.drop = d->user.drop;
	su.uid = d->user.uid;
	su.gid = d->user.gid;
	return reply_signer_start(d->reply, &d->cf, &su, err, errlen);
}

/* After the drop: the loop, the threads, the recovery. */
static int
daemon_start(struct daemon *d, char *err, size_t errlen)
{
	if ((d->base = event_base_new()) == NULL) {
		snprintf(err, errlen, "event_base_new failed");
		return -1;
	}
	d->workers = workers_new(&d->cf, d->spool, d->dns, d->reply);
	if (workers_start(d->workers, err, errlen) < 0)
		return -1;
	d->spooler = spooler_new(d->spool, d->workers, d->base, server_commit_done, d->srv);
	if (server_start(d->srv, d->base, d->tls, d->spool, d->spooler, err, errlen) < 0 ||
	    metrics_http_start(d->metrics, d->base, d->dns, err, errlen) < 0)
		return -1;
	if (spooler_start(d->spooler) < 0) {
		snprintf(err, errlen, "spool writer thread: %s", strerror(errno));
		return -1;
	}
	daemon_recover(d->spool, d->workers);
	if (reply_start(d->reply) < 0) {
		snprintf(err, errlen, "reply_start failed");
		return -1;
	}
	d->reply_started = 1;
	if (d->store && store_pruner_start(d->store, d->cf.report_retention) < 0) {
		snprintf(err, errlen, "store pruner thread: %s", strerror(errno));
		return -1;
	}
	if (d->http && http_start(d->http, err, errlen) < 0)
		return -1;
	return 0;
}

static void
daemon_stop(struct daemon *d)
{
	sigset_t set;

	/* stopping already: a second SIGTERM must not cut the teardown short
	 * once libevent's handlers are gone */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	http_free(d->http);		/* open requests get 503 */
	if (d->store)
		store_pruner_stop(d->store);
	if (d->spooler)
		spooler_stop(d->spooler);	/* what was submitted is committed */
	server_free(d->srv);
	metrics_http_free(d->metrics);
	spooler_free(d->spooler);
	if (d->workers)
		workers_stop(d->workers);	/* each finishes its message */
	if (d->reply_started)
		reply_stop(d->reply);
	workers_free(d->workers);
	if (d->reply)
		reply_ctx_free(d->reply);
	if (d->dns)
		dns_resolver_free(d->dns);
	spool_close(d->spool);
	if (d->tls)
		SSL_CTX_free(d->tls);
	if (d->base)
		event_base_free(d->base);
	config_free(&d->cf);
}

int
main(int argc, char **argv)
{
	struct daemon d;
	char err[1024] = "", config_real[PATH_MAX];
	int c, dump = 0, rc = 1;

	memset(&d, 0, sizeof(d));
	while ((c = getopt(argc, argv, "c:fnh")) != -1) {
		switch (c) {
		case 'c': d.config_path = optarg; break;
		case 'f': d.foreground = 1; break;
		case 'n': dump = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (d.config_path) {
		if (config_load(&d.cf, d.config_path, err, sizeof(err)) < 0) {
			fprintf(stderr, "mailtestd: %s\n", err);
			config_free(&d.cf);
			return 1;
		}
	} else
		config_defaults(&d.cf);
	if (dump) {
		config_dump(&d.cf, stdout);
		config_free(&d.cf);
		return 0;
	}
	/* SIGHUP re-reads it after daemon() went to "/" */
	if (d.config_path && realpath(d.config_path, config_real) != NULL)
		d.config_path = config_real;
	if (evthread_use_pthreads() < 0) {
		fprintf(stderr, "mailtestd: evthread_use_pthreads failed\n");
		return 1;
	}
	log_open("mailtestd", 1, log_level_from_name(d.cf.log_level));
	signal(SIGPIPE, SIG_IGN);
	if (daemon_prepare(&d, err, sizeof(err)) < 0)
		goto out;
	if (!d.foreground) {
		if (daemon(0, 0) < 0) {
			snprintf(err, sizeof(err), "daemon: %s", strerror(errno));
			goto out;
		}
		log_open("mailtestd", 0, log_level_from_name(d.cf.log_level));
	}
	if (daemon_signer_start(&d, err, sizeof(err)) < 0 ||
	    (d.user.drop && daemon_drop_privileges(&d.user, err, sizeof(err)) < 0))
		goto out;
	if (daemon_start(&d, err, sizeof(err)) < 0)
		goto out;
	sd_notify(0, "READY=1");
	log_info("-", "mailtestd", "started version=%s pid=%d spool=%s workers=%ld tls=%s",
	    MAILTEST_VERSION, (int)getpid(), d.cf.spool_dir, d.cf.workers,
	    d.tls ? "yes" : "no");
	if (server_run(d.srv) < 0)
		snprintf(err, sizeof(err), "event loop failed");
	else
		rc = 0;
out:
	if (err[0])
		log_err("-", "mailtestd", "fatal error=\"%s\"", err);
	daemon_stop(&d);
	log_info("-", "mailtestd", "stopped status=%d", rc);
	return rc;
}
