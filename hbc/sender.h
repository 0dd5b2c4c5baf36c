/*
 * sender: hbc's side of the wire protocol (docs/PROTOCOL.md), without
 * sockets or timers of its own, so that tests drive it with a fake clock
 * and capture what it sends.
 *
 * - Heartbeats: sender_heartbeat() builds and seals one HTB: host
 *   attributes, the overall status (the worst plugin status, with a
 *   status_msg naming that plugin), every plugin's status, the Info
 *   digest over the Info plugins it lists.
 * - Plugin data: sender_sample() takes each collection. Monitor samples
 *   become PLG deliveries; Info samples update the Info cache, and are
 *   sent when their data changed or the server asked for it. A delivery
 *   is fragmented per max_datagram and retransmitted with backoff until
 *   ACKed, each time as new datagrams with new seqs.
 * - The spool: deliveries not yet acknowledged, bounded in bytes; when
 *   full the oldest is dropped and counted. Info data stays in the
 *   cache; only its transmission is dropped.
 * - ACKs: accepted only in our mode under our key, for our host id,
 *   naming a datagram we await; the interval override, request_update
 *   and clock skew are applied from them.
 * - Failover: after failover_after unanswered heartbeats the next
 *   server is used; while not on the first, every failover_after-th
 *   heartbeat also goes to the first, which is used again once it
 *   answers.
 * - BYE: sent twice, never acknowledged.
 *
 * Every datagram gets the next seq of the epoch; when seqs run out a
 * new epoch is taken through io->new_epoch.
 */
#ifndef HBC_SENDER_H
#define HBC_SENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hb_key.h"

#define SENDER_INFLIGHT_MAX 8 /* deliveries transmitted and not ACKed */
#define SENDER_INTERVAL_OVERRIDE_MAX 3600 /* seconds */

struct sender_opts {
	uint8_t mode;              /* enum hb_mode */
	const struct hb_key *key;  /* copied; NULL in mode none */
	uint32_t interval_s;       /* configured HTB interval */
	uint32_t n_servers;        /* >= 1; servers are 0 .. n - 1 */
	uint32_t failover_after;   /* unanswered HTBs, >= 1 */
	uint64_t spool_bytes;      /* PLG bodies kept unacknowledged */
	uint32_t retransmit_ms;    /* first retry; doubles ... */
	uint32_t retransmit_max_ms; /* ... up to this */
	size_t max_datagram;       /* HB_FRAME_MIN .. HB_FRAME_MAX */
};

struct sender_io {
	void *ctx;
	/* Sends one datagram to server; 0 or a negative code (counted). */
	int (*send)(void *ctx, uint32_t server, const uint8_t *buf,
		    size_t len);
	uint64_t (*unix_ms)(void *ctx); /* header times, skew */
	uint64_t (*mono_ms)(void *ctx); /* retransmission timing */
	/* A new, persisted epoch when seqs run out; 0 or negative. */
	int (*new_epoch)(void *ctx, uint32_t *epoch);
	/* request_update: collect every Info plugin again (may be NULL). */
	void (*recollect_info)(void *ctx);
	/* The HTB interval in force changed (override or its end). */
	void (*interval_changed)(void *ctx, uint32_t interval_s);
	/* For logs: "host:port" of a server (may be NULL). */
	const char *(*server_name)(void *ctx, uint32_t server);
};

struct sender_label {
	const char *key, *value;
};

/* Host attributes carried by every HTB. Copied by sender_set_host(). */
struct sender_host {
	const char *hostname, *owner, *version;
	uint64_t start_time;    /* Unix s */
	const uint8_t *boot_id; /* 16 bytes, or NULL */
	const struct sender_label *labels;
	size_t n_labels;
};

/* What changes between heartbeats. */
struct sender_sys {
	uint64_t uptime; /* s, 0 unknown */
	bool has_load;
	double load[3];
};

/* One collection of one plugin. data: one msgpack value, or NULL. */
struct sender_sample {
	const char *plugin;
	uint8_t kind;        /* enum hb_kind */
	uint32_t interval_s; /* Monitor: its interval */
	uint8_t status;
	const char *message;
	const uint8_t *data;
	size_t len;
	uint64_t time_ms;
};

struct sender_stats {
	uint64_t datagrams, send_errors;
	uint64_t htb, plg, retransmits, bye;
	uint64_t acks, acks_refused, acks_unknown;
	uint64_t spool_dropped, spool_too_big, info_unchanged;
	uint64_t failovers, requests_update;
	uint64_t spool_bytes, spool_count; /* now */
};

struct sender;

/* NULL on ENOMEM or bad options. */
struct sender *sender_new(const uint8_t host_id[16], uint32_t epoch,
			  const struct sender_opts *o,
			  const struct sender_io *io);
void sender_free(struct sender *s);

/* Applies new options (SIGHUP). A new server count starts at server 0. */
int sender_reconfigure(struct sender *s, const struct sender_opts *o);

int sender_set_host(struct sender *s, const struct sender_host *h);

/* Sends one HTB (and a probe to server 0 when due). 0 or negative. */
int sender_heartbeat(struct sender *s, const struct sender_sys *sys);

/* Takes one collection (data copied). 0 or negative. */
int sender_sample(struct sender *s, const struct sender_sample *smp);

/* The plugin is gone: no longer listed, its Info cache dropped. */
void sender_forget(struct sender *s, const char *plugin);

/*
 * A datagram received (buf is modified: decrypted in place). Returns 0
 * when it was an accepted ACK, else a negative code (it is dropped).
 */
int sender_receive(struct sender *s, uint8_t *buf, size_t len);

/* Retransmits what is due. */
void sender_tick(struct sender *s);

/* Monotonic ms of the next retransmission due, UINT64_MAX if none. */
uint64_t sender_next_due(const struct sender *s);

/* Sends the BYE twice (new seqs each). */
void sender_bye(struct sender *s, const char *reason);

uint32_t sender_interval(const struct sender *s); /* in force, s */
uint32_t sender_server(const struct sender *s);   /* in use */
void sender_get_stats(const struct sender *s, struct sender_stats *st);

#endif
