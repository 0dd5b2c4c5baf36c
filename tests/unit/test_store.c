/*
 * test_store: the store against a real SQLite file in a temporary
 * directory. What the store wrote is checked through a separate sqlite3
 * connection, as an operator or a query tool would see it; the same
 * connection plays the other process that locks the database. Nothing
 * here asserts on timing: waits poll the statistics with a deadline.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "hb_error.h"
#include "hb_log.h"
#include "hb_time.h"
#include "store.h"

#define T_NOW 1700000000000ull /* Unix ms */
#define DAY_MS 86400000ull
#define WAIT_MS 60000 /* generous deadline for anything that must happen */

struct fx {
	char dir[64];
	char path[96];
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_store.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/hbd.db", f->dir);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
	char p[128];

	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", f->path, suffix[i]);
		unlink(p);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

static struct store_opts t_opts(const struct fx *f)
{
	return (struct store_opts){
		.path = f->path,
		.backlog_bytes = 256u << 20,
		.batch_ms = 5,
		.retention_ms = DAY_MS,
		.busy_timeout_ms = 50,
	};
}

static struct store *t_open_opts(const struct store_opts *o)
{
	struct store *s = NULL;
	char err[256] = "";
	int rc = store_open(o, &s, err, sizeof(err));

	if (rc)
		fail_msg("store_open: %d %s", rc, err);
	return s;
}

static struct store *t_open(const struct fx *f)
{
	struct store_opts o = t_opts(f);

	return t_open_opts(&o);
}

/* The other connection: an operator's shell, or a competing writer. */
static sqlite3 *t_peek(const struct fx *f)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, WAIT_MS);
	return db;
}

static void t_exec(sqlite3 *db, const char *q)
{
	char *msg = NULL;

	if (sqlite3_exec(db, q, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", q, msg);
}

/* The integer the query returns in its first row (-1 when no row). */
__attribute__((format(printf, 2, 3))) static int64_t
q_int(sqlite3 *db, const char *fmt, ...)
{
	sqlite3_stmt *st;
	char q[512];
	int64_t v = -1;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(q, sizeof(q), fmt, ap);
	va_end(ap);
	if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", q, sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* The text the query returns, copied into out ("" when NULL or none). */
static const char *q_text(sqlite3 *db, char *out, size_t cap, const char *q)
{
	sqlite3_stmt *st;
	const unsigned char *t = NULL;

	if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", q, sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW)
		t = sqlite3_column_text(st, 0);
	snprintf(out, cap, "%s", t ? (const char *)t : "");
	sqlite3_finalize(st);
	return out;
}

static void t_uuid(int64_t rowid, uint8_t *uuid)
{
	for (int i = 0; i < 16; i++)
		uuid[i] = (uint8_t)(0xa0 + i);
	memcpy(uuid + 8, &rowid, sizeof(rowid));
}

static const uint8_t t_boot_id[16] = {0xB0, 0x0B, 0xDE, 0xAD, 1, 2, 3, 4,
				      5,    6,    7,    8,    9, 10, 11, 12};

static struct store_host t_host(int64_t rowid)
{
	struct store_host h = {
		.rowid = rowid,
		.hostname = "web-1",
		.address = "192.0.2.7:4711",
		.owner = "ops",
		.labels_json = "{\"env\":\"prod\",\"rack\":\"r7\"}",
		.version = "0.1.0",
		.interval_s = 10,
		.state = HBD_STATE_UP,
		.state_since_ms = T_NOW - 5000,
		.first_seen_ms = T_NOW - DAY_MS,
		.last_seen_ms = T_NOW,
		.epoch = 3,
		.seq = 77,
		.status = 1,
		.status_msg = "disk 91%",
		.boot_start = T_NOW / 1000 - 3600,
		.boot_id = t_boot_id,
	};

	t_uuid(rowid, h.uuid);
	return h;
}

static struct store_plugin t_plugin(int64_t rowid, const char *name,
				    uint64_t time_ms, const char *data)
{
	static const uint8_t digest[16] = {0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6,
					   0xd7, 0xd8, 0xd9, 0xda, 0xdb, 0xdc,
					   0xdd, 0xde, 0xdf, 0xd0};

	return (struct store_plugin){
		.rowid = rowid,
		.plugin = name,
		.kind = 1, /* monitor */
		.status = 2,
		.message = "/ 97% full",
		.time_ms = time_ms,
		.received_ms = time_ms + 20,
		.interval_s = 60,
		.data_json = data,
		.digest = digest,
	};
}

static void t_flush(struct store *s)
{
	assert_int_equal(store_flush(s, WAIT_MS), 0);
}

static struct store_stats t_stats(struct store *s)
{
	struct store_stats st;

	store_get_stats(s, &st);
	return st;
}

/* Polls until cond holds; fails after WAIT_MS. */
#define t_wait_for(cond)                                                      \
	do {                                                                  \
		uint64_t until_ = hb_mono_ms() + WAIT_MS;                     \
		while (!(cond)) {                                             \
			if (hb_mono_ms() > until_)                            \
				fail_msg("timed out waiting for %s", #cond);  \
			t_sleep_ms(2);                                        \
		}                                                             \
	} while (0)

static void t_sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/* ---- Schema ---- */

static void test_schema_created_and_reopened(void **state)
{
	struct fx *f = *state;
	struct store *s = t_open(f);
	struct store_host h = t_host(1);
	sqlite3 *db;
	char buf[64];

	assert_int_equal(store_put_host(s, &h), 0);
	store_close(s, WAIT_MS);

	db = t_peek(f);
	assert_int_equal(q_int(db, "PRAGMA user_version"), 2);
	assert_string_equal(q_text(db, buf, sizeof(buf), "PRAGMA journal_mode"),
			    "wal");
	assert_int_equal(q_int(db, "SELECT count(*) FROM sqlite_schema WHERE"
				   " type = 'table' AND name IN ('hosts',"
				   " 'plugin_latest', 'plugin_history',"
				   " 'events', 'counters')"),
			 5);
	sqlite3_close(db);

	/* A second open must find the schema current, not create it again
	 * (CREATE TABLE would fail), and keep the data. */
	s = t_open(f);
	store_close(s, WAIT_MS);
	db = t_peek(f);
	assert_int_equal(q_int(db, "PRAGMA user_version"), 2);
	assert_int_equal(q_int(db, "SELECT count(*) FROM hosts"), 1);
	sqlite3_close(db);
}

/* Steps of SQLite's program for sql; true when one is opcode op. */
static bool t_uses_opcode(sqlite3 *db, const char *sql, const char *op)
{
	char q[512];
	sqlite3_stmt *st;
	bool found = false;

	snprintf(q, sizeof(q), "EXPLAIN %s", sql);
	assert_int_equal(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW)
		found |= strcmp((const char *)sqlite3_column_text(st, 1), op) == 0;
	sqlite3_finalize(st);
	return found;
}

/*
 * Version 2 checks hosts.state with ORs: same values refused, but no
 * ephemeral index built per row written. A version 1 database (the IN
 * list) is migrated in place, its rows kept.
 */
static void test_state_check_without_ephemeral_index(void **state)
{
	static const char *const update =
		"UPDATE hosts SET state = 'DOWN' WHERE id = 1";
	struct fx *f = *state;
	struct store *s = t_open(f);
	struct store_host h = t_host(1);
	sqlite3 *db;
	char q[512];

	assert_int_equal(store_put_host(s, &h), 0);
	store_close(s, WAIT_MS);
	db = t_peek(f);
	assert_false(t_uses_opcode(db, update, "OpenEphemeral"));
	assert_int_equal(sqlite3_exec(db, "UPDATE hosts SET state = 'GONE'",
				      NULL, NULL, NULL),
			 SQLITE_CONSTRAINT);

	/* Back to version 1's text, as an older hbd left it. */
	snprintf(q, sizeof(q),
		 "PRAGMA writable_schema = ON;"
		 "UPDATE sqlite_schema SET sql = replace(sql, 'CHECK (state ="
		 " ''UP'' OR state = ''LATE'' OR state = ''DOWN'' OR state ="
		 " ''STOPPED'')', '%s') WHERE name = 'hosts';"
		 "PRAGMA writable_schema = OFF; PRAGMA user_version = 1;",
		 "CHECK (state IN (''UP'', ''LATE'', ''DOWN'', ''STOPPED''))");
	t_exec(db, q);
	sqlite3_close(db);
	db = t_peek(f);
	assert_true(t_uses_opcode(db, update, "OpenEphemeral"));
	sqlite3_close(db);

	s = t_open(f);
	store_close(s, WAIT_MS);
	db = t_peek(f);
	assert_int_equal(q_int(db, "PRAGMA user_version"), 2);
	assert_false(t_uses_opcode(db, update, "OpenEphemeral"));
	assert_int_equal(q_int(db, "SELECT instr(sql, 'CHECK (state IN')"
				   " FROM sqlite_schema WHERE name = 'hosts'"),
			 0);
	assert_int_equal(q_int(db, "SELECT count(*) FROM hosts"), 1);
	assert_string_equal(q_text(db, q, sizeof(q), "PRAGMA integrity_check"),
			    "ok");
	assert_int_equal(sqlite3_exec(db, "UPDATE hosts SET state = 'GONE'",
				      NULL, NULL, NULL),
			 SQLITE_CONSTRAINT);
	sqlite3_close(db);
}

static void test_newer_schema_refused(void **state)
{
	struct fx *f = *state;
	struct store_opts o = t_opts(f);
	struct store *s = NULL;
	sqlite3 *db = t_peek(f);
	char err[256] = "";

	t_exec(db, "PRAGMA user_version = 99");
	sqlite3_close(db);
	assert_int_equal(store_open(&o, &s, err, sizeof(err)), HB_EIO);
	assert_null(s);
	assert_non_null(strstr(err, "newer"));
}

/* ---- What gets written ---- */

static void test_host_seen_event_written(void **state)
{
	struct fx *f = *state;
	struct store *s = t_open(f);
	struct store_host h = t_host(7);
	struct store_seen v = {7, T_NOW + 10000, 4, 1, -250, 0, 1234, 5,
				 HBD_STATE_UP, T_NOW - 5000};
	struct store_event e = {7, T_NOW + 20000, "state", HBD_STATE_UP,
				HBD_STATE_DOWN, "no heartbeat for 30 s"};
	const char *names[] = {"rx_datagrams", "rx_bad_tag"};
	const uint64_t values[] = {1000000, 3};
	sqlite3 *db;
	char buf[128];

	assert_int_equal(store_put_host(s, &h), 0);
	assert_int_equal(store_put_seen(s, &v, 1), 0);
	assert_int_equal(store_put_event(s, &e), 0);
	assert_int_equal(store_put_counters(s, names, values, 2, T_NOW), 0);
	t_flush(s);

	db = t_peek(f);
	assert_string_equal(q_text(db, buf, sizeof(buf),
				   "SELECT uuid FROM hosts WHERE id = 7"),
			    "a0a1a2a3-a4a5-a6a7-0700-000000000000");
	assert_string_equal(q_text(db, buf, sizeof(buf),
				   "SELECT hostname || '|' || address || '|' ||"
				   " owner || '|' || version || '|' ||"
				   " status_msg FROM hosts"),
			    "web-1|192.0.2.7:4711|ops|0.1.0|disk 91%");
	assert_string_equal(q_text(db, buf, sizeof(buf),
				   "SELECT json_extract(labels, '$.rack')"
				   " FROM hosts"),
			    "r7");
	assert_string_equal(q_text(db, buf, sizeof(buf),
				   "SELECT boot_id FROM hosts"),
			    "b00bdead-0102-0304-0506-0708090a0b0c");
	assert_int_equal(q_int(db, "SELECT first_seen FROM hosts"),
			 T_NOW - DAY_MS);
	assert_int_equal(q_int(db, "SELECT boot_start FROM hosts"),
			 T_NOW / 1000 - 3600);
	assert_int_equal(q_int(db, "SELECT interval_s FROM hosts"), 10);
	/* From the seen update. */
	assert_int_equal(q_int(db, "SELECT last_seen FROM hosts"),
			 T_NOW + 10000);
	assert_int_equal(q_int(db, "SELECT epoch * 1000 + seq FROM hosts"),
			 4001);
	assert_int_equal(q_int(db, "SELECT skew_ms FROM hosts"), -250);
	assert_int_equal(q_int(db, "SELECT received FROM hosts"), 1234);
	assert_int_equal(q_int(db, "SELECT lost FROM hosts"), 5);
	assert_string_equal(q_text(db, buf, sizeof(buf),
				   "SELECT status_text FROM hosts"),
			    "OK");
	/* From the state event. */
	assert_string_equal(q_text(db, buf, sizeof(buf),
				   "SELECT state FROM hosts"),
			    "DOWN");
	assert_int_equal(q_int(db, "SELECT state_since FROM hosts"),
			 T_NOW + 20000);
	assert_string_equal(q_text(db, buf, sizeof(buf),
				   "SELECT kind || ' ' || from_state || '>' ||"
				   " to_state || ' ' || reason FROM events"
				   " WHERE host_id = 7"),
			    "state UP>DOWN no heartbeat for 30 s");
	assert_int_equal(q_int(db, "SELECT time FROM events"), T_NOW + 20000);
	assert_int_equal(q_int(db, "SELECT value FROM counters"
				   " WHERE name = 'rx_datagrams'"),
			 1000000);
	assert_int_equal(q_int(db, "SELECT count(*) FROM counters"), 2);
	sqlite3_close(db);

	/* A host upsert replaces the attributes of the same row. */
	h.hostname = "web-1.example";
	assert_int_equal(store_put_host(s, &h), 0);
	t_flush(s);
	db = t_peek(f);
	assert_string_equal(q_text(db, buf, sizeof(buf),
				   "SELECT hostname FROM hosts WHERE id = 7"),
			    "web-1.example");
	assert_int_equal(q_int(db, "SELECT count(*) FROM hosts"), 1);
	sqlite3_close(db);

	struct store_stats st = t_stats(s);
	assert_int_equal(st.queued, 5);
	assert_int_equal(st.written, 5);
	assert_int_equal(st.backlog, 0);
	assert_int_equal(st.backlog_bytes, 0);
	assert_int_equal(st.lag_ms, 0);
	assert_false(st.failing);
	store_close(s, WAIT_MS);
}

static void test_plugin_latest_and_history(void **state)
{
	struct fx *f = *state;
	struct store *s = t_open(f);
	struct store_host h = t_host(1);
	struct store_plugin p = t_plugin(1, "disk", T_NOW, "{\"x\":42}");
	struct store_plugin old = t_plugin(1, "disk", T_NOW - 60000,
					   "{\"x\":41}");
	sqlite3 *db;
	char buf[64];

	assert_int_equal(store_put_host(s, &h), 0);
	assert_int_equal(store_put_plugin(s, &p), 0);
	/* A retransmission of the same sample, then a late older one. */
	assert_int_equal(store_put_plugin(s, &p), 0);
	assert_int_equal(store_put_plugin(s, &old), 0);
	t_flush(s);

	db = t_peek(f);
	assert_int_equal(q_int(db, "SELECT json_extract(data, '$.x')"
				   " FROM plugin_latest"),
			 42);
	assert_int_equal(q_int(db, "SELECT time FROM plugin_latest"), T_NOW);
	assert_string_equal(q_text(db, buf, sizeof(buf),
				   "SELECT kind || ' ' || status_text || ' ' ||"
				   " message FROM plugin_latest"),
			    "monitor CRITICAL / 97% full");
	assert_int_equal(q_int(db, "SELECT received FROM plugin_latest"),
			 T_NOW + 20);
	assert_int_equal(q_int(db, "SELECT length(digest) FROM"
				   " plugin_latest"),
			 16);
	assert_int_equal(q_int(db, "SELECT count(*) FROM plugin_history"), 2);
	assert_int_equal(q_int(db, "SELECT sum(json_extract(data, '$.x'))"
				   " FROM plugin_history"),
			 83);
	sqlite3_close(db);

	/* A newer sample replaces the latest. */
	p.time_ms += 60000;
	p.data_json = "{\"x\":43}";
	assert_int_equal(store_put_plugin(s, &p), 0);
	t_flush(s);
	db = t_peek(f);
	assert_int_equal(q_int(db, "SELECT json_extract(data, '$.x')"
				   " FROM plugin_latest"),
			 43);
	assert_int_equal(q_int(db, "SELECT count(*) FROM plugin_history"), 3);
	sqlite3_close(db);
	store_close(s, WAIT_MS);
}

/* A refused operation is skipped; the rest of its batch is written. */
static void test_refused_op_skipped(void **state)
{
	struct fx *f = *state;
	struct store_opts o = t_opts(f);
	struct store *s;
	struct store_host h = t_host(1);
	struct store_plugin unknown_host = t_plugin(99, "cpu", T_NOW, "{}");
	struct store_plugin bad_json = t_plugin(1, "cpu", T_NOW, "{oops");
	struct store_plugin good = t_plugin(1, "mem", T_NOW, "{\"free\":1}");
	struct store_stats st;
	sqlite3 *db;

	o.batch_ms = 60000; /* one batch, released by the flush */
	s = t_open_opts(&o);
	assert_int_equal(store_put_host(s, &h), 0);
	assert_int_equal(store_put_plugin(s, &unknown_host), 0);
	assert_int_equal(store_put_plugin(s, &bad_json), 0);
	assert_int_equal(store_put_plugin(s, &good), 0);
	t_flush(s);
	st = t_stats(s);
	assert_int_equal(st.rejected, 2);
	assert_int_equal(st.written, 2);
	assert_int_equal(st.failures, 0);
	assert_int_equal(st.backlog, 0);

	db = t_peek(f);
	assert_int_equal(q_int(db, "SELECT count(*) FROM hosts"), 1);
	assert_int_equal(q_int(db, "SELECT count(*) FROM plugin_latest"), 1);
	assert_int_equal(q_int(db, "SELECT count(*) FROM plugin_history"), 1);
	assert_int_equal(q_int(db, "SELECT json_extract(data, '$.free')"
				   " FROM plugin_latest WHERE plugin = 'mem'"),
			 1);
	sqlite3_close(db);
	store_close(s, WAIT_MS);
}

/* ---- Loading back ---- */

struct loaded {
	int hosts, infos;
	int64_t host_rowids[4];
	struct store_loaded_host first;
	char hostname[32], labels[64], status_msg[32];
	bool has_boot_id;
	uint8_t boot_id[16];
	int64_t info_rowid;
	char info_plugin[16];
	uint8_t info_digest[16];
};

static void on_host(void *ctx, const struct store_loaded_host *h)
{
	struct loaded *l = ctx;

	if (l->hosts < 4)
		l->host_rowids[l->hosts] = h->rowid;
	if (l->hosts++ == 0) {
		l->first = *h;
		snprintf(l->hostname, sizeof(l->hostname), "%s", h->hostname);
		snprintf(l->labels, sizeof(l->labels), "%s", h->labels_json);
		snprintf(l->status_msg, sizeof(l->status_msg), "%s",
			 h->status_msg);
		if ((l->has_boot_id = h->boot_id != NULL))
			memcpy(l->boot_id, h->boot_id, 16);
	}
}

static void on_info(void *ctx, const struct store_loaded_info *i)
{
	struct loaded *l = ctx;

	l->infos++;
	l->info_rowid = i->rowid;
	snprintf(l->info_plugin, sizeof(l->info_plugin), "%s", i->plugin);
	memcpy(l->info_digest, i->digest, 16);
}

static void test_load_after_restart(void **state)
{
	struct fx *f = *state;
	struct store *s = t_open(f);
	struct store_host h;
	struct store_plugin info = t_plugin(5, "os", T_NOW, "{\"os\":\"x\"}");
	struct store_plugin mon = t_plugin(5, "cpu", T_NOW, "{}");
	struct store_event e = {5, T_NOW + 1, "state", HBD_STATE_UP,
				HBD_STATE_LATE, "late"};
	struct store_seen seen = {5, T_NOW, 3, 77, -250, 1, 1234, 5, -1, 0};
	struct loaded l = {0};
	uint8_t uuid[16];

	/* Out of order on purpose: load returns rowid order. */
	for (int64_t id = 9; id >= 5; id -= 2) {
		h = t_host(id);
		assert_int_equal(store_put_host(s, &h), 0);
	}
	assert_int_equal(store_put_seen(s, &seen, 1), 0);
	info.kind = 0;
	assert_int_equal(store_put_plugin(s, &info), 0);
	assert_int_equal(store_put_plugin(s, &mon), 0);
	assert_int_equal(store_put_event(s, &e), 0);
	store_close(s, WAIT_MS);

	s = t_open(f);
	assert_int_equal(store_load(s, on_host, on_info, &l), 0);
	assert_int_equal(l.hosts, 3);
	assert_int_equal(l.host_rowids[0], 5);
	assert_int_equal(l.host_rowids[1], 7);
	assert_int_equal(l.host_rowids[2], 9);
	t_uuid(5, uuid);
	assert_memory_equal(l.first.uuid, uuid, 16);
	assert_string_equal(l.hostname, "web-1");
	assert_string_equal(l.labels, "{\"env\":\"prod\",\"rack\":\"r7\"}");
	assert_int_equal(l.first.interval_s, 10);
	assert_int_equal(l.first.state, HBD_STATE_LATE);
	assert_int_equal(l.first.state_since_ms, T_NOW + 1);
	assert_int_equal(l.first.first_seen_ms, T_NOW - DAY_MS);
	assert_int_equal(l.first.last_seen_ms, T_NOW);
	assert_int_equal(l.first.epoch, 3);
	assert_int_equal(l.first.seq, 77);
	assert_int_equal(l.first.status, 1);
	assert_string_equal(l.status_msg, "disk 91%");
	assert_int_equal(l.first.boot_start, T_NOW / 1000 - 3600);
	assert_true(l.has_boot_id);
	assert_memory_equal(l.boot_id, t_boot_id, 16);
	/* The seen update's counts, which hbd keeps adding to. */
	assert_int_equal(l.first.received, 1234);
	assert_int_equal(l.first.lost, 5);
	assert_int_equal(l.first.skew_ms, -250);
	/* Info plugins only. */
	assert_int_equal(l.infos, 1);
	assert_int_equal(l.info_rowid, 5);
	assert_string_equal(l.info_plugin, "os");
	assert_memory_equal(l.info_digest, info.digest, 16);
	store_close(s, WAIT_MS);
}

/* ---- Backlog and failures ---- */

/* Takes the write lock as another process would, and holds it. */
static sqlite3 *t_lock(const struct fx *f)
{
	sqlite3 *db = t_peek(f);

	t_exec(db, "BEGIN EXCLUSIVE");
	return db;
}

static void t_unlock(sqlite3 *db)
{
	t_exec(db, "COMMIT");
	sqlite3_close(db);
}

static void test_backlog_cap(void **state)
{
	struct fx *f = *state;
	struct store_opts o = t_opts(f);
	struct store_seen many[1000] = {0};
	struct store_host h;
	struct store_stats st;
	struct store *s;
	sqlite3 *db;
	int64_t accepted = 0, refused = 0;

	o.backlog_bytes = 16384;
	s = t_open_opts(&o);
	/* Bigger than the whole backlog: refused even when empty. */
	assert_int_equal(store_put_seen(s, many, 1000), HB_ENOSPC);
	st = t_stats(s);
	assert_int_equal(st.deferred, 1000); /* hbd keeps them: not lost */
	assert_int_equal(st.dropped, 0);

	db = t_lock(f); /* nothing drains while we fill */
	for (int64_t id = 1; id <= 1000 && refused < 10; id++) {
		h = t_host(id);
		if (store_put_host(s, &h) == 0)
			accepted++;
		else
			refused++;
	}
	assert_int_equal(refused, 10);
	assert_true(accepted > 10);
	st = t_stats(s);
	assert_int_equal(st.dropped, 10);
	assert_int_equal(st.queued, accepted);
	assert_true(st.backlog_bytes <= o.backlog_bytes);
	assert_int_equal(st.backlog, accepted);

	t_unlock(db);
	t_flush(s);
	st = t_stats(s);
	assert_int_equal(st.written, accepted);
	assert_int_equal(st.backlog, 0);
	assert_int_equal(st.backlog_bytes, 0);
	db = t_peek(f);
	assert_int_equal(q_int(db, "SELECT count(*) FROM hosts"), accepted);
	sqlite3_close(db);
	store_close(s, WAIT_MS);
}

/* Heartbeats of known hosts may not take the room new hosts' rows need. */
static void test_backlog_keeps_room_for_rows(void **state)
{
	struct fx *f = *state;
	struct store_opts o = t_opts(f);
	struct store_seen v[10] = {0};
	struct store_host h = t_host(1);
	struct store_stats st;
	struct store *s;
	sqlite3 *db;
	int batches = 0;

	o.backlog_bytes = 65536;
	s = t_open_opts(&o);
	db = t_lock(f);
	while (store_put_seen(s, v, 10) == 0)
		batches++;
	assert_true(batches > 10);
	st = t_stats(s);
	assert_int_equal(st.deferred, 10);
	assert_int_equal(st.dropped, 0);
	/* A quarter of the backlog is still there for rows and events. */
	assert_true(st.backlog_bytes <= o.backlog_bytes / 4 * 3);
	assert_int_equal(store_put_host(s, &h), 0);
	assert_int_equal(t_stats(s).dropped, 0);
	t_unlock(db);
	t_flush(s);
	db = t_peek(f);
	assert_int_equal(q_int(db, "SELECT count(*) FROM hosts"), 1);
	sqlite3_close(db);
	store_close(s, WAIT_MS);
}

/*
 * A seen update leaves the state columns alone unless it resends a state
 * whose event was dropped; merging it with a newer update keeps that.
 */
static void test_seen_resends_state(void **state)
{
	struct fx *f = *state;
	struct store_opts o = t_opts(f);
	struct store_host h1 = t_host(1), h2 = t_host(2);
	struct store_seen plain = {.rowid = 1, .last_seen_ms = T_NOW + 1,
				   .state = -1};
	struct store_seen resend = {.rowid = 2, .last_seen_ms = T_NOW + 1,
				    .state = HBD_STATE_DOWN,
				    .state_since_ms = T_NOW + 1};
	struct store_seen newer = {.rowid = 2, .last_seen_ms = T_NOW + 2,
				   .state = -1};
	struct store *s;
	sqlite3 *db;
	char buf[64];

	o.batch_ms = 60000; /* one batch: the two seen ops are merged */
	s = t_open_opts(&o);
	assert_int_equal(store_put_host(s, &h1), 0);
	assert_int_equal(store_put_host(s, &h2), 0);
	assert_int_equal(store_put_seen(s, &plain, 1), 0);
	assert_int_equal(store_put_seen(s, &resend, 1), 0);
	assert_int_equal(store_put_seen(s, &newer, 1), 0);
	t_flush(s);
	assert_int_equal(t_stats(s).batches, 1);
	db = t_peek(f);
	assert_string_equal(q_text(db, buf, sizeof(buf),
				   "SELECT group_concat(state || ' ' ||"
				   " state_since || ' ' || last_seen, ',')"
				   " FROM (SELECT * FROM hosts ORDER BY id)"),
			    "UP 1699999995000 1700000000001,"
			    "DOWN 1700000000001 1700000000002");
	sqlite3_close(db);
	store_close(s, WAIT_MS);
}

static void test_locked_database_retried(void **state)
{
	struct fx *f = *state;
	struct store *s = t_open(f);
	struct store_seen v[100];
	struct store_host h;
	struct store_stats st;
	uint64_t locked_at;
	sqlite3 *db;

	h = t_host(1);
	assert_int_equal(store_put_host(s, &h), 0);
	t_flush(s);

	db = t_lock(f);
	locked_at = hb_mono_ms();
	for (int64_t id = 2; id <= 101; id++) {
		h = t_host(id);
		assert_int_equal(store_put_host(s, &h), 0);
	}
	t_wait_for(t_stats(s).failures > 0);
	st = t_stats(s);
	assert_true(st.failing);
	assert_non_null(strstr(st.last_error, "locked"));
	/* Ops keep queueing behind the failing batch. */
	for (int i = 0; i < 100; i++)
		v[i] = (struct store_seen){.rowid = i + 1,
					   .last_seen_ms = T_NOW + 99};
	assert_int_equal(store_put_seen(s, v, 100), 0);
	assert_int_equal(store_flush(s, 1), HB_EIO);
	st = t_stats(s);
	assert_int_equal(st.backlog, 200);
	assert_int_equal(st.written, 1);

	/* Hold the lock through several retries, as a slow backup would. */
	while (hb_mono_ms() - locked_at < 1500)
		t_sleep_ms(10);
	t_unlock(db);
	t_flush(s);
	st = t_stats(s);
	assert_false(st.failing);
	assert_true(st.failures > 1);
	assert_int_equal(st.written, 201);
	assert_int_equal(st.backlog, 0);
	assert_int_equal(st.dropped, 0);

	db = t_peek(f);
	assert_int_equal(q_int(db, "SELECT count(*) FROM hosts"), 101);
	assert_int_equal(q_int(db, "SELECT count(*) FROM hosts WHERE"
				   " last_seen = %llu",
			       (unsigned long long)T_NOW + 99),
			 100);
	sqlite3_close(db);
	store_close(s, WAIT_MS);
}

/* store_close() gives up on a database that stays locked. */
static void test_close_gives_up(void **state)
{
	struct fx *f = *state;
	struct store *s = t_open(f);
	struct store_host h = t_host(1);
	sqlite3 *db = t_lock(f);

	assert_int_equal(store_put_host(s, &h), 0);
	t_wait_for(t_stats(s).failures > 0);
	store_close(s, 200); /* logs the dropped operation */
	t_unlock(db);
	db = t_peek(f);
	assert_int_equal(q_int(db, "SELECT count(*) FROM hosts"), 0);
	sqlite3_close(db);
}

/* ---- Pruning ---- */

static void test_prune_old_history_only(void **state)
{
	struct fx *f = *state;
	struct store *s = t_open(f);
	struct store_host h = t_host(1);
	const uint64_t ages[] = {3 * DAY_MS, DAY_MS + 1, DAY_MS - 1000, 0};
	sqlite3 *db;

	assert_int_equal(store_put_host(s, &h), 0);
	for (size_t i = 0; i < 4; i++) {
		struct store_plugin p = t_plugin(1, "cpu", T_NOW - ages[i],
						 "{}");

		assert_int_equal(store_put_plugin(s, &p), 0);
	}
	t_flush(s);
	/* Enough old rows for several prune transactions. */
	db = t_peek(f);
	t_exec(db, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1"
		   " FROM n WHERE i < 25000) INSERT INTO plugin_history"
		   " (host_id, plugin, time, status) SELECT 1, 'old', i, 0"
		   " FROM n");
	sqlite3_close(db);

	assert_int_equal(store_prune(s, T_NOW), 0);
	t_flush(s);
	db = t_peek(f);
	assert_int_equal(q_int(db, "SELECT count(*) FROM plugin_history"), 2);
	assert_int_equal(q_int(db, "SELECT min(time) FROM plugin_history"),
			 T_NOW - (DAY_MS - 1000));
	assert_int_equal(q_int(db, "SELECT count(*) FROM plugin_latest"), 1);
	sqlite3_close(db);
	assert_int_equal(t_stats(s).written, 1 + 4 + 1);
	store_close(s, WAIT_MS);
}

/* ---- The heartbeat hot path ---- */

#define N_HOSTS 100000

static void test_seen_100k(void **state)
{
	struct fx *f = *state;
	struct store_opts o = t_opts(f);
	struct store_seen *v = calloc(N_HOSTS, sizeof(*v));
	struct store_stats st;
	struct store *s;
	sqlite3 *db = t_peek(f);
	size_t k = 0;

	assert_non_null(v);
	s = t_open_opts(&o);
	t_exec(db, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1"
		   " FROM n WHERE i < 100000) INSERT INTO hosts (id, uuid)"
		   " SELECT i, printf('%08x-0000-4000-8000-000000000000', i)"
		   " FROM n");
	/* As hbd sends them: every host, ascending rowid. */
	for (int64_t id = 1; id <= N_HOSTS; id++)
		v[id - 1] = (struct store_seen){id, T_NOW + (uint64_t)id, 1,
						(uint32_t)id, 0, 0, 1, 0,
						HBD_STATE_UP, 0};
	assert_int_equal(store_put_seen(s, v, N_HOSTS), 0);
	/* Then newer updates of the even hosts, descending and twice,
	 * the second newest: the newest must win. */
	for (int64_t id = N_HOSTS; id >= 2; id -= 2)
		v[k++] = (struct store_seen){id, 1, 1, 1, 0, 0, 2, 0,
					     HBD_STATE_UP, 0};
	for (int64_t id = N_HOSTS; id >= 2; id -= 2)
		v[k++] = (struct store_seen){id, T_NOW + DAY_MS, 2, 9,
					     -5, 2, 3, 1, HBD_STATE_UP, 0};
	assert_int_equal(store_put_seen(s, v, k), 0);
	t_flush(s);

	st = t_stats(s);
	assert_int_equal(st.written, N_HOSTS * 2);
	assert_int_equal(st.backlog, 0);
	assert_int_equal(q_int(db, "SELECT count(*) FROM hosts WHERE id %% 2 = 1"
				   " AND last_seen = %llu + id AND seq = id"
				   " AND received = 1",
			       (unsigned long long)T_NOW),
			 N_HOSTS / 2);
	assert_int_equal(q_int(db, "SELECT count(*) FROM hosts WHERE id %% 2 = 0"
				   " AND last_seen = %llu AND epoch = 2 AND"
				   " seq = 9 AND skew_ms = -5 AND status = 2"
				   " AND received = 3 AND lost = 1",
			       (unsigned long long)(T_NOW + DAY_MS)),
			 N_HOSTS / 2);
	sqlite3_close(db);
	free(v);
	store_close(s, WAIT_MS);
}

/*
 * Seen updates are merged and reordered, but never across a host upsert,
 * which writes the same columns: within one batch, the later write wins.
 */
static void test_seen_keeps_order_with_hosts(void **state)
{
	struct fx *f = *state;
	struct store_opts o = t_opts(f);
	struct store_host h1 = t_host(1), h2 = t_host(2);
	struct store_seen old1 = {.rowid = 1, .last_seen_ms = 5, .received = 5};
	struct store_seen new2 = {.rowid = 2, .last_seen_ms = T_NOW + 2,
				  .received = 7};
	struct store_seen newer2 = {.rowid = 2, .last_seen_ms = T_NOW + 3,
				    .received = 8};
	struct store_event e = {1, T_NOW, "reboot", -1, -1, "boot id changed"};
	struct store *s;
	sqlite3 *db;
	char buf[64];

	o.batch_ms = 60000; /* one batch, released by the flush */
	s = t_open_opts(&o);
	assert_int_equal(store_put_host(s, &h1), 0);
	assert_int_equal(store_put_seen(s, &old1, 1), 0);
	assert_int_equal(store_put_host(s, &h1), 0);  /* newer: wins */
	assert_int_equal(store_put_host(s, &h2), 0);  /* new host... */
	assert_int_equal(store_put_event(s, &e), 0);
	assert_int_equal(store_put_seen(s, &new2, 1), 0); /* ...then seen */
	assert_int_equal(store_put_seen(s, &newer2, 1), 0);
	t_flush(s);
	assert_int_equal(t_stats(s).batches, 1);

	db = t_peek(f);
	/* The upsert after the old seen update wins; the seen-only column
	 * keeps the update's value. */
	assert_int_equal(q_int(db, "SELECT last_seen FROM hosts WHERE id = 1"),
			 T_NOW);
	assert_int_equal(q_int(db, "SELECT received FROM hosts WHERE id = 1"),
			 5);
	/* Updates after a host's insertion apply to it, newest last. */
	assert_int_equal(q_int(db, "SELECT last_seen FROM hosts WHERE id = 2"),
			 T_NOW + 3);
	assert_int_equal(q_int(db, "SELECT received FROM hosts WHERE id = 2"),
			 8);
	assert_string_equal(q_text(db, buf, sizeof(buf),
				   "SELECT kind || ' ' || coalesce(from_state,"
				   " 'null') || ' ' || reason FROM events"),
			    "reboot null boot id changed");
	assert_string_equal(q_text(db, buf, sizeof(buf),
				   "SELECT state FROM hosts WHERE id = 1"),
			    "UP");
	sqlite3_close(db);
	store_close(s, WAIT_MS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
		T(test_schema_created_and_reopened),
		T(test_newer_schema_refused),
		T(test_host_seen_event_written),
		T(test_plugin_latest_and_history),
		T(test_refused_op_skipped),
		T(test_load_after_restart),
		T(test_state_check_without_ephemeral_index),
		T(test_backlog_cap),
		T(test_backlog_keeps_room_for_rows),
		T(test_seen_resends_state),
		T(test_locked_database_retried),
		T(test_close_gives_up),
		T(test_prune_old_history_only),
		T(test_seen_100k),
		T(test_seen_keeps_order_with_hosts),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
