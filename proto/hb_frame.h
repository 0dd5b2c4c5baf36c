/*
 * hb_frame: the datagram envelope. Every hb datagram is a fixed 44-byte
 * header, an 8-byte fragment extension when HB_FLAG_FRAG is set, the body
 * (a msgpack map, or a slice of one for fragments) and a 16-byte tag
 * (absent in mode none). In mode sign the tag is a keyed BLAKE2b-128 over
 * header and body; in mode encrypt the body is XChaCha20-Poly1305
 * ciphertext with the header as associated data. docs/PROTOCOL.md is the
 * byte-exact description; this module is its only implementation.
 */
#ifndef HB_FRAME_H
#define HB_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "hb_key.h"

#define HB_MAGIC0 0x68 /* 'h' */
#define HB_MAGIC1 0x62 /* 'b' */
#define HB_VERSION 1
#define HB_PORT 7781

#define HB_HEADER_LEN 44
#define HB_FRAGEXT_LEN 8
#define HB_TAG_LEN 16
#define HB_FRAME_MAX 8192     /* largest datagram any receiver accepts */
#define HB_FRAME_DEFAULT 1400 /* default largest datagram a sender makes */
#define HB_FRAME_MIN 256      /* smallest max datagram size a sender may use */

enum hb_type {
	HB_HTB = 1,     /* heartbeat, client -> server */
	HB_ACK = 2,     /* acknowledgement, server -> client */
	HB_PLG = 3,     /* plugin data, client -> server */
	HB_BYE = 4,     /* clean shutdown, client -> server */
	HB_CALL = 5,    /* reserved: remote plugin call, server -> client */
	HB_RES = 6,     /* reserved: remote call result, client -> server */
	HB_PROFILE = 7, /* reserved: profile push, server -> client */
};
#define HB_TYPE_MAX 7

enum hb_mode {
	HB_MODE_NONE = 0,
	HB_MODE_SIGN = 1,
	HB_MODE_ENCRYPT = 2,
};

enum hb_dir {
	HB_DIR_C2S = 0, /* client to server */
	HB_DIR_S2C = 1, /* server to client */
};

#define HB_FLAG_FRAG 0x01 /* a fragment extension follows the header */
#define HB_FLAGS_KNOWN HB_FLAG_FRAG

/* The header in host byte order. Field meanings: docs/PROTOCOL.md. */
struct hb_header {
	uint8_t version;
	uint8_t type;  /* enum hb_type */
	uint8_t mode;  /* enum hb_mode */
	uint8_t flags; /* HB_FLAG_* */
	uint32_t key_id;
	uint8_t host_id[16];
	uint32_t epoch;   /* sender's epoch */
	uint32_t seq;     /* sender's sequence number within the epoch */
	uint64_t time_ms; /* sender's clock, Unix time in milliseconds */
	/* Valid only when flags & HB_FLAG_FRAG. */
	uint32_t frag_msg;   /* seq of the message's first fragment */
	uint16_t frag_index; /* 0 .. frag_count - 1 */
	uint16_t frag_count; /* 2 .. HB_FRAG_COUNT_MAX */
};

#define HB_FRAG_COUNT_MAX 1024

/* Returns the direction messages of this type travel in (enum hb_dir). */
int hb_type_dir(uint8_t type);

/* Returns "HTB", "ACK"... or "?" for an unknown type. */
const char *hb_type_name(uint8_t type);

/* Returns "none", "sign", "encrypt" or "?". */
const char *hb_mode_name(uint8_t mode);

/* Parses "none", "sign" or "encrypt" into *mode; HB_EINVAL otherwise. */
int hb_mode_parse(const char *s, uint8_t *mode);

/* Bytes a datagram with this header adds around its body. */
size_t hb_frame_overhead(const struct hb_header *h);

/*
 * Parses and checks the header of the datagram buf[0..len): magic,
 * version, type, mode, flags, fragment fields and that len covers header
 * and tag and does not exceed HB_FRAME_MAX. Touches no key. Returns 0 or
 * HB_ETRUNC, HB_ETOOBIG, HB_EMAGIC, HB_EVERSION, HB_ETYPE, HB_EMODE,
 * HB_EFLAGS.
 */
int hb_frame_parse(const uint8_t *buf, size_t len, struct hb_header *h);

/*
 * Builds a datagram in out[0..cap): header h, body, tag. key may be NULL
 * only in mode none; in the other modes its subkey for h->mode and the
 * type's direction is used and h->key_id must equal key->id. body may
 * point to out + hb_frame_body_offset(h) (encoded in place); no other
 * overlap with out is allowed. Returns 0 and the datagram length in
 * *out_len, or HB_EINVAL, HB_ENOSPC, HB_ETOOBIG (over HB_FRAME_MAX).
 */
int hb_frame_seal(const struct hb_header *h, const struct hb_key *key,
		  const uint8_t *body, size_t body_len, uint8_t *out, size_t cap,
		  size_t *out_len);

/* Offset of the body in a datagram with this header. */
size_t hb_frame_body_offset(const struct hb_header *h);

/*
 * Authenticates (sign) or decrypts in place (encrypt) the datagram
 * buf[0..len) whose header hb_frame_parse() returned as h, with key (NULL
 * allowed only in mode none). On success *body points into buf and is
 * valid as long as buf. Checks that key->id equals h->key_id and, for a
 * key bound to a host, that h->host_id matches. Verification is constant
 * time. A key given for a mode none datagram is HB_EMODE: whoever holds a
 * key expects authentication, so a mode byte flipped to none is no way
 * around it. Returns 0 or HB_EINVAL, HB_EMODE, HB_EKEYID, HB_EHOST,
 * HB_EAUTH; on failure the body bytes of buf are unspecified.
 */
int hb_frame_open(uint8_t *buf, size_t len, const struct hb_header *h,
		  const struct hb_key *key, const uint8_t **body,
		  size_t *body_len);

#endif
