/*
 * spool.h - the durable spool of accepted messages.
 *
 * A message that got "250 queued as ID" is on disk: spool_commit() writes
 * the envelope and the message to tmp/, fsyncs the file, renames it into
 * incoming/ and fsyncs the directory before it returns 0.  Workers load
 * what is in incoming/ (also at start-up: nothing accepted is lost), and a
 * message is removed (spool_remove(), unlink + directory fsync) only once
 * its outcome was durably handed to the reply side (reply_process()).
 *
 * File format (incoming/ID): "MAILTEST-SPOOL 1" line, "key: value" lines
 * (values never contain CR or LF), an empty line, the message bytes.
 *
 * spool_commit_many() is the group commit: each file is written and
 * fsync'd, all are renamed, and incoming/ is fsync'd once for the batch.
 *
 * Entry points: spool_open(), spool_commit(), spool_commit_many(),
 * spool_list(), spool_load(), spool_remove(), spool_env_free().  Thread-safe.  Errors: -1 with err set
 * (disk full, permission) - the SMTP side answers 451 4.3.0 and keeps nothing.
 * Ownership: spool_load() fills an env the caller frees with
 * spool_env_free(), and a message buffer the caller free()s.
 */
#ifndef MT_SPOOL_H
#define MT_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define SPOOL_MAX_RCPT		1000

struct spool_env {
	char		 id[ID_LEN + 1];
	char		*received;	/* RFC 3339 UTC, when 250 was given */
	uint64_t	 received_ms;	/* realtime ms, for latency metrics */
	char		*client_ip;
	int		 client_port;
	char		*helo;
	char		*mail_from;	/* "" for the null sender */
	char		**rcpt;
	size_t		 nrcpt;
	char		*tag;		/* +tag of the first check address, or NULL */
	char		*tls_protocol;	/* NULL = no TLS */
	char		*tls_cipher;
	char		*proxy_peer;	/* the load balancer's address when PROXY was used */
};

struct spool;

struct spool *spool_open(const char *dir, char *err, size_t errlen);
void	 spool_close(struct spool *);
const char *spool_path(const struct spool *);
int	 spool_commit(struct spool *, const struct spool_env *, const char *msg,
	    size_t len, char *err, size_t errlen);
/* One message of a group commit: rc and err are filled per item. */
struct spool_item {
	const struct spool_env *env;
	const char	*msg;
	size_t		 len;
	int		 rc;		/* 0 = durable in incoming/ */
	char		 err[160];
};
/* Returns the number of items that failed (0 = all durable). */
size_t	 spool_commit_many(struct spool *, struct spool_item *, size_t n);
/* ids: sorted (oldest first), caller frees each and the array. */
int	 spool_list(struct spool *, char ***ids, size_t *n);
int	 spool_load(struct spool *, const char *id, struct spool_env *, char **msg,
	    size_t *len, char *err, size_t errlen);
int	 spool_remove(struct spool *, const char *id);
void	 spool_env_free(struct spool_env *);

#endif
