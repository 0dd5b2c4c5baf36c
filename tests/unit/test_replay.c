/*
 * test_replay: the per-sender replay window (hb_replay_check/update) and
 * the clock-skew check (hb_skew_check). Times are plain numbers: nothing
 * here reads a clock.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "hb_test.h"
#include "hb_replay.h"

/* A window that accepted (epoch, top) and nothing else. */
static void window_at(struct hb_replay *w, uint32_t epoch, uint32_t top)
{
	hb_replay_init(w);
	assert_rc(hb_replay_update(w, epoch, top), 0);
}

static void test_fresh_window_accepts(void **state)
{
	struct hb_replay w;

	hb_replay_init(&w);
	assert_rc(hb_replay_check(&w, 1, 0), 0);
	assert_rc(hb_replay_check(&w, UINT32_MAX, UINT32_MAX), 0);
	assert_rc(hb_replay_update(&w, 5, 100), 0);
	assert_rc(hb_replay_update(&w, 5, 101), 0);
}

static void test_duplicate_rejected(void **state)
{
	struct hb_replay w;

	window_at(&w, 3, 10);
	assert_rc(hb_replay_update(&w, 3, 10), HB_EREPLAY);
	assert_rc(hb_replay_update(&w, 3, 11), 0);
	assert_rc(hb_replay_update(&w, 3, 11), HB_EREPLAY);
	assert_rc(hb_replay_update(&w, 3, 10), HB_EREPLAY);
}

static void test_out_of_order_accepted_once(void **state)
{
	struct hb_replay w;

	window_at(&w, 1, 1000);
	/* Every seq of the window below the top, in a scrambled order. */
	for (uint32_t i = 0; i < 63; i++) {
		uint32_t seq = 1000 - 1 - (i * 37) % 63;

		assert_rc(hb_replay_update(&w, 1, seq), 0);
		assert_rc(hb_replay_update(&w, 1, seq), HB_EREPLAY);
	}
	for (uint32_t seq = 937; seq <= 1000; seq++)
		assert_rc(hb_replay_check(&w, 1, seq), HB_EREPLAY);
	assert_rc(hb_replay_update(&w, 1, 1001), 0);
}

static void test_window_edge(void **state)
{
	struct hb_replay w;

	window_at(&w, 1, 1000);
	assert_rc(hb_replay_update(&w, 1, 1000 - 64), HB_EREPLAY);
	assert_rc(hb_replay_update(&w, 1, 1000 - 65), HB_EREPLAY);
	assert_rc(hb_replay_update(&w, 1, 0), HB_EREPLAY);
	assert_rc(hb_replay_update(&w, 1, 1000 - 63), 0);
	assert_rc(hb_replay_update(&w, 1, 1000 - 63), HB_EREPLAY);
}

static void test_small_top(void **state)
{
	struct hb_replay w;

	window_at(&w, 1, 3);
	assert_rc(hb_replay_update(&w, 1, 0), 0);
	assert_rc(hb_replay_update(&w, 1, 2), 0);
	assert_rc(hb_replay_update(&w, 1, 0), HB_EREPLAY);
	assert_rc(hb_replay_update(&w, 1, 1), 0);
}

static void test_higher_epoch_resets(void **state)
{
	struct hb_replay w;

	window_at(&w, 7, 5000);
	assert_rc(hb_replay_update(&w, 8, 0), 0);
	assert_int_equal(w.epoch, 8);
	assert_int_equal(w.top, 0);
	/* Seqs seen in epoch 7 are new in epoch 8. */
	assert_rc(hb_replay_update(&w, 8, 5000), 0);
	assert_rc(hb_replay_update(&w, 8, 4999), 0);
	assert_rc(hb_replay_update(&w, 8, 0), HB_EREPLAY);
}

static void test_older_epoch_rejected(void **state)
{
	struct hb_replay w;

	window_at(&w, 7, 5);
	assert_rc(hb_replay_update(&w, 6, 6), HB_EREPLAY);
	assert_rc(hb_replay_update(&w, 1, 1000000), HB_EREPLAY);
	assert_int_equal(w.epoch, 7);
}

static void test_epoch_zero_rejected(void **state)
{
	struct hb_replay w;

	hb_replay_init(&w);
	assert_rc(hb_replay_check(&w, 0, 0), HB_EREPLAY);
	assert_rc(hb_replay_update(&w, 0, 1), HB_EREPLAY);
	window_at(&w, 1, 1);
	assert_rc(hb_replay_update(&w, 0, 2), HB_EREPLAY);
}

static void test_big_jump_clears_bitmap(void **state)
{
	struct hb_replay w;

	window_at(&w, 1, 100);
	for (uint32_t s = 40; s < 100; s++)
		assert_rc(hb_replay_update(&w, 1, s), 0);
	assert_rc(hb_replay_update(&w, 1, 100 + 64), 0);
	assert_int_equal(w.seen, 1);
	/* 101..163 were never seen and are within the window. */
	assert_rc(hb_replay_update(&w, 1, 101), 0);
	assert_rc(hb_replay_update(&w, 1, 100), HB_EREPLAY);
	assert_rc(hb_replay_update(&w, 1, UINT32_MAX), 0);
	assert_int_equal(w.seen, 1);
}

static void test_shift_keeps_bits(void **state)
{
	struct hb_replay w;

	window_at(&w, 1, 100);
	assert_rc(hb_replay_update(&w, 1, 98), 0);
	assert_rc(hb_replay_update(&w, 1, 110), 0);
	assert_rc(hb_replay_check(&w, 1, 100), HB_EREPLAY);
	assert_rc(hb_replay_check(&w, 1, 98), HB_EREPLAY);
	assert_rc(hb_replay_check(&w, 1, 99), 0);
	assert_rc(hb_replay_update(&w, 1, 110 + 63 - 2), 0);
	assert_rc(hb_replay_check(&w, 1, 110), HB_EREPLAY); /* 61 behind */
	assert_rc(hb_replay_check(&w, 1, 109), 0);          /* unseen */
	assert_rc(hb_replay_check(&w, 1, 100), HB_EREPLAY); /* 71 behind */
}

static void test_check_never_changes_state(void **state)
{
	static const uint32_t probes[][2] = {
		{0, 0}, {1, 0}, {2, 500}, {2, 1000}, {2, 999}, {2, 936},
		{2, 1001}, {3, 0}, {UINT32_MAX, UINT32_MAX}};
	struct hb_replay w, before;

	window_at(&w, 2, 1000);
	assert_rc(hb_replay_update(&w, 2, 990), 0);
	before = w;
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		hb_replay_check(&w, probes[i][0], probes[i][1]);
		assert_memory_equal(&w, &before, sizeof(w));
	}
	/* A rejected update leaves the window as it was, too. */
	assert_rc(hb_replay_update(&w, 2, 990), HB_EREPLAY);
	assert_rc(hb_replay_update(&w, 1, 2000), HB_EREPLAY);
	assert_memory_equal(&w, &before, sizeof(w));
}

static void test_wraparound_at_uint32_max(void **state)
{
	struct hb_replay w;

	window_at(&w, 1, UINT32_MAX);
	/* seq does not wrap: 0 is 2^32-1 behind, not one ahead. */
	assert_rc(hb_replay_check(&w, 1, 0), HB_EREPLAY);
	assert_rc(hb_replay_check(&w, 1, 5), HB_EREPLAY);
	assert_rc(hb_replay_update(&w, 1, UINT32_MAX), HB_EREPLAY);
	assert_rc(hb_replay_update(&w, 1, UINT32_MAX - 63), 0);
	assert_rc(hb_replay_update(&w, 1, UINT32_MAX - 64), HB_EREPLAY);
	/* The sender must move to a new epoch. */
	assert_rc(hb_replay_update(&w, 2, 0), 0);

	window_at(&w, UINT32_MAX, 10);
	assert_rc(hb_replay_update(&w, UINT32_MAX, 11), 0);
	assert_rc(hb_replay_update(&w, 0, 12), HB_EREPLAY);
	assert_rc(hb_replay_update(&w, 1, 12), HB_EREPLAY);
}

static void test_skew(void **state)
{
	const uint64_t now = 1700000000000ull, win = HB_SKEW_DEFAULT_MS;

	assert_rc(hb_skew_check(now, now, win), 0);
	assert_rc(hb_skew_check(now + 1000, now, win), 0);
	assert_rc(hb_skew_check(now - 1000, now, win), 0);
	assert_rc(hb_skew_check(now + win, now, win), 0);
	assert_rc(hb_skew_check(now - win, now, win), 0);
	assert_rc(hb_skew_check(now + win + 1, now, win), HB_ESKEW);
	assert_rc(hb_skew_check(now - win - 1, now, win), HB_ESKEW);
	assert_rc(hb_skew_check(0, now, win), HB_ESKEW);
	assert_rc(hb_skew_check(UINT64_MAX, now, win), HB_ESKEW);
	assert_rc(hb_skew_check(0, UINT64_MAX, UINT64_MAX), 0);
	assert_rc(hb_skew_check(UINT64_MAX, 0, UINT64_MAX - 1), HB_ESKEW);
}

static void test_skew_window_zero_disables(void **state)
{
	assert_rc(hb_skew_check(0, UINT64_MAX, 0), 0);
	assert_rc(hb_skew_check(UINT64_MAX, 0, 0), 0);
	assert_rc(hb_skew_check(5, 5, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fresh_window_accepts),
		cmocka_unit_test(test_duplicate_rejected),
		cmocka_unit_test(test_out_of_order_accepted_once),
		cmocka_unit_test(test_window_edge),
		cmocka_unit_test(test_small_top),
		cmocka_unit_test(test_higher_epoch_resets),
		cmocka_unit_test(test_older_epoch_rejected),
		cmocka_unit_test(test_epoch_zero_rejected),
		cmocka_unit_test(test_big_jump_clears_bitmap),
		cmocka_unit_test(test_shift_keeps_bits),
		cmocka_unit_test(test_check_never_changes_state),
		cmocka_unit_test(test_wraparound_at_uint32_max),
		cmocka_unit_test(test_skew),
		cmocka_unit_test(test_skew_window_zero_disables),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
