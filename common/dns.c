/* dns.c - see dns.h */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns.h"
#include "util.h"

#define DNS_UDP_BUFSIZE		1232	/* EDNS0 payload size we announce */
#define DNS_MAX_PACKET		65535
#define DNS_HEADER_LEN		12	/* RFC 1035 4.1.1 */

struct dns_server {
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	char			 text[64];
};

struct cache_entry {
	struct cache_entry	*hnext;		/* hash chain */
	struct cache_entry	*lprev, *lnext;	/* LRU list, most recent first */
	char			*key;
	uint32_t		 hash;
	uint64_t		 expires_ms;	/* monotonic */
	struct dns_answer	*ans;
};

struct dns_resolver {
	struct dns_server	 srv[DNS_MAX_SERVERS];
	int			 nsrv;
	char			 srvtext[DNS_MAX_SERVERS * 66];
	int			 timeout_ms;
	int			 attempts;
	uint32_t		 min_ttl, max_ttl, neg_ttl;
	int			 no_cache;
	pthread_mutex_t		 mu;		/* guards everything below */
	struct cache_entry	**bucket;
	size_t			 nbucket;	/* power of two */
	size_t			 nentries, maxentries;
	struct cache_entry	*lru_head, *lru_tail;
	struct dns_stats	 stats;
};

/* ------------------------------------------------------------------ */
/* names */

int
dns_name_ok(const char *name)
{
	size_t total = 0, label = 0;
	const char *p;

	if (name == NULL || *name == '\0')
		return 0;
	for (p = name; *p; p++) {
		if (*p == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if (++label > DNS_MAX_LABEL)
			return 0;
		total++;
	}
	if (total > 0 && p[-1] == '.')
		total--;
	return total <= DNS_MAX_NAME;
}

/* Encode name into wire labels; returns length or -1. */
static int
name_to_wire(const char *name, unsigned char *out, size_t cap)
{
	size_t o = 0;
	const char *p = name, *dot;

	if (!dns_name_ok(name))
		return -1;
	while (*p) {
		size_t l;

		dot = strchr(p, '.');
		l = dot ? (size_t)(dot - p) : strlen(p);
		if (l == 0 || o + 1 + l + 1 > cap)
			return -1;
		out[o++] = (unsigned char)l;
		memcpy(out + o, p, l);
		o += l;
		p += l;
		if (*p == '.')
			p++;
	}
	out[o++] = 0;
	return (int)o;
}

/* Uncompressed wire name -> dotted text.  Refuses '.' or NUL inside labels. */
static int
wire_to_text(const unsigned char *w, char *out, size_t cap)
{
	size_t o = 0;

	if (*w == 0) {
		if (cap < 2)
			return -1;
		out[0] = '.';
		out[1] = '\0';
		return 0;
	}
	while (*w) {
		size_t l = *w++;

		if (l > DNS_MAX_LABEL)
			return -1;
		if (o && o + 1 < cap)
			out[o++] = '.';
		if (o + l + 1 > cap)
			return -1;
		for (size_t i = 0; i < l; i++) {
			if (w[i] == '.' || w[i] == '\0')
				return -1;
			out[o++] = (char)w[i];
		}
		w += l;
	}
	out[o] = '\0';
	return 0;
}

static int
names_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la && a[la - 1] == '.')
		la--;
	if (lb && b[lb - 1] == '.')
		lb--;
	return la == lb && str_ncaseeq(a, b, la);
}

int
dns_reverse_name(const char *ip, char *buf, size_t n)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, ip, &a4) == 1) {
		const unsigned char *b = (const unsigned char *)&a4;

		return snprintf(buf, n, "%u.%u.%u.%u.in-addr.arpa", b[3], b[2],
		    b[1], b[0]) < (int)n ? 0 : -1;
	}
	if (inet_pton(AF_INET6, ip, &a6) == 1) {
		static const char hex[] = "0123456789abcdef";
		size_t o = 0;

		if (n < 64 + 9)
			return -1;
		for (int i = 15; i >= 0; i--) {
			buf[o++] = hex[a6.s6_addr[i] & 0xf];
			buf[o++] = '.';
			buf[o++] = hex[a6.s6_addr[i] >> 4];
			buf[o++] = '.';
		}
		strcpy(buf + o, "ip6.arpa");
		return 0;
	}
	return -1;
}

const char *
dns_rr_addr_text(const struct dns_rr *rr, char *buf, size_t n)
{
	if (rr->type == DNS_T_A)
		return inet_ntop(AF_INET, &rr->u.a, buf, (socklen_t)n);
	if (rr->type == DNS_T_AAAA)
		return inet_ntop(AF_INET6, &rr->u.aaaa, buf, (socklen_t)n);
	str_copy(buf, "?", n);
	return buf;
}

const char *
dns_status_name(enum dns_status s)
{
	switch (s) {
	case DNS_OK:		return "ok";
	case DNS_NODATA:	return "nodata";
	case DNS_NXDOMAIN:	return "nxdomain";
	case DNS_TEMPFAIL:	return "tempfail";
	case DNS_BADNAME:	return "badname";
	}
	return "?";
}

const char *
dns_type_name(int t)
{
	switch (t) {
	case DNS_T_A:		return "A";
	case DNS_T_NS:		return "NS";
	case DNS_T_CNAME:	return "CNAME";
	case DNS_T_SOA:		return "SOA";
	case DNS_T_PTR:		return "PTR";
	case DNS_T_MX:		return "MX";
	case DNS_T_TXT:		return "TXT";
	case DNS_T_AAAA:	return "AAAA";
	case DNS_T_SPF:		return "SPF";
	}
	return "TYPE?";
}

/* ------------------------------------------------------------------ */
/* servers */

int
dns_parse_server(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *port = NULL;
	long p = 53;
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		const char *e = strchr(s, ']');

		if (e == NULL)
			return -1;
		hl = (size_t)(e - s - 1);
		if (hl >= sizeof(host))
			return -1;
		memcpy(host, s + 1, hl);
		host[hl] = '\0';
		if (e[1] == ':')
			port = e + 2;
		else if (e[1] != '\0')
			return -1;
	} else if (strchr(s, ':') != NULL && strchr(s, ':') == strrchr(s, ':')) {
		const char *c = strchr(s, ':');

		hl = (size_t)(c - s);
		if (hl >= sizeof(host))
			return -1;
		memcpy(host, s, hl);
		host[hl] = '\0';
		port = c + 1;
	} else {
		if (str_copy(host, s, sizeof(host)) >= sizeof(host))
			return -1;
	}
	if (port && str_to_long(port, 1, 65535, &p) < 0)
		return -1;
	{
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
			sin->sin_family = AF_INET;
			sin->sin_port = htons((uint16_t)p);
			*len = sizeof(*sin);
			return 0;
		}
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons((uint16_t)p);
			*len = sizeof(*sin6);
			return 0;
		}
	}
	return -1;
}

static void
server_text(struct dns_server *sv)
{
	char a[INET6_ADDRSTRLEN];

	if (sv->ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&sv->ss;

		inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
		snprintf(sv->text, sizeof(sv->text), "%s:%u", a, ntohs(sin->sin_port));
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&sv->ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
		snprintf(sv->text, sizeof(sv->text), "[%s]:%u", a, ntohs(sin6->sin6_port));
	}
}

/* The nameserver lines of /etc/resolv.conf (port 53). */
static void
servers_from_resolv_conf(struct dns_resolver *r)
{
	FILE *f = fopen("/etc/resolv.conf", "re");
	char line[512];

	if (f != NULL) {
		while (r->nsrv < DNS_MAX_SERVERS && fgets(line, sizeof(line), f)) {
			char *p = str_trim(line), *a;

			if (strncmp(p, "nameserver", 10) != 0 || (p[10] != ' ' && p[10] != '\t'))
				continue;
			a = str_trim(p + 11);
			a[strcspn(a, " \t%")] = '\0';
			if (dns_parse_server(a, &r->srv[r->nsrv].ss, &r->srv[r->nsrv].sslen) == 0)
				r->nsrv++;
		}
		fclose(f);
	}
	if (r->nsrv == 0) {
		dns_parse_server("127.0.0.1", &r->srv[0].ss, &r->srv[0].sslen);
		r->nsrv = 1;
	}
}

struct dns_resolver *
dns_resolver_new(const struct dns_config *cf, char *err, size_t errlen)
{
	struct dns_resolver *r = xcalloc(1, sizeof(*r));
	size_t nb;

	for (int i = 0; i < cf->nservers && i < DNS_MAX_SERVERS; i++) {
		if (dns_parse_server(cf->servers[i], &r->srv[r->nsrv].ss,
		    &r->srv[r->nsrv].sslen) < 0) {
			snprintf(err, errlen, "bad DNS server address \"%s\" "
			    "(want HOST[:PORT] or [IPv6]:PORT)", cf->servers[i]);
			free(r);
			return NULL;
		}
		r->nsrv++;
	}
	if (r->nsrv == 0)
		servers_from_resolv_conf(r);
	r->srvtext[0] = '\0';
	for (int i = 0; i < r->nsrv; i++) {
		server_text(&r->srv[i]);
		if (i)
			strcat(r->srvtext, ", ");
		strcat(r->srvtext, r->srv[i].text);
	}
	r->timeout_ms = cf->timeout_ms > 0 ? cf->timeout_ms : 2000;
	r->attempts = cf->attempts > 0 ? cf->attempts : 2;
	r->min_ttl = cf->min_ttl;
	r->max_ttl = cf->max_ttl ? cf->max_ttl : 86400;
	r->neg_ttl = cf->neg_ttl ? cf->neg_ttl : 60;
	r->no_cache = cf->no_cache;
	r->maxentries = cf->cache_size ? cf->cache_size : 20000;
	for (nb = 64; nb < r->maxentries; nb *= 2)
		;
	r->nbucket = nb;
	r->bucket = xcalloc(nb, sizeof(*r->bucket));
	pthread_mutex_init(&r->mu, NULL);
	return r;
}

const char *
dns_servers_text(struct dns_resolver *r)
{
	return r->srvtext;
}

/* ------------------------------------------------------------------ */
/* answers */

static void
answer_free(struct dns_answer *a)
{
	for (size_t i = 0; i < a->nrr; i++) {
		struct dns_rr *rr = &a->rr[i];

		switch (rr->type) {
		case DNS_T_MX:
			free(rr->u.mx.host);
			break;
		case DNS_T_PTR:
		case DNS_T_CNAME:
		case DNS_T_NS:
			free(rr->u.name);
			break;
		case DNS_T_TXT:
		case DNS_T_SPF:
			free(rr->u.txt.data);
			free(rr->u.txt.strlen);
			break;
		}
	}
	free(a->rr);
	free(a->qname);
	free(a->canonical);
	free(a->why);
	free(a);
}

void
dns_answer_release(const struct dns_answer *ca)
{
	struct dns_answer *a = (struct dns_answer *)ca;

	if (a == NULL)
		return;
	if (__atomic_sub_fetch(&a->refs, 1, __ATOMIC_ACQ_REL) == 0)
		answer_free(a);
}

static struct dns_answer *
answer_new(const char *name, int type)
{
	struct dns_answer *a = xcalloc(1, sizeof(*a));

	a->qname = xstrdup(name);
	a->canonical = xstrdup(name);
	a->qtype = (uint16_t)type;
	a->refs = 1;
	return a;
}

static struct dns_answer *
answer_fail(struct dns_answer *a, enum dns_status st, const char *fmt, ...)
    MT_PRINTF(3, 4);

static struct dns_answer *
answer_fail(struct dns_answer *a, enum dns_status st, const char *fmt, ...)
{
	va_list ap;
	char buf[512];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	a->status = st;
	free(a->why);
	a->why = xstrdup(buf);
	return a;
}

/* ------------------------------------------------------------------ */
/* packets */

static size_t
build_query(unsigned char *q, uint16_t id, const unsigned char *wname, int wlen,
    int type, int edns)
{
	size_t o = 0;

	q[o++] = id >> 8;
	q[o++] = id & 0xff;
	q[o++] = 0x01;			/* RD */
	q[o++] = 0x20;			/* AD (RFC 6840 5.7) */
	q[o++] = 0; q[o++] = 1;		/* QDCOUNT */
	q[o++] = 0; q[o++] = 0;		/* ANCOUNT */
	q[o++] = 0; q[o++] = 0;		/* NSCOUNT */
	q[o++] = 0; q[o++] = edns ? 1 : 0;	/* ARCOUNT */
	memcpy(q + o, wname, (size_t)wlen);
	o += (size_t)wlen;
	q[o++] = (unsigned char)(type >> 8);
	q[o++] = (unsigned char)type;
	q[o++] = 0; q[o++] = 1;		/* IN */
	if (edns) {
		q[o++] = 0;		/* root */
		q[o++] = 0; q[o++] = 41;	/* OPT */
		q[o++] = DNS_UDP_BUFSIZE >> 8;
		q[o++] = DNS_UDP_BUFSIZE & 0xff;
		q[o++] = 0; q[o++] = 0;	/* ext rcode, version */
		q[o++] = 0; q[o++] = 0;	/* flags */
		q[o++] = 0; q[o++] = 0;	/* rdlen */
	}
	return o;
}

/* Does the response answer our question (id, QR, question section)? */
static int
response_matches(const unsigned char *r, size_t len, const unsigned char *q,
    size_t qlen)
{
	size_t qsec;

	if (len < 12 || r[0] != q[0] || r[1] != q[1] || !(r[2] & 0x80))
		return 0;
	if (((r[2] >> 3) & 0xf) != 0)	/* opcode */
		return 0;
	if (r[4] != 0 || r[5] != 1)	/* QDCOUNT == 1 */
		return 0;
	/* question: wire name + type + class; compare name case-insensitively */
	qsec = qlen - 12 - ((q[11] == 1) ? 11 : 0);
	if (len < 12 + qsec)
		return 0;
	for (size_t i = 0; i < qsec; i++) {
		unsigned char a = r[12 + i], b = q[12 + i];

		if (a != b && ascii_lower(a) != ascii_lower(b))
			return 0;
	}
	return 1;
}

static int
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int
wait_fd(int fd, short ev, uint64_t deadline)
{
	for (;;) {
		uint64_t now = time_mono_ms();
		struct pollfd p = { .fd = fd, .events = ev };
		int n;

		if (now >= deadline)
			return 0;
		n = poll(&p, 1, (int)(deadline - now));
		if (n < 0 && errno == EINTR)
			continue;
		return n;
	}
}

/* UDP exchange: 1 answered, 0 timeout, -1 error. */
static int
exchange_udp(const struct dns_server *sv, const unsigned char *q, size_t qlen,
    unsigned char *r, size_t *rlen, int timeout_ms)
{
	uint64_t deadline = time_mono_ms() + (uint64_t)timeout_ms;
	int fd, rc = 0;

	fd = socket(sv->ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)&sv->ss, sv->sslen) < 0 ||
	    send(fd, q, qlen, 0) != (ssize_t)qlen) {
		close(fd);
		return -1;
	}
	for (;;) {
		ssize_t n;

		if (wait_fd(fd, POLLIN, deadline) <= 0)
			break;
		n = recv(fd, r, DNS_MAX_PACKET, 0);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			rc = -1;	/* e.g. ECONNREFUSED from ICMP */
			break;
		}
		if (response_matches(r, (size_t)n, q, qlen)) {
			*rlen = (size_t)n;
			rc = 1;
			break;
		}
		/* not ours (spoofed or late): keep waiting */
	}
	close(fd);
	return rc;
}

static int
read_full(int fd, unsigned char *p, size_t n, uint64_t deadline)
{
	while (n > 0) {
		ssize_t k;

		if (wait_fd(fd, POLLIN, deadline) <= 0)
			return 0;
		k = read(fd, p, n);
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 1;
}

static int
exchange_tcp(const struct dns_server *sv, const unsigned char *q, size_t qlen,
    unsigned char *r, size_t *rlen, int timeout_ms)
{
	uint64_t deadline = time_mono_ms() + (uint64_t)timeout_ms;
	unsigned char hdr[2];
	unsigned char out[2 + 512 + 64];
	size_t rl;
	int fd, rc;

	if (qlen + 2 > sizeof(out))
		return -1;
	fd = socket(sv->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	set_nonblock(fd);
	if (connect(fd, (const struct sockaddr *)&sv->ss, sv->sslen) < 0 &&
	    errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	if (wait_fd(fd, POLLOUT, deadline) <= 0) {
		close(fd);
		return 0;
	}
	{
		int e = 0;
		socklen_t el = sizeof(e);

		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0 || e) {
			close(fd);
			return -1;
		}
	}
	out[0] = (unsigned char)(qlen >> 8);
	out[1] = (unsigned char)qlen;
	memcpy(out + 2, q, qlen);
	if (write_all(fd, out, qlen + 2) < 0) {
		close(fd);
		return -1;
	}
	for (;;) {
		rc = read_full(fd, hdr, 2, deadline);
		if (rc <= 0)
			break;
		rl = ((size_t)hdr[0] << 8) | hdr[1];
		rc = read_full(fd, r, rl, deadline);
		if (rc <= 0)
			break;
		if (response_matches(r, rl, q, qlen)) {
			*rlen = rl;
			rc = 1;
			break;
		}
	}
	close(fd);
	return rc;
}

/* ------------------------------------------------------------------ */
/* parsing */

struct raw_rr {
	char		 owner[DNS_MAX_NAME + 2];
	int		 owner_ok;
	uint16_t	 type, class;
	uint32_t	 ttl;
	const unsigned char *rdata;
	uint16_t	 rdlen;
};

static int
unpack_name(const unsigned char *msg, size_t len, const unsigned char *p,
    char *out, size_t cap)
{
	unsigned char wire[NS_MAXCDNAME];

	if (ns_name_unpack(msg, msg + len, p, wire, sizeof(wire)) < 0)
		return -1;
	return wire_to_text(wire, out, cap);
}

/* Read one RR at *off; advances *off. */
static int
read_rr(const unsigned char *msg, size_t len, size_t *off, struct raw_rr *rr)
{
	const unsigned char *p = msg + *off;
	int n;

	rr->owner_ok = unpack_name(msg, len, p, rr->owner, sizeof(rr->owner)) == 0;
	n = ns_name_skip(&p, msg + len);
	if (n < 0 || (size_t)(p - msg) + 10 > len)
		return -1;
	rr->type = (uint16_t)((p[0] << 8) | p[1]);
	rr->class = (uint16_t)((p[2] << 8) | p[3]);
	rr->ttl = ((uint32_t)p[4] << 24) | ((uint32_t)p[5] << 16) |
	    ((uint32_t)p[6] << 8) | p[7];
	rr->rdlen = (uint16_t)((p[8] << 8) | p[9]);
	p += 10;
	if ((size_t)(p - msg) + rr->rdlen > len)
		return -1;
	rr->rdata = p;
	*off = (size_t)(p - msg) + rr->rdlen;
	if (rr->ttl > 0x7fffffff)	/* RFC 2181 8 */
		rr->ttl = 0;
	return 0;
}

/* Convert one raw RR of the type asked into a dns_rr; -1 if malformed. */
static int
convert_rr(const unsigned char *msg, size_t len, const struct raw_rr *raw,
    struct dns_rr *rr)
{
	char name[DNS_MAX_NAME + 2];

	memset(rr, 0, sizeof(*rr));
	rr->type = raw->type;
	rr->ttl = raw->ttl;
	switch (raw->type) {
	case DNS_T_A:
		if (raw->rdlen != 4)
			return -1;
		memcpy(&rr->u.a, raw->rdata, 4);
		return 0;
	case DNS_T_AAAA:
		if (raw->rdlen != 16)
			return -1;
		memcpy(&rr->u.aaaa, raw->rdata, 16);
		return 0;
	case DNS_T_MX:
		if (raw->rdlen < 3 || unpack_name(msg, len, raw->rdata + 2, name,
		    sizeof(name)) < 0)
			return -1;
		rr->u.mx.pref = (uint16_t)((raw->rdata[0] << 8) | raw->rdata[1]);
		rr->u.mx.host = xstrdup(name);
		return 0;
	case DNS_T_PTR:
	case DNS_T_CNAME:
	case DNS_T_NS:
		if (raw->rdlen < 1 || unpack_name(msg, len, raw->rdata, name,
		    sizeof(name)) < 0)
			return -1;
		rr->u.name = xstrdup(name);
		return 0;
	case DNS_T_TXT:
	case DNS_T_SPF: {
		size_t o = 0, n = 0, total = 0;

		while (o < raw->rdlen) {	/* validate first */
			size_t l = raw->rdata[o];

			if (o + 1 + l > raw->rdlen)
				return -1;
			o += 1 + l;
			total += l;
			n++;
		}
		if (n == 0)
			return -1;
		rr->u.txt.data = xmalloc(total + 1);
		rr->u.txt.strlen = xcalloc(n, sizeof(uint16_t));
		rr->u.txt.nstr = n;
		rr->u.txt.len = total;
		for (o = 0, n = 0, total = 0; o < raw->rdlen; n++) {
			size_t l = raw->rdata[o];

			memcpy(rr->u.txt.data + total, raw->rdata + o + 1, l);
			rr->u.txt.strlen[n] = (uint16_t)l;
			total += l;
			o += 1 + l;
		}
		rr->u.txt.data[total] = '\0';
		return 0;
	}
	}
	return -1;
}

/*
 * Take the records for *name (following CNAMEs within this response) out of
 * a response.  Returns 1 if the chain ends at a name with no data in this
 * response (caller may re-query *name), 0 otherwise.
 */
static int
extract(struct dns_answer *a, const unsigned char *msg, size_t len,
    char *name, size_t namecap, int *loop)
{
	size_t off = 12, ancount, nscount;
	const unsigned char *p = msg + 12;
	struct raw_rr raw;
	int found = 0, hops = 0;
	uint32_t minttl = UINT32_MAX;

	*loop = 0;
	ancount = ((size_t)msg[6] << 8) | msg[7];
	nscount = ((size_t)msg[8] << 8) | msg[9];
	if (ns_name_skip(&p, msg + len) < 0 || (size_t)(p - msg) + 4 > len)
		return -1;
	off = (size_t)(p - msg) + 4;

	/* follow CNAMEs first (they may come in any order) */
	for (int changed = 1; changed && hops <= DNS_MAX_CNAME_HOPS;) {
		size_t o = off;

		changed = 0;
		for (size_t i = 0; i < ancount; i++) {
			if (read_rr(msg, len, &o, &raw) < 0)
				return -1;
			if (raw.type == DNS_T_CNAME && a->qtype != DNS_T_CNAME &&
			    raw.owner_ok && names_equal(raw.owner, name)) {
				struct dns_rr rr;

				if (convert_rr(msg, len, &raw, &rr) < 0)
					return -1;
				if (names_equal(rr.u.name, a->qname) || hops == DNS_MAX_CNAME_HOPS) {
					free(rr.u.name);
					*loop = 1;
					return 0;
				}
				str_copy(name, rr.u.name, namecap);
				free(rr.u.name);
				if (raw.ttl < minttl)
					minttl = raw.ttl;
				hops++;
				a->cname_hops++;
				changed = 1;
				break;
			}
		}
	}
	if (a->cname_hops > DNS_MAX_CNAME_HOPS) {
		*loop = 1;
		return 0;
	}
	for (size_t i = 0; i < ancount; i++) {
		struct dns_rr rr;

		if (read_rr(msg, len, &off, &raw) < 0)
			return -1;
		if (raw.type != a->qtype || raw.class != 1 || !raw.owner_ok ||
		    !names_equal(raw.owner, name))
			continue;
		if (a->nrr >= DNS_MAX_RRS)
			continue;
		if (convert_rr(msg, len, &raw, &rr) < 0)
			continue;	/* a malformed RR is dropped, the rest kept */
		a->rr = xreallocarray(a->rr, a->nrr + 1, sizeof(*a->rr));
		a->rr[a->nrr++] = rr;
		if (raw.ttl < minttl)
			minttl = raw.ttl;
		found = 1;
	}
	if (found) {
		a->ttl = minttl;
		return 0;
	}
	/* negative: TTL from the SOA in the authority section (RFC 2308 5) */
	for (size_t i = 0; i < nscount; i++) {
		/* RFC 1035 4.1.1: the header counts the records that follow; a
		 * message cut short of them is malformed, not a negative answer */
		if (read_rr(msg, len, &off, &raw) < 0)
			return -1;
		if (raw.type == DNS_T_SOA && raw.rdlen >= 22) {
			const unsigned char *m = raw.rdata + raw.rdlen - 4;
			uint32_t soamin = ((uint32_t)m[0] << 24) | ((uint32_t)m[1] << 16) |
			    ((uint32_t)m[2] << 8) | m[3];

			minttl = raw.ttl < soamin ? raw.ttl : soamin;
			a->ttl = minttl;
			return hops > 0 ? 1 : 0;
		}
	}
	a->ttl = UINT32_MAX;	/* no SOA: caller uses neg_ttl */
	return hops > 0 ? 1 : 0;
}

enum step {
	STEP_DONE,	/* a's status is final */
	STEP_REQUERY,	/* the CNAME chain left this response: ask for cur */
	STEP_FAILED	/* a is a TEMPFAIL answer (malformed, CNAME loop) */
};

/*
 * One response (rcode already taken from it) for the name cur: the records
 * go into a, cur follows the CNAMEs in it, and a's status is set when this
 * response settles the question.
 */
static enum step
take_response(struct dns_answer *a, const unsigned char *resp, size_t rlen,
    int rcode, char *cur, size_t curcap)
{
	int more, loop;

	a->rcode = rcode;
	more = extract(a, resp, rlen, cur, curcap, &loop);
	if (more < 0) {
		answer_fail(a, DNS_TEMPFAIL, "%s %s: malformed answer",
		    dns_type_name(a->qtype), cur);
		return STEP_FAILED;
	}
	if (loop) {
		answer_fail(a, DNS_TEMPFAIL, "%s %s: CNAME loop",
		    dns_type_name(a->qtype), a->qname);
		return STEP_FAILED;
	}
	free(a->canonical);
	a->canonical = xstrdup(cur);
	if (a->nrr > 0) {
		a->status = DNS_OK;
		return STEP_DONE;
	}
	if (rcode == 3) {
		a->status = DNS_NXDOMAIN;
		return STEP_DONE;
	}
	if (!more) {
		a->status = DNS_NODATA;
		return STEP_DONE;
	}
	return STEP_REQUERY;
}

int
dns_parse_response(const unsigned char *pkt, size_t len, const char *qname,
    int qtype, struct dns_answer **out)
{
	struct dns_answer *a = answer_new(qname, qtype);
	char cur[DNS_MAX_NAME + 2];
	enum step st;

	*out = a;
	if (len < DNS_HEADER_LEN) {
		answer_fail(a, DNS_TEMPFAIL, "%s %s: malformed answer",
		    dns_type_name(qtype), qname);
		return -1;
	}
	str_copy(cur, qname, sizeof(cur));
	{
		size_t n = strlen(cur);

		if (n > 1 && cur[n - 1] == '.')
			cur[n - 1] = '\0';
	}
	if (!dns_name_ok(cur)) {
		answer_fail(a, DNS_BADNAME, "\"%s\" is not a valid DNS name "
		    "(empty label, label over 63 octets, or over 253 octets)", qname);
		return -1;
	}
	a->secure = (pkt[3] & 0x20) != 0;
	st = take_response(a, pkt, len, pkt[3] & 0x0f, cur, sizeof(cur));
	return st == STEP_FAILED ? -1 : st == STEP_REQUERY ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* cache */

static uint32_t
key_hash(const char *k, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)k[i];
		h *= 16777619u;
	}
	return h;
}

static char *
make_key(const char *name, int type, size_t *klen)
{
	size_t n = strlen(name);
	char *k;

	if (n && name[n - 1] == '.')
		n--;
	k = xmalloc(n + 8);
	for (size_t i = 0; i < n; i++)
		k[i] = (char)ascii_lower((unsigned char)name[i]);
	*klen = n + (size_t)snprintf(k + n, 8, "/%d", type);
	return k;
}

static void
lru_unlink(struct dns_resolver *r, struct cache_entry *e)
{
	if (e->lprev)
		e->lprev->lnext = e->lnext;
	else
		r->lru_head = e->lnext;
	if (e->lnext)
		e->lnext->lprev = e->lprev;
	else
		r->lru_tail = e->lprev;
	e->lprev = e->lnext = NULL;
}

static void
lru_push(struct dns_resolver *r, struct cache_entry *e)
{
	e->lprev = NULL;
	e->lnext = r->lru_head;
	if (r->lru_head)
		r->lru_head->lprev = e;
	r->lru_head = e;
	if (r->lru_tail == NULL)
		r->lru_tail = e;
}

static void
cache_remove(struct dns_resolver *r, struct cache_entry *e)
{
	struct cache_entry **pp = &r->bucket[e->hash & (r->nbucket - 1)];

	while (*pp && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = e->hnext;
	lru_unlink(r, e);
	dns_answer_release(e->ans);
	free(e->key);
	free(e);
	r->nentries--;
}

/* Called with r->mu held.  Returns a new reference or NULL. */
static struct dns_answer *
cache_get(struct dns_resolver *r, const char *key, size_t klen, uint32_t h)
{
	struct cache_entry *e;

	for (e = r->bucket[h & (r->nbucket - 1)]; e; e = e->hnext) {
		if (e->hash == h && strcmp(e->key, key) == 0) {
			if (time_mono_ms() >= e->expires_ms) {
				cache_remove(r, e);
				return NULL;
			}
			lru_unlink(r, e);
			lru_push(r, e);
			__atomic_add_fetch(&e->ans->refs, 1, __ATOMIC_ACQ_REL);
			return e->ans;
		}
	}
	(void)klen;
	return NULL;
}

static void
cache_put(struct dns_resolver *r, char *key, uint32_t h, struct dns_answer *a)
{
	struct cache_entry *e, **b;

	for (e = r->bucket[h & (r->nbucket - 1)]; e; e = e->hnext)
		if (e->hash == h && strcmp(e->key, key) == 0) {
			cache_remove(r, e);
			break;
		}
	while (r->nentries >= r->maxentries && r->lru_tail)
		cache_remove(r, r->lru_tail);
	e = xcalloc(1, sizeof(*e));
	e->key = key;
	e->hash = h;
	e->expires_ms = time_mono_ms() + (uint64_t)a->ttl * 1000;
	e->ans = a;
	__atomic_add_fetch(&a->refs, 1, __ATOMIC_ACQ_REL);
	b = &r->bucket[h & (r->nbucket - 1)];
	e->hnext = *b;
	*b = e;
	lru_push(r, e);
	r->nentries++;
}

void
dns_cache_flush(struct dns_resolver *r)
{
	pthread_mutex_lock(&r->mu);
	while (r->lru_tail)
		cache_remove(r, r->lru_tail);
	pthread_mutex_unlock(&r->mu);
}

void
dns_resolver_free(struct dns_resolver *r)
{
	if (r == NULL)
		return;
	dns_cache_flush(r);
	pthread_mutex_destroy(&r->mu);
	free(r->bucket);
	free(r);
}

void
dns_stats_get(struct dns_resolver *r, struct dns_stats *s)
{
	pthread_mutex_lock(&r->mu);
	*s = r->stats;
	pthread_mutex_unlock(&r->mu);
}

static void
stat_add(struct dns_resolver *r, uint64_t *field, uint64_t n)
{
	pthread_mutex_lock(&r->mu);
	*field += n;
	pthread_mutex_unlock(&r->mu);
}

/* ------------------------------------------------------------------ */
/* lookup */

/*
 * Ask the servers about one name.  Fills resp; returns the rcode, or -1 with
 * why set when no usable response came.
 */
static int
query_servers(struct dns_resolver *r, const char *name, int type,
    unsigned char *resp, size_t *rlen, char *why, size_t whylen)
{
	unsigned char wname[NS_MAXCDNAME], q[512 + 64];
	int wl, edns = 1, timeouts = 0, lastrc = -1;
	size_t ql;
	char failed[DNS_MAX_SERVERS] = { 0 };

	wl = name_to_wire(name, wname, sizeof(wname));
	if (wl < 0) {
		snprintf(why, whylen, "invalid name");
		return -1;
	}
	for (int attempt = 0; attempt < r->attempts; attempt++) {
		for (int s = 0; s < r->nsrv; s++) {
			const struct dns_server *sv = &r->srv[s];
			int rc, rcode;

			if (failed[s])
				continue;
			ql = build_query(q, (uint16_t)arc4random(), wname, wl, type, edns);
			stat_add(r, &r->stats.queries, 1);
			rc = exchange_udp(sv, q, ql, resp, rlen, r->timeout_ms);
			if (rc == 1 && (resp[2] & 0x02)) {	/* TC: retry over TCP */
				stat_add(r, &r->stats.tcp_fallbacks, 1);
				rc = exchange_tcp(sv, q, ql, resp, rlen, r->timeout_ms);
			}
			if (rc == 0) {
				timeouts++;
				stat_add(r, &r->stats.timeouts, 1);
				snprintf(why, whylen, "no answer from %s within %d ms",
				    sv->text, r->timeout_ms);
				continue;
			}
			if (rc < 0) {
				failed[s] = 1;
				snprintf(why, whylen, "%s unreachable", sv->text);
				continue;
			}
			rcode = resp[3] & 0x0f;
			if (rcode == 1 && edns) {	/* FORMERR: try without EDNS */
				edns = 0;
				s--;
				continue;
			}
			if (rcode == 0 || rcode == 3)
				return rcode;
			failed[s] = 1;
			lastrc = rcode;
			snprintf(why, whylen, "%s from %s", rcode == 2 ? "SERVFAIL" :
			    rcode == 5 ? "REFUSED" : rcode == 4 ? "NOTIMP" : "error rcode",
			    sv->text);
		}
	}
	if (timeouts && lastrc < 0 && strstr(why, "within") == NULL)
		snprintf(why, whylen, "timeout");
	return -1;
}

static struct dns_answer *
resolve(struct dns_resolver *r, const char *name, int type)
{
	struct dns_answer *a = answer_new(name, type);
	unsigned char *resp = xmalloc(DNS_MAX_PACKET);
	char cur[DNS_MAX_NAME + 2], why[256] = "";
	int secure = 1;

	str_copy(cur, name, sizeof(cur));
	{
		size_t n = strlen(cur);

		if (n > 1 && cur[n - 1] == '.')
			cur[n - 1] = '\0';
	}
	if (!dns_name_ok(cur)) {
		free(resp);
		return answer_fail(a, DNS_BADNAME, "\"%s\" is not a valid DNS name "
		    "(empty label, label over 63 octets, or over 253 octets)", name);
	}
	for (int step = 0; step <= DNS_MAX_CNAME_HOPS; step++) {
		size_t rlen = 0;
		int rcode;
		enum step st;

		rcode = query_servers(r, cur, type, resp, &rlen, why, sizeof(why));
		if (rcode < 0) {
			free(resp);
			stat_add(r, &r->stats.tempfails, 1);
			return answer_fail(a, DNS_TEMPFAIL, "%s %s: %s", dns_type_name(type),
			    cur, why);
		}
		if (!(resp[3] & 0x20))
			secure = 0;
		st = take_response(a, resp, rlen, rcode, cur, sizeof(cur));
		if (st == STEP_FAILED) {
			free(resp);
			return a;
		}
		if (st == STEP_DONE)
			break;
		/* the chain ended at a name the server did not resolve: ask it */
		if (step == DNS_MAX_CNAME_HOPS) {
			free(resp);
			return answer_fail(a, DNS_TEMPFAIL, "%s %s: CNAME chain too long",
			    dns_type_name(type), name);
		}
	}
	free(resp);
	a->secure = secure;
	if (a->status != DNS_OK && a->ttl == UINT32_MAX)
		a->ttl = r->neg_ttl;
	if (a->ttl < r->min_ttl)
		a->ttl = r->min_ttl;
	if (a->ttl > r->max_ttl)
		a->ttl = r->max_ttl;
	return a;
}

const struct dns_answer *
dns_lookup(struct dns_resolver *r, const char *name, int type)
{
	struct dns_answer *a;
	size_t klen;
	char *key = make_key(name, type, &klen);
	uint32_t h = key_hash(key, klen);

	pthread_mutex_lock(&r->mu);
	r->stats.lookups++;
	a = r->no_cache ? NULL : cache_get(r, key, klen, h);
	if (a != NULL) {
		r->stats.cache_hits++;
		pthread_mutex_unlock(&r->mu);
		free(key);
		return a;
	}
	pthread_mutex_unlock(&r->mu);

	a = resolve(r, name, type);
	if (!r->no_cache && (a->status == DNS_OK || a->status == DNS_NODATA ||
	    a->status == DNS_NXDOMAIN) && a->ttl > 0) {
		pthread_mutex_lock(&r->mu);
		cache_put(r, key, h, a);
		pthread_mutex_unlock(&r->mu);
		return a;
	}
	free(key);
	return a;
}
