/*
 * hbd_conf: hbd's configuration, its table of keys (names, types,
 * bounds, defaults, help) and the checks that span several keys.
 * config/hbd.yaml documents the same keys for operators.
 */
#ifndef HBD_CONF_H
#define HBD_CONF_H

#include <stdint.h>

#include "hb_conf.h"
#include "hb_log_conf.h"

#define HBD_DEFAULT_CONFIG "/etc/hb/hbd.yaml"
#define HBD_DEFAULT_DB "/var/lib/hb/hb.db"

struct hbd_hook_conf {
	struct hb_conf_strv run; /* argv */
	unsigned on;             /* bit (1 << enum hbd_state) */
	uint64_t timeout_ms;
};

struct hbd_reasm_conf {
	uint64_t max_message, memory, timeout_ms;
	int64_t per_host;
};

struct hbd_store_conf {
	uint64_t backlog, batch_ms, busy_timeout_ms, flush_ms;
	uint64_t slow_lag_ms;  /* store lag that slows clients down */
	int64_t slow_interval; /* the interval they are given then, s */
};

struct hbd_hooks_conf {
	int64_t max_running, max_queued, burst;
	double rate;
	struct hb_conf_array commands; /* struct hbd_hook_conf */
};

struct hbd_conf {
	struct hb_conf_strv listen;
	int64_t port;
	char *database;
	int security; /* enum hb_mode: the weakest accepted */
	char *key_file;
	char *host_keys_file;
	uint64_t skew_ms;
	double late_factor, down_factor;
	uint64_t hold_down_ms;
	uint64_t flap_window_ms;
	int64_t flap_threshold;
	uint64_t retention_ms;
	uint64_t receive_buffer;
	struct hbd_reasm_conf reassembly;
	struct hbd_store_conf store;
	struct hbd_hooks_conf hooks;
	struct hb_log_conf log;
	char *user;
	char *pid_file;
};

extern const struct hb_conf_key hbd_conf_table[];

/*
 * Loads and checks path into c (a fresh struct). Returns 0, or a
 * negative code with every problem of a key in errs, or one problem
 * that spans keys in *problem (static text). Free with hbd_conf_free().
 */
int hbd_conf_load(const char *path, struct hbd_conf *c,
		  struct hb_conf_errors *errs, const char **problem);

void hbd_conf_free(struct hbd_conf *c);

#endif
