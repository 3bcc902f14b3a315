/*
 * http_impl.h - what the HTTP server (http.c: listener, loop, pool,
 * long-polls, access) shares with its request handlers (http_api.c: the
 * parameters and the JSON answers; http_page.c: the HTML pages).  Not for
 * other modules: they use http.h.
 *
 * Handlers run on pool threads: they read the store and fill a response;
 * they never touch evhttp objects.
 */
#ifndef MT_HTTP_IMPL_H
#define MT_HTTP_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "../common/store.h"
#include "../common/util.h"
#include "http.h"

enum http_route {
	ROUTE_LIST,		/* GET /api/v1/reports */
	ROUTE_REPORT,		/* GET /api/v1/reports/ID */
	ROUTE_RAW,		/* GET /api/v1/reports/ID/raw-headers */
	ROUTE_WAIT,		/* GET /api/v1/wait */
	ROUTE_PAGE_LIST,	/* GET / */
	ROUTE_PAGE_REPORT,	/* GET /reports/ID */
};

/* The parameters of a request, validated on the loop before any query. */
struct http_params {
	char		 id[ID_LEN + 1];
	char		 tag[STORE_TAG_MAX + 1];	/* "" = none */
	char		 domain[HTTP_DOMAIN_MAX + 1];	/* lower case; "" = none */
	int64_t		 since, until;			/* 0 = none */
	enum store_mech	 vmech[STORE_MAX_VERDICTS];
	char		 vword[STORE_MAX_VERDICTS][16];
	size_t		 nverdict;
	size_t		 limit, offset;
	int		 timeout;			/* wait: seconds */
};

enum http_auth { HTTP_AUTH_NONE, HTTP_AUTH_BEARER, HTTP_AUTH_BASIC };

struct http_resp {
	int		 status;
	const char	*ctype;		/* static */
	char		*body;		/* owned; may be NULL (204) */
	size_t		 len;
	enum http_auth	 challenge;	/* WWW-Authenticate on 401 */
	int		 retry_after;	/* seconds, on 503; 0 = none */
};

/* What a handler sees of the server. */
struct http_ctx {
	struct store	*store;		/* borrowed */
	const char	*spool_dir;	/* record.h's key for the store */
	const char	*authserv_id;
};

#define HTTP_JSON	"application/json"
#define HTTP_HTML	"text/html; charset=utf-8"
#define HTTP_TEXT	"text/plain; charset=utf-8"

/* http_api.c */
int	 http_params_parse(enum http_route, const char *query, struct http_params *,
	    char *err, size_t errlen);
void	 http_error(struct http_resp *, int status, const char *fmt, ...)
	    MT_PRINTF(3, 4);
void	 http_api_list(const struct http_ctx *, const struct http_params *,
	    struct http_resp *);
void	 http_api_report(const struct http_ctx *, const char *id, struct http_resp *);
void	 http_api_raw(const struct http_ctx *, const char *id, struct http_resp *);
/* 1 found (resp filled), 0 not yet, -1 failed (resp filled with the error) */
int	 http_api_wait(const struct http_ctx *, const struct http_params *,
	    struct http_resp *);

/* http_page.c */
void	 http_page_error(struct http_resp *, int status, const char *msg);
void	 http_page_list(const struct http_ctx *, const struct http_params *,
	    struct http_resp *);
void	 http_page_report(const struct http_ctx *, const char *id, struct http_resp *);

#endif
