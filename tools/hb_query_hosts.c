/*
 * hb_query_hosts: "hb-query hosts", the list of hosts with filters, and
 * how a command line names one host: uuid, uuid prefix or hostname.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hb_query.h"

static const char help[] =
	"usage: hb-query hosts [OPTIONS] [GLOB...]\n"
	"Lists hosts by hostname: state and for how long, when last heard\n"
	"from, address, owner, overall status (its message shortened) and how\n"
	"many plugins sent data.\n"
	"\n"
	"  GLOB               only hostnames matching this shell pattern, any\n"
	"                     case ('web-*'); several: matching any\n"
	"  --state STATE      only hosts in this state: UP, LATE, DOWN or\n"
	"                     STOPPED, any case; several: --state down,late\n"
	"  --owner OWNER      only hosts of this owner\n"
	"  --label KEY=VALUE  only hosts with this label (KEY alone: with any\n"
	"                     value); repeated: all of them\n"
	"  --json             an array of objects with every field: times in\n"
	"                     Unix ms and as *_iso text (UTC), labels as an\n"
	"                     object\n"
	"  --csv              the same fields as CSV (RFC 4180), with a\n"
	"                     header\n"
	"  --db PATH          the database\n"
	"  -h, --help         show this help\n"
	"\n"
	"Example: hb-query hosts --state down --label env=prod 'db-*'\n";

#define COL(name, expr) {name, expr, false}

const struct col host_cols[HC_COUNT] = {
	[HC_UUID] = COL("uuid", "h.uuid"),
	[HC_HOSTNAME] = COL("hostname", "h.hostname"),
	[HC_STATE] = COL("state", "h.state"),
	[HC_STATE_SINCE] = COL("state_since", "h.state_since"),
	[HC_STATE_SINCE_ISO] = COL("state_since_iso", SQL_ISO("h.state_since")),
	[HC_LAST_SEEN] = COL("last_seen", "h.last_seen"),
	[HC_LAST_SEEN_ISO] = COL("last_seen_iso", SQL_ISO("h.last_seen")),
	[HC_FIRST_SEEN] = COL("first_seen", "h.first_seen"),
	[HC_FIRST_SEEN_ISO] = COL("first_seen_iso", SQL_ISO("h.first_seen")),
	[HC_ADDRESS] = COL("address", "h.address"),
	[HC_OWNER] = COL("owner", "h.owner"),
	[HC_LABELS] = {"labels", "h.labels", true},
	[HC_VERSION] = COL("version", "h.version"),
	[HC_INTERVAL] = COL("interval_s", "h.interval_s"),
	[HC_STATUS] = COL("status", "h.status"),
	[HC_STATUS_TEXT] = COL("status_text", "h.status_text"),
	[HC_STATUS_MSG] = COL("status_msg", "h.status_msg"),
	[HC_PLUGINS] = COL("plugins", "(SELECT count(*) FROM plugin_latest p"
				      " WHERE p.host_id = h.id)"),
	[HC_RECEIVED] = COL("received", "h.received"),
	[HC_LOST] = COL("lost", "h.lost"),
	[HC_SKEW] = COL("skew_ms", "h.skew_ms"),
	[HC_EPOCH] = COL("epoch", "h.epoch"),
	[HC_SEQ] = COL("seq", "h.seq"),
	[HC_BOOT_START] = COL("boot_start", "h.boot_start"),
	[HC_BOOT_START_ISO] = COL("boot_start_iso",
				  SQL_ISO("h.boot_start * 1000")),
	[HC_BOOT_ID] = COL("boot_id", "h.boot_id"),
};

static const char *const states[] = {"UP", "LATE", "DOWN", "STOPPED"};

#define NSTATES (sizeof(states) / sizeof(states[0]))

/* Adds the states of "down,late" to the mask. */
static unsigned parse_states(const char *arg)
{
	unsigned mask = 0;

	for (const char *p = arg; *p;) {
		size_t n = strcspn(p, ",");
		size_t i = 0;

		while (i < NSTATES && (strlen(states[i]) != n ||
				       strncasecmp(p, states[i], n) != 0))
			i++;
		if (i == NSTATES)
			die("hosts: --state: unknown state '%.*s' (UP, LATE,"
			    " DOWN or STOPPED)", (int)n, p);
		mask |= 1u << i;
		p += n + (p[n] == ',');
	}
	if (!mask)
		die("hosts: --state needs a state (UP, LATE, DOWN or STOPPED)");
	return mask;
}

static void where_states(struct hb_buf *w, struct params *p, unsigned mask)
{
	bool first = true;

	sb_add(w, " AND h.state IN (");
	for (size_t i = 0; i < NSTATES; i++) {
		if (!(mask & 1u << i))
			continue;
		sb_addf(w, "%s?%d", first ? "" : ", ",
			param_text(p, states[i]));
		first = false;
	}
	sb_add(w, ")");
}

/* "KEY=VALUE" or "KEY"; arg is cut at the '='. */
static void where_label(struct hb_buf *w, struct params *p, char *arg)
{
	char *eq = strchr(arg, '=');
	int key;

	if (eq)
		*eq = '\0';
	if (!*arg || strchr(arg, '"'))
		die("hosts: --label: bad label key '%s' (KEY=VALUE)", arg);
	key = param_text(p, arg);
	if (eq)
		sb_addf(w, " AND CAST(json_extract(h.labels, '$.\"' || ?%d"
			   " || '\"') AS TEXT) = ?%d",
			key, param_text(p, eq + 1));
	else
		sb_addf(w, " AND json_type(h.labels, '$.\"' || ?%d || '\"')"
			   " IS NOT NULL", key);
}

static void where_globs(struct hb_buf *w, struct params *p, int n,
			char **globs)
{
	if (!n)
		return;
	sb_add(w, " AND (");
	for (int i = 0; i < n; i++)
		sb_addf(w, "%sfnmatch(?%d, h.hostname)", i ? " OR " : "",
			param_text(p, globs[i]));
	sb_add(w, ")");
}

/* "UP 3m", the state and for how long. */
static void add_state(struct query *q, struct table *t, sqlite3_stmt *st)
{
	const char *state = col_text(st, HC_STATE);
	int64_t since = sqlite3_column_int64(st, HC_STATE_SINCE);
	char span[32];

	if (since <= 0)
		table_add(t, state_color(q, state), "%s", state);
	else
		table_add(t, state_color(q, state), "%s %s", state,
			  fmt_span(span, sizeof(span),
				   q->now_ms > since ? q->now_ms - since : 0));
}

/* "OK", or "WARNING: disk 91% full" with the message shortened. */
static void add_status(struct query *q, struct table *t, sqlite3_stmt *st)
{
	int status = sqlite3_column_int(st, HC_STATUS);
	const char *text = col_text(st, HC_STATUS_TEXT);
	char *msg = clipped(col_text(st, HC_STATUS_MSG), 40);

	table_add(t, status_color(q, status), "%s%s%s", *text ? text : "?",
		  *msg ? ": " : "", msg);
	free(msg);
}

static void hosts_table(struct query *q, const struct listing *l,
			bool filtered)
{
	static const char *const heads[] = {
		"HOST", "STATE", "LAST SEEN", "ADDRESS", "OWNER", "STATUS",
		"PLUGINS",
	};
	sqlite3_stmt *st = listing_stmt(q, l);
	struct table t;
	char age[48];

	table_init(&t, 7, heads);
	t.right = 1u << 6;
	while (db_step(q, st)) {
		const char *name = col_text(st, HC_HOSTNAME);
		const char *owner = col_text(st, HC_OWNER);
		const char *addr = col_text(st, HC_ADDRESS);

		table_add(&t, NULL, "%s", *name ? name : "-");
		add_state(q, &t, st);
		table_add(&t, NULL, "%s",
			  fmt_age(q, age, sizeof(age),
				  sqlite3_column_int64(st, HC_LAST_SEEN)));
		table_add(&t, NULL, "%s", *addr ? addr : "-");
		table_add(&t, NULL, "%s", *owner ? owner : "-");
		add_status(q, &t, st);
		table_add(&t, NULL, "%lld",
			  (long long)sqlite3_column_int64(st, HC_PLUGINS));
	}
	sqlite3_finalize(st);
	if (t.ncells)
		table_print(q, &t);
	else
		fputs(filtered ? "no hosts match\n" : "no hosts yet\n", stderr);
	table_free(&t);
}

int cmd_hosts(struct query *q, int argc, char **argv)
{
	enum { O_STATE = OPT_OWN, O_OWNER, O_LABEL };
	static const struct option opts[] = {
		COMMON_OPTIONS, FORMAT_OPTIONS,
		{"state", required_argument, NULL, O_STATE},
		{"owner", required_argument, NULL, O_OWNER},
		{"label", required_argument, NULL, O_LABEL},
		{NULL, 0, NULL, 0},
	};
	struct listing l = {.cols = host_cols, .ncols = HC_COUNT};
	struct hb_buf w;
	unsigned states_mask = 0;
	int c;

	hb_buf_init(&w);
	sb_add(&w, "FROM hosts h WHERE 1");
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == O_STATE)
			states_mask |= parse_states(optarg);
		else if (c == O_OWNER)
			sb_addf(&w, " AND h.owner = ?%d",
				param_text(&l.params, optarg));
		else if (c == O_LABEL)
			where_label(&w, &l.params, optarg);
		else
			common_option(q, "hosts", c, argv, help);
	}
	if (states_mask)
		where_states(&w, &l.params, states_mask);
	where_globs(&w, &l.params, argc - optind, argv + optind);
	sb_add(&w, " ORDER BY h.hostname, h.uuid");
	l.tail = w.data;
	db_open(q);
	if (q->fmt == FMT_TABLE)
		hosts_table(q, &l, l.params.n > 0);
	else
		listing_print(q, &l);
	hb_buf_free(&w);
	return 0;
}

/* ---- Naming a host ---- */

/* Tried in order; the first that matches anything decides. */
static const char *const tiers[] = {
	"h.uuid = lower(?1)",
	"length(?1) >= 8 AND substr(h.uuid, 1, length(?1)) = lower(?1)",
	"h.hostname = ?1",
	"h.hostname = ?1 COLLATE NOCASE",
};

/* Dies naming the candidates st (reset) finds. */
__attribute__((noreturn))
static void ambiguous(const char *arg, sqlite3_stmt *st, struct query *q)
{
	struct hb_buf b;
	int n = 0;

	hb_buf_init(&b);
	while (db_step(q, st))
		if (n++ < 5)
			sb_addf(&b, "%s%s (%s)", n > 1 ? ", " : "",
				col_text(st, 1), col_text(st, 2));
	if (n > 5)
		sb_addf(&b, " and %d more", n - 5);
	die("'%s' names %d hosts: %s; give a uuid (or its first 8+"
	    " characters)", arg, n, b.data);
}

int64_t host_resolve(struct query *q, const char *arg)
{
	for (size_t i = 0; i < sizeof(tiers) / sizeof(tiers[0]); i++) {
		char sql[256];
		sqlite3_stmt *st;
		int64_t id;

		snprintf(sql, sizeof(sql),
			 "SELECT h.id, h.hostname, h.uuid FROM hosts h WHERE %s"
			 " ORDER BY h.hostname, h.uuid", tiers[i]);
		st = db_prepare(q, sql);
		if (sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC))
			die_db(q, NULL);
		if (!db_step(q, st)) {
			sqlite3_finalize(st);
			continue;
		}
		id = sqlite3_column_int64(st, 0);
		if (db_step(q, st)) {
			sqlite3_reset(st);
			ambiguous(arg, st, q);
		}
		sqlite3_finalize(st);
		return id;
	}
	die("no host '%s' (not a hostname, uuid or uuid prefix; hb-query"
	    " hosts lists them)", arg);
}
