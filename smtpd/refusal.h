/*
 * refusal.h - the reason word under which a refusing SMTP reply is counted
 * (mailtest_smtp_refused_total{reason=...}): one table from the reply's
 * code and enhanced status code (RFC 3463 classes: X.7.1 not authorised,
 * X.3.4 too big, X.5.3 too many recipients, X.6.0 bad content, X.4.6
 * loop, X.4.2 timeout, X.3.x system full, X.5.x protocol), with a few
 * texts to tell apart replies that share a code.
 *
 * Entry point: refusal_reason() - a static word, or NULL for a 4xx/5xx
 * that refuses nothing (421 4.3.2 at shutdown) and for any other reply.
 */
#ifndef MT_REFUSAL_H
#define MT_REFUSAL_H

const char *refusal_reason(const char *reply);

#endif
