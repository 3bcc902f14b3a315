/*
 * log.h - one log line per event: "ID subsystem event key=value ...".
 *
 * log_open() chooses stderr (foreground, -f) or syslog (mail facility).
 * log_msg() never fails and never blocks on anything but the write itself;
 * values are sanitised (control characters become '?') so that a hostile
 * HELO cannot forge log lines.  Thread-safe.
 */
#ifndef MT_LOG_H
#define MT_LOG_H

#include <syslog.h>

#include "util.h"

void	log_open(const char *ident, int to_stderr, int min_level);
void	log_reopen(void);
void	log_msg(int level, const char *id, const char *subsys, const char *fmt, ...)
	    MT_PRINTF(4, 5);
int	log_level_from_name(const char *);
/* Copy s into buf (size n) with control and non-ASCII bytes replaced. */
const char *log_safe(char *buf, size_t n, const char *s);

#define log_info(id, sub, ...)	log_msg(LOG_INFO, id, sub, __VA_ARGS__)
#define log_warn(id, sub, ...)	log_msg(LOG_WARNING, id, sub, __VA_ARGS__)
#define log_err(id, sub, ...)	log_msg(LOG_ERR, id, sub, __VA_ARGS__)
#define log_debug(id, sub, ...)	log_msg(LOG_DEBUG, id, sub, __VA_ARGS__)

#endif
