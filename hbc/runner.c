/*
 * runner: collections off the event loop (runner.h).
 *
 * In-process plugins: one worker thread each, asleep on its condvar
 * until runner_collect() asks. The sample is put on the runner's queue
 * and an ev_async wakes the loop, which delivers it. A worker is shared
 * by the runner and its thread and freed by whichever lets go last: a
 * plugin removed while its collect() runs (or hangs) is left to its
 * thread, which, whenever collect() returns, drops the sample, unloads
 * the plugin (cleanup() runs there, like collect()) and frees itself.
 * The thread reads w->quit under its lock and queues under that same
 * lock, so once quit is set it never touches the runner again: the
 * runner may go away under a hung thread. For the same reason each
 * in-process plugin gets a copy of its section: hbc.yaml's document may
 * be freed (a reload) long before such a thread returns.
 *
 * Isolated plugins run in a child (runner_child.h), spawned as a fresh
 * exec of hbc: a fork of a threaded hbc could only use async-signal-safe
 * calls. Answers are read on the loop, non-blocking, one bounded frame
 * at a time. The child's end is seen three ways: EOF (we wait for the
 * exit status), a malformed frame, or its exit. Reaping as hbd/hooks.c
 * does: ev_child on libev's default loop (which reaps every child
 * itself), a pidfd elsewhere, polling without pidfds. A dead or killed
 * child is restarted after a backoff; while it is down its collections
 * are skipped.
 *
 * Blocking, bounded: runner_add() of an isolated plugin waits up to
 * LOAD_TIMEOUT_MS for the child's hello (it must return the loader's
 * verdict); runner_remove() waits up to GRACE_MS for an idle in-process
 * plugin's cleanup(); runner_free() up to GRACE_MS for all of them and
 * the children. Nothing else waits.
 *
 * Whatever delivers a sample does so last: the callback may remove the
 * plugin.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pthread_timedjoin_np, pthread_setname_np */
#endif
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "hb_conf.h"
#include "hb_error.h"
#include "hb_time.h"
#include "runner.h"
#include "runner_child.h"

#define HB_LOG_MODULE HB_MOD_PLUGIN
#include "hb_log.h"

#define TIMEOUT_DEFAULT_MS 10000 /* opts.timeout_ms 0 */
#define LOAD_TIMEOUT_MS	   10000 /* a child's init() and hello */
#define BACKOFF_MIN_MS	   1000
#define BACKOFF_MAX_MS	   60000
#define HEALTHY_MS	   60000 /* up this long: the backoff starts over */
#define GRACE_MS	   1000	 /* SIGTERM to SIGKILL; joining threads */
#define REAP_POLL_S	   0.1	 /* without pidfds */

struct plug;

struct worker {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t tid;
	int refs;	       /* the runner's and the thread's */
	bool want, quit, busy; /* busy: in collect() */
	struct plugin_host *host;
	struct hb_conf_doc *doc; /* the host's copy of its section */
	struct runner *r;	 /* not after quit */
	struct plug *p;
	struct plugin_sample res; /* queued: the loop's */
	struct worker *next;
	bool queued;
};

struct plug {
	struct runner *r;
	int id;
	char name[65];
	int kind;
	uint32_t interval, timeout_ms;
	uint64_t skipped, start_ms;
	bool inflight; /* a collection awaits its answer */
	bool stuck;    /* in-process: timed out, collect() not back */
	ev_timer tw;   /* collection timeout; a child's hello */
	struct worker *w;
	/* isolated */
	bool isolate, up, killed, removing;
	struct runner_proc c;
	int pidfd;
	uint32_t backoff_ms;
	uint64_t up_ms;
	ev_io rw, pw;
	ev_child cw;
	ev_timer pollw, restartw, termw;
	struct plug *next; /* on r->dying */
};

struct runner {
	struct ev_loop *loop;
	bool default_loop;
	runner_sample_cb cb;
	void *ctx;
	char *host_id, *hostname;
	struct plugin_host_info info;
	struct plug **v;
	int n;
	struct plug *dying; /* removed, child not reaped yet */
	pthread_mutex_t qmu;
	struct worker *qhead, *qtail;
	ev_async wake;
	uint32_t bo_min, bo_max;
};

__attribute__((format(printf, 4, 5))) static int
errf(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static void deliver(struct runner *r, int id, struct plugin_sample *s)
{
	r->cb(r->ctx, id, s);
	plugin_sample_free(s);
}

__attribute__((format(printf, 2, 3))) static void
deliver_unknown(struct plug *p, const char *fmt, ...)
{
	struct plugin_sample s = {.status = HB_PLUGIN_UNKNOWN};
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s.message, sizeof(s.message), fmt, ap);
	va_end(ap);
	s.time_ms = hb_unix_ms();
	deliver(p->r, p->id, &s);
}

static void start_timer(struct plug *p, uint32_t ms)
{
	/* From now, not from when this loop iteration began. */
	ev_now_update(p->r->loop);
	ev_timer_set(&p->tw, ms / 1000.0, 0.);
	ev_timer_start(p->r->loop, &p->tw);
}

/* --- in-process: the worker threads ------------------------------------ */

static void worker_put(struct worker *w)
{
	bool last;

	pthread_mutex_lock(&w->mu);
	last = --w->refs == 0;
	pthread_mutex_unlock(&w->mu);
	if (!last)
		return;
	plugin_sample_free(&w->res);
	hb_conf_doc_free(w->doc);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

/* Called with w->mu held: r is alive until quit is set under it. */
static void enqueue(struct worker *w)
{
	struct runner *r = w->r;

	pthread_mutex_lock(&r->qmu);
	w->next = NULL;
	if (r->qtail)
		r->qtail->next = w;
	else
		r->qhead = w;
	r->qtail = w;
	w->queued = true;
	pthread_mutex_unlock(&r->qmu);
	ev_async_send(r->loop, &r->wake);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct plugin_sample s;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->want && !w->quit)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->quit)
			break;
		w->want = false;
		w->busy = true;
		pthread_mutex_unlock(&w->mu);
		plugin_host_collect(w->host, &s);
		pthread_mutex_lock(&w->mu);
		w->busy = false;
		if (w->quit) {
			hb_log_info("plugin %s: collect() returned after its "
				    "removal; result dropped",
				    plugin_host_name(w->host));
			plugin_sample_free(&s);
			break;
		}
		w->res = s;
		enqueue(w);
	}
	pthread_mutex_unlock(&w->mu);
	plugin_host_unload(w->host);
	worker_put(w);
	return NULL;
}

static struct worker *dequeue(struct runner *r)
{
	struct worker *w;

	pthread_mutex_lock(&r->qmu);
	if ((w = r->qhead)) {
		r->qhead = w->next;
		if (!r->qhead)
			r->qtail = NULL;
		w->queued = false;
	}
	pthread_mutex_unlock(&r->qmu);
	return w;
}

/* One at a time: the callback may remove plugins still queued. */
static void wake_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	struct runner *r = a->data;
	struct worker *w;

	while ((w = dequeue(r))) {
		struct plug *p = w->p;
		struct plugin_sample s = w->res;

		memset(&w->res, 0, sizeof(w->res));
		if (p->stuck) {
			hb_log_info(
			    "plugin %s: collect() returned after %" PRIu64
			    " ms, past its timeout; result dropped",
			    p->name, hb_mono_ms() - p->start_ms);
			p->stuck = false;
			plugin_sample_free(&s);
			continue;
		}
		ev_timer_stop(loop, &p->tw);
		p->inflight = false;
		deliver(r, p->id, &s);
	}
}

static int start_worker(struct plug *p, struct plugin_host *host,
			struct hb_conf_doc *doc)
{
	static const int faults[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL,
				     SIGTRAP, SIGSYS, SIGABRT};
	struct worker *w = calloc(1, sizeof(*w));
	sigset_t all, old;
	char tname[16];
	int err;

	if (!w)
		return ENOMEM;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->refs = 2;
	w->host = host;
	w->doc = doc;
	w->r = p->r;
	w->p = p;
	/* Signals are the loop thread's business; faults stay deliverable
	 * (blocked, they would kill hbc before any handler saw them). */
	sigfillset(&all);
	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
		sigdelset(&all, faults[i]);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&w->tid, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		free(w);
		return err;
	}
	snprintf(tname, sizeof(tname), "plug-%.10s", p->name);
	pthread_setname_np(w->tid, tname);
	p->w = w;
	return 0;
}

/* Tells the thread to quit and drops whatever sample it queued. */
static void signal_quit(struct worker *w)
{
	struct runner *r = w->r;

	pthread_mutex_lock(&w->mu);
	w->quit = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_lock(&r->qmu);
	if (w->queued) {
		struct worker **pp = &r->qhead, *prev = NULL;

		while (*pp != w)
			prev = *pp, pp = &(*pp)->next;
		*pp = w->next;
		if (r->qtail == w)
			r->qtail = prev;
		w->queued = false;
	}
	pthread_mutex_unlock(&r->qmu);
	pthread_mutex_unlock(&w->mu);
}

/*
 * Joins a quitting thread (it runs cleanup()) until deadline; one in
 * collect() is not waited for: it finishes on its own.
 */
static void join_worker(struct plug *p, const struct timespec *deadline)
{
	struct worker *w = p->w;
	bool busy;

	pthread_mutex_lock(&w->mu);
	busy = w->busy;
	pthread_mutex_unlock(&w->mu);
	if (busy) {
		hb_log_warn("plugin %s: collect() still running; its thread "
			    "is left to unload the plugin when it returns",
			    p->name);
		pthread_detach(w->tid);
	} else if (pthread_timedjoin_np(w->tid, NULL, deadline)) {
		hb_log_warn("plugin %s: cleanup() still running after %d ms;"
			    " its thread is left to finish",
			    p->name, GRACE_MS);
		pthread_detach(w->tid);
	}
	worker_put(w);
	p->w = NULL;
}

static void grace_deadline(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += GRACE_MS / 1000;
	ts->tv_nsec += (long)(GRACE_MS % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

/* --- isolated: the child's life ----------------------------------------- */

/* Never kill(0): that would be our own process group. */
static void signal_child(struct plug *p, int sig)
{
	if (p->c.pid > 0)
		kill(p->c.pid, sig);
}

static void close_fd(struct plug *p)
{
	ev_io_stop(p->r->loop, &p->rw);
	if (p->c.fd >= 0)
		close(p->c.fd);
	p->c.fd = -1;
}

/* Kills the child for good; its exit is reaped as usual. */
static void kill_child(struct plug *p)
{
	p->killed = true;
	p->up = false;
	ev_io_stop(p->r->loop, &p->rw);
	ev_timer_stop(p->r->loop, &p->tw);
	signal_child(p, SIGKILL);
}

static void timeout_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct plug *p = t->data;

	if (p->isolate && !p->up) {
		hb_log_warn("plugin %s: process not ready after %d ms; killed",
			    p->name, LOAD_TIMEOUT_MS);
		kill_child(p);
		return;
	}
	hb_log_warn("plugin %s: collect() timed out after %" PRIu32 " ms%s",
		    p->name, p->timeout_ms,
		    p->isolate ? "; process killed"
			       : "; skipping it until it returns");
	p->inflight = false;
	if (p->isolate)
		kill_child(p);
	else
		p->stuck = true;
	deliver_unknown(p, "timeout after %" PRIu32 " ms", p->timeout_ms);
}

static void fail_child(struct plug *p, const char *why)
{
	bool inflight = p->inflight;

	hb_log_warn("plugin %s: %s; process killed", p->name, why);
	p->inflight = false;
	ev_timer_stop(p->r->loop, &p->tw);
	kill_child(p);
	if (inflight)
		deliver_unknown(p, "%s", why);
}

/* A restarted child's hello: it must be the plugin we registered. */
static void on_hello(struct plug *p, const struct runner_msg *m)
{
	if (m->type == RUNNER_LOADERR) {
		fail_child(p, m->err);
		return;
	}
	if (strcmp(m->name, p->name) || m->kind != p->kind) {
		fail_child(p, "restarted plugin has another name or kind");
		return;
	}
	ev_timer_stop(p->r->loop, &p->tw);
	p->up = true;
	p->up_ms = hb_mono_ms();
	hb_log_info("plugin %s: process %d ready", p->name, (int)p->c.pid);
}

static void read_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct plug *p = io->data;
	struct runner_msg m;
	int rc = runner_rx(&p->c, &m);

	if (rc == RUNNER_RX_MORE)
		return;
	if (rc == RUNNER_RX_EOF) {
		/* Its exit status tells more; make sure it comes. */
		close_fd(p);
		signal_child(p, SIGKILL);
	} else if (rc == RUNNER_RX_FRAME && !p->up && m.type != RUNNER_SAMPLE) {
		on_hello(p, &m);
	} else if (rc == RUNNER_RX_FRAME && p->up && m.type == RUNNER_SAMPLE &&
		   p->inflight) {
		ev_timer_stop(loop, &p->tw);
		p->inflight = false;
		deliver(p->r, p->id, &m.s);
	} else {
		if (rc == RUNNER_RX_FRAME)
			plugin_sample_free(&m.s);
		fail_child(p, "plugin process sent a malformed answer");
	}
}

static void watch_exit(struct plug *p);
static void unwatch_exit(struct plug *p);

static void schedule_restart(struct plug *p)
{
	struct runner *r = p->r;
	uint32_t delay;

	if (p->up_ms && hb_mono_ms() - p->up_ms >= HEALTHY_MS)
		p->backoff_ms = 0;
	delay = p->backoff_ms ? p->backoff_ms : r->bo_min;
	if (delay > r->bo_max)
		delay = r->bo_max;
	p->backoff_ms = delay > r->bo_max / 2 ? r->bo_max : delay * 2;
	p->up_ms = 0;
	hb_log_info("plugin %s: restarting in %" PRIu32 " ms", p->name, delay);
	ev_timer_set(&p->restartw, delay / 1000.0, 0.);
	ev_timer_start(r->loop, &p->restartw);
}

static void restart_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct plug *p = t->data;
	int err = runner_spawn(&p->c);

	if (err) {
		hb_log_err("plugin %s: spawn: %s", p->name, strerror(err));
		schedule_restart(p);
		return;
	}
	p->killed = false;
	ev_io_set(&p->rw, p->c.fd, EV_READ);
	ev_io_start(loop, &p->rw);
	watch_exit(p);
	start_timer(p, LOAD_TIMEOUT_MS);
}

static void free_plug(struct plug *p);

static void unlink_dying(struct plug *p)
{
	struct plug **pp = &p->r->dying;

	while (*pp != p)
		pp = &(*pp)->next;
	*pp = p->next;
}

/* The child is gone (status -1: someone else reaped it). */
static void child_gone(struct plug *p, int status)
{
	struct runner_msg m = {0};
	char how[64];
	bool answered = false;

	unwatch_exit(p);
	p->c.pid = 0;
	/* An answer written just before dying is still in the socket. */
	if (p->c.fd >= 0 && !p->killed && p->inflight &&
	    runner_rx(&p->c, &m) == RUNNER_RX_FRAME)
		answered = m.type == RUNNER_SAMPLE;
	close_fd(p);
	ev_timer_stop(p->r->loop, &p->tw);
	ev_timer_stop(p->r->loop, &p->termw);
	if (p->removing) {
		unlink_dying(p);
		free_plug(p);
		return;
	}
	runner_status_text(status, how, sizeof(how));
	if (p->killed)
		hb_log_debug("plugin %s: killed process reaped", p->name);
	else
		hb_log_warn("plugin %s: process died: %s", p->name, how);
	p->up = false;
	schedule_restart(p);
	if (!p->inflight)
		return;
	p->inflight = false;
	if (answered)
		deliver(p->r, p->id, &m.s);
	else
		deliver_unknown(p, "plugin process died%s%s",
				status < 0 ? "" : ": ", status < 0 ? "" : how);
}

static void try_reap(struct plug *p)
{
	int status;
	pid_t pid;

	do
		pid = waitpid(p->c.pid, &status, WNOHANG);
	while (pid < 0 && errno == EINTR);
	if (pid == p->c.pid)
		child_gone(p, status);
	else if (pid < 0)
		child_gone(p, -1);
}

static void child_cb(struct ev_loop *loop, ev_child *c, int revents)
{
	child_gone(c->data, c->rstatus);
}

static void pidfd_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	try_reap(io->data);
}

static void poll_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	try_reap(t->data);
}

static void watch_exit(struct plug *p)
{
	struct runner *r = p->r;

	if (r->default_loop) {
		ev_child_set(&p->cw, p->c.pid, 0);
		ev_child_start(r->loop, &p->cw);
	} else if ((p->pidfd = pidfd_open(p->c.pid, 0)) >= 0) {
		ev_io_set(&p->pw, p->pidfd, EV_READ);
		ev_io_start(r->loop, &p->pw);
	} else {
		ev_timer_start(r->loop, &p->pollw);
	}
}

static void unwatch_exit(struct plug *p)
{
	struct ev_loop *loop = p->r->loop;

	ev_child_stop(loop, &p->cw);
	ev_io_stop(loop, &p->pw);
	ev_timer_stop(loop, &p->pollw);
	if (p->pidfd >= 0)
		close(p->pidfd);
	p->pidfd = -1;
}

static void term_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct plug *p = t->data;

	hb_log_warn("plugin %s: process alive %d ms after SIGTERM; SIGKILL",
		    p->name, GRACE_MS);
	signal_child(p, SIGKILL);
}

/* EOF and SIGTERM both ask the child to run cleanup() and exit. */
static void terminate_child(struct plug *p)
{
	close_fd(p);
	signal_child(p, SIGTERM);
}

/* Spawns the first child and waits (bounded) for its hello. */
static int add_isolated(struct plug *p, const struct runner_plugin_opts *o,
			char *err, size_t errlen)
{
	struct runner_msg m;
	int rc;

	if (!(p->c.path = strdup(o->path)) ||
	    !(p->c.buf = malloc(4 + RUNNER_FRAME_MAX)))
		return errf(err, errlen, HB_ENOMEM, "out of memory");
	if ((p->c.setupfd =
		 runner_setup_fd(o->section, &p->r->info, err, errlen)) < 0)
		return p->c.setupfd;
	if ((rc = runner_start(&p->c, LOAD_TIMEOUT_MS, &m, err, errlen)))
		return rc;
	memcpy(p->name, m.name, sizeof(p->name));
	p->kind = m.kind;
	p->interval = m.interval;
	p->up = true;
	p->up_ms = hb_mono_ms();
	ev_io_set(&p->rw, p->c.fd, EV_READ);
	ev_io_start(p->r->loop, &p->rw);
	watch_exit(p);
	hb_log_info("plugin %s: isolated in process %d", p->name,
		    (int)p->c.pid);
	return 0;
}

/* --- the runner ----------------------------------------------------------- */

static struct plug *plug_new(struct runner *r,
			     const struct runner_plugin_opts *o)
{
	struct plug *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->r = r;
	p->isolate = o->isolate;
	p->timeout_ms = o->timeout_ms ? o->timeout_ms : TIMEOUT_DEFAULT_MS;
	p->c.fd = p->pidfd = p->c.setupfd = -1;
	ev_init(&p->tw, timeout_cb);
	ev_init(&p->rw, read_cb);
	ev_init(&p->pw, pidfd_cb);
	ev_init(&p->cw, child_cb);
	ev_timer_init(&p->pollw, poll_cb, REAP_POLL_S, REAP_POLL_S);
	ev_init(&p->restartw, restart_cb);
	ev_timer_init(&p->termw, term_cb, GRACE_MS / 1000.0, 0.);
	p->tw.data = p->rw.data = p->pw.data = p->cw.data = p;
	p->pollw.data = p->restartw.data = p->termw.data = p;
	return p;
}

/* Any child left is killed; SIGKILL can't be caught: a short wait. */
static void free_plug(struct plug *p)
{
	struct ev_loop *loop = p->r->loop;

	if (p->c.pid > 0) {
		signal_child(p, SIGKILL);
		while (waitpid(p->c.pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	ev_timer_stop(loop, &p->tw);
	ev_timer_stop(loop, &p->restartw);
	ev_timer_stop(loop, &p->termw);
	unwatch_exit(p);
	close_fd(p);
	if (p->c.setupfd >= 0)
		close(p->c.setupfd);
	free(p->c.path);
	free(p->c.buf);
	free(p);
}

struct runner *runner_new(struct ev_loop *loop,
			  const struct plugin_host_info *info,
			  runner_sample_cb cb, void *ctx)
{
	struct runner *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->host_id = strdup(info && info->host_id ? info->host_id : "");
	r->hostname = strdup(info && info->hostname ? info->hostname : "");
	if (!r->host_id || !r->hostname) {
		free(r->host_id);
		free(r->hostname);
		free(r);
		return NULL;
	}
	r->info.host_id = r->host_id;
	r->info.hostname = r->hostname;
	r->loop = loop;
	r->default_loop = ev_is_default_loop(loop);
	r->cb = cb;
	r->ctx = ctx;
	r->bo_min = BACKOFF_MIN_MS;
	r->bo_max = BACKOFF_MAX_MS;
	pthread_mutex_init(&r->qmu, NULL);
	ev_async_init(&r->wake, wake_cb);
	r->wake.data = r;
	ev_async_start(loop, &r->wake);
	return r;
}

void runner_set_backoff(struct runner *r, uint32_t min_ms, uint32_t max_ms)
{
	r->bo_min = min_ms ? min_ms : 1;
	r->bo_max = max_ms > r->bo_min ? max_ms : r->bo_min;
}

/* A free id: ids of removed plugins are reused. */
static int take_slot(struct runner *r, struct plug *p)
{
	struct plug **v;
	int id;

	for (id = 0; id < r->n && r->v[id]; id++)
		;
	if (id == r->n) {
		if (!(v = realloc(r->v, (size_t)(r->n + 1) * sizeof(*v))))
			return HB_ENOMEM;
		r->v = v;
		r->n++;
	}
	r->v[id] = p;
	p->id = id;
	return id;
}

static int add_in_process(struct plug *p, const struct runner_plugin_opts *o,
			  char *err, size_t errlen)
{
	const struct hb_conf_node *sec;
	struct plugin_host *host;
	struct hb_conf_doc *doc;
	int rc;

	/* A copy: a thread left hanging may outlive hbc.yaml's document. */
	if ((rc = runner_section_copy(o->section, &doc, &sec, err, errlen)))
		return rc;
	if ((rc = plugin_host_load(o->path, sec, &p->r->info, &host, err,
				   errlen))) {
		hb_conf_doc_free(doc);
		return rc;
	}
	snprintf(p->name, sizeof(p->name), "%s", plugin_host_name(host));
	p->kind = plugin_host_kind(host);
	p->interval = plugin_host_default_interval(host);
	if ((rc = start_worker(p, host, doc))) {
		plugin_host_unload(host);
		hb_conf_doc_free(doc);
		return errf(err, errlen, HB_ENOMEM, "pthread_create: %s",
			    strerror(rc));
	}
	return 0;
}

int runner_add(struct runner *r, const struct runner_plugin_opts *o, char *err,
	       size_t errlen)
{
	struct plug *p;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (!o || !o->path)
		return errf(err, errlen, HB_EINVAL, "no plugin path");
	if (!(p = plug_new(r, o)))
		return errf(err, errlen, HB_ENOMEM, "out of memory");
	rc = p->isolate ? add_isolated(p, o, err, errlen)
			: add_in_process(p, o, err, errlen);
	if (!rc && (rc = take_slot(r, p)) < 0)
		errf(err, errlen, rc, "out of memory");
	if (rc < 0) {
		if (p->w) {
			signal_quit(p->w);
			join_worker(p, &(struct timespec){0});
		}
		free_plug(p);
	}
	return rc;
}

static struct plug *get(const struct runner *r, int id)
{
	return r && id >= 0 && id < r->n ? r->v[id] : NULL;
}

const char *runner_plugin_name(const struct runner *r, int id)
{
	struct plug *p = get(r, id);

	return p ? p->name : NULL;
}

int runner_plugin_kind(const struct runner *r, int id)
{
	struct plug *p = get(r, id);

	return p ? p->kind : -1;
}

uint32_t runner_plugin_default_interval(const struct runner *r, int id)
{
	struct plug *p = get(r, id);

	return p ? p->interval : 0;
}

uint64_t runner_plugin_skipped(const struct runner *r, int id)
{
	struct plug *p = get(r, id);

	return p ? p->skipped : 0;
}

static int skip(struct plug *p, const char *why)
{
	p->skipped++;
	hb_log_debug("plugin %s: collection skipped: %s", p->name, why);
	return 1;
}

static int collect_isolated(struct plug *p)
{
	char req = RUNNER_REQ_COLLECT;

	if (!p->up)
		return skip(p, "its process is restarting");
	/* The socket is empty (one request at a time): no EAGAIN. On
	 * failure the child is dying; its reaping reports it. */
	if (send(p->c.fd, &req, 1, MSG_NOSIGNAL | MSG_DONTWAIT) != 1)
		signal_child(p, SIGKILL);
	return 0;
}

int runner_collect(struct runner *r, int id)
{
	struct plug *p = get(r, id);
	struct worker *w;

	if (!p)
		return HB_EINVAL;
	if (p->inflight || p->stuck)
		return skip(p, p->stuck ? "collect() is stuck"
					: "the last one still runs");
	if (p->isolate) {
		if (collect_isolated(p))
			return 1;
	} else {
		w = p->w;
		pthread_mutex_lock(&w->mu);
		w->want = true;
		pthread_cond_signal(&w->cv);
		pthread_mutex_unlock(&w->mu);
	}
	p->inflight = true;
	p->start_ms = hb_mono_ms();
	start_timer(p, p->timeout_ms);
	return 0;
}

void runner_remove(struct runner *r, int id)
{
	struct plug *p = get(r, id);
	struct timespec deadline;

	if (!p)
		return;
	r->v[id] = NULL;
	ev_timer_stop(r->loop, &p->tw);
	ev_timer_stop(r->loop, &p->restartw);
	if (p->w) {
		signal_quit(p->w);
		grace_deadline(&deadline);
		join_worker(p, &deadline);
	}
	if (p->c.pid <= 0) {
		free_plug(p);
		return;
	}
	/* Reaped on the loop; SIGKILL if it takes longer than GRACE_MS. */
	terminate_child(p);
	p->removing = true;
	ev_timer_start(r->loop, &p->termw);
	p->next = r->dying;
	r->dying = p;
}

/* Whether pid is gone: reaped now, or by libev's default loop. */
static bool reaped(pid_t pid)
{
	pid_t w = waitpid(pid, NULL, WNOHANG);

	return w == pid || (w < 0 && errno == ECHILD);
}

/* Gives children told to end GRACE_MS; free_plug() kills the rest. */
static void reap_all(struct plug *list)
{
	uint64_t end = hb_mono_ms() + GRACE_MS;
	bool left;

	for (;;) {
		left = false;
		for (struct plug *p = list; p; p = p->next)
			if (p->c.pid > 0 && reaped(p->c.pid))
				p->c.pid = 0;
			else if (p->c.pid > 0)
				left = true;
		if (!left || hb_mono_ms() >= end)
			break;
		nanosleep(&(struct timespec){0, 10 * 1000000}, NULL);
	}
	for (struct plug *p = list; p; p = p->next)
		if (p->c.pid > 0)
			hb_log_warn("plugin %s: process alive after SIGTERM; "
				    "SIGKILL",
				    p->name);
}

void runner_free(struct runner *r)
{
	struct timespec deadline;
	struct plug *list = r ? r->dying : NULL, *p;

	if (!r)
		return;
	/* Everyone is told first, so cleanups and exits overlap. */
	for (int id = 0; id < r->n; id++) {
		if (!(p = r->v[id]))
			continue;
		if (p->w)
			signal_quit(p->w);
		terminate_child(p);
		p->next = list;
		list = p;
	}
	grace_deadline(&deadline);
	for (p = list; p; p = p->next)
		if (p->w)
			join_worker(p, &deadline);
	reap_all(list);
	while ((p = list)) {
		list = p->next;
		free_plug(p);
	}
	ev_async_stop(r->loop, &r->wake);
	pthread_mutex_destroy(&r->qmu);
	free(r->v);
	free(r->host_id);
	free(r->hostname);
	free(r);
}
