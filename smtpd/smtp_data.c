/* smtp_data.c - see smtp_data.h */
#include <string.h>

#include "smtp_data.h"

enum {
	D_BOL,		/* at the beginning of a line */
	D_DOT,		/* "." at the beginning of a line */
	D_DOT_CR,	/* ".<CR>" at the beginning of a line */
	D_TEXT,		/* inside a line */
	D_CR		/* <CR> inside a line (or at its beginning) */
};

void
smtp_data_init(struct smtp_data *d, struct sbuf *out, size_t max_size,
    size_t max_line, int normalize)
{
	memset(d, 0, sizeof(*d));
	d->out = out;
	d->max_size = max_size;
	d->max_line = max_line;
	d->normalize = normalize;
	d->state = D_BOL;
	d->bol_crlf = 1;	/* the CRLF of the DATA command line */
}

static void
emit(struct smtp_data *d, const char *p, size_t n)
{
	if (d->size + n > d->max_size || (d->flags & SMTP_DATA_TOO_BIG)) {
		d->flags |= SMTP_DATA_TOO_BIG;
		d->size += n;
		return;
	}
	d->size += n;
	sbuf_add(d->out, p, n);
}

/* A line ended: with CRLF (crlf = 1) or a bare CR/LF (crlf = 0). */
static void
end_line(struct smtp_data *d, int crlf, unsigned bare)
{
	if (!crlf)
		d->flags |= bare;
	/* line_len counts the octets before the line end; +2 for CRLF */
	if (d->line_len + 2 > d->max_line)
		d->flags |= SMTP_DATA_LONG_LINE;
	if (crlf || d->normalize)
		emit(d, "\r\n", 2);
	else
		emit(d, bare == SMTP_DATA_BARE_LF ? "\n" : "\r", 1);
	d->line_len = 0;
	d->bol_crlf = crlf;
	d->state = D_BOL;
}

/* One octet in D_TEXT (also the first octet of a line that is not "."). */
static void
text_octet(struct smtp_data *d, char c)
{
	if (c == '\r') {
		d->state = D_CR;
		return;
	}
	if (c == '\n') {
		end_line(d, 0, SMTP_DATA_BARE_LF);
		return;
	}
	if (c == '\0')
		d->flags |= SMTP_DATA_NUL;
	d->line_len++;
	emit(d, &c, 1);
	d->state = D_TEXT;
}

/* Copy a run of ordinary octets in D_TEXT at once; returns octets used. */
static size_t
text_run(struct smtp_data *d, const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && p[i] != '\r' && p[i] != '\n' && p[i] != '\0')
		i++;
	if (i) {
		d->line_len += i;
		emit(d, p, i);
	}
	return i;
}

static void
step(struct smtp_data *d, char c)
{
	switch (d->state) {
	case D_BOL:
		if (c == '.') {
			d->line_len = 1;
			d->state = D_DOT;
		} else
			text_octet(d, c);
		break;
	case D_DOT:
		if (c == '\r' && d->bol_crlf) {
			d->state = D_DOT_CR;
		} else if (c == '\r' || c == '\n') {
			/* "." alone after a bare line end: content, not the end */
			emit(d, ".", 1);
			text_octet(d, c);
		} else {
			/* RFC 5321 4.5.2: the leading "." of a stuffed line goes */
			text_octet(d, c);
		}
		break;
	case D_DOT_CR:
		if (c == '\n') {
			d->done = 1;
			break;
		}
		/* ".<CR>x": the CR is bare; the "." stays content */
		emit(d, ".", 1);
		end_line(d, 0, SMTP_DATA_BARE_CR);
		step(d, c);
		break;
	case D_TEXT:
		text_octet(d, c);
		break;
	case D_CR:
		if (c == '\n') {
			end_line(d, 1, 0);
			break;
		}
		end_line(d, 0, SMTP_DATA_BARE_CR);
		step(d, c);
		break;
	}
}

size_t
smtp_data_feed(struct smtp_data *d, const char *buf, size_t len)
{
	size_t i = 0;

	while (i < len && !d->done) {
		if (d->state == D_TEXT) {
			size_t n = text_run(d, buf + i, len - i);

			if (n) {
				i += n;
				continue;
			}
		}
		step(d, buf[i++]);
	}
	d->wire += i;
	return i;
}

size_t
smtp_data_count_received(const char *msg, size_t len)
{
	const char *p = msg, *e = msg + len;
	size_t n = 0;

	while (p < e) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(e - p);

		if (l == 0 || (l == 1 && p[0] == '\r'))
			break;	/* the empty line ends the header section */
		if (l >= 9 && str_ncaseeq(p, "Received:", 9))
			n++;
		p += l + 1;
	}
	return n;
}
