/*
 * idn.h - internationalized domain names for DNS lookups (RFC 8616).
 *
 * In SMTPUTF8 mail (RFC 6531) the From: domain, the MAIL FROM domain and the
 * HELO name may hold U-labels ("bücher.example").  SPF, DKIM and DMARC look
 * their records up, and compare domains, in the A-label form
 * ("xn--bcher-kva.example"): RFC 8616 sections 3 and 5.  idn_to_ascii()
 * converts with libidn2 (IDNA2008 with the UTS #46 mapping, non-transitional,
 * as browsers and registries do).
 *
 * Entry point: idn_to_ascii().  The caller frees *out.  Errors: -1 with a
 * sentence in err.
 */
#ifndef MT_IDN_H
#define MT_IDN_H

#include <stddef.h>

/* 1: name has a non-ASCII octet (it needs idn_to_ascii). */
int	 idn_is_unicode(const char *name);
/*
 * name in ASCII: 0 and *out = NULL (use name as it is).  With U-labels:
 * 0 and *out = the A-label form (lower case, xmalloc'd).  Not a valid
 * internationalized name (or not UTF-8): -1, err says why.
 */
int	 idn_to_ascii(const char *name, char **out, char *err, size_t errlen);

#endif
