/*
 * proxy.h - the PROXY protocol (HAProxy's proxy-protocol.txt, versions 1
 * and 2) as a pure parser: bytes in, the client's real address out.  No
 * sockets, no event loop, no allocation; it can be fed the header split
 * at any point (one octet at a time if need be).
 *
 * What is accepted (anything else is an error, and the caller drops the
 * connection - the spec's "the receiver must drop connections presenting
 * unexpected values"):
 *   v1  "PROXY TCP4 SRC DST SPORT DPORT\r\n", the same with TCP6, and
 *       "PROXY UNKNOWN...\r\n"; single spaces, addresses that inet_pton
 *       takes in the family named, ports 0-65535 without leading zeros;
 *       at most PROXY_V1_MAX (107) octets with the CRLF (spec 2.1).
 *   v2  the 12-octet signature, version 2, command LOCAL or PROXY, and
 *       for PROXY: AF_INET or AF_INET6 over STREAM (TCP4/TCP6), or
 *       AF_UNSPEC (like UNKNOWN).  UNIX and DGRAM are refused.  The
 *       address block must be as long as its family needs; TLVs after it
 *       are skipped; the whole header is at most PROXY_V2_MAX_LEN octets
 *       after the fixed 16.
 * LOCAL, UNKNOWN and UNSPEC carry no client address: the receiver uses
 * the connection's own endpoints (spec 2.1, 2.2), and `local` says so.
 *
 * Entry points: proxy_init(), proxy_feed(), proxy_want(); for the trust
 * list, proxy_cidr_parse() and proxy_cidr_match().
 * Errors: PROXY_ERROR with a static reason in parser->error.
 */
#ifndef MT_PROXY_H
#define MT_PROXY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* proxy-protocol.txt 2.1: "a 107-byte buffer" holds the longest v1 line */
#define PROXY_V1_MAX		107
/* proxy-protocol.txt 2.2: the fixed part of the binary header */
#define PROXY_V2_FIXED		16
/* Addresses plus TLVs we take after the fixed part: a UNIX pair is 216,
 * HAProxy's own TLVs (ALPN, authority, unique id <= 128, SSL) fit easily;
 * the 16-bit length field would allow 65535. */
#define PROXY_V2_MAX_LEN	1024
#define PROXY_MAX_HEADER	(PROXY_V2_FIXED + PROXY_V2_MAX_LEN)

enum proxy_status {
	PROXY_MORE,	/* every octet so far belongs to the header: feed more */
	PROXY_DONE,	/* header complete: see the result */
	PROXY_ERROR	/* not a valid header: drop the connection */
};

struct proxy_parser {
	unsigned char	 buf[PROXY_MAX_HEADER];
	size_t		 len;		/* octets held */
	int		 version;	/* 0 until the first octet says which */
	enum proxy_status status;
	const char	*error;		/* static text when status is PROXY_ERROR */
	/* the result, valid when status is PROXY_DONE */
	int		 local;		/* no client address: use the connection's */
	struct sockaddr_storage src, dst;
	socklen_t	 srclen, dstlen;
};

void	 proxy_init(struct proxy_parser *);
/*
 * Feed n octets.  *used is set to how many of them belong to the header:
 * all of them while PROXY_MORE is returned; up to and including the last
 * header octet when PROXY_DONE is returned (what follows is the client's
 * first data and must be left for it).  Feeding after DONE or ERROR
 * returns the same status and uses nothing.
 */
enum proxy_status proxy_feed(struct proxy_parser *, const void *data, size_t n,
	    size_t *used);
/* How many octets a reader may look at next without passing the header's
 * end for sure (v1: up to the longest line; v2: exactly what is missing). */
size_t	 proxy_want(const struct proxy_parser *);

struct proxy_cidr {
	int		 family;	/* AF_INET or AF_INET6 */
	unsigned char	 addr[16];
	int		 bits;
};

/* "192.0.2.0/24", "2001:db8::/32", "127.0.0.1" (a host); -1 if invalid
 * (bad address, prefix too long, host bits set). */
int	 proxy_cidr_parse(const char *, struct proxy_cidr *);
/* An IPv4-mapped IPv6 peer matches IPv4 entries. */
int	 proxy_cidr_match(const struct proxy_cidr *, const struct sockaddr *);

#endif
