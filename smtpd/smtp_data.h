/*
 * smtp_data.h - the DATA phase as a byte-at-a-time state machine: finds the
 * end of the message, removes dot-stuffing (RFC 5321 4.5.2) and notes what
 * makes a message unacceptable, however the input is split into reads.
 *
 * SMTP smuggling cannot pass through here: the message ends only at
 * <CRLF>.<CRLF> (RFC 5321 4.1.1.4), where the first CRLF may be the one
 * that ended the DATA command.  A bare LF or a bare CR (RFC 5321 2.3.8)
 * never ends a line for that purpose: with normalize off it is recorded
 * (SMTP_DATA_BARE_LF / _BARE_CR) and the caller refuses the message; with
 * normalize on it is stored as CRLF, and a "." line after it is content.
 *
 * Entry points: smtp_data_init(), smtp_data_feed() (returns how many octets
 * of the chunk belong to the message; the rest, after the final ".CRLF", is
 * the next pipelined command), smtp_data_count_received().
 * Ownership: the output sbuf is the caller's; the machine only appends to it,
 * and stops appending (SMTP_DATA_TOO_BIG) past max_size.
 * Errors: none returned; flags say what was seen.
 */
#ifndef MT_SMTP_DATA_H
#define MT_SMTP_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "../common/util.h"

#define SMTP_DATA_BARE_LF	0x01	/* an LF without CR before it */
#define SMTP_DATA_BARE_CR	0x02	/* a CR without LF after it */
#define SMTP_DATA_NUL		0x04	/* a NUL octet (RFC 5321 4.1.1.4 / RFC 6152) */
#define SMTP_DATA_LONG_LINE	0x08	/* a line over max_line octets with its CRLF */
#define SMTP_DATA_TOO_BIG	0x10	/* content past max_size was dropped */

struct smtp_data {
	/* set by smtp_data_init(); max_size may be lowered between feeds */
	struct sbuf	*out;		/* not owned: content is appended here */
	size_t		 max_size;	/* content octets kept */
	size_t		 max_line;	/* RFC 5321 4.5.3.1.6, wire octets with CRLF */
	int		 normalize;	/* bare CR/LF become CRLF (else flagged) */
	/* results */
	unsigned	 flags;		/* SMTP_DATA_* */
	int		 done;		/* the final .CRLF was seen */
	uint64_t	 size;		/* content octets (kept or not), unstuffed */
	uint64_t	 wire;		/* octets consumed, terminator included */
	/* private */
	int		 state;
	int		 bol_crlf;	/* the line began after a real CRLF */
	size_t		 line_len;
};

void	smtp_data_init(struct smtp_data *, struct sbuf *out, size_t max_size,
	    size_t max_line, int normalize);
size_t	smtp_data_feed(struct smtp_data *, const char *buf, size_t len);
/* Received: fields in the header section of msg (RFC 5321 6.3 loops). */
size_t	smtp_data_count_received(const char *msg, size_t len);

#endif
