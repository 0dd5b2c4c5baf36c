/*
 * fake_store: a stand-in for hbd/store.h in unit tests. Every store_put_*
 * call is deep-copied (strings, digests, boot ids) into arrays the tests
 * inspect, and appended to a journal string ("H" host, "S" seen, "E"
 * event, "P" plugin, "C" counters, "R" prune) so tests can check the
 * order of operations. Setting `fail` makes every put return HB_ENOSPC
 * and record nothing (counted in `refused`), as a full backlog would.
 * It also provides hbd_state_name(), which the real store.c defines.
 *
 * There is no fake_store.h: the interface is the first part of this
 * file. Tests get it with
 *     #define FAKE_STORE_INTERFACE_ONLY
 *     #include "fake_store.c"
 * and link this file as its own translation unit.
 */
#ifndef FAKE_STORE_INTERFACE
#define FAKE_STORE_INTERFACE

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct store {
	struct store_host *hosts; /* put_host calls, in order */
	size_t n_hosts, cap_hosts;
	struct store_seen *seen; /* every entry of every put_seen call */
	size_t n_seen, cap_seen;
	size_t seen_calls;
	struct store_event *events;
	size_t n_events, cap_events;
	struct store_plugin *plugins;
	size_t n_plugins, cap_plugins;
	size_t counter_sets, prunes;
	char *journal; /* one letter per recorded operation, NUL-terminated */
	size_t n_journal, cap_journal;
	bool fail;      /* puts return HB_ENOSPC and record nothing */
	size_t refused; /* puts refused because of `fail` */
};

/* An empty fake store; aborts on ENOMEM. */
struct store *fake_store_new(void);

/* Forgets every recorded operation (keeps `fail`). */
void fake_store_clear(struct store *s);

/* Frees the store and every copy. NULL allowed. */
void fake_store_free(struct store *s);

/* Number of recorded events of this kind ("reboot", "clone"...). */
size_t fake_store_count_events(const struct store *s, const char *kind);

/* The last recorded event of this kind, or NULL. */
const struct store_event *fake_store_last_event(const struct store *s,
						const char *kind);

/* The last recorded put_host, or NULL. */
const struct store_host *fake_store_last_host(const struct store *s);

/* Number of recorded operations of every kind. */
size_t fake_store_ops(const struct store *s);

#endif /* FAKE_STORE_INTERFACE */

#ifndef FAKE_STORE_INTERFACE_ONLY

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hb_error.h"

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q) {
		fputs("fake_store: out of memory\n", stderr);
		abort();
	}
	return q;
}

static char *xstrdup(const char *s)
{
	size_t n;
	char *c;

	if (!s)
		return NULL;
	n = strlen(s) + 1;
	c = xrealloc(NULL, n);
	memcpy(c, s, n);
	return c;
}

static uint8_t *xmemdup(const uint8_t *p, size_t n)
{
	uint8_t *c;

	if (!p)
		return NULL;
	c = xrealloc(NULL, n);
	memcpy(c, p, n);
	return c;
}

/* Makes room for one more element of size `size` in *arr. */
static void *room(void *arr, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return arr;
	*cap = *cap ? *cap * 2 : 16;
	return xrealloc(arr, *cap * size);
}

static void journal(struct store *s, char op)
{
	if (s->n_journal + 2 > s->cap_journal) {
		s->cap_journal = s->cap_journal ? s->cap_journal * 2 : 64;
		s->journal = xrealloc(s->journal, s->cap_journal);
	}
	s->journal[s->n_journal++] = op;
	s->journal[s->n_journal] = '\0';
}

struct store *fake_store_new(void)
{
	struct store *s = xrealloc(NULL, sizeof(*s));

	memset(s, 0, sizeof(*s));
	journal(s, 'x'); /* allocates; then empty it */
	s->n_journal = 0;
	s->journal[0] = '\0';
	return s;
}

static void free_host(struct store_host *h)
{
	free((char *)h->hostname);
	free((char *)h->address);
	free((char *)h->owner);
	free((char *)h->labels_json);
	free((char *)h->version);
	free((char *)h->status_msg);
	free((uint8_t *)h->boot_id);
}

static void free_event(struct store_event *e)
{
	free((char *)e->kind);
	free((char *)e->reason);
}

static void free_plugin(struct store_plugin *p)
{
	free((char *)p->plugin);
	free((char *)p->message);
	free((char *)p->data_json);
	free((uint8_t *)p->digest);
}

void fake_store_clear(struct store *s)
{
	for (size_t i = 0; i < s->n_hosts; i++)
		free_host(&s->hosts[i]);
	for (size_t i = 0; i < s->n_events; i++)
		free_event(&s->events[i]);
	for (size_t i = 0; i < s->n_plugins; i++)
		free_plugin(&s->plugins[i]);
	s->n_hosts = s->n_seen = s->n_events = s->n_plugins = 0;
	s->seen_calls = s->counter_sets = s->prunes = s->refused = 0;
	s->n_journal = 0;
	s->journal[0] = '\0';
}

void fake_store_free(struct store *s)
{
	if (!s)
		return;
	fake_store_clear(s);
	free(s->hosts);
	free(s->seen);
	free(s->events);
	free(s->plugins);
	free(s->journal);
	free(s);
}

size_t fake_store_count_events(const struct store *s, const char *kind)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n_events; i++)
		n += strcmp(s->events[i].kind, kind) == 0;
	return n;
}

const struct store_event *fake_store_last_event(const struct store *s,
						const char *kind)
{
	for (size_t i = s->n_events; i-- > 0;)
		if (strcmp(s->events[i].kind, kind) == 0)
			return &s->events[i];
	return NULL;
}

const struct store_host *fake_store_last_host(const struct store *s)
{
	return s->n_hosts ? &s->hosts[s->n_hosts - 1] : NULL;
}

size_t fake_store_ops(const struct store *s)
{
	return s->n_journal;
}

/* ---- store.h ---- */

const char *hbd_state_name(int state)
{
	static const char *const names[HBD_STATE_COUNT] = {"UP", "LATE",
							   "DOWN", "STOPPED"};

	if (state < 0 || state >= HBD_STATE_COUNT)
		return "?";
	return names[state];
}

int store_open(const struct store_opts *o, struct store **out, char *err,
	       size_t errlen)
{
	(void)o;
	if (err && errlen)
		err[0] = '\0';
	*out = fake_store_new();
	return 0;
}

int store_load(struct store *s,
	       void (*host_cb)(void *ctx, const struct store_loaded_host *h),
	       void (*info_cb)(void *ctx, const struct store_loaded_info *i),
	       void *ctx)
{
	(void)s, (void)host_cb, (void)info_cb, (void)ctx;
	return 0; /* an empty database */
}

/* True when the put must be refused (counted). */
static bool refuse(struct store *s)
{
	if (s->fail)
		s->refused++;
	return s->fail;
}

int store_put_host(struct store *s, const struct store_host *h)
{
	struct store_host *c;

	if (refuse(s))
		return HB_ENOSPC;
	s->hosts = room(s->hosts, &s->cap_hosts, s->n_hosts, sizeof(*c));
	c = &s->hosts[s->n_hosts++];
	*c = *h;
	c->hostname = xstrdup(h->hostname);
	c->address = xstrdup(h->address);
	c->owner = xstrdup(h->owner);
	c->labels_json = xstrdup(h->labels_json);
	c->version = xstrdup(h->version);
	c->status_msg = xstrdup(h->status_msg);
	c->boot_id = xmemdup(h->boot_id, 16);
	journal(s, 'H');
	return 0;
}

int store_put_seen(struct store *s, const struct store_seen *v, size_t n)
{
	if (refuse(s))
		return HB_ENOSPC;
	for (size_t i = 0; i < n; i++) {
		s->seen = room(s->seen, &s->cap_seen, s->n_seen, sizeof(*v));
		s->seen[s->n_seen++] = v[i];
	}
	s->seen_calls++;
	journal(s, 'S');
	return 0;
}

int store_put_event(struct store *s, const struct store_event *e)
{
	struct store_event *c;

	if (refuse(s))
		return HB_ENOSPC;
	s->events = room(s->events, &s->cap_events, s->n_events, sizeof(*c));
	c = &s->events[s->n_events++];
	*c = *e;
	c->kind = xstrdup(e->kind);
	c->reason = xstrdup(e->reason);
	journal(s, 'E');
	return 0;
}

int store_put_plugin(struct store *s, const struct store_plugin *p)
{
	struct store_plugin *c;

	if (refuse(s))
		return HB_ENOSPC;
	s->plugins = room(s->plugins, &s->cap_plugins, s->n_plugins,
			  sizeof(*c));
	c = &s->plugins[s->n_plugins++];
	*c = *p;
	c->plugin = xstrdup(p->plugin);
	c->message = xstrdup(p->message);
	c->data_json = xstrdup(p->data_json);
	c->digest = xmemdup(p->digest, 16);
	journal(s, 'P');
	return 0;
}

int store_put_counters(struct store *s, const char *const *names,
		       const uint64_t *values, size_t n, uint64_t time_ms)
{
	(void)names, (void)values, (void)n, (void)time_ms;
	if (refuse(s))
		return HB_ENOSPC;
	s->counter_sets++;
	journal(s, 'C');
	return 0;
}

int store_prune(struct store *s, uint64_t now_ms)
{
	(void)now_ms;
	if (refuse(s))
		return HB_ENOSPC;
	s->prunes++;
	journal(s, 'R');
	return 0;
}

void store_get_stats(struct store *s, struct store_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->queued = st->written = s->n_journal;
	st->dropped = s->refused;
	st->batches = s->n_journal;
}

int store_flush(struct store *s, uint32_t timeout_ms)
{
	(void)s, (void)timeout_ms;
	return 0;
}

void store_close(struct store *s, uint32_t timeout_ms)
{
	(void)timeout_ms;
	fake_store_free(s);
}

#endif /* FAKE_STORE_INTERFACE_ONLY */
