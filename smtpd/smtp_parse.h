/*
 * smtp_parse.h - the pure parts of the SMTP command language (RFC 5321):
 * splitting a command line into verb and argument, the Path syntax of MAIL
 * FROM and RCPT TO (4.1.2) with the refusals a never-relaying server needs
 * (source routes, the percent hack, bang paths, quoted local parts with
 * "@"), the ESMTP parameters of MAIL (SIZE, BODY, SMTPUTF8), the match of a
 * recipient against the configured check addresses with an optional tag,
 * and the EHLO argument.
 *
 * Nothing here does I/O or keeps state: every function works on the caller's
 * strings and fills the caller's structs, so all of it is unit-tested
 * (tests/unit/test_smtp_parse.c).
 *
 * Entry points: smtp_cmd_parse(), smtp_path_parse(), smtp_mail_params_parse(),
 * smtp_check_address(), smtp_helo_valid(), smtp_addr_err_text().
 * Errors: each parser returns an error enum; *_text() names it for replies
 * and logs.
 * Ownership: smtp_cmd_parse() points into the line it was given; everything
 * else is copied into fixed-size fields of the caller's structs.
 */
#ifndef MT_SMTP_PARSE_H
#define MT_SMTP_PARSE_H

#include <stddef.h>

#include "../common/config.h"

/* RFC 5321 4.5.3.1.1: local-part at most 64 octets */
#define SMTP_MAX_LOCAL		64
/* RFC 5321 4.5.3.1.2: domain at most 255 octets */
#define SMTP_MAX_DOMAIN		255
/* RFC 5321 4.5.3.1.3: a path at most 256 octets, including "<" and ">" */
#define SMTP_MAX_PATH		256
/* our bound on a +tag: short words choose a report format */
#define SMTP_MAX_TAG		32
/* RFC 1870: SIZE=<number>; more than 20 digits cannot be a size */
#define SMTP_MAX_SIZE_DIGITS	20

enum smtp_cmd {
	SMTP_CMD_UNKNOWN = 0,	/* 500 5.5.2 */
	SMTP_CMD_HELO,
	SMTP_CMD_EHLO,
	SMTP_CMD_MAIL,
	SMTP_CMD_RCPT,
	SMTP_CMD_DATA,
	SMTP_CMD_RSET,
	SMTP_CMD_NOOP,
	SMTP_CMD_QUIT,
	SMTP_CMD_VRFY,
	SMTP_CMD_HELP,
	SMTP_CMD_STARTTLS,
	SMTP_CMD_NOTIMPL,	/* EXPN, AUTH, BDAT, ETRN, TURN: 502 5.5.1 */
	SMTP_CMD_FORBIDDEN,	/* GET, POST, CONNECT, ...: not SMTP, close */
	SMTP_CMD_COUNT
};

enum smtp_cmd_err {
	SMTP_CMD_OK = 0,
	SMTP_CMD_EMPTY,		/* empty line */
	SMTP_CMD_BADCHAR,	/* NUL, CR, LF or another control character */
	SMTP_CMD_NOVERB,	/* unknown verb */
	SMTP_CMD_SYNTAX		/* MAIL without FROM:, RCPT without TO: */
};

struct smtp_cmdline {
	enum smtp_cmd	 cmd;
	const char	*verb;	/* canonical spelling, static */
	const char	*arg;	/* into the line: after "FROM:" / "TO:" / the verb
				 * and its space; "" when none; never NULL */
};

/*
 * line: one command line without its CRLF; len: its length as read (a NUL
 * inside makes len differ from strlen and is SMTP_CMD_BADCHAR).  Trailing
 * spaces are cut off in place.
 */
enum smtp_cmd_err smtp_cmd_parse(char *line, size_t len, struct smtp_cmdline *);

/* Path flags */
#define SMTP_PATH_REVERSE	0x01	/* MAIL FROM: "<>" allowed */
#define SMTP_PATH_FORWARD	0x02	/* RCPT TO: relay refusals apply */

enum smtp_addr_err {
	SMTP_ADDR_OK = 0,
	SMTP_ADDR_SYNTAX,		/* not a Path */
	SMTP_ADDR_TOO_LONG,		/* 4.5.3.1.1-3 */
	SMTP_ADDR_NO_DOMAIN,		/* a mailbox without "@domain" */
	SMTP_ADDR_BAD_DOMAIN,
	SMTP_ADDR_BAD_UTF8,		/* 8-bit that is not UTF-8 */
	SMTP_ADDR_SOURCE_ROUTE,		/* "<@a,@b:user@c>" */
	SMTP_ADDR_PERCENT,		/* "user%other@here" */
	SMTP_ADDR_BANG,			/* "other!user@here" */
	SMTP_ADDR_QUOTED_AT		/* "\"user@other\"@here" */
};

struct smtp_path {
	char		 addr[SMTP_MAX_PATH + 1];	/* mailbox without <>; "" = <> */
	int		 null;		/* the null reverse-path "<>" */
	int		 postmaster;	/* the bare "<postmaster>" (4.5.1) */
	int		 utf8;		/* non-ASCII octets in it (RFC 6531) */
	const char	*params;	/* into the argument: after ">" and spaces */
};

enum smtp_addr_err smtp_path_parse(const char *arg, int flags, struct smtp_path *);
const char *smtp_addr_err_text(enum smtp_addr_err);

enum smtp_param_err {
	SMTP_PARAM_OK = 0,
	SMTP_PARAM_SYNTAX,	/* not keyword[=value] */
	SMTP_PARAM_UNKNOWN,	/* keyword we do not offer */
	SMTP_PARAM_DUPLICATE,
	SMTP_PARAM_BAD_VALUE
};

struct smtp_mail_params {
	long long	 size;		/* SIZE=, -1 when absent */
	int		 body8;		/* BODY=8BITMIME */
	int		 smtputf8;	/* SMTPUTF8 */
	char		 bad[32];	/* the offending keyword, for the reply */
};

enum smtp_param_err smtp_mail_params_parse(const char *params,
	    struct smtp_mail_params *);

/*
 * Match addr (a forward-path mailbox) against the check addresses: the same
 * local part, or local part + sep + tag, and the same domain (ASCII case
 * ignored).  Tags are 1..SMTP_MAX_TAG of [A-Za-z0-9._=-].  Returns the index
 * of the matching check address (tag, size taglen, set to the tag or "") or
 * -1.
 */
int	smtp_check_address(const struct config_list *checks, const char *sep,
	    const char *addr, char *tag, size_t taglen);

/* EHLO/HELO argument: 1..255 printable ASCII octets, no spaces. */
int	smtp_helo_valid(const char *);

#endif
