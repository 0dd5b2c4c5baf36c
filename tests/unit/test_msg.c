/*
 * test_msg: the HTB, ACK, PLG and BYE bodies. Encode/decode round trips
 * with every optional field and with none; decoders against crafted
 * bodies (unknown keys, duplicates, missing and mistyped fields, ranges,
 * limits, non-map bodies, trailing bytes, truncation); encoder argument
 * checks and HB_ENOSPC; the Info digest against an independent
 * computation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <msgpack.h>

#include "hb_test.h"

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

static void ps(const char *s)
{
	msgpack_pack_str(&pk, strlen(s));
	msgpack_pack_str_body(&pk, s, strlen(s));
}

static void pbin(size_t n)
{
	static const uint8_t z[64];

	msgpack_pack_bin(&pk, n);
	msgpack_pack_bin_body(&pk, z, n);
}

/* Valid and invalid values, as packers. */
static void v_u1(void) { msgpack_pack_uint8(&pk, 1); }
static void v_u60(void) { msgpack_pack_uint32(&pk, 60); }
static void v_str(void) { ps("x"); }
static void v_bin16(void) { pbin(16); }
static void v_true(void) { msgpack_pack_true(&pk); }
static void v_load(void)
{
	msgpack_pack_array(&pk, 3);
	msgpack_pack_double(&pk, 0.5);
	msgpack_pack_int8(&pk, -2); /* integers are fine for doubles */
	msgpack_pack_uint8(&pk, 3);
}
static void v_labels(void)
{
	msgpack_pack_map(&pk, 1);
	ps("k");
	ps("v");
}
static void v_plugins(void)
{
	msgpack_pack_map(&pk, 1);
	ps("p");
	msgpack_pack_array(&pk, 2);
	msgpack_pack_uint8(&pk, 2);
	ps("m");
}
static void v_nested(void) /* {"a": [1, {"b": nil}, bin, ext], "c": -1} */
{
	msgpack_pack_map(&pk, 2);
	ps("a");
	msgpack_pack_array(&pk, 4);
	msgpack_pack_uint8(&pk, 1);
	msgpack_pack_map(&pk, 1);
	ps("b");
	msgpack_pack_nil(&pk);
	pbin(3);
	msgpack_pack_ext(&pk, 2, 7);
	msgpack_pack_ext_body(&pk, "xy", 2);
	ps("c");
	msgpack_pack_int8(&pk, -1);
}
static void w_nil(void) { msgpack_pack_nil(&pk); }
static void w_neg(void) { msgpack_pack_int8(&pk, -1); }
static void w_array(void) { msgpack_pack_array(&pk, 0); }
static void w_ext(void)
{
	msgpack_pack_ext(&pk, 1, 1);
	msgpack_pack_ext_body(&pk, "e", 1);
}
static void w_c1(void) { msgpack_sbuffer_write(&sb, "\xc1", 1); }

/* Decoders behind one signature; the last result stays in *_out. */
static struct hb_htb htb_out;
static struct hb_ack ack_out;
static struct hb_plg plg_out;
static struct hb_bye bye_out;
static int dec_htb(const uint8_t *b, size_t n)
{
	return hb_htb_decode(b, n, &htb_out);
}
static int dec_ack(const uint8_t *b, size_t n)
{
	return hb_ack_decode(b, n, &ack_out);
}
static int dec_plg(const uint8_t *b, size_t n)
{
	return hb_plg_decode(b, n, &plg_out);
}
static int dec_bye(const uint8_t *b, size_t n)
{
	return hb_bye_decode(b, n, &bye_out);
}

#define REQ 1 /* required */
#define ANY 2 /* any value is of the right type */
struct field {
	const char *key;
	unsigned flags;
	void (*valid)(void);
};
struct msgdef {
	const struct field *f;
	size_t n;
	int (*decode)(const uint8_t *b, size_t n);
};

static const struct field htb_fields[] = {
	{"interval", REQ, v_u60},     {"hostname", REQ, v_str},
	{"status", REQ, v_u1},        {"status_msg", 0, v_str},
	{"owner", 0, v_str},          {"version", 0, v_str},
	{"start_time", 0, v_u1},      {"uptime", 0, v_u1},
	{"boot_id", 0, v_bin16},      {"load", 0, v_load},
	{"info_digest", 0, v_bin16},  {"labels", 0, v_labels},
	{"plugins", 0, v_plugins},
};
static const struct field ack_fields[] = {
	{"ack_epoch", REQ, v_u1}, {"ack_seq", REQ, v_u1},
	{"request_update", 0, v_true}, {"interval", 0, v_u60},
};
static const struct field plg_fields[] = {
	{"plugin", REQ, v_str},  {"kind", REQ, v_u1},   {"time", REQ, v_u60},
	{"interval", 0, v_u60},  {"status", 0, v_u1},   {"message", 0, v_str},
	{"data", REQ | ANY, v_nested},
};
static const struct field bye_fields[] = {{"reason", 0, v_str}};

#define DEF(f, d) {f, sizeof(f) / sizeof(f[0]), d}
static const struct msgdef defs[] = {
	DEF(htb_fields, dec_htb), DEF(ack_fields, dec_ack),
	DEF(plg_fields, dec_plg), DEF(bye_fields, dec_bye),
};

/*
 * Packs a body of the required fields of d except `skip`, then `times`
 * pairs extra: value(). Returns the decoder's verdict on exactly it.
 */
static int craft(const struct msgdef *d, const char *skip, const char *extra,
		 void (*value)(void), int times)
{
	uint32_t n = (uint32_t)times;

	msgpack_sbuffer_clear(&sb);
	for (size_t i = 0; i < d->n; i++)
		n += (d->f[i].flags & REQ) && !(skip && !strcmp(d->f[i].key, skip));
	msgpack_pack_map(&pk, n);
	for (size_t i = 0; i < d->n; i++) {
		if ((d->f[i].flags & REQ) &&
		    !(skip && !strcmp(d->f[i].key, skip))) {
			ps(d->f[i].key);
			d->f[i].valid();
		}
	}
	for (int i = 0; i < times; i++) {
		ps(extra);
		value();
	}
	return d->decode(t_dup((uint8_t *)sb.data, sb.size), sb.size);
}

/* Decodes whatever was packed since the last clear. */
static int decode_sb(int (*decode)(const uint8_t *b, size_t n))
{
	return decode(t_dup((uint8_t *)sb.data, sb.size), sb.size);
}

static void test_round_trip_htb(void **state)
{
	static struct hb_htb in, out;
	uint8_t buf[4096];
	size_t len = 0;

	for (int full = 0; full <= 1; full++) {
		if (full)
			t_htb_full(&in);
		else
			t_htb_min(&in);
		assert_rc(hb_htb_encode(&in, buf, sizeof(buf), &len), 0);
		assert_rc(hb_htb_decode(t_dup(buf, len), len, &out), 0);
		t_htb_equal(&in, &out);
	}
}

static void test_round_trip_ack_plg_bye(void **state)
{
	struct hb_ack a, a2;
	struct hb_plg p, p2;
	struct hb_bye b, b2;
	uint8_t buf[1024];
	size_t len = 0;

	for (int full = 0; full <= 1; full++) {
		t_ack_min(&a);
		t_plg_min(&p);
		t_bye_min(&b);
		if (full) {
			t_ack_full(&a);
			t_plg_full(&p);
			t_bye_full(&b);
		}
		assert_rc(hb_ack_encode(&a, buf, sizeof(buf), &len), 0);
		assert_rc(hb_ack_decode(t_dup(buf, len), len, &a2), 0);
		t_ack_equal(&a, &a2);
		assert_rc(hb_plg_encode(&p, buf, sizeof(buf), &len), 0);
		assert_rc(hb_plg_decode(t_dup(buf, len), len, &p2), 0);
		t_plg_equal(&p, &p2);
		assert_rc(hb_bye_encode(&b, buf, sizeof(buf), &len), 0);
		assert_rc(hb_bye_decode(t_dup(buf, len), len, &b2), 0);
		t_bye_equal(&b, &b2);
	}
}

/* The key names and layout of docs/PROTOCOL.md, pinned on two bodies. */
static void test_encoding_pinned(void **state)
{
	static const uint8_t ack[] = {0x82, 0xa9, 'a', 'c', 'k', '_', 'e', 'p',
				      'o',  'c',  'h', 0x01, 0xa7, 'a', 'c', 'k',
				      '_',  's',  'e', 'q',  0x00};
	static const uint8_t bye[] = {0x81, 0xa6, 'r', 'e', 'a', 's', 'o', 'n',
				      0xa1, 'x'};
	struct hb_ack a;
	struct hb_bye b = {hb_str_c("x")};
	uint8_t buf[64];
	size_t len = 0;

	t_ack_min(&a);
	assert_rc(hb_ack_encode(&a, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, sizeof(ack));
	assert_memory_equal(buf, ack, len);
	assert_rc(hb_bye_encode(&b, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, sizeof(bye));
	assert_memory_equal(buf, bye, len);
	t_bye_min(&b);
	assert_rc(hb_bye_encode(&b, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 1);
	assert_int_equal(buf[0], 0x80);
}

static void test_every_field_alone_is_valid(void **state)
{
	for (size_t d = 0; d < 4; d++) {
		assert_rc(craft(&defs[d], NULL, "x", v_u1, 0), 0);
		for (size_t i = 0; i < defs[d].n; i++) {
			const struct field *f = &defs[d].f[i];

			assert_rc(craft(&defs[d], f->key, f->key, f->valid, 1),
				  0);
		}
	}
}

static void test_unknown_keys_ignored(void **state)
{
	for (size_t d = 0; d < 4; d++) {
		assert_rc(craft(&defs[d], NULL, "zz", v_nested, 2), 0);
		assert_rc(craft(&defs[d], NULL, "", w_nil, 1), 0);
		assert_rc(craft(&defs[d], NULL, "Interval", w_nil, 1), 0);
		/* An unknown key's value must still be well-formed. */
		assert_rc(craft(&defs[d], NULL, "zz", w_c1, 1), HB_EMSGPACK);
	}
}

static void test_duplicates_rejected(void **state)
{
	for (size_t d = 0; d < 4; d++) {
		for (size_t i = 0; i < defs[d].n; i++) {
			const struct field *f = &defs[d].f[i];

			assert_rc(craft(&defs[d], NULL, f->key, f->valid,
					(f->flags & REQ) ? 1 : 2),
				  HB_EFIELD);
		}
	}
}

static void test_missing_required(void **state)
{
	for (size_t d = 0; d < 4; d++)
		for (size_t i = 0; i < defs[d].n; i++)
			if (defs[d].f[i].flags & REQ)
				assert_rc(craft(&defs[d], defs[d].f[i].key, "x",
						v_u1, 0),
					  HB_EMISSING);
}

static void test_wrong_types(void **state)
{
	static void (*const wrong[])(void) = {w_nil, w_neg, w_array, w_ext};

	for (size_t d = 0; d < 4; d++) {
		for (size_t i = 0; i < defs[d].n; i++) {
			const struct field *f = &defs[d].f[i];

			if (f->flags & ANY)
				continue;
			for (size_t w = 0; w < 4; w++)
				assert_rc(craft(&defs[d], f->key, f->key,
						wrong[w], 1),
					  HB_EFIELD);
		}
	}
}

static uint64_t range_value;
static void v_range(void) { msgpack_pack_uint64(&pk, range_value); }

static void test_ranges(void **state)
{
	static const struct {
		int def;
		const char *key;
		uint64_t v;
		int want;
	} cases[] = {
		{0, "interval", 0, HB_EFIELD},    {0, "interval", 1, 0},
		{0, "interval", 86400, 0},        {0, "interval", 86401, HB_EFIELD},
		{0, "interval", (1ull << 32) + 60, HB_EFIELD},
		{0, "status", 3, 0},              {0, "status", 4, HB_EFIELD},
		{0, "status", 256, HB_EFIELD},
		{0, "start_time", UINT64_MAX, 0},
		{1, "interval", 0, HB_EFIELD},    {1, "interval", 86401, HB_EFIELD},
		{1, "ack_epoch", UINT32_MAX, 0},
		{1, "ack_epoch", 1ull << 32, HB_EFIELD},
		{1, "ack_seq", 1ull << 32, HB_EFIELD},
		{2, "kind", 1, 0},                {2, "kind", 2, HB_EFIELD},
		{2, "status", 4, HB_EFIELD},      {2, "interval", 0, 0},
		{2, "interval", 86401, HB_EFIELD},
		{2, "time", UINT64_MAX, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *key = cases[i].key;

		range_value = cases[i].v;
		assert_rc(craft(&defs[cases[i].def], key, key, v_range, 1),
			  cases[i].want);
	}
}

static void v_empty_str(void) { ps(""); }
static void v_bin15(void) { pbin(15); }
static void v_bin17(void) { pbin(17); }
static void v_load2(void)
{
	msgpack_pack_array(&pk, 2);
	msgpack_pack_uint8(&pk, 1);
	msgpack_pack_uint8(&pk, 1);
}
static void v_load_str(void)
{
	msgpack_pack_array(&pk, 3);
	ps("1");
	ps("2");
	ps("3");
}
static void v_label_int(void)
{
	msgpack_pack_map(&pk, 1);
	ps("k");
	msgpack_pack_uint8(&pk, 1);
}
static void v_plugin_short(void)
{
	msgpack_pack_map(&pk, 1);
	ps("p");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_uint8(&pk, 0);
}
static void v_plugin_status4(void)
{
	msgpack_pack_map(&pk, 1);
	ps("p");
	msgpack_pack_array(&pk, 2);
	msgpack_pack_uint8(&pk, 4);
	ps("m");
}

static void test_bad_shapes(void **state)
{
	const struct msgdef *h = &defs[0];

	assert_rc(craft(h, "hostname", "hostname", v_empty_str, 1), HB_EFIELD);
	assert_rc(craft(&defs[2], "plugin", "plugin", v_empty_str, 1),
		  HB_EFIELD);
	assert_rc(craft(h, NULL, "boot_id", v_bin15, 1), HB_EFIELD);
	assert_rc(craft(h, NULL, "info_digest", v_bin17, 1), HB_EFIELD);
	assert_rc(craft(h, NULL, "load", v_load2, 1), HB_EFIELD);
	assert_rc(craft(h, NULL, "load", v_load_str, 1), HB_EFIELD);
	assert_rc(craft(h, NULL, "labels", v_label_int, 1), HB_EFIELD);
	assert_rc(craft(h, NULL, "plugins", v_plugin_short, 1), HB_EFIELD);
	assert_rc(craft(h, NULL, "plugins", v_plugin_status4, 1), HB_EFIELD);
}

static uint32_t many;
static void v_many_labels(void)
{
	char k[16];

	msgpack_pack_map(&pk, many);
	for (uint32_t i = 0; i < many; i++) {
		snprintf(k, sizeof(k), "k%u", i);
		ps(k);
		ps("v");
	}
}
static void v_many_plugins(void)
{
	char k[16];

	msgpack_pack_map(&pk, many);
	for (uint32_t i = 0; i < many; i++) {
		snprintf(k, sizeof(k), "p%u", i);
		ps(k);
		msgpack_pack_array(&pk, 2);
		msgpack_pack_uint8(&pk, 0);
		ps("");
	}
}

static void test_limits(void **state)
{
	many = HB_HTB_MAX_LABELS;
	assert_rc(craft(&defs[0], NULL, "labels", v_many_labels, 1), 0);
	many++;
	assert_rc(craft(&defs[0], NULL, "labels", v_many_labels, 1), HB_ELIMIT);
	many = HB_HTB_MAX_PLUGINS;
	assert_rc(craft(&defs[0], NULL, "plugins", v_many_plugins, 1), 0);
	many++;
	assert_rc(craft(&defs[0], NULL, "plugins", v_many_plugins, 1),
		  HB_ELIMIT);
}

static void v_plugin_extra(void) /* {"disk": [2, "full", 9, {...}, "x"]} */
{
	msgpack_pack_map(&pk, 1);
	ps("disk");
	msgpack_pack_array(&pk, 5);
	msgpack_pack_uint8(&pk, 2);
	ps("full");
	msgpack_pack_uint8(&pk, 9);
	v_nested();
	ps("x");
}

static void test_plugin_status_extra_elements(void **state)
{
	assert_rc(craft(&defs[0], NULL, "plugins", v_plugin_extra, 1), 0);
	assert_int_equal(htb_out.n_plugins, 1);
	t_str_equal(htb_out.plugins[0].name, hb_str_c("disk"));
	assert_int_equal(htb_out.plugins[0].status, HB_STATUS_CRITICAL);
	t_str_equal(htb_out.plugins[0].message, hb_str_c("full"));
}

static void test_not_one_map(void **state)
{
	static const uint8_t bodies[][4] = {
		{0x90}, {0x01}, {0xa1, 'x'}, {0xc0}, {0xc1},
		{0x81, 0x01, 0x01},    /* integer key */
		{0x81, 0xc0, 0x01},    /* nil key */
		{0x80, 0xc0},          /* trailing byte */
		{0x80, 0x80},          /* two maps */
	};
	static const size_t lens[] = {1, 1, 2, 1, 1, 3, 3, 2, 2};

	for (size_t d = 0; d < 4; d++) {
		assert_rc(defs[d].decode(t_dup(NULL, 0), 0), HB_EMSGPACK);
		for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
			assert_rc(defs[d].decode(t_dup(bodies[i], lens[i]),
						 lens[i]),
				  HB_EMSGPACK);
		/* A valid body followed by one more byte. */
		craft(&defs[d], NULL, "x", v_u1, 0);
		msgpack_pack_nil(&pk);
		assert_rc(decode_sb(defs[d].decode), HB_EMSGPACK);
	}
}

static void test_truncated_bodies(void **state)
{
	for (uint8_t type = HB_HTB; type <= HB_BYE; type++) {
		uint8_t buf[2048];
		size_t len = t_body(type, buf, sizeof(buf));

		assert_rc(t_decode(type, t_dup(buf, len), len, true), 0);
		for (size_t n = 0; n < len; n++)
			assert_rc(t_decode(type, t_dup(buf, n), n, false),
				  HB_EMSGPACK);
	}
}

static void v_false(void) { msgpack_pack_false(&pk); }

static void test_ack_explicit_false_and_plg_data(void **state)
{
	assert_rc(craft(&defs[1], NULL, "request_update", v_false, 1), 0);
	assert_false(ack_out.request_update);
	assert_int_equal(ack_out.ack_epoch, 1);
	assert_int_equal(ack_out.ack_seq, 1);
	/* PLG data is the raw bytes of its value, in place (packed last). */
	assert_rc(craft(&defs[2], "data", "data", v_nested, 1), 0);
	assert_ptr_equal(plg_out.data + plg_out.data_len,
			 *t_dup_slot() + sb.size);
	assert_int_equal(plg_out.data[0], 0x82);
	assert_rc(hb_mpr_check(plg_out.data, plg_out.data_len), 0);
	assert_rc(craft(&defs[2], "data", "data", v_u1, 1), 0);
	assert_int_equal(plg_out.data_len, 1);
	assert_int_equal(plg_out.data[0], 0x01);
}

static void test_encoders_reject_bad_input(void **state)
{
	static struct hb_htb h;
	static const uint8_t two[] = {0x01, 0x02}, cut[] = {0x92, 0x01},
			     c1[] = {0xc1};
	struct hb_ack a;
	struct hb_plg p;
	uint8_t buf[2048];
	size_t len;

#define HTB(stmt) (t_htb_full(&h), stmt, hb_htb_encode(&h, buf, sizeof(buf), &len))
	assert_rc(HTB(h.hostname = hb_str_c("")), HB_EINVAL);
	assert_rc(HTB(h.hostname = hb_str_c(NULL)), HB_EINVAL);
	assert_rc(HTB(h.interval = 0), HB_EINVAL);
	assert_rc(HTB(h.interval = HB_INTERVAL_MAX + 1), HB_EINVAL);
	assert_rc(HTB(h.status = 4), HB_EINVAL);
	assert_rc(HTB(h.plugins[2].status = 4), HB_EINVAL);
	assert_rc(HTB(h.n_labels = HB_HTB_MAX_LABELS + 1), HB_EINVAL);
	assert_rc(HTB(h.n_plugins = HB_HTB_MAX_PLUGINS + 1), HB_EINVAL);
#undef HTB
	t_ack_full(&a);
	a.interval = HB_INTERVAL_MAX + 1;
	assert_rc(hb_ack_encode(&a, buf, sizeof(buf), &len), HB_EINVAL);
#define PLG(stmt) (t_plg_full(&p), stmt, hb_plg_encode(&p, buf, sizeof(buf), &len))
	assert_rc(PLG(p.data = NULL), HB_EINVAL);
	assert_rc(PLG(p.data_len = 0), HB_EINVAL);
	assert_rc(PLG((p.data = two, p.data_len = 2)), HB_EINVAL);
	assert_rc(PLG((p.data = cut, p.data_len = 2)), HB_EINVAL);
	assert_rc(PLG((p.data = c1, p.data_len = 1)), HB_EINVAL);
	assert_rc(PLG(p.data_len = sizeof(t_plg_data) - 1), HB_EINVAL);
	assert_rc(PLG(p.plugin = hb_str_c("")), HB_EINVAL);
	assert_rc(PLG(p.kind = 2), HB_EINVAL);
	assert_rc(PLG(p.status = 4), HB_EINVAL);
	assert_rc(PLG(p.interval = HB_INTERVAL_MAX + 1), HB_EINVAL);
	assert_rc(PLG((p.data = two, p.data_len = 1)), 0);
#undef PLG
}

static void test_encoders_enospc(void **state)
{
	for (uint8_t type = HB_HTB; type <= HB_BYE; type++) {
		uint8_t buf[2048];
		size_t full = t_body(type, buf, sizeof(buf)), len = 0;

		for (size_t cap = 0; cap < full; cap++)
			assert_rc(t_encode(type, t_dup(buf, cap), cap, &len),
				  HB_ENOSPC);
		assert_rc(t_encode(type, t_dup(buf, full), full, &len), 0);
		assert_int_equal(len, full);
	}
}

static void test_info_digest(void **state)
{
	static const struct {
		const char *name;
		uint8_t data[8];
		size_t len;
	} plugins[] = {
		{"cpu", {0x81, 0xa1, 'n', 0x04}, 4},
		{"disk", {0x92, 0xc3, 0xc2}, 3},
		{"os", {0xc0}, 1},
	};
	uint8_t cat[3 * (8 + 1 + HB_DIGEST_LEN)], *p = cat;
	uint8_t want[HB_DIGEST_LEN], got[HB_DIGEST_LEN], sub[HB_DIGEST_LEN];
	struct hb_digest d;

	hb_digest_init(&d);
	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(plugins[i].name);

		crypto_generichash(sub, sizeof(sub), plugins[i].data,
				   plugins[i].len, NULL, 0);
		hb_data_digest(plugins[i].data, plugins[i].len, got);
		assert_memory_equal(got, sub, HB_DIGEST_LEN);
		memcpy(p, plugins[i].name, n);
		p[n] = 0;
		memcpy(p + n + 1, sub, sizeof(sub));
		p += n + 1 + sizeof(sub);
		hb_digest_add(&d, hb_str_c(plugins[i].name), plugins[i].data,
			      plugins[i].len);
	}
	hb_digest_final(&d, got);
	crypto_generichash(want, sizeof(want), cat, (size_t)(p - cat), NULL, 0);
	assert_memory_equal(got, want, HB_DIGEST_LEN);

	/* No plugins: the digest of nothing. */
	hb_digest_init(&d);
	hb_digest_final(&d, got);
	crypto_generichash(want, sizeof(want), NULL, 0, NULL, 0);
	assert_memory_equal(got, want, HB_DIGEST_LEN);
}

/* Overall status: CRITICAL > WARNING > UNKNOWN > OK, whatever the order. */
static void test_status_worst(void **state)
{
	static const uint8_t order[] = {HB_STATUS_OK, HB_STATUS_UNKNOWN,
					HB_STATUS_WARNING, HB_STATUS_CRITICAL};

	for (int i = 0; i < 4; i++) {
		for (int j = 0; j < 4; j++) {
			uint8_t want = order[i > j ? i : j];

			assert_int_equal(hb_status_worst(order[i], order[j]), want);
		}
	}
	assert_int_equal(hb_status_worst(HB_STATUS_OK, 9), HB_STATUS_UNKNOWN);
	assert_string_equal(hb_status_name(HB_STATUS_CRITICAL), "CRITICAL");
	assert_string_equal(hb_status_name(4), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_worst),
		cmocka_unit_test(test_round_trip_htb),
		cmocka_unit_test(test_round_trip_ack_plg_bye),
		cmocka_unit_test(test_encoding_pinned),
		cmocka_unit_test(test_every_field_alone_is_valid),
		cmocka_unit_test(test_unknown_keys_ignored),
		cmocka_unit_test(test_duplicates_rejected),
		cmocka_unit_test(test_missing_required),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_bad_shapes),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_plugin_status_extra_elements),
		cmocka_unit_test(test_not_one_map),
		cmocka_unit_test(test_truncated_bodies),
		cmocka_unit_test(test_ack_explicit_false_and_plg_data),
		cmocka_unit_test(test_encoders_reject_bad_input),
		cmocka_unit_test(test_encoders_enospc),
		cmocka_unit_test(test_info_digest),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
