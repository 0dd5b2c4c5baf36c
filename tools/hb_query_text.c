/*
 * hb_query_text: how hb-query writes for people: durations and ages,
 * ISO 8601 times, colours, text made safe for a terminal, and aligned
 * tables. Widths count characters (UTF-8 code points), not bytes.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hb_query.h"

#define GAP "  " /* between table columns */
#define MAX_COLS 16

/* ---- Time ---- */

int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t unit_ms(const char *u, size_t n)
{
	static const struct {
		const char *name;
		int64_t ms;
	} units[] = {
		{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000},
		{"d", 86400000}, {"w", 604800000},
	};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strlen(units[i].name) == n && !memcmp(u, units[i].name, n))
			return units[i].ms;
	return 0;
}

/* Numbers each with a unit ("1h30m"); at most 100 years in all. */
int64_t parse_duration(const char *opt, const char *s)
{
	const int64_t max = (int64_t)100 * 366 * 86400000;
	int64_t total = 0;
	const char *p = s;

	if (strcmp(s, "all") == 0)
		return INT64_MAX;
	while (*p) {
		int64_t v = 0, unit;
		size_t n = 0;

		if (!isdigit((unsigned char)*p))
			goto bad;
		for (; isdigit((unsigned char)*p); p++)
			if ((v = v * 10 + (*p - '0')) > max)
				goto bad;
		while (isalpha((unsigned char)p[n]))
			n++;
		if (!(unit = unit_ms(p, n)) || v > max / unit ||
		    (total += v * unit) > max)
			goto bad;
		p += n;
	}
	if (p != s)
		return total;
bad:
	die("%s: bad duration '%s' (like 30s, 10m, 2h, 1d, 1h30m, or all)",
	    opt, s);
}

char *fmt_span(char *buf, size_t len, int64_t ms)
{
	static const struct {
		int64_t big, small;
		char bu, su;
	} steps[] = {
		{86400, 3600, 'd', 'h'},
		{3600, 60, 'h', 'm'},
		{60, 1, 'm', 's'},
	};
	int64_t s = ms / 1000;

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		int64_t b = s / steps[i].big;
		int64_t r = s % steps[i].big / steps[i].small;

		if (!b)
			continue;
		if (r)
			snprintf(buf, len, "%lld%c%lld%c", (long long)b,
				 steps[i].bu, (long long)r, steps[i].su);
		else
			snprintf(buf, len, "%lld%c", (long long)b, steps[i].bu);
		return buf;
	}
	snprintf(buf, len, "%llds", (long long)s);
	return buf;
}

char *fmt_age(const struct query *q, char *buf, size_t len, int64_t ms)
{
	char span[32];
	int64_t d = q->now_ms - ms;

	if (ms <= 0)
		snprintf(buf, len, "never");
	else if (d <= -1000)
		snprintf(buf, len, "in %s", fmt_span(span, sizeof(span), -d));
	else
		snprintf(buf, len, "%s ago",
			 fmt_span(span, sizeof(span), d < 0 ? 0 : d));
	return buf;
}

char *fmt_iso(char *buf, size_t len, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0 || !gmtime_r(&t, &tm) ||
	    !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "-");
	return buf;
}

/* ---- Text ---- */

const char *const status_names[4] = {"OK", "WARNING", "CRITICAL", "UNKNOWN"};

#define RED "\033[31m"
#define GREEN "\033[32m"
#define YELLOW "\033[33m"
#define MAGENTA "\033[35m"
#define DIM "\033[2m"

const char *state_color(const struct query *q, const char *state)
{
	if (!q->color)
		return NULL;
	if (strcmp(state, "UP") == 0)
		return GREEN;
	if (strcmp(state, "LATE") == 0)
		return YELLOW;
	if (strcmp(state, "DOWN") == 0)
		return RED;
	return DIM;
}

const char *status_color(const struct query *q, int status)
{
	static const char *const colors[4] = {GREEN, YELLOW, RED, MAGENTA};

	return q->color && status >= 0 && status < 4 ? colors[status] : NULL;
}

const char *bold(const struct query *q)
{
	return q->color ? "\033[1m" : "";
}

const char *reset(const struct query *q)
{
	return q->color ? "\033[0m" : "";
}

void put_clean(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c == 0x7f)
			fputc('?', f);
		else
			fputc(c, f);
	}
}

/* Characters (UTF-8 lead bytes) in s[0..n). */
static size_t chars(const char *s, size_t n)
{
	size_t w = 0;

	for (size_t i = 0; i < n; i++)
		w += ((unsigned char)s[i] & 0xc0) != 0x80;
	return w;
}

char *clipped(const char *s, size_t max)
{
	size_t len = strlen(s), cut = 0, w = 0;
	char *out;

	if (chars(s, len) <= max || max < 4)
		cut = len;
	else /* the byte where character max - 3 starts */
		for (; cut < len; cut++)
			if (((unsigned char)s[cut] & 0xc0) != 0x80 &&
			    w++ == max - 3)
				break;
	if (asprintf(&out, "%.*s%s", (int)cut, s, cut < len ? "..." : "") < 0)
		die("out of memory");
	return out;
}

/* ---- Tables ---- */

void table_init(struct table *t, int ncols, const char *const *heads)
{
	if (ncols < 1 || ncols > MAX_COLS)
		die("internal error: a table of %d columns", ncols);
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	t->heads = heads;
}

void table_add(struct table *t, const char *color, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (t->ncells == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 64;
		struct cell *c = realloc(t->cells, cap * sizeof(*c));

		if (!c)
			die("out of memory");
		t->cells = c;
		t->cap = cap;
	}
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		die("out of memory");
	va_end(ap);
	/* A table cell is one line, and no escape reaches the terminal. */
	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	t->cells[t->ncells++] = (struct cell){s, color};
}

static void put_cell(const struct query *q, struct hb_buf *line,
		     const char *text, const char *color, size_t pad,
		     bool right)
{
	if (right)
		for (size_t i = 0; i < pad; i++)
			sb_add(line, " ");
	if (color)
		sb_add(line, color);
	sb_add(line, text);
	if (color)
		sb_add(line, reset(q));
	if (!right)
		for (size_t i = 0; i < pad; i++)
			sb_add(line, " ");
}

/* One line: cells[0..ncols), padded to widths, no trailing blanks. */
static void put_row(const struct query *q, const struct table *t,
		    const struct cell *cells, const size_t *widths)
{
	struct hb_buf line;

	hb_buf_init(&line);
	for (int i = 0; i < t->indent; i++)
		sb_add(&line, " ");
	for (int i = 0; i < t->ncols; i++) {
		const char *s = cells[i].text;

		put_cell(q, &line, s, cells[i].color,
			 widths[i] - chars(s, strlen(s)), t->right >> i & 1);
		if (i + 1 < t->ncols)
			sb_add(&line, GAP);
	}
	while (line.len && line.data[line.len - 1] == ' ')
		line.data[--line.len] = '\0';
	puts(line.len ? line.data : "");
	hb_buf_free(&line);
}

void table_print(const struct query *q, struct table *t)
{
	size_t widths[MAX_COLS] = {0};
	struct cell heads[MAX_COLS];
	int n = t->ncols;

	for (int i = 0; i < n && !t->noheads; i++) {
		heads[i] = (struct cell){(char *)t->heads[i],
					 q->color ? bold(q) : NULL};
		widths[i] = chars(t->heads[i], strlen(t->heads[i]));
	}
	for (size_t c = 0; c < t->ncells; c++) {
		const char *s = t->cells[c].text;
		size_t w = chars(s, strlen(s));

		if (w > widths[c % n])
			widths[c % n] = w;
	}
	if (!t->noheads)
		put_row(q, t, heads, widths);
	for (size_t r = 0; r + n <= t->ncells; r += n)
		put_row(q, t, &t->cells[r], widths);
}

void table_free(struct table *t)
{
	for (size_t i = 0; i < t->ncells; i++)
		free(t->cells[i].text);
	free(t->cells);
	t->cells = NULL;
	t->ncells = t->cap = 0;
}
