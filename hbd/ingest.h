/*
 * ingest: the receive path of one datagram, from bytes to host state and
 * store operations: header checks, skew, key, replay window, tag, then
 * reassembly and the body of HTB, PLG or BYE; and the ACK it earns.
 * Every datagram that is dropped is counted under its reason. Runs on
 * the event loop; never blocks (the store queues, hooks are async).
 */
#ifndef HBD_INGEST_H
#define HBD_INGEST_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "counters.h"
#include "hb_frag.h"
#include "hb_json.h"
#include "hb_key.h"
#include "hb_log.h"
#include "hb_msg.h"
#include "hosts.h"
#include "state.h"
#include "store.h"

struct ingest_opts {
	uint8_t min_mode;         /* weakest security mode accepted */
	uint64_t skew_ms;         /* clock-skew window, 0 = off */
	uint32_t clone_window_ms; /* older-epoch datagrams counted over this */
	uint32_t clone_threshold; /* that many make a clone event */
};

/*
 * Lines logged per host (a restart, a state change) are capped at this
 * many a second, the rest summed up: a storm of a hundred thousand hosts
 * would otherwise cost as many write(2)s on the event loop.
 */
#define HBD_HOST_LINES_PER_S 20

struct ingest {
	struct hosts *hosts;
	struct statem *sm;
	const struct hb_keyring *keys;
	struct hb_reasm *reasm;
	struct store *store;
	struct counters *ctr;
	struct ingest_opts opts;
	uint32_t server_epoch;
	uint32_t override_s; /* interval override in ACKs, 0 = none */
	struct hb_log_burst log_events; /* restart, reboot, clone... lines */
	struct hb_htb htb;   /* scratch, too big for the stack */
	struct hb_buf json;
};

/* Binds the collaborators; scratch buffers start empty. */
void ingest_init(struct ingest *in, struct hosts *hosts, struct statem *sm,
		 const struct hb_keyring *keys, struct hb_reasm *reasm,
		 struct store *store, struct counters *ctr,
		 const struct ingest_opts *opts, uint32_t server_epoch);

/* Frees the scratch buffers. */
void ingest_cleanup(struct ingest *in);

/*
 * Processes the datagram buf[0..len) (modified in place: decrypted)
 * from `from`, received at mono (monotonic ms) and unix_ms. When it
 * earns an ACK, the ACK is written to reply[0..cap) and *reply_len set;
 * otherwise *reply_len is 0.
 */
void ingest_datagram(struct ingest *in, uint8_t *buf, size_t len,
		     const struct sockaddr_in6 *from, uint64_t mono,
		     uint64_t unix_ms, uint8_t *reply, size_t cap,
		     size_t *reply_len);

/* Writes a host's identity and attributes to the store. */
void ingest_store_host(struct ingest *in, uint32_t idx);

/* Formats a host's address as "ip:port" ("[ip]:port" for IPv6). */
void ingest_format_addr(const struct sockaddr_in6 *a, char *out, size_t cap);

#endif
