/*
 * spf_record.h - SPF records (RFC 7208): parse and validate, macro-string
 * syntax and macro expansion.  No DNS here: pure functions on text.
 *
 * It owns the RFC 7208 section 12 grammar: record selection (4.5), terms
 * separated by spaces (4.6.1), mechanisms and their arguments (5), the
 * modifiers redirect= and exp= (at most once each, 6) and unknown modifiers
 * (name syntax, macro-string value, 6), domain-spec (7.1: ends in a macro
 * or in "." toplabel), ip4/ip6 literals and CIDR lengths (5.6), macro
 * syntax (7.1) and expansion (7.3, with the 253-octet truncation from the
 * left).  Both the evaluator (spf.c) and the record checker (mailtest
 * dns-check) use it: a parsed record lists its terms with their kind,
 * qualifier, domain-spec and CIDR lengths; an error carries the position
 * and a message in plain words.
 *
 * Entry points:
 *   spf_record_is_spf(txt, len)        4.5: does this TXT string start "v=spf1"
 *   spf_record_parse(txt, len, &rec, &err)   0, or -1 with err filled
 *   spf_record_free(&rec)
 *   spf_record_dns_terms(&rec)         terms that cause DNS queries (4.6.4)
 *   spf_domain_spec_check(), spf_macro_check()   syntax only
 *   spf_macro_expand(spec, len, vars, mode, &out, &err)
 *   spf_domain_ok(name)                4.3: a name check_host() can look up
 * Ownership: a parsed record owns its terms and their strings
 * (spf_record_free()); spf_macro_expand() returns a string the caller frees.
 * Errors: -1 and a struct spf_error (position, words, RFC section); inputs
 * are never modified.  Every length is bounded (SPF_RECORD_MAX_LEN,
 * SPF_EXPAND_MAX, SPF_EXPLAIN_MAX); hostile records only cost linear time.
 */
#ifndef MT_SPF_RECORD_H
#define MT_SPF_RECORD_H

#include <netinet/in.h>
#include <stddef.h>

/* RFC 1035 3.3.14 / 7208 3.3: a TXT RR holds at most 65535 octets */
#define SPF_RECORD_MAX_LEN	65535
/* RFC 7208 7.3: expanded domain names are cut to 253 octets from the left */
#define SPF_DOMAIN_MAX		253
#define SPF_LABEL_MAX		63
/* mailtest limit: working size of one macro expansion before truncation */
#define SPF_EXPAND_MAX		2048
/* mailtest limit: an explanation (RFC 7208 6.2) is cut at this length */
#define SPF_EXPLAIN_MAX		1024
/* RFC 7208 7.3: more right-hand parts than this are all of them anyway */
#define SPF_MACRO_DIGITS_MAX	9999

enum spf_kind {
	SPF_ALL = 0,
	SPF_INCLUDE,
	SPF_A,
	SPF_MX,
	SPF_PTR,
	SPF_IP4,
	SPF_IP6,
	SPF_EXISTS,
	SPF_REDIRECT,		/* modifiers from here on */
	SPF_EXP,
	SPF_UNKNOWN_MOD
};

struct spf_term {
	enum spf_kind	 kind;
	char		 qual;		/* '+' '-' '~' '?' (mechanisms); 0 for modifiers */
	size_t		 pos;		/* offset of the term in the record */
	size_t		 len;		/* its length in octets */
	char		*text;		/* the term as published (owned) */
	char		*name;		/* modifier name as published (owned), else NULL */
	char		*spec;		/* domain-spec / modifier value (owned); NULL = absent */
	int		 cidr4;		/* ip4-cidr-length, -1 when absent */
	int		 cidr6;		/* ip6-cidr-length, -1 when absent */
	struct in_addr	 ip4;		/* SPF_IP4 */
	struct in6_addr	 ip6;		/* SPF_IP6 */
};

struct spf_record {
	struct spf_term	*terms;		/* owned, in record order */
	size_t		 nterms;
	int		 redirect;	/* index of redirect=, -1 */
	int		 exp;		/* index of exp=, -1 */
	int		 has_all;	/* an "all" mechanism is present (6.1) */
};

struct spf_error {
	size_t		 pos;		/* octet offset in the text checked */
	char		 msg[240];	/* plain words */
	const char	*rfc;		/* "RFC 7208 4.6.1" etc. (static) */
};

/* expansion modes of spf_macro_expand() */
enum spf_expand_mode {
	SPF_EXPAND_DOMAIN,	/* domain-spec: trailing dot dropped, 253-octet cut */
	SPF_EXPAND_EXPLAIN	/* explain-string (6.2): c, r, t allowed, SP kept */
};

/* The values of the macro letters (7.3); all NUL-terminated, none NULL. */
struct spf_macro_vars {
	const char	*s, *l, *o, *d, *i, *v, *h;
	const char	*c, *r, *t;	/* explanation only */
	/* p (validated domain name of <ip>, 7.3): computed on first use */
	const char	*(*p)(void *arg, const char *domain);
	void		*parg;
};

int	 spf_record_is_spf(const char *txt, size_t len);
int	 spf_record_parse(const char *txt, size_t len, struct spf_record *,
	    struct spf_error *);
void	 spf_record_free(struct spf_record *);
/* 4.6.4: include a mx ptr exists redirect */
int	 spf_term_queries_dns(const struct spf_term *);
size_t	 spf_record_dns_terms(const struct spf_record *);
const char *spf_kind_name(enum spf_kind);

int	 spf_domain_spec_check(const char *s, size_t len, struct spf_error *);
/* explain != 0: explain-string (SP and c r t allowed) */
int	 spf_macro_check(const char *s, size_t len, int explain, struct spf_error *);
int	 spf_macro_expand(const char *s, size_t len, const struct spf_macro_vars *,
	    enum spf_expand_mode, char **out, struct spf_error *);
/* 4.3: labels of 1..63 octets, at most 253 octets, at least two labels */
int	 spf_domain_ok(const char *);
/* Printable copy: bytes outside 0x20..0x7e become \xHH (for reports). */
char	*spf_printable(const char *s, size_t len);

#endif
