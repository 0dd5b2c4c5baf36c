/*
 * hbc_conf: hbc's configuration, its table of keys (names, types,
 * bounds, defaults, help), the plugin sections and the checks that span
 * several keys. config/hbc.yaml documents the same keys for operators.
 *
 * The loaded document is kept (conf->doc): plugin sections are nodes of
 * it, handed to the plugins, and must live as long as the plugins that
 * were loaded with them.
 */
#ifndef HBC_HBC_CONF_H
#define HBC_HBC_CONF_H

#include <stdbool.h>
#include <stdint.h>

#include "hb_conf.h"
#include "hb_log_conf.h"

#define HBC_DEFAULT_CONFIG "/etc/hb/hbc.yaml"
#define HBC_DEFAULT_STATE_DIR "/var/lib/hb/client"
#define HBC_DEFAULT_PLUGIN_DIR "/usr/local/lib/hb/plugins"
#define HBC_DEFAULT_SERVER "127.0.0.1"
#define HBC_MAX_SERVERS 8
#define HBC_MAX_LABELS 32
#define HBC_PLUGINS_MAX 128
#define HBC_PLUGIN_INTERVAL_DEFAULT_S 60 /* when the plugin names none */
#define HBC_RETRANSMIT_MAX_MS 60000

struct hbc_server {
	char *host; /* name or address, without brackets */
	int64_t port;
};

/* labels: a mapping of str -> str, in file order. */
struct hbc_labels {
	size_t n;
	char **keys, **values;
};

/* One entry of `plugins:`, its common keys applied. */
struct hbc_plugin_conf {
	char *name;
	bool enabled;
	uint64_t interval_ms; /* 0: the plugin's default_interval, else 60 s */
	uint64_t timeout_ms;
	bool isolate;
	const struct hb_conf_node *section; /* all its keys; in conf->doc */
};

struct hbc_conf {
	struct hb_conf_array servers; /* struct hbc_server, at least one */
	uint64_t interval_ms;         /* whole seconds */
	char *state_dir;
	char *hostname; /* NULL: gethostname() */
	char *owner;
	struct hbc_labels labels;
	int security; /* enum hb_mode */
	char *key_file;
	char *plugin_dir;
	int64_t max_plugins;
	int64_t failover_after;
	uint64_t spool;
	uint64_t retransmit_ms;
	uint64_t max_datagram;
	struct hb_log_conf log;
	const struct hb_conf_node *plugins; /* raw: use plugin[] */
	/* Filled by hbc_conf_load() from `plugins`. */
	struct hbc_plugin_conf *plugin;
	size_t n_plugins;
	struct hb_conf_doc *doc;
};

extern const struct hb_conf_key hbc_conf_table[];
/* The keys every plugin section has besides the plugin's own. */
extern const struct hb_conf_key hbc_plugin_table[];

/*
 * Loads and checks path into c (a fresh struct): the table, the plugin
 * sections, the default server, relative paths made absolute. Returns
 * 0, or a negative code with every problem of a key in errs, or one
 * problem that spans keys in *problem (static text). Free with
 * hbc_conf_free().
 */
int hbc_conf_load(const char *path, struct hbc_conf *c,
		  struct hb_conf_errors *errs, const char **problem);

/* As hbc_conf_load() on text, named `name` in messages (for tests). */
int hbc_conf_load_string(const char *name, const char *text,
			 struct hbc_conf *c, struct hb_conf_errors *errs,
			 const char **problem);

/* The section of plugin `name`, or NULL when the file has none. */
const struct hbc_plugin_conf *hbc_conf_plugin(const struct hbc_conf *c,
					      const char *name);

/*
 * Parses "host", "host:port", "[v6]" or "[v6]:port" into a malloc'd
 * host and a port (default 7781). Returns 0, HB_ESYNTAX, HB_ENOMEM.
 */
int hbc_parse_hostport(const char *s, char **host, int64_t *port);

/* Whether s is a valid plugin name: [A-Za-z0-9_.-]{1,64}. */
bool hbc_plugin_name_ok(const char *s);

struct hb_key;

/*
 * Reads c's key_file into *key: its first key, which must not be bound
 * to another host than host_id (HB_EHOST). Mode none: a zeroed key.
 * Returns 0 or a negative code with the reason in err.
 */
int hbc_conf_load_key(const struct hbc_conf *c, const uint8_t host_id[16],
		      struct hb_key *key, char *err, size_t errlen);

void hbc_conf_free(struct hbc_conf *c);

#endif
