/*
 * fuzz_result.h - a struct verify_result (and report_meta) filled from a
 * fuzz input, for the targets that render reports (fuzz_report,
 * fuzz_report_human).  Header-only, like fuzz.h.
 *
 * Input: REPORT_CTL control bytes (results, counts, flags), then strings
 * separated by NUL.  Every string field of the result (and of the meta,
 * when ctl[13] & 1) takes the next string in turn, cycling; the string
 * "\x7f" stands for NULL.  Counts: rcpt, SPF steps, iprev names 0-4; DKIM
 * signatures 0-4 or, for the control bytes 251-255, 20 to 1000 (a message
 * may carry that many DKIM-Signature fields: MSG_MAX_FIELDS).
 * The strings point into the pool: pool_free() after unfill().  A target
 * may cut every string (pool_load()'s maxlen) to bound its work: every
 * field takes a string, so the output grows with fields x length.
 */
#ifndef MT_FUZZ_RESULT_H
#define MT_FUZZ_RESULT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/util.h"
#include "../../reply/report.h"

#define REPORT_CTL	16
#define NULL_MARK	"\x7f"

struct pool {
	char	**s;
	size_t	  n, next;
};

static const char *
pick(struct pool *p)
{
	const char *s;

	if (p->n == 0)
		return NULL;
	s = p->s[p->next++ % p->n];
	return strcmp(s, NULL_MARK) == 0 ? NULL : s;
}

#define S(field)	((field) = (char *)pick(pool))

static enum auth_res
res(unsigned b)
{
	return (enum auth_res)(b % (AUTH_NXDOMAIN + 1));
}

static size_t
small_count(unsigned b)
{
	return b % 5;
}

static void
fill_spf(struct spf_check *c, struct pool *pool, unsigned ctl)
{
	c->result = res(ctl);
	S(c->identity); S(c->sender); S(c->domain); S(c->record);
	S(c->mechanism); S(c->explanation); S(c->reason); S(c->problem);
	c->lookups = (int)(ctl % 13);
	c->void_lookups = (int)(ctl % 3);
	c->dnssec = (ctl >> 4) & 1;
	c->nsteps = small_count(ctl >> 5);
	c->steps = c->nsteps ? xcalloc(c->nsteps, sizeof(*c->steps)) : NULL;
	for (size_t i = 0; i < c->nsteps; i++) {
		c->steps[i].depth = (int)i;
		S(c->steps[i].via); S(c->steps[i].domain);
		S(c->steps[i].record); S(c->steps[i].result);
	}
}

static void
fill_dkim(struct verify_result *r, struct pool *pool, unsigned ctl, unsigned ctl2)
{
	static const size_t many[] = { 20, 50, 100, 300, 1000 };

	r->ndkim = ctl < 251 ? small_count(ctl) : many[ctl - 251];
	r->dkim = r->ndkim ? xcalloc(r->ndkim, sizeof(*r->dkim)) : NULL;
	for (size_t i = 0; i < r->ndkim; i++) {
		struct dkim_sig *s = &r->dkim[i];

		s->result = res(ctl2 + i);
		S(s->domain); S(s->selector); S(s->identity); S(s->algorithm);
		S(s->key_type); S(s->canonicalization); S(s->signed_headers);
		S(s->b_prefix); S(s->key_record); S(s->error); S(s->reason);
		s->key_bits = (int)(ctl2 * 8);
		s->body_length = (long long)ctl2 - 1;
		s->timestamp = (long long)ctl2 * 1000000 - 1;
		s->expiration = -1;
		s->testing = ctl2 & 1;
		s->dnssec = (ctl2 >> 1) & 1;
		s->aligned = (ctl2 >> 2) & 1;
	}
}

static void
fill_dmarc(struct dmarc_result *d, struct pool *pool, const uint8_t *ctl)
{
	d->result = res(ctl[0]);
	S(d->domain); S(d->org_domain); S(d->record_domain); S(d->record);
	S(d->policy); S(d->policy_tag); S(d->p); S(d->sp); S(d->np);
	S(d->aligned_dkim_domain); S(d->rua); S(d->ruf); S(d->reason);
	d->pct = (int)ctl[1] - 28;
	d->testing = ctl[1] & 1;
	d->psd = (ctl[1] >> 1) & 1;
	d->adkim = (char)ctl[2];
	d->aspf = (char)ctl[3];
	d->spf_aligned = ctl[0] >> 7;
	d->dkim_aligned = (ctl[0] >> 6) & 1;
	d->dnssec = (ctl[0] >> 5) & 1;
	d->rfc7489.result = res(ctl[1]);
	S(d->rfc7489.org_domain); S(d->rfc7489.policy); S(d->rfc7489.note);
}

static void
fill(struct verify_result *r, struct report_meta *m, struct pool *pool,
    const uint8_t *ctl)
{
	memset(r, 0, sizeof(*r));
	S(r->client_ip); S(r->helo); S(r->mail_from);
	r->nrcpt = small_count(ctl[0]);
	r->rcpt = r->nrcpt ? xcalloc(r->nrcpt, sizeof(char *)) : NULL;
	for (size_t i = 0; i < r->nrcpt; i++)
		S(r->rcpt[i]);
	S(r->message_error); S(r->from); S(r->from_address); S(r->from_domain);
	S(r->message_id); S(r->subject);
	fill_spf(&r->spf, pool, ctl[1]);
	fill_spf(&r->spf_helo, pool, ctl[2]);
	fill_dkim(r, pool, ctl[3], ctl[4]);
	fill_dmarc(&r->dmarc, pool, ctl + 5);
	r->adsp.result = res(ctl[9]);
	S(r->adsp.domain); S(r->adsp.policy); S(r->adsp.record); S(r->adsp.reason);
	r->iprev.result = res(ctl[10]);
	S(r->iprev.ip); S(r->iprev.ptr); S(r->iprev.reason);
	r->iprev.nnames = small_count(ctl[11]);
	r->iprev.names = r->iprev.nnames ? xcalloc(r->iprev.nnames, sizeof(char *)) : NULL;
	for (size_t i = 0; i < r->iprev.nnames; i++)
		S(r->iprev.names[i]);
	r->elapsed_us = (uint64_t)ctl[12] * 977;
	memset(m, 0, sizeof(*m));
	if (ctl[13] & 1) {
		m->id = pick(pool); m->authserv_id = pick(pool);
		m->received_at = pick(pool); m->client_port = pick(pool);
		m->tls_protocol = pick(pool); m->tls_cipher = pick(pool);
		m->tag = pick(pool); m->file = pick(pool);
	}
}

static void
unfill(struct verify_result *r)
{
	free(r->rcpt);
	free(r->spf.steps);
	free(r->spf_helo.steps);
	free(r->dkim);
	free(r->iprev.names);
}

/*
 * The strings after the control bytes, split at NUL, each cut to maxlen
 * octets unless maxlen is 0.
 */
static void
pool_load(struct pool *pool, const uint8_t *data, size_t size, uint8_t ctl[REPORT_CTL],
    size_t maxlen)
{
	const char *p, *end;
	size_t k = size < REPORT_CTL ? size : REPORT_CTL;

	memset(ctl, 0, REPORT_CTL);
	memcpy(ctl, data, k);
	pool->s = NULL;
	pool->n = pool->next = 0;
	for (p = (const char *)data + k, end = (const char *)data + size; p < end;) {
		const char *z = memchr(p, '\0', (size_t)(end - p));
		size_t l = z ? (size_t)(z - p) : (size_t)(end - p);

		pool->s = xreallocarray(pool->s, pool->n + 1, sizeof(char *));
		pool->s[pool->n++] = xstrndup(p, maxlen && l > maxlen ? maxlen : l);
		p += l + 1;
	}
}

static void
pool_free(struct pool *pool)
{
	for (size_t i = 0; i < pool->n; i++)
		free(pool->s[i]);
	free(pool->s);
}

#endif
