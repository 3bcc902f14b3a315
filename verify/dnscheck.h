/*
 * dnscheck.h - check a domain's mail authentication records before (or
 * without) sending: SPF with its include/redirect tree, DKIM keys, DMARC
 * with its report destinations, ADSP (historic), MX, MTA-STS, TLS-RPT and
 * BIMI; every problem found is a finding with a severity, plain words and,
 * where one can be derived, a corrected record.  `mailtest dns-check` and
 * the "what to fix" section of the mailed report show the same findings.
 *
 * Lookups and analysis only: no printing (reply/dnscheck_render.c renders
 * text and JSON) and nothing of SMTP.  The record grammars are the
 * verifiers' own: spf_record.h, dkim_key.h, dmarc_record.h.
 *
 * Entry points:
 *   dnscheck_run(cfg, domain, selectors, nselectors, &res)
 *       cfg->dns is the shared resolver (for a check at one authoritative
 *       server, make it with no_cache); cfg->public_suffix_list names the
 *       list for "is this report address in another organization" (NULL:
 *       Debian's).  selectors: the DKIM selectors to look at; none = probe
 *       the common ones (DNSCHECK_COMMON_SELECTORS).  It blocks on DNS
 *       (at most DNSCHECK_MAX_QUERIES lookups): call it from a worker
 *       thread, never from the event loop.  Thread-safe: all state is in
 *       res and on the stack.
 *   dnscheck_run_keys(cfg, keys, ...)   the same, DKIM keys parsed through a
 *       struct dkim_key_cache (the verifier's: verify.c)
 *   dnscheck_result_free(&res)
 *   dnscheck_exit_status(&res)   0 no problems, 1 errors or warnings,
 *                                2 a lookup that matters failed
 * Ownership: every string in the result is owned by it (NULL when absent).
 * Errors: dnscheck_run() returns -1 only when domain is not a name that can
 * be looked up (res->error says why); DNS trouble is a finding, and a
 * timeout or SERVFAIL on a record that matters sets res->lookup_failed.
 * Bounded: the SPF tree (DNSCHECK_SPF_MAX_NODES records), selectors
 * (DNSCHECK_MAX_SELECTORS), findings (DNSCHECK_MAX_FINDINGS, at most
 * DNSCHECK_MAX_SAME_CODE of one kind), lookups (DNSCHECK_MAX_QUERIES).
 */
#ifndef MT_DNSCHECK_H
#define MT_DNSCHECK_H

#include <stddef.h>

#include "../common/dns.h"
#include "verify.h"

/* the selectors looked at when none is given (the big providers' and the
 * usual defaults of signing software) */
#define DNSCHECK_COMMON_SELECTORS \
	{ "google", "selector1", "selector2", "default", "k1", "s1", "s2", \
	  "dkim", "mail" }
#define DNSCHECK_MAX_SELECTORS	16
/* records shown in one SPF tree, and its depth (the RFC 7208 4.6.4 limit
 * of 10 DNS terms is reported, not used to stop: the user sees all of it) */
#define DNSCHECK_SPF_MAX_NODES	64
#define DNSCHECK_SPF_MAX_DEPTH	12
/* RFC 7208 3.4: records over 450 octets may not fit a 512-octet UDP answer */
#define DNSCHECK_SPF_UDP_SAFE	450
#define DNSCHECK_MAX_FINDINGS	128
#define DNSCHECK_MAX_SAME_CODE	8	/* findings of one code kept */
#define DNSCHECK_MAX_QUERIES	400	/* DNS lookups for one check */
#define DNSCHECK_MAX_REPORT_URIS 16	/* rua + ruf destinations looked at */

enum dnscheck_severity {
	DNSCHECK_INFO = 0,	/* worth knowing; not a problem */
	DNSCHECK_WARNING,	/* works, but weakly or with a risk */
	DNSCHECK_ERROR		/* broken: receivers will not do what you meant */
};

struct dnscheck_finding {
	enum dnscheck_severity severity;
	char		*area;		/* owned: spf dkim dmarc adsp mx mta-sts
					 * tls-rpt bimi dns */
	char		*code;		/* owned: machine word, "spf-pass-all" */
	char		*name;		/* owned: the DNS name it is about */
	char		*message;	/* owned: plain words */
	char		*rfc;		/* owned: "RFC 7208 4.6.4", or NULL */
	char		*suggestion;	/* owned: a corrected record, or NULL */
	char		*suggestion_name; /* owned: where to publish it, NULL = name */
};

/* One DNS lookup made, with its DNSSEC status. */
struct dnscheck_lookup {
	char		*name;		/* owned */
	int		 type;		/* DNS_T_* */
	enum dns_status	 status;
	int		 secure;	/* AD bit set by the resolver */
	char		*why;		/* owned: TEMPFAIL/BADNAME reason, or NULL */
};

/* One record of the SPF tree, in walk order (parents before children). */
struct dnscheck_spf_node {
	int		 parent;	/* index, -1 for the domain's own record */
	int		 depth;
	char		*via;		/* owned: "include:x", "redirect=x"; NULL at top */
	char		*domain;	/* owned */
	char		*record;	/* owned: printable copy, NULL if none */
	enum dns_status	 status;
	int		 secure;
	int		 nrecords;	/* SPF records found at the name (4.5: one) */
	int		 broken;	/* missing, syntax error, several records */
	int		 loop;		/* the name is already on the path above */
	size_t		 terms;
	size_t		 dns_terms;	/* terms that cause DNS queries (4.6.4) */
	size_t		 void_lookups;	/* lookups of this record's terms that
					 * found nothing (4.6.4) */
};

struct dnscheck_spf {
	char		*record;	/* owned: the domain's record (printable) */
	int		 nrecords;	/* SPF records at the domain */
	int		 secure;
	char		*type99;	/* owned: an SPF (type 99) RR, obsolete */
	size_t		 dns_terms;	/* over the whole tree, limit 10 */
	size_t		 void_lookups;	/* over the whole tree, limit 2 */
	struct dnscheck_spf_node *nodes;	/* owned */
	size_t		 nnodes;
	int		 truncated;	/* the tree hit DNSCHECK_SPF_MAX_NODES/DEPTH */
};

struct dnscheck_dkim {
	char		*selector;	/* owned */
	char		*name;		/* owned: selector._domainkey.domain */
	int		 given;		/* named by the caller (not probed) */
	enum dns_status	 status;
	int		 secure;
	int		 found;		/* a TXT record is there */
	char		*record;	/* owned: printable copy of the first record */
	size_t		 nrecords;	/* TXT records at the name (3.6.2.2: one) */
	size_t		 nstrings;	/* character-strings of the first record */
	int		 valid;
	char		*key_type;	/* owned: "rsa", "ed25519", other k= */
	int		 bits;
	int		 testing;	/* t=y */
	int		 revoked;	/* empty p= */
	char		*error;		/* owned: why the record is not valid */
};

struct dnscheck_report_uri {
	const char	*tag;		/* static: "rua" or "ruf" */
	char		*uri;		/* owned, as published */
	char		*domain;	/* owned: the mailto: address's domain */
	int		 external;	/* another organization than the policy's */
	int		 authorized;	/* -1 not needed/checked, 0 no, 1 yes */
	char		*auth_name;	/* owned: <policy>._report._dmarc.<domain> */
};

struct dnscheck_dmarc {
	char		*name;		/* owned: _dmarc.X where the record is, NULL */
	char		*policy_domain;	/* owned: X */
	int		 at_domain;	/* found at the domain itself (no tree walk) */
	enum dns_status	 status;	/* of _dmarc.<domain> */
	int		 secure;
	int		 nrecords;	/* DMARC records at that name */
	char		*record;	/* owned: printable copy */
	char		*p, *sp, *np;	/* owned: as published, NULL if absent */
	int		 pct;		/* 100 if absent */
	int		 testing;	/* t=y */
	char		 adkim, aspf;	/* 'r' or 's' */
	struct dnscheck_report_uri *uris;	/* owned */
	size_t		 nuris;
};

/* A record looked for at one name: ADSP, MTA-STS, TLS-RPT, BIMI. */
struct dnscheck_txt {
	char		*name;		/* owned */
	enum dns_status	 status;
	int		 secure;
	int		 nrecords;	/* records of the kind looked for */
	char		*record;	/* owned: printable copy of the first */
};

struct dnscheck_mx {
	enum dns_status	 status;
	int		 secure;
	char		**hosts;	/* owned */
	int		*prefs;		/* owned */
	size_t		 n;
	int		 null_mx;	/* RFC 7505: "0 ." - accepts no mail */
	int		 address;	/* no MX, but an A/AAAA (RFC 5321 5.1) */
};

struct dnscheck_result {
	char		*domain;	/* owned: lower case, no trailing dot */
	char		*error;		/* owned: why dnscheck_run() returned -1 */
	char		*servers;	/* owned: the DNS servers asked */
	int		 lookup_failed;	/* timeout/SERVFAIL on a record that matters */
	struct dnscheck_spf	 spf;
	struct dnscheck_dkim	*dkim;	/* owned */
	size_t			 ndkim;
	int			 dkim_probed;	/* no selector given: common ones tried */
	struct dnscheck_dmarc	 dmarc;
	struct dnscheck_txt	 adsp, mta_sts, tls_rpt, bimi;
	struct dnscheck_mx	 mx;
	struct dnscheck_finding	*findings;	/* owned, in the order found */
	size_t			 nfindings;
	size_t			 nerrors, nwarnings, ninfos;	/* all found, kept or not */
	size_t			 findings_dropped;	/* not kept: past
						 * DNSCHECK_MAX_SAME_CODE of a code, or
						 * past DNSCHECK_MAX_FINDINGS (notes
						 * give way to warnings and errors) */
	/* the DMARC record to publish next, and the path to p=reject */
	char		*suggested_dmarc;	/* owned */
	char		**dmarc_steps;		/* owned */
	size_t		 ndmarc_steps;
	struct dnscheck_lookup	*lookups;	/* owned */
	size_t			 nlookups;
	size_t			 lookups_dropped;	/* past DNSCHECK_MAX_QUERIES */
};

int	 dnscheck_run(const struct verify_config *, const char *domain,
	    const char *const *selectors, size_t nselectors, struct dnscheck_result *);
/* The same, parsing DKIM key records through keys (dkim_key.h; borrowed,
 * one per thread: the verifier passes its own, so a key it has just
 * parsed is not parsed again); keys NULL is dnscheck_run(). */
struct dkim_key_cache;
int	 dnscheck_run_keys(const struct verify_config *, struct dkim_key_cache *keys,
	    const char *domain, const char *const *sel, size_t nsel,
	    struct dnscheck_result *);
void	 dnscheck_result_free(struct dnscheck_result *);
int	 dnscheck_exit_status(const struct dnscheck_result *);
const char *dnscheck_severity_name(enum dnscheck_severity);

#endif
