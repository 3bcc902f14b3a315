/*
 * fuzz_session - the SMTP session state machine (smtpd/session.c) with its
 * command table, line limits, DATA phase, pipelining, the spool writer and
 * the end of a session, driven through a socketpair inside this process:
 * the real bufferevent, the real server table (server_session_open()), the
 * real spool writer thread (smtpd/spooler.c) committing to a spool in
 * /dev/shm.  No network, no listener.
 *
 * Input: 8 control bytes (limits and modes), up to 32 cut positions (2
 * bytes each), then the client's octets.  The client's octets are written
 * in the pieces the cuts make, the loop running in between, and the
 * replies are read as they come (or only when a write would block: a
 * client that does not read).  At the end the client half-closes (EOF),
 * or the server shuts the session down as on SIGTERM.
 *
 * Invariants:
 *  - the session ends: after EOF or a shutdown it is freed, every reply
 *    flushed, in a bounded number of loop turns (no livelock, no leak);
 *  - every reply line is "NNN" + " " or "-", 2xx-5xx, at most 512 octets
 *    with its CRLF (RFC 5321 4.5.3.1.5), and nothing follows a 221/421;
 *  - the same input in one piece and in the fuzzer's pieces gives the
 *    same replies (queue ids aside) and the same spooled messages;
 *  - each "250 ... queued as ID" has exactly one spool file, and every
 *    spool file had its 250; each stored message starts with our
 *    Received: field, has only check addresses as recipients, at most
 *    smtp_max_recipients, is within message_size_limit (+ our field), and
 *    in reject mode holds no bare CR, bare LF or NUL;
 *  - no smuggling: every message queued ended at a CRLF "." CRLF of its
 *    own in the client's octets (RFC 5321 4.1.1.4; a bare LF or CR never
 *    ends one, 2.3.8), so there are never more 250 "queued" replies than
 *    such sequences: text behind a "<LF>.<LF>" or "<CR>.<CR>" is never
 *    taken for the commands of a second message;
 *  - the DATA memory count (server->data_mem) is back to 0.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "../../common/config.h"
#include "../../common/log.h"
#include "../../common/spool.h"
#include "../../common/util.h"
#include "../../smtpd/server.h"
#include "../../smtpd/session.h"
#include "../../smtpd/smtp_parse.h"
#include "../../smtpd/spooler.h"
#include "../../smtpd/workers.h"
#include "fuzz.h"

#define CTL_BYTES	8
#define MAX_CUTS	32
#define MAX_TURNS	100000	/* loop turns before "the session does not settle" */
#define REPLY_MAX	(4 << 20)

static struct spool *spool;
static char spool_dir[64];

static int
rm_one(const char *p, const struct stat *st, int type, struct FTW *f)
{
	return remove(p);
}

static void
cleanup(void)
{
	if (spool_dir[0])
		nftw(spool_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
init_once(void)
{
	char err[256];

	if (spool != NULL)
		return;
	evthread_use_pthreads();
	log_open("fuzz_session", 1, LOG_CRIT);	/* quiet: the replies are checked */
	snprintf(spool_dir, sizeof(spool_dir), "%s/fuzz-session.XXXXXX",
	    access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (mkdtemp(spool_dir) == NULL) {
		perror("mkdtemp");
		abort();
	}
	atexit(cleanup);
	if ((spool = spool_open(spool_dir, err, sizeof(err))) == NULL) {
		fprintf(stderr, "spool_open: %s\n", err);
		abort();
	}
}

struct outcome {
	struct sbuf	 replies;	/* queue ids blanked */
	struct sbuf	 msgs;		/* the spooled messages, in queue order */
	size_t		 queued;
};

static void
config_from(struct config *cf, const uint8_t *ctl)
{
	static const long max_line[] = { 512, 513, 600, 4096 };
	static const long text_line[] = { 1000, 1001, 1200, 5000 };
	char err[256];

	config_defaults(cf);
	if (config_set(cf, "hostname", "mx.fuzz.example", err, sizeof(err)) < 0 ||
	    config_set(cf, "check_address", "check@fuzz.example, Other@Fuzz.Example", err,
	    sizeof(err)) < 0 ||
	    config_set(cf, "smtp_bare_lf", (ctl[0] & 1) ? "normalize" : "reject", err,
	    sizeof(err)) < 0) {
		fprintf(stderr, "config_set: %s\n", err);
		abort();
	}
	cf->smtp_max_line = max_line[(ctl[0] >> 1) & 3];
	cf->smtp_max_text_line = text_line[(ctl[0] >> 3) & 3];
	cf->message_size_limit = 1024 + (long)ctl[1] * 256;
	cf->smtp_max_recipients = 1 + ctl[2] % 4;
	cf->smtp_max_commands = 10 + ctl[3];
	cf->smtp_max_bad_commands = 1 + ctl[4] % 12;
	cf->smtp_max_transactions = 1 + ctl[5] % 6;
	cf->smtp_received_limit = 1 + ctl[6] % 4;
	cf->workers = 1;
}

/* Read what the session wrote; 0 when nothing came. */
static size_t
read_replies(int fd, struct sbuf *raw)
{
	char buf[16384];
	size_t total = 0;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		sbuf_add(raw, buf, (size_t)n);
		total += (size_t)n;
		FUZZ_CHECK(raw->len < REPLY_MAX, "more than %d octets of replies", REPLY_MAX);
	}
	return total;
}

/* Run the loop until the session has done all it can with its input. */
static void
settle(struct server *srv, uint64_t key, int cfd, struct sbuf *raw, int lazy)
{
	size_t idle = 0, last_in = (size_t)-1;

	for (int turn = 0; turn < MAX_TURNS; turn++) {
		struct smtp_session *s = server_session_find(srv, key);
		size_t got = 0, in, out;
		int pending = 0;

		if (s != NULL && s->state == SMTP_ST_COMMIT) {
			/* the spool writer thread answers with event_active() */
			event_base_loop(srv->base, EVLOOP_ONCE);
			continue;
		}
		event_base_loop(srv->base, EVLOOP_NONBLOCK);
		if (!lazy)
			got = read_replies(cfd, raw);
		if ((s = server_session_find(srv, key)) == NULL)
			return;
		ioctl(s->fd, FIONREAD, &pending);
		in = evbuffer_get_length(bufferevent_get_input(s->bev));
		out = evbuffer_get_length(bufferevent_get_output(s->bev));
		if (lazy && out > 0)
			got = read_replies(cfd, raw);	/* it waits for us to read */
		if (got == 0 && pending == 0 && out == 0 && in == last_in) {
			if (++idle >= 2)
				return;
		} else
			idle = 0;
		last_in = in;
	}
	FUZZ_CHECK(0, "the session did not settle in %d loop turns", MAX_TURNS);
}

/* Write one piece, running the loop (and reading) whenever it would block. */
static void
send_piece(struct server *srv, uint64_t key, int cfd, const uint8_t *p, size_t n,
    struct sbuf *raw, int lazy)
{
	int stuck = 0;

	while (n > 0) {
		ssize_t w = write(cfd, p, n);

		if (w > 0) {
			p += w;
			n -= (size_t)w;
			stuck = 0;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return;		/* the session closed: EPIPE */
		settle(srv, key, cfd, raw, 0);
		if (server_session_find(srv, key) == NULL)
			return;
		FUZZ_CHECK(++stuck < 1000, "the session stopped reading for good");
	}
	settle(srv, key, cfd, raw, lazy);
}

static void
check_reply_lines(const struct sbuf *raw)
{
	const char *p = raw->s ? raw->s : "", *e = p + raw->len;
	int closed = 0;

	while (p < e) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		size_t n;

		FUZZ_CHECK(nl != NULL && nl > p && nl[-1] == '\r', "reply without CRLF");
		n = (size_t)(nl + 1 - p);
		FUZZ_CHECK(!closed, "a reply after 221/421: %.*s", (int)n, p);
		FUZZ_CHECK(n <= 512, "reply line of %zu octets", n);
		FUZZ_CHECK(n >= 6 && p[0] >= '2' && p[0] <= '5' && p[1] >= '0' &&
		    p[1] <= '9' && p[2] >= '0' && p[2] <= '9' && (p[3] == ' ' || p[3] == '-'),
		    "malformed reply: %.*s", (int)n, p);
		for (const char *q = p; q < nl - 1; q++)
			FUZZ_CHECK((unsigned char)*q >= 0x20 && *q != 0x7f,
			    "control octet in reply: %.*s", (int)n, p);
		if (p[3] == ' ' && (memcmp(p, "221", 3) == 0 || memcmp(p, "421", 3) == 0))
			closed = 1;
		p = nl + 1;
	}
}

/* Blank the queue ids (they differ between runs) and count the 250s. */
static size_t
normalize_replies(struct sbuf *raw, char ids[][ID_LEN + 1], size_t maxids)
{
	static const char tok[] = "queued as ";
	size_t n = 0;
	char *p = raw->s;

	while (p && (p = strstr(p, tok)) != NULL) {
		p += sizeof(tok) - 1;
		FUZZ_CHECK(raw->s + raw->len - p >= ID_LEN, "short queue id");
		if (n < maxids) {
			memcpy(ids[n], p, ID_LEN);
			ids[n][ID_LEN] = '\0';
		}
		n++;
		memset(p, '#', ID_LEN);
	}
	return n;
}

static void
check_spooled(const struct config *cf, const char *id, struct sbuf *msgs)
{
	struct spool_env env;
	char *msg, err[256], tag[SMTP_MAX_TAG + 1];
	size_t len;
	int reject = strcmp(cf->smtp_bare_lf, "reject") == 0;

	memset(&env, 0, sizeof(env));
	FUZZ_CHECK(spool_load(spool, id, &env, &msg, &len, err, sizeof(err)) == 0,
	    "250 for %s, but the spool says: %s", id, err);
	FUZZ_CHECK(env.nrcpt >= 1 && env.nrcpt <= (size_t)cf->smtp_max_recipients,
	    "%zu recipients", env.nrcpt);
	for (size_t i = 0; i < env.nrcpt; i++)
		FUZZ_CHECK(smtp_check_address(&cf->check_address, cf->tag_separator,
		    env.rcpt[i], tag, sizeof(tag)) >= 0, "recipient <%s> is not a check "
		    "address", env.rcpt[i]);
	FUZZ_CHECK(len > 15 && memcmp(msg, "Received: from ", 15) == 0,
	    "the message does not start with our Received:");
	FUZZ_CHECK(len <= (size_t)cf->message_size_limit + 1024, "%zu octets stored", len);
	if (reject)
		for (size_t i = 0; i < len; i++) {
			FUZZ_CHECK(msg[i] != '\0', "NUL stored in reject mode");
			FUZZ_CHECK(msg[i] != '\n' || (i > 0 && msg[i - 1] == '\r'),
			    "bare LF stored in reject mode at %zu", i);
			FUZZ_CHECK(msg[i] != '\r' || (i + 1 < len && msg[i + 1] == '\n'),
			    "bare CR stored in reject mode at %zu", i);
		}
	/*
	 * for the comparison of runs: the message after our Received: field
	 * (it holds the queue id and the time), which ends at the first CRLF
	 * not followed by WSP (the client's HELO may hold "; " and more)
	 */
	{
		const char *eol = msg;

		while ((eol = strstr(eol, "\r\n")) != NULL &&
		    (eol[2] == ' ' || eol[2] == '\t'))
			eol += 2;
		FUZZ_CHECK(eol != NULL, "our Received: field has no end");
		sbuf_printf(msgs, "[%s|%zu]", env.mail_from, env.nrcpt);
		sbuf_add(msgs, eol + 2, len - (size_t)(eol + 2 - msg));
	}
	spool_env_free(&env);
	free(msg);
	FUZZ_CHECK(spool_remove(spool, id) == 0, "spool_remove %s", id);
}

static void
run(const uint8_t *ctl, const uint8_t *p, size_t len, const size_t *cuts, size_t ncuts,
    struct outcome *o)
{
	struct config cf;
	struct event_base *base = event_base_new();
	struct server *srv;
	struct workers *w;
	struct spooler *sp;
	struct smtp_session *s;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(40000) };
	struct sbuf raw;
	char ids[64][ID_LEN + 1], **left;
	size_t nleft, pos = 0;
	uint64_t key;
	int sv[2], lazy = (ctl[7] >> 1) & 1, eof = !(ctl[7] & 1);

	config_from(&cf, ctl);
	sin.sin_addr.s_addr = htonl(0x7f000001);
	srv = server_new(&cf, NULL);
	srv->base = base;
	srv->spool = spool;
	w = workers_new(&cf, spool, NULL, NULL);
	sp = spooler_new(spool, w, base, server_commit_done, srv);
	FUZZ_CHECK(spooler_start(sp) == 0, "spooler_start");
	srv->spooler = sp;
	FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0,
	    "socketpair: %s", strerror(errno));
	s = server_session_open(srv, sv[0], (struct sockaddr *)&sin, sizeof(sin), NULL, 0);
	FUZZ_CHECK(s != NULL, "server_session_open");
	key = s->key;
	sbuf_init(&raw, 0);

	for (size_t c = 0; c <= ncuts && server_session_find(srv, key); c++) {
		size_t end = c < ncuts ? cuts[c] : len;

		if (end < pos)
			continue;
		send_piece(srv, key, sv[1], p + pos, end - pos, &raw, lazy);
		pos = end;
	}
	settle(srv, key, sv[1], &raw, 0);
	if ((s = server_session_find(srv, key)) != NULL) {
		if (eof)
			shutdown(sv[1], SHUT_WR);
		else
			smtp_session_shutdown(s, 1);	/* SIGTERM, after shutdown_timeout */
		settle(srv, key, sv[1], &raw, 0);
	}
	read_replies(sv[1], &raw);
	FUZZ_CHECK(server_session_find(srv, key) == NULL, "the session outlived %s",
	    eof ? "the client's EOF" : "the shutdown");
	FUZZ_CHECK(srv->nsessions == 0, "%zu sessions left", srv->nsessions);

	spooler_stop(sp);	/* every commit submitted is done */
	event_base_loop(base, EVLOOP_NONBLOCK);	/* their completions */
	FUZZ_CHECK(srv->data_mem == 0, "data_mem %zu after the end", srv->data_mem);

	check_reply_lines(&raw);
	o->queued = normalize_replies(&raw, ids, ARRAY_SIZE(ids));
	o->replies = raw;
	sbuf_init(&o->msgs, 0);
	FUZZ_CHECK(o->queued <= ARRAY_SIZE(ids), "%zu messages queued", o->queued);
	for (size_t i = 0; i < o->queued; i++)
		check_spooled(&cf, ids[i], &o->msgs);
	FUZZ_CHECK(spool_list(spool, &left, &nleft) == 0, "spool_list");
	FUZZ_CHECK(nleft == 0, "%zu spool files without a 250 (first %s)", nleft,
	    nleft ? left[0] : "");
	for (size_t i = 0; i < nleft; i++)
		free(left[i]);
	free(left);

	close(sv[1]);
	spooler_free(sp);
	workers_free(w);
	srv->base = NULL;
	server_free(srv);
	event_base_free(base);
	config_free(&cf);
}

/* How many CRLF "." CRLF (the only end of DATA) are in p[0..n)? */
static size_t
crlf_dot_crlf(const uint8_t *p, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i + 5 <= n; i++)
		k += memcmp(p + i, "\r\n.\r\n", 5) == 0;
	return k;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t ctl[CTL_BYTES];
	size_t ncuts, cuts[MAX_CUTS];
	unsigned raw[MAX_CUTS];
	struct outcome a, b;
	size_t ends;

	init_once();
	for (size_t i = 0; i < CTL_BYTES; i++)
		ctl[i] = (uint8_t)fuzz_byte(&in);
	ncuts = ctl[7] >> 2 & 31;
	for (size_t i = 0; i < ncuts; i++)
		raw[i] = fuzz_byte(&in) << 8 | fuzz_byte(&in);
	for (size_t i = 0; i < ncuts; i++)
		cuts[i] = in.n ? raw[i] % (in.n + 1) : 0;
	for (size_t i = 1; i < ncuts; i++)
		for (size_t j = i; j > 0 && cuts[j - 1] > cuts[j]; j--) {
			size_t t = cuts[j];

			cuts[j] = cuts[j - 1];
			cuts[j - 1] = t;
		}

	run(ctl, in.p, in.n, NULL, 0, &a);
	ends = crlf_dot_crlf(in.p, in.n);
	FUZZ_CHECK(a.queued <= ends, "%zu messages queued from %zu CRLF.CRLF: smuggled",
	    a.queued, ends);
	run(ctl, in.p, in.n, cuts, ncuts, &b);
	FUZZ_CHECK(a.queued == b.queued, "%zu messages in one piece, %zu in %zu pieces",
	    a.queued, b.queued, ncuts + 1);
	FUZZ_CHECK(a.replies.len == b.replies.len &&
	    memcmp(a.replies.s, b.replies.s, a.replies.len) == 0,
	    "the replies depend on how the input was split:\n--- one piece:\n%s\n"
	    "--- %zu pieces:\n%s", sbuf_str(&a.replies), ncuts + 1, sbuf_str(&b.replies));
	FUZZ_CHECK(a.msgs.len == b.msgs.len &&
	    memcmp(a.msgs.s ? a.msgs.s : "", b.msgs.s ? b.msgs.s : "", a.msgs.len) == 0,
	    "the stored messages depend on how the input was split:\n--- one piece:\n"
	    "%.4000s\n--- %zu pieces:\n%.4000s", sbuf_str(&a.msgs), ncuts + 1,
	    sbuf_str(&b.msgs));
	sbuf_free(&a.replies);
	sbuf_free(&b.replies);
	sbuf_free(&a.msgs);
	sbuf_free(&b.msgs);
	return 0;
}
