/* proxy.c - the PROXY protocol parser: see proxy.h */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "proxy.h"

/* proxy-protocol.txt 2.2 */
static const unsigned char proxy_v2_sig[12] = {
	0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A
};
#define PROXY_V1_PREFIX		"PROXY "
#define PROXY_V2_VERSION	0x2
#define PROXY_V2_CMD_LOCAL	0x0
#define PROXY_V2_CMD_PROXY	0x1
#define PROXY_V2_AF_UNSPEC	0x0
#define PROXY_V2_AF_INET	0x1
#define PROXY_V2_AF_INET6	0x2
#define PROXY_V2_AF_UNIX	0x3
#define PROXY_V2_STREAM		0x1
#define PROXY_V2_INET_LEN	12	/* 4 + 4 + 2 + 2 */
#define PROXY_V2_INET6_LEN	36	/* 16 + 16 + 2 + 2 */
/* the longest v1 field: an IPv6 address in text */
#define PROXY_V1_FIELD		(INET6_ADDRSTRLEN + 1)

void
proxy_init(struct proxy_parser *p)
{
	memset(p, 0, sizeof(*p));
	p->status = PROXY_MORE;
}

static enum proxy_status
proxy_fail(struct proxy_parser *p, const char *why)
{
	p->status = PROXY_ERROR;
	p->error = why;
	return PROXY_ERROR;
}

/* ---- version 1 ------------------------------------------------------------ */

/* Next space-separated field of the line; -1 if empty or too long. */
static int
proxy_v1_field(const char **pp, const char *end, char *out, size_t outlen, int last)
{
	const char *p = *pp, *q = p;
	size_t n;

	while (q < end && *q != ' ')
		q++;
	n = (size_t)(q - p);
	if (n == 0 || n >= outlen)
		return -1;
	if (last ? q != end : (q == end || q + 1 == end))
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	*pp = q < end ? q + 1 : q;
	return 0;
}

static int
proxy_v1_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 5 || (s[0] == '0' && n > 1))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

static int
proxy_v1_addr(int family, const char *ip, const char *port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	uint16_t pn;

	memset(ss, 0, sizeof(*ss));
	if (proxy_v1_port(port, &pn) < 0)
		return -1;
	if (family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, ip, &s->sin_addr) != 1)
			return -1;
		s->sin_family = AF_INET;
		s->sin_port = htons(pn);
		*len = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;

		if (strchr(ip, ':') == NULL || inet_pton(AF_INET6, ip, &s->sin6_addr) != 1)
			return -1;
		s->sin6_family = AF_INET6;
		s->sin6_port = htons(pn);
		*len = sizeof(*s);
	}
	return 0;
}

/* The complete line (without CRLF) in buf[0..n). */
static enum proxy_status
proxy_v1_line(struct proxy_parser *p, size_t n)
{
	const char *line = (const char *)p->buf, *end = line + n, *q;
	char proto[8], src[PROXY_V1_FIELD], dst[PROXY_V1_FIELD], sport[8], dport[8];
	int family;

	q = line + strlen(PROXY_V1_PREFIX);
	if ((size_t)(end - q) >= 7 && memcmp(q, "UNKNOWN", 7) == 0 &&
	    (q + 7 == end || q[7] == ' ')) {
		/* spec 2.1: the rest of an UNKNOWN line is ignored */
		p->local = 1;
		p->status = PROXY_DONE;
		return PROXY_DONE;
	}
	if (proxy_v1_field(&q, end, proto, sizeof(proto), 0) < 0)
		return proxy_fail(p, "v1: missing protocol");
	if (strcmp(proto, "TCP4") == 0)
		family = AF_INET;
	else if (strcmp(proto, "TCP6") == 0)
		family = AF_INET6;
	else
		return proxy_fail(p, "v1: protocol is not TCP4, TCP6 or UNKNOWN");
	if (proxy_v1_field(&q, end, src, sizeof(src), 0) < 0 ||
	    proxy_v1_field(&q, end, dst, sizeof(dst), 0) < 0 ||
	    proxy_v1_field(&q, end, sport, sizeof(sport), 0) < 0 ||
	    proxy_v1_field(&q, end, dport, sizeof(dport), 1) < 0)
		return proxy_fail(p, "v1: expected SRC DST SPORT DPORT");
	if (proxy_v1_addr(family, src, sport, &p->src, &p->srclen) < 0 ||
	    proxy_v1_addr(family, dst, dport, &p->dst, &p->dstlen) < 0)
		return proxy_fail(p, "v1: bad address or port");
	p->status = PROXY_DONE;
	return PROXY_DONE;
}

static enum proxy_status
proxy_v1_feed(struct proxy_parser *p, const unsigned char *d, size_t n, size_t *used)
{
	size_t prefix = strlen(PROXY_V1_PREFIX);

	for (size_t i = 0; i < n; i++) {
		unsigned char c = d[i];

		*used = i + 1;
		if (p->len < prefix && c != (unsigned char)PROXY_V1_PREFIX[p->len])
			return proxy_fail(p, "v1: does not start with \"PROXY \"");
		if (p->len > 0 && p->buf[p->len - 1] == '\r') {
			if (c != '\n')
				return proxy_fail(p, "v1: CR not followed by LF");
			return proxy_v1_line(p, p->len - 1);
		}
		if (c != '\r' && (c < 0x20 || c > 0x7e))
			return proxy_fail(p, "v1: control or non-ASCII octet");
		if (p->len + 1 >= PROXY_V1_MAX)	/* room for the LF still to come */
			return proxy_fail(p, "v1: line longer than 107 octets");
		p->buf[p->len++] = c;
	}
	return PROXY_MORE;
}

/* ---- version 2 ------------------------------------------------------------ */

static uint16_t
proxy_be16(const unsigned char *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

/*
 * Octets 13-16 are checked as each arrives, so that a bad header is refused
 * at once rather than after a wait for octets that may never come.
 */
static enum proxy_status
proxy_v2_check(struct proxy_parser *p)
{
	unsigned ver = p->buf[12] >> 4, cmd = p->buf[12] & 0xf;
	unsigned fam, proto;
	size_t len;

	switch (p->len) {
	case 13:
		if (ver != PROXY_V2_VERSION)
			return proxy_fail(p, "v2: version is not 2");
		if (cmd != PROXY_V2_CMD_LOCAL && cmd != PROXY_V2_CMD_PROXY)
			return proxy_fail(p, "v2: command is not LOCAL or PROXY");
		return PROXY_MORE;
	case 14:
		fam = p->buf[13] >> 4;
		proto = p->buf[13] & 0xf;
		/* LOCAL: the addresses, if any, are not used; UNSPEC: none given */
		if (cmd == PROXY_V2_CMD_LOCAL || fam == PROXY_V2_AF_UNSPEC)
			return PROXY_MORE;
		if (fam != PROXY_V2_AF_INET && fam != PROXY_V2_AF_INET6)
			return proxy_fail(p, "v2: only TCP over IPv4 or IPv6 is accepted");
		if (proto != PROXY_V2_STREAM)
			return proxy_fail(p, "v2: only TCP (STREAM) is accepted");
		return PROXY_MORE;
	case PROXY_V2_FIXED:
		fam = p->buf[13] >> 4;
		len = proxy_be16(p->buf + 14);
		if (len > PROXY_V2_MAX_LEN)
			return proxy_fail(p, "v2: header longer than 1024 octets");
		if (cmd == PROXY_V2_CMD_PROXY && (fam == PROXY_V2_AF_INET ||
		    fam == PROXY_V2_AF_INET6) && len < (fam == PROXY_V2_AF_INET ?
		    PROXY_V2_INET_LEN : PROXY_V2_INET6_LEN))
			return proxy_fail(p, "v2: address block too short for its family");
		return PROXY_MORE;
	default:
		return PROXY_MORE;
	}
}

static void
proxy_v2_addrs(struct proxy_parser *p)
{
	const unsigned char *a = p->buf + PROXY_V2_FIXED;

	if ((p->buf[12] & 0xf) == PROXY_V2_CMD_LOCAL || (p->buf[13] >> 4) == PROXY_V2_AF_UNSPEC) {
		p->local = 1;
		return;
	}
	memset(&p->src, 0, sizeof(p->src));
	memset(&p->dst, 0, sizeof(p->dst));
	if ((p->buf[13] >> 4) == PROXY_V2_AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&p->src;
		struct sockaddr_in *d = (struct sockaddr_in *)&p->dst;

		s->sin_family = d->sin_family = AF_INET;
		memcpy(&s->sin_addr, a, 4);
		memcpy(&d->sin_addr, a + 4, 4);
		memcpy(&s->sin_port, a + 8, 2);
		memcpy(&d->sin_port, a + 10, 2);
		p->srclen = p->dstlen = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&p->src;
		struct sockaddr_in6 *d = (struct sockaddr_in6 *)&p->dst;

		s->sin6_family = d->sin6_family = AF_INET6;
		memcpy(&s->sin6_addr, a, 16);
		memcpy(&d->sin6_addr, a + 16, 16);
		memcpy(&s->sin6_port, a + 32, 2);
		memcpy(&d->sin6_port, a + 34, 2);
		p->srclen = p->dstlen = sizeof(*s);
	}
}

static enum proxy_status
proxy_v2_feed(struct proxy_parser *p, const unsigned char *d, size_t n, size_t *used)
{
	size_t i = 0;

	while (i < n) {
		size_t total;

		if (p->len < sizeof(proxy_v2_sig)) {
			if (d[i] != proxy_v2_sig[p->len]) {
				*used = i + 1;
				return proxy_fail(p, "v2: bad signature");
			}
			p->buf[p->len++] = d[i++];
			continue;
		}
		if (p->len < PROXY_V2_FIXED) {
			p->buf[p->len++] = d[i++];
			if (proxy_v2_check(p) == PROXY_ERROR) {
				*used = i;
				return PROXY_ERROR;
			}
			if (p->len < PROXY_V2_FIXED)
				continue;
		} else {
			size_t take;

			total = PROXY_V2_FIXED + proxy_be16(p->buf + 14);
			take = total - p->len < n - i ? total - p->len : n - i;
			memcpy(p->buf + p->len, d + i, take);
			p->len += take;
			i += take;
		}
		total = PROXY_V2_FIXED + proxy_be16(p->buf + 14);
		if (p->len == total) {
			*used = i;
			proxy_v2_addrs(p);
			p->status = PROXY_DONE;
			return PROXY_DONE;
		}
	}
	*used = n;
	return PROXY_MORE;
}

/* ---- the entry points ------------------------------------------------------ */

enum proxy_status
proxy_feed(struct proxy_parser *p, const void *data, size_t n, size_t *used)
{
	const unsigned char *d = data;

	*used = 0;
	if (p->status != PROXY_MORE || n == 0)
		return p->status;
	if (p->version == 0) {
		if (d[0] == (unsigned char)PROXY_V1_PREFIX[0])
			p->version = 1;
		else if (d[0] == proxy_v2_sig[0])
			p->version = 2;
		else {
			*used = 1;
			return proxy_fail(p, "not a PROXY protocol header");
		}
	}
	return p->version == 1 ? proxy_v1_feed(p, d, n, used) : proxy_v2_feed(p, d, n, used);
}

size_t
proxy_want(const struct proxy_parser *p)
{
	if (p->status != PROXY_MORE)
		return 0;
	if (p->version == 2) {
		if (p->len < PROXY_V2_FIXED)
			return PROXY_V2_FIXED - p->len;
		return PROXY_V2_FIXED + proxy_be16(p->buf + 14) - p->len;
	}
	if (p->version == 1)
		return PROXY_V1_MAX - p->len;
	/* unknown yet: a v2 header is at least 16 octets, a v1 line at least 15 */
	return PROXY_V2_FIXED - 1;
}

/* ---- trusted networks ----------------------------------------------------- */

int
proxy_cidr_parse(const char *s, struct proxy_cidr *c)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	int max;

	memset(c, 0, sizeof(*c));
	if (n == 0 || n >= sizeof(addr))
		return -1;
	memcpy(addr, s, n);
	addr[n] = '\0';
	if (inet_pton(AF_INET, addr, c->addr) == 1) {
		c->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, c->addr) == 1) {
		c->family = AF_INET6;
		max = 128;
	} else
		return -1;
	c->bits = max;
	if (slash) {
		const char *b = slash + 1;
		int v = 0;

		if (*b == '\0' || strlen(b) > 3 || (b[0] == '0' && b[1] != '\0'))
			return -1;
		for (; *b; b++) {
			if (*b < '0' || *b > '9')
				return -1;
			v = v * 10 + (*b - '0');
		}
		if (v > max)
			return -1;
		c->bits = v;
	}
	/* host bits set ("192.0.2.1/24") is almost always a typo: refuse it */
	for (int i = c->bits; i < max; i++)
		if (c->addr[i / 8] & (0x80 >> (i % 8)))
			return -1;
	return 0;
}

int
proxy_cidr_match(const struct proxy_cidr *c, const struct sockaddr *sa)
{
	const unsigned char *a;
	int family = sa->sa_family;

	if (family == AF_INET) {
		a = (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
	} else if (family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		a = (const unsigned char *)a6;
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			family = AF_INET;
			a += 12;
		}
	} else
		return 0;
	if (family != c->family)
		return 0;
	for (int i = 0; i < c->bits; i++) {
		unsigned char m = (unsigned char)(0x80 >> (i % 8));

		if ((a[i / 8] & m) != (c->addr[i / 8] & m))
			return 0;
	}
	return 1;
}
