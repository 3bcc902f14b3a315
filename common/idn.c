/*
 * idn.c - U-labels to A-labels with libidn2 (see idn.h).
 */
#include <stdio.h>
#include <string.h>

#include <idn2.h>

#include "idn.h"
#include "util.h"

int
idn_is_unicode(const char *name)
{
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p >= 0x80)
			return 1;
	return 0;
}

int
idn_to_ascii(const char *name, char **out, char *err, size_t errlen)
{
	char *a = NULL;
	int rc;

	*out = NULL;
	if (!idn_is_unicode(name))
		return 0;
	rc = idn2_to_ascii_8z(name, &a, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
	if (rc != IDN2_OK) {
		snprintf(err, errlen, "%s", idn2_strerror(rc));
		return -1;
	}
	*out = xstrdup(a);
	idn2_free(a);
	str_lower(*out);
	return 0;
}
