/*
 * hbd: start-up, the event loop's timers and signals, reload, teardown.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ev.h>

#include "hb_error.h"
#include "hb_daemon.h"
#include "hb_log.h"
#include "hb_time.h"
#include "hbd.h"

#define TICK_S (STATE_TICK_MS / 1000.0)
#define COUNTERS_S 10.0
#define PRUNE_S 3600.0
#define CLOSE_TIMEOUT_MS 10000
#define FLUSH_CHUNK 65536

/* ---- keys ---- */

static int load_key_file(struct hb_keyring *kr, const char *path)
{
	char err[512];
	int rc = hb_keyring_load(kr, path, err, sizeof(err));

	if (rc < 0)
		hb_log_err("%s", err[0] ? err : hb_strerror(rc));
	return rc;
}

/* Both key files into one keyring: key ids are unique across them. */
static struct hb_keyring *load_keys(const struct hbd_conf *c)
{
	struct hb_keyring *kr = hb_keyring_new();

	if (!kr)
		return NULL;
	if ((c->key_file && load_key_file(kr, c->key_file) < 0) ||
	    (c->host_keys_file && load_key_file(kr, c->host_keys_file) < 0)) {
		hb_keyring_free(kr);
		return NULL;
	}
	return kr;
}

int hbd_check_keys(struct hbd *d)
{
	struct hb_keyring *kr = load_keys(&d->conf);

	hb_keyring_free(kr);
	return kr ? 0 : HB_ESYNTAX;
}

static void state_opts_of(const struct hbd_conf *c, struct state_opts *o)
{
	o->late_factor = c->late_factor;
	o->down_factor = c->down_factor;
	o->hold_down_ms = (uint32_t)c->hold_down_ms;
	o->flap_window_ms = (uint32_t)c->flap_window_ms;
	o->flap_threshold = (uint32_t)c->flap_threshold;
}

static void ingest_opts_of(const struct hbd_conf *c, struct ingest_opts *o)
{
	o->min_mode = (uint8_t)c->security;
	o->skew_ms = c->skew_ms;
	o->clone_window_ms = 10 * 60 * 1000;
	o->clone_threshold = 3;
}

/* The hooks' definitions point into c, which must outlive the runner. */
static int hooks_opts_of(const struct hbd_conf *c, struct hooks_opts *o)
{
	const struct hbd_hook_conf *hc = c->hooks.commands.v;
	struct hook_def *defs = NULL;

	if (c->hooks.commands.n &&
	    !(defs = calloc(c->hooks.commands.n, sizeof(*defs))))
		return HB_ENOMEM;
	for (size_t i = 0; i < c->hooks.commands.n; i++) {
		defs[i].argv = hc[i].run.v;
		defs[i].targets = hc[i].on;
		defs[i].timeout_ms = (uint32_t)hc[i].timeout_ms;
	}
	*o = (struct hooks_opts){
		.defs = defs,
		.n_defs = c->hooks.commands.n,
		.max_running = (uint32_t)c->hooks.max_running,
		.max_queued = (uint32_t)c->hooks.max_queued,
		.rate = c->hooks.rate,
		.burst = (uint32_t)c->hooks.burst,
	};
	return 0;
}

/* ---- transitions, flushes, periodic jobs ---- */

static void put_event(struct hbd *d, uint32_t idx, uint64_t now,
		      const char *kind, int from, int to, const char *reason)
{
	struct store_event e = {(int64_t)idx + 1, now, kind, from, to, reason};

	if (store_put_event(d->store, &e) == 0)
		return;
	d->ctr.v[CTR_STORE_DROPPED]++;
	/* The row's state column is written with the next seen update. */
	if (to >= 0)
		hosts_at(d->hosts, idx)->flags |= HOST_STATE_UNSAVED;
}

static void on_transition(void *ctx, const struct transition *tr)
{
	struct hbd *d = ctx;
	struct host *h = hosts_at(d->hosts, tr->idx);
	const struct host_attrs *a = h->attrs;
	uint64_t now = hb_unix_ms();
	char uuid[37], addr[64];
	struct hook_event ev = {
		.host_uuid = uuid,
		.hostname = a ? a->hostname : "",
		.address = addr,
		.owner = a ? a->owner : "",
		.labels_json = a ? a->labels_json : "{}",
		.from = tr->from,
		.to = tr->to,
		.time_ms = now,
		.reason = tr->reason,
	};

	hb_uuid_format(h->uuid, uuid);
	ingest_format_addr(&h->addr, addr, sizeof(addr));
	h->state_since_unix = now;
	d->ctr.v[CTR_TRANSITIONS]++;
	put_event(d, tr->idx, now, "state", tr->from, tr->to, tr->reason);
	if (h->flags & HOST_STATE_UNSAVED)
		hosts_mark_dirty(d->hosts, tr->idx);
	if (tr->flapping) {
		d->ctr.v[CTR_FLAPS]++;
		put_event(d, tr->idx, now, "flapping", -1, -1,
			  "returned from DOWN too often");
		if (hb_log_burst_pass(&d->log_transitions, HB_LOG_WARN,
				      hb_mono_ms()))
			hb_log_warn("%s (%s) is flapping: returned from DOWN "
				    "%u times within %.0f s", ev.hostname, uuid,
				    d->conf.flap_threshold > 0
					    ? (unsigned)d->conf.flap_threshold
					    : 0u,
				    d->conf.flap_window_ms / 1000.0);
	}
	if (hb_log_burst_pass(&d->log_transitions, HB_LOG_INFO, hb_mono_ms()))
		hb_log_info("%s (%s) %s -> %s: %s", ev.hostname, uuid,
			    hbd_state_name(tr->from), hbd_state_name(tr->to),
			    tr->reason);
	if (d->hooks)
		hooks_fire(d->hooks, &ev);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/*
 * Writes the changed hosts' last-seen data and state: never a row per
 * heartbeat, but each host once per flush, in rowid order, which SQLite
 * absorbs an order of magnitude faster than random order. Nothing is
 * lost on a full backlog: the hosts stay dirty until a flush gets in.
 */
static void flush_seen(struct hbd *d)
{
	uint32_t n;

	while ((n = hosts_take_dirty(d->hosts, d->dirty, FLUSH_CHUNK)) > 0) {
		qsort(d->dirty, n, sizeof(*d->dirty), cmp_u32);
		for (uint32_t i = 0; i < n; i++) {
			const struct host *h = hosts_at(d->hosts, d->dirty[i]);

			d->seen[i] = (struct store_seen){
				.rowid = (int64_t)d->dirty[i] + 1,
				.last_seen_ms = h->last_seen_unix,
				.epoch = h->replay.epoch,
				.seq = h->replay.top,
				.skew_ms = h->skew_ms,
				.status = h->status,
				.received = h->received,
				.lost = h->lost,
				.state = h->flags & HOST_STATE_UNSAVED
						 ? h->state : -1,
				.state_since_ms = h->state_since_unix,
			};
		}
		if (store_put_seen(d->store, d->seen, n) < 0) {
			/* Backlog full: the data lives on in memory; try
			 * these hosts again at the next flush. */
			for (uint32_t i = 0; i < n; i++)
				hosts_mark_dirty(d->hosts, d->dirty[i]);
			return;
		}
		for (uint32_t i = 0; i < n; i++)
			hosts_at(d->hosts, d->dirty[i])->flags &=
				(uint8_t)~HOST_STATE_UNSAVED;
	}
}

/* When the store falls behind, ACKs tell clients to slow down. */
static void backpressure(struct hbd *d)
{
	struct store_stats st;
	uint32_t want;

	store_get_stats(d->store, &st);
	want = st.lag_ms > d->conf.store.slow_lag_ms
		       ? (uint32_t)d->conf.store.slow_interval : 0;
	if (want != d->in.override_s)
		hb_log_warn("store lag %" PRIu64 " ms: %s", st.lag_ms,
			    want ? "asking clients to slow down"
				 : "clients back to their own interval");
	d->in.override_s = want;
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct hbd *d = w->data;

	state_advance(&d->sm, hb_mono_ms());
}

static void flush_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct hbd *d = w->data;

	flush_seen(d);
	hb_reasm_expire(d->reasm, hb_mono_ms());
	hb_log_burst_flush(&d->log_transitions, hb_mono_ms(), false);
	hb_log_burst_flush(&d->in.log_events, hb_mono_ms(), false);
	backpressure(d);
}

static void put_counters(struct hbd *d)
{
	const char *names[CTR_COUNT + 3];
	uint64_t values[CTR_COUNT + 3];
	struct store_stats st;
	size_t n = 0;

	store_get_stats(d->store, &st);
	d->ctr.v[CTR_STORE_DROPPED] = st.dropped;
	d->ctr.v[CTR_STORE_DEFERRED] = st.deferred;
	for (int i = 0; i < CTR_COUNT; i++) {
		names[n] = counter_name(i);
		values[n++] = d->ctr.v[i];
	}
	names[n] = "hosts";
	values[n++] = hosts_count(d->hosts);
	names[n] = "store_backlog";
	values[n++] = st.backlog;
	names[n] = "store_lag_ms";
	values[n++] = st.lag_ms;
	store_put_counters(d->store, names, values, n, hb_unix_ms());
}

static void log_counters(struct hbd *d)
{
	char line[1024];
	size_t len = 0;

	for (int i = 0; i < CTR_COUNT; i++) {
		int k;

		if (!d->ctr.v[i])
			continue;
		k = snprintf(line + len, sizeof(line) - len, " %s=%" PRIu64,
			     counter_name(i), d->ctr.v[i]);
		if (len && (k < 0 || (size_t)k >= sizeof(line) - len)) {
			hb_log_info("counters:%s", line);
			len = 0;
			i--;
			continue;
		}
		len = k < 0 ? len : len + (size_t)k;
		if (len >= sizeof(line))
			len = sizeof(line) - 1;
	}
	hb_log_info("counters: hosts=%zu%s", hosts_count(d->hosts),
		    len ? line : "");
}

static void counters_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	put_counters(w->data);
}

static void prune_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct hbd *d = w->data;

	store_prune(d->store, hb_unix_ms());
}

/* ---- signals and reload ---- */

/* Keys that need a restart to change; a reload warns about them. */
static void warn_static_changes(const struct hbd_conf *o,
				const struct hbd_conf *n)
{
	bool listen_same = o->listen.n == n->listen.n;
	const char *changed[8];
	size_t k = 0;

	for (size_t i = 0; listen_same && i < o->listen.n; i++)
		listen_same = strcmp(o->listen.v[i], n->listen.v[i]) == 0;
	if (!listen_same || o->port != n->port)
		changed[k++] = "listen/port";
	if (strcmp(o->database, n->database) != 0)
		changed[k++] = "database";
	if (o->receive_buffer != n->receive_buffer)
		changed[k++] = "receive_buffer";
	if (o->retention_ms != n->retention_ms)
		changed[k++] = "retention";
	if (memcmp(&o->reassembly, &n->reassembly, sizeof(o->reassembly)))
		changed[k++] = "reassembly";
	if (o->store.backlog != n->store.backlog ||
	    o->store.batch_ms != n->store.batch_ms ||
	    o->store.busy_timeout_ms != n->store.busy_timeout_ms ||
	    o->store.flush_ms != n->store.flush_ms)
		changed[k++] = "store (but slow_lag, slow_interval)";
	if ((o->user || n->user) &&
	    (!o->user || !n->user || strcmp(o->user, n->user)))
		changed[k++] = "user";
	if (strcmp(o->pid_file, n->pid_file) != 0)
		changed[k++] = "pid_file";
	for (size_t i = 0; i < k; i++)
		hb_log_warn("reload: %s changed: takes effect on restart; "
			    "the running value stays", changed[i]);
}

#define SWAP(a, b)                                                        \
	do {                                                              \
		__typeof__(a) t_ = (a);                                   \
		(a) = (b);                                                \
		(b) = t_;                                                 \
	} while (0)

/*
 * The keys only a restart changes keep their running values in the new
 * configuration (swapped, so freeing the old one frees the new values):
 * the pid file removed at exit is the one written, and every reload
 * while the file differs from what runs warns again.
 */
static void keep_static(struct hbd_conf *o, struct hbd_conf *n)
{
	SWAP(o->listen, n->listen);
	SWAP(o->port, n->port);
	SWAP(o->database, n->database);
	SWAP(o->receive_buffer, n->receive_buffer);
	SWAP(o->retention_ms, n->retention_ms);
	SWAP(o->reassembly, n->reassembly);
	SWAP(o->store.backlog, n->store.backlog);
	SWAP(o->store.batch_ms, n->store.batch_ms);
	SWAP(o->store.busy_timeout_ms, n->store.busy_timeout_ms);
	SWAP(o->store.flush_ms, n->store.flush_ms);
	SWAP(o->user, n->user);
	SWAP(o->pid_file, n->pid_file);
}

/* SIGHUP: validate everything new first; on any error keep the old. */
static void reload(struct hbd *d)
{
	struct hb_conf_errors errs = {0};
	struct hbd_conf nc = {0};
	struct hb_keyring *keys;
	struct hooks_opts ho;
	struct state_opts so;
	const char *problem;

	if (hbd_conf_load(d->conf_path, &nc, &errs, &problem) < 0) {
		for (size_t i = 0; i < errs.count; i++)
			hb_log_err("reload: %s", errs.v[i].text);
		if (problem)
			hb_log_err("reload: %s", problem);
		hb_log_err("reload failed: keeping the running configuration");
		hb_conf_errors_free(&errs);
		return;
	}
	if (!(keys = load_keys(&nc)) || hooks_opts_of(&nc, &ho) < 0) {
		hb_log_err("reload failed: keeping the running configuration");
		hb_keyring_free(keys);
		hbd_conf_free(&nc);
		return;
	}
	if (hooks_reconfigure(d->hooks, &ho) < 0) {
		hb_log_err("reload: hooks refused: keeping the running "
			   "configuration");
		free((void *)ho.defs);
		hb_keyring_free(keys);
		hbd_conf_free(&nc);
		return;
	}
	free((void *)ho.defs);
	warn_static_changes(&d->conf, &nc);
	keep_static(&d->conf, &nc);
	hb_keyring_free(d->keys);
	d->keys = keys;
	d->in.keys = keys;
	ingest_opts_of(&nc, &d->in.opts);
	state_opts_of(&nc, &so);
	state_set_opts(&d->sm, &so);
	hb_log_conf_apply(&nc.log);
	hbd_conf_free(&d->conf);
	d->conf = nc;
	hb_log_info("reloaded %s: %zu keys", d->conf_path,
		    hb_keyring_count(keys));
}

static void signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct hbd *d = w->data;

	switch (w->signum) {
	case SIGHUP:
		reload(d);
		break;
	case SIGUSR1:
		log_counters(d);
		break;
	default:
		hb_log_info("signal %d: shutting down", w->signum);
		ev_break(loop, EVBREAK_ALL);
	}
}

/* ---- start-up ---- */

/*
 * The epoch of our ACKs must grow across restarts, or a restart within
 * the same second would reuse AEAD nonces: keep the last one next to the
 * database and take max(now, last + 1).
 */
static int next_server_epoch(const char *db, uint32_t *epoch)
{
	char path[4096], tmp[4100];
	uint32_t last = 0, now = (uint32_t)(hb_unix_ms() / 1000);
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "%s.epoch", db);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((f = fopen(path, "re"))) {
		if (fscanf(f, "%" SCNu32, &last) != 1)
			last = 0;
		fclose(f);
	}
	*epoch = now > last ? now : last + 1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || dprintf(fd, "%" PRIu32 "\n", *epoch) < 0 || fsync(fd) ||
	    close(fd) || rename(tmp, path)) {
		hb_log_err("%s: %s", path, strerror(errno));
		return HB_EIO;
	}
	return 0;
}

static void loaded_host_cb(void *ctx, const struct store_loaded_host *lh)
{
	struct hbd *d = ctx;
	struct host *h;
	uint32_t idx;

	if (hosts_add(d->hosts, lh->uuid, lh->rowid, &idx) < 0) {
		hb_log_warn("host row %" PRId64 " not loaded", lh->rowid);
		return;
	}
	h = hosts_at(d->hosts, idx);
	hosts_set_attrs(h, lh->hostname, strlen(lh->hostname), lh->owner,
			strlen(lh->owner), lh->version, strlen(lh->version),
			lh->labels_json);
	h->interval_ms = lh->interval_s * 1000;
	h->state = (uint8_t)lh->state;
	h->state_since_unix = lh->state_since_ms;
	h->first_seen_unix = lh->first_seen_ms;
	h->last_seen_unix = lh->last_seen_ms;
	h->status = (uint8_t)lh->status;
	hosts_set_status_msg(h, lh->status_msg, strlen(lh->status_msg),
			     lh->boot_id);
	/* What tells a reboot or restart that happened while hbd was down,
	 * and the counts the row keeps adding to. */
	h->boot_hash = lh->boot_id ? host_boot_hash(lh->boot_id) : 0;
	h->boot_start = lh->boot_start;
	h->received = lh->received;
	h->lost = lh->lost;
	h->skew_ms = lh->skew_ms;
	h->htb_epoch = lh->epoch;
	h->flags |= HOST_STORED;
	/* Older epochs stay refused; within it, only newer sequences. */
	h->replay.epoch = lh->epoch;
	h->replay.top = lh->seq;
	h->replay.seen = lh->epoch ? ~(uint64_t)0 : 0;
	h->next_seq = lh->seq + 1;
}

static void loaded_info_cb(void *ctx, const struct store_loaded_info *li)
{
	struct hbd *d = ctx;
	struct host *h = li->rowid > 0 && li->rowid <= HOST_NONE
				 ? hosts_used(d->hosts, (uint32_t)(li->rowid - 1))
				 : NULL;

	if (h)
		hosts_set_info(h, li->plugin, strlen(li->plugin), li->digest);
}

static int open_store(struct hbd *d)
{
	struct store_opts so = {
		.path = d->conf.database,
		.backlog_bytes = d->conf.store.backlog,
		.batch_ms = (uint32_t)d->conf.store.batch_ms,
		.retention_ms = d->conf.retention_ms,
		.busy_timeout_ms = (uint32_t)d->conf.store.busy_timeout_ms,
	};
	char err[512];
	uint64_t now = hb_mono_ms();

	if (store_open(&so, &d->store, err, sizeof(err)) < 0) {
		hb_log_err("database %s: %s", d->conf.database, err);
		return 1;
	}
	if (store_load(d->store, loaded_host_cb, loaded_info_cb, d) < 0) {
		hb_log_err("database %s: cannot load hosts", d->conf.database);
		return 1;
	}
	/* Restored hosts get a full down period to speak again. */
	for (uint32_t i = 0; i < hosts_end(d->hosts); i++)
		if (hosts_used(d->hosts, i))
			state_restore(&d->sm, i, now);
	hb_log_info("database %s: %zu hosts loaded", d->conf.database,
		    hosts_count(d->hosts));
	return 0;
}

/* Hands the database files to the user hbd will run as. */
static void chown_db(const char *db, uid_t uid, gid_t gid)
{
	static const char *const suffixes[] = {"", "-wal", "-shm", ".epoch"};
	char path[4096];

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(*suffixes); i++) {
		snprintf(path, sizeof(path), "%s%s", db, suffixes[i]);
		if (chown(path, uid, gid) < 0 && errno != ENOENT)
			hb_log_warn("chown %s: %s", path, strerror(errno));
	}
}

/* After binding and opening the database: drop groups, gid, uid; verify. */
static int drop_privileges(const struct hbd_conf *c)
{
	struct passwd *pw;
	uid_t r, e, s;

	if (geteuid() != 0)
		return 0;
	if (!c->user) {
		hb_log_warn("running as root: set `user` to drop privileges");
		return 0;
	}
	if (!(pw = getpwnam(c->user))) {
		hb_log_err("user %s: no such user", c->user);
		return 1;
	}
	chown_db(c->database, pw->pw_uid, pw->pw_gid);
	if (setgroups(1, &pw->pw_gid) < 0 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0 ||
	    getresuid(&r, &e, &s) < 0 || r != pw->pw_uid ||
	    e != pw->pw_uid || s != pw->pw_uid || setuid(0) == 0) {
		hb_log_err("cannot drop privileges to %s", c->user);
		return 1;
	}
	hb_log_info("running as %s", c->user);
	return 0;
}

/*
 * The pid file's directory is created when missing (as /run/hb), and
 * handed to `user`: hbd must be able to remove the file after dropping
 * privileges. A directory that exists is left as it is.
 */
static int write_pid(struct hbd *d)
{
	char *dir = strdup(d->conf.pid_file), *slash;
	struct passwd *pw;
	FILE *f;

	if (dir && (slash = strrchr(dir, '/')) && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) == 0 && geteuid() == 0 && d->conf.user &&
		    (pw = getpwnam(d->conf.user)) &&
		    chown(dir, pw->pw_uid, pw->pw_gid) < 0)
			hb_log_warn("chown %s: %s", dir, strerror(errno));
	}
	free(dir);
	f = fopen(d->conf.pid_file, "we");
	if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f)) {
		hb_log_err("pid file %s: %s", d->conf.pid_file, strerror(errno));
		return 1;
	}
	d->pid_written = true;
	return 0;
}

static int bind_all(struct hbd *d)
{
	char err[256];

	if (!(d->net = net_new(&d->ctr)))
		return 1;
	for (size_t i = 0; i < d->conf.listen.n; i++) {
		/* Port 0: the first socket's free port serves them all. */
		uint16_t port = d->conf.port ? (uint16_t)d->conf.port
					     : net_port(d->net);

		if (net_listen(d->net, d->conf.listen.v[i], port,
			       (uint32_t)d->conf.receive_buffer, err,
			       sizeof(err)) < 0) {
			hb_log_err("%s", err);
			return 1;
		}
		hb_log_info("listening on %s port %u", d->conf.listen.v[i],
			    net_port(d->net));
	}
	return 0;
}

static void timer(struct hbd *d, ev_timer *w, void (*cb)(struct ev_loop *,
		  ev_timer *, int), double first, double every)
{
	ev_timer_init(w, cb, first, every);
	w->data = d;
	ev_timer_start(d->loop, w);
}

static void sig(struct hbd *d, ev_signal *w, int signum)
{
	ev_signal_init(w, signal_cb, signum);
	w->data = d;
	ev_signal_start(d->loop, w);
}

static void datagram_cb(void *ctx, uint8_t *buf, size_t len,
			const struct sockaddr_in6 *from, uint8_t *reply,
			size_t cap, size_t *reply_len)
{
	struct hbd *d = ctx;

	ingest_datagram(&d->in, buf, len, from, hb_mono_ms(), hb_unix_ms(),
			reply, cap, reply_len);
}

/* The parts the event loop drives, once everything else is up. */
static int build_runtime(struct hbd *d)
{
	struct hb_reasm_limits rl = {
		.max_message = d->conf.reassembly.max_message,
		.mem_cap = d->conf.reassembly.memory,
		.timeout_ms = (uint32_t)d->conf.reassembly.timeout_ms,
		.max_per_sender = (uint32_t)d->conf.reassembly.per_host,
	};
	struct ingest_opts io;
	struct hooks_opts ho;

	if (!(d->reasm = hb_reasm_new(&rl)) || hooks_opts_of(&d->conf, &ho) < 0)
		return 1;
	d->hooks = hooks_new(d->loop, &ho);
	free((void *)ho.defs);
	d->dirty = malloc(FLUSH_CHUNK * sizeof(*d->dirty));
	d->seen = malloc(FLUSH_CHUNK * sizeof(*d->seen));
	if (!d->hooks || !d->dirty || !d->seen)
		return 1;
	ingest_opts_of(&d->conf, &io);
	d->log_transitions = (struct hb_log_burst){
		.mod = HB_MOD_CORE,
		.what = "state changes",
		.per_s = HBD_HOST_LINES_PER_S,
	};
	ingest_init(&d->in, d->hosts, &d->sm, d->keys, d->reasm, d->store,
		    &d->ctr, &io, d->server_epoch);
	return 0;
}

static void start_watchers(struct hbd *d)
{
	double flush = d->conf.store.flush_ms / 1000.0;

	net_start(d->net, d->loop, datagram_cb, d);
	timer(d, &d->w.tick, tick_cb, TICK_S, TICK_S);
	timer(d, &d->w.flush, flush_cb, flush, flush);
	timer(d, &d->w.counters, counters_cb, COUNTERS_S, COUNTERS_S);
	timer(d, &d->w.prune, prune_cb, 60.0, PRUNE_S);
	sig(d, &d->w.term, SIGTERM);
	sig(d, &d->w.intr, SIGINT);
	sig(d, &d->w.hup, SIGHUP);
	sig(d, &d->w.usr1, SIGUSR1);
}

int hbd_start(struct hbd *d)
{
	struct state_opts so;
	int ready = -1, rc;

	hb_log_conf_apply(&d->conf.log);
	signal(SIGPIPE, SIG_IGN);
	if (!(d->keys = load_keys(&d->conf)) || bind_all(d))
		return 1;
	if (!d->foreground && hb_daemonize(&ready) < 0)
		return 1;
	if (!(d->loop = ev_default_loop(EVFLAG_AUTO)) ||
	    !(d->hosts = hosts_new()))
		return 1;
	state_opts_of(&d->conf, &so);
	state_init(&d->sm, d->hosts, &so, hb_mono_ms(), on_transition, d);
	rc = next_server_epoch(d->conf.database, &d->server_epoch) < 0;
	if (rc == 0)
		rc = open_store(d);
	/* The pid file usually lives where only root may write. */
	if (rc == 0 && !d->foreground)
		rc = write_pid(d);
	if (rc == 0)
		rc = drop_privileges(&d->conf);
	if (rc == 0)
		rc = build_runtime(d);
	if (rc == 0) {
		start_watchers(d);
		hb_log_info("hbd %s started: %s mode, %zu keys, epoch %" PRIu32,
			    HB_PACKAGE_VERSION,
			    hb_mode_name((uint8_t)d->conf.security),
			    hb_keyring_count(d->keys), d->server_epoch);
	}
	hb_daemon_ready(ready, rc);
	return rc;
}

int hbd_run(struct hbd *d)
{
	ev_run(d->loop, 0);
	return 0;
}

void hbd_stop(struct hbd *d)
{
	if (d->net)
		net_stop(d->net);
	hb_log_burst_flush(&d->log_transitions, hb_mono_ms(), true);
	hb_log_burst_flush(&d->in.log_events, hb_mono_ms(), true);
	if (d->store) {
		flush_seen(d);
		put_counters(d);
		log_counters(d);
		store_close(d->store, CLOSE_TIMEOUT_MS);
	}
	hooks_free(d->hooks);
	ingest_cleanup(&d->in);
	hb_reasm_free(d->reasm);
	hosts_free(d->hosts);
	net_free(d->net);
	hb_keyring_free(d->keys);
	free(d->dirty);
	free(d->seen);
	if (d->pid_written && unlink(d->conf.pid_file) < 0)
		hb_log_warn("pid file %s not removed: %s (its directory must "
			    "be writable by `user`)", d->conf.pid_file,
			    strerror(errno));
	hbd_conf_free(&d->conf);
	if (d->loop)
		ev_loop_destroy(d->loop);
	hb_log_info("stopped");
}
