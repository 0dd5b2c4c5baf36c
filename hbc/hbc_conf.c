/* hbc_conf: the table of hbc's configuration keys and plugin sections. */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hb_error.h"
#include "hb_frame.h"
#include "hb_key.h"
#include "hbc_conf.h"

#define C(f) offsetof(struct hbc_conf, f)
#define S(f) offsetof(struct hbc_server, f)
#define P(f) offsetof(struct hbc_plugin_conf, f)

static const char *const modes[] = {"none", "sign", "encrypt", NULL};

int hbc_parse_hostport(const char *s, char **host, int64_t *port)
{
	const char *h = s, *p = NULL, *colon = strrchr(s, ':');
	size_t len = strlen(s);
	char *end;
	long v;

	if (s[0] == '[') {
		const char *e = strchr(s, ']');

		if (!e || (e[1] && e[1] != ':'))
			return HB_ESYNTAX;
		h = s + 1;
		len = (size_t)(e - h);
		p = e[1] ? e + 2 : NULL;
	} else if (colon && colon == strchr(s, ':')) {
		len = (size_t)(colon - s);
		p = colon + 1;
	} else if (colon) {
		return HB_ESYNTAX; /* a bare IPv6 literal needs brackets */
	}
	if (len == 0 || memchr(h, ' ', len))
		return HB_ESYNTAX;
	*port = HB_PORT;
	if (p) {
		errno = 0;
		v = strtol(p, &end, 10);
		if (*p < '0' || *p > '9' || *end || errno || v < 1 || v > 65535)
			return HB_ESYNTAX;
		*port = v;
	}
	if (!(*host = strndup(h, len)))
		return HB_ENOMEM;
	return 0;
}

/* "servers: [a.example:7781]": the scalar shorthand of a server. */
static int parse_server(const struct hb_conf_node *n, void *field,
			struct hb_conf_errors *e)
{
	struct hbc_server *sv = field;
	const char *t = hb_conf_node_text(n);
	int rc;

	free(sv->host);
	sv->host = NULL;
	rc = hbc_parse_hostport(t ? t : "", &sv->host, &sv->port);
	if (rc == HB_ESYNTAX)
		hb_conf_errorf(e, n, "'%s' is not a server (expected HOST, "
			       "HOST:PORT or [IPV6]:PORT, port 1..65535)",
			       t ? t : "");
	return rc;
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static void free_labels(void *field)
{
	struct hbc_labels *l = field;

	for (size_t i = 0; i < l->n; i++) {
		free(l->keys[i]);
		free(l->values[i]);
	}
	free(l->keys);
	free(l->values);
	memset(l, 0, sizeof(*l));
}

static int label_check(const struct hb_conf_node *k,
		       const struct hb_conf_node *v, struct hb_conf_errors *e)
{
	const char *kt = hb_conf_node_text(k), *vt = hb_conf_node_text(v);

	if (!kt || !kt[0] || strlen(kt) > 64 || has_control(kt)) {
		hb_conf_errorf(e, k, "bad label name (expected 1..64 "
			       "printable bytes)");
		return HB_ESYNTAX;
	}
	if (hb_conf_node_kind(v) != HB_CONF_SCALAR || strlen(vt) > 255 ||
	    has_control(vt)) {
		hb_conf_errorf(e, v, "bad label value (expected a string of at "
			       "most 255 printable bytes)");
		return HB_ESYNTAX;
	}
	return 0;
}

/* "labels: {role: web}": free-form str -> str, at most 32. */
static int parse_labels(const struct hb_conf_node *n, void *field,
			struct hb_conf_errors *e)
{
	struct hbc_labels *l = field;
	size_t cnt = hb_conf_node_count(n);
	int rc = 0;

	if (hb_conf_node_kind(n) == HB_CONF_NULL)
		return 0;
	if (hb_conf_node_kind(n) != HB_CONF_MAPPING) {
		hb_conf_errorf(e, n, "expected a mapping of name: value");
		return HB_ESYNTAX;
	}
	if (cnt > HBC_MAX_LABELS) {
		hb_conf_errorf(e, n, "%zu labels (expected at most %d)", cnt,
			       HBC_MAX_LABELS);
		return HB_ESYNTAX;
	}
	l->keys = calloc(cnt + 1, sizeof(char *));
	l->values = calloc(cnt + 1, sizeof(char *));
	if (!l->keys || !l->values)
		return HB_ENOMEM;
	for (size_t i = 0; i < cnt; i++) {
		const struct hb_conf_node *k = hb_conf_node_key(n, i);
		const struct hb_conf_node *v = hb_conf_node_at(n, i);

		if (label_check(k, v, e) < 0) {
			rc = HB_ESYNTAX;
			continue;
		}
		l->keys[l->n] = strdup(hb_conf_node_text(k));
		l->values[l->n] = strdup(hb_conf_node_text(v));
		l->n++;
		if (!l->keys[l->n - 1] || !l->values[l->n - 1])
			return HB_ENOMEM;
	}
	return rc;
}

static const struct hb_conf_key server_keys[] = {
	{.name = "host", .type = HB_CONF_STRING, .offset = S(host),
	 .flags = HB_CONF_REQUIRED,
	 .help = "Collector name or address (IPv4 or IPv6)."},
	{.name = "port", .type = HB_CONF_INT, .offset = S(port), .def = "7781",
	 .min = 1, .max = 65535, .help = "Collector UDP port."},
	HB_CONF_END,
};

const struct hb_conf_key hbc_plugin_table[] = {
	{.name = "enabled", .type = HB_CONF_BOOL, .offset = P(enabled),
	 .def = "true", .help = "false: the plugin is not loaded."},
	{.name = "interval", .type = HB_CONF_DURATION, .offset = P(interval_ms),
	 .min = 1000, .max = 86400000,
	 .help = "Collection interval of a MonitorPlugin (default: the "
		 "plugin's own, else 60s)."},
	{.name = "timeout", .type = HB_CONF_DURATION, .offset = P(timeout_ms),
	 .def = "10s", .min = 100, .max = 3600000,
	 .help = "A collection running longer is reported UNKNOWN."},
	{.name = "isolate", .type = HB_CONF_BOOL, .offset = P(isolate),
	 .def = "false",
	 .help = "Run the plugin in a child process: crashes and hangs are "
		 "contained."},
	HB_CONF_END,
};

const struct hb_conf_key hbc_conf_table[] = {
	{.name = "servers", .type = HB_CONF_LIST, .offset = C(servers),
	 .sub = server_keys, .sub_size = sizeof(struct hbc_server),
	 .parse = parse_server,
	 .help = "Collectors in order of preference, {host, port} or "
		 "\"host:port\" (default: 127.0.0.1:7781). The next is used "
		 "when one stops answering; the first is probed to return."},
	{.name = "interval", .type = HB_CONF_DURATION, .offset = C(interval_ms),
	 .def = "10s", .min = 1000, .max = 86400000,
	 .help = "Heartbeat interval, whole seconds."},
	{.name = "state_dir", .type = HB_CONF_STRING, .offset = C(state_dir),
	 .def = HBC_DEFAULT_STATE_DIR,
	 .help = "Host id and epoch are kept here (created 0700)."},
	{.name = "hostname", .type = HB_CONF_STRING, .offset = C(hostname),
	 .help = "Name reported in heartbeats (default: gethostname())."},
	{.name = "owner", .type = HB_CONF_STRING, .offset = C(owner),
	 .help = "Responsible team or person, reported in heartbeats."},
	{.name = "labels", .type = HB_CONF_CUSTOM, .offset = C(labels),
	 .sub_size = sizeof(struct hbc_labels), .parse = parse_labels,
	 .free = free_labels,
	 .help = "Free-form name: value labels (at most 32)."},
	{.name = "security", .type = HB_CONF_ENUM, .offset = C(security),
	 .def = "sign", .enums = modes,
	 .help = "Security mode of every datagram: none, sign or encrypt."},
	{.name = "key_file", .type = HB_CONF_STRING, .offset = C(key_file),
	 .help = "Key file (hb-keygen); its first key is used."},
	{.name = "plugin_dir", .type = HB_CONF_STRING, .offset = C(plugin_dir),
	 .def = HBC_DEFAULT_PLUGIN_DIR,
	 .help = "Plugins (*.so) are loaded from here, by name order."},
	{.name = "max_plugins", .type = HB_CONF_INT, .offset = C(max_plugins),
	 .def = "64", .min = 0, .max = HBC_PLUGINS_MAX,
	 .help = "Plugins loaded at most; more are refused."},
	{.name = "failover_after", .type = HB_CONF_INT,
	 .offset = C(failover_after), .def = "3", .min = 1, .max = 1000,
	 .help = "Unanswered heartbeats before the next server is tried; "
		 "also every how many heartbeats the first server is probed."},
	{.name = "spool", .type = HB_CONF_SIZE, .offset = C(spool),
	 .def = "4MiB", .min = 65536, .max = (int64_t)1 << 30,
	 .help = "Unacknowledged plugin data kept; beyond it the oldest is "
		 "dropped."},
	{.name = "retransmit", .type = HB_CONF_DURATION,
	 .offset = C(retransmit_ms), .def = "2s", .min = 100,
	 .max = HBC_RETRANSMIT_MAX_MS,
	 .help = "First retransmission of unacknowledged plugin data; the "
		 "delay then doubles up to 60s."},
	{.name = "max_datagram", .type = HB_CONF_SIZE,
	 .offset = C(max_datagram), .def = "1400", .min = HB_FRAME_MIN,
	 .max = HB_FRAME_MAX,
	 .help = "Largest datagram sent; larger plugin data is fragmented."},
	{.name = "log", .type = HB_CONF_SECTION, .offset = C(log),
	 .sub = hb_log_conf_keys, .help = "Log levels."},
	{.name = "plugins", .type = HB_CONF_NODE, .offset = C(plugins),
	 .help = "Plugin name -> section: enabled, interval, timeout, "
		 "isolate, and the plugin's own keys."},
	HB_CONF_END,
};

bool hbc_plugin_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= 64 &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789_-.") == n;
}

/* The `plugins` mapping into c->plugin[], common keys applied. */
static int load_plugins(struct hbc_conf *c, struct hb_conf_errors *e)
{
	const struct hb_conf_node *m = c->plugins;
	size_t cnt = hb_conf_node_count(m);
	int rc = 0;

	if (hb_conf_node_kind(m) == HB_CONF_NULL)
		return 0;
	if (hb_conf_node_kind(m) != HB_CONF_MAPPING) {
		hb_conf_errorf(e, m, "expected a mapping of plugin name: "
			       "section");
		return HB_ESYNTAX;
	}
	if (!(c->plugin = calloc(cnt, sizeof(*c->plugin))))
		return HB_ENOMEM;
	for (size_t i = 0; i < cnt; i++) {
		const struct hb_conf_node *k = hb_conf_node_key(m, i);
		struct hbc_plugin_conf *pc = &c->plugin[c->n_plugins];
		int r;

		if (!hbc_plugin_name_ok(hb_conf_node_text(k))) {
			hb_conf_errorf(e, k, "bad plugin name (expected 1..64 "
				       "of A-Z a-z 0-9 _ - .)");
			rc = HB_ESYNTAX;
			continue;
		}
		r = hb_conf_apply(hb_conf_node_at(m, i), hbc_plugin_table, pc,
				  HB_CONF_ALLOW_EXTRA, e);
		if (r == HB_ENOMEM)
			return r;
		if (r < 0) {
			rc = r;
			continue;
		}
		pc->section = hb_conf_node_at(m, i);
		if (!(pc->name = strdup(hb_conf_node_text(k))))
			return HB_ENOMEM;
		c->n_plugins++;
	}
	return rc;
}

static int default_server(struct hbc_conf *c)
{
	struct hbc_server *s;

	if (c->servers.n)
		return 0;
	if (!(s = calloc(1, sizeof(*s))) ||
	    !(s->host = strdup(HBC_DEFAULT_SERVER))) {
		free(s);
		return HB_ENOMEM;
	}
	s->port = HB_PORT;
	c->servers.v = s;
	c->servers.n = 1;
	return 0;
}

/* Checks that involve several keys: the problem, or NULL. */
static const char *cross_check(const struct hbc_conf *c)
{
	if (c->security != 0 && !c->key_file)
		return "security sign or encrypt needs key_file";
	if (c->interval_ms % 1000)
		return "interval: must be whole seconds";
	if (c->servers.n > HBC_MAX_SERVERS)
		return "servers: at most 8";
	if (c->hostname && (!c->hostname[0] || strlen(c->hostname) > 255 ||
			    has_control(c->hostname)))
		return "hostname: 1..255 printable bytes";
	if (c->owner && (strlen(c->owner) > 255 || has_control(c->owner)))
		return "owner: at most 255 printable bytes";
	return NULL;
}

static int finish(struct hbc_conf *c, int rc, struct hb_conf_errors *errs,
		  const char **problem)
{
	*problem = NULL;
	if (rc == 0)
		rc = load_plugins(c, errs);
	if (rc == 0 && (default_server(c) || hb_conf_abs_path(&c->state_dir) ||
			hb_conf_abs_path(&c->key_file) || hb_conf_abs_path(&c->plugin_dir)))
		rc = HB_ENOMEM;
	if (rc == 0 && (*problem = cross_check(c)))
		rc = HB_ESYNTAX;
	if (rc < 0 && rc != HB_ESYNTAX && rc != HB_EIO && !*problem)
		*problem = hb_strerror(rc);
	if (rc < 0)
		hbc_conf_free(c);
	return rc;
}

int hbc_conf_load(const char *path, struct hbc_conf *c,
		  struct hb_conf_errors *errs, const char **problem)
{
	int rc = hb_conf_load_file(path, hbc_conf_table, c, &c->doc, errs);

	return finish(c, rc, errs, problem);
}

int hbc_conf_load_string(const char *name, const char *text,
			 struct hbc_conf *c, struct hb_conf_errors *errs,
			 const char **problem)
{
	int rc = hb_conf_load_string(name, text, strlen(text), hbc_conf_table,
				     c, &c->doc, errs);

	return finish(c, rc, errs, problem);
}

const struct hbc_plugin_conf *hbc_conf_plugin(const struct hbc_conf *c,
					      const char *name)
{
	for (size_t i = 0; i < c->n_plugins; i++)
		if (strcmp(c->plugin[i].name, name) == 0)
			return &c->plugin[i];
	return NULL;
}

int hbc_conf_load_key(const struct hbc_conf *c, const uint8_t host_id[16],
		      struct hb_key *key, char *err, size_t errlen)
{
	struct hb_keyring *kr;
	const struct hb_key *k;
	char want[37], got[37];
	int rc;

	memset(key, 0, sizeof(*key));
	if (c->security == HB_MODE_NONE)
		return 0;
	if (!(kr = hb_keyring_new()))
		return HB_ENOMEM;
	err[0] = '\0';
	if ((rc = hb_keyring_load(kr, c->key_file, err, errlen)) < 0) {
		if (!err[0])
			snprintf(err, errlen, "%s: %s", c->key_file,
				 hb_strerror(rc));
	} else if (!(k = hb_keyring_count(kr) ? hb_keyring_at(kr, 0) : NULL)) {
		snprintf(err, errlen, "%s: no key", c->key_file);
		rc = HB_ESYNTAX;
	} else if (k->has_host && memcmp(k->host_id, host_id, 16)) {
		hb_uuid_format(k->host_id, got);
		hb_uuid_format(host_id, want);
		snprintf(err, errlen, "%s: key %" PRIu32 " is bound to host %s, "
			 "this host is %s", c->key_file, k->id, got, want);
		rc = HB_EHOST;
	} else {
		*key = *k;
	}
	hb_keyring_free(kr);
	return rc;
}

void hbc_conf_free(struct hbc_conf *c)
{
	for (size_t i = 0; i < c->n_plugins; i++) {
		hb_conf_free(hbc_plugin_table, &c->plugin[i]);
		free(c->plugin[i].name);
	}
	free(c->plugin);
	c->plugin = NULL;
	c->n_plugins = 0;
	hb_conf_free(hbc_conf_table, c);
	hb_conf_doc_free(c->doc);
	c->doc = NULL;
}
