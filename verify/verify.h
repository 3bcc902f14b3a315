/*
 * verify.h - the verification engine: SPF, DKIM, DMARC, ADSP and iprev on
 * one message, from a plain input struct to a plain result struct.
 *
 * Nothing here knows SMTP or the reply: `mailtest verify` and mailtestd run
 * the same code.  One struct verify_ctx per thread (the libraries' handles
 * are not thread-safe); the DNS resolver (and its cache) is shared.
 *
 * Entry points:
 *   verify_ctx_new(cfg)          per worker thread; verify_ctx_free()
 *   verify_run(ctx, in, res)     fills *res; blocks on DNS and crypto, so it
 *                                runs on workers only, never on the event loop
 *   verify_result_free(res)      frees everything verify_run() allocated
 * Ownership: the input is the caller's and is not kept.  Every string in the
 * result is owned by the result (NULL when unknown / not applicable).
 * Errors: verify_run() returns 0 when it produced verdicts (whatever they
 * are).  A message whose header cannot be parsed still gets SPF and iprev;
 * res->message_error says why and the message-based checks say permerror.
 * -1 only for an internal failure (out of resources), with res->message_error.
 *
 * Result words are the registered RFC 8601 names; each mechanism uses the
 * subset its RFC defines (see the comment on each struct).
 */
#ifndef MT_VERIFY_H
#define MT_VERIFY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct dns_resolver;
struct dnscheck_result;

enum auth_res {
	AUTH_NONE = 0,
	AUTH_PASS,
	AUTH_FAIL,
	AUTH_SOFTFAIL,
	AUTH_NEUTRAL,
	AUTH_POLICY,
	AUTH_TEMPERROR,
	AUTH_PERMERROR,
	AUTH_UNKNOWN,	/* ADSP */
	AUTH_DISCARD,	/* ADSP */
	AUTH_NXDOMAIN	/* ADSP */
};
const char *auth_res_name(enum auth_res);

struct verify_config {
	struct dns_resolver *dns;	/* shared; not owned */
	const char	*authserv_id;	/* for Authentication-Results */
	const char	*public_suffix_list;	/* path; for the RFC 7489 view */
	int		 dkim_max_signatures;	/* verified per message (default 16) */
	int		 dkim_min_key_bits;	/* RSA below this: permerror (1024, RFC 8301) */
	time_t		 fixed_time;	/* 0 = now; tests pin the clock */
	int		 domain_check;	/* also check the author domain's records
					 * (dnscheck.h) for the "what to fix" list */
};

struct verify_input {
	const char	*msg;		/* RFC 5322 message, CRLF or LF */
	size_t		 msglen;
	const char	*client_ip;	/* textual IPv4/IPv6; NULL = unknown */
	const char	*helo;		/* NULL = none given */
	const char	*mail_from;	/* reverse-path without <>; "" = null sender */
	const char *const *rcpt;
	size_t		 nrcpt;
};

/* One step of an SPF evaluation: a record fetched for a domain. */
struct spf_step {
	int		 depth;		/* 0 = top level */
	char		*via;		/* term that led here ("include:x"), NULL at top */
	char		*domain;
	char		*record;	/* as published, NULL if none */
	char		*result;	/* what this record evaluated to */
};

/* SPF (RFC 7208): none neutral pass fail softfail temperror permerror */
struct spf_check {
	enum auth_res	 result;
	char		*identity;	/* "mailfrom" or "helo" */
	char		*sender;	/* the <sender> of check_host() */
	char		*domain;	/* the <domain> of check_host() */
	char		*record;	/* top-level record as published */
	char		*mechanism;	/* the term that decided, or "default" */
	char		*explanation;	/* exp= text (fail only) */
	char		*reason;	/* why, in words */
	char		*problem;	/* RFC section broken for permerror/temperror */
	int		 lookups;	/* DNS-querying terms evaluated (limit 10) */
	int		 void_lookups;	/* (limit 2) */
	int		 dnssec;	/* top-level record DNSSEC-validated */
	struct spf_step	*steps;		/* the records looked at, in order */
	size_t		 nsteps;
};

/* DKIM (RFC 6376, 8463, 8301): none pass fail policy neutral temperror permerror */
struct dkim_sig {
	enum auth_res	 result;
	char		*domain;	/* d= */
	char		*selector;	/* s= */
	char		*identity;	/* i= */
	char		*algorithm;	/* a=: rsa-sha256, rsa-sha1, ed25519-sha256 */
	char		*key_type;	/* rsa, ed25519 (from the key record) */
	int		 key_bits;	/* 0 unknown */
	char		*canonicalization;	/* "relaxed/simple" */
	long long	 body_length;	/* l=, -1 absent */
	long long	 timestamp;	/* t=, -1 absent */
	long long	 expiration;	/* x=, -1 absent */
	char		*signed_headers;	/* h= */
	char		*b_prefix;	/* leading b= characters, for header.b */
	char		*key_record;	/* the key TXT record as seen */
	int		 testing;	/* key t=y */
	int		 dnssec;	/* key record DNSSEC-validated */
	int		 aligned;	/* d= aligns with the From domain (DMARC adkim) */
	char		*error;		/* machine word: body-hash-mismatch,
					 * signature-mismatch, key-not-found,
					 * key-revoked, key-syntax, key-too-small,
					 * key-too-large, key-inappropriate (h=, k=,
					 * s=, t=s do not fit the signature),
					 * syntax, expired, future, unsupported-algorithm,
					 * dns-error, header-not-signed, too-many-signatures */
	char		*reason;	/* the same in words */
};

/* DMARC (RFC 9989, with the RFC 7489 view): none pass fail temperror permerror */
struct dmarc_result {
	enum auth_res	 result;
	char		*domain;	/* RFC5322.From domain (author domain) */
	char		*org_domain;	/* organizational domain (RFC 9989 tree walk) */
	char		*record_domain;	/* where the policy record was found */
	char		*record;	/* the record text */
	char		*policy;	/* the policy that applies: none/quarantine/reject */
	char		*policy_tag;	/* which tag gave it: p, sp, np */
	char		*p, *sp, *np;	/* tags as published (NULL if absent) */
	int		 pct;		/* RFC 7489 pct (100 if absent) */
	int		 testing;	/* RFC 9989 t=y */
	int		 psd;		/* record has psd=y */
	char		 adkim, aspf;	/* 'r' or 's' */
	int		 spf_aligned;
	int		 dkim_aligned;
	char		*aligned_dkim_domain;	/* d= of the aligned passing signature */
	char		*rua, *ruf;	/* as published */
	char		*reason;	/* why, in words */
	int		 dnssec;
	struct {			/* what an RFC 7489 receiver (libopendmarc) decides */
		enum auth_res	 result;
		char		*org_domain;	/* public-suffix-list org domain */
		char		*policy;
		char		*note;	/* where and why it differs, NULL if same */
		int		 spf_aligned;	/* under RFC 7489 (PSL) alignment */
		int		 dkim_aligned;
	} rfc7489;
};

/* ADSP (RFC 5617, historic): none pass unknown fail discard nxdomain temperror permerror */
struct adsp_result {
	enum auth_res	 result;
	char		*domain;	/* author domain */
	char		*policy;	/* unknown, all, discardable (as published) */
	char		*record;
	char		*reason;
};

/* iprev (RFC 8601 3): pass fail temperror permerror */
struct iprev_result {
	enum auth_res	 result;
	char		*ip;
	char		*ptr;		/* the name that confirmed, or the first PTR */
	char		**names;	/* every PTR name */
	size_t		 nnames;
	char		*reason;
};

struct verify_result {
	/* envelope, as given */
	char		*client_ip;
	char		*helo;
	char		*mail_from;	/* "" for the null sender */
	char		**rcpt;
	size_t		 nrcpt;
	/* message */
	char		*message_error;	/* the header could not be parsed: why */
	char		*from;		/* From: field, unfolded */
	char		*from_address;	/* the single author address */
	char		*from_domain;
	char		*message_id;
	char		*subject;
	/* verdicts */
	struct spf_check	 spf;		/* MAIL FROM, or postmaster@HELO for <> */
	struct spf_check	 spf_helo;	/* HELO identity */
	struct dkim_sig		*dkim;
	size_t			 ndkim;
	struct dmarc_result	 dmarc;
	struct adsp_result	 adsp;
	struct iprev_result	 iprev;
	/* the author domain's records (verify_config.domain_check), or NULL */
	struct dnscheck_result	*domain_check;
	/* cost */
	uint64_t	 elapsed_us;
	uint64_t	 dns_lookups;
};

struct verify_ctx;

struct verify_ctx *verify_ctx_new(const struct verify_config *, char *err, size_t errlen);
void	 verify_ctx_free(struct verify_ctx *);
int	 verify_run(struct verify_ctx *, const struct verify_input *, struct verify_result *);
void	 verify_result_free(struct verify_result *);

#endif
