/*
 * hb_conf_value: the scalar leaves of hb_conf: parsing booleans,
 * integers, numbers, durations, sizes and enum names for a table key,
 * with its bounds, and saying in words what a key accepts, for error
 * messages ("expected an integer 1..65535") and hb_conf_describe().
 * Kept apart from the tree walking in hb_conf.c; the loader uses only
 * the public functions declared in hb_conf.h.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hb_conf.h"
#include "hb_error.h"
#include "hb_sbuf.h"

#define VALUE_SHOWN 40 /* bytes of a value quoted in a message */

struct unit {
	const char *name;
	uint64_t mult;
};

/* Preferred units first: bounds are printed with the first that fits. */
static const struct unit dur_units[] = {
	{"d", 86400000}, {"h", 3600000}, {"m", 60000},
	{"s", 1000},     {"ms", 1},      {NULL, 0},
};

static const struct unit size_units[] = {
	{"TiB", 1ull << 40}, {"GiB", 1ull << 30}, {"MiB", 1ull << 20},
	{"KiB", 1ull << 10}, {"TB", 1000000000000}, {"GB", 1000000000},
	{"MB", 1000000},     {"KB", 1000},        {"B", 1},
	{"T", 1ull << 40},   {"G", 1ull << 30},   {"M", 1ull << 20},
	{"K", 1ull << 10},   {"k", 1ull << 10},   {NULL, 0},
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * "1.5" and a unit (none: defmult) in exact decimal arithmetic, so that
 * "0.1s" is 100 ms and not 100.00000000000001.
 */
static int parse_scaled(const char *s, const struct unit *u, uint64_t defmult,
			uint64_t *out)
{
	uint64_t ip = 0, frac = 0, scale = 1, mult = defmult;
	bool big = false, fine = false;
	const char *p = s;
	unsigned __int128 f, v;

	if (!is_digit(*p))
		return HB_ESYNTAX;
	for (; is_digit(*p); p++)
		big |= __builtin_mul_overflow(ip, 10, &ip) ||
		       __builtin_add_overflow(ip, (uint64_t)(*p - '0'), &ip);
	if (*p == '.') {
		if (!is_digit(*++p))
			return HB_ESYNTAX;
		for (; is_digit(*p); p++) {
			if (scale < 1000000000000000000ull) {
				frac = frac * 10 + (uint64_t)(*p - '0');
				scale *= 10;
			} else {
				fine |= *p != '0';
			}
		}
	}
	while (*p == ' ')
		p++;
	if (*p) {
		while (u->name && strcmp(p, u->name))
			u++;
		if (!u->name)
			return HB_ESYNTAX;
		mult = u->mult;
	}
	if (big)
		return HB_ETOOBIG;
	f = (unsigned __int128)frac * mult;
	if (fine || f % scale)
		return HB_EINVAL;
	v = (unsigned __int128)ip * mult + f / scale;
	if (v > UINT64_MAX)
		return HB_ETOOBIG;
	*out = (uint64_t)v;
	return 0;
}

int hb_conf_parse_duration(const char *s, uint64_t *ms)
{
	return parse_scaled(s, dur_units, 1000, ms);
}

int hb_conf_parse_size(const char *s, uint64_t *bytes)
{
	return parse_scaled(s, size_units, 1, bytes);
}

static void sb_scaled(struct hb_sbuf *b, uint64_t v, const struct unit *u)
{
	for (; v && u->name; u++) {
		if (v % u->mult == 0) {
			hb_sbuf_printf(b, "%" PRIu64 "%s", v / u->mult, u->name);
			return;
		}
	}
	hb_sbuf_printf(b, "%" PRIu64, v);
}

/* A digit's value in bases up to 16; 16 for anything else. */
static unsigned digit_value(char c)
{
	if (is_digit(c))
		return (unsigned)(c - '0');
	if (c >= 'a' && c <= 'f')
		return (unsigned)(c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (unsigned)(c - 'A' + 10);
	return 16;
}

/* Decimal or 0x hex; not YAML 1.1's octal, which surprises ("0700"). */
static int parse_int(const char *s, int64_t *out)
{
	unsigned base = 10;
	uint64_t v = 0;
	bool neg = false, big = false;

	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return HB_ESYNTAX;
	for (; *s; s++) {
		unsigned d = digit_value(*s);

		if (d >= base)
			return HB_ESYNTAX;
		big |= __builtin_mul_overflow(v, base, &v) ||
		       __builtin_add_overflow(v, d, &v);
	}
	if (big || v > (uint64_t)INT64_MAX + neg)
		return HB_ETOOBIG;
	*out = neg && v ? -(int64_t)(v - 1) - 1 : (int64_t)v;
	return 0;
}

/* strtod() alone would also take "inf", "nan", hex and leading blanks. */
static int parse_double(const char *s, double *out)
{
	const char *p = s;
	bool digits = false;

	if (*p == '+' || *p == '-')
		p++;
	for (; is_digit(*p); p++)
		digits = true;
	if (*p == '.')
		for (p++; is_digit(*p); p++)
			digits = true;
	if (!digits)
		return HB_ESYNTAX;
	if (*p == 'e' || *p == 'E') {
		p += p[1] == '+' || p[1] == '-' ? 2 : 1;
		if (!is_digit(*p))
			return HB_ESYNTAX;
		while (is_digit(*p))
			p++;
	}
	if (*p)
		return HB_ESYNTAX;
	*out = strtod(s, NULL);
	return isfinite(*out) ? 0 : HB_ETOOBIG;
}

static int parse_bool(const char *s, bool *out)
{
	static const char *const words[2][9] = {
		{"false", "False", "FALSE", "no", "No", "NO", "off", "Off",
		 "OFF"},
		{"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"},
	};

	for (int v = 0; v < 2; v++) {
		for (int i = 0; i < 9; i++) {
			if (!strcmp(s, words[v][i])) {
				*out = v;
				return 0;
			}
		}
	}
	return HB_ESYNTAX;
}

static void sb_bound(struct hb_sbuf *b, const struct hb_conf_key *k, int64_t v)
{
	if (k->type == HB_CONF_DURATION)
		sb_scaled(b, (uint64_t)v, dur_units);
	else if (k->type == HB_CONF_SIZE)
		sb_scaled(b, (uint64_t)v, size_units);
	else
		hb_sbuf_printf(b, "%" PRId64, v);
}

static void sb_range(struct hb_sbuf *b, const struct hb_conf_key *k)
{
	if (k->type == HB_CONF_DOUBLE) {
		if (k->dmin == 0 && k->dmax == 0)
			return;
		if (k->dmax == HUGE_VAL)
			hb_sbuf_printf(b, " >= %g", k->dmin);
		else if (k->dmin == -HUGE_VAL)
			hb_sbuf_printf(b, " <= %g", k->dmax);
		else
			hb_sbuf_printf(b, " %g..%g", k->dmin, k->dmax);
		return;
	}
	if (k->min == 0 && k->max == 0)
		return;
	hb_sbuf_printf(b, " %s", k->max == INT64_MAX   ? ">= "
			    : k->min == INT64_MIN ? "<= "
						  : "");
	if (k->max == INT64_MAX || k->min != INT64_MIN)
		sb_bound(b, k, k->min);
	if (k->max != INT64_MAX && k->min != INT64_MIN)
		hb_sbuf_printf(b, "..");
	if (k->max != INT64_MAX)
		sb_bound(b, k, k->max);
}

/* The "(expected ...)" of a key: what it accepts, with its bounds. */
static void sb_expected(struct hb_sbuf *b, const struct hb_conf_key *k)
{
	static const char *const what[HB_CONF_CUSTOM + 1] = {
		[HB_CONF_STRING] = "a string",
		[HB_CONF_BOOL] = "true/false, yes/no or on/off",
		[HB_CONF_INT] = "an integer",
		[HB_CONF_DOUBLE] = "a number",
		[HB_CONF_DURATION] = "a duration",
		[HB_CONF_SIZE] = "a size",
		[HB_CONF_ENUM] = "one of:",
		[HB_CONF_STRLIST] = "a string or a sequence of strings",
		[HB_CONF_SECTION] = "a mapping",
		[HB_CONF_LIST] = "a sequence of mappings",
		[HB_CONF_NODE] = "any value",
		[HB_CONF_CUSTOM] = "a value",
	};

	hb_sbuf_printf(b, "%s", what[k->type]);
	if (k->type == HB_CONF_ENUM)
		for (size_t i = 0; k->enums[i]; i++)
			hb_sbuf_printf(b, "%s %s", i ? "," : "", k->enums[i]);
	if (k->type == HB_CONF_LIST && k->parse)
		hb_sbuf_printf(b, " or scalars");
	sb_range(b, k);
}

static bool in_range(const struct hb_conf_key *k, int64_t v)
{
	return (k->min == 0 && k->max == 0) || (v >= k->min && v <= k->max);
}

/*
 * Parses s for a key of a scalar type into field f: 0, HB_ESYNTAX
 * (malformed), HB_ETOOBIG (out of range), HB_ETRUNC (finer than 1 ms or
 * 1 byte), HB_EINVAL (not a scalar type).
 */
static int parse_value(const struct hb_conf_key *k, const char *s, void *f)
{
	uint64_t u = 0;
	int64_t i;
	double d;
	int rc;

	switch (k->type) {
	case HB_CONF_BOOL: return parse_bool(s, f);
	case HB_CONF_INT:
		rc = parse_int(s, &i);
		if (!rc && !in_range(k, i))
			rc = HB_ETOOBIG;
		if (!rc)
			*(int64_t *)f = i;
		return rc;
	case HB_CONF_DOUBLE:
		rc = parse_double(s, &d);
		if (!rc && (k->dmin || k->dmax) && (d < k->dmin || d > k->dmax))
			rc = HB_ETOOBIG;
		if (!rc)
			*(double *)f = d;
		return rc;
	case HB_CONF_DURATION:
	case HB_CONF_SIZE:
		rc = k->type == HB_CONF_SIZE ? hb_conf_parse_size(s, &u)
					     : hb_conf_parse_duration(s, &u);
		if (!rc && (k->min || k->max) &&
		    (u > INT64_MAX || !in_range(k, (int64_t)u)))
			rc = HB_ETOOBIG;
		if (rc == HB_EINVAL) /* finer than the unit: not a caller bug */
			rc = HB_ETRUNC;
		if (!rc)
			*(uint64_t *)f = u;
		return rc;
	case HB_CONF_ENUM:
		for (int e = 0; k->enums[e]; e++) {
			if (!strcmp(s, k->enums[e])) {
				*(int *)f = e;
				return 0;
			}
		}
		return HB_ESYNTAX;
	default: return HB_EINVAL;
	}
}

void hb_conf_expected(const struct hb_conf_key *k, char *buf, size_t cap)
{
	struct hb_sbuf b = {buf, cap, 0};

	sb_expected(&b, k);
}

int hb_conf_value_parse(const struct hb_conf_key *k, const char *text,
			void *field, char *msg, size_t cap)
{
	static const char *const noun[HB_CONF_CUSTOM + 1] = {
		[HB_CONF_BOOL] = "a boolean",
		[HB_CONF_INT] = "an integer",
		[HB_CONF_DOUBLE] = "a number",
		[HB_CONF_DURATION] = "a duration",
		[HB_CONF_SIZE] = "a size",
		[HB_CONF_ENUM] = "a valid choice",
	};
	static const char *const unit[HB_CONF_CUSTOM + 1] = {
		[HB_CONF_DURATION] = "milliseconds", [HB_CONF_SIZE] = "bytes"};
	/* Malformed values get the syntax too, not just the bounds. */
	static const char *const hint[HB_CONF_CUSTOM + 1] = {
		[HB_CONF_DURATION] = ": seconds, or a number with unit ms, s, "
				     "m, h or d",
		[HB_CONF_SIZE] = ": bytes, or a number with unit k, M, G, T "
				 "(powers of 1024) or KB, MB, GB, TB (powers "
				 "of 1000)",
	};
	struct hb_sbuf b = {msg, cap, 0};
	char *s;
	int rc;

	if (k->type == HB_CONF_STRING) {
		if (!(s = strdup(text)))
			return HB_ENOMEM;
		*(char **)field = s;
		return 0;
	}
	rc = parse_value(k, text, field);
	if (!rc || rc == HB_EINVAL)
		return rc;
	if (rc == HB_ETOOBIG || rc == HB_ETRUNC) {
		hb_sbuf_text(&b, text, strlen(text), VALUE_SHOWN, false);
		if (rc == HB_ETOOBIG)
			hb_sbuf_printf(&b, " is out of range (expected ");
		else
			hb_sbuf_printf(&b, " is not a whole number of %s (expected ",
				  unit[k->type]);
		sb_expected(&b, k);
		hb_sbuf_printf(&b, ")");
		return HB_ESYNTAX;
	}
	hb_sbuf_text(&b, text, strlen(text), VALUE_SHOWN, true);
	hb_sbuf_printf(&b, " is not %s (expected ", noun[k->type]);
	sb_expected(&b, k);
	hb_sbuf_printf(&b, "%s)", hint[k->type] ? hint[k->type] : "");
	return HB_ESYNTAX;
}

static void describe(const struct hb_conf_key *t, const char *prefix,
		     FILE *f)
{
	for (const struct hb_conf_key *k = t; k->name; k++) {
		char exp[512], path[256];
		struct hb_sbuf b = HB_SBUF(exp);

		sb_expected(&b, k);
		fprintf(f, "%s%s: %s", prefix, k->name, exp);
		if (k->flags & HB_CONF_REQUIRED)
			fprintf(f, ", required");
		else if (k->def)
			fprintf(f, ", default %s", k->def);
		fprintf(f, "\n");
		if (k->help)
			fprintf(f, "    %s\n", k->help);
		snprintf(path, sizeof(path), "%s%s%s.", prefix, k->name,
			 k->type == HB_CONF_LIST ? "[]" : "");
		if (k->type == HB_CONF_SECTION || k->type == HB_CONF_LIST)
			describe(k->sub, path, f);
	}
}

void hb_conf_describe(const struct hb_conf_key *table, FILE *f)
{
	describe(table, "", f);
}

int hb_conf_abs_path(char **path)
{
	static char base[4096];
	char *abs;

	if (!base[0] && !getcwd(base, sizeof(base)))
		strcpy(base, "/");
	if (!*path || (*path)[0] == '/')
		return 0;
	if (asprintf(&abs, "%s/%s", base, *path) < 0)
		return HB_ENOMEM;
	free(*path);
	*path = abs;
	return 0;
}
