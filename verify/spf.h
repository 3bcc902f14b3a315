/*
 * spf.h - SPF (RFC 7208) check_host() for one identity, with libspf2.
 *
 * Entry points: spf_ctx_new() per thread, spf_check_run(), spf_check_free().
 * spf_check_run() fills a struct spf_check (verify.h): result, record,
 * lookups, explanation, the records looked at, and a reason in words.  It
 * never fails: DNS trouble is temperror, bad records permerror.
 * Ownership: the strings in *out are owned by it (spf_check_free()).
 * The context owns one libspf2 SPF_server_t whose DNS layer is common/dns.h;
 * libspf2 matches single mechanisms, spf.c does the rest of check_host()
 * with spf_record.h (grammar, macros); see the comment atop spf.c.
 * It blocks on DNS (bounded: 10 DNS terms, 10 names each, 20 s in all).
 */
#ifndef MT_SPF_H
#define MT_SPF_H

#include "verify.h"

/* RFC 7208 4.6.4: at most 10 terms that cause DNS lookups */
#define SPF_MAX_DNS_MECHS	10
/* RFC 7208 4.6.4: at most 2 void lookups (SHOULD; default 2) */
#define SPF_MAX_VOID_LOOKUPS	2
/* RFC 7208 4.6.4: at most 10 MX / PTR names looked up per mechanism */
#define SPF_MAX_MX_NAMES	10
#define SPF_MAX_PTR_NAMES	10

struct spf_ctx;

struct spf_ctx *spf_ctx_new(struct dns_resolver *, const char *receiving_host,
	    char *err, size_t errlen);
void	 spf_ctx_free(struct spf_ctx *);
/*
 * identity: "mailfrom" or "helo".  sender: the full <sender> (for "helo",
 * "postmaster@HELO").  helo may be NULL.  ip may be NULL (result none).
 */
void	 spf_check_run(struct spf_ctx *, const char *identity, const char *ip,
	    const char *helo, const char *sender, struct spf_check *out);
void	 spf_check_free(struct spf_check *);

#endif
