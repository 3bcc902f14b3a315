/*
 * mime.h - the report as an Internet message (RFC 5322, MIME RFC 2045-2049):
 * header fields that no value can break, RFC 2047 encoded-words,
 * quoted-printable and base64 bodies, and the multipart/mixed report.
 *
 * Entry points:
 *   mime_header()        "Name: value" folded to 78 columns; the value is
 *                        cleaned of CR/LF/controls and, where not plain
 *                        printable ASCII (or where it looks like an
 *                        encoded-word), RFC 2047-encoded as UTF-8
 *   mime_qp()            quoted-printable (RFC 2045 6.7) of text, line
 *                        breaks as CRLF, lines at most 76 characters
 *   mime_base64()        base64 in lines of 76 characters
 *   mime_msgid_ok()      is this a msg-id we may repeat in In-Reply-To?
 *   mime_date()          RFC 5322 3.3 date-time, UTC, locale independent
 *   mime_compose()       the whole report message, CRLF line endings,
 *                        7-bit clean (every part is 7bit, QP or base64)
 * Ownership: mime_compose() returns an allocated message (free()).
 * Errors: none; values are made safe instead of refused.
 */
#ifndef MT_MIME_H
#define MT_MIME_H

#include <stddef.h>
#include <time.h>

#include "../common/util.h"

#define MIME_LINE_MAX		78	/* RFC 5322 2.1.1 SHOULD */
#define MIME_ENCODED_WORD_MAX	75	/* RFC 2047 2 */
#define MIME_QP_LINE_MAX	76	/* RFC 2045 6.7 (5) */
#define MIME_MSGID_MAX		250	/* longer Message-IDs are not repeated */
#define MIME_HEADERS_MAX	(256 * 1024)	/* original header attached at most */

void	 mime_header(struct sbuf *, const char *name, const char *value);
void	 mime_qp(struct sbuf *, const char *text, size_t len);
void	 mime_base64(struct sbuf *, const void *data, size_t len);
/* The msg-id ("<left@right>") found in value, copied to out; -1 if none. */
int	 mime_msgid_ok(const char *value, char *out, size_t outlen);
void	 mime_date(time_t, char *buf, size_t n);

struct mime_report {
	const char	*id;		/* the tested message's queue id (boundaries, names) */
	const char	*from;		/* report_from address */
	const char	*to;		/* the recipient address (validated by the policy) */
	const char	*subject;	/* UTF-8, untrusted parts allowed */
	const char	*message_id;	/* ours, "<...>" */
	const char	*in_reply_to;	/* the tested message's Message-ID field, or NULL */
	const char	*loop_token;	/* X-Mailtest-Loop value (our host name) */
	time_t		 date;
	const char	*text;		/* text/plain report, UTF-8, LF line ends */
	const char	*html;		/* text/html report, UTF-8 */
	const char	*json;		/* application/json */
	const char	*orig_header;	/* the tested message's header block, as received */
	size_t		 orig_header_len;
};

char	*mime_compose(const struct mime_report *, size_t *len);

#endif
