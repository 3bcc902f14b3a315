/*
 * signer.h - privilege separation for the report-signing key: a small
 * child process holds the DKIM private key and signs reports for the
 * daemon, which never opens the key file and never holds the key.
 *
 * signer_start() forks the child (call it before privileges are dropped
 * and before any thread that may hold a lock is started).  The child closes
 * every descriptor but its end of a socketpair and stderr, loads (or
 * generates) the key with dkimsign_new(), drops to the daemon's user when
 * asked, makes itself non-dumpable (no ptrace or /proc/PID/mem for the
 * same user), answers once with the public record, and then signs whole
 * composed reports, one request at a time:
 *
 *   frame    = length (4 octets, network order) payload
 *   request  = job-id NUL message           (message <= SIGNER_MAX_MSG)
 *   reply    = status ('0' ok | '1' error) text   (signature or error text)
 *   ready    = status generated ('0'|'1') key-path NUL record-owner NUL record
 *
 * The child exits on EOF on the socket (the parent closed it or died) and,
 * for a parent killed outright, through PR_SET_PDEATHSIG.  A child that
 * does not answer within SIGNER_TIMEOUT_S (signer.c) is killed and taken
 * for dead.  When the child dies the parent does not restart it (it may no longer be allowed to read
 * the key): every later signer_sign() fails with "signer process gone",
 * logged once with the child's exit status, and reports go out unsigned as
 * on any signing error (reply.c).
 *
 * Entry points: signer_start(), signer_sign() (thread-safe: one request at
 * a time), signer_record(), signer_name(), signer_key_path(),
 * signer_generated(), signer_zone_line(), signer_pid(), signer_stop().
 * Ownership: results of signer_sign() and signer_zone_line() are the
 * caller's to free(); the rest belongs to the struct.
 * Errors: NULL / -1 with a message in err.
 */
#ifndef MT_SIGNER_H
#define MT_SIGNER_H

#include <stddef.h>
#include <sys/types.h>

#include "dkimsign.h"

#define SIGNER_MAX_MSG		(64 * 1024 * 1024)	/* one composed report */
#define SIGNER_MAX_REPLY	(64 * 1024)		/* a signature, the record */
#define SIGNER_MAX_JOBID	64

struct signer;

struct signer_user {
	int	 drop;		/* setgid/setuid to uid/gid after loading the key */
	uid_t	 uid;
	gid_t	 gid;
};

struct signer *signer_start(const struct dkimsign_config *, const struct signer_user *,
	    char *err, size_t errlen);
char	*signer_sign(struct signer *, const char *msg, size_t len, const char *jobid,
	    char *err, size_t errlen);
const char *signer_record(const struct signer *);
const char *signer_name(const struct signer *);
const char *signer_key_path(const struct signer *);
int	 signer_generated(const struct signer *);
char	*signer_zone_line(const struct signer *);
pid_t	 signer_pid(const struct signer *);
void	 signer_stop(struct signer *);

#endif
