/*
 * hosts: hbd's in-memory host table, the live state of every host. Hosts
 * are found by UUID through an open-addressing hash (keyed SipHash, so
 * chosen UUIDs cannot degrade it) and live in fixed-size chunks, so a
 * host's address and index never change: the index is the timer wheel's
 * and the dirty list's handle, and index + 1 is the host's database row
 * id. Sized for millions of hosts: about 200 bytes each.
 */
#ifndef HBD_HOSTS_H
#define HBD_HOSTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <netinet/in.h>

#include "hb_replay.h"

#define HOST_NONE UINT32_MAX

/*
 * A host's attributes: what changes rarely and is mostly written to disk.
 * One allocation: the four strings live in text[] after the struct, with
 * their lengths, so a heartbeat compares them without strlen() and a
 * million hosts cost a million blocks, not five million.
 */
struct host_attrs {
	char *hostname;    /* these four point into text[] */
	char *owner;
	char *version;
	char *labels_json;
	char *status_msg; /* overall status message, NULL when none */
	uint32_t labels_len;
	uint16_t hostname_len, owner_len, version_len;
	bool has_boot_id;
	uint8_t boot_id[16];
	char text[];
};

/* Digest of one InfoPlugin's data as the server holds it. */
struct host_info {
	char *name;
	uint8_t digest[16];
};

struct host {
	uint8_t uuid[16];
	struct hb_replay replay;
	uint64_t last_seen_mono; /* ms, server monotonic clock */
	uint64_t last_seen_unix; /* ms */
	uint64_t first_seen_unix;
	uint64_t state_since_unix;
	uint64_t received, lost;  /* datagrams, sequence gaps */
	uint64_t boot_start;      /* client start time (HTB start_time) */
	uint64_t boot_hash;       /* first 8 bytes of the HTB boot_id */
	uint64_t flap_since;      /* mono ms: start of the flap window */
	uint64_t clone_since;     /* mono ms: start of the clone window */
	uint32_t interval_ms;     /* declared (or overridden) interval */
	uint32_t htb_epoch;       /* epoch of the last heartbeat */
	uint32_t next_seq;        /* expected next sequence number */
	uint32_t tx_seq;          /* seq of our last ACK to this host */
	uint32_t wheel_prev, wheel_next; /* timer wheel list */
	uint32_t wheel_tick;
	uint32_t dirty_next; /* dirty list link */
	int32_t skew_ms;
	uint16_t flaps, clone_hits;
	uint8_t state;  /* enum hbd_state */
	uint8_t status; /* overall, enum hb_status */
	uint8_t flags;  /* HOST_* */
	uint8_t n_info;
	struct sockaddr_in6 addr; /* v4 as v4-mapped */
	struct host_attrs *attrs;
	struct host_info *info; /* n_info entries, sorted by name */
};

/* hosts.boot_hash of a boot id: never 0, which means none known. */
static inline uint64_t host_boot_hash(const uint8_t id[16])
{
	uint64_t v;

	memcpy(&v, id, 8);
	return v ? v : 1;
}

#define HOST_USED 0x01
#define HOST_DIRTY 0x02   /* seen data not yet written */
#define HOST_IN_WHEEL 0x04
#define HOST_HAS_INFO 0x08 /* info digests loaded or received */
#define HOST_STORED 0x10   /* its row has been queued to the store */
#define HOST_STATE_UNSAVED 0x20 /* a state event was dropped: resend */

struct hosts;

/* Creates an empty table; NULL on ENOMEM. */
struct hosts *hosts_new(void);

/* Frees the table and every host's attributes. NULL allowed. */
void hosts_free(struct hosts *t);

/* Finds a host by UUID; HOST_NONE when absent. */
uint32_t hosts_find(const struct hosts *t, const uint8_t uuid[16]);

/*
 * Adds a host with this UUID at the next free index (or at index
 * rowid - 1 when rowid > 0, for hosts loaded from the database) and
 * returns its index in *idx; the host is zeroed but for uuid and HOST_USED.
 * Returns 0, HB_EEXIST, or HB_ENOMEM.
 */
int hosts_add(struct hosts *t, const uint8_t uuid[16], int64_t rowid,
	      uint32_t *idx);

/* The host at idx (which hosts_add returned). */
struct host *hosts_at(const struct hosts *t, uint32_t idx);

/*
 * The host at any idx below hosts_end(), or NULL where there is none
 * (row ids loaded from a database may leave gaps): for walking the table.
 */
struct host *hosts_used(const struct hosts *t, uint32_t idx);

/* Number of hosts; one past the highest index in use. */
size_t hosts_count(const struct hosts *t);
uint32_t hosts_end(const struct hosts *t);

/* Bytes the table uses, excluding attributes. */
size_t hosts_memory(const struct hosts *t);

/*
 * Replaces a host's attributes when they differ from the given ones;
 * returns 1 when they changed, 0 when not, HB_ENOMEM.
 */
int hosts_set_attrs(struct host *h, const char *hostname, size_t hlen,
		    const char *owner, size_t olen, const char *version,
		    size_t vlen, const char *labels_json);

/*
 * Sets the overall status message and the boot id (NULL: none) of a host
 * whose attributes are set. Returns 1 when either changed, 0 when not,
 * HB_ENOMEM or HB_EINVAL (no attributes yet).
 */
int hosts_set_status_msg(struct host *h, const char *msg, size_t len,
			 const uint8_t *boot_id);

/*
 * Sets the digest of one InfoPlugin (adding it when new). Returns 0 or
 * HB_ENOMEM, or HB_ELIMIT past 64 InfoPlugins.
 */
int hosts_set_info(struct host *h, const char *name, size_t len,
		   const uint8_t digest[16]);

/*
 * Computes the Info digest over the host's InfoPlugins whose names
 * appear in names[0..n) (the plugins the client reports now), as the
 * protocol defines it. Returns false when the host holds none of them.
 */
bool hosts_info_digest(const struct host *h, const char *const *names,
		       const uint32_t *lens, uint32_t n, uint8_t out[16]);

/* Marks seen data to be written; pops the list for the flush. */
void hosts_mark_dirty(struct hosts *t, uint32_t idx);
uint32_t hosts_take_dirty(struct hosts *t, uint32_t *out, uint32_t max);

#endif
