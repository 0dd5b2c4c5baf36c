/*
 * store: where hbd keeps hosts, plugin data, history, events and
 * counters. Ingest code talks only to this interface; the SQLite
 * implementation (store_sqlite.c) sits behind it, and a PostgreSQL one
 * can be added without touching ingest. Writes are queued and performed
 * by the store's own writer thread in batched transactions, so the
 * caller (the event loop) never waits on the disk. The queue is bounded;
 * when the database is locked or the disk is full the writer keeps the
 * batch and retries with backoff, the queue absorbs the backlog, and
 * what no longer fits is dropped and counted (store_stats).
 *
 * Hosts are addressed by their row id, which hbd assigns itself (it is
 * the only writer of the database): host table index + 1.
 */
#ifndef HBD_STORE_H
#define HBD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum hbd_state {
	HBD_STATE_UP = 0,
	HBD_STATE_LATE = 1,
	HBD_STATE_DOWN = 2,
	HBD_STATE_STOPPED = 3,
};
#define HBD_STATE_COUNT 4

/* "UP", "LATE", "DOWN", "STOPPED" or "?". */
const char *hbd_state_name(int state);

/* A host's identity and attributes, written when new or changed. */
struct store_host {
	int64_t rowid;
	uint8_t uuid[16];
	const char *hostname;
	const char *address;     /* "ip:port" the host last sent from */
	const char *owner;       /* may be "" */
	const char *labels_json; /* JSON object text, "{}" when none */
	const char *version;     /* hbc version, may be "" */
	uint32_t interval_s;
	int state;              /* enum hbd_state */
	uint64_t state_since_ms; /* Unix ms */
	uint64_t first_seen_ms;
	uint64_t last_seen_ms;
	uint32_t epoch, seq;
	int status; /* overall, enum hb_status */
	const char *status_msg;
	uint64_t boot_start; /* client start time, Unix s */
	const uint8_t *boot_id; /* 16 bytes or NULL */
};

/* The part of a host that changes with every heartbeat. */
struct store_seen {
	int64_t rowid;
	uint64_t last_seen_ms;
	uint32_t epoch, seq;
	int32_t skew_ms; /* client clock minus server clock */
	int status;
	uint64_t received, lost; /* datagrams, and sequence gaps */
	/*
	 * The state again, or -1 to leave it alone. A state event writes
	 * it, but may have been dropped on a full backlog: the next seen
	 * update of that host carries it, and the row converges.
	 */
	int state;
	uint64_t state_since_ms;
};

struct store_event {
	int64_t rowid;    /* host */
	uint64_t time_ms; /* Unix ms */
	const char *kind; /* "state", "reboot", "restart", "clone", ... */
	int from, to;     /* states for kind "state", else -1 */
	const char *reason;
};

struct store_plugin {
	int64_t rowid; /* host */
	const char *plugin;
	int kind;   /* enum hb_kind */
	int status; /* enum hb_status */
	const char *message;
	uint64_t time_ms; /* collection time, Unix ms */
	uint64_t received_ms;
	uint32_t interval_s;
	const char *data_json;
	const uint8_t *digest; /* 16 bytes: hb_data_digest of the msgpack */
};

/* What the store loads back on start, one host at a time. */
struct store_loaded_host {
	int64_t rowid;
	uint8_t uuid[16];
	const char *hostname, *address, *owner, *labels_json, *version;
	uint32_t interval_s;
	int state;
	uint64_t state_since_ms, first_seen_ms, last_seen_ms;
	uint32_t epoch, seq;
	int status;
	const char *status_msg;
	int32_t skew_ms;
	uint64_t received, lost; /* so the row's counts keep growing */
	uint64_t boot_start;     /* client start time, Unix s */
	const uint8_t *boot_id;  /* 16 bytes or NULL */
};

struct store_loaded_info {
	int64_t rowid;
	const char *plugin;
	const uint8_t *digest; /* 16 bytes */
};

struct store_stats {
	uint64_t queued;     /* operations accepted */
	uint64_t written;    /* operations committed */
	uint64_t dropped;    /* operations refused: backlog full */
	uint64_t deferred;   /* seen updates refused, kept in memory */
	uint64_t rejected;   /* refused by the database (constraint): skipped */
	uint64_t failures;   /* failed transaction attempts */
	uint64_t backlog;    /* operations waiting now */
	uint64_t backlog_bytes;
	uint64_t lag_ms;     /* age of the oldest waiting operation */
	uint64_t batches;
	bool failing;        /* last attempt failed */
	char last_error[160];
};

struct store_opts {
	const char *path;        /* database file */
	uint64_t backlog_bytes;  /* cap on queued data */
	uint32_t batch_ms;       /* longest a write waits to be batched */
	uint64_t retention_ms;   /* plugin history kept this long */
	uint32_t busy_timeout_ms;
};

struct store;

/*
 * Opens (creating or migrating the schema) the database and starts the
 * writer thread. Returns 0 and *out, or HB_EIO with a message in
 * err[0..errlen). The caller frees with store_close().
 */
int store_open(const struct store_opts *o, struct store **out, char *err,
	       size_t errlen);

/*
 * Loads hosts and Info digests synchronously, before the writer starts
 * taking work; callbacks get pointers valid only during the call.
 * Returns 0 or HB_EIO.
 */
int store_load(struct store *s,
	       void (*host_cb)(void *ctx, const struct store_loaded_host *h),
	       void (*info_cb)(void *ctx, const struct store_loaded_info *i),
	       void *ctx);

/*
 * Queue operations. Each copies what it is given; the caller keeps
 * ownership of its arguments. Each returns 0 or HB_ENOSPC when the
 * backlog is full (the operation is dropped and counted).
 */
int store_put_host(struct store *s, const struct store_host *h);
int store_put_seen(struct store *s, const struct store_seen *v, size_t n);
int store_put_event(struct store *s, const struct store_event *e);
int store_put_plugin(struct store *s, const struct store_plugin *p);

/* Counters as name/value pairs, replacing the stored set. */
int store_put_counters(struct store *s, const char *const *names,
		       const uint64_t *values, size_t n, uint64_t time_ms);

/* Deletes plugin history older than the retention. Queued like a write. */
int store_prune(struct store *s, uint64_t now_ms);

/* Copies the current statistics (thread-safe). */
void store_get_stats(struct store *s, struct store_stats *st);

/*
 * Waits until everything queued so far is committed or timeout_ms passes.
 * Returns 0, or HB_EIO when the writer could not catch up in time.
 */
int store_flush(struct store *s, uint32_t timeout_ms);

/* Flushes (bounded by timeout_ms), stops the writer, closes. */
void store_close(struct store *s, uint32_t timeout_ms);

#endif
