/*
 * test_hooks: hooks run real children on a real libev loop, polled with
 * ev_run(EVRUN_ONCE) until a condition holds or a deadline passes (no
 * fixed sleeps). Covered: the exact environment and process state of a
 * hook, the targets filter, timeouts (SIGTERM to the group, SIGKILL
 * after the grace), exec failure, the running cap and its queue, the
 * rate limit, bounded output capture, reconfiguration and hooks_free().
 * Both reaping paths run: ev_child on the default loop, a pidfd on
 * another loop.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ev.h>

#include "hb_error.h"
#include "hb_log.h"
#include "hb_time.h"
#include "hooks.h"
#include "store.h"

#define DEADLINE_MS 10000

/* store.c owns the real one; weak so linking it in wins. */
__attribute__((weak)) const char *hbd_state_name(int state)
{
	static const char *const names[] = {"UP", "LATE", "DOWN", "STOPPED"};

	return state >= 0 && state < HBD_STATE_COUNT ? names[state] : "?";
}

static char dir[64];          /* per-run scratch directory */
static struct hooks *cur;     /* freed by teardown if a test fails */
static struct ev_loop *cur_loop;
static int saved_stderr = -1; /* while stderr is captured */
static uint32_t max_running;  /* highest running seen by idle() */

static const struct hook_event t_event = {
	.host_uuid = "10111213-1415-1617-1819-1a1b1c1d1e1f",
	.hostname = "web-1",
	.address = "192.0.2.7:4711",
	.owner = "ops team",
	.labels_json = "{\"env\":\"prod\"}",
	.from = HBD_STATE_UP,
	.to = HBD_STATE_DOWN,
	.time_ms = 1700000000123ull,
	.reason = "no heartbeat for 180 s",
};

/* The environment every hook must get, exactly. */
static const char *const t_env[] = {
	"HB_EVENT=state",
	"HB_HOST_UUID=10111213-1415-1617-1819-1a1b1c1d1e1f",
	"HB_HOSTNAME=web-1",
	"HB_ADDRESS=192.0.2.7:4711",
	"HB_OWNER=ops team",
	"HB_LABELS={\"env\":\"prod\"}",
	"HB_STATE=DOWN",
	"HB_PREV_STATE=UP",
	"HB_TIME=1700000000",
	"HB_TIME_MS=1700000000123",
	"HB_REASON=no heartbeat for 180 s",
	"PATH=/usr/local/bin:/usr/bin:/bin",
	"LANG=C",
};
#define T_NENV (sizeof(t_env) / sizeof(t_env[0]))

static const char *tpath(char *buf, const char *name)
{
	snprintf(buf, 128, "%s/%s", dir, name);
	return buf;
}

/* The whole file (NULs and all) as a string, or NULL when unreadable. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	size_t len = 0, cap = 4096;
	char *s = malloc(cap + 1);

	assert_non_null(s);
	if (!f) {
		free(s);
		return NULL;
	}
	for (size_t n; (n = fread(s + len, 1, cap - len, f)) > 0;) {
		len += n;
		if (len == cap)
			assert_non_null(s = realloc(s, (cap *= 2) + 1));
	}
	fclose(f);
	s[len] = '\0';
	return s;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void capture_begin(void)
{
	char path[128];
	int fd = open(tpath(path, "stderr"), O_WRONLY | O_CREAT | O_TRUNC,
		      0600);

	assert_true(fd >= 0);
	hb_log_set_level(HB_LOG_INFO);
	fflush(stderr);
	saved_stderr = dup(2);
	dup2(fd, 2);
	close(fd);
}

/* Restores stderr and returns what was written to it (free it). */
static char *capture_end(void)
{
	char path[128];

	if (saved_stderr < 0)
		return NULL;
	fflush(stderr);
	hb_log_set_level(HB_LOG_WARN);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	saved_stderr = -1;
	return slurp(tpath(path, "stderr"));
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
}

/* Runs the loop until done(arg) holds; fails after DEADLINE_MS. */
static void run_until(struct ev_loop *loop, bool (*done)(void *), void *arg)
{
	uint64_t end = hb_mono_ms() + DEADLINE_MS;
	ev_timer tick; /* wakes EVRUN_ONCE up to look at the clock */
	bool ok;

	ev_timer_init(&tick, tick_cb, 0.01, 0.01);
	ev_timer_start(loop, &tick);
	while (!(ok = done(arg)) && hb_mono_ms() < end)
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &tick);
	assert_true(ok);
}

static bool idle(void *arg)
{
	struct hooks_stats st;

	hooks_get_stats(arg, &st);
	if (st.running > max_running)
		max_running = st.running;
	return !st.running && !st.queued;
}

static bool after(void *arg)
{
	return hb_mono_ms() >= *(uint64_t *)arg;
}

static struct hooks_stats stats(void)
{
	struct hooks_stats st;

	hooks_get_stats(cur, &st);
	return st;
}

/* Runs the loop until nothing runs or waits; every run has one outcome. */
static void settle(void)
{
	struct hooks_stats st;

	max_running = 0;
	run_until(cur_loop, idle, cur);
	hooks_get_stats(cur, &st);
	assert_int_equal(st.started, st.succeeded + st.failed + st.timed_out);
}

/* Starts cur with one hook def and the given limits. */
static void setup_hooks(struct ev_loop *loop, char **argv, unsigned targets,
			uint32_t timeout_ms, uint32_t max_run, uint32_t max_q,
			double rate, uint32_t burst)
{
	struct hook_def def = {argv, targets, timeout_ms};
	struct hooks_opts o = {&def, 1, max_run, max_q, rate, burst};

	cur_loop = loop;
	cur = hooks_new(loop, &o);
	assert_non_null(cur);
}

/* The pid of our only child. */
static pid_t only_child(void)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t found = -1;

	assert_non_null(d);
	while ((e = readdir(d))) {
		char path[300], buf[512], *p;
		FILE *f;
		int ppid;

		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		if (!(f = fopen(path, "r")))
			continue;
		p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
		fclose(f);
		if (p && sscanf(p, ") %*c %d", &ppid) == 1 &&
		    ppid == getpid()) {
			assert_int_equal(found, -1);
			found = atoi(e->d_name);
		}
	}
	closedir(d);
	assert_true(found > 0);
	return found;
}

static bool nonempty(void *path)
{
	char *s = slurp(path);
	bool ok = s && *s;

	free(s);
	return ok;
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* Gone: no such process, or a zombie waiting for init. */
static bool dead(void *arg)
{
	pid_t pid = *(pid_t *)arg;
	char path[64], *s, *p;
	bool zombie;

	if (kill(pid, 0) < 0 && errno == ESRCH)
		return true;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	s = slurp(path);
	p = s ? strrchr(s, ')') : NULL;
	zombie = !s || (p && (p[2] == 'Z' || p[2] == 'X'));
	free(s);
	return zombie;
}

static void assert_env_exact(const char *text, const char *extra_prefix)
{
	size_t n = 0;

	for (size_t i = 0; i < T_NENV; i++) {
		char line[256];

		snprintf(line, sizeof(line), "\n%s\n", t_env[i]);
		if (!strstr(text, line))
			fail_msg("missing %s in:\n%s", t_env[i], text);
	}
	for (const char *p = text + 1; *p; p = strchr(p, '\n') + 1) {
		if (!extra_prefix ||
		    strncmp(p, extra_prefix, strlen(extra_prefix)) != 0)
			n++;
	}
	if (n != T_NENV)
		fail_msg("%zu variables instead of %zu:\n%s", n, T_NENV, text);
	assert_null(strstr(text, "HB_TEST_LEAK"));
}

/* A hook (a shell, here) sees exactly the HB_* variables, PATH, LANG. */
static void test_env_file(void **state)
{
	bool other = *(int *)*state;
	struct ev_loop *loop = other ? ev_loop_new(0) : ev_default_loop(0);
	char path[128], script[300], *argv[] = {"/bin/sh", "-c", script, NULL};
	char *text, *body;
	int fds = open_fds();

	snprintf(script, sizeof(script), "env > %s", tpath(path, "env"));
	setenv("HB_TEST_LEAK", "secret", 1);
	setup_hooks(loop, argv, 1u << HBD_STATE_DOWN, 5000, 4, 4, 0, 0);
	assert_int_equal(hooks_fire(cur, &t_event), 1);
	settle();
	assert_int_equal(stats().succeeded, 1);
	assert_int_equal(stats().started, 1);
	body = slurp(path);
	assert_non_null(body);
	/* Framed in newlines so every variable is "\nNAME=value\n". */
	assert_true(asprintf(&text, "\n%s", body) > 0);
	/* dash exports PWD itself; everything else must come from hbd. */
	assert_env_exact(text, "PWD=");
	free(text);
	free(body);
	hooks_free(cur);
	cur = NULL;
	/* The pipe and the pidfd were closed. */
	assert_int_equal(open_fds(), fds);
	if (other)
		ev_loop_destroy(loop);
}

/*
 * The child as the kernel sees it: environment, descriptors, signal
 * mask and dispositions, session; then hooks_free() kills and reaps it.
 */
static void test_child_state_and_free(void **state)
{
	bool other = *(int *)*state;
	struct ev_loop *loop = other ? ev_loop_new(0) : ev_default_loop(0);
	char *argv[] = {"/bin/sleep", "30", NULL}, path[64], *s, *p;
	int leak = open("/dev/zero", O_RDONLY); /* no O_CLOEXEC */
	sigset_t usr1, old;
	struct stat st1, st2;
	pid_t pid;

	assert_true(leak >= 0);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, &old);
	signal(SIGUSR2, SIG_IGN);
	setenv("HB_TEST_LEAK", "secret", 1);
	setup_hooks(loop, argv, ~0u, 0, 4, 4, 0, 0);
	assert_int_equal(hooks_fire(cur, &t_event), 1);
	sigprocmask(SIG_SETMASK, &old, NULL);
	signal(SIGUSR2, SIG_DFL);
	close(leak);
	/*
	 * posix_spawn() returns once the exec is under way, and the kernel
	 * releases us before it has set up the new image's environment.
	 */
	pid = only_child();
	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	run_until(loop, nonempty, path);
	s = slurp(path);
	assert_non_null(s);
	for (p = s; p[0] || p[1]; p++) /* NUL-separated, ends in NUL */
		if (!*p)
			*p = '\n';
	assert_true(asprintf(&p, "\n%s\n", s) > 0);
	assert_env_exact(p, NULL);
	free(p);
	free(s);

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	s = slurp(path);
	assert_non_null(strstr(s, "\nSigBlk:\t0000000000000000\n"));
	/*
	 * SIGUSR2 is back to default. glibc's posix_spawn() leaves its two
	 * internal signals (32, 33) ignored, and sigaction() can't touch
	 * them; a glibc program takes them over when it uses them.
	 */
	{
		unsigned long long ign = ~0ull;

		assert_int_equal(sscanf(strstr(s, "\nSigIgn:"), "\nSigIgn: %llx",
					&ign), 1);
		assert_int_equal(ign & ~(3ull << 31), 0);
	}
	free(s);

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	s = slurp(path);
	{
		int pgrp = 0, sid = 0;

		assert_int_equal(sscanf(strrchr(s, ')'), ") %*c %*d %d %d",
					&pgrp, &sid), 2);
		assert_int_equal(pgrp, pid);
		assert_int_equal(sid, pid);
	}
	free(s);

	/* 0 is /dev/null, 1 and 2 one pipe, nothing else. */
	snprintf(path, sizeof(path), "/proc/%d/fd/0", (int)pid);
	assert_int_equal(stat(path, &st1), 0);
	assert_true(S_ISCHR(st1.st_mode));
	assert_int_equal(stat("/dev/null", &st2), 0);
	assert_int_equal(st1.st_rdev, st2.st_rdev);
	snprintf(path, sizeof(path), "/proc/%d/fd/1", (int)pid);
	assert_int_equal(stat(path, &st1), 0);
	assert_true(S_ISFIFO(st1.st_mode));
	snprintf(path, sizeof(path), "/proc/%d/fd/2", (int)pid);
	assert_int_equal(stat(path, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	/*
	 * The new image's dynamic loader briefly holds fd 3 (ld.so.cache,
	 * libc) while it starts: a leaked descriptor is one still open
	 * after a grace period, not one seen once.
	 */
	for (int fd = 3; fd < 1024; fd++) {
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
		for (int tries = 0; access(path, F_OK) == 0; tries++) {
			if (tries == 200)
				fail_msg("fd %d leaked into the hook", fd);
			usleep(10000);
		}
	}

	assert_int_equal(stats().running, 1);
	hooks_free(cur);
	cur = NULL;
	assert_int_equal(waitpid(pid, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	assert_true(kill(pid, 0) < 0);
	if (other)
		ev_loop_destroy(loop);
}

static void test_targets(void **state)
{
	char *argv[] = {"/bin/true", NULL};
	struct hook_event ev = t_event;

	setup_hooks(ev_default_loop(0), argv, 1u << HBD_STATE_DOWN, 5000, 4,
		    4, 0, 0);
	ev.to = HBD_STATE_UP;
	assert_int_equal(hooks_fire(cur, &ev), 0);
	ev.to = HBD_STATE_LATE;
	assert_int_equal(hooks_fire(cur, &ev), 0);
	assert_int_equal(stats().started, 0);
	ev.to = HBD_STATE_DOWN;
	assert_int_equal(hooks_fire(cur, &ev), 1);
	settle();
	assert_int_equal(stats().started, 1);
	assert_int_equal(stats().succeeded, 1);
}

/* SIGTERM reaches the whole group: the hook and its background child. */
static void test_timeout_kills_group(void **state)
{
	char path[128], script[300], *argv[] = {"/bin/sh", "-c", script, NULL};
	char *s;
	pid_t bg;

	snprintf(script, sizeof(script), "sleep 30 & echo $! > %s; exec sleep 30",
		 tpath(path, "bg"));
	setup_hooks(ev_default_loop(0), argv, ~0u, 1000, 4, 4, 0, 0);
	assert_int_equal(hooks_fire(cur, &t_event), 1);
	settle();
	assert_int_equal(stats().timed_out, 1);
	assert_int_equal(stats().succeeded + stats().failed, 0);
	s = slurp(path);
	assert_non_null(s);
	bg = atoi(s);
	free(s);
	assert_true(bg > 0);
	run_until(cur_loop, dead, &bg);
}

/* A hook ignoring SIGTERM gets SIGKILL after the 1 s grace. */
static void test_timeout_escalates(void **state)
{
	char *argv[] = {"/bin/sh", "-c", "trap '' TERM; sleep 30", NULL};
	uint64_t t0 = hb_mono_ms();
	char *log;

	capture_begin();
	setup_hooks(ev_default_loop(0), argv, ~0u, 100, 4, 4, 0, 0);
	assert_int_equal(hooks_fire(cur, &t_event), 1);
	settle();
	log = capture_end();
	assert_int_equal(stats().timed_out, 1);
	assert_true(hb_mono_ms() - t0 >= 1000);
	assert_int_equal(count(log, "sending SIGTERM"), 1);
	assert_int_equal(count(log, "sending SIGKILL"), 1);
	free(log);
}

static void test_exec_failure(void **state)
{
	char *argv[] = {"/nonexistent/hook", NULL};
	char *log;

	capture_begin();
	setup_hooks(ev_default_loop(0), argv, ~0u, 1000, 4, 4, 0, 0);
	assert_int_equal(hooks_fire(cur, &t_event), 1);
	settle();
	log = capture_end();
	assert_int_equal(stats().started, 1);
	assert_int_equal(stats().failed, 1);
	assert_int_equal(stats().running, 0);
	assert_non_null(strstr(log, "hook /nonexistent/hook: exec failed: "
				    "No such file or directory"));
	free(log);
	/* The slot was given back: a second run fails the same way. */
	assert_int_equal(hooks_fire(cur, &t_event), 1);
	assert_int_equal(stats().failed, 2);
}

/* max_running 1: three runs one after another, all of them complete. */
static void test_serial(void **state)
{
	char path[128], script[300], *argv[] = {"/bin/sh", "-c", script, NULL};
	char *s;

	snprintf(script, sizeof(script),
		 "echo start >> %1$s; sleep 0.05; echo end >> %1$s",
		 tpath(path, "serial"));
	setup_hooks(ev_default_loop(0), argv, ~0u, 5000, 1, 8, 0, 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(hooks_fire(cur, &t_event), 1);
	assert_int_equal(stats().running, 1);
	assert_int_equal(stats().queued, 2);
	settle();
	assert_int_equal(max_running, 1);
	assert_int_equal(stats().started, 3);
	assert_int_equal(stats().succeeded, 3);
	s = slurp(path);
	assert_string_equal(s, "start\nend\nstart\nend\nstart\nend\n");
	free(s);
}

static void test_queue_full(void **state)
{
	char *argv[] = {"/bin/sleep", "0.05", NULL};
	int n = 0;
	char *log;

	capture_begin();
	setup_hooks(ev_default_loop(0), argv, ~0u, 5000, 1, 2, 0, 0);
	for (int i = 0; i < 5; i++)
		n += hooks_fire(cur, &t_event);
	log = capture_end();
	assert_int_equal(n, 3);
	assert_int_equal(stats().queue_full, 2);
	/* Drops are summarised, not logged one by one. */
	assert_int_equal(count(log, "hook runs dropped"), 1);
	free(log);
	settle();
	assert_int_equal(stats().succeeded, 3);
	assert_int_equal(stats().queue_full, 2);
}

static void test_rate_limit(void **state)
{
	char *argv[] = {"/bin/true", NULL};
	int n = 0;
	char *log;
	uint64_t t;

	capture_begin();
	setup_hooks(ev_default_loop(0), argv, ~0u, 5000, 8, 8, 0.001, 2);
	for (int i = 0; i < 5; i++)
		n += hooks_fire(cur, &t_event);
	log = capture_end();
	assert_int_equal(n, 2);
	assert_int_equal(stats().started, 2);
	assert_int_equal(stats().rate_limited, 3);
	assert_int_equal(count(log, "hook runs dropped"), 1);
	free(log);
	settle();
	hooks_free(cur);
	cur = NULL;

	/* The bucket refills: 2/s is one token every 500 ms. */
	setup_hooks(ev_default_loop(0), argv, ~0u, 5000, 8, 8, 2, 1);
	assert_int_equal(hooks_fire(cur, &t_event), 1);
	assert_int_equal(hooks_fire(cur, &t_event), 0);
	t = hb_mono_ms() + 600;
	run_until(cur_loop, after, &t);
	assert_int_equal(hooks_fire(cur, &t_event), 1);
	assert_int_equal(stats().rate_limited, 1);
	settle();
}

/* 1 MiB of output neither blocks the hook nor floods the log. */
static void test_output_bounded(void **state)
{
	char *argv[] = {"/bin/sh", "-c", "yes hello | head -c 1048576", NULL};
	char *log;

	capture_begin();
	setup_hooks(ev_default_loop(0), argv, ~0u, 20000, 4, 4, 0, 0);
	assert_int_equal(hooks_fire(cur, &t_event), 1);
	settle();
	log = capture_end();
	assert_int_equal(stats().succeeded, 1);
	/* The first 8 lines, then the rest counted. */
	assert_int_equal(count(log, "hook /bin/sh: | hello\n"), 8);
	assert_non_null(strstr(log, "hook /bin/sh: (1048528 more bytes"));
	assert_true(strlen(log) < 4096);
	free(log);
}

/* Control bytes in output don't reach the log; lines are truncated. */
static void test_output_sanitised(void **state)
{
	char *argv[] = {"/bin/sh", "-c",
			"printf 'a\\033[31mb\\r\\n\\n%0300d\\n' 7", NULL};
	char *log, want[256];

	capture_begin();
	setup_hooks(ev_default_loop(0), argv, ~0u, 5000, 4, 4, 0, 0);
	assert_int_equal(hooks_fire(cur, &t_event), 1);
	settle();
	log = capture_end();
	assert_non_null(strstr(log, "hook /bin/sh: | a?[31mb?\n"));
	snprintf(want, sizeof(want), "| %0200d...\n", 0);
	assert_non_null(strstr(log, want));
	assert_int_equal(count(log, "hook /bin/sh: |"), 2);
	free(log);
}

static void test_exit_status_counts(void **state)
{
	char *argv[] = {"/bin/sh", "-c", "exit 3", NULL};
	char *log;

	capture_begin();
	setup_hooks(ev_default_loop(0), argv, ~0u, 5000, 4, 4, 0, 0);
	assert_int_equal(hooks_fire(cur, &t_event), 1);
	settle();
	log = capture_end();
	assert_int_equal(stats().failed, 1);
	assert_int_equal(stats().succeeded, 0);
	assert_non_null(strstr(log, "exited with status 3"));
	free(log);
}

/* Queued runs follow their def if it survives, go if it was removed. */
static void test_reconfigure(void **state)
{
	char *a[] = {"/bin/sleep", "0.2", NULL}, *b[] = {"/bin/true", NULL};
	struct hook_def both[] = {{b, ~0u, 5000}, {a, ~0u, 5000}};
	struct hooks_opts o = {both, 2, 1, 8, 0, 0};

	setup_hooks(ev_default_loop(0), a, ~0u, 5000, 1, 8, 0, 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(hooks_fire(cur, &t_event), 1);
	assert_int_equal(hooks_reconfigure(cur, &o), 0);
	assert_int_equal(stats().queued, 2);
	o.n_defs = 1;
	assert_int_equal(hooks_reconfigure(cur, &o), 0);
	assert_int_equal(stats().queued, 0);
	assert_int_equal(stats().running, 1);
	settle();
	assert_int_equal(stats().succeeded, 1);
	assert_int_equal(hooks_fire(cur, &t_event), 1);
	settle();
	assert_int_equal(stats().succeeded, 2);

	/* A relative argv[0] is refused and the old config kept. */
	both[0].argv = (char *[]){"true", NULL};
	assert_int_equal(hooks_reconfigure(cur, &o), HB_EINVAL);
	assert_int_equal(hooks_fire(cur, &t_event), 1);
	settle();
	assert_int_equal(stats().succeeded, 3);
}

/* Raising max_running starts queued runs at once. */
static void test_reconfigure_raises_cap(void **state)
{
	char *a[] = {"/bin/sleep", "0.2", NULL};
	struct hook_def def = {a, ~0u, 5000};
	struct hooks_opts o = {&def, 1, 3, 8, 0, 0};

	setup_hooks(ev_default_loop(0), a, ~0u, 5000, 1, 8, 0, 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(hooks_fire(cur, &t_event), 1);
	assert_int_equal(hooks_reconfigure(cur, &o), 0);
	assert_int_equal(stats().running, 3);
	assert_int_equal(stats().queued, 0);
	settle();
	assert_int_equal(stats().succeeded, 3);
}

static int teardown(void **state)
{
	free(capture_end());
	hooks_free(cur);
	cur = NULL;
	unsetenv("HB_TEST_LEAK");
	return 0;
}

static int group_setup(void **state)
{
	/* Info lines only where a test looks at them. */
	hb_log_set_level(HB_LOG_WARN);
	strcpy(dir, "/tmp/test_hooks.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	static const char *const names[] = {"env", "bg", "serial", "stderr"};
	char path[128];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unlink(tpath(path, names[i]));
	return rmdir(dir);
}

static int on_default = 0, on_other = 1;

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate_setup_teardown(test_env_file, NULL,
							 teardown, &on_default),
		cmocka_unit_test_prestate_setup_teardown(test_env_file, NULL,
							 teardown, &on_other),
		cmocka_unit_test_prestate_setup_teardown(
			test_child_state_and_free, NULL, teardown, &on_default),
		cmocka_unit_test_prestate_setup_teardown(
			test_child_state_and_free, NULL, teardown, &on_other),
		cmocka_unit_test_teardown(test_targets, teardown),
		cmocka_unit_test_teardown(test_timeout_kills_group, teardown),
		cmocka_unit_test_teardown(test_timeout_escalates, teardown),
		cmocka_unit_test_teardown(test_exec_failure, teardown),
		cmocka_unit_test_teardown(test_serial, teardown),
		cmocka_unit_test_teardown(test_queue_full, teardown),
		cmocka_unit_test_teardown(test_rate_limit, teardown),
		cmocka_unit_test_teardown(test_output_bounded, teardown),
		cmocka_unit_test_teardown(test_output_sanitised, teardown),
		cmocka_unit_test_teardown(test_exit_status_counts, teardown),
		cmocka_unit_test_teardown(test_reconfigure, teardown),
		cmocka_unit_test_teardown(test_reconfigure_raises_cap, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
