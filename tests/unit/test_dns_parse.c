/*
 * test_dns_parse - common/dns.c's response parser (dns_parse_response(),
 * the code dns_lookup() runs on each packet) on hand-built packets:
 * compression loops, pointers past the end, truncated RRs, TXT strings
 * longer than their RR, CNAME chains and loops, the root (0-length) name,
 * negative answers and their TTL (RFC 2308 5), the RR cap.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/dns.h"
#include "../../common/util.h"
#include "t.h"

#define QNAME_OFF	12	/* the question name: a compression target */

struct pkt {
	unsigned char	b[8192];
	size_t		n;
};

static void
put(struct pkt *p, const void *d, size_t n)
{
	if (p->n + n > sizeof(p->b))
		fatal("test packet too large");
	memcpy(p->b + p->n, d, n);
	p->n += n;
}

static void
u16(struct pkt *p, unsigned v)
{
	unsigned char b[2] = { (unsigned char)(v >> 8), (unsigned char)v };

	put(p, b, 2);
}

static void
u32(struct pkt *p, uint32_t v)
{
	u16(p, v >> 16);
	u16(p, v & 0xffff);
}

/* Dotted name in wire form, uncompressed ("" is the root). */
static void
name(struct pkt *p, const char *s)
{
	while (*s) {
		size_t l = strcspn(s, ".");
		unsigned char c = (unsigned char)l;

		put(p, &c, 1);
		put(p, s, l);
		s += l;
		if (*s == '.')
			s++;
	}
	put(p, "", 1);
}

static void
ptr(struct pkt *p, unsigned off)
{
	u16(p, 0xc000 | off);
}

/* Header and question (example.com unless qname is given). */
static void
start(struct pkt *p, unsigned flags, unsigned an, unsigned ns, const char *qname,
    unsigned qtype)
{
	p->n = 0;
	u16(p, 0x1234);
	u16(p, flags);
	u16(p, 1);
	u16(p, an);
	u16(p, ns);
	u16(p, 0);
	name(p, qname ? qname : "example.com");
	u16(p, qtype);
	u16(p, 1);
}

/* Type, class IN, TTL and RDLENGTH after an owner already put. */
static void
rrhead(struct pkt *p, unsigned type, uint32_t ttl, unsigned rdlen)
{
	u16(p, type);
	u16(p, 1);
	u32(p, ttl);
	u16(p, rdlen);
}

static void
rr_a(struct pkt *p, const char *owner, uint32_t ttl, const char *ip4)
{
	unsigned char a[4];

	sscanf(ip4, "%hhu.%hhu.%hhu.%hhu", &a[0], &a[1], &a[2], &a[3]);
	if (owner)
		name(p, owner);
	else
		ptr(p, QNAME_OFF);
	rrhead(p, DNS_T_A, ttl, 4);
	put(p, a, 4);
}

static void
rr_cname(struct pkt *p, const char *owner, const char *target)
{
	struct pkt t = { .n = 0 };

	name(&t, target);
	if (owner)
		name(p, owner);
	else
		ptr(p, QNAME_OFF);
	rrhead(p, DNS_T_CNAME, 300, (unsigned)t.n);
	put(p, t.b, t.n);
}

static int
parse(const struct pkt *p, const char *qname, int qtype, struct dns_answer **a)
{
	return dns_parse_response(p->b, p->n, qname, qtype, a);
}

/* SOA for the question name: MNAME and RNAME ".", then 5 numbers. */
static void
soa(struct pkt *p, uint32_t ttl, uint32_t minimum)
{
	ptr(p, QNAME_OFF);
	rrhead(p, DNS_T_SOA, ttl, 2 + 20);
	put(p, "\0\0", 2);
	u32(p, 1);
	u32(p, 7200);
	u32(p, 900);
	u32(p, 1209600);
	u32(p, minimum);
}

#define NOERROR		0x8180
#define NXDOMAIN	0x8183

static void
test_plain(void)
{
	struct pkt p;
	struct dns_answer *a;
	char buf[64];

	start(&p, NOERROR | 0x20, 2, 0, NULL, DNS_T_A);
	rr_a(&p, NULL, 300, "192.0.2.1");
	rr_a(&p, "EXAMPLE.Com", 0x80000000u, "192.0.2.2");
	T_EQ_INT(parse(&p, "example.com", DNS_T_A, &a), 0, "A: settled");
	T_EQ_INT(a->status, DNS_OK, "A: ok");
	T_EQ_INT(a->nrr, 2, "A: two RRs, owner compared without case");
	T_EQ_STR(dns_rr_addr_text(&a->rr[0], buf, sizeof(buf)), "192.0.2.1", "A: address");
	T_EQ_INT(a->rr[1].ttl, 0, "A: TTL over 2^31-1 is 0 (RFC 2181 8)");
	T_EQ_INT(a->ttl, 0, "A: answer TTL is the smallest");
	T_EQ_INT(a->secure, 1, "A: AD bit");
	T_EQ_STR(a->canonical, "example.com", "A: canonical");
	dns_answer_release(a);

	T_EQ_INT(dns_parse_response(p.b, 11, "example.com", DNS_T_A, &a), -1,
	    "11 octets: shorter than a header");
	T_EQ_INT(a->status, DNS_TEMPFAIL, "short: tempfail");
	T_OK(a->why && strstr(a->why, "malformed"), "short: why");
	dns_answer_release(a);

	T_EQ_INT(parse(&p, "", DNS_T_A, &a), -1, "empty qname");
	T_EQ_INT(a->status, DNS_BADNAME, "empty qname: badname");
	dns_answer_release(a);
}

static void
test_compression(void)
{
	struct pkt p;
	struct dns_answer *a;
	size_t self;

	/* the owner of the only RR is a pointer to itself */
	start(&p, NOERROR, 1, 0, NULL, DNS_T_A);
	self = p.n;
	ptr(&p, (unsigned)self);
	rrhead(&p, DNS_T_A, 60, 4);
	put(&p, "\xc0\x00\x02\x01", 4);
	T_EQ_INT(parse(&p, "example.com", DNS_T_A, &a), 0, "owner loop: no crash, settled");
	T_EQ_INT(a->status, DNS_NODATA, "owner loop: the RR is ignored");
	dns_answer_release(a);

	/* a CNAME whose target is a pointer to itself */
	start(&p, NOERROR, 1, 0, NULL, DNS_T_A);
	ptr(&p, QNAME_OFF);
	rrhead(&p, DNS_T_CNAME, 60, 2);
	ptr(&p, (unsigned)p.n);
	T_EQ_INT(parse(&p, "example.com", DNS_T_A, &a), -1, "CNAME target loop");
	T_EQ_INT(a->status, DNS_TEMPFAIL, "CNAME target loop: tempfail");
	T_OK(a->why && strstr(a->why, "malformed"), "CNAME target loop: malformed");
	dns_answer_release(a);

	/* two names pointing at each other, in an MX */
	start(&p, NOERROR, 1, 0, NULL, DNS_T_MX);
	ptr(&p, QNAME_OFF);
	rrhead(&p, DNS_T_MX, 60, 6);
	u16(&p, 10);
	ptr(&p, (unsigned)p.n + 2);
	ptr(&p, (unsigned)p.n - 2);
	T_EQ_INT(parse(&p, "example.com", DNS_T_MX, &a), 0, "MX host loop: settled");
	T_EQ_INT(a->status, DNS_NODATA, "MX host loop: the RR is dropped");
	dns_answer_release(a);

	/* pointers past the end: in the owner, in a PTR target */
	start(&p, NOERROR, 1, 0, NULL, DNS_T_A);
	ptr(&p, 0x3ff);
	rrhead(&p, DNS_T_A, 60, 4);
	put(&p, "\xc0\x00\x02\x01", 4);
	T_EQ_INT(parse(&p, "example.com", DNS_T_A, &a), 0, "owner pointer past end");
	T_EQ_INT(a->status, DNS_NODATA, "owner pointer past end: RR ignored");
	dns_answer_release(a);

	start(&p, NOERROR, 1, 0, "1.2.0.192.in-addr.arpa", DNS_T_PTR);
	ptr(&p, QNAME_OFF);
	rrhead(&p, DNS_T_PTR, 60, 2);
	ptr(&p, 0x3ff);
	T_EQ_INT(parse(&p, "1.2.0.192.in-addr.arpa", DNS_T_PTR, &a), 0,
	    "PTR target past end");
	T_EQ_INT(a->status, DNS_NODATA, "PTR target past end: RR dropped");
	dns_answer_release(a);

	/* a compressed name that is fine: the target is "mx." + question */
	start(&p, NOERROR, 1, 0, NULL, DNS_T_MX);
	ptr(&p, QNAME_OFF);
	rrhead(&p, DNS_T_MX, 60, 7);
	u16(&p, 5);
	put(&p, "\x02mx", 3);
	ptr(&p, QNAME_OFF);
	T_EQ_INT(parse(&p, "example.com", DNS_T_MX, &a), 0, "compressed MX");
	T_OK(a->nrr == 1 && strcmp(a->rr[0].u.mx.host, "mx.example.com") == 0 &&
	    a->rr[0].u.mx.pref == 5, "compressed MX: host and preference");
	dns_answer_release(a);
}

static void
test_truncated(void)
{
	struct pkt p;
	struct dns_answer *a;

	/* RDLENGTH runs past the end of the packet */
	start(&p, NOERROR, 1, 0, NULL, DNS_T_A);
	ptr(&p, QNAME_OFF);
	rrhead(&p, DNS_T_A, 60, 64);
	put(&p, "\xc0\x00", 2);
	T_EQ_INT(parse(&p, "example.com", DNS_T_A, &a), -1, "rdlength past end");
	T_EQ_INT(a->status, DNS_TEMPFAIL, "rdlength past end: tempfail");
	dns_answer_release(a);

	/* the fixed part of the RR is cut */
	start(&p, NOERROR, 1, 0, NULL, DNS_T_A);
	ptr(&p, QNAME_OFF);
	u16(&p, DNS_T_A);
	u16(&p, 1);
	T_EQ_INT(parse(&p, "example.com", DNS_T_A, &a), -1, "RR header cut");
	dns_answer_release(a);

	/* ANCOUNT promises more RRs than there are */
	start(&p, NOERROR, 3, 0, NULL, DNS_T_A);
	rr_a(&p, NULL, 60, "192.0.2.1");
	T_EQ_INT(parse(&p, "example.com", DNS_T_A, &a), -1, "ANCOUNT lies");
	T_EQ_INT(a->status, DNS_TEMPFAIL, "ANCOUNT lies: tempfail");
	dns_answer_release(a);

	/* the question itself is cut */
	start(&p, NOERROR, 0, 0, NULL, DNS_T_A);
	p.n -= 3;
	T_EQ_INT(parse(&p, "example.com", DNS_T_A, &a), -1, "question cut");
	dns_answer_release(a);

	/* an A RR of 3 octets is dropped, the good one kept */
	start(&p, NOERROR, 2, 0, NULL, DNS_T_A);
	ptr(&p, QNAME_OFF);
	rrhead(&p, DNS_T_A, 60, 3);
	put(&p, "\xc0\x00\x02", 3);
	rr_a(&p, NULL, 60, "192.0.2.9");
	T_EQ_INT(parse(&p, "example.com", DNS_T_A, &a), 0, "short A RR");
	T_EQ_INT(a->nrr, 1, "short A RR: dropped, the other kept");
	dns_answer_release(a);
}

static void
test_txt(void)
{
	struct pkt p;
	struct dns_answer *a;

	/* one RR whose string claims 9 octets inside an RDLENGTH of 4, then a good one */
	start(&p, NOERROR, 2, 0, NULL, DNS_T_TXT);
	ptr(&p, QNAME_OFF);
	rrhead(&p, DNS_T_TXT, 60, 4);
	put(&p, "\x09" "abc", 4);
	ptr(&p, QNAME_OFF);
	rrhead(&p, DNS_T_TXT, 60, 11);
	put(&p, "\x04v=sp\x05" "f1 -a", 11);
	T_EQ_INT(parse(&p, "example.com", DNS_T_TXT, &a), 0, "TXT string past rdlen");
	T_EQ_INT(a->nrr, 1, "TXT string past rdlen: that RR dropped");
	if (a->nrr == 1) {
		T_EQ_STR(a->rr[0].u.txt.data, "v=spf1 -a", "TXT strings concatenated");
		T_EQ_INT(a->rr[0].u.txt.nstr, 2, "TXT string count");
		T_EQ_INT(a->rr[0].u.txt.strlen[1], 5, "TXT second length");
	}
	dns_answer_release(a);

	/* only the bad one: no data */
	start(&p, NOERROR, 1, 0, NULL, DNS_T_TXT);
	ptr(&p, QNAME_OFF);
	rrhead(&p, DNS_T_TXT, 60, 1);
	put(&p, "\x01", 1);
	T_EQ_INT(parse(&p, "example.com", DNS_T_TXT, &a), 0, "TXT length 1 > rdlen 0");
	T_EQ_INT(a->status, DNS_NODATA, "TXT bad only: nodata");
	dns_answer_release(a);

	/* RDLENGTH 0: no character-string at all */
	start(&p, NOERROR, 1, 0, NULL, DNS_T_TXT);
	ptr(&p, QNAME_OFF);
	rrhead(&p, DNS_T_TXT, 60, 0);
	T_EQ_INT(parse(&p, "example.com", DNS_T_TXT, &a), 0, "TXT rdlen 0");
	T_EQ_INT(a->status, DNS_NODATA, "TXT rdlen 0: dropped");
	dns_answer_release(a);

	/* a NUL inside the data is kept, counted by len */
	start(&p, NOERROR, 1, 0, NULL, DNS_T_TXT);
	ptr(&p, QNAME_OFF);
	rrhead(&p, DNS_T_TXT, 60, 4);
	put(&p, "\x03" "a\0b", 4);
	T_EQ_INT(parse(&p, "example.com", DNS_T_TXT, &a), 0, "TXT with NUL");
	T_OK(a->nrr == 1 && a->rr[0].u.txt.len == 3 && a->rr[0].u.txt.data[1] == '\0' &&
	    a->rr[0].u.txt.data[3] == '\0', "TXT with NUL: len 3, terminated");
	dns_answer_release(a);
}

static void
test_cname(void)
{
	struct pkt p;
	struct dns_answer *a;

	/* chain inside the response, in reverse order */
	start(&p, NOERROR, 3, 0, "a.example.com", DNS_T_A);
	rr_a(&p, "c.example.net", 60, "192.0.2.7");
	rr_cname(&p, "b.example.com", "c.example.net");
	rr_cname(&p, NULL, "b.example.com");
	T_EQ_INT(parse(&p, "a.example.com", DNS_T_A, &a), 0, "CNAME chain");
	T_EQ_INT(a->status, DNS_OK, "CNAME chain: ok");
	T_EQ_INT(a->cname_hops, 2, "CNAME chain: 2 hops");
	T_EQ_STR(a->canonical, "c.example.net", "CNAME chain: canonical");
	dns_answer_release(a);

	/* chain leaving the response: the caller asks again */
	start(&p, NOERROR, 1, 0, "a.example.com", DNS_T_TXT);
	rr_cname(&p, NULL, "elsewhere.example.net");
	T_EQ_INT(parse(&p, "a.example.com", DNS_T_TXT, &a), 1, "CNAME out: re-query");
	T_EQ_STR(a->canonical, "elsewhere.example.net", "CNAME out: next name");
	dns_answer_release(a);

	/* a loop back to the name asked */
	start(&p, NOERROR, 2, 0, "a.example.com", DNS_T_A);
	rr_cname(&p, NULL, "b.example.com");
	rr_cname(&p, "b.example.com", "A.example.com");
	T_EQ_INT(parse(&p, "a.example.com", DNS_T_A, &a), -1, "CNAME loop");
	T_OK(a->status == DNS_TEMPFAIL && a->why && strstr(a->why, "CNAME loop"),
	    "CNAME loop: tempfail, said so");
	dns_answer_release(a);

	/* a chain longer than DNS_MAX_CNAME_HOPS that never comes back */
	start(&p, NOERROR, DNS_MAX_CNAME_HOPS + 2, 0, "a.example.com", DNS_T_A);
	rr_cname(&p, NULL, "h0.example.com");
	for (int i = 0; i <= DNS_MAX_CNAME_HOPS; i++) {
		char o[32], t[32];

		snprintf(o, sizeof(o), "h%d.example.com", i);
		snprintf(t, sizeof(t), "h%d.example.com", i + 1);
		rr_cname(&p, o, t);
	}
	T_EQ_INT(parse(&p, "a.example.com", DNS_T_A, &a), -1, "long CNAME chain");
	T_EQ_INT(a->status, DNS_TEMPFAIL, "long CNAME chain: tempfail");
	T_OK(a->cname_hops <= DNS_MAX_CNAME_HOPS, "long CNAME chain: bounded hops");
	dns_answer_release(a);

	/* asking for the CNAME itself does not follow it */
	start(&p, NOERROR, 1, 0, "a.example.com", DNS_T_CNAME);
	rr_cname(&p, NULL, "b.example.com");
	T_EQ_INT(parse(&p, "a.example.com", DNS_T_CNAME, &a), 0, "CNAME asked");
	T_OK(a->nrr == 1 && strcmp(a->rr[0].u.name, "b.example.com") == 0,
	    "CNAME asked: the record");
	dns_answer_release(a);
}

static void
test_root_name(void)
{
	struct pkt p;
	struct dns_answer *a;

	/* an RR owned by the root (0-length name) is not ours */
	start(&p, NOERROR, 1, 0, NULL, DNS_T_A);
	rr_a(&p, "", 60, "192.0.2.1");
	T_EQ_INT(parse(&p, "example.com", DNS_T_A, &a), 0, "root owner");
	T_EQ_INT(a->status, DNS_NODATA, "root owner: ignored");
	dns_answer_release(a);

	/* a CNAME to the root: the chain goes on at ".", which the resolver
	 * then refuses to ask (not a valid name) */
	start(&p, NOERROR, 1, 0, NULL, DNS_T_A);
	rr_cname(&p, NULL, "");
	T_EQ_INT(parse(&p, "example.com", DNS_T_A, &a), 1, "CNAME to root");
	T_EQ_STR(a->canonical, ".", "CNAME to root: canonical \".\"");
	T_EQ_INT(dns_name_ok(a->canonical), 0, "\".\" is not asked");
	dns_answer_release(a);

	/* a root question: the packet parses, nothing matches */
	start(&p, NOERROR, 1, 0, "", DNS_T_A);
	rr_a(&p, NULL, 60, "192.0.2.1");
	T_EQ_INT(parse(&p, "example.com", DNS_T_A, &a), 0, "root question");
	T_EQ_INT(a->status, DNS_NODATA, "root question: no match");
	dns_answer_release(a);
}

static void
test_negative(void)
{
	struct pkt p;
	struct dns_answer *a;

	/* NXDOMAIN with an SOA: TTL = min(SOA TTL, MINIMUM) (RFC 2308 5) */
	start(&p, NXDOMAIN, 0, 1, NULL, DNS_T_A);
	soa(&p, 60, 120);
	T_EQ_INT(parse(&p, "example.com", DNS_T_A, &a), 0, "NXDOMAIN");
	T_EQ_INT(a->status, DNS_NXDOMAIN, "NXDOMAIN: status");
	T_EQ_INT(a->rcode, 3, "NXDOMAIN: rcode");
	T_EQ_INT(a->ttl, 60, "NXDOMAIN: the SOA's TTL when smaller");
	dns_answer_release(a);

	start(&p, NOERROR, 0, 1, NULL, DNS_T_MX);
	soa(&p, 3600, 120);
	T_EQ_INT(parse(&p, "example.com", DNS_T_MX, &a), 0, "NODATA with SOA");
	T_EQ_INT(a->status, DNS_NODATA, "NODATA: status");
	T_EQ_INT(a->ttl, 120, "NODATA: TTL from SOA MINIMUM");
	dns_answer_release(a);

	start(&p, NOERROR, 0, 0, NULL, DNS_T_MX);
	T_EQ_INT(parse(&p, "example.com", DNS_T_MX, &a), 0, "NODATA without SOA");
	T_EQ_INT(a->ttl, UINT32_MAX, "no SOA: the resolver's negative TTL applies");
	dns_answer_release(a);
}

static void
test_rr_cap(void)
{
	struct pkt p;
	struct dns_answer *a;

	start(&p, NOERROR, DNS_MAX_RRS + 44, 0, NULL, DNS_T_A);
	for (int i = 0; i < DNS_MAX_RRS + 44; i++)
		rr_a(&p, NULL, 60, "192.0.2.1");
	T_EQ_INT(parse(&p, "example.com", DNS_T_A, &a), 0, "300 A RRs");
	T_EQ_INT(a->nrr, DNS_MAX_RRS, "RRs kept up to DNS_MAX_RRS");
	dns_answer_release(a);
}

int
main(void)
{
	test_plain();
	test_compression();
	test_truncated();
	test_txt();
	test_cname();
	test_root_name();
	test_negative();
	test_rr_cap();
	return t_done("test_dns_parse");
}
