/* policy.c - see policy.h */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/msg.h"
#include "../common/util.h"
#include "policy.h"
#include "textfmt.h"

#define LOCAL_MAX	64	/* RFC 5321 4.5.3.1.1 */
#define DOMAIN_MAX	253	/* RFC 1035 2.3.4 */
#define LABEL_MAX	63

static void
suppress(struct policy_decision *d, const char *reason, const char *fmt, ...)
    MT_PRINTF(3, 4);

static void
suppress(struct policy_decision *d, const char *reason, const char *fmt, ...)
{
	char raw[512], *clean;
	va_list ap;

	d->send = 0;
	str_copy(d->reason, reason, sizeof(d->reason));
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	clean = textfmt_clean(raw, sizeof(d->detail) - 1, 1);
	str_copy(d->detail, clean, sizeof(d->detail));
	free(clean);
}

int
policy_automatic_local(const char *local)
{
	static const char *const names[] = { "mailer-daemon", "postmaster",
	    "listserv", "majordomo" };
	size_t n = strlen(local);

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (str_caseeq(local, names[i]))
			return 1;
	return str_ncaseeq(local, "owner-", 6) || (n > 8 &&
	    str_caseeq(local + n - 8, "-request"));
}

static int
atext(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static int
domain_ok(const char *d)
{
	size_t label = 0, n = strlen(d);

	if (n == 0 || n > DOMAIN_MAX || d[0] == '.' || d[n - 1] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = d[i];

		if (c == '.') {
			if (label == 0 || d[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-'))
			return 0;
		if ((label == 0 && c == '-') || ++label > LABEL_MAX)
			return 0;
	}
	return d[n - 1] != '-';
}

int
policy_address_ok(const char *addr, char *domain, size_t n)
{
	const char *at = addr ? strrchr(addr, '@') : NULL;
	size_t llen;

	if (at == NULL || strlen(addr) > POLICY_MAX_ADDR)
		return 0;
	llen = (size_t)(at - addr);
	if (llen == 0 || llen > LOCAL_MAX || addr[0] == '.' || at[-1] == '.')
		return 0;
	for (const char *p = addr; p < at; p++)
		if (!(atext((unsigned char)*p) || (*p == '.' && p[1] != '.')))
			return 0;
	if (!domain_ok(at + 1) || strlen(at + 1) >= n)
		return 0;
	str_copy(domain, at + 1, n);
	str_lower(domain);
	return 1;
}

/* The first token of a field value, lower-cased: "auto-replied", "bulk". */
static void
first_token(const char *v, char *out, size_t n)
{
	size_t i = 0;

	while (*v == ' ' || *v == '\t')
		v++;
	while (*v && *v != ';' && *v != '(' && *v != ' ' && *v != '\t' && i + 1 < n)
		out[i++] = (char)ascii_lower((unsigned char)*v++);
	out[i] = '\0';
}

/* RFC 3834 / list / loop rules on the header; 1 when suppressed. */
static int
header_rules(const struct policy_input *in, const struct msg *m,
    struct policy_decision *d)
{
	char *v, tok[32];
	size_t received;

	if ((v = msg_get_value(m, "Auto-Submitted")) != NULL) {
		first_token(v, tok, sizeof(tok));
		free(v);
		if (strcmp(tok, "no") != 0) {
			suppress(d, "auto-submitted", "Auto-Submitted: %s (RFC 3834 5)", tok);
			return 1;
		}
	}
	if (msg_count(m, "List-Id") || msg_count(m, "List-Post")) {
		suppress(d, "mailing-list", "the message came through a mailing list "
		    "(List-Id/List-Post)");
		return 1;
	}
	if ((v = msg_get_value(m, "Precedence")) != NULL) {
		first_token(v, tok, sizeof(tok));
		free(v);
		if (strcmp(tok, "bulk") == 0 || strcmp(tok, "list") == 0 ||
		    strcmp(tok, "junk") == 0) {
			suppress(d, "precedence", "Precedence: %s (RFC 3834 2)", tok);
			return 1;
		}
	}
	if (msg_count(m, "X-Mailtest-Loop")) {
		suppress(d, "loop", "the message carries X-Mailtest-Loop: it is a "
		    "mailtest report");
		return 1;
	}
	received = msg_count(m, "Received");
	if ((long)received > in->cf->smtp_received_limit) {
		suppress(d, "loop", "%zu Received: fields, more than "
		    "smtp_received_limit %ld", received, in->cf->smtp_received_limit);
		return 1;
	}
	return 0;
}

static int
tag_allowed(const struct config *cf, const char *word)
{
	for (size_t i = 0; i < cf->reply_tags.n; i++)
		if (str_caseeq(cf->reply_tags.v[i], word))
			return 1;
	return 0;
}

/* Which address the tag asks for: 0 MAIL FROM, 1 From:, 2 Reply-To:. */
static int
tag_choice(const struct config *cf, const char *tag)
{
	char buf[128], *p, *save = NULL;
	int choice = 0;

	if (tag == NULL)
		return 0;
	str_copy(buf, tag, sizeof(buf));
	for (p = strtok_r(buf, ".", &save); p; p = strtok_r(NULL, ".", &save)) {
		if (str_caseeq(p, "from") && tag_allowed(cf, "from"))
			choice = 1;
		else if (str_caseeq(p, "replyto") && tag_allowed(cf, "replyto"))
			choice = 2;
	}
	return choice;
}

/* The first mailbox of a header field, or -1. */
static int
field_address(const struct msg *m, const char *name, char *out, size_t n)
{
	struct msg_addr *a;
	size_t na;
	char *v = msg_get_value(m, name), err[128];
	int rc = -1;

	if (v == NULL)
		return -1;
	if (msg_addrs_parse(v, &a, &na, err, sizeof(err)) == 0) {
		if (na >= 1 && a[0].addr && strlen(a[0].addr) < n) {
			str_copy(out, a[0].addr, n);
			rc = 0;
		}
		msg_addrs_free(a, na);
	}
	free(v);
	return rc;
}

static int
choose_recipient(const struct policy_input *in, const struct msg *m,
    struct policy_decision *d)
{
	int choice = tag_choice(in->cf, in->env->tag);

	if (choice == 0) {
		str_copy(d->rcpt, in->env->mail_from, sizeof(d->rcpt));
		str_copy(d->chosen_by, "mail-from", sizeof(d->chosen_by));
		return 0;
	}
	if (choice == 2 && field_address(m, "Reply-To", d->rcpt, sizeof(d->rcpt)) == 0) {
		str_copy(d->chosen_by, "reply-to", sizeof(d->chosen_by));
		return 0;
	}
	if (msg_count(m, "From") == 1 &&
	    field_address(m, "From", d->rcpt, sizeof(d->rcpt)) == 0) {
		str_copy(d->chosen_by, "from", sizeof(d->chosen_by));
		return 0;
	}
	suppress(d, "tag-no-address", "the tag asks for the %s address and the "
	    "message has no single usable one", choice == 1 ? "From:" : "Reply-To:");
	return -1;
}

static int
domain_related(const char *a, const char *b)
{
	size_t na, nb;

	if (a == NULL || b == NULL)
		return 0;
	na = strlen(a);
	nb = strlen(b);
	if (na == nb)
		return str_caseeq(a, b);
	if (na > nb)
		return a[na - nb - 1] == '.' && str_caseeq(a + na - nb, b);
	return b[nb - na - 1] == '.' && str_caseeq(b + nb - na, a);
}

static int
authenticated(const struct verify_result *r, const char *domain)
{
	const char *at;

	if (r->spf.result == AUTH_PASS && r->spf.identity &&
	    strcmp(r->spf.identity, "mailfrom") == 0) {
		const char *sd = r->spf.domain;

		if (sd == NULL && r->mail_from && (at = strrchr(r->mail_from, '@')))
			sd = at + 1;
		if (domain_related(sd, domain))
			return 1;
	}
	for (size_t i = 0; i < r->ndkim; i++)
		if (r->dkim[i].result == AUTH_PASS && domain_related(r->dkim[i].domain, domain))
			return 1;
	return 0;
}

/* Is addr (local part without its +tag) one of ours? */
static int
is_self(const struct policy_input *in, const char *addr)
{
	const char *at = strrchr(addr, '@');
	const char *sep = in->cf->tag_separator && *in->cf->tag_separator ?
	    in->cf->tag_separator : NULL;
	char base[POLICY_MAX_ADDR + 1];
	const char *plus;

	if (in->report_from && str_caseeq(addr, in->report_from))
		return 1;
	if (at == NULL)
		return 0;
	plus = sep ? memchr(addr, sep[0], (size_t)(at - addr)) : NULL;
	snprintf(base, sizeof(base), "%.*s%s", (int)((plus ? plus : at) - addr), addr, at);
	for (size_t i = 0; i < in->cf->check_address.n; i++)
		if (str_caseeq(base, in->cf->check_address.v[i]))
			return 1;
	return 0;
}

static int
local_is_automatic(const char *addr)
{
	const char *at = strrchr(addr, '@');
	char local[LOCAL_MAX + 1];

	if (at == NULL || (size_t)(at - addr) > LOCAL_MAX)
		return 0;
	snprintf(local, sizeof(local), "%.*s", (int)(at - addr), addr);
	return policy_automatic_local(local);
}

static void
recipient_rules(const struct policy_input *in, const struct msg *m,
    struct policy_decision *d)
{
	char from[POLICY_MAX_ADDR + 1];

	if (field_address(m, "From", from, sizeof(from)) == 0 && in->report_from &&
	    str_caseeq(from, in->report_from)) {
		suppress(d, "loop", "the message is from our own report address");
		return;
	}
	if (local_is_automatic(in->env->mail_from)) {
		suppress(d, "automatic-sender", "MAIL FROM <%s> is an automatic sender",
		    in->env->mail_from);
		return;
	}
	if (choose_recipient(in, m, d) < 0)
		return;
	if (!policy_address_ok(d->rcpt, d->rcpt_domain, sizeof(d->rcpt_domain))) {
		suppress(d, "bad-recipient", "<%s> cannot be used as a recipient "
		    "(ASCII dot-atom local part and host name required)", d->rcpt);
		return;
	}
	if (local_is_automatic(d->rcpt)) {
		suppress(d, "automatic-sender", "<%s> is an automatic sender", d->rcpt);
		return;
	}
	if (is_self(in, d->rcpt)) {
		suppress(d, "self", "<%s> is this responder's own address", d->rcpt);
		return;
	}
	if (strcmp(in->cf->reply_policy, "authenticated") == 0 &&
	    !authenticated(in->res, d->rcpt_domain)) {
		suppress(d, "unauthenticated", "reply_policy authenticated: neither SPF "
		    "nor a DKIM signature passed for %s", d->rcpt_domain);
		return;
	}
	d->send = 1;
}

void
policy_decide(const struct policy_input *in, struct policy_decision *d)
{
	struct msg m;

	memset(d, 0, sizeof(*d));
	if (!in->cf->reply) {
		suppress(d, "disabled", "replies are off (reply = no)");
		return;
	}
	if (in->env->mail_from == NULL || in->env->mail_from[0] == '\0') {
		suppress(d, "null-sender", "MAIL FROM:<> (RFC 3834 2, RFC 5321 4.5.5)");
		return;
	}
	if (msg_parse(&m, in->msg, in->msglen, NULL) < 0) {
		suppress(d, "unparsable", "the header cannot be parsed (%s), so the "
		    "never-reply rules cannot be checked", m.error);
		msg_free(&m);
		return;
	}
	if (!header_rules(in, &m, d))
		recipient_rules(in, &m, d);
	msg_free(&m);
}
