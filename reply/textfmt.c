/* textfmt.c - see textfmt.h */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "textfmt.h"

/*
 * Decode one UTF-8 sequence at p (n bytes left): the code point, or -1 for
 * an invalid sequence (overlong, surrogate, > U+10FFFF, truncated), and its
 * length in *len (1 for an invalid byte).
 */
static long
utf8_decode(const unsigned char *p, size_t n, size_t *len)
{
	long cp;
	size_t k;

	*len = 1;
	if (p[0] < 0x80)
		return p[0];
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		k = 1;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		k = 2;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		k = 3;
		cp = p[0] & 0x07;
	} else
		return -1;
	if (k >= n)
		return -1;
	for (size_t i = 1; i <= k; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*len = k + 1;
	return cp;
}

static int
is_bidi_control(long cp)
{
	return cp == 0x061c || cp == 0x200e || cp == 0x200f ||
	    (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

char *
textfmt_clean(const char *s, size_t max, int keep_space)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p), len, cut = 0;
	struct sbuf b;

	if (max < 4)
		max = 4;
	sbuf_init(&b, 0);
	while (n > 0 && b.len <= max) {
		long cp = utf8_decode(p, n, &len);

		if (b.len + 3 <= max)
			cut = b.len;	/* last boundary that leaves room for "..." */
		if (cp < 0)
			sbuf_adds(&b, "\xef\xbf\xbd");
		else if (cp == '\t' || cp == '\r' || cp == '\n')
			sbuf_addc(&b, keep_space ? ' ' : '?');
		else if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) ||
		    is_bidi_control(cp))
			sbuf_addc(&b, '?');
		else
			sbuf_add(&b, p, len);
		p += len;
		n -= len;
	}
	if (b.len > max) {
		b.len = cut;
		sbuf_adds(&b, "...");
	}
	return sbuf_steal(&b);
}

size_t
textfmt_cols(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* Bytes of the longest prefix of s[0..len) that fits in cols columns. */
static size_t
prefix_fitting(const char *s, size_t len, size_t cols)
{
	size_t i = 0, c = 0;

	while (i < len) {
		size_t j = i + 1;

		while (j < len && ((unsigned char)s[j] & 0xc0) == 0x80)
			j++;
		if (c + 1 > cols)
			break;
		c++;
		i = j;
	}
	return i;
}

static size_t
span_cols(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

void
textfmt_wrap(struct sbuf *b, size_t col, const char *indent, const char *s,
    size_t width)
{
	char *clean = textfmt_clean(s, TEXTFMT_MAX_VALUE, 1);
	size_t icols = textfmt_cols(indent), cur = col;
	const char *p = clean;
	int line_empty = 1;

	while (*p) {
		const char *sp = p, *w;
		size_t scols, wlen, wcols;

		while (*p == ' ')
			p++;
		w = p;
		while (*p && *p != ' ')
			p++;
		wlen = (size_t)(p - w);
		if (wlen == 0)
			break;
		scols = (size_t)(w - sp);
		wcols = span_cols(w, wlen);
		if (!line_empty && cur + scols + wcols <= width) {
			sbuf_add(b, sp, scols);
			cur += scols;
		} else if (!line_empty || cur + wcols > width) {
			if (!line_empty || cur > icols) {
				sbuf_addc(b, '\n');
				sbuf_adds(b, indent);
				cur = icols;
			}
		}
		/* the word, cut where it does not fit on a line of its own */
		while (wlen > 0) {
			size_t room = width > cur ? width - cur : 1;
			size_t take = prefix_fitting(w, wlen, room);

			if (take == 0)
				take = prefix_fitting(w, wlen, 1);
			sbuf_add(b, w, take);
			cur += span_cols(w, take);
			w += take;
			wlen -= take;
			if (wlen > 0) {
				sbuf_addc(b, '\n');
				sbuf_adds(b, indent);
				cur = icols;
			}
		}
		line_empty = 0;
	}
	sbuf_addc(b, '\n');
	free(clean);
}

void
textfmt_html(struct sbuf *b, const char *s)
{
	char *clean = textfmt_clean(s, TEXTFMT_MAX_VALUE, 1);

	for (const char *p = clean; *p; p++) {
		switch (*p) {
		case '&': sbuf_adds(b, "&amp;"); break;
		case '<': sbuf_adds(b, "&lt;"); break;
		case '>': sbuf_adds(b, "&gt;"); break;
		case '"': sbuf_adds(b, "&quot;"); break;
		case '\'': sbuf_adds(b, "&#39;"); break;
		default: sbuf_addc(b, *p); break;
		}
	}
	free(clean);
}
