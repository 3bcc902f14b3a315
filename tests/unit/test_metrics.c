/* test_metrics - common/metrics.c (counters, labels, histograms, the text
 * format, many threads at once) and smtpd/refusal.c (reply -> reason). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/metrics.h"
#include "../../common/util.h"
#include "../../smtpd/refusal.h"
#include "t.h"

#define THREADS		4
#define PER_THREAD	20000

static char *
render(void)
{
	struct sbuf b;

	sbuf_init(&b, 0);
	metrics_render(&b);
	return sbuf_steal(&b);
}

static void
check_counters(void)
{
	char *text;

	metrics_reset();
	metrics_inc(METRIC_SESSIONS_TOTAL);
	metrics_inc(METRIC_SESSIONS_TOTAL);
	metrics_inc(METRIC_SESSIONS);
	metrics_dec(METRIC_SESSIONS);
	metrics_inc(METRIC_SESSIONS);
	metrics_set(METRIC_SPOOL_MESSAGES, 7);
	metrics_add_label(METRIC_REFUSED, "relay_denied", NULL, 1);
	metrics_add_label(METRIC_REFUSED, "relay_denied", NULL, 2);
	metrics_add_label(METRIC_REFUSED, "size", NULL, 1);
	metrics_add_label(METRIC_VERDICTS, "spf", "pass", 1);
	metrics_add_label(METRIC_VERDICTS, "dkim", "fail", 3);
	metrics_add_label(METRIC_REPLIES_SUPPRESSED, "bad \"reason\"\n{x}", NULL, 1);
	T_EQ_INT(metrics_get(METRIC_SESSIONS_TOTAL, NULL, NULL), 2, "counter");
	T_EQ_INT(metrics_get(METRIC_SESSIONS, NULL, NULL), 1, "gauge up and down");
	T_EQ_INT(metrics_get(METRIC_REFUSED, "relay_denied", NULL), 3, "labelled sum");
	T_EQ_INT(metrics_get(METRIC_VERDICTS, "dkim", "fail"), 3, "two labels");
	T_EQ_INT(metrics_get(METRIC_VERDICTS, "dkim", "pass"), 0, "absent series");
	text = render();
	T_OK(strstr(text, "# TYPE mailtest_smtp_sessions_total counter\n"
	    "mailtest_smtp_sessions_total 2\n") != NULL, "counter rendered");
	T_OK(strstr(text, "# TYPE mailtest_smtp_sessions_active gauge\nmailtest_smtp_sessions_active 1\n")
	    != NULL, "gauge rendered");
	T_OK(strstr(text, "mailtest_spool_messages 7\n") != NULL, "set gauge rendered");
	T_OK(strstr(text, "mailtest_smtp_refused_total{reason=\"relay_denied\"} 3\n") != NULL,
	    "label rendered");
	T_OK(strstr(text, "mailtest_verdicts_total{mechanism=\"spf\",result=\"pass\"} 1\n")
	    != NULL, "two labels rendered");
	T_OK(strstr(text, "mailtest_replies_suppressed_total{reason=\"bad__reason___x_\"} 1\n")
	    != NULL, "hostile label value cleaned");
	T_OK(strchr(text, '\r') == NULL, "LF line ends only");
	free(text);
}

static void
check_overflow(void)
{
	char label[32], *text;

	metrics_reset();
	for (int i = 0; i < METRICS_MAX_SERIES + 10; i++) {
		snprintf(label, sizeof(label), "r%d", i);
		metrics_add_label(METRIC_REFUSED, label, NULL, 1);
	}
	T_EQ_INT(metrics_get(METRIC_REFUSED, "r0", NULL), 1, "first series kept");
	T_EQ_INT(metrics_get(METRIC_REFUSED, "r94", NULL), 1, "last free slot");
	T_EQ_INT(metrics_get(METRIC_REFUSED, "r95", NULL), 0, "no slot left");
	text = render();
	T_OK(strstr(text, "mailtest_smtp_refused_total{reason=\"other\"} 11\n") != NULL,
	    "overflow counted as other");
	free(text);
	metrics_add_label(METRIC_REFUSED, "a-very-long-reason-that-goes-beyond-the-limit",
	    NULL, 1);
	T_EQ_INT(metrics_get(METRIC_REFUSED, "a-very-long-reason-that-goes-beyond-the-limit",
	    NULL), 0, "table full: long label went to other");
}

static void
check_histogram(void)
{
	char *text;

	metrics_reset();
	metrics_observe_ms(METRIC_REPORT_LATENCY, 3);		/* <= 5 ms */
	metrics_observe_ms(METRIC_REPORT_LATENCY, 5);		/* le is inclusive */
	metrics_observe_ms(METRIC_REPORT_LATENCY, 120);		/* <= 250 ms */
	metrics_observe_ms(METRIC_REPORT_LATENCY, 999999);	/* +Inf */
	text = render();
	T_OK(strstr(text, "mailtest_report_latency_seconds_bucket{le=\"0.005\"} 2\n") != NULL,
	    "first bucket");
	T_OK(strstr(text, "mailtest_report_latency_seconds_bucket{le=\"0.100\"} 2\n") != NULL,
	    "cumulative, below 120 ms");
	T_OK(strstr(text, "mailtest_report_latency_seconds_bucket{le=\"0.250\"} 3\n") != NULL,
	    "cumulative, 120 ms");
	T_OK(strstr(text, "mailtest_report_latency_seconds_bucket{le=\"300.000\"} 3\n") != NULL,
	    "last finite bucket");
	T_OK(strstr(text, "mailtest_report_latency_seconds_bucket{le=\"+Inf\"} 4\n") != NULL,
	    "+Inf bucket");
	T_OK(strstr(text, "mailtest_report_latency_seconds_sum 1000.127\n") != NULL, "sum");
	T_OK(strstr(text, "mailtest_report_latency_seconds_count 4\n") != NULL, "count");
	T_EQ_INT(metrics_get(METRIC_REPORT_LATENCY, NULL, NULL), 4, "get: count");
	free(text);
}

static void *
bump(void *arg)
{
	static const char *const reasons[] = { "a", "b", "c", "d", "e", "f", "g" };
	long t = (long)arg;

	for (long i = 0; i < PER_THREAD; i++) {
		metrics_inc(METRIC_MESSAGES_ACCEPTED);
		metrics_add_label(METRIC_REFUSED, reasons[(i + t) % 7], NULL, 1);
		metrics_observe_ms(METRIC_REPORT_LATENCY, (uint64_t)(i % 100));
	}
	return NULL;
}

/* Racing threads claim new label values at once: nothing is lost, duplicate
 * slots (if any) are added together in the output. */
static void
check_threads(void)
{
	pthread_t th[THREADS];
	long long sum = 0;
	char *text, *p;

	metrics_reset();
	for (long i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, bump, (void *)i);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	T_EQ_INT(metrics_get(METRIC_MESSAGES_ACCEPTED, NULL, NULL), THREADS * PER_THREAD,
	    "no increment lost");
	T_EQ_INT(metrics_get(METRIC_REPORT_LATENCY, NULL, NULL), THREADS * PER_THREAD,
	    "no observation lost");
	text = render();
	for (int r = 0; r < 7; r++) {
		char key[80];
		int lines = 0;

		snprintf(key, sizeof(key), "mailtest_smtp_refused_total{reason=\"%c\"} ", 'a' + r);
		for (p = strstr(text, key); p; p = strstr(p + 1, key)) {
			sum += atoll(p + strlen(key));
			lines++;
		}
		T_EQ_INT(lines, 1, "one line per label value in the output");
	}
	T_EQ_INT(sum, (long long)THREADS * PER_THREAD, "labelled increments all counted");
	free(text);
}

static void
check_refusals(void)
{
	/* every refusing reply mailtestd sends (smtpd/session.c, server.c) */
	static const struct { const char *reply, *reason; } r[] = {
		{ "421 4.3.2 mx Service shutting down, closing transmission channel", NULL },
		{ "421 4.7.0 mx Too many errors, closing transmission channel", "limits" },
		{ "421 4.7.0 mx Too many transactions in one session, closing", "limits" },
		{ "421 4.7.0 mx Too many commands, closing transmission channel", "limits" },
		{ "421 4.7.0 mx Too many connections, try again later", "connections" },
		{ "421 4.7.0 mx Too many connections from your address, try", "connections" },
		{ "421 4.7.0 mx Not an SMTP command, closing transmission channel", "protocol" },
		{ "421 4.3.0 Out of resources", "resources" },
		{ "421 4.4.2 mx Error: timeout exceeded", "timeout" },
		{ "421 4.4.2 mx Error: DATA timeout exceeded", "timeout" },
		{ "421 4.4.2 mx Error: data rate below 1024 octets/s", "timeout" },
		{ "501 5.5.4 Syntax: EHLO hostname", "syntax" },
		{ "503 5.5.1 Error: send HELO/EHLO first", "sequence" },
		{ "503 5.5.1 Error: nested MAIL command", "sequence" },
		{ "553 5.1.7 Source routes are not accepted", "relay_denied" },
		{ "501 5.1.7 Bad sender address syntax", "syntax" },
		{ "555 5.5.4 Unsupported option", "syntax" },
		{ "501 5.5.4 Syntax error in parameters", "syntax" },
		{ "553 5.6.7 Non-ASCII address without SMTPUTF8", "smtputf8" },
		{ "552 5.3.4 Message size exceeds fixed limit", "size" },
		{ "552 5.3.4 Message size exceeds fixed limit of 1024 octets", "size" },
		{ "550 5.7.1 Relay access denied", "relay_denied" },
		{ "501 5.1.3 Bad recipient address syntax", "syntax" },
		{ "550 5.7.1 <a@b>: Recipient address rejected: not a check address; relay "
		    "access denied", "relay_denied" },
		{ "452 4.5.3 Too many recipients", "recipients" },
		{ "501 5.5.4 Syntax: DATA", "syntax" },
		{ "554 5.5.1 Error: no valid recipients", "sequence" },
		{ "452 4.3.1 Insufficient system storage, try again later", "storage" },
		{ "501 5.5.4 Syntax error: no parameters allowed", "syntax" },
		{ "502 5.5.1 Error: command not implemented", "not_implemented" },
		{ "503 5.5.1 Error: TLS already active", "sequence" },
		{ "500 5.5.2 Error: control character, bare CR or bare LF in command", "syntax" },
		{ "500 5.5.2 Error: command not recognized", "syntax" },
		{ "500 5.5.2 Error: line too long", "syntax" },
		{ "554 5.6.0 Message refused: bare LF in the message (RFC 5321 2.3.8); lines "
		    "end with CRLF", "smuggling" },
		{ "554 5.6.0 Message refused: bare CR in the message", "smuggling" },
		{ "554 5.6.0 Message refused: NUL octet in the message", "smuggling" },
		{ "554 5.6.0 Message refused: a line longer than 1000 octets", "line_length" },
		{ "554 5.4.6 Too many Received: fields (51): mail loop?", "loop" },
		{ "554 5.5.1 mx Protocol error: talking before the greeting", "early_talker" },
		{ "451 4.3.0 Error: queue file write error, try again later", "storage" },
		{ "250 2.0.0 Ok", NULL },
		{ "354 End data with <CR><LF>.<CR><LF>", NULL },
		{ "", NULL },
	};

	for (size_t i = 0; i < ARRAY_SIZE(r); i++)
		T_EQ_STR(refusal_reason(r[i].reply), r[i].reason, r[i].reply);
	T_EQ_STR(refusal_reason(NULL), NULL, "NULL reply");
}

int
main(void)
{
	check_counters();
	check_overflow();
	check_histogram();
	check_threads();
	check_refusals();
	return t_done("test_metrics");
}
