/*
 * test_mpr: the in-place msgpack reader. Every type msgpack-c's packer
 * produces is read back; a type mismatch is HB_EFIELD with the cursor
 * unmoved; truncation of every multi-byte form, 0xc1 and lying container
 * counts are HB_EMSGPACK; hb_mpr_skip's nesting limit and hb_mpr_check's
 * refusal of trailing bytes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <msgpack.h>

#include "hb_test.h"
#include "hb_mpr.h"

static msgpack_sbuffer sb;
static msgpack_packer pk;

static int setup(void **state)
{
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	return 0;
}

static int teardown(void **state)
{
	msgpack_sbuffer_destroy(&sb);
	t_dup_free();
	return 0;
}

/* Starts a new packing; returns the packer. */
static msgpack_packer *begin(void)
{
	msgpack_sbuffer_clear(&sb);
	return &pk;
}

/* A reader over what was packed since begin(), whose first byte is b0. */
static void packed(struct hb_mpr *r, uint8_t b0)
{
	assert_true(sb.size > 0);
	assert_int_equal((uint8_t)sb.data[0], b0);
	hb_mpr_init(r, sb.data, sb.size);
}

/* Non-negative integers in every encoding, unsigned and signed. */
static void test_uint_forms(void **state)
{
	static const struct {
		uint64_t v;
		int bytes; /* 0: fixint; negative: signed encoding */
		uint8_t b0;
	} cases[] = {
		{0, 0, 0x00},          {127, 0, 0x7f},
		{0, 1, 0xcc},          {200, 1, 0xcc},
		{65535, 2, 0xcd},      {0, 2, 0xcd},
		{0xffffffff, 4, 0xce}, {1, 4, 0xce},
		{UINT64_MAX, 8, 0xcf}, {0x0102030405060708, 8, 0xcf},
		{0, -1, 0xd0},         {127, -1, 0xd0},
		{300, -2, 0xd1},       {32767, -2, 0xd1},
		{70000, -4, 0xd2},     {INT32_MAX, -4, 0xd2},
		{0, -8, 0xd3},         {INT64_MAX, -8, 0xd3},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		msgpack_packer *p = begin();
		struct hb_mpr r;
		uint64_t u = 1234, v = cases[i].v;
		int64_t s = 1234;

		switch (cases[i].bytes) {
		case 0: msgpack_pack_uint64(p, v); break;
		case 1: msgpack_pack_fix_uint8(p, (uint8_t)v); break;
		case 2: msgpack_pack_fix_uint16(p, (uint16_t)v); break;
		case 4: msgpack_pack_fix_uint32(p, (uint32_t)v); break;
		case 8: msgpack_pack_fix_uint64(p, v); break;
		case -1: msgpack_pack_fix_int8(p, (int8_t)v); break;
		case -2: msgpack_pack_fix_int16(p, (int16_t)v); break;
		case -4: msgpack_pack_fix_int32(p, (int32_t)v); break;
		default: msgpack_pack_fix_int64(p, (int64_t)v); break;
		}
		packed(&r, cases[i].b0);
		assert_int_equal(hb_mpr_peek(&r), HB_MP_UINT);
		assert_rc(hb_mpr_uint(&r, &u), 0);
		assert_int_equal(u, v);
		assert_int_equal(hb_mpr_left(&r), 0);
		packed(&r, cases[i].b0);
		if (v <= INT64_MAX) {
			assert_rc(hb_mpr_int(&r, &s), 0);
			assert_int_equal(s, (int64_t)v);
		} else {
			assert_rc(hb_mpr_int(&r, &s), HB_EFIELD);
		}
	}
}

static void test_negative_forms(void **state)
{
	static const struct {
		int64_t v;
		int bytes;
		uint8_t b0;
	} cases[] = {
		{-1, 0, 0xff},           {-32, 0, 0xe0},
		{-33, 1, 0xd0},          {-128, 1, 0xd0},
		{-32768, 2, 0xd1},       {-129, 2, 0xd1},
		{INT32_MIN, 4, 0xd2},    {-32769, 4, 0xd2},
		{INT64_MIN, 8, 0xd3},    {-0x0102030405060708, 8, 0xd3},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		msgpack_packer *p = begin();
		struct hb_mpr r;
		int64_t v = cases[i].v, s = 0;
		uint64_t u;
		double d;

		switch (cases[i].bytes) {
		case 0: msgpack_pack_int64(p, v); break;
		case 1: msgpack_pack_fix_int8(p, (int8_t)v); break;
		case 2: msgpack_pack_fix_int16(p, (int16_t)v); break;
		case 4: msgpack_pack_fix_int32(p, (int32_t)v); break;
		default: msgpack_pack_fix_int64(p, v); break;
		}
		packed(&r, cases[i].b0);
		assert_int_equal(hb_mpr_peek(&r), HB_MP_INT);
		assert_rc(hb_mpr_uint(&r, &u), HB_EFIELD);
		assert_rc(hb_mpr_int(&r, &s), 0);
		assert_int_equal(s, v);
		assert_int_equal(hb_mpr_left(&r), 0);
		packed(&r, cases[i].b0);
		assert_rc(hb_mpr_double(&r, &d), 0);
		t_double_equal(d, (double)v);
	}
}

static void test_floats(void **state)
{
	struct hb_mpr r;
	double d = 0;
	uint64_t u;

	msgpack_pack_float(begin(), 1.5f);
	packed(&r, 0xca);
	assert_int_equal(hb_mpr_peek(&r), HB_MP_FLOAT);
	assert_rc(hb_mpr_uint(&r, &u), HB_EFIELD);
	assert_rc(hb_mpr_double(&r, &d), 0);
	t_double_equal(d, 1.5);
	assert_int_equal(hb_mpr_left(&r), 0);

	msgpack_pack_float(begin(), -0.1f);
	packed(&r, 0xca);
	assert_rc(hb_mpr_double(&r, &d), 0);
	t_double_equal(d, (double)-0.1f);

	msgpack_pack_double(begin(), -1e300);
	packed(&r, 0xcb);
	assert_rc(hb_mpr_double(&r, &d), 0);
	t_double_equal(d, -1e300);
	assert_int_equal(hb_mpr_left(&r), 0);
}

/* Packs a str or bin of n pattern bytes and reads it back. */
static void str_or_bin(bool bin, uint32_t n, uint8_t b0)
{
	static uint8_t data[65536];
	struct hb_mpr r;
	const uint8_t *b = NULL;
	const char *s = NULL;
	uint32_t len = 12345;

	assert_true(n <= sizeof(data));
	for (uint32_t i = 0; i < n; i++)
		data[i] = (uint8_t)(i * 7 + 1);
	if (bin) {
		msgpack_pack_bin(begin(), n);
		msgpack_pack_bin_body(&pk, data, n);
	} else {
		msgpack_pack_str(begin(), n);
		msgpack_pack_str_body(&pk, data, n);
	}
	packed(&r, b0);
	assert_int_equal(hb_mpr_peek(&r), bin ? HB_MP_BIN : HB_MP_STR);
	if (bin) {
		assert_rc(hb_mpr_bin(&r, &b, &len), 0);
	} else {
		assert_rc(hb_mpr_str(&r, &s, &len), 0);
		b = (const uint8_t *)s;
	}
	assert_int_equal(len, n);
	assert_memory_equal(b, data, n);
	assert_int_equal(hb_mpr_left(&r), 0);
}

static void test_strings(void **state)
{
	str_or_bin(false, 0, 0xa0);
	str_or_bin(false, 31, 0xbf);
	str_or_bin(false, 32, 0xd9);
	str_or_bin(false, 255, 0xd9);
	str_or_bin(false, 256, 0xda);
	str_or_bin(false, 65535, 0xda);
	str_or_bin(false, 65536, 0xdb);
}

static void test_bins(void **state)
{
	str_or_bin(true, 0, 0xc4);
	str_or_bin(true, 255, 0xc4);
	str_or_bin(true, 256, 0xc5);
	str_or_bin(true, 65535, 0xc5);
	str_or_bin(true, 65536, 0xc6);
}

/* Packs a container of n items (nil, or uint key -> nil) and reads it. */
static void container(bool map, uint32_t n, uint8_t b0)
{
	struct hb_mpr r;
	uint32_t got = 0xdead;

	if (map)
		msgpack_pack_map(begin(), n);
	else
		msgpack_pack_array(begin(), n);
	for (uint32_t i = 0; i < n; i++) {
		if (map)
			msgpack_pack_uint32(&pk, i);
		msgpack_pack_nil(&pk);
	}
	packed(&r, b0);
	assert_int_equal(hb_mpr_peek(&r), map ? HB_MP_MAP : HB_MP_ARRAY);
	assert_rc(map ? hb_mpr_map(&r, &got) : hb_mpr_array(&r, &got), 0);
	assert_int_equal(got, n);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t k;

		if (map) {
			assert_rc(hb_mpr_uint(&r, &k), 0);
			assert_int_equal(k, i);
		}
		assert_rc(hb_mpr_nil(&r), 0);
	}
	assert_int_equal(hb_mpr_left(&r), 0);
	packed(&r, b0);
	assert_rc(hb_mpr_skip(&r), 0);
	assert_int_equal(hb_mpr_left(&r), 0);
}

static void test_arrays(void **state)
{
	container(false, 0, 0x90);
	container(false, 15, 0x9f);
	container(false, 16, 0xdc);
	container(false, 65535, 0xdc);
	container(false, 65536, 0xdd);
}

static void test_maps(void **state)
{
	container(true, 0, 0x80);
	container(true, 15, 0x8f);
	container(true, 16, 0xde);
	container(true, 65536, 0xdf);
}

static void test_nil_and_bools(void **state)
{
	struct hb_mpr r;
	bool b = true;

	msgpack_pack_nil(begin());
	msgpack_pack_false(&pk);
	msgpack_pack_true(&pk);
	packed(&r, 0xc0);
	assert_int_equal(hb_mpr_peek(&r), HB_MP_NIL);
	assert_rc(hb_mpr_nil(&r), 0);
	assert_int_equal(hb_mpr_peek(&r), HB_MP_BOOL);
	assert_rc(hb_mpr_bool(&r, &b), 0);
	assert_false(b);
	assert_rc(hb_mpr_bool(&r, &b), 0);
	assert_true(b);
	assert_int_equal(hb_mpr_left(&r), 0);
	assert_rc(hb_mpr_peek(&r), HB_EMSGPACK);
	assert_rc(hb_mpr_nil(&r), HB_EMSGPACK);
}

static void test_ext(void **state)
{
	static const struct {
		uint32_t len;
		uint8_t b0;
	} cases[] = {{1, 0xd4},   {2, 0xd5},   {4, 0xd6},     {8, 0xd7},
		     {16, 0xd8},  {0, 0xc7},   {3, 0xc7},     {255, 0xc7},
		     {256, 0xc8}, {65535, 0xc8}, {65536, 0xc9}};
	static uint8_t body[65536];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hb_mpr r;

		msgpack_pack_ext(begin(), cases[i].len, 42);
		msgpack_pack_ext_body(&pk, body, cases[i].len);
		msgpack_pack_nil(&pk);
		packed(&r, cases[i].b0);
		assert_int_equal(hb_mpr_peek(&r), HB_MP_EXT);
		assert_rc(hb_mpr_skip(&r), 0);
		assert_int_equal(hb_mpr_left(&r), 1);
		assert_rc(hb_mpr_nil(&r), 0);
	}
}

/* The typed readers, behind one signature. */
enum { R_MAP, R_ARRAY, R_STR, R_BIN, R_UINT, R_INT, R_DOUBLE, R_BOOL, R_NIL,
       R_COUNT };

static int read_as(struct hb_mpr *r, int which)
{
	const char *s;
	const uint8_t *b;
	uint32_t n;
	uint64_t u;
	int64_t i;
	double d;
	bool v;

	switch (which) {
	case R_MAP: return hb_mpr_map(r, &n);
	case R_ARRAY: return hb_mpr_array(r, &n);
	case R_STR: return hb_mpr_str(r, &s, &n);
	case R_BIN: return hb_mpr_bin(r, &b, &n);
	case R_UINT: return hb_mpr_uint(r, &u);
	case R_INT: return hb_mpr_int(r, &i);
	case R_DOUBLE: return hb_mpr_double(r, &d);
	case R_BOOL: return hb_mpr_bool(r, &v);
	default: return hb_mpr_nil(r);
	}
}

static void test_type_mismatch_keeps_cursor(void **state)
{
#define B(x) (1u << (x))
	static const struct {
		uint8_t len, bytes[10];
		unsigned ok; /* readers that accept it */
	} cases[] = {
		{1, {0xc0}, B(R_NIL)},
		{1, {0xc3}, B(R_BOOL)},
		{1, {0x05}, B(R_UINT) | B(R_INT) | B(R_DOUBLE)},
		{2, {0xd0, 0x05}, B(R_UINT) | B(R_INT) | B(R_DOUBLE)},
		{1, {0xfb}, B(R_INT) | B(R_DOUBLE)},
		{9, {0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		 B(R_UINT) | B(R_DOUBLE)},
		{5, {0xca, 0x3f, 0xc0, 0, 0}, B(R_DOUBLE)},
		{2, {0xa1, 'x'}, B(R_STR)},
		{3, {0xc4, 0x01, 0x00}, B(R_BIN)},
		{2, {0x91, 0xc0}, B(R_ARRAY)},
		{3, {0x81, 0x01, 0xc0}, B(R_MAP)},
		{3, {0xd4, 0x01, 0x00}, 0},
	};
#undef B
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int w = 0; w < R_COUNT; w++) {
			uint8_t *buf = t_dup(cases[i].bytes, cases[i].len);
			struct hb_mpr r;

			hb_mpr_init(&r, buf, cases[i].len);
			if (cases[i].ok & 1u << w) {
				assert_rc(read_as(&r, w), 0);
				assert_true(r.p > buf);
			} else {
				assert_rc(read_as(&r, w), HB_EFIELD);
				assert_ptr_equal(r.p, buf);
			}
		}
	}
}

/* One value of every multi-byte form, with the smallest payloads. */
static const struct {
	uint8_t len, bytes[24];
	int reader; /* -1: none (ext) */
} forms[] = {
	{2, {0xcc, 1}, R_UINT},
	{3, {0xcd, 1, 2}, R_UINT},
	{5, {0xce, 1, 2, 3, 4}, R_UINT},
	{9, {0xcf, 1, 2, 3, 4, 5, 6, 7, 8}, R_UINT},
	{2, {0xd0, 0xff}, R_INT},
	{3, {0xd1, 0xff, 0xff}, R_INT},
	{5, {0xd2, 0xff, 0xff, 0xff, 0xff}, R_INT},
	{9, {0xd3, 0x80, 0, 0, 0, 0, 0, 0, 1}, R_INT},
	{5, {0xca, 0x3f, 0xc0, 0, 0}, R_DOUBLE},
	{9, {0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0}, R_DOUBLE},
	{4, {0xa3, 'a', 'b', 'c'}, R_STR},
	{5, {0xd9, 3, 'a', 'b', 'c'}, R_STR},
	{6, {0xda, 0, 3, 'a', 'b', 'c'}, R_STR},
	{8, {0xdb, 0, 0, 0, 3, 'a', 'b', 'c'}, R_STR},
	{4, {0xc4, 2, 7, 8}, R_BIN},
	{5, {0xc5, 0, 2, 7, 8}, R_BIN},
	{7, {0xc6, 0, 0, 0, 2, 7, 8}, R_BIN},
	{3, {0xd4, 1, 9}, -1},
	{4, {0xd5, 1, 9, 9}, -1},
	{6, {0xd6, 1, 9, 9, 9, 9}, -1},
	{10, {0xd7, 1, 9, 9, 9, 9, 9, 9, 9, 9}, -1},
	{18, {0xd8, 1, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9}, -1},
	{5, {0xc7, 2, 1, 9, 9}, -1},
	{6, {0xc8, 0, 2, 1, 9, 9}, -1},
	{8, {0xc9, 0, 0, 0, 2, 1, 9, 9}, -1},
	{3, {0x92, 1, 2}, R_ARRAY},
	{5, {0xdc, 0, 2, 1, 2}, R_ARRAY},
	{7, {0xdd, 0, 0, 0, 2, 1, 2}, R_ARRAY},
	{3, {0x81, 1, 2}, R_MAP},
	{5, {0xde, 0, 1, 1, 2}, R_MAP},
	{7, {0xdf, 0, 0, 0, 1, 1, 2}, R_MAP},
	{6, {0x91, 0x81, 0xa1, 'k', 0xa1, 'v'}, R_ARRAY},
};

static void test_forms_are_well_formed(void **state)
{
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		assert_rc(hb_mpr_check(forms[i].bytes, forms[i].len), 0);
		if (forms[i].reader >= 0) {
			struct hb_mpr r;

			hb_mpr_init(&r, forms[i].bytes, forms[i].len);
			assert_rc(read_as(&r, forms[i].reader), 0);
		}
	}
}

static void test_truncation_of_every_form(void **state)
{
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		for (size_t n = 0; n < forms[i].len; n++) {
			uint8_t *buf = t_dup(forms[i].bytes, n);
			int rd = forms[i].reader;
			bool box = rd == R_ARRAY || rd == R_MAP;
			struct hb_mpr r;

			hb_mpr_init(&r, buf, n);
			assert_rc(hb_mpr_skip(&r), HB_EMSGPACK);
			assert_rc(hb_mpr_check(buf, n), HB_EMSGPACK);
			/*
			 * A container's head may be whole and its count
			 * plausible while its items are cut: only skip and
			 * check see that.
			 */
			if (box || rd < 0)
				continue;
			hb_mpr_init(&r, buf, n);
			assert_rc(hb_mpr_peek(&r), HB_EMSGPACK);
			assert_rc(read_as(&r, rd), HB_EMSGPACK);
		}
	}
}

static void test_c1_is_never_valid(void **state)
{
	static const uint8_t c1 = 0xc1, nested[] = {0x92, 0x01, 0xc1};
	uint8_t *buf = t_dup(&c1, 1);
	struct hb_mpr r;

	hb_mpr_init(&r, buf, 1);
	assert_rc(hb_mpr_peek(&r), HB_EMSGPACK);
	for (int w = 0; w < R_COUNT; w++) {
		assert_rc(read_as(&r, w), HB_EMSGPACK);
		assert_ptr_equal(r.p, buf);
	}
	assert_rc(hb_mpr_skip(&r), HB_EMSGPACK);
	assert_rc(hb_mpr_check(buf, 1), HB_EMSGPACK);
	assert_rc(hb_mpr_check(nested, sizeof(nested)), HB_EMSGPACK);
}

static void test_lying_counts(void **state)
{
	static const struct {
		uint8_t len, bytes[8];
		int reader;
	} cases[] = {
		{5, {0xdd, 0xff, 0xff, 0xff, 0xff}, R_ARRAY},
		{5, {0xdf, 0xff, 0xff, 0xff, 0xff}, R_MAP},
		{5, {0xdb, 0xff, 0xff, 0xff, 0xff}, R_STR},
		{5, {0xc6, 0xff, 0xff, 0xff, 0xff}, R_BIN},
		{6, {0xc9, 0xff, 0xff, 0xff, 0xff, 0x01}, -1},
		/* n pairs need 2n bytes, not n. */
		{3, {0x82, 0x01, 0x02}, R_MAP},
		{5, {0xdc, 0x00, 0x03, 0xc0, 0xc0}, R_ARRAY},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *buf = t_dup(cases[i].bytes, cases[i].len);
		struct hb_mpr r;

		hb_mpr_init(&r, buf, cases[i].len);
		if (cases[i].reader >= 0)
			assert_rc(read_as(&r, cases[i].reader), HB_EMSGPACK);
		hb_mpr_init(&r, buf, cases[i].len);
		assert_rc(hb_mpr_skip(&r), HB_EMSGPACK);
		assert_rc(hb_mpr_check(buf, cases[i].len), HB_EMSGPACK);
	}
}

/*
 * depth containers, each holding the next; the innermost is empty or
 * holds 42. Returned as a t_dup() buffer.
 */
static uint8_t *nest(size_t depth, bool map, bool empty_inner, size_t *len)
{
	static uint8_t buf[2 * 100000 + 2];
	uint8_t *p = buf;

	assert_true(depth <= 100000);
	for (size_t i = 0; i + 1 < depth; i++) {
		if (map)
			*p++ = 0x81, *p++ = 0x00; /* {0: ...} */
		else
			*p++ = 0x91; /* [...] */
	}
	if (empty_inner) {
		*p++ = map ? 0x80 : 0x90;
	} else {
		if (map)
			*p++ = 0x81, *p++ = 0x00;
		else
			*p++ = 0x91;
		*p++ = 0x2a;
	}
	*len = (size_t)(p - buf);
	return t_dup(buf, *len);
}

static void depth_case(size_t depth, bool map, bool empty, int want)
{
	size_t len;
	uint8_t *buf = nest(depth, map, empty, &len);
	struct hb_mpr r;

	hb_mpr_init(&r, buf, len);
	assert_rc(hb_mpr_skip(&r), want);
	if (want == 0)
		assert_int_equal(hb_mpr_left(&r), 0);
	assert_rc(hb_mpr_check(buf, len), want);
}

static void test_skip_depth_limit(void **state)
{
	for (int map = 0; map <= 1; map++) {
		depth_case(1, map, false, 0);
		depth_case(HB_MPR_MAX_DEPTH, map, false, 0);
		depth_case(HB_MPR_MAX_DEPTH + 1, map, false, HB_EMSGPACK);
		depth_case(100000, map, false, HB_EMSGPACK);
	}
}

/* The limit counts containers, empty or not. */
static void test_skip_depth_limit_empty_innermost(void **state)
{
	for (int map = 0; map <= 1; map++) {
		depth_case(HB_MPR_MAX_DEPTH, map, true, 0);
		depth_case(HB_MPR_MAX_DEPTH + 1, map, true, HB_EMSGPACK);
	}
}

static void test_skip_mixed_structure(void **state)
{
	static const uint8_t v[] = {
		0x83, 0xa1, 'a', 0x93, 0xc0, 0xc3, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0,
		0xa1, 'b', 0x82, 0x01, 0xc4, 0x01, 0xff, 0xd6, 0x05, 1, 2, 3, 4,
		0x91, 0x80,
		0xa1, 'c', 0xd0, 0x80,
		0x2a}; /* a second value: skip must stop before it */
	struct hb_mpr r;
	uint64_t u;

	hb_mpr_init(&r, v, sizeof(v));
	assert_rc(hb_mpr_skip(&r), 0);
	assert_int_equal(hb_mpr_left(&r), 1);
	assert_rc(hb_mpr_uint(&r, &u), 0);
	assert_int_equal(u, 42);
	assert_rc(hb_mpr_check(v, sizeof(v) - 1), 0);
}

static void test_check_rejects_trailing_bytes(void **state)
{
	static const uint8_t one[] = {0x81, 0xa1, 'k', 0xc0, 0xc0};

	assert_rc(hb_mpr_check(one, 4), 0);
	assert_rc(hb_mpr_check(one, 5), HB_EMSGPACK);
	assert_rc(hb_mpr_check(one + 3, 2), HB_EMSGPACK);
	assert_rc(hb_mpr_check(one, 0), HB_EMSGPACK);
}

static void test_streq(void **state)
{
	assert_true(hb_mpr_streq("abc", 3, "abc"));
	assert_false(hb_mpr_streq("abc", 2, "abc"));
	assert_false(hb_mpr_streq("abcd", 4, "abc"));
	assert_false(hb_mpr_streq("abd", 3, "abc"));
	assert_true(hb_mpr_streq("", 0, ""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uint_forms),
		cmocka_unit_test(test_negative_forms),
		cmocka_unit_test(test_floats),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_bins),
		cmocka_unit_test(test_arrays),
		cmocka_unit_test(test_maps),
		cmocka_unit_test(test_nil_and_bools),
		cmocka_unit_test(test_ext),
		cmocka_unit_test(test_type_mismatch_keeps_cursor),
		cmocka_unit_test(test_forms_are_well_formed),
		cmocka_unit_test(test_truncation_of_every_form),
		cmocka_unit_test(test_c1_is_never_valid),
		cmocka_unit_test(test_lying_counts),
		cmocka_unit_test(test_skip_depth_limit),
		cmocka_unit_test(test_skip_depth_limit_empty_innermost),
		cmocka_unit_test(test_skip_mixed_structure),
		cmocka_unit_test(test_check_rejects_trailing_bytes),
		cmocka_unit_test(test_streq),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
