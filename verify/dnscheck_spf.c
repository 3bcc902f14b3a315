/*
 * dnscheck_spf.c - the SPF part of the record checker (see dnscheck.h).
 *
 * The domain's record and everything it reaches through include: and
 * redirect= are fetched and parsed with spf_record.h (the evaluator's own
 * grammar) into a tree, walked depth first.  Unlike an evaluation, which
 * stops at the first match, the walk looks at every term, so the counts
 * are those of the worst case - the mail of a server that matches nothing:
 * DNS-querying terms (RFC 7208 4.6.4: at most 10) and void lookups (at
 * most 2).  Terms after "all" are never evaluated (5.1) and not counted;
 * names built from macros depend on the sender and are not followed.
 *
 * Findings carry corrected records built from the parsed terms and parsed
 * again before they are offered; corrections are offered only for the
 * user's own records (the domain and names under it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/dns.h"
#include "../common/util.h"
#include "dnscheck.h"
#include "dnscheck_int.h"
#include "spf.h"
#include "spf_record.h"

/* tries at dropping unparsable terms from a record before giving up */
#define SPF_FIX_TRIES		8
/* ip4 / ip6 prefixes shorter than these authorize too much */
#define SPF_IP4_ERROR_LEN	8
#define SPF_IP4_WARN_LEN	16
#define SPF_IP6_ERROR_LEN	16
#define SPF_IP6_WARN_LEN	32

enum how { HOW_TOP, HOW_INCLUDE, HOW_REDIRECT };

/* What the walk keeps per node besides the public struct. */
struct node_priv {
	char		*text;		/* owned: the record, raw */
	size_t		 len;
	size_t		*bounds;	/* owned: string boundaries (offsets) */
	size_t		 nbounds;
	struct spf_record rec;		/* valid when parsed */
	int		 parsed;
	int		*child;		/* owned: per term, node index or -1 */
	int		 redirect_child;	/* -1 */
	int		 all_idx;	/* first "all" term, -1 */
	int		 via_term;	/* index of the term in the parent, -1 */
	int		 in_include;	/* reached through an include */
};

struct spf_walk {
	struct dnscheck_ctx	*c;
	struct dnscheck_spf	*s;
	struct node_priv	*np;	/* DNSCHECK_SPF_MAX_NODES */
	int			 macro_noted;
	char			*type99;	/* raw type-99 record, for a fix */
};

static int walk(struct spf_walk *, const char *, int, int, const char *, enum how, int);

static int
has_macro(const char *s)
{
	return s != NULL && strchr(s, '%') != NULL;
}

/* ---- building corrected records ------------------------------------------- */

/*
 * "v=spf1" and the terms of rec: repl[k] NULL keeps term k, "" drops it,
 * anything else replaces it; append (may be NULL) goes at the end.  The
 * result is parsed again: NULL if it does not parse.
 */
static char *
rebuild(const struct spf_record *rec, const char *const *repl, const char *append)
{
	struct spf_record chk;
	struct spf_error err;
	struct sbuf b;
	char *out;

	sbuf_init(&b, SPF_RECORD_MAX_LEN);
	sbuf_adds(&b, "v=spf1");
	for (size_t k = 0; k < rec->nterms; k++) {
		const char *t = repl && repl[k] ? repl[k] : rec->terms[k].text;

		if (*t != '\0')
			sbuf_printf(&b, " %s", t);
	}
	if (append != NULL)
		sbuf_printf(&b, " %s", append);
	if (b.overflow) {
		sbuf_free(&b);
		return NULL;
	}
	out = sbuf_steal(&b);
	sbuf_free(&b);
	if (spf_record_parse(out, strlen(out), &chk, &err) < 0) {
		free(out);
		return NULL;
	}
	spf_record_free(&chk);
	return out;
}

/* The record with term k replaced (NULL repl: dropped). */
static char *
rebuild_one(const struct spf_record *rec, size_t k, const char *repl)
{
	const char **r = xcalloc(rec->nterms, sizeof(*r));
	char *out;

	r[k] = repl ? repl : "";
	out = rebuild(rec, r, NULL);
	free(r);
	return out;
}

/* The record with every term of one kind dropped. */
static char *
rebuild_without(const struct spf_record *rec, enum spf_kind kind)
{
	const char **r = xcalloc(rec->nterms, sizeof(*r));
	char *out;

	for (size_t k = 0; k < rec->nterms; k++)
		if (rec->terms[k].kind == kind)
			r[k] = "";
	out = rebuild(rec, r, NULL);
	free(r);
	return out;
}

/* ---- one record ------------------------------------------------------------ */

static void
note_macro(struct spf_walk *w, int idx, const struct spf_term *t)
{
	if (w->macro_noted++)
		return;
	dc_finding(w->c, DNSCHECK_INFO, "spf", "spf-macro", w->s->nodes[idx].domain,
	    "RFC 7208 7", NULL, "%s builds its name from macros: what it looks up "
	    "depends on the sender, so it was counted but not followed", t->text);
}

/* A missing record where a term led: the fix drops that term. */
static char *
fix_in_parent(struct spf_walk *w, int idx, const char *repl)
{
	int p = w->s->nodes[idx].parent;

	if (p < 0 || !w->np[p].parsed || w->np[idx].via_term < 0 ||
	    !dc_own(w->c, w->s->nodes[p].domain))
		return NULL;
	return rebuild_one(&w->np[p].rec, (size_t)w->np[idx].via_term, repl);
}

/* The fix of a finding about node idx is for its parent's record. */
static struct dnscheck_finding *
fix_name(struct dnscheck_finding *f, struct spf_walk *w, int idx)
{
	int p = w->s->nodes[idx].parent;

	if (f != NULL && f->suggestion != NULL && p >= 0)
		f->suggestion_name = xstrdup(w->s->nodes[p].domain);
	return f;
}

/* No SPF record where one was looked for. */
static void
missing(struct spf_walk *w, int idx, enum how how, const struct dns_answer *a,
    char *quoted)
{
	struct dnscheck_spf_node *n = &w->s->nodes[idx];
	const char *what = a->status == DNS_NXDOMAIN ? "the name does not exist" :
	    a->status == DNS_NODATA ? "it has no TXT record" : "none of its TXT "
	    "records starts with v=spf1";
	const struct dnscheck_mx *mx = &w->c->res->mx;

	if (quoted != NULL) {
		dc_finding(w->c, DNSCHECK_ERROR, "spf", "spf-quotes", n->domain,
		    "RFC 7208 4.5", xstrdup(quoted), "the SPF record of %s holds quote "
		    "or backslash characters, so it does not start with \"v=spf1\" "
		    "and receivers do not see it (the DNS provider's form took the "
		    "quotes you typed as part of the text)", n->domain);
		return;
	}
	if (how == HOW_TOP && w->type99 != NULL)
		dc_finding(w->c, DNSCHECK_ERROR, "spf", "spf-missing", n->domain,
		    "RFC 7208 3.1", xstrdup(w->type99), "%s publishes its SPF record "
		    "only as the obsolete SPF (type 99) record, which receivers no "
		    "longer read: publish it as TXT", n->domain);
	else if (how == HOW_TOP)
		dc_finding(w->c, DNSCHECK_WARNING, "spf", "spf-missing", n->domain,
		    "RFC 7208 4.5", xstrdup(mx->n > 0 && !mx->null_mx ? "v=spf1 mx ~all" :
		    "v=spf1 -all"), "%s has no SPF record (%s): receivers get \"none\" "
		    "and cannot tell your servers from forgers. List the servers "
		    "that send your mail (ip4:, ip6:, include: of your provider); the "
		    "suggestion %s", n->domain, what, mx->n > 0 && !mx->null_mx ?
		    "authorizes your MX hosts, a guess to adapt" : "says the domain "
		    "sends no mail at all");
	else
		fix_name(dc_finding(w->c, DNSCHECK_ERROR, "spf", how == HOW_INCLUDE ?
		    "spf-include-missing" : "spf-redirect-missing", n->domain,
		    how == HOW_INCLUDE ? "RFC 7208 5.2" : "RFC 7208 6.1",
		    fix_in_parent(w, idx, how == HOW_REDIRECT ? "~all" : NULL),
		    "%s: %s has no SPF record (%s); the check of the whole record "
		    "is then permerror, so SPF fails for all your mail. Fix or remove "
		    "the %s", n->via, n->domain, what, how == HOW_INCLUDE ? "include" :
		    "redirect"), w, idx);
}

/*
 * Several SPF records: one merged record, mechanisms of all of them
 * (duplicates once), the ending of the first that has one.
 */
static char *
merge(const struct dns_answer *a)
{
	struct sbuf b;
	char *end_copy = NULL, *out;
	struct spf_record chk;
	struct spf_error err;

	sbuf_init(&b, SPF_RECORD_MAX_LEN);
	sbuf_adds(&b, "v=spf1 ");	/* terms each followed by a space */
	for (size_t i = 0; i < a->nrr; i++) {
		const struct dns_rr *rr = &a->rr[i];
		struct spf_record rec;

		if (rr->type != DNS_T_TXT ||
		    !spf_record_is_spf(rr->u.txt.data, rr->u.txt.len) ||
		    spf_record_parse(rr->u.txt.data, rr->u.txt.len, &rec, &err) < 0)
			continue;
		for (size_t k = 0; k < rec.nterms; k++) {
			const struct spf_term *t = &rec.terms[k];
			char *pad;

			if ((t->kind == SPF_ALL || t->kind == SPF_REDIRECT) &&
			    end_copy == NULL)
				end_copy = xstrdup(t->kind == SPF_ALL && (t->qual == '+' ||
				    t->qual == '?') ? "~all" : t->text);
			if (t->kind == SPF_ALL || t->kind >= SPF_REDIRECT)
				continue;
			pad = xasprintf(" %s ", t->text);
			if (strcasestr(sbuf_str(&b), pad) == NULL)
				sbuf_printf(&b, "%s ", t->text);
			free(pad);
		}
		spf_record_free(&rec);
	}
	sbuf_adds(&b, end_copy ? end_copy : "~all");
	free(end_copy);
	out = b.overflow ? NULL : sbuf_steal(&b);
	sbuf_free(&b);
	if (out && spf_record_parse(out, strlen(out), &chk, &err) < 0) {
		free(out);
		return NULL;
	}
	if (out)
		spf_record_free(&chk);
	return out;
}

/* The TXT lookup of one node: 0 with np->text set, or -1 (broken). */
static int
fetch(struct spf_walk *w, int idx, enum how how)
{
	struct dnscheck_spf_node *n = &w->s->nodes[idx];
	struct node_priv *np = &w->np[idx];
	const struct dns_answer *a;
	const struct dns_rr *rr = NULL;
	char *quoted = NULL;

	if ((a = dc_query(w->c, n->domain, DNS_T_TXT, 1)) == NULL) {
		n->broken = 1;
		return -1;
	}
	n->status = a->status;
	n->secure = a->secure;
	for (size_t i = 0; a->status == DNS_OK && i < a->nrr; i++) {
		const struct dns_rr *x = &a->rr[i];
		char *uq;

		if (x->type != DNS_T_TXT)
			continue;
		if (spf_record_is_spf(x->u.txt.data, x->u.txt.len)) {
			if (n->nrecords++ == 0)
				rr = x;
		} else if (quoted == NULL &&
		    (uq = dc_unquote(x->u.txt.data, x->u.txt.len)) != NULL) {
			if (spf_record_is_spf(uq, strlen(uq)))
				quoted = uq;
			else
				free(uq);
		}
	}
	if (a->status == DNS_TEMPFAIL) {
		n->broken = 1;
		dc_finding(w->c, DNSCHECK_ERROR, "spf", "spf-lookup-failed", n->domain,
		    "RFC 7208 4.4", NULL, "the lookup of the SPF record of %s failed "
		    "(%s): receivers get temperror", n->domain, a->why ? a->why :
		    "DNS error");
	} else if (rr == NULL) {
		n->broken = 1;
		if (how != HOW_TOP && (a->status == DNS_NXDOMAIN || a->status == DNS_NODATA))
			n->void_lookups = 1;
		missing(w, idx, how, a, quoted);
	} else {
		np->text = xstrndup(rr->u.txt.data, rr->u.txt.len);
		np->len = rr->u.txt.len;
		n->record = dc_printable(rr->u.txt.data, rr->u.txt.len);
		np->bounds = xcalloc(rr->u.txt.nstr + 1, sizeof(*np->bounds));
		for (size_t i = 0, off = 0; i + 1 < rr->u.txt.nstr; i++) {
			off += rr->u.txt.strlen[i];
			np->bounds[np->nbounds++] = off;
		}
		if (n->nrecords > 1) {
			n->broken = 1;
			dc_finding(w->c, DNSCHECK_ERROR, "spf", "spf-multiple", n->domain,
			    "RFC 7208 4.5", dc_own(w->c, n->domain) ? merge(a) : NULL,
			    "%s publishes %d SPF records; there must be exactly one, and "
			    "with several receivers return permerror. Merge them into "
			    "one record", n->domain, n->nrecords);
		}
		if (dc_own(w->c, n->domain) && np->len > DNSCHECK_SPF_UDP_SAFE)
			dc_finding(w->c, DNSCHECK_WARNING, "spf", "spf-long", n->domain,
			    "RFC 7208 3.4", NULL, "the SPF record of %s is %zu octets; "
			    "over %d, the answer may not fit a UDP packet and receivers "
			    "must retry over TCP, which some do not: shorten it (fewer "
			    "terms, or include: a record per provider)", n->domain, np->len,
			    DNSCHECK_SPF_UDP_SAFE);
	}
	free(quoted);
	dns_answer_release(a);
	return rr != NULL ? 0 : -1;
}

/* The term around octet pos of a record: [*b, *e). */
static void
term_at(const char *s, size_t len, size_t pos, size_t *b, size_t *e)
{
	*b = pos < len ? pos : len;
	while (*b > 0 && s[*b - 1] != ' ')
		(*b)--;
	*e = pos;
	while (*e < len && s[*e] != ' ')
		(*e)++;
}

/*
 * A fix for a record that does not parse: a space where a string boundary
 * falls inside the bad term (strings are joined without one, 3.3), or the
 * bad terms dropped.  NULL when neither gives a record that parses.
 */
static char *
fix_syntax(const struct node_priv *np, const struct spf_error *first, int *boundary)
{
	struct spf_record rec;
	struct spf_error err = *first;
	char *cur = xstrndup(np->text, np->len);
	size_t b, e;

	*boundary = 0;
	term_at(np->text, np->len, first->pos, &b, &e);
	for (size_t i = 0; i < np->nbounds; i++)
		if (np->bounds[i] > b && np->bounds[i] < e) {
			char *sp = xasprintf("%.*s %s", (int)np->bounds[i], np->text,
			    np->text + np->bounds[i]);

			if (spf_record_parse(sp, strlen(sp), &rec, &err) == 0) {
				spf_record_free(&rec);
				*boundary = 1;
				free(cur);
				return sp;
			}
			free(sp);
			err = *first;
		}
	for (int tries = 0; tries < SPF_FIX_TRIES; tries++) {
		size_t len = strlen(cur);

		term_at(cur, len, err.pos, &b, &e);
		if (b < 7)		/* the version itself */
			break;
		memmove(cur + b - 1, cur + e, len - e + 1);
		if (spf_record_parse(cur, strlen(cur), &rec, &err) == 0) {
			spf_record_free(&rec);
			return cur;
		}
	}
	free(cur);
	return NULL;
}

static void
syntax_error(struct spf_walk *w, int idx, const struct spf_error *err)
{
	struct dnscheck_spf_node *n = &w->s->nodes[idx];
	struct node_priv *np = &w->np[idx];
	int boundary = 0;
	char *fix = dc_own(w->c, n->domain) ? fix_syntax(np, err, &boundary) : NULL;

	n->broken = 1;
	dc_finding(w->c, DNSCHECK_ERROR, "spf", "spf-syntax", n->domain, err->rfc, fix,
	    "syntax error in the SPF record of %s at octet %zu: %s%s; receivers "
	    "return permerror, so SPF fails for all mail%s", n->domain, err->pos + 1,
	    err->msg, boundary ? ". The record is split into strings inside that "
	    "term, and strings are joined without a space (RFC 7208 3.3): end the "
	    "first string with a space" : "", idx > 0 ? " of the records that "
	    "reach it" : "");
}

/* ip4:/ip6: with a prefix that covers far too much (when it passes). */
static void
check_breadth(struct spf_walk *w, int idx, const struct spf_term *t)
{
	int v4 = t->kind == SPF_IP4;
	int len = v4 ? (t->cidr4 < 0 ? 32 : t->cidr4) : (t->cidr6 < 0 ? 128 : t->cidr6);
	int err_len = v4 ? SPF_IP4_ERROR_LEN : SPF_IP6_ERROR_LEN;
	int warn_len = v4 ? SPF_IP4_WARN_LEN : SPF_IP6_WARN_LEN;

	if (t->qual != '+' || len >= warn_len)
		return;
	dc_finding(w->c, len < err_len ? DNSCHECK_ERROR : DNSCHECK_WARNING, "spf",
	    "spf-too-broad", w->s->nodes[idx].domain, "RFC 7208 5.6", NULL,
	    "%s authorizes a /%d network - %s: anyone with an address there can "
	    "send as you. List your servers' own addresses or ranges", t->text, len,
	    v4 && len == 0 ? "every IPv4 address" : !v4 && len == 0 ?
	    "every IPv6 address" : v4 ? "millions of addresses" : "a whole provider "
	    "or more");
}

/* a:, mx:, exists: - one lookup each; a void one counts (4.6.4). */
static void
check_void(struct spf_walk *w, int idx, const struct spf_term *t)
{
	struct dnscheck_spf_node *n = &w->s->nodes[idx];
	const char *target = t->spec ? t->spec : n->domain;
	const int types[2] = { t->kind == SPF_MX ? DNS_T_MX : DNS_T_A,
	    t->kind == SPF_A ? DNS_T_AAAA : 0 };
	size_t found = 0;
	int failed = 0;

	if (has_macro(t->spec)) {
		note_macro(w, idx, t);
		return;
	}
	for (size_t i = 0; i < 2 && types[i] != 0; i++) {
		const struct dns_answer *a = dc_query(w->c, target, types[i], 1);

		if (a == NULL)
			return;
		failed |= a->status == DNS_TEMPFAIL;
		for (size_t k = 0; a->status == DNS_OK && k < a->nrr; k++)
			found += a->rr[k].type == types[i];
		dns_answer_release(a);
	}
	if (failed)
		dc_finding(w->c, DNSCHECK_ERROR, "spf", "spf-lookup-failed", n->domain,
		    "RFC 7208 5", NULL, "the lookup for %s in the record of %s failed: "
		    "receivers get temperror when they reach it", t->text, n->domain);
	else if (found == 0) {
		n->void_lookups++;
		dc_finding(w->c, DNSCHECK_INFO, "spf", "spf-void-term", n->domain,
		    "RFC 7208 4.6.4", dc_own(w->c, n->domain) ?
		    rebuild_one(&w->np[idx].rec, (size_t)(t - w->np[idx].rec.terms), NULL) :
		    NULL, "%s in the record of %s finds nothing (a void lookup: at "
		    "most 2 are allowed); it never matches, so it can go", t->text,
		    n->domain);
	} else if (t->kind == SPF_MX && found > SPF_MAX_MX_NAMES)
		dc_finding(w->c, DNSCHECK_ERROR, "spf", "spf-mx-too-many", n->domain,
		    "RFC 7208 4.6.4", NULL, "%s finds %zu MX hosts; a receiver looks "
		    "up at most %d, then returns permerror: list the sending hosts "
		    "with ip4:/ip6: instead", t->text, found, SPF_MAX_MX_NAMES);
}

/* The terms of one parsed record: counts, checks, and the walk below it. */
static void
terms(struct spf_walk *w, int idx, int in_include)
{
	struct node_priv *np = &w->np[idx];
	const struct spf_record *rec = &np->rec;
	int after_all = 0, after = 0;

	for (size_t k = 0; k < rec->nterms; k++) {
		const struct spf_term *t = &rec->terms[k];

		np->child[k] = -1;
		if (t->kind < SPF_REDIRECT && after_all) {
			after++;
			continue;
		}
		if (t->kind == SPF_ALL) {
			after_all = 1;
			np->all_idx = (int)k;
			continue;
		}
		if (t->kind == SPF_REDIRECT && rec->has_all)
			continue;	/* 6.1: ignored */
		if (spf_term_queries_dns(t))
			w->s->nodes[idx].dns_terms++;
		switch (t->kind) {
		case SPF_PTR:
			dc_finding(w->c, DNSCHECK_WARNING, "spf", "spf-ptr",
			    w->s->nodes[idx].domain, "RFC 7208 5.5",
			    dc_own(w->c, w->s->nodes[idx].domain) ?
			    rebuild_without(rec, SPF_PTR) : NULL, "%s: the ptr mechanism "
			    "is deprecated (\"SHOULD NOT be used\"): it is slow, unreliable, "
			    "and some receivers skip it; list the servers with ip4:/ip6: or "
			    "a: instead", t->text);
			break;
		case SPF_IP4:
		case SPF_IP6:
			check_breadth(w, idx, t);
			break;
		case SPF_A:
		case SPF_MX:
		case SPF_EXISTS:
			check_void(w, idx, t);
			break;
		case SPF_INCLUDE:
			if (has_macro(t->spec))
				note_macro(w, idx, t);
			else
				np->child[k] = walk(w, t->spec, idx, (int)k, t->text,
				    HOW_INCLUDE, 1);
			break;
		default:
			break;
		}
	}
	if (rec->redirect >= 0 && !rec->has_all) {
		const struct spf_term *t = &rec->terms[rec->redirect];

		if (has_macro(t->spec))
			note_macro(w, idx, t);
		else
			np->redirect_child = np->child[rec->redirect] = walk(w, t->spec,
			    idx, rec->redirect, t->text, HOW_REDIRECT, in_include);
	} else if (rec->redirect >= 0)
		dc_finding(w->c, DNSCHECK_INFO, "spf", "spf-redirect-ignored",
		    w->s->nodes[idx].domain, "RFC 7208 6.1",
		    dc_own(w->c, w->s->nodes[idx].domain) ?
		    rebuild_without(rec, SPF_REDIRECT) : NULL, "%s is ignored because "
		    "the record also has an \"all\" mechanism", rec->terms[rec->redirect].text);
	if (after > 0)
		dc_finding(w->c, DNSCHECK_WARNING, "spf", "spf-after-all",
		    w->s->nodes[idx].domain, "RFC 7208 5.1", NULL, "%d mechanism%s "
		    "after \"%s\" %s never evaluated: \"all\" always matches, so "
		    "move %s before it", after, after > 1 ? "s" : "",
		    rec->terms[np->all_idx].text, after > 1 ? "are" : "is",
		    after > 1 ? "them" : "it");
	if (in_include && np->all_idx >= 0 && rec->terms[np->all_idx].qual == '+')
		dc_finding(w->c, DNSCHECK_ERROR, "spf", "spf-include-pass-all",
		    w->s->nodes[idx].domain, "RFC 7208 5.2",
		    dc_own(w->c, w->s->nodes[idx].domain) ?
		    rebuild_one(rec, (size_t)np->all_idx, "~all") : NULL, "the record "
		    "of %s, reached through %s, ends with %s: the include matches "
		    "every address, so the record that includes it passes mail from "
		    "anyone", w->s->nodes[idx].domain, w->s->nodes[idx].via,
		    rec->terms[np->all_idx].text);
}

static void
loop_found(struct spf_walk *w, int idx)
{
	struct dnscheck_spf_node *nodes = w->s->nodes;
	struct dnscheck_finding *f;
	struct sbuf path;
	int top = idx;
	char *fix = NULL;

	sbuf_init(&path, 0);
	sbuf_adds(&path, nodes[idx].domain);
	for (int p = nodes[idx].parent; p >= 0; p = nodes[p].parent)
		sbuf_printf(&path, " <- %s", nodes[p].domain);
	while (nodes[top].parent > 0)
		top = nodes[top].parent;
	if (nodes[top].parent == 0 && w->np[0].parsed && w->np[top].via_term >= 0 &&
	    dc_own(w->c, nodes[0].domain))
		fix = rebuild_one(&w->np[0].rec, (size_t)w->np[top].via_term, NULL);
	f = dc_finding(w->c, DNSCHECK_ERROR, "spf", "spf-loop", nodes[idx].domain,
	    "RFC 7208 4.6.4", fix, "%s leads back to %s, which is already being "
	    "evaluated (%s): the evaluation would never end, and receivers stop it "
	    "at the limit of 10 lookups with permerror. Remove the term that "
	    "closes the loop", nodes[idx].via, nodes[idx].domain, sbuf_str(&path));
	if (f != NULL && f->suggestion != NULL)
		f->suggestion_name = xstrdup(nodes[0].domain);
	sbuf_free(&path);
}

/* One node of the tree: its record and, below it, its includes/redirect. */
static int
walk(struct spf_walk *w, const char *domain, int parent, int via_term,
    const char *via, enum how how, int in_include)
{
	struct dnscheck_spf *s = w->s;
	struct dnscheck_spf_node *n;
	struct spf_error err;
	int idx, depth = parent < 0 ? 0 : s->nodes[parent].depth + 1;

	if (s->nnodes >= DNSCHECK_SPF_MAX_NODES || depth > DNSCHECK_SPF_MAX_DEPTH) {
		if (!s->truncated)
			dc_finding(w->c, DNSCHECK_WARNING, "spf", "spf-tree-truncated",
			    w->c->res->domain, NULL, NULL, "the SPF tree has more than %d "
			    "records or is more than %d levels deep; the rest was not "
			    "looked at", DNSCHECK_SPF_MAX_NODES, DNSCHECK_SPF_MAX_DEPTH);
		s->truncated = 1;
		return -1;
	}
	idx = (int)s->nnodes++;
	n = &s->nodes[idx];
	n->parent = parent;
	n->depth = depth;
	n->via = via ? xstrdup(via) : NULL;
	n->domain = xstrdup(domain);
	w->np[idx].all_idx = w->np[idx].redirect_child = -1;
	w->np[idx].via_term = via_term;
	w->np[idx].in_include = in_include;
	for (int p = parent; p >= 0; p = s->nodes[p].parent)
		if (str_caseeq(s->nodes[p].domain, domain)) {
			n->loop = n->broken = 1;
			loop_found(w, idx);
			return idx;
		}
	if (!spf_domain_ok(domain)) {
		n->broken = 1;
		n->status = DNS_BADNAME;
		fix_name(dc_finding(w->c, DNSCHECK_ERROR, "spf", "spf-bad-name", domain,
		    "RFC 7208 4.3", fix_in_parent(w, idx, NULL), "%s does not name a "
		    "domain that can have an SPF record: receivers return permerror",
		    via ? via : domain), w, idx);
		return idx;
	}
	if (fetch(w, idx, how) < 0)
		return idx;
	if (spf_record_parse(w->np[idx].text, w->np[idx].len, &w->np[idx].rec, &err) < 0) {
		syntax_error(w, idx, &err);
		return idx;
	}
	w->np[idx].parsed = 1;
	n->terms = w->np[idx].rec.nterms;
	w->np[idx].child = xcalloc(n->terms + 1, sizeof(int));
	terms(w, idx, in_include);
	return idx;
}

/* ---- the whole tree ---------------------------------------------------------- */

/* The DNS terms of node idx and every node below it. */
static size_t
subtree_cost(const struct spf_walk *w, int idx)
{
	size_t sum = 0;

	for (size_t i = 0; i < w->s->nnodes; i++)
		for (int p = (int)i; p >= 0; p = w->s->nodes[p].parent)
			if (p == idx) {
				sum += w->s->nodes[i].dns_terms;
				break;
			}
	return sum;
}

/* Can the subtree at idx be replaced by the addresses it lists? */
static int
flattenable(const struct spf_walk *w, int idx)
{
	const struct node_priv *np;

	if (idx < 0 || w->s->nodes[idx].broken || !w->np[idx].parsed)
		return 0;
	np = &w->np[idx];
	for (size_t k = 0; k < np->rec.nterms; k++) {
		const struct spf_term *t = &np->rec.terms[k];

		if (np->all_idx >= 0 && (int)k > np->all_idx && t->kind < SPF_REDIRECT)
			break;
		switch (t->kind) {
		case SPF_IP4:
		case SPF_IP6:
			if (t->qual != '+')
				return 0;
			break;
		case SPF_ALL:
			if (t->qual == '+')
				return 0;
			break;
		case SPF_INCLUDE:
			if (!flattenable(w, np->child[k]))
				return 0;
			break;
		case SPF_REDIRECT:
			if (!np->rec.has_all && !flattenable(w, np->child[k]))
				return 0;
			break;
		case SPF_EXP:
		case SPF_UNKNOWN_MOD:
			break;
		default:
			return 0;
		}
	}
	return 1;
}

static void
collect_ips(const struct spf_walk *w, int idx, struct sbuf *b)
{
	const struct node_priv *np = &w->np[idx];

	for (size_t k = 0; k < np->rec.nterms; k++) {
		const struct spf_term *t = &np->rec.terms[k];
		const char *txt = t->text[0] == '+' ? t->text + 1 : t->text;
		char pad[SPF_EXPAND_MAX];

		if (np->all_idx >= 0 && (int)k >= np->all_idx)
			break;
		if (t->kind == SPF_INCLUDE)
			collect_ips(w, np->child[k], b);
		if (t->kind != SPF_IP4 && t->kind != SPF_IP6)
			continue;
		snprintf(pad, sizeof(pad), " %s ", txt);
		if (strstr(sbuf_str(b), pad) == NULL)
			sbuf_printf(b, "%s ", txt);
	}
	if (np->redirect_child >= 0)
		collect_ips(w, np->redirect_child, b);
}

/* Over the limit: which includes cost what, and a flattened record. */
static void
too_many(struct spf_walk *w)
{
	const struct node_priv *top = &w->np[0];
	size_t n = top->parsed ? top->rec.nterms : 0, total = w->s->dns_terms;
	size_t *cost = xcalloc(n + 1, sizeof(*cost));
	const char **repl = xcalloc(n + 1, sizeof(*repl));
	char **flat = xcalloc(n + 1, sizeof(*flat));
	char *fix = NULL;
	struct sbuf list;

	sbuf_init(&list, 0);
	for (size_t k = 0; k < n; k++)
		if (top->child[k] >= 0)
			cost[k] = 1 + subtree_cost(w, top->child[k]);
	for (;;) {		/* the dearest flattenable include, until it fits */
		size_t best = n;

		for (size_t k = 0; k < n; k++)
			if (cost[k] > 0 && repl[k] == NULL &&
			    top->rec.terms[k].kind == SPF_INCLUDE &&
			    flattenable(w, top->child[k]) && (best == n || cost[k] > cost[best]))
				best = k;
		if (best == n || total <= SPF_MAX_DNS_MECHS)
			break;
		{
			struct sbuf b;
			char *raw;

			sbuf_init(&b, SPF_RECORD_MAX_LEN);
			sbuf_addc(&b, ' ');	/* every address between spaces */
			collect_ips(w, top->child[best], &b);
			raw = sbuf_steal(&b);
			flat[best] = xstrdup(str_trim(raw));
			free(raw);
			sbuf_free(&b);
		}
		repl[best] = flat[best];
		total -= cost[best];
	}
	if (total <= SPF_MAX_DNS_MECHS && dc_own(w->c, w->s->nodes[0].domain))
		fix = rebuild(&top->rec, repl, NULL);
	for (size_t k = 0; k < n; k++)
		if (cost[k] > 0)
			sbuf_printf(&list, "%s%s costs %zu", list.len ? ", " : "",
			    top->rec.terms[k].text, cost[k]);
	dc_finding(w->c, DNSCHECK_ERROR, "spf", "spf-too-many-lookups",
	    w->s->nodes[0].domain, "RFC 7208 4.6.4", fix, "the SPF record of %s "
	    "needs %zu DNS-querying terms, counting everything it includes; the "
	    "limit is %d, past it receivers return permerror and SPF fails for all "
	    "your mail. Per term: %s. Remove the includes of services you no longer "
	    "use%s%s", w->s->nodes[0].domain, w->s->dns_terms, SPF_MAX_DNS_MECHS,
	    list.len ? sbuf_str(&list) : "(none at the top)", fix ? ", or replace "
	    "the dearest by the addresses they list now, as in the suggested record "
	    "(\"flattening\": you must then follow the providers' changes yourself)" :
	    "", fix && strlen(fix) > DNSCHECK_SPF_UDP_SAFE ? "; that record is over "
	    "450 octets, so publish it as several strings of one TXT record" : "");
	sbuf_free(&list);
	for (size_t k = 0; k < n; k++)
		free(flat[k]);
	free(flat);
	free(repl);
	free(cost);
}

/* How the domain's own chain (record, then redirects) ends. */
static void
ending(struct spf_walk *w)
{
	int idx = 0;

	for (int hops = 0; idx >= 0 && hops <= DNSCHECK_SPF_MAX_DEPTH; hops++) {
		const struct node_priv *np = &w->np[idx];
		const char *dom = w->s->nodes[idx].domain;
		struct dnscheck_finding *f = NULL;

		if (!np->parsed)
			return;
		if (np->all_idx >= 0) {
			const struct spf_term *t = &np->rec.terms[np->all_idx];
			char *fix = dc_own(w->c, dom) ?
			    rebuild_one(&np->rec, (size_t)np->all_idx, "~all") : NULL;

			if (t->qual == '+')
				f = dc_finding(w->c, DNSCHECK_ERROR, "spf", "spf-pass-all", dom,
				    "RFC 7208 5.1", fix, "the SPF record of %s ends with %s: "
				    "every server on the Internet passes SPF for your domain, "
				    "which is worse than no record. End it with ~all (or -all)",
				    dom, t->text);
			else if (t->qual == '?')
				f = dc_finding(w->c, DNSCHECK_WARNING, "spf",
				    "spf-neutral-all", dom, "RFC 7208 8.2", fix, "the SPF "
				    "record of %s ends with ?all (neutral): mail from other "
				    "servers is neither passed nor failed, so SPF protects "
				    "nothing. End it with ~all (or -all)", dom);
			else
				free(fix);
			if (f != NULL && idx > 0 && f->suggestion != NULL)
				f->suggestion_name = xstrdup(dom);
			return;
		}
		if (np->rec.redirect < 0) {
			f = dc_finding(w->c, DNSCHECK_WARNING, "spf", "spf-no-all", dom,
			    "RFC 7208 4.7", dc_own(w->c, dom) ? rebuild(&np->rec, NULL,
			    "~all") : NULL, "the SPF record of %s has no \"all\" and no "
			    "redirect=: mail from servers it does not list gets neutral, "
			    "as if you had no policy. End it with ~all (or -all)", dom);
			if (f != NULL && idx > 0 && f->suggestion != NULL)
				f->suggestion_name = xstrdup(dom);
			return;
		}
		idx = np->redirect_child;
	}
}

/* The obsolete SPF RR type (RFC 7208 3.1, 14.1). */
static void
type99(struct spf_walk *w)
{
	const char *d = w->c->res->domain;
	const struct dns_answer *a = dc_query(w->c, d, DNS_T_SPF, 0);

	if (a == NULL)
		return;
	for (size_t i = 0; a->status == DNS_OK && i < a->nrr; i++)
		if (a->rr[i].type == DNS_T_SPF && w->type99 == NULL) {
			w->type99 = xstrndup(a->rr[i].u.txt.data, a->rr[i].u.txt.len);
			w->s->type99 = dc_printable(a->rr[i].u.txt.data, a->rr[i].u.txt.len);
		}
	dns_answer_release(a);
}

void
dc_spf(struct dnscheck_ctx *c)
{
	struct dnscheck_spf *s = &c->res->spf;
	struct spf_walk w;

	memset(&w, 0, sizeof(w));
	w.c = c;
	w.s = s;
	s->nodes = xcalloc(DNSCHECK_SPF_MAX_NODES, sizeof(*s->nodes));
	w.np = xcalloc(DNSCHECK_SPF_MAX_NODES, sizeof(*w.np));
	type99(&w);
	walk(&w, c->res->domain, -1, -1, NULL, HOW_TOP, 0);
	s->nrecords = s->nodes[0].nrecords;
	s->secure = s->nodes[0].secure;
	if (s->nodes[0].record)
		s->record = xstrdup(s->nodes[0].record);
	for (size_t i = 0; i < s->nnodes; i++) {
		s->dns_terms += s->nodes[i].dns_terms;
		s->void_lookups += s->nodes[i].void_lookups;
	}
	if (s->type99 != NULL && s->nodes[0].record != NULL)
		dc_finding(c, DNSCHECK_WARNING, "spf", "spf-type99", c->res->domain,
		    "RFC 7208 3.1, 14.1", NULL, "%s also publishes an SPF-type (99) "
		    "record%s: that type is obsolete and receivers read only TXT; "
		    "remove it so that the two cannot drift apart", c->res->domain,
		    strcmp(s->type99, s->nodes[0].record) != 0 ? ", and it differs "
		    "from the TXT record" : "");
	ending(&w);
	if (s->dns_terms > SPF_MAX_DNS_MECHS)
		too_many(&w);
	if (s->void_lookups > SPF_MAX_VOID_LOOKUPS)
		dc_finding(c, DNSCHECK_ERROR, "spf", "spf-too-many-void", c->res->domain,
		    "RFC 7208 4.6.4", NULL, "%zu lookups in the SPF tree of %s find "
		    "nothing (void lookups); past %d receivers return permerror. "
		    "Remove the terms that name hosts or includes that no longer exist "
		    "(listed above)", s->void_lookups, c->res->domain,
		    SPF_MAX_VOID_LOOKUPS);
	for (size_t i = 0; i < s->nnodes; i++) {
		free(w.np[i].text);
		free(w.np[i].bounds);
		free(w.np[i].child);
		if (w.np[i].parsed)
			spf_record_free(&w.np[i].rec);
	}
	free(w.np);
	free(w.type99);
}

void
dc_spf_free(struct dnscheck_spf *s)
{
	free(s->record);
	free(s->type99);
	for (size_t i = 0; i < s->nnodes; i++) {
		free(s->nodes[i].via);
		free(s->nodes[i].domain);
		free(s->nodes[i].record);
	}
	free(s->nodes);
}
