/* hb_sbuf: the bounded string builder. */
#include <stdarg.h>
#include <stdio.h>

#include "hb_sbuf.h"

void hb_sbuf_printf(struct hb_sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!b->cap)
		return;
	b->p[b->len] = '\0';
	if (b->len + 1 >= b->cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->len += (size_t)n < b->cap - b->len ? (size_t)n
						       : b->cap - b->len - 1;
}

/*
 * Appends s[0..len) with control characters (and, when quoting, quotes
 * and backslashes) escaped, cut after max bytes at a UTF-8 character
 * boundary: values in messages stay short and printable.
 */
void hb_sbuf_text(struct hb_sbuf *b, const char *s, size_t len, size_t max,
		  bool quote)
{
	bool cut = len > max;

	if (cut) {
		len = max;
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
	}
	if (quote)
		hb_sbuf_printf(b, "\"");
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch == 0x7f)
			hb_sbuf_printf(b, "\\x%02x", ch);
		else if (quote && (ch == '"' || ch == '\\'))
			hb_sbuf_printf(b, "\\%c", ch);
		else
			hb_sbuf_printf(b, "%c", ch);
	}
	hb_sbuf_printf(b, "%s%s", cut ? "..." : "", quote ? "\"" : "");
}

