/*
 * hb_json: msgpack to JSON text, for the server (plugin data is stored
 * as JSON in SQLite so that json_extract() works) and for tools that
 * print decoded datagrams. It reads with hb_mpr, so it accepts exactly
 * the values hb_mpr_check() accepts and never reads out of bounds; the
 * output cap, HB_JSON_MAX_OUT, bounds the memory any input can cost.
 *
 * Mapping:
 *   nil            null
 *   bool           true / false
 *   integers       decimal, exact over the whole int64 and uint64 ranges
 *   float 64       the shortest of "%.15g" and "%.17g" that reads back to
 *                  the same double ("%.7g" / "%.9g" and float for float
 *                  32); a whole number gets ".0" so that SQLite types it
 *                  REAL; NaN and +-Inf, which JSON lacks, become null.
 *                  Assumes the "C" LC_NUMERIC locale (hb never changes it).
 *   str            a JSON string: " \ and control characters escaped (\b
 *                  \f \n \r \t, others \u00XX), valid UTF-8 passed through
 *                  unchanged, and each byte that is not part of a valid
 *                  UTF-8 sequence (overlong forms, surrogates, code points
 *                  above U+10FFFF, stray or missing continuation bytes)
 *                  replaced by U+FFFD, written as the bytes EF BF BD.
 *   bin            a JSON string of its standard base64 (with padding)
 *   ext            {"ext":<type>,"data":"<base64 of the payload>"}
 *   array          [...], recursively
 *   map            {...}, recursively, in wire order, duplicates kept. A
 *                  string key is used as is; any other key is converted
 *                  to its JSON text, which becomes the key string (1 ->
 *                  "1", [1,2] -> "[1,2]"); a bin key, already a string,
 *                  is its base64.
 * Nesting follows hb_mpr_skip(): containers holding items may be nested
 * HB_MPR_MAX_DEPTH deep; one more level is accepted only when empty.
 */
#ifndef HB_JSON_H
#define HB_JSON_H

#include <stddef.h>
#include <stdint.h>

/* Longest JSON text of a map key that is not a string (HB_ELIMIT). */
#define HB_JSON_KEY_MAX 1024

/* Largest out->len the hb_json_* functions produce, NUL excluded. */
#define HB_JSON_MAX_OUT ((size_t)16 << 20)

/*
 * Growable output buffer, owned by its user. data is NUL-terminated
 * whenever len > 0 and after any append, so it can be used as a C string.
 */
struct hb_buf {
	char *data;
	size_t len, cap;
};

/* Makes b empty, without memory; it needs no hb_buf_free() until used. */
void hb_buf_init(struct hb_buf *b);

/* Frees b's memory and leaves it as hb_buf_init() does. */
void hb_buf_free(struct hb_buf *b);

/* Empties b (data becomes "" if allocated) and keeps its memory. */
void hb_buf_reset(struct hb_buf *b);

/* Appends n raw bytes (JSON punctuation). Returns 0, HB_ENOMEM, HB_ELIMIT. */
int hb_buf_append(struct hb_buf *b, const void *s, size_t n);

/*
 * Appends the JSON text of exactly one msgpack value in buf[0..len).
 * Returns 0, HB_EMSGPACK (malformed, trailing bytes, or nested deeper
 * than HB_MPR_MAX_DEPTH), HB_ENOMEM, or HB_ELIMIT (out->len would exceed
 * HB_JSON_MAX_OUT). On error out->len is restored to its value at entry.
 * buf is only read; out keeps any memory it grew, for the caller to free.
 */
int hb_json_from_msgpack(const uint8_t *buf, size_t len, struct hb_buf *out);

/*
 * Appends s[0..len) (any bytes, NULs included) as a JSON string literal,
 * escaped and UTF-8-repaired as described above. Returns 0, HB_ENOMEM or
 * HB_ELIMIT; on error out->len is restored to its value at entry.
 */
int hb_json_append_str(struct hb_buf *out, const char *s, size_t len);

#endif
