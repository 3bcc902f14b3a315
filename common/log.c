/* log.c - see log.h */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"

static int log_stderr = 1;
static int log_min = LOG_INFO;
static char log_ident[32] = "mailtest";
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

void
log_open(const char *ident, int to_stderr, int min_level)
{
	str_copy(log_ident, ident, sizeof(log_ident));
	log_stderr = to_stderr;
	log_min = min_level;
	if (!to_stderr)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void
log_reopen(void)
{
	if (!log_stderr) {
		closelog();
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
	}
}

int
log_level_from_name(const char *s)
{
	if (str_caseeq(s, "debug"))
		return LOG_DEBUG;
	if (str_caseeq(s, "info"))
		return LOG_INFO;
	if (str_caseeq(s, "warning"))
		return LOG_WARNING;
	if (str_caseeq(s, "error"))
		return LOG_ERR;
	return -1;
}

const char *
log_safe(char *buf, size_t n, const char *s)
{
	size_t i;

	if (n == 0)
		return "";
	if (s == NULL)
		s = "";
	for (i = 0; i + 1 < n && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		buf[i] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
	}
	buf[i] = '\0';
	return buf;
}

void
log_msg(int level, const char *id, const char *subsys, const char *fmt, ...)
{
	char line[2048], *p;
	va_list ap;
	int n;

	if (level > log_min)
		return;
	n = snprintf(line, sizeof(line), "%s %s ", id && *id ? id : "-", subsys);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	for (p = line; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = '?';
	if (!log_stderr) {
		syslog(level, "%s", line);
		return;
	}
	{
		struct timespec ts;
		struct tm tm;
		char tbuf[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%S", &tm);
		pthread_mutex_lock(&log_mu);
		fprintf(stderr, "%s.%03ldZ %s %s\n", tbuf, ts.tv_nsec / 1000000,
		    level <= LOG_ERR ? "error" : level == LOG_WARNING ? "warning" :
		    level == LOG_DEBUG ? "debug" : "info", line);
		pthread_mutex_unlock(&log_mu);
	}
}
