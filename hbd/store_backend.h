/*
 * store_backend: the line between the store's engine-independent half
 * (store.c: queue, writer thread, batching, retries, statistics) and one
 * database engine (store_sqlite.c today; a PostgreSQL one can be added by
 * writing another vtable, without touching store.c).
 *
 * A backend is used by one thread at a time: store.c serialises every
 * call. It never calls back into hbd, except the callbacks of load(),
 * which store_load() runs synchronously on the caller's thread.
 *
 * Return codes of begin/apply/commit/prune:
 *   0          done
 *   HB_EINVAL  apply() only: the database refused this one operation (a
 *              constraint: unknown host, invalid JSON, duplicate uuid...).
 *              Retrying cannot help; the transaction is still usable and
 *              store.c skips the operation and counts it as rejected.
 *   other < 0  the transaction failed (locked, busy, disk full, I/O
 *              error...): store.c rolls back and retries the whole batch
 *              later. error() says why.
 */
#ifndef HBD_STORE_BACKEND_H
#define HBD_STORE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

enum store_op_type {
	STORE_OP_HOST,
	STORE_OP_SEEN,
	STORE_OP_EVENT,
	STORE_OP_PLUGIN,
	STORE_OP_COUNTERS,
	STORE_OP_PRUNE,
};

/* A whole set of counters, replacing what is stored. */
struct store_counters {
	const char *const *names;
	const uint64_t *values;
	size_t n;
	uint64_t time_ms;
};

/*
 * One queued operation. store.c deep-copies what the caller passed into a
 * single malloc'd block starting with this struct: every pointer below
 * points into the same block, so one free() releases it.
 */
struct store_op {
	/* Queue bookkeeping, private to store.c. */
	struct store_op *next;
	uint64_t id;        /* 1, 2, ... in queue order */
	uint64_t queued_ms; /* monotonic */
	size_t size;        /* bytes of the block */
	uint64_t weight;    /* operations it counts as: n for SEEN, else 1 */
	bool rejected;      /* refused by the database in this attempt */

	enum store_op_type type;
	union {
		struct store_host host;
		struct {
			/* Ascending rowid, no duplicates, once store.c
			 * has merged them. */
			const struct store_seen *v;
			size_t n;
		} seen;
		struct store_event event;
		struct store_plugin plugin;
		struct store_counters counters;
		struct {
			uint64_t now_ms, retention_ms;
		} prune;
	};
};

struct store_backend {
	const char *name;

	/*
	 * Opens the database at path, creating or migrating its schema.
	 * Returns a handle, or NULL with a message in err[0..errlen).
	 */
	void *(*open)(const char *path, uint32_t busy_timeout_ms, char *err,
		      size_t errlen);

	/* Loads hosts in rowid order, then Info digests. 0 or HB_EIO. */
	int (*load)(void *db,
		    void (*host_cb)(void *ctx,
				    const struct store_loaded_host *h),
		    void (*info_cb)(void *ctx,
				    const struct store_loaded_info *i),
		    void *ctx);

	int (*begin)(void *db);
	/* Any op type but STORE_OP_PRUNE; see the return codes above. */
	int (*apply)(void *db, const struct store_op *op);
	int (*commit)(void *db);
	/* Ends the transaction, if one is still open. */
	void (*rollback)(void *db);

	/*
	 * Inside a transaction: deletes at most limit rows of plugin
	 * history older than now_ms - retention_ms. Returns how many it
	 * deleted, or a negative HB_E* code.
	 */
	int64_t (*prune)(void *db, uint64_t now_ms, uint64_t retention_ms,
			 unsigned limit);

	/* Text of the last error, for logs and store_stats.last_error. */
	const char *(*error)(void *db);

	void (*close)(void *db);
};

extern const struct store_backend store_sqlite_backend;

#endif
