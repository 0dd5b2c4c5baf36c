/*
 * test_frame: the datagram envelope. Round trips of every message type in
 * every security mode (encode, seal, parse, open, decode), sealing in
 * place, every rejection of hb_frame_parse/seal/open, truncation at every
 * length and a flipped bit at every position, wrong keys, hosts and
 * directions, size limits, and known answers: the header bytes, the
 * sign-mode tag and the encrypt-mode ciphertext are recomputed here with
 * libsodium directly from docs/PROTOCOL.md, so the byte format is pinned.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "hb_test.h"

static const uint8_t types[] = {HB_HTB, HB_ACK,  HB_PLG,    HB_BYE,
				HB_CALL, HB_RES, HB_PROFILE};
#define NTYPES (sizeof(types) / sizeof(types[0]))

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* Parses then opens buf[0..len) with key; the first failure's code. */
static int receive(uint8_t *buf, size_t len, const struct hb_key *key,
		   struct hb_header *h, const uint8_t **body, size_t *blen)
{
	int rc = hb_frame_parse(buf, len, h);

	if (rc < 0)
		return rc;
	/* Mode none is opened without a key: with one it is a downgrade. */
	return hb_frame_open(buf, len, h, h->mode ? key : NULL, body, blen);
}

static void round_trip(uint8_t type, bool frag)
{
	for (uint8_t mode = 0; mode <= HB_MODE_ENCRYPT; mode++) {
		uint8_t body[HB_FRAME_MAX], dg[HB_FRAME_MAX], *buf;
		size_t blen = t_body(type, body, sizeof(body)), len = 0, n = 0;
		struct hb_header h, got;
		const uint8_t *b = NULL;
		struct hb_key k;

		t_key(&k);
		t_header(&h, type, mode);
		if (frag)
			t_frag(&h, 2, 5);
		assert_rc(hb_frame_seal(&h, mode ? &k : NULL, body, blen, dg,
					sizeof(dg), &len), 0);
		assert_int_equal(len, hb_frame_overhead(&h) + blen);
		if (mode == HB_MODE_ENCRYPT)
			assert_memory_not_equal(dg + hb_frame_body_offset(&h),
						body, blen);
		buf = t_dup(dg, len);
		memset(&got, 0xee, sizeof(got));
		assert_rc(receive(buf, len, mode ? &k : NULL, &got, &b, &n), 0);
		t_header_equal(&h, &got);
		assert_ptr_equal(b, buf + hb_frame_body_offset(&h));
		assert_int_equal(n, blen);
		assert_memory_equal(b, body, blen);
		assert_rc(t_decode(type, b, n, true), 0);
	}
}

static void test_round_trip_htb(void **state) { round_trip(HB_HTB, false); }
static void test_round_trip_ack(void **state) { round_trip(HB_ACK, false); }
static void test_round_trip_plg(void **state) { round_trip(HB_PLG, false); }
static void test_round_trip_bye(void **state) { round_trip(HB_BYE, false); }

static void test_round_trip_reserved(void **state)
{
	round_trip(HB_CALL, false);
	round_trip(HB_RES, false);
	round_trip(HB_PROFILE, false);
}

static void test_round_trip_fragments(void **state)
{
	round_trip(HB_PLG, true);
	round_trip(HB_RES, true);
	round_trip(HB_PROFILE, true);
}

static void test_seal_in_place(void **state)
{
	for (uint8_t mode = 0; mode <= HB_MODE_ENCRYPT; mode++) {
		for (int frag = 0; frag <= 1; frag++) {
			uint8_t ref[HB_FRAME_MAX], out[HB_FRAME_MAX];
			size_t rlen = t_datagram(HB_PLG, mode, frag, ref,
						 sizeof(ref)), blen = 0, len = 0;
			struct hb_header h;
			struct hb_plg m;
			struct hb_key k;
			size_t off;

			t_key(&k);
			t_header(&h, HB_PLG, mode);
			if (frag)
				t_frag(&h, 1, 3);
			off = hb_frame_body_offset(&h);
			t_plg_full(&m);
			memset(out, 0xaa, sizeof(out));
			assert_rc(hb_plg_encode(&m, out + off, sizeof(out) - off,
						&blen), 0);
			assert_rc(hb_frame_seal(&h, &k, out + off, blen, out,
						sizeof(out), &len), 0);
			assert_int_equal(len, rlen);
			assert_memory_equal(out, ref, len);
		}
	}
}

/* Parses a sign-mode datagram of type (a fragment when frag) with byte
 * at off replaced by v. */
static int parse_with(uint8_t type, bool frag, size_t off, uint8_t v)
{
	uint8_t dg[HB_FRAME_MAX], *buf;
	size_t len = t_datagram(type, HB_MODE_SIGN, frag, dg, sizeof(dg));
	struct hb_header h;

	buf = t_dup(dg, len);
	buf[off] = v;
	return hb_frame_parse(buf, len, &h);
}

static void test_reject_bad_magic(void **state)
{
	uint8_t h = 'h';
	struct hb_header hd;

	assert_rc(parse_with(HB_HTB, false, 0, 'H'), HB_EMAGIC);
	assert_rc(parse_with(HB_HTB, false, 1, 'B'), HB_EMAGIC);
	assert_rc(parse_with(HB_HTB, false, 0, 0), HB_EMAGIC);
	assert_rc(hb_frame_parse(t_dup(&h, 1), 1, &hd), HB_ETRUNC);
	assert_rc(hb_frame_parse(t_dup(NULL, 0), 0, &hd), HB_ETRUNC);
}

static void test_reject_version_type_mode(void **state)
{
	assert_rc(parse_with(HB_HTB, false, 2, 0), HB_EVERSION);
	assert_rc(parse_with(HB_HTB, false, 2, 2), HB_EVERSION);
	assert_rc(parse_with(HB_HTB, false, 2, 255), HB_EVERSION);
	assert_rc(parse_with(HB_HTB, false, 3, 0), HB_ETYPE);
	for (unsigned t = HB_TYPE_MAX + 1; t <= 255; t++)
		assert_rc(parse_with(HB_HTB, false, 3, (uint8_t)t), HB_ETYPE);
	for (unsigned m = HB_MODE_ENCRYPT + 1; m <= 255; m++)
		assert_rc(parse_with(HB_HTB, false, 4, (uint8_t)m), HB_EMODE);
}

static void test_reject_flags_and_reserved(void **state)
{
	for (int bit = 1; bit < 8; bit++) {
		assert_rc(parse_with(HB_HTB, false, 5, (uint8_t)(1 << bit)),
			  HB_EFLAGS);
		assert_rc(parse_with(HB_PLG, true, 5,
				     (uint8_t)(1 << bit | HB_FLAG_FRAG)),
			  HB_EFLAGS);
	}
	for (size_t off = 6; off <= 7; off++) {
		assert_rc(parse_with(HB_HTB, false, off, 1), HB_EFLAGS);
		assert_rc(parse_with(HB_HTB, false, off, 0x80), HB_EFLAGS);
	}
}

static void test_reject_frag_on_other_types(void **state)
{
	static const uint8_t never[] = {HB_HTB, HB_ACK, HB_BYE, HB_CALL};
	uint8_t body[16], out[256];
	struct hb_header h;
	struct hb_key k;
	size_t len;

	t_key(&k);
	for (size_t i = 0; i < sizeof(never); i++) {
		/* A PLG fragment relabelled... */
		assert_rc(parse_with(HB_PLG, true, 3, never[i]), HB_EFLAGS);
		/* ...and the sender refusing to make one. */
		t_header(&h, never[i], HB_MODE_SIGN);
		t_frag(&h, 0, 2);
		assert_rc(hb_frame_seal(&h, &k, body, 1, out, sizeof(out), &len),
			  HB_EINVAL);
	}
	/* RES and PROFILE may both be fragmented. */
	assert_rc(parse_with(HB_RES, true, 3, HB_PROFILE), 0);
}

/* Parses a PLG fragment datagram with its fragment fields replaced. */
static int parse_frag(uint32_t seq, uint32_t msg, uint16_t index,
		      uint16_t count)
{
	uint8_t dg[HB_FRAME_MAX], *buf;
	size_t len = t_datagram(HB_PLG, HB_MODE_NONE, true, dg, sizeof(dg));
	struct hb_header h;

	buf = t_dup(dg, len);
	put32(buf + 32, seq);
	put32(buf + 44, msg);
	put16(buf + 48, index);
	put16(buf + 50, count);
	return hb_frame_parse(buf, len, &h);
}

static void test_reject_bad_frag_fields(void **state)
{
	assert_rc(parse_frag(100, 99, 1, 3), 0);
	assert_rc(parse_frag(100, 100, 0, 2), 0);
	assert_rc(parse_frag(100, 98, 2, 3), 0);
	assert_rc(parse_frag(100, 99, 1, HB_FRAG_COUNT_MAX), 0);
	assert_rc(parse_frag(0, UINT32_MAX, 1, 2), 0); /* seq wraps */
	assert_rc(parse_frag(100, 100, 0, 0), HB_EFLAGS);
	assert_rc(parse_frag(100, 100, 0, 1), HB_EFLAGS);
	assert_rc(parse_frag(100, 99, 1, 1), HB_EFLAGS);
	assert_rc(parse_frag(100, 97, 3, 3), HB_EFLAGS); /* index >= count */
	assert_rc(parse_frag(100, 0, 100, 100), HB_EFLAGS);
	assert_rc(parse_frag(100, 99, 1, HB_FRAG_COUNT_MAX + 1), HB_EFLAGS);
	assert_rc(parse_frag(100, 99, 2, 3), HB_EFLAGS); /* seq - msg != index */
	assert_rc(parse_frag(100, 101, 1, 3), HB_EFLAGS);
	assert_rc(parse_frag(100, 100, 1, 3), HB_EFLAGS);
}

static void test_seal_rejects_bad_headers(void **state)
{
	uint8_t body[4] = {0x80}, out[256];
	struct hb_header h;
	struct hb_key k, other;
	size_t len;

	t_key(&k);
	assert_rc(hb_key_init(&other, T_KEY_ID + 1, t_master()), 0);
#define SEAL(key, stmt) (t_header(&h, HB_PLG, HB_MODE_SIGN), stmt, \
	hb_frame_seal(&h, key, body, 1, out, sizeof(out), &len))
	assert_rc(SEAL(&k, (void)0), 0);
	assert_rc(SEAL(NULL, (void)0), HB_EINVAL);
	assert_rc(SEAL(NULL, h.mode = HB_MODE_ENCRYPT), HB_EINVAL);
	assert_rc(SEAL(NULL, h.mode = HB_MODE_NONE), 0);
	assert_rc(SEAL(&other, (void)0), HB_EINVAL);
	assert_rc(SEAL(&k, h.version = 2), HB_EINVAL);
	assert_rc(SEAL(&k, h.type = 0), HB_EINVAL);
	assert_rc(SEAL(&k, h.type = HB_TYPE_MAX + 1), HB_EINVAL);
	assert_rc(SEAL(&k, h.mode = 3), HB_EINVAL);
	assert_rc(SEAL(&k, h.flags = 2), HB_EINVAL);
	assert_rc(SEAL(&k, t_frag(&h, 0, 1)), HB_EINVAL);
	assert_rc(SEAL(&k, (t_frag(&h, 1, 3), h.frag_msg++)), HB_EINVAL);
#undef SEAL
}

/* Every prefix of a datagram fails; in mode none, where nothing is
 * authenticated, the truncated body must fail to decode instead. */
static void truncations(uint8_t type, uint8_t mode, bool frag)
{
	uint8_t dg[HB_FRAME_MAX];
	size_t len = t_datagram(type, mode, frag, dg, sizeof(dg));
	struct hb_header h;
	struct hb_key k;

	t_key(&k);
	t_header(&h, type, mode);
	if (frag)
		t_frag(&h, 1, 3);
	for (size_t n = 0; n < len; n++) {
		uint8_t *buf = t_dup(dg, n);
		const uint8_t *b;
		size_t bl;
		int rc = hb_frame_parse(buf, n, &h);

		if (n < hb_frame_overhead(&h)) {
			assert_rc(rc, HB_ETRUNC);
			continue;
		}
		assert_rc(rc, 0);
		rc = hb_frame_open(buf, n, &h, mode ? &k : NULL, &b, &bl);
		if (mode != HB_MODE_NONE) {
			assert_rc(rc, HB_EAUTH);
		} else {
			assert_rc(rc, 0);
			assert_true(bl < len - hb_frame_overhead(&h));
			if (!frag) /* a fragment is a raw slice */
				assert_rc(t_decode(type, b, bl, false),
					  HB_EMSGPACK);
		}
	}
}

static void test_truncation_every_offset(void **state)
{
	for (uint8_t mode = 0; mode <= HB_MODE_ENCRYPT; mode++) {
		for (size_t t = 0; t < NTYPES; t++)
			truncations(types[t], mode, false);
		truncations(HB_PLG, mode, true);
	}
}

static void test_wrong_key_host_and_id(void **state)
{
	for (uint8_t mode = HB_MODE_SIGN; mode <= HB_MODE_ENCRYPT; mode++) {
		uint8_t dg[HB_FRAME_MAX], other[HB_KEY_LEN];
		size_t len = t_datagram(HB_HTB, mode, false, dg, sizeof(dg));
		struct hb_key k, wrong, id2, host_ok, host_bad;
		struct hb_header h;
		const uint8_t *b;
		size_t bl;

		memcpy(other, t_master(), sizeof(other));
		other[0] ^= 0x80;
		t_key(&k);
		assert_rc(hb_key_init(&wrong, T_KEY_ID, other), 0);
		assert_rc(hb_key_init(&id2, T_KEY_ID + 1, t_master()), 0);
		host_ok = host_bad = k;
		host_ok.has_host = host_bad.has_host = true;
		memcpy(host_ok.host_id, t_host(), 16);
		memcpy(host_bad.host_id, t_host(), 16);
		host_bad.host_id[15] ^= 1;
		assert_rc(receive(t_dup(dg, len), len, &wrong, &h, &b, &bl),
			  HB_EAUTH);
		assert_rc(receive(t_dup(dg, len), len, &id2, &h, &b, &bl),
			  HB_EKEYID);
		assert_rc(receive(t_dup(dg, len), len, NULL, &h, &b, &bl),
			  HB_EKEYID);
		assert_rc(receive(t_dup(dg, len), len, &host_bad, &h, &b, &bl),
			  HB_EHOST);
		wrong.has_host = true; /* the host is checked first */
		memcpy(wrong.host_id, host_bad.host_id, 16);
		assert_rc(receive(t_dup(dg, len), len, &wrong, &h, &b, &bl),
			  HB_EHOST);
		assert_rc(receive(t_dup(dg, len), len, &host_ok, &h, &b, &bl),
			  0);
		assert_rc(receive(t_dup(dg, len), len, &k, &h, &b, &bl), 0);
	}
}

/*
 * A flipped bit anywhere is caught. A flip of the mode byte to 0 turns
 * the datagram into a well-formed mode-none one; hb_frame_open refuses
 * it because the receiver holds a key (HB_EMODE): no downgrade.
 */
static void bit_flips(uint8_t type, uint8_t mode, bool frag)
{
	uint8_t dg[HB_FRAME_MAX];
	size_t len = t_datagram(type, mode, frag, dg, sizeof(dg));
	struct hb_key k;

	t_key(&k);
	for (size_t bit = 0; bit < 8 * len; bit++) {
		uint8_t *buf = t_dup(dg, len);
		size_t byte = bit / 8;
		struct hb_header h;
		const uint8_t *b;
		size_t bl;
		int rc;

		buf[byte] ^= (uint8_t)(1 << bit % 8);
		if ((rc = hb_frame_parse(buf, len, &h)) < 0)
			continue;
		rc = hb_frame_open(buf, len, &h, &k, &b, &bl);
		if (h.mode != mode) {
			assert_int_equal(byte, 4);
			assert_int_equal(h.mode, HB_MODE_NONE);
			assert_rc(rc, HB_EMODE);
		} else if (byte >= 8 && byte < 12)
			assert_rc(rc, HB_EKEYID);
		else
			assert_rc(rc, HB_EAUTH);
	}
}

static void test_bit_flip_every_position(void **state)
{
	for (uint8_t mode = HB_MODE_SIGN; mode <= HB_MODE_ENCRYPT; mode++) {
		bit_flips(HB_HTB, mode, false);
		bit_flips(HB_ACK, mode, false);
		bit_flips(HB_PLG, mode, true);
	}
}

/* The subkey of docs/PROTOCOL.md "Keys" for kdf id 1..4. */
static void subkey(uint64_t id, uint8_t out[HB_KEY_LEN])
{
	crypto_kdf_derive_from_key(out, HB_KEY_LEN, id, "hb-proto", t_master());
}

/*
 * Builds the datagram of t_datagram(type, mode, frag) independently: the
 * header from hb_frame_seal (pinned by test_header_bytes), the tag or
 * ciphertext with libsodium and the subkey of kdf id `kid`.
 */
static size_t forge(uint8_t type, uint8_t mode, bool frag, uint64_t kid,
		    uint8_t *out)
{
	uint8_t body[HB_FRAME_MAX], key[HB_KEY_LEN], nonce[24];
	size_t len = t_datagram(type, mode, frag, out, HB_FRAME_MAX);
	size_t off = frag ? 52 : 44, blen = len - off - 16;

	assert_int_equal(t_body(type, body, sizeof(body)), blen);
	subkey(kid, key);
	if (mode == HB_MODE_SIGN) {
		memcpy(out + off, body, blen);
		crypto_generichash(out + off + blen, 16, out, off + blen, key,
				   sizeof(key));
	} else {
		memcpy(nonce, t_host(), 16); /* host id, epoch, seq */
		put32(nonce + 16, T_EPOCH);
		put32(nonce + 20, T_SEQ);
		crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
			out + off, out + off + blen, NULL, body, blen, out, off,
			NULL, nonce, key);
	}
	return len;
}

static void test_known_answer_sign_and_encrypt(void **state)
{
	for (uint8_t mode = HB_MODE_SIGN; mode <= HB_MODE_ENCRYPT; mode++) {
		for (size_t t = 0; t < NTYPES; t++) {
			uint8_t want[HB_FRAME_MAX], got[HB_FRAME_MAX];
			int dir = hb_type_dir(types[t]);
			uint64_t kid = 1 + 2 * (mode - 1) + (uint64_t)dir;
			size_t len = forge(types[t], mode, false, kid, want);

			assert_int_equal(t_datagram(types[t], mode, false, got,
						    sizeof(got)), len);
			assert_memory_equal(got, want, len);
		}
		for (uint8_t type = HB_PLG; type <= HB_PROFILE; type += 3) {
			uint8_t want[HB_FRAME_MAX], got[HB_FRAME_MAX];
			uint64_t kid = 1 + 2 * (mode - 1) +
				       (uint64_t)hb_type_dir(type);
			size_t len = forge(type, mode, true, kid, want);

			assert_int_equal(t_datagram(type, mode, true, got,
						    sizeof(got)), len);
			assert_memory_equal(got, want, len);
		}
	}
}

static void test_known_answer_decrypt(void **state)
{
	for (int frag = 0; frag <= 1; frag++) {
		uint8_t dg[HB_FRAME_MAX], body[HB_FRAME_MAX], plain[HB_FRAME_MAX];
		uint8_t key[HB_KEY_LEN], nonce[24] = {
			0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
			0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
			0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
		size_t len = t_datagram(HB_PLG, HB_MODE_ENCRYPT, frag, dg,
					sizeof(dg));
		size_t off = frag ? 52 : 44, clen = len - off - 16;

		assert_int_equal(t_body(HB_PLG, body, sizeof(body)), clen);
		subkey(3, key); /* encrypt, client to server */
		assert_int_equal(crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
					 plain, NULL, dg + off, clen, dg + off + clen,
					 dg, off, nonce, key), 0);
		assert_memory_equal(plain, body, clen);
	}
}

static void test_header_bytes(void **state)
{
	static const uint8_t want[52] = {
		0x68, 0x62, 0x01, 0x03, 0x02, 0x01, 0x00, 0x00, /* hb 1 PLG enc F */
		0x01, 0x02, 0x03, 0x04,                         /* key id */
		0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, /* host id */
		0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
		0x11, 0x22, 0x33, 0x44,                         /* epoch */
		0x55, 0x66, 0x77, 0x88,                         /* seq */
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, /* time_ms */
		0x55, 0x66, 0x77, 0x87, 0x00, 0x01, 0x00, 0x03, /* msg, 1 of 3 */
	};
	uint8_t dg[HB_FRAME_MAX];

	t_datagram(HB_PLG, HB_MODE_ENCRYPT, true, dg, sizeof(dg));
	assert_memory_equal(dg, want, 52);
	t_datagram(HB_HTB, HB_MODE_NONE, false, dg, sizeof(dg));
	assert_memory_equal(dg, "\x68\x62\x01\x01\x00\x00\x00\x00", 8);
	assert_memory_equal(dg + 8, want + 8, 44 - 8);
}

/* A datagram sealed with one direction's subkey never opens as the
 * other direction's type, and a mode's subkey is not the other mode's. */
static void test_direction_and_mode_separation(void **state)
{
	for (uint8_t mode = HB_MODE_SIGN; mode <= HB_MODE_ENCRYPT; mode++) {
		for (size_t t = 0; t < NTYPES; t++) {
			uint64_t base = 1 + 2 * (mode - 1u), other = 4 - base;
			int dir = hb_type_dir(types[t]);
			uint8_t dg[HB_FRAME_MAX];
			struct hb_header h;
			const uint8_t *b;
			size_t bl, len;
			struct hb_key k;

			t_key(&k);
			len = forge(types[t], mode, false, base + 1u - dir, dg);
			assert_rc(receive(dg, len, &k, &h, &b, &bl), HB_EAUTH);
			len = forge(types[t], mode, false, other + dir, dg);
			assert_rc(receive(dg, len, &k, &h, &b, &bl), HB_EAUTH);
			len = forge(types[t], mode, false, base + dir, dg);
			assert_rc(receive(dg, len, &k, &h, &b, &bl), 0);
		}
	}
}

static void test_size_limits(void **state)
{
	static uint8_t body[HB_FRAME_MAX + 1], out[HB_FRAME_MAX + 64];
	struct hb_header h;
	struct hb_key k;
	const uint8_t *b;
	size_t len = 0, bl, max;

	t_key(&k);
	for (uint8_t mode = 0; mode <= HB_MODE_ENCRYPT; mode++) {
		t_header(&h, HB_PLG, mode);
		max = HB_FRAME_MAX - hb_frame_overhead(&h);
		assert_rc(hb_frame_seal(&h, &k, body, max + 1, out, sizeof(out),
					&len), HB_ETOOBIG);
		assert_rc(hb_frame_seal(&h, &k, body, SIZE_MAX, out, sizeof(out),
					&len), HB_ETOOBIG);
		assert_rc(hb_frame_seal(&h, &k, body, max, out, sizeof(out),
					&len), 0);
		assert_int_equal(len, HB_FRAME_MAX);
		assert_rc(receive(t_dup(out, len), len, &k, &h, &b, &bl), 0);
		assert_int_equal(bl, max);
		/* One byte more than any receiver accepts. */
		out[len] = 0;
		assert_rc(hb_frame_parse(t_dup(out, len + 1), len + 1, &h),
			  HB_ETOOBIG);
	}
}

static void test_seal_cap(void **state)
{
	for (uint8_t mode = 0; mode <= HB_MODE_ENCRYPT; mode++) {
		uint8_t dg[HB_FRAME_MAX];
		size_t want = t_datagram(HB_ACK, mode, false, dg, sizeof(dg));
		uint8_t body[256];
		size_t blen = t_body(HB_ACK, body, sizeof(body)), len;
		struct hb_header h;
		struct hb_key k;

		t_key(&k);
		t_header(&h, HB_ACK, mode);
		for (size_t cap = 0; cap < want; cap++)
			assert_rc(hb_frame_seal(&h, &k, body, blen,
						t_dup(dg, cap), cap, &len),
				  HB_ENOSPC);
		assert_rc(hb_frame_seal(&h, &k, body, blen, t_dup(dg, want),
					want, &len), 0);
		assert_int_equal(len, want);
	}
}

static void test_names_and_sizes(void **state)
{
	static const char *const names[] = {"?", "HTB", "ACK", "PLG", "BYE",
					    "CALL", "RES", "PROFILE", "?"};
	struct hb_header h;
	uint8_t m = 9;

	for (uint8_t t = 0; t <= 8; t++)
		assert_string_equal(hb_type_name(t), names[t]);
	assert_string_equal(hb_type_name(255), "?");
	assert_int_equal(hb_type_dir(HB_HTB), HB_DIR_C2S);
	assert_int_equal(hb_type_dir(HB_ACK), HB_DIR_S2C);
	assert_int_equal(hb_type_dir(HB_PLG), HB_DIR_C2S);
	assert_int_equal(hb_type_dir(HB_BYE), HB_DIR_C2S);
	assert_int_equal(hb_type_dir(HB_CALL), HB_DIR_S2C);
	assert_int_equal(hb_type_dir(HB_RES), HB_DIR_C2S);
	assert_int_equal(hb_type_dir(HB_PROFILE), HB_DIR_S2C);
	assert_string_equal(hb_mode_name(HB_MODE_NONE), "none");
	assert_string_equal(hb_mode_name(HB_MODE_SIGN), "sign");
	assert_string_equal(hb_mode_name(HB_MODE_ENCRYPT), "encrypt");
	assert_string_equal(hb_mode_name(3), "?");
	assert_rc(hb_mode_parse("encrypt", &m), 0);
	assert_int_equal(m, HB_MODE_ENCRYPT);
	assert_rc(hb_mode_parse("Sign", &m), HB_EINVAL);
	assert_rc(hb_mode_parse("?", &m), HB_EINVAL);
	t_header(&h, HB_PLG, HB_MODE_NONE);
	assert_int_equal(hb_frame_overhead(&h), 44);
	h.mode = HB_MODE_SIGN;
	assert_int_equal(hb_frame_overhead(&h), 60);
	t_frag(&h, 0, 2);
	assert_int_equal(hb_frame_overhead(&h), 68);
	assert_int_equal(hb_frame_body_offset(&h), 52);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_htb),
		cmocka_unit_test(test_round_trip_ack),
		cmocka_unit_test(test_round_trip_plg),
		cmocka_unit_test(test_round_trip_bye),
		cmocka_unit_test(test_round_trip_reserved),
		cmocka_unit_test(test_round_trip_fragments),
		cmocka_unit_test(test_seal_in_place),
		cmocka_unit_test(test_reject_bad_magic),
		cmocka_unit_test(test_reject_version_type_mode),
		cmocka_unit_test(test_reject_flags_and_reserved),
		cmocka_unit_test(test_reject_frag_on_other_types),
		cmocka_unit_test(test_reject_bad_frag_fields),
		cmocka_unit_test(test_seal_rejects_bad_headers),
		cmocka_unit_test(test_truncation_every_offset),
		cmocka_unit_test(test_wrong_key_host_and_id),
		cmocka_unit_test(test_bit_flip_every_position),
		cmocka_unit_test(test_known_answer_sign_and_encrypt),
		cmocka_unit_test(test_known_answer_decrypt),
		cmocka_unit_test(test_header_bytes),
		cmocka_unit_test(test_direction_and_mode_separation),
		cmocka_unit_test(test_size_limits),
		cmocka_unit_test(test_seal_cap),
		cmocka_unit_test(test_names_and_sizes),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	t_dup_free();
	return rc;
}
