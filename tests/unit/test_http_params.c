/*
 * test_http_params - reply/http_api.c: RFC 3339 / epoch parsing of since=
 * and until= (offsets, fractions, a '+' that a form turned into a space,
 * what is refused), checked against timegm() values computed by hand.
 */
#include <stdint.h>
#include <stdio.h>

#include "../../reply/http.h"
#include "t.h"

int
main(void)
{
	static const struct {
		const char	*in;
		int		 rc;
		int64_t		 want;
		const char	*label;
	} tab[] = {
		{ "0", 0, 0, "epoch 0" },
		{ "1777636800", 0, 1777636800, "epoch seconds" },
		{ "2026-05-01T12:00:00Z", 0, 1777636800, "UTC" },
		{ "2026-05-01t12:00:00z", 0, 1777636800, "lower-case t and z (RFC 3339 5.6 NOTE)" },
		{ "2026-05-01T14:00:00+02:00", 0, 1777636800, "positive offset" },
		{ "2026-05-01T14:00:00 02:00", 0, 1777636800, "'+' decoded to a space" },
		{ "2026-05-01T09:30:00-02:30", 0, 1777636800, "negative offset" },
		{ "2026-05-01T12:00:00.999Z", 0, 1777636800, "fraction dropped" },
		{ "1970-01-01T00:00:00Z", 0, 0, "the epoch" },
		{ "9999-12-31T23:59:59Z", 0, INT64_C(253402300799), "the last second" },
		{ "2026-05-01T12:00:00", -1, 0, "no offset" },
		{ "2026-05-01 12:00:00Z", -1, 0, "space for T" },
		{ "2026-13-01T12:00:00Z", -1, 0, "month 13" },
		{ "2026-05-01T25:00:00Z", -1, 0, "hour 25" },
		{ "2026-05-01T12:00:00+24:00", -1, 0, "offset 24h" },
		{ "2026-05-01T12:00:00.Z", -1, 0, "empty fraction" },
		{ "2026-05-01T12:00:00Zjunk", -1, 0, "trailing text" },
		{ "1969-12-31T23:59:59Z", -1, 0, "before the epoch" },
		{ "1234567890123", -1, 0, "epoch too long" },
		{ "-5", -1, 0, "negative epoch" },
		{ "", -1, 0, "empty" },
		{ "yesterday", -1, 0, "words" },
	};

	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		int64_t t = -1;
		int rc = http_parse_time(tab[i].in, &t);

		T_EQ_INT(rc, tab[i].rc, tab[i].label);
		if (tab[i].rc == 0)
			T_EQ_INT(t, tab[i].want, tab[i].label);
	}
	return t_done("test_http_params");
}
