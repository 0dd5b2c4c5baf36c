/*
 * hb_query: what the modules of hb-query share: the open database and
 * the output settings, errors (one line on stderr, exit status 2), SQL
 * building and running, time formats, and the three output forms: an
 * aligned table for people, JSON and CSV for scripts.
 */
#ifndef HB_QUERY_H
#define HB_QUERY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <sqlite3.h>

#include "hb_json.h"

#ifndef HB_PACKAGE_VERSION
#define HB_PACKAGE_VERSION "0.1.0"
#endif

#define HB_XSTR(x) #x
#define HB_STR(x) HB_XSTR(x)

#define EXIT_FAIL 2
#define DEFAULT_DB "/var/lib/hb/hb.db" /* HBD_DEFAULT_DB */

/* SQL: Unix ms as ISO 8601 UTC with milliseconds, NULL when unset. */
#define SQL_ISO(x)                                                          \
	"CASE WHEN " x " > 0 THEN strftime('%Y-%m-%dT%H:%M:%S', " x        \
	" / 1000, 'unixepoch') || printf('.%03dZ', " x " % 1000) END"

enum format { FMT_TABLE, FMT_JSON, FMT_CSV };

struct query {
	const char *path;	/* database file */
	sqlite3 *db;
	int64_t now_ms;		/* one "now" for every age printed */
	bool color;		/* stdout is a terminal, NO_COLOR unset */
	enum format fmt;
};

/* ---- Errors: "hb-query: ..." on stderr, exit status 2 ---- */

__attribute__((format(printf, 1, 2), noreturn))
void die(const char *fmt, ...);
/* The database's last error, with what was being done. */
__attribute__((noreturn))
void die_db(struct query *q, const char *what);
/* getopt_long() returned c ('?' or ':'): reports it for command cmd. */
__attribute__((noreturn))
void die_option(const char *cmd, int c, char **argv);
/* Long options every command takes; a command's own start at OPT_OWN. */
enum { OPT_DB = 256, OPT_JSON, OPT_CSV, OPT_OWN };
#define COMMON_OPTIONS                                                      \
	{"db", required_argument, NULL, OPT_DB},                            \
	{"help", no_argument, NULL, 'h'}
#define FORMAT_OPTIONS                                                      \
	{"json", no_argument, NULL, OPT_JSON},                              \
	{"csv", no_argument, NULL, OPT_CSV}
/*
 * Handles --db, --json, --csv, --help (prints help, exits 0) and dies on
 * an unknown option or a missing value, for command cmd (NULL: none).
 */
void common_option(struct query *q, const char *cmd, int c, char **argv,
		   const char *help);
/* Refuses a second output format. */
void set_format(struct query *q, const char *cmd, enum format f);
/* Dies on an argument left after the options. */
void no_more_args(const char *cmd, int argc, char **argv);

/* ---- Database ---- */

/* Opens q->path read-only and checks it is an hb database. */
void db_open(struct query *q);
void db_close(struct query *q);
sqlite3_stmt *db_prepare(struct query *q, const char *sql);
/* true: a row; false: done. Dies on an error. */
bool db_step(struct query *q, sqlite3_stmt *st);
/* Column text, "" for NULL. */
const char *col_text(sqlite3_stmt *st, int i);

/* ---- Building SQL ---- */

#define MAX_PARAMS 24

/* Values for ?1, ?2...: text, or an integer when s is NULL. */
struct params {
	int n;
	struct {
		const char *s;
		int64_t i;
	} v[MAX_PARAMS];
};

/* Adds a value; returns its number, for "?%d". */
int param_text(struct params *p, const char *s);
int param_int(struct params *p, int64_t i);
void params_bind(struct query *q, sqlite3_stmt *st, const struct params *p);

/* hb_buf appends that die when memory runs out. */
void sb_add(struct hb_buf *b, const char *s);
__attribute__((format(printf, 2, 3)))
void sb_addf(struct hb_buf *b, const char *fmt, ...);

/* One output column: a name, its SQL, and whether its value is JSON. */
struct col {
	const char *name;
	const char *expr;
	bool json;
};

/*
 * A listing: the columns, what follows them ("FROM ... WHERE ...
 * ORDER BY ...") and the parameters. Its JSON form is an array of
 * objects, its CSV form a header and one line per row, both with the
 * column names; table() gets the plain rows in column order.
 */
struct listing {
	const struct col *cols;
	int ncols;
	const char *tail;
	struct params params;
	bool one;		/* JSON: the first row alone, not an array */
};

/* Prints the listing as JSON or CSV (q->fmt); returns the row count. */
long listing_print(struct query *q, const struct listing *l);
/* The plain query of a listing, prepared and bound. */
sqlite3_stmt *listing_stmt(struct query *q, const struct listing *l);

/* ---- Time ---- */

int64_t now_ms(void);
/* "10m", "2h", "1d", "1h30m"... in ms; "all" is INT64_MAX. Dies if bad. */
int64_t parse_duration(const char *opt, const char *s);
/* "4s", "3m12s", "2h5m", "3d4h". */
char *fmt_span(char *buf, size_t len, int64_t ms);
/* "4s ago" ("in 4s" if in the future), "never" for 0. */
char *fmt_age(const struct query *q, char *buf, size_t len, int64_t ms);
/* "2026-11-24T22:11:23Z", "-" for 0. */
char *fmt_iso(char *buf, size_t len, int64_t ms);

/* ---- Text ---- */

extern const char *const status_names[4];
const char *state_color(const struct query *q, const char *state);
const char *status_color(const struct query *q, int status);
const char *bold(const struct query *q);
const char *reset(const struct query *q);
/* Writes s with control characters made visible (\n, \t, ?). */
void put_clean(FILE *f, const char *s);
/* A copy of s cut to max characters ("..." at the end if cut). */
char *clipped(const char *s, size_t max);

/* ---- Tables ---- */

struct cell {
	char *text;
	const char *color;
};

struct table {
	int ncols;
	const char *const *heads;
	unsigned right;		/* bit i: column i is right-aligned */
	int indent;
	bool noheads;		/* no line of column names */
	size_t ncells, cap;
	struct cell *cells;
};

void table_init(struct table *t, int ncols, const char *const *heads);
/* Adds the next cell, row by row; color may be NULL. */
__attribute__((format(printf, 3, 4)))
void table_add(struct table *t, const char *color, const char *fmt, ...);
void table_print(const struct query *q, struct table *t);
void table_free(struct table *t);

/* ---- Hosts ---- */

/* The columns of a host, in hosts --json and --csv and in host --json. */
enum host_col {
	HC_UUID, HC_HOSTNAME, HC_STATE, HC_STATE_SINCE, HC_STATE_SINCE_ISO,
	HC_LAST_SEEN, HC_LAST_SEEN_ISO, HC_FIRST_SEEN, HC_FIRST_SEEN_ISO,
	HC_ADDRESS, HC_OWNER, HC_LABELS, HC_VERSION, HC_INTERVAL, HC_STATUS,
	HC_STATUS_TEXT, HC_STATUS_MSG, HC_PLUGINS, HC_RECEIVED, HC_LOST,
	HC_SKEW, HC_EPOCH, HC_SEQ, HC_BOOT_START, HC_BOOT_START_ISO,
	HC_BOOT_ID, HC_COUNT
};

extern const struct col host_cols[HC_COUNT];

/* The row id of the host a uuid, uuid prefix or hostname names. */
int64_t host_resolve(struct query *q, const char *arg);

/* ---- Commands: argv[0] is the command's name ---- */

int cmd_hosts(struct query *q, int argc, char **argv);
int cmd_host(struct query *q, int argc, char **argv);
int cmd_plugin(struct query *q, int argc, char **argv);
int cmd_events(struct query *q, int argc, char **argv);
int cmd_stats(struct query *q, int argc, char **argv);

/* Renders JSON text (Info data) as indented "key: value" lines. */
void render_tree(struct query *q, const char *json, int indent);
/* Renders JSON text (Monitor data) as "path.to.key: value" lines. */
void render_flat(struct query *q, const char *json, int indent);

#endif
