/*
 * textfmt.h - making untrusted strings safe to show to a person, and laying
 * text out in columns: used by the text and HTML reports and the advice.
 *
 * Every value in a report came from the tested message or from DNS and is
 * hostile: it may hold invalid UTF-8, control characters (CR, LF, ESC),
 * bidirectional overrides that reorder what a reader sees, or be megabytes
 * long.  textfmt_clean() turns any byte string into valid UTF-8 without
 * any of those, bounded in length; the other functions build on it.
 *
 * Entry points:
 *   textfmt_clean()   any bytes -> printable UTF-8 (allocated; caller frees)
 *   textfmt_cols()    display columns of clean UTF-8 (one per code point)
 *   textfmt_wrap()    append text wrapped at a width with hanging indents
 *   textfmt_html()    append clean text entity-escaped for HTML
 * Errors: none; out of memory is fatal (util.h).
 */
#ifndef MT_TEXTFMT_H
#define MT_TEXTFMT_H

#include <stddef.h>

#include "../common/util.h"

#define TEXTFMT_WIDTH		78	/* RFC 5322 2.1.1: SHOULD be no more than 78 */
#define TEXTFMT_MAX_VALUE	4096	/* bytes of one value shown in a report */

/*
 * Valid UTF-8, at most max bytes (plus "..." when cut, at a character
 * boundary).  Invalid sequences become U+FFFD; C0/C1 controls and DEL
 * become '?', except that TAB, CR and LF become a space when keep_space
 * is set (and '?' otherwise); bidi controls (U+061C, U+200E/F, U+202A-E,
 * U+2066-9) become '?'.  NULL gives "".
 */
char	*textfmt_clean(const char *s, size_t max, int keep_space);
size_t	 textfmt_cols(const char *s);
/*
 * Append s (cleaned) to b, word-wrapped so that no line is wider than width
 * columns.  The caller has already written col columns of the first line
 * (a label); later lines start with indent.  Words longer than a line are
 * cut.  Ends with a newline.
 */
void	 textfmt_wrap(struct sbuf *b, size_t col, const char *indent,
	    const char *s, size_t width);
void	 textfmt_html(struct sbuf *b, const char *s);

#endif
