/*
 * dns.h - the one DNS layer: every lookup of every check goes through here.
 *
 * A stub resolver that talks to configured recursive servers (each with a
 * port: "127.0.0.1:5353", "[::1]:53"; /etc/resolv.conf when none is given)
 * over UDP with EDNS0, falling back to TCP on truncation, with a shared
 * cache that honours TTLs (negative answers per RFC 2308 from the SOA) and a
 * bounded size.  Query packets are built here; answers are taken apart
 * with libresolv's name decompression (ns_name_unpack).
 *
 * DNSSEC: queries carry the AD bit (RFC 6840 5.7); an answer is "secure"
 * when the configured resolver set AD on it (and on every step of its CNAME
 * chain).  Like Postfix's dnssec support level, this trusts the resolver
 * and the path to it: configure a local validating resolver to use it.
 *
 * Entry points: dns_resolver_new(), dns_lookup(), dns_answer_release().
 * dns_lookup() blocks (up to attempts x servers x timeout) and is thread-safe:
 * call it only from worker threads, never from the event loop.
 * Ownership: an answer is reference-counted and shared with the cache;
 * the caller releases what dns_lookup() returned, and never modifies it.
 * Errors never come back as NULL: status says DNS_TEMPFAIL (timeout,
 * SERVFAIL, REFUSED, malformed answer, CNAME loop) or DNS_BADNAME (a name
 * that cannot be asked: empty or > 63-octet label, > 253 octets), with a
 * human-readable ->why.
 *
 * Names are C strings of labels separated by '.', compared without regard
 * to ASCII case; label bytes are taken as they are (spaces, '%', 8-bit).
 */
#ifndef MT_DNS_H
#define MT_DNS_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define DNS_T_A		1
#define DNS_T_NS	2
#define DNS_T_CNAME	5
#define DNS_T_SOA	6
#define DNS_T_PTR	12
#define DNS_T_MX	15
#define DNS_T_TXT	16
#define DNS_T_AAAA	28
#define DNS_T_SPF	99

#define DNS_MAX_SERVERS		4
#define DNS_MAX_NAME		253	/* RFC 1035 2.3.4, presentation length */
#define DNS_MAX_LABEL		63
#define DNS_MAX_CNAME_HOPS	8	/* CNAME chain length before "loop" */
#define DNS_MAX_RRS		256	/* RRs kept from one answer */

enum dns_status {
	DNS_OK = 0,	/* one or more RRs of the type asked for */
	DNS_NODATA,	/* the name exists, no RR of that type */
	DNS_NXDOMAIN,	/* the name does not exist */
	DNS_TEMPFAIL,	/* no usable answer now: timeout, SERVFAIL, ... */
	DNS_BADNAME	/* the name cannot be asked at all */
};

struct dns_rr {
	uint16_t	 type;
	uint32_t	 ttl;
	union {
		struct in_addr	 a;
		struct in6_addr	 aaaa;
		struct {
			uint16_t pref;
			char	*host;		/* owned by the answer */
		} mx;
		char		*name;		/* PTR, CNAME, NS target */
		struct {
			char	*data;		/* strings concatenated, NUL-terminated */
			size_t	 len;		/* bytes in data (may hold NULs) */
			size_t	 nstr;		/* character-strings in the RR */
			uint16_t *strlen;	/* length of each of them */
		} txt;
	} u;
};

struct dns_answer {
	enum dns_status	 status;
	int		 rcode;		/* of the last response */
	int		 secure;	/* AD bit on every response used */
	uint32_t	 ttl;		/* cache lifetime chosen */
	uint16_t	 qtype;
	char		*qname;		/* as asked */
	char		*canonical;	/* after following CNAMEs */
	int		 cname_hops;
	char		*why;		/* reason for TEMPFAIL/BADNAME, else NULL */
	size_t		 nrr;
	struct dns_rr	*rr;
	/* private */
	int		 refs;
};

struct dns_config {
	const char	*servers[DNS_MAX_SERVERS];	/* "HOST[:PORT]"; none = resolv.conf */
	int		 nservers;
	int		 timeout_ms;	/* per attempt (default 2000) */
	int		 attempts;	/* per server (default 2) */
	size_t		 cache_size;	/* entries (default 20000; 0 = default) */
	int		 no_cache;	/* 1: never cache (dns-check at an authoritative server) */
	uint32_t	 min_ttl;	/* floor for positive TTLs (default 0) */
	uint32_t	 max_ttl;	/* ceiling (default 86400) */
	uint32_t	 neg_ttl;	/* negative TTL when no SOA came (default 60) */
};

struct dns_stats {
	uint64_t	 lookups;	/* dns_lookup() calls */
	uint64_t	 cache_hits;
	uint64_t	 queries;	/* packets sent */
	uint64_t	 timeouts;
	uint64_t	 tempfails;
	uint64_t	 tcp_fallbacks;
};

struct dns_resolver;

struct dns_resolver *dns_resolver_new(const struct dns_config *, char *err, size_t errlen);
void	 dns_resolver_free(struct dns_resolver *);
const struct dns_answer *dns_lookup(struct dns_resolver *, const char *name, int type);
void	 dns_answer_release(const struct dns_answer *);
void	 dns_stats_get(struct dns_resolver *, struct dns_stats *);
void	 dns_cache_flush(struct dns_resolver *);
/* "127.0.0.1:5353, [::1]:53" - the servers in use, for reports and logs */
const char *dns_servers_text(struct dns_resolver *);

const char *dns_status_name(enum dns_status);
const char *dns_type_name(int);
/* Parse "HOST[:PORT]" (IPv6 as "[addr]:port" or a bare address). */
int	 dns_parse_server(const char *, struct sockaddr_storage *, socklen_t *);
/* "192.0.2.1" -> "1.2.0.192.in-addr.arpa"; IPv6 nibble form. -1 if not an IP. */
int	 dns_reverse_name(const char *ip, char *buf, size_t n);
/* Syntax check of a name for querying (labels 1..63, total <= 253). */
int	 dns_name_ok(const char *);
/*
 * For tests and fuzzing: take one response packet apart exactly as
 * dns_lookup() does with each response it receives, without any network.
 * The caller vouches for what dns_lookup() checks before parsing (ID, QR,
 * one question equal to ours); anything else in pkt may be hostile.
 * *out is always set to a new answer (dns_answer_release() it) whose
 * status, rr[], canonical, cname_hops and why are what dns_lookup() would
 * have after this one response; its ttl is the raw value (UINT32_MAX for a
 * negative answer without SOA: the resolver's neg/min/max TTL are not
 * applied).  Returns 0 when the response settles the question, 1 when the
 * CNAME chain left it (dns_lookup() would ask again for ->canonical), -1
 * when it is unusable (DNS_TEMPFAIL: malformed, CNAME loop; DNS_BADNAME).
 */
int	 dns_parse_response(const unsigned char *pkt, size_t len, const char *qname,
	    int qtype, struct dns_answer **out);
/* Presentation form of an address RR. */
const char *dns_rr_addr_text(const struct dns_rr *, char *buf, size_t n);

#endif
