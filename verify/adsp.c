/*
 * adsp.c - ADSP, RFC 5617 4.3, step by step.  Historic since November 2013
 * and gone from libopendkim (2.10 "Discontinue support for ADSP"), so this
 * is our own implementation; the report marks it informational.
 *
 *  1. a valid signature whose d= is exactly the Author Domain: pass
 *  2. the Author Domain does not exist (NXDOMAIN): nxdomain; DNS error: temperror
 *  3. _adsp._domainkey.<Author Domain> TXT: none found (or only records that
 *     do not parse, 4.2.1 "MUST be ignored": a record must start with
 *     "dkim", its value must be a hyphenated-word): none; DNS error: temperror;
 *     more than one valid record: permerror
 *  4. dkim=unknown (or an unknown value, 4.2.1): unknown; all: fail;
 *     discardable: discard (values compared without regard to case, as ABNF
 *     literals are, RFC 5234 2.3)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/dns.h"
#include "../common/util.h"
#include "adsp.h"

#define ADSP_PREFIX	"_adsp._domainkey."
#define ADSP_MAX_TAGS	32

static int
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static int
tag_name_ok(const char *s, size_t n)
{
	/* RFC 6376 3.2: tag-name = ALPHA *ALNUMPUNC */
	if (n == 0 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return 0;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_'))
			return 0;
	}
	return 1;
}

/* RFC 4871 hyphenated-word = ALPHA [ *(ALPHA / DIGIT / "-") (ALPHA / DIGIT) ] */
static int
hyphenated_word(const char *w)
{
	size_t n = strlen(w);

	if (n == 0 || !((w[0] >= 'a' && w[0] <= 'z') || (w[0] >= 'A' && w[0] <= 'Z')) ||
	    w[n - 1] == '-')
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!((w[i] >= 'a' && w[i] <= 'z') || (w[i] >= 'A' && w[i] <= 'Z') ||
		    (w[i] >= '0' && w[i] <= '9') || w[i] == '-'))
			return 0;
	return 1;
}

/* RFC 5617 4.2.1, a tag-list with WSP; contract in adsp.h */
int
adsp_record_parse(const char *rec, size_t len, char **practice, char *err, size_t errlen)
{
	const char *p = rec, *end = rec + len;
	char names[ADSP_MAX_TAGS][32];
	int ntags = 0;

	*practice = NULL;
	if (memchr(rec, '\0', len) != NULL) {
		snprintf(err, errlen, "NUL byte in the record");
		return -1;
	}
	/* 4.2.1: "Every ADSP record MUST start with an outbound signing-practices
	 * tag, so the first four characters of the record are lowercase dkim" */
	if (len < 4 || memcmp(rec, "dkim", 4) != 0) {
		snprintf(err, errlen, "the record does not start with dkim= "
		    "(RFC 5617 4.2.1)");
		return -1;
	}
	while (p < end) {
		const char *ns, *ne, *vs, *ve, *semi;

		while (p < end && is_wsp(*p))
			p++;
		if (p == end)
			break;
		semi = memchr(p, ';', (size_t)(end - p));
		if (semi == NULL)
			semi = end;
		ns = p;
		for (ne = ns; ne < semi && *ne != '=' && !is_wsp(*ne); ne++)
			;
		p = ne;
		while (p < semi && is_wsp(*p))
			p++;
		if (p == semi && ne == ns) {	/* empty element ("a=b;;") */
			p = semi + (semi < end);
			continue;
		}
		if (p >= semi || *p != '=' || !tag_name_ok(ns, (size_t)(ne - ns))) {
			snprintf(err, errlen, "\"%.*s\" is not a tag=value pair",
			    (int)(semi - ns > 40 ? 40 : semi - ns), ns);
			goto bad;
		}
		p++;
		while (p < semi && is_wsp(*p))
			p++;
		vs = p;
		ve = semi;
		while (ve > vs && is_wsp(ve[-1]))
			ve--;
		for (const char *q = vs; q < ve; q++) {
			/* tval = 1*VALCHAR; VALCHAR = %x21-3A / %x3C-7E, WSP inside */
			unsigned char c = (unsigned char)*q;

			if (!(is_wsp(*q) || (c >= 0x21 && c <= 0x7e && c != ';'))) {
				snprintf(err, errlen, "invalid character in the value of %.*s",
				    (int)(ne - ns), ns);
				goto bad;
			}
		}
		if (ntags == ADSP_MAX_TAGS) {
			snprintf(err, errlen, "more than %d tags", ADSP_MAX_TAGS);
			goto bad;
		}
		snprintf(names[ntags], sizeof(names[0]), "%.*s",
		    (int)(ne - ns > 31 ? 31 : ne - ns), ns);
		for (int i = 0; i < ntags; i++)
			if (strcmp(names[i], names[ntags]) == 0) {
				/* RFC 6376 3.2: a duplicate tag invalidates the list */
				snprintf(err, errlen, "tag \"%s\" appears twice", names[i]);
				goto bad;
			}
		ntags++;
		if ((size_t)(ne - ns) == 4 && memcmp(ns, "dkim", 4) == 0) {
			/* tag names are case-sensitive (RFC 6376 3.2) */
			*practice = xstrndup(vs, (size_t)(ve - vs));
		}
		p = semi + (semi < end);
	}
	if (*practice == NULL) {
		snprintf(err, errlen, "no dkim= tag (it is required)");
		return -1;
	}
	if (!hyphenated_word(*practice)) {
		snprintf(err, errlen, "dkim=%.40s is not a word (RFC 5617 4.2.1: "
		    "unknown, all, discardable or a hyphenated-word)", *practice);
		goto bad;
	}
	return 0;
bad:
	free(*practice);
	*practice = NULL;
	return -1;
}

static void
set(struct adsp_result *out, enum auth_res r, char *reason)
{
	out->result = r;
	free(out->reason);
	out->reason = reason;
}

void
adsp_check_run(struct dns_resolver *dns, const char *author, const char *from_error,
    const struct dkim_sig *sigs, size_t nsigs, struct adsp_result *out)
{
	const struct dns_answer *a;
	char name[DNS_MAX_NAME + 32], err[200];
	char *practice = NULL, *record = NULL;
	int valid = 0;

	memset(out, 0, sizeof(*out));
	if (author == NULL) {
		set(out, AUTH_PERMERROR, xasprintf("no single Author Domain: %s",
		    from_error && *from_error ? from_error : "no usable From: address"));
		return;
	}
	out->domain = xstrdup(author);
	/* 1. an Author Domain Signature that verifies */
	for (size_t i = 0; i < nsigs; i++)
		if (sigs[i].result == AUTH_PASS && sigs[i].domain &&
		    str_caseeq(sigs[i].domain, author)) {
			set(out, AUTH_PASS, xasprintf("a valid signature by the author "
			    "domain %s is present", author));
			return;
		}
	/* 2. does the Author Domain exist? (any query type will do) */
	a = dns_lookup(dns, author, DNS_T_MX);
	if (a->status == DNS_TEMPFAIL || a->status == DNS_BADNAME) {
		set(out, a->status == DNS_BADNAME ? AUTH_PERMERROR : AUTH_TEMPERROR,
		    xasprintf("looking up the author domain %s failed: %s", author,
		    a->why ? a->why : "DNS error"));
		dns_answer_release(a);
		return;
	}
	if (a->status == DNS_NXDOMAIN) {
		set(out, AUTH_NXDOMAIN, xasprintf("the author domain %s does not exist "
		    "(NXDOMAIN)", author));
		dns_answer_release(a);
		return;
	}
	dns_answer_release(a);
	/* 3. the ADSP record */
	snprintf(name, sizeof(name), ADSP_PREFIX "%s", author);
	a = dns_lookup(dns, name, DNS_T_TXT);
	if (a->status == DNS_TEMPFAIL || a->status == DNS_BADNAME) {
		set(out, a->status == DNS_BADNAME ? AUTH_NONE : AUTH_TEMPERROR,
		    xasprintf("looking up %s failed: %s", name, a->why ? a->why : "DNS error"));
		dns_answer_release(a);
		return;
	}
	err[0] = '\0';
	for (size_t i = 0; i < a->nrr; i++) {
		char *pr, e[200];

		if (a->rr[i].type != DNS_T_TXT)
			continue;
		if (adsp_record_parse(a->rr[i].u.txt.data, a->rr[i].u.txt.len, &pr, e,
		    sizeof(e)) < 0) {
			if (record == NULL && out->record == NULL)
				out->record = xstrndup(a->rr[i].u.txt.data, a->rr[i].u.txt.len);
			snprintf(err, sizeof(err), "%s", e);
			continue;
		}
		valid++;
		if (valid == 1) {
			practice = pr;
			record = xstrndup(a->rr[i].u.txt.data, a->rr[i].u.txt.len);
		} else
			free(pr);
	}
	dns_answer_release(a);
	if (valid > 1) {
		free(out->record);
		out->record = record;
		out->policy = practice;
		set(out, AUTH_PERMERROR, xasprintf("%s has %d ADSP records; "
		    "there must be one", name, valid));
		return;
	}
	if (valid == 0) {
		set(out, AUTH_NONE, err[0] ? xasprintf("the record at %s is not valid "
		    "ADSP and is ignored (RFC 5617 4.2.1): %s", name, err) :
		    xasprintf("no ADSP record at %s", name));
		return;
	}
	free(out->record);
	out->record = record;
	out->policy = practice;
	/* 4. the practice */
	/* ABNF literals are case-insensitive (RFC 5234 2.3) */
	if (str_caseeq(practice, "all"))
		set(out, AUTH_FAIL, xasprintf("%s says dkim=all, and no valid signature "
		    "by %s is present", name, author));
	else if (str_caseeq(practice, "discardable"))
		set(out, AUTH_DISCARD, xasprintf("%s says dkim=discardable, and no valid "
		    "signature by %s is present", name, author));
	else
		set(out, AUTH_UNKNOWN, xasprintf("%s says dkim=%s: the domain may sign "
		    "some or all mail", name, practice));
}

void
adsp_result_free(struct adsp_result *r)
{
	free(r->domain);
	free(r->policy);
	free(r->record);
	free(r->reason);
	memset(r, 0, sizeof(*r));
}
