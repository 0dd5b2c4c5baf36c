/*
 * state: transitions and the timer wheel. Slot s holds a doubly linked
 * list (through host.wheel_prev/next) of hosts filed at ticks congruent
 * to s; a host filed more than one revolution ahead stays in its slot
 * until its tick comes.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "state.h"

void state_opts_default(struct state_opts *o)
{
	o->late_factor = 1.5;
	o->down_factor = 3.0;
	o->hold_down_ms = 0;
	o->flap_window_ms = 3600 * 1000;
	o->flap_threshold = 5;
}

static uint64_t tick_of(uint64_t ms)
{
	return (ms + STATE_TICK_MS - 1) / STATE_TICK_MS;
}

static void wheel_unlink(struct statem *m, uint32_t idx)
{
	struct host *h = hosts_at(m->hosts, idx);
	uint32_t *head = &m->slots[h->wheel_tick % STATE_WHEEL_SLOTS];

	if (!(h->flags & HOST_IN_WHEEL))
		return;
	if (h->wheel_prev != HOST_NONE)
		hosts_at(m->hosts, h->wheel_prev)->wheel_next = h->wheel_next;
	else
		*head = h->wheel_next;
	if (h->wheel_next != HOST_NONE)
		hosts_at(m->hosts, h->wheel_next)->wheel_prev = h->wheel_prev;
	h->wheel_prev = h->wheel_next = HOST_NONE;
	h->flags &= (uint8_t)~HOST_IN_WHEEL;
}

static void wheel_file(struct statem *m, uint32_t idx, uint64_t at_ms)
{
	struct host *h = hosts_at(m->hosts, idx);
	uint64_t t = tick_of(at_ms);
	uint32_t *head;

	if (t < m->tick)
		t = m->tick;
	wheel_unlink(m, idx);
	h->wheel_tick = (uint32_t)t;
	head = &m->slots[t % STATE_WHEEL_SLOTS];
	h->wheel_prev = HOST_NONE;
	h->wheel_next = *head;
	if (*head != HOST_NONE)
		hosts_at(m->hosts, *head)->wheel_prev = idx;
	*head = idx;
	h->flags |= HOST_IN_WHEEL;
}

static uint64_t late_at(const struct statem *m, const struct host *h)
{
	return h->last_seen_mono +
	       (uint64_t)(h->interval_ms * m->opts.late_factor);
}

static uint64_t down_at(const struct statem *m, const struct host *h)
{
	return h->last_seen_mono +
	       (uint64_t)(h->interval_ms * m->opts.down_factor) +
	       m->opts.hold_down_ms;
}

/* The next deadline of a host in state st, 0 for none. */
static uint64_t next_deadline(const struct statem *m, const struct host *h)
{
	switch (h->state) {
	case HBD_STATE_UP: return late_at(m, h);
	case HBD_STATE_LATE: return down_at(m, h);
	default: return 0;
	}
}

void state_init(struct statem *m, struct hosts *hosts,
		const struct state_opts *o, uint64_t now, transition_cb cb,
		void *ctx)
{
	m->hosts = hosts;
	m->opts = *o;
	m->tick = tick_of(now);
	for (size_t i = 0; i < STATE_WHEEL_SLOTS; i++)
		m->slots[i] = HOST_NONE;
	m->cb = cb;
	m->ctx = ctx;
}

void state_set_opts(struct statem *m, const struct state_opts *o)
{
	m->opts = *o;
}

static void emit(struct statem *m, uint32_t idx, int to, int flapping,
		 const char *fmt_reason)
{
	struct host *h = hosts_at(m->hosts, idx);
	struct transition tr = {idx, h->state, to, "", flapping};

	snprintf(tr.reason, sizeof(tr.reason), "%s", fmt_reason);
	h->state = (uint8_t)to;
	m->cb(m->ctx, &tr);
}

/* Counts a return from DOWN; true when it makes the host flapping. */
static int count_flap(struct statem *m, struct host *h, uint64_t now)
{
	if (!h->flap_since || now - h->flap_since > m->opts.flap_window_ms) {
		h->flap_since = now;
		h->flaps = 0;
	}
	if (h->flaps < UINT16_MAX)
		h->flaps++;
	return m->opts.flap_threshold && h->flaps == m->opts.flap_threshold;
}

void state_heartbeat(struct statem *m, uint32_t idx, uint32_t interval_ms,
		     uint64_t now)
{
	struct host *h = hosts_at(m->hosts, idx);
	uint64_t filed = (uint64_t)h->wheel_tick * STATE_TICK_MS;
	int was = h->state;
	bool first = !h->last_seen_mono;
	int flapping = 0;

	h->last_seen_mono = now;
	h->interval_ms = interval_ms;
	if (was != HBD_STATE_UP) {
		char why[64];

		if (was == HBD_STATE_DOWN)
			flapping = count_flap(m, h, now);
		snprintf(why, sizeof(why), "%s",
			 first ? "first heartbeat"
			 : was == HBD_STATE_STOPPED ? "heartbeat after BYE"
						    : "heartbeat received");
		emit(m, idx, HBD_STATE_UP, flapping, why);
	}
	/* Lazy: a deadline that moved later is found when its slot fires. */
	if (!(h->flags & HOST_IN_WHEEL) || filed > late_at(m, h) + STATE_TICK_MS)
		wheel_file(m, idx, late_at(m, h));
}

void state_bye(struct statem *m, uint32_t idx, const char *reason,
	       uint64_t now)
{
	struct host *h = hosts_at(m->hosts, idx);
	char why[128];

	h->last_seen_mono = now;
	wheel_unlink(m, idx);
	if (h->state == HBD_STATE_STOPPED)
		return;
	snprintf(why, sizeof(why), "BYE%s%s", *reason ? ": " : "", reason);
	emit(m, idx, HBD_STATE_STOPPED, 0, why);
}

void state_restore(struct statem *m, uint32_t idx, uint64_t now)
{
	struct host *h = hosts_at(m->hosts, idx);

	h->last_seen_mono = now;
	if (next_deadline(m, h))
		wheel_file(m, idx, next_deadline(m, h));
}

/* A host whose slot came due at now: transition if a deadline passed. */
static void check(struct statem *m, uint32_t idx, uint64_t now)
{
	struct host *h = hosts_at(m->hosts, idx);
	uint64_t silent = now - h->last_seen_mono;
	char why[128];

	if (h->state == HBD_STATE_UP && now >= late_at(m, h)) {
		snprintf(why, sizeof(why),
			 "no heartbeat for %.1f s (interval %.1f s)",
			 silent / 1000.0, h->interval_ms / 1000.0);
		emit(m, idx, HBD_STATE_LATE, 0, why);
	}
	if (h->state == HBD_STATE_LATE && now >= down_at(m, h)) {
		snprintf(why, sizeof(why),
			 "no heartbeat for %.1f s (interval %.1f s)",
			 silent / 1000.0, h->interval_ms / 1000.0);
		emit(m, idx, HBD_STATE_DOWN, 0, why);
	}
	if (next_deadline(m, h))
		wheel_file(m, idx, next_deadline(m, h));
}

void state_advance(struct statem *m, uint64_t now)
{
	uint64_t last = now / STATE_TICK_MS;

	while (m->tick <= last) {
		uint64_t t = m->tick++; /* re-filings land after this tick */
		uint32_t idx = m->slots[t % STATE_WHEEL_SLOTS];

		while (idx != HOST_NONE) {
			struct host *h = hosts_at(m->hosts, idx);
			uint32_t next = h->wheel_next;

			if (h->wheel_tick <= t) {
				wheel_unlink(m, idx);
				check(m, idx, now);
			}
			idx = next;
		}
	}
}
