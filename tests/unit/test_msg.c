/* test_msg - common/msg.c: header splitting and RFC 5322 address lists */
#include <stdlib.h>
#include <string.h>

#include "../../common/msg.h"
#include "../../common/util.h"
#include "t.h"

static void
test_split(void)
{
	static const char m1[] = "From: a@example.com\r\nSubject: hi\r\n  there\r\n"
	    "To: b@example.net\r\n\r\nbody\r\n";
	static const char m2[] = "From: a@example.com\nSubject: x\n\nbody\n";
	struct msg m;
	char *v;

	T_EQ_INT(msg_parse(&m, m1, sizeof(m1) - 1, NULL), 0, "crlf parse");
	T_EQ_INT(m.nf, 3, "crlf fields");
	T_EQ_INT(m.has_separator, 1, "separator");
	T_EQ_INT(m.bare_lf, 0, "no bare lf");
	T_EQ_STR(m.buf + m.body_off, "body\r\n", "body offset");
	v = msg_get_value(&m, "subject");
	T_EQ_STR(v, "hi  there", "unfolded subject (case-insensitive name)");
	free(v);
	T_EQ_INT(msg_count(&m, "FROM"), 1, "count");
	msg_free(&m);

	T_EQ_INT(msg_parse(&m, m2, sizeof(m2) - 1, NULL), 0, "lf parse");
	T_EQ_INT(m.bare_lf, 1, "bare lf noticed");
	T_EQ_INT(m.nf, 2, "lf fields");
	msg_free(&m);
}

static void
test_errors(void)
{
	static const struct { const char *label, *msg; size_t len; } bad[] = {
		{ "no colon", "From a@example.com\r\n\r\n", 0 },
		{ "leading continuation", " x\r\nFrom: a@b\r\n\r\n", 0 },
		{ "empty", "", 0 },
		{ "space in name", "Fr om: a@b\r\n\r\n", 0 },
		{ "NUL in header", "From: a\0b@c\r\n\r\n", 15 },
		{ "no separator, body-like line", "From: a@b\r\nhello world\r\n", 0 },
	};
	struct msg m;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		size_t n = bad[i].len ? bad[i].len : strlen(bad[i].msg);

		T_EQ_INT(msg_parse(&m, bad[i].msg, n, NULL), -1, bad[i].label);
		T_OK(m.error[0] != '\0', bad[i].label);
		msg_free(&m);
	}
	/* header only, no body: fine */
	T_EQ_INT(msg_parse(&m, "From: a@b\r\n", 11, NULL), 0, "header only");
	T_EQ_INT(m.has_separator, 0, "no separator");
	msg_free(&m);
	/* mbox From_ line tolerated */
	T_EQ_INT(msg_parse(&m, "From x Mon\nFrom: a@b\n\nx", 23, NULL), 0, "mbox line");
	msg_free(&m);
}

static void
test_limits(void)
{
	struct msg_limits lim = { .max_header_bytes = 100, .max_fields = 3 };
	struct sbuf b;
	struct msg m;

	sbuf_init(&b, 0);
	for (int i = 0; i < 4; i++)
		sbuf_printf(&b, "X-%d: v\r\n", i);
	sbuf_adds(&b, "\r\n");
	T_EQ_INT(msg_parse(&m, b.s, b.len, &lim), -1, "too many fields");
	T_OK(strstr(m.error, "more than 3") != NULL, "field limit message");
	msg_free(&m);
	sbuf_reset(&b);
	sbuf_adds(&b, "X: ");
	for (int i = 0; i < 200; i++)
		sbuf_addc(&b, 'a');
	sbuf_adds(&b, "\r\n\r\n");
	T_EQ_INT(msg_parse(&m, b.s, b.len, &lim), -1, "header too big");
	T_OK(strstr(m.error, "larger than 100") != NULL, "size limit message");
	msg_free(&m);
	sbuf_free(&b);
}

static void
test_addrs(void)
{
	static const struct {
		const char *in;
		int rc;
		size_t n;
		const char *addr0, *domain0, *display0;
	} cases[] = {
		{ "a@example.com", 0, 1, "a@example.com", "example.com", NULL },
		{ "Joe <joe@Example.COM>", 0, 1, "joe@example.com", "example.com", "Joe" },
		{ "\"Test, User\" <t@example.com>", 0, 1, "t@example.com", "example.com", "Test, User" },
		{ "\"q@x\"@example.com", 0, 1, "q@x@example.com", "example.com", NULL },
		{ "a@b.example, c@d.example", 0, 2, "a@b.example", "b.example", NULL },
		{ "(comment) a@example.com (another)", 0, 1, "a@example.com", "example.com", NULL },
		{ "group: a@x.example, b@y.example;", 0, 2, "a@x.example", "x.example", NULL },
		{ "undisclosed-recipients:;", 0, 0, NULL, NULL, NULL },
		{ "Joe Q. Public <john.q.public@example.com>", 0, 1,
		    "john.q.public@example.com", "example.com", "Joe Q. Public" },
		{ "", 0, 0, NULL, NULL, NULL },
		{ "no-at-sign", -1, 0, NULL, NULL, NULL },
		{ "<@route.example:a@b.example>", -1, 0, NULL, NULL, NULL },
		{ "a@", -1, 0, NULL, NULL, NULL },
		{ "\"unterminated@example.com", -1, 0, NULL, NULL, NULL },
		{ "Joe <joe@example.com", -1, 0, NULL, NULL, NULL },
		{ "a@b.example junk", -1, 0, NULL, NULL, NULL },
		{ "(unterminated a@b.example", -1, 0, NULL, NULL, NULL },
		/*
		 * fuzz_msg regressions (tests/fuzz/corpus/msg/regress-*, seed-*):
		 * an unterminated comment after a complete mailbox leaked the
		 * mailbox (LeakSanitizer in make check-san, valgrind pass);
		 * CR/LF of a fold inside a domain literal or after a backslash
		 * in a quoted string stayed in the address.
		 */
		{ "b@[xy](", -1, 0, NULL, NULL, NULL },
		{ "Joe <joe@example.com> (open", -1, 0, NULL, NULL, NULL },
		{ "a@example.com, b@example.com (open", -1, 0, NULL, NULL, NULL },
		{ "x@[a\r\n b]", 0, 1, "x@[a b]", "[a b]", NULL },
		{ "\"a\\\r\n b\"@example.com", 0, 1, "a b@example.com", "example.com", NULL },
		{ "\"J\\\r\n oe\" <j@example.com>", 0, 1, "j@example.com", "example.com", "J oe" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct msg_addr *a;
		size_t n;
		char err[128], label[160];
		int rc = msg_addrs_parse(cases[i].in, &a, &n, err, sizeof(err));

		snprintf(label, sizeof(label), "addr \"%s\"", cases[i].in);
		T_EQ_INT(rc, cases[i].rc, label);
		if (rc == 0) {
			T_EQ_INT(n, cases[i].n, label);
			if (n > 0) {
				T_EQ_STR(a[0].addr, cases[i].addr0, label);
				T_EQ_STR(a[0].domain, cases[i].domain0, label);
				T_EQ_STR(a[0].display, cases[i].display0, label);
			}
		} else
			T_OK(err[0] != '\0', label);
		msg_addrs_free(a, n);
	}
}

int
main(void)
{
	test_split();
	test_errors();
	test_limits();
	test_addrs();
	return t_done("test_msg");
}
