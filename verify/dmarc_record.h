/*
 * dmarc_record.h - DMARC policy records and DMARC's view of domain names,
 * as pure functions (no DNS): recognising a DMARC record (RFC 9989 4.7
 * "v" tag, 4.10 step 2), parsing its tags (RFC 9989 4.7 and 4.8; the
 * RFC 7489 6.3 tag set for the RFC 7489 view), the label arithmetic of the
 * DNS tree walk (RFC 9989 4.10) and name comparison for alignment
 * (RFC 9989 3.2.10, case-insensitive per RFC 4343).
 *
 * Entry points: dmarc_record_is_dmarc(), dmarc_record_parse() /
 * dmarc_record_free(), dmarc_record_tags() (what became of each tag, for
 * `mailtest dns-check`), dmarc_walk_targets(), dmarc_domain_*().
 * Ownership: dmarc_record_parse() fills a caller-provided struct whose
 * strings it allocates; dmarc_record_free() releases them.  Walk targets
 * point into the caller's domain string.
 * Errors: the parser never fails on content.  RFC 9989 4.8: "syntax errors
 * in the remainder of the record MUST be discarded in favor of default
 * values (if any) or ignored outright" -- so a bad tag is dropped, its text
 * kept in ->ignored for the report, and the tag reads as absent/default.
 */
#ifndef MT_DMARC_RECORD_H
#define MT_DMARC_RECORD_H

#include <stddef.h>

/* RFC 9989 4.10: Author Domains with more than eight labels "do not result
 * in more than eight DNS queries"; step 4: shorten "until 7 labels remain" */
#define DMARC_WALK_MAX_QUERIES	8
#define DMARC_WALK_SHORTEN_TO	7
/* limits of our own on hostile records (not from an RFC) */
#define DMARC_MAX_TAGS		64	/* tags looked at in one record */
#define DMARC_MAX_URIS		32	/* URIs looked at in one rua/ruf list */
#define DMARC_MAX_URI_LEN	1024	/* longer URIs count as invalid */
#define DMARC_MAX_IGNORED	512	/* bytes of ignored text kept for the report */

/* RFC 9989 4.8 dmarc-request, plus "absent" and "present but not valid" */
enum dmarc_req {
	DMARC_REQ_ABSENT = 0,
	DMARC_REQ_NONE,
	DMARC_REQ_QUARANTINE,
	DMARC_REQ_REJECT,
	DMARC_REQ_INVALID
};

/* which tag set: RFC 9989 (np, psd, t; pct/ri/rf historic) or RFC 7489
 * (pct, ri, rf; np, psd and t are unknown tags there and ignored) */
enum dmarc_spec {
	DMARC_SPEC_9989,
	DMARC_SPEC_7489
};

struct dmarc_record {
	enum dmarc_req	 p, sp, np;	/* np always ABSENT for 7489 */
	char		*p_text;	/* values as published, NULL if absent */
	char		*sp_text;
	char		*np_text;
	char		 adkim, aspf;	/* 'r' or 's' (default 'r') */
	int		 testing;	/* t=y (9989 only) */
	char		 psd;		/* 'y', 'n' or 'u' (default 'u'; 9989 only) */
	int		 pct;		/* 0..100, default 100 (reported only) */
	int		 pct_given;	/* pct= present and valid */
	char		*rua, *ruf;	/* values as published, NULL if absent */
	int		 rua_valid;	/* syntactically valid URIs in rua */
	int		 ruf_valid;
	char		*dup_tag;	/* first known tag given twice (first one used) */
	char		*ignored;	/* "; "-joined text that was discarded, or NULL */
};

/*
 * RFC 9989 4.7 "v": the first tag, value case-sensitive "DMARC1"
 * (dmarc-version = "v" equals %s"DMARC1", equals = *WSP "=" *WSP),
 * followed by a separator or the end.  1 if txt is a DMARC record.
 */
int	 dmarc_record_is_dmarc(const char *txt, size_t len);
/* Parse a record that dmarc_record_is_dmarc() accepted. */
void	 dmarc_record_parse(const char *txt, size_t len, enum dmarc_spec,
	    struct dmarc_record *);

/* What the parser did with one tag (for the record checker, dns-check). */
enum dmarc_tag_status {
	DMARC_TAG_OK,		/* a known tag with a valid value: used */
	DMARC_TAG_UNKNOWN,	/* not a tag of this spec: ignored (RFC 9989 4.7) */
	DMARC_TAG_SYNTAX,	/* not "name=value": discarded (RFC 9989 4.8) */
	DMARC_TAG_BADVALUE,	/* a known tag whose value is not valid: discarded */
	DMARC_TAG_DUPLICATE	/* a tag given again (or v= again): discarded */
};
struct dmarc_tag_info {
	size_t		 pos, len;	/* the segment in txt, without its ";" */
	char		 name[16];	/* tag name as published (cut), "" if none */
	enum dmarc_tag_status status;
};
/*
 * The same walk as dmarc_record_parse(), telling what became of each
 * non-empty segment after the v tag (at most maxinfo of them, the first
 * DMARC_MAX_TAGS looked at).  Returns the number of entries filled.
 */
size_t	 dmarc_record_tags(const char *txt, size_t len, enum dmarc_spec,
	    struct dmarc_tag_info *info, size_t maxinfo);
void	 dmarc_record_free(struct dmarc_record *);
const char *dmarc_req_name(enum dmarc_req);	/* "none", "quarantine", "reject" or NULL */
/* One reporting URI (RFC 3986 URI, RFC 9989 4.8 dmarc-uri, obs "!size" allowed). */
int	 dmarc_uri_ok(const char *s, size_t n);

/* Names: lower-case copy without a trailing dot (NULL if it does not fit). */
char	*dmarc_domain_norm(const char *in, char *out, size_t outlen);
size_t	 dmarc_domain_labels(const char *domain);
/* The rightmost n labels of domain (a pointer into it), NULL if n is 0 or too many. */
const char *dmarc_domain_suffix(const char *domain, size_t n);
/* 1 if d equals parent or is a subdomain of it (ASCII case-insensitive). */
int	 dmarc_domain_under(const char *d, const char *parent);
/*
 * The names a DNS tree walk from start queries, in order (RFC 9989 4.10):
 * start itself when include_start, then, for x labels, the name shortened
 * to min(x - 1, 7) labels, then one label less each time down to the TLD.
 * Returns the count (at most DMARC_WALK_MAX_QUERIES); out points into start.
 */
size_t	 dmarc_walk_targets(const char *start, int include_start,
	    const char *out[DMARC_WALK_MAX_QUERIES]);

#endif
