/*
 * hb_mpr: a cursor over msgpack bytes that reads values one at a time,
 * in place. It never allocates and checks every length a value claims
 * against the bytes that remain, so a decoder built on it cannot be made
 * to read out of bounds or to allocate by a hostile datagram. Encoding
 * goes through msgpack-c (hb_msg.c); msgpack-c's unpacker allocates up
 * front from the element counts a packet claims, which is why decoding
 * does not.
 *
 * Every read returns 0 or a negative code: HB_EMSGPACK when the bytes are
 * truncated or not msgpack, HB_EFIELD when the next value has another
 * type (the cursor then has not moved).
 */
#ifndef HB_MPR_H
#define HB_MPR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HB_MPR_MAX_DEPTH 32 /* deepest nesting hb_mpr_skip accepts */

struct hb_mpr {
	const uint8_t *p;
	const uint8_t *end;
};

enum hb_mp_type {
	HB_MP_NIL,
	HB_MP_BOOL,
	HB_MP_UINT, /* non-negative integer, whatever its encoding */
	HB_MP_INT,  /* negative integer */
	HB_MP_FLOAT,
	HB_MP_STR,
	HB_MP_BIN,
	HB_MP_ARRAY,
	HB_MP_MAP,
	HB_MP_EXT,
};

static inline void hb_mpr_init(struct hb_mpr *r, const void *buf, size_t len)
{
	r->p = buf;
	r->end = r->p + len;
}

static inline size_t hb_mpr_left(const struct hb_mpr *r)
{
	return (size_t)(r->end - r->p);
}

/* Type of the next value, or HB_EMSGPACK at the end or on byte 0xc1. */
int hb_mpr_peek(const struct hb_mpr *r);

/* Container headers: *n is the element (array) or pair (map) count. */
int hb_mpr_map(struct hb_mpr *r, uint32_t *n);
int hb_mpr_array(struct hb_mpr *r, uint32_t *n);

/* Strings and binaries point into the buffer; strings are not NUL-ended. */
int hb_mpr_str(struct hb_mpr *r, const char **s, uint32_t *len);
int hb_mpr_bin(struct hb_mpr *r, const uint8_t **b, uint32_t *len);

/* Any integer encoding whose value fits. */
int hb_mpr_uint(struct hb_mpr *r, uint64_t *v);
int hb_mpr_int(struct hb_mpr *r, int64_t *v);

/* float 32/64, or any integer. */
int hb_mpr_double(struct hb_mpr *r, double *v);

int hb_mpr_bool(struct hb_mpr *r, bool *v);
int hb_mpr_nil(struct hb_mpr *r);

/*
 * Skips one complete value of any type, nested at most HB_MPR_MAX_DEPTH
 * containers deep. Returns 0 or HB_EMSGPACK.
 */
int hb_mpr_skip(struct hb_mpr *r);

/*
 * Checks that buf[0..len) is exactly one well-formed value (no trailing
 * bytes), nested at most HB_MPR_MAX_DEPTH deep. Returns 0 or HB_EMSGPACK.
 */
int hb_mpr_check(const uint8_t *buf, size_t len);

/* True when the string s/len equals the NUL-terminated lit. */
bool hb_mpr_streq(const char *s, uint32_t len, const char *lit);

#endif
