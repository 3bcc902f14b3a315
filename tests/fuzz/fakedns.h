/*
 * fakedns.h - an in-process authoritative DNS server on 127.0.0.1 for the
 * fuzz targets that evaluate SPF and DKIM (fuzz_spf_eval, fuzz_dkim): each
 * input carries its zone, the real resolver (common/dns.c, cache off)
 * asks this server over UDP, and the server counts the queries, so the
 * targets can check that the work stays bounded.
 *
 * Zone text: one record a line, "NAME TYPE DATA", TYPE one of A AAAA MX
 * (DATA "PREF HOST") TXT (DATA the rest of the line, cut into 255-octet
 * strings) PTR CNAME, or SERVFAIL (no DATA: that name answers SERVFAIL).
 * Names are compared without regard to case; a name with a CNAME answers
 * it (the resolver follows); no record at all is NXDOMAIN, another type
 * NODATA.  Header-only, like fuzz.h.
 *
 * Entry points: fakedns_start() (once), fakedns_zone() (per input),
 * fakedns_queries() (since the last fakedns_zone()).
 */
#ifndef MT_FAKEDNS_H
#define MT_FAKEDNS_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../common/dns.h"
#include "../../common/util.h"

#define FAKEDNS_MAX_RR		512
#define FAKEDNS_PACKET		65535

struct fakedns_rr {
	char	*name;		/* lower case, no trailing dot */
	int	 type;		/* DNS_T_*, or -1 for SERVFAIL */
	char	*data;
};

struct fakedns {
	int			 fd;
	char			 server[32];	/* "127.0.0.1:PORT" */
	pthread_t		 th;
	pthread_mutex_t		 mu;
	struct fakedns_rr	 rr[FAKEDNS_MAX_RR];
	size_t			 nrr;
	unsigned long		 queries;
};

static int
fakedns_type(const char *t)
{
	static const struct { const char *n; int t; } types[] = {
		{ "A", DNS_T_A }, { "AAAA", DNS_T_AAAA }, { "MX", DNS_T_MX },
		{ "TXT", DNS_T_TXT }, { "PTR", DNS_T_PTR }, { "CNAME", DNS_T_CNAME },
		{ "SERVFAIL", -1 },
	};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(types[i].n, t) == 0)
			return types[i].t;
	return 0;
}

/* Dotted name -> wire format; 0 if it cannot be one. */
static size_t
fakedns_wire(const char *name, unsigned char *out)
{
	size_t o = 0;
	const char *p = name;

	if (*p == '\0') {
		out[0] = 0;
		return 1;
	}
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);

		if (l == 0 || l > 63 || o + l + 2 > 255)
			return 0;
		out[o++] = (unsigned char)l;
		memcpy(out + o, p, l);
		o += l;
		p += l;
		if (*p == '.')
			p++;
	}
	out[o++] = 0;
	return o;
}

/* The rdata of one record into out; 0 when the record cannot be encoded. */
static size_t
fakedns_rdata(const struct fakedns_rr *rr, unsigned char *out, size_t room)
{
	size_t n = 0, dl;
	long pref;
	char *end;

	switch (rr->type) {
	case DNS_T_A:
		return inet_pton(AF_INET, rr->data, out) == 1 ? 4 : 0;
	case DNS_T_AAAA:
		return inet_pton(AF_INET6, rr->data, out) == 1 ? 16 : 0;
	case DNS_T_MX:
		pref = strtol(rr->data, &end, 10);
		if (end == rr->data || *end != ' ' || pref < 0 || pref > 65535)
			return 0;
		out[0] = (unsigned char)(pref >> 8);
		out[1] = (unsigned char)pref;
		n = fakedns_wire(end + 1, out + 2);
		return n ? n + 2 : 0;
	case DNS_T_PTR:
	case DNS_T_CNAME:
		return fakedns_wire(rr->data, out);
	case DNS_T_TXT:
		dl = strlen(rr->data);
		for (size_t i = 0; i < dl || i == 0; i += 255) {
			size_t l = dl - i < 255 ? dl - i : 255;

			if (n + 1 + l > room)
				return 0;
			out[n++] = (unsigned char)l;
			memcpy(out + n, rr->data + i, l);
			n += l;
			if (dl == 0)
				break;
		}
		return n;
	}
	return 0;
}

/* Answer one query packet q into r; returns the response length (0: none). */
static size_t
fakedns_answer(struct fakedns *fd, const unsigned char *q, size_t qn, unsigned char *r)
{
	char name[256];
	size_t o = 12, nl = 0, qend, an = 0;
	int qtype, has_name = 0, has_cname = 0, fail = 0;

	if (qn < 17)
		return 0;
	while (o < qn && q[o] != 0) {
		size_t l = q[o];

		if (l > 63 || o + 1 + l >= qn || nl + l + 1 >= sizeof(name))
			return 0;
		if (nl)
			name[nl++] = '.';
		for (size_t i = 0; i < l; i++)
			name[nl++] = (char)ascii_lower(q[o + 1 + i]);
		o += 1 + l;
	}
	name[nl] = '\0';
	if (o + 5 > qn)
		return 0;
	qtype = q[o + 1] << 8 | q[o + 2];
	qend = o + 5;
	memcpy(r, q, qend);
	r[2] = 0x84 | (q[2] & 0x01);	/* QR AA, RD copied */
	r[3] = 0x80;			/* RA */
	r[6] = r[7] = r[8] = r[9] = r[10] = r[11] = 0;
	o = qend;
	pthread_mutex_lock(&fd->mu);
	for (size_t i = 0; i < fd->nrr; i++) {
		if (strcmp(fd->rr[i].name, name) != 0)
			continue;
		has_name = 1;
		fail |= fd->rr[i].type == -1;
		has_cname |= fd->rr[i].type == DNS_T_CNAME;
	}
	for (size_t i = 0; i < fd->nrr && !fail; i++) {
		const struct fakedns_rr *rr = &fd->rr[i];
		size_t rl;

		if (strcmp(rr->name, name) != 0)
			continue;
		if (!(rr->type == qtype || (has_cname && rr->type == DNS_T_CNAME &&
		    qtype != DNS_T_CNAME)))
			continue;
		if (o + 12 + 300 > FAKEDNS_PACKET)
			break;
		rl = fakedns_rdata(rr, r + o + 12, FAKEDNS_PACKET - o - 12);
		if (rl == 0)
			continue;
		r[o] = 0xc0;
		r[o + 1] = 12;		/* the question's name */
		r[o + 2] = (unsigned char)(rr->type >> 8);
		r[o + 3] = (unsigned char)rr->type;
		r[o + 4] = 0;
		r[o + 5] = 1;
		r[o + 6] = r[o + 7] = 0;
		r[o + 8] = 0;
		r[o + 9] = 60;
		r[o + 10] = (unsigned char)(rl >> 8);
		r[o + 11] = (unsigned char)rl;
		o += 12 + rl;
		an++;
		if (has_cname)
			break;		/* one CNAME: the resolver asks again */
	}
	fd->queries++;
	pthread_mutex_unlock(&fd->mu);
	r[3] |= fail ? 2 : (!has_name ? 3 : 0);
	r[6] = (unsigned char)(an >> 8);
	r[7] = (unsigned char)an;
	return o;
}

static void *
fakedns_main(void *arg)
{
	struct fakedns *fd = arg;
	unsigned char *q = malloc(FAKEDNS_PACKET), *r = malloc(FAKEDNS_PACKET);

	for (;;) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd->fd, q, FAKEDNS_PACKET, 0, (struct sockaddr *)&from, &fl);
		size_t rn;

		if (n < 0)
			continue;
		if ((rn = fakedns_answer(fd, q, (size_t)n, r)) > 0)
			(void)sendto(fd->fd, r, rn, 0, (struct sockaddr *)&from, fl);
	}
	return NULL;
}

static void
fakedns_start(struct fakedns *fd)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);
	int big = 4 << 20;

	memset(fd, 0, sizeof(*fd));
	pthread_mutex_init(&fd->mu, NULL);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(fd->fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    getsockname(fd->fd, (struct sockaddr *)&sin, &sl) < 0) {
		perror("fakedns");
		abort();
	}
	setsockopt(fd->fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	snprintf(fd->server, sizeof(fd->server), "127.0.0.1:%d", ntohs(sin.sin_port));
	if (pthread_create(&fd->th, NULL, fakedns_main, fd) != 0) {
		perror("pthread_create");
		abort();
	}
}

/* Replace the zone with the records in text[0..len) (see the top). */
static void
fakedns_zone(struct fakedns *fd, const char *text, size_t len)
{
	const char *p = text, *e = text + len;

	pthread_mutex_lock(&fd->mu);
	for (size_t i = 0; i < fd->nrr; i++) {
		free(fd->rr[i].name);
		free(fd->rr[i].data);
	}
	fd->nrr = 0;
	fd->queries = 0;
	while (p < e && fd->nrr < FAKEDNS_MAX_RR) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		char *line = xstrndup(p, nl ? (size_t)(nl - p) : (size_t)(e - p));
		char *sp1 = strchr(line, ' '), *sp2, *data;
		int type;

		p = nl ? nl + 1 : e;
		if (sp1 == NULL) {
			free(line);
			continue;
		}
		*sp1 = '\0';
		sp2 = strchr(sp1 + 1, ' ');
		if (sp2)
			*sp2 = '\0';
		data = sp2 ? sp2 + 1 : sp1 + strlen(sp1 + 1) + 1;
		if ((type = fakedns_type(sp1 + 1)) != 0) {
			size_t n = strlen(line);

			while (n > 0 && line[n - 1] == '.')
				line[--n] = '\0';
			str_lower(line);
			fd->rr[fd->nrr].name = xstrdup(line);
			fd->rr[fd->nrr].type = type;
			fd->rr[fd->nrr].data = xstrdup(data);
			fd->nrr++;
		}
		free(line);
	}
	pthread_mutex_unlock(&fd->mu);
}

static unsigned long
fakedns_queries(struct fakedns *fd)
{
	unsigned long n;

	pthread_mutex_lock(&fd->mu);
	n = fd->queries;
	pthread_mutex_unlock(&fd->mu);
	return n;
}

/* A resolver that asks only this server, cache off, short timeout. */
static struct dns_resolver *
fakedns_resolver(struct fakedns *fd)
{
	struct dns_config dc;
	char err[256];
	struct dns_resolver *r;

	memset(&dc, 0, sizeof(dc));
	dc.servers[0] = fd->server;
	dc.nservers = 1;
	dc.timeout_ms = 2000;
	dc.attempts = 1;
	dc.no_cache = 1;
	if ((r = dns_resolver_new(&dc, err, sizeof(err))) == NULL) {
		fprintf(stderr, "dns_resolver_new: %s\n", err);
		abort();
	}
	return r;
}

#endif
