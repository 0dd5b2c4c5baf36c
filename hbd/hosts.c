/*
 * hosts: the host table. Chunks of CHUNK hosts are allocated as the
 * table grows and never move; the index is an open-addressing array of
 * host indices probed linearly, grown at half load.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "hb_error.h"
#include "hb_msg.h"
#include "hosts.h"

#define CHUNK_BITS 12
#define CHUNK (1u << CHUNK_BITS)
#define MAX_INFO 64

struct hosts {
	struct host **chunks;
	uint32_t n_chunks;
	uint32_t end;   /* one past the highest used index */
	size_t count;
	uint32_t *slots; /* index + 1, 0 empty */
	size_t n_slots;  /* power of two */
	uint32_t dirty_head;
	uint8_t hash_key[crypto_shorthash_KEYBYTES];
};

static size_t slot_of(const struct hosts *t, const uint8_t uuid[16])
{
	uint64_t h;

	crypto_shorthash((uint8_t *)&h, uuid, 16, t->hash_key);
	return (size_t)h & (t->n_slots - 1);
}

struct hosts *hosts_new(void)
{
	struct hosts *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->n_slots = 1024;
	t->slots = calloc(t->n_slots, sizeof(*t->slots));
	if (!t->slots) {
		free(t);
		return NULL;
	}
	t->dirty_head = HOST_NONE;
	randombytes_buf(t->hash_key, sizeof(t->hash_key));
	return t;
}

static void attrs_free(struct host_attrs *a)
{
	if (!a)
		return;
	free(a->status_msg);
	free(a);
}

void hosts_free(struct hosts *t)
{
	if (!t)
		return;
	for (uint32_t i = 0; i < t->end; i++) {
		struct host *h = hosts_used(t, i);

		if (!h)
			continue;
		attrs_free(h->attrs);
		for (uint32_t k = 0; k < h->n_info; k++)
			free(h->info[k].name);
		free(h->info);
	}
	for (uint32_t c = 0; c < t->n_chunks; c++)
		free(t->chunks[c]);
	free(t->chunks);
	free(t->slots);
	free(t);
}

struct host *hosts_at(const struct hosts *t, uint32_t idx)
{
	return &t->chunks[idx >> CHUNK_BITS][idx & (CHUNK - 1)];
}

struct host *hosts_used(const struct hosts *t, uint32_t idx)
{
	struct host *chunk;

	if (idx >= t->end || !(chunk = t->chunks[idx >> CHUNK_BITS]))
		return NULL;
	return chunk[idx & (CHUNK - 1)].flags & HOST_USED
		       ? &chunk[idx & (CHUNK - 1)] : NULL;
}

uint32_t hosts_find(const struct hosts *t, const uint8_t uuid[16])
{
	for (size_t s = slot_of(t, uuid);; s = (s + 1) & (t->n_slots - 1)) {
		uint32_t v = t->slots[s];

		if (!v)
			return HOST_NONE;
		if (memcmp(hosts_at(t, v - 1)->uuid, uuid, 16) == 0)
			return v - 1;
	}
}

static void slot_insert(struct hosts *t, uint32_t idx)
{
	size_t s = slot_of(t, hosts_at(t, idx)->uuid);

	while (t->slots[s])
		s = (s + 1) & (t->n_slots - 1);
	t->slots[s] = idx + 1;
}

static int rehash(struct hosts *t)
{
	uint32_t *old = t->slots;
	size_t n_old = t->n_slots;

	t->slots = calloc(n_old * 2, sizeof(*t->slots));
	if (!t->slots) {
		t->slots = old;
		return HB_ENOMEM;
	}
	t->n_slots = n_old * 2;
	for (size_t s = 0; s < n_old; s++)
		if (old[s])
			slot_insert(t, old[s] - 1);
	free(old);
	return 0;
}

/* Makes sure index idx has storage. */
static int reserve(struct hosts *t, uint32_t idx)
{
	uint32_t need = (idx >> CHUNK_BITS) + 1;

	if (need > t->n_chunks) {
		struct host **c = realloc(t->chunks, need * sizeof(*c));

		if (!c)
			return HB_ENOMEM;
		t->chunks = c;
		for (uint32_t i = t->n_chunks; i < need; i++)
			t->chunks[i] = NULL;
		t->n_chunks = need;
	}
	if (!t->chunks[idx >> CHUNK_BITS]) {
		t->chunks[idx >> CHUNK_BITS] = calloc(CHUNK, sizeof(struct host));
		if (!t->chunks[idx >> CHUNK_BITS])
			return HB_ENOMEM;
	}
	return 0;
}

int hosts_add(struct hosts *t, const uint8_t uuid[16], int64_t rowid,
	      uint32_t *idx)
{
	uint32_t i = rowid > 0 ? (uint32_t)(rowid - 1) : t->end;
	struct host *h;

	if (rowid > (int64_t)HOST_NONE - 1 || (rowid <= 0 && t->end == HOST_NONE))
		return HB_ELIMIT;
	if (hosts_find(t, uuid) != HOST_NONE)
		return HB_EEXIST;
	if ((t->count + 1) * 2 > t->n_slots && rehash(t) < 0)
		return HB_ENOMEM;
	if (reserve(t, i) < 0)
		return HB_ENOMEM;
	h = hosts_at(t, i);
	if (h->flags & HOST_USED)
		return HB_EEXIST;
	memset(h, 0, sizeof(*h));
	memcpy(h->uuid, uuid, 16);
	h->flags = HOST_USED;
	h->wheel_prev = h->wheel_next = h->dirty_next = HOST_NONE;
	hb_replay_init(&h->replay);
	slot_insert(t, i);
	t->count++;
	if (i >= t->end)
		t->end = i + 1;
	*idx = i;
	return 0;
}

size_t hosts_count(const struct hosts *t)
{
	return t->count;
}

uint32_t hosts_end(const struct hosts *t)
{
	return t->end;
}

size_t hosts_memory(const struct hosts *t)
{
	size_t chunks = 0;

	for (uint32_t c = 0; c < t->n_chunks; c++)
		chunks += t->chunks[c] ? CHUNK * sizeof(struct host) : 0;
	return sizeof(*t) + t->n_chunks * sizeof(*t->chunks) + chunks +
	       t->n_slots * sizeof(*t->slots);
}

static bool same(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && memcmp(a, b, blen) == 0;
}

/* Copies n bytes of src and a NUL to *p, advancing it; returns the copy. */
static char *put_text(char **p, const char *src, size_t n)
{
	char *at = *p;

	if (n)
		memcpy(at, src, n);
	at[n] = 0;
	*p += n + 1;
	return at;
}

int hosts_set_attrs(struct host *h, const char *hostname, size_t hlen,
		    const char *owner, size_t olen, const char *version,
		    size_t vlen, const char *labels_json)
{
	struct host_attrs *a = h->attrs;
	size_t llen = strlen(labels_json);
	struct host_attrs *n;
	char *p;

	if (a && same(a->hostname, a->hostname_len, hostname, hlen) &&
	    same(a->owner, a->owner_len, owner, olen) &&
	    same(a->version, a->version_len, version, vlen) &&
	    same(a->labels_json, a->labels_len, labels_json, llen))
		return 0;
	/* ingest caps these at 255 bytes; a loaded row could be longer. */
	if (hlen > UINT16_MAX || olen > UINT16_MAX || vlen > UINT16_MAX ||
	    llen > UINT32_MAX)
		return HB_ELIMIT;
	n = malloc(sizeof(*n) + hlen + olen + vlen + llen + 4);
	if (!n)
		return HB_ENOMEM;
	memset(n, 0, sizeof(*n));
	p = n->text;
	n->hostname = put_text(&p, hostname, hlen);
	n->owner = put_text(&p, owner, olen);
	n->version = put_text(&p, version, vlen);
	n->labels_json = put_text(&p, labels_json, llen);
	n->hostname_len = (uint16_t)hlen;
	n->owner_len = (uint16_t)olen;
	n->version_len = (uint16_t)vlen;
	n->labels_len = (uint32_t)llen;
	if (a) { /* these two are set on their own */
		n->status_msg = a->status_msg;
		a->status_msg = NULL;
		n->has_boot_id = a->has_boot_id;
		memcpy(n->boot_id, a->boot_id, 16);
	}
	attrs_free(a);
	h->attrs = n;
	return 1;
}

int hosts_set_status_msg(struct host *h, const char *msg, size_t len,
			 const uint8_t *boot_id)
{
	struct host_attrs *a = h->attrs;
	int changed = 0;

	if (!a)
		return HB_EINVAL;
	if (!(len ? a->status_msg && same(a->status_msg,
					  strlen(a->status_msg), msg, len)
		  : !a->status_msg)) {
		char *copy = len ? strndup(msg, len) : NULL;

		if (len && !copy)
			return HB_ENOMEM;
		free(a->status_msg);
		a->status_msg = copy;
		changed = 1;
	}
	if (boot_id && (!a->has_boot_id || memcmp(a->boot_id, boot_id, 16))) {
		memcpy(a->boot_id, boot_id, 16);
		a->has_boot_id = true;
		changed = 1;
	}
	return changed;
}

static int name_cmp(const char *a, const char *b, size_t blen)
{
	size_t alen = strlen(a);
	int c = memcmp(a, b, alen < blen ? alen : blen);

	return c ? c : (alen > blen) - (alen < blen);
}

int hosts_set_info(struct host *h, const char *name, size_t len,
		   const uint8_t digest[16])
{
	struct host_info *info;
	uint32_t i = 0;
	char *copy;

	while (i < h->n_info && name_cmp(h->info[i].name, name, len) < 0)
		i++;
	if (i < h->n_info && name_cmp(h->info[i].name, name, len) == 0) {
		memcpy(h->info[i].digest, digest, 16);
		return 0;
	}
	if (h->n_info == MAX_INFO)
		return HB_ELIMIT;
	if (!(copy = strndup(name, len)))
		return HB_ENOMEM;
	info = realloc(h->info, (h->n_info + 1u) * sizeof(*info));
	if (!info) {
		free(copy);
		return HB_ENOMEM;
	}
	memmove(&info[i + 1], &info[i], (h->n_info - i) * sizeof(*info));
	info[i].name = copy;
	memcpy(info[i].digest, digest, 16);
	h->info = info;
	h->n_info++;
	h->flags |= HOST_HAS_INFO;
	return 0;
}

bool hosts_info_digest(const struct host *h, const char *const *names,
		       const uint32_t *lens, uint32_t n, uint8_t out[16])
{
	crypto_generichash_state st;
	static const uint8_t zero;
	bool any = false;

	crypto_generichash_init(&st, NULL, 0, 16);
	for (uint32_t i = 0; i < h->n_info; i++) {
		const struct host_info *in = &h->info[i];
		uint32_t j = 0;

		while (j < n && name_cmp(in->name, names[j], lens[j]) != 0)
			j++;
		if (j == n)
			continue; /* no longer reported: stale */
		crypto_generichash_update(&st, (const uint8_t *)in->name,
					  strlen(in->name));
		crypto_generichash_update(&st, &zero, 1);
		crypto_generichash_update(&st, in->digest, 16);
		any = true;
	}
	crypto_generichash_final(&st, out, 16);
	return any;
}

void hosts_mark_dirty(struct hosts *t, uint32_t idx)
{
	struct host *h = hosts_at(t, idx);

	if (h->flags & HOST_DIRTY)
		return;
	h->flags |= HOST_DIRTY;
	h->dirty_next = t->dirty_head;
	t->dirty_head = idx;
}

uint32_t hosts_take_dirty(struct hosts *t, uint32_t *out, uint32_t max)
{
	uint32_t n = 0;

	while (n < max && t->dirty_head != HOST_NONE) {
		struct host *h = hosts_at(t, t->dirty_head);

		out[n++] = t->dirty_head;
		t->dirty_head = h->dirty_next;
		h->dirty_next = HOST_NONE;
		h->flags &= (uint8_t)~HOST_DIRTY;
	}
	return n;
}
