/*
 * hb_query_stats: "hb-query stats", hbd's counters as it last wrote
 * them, in groups: receive, drops (the non-zero ones first), store,
 * ACKs, hosts and events, and any counter this version does not know.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "hb_query.h"

/* hbd writes its counters every 10 s: older means stopped or stuck. */
#define STALE_MS 30000

static const char help[] =
	"usage: hb-query stats [OPTIONS]\n"
	"Shows hbd's counters as it last wrote them (every 10 s, and when it\n"
	"stops), grouped: receive, drops (non-zero first), store, ACKs, hosts\n"
	"and events. Values count since hbd started; docs/OPERATIONS.md\n"
	"section 7 says what each means.\n"
	"\n"
	"  --json      one object: written (Unix ms), written_iso, and\n"
	"              counters, an object of every counter by name\n"
	"  --db PATH   the database\n"
	"  -h, --help  show this help\n";

static const char *const receive[] = {
	"rx_datagrams", "rx_bytes", "rx_htb", "rx_plg", "rx_fragments",
	"rx_bye", "kernel_drops", "truncated", "unexpected_type", NULL,
};
static const char *const store[] = {
	"store_backlog", "store_lag_ms", "store_dropped", "store_deferred",
	NULL,
};
static const char *const acks[] = {
	"acks", "ack_suppressed", "send_errors", "request_update",
	"interval_override", NULL,
};
static const char *const hosts[] = {
	"hosts", "hosts_new", "hosts_full", "bad_name", "transitions",
	"reboots", "restarts", "clones", "flaps", NULL,
};

struct counter {
	char *name;
	int64_t value;
	bool shown;
};

struct counters {
	struct counter *v;
	size_t n;
	int64_t time;
	int name_w, value_w;
};

static void load(struct query *q, struct counters *c)
{
	sqlite3_stmt *st = db_prepare(q, "SELECT name, value, time FROM"
					 " counters ORDER BY name");
	size_t cap = 0;

	while (db_step(q, st)) {
		struct counter *k;
		int w;

		if (c->n == cap) {
			cap = cap ? 2 * cap : 64;
			if (!(k = realloc(c->v, cap * sizeof(*k))))
				die("out of memory");
			c->v = k;
		}
		k = &c->v[c->n++];
		if (!(k->name = strdup(col_text(st, 0))))
			die("out of memory");
		k->value = sqlite3_column_int64(st, 1);
		k->shown = false;
		if (sqlite3_column_int64(st, 2) > c->time)
			c->time = sqlite3_column_int64(st, 2);
		if ((w = (int)strlen(k->name)) > c->name_w)
			c->name_w = w;
		if ((w = snprintf(NULL, 0, "%lld", (long long)k->value)) >
		    c->value_w)
			c->value_w = w;
	}
	sqlite3_finalize(st);
}

static void put(struct query *q, struct counters *c, struct counter *k,
		const char *color)
{
	printf("  %s%-*s  %*lld%s\n", color ? color : "", c->name_w, k->name,
	       c->value_w, (long long)k->value, color ? reset(q) : "");
	k->shown = true;
}

static void title(struct query *q, const char *s)
{
	printf("\n%s%s%s\n", bold(q), s, reset(q));
}

static void group(struct query *q, struct counters *c, const char *name,
		  const char *const *names)
{
	title(q, name);
	for (; *names; names++)
		for (size_t i = 0; i < c->n; i++)
			if (!c->v[i].shown && strcmp(c->v[i].name, *names) == 0)
				put(q, c, &c->v[i], NULL);
}

static int by_value(const void *a, const void *b)
{
	const struct counter *x = *(struct counter *const *)a;
	const struct counter *y = *(struct counter *const *)b;

	if (x->value != y->value)
		return x->value < y->value ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* drop_*: the non-zero ones by value, largest first, then the zeros. */
static void drops(struct query *q, struct counters *c)
{
	struct counter **d = calloc(c->n + 1, sizeof(*d));
	size_t n = 0;

	if (!d)
		die("out of memory");
	for (size_t i = 0; i < c->n; i++)
		if (!c->v[i].shown && strncmp(c->v[i].name, "drop_", 5) == 0)
			d[n++] = &c->v[i];
	qsort(d, n, sizeof(*d), by_value);
	title(q, "drops");
	for (size_t i = 0; i < n; i++)
		put(q, c, d[i], d[i]->value ? state_color(q, "LATE") : NULL);
	free(d);
}

static void show(struct query *q, struct counters *c)
{
	char iso[32], age[48];
	bool other = false;

	printf("counters written %s (%s)%s\n",
	       fmt_iso(iso, sizeof(iso), c->time),
	       fmt_age(q, age, sizeof(age), c->time),
	       q->now_ms - c->time > STALE_MS
		       ? ": hbd writes them every 10 s, is it stopped?"
		       : "");
	group(q, c, "receive", receive);
	drops(q, c);
	group(q, c, "store", store);
	group(q, c, "ACKs", acks);
	group(q, c, "hosts and events", hosts);
	for (size_t i = 0; i < c->n; i++) {
		if (c->v[i].shown)
			continue;
		if (!other)
			title(q, "other");
		other = true;
		put(q, c, &c->v[i], NULL);
	}
}

#define STATS_JSON                                                          \
	"SELECT json_object('written', max(time), 'written_iso', "          \
	SQL_ISO("max(time)") ", 'counters', json_group_object(name,"        \
	" value)) FROM (SELECT * FROM counters ORDER BY name)"

int cmd_stats(struct query *q, int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTIONS,
		{"json", no_argument, NULL, OPT_JSON},
		{NULL, 0, NULL, 0},
	};
	struct counters c = {0};
	sqlite3_stmt *st;
	int ch;

	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1)
		common_option(q, "stats", ch, argv, help);
	no_more_args("stats", argc, argv);
	db_open(q);
	if (q->fmt == FMT_JSON) {
		st = db_prepare(q, STATS_JSON);
		if (db_step(q, st))
			puts(col_text(st, 0));
		sqlite3_finalize(st);
		return 0;
	}
	load(q, &c);
	if (c.n)
		show(q, &c);
	else
		fputs("no counters yet: hbd writes them 10 s after it starts\n",
		      stderr);
	for (size_t i = 0; i < c.n; i++)
		free(c.v[i].name);
	free(c.v);
	return 0;
}
