/*
 * spf.c - SPF check_host() (RFC 7208) with libspf2: see spf.h.
 *
 * Who does what.  libspf2 1.2.10 (Debian bookworm) matches the mechanisms
 * a, mx, ptr, exists, ip4 and ip6 against the client address, asking its
 * DNS questions through our SPF_dns_server_t (spf_layer_lookup(), on
 * common/dns.h).  Everything around a mechanism is ours, because libspf2
 * gets it wrong in ways no wrapper can undo (README.md, "Dependency notes"):
 * fetching and selecting the record (4.4, 4.5), its syntax (spf_record.c),
 * macros (7, never expanded by libspf2: CVE-2023-42118), the include and
 * redirect recursion, the limits of 4.6.4 (10 DNS-querying terms, 2 void
 * lookups, 10 MX names), exp= (6.2), /0 prefixes (5.6) and IPv4-mapped
 * clients (5).  libspf2 sees one synthetic single-mechanism record at a
 * time, such as "v=spf1 a:target.spf.mailtest.invalid/24": no text from DNS
 * reaches its parser or macro expander; the DNS layer maps the alias back
 * to the real (expanded) target name.  Because each libspf2 run is one
 * term, every DNS query it makes is attributed to that term exactly.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <spf2/spf.h>

#include "../common/dns.h"
#include "../common/util.h"
#include "spf.h"
#include "spf_record.h"

/* RFC 7208 4.6.4: evaluation time limit (SHOULD allow at least 20 s) */
#define SPF_MAX_ELAPSED_MS	20000
/* queries of one term: its own, then one per MX or PTR name (4.6.4) */
#define SPF_TERM_MAX_QUERIES	(1 + SPF_MAX_MX_NAMES)
/* records looked at in one evaluation: the top one + one per DNS term */
#define SPF_MAX_STEPS		(2 + SPF_MAX_DNS_MECHS)
/* the name libspf2 is given in place of a mechanism's target */
#define SPF_ALIAS		"target.spf.mailtest.invalid"
#define SPF_ALIAS_ZONE		"mailtest.invalid"
/* RFC 5321 4.5.3.1.3: a path is at most 256 octets; we accept 4 times that */
#define SPF_MAX_SENDER		1024

struct spf_ctx {
	struct dns_resolver	*dns;		/* shared; not owned */
	char			*rhost;		/* %{r}: receiving host (owned) */
	SPF_dns_server_t	*layer;		/* our DNS layer (owned) */
	SPF_server_t		*server;	/* libspf2 server (owned) */
	struct spf_eval		*cur;		/* evaluation running on this thread */
};

/* One mechanism handed to libspf2: what its DNS queries belong to. */
struct spf_tstate {
	int		 active;
	enum spf_kind	 kind;
	const char	*target;	/* expanded target name (not owned) */
	int		 nq;		/* queries made for this term */
	int		 is_void;	/* its own query was NODATA/NXDOMAIN */
	int		 abort;		/* our verdict replaces libspf2's */
	int		 abort_temp;	/* ... and it is temperror (else permerror) */
	struct {
		char	*shown;		/* PTR name as libspf2 sees it (owned) */
		char	*raw;		/* as in DNS (owned) */
	} alias[SPF_MAX_PTR_NAMES];
	int		 nalias;
};

enum spf_mres { M_NOMATCH, M_MATCH, M_TEMP, M_PERM };

/* One check_host() run; lives on spf_check_run()'s stack, owns its strings. */
struct spf_eval {
	struct spf_ctx	*ctx;		/* not owned */
	struct spf_check *out;		/* the caller's; filled as we go */
	SPF_request_t	*req;		/* client address for libspf2 (owned) */
	int		 af;		/* AF_INET (also for IPv4-mapped) or AF_INET6 */
	struct in_addr	 ip4;
	struct in6_addr	 ip6;
	char		 c[INET6_ADDRSTRLEN];	/* %{c} */
	char		 i[80];			/* %{i} */
	char		 t[24];			/* %{t} */
	const char	*local, *sdomain, *helo;	/* spf_check_run()'s */
	int		 lookups, voids;		/* 4.6.4 counters */
	uint64_t	 deadline;
	/* %{p}: the validated names of the client, computed on first use */
	int		 p_done;
	char		*p_names[SPF_MAX_PTR_NAMES];
	int		 np;
	struct spf_tstate tstate;
	/* what decided, at include depth 0 */
	char		*decider;	/* term text, NULL = default */
	int		 decider_all;
	char		*decider_domain;
	char		*exp_spec;	/* exp= of the deciding record */
	char		*exp_domain;
	char		*none_why;	/* why the top level is "none" */
	char		*err_term;	/* term at which an error arose */
	char		*helo_copy;	/* %{h}, cut at SPF_MAX_SENDER (owned) */
};

static void
spf_silent(const char *file, int line, const char *msg)
{
	(void)file; (void)line; (void)msg;
}

static void
spf_handlers_init(void)
{
	/* libspf2's defaults print to stdout/stderr; errors stay fatal */
	SPF_warning_handler = spf_silent;
	SPF_info_handler = spf_silent;
	SPF_debug_handler = spf_silent;
}

static void
set_problem(struct spf_eval *e, const char *fmt, ...) MT_PRINTF(2, 3);

/* The first problem found is the one reported. */
static void
set_problem(struct spf_eval *e, const char *fmt, ...)
{
	va_list ap;
	struct sbuf b;

	if (e->out->problem != NULL)
		return;
	sbuf_init(&b, 0);
	va_start(ap, fmt);
	sbuf_vprintf(&b, fmt, ap);
	va_end(ap);
	e->out->problem = sbuf_steal(&b);
}

/* ---- DNS ------------------------------------------------------------- */

/* Every query of an evaluation: NULL once the time limit is spent. */
static const struct dns_answer *
spf_query(struct spf_eval *e, const char *name, int type)
{
	if (time_mono_ms() > e->deadline) {
		set_problem(e, "the SPF evaluation took longer than %d seconds "
		    "(RFC 7208 4.6.4)", SPF_MAX_ELAPSED_MS / 1000);
		return NULL;
	}
	return dns_lookup(e->ctx->dns, name, type);
}

static SPF_dns_rr_t *
rr_new(SPF_dns_server_t *l, const char *domain, ns_type type, int herrno)
{
	SPF_dns_rr_t *rr = SPF_dns_rr_new_init(l, domain, type, 0, herrno);

	if (rr == NULL)
		fatal("libspf2: out of memory");
	return rr;
}

static void
rr_add(SPF_dns_rr_t *rr, const void *data, size_t len, int is_name)
{
	int k = rr->num_rr;

	if (SPF_dns_rr_buf_realloc(rr, k, is_name ? len + 1 : len) != SPF_E_SUCCESS)
		fatal("libspf2: out of memory");
	if (is_name) {
		memcpy(rr->rr[k]->ptr, data, len);
		rr->rr[k]->ptr[len] = '\0';
	} else
		memcpy(rr->rr[k], data, len);
	rr->num_rr++;
}

static void
tstate_clear(struct spf_tstate *t)
{
	for (int k = 0; k < t->nalias; k++) {
		free(t->alias[k].shown);
		free(t->alias[k].raw);
	}
	memset(t, 0, sizeof(*t));
}

/* The real name behind what libspf2 asks; NULL: answer "no such name". */
static const char *
term_name(struct spf_eval *e, const char *asked)
{
	struct spf_tstate *t = &e->tstate;

	if (t->nq == 0 && str_caseeq(asked, SPF_ALIAS))
		return t->target;
	for (int k = 0; k < t->nalias; k++)
		if (strcmp(asked, t->alias[k].shown) == 0)
			return t->alias[k].raw;
	if (str_caseeq(asked, SPF_ALIAS_ZONE) || str_has_suffix_ci(asked, "." SPF_ALIAS_ZONE))
		return NULL;
	return asked;
}

/*
 * PTR names for a ptr mechanism: the first 10 only (4.6.4), and those at or
 * under the target shown under the alias, so that libspf2's domain match
 * compares what the record meant.
 */
static void
ptr_add(struct spf_eval *e, SPF_dns_rr_t *rr, const char *name)
{
	struct spf_tstate *t = &e->tstate;
	size_t n = strlen(name), tl = strlen(t->target);
	char *shown = NULL;

	if (str_caseeq(name, SPF_ALIAS_ZONE) || str_has_suffix_ci(name, "." SPF_ALIAS_ZONE))
		return;
	if (t->kind == SPF_PTR && str_caseeq(name, t->target))
		shown = xstrdup(SPF_ALIAS);
	else if (t->kind == SPF_PTR && n > tl + 1 && name[n - tl - 1] == '.' &&
	    str_caseeq(name + n - tl, t->target))
		shown = xasprintf("%.*s%s", (int)(n - tl), name, SPF_ALIAS);
	if (shown != NULL && t->nalias < SPF_MAX_PTR_NAMES) {
		t->alias[t->nalias].shown = shown;
		t->alias[t->nalias].raw = xstrdup(name);
		t->nalias++;
		rr_add(rr, shown, strlen(shown), 1);
		return;
	}
	free(shown);
	rr_add(rr, name, n, 1);
}

static void
term_abort(struct spf_eval *e, int temp)
{
	e->tstate.abort = 1;
	e->tstate.abort_temp = temp;
}

/* Build libspf2's answer from ours. */
static SPF_dns_rr_t *
answer_to_rr(struct spf_eval *e, SPF_dns_server_t *l, const char *asked, ns_type type,
    const struct dns_answer *a)
{
	SPF_dns_rr_t *rr;
	size_t n = 0;
	int herrno;

	switch (a->status) {
	case DNS_OK:
		herrno = NETDB_SUCCESS;
		break;
	case DNS_NODATA:
		herrno = NO_DATA;
		break;
	case DNS_TEMPFAIL:
		/*
		 * 5.5: a DNS error on the PTR lookup makes ptr not match; on a
		 * PTR name's address lookup it skips that name
		 */
		if (e->tstate.kind == SPF_PTR) {
			herrno = HOST_NOT_FOUND;
			break;
		}
		set_problem(e, "DNS lookup of %s (%s) failed: %s (RFC 7208 2.6.6)",
		    a->qname, dns_type_name(type), a->why ? a->why : "temporary error");
		herrno = TRY_AGAIN;
		break;
	default:	/* NXDOMAIN; BADNAME: a name that cannot exist */
		herrno = HOST_NOT_FOUND;
		break;
	}
	rr = rr_new(l, asked, type, herrno);
	if (herrno != NETDB_SUCCESS)
		return rr;
	for (size_t k = 0; k < a->nrr; k++) {
		const struct dns_rr *r = &a->rr[k];

		if (r->type != type)
			continue;
		if (type == ns_t_a)
			rr_add(rr, &r->u.a, sizeof(r->u.a), 0);
		else if (type == ns_t_aaaa)
			rr_add(rr, &r->u.aaaa, sizeof(r->u.aaaa), 0);
		else if (type == ns_t_mx)
			rr_add(rr, r->u.mx.host, strlen(r->u.mx.host), 1);
		else if (type == ns_t_ptr && n < SPF_MAX_PTR_NAMES)
			ptr_add(e, rr, r->u.name);
		n++;
	}
	if (rr->num_rr == 0)
		rr->herrno = NO_DATA;
	return rr;
}

static size_t
count_type(const struct dns_answer *a, int type)
{
	size_t n = 0;

	if (a->status != DNS_OK)
		return 0;
	for (size_t k = 0; k < a->nrr; k++)
		n += a->rr[k].type == type;
	return n;
}

/* libspf2's DNS: SPF_dns_server_t.lookup */
static SPF_dns_rr_t *
spf_layer_lookup(SPF_dns_server_t *l, const char *domain, ns_type type, int should_cache)
{
	struct spf_ctx *c = l->hook;
	struct spf_eval *e = c->cur;
	const struct dns_answer *a;
	SPF_dns_rr_t *rr;
	const char *name;
	int primary;

	(void)should_cache;
	/* RFC 7208 3.1: type SPF (99) is gone; answered here, never asked */
	if (type == ns_t_spf)
		return rr_new(l, domain, type, NO_DATA);
	if (e == NULL || !e->tstate.active || type == ns_t_txt || domain == NULL) {
		/* records are fetched by spf.c, never by libspf2 */
		if (e != NULL && e->tstate.active) {
			set_problem(e, "internal: libspf2 asked for %s TXT", domain ?
			    domain : "(null)");
			term_abort(e, 0);
		}
		return rr_new(l, domain, type, TRY_AGAIN);
	}
	if ((name = term_name(e, domain)) == NULL)
		return rr_new(l, domain, type, HOST_NOT_FOUND);
	if (e->tstate.nq >= SPF_TERM_MAX_QUERIES) {
		set_problem(e, "internal: more than %d DNS queries for one term",
		    SPF_TERM_MAX_QUERIES);
		term_abort(e, 0);
		return rr_new(l, domain, type, TRY_AGAIN);
	}
	primary = e->tstate.nq++ == 0;
	if ((a = spf_query(e, name, type)) == NULL) {
		term_abort(e, 1);
		return rr_new(l, domain, type, TRY_AGAIN);
	}
	/* 4.6.4: a void lookup is NODATA or NXDOMAIN for the term's own query */
	if (primary && (a->status == DNS_NXDOMAIN || a->status == DNS_NODATA ||
	    (a->status == DNS_OK && count_type(a, type) == 0)))
		e->tstate.is_void = 1;
	/* 4.6.4: more than 10 MX names is permerror for the mx mechanism */
	if (primary && type == ns_t_mx && count_type(a, type) > SPF_MAX_MX_NAMES) {
		set_problem(e, "%s has %zu MX records; an mx mechanism may look at "
		    "no more than %d (RFC 7208 4.6.4)", name, count_type(a, type),
		    SPF_MAX_MX_NAMES);
		term_abort(e, 0);
		dns_answer_release(a);
		return rr_new(l, domain, type, TRY_AGAIN);
	}
	rr = answer_to_rr(e, l, domain, type, a);
	dns_answer_release(a);
	return rr;
}

static SPF_errcode_t
spf_layer_get_spf(SPF_server_t *s, SPF_request_t *rq, SPF_response_t *rs, SPF_record_t **rp)
{
	(void)s; (void)rq; (void)rs;
	*rp = NULL;
	return SPF_E_DNS_ERROR;	/* never used: spf.c fetches every record */
}

static SPF_errcode_t
spf_layer_get_exp(SPF_server_t *s, const char *domain, char **buf, size_t *len)
{
	(void)s; (void)domain; (void)buf; (void)len;
	return SPF_E_NOT_SPF;	/* never used: spf.c evaluates exp= */
}

/* ---- context ----------------------------------------------------------- */

struct spf_ctx *
spf_ctx_new(struct dns_resolver *dns, const char *receiving_host, char *err, size_t errlen)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	SPF_response_t *resp = NULL;
	struct spf_ctx *c;

	pthread_once(&once, spf_handlers_init);
	c = xcalloc(1, sizeof(*c));
	c->dns = dns;
	c->rhost = xstrdup(receiving_host ? receiving_host : "unknown");
	c->layer = xcalloc(1, sizeof(*c->layer));
	c->layer->destroy = NULL;	/* freed here, not by libspf2 */
	c->layer->lookup = spf_layer_lookup;
	c->layer->get_spf = spf_layer_get_spf;
	c->layer->get_exp = spf_layer_get_exp;
	c->layer->name = "mailtest";
	c->layer->hook = c;
	if ((c->server = SPF_server_new_dns(c->layer, 0)) == NULL) {
		snprintf(err, errlen, "libspf2: cannot create a server");
		spf_ctx_free(c);
		return NULL;
	}
	/* its default explanation holds macros; ours never reaches a reader */
	if (SPF_server_set_explanation(c->server, "mailtest", &resp) != SPF_E_SUCCESS ||
	    SPF_server_set_rec_dom(c->server, c->rhost) != SPF_E_SUCCESS) {
		snprintf(err, errlen, "libspf2: cannot configure the server");
		if (resp)
			SPF_response_free(resp);
		spf_ctx_free(c);
		return NULL;
	}
	SPF_response_free(resp);
	return c;
}

void
spf_ctx_free(struct spf_ctx *c)
{
	if (c == NULL)
		return;
	if (c->server)
		SPF_server_free(c->server);
	free(c->layer);
	free(c->rhost);
	free(c);
}

/* ---- macros ---------------------------------------------------------- */

static int
addr_matches(const struct spf_eval *e, const struct dns_answer *a)
{
	for (size_t k = 0; k < a->nrr; k++) {
		if (e->af == AF_INET && a->rr[k].type == DNS_T_A &&
		    memcmp(&a->rr[k].u.a, &e->ip4, sizeof(e->ip4)) == 0)
			return 1;
		if (e->af == AF_INET6 && a->rr[k].type == DNS_T_AAAA &&
		    memcmp(&a->rr[k].u.aaaa, &e->ip6, sizeof(e->ip6)) == 0)
			return 1;
	}
	return 0;
}

/* 5.5 steps 1-3 for %{p}: PTR names (the first 10) whose addresses hold <ip> */
static void
p_validate(struct spf_eval *e)
{
	const struct dns_answer *a, *b;
	char rev[DNS_MAX_NAME + 1];

	e->p_done = 1;
	if (dns_reverse_name(e->c, rev, sizeof(rev)) < 0 ||
	    (a = spf_query(e, rev, DNS_T_PTR)) == NULL)
		return;
	for (size_t k = 0; k < a->nrr && e->np < SPF_MAX_PTR_NAMES; k++) {
		if (a->rr[k].type != DNS_T_PTR)
			continue;
		b = spf_query(e, a->rr[k].u.name, e->af == AF_INET ? DNS_T_A : DNS_T_AAAA);
		if (b == NULL)
			break;
		if (b->status == DNS_OK && addr_matches(e, b))
			e->p_names[e->np++] = xstrdup(a->rr[k].u.name);
		dns_answer_release(b);
	}
	dns_answer_release(a);
}

/* 7.3 p: the <domain> itself if validated, else a subdomain, else any */
static const char *
macro_p(void *arg, const char *domain)
{
	struct spf_eval *e = arg;
	size_t dl = strlen(domain);

	if (!e->p_done)
		p_validate(e);
	for (int k = 0; k < e->np; k++)
		if (str_caseeq(e->p_names[k], domain))
			return e->p_names[k];
	for (int k = 0; k < e->np; k++) {
		size_t n = strlen(e->p_names[k]);

		if (n > dl + 1 && e->p_names[k][n - dl - 1] == '.' &&
		    str_caseeq(e->p_names[k] + n - dl, domain))
			return e->p_names[k];
	}
	return e->np ? e->p_names[0] : "unknown";
}

static void
macro_vars(struct spf_eval *e, const char *domain, struct spf_macro_vars *v)
{
	memset(v, 0, sizeof(*v));
	v->s = e->out->sender;
	v->l = e->local;
	v->o = e->sdomain;
	v->d = domain;
	v->i = e->i;
	v->v = e->af == AF_INET ? "in-addr" : "ip6";
	v->h = e->helo;
	v->c = e->c;
	v->r = e->ctx->rhost;
	v->t = e->t;
	v->p = macro_p;
	v->parg = e;
}

/* A mechanism's or modifier's target (4.8): its domain-spec expanded, or <domain>. */
static char *
term_target(struct spf_eval *e, const struct spf_term *t, const char *domain)
{
	struct spf_macro_vars v;
	struct spf_error err;
	char *out;

	if (t->spec == NULL)
		return xstrdup(domain);
	macro_vars(e, domain, &v);
	if (spf_macro_expand(t->spec, strlen(t->spec), &v, SPF_EXPAND_DOMAIN, &out, &err) < 0) {
		set_problem(e, "%s: %s (%s)", t->text, err.msg, err.rfc);
		return NULL;
	}
	return out;
}

/* ---- mechanisms ------------------------------------------------------ */

/* Run one synthetic single-mechanism record through libspf2. */
static enum spf_mres
lib_match(struct spf_eval *e, const char *text, enum spf_kind kind, const char *target)
{
	SPF_response_t *cr, *r;
	SPF_record_t *rec = NULL;
	enum spf_mres m;

	tstate_clear(&e->tstate);
	e->tstate.active = 1;
	e->tstate.kind = kind;
	e->tstate.target = target;
	if ((cr = SPF_response_new(NULL)) == NULL)
		fatal("libspf2: out of memory");
	if (SPF_record_compile(e->ctx->server, cr, &rec, text) != SPF_E_SUCCESS ||
	    rec == NULL) {
		SPF_response_free(cr);
		if (rec)
			SPF_record_free(rec);
		set_problem(e, "internal: libspf2 rejected \"%s\"", text);
		tstate_clear(&e->tstate);
		return M_PERM;
	}
	SPF_response_free(cr);
	if ((r = SPF_response_new(e->req)) == NULL)
		fatal("libspf2: out of memory");
	r->spf_record_exp = rec;
	SPF_record_interpret(rec, e->req, r, 0);
	switch (SPF_response_result(r)) {
	case SPF_RESULT_PASS:
		m = M_MATCH;
		break;
	case SPF_RESULT_NEUTRAL:	/* ran off the end: "+" did not match */
		m = M_NOMATCH;
		break;
	case SPF_RESULT_TEMPERROR:
		m = M_TEMP;
		break;
	default:
		set_problem(e, "libspf2: %s", SPF_strerror(SPF_response_errcode(r)));
		m = M_PERM;
		break;
	}
	if (e->tstate.abort)
		m = e->tstate.abort_temp ? M_TEMP : M_PERM;
	if (m == M_TEMP)
		set_problem(e, "a DNS lookup failed (RFC 7208 2.6.6)");
	if (e->tstate.is_void && m != M_MATCH && ++e->voids > SPF_MAX_VOID_LOOKUPS) {
		set_problem(e, "more than %d void lookups (RFC 7208 4.6.4)", SPF_MAX_VOID_LOOKUPS);
		m = M_PERM;
	}
	SPF_response_free(r);
	SPF_record_free(rec);
	tstate_clear(&e->tstate);
	return m;
}

/* /0 for the client's family: any address record matches (5.3, 5.4, 5.6). */
static enum spf_mres
any_address(struct spf_eval *e, const char *name, int *is_void, int primary)
{
	const struct dns_answer *a;
	int type = e->af == AF_INET ? DNS_T_A : DNS_T_AAAA;
	enum spf_mres m;

	if ((a = spf_query(e, name, type)) == NULL)
		return M_TEMP;
	if (a->status == DNS_TEMPFAIL) {
		set_problem(e, "DNS lookup of %s (%s) failed: %s (RFC 7208 2.6.6)",
		    name, dns_type_name(type), a->why ? a->why : "temporary error");
		m = M_TEMP;
	} else
		m = count_type(a, type) > 0 ? M_MATCH : M_NOMATCH;
	if (primary && m == M_NOMATCH && a->status != DNS_BADNAME)
		*is_void = 1;
	dns_answer_release(a);
	return m;
}

/* a/0 and mx/0 (libspf2 refuses /0 and would read it as /32). */
static enum spf_mres
match_any(struct spf_eval *e, const struct spf_term *t, const char *target)
{
	const struct dns_answer *a;
	enum spf_mres m = M_NOMATCH;
	int is_void = 0;
	size_t n;

	if (t->kind == SPF_A)
		m = any_address(e, target, &is_void, 1);
	else if ((a = spf_query(e, target, DNS_T_MX)) == NULL)
		m = M_TEMP;
	else {
		n = count_type(a, DNS_T_MX);
		if (a->status == DNS_TEMPFAIL) {
			set_problem(e, "DNS lookup of %s (MX) failed: %s (RFC 7208 2.6.6)",
			    target, a->why ? a->why : "temporary error");
			m = M_TEMP;
		} else if (n > SPF_MAX_MX_NAMES) {
			set_problem(e, "%s has %zu MX records; an mx mechanism may look at "
			    "no more than %d (RFC 7208 4.6.4)", target, n, SPF_MAX_MX_NAMES);
			m = M_PERM;
		} else if (n == 0 && a->status != DNS_BADNAME)
			is_void = 1;
		for (size_t k = 0; m == M_NOMATCH && k < a->nrr; k++)
			if (a->rr[k].type == DNS_T_MX)
				m = any_address(e, a->rr[k].u.mx.host, &is_void, 0);
		dns_answer_release(a);
	}
	if (is_void && m == M_NOMATCH && ++e->voids > SPF_MAX_VOID_LOOKUPS) {
		set_problem(e, "more than %d void lookups (RFC 7208 4.6.4)", SPF_MAX_VOID_LOOKUPS);
		m = M_PERM;
	}
	return m;
}

static enum spf_mres
match_ip(struct spf_eval *e, const struct spf_term *t)
{
	char addr[INET6_ADDRSTRLEN], text[INET6_ADDRSTRLEN + 16];
	int v6 = t->kind == SPF_IP6;
	int cidr = v6 ? t->cidr6 : t->cidr4;

	/* 5.6: ip4 matches IPv4 clients only, ip6 IPv6 ones (5: mapped = IPv4) */
	if ((v6 ? AF_INET6 : AF_INET) != e->af)
		return M_NOMATCH;
	if (cidr == 0)	/* 5.6: /0 is every address of the family */
		return M_MATCH;
	inet_ntop(e->af, v6 ? (const void *)&t->ip6 : (const void *)&t->ip4, addr,
	    sizeof(addr));
	if (cidr > 0)
		snprintf(text, sizeof(text), "v=spf1 %s:%s/%d", v6 ? "ip6" : "ip4", addr, cidr);
	else
		snprintf(text, sizeof(text), "v=spf1 %s:%s", v6 ? "ip6" : "ip4", addr);
	return lib_match(e, text, t->kind, NULL);
}

/* a, mx, ptr, exists: libspf2 with the target behind the alias */
static enum spf_mres
match_dns(struct spf_eval *e, const struct spf_term *t, const char *domain)
{
	char text[128];
	char *target;
	int cidr = e->af == AF_INET ? t->cidr4 : t->cidr6;
	enum spf_mres m;

	if ((target = term_target(e, t, domain)) == NULL)
		return M_PERM;
	if ((t->kind == SPF_A || t->kind == SPF_MX) && cidr == 0) {
		m = match_any(e, t, target);
		free(target);
		return m;
	}
	switch (t->kind) {
	case SPF_A:
	case SPF_MX:
		if (cidr > 0)
			snprintf(text, sizeof(text), "v=spf1 %s:%s%s%d", spf_kind_name(t->kind),
			    SPF_ALIAS, e->af == AF_INET ? "/" : "//", cidr);
		else
			snprintf(text, sizeof(text), "v=spf1 %s:%s", spf_kind_name(t->kind),
			    SPF_ALIAS);
		break;
	default:
		snprintf(text, sizeof(text), "v=spf1 %s:%s", spf_kind_name(t->kind), SPF_ALIAS);
		break;
	}
	m = lib_match(e, text, t->kind, target);
	free(target);
	return m;
}

/* ---- check_host() (RFC 7208 4) ----------------------------------------- */

static enum auth_res check_host(struct spf_eval *, const char *domain, int depth,
	    int incdepth, const char *via);

static size_t
step_add(struct spf_eval *e, int depth, const char *via, const char *domain)
{
	struct spf_check *o = e->out;
	struct spf_step *s;

	if (o->nsteps >= SPF_MAX_STEPS)
		return (size_t)-1;
	o->steps = xreallocarray(o->steps, o->nsteps + 1, sizeof(*o->steps));
	s = &o->steps[o->nsteps];
	memset(s, 0, sizeof(*s));
	s->depth = depth;
	s->via = via ? xstrdup(via) : NULL;
	s->domain = xstrdup(domain);
	return o->nsteps++;
}

static enum auth_res
step_done(struct spf_eval *e, size_t step, enum auth_res r)
{
	if (step != (size_t)-1 && e->out->steps[step].result == NULL)
		e->out->steps[step].result = xstrdup(auth_res_name(r));
	return r;
}

static enum auth_res
qual_result(char q)
{
	switch (q) {
	case '-': return AUTH_FAIL;
	case '~': return AUTH_SOFTFAIL;
	case '?': return AUTH_NEUTRAL;
	default: return AUTH_PASS;
	}
}

static void
set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = s ? xstrdup(s) : NULL;
}

/* 4.6.4: count a DNS-querying term before its lookups; 0 when over the limit */
static int
count_lookup(struct spf_eval *e, const struct spf_term *t)
{
	if (e->lookups >= SPF_MAX_DNS_MECHS) {
		set_problem(e, "more than %d DNS-querying terms (RFC 7208 4.6.4)",
		    SPF_MAX_DNS_MECHS);
		set_str(&e->err_term, t->text);
		return 0;
	}
	e->lookups++;
	return 1;
}

/* 5.2: include's recursive check_host() mapped to match / no match / error */
static enum spf_mres
match_include(struct spf_eval *e, const struct spf_term *t, const char *domain,
    int depth, int incdepth)
{
	char *target;
	enum auth_res r;

	if ((target = term_target(e, t, domain)) == NULL)
		return M_PERM;
	r = check_host(e, target, depth + 1, incdepth + 1, t->text);
	if (r == AUTH_NONE)
		set_problem(e, "%s: %s has no SPF record (RFC 7208 5.2)", t->text, target);
	free(target);
	switch (r) {
	case AUTH_PASS:
		return M_MATCH;
	case AUTH_FAIL: case AUTH_SOFTFAIL: case AUTH_NEUTRAL:
		return M_NOMATCH;
	case AUTH_TEMPERROR:
		return M_TEMP;
	default:
		return M_PERM;
	}
}

static enum spf_mres
match_term(struct spf_eval *e, const struct spf_term *t, const char *domain,
    int depth, int incdepth)
{
	switch (t->kind) {
	case SPF_ALL:
		return M_MATCH;
	case SPF_IP4:
	case SPF_IP6:
		return match_ip(e, t);
	case SPF_INCLUDE:
		return match_include(e, t, domain, depth, incdepth);
	default:
		return match_dns(e, t, domain);
	}
}

/* 4.4 and 4.5: the one SPF record at domain, or a result when there is none. */
static enum auth_res
fetch_record(struct spf_eval *e, const char *domain, int depth, size_t step,
    char **text, size_t *len)
{
	const struct dns_answer *a;
	const struct dns_rr *found = NULL;
	size_t n = 0;
	enum auth_res r = AUTH_NONE;

	if ((a = spf_query(e, domain, DNS_T_TXT)) == NULL)
		return AUTH_TEMPERROR;
	if (depth == 0)
		e->out->dnssec = a->secure;
	if (a->status == DNS_TEMPFAIL) {
		set_problem(e, "DNS lookup of %s (TXT) failed: %s (RFC 7208 4.4)", domain,
		    a->why ? a->why : "temporary error");
		r = AUTH_TEMPERROR;
	} else if (a->status == DNS_OK) {
		for (size_t k = 0; k < a->nrr; k++)
			if (a->rr[k].type == DNS_T_TXT &&
			    spf_record_is_spf(a->rr[k].u.txt.data, a->rr[k].u.txt.len) &&
			    n++ == 0)
				found = &a->rr[k];
	}
	if (n > 1) {
		set_problem(e, "%s publishes %zu SPF records; there must be one "
		    "(RFC 7208 4.5)", domain, n);
		r = AUTH_PERMERROR;
	} else if (n == 1) {
		*len = found->u.txt.len;
		*text = xmalloc(*len + 1);
		memcpy(*text, found->u.txt.data, *len);
		(*text)[*len] = '\0';
		e->out->steps[step].record = spf_printable(*text, *len);
		r = AUTH_PASS;	/* "found" */
	} else if (depth == 0 && r == AUTH_NONE)
		set_str(&e->none_why, a->status == DNS_NXDOMAIN ? "the domain does "
		    "not exist (NXDOMAIN)" : "it publishes no SPF record");
	dns_answer_release(a);
	return r;
}

/* What decided at include depth 0 (the result's record, after redirects). */
static void
set_decider(struct spf_eval *e, const struct spf_record *rec, const struct spf_term *t,
    const char *domain)
{
	set_str(&e->decider, t ? t->text : NULL);
	e->decider_all = t != NULL && t->kind == SPF_ALL;
	set_str(&e->decider_domain, domain);
	set_str(&e->exp_spec, rec->exp >= 0 ? rec->terms[rec->exp].spec : NULL);
	set_str(&e->exp_domain, domain);
}

/* 6.1: no mechanism matched and the record has redirect= (and no all) */
static enum auth_res
follow_redirect(struct spf_eval *e, const struct spf_record *rec, const char *domain,
    int depth, int incdepth)
{
	const struct spf_term *t = &rec->terms[rec->redirect];
	enum auth_res r;
	char *target;

	if (!count_lookup(e, t))
		return AUTH_PERMERROR;
	if ((target = term_target(e, t, domain)) == NULL) {
		set_str(&e->err_term, t->text);
		return AUTH_PERMERROR;
	}
	r = check_host(e, target, depth + 1, incdepth, t->text);
	if (r == AUTH_NONE) {
		set_problem(e, "%s: %s has no SPF record (RFC 7208 6.1)", t->text, target);
		r = AUTH_PERMERROR;
	}
	free(target);
	return r;
}

/* 4.6 and 4.7: evaluate the parsed record of domain. */
static enum auth_res
eval_record(struct spf_eval *e, const struct spf_record *rec, const char *domain,
    int depth, int incdepth)
{
	for (size_t k = 0; k < rec->nterms; k++) {
		const struct spf_term *t = &rec->terms[k];
		enum spf_mres m;

		if (t->kind >= SPF_REDIRECT)
			continue;	/* modifiers act after the mechanisms (6) */
		if (spf_term_queries_dns(t) && !count_lookup(e, t))
			return AUTH_PERMERROR;
		m = match_term(e, t, domain, depth, incdepth);
		if (m == M_MATCH) {
			if (incdepth == 0)
				set_decider(e, rec, t, domain);
			return qual_result(t->qual);
		}
		if (m != M_NOMATCH) {
			if (e->err_term == NULL)
				set_str(&e->err_term, t->text);
			return m == M_TEMP ? AUTH_TEMPERROR : AUTH_PERMERROR;
		}
	}
	/* 6.1: redirect is ignored when the record has an "all" mechanism */
	if (rec->redirect >= 0 && !rec->has_all)
		return follow_redirect(e, rec, domain, depth, incdepth);
	if (incdepth == 0)
		set_decider(e, rec, NULL, domain);
	return AUTH_NEUTRAL;	/* 4.7 */
}

static enum auth_res
check_host(struct spf_eval *e, const char *domain, int depth, int incdepth, const char *via)
{
	struct spf_record rec;
	struct spf_error err;
	enum auth_res r;
	char *text = NULL;
	size_t len = 0, step;

	step = step_add(e, depth, via, domain);
	if (step == (size_t)-1) {
		set_problem(e, "internal: too many records in one evaluation");
		return AUTH_PERMERROR;
	}
	/* 4.3: a malformed or single-label name has no SPF record */
	if (!spf_domain_ok(domain)) {
		if (depth == 0)
			set_str(&e->none_why, "it is not a domain name that can have "
			    "an SPF record (RFC 7208 4.3)");
		return step_done(e, step, AUTH_NONE);
	}
	r = fetch_record(e, domain, depth, step, &text, &len);
	if (r != AUTH_PASS)
		return step_done(e, step, r);
	if (depth == 0)
		e->out->record = xstrdup(e->out->steps[step].record);
	if (spf_record_parse(text, len, &rec, &err) < 0) {
		set_problem(e, "syntax error in the SPF record of %s at position %zu: "
		    "%s (%s)", domain, err.pos + 1, err.msg, err.rfc);
		free(text);
		return step_done(e, step, AUTH_PERMERROR);
	}
	free(text);
	r = eval_record(e, &rec, domain, depth, incdepth);
	spf_record_free(&rec);
	return step_done(e, step, r);
}

/* ---- explanation and words --------------------------------------------- */

/* 6.2: the exp= text of the deciding record, for fail; ignored on any trouble */
static void
explain(struct spf_eval *e)
{
	const struct dns_answer *a;
	const struct dns_rr *txt = NULL;
	struct spf_macro_vars v;
	struct spf_error err;
	char *name = NULL, *text = NULL;
	size_t n = 0;

	macro_vars(e, e->exp_domain, &v);
	if (spf_macro_expand(e->exp_spec, strlen(e->exp_spec), &v, SPF_EXPAND_DOMAIN,
	    &name, &err) < 0 || name[0] == '\0')
		goto out_free_name;
	/* exp lookups count neither as terms nor as void lookups (4.6.4) */
	if ((a = spf_query(e, name, DNS_T_TXT)) == NULL)
		goto out_free_name;
	for (size_t k = 0; a->status == DNS_OK && k < a->nrr; k++)
		if (a->rr[k].type == DNS_T_TXT && n++ == 0)
			txt = &a->rr[k];
	if (n == 1 && spf_macro_expand(txt->u.txt.data, txt->u.txt.len, &v,
	    SPF_EXPAND_EXPLAIN, &text, &err) == 0)
		e->out->explanation = text;
	dns_answer_release(a);
out_free_name:
	free(name);
}

static void
set_reason(struct spf_eval *e, const char *domain)
{
	struct spf_check *o = e->out;
	const char *dd = e->decider_domain ? e->decider_domain : domain;
	const char *how;

	switch (o->result) {
	case AUTH_PASS:
		o->reason = xasprintf("%s is authorized by the SPF record of %s: it "
		    "matches %s", e->c, dd, e->decider ? e->decider : "?");
		break;
	case AUTH_FAIL:
	case AUTH_SOFTFAIL:
		how = e->decider_all ? "the record ends with" : "it matches";
		o->reason = xasprintf("%s is not authorized by the SPF record of %s: "
		    "%s %s%s", e->c, dd, how, e->decider ? e->decider : "?",
		    o->result == AUTH_SOFTFAIL ? " (softfail: suspicious, but not "
		    "a definite failure)" : "");
		break;
	case AUTH_NEUTRAL:
		if (e->decider)
			o->reason = xasprintf("the SPF record of %s says nothing about "
			    "%s: it matches %s", dd, e->c, e->decider);
		else
			o->reason = xasprintf("the SPF record of %s says nothing about "
			    "%s: no mechanism matched, so the result is neutral", dd, e->c);
		break;
	case AUTH_NONE:
		o->reason = xasprintf("%s has no SPF record: %s", domain,
		    e->none_why ? e->none_why : "none was found");
		break;
	case AUTH_TEMPERROR:
		o->reason = xasprintf("the SPF record of %s could not be evaluated "
		    "now: %s", domain, o->problem ? o->problem : "temporary error");
		break;
	default:
		o->reason = xasprintf("the SPF record of %s cannot be used: %s", domain,
		    o->problem ? o->problem : "permanent error");
		break;
	}
}

/* %{i} for IPv6: 32 nibbles separated by dots (7.3; upper case, as the suite) */
static void
ip6_nibbles(const struct in6_addr *a, char *buf, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t k = 0;

	for (int b = 0; b < 16 && k + 4 < n; b++) {
		buf[k++] = hex[a->s6_addr[b] >> 4];
		buf[k++] = '.';
		buf[k++] = hex[a->s6_addr[b] & 15];
		buf[k++] = '.';
	}
	buf[k ? k - 1 : 0] = '\0';
}

/* 5: the client address; an IPv4-mapped IPv6 address is IPv4. */
static int
client_ip(struct spf_eval *e, const char *ip)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (ip == NULL)
		return -1;
	if (inet_pton(AF_INET, ip, &e->ip4) == 1)
		e->af = AF_INET;
	else if (inet_pton(AF_INET6, ip, &e->ip6) == 1) {
		e->af = AF_INET6;
		if (memcmp(e->ip6.s6_addr, mapped, 12) == 0) {
			memcpy(&e->ip4, e->ip6.s6_addr + 12, 4);
			e->af = AF_INET;
		}
	} else
		return -1;
	inet_ntop(e->af, e->af == AF_INET ? (void *)&e->ip4 : (void *)&e->ip6, e->c,
	    sizeof(e->c));
	if (e->af == AF_INET)
		str_copy(e->i, e->c, sizeof(e->i));
	else
		ip6_nibbles(&e->ip6, e->i, sizeof(e->i));
	return 0;
}

static void
eval_free(struct spf_eval *e)
{
	tstate_clear(&e->tstate);
	for (int k = 0; k < e->np; k++)
		free(e->p_names[k]);
	free(e->decider);
	free(e->decider_domain);
	free(e->exp_spec);
	free(e->exp_domain);
	free(e->none_why);
	free(e->err_term);
	free(e->helo_copy);
	if (e->req)
		SPF_request_free(e->req);
}

/* Split <sender> (4.3: an empty local-part is "postmaster"). */
static char *
sender_split(const char *sender, char **local)
{
	const char *at = strrchr(sender, '@');
	char *domain;
	size_t n;

	*local = at && at > sender ? xstrndup(sender, (size_t)(at - sender)) :
	    xstrdup("postmaster");
	domain = xstrdup(at ? at + 1 : sender);
	n = strlen(domain);
	if (n > 1 && domain[n - 1] == '.')
		domain[n - 1] = '\0';
	return domain;
}

void
spf_check_run(struct spf_ctx *c, const char *identity, const char *ip,
    const char *helo, const char *sender, struct spf_check *out)
{
	struct spf_eval e;
	char *local, *domain;

	memset(out, 0, sizeof(*out));
	memset(&e, 0, sizeof(e));
	e.ctx = c;
	e.out = out;
	out->identity = xstrdup(identity ? identity : "mailfrom");
	domain = sender_split(sender ? sender : "", &local);
	out->sender = xasprintf("%s@%s", local, domain);
	out->domain = xstrdup(domain);
	e.local = local;
	e.sdomain = domain;
	e.helo = e.helo_copy = xstrndup(helo ? helo : "", SPF_MAX_SENDER);
	snprintf(e.t, sizeof(e.t), "%lld", (long long)time(NULL));
	if (strlen(out->sender) > SPF_MAX_SENDER) {
		out->result = AUTH_NONE;
		out->reason = xasprintf("the sender address is longer than %d octets",
		    SPF_MAX_SENDER);
		goto out_free;
	}
	if (client_ip(&e, ip) < 0) {
		out->result = AUTH_NONE;
		out->reason = xstrdup("no valid client IP address to check");
		goto out_free;
	}
	if (domain[0] == '[') {
		out->result = AUTH_NONE;
		out->reason = xasprintf("%s is an address literal, not a domain name "
		    "(RFC 7208 4.3)", domain);
		goto out_free;
	}
	e.deadline = time_mono_ms() + SPF_MAX_ELAPSED_MS;
	if ((e.req = SPF_request_new(c->server)) == NULL)
		fatal("libspf2: out of memory");
	if (e.af == AF_INET)
		SPF_request_set_ipv4(e.req, e.ip4);
	else
		SPF_request_set_ipv6(e.req, e.ip6);
	e.req->cur_dom = SPF_ALIAS;
	c->cur = &e;
	out->result = check_host(&e, domain, 0, 0, NULL);
	c->cur = NULL;
	if (out->result == AUTH_FAIL && e.exp_spec != NULL)
		explain(&e);
	if (out->result != AUTH_TEMPERROR && out->result != AUTH_PERMERROR) {
		free(out->problem);
		out->problem = NULL;
	}
	if (out->result == AUTH_TEMPERROR || out->result == AUTH_PERMERROR)
		out->mechanism = e.err_term ? xstrdup(e.err_term) : NULL;
	else if (out->result != AUTH_NONE)
		out->mechanism = xstrdup(e.decider ? e.decider : "default");
	out->lookups = e.lookups;
	out->void_lookups = e.voids;
	set_reason(&e, domain);
out_free:
	eval_free(&e);
	free(local);
	free(domain);
}

void
spf_check_free(struct spf_check *c)
{
	free(c->identity);
	free(c->sender);
	free(c->domain);
	free(c->record);
	free(c->mechanism);
	free(c->explanation);
	free(c->reason);
	free(c->problem);
	for (size_t i = 0; i < c->nsteps; i++) {
		free(c->steps[i].via);
		free(c->steps[i].domain);
		free(c->steps[i].record);
		free(c->steps[i].result);
	}
	free(c->steps);
	memset(c, 0, sizeof(*c));
}
