/*
 * test_state: the UP / LATE / DOWN / STOPPED machine and its lazy timer
 * wheel (hbd/state.c), driven by an injected clock: every time is an
 * argument, nothing sleeps. With the default thresholds (LATE after 1.5
 * intervals, DOWN after 3) each transition must come at or after its
 * deadline and at most one wheel tick (100 ms) later, whatever the
 * granularity of state_advance() calls. Covered: first heartbeat,
 * LATE and DOWN times, recovery, steady heartbeats, interval changes in
 * both directions, hold-down, BYE, flapping, restore at start-up,
 * intervals longer than one wheel revolution, threshold changes, and
 * 10k hosts with staggered deadlines.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "hosts.h"
#include "state.h"
#include "store.h"

#define T0 1000037ull /* deliberately not on a tick boundary */
#define TICK STATE_TICK_MS

struct rec {
	struct transition tr;
	uint64_t at; /* the time passed to the call that emitted it */
};

struct fx {
	struct hosts *hosts;
	struct statem *sm;
	struct rec *recs;
	size_t n, cap;
	uint64_t now;
};

static void on_transition(void *ctx, const struct transition *tr)
{
	struct fx *f = ctx;

	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 64;
		f->recs = realloc(f->recs, f->cap * sizeof(*f->recs));
		assert_non_null(f->recs);
	}
	f->recs[f->n].tr = *tr;
	f->recs[f->n].at = f->now;
	f->n++;
}

static struct fx *fx_new(const struct state_opts *o, uint64_t start)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct state_opts def;

	assert_non_null(f);
	f->hosts = hosts_new();
	f->sm = malloc(sizeof(*f->sm));
	assert_non_null(f->hosts);
	assert_non_null(f->sm);
	if (!o) {
		state_opts_default(&def);
		o = &def;
	}
	f->now = start;
	state_init(f->sm, f->hosts, o, start, on_transition, f);
	return f;
}

static void fx_free(struct fx *f)
{
	hosts_free(f->hosts);
	free(f->sm);
	free(f->recs);
	free(f);
}

/* A host as ingest creates it: STOPPED until its first heartbeat. */
static uint32_t new_host(struct fx *f)
{
	uint8_t u[16];
	uint32_t idx;

	randombytes_buf(u, sizeof(u));
	assert_int_equal(hosts_add(f->hosts, u, 0, &idx), 0);
	hosts_at(f->hosts, idx)->state = HBD_STATE_STOPPED;
	return idx;
}

static void hb(struct fx *f, uint32_t idx, uint32_t interval_ms, uint64_t now)
{
	f->now = now;
	state_heartbeat(f->sm, idx, interval_ms, now);
}

static void adv(struct fx *f, uint64_t now)
{
	f->now = now;
	state_advance(f->sm, now);
}

/* state_advance at from, from + step, ... up to and including to. */
static void run(struct fx *f, uint64_t from, uint64_t to, uint64_t step)
{
	for (uint64_t t = from; t <= to; t += step)
		adv(f, t);
}

static int state_of(struct fx *f, uint32_t idx)
{
	return hosts_at(f->hosts, idx)->state;
}

/* Transition i is idx going from -> to (names printed on failure). */
static const struct rec *expect(struct fx *f, size_t i, uint32_t idx,
				int from, int to)
{
	const struct rec *r;

	assert_true(i < f->n);
	r = &f->recs[i];
	assert_int_equal(r->tr.idx, idx);
	assert_string_equal(hbd_state_name(r->tr.from), hbd_state_name(from));
	assert_string_equal(hbd_state_name(r->tr.to), hbd_state_name(to));
	return r;
}

/* The transition came at the deadline or at most one tick after it. */
static void assert_on_time(const struct rec *r, uint64_t deadline)
{
	assert_in_range(r->at, deadline, deadline + TICK);
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* ---- tests ---- */

static void test_first_heartbeat_is_up(void **state)
{
	struct fx *f = fx_new(NULL, T0);
	uint32_t h = new_host(f);
	const struct rec *r;

	hb(f, h, 10000, T0);
	assert_int_equal(f->n, 1);
	r = expect(f, 0, h, HBD_STATE_STOPPED, HBD_STATE_UP);
	assert_string_equal(r->tr.reason, "first heartbeat");
	assert_int_equal(r->tr.flapping, 0);
	assert_int_equal(state_of(f, h), HBD_STATE_UP);
	assert_int_equal(hosts_at(f->hosts, h)->interval_ms, 10000);
	/* A second heartbeat is no transition. */
	hb(f, h, 10000, T0 + 1000);
	assert_int_equal(f->n, 1);
	fx_free(f);
}

static void test_late_then_down_at_deadlines(void **state)
{
	struct fx *f = fx_new(NULL, T0);
	uint32_t h = new_host(f);
	const struct rec *r;

	hb(f, h, 10000, T0);
	adv(f, T0 + 14900);
	assert_int_equal(f->n, 1);
	assert_int_equal(state_of(f, h), HBD_STATE_UP);
	adv(f, T0 + 15100);
	assert_int_equal(f->n, 2);
	r = expect(f, 1, h, HBD_STATE_UP, HBD_STATE_LATE);
	assert_true(starts_with(r->tr.reason, "no heartbeat for 15."));
	adv(f, T0 + 29900);
	assert_int_equal(f->n, 2);
	adv(f, T0 + 30100);
	assert_int_equal(f->n, 3);
	r = expect(f, 2, h, HBD_STATE_LATE, HBD_STATE_DOWN);
	assert_true(starts_with(r->tr.reason, "no heartbeat for 30."));
	assert_int_equal(r->tr.flapping, 0);
	/* DOWN is final until the host speaks. */
	run(f, T0 + 30200, T0 + 2000000, 1000);
	assert_int_equal(f->n, 3);
	assert_int_equal(state_of(f, h), HBD_STATE_DOWN);
	fx_free(f);
}

/* Millisecond-by-millisecond: never early, at most one tick late. */
static void test_transition_precision(void **state)
{
	for (uint64_t start = T0; start < T0 + 200; start += 37) {
		struct fx *f = fx_new(NULL, start);
		uint32_t h = new_host(f);

		hb(f, h, 10000, start + 1);
		run(f, start + 1, start + 31000, 1);
		assert_int_equal(f->n, 3);
		assert_on_time(expect(f, 1, h, HBD_STATE_UP, HBD_STATE_LATE),
			       start + 1 + 15000);
		assert_on_time(expect(f, 2, h, HBD_STATE_LATE, HBD_STATE_DOWN),
			       start + 1 + 30000);
		fx_free(f);
	}
}

/* Calls far apart: both transitions in one call, in order. */
static void test_coarse_advance(void **state)
{
	struct fx *f = fx_new(NULL, T0);
	uint32_t h = new_host(f);

	hb(f, h, 10000, T0);
	adv(f, T0 + 100000);
	assert_int_equal(f->n, 3);
	expect(f, 1, h, HBD_STATE_UP, HBD_STATE_LATE);
	expect(f, 2, h, HBD_STATE_LATE, HBD_STATE_DOWN);
	fx_free(f);
}

static void test_heartbeat_while_late_returns_up(void **state)
{
	struct fx *f = fx_new(NULL, T0);
	uint32_t h = new_host(f);
	const struct rec *r;

	hb(f, h, 10000, T0);
	run(f, T0, T0 + 20000, 10);
	assert_int_equal(state_of(f, h), HBD_STATE_LATE);
	hb(f, h, 10000, T0 + 20000);
	assert_int_equal(f->n, 3);
	r = expect(f, 2, h, HBD_STATE_LATE, HBD_STATE_UP);
	assert_string_equal(r->tr.reason, "heartbeat received");
	assert_int_equal(r->tr.flapping, 0);
	/* The old DOWN deadline (T0 + 30 s) is gone; LATE again at +15 s. */
	run(f, T0 + 20000, T0 + 36000, 10);
	assert_int_equal(f->n, 4);
	assert_on_time(expect(f, 3, h, HBD_STATE_UP, HBD_STATE_LATE),
		       T0 + 35000);
	fx_free(f);
}

static void test_steady_heartbeats_stay_up(void **state)
{
	struct fx *f = fx_new(NULL, T0);
	uint32_t h = new_host(f);
	uint64_t t;

	for (t = T0; t <= T0 + 1000000; t += 50) {
		if ((t - T0) % 10000 == 0)
			hb(f, h, 10000, t);
		adv(f, t);
	}
	assert_int_equal(f->n, 1);
	assert_int_equal(state_of(f, h), HBD_STATE_UP);
	fx_free(f);
}

/* Heartbeats up to 14.9 s apart (late but never LATE) keep it UP too. */
static void test_jittered_heartbeats_stay_up(void **state)
{
	static const uint32_t gaps[] = {14900, 5000, 100, 14899, 9999, 12000};
	struct fx *f = fx_new(NULL, T0);
	uint32_t h = new_host(f);
	uint64_t next = T0;

	for (int i = 0; i < 120; i++) {
		run(f, f->now, next, 7);
		hb(f, h, 10000, next);
		next += gaps[i % 6];
	}
	assert_int_equal(f->n, 1);
	assert_int_equal(state_of(f, h), HBD_STATE_UP);
	fx_free(f);
}

static void test_interval_shortened(void **state)
{
	struct fx *f = fx_new(NULL, T0);
	uint32_t h = new_host(f);

	hb(f, h, 60000, T0);
	run(f, T0, T0 + 1000, 10);
	hb(f, h, 5000, T0 + 1000); /* LATE now at T0 + 8.5 s, not + 90 s */
	run(f, T0 + 1000, T0 + 12000, 10);
	assert_int_equal(f->n, 2);
	assert_on_time(expect(f, 1, h, HBD_STATE_UP, HBD_STATE_LATE),
		       T0 + 8500);
	run(f, T0 + 12000, T0 + 17000, 10);
	assert_int_equal(f->n, 3);
	assert_on_time(expect(f, 2, h, HBD_STATE_LATE, HBD_STATE_DOWN),
		       T0 + 16000);
	fx_free(f);
}

/* A deadline only 500 ms earlier than the filed one is still kept. */
static void test_interval_slightly_shortened(void **state)
{
	struct fx *f = fx_new(NULL, T0);
	uint32_t h = new_host(f);

	hb(f, h, 10000, T0); /* LATE at T0 + 15 s */
	run(f, T0, T0 + 1000, 10);
	hb(f, h, 9000, T0 + 1000); /* now at T0 + 14.5 s */
	run(f, T0 + 1000, T0 + 16000, 1);
	assert_int_equal(f->n, 2);
	assert_on_time(expect(f, 1, h, HBD_STATE_UP, HBD_STATE_LATE),
		       T0 + 14500);
	fx_free(f);
}

static void test_interval_lengthened(void **state)
{
	struct fx *f = fx_new(NULL, T0);
	uint32_t h = new_host(f);

	hb(f, h, 5000, T0);
	run(f, T0, T0 + 5000, 10);
	hb(f, h, 60000, T0 + 5000); /* LATE now at T0 + 95 s, not + 7.5 s */
	run(f, T0 + 5000, T0 + 94990, 10);
	assert_int_equal(f->n, 1);
	run(f, T0 + 95000, T0 + 96000, 10);
	assert_int_equal(f->n, 2);
	assert_on_time(expect(f, 1, h, HBD_STATE_UP, HBD_STATE_LATE),
		       T0 + 95000);
	fx_free(f);
}

static void test_hold_down_delays_down(void **state)
{
	struct state_opts o;
	struct fx *f;
	uint32_t h;

	state_opts_default(&o);
	o.hold_down_ms = 5000;
	f = fx_new(&o, T0);
	h = new_host(f);
	hb(f, h, 10000, T0);
	run(f, T0, T0 + 30100, 10);
	assert_int_equal(f->n, 2); /* LATE is not held */
	assert_on_time(expect(f, 1, h, HBD_STATE_UP, HBD_STATE_LATE),
		       T0 + 15000);
	assert_int_equal(state_of(f, h), HBD_STATE_LATE);
	run(f, T0 + 30100, T0 + 36000, 10);
	assert_int_equal(f->n, 3);
	assert_on_time(expect(f, 2, h, HBD_STATE_LATE, HBD_STATE_DOWN),
		       T0 + 35000);
	fx_free(f);
}

static void test_bye_stops_for_good(void **state)
{
	struct fx *f = fx_new(NULL, T0);
	uint32_t h = new_host(f);
	const struct rec *r;

	hb(f, h, 10000, T0);
	f->now = T0 + 5000;
	state_bye(f->sm, h, "shutdown", T0 + 5000);
	assert_int_equal(f->n, 2);
	r = expect(f, 1, h, HBD_STATE_UP, HBD_STATE_STOPPED);
	assert_string_equal(r->tr.reason, "BYE: shutdown");
	assert_int_equal(hosts_at(f->hosts, h)->flags & HOST_IN_WHEEL, 0);
	run(f, T0, T0 + 1000000, 100);
	assert_int_equal(f->n, 2);
	assert_int_equal(state_of(f, h), HBD_STATE_STOPPED);
	/* A second BYE changes nothing. */
	state_bye(f->sm, h, "again", T0 + 1000000);
	assert_int_equal(f->n, 2);
	fx_free(f);
}

static void test_bye_while_late_without_reason(void **state)
{
	struct fx *f = fx_new(NULL, T0);
	uint32_t h = new_host(f);
	const struct rec *r;

	hb(f, h, 10000, T0);
	run(f, T0, T0 + 20000, 100);
	f->now = T0 + 20000;
	state_bye(f->sm, h, "", T0 + 20000);
	assert_int_equal(f->n, 3);
	r = expect(f, 2, h, HBD_STATE_LATE, HBD_STATE_STOPPED);
	assert_string_equal(r->tr.reason, "BYE");
	run(f, T0 + 20000, T0 + 100000, 100);
	assert_int_equal(f->n, 3); /* no DOWN */
	fx_free(f);
}

static void test_heartbeat_after_bye(void **state)
{
	struct fx *f = fx_new(NULL, T0);
	uint32_t h = new_host(f);
	const struct rec *r;

	hb(f, h, 10000, T0);
	f->now = T0 + 3000;
	state_bye(f->sm, h, "restart", T0 + 3000);
	run(f, T0, T0 + 60000, 100);
	hb(f, h, 10000, T0 + 60000);
	assert_int_equal(f->n, 3);
	r = expect(f, 2, h, HBD_STATE_STOPPED, HBD_STATE_UP);
	assert_string_equal(r->tr.reason, "heartbeat after BYE");
	assert_int_equal(r->tr.flapping, 0);
	/* And it is watched again. */
	run(f, T0 + 60000, T0 + 76000, 10);
	assert_int_equal(f->n, 4);
	assert_on_time(expect(f, 3, h, HBD_STATE_UP, HBD_STATE_LATE),
		       T0 + 75000);
	fx_free(f);
}

/* Cycles UP -> DOWN -> UP `returns` times; returns the flapping count. */
static int flap_cycles(struct fx *f, uint32_t h, int returns,
		       size_t *flap_return)
{
	int flapping = 0, seen_returns = 0;
	uint64_t t = f->now;

	hb(f, h, 10000, t);
	for (int i = 0; i < returns; i++) {
		run(f, t, t + 31000, 100);
		t += 31000;
		assert_int_equal(state_of(f, h), HBD_STATE_DOWN);
		hb(f, h, 10000, t);
	}
	for (size_t i = 0; i < f->n; i++) {
		const struct rec *r = &f->recs[i];

		if (r->tr.from == HBD_STATE_DOWN && r->tr.to == HBD_STATE_UP) {
			seen_returns++;
			if (r->tr.flapping && flap_return)
				*flap_return = (size_t)seen_returns;
		}
		if (r->tr.flapping) {
			assert_int_equal(r->tr.from, HBD_STATE_DOWN);
			flapping++;
		}
	}
	assert_int_equal(seen_returns, returns);
	return flapping;
}

static void test_flapping_flagged_once(void **state)
{
	struct state_opts o;
	size_t which = 0;
	struct fx *f;

	state_opts_default(&o);
	o.flap_threshold = 3;
	o.flap_window_ms = 3600 * 1000;
	f = fx_new(&o, T0);
	assert_int_equal(flap_cycles(f, new_host(f), 8, &which), 1);
	assert_int_equal(which, 3); /* the third return crosses it */
	fx_free(f);
}

/* Returns spread wider than the window never add up to a flap. */
static void test_flap_window_expires(void **state)
{
	struct state_opts o;
	struct fx *f;

	state_opts_default(&o);
	o.flap_threshold = 3;
	o.flap_window_ms = 60000; /* returns come every 31 s */
	f = fx_new(&o, T0);
	assert_int_equal(flap_cycles(f, new_host(f), 10, NULL), 0);
	fx_free(f);
}

static void test_flap_threshold_zero_disables(void **state)
{
	struct state_opts o;
	struct fx *f;

	state_opts_default(&o);
	o.flap_threshold = 0;
	f = fx_new(&o, T0);
	assert_int_equal(flap_cycles(f, new_host(f), 6, NULL), 0);
	fx_free(f);
}

/* A host loaded in state st with a 10 s interval, restored at start. */
static uint32_t restored(struct fx *f, int st, uint64_t now)
{
	uint32_t h = new_host(f);
	struct host *p = hosts_at(f->hosts, h);

	p->state = (uint8_t)st;
	p->interval_ms = 10000;
	p->last_seen_mono = 1; /* long ago, on another boot's clock */
	state_restore(f->sm, h, now);
	return h;
}

static void test_restore_up_gets_full_period(void **state)
{
	uint64_t start = 7777777;
	struct fx *f = fx_new(NULL, start);
	uint32_t h = restored(f, HBD_STATE_UP, start);

	run(f, start, start + 29999, 1);
	assert_int_equal(f->n, 1); /* LATE, never DOWN before now + 30 s */
	assert_on_time(expect(f, 0, h, HBD_STATE_UP, HBD_STATE_LATE),
		       start + 15000);
	run(f, start + 30000, start + 31000, 1);
	assert_int_equal(f->n, 2);
	assert_on_time(expect(f, 1, h, HBD_STATE_LATE, HBD_STATE_DOWN),
		       start + 30000);
	fx_free(f);
}

static void test_restore_late_and_others(void **state)
{
	uint64_t start = 7777777;
	struct fx *f = fx_new(NULL, start);
	uint32_t late = restored(f, HBD_STATE_LATE, start);
	uint32_t down = restored(f, HBD_STATE_DOWN, start);
	uint32_t stopped = restored(f, HBD_STATE_STOPPED, start);

	run(f, start, start + 29999, 1);
	assert_int_equal(f->n, 0);
	run(f, start + 30000, start + 1000000, 10);
	assert_int_equal(f->n, 1);
	assert_on_time(expect(f, 0, late, HBD_STATE_LATE, HBD_STATE_DOWN),
		       start + 30000);
	assert_int_equal(state_of(f, down), HBD_STATE_DOWN);
	assert_int_equal(state_of(f, stopped), HBD_STATE_STOPPED);
	/* A restored DOWN host coming back is a return, not a first. */
	hb(f, down, 10000, start + 1000000);
	assert_string_equal(expect(f, 1, down, HBD_STATE_DOWN, HBD_STATE_UP)
				    ->tr.reason,
			    "heartbeat received");
	fx_free(f);
}

/* Intervals beyond one revolution (409.6 s) of the wheel. */
static void long_interval(uint32_t interval_ms)
{
	uint64_t late = (uint64_t)interval_ms * 3 / 2, down = interval_ms * 3ull;
	struct fx *f = fx_new(NULL, T0);
	uint32_t h = new_host(f);

	hb(f, h, interval_ms, T0);
	/* 100 ms steps, and 1 ms steps around each deadline. */
	run(f, T0, T0 + late - 500, 100);
	assert_int_equal(f->n, 1);
	run(f, T0 + late - 499, T0 + late + 500, 1);
	assert_int_equal(f->n, 2);
	assert_on_time(expect(f, 1, h, HBD_STATE_UP, HBD_STATE_LATE), T0 + late);
	run(f, T0 + late + 501, T0 + down - 500, 100);
	assert_int_equal(f->n, 2);
	run(f, T0 + down - 499, T0 + down + 500, 1);
	assert_int_equal(f->n, 3);
	assert_on_time(expect(f, 2, h, HBD_STATE_LATE, HBD_STATE_DOWN),
		       T0 + down);
	fx_free(f);
}

static void test_interval_one_hour(void **state)
{
	assert_true(3600000 > STATE_WHEEL_SLOTS * STATE_TICK_MS);
	long_interval(3600 * 1000);
}

static void test_interval_one_day(void **state)
{
	long_interval(86400 * 1000);
}

/* Odd lengths that land in every slot of the wheel at some point. */
static void test_interval_just_over_revolution(void **state)
{
	long_interval(STATE_WHEEL_SLOTS * STATE_TICK_MS * 2 / 3 + 2);
	long_interval(STATE_WHEEL_SLOTS * STATE_TICK_MS + 2);
	long_interval(STATE_WHEEL_SLOTS * STATE_TICK_MS * 2 / 3 * 2 + 34);
}

static void test_long_interval_heartbeats_stay_up(void **state)
{
	struct fx *f = fx_new(NULL, T0);
	uint32_t h = new_host(f);

	for (uint64_t t = T0; t < T0 + 20ull * 3600 * 1000; t += 500) {
		if ((t - T0) % (3600 * 1000) == 0)
			hb(f, h, 3600 * 1000, t);
		adv(f, t);
	}
	assert_int_equal(f->n, 1);
	fx_free(f);
}

/* Thresholds raised at run time apply at the host's next check. */
static void test_set_opts_raises_thresholds(void **state)
{
	struct state_opts o;
	struct fx *f = fx_new(NULL, T0);
	uint32_t h = new_host(f);

	hb(f, h, 10000, T0);
	run(f, T0, T0 + 5000, 100);
	state_opts_default(&o);
	o.late_factor = 3;
	o.down_factor = 6;
	state_set_opts(f->sm, &o);
	run(f, T0 + 5000, T0 + 29900, 10);
	assert_int_equal(f->n, 1);
	run(f, T0 + 29910, T0 + 61000, 10);
	assert_int_equal(f->n, 3);
	assert_on_time(expect(f, 1, h, HBD_STATE_UP, HBD_STATE_LATE),
		       T0 + 30000);
	assert_on_time(expect(f, 2, h, HBD_STATE_LATE, HBD_STATE_DOWN),
		       T0 + 60000);
	fx_free(f);
}

/* ---- many hosts ---- */

struct plan {
	uint64_t first, second; /* heartbeat times; second 0 = none */
	uint32_t interval;      /* ms, even: 1.5 x is exact */
	uint64_t up_at, late_at, down_at;
	int ups, lates, downs, others;
};

struct event {
	uint64_t t;
	uint32_t idx;
};

static int event_cmp(const void *a, const void *b)
{
	const struct event *x = a, *y = b;

	return (x->t > y->t) - (x->t < y->t);
}

static void test_10k_staggered_hosts(void **state)
{
	enum { N = 10000 };
	struct plan *p = calloc(N, sizeof(*p));
	struct event *ev = calloc(2 * N, sizeof(*ev));
	struct fx *f = fx_new(NULL, T0);
	size_t n_ev = 0, next = 0, done = 0;
	uint64_t end = 0;

	assert_non_null(p);
	assert_non_null(ev);
	for (uint32_t i = 0; i < N; i++) {
		uint64_t last;

		assert_int_equal(new_host(f), i);
		p[i].interval = 5000 + (i % 23) * 1000 + (i % 50) * 2;
		p[i].first = T0 + (i * 7919u) % 60000;
		ev[n_ev++] = (struct event){p[i].first, i};
		if (i % 4 == 0) {
			p[i].second = p[i].first + p[i].interval / 2 + i % 97;
			ev[n_ev++] = (struct event){p[i].second, i};
		}
		last = p[i].second ? p[i].second : p[i].first;
		if (last + 3 * p[i].interval > end)
			end = last + 3 * p[i].interval;
	}
	qsort(ev, n_ev, sizeof(*ev), event_cmp);
	for (uint64_t t = T0; t <= end + 1000; t++) {
		while (next < n_ev && ev[next].t == t) {
			hb(f, ev[next].idx, p[ev[next].idx].interval, t);
			next++;
		}
		adv(f, t);
	}
	assert_int_equal(next, n_ev);
	for (size_t k = 0; k < f->n; k++) {
		const struct rec *r = &f->recs[k];
		struct plan *q = &p[r->tr.idx];

		switch (r->tr.to) {
		case HBD_STATE_UP: q->ups++, q->up_at = r->at; break;
		case HBD_STATE_LATE: q->lates++, q->late_at = r->at; break;
		case HBD_STATE_DOWN: q->downs++, q->down_at = r->at; break;
		default: q->others++;
		}
	}
	for (uint32_t i = 0; i < N; i++) {
		struct plan *q = &p[i];
		uint64_t last = q->second ? q->second : q->first;

		assert_int_equal(q->ups, 1);
		assert_int_equal(q->lates, 1);
		assert_int_equal(q->downs, 1);
		assert_int_equal(q->others, 0);
		assert_int_equal(q->up_at, q->first);
		assert_in_range(q->late_at, last + q->interval * 3 / 2,
				last + q->interval * 3 / 2 + TICK);
		assert_in_range(q->down_at, last + 3ull * q->interval,
				last + 3ull * q->interval + TICK);
		done++;
	}
	assert_int_equal(done, N);
	assert_int_equal(f->n, 3 * N);
	free(p);
	free(ev);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_heartbeat_is_up),
		cmocka_unit_test(test_late_then_down_at_deadlines),
		cmocka_unit_test(test_transition_precision),
		cmocka_unit_test(test_coarse_advance),
		cmocka_unit_test(test_heartbeat_while_late_returns_up),
		cmocka_unit_test(test_steady_heartbeats_stay_up),
		cmocka_unit_test(test_jittered_heartbeats_stay_up),
		cmocka_unit_test(test_interval_shortened),
		cmocka_unit_test(test_interval_slightly_shortened),
		cmocka_unit_test(test_interval_lengthened),
		cmocka_unit_test(test_hold_down_delays_down),
		cmocka_unit_test(test_bye_stops_for_good),
		cmocka_unit_test(test_bye_while_late_without_reason),
		cmocka_unit_test(test_heartbeat_after_bye),
		cmocka_unit_test(test_flapping_flagged_once),
		cmocka_unit_test(test_flap_window_expires),
		cmocka_unit_test(test_flap_threshold_zero_disables),
		cmocka_unit_test(test_restore_up_gets_full_period),
		cmocka_unit_test(test_restore_late_and_others),
		cmocka_unit_test(test_interval_one_hour),
		cmocka_unit_test(test_interval_one_day),
		cmocka_unit_test(test_interval_just_over_revolution),
		cmocka_unit_test(test_long_interval_heartbeats_stay_up),
		cmocka_unit_test(test_set_opts_raises_thresholds),
		cmocka_unit_test(test_10k_staggered_hosts),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
