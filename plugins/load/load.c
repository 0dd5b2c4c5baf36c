/*
 * load: the MonitorPlugin for the kernel's load averages (/proc/loadavg),
 * with a status from thresholds on the 1-minute load.
 *
 * A load of 4 is idle for a 32-CPU host and overload for a single CPU,
 * so by default the thresholds apply to the load per online CPU.
 *
 * Keys of its hbc.yaml section:
 *   warning   threshold for WARNING (default 4.0)
 *   critical  threshold for CRITICAL (default 8.0); 0 < warning <= critical
 *   per_cpu   compare load1 / online CPUs rather than load1 (default true)
 *   loadavg   the file to read (default /proc/loadavg; tests point it at
 *             a file of their own to force a status)
 *
 * Data: load1 load5 load15, per_cpu {load1 load5 load15}, cpus, running
 * and tasks (the "r/t" field), last_pid. Status: OK, WARNING or CRITICAL
 * ("load 4.21 (per cpu 2.10) > warning 2.00"), UNKNOWN when the file
 * cannot be read or parsed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hb/plugin.h"

#define LOADAVG "/proc/loadavg"

struct load_state {
	double warning;
	double critical;
	bool per_cpu;
	const char *path; /* hbc's string, valid until cleanup() */
};

struct loadavg {
	double load[3];
	uint64_t running;
	uint64_t tasks;
	uint64_t last_pid;
};

/* Parses decimal digits into *v; the end of them, or NULL if none. */
static const char *parse_u64(const char *s, uint64_t *v)
{
	const char *p = s;

	*v = 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (*v > (UINT64_MAX - 9) / 10)
			return NULL;
		*v = *v * 10 + (uint64_t)(*p - '0');
	}
	return p == s ? NULL : p;
}

/*
 * Parses "12.34" by hand: strtod() follows LC_NUMERIC, which the host
 * program may have set to a locale whose decimal mark is a comma.
 */
static const char *parse_load(const char *s, double *v)
{
	uint64_t ip, fp = 0;
	double scale = 1;
	const char *p = parse_u64(s, &ip);

	if (p && *p == '.') {
		const char *q = p + 1;

		for (; *q >= '0' && *q <= '9' && q - p <= 6; q++) {
			fp = fp * 10 + (uint64_t)(*q - '0');
			scale *= 10;
		}
		p = q == p + 1 ? NULL : q;
	}
	if (p)
		*v = (double)ip + (double)fp / scale;
	return p;
}

/* "0.52 0.58 0.59 1/1234 56789": returns 0, or -1 if malformed. */
static int parse_loadavg(const char *s, struct loadavg *la)
{
	for (int i = 0; i < 3; i++) {
		s = parse_load(s, &la->load[i]);
		if (!s || *s++ != ' ')
			return -1;
	}
	s = parse_u64(s, &la->running);
	if (!s || *s++ != '/')
		return -1;
	s = parse_u64(s, &la->tasks);
	if (!s || *s++ != ' ')
		return -1;
	s = parse_u64(s, &la->last_pid);
	return s && (*s == '\n' || *s == '\0') ? 0 : -1;
}

/*
 * Reads and parses path: 0, -errno, or -EINVAL for unexpected text. One
 * open and read, no stdio: this runs every interval on every host.
 */
static int read_loadavg(const char *path, struct loadavg *la)
{
	char buf[256];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	int err;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	err = errno;
	close(fd);
	if (n < 0)
		return err ? -err : -EIO;
	buf[n] = '\0';
	return n > 0 && parse_loadavg(buf, la) == 0 ? 0 : -EINVAL;
}

/* Two decimals, as the kernel prints loads: what is shown is compared. */
static double round2(double v)
{
	return (double)(int64_t)(v * 100 + 0.5) / 100;
}

static void put_data(struct hb_plugin_result *r, const struct loadavg *la,
		     long cpus)
{
	static const char *const names[3] = {"load1", "load5", "load15"};

	for (int i = 0; i < 3; i++)
		hb_put_double(r, names[i], la->load[i]);
	hb_begin_map(r, "per_cpu");
	for (int i = 0; i < 3; i++)
		hb_put_double(r, names[i], round2(la->load[i] / (double)cpus));
	hb_end(r);
	hb_put_int(r, "cpus", cpus);
	hb_put_uint(r, "running", la->running);
	hb_put_uint(r, "tasks", la->tasks);
	hb_put_uint(r, "last_pid", la->last_pid);
}

/* Compares load1 (per CPU, if so configured) with the thresholds. */
static void set_status(struct hb_plugin_result *r, const struct load_state *st,
		       double load1, long cpus)
{
	double v = st->per_cpu ? round2(load1 / (double)cpus) : load1;
	int status = HB_PLUGIN_OK;
	const char *what = NULL;
	double limit = 0;
	char shown[64];

	if (st->per_cpu)
		snprintf(shown, sizeof(shown), "load %.2f (per cpu %.2f)",
			 load1, v);
	else
		snprintf(shown, sizeof(shown), "load %.2f", load1);
	if (v > st->critical) {
		status = HB_PLUGIN_CRITICAL;
		what = "critical";
		limit = st->critical;
	} else if (v > st->warning) {
		status = HB_PLUGIN_WARNING;
		what = "warning";
		limit = st->warning;
	}
	if (what)
		hb_plugin_status(r, status, "%s > %s %.2f", shown, what, limit);
	else
		hb_plugin_status(r, status, "%s", shown);
}

static int load_init(struct hb_plugin_ctx *ctx, void **state)
{
	const struct hb_plugin_api *api = ctx->api;
	struct load_state *st = calloc(1, sizeof(*st));

	if (!st)
		return -ENOMEM;
	st->warning = api->config_double(ctx, "warning", 4.0);
	st->critical = api->config_double(ctx, "critical", 8.0);
	st->per_cpu = api->config_bool(ctx, "per_cpu", 1) != 0;
	st->path = api->config_string(ctx, "loadavg", LOADAVG);
	/* A typo here would silence alerts for good: refuse to load. */
	if (!(st->warning > 0 && st->warning <= st->critical)) {
		hb_plugin_log(ctx, HB_PLUGIN_LOG_ERR,
			      "need 0 < warning (%g) <= critical (%g)",
			      st->warning, st->critical);
		free(st);
		return -EINVAL;
	}
	*state = st;
	return 0;
}

static int load_collect(struct hb_plugin_ctx *ctx, void *state,
			struct hb_plugin_result *r)
{
	const struct load_state *st = state;
	struct loadavg la = {0};
	/* Each time: CPUs come and go (hotplug, VM resizing). */
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int rc;

	(void)ctx;
	if (cpus < 1)
		cpus = 1;
	rc = read_loadavg(st->path, &la);
	if (rc < 0) {
		hb_plugin_status(r, HB_PLUGIN_UNKNOWN, "%s: %s", st->path,
				 rc == -EINVAL ? "unexpected format"
					       : strerror(-rc));
		return 0;
	}
	put_data(r, &la, cpus);
	set_status(r, st, la.load[0], cpus);
	return 0;
}

static void load_cleanup(struct hb_plugin_ctx *ctx, void *state)
{
	(void)ctx;
	free(state);
}

static const struct hb_plugin load_plugin = {
	.abi_major = HB_PLUGIN_ABI_MAJOR,
	.size = sizeof(struct hb_plugin),
	.name = "load",
	.version = "1.0",
	.kind = HB_PLUGIN_MONITOR,
	.default_interval = 10,
	.init = load_init,
	.collect = load_collect,
	.cleanup = load_cleanup,
};

HB_PLUGIN_DEFINE(load_plugin)
