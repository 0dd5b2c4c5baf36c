/*
 * hb_mpr: the in-place msgpack reader. Every value starts with a head
 * (type byte plus fixed-size fields); head() decodes it without moving
 * the cursor and checks that any payload it announces fits in what is
 * left, so the typed readers only ever consume a head() they checked.
 */
#include <string.h>

#include "hb_error.h"
#include "hb_mpr.h"

struct head {
	int type;         /* enum hb_mp_type */
	size_t size;      /* bytes of head plus payload (not container items) */
	uint64_t u;       /* HB_MP_UINT, BOOL; item count of ARRAY and MAP */
	int64_t i;        /* HB_MP_INT */
	double d;         /* HB_MP_FLOAT */
	const uint8_t *data; /* STR, BIN, EXT payload */
	uint32_t len;        /* its length */
};

static uint64_t be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int k = 0; k < n; k++)
		v = v << 8 | p[k];
	return v;
}

/* A value of `type` whose payload length is stored in n bytes after p. */
static int sized(struct head *h, int type, const uint8_t *p, size_t left,
		 int n, int skip)
{
	if (left < (size_t)(1 + n + skip))
		return HB_EMSGPACK;
	h->type = type;
	h->len = (uint32_t)be(p + 1, n);
	h->data = p + 1 + n + skip;
	if (h->len > left - (size_t)(1 + n + skip))
		return HB_EMSGPACK;
	h->size = (size_t)(1 + n + skip) + h->len;
	return 0;
}

static int fixed(struct head *h, int type, const uint8_t *p, size_t left,
		 int n)
{
	if (left < (size_t)(1 + n))
		return HB_EMSGPACK;
	h->type = type;
	h->size = (size_t)(1 + n);
	switch (type) {
	case HB_MP_UINT:
		h->u = be(p + 1, n);
		break;
	case HB_MP_INT: {
		uint64_t raw = be(p + 1, n);
		int bits = 8 * n;

		/* Sign-extend an n-byte two's complement value. */
		if (bits < 64 && (raw >> (bits - 1)) & 1)
			raw |= ~(uint64_t)0 << bits;
		h->i = (int64_t)raw;
		if (h->i >= 0) { /* signed encoding of a non-negative value */
			h->type = HB_MP_UINT;
			h->u = (uint64_t)h->i;
		}
		break;
	}
	case HB_MP_FLOAT:
		if (n == 4) {
			uint32_t w = (uint32_t)be(p + 1, 4);
			float f;

			memcpy(&f, &w, 4);
			h->d = f;
		} else {
			uint64_t w = be(p + 1, 8);

			memcpy(&h->d, &w, 8);
		}
		break;
	case HB_MP_ARRAY:
	case HB_MP_MAP:
		h->u = be(p + 1, n);
		break;
	}
	return 0;
}

static int head(const struct hb_mpr *r, struct head *h)
{
	const uint8_t *p = r->p;
	size_t left = hb_mpr_left(r);
	uint8_t b;

	if (!left)
		return HB_EMSGPACK;
	b = *p;
	h->size = 1;
	if (b <= 0x7f) {
		h->type = HB_MP_UINT;
		h->u = b;
	} else if (b >= 0xe0) {
		h->type = HB_MP_INT;
		h->i = (int8_t)b;
	} else if (b <= 0x8f) {
		h->type = HB_MP_MAP;
		h->u = b & 0x0f;
	} else if (b <= 0x9f) {
		h->type = HB_MP_ARRAY;
		h->u = b & 0x0f;
	} else if (b <= 0xbf) {
		h->type = HB_MP_STR;
		h->len = b & 0x1f;
		h->data = p + 1;
		if (h->len > left - 1)
			return HB_EMSGPACK;
		h->size = 1 + h->len;
	} else {
		switch (b) {
		case 0xc0: h->type = HB_MP_NIL; break;
		case 0xc2: h->type = HB_MP_BOOL; h->u = 0; break;
		case 0xc3: h->type = HB_MP_BOOL; h->u = 1; break;
		case 0xc4: return sized(h, HB_MP_BIN, p, left, 1, 0);
		case 0xc5: return sized(h, HB_MP_BIN, p, left, 2, 0);
		case 0xc6: return sized(h, HB_MP_BIN, p, left, 4, 0);
		case 0xc7: return sized(h, HB_MP_EXT, p, left, 1, 1);
		case 0xc8: return sized(h, HB_MP_EXT, p, left, 2, 1);
		case 0xc9: return sized(h, HB_MP_EXT, p, left, 4, 1);
		case 0xca: return fixed(h, HB_MP_FLOAT, p, left, 4);
		case 0xcb: return fixed(h, HB_MP_FLOAT, p, left, 8);
		case 0xcc: return fixed(h, HB_MP_UINT, p, left, 1);
		case 0xcd: return fixed(h, HB_MP_UINT, p, left, 2);
		case 0xce: return fixed(h, HB_MP_UINT, p, left, 4);
		case 0xcf: return fixed(h, HB_MP_UINT, p, left, 8);
		case 0xd0: return fixed(h, HB_MP_INT, p, left, 1);
		case 0xd1: return fixed(h, HB_MP_INT, p, left, 2);
		case 0xd2: return fixed(h, HB_MP_INT, p, left, 4);
		case 0xd3: return fixed(h, HB_MP_INT, p, left, 8);
		case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: {
			uint32_t n = 1u << (b - 0xd4); /* fixext 1..16 */

			if (left < 2 + (size_t)n)
				return HB_EMSGPACK;
			h->type = HB_MP_EXT;
			h->data = p + 2;
			h->len = n;
			h->size = 2 + n;
			break;
		}
		case 0xd9: return sized(h, HB_MP_STR, p, left, 1, 0);
		case 0xda: return sized(h, HB_MP_STR, p, left, 2, 0);
		case 0xdb: return sized(h, HB_MP_STR, p, left, 4, 0);
		case 0xdc: return fixed(h, HB_MP_ARRAY, p, left, 2);
		case 0xdd: return fixed(h, HB_MP_ARRAY, p, left, 4);
		case 0xde: return fixed(h, HB_MP_MAP, p, left, 2);
		case 0xdf: return fixed(h, HB_MP_MAP, p, left, 4);
		default: return HB_EMSGPACK; /* 0xc1: never used */
		}
	}
	return 0;
}

int hb_mpr_peek(const struct hb_mpr *r)
{
	struct head h;
	int rc = head(r, &h);

	return rc < 0 ? rc : h.type;
}

/* Reads the head of the next value, which must be of type `type`. */
static int take(struct hb_mpr *r, int type, struct head *h)
{
	int rc = head(r, h);

	if (rc < 0)
		return rc;
	if (h->type != type)
		return HB_EFIELD;
	r->p += h->size;
	return 0;
}

/*
 * A container of n items takes at least n bytes (2n for a map), so a
 * count larger than what is left is a lie: refuse it before a caller
 * sizes anything by it.
 */
static int container(struct hb_mpr *r, int type, uint32_t *n)
{
	struct head h;
	int rc = take(r, type, &h);

	if (rc < 0)
		return rc;
	if (h.u > hb_mpr_left(r) / (type == HB_MP_MAP ? 2 : 1))
		return HB_EMSGPACK;
	*n = (uint32_t)h.u;
	return 0;
}

int hb_mpr_map(struct hb_mpr *r, uint32_t *n)
{
	return container(r, HB_MP_MAP, n);
}

int hb_mpr_array(struct hb_mpr *r, uint32_t *n)
{
	return container(r, HB_MP_ARRAY, n);
}

int hb_mpr_str(struct hb_mpr *r, const char **s, uint32_t *len)
{
	struct head h;
	int rc = take(r, HB_MP_STR, &h);

	if (rc < 0)
		return rc;
	*s = (const char *)h.data;
	*len = h.len;
	return 0;
}

int hb_mpr_bin(struct hb_mpr *r, const uint8_t **b, uint32_t *len)
{
	struct head h;
	int rc = take(r, HB_MP_BIN, &h);

	if (rc < 0)
		return rc;
	*b = h.data;
	*len = h.len;
	return 0;
}

int hb_mpr_uint(struct hb_mpr *r, uint64_t *v)
{
	struct head h;
	int rc = take(r, HB_MP_UINT, &h);

	if (rc < 0)
		return rc;
	*v = h.u;
	return 0;
}

int hb_mpr_int(struct hb_mpr *r, int64_t *v)
{
	struct head h;
	int rc = head(r, &h);

	if (rc < 0)
		return rc;
	if (h.type == HB_MP_INT)
		*v = h.i;
	else if (h.type == HB_MP_UINT && h.u <= INT64_MAX)
		*v = (int64_t)h.u;
	else
		return HB_EFIELD;
	r->p += h.size;
	return 0;
}

int hb_mpr_double(struct hb_mpr *r, double *v)
{
	struct head h;
	int rc = head(r, &h);

	if (rc < 0)
		return rc;
	if (h.type == HB_MP_FLOAT)
		*v = h.d;
	else if (h.type == HB_MP_UINT)
		*v = (double)h.u;
	else if (h.type == HB_MP_INT)
		*v = (double)h.i;
	else
		return HB_EFIELD;
	r->p += h.size;
	return 0;
}

int hb_mpr_bool(struct hb_mpr *r, bool *v)
{
	struct head h;
	int rc = take(r, HB_MP_BOOL, &h);

	if (rc < 0)
		return rc;
	*v = h.u != 0;
	return 0;
}

int hb_mpr_nil(struct hb_mpr *r)
{
	struct head h;

	return take(r, HB_MP_NIL, &h);
}

int hb_mpr_skip(struct hb_mpr *r)
{
	/* pending[d]: items still to read at depth d; no recursion. */
	uint64_t pending[HB_MPR_MAX_DEPTH + 1];
	int depth = 0;

	pending[0] = 1;
	for (;;) {
		struct head h;
		int rc;

		while (depth > 0 && pending[depth] == 0)
			depth--;
		if (pending[depth] == 0)
			return 0;
		pending[depth]--;
		if ((rc = head(r, &h)) < 0)
			return rc;
		r->p += h.size;
		if (h.type == HB_MP_ARRAY || h.type == HB_MP_MAP) {
			uint64_t items = h.type == HB_MP_MAP ? 2 * h.u : h.u;

			if (items > hb_mpr_left(r) || depth == HB_MPR_MAX_DEPTH)
				return HB_EMSGPACK;
			if (items)
				pending[++depth] = items;
		}
	}
}

int hb_mpr_check(const uint8_t *buf, size_t len)
{
	struct hb_mpr r;
	int rc;

	hb_mpr_init(&r, buf, len);
	if ((rc = hb_mpr_skip(&r)) < 0)
		return rc;
	return hb_mpr_left(&r) ? HB_EMSGPACK : 0;
}

bool hb_mpr_streq(const char *s, uint32_t len, const char *lit)
{
	size_t n = strlen(lit);

	return n == len && memcmp(s, lit, n) == 0;
}
