/* refusal.c - reply -> refusal reason: see refusal.h */
#include <string.h>

#include "../common/util.h"
#include "refusal.h"

struct refusal_row {
	const char	*prefix;	/* code and enhanced code */
	const char	*text;		/* NULL: any text */
	const char	*reason;	/* NULL: not a refusal */
};

/* First match wins: specific rows before the general ones. */
static const struct refusal_row refusal_rows[] = {
	{ "421 4.3.2", NULL, NULL },			/* shutting down */
	{ "421 4.4.2", NULL, "timeout" },		/* idle, DATA, rate */
	{ "421 4.7.0", "Not an SMTP command", "protocol" },
	{ "421 4.7.0", "Too many connections", "connections" },
	{ "421 4.7.0", NULL, "limits" },		/* commands, errors, transactions */
	{ "421 4.3.0", NULL, "resources" },
	{ "550 5.7.1", NULL, "relay_denied" },		/* not a check address, relay tricks */
	{ "553 5.1.7", NULL, "relay_denied" },		/* source route */
	{ "552 5.3.4", NULL, "size" },
	{ "452 4.5.3", NULL, "recipients" },
	{ "452 4.3.1", NULL, "storage" },		/* smtp_data_memory */
	{ "451 4.3.0", NULL, "storage" },		/* spool write failed */
	{ "554 5.6.0", "bare ", "smuggling" },		/* bare LF / CR */
	{ "554 5.6.0", "NUL", "smuggling" },
	{ "554 5.6.0", NULL, "line_length" },
	{ "554 5.4.6", NULL, "loop" },
	{ "554 5.5.1", "before the greeting", "early_talker" },
	{ "554 5.5.1", NULL, "sequence" },		/* no valid recipients */
	{ "503 ", NULL, "sequence" },
	{ "553 5.6.7", NULL, "smtputf8" },
	{ "502 ", NULL, "not_implemented" },
	{ "5", NULL, "syntax" },			/* 500, 501, 555 */
	{ "4", NULL, "other" },
};

const char *
refusal_reason(const char *reply)
{
	if (reply == NULL || (reply[0] != '4' && reply[0] != '5'))
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(refusal_rows); i++) {
		const struct refusal_row *r = &refusal_rows[i];

		if (strncmp(reply, r->prefix, strlen(r->prefix)) != 0)
			continue;
		if (r->text && strstr(reply, r->text) == NULL)
			continue;
		return r->reason;
	}
	return NULL;
}
