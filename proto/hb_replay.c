/*
 * hb_replay: a sliding window over sequence numbers (the IPsec/WireGuard
 * scheme) per sender epoch, and the clock-skew check.
 */
#include "hb_error.h"
#include "hb_replay.h"

void hb_replay_init(struct hb_replay *w)
{
	w->epoch = 0;
	w->top = 0;
	w->seen = 0;
}

int hb_replay_check(const struct hb_replay *w, uint32_t epoch, uint32_t seq)
{
	uint32_t behind;

	if (epoch == 0 || epoch < w->epoch)
		return HB_EREPLAY;
	if (epoch > w->epoch || seq > w->top)
		return 0;
	behind = w->top - seq;
	if (behind >= HB_REPLAY_WINDOW)
		return HB_EREPLAY;
	return (w->seen >> behind) & 1 ? HB_EREPLAY : 0;
}

int hb_replay_update(struct hb_replay *w, uint32_t epoch, uint32_t seq)
{
	int rc = hb_replay_check(w, epoch, seq);

	if (rc < 0)
		return rc;
	if (epoch > w->epoch) {
		w->epoch = epoch;
		w->top = seq;
		w->seen = 1;
	} else if (seq > w->top) {
		uint32_t ahead = seq - w->top;

		w->seen = ahead >= HB_REPLAY_WINDOW ? 1 : w->seen << ahead | 1;
		w->top = seq;
	} else {
		w->seen |= (uint64_t)1 << (w->top - seq);
	}
	return 0;
}

int hb_skew_check(uint64_t time_ms, uint64_t now_ms, uint64_t window_ms)
{
	uint64_t d = time_ms > now_ms ? time_ms - now_ms : now_ms - time_ms;

	return window_ms && d > window_ms ? HB_ESKEW : 0;
}
