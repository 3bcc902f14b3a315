/*
 * util.h - small helpers every layer uses: allocation that never returns
 * NULL (out of memory is fatal, as in Postfix's mymalloc), a bounded string
 * builder, ASCII case helpers, monotonic time and message/session ids.
 *
 * Entry points: x*alloc(), sbuf_*(), str_*(), time_mono_ms(), id_new().
 * Ownership: whatever x*alloc()/xstrdup() returns is the caller's to free().
 * A struct sbuf owns its buffer; sbuf_free() releases it, sbuf_steal()
 * hands it over.  Errors: sbuf functions set ->overflow instead of growing
 * past ->limit; callers check it once at the end.
 */
#ifndef MT_UTIL_H
#define MT_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define MT_PRINTF(f, a)	__attribute__((format(printf, f, a)))
#define MT_NORETURN	__attribute__((noreturn))

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
char	*xasprintf(const char *, ...) MT_PRINTF(1, 2);
MT_NORETURN void fatal(const char *, ...) MT_PRINTF(1, 2);

/* A growable byte string with a hard limit (0 = SBUF_DEFAULT_LIMIT). */
#define SBUF_DEFAULT_LIMIT	(64u * 1024 * 1024)
struct sbuf {
	char	*s;		/* owned; always NUL-terminated when non-NULL */
	size_t	 len;
	size_t	 cap;
	size_t	 limit;
	int	 overflow;	/* set when an append would pass limit */
};
void	 sbuf_init(struct sbuf *, size_t limit);
void	 sbuf_add(struct sbuf *, const void *, size_t);
void	 sbuf_adds(struct sbuf *, const char *);
void	 sbuf_addc(struct sbuf *, char);
void	 sbuf_printf(struct sbuf *, const char *, ...) MT_PRINTF(2, 3);
void	 sbuf_vprintf(struct sbuf *, const char *, va_list);
void	 sbuf_reset(struct sbuf *);
void	 sbuf_free(struct sbuf *);
char	*sbuf_steal(struct sbuf *);	/* never NULL; resets the sbuf */
const char *sbuf_str(const struct sbuf *);	/* "" when empty */

/* ASCII-only helpers (locale independent). */
static inline int
ascii_isalpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline int
ascii_isdigit(int c)
{
	return c >= '0' && c <= '9';
}

static inline int
ascii_isalnum(int c)
{
	return ascii_isalpha(c) || ascii_isdigit(c);
}

int	 ascii_lower(int);
void	 str_lower(char *);
int	 str_caseeq(const char *, const char *);
int	 str_ncaseeq(const char *, const char *, size_t);
int	 str_has_suffix_ci(const char *, const char *);
char	*str_trim(char *);
size_t	 str_copy(char *, const char *, size_t);	/* strlcpy */
int	 str_to_long(const char *, long min, long max, long *out);

/* Time. */
uint64_t time_mono_ms(void);
uint64_t time_real_ms(void);

/*
 * Identifiers: 12 characters from [0-9A-Z] (time-ordered prefix, random
 * suffix), used for sessions, messages and queue files.  buf >= ID_LEN + 1.
 */
#define ID_LEN	12
void	 id_new(char *buf);
int	 id_valid(const char *);

/* File helpers: write all or fail; fsync a directory. */
int	 write_all(int fd, const void *, size_t);
int	 fsync_dir(const char *path);
int	 read_file(const char *path, size_t limit, char **out, size_t *outlen);

#endif
