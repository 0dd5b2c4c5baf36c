/*
 * Unit tests of hbc's command runner: output captured exactly, stdout
 * and stderr apart; exit codes and signals; the minimal environment and
 * stdin; no shell; the output bound; the timeout killing the whole
 * process group, and leftovers of the group killed after a normal exit;
 * refused and missing programs; eight threads running commands at once
 * without leaking descriptors into each other's children.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "command.h"
#include "hb_error.h"
#include "hb_time.h"

/* Runs argv, which must run (rc 0), into *res. */
static void run_ok(const char *const *argv, uint32_t timeout_ms,
		   size_t out_max, struct hb_command_result *res)
{
	int rc = hbc_command_run(argv, timeout_ms, out_max, res);

	if (rc)
		fail_msg("%s: rc %d, err \"%s\"", argv[0], rc,
			 res->err ? res->err : "");
}

static void test_echo(void **state)
{
	const char *argv[] = {"/bin/echo", "hello", "world", NULL};
	struct hb_command_result res;

	run_ok(argv, 0, 0, &res);
	assert_int_equal(res.exit_status, 0);
	assert_int_equal(res.timed_out, 0);
	assert_int_equal(res.truncated, 0);
	assert_string_equal(res.out, "hello world\n");
	assert_int_equal(res.out_len, 12);
	assert_string_equal(res.err, "");
	assert_int_equal(res.err_len, 0);
	hbc_command_free(&res);
	assert_null(res.out);
	hbc_command_free(&res); /* twice is harmless */
}

static void test_stderr_and_status(void **state)
{
	const char *argv[] = {"/bin/sh", "-c",
			      "echo out; echo err >&2; echo more; exit 3",
			      NULL};
	struct hb_command_result res;

	run_ok(argv, 0, 0, &res);
	assert_int_equal(res.exit_status, 3);
	assert_string_equal(res.out, "out\nmore\n");
	assert_string_equal(res.err, "err\n");
	assert_int_equal(res.err_len, 4);
	hbc_command_free(&res);
}

static void test_signal_status(void **state)
{
	const char *argv[] = {"/bin/sh", "-c", "kill -TERM $$", NULL};
	struct hb_command_result res;

	run_ok(argv, 0, 0, &res);
	assert_int_equal(res.exit_status, 128 + SIGTERM);
	assert_int_equal(res.timed_out, 0);
	hbc_command_free(&res);
}

static void test_binary_output(void **state)
{
	const char *argv[] = {"/usr/bin/printf", "a\\000b", NULL};
	struct hb_command_result res;

	run_ok(argv, 0, 0, &res);
	assert_int_equal(res.out_len, 3);
	assert_memory_equal(res.out, "a\0b", 4);
	hbc_command_free(&res);
}

/* The environment is exactly PATH and LANG; stdin is /dev/null. */
static void test_environment_and_stdin(void **state)
{
	const char *env[] = {"/usr/bin/env", NULL};
	const char *cat[] = {"/bin/cat", NULL};
	struct hb_command_result res;

	setenv("HB_TEST_SECRET", "leak", 1);
	run_ok(env, 0, 0, &res);
	assert_string_equal(res.out,
			    "PATH=/usr/sbin:/usr/bin:/sbin:/bin\nLANG=C\n");
	hbc_command_free(&res);
	run_ok(cat, 1000, 0, &res);
	assert_int_equal(res.exit_status, 0);
	assert_int_equal(res.timed_out, 0);
	assert_int_equal(res.out_len, 0);
	hbc_command_free(&res);
}

static void test_no_shell(void **state)
{
	const char *argv[] = {"/bin/echo", "$HOME", "a;b", "`id`", "*", NULL};
	struct hb_command_result res;

	run_ok(argv, 0, 0, &res);
	assert_string_equal(res.out, "$HOME a;b `id` *\n");
	hbc_command_free(&res);
}

/* Only 0, 1 and 2 reach the child (ls's own directory is 3). */
static void test_no_fd_leak(void **state)
{
	const char *argv[] = {"/bin/ls", "/proc/self/fd", NULL};
	struct hb_command_result res;
	FILE *f = tmpfile();

	assert_non_null(f);
	run_ok(argv, 0, 0, &res);
	assert_string_equal(res.out, "0\n1\n2\n3\n");
	hbc_command_free(&res);
	fclose(f);
}

static void test_bound_truncates(void **state)
{
	const char *argv[] = {"/usr/bin/head", "-c", "1048576", "/dev/zero",
			      NULL};
	const char *both[] = {"/bin/sh", "-c",
			      "echo 0123456789; echo abcdefghij >&2", NULL};
	struct hb_command_result res;
	char zeros[1000] = {0};

	run_ok(argv, 0, 1000, &res);
	assert_int_equal(res.exit_status, 0);
	assert_int_equal(res.timed_out, 0);
	assert_int_equal(res.out_len, 1000);
	assert_int_equal(res.truncated, 1);
	assert_memory_equal(res.out, zeros, 1000);
	assert_int_equal(res.out[1000], '\0');
	hbc_command_free(&res);

	run_ok(both, 0, 4, &res);
	assert_string_equal(res.out, "0123");
	assert_string_equal(res.err, "abcd");
	assert_int_equal(res.truncated, 1);
	hbc_command_free(&res);

	/* Exactly at the bound is not truncated. */
	run_ok(both, 0, 11, &res);
	assert_string_equal(res.out, "0123456789\n");
	assert_int_equal(res.truncated, 0);
	hbc_command_free(&res);
}

/* The default bound, 64 KiB, and growth of the buffer up to it. */
static void test_default_bound(void **state)
{
	const char *argv[] = {"/usr/bin/head", "-c", "100000", "/dev/zero",
			      NULL};
	struct hb_command_result res;

	run_ok(argv, 0, 0, &res);
	assert_int_equal(res.out_len, HBC_COMMAND_OUT_DEFAULT);
	assert_int_equal(res.truncated, 1);
	hbc_command_free(&res);
}

static void test_timeout(void **state)
{
	const char *argv[] = {"/bin/sleep", "30", NULL};
	struct hb_command_result res;
	uint64_t t0 = hb_mono_ms();

	run_ok(argv, 200, 0, &res);
	assert_int_equal(res.timed_out, 1);
	assert_int_equal(res.exit_status, 128 + SIGKILL);
	assert_true(hb_mono_ms() - t0 < 10000);
	hbc_command_free(&res);
}

/* Output written before the timeout is kept. */
static void test_timeout_keeps_output(void **state)
{
	const char *argv[] = {"/bin/sh", "-c", "echo early; exec /bin/sleep 30",
			      NULL};
	struct hb_command_result res;

	run_ok(argv, 300, 0, &res);
	assert_int_equal(res.timed_out, 1);
	assert_string_equal(res.out, "early\n");
	hbc_command_free(&res);
}

/* True once pid is gone (or a zombie nobody reaps: PID 1 may not). */
static int dead(pid_t pid)
{
	char path[64], buf[256];
	const char *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "r")))
		return 1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

static void wait_dead(pid_t pid)
{
	for (int i = 0; i < 200 && !dead(pid); i++)
		usleep(10000);
	if (!dead(pid)) {
		kill(pid, SIGKILL);
		fail_msg("process %d survived its group's kill", (int)pid);
	}
}

static pid_t first_pid(const struct hb_command_result *res)
{
	long pid = strtol(res->out, NULL, 10);

	assert_true(pid > 1);
	return (pid_t)pid;
}

/* A background grandchild dies with the group at the timeout. */
static void test_timeout_kills_group(void **state)
{
	const char *argv[] = {"/bin/sh", "-c",
			      "/bin/sleep 30 & echo $!; exec /bin/sleep 30",
			      NULL};
	struct hb_command_result res;

	run_ok(argv, 300, 0, &res);
	assert_int_equal(res.timed_out, 1);
	wait_dead(first_pid(&res));
	hbc_command_free(&res);
}

/*
 * A grandchild left behind when the command exits is killed too, at
 * once: even one holding our pipe doesn't make us wait for the timeout.
 */
static void test_exit_kills_leftovers(void **state)
{
	const char *holds[] = {"/bin/sh", "-c", "/bin/sleep 30 & echo $!",
			       NULL};
	const char *detached[] = {
		"/bin/sh", "-c", "/bin/sleep 30 >/dev/null 2>&1 & echo $!",
		NULL};
	struct hb_command_result res;
	uint64_t t0 = hb_mono_ms();

	run_ok(holds, 5000, 0, &res);
	assert_int_equal(res.timed_out, 0);
	assert_int_equal(res.exit_status, 0);
	assert_true(hb_mono_ms() - t0 < 4000);
	wait_dead(first_pid(&res));
	hbc_command_free(&res);

	run_ok(detached, 5000, 0, &res);
	assert_int_equal(res.timed_out, 0);
	wait_dead(first_pid(&res));
	hbc_command_free(&res);
}

static void test_relative_refused(void **state)
{
	const char *rel[] = {"echo", "hi", NULL};
	const char *dot[] = {"./echo", NULL};
	const char *none[] = {NULL};
	struct hb_command_result res;

	assert_int_equal(hbc_command_run(rel, 0, 0, &res), HB_EINVAL);
	assert_int_equal(res.exit_status, -1);
	assert_string_equal(res.err, "argv[0] must be an absolute path: echo");
	assert_string_equal(res.out, "");
	hbc_command_free(&res);
	assert_int_equal(hbc_command_run(dot, 0, 0, &res), HB_EINVAL);
	hbc_command_free(&res);
	assert_int_equal(hbc_command_run(none, 0, 0, &res), HB_EINVAL);
	hbc_command_free(&res);
	assert_int_equal(hbc_command_run(NULL, 0, 0, &res), HB_EINVAL);
	hbc_command_free(&res);
}

static void test_missing_program(void **state)
{
	const char *argv[] = {"/nonexistent/prog", NULL};
	const char *dir[] = {"/tmp", NULL};
	struct hb_command_result res;

	assert_int_equal(hbc_command_run(argv, 0, 0, &res), HB_EIO);
	assert_int_equal(res.exit_status, -1);
	assert_string_equal(res.err,
			    "/nonexistent/prog: No such file or directory");
	hbc_command_free(&res);
	assert_int_equal(hbc_command_run(dir, 0, 0, &res), HB_EIO);
	assert_string_equal(res.err, "/tmp: Permission denied");
	hbc_command_free(&res);
}

#define THREADS 8
#define RUNS 20

struct job {
	int id;
	int failures;
};

static void *worker(void *arg)
{
	struct job *j = arg;
	char word[32], want[40];
	const char *echo[] = {"/bin/echo", word, NULL};
	const char *ls[] = {"/bin/ls", "/proc/self/fd", NULL};

	for (int i = 0; i < RUNS; i++) {
		struct hb_command_result res;

		snprintf(word, sizeof(word), "thread-%d-run-%d", j->id, i);
		snprintf(want, sizeof(want), "%s\n", word);
		if (hbc_command_run(i % 2 ? ls : echo, 5000, 0, &res) ||
		    res.exit_status != 0 ||
		    strcmp(res.out, i % 2 ? "0\n1\n2\n3\n" : want))
			j->failures++;
		hbc_command_free(&res);
	}
	return NULL;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void test_concurrent(void **state)
{
	pthread_t t[THREADS];
	struct job jobs[THREADS];
	int fds = count_fds();

	for (int i = 0; i < THREADS; i++) {
		jobs[i] = (struct job){.id = i};
		assert_int_equal(pthread_create(&t[i], NULL, worker, &jobs[i]),
				 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(jobs[i].failures, 0);
	}
	assert_int_equal(count_fds(), fds);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_echo),
		cmocka_unit_test(test_stderr_and_status),
		cmocka_unit_test(test_signal_status),
		cmocka_unit_test(test_binary_output),
		cmocka_unit_test(test_environment_and_stdin),
		cmocka_unit_test(test_no_shell),
		cmocka_unit_test(test_no_fd_leak),
		cmocka_unit_test(test_bound_truncates),
		cmocka_unit_test(test_default_bound),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_timeout_keeps_output),
		cmocka_unit_test(test_timeout_kills_group),
		cmocka_unit_test(test_exit_kills_leftovers),
		cmocka_unit_test(test_relative_refused),
		cmocka_unit_test(test_missing_program),
		cmocka_unit_test(test_concurrent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
