/*
 * fuzz_smtp_data - the DATA state machine (smtpd/smtp_data.c): end of
 * message, dot-unstuffing and the smuggling defences, fed the input split
 * at arbitrary points.
 *
 * Input: 4 control bytes (normalize on/off, max_line, max_size, number of
 * cuts), then up to 16 cut positions (2 bytes each, modulo the length),
 * then the octets that follow the DATA command's CRLF.
 *
 * Invariants, against a reference written from RFC 5321 directly (not
 * from the machine's states):
 *  - the message ends exactly at the first ".CRLF" that follows a CRLF (the
 *    DATA command's CRLF counts for the first line, 4.1.1.4): done, and the
 *    octets used are up to and including that ".CRLF"; without one, every
 *    octet is used and done is 0 (SMTP smuggling: a bare LF or CR never
 *    makes a line end for this purpose, RFC 5321 2.3.8);
 *  - BARE_LF / BARE_CR / NUL are set exactly when the content holds an LF
 *    not after a CR, a CR not before an LF, a NUL (reject mode refuses the
 *    message on them);
 *  - the content is the input minus one leading "." on each line that has
 *    more after it (4.5.2), bare CR/LF turned into CRLF in normalize mode;
 *    past max_size nothing more is kept (TOO_BIG) and what was kept is a
 *    prefix of it; LONG_LINE exactly when a line with its end is longer
 *    than max_line;
 *  - splitting the input anywhere changes nothing (same flags, content,
 *    octets used; past max_size only the flags, size and a bounded prefix).
 */
#include <stdlib.h>
#include <string.h>

#include "../../common/util.h"
#include "../../smtpd/smtp_data.h"
#include "fuzz.h"

#define MAX_CUTS	16

struct run {
	struct sbuf	 out;
	struct smtp_data d;
	size_t		 used;
};

static void
feed(struct run *r, const char *p, size_t len, const size_t *cuts, size_t ncuts,
    size_t max_size, size_t max_line, int normalize)
{
	size_t pos = 0;

	sbuf_init(&r->out, 0);
	smtp_data_init(&r->d, &r->out, max_size, max_line, normalize);
	r->used = 0;
	for (size_t c = 0; c <= ncuts && !r->d.done; c++) {
		size_t end = c < ncuts ? cuts[c] : len, u;

		if (end < pos)
			continue;
		u = smtp_data_feed(&r->d, p + pos, end - pos);
		FUZZ_CHECK(u <= end - pos, "used %zu of %zu", u, end - pos);
		FUZZ_CHECK(r->d.done || u == end - pos, "stopped early without the end");
		r->used += u;
		pos = end;
	}
	FUZZ_CHECK(r->d.wire == r->used, "wire %llu, used %zu",
	    (unsigned long long)r->d.wire, r->used);
}

/* The reference: where the message ends (index of the final ".", or len). */
static size_t
ref_end(const char *p, size_t len, int *done)
{
	for (size_t i = 0; i + 3 <= len; i++)
		if ((i == 0 || (i >= 2 && p[i - 2] == '\r' && p[i - 1] == '\n')) &&
		    p[i] == '.' && p[i + 1] == '\r' && p[i + 2] == '\n') {
			*done = 1;
			return i;
		}
	*done = 0;
	return len;
}

/* Is p[i] at the start of a line (after CRLF, a bare LF or a bare CR)? */
static int
ref_bol(const char *p, size_t i)
{
	return i == 0 || p[i - 1] == '\n' || (p[i - 1] == '\r' && p[i] != '\n');
}

/* The content of p[0..n), as RFC 5321 4.5.2 and our normalize mode say. */
static void
ref_content(const char *p, size_t n, int normalize, struct sbuf *out, unsigned *flags,
    size_t max_line)
{
	size_t line = 0;

	*flags = 0;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		int bare_lf = c == '\n' && (i == 0 || p[i - 1] != '\r');
		int bare_cr = c == '\r' && (i + 1 >= n || p[i + 1] != '\n');
		int crlf_lf = c == '\n' && !bare_lf;

		if (c == '.' && ref_bol(p, i) && i + 1 < n && p[i + 1] != '\r' &&
		    p[i + 1] != '\n') {
			line++;		/* the stuffing dot counts on the wire */
			continue;
		}
		if (c == '\0')
			*flags |= SMTP_DATA_NUL;
		if (bare_lf || bare_cr) {
			*flags |= bare_lf ? SMTP_DATA_BARE_LF : SMTP_DATA_BARE_CR;
			if (line + 2 > max_line)
				*flags |= SMTP_DATA_LONG_LINE;
			line = 0;
			if (normalize)
				sbuf_add(out, "\r\n", 2);
			else
				sbuf_add(out, &c, 1);
			continue;
		}
		if (c == '\r')
			continue;	/* the CR of a CRLF: written with its LF */
		if (crlf_lf) {
			if (line + 2 > max_line)
				*flags |= SMTP_DATA_LONG_LINE;
			line = 0;
			sbuf_add(out, "\r\n", 2);
			continue;
		}
		line++;
		sbuf_add(out, &c, 1);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	int normalize = fuzz_byte(&in) & 1;
	size_t max_line = 3 + fuzz_byte(&in) * 4;
	size_t max_size = (size_t)fuzz_byte(&in) * 16;
	size_t ncuts = fuzz_byte(&in) % (MAX_CUTS + 1), cuts[MAX_CUTS];
	unsigned raw[MAX_CUTS], flags;
	const char *p;
	size_t len, end;
	struct run whole, split;
	struct sbuf ref;
	int done;

	if (max_size == 0)
		max_size = 1 << 20;
	for (size_t i = 0; i < ncuts; i++)
		raw[i] = fuzz_byte(&in) << 8 | fuzz_byte(&in);
	p = (const char *)in.p;
	len = in.n;
	for (size_t i = 0; i < ncuts; i++)
		cuts[i] = len ? raw[i] % (len + 1) : 0;
	/* cut points in order (insertion sort: at most 16) */
	for (size_t i = 1; i < ncuts; i++)
		for (size_t j = i; j > 0 && cuts[j - 1] > cuts[j]; j--) {
			size_t t = cuts[j];

			cuts[j] = cuts[j - 1];
			cuts[j - 1] = t;
		}

	feed(&whole, p, len, NULL, 0, max_size, max_line, normalize);
	feed(&split, p, len, cuts, ncuts, max_size, max_line, normalize);

	/* the end of the message */
	end = ref_end(p, len, &done);
	FUZZ_CHECK(whole.d.done == done, "done %d, reference %d", whole.d.done, done);
	FUZZ_CHECK(whole.used == (done ? end + 3 : len), "used %zu, reference %zu",
	    whole.used, done ? end + 3 : len);

	/* flags and content, when the message is complete */
	if (done) {
		unsigned mask = SMTP_DATA_BARE_LF | SMTP_DATA_BARE_CR | SMTP_DATA_NUL |
		    SMTP_DATA_LONG_LINE;

		sbuf_init(&ref, 0);
		ref_content(p, end, normalize, &ref, &flags, max_line);
		FUZZ_CHECK((whole.d.flags & mask) == flags, "flags %#x, reference %#x",
		    whole.d.flags & mask, flags);
		FUZZ_CHECK(whole.d.size == ref.len, "size %llu, reference %zu",
		    (unsigned long long)whole.d.size, ref.len);
		FUZZ_CHECK(!!(whole.d.flags & SMTP_DATA_TOO_BIG) == (ref.len > max_size),
		    "TOO_BIG %d with %zu octets, limit %zu",
		    !!(whole.d.flags & SMTP_DATA_TOO_BIG), ref.len, max_size);
		FUZZ_CHECK(whole.out.len <= ref.len && whole.out.len <= max_size &&
		    memcmp(whole.out.s ? whole.out.s : "", ref.s ? ref.s : "",
		    whole.out.len) == 0, "content is not the reference's prefix");
		FUZZ_CHECK((whole.d.flags & SMTP_DATA_TOO_BIG) || whole.out.len == ref.len,
		    "content %zu octets, reference %zu", whole.out.len, ref.len);
		sbuf_free(&ref);
	}

	/*
	 * any split gives the same; past max_size (TOO_BIG: the message is
	 * refused) the octets kept are only bounded and a prefix: how many
	 * depends on the pieces, and none of them is ever stored
	 */
	FUZZ_CHECK(split.d.done == whole.d.done && split.used == whole.used &&
	    split.d.flags == whole.d.flags && split.d.size == whole.d.size,
	    "a split changed the outcome (%zu cuts)", ncuts);
	if (!(whole.d.flags & SMTP_DATA_TOO_BIG))
		FUZZ_CHECK(split.out.len == whole.out.len &&
		    memcmp(split.out.s ? split.out.s : "", whole.out.s ? whole.out.s : "",
		    whole.out.len) == 0, "a split changed the content (%zu cuts)", ncuts);
	else {
		size_t k = split.out.len < whole.out.len ? split.out.len : whole.out.len;

		FUZZ_CHECK(split.out.len <= max_size && memcmp(split.out.s ? split.out.s : "",
		    whole.out.s ? whole.out.s : "", k) == 0, "kept octets differ past the limit");
	}
	sbuf_free(&whole.out);
	sbuf_free(&split.out);
	return 0;
}
