/*
 * test_smtp_parse - smtpd/smtp_parse.c: command lines, RFC 5321 paths and
 * the relay refusals, MAIL parameters, check-address matching with tags,
 * the EHLO argument.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../smtpd/smtp_parse.h"
#include "../../common/util.h"
#include "t.h"

static void
test_cmd(void)
{
	static const struct {
		const char	*label, *line;
		size_t		 len;		/* 0 = strlen */
		enum smtp_cmd_err err;
		enum smtp_cmd	 cmd;
		const char	*arg;
	} cases[] = {
		{ "EHLO", "EHLO mail.example.org", 0, SMTP_CMD_OK, SMTP_CMD_EHLO, "mail.example.org" },
		{ "verb case ignored", "ehLo x", 0, SMTP_CMD_OK, SMTP_CMD_EHLO, "x" },
		{ "trailing spaces cut", "HELO x   ", 0, SMTP_CMD_OK, SMTP_CMD_HELO, "x" },
		{ "MAIL FROM:", "MAIL FROM:<a@b.c> SIZE=10", 0, SMTP_CMD_OK, SMTP_CMD_MAIL,
		    "<a@b.c> SIZE=10" },
		{ "MAIL FROM: with space", "mail from: <a@b.c>", 0, SMTP_CMD_OK, SMTP_CMD_MAIL,
		    "<a@b.c>" },
		{ "MAIL without FROM:", "MAIL <a@b.c>", 0, SMTP_CMD_SYNTAX, SMTP_CMD_MAIL, "" },
		{ "MAIL FROM without colon", "MAIL FROM <a@b.c>", 0, SMTP_CMD_SYNTAX, SMTP_CMD_MAIL, "" },
		{ "RCPT TO:", "RCPT TO:<check@x>", 0, SMTP_CMD_OK, SMTP_CMD_RCPT, "<check@x>" },
		{ "RCPT without TO:", "RCPT", 0, SMTP_CMD_SYNTAX, SMTP_CMD_RCPT, "" },
		{ "DATA", "DATA", 0, SMTP_CMD_OK, SMTP_CMD_DATA, "" },
		{ "STARTTLS", "STARTTLS", 0, SMTP_CMD_OK, SMTP_CMD_STARTTLS, "" },
		{ "NOOP with a string", "NOOP hello", 0, SMTP_CMD_OK, SMTP_CMD_NOOP, "hello" },
		{ "EXPN not implemented", "EXPN list", 0, SMTP_CMD_OK, SMTP_CMD_NOTIMPL, "list" },
		{ "BDAT not offered", "BDAT 10 LAST", 0, SMTP_CMD_OK, SMTP_CMD_NOTIMPL, "10 LAST" },
		{ "HTTP is forbidden", "GET / HTTP/1.0", 0, SMTP_CMD_OK, SMTP_CMD_FORBIDDEN, "/ HTTP/1.0" },
		{ "CONNECT is forbidden", "CONNECT x:25 HTTP/1.1", 0, SMTP_CMD_OK, SMTP_CMD_FORBIDDEN,
		    "x:25 HTTP/1.1" },
		{ "unknown verb", "FOO bar", 0, SMTP_CMD_NOVERB, SMTP_CMD_UNKNOWN, "" },
		{ "verb prefix is not the verb", "EHLOX y", 0, SMTP_CMD_NOVERB, SMTP_CMD_UNKNOWN, "" },
		{ "empty", "", 0, SMTP_CMD_EMPTY, SMTP_CMD_UNKNOWN, "" },
		{ "spaces only", "   ", 0, SMTP_CMD_EMPTY, SMTP_CMD_UNKNOWN, "" },
		{ "bare LF inside", "NOOP\nRSET", 0, SMTP_CMD_BADCHAR, SMTP_CMD_UNKNOWN, "" },
		{ "bare CR inside", "NOOP\rRSET", 0, SMTP_CMD_BADCHAR, SMTP_CMD_UNKNOWN, "" },
		{ "tab", "NOOP\tx", 0, SMTP_CMD_BADCHAR, SMTP_CMD_UNKNOWN, "" },
		{ "NUL inside", "NOOP\0x", 6, SMTP_CMD_BADCHAR, SMTP_CMD_UNKNOWN, "" },
		{ "DEL", "NOOP \x7f", 0, SMTP_CMD_BADCHAR, SMTP_CMD_UNKNOWN, "" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		char buf[256];
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].line);
		struct smtp_cmdline c;
		enum smtp_cmd_err e;

		memcpy(buf, cases[i].line, len);
		buf[len] = '\0';
		e = smtp_cmd_parse(buf, len, &c);
		T_EQ_INT(e, cases[i].err, cases[i].label);
		if (e == SMTP_CMD_OK || e == SMTP_CMD_SYNTAX)
			T_EQ_INT(c.cmd, cases[i].cmd, cases[i].label);
		if (e == SMTP_CMD_OK)
			T_EQ_STR(c.arg, cases[i].arg, cases[i].label);
	}
}

static void
test_path(void)
{
	static const struct {
		const char	*label, *arg;
		int		 flags;
		enum smtp_addr_err err;
		const char	*addr, *params;
	} cases[] = {
		{ "simple", "<user@example.org>", SMTP_PATH_REVERSE, SMTP_ADDR_OK,
		    "user@example.org", "" },
		{ "null reverse path", "<>", SMTP_PATH_REVERSE, SMTP_ADDR_OK, "", "" },
		{ "null path not a forward path", "<>", SMTP_PATH_FORWARD, SMTP_ADDR_SYNTAX, NULL, NULL },
		{ "params after path", "<a@b.c> SIZE=100 BODY=8BITMIME", SMTP_PATH_REVERSE,
		    SMTP_ADDR_OK, "a@b.c", "SIZE=100 BODY=8BITMIME" },
		{ "garbage right after >", "<a@b.c>x", SMTP_PATH_REVERSE, SMTP_ADDR_SYNTAX, NULL, NULL },
		{ "no brackets", "a@b.c", SMTP_PATH_REVERSE, SMTP_ADDR_SYNTAX, NULL, NULL },
		{ "unclosed", "<a@b.c", SMTP_PATH_REVERSE, SMTP_ADDR_SYNTAX, NULL, NULL },
		{ "dotted local", "<first.last@b.c>", SMTP_PATH_FORWARD, SMTP_ADDR_OK,
		    "first.last@b.c", "" },
		{ "double dot", "<a..b@b.c>", SMTP_PATH_REVERSE, SMTP_ADDR_SYNTAX, NULL, NULL },
		{ "leading dot", "<.a@b.c>", SMTP_PATH_REVERSE, SMTP_ADDR_SYNTAX, NULL, NULL },
		{ "trailing dot", "<a.@b.c>", SMTP_PATH_REVERSE, SMTP_ADDR_SYNTAX, NULL, NULL },
		{ "quoted local part", "<\"john doe\"@b.c>", SMTP_PATH_REVERSE, SMTP_ADDR_OK,
		    "\"john doe\"@b.c", "" },
		{ "no domain", "<user>", SMTP_PATH_REVERSE, SMTP_ADDR_NO_DOMAIN, NULL, NULL },
		{ "postmaster without domain (RFC 5321 4.5.1)", "<Postmaster>", SMTP_PATH_FORWARD,
		    SMTP_ADDR_OK, "postmaster", "" },
		{ "domain with trailing dot", "<a@b.c.>", SMTP_PATH_REVERSE, SMTP_ADDR_BAD_DOMAIN, NULL, NULL },
		{ "domain label ending in -", "<a@b-.c>", SMTP_PATH_REVERSE, SMTP_ADDR_BAD_DOMAIN, NULL, NULL },
		{ "domain with underscore", "<a@b_c.d>", SMTP_PATH_REVERSE, SMTP_ADDR_BAD_DOMAIN, NULL, NULL },
		{ "address literal v4", "<a@[192.0.2.1]>", SMTP_PATH_REVERSE, SMTP_ADDR_OK,
		    "a@[192.0.2.1]", "" },
		{ "address literal v6", "<a@[IPv6:2001:db8::1]>", SMTP_PATH_REVERSE, SMTP_ADDR_OK,
		    "a@[IPv6:2001:db8::1]", "" },
		{ "bad address literal", "<a@[300.0.0.1]>", SMTP_PATH_REVERSE, SMTP_ADDR_BAD_DOMAIN,
		    NULL, NULL },
		{ "two @", "<check@localhost@evil.example>", SMTP_PATH_FORWARD, SMTP_ADDR_SYNTAX,
		    NULL, NULL },
		/* the relay tricks */
		{ "source route", "<@relay.example:check@localhost>", SMTP_PATH_FORWARD,
		    SMTP_ADDR_SOURCE_ROUTE, NULL, NULL },
		{ "source route of two hops", "<@a.example,@b.example:u@c.example>",
		    SMTP_PATH_REVERSE, SMTP_ADDR_SOURCE_ROUTE, NULL, NULL },
		{ "percent hack", "<user%evil.example@localhost>", SMTP_PATH_FORWARD,
		    SMTP_ADDR_PERCENT, NULL, NULL },
		{ "percent hack with a tag", "<check+x%evil.example@localhost>", SMTP_PATH_FORWARD,
		    SMTP_ADDR_PERCENT, NULL, NULL },
		{ "bang path", "<evil.example!user@localhost>", SMTP_PATH_FORWARD,
		    SMTP_ADDR_BANG, NULL, NULL },
		{ "quoted local part with @", "<\"user@evil.example\"@localhost>", SMTP_PATH_FORWARD,
		    SMTP_ADDR_QUOTED_AT, NULL, NULL },
		{ "quoted local part with escaped @", "<\"user\\@evil.example\"@localhost>",
		    SMTP_PATH_FORWARD, SMTP_ADDR_QUOTED_AT, NULL, NULL },
		{ "quoted percent", "<\"a%b\"@localhost>", SMTP_PATH_FORWARD, SMTP_ADDR_PERCENT, NULL, NULL },
		{ "percent is fine in a sender", "<a%b@c.d>", SMTP_PATH_REVERSE, SMTP_ADDR_OK, "a%b@c.d", "" },
		/* lengths: RFC 5321 4.5.3.1.1-3 */
		{ "local part of 65", "<aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@b.c>",
		    SMTP_PATH_REVERSE, SMTP_ADDR_TOO_LONG, NULL, NULL },
		{ "local part of 64", "<aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@b.c>",
		    SMTP_PATH_REVERSE, SMTP_ADDR_OK,
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@b.c", "" },
		/* UTF-8 (RFC 6531) */
		{ "UTF-8 local part", "<\xc3\xa9l\xc3\xa8ve@b.c>", SMTP_PATH_REVERSE, SMTP_ADDR_OK,
		    "\xc3\xa9l\xc3\xa8ve@b.c", "" },
		{ "broken UTF-8", "<\xc3z@b.c>", SMTP_PATH_REVERSE, SMTP_ADDR_BAD_UTF8, NULL, NULL },
		{ "overlong UTF-8", "<\xc0\xaf@b.c>", SMTP_PATH_REVERSE, SMTP_ADDR_BAD_UTF8, NULL, NULL },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct smtp_path p;
		enum smtp_addr_err e = smtp_path_parse(cases[i].arg, cases[i].flags, &p);

		T_EQ_STR(smtp_addr_err_text(e), smtp_addr_err_text(cases[i].err), cases[i].label);
		if (cases[i].addr && e == SMTP_ADDR_OK) {
			T_EQ_STR(p.addr, cases[i].addr, cases[i].label);
			T_EQ_STR(p.params, cases[i].params, cases[i].label);
		}
	}
	{
		struct smtp_path p;
		char arg[600];

		/* a path of 257 octets with "<>": 64 + 1 + 190 = 255 inside */
		memset(arg, 0, sizeof(arg));
		arg[0] = '<';
		memset(arg + 1, 'a', 64);
		arg[65] = '@';
		for (i = 66; i < 66 + 190; i++)
			arg[i] = (i - 66) % 60 == 59 ? '.' : 'b';
		arg[256] = '>';
		T_EQ_INT(smtp_path_parse(arg, SMTP_PATH_REVERSE, &p), SMTP_ADDR_TOO_LONG,
		    "path of 257 octets");
		arg[255] = '>';
		arg[256] = '\0';
		T_EQ_INT(smtp_path_parse(arg, SMTP_PATH_REVERSE, &p), SMTP_ADDR_OK,
		    "path of 256 octets");
		T_EQ_INT(p.utf8, 0, "ASCII path");
		T_EQ_INT(smtp_path_parse("<\xc3\xa9@b.c>", SMTP_PATH_REVERSE, &p), SMTP_ADDR_OK,
		    "utf8 flag");
		T_EQ_INT(p.utf8, 1, "utf8 flag set");
		T_EQ_INT(smtp_path_parse("<>", SMTP_PATH_REVERSE, &p), SMTP_ADDR_OK, "null");
		T_EQ_INT(p.null, 1, "null flag");
	}
}

static void
test_params(void)
{
	static const struct {
		const char	*label, *params;
		enum smtp_param_err err;
		long long	 size;
		int		 body8, utf8;
	} cases[] = {
		{ "none", "", SMTP_PARAM_OK, -1, 0, 0 },
		{ "SIZE", "SIZE=12345", SMTP_PARAM_OK, 12345, 0, 0 },
		{ "all three", "size=1 BODY=8bitmime SMTPUTF8", SMTP_PARAM_OK, 1, 1, 1 },
		{ "BODY=7BIT", "BODY=7BIT", SMTP_PARAM_OK, -1, 0, 0 },
		{ "BODY=BINARYMIME not offered", "BODY=BINARYMIME", SMTP_PARAM_BAD_VALUE, 0, 0, 0 },
		{ "SIZE not a number", "SIZE=12a", SMTP_PARAM_BAD_VALUE, 0, 0, 0 },
		{ "SIZE without value", "SIZE", SMTP_PARAM_BAD_VALUE, 0, 0, 0 },
		{ "SIZE of 21 digits", "SIZE=123456789012345678901", SMTP_PARAM_BAD_VALUE, 0, 0, 0 },
		{ "SIZE past LLONG_MAX", "SIZE=99999999999999999999", SMTP_PARAM_OK, -2, 0, 0 },
		{ "SMTPUTF8 with value", "SMTPUTF8=yes", SMTP_PARAM_BAD_VALUE, 0, 0, 0 },
		{ "duplicate", "SIZE=1 SIZE=2", SMTP_PARAM_DUPLICATE, 0, 0, 0 },
		{ "unknown", "AUTH=<>", SMTP_PARAM_UNKNOWN, 0, 0, 0 },
		{ "RET of DSN not offered", "RET=FULL", SMTP_PARAM_UNKNOWN, 0, 0, 0 },
		{ "bad keyword", "-X=1", SMTP_PARAM_SYNTAX, 0, 0, 0 },
		{ "empty value", "SIZE=", SMTP_PARAM_SYNTAX, 0, 0, 0 },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct smtp_mail_params mp;
		enum smtp_param_err e = smtp_mail_params_parse(cases[i].params, &mp);

		T_EQ_INT(e, cases[i].err, cases[i].label);
		if (e == SMTP_PARAM_OK) {
			T_EQ_INT(mp.size, cases[i].size, cases[i].label);
			T_EQ_INT(mp.body8, cases[i].body8, cases[i].label);
			T_EQ_INT(mp.smtputf8, cases[i].utf8, cases[i].label);
		}
	}
}

static void
test_check_address(void)
{
	struct config_list l = { 2, { "check@mailtest.example", "dkim@Other.Example" } };
	static const struct {
		const char	*label, *addr, *sep;
		int		 want;
		const char	*tag;
	} cases[] = {
		{ "exact", "check@mailtest.example", "+", 0, "" },
		{ "case ignored", "CHECK@MailTest.Example", "+", 0, "" },
		{ "second address", "dkim@other.example", "+", 1, "" },
		{ "tag", "check+json@mailtest.example", "+", 0, "json" },
		{ "tag keeps its case", "check+JSON@mailtest.example", "+", 0, "JSON" },
		{ "other separator", "check-json@mailtest.example", "-", 0, "json" },
		{ "tags off", "check+json@mailtest.example", "", -1, "" },
		{ "empty tag", "check+@mailtest.example", "+", -1, "" },
		{ "tag with bad characters", "check+a/b@mailtest.example", "+", -1, "" },
		{ "tag of 33", "check+aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@mailtest.example", "+", -1, "" },
		{ "other domain (relay)", "check@evil.example", "+", -1, "" },
		{ "subdomain is not the domain", "check@sub.mailtest.example", "+", -1, "" },
		{ "other user", "someone@mailtest.example", "+", -1, "" },
		{ "prefix is not the user", "checker@mailtest.example", "+", -1, "" },
		{ "postmaster", "postmaster", "+", -1, "" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		char tag[SMTP_MAX_TAG + 1];

		T_EQ_INT(smtp_check_address(&l, cases[i].sep, cases[i].addr, tag, sizeof(tag)),
		    cases[i].want, cases[i].label);
		T_EQ_STR(tag, cases[i].tag, cases[i].label);
	}
}

static void
test_helo(void)
{
	T_EQ_INT(smtp_helo_valid("mail.example.org"), 1, "name");
	T_EQ_INT(smtp_helo_valid("[192.0.2.1]"), 1, "literal");
	T_EQ_INT(smtp_helo_valid(""), 0, "empty");
	T_EQ_INT(smtp_helo_valid("a b"), 0, "space");
	T_EQ_INT(smtp_helo_valid("a\x01"), 0, "control");
	T_EQ_INT(smtp_helo_valid("\xc3\xa9"), 0, "8-bit");
}

int
main(void)
{
	test_cmd();
	test_path();
	test_params();
	test_check_address();
	test_helo();
	return t_done("test_smtp_parse");
}
