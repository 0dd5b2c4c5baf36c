/*
 * hb_replay: the per-sender replay window. A receiver keeps one per peer
 * (16 bytes, meant to be embedded in its host table). A datagram passes
 * when its epoch is newer than the window's, or equal and its sequence
 * number was never accepted and is within HB_REPLAY_WINDOW of the highest
 * accepted one. Checking and recording are separate steps so that only
 * authenticated datagrams move the window: check, authenticate, update.
 */
#ifndef HB_REPLAY_H
#define HB_REPLAY_H

#include <stdint.h>

#define HB_REPLAY_WINDOW 64 /* reordering tolerated, in sequence numbers */
#define HB_SKEW_DEFAULT_MS 300000 /* default clock-skew window, +-5 min */

struct hb_replay {
	uint32_t epoch; /* 0: nothing accepted yet */
	uint32_t top;   /* highest accepted seq in epoch */
	uint64_t seen;  /* bit i: seq top - i accepted */
};

/* An empty window: accepts any epoch >= 1. */
void hb_replay_init(struct hb_replay *w);

/* Returns 0 when (epoch, seq) would be accepted, else HB_EREPLAY. */
int hb_replay_check(const struct hb_replay *w, uint32_t epoch, uint32_t seq);

/*
 * Checks and records (epoch, seq). Returns 0 when accepted (the window now
 * holds it) or HB_EREPLAY (the window is unchanged).
 */
int hb_replay_update(struct hb_replay *w, uint32_t epoch, uint32_t seq);

/*
 * Returns 0 when the sender's time_ms lies within window_ms of now_ms
 * (both Unix milliseconds), else HB_ESKEW. window_ms 0 disables the check.
 */
int hb_skew_check(uint64_t time_ms, uint64_t now_ms, uint64_t window_ms);

#endif
