/*
 * hb_log: logging for the daemons and tools. Messages go to stderr in the
 * foreground and to syslog otherwise, each tagged with its module; every
 * module has its own level, and the level is checked before anything is
 * formatted, so a disabled debug line costs one comparison. A .c file
 * names its module by defining HB_LOG_MODULE before including this.
 */
#ifndef HB_LOG_H
#define HB_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum hb_log_level {
	HB_LOG_ERR,
	HB_LOG_WARN,
	HB_LOG_INFO,
	HB_LOG_DEBUG,
};

enum hb_log_module {
	HB_MOD_CORE,
	HB_MOD_CONF,
	HB_MOD_NET,
	HB_MOD_INGEST,
	HB_MOD_STATE,
	HB_MOD_STORE,
	HB_MOD_HOOKS,
	HB_MOD_PLUGIN,
	HB_MOD_CLIENT,
	HB_MOD_COUNT
};

#ifndef HB_LOG_MODULE
#define HB_LOG_MODULE HB_MOD_CORE
#endif

extern unsigned char hb__log_levels[HB_MOD_COUNT];

/* Starts logging as `ident`: to syslog when use_syslog, else stderr. */
void hb_log_open(const char *ident, bool use_syslog);

/* Flushes and closes the syslog connection, if any. */
void hb_log_close(void);

/* Sets every module's level. */
void hb_log_set_level(enum hb_log_level level);

/*
 * Sets one module's level by name ("store"). Returns 0, or HB_EINVAL for
 * an unknown module name.
 */
int hb_log_set_module_level(const char *module, enum hb_log_level level);

/* Parses "err"/"error", "warn"/"warning", "info", "debug"; HB_EINVAL else. */
int hb_log_level_parse(const char *s, enum hb_log_level *level);

/* The module names, indexed by enum hb_log_module. */
extern const char *const hb_log_module_names[HB_MOD_COUNT];

/* Writes one message; use the hb_log_* macros, which check the level. */
__attribute__((format(printf, 3, 4))) void
hb__log(enum hb_log_module mod, enum hb_log_level level, const char *fmt,
	...);

#define hb__log_at(level, ...)                                            \
	do {                                                              \
		if ((level) <= hb__log_levels[HB_LOG_MODULE])             \
			hb__log(HB_LOG_MODULE, (level), __VA_ARGS__);     \
	} while (0)

/*
 * A cap on lines that come in storms, one per host (a thousand hosts
 * restarting, a rack going DOWN): at most `per_s` such lines a second
 * are written, the rest are counted, and hb_log_burst_flush() sums them
 * up in one line once their second is over. The log stays readable and
 * the event loop does not stall on write(2); the full record is in the
 * database. Zero-initialise, then set mod, what and per_s.
 */
struct hb_log_burst {
	enum hb_log_module mod;
	const char *what; /* "state changes": for the summary line */
	uint32_t per_s;
	uint32_t passed;    /* lines written in the current second */
	uint64_t second_ms; /* its start, monotonic ms; 0: none yet */
	uint64_t held;      /* lines not written since */
	uint64_t held_since;
	enum hb_log_level held_level; /* the most severe of them */
};

/*
 * True when one more line at `level` may be written now; false when it
 * is below the module's level (nothing counted) or over the cap (counted).
 */
bool hb_log_burst_pass(struct hb_log_burst *b, enum hb_log_level level,
		       uint64_t now_ms);

/*
 * Logs the count of held lines once their second is over (call often),
 * or at once when `now` is true (at exit).
 */
void hb_log_burst_flush(struct hb_log_burst *b, uint64_t now_ms, bool now);

#define hb_log_err(...) hb__log_at(HB_LOG_ERR, __VA_ARGS__)
#define hb_log_warn(...) hb__log_at(HB_LOG_WARN, __VA_ARGS__)
#define hb_log_info(...) hb__log_at(HB_LOG_INFO, __VA_ARGS__)
#define hb_log_debug(...) hb__log_at(HB_LOG_DEBUG, __VA_ARGS__)

#endif
