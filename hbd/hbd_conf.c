/* hbd_conf: the table of hbd's configuration keys. */
#include <arpa/inet.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hb_error.h"
#include "hb_frag.h"
#include "hbd_conf.h"
#include "store.h"

#define C(f) offsetof(struct hbd_conf, f)
#define H(f) offsetof(struct hbd_hook_conf, f)

static const char *const modes[] = {"none", "sign", "encrypt", NULL};

/* "on: [DOWN, UP]": state names into a bit set. */
static int parse_states(const struct hb_conf_node *n, void *field,
			struct hb_conf_errors *e)
{
	static const char *const names[] = {"UP", "LATE", "DOWN", "STOPPED"};
	unsigned *bits = field;
	size_t count = hb_conf_node_kind(n) == HB_CONF_SEQUENCE
			       ? hb_conf_node_count(n) : 1;
	int rc = 0;

	for (size_t i = 0; i < count; i++) {
		const struct hb_conf_node *item =
			hb_conf_node_kind(n) == HB_CONF_SEQUENCE
				? hb_conf_node_at(n, i) : n;
		const char *t = hb_conf_node_text(item);
		size_t s = 0;

		while (t && s < 4 && strcasecmp(t, names[s]) != 0)
			s++;
		if (!t || s == 4) {
			hb_conf_errorf(e, item, "%s is not a state (expected "
				       "UP, LATE, DOWN or STOPPED)",
				       t ? t : "this");
			rc = HB_ESYNTAX;
			continue;
		}
		*bits |= 1u << s;
	}
	return rc;
}

static void free_argv(void *field)
{
	struct hb_conf_strv *v = field;

	for (size_t i = 0; i < v->n; i++)
		free(v->v[i]);
	free(v->v);
	v->v = NULL;
	v->n = 0;
}

/* "run: [/path, arg...]": an argv whose command is an absolute path. */
static int parse_argv(const struct hb_conf_node *n, void *field,
		      struct hb_conf_errors *e)
{
	struct hb_conf_strv *v = field;
	bool seq = hb_conf_node_kind(n) == HB_CONF_SEQUENCE;
	size_t count = seq ? hb_conf_node_count(n) : 1;

	if (!(v->v = calloc(count + 1, sizeof(char *))))
		return HB_ENOMEM;
	for (size_t i = 0; i < count; i++) {
		const struct hb_conf_node *item = seq ? hb_conf_node_at(n, i) : n;
		const char *t = hb_conf_node_kind(item) == HB_CONF_SCALAR
					? hb_conf_node_text(item) : NULL;

		if (!t || (i == 0 && t[0] != '/')) {
			hb_conf_errorf(e, item, "%s", !t ? "expected a string"
				       : "the command must be an absolute path "
					 "(hooks run without a shell)");
			free_argv(v);
			return HB_ESYNTAX;
		}
		if (!(v->v[v->n++] = strdup(t))) {
			free_argv(v);
			return HB_ENOMEM;
		}
	}
	if (!count) {
		hb_conf_errorf(e, n, "expected a command and its arguments");
		free_argv(v);
		return HB_ESYNTAX;
	}
	return 0;
}

static const struct hb_conf_key hook_keys[] = {
	{.name = "run", .type = HB_CONF_CUSTOM, .offset = H(run),
	 .sub_size = sizeof(struct hb_conf_strv), .parse = parse_argv,
	 .free = free_argv, .flags = HB_CONF_REQUIRED,
	 .help = "Command and arguments; the command an absolute path, run "
		 "without a shell."},
	{.name = "on", .type = HB_CONF_CUSTOM, .offset = H(on),
	 .sub_size = sizeof(unsigned), .parse = parse_states,
	 .def = "DOWN", .help = "States whose entry runs the hook."},
	{.name = "timeout", .type = HB_CONF_DURATION, .offset = H(timeout_ms),
	 .def = "10s", .min = 100, .max = 3600000,
	 .help = "The hook is killed after this long."},
	HB_CONF_END,
};

#define R(f) offsetof(struct hbd_reasm_conf, f)
#define S(f) offsetof(struct hbd_store_conf, f)
#define K(f) offsetof(struct hbd_hooks_conf, f)

static const struct hb_conf_key reassembly_keys[] = {
	{.name = "max_message", .type = HB_CONF_SIZE, .offset = R(max_message),
	 .def = "64KiB", .min = 1024, .max = HB_MESSAGE_MAX,
	 .help = "Largest plugin data message, reassembled."},
	{.name = "memory", .type = HB_CONF_SIZE, .offset = R(memory),
	 .def = "16MiB", .min = 65536, .max = (int64_t)4 << 30,
	 .help = "Memory for partial messages, all hosts together."},
	{.name = "timeout", .type = HB_CONF_DURATION, .offset = R(timeout_ms),
	 .def = "5s", .min = 100, .max = 600000,
	 .help = "A message still missing fragments this long is dropped."},
	{.name = "per_host", .type = HB_CONF_INT, .offset = R(per_host),
	 .def = "4", .min = 1, .max = 1024,
	 .help = "Partial messages one host may have at once."},
	HB_CONF_END,
};

static const struct hb_conf_key store_keys[] = {
	{.name = "backlog", .type = HB_CONF_SIZE, .offset = S(backlog),
	 .def = "256MiB", .min = 1 << 20, .max = (int64_t)64 << 30,
	 .help = "Writes held in memory while the database is locked or the "
		 "disk full; beyond it writes are dropped and counted."},
	{.name = "batch", .type = HB_CONF_DURATION, .offset = S(batch_ms),
	 .def = "200ms", .min = 1, .max = 10000,
	 .help = "Longest a write waits to join a transaction."},
	{.name = "busy_timeout", .type = HB_CONF_DURATION,
	 .offset = S(busy_timeout_ms), .def = "100ms", .min = 0, .max = 60000,
	 .help = "How long one attempt waits for a lock before backing off."},
	{.name = "flush", .type = HB_CONF_DURATION, .offset = S(flush_ms),
	 .def = "1s", .min = 100, .max = 60000,
	 .help = "How often hosts' last-seen data is written, in one batch."},
	{.name = "slow_lag", .type = HB_CONF_DURATION, .offset = S(slow_lag_ms),
	 .def = "10s", .min = 1000, .max = 3600000,
	 .help = "Store lag from which ACKs tell clients to slow down."},
	{.name = "slow_interval", .type = HB_CONF_INT,
	 .offset = S(slow_interval), .def = "60", .min = 1, .max = 3600,
	 .help = "The heartbeat interval, in seconds, clients get then."},
	HB_CONF_END,
};

static const struct hb_conf_key hooks_keys[] = {
	{.name = "max_running", .type = HB_CONF_INT, .offset = K(max_running),
	 .def = "4", .min = 1, .max = 1024,
	 .help = "Hooks running at once."},
	{.name = "max_queued", .type = HB_CONF_INT, .offset = K(max_queued),
	 .def = "1000", .min = 0, .max = 1000000,
	 .help = "Hooks waiting to run; more are dropped and counted."},
	{.name = "rate", .type = HB_CONF_DOUBLE, .offset = K(rate),
	 .def = "10", .dmin = 0.001, .dmax = 10000,
	 .help = "Hook runs per second, sustained."},
	{.name = "burst", .type = HB_CONF_INT, .offset = K(burst),
	 .def = "50", .min = 1, .max = 100000,
	 .help = "Hook runs allowed at once above the rate."},
	{.name = "commands", .type = HB_CONF_LIST, .offset = K(commands),
	 .sub = hook_keys, .sub_size = sizeof(struct hbd_hook_conf),
	 .help = "The hooks: run, on, timeout."},
	HB_CONF_END,
};

const struct hb_conf_key hbd_conf_table[] = {
	{.name = "listen", .type = HB_CONF_STRLIST, .offset = C(listen),
	 .def = "0.0.0.0", .help = "Addresses to receive on; add \"::\" for IPv6."},
	{.name = "port", .type = HB_CONF_INT, .offset = C(port),
	 .def = "7781", .min = 0, .max = 65535,
	 .help = "UDP port (0: any free port, for tests)."},
	{.name = "database", .type = HB_CONF_STRING, .offset = C(database),
	 .def = HBD_DEFAULT_DB, .help = "SQLite database file."},
	{.name = "security", .type = HB_CONF_ENUM, .offset = C(security),
	 .def = "sign", .enums = modes,
	 .help = "Weakest security mode accepted: none, sign or encrypt."},
	{.name = "key_file", .type = HB_CONF_STRING, .offset = C(key_file),
	 .help = "Shared key(s), as hb-keygen writes them."},
	{.name = "host_keys_file", .type = HB_CONF_STRING,
	 .offset = C(host_keys_file),
	 .help = "Per-host keys: key lines bound to host UUIDs."},
	{.name = "skew", .type = HB_CONF_DURATION, .offset = C(skew_ms),
	 .def = "5m", .min = 0, .max = 86400000,
	 .help = "Clock skew accepted in datagram timestamps; 0 turns the "
		 "check off."},
	{.name = "late_factor", .type = HB_CONF_DOUBLE, .offset = C(late_factor),
	 .def = "1.5", .dmin = 1.0, .dmax = 100,
	 .help = "A host is LATE after this many intervals of silence."},
	{.name = "down_factor", .type = HB_CONF_DOUBLE, .offset = C(down_factor),
	 .def = "3", .dmin = 1.0, .dmax = 1000,
	 .help = "A host is DOWN after this many intervals of silence."},
	{.name = "hold_down", .type = HB_CONF_DURATION, .offset = C(hold_down_ms),
	 .def = "0s", .min = 0, .max = 86400000,
	 .help = "Extra silence before DOWN is declared (damps flapping)."},
	{.name = "flap_window", .type = HB_CONF_DURATION,
	 .offset = C(flap_window_ms), .def = "1h", .min = 1000,
	 .max = 604800000, .help = "Window over which returns are counted."},
	{.name = "flap_threshold", .type = HB_CONF_INT,
	 .offset = C(flap_threshold), .def = "5", .min = 0, .max = 10000,
	 .help = "Returns from DOWN in the window that make a host flapping "
		 "(an event); 0 turns it off."},
	{.name = "retention", .type = HB_CONF_DURATION, .offset = C(retention_ms),
	 .def = "7d", .min = 60000, .max = (int64_t)3650 * 86400000,
	 .help = "Plugin history is kept this long."},
	{.name = "receive_buffer", .type = HB_CONF_SIZE,
	 .offset = C(receive_buffer), .def = "8MiB", .min = 65536,
	 .max = (int64_t)1 << 30,
	 .help = "Socket receive buffer; absorbs bursts."},
	{.name = "reassembly", .type = HB_CONF_SECTION, .offset = C(reassembly),
	 .sub = reassembly_keys, .help = "Fragmented plugin data."},
	{.name = "store", .type = HB_CONF_SECTION, .offset = C(store),
	 .sub = store_keys, .help = "The database writer."},
	{.name = "hooks", .type = HB_CONF_SECTION, .offset = C(hooks),
	 .sub = hooks_keys, .help = "Commands run on state changes."},
	{.name = "log", .type = HB_CONF_SECTION, .offset = C(log),
	 .sub = hb_log_conf_keys, .help = "Log levels."},
	{.name = "user", .type = HB_CONF_STRING, .offset = C(user),
	 .help = "Started as root, switch to this user after binding."},
	{.name = "pid_file", .type = HB_CONF_STRING, .offset = C(pid_file),
	 .def = "/run/hb/hbd.pid",
	 .help = "Written in daemon mode; a missing directory is created and "
		 "given to `user`."},
	HB_CONF_END,
};

/*
 * Checks that involve several keys, or the system: writes the problem
 * into msg and returns true, or returns false.
 */
static bool check_keys(const struct hbd_conf *c, char *msg, size_t cap)
{
	struct in6_addr a;

	if (c->security != 0 && !c->key_file && !c->host_keys_file) {
		snprintf(msg, cap, "security sign or encrypt needs key_file "
			 "or host_keys_file");
		return true;
	}
	if (c->down_factor <= c->late_factor) {
		snprintf(msg, cap, "down_factor must be larger than "
			 "late_factor");
		return true;
	}
	if (!c->listen.n || c->listen.n > 8) {
		snprintf(msg, cap, "listen: between 1 and 8 addresses");
		return true;
	}
	for (size_t i = 0; i < c->listen.n; i++) {
		if (inet_pton(AF_INET, c->listen.v[i], &a) != 1 &&
		    inet_pton(AF_INET6, c->listen.v[i], &a) != 1) {
			snprintf(msg, cap, "listen: %s is not an IPv4 or IPv6 "
				 "address", c->listen.v[i]);
			return true;
		}
	}
	if (c->user && !getpwnam(c->user)) {
		snprintf(msg, cap, "user: %s: no such user", c->user);
		return true;
	}
	return false;
}

/* The problem, "file: what", or NULL. */
static const char *cross_check(const struct hbd_conf *c, const char *path)
{
	static char out[1280];
	char msg[1024];

	if (!check_keys(c, msg, sizeof(msg)))
		return NULL;
	snprintf(out, sizeof(out), "%s: %s", path, msg);
	return out;
}

int hbd_conf_load(const char *path, struct hbd_conf *c,
		  struct hb_conf_errors *errs, const char **problem)
{
	int rc = hb_conf_load_file(path, hbd_conf_table, c, NULL, errs);

	*problem = NULL;
	if (rc == 0 && (hb_conf_abs_path(&c->database) || hb_conf_abs_path(&c->key_file) ||
			hb_conf_abs_path(&c->host_keys_file) ||
			hb_conf_abs_path(&c->pid_file)))
		rc = HB_ENOMEM;
	if (rc == 0 && (*problem = cross_check(c, path)))
		rc = HB_ESYNTAX;
	if (rc < 0 && rc != HB_ESYNTAX && rc != HB_EIO && !*problem)
		*problem = hb_strerror(rc);
	if (*problem)
		hbd_conf_free(c);
	return rc;
}

void hbd_conf_free(struct hbd_conf *c)
{
	hb_conf_free(hbd_conf_table, c);
}
