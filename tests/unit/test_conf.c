/*
 * Unit tests of hb_conf: a sample table with every type of key; its
 * defaults; every type parsed (units, bounds, YAML's null forms); every
 * error message checked exactly, file:line:col included; all errors of a
 * file collected in one pass and sorted; node accessors and tables
 * applied to plugin sections with extra keys; lists of sections with a
 * scalar shorthand; CUSTOM keys. Run under ASan, leaks included: every
 * test frees through the teardown, so a failing one leaks nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hb_conf.h"
#include "hb_error.h"

/* --- the sample configuration ------------------------------------------ */

struct t_tls {
	bool enabled;
	char *cert;
};

struct t_listen {
	char *host;
	int64_t port;
	struct t_tls tls;
};

struct t_server {
	char *host;
	int64_t port;
};

struct t_label {
	char *key, *value;
};

struct t_labels {
	struct t_label *v;
	size_t n;
};

struct t_conf {
	char *name;
	bool verbose;
	double factor;
	uint64_t interval;
	uint64_t buffer;
	int level;
	struct hb_conf_strv tags;
	struct t_listen listen;
	struct hb_conf_array servers;
	const struct hb_conf_node *plugins;
	unsigned mode;
	struct t_labels labels;
	int64_t count;
};

static const char *const levels[] = {"debug", "info", "warning", "error",
				     NULL};

/* "0640": an octal file mode, a CUSTOM key that allocates nothing. */
static int parse_mode(const struct hb_conf_node *n, void *field,
		      struct hb_conf_errors *e)
{
	const char *s = hb_conf_node_text(n);
	unsigned long m;
	char *end;

	if (hb_conf_node_kind(n) != HB_CONF_SCALAR)
		goto bad;
	m = strtoul(s, &end, 8);
	if (!*s || *end || m > 07777)
		goto bad;
	*(unsigned *)field = (unsigned)m;
	return 0;
bad:
	hb_conf_errorf(e, n, "not a file mode (expected octal digits, "
		       "at most 7777)");
	return HB_ESYNTAX;
}

/* {env: prod, rack: r1}: a CUSTOM key that allocates, with a .free. */
static int parse_labels(const struct hb_conf_node *n, void *field,
			struct hb_conf_errors *e)
{
	struct t_labels *l = field;
	size_t cnt = hb_conf_node_count(n);
	int rc = 0;

	if (hb_conf_node_kind(n) != HB_CONF_MAPPING) {
		hb_conf_errorf(e, n, "expected a mapping of labels");
		return HB_ESYNTAX;
	}
	if (!cnt || !(l->v = calloc(cnt, sizeof(*l->v))))
		return cnt ? HB_ENOMEM : 0;
	for (size_t i = 0; i < cnt; i++) {
		const struct hb_conf_node *v = hb_conf_node_at(n, i);
		struct t_label *lb = &l->v[l->n];

		if (hb_conf_node_kind(v) != HB_CONF_SCALAR) {
			hb_conf_errorf(e, v, "a label value must be a string");
			rc = HB_ESYNTAX;
			continue;
		}
		l->n++;
		lb->key = strdup(hb_conf_node_text(hb_conf_node_key(n, i)));
		lb->value = strdup(hb_conf_node_text(v));
		if (!lb->key || !lb->value)
			return HB_ENOMEM;
	}
	return rc;
}

static void free_labels(void *field)
{
	struct t_labels *l = field;

	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].value);
	}
	free(l->v);
}

/* "host" or "host:port", the shorthand of a servers item. */
static int parse_server(const struct hb_conf_node *n, void *field,
			struct hb_conf_errors *e)
{
	struct t_server *s = field;
	const char *t = hb_conf_node_text(n), *colon = strrchr(t, ':');
	char *end;

	if (colon) {
		s->port = strtol(colon + 1, &end, 10);
		if (!colon[1] || *end || s->port < 1 || s->port > 65535) {
			hb_conf_errorf(e, n, "not host or host:port");
			return HB_ESYNTAX;
		}
	}
	s->host = strndup(t, colon ? (size_t)(colon - t) : strlen(t));
	return s->host ? 0 : HB_ENOMEM;
}

#define TLS(f) offsetof(struct t_tls, f)
static const struct hb_conf_key tls_keys[] = {
	{.name = "enabled", .type = HB_CONF_BOOL, .offset = TLS(enabled),
	 .def = "off", .help = "Serve TLS."},
	{.name = "cert", .type = HB_CONF_STRING, .offset = TLS(cert),
	 .help = "Certificate file."},
	HB_CONF_END,
};

#define LISTEN(f) offsetof(struct t_listen, f)
static const struct hb_conf_key listen_keys[] = {
	{.name = "host", .type = HB_CONF_STRING, .offset = LISTEN(host),
	 .def = "0.0.0.0", .help = "Address to bind."},
	{.name = "port", .type = HB_CONF_INT, .offset = LISTEN(port),
	 .min = 1, .max = 65535, .def = "7781", .help = "UDP port."},
	{.name = "tls", .type = HB_CONF_SECTION, .offset = LISTEN(tls),
	 .sub = tls_keys, .help = "TLS settings."},
	HB_CONF_END,
};

#define SERVER(f) offsetof(struct t_server, f)
static const struct hb_conf_key server_keys[] = {
	{.name = "host", .type = HB_CONF_STRING, .offset = SERVER(host),
	 .flags = HB_CONF_REQUIRED, .help = "Server name or address."},
	{.name = "port", .type = HB_CONF_INT, .offset = SERVER(port),
	 .min = 1, .max = 65535, .def = "7781", .help = "Server port."},
	HB_CONF_END,
};

#define CONF(f) offsetof(struct t_conf, f)
static const struct hb_conf_key conf_keys[] = {
	{.name = "name", .type = HB_CONF_STRING, .offset = CONF(name),
	 .def = "hb", .help = "Instance name."},
	{.name = "verbose", .type = HB_CONF_BOOL, .offset = CONF(verbose),
	 .def = "no", .help = "Log more."},
	{.name = "factor", .type = HB_CONF_DOUBLE, .offset = CONF(factor),
	 .dmin = 0.5, .dmax = 10, .def = "2.5", .help = "Late factor."},
	{.name = "interval", .type = HB_CONF_DURATION, .offset = CONF(interval),
	 .min = 1000, .max = 3600000, .def = "10s", .help = "Heartbeat."},
	{.name = "buffer", .type = HB_CONF_SIZE, .offset = CONF(buffer),
	 .min = 4096, .max = 1 << 30, .def = "64KiB", .help = "Buffer."},
	{.name = "level", .type = HB_CONF_ENUM, .offset = CONF(level),
	 .enums = levels, .def = "info", .help = "Log level."},
	{.name = "tags", .type = HB_CONF_STRLIST, .offset = CONF(tags),
	 .def = "base", .help = "Tags."},
	{.name = "listen", .type = HB_CONF_SECTION, .offset = CONF(listen),
	 .sub = listen_keys, .help = "Where to listen."},
	{.name = "servers", .type = HB_CONF_LIST, .offset = CONF(servers),
	 .sub = server_keys, .sub_size = sizeof(struct t_server),
	 .parse = parse_server, .help = "Servers to send to."},
	{.name = "plugins", .type = HB_CONF_NODE, .offset = CONF(plugins),
	 .help = "Plugin sections."},
	{.name = "mode", .type = HB_CONF_CUSTOM, .offset = CONF(mode),
	 .sub_size = sizeof(unsigned), .parse = parse_mode, .def = "0600",
	 .help = "Socket mode."},
	{.name = "labels", .type = HB_CONF_CUSTOM, .offset = CONF(labels),
	 .sub_size = sizeof(struct t_labels), .parse = parse_labels,
	 .free = free_labels, .help = "Host labels."},
	{.name = "count", .type = HB_CONF_INT, .offset = CONF(count),
	 .help = "Unbounded, no default."},
	HB_CONF_END,
};

#define ALL_KEYS                                                              \
	"name, verbose, factor, interval, buffer, level, tags, listen, "      \
	"servers, plugins, mode, labels, count"

/* hbc-like plugin keys: common ones, and one plugin's own. */
struct t_plugin {
	bool enabled, isolate;
	uint64_t interval, timeout;
};

struct t_disk {
	struct hb_conf_strv mounts;
	int64_t warn;
};

#define PLUGIN(f) offsetof(struct t_plugin, f)
static const struct hb_conf_key plugin_keys[] = {
	{.name = "enabled", .type = HB_CONF_BOOL, .offset = PLUGIN(enabled),
	 .def = "yes"},
	{.name = "interval", .type = HB_CONF_DURATION,
	 .offset = PLUGIN(interval), .min = 1000, .max = 86400000,
	 .def = "60s"},
	{.name = "timeout", .type = HB_CONF_DURATION, .offset = PLUGIN(timeout),
	 .def = "10s"},
	{.name = "isolate", .type = HB_CONF_BOOL, .offset = PLUGIN(isolate),
	 .def = "no"},
	HB_CONF_END,
};

static const struct hb_conf_key disk_keys[] = {
	{.name = "mounts", .type = HB_CONF_STRLIST,
	 .offset = offsetof(struct t_disk, mounts), .def = "/"},
	{.name = "warn", .type = HB_CONF_INT,
	 .offset = offsetof(struct t_disk, warn), .min = 0, .max = 100,
	 .def = "90"},
	HB_CONF_END,
};

/* --- fixtures ---------------------------------------------------------- */

static struct t_conf conf;
static struct t_plugin plug;
static struct t_disk disk;
static struct hb_conf_errors errs;
static struct hb_conf_doc *doc;
static char tmp_path[64];

static int teardown(void **state)
{
	hb_conf_free(conf_keys, &conf);
	hb_conf_free(plugin_keys, &plug);
	hb_conf_free(disk_keys, &disk);
	hb_conf_errors_free(&errs);
	hb_conf_doc_free(doc);
	doc = NULL;
	if (tmp_path[0])
		unlink(tmp_path);
	tmp_path[0] = '\0';
	return 0;
}

/* Loads text as "t.yaml" (after freeing the last load) into conf, doc. */
static int load(const char *text)
{
	hb_conf_free(conf_keys, &conf);
	hb_conf_doc_free(doc);
	memset(&conf, 0x5a, sizeof(conf)); /* the loader overwrites all */
	return hb_conf_load_string("t.yaml", text, strlen(text), conf_keys,
				   &conf, &doc, &errs);
}

/* Fails listing every message when errs does not hold exactly n. */
static void t_count(size_t n)
{
	if (errs.count != n) {
		for (size_t i = 0; i < errs.count; i++)
			print_message("  error: %s\n", errs.v[i].text);
		fail_msg("%zu errors, want %zu", errs.count, n);
	}
}

/* Asserts that text fails to load with exactly the messages given. */
static void t_fails_v(const char *text, const char *const *want, size_t n)
{
	assert_int_equal(load(text), HB_ESYNTAX);
	assert_null(doc);
	t_count(n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(errs.v[i].text, want[i]);
	/* On failure out owns nothing. */
	assert_null(conf.name);
	assert_null(conf.tags.v);
	assert_null(conf.listen.host);
	assert_null(conf.labels.v);
	hb_conf_errors_free(&errs);
}

#define t_fails(text, ...)                                                    \
	do {                                                                  \
		const char *const want_[] = {__VA_ARGS__};                    \
		t_fails_v(text, want_, sizeof(want_) / sizeof(want_[0]));     \
	} while (0)

static void t_ok(const char *text)
{
	int rc = load(text);

	t_count(0);
	assert_int_equal(rc, 0);
}

static void t_write(const char *text, size_t len)
{
	int fd;

	strcpy(tmp_path, "/tmp/test_conf.XXXXXX");
	fd = mkstemp(tmp_path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
}

static void t_defaults_equal(const struct t_conf *c)
{
	assert_string_equal(c->name, "hb");
	assert_false(c->verbose);
	assert_true(c->factor == 2.5);
	assert_int_equal(c->interval, 10000);
	assert_int_equal(c->buffer, 65536);
	assert_int_equal(c->level, 1);
	assert_int_equal(c->tags.n, 1);
	assert_string_equal(c->tags.v[0], "base");
	assert_null(c->tags.v[1]);
	assert_string_equal(c->listen.host, "0.0.0.0");
	assert_int_equal(c->listen.port, 7781);
	assert_false(c->listen.tls.enabled);
	assert_null(c->listen.tls.cert);
	assert_int_equal(c->servers.n, 0);
	assert_null(c->servers.v);
	assert_null(c->plugins);
	assert_int_equal(c->mode, 0600);
	assert_int_equal(c->labels.n, 0);
	assert_null(c->labels.v);
	assert_int_equal(c->count, 0);
}

/* --- defaults and values ----------------------------------------------- */

static void test_defaults(void **state)
{
	memset(&conf, 0x5a, sizeof(conf));
	assert_int_equal(hb_conf_defaults(conf_keys, &conf), 0);
	t_defaults_equal(&conf);
}

static void test_empty_files_are_all_defaults(void **state)
{
	static const char *const empty[] = {
		"", "\n", "# only a comment\n", "---\n", "~\n", "{}\n",
		"--- # a document\n...\n",
	};

	for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
		t_ok(empty[i]);
		t_defaults_equal(&conf);
		hb_conf_free(conf_keys, &conf);
		hb_conf_doc_free(doc);
		doc = NULL;
	}
}

static void test_every_type(void **state)
{
	t_ok("name: web-1\n"
	     "verbose: yes\n"
	     "factor: 1.5e0\n"
	     "interval: 1.5m\n"
	     "buffer: 1.5MiB\n"
	     "level: warning\n"
	     "tags: [a, 'b c']\n"
	     "listen:\n"
	     "  host: ::1\n"
	     "  port: \"7782\"\n"
	     "  tls: {enabled: on, cert: /etc/hb.pem}\n"
	     "servers:\n"
	     "  - {host: a.example, port: 1}\n"
	     "  - b.example:2\n"
	     "  - c.example\n"
	     "plugins:\n"
	     "  cpu:\n"
	     "mode: '0640'\n"
	     "labels: {env: prod, rack: r1}\n"
	     "count: -0x10\n");
	assert_string_equal(conf.name, "web-1");
	assert_true(conf.verbose);
	assert_true(conf.factor == 1.5);
	assert_int_equal(conf.interval, 90000);
	assert_int_equal(conf.buffer, 1572864);
	assert_int_equal(conf.level, 2);
	assert_int_equal(conf.tags.n, 2);
	assert_string_equal(conf.tags.v[0], "a");
	assert_string_equal(conf.tags.v[1], "b c");
	assert_null(conf.tags.v[2]);
	assert_string_equal(conf.listen.host, "::1");
	assert_int_equal(conf.listen.port, 7782);
	assert_true(conf.listen.tls.enabled);
	assert_string_equal(conf.listen.tls.cert, "/etc/hb.pem");
	assert_int_equal(conf.servers.n, 3);
	{
		const struct t_server *s = conf.servers.v;

		assert_string_equal(s[0].host, "a.example");
		assert_int_equal(s[0].port, 1);
		assert_string_equal(s[1].host, "b.example");
		assert_int_equal(s[1].port, 2);
		assert_string_equal(s[2].host, "c.example");
		assert_int_equal(s[2].port, 7781);
	}
	assert_non_null(conf.plugins);
	assert_int_equal(hb_conf_node_kind(conf.plugins), HB_CONF_MAPPING);
	assert_int_equal(conf.mode, 0640);
	assert_int_equal(conf.labels.n, 2);
	assert_string_equal(conf.labels.v[0].key, "env");
	assert_string_equal(conf.labels.v[0].value, "prod");
	assert_string_equal(conf.labels.v[1].key, "rack");
	assert_string_equal(conf.labels.v[1].value, "r1");
	assert_int_equal(conf.count, -16);
}

/* Values are typed by the table: YAML's own typing does not interfere. */
static void test_values_typed_by_table(void **state)
{
	t_ok("name: yes\ntags: 7781\nlisten: {host: 1.5, port: '80'}\n");
	assert_string_equal(conf.name, "yes");
	assert_int_equal(conf.tags.n, 1);
	assert_string_equal(conf.tags.v[0], "7781");
	assert_string_equal(conf.listen.host, "1.5");
	assert_int_equal(conf.listen.port, 80);
}

static void test_null_forms(void **state)
{
	/* No value: an empty section, list or string list, not an error. */
	t_ok("listen:\ntags: ~\nservers: null\nplugins:\nname: ''\n");
	assert_int_equal(conf.listen.port, 7781);
	assert_int_equal(conf.tags.n, 0);
	assert_null(conf.tags.v);
	assert_int_equal(conf.servers.n, 0);
	assert_non_null(conf.plugins);
	assert_int_equal(hb_conf_node_kind(conf.plugins), HB_CONF_NULL);
	assert_string_equal(conf.name, "");
	hb_conf_free(conf_keys, &conf);
	hb_conf_doc_free(doc);
	doc = NULL;
	/* A one-element list may be written as its element. */
	t_ok("servers: {host: x}\ntags: only\n");
	assert_int_equal(conf.servers.n, 1);
	assert_string_equal(((struct t_server *)conf.servers.v)->host, "x");
	assert_int_equal(conf.tags.n, 1);
	assert_string_equal(conf.tags.v[0], "only");
}

static void test_booleans(void **state)
{
	static const char *const yes[] = {"true", "True", "TRUE", "yes",
					  "Yes", "YES", "on", "On", "ON"};
	static const char *const no[] = {"false", "False", "FALSE", "no",
					 "No", "NO", "off", "Off", "OFF"};
	const struct hb_conf_key *k = &conf_keys[1];
	char msg[256];
	bool b;

	for (size_t i = 0; i < 9; i++) {
		b = false;
		assert_int_equal(hb_conf_value_parse(k, yes[i], &b, msg, 256),
				 0);
		assert_true(b);
		assert_int_equal(hb_conf_value_parse(k, no[i], &b, msg, 256),
				 0);
		assert_false(b);
	}
	assert_int_equal(hb_conf_value_parse(k, "y", &b, msg, 256), HB_ESYNTAX);
	assert_string_equal(msg, "\"y\" is not a boolean (expected "
				 "true/false, yes/no or on/off)");
	assert_int_equal(hb_conf_value_parse(k, "1", &b, msg, 256), HB_ESYNTAX);
	/* A message cut to fit, or none at all. */
	assert_int_equal(hb_conf_value_parse(k, "y", &b, msg, 8), HB_ESYNTAX);
	assert_string_equal(msg, "\"y\" is ");
	assert_int_equal(hb_conf_value_parse(k, "y", &b, NULL, 0), HB_ESYNTAX);
	/* Not a scalar type. */
	assert_int_equal(hb_conf_value_parse(&conf_keys[7], "x", &b, msg, 256),
			 HB_EINVAL);
}

static void test_integers(void **state)
{
	static const struct {
		const char *text;
		int64_t v;
	} ok[] = {
		{"0", 0},
		{"-5", -5},
		{"+5", 5},
		{"010", 10}, /* decimal: no YAML 1.1 octal */
		{"0x1F", 31},
		{"-0x10", -16},
		{"9223372036854775807", INT64_MAX},
		{"-9223372036854775808", INT64_MIN},
	};
	static const char *const bad[] = {"", "-", "0x", "1_000", "1.0",
					  "1e3", " 1", "0x1G", "١"};
	const struct hb_conf_key *k = &conf_keys[12];
	char msg[256];
	int64_t v;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(hb_conf_value_parse(k, ok[i].text, &v, msg,
						     sizeof(msg)),
				 0);
		assert_int_equal(v, ok[i].v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(hb_conf_value_parse(k, bad[i], &v, msg,
						     sizeof(msg)),
				 HB_ESYNTAX);
	assert_int_equal(hb_conf_value_parse(k, "9223372036854775808", &v, msg,
					     sizeof(msg)),
			 HB_ESYNTAX);
	assert_string_equal(msg, "9223372036854775808 is out of range "
				 "(expected an integer)");
	assert_int_equal(hb_conf_value_parse(k, "1_0", &v, msg, sizeof(msg)),
			 HB_ESYNTAX);
	assert_string_equal(msg, "\"1_0\" is not an integer (expected an "
				 "integer)");
}

static void test_doubles(void **state)
{
	static const char *const bad[] = {"", ".", "e5", "1e", "inf", ".inf",
					  "nan", "0x1p3", "1,5", "1.5x"};
	const struct hb_conf_key *k = &conf_keys[2];
	char msg[256];
	double d;

	assert_int_equal(hb_conf_value_parse(k, "0.5", &d, msg, 256), 0);
	assert_true(d == 0.5);
	assert_int_equal(hb_conf_value_parse(k, "10", &d, msg, 256), 0);
	assert_true(d == 10);
	assert_int_equal(hb_conf_value_parse(k, "+.75", &d, msg, 256), 0);
	assert_true(d == 0.75);
	assert_int_equal(hb_conf_value_parse(k, "25E-1", &d, msg, 256), 0);
	assert_true(d == 2.5);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(hb_conf_value_parse(k, bad[i], &d, msg, 256),
				 HB_ESYNTAX);
	assert_int_equal(hb_conf_value_parse(k, "1e999", &d, msg, 256),
			 HB_ESYNTAX);
	assert_string_equal(msg, "1e999 is out of range (expected a number "
				 "0.5..10)");
}

static void test_durations(void **state)
{
	static const struct {
		const char *text;
		uint64_t ms;
	} ok[] = {
		{"0", 0},
		{"10", 10000},
		{"1.5", 1500},
		{"0.001", 1},
		{"250ms", 250},
		{"10s", 10000},
		{"0.1s", 100},
		{"1.5m", 90000},
		{"2h", 7200000},
		{"1d", 86400000},
		{"1.25d", 108000000},
		{"10 s", 10000},
		{"1.000000000000000000000s", 1000},
		{"18446744073709551615ms", UINT64_MAX},
	};
	static const struct {
		const char *text;
		int rc;
	} bad[] = {
		{"", HB_ESYNTAX},
		{"s", HB_ESYNTAX},
		{"-1s", HB_ESYNTAX},
		{"+1s", HB_ESYNTAX},
		{"1.s", HB_ESYNTAX},
		{".5s", HB_ESYNTAX},
		{"1x", HB_ESYNTAX},
		{"1S", HB_ESYNTAX},
		{"1 sec", HB_ESYNTAX},
		{"1.5ms", HB_EINVAL},
		{"0.0001", HB_EINVAL},
		{"18446744073709551616ms", HB_ETOOBIG},
		{"213503982335d", HB_ETOOBIG},
	};
	uint64_t ms;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ms = 1;
		assert_int_equal(hb_conf_parse_duration(ok[i].text, &ms), 0);
		assert_int_equal(ms, ok[i].ms);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(hb_conf_parse_duration(bad[i].text, &ms),
				 bad[i].rc);
}

static void test_sizes(void **state)
{
	static const struct {
		const char *text;
		uint64_t bytes;
	} ok[] = {
		{"0", 0},
		{"512", 512},
		{"512B", 512},
		{"1k", 1024},
		{"1K", 1024},
		{"1KiB", 1024},
		{"1.5M", 1572864},
		{"1MiB", 1048576},
		{"2G", 2147483648},
		{"1GiB", 1073741824},
		{"1T", 1099511627776},
		{"1TiB", 1099511627776},
		{"1KB", 1000},
		{"1.5KB", 1500},
		{"1MB", 1000000},
		{"1GB", 1000000000},
		{"1TB", 1000000000000},
		{"10 MiB", 10485760},
	};
	static const struct {
		const char *text;
		int rc;
	} bad[] = {
		{"", HB_ESYNTAX},       {"-1", HB_ESYNTAX},
		{"1kb", HB_ESYNTAX},    {"1KIB", HB_ESYNTAX},
		{"1kB", HB_ESYNTAX},    {"1EiB", HB_ESYNTAX},
		{"1.5B", HB_EINVAL},    {"0.1k", HB_EINVAL},
		{"16777216TiB", HB_ETOOBIG},
	};
	uint64_t n;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		n = 1;
		assert_int_equal(hb_conf_parse_size(ok[i].text, &n), 0);
		assert_int_equal(n, ok[i].bytes);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(hb_conf_parse_size(bad[i].text, &n),
				 bad[i].rc);
}

/* Bounds are inclusive, and the message prints them in the key's units. */
static void test_bounds(void **state)
{
	t_ok("factor: 0.5\ninterval: 1s\nbuffer: 4k\nlisten: {port: 1}\n");
	assert_int_equal(conf.interval, 1000);
	assert_int_equal(conf.buffer, 4096);
	hb_conf_free(conf_keys, &conf);
	hb_conf_doc_free(doc);
	doc = NULL;
	t_ok("factor: 10\ninterval: 1h\nbuffer: 1G\nlisten: {port: 65535}\n");
	assert_int_equal(conf.interval, 3600000);
	assert_int_equal(conf.buffer, 1 << 30);
	hb_conf_free(conf_keys, &conf);
	t_fails("factor: 0.4\n"
		"interval: 999ms\n"
		"buffer: 2GB\n"
		"listen:\n"
		"  port: 70000\n"
		"count: 9223372036854775808\n",
		"t.yaml:1:9: factor: 0.4 is out of range "
		"(expected a number 0.5..10)",
		"t.yaml:2:11: interval: 999ms is out of range "
		"(expected a duration 1s..1h)",
		"t.yaml:3:9: buffer: 2GB is out of range "
		"(expected a size 4KiB..1GiB)",
		"t.yaml:5:9: listen.port: 70000 is out of range "
		"(expected an integer 1..65535)",
		"t.yaml:6:8: count: 9223372036854775808 is out of range "
		"(expected an integer)");
	t_fails("interval: 1.5ms\nbuffer: 4.5B\n",
		"t.yaml:1:11: interval: 1.5ms is not a whole number of "
		"milliseconds (expected a duration 1s..1h)",
		"t.yaml:2:9: buffer: 4.5B is not a whole number of bytes "
		"(expected a size 4KiB..1GiB)");
}

/* --- error messages ---------------------------------------------------- */

static void test_error_unknown_key(void **state)
{
	t_fails("name: a\nlate_factr: 3\n",
		"t.yaml:2:1: late_factr: unknown key (expected one of: "
		ALL_KEYS ")");
	t_fails("listen:\n  prot: 1\n",
		"t.yaml:2:3: listen.prot: unknown key (expected one of: "
		"host, port, tls)");
}

static void test_error_wrong_type(void **state)
{
	t_fails("listen:\n  port:\n    a: 1\n",
		"t.yaml:3:5: listen.port: found a mapping "
		"(expected an integer 1..65535)");
	t_fails("listen: {port: [1]}\n",
		"t.yaml:1:16: listen.port: found a sequence "
		"(expected an integer 1..65535)");
	t_fails("listen: {port: abc}\n",
		"t.yaml:1:16: listen.port: \"abc\" is not an integer "
		"(expected an integer 1..65535)");
	t_fails("listen: 7781\n",
		"t.yaml:1:9: listen: found \"7781\" (expected a mapping)");
	t_fails("name:\n", "t.yaml:1:6: name: missing value (expected a "
			   "string)");
	t_fails("verbose: maybe\n",
		"t.yaml:1:10: verbose: \"maybe\" is not a boolean "
		"(expected true/false, yes/no or on/off)");
	t_fails("interval: 10 sec\n",
		"t.yaml:1:11: interval: \"10 sec\" is not a duration "
		"(expected a duration 1s..1h: seconds, or a number with unit "
		"ms, s, m, h or d)");
	t_fails("buffer: lots\n",
		"t.yaml:1:9: buffer: \"lots\" is not a size (expected a size "
		"4KiB..1GiB: bytes, or a number with unit k, M, G, T (powers "
		"of 1024) or KB, MB, GB, TB (powers of 1000))");
	t_fails("tags: {a: 1}\n",
		"t.yaml:1:7: tags: found a mapping "
		"(expected a string or a sequence of strings)");
	t_fails("tags: [a, [b], ~]\n",
		"t.yaml:1:11: tags[1]: found a sequence (expected a string)",
		"t.yaml:1:16: tags[2]: missing value (expected a string)");
	t_fails("servers: [[a]]\n",
		"t.yaml:1:11: servers[0]: found a sequence (expected a "
		"mapping)");
	t_fails("name: \"a\\0b\"\n",
		"t.yaml:1:7: name: \"a\\x00b\" contains a NUL "
		"(expected a string)");
}

static void test_error_bad_enum(void **state)
{
	t_fails("level: verbose\n",
		"t.yaml:1:8: level: \"verbose\" is not a valid choice "
		"(expected one of: debug, info, warning, error)");
	t_fails("level: INFO\n",
		"t.yaml:1:8: level: \"INFO\" is not a valid choice "
		"(expected one of: debug, info, warning, error)");
}

static void test_error_duplicate_key(void **state)
{
	t_fails("name: a\nverbose: no\nname: b\n",
		"t.yaml:3:1: name: duplicate key (first at 1:1)");
	/* Everywhere, free-form plugin sections included. */
	t_fails("plugins:\n  cpu: {x: 1, y: 2, x: 3}\n",
		"t.yaml:2:21: plugins.cpu.x: duplicate key (first at 2:9)");
	t_fails("listen: {port: 1, port: 1, port: 2}\n",
		"t.yaml:1:19: listen.port: duplicate key (first at 1:10)",
		"t.yaml:1:28: listen.port: duplicate key (first at 1:10)");
}

static void test_error_yaml_syntax(void **state)
{
	t_fails("name: a: b\n", "t.yaml:1:8: syntax error: mapping values "
			       "are not allowed in this context");
	t_fails("name: a\ntags: [a, b\n",
		"t.yaml:3:1: syntax error: did not find expected ',' or ']' "
		"(while parsing a flow sequence at 2:7)");
	t_fails("listen:\n  host: a\n port: 1\n",
		"t.yaml:3:2: syntax error: did not find expected key "
		"(while parsing a block mapping at 1:1)");
	t_fails("name: a\n\tverbose: yes\n",
		"t.yaml:2:1: syntax error: found a tab character that "
		"violates indentation (while scanning a plain scalar at 1:7)");
	/* Reader errors carry a byte offset, turned into line:col. */
	t_fails("name: a\ntags: [\"x\xff\"]\n",
		"t.yaml:2:10: syntax error: invalid leading UTF-8 octet");
	/* Keys are scalars. */
	t_fails("? [a]\n: 1\n",
		"t.yaml:1:3: found a sequence as a key (expected a scalar)");
}

static void test_error_missing_required(void **state)
{
	t_fails("servers:\n  - port: 1\n  - host: b\n  - {}\n",
		"t.yaml:2:5: servers[0].host: missing required key",
		"t.yaml:4:5: servers[2].host: missing required key");
}

/* A required key in an absent section is reported under its full path. */
static void test_error_missing_required_nested(void **state)
{
	static const struct hb_conf_key db_keys[] = {
		{.name = "path", .type = HB_CONF_STRING, .offset = 0,
		 .flags = HB_CONF_REQUIRED},
		HB_CONF_END,
	};
	static const struct hb_conf_key keys[] = {
		{.name = "db", .type = HB_CONF_SECTION, .sub = db_keys},
		HB_CONF_END,
	};
	char *path = (char *)1;

	assert_int_equal(hb_conf_load_string("r.yaml", "", 0, keys, &path,
					     NULL, &errs),
			 HB_ESYNTAX);
	t_count(1);
	assert_string_equal(errs.v[0].text,
			    "r.yaml:1:1: db.path: missing required key");
	assert_null(path);
	hb_conf_errors_free(&errs);
	assert_int_equal(hb_conf_load_string("r.yaml", "db:\n", 4, keys,
					     &path, NULL, &errs),
			 HB_ESYNTAX);
	t_count(1);
	assert_string_equal(errs.v[0].text,
			    "r.yaml:1:4: db.path: missing required key");
	/* hb_conf_defaults() does not require anything. */
	assert_int_equal(hb_conf_defaults(keys, &path), 0);
	assert_null(path);
	assert_int_equal(hb_conf_load_string("r.yaml", "db: {path: x}", 13,
					     keys, &path, NULL, &errs),
			 0);
	assert_string_equal(path, "x");
	hb_conf_free(keys, &path);
	assert_null(path);
}

static void test_error_nested_path(void **state)
{
	t_fails("listen:\n"
		"  tls:\n"
		"    cert: x\n"
		"    enabled: maybe\n",
		"t.yaml:4:14: listen.tls.enabled: \"maybe\" is not a boolean "
		"(expected true/false, yes/no or on/off)");
	t_fails("servers:\n  - host: a\n  - {host: b, port: 0}\n",
		"t.yaml:3:21: servers[1].port: 0 is out of range "
		"(expected an integer 1..65535)");
}

static void test_error_alias(void **state)
{
	t_fails("name: &n hb\nlisten:\n  host: *n\n",
		"t.yaml:3:9: listen.host: aliases are not supported");
	/* The billion laughs: refused at the first alias, nothing expanded. */
	t_fails("plugins:\n"
		"  a: &a [x, x]\n"
		"  b: &b [*a, *a]\n",
		"t.yaml:3:10: plugins.b[0]: aliases are not supported",
		"t.yaml:3:14: plugins.b[1]: aliases are not supported");
}

static void test_error_top_level(void **state)
{
	t_fails("- a\n- b\n", "t.yaml:1:1: found a sequence (expected a "
			      "mapping)");
	t_fails("hello\n", "t.yaml:1:1: found \"hello\" (expected a mapping)");
}

static void test_error_documents(void **state)
{
	t_fails("name: a\n---\nname: b\n",
		"t.yaml:2:1: multiple documents are not supported");
}

static void test_error_depth(void **state)
{
	char text[128];
	int n;

	/* The top mapping and 31 sequences: 32 levels. */
	n = snprintf(text, sizeof(text), "plugins: %.*s%.*s\n", 31,
		     "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", 31,
		     "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
	assert_true(n > 0);
	t_ok(text);
	hb_conf_doc_free(doc);
	doc = NULL;
	hb_conf_free(conf_keys, &conf);
	snprintf(text, sizeof(text), "plugins: %.*s%.*s\n", 32,
		 "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", 32,
		 "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
	t_fails(text, "t.yaml:1:41: nested deeper than 32 levels");
}

static void test_error_too_large(void **state)
{
	size_t len = HB_CONF_FILE_MAX + 1;
	char *big = malloc(len);

	assert_non_null(big);
	memset(big, '\n', len);
	memcpy(big, "name: x\n", 8);
	assert_int_equal(hb_conf_load_string("big.yaml", big, len, conf_keys,
					     &conf, NULL, &errs),
			 HB_ESYNTAX);
	t_count(1);
	assert_string_equal(errs.v[0].text, "big.yaml: larger than 4 MiB");
	hb_conf_errors_free(&errs);
	t_write(big, len);
	assert_int_equal(hb_conf_load_file(tmp_path, conf_keys, &conf, NULL,
					   &errs),
			 HB_ESYNTAX);
	t_count(1);
	assert_true(strstr(errs.v[0].text, ": larger than 4 MiB") != NULL);
	/* Exactly the limit is fine. */
	unlink(tmp_path);
	t_write(big, len - 1);
	free(big);
	hb_conf_errors_free(&errs);
	assert_int_equal(hb_conf_load_file(tmp_path, conf_keys, &conf, NULL,
					   &errs),
			 0);
	assert_string_equal(conf.name, "x");
}

static void test_error_unreadable(void **state)
{
	assert_int_equal(hb_conf_load_file("/nonexistent/hb.yaml", conf_keys,
					   &conf, &doc, &errs),
			 HB_EIO);
	assert_null(doc);
	t_count(1);
	assert_string_equal(errs.v[0].text, "/nonexistent/hb.yaml: cannot "
					    "read: No such file or directory");
	hb_conf_errors_free(&errs);
	assert_int_equal(hb_conf_load_file("/", conf_keys, &conf, NULL, &errs),
			 HB_EIO);
	t_count(1);
	assert_string_equal(errs.v[0].text, "/: cannot read: Is a directory");
}

/* A default that does not parse is a bug in the table, and says so. */
static void test_error_bad_default(void **state)
{
	static const struct hb_conf_key keys[] = {
		{.name = "n", .type = HB_CONF_INT, .def = "ten"},
		HB_CONF_END,
	};
	int64_t n;

	assert_int_equal(hb_conf_defaults(keys, &n), HB_ESYNTAX);
	assert_int_equal(hb_conf_load_string("d.yaml", "{}", 2, keys, &n, NULL,
					     &errs),
			 HB_ESYNTAX);
	t_count(1);
	assert_string_equal(errs.v[0].text,
			    "d.yaml:1:1: n: default: \"ten\" is not an integer "
			    "(expected an integer)");
}

/* Everything wrong in a file, in one pass, in file order. */
static void test_multiple_errors(void **state)
{
	t_fails("name: a\n"
		"verbos: yes\n"
		"listen:\n"
		"  port: 0\n"
		"  tls: {enabled: 2}\n"
		"level: loud\n"
		"name: b\n"
		"servers: [{port: 1}, 'x:y']\n"
		"mode: 999\n"
		"labels: {a: [1]}\n",
		"t.yaml:2:1: verbos: unknown key (expected one of: " ALL_KEYS
		")",
		"t.yaml:4:9: listen.port: 0 is out of range (expected an "
		"integer 1..65535)",
		"t.yaml:5:18: listen.tls.enabled: \"2\" is not a boolean "
		"(expected true/false, yes/no or on/off)",
		"t.yaml:6:8: level: \"loud\" is not a valid choice (expected "
		"one of: debug, info, warning, error)",
		"t.yaml:7:1: name: duplicate key (first at 1:1)",
		"t.yaml:8:11: servers[0].host: missing required key",
		"t.yaml:8:22: servers[1]: not host or host:port",
		"t.yaml:9:7: mode: not a file mode (expected octal digits, at "
		"most 7777)",
		"t.yaml:10:13: labels.a: a label value must be a string");
}

static void test_errors_capped(void **state)
{
	char text[4096], *p = text, line[512];
	FILE *f;

	for (int i = 0; i < HB_CONF_ERRORS_MAX + 36; i++)
		p += sprintf(p, "k%d: 1\n", i);
	assert_int_equal(load(text), HB_ESYNTAX);
	t_count(HB_CONF_ERRORS_MAX);
	assert_int_equal(errs.dropped, 36);
	f = tmpfile();
	assert_non_null(f);
	hb_conf_errors_print(&errs, f);
	rewind(f);
	for (int i = 0; i <= HB_CONF_ERRORS_MAX; i++)
		assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_string_equal(line, "(36 more errors not shown)\n");
}

/* --- nodes, plugin sections -------------------------------------------- */

static const char plugins_yaml[] = "plugins:\n"
				   "  cpu:\n"
				   "  disk:\n"
				   "    interval: 30s\n"
				   "    mounts: [/, /var]\n"
				   "    warn: 80\n";

static void test_node_accessors(void **state)
{
	const struct hb_conf_node *p, *d, *m;

	t_ok(plugins_yaml);
	p = conf.plugins;
	assert_int_equal(hb_conf_node_kind(p), HB_CONF_MAPPING);
	assert_null(hb_conf_node_text(p));
	assert_int_equal(hb_conf_node_count(p), 2);
	assert_string_equal(hb_conf_node_text(hb_conf_node_key(p, 0)), "cpu");
	assert_string_equal(hb_conf_node_text(hb_conf_node_key(p, 1)), "disk");
	assert_null(hb_conf_node_key(p, 2));
	assert_null(hb_conf_node_at(p, 2));
	assert_int_equal(hb_conf_node_kind(hb_conf_node_at(p, 0)),
			 HB_CONF_NULL);
	d = hb_conf_node_get(p, "disk");
	assert_ptr_equal(d, hb_conf_node_at(p, 1));
	assert_null(hb_conf_node_get(p, "mem"));
	assert_int_equal(hb_conf_node_line(hb_conf_node_key(p, 1)), 3);
	assert_int_equal(hb_conf_node_col(hb_conf_node_key(p, 1)), 3);
	assert_int_equal(hb_conf_node_line(d), 4);
	assert_int_equal(hb_conf_node_col(d), 5);
	m = hb_conf_node_get(d, "mounts");
	assert_int_equal(hb_conf_node_kind(m), HB_CONF_SEQUENCE);
	assert_int_equal(hb_conf_node_count(m), 2);
	assert_string_equal(hb_conf_node_text(hb_conf_node_at(m, 1)), "/var");
	assert_int_equal(hb_conf_node_col(hb_conf_node_at(m, 1)), 17);
	assert_null(hb_conf_node_key(m, 0));
	assert_null(hb_conf_node_at(m, 2));
	assert_string_equal(hb_conf_node_text(hb_conf_node_get(d, "warn")),
			    "80");
	assert_null(hb_conf_node_get(hb_conf_node_get(d, "warn"), "x"));
	/* NULL is an absent node: lookups chain. */
	assert_null(hb_conf_node_get(hb_conf_node_get(p, "mem"), "x"));
	assert_int_equal(hb_conf_node_kind(NULL), HB_CONF_NULL);
	assert_null(hb_conf_node_text(NULL));
	assert_int_equal(hb_conf_node_count(NULL), 0);
	assert_null(hb_conf_node_at(NULL, 0));
	assert_null(hb_conf_node_key(NULL, 0));
	assert_int_equal(hb_conf_node_line(NULL), 0);
}

/* hbc: common keys, then the plugin's own, then unknown keys of both. */
static void test_apply_with_extra_keys(void **state)
{
	const struct hb_conf_key *const both[] = {plugin_keys, disk_keys, NULL};
	const struct hb_conf_node *d;

	t_ok(plugins_yaml);
	d = hb_conf_node_get(conf.plugins, "disk");
	assert_int_equal(hb_conf_apply(d, plugin_keys, &plug,
				       HB_CONF_ALLOW_EXTRA, &errs),
			 0);
	assert_true(plug.enabled);
	assert_int_equal(plug.interval, 30000);
	assert_int_equal(plug.timeout, 10000);
	assert_false(plug.isolate);
	assert_int_equal(hb_conf_apply(d, disk_keys, &disk,
				       HB_CONF_ALLOW_EXTRA, &errs),
			 0);
	assert_int_equal(disk.mounts.n, 2);
	assert_string_equal(disk.mounts.v[1], "/var");
	assert_int_equal(disk.warn, 80);
	assert_int_equal(hb_conf_check_keys(d, both, &errs), 0);
	t_count(0);
	/* Without ALLOW_EXTRA the plugin's keys are unknown. */
	assert_int_equal(hb_conf_apply(d, plugin_keys, &plug, 0, &errs),
			 HB_ESYNTAX);
	t_count(2);
	assert_string_equal(errs.v[0].text,
			    "t.yaml:5:5: plugins.disk.mounts: unknown key "
			    "(expected one of: enabled, interval, timeout, "
			    "isolate)");
	/* A plugin section without value: all defaults. */
	hb_conf_free(disk_keys, &disk);
	assert_int_equal(hb_conf_apply(hb_conf_node_get(conf.plugins, "cpu"),
				       disk_keys, &disk, 0, &errs),
			 0);
	assert_int_equal(disk.mounts.n, 1);
	assert_string_equal(disk.mounts.v[0], "/");
	assert_int_equal(disk.warn, 90);
}

static void test_apply_errors_name_the_path(void **state)
{
	const struct hb_conf_key *const both[] = {plugin_keys, disk_keys, NULL};
	const struct hb_conf_node *d;

	t_ok("plugins:\n  disk: {interval: 2d, mountz: [/], warn: 101}\n");
	d = hb_conf_node_get(conf.plugins, "disk");
	assert_int_equal(hb_conf_apply(d, plugin_keys, &plug,
				       HB_CONF_ALLOW_EXTRA, &errs),
			 HB_ESYNTAX);
	assert_int_equal(hb_conf_apply(d, disk_keys, &disk,
				       HB_CONF_ALLOW_EXTRA, &errs),
			 HB_ESYNTAX);
	assert_int_equal(hb_conf_check_keys(d, both, &errs), HB_ESYNTAX);
	t_count(3);
	assert_string_equal(errs.v[0].text,
			    "t.yaml:2:20: plugins.disk.interval: 2d is out of "
			    "range (expected a duration 1s..1d)");
	assert_string_equal(errs.v[1].text,
			    "t.yaml:2:43: plugins.disk.warn: 101 is out of "
			    "range (expected an integer 0..100)");
	assert_string_equal(errs.v[2].text,
			    "t.yaml:2:24: plugins.disk.mountz: unknown key "
			    "(expected one of: enabled, interval, timeout, "
			    "isolate, mounts, warn)");
	/* On failure out owns nothing. */
	assert_null(disk.mounts.v);
	/* Not a mapping. */
	hb_conf_errors_free(&errs);
	assert_int_equal(hb_conf_apply(hb_conf_node_get(d, "mountz"),
				       disk_keys, &disk, 0, &errs),
			 HB_ESYNTAX);
	t_count(1);
	assert_string_equal(errs.v[0].text, "t.yaml:2:32: plugins.disk.mountz: "
					    "found a sequence (expected a "
					    "mapping)");
}

/* An absent section (NULL): defaults, and required keys without place. */
static void test_apply_to_absent_section(void **state)
{
	struct t_server s;

	assert_int_equal(hb_conf_apply(NULL, disk_keys, &disk, 0, &errs), 0);
	assert_int_equal(disk.warn, 90);
	assert_int_equal(hb_conf_apply(NULL, server_keys, &s, 0, &errs),
			 HB_ESYNTAX);
	t_count(1);
	assert_string_equal(errs.v[0].text, "host: missing required key");
	assert_null(s.host);
}

/* Without doc_out the document is gone after loading: NODEs are NULL. */
static void test_nodes_need_the_doc(void **state)
{
	assert_int_equal(hb_conf_load_string("t.yaml", plugins_yaml,
					     strlen(plugins_yaml), conf_keys,
					     &conf, NULL, &errs),
			 0);
	assert_null(conf.plugins);
}

/* --- the rest of the API ----------------------------------------------- */

static void test_free_twice(void **state)
{
	t_ok("tags: [a, b]\nservers: [x, y]\nlabels: {a: b}\n");
	hb_conf_free(conf_keys, &conf);
	assert_null(conf.name);
	assert_null(conf.tags.v);
	assert_int_equal(conf.tags.n, 0);
	assert_null(conf.servers.v);
	assert_null(conf.labels.v);
	assert_null(conf.plugins);
	hb_conf_free(conf_keys, &conf);
}

static void test_load_file(void **state)
{
	static const char text[] = "name: from-file\nplugins: {cpu: {}}\n";

	t_write(text, strlen(text));
	assert_int_equal(hb_conf_load_file(tmp_path, conf_keys, &conf, &doc,
					   &errs),
			 0);
	assert_string_equal(conf.name, "from-file");
	assert_non_null(hb_conf_node_get(conf.plugins, "cpu"));
}

static void test_expected_and_describe(void **state)
{
	char buf[256], *text = NULL;
	size_t len = 0;
	FILE *f;

	hb_conf_expected(&conf_keys[4], buf, sizeof(buf));
	assert_string_equal(buf, "a size 4KiB..1GiB");
	hb_conf_expected(&plugin_keys[1], buf, sizeof(buf));
	assert_string_equal(buf, "a duration 1s..1d");
	hb_conf_expected(&conf_keys[8], buf, sizeof(buf));
	assert_string_equal(buf, "a sequence of mappings or scalars");
	hb_conf_expected(&conf_keys[4], buf, 8);
	assert_string_equal(buf, "a size ");
	f = open_memstream(&text, &len);
	assert_non_null(f);
	hb_conf_describe(listen_keys, f);
	fclose(f);
	assert_string_equal(text,
			    "host: a string, default 0.0.0.0\n"
			    "    Address to bind.\n"
			    "port: an integer 1..65535, default 7781\n"
			    "    UDP port.\n"
			    "tls: a mapping\n"
			    "    TLS settings.\n"
			    "tls.enabled: true/false, yes/no or on/off, "
			    "default off\n"
			    "    Serve TLS.\n"
			    "tls.cert: a string\n"
			    "    Certificate file.\n");
	free(text);
}

static void test_one_sided_bounds(void **state)
{
	static const struct hb_conf_key keys[] = {
		{.name = "a", .type = HB_CONF_INT, .min = 1, .max = INT64_MAX},
		{.name = "b", .type = HB_CONF_INT, .min = INT64_MIN, .max = -1},
		{.name = "c", .type = HB_CONF_DURATION, .min = 0, .max = 1500},
		{.name = "d", .type = HB_CONF_DOUBLE, .dmin = 0,
		 .dmax = HUGE_VAL},
		HB_CONF_END,
	};
	char buf[64];

	hb_conf_expected(&keys[0], buf, sizeof(buf));
	assert_string_equal(buf, "an integer >= 1");
	hb_conf_expected(&keys[1], buf, sizeof(buf));
	assert_string_equal(buf, "an integer <= -1");
	hb_conf_expected(&keys[2], buf, sizeof(buf));
	assert_string_equal(buf, "a duration 0..1500ms");
	hb_conf_expected(&keys[3], buf, sizeof(buf));
	assert_string_equal(buf, "a number >= 0");
}

#define T(f) cmocka_unit_test_teardown(f, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_defaults),
		T(test_empty_files_are_all_defaults),
		T(test_every_type),
		T(test_values_typed_by_table),
		T(test_null_forms),
		T(test_booleans),
		T(test_integers),
		T(test_doubles),
		T(test_durations),
		T(test_sizes),
		T(test_bounds),
		T(test_error_unknown_key),
		T(test_error_wrong_type),
		T(test_error_bad_enum),
		T(test_error_duplicate_key),
		T(test_error_yaml_syntax),
		T(test_error_missing_required),
		T(test_error_missing_required_nested),
		T(test_error_nested_path),
		T(test_error_alias),
		T(test_error_top_level),
		T(test_error_documents),
		T(test_error_depth),
		T(test_error_too_large),
		T(test_error_unreadable),
		T(test_error_bad_default),
		T(test_multiple_errors),
		T(test_errors_capped),
		T(test_node_accessors),
		T(test_apply_with_extra_keys),
		T(test_apply_errors_name_the_path),
		T(test_apply_to_absent_section),
		T(test_nodes_need_the_doc),
		T(test_free_twice),
		T(test_load_file),
		T(test_expected_and_describe),
		T(test_one_sided_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
