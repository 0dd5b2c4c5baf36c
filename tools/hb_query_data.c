/*
 * hb_query_data: "hb-query plugin" (a plugin's samples over time, or one
 * field of them), "hb-query events" and "hb-query stats" (hbd's
 * counters, grouped).
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "hb_query.h"

#define STATUS_TEXT(x)                                                      \
	"CASE " x " WHEN 0 THEN 'OK' WHEN 1 THEN 'WARNING' WHEN 2 THEN"    \
	" 'CRITICAL' WHEN 3 THEN 'UNKNOWN' END"

/* Options plugin and events share. */
struct span_opts {
	int64_t since_ms;	/* INT64_MAX: all */
	const char *host;
	long long limit;	/* 0: none */
};

static long long parse_limit(const char *cmd, const char *s)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < 1)
		die("%s: --limit: bad count '%s' (a number, 1 or more)", cmd,
		    s);
	return v;
}

/* " AND t.time >= ... AND t.host_id = ...", and the LIMIT number. */
static int where_span(struct query *q, struct hb_buf *w, struct params *p,
		      const struct span_opts *o, const char *t)
{
	if (o->since_ms != INT64_MAX)
		sb_addf(w, " AND %s.time >= ?%d", t,
			param_int(p, q->now_ms - o->since_ms));
	if (o->host)
		sb_addf(w, " AND %s.host_id = ?%d", t,
			param_int(p, host_resolve(q, o->host)));
	return param_int(p, o->limit ? o->limit : -1);
}

static void add_time(struct table *t, int64_t ms)
{
	char iso[32];

	table_add(t, NULL, "%s", fmt_iso(iso, sizeof(iso), ms));
}

/* ---- plugin ---- */

static const char plugin_help[] =
	"usage: hb-query plugin [OPTIONS] NAME\n"
	"Lists the samples of plugin NAME, oldest first, one per line: time\n"
	"(the client's clock), host, status, and the data as JSON or one\n"
	"field of it.\n"
	"\n"
	"  --host H          only this host: uuid, uuid prefix or hostname\n"
	"  --since DURATION  samples of the last DURATION: 30s, 10m, 2h, 1d,\n"
	"                    1h30m, or all (default 1h)\n"
	"  --field PATH      one value of the data, by JSON path: load1,\n"
	"                    per_cpu.load1, uname.sysname, disks[0].name\n"
	"                    (hb-query host NAME shows the paths)\n"
	"  --limit N         only the newest N samples\n"
	"  --json            an array of objects: time (Unix ms), time_iso,\n"
	"                    hostname, uuid, plugin, status, status_text,\n"
	"                    message and data (with --field: field and value)\n"
	"  --csv             the same fields as CSV (RFC 4180), with a header\n"
	"  --db PATH         the database\n"
	"  -h, --help        show this help\n"
	"\n"
	"Example: hb-query plugin load --host web-1 --since 2h --field load1\n";

enum { PC_TIME, PC_TIME_ISO, PC_HOSTNAME, PC_UUID, PC_PLUGIN, PC_STATUS,
       PC_STATUS_TEXT, PC_MESSAGE, PC_DATA, PC_VALUE, PC_COUNT };

static const char *digits(const char *p)
{
	if (!isdigit((unsigned char)*p))
		return NULL;
	while (isdigit((unsigned char)*p))
		p++;
	return p;
}

/* SQLite's JSON path syntax: "$" then .key, ."key", [N], [#] or [#-N]. */
static bool valid_path(const char *p)
{
	if (*p++ != '$')
		return false;
	while (p && *p) {
		if (p[0] == '.' && p[1] == '"') {
			p = strchr(p + 2, '"');
			p = p ? p + 1 : NULL;
		} else if (*p == '.') {
			size_t n = strcspn(p + 1, ".[");

			p = n ? p + 1 + n : NULL;
		} else if (*p == '[') {
			p++;
			if (*p == '#')
				p = p[1] == '-' ? digits(p + 2) : p + 1;
			else
				p = digits(p);
			p = p && *p == ']' ? p + 1 : NULL;
		} else {
			p = NULL;
		}
	}
	return p != NULL;
}

/* "load1" as "$.load1", "[0]" as "$[0]"; dies if it is not a path. */
static char *json_path(struct query *q, const char *field)
{
	sqlite3_stmt *st;
	char *path;
	int rc;

	if (asprintf(&path, "%s%s", *field == '$' ? "" : *field == '[' ? "$"
								   : "$.",
		     field) < 0)
		die("out of memory");
	st = db_prepare(q, "SELECT json_extract('{}', ?1)");
	sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (!*field || !valid_path(path) || rc != SQLITE_ROW)
		die("plugin: --field: bad path '%s' (like load1, per_cpu.load1,"
		    " disks[0].name)", field);
	return path;
}

/* Dies, naming the plugins there are, if no host ever sent name. */
static void check_plugin(struct query *q, const char *name)
{
	sqlite3_stmt *st = db_prepare(q,
		"SELECT (SELECT count(*) FROM plugin_latest WHERE plugin = ?1),"
		" (SELECT group_concat(plugin, ', ') FROM (SELECT DISTINCT"
		" plugin FROM plugin_latest ORDER BY plugin))");
	int64_t n;
	char *known;

	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	db_step(q, st);
	n = sqlite3_column_int64(st, 0);
	if (!(known = strdup(col_text(st, 1))))
		die("out of memory");
	sqlite3_finalize(st);
	if (!n)
		die("no plugin '%s' in the database (%s%s)", name,
		    *known ? "there is: " : "no plugin data yet", known);
	free(known);
}

static void plugin_table(struct query *q, const struct listing *l,
			 const char *field)
{
	const char *heads[] = {"TIME", "HOST", "STATUS",
			       field ? field : "DATA"};
	sqlite3_stmt *st = listing_stmt(q, l);
	struct table t;
	long with = 0;
	int vc = field ? PC_VALUE : PC_DATA;

	table_init(&t, 4, heads);
	while (db_step(q, st)) {
		bool null = sqlite3_column_type(st, vc) == SQLITE_NULL;
		int status = sqlite3_column_int(st, PC_STATUS);

		add_time(&t, sqlite3_column_int64(st, PC_TIME));
		table_add(&t, NULL, "%s", col_text(st, PC_HOSTNAME));
		table_add(&t, status_color(q, status), "%s",
			  col_text(st, PC_STATUS_TEXT));
		table_add(&t, NULL, "%s", null ? "-" : col_text(st, vc));
		with += !null;
	}
	sqlite3_finalize(st);
	if (t.ncells)
		table_print(q, &t);
	else
		fputs("no samples match\n", stderr);
	if (field && t.ncells && !with)
		fprintf(stderr, "hb-query: note: no sample has field '%s'"
				" (hb-query host NAME shows the paths)\n",
			field);
	table_free(&t);
}

/*
 * The columns; with a field (?fname its name, ?fpath its JSON path),
 * field and value replace data.
 */
static void plugin_cols(struct query *q, struct col *cols, int fname,
			int fpath)
{
	static char value[48], name[16];

	cols[PC_TIME] = (struct col){"time", "ph.time", false};
	cols[PC_TIME_ISO] = (struct col){"time_iso", SQL_ISO("ph.time"),
					 false};
	cols[PC_HOSTNAME] = (struct col){"hostname", "h.hostname", false};
	cols[PC_UUID] = (struct col){"uuid", "h.uuid", false};
	cols[PC_PLUGIN] = (struct col){"plugin", "ph.plugin", false};
	cols[PC_STATUS] = (struct col){"status", "ph.status", false};
	cols[PC_STATUS_TEXT] = (struct col){"status_text",
					    STATUS_TEXT("ph.status"), false};
	cols[PC_MESSAGE] = (struct col){"message", "ph.message", false};
	cols[PC_DATA] = (struct col){"data", "ph.data", true};
	if (!fpath)
		return;
	/* JSON keeps the value's type; CSV and the table its SQL value. */
	snprintf(name, sizeof(name), "?%d", fname);
	snprintf(value, sizeof(value), q->fmt == FMT_JSON
						? "ph.data -> ?%d"
						: "json_extract(ph.data, ?%d)",
		 fpath);
	cols[PC_DATA] = (struct col){"field", name, false};
	cols[PC_VALUE] = (struct col){"value", value, q->fmt == FMT_JSON};
}

int cmd_plugin(struct query *q, int argc, char **argv)
{
	enum { O_HOST = OPT_OWN, O_SINCE, O_FIELD, O_LIMIT };
	static const struct option opts[] = {
		COMMON_OPTIONS, FORMAT_OPTIONS,
		{"host", required_argument, NULL, O_HOST},
		{"since", required_argument, NULL, O_SINCE},
		{"field", required_argument, NULL, O_FIELD},
		{"limit", required_argument, NULL, O_LIMIT},
		{NULL, 0, NULL, 0},
	};
	struct span_opts o = {.since_ms = 3600 * 1000};
	struct col cols[PC_COUNT];
	struct listing l = {.cols = cols, .ncols = PC_COUNT - 1};
	const char *field = NULL;
	char *path = NULL;
	struct hb_buf w;
	int c, limit, fname = 0, fpath = 0;

	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == O_HOST)
			o.host = optarg;
		else if (c == O_SINCE)
			o.since_ms = parse_duration("plugin: --since", optarg);
		else if (c == O_FIELD)
			field = optarg;
		else if (c == O_LIMIT)
			o.limit = parse_limit("plugin", optarg);
		else
			common_option(q, "plugin", c, argv, plugin_help);
	}
	if (optind >= argc)
		die("plugin: which plugin? (hb-query plugin NAME; hb-query"
		    " host NAME lists a host's)");
	if (argc - optind > 1)
		die("plugin: one plugin at a time ('%s' is one too many)",
		    argv[optind + 1]);
	db_open(q);
	check_plugin(q, argv[optind]);
	hb_buf_init(&w);
	sb_addf(&w, "FROM (SELECT * FROM plugin_history ph WHERE"
		    " ph.plugin = ?%d", param_text(&l.params, argv[optind]));
	limit = where_span(q, &w, &l.params, &o, "ph");
	sb_addf(&w, " ORDER BY ph.time DESC, ph.id DESC LIMIT ?%d) ph"
		    " JOIN hosts h ON h.id = ph.host_id ORDER BY ph.time,"
		    " ph.id", limit);
	if (field) {
		path = json_path(q, field);
		fname = param_text(&l.params, field);
		fpath = param_text(&l.params, path);
		l.ncols = PC_COUNT;
	}
	plugin_cols(q, cols, fname, fpath);
	l.tail = w.data;
	if (q->fmt == FMT_TABLE)
		plugin_table(q, &l, field);
	else
		listing_print(q, &l);
	hb_buf_free(&w);
	free(path);
	return 0;
}

/* ---- events ---- */

static const char events_help[] =
	"usage: hb-query events [OPTIONS]\n"
	"Lists what happened to hosts, oldest first: state changes with\n"
	"their reason, reboots, client restarts, clones, flapping.\n"
	"\n"
	"  --since DURATION  events of the last DURATION: 30s, 10m, 2h, 1d,\n"
	"                    1h30m, or all (default 1d)\n"
	"  --host H          only this host: uuid, uuid prefix or hostname\n"
	"  --kind KIND       only this kind: state, reboot, restart, clone,\n"
	"                    flapping\n"
	"  --limit N         only the newest N events\n"
	"  --json            an array of objects: id, time (Unix ms),\n"
	"                    time_iso, hostname, uuid, kind, from, to, reason\n"
	"  --csv             the same fields as CSV (RFC 4180), with a header\n"
	"  --db PATH         the database\n"
	"  -h, --help        show this help\n"
	"\n"
	"Example: hb-query events --since 1h --kind state\n";

enum { EC_ID, EC_TIME, EC_TIME_ISO, EC_HOSTNAME, EC_UUID, EC_KIND, EC_FROM,
       EC_TO, EC_REASON, EC_COUNT };

static const struct col event_cols[EC_COUNT] = {
	[EC_ID] = {"id", "e.id", false},
	[EC_TIME] = {"time", "e.time", false},
	[EC_TIME_ISO] = {"time_iso", SQL_ISO("e.time"), false},
	[EC_HOSTNAME] = {"hostname", "h.hostname", false},
	[EC_UUID] = {"uuid", "h.uuid", false},
	[EC_KIND] = {"kind", "e.kind", false},
	[EC_FROM] = {"from", "e.from_state", false},
	[EC_TO] = {"to", "e.to_state", false},
	[EC_REASON] = {"reason", "e.reason", false},
};

static void events_table(struct query *q, const struct listing *l)
{
	static const char *const heads[] = {"TIME", "HOST", "KIND", "CHANGE",
					    "REASON"};
	sqlite3_stmt *st = listing_stmt(q, l);
	struct table t;

	table_init(&t, 5, heads);
	while (db_step(q, st)) {
		const char *to = col_text(st, EC_TO);

		add_time(&t, sqlite3_column_int64(st, EC_TIME));
		table_add(&t, NULL, "%s", col_text(st, EC_HOSTNAME));
		table_add(&t, NULL, "%s", col_text(st, EC_KIND));
		if (*to)
			table_add(&t, state_color(q, to), "%s -> %s",
				  col_text(st, EC_FROM), to);
		else
			table_add(&t, NULL, "%s", "");
		table_add(&t, NULL, "%s", col_text(st, EC_REASON));
	}
	sqlite3_finalize(st);
	if (t.ncells)
		table_print(q, &t);
	else
		fputs("no events match\n", stderr);
	table_free(&t);
}

int cmd_events(struct query *q, int argc, char **argv)
{
	enum { O_HOST = OPT_OWN, O_SINCE, O_KIND, O_LIMIT };
	static const struct option opts[] = {
		COMMON_OPTIONS, FORMAT_OPTIONS,
		{"host", required_argument, NULL, O_HOST},
		{"since", required_argument, NULL, O_SINCE},
		{"kind", required_argument, NULL, O_KIND},
		{"limit", required_argument, NULL, O_LIMIT},
		{NULL, 0, NULL, 0},
	};
	struct span_opts o = {.since_ms = 86400 * 1000};
	struct listing l = {.cols = event_cols, .ncols = EC_COUNT};
	const char *kind = NULL;
	struct hb_buf w;
	int c, limit;

	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == O_HOST)
			o.host = optarg;
		else if (c == O_SINCE)
			o.since_ms = parse_duration("events: --since", optarg);
		else if (c == O_KIND)
			kind = optarg;
		else if (c == O_LIMIT)
			o.limit = parse_limit("events", optarg);
		else
			common_option(q, "events", c, argv, events_help);
	}
	no_more_args("events", argc, argv);
	db_open(q);
	hb_buf_init(&w);
	sb_add(&w, "FROM (SELECT * FROM events e WHERE 1");
	if (kind)
		sb_addf(&w, " AND e.kind = ?%d", param_text(&l.params, kind));
	limit = where_span(q, &w, &l.params, &o, "e");
	sb_addf(&w, " ORDER BY e.id DESC LIMIT ?%d) e JOIN hosts h ON"
		    " h.id = e.host_id ORDER BY e.id", limit);
	l.tail = w.data;
	if (q->fmt == FMT_TABLE)
		events_table(q, &l);
	else
		listing_print(q, &l);
	hb_buf_free(&w);
	return 0;
}
