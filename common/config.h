/*
 * config.h - the configuration: one file of "KEY value" lines, read once at
 * start-up (and on SIGHUP) through a typed table (name, type, default,
 * min, max), as Postfix and dma do.  Every key has a default, so an empty
 * or absent file is a working configuration (the embedded default: loopback
 * port 2525, check@localhost, spool in ./mailtest-spool).
 *
 * Entry points: config_defaults(), config_load() (config_load_buffer() from
 * memory), config_set(), config_free(), config_dump() (prints every key with
 * its current value: `mailtestd -n`).
 * Errors: config_load()/config_set() return -1 and write "FILE:LINE: what"
 * into err.  Unknown keys and bad values are errors, never ignored.
 * Ownership: strings and lists in struct config are owned by it.
 */
#ifndef MT_CONFIG_H
#define MT_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#define CONFIG_MAX_LIST		16	/* entries in a list-valued key */
#define CONFIG_MAX_LINE		4096

struct config_list {
	size_t	 n;
	char	*v[CONFIG_MAX_LIST];
};

struct config {
	/* identity */
	char	*hostname;		/* myhostname: greeting, Received:, reports */
	char	*authserv_id;		/* Authentication-Results authserv-id */
	/* listeners */
	struct config_list listen;	/* SMTP listen addresses */
	struct config_list proxy_listen;/* listeners that expect a PROXY header */
	struct config_list proxy_trusted; /* CIDRs allowed to send PROXY headers */
	char	*metrics_listen;	/* Prometheus endpoint, "" = off */
	char	*http_listen;		/* report API/web, "" = off */
	char	*http_token;		/* bearer token (required off loopback) */
	/* addresses */
	struct config_list check_address;	/* accepted recipients */
	char	*tag_separator;		/* "+" : check+TAG@ */
	/* process */
	char	*spool_dir;
	char	*user;			/* drop privileges to this user, "" = stay */
	char	*log_level;
	long	 workers;		/* verification threads */
	long	 shutdown_timeout;	/* seconds to finish sessions on SIGTERM */
	/* SMTP limits */
	long	 smtp_max_line;		/* command line octets, RFC 5321 4.5.3.1.4 */
	long	 smtp_max_text_line;	/* text line octets, RFC 5321 4.5.3.1.6 */
	long	 message_size_limit;
	long	 smtp_max_recipients;
	long	 smtp_max_commands;
	long	 smtp_max_bad_commands;
	long	 smtp_max_transactions;
	long	 smtp_idle_timeout;	/* seconds */
	long	 smtp_data_timeout;	/* seconds for the whole DATA phase */
	long	 smtp_min_data_rate;	/* bytes/s, checked after the first 30 s */
	long	 smtp_data_rate_grace;	/* seconds of DATA before the rate is checked */
	long	 smtp_max_connections;
	long	 smtp_max_connections_per_ip;
	long	 smtp_greet_pause_ms;	/* wait before the banner; talkers are refused */
	long	 smtp_data_memory;	/* all sessions' DATA buffers together */
	char	*smtp_bare_lf;		/* reject | normalize */
	long	 smtp_received_limit;	/* Received: hops before refusing (loop) */
	/* TLS */
	int	 tls;
	char	*tls_cert;
	char	*tls_key;
	char	*tls_ciphers;
	/* DNS */
	struct config_list dns_server;
	long	 dns_timeout_ms;
	long	 dns_attempts;
	long	 dns_cache_size;
	long	 dns_max_ttl;
	/* verification */
	long	 dkim_max_signatures;
	long	 dkim_min_key_bits;
	char	*public_suffix_list;
	int	 domain_check;		/* check the sender's domain records too */
	/* the report and the reply */
	int	 reply;			/* send reports at all */
	char	*report_from;		/* From: of reports; "" = mailtest@hostname */
	struct config_list reply_tags;	/* tags that may redirect: from, replyto */
	char	*reply_policy;		/* always | authenticated */
	long	 rate_per_address;	/* replies per hour */
	long	 rate_per_domain;
	long	 rate_per_ip;
	char	*dkim_sign_key;		/* PEM; "" = generate under spool_dir */
	char	*dkim_sign_selector;
	char	*dkim_sign_domain;	/* "" = domain of report_from */
	char	*dkim_sign_algorithm;	/* rsa-sha256 | ed25519-sha256 */
	/* delivery */
	char	*relay;			/* HOST[:PORT], "" = MX */
	char	*relay_tls;		/* none | may | require | verify */
	char	*relay_tls_ca;		/* verify: CA file, "" = the system's */
	char	*relay_user;
	char	*relay_password_file;
	char	*smtp_client_tls;	/* MX delivery: may | none */
	long	 delivery_threads;
	long	 delivery_timeout;	/* seconds per SMTP step */
	long	 retry_min;		/* first back-off, seconds */
	long	 retry_max;		/* maximal back-off */
	long	 queue_lifetime;	/* give up after, seconds */
	long	 delivery_port;		/* MX port (25; tests use others) */
	/* store */
	char	*store;			/* sqlite:PATH | postgresql:CONNINFO | "" = spool_dir/reports.db */
	long	 report_retention;	/* seconds */
};

void	config_defaults(struct config *);
int	config_load(struct config *, const char *path, char *err, size_t errlen);
/* The same from memory (tests, fuzzing); name stands for the file in errors. */
int	config_load_buffer(struct config *, const char *name, const char *buf,
	    size_t len, char *err, size_t errlen);
int	config_set(struct config *, const char *key, const char *value,
	    char *err, size_t errlen);
void	config_free(struct config *);
void	config_dump(const struct config *, FILE *);
/* Helpers for modules. */
int	config_parse_bool(const char *, int *);
int	config_parse_size(const char *, long *);	/* "10M", "512k", "100" */
int	config_parse_duration(const char *, long *);	/* "30s", "5m", "2h", "3d" -> s */

#endif
