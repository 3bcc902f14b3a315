/* msg.c - see msg.h */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "util.h"

static int
utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t k;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			k = 1;
		else if (c >= 0xe0 && c <= 0xef)
			k = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			k = 3;
		else
			return 0;
		for (size_t j = 1; j <= k; j++)
			if (i + j >= n || (s[i + j] & 0xc0) != 0x80)
				return 0;
		i += k + 1;
	}
	return 1;
}

/* End of the line starting at p: returns the offset after the EOL. */
static size_t
line_end(const char *buf, size_t len, size_t p, size_t *content_end, int *bare_lf)
{
	const char *nl = memchr(buf + p, '\n', len - p);

	if (nl == NULL) {
		*content_end = len;
		return len;
	}
	*content_end = (size_t)(nl - buf);
	if (*content_end > p && buf[*content_end - 1] == '\r')
		(*content_end)--;
	else
		*bare_lf = 1;
	return (size_t)(nl - buf) + 1;
}

int
msg_parse(struct msg *m, const char *buf, size_t len, const struct msg_limits *lim)
{
	size_t maxh = lim && lim->max_header_bytes ? lim->max_header_bytes : MSG_MAX_HEADER_BYTES;
	size_t maxf = lim && lim->max_fields ? lim->max_fields : MSG_MAX_FIELDS;
	size_t p = 0, cap = 0;

	memset(m, 0, sizeof(*m));
	m->buf = buf;
	m->len = len;
	while (p < len) {
		size_t ce, next, colon;
		struct msg_field *f;

		next = line_end(buf, len, p, &ce, &m->bare_lf);
		if (ce == p) {			/* empty line: end of header */
			m->has_separator = 1;
			m->header_len = p;
			m->body_off = next;
			goto done;
		}
		if (buf[p] == ' ' || buf[p] == '\t') {
			snprintf(m->error, sizeof(m->error),
			    "header line %zu starts with white space but follows no field",
			    m->nf + 1);
			goto fail;
		}
		for (colon = p; colon < ce && buf[colon] != ':'; colon++) {
			unsigned char c = (unsigned char)buf[colon];

			if (c <= 32 || c >= 127)
				break;
		}
		if (colon == ce || buf[colon] != ':' || colon == p) {
			if (m->nf == 0 && p == 0 && len >= 5 && memcmp(buf, "From ", 5) == 0) {
				p = next;	/* mbox "From " line */
				continue;
			}
			snprintf(m->error, sizeof(m->error),
			    "header line %zu is not a field (no \"name:\"): the message has no "
			    "valid header block, or it lacks the empty line before the body",
			    m->nf + 1);
			goto fail;
		}
		if (m->nf >= maxf) {
			snprintf(m->error, sizeof(m->error),
			    "more than %zu header fields", maxf);
			goto fail;
		}
		if (m->nf == cap) {
			cap = cap ? cap * 2 : 32;
			m->f = xreallocarray(m->f, cap, sizeof(*m->f));
		}
		f = &m->f[m->nf++];
		f->name = buf + p;
		f->namelen = colon - p;
		f->raw = buf + p;
		f->value = buf + colon + 1;
		/* continuation lines */
		while (next < len && (buf[next] == ' ' || buf[next] == '\t')) {
			p = next;
			next = line_end(buf, len, p, &ce, &m->bare_lf);
		}
		f->valuelen = (size_t)(buf + ce - f->value);
		f->rawlen = next - (size_t)(f->raw - buf);
		if (memchr(f->raw, '\0', f->rawlen) != NULL) {
			snprintf(m->error, sizeof(m->error),
			    "NUL byte in header field %zu (%.*s)", m->nf,
			    (int)(f->namelen > 40 ? 40 : f->namelen), f->name);
			goto fail;
		}
		if (!utf8_valid((const unsigned char *)f->value, f->valuelen))
			m->utf8_bad++;
		p = next;
		if (p > maxh) {
			snprintf(m->error, sizeof(m->error),
			    "header block larger than %zu bytes", maxh);
			goto fail;
		}
	}
	/* no empty line: the whole message is header, no body */
	m->header_len = len;
	m->body_off = len;
done:
	if (m->header_len > maxh) {
		snprintf(m->error, sizeof(m->error), "header block larger than %zu bytes", maxh);
		goto fail;
	}
	if (m->nf == 0) {
		snprintf(m->error, sizeof(m->error), "the message has no header fields");
		goto fail;
	}
	return 0;
fail:
	free(m->f);
	m->f = NULL;
	m->nf = 0;
	return -1;
}

void
msg_free(struct msg *m)
{
	free(m->f);
	m->f = NULL;
	m->nf = 0;
}

const struct msg_field *
msg_next(const struct msg *m, const char *name, size_t *iter)
{
	size_t n = strlen(name);

	for (size_t i = iter ? *iter : 0; i < m->nf; i++) {
		if (m->f[i].namelen == n && str_ncaseeq(m->f[i].name, name, n)) {
			if (iter)
				*iter = i + 1;
			return &m->f[i];
		}
	}
	if (iter)
		*iter = m->nf;
	return NULL;
}

size_t
msg_count(const struct msg *m, const char *name)
{
	size_t it = 0, c = 0;

	while (msg_next(m, name, &it))
		c++;
	return c;
}

char *
msg_field_unfold(const struct msg_field *f)
{
	char *s = xmalloc(f->valuelen + 1), *t;
	size_t o = 0;

	for (size_t i = 0; i < f->valuelen; i++) {
		char c = f->value[i];

		if (c == '\r' || c == '\n')
			continue;
		s[o++] = c;
	}
	s[o] = '\0';
	t = str_trim(s);
	if (t != s)
		memmove(s, t, strlen(t) + 1);
	return s;
}

char *
msg_get_value(const struct msg *m, const char *name)
{
	const struct msg_field *f = msg_next(m, name, NULL);

	return f ? msg_field_unfold(f) : NULL;
}

/* ------------------------------------------------------------------ */
/* RFC 5322 3.4 address lists */

struct lex {
	const char	*s;
	size_t		 i;
	char		*err;
	size_t		 errlen;
};

static int
is_atext(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c)) ||
	    c >= 0x80;	/* RFC 6532 UTF8-non-ascii */
}

/* Skip CFWS (comments nest, RFC 5322 3.2.2). -1 on unterminated comment. */
static int
skip_cfws(struct lex *x)
{
	for (;;) {
		char c = x->s[x->i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			x->i++;
		} else if (c == '(') {
			int depth = 0;

			do {
				c = x->s[x->i];
				if (c == '\0') {
					snprintf(x->err, x->errlen, "unterminated comment");
					return -1;
				}
				if (c == '\\' && x->s[x->i + 1]) {
					x->i += 2;
					continue;
				}
				if (c == '(')
					depth++;
				else if (c == ')')
					depth--;
				x->i++;
			} while (depth > 0);
		} else
			return 0;
	}
}

/* A word: atom or quoted-string; appended (unquoted) to b. 1 got one, 0 none, -1 err. */
static int
lex_word(struct lex *x, struct sbuf *b, int allow_dot)
{
	size_t start;

	if (skip_cfws(x) < 0)
		return -1;
	if (x->s[x->i] == '"') {
		x->i++;
		for (;;) {
			char c = x->s[x->i];

			if (c == '\0') {
				snprintf(x->err, x->errlen, "unterminated quoted string");
				return -1;
			}
			x->i++;
			if (c == '"')
				break;
			if (c == '\\' && x->s[x->i]) {
				c = x->s[x->i++];
				/* "\" CR / LF (obs-qp) is part of a fold, never data */
				if (c != '\r' && c != '\n')
					sbuf_addc(b, c);
				continue;
			}
			if (c == '\r' || c == '\n')
				continue;
			sbuf_addc(b, c);
		}
		return 1;
	}
	start = x->i;
	while (is_atext((unsigned char)x->s[x->i]) || (allow_dot && x->s[x->i] == '.'))
		x->i++;
	if (x->i == start)
		return 0;
	sbuf_add(b, x->s + start, x->i - start);
	return 1;
}

/* local-part "@" domain, at x->i (after optional '<'). */
static int
lex_addr_spec(struct lex *x, struct msg_addr *a)
{
	struct sbuf lp, dom;
	int r;

	sbuf_init(&lp, 1024);
	sbuf_init(&dom, 1024);
	/* local-part = dot-atom / quoted-string / obs-local-part */
	for (;;) {
		r = lex_word(x, &lp, 0);
		if (r < 0)
			goto fail;
		if (r == 0) {
			snprintf(x->err, x->errlen, "missing local-part");
			goto fail;
		}
		if (skip_cfws(x) < 0)
			goto fail;
		if (x->s[x->i] == '.') {
			sbuf_addc(&lp, '.');
			x->i++;
			continue;
		}
		break;
	}
	if (x->s[x->i] != '@') {
		snprintf(x->err, x->errlen, "missing '@' after \"%.60s\"", sbuf_str(&lp));
		goto fail;
	}
	x->i++;
	if (skip_cfws(x) < 0)
		goto fail;
	if (x->s[x->i] == '[') {	/* domain-literal */
		/* CR and LF can only be folding (FWS, RFC 5322 3.4.1): unfold */
		while (x->s[x->i] && x->s[x->i] != ']') {
			if (x->s[x->i] != '\r' && x->s[x->i] != '\n')
				sbuf_addc(&dom, x->s[x->i]);
			x->i++;
		}
		if (x->s[x->i] != ']') {
			snprintf(x->err, x->errlen, "unterminated domain literal");
			goto fail;
		}
		x->i++;
		sbuf_addc(&dom, ']');
	} else {
		for (;;) {
			size_t s = x->i;

			while (is_atext((unsigned char)x->s[x->i]))
				x->i++;
			if (x->i == s) {
				snprintf(x->err, x->errlen, "missing or empty domain label");
				goto fail;
			}
			sbuf_add(&dom, x->s + s, x->i - s);
			if (skip_cfws(x) < 0)
				goto fail;
			if (x->s[x->i] == '.') {
				sbuf_addc(&dom, '.');
				x->i++;
				if (skip_cfws(x) < 0)
					goto fail;
				continue;
			}
			break;
		}
	}
	if (lp.overflow || dom.overflow) {
		snprintf(x->err, x->errlen, "address too long");
		goto fail;
	}
	a->local = sbuf_steal(&lp);
	a->domain = sbuf_steal(&dom);
	str_lower(a->domain);
	a->addr = xasprintf("%s@%s", a->local, a->domain);
	return 0;
fail:
	sbuf_free(&lp);
	sbuf_free(&dom);
	return -1;
}

static void addr_clear(struct msg_addr *);

/* mailbox = name-addr / addr-spec; on error *a holds nothing. */
static int
lex_mailbox(struct lex *x, struct msg_addr *a)
{
	size_t save = x->i;
	struct sbuf disp;
	int r, words = 0;

	memset(a, 0, sizeof(*a));
	sbuf_init(&disp, 4096);
	/* try display-name then '<' */
	for (;;) {
		size_t before = x->i;

		if (words)
			sbuf_addc(&disp, ' ');
		r = lex_word(x, &disp, 1);
		if (r < 0) {
			sbuf_free(&disp);
			return -1;
		}
		if (r == 0) {
			if (words)
				disp.len--, disp.s[disp.len] = '\0';
			x->i = before;
			break;
		}
		words++;
	}
	if (skip_cfws(x) < 0) {
		sbuf_free(&disp);
		return -1;
	}
	if (x->s[x->i] == '<') {
		x->i++;
		if (skip_cfws(x) < 0)
			goto fail;
		if (x->s[x->i] == '@') {
			snprintf(x->err, x->errlen, "source routes are not accepted");
			goto fail;
		}
		if (lex_addr_spec(x, a) < 0)
			goto fail;
		if (skip_cfws(x) < 0)
			goto fail;
		if (x->s[x->i] != '>') {
			snprintf(x->err, x->errlen, "missing '>'");
			goto fail;
		}
		x->i++;
		a->display = words ? sbuf_steal(&disp) : NULL;
		sbuf_free(&disp);
		if (skip_cfws(x) < 0)
			goto fail;
		return 0;
	}
	sbuf_free(&disp);
	x->i = save;
	if (lex_addr_spec(x, a) < 0)
		return -1;
	if (skip_cfws(x) < 0)	/* e.g. an unterminated comment after it */
		goto fail;
	return 0;
fail:
	sbuf_free(&disp);
	addr_clear(a);
	return -1;
}

static void
addr_push(struct msg_addr **out, size_t *n, size_t *cap, struct msg_addr *a)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 4;
		*out = xreallocarray(*out, *cap, sizeof(**out));
	}
	(*out)[(*n)++] = *a;
}

int
msg_addrs_parse(const char *value, struct msg_addr **out, size_t *n,
    char *err, size_t errlen)
{
	struct lex x = { value, 0, err, errlen };
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	err[0] = '\0';
	if (skip_cfws(&x) < 0)
		goto fail;
	while (x.s[x.i]) {
		struct msg_addr a;
		size_t save = x.i;
		struct sbuf name;
		int r;

		if (x.s[x.i] == ',') {		/* obs: empty list elements */
			x.i++;
			if (skip_cfws(&x) < 0)
				goto fail;
			continue;
		}
		/* group: display-name ":" [group-list] ";" */
		sbuf_init(&name, 4096);
		for (;;) {
			r = lex_word(&x, &name, 1);
			if (r <= 0)
				break;
		}
		sbuf_free(&name);
		if (r >= 0 && skip_cfws(&x) == 0 && x.s[x.i] == ':' && x.i > save) {
			x.i++;
			for (;;) {
				if (skip_cfws(&x) < 0)
					goto fail;
				if (x.s[x.i] == ';') {
					x.i++;
					break;
				}
				if (x.s[x.i] == ',') {
					x.i++;
					continue;
				}
				if (x.s[x.i] == '\0') {
					snprintf(err, errlen, "unterminated group (missing ';')");
					goto fail;
				}
				if (lex_mailbox(&x, &a) < 0)
					goto fail;
				if (*n >= MSG_MAX_ADDRS) {
					snprintf(err, errlen, "more than %d addresses", MSG_MAX_ADDRS);
					addr_clear(&a);
					goto fail_nofree_a;
				}
				addr_push(out, n, &cap, &a);
			}
		} else {
			x.i = save;
			if (lex_mailbox(&x, &a) < 0)
				goto fail;
			if (*n >= MSG_MAX_ADDRS) {
				snprintf(err, errlen, "more than %d addresses", MSG_MAX_ADDRS);
				addr_clear(&a);
				goto fail_nofree_a;
			}
			addr_push(out, n, &cap, &a);
		}
		if (skip_cfws(&x) < 0)
			goto fail;
		if (x.s[x.i] == ',') {
			x.i++;
			if (skip_cfws(&x) < 0)
				goto fail;
			continue;
		}
		if (x.s[x.i] != '\0') {
			snprintf(err, errlen, "unexpected \"%.20s\" after an address",
			    x.s + x.i);
			goto fail;
		}
	}
	return 0;
fail:
	if (err[0] == '\0')
		snprintf(err, errlen, "syntax error");
fail_nofree_a:
	msg_addrs_free(*out, *n);
	*out = NULL;
	*n = 0;
	return -1;
}

static void
addr_clear(struct msg_addr *a)
{
	free(a->display);
	free(a->local);
	free(a->domain);
	free(a->addr);
	memset(a, 0, sizeof(*a));
}

void
msg_addrs_free(struct msg_addr *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		addr_clear(&a[i]);
	free(a);
}

int
msg_path_domain(const char *path, char *domain, size_t n)
{
	const char *at, *end;
	size_t len = strlen(path);

	if (len && path[0] == '<' && path[len - 1] == '>') {
		path++;
		len -= 2;
	}
	end = path + len;
	at = NULL;
	for (const char *p = path; p < end; p++)
		if (*p == '@')
			at = p;
	if (at == NULL || at + 1 >= end || (size_t)(end - at - 1) >= n)
		return -1;
	memcpy(domain, at + 1, (size_t)(end - at - 1));
	domain[end - at - 1] = '\0';
	str_lower(domain);
	return 0;
}
