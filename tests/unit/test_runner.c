/*
 * test_runner: the runner on a real libev loop against the fixture
 * plugins of tests/plugins/ (built into HB_TEST_PLUGINS, or argv[1]),
 * polled with ev_run(EVRUN_ONCE) until a condition holds or a deadline
 * passes (no fixed sleeps). A timer ticking every 50 ms runs throughout:
 * its largest gap shows that no plugin ever held the loop. Covered: data
 * and status of in-process samples; a hung in-process collect() (timeout
 * sample, skipped collections, late result dropped, plugin usable
 * again, other plugins unaffected); runner_free() under a hung thread;
 * isolated plugins: the same data as in-process (the section crosses
 * over intact), a crash reported with its signal and restarted after
 * the backoff (on both reaping paths), a hang killed and restarted,
 * loader refusals with the loader's text, cleanup() at removal, removal
 * from inside the callback.
 *
 * The test binary is also the isolated plugins' process: main() hands
 * "--plugin-child" to runner_child_main(), as hbc's main() does.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <ev.h>

#include "hb_conf.h"
#include "hb_error.h"
#include "hb_json.h"
#include "hb_log.h"
#include "hb_time.h"
#include "runner.h"
#include "runner_child.h"

#define DEADLINE_MS 10000
#define TICK_S	    0.05
#define MAX_GAP_MS  400 /* ticks 50 ms apart; generous for ASan */
#define SAMPLES_MAX 256
#define DOCS_MAX    8

static const char *plugdir;

static const struct plugin_host_info t_info = {
    .host_id = "10111213-1415-1617-1819-1a1b1c1d1e1f",
    .hostname = "web-1",
};

struct sample {
	int id;
	uint8_t status;
	char message[256];
	uint8_t *data; /* stolen from the runner */
	size_t len;
	char *json;
	uint64_t at_ms; /* monotonic */
};

static struct ev_loop *loop;
static struct runner *run;
static struct hb_conf_doc *docs[DOCS_MAX];
static int n_docs;
static struct sample got[SAMPLES_MAX];
static int n_got;
static ev_timer ticker;
static uint64_t ticks, last_tick_ms, max_gap_ms;
static int remove_in_cb = -1; /* the callback removes this id */
static char tmpdir[64];

/* --- helpers ----------------------------------------------------------- */

static const char *so(const char *name)
{
	static char path[4096];

	snprintf(path, sizeof(path), "%s/%s.so", plugdir, name);
	return path;
}

static void on_sample(void *ctx, int id, struct plugin_sample *s)
{
	struct sample *g = &got[n_got];
	struct hb_buf b;

	assert_true(n_got < SAMPLES_MAX);
	n_got++;
	g->id = id;
	g->status = s->status;
	memcpy(g->message, s->message, sizeof(g->message));
	g->at_ms = hb_mono_ms();
	/* Ownership of the data may be taken: runner.h. */
	g->data = s->data;
	g->len = s->len;
	s->data = NULL;
	if (g->data) {
		hb_buf_init(&b);
		assert_int_equal(hb_json_from_msgpack(g->data, g->len, &b), 0);
		g->json = b.data;
	}
	if (id == remove_in_cb)
		runner_remove(run, id);
}

static void tick_cb(struct ev_loop *l, ev_timer *t, int revents)
{
	uint64_t now = hb_mono_ms();

	if (ticks && now - last_tick_ms > max_gap_ms)
		max_gap_ms = now - last_tick_ms;
	last_tick_ms = now;
	ticks++;
}

/* Runs the loop until *n reaches want or ms pass; returns whether. */
static bool wait_count(const int *n, int want, uint64_t ms)
{
	uint64_t end = hb_mono_ms() + ms;

	while (*n < want && hb_mono_ms() < end)
		ev_run(loop, EVRUN_ONCE);
	return *n >= want;
}

static struct sample *wait_sample(int want)
{
	if (!wait_count(&n_got, want, DEADLINE_MS))
		fail_msg("no sample %d within %d ms", want, DEADLINE_MS);
	return &got[want - 1];
}

/* Polls runner_collect(id) until it starts one; returns when it did. */
static uint64_t collect_when_ready(int id)
{
	uint64_t start = hb_mono_ms(), end = start + DEADLINE_MS;

	while (runner_collect(run, id) != 0) {
		if (hb_mono_ms() >= end)
			fail_msg("plugin %d never became ready", id);
		ev_run(loop, EVRUN_ONCE);
	}
	return hb_mono_ms() - start;
}

/* This thread's children (every spawn runs on it), zombies included. */
static int children(pid_t *v, int max)
{
	char path[64];
	FILE *f;
	int n = 0, pid;

	snprintf(path, sizeof(path), "/proc/self/task/%d/children",
		 (int)gettid());
	assert_non_null(f = fopen(path, "r"));
	while (fscanf(f, "%d", &pid) == 1)
		if (n < max)
			v[n++] = pid;
	fclose(f);
	return n;
}

/* Whether pid is in a sleep syscall (fx_hang's collect()). */
static bool sleeping(pid_t pid)
{
	char path[64];
	long nr = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	if (!(f = fopen(path, "r")))
		return false;
	if (fscanf(f, "%ld", &nr) != 1)
		nr = -1;
	fclose(f);
	return nr == SYS_clock_nanosleep || nr == SYS_nanosleep;
}

/* Runs the loop until our only child sleeps in collect(); its pid. */
static pid_t wait_child_collecting(void)
{
	uint64_t end = hb_mono_ms() + DEADLINE_MS;
	pid_t pid[4];

	while (hb_mono_ms() < end) {
		if (children(pid, 4) == 1 && sleeping(pid[0]))
			return pid[0];
		ev_run(loop, EVRUN_NOWAIT);
	}
	fail_msg("no child in collect() within %d ms", DEADLINE_MS);
	return -1;
}

struct t_conf {
	const struct hb_conf_node *plugin;
};

static const struct hb_conf_key t_table[] = {
    {.name = "plugin",
     .type = HB_CONF_NODE,
     .offset = offsetof(struct t_conf, plugin)},
    HB_CONF_END,
};

/* The "plugin" section of yaml (NULL: none); freed by the teardown. */
static const struct hb_conf_node *section(const char *yaml)
{
	struct hb_conf_errors errs = {0};
	struct t_conf c = {0};
	int rc;

	if (!yaml)
		return NULL;
	assert_true(n_docs < DOCS_MAX);
	rc = hb_conf_load_string("t.yaml", yaml, strlen(yaml), t_table, &c,
				 &docs[n_docs], &errs);
	if (rc) {
		hb_conf_errors_print(&errs, stderr);
		hb_conf_errors_free(&errs);
		fail_msg("config did not load: %d", rc);
	}
	n_docs++;
	return c.plugin;
}

static int add(const char *fx, const char *yaml, uint32_t timeout_ms,
	       bool isolate, char *err, size_t errlen)
{
	struct runner_plugin_opts o = {
	    .path = so(fx),
	    .section = section(yaml),
	    .timeout_ms = timeout_ms,
	    .isolate = isolate,
	};

	return runner_add(run, &o, err, errlen);
}

static int add_ok(const char *fx, const char *yaml, uint32_t timeout_ms,
		  bool isolate)
{
	char err[256];
	int id = add(fx, yaml, timeout_ms, isolate, err, sizeof(err));

	if (id < 0)
		fail_msg("runner_add %s: %d: %s", fx, id, err);
	return id;
}

static void start(struct ev_loop *l)
{
	loop = l;
	assert_non_null(loop);
	assert_non_null(run = runner_new(loop, &t_info, on_sample, NULL));
	runner_set_backoff(run, 50, 200);
	ev_timer_init(&ticker, tick_cb, TICK_S, TICK_S);
	ev_timer_start(loop, &ticker);
}

static int setup(void **state)
{
	start(ev_loop_new(EVFLAG_AUTO));
	return 0;
}

static int setup_default(void **state)
{
	start(ev_default_loop(EVFLAG_AUTO));
	return 0;
}

static int teardown(void **state)
{
	pid_t pid[4];

	runner_free(run);
	run = NULL;
	/* runner_free() leaves no child behind, not even a zombie. */
	assert_int_equal(children(pid, 4), 0);
	ev_timer_stop(loop, &ticker);
	if (!ev_is_default_loop(loop))
		ev_loop_destroy(loop);
	loop = NULL;
	for (int i = 0; i < n_got; i++) {
		free(got[i].data);
		free(got[i].json);
	}
	memset(got, 0, sizeof(got));
	n_got = 0;
	while (n_docs)
		hb_conf_doc_free(docs[--n_docs]);
	ticks = max_gap_ms = 0;
	remove_in_cb = -1;
	return 0;
}

static void assert_loop_free(void)
{
	if (max_gap_ms > MAX_GAP_MS)
		fail_msg("the loop was held %llu ms",
			 (unsigned long long)max_gap_ms);
}

static void assert_contains(const char *s, const char *want)
{
	if (!s || !strstr(s, want))
		fail_msg("\"%s\" lacks \"%s\"", s ? s : "(null)", want);
}

/* --- in-process -------------------------------------------------------- */

static void test_good(void **state)
{
	int id = add_ok("fx_good", "plugin: {greeting: hi, items: [a, b]}",
			2000, false);
	struct sample *s;

	assert_string_equal(runner_plugin_name(run, id), "fx_good");
	assert_int_equal(runner_plugin_kind(run, id), HB_PLUGIN_INFO);
	assert_int_equal(runner_collect(run, id), 0);
	/* Still running until the loop has delivered it. */
	assert_int_equal(runner_collect(run, id), 1);
	assert_int_equal(runner_plugin_skipped(run, id), 1);
	s = wait_sample(1);
	assert_int_equal(s->id, id);
	assert_int_equal(s->status, HB_PLUGIN_OK);
	assert_string_equal(s->message, "");
	assert_contains(s->json, "\"greeting\":\"hi\"");
	assert_contains(s->json, "\"items\":[\"a\",\"b\"]");
	assert_contains(s->json, "\"hostname\":\"web-1\"");
	assert_contains(s->json, "\"collects\":1");
	assert_int_equal(runner_collect(run, id), 0);
	assert_contains(wait_sample(2)->json, "\"collects\":2");
	assert_loop_free();
}

static void test_monitor(void **state)
{
	int id = add_ok("fx_monitor", NULL, 0, false);
	struct sample *s;

	assert_string_equal(runner_plugin_name(run, id), "fx_monitor");
	assert_int_equal(runner_plugin_kind(run, id), HB_PLUGIN_MONITOR);
	assert_int_equal(runner_plugin_default_interval(run, id), 5);
	assert_int_equal(runner_collect(run, id), 0);
	s = wait_sample(1);
	assert_int_equal(s->status, HB_PLUGIN_WARNING);
	assert_string_equal(s->message, "load is 3.50");
	assert_string_equal(s->json, "{\"load\":3.5}");
}

static void test_refused(void **state)
{
	char err[256];

	assert_true(add("fx_wrong_abi", NULL, 0, false, err, sizeof(err)) < 0);
	assert_string_equal(err, "wrong ABI major 2 (hbc speaks 1)");
	assert_true(add("fx_init_fails", NULL, 0, false, err, sizeof(err)) < 0);
	assert_string_equal(err, "init failed: -5");
	assert_null(runner_plugin_name(run, 0));
}

/*
 * fx_hang sleeps 1 s against a 200 ms timeout, while fx_good is
 * collected over and over.
 */
static void test_hang(void **state)
{
	int hang = add_ok("fx_hang", "plugin: {seconds: 1}", 200, false);
	int good = add_ok("fx_good", NULL, 2000, false);
	uint64_t t0 = hb_mono_ms(), t1;
	int goods = 0;
	struct sample *s;

	assert_int_equal(runner_collect(run, hang), 0);
	s = wait_sample(1);
	assert_int_equal(s->id, hang);
	assert_int_equal(s->status, HB_PLUGIN_UNKNOWN);
	assert_string_equal(s->message, "timeout after 200 ms");
	assert_null(s->data);
	assert_true(s->at_ms - t0 >= 200 && s->at_ms - t0 < 900);
	/* Stuck: skipped, while the other plugin goes on. */
	assert_int_equal(runner_collect(run, hang), 1);
	assert_int_equal(runner_plugin_skipped(run, hang), 1);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(runner_collect(run, good), 0);
		s = wait_sample(n_got + 1);
		assert_int_equal(s->id, good);
		assert_int_equal(s->status, HB_PLUGIN_OK);
		goods++;
	}
	assert_int_equal(runner_collect(run, hang), 1);
	/* Its late result is dropped; then it is collected again. */
	collect_when_ready(hang);
	t1 = hb_mono_ms();
	assert_true(t1 - t0 >= 1000);
	assert_int_equal(n_got, 1 + goods);
	s = wait_sample(n_got + 1);
	assert_int_equal(s->id, hang);
	assert_string_equal(s->message, "timeout after 200 ms");
	assert_true(ticks >= (t1 - t0) / 100);
	assert_loop_free();
}

static void test_free_stuck(void **state)
{
	int id = add_ok("fx_hang", NULL, 100, false); /* sleeps 60 s */
	uint64_t t0;

	assert_int_equal(runner_collect(run, id), 0);
	assert_string_equal(wait_sample(1)->message, "timeout after 100 ms");
	t0 = hb_mono_ms();
	runner_free(run);
	run = NULL;
	assert_true(hb_mono_ms() - t0 < 500);
}

/* Removing a plugin whose collect() runs does not wait for it. */
static void test_remove_busy(void **state)
{
	int id = add_ok("fx_hang", NULL, 5000, false);
	uint64_t t0;

	assert_int_equal(runner_collect(run, id), 0);
	t0 = hb_mono_ms();
	runner_remove(run, id);
	assert_true(hb_mono_ms() - t0 < 500);
	assert_null(runner_plugin_name(run, id));
	assert_int_equal(runner_collect(run, id), HB_EINVAL);
	/* Its timer is gone with it: no sample ever comes. */
	assert_false(wait_count(&n_got, 1, 300));
}

static void test_cleanup_at_remove(void **state)
{
	char yaml[256], marker[128];
	struct stat st;
	bool isolate = *(bool *)*state;
	uint64_t end = hb_mono_ms() + DEADLINE_MS;
	int id;

	snprintf(marker, sizeof(marker), "%s/marker-%d", tmpdir, isolate);
	snprintf(yaml, sizeof(yaml), "plugin: {marker: %s}", marker);
	id = add_ok("fx_good", yaml, 2000, isolate);
	assert_int_equal(runner_collect(run, id), 0);
	wait_sample(1);
	runner_remove(run, id);
	/* The child runs cleanup() on its own time. */
	while (stat(marker, &st) < 0 && hb_mono_ms() < end)
		ev_run(loop, EVRUN_ONCE);
	assert_int_equal(stat(marker, &st), 0);
	unlink(marker);
}

/* --- isolated ---------------------------------------------------------- */

static const char tricky[] =
    "plugin:\n"
    "  greeting: \"h\\u00e9llo \\\"q\\\" \\\\ \\t\\n\\u2028 \\u2603 "
    "\\U0001F600 #x: y, [z]\"\n"
    "  count: '42'\n"
    "  ratio: 2.5e1\n"
    "  flag: yes\n"
    "  items: [a, 'b, c', \"\", ~x]\n"
    "  extra: {k: [1, {z: null}], e: {}, l: []}\n"
    "  nothing:\n";

static void test_isolated_same_data(void **state)
{
	int in = add_ok("fx_good", tricky, 2000, false);
	int iso = add_ok("fx_good", tricky, 2000, true);
	struct sample *a, *b;

	assert_string_equal(runner_plugin_name(run, iso), "fx_good");
	assert_int_equal(runner_plugin_kind(run, iso), HB_PLUGIN_INFO);
	assert_int_equal(runner_plugin_default_interval(run, iso), 0);
	assert_int_equal(runner_collect(run, in), 0);
	assert_int_equal(runner_collect(run, iso), 0);
	assert_int_equal(runner_collect(run, iso), 1);
	wait_sample(2);
	a = got[0].id == in ? &got[0] : &got[1];
	b = got[0].id == in ? &got[1] : &got[0];
	assert_int_equal(b->id, iso);
	assert_int_equal(b->status, HB_PLUGIN_OK);
	assert_contains(a->json, "\"count\":42");
	assert_contains(a->json, "\"items\":[\"a\",\"b, c\",\"\",\"~x\"]");
	assert_contains(a->json, "h\xc3\xa9llo \\\"q\\\" \\\\ \\t\\n");
	assert_string_equal(a->json, b->json);
	assert_int_equal(a->len, b->len);
	assert_memory_equal(a->data, b->data, a->len);
	/* The child keeps its state between collections. */
	assert_int_equal(runner_collect(run, iso), 0);
	assert_contains(wait_sample(3)->json, "\"collects\":2");
}

static void test_isolated_monitor(void **state)
{
	int id = add_ok("fx_monitor", NULL, 2000, true);
	struct sample *s;

	assert_int_equal(runner_plugin_default_interval(run, id), 5);
	assert_int_equal(runner_collect(run, id), 0);
	s = wait_sample(1);
	assert_int_equal(s->status, HB_PLUGIN_WARNING);
	assert_string_equal(s->message, "load is 3.50");
	assert_string_equal(s->json, "{\"load\":3.5}");
}

static void test_isolated_refused(void **state)
{
	char err[256];

	assert_int_equal(add("fx_wrong_abi", NULL, 0, true, err, sizeof(err)),
			 HB_EINVAL);
	assert_string_equal(err, "wrong ABI major 2 (hbc speaks 1)");
	assert_true(add("fx_init_fails", NULL, 0, true, err, sizeof(err)) < 0);
	assert_string_equal(err, "init failed: -5");
	assert_true(add("no_such_plugin", NULL, 0, true, err, sizeof(err)) < 0);
	assert_contains(err, "dlopen: ");
	assert_null(runner_plugin_name(run, 0));
}

static void test_isolated_crash(void **state)
{
	int id = add_ok("fx_crash", NULL, 5000, true);
	int good = add_ok("fx_monitor", NULL, 5000, true);
	struct sample *s;

	for (int round = 1; round <= 4; round++) {
		/* Backoff 50, 100, 200 ms, 200 ms (the maximum). */
		uint64_t backoff = round == 2 ? 50 : round == 3 ? 100 : 200;

		if (round == 1)
			assert_int_equal(runner_collect(run, id), 0);
		else if (collect_when_ready(id) < backoff)
			fail_msg("round %d: restarted before %llu ms", round,
				 (unsigned long long)backoff);
		s = wait_sample(n_got + 1);
		assert_int_equal(s->id, id);
		assert_int_equal(s->status, HB_PLUGIN_UNKNOWN);
		assert_string_equal(s->message,
				    "plugin process died: signal 11 (SIGSEGV)");
		assert_null(s->data);
		/* Down until restarted: skipped. */
		assert_int_equal(runner_collect(run, id), 1);
	}
	assert_true(runner_plugin_skipped(run, id) >= 4);
	/* Its neighbour never noticed. */
	assert_int_equal(runner_collect(run, good), 0);
	s = wait_sample(n_got + 1);
	assert_int_equal(s->id, good);
	assert_int_equal(s->status, HB_PLUGIN_WARNING);
	assert_loop_free();
}

static void test_isolated_hang(void **state)
{
	int id = add_ok("fx_hang", NULL, 300, true);
	uint64_t t0 = hb_mono_ms();
	struct sample *s;

	assert_int_equal(runner_collect(run, id), 0);
	s = wait_sample(1);
	assert_int_equal(s->status, HB_PLUGIN_UNKNOWN);
	assert_string_equal(s->message, "timeout after 300 ms");
	assert_true(s->at_ms - t0 >= 300 && s->at_ms - t0 < 1500);
	assert_int_equal(runner_collect(run, id), 1);
	/* Killed and restarted: it takes requests again, and hangs. */
	collect_when_ready(id);
	s = wait_sample(2);
	assert_string_equal(s->message, "timeout after 300 ms");
	assert_loop_free();
}

/* The callback removes the plugin whose sample it was given. */
static void test_remove_in_callback(void **state)
{
	bool isolate = *(bool *)*state;
	int id = add_ok("fx_hang", NULL, 100, isolate);
	int good;

	remove_in_cb = id;
	assert_int_equal(runner_collect(run, id), 0);
	assert_string_equal(wait_sample(1)->message, "timeout after 100 ms");
	assert_null(runner_plugin_name(run, id));
	/* The freed id is reused, and works. */
	remove_in_cb = -1;
	good = add_ok("fx_monitor", NULL, 2000, isolate);
	assert_int_equal(good, id);
	assert_int_equal(runner_collect(run, good), 0);
	assert_int_equal(wait_sample(2)->status, HB_PLUGIN_WARNING);
}

/* A child in collect() ignores SIGTERM: it is killed GRACE later. */
static void test_isolated_free_busy(void **state)
{
	int id = add_ok("fx_hang", NULL, 5000, true);
	uint64_t t0, ms;
	pid_t pid[4];

	assert_int_equal(runner_collect(run, id), 0);
	wait_child_collecting();
	t0 = hb_mono_ms();
	runner_free(run);
	run = NULL;
	ms = hb_mono_ms() - t0;
	assert_true(ms >= 1000 && ms < 3000);
	assert_int_equal(children(pid, 4), 0);
}

/* The same through runner_remove(), which leaves the wait to the loop. */
static void test_isolated_remove_busy(void **state)
{
	int id = add_ok("fx_hang", NULL, 5000, true);
	uint64_t t0, end;
	pid_t pid[4];

	assert_int_equal(runner_collect(run, id), 0);
	wait_child_collecting();
	t0 = hb_mono_ms();
	runner_remove(run, id);
	assert_true(hb_mono_ms() - t0 < 100);
	end = t0 + DEADLINE_MS;
	while (children(pid, 4) > 0 && hb_mono_ms() < end)
		ev_run(loop, EVRUN_ONCE);
	assert_int_equal(children(pid, 4), 0);
	assert_true(hb_mono_ms() - t0 >= 1000);
	assert_int_equal(n_got, 0);
	assert_loop_free();
}

static void no_segv_handler(const char *var)
{
	const char *old = getenv(var);
	char opts[512];

	snprintf(opts, sizeof(opts), "%s%shandle_segv=0", old ? old : "",
		 old ? ":" : "");
	setenv(var, opts, 1);
}

/* --- the wire ---------------------------------------------------------- */

/* Writes one frame: u32 length, type, body (literals: little-endian). */
static void put_frame(int fd, char type, const void *body, size_t len)
{
	uint8_t f[512];
	uint32_t n = (uint32_t)len + 1;

	assert_true(len + 5 <= sizeof(f));
	memcpy(f, &n, 4);
	f[4] = (uint8_t)type;
	memcpy(f + 5, body, len);
	assert_int_equal(write(fd, f, len + 5), (ssize_t)(len + 5));
}

/* A sample body: status, message, time, data. */
static size_t sample_body(uint8_t *b, uint8_t status, const char *msg,
			  const void *data, size_t dlen)
{
	uint64_t t = 1700000000123ull;
	size_t n = strlen(msg);

	b[0] = status;
	b[1] = (uint8_t)n;
	memcpy(b + 2, msg, n);
	memcpy(b + 2 + n, &t, 8);
	memcpy(b + 10 + n, data, dlen);
	return 10 + n + dlen;
}

static void test_frames(void **state)
{
	uint8_t body[256], map[] = {0x81, 0xa1, 'a', 0x01}, bad[] = {0xc1};
	static uint8_t buf[4 + RUNNER_FRAME_MAX];
	struct runner_proc c = {.buf = buf};
	uint32_t huge = RUNNER_FRAME_MAX + 1, zero = 0;
	struct runner_msg m;
	int sv[2];
	size_t n;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	c.fd = sv[0];
	assert_int_equal(fcntl(c.fd, F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(runner_rx(&c, &m), RUNNER_RX_MORE);
	n = sample_body(body, HB_PLUGIN_WARNING, "hi", map, sizeof(map));
	put_frame(sv[1], 'S', body, n);
	assert_int_equal(runner_rx(&c, &m), RUNNER_RX_FRAME);
	assert_int_equal(m.type, RUNNER_SAMPLE);
	assert_int_equal(m.s.status, HB_PLUGIN_WARNING);
	assert_string_equal(m.s.message, "hi");
	assert_int_equal(m.s.time_ms, 1700000000123ull);
	assert_int_equal(m.s.len, sizeof(map));
	assert_memory_equal(m.s.data, map, sizeof(map));
	plugin_sample_free(&m.s);
	/* Byte by byte is the same. */
	put_frame(sv[1], 'H', "HBPLUG 1\001\005\0\0\0fx_x", 17);
	assert_int_equal(runner_rx(&c, &m), RUNNER_RX_FRAME);
	assert_int_equal(m.type, RUNNER_HELLO);
	assert_string_equal(m.name, "fx_x");
	assert_int_equal(m.kind, HB_PLUGIN_MONITOR);
	assert_int_equal(m.interval, 5);
	/* Malformed: each one poisons the stream; the runner kills. */
	n = sample_body(body, HB_PLUGIN_OK, "", bad, sizeof(bad));
	put_frame(sv[1], 'S', body, n);
	assert_int_equal(runner_rx(&c, &m), RUNNER_RX_BAD);
	n = sample_body(body, 4, "", map, sizeof(map));
	put_frame(sv[1], 'S', body, n);
	assert_int_equal(runner_rx(&c, &m), RUNNER_RX_BAD);
	put_frame(sv[1], 'H', "HBPLUG 2\001\005\0\0\0fx_x", 17);
	assert_int_equal(runner_rx(&c, &m), RUNNER_RX_BAD);
	put_frame(sv[1], 'X', "", 0);
	assert_int_equal(runner_rx(&c, &m), RUNNER_RX_BAD);
	assert_int_equal(write(sv[1], &zero, 4), 4);
	assert_int_equal(runner_rx(&c, &m), RUNNER_RX_BAD);
	c.have = 0;
	/* Too long: refused from its length, before any body. */
	assert_int_equal(write(sv[1], &huge, 4), 4);
	assert_int_equal(runner_rx(&c, &m), RUNNER_RX_BAD);
	c.have = 0;
	/* Half a frame, then EOF. */
	assert_int_equal(write(sv[1], &huge, 2), 2);
	assert_int_equal(runner_rx(&c, &m), RUNNER_RX_MORE);
	close(sv[1]);
	assert_int_equal(runner_rx(&c, &m), RUNNER_RX_EOF);
	close(sv[0]);
}

/*
 * A child (T_FAKE_CHILD set) that says hello as fx_fake, then answers a
 * collection with data that is not msgpack.
 */
static int fake_child(int fd)
{
	uint8_t body[64], bad[] = {0xc1};
	char req;
	size_t n;

	put_frame(fd, 'H', "HBPLUG 1\001\005\0\0\0fx_fake", 20);
	if (read(fd, &req, 1) != 1)
		return 1;
	n = sample_body(body, HB_PLUGIN_OK, "", bad, sizeof(bad));
	put_frame(fd, 'S', body, n);
	pause();
	return 0;
}

static void test_isolated_malformed(void **state)
{
	struct sample *s;
	int id;

	setenv("T_FAKE_CHILD", "1", 1);
	id = add_ok("fx_good", NULL, 5000, true);
	unsetenv("T_FAKE_CHILD");
	assert_string_equal(runner_plugin_name(run, id), "fx_fake");
	assert_int_equal(runner_collect(run, id), 0);
	s = wait_sample(1);
	assert_int_equal(s->status, HB_PLUGIN_UNKNOWN);
	assert_string_equal(s->message,
			    "plugin process sent a malformed answer");
	/* Killed; the restart loads the real fx_good: another name. */
	assert_false(wait_count(&n_got, 2, 300));
	assert_int_equal(runner_collect(run, id), 1);
	assert_loop_free();
}

int main(int argc, char **argv)
{
	static bool no = false, yes = true;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_good, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_monitor, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hang, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_free_stuck, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_remove_busy, setup, teardown),
	    cmocka_unit_test_prestate_setup_teardown(test_cleanup_at_remove,
						     setup, teardown, &no),
	    cmocka_unit_test_prestate_setup_teardown(test_remove_in_callback,
						     setup, teardown, &no),
	    cmocka_unit_test(test_frames),
	    cmocka_unit_test_setup_teardown(test_isolated_malformed, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_isolated_same_data, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_isolated_monitor, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_isolated_refused, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_isolated_crash, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_isolated_hang, setup,
					    teardown),
	    cmocka_unit_test_prestate_setup_teardown(test_cleanup_at_remove,
						     setup, teardown, &yes),
	    cmocka_unit_test_prestate_setup_teardown(test_remove_in_callback,
						     setup, teardown, &yes),
	    cmocka_unit_test_setup_teardown(test_isolated_free_busy, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_isolated_remove_busy, setup,
					    teardown),
	    /* Last: libev's default loop reaps every child of ours. */
	    cmocka_unit_test_setup_teardown(test_isolated_crash, setup_default,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_isolated_hang, setup_default,
					    teardown),
	};
	int rc;

	/* The isolated plugins' process. */
	if (argc >= 3 && strcmp(argv[1], "--plugin-child") == 0)
		return getenv("T_FAKE_CHILD")
			   ? fake_child(atoi(argv[2]))
			   : runner_child_main(atoi(argv[2]), argc, argv);
	plugdir = getenv("HB_TEST_PLUGINS");
	if (argc > 1)
		plugdir = argv[1];
	if (!plugdir) {
		fprintf(stderr, "usage: %s PLUGIN_DIR (or HB_TEST_PLUGINS)\n",
			argv[0]);
		return 2;
	}
	/* A child under ASan or TSan would report fx_crash's SIGSEGV and
	 * exit 1, not die of the signal as it does in production. */
	no_segv_handler("ASAN_OPTIONS");
	no_segv_handler("TSAN_OPTIONS");
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_runner.XXXXXX");
	if (!mkdtemp(tmpdir))
		return 2;
	hb_log_open("test", false);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rmdir(tmpdir);
	return rc;
}
