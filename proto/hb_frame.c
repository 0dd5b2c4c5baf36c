/*
 * hb_frame: header layout, sealing and opening of datagrams. The header
 * is big-endian on the wire; see docs/PROTOCOL.md "Header".
 */
#include <string.h>

#include <sodium.h>

#include "hb_error.h"
#include "hb_frame.h"

/* XChaCha20-Poly1305 nonce: host id, epoch, seq (docs: "Nonce"). */
#define NONCE_LEN crypto_aead_xchacha20poly1305_ietf_NPUBBYTES

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

int hb_type_dir(uint8_t type)
{
	switch (type) {
	case HB_ACK:
	case HB_CALL:
	case HB_PROFILE:
		return HB_DIR_S2C;
	default:
		return HB_DIR_C2S;
	}
}

const char *hb_type_name(uint8_t type)
{
	static const char *const names[] = {"?",   "HTB", "ACK", "PLG",
					    "BYE", "CALL", "RES", "PROFILE"};
	return type <= HB_TYPE_MAX ? names[type] : "?";
}

const char *hb_mode_name(uint8_t mode)
{
	static const char *const names[] = {"none", "sign", "encrypt"};
	return mode <= HB_MODE_ENCRYPT ? names[mode] : "?";
}

int hb_mode_parse(const char *s, uint8_t *mode)
{
	for (uint8_t m = 0; m <= HB_MODE_ENCRYPT; m++) {
		if (strcmp(s, hb_mode_name(m)) == 0) {
			*mode = m;
			return 0;
		}
	}
	return HB_EINVAL;
}

static size_t tag_len(uint8_t mode)
{
	return mode == HB_MODE_NONE ? 0 : HB_TAG_LEN;
}

size_t hb_frame_body_offset(const struct hb_header *h)
{
	return HB_HEADER_LEN + (h->flags & HB_FLAG_FRAG ? HB_FRAGEXT_LEN : 0);
}

size_t hb_frame_overhead(const struct hb_header *h)
{
	return hb_frame_body_offset(h) + tag_len(h->mode);
}

static void header_write(const struct hb_header *h, uint8_t *p)
{
	p[0] = HB_MAGIC0;
	p[1] = HB_MAGIC1;
	p[2] = h->version;
	p[3] = h->type;
	p[4] = h->mode;
	p[5] = h->flags;
	put16(p + 6, 0);
	put32(p + 8, h->key_id);
	memcpy(p + 12, h->host_id, 16);
	put32(p + 28, h->epoch);
	put32(p + 32, h->seq);
	put64(p + 36, h->time_ms);
	if (h->flags & HB_FLAG_FRAG) {
		put32(p + 44, h->frag_msg);
		put16(p + 48, h->frag_index);
		put16(p + 50, h->frag_count);
	}
}

/* The checks both parse and seal apply to a header's fields. */
static int header_check(const struct hb_header *h)
{
	if (h->version != HB_VERSION)
		return HB_EVERSION;
	if (h->type < HB_HTB || h->type > HB_TYPE_MAX)
		return HB_ETYPE;
	if (h->mode > HB_MODE_ENCRYPT)
		return HB_EMODE;
	if (h->flags & ~HB_FLAGS_KNOWN)
		return HB_EFLAGS;
	if (h->flags & HB_FLAG_FRAG) {
		/* Only bodies that may outgrow a datagram are fragmented. */
		if (h->type != HB_PLG && h->type != HB_RES &&
		    h->type != HB_PROFILE)
			return HB_EFLAGS;
		if (h->frag_count < 2 || h->frag_count > HB_FRAG_COUNT_MAX ||
		    h->frag_index >= h->frag_count)
			return HB_EFLAGS;
		/* Fragments carry consecutive seqs from frag_msg on. */
		if (h->seq - h->frag_msg != h->frag_index)
			return HB_EFLAGS;
	}
	return 0;
}

int hb_frame_parse(const uint8_t *buf, size_t len, struct hb_header *h)
{
	if (len < 2)
		return HB_ETRUNC;
	if (buf[0] != HB_MAGIC0 || buf[1] != HB_MAGIC1)
		return HB_EMAGIC;
	if (len > HB_FRAME_MAX)
		return HB_ETOOBIG;
	if (len < HB_HEADER_LEN)
		return HB_ETRUNC;
	h->version = buf[2];
	h->type = buf[3];
	h->mode = buf[4];
	h->flags = buf[5];
	if (h->version != HB_VERSION)
		return HB_EVERSION;
	if (get16(buf + 6) != 0)
		return HB_EFLAGS;
	h->key_id = get32(buf + 8);
	memcpy(h->host_id, buf + 12, 16);
	h->epoch = get32(buf + 28);
	h->seq = get32(buf + 32);
	h->time_ms = get64(buf + 36);
	h->frag_msg = 0;
	h->frag_index = 0;
	h->frag_count = 0;
	if ((h->flags & HB_FLAG_FRAG) && len >= HB_HEADER_LEN + HB_FRAGEXT_LEN) {
		h->frag_msg = get32(buf + 44);
		h->frag_index = get16(buf + 48);
		h->frag_count = get16(buf + 50);
	}
	if (h->mode <= HB_MODE_ENCRYPT && len < hb_frame_overhead(h))
		return HB_ETRUNC;
	return header_check(h);
}

static const uint8_t *subkey(const struct hb_key *key, const struct hb_header *h)
{
	return key->sub[h->mode - 1][hb_type_dir(h->type)];
}

static void nonce_make(const struct hb_header *h, uint8_t n[NONCE_LEN])
{
	memcpy(n, h->host_id, 16);
	put32(n + 16, h->epoch);
	put32(n + 20, h->seq);
}

int hb_frame_seal(const struct hb_header *h, const struct hb_key *key,
		  const uint8_t *body, size_t body_len, uint8_t *out, size_t cap,
		  size_t *out_len)
{
	size_t off = hb_frame_body_offset(h);
	size_t total = hb_frame_overhead(h) + body_len;
	int rc = header_check(h);

	if (rc < 0)
		return HB_EINVAL;
	if (h->mode != HB_MODE_NONE && (!key || key->id != h->key_id))
		return HB_EINVAL;
	if (body_len > HB_FRAME_MAX || total > HB_FRAME_MAX)
		return HB_ETOOBIG;
	if (total > cap)
		return HB_ENOSPC;
	header_write(h, out);
	if (h->mode == HB_MODE_ENCRYPT) {
		uint8_t nonce[NONCE_LEN];

		nonce_make(h, nonce);
		crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
			out + off, out + off + body_len, NULL, body, body_len,
			out, off, NULL, nonce, subkey(key, h));
	} else {
		if (body != out + off)
			memcpy(out + off, body, body_len);
		if (h->mode == HB_MODE_SIGN)
			crypto_generichash(out + off + body_len, HB_TAG_LEN, out,
					   off + body_len, subkey(key, h),
					   HB_KEY_LEN);
	}
	*out_len = total;
	return 0;
}

int hb_frame_open(uint8_t *buf, size_t len, const struct hb_header *h,
		  const struct hb_key *key, const uint8_t **body,
		  size_t *body_len)
{
	size_t off = hb_frame_body_offset(h);
	size_t blen;

	if (len < hb_frame_overhead(h) || h->mode > HB_MODE_ENCRYPT)
		return HB_EINVAL;
	blen = len - hb_frame_overhead(h);
	/* A caller holding a key expects authentication: no downgrade. */
	if (h->mode == HB_MODE_NONE && key)
		return HB_EMODE;
	if (h->mode != HB_MODE_NONE) {
		const uint8_t *tag = buf + off + blen;

		if (!key || key->id != h->key_id)
			return HB_EKEYID;
		if (key->has_host && memcmp(key->host_id, h->host_id, 16) != 0)
			return HB_EHOST;
		if (h->mode == HB_MODE_SIGN) {
			uint8_t want[HB_TAG_LEN];

			crypto_generichash(want, HB_TAG_LEN, buf, off + blen,
					   subkey(key, h), HB_KEY_LEN);
			if (crypto_verify_16(want, tag) != 0)
				return HB_EAUTH;
		} else {
			uint8_t nonce[NONCE_LEN];

			nonce_make(h, nonce);
			if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
				    buf + off, NULL, buf + off, blen, tag, buf,
				    off, nonce, subkey(key, h)) != 0)
				return HB_EAUTH;
		}
	}
	*body = buf + off;
	*body_len = blen;
	return 0;
}
