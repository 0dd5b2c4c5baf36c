/*
 * hbc: the client daemon's parts and their lifecycle. hbc_start() builds
 * them (identity, key, sockets, sender, runner, plugins), hbc_run() runs
 * the event loop until SIGTERM or SIGINT, hbc_stop() sends the BYE and
 * tears down. SIGHUP reloads the whole configuration (kept unchanged on
 * any error): servers, interval, labels, keys, log levels and the
 * plugins (added, removed, or reloaded when their section or file
 * changed). SIGUSR1 logs the counters.
 *
 * The loop is a private libev loop, not the default one: the default
 * loop reaps every child on SIGCHLD, which would steal the exit status
 * of commands plugins run (command.h) and of isolated plugins.
 */
#ifndef HBC_HBC_H
#define HBC_HBC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <ev.h>

#include "hb_key.h"
#include "hbc_conf.h"
#include "identity.h"
#include "runner.h"
#include "sender.h"

#ifndef HB_PACKAGE_VERSION
#define HB_PACKAGE_VERSION "0.1.0"
#endif

struct hbc;

/* The loaded document, shared by the configuration and the plugins. */
struct hbc_doc {
	struct hb_conf_doc *doc;
	int refs;
};

/* One registered plugin. */
struct hbc_plugin {
	struct hbc *h;
	char *stem; /* file name without .so: its configuration name */
	char *name; /* the descriptor's name: its name on the wire */
	char *path;
	int id; /* runner id */
	int kind;
	uint32_t interval_s;
	uint64_t timeout_ms;
	bool isolate;
	struct stat st; /* of the file when loaded */
	const struct hb_conf_node *section;
	struct hbc_doc *doc; /* holds section */
	ev_timer timer;      /* Monitor plugins */
};

struct hbc_dest {
	char *host;
	uint16_t port;
	char name[300]; /* "host:port" for logs */
	bool resolved;
	struct sockaddr_storage addr;
	socklen_t len;
};

struct hbc {
	const char *conf_path;
	bool foreground;
	struct hbc_conf conf;
	struct hbc_doc *doc; /* conf's */
	struct identity id;
	char hostname[256];
	struct hb_key key;
	struct ev_loop *loop;
	struct sender *sender;
	struct runner *runner;
	struct hbc_plugin **plugins;
	size_t n_plugins;
	struct hbc_dest *dests;
	size_t n_dests;
	uint64_t next_resolve_ms;
	int fd4, fd6;
	struct {
		ev_io rx4, rx6;
		ev_timer htb, retx;
		ev_signal term, intr, hup, usr1;
	} w;
};

/* Builds everything; 0 or a nonzero exit status. */
int hbc_start(struct hbc *h);

/* Runs until asked to stop; returns the exit status. */
int hbc_run(struct hbc *h);

/* Sends the BYE, unloads plugins, frees. */
void hbc_stop(struct hbc *h);

/* Takes a new reference to d. */
struct hbc_doc *hbc_doc_ref(struct hbc_doc *d);
void hbc_doc_unref(struct hbc_doc *d);

#endif
