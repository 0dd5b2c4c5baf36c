/*
 * hb_sbuf: a bounded string builder for messages: output is truncated,
 * never overflows, and quoted values stay short and printable. Used by
 * the configuration loader's error messages.
 */
#ifndef HB_SBUF_H
#define HB_SBUF_H

#include <stdbool.h>
#include <stddef.h>

struct hb_sbuf {
	char *p;
	size_t cap, len;
};

#define HB_SBUF(arr) {arr, sizeof(arr), 0}

/* Appends formatted text, cut at the capacity. */
void hb_sbuf_printf(struct hb_sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Appends s[0..len) with control characters (and, when quoting, quotes
 * and backslashes) escaped, cut after max bytes at a UTF-8 character
 * boundary.
 */
void hb_sbuf_text(struct hb_sbuf *b, const char *s, size_t len, size_t max,
		  bool quote);

#endif
