/*
 * hb_time: the two clocks hb uses. Liveness and timeouts run on the
 * monotonic clock, which no one can set; what travels on the wire and
 * into the database is Unix time.
 */
#ifndef HB_TIME_H
#define HB_TIME_H

#include <stdint.h>
#include <time.h>

/* Monotonic milliseconds since an arbitrary start. */
static inline uint64_t hb_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Unix time in milliseconds. */
static inline uint64_t hb_unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

#endif
