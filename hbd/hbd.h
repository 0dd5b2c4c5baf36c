/*
 * hbd: the daemon's parts and their lifecycle. hbd_start() builds them in
 * start-up order, hbd_run() runs the event loop until SIGTERM or SIGINT,
 * hbd_stop() tears down in reverse, flushing the store. SIGHUP reloads
 * keys, thresholds, hooks and log levels without losing state; SIGUSR1
 * logs the counters.
 */
#ifndef HBD_HBD_H
#define HBD_HBD_H

#include <stdbool.h>
#include <stdint.h>

#include "counters.h"
#include "hbd_conf.h"
#include "hooks.h"
#include "hosts.h"
#include "ingest.h"
#include "net.h"
#include "state.h"
#include "store.h"

#ifndef HB_PACKAGE_VERSION
#define HB_PACKAGE_VERSION "0.1.0"
#endif

struct hbd {
	const char *conf_path;
	bool foreground;
	struct hbd_conf conf;
	struct ev_loop *loop;
	struct hb_keyring *keys;
	struct net *net;
	struct store *store;
	struct hosts *hosts;
	struct statem sm;
	struct hb_reasm *reasm;
	struct hooks *hooks;
	struct ingest in;
	struct counters ctr;
	struct hb_log_burst log_transitions; /* per-host state lines */
	uint32_t server_epoch;
	bool pid_written;
	uint32_t *dirty;          /* flush scratch: host indices */
	struct store_seen *seen;  /* flush scratch */
	struct {
		ev_timer tick, flush, counters, prune;
		ev_signal term, intr, hup, usr1;
	} w;
};

/* Loads the configured key files; 0 or a negative code (logged). */
int hbd_check_keys(struct hbd *d);

/* Builds everything in start-up order; 0 or a nonzero exit status. */
int hbd_start(struct hbd *d);

/* Runs until asked to stop; returns the exit status. */
int hbd_run(struct hbd *d);

/* Tears down what hbd_start() built, in reverse order. */
void hbd_stop(struct hbd *d);

#endif
