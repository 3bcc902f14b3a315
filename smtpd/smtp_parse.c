/* smtp_parse.c - see smtp_parse.h */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../common/util.h"
#include "smtp_parse.h"

/* RFC 1035 2.3.4: a label is at most 63 octets */
#define SMTP_MAX_LABEL		63

static const struct {
	const char	*verb;
	enum smtp_cmd	 cmd;
} smtp_verbs[] = {
	{ "HELO", SMTP_CMD_HELO },
	{ "EHLO", SMTP_CMD_EHLO },
	{ "MAIL", SMTP_CMD_MAIL },
	{ "RCPT", SMTP_CMD_RCPT },
	{ "DATA", SMTP_CMD_DATA },
	{ "RSET", SMTP_CMD_RSET },
	{ "NOOP", SMTP_CMD_NOOP },
	{ "QUIT", SMTP_CMD_QUIT },
	{ "VRFY", SMTP_CMD_VRFY },
	{ "HELP", SMTP_CMD_HELP },
	{ "STARTTLS", SMTP_CMD_STARTTLS },
	{ "EXPN", SMTP_CMD_NOTIMPL },
	{ "AUTH", SMTP_CMD_NOTIMPL },
	{ "BDAT", SMTP_CMD_NOTIMPL },
	{ "ETRN", SMTP_CMD_NOTIMPL },
	{ "TURN", SMTP_CMD_NOTIMPL },
	{ "ATRN", SMTP_CMD_NOTIMPL },
	/* not SMTP: a web client or proxy abused to talk to us (Postfix's
	 * smtpd_forbidden_commands) */
	{ "GET", SMTP_CMD_FORBIDDEN },
	{ "POST", SMTP_CMD_FORBIDDEN },
	{ "PUT", SMTP_CMD_FORBIDDEN },
	{ "HEAD", SMTP_CMD_FORBIDDEN },
	{ "CONNECT", SMTP_CMD_FORBIDDEN },
	{ "USER", SMTP_CMD_FORBIDDEN },
	{ "PASS", SMTP_CMD_FORBIDDEN },
};

enum smtp_cmd_err
smtp_cmd_parse(char *line, size_t len, struct smtp_cmdline *c)
{
	size_t vlen, i;
	char *p, *end;

	c->cmd = SMTP_CMD_UNKNOWN;
	c->verb = "";
	c->arg = "";
	if (strlen(line) != len)
		return SMTP_CMD_BADCHAR;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)line[i];

		if (ch < 0x20 || ch == 0x7f)
			return SMTP_CMD_BADCHAR;
	}
	end = line + len;
	while (end > line && end[-1] == ' ')
		*--end = '\0';
	if (end == line)
		return SMTP_CMD_EMPTY;
	vlen = strcspn(line, " ");
	for (i = 0; i < ARRAY_SIZE(smtp_verbs); i++)
		if (strlen(smtp_verbs[i].verb) == vlen &&
		    str_ncaseeq(line, smtp_verbs[i].verb, vlen))
			break;
	if (i == ARRAY_SIZE(smtp_verbs))
		return SMTP_CMD_NOVERB;
	c->cmd = smtp_verbs[i].cmd;
	c->verb = smtp_verbs[i].verb;
	p = line + vlen;
	while (*p == ' ')
		p++;
	if (c->cmd == SMTP_CMD_MAIL || c->cmd == SMTP_CMD_RCPT) {
		const char *kw = c->cmd == SMTP_CMD_MAIL ? "FROM:" : "TO:";
		size_t kl = strlen(kw);

		if (!str_ncaseeq(p, kw, kl) || strlen(p) < kl)
			return SMTP_CMD_SYNTAX;
		p += kl;
		/* "MAIL FROM: <a@b>" is not RFC 5321 but common; accept it */
		while (*p == ' ')
			p++;
	}
	c->arg = p;
	return SMTP_CMD_OK;
}

const char *
smtp_addr_err_text(enum smtp_addr_err e)
{
	switch (e) {
	case SMTP_ADDR_OK:		return "ok";
	case SMTP_ADDR_SYNTAX:		return "syntax";
	case SMTP_ADDR_TOO_LONG:	return "too-long";
	case SMTP_ADDR_NO_DOMAIN:	return "no-domain";
	case SMTP_ADDR_BAD_DOMAIN:	return "bad-domain";
	case SMTP_ADDR_BAD_UTF8:	return "bad-utf8";
	case SMTP_ADDR_SOURCE_ROUTE:	return "source-route";
	case SMTP_ADDR_PERCENT:		return "percent-hack";
	case SMTP_ADDR_BANG:		return "bang-path";
	case SMTP_ADDR_QUOTED_AT:	return "quoted-at";
	}
	return "syntax";
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629 4), 0 if none. */
static size_t
utf8_seq(const unsigned char *s)
{
	size_t n, i;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

/* RFC 5322 3.2.3 atext, plus UTF-8 (RFC 6531 3.3) checked separately */
static int
is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c)) ||
	    c >= 0x80;
}

static int
is_letdig(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c >= 0x80;
}

/* Dot-string (4.1.2); returns the octets used, 0 on a syntax error. */
static size_t
scan_dot_string(const char *s)
{
	const char *p = s;

	for (;;) {
		if (!is_atext((unsigned char)*p))
			return 0;
		while (is_atext((unsigned char)*p))
			p++;
		if (*p != '.')
			break;
		p++;
	}
	return (size_t)(p - s);
}

/* Quoted-string (4.1.2), including the quotes; 0 on a syntax error. */
static size_t
scan_quoted(const char *s, int *has_at)
{
	const unsigned char *p = (const unsigned char *)s + 1;

	*has_at = 0;
	for (;;) {
		if (*p == '"')
			return (size_t)((const char *)p + 1 - s);
		if (*p == '\\') {
			if (p[1] < 32 || p[1] > 126)
				return 0;
			if (p[1] == '@')
				*has_at = 1;
			p += 2;
			continue;
		}
		if (*p == '\0' || (*p < 32) || *p == 127)
			return 0;
		if (*p == '@')
			*has_at = 1;
		p++;
	}
}

/* Domain (sub-domains with U-labels allowed) or address-literal. */
static size_t
scan_domain(const char *s, enum smtp_addr_err *err)
{
	const char *p = s;

	*err = SMTP_ADDR_BAD_DOMAIN;
	if (*p == '[') {
		char lit[64];
		const char *e = strchr(p, ']');
		size_t n;
		struct in6_addr a6;
		struct in_addr a4;

		if (e == NULL || (n = (size_t)(e - p - 1)) >= sizeof(lit) || n == 0)
			return 0;
		memcpy(lit, p + 1, n);
		lit[n] = '\0';
		if (str_ncaseeq(lit, "IPv6:", 5)) {
			if (inet_pton(AF_INET6, lit + 5, &a6) != 1)
				return 0;
		} else if (inet_pton(AF_INET, lit, &a4) != 1)
			return 0;
		return n + 2;
	}
	for (;;) {
		const char *label = p;

		if (!is_letdig((unsigned char)*p))
			return 0;
		while (is_letdig((unsigned char)*p) || *p == '-')
			p++;
		if (p[-1] == '-' || p - label > SMTP_MAX_LABEL)
			return 0;
		if (*p != '.')
			break;
		p++;
	}
	return (size_t)(p - s);
}

static int
utf8_ok(const char *s, size_t n, int *nonascii)
{
	const unsigned char *p = (const unsigned char *)s, *e = p + n;

	*nonascii = 0;
	while (p < e) {
		size_t l = utf8_seq(p);

		if (l == 0 || p + l > e)
			return 0;
		if (l > 1)
			*nonascii = 1;
		p += l;
	}
	return 1;
}

/* A-d-l ":" before the mailbox (4.1.2): we never follow source routes. */
static int
is_source_route(const char *p)
{
	const char *colon = strchr(p, ':'), *gt = strchr(p, '>');

	return *p == '@' && colon != NULL && (gt == NULL || colon < gt);
}

static enum smtp_addr_err
check_relay_local(const char *local, size_t n)
{
	if (memchr(local, '%', n) != NULL)
		return SMTP_ADDR_PERCENT;
	if (memchr(local, '!', n) != NULL)
		return SMTP_ADDR_BANG;
	return SMTP_ADDR_OK;
}

enum smtp_addr_err
smtp_path_parse(const char *arg, int flags, struct smtp_path *out)
{
	const char *p = arg, *local;
	size_t llen, dlen = 0, total;
	int has_at = 0, quoted = 0;
	enum smtp_addr_err e;

	memset(out, 0, sizeof(*out));
	out->params = "";
	if (*p++ != '<')
		return SMTP_ADDR_SYNTAX;
	if (*p == '>' && (flags & SMTP_PATH_REVERSE)) {
		out->null = 1;
		p++;
		goto params;
	}
	if (*p == '@')
		return is_source_route(p) ? SMTP_ADDR_SOURCE_ROUTE : SMTP_ADDR_SYNTAX;
	local = p;
	if (*p == '"') {
		quoted = 1;
		llen = scan_quoted(p, &has_at);
	} else
		llen = scan_dot_string(p);
	if (llen == 0)
		return SMTP_ADDR_SYNTAX;
	p += llen;
	if (llen > SMTP_MAX_LOCAL)
		return SMTP_ADDR_TOO_LONG;
	if (flags & SMTP_PATH_FORWARD) {
		if (quoted && has_at)
			return SMTP_ADDR_QUOTED_AT;
		if ((e = check_relay_local(local, llen)) != SMTP_ADDR_OK)
			return e;
	}
	if (*p == '>') {
		/* RFC 5321 4.5.1: "<postmaster>" without a domain */
		if ((flags & SMTP_PATH_FORWARD) && llen == 10 &&
		    str_ncaseeq(local, "postmaster", 10)) {
			out->postmaster = 1;
			str_copy(out->addr, "postmaster", sizeof(out->addr));
			p++;
			goto params;
		}
		return SMTP_ADDR_NO_DOMAIN;
	}
	if (*p++ != '@')
		return SMTP_ADDR_SYNTAX;
	if ((dlen = scan_domain(p, &e)) == 0)
		return e;
	p += dlen;
	if (dlen > SMTP_MAX_DOMAIN)
		return SMTP_ADDR_TOO_LONG;
	if (*p != '>')
		return (*p == '@' || *p == '\0') ? SMTP_ADDR_SYNTAX :
		    SMTP_ADDR_BAD_DOMAIN;
	total = (size_t)(p - local);
	if (total + 2 > SMTP_MAX_PATH)
		return SMTP_ADDR_TOO_LONG;
	if (!utf8_ok(local, total, &out->utf8))
		return SMTP_ADDR_BAD_UTF8;
	memcpy(out->addr, local, total);
	out->addr[total] = '\0';
	p++;
params:
	if (*p != '\0' && *p != ' ')
		return SMTP_ADDR_SYNTAX;
	while (*p == ' ')
		p++;
	out->params = p;
	return SMTP_ADDR_OK;
}

static int
is_esmtp_keyword(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || (i > 0 && c == '-')))
			return 0;
	}
	return 1;
}

/* RFC 5321 4.1.2 esmtp-value: %d33-60 / %d62-126 (and UTF-8, RFC 6531) */
static int
is_esmtp_value(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 33 || c == '=' || c == 127)
			return 0;
	}
	return 1;
}

static enum smtp_param_err
mail_param(struct smtp_mail_params *mp, const char *kw, size_t kl, const char *val,
    size_t vl, unsigned *seen)
{
	if (kl == 4 && str_ncaseeq(kw, "SIZE", 4)) {
		char digits[SMTP_MAX_SIZE_DIGITS + 1];
		size_t i;

		if (*seen & 1)
			return SMTP_PARAM_DUPLICATE;
		*seen |= 1;
		if (val == NULL || vl > SMTP_MAX_SIZE_DIGITS)
			return SMTP_PARAM_BAD_VALUE;
		for (i = 0; i < vl; i++)
			if (val[i] < '0' || val[i] > '9')
				return SMTP_PARAM_BAD_VALUE;
		memcpy(digits, val, vl);
		digits[vl] = '\0';
		errno = 0;
		mp->size = strtoll(digits, NULL, 10);
		if (errno == ERANGE)
			mp->size = -2;	/* absurdly large: over any limit */
		return SMTP_PARAM_OK;
	}
	if (kl == 4 && str_ncaseeq(kw, "BODY", 4)) {
		if (*seen & 2)
			return SMTP_PARAM_DUPLICATE;
		*seen |= 2;
		if (val != NULL && vl == 4 && str_ncaseeq(val, "7BIT", 4))
			mp->body8 = 0;
		else if (val != NULL && vl == 8 && str_ncaseeq(val, "8BITMIME", 8))
			mp->body8 = 1;
		else
			return SMTP_PARAM_BAD_VALUE;
		return SMTP_PARAM_OK;
	}
	if (kl == 8 && str_ncaseeq(kw, "SMTPUTF8", 8)) {
		if (*seen & 4)
			return SMTP_PARAM_DUPLICATE;
		*seen |= 4;
		if (val != NULL)	/* RFC 6531 3.4: no value */
			return SMTP_PARAM_BAD_VALUE;
		mp->smtputf8 = 1;
		return SMTP_PARAM_OK;
	}
	return SMTP_PARAM_UNKNOWN;
}

enum smtp_param_err
smtp_mail_params_parse(const char *params, struct smtp_mail_params *mp)
{
	const char *p = params;
	unsigned seen = 0;

	memset(mp, 0, sizeof(*mp));
	mp->size = -1;
	while (*p) {
		size_t n = strcspn(p, " "), kl;
		const char *eq = memchr(p, '=', n), *val = NULL;
		size_t vl = 0;
		enum smtp_param_err e;

		kl = eq ? (size_t)(eq - p) : n;
		str_copy(mp->bad, p, kl + 1 < sizeof(mp->bad) ? kl + 1 : sizeof(mp->bad));
		if (!is_esmtp_keyword(p, kl))
			return SMTP_PARAM_SYNTAX;
		if (eq) {
			val = eq + 1;
			vl = n - kl - 1;
			if (!is_esmtp_value(val, vl))
				return SMTP_PARAM_SYNTAX;
		}
		if ((e = mail_param(mp, p, kl, val, vl, &seen)) != SMTP_PARAM_OK)
			return e;
		p += n;
		while (*p == ' ')
			p++;
	}
	mp->bad[0] = '\0';
	return SMTP_PARAM_OK;
}

static int
tag_valid(const char *t)
{
	size_t n = strlen(t);

	if (n == 0 || n > SMTP_MAX_TAG)
		return 0;
	for (; *t; t++) {
		unsigned char c = (unsigned char)*t;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
		    c == '='))
			return 0;
	}
	return 1;
}

int
smtp_check_address(const struct config_list *checks, const char *sep,
    const char *addr, char *tag, size_t taglen)
{
	const char *at = strrchr(addr, '@');
	size_t llen, i;

	if (taglen)
		tag[0] = '\0';
	if (at == NULL)
		return -1;
	llen = (size_t)(at - addr);
	for (i = 0; i < checks->n; i++) {
		const char *c = checks->v[i], *cat = strrchr(c, '@');
		size_t cl, sl = strlen(sep);

		if (cat == NULL || !str_caseeq(cat + 1, at + 1))
			continue;
		cl = (size_t)(cat - c);
		if (llen == cl && str_ncaseeq(addr, c, cl))
			return (int)i;
		if (sl == 0 || llen <= cl + sl || !str_ncaseeq(addr, c, cl) ||
		    strncmp(addr + cl, sep, sl) != 0)
			continue;
		{
			char t[SMTP_MAX_TAG + 2];
			size_t tl = llen - cl - sl;

			if (tl > SMTP_MAX_TAG)
				continue;
			memcpy(t, addr + cl + sl, tl);
			t[tl] = '\0';
			if (!tag_valid(t))
				continue;
			str_copy(tag, t, taglen);
			return (int)i;
		}
	}
	return -1;
}

int
smtp_helo_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > SMTP_MAX_DOMAIN)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}
