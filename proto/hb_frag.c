/*
 * hb_frag: planning how a body is cut into fragments, and putting
 * fragments back together. Every partial message sits in a hash table
 * keyed by (host id, epoch, message id), in one list in creation order
 * (so expiry only touches what expires) and in its sender's list (so the
 * per-sender cap finds the sender's oldest message at once). Bytes held
 * are charged per message and never exceed the cap. The fragment that
 * completes a message is copied straight into the output buffer, never
 * stored, so completing a message is not refused for lack of memory.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <sodium.h>

#include "hb_error.h"
#include "hb_frag.h"

#define container_of(p, type, member) \
	((type *)((char *)(p) - offsetof(type, member)))

#define TABLE_MIN 64 /* initial buckets; a power of two */

int hb_frag_plan(size_t body_len, size_t max_dgram, uint8_t mode,
		 uint16_t *count, size_t *chunk)
{
	size_t tag, room, n;

	if (!count || !chunk || mode > HB_MODE_ENCRYPT ||
	    max_dgram < HB_FRAME_MIN || max_dgram > HB_FRAME_MAX)
		return HB_EINVAL;
	if (body_len > HB_MESSAGE_MAX)
		return HB_ETOOBIG;
	tag = mode == HB_MODE_NONE ? 0 : HB_TAG_LEN;
	if (body_len <= max_dgram - HB_HEADER_LEN - tag) {
		*count = 1;
		*chunk = body_len;
		return 0;
	}
	/* body_len exceeds room, so n >= 2. */
	room = max_dgram - HB_HEADER_LEN - HB_FRAGEXT_LEN - tag;
	n = body_len / room + (body_len % room != 0);
	if (n > HB_FRAG_COUNT_MAX)
		return HB_ETOOBIG;
	*count = (uint16_t)n;
	*chunk = room;
	return 0;
}

/* Intrusive chained hash table, its own SipHash key against collisions. */
#define KEY_LEN 24 /* host id, epoch, message id; a sender's: host id */

struct hnode {
	LIST_ENTRY(hnode) link;
	uint64_t hash;
	uint8_t key[KEY_LEN];
};

LIST_HEAD(bucket, hnode);

struct htab {
	struct bucket *b;
	size_t mask; /* buckets - 1 */
	size_t n;
	uint8_t skey[crypto_shorthash_KEYBYTES];
};

static int htab_init(struct htab *t)
{
	t->b = calloc(TABLE_MIN, sizeof(*t->b));
	t->mask = TABLE_MIN - 1;
	randombytes_buf(t->skey, sizeof(t->skey));
	return t->b ? 0 : HB_ENOMEM;
}

static uint64_t htab_hash(const struct htab *t, const uint8_t *key, size_t len)
{
	uint8_t out[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(out, key, len, t->skey);
	memcpy(&v, out, sizeof(v));
	return v;
}

static struct hnode *htab_find(const struct htab *t, const uint8_t *key,
			       size_t len)
{
	uint64_t hv = htab_hash(t, key, len);
	struct hnode *n;

	LIST_FOREACH(n, &t->b[hv & t->mask], link)
		if (n->hash == hv && !memcmp(n->key, key, len))
			return n;
	return NULL;
}

/* Doubles the buckets; on ENOMEM keeps the old ones (slower, still right). */
static void htab_grow(struct htab *t)
{
	size_t mask = t->mask * 2 + 1;
	struct bucket *b = calloc(mask + 1, sizeof(*b));
	struct hnode *n;

	if (!b)
		return;
	for (size_t i = 0; i <= t->mask; i++) {
		while ((n = LIST_FIRST(&t->b[i]))) {
			LIST_REMOVE(n, link);
			LIST_INSERT_HEAD(&b[n->hash & mask], n, link);
		}
	}
	free(t->b);
	t->b = b;
	t->mask = mask;
}

static void htab_insert(struct htab *t, struct hnode *n, const uint8_t *key,
			size_t len)
{
	memcpy(n->key, key, len);
	n->hash = htab_hash(t, key, len);
	LIST_INSERT_HEAD(&t->b[n->hash & t->mask], n, link);
	if (++t->n > t->mask + 1 && t->mask < SIZE_MAX / 4)
		htab_grow(t);
}

static void htab_remove(struct htab *t, struct hnode *n)
{
	LIST_REMOVE(n, link);
	t->n--;
}

TAILQ_HEAD(msgq, msg);

struct sender {
	struct hnode node; /* key: host id */
	uint32_t count;    /* partial messages */
	struct msgq msgs;  /* its partial messages, oldest first */
};

struct msg {
	struct hnode node;     /* key: host id, epoch, frag_msg */
	TAILQ_ENTRY(msg) age;  /* in r->age, oldest first */
	TAILQ_ENTRY(msg) peer; /* in sender->msgs */
	struct sender *sender;
	uint8_t type;
	uint16_t count;
	uint16_t have;
	size_t chunk; /* length of every fragment but the last; 0: unknown */
	size_t last;  /* length of the last fragment; 0: unknown */
	size_t cost;  /* bytes charged to r->mem */
	uint64_t born;
	uint8_t *frag[]; /* count slots; lengths follow from chunk and last */
};

struct hb_reasm {
	struct hb_reasm_limits lim;
	struct htab msgs, senders;
	struct msgq age;
	size_t pending, mem;
	uint64_t completed, expired, evicted, duplicates;
	uint8_t *out; /* the last completed body */
	size_t out_cap;
};

/* A fragment being added, and its message's shape once it is accepted. */
struct frag_in {
	const struct hb_header *h;
	const uint8_t *data;
	size_t len;
	uint8_t key[KEY_LEN]; /* starts with the host id */
	size_t chunk, last;
};

static struct sender *sender_find(const struct hb_reasm *r, const uint8_t *host)
{
	struct hnode *n = htab_find(&r->senders, host, 16);

	return n ? container_of(n, struct sender, node) : NULL;
}

static struct sender *sender_get(struct hb_reasm *r, const uint8_t *host)
{
	struct sender *s = sender_find(r, host);

	if (s)
		return s;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	TAILQ_INIT(&s->msgs);
	htab_insert(&r->senders, &s->node, host, 16);
	return s;
}

static void drop(struct hb_reasm *r, struct msg *m)
{
	struct sender *s = m->sender;

	htab_remove(&r->msgs, &m->node);
	TAILQ_REMOVE(&r->age, m, age);
	TAILQ_REMOVE(&s->msgs, m, peer);
	if (--s->count == 0) {
		htab_remove(&r->senders, &s->node);
		free(s);
	}
	for (uint16_t i = 0; i < m->count; i++)
		free(m->frag[i]);
	r->mem -= m->cost;
	r->pending--;
	free(m);
}

/*
 * Checks f against the shape known so far (f->chunk, f->last) and updates
 * it. Fragments but the last share one length, the last is no longer, none
 * is empty. The smallest body the shape allows bounds what will be held,
 * so an oversized message is refused as soon as that is certain.
 */
static int check_shape(const struct hb_reasm *r, struct frag_in *f)
{
	size_t count = f->h->frag_count, least;

	if (f->len == 0)
		return HB_EFRAG;
	if (f->len > r->lim.max_message)
		return HB_ETOOBIG;
	if (f->h->frag_index == count - 1) {
		if (f->chunk && f->len > f->chunk)
			return HB_EFRAG;
		f->last = f->len;
	} else {
		if (f->chunk ? f->len != f->chunk : f->last > f->len)
			return HB_EFRAG;
		f->chunk = f->len;
	}
	/* No overflow: count <= 1024 and lengths <= HB_MESSAGE_MAX. */
	if (f->chunk)
		least = (count - 1) * f->chunk + (f->last ? f->last : 1);
	else
		least = count * f->last;
	return least > r->lim.max_message ? HB_ETOOBIG : 0;
}

static int complete(struct hb_reasm *r, struct msg *m, const struct frag_in *f,
		    const uint8_t **body, size_t *body_len)
{
	size_t total = (size_t)(m->count - 1) * f->chunk + f->last, off = 0;

	if (total > r->out_cap) {
		uint8_t *p = realloc(r->out, total);

		if (!p)
			return HB_ENOMEM;
		r->out = p;
		r->out_cap = total;
	}
	for (uint16_t i = 0; i < m->count; i++) {
		const uint8_t *src = i == f->h->frag_index ? f->data : m->frag[i];
		size_t n = i == m->count - 1 ? f->last : f->chunk;

		memcpy(r->out + off, src, n);
		off += n;
	}
	drop(r, m);
	r->completed++;
	*body = r->out;
	*body_len = total;
	return 0;
}

static uint8_t *copy_of(const struct frag_in *f)
{
	uint8_t *p = malloc(f->len);

	if (p)
		memcpy(p, f->data, f->len);
	return p;
}

/* Stores a fragment of a message already held. */
static int keep(struct hb_reasm *r, struct msg *m, const struct frag_in *f)
{
	uint8_t *p;

	if (f->len > r->lim.mem_cap - r->mem)
		return HB_EFRAGMEM;
	p = copy_of(f);
	if (!p)
		return HB_ENOMEM;
	m->frag[f->h->frag_index] = p;
	m->have++;
	m->chunk = f->chunk;
	m->last = f->last;
	m->cost += f->len;
	r->mem += f->len;
	return 0;
}

/* The sender's oldest message, when a new one would exceed its cap. */
static struct msg *victim(const struct hb_reasm *r, const uint8_t *host)
{
	struct sender *s = sender_find(r, host);

	if (!s || s->count < r->lim.max_per_sender)
		return NULL;
	return TAILQ_FIRST(&s->msgs);
}

/* Starts a message with its first fragment to arrive. */
static int start(struct hb_reasm *r, const struct frag_in *f, uint64_t now_ms)
{
	const struct hb_header *h = f->h;
	struct msg *old = victim(r, f->key), *m;
	size_t size = sizeof(*m) + h->frag_count * sizeof(m->frag[0]);
	size_t freed = old ? old->cost : 0, cost;
	struct sender *s;
	uint8_t *p;

	/* Charging a sender record to every message keeps the cap hard. */
	cost = size + sizeof(*s) + f->len;
	if (cost > r->lim.mem_cap - (r->mem - freed))
		return HB_EFRAGMEM;
	m = calloc(1, size);
	p = copy_of(f);
	if (!m || !p)
		goto nomem;
	if (old) {
		drop(r, old);
		r->evicted++;
	}
	/* After the eviction, which may have freed the sender record. */
	s = sender_get(r, f->key);
	if (!s)
		goto nomem;
	m->sender = s;
	m->type = h->type;
	m->count = h->frag_count;
	m->have = 1;
	m->chunk = f->chunk;
	m->last = f->last;
	m->cost = cost;
	m->born = now_ms;
	m->frag[h->frag_index] = p;
	htab_insert(&r->msgs, &m->node, f->key, KEY_LEN);
	TAILQ_INSERT_TAIL(&r->age, m, age);
	TAILQ_INSERT_TAIL(&s->msgs, m, peer);
	s->count++;
	r->pending++;
	r->mem += cost;
	return 0;
nomem:
	free(m);
	free(p);
	return HB_ENOMEM;
}

static bool frag_fields_ok(const struct hb_header *h)
{
	return (h->flags & HB_FLAG_FRAG) && h->frag_count >= 2 &&
	       h->frag_count <= HB_FRAG_COUNT_MAX &&
	       h->frag_index < h->frag_count;
}

int hb_reasm_add(struct hb_reasm *r, const struct hb_header *h,
		 const uint8_t *chunk, size_t len, uint64_t now_ms,
		 const uint8_t **body, size_t *body_len)
{
	struct frag_in f = { .h = h, .data = chunk, .len = len };
	struct hnode *n;
	struct msg *m;
	int rc;

	if (!body || !body_len)
		return HB_EINVAL;
	*body = NULL;
	*body_len = 0;
	if (!r || !h || (!chunk && len) || !frag_fields_ok(h))
		return HB_EINVAL;
	/* Cheap: looks at the oldest message only, unless some expire. */
	hb_reasm_expire(r, now_ms);
	memcpy(f.key, h->host_id, 16);
	memcpy(f.key + 16, &h->epoch, 4);
	memcpy(f.key + 20, &h->frag_msg, 4);
	n = htab_find(&r->msgs, f.key, KEY_LEN);
	m = n ? container_of(n, struct msg, node) : NULL;
	if (m) {
		if (m->count != h->frag_count || m->type != h->type)
			return HB_EFRAG;
		if (m->frag[h->frag_index]) {
			r->duplicates++;
			return 0;
		}
		f.chunk = m->chunk;
		f.last = m->last;
	}
	rc = check_shape(r, &f);
	if (rc == HB_ETOOBIG && m)
		drop(r, m);
	if (rc)
		return rc;
	if (!m)
		return start(r, &f, now_ms);
	if (m->have == m->count - 1)
		return complete(r, m, &f, body, body_len);
	return keep(r, m, &f);
}

size_t hb_reasm_expire(struct hb_reasm *r, uint64_t now_ms)
{
	struct msg *m;
	size_t n = 0;

	if (!r)
		return 0;
	/* Creation order is age order as long as the clock is monotonic. */
	while ((m = TAILQ_FIRST(&r->age))) {
		if (now_ms <= m->born || now_ms - m->born <= r->lim.timeout_ms)
			break;
		drop(r, m);
		n++;
	}
	r->expired += n;
	return n;
}

void hb_reasm_limits_default(struct hb_reasm_limits *l)
{
	if (!l)
		return;
	l->max_message = HB_MESSAGE_DEFAULT;
	l->mem_cap = 16u << 20;
	l->timeout_ms = 5000;
	l->max_per_sender = 4;
}

struct hb_reasm *hb_reasm_new(const struct hb_reasm_limits *l)
{
	struct hb_reasm *r;

	if (!l || !l->max_message || l->max_message > HB_MESSAGE_MAX ||
	    !l->mem_cap || !l->timeout_ms || !l->max_per_sender)
		return NULL;
	if (sodium_init() < 0)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->lim = *l;
	TAILQ_INIT(&r->age);
	if (htab_init(&r->msgs) || htab_init(&r->senders)) {
		hb_reasm_free(r);
		return NULL;
	}
	return r;
}

void hb_reasm_free(struct hb_reasm *r)
{
	struct msg *m;

	if (!r)
		return;
	while ((m = TAILQ_FIRST(&r->age)))
		drop(r, m);
	free(r->msgs.b);
	free(r->senders.b);
	free(r->out);
	free(r);
}

void hb_reasm_get_stats(const struct hb_reasm *r, struct hb_reasm_stats *s)
{
	if (!s)
		return;
	memset(s, 0, sizeof(*s));
	if (!r)
		return;
	s->pending = r->pending;
	s->mem = r->mem;
	s->completed = r->completed;
	s->expired = r->expired;
	s->evicted = r->evicted;
	s->duplicates = r->duplicates;
}
