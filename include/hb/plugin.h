/*
 * hb/plugin.h: the hbc plugin ABI, version 1. Everything a plugin needs
 * is in this one header; a plugin links against nothing of hbc's.
 *
 * A plugin is a shared object exporting one function,
 *
 *     const struct hb_plugin *hb_plugin_entry(void);
 *
 * (HB_PLUGIN_DEFINE writes it), returning a static descriptor. hbc
 * refuses a descriptor whose abi_major differs from its own and reads
 * fields beyond `size` bytes as absent, so descriptors and the services
 * table only ever grow at the end.
 *
 * Life cycle: init() once after loading (may allocate state), then
 * collect() from a collector thread — never the event loop — every
 * interval (MonitorPlugins) or whenever hbc needs the data again
 * (InfoPlugins: at start and when the server asks for it), then
 * cleanup() on shutdown, reload or unload. collect() of one plugin
 * never runs twice at once. A plugin marked `isolate: true` in hbc.yaml
 * runs all three in a child process: crashes and hangs are contained.
 *
 * All host services are reached through ctx->api (or the inline
 * wrappers below); strings passed in are copied; strings returned are
 * owned by hbc and valid until the plugin's cleanup().
 */
#ifndef HB_PLUGIN_H
#define HB_PLUGIN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HB_PLUGIN_ABI_MAJOR 1

enum hb_plugin_kind {
	HB_PLUGIN_INFO = 0,    /* inventory: collected once, cached */
	HB_PLUGIN_MONITOR = 1, /* metrics: collected every interval */
};

enum hb_plugin_status {
	HB_PLUGIN_OK = 0,
	HB_PLUGIN_WARNING = 1,
	HB_PLUGIN_CRITICAL = 2,
	HB_PLUGIN_UNKNOWN = 3,
};

enum hb_plugin_log_level {
	HB_PLUGIN_LOG_ERR = 0,
	HB_PLUGIN_LOG_WARN = 1,
	HB_PLUGIN_LOG_INFO = 2,
	HB_PLUGIN_LOG_DEBUG = 3,
};

struct hb_plugin_ctx;    /* one per plugin, given to every callback */
struct hb_plugin_result; /* one per collect(): the data being built */

/* What run_command() reports. Free with api->command_free(). */
struct hb_command_result {
	int exit_status; /* exit code, or 128 + signal; -1 not run */
	int timed_out;   /* 1: killed at the timeout */
	char *out;       /* stdout, NUL-terminated, at most out_max bytes */
	size_t out_len;
	char *err;       /* stderr, likewise */
	size_t err_len;
	int truncated;   /* 1: output beyond the bound was discarded */
};

#define HB_COMMAND_TIMEOUT_DEFAULT_MS 4000
#define HB_COMMAND_TIMEOUT_MAX_MS 20000

/*
 * Services hbc gives plugins. Functions returning int return 0 on
 * success and a negative value on failure.
 */
struct hb_plugin_api {
	uint32_t abi_major; /* HB_PLUGIN_ABI_MAJOR */
	uint32_t size;      /* sizeof(struct hb_plugin_api) hbc was built with */

	/* Logs "plugin <name>: message" at level into hbc's log. */
	void (*vlog)(struct hb_plugin_ctx *ctx, int level, const char *fmt,
		     va_list ap);

	/*
	 * The plugin's own keys in its hbc.yaml section (the section named
	 * after the plugin's file, "os" for os.so). A missing key, or one
	 * whose value does not parse as the type asked for, gives def.
	 */
	const char *(*config_string)(struct hb_plugin_ctx *ctx,
				     const char *key, const char *def);
	int64_t (*config_int)(struct hb_plugin_ctx *ctx, const char *key,
			      int64_t def);
	double (*config_double)(struct hb_plugin_ctx *ctx, const char *key,
				double def);
	int (*config_bool)(struct hb_plugin_ctx *ctx, const char *key,
			   int def);
	/* Items of a list of strings; NULL past the end or if absent. */
	const char *(*config_list_item)(struct hb_plugin_ctx *ctx,
					const char *key, size_t i);

	/* The host's UUID, "xxxxxxxx-xxxx-...", and hostname. */
	const char *(*host_id)(struct hb_plugin_ctx *ctx);
	const char *(*hostname)(struct hb_plugin_ctx *ctx);

	/*
	 * Runs argv[0] (an absolute path, no shell) with argv, waits at most
	 * timeout_ms (0: HB_COMMAND_TIMEOUT_DEFAULT_MS; capped at
	 * HB_COMMAND_TIMEOUT_MAX_MS), kills it (and its process group) at the
	 * timeout, and captures stdout and stderr up to out_max bytes each
	 * (0: 64 KiB). Only from collect(), init() or cleanup(). Call
	 * command_free() afterwards whatever it returned.
	 */
	int (*run_command)(struct hb_plugin_ctx *ctx, const char *const *argv,
			   uint32_t timeout_ms, size_t out_max,
			   struct hb_command_result *res);
	void (*command_free)(struct hb_command_result *res);

	/*
	 * The result builder. The data of a collect() is a map; values are
	 * added to the innermost open map (with a key) or array (key NULL).
	 * Errors (a key inside an array, too deep, too big) are sticky: the
	 * collect() then fails with status UNKNOWN and the error's text.
	 */
	void (*put_string)(struct hb_plugin_result *r, const char *key,
			   const char *value);
	void (*put_int)(struct hb_plugin_result *r, const char *key,
			int64_t value);
	void (*put_uint)(struct hb_plugin_result *r, const char *key,
			 uint64_t value);
	void (*put_double)(struct hb_plugin_result *r, const char *key,
			   double value);
	void (*put_bool)(struct hb_plugin_result *r, const char *key,
			 int value);
	void (*put_null)(struct hb_plugin_result *r, const char *key);
	void (*begin_map)(struct hb_plugin_result *r, const char *key);
	void (*begin_array)(struct hb_plugin_result *r, const char *key);
	void (*end)(struct hb_plugin_result *r); /* closes the innermost */

	/* The plugin's status for this collect() (default OK, no message). */
	void (*vstatus)(struct hb_plugin_result *r, int status,
			const char *fmt, va_list ap);
};

/* The context and result handles start with the services table. */
struct hb_plugin_ctx {
	const struct hb_plugin_api *api;
};

struct hb_plugin_result {
	const struct hb_plugin_api *api;
};

/* A function callable remotely (reserved: remote calls come later). */
struct hb_plugin_function {
	const char *name;
	int (*call)(struct hb_plugin_ctx *ctx, void *state,
		    const char *const *args, struct hb_plugin_result *r);
};

struct hb_plugin {
	uint32_t abi_major; /* HB_PLUGIN_ABI_MAJOR */
	uint32_t size;      /* sizeof(struct hb_plugin) */
	const char *name;   /* [A-Za-z0-9_.-]{1,64}; unique per host */
	const char *version;
	int kind;                  /* enum hb_plugin_kind */
	uint32_t default_interval; /* seconds, MonitorPlugins */
	/*
	 * Returns 0, or a negative value to refuse loading (the plugin is
	 * then not registered; cleanup() is not called). *state is the
	 * plugin's own, passed to the other callbacks. init itself may be
	 * NULL (no state).
	 */
	int (*init)(struct hb_plugin_ctx *ctx, void **state);
	/*
	 * Adds the data to r and sets a status. Returns 0, or a negative
	 * value for a failed collection (status UNKNOWN unless set).
	 */
	int (*collect)(struct hb_plugin_ctx *ctx, void *state,
		       struct hb_plugin_result *r);
	void (*cleanup)(struct hb_plugin_ctx *ctx, void *state); /* or NULL */
	/* NULL, or an array ended by {NULL, NULL}. Reserved. */
	const struct hb_plugin_function *functions;
};

#ifdef __cplusplus
#define HB_PLUGIN_LINKAGE extern "C"
#else
#define HB_PLUGIN_LINKAGE
#endif

#define HB_PLUGIN_DEFINE(desc)                                            \
	HB_PLUGIN_LINKAGE __attribute__((visibility("default")))           \
	const struct hb_plugin *hb_plugin_entry(void);                     \
	HB_PLUGIN_LINKAGE const struct hb_plugin *hb_plugin_entry(void)    \
	{                                                                  \
		return &(desc);                                            \
	}

/* ---- convenience wrappers ---- */

__attribute__((format(printf, 3, 4))) static inline void
hb_plugin_log(struct hb_plugin_ctx *ctx, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctx->api->vlog(ctx, level, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 3, 4))) static inline void
hb_plugin_status(struct hb_plugin_result *r, int status, const char *fmt,
		 ...)
{
	va_list ap;

	va_start(ap, fmt);
	r->api->vstatus(r, status, fmt, ap);
	va_end(ap);
}

static inline void hb_put_string(struct hb_plugin_result *r, const char *k,
				 const char *v)
{
	r->api->put_string(r, k, v);
}

static inline void hb_put_int(struct hb_plugin_result *r, const char *k,
			      int64_t v)
{
	r->api->put_int(r, k, v);
}

static inline void hb_put_uint(struct hb_plugin_result *r, const char *k,
			       uint64_t v)
{
	r->api->put_uint(r, k, v);
}

static inline void hb_put_double(struct hb_plugin_result *r, const char *k,
				 double v)
{
	r->api->put_double(r, k, v);
}

static inline void hb_put_bool(struct hb_plugin_result *r, const char *k,
			       int v)
{
	r->api->put_bool(r, k, v);
}

static inline void hb_put_null(struct hb_plugin_result *r, const char *k)
{
	r->api->put_null(r, k);
}

static inline void hb_begin_map(struct hb_plugin_result *r, const char *k)
{
	r->api->begin_map(r, k);
}

static inline void hb_begin_array(struct hb_plugin_result *r, const char *k)
{
	r->api->begin_array(r, k);
}

static inline void hb_end(struct hb_plugin_result *r)
{
	r->api->end(r);
}

#ifdef __cplusplus
}
#endif

#endif
