/* test_proxy - smtpd/proxy.c: PROXY protocol v1/v2 headers, fed whole, one
 * octet at a time and split at every position, with client data behind
 * them; the trusted-network list. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../smtpd/proxy.h"
#include "t.h"

#define SIG	"\r\n\r\n\0\r\nQUIT\n"
#define SMTP	"EHLO client.example\r\n"

struct pcase {
	const char	*label;
	const char	*in;
	size_t		 len;		/* header octets (0: strlen) */
	enum proxy_status want;		/* fed the header alone */
	int		 local;
	const char	*src;		/* expected client address */
	int		 sport;
};

#define V2(...)	((const char[]){ __VA_ARGS__ })

static const struct pcase cases[] = {
	{ "v1 tcp4", "PROXY TCP4 192.0.2.7 198.51.100.1 56324 25\r\n", 0, PROXY_DONE, 0,
	    "192.0.2.7", 56324 },
	{ "v1 tcp6", "PROXY TCP6 2001:db8::7 2001:db8::1 65535 25\r\n", 0, PROXY_DONE, 0,
	    "2001:db8::7", 65535 },
	{ "v1 port 0", "PROXY TCP4 192.0.2.7 198.51.100.1 0 25\r\n", 0, PROXY_DONE, 0,
	    "192.0.2.7", 0 },
	{ "v1 unknown bare", "PROXY UNKNOWN\r\n", 0, PROXY_DONE, 1, NULL, 0 },
	{ "v1 unknown with addresses", "PROXY UNKNOWN ffff:f::1 ffff:f::2 1 2\r\n", 0,
	    PROXY_DONE, 1, NULL, 0 },
	{ "v1 longest line (107)", "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n", 0, PROXY_DONE, 1, NULL, 0 },
	{ "v1 108 octets", "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 655350\r\n", 0, PROXY_ERROR, 0, NULL, 0 },
	{ "v1 no CRLF within 107", "PROXY TCP4 192.0.2.7 198.51.100.1 56324 25 "
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 0,
	    PROXY_ERROR, 0, NULL, 0 },
	{ "v1 lower case", "proxy TCP4 192.0.2.7 198.51.100.1 1 25\r\n", 0, PROXY_ERROR, 0,
	    NULL, 0 },
	{ "v1 UDP4", "PROXY UDP4 192.0.2.7 198.51.100.1 1 25\r\n", 0, PROXY_ERROR, 0, NULL, 0 },
	{ "v1 tcp4 with v6 address", "PROXY TCP4 2001:db8::7 2001:db8::1 1 25\r\n", 0,
	    PROXY_ERROR, 0, NULL, 0 },
	{ "v1 tcp6 with v4 address", "PROXY TCP6 192.0.2.7 198.51.100.1 1 25\r\n", 0,
	    PROXY_ERROR, 0, NULL, 0 },
	{ "v1 double space", "PROXY TCP4  192.0.2.7 198.51.100.1 1 25\r\n", 0, PROXY_ERROR, 0,
	    NULL, 0 },
	{ "v1 trailing space", "PROXY TCP4 192.0.2.7 198.51.100.1 1 25 \r\n", 0, PROXY_ERROR,
	    0, NULL, 0 },
	{ "v1 missing port", "PROXY TCP4 192.0.2.7 198.51.100.1 1\r\n", 0, PROXY_ERROR, 0,
	    NULL, 0 },
	{ "v1 extra field", "PROXY TCP4 192.0.2.7 198.51.100.1 1 25 9\r\n", 0, PROXY_ERROR, 0,
	    NULL, 0 },
	{ "v1 port 65536", "PROXY TCP4 192.0.2.7 198.51.100.1 65536 25\r\n", 0, PROXY_ERROR, 0,
	    NULL, 0 },
	{ "v1 port leading zero", "PROXY TCP4 192.0.2.7 198.51.100.1 025 25\r\n", 0,
	    PROXY_ERROR, 0, NULL, 0 },
	{ "v1 port sign", "PROXY TCP4 192.0.2.7 198.51.100.1 +25 25\r\n", 0, PROXY_ERROR, 0,
	    NULL, 0 },
	{ "v1 address out of range", "PROXY TCP4 192.0.2.700 198.51.100.1 1 25\r\n", 0,
	    PROXY_ERROR, 0, NULL, 0 },
	{ "v1 bare LF", "PROXY TCP4 192.0.2.7 198.51.100.1 1 25\n", 0, PROXY_ERROR, 0, NULL, 0 },
	{ "v1 CR inside", "PROXY TCP4 192.0.2.7\r 198.51.100.1 1 25\r\n", 0, PROXY_ERROR, 0,
	    NULL, 0 },
	{ "v1 NUL inside", "PROXY TCP4 192.0.2.7\0 198.51.100.1 1 25\r\n", 41, PROXY_ERROR, 0,
	    NULL, 0 },
	{ "v1 8-bit octet", "PROXY TCP4 192.0.2.7 198.51.100.1 1 25\xff\r\n", 0, PROXY_ERROR,
	    0, NULL, 0 },
	{ "not PROXY: SMTP", "EHLO client.example\r\n", 0, PROXY_ERROR, 0, NULL, 0 },
	{ "not PROXY: TLS hello", "\x16\x03\x01\x02\x00", 0, PROXY_ERROR, 0, NULL, 0 },
	{ "v1 empty protocol", "PROXY \r\n", 0, PROXY_ERROR, 0, NULL, 0 },

	/* version 2: signature, ver/cmd, fam/proto, length (big endian) */
	{ "v2 tcp4", V2(SIG "\x21\x11\x00\x0c" "\xc0\x00\x02\x07" "\xc6\x33\x64\x01"
	    "\xdc\x04" "\x00\x19"), 28, PROXY_DONE, 0, "192.0.2.7", 56324 },
	{ "v2 tcp6", V2(SIG "\x21\x21\x00\x24"
	    "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x07"
	    "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01" "\x30\x39" "\x00\x19"), 52,
	    PROXY_DONE, 0, "2001:db8::7", 12345 },
	{ "v2 tcp4 with TLVs", V2(SIG "\x21\x11\x00\x14" "\xc0\x00\x02\x07" "\xc6\x33\x64\x01"
	    "\xdc\x04" "\x00\x19" "\x05\x00\x05" "abcde"), 36, PROXY_DONE, 0, "192.0.2.7", 56324 },
	{ "v2 local, no addresses", V2(SIG "\x20\x00\x00\x00"), 16, PROXY_DONE, 1, NULL, 0 },
	{ "v2 local with addresses", V2(SIG "\x20\x11\x00\x0c" "\xc0\x00\x02\x07"
	    "\xc6\x33\x64\x01" "\xdc\x04" "\x00\x19"), 28, PROXY_DONE, 1, NULL, 0 },
	{ "v2 proxy unspec", V2(SIG "\x21\x00\x00\x00"), 16, PROXY_DONE, 1, NULL, 0 },
	{ "v2 version 1", V2(SIG "\x11\x11\x00\x0c" "\xc0\x00\x02\x07" "\xc6\x33\x64\x01"
	    "\xdc\x04" "\x00\x19"), 28, PROXY_ERROR, 0, NULL, 0 },
	{ "v2 command 2", V2(SIG "\x22\x11\x00\x0c" "\xc0\x00\x02\x07" "\xc6\x33\x64\x01"
	    "\xdc\x04" "\x00\x19"), 28, PROXY_ERROR, 0, NULL, 0 },
	{ "v2 udp4", V2(SIG "\x21\x12\x00\x0c" "\xc0\x00\x02\x07" "\xc6\x33\x64\x01"
	    "\xdc\x04" "\x00\x19"), 28, PROXY_ERROR, 0, NULL, 0 },
	{ "v2 unix stream", V2(SIG "\x21\x31\x00\x00"), 16, PROXY_ERROR, 0, NULL, 0 },
	{ "v2 family 4", V2(SIG "\x21\x41\x00\x00"), 16, PROXY_ERROR, 0, NULL, 0 },
	{ "v2 tcp4 block too short", V2(SIG "\x21\x11\x00\x0b" "\xc0\x00\x02\x07"
	    "\xc6\x33\x64\x01" "\xdc\x04" "\x00"), 27, PROXY_ERROR, 0, NULL, 0 },
	{ "v2 tcp6 block too short", V2(SIG "\x21\x21\x00\x0c" "\xc0\x00\x02\x07"
	    "\xc6\x33\x64\x01" "\xdc\x04" "\x00\x19"), 28, PROXY_ERROR, 0, NULL, 0 },
	{ "v2 length 1025", V2(SIG "\x21\x11\x04\x01"), 16, PROXY_ERROR, 0, NULL, 0 },
	/* swaks 20201014's "LOCAL": command 0x2 and only 15 octets - refused at
	 * the 13th, not after a wait for a 16th that never comes */
	{ "v2 command 2 refused early", V2(SIG "\x22\x00\x00"), 15, PROXY_ERROR, 0, NULL, 0 },
	{ "v2 bad signature", V2("\r\n\r\n\0\r\nQUIX\n" "\x21\x11\x00\x0c"), 16, PROXY_ERROR,
	    0, NULL, 0 },
};

static void
addr_text(const struct sockaddr_storage *ss, char *ip, size_t n, int *port)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &s->sin_addr, ip, (socklen_t)n);
		*port = ntohs(s->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &s->sin6_addr, ip, (socklen_t)n);
		*port = ntohs(s->sin6_port);
	} else {
		snprintf(ip, n, "-");
		*port = -1;
	}
}

/* Feed in[0..len) in chunks of `chunk` (0 = all at once); returns the status
 * and the total octets used. */
static enum proxy_status
feed_split(struct proxy_parser *p, const char *in, size_t len, size_t split,
    size_t chunk, size_t *total)
{
	enum proxy_status st = PROXY_MORE;
	size_t off = 0, used;

	proxy_init(p);
	*total = 0;
	while (off < len && st == PROXY_MORE) {
		size_t n = len - off;

		if (chunk && n > chunk)
			n = chunk;
		if (split && off < split && off + n > split)
			n = split - off;
		T_OK(proxy_want(p) > 0, "want > 0 while more is needed");
		st = proxy_feed(p, in + off, n, &used);
		T_OK(used <= n, "used within the chunk");
		if (st == PROXY_MORE)
			T_EQ_INT(used, n, "every octet of an incomplete header is header");
		*total += used;
		off += n;
	}
	return st;
}

static void
check_case(const struct pcase *c)
{
	size_t hlen = c->len ? c->len : strlen(c->in), total, used;
	char *buf = malloc(hlen + sizeof(SMTP));
	struct proxy_parser p;
	char ip[INET6_ADDRSTRLEN], label[200];
	int port;
	enum proxy_status st;

	memcpy(buf, c->in, hlen);
	memcpy(buf + hlen, SMTP, sizeof(SMTP) - 1);
	/* whole, with the client's first command behind it */
	st = feed_split(&p, buf, hlen + sizeof(SMTP) - 1, 0, 0, &total);
	snprintf(label, sizeof(label), "%s: whole", c->label);
	T_EQ_INT(st, c->want, label);
	if (c->want == PROXY_DONE) {
		snprintf(label, sizeof(label), "%s: used stops at the header's end", c->label);
		T_EQ_INT(total, hlen, label);
		snprintf(label, sizeof(label), "%s: local", c->label);
		T_EQ_INT(p.local, c->local, label);
		if (c->src) {
			addr_text(&p.src, ip, sizeof(ip), &port);
			snprintf(label, sizeof(label), "%s: client address", c->label);
			T_EQ_STR(ip, c->src, label);
			snprintf(label, sizeof(label), "%s: client port", c->label);
			T_EQ_INT(port, c->sport, label);
		}
		snprintf(label, sizeof(label), "%s: nothing more after DONE", c->label);
		T_EQ_INT(proxy_feed(&p, SMTP, 4, &used), PROXY_DONE, label);
		T_EQ_INT(used, 0, label);
	} else if (c->want == PROXY_ERROR) {
		snprintf(label, sizeof(label), "%s: error text", c->label);
		T_OK(p.error != NULL && p.error[0] != '\0', label);
	}
	/* one octet at a time */
	st = feed_split(&p, buf, hlen + sizeof(SMTP) - 1, 0, 1, &total);
	snprintf(label, sizeof(label), "%s: octet by octet", c->label);
	T_EQ_INT(st, c->want, label);
	if (c->want == PROXY_DONE)
		T_EQ_INT(total, hlen, label);
	/* two pieces, split at every position */
	for (size_t k = 1; k < hlen; k++) {
		st = feed_split(&p, buf, hlen + sizeof(SMTP) - 1, k, 0, &total);
		snprintf(label, sizeof(label), "%s: split at %zu", c->label, k);
		T_EQ_INT(st, c->want, label);
		if (c->want == PROXY_DONE)
			T_EQ_INT(total, hlen, label);
	}
	free(buf);
}

static void
check_incomplete(void)
{
	static const char v1[] = "PROXY TCP4 192.0.2.7 198.51.100.1 56324 25\r";
	static const char v2[] = SIG "\x21\x11\x00\x0c" "\xc0\x00\x02";
	struct proxy_parser p;
	size_t used;

	proxy_init(&p);
	T_EQ_INT(proxy_feed(&p, v1, sizeof(v1) - 1, &used), PROXY_MORE, "v1 without the LF");
	T_EQ_INT(used, sizeof(v1) - 1, "v1 partial: all used");
	T_EQ_INT(proxy_want(&p), PROXY_V1_MAX - (sizeof(v1) - 1), "v1 want: up to 107");
	proxy_init(&p);
	T_EQ_INT(proxy_feed(&p, v2, sizeof(v2) - 1, &used), PROXY_MORE, "v2 partial addresses");
	T_EQ_INT(proxy_want(&p), 28 - (sizeof(v2) - 1), "v2 want: exactly the rest");
	proxy_init(&p);
	T_EQ_INT(proxy_feed(&p, SIG "\x22", 13, &used), PROXY_ERROR,
	    "v2 bad command refused at the 13th octet");
	proxy_init(&p);
	T_EQ_INT(proxy_feed(&p, SIG "\x21\x31", 14, &used), PROXY_ERROR,
	    "v2 UNIX refused at the 14th octet");
	proxy_init(&p);
	T_EQ_INT(proxy_feed(&p, "", 0, &used), PROXY_MORE, "nothing fed");
	T_EQ_INT(proxy_want(&p), 15, "want before the first octet");
}

static void
check_cidr(void)
{
	static const struct {
		const char *cidr, *addr;
		int ok, match;
	} c[] = {
		{ "127.0.0.1", "127.0.0.1", 1, 1 },
		{ "127.0.0.1", "127.0.0.2", 1, 0 },
		{ "10.0.0.0/8", "10.200.3.4", 1, 1 },
		{ "10.0.0.0/8", "11.0.0.1", 1, 0 },
		{ "192.0.2.0/25", "192.0.2.127", 1, 1 },
		{ "192.0.2.0/25", "192.0.2.128", 1, 0 },
		{ "0.0.0.0/0", "203.0.113.9", 1, 1 },
		{ "0.0.0.0/0", "2001:db8::1", 1, 0 },
		{ "2001:db8::/32", "2001:db8:ffff::1", 1, 1 },
		{ "2001:db8::/32", "2001:db9::1", 1, 0 },
		{ "::1", "::1", 1, 1 },
		{ "127.0.0.0/8", "::ffff:127.0.0.5", 1, 1 },	/* v4-mapped peer */
		{ "192.0.2.1/24", NULL, 0, 0 },		/* host bits set */
		{ "192.0.2.0/33", NULL, 0, 0 },
		{ "2001:db8::/129", NULL, 0, 0 },
		{ "192.0.2.0/", NULL, 0, 0 },
		{ "192.0.2.0/08", NULL, 0, 0 },
		{ "192.0.2.0/x", NULL, 0, 0 },
		{ "localhost", NULL, 0, 0 },
		{ "", NULL, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct proxy_cidr pc;
		struct sockaddr_storage ss;
		char label[160];

		snprintf(label, sizeof(label), "cidr %s parses: %d", c[i].cidr, c[i].ok);
		T_EQ_INT(proxy_cidr_parse(c[i].cidr, &pc) == 0, c[i].ok, label);
		if (!c[i].ok)
			continue;
		memset(&ss, 0, sizeof(ss));
		if (strchr(c[i].addr, ':')) {
			ss.ss_family = AF_INET6;
			inet_pton(AF_INET6, c[i].addr, &((struct sockaddr_in6 *)&ss)->sin6_addr);
		} else {
			ss.ss_family = AF_INET;
			inet_pton(AF_INET, c[i].addr, &((struct sockaddr_in *)&ss)->sin_addr);
		}
		snprintf(label, sizeof(label), "cidr %s vs %s", c[i].cidr, c[i].addr);
		T_EQ_INT(proxy_cidr_match(&pc, (struct sockaddr *)&ss), c[i].match, label);
	}
}

int
main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_case(&cases[i]);
	check_incomplete();
	check_cidr();
	return t_done("test_proxy");
}
