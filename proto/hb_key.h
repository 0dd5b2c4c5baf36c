/*
 * hb_key: keys and key files. A key is a 32-byte secret with a 32-bit key
 * id that travels in every header; the subkeys actually used on the wire
 * are derived from it per security mode and direction, so one secret
 * serves both directions without nonce or tag reuse between them. A key
 * may be bound to one host id (per-host keys); such a key authenticates
 * only datagrams whose header carries that host id.
 *
 * Key file format (text, docs/PROTOCOL.md "Key files"): one key per line,
 *     <key-id> <64 hex digits> [<host-uuid>]
 * '#' starts a comment, blank lines are ignored. hb-keygen writes them.
 */
#ifndef HB_KEY_H
#define HB_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HB_KEY_LEN 32
#define HB_KDF_CONTEXT "hb-proto" /* libsodium crypto_kdf context, 8 bytes */

struct hb_key {
	uint32_t id;
	bool has_host;
	uint8_t host_id[16];
	/* sub[mode - 1][dir]: mode sign or encrypt, enum hb_dir. */
	uint8_t sub[2][2][HB_KEY_LEN];
};

/*
 * Initialises k from a master secret: id, no host binding, derived
 * subkeys. Returns 0, or HB_EINVAL for id 0 (reserved: "no key").
 */
int hb_key_init(struct hb_key *k, uint32_t id,
		const uint8_t master[HB_KEY_LEN]);

/* Erases a key's secrets. */
void hb_key_wipe(struct hb_key *k);

/*
 * Formats one key-file line (no newline) into out[0..cap): id, master in
 * hex, and the host uuid when host is non-NULL. Returns 0 or HB_ENOSPC.
 */
int hb_key_format(uint32_t id, const uint8_t master[HB_KEY_LEN],
		  const uint8_t *host, char *out, size_t cap);

/* Parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" into 16 bytes. */
int hb_uuid_parse(const char *s, size_t len, uint8_t out[16]);

/* Formats 16 bytes as a lowercase uuid; out must hold 37 bytes. */
void hb_uuid_format(const uint8_t id[16], char out[37]);

/* A set of keys looked up by key id. Opaque. */
struct hb_keyring;

/* Creates an empty keyring; free with hb_keyring_free(). NULL on ENOMEM. */
struct hb_keyring *hb_keyring_new(void);

/* Wipes and frees a keyring and its keys. NULL is allowed. */
void hb_keyring_free(struct hb_keyring *kr);

/* Adds a copy of k. Returns 0, HB_EEXIST (id present) or HB_ENOMEM. */
int hb_keyring_add(struct hb_keyring *kr, const struct hb_key *k);

/*
 * Reads a key file and adds its keys. On a syntax error returns
 * HB_ESYNTAX and writes "path:line:col: problem" into err[0..errlen);
 * HB_EIO when the file cannot be read, HB_EEXIST for a repeated id.
 * Keys added before an error stay in the keyring.
 */
int hb_keyring_load(struct hb_keyring *kr, const char *path, char *err,
		    size_t errlen);

/* Parses key-file text, naming errors after `name`. As hb_keyring_load. */
int hb_keyring_parse(struct hb_keyring *kr, const char *text, size_t len,
		     const char *name, char *err, size_t errlen);

/* Returns the key with this id or NULL. Valid until the keyring changes. */
const struct hb_key *hb_keyring_find(const struct hb_keyring *kr,
				     uint32_t id);

/* Number of keys. */
size_t hb_keyring_count(const struct hb_keyring *kr);

/* The i-th key in ascending id order, i < hb_keyring_count(). */
const struct hb_key *hb_keyring_at(const struct hb_keyring *kr, size_t i);

#endif
