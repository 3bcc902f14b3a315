/*
 * fuzz_smtp_cmd - the SMTP command language (smtpd/smtp_parse.c) and
 * msg_path_domain() (common/msg.c) on arbitrary command lines.
 *
 * Input: one command line (the CRLF already removed, as session.c hands
 * it over; it may hold NULs and any octet).
 *
 * Invariants:
 *  - smtp_cmd_parse(): a line with a NUL or a control character is
 *    BADCHAR; a parsed command has its canonical verb and an argument that
 *    points into the line;
 *  - smtp_path_parse() (as MAIL FROM and as RCPT TO, on the argument and on
 *    the raw line): an accepted path is at most 256 octets with <>, its
 *    local part at most 64 and its domain at most 255 (RFC 5321 4.5.3.1),
 *    holds no control character, is valid UTF-8 and says so (utf8 flag);
 *    a forward path never carries what a relay would follow: no source
 *    route, no '%' or '!' in the local part, no '@' inside a quoted local
 *    part; params points into the argument;
 *  - msg_path_domain() of "<addr>" and of "addr" gives the accepted
 *    address's domain in lower case, and never more than its buffer;
 *  - smtp_mail_params_parse(): SIZE, BODY, SMTPUTF8 at most once each;
 *  - smtp_check_address() agrees with a reference written from its
 *    header: same domain, and the same local part or local part + "+" +
 *    1..32 of [A-Za-z0-9._=-];
 *  - smtp_helo_valid(): 1..255 octets of 0x21-0x7e.
 */
#include <stdlib.h>
#include <string.h>

#include "../../common/config.h"
#include "../../common/msg.h"
#include "../../common/util.h"
#include "../../smtpd/smtp_parse.h"
#include "fuzz.h"

static const char *const checks_v[] = { "check@mailtest.example", "Test.X@Example.ORG" };

static int
ref_tag_ok(const char *t, size_t n)
{
	if (n == 0 || n > SMTP_MAX_TAG)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)t[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' || c == '='))
			return 0;
	}
	return 1;
}

/* The reference of smtp_check_address() with separator "+". */
static int
ref_check(const char *addr, char *tag, size_t taglen)
{
	const char *at = strrchr(addr, '@');

	tag[0] = '\0';
	if (at == NULL)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(checks_v); i++) {
		const char *c = checks_v[i], *cat = strrchr(c, '@');
		size_t cl = (size_t)(cat - c), ll = (size_t)(at - addr);

		if (!str_caseeq(cat + 1, at + 1))
			continue;
		if (ll == cl && str_ncaseeq(addr, c, cl))
			return (int)i;
		if (ll > cl + 1 && str_ncaseeq(addr, c, cl) && addr[cl] == '+' &&
		    ref_tag_ok(addr + cl + 1, ll - cl - 1)) {
			if (ll - cl - 1 < taglen) {
				memcpy(tag, addr + cl + 1, ll - cl - 1);
				tag[ll - cl - 1] = '\0';
			}
			return (int)i;
		}
	}
	return -1;
}

static void
check_path(const char *arg, int flags)
{
	struct smtp_path p;
	enum smtp_addr_err e = smtp_path_parse(arg, flags, &p);
	const char *at, *addr = p.addr;
	size_t n, an = strlen(arg);
	char dom[SMTP_MAX_DOMAIN + 1], dom2[SMTP_MAX_DOMAIN + 1], small[8], *wrapped;
	int nonascii = 0;

	FUZZ_CHECK(smtp_addr_err_text(e) != NULL, "no text for %d", (int)e);
	if (e != SMTP_ADDR_OK)
		return;
	FUZZ_CHECK(p.params >= arg && p.params <= arg + an, "params outside the argument");
	n = strlen(addr);
	FUZZ_CHECK(n + 2 <= SMTP_MAX_PATH, "path of %zu octets", n + 2);
	if (p.null) {
		FUZZ_CHECK((flags & SMTP_PATH_REVERSE) && n == 0, "null path \"%s\"", addr);
		return;
	}
	if (p.postmaster) {
		FUZZ_CHECK((flags & SMTP_PATH_FORWARD) && str_caseeq(addr, "postmaster"),
		    "postmaster \"%s\"", addr);
		return;
	}
	FUZZ_CHECK(addr[0] != '@', "source route accepted: \"%s\"", addr);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)addr[i];

		FUZZ_CHECK(c >= 0x20 && c != 0x7f, "control %#x in \"%s\"", c, addr);
		nonascii |= c >= 0x80;
	}
	FUZZ_CHECK(fuzz_utf8((const unsigned char *)addr, n), "invalid UTF-8 accepted");
	FUZZ_CHECK(p.utf8 == nonascii, "utf8 flag %d for \"%s\"", p.utf8, addr);
	at = strrchr(addr, '@');
	FUZZ_CHECK(at != NULL && at > addr && at[1] != '\0', "not local@domain: \"%s\"", addr);
	FUZZ_CHECK((size_t)(at - addr) <= SMTP_MAX_LOCAL, "local part of %zu octets",
	    (size_t)(at - addr));
	FUZZ_CHECK(strlen(at + 1) <= SMTP_MAX_DOMAIN, "domain of %zu octets", strlen(at + 1));
	if (flags & SMTP_PATH_FORWARD) {
		size_t ll = (size_t)(at - addr);

		FUZZ_CHECK(memchr(addr, '%', ll) == NULL && memchr(addr, '!', ll) == NULL,
		    "relay syntax in a forward path: \"%s\"", addr);
		FUZZ_CHECK(addr[0] != '"' || memchr(addr, '@', ll) == NULL,
		    "quoted '@' in a forward path: \"%s\"", addr);
	}

	/* msg_path_domain(): the same domain, lower-cased, bounded */
	wrapped = xasprintf("<%s>", addr);
	FUZZ_CHECK(msg_path_domain(wrapped, dom, sizeof(dom)) == 0, "no domain in %s", wrapped);
	FUZZ_CHECK(msg_path_domain(addr, dom2, sizeof(dom2)) == 0, "no domain in %s", addr);
	FUZZ_CHECK(str_caseeq(dom, at + 1) && strcmp(dom, dom2) == 0,
	    "msg_path_domain: \"%s\" / \"%s\" for \"%s\"", dom, dom2, addr);
	for (const char *d = dom; *d; d++)
		FUZZ_CHECK(!(*d >= 'A' && *d <= 'Z'), "upper case in \"%s\"", dom);
	memset(small, 'Z', sizeof(small));
	if (msg_path_domain(wrapped, small, 4) == 0)
		FUZZ_CHECK(strlen(small) < 4, "msg_path_domain overran its buffer");
	FUZZ_CHECK(small[4] == 'Z', "msg_path_domain wrote past its buffer");
	free(wrapped);
}

static void
check_params(const char *s)
{
	struct smtp_mail_params mp;
	enum smtp_param_err e = smtp_mail_params_parse(s, &mp);

	FUZZ_CHECK(memchr(mp.bad, '\0', sizeof(mp.bad)) != NULL, "bad[] not terminated");
	if (e == SMTP_PARAM_OK) {
		FUZZ_CHECK(mp.size >= -2, "size %lld", mp.size);
		FUZZ_CHECK(mp.bad[0] == '\0', "bad \"%s\" on success", mp.bad);
		FUZZ_CHECK(mp.smtputf8 == 0 || mp.smtputf8 == 1, "smtputf8 %d", mp.smtputf8);
	}
}

static void
check_address(const char *addr)
{
	struct config_list cl;
	char tag[SMTP_MAX_TAG + 1], rtag[SMTP_MAX_TAG + 1];
	int got, want;

	memset(&cl, 0, sizeof(cl));
	cl.n = ARRAY_SIZE(checks_v);
	for (size_t i = 0; i < cl.n; i++)
		cl.v[i] = (char *)checks_v[i];
	got = smtp_check_address(&cl, "+", addr, tag, sizeof(tag));
	want = ref_check(addr, rtag, sizeof(rtag));
	FUZZ_CHECK(got == want, "check address \"%s\": %d, reference %d", addr, got, want);
	if (got >= 0)
		FUZZ_CHECK(strcmp(tag, rtag) == 0, "tag \"%s\", reference \"%s\"", tag, rtag);
}

static void
check_helo(const char *s)
{
	size_t n = strlen(s);
	int want = n >= 1 && n <= SMTP_MAX_DOMAIN;

	for (size_t i = 0; i < n && want; i++)
		want = (unsigned char)s[i] > 0x20 && (unsigned char)s[i] < 0x7f;
	FUZZ_CHECK(smtp_helo_valid(s) == want, "helo \"%s\": %d", s, smtp_helo_valid(s));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = xmalloc(size + 1), *copy;
	struct smtp_cmdline cl;
	enum smtp_cmd_err e;
	int ctl = 0;

	memcpy(line, data, size);
	line[size] = '\0';
	for (size_t i = 0; i < size; i++)
		ctl |= data[i] < 0x20 || data[i] == 0x7f;
	copy = xstrdup(line);

	e = smtp_cmd_parse(line, size, &cl);
	FUZZ_CHECK(cl.verb != NULL && cl.arg != NULL, "NULL verb or argument");
	if (ctl)
		FUZZ_CHECK(e == SMTP_CMD_BADCHAR, "control octet or NUL accepted (%d)", (int)e);
	if (e == SMTP_CMD_OK) {
		FUZZ_CHECK(cl.cmd > SMTP_CMD_UNKNOWN && cl.cmd < SMTP_CMD_COUNT, "cmd %d",
		    (int)cl.cmd);
		FUZZ_CHECK(cl.arg >= line && cl.arg <= line + size, "argument outside the line");
		FUZZ_CHECK(str_ncaseeq(copy, cl.verb, strlen(cl.verb)), "verb %s for \"%s\"",
		    cl.verb, copy);
		check_path(cl.arg, SMTP_PATH_REVERSE);
		check_path(cl.arg, SMTP_PATH_FORWARD);
		check_params(cl.arg);
		check_helo(cl.arg);
	}
	/* the raw line too, as if it were the argument */
	check_path(copy, SMTP_PATH_REVERSE);
	check_path(copy, SMTP_PATH_FORWARD);
	check_params(copy);
	check_address(copy);
	check_helo(copy);
	free(copy);
	free(line);
	return 0;
}
