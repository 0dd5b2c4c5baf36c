/*
 * state: each host's UP / LATE / DOWN / STOPPED state from the interval
 * its heartbeats declare, on the server's monotonic clock. Deadlines sit
 * in a timer wheel that is lazy on the hot path: a heartbeat only moves
 * a host's deadline later, so the host stays in its slot, and when the
 * slot comes due the host is re-filed at its real deadline. A million
 * hosts at a 10 s interval cost ~70k cheap re-filings a second and
 * nothing per heartbeat. Every function takes the time as an argument
 * (the clock is injected), so tests drive it without waiting.
 */
#ifndef HBD_STATE_H
#define HBD_STATE_H

#include <stdint.h>

#include "hosts.h"
#include "store.h"

#define STATE_TICK_MS 100
#define STATE_WHEEL_SLOTS 4096 /* 409.6 s per revolution */

struct state_opts {
	double late_factor;      /* LATE after this many intervals (1.5) */
	double down_factor;      /* DOWN after this many intervals (3) */
	uint32_t hold_down_ms;   /* extra silence before DOWN is announced */
	uint32_t flap_window_ms; /* DOWN->UP returns counted over this */
	uint32_t flap_threshold; /* returns in the window that make a flap */
};

void state_opts_default(struct state_opts *o);

struct transition {
	uint32_t idx;
	int from, to; /* enum hbd_state */
	char reason[128];
	int flapping; /* 1: this return crossed the flap threshold */
};

typedef void (*transition_cb)(void *ctx, const struct transition *tr);

struct statem {
	struct hosts *hosts;
	struct state_opts opts;
	uint64_t tick;     /* next tick to process */
	uint32_t slots[STATE_WHEEL_SLOTS];
	transition_cb cb;
	void *ctx;
};

/* Starts the machine at now (monotonic ms); cb receives transitions. */
void state_init(struct statem *m, struct hosts *hosts,
		const struct state_opts *o, uint64_t now, transition_cb cb,
		void *ctx);

/* Replaces the thresholds (SIGHUP); deadlines follow at the next check. */
void state_set_opts(struct statem *m, const struct state_opts *o);

/*
 * A heartbeat declaring interval_ms arrived for host idx at now: the host
 * is UP (a transition when it was not) and its deadlines move.
 */
void state_heartbeat(struct statem *m, uint32_t idx, uint32_t interval_ms,
		     uint64_t now);

/* A BYE arrived: the host is STOPPED and leaves the wheel. */
void state_bye(struct statem *m, uint32_t idx, const char *reason,
	       uint64_t now);

/*
 * A host loaded from the database at start-up: it keeps its state, and
 * an UP or LATE host gets a full down period from now to speak before
 * it can be declared DOWN.
 */
void state_restore(struct statem *m, uint32_t idx, uint64_t now);

/* Processes every deadline up to now, calling cb for each transition. */
void state_advance(struct statem *m, uint64_t now);

#endif
