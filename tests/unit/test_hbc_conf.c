/*
 * Tests of hbc's configuration: config/hbc.yaml, the documented example,
 * loads and states exactly the defaults the code applies (plugin
 * section keys included); errors name file:line:col; plugin sections
 * take the plugin's own keys but check the common ones; servers'
 * shorthands; relative paths anchored.
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
#include "hb_frame.h"
#include "hbc_conf.h"

static const char *example_path;

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text = calloc(1, 1 << 16);

	assert_non_null(f);
	assert_non_null(text);
	assert_true(fread(text, 1, (1 << 16) - 1, f) > 0);
	fclose(f);
	return text;
}

static void test_example_states_the_defaults(void **state)
{
	struct hb_conf_errors errs = {0};
	struct hbc_conf ex = {0}, def = {0};
	const struct hbc_server *sv;
	const char *problem;
	int rc = hbc_conf_load(example_path, &ex, &errs, &problem);

	hb_conf_errors_print(&errs, stderr);
	assert_int_equal(rc, 0);
	assert_int_equal(hb_conf_defaults(hbc_conf_table, &def), 0);
	/* The example names a key file; the code has no default one. */
	assert_string_equal(ex.key_file, "/etc/hb/hb.key");
	assert_null(def.key_file);
	/* The default server is applied by hbc_conf_load: the same one. */
	assert_int_equal(ex.servers.n, 1);
	sv = ex.servers.v;
	assert_string_equal(sv->host, HBC_DEFAULT_SERVER);
	assert_int_equal(sv->port, HB_PORT);
	assert_int_equal(ex.interval_ms, def.interval_ms);
	assert_string_equal(ex.state_dir, def.state_dir);
	assert_string_equal(ex.state_dir, HBC_DEFAULT_STATE_DIR);
	assert_null(ex.hostname);
	assert_null(def.hostname);
	assert_null(ex.owner);
	assert_int_equal(ex.labels.n, 0);
	assert_int_equal(ex.security, def.security);
	assert_string_equal(ex.plugin_dir, def.plugin_dir);
	assert_string_equal(ex.plugin_dir, HBC_DEFAULT_PLUGIN_DIR);
	assert_int_equal(ex.max_plugins, def.max_plugins);
	assert_int_equal(ex.failover_after, def.failover_after);
	assert_int_equal(ex.spool, def.spool);
	assert_int_equal(ex.retransmit_ms, def.retransmit_ms);
	assert_int_equal(ex.max_datagram, def.max_datagram);
	assert_int_equal(ex.max_datagram, HB_FRAME_DEFAULT);
	assert_memory_equal(&ex.log, &def.log, sizeof(ex.log));
	assert_int_equal(ex.n_plugins, 0);
	hbc_conf_free(&ex);
	hbc_conf_free(&def);
	hb_conf_errors_free(&errs);
}

/* The plugin keys are documented in a comment: "#   timeout: 10s". */
static void test_example_documents_plugin_keys(void **state)
{
	char *text = slurp(example_path), line[128];

	for (const struct hb_conf_key *k = hbc_plugin_table; k->name; k++) {
		snprintf(line, sizeof(line), "\n#   %s: %s", k->name,
			 k->def ? k->def : "");
		if (!strstr(text, line))
			fail_msg("config/hbc.yaml lacks \"%s\"", line + 1);
	}
	free(text);
}

/* Loads text named "t.yaml"; returns the code, errors in errs. */
static int load(const char *text, struct hbc_conf *c,
		struct hb_conf_errors *errs, const char **problem)
{
	memset(c, 0, sizeof(*c));
	memset(errs, 0, sizeof(*errs));
	return hbc_conf_load_string("t.yaml", text, c, errs, problem);
}

/* text must fail with one error starting with where (file:line:col). */
static void expect_error(const char *text, const char *where,
			 const char *what)
{
	struct hb_conf_errors errs;
	struct hbc_conf c;
	const char *problem;

	assert_int_equal(load(text, &c, &errs, &problem), HB_ESYNTAX);
	if (errs.count < 1)
		fail_msg("no error for: %s", text);
	if (strncmp(errs.v[0].text, where, strlen(where)) ||
	    !strstr(errs.v[0].text, what))
		fail_msg("got \"%s\", want %s...%s", errs.v[0].text, where,
			 what);
	hb_conf_errors_free(&errs);
}

static void test_errors_name_the_place(void **state)
{
	expect_error("security: none\nintervall: 10s\n", "t.yaml:2:1: ",
		     "unknown key");
	expect_error("security: none\nservers: [\"a:1\", \"b:99999\"]\n",
		     "t.yaml:2:18: servers[1]", "is not a server");
	expect_error("security: none\nservers: [\"::1\"]\n",
		     "t.yaml:2:11: servers[0]", "is not a server");
	expect_error("security: none\nservers:\n  - {host: x, port: 0}\n",
		     "t.yaml:3:21: servers[0].port", "out of range");
	expect_error("security: none\nservers:\n  - port: 7781\n",
		     "t.yaml:3:5: servers[0]", "host");
	expect_error("security: none\nlabels: {role: [web]}\n",
		     "t.yaml:2:16: labels.role", "bad label value");
	expect_error("security: none\nlabels: [a, b]\n", "t.yaml:2:9: labels",
		     "expected a mapping");
	expect_error("security: none\nlog: {modules: {disk: debug}}\n",
		     "t.yaml:2:17: log.modules.disk", "unknown module");
	expect_error("security: none\nmax_datagram: 100\n",
		     "t.yaml:2:15: max_datagram", "out of range");
}

static void test_too_many_labels(void **state)
{
	char text[2048] = "security: none\nlabels:\n";

	for (int i = 0; i < 33; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
			 "  l%d: v\n", i);
	expect_error(text, "t.yaml:3:3: labels", "33 labels");
}

static void test_servers_and_labels(void **state)
{
	struct hb_conf_errors errs;
	struct hbc_conf c;
	const struct hbc_server *sv;
	const char *problem;

	assert_int_equal(load("security: none\nservers:\n  - a.example\n"
			      "  - \"[2001:db8::1]:7000\"\n  - b:1\n"
			      "  - {host: c, port: 9}\n"
			      "labels: {role: web, rack: \"\"}\n",
			      &c, &errs, &problem), 0);
	sv = c.servers.v;
	assert_int_equal(c.servers.n, 4);
	assert_string_equal(sv[0].host, "a.example");
	assert_int_equal(sv[0].port, 7781);
	assert_string_equal(sv[1].host, "2001:db8::1");
	assert_int_equal(sv[1].port, 7000);
	assert_string_equal(sv[2].host, "b");
	assert_int_equal(sv[2].port, 1);
	assert_string_equal(sv[3].host, "c");
	assert_int_equal(sv[3].port, 9);
	assert_int_equal(c.labels.n, 2);
	assert_string_equal(c.labels.keys[0], "role");
	assert_string_equal(c.labels.values[0], "web");
	assert_string_equal(c.labels.keys[1], "rack");
	assert_string_equal(c.labels.values[1], "");
	hbc_conf_free(&c);
}

static void test_plugin_sections(void **state)
{
	struct hb_conf_errors errs;
	struct hbc_conf c;
	const struct hbc_plugin_conf *pc;
	const char *problem;

	assert_int_equal(load("security: none\nplugins:\n"
			      "  load: {interval: 30s, warning: 4,"
			      " mounts: [/, /var]}\n"
			      "  os:\n  nagios: {enabled: no, isolate: yes,"
			      " timeout: 20s}\n", &c, &errs, &problem), 0);
	assert_int_equal(c.n_plugins, 3);
	pc = hbc_conf_plugin(&c, "load");
	assert_non_null(pc);
	assert_true(pc->enabled);
	assert_int_equal(pc->interval_ms, 30000);
	assert_int_equal(pc->timeout_ms, 10000);
	assert_false(pc->isolate);
	/* The plugin's own keys stay in its section. */
	assert_string_equal(hb_conf_node_text(hb_conf_node_get(pc->section,
							       "warning")),
			    "4");
	pc = hbc_conf_plugin(&c, "os");
	assert_non_null(pc);
	assert_true(pc->enabled);
	assert_int_equal(pc->interval_ms, 0); /* the plugin's default */
	pc = hbc_conf_plugin(&c, "nagios");
	assert_false(pc->enabled);
	assert_true(pc->isolate);
	assert_int_equal(pc->timeout_ms, 20000);
	assert_null(hbc_conf_plugin(&c, "disk"));
	hbc_conf_free(&c);

	expect_error("security: none\nplugins:\n  load: {interval: soon}\n",
		     "t.yaml:3:20: plugins.load.interval", "duration");
	expect_error("security: none\nplugins:\n  load: {enabled: maybe}\n",
		     "t.yaml:3:19: plugins.load.enabled", "boolean");
	expect_error("security: none\nplugins:\n  \"no/slash\": {}\n",
		     "t.yaml:3:3: plugins.no/slash", "bad plugin name");
	expect_error("security: none\nplugins:\n  os: 1\n",
		     "t.yaml:3:7: plugins.os", "expected a mapping");
}

static void test_cross_checks(void **state)
{
	static const struct {
		const char *text, *problem;
	} cases[] = {
		{"security: sign\n", "security sign or encrypt needs key_file"},
		{"security: none\ninterval: 1500ms\n", "whole seconds"},
		{"security: none\nservers: [a, b, c, d, e, f, g, h, i]\n",
		 "servers: at most 8"},
		{"security: none\nhostname: \"\"\n", "hostname"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hb_conf_errors errs;
		struct hbc_conf c;
		const char *problem;

		assert_int_equal(load(cases[i].text, &c, &errs, &problem),
				 HB_ESYNTAX);
		assert_non_null(problem);
		assert_non_null(strstr(problem, cases[i].problem));
		hb_conf_errors_free(&errs);
	}
}

static void test_relative_paths_anchored(void **state)
{
	struct hb_conf_errors errs;
	struct hbc_conf c;
	const char *problem;
	char cwd[4096], want[4200];

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(load("key_file: k/hb.key\nstate_dir: /abs/state\n"
			      "plugin_dir: p\n", &c, &errs, &problem), 0);
	snprintf(want, sizeof(want), "%s/k/hb.key", cwd);
	assert_string_equal(c.key_file, want);
	snprintf(want, sizeof(want), "%s/p", cwd);
	assert_string_equal(c.plugin_dir, want);
	assert_string_equal(c.state_dir, "/abs/state");
	hbc_conf_free(&c);
}

static void test_hostport(void **state)
{
	static const struct {
		const char *s, *host;
		int64_t port;
	} ok[] = {
		{"h", "h", 7781}, {"h:1", "h", 1}, {"1.2.3.4:65535", "1.2.3.4",
						     65535},
		{"[::1]", "::1", 7781}, {"[fe80::1%eth0]:9", "fe80::1%eth0", 9},
	};
	static const char *const bad[] = {"", ":7781", "h:", "h:0", "h:x",
					  "::1", "[::1", "[::1]x", "h:70000"};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char *host = NULL;
		int64_t port = 0;

		assert_int_equal(hbc_parse_hostport(ok[i].s, &host, &port), 0);
		assert_string_equal(host, ok[i].host);
		assert_int_equal(port, ok[i].port);
		free(host);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *host = NULL;
		int64_t port = 0;

		if (hbc_parse_hostport(bad[i], &host, &port) != HB_ESYNTAX)
			fail_msg("'%s' accepted", bad[i]);
	}
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_states_the_defaults),
		cmocka_unit_test(test_example_documents_plugin_keys),
		cmocka_unit_test(test_errors_name_the_place),
		cmocka_unit_test(test_too_many_labels),
		cmocka_unit_test(test_servers_and_labels),
		cmocka_unit_test(test_plugin_sections),
		cmocka_unit_test(test_cross_checks),
		cmocka_unit_test(test_relative_paths_anchored),
		cmocka_unit_test(test_hostport),
	};

	example_path = getenv("HB_EXAMPLE") ? getenv("HB_EXAMPLE")
		       : argc > 1 ? argv[1] : "config/hbc.yaml";
	return cmocka_run_group_tests(tests, NULL, NULL);
}
