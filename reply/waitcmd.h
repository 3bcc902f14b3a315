/*
 * waitcmd.h - `mailtest wait`: the pipeline step that waits for the report
 * of a test message and checks its verdicts.
 *
 *   mailtest wait --tag T [--timeout S] [--expect spf=pass,dkim=pass,dmarc=pass]
 *                 [--url http://HOST:PORT] [--token TOKEN] [--format text|json]
 *
 * It long-polls GET /api/v1/wait of mailtestd's HTTP listener (http.h) -
 * again and again, each poll at most HTTP_WAIT_MAX seconds, until the
 * report arrives or --timeout passes - over plain HTTP/1.1 on a socket of
 * its own, every step bounded by a timeout.  The token may come from
 * MAILTEST_TOKEN and the URL from MAILTEST_URL instead of the command line
 * (a token in argv is visible to other users in ps).
 *
 * Exit status: 0 the report arrived and every expectation holds; 1 the
 * report arrived and an expectation does not hold (the report is printed
 * as text); 2 usage, connection or HTTP error (401 included); 3 no report
 * with that tag before the timeout.
 */
#ifndef MT_WAITCMD_H
#define MT_WAITCMD_H

#define WAIT_DEFAULT_URL	"http://127.0.0.1:8025"
#define WAIT_DEFAULT_TIMEOUT	60		/* seconds */
#define WAIT_MAX_TIMEOUT	86400
#define WAIT_CONNECT_TIMEOUT	10		/* seconds */
#define WAIT_IO_SLACK		15		/* seconds beyond the poll's own timeout */
#define WAIT_MAX_RESPONSE	(16L * 1024 * 1024)
#define WAIT_MAX_EXPECT		16

enum { WAIT_OK = 0, WAIT_EXPECT_FAILED = 1, WAIT_ERROR = 2, WAIT_TIMEOUT = 3 };

int	 waitcmd_main(int argc, char **argv);

#endif
