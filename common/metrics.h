/*
 * metrics.h - the process's counters, gauges and histograms, bumped by
 * every layer (SMTP sessions, workers, the reply side, delivery threads)
 * without locks and without knowing how they are shown.  The Prometheus
 * text exposition (format 0.0.4) is rendered by metrics_render(); serving
 * it over HTTP is smtpd/metrics_http.c's business.
 *
 * One registry per process (static storage): every value is a C11 atomic
 * updated with relaxed ordering, so a bump costs one atomic add and a
 * reader never waits for a writer.  Labelled series (at most two labels)
 * live in a fixed table per metric; a new label value claims a slot with
 * one compare-and-swap.  Two threads that claim the same new value at
 * once get two slots, which metrics_render() adds together.  When a
 * metric's table is full, further values are counted under "other".
 * Label values are cut to METRICS_LABEL_MAX octets and every octet
 * outside [A-Za-z0-9_.:+-] becomes '_', so no escaping is ever needed.
 *
 * Entry points: metrics_add(), metrics_set(), metrics_add_label(),
 * metrics_observe_ms(), metrics_get(), metrics_render(), metrics_reset().
 * Nothing is allocated but the caller's sbuf; nothing fails.
 */
#ifndef MT_METRICS_H
#define MT_METRICS_H

#include <stdint.h>

#include "util.h"

#define METRICS_LABEL_MAX	31	/* octets of a label value */
#define METRICS_MAX_SERIES	96	/* label combinations per metric */

enum metric {
	/* smtpd */
	METRIC_SESSIONS_TOTAL,		/* counter */
	METRIC_SESSIONS,		/* gauge: open now */
	METRIC_MESSAGES_ACCEPTED,	/* counter: 250 queued */
	METRIC_REFUSED,			/* counter {reason} */
	METRIC_PROXY_HEADERS,		/* counter {version}: PROXY headers taken */
	METRIC_DATA_MEMORY,		/* gauge: octets of DATA held (smtp_data_memory) */
	/* workers */
	METRIC_MESSAGES_VERIFIED,	/* counter */
	METRIC_VERDICTS,		/* counter {mechanism, result} */
	METRIC_REPORT_LATENCY,		/* histogram: end of DATA -> report queued */
	/* reply side */
	METRIC_REPLIES_QUEUED,		/* counter */
	METRIC_REPLIES_SUPPRESSED,	/* counter {reason} */
	METRIC_REPLIES_SENT,		/* counter: delivered (250 to the data) */
	METRIC_REPLIES_DEFERRED,	/* counter: attempts that will be retried */
	METRIC_REPLIES_GIVEN_UP,	/* counter {reason} */
	METRIC_REPORTS_PRUNED,		/* counter: removed after report_retention */
	/* DNS (copied from dns_stats_get() before rendering) */
	METRIC_DNS_LOOKUPS,
	METRIC_DNS_CACHE_HITS,
	METRIC_DNS_QUERIES,
	METRIC_DNS_TIMEOUTS,
	METRIC_DNS_TEMPFAILS,
	/* queues */
	METRIC_SPOOL_MESSAGES,		/* gauge: incoming/ waiting for verification */
	METRIC_OUTBOUND_MESSAGES,	/* gauge: reports in the outbound queue */
	METRIC_COUNT
};

void	 metrics_add(enum metric, int64_t);
void	 metrics_set(enum metric, int64_t);
/* l2 is NULL for one-label metrics. */
void	 metrics_add_label(enum metric, const char *l1, const char *l2, int64_t);
void	 metrics_observe_ms(enum metric, uint64_t ms);
/* The value of a series (summed over duplicate slots); histograms: the count. */
int64_t	 metrics_get(enum metric, const char *l1, const char *l2);
/* Append the whole registry in the text format, version 0.0.4. */
void	 metrics_render(struct sbuf *);
/* Zero everything (unit tests). */
void	 metrics_reset(void);

#define metrics_inc(m)		metrics_add((m), 1)
#define metrics_dec(m)		metrics_add((m), -1)

#endif
