/*
 * fuzz_msg - common/msg.c on arbitrary bytes: msg_parse() with the default
 * limits and with small ones (derived from the input size, so the limit
 * paths are reached), then msg_next()/msg_count()/msg_field_unfold() on
 * every field and msg_addrs_parse() on every address field, unfolded (as
 * verify.c does) and raw.
 *
 * Invariants: every field lies inside the header block, in order, without
 * NUL; body_off <= len; unfolded values have no CR/LF and no outer WSP;
 * every parsed address is local@domain with a non-empty, lower-case domain,
 * no part holds CR or LF (even from a raw, folded value), and the list
 * holds at most MSG_MAX_ADDRS of them.
 */
#include <stdlib.h>
#include <string.h>

#include "../../common/msg.h"
#include "../../common/util.h"
#include "fuzz.h"

static const char *const addr_fields[] = {
	"From", "To", "Cc", "Reply-To", "Sender", "Resent-From", "Bcc",
};

static void
check_addrs(const char *value, int unfolded)
{
	struct msg_addr *a;
	size_t n;
	char err[256];

	if (msg_addrs_parse(value, &a, &n, err, sizeof(err)) < 0) {
		FUZZ_CHECK(a == NULL && n == 0, "failed parse returned addresses");
		FUZZ_CHECK(err[0] != '\0', "failed parse without a message");
		return;
	}
	FUZZ_CHECK(n <= MSG_MAX_ADDRS, "%zu addresses", n);
	FUZZ_CHECK(n == 0 || a != NULL, "n=%zu with no array", n);
	for (size_t i = 0; i < n; i++) {
		const struct msg_addr *m = &a[i];
		size_t ll, dl;

		FUZZ_CHECK(m->local != NULL && m->domain != NULL && m->addr != NULL,
		    "address %zu incomplete", i);
		ll = strlen(m->local);
		dl = strlen(m->domain);
		FUZZ_CHECK(dl > 0, "empty domain in \"%s\"", m->addr);
		FUZZ_CHECK(strchr(m->addr, '@') != NULL, "no '@' in \"%s\"", m->addr);
		FUZZ_CHECK(strlen(m->addr) == ll + 1 + dl &&
		    memcmp(m->addr, m->local, ll) == 0 && m->addr[ll] == '@' &&
		    strcmp(m->addr + ll + 1, m->domain) == 0,
		    "addr \"%s\" is not local@domain", m->addr);
		/* msg.h: no part holds CR or LF, folded (raw) value or not */
		FUZZ_CHECK(strpbrk(m->domain, "\r\n") == NULL,
		    "CR/LF in domain \"%s\" (%s value)", m->domain,
		    unfolded ? "unfolded" : "raw");
		FUZZ_CHECK(strpbrk(m->addr, "\r\n") == NULL,
		    "CR/LF in address \"%s\" (%s value)", m->addr,
		    unfolded ? "unfolded" : "raw");
		FUZZ_CHECK(m->display == NULL || strpbrk(m->display, "\r\n") == NULL,
		    "CR/LF in display name \"%s\" (%s value)", m->display,
		    unfolded ? "unfolded" : "raw");
		for (const char *p = m->domain; *p; p++)
			FUZZ_CHECK(!(*p >= 'A' && *p <= 'Z'), "domain \"%s\" not lower-case",
			    m->domain);
	}
	msg_addrs_free(a, n);
}

static void
check_field(const struct msg *m, size_t i, const char *prev_end)
{
	const struct msg_field *f = &m->f[i];
	const char *hend = m->buf + m->header_len;
	char *u;
	size_t ul;

	FUZZ_CHECK(f->raw == f->name, "field %zu: raw != name", i);
	FUZZ_CHECK(f->raw >= prev_end, "field %zu overlaps the one before", i);
	FUZZ_CHECK(f->namelen > 0, "field %zu: empty name", i);
	FUZZ_CHECK(f->raw + f->rawlen <= hend, "field %zu ends after the header block", i);
	FUZZ_CHECK(f->name[f->namelen] == ':', "field %zu: no ':' after the name", i);
	for (size_t k = 0; k < f->namelen; k++) {
		unsigned char c = (unsigned char)f->name[k];

		FUZZ_CHECK(c > 32 && c < 127 && c != ':', "field %zu: name byte %#x", i, c);
	}
	FUZZ_CHECK(f->value == f->name + f->namelen + 1, "field %zu: value start", i);
	FUZZ_CHECK(f->value + f->valuelen <= f->raw + f->rawlen, "field %zu: value end", i);
	FUZZ_CHECK(memchr(f->raw, '\0', f->rawlen) == NULL, "field %zu: NUL", i);
	if (f->raw + f->rawlen < m->buf + m->len)
		FUZZ_CHECK(f->raw[f->rawlen - 1] == '\n', "field %zu: not ended by LF", i);

	u = msg_field_unfold(f);
	ul = strlen(u);
	FUZZ_CHECK(ul <= f->valuelen, "field %zu: unfolded value grew", i);
	FUZZ_CHECK(strpbrk(u, "\r\n") == NULL, "field %zu: CR/LF after unfolding", i);
	FUZZ_CHECK(ul == 0 || (u[0] != ' ' && u[0] != '\t' && u[ul - 1] != ' ' &&
	    u[ul - 1] != '\t'), "field %zu: white space left around \"%s\"", i, u);
	free(u);
}

static void
check_msg(const struct msg *m, const char *buf, size_t len, size_t maxh, size_t maxf)
{
	const char *prev_end = buf;

	FUZZ_CHECK(m->buf == buf && m->len == len, "buffer not recorded");
	FUZZ_CHECK(m->nf > 0 && m->nf <= maxf, "nf=%zu (limit %zu)", m->nf, maxf);
	FUZZ_CHECK(m->header_len <= maxh, "header_len=%zu over %zu", m->header_len, maxh);
	FUZZ_CHECK(m->header_len <= m->body_off && m->body_off <= len,
	    "header_len=%zu body_off=%zu len=%zu", m->header_len, m->body_off, len);
	if (m->has_separator)
		FUZZ_CHECK(buf[m->header_len] == '\r' || buf[m->header_len] == '\n',
		    "separator at %zu is not an empty line", m->header_len);
	else
		FUZZ_CHECK(m->body_off == len, "no separator but a body");
	for (size_t i = 0; i < m->nf; i++) {
		check_field(m, i, prev_end);
		prev_end = m->f[i].raw + m->f[i].rawlen;
	}
}

static void
check_lookups(const struct msg *m)
{
	for (size_t k = 0; k < ARRAY_SIZE(addr_fields); k++) {
		const struct msg_field *f;
		size_t it = 0, seen = 0;

		while ((f = msg_next(m, addr_fields[k], &it)) != NULL) {
			char *u = msg_field_unfold(f), *raw;

			seen++;
			check_addrs(u, 1);
			free(u);
			raw = xstrndup(f->value, f->valuelen);
			check_addrs(raw, 0);
			free(raw);
		}
		FUZZ_CHECK(seen == msg_count(m, addr_fields[k]), "msg_count(%s)",
		    addr_fields[k]);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct msg m;
	struct msg_limits small = {
		.max_header_bytes = 1 + size / 2,
		.max_fields = 1 + size % 7,
	};

	if (msg_parse(&m, buf, size, NULL) == 0) {
		check_msg(&m, buf, size, MSG_MAX_HEADER_BYTES, MSG_MAX_FIELDS);
		check_lookups(&m);
	} else {
		FUZZ_CHECK(m.f == NULL && m.nf == 0, "failed parse kept fields");
		FUZZ_CHECK(m.error[0] != '\0', "failed parse without a message");
	}
	msg_free(&m);

	if (msg_parse(&m, buf, size, &small) == 0)
		check_msg(&m, buf, size, small.max_header_bytes, small.max_fields);
	else
		FUZZ_CHECK(m.error[0] != '\0', "failed parse without a message");
	msg_free(&m);
	return 0;
}
