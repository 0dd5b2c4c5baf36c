/*
 * hb_msg: the bodies of HTB, ACK, PLG and BYE as typed structs, with
 * encoders (msgpack-c, into a caller's buffer) and decoders (hb_mpr, in
 * place). Decoded strings and byte slices point into the decoded buffer
 * and live as long as it (absent optional strings decode as "", never
 * NULL); nothing is allocated. Decoders ignore unknown
 * keys, reject a known key with the wrong type or twice, and reject
 * trailing bytes. Keys, types and units: docs/PROTOCOL.md.
 */
#ifndef HB_MSG_H
#define HB_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sodium/crypto_generichash.h>

#define HB_HTB_MAX_LABELS 32
#define HB_HTB_MAX_PLUGINS 128
#define HB_INTERVAL_MIN 1      /* seconds */
#define HB_INTERVAL_MAX 86400  /* seconds */
#define HB_DIGEST_LEN 16

/* A byte string that need not be NUL-terminated. */
struct hb_str {
	const char *ptr;
	uint32_t len;
};

/* Makes an hb_str of a NUL-terminated string (NULL gives the empty one). */
struct hb_str hb_str_c(const char *s);

enum hb_status {
	HB_STATUS_OK = 0,
	HB_STATUS_WARNING = 1,
	HB_STATUS_CRITICAL = 2,
	HB_STATUS_UNKNOWN = 3,
};

/* "OK", "WARNING", "CRITICAL", "UNKNOWN" or "?". */
const char *hb_status_name(uint8_t status);

/*
 * The worse of two statuses, for an overall status: CRITICAL, then
 * WARNING, then UNKNOWN, then OK. UNKNOWN ranks below WARNING so that a
 * plugin that cannot tell does not hide one that found a problem.
 */
uint8_t hb_status_worst(uint8_t a, uint8_t b);

enum hb_kind {
	HB_KIND_INFO = 0,
	HB_KIND_MONITOR = 1,
};

struct hb_label {
	struct hb_str key;
	struct hb_str value;
};

struct hb_htb_plugin {
	struct hb_str name;
	uint8_t status; /* enum hb_status */
	struct hb_str message;
};

/* Presence bits of optional HTB fields. */
#define HB_HTB_HAS_BOOT_ID 0x01
#define HB_HTB_HAS_LOAD 0x02
#define HB_HTB_HAS_DIGEST 0x04

struct hb_htb {
	uint32_t interval;     /* required: seconds until the next HTB */
	struct hb_str hostname; /* required */
	uint8_t status;         /* required: overall status, enum hb_status */
	struct hb_str status_msg;
	struct hb_str owner;
	struct hb_str version; /* hbc version */
	uint64_t start_time;   /* Unix seconds the client started, 0 unknown */
	uint64_t uptime;       /* host uptime in seconds, 0 unknown */
	unsigned has;          /* HB_HTB_HAS_* */
	uint8_t boot_id[16];
	double load[3];
	uint8_t info_digest[HB_DIGEST_LEN];
	uint32_t n_labels;
	struct hb_label labels[HB_HTB_MAX_LABELS];
	uint32_t n_plugins;
	struct hb_htb_plugin plugins[HB_HTB_MAX_PLUGINS];
};

struct hb_ack {
	uint32_t ack_epoch;  /* required: epoch of the acknowledged message */
	uint32_t ack_seq;    /* required: seq of the acknowledged message */
	bool request_update; /* server wants all Info data again */
	uint32_t interval;   /* 0: none; else the interval the client must use */
};

struct hb_plg {
	struct hb_str plugin; /* required: plugin name */
	uint8_t kind;         /* required: enum hb_kind */
	uint64_t time_ms;     /* required: collection time, Unix ms */
	uint32_t interval;    /* seconds between collections, 0 for Info */
	uint8_t status;       /* enum hb_status */
	struct hb_str message;
	const uint8_t *data; /* required: one msgpack value, raw */
	uint32_t data_len;
};

struct hb_bye {
	struct hb_str reason;
};

/*
 * Encoders write the body into out[0..cap) and its length into *len.
 * They return 0, HB_ENOSPC, or HB_EINVAL when a required field is absent
 * or out of range (interval, status, kind, counts, PLG data not exactly
 * one well-formed msgpack value).
 */
int hb_htb_encode(const struct hb_htb *m, uint8_t *out, size_t cap,
		  size_t *len);
int hb_ack_encode(const struct hb_ack *m, uint8_t *out, size_t cap,
		  size_t *len);
int hb_plg_encode(const struct hb_plg *m, uint8_t *out, size_t cap,
		  size_t *len);
int hb_bye_encode(const struct hb_bye *m, uint8_t *out, size_t cap,
		  size_t *len);

/*
 * Decoders fill *m from buf[0..len). They return 0, HB_EMSGPACK,
 * HB_EFIELD, HB_EMISSING or HB_ELIMIT; *m is unspecified on failure.
 */
int hb_htb_decode(const uint8_t *buf, size_t len, struct hb_htb *m);
int hb_ack_decode(const uint8_t *buf, size_t len, struct hb_ack *m);
int hb_plg_decode(const uint8_t *buf, size_t len, struct hb_plg *m);
int hb_bye_decode(const uint8_t *buf, size_t len, struct hb_bye *m);

/*
 * The Info digest (docs/PROTOCOL.md "Info digest"): BLAKE2b-128 over, for
 * every InfoPlugin in ascending bytewise name order, the name, one zero
 * byte and the BLAKE2b-128 of its PLG data bytes. Feed names in order.
 */
struct hb_digest {
	crypto_generichash_state state;
};
void hb_digest_init(struct hb_digest *d);
void hb_digest_add(struct hb_digest *d, struct hb_str name,
		   const uint8_t *data, size_t data_len);
void hb_digest_final(struct hb_digest *d, uint8_t out[HB_DIGEST_LEN]);

/* BLAKE2b-128 of one plugin's data bytes. */
void hb_data_digest(const uint8_t *data, size_t len,
		    uint8_t out[HB_DIGEST_LEN]);

#endif
