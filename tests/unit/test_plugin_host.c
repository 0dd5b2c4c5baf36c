/*
 * Unit tests of hbc's plugin host against the fixture plugins of
 * tests/plugins/, built as .so files into the directory named by
 * HB_TEST_PLUGINS (or argv[1]): loading and every refusal with its exact
 * reason; the data of a collect() decoded to JSON and compared exactly;
 * config values of every type, and defaults for absent or mistyped
 * ones; the log line format; cleanup() at unload; descriptors shorter
 * than today's; run_command through the api; and the result builder's
 * limits and errors, driven by fx_script's op lists.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hb_conf.h"
#include "hb_error.h"
#include "hb_json.h"
#include "hb_log.h"
#include "hb_time.h"
#include "plugin_host.h"

static const char *plugdir;

static const struct plugin_host_info t_info = {
	.host_id = "10111213-1415-1617-1819-1a1b1c1d1e1f",
	.hostname = "web-1",
};

/* --- helpers ----------------------------------------------------------- */

static const char *so(const char *name)
{
	static char path[4096];

	snprintf(path, sizeof(path), "%s/%s.so", plugdir, name);
	return path;
}

/* hbc.yaml stand-in: one plugin section. */
struct t_conf {
	const struct hb_conf_node *plugin;
};

static const struct hb_conf_key t_table[] = {
	{.name = "plugin",
	 .type = HB_CONF_NODE,
	 .offset = offsetof(struct t_conf, plugin)},
	HB_CONF_END,
};

/* Parses yaml and returns its "plugin" section; *doc to free. */
static const struct hb_conf_node *section(const char *yaml,
					  struct hb_conf_doc **doc)
{
	struct hb_conf_errors errs = {0};
	struct t_conf c = {0};
	int rc = hb_conf_load_string("t.yaml", yaml, strlen(yaml), t_table,
				     &c, doc, &errs);

	if (rc) {
		hb_conf_errors_print(&errs, stderr);
		hb_conf_errors_free(&errs);
		fail_msg("config did not load: %d", rc);
	}
	return c.plugin;
}

static struct plugin_host *load_ok(const char *name,
				   const struct hb_conf_node *sec,
				   const struct plugin_host_info *info)
{
	struct plugin_host *p = NULL;
	char err[256];
	int rc = plugin_host_load(so(name), sec, info, &p, err, sizeof(err));

	if (rc)
		fail_msg("%s: %d: %s", name, rc, err);
	return p;
}

/* json()'s buffer, one per thread. */
static __thread struct hb_buf json_buf;

/* The sample's data as JSON (valid until the thread's next call). */
static const char *json(const struct plugin_sample *s)
{
	hb_buf_free(&json_buf);
	assert_non_null(s->data);
	assert_int_equal(hb_json_from_msgpack(s->data, s->len, &json_buf), 0);
	return json_buf.data;
}

static struct plugin_sample collect_ok(struct plugin_host *p)
{
	struct plugin_sample s;
	uint64_t t0 = hb_unix_ms();

	assert_int_equal(plugin_host_collect(p, &s), 0);
	assert_true(s.time_ms >= t0 && s.time_ms <= hb_unix_ms());
	return s;
}

/* Appends ops to yaml as fx_script's "ops" list, double-quoted. */
static void ops_yaml(char *yaml, size_t cap, const char *const *ops)
{
	size_t n = (size_t)snprintf(yaml, cap, "plugin:\n  ops:\n");

	for (; *ops; ops++) {
		n += (size_t)snprintf(yaml + n, cap - n, "    - \"");
		for (const unsigned char *c = (const void *)*ops; *c; c++)
			n += (size_t)snprintf(yaml + n, cap - n,
					      *c == '"' || *c == '\\' ? "\\%c"
					      : *c < 0x20		 ? "\\x%02x"
								 : "%c",
					      *c);
		n += (size_t)snprintf(yaml + n, cap - n, "\"\n");
		assert_true(n < cap);
	}
}

/* Runs fx_script's collect() once over ops (NULL-terminated). */
static struct plugin_sample script(const char *const *ops)
{
	static char yaml[8192];
	struct hb_conf_doc *doc = NULL;
	struct plugin_host *p;
	struct plugin_sample s;

	ops_yaml(yaml, sizeof(yaml), ops);
	p = load_ok("fx_script", section(yaml, &doc), NULL);
	s = collect_ok(p);
	plugin_host_unload(p);
	hb_conf_doc_free(doc);
	return s;
}

/* Runs ops and checks the outcome is this JSON with status OK. */
#define SCRIPT_JSON(want, ...)                                            \
	do {                                                              \
		const char *ops_[] = {__VA_ARGS__, NULL};                 \
		struct plugin_sample s_ = script(ops_);                   \
		assert_string_equal(s_.message, "");                      \
		assert_int_equal(s_.status, HB_PLUGIN_OK);                \
		assert_string_equal(json(&s_), want);                     \
		plugin_sample_free(&s_);                                  \
	} while (0)

/* Runs ops and checks they fail: UNKNOWN, this message, no data. */
#define SCRIPT_FAILS(msg, ...)                                            \
	do {                                                              \
		const char *ops_[] = {__VA_ARGS__, NULL};                 \
		struct plugin_sample s_ = script(ops_);                   \
		assert_int_equal(s_.status, HB_PLUGIN_UNKNOWN);           \
		assert_string_equal(s_.message, msg);                     \
		assert_null(s_.data);                                     \
		assert_int_equal(s_.len, 0);                              \
		plugin_sample_free(&s_);                                  \
	} while (0)

/* stderr into a file, for log lines. */
static FILE *cap_file;
static int cap_saved = -1;

static void capture_begin(void)
{
	fflush(stderr);
	cap_file = tmpfile();
	assert_non_null(cap_file);
	cap_saved = dup(2);
	dup2(fileno(cap_file), 2);
}

static const char *capture_end(void)
{
	static char buf[4096];
	size_t n;

	fflush(stderr);
	dup2(cap_saved, 2);
	close(cap_saved);
	rewind(cap_file);
	n = fread(buf, 1, sizeof(buf) - 1, cap_file);
	buf[n] = '\0';
	fclose(cap_file);
	return buf;
}

/* --- loading ----------------------------------------------------------- */

static void test_good_defaults(void **state)
{
	struct plugin_host *p = load_ok("fx_good", NULL, NULL);
	struct plugin_sample s;

	assert_string_equal(plugin_host_name(p), "fx_good");
	assert_int_equal(plugin_host_kind(p), HB_PLUGIN_INFO);
	assert_int_equal(plugin_host_default_interval(p), 0);
	assert_string_equal(plugin_host_path(p), so("fx_good"));
	s = collect_ok(p);
	assert_int_equal(s.status, HB_PLUGIN_OK);
	assert_string_equal(s.message, "");
	assert_string_equal(
		json(&s),
		"{\"greeting\":\"hello\",\"count\":1,\"ratio\":0.5,"
		"\"flag\":false,\"items\":[],\"s\":\"text\",\"neg\":-5,"
		"\"big\":18446744073709551615,\"pi\":3.25,\"yes\":true,"
		"\"no\":false,\"nothing\":null,\"nested\":{\"a\":1,"
		"\"list\":[1,\"two\",3.5,{\"k\":\"v\"},[]]},\"host_id\":\"\","
		"\"hostname\":\"\",\"collects\":1}");
	plugin_sample_free(&s);
	plugin_sample_free(&s); /* twice is harmless */
	plugin_host_unload(p);
	plugin_host_unload(NULL);
}

static void test_good_config(void **state)
{
	struct hb_conf_doc *doc = NULL;
	const struct hb_conf_node *sec = section(
		"plugin:\n"
		"  greeting: \"hi: there\"\n"
		"  count: 42\n"
		"  ratio: 2.5\n"
		"  flag: yes\n"
		"  items: [a, b, 'c d']\n",
		&doc);
	struct plugin_host *p = load_ok("fx_good", sec, &t_info);
	struct plugin_sample s = collect_ok(p);

	assert_string_equal(
		json(&s),
		"{\"greeting\":\"hi: there\",\"count\":42,\"ratio\":2.5,"
		"\"flag\":true,\"items\":[\"a\",\"b\",\"c d\"],\"s\":\"text\","
		"\"neg\":-5,\"big\":18446744073709551615,\"pi\":3.25,"
		"\"yes\":true,\"no\":false,\"nothing\":null,\"nested\":{\"a\":1,"
		"\"list\":[1,\"two\",3.5,{\"k\":\"v\"},[]]},"
		"\"host_id\":\"10111213-1415-1617-1819-1a1b1c1d1e1f\","
		"\"hostname\":\"web-1\",\"collects\":1}");
	plugin_sample_free(&s);
	/* State from init() lives across collections. */
	s = collect_ok(p);
	assert_non_null(strstr(json(&s), "\"collects\":2}"));
	plugin_sample_free(&s);
	plugin_host_unload(p);
	hb_conf_doc_free(doc);
}

/* Mistyped values give the defaults; hbc.yaml's own syntax applies. */
static void test_config_types(void **state)
{
	struct hb_conf_doc *doc = NULL;
	const struct hb_conf_node *sec = section(
		"plugin:\n"
		"  greeting: {a: 1}\n"
		"  count: 12abc\n"
		"  ratio: inf\n"
		"  flag: maybe\n"
		"  items: single\n",
		&doc);
	struct plugin_host *p = load_ok("fx_good", sec, NULL);
	struct plugin_sample s = collect_ok(p);

	assert_non_null(strstr(json(&s),
			       "{\"greeting\":\"hello\",\"count\":1,"
			       "\"ratio\":0.5,\"flag\":false,"
			       "\"items\":[\"single\"],"));
	plugin_sample_free(&s);
	plugin_host_unload(p);
	hb_conf_doc_free(doc);

	sec = section("plugin:\n"
		      "  greeting: ''\n"
		      "  count: -0x10\n"
		      "  ratio: 1e3\n"
		      "  flag: Off\n"
		      "  items: [x, [y], z]\n",
		      &doc);
	p = load_ok("fx_good", sec, NULL);
	s = collect_ok(p);
	/* A non-scalar item ends the list, as absent items do. */
	assert_non_null(strstr(json(&s),
			       "{\"greeting\":\"\",\"count\":-16,"
			       "\"ratio\":1000.0,\"flag\":false,"
			       "\"items\":[\"x\"],"));
	plugin_sample_free(&s);
	plugin_host_unload(p);
	hb_conf_doc_free(doc);

	sec = section("plugin:\n  count:\n  flag: true\n  items: ~\n", &doc);
	p = load_ok("fx_good", sec, NULL);
	s = collect_ok(p);
	assert_non_null(strstr(json(&s), "\"count\":1,\"ratio\":0.5,"
					 "\"flag\":true,\"items\":[],"));
	plugin_sample_free(&s);
	plugin_host_unload(p);
	hb_conf_doc_free(doc);
}

static void test_log_line(void **state)
{
	struct plugin_host *p = load_ok("fx_good", NULL, NULL);
	struct plugin_sample s;
	const char *out;

	capture_begin();
	s = collect_ok(p);
	out = capture_end();
	assert_non_null(
		strstr(out, " info plugin: plugin fx_good: collected 1 times\n"));
	plugin_sample_free(&s);
	plugin_host_unload(p);
}

/* Levels filter; control bytes can't start a forged line. */
static void test_log_levels(void **state)
{
	const char *ops[] = {"log 3 hidden", "log 1 a\nb\tc", "log 9 deep",
			     "log -4 bad", NULL};
	struct plugin_sample s;
	const char *out;

	capture_begin();
	s = script(ops);
	out = capture_end();
	plugin_sample_free(&s);
	assert_null(strstr(out, "hidden"));
	assert_null(strstr(out, "deep"));
	assert_non_null(strstr(out, " warn plugin: plugin fx_script: a?b?c\n"));
	assert_non_null(strstr(out, " error plugin: plugin fx_script: bad\n"));

	hb_log_set_module_level("plugin", HB_LOG_DEBUG);
	capture_begin();
	s = script(ops);
	out = capture_end();
	hb_log_set_module_level("plugin", HB_LOG_INFO);
	plugin_sample_free(&s);
	assert_non_null(strstr(out, " debug plugin: plugin fx_script: hidden\n"));
	assert_non_null(strstr(out, " debug plugin: plugin fx_script: deep\n"));
}

static void test_cleanup_at_unload(void **state)
{
	char marker[] = "/tmp/hb_test_markerXXXXXX", yaml[256], buf[16] = "";
	struct hb_conf_doc *doc = NULL;
	struct plugin_host *p;
	int fd = mkstemp(marker);
	FILE *f;

	assert_true(fd >= 0);
	close(fd);
	unlink(marker);
	snprintf(yaml, sizeof(yaml), "plugin:\n  marker: %s\n", marker);
	p = load_ok("fx_good", section(yaml, &doc), NULL);
	assert_int_equal(access(marker, F_OK), -1);
	plugin_host_unload(p);
	f = fopen(marker, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	unlink(marker);
	assert_string_equal(buf, "cleaned");
	hb_conf_doc_free(doc);
}

static void load_fails(const char *path, int want_rc, const char *want_err)
{
	struct plugin_host *p = (struct plugin_host *)&p;
	char err[256] = "junk";
	int rc = plugin_host_load(path, NULL, &t_info, &p, err, sizeof(err));

	assert_int_equal(rc, want_rc);
	assert_null(p);
	if (want_err[0] == '^')
		assert_int_equal(strncmp(err, want_err + 1,
					 strlen(want_err + 1)), 0);
	else
		assert_string_equal(err, want_err);
}

static void test_refusals(void **state)
{
	char small[8];

	load_fails(so("fx_wrong_abi"), HB_EINVAL,
		   "wrong ABI major 2 (hbc speaks 1)");
	/* fx_init_fails's cleanup() aborts: it must not be called. */
	load_fails(so("fx_init_fails"), HB_EINVAL, "init failed: -5");
	load_fails(so("nonexistent"), HB_EIO, "^dlopen: ");
	load_fails("libm.so.6", HB_EINVAL, "no hb_plugin_entry symbol");
	/* A short err buffer gets what fits; none at all is fine too. */
	assert_int_equal(plugin_host_load(so("fx_wrong_abi"), NULL, NULL,
					  &(struct plugin_host *){NULL}, small,
					  sizeof(small)),
			 HB_EINVAL);
	assert_string_equal(small, "wrong A");
	assert_int_equal(plugin_host_load(so("fx_init_fails"), NULL, NULL,
					  &(struct plugin_host *){NULL}, NULL,
					  0),
			 HB_EINVAL);
}

/* Fields past the descriptor's size are absent, even if set. */
static void test_small_descriptor(void **state)
{
	char marker[] = "/tmp/hb_test_markerXXXXXX", yaml[256];
	struct hb_conf_doc *doc = NULL;
	struct plugin_host *p;
	struct plugin_sample s;
	int fd = mkstemp(marker);

	assert_true(fd >= 0);
	close(fd);
	unlink(marker);
	snprintf(yaml, sizeof(yaml), "plugin:\n  marker: %s\n", marker);
	p = load_ok("fx_small_size", section(yaml, &doc), NULL);
	assert_string_equal(plugin_host_name(p), "fx_small_size");
	assert_int_equal(plugin_host_kind(p), HB_PLUGIN_MONITOR);
	assert_int_equal(plugin_host_default_interval(p), 30);
	s = collect_ok(p);
	assert_string_equal(json(&s), "{\"old\":\"yes\"}");
	plugin_sample_free(&s);
	plugin_host_unload(p);
	assert_int_equal(access(marker, F_OK), -1);
	hb_conf_doc_free(doc);
}

static void test_skipped_fixture_loads(void **state)
{
	struct plugin_host *p = load_ok("_fx_skipped", NULL, NULL);

	assert_string_equal(plugin_host_name(p), "fx_skipped");
	plugin_host_unload(p);
}

static void test_monitor(void **state)
{
	struct plugin_host *p = load_ok("fx_monitor", NULL, &t_info);
	struct plugin_sample s;

	assert_int_equal(plugin_host_kind(p), HB_PLUGIN_MONITOR);
	assert_int_equal(plugin_host_default_interval(p), 5);
	s = collect_ok(p);
	assert_int_equal(s.status, HB_PLUGIN_WARNING);
	assert_string_equal(s.message, "load is 3.50");
	assert_string_equal(json(&s), "{\"load\":3.5}");
	plugin_sample_free(&s);
	plugin_host_unload(p);
}

/* --- run_command through the api --------------------------------------- */

static void command_case(const char *yaml, const char *want)
{
	struct hb_conf_doc *doc = NULL;
	struct plugin_host *p = load_ok("fx_command", section(yaml, &doc),
					NULL);
	struct plugin_sample s = collect_ok(p);

	assert_int_equal(s.status, HB_PLUGIN_OK);
	assert_string_equal(json(&s), want);
	plugin_sample_free(&s);
	plugin_host_unload(p);
	hb_conf_doc_free(doc);
}

static void test_run_command(void **state)
{
	command_case("plugin: {}\n",
		     "{\"rc\":0,\"exit\":0,\"timed_out\":false,"
		     "\"truncated\":false,\"out\":\"hello world\\n\","
		     "\"err\":\"\"}");
	command_case("plugin:\n  argv: [/bin/sh, -c, 'echo 12345; echo e >&2; "
		     "exit 4']\n  out_max: 3\n",
		     "{\"rc\":0,\"exit\":4,\"timed_out\":false,"
		     "\"truncated\":true,\"out\":\"123\",\"err\":\"e\\n\"}");
	command_case("plugin:\n  argv: [/bin/sleep, '10']\n"
		     "  timeout_ms: 100\n",
		     "{\"rc\":0,\"exit\":137,\"timed_out\":true,"
		     "\"truncated\":false,\"out\":\"\",\"err\":\"\"}");
	command_case("plugin:\n  argv: [sh, -c, 'echo hi']\n",
		     "{\"rc\":-1,\"exit\":-1,\"timed_out\":false,"
		     "\"truncated\":false,\"out\":\"\","
		     "\"err\":\"argv[0] must be an absolute path: sh\"}");
}

/* --- threads ---------------------------------------------------------- */

#define THREADS 4
#define ROUNDS 10

/*
 * Collections run on whatever thread calls: each thread here owns one
 * fx_good (the same .so loaded again: state apart) and one fx_command.
 */
static void *collector(void *arg)
{
	struct plugin_host **p = arg;
	int bad = 0;

	for (int i = 1; i <= ROUNDS; i++) {
		char want[32];
		struct plugin_sample a, b;

		snprintf(want, sizeof(want), "\"collects\":%d}", i);
		plugin_host_collect(p[0], &a);
		plugin_host_collect(p[1], &b);
		bad += !a.data || !strstr(json(&a), want);
		bad += !b.data || !strstr(json(&b), "\"out\":\"hello world\\n\"");
		plugin_sample_free(&a);
		plugin_sample_free(&b);
	}
	hb_buf_free(&json_buf);
	return (void *)(intptr_t)bad;
}

static void test_threads(void **state)
{
	struct plugin_host *p[THREADS][2];
	pthread_t t[THREADS];

	for (int i = 0; i < THREADS; i++) {
		p[i][0] = load_ok("fx_good", NULL, NULL);
		p[i][1] = load_ok("fx_command", NULL, NULL);
		assert_int_equal(pthread_create(&t[i], NULL, collector, p[i]),
				 0);
	}
	for (int i = 0; i < THREADS; i++) {
		void *bad;

		pthread_join(t[i], &bad);
		assert_int_equal((intptr_t)bad, 0);
		plugin_host_unload(p[i][0]);
		plugin_host_unload(p[i][1]);
	}
}

/* --- the builder ------------------------------------------------------- */

static void test_bad_builder(void **state)
{
	struct plugin_host *p = load_ok("fx_bad_builder", NULL, NULL);
	struct plugin_sample s = collect_ok(p);

	/* The error wins over the plugin's own OK status and message. */
	assert_int_equal(s.status, HB_PLUGIN_UNKNOWN);
	assert_string_equal(s.message,
			    "key \"oops\" given inside an array");
	assert_null(s.data);
	plugin_sample_free(&s);
	plugin_host_unload(p);
}

static void test_builder_values(void **state)
{
	SCRIPT_JSON("{}", "return 0");
	SCRIPT_JSON("{}", "status 0");
	SCRIPT_JSON("{\"i\":-9223372036854775808,\"j\":9223372036854775807,"
		    "\"u\":18446744073709551615,\"z\":0,\"d\":-0.25,"
		    "\"n\":null,\"b\":true}",
		    "int i -9223372036854775808", "int j 9223372036854775807",
		    "uint u 18446744073709551615", "uint z 0", "dbl d -0.25",
		    "dbl n nan", "bool b 7");
	/* Strings are copied (fx_script overwrites its buffer). */
	SCRIPT_JSON("{\"s\":\"it's a: test\",\"e\":\"\"}",
		    "str s it's a: test", "str e");
	SCRIPT_JSON("{\"q\":\"\\\"\\\\\"}", "str q \"\\");
}

static void test_builder_nesting(void **state)
{
	/* Containers left open are closed. */
	SCRIPT_JSON("{\"a\":{\"x\":1,\"b\":[2,[]]}}", "map a", "int x 1",
		    "array b", "int - 2", "array -");
	SCRIPT_JSON("{\"a\":[],\"b\":{},\"c\":1}", "array a", "end", "map b",
		    "end", "int c 1");
	SCRIPT_FAILS("end() without an open map or array", "int a 1", "end");
	SCRIPT_FAILS("end() without an open map or array", "map a", "end",
		     "end", "map b");
	SCRIPT_FAILS("value without a key in a map", "int - 1");
	SCRIPT_FAILS("value without a key in a map", "map a", "map -");
	SCRIPT_FAILS("key \"k\" given inside an array", "array a", "map k");
}

/* The top-level map and 31 more: hb_mpr's depth, and no deeper. */
static void test_builder_depth(void **state)
{
	const char *ops[] = {"nest 31", "int x 1", NULL};
	struct plugin_sample s = script(ops);
	char want[1024] = "";

	assert_int_equal(s.status, HB_PLUGIN_OK);
	for (int i = 0; i < 31; i++)
		strcat(want, "{\"d\":");
	strcat(want, "{\"x\":1}");
	for (int i = 0; i < 31; i++)
		strcat(want, "}");
	assert_string_equal(json(&s), want);
	plugin_sample_free(&s);
	SCRIPT_FAILS("maps and arrays nested deeper than 32", "nest 32");
	SCRIPT_FAILS("maps and arrays nested deeper than 32", "nest 31",
		     "array a");
}

/*
 * The size bound is exact: 1 (map) + 2 ("k") + 3 (str16 header) +
 * 61434 = 61440 bytes fit, one more does not.
 */
static void test_builder_size(void **state)
{
	const char *fit[] = {"fill k 61434", NULL};
	struct plugin_sample s = script(fit);

	assert_int_equal(s.status, HB_PLUGIN_OK);
	assert_int_equal(s.len, PLUGIN_DATA_MAX);
	plugin_sample_free(&s);
	SCRIPT_FAILS("data larger than 61440 bytes", "fill k 61435");
	SCRIPT_FAILS("data larger than 61440 bytes", "fill k 40000",
		     "fill l 40000");
	SCRIPT_FAILS("data larger than 61440 bytes", "fill k 10000000");
}

/*
 * Every encoding size boundary (the host checks its running count
 * against the packed size: a miscount would fail the collection).
 */
static void test_builder_encodings(void **state)
{
	const char *ops[] = {
		"fill a 31", "fill b 32", "fill c 255", "fill d 256",
		"int e -32", "int f -33", "int g -128", "int h -129",
		"int i -32768", "int j -32769", "int k -2147483648",
		"int l -2147483649", "int m 127", "int n 128", "uint o 255",
		"uint p 256", "uint q 65535", "uint r 65536",
		"uint s 4294967295", "uint t 4294967296", "array u",
		"int - 1", "int - 2", "int - 3", "int - 4", "int - 5", "int - 6",
		"int - 7", "int - 8", "int - 9", "int - 10", "int - 11",
		"int - 12", "int - 13", "int - 14", "int - 15", "end",
		"array w", "int - 1", "int - 2", "int - 3", "int - 4",
		"int - 5", "int - 6", "int - 7", "int - 8", "int - 9",
		"int - 10", "int - 11", "int - 12", "int - 13", "int - 14",
		"int - 15", "int - 16", NULL};
	struct plugin_sample s = script(ops);

	assert_string_equal(s.message, "");
	assert_int_equal(s.status, HB_PLUGIN_OK);
	/* 22 keys: a map16 header; arrays of 15 and 16: fix, array16. */
	assert_int_equal(s.data[0], 0xde);
	assert_int_equal(s.len, 3 + 22 * 2 + (1 + 31) + (2 + 32) + (2 + 255) +
					(3 + 256) + 1 + 2 + 2 + 3 + 3 + 5 + 5 +
					9 + 1 + 2 + 2 + 3 + 3 + 5 + 5 + 9 +
					1 + 15 + 3 + 16);
	plugin_sample_free(&s);
}

/* Strings are bytes: invalid UTF-8 goes through untouched. */
static void test_builder_raw_bytes(void **state)
{
	const char *ops[] = {"raw k ff00", "raw l c3", NULL};
	const uint8_t want[] = {0x82, 0xa1, 'k', 0xa1, 0xff,
				0xa1, 'l', 0xa1, 0xc3};
	struct plugin_sample s = script(ops);

	assert_int_equal(s.len, sizeof(want));
	assert_memory_equal(s.data, want, sizeof(want));
	plugin_sample_free(&s);
}

static void test_status(void **state)
{
	const char *ops_warn[] = {"status 1 first", "status 2 disk 97% full",
				  "int x 1", NULL};
	const char *ops_bad[] = {"status 7 seven", NULL};
	const char *ops_neg[] = {"status -1 minus", NULL};
	struct plugin_sample s = script(ops_warn);

	assert_int_equal(s.status, HB_PLUGIN_CRITICAL);
	assert_string_equal(s.message, "disk 97% full");
	assert_string_equal(json(&s), "{\"x\":1}");
	plugin_sample_free(&s);
	s = script(ops_bad);
	assert_int_equal(s.status, HB_PLUGIN_UNKNOWN);
	assert_string_equal(s.message, "seven");
	assert_non_null(s.data); /* an UNKNOWN status keeps its data */
	plugin_sample_free(&s);
	s = script(ops_neg);
	assert_int_equal(s.status, HB_PLUGIN_UNKNOWN);
	plugin_sample_free(&s);
}

/* Messages are cut at 255 bytes, on a whole UTF-8 character. */
static void test_status_long(void **state)
{
	static char op[400], want[300];
	const char *ops[] = {op, NULL};
	struct plugin_sample s;

	memset(want, 'a', 254);
	want[254] = '\0';
	snprintf(op, sizeof(op), "status 1 %s\xc3\xa9 and more", want);
	s = script(ops);
	assert_string_equal(s.message, want);
	plugin_sample_free(&s);

	memset(want, 'b', 255);
	want[255] = '\0';
	snprintf(op, sizeof(op), "status 1 %sxyz", want);
	s = script(ops);
	assert_string_equal(s.message, want);
	plugin_sample_free(&s);
}

static void test_collect_fails(void **state)
{
	SCRIPT_FAILS("collect failed: -3", "int a 1", "return -3");
	/* A failed collection has no data; the plugin's own status and
	 * message are kept (plugin.h: UNKNOWN unless set). */
	{
		const char *ops[] = {"status 2 no such device", "return -19",
				     NULL};
		struct plugin_sample s = script(ops);

		assert_int_equal(s.status, HB_PLUGIN_CRITICAL);
		assert_string_equal(s.message, "no such device");
		assert_null(s.data);
		plugin_sample_free(&s);
	}
	/* A positive return is success. */
	SCRIPT_JSON("{\"a\":1}", "int a 1", "return 2");
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_defaults),
		cmocka_unit_test(test_good_config),
		cmocka_unit_test(test_config_types),
		cmocka_unit_test(test_log_line),
		cmocka_unit_test(test_log_levels),
		cmocka_unit_test(test_cleanup_at_unload),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_small_descriptor),
		cmocka_unit_test(test_skipped_fixture_loads),
		cmocka_unit_test(test_monitor),
		cmocka_unit_test(test_run_command),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_bad_builder),
		cmocka_unit_test(test_builder_values),
		cmocka_unit_test(test_builder_nesting),
		cmocka_unit_test(test_builder_depth),
		cmocka_unit_test(test_builder_size),
		cmocka_unit_test(test_builder_encodings),
		cmocka_unit_test(test_builder_raw_bytes),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_status_long),
		cmocka_unit_test(test_collect_fails),
	};

	plugdir = getenv("HB_TEST_PLUGINS");
	if (argc > 1)
		plugdir = argv[1];
	if (!plugdir) {
		fprintf(stderr, "usage: %s PLUGIN_DIR (or HB_TEST_PLUGINS)\n",
			argv[0]);
		return 2;
	}
	hb_log_open("test", false);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
