/* test_config - common/config.c: defaults, types, limits, file:line errors */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/config.h"
#include "../../common/util.h"
#include "t.h"

static char *
write_tmp(const char *text)
{
	char *path = xstrdup("/tmp/mt-config-XXXXXX");
	int fd = mkstemp(path);

	if (fd < 0 || write_all(fd, text, strlen(text)) < 0)
		fatal("mkstemp");
	close(fd);
	return path;
}

int
main(void)
{
	struct config c;
	char err[512], *p;
	static const struct { const char *text, *want; } bad[] = {
		{ "listen 127.0.0.1:25\nbogus_key 1\n", ":2: unknown key \"bogus_key\"" },
		{ "\n\nworkers many\n", ":3: workers: \"many\" is not a number" },
		{ "workers 0\n", ":1: workers: 0 is out of range (1 to 256)" },
		{ "message_size_limit 10Q\n", ":1: message_size_limit: \"10Q\" is not a size" },
		{ "smtp_bare_lf maybe\n", ":1: smtp_bare_lf: \"maybe\" is not one of reject|normalize" },
		{ "tls perhaps\n", ":1: tls: \"perhaps\" is not yes or no" },
		{ "workers 2\nworkers 3\n", ":2: \"workers\" is set twice" },
		{ "smtp_max_line 100\n", ":1: smtp_max_line: 100 is out of range" },
	};

	config_defaults(&c);
	T_EQ_STR(c.listen.v[0], "127.0.0.1:2525", "default listen");
	T_EQ_STR(c.check_address.v[0], "check@localhost", "default check address");
	T_EQ_INT(c.smtp_max_line, 512, "default command line limit");
	T_EQ_INT(c.smtp_max_text_line, 1000, "default text line limit");
	T_EQ_INT(c.message_size_limit, 10 * 1024 * 1024, "default size");
	T_EQ_INT(c.retry_min, 300, "duration default 5m");
	T_OK(c.hostname[0] != '\0', "hostname derived");
	T_EQ_STR(c.authserv_id, c.hostname, "authserv_id defaults to hostname");
	config_free(&c);

	p = write_tmp("# comment\nlisten 127.0.0.1:25, [::1]:25\nmessage_size_limit 20M\n"
	    "retry_max 2h\ntls no\nhostname mx.example.net\ncheck_address = \"a@x, b@y\"\n");
	T_EQ_INT(config_load(&c, p, err, sizeof(err)), 0, "good file");
	T_EQ_INT(c.listen.n, 2, "list of two");
	T_EQ_STR(c.listen.v[1], "[::1]:25", "second listen");
	T_EQ_INT(c.message_size_limit, 20 * 1024 * 1024, "size suffix");
	T_EQ_INT(c.retry_max, 7200, "duration suffix");
	T_EQ_INT(c.tls, 0, "bool");
	T_EQ_STR(c.authserv_id, "mx.example.net", "authserv_id follows hostname");
	T_EQ_INT(c.check_address.n, 2, "quoted list");
	config_free(&c);
	unlink(p);
	free(p);

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		p = write_tmp(bad[i].text);
		T_EQ_INT(config_load(&c, p, err, sizeof(err)), -1, bad[i].want);
		T_OK(strncmp(err, p, strlen(p)) == 0, "error names the file");
		T_OK(strstr(err, bad[i].want) != NULL, bad[i].want);
		if (strstr(err, bad[i].want) == NULL)
			fprintf(stderr, "  got: %s\n", err);
		config_free(&c);
		unlink(p);
		free(p);
	}
	/* config_load_buffer(): the same reader over memory */
	{
		static const char text[] = "listen 127.0.0.1:25\nworkers 7\ntls no";
		static const char badtext[] = "workers 7\n\nworkers x\n";

		T_EQ_INT(config_load_buffer(&c, "mem", text, sizeof(text) - 1, err,
		    sizeof(err)), 0, "buffer: loads (last line without LF)");
		T_EQ_INT(c.workers, 7, "buffer: value");
		T_EQ_INT(c.tls, 0, "buffer: last line read");
		T_OK(c.hostname[0] != '\0', "buffer: hostname derived");
		config_free(&c);
		T_EQ_INT(config_load_buffer(&c, "mem", badtext, sizeof(badtext) - 1, err,
		    sizeof(err)), -1, "buffer: error");
		T_OK(strncmp(err, "mem:3: ", 7) == 0, "buffer: error names NAME:LINE");
		config_free(&c);
		T_EQ_INT(config_load_buffer(&c, "mem", "", 0, err, sizeof(err)), 0,
		    "buffer: empty is the defaults");
		T_EQ_INT(c.workers, 4, "buffer: empty keeps defaults");
		config_free(&c);
	}
	T_EQ_INT(config_load(&c, "/nonexistent/mailtest.conf", err, sizeof(err)), -1, "missing file");
	T_OK(strstr(err, "No such file") != NULL, "missing file message");
	config_free(&c);
	return t_done("test_config");
}
