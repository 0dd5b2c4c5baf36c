/*
 * store: the engine-independent half of the store. The event loop queues
 * operations (store_put_*), each deep-copied into one malloc'd block; the
 * queue is capped by bytes, and what does not fit is refused (HB_ENOSPC)
 * and counted as dropped. One writer thread takes what is queued and
 * applies it through the backend (store_backend.h) in one transaction per
 * batch, because a commit costs far more than a row. When a transaction
 * fails (database locked, disk full, I/O error) it rolls back, keeps the
 * batch and retries with exponential backoff while new operations queue
 * up behind it, so an accepted operation is never lost unless
 * store_close() runs out of time.
 *
 * Heartbeats dominate the load: one "seen" update per host per interval.
 * Consecutive seen updates of a batch are merged, newest wins, and
 * applied in ascending rowid order, which SQLite absorbs ten times faster
 * than random order. They are only merged up to the next host upsert or
 * state event, which write the same columns and must keep their place.
 *
 * Statistics count operations: a host, event, plugin sample, counter set
 * or prune is one; a seen batch of n hosts is n.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define HB_LOG_MODULE HB_MOD_STORE
#include "hb_error.h"
#include "hb_log.h"
#include "hb_time.h"
#include "store.h"
#include "store_backend.h"

#define BATCH_MAX 50000 /* operations per transaction */
#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 2000
#define LOG_EVERY_MS 10000 /* repeated complaints, at most this often */
#define PRUNE_CHUNK 10000  /* history rows deleted per transaction */
#define DEFAULT_BACKLOG (64u << 20)
/*
 * Last-seen updates may fill only this share of the backlog (in 1/8ths):
 * they are the bulk of the load and are never lost when refused (the
 * hosts stay dirty in memory), while host rows and events are. Keeping
 * room for those is what lets a storm of new hosts or transitions land
 * whole while heartbeats of known hosts wait.
 */
#define SEEN_SHARE_8THS 6

/* Repeated complaints: the first at once, then sums at most every 10 s. */
struct quiet {
	uint64_t last_ms, pending;
};

struct store {
	const struct store_backend *be;
	void *db;
	uint64_t cap_bytes, retention_ms;
	uint32_t batch_ms;
	pthread_t thread;
	bool started;

	/* Serialises the connection between the writer and store_load(). */
	pthread_mutex_t db_mu;

	/* mu guards everything from here to the writer-only part. */
	pthread_mutex_t mu;
	pthread_cond_t work_cv; /* writer: work, flush or close */
	pthread_cond_t done_cv; /* flushers: a batch finished */
	struct store_op *head, *tail;
	uint64_t queue_weight;   /* in the queue, not in the batch */
	struct store_op *batch;  /* taken by the writer, not yet done */
	uint64_t last_id;        /* id of the newest queued op */
	uint64_t done_id;        /* every op up to this one is done */
	uint64_t flush_id;       /* a flusher waits for this one */
	bool closing;
	uint64_t close_deadline; /* monotonic ms */
	struct store_stats st;
	struct quiet drops, defers;

	/* Writer thread only. */
	uint64_t fail_since, fail_logged, fail_attempts;
	bool fail_told; /* this episode was logged */
	struct quiet rejects;
	char reject_msg[200]; /* the last refusal, with its op */
};

const char *hbd_state_name(int state)
{
	static const char *const names[] = {"UP", "LATE", "DOWN", "STOPPED"};

	return state >= 0 && state < HBD_STATE_COUNT ? names[state] : "?";
}

/* Waits on cv until the monotonic deadline; false when it has passed. */
static bool wait_until(pthread_cond_t *cv, pthread_mutex_t *mu,
		       uint64_t deadline)
{
	struct timespec ts = {.tv_sec = (time_t)(deadline / 1000),
			      .tv_nsec = (long)(deadline % 1000) * 1000000};

	return pthread_cond_timedwait(cv, mu, &ts) != ETIMEDOUT;
}

/* Adds n events; returns how many to report now, 0 to stay quiet. */
static uint64_t quiet_add(struct quiet *q, uint64_t n, uint64_t now)
{
	q->pending += n;
	if (!q->pending || (q->last_ms && now - q->last_ms < LOG_EVERY_MS))
		return 0;
	n = q->pending;
	q->pending = 0;
	q->last_ms = now;
	return n;
}

/* ---- Queueing (event loop thread) ---- */

static void note_drop(struct store *s, enum store_op_type type,
		      uint64_t weight)
{
	bool seen = type == STORE_OP_SEEN;
	uint64_t n;

	pthread_mutex_lock(&s->mu);
	if (seen)
		s->st.deferred += weight;
	else
		s->st.dropped += weight;
	n = quiet_add(seen ? &s->defers : &s->drops, weight, hb_mono_ms());
	pthread_mutex_unlock(&s->mu);
	if (n && seen)
		hb_log_warn("write backlog %u%% full: %" PRIu64
			    " last-seen updates deferred (kept in memory)",
			    SEEN_SHARE_8THS * 100 / 8, n);
	else if (n)
		hb_log_warn("write backlog full (%" PRIu64
			    " bytes): dropped %" PRIu64 " operations",
			    s->cap_bytes, n);
}

/*
 * Reserves backlog for an op block with extra bytes after the struct,
 * allocates it and points *data at the extra bytes. NULL with the op
 * counted as dropped (deferred, for seen updates) when the backlog is
 * full.
 */
/*
 * Bytes of an op of this type before its extra data: the queue header
 * and the one union member it uses (an event needs a fraction of what a
 * host does), rounded up to keep the data 8-byte aligned.
 */
static size_t op_head(enum store_op_type type)
{
	size_t body = 0;

	switch (type) {
	case STORE_OP_HOST: body = sizeof(struct store_host); break;
	case STORE_OP_SEEN: body = sizeof(((struct store_op *)0)->seen); break;
	case STORE_OP_EVENT: body = sizeof(struct store_event); break;
	case STORE_OP_PLUGIN: body = sizeof(struct store_plugin); break;
	case STORE_OP_COUNTERS: body = sizeof(struct store_counters); break;
	case STORE_OP_PRUNE: body = sizeof(((struct store_op *)0)->prune); break;
	}
	return (offsetof(struct store_op, host) + body + 7) & ~(size_t)7;
}

static struct store_op *op_new(struct store *s, enum store_op_type type,
			       size_t extra, uint64_t weight, char **data)
{
	size_t head = op_head(type), size = head + extra;
	uint64_t cap = type == STORE_OP_SEEN
			       ? s->cap_bytes / 8 * SEEN_SHARE_8THS
			       : s->cap_bytes;
	struct store_op *op = NULL;
	bool fits;

	pthread_mutex_lock(&s->mu);
	fits = s->st.backlog_bytes + size <= cap;
	if (fits)
		s->st.backlog_bytes += size;
	pthread_mutex_unlock(&s->mu);
	/* Copying happens outside the lock: the writer never waits on it. */
	if (fits && !(op = malloc(size))) {
		pthread_mutex_lock(&s->mu);
		s->st.backlog_bytes -= size;
		pthread_mutex_unlock(&s->mu);
	}
	if (!op) {
		note_drop(s, type, weight);
		return NULL;
	}
	memset(op, 0, head);
	op->type = type;
	op->size = size;
	op->weight = weight;
	*data = (char *)op + head;
	return op;
}

/* Appends a filled op to the queue and wakes the writer if it must act. */
static void op_queue(struct store *s, struct store_op *op)
{
	bool wake;

	pthread_mutex_lock(&s->mu);
	op->id = ++s->last_id;
	op->queued_ms = hb_mono_ms();
	wake = !s->head || (s->queue_weight < BATCH_MAX &&
			    s->queue_weight + op->weight >= BATCH_MAX);
	if (s->tail)
		s->tail->next = op;
	else
		s->head = op;
	s->tail = op;
	s->queue_weight += op->weight;
	s->st.queued += op->weight;
	s->st.backlog += op->weight;
	if (wake)
		pthread_cond_signal(&s->work_cv);
	pthread_mutex_unlock(&s->mu);
}

/* Sizes and copies of the variable parts of an op block. */
static size_t str_size(const char *str)
{
	return str ? strlen(str) + 1 : 0;
}

/* Copies n bytes of src to *p and advances it; NULL stays NULL. */
static void *pack(char **p, const void *src, size_t n)
{
	char *at = *p;

	if (!src)
		return NULL;
	memcpy(at, src, n);
	*p += n;
	return at;
}

static const char *pack_str(char **p, const char *str)
{
	return pack(p, str, str_size(str));
}

int store_put_host(struct store *s, const struct store_host *h)
{
	size_t size = str_size(h->hostname) + str_size(h->address) +
		      str_size(h->owner) + str_size(h->labels_json) +
		      str_size(h->version) + str_size(h->status_msg) +
		      (h->boot_id ? 16 : 0);
	char *p;
	struct store_op *op = op_new(s, STORE_OP_HOST, size, 1, &p);

	if (!op)
		return HB_ENOSPC;
	op->host = *h;
	op->host.boot_id = pack(&p, h->boot_id, 16);
	op->host.hostname = pack_str(&p, h->hostname);
	op->host.address = pack_str(&p, h->address);
	op->host.owner = pack_str(&p, h->owner);
	op->host.labels_json = pack_str(&p, h->labels_json);
	op->host.version = pack_str(&p, h->version);
	op->host.status_msg = pack_str(&p, h->status_msg);
	op_queue(s, op);
	return 0;
}

int store_put_seen(struct store *s, const struct store_seen *v, size_t n)
{
	struct store_op *op;
	char *p;

	if (!n)
		return 0;
	op = op_new(s, STORE_OP_SEEN, n * sizeof(*v), n, &p);
	if (!op)
		return HB_ENOSPC;
	op->seen.v = pack(&p, v, n * sizeof(*v));
	op->seen.n = n;
	op_queue(s, op);
	return 0;
}

int store_put_event(struct store *s, const struct store_event *e)
{
	char *p;
	struct store_op *op = op_new(s, STORE_OP_EVENT,
				     str_size(e->kind) + str_size(e->reason),
				     1, &p);

	if (!op)
		return HB_ENOSPC;
	op->event = *e;
	op->event.kind = pack_str(&p, e->kind);
	op->event.reason = pack_str(&p, e->reason);
	op_queue(s, op);
	return 0;
}

int store_put_plugin(struct store *s, const struct store_plugin *pl)
{
	size_t size = (pl->digest ? 16 : 0) + str_size(pl->plugin) +
		      str_size(pl->message) + str_size(pl->data_json);
	char *p;
	struct store_op *op = op_new(s, STORE_OP_PLUGIN, size, 1, &p);

	if (!op)
		return HB_ENOSPC;
	op->plugin = *pl;
	op->plugin.digest = pack(&p, pl->digest, 16);
	op->plugin.plugin = pack_str(&p, pl->plugin);
	op->plugin.message = pack_str(&p, pl->message);
	op->plugin.data_json = pack_str(&p, pl->data_json);
	op_queue(s, op);
	return 0;
}

int store_put_counters(struct store *s, const char *const *names,
		       const uint64_t *values, size_t n, uint64_t time_ms)
{
	size_t size = n * (sizeof(char *) + sizeof(uint64_t));
	struct store_op *op;
	const char **name_copy;
	uint64_t *value_copy;
	char *p;

	for (size_t i = 0; i < n; i++)
		size += str_size(names[i] ? names[i] : "");
	op = op_new(s, STORE_OP_COUNTERS, size, 1, &p);
	if (!op)
		return HB_ENOSPC;
	/* Arrays first, while the block is still 8-byte aligned. */
	name_copy = (const char **)p;
	value_copy = (uint64_t *)(name_copy + n);
	p = (char *)(value_copy + n);
	for (size_t i = 0; i < n; i++) {
		name_copy[i] = pack_str(&p, names[i] ? names[i] : "");
		value_copy[i] = values[i];
	}
	op->counters = (struct store_counters){name_copy, value_copy, n,
					       time_ms};
	op_queue(s, op);
	return 0;
}

int store_prune(struct store *s, uint64_t now_ms)
{
	struct store_op *op;
	char *p;

	if (!s->retention_ms) /* keep history forever */
		return 0;
	op = op_new(s, STORE_OP_PRUNE, 0, 1, &p);
	if (!op)
		return HB_ENOSPC;
	op->prune.now_ms = now_ms;
	op->prune.retention_ms = s->retention_ms;
	op_queue(s, op);
	return 0;
}

/* ---- The writer: failures and retries ---- */

/*
 * Complains loudly but boundedly: an error when failing starts, then at
 * most every LOG_EVERY_MS, also across short flapping episodes.
 */
static void note_failure(struct store *s, int rc)
{
	uint64_t now = hb_mono_ms(), backlog;
	const char *why = rc == HB_ENOMEM ? "out of memory"
					  : s->be->error(s->db);
	bool quiet = s->fail_logged && now - s->fail_logged < LOG_EVERY_MS;

	pthread_mutex_lock(&s->mu);
	s->st.failures++;
	s->st.failing = true;
	snprintf(s->st.last_error, sizeof(s->st.last_error), "%s", why);
	backlog = s->st.backlog;
	pthread_mutex_unlock(&s->mu);

	if (!s->fail_attempts++)
		s->fail_since = now;
	if (quiet)
		return;
	if (s->fail_attempts == 1)
		hb_log_err("database writes failing: %s; keeping %" PRIu64
			   " operations and retrying",
			   why, backlog);
	else
		hb_log_err("database writes still failing after %" PRIu64
			   " attempts in %" PRIu64 " s: %s; %" PRIu64
			   " operations waiting",
			   s->fail_attempts, (now - s->fail_since) / 1000, why,
			   backlog);
	s->fail_logged = now;
	s->fail_told = true;
}

static void note_success(struct store *s)
{
	if (s->fail_told)
		hb_log_info("database writes succeed again, after %" PRIu64
			    " failed attempts in %" PRIu64 " ms",
			    s->fail_attempts, hb_mono_ms() - s->fail_since);
	s->fail_attempts = 0;
	s->fail_told = false;
	pthread_mutex_lock(&s->mu);
	s->st.failing = false;
	pthread_mutex_unlock(&s->mu);
}

/* Whether store_close() has given up waiting. Called with mu held. */
static bool out_of_time(struct store *s, uint64_t now)
{
	return s->closing && now >= s->close_deadline;
}

static bool gave_up(struct store *s)
{
	bool r;

	pthread_mutex_lock(&s->mu);
	r = out_of_time(s, hb_mono_ms());
	pthread_mutex_unlock(&s->mu);
	return r;
}

/* Sleeps ms before a retry; false when store_close() ran out of time. */
static bool backoff_wait(struct store *s, uint64_t ms)
{
	uint64_t until = hb_mono_ms() + ms, now;
	bool go_on;

	pthread_mutex_lock(&s->mu);
	/* New work wakes us too: sleep on until the backoff is over. */
	while ((go_on = !out_of_time(s, now = hb_mono_ms())) && now < until)
		wait_until(&s->work_cv, &s->mu,
			   s->closing && s->close_deadline < until
				   ? s->close_deadline
				   : until);
	pthread_mutex_unlock(&s->mu);
	return go_on;
}

static int attempt(struct store *s, int (*body)(struct store *, void *),
		   void *arg)
{
	int rc;

	pthread_mutex_lock(&s->db_mu);
	rc = s->be->begin(s->db);
	if (!rc)
		rc = body(s, arg);
	if (!rc)
		rc = s->be->commit(s->db);
	if (rc)
		s->be->rollback(s->db);
	pthread_mutex_unlock(&s->db_mu);
	return rc;
}

/*
 * Runs body in a transaction until it commits. Returns 0, or HB_EIO when
 * store_close() ran out of time first.
 */
static int run_txn(struct store *s, int (*body)(struct store *, void *),
		   void *arg)
{
	uint64_t backoff = BACKOFF_MIN_MS;
	int rc;

	while ((rc = attempt(s, body, arg)) != 0) {
		note_failure(s, rc);
		if (!backoff_wait(s, backoff))
			return HB_EIO;
		if ((backoff *= 2) > BACKOFF_MAX_MS)
			backoff = BACKOFF_MAX_MS;
	}
	note_success(s);
	return 0;
}

/* ---- The writer: applying a batch ---- */

struct seen_ord {
	struct store_seen v;
	size_t ord; /* queue order, so that equal rowids keep it */
};

static int seen_ord_cmp(const void *a, const void *b)
{
	const struct seen_ord *x = a, *y = b;

	if (x->v.rowid != y->v.rowid)
		return x->v.rowid < y->v.rowid ? -1 : 1;
	return x->ord < y->ord ? -1 : x->ord > y->ord;
}

static bool seen_sorted(const struct store_seen *v, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (v[i].rowid <= v[i - 1].rowid)
			return false;
	return true;
}

/*
 * Merges the seen ops from first up to stop into one malloc'd array in
 * ascending rowid order, keeping the newest update of each host only.
 */
static struct store_seen *seen_merge(const struct store_op *first,
				     const struct store_op *stop, size_t *n_out)
{
	const struct store_op *op;
	struct seen_ord *o;
	struct store_seen *v;
	size_t n = 0, k = 0;

	for (op = first; op != stop; op = op->next)
		if (op->type == STORE_OP_SEEN)
			n += op->seen.n;
	if (!(o = malloc(n * sizeof(*o))))
		return NULL;
	for (op = first; op != stop; op = op->next)
		for (size_t i = 0; op->type == STORE_OP_SEEN && i < op->seen.n;
		     i++, k++)
			o[k] = (struct seen_ord){op->seen.v[i], k};
	qsort(o, n, sizeof(*o), seen_ord_cmp);
	/* Compacted in place: entry k is written no later than read. */
	v = (struct store_seen *)o;
	k = 0;
	for (size_t i = 0; i < n; i++) {
		struct store_seen e = o[i].v;

		if (i + 1 < n && o[i + 1].v.rowid == e.rowid) {
			/* A newer update follows: it wins, but must still
			 * carry a state this one was resending. */
			if (e.state >= 0 && o[i + 1].v.state < 0) {
				o[i + 1].v.state = e.state;
				o[i + 1].v.state_since_ms = e.state_since_ms;
			}
			continue;
		}
		v[k++] = e;
	}
	*n_out = k;
	return v;
}

/* Applies the seen ops from first up to (not including) stop. */
static int apply_seen(struct store *s, const struct store_op *first,
		      const struct store_op *stop)
{
	struct store_op merged = {.type = STORE_OP_SEEN};
	const struct store_op *op;
	size_t ops = 0;
	int rc;

	for (op = first; op != stop; op = op->next)
		ops += op->type == STORE_OP_SEEN;
	/* The usual case: one batch from hbd, already sorted. */
	if (ops == 1 && seen_sorted(first->seen.v, first->seen.n)) {
		rc = s->be->apply(s->db, first);
	} else {
		merged.seen.v = seen_merge(first, stop, &merged.seen.n);
		if (!merged.seen.v)
			return HB_ENOMEM;
		rc = s->be->apply(s->db, &merged);
		free((void *)merged.seen.v);
	}
	/* The backend skips refused entries itself; never retry for them. */
	return rc == HB_EINVAL ? 0 : rc;
}

static int apply_one(struct store *s, struct store_op *op)
{
	int rc = s->be->apply(s->db, op);
	const char *why;

	if (rc != HB_EINVAL)
		return rc;
	/* One bad operation must not wedge the queue: skip it. */
	op->rejected = true;
	why = s->be->error(s->db);
	if (op->type == STORE_OP_PLUGIN)
		snprintf(s->reject_msg, sizeof(s->reject_msg),
			 "plugin '%s' of host %" PRId64 ": %s",
			 op->plugin.plugin, op->plugin.rowid, why);
	else if (op->type == STORE_OP_HOST || op->type == STORE_OP_EVENT)
		snprintf(s->reject_msg, sizeof(s->reject_msg),
			 "host %" PRId64 ": %s",
			 op->type == STORE_OP_HOST ? op->host.rowid
						   : op->event.rowid,
			 why);
	else
		snprintf(s->reject_msg, sizeof(s->reject_msg), "%s", why);
	return 0;
}

/* Transaction body: every op of the batch, seen updates merged. */
static int apply_batch(struct store *s, void *arg)
{
	struct store_op *op, *seen = NULL; /* first of a pending seen run */
	int rc;

	for (op = arg; op; op = op->next) {
		op->rejected = false;
		if (op->type == STORE_OP_SEEN) {
			if (!seen)
				seen = op;
			continue;
		}
		/*
		 * A host upsert writes the seen columns too, a state event
		 * the state column: keep their order.
		 */
		if ((op->type == STORE_OP_HOST ||
		     (op->type == STORE_OP_EVENT && op->event.from >= 0)) &&
		    seen) {
			rc = apply_seen(s, seen, op);
			if (rc)
				return rc;
			seen = NULL;
		}
		rc = apply_one(s, op);
		if (rc)
			return rc;
	}
	return seen ? apply_seen(s, seen, NULL) : 0;
}

struct prune_chunk {
	const struct store_op *op;
	int64_t deleted;
};

static int prune_body(struct store *s, void *arg)
{
	struct prune_chunk *c = arg;
	int64_t n = s->be->prune(s->db, c->op->prune.now_ms,
				 c->op->prune.retention_ms, PRUNE_CHUNK);

	if (n < 0)
		return (int)n;
	c->deleted = n;
	return 0;
}

/*
 * A transaction per chunk, so the write lock is never held for long. A
 * prune cut short by store_close() is simply resumed by the next one.
 */
static int run_prune(struct store *s, const struct store_op *op)
{
	struct prune_chunk c = {op, 0};
	uint64_t total = 0;

	do {
		if (run_txn(s, prune_body, &c))
			return HB_EIO;
		total += (uint64_t)c.deleted;
	} while (c.deleted == PRUNE_CHUNK && !gave_up(s));
	if (total)
		hb_log_info("pruned %" PRIu64 " plugin history rows older "
			    "than %" PRIu64 " hours",
			    total, op->prune.retention_ms / 3600000);
	return 0;
}

/* ---- The writer: taking and finishing batches ---- */

static bool batch_due(struct store *s, uint64_t now)
{
	return s->closing || s->queue_weight >= BATCH_MAX ||
	       s->flush_id > s->done_id ||
	       now >= s->head->queued_ms + s->batch_ms;
}

/* Detaches the next batch from the queue. Called with mu held. */
static struct store_op *take_batch(struct store *s)
{
	struct store_op *first = s->head, *last = first;
	uint64_t w = first->weight;

	/* A prune runs alone, in transactions of its own. */
	if (first->type != STORE_OP_PRUNE)
		while (last->next && w < BATCH_MAX &&
		       last->next->type != STORE_OP_PRUNE) {
			last = last->next;
			w += last->weight;
		}
	s->head = last->next;
	if (!s->head)
		s->tail = NULL;
	last->next = NULL;
	s->queue_weight -= w;
	s->batch = first;
	return first;
}

/* Waits for a batch worth writing. NULL when the writer must stop. */
static struct store_op *next_batch(struct store *s)
{
	struct store_op *batch = NULL;
	uint64_t now;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		now = hb_mono_ms();
		if (s->closing && (!s->head || out_of_time(s, now)))
			break;
		if (s->head && batch_due(s, now)) {
			batch = take_batch(s);
			break;
		}
		if (s->head)
			wait_until(&s->work_cv, &s->mu,
				   s->head->queued_ms + s->batch_ms);
		else
			pthread_cond_wait(&s->work_cv, &s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	return batch;
}

static void free_ops(struct store_op *op)
{
	while (op) {
		struct store_op *next = op->next;

		free(op);
		op = next;
	}
}

/* Accounts for a committed batch, wakes flushers, frees it. */
static void finish_batch(struct store *s, struct store_op *batch)
{
	uint64_t rejected = 0;

	pthread_mutex_lock(&s->mu);
	for (struct store_op *op = batch; op; op = op->next) {
		if (op->rejected)
			rejected += op->weight;
		else
			s->st.written += op->weight;
		s->st.backlog -= op->weight;
		s->st.backlog_bytes -= op->size;
		s->done_id = op->id;
	}
	s->st.rejected += rejected;
	s->st.batches++;
	s->batch = NULL;
	pthread_cond_broadcast(&s->done_cv);
	pthread_mutex_unlock(&s->mu);
	free_ops(batch);
	/* A steady source of bad operations must not flood the log. */
	if ((rejected = quiet_add(&s->rejects, rejected, hb_mono_ms())))
		hb_log_warn("database refused %" PRIu64
			    " operations, skipped; last: %s",
			    rejected, s->reject_msg);
}

/*
 * The writer yields the CPU to the event loop: a flush writes every
 * dirty host in one burst, and on a busy collector that burst must not
 * starve the socket reader (the kernel drops what overflows its buffer;
 * the backlog absorbs a slower writer instead). SCHED_BATCH and a nice
 * of +5 on this thread alone; failure changes nothing else.
 */
static void writer_priority(void)
{
	struct sched_param sp = {0};

	pthread_setschedparam(pthread_self(), SCHED_BATCH, &sp);
	if (setpriority(PRIO_PROCESS, (id_t)gettid(), 5) < 0)
		hb_log_debug("writer priority: %s", strerror(errno));
}

static void *writer_main(void *arg)
{
	struct store *s = arg;
	struct store_op *batch;
	int rc;

	writer_priority();
	while ((batch = next_batch(s)) != NULL) {
		if (batch->type == STORE_OP_PRUNE)
			rc = run_prune(s, batch);
		else
			rc = run_txn(s, apply_batch, batch);
		if (rc)
			break; /* store_close() gave up; it frees the batch */
		finish_batch(s, batch);
	}
	return NULL;
}

/* ---- Life cycle ---- */

static int init_sync(struct store *s)
{
	pthread_condattr_t ca;
	int rc;

	/* Deadlines are monotonic: a clock step must not stall a flush. */
	if (pthread_condattr_init(&ca))
		return HB_ENOMEM;
	rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) ||
	     pthread_mutex_init(&s->mu, NULL) ||
	     pthread_mutex_init(&s->db_mu, NULL) ||
	     pthread_cond_init(&s->work_cv, &ca) ||
	     pthread_cond_init(&s->done_cv, &ca);
	pthread_condattr_destroy(&ca);
	return rc ? HB_ENOMEM : 0;
}

/* Starts the writer with every signal blocked: they are the loop's. */
static int start_writer(struct store *s)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&s->thread, NULL, writer_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	s->started = rc == 0;
	return rc ? HB_ENOMEM : 0;
}

int store_open(const struct store_opts *o, struct store **out, char *err,
	       size_t errlen)
{
	struct store *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (!s || init_sync(s)) {
		snprintf(err, errlen, "out of memory");
		free(s);
		return HB_EIO;
	}
	s->be = &store_sqlite_backend;
	s->cap_bytes = o->backlog_bytes ? o->backlog_bytes : DEFAULT_BACKLOG;
	s->retention_ms = o->retention_ms;
	s->batch_ms = o->batch_ms;
	s->db = s->be->open(o->path, o->busy_timeout_ms, err, errlen);
	if (!s->db || start_writer(s)) {
		if (s->db)
			snprintf(err, errlen, "cannot start writer thread");
		store_close(s, 0);
		return HB_EIO;
	}
	*out = s;
	return 0;
}

int store_load(struct store *s,
	       void (*host_cb)(void *ctx, const struct store_loaded_host *h),
	       void (*info_cb)(void *ctx, const struct store_loaded_info *i),
	       void *ctx)
{
	int rc;

	pthread_mutex_lock(&s->db_mu);
	rc = s->be->load(s->db, host_cb, info_cb, ctx);
	pthread_mutex_unlock(&s->db_mu);
	return rc;
}

void store_get_stats(struct store *s, struct store_stats *st)
{
	const struct store_op *oldest;

	pthread_mutex_lock(&s->mu);
	*st = s->st;
	oldest = s->batch ? s->batch : s->head;
	st->lag_ms = oldest ? hb_mono_ms() - oldest->queued_ms : 0;
	pthread_mutex_unlock(&s->mu);
}

int store_flush(struct store *s, uint32_t timeout_ms)
{
	uint64_t deadline = hb_mono_ms() + timeout_ms, target;
	int rc = 0;

	pthread_mutex_lock(&s->mu);
	target = s->last_id;
	if (s->done_id < target) {
		if (s->flush_id < target)
			s->flush_id = target;
		pthread_cond_signal(&s->work_cv);
	}
	while (s->done_id < target) {
		if (!wait_until(&s->done_cv, &s->mu, deadline) &&
		    s->done_id < target) {
			rc = HB_EIO;
			break;
		}
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* After the writer stopped: what it could not write is lost. */
static void drop_leftovers(struct store *s)
{
	uint64_t n = s->st.backlog;

	if (n)
		hb_log_err("closing with %" PRIu64 " operations not written "
			   "(%s): dropped",
			   n, s->st.failing ? s->st.last_error : "out of time");
	s->st.dropped += n;
	free_ops(s->batch);
	free_ops(s->head);
	s->batch = s->head = s->tail = NULL;
}

void store_close(struct store *s, uint32_t timeout_ms)
{
	if (!s)
		return;
	if (s->started) {
		pthread_mutex_lock(&s->mu);
		s->closing = true;
		s->close_deadline = hb_mono_ms() + timeout_ms;
		pthread_cond_signal(&s->work_cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->thread, NULL);
	}
	drop_leftovers(s);
	if (s->db)
		s->be->close(s->db);
	pthread_cond_destroy(&s->done_cv);
	pthread_cond_destroy(&s->work_cv);
	pthread_mutex_destroy(&s->db_mu);
	pthread_mutex_destroy(&s->mu);
	free(s);
}
