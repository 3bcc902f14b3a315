/*
 * dmarc.c - DMARC as RFC 9989 defines it, plus what an RFC 7489 receiver
 * decides on the same message.
 *
 * RFC 9989 (our own code; no library implements it):
 *   policy discovery and Organizational Domains by the DNS tree walk
 *   (4.10, 4.10.1, 4.10.2), record syntax (4.7, 4.8, dmarc_record.c),
 *   np/sp/p with the domain existence test (3.2.13, A.4), t=y (4.7), psd
 *   (4.7, 4.10.2), relaxed/strict alignment, pass/fail/none/temperror.
 * RFC 7489 view: policy discovery per RFC 7489 6.6.3 with the
 *   Organizational Domain from the public suffix list (libpsl on Debian's
 *   list, 3.2); the record, alignment and p/sp decision go through
 *   libopendmarc (opendmarc_policy_store_dmarc(),
 *   opendmarc_get_policy_to_enforce()), whose relaxed alignment we check
 *   against the PSL answer and correct where it differs (README.md,
 *   "Dependency notes").
 *
 * DNS: every lookup goes through common/dns.h; a per-message table keeps
 * each _dmarc name to one query.  A lookup failure gives temperror only
 * when the outcome depends on it.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpsl.h>
#include <opendmarc/dmarc.h>

#include "../common/dns.h"
#include "../common/log.h"
#include "../common/util.h"
#include "dmarc.h"
#include "dmarc_record.h"

#define DMARC_PREFIX		"_dmarc."
#define DMARC_DEFAULT_PSL	"/usr/share/publicsuffix/public_suffix_list.dat"
/* our limits (not from an RFC): identifier tree walks per message for
 * relaxed alignment (SPF first, then the DKIM signatures in order), and
 * _dmarc names looked up per message (8 + 10 * 8 + the RFC 7489 pair) */
#define DMARC_MAX_ID_WALKS	10
#define DMARC_MAX_FETCHES	96
#define DMARC_NAME_MAX		(DNS_MAX_NAME + 2)

/*
 * Shared between threads: Debian's public suffix list, loaded into libpsl
 * (read-only afterwards; libpsl contexts are safe to share) and into
 * libopendmarc's global TLD table (opendmarc_tld_read_file() swaps a global
 * under the library's own mutex; its lookups lock it too).  Loaded when the
 * first dmarc_ctx is made and freed with the last, under dmarc_lib_lock.
 */
static pthread_mutex_t	 dmarc_lib_lock = PTHREAD_MUTEX_INITIALIZER;
static int		 dmarc_lib_refs;
static psl_ctx_t	*dmarc_psl;
static int		 dmarc_tld_loaded;

/* not in <opendmarc/dmarc.h>, but exported by libopendmarc.so.2 (nm -D);
 * declared in the library's opendmarc_internal.h */
int	 opendmarc_get_tld(u_char *domain, u_char *tld, size_t tld_len);

struct dmarc_ctx {
	struct dns_resolver	*dns;		/* shared; not owned */
	char			 psl_path[1024];
	int			 have_psl;	/* dmarc_psl usable */
};

enum fetch_status { FS_NONE, FS_ONE, FS_MULTI, FS_TEMPFAIL };

/* One _dmarc.<domain> lookup, RFC 9989 4.10 steps 1-2 / 5-6. */
struct fetch {
	char			 domain[DMARC_NAME_MAX];
	enum fetch_status	 st;
	char			*text;		/* FS_ONE: the record; owned */
	size_t			 len;
	int			 secure;	/* AD bit on the answer */
	int			 other_txt;	/* TXT records that are not DMARC */
	char			*why;		/* FS_TEMPFAIL: DNS error; owned */
	struct dmarc_record	 rec;		/* FS_ONE: RFC 9989 parse */
};

/* The Organizational Domain of a name, from a tree walk (RFC 9989 4.10.2). */
struct org {
	int			 known;		/* 0: a lookup failed */
	const struct fetch	*failed;
	char			 name[DMARC_NAME_MAX];
	const struct fetch	*rec;		/* the record at name, or NULL */
	const struct fetch	*psd;		/* psd=y record above it (rule 2) */
	int			 rule;		/* 1, 2, 3; 0 = no record: start */
};

/* Per message. */
struct eval {
	struct dmarc_ctx	*c;
	struct fetch		 f[DMARC_MAX_FETCHES];
	size_t			 nf;
	int			 walks;		/* identifier walks made */
	int			 capped;	/* an identifier was not walked */
};

enum align { AL_NO, AL_YES, AL_UNKNOWN };

/* ---- shared libraries ----------------------------------------------------- */

static int
lib_acquire(const char *path)
{
	int ok;

	pthread_mutex_lock(&dmarc_lib_lock);
	if (dmarc_lib_refs++ == 0 && access(path, R_OK) == 0) {
		dmarc_psl = psl_load_file(path);
		dmarc_tld_loaded = opendmarc_tld_read_file((char *)path, "//",
		    "*.", "!") == 0;
	}
	ok = dmarc_psl != NULL;
	pthread_mutex_unlock(&dmarc_lib_lock);
	return ok;
}

static void
lib_release(void)
{
	pthread_mutex_lock(&dmarc_lib_lock);
	if (--dmarc_lib_refs == 0) {
		if (dmarc_psl != NULL)
			psl_free(dmarc_psl);
		dmarc_psl = NULL;
		if (dmarc_tld_loaded)
			opendmarc_tld_shutdown();
		dmarc_tld_loaded = 0;
	}
	pthread_mutex_unlock(&dmarc_lib_lock);
}

struct dmarc_ctx *
dmarc_ctx_new(const struct verify_config *cfg, char *err, size_t errlen)
{
	struct dmarc_ctx *c = xcalloc(1, sizeof(*c));

	(void)err;
	(void)errlen;
	c->dns = cfg->dns;
	str_copy(c->psl_path, cfg->public_suffix_list && *cfg->public_suffix_list ?
	    cfg->public_suffix_list : DMARC_DEFAULT_PSL, sizeof(c->psl_path));
	c->have_psl = lib_acquire(c->psl_path);
	if (!c->have_psl)
		log_warn(NULL, "dmarc", "psl-unreadable path=%s", c->psl_path);
	return c;
}

void
dmarc_ctx_free(struct dmarc_ctx *c)
{
	if (c == NULL)
		return;
	lib_release();
	free(c);
}

/*
 * RFC 7489 3.2: the Organizational Domain is the public suffix plus one
 * label.  NULL when the name is itself a public suffix (or invalid).
 */
int
dmarc_psl_org(struct dmarc_ctx *c, const char *domain, char *out, size_t outlen)
{
	char *lower = NULL;
	const char *r;
	int rc = -1;

	if (!c->have_psl || domain == NULL || *domain == '\0')
		return -1;
	if (psl_str_to_utf8lower(domain, "utf-8", NULL, &lower) != PSL_SUCCESS) {
		psl_free_string(lower);
		return -1;
	}
	r = psl_registrable_domain(dmarc_psl, lower);
	if (r != NULL && strlen(r) < outlen) {
		memcpy(out, r, strlen(r) + 1);
		rc = 0;
	}
	psl_free_string(lower);
	return rc;
}

int
dmarc_opendmarc_org(const char *domain, char *out, size_t outlen)
{
	u_char buf[DMARC_MAXHOSTNAMELEN + 1];

	if (domain == NULL || strlen(domain) > DNS_MAX_NAME)
		return -1;
	memset(buf, 0, sizeof(buf));
	if (opendmarc_get_tld((u_char *)domain, buf, sizeof(buf)) != 0)
		return -1;
	str_copy(out, (char *)buf, outlen);
	return 0;
}

/* ---- record lookups ------------------------------------------------------- */

static void
fetch_clear(struct fetch *f)
{
	free(f->text);
	free(f->why);
	dmarc_record_free(&f->rec);
	memset(f, 0, sizeof(*f));
}

/*
 * _dmarc.<domain> TXT (RFC 9989 4.10 steps 1-2): records not starting
 * with v=DMARC1 are discarded; several DMARC records are all discarded.
 * A name that cannot be asked (DNS_BADNAME) has no record.  NULL when the
 * per-message table is full (treated as a failed lookup).
 */
static const struct fetch *
fetch(struct eval *ev, const char *domain)
{
	const struct dns_answer *a;
	struct fetch *f;
	char qname[DNS_MAX_NAME + sizeof(DMARC_PREFIX) + 1];
	int ndmarc = 0;

	for (size_t i = 0; i < ev->nf; i++)
		if (strcmp(ev->f[i].domain, domain) == 0)
			return &ev->f[i];
	if (ev->nf >= DMARC_MAX_FETCHES || strlen(domain) >= DMARC_NAME_MAX)
		return NULL;
	f = &ev->f[ev->nf++];
	memset(f, 0, sizeof(*f));
	str_copy(f->domain, domain, sizeof(f->domain));
	snprintf(qname, sizeof(qname), DMARC_PREFIX "%s", domain);
	if (!dns_name_ok(qname)) {
		f->st = FS_NONE;
		return f;
	}
	a = dns_lookup(ev->c->dns, qname, DNS_T_TXT);
	if (a->status == DNS_TEMPFAIL) {
		f->st = FS_TEMPFAIL;
		f->why = xasprintf("the lookup of %s TXT failed: %s", qname,
		    a->why ? a->why : "DNS error");
		dns_answer_release(a);
		return f;
	}
	f->secure = a->secure;
	for (size_t i = 0; i < a->nrr; i++) {
		const struct dns_rr *rr = &a->rr[i];

		if (rr->type != DNS_T_TXT)
			continue;
		if (!dmarc_record_is_dmarc(rr->u.txt.data, rr->u.txt.len)) {
			f->other_txt++;
			continue;
		}
		if (ndmarc++ == 0) {
			f->text = xstrndup(rr->u.txt.data, rr->u.txt.len);
			f->len = rr->u.txt.len;
		}
	}
	dns_answer_release(a);
	if (ndmarc == 1) {
		f->st = FS_ONE;
		dmarc_record_parse(f->text, f->len, DMARC_SPEC_9989, &f->rec);
	} else {
		f->st = ndmarc > 1 ? FS_MULTI : FS_NONE;
		free(f->text);
		f->text = NULL;
	}
	return f;
}

/*
 * The Organizational Domain of start (RFC 9989 4.10.2): walk from start
 * (4.10), stopping at a record with psd=y or psd=n, then from the longest
 * name to the shortest: psd=n is the Organizational Domain (rule 1); psd=y
 * above start makes it the name one label below (rule 2); else the record
 * with the fewest labels (rule 3); no record at all: start itself.
 */
static void
org_walk(struct eval *ev, const char *start, struct org *o)
{
	const char *t[DMARC_WALK_MAX_QUERIES];
	const struct fetch *found[DMARC_WALK_MAX_QUERIES];
	size_t nt = dmarc_walk_targets(start, 1, t), nfound = 0;

	memset(o, 0, sizeof(*o));
	for (size_t i = 0; i < nt; i++) {
		const struct fetch *f = fetch(ev, t[i]);

		if (f == NULL || f->st == FS_TEMPFAIL) {
			o->failed = f;
			return;
		}
		if (f->st != FS_ONE)
			continue;
		found[nfound++] = f;
		if (f->rec.psd == 'y' || f->rec.psd == 'n')
			break;
	}
	o->known = 1;
	for (size_t i = 0; i < nfound; i++) {
		const struct fetch *f = found[i];

		if (f->rec.psd == 'n') {
			str_copy(o->name, f->domain, sizeof(o->name));
			o->rule = 1;
			break;
		}
		if (f->rec.psd == 'y' && strcmp(f->domain, start) != 0) {
			const char *below = dmarc_domain_suffix(start,
			    dmarc_domain_labels(f->domain) + 1);

			str_copy(o->name, below ? below : start, sizeof(o->name));
			o->psd = f;
			o->rule = 2;
			break;
		}
	}
	if (o->rule == 0 && nfound > 0) {
		str_copy(o->name, found[nfound - 1]->domain, sizeof(o->name));
		o->rule = 3;
	}
	if (o->rule == 0)
		str_copy(o->name, start, sizeof(o->name));
	for (size_t i = 0; i < nfound; i++)
		if (strcmp(found[i]->domain, o->name) == 0)
			o->rec = found[i];
}

/* RFC 9989 A.4: a name exists unless the answer is NXDOMAIN (RFC 8020). */
static enum align
domain_exists(struct eval *ev, const char *d, char **why)
{
	const struct dns_answer *a;
	enum align r;

	if (!dns_name_ok(d))
		return AL_NO;
	a = dns_lookup(ev->c->dns, d, DNS_T_A);
	if (a->status == DNS_TEMPFAIL) {
		*why = xasprintf("the existence check of %s (A) failed: %s", d,
		    a->why ? a->why : "DNS error");
		r = AL_UNKNOWN;
	} else
		r = a->status == DNS_NXDOMAIN || a->status == DNS_BADNAME ?
		    AL_NO : AL_YES;
	dns_answer_release(a);
	return r;
}

/*
 * Is identifier id aligned with the author domain (RFC 9989 3.2.10,
 * 4.10.2)?  Identical names always are; strict needs identical; relaxed
 * needs the same Organizational Domain, which must then be a suffix of id,
 * so other names are not walked.
 */
static enum align
align_9989(struct eval *ev, const char *author, const struct org *ao,
    const char *id, char mode)
{
	struct org io;

	if (str_caseeq(id, author))
		return AL_YES;
	if (mode == 's')
		return AL_NO;
	if (!ao->known)
		return AL_UNKNOWN;
	if (!dmarc_domain_under(id, ao->name))
		return AL_NO;
	if (ev->walks >= DMARC_MAX_ID_WALKS) {
		ev->capped = 1;
		return AL_NO;
	}
	ev->walks++;
	org_walk(ev, id, &io);
	if (!io.known)
		return AL_UNKNOWN;
	return strcmp(io.name, ao->name) == 0 ? AL_YES : AL_NO;
}

/* ---- alignment of every authenticated identifier ---------------------------- */

typedef enum align (*align_fn)(void *arg, const char *id, char mode);

struct align_out {
	int		 spf;		/* SPF pass and aligned */
	int		 dkim;		/* a DKIM pass is aligned */
	const char	*dkim_domain;	/* the first such d= (in sigs) */
	int		 unknown;	/* an identifier's alignment is unknown */
	int		 temp;		/* an aligned identifier had a temporary error */
	char		 temp_what[300];
};

static int
sig_first_pass(const struct dkim_sig *s)
{
	return s->result == AUTH_PASS || s->result == AUTH_TEMPERROR;
}

/*
 * SPF first, then the DKIM signatures that passed (or failed temporarily),
 * then the others (only for their ->aligned flag, when set_flags).
 */
static void
align_all(align_fn fn, void *arg, const struct spf_check *spf, const char *spf_dom,
    struct dkim_sig *sigs, size_t nsigs, char adkim, char aspf, int set_flags,
    struct align_out *o)
{
	memset(o, 0, sizeof(*o));
	if (spf_dom != NULL && (spf->result == AUTH_PASS || spf->result == AUTH_TEMPERROR)) {
		enum align r = fn(arg, spf_dom, aspf);

		if (spf->result == AUTH_PASS && r == AL_YES)
			o->spf = 1;
		else if (spf->result == AUTH_PASS && r == AL_UNKNOWN)
			o->unknown = 1;
		else if (r == AL_YES) {
			o->temp = 1;
			snprintf(o->temp_what, sizeof(o->temp_what),
			    "SPF for %s failed temporarily", spf_dom);
		}
	}
	for (int round = 0; round < 2; round++) {
		for (size_t i = 0; i < nsigs; i++) {
			struct dkim_sig *s = &sigs[i];
			char d[DMARC_NAME_MAX];
			enum align r;

			if (s->domain == NULL || sig_first_pass(s) != (round == 0))
				continue;
			if (round == 1 && !set_flags)
				continue;
			if (dmarc_domain_norm(s->domain, d, sizeof(d)) == NULL)
				continue;
			r = fn(arg, d, adkim);
			if (set_flags)
				s->aligned = r == AL_YES;
			if (s->result == AUTH_PASS && r == AL_YES && !o->dkim) {
				o->dkim = 1;
				o->dkim_domain = s->domain;
			} else if (s->result == AUTH_PASS && r == AL_UNKNOWN)
				o->unknown = 1;
			else if (s->result == AUTH_TEMPERROR && r == AL_YES && !o->temp) {
				o->temp = 1;
				snprintf(o->temp_what, sizeof(o->temp_what),
				    "the DKIM signature of %s could not be verified "
				    "(temporary error)", s->domain);
			}
		}
	}
}

struct a9989 {
	struct eval		*ev;
	const char		*author;
	const struct org	*ao;
};

static enum align
align_9989_cb(void *arg, const char *id, char mode)
{
	struct a9989 *a = arg;

	return align_9989(a->ev, a->author, a->ao, id, mode);
}

struct a7489 {
	struct dmarc_ctx	*c;
	const char		*author;
	const char		*org;	/* PSL org domain of the author, or NULL */
};

/* RFC 7489 3.1: identical, or (relaxed) the same PSL Organizational Domain */
static enum align
align_7489_cb(void *arg, const char *id, char mode)
{
	struct a7489 *a = arg;
	char io[DMARC_NAME_MAX];

	if (str_caseeq(id, a->author))
		return AL_YES;
	if (mode == 's' || a->org == NULL)
		return AL_NO;
	if (dmarc_psl_org(a->c, id, io, sizeof(io)) < 0)
		return AL_NO;
	return strcmp(io, a->org) == 0 ? AL_YES : AL_NO;
}

/* ---- the policy that applies ------------------------------------------------- */

/*
 * RFC 9989 4.10.1: a record without a valid p, or with an sp or np that is
 * not valid, acts as p=none if rua holds a valid URI; otherwise no DMARC
 * processing (returns 0).  *eff gets the requests that count.
 */
static int
record_effective(const struct dmarc_record *r, struct dmarc_record *eff, int *as_none)
{
	*eff = *r;
	*as_none = 0;
	if (r->p != DMARC_REQ_ABSENT && r->p != DMARC_REQ_INVALID &&
	    r->sp != DMARC_REQ_INVALID && r->np != DMARC_REQ_INVALID)
		return 1;
	if (r->rua_valid == 0)
		return 0;
	*as_none = 1;
	eff->p = DMARC_REQ_NONE;
	eff->sp = eff->np = DMARC_REQ_ABSENT;
	return 1;
}

/* t=y (RFC 9989 4.7): one level below the published policy. */
static enum dmarc_req
testing_downgrade(enum dmarc_req r)
{
	return r == DMARC_REQ_REJECT ? DMARC_REQ_QUARANTINE :
	    r == DMARC_REQ_QUARANTINE ? DMARC_REQ_NONE : r;
}

/*
 * RFC 9989 4.10.1: p for the Author Domain's own record; for a record of
 * the Organizational Domain or PSD, sp when the Author Domain exists, np
 * when it does not (looked up only when np is published and need_exist),
 * p in their absence.  -1 when the existence lookup failed and np differs.
 */
static int
choose_policy(struct eval *ev, const char *author, const char *pol_domain,
    const struct dmarc_record *eff, int need_exist, const char **tag,
    enum dmarc_req *req, char **why)
{
	enum align ex;

	if (str_caseeq(pol_domain, author)) {
		*tag = "p";
		*req = eff->p;
		return 0;
	}
	*tag = eff->sp != DMARC_REQ_ABSENT ? "sp" : "p";
	*req = eff->sp != DMARC_REQ_ABSENT ? eff->sp : eff->p;
	if (eff->np == DMARC_REQ_ABSENT || !need_exist)
		return 0;
	ex = domain_exists(ev, author, why);
	if (ex == AL_NO) {
		*tag = "np";
		*req = eff->np;
	} else if (ex == AL_UNKNOWN && eff->np != *req)
		return -1;
	return 0;
}

/* ---- RFC 9989 ------------------------------------------------------------------ */

/* What one view decided, for comparing the two. */
struct view {
	enum auth_res		 result;
	char			 org[DMARC_NAME_MAX];	/* "" when unknown */
	char			 pol_domain[DMARC_NAME_MAX];	/* "" when no record */
	const char		*tag;
	enum dmarc_req		 published, applied;
	struct align_out	 al;
	int			 author_multi;
	char			 why[512];	/* RFC 7489 view: no record, why */
};

static void
fill_record_fields(const struct fetch *pol, struct dmarc_result *out)
{
	const struct dmarc_record *r = &pol->rec;

	out->record_domain = xstrdup(pol->domain);
	out->record = xstrndup(pol->text, pol->len);
	out->p = r->p_text ? xstrdup(r->p_text) : NULL;
	out->sp = r->sp_text ? xstrdup(r->sp_text) : NULL;
	out->np = r->np_text ? xstrdup(r->np_text) : NULL;
	out->adkim = r->adkim;
	out->aspf = r->aspf;
	out->pct = r->pct;
	out->testing = r->testing;
	out->psd = r->psd == 'y';
	out->rua = r->rua ? xstrdup(r->rua) : NULL;
	out->ruf = r->ruf ? xstrdup(r->ruf) : NULL;
	out->dnssec = pol->secure;
}

/* "no record" in words: what the walk saw. */
static char *
none_reason(struct eval *ev, const char *author, const struct fetch *f0)
{
	struct sbuf b;

	sbuf_init(&b, 4096);
	if (f0->st == FS_MULTI)
		sbuf_printf(&b, "_dmarc.%s publishes several DMARC records, so all "
		    "are discarded (RFC 9989 4.10 step 2); ", author);
	else if (f0->other_txt)
		sbuf_printf(&b, "_dmarc.%s has TXT records but none starts with "
		    "v=DMARC1; ", author);
	sbuf_printf(&b, "no DMARC record was found for %s or above it "
	    "(tree walk, RFC 9989 4.10):", author);
	for (size_t i = 0; i < ev->nf; i++)
		if (dmarc_domain_under(author, ev->f[i].domain))
			sbuf_printf(&b, " _dmarc.%s%s", ev->f[i].domain,
			    ev->f[i].st == FS_MULTI ? " (several records)" : "");
	sbuf_adds(&b, "; DMARC does not apply");
	return sbuf_steal(&b);
}

static void
add_alignment_words(struct sbuf *b, const struct align_out *al, const char *author,
    const char *spf_dom, const struct spf_check *spf)
{
	if (al->spf)
		sbuf_printf(b, "SPF passed for %s, which is aligned with %s", spf_dom, author);
	if (al->dkim)
		sbuf_printf(b, "%sthe DKIM signature of %s passed and is aligned with %s",
		    al->spf ? "; " : "", al->dkim_domain, author);
	if (!al->spf && !al->dkim) {
		if (spf_dom != NULL && spf->result == AUTH_PASS)
			sbuf_printf(b, "SPF passed for %s, which is not aligned with %s",
			    spf_dom, author);
		else
			sbuf_printf(b, "SPF did not pass (%s)", auth_res_name(spf->result));
		sbuf_printf(b, "; no passing DKIM signature is aligned with %s", author);
	}
}

/* The policy words for a fail/temperror: which tag, t=y, existence. */
static void
decide_policy(struct eval *ev, const char *author, const struct fetch *pol,
    const struct dmarc_record *eff, int need_exist, struct view *v,
    struct dmarc_result *out, struct sbuf *b)
{
	char *why = NULL;

	if (choose_policy(ev, author, pol->domain, eff, need_exist, &v->tag,
	    &v->published, &why) < 0) {
		out->result = AUTH_TEMPERROR;
		sbuf_printf(b, "; whether np or %s applies depends on whether %s "
		    "exists, and %s", v->tag, author, why);
		v->tag = NULL;
		free(why);
		return;
	}
	free(why);
	v->applied = eff->testing ? testing_downgrade(v->published) : v->published;
	out->policy = xstrdup(dmarc_req_name(v->applied));
	out->policy_tag = xstrdup(v->tag);
	sbuf_printf(b, "; policy %s (%s=", dmarc_req_name(v->applied), v->tag);
	sbuf_printf(b, "%s%s%s%s)", dmarc_req_name(v->published),
	    strcmp(v->tag, "np") == 0 ? ", the subdomain does not exist" :
	    strcmp(v->tag, "sp") == 0 ? ", an existing subdomain" : "",
	    str_caseeq(pol->domain, author) ? "" : ", from the record of ",
	    str_caseeq(pol->domain, author) ? "" : pol->domain);
	if (v->applied != v->published)
		sbuf_printf(b, ", lowered from %s by t=y (testing)",
		    dmarc_req_name(v->published));
}

static void
eval_9989(struct eval *ev, const char *author, const struct spf_check *spf,
    const char *spf_dom, struct dkim_sig *sigs, size_t nsigs, struct view *v,
    struct dmarc_result *out)
{
	const struct fetch *f0 = fetch(ev, author), *pol;
	struct dmarc_record eff;
	struct org ao;
	struct a9989 arg = { ev, author, &ao };
	struct sbuf b;
	int as_none;

	if (f0 == NULL || f0->st == FS_TEMPFAIL) {
		out->result = AUTH_TEMPERROR;
		out->reason = xstrdup(f0 ? f0->why : "too many DNS lookups");
		return;
	}
	v->author_multi = f0->st == FS_MULTI;
	org_walk(ev, author, &ao);
	if (ao.known) {
		out->org_domain = xstrdup(ao.name);
		str_copy(v->org, ao.name, sizeof(v->org));
	}
	if (f0->st == FS_ONE)
		pol = f0;
	else if (!ao.known) {
		out->result = AUTH_TEMPERROR;
		out->reason = xasprintf("the DMARC policy cannot be discovered: %s",
		    ao.failed ? ao.failed->why : "too many DNS lookups");
		return;
	} else
		pol = ao.rec ? ao.rec : ao.psd;
	if (pol == NULL) {
		out->result = AUTH_NONE;
		out->reason = none_reason(ev, author, f0);
		return;
	}
	fill_record_fields(pol, out);
	str_copy(v->pol_domain, pol->domain, sizeof(v->pol_domain));
	if (!record_effective(&pol->rec, &eff, &as_none)) {
		out->result = AUTH_NONE;
		out->reason = xasprintf("the record at _dmarc.%s has no valid p= (or an "
		    "invalid sp=/np=) and no valid rua=, so no DMARC processing is "
		    "applied (RFC 9989 4.10.1)", pol->domain);
		return;
	}
	align_all(align_9989_cb, &arg, spf, spf_dom, sigs, nsigs, eff.adkim,
	    eff.aspf, 1, &v->al);
	out->spf_aligned = v->al.spf;
	out->dkim_aligned = v->al.dkim;
	out->aligned_dkim_domain = v->al.dkim_domain ? xstrdup(v->al.dkim_domain) : NULL;
	sbuf_init(&b, 8192);
	if (f0->st == FS_MULTI)
		sbuf_printf(&b, "the several DMARC records at _dmarc.%s are discarded "
		    "(RFC 9989 4.10 step 2); ", author);
	if (as_none)
		sbuf_printf(&b, "the record lacks a valid p= (or has an invalid sp=/np=) "
		    "but has a valid rua=, so it acts as p=none (RFC 9989 4.10.1); ");
	add_alignment_words(&b, &v->al, author, spf_dom, spf);
	if (v->al.spf || v->al.dkim) {
		out->result = AUTH_PASS;
		decide_policy(ev, author, pol, &eff, 0, v, out, &b);
	} else {
		out->result = AUTH_FAIL;
		if (v->al.unknown || v->al.temp) {
			out->result = AUTH_TEMPERROR;
			sbuf_printf(&b, "; %s", v->al.temp ? v->al.temp_what :
			    ao.failed ? ao.failed->why : "an Organizational Domain "
			    "lookup failed");
		}
		decide_policy(ev, author, pol, &eff, 1, v, out, &b);
	}
	if (ev->capped)
		sbuf_printf(&b, "; only %d identifiers were checked for relaxed "
		    "alignment", DMARC_MAX_ID_WALKS);
	if (pol->rec.ignored)
		sbuf_printf(&b, "; ignored as invalid in the record: %s", pol->rec.ignored);
	if (pol->rec.dup_tag)
		sbuf_printf(&b, "; tag %s= appears more than once (the first is used)",
		    pol->rec.dup_tag);
	out->reason = sbuf_steal(&b);
	sbuf_free(&b);
	v->result = out->result;
}

/* ---- RFC 7489 (libopendmarc) ------------------------------------------------- */

static int
odm_spf_result(enum auth_res r)
{
	switch (r) {
	case AUTH_PASS:		return DMARC_POLICY_SPF_OUTCOME_PASS;
	case AUTH_FAIL:
	case AUTH_SOFTFAIL:
	case AUTH_PERMERROR:	return DMARC_POLICY_SPF_OUTCOME_FAIL;
	case AUTH_TEMPERROR:	return DMARC_POLICY_SPF_OUTCOME_TMPFAIL;
	default:		return DMARC_POLICY_SPF_OUTCOME_NONE;
	}
}

static int
odm_dkim_result(enum auth_res r)
{
	switch (r) {
	case AUTH_PASS:		return DMARC_POLICY_DKIM_OUTCOME_PASS;
	case AUTH_TEMPERROR:	return DMARC_POLICY_DKIM_OUTCOME_TMPFAIL;
	case AUTH_NONE:		return DMARC_POLICY_DKIM_OUTCOME_NONE;
	default:		return DMARC_POLICY_DKIM_OUTCOME_FAIL;
	}
}

/*
 * RFC 7489 6.6.3 policy discovery: the author domain, then (only if it has
 * no DMARC record at all) the PSL Organizational Domain; several records
 * end discovery.  Returns the record's fetch, or NULL with *res set.
 */
static const struct fetch *
discover_7489(struct eval *ev, const char *author, const char *org,
    enum auth_res *res, struct sbuf *why)
{
	const struct fetch *f = fetch(ev, author);

	if (f == NULL || f->st == FS_TEMPFAIL) {
		*res = AUTH_TEMPERROR;
		sbuf_adds(why, f ? f->why : "too many DNS lookups");
		return NULL;
	}
	if (f->st == FS_MULTI) {
		*res = AUTH_NONE;
		sbuf_printf(why, "several records at _dmarc.%s end policy discovery "
		    "(RFC 7489 6.6.3 step 5)", author);
		return NULL;
	}
	if (f->st == FS_NONE && org != NULL && strcmp(org, author) != 0)
		f = fetch(ev, org);
	if (f == NULL || f->st == FS_TEMPFAIL) {
		*res = AUTH_TEMPERROR;
		sbuf_adds(why, f ? f->why : "too many DNS lookups");
		return NULL;
	}
	if (f->st != FS_ONE) {
		*res = AUTH_NONE;
		sbuf_printf(why, "no single DMARC record at _dmarc.%s%s%s", author,
		    org && strcmp(org, author) ? " or _dmarc." : "",
		    org && strcmp(org, author) ? org : "");
		return NULL;
	}
	return f;
}

/*
 * libopendmarc's decision on the record: it gets a record rebuilt from the
 * tags we parsed (never the text from DNS: its tag buffers are fixed-size,
 * see README.md), then store_spf/store_dkim and get_policy_to_enforce.
 * Returns its verdict (pass/fail, or none if it found no policy) and its
 * alignment flags.
 */
static enum auth_res
odm_decide(const char *author, const char *org_used, const struct dmarc_record *eff,
    const struct spf_check *spf, const char *spf_dom, const struct dkim_sig *sigs,
    size_t nsigs, int *lib_spf, int *lib_dkim)
{
	DMARC_POLICY_T *pctx;
	char canon[256], dom[DMARC_NAME_MAX];
	int ret, da = 0, sa = 0;

	*lib_spf = *lib_dkim = 0;
	snprintf(canon, sizeof(canon), "v=DMARC1; p=%s%s%s; adkim=%c; aspf=%c; pct=%d",
	    dmarc_req_name(eff->p), eff->sp != DMARC_REQ_ABSENT ? "; sp=" : "",
	    eff->sp != DMARC_REQ_ABSENT ? dmarc_req_name(eff->sp) : "",
	    eff->adkim, eff->aspf, eff->pct);
	if ((pctx = opendmarc_policy_connect_init((u_char *)"0.0.0.0", 0)) == NULL)
		fatal("opendmarc_policy_connect_init: out of memory");
	if (opendmarc_policy_store_from_domain(pctx, (u_char *)author) != DMARC_PARSE_OKAY ||
	    opendmarc_policy_store_dmarc(pctx, (u_char *)canon, (u_char *)author,
	    (u_char *)org_used) != DMARC_PARSE_OKAY) {
		opendmarc_policy_connect_shutdown(pctx);
		return AUTH_NONE;
	}
	if (spf_dom != NULL)
		(void)opendmarc_policy_store_spf(pctx, (u_char *)spf_dom,
		    odm_spf_result(spf->result), spf->identity &&
		    strcmp(spf->identity, "helo") == 0 ? DMARC_POLICY_SPF_ORIGIN_HELO :
		    DMARC_POLICY_SPF_ORIGIN_MAILFROM, NULL);
	for (size_t i = 0; i < nsigs; i++)
		if (sigs[i].domain != NULL &&
		    dmarc_domain_norm(sigs[i].domain, dom, sizeof(dom)) != NULL)
			(void)opendmarc_policy_store_dkim(pctx, (u_char *)dom,
			    (u_char *)(sigs[i].selector ? sigs[i].selector : ""),
			    odm_dkim_result(sigs[i].result), NULL);
	ret = opendmarc_get_policy_to_enforce(pctx);
	(void)opendmarc_policy_fetch_alignment(pctx, &da, &sa);
	opendmarc_policy_connect_shutdown(pctx);
	*lib_dkim = da == DMARC_POLICY_DKIM_ALIGNMENT_PASS;
	*lib_spf = sa == DMARC_POLICY_SPF_ALIGNMENT_PASS;
	switch (ret) {
	case DMARC_POLICY_PASS:		return AUTH_PASS;
	case DMARC_POLICY_REJECT:
	case DMARC_POLICY_QUARANTINE:
	case DMARC_POLICY_NONE:		return AUTH_FAIL;
	default:			return AUTH_NONE;
	}
}

static void
eval_7489(struct eval *ev, const char *author, const struct spf_check *spf,
    const char *spf_dom, struct dkim_sig *sigs, size_t nsigs, struct view *v,
    struct sbuf *lib, struct dmarc_result *out)
{
	struct dmarc_record r7, eff;
	struct sbuf why;
	const struct fetch *pol;
	char org[DMARC_NAME_MAX];
	struct a7489 arg = { ev->c, author, NULL };
	int as_none, lib_spf, lib_dkim, is_org;
	enum auth_res lib_res;

	if (dmarc_psl_org(ev->c, author, org, sizeof(org)) == 0) {
		arg.org = org;
		str_copy(v->org, org, sizeof(v->org));
		out->rfc7489.org_domain = xstrdup(org);
	}
	sbuf_init(&why, 2048);
	pol = discover_7489(ev, author, arg.org, &v->result, &why);
	if (pol == NULL) {
		str_copy(v->why, sbuf_str(&why), sizeof(v->why));
		sbuf_free(&why);
		return;
	}
	sbuf_free(&why);
	str_copy(v->pol_domain, pol->domain, sizeof(v->pol_domain));
	is_org = strcmp(pol->domain, author) != 0;
	dmarc_record_parse(pol->text, pol->len, DMARC_SPEC_7489, &r7);
	if (!record_effective(&r7, &eff, &as_none)) {
		v->result = AUTH_NONE;
		snprintf(v->why, sizeof(v->why), "no valid p= and no valid rua= in the "
		    "record at _dmarc.%s (RFC 7489 6.6.3)", pol->domain);
		dmarc_record_free(&r7);
		return;
	}
	align_all(align_7489_cb, &arg, spf, spf_dom, sigs, nsigs, eff.adkim,
	    eff.aspf, 0, &v->al);
	lib_res = odm_decide(author, is_org ? pol->domain : NULL, &eff, spf, spf_dom,
	    sigs, nsigs, &lib_spf, &lib_dkim);
	v->result = v->al.spf || v->al.dkim ? AUTH_PASS :
	    v->al.temp ? AUTH_TEMPERROR : AUTH_FAIL;
	v->tag = is_org && eff.sp != DMARC_REQ_ABSENT ? "sp" : "p";
	v->published = v->applied = is_org && eff.sp != DMARC_REQ_ABSENT ? eff.sp : eff.p;
	if (lib_spf != v->al.spf || lib_dkim != v->al.dkim ||
	    (lib_res != v->result && v->result != AUTH_TEMPERROR))
		sbuf_printf(lib, "libopendmarc 1.4.2 on its own would say %s (SPF %s, "
		    "DKIM %s): its relaxed alignment uses its own public-suffix lookup, "
		    "which disagrees with the list here (corrected)",
		    auth_res_name(lib_res), lib_spf ? "aligned" : "not aligned",
		    lib_dkim ? "aligned" : "not aligned");
	dmarc_record_free(&r7);
}

/* ---- where the two views differ ------------------------------------------------ */

static int
str_same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static char *
compare_views(const char *author, const struct view *n, const struct view *o,
    const struct dmarc_result *out, const char *libnote)
{
	const char *pn = n->result == AUTH_NONE ? NULL : out->policy;
	const char *po = out->rfc7489.policy;
	struct sbuf b;

	int org_differs = *n->org && *o->org && strcmp(n->org, o->org) != 0;

	if (n->result == o->result && str_same(pn, po) && !org_differs &&
	    n->al.spf == o->al.spf && n->al.dkim == o->al.dkim && *libnote == '\0')
		return NULL;
	sbuf_init(&b, 8192);
	if (org_differs)
		sbuf_printf(&b, "an RFC 7489 receiver uses the public suffix list and "
		    "finds the organizational domain %s; RFC 9989's tree walk finds %s. ",
		    o->org, n->org);
	if (n->author_multi && o->result == AUTH_NONE)
		sbuf_printf(&b, "RFC 7489 6.6.3 ends policy discovery at the several "
		    "records of _dmarc.%s; RFC 9989 4.10 discards them and walks on. ",
		    author);
	else if (strcmp(n->pol_domain, o->pol_domain) != 0)
		sbuf_printf(&b, "RFC 7489 takes %s%s; RFC 9989 takes %s%s. ",
		    *o->pol_domain ? "the record at _dmarc." : "no record", o->pol_domain,
		    *n->pol_domain ? "the record at _dmarc." : "no record", n->pol_domain);
	if (n->tag && strcmp(n->tag, "np") == 0 && o->tag && str_same(pn, po) == 0)
		sbuf_printf(&b, "RFC 7489 has no np tag and applies %s=%s to the "
		    "non-existent subdomain. ", o->tag, dmarc_req_name(o->published));
	if (n->tag && n->applied != n->published && o->result != AUTH_NONE)
		sbuf_printf(&b, "RFC 7489 does not know t=y and applies %s as published; "
		    "RFC 9989 lowers it to %s. ", dmarc_req_name(n->published),
		    dmarc_req_name(n->applied));
	if (n->al.dkim != o->al.dkim && o->result != AUTH_NONE && n->result != AUTH_NONE)
		sbuf_printf(&b, "DKIM is %saligned under RFC 7489%s%s but %saligned under "
		    "RFC 9989%s%s. ", o->al.dkim ? "" : "not ",
		    o->al.dkim ? " via " : "", o->al.dkim ? o->al.dkim_domain : "",
		    n->al.dkim ? "" : "not ", n->al.dkim ? " via " : "",
		    n->al.dkim ? n->al.dkim_domain : "");
	if (n->al.spf != o->al.spf && o->result != AUTH_NONE && n->result != AUTH_NONE)
		sbuf_printf(&b, "SPF is %saligned under RFC 7489 but %saligned under "
		    "RFC 9989. ", o->al.spf ? "" : "not ", n->al.spf ? "" : "not ");
	sbuf_printf(&b, "RFC 7489: %s%s%s%s%s%s; RFC 9989: %s%s%s.",
	    auth_res_name(o->result), po ? ", policy " : "", po ? po : "",
	    *o->why ? " (" : "", o->why, *o->why ? ")" : "", auth_res_name(n->result),
	    pn ? ", policy " : "", pn ? pn : "");
	if (*libnote)
		sbuf_printf(&b, " %s.", libnote);
	return sbuf_steal(&b);
}

/* ---- entry points ---------------------------------------------------------------- */

/* The SPF-authenticated domain (RFC 9989 3.2.4: MAIL FROM, or the HELO
 * name for the null reverse-path, RFC 7208 2.4). */
static const char *
spf_domain(const struct spf_check *spf, char *buf, size_t n)
{
	const char *d = spf->domain;

	if ((d == NULL || *d == '\0') && spf->sender != NULL) {
		const char *at = strrchr(spf->sender, '@');

		d = at ? at + 1 : spf->sender;
	}
	return d && *d ? dmarc_domain_norm(d, buf, n) : NULL;
}

void
dmarc_check_run(struct dmarc_ctx *c, const char *from_domain, const char *from_error,
    const struct spf_check *spf, struct dkim_sig *sigs, size_t nsigs,
    struct dmarc_result *out)
{
	static const struct spf_check no_spf;
	struct eval *ev;
	struct view v9, v7;
	struct sbuf lib;
	char author[DMARC_NAME_MAX], sd[DMARC_NAME_MAX];
	const char *spf_dom;

	memset(out, 0, sizeof(*out));
	out->pct = 100;
	for (size_t i = 0; i < nsigs; i++)
		sigs[i].aligned = 0;
	if (spf == NULL)
		spf = &no_spf;
	out->domain = from_domain ? xstrdup(from_domain) : NULL;
	if (from_domain == NULL || dmarc_domain_norm(from_domain, author,
	    sizeof(author)) == NULL) {
		out->result = out->rfc7489.result = AUTH_PERMERROR;
		out->reason = xasprintf("no single author domain: %s", from_error &&
		    *from_error ? from_error : "the From: domain is missing or too long");
		return;
	}
	spf_dom = spf_domain(spf, sd, sizeof(sd));
	ev = xcalloc(1, sizeof(*ev));
	ev->c = c;
	memset(&v9, 0, sizeof(v9));
	memset(&v7, 0, sizeof(v7));
	eval_9989(ev, author, spf, spf_dom, sigs, nsigs, &v9, out);
	v9.result = out->result;
	sbuf_init(&lib, 2048);
	if (!c->have_psl) {
		out->rfc7489.result = AUTH_NONE;
		out->rfc7489.note = xasprintf("RFC 7489 view not available: the public "
		    "suffix list %s cannot be read", c->psl_path);
	} else {
		eval_7489(ev, author, spf, spf_dom, sigs, nsigs, &v7, &lib, out);
		out->rfc7489.result = v7.result;
		if (v7.tag != NULL && v7.result != AUTH_NONE)
			out->rfc7489.policy = xstrdup(dmarc_req_name(v7.applied));
		out->rfc7489.spf_aligned = v7.al.spf;
		out->rfc7489.dkim_aligned = v7.al.dkim;
		out->rfc7489.note = compare_views(author, &v9, &v7, out, sbuf_str(&lib));
	}
	sbuf_free(&lib);
	for (size_t i = 0; i < ev->nf; i++)
		fetch_clear(&ev->f[i]);
	free(ev);
}

void
dmarc_result_free(struct dmarc_result *r)
{
	free(r->domain);
	free(r->org_domain);
	free(r->record_domain);
	free(r->record);
	free(r->policy);
	free(r->policy_tag);
	free(r->p);
	free(r->sp);
	free(r->np);
	free(r->aligned_dkim_domain);
	free(r->rua);
	free(r->ruf);
	free(r->reason);
	free(r->rfc7489.org_domain);
	free(r->rfc7489.policy);
	free(r->rfc7489.note);
	memset(r, 0, sizeof(*r));
}
