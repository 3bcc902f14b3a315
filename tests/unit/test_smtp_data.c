/*
 * test_smtp_data - smtpd/smtp_data.c: the end of DATA and dot-unstuffing,
 * fed every way a read can split the input (whole, each 2- and 3-way split,
 * one octet at a time), and the smuggling sequences of the SMTP smuggling
 * research (bare LF / bare CR / NUL around a ".").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../smtpd/smtp_data.h"
#include "t.h"

struct result {
	char		 out[4096];
	size_t		 outlen;
	size_t		 consumed;	/* octets that belonged to the message */
	int		 done;
	unsigned	 flags;
};

/* Feed in pieces at the cut points; stop at the end of the message. */
static void
run(const char *in, size_t len, const size_t *cuts, size_t ncuts, int normalize,
    size_t max_size, size_t max_line, struct result *r)
{
	struct sbuf out;
	struct smtp_data d;
	size_t pos = 0, c;

	sbuf_init(&out, 0);
	smtp_data_init(&d, &out, max_size, max_line, normalize);
	r->consumed = 0;
	for (c = 0; c <= ncuts && !d.done; c++) {
		size_t end = c < ncuts ? cuts[c] : len;
		size_t used;

		if (end < pos)
			continue;
		used = smtp_data_feed(&d, in + pos, end - pos);
		r->consumed += used;
		if (!d.done && used != end - pos)
			fprintf(stderr, "feed stopped early without end\n");
		pos = end;
	}
	r->done = d.done;
	r->flags = d.flags;
	r->outlen = out.len;
	if (out.len >= sizeof(r->out))
		r->outlen = sizeof(r->out) - 1;
	memcpy(r->out, sbuf_str(&out), r->outlen);
	r->out[r->outlen] = '\0';
	sbuf_free(&out);
}

static int
same(const struct result *a, const struct result *b)
{
	return a->done == b->done && a->flags == b->flags && a->consumed == b->consumed &&
	    a->outlen == b->outlen && memcmp(a->out, b->out, a->outlen) == 0;
}

/* Every 1-, 2- and 3-way split and the octet-at-a-time split agree. */
static int
splits_agree(const char *in, size_t len, int normalize, const struct result *whole)
{
	struct result r;
	size_t cuts[4096], i, j;

	for (i = 0; i <= len; i++) {
		cuts[0] = i;
		run(in, len, cuts, 1, normalize, 1 << 20, 1000, &r);
		if (!same(&r, whole))
			return 0;
		for (j = i; j <= len; j++) {
			cuts[1] = j;
			run(in, len, cuts, 2, normalize, 1 << 20, 1000, &r);
			if (!same(&r, whole))
				return 0;
		}
	}
	for (i = 0; i < len && i < ARRAY_SIZE(cuts); i++)
		cuts[i] = i + 1;
	run(in, len, cuts, i, normalize, 1 << 20, 1000, &r);
	return same(&r, whole);
}

struct dcase {
	const char	*label;
	const char	*in;
	size_t		 len;		/* 0 = strlen */
	int		 normalize;
	int		 done;
	const char	*out;		/* expected content */
	size_t		 consumed;	/* 0 = the whole input */
	unsigned	 flags;
};

#define S(x)	x, sizeof(x) - 1

int
main(void)
{
	static const struct dcase cases[] = {
		{ "plain", S("Subject: a\r\n\r\nbody\r\n.\r\n"), 0, 1,
		    "Subject: a\r\n\r\nbody\r\n", 0, 0 },
		{ "empty message: the DATA line's CRLF counts", S(".\r\n"), 0, 1, "", 0, 0 },
		{ "dot-stuffed lines lose one dot", S("..a\r\n...\r\n..\r\n.\r\n"), 0, 1,
		    ".a\r\n..\r\n.\r\n", 0, 0 },
		{ "pipelined command after the end is not consumed",
		    S("x\r\n.\r\nQUIT\r\n"), 0, 1, "x\r\n", 6, 0 },
		{ "no end yet", S("x\r\n.\r"), 0, 0, "x\r\n", 0, 0 },
		{ "dot in the middle of a line", S("a.b\r\n.\r\n"), 0, 1, "a.b\r\n", 0, 0 },
		{ "dot then space is stuffing", S(". \r\n.\r\n"), 0, 1, " \r\n", 0, 0 },
		/* the smuggling sequences, each followed by a second message */
		{ "smuggling \\n.\\n (reject)",
		    S("a\n.\nMAIL FROM:<x@y>\r\nDATA\r\nb\r\n.\r\n"), 0, 1,
		    "a\n.\nMAIL FROM:<x@y>\r\nDATA\r\nb\r\n", 0, SMTP_DATA_BARE_LF },
		{ "smuggling \\n.\\r\\n (reject)",
		    S("a\n.\r\nMAIL FROM:<x@y>\r\n.\r\n"), 0, 1,
		    "a\n.\r\nMAIL FROM:<x@y>\r\n", 0, SMTP_DATA_BARE_LF },
		{ "smuggling \\r.\\r (reject)",
		    S("a\r.\rMAIL FROM:<x@y>\r\n.\r\n"), 0, 1,
		    "a\r.\rMAIL FROM:<x@y>\r\n", 0, SMTP_DATA_BARE_CR },
		{ "smuggling \\r.\\n (reject)",
		    S("a\r.\nMAIL FROM:<x@y>\r\n.\r\n"), 0, 1,
		    "a\r.\nMAIL FROM:<x@y>\r\n", 0, SMTP_DATA_BARE_CR | SMTP_DATA_BARE_LF },
		{ "smuggling \\r\\n\\0.\\r\\n",
		    S("a\r\n\0.\r\nMAIL FROM:<x@y>\r\n.\r\n"), 0, 1,
		    NULL, 0, SMTP_DATA_NUL },
		{ "smuggling \\r\\n.\\r (bare CR after the dot)",
		    S("a\r\n.\rMAIL FROM:<x@y>\r\n.\r\n"), 0, 1,
		    "a\r\n.\rMAIL FROM:<x@y>\r\n", 0, SMTP_DATA_BARE_CR },
		{ "smuggling \\r\\n.\\n",
		    S("a\r\n.\nMAIL FROM:<x@y>\r\n.\r\n"), 0, 1,
		    "a\r\n.\nMAIL FROM:<x@y>\r\n", 0, SMTP_DATA_BARE_LF },
		/* normalize: bare endings become CRLF, a "." after one stays */
		{ "normalize \\n.\\n",
		    S("a\n.\nMAIL FROM:<x@y>\r\nb\r\n.\r\n"), 1, 1,
		    "a\r\n.\r\nMAIL FROM:<x@y>\r\nb\r\n", 0, SMTP_DATA_BARE_LF },
		{ "normalize \\n.\\r\\n",
		    S("a\n.\r\nb\r\n.\r\n"), 1, 1, "a\r\n.\r\nb\r\n", 0, SMTP_DATA_BARE_LF },
		{ "normalize \\r.\\r",
		    S("a\r.\rb\r\n.\r\n"), 1, 1, "a\r\n.\r\nb\r\n", 0, SMTP_DATA_BARE_CR },
		{ "normalize \\r.\\n",
		    S("a\r.\nb\r\n.\r\n"), 1, 1, "a\r\n.\r\nb\r\n", 0,
		    SMTP_DATA_BARE_CR | SMTP_DATA_BARE_LF },
		{ "normalize keeps unstuffing after a bare LF",
		    S("a\n..b\r\n.\r\n"), 1, 1, "a\r\n.b\r\n", 0, SMTP_DATA_BARE_LF },
		{ "normalize: CR CR LF", S("a\r\r\nb\r\n.\r\n"), 1, 1,
		    "a\r\n\r\nb\r\n", 0, SMTP_DATA_BARE_CR },
		{ "8-bit octets pass", S("\xc3\xa9t\xc3\xa9\r\n.\r\n"), 0, 1,
		    "\xc3\xa9t\xc3\xa9\r\n", 0, 0 },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct dcase *c = &cases[i];
		struct result r;

		run(c->in, c->len, NULL, 0, c->normalize, 1 << 20, 1000, &r);
		T_EQ_INT(r.done, c->done, c->label);
		T_EQ_INT(r.flags, c->flags, c->label);
		T_EQ_INT(r.consumed, c->consumed ? c->consumed : c->len, c->label);
		if (c->out)
			T_EQ_STR(r.out, c->out, c->label);
		T_OK(splits_agree(c->in, c->len, c->normalize, &r), c->label);
	}

	/* The NUL case: content kept with the NUL, the second message inside */
	{
		static const char in[] = "a\r\n\0.\r\nMAIL FROM:<x@y>\r\n.\r\n";
		struct result r;

		run(in, sizeof(in) - 1, NULL, 0, 0, 1 << 20, 1000, &r);
		T_EQ_INT(r.outlen, sizeof(in) - 1 - 3, "NUL: everything before .CRLF is content");
		T_OK(memmem(r.out, r.outlen, "MAIL FROM", 9) != NULL, "NUL: smuggled text is content");
	}

	/* Limits: size and line length */
	{
		static const char in[] = "0123456789\r\n0123456789\r\n.\r\n";
		struct result r;

		run(in, sizeof(in) - 1, NULL, 0, 0, 12, 1000, &r);
		T_EQ_INT(r.done, 1, "too big: the end is still found");
		T_EQ_INT(r.flags, SMTP_DATA_TOO_BIG, "too big: flagged");
		T_EQ_STR(r.out, "0123456789\r\n", "too big: nothing kept past max_size");
		run(in, sizeof(in) - 1, NULL, 0, 0, 1 << 20, 12, &r);
		T_EQ_INT(r.flags, 0, "line of exactly max_line octets is fine");
		run(in, sizeof(in) - 1, NULL, 0, 0, 1 << 20, 11, &r);
		T_EQ_INT(r.flags, SMTP_DATA_LONG_LINE, "line of max_line + 1 octets");
		run("..3456789\r\n.\r\n", 14, NULL, 0, 0, 1 << 20, 11, &r);
		T_EQ_INT(r.flags, 0, "the stuffing dot counts on the wire: 11 octets");
		run("..34567890\r\n.\r\n", 15, NULL, 0, 0, 1 << 20, 11, &r);
		T_EQ_INT(r.flags, SMTP_DATA_LONG_LINE, "stuffed line of 12 wire octets");
	}

	/* Received: counting stops at the end of the header section */
	{
		static const char m[] = "Received: a\r\nreceived: b\r\nX: y\r\n"
		    "Received: c\r\n\r\nReceived: in the body\r\n";

		T_EQ_INT(smtp_data_count_received(m, sizeof(m) - 1), 3, "three in the header");
		T_EQ_INT(smtp_data_count_received("\r\nReceived: x\r\n", 15), 0, "none");
	}
	return t_done("test_smtp_data");
}
