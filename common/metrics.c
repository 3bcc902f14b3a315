/* metrics.c - lock-free counters and their text exposition: see metrics.h */
#include <stdatomic.h>
#include <string.h>

#include "metrics.h"

enum metric_type { MT_COUNTER, MT_GAUGE, MT_HISTOGRAM };

struct metric_def {
	const char	*name;
	enum metric_type type;
	const char	*help;
	const char	*label[2];	/* NULL: fewer labels */
};

static const struct metric_def metric_defs[METRIC_COUNT] = {
	[METRIC_SESSIONS_TOTAL] = { "mailtest_smtp_sessions_total", MT_COUNTER,
	    "SMTP sessions opened.", { NULL, NULL } },
	[METRIC_SESSIONS] = { "mailtest_smtp_sessions_active", MT_GAUGE,
	    "SMTP sessions open now.", { NULL, NULL } },
	[METRIC_MESSAGES_ACCEPTED] = { "mailtest_smtp_messages_accepted_total", MT_COUNTER,
	    "Messages answered 250 (durable in the spool).", { NULL, NULL } },
	[METRIC_REFUSED] = { "mailtest_smtp_refused_total", MT_COUNTER,
	    "Commands, messages and connections refused, by reason.", { "reason", NULL } },
	[METRIC_PROXY_HEADERS] = { "mailtest_proxy_headers_total", MT_COUNTER,
	    "PROXY protocol headers accepted, by version.", { "version", NULL } },
	[METRIC_DATA_MEMORY] = { "mailtest_smtp_data_memory_bytes", MT_GAUGE,
	    "Octets of message data held in memory by SMTP sessions and the spool "
	    "writer, counted against smtp_data_memory.", { NULL, NULL } },
	[METRIC_MESSAGES_VERIFIED] = { "mailtest_messages_verified_total", MT_COUNTER,
	    "Messages verified and handed to the reply side.", { NULL, NULL } },
	[METRIC_VERDICTS] = { "mailtest_verdicts_total", MT_COUNTER,
	    "Verdicts per mechanism and result (dkim: one per signature, none when "
	    "unsigned).", { "mechanism", "result" } },
	[METRIC_REPORT_LATENCY] = { "mailtest_report_latency_seconds", MT_HISTOGRAM,
	    "Time from the end of DATA to the report being queued or suppressed.",
	    { NULL, NULL } },
	[METRIC_REPLIES_QUEUED] = { "mailtest_replies_queued_total", MT_COUNTER,
	    "Reports queued for delivery.", { NULL, NULL } },
	[METRIC_REPLIES_SUPPRESSED] = { "mailtest_replies_suppressed_total", MT_COUNTER,
	    "Reports not sent, by reason (reply policy and rate limits).",
	    { "reason", NULL } },
	[METRIC_REPLIES_SENT] = { "mailtest_replies_sent_total", MT_COUNTER,
	    "Reports delivered (250 after the data).", { NULL, NULL } },
	[METRIC_REPLIES_DEFERRED] = { "mailtest_replies_deferred_total", MT_COUNTER,
	    "Delivery attempts that failed temporarily and will be retried.",
	    { NULL, NULL } },
	[METRIC_REPLIES_GIVEN_UP] = { "mailtest_replies_given_up_total", MT_COUNTER,
	    "Reports given up, by reason.", { "reason", NULL } },
	[METRIC_REPORTS_PRUNED] = { "mailtest_reports_pruned_total", MT_COUNTER,
	    "Stored reports removed after report_retention.", { NULL, NULL } },
	[METRIC_DNS_LOOKUPS] = { "mailtest_dns_lookups_total", MT_COUNTER,
	    "DNS lookups asked of the resolver.", { NULL, NULL } },
	[METRIC_DNS_CACHE_HITS] = { "mailtest_dns_cache_hits_total", MT_COUNTER,
	    "DNS lookups answered from the cache.", { NULL, NULL } },
	[METRIC_DNS_QUERIES] = { "mailtest_dns_queries_total", MT_COUNTER,
	    "DNS query packets sent.", { NULL, NULL } },
	[METRIC_DNS_TIMEOUTS] = { "mailtest_dns_timeouts_total", MT_COUNTER,
	    "DNS queries that timed out.", { NULL, NULL } },
	[METRIC_DNS_TEMPFAILS] = { "mailtest_dns_tempfails_total", MT_COUNTER,
	    "DNS lookups that ended in a temporary error.", { NULL, NULL } },
	[METRIC_SPOOL_MESSAGES] = { "mailtest_spool_messages", MT_GAUGE,
	    "Accepted messages waiting in the spool for verification.", { NULL, NULL } },
	[METRIC_OUTBOUND_MESSAGES] = { "mailtest_outbound_messages", MT_GAUGE,
	    "Reports in the outbound queue (due or deferred).", { NULL, NULL } },
};

/* Histogram bucket upper bounds in milliseconds (+Inf is implicit). */
static const uint64_t metric_bounds_ms[] = {
	5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000
};
#define METRIC_NBOUNDS	ARRAY_SIZE(metric_bounds_ms)

enum { SLOT_FREE, SLOT_CLAIMED, SLOT_READY };

struct metric_series {
	atomic_int	 state;		/* SLOT_* */
	char		 l1[METRICS_LABEL_MAX + 1];	/* written once, before READY */
	char		 l2[METRICS_LABEL_MAX + 1];
	atomic_llong	 value;
};

struct metric_hist {
	atomic_llong	 bucket[METRIC_NBOUNDS + 1];	/* not cumulative; last = +Inf */
	atomic_llong	 sum_ms;
	atomic_llong	 count;
};

static atomic_llong metric_value[METRIC_COUNT];
static struct metric_series metric_series[METRIC_COUNT][METRICS_MAX_SERIES];
static struct metric_hist metric_hist[METRIC_COUNT];

static int
metric_labels(enum metric m)
{
	return (metric_defs[m].label[0] != NULL) + (metric_defs[m].label[1] != NULL);
}

void
metrics_add(enum metric m, int64_t n)
{
	if (m < METRIC_COUNT)
		atomic_fetch_add_explicit(&metric_value[m], n, memory_order_relaxed);
}

void
metrics_set(enum metric m, int64_t v)
{
	if (m < METRIC_COUNT)
		atomic_store_explicit(&metric_value[m], v, memory_order_relaxed);
}

static void
metric_label_clean(char *out, const char *in)
{
	size_t i;

	if (in == NULL)
		in = "";
	for (i = 0; i < METRICS_LABEL_MAX && in[i]; i++) {
		unsigned char c = (unsigned char)in[i];

		out[i] = (char)(((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("_.:+-", c) != NULL) && c ? c : '_');
	}
	out[i] = '\0';
}

/* The slot of a label pair: found, claimed, or the "other" slot (the last). */
static struct metric_series *
metric_series_slot(enum metric m, const char *l1, const char *l2)
{
	struct metric_series *t = metric_series[m];
	const size_t last = METRICS_MAX_SERIES - 1;

	for (size_t i = 0; i < last; i++) {
		int st = atomic_load_explicit(&t[i].state, memory_order_acquire);
		int expect = SLOT_FREE;

		if (st == SLOT_READY) {
			if (strcmp(t[i].l1, l1) == 0 && strcmp(t[i].l2, l2) == 0)
				return &t[i];
			continue;
		}
		if (st == SLOT_CLAIMED)
			continue;	/* being written by another thread: never wait */
		if (atomic_compare_exchange_strong_explicit(&t[i].state, &expect,
		    SLOT_CLAIMED, memory_order_acq_rel, memory_order_acquire)) {
			memcpy(t[i].l1, l1, sizeof(t[i].l1));
			memcpy(t[i].l2, l2, sizeof(t[i].l2));
			atomic_store_explicit(&t[i].state, SLOT_READY, memory_order_release);
			return &t[i];
		}
		if (expect == SLOT_READY && strcmp(t[i].l1, l1) == 0 &&
		    strcmp(t[i].l2, l2) == 0)
			return &t[i];
	}
	return &t[last];	/* full: "other" */
}

void
metrics_add_label(enum metric m, const char *l1, const char *l2, int64_t n)
{
	char a[METRICS_LABEL_MAX + 1], b[METRICS_LABEL_MAX + 1];

	if (m >= METRIC_COUNT || metric_labels(m) == 0) {
		metrics_add(m, n);
		return;
	}
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	metric_label_clean(a, l1);
	if (metric_labels(m) > 1)
		metric_label_clean(b, l2);
	atomic_fetch_add_explicit(&metric_series_slot(m, a, b)->value, n,
	    memory_order_relaxed);
}

void
metrics_observe_ms(enum metric m, uint64_t ms)
{
	struct metric_hist *h;
	size_t i;

	if (m >= METRIC_COUNT || metric_defs[m].type != MT_HISTOGRAM)
		return;
	h = &metric_hist[m];
	for (i = 0; i < METRIC_NBOUNDS && ms > metric_bounds_ms[i]; i++)
		;
	atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_ms, (long long)ms, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
}

int64_t
metrics_get(enum metric m, const char *l1, const char *l2)
{
	char a[METRICS_LABEL_MAX + 1], b[METRICS_LABEL_MAX + 1];
	int64_t sum = 0;

	if (m >= METRIC_COUNT)
		return 0;
	if (metric_defs[m].type == MT_HISTOGRAM)
		return atomic_load_explicit(&metric_hist[m].count, memory_order_relaxed);
	if (metric_labels(m) == 0)
		return atomic_load_explicit(&metric_value[m], memory_order_relaxed);
	metric_label_clean(a, l1);
	metric_label_clean(b, metric_labels(m) > 1 ? l2 : "");
	for (size_t i = 0; i < METRICS_MAX_SERIES; i++) {
		struct metric_series *s = &metric_series[m][i];

		if (atomic_load_explicit(&s->state, memory_order_acquire) == SLOT_READY &&
		    strcmp(s->l1, a) == 0 && strcmp(s->l2, b) == 0)
			sum += atomic_load_explicit(&s->value, memory_order_relaxed);
	}
	return sum;
}

/* ---- the text format, version 0.0.4 ----------------------------------------- */

static void
metric_render_labelled(struct sbuf *b, enum metric m)
{
	const struct metric_def *d = &metric_defs[m];
	struct metric_series *t = metric_series[m];
	char seen[METRICS_MAX_SERIES] = { 0 };

	for (size_t i = 0; i < METRICS_MAX_SERIES; i++) {
		long long v;

		if (seen[i] || (i + 1 < METRICS_MAX_SERIES &&
		    atomic_load_explicit(&t[i].state, memory_order_acquire) != SLOT_READY))
			continue;
		v = atomic_load_explicit(&t[i].value, memory_order_relaxed);
		if (i + 1 == METRICS_MAX_SERIES) {	/* the overflow slot */
			if (v == 0)
				continue;
			sbuf_printf(b, "%s{%s=\"other\"%s%s%s} %lld\n", d->name, d->label[0],
			    d->label[1] ? "," : "", d->label[1] ? d->label[1] : "",
			    d->label[1] ? "=\"other\"" : "", v);
			continue;
		}
		/* duplicates claimed by racing threads are added together */
		for (size_t k = i + 1; k + 1 < METRICS_MAX_SERIES; k++)
			if (!seen[k] && atomic_load_explicit(&t[k].state,
			    memory_order_acquire) == SLOT_READY &&
			    strcmp(t[k].l1, t[i].l1) == 0 && strcmp(t[k].l2, t[i].l2) == 0) {
				seen[k] = 1;
				v += atomic_load_explicit(&t[k].value, memory_order_relaxed);
			}
		if (d->label[1])
			sbuf_printf(b, "%s{%s=\"%s\",%s=\"%s\"} %lld\n", d->name, d->label[0],
			    t[i].l1, d->label[1], t[i].l2, v);
		else
			sbuf_printf(b, "%s{%s=\"%s\"} %lld\n", d->name, d->label[0], t[i].l1, v);
	}
}

static void
metric_render_histogram(struct sbuf *b, enum metric m)
{
	const struct metric_def *d = &metric_defs[m];
	struct metric_hist *h = &metric_hist[m];
	long long cum = 0, sum;

	for (size_t i = 0; i <= METRIC_NBOUNDS; i++) {
		cum += atomic_load_explicit(&h->bucket[i], memory_order_relaxed);
		if (i < METRIC_NBOUNDS)
			sbuf_printf(b, "%s_bucket{le=\"%llu.%03llu\"} %lld\n", d->name,
			    (unsigned long long)(metric_bounds_ms[i] / 1000),
			    (unsigned long long)(metric_bounds_ms[i] % 1000), cum);
		else
			sbuf_printf(b, "%s_bucket{le=\"+Inf\"} %lld\n", d->name, cum);
	}
	/* _count is the +Inf bucket, so the two always agree */
	sum = atomic_load_explicit(&h->sum_ms, memory_order_relaxed);
	sbuf_printf(b, "%s_sum %lld.%03lld\n", d->name, sum / 1000, sum % 1000);
	sbuf_printf(b, "%s_count %lld\n", d->name, cum);
}

void
metrics_render(struct sbuf *b)
{
	static const char *const types[] = { "counter", "gauge", "histogram" };

	for (int m = 0; m < METRIC_COUNT; m++) {
		const struct metric_def *d = &metric_defs[m];

		sbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", d->name, d->help, d->name,
		    types[d->type]);
		if (d->type == MT_HISTOGRAM)
			metric_render_histogram(b, (enum metric)m);
		else if (metric_labels((enum metric)m) > 0)
			metric_render_labelled(b, (enum metric)m);
		else
			sbuf_printf(b, "%s %lld\n", d->name, atomic_load_explicit(
			    &metric_value[m], memory_order_relaxed));
	}
}

void
metrics_reset(void)
{
	for (int m = 0; m < METRIC_COUNT; m++) {
		atomic_store(&metric_value[m], 0);
		for (size_t i = 0; i < METRICS_MAX_SERIES; i++) {
			atomic_store(&metric_series[m][i].value, 0);
			atomic_store(&metric_series[m][i].state, SLOT_FREE);
		}
		for (size_t i = 0; i <= METRIC_NBOUNDS; i++)
			atomic_store(&metric_hist[m].bucket[i], 0);
		atomic_store(&metric_hist[m].sum_ms, 0);
		atomic_store(&metric_hist[m].count, 0);
	}
}
