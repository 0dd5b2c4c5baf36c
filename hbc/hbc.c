/*
 * hbc: start-up, the event loop (heartbeat, collection and
 * retransmission timers, the UDP sockets, signals), the plugin loader,
 * reload and shutdown.
 */
#define HB_LOG_MODULE HB_MOD_CLIENT
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hb_error.h"
#include "hb_frame.h" /* not hb_msg.h: it clashes with hb/plugin.h */
#include "hb_daemon.h"
#include "hb_log.h"
#include "hb_time.h"
#include "hbc.h"

#define RX_BATCH 64
#define RESOLVE_RETRY_MS 60000

/* ---- the shared configuration document ---- */

struct hbc_doc *hbc_doc_ref(struct hbc_doc *d)
{
	if (d)
		d->refs++;
	return d;
}

void hbc_doc_unref(struct hbc_doc *d)
{
	if (d && --d->refs == 0) {
		hb_conf_doc_free(d->doc);
		free(d);
	}
}

/* Takes c's document into a shared one. */
static struct hbc_doc *doc_take(struct hbc_conf *c)
{
	struct hbc_doc *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->doc = c->doc;
	d->refs = 1;
	c->doc = NULL;
	return d;
}

/* ---- keys, servers, sockets ---- */

static void resolve(struct hbc_dest *d)
{
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM,
				 .ai_flags = AI_NUMERICSERV}, *ai;
	char port[8];
	int rc;

	snprintf(port, sizeof(port), "%u", d->port);
	if ((rc = getaddrinfo(d->host, port, &hints, &ai)) != 0) {
		hb_log_warn("server %s: %s", d->name, gai_strerror(rc));
		return;
	}
	memcpy(&d->addr, ai->ai_addr, ai->ai_addrlen);
	d->len = ai->ai_addrlen;
	d->resolved = true;
	freeaddrinfo(ai);
}

static void free_dests(struct hbc_dest *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].host);
	free(v);
}

/* The configured servers, resolved (failures are retried later). */
static struct hbc_dest *make_dests(const struct hbc_conf *c)
{
	const struct hbc_server *sv = c->servers.v;
	struct hbc_dest *v = calloc(c->servers.n, sizeof(*v));

	for (size_t i = 0; v && i < c->servers.n; i++) {
		v[i].port = (uint16_t)sv[i].port;
		snprintf(v[i].name, sizeof(v[i].name),
			 strchr(sv[i].host, ':') ? "[%s]:%u" : "%s:%u",
			 sv[i].host, v[i].port);
		if (!(v[i].host = strdup(sv[i].host))) {
			free_dests(v, i);
			return NULL;
		}
		resolve(&v[i]);
	}
	return v;
}

static void rearm(struct hbc *h)
{
	uint64_t due = sender_next_due(h->sender), now = hb_mono_ms();

	ev_timer_stop(h->loop, &h->w.retx);
	if (due == UINT64_MAX)
		return;
	ev_timer_set(&h->w.retx, due > now ? (due - now) / 1000.0 : 0, 0);
	ev_timer_start(h->loop, &h->w.retx);
}

static void rx_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct hbc *h = w->data;
	uint8_t buf[HB_FRAME_MAX + 1];

	for (int i = 0; i < RX_BATCH; i++) {
		ssize_t n = recv(w->fd, buf, sizeof(buf), 0);

		if (n < 0)
			break;
		sender_receive(h->sender, buf, (size_t)n);
	}
	rearm(h);
}

static int socket_for(struct hbc *h, int family)
{
	int *fd = family == AF_INET6 ? &h->fd6 : &h->fd4;
	ev_io *w = family == AF_INET6 ? &h->w.rx6 : &h->w.rx4;

	if (*fd >= 0)
		return *fd;
	*fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (*fd < 0) {
		hb_log_err("socket: %s", strerror(errno));
		return -1;
	}
	ev_io_init(w, rx_cb, *fd, EV_READ);
	w->data = h;
	ev_io_start(h->loop, w);
	return *fd;
}

/* ---- what the sender needs ---- */

static int io_send(void *ctx, uint32_t server, const uint8_t *buf, size_t len)
{
	struct hbc *h = ctx;
	struct hbc_dest *d = server < h->n_dests ? &h->dests[server] : NULL;
	int fd;

	if (!d || !d->resolved ||
	    (fd = socket_for(h, d->addr.ss_family)) < 0)
		return HB_EIO;
	if (sendto(fd, buf, len, 0, (struct sockaddr *)&d->addr, d->len) < 0) {
		hb_log_debug("send to %s: %s", d->name, strerror(errno));
		return HB_EIO;
	}
	return 0;
}

static uint64_t io_unix(void *ctx)
{
	return hb_unix_ms();
}

static uint64_t io_mono(void *ctx)
{
	return hb_mono_ms();
}

static int io_new_epoch(void *ctx, uint32_t *epoch)
{
	struct hbc *h = ctx;
	char err[512];
	int rc = identity_next_epoch(h->conf.state_dir, epoch, err,
				     sizeof(err));

	if (rc < 0)
		hb_log_err("%s", err);
	return rc;
}

static void io_recollect(void *ctx)
{
	struct hbc *h = ctx;

	for (size_t i = 0; i < h->n_plugins; i++)
		if (h->plugins[i]->kind == HB_PLUGIN_INFO)
			runner_collect(h->runner, h->plugins[i]->id);
}

static void io_interval(void *ctx, uint32_t interval_s)
{
	struct hbc *h = ctx;

	ev_timer_stop(h->loop, &h->w.htb);
	ev_timer_set(&h->w.htb, interval_s, interval_s);
	ev_timer_start(h->loop, &h->w.htb);
}

static const char *io_server_name(void *ctx, uint32_t server)
{
	struct hbc *h = ctx;

	return server < h->n_dests ? h->dests[server].name : "?";
}

static void sender_opts_of(struct hbc *h, const struct hbc_conf *c,
			   size_t n_servers, struct sender_opts *o)
{
	*o = (struct sender_opts){
		.mode = (uint8_t)c->security,
		.key = c->security ? &h->key : NULL,
		.interval_s = (uint32_t)(c->interval_ms / 1000),
		.n_servers = (uint32_t)n_servers,
		.failover_after = (uint32_t)c->failover_after,
		.spool_bytes = c->spool,
		.retransmit_ms = (uint32_t)c->retransmit_ms,
		.retransmit_max_ms = HBC_RETRANSMIT_MAX_MS,
		.max_datagram = c->max_datagram,
	};
}

/* Hostname, owner, labels... into the sender. */
static int set_host(struct hbc *h, const struct hbc_conf *c)
{
	struct sender_label labels[HBC_MAX_LABELS];
	struct sender_host sh = {
		.hostname = h->hostname, .owner = c->owner,
		.version = HB_PACKAGE_VERSION, .start_time = h->id.start_time,
		.boot_id = h->id.has_boot_id ? h->id.boot_id : NULL,
		.labels = labels, .n_labels = c->labels.n,
	};

	if (c->hostname)
		snprintf(h->hostname, sizeof(h->hostname), "%s", c->hostname);
	else if (gethostname(h->hostname, sizeof(h->hostname) - 1) < 0)
		snprintf(h->hostname, sizeof(h->hostname), "localhost");
	for (size_t i = 0; i < c->labels.n; i++)
		labels[i] = (struct sender_label){c->labels.keys[i],
						  c->labels.values[i]};
	return sender_set_host(h->sender, &sh);
}

/* ---- plugins ---- */

static struct hbc_plugin *plugin_by_id(struct hbc *h, int id)
{
	for (size_t i = 0; i < h->n_plugins; i++)
		if (h->plugins[i]->id == id)
			return h->plugins[i];
	return NULL;
}

static void sample_cb(void *ctx, int id, struct plugin_sample *s)
{
	struct hbc *h = ctx;
	struct hbc_plugin *p = plugin_by_id(h, id);
	struct sender_sample smp;

	if (!p)
		return;
	smp = (struct sender_sample){
		.plugin = p->name, .kind = (uint8_t)p->kind,
		.interval_s = p->interval_s, .status = s->status,
		.message = s->message, .data = s->data, .len = s->len,
		.time_ms = s->time_ms,
	};
	if (s->status != HB_PLUGIN_OK)
		hb_log_debug("plugin %s: status %d: %s", p->name, s->status,
			     s->message);
	sender_sample(h->sender, &smp);
	rearm(h);
}

static void collect_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct hbc_plugin *p = w->data;

	if (runner_collect(p->h->runner, p->id) == 1)
		hb_log_debug("plugin %s: still collecting, skipped", p->name);
}

static void remove_plugin(struct hbc *h, size_t i, const char *why)
{
	struct hbc_plugin *p = h->plugins[i];

	hb_log_info("plugin %s: removed: %s", p->stem, why);
	ev_timer_stop(h->loop, &p->timer);
	runner_remove(h->runner, p->id);
	sender_forget(h->sender, p->name);
	hbc_doc_unref(p->doc);
	free(p->stem);
	free(p->name);
	free(p->path);
	free(p);
	h->plugins[i] = h->plugins[--h->n_plugins];
}

/* Index of the loaded plugin whose name sorts last. */
static size_t last_by_name(const struct hbc *h)
{
	size_t last = 0;

	for (size_t i = 1; i < h->n_plugins; i++)
		if (strcmp(h->plugins[i]->stem, h->plugins[last]->stem) > 0)
			last = i;
	return last;
}

/* The common keys of a plugin without a section: the table's defaults. */
static void plugin_conf_of(const struct hbc_plugin_conf *pc,
			   struct hbc_plugin_conf *out)
{
	if (pc) {
		*out = *pc;
		return;
	}
	memset(out, 0, sizeof(*out));
	hb_conf_defaults(hbc_plugin_table, out);
}

static bool name_taken(struct hbc *h, const char *name)
{
	for (size_t i = 0; i < h->n_plugins; i++)
		if (strcmp(h->plugins[i]->name, name) == 0)
			return true;
	return false;
}

static void start_plugin(struct hbc *h, struct hbc_plugin *p)
{
	uint32_t def = runner_plugin_default_interval(h->runner, p->id);
	struct hbc_plugin_conf pc;

	plugin_conf_of(hbc_conf_plugin(&h->conf, p->stem), &pc);
	p->interval_s = pc.interval_ms ? (uint32_t)(pc.interval_ms / 1000)
			: def ? def : HBC_PLUGIN_INTERVAL_DEFAULT_S;
	if (p->interval_s > 86400) /* HB_INTERVAL_MAX */
		p->interval_s = 86400;
	if (p->kind == HB_PLUGIN_MONITOR) {
		ev_timer_init(&p->timer, collect_cb, 0.0, p->interval_s);
		p->timer.data = p;
		ev_timer_start(h->loop, &p->timer);
	} else {
		runner_collect(h->runner, p->id);
	}
}

static struct hbc_plugin *new_plugin(struct hbc *h, const char *stem,
				     const char *path, int id)
{
	struct hbc_plugin *p = calloc(1, sizeof(*p));

	if (p && (!(p->stem = strdup(stem)) || !(p->path = strdup(path)) ||
		  !(p->name = strdup(runner_plugin_name(h->runner, id))))) {
		free(p->stem);
		free(p->path);
		free(p);
		p = NULL;
	}
	if (p) {
		p->h = h;
		p->id = id;
		p->kind = runner_plugin_kind(h->runner, id);
	}
	return p;
}

/* Loads and registers one plugin file; logs the outcome. */
static void add_plugin(struct hbc *h, const char *stem, const char *path,
		       const struct stat *st)
{
	const struct hbc_plugin_conf *conf = hbc_conf_plugin(&h->conf, stem);
	struct hbc_plugin_conf pc;
	struct runner_plugin_opts o;
	struct hbc_plugin *p;
	char err[512] = "";
	int id;

	plugin_conf_of(conf, &pc);
	o = (struct runner_plugin_opts){path, pc.section,
					(uint32_t)pc.timeout_ms, pc.isolate};
	if ((id = runner_add(h->runner, &o, err, sizeof(err))) < 0) {
		hb_log_warn("plugin %s: refused: %s", stem,
			    err[0] ? err : hb_strerror(id));
		return;
	}
	if (name_taken(h, runner_plugin_name(h->runner, id))) {
		hb_log_warn("plugin %s: refused: another file already loaded "
			    "plugin %s", stem, runner_plugin_name(h->runner, id));
		runner_remove(h->runner, id);
		return;
	}
	if (!(p = new_plugin(h, stem, path, id))) {
		runner_remove(h->runner, id);
		return;
	}
	p->st = *st;
	p->timeout_ms = pc.timeout_ms;
	p->isolate = pc.isolate;
	p->section = pc.section;
	p->doc = conf ? hbc_doc_ref(h->doc) : NULL;
	h->plugins[h->n_plugins++] = p;
	if (strcmp(p->name, stem) != 0)
		hb_log_warn("plugin %s: the file %s declares the name %s",
			    stem, path, p->name);
	hb_log_info("plugin %s: loaded (%s%s) from %s", stem,
		    p->kind == HB_PLUGIN_INFO ? "info" : "monitor",
		    pc.isolate ? ", isolated" : "", path);
	start_plugin(h, p);
}

static bool node_equal(const struct hb_conf_node *a,
		       const struct hb_conf_node *b)
{
	enum hb_conf_kind k = hb_conf_node_kind(a);
	size_t n = hb_conf_node_count(a);

	if (k != hb_conf_node_kind(b) || n != hb_conf_node_count(b))
		return false;
	if (k == HB_CONF_SCALAR)
		return strcmp(hb_conf_node_text(a), hb_conf_node_text(b)) == 0;
	for (size_t i = 0; i < n; i++)
		if (!node_equal(hb_conf_node_key(a, i), hb_conf_node_key(b, i)) ||
		    !node_equal(hb_conf_node_at(a, i), hb_conf_node_at(b, i)))
			return false;
	return true;
}

/* Whether plugin p still is what stem's file and section describe. */
static bool unchanged(struct hbc *h, const struct hbc_plugin *p,
		      const char *path, const struct stat *st)
{
	const struct hbc_plugin_conf *pc = hbc_conf_plugin(&h->conf, p->stem);

	return strcmp(p->path, path) == 0 && p->st.st_dev == st->st_dev &&
	       p->st.st_ino == st->st_ino && p->st.st_size == st->st_size &&
	       p->st.st_mtim.tv_sec == st->st_mtim.tv_sec &&
	       p->st.st_mtim.tv_nsec == st->st_mtim.tv_nsec &&
	       node_equal(p->section, pc ? pc->section : NULL);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* A plugin file to load. */
struct cand {
	char stem[68];
	char *path;
	struct stat st;
};

/* Whether directory entry file is a plugin to load; fills c. */
static bool candidate(struct hbc *h, const char *dir, const char *file,
		      struct cand *c)
{
	const struct hbc_plugin_conf *pc;
	size_t n = strlen(file);

	if (file[0] == '.' || file[0] == '_' || n < 4 ||
	    strcmp(file + n - 3, ".so") != 0) {
		if (file[0] != '.')
			hb_log_debug("plugin file %s: skipped", file);
		return false;
	}
	snprintf(c->stem, sizeof(c->stem), "%.*s", (int)(n - 3), file);
	if (n - 3 > 64 || !hbc_plugin_name_ok(c->stem)) {
		hb_log_warn("plugin file %s: refused: not a plugin name", file);
		return false;
	}
	if ((pc = hbc_conf_plugin(&h->conf, c->stem)) && !pc->enabled) {
		hb_log_info("plugin %s: skipped: disabled", c->stem);
		return false;
	}
	if (asprintf(&c->path, "%s/%s", dir, file) < 0)
		return false;
	if (stat(c->path, &c->st) < 0 || !S_ISREG(c->st.st_mode)) {
		hb_log_warn("plugin %s: refused: %s: not a readable file",
			    c->stem, c->path);
		free(c->path);
		return false;
	}
	return true;
}

/* The plugin files of plugin_dir, in name order. */
static struct cand *scan(struct hbc *h, size_t *count)
{
	const char *dir = h->conf.plugin_dir;
	struct dirent **list = NULL;
	int n = scandir(dir, &list, NULL, by_name);
	struct cand *c = calloc(n > 0 ? (size_t)n : 1, sizeof(*c));

	*count = 0;
	if (n < 0)
		hb_log_err("plugin_dir %s: %s", dir, strerror(errno));
	for (int i = 0; i < n; i++) {
		if (c && candidate(h, dir, list[i]->d_name, &c[*count]))
			(*count)++;
		free(list[i]);
	}
	free(list);
	return c;
}

static ssize_t find_stem(struct hbc *h, const char *stem)
{
	for (size_t i = 0; i < h->n_plugins; i++)
		if (strcmp(h->plugins[i]->stem, stem) == 0)
			return (ssize_t)i;
	return -1;
}

/*
 * Brings the registered plugins in line with plugin_dir and the
 * configuration, at start and after a reload: plugins gone, disabled or
 * changed (file or section) are removed, then new ones added in name
 * order up to max_plugins.
 */
static void sync_plugins(struct hbc *h)
{
	size_t n, k;
	struct cand *c = scan(h, &n);

	for (size_t i = h->n_plugins; i-- > 0;) {
		const struct hbc_plugin *p = h->plugins[i];

		for (k = 0; k < n && strcmp(c[k].stem, p->stem); k++)
			;
		if (k == n)
			remove_plugin(h, i, "disabled or gone");
		else if (!unchanged(h, p, c[k].path, &c[k].st))
			remove_plugin(h, i, "file or section changed");
	}
	/* The first max_plugins by name, whatever the reload history. */
	while (h->n_plugins > (size_t)h->conf.max_plugins)
		remove_plugin(h, last_by_name(h), "over max_plugins");
	for (k = 0; k < n; k++) {
		if (find_stem(h, c[k].stem) >= 0)
			;
		else if (h->n_plugins >= (size_t)h->conf.max_plugins &&
			 h->n_plugins && strcmp(c[k].stem,
				h->plugins[last_by_name(h)]->stem) < 0) {
			remove_plugin(h, last_by_name(h), "over max_plugins");
			add_plugin(h, c[k].stem, c[k].path, &c[k].st);
		} else if (h->n_plugins >= (size_t)h->conf.max_plugins)
			hb_log_warn("plugin %s: refused: max_plugins (%" PRId64
				    ") reached", c[k].stem, h->conf.max_plugins);
		else
			add_plugin(h, c[k].stem, c[k].path, &c[k].st);
		free(c[k].path);
	}
	free(c);
}

/* ---- timers and signals ---- */

static void sys_of(struct sender_sys *sys)
{
	sys->has_load = identity_read_sys(&sys->uptime, sys->load) == 0;
	if (!sys->has_load)
		sys->uptime = 0;
}

static void htb_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct hbc *h = w->data;
	struct sender_sys sys;
	uint64_t now = hb_mono_ms();

	if (now >= h->next_resolve_ms) {
		h->next_resolve_ms = now + RESOLVE_RETRY_MS;
		for (size_t i = 0; i < h->n_dests; i++)
			if (!h->dests[i].resolved)
				resolve(&h->dests[i]);
	}
	sys_of(&sys);
	sender_heartbeat(h->sender, &sys);
	rearm(h);
}

static void retx_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct hbc *h = w->data;

	sender_tick(h->sender);
	rearm(h);
}

static void log_stats(struct hbc *h)
{
	struct sender_stats st;

	sender_get_stats(h->sender, &st);
	hb_log_info("counters: server=%s htb=%" PRIu64 " plg=%" PRIu64
		    " retransmits=%" PRIu64 " acks=%" PRIu64
		    " acks_refused=%" PRIu64 " acks_unknown=%" PRIu64
		    " spool=%" PRIu64 "/%" PRIu64 "B spool_dropped=%" PRIu64
		    " failovers=%" PRIu64 " request_update=%" PRIu64
		    " send_errors=%" PRIu64,
		    io_server_name(h, sender_server(h->sender)), st.htb, st.plg,
		    st.retransmits, st.acks, st.acks_refused, st.acks_unknown,
		    st.spool_count, st.spool_bytes, st.spool_dropped,
		    st.failovers, st.requests_update, st.send_errors);
}

static bool reload_prepare(struct hbc *h, struct hbc_conf *nc,
			   struct hb_key *key)
{
	struct hb_conf_errors errs = {0};
	const char *problem;
	char err[512];

	if (hbc_conf_load(h->conf_path, nc, &errs, &problem) < 0) {
		for (size_t i = 0; i < errs.count; i++)
			hb_log_err("reload: %s", errs.v[i].text);
		if (problem)
			hb_log_err("reload: %s: %s", h->conf_path, problem);
		hb_conf_errors_free(&errs);
		return false;
	}
	if (hbc_conf_load_key(nc, h->id.host_id, key, err, sizeof(err)) < 0) {
		hb_log_err("reload: %s", err);
		hbc_conf_free(nc);
		return false;
	}
	if (strcmp(nc->state_dir, h->conf.state_dir) != 0)
		hb_log_warn("reload: state_dir changed: takes effect on "
			    "restart; the running value stays");
	return true;
}

/* SIGHUP: everything new is checked first; on any error the old stays. */
static void reload(struct hbc *h)
{
	struct hbc_conf nc = {0}, old;
	struct sender_opts so;
	struct hbc_dest *dests;
	struct hbc_doc *doc;
	struct hb_key key;

	if (!reload_prepare(h, &nc, &key)) {
		hb_log_err("reload failed: keeping the running configuration");
		return;
	}
	dests = make_dests(&nc);
	if (!dests || !(doc = doc_take(&nc))) {
		free_dests(dests, nc.servers.n);
		hbc_conf_free(&nc);
		hb_log_err("reload failed: out of memory");
		return;
	}
	free(nc.state_dir);
	nc.state_dir = strdup(h->conf.state_dir);
	hb_log_conf_apply(&nc.log);
	h->key = key;
	hb_key_wipe(&key);
	free_dests(h->dests, h->n_dests);
	h->dests = dests;
	h->n_dests = nc.servers.n;
	old = h->conf;
	h->conf = nc;
	hbc_doc_unref(h->doc);
	h->doc = doc;
	sender_opts_of(h, &h->conf, h->n_dests, &so);
	if (sender_reconfigure(h->sender, &so) < 0 || set_host(h, &h->conf) < 0)
		hb_log_err("reload: sender options refused");
	sync_plugins(h);
	hbc_conf_free(&old);
	hb_log_info("reloaded %s: %zu servers, %zu plugins", h->conf_path,
		    h->n_dests, h->n_plugins);
	rearm(h);
}

static void signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct hbc *h = w->data;

	switch (w->signum) {
	case SIGHUP:
		reload(h);
		break;
	case SIGUSR1:
		log_stats(h);
		break;
	default:
		hb_log_info("signal %d: shutting down", w->signum);
		ev_break(loop, EVBREAK_ALL);
	}
}

/* ---- start-up ---- */

static void sig(struct hbc *h, ev_signal *w, int signum)
{
	ev_signal_init(w, signal_cb, signum);
	w->data = h;
	ev_signal_start(h->loop, w);
}

static int build(struct hbc *h)
{
	struct sender_io io = {
		.ctx = h, .send = io_send, .unix_ms = io_unix,
		.mono_ms = io_mono, .new_epoch = io_new_epoch,
		.recollect_info = io_recollect, .interval_changed = io_interval,
		.server_name = io_server_name,
	};
	struct plugin_host_info info = {h->id.host_uuid, h->hostname};
	struct sender_opts so;

	if (!(h->loop = ev_loop_new(EVFLAG_AUTO)) ||
	    !(h->plugins = calloc(HBC_PLUGINS_MAX, sizeof(*h->plugins))) ||
	    !(h->dests = make_dests(&h->conf)))
		return 1;
	h->n_dests = h->conf.servers.n;
	sender_opts_of(h, &h->conf, h->n_dests, &so);
	if (!(h->sender = sender_new(h->id.host_id, h->id.epoch, &so, &io)) ||
	    set_host(h, &h->conf) < 0 ||
	    !(h->runner = runner_new(h->loop, &info, sample_cb, h)))
		return 1;
	ev_timer_init(&h->w.htb, htb_cb, 0.0, (double)so.interval_s);
	ev_init(&h->w.retx, retx_cb);
	h->w.htb.data = h->w.retx.data = h;
	ev_timer_start(h->loop, &h->w.htb);
	sig(h, &h->w.term, SIGTERM);
	sig(h, &h->w.intr, SIGINT);
	sig(h, &h->w.hup, SIGHUP);
	sig(h, &h->w.usr1, SIGUSR1);
	sync_plugins(h);
	return 0;
}

int hbc_start(struct hbc *h)
{
	char err[512];
	int ready = -1, rc = 1;

	h->fd4 = h->fd6 = -1;
	hb_log_conf_apply(&h->conf.log);
	signal(SIGPIPE, SIG_IGN);
	if (!(h->doc = doc_take(&h->conf)))
		return 1;
	if (identity_load(h->conf.state_dir, &h->id, err, sizeof(err)) < 0 ||
	    hbc_conf_load_key(&h->conf, h->id.host_id, &h->key, err,
			      sizeof(err)) < 0) {
		hb_log_err("%s", err);
		return 1;
	}
	if (!h->foreground && hb_daemonize(&ready) < 0)
		return 1;
	rc = build(h);
	if (rc == 0)
		hb_log_info("hbc %s started: host %s (%s), epoch %" PRIu32
			    ", %s mode, %zu servers, %zu plugins",
			    HB_PACKAGE_VERSION, h->id.host_uuid, h->hostname,
			    h->id.epoch, hb_mode_name((uint8_t)h->conf.security),
			    h->n_dests, h->n_plugins);
	hb_daemon_ready(ready, rc);
	return rc;
}

int hbc_run(struct hbc *h)
{
	ev_run(h->loop, 0);
	return 0;
}

void hbc_stop(struct hbc *h)
{
	if (h->sender) {
		sender_bye(h->sender, "shutdown");
		log_stats(h);
	}
	runner_free(h->runner);
	h->runner = NULL;
	for (size_t i = 0; i < h->n_plugins; i++) {
		hbc_doc_unref(h->plugins[i]->doc);
		free(h->plugins[i]->stem);
		free(h->plugins[i]->name);
		free(h->plugins[i]->path);
		free(h->plugins[i]);
	}
	free(h->plugins);
	sender_free(h->sender);
	free_dests(h->dests, h->n_dests);
	if (h->fd4 >= 0)
		close(h->fd4);
	if (h->fd6 >= 0)
		close(h->fd6);
	hb_key_wipe(&h->key);
	hbc_conf_free(&h->conf);
	hbc_doc_unref(h->doc);
	if (h->loop)
		ev_loop_destroy(h->loop);
	hb_log_info("stopped");
}
