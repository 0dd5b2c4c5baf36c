/*
 * hb_hist: a latency histogram for hb-load and benchmarks. Values (µs, or
 * any unit) go into log-linear buckets: exact below HB_HIST_SUB, then
 * HB_HIST_SUB buckets per power of two up to 2^32, so a percentile is off
 * by at most 1/HB_HIST_SUB (3 %) of its value, adding a value is O(1) and
 * the whole histogram is a fixed 7 KiB with no allocation.
 */
#ifndef HB_HIST_H
#define HB_HIST_H

#include <stdint.h>

#define HB_HIST_SUB 32
#define HB_HIST_BUCKETS (28 * HB_HIST_SUB)

struct hb_hist {
	uint64_t n;   /* values added */
	uint64_t max; /* exact */
	uint64_t b[HB_HIST_BUCKETS];
};

/* Empties h. A zero-initialised struct hb_hist is empty too. */
void hb_hist_init(struct hb_hist *h);

void hb_hist_add(struct hb_hist *h, uint32_t v);

/*
 * The value at or below which a fraction p (0..1) of the values lie: the
 * top of the bucket holding that rank, never above the maximum. 0 when h
 * is empty.
 */
uint64_t hb_hist_pct(const struct hb_hist *h, double p);

#endif
