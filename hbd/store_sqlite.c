/*
 * store_sqlite: the SQLite backend of the store (store_backend.h).
 *
 * The database runs in WAL mode with synchronous=NORMAL: readers (the
 * query tools, an operator's sqlite3 shell) never block hbd's writer nor
 * the other way round, and a power cut can lose the last commits but
 * never corrupts the file. The busy timeout is short on purpose: a lock
 * held longer is the writer's retry loop's business, not a stall here.
 * Foreign keys are enforced. Statements are prepared once, at open.
 *
 * The schema is versioned with PRAGMA user_version and migrated at open;
 * a database newer than this hbd is refused. To change it, append a step
 * to migrations[] below; never edit a released step.
 *
 * Schema, version 2. Times are Unix milliseconds (INTEGER) unless the
 * name says otherwise; status is 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
 *
 * hosts: one row per host hbd has ever heard from.
 *   id           row id, assigned by hbd (its host table index + 1)
 *   uuid         host id, canonical lowercase text
 *                ("0a1b2c3d-...-..."), unique
 *   hostname     as the host reports it
 *   address      "ip:port" the last datagram came from
 *   owner        free text set on the client, may be ''
 *   labels       JSON object of the client's labels ('{}' when none):
 *                json_extract(labels, '$.env')
 *   version      hbc version, may be ''
 *   interval_s   heartbeat interval the host announced, seconds
 *   state        'UP', 'LATE', 'DOWN' or 'STOPPED'
 *   state_since  when it entered that state
 *   first_seen   first authenticated datagram ever
 *   last_seen    last authenticated datagram of any type (state
 *                timing uses heartbeats only)
 *   epoch, seq   sequence position of that heartbeat (replay window)
 *   status       overall status the host reported
 *   status_text  status as text, computed (not stored)
 *   status_msg   the host's explanation of its status, may be ''
 *   skew_ms      client clock minus server clock at the last heartbeat
 *   received     datagrams received from the host since hbd started
 *   lost         heartbeats missing from the sequence (gaps)
 *   boot_start   when the client started, Unix seconds
 *   boot_id      kernel boot id as a uuid text, NULL if not reported
 *
 * plugin_latest: the newest sample of each plugin of each host. A sample
 * older than the stored one (a late retransmission) does not replace it.
 *   host_id      hosts.id
 *   plugin       plugin name
 *   kind         'info' (inventory, sent on change) or 'monitor'
 *   status, status_text, message  the plugin's verdict
 *   time         when the client collected the sample
 *   received     when hbd received it
 *   interval_s   how often the plugin runs, seconds (0: on change)
 *   data         the sample as JSON text: json_extract(data, '$.x')
 *   digest       16-byte BLOB, hash of the sample (Info change detection)
 *
 * plugin_history: every sample, kept for the retention period and pruned
 * by time. A sample delivered twice is stored once.
 *   id, host_id, plugin, time, status, message, data  as above
 *
 * events: what happened to hosts, newest last.
 *   id           insertion order
 *   host_id      hosts.id
 *   time         when it happened
 *   kind         'state' (a state change), 'reboot', 'restart', 'clone'...
 *   from_state, to_state  'UP'... for kind 'state', else NULL
 *   reason       why, in words
 *
 * counters: hbd's own counters, the whole set rewritten periodically.
 *   name, value, time (when written)
 */
#include <ctype.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#define HB_LOG_MODULE HB_MOD_STORE
#include "hb_error.h"
#include "hb_log.h"
#include "store.h"
#include "store_backend.h"

/* Busy timeout while opening: migrations may wait for another process. */
#define OPEN_BUSY_MS 5000

static const char *const migrations[] = {
	/* 1: the initial schema. */
	"CREATE TABLE hosts ("
	" id INTEGER PRIMARY KEY,"
	" uuid TEXT NOT NULL UNIQUE CHECK (length(uuid) = 36),"
	" hostname TEXT NOT NULL DEFAULT '',"
	" address TEXT NOT NULL DEFAULT '',"
	" owner TEXT NOT NULL DEFAULT '',"
	" labels TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(labels)),"
	" version TEXT NOT NULL DEFAULT '',"
	" interval_s INTEGER NOT NULL DEFAULT 0,"
	" state TEXT NOT NULL DEFAULT 'UP'"
	"  CHECK (state IN ('UP', 'LATE', 'DOWN', 'STOPPED')),"
	" state_since INTEGER NOT NULL DEFAULT 0,"
	" first_seen INTEGER NOT NULL DEFAULT 0,"
	" last_seen INTEGER NOT NULL DEFAULT 0,"
	" epoch INTEGER NOT NULL DEFAULT 0,"
	" seq INTEGER NOT NULL DEFAULT 0,"
	" status INTEGER NOT NULL DEFAULT 3,"
	" status_text TEXT GENERATED ALWAYS AS (CASE status"
	"  WHEN 0 THEN 'OK' WHEN 1 THEN 'WARNING' WHEN 2 THEN 'CRITICAL'"
	"  WHEN 3 THEN 'UNKNOWN' END) VIRTUAL,"
	" status_msg TEXT NOT NULL DEFAULT '',"
	" skew_ms INTEGER NOT NULL DEFAULT 0,"
	" received INTEGER NOT NULL DEFAULT 0,"
	" lost INTEGER NOT NULL DEFAULT 0,"
	" boot_start INTEGER NOT NULL DEFAULT 0,"
	" boot_id TEXT);"
	"CREATE TABLE plugin_latest ("
	" host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
	" plugin TEXT NOT NULL,"
	" kind TEXT NOT NULL CHECK (kind IN ('info', 'monitor')),"
	" status INTEGER NOT NULL,"
	" status_text TEXT GENERATED ALWAYS AS (CASE status"
	"  WHEN 0 THEN 'OK' WHEN 1 THEN 'WARNING' WHEN 2 THEN 'CRITICAL'"
	"  WHEN 3 THEN 'UNKNOWN' END) VIRTUAL,"
	" message TEXT NOT NULL DEFAULT '',"
	" time INTEGER NOT NULL,"
	" received INTEGER NOT NULL,"
	" interval_s INTEGER NOT NULL DEFAULT 0,"
	" data TEXT CHECK (data IS NULL OR json_valid(data)),"
	" digest BLOB,"
	" PRIMARY KEY (host_id, plugin));"
	"CREATE TABLE plugin_history ("
	" id INTEGER PRIMARY KEY,"
	" host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
	" plugin TEXT NOT NULL,"
	" time INTEGER NOT NULL,"
	" status INTEGER NOT NULL,"
	" message TEXT NOT NULL DEFAULT '',"
	" data TEXT CHECK (data IS NULL OR json_valid(data)),"
	" UNIQUE (host_id, plugin, time));"
	"CREATE INDEX plugin_history_time ON plugin_history(time);"
	"CREATE TABLE events ("
	" id INTEGER PRIMARY KEY,"
	" host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
	" time INTEGER NOT NULL,"
	" kind TEXT NOT NULL,"
	" from_state TEXT,"
	" to_state TEXT,"
	" reason TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX events_host_time ON events(host_id, time);"
	"CREATE INDEX events_time ON events(time);"
	"CREATE TABLE counters ("
	" name TEXT PRIMARY KEY,"
	" value INTEGER NOT NULL,"
	" time INTEGER NOT NULL);",
	/*
	 * 2: the same check on hosts.state, written with ORs. SQLite checks
	 * an IN list of more than two constants by building an ephemeral
	 * index, on every row written: that doubled the cost of each state
	 * update and host upsert. The meaning is unchanged and no stored
	 * value can fail it, so the table's text is edited in place, as
	 * SQLite documents for changing a CHECK (migrate() bumps
	 * schema_version after it), instead of copying every row.
	 */
	"PRAGMA writable_schema = ON;"
	"UPDATE sqlite_schema SET sql = replace(sql,"
	" 'CHECK (state IN (''UP'', ''LATE'', ''DOWN'', ''STOPPED''))',"
	" 'CHECK (state = ''UP'' OR state = ''LATE'' OR state = ''DOWN'''"
	" || ' OR state = ''STOPPED'')')"
	" WHERE type = 'table' AND name = 'hosts';"
	"PRAGMA writable_schema = OFF;",
};

#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

enum {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_HOST,
	ST_SEEN,
	ST_SEEN_STATE,
	ST_EVENT,
	ST_STATE,
	ST_LATEST,
	ST_HISTORY,
	ST_CTR_CLEAR,
	ST_CTR_PUT,
	ST_PRUNE,
	ST_COUNT
};

static const char *const sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_HOST] =
		"INSERT INTO hosts (id, uuid, hostname, address, owner, labels,"
		" version, interval_s, state, state_since, first_seen,"
		" last_seen, epoch, seq, status, status_msg, boot_start,"
		" boot_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
		" ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"
		" ON CONFLICT (id) DO UPDATE SET uuid = excluded.uuid,"
		" hostname = excluded.hostname, address = excluded.address,"
		" owner = excluded.owner, labels = excluded.labels,"
		" version = excluded.version,"
		" interval_s = excluded.interval_s, state = excluded.state,"
		" state_since = excluded.state_since,"
		" first_seen = excluded.first_seen,"
		" last_seen = excluded.last_seen, epoch = excluded.epoch,"
		" seq = excluded.seq, status = excluded.status,"
		" status_msg = excluded.status_msg,"
		" boot_start = excluded.boot_start, boot_id = excluded.boot_id",
	/*
	 * Without the state columns, SQLite skips their CHECK, which for an
	 * IN list builds an ephemeral index per row: half the cost of the
	 * update. The state is written by its events, and by ST_SEEN_STATE
	 * only when such an event was dropped.
	 */
	[ST_SEEN] = "UPDATE hosts SET last_seen = ?2, epoch = ?3, seq = ?4,"
		    " skew_ms = ?5, status = ?6, received = ?7, lost = ?8"
		    " WHERE id = ?1",
	[ST_SEEN_STATE] = "UPDATE hosts SET last_seen = ?2, epoch = ?3,"
			  " seq = ?4, skew_ms = ?5, status = ?6,"
			  " received = ?7, lost = ?8, state = ?9,"
			  " state_since = ?10 WHERE id = ?1",
	[ST_EVENT] = "INSERT INTO events (host_id, time, kind, from_state,"
		     " to_state, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_STATE] = "UPDATE hosts SET state = ?2, state_since = ?3"
		     " WHERE id = ?1",
	[ST_LATEST] =
		"INSERT INTO plugin_latest (host_id, plugin, kind, status,"
		" message, time, received, interval_s, data, digest)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
		" ON CONFLICT (host_id, plugin) DO UPDATE SET"
		" kind = excluded.kind, status = excluded.status,"
		" message = excluded.message, time = excluded.time,"
		" received = excluded.received,"
		" interval_s = excluded.interval_s, data = excluded.data,"
		" digest = excluded.digest"
		" WHERE excluded.time >= plugin_latest.time",
	[ST_HISTORY] = "INSERT OR IGNORE INTO plugin_history (host_id,"
		       " plugin, time, status, message, data)"
		       " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_CTR_CLEAR] = "DELETE FROM counters",
	[ST_CTR_PUT] = "INSERT OR REPLACE INTO counters (name, value, time)"
		       " VALUES (?1, ?2, ?3)",
	[ST_PRUNE] = "DELETE FROM plugin_history WHERE id IN (SELECT id"
		     " FROM plugin_history WHERE time < ?1 LIMIT ?2)",
};

struct sdb {
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
	char err[160];
};

/* ---- Errors ---- */

/*
 * Records why a statement failed and whether retrying can help: a
 * constraint belongs to the operation (HB_EINVAL, skip it), anything else
 * (busy, locked, full, I/O...) to the database (HB_EIO, retry).
 */
static int fail(struct sdb *d, int rc, const char *what)
{
	snprintf(d->err, sizeof(d->err), "%s: %s", what,
		 sqlite3_errmsg(d->db));
	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
	case SQLITE_TOOBIG:
	case SQLITE_RANGE:
		/* Only if the transaction survived the error. */
		if (!sqlite3_get_autocommit(d->db))
			return HB_EINVAL;
		return HB_EIO;
	default:
		return HB_EIO;
	}
}

/* Runs a prepared statement that returns no rows, and resets it. */
static int run(struct sdb *d, int which, const char *what)
{
	sqlite3_stmt *st = d->st[which];
	int rc = sqlite3_step(st);

	if (rc == SQLITE_DONE || rc == SQLITE_ROW) {
		sqlite3_reset(st);
		return 0;
	}
	rc = fail(d, rc, what);
	sqlite3_reset(st);
	return rc;
}

/* ---- Binding ---- */

/*
 * SQLITE_STATIC: bound text lives until the statement has run, and every
 * parameter is bound again before the next run.
 */
static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	sqlite3_bind_text(st, i, s ? s : "", -1, SQLITE_STATIC);
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

static void bind_u64(sqlite3_stmt *st, int i, uint64_t v)
{
	sqlite3_bind_int64(st, i, (sqlite3_int64)v);
}

/* 16 bytes as a canonical lowercase uuid; out holds 37 bytes. */
static void uuid_text(const uint8_t *id, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*out++ = '-';
		*out++ = hex[id[i] >> 4];
		*out++ = hex[id[i] & 15];
	}
	*out = '\0';
}

/* The inverse of uuid_text(), any case; false if s is not a uuid. */
static bool uuid_parse(const char *s, uint8_t *id)
{
	static const char hex[] = "0123456789abcdef";
	const char *h;

	for (int i = 0; i < 32; i++) {
		if ((i == 8 || i == 12 || i == 16 || i == 20) && *s++ != '-')
			return false;
		if (!*s || !(h = strchr(hex, tolower((unsigned char)*s++))))
			return false;
		if (i % 2)
			id[i / 2] |= (uint8_t)(h - hex);
		else
			id[i / 2] = (uint8_t)((h - hex) << 4);
	}
	return *s == '\0';
}

static const char *kind_name(int kind)
{
	/* enum hb_kind; anything else fails the CHECK constraint. */
	return kind == 0 ? "info" : kind == 1 ? "monitor" : "?";
}

static int state_parse(const char *s)
{
	for (int i = 0; i < HBD_STATE_COUNT; i++)
		if (s && strcmp(s, hbd_state_name(i)) == 0)
			return i;
	/* Unreadable: not alive until it is heard from again. */
	return HBD_STATE_DOWN;
}

/* ---- Operations ---- */

static int put_host(struct sdb *d, const struct store_host *h)
{
	sqlite3_stmt *st = d->st[ST_HOST];
	char uuid[37], boot[37];

	uuid_text(h->uuid, uuid);
	if (h->boot_id)
		uuid_text(h->boot_id, boot);
	sqlite3_bind_int64(st, 1, h->rowid);
	bind_text(st, 2, uuid);
	bind_text(st, 3, h->hostname);
	bind_text(st, 4, h->address);
	bind_text(st, 5, h->owner);
	bind_text(st, 6, h->labels_json && *h->labels_json ? h->labels_json
							   : "{}");
	bind_text(st, 7, h->version);
	bind_u64(st, 8, h->interval_s);
	bind_text(st, 9, hbd_state_name(h->state));
	bind_u64(st, 10, h->state_since_ms);
	bind_u64(st, 11, h->first_seen_ms);
	bind_u64(st, 12, h->last_seen_ms);
	bind_u64(st, 13, h->epoch);
	bind_u64(st, 14, h->seq);
	sqlite3_bind_int(st, 15, h->status);
	bind_text(st, 16, h->status_msg);
	bind_u64(st, 17, h->boot_start);
	bind_text_or_null(st, 18, h->boot_id ? boot : NULL);
	return run(d, ST_HOST, "host");
}

/* Refused entries are skipped here: a seen batch is never refused. */
static int put_seen(struct sdb *d, const struct store_seen *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int k = v[i].state >= 0 ? ST_SEEN_STATE : ST_SEEN;
		sqlite3_stmt *st = d->st[k];
		int rc;

		sqlite3_bind_int64(st, 1, v[i].rowid);
		bind_u64(st, 2, v[i].last_seen_ms);
		bind_u64(st, 3, v[i].epoch);
		bind_u64(st, 4, v[i].seq);
		sqlite3_bind_int(st, 5, v[i].skew_ms);
		sqlite3_bind_int(st, 6, v[i].status);
		bind_u64(st, 7, v[i].received);
		bind_u64(st, 8, v[i].lost);
		if (k == ST_SEEN_STATE) {
			bind_text(st, 9, hbd_state_name(v[i].state));
			bind_u64(st, 10, v[i].state_since_ms);
		}
		rc = run(d, k, "seen");
		if (rc == HB_EINVAL)
			hb_log_warn("host %" PRId64 ": %s", v[i].rowid, d->err);
		else if (rc)
			return rc;
	}
	return 0;
}

static int put_event(struct sdb *d, const struct store_event *e)
{
	sqlite3_stmt *st = d->st[ST_EVENT];
	bool state = e->kind && strcmp(e->kind, "state") == 0 && e->to >= 0;
	int rc;

	sqlite3_bind_int64(st, 1, e->rowid);
	bind_u64(st, 2, e->time_ms);
	bind_text(st, 3, e->kind);
	bind_text_or_null(st, 4, e->from >= 0 ? hbd_state_name(e->from) : NULL);
	bind_text_or_null(st, 5, e->to >= 0 ? hbd_state_name(e->to) : NULL);
	bind_text(st, 6, e->reason);
	rc = run(d, ST_EVENT, "event");
	if (rc || !state)
		return rc;
	st = d->st[ST_STATE];
	sqlite3_bind_int64(st, 1, e->rowid);
	bind_text(st, 2, hbd_state_name(e->to));
	bind_u64(st, 3, e->time_ms);
	return run(d, ST_STATE, "state");
}

static int put_plugin(struct sdb *d, const struct store_plugin *p)
{
	sqlite3_stmt *st = d->st[ST_LATEST];
	const char *data = p->data_json && *p->data_json ? p->data_json : NULL;
	int rc;

	sqlite3_bind_int64(st, 1, p->rowid);
	bind_text(st, 2, p->plugin);
	bind_text(st, 3, kind_name(p->kind));
	sqlite3_bind_int(st, 4, p->status);
	bind_text(st, 5, p->message);
	bind_u64(st, 6, p->time_ms);
	bind_u64(st, 7, p->received_ms);
	bind_u64(st, 8, p->interval_s);
	/* "" is not JSON: stored as no data rather than refused. */
	bind_text_or_null(st, 9, data);
	if (p->digest)
		sqlite3_bind_blob(st, 10, p->digest, 16, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 10);
	/* Latest first: what it refuses (unknown host...) stays out of
	 * the history too. */
	rc = run(d, ST_LATEST, "plugin");
	if (rc)
		return rc;
	st = d->st[ST_HISTORY];
	sqlite3_bind_int64(st, 1, p->rowid);
	bind_text(st, 2, p->plugin);
	bind_u64(st, 3, p->time_ms);
	sqlite3_bind_int(st, 4, p->status);
	bind_text(st, 5, p->message);
	bind_text_or_null(st, 6, data);
	return run(d, ST_HISTORY, "plugin history");
}

static int put_counters(struct sdb *d, const struct store_counters *c)
{
	sqlite3_stmt *st = d->st[ST_CTR_PUT];
	int rc = run(d, ST_CTR_CLEAR, "counters");

	for (size_t i = 0; !rc && i < c->n; i++) {
		bind_text(st, 1, c->names[i]);
		bind_u64(st, 2, c->values[i]);
		bind_u64(st, 3, c->time_ms);
		rc = run(d, ST_CTR_PUT, "counters");
	}
	return rc;
}

static int sq_apply(void *h, const struct store_op *op)
{
	struct sdb *d = h;

	switch (op->type) {
	case STORE_OP_HOST: return put_host(d, &op->host);
	case STORE_OP_SEEN: return put_seen(d, op->seen.v, op->seen.n);
	case STORE_OP_EVENT: return put_event(d, &op->event);
	case STORE_OP_PLUGIN: return put_plugin(d, &op->plugin);
	case STORE_OP_COUNTERS: return put_counters(d, &op->counters);
	case STORE_OP_PRUNE: break;
	}
	snprintf(d->err, sizeof(d->err), "unknown operation %d", op->type);
	return HB_EINVAL;
}

static int sq_begin(void *h)
{
	return run(h, ST_BEGIN, "begin");
}

static int sq_commit(void *h)
{
	return run(h, ST_COMMIT, "commit");
}

static void sq_rollback(void *h)
{
	struct sdb *d = h;

	/* Some errors (I/O, disk full) have rolled back already. */
	if (!sqlite3_get_autocommit(d->db)) {
		sqlite3_step(d->st[ST_ROLLBACK]);
		sqlite3_reset(d->st[ST_ROLLBACK]);
	}
}

static int64_t sq_prune(void *h, uint64_t now_ms, uint64_t retention_ms,
			unsigned limit)
{
	struct sdb *d = h;
	sqlite3_stmt *st = d->st[ST_PRUNE];
	int rc;

	if (now_ms <= retention_ms)
		return 0;
	bind_u64(st, 1, now_ms - retention_ms);
	sqlite3_bind_int(st, 2, (int)limit);
	rc = run(d, ST_PRUNE, "prune");
	return rc ? rc : sqlite3_changes(d->db);
}

static const char *sq_error(void *h)
{
	return ((struct sdb *)h)->err;
}

/* ---- Loading ---- */

static int exec(struct sdb *d, const char *what, const char *q)
{
	int rc = sqlite3_exec(d->db, q, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : fail(d, rc, what);
}

static const char *col_text(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);

	return s ? s : "";
}

struct load {
	void (*host_cb)(void *ctx, const struct store_loaded_host *h);
	void (*info_cb)(void *ctx, const struct store_loaded_info *i);
	void *ctx;
};

static void load_host(sqlite3_stmt *st, const struct load *l)
{
	struct store_loaded_host h = {
		.rowid = sqlite3_column_int64(st, 0),
		.hostname = col_text(st, 2),
		.address = col_text(st, 3),
		.owner = col_text(st, 4),
		.labels_json = col_text(st, 5),
		.version = col_text(st, 6),
		.interval_s = (uint32_t)sqlite3_column_int64(st, 7),
		.state = state_parse(col_text(st, 8)),
		.state_since_ms = (uint64_t)sqlite3_column_int64(st, 9),
		.first_seen_ms = (uint64_t)sqlite3_column_int64(st, 10),
		.last_seen_ms = (uint64_t)sqlite3_column_int64(st, 11),
		.epoch = (uint32_t)sqlite3_column_int64(st, 12),
		.seq = (uint32_t)sqlite3_column_int64(st, 13),
		.status = sqlite3_column_int(st, 14),
		.status_msg = col_text(st, 15),
		.skew_ms = sqlite3_column_int(st, 16),
		.received = (uint64_t)sqlite3_column_int64(st, 17),
		.lost = (uint64_t)sqlite3_column_int64(st, 18),
		.boot_start = (uint64_t)sqlite3_column_int64(st, 19),
	};
	uint8_t boot_id[16];

	if (sqlite3_column_type(st, 20) == SQLITE_TEXT &&
	    uuid_parse(col_text(st, 20), boot_id))
		h.boot_id = boot_id;
	if (uuid_parse(col_text(st, 1), h.uuid))
		l->host_cb(l->ctx, &h);
	else
		hb_log_warn("host %" PRId64 ": bad uuid '%s', not loaded",
			    h.rowid, col_text(st, 1));
}

static void load_info(sqlite3_stmt *st, const struct load *l)
{
	struct store_loaded_info i = {
		.rowid = sqlite3_column_int64(st, 0),
		.plugin = col_text(st, 1),
		.digest = sqlite3_column_blob(st, 2),
	};

	if (i.digest && sqlite3_column_bytes(st, 2) == 16)
		l->info_cb(l->ctx, &i);
}

/* Hands every row of query to row(). 0 or HB_EIO. */
static int load_rows(struct sdb *d, const char *query,
		     void (*row)(sqlite3_stmt *, const struct load *),
		     const struct load *l)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(d->db, query, -1, &st, NULL);

	if (rc == SQLITE_OK)
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			row(st, l);
	if (rc != SQLITE_DONE)
		fail(d, rc, "load");
	sqlite3_finalize(st); /* NULL, harmlessly, if prepare failed */
	return rc == SQLITE_DONE ? 0 : HB_EIO;
}

static int sq_load(void *h,
		   void (*host_cb)(void *ctx, const struct store_loaded_host *),
		   void (*info_cb)(void *ctx, const struct store_loaded_info *),
		   void *ctx)
{
	struct sdb *d = h;
	struct load l = {host_cb, info_cb, ctx};
	int rc = exec(d, "load", "BEGIN");

	/* One read transaction: hosts and digests from the same moment. */
	if (!rc)
		rc = load_rows(d,
			       "SELECT id, uuid, hostname, address, owner,"
			       " labels, version, interval_s, state,"
			       " state_since, first_seen, last_seen, epoch,"
			       " seq, status, status_msg, skew_ms, received,"
			       " lost, boot_start, boot_id FROM hosts"
			       " ORDER BY id",
			       load_host, &l);
	if (!rc)
		rc = load_rows(d,
			       "SELECT host_id, plugin, digest FROM"
			       " plugin_latest WHERE kind = 'info'"
			       " ORDER BY host_id, plugin",
			       load_info, &l);
	sqlite3_exec(d->db, "COMMIT", NULL, NULL, NULL);
	if (rc)
		hb_log_err("loading the database: %s", d->err);
	return rc ? HB_EIO : 0;
}

/* ---- Opening ---- */

static int user_version(struct sdb *d, int *version)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(d->db, "PRAGMA user_version", -1, &st,
				    NULL);

	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			*version = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	return rc == SQLITE_ROW ? 0 : fail(d, rc, "schema version");
}

static int bump_schema_version(struct sdb *d)
{
	sqlite3_stmt *st;
	char q[64];
	int rc = sqlite3_prepare_v2(d->db, "PRAGMA schema_version", -1, &st,
				    NULL);

	if (rc != SQLITE_OK)
		return fail(d, rc, "schema version");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		snprintf(q, sizeof(q), "PRAGMA schema_version = %lld",
			 (long long)sqlite3_column_int64(st, 0) + 1);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return fail(d, rc, "schema version");
	return exec(d, "migrate", q);
}

/* Applies the migration steps the database lacks, in one transaction. */
static int migrate(struct sdb *d)
{
	char q[64];
	int from = 0, rc = exec(d, "migrate", "BEGIN IMMEDIATE");

	/* Read inside the transaction: another hbd may be migrating. */
	if (!rc)
		rc = user_version(d, &from);
	if (!rc && from > SCHEMA_VERSION) {
		snprintf(d->err, sizeof(d->err),
			 "database schema version %d is newer than this hbd's"
			 " (%d)",
			 from, SCHEMA_VERSION);
		rc = HB_EIO;
	}
	for (int v = from; !rc && v < SCHEMA_VERSION; v++) {
		snprintf(q, sizeof(q), "PRAGMA user_version = %d", v + 1);
		rc = exec(d, "migrate", migrations[v]);
		if (!rc)
			rc = exec(d, "migrate", q);
	}
	/* Every connection, this one too, must reload the schema: needed
	 * after a step that edits sqlite_schema, harmless after others. */
	if (!rc && from < SCHEMA_VERSION)
		rc = bump_schema_version(d);
	if (!rc)
		rc = exec(d, "migrate", "COMMIT");
	if (rc) {
		sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
		return HB_EIO;
	}
	if (from < SCHEMA_VERSION)
		hb_log_info("database schema %s version %d",
			    from ? "migrated to" : "created at", SCHEMA_VERSION);
	return 0;
}

static int journal_wal(struct sdb *d)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(d->db, "PRAGMA journal_mode = WAL", -1,
				    &st, NULL);

	if (rc != SQLITE_OK)
		return fail(d, rc, "journal mode");
	rc = sqlite3_step(st);
	/* Some file systems cannot do WAL: work on, but say so. */
	if (rc == SQLITE_ROW &&
	    strcmp(col_text(st, 0), "wal") != 0)
		hb_log_warn("database journal mode is %s, not wal",
			    col_text(st, 0));
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : fail(d, rc, "journal mode");
}

static int prepare_all(struct sdb *d)
{
	for (int i = 0; i < ST_COUNT; i++) {
		int rc = sqlite3_prepare_v3(d->db, sql[i], -1,
					    SQLITE_PREPARE_PERSISTENT,
					    &d->st[i], NULL);

		if (rc != SQLITE_OK)
			return fail(d, rc, "prepare");
	}
	return 0;
}

/*
 * SQLite counts every allocation in its memory statistics under a global
 * mutex: a lock and unlock per malloc, 14 % of the writer's profile.
 * hbd never reads those statistics. Must precede SQLite's initialisation;
 * when something initialised it already, it stays as it was.
 */
static void config_once(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static int setup(struct sdb *d, const char *path, uint32_t busy_timeout_ms)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	int rc;

	pthread_once(&once, config_once);
	rc = sqlite3_open_v2(path, &d->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				     SQLITE_OPEN_NOMUTEX,
			     NULL);

	if (rc != SQLITE_OK)
		return d->db ? fail(d, rc, "open") : HB_ENOMEM;
	sqlite3_extended_result_codes(d->db, 1);
	sqlite3_busy_timeout(d->db, OPEN_BUSY_MS);
	if ((rc = journal_wal(d)) ||
	    (rc = exec(d, "pragma", "PRAGMA synchronous = NORMAL;"
				    " PRAGMA foreign_keys = ON")) ||
	    (rc = migrate(d)) || (rc = prepare_all(d)))
		return rc;
	sqlite3_busy_timeout(d->db, (int)busy_timeout_ms);
	return 0;
}

static void sq_close(void *h)
{
	struct sdb *d = h;

	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(d->st[i]);
	if (d->db) {
		/* Keeps the query planner's statistics fresh, cheaply. */
		sqlite3_exec(d->db, "PRAGMA optimize", NULL, NULL, NULL);
		sqlite3_close(d->db);
	}
	free(d);
}

static void *sq_open(const char *path, uint32_t busy_timeout_ms, char *err,
		     size_t errlen)
{
	struct sdb *d = calloc(1, sizeof(*d));

	if (!d) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (setup(d, path, busy_timeout_ms)) {
		snprintf(err, errlen, "%s: %s", path,
			 d->err[0] ? d->err : "out of memory");
		sq_close(d);
		return NULL;
	}
	return d;
}

const struct store_backend store_sqlite_backend = {
	.name = "sqlite",
	.open = sq_open,
	.load = sq_load,
	.begin = sq_begin,
	.apply = sq_apply,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.prune = sq_prune,
	.error = sq_error,
	.close = sq_close,
};
