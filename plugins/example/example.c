/*
 * example: a complete hbc plugin, written the way a third party writes
 * one. It includes <hb/plugin.h> and nothing else of hb's, links against
 * nothing of hbc's, and builds with the Makefile (or CMakeLists.txt) next
 * to it. Copy this folder to start your own plugin.
 *
 * It is a MonitorPlugin: every interval (default 60 s) it counts the
 * entries of a directory — a spool that should drain, say — sets a
 * status from two thresholds, and reports the running kernel release by
 * running /bin/uname -r, to show run_command().
 *
 * Keys of its section in hbc.yaml (beside hbc's own: enabled, interval,
 * timeout, isolate):
 *   path      the directory to watch (default /tmp)
 *   warning   WARNING above this many entries (default 1000)
 *   critical  CRITICAL above this many entries (default 10000)
 *
 * What one collection sends (shown as JSON; hbc encodes it as msgpack):
 *   {"path": "/tmp", "kernel": {"release": "6.1.0-18-amd64",
 *    "argv": ["/bin/uname", "-r"], "exit_status": 0}, "runs": 4,
 *    "entries": {"total": 12, "files": 9, "dirs": 3, "other": 0}}
 */
/* dirfd(), fstatat() and d_type, even when built with -std=c11. */
#define _DEFAULT_SOURCE 1

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The only hb header a plugin needs; installed as <prefix>/include/hb/. */
#include <hb/plugin.h>

/*
 * The plugin's state: whatever init() allocates, handed back to every
 * callback. Keep mutable state here, never in globals: a reload runs
 * cleanup(), dlclose() and init() again, and dlclose() need not unmap
 * the library, so a global could keep the last run's value.
 */
struct example {
	const char *path; /* owned by hbc, valid until cleanup() */
	int64_t warning;
	int64_t critical;
	uint64_t runs; /* collections so far */
};

struct counts {
	uint64_t files, dirs, other;
};

/*
 * init(): read the configuration once, check it, allocate the state.
 * A negative return refuses loading: hbc logs it and goes on without
 * this plugin (cleanup() is then not called, so free what you made).
 */
static int example_init(struct hb_plugin_ctx *ctx, void **state)
{
	const struct hb_plugin_api *api = ctx->api;
	struct example *ex = calloc(1, sizeof(*ex));

	if (!ex)
		return -ENOMEM;
	/* Missing keys (or values of another type) give the default. */
	ex->path = api->config_string(ctx, "path", "/tmp");
	ex->warning = api->config_int(ctx, "warning", 1000);
	ex->critical = api->config_int(ctx, "critical", 10000);
	if (ex->path[0] != '/' || ex->warning < 0 ||
	    ex->warning > ex->critical) {
		hb_plugin_log(ctx, HB_PLUGIN_LOG_ERR, "need an absolute path "
			      "and 0 <= warning <= critical");
		free(ex);
		return -EINVAL;
	}
	hb_plugin_log(ctx, HB_PLUGIN_LOG_INFO, "watching %s", ex->path);
	*state = ex;
	return 0;
}

/* Sorts one directory entry; d_type is a hint some filesystems omit. */
static void count_entry(DIR *d, const struct dirent *e, struct counts *c)
{
	unsigned char type = e->d_type;
	struct stat st;

	if (type == DT_UNKNOWN &&
	    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		type = S_ISREG(st.st_mode) ? DT_REG
		       : S_ISDIR(st.st_mode) ? DT_DIR : DT_UNKNOWN;
	if (type == DT_REG)
		c->files++;
	else if (type == DT_DIR)
		c->dirs++;
	else
		c->other++;
}

/* Counts path's entries (but . and ..). Returns 0 or -errno. */
static int count_dir(const char *path, struct counts *c)
{
	DIR *d = opendir(path);
	struct dirent *e;

	if (!d)
		return -errno;
	/* readdir() on a stream of our own is safe on any thread. */
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			count_entry(d, e, c);
	closedir(d);
	return 0;
}

/*
 * run_command(): no shell, an absolute path, a timeout (0: the default
 * 4 s, at most 20 s) and bounded output (here 256 bytes). Prefer it to
 * fork()/system() of your own: hbc kills the command's process group at
 * the timeout, so a stuck command cannot hold the collection forever.
 */
static void put_kernel(struct hb_plugin_ctx *ctx, struct hb_plugin_result *r)
{
	static const char *const argv[] = {"/bin/uname", "-r", NULL};
	struct hb_command_result res;
	int rc;

	memset(&res, 0, sizeof(res));
	rc = ctx->api->run_command(ctx, argv, 0, 256, &res);

	hb_begin_map(r, "kernel"); /* a map inside the top-level map */
	if (rc == 0 && res.exit_status == 0 && res.out) {
		res.out[strcspn(res.out, "\n")] = '\0';
		hb_put_string(r, "release", res.out);
	} else {
		/* Say "no value" explicitly rather than leaving it out. */
		hb_put_null(r, "release");
		hb_plugin_log(ctx, HB_PLUGIN_LOG_WARN, "uname -r: %s",
			      rc < 0 ? "not run"
			      : res.timed_out ? "timed out" : "failed");
	}
	hb_begin_array(r, "argv"); /* array items take a NULL key */
	for (int i = 0; argv[i]; i++)
		hb_put_string(r, NULL, argv[i]);
	hb_end(r); /* closes the array */
	hb_put_int(r, "exit_status", rc == 0 ? res.exit_status : -1);
	hb_end(r); /* closes "kernel" */
	ctx->api->command_free(&res);
}

static void put_counts(struct hb_plugin_result *r, const struct counts *c)
{
	hb_begin_map(r, "entries");
	hb_put_uint(r, "total", c->files + c->dirs + c->other);
	hb_put_uint(r, "files", c->files);
	hb_put_uint(r, "dirs", c->dirs);
	hb_put_uint(r, "other", c->other);
	hb_end(r);
}

/* The status: the worst threshold crossed, and a message saying so. */
static void set_status(struct hb_plugin_result *r, const struct example *ex,
		       uint64_t total)
{
	unsigned long long n = total;

	if (n > (unsigned long long)ex->critical)
		hb_plugin_status(r, HB_PLUGIN_CRITICAL,
				 "%llu entries in %s > critical %lld", n,
				 ex->path, (long long)ex->critical);
	else if (n > (unsigned long long)ex->warning)
		hb_plugin_status(r, HB_PLUGIN_WARNING,
				 "%llu entries in %s > warning %lld", n,
				 ex->path, (long long)ex->warning);
	else
		hb_plugin_status(r, HB_PLUGIN_OK, "%llu entries in %s", n,
				 ex->path);
}

/*
 * collect(): build the data, set a status. It runs on a collector
 * thread, maybe a different one each time, but never twice at once for
 * one plugin: the state needs no lock. It must not hang — hbc reports a
 * collection that outlives the plugin's timeout as UNKNOWN "timeout" and
 * skips the plugin until it returns.
 */
static int example_collect(struct hb_plugin_ctx *ctx, void *state,
			   struct hb_plugin_result *r)
{
	struct example *ex = state;
	struct counts c = {0};
	int rc;

	ex->runs++;
	hb_put_string(r, "path", ex->path);
	put_kernel(ctx, r);
	hb_put_uint(r, "runs", ex->runs);

	rc = count_dir(ex->path, &c);
	if (rc < 0) {
		/*
		 * Our own failure message, and still the data above. (A
		 * negative return would also give UNKNOWN, but no data.)
		 */
		hb_plugin_status(r, HB_PLUGIN_UNKNOWN, "%s: %s", ex->path,
				 strerror(-rc));
		return 0;
	}
	put_counts(r, &c);
	set_status(r, ex, c.files + c.dirs + c.other);
	return 0;
}

/* cleanup(): free what init() made. Runs on shutdown, reload, unload. */
static void example_cleanup(struct hb_plugin_ctx *ctx, void *state)
{
	(void)ctx;
	free(state);
}

/*
 * The descriptor: static, const, and all hbc looks at. abi_major and
 * size let a newer hbc load this plugin and an older one refuse it
 * cleanly; name is how the plugin is known (its hbc.yaml section, the
 * server's records).
 */
static const struct hb_plugin example_plugin = {
	.abi_major = HB_PLUGIN_ABI_MAJOR,
	.size = sizeof(struct hb_plugin),
	.name = "example",
	.version = "1.0",
	.kind = HB_PLUGIN_MONITOR,
	.default_interval = 60,
	.init = example_init,
	.collect = example_collect,
	.cleanup = example_cleanup,
};

/* Exports hb_plugin_entry(), the one symbol hbc looks up. */
HB_PLUGIN_DEFINE(example_plugin)
