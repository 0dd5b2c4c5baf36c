/*
 * Tests of hbd's configuration table: config/hbd.yaml, the documented
 * example, loads and states exactly the defaults the code applies; the
 * checks across keys name their problem; relative paths are anchored.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hb_error.h"
#include "hbd_conf.h"

static const char *example_path;

static void test_example_states_the_defaults(void **state)
{
	struct hb_conf_errors errs = {0};
	struct hbd_conf ex = {0}, def = {0};
	int rc = hb_conf_load_file(example_path, hbd_conf_table, &ex, NULL,
				   &errs);

	hb_conf_errors_print(&errs, stderr);
	assert_int_equal(rc, 0);
	assert_int_equal(hb_conf_defaults(hbd_conf_table, &def), 0);
	/* The example names a key file; the code has no default one. */
	assert_string_equal(ex.key_file, "/etc/hb/hb.key");
	assert_null(def.key_file);
	assert_int_equal(ex.listen.n, def.listen.n);
	assert_string_equal(ex.listen.v[0], def.listen.v[0]);
	assert_int_equal(ex.port, def.port);
	assert_string_equal(ex.database, def.database);
	assert_string_equal(ex.database, HBD_DEFAULT_DB);
	assert_int_equal(ex.security, def.security);
	assert_int_equal(ex.skew_ms, def.skew_ms);
	assert_true(ex.late_factor == def.late_factor);
	assert_true(ex.down_factor == def.down_factor);
	assert_int_equal(ex.hold_down_ms, def.hold_down_ms);
	assert_int_equal(ex.flap_window_ms, def.flap_window_ms);
	assert_int_equal(ex.flap_threshold, def.flap_threshold);
	assert_int_equal(ex.retention_ms, def.retention_ms);
	assert_int_equal(ex.receive_buffer, def.receive_buffer);
	assert_memory_equal(&ex.reassembly, &def.reassembly,
			    sizeof(ex.reassembly));
	assert_memory_equal(&ex.store, &def.store, sizeof(ex.store));
	assert_int_equal(ex.hooks.max_running, def.hooks.max_running);
	assert_int_equal(ex.hooks.max_queued, def.hooks.max_queued);
	assert_int_equal(ex.hooks.burst, def.hooks.burst);
	assert_true(ex.hooks.rate == def.hooks.rate);
	assert_int_equal(ex.hooks.commands.n, 0);
	assert_memory_equal(&ex.log, &def.log, sizeof(ex.log));
	assert_null(ex.user);
	assert_string_equal(ex.pid_file, def.pid_file);
	hbd_conf_free(&ex);
	hbd_conf_free(&def);
	hb_conf_errors_free(&errs);
}

/*
 * Writes text to a temporary file and loads it with hbd_conf_load; the
 * first per-key error, with the file name cut, goes to first[0..256).
 */
static int load_text_err(const char *text, struct hbd_conf *c,
			 const char **problem, char *first)
{
	char path[] = "/tmp/hbd-conf-XXXXXX";
	struct hb_conf_errors errs = {0};
	int fd = mkstemp(path), rc;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	rc = hbd_conf_load(path, c, &errs, problem);
	first[0] = '\0';
	if (errs.count)
		snprintf(first, 256, "%s", errs.v[0].text + strlen(path));
	if (*problem) /* names the file too */
		assert_memory_equal(*problem, path, strlen(path));
	unlink(path);
	hb_conf_errors_free(&errs);
	return rc;
}

static int load_text(const char *text, struct hbd_conf *c,
		     const char **problem)
{
	char first[256];

	return load_text_err(text, c, problem, first);
}

/* A hook's command is checked where it is written: file:line:col. */
static void test_hook_command_must_be_absolute(void **state)
{
	struct hbd_conf c = {0};
	const char *problem;
	char first[256];

	assert_int_equal(load_text_err("security: none\nhooks:\n  commands:\n"
				       "    - run: [page, -t]\n", &c, &problem,
				       first), HB_ESYNTAX);
	assert_null(problem);
	assert_string_equal(first, ":4:13: hooks.commands[0].run[0]: the command "
			    "must be an absolute path (hooks run without a "
			    "shell)");
	assert_int_equal(load_text("security: none\nhooks:\n  commands:\n"
				   "    - run: [/bin/true, x]\n      on: [UP]\n",
				   &c, &problem), 0);
	assert_int_equal(c.hooks.commands.n, 1);
	assert_string_equal(((struct hbd_hook_conf *)c.hooks.commands.v)->run.v[1],
			    "x");
	hbd_conf_free(&c);
}

static void test_cross_checks(void **state)
{
	static const struct {
		const char *text, *problem;
	} cases[] = {
		{"security: sign\n", "security sign or encrypt needs key_file"},
		{"security: none\nlate_factor: 3\n",
		 "down_factor must be larger than late_factor"},
		{"security: none\nlisten: [localhost]\n",
		 "listen: localhost is not an IPv4 or IPv6 address"},
		{"security: none\nuser: no-such-user-hb\n",
		 "user: no-such-user-hb: no such user"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hbd_conf c = {0};
		const char *problem;

		assert_int_equal(load_text(cases[i].text, &c, &problem),
				 HB_ESYNTAX);
		assert_non_null(problem);
		assert_non_null(strstr(problem, cases[i].problem));
	}
}

static void test_relative_paths_anchored(void **state)
{
	struct hbd_conf c = {0};
	const char *problem;
	char cwd[4096], want[4200];

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(load_text("security: sign\nkey_file: k/hb.key\n"
				   "database: /abs/hb.db\n", &c, &problem), 0);
	snprintf(want, sizeof(want), "%s/k/hb.key", cwd);
	assert_string_equal(c.key_file, want);
	assert_string_equal(c.database, "/abs/hb.db");
	hbd_conf_free(&c);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_states_the_defaults),
		cmocka_unit_test(test_cross_checks),
		cmocka_unit_test(test_hook_command_must_be_absolute),
		cmocka_unit_test(test_relative_paths_anchored),
	};

	example_path = getenv("HB_EXAMPLE") ? getenv("HB_EXAMPLE")
		       : argc > 1 ? argv[1] : "config/hbd.yaml";
	return cmocka_run_group_tests(tests, NULL, NULL);
}
