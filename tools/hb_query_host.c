/*
 * hb_query_host: "hb-query host", one host in detail: its attributes,
 * the Info data of its plugins as indented "key: value" lines, the
 * latest values of its Monitor plugins as "path value" lines (the paths
 * --field takes), and its last events. JSON data is walked with SQLite's
 * json_tree(), which gives every node with its parent.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "hb_query.h"

#define EVENTS 20
#define MAX_DEPTH 64
#define ATTR_WIDTH 12

static const char help[] =
	"usage: hb-query host [OPTIONS] ID|NAME\n"
	"Shows one host: its attributes, the Info data of its plugins, the\n"
	"latest values of its Monitor plugins with their age and status, and\n"
	"its last 20 events.\n"
	"\n"
	"  ID|NAME     a uuid, its first 8 or more characters, or a hostname\n"
	"              (exact, else in any case); a hostname several hosts\n"
	"              share is refused, listing their uuids\n"
	"  --json      one object: the fields of hosts --json, plus\n"
	"              plugin_latest (each plugin's newest sample, its data\n"
	"              as JSON) and events (the last 20, oldest first)\n"
	"  --db PATH   the database\n"
	"  -h, --help  show this help\n"
	"\n"
	"Monitor values are shown by path (per_cpu.load1): the paths\n"
	"hb-query plugin --field takes.\n";

/* ---- Rendering JSON ---- */

static sqlite3_stmt *tree_stmt(struct query *q, const char *sql,
			       const char *json)
{
	sqlite3_stmt *st = db_prepare(q, sql);

	if (sqlite3_bind_text(st, 1, json, -1, SQLITE_STATIC))
		die_db(q, NULL);
	return st;
}

/* A scalar's text; type and atom are columns of json_tree(). */
static const char *scalar(sqlite3_stmt *st, int type, int atom)
{
	const char *t = col_text(st, type), *s = col_text(st, atom);

	if (strcmp(t, "text") == 0)
		return *s ? s : "\"\"";
	return *t == 'n' ? "null" : *t == 't' ? "true" : *t == 'f' ? "false"
								     : s;
}

/* Where render_tree() is: the open containers, innermost last. */
struct tree {
	int64_t ids[MAX_DEPTH];
	bool arrays[MAX_DEPTH];
	int depth;
	int dashes;	/* of array items waiting for their first member */
	int indent;
};

/* Closes the containers the row is not in; true if it is an array item. */
static bool tree_parent(struct tree *t, sqlite3_stmt *st)
{
	if (sqlite3_column_type(st, 1) == SQLITE_NULL) /* the root */
		return false;
	while (t->depth > 0 &&
	       t->ids[t->depth - 1] != sqlite3_column_int64(st, 1))
		t->depth--;
	return t->depth > 0 && t->arrays[t->depth - 1];
}

/* "key: value", "key:" (members below), "- value", or a bare root. */
static void tree_print(struct tree *t, sqlite3_stmt *st, bool root,
		       bool item, bool open)
{
	const char *key = col_text(st, 2), *type = col_text(st, 3);
	int level = t->depth > 0 ? t->depth - 1 : 0;
	int spaces = t->indent + 2 * (level - t->dashes);

	printf("%*s", spaces > 0 ? spaces : 0, "");
	for (; t->dashes > 0; t->dashes--)
		fputs("- ", stdout);
	if (item) {
		fputs("- ", stdout);
	} else if (!root) {
		put_clean(stdout, *key ? key : "\"\"");
		fputs(open ? ":" : ": ", stdout);
	}
	if (!open)
		put_clean(stdout, *type == 'o' || *type == 'a'
					  ? col_text(st, 5) : scalar(st, 3, 4));
	putchar('\n');
}

/*
 * Objects as "key: value" lines, containers as "key:" with their
 * members indented below, array items as "- item"; like YAML. An item
 * that is a container prints no line of its own: its dash goes in front
 * of its first member. (json_tree() gives containers' values minified:
 * "{}" and "[]" are the empty ones.)
 */
void render_tree(struct query *q, const char *json, int indent)
{
	sqlite3_stmt *st = tree_stmt(q, "SELECT id, parent, key, type, atom,"
					" value FROM json_tree(?1)", json);
	struct tree t = {.indent = indent};

	while (db_step(q, st)) {
		const char *type = col_text(st, 3);
		bool root = sqlite3_column_type(st, 1) == SQLITE_NULL;
		bool item = tree_parent(&t, st);
		bool open = (*type == 'o' || *type == 'a') &&
			    strlen(col_text(st, 5)) > 2;

		if (open && (root || item))
			t.dashes += item;
		else
			tree_print(&t, st, root, item, open);
		if (open && t.depth < MAX_DEPTH) {
			t.ids[t.depth] = sqlite3_column_int64(st, 0);
			t.arrays[t.depth++] = *type == 'a';
		}
	}
	sqlite3_finalize(st);
}

/* A key as a JSON path step: quoted unless [A-Za-z0-9_-]+. */
static void path_step(struct hb_buf *b, const char *key, bool index)
{
	bool plain = *key && strspn(key, "abcdefghijklmnopqrstuvwxyz"
					 "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
					 "0123456789_-") == strlen(key);

	if (index)
		sb_addf(b, "[%s]", key);
	else
		sb_addf(b, "%s%s%s%s", b->len ? "." : "", plain ? "" : "\"",
			key, plain ? "" : "\"");
}

struct flat_node {
	int64_t id;
	bool array;
	struct hb_buf path;
};

/*
 * Leaves (and empty containers) as "path value" lines, values aligned;
 * the paths are what hb-query plugin --field takes: per_cpu.load1,
 * disks[0].name.
 */
void render_flat(struct query *q, const char *json, int indent)
{
	static const char *const heads[] = {"PATH", "VALUE"};
	sqlite3_stmt *st = tree_stmt(q, "SELECT id, parent, key, type, atom,"
					" value FROM json_tree(?1)", json);
	struct flat_node stack[MAX_DEPTH];
	int depth = 0;
	struct table t;

	table_init(&t, 2, heads);
	t.indent = indent;
	t.noheads = true;
	while (db_step(q, st)) {
		const char *type = col_text(st, 3), *value = col_text(st, 5);
		bool root = sqlite3_column_type(st, 1) == SQLITE_NULL;
		bool open = (*type == 'o' || *type == 'a') && strlen(value) > 2;
		struct hb_buf path;

		while (!root && depth > 0 &&
		       stack[depth - 1].id != sqlite3_column_int64(st, 1))
			hb_buf_free(&stack[--depth].path);
		hb_buf_init(&path);
		sb_add(&path, depth > 0 ? stack[depth - 1].path.data : "");
		if (!root)
			path_step(&path, col_text(st, 2),
				  depth > 0 && stack[depth - 1].array);
		if (open && depth < MAX_DEPTH) {
			stack[depth].id = sqlite3_column_int64(st, 0);
			stack[depth].array = *type == 'a';
			stack[depth++].path = path;
			continue;
		}
		if (!open) {
			table_add(&t, NULL, "%s",
				  path.len ? path.data : "value");
			table_add(&t, NULL, "%s",
				  *type == 'o' || *type == 'a'
					  ? value : scalar(st, 3, 4));
		}
		hb_buf_free(&path);
	}
	while (depth > 0)
		hb_buf_free(&stack[--depth].path);
	sqlite3_finalize(st);
	table_print(q, &t);
	table_free(&t);
}

/* ---- Sections ---- */

/* "  name        value", the value in color (NULL: none), "-" if empty. */
__attribute__((format(printf, 4, 5)))
static void attr(const struct query *q, const char *name, const char *color,
		 const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		die("out of memory");
	va_end(ap);
	printf("  %-*s  %s", ATTR_WIDTH, name, color ? color : "");
	put_clean(stdout, *s ? s : "-");
	printf("%s\n", color ? reset(q) : "");
	free(s);
}

/* "env=prod, role=web" */
static char *labels_text(struct query *q, const char *json)
{
	sqlite3_stmt *st = tree_stmt(q, "SELECT key, value FROM json_each(?1)",
				     json);
	struct hb_buf b;

	hb_buf_init(&b);
	sb_add(&b, "");
	while (db_step(q, st))
		sb_addf(&b, "%s%s=%s", b.len ? ", " : "", col_text(st, 0),
			col_text(st, 1));
	sqlite3_finalize(st);
	return b.data;
}

static void show_times(struct query *q, sqlite3_stmt *st)
{
	char iso[32], age[48];
	int64_t t;

	t = sqlite3_column_int64(st, HC_FIRST_SEEN);
	attr(q, "first seen", NULL, "%s (%s)", fmt_iso(iso, sizeof(iso), t),
	     fmt_age(q, age, sizeof(age), t));
	t = sqlite3_column_int64(st, HC_LAST_SEEN);
	attr(q, "last seen", NULL, "%s (%s)", fmt_iso(iso, sizeof(iso), t),
	     fmt_age(q, age, sizeof(age), t));
	t = sqlite3_column_int64(st, HC_BOOT_START) * 1000;
	if (t > 0)
		attr(q, "client up", NULL, "since %s (%s)",
		     fmt_iso(iso, sizeof(iso), t),
		     fmt_age(q, age, sizeof(age), t));
	else
		attr(q, "client up", NULL, "-");
}

static void show_counts(struct query *q, sqlite3_stmt *st)
{
	int64_t rx = sqlite3_column_int64(st, HC_RECEIVED);
	int64_t lost = sqlite3_column_int64(st, HC_LOST);

	attr(q, "sequence", NULL, "epoch %lld, seq %lld",
	     (long long)sqlite3_column_int64(st, HC_EPOCH),
	     (long long)sqlite3_column_int64(st, HC_SEQ));
	/* received counts every datagram: the loss is an estimate. */
	attr(q, "received", NULL,
	     "%lld datagrams, %lld heartbeats lost (%.1f%%), since hbd"
	     " started", (long long)rx, (long long)lost,
	     rx + lost > 0 ? 100.0 * (double)lost / (double)(rx + lost) : 0.0);
	attr(q, "clock skew", NULL, "%+lld ms (client minus server)",
	     (long long)sqlite3_column_int64(st, HC_SKEW));
}

static void show_attributes(struct query *q, sqlite3_stmt *st)
{
	const char *state = col_text(st, HC_STATE);
	const char *msg = col_text(st, HC_STATUS_MSG);
	int64_t since = sqlite3_column_int64(st, HC_STATE_SINCE);
	char *labels = labels_text(q, col_text(st, HC_LABELS));
	char iso[32], span[32];

	printf("%s", bold(q));
	put_clean(stdout, *col_text(st, HC_HOSTNAME) ? col_text(st, HC_HOSTNAME)
						      : "(no hostname)");
	printf("%s\n", reset(q));
	attr(q, "uuid", NULL, "%s", col_text(st, HC_UUID));
	attr(q, "state", state_color(q, state), "%s for %s, since %s", state,
	     fmt_span(span, sizeof(span), q->now_ms > since ? q->now_ms - since
							    : 0),
	     fmt_iso(iso, sizeof(iso), since));
	attr(q, "status", status_color(q, sqlite3_column_int(st, HC_STATUS)),
	     "%s%s%s", col_text(st, HC_STATUS_TEXT), *msg ? ": " : "", msg);
	attr(q, "address", NULL, "%s", col_text(st, HC_ADDRESS));
	attr(q, "owner", NULL, "%s", col_text(st, HC_OWNER));
	attr(q, "labels", NULL, "%s", labels);
	attr(q, "version", NULL, "%s", col_text(st, HC_VERSION));
	attr(q, "interval", NULL, "%s",
	     fmt_span(span, sizeof(span),
		      sqlite3_column_int64(st, HC_INTERVAL) * 1000));
	show_times(q, st);
	show_counts(q, st);
	attr(q, "boot id", NULL, "%s", col_text(st, HC_BOOT_ID));
	free(labels);
}

/* "  os  OK  collected 5m ago  message" */
static void plugin_line(struct query *q, sqlite3_stmt *st, bool monitor)
{
	int status = sqlite3_column_int(st, 1);
	int64_t t = sqlite3_column_int64(st, 3);
	int64_t every = sqlite3_column_int64(st, 4) * 1000;
	char age[48], span[32];
	const char *c = status_color(q, status);

	fputs("  ", stdout);
	put_clean(stdout, col_text(st, 0));
	printf("  %s%s%s  %s", c ? c : "", status >= 0 && status < 4
					       ? status_names[status] : "?",
	       reset(q), fmt_age(q, age, sizeof(age), t));
	if (monitor && every > 0)
		printf(" (every %s%s)", fmt_span(span, sizeof(span), every),
		       q->now_ms - t > 3 * every ? ", stale" : "");
	if (*col_text(st, 2)) {
		fputs("  ", stdout);
		put_clean(stdout, col_text(st, 2));
	}
	putchar('\n');
}

static void show_plugins(struct query *q, int64_t id, bool monitor)
{
	sqlite3_stmt *st = db_prepare(q,
		"SELECT plugin, status, message, time, interval_s, data FROM"
		" plugin_latest WHERE host_id = ?1 AND kind = ?2"
		" ORDER BY plugin");
	int n = 0;

	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, monitor ? "monitor" : "info", -1,
			  SQLITE_STATIC);
	printf("\n%s%s%s\n", bold(q), monitor ? "Monitor values" : "Info data",
	       reset(q));
	for (; db_step(q, st); n++) {
		plugin_line(q, st, monitor);
		if (sqlite3_column_type(st, 5) == SQLITE_NULL)
			puts("    (no data)");
		else if (monitor)
			render_flat(q, col_text(st, 5), 4);
		else
			render_tree(q, col_text(st, 5), 4);
	}
	if (!n)
		puts("  none");
	sqlite3_finalize(st);
}

static void show_events(struct query *q, int64_t id)
{
	static const char *const heads[] = {"TIME", "KIND", "CHANGE",
					    "REASON"};
	sqlite3_stmt *st = db_prepare(q,
		"SELECT time, kind, from_state, to_state, reason FROM"
		" (SELECT * FROM events WHERE host_id = ?1 ORDER BY id DESC"
		" LIMIT " HB_STR(EVENTS) ") ORDER BY id");
	struct table t;
	char iso[32];

	table_init(&t, 4, heads);
	t.indent = 2;
	sqlite3_bind_int64(st, 1, id);
	while (db_step(q, st)) {
		table_add(&t, NULL, "%s", fmt_iso(iso, sizeof(iso),
						  sqlite3_column_int64(st, 0)));
		table_add(&t, NULL, "%s", col_text(st, 1));
		if (sqlite3_column_type(st, 3) == SQLITE_NULL)
			table_add(&t, NULL, "%s", "");
		else
			table_add(&t, state_color(q, col_text(st, 3)),
				  "%s -> %s", col_text(st, 2), col_text(st, 3));
		table_add(&t, NULL, "%s", col_text(st, 4));
	}
	sqlite3_finalize(st);
	printf("\n%sEvents%s (last %d)\n", bold(q), reset(q), EVENTS);
	if (t.ncells)
		table_print(q, &t);
	else
		puts("  none");
	table_free(&t);
}

/* ---- JSON ---- */

#define LATEST_JSON                                                         \
	"(SELECT json_group_array(json_object('plugin', p.plugin, 'kind',"  \
	" p.kind, 'status', p.status, 'status_text', p.status_text,"        \
	" 'message', p.message, 'time', p.time, 'time_iso', "               \
	SQL_ISO("p.time") ", 'received', p.received, 'interval_s',"         \
	" p.interval_s, 'data', json(p.data))) FROM (SELECT * FROM"         \
	" plugin_latest WHERE host_id = h.id ORDER BY kind, plugin) p)"

#define EVENTS_JSON                                                         \
	"(SELECT json_group_array(json_object('time', e.time, 'time_iso', " \
	SQL_ISO("e.time") ", 'kind', e.kind, 'from', e.from_state, 'to',"  \
	" e.to_state, 'reason', e.reason)) FROM (SELECT * FROM (SELECT *"   \
	" FROM events WHERE host_id = h.id ORDER BY id DESC LIMIT "         \
	HB_STR(EVENTS) ") ORDER BY id) e)"

static void host_json(struct query *q, int64_t id)
{
	struct col cols[HC_COUNT + 2];
	struct listing l = {
		.cols = cols, .ncols = HC_COUNT + 2, .one = true,
		.tail = "FROM hosts h WHERE h.id = ?1",
	};

	memcpy(cols, host_cols, sizeof(host_cols));
	cols[HC_COUNT] = (struct col){"plugin_latest", LATEST_JSON, true};
	cols[HC_COUNT + 1] = (struct col){"events", EVENTS_JSON, true};
	param_int(&l.params, id);
	listing_print(q, &l);
}

int cmd_host(struct query *q, int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTIONS,
		{"json", no_argument, NULL, OPT_JSON},
		{NULL, 0, NULL, 0},
	};
	struct listing l = {
		.cols = host_cols, .ncols = HC_COUNT,
		.tail = "FROM hosts h WHERE h.id = ?1",
	};
	sqlite3_stmt *st;
	int64_t id;
	int c;

	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1)
		common_option(q, "host", c, argv, help);
	if (optind >= argc)
		die("host: which host? (a uuid, uuid prefix or hostname)");
	if (argc - optind > 1)
		die("host: one host at a time ('%s' is one too many)",
		    argv[optind + 1]);
	db_open(q);
	id = host_resolve(q, argv[optind]);
	if (q->fmt == FMT_JSON) {
		host_json(q, id);
		return 0;
	}
	param_int(&l.params, id);
	st = listing_stmt(q, &l);
	if (db_step(q, st))
		show_attributes(q, st);
	sqlite3_finalize(st);
	show_plugins(q, id, false);
	show_plugins(q, id, true);
	show_events(q, id);
	return 0;
}
