/*
 * os: the InfoPlugin that says what a host is — its kernel (uname), its
 * distribution (os-release(5)), when it booted, how many CPUs and how
 * much memory it has, and its machine id.
 *
 * hbc collects Info data at start and again whenever the server asks for
 * all of it, so collect() reads everything afresh and keeps nothing
 * between calls; the only state is the configuration init() reads.
 *
 * Keys of its hbc.yaml section:
 *   os_release  the os-release file to read. Default: /etc/os-release,
 *               falling back to /usr/lib/os-release as os-release(5)
 *               asks. Set it where the host's root is mounted elsewhere
 *               (an agent in a container reading /host/etc/os-release).
 *
 * Data: uname {sysname nodename release version machine}, os {name id
 * id_like version version_id version_codename pretty_name variant
 * variant_id build_id: those present}, boot_time (Unix s), cpus {online
 * configured}, memory_total (bytes), machine_id. Status OK, or WARNING
 * when there is no os-release file to read.
 */
/* getline(), even when built with -std=c11. */
#define _DEFAULT_SOURCE 1

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "hb/plugin.h"

#define OSR_ETC "/etc/os-release"
#define OSR_USR "/usr/lib/os-release"
#define OSR_LINE_MAX 4096 /* longer lines are not os-release's: skipped */
#define OSR_VALUE_MAX 512

/* The os-release fields reported, under their lower-case names. */
static const struct {
	const char *var;
	const char *key;
} osr_fields[] = {
	{"NAME", "name"},
	{"ID", "id"},
	{"ID_LIKE", "id_like"},
	{"VERSION", "version"},
	{"VERSION_ID", "version_id"},
	{"VERSION_CODENAME", "version_codename"},
	{"PRETTY_NAME", "pretty_name"},
	{"VARIANT", "variant"},
	{"VARIANT_ID", "variant_id"},
	{"BUILD_ID", "build_id"},
};

#define OSR_NFIELDS (sizeof(osr_fields) / sizeof(osr_fields[0]))

struct osr {
	bool set[OSR_NFIELDS];
	char val[OSR_NFIELDS][OSR_VALUE_MAX];
};

struct os_state {
	const char *os_release; /* hbc's string, or NULL: the defaults */
};

/*
 * Decodes a shell-style value as os-release(5) defines them: '...' is
 * literal, "..." takes backslash escapes of $ ` " \ only, and unquoted
 * text takes a backslash before any character. Unquoted blanks end the
 * value (what follows would be a shell comment). Returns 0, or -1 for an
 * unterminated quote, a control character or a value that does not fit.
 */
static int osr_unquote(const char *s, char *out, size_t outsz)
{
	size_t n = 0;
	char quote = 0;

	for (; *s; s++) {
		char c = *s;

		if (quote == '\'') {
			if (c == '\'') {
				quote = 0;
				continue;
			}
		} else if (quote == '"') {
			if (c == '"') {
				quote = 0;
				continue;
			}
			if (c == '\\' && s[1] && strchr("$`\"\\", s[1]))
				c = *++s;
		} else {
			if (c == '\'' || c == '"') {
				quote = c;
				continue;
			}
			if (c == ' ' || c == '\t')
				break;
			if (c == '\\' && s[1])
				c = *++s;
		}
		if ((unsigned char)c < 0x20 || c == 0x7f || n + 1 >= outsz)
			return -1;
		out[n++] = c;
	}
	out[n] = '\0';
	return quote ? -1 : 0;
}

/* Index of var in osr_fields, or -1 if it is not one we report. */
static int osr_field(const char *var)
{
	for (size_t i = 0; i < OSR_NFIELDS; i++)
		if (!strcmp(osr_fields[i].var, var))
			return (int)i;
	return -1;
}

/* Takes one line "VAR=value" into o; comments and bad lines are ignored. */
static void osr_line(struct hb_plugin_ctx *ctx, char *line, struct osr *o)
{
	char *eq, *end;
	int i;

	end = line + strlen(line);
	while (end > line && isspace((unsigned char)end[-1]))
		*--end = '\0';
	while (*line == ' ' || *line == '\t')
		line++;
	if (!*line || *line == '#')
		return;
	eq = strchr(line, '=');
	if (!eq || eq == line)
		return;
	*eq = '\0';
	i = osr_field(line);
	if (i < 0)
		return;
	/* A later assignment wins, as when a shell sources the file. */
	o->set[i] = osr_unquote(eq + 1, o->val[i], sizeof(o->val[i])) == 0;
	if (!o->set[i])
		hb_plugin_log(ctx, HB_PLUGIN_LOG_DEBUG,
			      "os-release: %s: bad value, ignored", line);
}

/* Reads path into o. Returns 0, or -errno if it cannot be read. */
static int osr_read(struct hb_plugin_ctx *ctx, const char *path, struct osr *o)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int rc = 0;

	if (!f)
		return -errno;
	while ((len = getline(&line, &cap, f)) >= 0)
		if (len <= OSR_LINE_MAX)
			osr_line(ctx, line, o);
	if (ferror(f)) /* a directory, say: fopen() succeeds, reads fail */
		rc = errno ? -errno : -EIO;
	free(line);
	fclose(f);
	return rc;
}

/*
 * Fills o from the configured file, or from /etc/os-release and else
 * /usr/lib/os-release. Returns 0, or -errno of the (first) file.
 */
static int osr_load(struct hb_plugin_ctx *ctx, const struct os_state *st,
		    struct osr *o, const char **path)
{
	int rc;

	*path = st->os_release ? st->os_release : OSR_ETC;
	rc = osr_read(ctx, *path, o);
	if (rc == -ENOENT && !st->os_release &&
	    osr_read(ctx, OSR_USR, o) == 0) {
		*path = OSR_USR;
		rc = 0;
	}
	return rc;
}

static void put_os_release(struct hb_plugin_result *r, const struct osr *o)
{
	hb_begin_map(r, "os");
	for (size_t i = 0; i < OSR_NFIELDS; i++)
		if (o->set[i])
			hb_put_string(r, osr_fields[i].key, o->val[i]);
	hb_end(r);
}

static void put_uname(struct hb_plugin_result *r, const struct utsname *u)
{
	hb_begin_map(r, "uname");
	hb_put_string(r, "sysname", u->sysname);
	hb_put_string(r, "nodename", u->nodename);
	hb_put_string(r, "release", u->release);
	hb_put_string(r, "version", u->version);
	hb_put_string(r, "machine", u->machine);
	hb_end(r);
}

/* The "btime" line of /proc/stat: boot time in Unix seconds, or -1. */
static long long boot_time(void)
{
	FILE *f = fopen("/proc/stat", "re");
	char *line = NULL, *end;
	size_t cap = 0;
	long long t = -1;

	if (!f)
		return -1;
	while (getline(&line, &cap, f) >= 0) {
		if (strncmp(line, "btime ", 6))
			continue;
		errno = 0;
		t = strtoll(line + 6, &end, 10);
		if (errno || end == line + 6 || t < 0)
			t = -1;
		break;
	}
	free(line);
	fclose(f);
	return t;
}

static void put_cpus(struct hb_plugin_result *r)
{
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	long conf = sysconf(_SC_NPROCESSORS_CONF);

	hb_begin_map(r, "cpus");
	if (online > 0)
		hb_put_int(r, "online", online);
	if (conf > 0)
		hb_put_int(r, "configured", conf);
	hb_end(r);
}

/*
 * /etc/machine-id if it holds an id: 32 lower-case hex digits. Images
 * not booted yet have it empty or "uninitialized"; those are left out.
 */
static void put_machine_id(struct hb_plugin_result *r)
{
	FILE *f = fopen("/etc/machine-id", "re");
	char id[64];
	size_t n;

	if (!f)
		return;
	if (!fgets(id, sizeof(id), f))
		id[0] = '\0';
	fclose(f);
	id[strcspn(id, "\n")] = '\0';
	n = strspn(id, "0123456789abcdef");
	if (n == 32 && id[n] == '\0')
		hb_put_string(r, "machine_id", id);
}

static int os_init(struct hb_plugin_ctx *ctx, void **state)
{
	struct os_state *st = calloc(1, sizeof(*st));

	if (!st)
		return -ENOMEM;
	/* hbc keeps the string until cleanup(): no copy needed. */
	st->os_release = ctx->api->config_string(ctx, "os_release", NULL);
	*state = st;
	return 0;
}

/*
 * OK with a one-line summary ("Linux" is os-release(5)'s PRETTY_NAME
 * default), or WARNING when os-release cannot be read.
 */
static void set_status(struct hb_plugin_result *r, int rc, const char *path,
		       const struct osr *o, const char *release)
{
	int pretty = osr_field("PRETTY_NAME");

	if (rc == -ENOENT)
		hb_plugin_status(r, HB_PLUGIN_WARNING, "no %s", path);
	else if (rc < 0)
		hb_plugin_status(r, HB_PLUGIN_WARNING, "%s: %s", path,
				 strerror(-rc));
	else
		hb_plugin_status(r, HB_PLUGIN_OK, "%s, kernel %s",
				 o->set[pretty] ? o->val[pretty] : "Linux",
				 release);
}

static int os_collect(struct hb_plugin_ctx *ctx, void *state,
		      struct hb_plugin_result *r)
{
	const struct os_state *st = state;
	struct osr o = {0};
	struct utsname u;
	struct sysinfo si;
	const char *path;
	long long bt;
	int rc;

	if (uname(&u) == 0)
		put_uname(r, &u);
	else
		strcpy(u.release, "unknown");
	rc = osr_load(ctx, st, &o, &path);
	if (rc == 0)
		put_os_release(r, &o);
	bt = boot_time();
	if (bt >= 0)
		hb_put_int(r, "boot_time", bt);
	else
		hb_plugin_log(ctx, HB_PLUGIN_LOG_WARN,
			      "no btime in /proc/stat");
	put_cpus(r);
	if (sysinfo(&si) == 0)
		hb_put_uint(r, "memory_total",
			    (uint64_t)si.totalram * si.mem_unit);
	put_machine_id(r);
	set_status(r, rc, path, &o, u.release);
	return 0;
}

static void os_cleanup(struct hb_plugin_ctx *ctx, void *state)
{
	(void)ctx;
	free(state);
}

static const struct hb_plugin os_plugin = {
	.abi_major = HB_PLUGIN_ABI_MAJOR,
	.size = sizeof(struct hb_plugin),
	.name = "os",
	.version = "1.0",
	.kind = HB_PLUGIN_INFO,
	.init = os_init,
	.collect = os_collect,
	.cleanup = os_cleanup,
};

HB_PLUGIN_DEFINE(os_plugin)
