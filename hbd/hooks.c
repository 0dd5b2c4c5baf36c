/*
 * hooks: runs operators' commands when a host changes state (hooks.h).
 *
 * A run is spawned with posix_spawn(), which in glibc is a vfork-like
 * clone: cheap even when hbd is large, safe with the store's writer
 * thread, and it reports an exec failure to us synchronously instead of
 * through an exit status. The child gets an empty signal mask, default
 * dispositions, its own session (so a timeout kill of the group reaches
 * whatever the hook started), /dev/null on stdin, our pipe on stdout and
 * stderr, no other descriptors and an environment built from scratch.
 *
 * Reaping: libev's default loop reaps every child itself (waitpid(-1) on
 * SIGCHLD), so there an ev_child watcher is the only way to learn a
 * status; ev_child works on no other loop. On another loop we watch a
 * pidfd and reap with waitpid(WNOHANG) — which only works if no default
 * loop in the process steals the status, in which case the run is
 * counted failed with its status lost.
 *
 * Limits: at most max_running children; further runs wait in a FIFO of
 * max_queued; a token bucket (rate, burst) gates every run requested.
 * Drops are counted and summarised in at most one warning per 10 s.
 * rate <= 0 disables the rate limit; max_running 0 and burst 0 count as
 * 1; timeout_ms 0 means no timeout.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pipe2, posix_spawn extensions, sigabbrev_np */
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ev.h>

#include "hb_error.h"
#include "hb_time.h"
#include "hb_spawn.h"
#include "hooks.h"
#include "store.h"

#define HB_LOG_MODULE HB_MOD_HOOKS
#include "hb_log.h"

#define OUT_KEEP 4096      /* bytes of a run's output kept for the log */
#define OUT_READS 16       /* reads per wakeup: a chatty hook can't hog us */
#define OUT_LOG_LINES 8    /* lines of output logged per run */
#define OUT_LINE_MAX 200   /* bytes logged per line */
#define GRACE_S 1.0        /* between SIGTERM and SIGKILL */
#define DROP_LOG_S 10.0    /* at most one drop warning per this */
#define POLL_S 0.1         /* reap polling when no pidfd can be had */

/* A run waiting for a slot: the def to run and its ready environment. */
struct req {
	struct req *next;
	size_t def;
	int to;
	char *envp[]; /* NULL-terminated; the strings follow in this block */
};

/* A running child. */
struct run {
	struct run *next;
	struct hooks *h;
	pid_t pid;
	int outfd, pidfd; /* -1 when closed or not used */
	bool timed_out;
	uint32_t timeout_ms;
	uint64_t start_ms;
	ev_child cw;   /* default loop */
	ev_io pidw;    /* other loops: the pidfd */
	ev_timer pollw; /* other loops without a pidfd */
	ev_io outw;
	ev_timer tw;   /* timeout, then the grace before SIGKILL */
	size_t out_len;
	uint64_t out_extra; /* bytes read beyond OUT_KEEP */
	char out[OUT_KEEP];
	char path[]; /* argv[0], for the log */
};

struct hooks {
	struct ev_loop *loop;
	bool default_loop;
	struct hook_def *defs;
	size_t n_defs;
	uint32_t max_running, max_queued, burst;
	double rate, tokens;
	uint64_t refill_ms;
	struct run *running;
	struct req *qhead, **qtail;
	struct hooks_stats st;
	ev_timer droplog;
	uint64_t win_rate, win_full; /* drops not yet logged */
};

static void free_defs(struct hook_def *defs, size_t n)
{
	if (!defs)
		return;
	for (size_t i = 0; i < n; i++) {
		for (char **a = defs[i].argv; a && *a; a++)
			free(*a);
		free(defs[i].argv);
	}
	free(defs);
}

static int copy_argv(char **src, char ***dst)
{
	size_t n = 0;

	while (src[n])
		n++;
	/* calloc: a failure leaves NULLs that free_defs() stops at. */
	*dst = calloc(n + 1, sizeof(char *));
	if (!*dst)
		return HB_ENOMEM;
	for (size_t k = 0; k < n; k++)
		if (!((*dst)[k] = strdup(src[k])))
			return HB_ENOMEM;
	return 0;
}

static int copy_defs(const struct hooks_opts *o, struct hook_def **out)
{
	struct hook_def *defs;
	int rc = 0;

	if (o->n_defs && !o->defs)
		return HB_EINVAL;
	defs = calloc(o->n_defs ? o->n_defs : 1, sizeof(*defs));
	if (!defs)
		return HB_ENOMEM;
	for (size_t i = 0; i < o->n_defs && !rc; i++) {
		const struct hook_def *s = &o->defs[i];

		if (!s->argv || !s->argv[0] || s->argv[0][0] != '/') {
			hb_log_err("hook %zu: argv[0] must be an absolute path",
				   i);
			rc = HB_EINVAL;
			break;
		}
		defs[i] = *s;
		rc = copy_argv(s->argv, &defs[i].argv);
	}
	if (rc) {
		free_defs(defs, o->n_defs);
		return rc;
	}
	*out = defs;
	return 0;
}

static void set_limits(struct hooks *h, const struct hooks_opts *o)
{
	h->max_running = o->max_running ? o->max_running : 1;
	h->max_queued = o->max_queued;
	h->rate = o->rate;
	h->burst = o->burst ? o->burst : 1;
	if (h->tokens > h->burst)
		h->tokens = h->burst;
}

/* Token bucket: refilled at rate per second up to burst. */
static bool take_token(struct hooks *h)
{
	uint64_t now = hb_mono_ms();

	if (!(h->rate > 0))
		return true;
	h->tokens += (double)(now - h->refill_ms) * h->rate / 1000.0;
	if (h->tokens > h->burst)
		h->tokens = h->burst;
	h->refill_ms = now;
	if (h->tokens < 1.0)
		return false;
	h->tokens -= 1.0;
	return true;
}

static void log_drops(struct hooks *h)
{
	hb_log_warn("hook runs dropped: %" PRIu64 " over the rate limit, "
		    "%" PRIu64 " with the queue full (one line per %.0f s)",
		    h->win_rate, h->win_full, DROP_LOG_S);
	h->win_rate = h->win_full = 0;
}

/* Ends a quiet window, or summarises the drops it saw and opens another. */
static void droplog_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct hooks *h = w->data;

	if (h->win_rate + h->win_full)
		log_drops(h);
	else
		ev_timer_stop(loop, w);
}

static void dropped(struct hooks *h, bool rate)
{
	if (rate) {
		h->st.rate_limited++;
		h->win_rate++;
	} else {
		h->st.queue_full++;
		h->win_full++;
	}
	if (!ev_is_active(&h->droplog)) {
		log_drops(h);
		ev_timer_again(h->loop, &h->droplog);
	}
}

/* Builds a request whose envp is the hook's whole environment. */
static struct req *make_req(const struct hook_event *ev, size_t def)
{
	char t_s[24], t_ms[24];
	const char *env[][2] = {
		{"HB_EVENT", "state"},
		{"HB_HOST_UUID", ev->host_uuid},
		{"HB_HOSTNAME", ev->hostname},
		{"HB_ADDRESS", ev->address},
		{"HB_OWNER", ev->owner},
		{"HB_LABELS", ev->labels_json ? ev->labels_json : "{}"},
		{"HB_STATE", hbd_state_name(ev->to)},
		{"HB_PREV_STATE", hbd_state_name(ev->from)},
		{"HB_TIME", t_s},
		{"HB_TIME_MS", t_ms},
		{"HB_REASON", ev->reason},
		{"PATH", "/usr/local/bin:/usr/bin:/bin"},
		{"LANG", "C"},
	};
	size_t n = sizeof(env) / sizeof(env[0]), size = 0;
	struct req *q;
	char *p;

	snprintf(t_s, sizeof(t_s), "%" PRIu64, ev->time_ms / 1000);
	snprintf(t_ms, sizeof(t_ms), "%" PRIu64, ev->time_ms);
	for (size_t i = 0; i < n; i++) {
		if (!env[i][1])
			env[i][1] = "";
		size += strlen(env[i][0]) + strlen(env[i][1]) + 2;
	}
	q = malloc(sizeof(*q) + (n + 1) * sizeof(char *) + size);
	if (!q)
		return NULL;
	q->next = NULL;
	q->def = def;
	q->to = ev->to;
	p = (char *)&q->envp[n + 1];
	for (size_t i = 0; i < n; i++) {
		q->envp[i] = p;
		p = stpcpy(stpcpy(stpcpy(p, env[i][0]), "="), env[i][1]) + 1;
	}
	q->envp[n] = NULL;
	return q;
}

/* Reads what the pipe holds, keeping the first OUT_KEEP bytes. */
static void drain(struct run *r)
{
	char scratch[4096];

	for (int i = 0; i < OUT_READS && r->outfd >= 0; i++) {
		bool keep = r->out_len < OUT_KEEP;
		ssize_t n = read(r->outfd, keep ? r->out + r->out_len : scratch,
				 keep ? OUT_KEEP - r->out_len : sizeof(scratch));

		if (n > 0 && keep)
			r->out_len += (size_t)n;
		else if (n > 0)
			r->out_extra += (uint64_t)n;
		else if (n < 0 && errno == EINTR)
			continue;
		else if (n < 0 && errno == EAGAIN)
			return;
		else { /* EOF or error: nothing more will come */
			ev_io_stop(r->h->loop, &r->outw);
			close(r->outfd);
			r->outfd = -1;
		}
	}
}

static void out_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	drain(w->data);
}

static void log_output(const struct run *r)
{
	const char *p = r->out, *end = r->out + r->out_len;
	char line[OUT_LINE_MAX + 1];
	int lines = 0;

	while (p < end && lines < OUT_LOG_LINES) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl ? nl : end) - p);
		size_t n = len < OUT_LINE_MAX ? len : OUT_LINE_MAX;

		/* Control bytes could forge log lines or upset terminals. */
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)p[i];

			line[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
		}
		line[n] = '\0';
		if (len) {
			hb_log_info("hook %s: | %s%s", r->path, line,
				    len > n ? "..." : "");
			lines++;
		}
		p += len + (nl != NULL);
	}
	if (p < end || r->out_extra)
		hb_log_info("hook %s: (%" PRIu64 " more bytes of output)",
			    r->path, (uint64_t)(end - p) + r->out_extra);
}

static void report(struct run *r, int status)
{
	struct hooks_stats *st = &r->h->st;
	uint64_t ms = hb_mono_ms() - r->start_ms;

	if (r->timed_out) {
		st->timed_out++;
		hb_log_warn("hook %s: killed after its %" PRIu32 " ms timeout",
			    r->path, r->timeout_ms);
	} else if (status < 0) {
		st->failed++;
		hb_log_warn("hook %s: exit status lost (reaped elsewhere)",
			    r->path);
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		st->succeeded++;
		hb_log_info("hook %s: done in %" PRIu64 " ms", r->path, ms);
	} else if (WIFEXITED(status)) {
		st->failed++;
		hb_log_warn("hook %s: exited with status %d after %" PRIu64
			    " ms", r->path, WEXITSTATUS(status), ms);
	} else {
		st->failed++;
		hb_log_warn("hook %s: killed by signal %d (SIG%s)", r->path,
			    WTERMSIG(status), sigabbrev_np(WTERMSIG(status)));
	}
}

/* Stops a run's watchers and closes its descriptors. */
static void unwatch(struct run *r)
{
	struct ev_loop *loop = r->h->loop;

	ev_child_stop(loop, &r->cw);
	ev_io_stop(loop, &r->pidw);
	ev_timer_stop(loop, &r->pollw);
	ev_io_stop(loop, &r->outw);
	ev_timer_stop(loop, &r->tw);
	if (r->pidfd >= 0)
		close(r->pidfd);
	if (r->outfd >= 0)
		close(r->outfd);
	r->pidfd = r->outfd = -1;
}

static void unlink_run(struct run *r)
{
	struct run **pp = &r->h->running;

	while (*pp != r)
		pp = &(*pp)->next;
	*pp = r->next;
	r->h->st.running--;
}

static void pump(struct hooks *h);

/* The child is gone (status -1: reaped by someone else). */
static void finish(struct run *r, int status)
{
	struct hooks *h = r->h;

	/* What the child wrote before exiting is in the pipe already. */
	drain(r);
	unwatch(r);
	/* A timed-out hook's leftovers don't get a second chance. */
	if (r->timed_out)
		kill(-r->pid, SIGKILL);
	log_output(r);
	report(r, status);
	unlink_run(r);
	free(r);
	pump(h);
}

static void child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	finish(w->data, w->rstatus);
}

static void try_reap(struct run *r)
{
	int status;
	pid_t pid;

	do
		pid = waitpid(r->pid, &status, WNOHANG);
	while (pid < 0 && errno == EINTR);
	if (pid == r->pid)
		finish(r, status);
	else if (pid < 0)
		finish(r, -1);
}

static void pidfd_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	try_reap(w->data);
}

static void poll_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	try_reap(w->data);
}

static void timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct run *r = w->data;

	/* The child called setsid() before posix_spawn() returned. */
	if (!r->timed_out) {
		r->timed_out = true;
		hb_log_warn("hook %s: timed out after %" PRIu32
			    " ms, sending SIGTERM", r->path, r->timeout_ms);
		kill(-r->pid, SIGTERM);
		ev_timer_set(w, GRACE_S, 0.);
		ev_timer_start(loop, w);
	} else {
		hb_log_warn("hook %s: alive %.0f s after SIGTERM, sending "
			    "SIGKILL", r->path, GRACE_S);
		kill(-r->pid, SIGKILL);
	}
}

/* Spawns argv with envp, its output on a pipe; returns 0 or an errno. */
static int spawn(struct run *r, char *const *argv, char *const *envp)
{
	int pfd[2], err;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return errno;
	/* Only our end is non-blocking: the hook writes as it likes. */
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	err = hb_spawn(&r->pid, argv, envp, pfd[1], pfd[1]);
	close(pfd[1]);
	if (err)
		close(pfd[0]);
	else
		r->outfd = pfd[0];
	return err;
}

/* Arms the watchers of a freshly spawned run. */
static void watch(struct hooks *h, struct run *r)
{
	ev_io_init(&r->outw, out_cb, r->outfd, EV_READ);
	ev_io_start(h->loop, &r->outw);
	if (h->default_loop) {
		ev_child_set(&r->cw, r->pid, 0);
		ev_child_start(h->loop, &r->cw);
	} else if ((r->pidfd = (int)syscall(SYS_pidfd_open, r->pid, 0)) >= 0) {
		ev_io_set(&r->pidw, r->pidfd, EV_READ);
		ev_io_start(h->loop, &r->pidw);
	} else {
		ev_timer_start(h->loop, &r->pollw);
	}
	if (r->timeout_ms) {
		/* From the spawn, not from when this loop iteration began. */
		ev_now_update(h->loop);
		ev_timer_set(&r->tw, r->timeout_ms / 1000.0, 0.);
		ev_timer_start(h->loop, &r->tw);
	}
}

static struct run *new_run(struct hooks *h, const struct hook_def *d)
{
	struct run *r = calloc(1, sizeof(*r) + strlen(d->argv[0]) + 1);

	if (!r)
		return NULL;
	strcpy(r->path, d->argv[0]);
	r->h = h;
	r->outfd = r->pidfd = -1;
	r->timeout_ms = d->timeout_ms;
	r->start_ms = hb_mono_ms();
	ev_init(&r->cw, child_cb);
	ev_init(&r->pidw, pidfd_cb);
	ev_timer_init(&r->pollw, poll_cb, POLL_S, POLL_S);
	ev_init(&r->outw, out_cb);
	ev_init(&r->tw, timeout_cb);
	r->cw.data = r->pidw.data = r->pollw.data = r->outw.data = r;
	r->tw.data = r;
	return r;
}

static void start(struct hooks *h, const struct req *q)
{
	const struct hook_def *d = &h->defs[q->def];
	struct run *r = new_run(h, d);
	int err = r ? spawn(r, d->argv, q->envp) : ENOMEM;

	h->st.started++;
	if (err) {
		/* Counted as a run that failed, as exit 127 would be. */
		h->st.failed++;
		hb_log_err("hook %s: exec failed: %s", d->argv[0],
			   strerror(err));
		free(r);
		return;
	}
	watch(h, r);
	r->next = h->running;
	h->running = r;
	h->st.running++;
}

/* Starts queued runs while there are free slots. */
static void pump(struct hooks *h)
{
	struct req *q;

	while ((q = h->qhead) && h->st.running < h->max_running) {
		h->qhead = q->next;
		if (!h->qhead)
			h->qtail = &h->qhead;
		h->st.queued--;
		start(h, q);
		free(q);
	}
}

struct hooks *hooks_new(struct ev_loop *loop, const struct hooks_opts *opts)
{
	struct hooks *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	if (copy_defs(opts, &h->defs)) {
		free(h);
		return NULL;
	}
	h->n_defs = opts->n_defs;
	h->loop = loop;
	h->default_loop = ev_is_default_loop(loop);
	h->qtail = &h->qhead;
	set_limits(h, opts);
	h->tokens = h->burst;
	h->refill_ms = hb_mono_ms();
	ev_timer_init(&h->droplog, droplog_cb, 0., DROP_LOG_S);
	h->droplog.data = h;
	return h;
}

static bool argv_equal(char **a, char **b)
{
	for (; *a && *b; a++, b++)
		if (strcmp(*a, *b) != 0)
			return false;
	return !*a && !*b;
}

/* Points q at the new def with its argv, if one still targets q->to. */
static bool remap(const struct hooks *h, const struct hook_def *defs,
		  size_t n, struct req *q)
{
	for (size_t i = 0; i < n; i++) {
		if (argv_equal(defs[i].argv, h->defs[q->def].argv) &&
		    (defs[i].targets & (1u << q->to))) {
			q->def = i;
			return true;
		}
	}
	return false;
}

int hooks_reconfigure(struct hooks *h, const struct hooks_opts *opts)
{
	struct hook_def *defs;
	struct req **pp = &h->qhead, *q;
	size_t gone = 0;
	int rc = copy_defs(opts, &defs);

	if (rc)
		return rc;
	/* Running children need nothing from the defs: only the queue. */
	while ((q = *pp)) {
		if (remap(h, defs, opts->n_defs, q)) {
			pp = &q->next;
			continue;
		}
		*pp = q->next;
		free(q);
		h->st.queued--;
		gone++;
	}
	h->qtail = pp;
	if (gone)
		hb_log_info("dropped %zu queued runs of removed hooks",
			    gone);
	free_defs(h->defs, h->n_defs);
	h->defs = defs;
	h->n_defs = opts->n_defs;
	set_limits(h, opts);
	pump(h);
	return 0;
}

/* Queues or starts one run of def i; false when it was dropped. */
static bool request(struct hooks *h, const struct hook_event *ev, size_t i)
{
	bool can_start = h->st.running < h->max_running;
	struct req *q;

	/* Room first: a run with nowhere to go spends no token. */
	if (!can_start && h->st.queued >= h->max_queued) {
		dropped(h, false);
		return false;
	}
	if (!take_token(h)) {
		dropped(h, true);
		return false;
	}
	if (!(q = make_req(ev, i))) {
		hb_log_err("hook %s: out of memory", h->defs[i].argv[0]);
		return false;
	}
	if (can_start) {
		start(h, q);
		free(q);
	} else {
		*h->qtail = q;
		h->qtail = &q->next;
		h->st.queued++;
	}
	return true;
}

int hooks_fire(struct hooks *h, const struct hook_event *ev)
{
	int n = 0;

	if (ev->to < 0 || ev->to >= 32)
		return 0;
	for (size_t i = 0; i < h->n_defs; i++)
		if ((h->defs[i].targets & (1u << ev->to)) && request(h, ev, i))
			n++;
	return n;
}

void hooks_get_stats(const struct hooks *h, struct hooks_stats *st)
{
	*st = h->st;
}

void hooks_free(struct hooks *h)
{
	struct run *r;
	struct req *q;

	if (!h)
		return;
	while ((r = h->running)) {
		h->running = r->next;
		unwatch(r);
		kill(-r->pid, SIGKILL);
		/* SIGKILL can't be caught: this wait is short. ECHILD if
		 * libev reaped it already. */
		while (waitpid(r->pid, NULL, 0) < 0 && errno == EINTR)
			;
		free(r);
	}
	while ((q = h->qhead)) {
		h->qhead = q->next;
		free(q);
	}
	if (h->win_rate + h->win_full)
		log_drops(h);
	ev_timer_stop(h->loop, &h->droplog);
	free_defs(h->defs, h->n_defs);
	free(h);
}
