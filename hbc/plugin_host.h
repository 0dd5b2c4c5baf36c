/*
 * plugin_host: one loaded plugin and the services hbc gives it — the
 * implementation of include/hb/plugin.h's api table: the result builder
 * (turned into msgpack: plugins never see msgpack-c), the plugin's
 * config section, its logger and run_command. Loading checks the ABI
 * and runs init(); collect() runs on whatever thread calls
 * plugin_host_collect() (a runner thread, or a child process for
 * isolated plugins) — never the event loop.
 */
#ifndef HBC_PLUGIN_HOST_H
#define HBC_PLUGIN_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hb/plugin.h"

struct hb_conf_node;

/* What hbc tells a plugin about the host. Strings are copied. */
struct plugin_host_info {
	const char *host_id;  /* uuid text */
	const char *hostname;
};

/* One collection's outcome. data is malloc'd msgpack (a map), or NULL. */
struct plugin_sample {
	uint8_t *data;
	size_t len;
	uint8_t status;    /* enum hb_plugin_status */
	char message[256]; /* status message, may be "" */
	uint64_t time_ms;  /* Unix ms when collect() returned */
};

#define PLUGIN_DATA_MAX (60 * 1024) /* a sample's msgpack, fits a message */

struct plugin_host;

/*
 * dlopens path (RTLD_NOW | RTLD_LOCAL), finds hb_plugin_entry, checks
 * the descriptor (ABI major, size, name, kind, callbacks), and runs
 * init() with the config section (a mapping node of the loaded hbc.yaml,
 * or NULL; it must outlive the plugin). Returns 0 and *out, or a
 * negative code with the reason in err ("wrong ABI major 2 (hbc speaks
 * 1)", "init failed: -5", "dlopen: ..."). Nothing is left loaded on
 * failure.
 */
int plugin_host_load(const char *path, const struct hb_conf_node *section,
		     const struct plugin_host_info *info,
		     struct plugin_host **out, char *err, size_t errlen);

/* The descriptor's fields. */
const char *plugin_host_name(const struct plugin_host *p);
int plugin_host_kind(const struct plugin_host *p);
uint32_t plugin_host_default_interval(const struct plugin_host *p);
const char *plugin_host_path(const struct plugin_host *p);

/*
 * Runs collect() and fills *s (s->data malloc'd, freed with
 * plugin_sample_free). A negative return from collect(), or a builder
 * error, gives status UNKNOWN with the reason and no data. Returns 0.
 */
int plugin_host_collect(struct plugin_host *p, struct plugin_sample *s);

void plugin_sample_free(struct plugin_sample *s);

/* Runs cleanup() and dlcloses. NULL allowed. */
void plugin_host_unload(struct plugin_host *p);

#endif
