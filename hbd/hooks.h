/*
 * hooks: commands hbd runs when a host changes state, the place where
 * operators plug in alerting. A hook is an argv run with execve (no
 * shell) with HB_* environment variables describing the host and the
 * transition, a timeout after which it is killed, a cap on how many run
 * at once (further ones wait in a bounded queue) and a rate limit (token
 * bucket) — so a flapping fleet cannot fork-bomb the collector. Runs on
 * the event loop with child watchers; never blocks it.
 */
#ifndef HBD_HOOKS_H
#define HBD_HOOKS_H

#include <stddef.h>
#include <stdint.h>

struct ev_loop;

struct hook_def {
	char **argv;      /* NULL-terminated; argv[0] an absolute path */
	unsigned targets; /* bit (1 << enum hbd_state) of target states */
	uint32_t timeout_ms;
};

struct hooks_opts {
	const struct hook_def *defs;
	size_t n_defs;
	uint32_t max_running; /* concurrent children */
	uint32_t max_queued;  /* waiting runs beyond max_running */
	double rate;          /* runs per second, sustained */
	uint32_t burst;       /* runs allowed at once */
};

/* One transition, as hooks see it. Strings are copied. */
struct hook_event {
	const char *host_uuid;
	const char *hostname;
	const char *address;
	const char *owner;
	const char *labels_json;
	int from, to; /* enum hbd_state */
	uint64_t time_ms;
	const char *reason;
};

struct hooks_stats {
	uint64_t started, succeeded, failed, timed_out, rate_limited,
		queue_full;
	uint32_t running, queued;
};

struct hooks;

/*
 * Creates the runner on loop with a deep copy of opts. NULL on ENOMEM.
 * Free with hooks_free(), which kills and reaps running children.
 */
struct hooks *hooks_new(struct ev_loop *loop, const struct hooks_opts *opts);

/* Replaces the definitions and limits (SIGHUP); running hooks continue. */
int hooks_reconfigure(struct hooks *h, const struct hooks_opts *opts);

/*
 * Runs every hook whose targets include ev->to. Returns the number of
 * runs started or queued; drops (rate limit, full queue) are counted and
 * logged, never block.
 */
int hooks_fire(struct hooks *h, const struct hook_event *ev);

void hooks_get_stats(const struct hooks *h, struct hooks_stats *st);

void hooks_free(struct hooks *h);

#endif
