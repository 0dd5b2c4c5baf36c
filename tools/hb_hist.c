/*
 * hb_hist: bucket i < HB_HIST_SUB holds the value i; above, a value with
 * its highest bit at e (5..31) falls into the group of powers e, split
 * evenly by its next five bits.
 */
#include <math.h>
#include <string.h>

#include "hb_hist.h"

void hb_hist_init(struct hb_hist *h)
{
	memset(h, 0, sizeof(*h));
}

static unsigned bucket(uint32_t v)
{
	unsigned e;

	if (v < HB_HIST_SUB)
		return v;
	e = 31 - (unsigned)__builtin_clz(v);
	return (e - 4) * HB_HIST_SUB + ((v >> (e - 5)) & (HB_HIST_SUB - 1));
}

/* The largest value bucket i holds. */
static uint64_t bucket_top(unsigned i)
{
	unsigned e = i / HB_HIST_SUB + 4, sub = i % HB_HIST_SUB;

	if (i < HB_HIST_SUB)
		return i;
	return ((uint64_t)(HB_HIST_SUB + sub + 1) << (e - 5)) - 1;
}

void hb_hist_add(struct hb_hist *h, uint32_t v)
{
	h->b[bucket(v)]++;
	h->n++;
	if (v > h->max)
		h->max = v;
}

uint64_t hb_hist_pct(const struct hb_hist *h, double p)
{
	uint64_t rank = (uint64_t)ceil(p * (double)h->n), seen = 0;

	if (!h->n)
		return 0;
	if (rank < 1)
		rank = 1;
	for (unsigned i = 0; i < HB_HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= rank)
			return bucket_top(i) < h->max ? bucket_top(i) : h->max;
	}
	return h->max;
}
