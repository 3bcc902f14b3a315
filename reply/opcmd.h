/*
 * opcmd.h - the operator commands of `mailtest` that look at the reply
 * side's files (they work whether mailtestd runs or not):
 *
 *   mailtest queue [-c CONFIG]         incoming spool and outbound queue
 *   mailtest show ID [-c CONFIG] [--format text|json|html]
 *                                      a stored report and what became of it
 *   mailtest flush [-c CONFIG]         make deferred reports due now
 *   mailtest dkim-record [-c CONFIG]   the DNS record for the report key
 *                                      (generates the key if there is none)
 *
 * Without -c, SYSCONFDIR/mailtest/mailtest.conf is read when it exists,
 * else the built-in defaults.  Each returns the exit status: 0 done,
 * 1 failed (message on stderr), 2 usage.  argv[0] is the command name.
 */
#ifndef MT_OPCMD_H
#define MT_OPCMD_H

int	 opcmd_queue(int argc, char **argv);
int	 opcmd_show(int argc, char **argv);
int	 opcmd_flush(int argc, char **argv);
int	 opcmd_dkim_record(int argc, char **argv);

#endif
