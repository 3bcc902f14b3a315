/*
 * iprev.h - iprev (RFC 8601 3): forward-confirmed reverse DNS of the client.
 *
 * Entry point: iprev_check_run(); iprev_result_free().
 */
#ifndef MT_IPREV_H
#define MT_IPREV_H

#include "verify.h"

/* at most this many PTR names are forward-checked (cf. RFC 7208 4.6.4) */
#define IPREV_MAX_NAMES	10

void	 iprev_check_run(struct dns_resolver *, const char *ip, struct iprev_result *out);
void	 iprev_result_free(struct iprev_result *);

#endif
