/*
 * hb_json: exact JSON text for every msgpack type (inputs packed with
 * msgpack-c, or written byte by byte for encodings msgpack-c never
 * chooses), the depth boundary shared with hb_mpr_check(), and errors
 * that leave the output as it was. Inputs are copied into buffers of
 * exactly their size so that AddressSanitizer sees any overread.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "hb_error.h"
#include "hb_json.h"
#include "hb_mpr.h"

#define FFFD "\xef\xbf\xbd"

/* A msgpack-c packer writing into its own growing buffer. */
struct pk {
	msgpack_sbuffer sb;
	msgpack_packer p;
};

static void pk_init(struct pk *k)
{
	msgpack_sbuffer_init(&k->sb);
	msgpack_packer_init(&k->p, &k->sb, msgpack_sbuffer_write);
}

static void pack_s(msgpack_packer *p, const char *s, size_t n)
{
	assert_int_equal(msgpack_pack_str_with_body(p, s, n), 0);
}

static void pack_ext(msgpack_packer *p, int8_t type, const void *b, size_t n)
{
	assert_int_equal(msgpack_pack_ext_with_body(p, b, n, type), 0);
}

/* Converts a copy of in[0..n) into out; the copy has no slack. */
static int convert(const void *in, size_t n, struct hb_buf *out)
{
	uint8_t *copy = n ? malloc(n) : NULL;
	int rc;

	if (n) {
		assert_non_null(copy);
		memcpy(copy, in, n);
	}
	rc = hb_json_from_msgpack(copy, n, out);
	free(copy);
	return rc;
}

static void expect_bytes(const void *in, size_t n, const char *want)
{
	struct hb_buf out;

	hb_buf_init(&out);
	assert_int_equal(convert(in, n, &out), 0);
	assert_string_equal(out.data, want);
	assert_int_equal(out.len, strlen(want));
	/* Whatever converts is what the reader accepts, and vice versa. */
	assert_int_equal(hb_mpr_check(in, n), 0);
	hb_buf_free(&out);
}

/* Checks the packed value's JSON, then empties the packer. */
static void expect(struct pk *k, const char *want)
{
	expect_bytes(k->sb.data, k->sb.size, want);
	msgpack_sbuffer_clear(&k->sb);
}

/* Returns the error converting in[0..n) gives, checking out kept "pre". */
static int reject_bytes(const void *in, size_t n)
{
	struct hb_buf out;
	int rc;

	hb_buf_init(&out);
	assert_int_equal(hb_json_append_str(&out, "pre", 3), 0);
	rc = convert(in, n, &out);
	assert_int_not_equal(rc, 0);
	assert_string_equal(out.data, "\"pre\"");
	assert_int_equal(out.len, 5);
	hb_buf_free(&out);
	return rc;
}

static int reject(struct pk *k)
{
	int rc = reject_bytes(k->sb.data, k->sb.size);

	msgpack_sbuffer_clear(&k->sb);
	return rc;
}

static void test_buf(void **state)
{
	struct hb_buf b;

	hb_buf_init(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	hb_buf_reset(&b); /* harmless before any memory */
	assert_int_equal(hb_json_append_str(&b, NULL, 0), 0);
	assert_string_equal(b.data, "\"\"");
	hb_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	assert_int_equal(hb_json_append_str(&b, "a\0b", 3), 0);
	assert_int_equal(hb_json_append_str(&b, "c", 1), 0);
	assert_string_equal(b.data, "\"a\\u0000b\"\"c\"");
	hb_buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
}

static void test_scalars(void **state)
{
	struct pk k;

	pk_init(&k);
	msgpack_pack_nil(&k.p);
	expect(&k, "null");
	msgpack_pack_true(&k.p);
	expect(&k, "true");
	msgpack_pack_false(&k.p);
	expect(&k, "false");
	msgpack_pack_array(&k.p, 19);
	msgpack_pack_uint64(&k.p, 0);
	msgpack_pack_uint64(&k.p, 127);
	msgpack_pack_uint64(&k.p, 128);
	msgpack_pack_uint64(&k.p, 255);
	msgpack_pack_uint64(&k.p, 256);
	msgpack_pack_uint64(&k.p, 65536);
	msgpack_pack_uint64(&k.p, 4294967296);
	msgpack_pack_int64(&k.p, -1);
	msgpack_pack_int64(&k.p, -32);
	msgpack_pack_int64(&k.p, -33);
	msgpack_pack_int64(&k.p, -128);
	msgpack_pack_int64(&k.p, -129);
	msgpack_pack_int64(&k.p, -32769);
	msgpack_pack_int64(&k.p, -2147483649);
	msgpack_pack_int64(&k.p, INT64_MIN);
	msgpack_pack_int64(&k.p, INT64_MAX);
	msgpack_pack_uint64(&k.p, UINT64_MAX);
	msgpack_pack_uint64(&k.p, (uint64_t)INT64_MAX + 1);
	msgpack_pack_int64(&k.p, INT64_MIN + 1);
	expect(&k, "[0,127,128,255,256,65536,4294967296,-1,-32,-33,-128,"
		   "-129,-32769,-2147483649,-9223372036854775808,"
		   "9223372036854775807,18446744073709551615,"
		   "9223372036854775808,-9223372036854775807]");
	msgpack_sbuffer_destroy(&k.sb);
}

/* Encodings msgpack-c does not choose but a peer may send. */
static void test_int_encodings(void **state)
{
	static const uint8_t d0[] = {0xd0, 0x05};
	static const uint8_t d3[] = {0xd3, 0, 0, 0, 0, 0, 0, 0, 0x01};
	static const uint8_t cf[] = {0xcf, 0, 0, 0, 0, 0, 0, 0, 0x2a};
	static const uint8_t d1[] = {0xd1, 0xff, 0x00};
	static const uint8_t cc[] = {0xcc, 0x00};

	expect_bytes(d0, sizeof(d0), "5");
	expect_bytes(d3, sizeof(d3), "1");
	expect_bytes(cf, sizeof(cf), "42");
	expect_bytes(d1, sizeof(d1), "-256");
	expect_bytes(cc, sizeof(cc), "0");
}

static void test_doubles(void **state)
{
	static const struct {
		double d;
		const char *want;
	} t[] = {
		{1.5, "1.5"},
		{0.1, "0.1"},
		{1.0, "1.0"},
		{-0.0, "-0.0"},
		{-2.0, "-2.0"},
		{0.1 + 0.2, "0.30000000000000004"},
		{1e300, "1e+300"},
		{1e-7, "1e-07"},
		{123456789012345678.0, "1.2345678901234568e+17"},
		{1.7976931348623157e308, "1.7976931348623157e+308"},
		{4.9406564584124654e-324, "4.94065645841247e-324"},
		{NAN, "null"},
		{INFINITY, "null"},
		{-INFINITY, "null"},
	};
	struct pk k;

	pk_init(&k);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		msgpack_pack_double(&k.p, t[i].d);
		expect(&k, t[i].want);
	}
	msgpack_sbuffer_destroy(&k.sb);
}

static void test_floats(void **state)
{
	static const struct {
		float f;
		const char *want;
	} t[] = {
		{0.1f, "0.1"},
		{1.5f, "1.5"},
		{16777216.0f, "16777216.0"},
		{3.4028235e38f, "3.40282347e+38"},
		{1e-45f, "1.401298e-45"}, /* reads back as the same float */
		{NAN, "null"},
		{-INFINITY, "null"},
	};
	struct pk k;

	pk_init(&k);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		msgpack_pack_float(&k.p, t[i].f);
		assert_int_equal((uint8_t)k.sb.data[0], 0xca);
		expect(&k, t[i].want);
	}
	msgpack_sbuffer_destroy(&k.sb);
}

static void test_strings(void **state)
{
	static const struct {
		const char *in;
		size_t n;
		const char *want;
	} t[] = {
		{"", 0, "\"\""},
		{"hello", 5, "\"hello\""},
		{"\"\\/", 3, "\"\\\"\\\\/\""},
		{"\b\f\n\r\t", 5, "\"\\b\\f\\n\\r\\t\""},
		{"\x01\x1f\x7f", 3, "\"\\u0001\\u001f\x7f\""},
		{"a\0b", 3, "\"a\\u0000b\""},
		{"\xc3\xa9", 2, "\"\xc3\xa9\""},                 /* U+00E9 */
		{"\xe2\x82\xac", 3, "\"\xe2\x82\xac\""},         /* U+20AC */
		{"\xed\x9f\xbf", 3, "\"\xed\x9f\xbf\""},         /* U+D7FF */
		{"\xee\x80\x80", 3, "\"\xee\x80\x80\""},         /* U+E000 */
		{"\xef\xbf\xbf", 3, "\"\xef\xbf\xbf\""},         /* U+FFFF */
		{"\xf0\x9d\x84\x9e", 4, "\"\xf0\x9d\x84\x9e\""}, /* U+1D11E */
		{"\xf4\x8f\xbf\xbf", 4, "\"\xf4\x8f\xbf\xbf\""}, /* U+10FFFF */
		{"\xe2\x80\xa8", 3, "\"\xe2\x80\xa8\""},         /* U+2028 */
	};
	struct pk k;

	pk_init(&k);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		pack_s(&k.p, t[i].in, t[i].n);
		expect(&k, t[i].want);
	}
	msgpack_sbuffer_destroy(&k.sb);
}

/* Each byte outside a valid sequence becomes one U+FFFD. */
static void test_utf8_invalid(void **state)
{
	static const struct {
		const char *in;
		size_t n;
		const char *want;
	} t[] = {
		{"\x80", 1, "\"" FFFD "\""},              /* stray continuation */
		{"a\xbf" "b", 3, "\"a" FFFD "b\""},
		{"\xc0\x80", 2, "\"" FFFD FFFD "\""},     /* overlong NUL */
		{"\xc1\xbf", 2, "\"" FFFD FFFD "\""},     /* overlong */
		{"\xe0\x80\x80", 3, "\"" FFFD FFFD FFFD "\""},
		{"\xe0\x9f\xbf", 3, "\"" FFFD FFFD FFFD "\""},
		{"\xf0\x80\x80\x80", 4, "\"" FFFD FFFD FFFD FFFD "\""},
		{"\xf0\x8f\xbf\xbf", 4, "\"" FFFD FFFD FFFD FFFD "\""},
		{"\xed\xa0\x80", 3, "\"" FFFD FFFD FFFD "\""}, /* U+D800 */
		{"\xed\xbf\xbf", 3, "\"" FFFD FFFD FFFD "\""}, /* U+DFFF */
		{"\xf4\x90\x80\x80", 4, "\"" FFFD FFFD FFFD FFFD "\""},
		{"\xf5\x80\x80\x80", 4, "\"" FFFD FFFD FFFD FFFD "\""},
		{"\xfe\xff", 2, "\"" FFFD FFFD "\""},
		{"\xe2\x82", 2, "\"" FFFD FFFD "\""},     /* cut at the end */
		{"\xe2\x82" "A", 3, "\"" FFFD FFFD "A\""},
		{"\xf0\x9d\x84" "\"", 4, "\"" FFFD FFFD FFFD "\\\"\""},
		{"\xc3\xa9\xc3", 3, "\"\xc3\xa9" FFFD "\""},
		{"\xc3\x00", 2, "\"" FFFD "\\u0000\""},
	};
	struct pk k;

	pk_init(&k);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		pack_s(&k.p, t[i].in, t[i].n);
		expect(&k, t[i].want);
	}
	msgpack_sbuffer_destroy(&k.sb);
}

/* str 8/16/32 heads and long runs copied in one piece. */
static void test_long_strings(void **state)
{
	static const size_t sizes[] = {31, 32, 255, 256, 65535, 65536};
	struct pk k;

	pk_init(&k);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		char *s = malloc(n), *want = malloc(n + 4);

		assert_non_null(s);
		assert_non_null(want);
		memset(s, 'x', n);
		s[n / 2] = '\n';
		want[0] = '"';
		memcpy(want + 1, s, n / 2);
		memcpy(want + 1 + n / 2, "\\n", 2);
		memcpy(want + 3 + n / 2, s, n - n / 2 - 1);
		memcpy(want + 2 + n, "\"", 2);
		pack_s(&k.p, s, n);
		expect(&k, want);
		free(s);
		free(want);
	}
	msgpack_sbuffer_destroy(&k.sb);
}

static void test_bin(void **state)
{
	static const struct {
		const char *in;
		size_t n;
		const char *want;
	} t[] = {
		{"", 0, "\"\""},
		{"f", 1, "\"Zg==\""},
		{"fo", 2, "\"Zm8=\""},
		{"foo", 3, "\"Zm9v\""},
		{"\x00\x01\x02", 3, "\"AAEC\""},
		{"\xfb\xff", 2, "\"+/8=\""},
	};
	static const uint8_t bin16[] = {0xc5, 0x00, 0x01, 0xff};
	static const uint8_t bin32[] = {0xc6, 0, 0, 0, 2, 'h', 'i'};
	struct pk k;

	pk_init(&k);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		msgpack_pack_bin_with_body(&k.p, t[i].in, t[i].n);
		expect(&k, t[i].want);
	}
	msgpack_sbuffer_destroy(&k.sb);
	expect_bytes(bin16, sizeof(bin16), "\"/w==\"");
	expect_bytes(bin32, sizeof(bin32), "\"aGk=\"");
}

static void test_ext(void **state)
{
	static const uint8_t ext8_empty[] = {0xc7, 0x00, 0x05};
	static const uint8_t ext16[] = {0xc8, 0x00, 0x02, 0x07, 'h', 'i'};
	static const uint8_t ext32[] = {0xc9, 0, 0, 0, 1, 0x80, 0xff};
	static const uint8_t bad[][6] = {
		{0xc7},                   /* no length */
		{0xc7, 0x05},             /* no type */
		{0xc7, 0x01, 0x01},       /* no data */
		{0xc8, 0x00, 0x03, 0x01, 'a', 'b'},
		{0xd4, 0x01},             /* fixext 1 without its byte */
		{0xd8, 0x01, 0, 0, 0, 0}, /* fixext 16 with 4 */
	};
	static const size_t bad_len[] = {1, 2, 3, 6, 2, 6};
	struct pk k;

	pk_init(&k);
	pack_ext(&k.p, 5, "\x01", 1);
	expect(&k, "{\"ext\":5,\"data\":\"AQ==\"}");
	pack_ext(&k.p, -1, "ab", 2);
	expect(&k, "{\"ext\":-1,\"data\":\"YWI=\"}");
	pack_ext(&k.p, 127, "abcd", 4);
	expect(&k, "{\"ext\":127,\"data\":\"YWJjZA==\"}");
	pack_ext(&k.p, 0, "abcdefgh", 8);
	expect(&k, "{\"ext\":0,\"data\":\"YWJjZGVmZ2g=\"}");
	pack_ext(&k.p, 1, "0123456789abcdef", 16);
	assert_int_equal((uint8_t)k.sb.data[0], 0xd8);
	expect(&k, "{\"ext\":1,\"data\":\"MDEyMzQ1Njc4OWFiY2RlZg==\"}");
	pack_ext(&k.p, -128, "abc", 3);
	assert_int_equal((uint8_t)k.sb.data[0], 0xc7);
	expect(&k, "{\"ext\":-128,\"data\":\"YWJj\"}");
	msgpack_sbuffer_destroy(&k.sb);
	expect_bytes(ext8_empty, sizeof(ext8_empty),
		     "{\"ext\":5,\"data\":\"\"}");
	expect_bytes(ext16, sizeof(ext16), "{\"ext\":7,\"data\":\"aGk=\"}");
	expect_bytes(ext32, sizeof(ext32),
		     "{\"ext\":-128,\"data\":\"/w==\"}");
	for (size_t i = 0; i < sizeof(bad_len) / sizeof(bad_len[0]); i++)
		assert_int_equal(reject_bytes(bad[i], bad_len[i]), HB_EMSGPACK);
}

static void test_containers(void **state)
{
	struct pk k;

	pk_init(&k);
	msgpack_pack_array(&k.p, 0);
	expect(&k, "[]");
	msgpack_pack_map(&k.p, 0);
	expect(&k, "{}");
	/* [1,"a",[null,true],{"k":{"x":[]}},{}] */
	msgpack_pack_array(&k.p, 5);
	msgpack_pack_int(&k.p, 1);
	pack_s(&k.p, "a", 1);
	msgpack_pack_array(&k.p, 2);
	msgpack_pack_nil(&k.p);
	msgpack_pack_true(&k.p);
	msgpack_pack_map(&k.p, 1);
	pack_s(&k.p, "k", 1);
	msgpack_pack_map(&k.p, 1);
	pack_s(&k.p, "x", 1);
	msgpack_pack_array(&k.p, 0);
	msgpack_pack_map(&k.p, 0);
	expect(&k, "[1,\"a\",[null,true],{\"k\":{\"x\":[]}},{}]");
	/* array 16 and map 16, duplicate keys kept */
	msgpack_pack_array(&k.p, 16);
	for (int i = 0; i < 16; i++)
		msgpack_pack_int(&k.p, i);
	expect(&k, "[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]");
	msgpack_pack_map(&k.p, 16);
	for (int i = 0; i < 16; i++) {
		pack_s(&k.p, "d", 1);
		msgpack_pack_int(&k.p, i);
	}
	expect(&k, "{\"d\":0,\"d\":1,\"d\":2,\"d\":3,\"d\":4,\"d\":5,\"d\":6,"
		   "\"d\":7,\"d\":8,\"d\":9,\"d\":10,\"d\":11,\"d\":12,"
		   "\"d\":13,\"d\":14,\"d\":15}");
	msgpack_sbuffer_destroy(&k.sb);
}

static void test_map_keys(void **state)
{
	struct pk k;

	pk_init(&k);
	msgpack_pack_map(&k.p, 11);
	msgpack_pack_int(&k.p, 1);
	pack_s(&k.p, "a", 1);
	msgpack_pack_int(&k.p, -2);
	pack_s(&k.p, "b", 1);
	msgpack_pack_nil(&k.p);
	msgpack_pack_int(&k.p, 1);
	msgpack_pack_true(&k.p);
	msgpack_pack_int(&k.p, 2);
	msgpack_pack_double(&k.p, 1.5);
	msgpack_pack_int(&k.p, 3);
	msgpack_pack_array(&k.p, 2);
	msgpack_pack_int(&k.p, 1);
	msgpack_pack_int(&k.p, 2);
	msgpack_pack_int(&k.p, 4);
	msgpack_pack_map(&k.p, 1);
	pack_s(&k.p, "a", 1);
	msgpack_pack_int(&k.p, 1);
	msgpack_pack_int(&k.p, 5);
	msgpack_pack_bin_with_body(&k.p, "\0", 1);
	msgpack_pack_int(&k.p, 6);
	pack_ext(&k.p, 1, "\x01", 1);
	msgpack_pack_int(&k.p, 7);
	pack_s(&k.p, "q\"\\\n", 4);
	msgpack_pack_int(&k.p, 8);
	pack_s(&k.p, "\xff", 1);
	msgpack_pack_int(&k.p, 9);
	expect(&k, "{\"1\":\"a\",\"-2\":\"b\",\"null\":1,\"true\":2,"
		   "\"1.5\":3,\"[1,2]\":4,\"{\\\"a\\\":1}\":5,\"AA==\":6,"
		   "\"{\\\"ext\\\":1,\\\"data\\\":\\\"AQ==\\\"}\":7,"
		   "\"q\\\"\\\\\\n\":8,\"" FFFD "\":9}");
	msgpack_sbuffer_destroy(&k.sb);
}

/* Maps whose key is a map, n deep: {{{1:nil}:nil}:nil} for n = 3. */
static void pack_key_nest(struct pk *k, int n)
{
	for (int i = 0; i < n; i++)
		msgpack_pack_map(&k->p, 1);
	msgpack_pack_int(&k->p, 1);
	for (int i = 0; i < n; i++)
		msgpack_pack_nil(&k->p);
}

/* Each level escapes the one inside it again. */
static void test_nested_keys(void **state)
{
	struct pk k;

	pk_init(&k);
	pack_key_nest(&k, 1);
	expect(&k, "{\"1\":null}");
	pack_key_nest(&k, 2);
	expect(&k, "{\"{\\\"1\\\":null}\":null}");
	pack_key_nest(&k, 3);
	expect(&k, "{\"{\\\"{\\\\\\\"1\\\\\\\":null}\\\":null}\":null}");
	/*
	 * Backslashes double per level: a key's text is capped, so a tiny
	 * datagram cannot make megabytes of JSON (found by fuzzing).
	 */
	pack_key_nest(&k, 12);
	assert_int_equal(hb_mpr_check((uint8_t *)k.sb.data, k.sb.size), 0);
	assert_int_equal(reject(&k), HB_ELIMIT);
	pack_key_nest(&k, HB_MPR_MAX_DEPTH);
	assert_int_equal(hb_mpr_check((uint8_t *)k.sb.data, k.sb.size), 0);
	assert_int_equal(reject(&k), HB_ELIMIT);
	/* The depth check comes first, at the innermost level. */
	pack_key_nest(&k, HB_MPR_MAX_DEPTH + 1);
	assert_int_equal(reject(&k), HB_EMSGPACK);
	msgpack_sbuffer_destroy(&k.sb);
}

/*
 * n arrays (or maps) nested, the innermost holding `inner` zeros (or one
 * pair "":0). Writes the expected JSON to want (size >= 8n + 16).
 */
static void pack_nest(struct pk *k, int n, bool map, int inner, char *want)
{
	char *w = want;

	for (int i = 0; i < n; i++) {
		bool last = i == n - 1;

		if (map) {
			msgpack_pack_map(&k->p, last ? inner : 1);
			w += sprintf(w, "{");
		} else {
			msgpack_pack_array(&k->p, last ? inner : 1);
			w += sprintf(w, "[");
		}
		if (map && (!last || inner)) {
			pack_s(&k->p, "", 0);
			w += sprintf(w, "\"\":");
		}
	}
	if (inner) {
		msgpack_pack_int(&k->p, 0);
		w += sprintf(w, "0");
	}
	for (int i = 0; i < n; i++)
		w += sprintf(w, map ? "}" : "]");
}

static void check_nest(int n, bool map, int inner, int want_rc)
{
	char *want = malloc(8 * (size_t)n + 16);
	struct pk k;

	assert_non_null(want);
	pk_init(&k);
	pack_nest(&k, n, map, inner, want);
	assert_int_equal(hb_mpr_check((uint8_t *)k.sb.data, k.sb.size),
			 want_rc);
	if (want_rc)
		assert_int_equal(reject(&k), want_rc);
	else
		expect(&k, want);
	msgpack_sbuffer_destroy(&k.sb);
	free(want);
}

/*
 * As hb_mpr_skip(): HB_MPR_MAX_DEPTH containers holding items nest; one
 * more level is accepted only when it is empty (it holds nothing that
 * would be one level deeper).
 */
static void test_depth(void **state)
{
	for (int map = 0; map < 2; map++) {
		check_nest(1, map, 1, 0);
		check_nest(HB_MPR_MAX_DEPTH - 1, map, 1, 0);
		check_nest(HB_MPR_MAX_DEPTH, map, 1, 0);
		check_nest(HB_MPR_MAX_DEPTH + 1, map, 1, HB_EMSGPACK);
		check_nest(HB_MPR_MAX_DEPTH, map, 0, 0);
		check_nest(HB_MPR_MAX_DEPTH + 1, map, 0, HB_EMSGPACK);
		check_nest(100, map, 1, HB_EMSGPACK);
	}
}

/* A value holding every type; its prefixes are all incomplete. */
static void pack_complex(struct pk *k)
{
	msgpack_pack_map(&k->p, 8);
	pack_s(&k->p, "host", 4);
	pack_s(&k->p, "h\xc3\xa9\xff\n", 5);
	pack_s(&k->p, "n", 1);
	msgpack_pack_array(&k->p, 4);
	msgpack_pack_int64(&k->p, INT64_MIN);
	msgpack_pack_uint64(&k->p, UINT64_MAX);
	msgpack_pack_double(&k->p, 0.25);
	msgpack_pack_float(&k->p, 2.5f);
	msgpack_pack_int(&k->p, 300);
	msgpack_pack_bin_with_body(&k->p, "\x01\x02\x03\x04", 4);
	pack_s(&k->p, "e", 1);
	pack_ext(&k->p, 9, "xyz", 3);
	msgpack_pack_array(&k->p, 2);
	msgpack_pack_true(&k->p);
	msgpack_pack_false(&k->p);
	pack_s(&k->p, "deep", 4);
	msgpack_pack_map(&k->p, 1);
	pack_s(&k->p, "x", 1);
	msgpack_pack_array(&k->p, 1);
	msgpack_pack_nil(&k->p);
	pack_ext(&k->p, -3, "12345678", 8);
	pack_s(&k->p, "nan", 3);
	msgpack_pack_double(&k->p, NAN);
	pack_s(&k->p, "", 0);
	msgpack_pack_map(&k->p, 0);
}

static void test_truncated(void **state)
{
	struct pk k;

	pk_init(&k);
	pack_complex(&k);
	expect_bytes(k.sb.data, k.sb.size,
		     "{\"host\":\"h\xc3\xa9" FFFD "\\n\","
		     "\"n\":[-9223372036854775808,18446744073709551615,0.25,"
		     "2.5],\"300\":\"AQIDBA==\","
		     "\"e\":{\"ext\":9,\"data\":\"eHl6\"},"
		     "\"[true,false]\":\"deep\",\"{\\\"x\\\":[null]}\":"
		     "{\"ext\":-3,\"data\":\"MTIzNDU2Nzg=\"},"
		     "\"nan\":null,\"\":{}}");
	for (size_t n = 0; n < k.sb.size; n++)
		assert_int_equal(reject_bytes(k.sb.data, n), HB_EMSGPACK);
	msgpack_sbuffer_destroy(&k.sb);
}

static void test_malformed(void **state)
{
	static const uint8_t c1[] = {0xc1};
	static const uint8_t c1_in[] = {0x91, 0xc1};
	static const uint8_t two[] = {0xc0, 0xc0};
	static const uint8_t arr_lie[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01};
	static const uint8_t map_lie[] = {0xdf, 0x00, 0x00, 0x00, 0x02, 1, 1};
	static const uint8_t str_lie[] = {0xdb, 0xff, 0xff, 0xff, 0xff, 'a'};
	struct pk k;

	assert_int_equal(reject_bytes(NULL, 0), HB_EMSGPACK);
	assert_int_equal(reject_bytes(c1, sizeof(c1)), HB_EMSGPACK);
	assert_int_equal(reject_bytes(c1_in, sizeof(c1_in)), HB_EMSGPACK);
	assert_int_equal(reject_bytes(two, sizeof(two)), HB_EMSGPACK);
	assert_int_equal(reject_bytes(arr_lie, sizeof(arr_lie)), HB_EMSGPACK);
	assert_int_equal(reject_bytes(map_lie, sizeof(map_lie)), HB_EMSGPACK);
	assert_int_equal(reject_bytes(str_lie, sizeof(str_lie)), HB_EMSGPACK);
	/* A complete value followed by anything is rejected. */
	pk_init(&k);
	pack_complex(&k);
	msgpack_pack_nil(&k.p);
	assert_int_equal(reject(&k), HB_EMSGPACK);
	msgpack_pack_map(&k.p, 0);
	msgpack_pack_int(&k.p, 0);
	assert_int_equal(reject(&k), HB_EMSGPACK);
	msgpack_sbuffer_destroy(&k.sb);
}

static void test_appends(void **state)
{
	static const uint8_t one[] = {0x91, 0x01};
	static const uint8_t cut[] = {0x92, 0x01};
	struct hb_buf out;

	hb_buf_init(&out);
	assert_int_equal(hb_json_from_msgpack(cut, sizeof(cut), &out),
			 HB_EMSGPACK);
	assert_int_equal(out.len, 0);
	assert_int_equal(hb_json_from_msgpack(one, sizeof(one), &out), 0);
	assert_int_equal(hb_json_from_msgpack(one, sizeof(one), &out), 0);
	assert_string_equal(out.data, "[1][1]");
	assert_int_equal(hb_json_from_msgpack(cut, sizeof(cut), &out),
			 HB_EMSGPACK);
	assert_string_equal(out.data, "[1][1]");
	assert_int_equal(out.len, 6);
	hb_buf_reset(&out);
	assert_int_equal(hb_json_from_msgpack(one, sizeof(one), &out), 0);
	assert_string_equal(out.data, "[1]");
	hb_buf_free(&out);
}

/* Output of exactly HB_JSON_MAX_OUT bytes is fine, one more is not. */
static void test_limit(void **state)
{
	size_t n = HB_JSON_MAX_OUT - 2; /* plus the quotes */
	char *s = malloc(n + 1);
	struct hb_buf out;
	struct pk k;

	assert_non_null(s);
	memset(s, 'a', n + 1);
	pk_init(&k);
	hb_buf_init(&out);
	pack_s(&k.p, s, n);
	assert_int_equal(hb_json_from_msgpack((uint8_t *)k.sb.data, k.sb.size,
					      &out), 0);
	assert_int_equal(out.len, HB_JSON_MAX_OUT);
	assert_int_equal(out.data[out.len], '\0');
	hb_buf_reset(&out);
	msgpack_sbuffer_clear(&k.sb);
	pack_s(&k.p, s, n + 1);
	assert_int_equal(reject(&k), HB_ELIMIT);
	/* 3 MiB of control characters escape to 18 MiB. */
	memset(s, '\x01', 3 << 20);
	pack_s(&k.p, s, 3 << 20);
	assert_int_equal(reject(&k), HB_ELIMIT);
	/* The cap counts what the buffer held before. */
	assert_int_equal(hb_json_append_str(&out, s, 3 << 20), HB_ELIMIT);
	assert_int_equal(out.len, 0);
	assert_int_equal(hb_json_append_str(&out, s, 1 << 20), 0);
	msgpack_pack_bin_with_body(&k.p, s, 9 << 20); /* 12 MiB of base64 */
	assert_int_equal(hb_json_from_msgpack((uint8_t *)k.sb.data, k.sb.size,
					      &out), HB_ELIMIT);
	assert_int_equal(out.len, 2 + (6 << 20));
	msgpack_sbuffer_destroy(&k.sb);
	hb_buf_free(&out);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf),
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_int_encodings),
		cmocka_unit_test(test_doubles),
		cmocka_unit_test(test_floats),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_utf8_invalid),
		cmocka_unit_test(test_long_strings),
		cmocka_unit_test(test_bin),
		cmocka_unit_test(test_ext),
		cmocka_unit_test(test_containers),
		cmocka_unit_test(test_map_keys),
		cmocka_unit_test(test_nested_keys),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_appends),
		cmocka_unit_test(test_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
