/*
 * hb_query_db: hb-query's errors, the read-only database, SQL building
 * and the JSON and CSV forms of a listing.
 *
 * The database is opened read-only through a "file:...?mode=ro" URI, so
 * it can be read while hbd writes it (WAL mode: readers and the writer do
 * not block each other), and every command reads inside one transaction:
 * what it prints is one consistent snapshot.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hb_query.h"

#define BUSY_MS 2000

/* ---- Errors ---- */

void die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("hb-query: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_FAIL);
}

void die_db(struct query *q, const char *what)
{
	int rc = q->db ? sqlite3_extended_errcode(q->db) : SQLITE_NOMEM;
	const char *msg = q->db ? sqlite3_errmsg(q->db) : "out of memory";

	if ((rc & 0xff) == SQLITE_NOTADB)
		die("%s: not an SQLite database", q->path);
	/* What a reader of a WAL database lacks, most likely. */
	if ((rc & 0xff) == SQLITE_CANTOPEN || (rc & 0xff) == SQLITE_READONLY)
		die("%s: cannot read it (%s): a reader needs read access to it"
		    " and its -wal and -shm files, or write access to its"
		    " directory", q->path, msg);
	die("%s: %s%s%s", q->path, what ? what : "", what ? ": " : "", msg);
}

void die_option(const char *cmd, int c, char **argv)
{
	char shopt[3] = {'-', (char)optopt, '\0'};
	const char *opt = c == '?' && optopt > 0 && optopt < 256
				  ? shopt : argv[optind - 1];
	char see[48];

	snprintf(see, sizeof(see), "see hb-query %s%s--help", cmd ? cmd : "",
		 cmd ? " " : "");
	if (c == ':')
		die("%s%soption '%s' needs a value (%s)", cmd ? cmd : "",
		    cmd ? ": " : "", opt, see);
	die("%s%sunknown option '%s' (%s)", cmd ? cmd : "", cmd ? ": " : "",
	    opt, see);
}

void set_format(struct query *q, const char *cmd, enum format f)
{
	if (q->fmt != FMT_TABLE && q->fmt != f)
		die("%s: --json and --csv exclude each other", cmd);
	q->fmt = f;
}

void no_more_args(const char *cmd, int argc, char **argv)
{
	if (optind < argc)
		die("%s: unexpected argument '%s' (see hb-query %s --help)",
		    cmd, argv[optind], cmd);
}

/* ---- Database ---- */

/* fnmatch(pattern, string) for SQL: shell globs, any case. */
static void sql_fnmatch(sqlite3_context *ctx, int argc, sqlite3_value **v)
{
	const char *pat = (const char *)sqlite3_value_text(v[0]);
	const char *s = (const char *)sqlite3_value_text(v[1]);

	sqlite3_result_int(ctx, pat && s &&
				fnmatch(pat, s, FNM_CASEFOLD) == 0);
}

/* A clear message for what stat() or access() says about the file. */
static void check_file(const char *path)
{
	struct stat st;

	if (!*path)
		die("the database path is empty");
	if (stat(path, &st) < 0 || access(path, R_OK) < 0) {
		if (errno == ENOENT)
			die("%s: no such database (give --db PATH or set"
			    " HB_DB)", path);
		die("%s: %s", path, strerror(errno));
	}
	if (S_ISDIR(st.st_mode))
		die("%s: is a directory, not a database", path);
}

/* "file:" URI of path: reserved characters percent-encoded. */
static char *uri_of(const char *path, bool immutable)
{
	static const char hex[] = "0123456789ABCDEF";
	struct hb_buf b;

	hb_buf_init(&b);
	/* "file:///abs" (empty authority) or "file:rel". */
	sb_add(&b, path[0] == '/' ? "file://" : "file:");
	for (const unsigned char *p = (const void *)path; *p; p++) {
		char e[4] = {'%', hex[*p >> 4], hex[*p & 15], '\0'};

		if (isalnum(*p) || strchr("/-._~", *p)) {
			e[0] = (char)*p;
			e[1] = '\0';
		}
		sb_add(&b, e);
	}
	sb_add(&b, immutable ? "?mode=ro&immutable=1" : "?mode=ro");
	return b.data;
}

static int64_t scalar(struct query *q, const char *sql)
{
	sqlite3_stmt *st = db_prepare(q, sql);
	int64_t v = db_step(q, st) ? sqlite3_column_int64(st, 0) : 0;

	sqlite3_finalize(st);
	return v;
}

/* hbd creates the hosts table and sets user_version 1 and up. */
static void check_schema(struct query *q)
{
	int64_t version = scalar(q, "PRAGMA user_version");

	if (!scalar(q, "SELECT count(*) FROM sqlite_master WHERE"
		       " type = 'table' AND name = 'hosts'"))
		die("%s: not an hb database (no hosts table)", q->path);
	if (version < 1)
		die("%s: not an hb database (schema version %lld)", q->path,
		    (long long)version);
}

/* Opens the database and reads from it: where WAL's -shm is needed. */
static int open_uri(struct query *q, bool immutable)
{
	char *uri = uri_of(q->path, immutable);
	int rc = sqlite3_open_v2(uri, &q->db, SQLITE_OPEN_READONLY |
					      SQLITE_OPEN_URI, NULL);

	free(uri);
	if (rc != SQLITE_OK)
		die_db(q, "cannot open");
	sqlite3_extended_result_codes(q->db, 1);
	sqlite3_busy_timeout(q->db, BUSY_MS);
	return sqlite3_exec(q->db, "SELECT count(*) FROM sqlite_master", NULL,
			    NULL, NULL);
}

static bool exists(const char *path, const char *suffix)
{
	struct stat st;
	char *p;
	bool yes;

	if (asprintf(&p, "%s%s", path, suffix) < 0)
		die("out of memory");
	yes = stat(p, &st) == 0;
	free(p);
	return yes;
}

void db_open(struct query *q)
{
	int rc;

	check_file(q->path);
	rc = open_uri(q, false);
	/*
	 * A reader that may not create the -shm file of a WAL database
	 * cannot read it. Without -wal and -shm files no one has it open
	 * (hbd is stopped; its last close folded the WAL into the file),
	 * so the file can be read as it is.
	 */
	if ((rc & 0xff) == SQLITE_READONLY || (rc & 0xff) == SQLITE_CANTOPEN) {
		if (!exists(q->path, "-wal") && !exists(q->path, "-shm")) {
			sqlite3_close(q->db);
			rc = open_uri(q, true);
		}
	}
	if (rc != SQLITE_OK)
		die_db(q, NULL);
	sqlite3_create_function(q->db, "fnmatch", 2,
				SQLITE_UTF8 | SQLITE_DETERMINISTIC |
					SQLITE_INNOCUOUS,
				NULL, sql_fnmatch, NULL, NULL);
	/* One snapshot for everything the command reads. */
	if (sqlite3_exec(q->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		die_db(q, NULL);
	check_schema(q);
	q->now_ms = now_ms();
}

void db_close(struct query *q)
{
	if (!q->db)
		return;
	sqlite3_exec(q->db, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(q->db);
	q->db = NULL;
}

sqlite3_stmt *db_prepare(struct query *q, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(q->db, sql, -1, &st, NULL) != SQLITE_OK)
		die_db(q, NULL);
	return st;
}

bool db_step(struct query *q, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return true;
	if (rc != SQLITE_DONE)
		die_db(q, NULL);
	return false;
}

const char *col_text(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);

	return s ? s : "";
}

/* ---- Building SQL ---- */

static int param_add(struct params *p)
{
	if (p->n == MAX_PARAMS)
		die("too many filters");
	return ++p->n;
}

int param_text(struct params *p, const char *s)
{
	int n = param_add(p);

	p->v[n - 1].s = s;
	return n;
}

int param_int(struct params *p, int64_t i)
{
	int n = param_add(p);

	p->v[n - 1].s = NULL;
	p->v[n - 1].i = i;
	return n;
}

void params_bind(struct query *q, sqlite3_stmt *st, const struct params *p)
{
	for (int i = 0; i < p->n; i++) {
		int rc = p->v[i].s ? sqlite3_bind_text(st, i + 1, p->v[i].s,
						       -1, SQLITE_STATIC)
				   : sqlite3_bind_int64(st, i + 1, p->v[i].i);

		if (rc != SQLITE_OK)
			die_db(q, NULL);
	}
}

void sb_add(struct hb_buf *b, const char *s)
{
	if (hb_buf_append(b, s, strlen(s)))
		die("out of memory");
}

void sb_addf(struct hb_buf *b, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		die("out of memory");
	sb_add(b, s);
	free(s);
}

/* The listing's SELECT: plain columns, or one JSON object per row. */
static char *listing_sql(const struct listing *l, bool json)
{
	struct hb_buf b;

	hb_buf_init(&b);
	sb_add(&b, json ? "SELECT json_object(" : "SELECT ");
	for (int i = 0; i < l->ncols; i++) {
		const struct col *c = &l->cols[i];

		if (i)
			sb_add(&b, ", ");
		if (json)
			sb_addf(&b, "'%s', %s%s%s", c->name,
				c->json ? "json(" : "", c->expr,
				c->json ? ")" : "");
		else
			sb_addf(&b, "%s AS \"%s\"", c->expr, c->name);
	}
	sb_add(&b, json ? ") " : " ");
	sb_add(&b, l->tail);
	return b.data;
}

static sqlite3_stmt *listing_prepare(struct query *q,
				     const struct listing *l, bool json)
{
	char *sql = listing_sql(l, json);
	sqlite3_stmt *st = db_prepare(q, sql);

	free(sql);
	params_bind(q, st, &l->params);
	return st;
}

sqlite3_stmt *listing_stmt(struct query *q, const struct listing *l)
{
	return listing_prepare(q, l, false);
}

/* An array of objects, one per line. */
static long json_rows(struct query *q, sqlite3_stmt *st)
{
	long n = 0;

	putchar('[');
	for (; db_step(q, st); n++) {
		fputs(n ? ",\n" : "\n", stdout);
		fputs(col_text(st, 0), stdout);
	}
	fputs(n ? "\n]\n" : "]\n", stdout);
	return n;
}

/* RFC 4180: quoted when it holds a comma, a quote or a line break. */
static void csv_field(const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, stdout);
		return;
	}
	putchar('"');
	for (; *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

static long csv_rows(struct query *q, sqlite3_stmt *st)
{
	int n = sqlite3_column_count(st);
	long rows = 0;

	for (int i = 0; i < n; i++) {
		fputs(i ? "," : "", stdout);
		csv_field(sqlite3_column_name(st, i));
	}
	fputs("\r\n", stdout);
	for (; db_step(q, st); rows++) {
		for (int i = 0; i < n; i++) {
			fputs(i ? "," : "", stdout);
			csv_field(col_text(st, i));
		}
		fputs("\r\n", stdout);
	}
	return rows;
}

long listing_print(struct query *q, const struct listing *l)
{
	sqlite3_stmt *st = listing_prepare(q, l, q->fmt == FMT_JSON);
	long n;

	if (l->one) {
		n = db_step(q, st);
		if (n)
			puts(col_text(st, 0));
	} else {
		n = q->fmt == FMT_JSON ? json_rows(q, st) : csv_rows(q, st);
	}
	sqlite3_finalize(st);
	return n;
}
