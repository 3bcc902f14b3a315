/*
 * msg.h - RFC 5322 message header parsing: the header block split into
 * fields, unfolding, and address lists (From:, Reply-To:) taken apart.
 *
 * msg_parse() indexes a message in place: fields point into the caller's
 * buffer, which must outlive the struct msg.  It accepts CRLF or bare LF
 * line endings (files on disk) and fails, with msg->error set, on what no
 * mail system should pass on: NUL bytes in the header, a header block
 * larger than the limit, more fields than the limit, a line that is neither
 * a field, a continuation nor the empty line.  8-bit bytes are allowed in
 * values (RFC 6532); msg->utf8_bad counts fields whose 8-bit bytes are not
 * valid UTF-8.
 *
 * msg_addrs_parse() implements RFC 5322 3.4 address-list syntax (display
 * names, quoted strings, comments, groups, obsolete routes rejected) and
 * returns every mailbox; it allocates the results (msg_addrs_free()).
 * Parts never hold CR or LF (folding inside quoted strings and domain
 * literals is removed), so an address cannot carry a line break onward.
 */
#ifndef MT_MSG_H
#define MT_MSG_H

#include <stddef.h>

#define MSG_MAX_HEADER_BYTES	(1024 * 1024)	/* default header block limit */
#define MSG_MAX_FIELDS		1000		/* default field count limit */
#define MSG_MAX_ADDRS		100		/* mailboxes in one field */

struct msg_field {
	const char	*name;		/* points into the message */
	size_t		 namelen;
	const char	*value;		/* after ':', with folding, no final EOL */
	size_t		 valuelen;
	const char	*raw;		/* the whole field, including its EOL */
	size_t		 rawlen;
};

struct msg {
	const char		*buf;	/* the caller's */
	size_t			 len;
	struct msg_field	*f;	/* owned; msg_free() */
	size_t			 nf;
	size_t			 header_len;	/* bytes of the header block */
	size_t			 body_off;	/* first body byte (== len if none) */
	int			 has_separator;	/* an empty line was found */
	int			 bare_lf;	/* some line ended in LF alone */
	int			 utf8_bad;	/* fields with invalid UTF-8 */
	char			 error[256];
};

struct msg_limits {
	size_t	max_header_bytes;	/* 0 = MSG_MAX_HEADER_BYTES */
	size_t	max_fields;		/* 0 = MSG_MAX_FIELDS */
};

int	 msg_parse(struct msg *, const char *buf, size_t len, const struct msg_limits *);
void	 msg_free(struct msg *);
/* Next field named name (case-insensitive) at or after *iter; NULL at end. */
const struct msg_field *msg_next(const struct msg *, const char *name, size_t *iter);
size_t	 msg_count(const struct msg *, const char *name);
/* Value unfolded (CR/LF of folds removed), leading/trailing WSP trimmed. */
char	*msg_field_unfold(const struct msg_field *);
/* First field's unfolded value, or NULL. */
char	*msg_get_value(const struct msg *, const char *name);

struct msg_addr {
	char	*display;	/* decoded display name or NULL */
	char	*local;		/* local-part as written (quotes removed) */
	char	*domain;	/* domain, lower-cased; NULL if none */
	char	*addr;		/* local@domain */
};

/* 0 ok (n may be 0 for an empty list), -1 syntax error with err set. */
int	 msg_addrs_parse(const char *value, struct msg_addr **out, size_t *n,
	    char *err, size_t errlen);
void	 msg_addrs_free(struct msg_addr *, size_t n);

/* Return-path style "<local@domain>" or "local@domain" -> parts; -1 bad. */
int	 msg_path_domain(const char *path, char *domain, size_t n);

#endif
