/*
 * hb_frag: splitting a message body too large for one datagram into
 * fragments, and reassembling them on the receiving side. Each fragment
 * is a datagram of its own with its own sequence number, authenticated
 * on its own before it reaches the reassembler, so forged fragments never
 * take memory. The reassembler bounds what it holds: message size,
 * fragments per message, partial messages per sender, total memory, and
 * a timeout after a message's first fragment.
 */
#ifndef HB_FRAG_H
#define HB_FRAG_H

#include <stddef.h>
#include <stdint.h>

#include "hb_frame.h"

#define HB_MESSAGE_DEFAULT (64 * 1024) /* default largest reassembled body */
#define HB_MESSAGE_MAX (1024 * 1024)   /* hard limit on a message body */

/*
 * How to send a body of body_len bytes in datagrams of at most max_dgram
 * bytes (HB_FRAME_MIN .. HB_FRAME_MAX) in this mode. *count 1 means one
 * datagram without fragment extension; otherwise fragment i carries
 * body bytes [i * *chunk, min((i + 1) * *chunk, body_len)). Returns 0,
 * HB_EINVAL (bad max_dgram or mode) or HB_ETOOBIG (more than
 * HB_FRAG_COUNT_MAX fragments or over HB_MESSAGE_MAX).
 */
int hb_frag_plan(size_t body_len, size_t max_dgram, uint8_t mode,
		 uint16_t *count, size_t *chunk);

struct hb_reasm_limits {
	size_t max_message;      /* largest body, <= HB_MESSAGE_MAX */
	size_t mem_cap;          /* bytes held over all partial messages */
	uint32_t timeout_ms;     /* a partial message older than this is dropped */
	uint32_t max_per_sender; /* partial messages per host id */
};

/* Defaults: 64 KiB messages, 16 MiB total, 5 s, 4 per sender. */
void hb_reasm_limits_default(struct hb_reasm_limits *l);

struct hb_reasm;

/* Creates a reassembler; NULL on ENOMEM. Free with hb_reasm_free(). */
struct hb_reasm *hb_reasm_new(const struct hb_reasm_limits *l);

/* Frees the reassembler and every partial message. NULL is allowed. */
void hb_reasm_free(struct hb_reasm *r);

/*
 * Adds the authenticated fragment with header h (HB_FLAG_FRAG set) and
 * body chunk[0..len), received at now_ms (any monotonic millisecond
 * clock). When it completes its message, returns 0 with *body and
 * *body_len set to the whole body, valid until the next call on r;
 * otherwise returns 0 with *body NULL. A duplicate fragment is ignored.
 * Errors: HB_EINVAL (no fragment header), HB_EFRAG (count or size
 * disagrees with earlier fragments), HB_ETOOBIG (message over
 * max_message), HB_EFRAGMEM (memory cap reached; the fragment is
 * dropped). When a sender already has max_per_sender partial messages,
 * its oldest one is dropped to make room and counted as evicted.
 */
int hb_reasm_add(struct hb_reasm *r, const struct hb_header *h,
		 const uint8_t *chunk, size_t len, uint64_t now_ms,
		 const uint8_t **body, size_t *body_len);

/* Drops partial messages older than the timeout; returns how many. */
size_t hb_reasm_expire(struct hb_reasm *r, uint64_t now_ms);

struct hb_reasm_stats {
	size_t pending;    /* partial messages held */
	size_t mem;        /* bytes held */
	uint64_t completed;
	uint64_t expired;
	uint64_t evicted;  /* dropped for max_per_sender */
	uint64_t duplicates;
};

void hb_reasm_get_stats(const struct hb_reasm *r, struct hb_reasm_stats *s);

#endif
