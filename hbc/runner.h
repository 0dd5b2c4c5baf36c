/*
 * runner: collections off the event loop. Each registered plugin is
 * collected on its own worker thread, so a plugin that hangs holds up
 * nobody else (or, when isolated, in a child process
 * that loaded the plugin itself and answers over a pipe); finished
 * samples come back to the loop through one queue and an ev_async. A
 * collection that outlives the plugin's timeout is reported at once as
 * status UNKNOWN "timeout", and the plugin's next runs are skipped until
 * it returns (a thread cannot be killed; an isolated child is killed
 * and restarted with backoff). A crashed isolated child is reported as
 * UNKNOWN with the signal, and restarted with backoff. The loop never
 * waits for a plugin.
 */
#ifndef HBC_RUNNER_H
#define HBC_RUNNER_H

#include <stdbool.h>
#include <stdint.h>

#include "plugin_host.h"

struct ev_loop;
struct hb_conf_node;

struct runner_plugin_opts {
	const char *path; /* the .so */
	const struct hb_conf_node *section;
	uint32_t timeout_ms; /* of one collect(); 0: 10 s */
	bool isolate;
};

/*
 * Called on the loop for every finished (or failed) collection. s and
 * its data are freed when cb returns; cb may keep s->data by taking it
 * and setting s->data to NULL. cb may call runner_collect/add/remove,
 * not runner_free.
 */
typedef void (*runner_sample_cb)(void *ctx, int id, struct plugin_sample *s);

struct runner;

/*
 * Creates the runner on loop. info is copied. NULL on ENOMEM. All
 * runner_* functions are called on the loop's thread.
 */
struct runner *runner_new(struct ev_loop *loop,
			  const struct plugin_host_info *info,
			  runner_sample_cb cb, void *ctx);

/*
 * Loads a plugin (in a child process when isolated) and registers it.
 * Returns its id (>= 0), or a negative code with the reason in err (the
 * loader's: wrong ABI, init failed...). name/kind/interval of a
 * registered plugin: runner_plugin_*().
 */
int runner_add(struct runner *r, const struct runner_plugin_opts *o,
	       char *err, size_t errlen);

const char *runner_plugin_name(const struct runner *r, int id);
int runner_plugin_kind(const struct runner *r, int id);
uint32_t runner_plugin_default_interval(const struct runner *r, int id);

/*
 * Starts a collection of plugin id unless one is still running, or an
 * isolated plugin's process is being restarted (then returns 1:
 * skipped, counted). Returns 0 when started.
 */
int runner_collect(struct runner *r, int id);

/* Collections of plugin id skipped so far. */
uint64_t runner_plugin_skipped(const struct runner *r, int id);

/*
 * Delays before restarting a dead isolated plugin: min_ms, doubled at
 * each failure up to max_ms, back to min_ms after a healthy minute.
 * Default 1 s .. 60 s (tests shorten them).
 */
void runner_set_backoff(struct runner *r, uint32_t min_ms, uint32_t max_ms);

/* Unregisters: cleanup() and unload (kills an isolated child). */
void runner_remove(struct runner *r, int id);

/* Removes every plugin, joins the workers, frees. NULL allowed. */
void runner_free(struct runner *r);

/*
 * The isolated plugin's process: hbc re-executes itself (/proc/self/exe)
 * as "hbc --plugin-child FD ...", and main() must hand such an argv to
 * this, first thing, and exit with what it returns. fd is atoi(argv[2]).
 */
int runner_child_main(int fd, int argc, char **argv);

#endif
