/*
 * t.h - a table-driven unit test harness in one header.
 *
 *   T_EQ_STR(got, want, "label")   T_EQ_INT(got, want, "label")   T_OK(cond, "label")
 *   return t_done("suite");        exit status 1 if any case failed
 *
 * Every check prints its label on failure with both values; t_done() prints
 * the count so the log shows how many cases ran.
 */
#ifndef MT_T_H
#define MT_T_H

#include <stdio.h>
#include <string.h>

static int t_run, t_fail;

#define T_OK(cond, label) do {						\
	t_run++;							\
	if (!(cond)) {							\
		t_fail++;						\
		fprintf(stderr, "FAIL %s:%d: %s: %s\n", __FILE__,	\
		    __LINE__, (label), #cond);				\
	}								\
} while (0)

#define T_EQ_INT(got, want, label) do {					\
	long long t_g = (long long)(got), t_w = (long long)(want);	\
	t_run++;							\
	if (t_g != t_w) {						\
		t_fail++;						\
		fprintf(stderr, "FAIL %s:%d: %s: got %lld, want %lld\n",\
		    __FILE__, __LINE__, (label), t_g, t_w);		\
	}								\
} while (0)

#define T_EQ_STR(got, want, label) do {					\
	const char *t_g = (got), *t_w = (want);				\
	t_run++;							\
	if ((t_g == NULL) != (t_w == NULL) ||				\
	    (t_g && strcmp(t_g, t_w) != 0)) {				\
		t_fail++;						\
		fprintf(stderr, "FAIL %s:%d: %s: got \"%s\", want \"%s\"\n",\
		    __FILE__, __LINE__, (label), t_g ? t_g : "(null)",	\
		    t_w ? t_w : "(null)");				\
	}								\
} while (0)

static inline int
t_done(const char *suite)
{
	printf("%s: %d checks, %d failed\n", suite, t_run, t_fail);
	return t_fail ? 1 : 0;
}

#endif
