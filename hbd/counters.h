/*
 * counters: what hbd counts — every datagram received, every reason one
 * was dropped, what was answered and stored — so that no loss is silent.
 * Plain uint64 slots indexed by an enum, owned by the event loop thread.
 */
#ifndef HBD_COUNTERS_H
#define HBD_COUNTERS_H

#include <stdint.h>

#include "hb_error.h"

enum counter {
	CTR_RX_DATAGRAMS,
	CTR_RX_BYTES,
	CTR_RX_HTB,
	CTR_RX_PLG,
	CTR_RX_FRAGMENTS,
	CTR_RX_BYE,
	CTR_KERNEL_DROPS, /* SO_RXQ_OVFL: the socket queue overflowed */
	CTR_TRUNCATED,    /* larger than the receive buffer (MSG_TRUNC) */
	CTR_UNEXPECTED_TYPE, /* server-bound ACK, CALL, PROFILE... */
	CTR_ACKS,
	CTR_ACK_SUPPRESSED, /* would have been larger than the request */
	CTR_SEND_ERRORS,
	CTR_HOSTS_NEW,
	CTR_HOSTS_FULL,  /* host table could not grow */
	CTR_BAD_NAME,    /* plugin name or hostname not acceptable */
	CTR_TRANSITIONS,
	CTR_REBOOTS,
	CTR_RESTARTS,
	CTR_CLONES,
	CTR_FLAPS,
	CTR_REQUEST_UPDATE,
	CTR_INTERVAL_OVERRIDE,
	CTR_STORE_DROPPED, /* store refused: backlog full */
	CTR_STORE_DEFERRED, /* last-seen writes postponed: backlog full */
	CTR_DROP_FIRST,    /* drops by HB_E* reason follow */
	CTR_COUNT = CTR_DROP_FIRST + HB_ERR_COUNT
};

/* The counter for dropping a datagram with error err (< 0). */
static inline enum counter counter_drop(int err)
{
	return (enum counter)(CTR_DROP_FIRST + (-err));
}

struct counters {
	uint64_t v[CTR_COUNT];
};

/* Name of counter i ("rx_datagrams", "drop_bad_tag"...), static. */
const char *counter_name(int i);

/* Sum of every drop_* counter. */
uint64_t counters_drops(const struct counters *c);

#endif
