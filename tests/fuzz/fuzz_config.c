/*
 * fuzz_config - common/config.c on arbitrary bytes.
 *
 *  1. the whole input as a configuration file (config_load_buffer(), the
 *     same line reader as config_load());
 *  2. config_set() on the defaults with the input split into key and value:
 *     "KEY\0VALUE", or, when the first byte is 0xff, a key picked from the
 *     table by the second byte (the names come from config_dump()) and the
 *     rest as its value, so every type's value parser gets fuzzed;
 *  3. config_parse_size()/duration()/bool() on the value.
 *
 * Invariants: a failure says where ("fuzz.conf:LINE: ..." or the key) and
 * leaves a configuration that config_dump() and config_free() handle; a
 * success leaves every string key set and every list within
 * CONFIG_MAX_LIST; parsed sizes and durations are not negative.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/config.h"
#include "../../common/util.h"
#include "fuzz.h"

#define CONF_NAME	"fuzz.conf"

static char	**key_names;
static size_t	  nkeys;

/* Every key name, in table order, as config_dump() prints them. */
static void
load_key_names(void)
{
	struct config c;
	char *text = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *f;

	config_defaults(&c);
	if ((f = open_memstream(&text, &len)) == NULL)
		abort();
	config_dump(&c, f);
	fclose(f);
	config_free(&c);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		key_names = xreallocarray(key_names, nkeys + 1, sizeof(*key_names));
		key_names[nkeys++] = xstrndup(line, strcspn(line, " "));
	}
	free(text);
	FUZZ_CHECK(nkeys > 10, "config_dump() printed %zu keys", nkeys);
}

/* loaded: hostname and authserv_id were derived (config_set() does not) */
static void
check_config(const struct config *c, int loaded)
{
	const struct config_list *lists[] = {
		&c->listen, &c->proxy_listen, &c->proxy_trusted, &c->check_address,
		&c->reply_tags, &c->dns_server,
	};
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	FUZZ_CHECK(c->hostname && c->authserv_id, "hostname/authserv_id unset");
	if (loaded)
		FUZZ_CHECK(c->hostname[0] && c->authserv_id[0],
		    "hostname/authserv_id not derived");
	FUZZ_CHECK(c->spool_dir && c->log_level && c->smtp_bare_lf && c->relay_tls,
	    "a string key is unset");
	for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
		FUZZ_CHECK(lists[i]->n <= CONFIG_MAX_LIST, "list %zu has %zu values",
		    i, lists[i]->n);
		for (size_t j = 0; j < lists[i]->n; j++)
			FUZZ_CHECK(lists[i]->v[j] && lists[i]->v[j][0] &&
			    strpbrk(lists[i]->v[j], ", \t") == NULL,
			    "list %zu value %zu is empty or holds a separator", i, j);
	}
	if ((f = open_memstream(&text, &len)) == NULL)
		abort();
	config_dump(c, f);
	fclose(f);
	free(text);
}

static void
fuzz_set(const char *key, const char *value)
{
	struct config c;
	char err[512];
	long v;
	int b;

	config_defaults(&c);
	err[0] = '\0';
	if (config_set(&c, key, value, err, sizeof(err)) < 0)
		FUZZ_CHECK(err[0] != '\0', "config_set failed without a message");
	check_config(&c, 0);
	config_free(&c);
	if (config_parse_size(value, &v) == 0)
		FUZZ_CHECK(v >= 0, "size %ld", v);
	if (config_parse_duration(value, &v) == 0)
		FUZZ_CHECK(v >= 0, "duration %ld", v);
	if (config_parse_bool(value, &b) == 0)
		FUZZ_CHECK(b == 0 || b == 1, "bool %d", b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c;
	char err[512], *copy;

	if (key_names == NULL)
		load_key_names();

	/* 1. as a file */
	err[0] = '\0';
	if (config_load_buffer(&c, CONF_NAME, (const char *)data, size, err,
	    sizeof(err)) < 0)
		FUZZ_CHECK(strncmp(err, CONF_NAME ":", strlen(CONF_NAME) + 1) == 0,
		    "error does not name the file: \"%s\"", err);
	check_config(&c, 1);
	config_free(&c);

	/* 2. and 3. key and value */
	copy = xmalloc(size + 1);
	memcpy(copy, data, size);
	copy[size] = '\0';
	if (size >= 2 && data[0] == 0xff)
		fuzz_set(key_names[data[1] % nkeys], copy + 2);
	else
		fuzz_set(copy, copy + strlen(copy) + (strlen(copy) < size));
	free(copy);
	return 0;
}
