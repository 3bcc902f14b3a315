/*
 * fuzz_proxy - the PROXY protocol v1/v2 parser (smtpd/proxy.c) fed in
 * arbitrary pieces, and its trusted-network list (proxy_cidr_*).
 *
 * Input: a mode byte; mode even: up to 8 cut positions (count in the mode
 * byte), then the octets a proxy (or an attacker) sends first; mode odd:
 * a proxy_trusted entry ("192.0.2.0/24"), then 16 octets of address.
 *
 * Invariants, header mode:
 *  - one piece and any pieces give the same status, the same octets used,
 *    the same result (local, src, dst); feeding after DONE or ERROR uses
 *    nothing and changes nothing;
 *  - while MORE, every octet given is used and proxy_want() asks for at
 *    least one more without passing PROXY_MAX_HEADER;
 *  - DONE v1: the octets used are a line "PROXY ...\r\n" of at most 107
 *    octets (spec 2.1) with no other CR or LF, no control or 8-bit octet;
 *    TCP4/TCP6 give that family in src and dst with the line's ports;
 *  - DONE v2: the octets used are the 16 fixed ones plus the length field,
 *    at most PROXY_V2_MAX_LEN; a PROXY command over TCP4/TCP6 gives the
 *    addresses and ports from the address block;
 *  - ERROR: a reason.
 * CIDR mode: a parsed entry has bits within its family's length and no
 * host bits; its own network address matches it, an address with a bit
 * flipped inside the prefix does not, one flipped outside does.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/util.h"
#include "../../smtpd/proxy.h"
#include "fuzz.h"

#define MAX_CUTS	8

static const unsigned char sig2[12] = {
	0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A
};

struct result {
	enum proxy_status	 st;
	size_t			 used;
	struct proxy_parser	 p;
};

static void
feed(const uint8_t *d, size_t n, const size_t *cuts, size_t ncuts, struct result *r)
{
	size_t pos = 0;

	proxy_init(&r->p);
	r->st = PROXY_MORE;
	r->used = 0;
	for (size_t c = 0; c <= ncuts; c++) {
		size_t end = c < ncuts ? cuts[c] : n, u = 0;

		if (end < pos || end == pos)
			continue;
		if (r->st == PROXY_MORE) {
			size_t want = proxy_want(&r->p);

			FUZZ_CHECK(want >= 1 && r->p.len + want <= PROXY_MAX_HEADER + 1,
			    "want %zu at %zu", want, r->p.len);
		}
		r->st = proxy_feed(&r->p, d + pos, end - pos, &u);
		FUZZ_CHECK(u <= end - pos, "used %zu of %zu", u, end - pos);
		if (r->st == PROXY_MORE)
			FUZZ_CHECK(u == end - pos, "MORE but used %zu of %zu", u, end - pos);
		r->used += u;
		pos = end;
	}
	if (r->st != PROXY_MORE) {
		struct proxy_parser copy = r->p;
		size_t u = 99;

		FUZZ_CHECK(proxy_feed(&r->p, "x\r\n", 3, &u) == r->st && u == 0,
		    "feeding after the end used %zu", u);
		FUZZ_CHECK(memcmp(&copy, &r->p, sizeof(copy)) == 0, "feeding after the end "
		    "changed the parser");
		FUZZ_CHECK(proxy_want(&r->p) == 0, "want after the end");
	}
}

static uint16_t
port_of(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? ntohs(((const struct sockaddr_in *)ss)->sin_port) :
	    ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

static void
check_v1(const struct result *r, const uint8_t *d)
{
	char line[PROXY_V1_MAX + 1], *f[7], *save = NULL;
	int nf = 0;

	FUZZ_CHECK(r->used >= 8 && r->used <= PROXY_V1_MAX, "v1 header of %zu octets",
	    r->used);
	FUZZ_CHECK(memcmp(d, "PROXY ", 6) == 0, "v1 without \"PROXY \"");
	FUZZ_CHECK(d[r->used - 2] == '\r' && d[r->used - 1] == '\n', "v1 without CRLF");
	for (size_t i = 0; i + 2 < r->used; i++)
		FUZZ_CHECK(d[i] >= 0x20 && d[i] <= 0x7e, "octet %#x in a v1 line", d[i]);
	memcpy(line, d, r->used - 2);
	line[r->used - 2] = '\0';
	for (char *t = strtok_r(line, " ", &save); t && nf < 7; t = strtok_r(NULL, " ", &save))
		f[nf++] = t;
	if (r->p.local) {
		FUZZ_CHECK(nf >= 2 && strcmp(f[1], "UNKNOWN") == 0, "local v1 not UNKNOWN");
		return;
	}
	FUZZ_CHECK(nf == 6, "%d fields in an accepted v1 line", nf);
	FUZZ_CHECK(memmem(d, r->used - 2, "  ", 2) == NULL && d[r->used - 3] != ' ',
	    "v1 fields not separated by single spaces");
	FUZZ_CHECK(r->p.src.ss_family == (strcmp(f[1], "TCP4") == 0 ? AF_INET : AF_INET6) &&
	    r->p.dst.ss_family == r->p.src.ss_family, "family for %s", f[1]);
	FUZZ_CHECK(port_of(&r->p.src) == atoi(f[4]) && port_of(&r->p.dst) == atoi(f[5]),
	    "ports %u %u for %s %s", port_of(&r->p.src), port_of(&r->p.dst), f[4], f[5]);
}

static void
check_v2(const struct result *r, const uint8_t *d)
{
	size_t len;
	unsigned cmd, fam;

	FUZZ_CHECK(r->used >= PROXY_V2_FIXED && memcmp(d, sig2, 12) == 0, "v2 signature");
	len = (size_t)d[14] << 8 | d[15];
	FUZZ_CHECK(len <= PROXY_V2_MAX_LEN && r->used == PROXY_V2_FIXED + len,
	    "v2 header of %zu octets, length field %zu", r->used, len);
	FUZZ_CHECK((d[12] >> 4) == 2, "v2 version %u", d[12] >> 4);
	cmd = d[12] & 0xf;
	fam = d[13] >> 4;
	if (cmd == 0 || fam == 0) {
		FUZZ_CHECK(r->p.local, "LOCAL/UNSPEC not local");
		return;
	}
	FUZZ_CHECK(cmd == 1 && (fam == 1 || fam == 2) && (d[13] & 0xf) == 1 && !r->p.local,
	    "v2 command %u family %u protocol %u accepted", cmd, fam, d[13] & 0xf);
	if (fam == 1) {
		const struct sockaddr_in *s = (const void *)&r->p.src;

		FUZZ_CHECK(len >= 12 && s->sin_family == AF_INET &&
		    memcmp(&s->sin_addr, d + 16, 4) == 0 && port_of(&r->p.src) ==
		    ((unsigned)d[24] << 8 | d[25]), "v2 TCP4 source");
	} else {
		const struct sockaddr_in6 *s = (const void *)&r->p.src;

		FUZZ_CHECK(len >= 36 && s->sin6_family == AF_INET6 &&
		    memcmp(&s->sin6_addr, d + 16, 16) == 0 && port_of(&r->p.src) ==
		    ((unsigned)d[48] << 8 | d[49]), "v2 TCP6 source");
	}
}

static void
cidr_mode(const uint8_t *d, size_t n)
{
	struct proxy_cidr c;
	char *text;
	size_t tl = n > 16 ? n - 16 : 0;
	struct sockaddr_storage ss;
	unsigned char a[16];

	text = xmalloc(tl + 1);
	memcpy(text, d, tl);
	text[tl] = '\0';
	if (proxy_cidr_parse(text, &c) < 0) {
		free(text);
		return;
	}
	FUZZ_CHECK((c.family == AF_INET && c.bits >= 0 && c.bits <= 32) ||
	    (c.family == AF_INET6 && c.bits >= 0 && c.bits <= 128), "cidr %s: %d bits",
	    text, c.bits);
	for (int i = c.bits; i < (c.family == AF_INET ? 32 : 128); i++)
		FUZZ_CHECK(!(c.addr[i / 8] & (0x80 >> (i % 8))), "host bit %d set in %s", i, text);
	memset(&ss, 0, sizeof(ss));
	memcpy(a, c.addr, 16);
	for (int flip = -1; flip < 2; flip++) {
		int max = c.family == AF_INET ? 32 : 128, bit, expect = 1;

		memcpy(a, c.addr, 16);
		if (flip >= 0) {
			/* a bit from the address octets: inside or outside the prefix */
			unsigned r = n >= 16 ? d[n - 16 + flip] : 0;

			if (flip == 0 && c.bits > 0) {
				bit = (int)(r % (unsigned)c.bits);
				expect = 0;
			} else if (flip == 1 && c.bits < max)
				bit = c.bits + (int)(r % (unsigned)(max - c.bits));
			else
				continue;
			a[bit / 8] ^= (unsigned char)(0x80 >> (bit % 8));
		}
		if (c.family == AF_INET) {
			struct sockaddr_in *s = (struct sockaddr_in *)&ss;
			struct sockaddr_in6 *m = (struct sockaddr_in6 *)&ss;

			s->sin_family = AF_INET;
			memcpy(&s->sin_addr, a, 4);
			FUZZ_CHECK(proxy_cidr_match(&c, (struct sockaddr *)&ss) == expect,
			    "%s vs IPv4 address (flip %d)", text, flip);
			/* the IPv4-mapped IPv6 form matches the same way */
			memset(&ss, 0, sizeof(ss));
			m->sin6_family = AF_INET6;
			m->sin6_addr.s6_addr[10] = m->sin6_addr.s6_addr[11] = 0xff;
			memcpy(&m->sin6_addr.s6_addr[12], a, 4);
			FUZZ_CHECK(proxy_cidr_match(&c, (struct sockaddr *)&ss) == expect,
			    "%s vs IPv4-mapped address (flip %d)", text, flip);
		} else {
			struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;

			s->sin6_family = AF_INET6;
			memcpy(&s->sin6_addr, a, 16);
			FUZZ_CHECK(IN6_IS_ADDR_V4MAPPED(&s->sin6_addr) ||
			    proxy_cidr_match(&c, (struct sockaddr *)&ss) == expect,
			    "%s vs IPv6 address (flip %d)", text, flip);
		}
		memset(&ss, 0, sizeof(ss));
	}
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	unsigned mode = fuzz_byte(&in);
	size_t ncuts, cuts[MAX_CUTS];
	struct result whole, split;

	if (mode & 1) {
		cidr_mode(in.p, in.n);
		return 0;
	}
	ncuts = (mode >> 1) % (MAX_CUTS + 1);
	for (size_t i = 0; i < ncuts; i++)
		cuts[i] = fuzz_byte(&in);
	for (size_t i = 0; i < ncuts; i++)
		cuts[i] = in.n ? cuts[i] * (in.n + 1) / 256 : 0;
	for (size_t i = 1; i < ncuts; i++)
		for (size_t j = i; j > 0 && cuts[j - 1] > cuts[j]; j--) {
			size_t t = cuts[j];

			cuts[j] = cuts[j - 1];
			cuts[j - 1] = t;
		}
	feed(in.p, in.n, NULL, 0, &whole);
	feed(in.p, in.n, cuts, ncuts, &split);
	FUZZ_CHECK(whole.st == split.st && whole.used == split.used &&
	    whole.p.local == split.p.local && whole.p.srclen == split.p.srclen &&
	    memcmp(&whole.p.src, &split.p.src, sizeof(whole.p.src)) == 0 &&
	    memcmp(&whole.p.dst, &split.p.dst, sizeof(whole.p.dst)) == 0,
	    "pieces change the outcome: status %d/%d used %zu/%zu", whole.st, split.st,
	    whole.used, split.used);
	if (whole.st == PROXY_ERROR)
		FUZZ_CHECK(whole.p.error != NULL && whole.p.error[0], "error without a reason");
	if (whole.st == PROXY_DONE) {
		if (whole.p.version == 1)
			check_v1(&whole, in.p);
		else
			check_v2(&whole, in.p);
	}
	return 0;
}
