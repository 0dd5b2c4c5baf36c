/* Unit tests for hb_log: levels per module and the burst cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hb_log.h"

/* stderr goes to a temporary file while a test reads what was logged. */
static FILE *t_out;
static int t_saved = -1;

static int setup(void **state)
{
	(void)state;
	t_out = tmpfile();
	if (!t_out)
		return -1;
	fflush(stderr);
	t_saved = dup(2);
	dup2(fileno(t_out), 2);
	hb_log_open("test", false);
	hb_log_set_level(HB_LOG_INFO);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fflush(stderr);
	dup2(t_saved, 2);
	close(t_saved);
	fclose(t_out);
	return 0;
}

/* Everything logged since the last call. */
static const char *t_logged(void)
{
	static char buf[8192];
	static long off;
	size_t n;

	fflush(stderr);
	fseek(t_out, off, SEEK_SET);
	n = fread(buf, 1, sizeof(buf) - 1, t_out);
	buf[n] = 0;
	off += (long)n;
	return buf;
}

static struct hb_log_burst t_burst(void)
{
	return (struct hb_log_burst){.mod = HB_MOD_STATE,
				     .what = "state changes",
				     .per_s = 3};
}

static void test_burst_caps_and_sums_up(void **state)
{
	struct hb_log_burst b = t_burst();
	int passed = 0;

	(void)state;
	t_logged();
	for (int i = 0; i < 10; i++)
		passed += hb_log_burst_pass(&b, HB_LOG_INFO, 5000 + i);
	assert_int_equal(passed, 3);
	assert_int_equal(b.held, 7);
	/* Not before the second is over: more may come in it. */
	hb_log_burst_flush(&b, 5999, false);
	assert_string_equal(t_logged(), "");
	hb_log_burst_flush(&b, 6000, false);
	assert_non_null(strstr(t_logged(), "info state: 7 more state changes "
					   "not logged in 1.0 s (over 3 a "
					   "second"));
	assert_int_equal(b.held, 0);
	hb_log_burst_flush(&b, 7000, false);
	assert_string_equal(t_logged(), "");
	/* At exit, whatever is held is told at once. */
	for (int i = 0; i < 4; i++)
		hb_log_burst_pass(&b, HB_LOG_INFO, 7001);
	t_logged();
	hb_log_burst_flush(&b, 7002, true);
	assert_non_null(strstr(t_logged(), "1 more state changes"));
}

static void test_burst_new_second_passes_again(void **state)
{
	struct hb_log_burst b = t_burst();

	(void)state;
	t_logged();
	for (int i = 0; i < 5; i++)
		hb_log_burst_pass(&b, HB_LOG_INFO, 1000);
	/* The next line in a new second first reports the held ones. */
	assert_true(hb_log_burst_pass(&b, HB_LOG_INFO, 2500));
	assert_non_null(strstr(t_logged(), "2 more state changes"));
	assert_true(hb_log_burst_pass(&b, HB_LOG_INFO, 2501));
	assert_true(hb_log_burst_pass(&b, HB_LOG_INFO, 2502));
	assert_false(hb_log_burst_pass(&b, HB_LOG_INFO, 2503));
}

static void test_burst_summary_takes_worst_level(void **state)
{
	struct hb_log_burst b = t_burst();

	(void)state;
	t_logged();
	for (int i = 0; i < 3; i++)
		hb_log_burst_pass(&b, HB_LOG_INFO, 1000);
	hb_log_burst_pass(&b, HB_LOG_INFO, 1001);
	hb_log_burst_pass(&b, HB_LOG_WARN, 1002);
	hb_log_burst_flush(&b, 2001, false);
	assert_non_null(strstr(t_logged(), "warn state: 2 more state changes"));
}

static void test_burst_disabled_level_counts_nothing(void **state)
{
	struct hb_log_burst b = t_burst();

	(void)state;
	assert_int_equal(hb_log_set_module_level("state", HB_LOG_WARN), 0);
	for (int i = 0; i < 10; i++)
		assert_false(hb_log_burst_pass(&b, HB_LOG_INFO, 1000));
	assert_int_equal(b.held, 0);
	assert_true(hb_log_burst_pass(&b, HB_LOG_WARN, 1000));
	hb_log_set_level(HB_LOG_INFO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_caps_and_sums_up),
		cmocka_unit_test(test_burst_new_second_passes_again),
		cmocka_unit_test(test_burst_summary_takes_worst_level),
		cmocka_unit_test(test_burst_disabled_level_counts_nothing),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
