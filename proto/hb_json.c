/*
 * hb_json: msgpack to JSON. value() dispatches on hb_mpr_peek() and
 * recurses into containers; the depth it carries is the one hb_mpr_skip()
 * counts, which bounds the recursion. Every byte goes out through
 * reserve(), the one place that enforces HB_JSON_MAX_OUT, so a hostile
 * value cannot make the output (or a nested key's escaping, which can
 * double it per level) grow without limit.
 */
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium/utils.h>

#include "hb_error.h"
#include "hb_json.h"
#include "hb_mpr.h"

void hb_buf_init(struct hb_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void hb_buf_free(struct hb_buf *b)
{
	free(b->data);
	hb_buf_init(b);
}

void hb_buf_reset(struct hb_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

/* Makes room for n more bytes plus the NUL. */
static int reserve(struct hb_buf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->len > HB_JSON_MAX_OUT || n > HB_JSON_MAX_OUT - b->len)
		return HB_ELIMIT;
	if (b->len + n < b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap <= b->len + n)
		cap *= 2;
	if (cap > HB_JSON_MAX_OUT + 1)
		cap = HB_JSON_MAX_OUT + 1;
	p = realloc(b->data, cap);
	if (!p)
		return HB_ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

static int put(struct hb_buf *b, const void *s, size_t n)
{
	int rc = reserve(b, n);

	if (rc < 0)
		return rc;
	if (n)
		memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int hb_buf_append(struct hb_buf *b, const void *s, size_t n)
{
	return put(b, s, n);
}

static int put_str(struct hb_buf *b, const char *s)
{
	return put(b, s, strlen(s));
}

/* Undoes a failed call's partial output. */
static void restore(struct hb_buf *b, size_t len)
{
	b->len = len;
	if (b->data)
		b->data[len] = '\0';
}

/* Length of the valid UTF-8 sequence at s (n > 0 bytes left), or 0. */
static size_t utf8_seq(const uint8_t *s, size_t n)
{
	uint8_t c = s[0], lo = 0x80, hi = 0xbf; /* range of the 2nd byte */
	size_t len;

	if (c < 0x80)
		return 1;
	if (c < 0xc2) /* continuation byte, or lead of an overlong pair */
		return 0;
	if (c < 0xe0) {
		len = 2;
	} else if (c < 0xf0) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		else if (c == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (c < 0xf5) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90; /* overlong */
		else if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else {
		return 0;
	}
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t k = 2; k < len; k++)
		if ((s[k] & 0xc0) != 0x80)
			return 0;
	return len;
}

/* One byte that cannot go out as is: an escape, or U+FFFD. */
static int put_special(struct hb_buf *b, uint8_t c)
{
	static const char from[] = "\"\\\b\f\n\r\t", to[] = "\"\\bfnrt";
	static const char hex[] = "0123456789abcdef";
	const char *q = c ? strchr(from, c) : NULL;

	if (q)
		return put(b, (char[]){'\\', to[q - from]}, 2);
	if (c >= 0x20)
		return put_str(b, "\xef\xbf\xbd");
	return put(b, (char[]){'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]},
		   6);
}

int hb_json_append_str(struct hb_buf *out, const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)(len ? s : "");
	size_t at = out->len, i = 0, done = 0;
	int rc = put(out, "\"", 1);

	/* Copy runs of plain bytes in one go; stop at each special one. */
	while (i < len && !rc) {
		size_t n = 0;

		if (p[i] >= 0x20 && p[i] != '"' && p[i] != '\\')
			n = utf8_seq(p + i, len - i);
		if (n) {
			i += n;
			continue;
		}
		rc = put(out, p + done, i - done);
		if (!rc)
			rc = put_special(out, p[i]);
		done = ++i;
	}
	if (!rc)
		rc = put(out, p + done, len - done);
	if (!rc)
		rc = put(out, "\"", 1);
	if (rc)
		restore(out, at);
	return rc;
}

static int put_base64(struct hb_buf *out, const uint8_t *bin, size_t n)
{
	const int v = sodium_base64_VARIANT_ORIGINAL;
	size_t m = sodium_base64_encoded_len(n, v); /* counts the NUL */
	int rc = reserve(out, m + 1);            /* 2 quotes, no NUL */

	if (rc < 0)
		return rc;
	out->data[out->len++] = '"';
	sodium_bin2base64(out->data + out->len, m, bin, n, v);
	out->len += m - 1;
	return put(out, "\"", 1);
}

static int put_double(struct hb_buf *out, double d, bool single)
{
	char s[48];

	if (!isfinite(d))
		return put_str(out, "null");
	/*
	 * 15 (7) significant digits print what people wrote for most values;
	 * 17 (9) always read back to the same double (float).
	 */
	snprintf(s, sizeof(s), "%.*g", single ? 7 : 15, d);
	if (single ? strtof(s, NULL) != (float)d : strtod(s, NULL) != d)
		snprintf(s, sizeof(s), "%.*g", single ? 9 : 17, d);
	if (!strpbrk(s, ".e"))
		strcat(s, ".0"); /* stays a float for readers such as SQLite */
	return put_str(out, s);
}

/*
 * hb_mpr has no ext reader: parse the head here. hb_mpr_peek() has
 * checked that it fits, but this must not depend on that to be safe.
 */
static int ext(struct hb_mpr *r, struct hb_buf *out)
{
	const uint8_t *p = r->p;
	size_t left = hb_mpr_left(r), k = 0, n = 0;
	char s[40];
	int rc;

	if (p[0] >= 0xc7 && p[0] <= 0xc9) /* ext 8/16/32: k length bytes */
		k = (size_t)1 << (p[0] - 0xc7);
	else if (p[0] < 0xd4 || p[0] > 0xd8)
		return HB_EMSGPACK;
	if (left < 2 + k)
		return HB_EMSGPACK;
	for (size_t i = 0; i < k; i++)
		n = n << 8 | p[1 + i];
	if (!k)
		n = (size_t)1 << (p[0] - 0xd4); /* fixext 1..16 */
	if (n > left - 2 - k)
		return HB_EMSGPACK;
	r->p += 2 + k + n;
	snprintf(s, sizeof(s), "{\"ext\":%d,\"data\":", (int8_t)p[1 + k]);
	if ((rc = put_str(out, s)) < 0 ||
	    (rc = put_base64(out, p + 2 + k, n)) < 0)
		return rc;
	return put(out, "}", 1);
}

static int value(struct hb_mpr *r, struct hb_buf *out, int depth);

static int array(struct hb_mpr *r, struct hb_buf *out, int depth)
{
	uint32_t n;
	int rc = hb_mpr_array(r, &n);

	if (rc < 0)
		return rc;
	if (depth == HB_MPR_MAX_DEPTH)
		return HB_EMSGPACK;
	rc = put(out, "[", 1);
	for (uint32_t i = 0; i < n && !rc; i++) {
		if (i)
			rc = put(out, ",", 1);
		if (!rc)
			rc = value(r, out, depth + 1);
	}
	return rc ? rc : put(out, "]", 1);
}

/* A map key: a string as is, anything else as a string of its JSON. */
static int key(struct hb_mpr *r, struct hb_buf *out, int depth)
{
	size_t at = out->len, n;
	char *text;
	int rc;

	if (hb_mpr_peek(r) == HB_MP_STR)
		return value(r, out, depth);
	if ((rc = value(r, out, depth)) < 0)
		return rc;
	if (out->data[at] == '"') /* bin: base64 is already a string */
		return 0;
	/* Escaping writes where the text is: move it out of the way first. */
	n = out->len - at;
	/*
	 * Each level of keys nested in keys escapes the text again, roughly
	 * doubling it: a 100-byte datagram could ask for megabytes. No
	 * sensible key is long, so refuse long ones.
	 */
	if (n > HB_JSON_KEY_MAX) {
		out->len = at;
		out->data[at] = '\0';
		return HB_ELIMIT;
	}
	if (!(text = malloc(n)))
		return HB_ENOMEM;
	memcpy(text, out->data + at, n);
	out->len = at;
	rc = hb_json_append_str(out, text, n);
	free(text);
	return rc;
}

static int map(struct hb_mpr *r, struct hb_buf *out, int depth)
{
	uint32_t n;
	int rc = hb_mpr_map(r, &n);

	if (rc < 0)
		return rc;
	if (depth == HB_MPR_MAX_DEPTH)
		return HB_EMSGPACK;
	rc = put(out, "{", 1);
	for (uint32_t i = 0; i < n && !rc; i++) {
		if (i)
			rc = put(out, ",", 1);
		if (!rc)
			rc = key(r, out, depth + 1);
		if (!rc)
			rc = put(out, ":", 1);
		if (!rc)
			rc = value(r, out, depth + 1);
	}
	return rc ? rc : put(out, "}", 1);
}

static int number(struct hb_mpr *r, struct hb_buf *out, int type)
{
	bool single = r->p[0] == 0xca; /* float 32 */
	char s[32];
	uint64_t u;
	int64_t i;
	double d;
	int rc = HB_EMSGPACK;

	if (type == HB_MP_FLOAT)
		return (rc = hb_mpr_double(r, &d)) ? rc : put_double(out, d, single);
	if (type == HB_MP_UINT && !(rc = hb_mpr_uint(r, &u)))
		snprintf(s, sizeof(s), "%" PRIu64, u);
	else if (type == HB_MP_INT && !(rc = hb_mpr_int(r, &i)))
		snprintf(s, sizeof(s), "%" PRId64, i);
	return rc ? rc : put_str(out, s);
}

static int value(struct hb_mpr *r, struct hb_buf *out, int depth)
{
	int type = hb_mpr_peek(r), rc;
	const char *s;
	const uint8_t *b;
	uint32_t len;
	bool t;

	switch (type) {
	case HB_MP_NIL:
		return (rc = hb_mpr_nil(r)) < 0 ? rc : put_str(out, "null");
	case HB_MP_BOOL:
		if ((rc = hb_mpr_bool(r, &t)) < 0)
			return rc;
		return put_str(out, t ? "true" : "false");
	case HB_MP_UINT:
	case HB_MP_INT:
	case HB_MP_FLOAT:
		return number(r, out, type);
	case HB_MP_STR:
		if ((rc = hb_mpr_str(r, &s, &len)) < 0)
			return rc;
		return hb_json_append_str(out, s, len);
	case HB_MP_BIN:
		if ((rc = hb_mpr_bin(r, &b, &len)) < 0)
			return rc;
		return put_base64(out, b, len);
	case HB_MP_EXT:
		return ext(r, out);
	case HB_MP_ARRAY:
		return array(r, out, depth);
	case HB_MP_MAP:
		return map(r, out, depth);
	}
	return type < 0 ? type : HB_EMSGPACK;
}

int hb_json_from_msgpack(const uint8_t *buf, size_t len, struct hb_buf *out)
{
	size_t at = out->len;
	struct hb_mpr r;
	int rc;

	if (!len) /* also spares hb_mpr_init() a NULL buf */
		return HB_EMSGPACK;
	hb_mpr_init(&r, buf, len);
	rc = value(&r, out, 0);
	if (!rc && hb_mpr_left(&r))
		rc = HB_EMSGPACK;
	if (rc)
		restore(out, at);
	return rc;
}
