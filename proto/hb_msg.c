/*
 * hb_msg: message bodies. Encoding uses msgpack-c's packer writing into
 * a fixed buffer; decoding walks the map with hb_mpr. Every decoder has a
 * table of the keys it knows; a key's index in it is also its bit in the
 * mask that catches duplicates.
 */
#include <string.h>

#include <msgpack.h>
#include <sodium.h>

#include "hb_error.h"
#include "hb_mpr.h"
#include "hb_msg.h"

struct hb_str hb_str_c(const char *s)
{
	struct hb_str r = {s ? s : "", s ? (uint32_t)strlen(s) : 0};
	return r;
}

const char *hb_status_name(uint8_t status)
{
	static const char *const names[] = {"OK", "WARNING", "CRITICAL",
					    "UNKNOWN"};
	return status <= HB_STATUS_UNKNOWN ? names[status] : "?";
}

uint8_t hb_status_worst(uint8_t a, uint8_t b)
{
	/* Severity by status: OK 0, WARNING 2, CRITICAL 3, UNKNOWN 1. */
	static const uint8_t rank[] = {0, 2, 3, 1};

	if (a > HB_STATUS_UNKNOWN || b > HB_STATUS_UNKNOWN)
		return HB_STATUS_UNKNOWN;
	return rank[a] >= rank[b] ? a : b;
}

/* ---- encoding ---- */

struct out {
	uint8_t *buf;
	size_t cap, len;
};

static int out_write_cb(void *data, const char *p, size_t n)
{
	struct out *o = data;

	if (n > o->cap - o->len)
		return -1;
	memcpy(o->buf + o->len, p, n);
	o->len += n;
	return 0;
}

/* A packer and its buffer; every pack call's failure means ENOSPC. */
struct enc {
	struct out out;
	msgpack_packer pk;
	int err;
};

static void enc_init(struct enc *e, uint8_t *buf, size_t cap)
{
	e->out = (struct out){buf, cap, 0};
	e->err = 0;
	msgpack_packer_init(&e->pk, &e->out, out_write_cb);
}

static void chk(struct enc *e, int rc)
{
	if (rc != 0)
		e->err = HB_ENOSPC;
}

static void put_key(struct enc *e, const char *k)
{
	size_t n = strlen(k);

	chk(e, msgpack_pack_str(&e->pk, n));
	chk(e, msgpack_pack_str_body(&e->pk, k, n));
}

static void put_str(struct enc *e, struct hb_str s)
{
	chk(e, msgpack_pack_str(&e->pk, s.len));
	chk(e, msgpack_pack_str_body(&e->pk, s.ptr, s.len));
}

static void put_kstr(struct enc *e, const char *k, struct hb_str s)
{
	put_key(e, k);
	put_str(e, s);
}

static void put_kuint(struct enc *e, const char *k, uint64_t v)
{
	put_key(e, k);
	chk(e, msgpack_pack_uint64(&e->pk, v));
}

static void put_kbin(struct enc *e, const char *k, const uint8_t *b, size_t n)
{
	put_key(e, k);
	chk(e, msgpack_pack_bin(&e->pk, n));
	chk(e, msgpack_pack_bin_body(&e->pk, b, n));
}

static int enc_end(struct enc *e, size_t *len)
{
	if (e->err)
		return e->err;
	*len = e->out.len;
	return 0;
}

static bool interval_ok(uint32_t s)
{
	return s >= HB_INTERVAL_MIN && s <= HB_INTERVAL_MAX;
}

int hb_htb_encode(const struct hb_htb *m, uint8_t *out, size_t cap,
		  size_t *len)
{
	uint32_t n = 3;
	struct enc e;

	if (!interval_ok(m->interval) || !m->hostname.len ||
	    m->status > HB_STATUS_UNKNOWN || m->n_labels > HB_HTB_MAX_LABELS ||
	    m->n_plugins > HB_HTB_MAX_PLUGINS)
		return HB_EINVAL;
	for (uint32_t i = 0; i < m->n_plugins; i++)
		if (m->plugins[i].status > HB_STATUS_UNKNOWN)
			return HB_EINVAL;
	n += !!m->status_msg.len + !!m->owner.len + !!m->version.len +
	     !!m->start_time + !!m->uptime + !!(m->has & HB_HTB_HAS_BOOT_ID) +
	     !!(m->has & HB_HTB_HAS_LOAD) + !!(m->has & HB_HTB_HAS_DIGEST) +
	     !!m->n_labels + !!m->n_plugins;
	enc_init(&e, out, cap);
	chk(&e, msgpack_pack_map(&e.pk, n));
	put_kuint(&e, "interval", m->interval);
	put_kstr(&e, "hostname", m->hostname);
	put_kuint(&e, "status", m->status);
	if (m->status_msg.len)
		put_kstr(&e, "status_msg", m->status_msg);
	if (m->owner.len)
		put_kstr(&e, "owner", m->owner);
	if (m->version.len)
		put_kstr(&e, "version", m->version);
	if (m->start_time)
		put_kuint(&e, "start_time", m->start_time);
	if (m->uptime)
		put_kuint(&e, "uptime", m->uptime);
	if (m->has & HB_HTB_HAS_BOOT_ID)
		put_kbin(&e, "boot_id", m->boot_id, 16);
	if (m->has & HB_HTB_HAS_LOAD) {
		put_key(&e, "load");
		chk(&e, msgpack_pack_array(&e.pk, 3));
		for (int i = 0; i < 3; i++)
			chk(&e, msgpack_pack_double(&e.pk, m->load[i]));
	}
	if (m->has & HB_HTB_HAS_DIGEST)
		put_kbin(&e, "info_digest", m->info_digest, HB_DIGEST_LEN);
	if (m->n_labels) {
		put_key(&e, "labels");
		chk(&e, msgpack_pack_map(&e.pk, m->n_labels));
		for (uint32_t i = 0; i < m->n_labels; i++) {
			put_str(&e, m->labels[i].key);
			put_str(&e, m->labels[i].value);
		}
	}
	if (m->n_plugins) {
		put_key(&e, "plugins");
		chk(&e, msgpack_pack_map(&e.pk, m->n_plugins));
		for (uint32_t i = 0; i < m->n_plugins; i++) {
			put_str(&e, m->plugins[i].name);
			chk(&e, msgpack_pack_array(&e.pk, 2));
			chk(&e, msgpack_pack_uint8(&e.pk, m->plugins[i].status));
			put_str(&e, m->plugins[i].message);
		}
	}
	return enc_end(&e, len);
}

int hb_ack_encode(const struct hb_ack *m, uint8_t *out, size_t cap,
		  size_t *len)
{
	struct enc e;

	if (m->interval && !interval_ok(m->interval))
		return HB_EINVAL;
	enc_init(&e, out, cap);
	chk(&e, msgpack_pack_map(&e.pk, 2 + m->request_update + !!m->interval));
	put_kuint(&e, "ack_epoch", m->ack_epoch);
	put_kuint(&e, "ack_seq", m->ack_seq);
	if (m->request_update) {
		put_key(&e, "request_update");
		chk(&e, msgpack_pack_true(&e.pk));
	}
	if (m->interval)
		put_kuint(&e, "interval", m->interval);
	return enc_end(&e, len);
}

int hb_plg_encode(const struct hb_plg *m, uint8_t *out, size_t cap,
		  size_t *len)
{
	struct enc e;

	if (!m->plugin.len || m->kind > HB_KIND_MONITOR ||
	    m->status > HB_STATUS_UNKNOWN || !m->data ||
	    hb_mpr_check(m->data, m->data_len) < 0 ||
	    (m->interval && !interval_ok(m->interval)))
		return HB_EINVAL;
	enc_init(&e, out, cap);
	chk(&e, msgpack_pack_map(&e.pk, 5 + !!m->interval + !!m->message.len));
	put_kstr(&e, "plugin", m->plugin);
	put_kuint(&e, "kind", m->kind);
	put_kuint(&e, "time", m->time_ms);
	if (m->interval)
		put_kuint(&e, "interval", m->interval);
	put_kuint(&e, "status", m->status);
	if (m->message.len)
		put_kstr(&e, "message", m->message);
	put_key(&e, "data");
	/* Already msgpack: copy the bytes through the packer's writer. */
	if (!e.err && out_write_cb(&e.out, (const char *)m->data, m->data_len))
		e.err = HB_ENOSPC;
	return enc_end(&e, len);
}

int hb_bye_encode(const struct hb_bye *m, uint8_t *out, size_t cap,
		  size_t *len)
{
	struct enc e;

	enc_init(&e, out, cap);
	chk(&e, msgpack_pack_map(&e.pk, !!m->reason.len));
	if (m->reason.len)
		put_kstr(&e, "reason", m->reason);
	return enc_end(&e, len);
}

/* ---- decoding ---- */

/*
 * Walks the top-level map of buf[0..len) and calls field(ctx, r, index)
 * with the cursor on the value of each key found in names[0..count);
 * other values are skipped. field() must consume the value.
 */
typedef int (*field_cb)(void *ctx, struct hb_mpr *r, int index);

static int walk(const uint8_t *buf, size_t len, const char *const *names,
		int count, uint32_t *seen, field_cb field, void *ctx)
{
	struct hb_mpr r;
	uint32_t n;
	int rc, next = 0;

	hb_mpr_init(&r, buf, len);
	*seen = 0;
	if ((rc = hb_mpr_map(&r, &n)) < 0)
		return rc == HB_EFIELD ? HB_EMSGPACK : rc;
	while (n--) {
		const char *k;
		uint32_t klen;
		int i = count;

		if ((rc = hb_mpr_str(&r, &k, &klen)) < 0)
			return rc == HB_EFIELD ? HB_EMSGPACK : rc;
		/* Senders write the keys in names[] order, as ours do: look
		 * at the one after the last match first. */
		for (int t = 0; t < count; t++) {
			int at = next + t < count ? next + t : next + t - count;

			if (hb_mpr_streq(k, klen, names[at])) {
				i = at;
				next = at + 1;
				break;
			}
		}
		if (i == count) {
			rc = hb_mpr_skip(&r);
		} else if (*seen & 1u << i) {
			return HB_EFIELD;
		} else {
			*seen |= 1u << i;
			rc = field(ctx, &r, i);
		}
		if (rc < 0)
			return rc;
	}
	return hb_mpr_left(&r) ? HB_EMSGPACK : 0;
}

static int get_str(struct hb_mpr *r, struct hb_str *s)
{
	return hb_mpr_str(r, &s->ptr, &s->len);
}

static int get_u32(struct hb_mpr *r, uint32_t *v, uint64_t lo, uint64_t hi)
{
	uint64_t u;
	int rc = hb_mpr_uint(r, &u);

	if (rc < 0)
		return rc;
	if (u < lo || u > hi)
		return HB_EFIELD;
	*v = (uint32_t)u;
	return 0;
}

static int get_u8(struct hb_mpr *r, uint8_t *v, uint8_t hi)
{
	uint32_t u;
	int rc = get_u32(r, &u, 0, hi);

	if (rc == 0)
		*v = (uint8_t)u;
	return rc;
}

static int get_bin16(struct hb_mpr *r, uint8_t out[16])
{
	const uint8_t *b;
	uint32_t n;
	int rc = hb_mpr_bin(r, &b, &n);

	if (rc < 0)
		return rc;
	if (n != 16)
		return HB_EFIELD;
	memcpy(out, b, 16);
	return 0;
}

static int get_load(struct hb_mpr *r, double load[3])
{
	uint32_t n;
	int rc = hb_mpr_array(r, &n);

	if (rc < 0)
		return rc;
	if (n != 3)
		return HB_EFIELD;
	for (int i = 0; i < 3 && rc == 0; i++)
		rc = hb_mpr_double(r, &load[i]);
	return rc;
}

static int get_labels(struct hb_mpr *r, struct hb_htb *m)
{
	uint32_t n;
	int rc = hb_mpr_map(r, &n);

	if (rc < 0)
		return rc;
	if (n > HB_HTB_MAX_LABELS)
		return HB_ELIMIT;
	for (m->n_labels = 0; m->n_labels < n; m->n_labels++) {
		struct hb_label *l = &m->labels[m->n_labels];

		if ((rc = get_str(r, &l->key)) < 0 ||
		    (rc = get_str(r, &l->value)) < 0)
			return rc;
	}
	return 0;
}

static int get_plugins(struct hb_mpr *r, struct hb_htb *m)
{
	uint32_t n, items;
	int rc = hb_mpr_map(r, &n);

	if (rc < 0)
		return rc;
	if (n > HB_HTB_MAX_PLUGINS)
		return HB_ELIMIT;
	for (m->n_plugins = 0; m->n_plugins < n; m->n_plugins++) {
		struct hb_htb_plugin *p = &m->plugins[m->n_plugins];

		if ((rc = get_str(r, &p->name)) < 0 ||
		    (rc = hb_mpr_array(r, &items)) < 0)
			return rc;
		if (items < 2)
			return HB_EFIELD;
		if ((rc = get_u8(r, &p->status, HB_STATUS_UNKNOWN)) < 0 ||
		    (rc = get_str(r, &p->message)) < 0)
			return rc;
		/* Later versions may append elements. */
		for (uint32_t i = 2; i < items && rc == 0; i++)
			rc = hb_mpr_skip(r);
		if (rc < 0)
			return rc;
	}
	return 0;
}

enum {
	HTB_INTERVAL, HTB_HOSTNAME, HTB_STATUS, HTB_STATUS_MSG, HTB_OWNER,
	HTB_VERSION, HTB_START_TIME, HTB_UPTIME, HTB_BOOT_ID, HTB_LOAD,
	HTB_DIGEST, HTB_LABELS, HTB_PLUGINS, HTB_NKEYS
};
static const char *const htb_keys[HTB_NKEYS] = {
	"interval", "hostname", "status", "status_msg", "owner",
	"version", "start_time", "uptime", "boot_id", "load",
	"info_digest", "labels", "plugins",
};

static int htb_field(void *ctx, struct hb_mpr *r, int i)
{
	struct hb_htb *m = ctx;

	switch (i) {
	case HTB_INTERVAL:
		return get_u32(r, &m->interval, HB_INTERVAL_MIN, HB_INTERVAL_MAX);
	case HTB_HOSTNAME: return get_str(r, &m->hostname);
	case HTB_STATUS: return get_u8(r, &m->status, HB_STATUS_UNKNOWN);
	case HTB_STATUS_MSG: return get_str(r, &m->status_msg);
	case HTB_OWNER: return get_str(r, &m->owner);
	case HTB_VERSION: return get_str(r, &m->version);
	case HTB_START_TIME: return hb_mpr_uint(r, &m->start_time);
	case HTB_UPTIME: return hb_mpr_uint(r, &m->uptime);
	case HTB_BOOT_ID:
		m->has |= HB_HTB_HAS_BOOT_ID;
		return get_bin16(r, m->boot_id);
	case HTB_LOAD:
		m->has |= HB_HTB_HAS_LOAD;
		return get_load(r, m->load);
	case HTB_DIGEST:
		m->has |= HB_HTB_HAS_DIGEST;
		return get_bin16(r, m->info_digest);
	case HTB_LABELS: return get_labels(r, m);
	case HTB_PLUGINS: return get_plugins(r, m);
	}
	return HB_EINVAL;
}

/* Absent optional strings decode as empty ones, never NULL. */
static const struct hb_str empty = {"", 0};

/* Zeroes the scalar part of an HTB; the arrays are bounded by counts. */
static void htb_clear(struct hb_htb *m)
{
	memset(m, 0, offsetof(struct hb_htb, labels));
	m->n_plugins = 0;
	m->hostname = m->status_msg = m->owner = m->version = empty;
}

#define REQUIRED(seen, bits) (((seen) & (bits)) == (bits) ? 0 : HB_EMISSING)
#define BIT(i) (1u << (i))

int hb_htb_decode(const uint8_t *buf, size_t len, struct hb_htb *m)
{
	uint32_t seen;
	int rc;

	htb_clear(m);
	rc = walk(buf, len, htb_keys, HTB_NKEYS, &seen, htb_field, m);
	if (rc < 0)
		return rc;
	if (!m->hostname.len && (seen & BIT(HTB_HOSTNAME)))
		return HB_EFIELD;
	return REQUIRED(seen, BIT(HTB_INTERVAL) | BIT(HTB_HOSTNAME) |
				      BIT(HTB_STATUS));
}

enum { ACK_EPOCH, ACK_SEQ, ACK_REQUEST_UPDATE, ACK_INTERVAL, ACK_NKEYS };
static const char *const ack_keys[ACK_NKEYS] = {
	"ack_epoch", "ack_seq", "request_update", "interval",
};

static int ack_field(void *ctx, struct hb_mpr *r, int i)
{
	struct hb_ack *m = ctx;

	switch (i) {
	case ACK_EPOCH: return get_u32(r, &m->ack_epoch, 0, UINT32_MAX);
	case ACK_SEQ: return get_u32(r, &m->ack_seq, 0, UINT32_MAX);
	case ACK_REQUEST_UPDATE: return hb_mpr_bool(r, &m->request_update);
	case ACK_INTERVAL:
		return get_u32(r, &m->interval, HB_INTERVAL_MIN, HB_INTERVAL_MAX);
	}
	return HB_EINVAL;
}

int hb_ack_decode(const uint8_t *buf, size_t len, struct hb_ack *m)
{
	uint32_t seen;
	int rc;

	memset(m, 0, sizeof(*m));
	rc = walk(buf, len, ack_keys, ACK_NKEYS, &seen, ack_field, m);
	if (rc < 0)
		return rc;
	return REQUIRED(seen, BIT(ACK_EPOCH) | BIT(ACK_SEQ));
}

enum {
	PLG_PLUGIN, PLG_KIND, PLG_TIME, PLG_INTERVAL, PLG_STATUS, PLG_MESSAGE,
	PLG_DATA, PLG_NKEYS
};
static const char *const plg_keys[PLG_NKEYS] = {
	"plugin", "kind", "time", "interval", "status", "message", "data",
};

static int plg_field(void *ctx, struct hb_mpr *r, int i)
{
	struct hb_plg *m = ctx;
	const uint8_t *start = r->p;
	int rc;

	switch (i) {
	case PLG_PLUGIN: return get_str(r, &m->plugin);
	case PLG_KIND: return get_u8(r, &m->kind, HB_KIND_MONITOR);
	case PLG_TIME: return hb_mpr_uint(r, &m->time_ms);
	case PLG_INTERVAL:
		return get_u32(r, &m->interval, 0, HB_INTERVAL_MAX);
	case PLG_STATUS: return get_u8(r, &m->status, HB_STATUS_UNKNOWN);
	case PLG_MESSAGE: return get_str(r, &m->message);
	case PLG_DATA:
		if ((rc = hb_mpr_skip(r)) < 0)
			return rc;
		m->data = start;
		m->data_len = (uint32_t)(r->p - start);
		return 0;
	}
	return HB_EINVAL;
}

int hb_plg_decode(const uint8_t *buf, size_t len, struct hb_plg *m)
{
	uint32_t seen;
	int rc;

	memset(m, 0, sizeof(*m));
	m->plugin = m->message = empty;
	rc = walk(buf, len, plg_keys, PLG_NKEYS, &seen, plg_field, m);
	if (rc < 0)
		return rc;
	if (!m->plugin.len && (seen & BIT(PLG_PLUGIN)))
		return HB_EFIELD;
	return REQUIRED(seen, BIT(PLG_PLUGIN) | BIT(PLG_KIND) | BIT(PLG_TIME) |
				      BIT(PLG_DATA));
}

static int bye_field(void *ctx, struct hb_mpr *r, int i)
{
	return get_str(r, &((struct hb_bye *)ctx)->reason);
}

int hb_bye_decode(const uint8_t *buf, size_t len, struct hb_bye *m)
{
	static const char *const keys[] = {"reason"};
	uint32_t seen;

	memset(m, 0, sizeof(*m));
	m->reason = empty;
	return walk(buf, len, keys, 1, &seen, bye_field, m);
}

/* ---- Info digest ---- */

void hb_digest_init(struct hb_digest *d)
{
	crypto_generichash_init(&d->state, NULL, 0, HB_DIGEST_LEN);
}

void hb_data_digest(const uint8_t *data, size_t len, uint8_t out[HB_DIGEST_LEN])
{
	crypto_generichash(out, HB_DIGEST_LEN, data, len, NULL, 0);
}

void hb_digest_add(struct hb_digest *d, struct hb_str name,
		   const uint8_t *data, size_t data_len)
{
	static const uint8_t zero;
	uint8_t sub[HB_DIGEST_LEN];

	hb_data_digest(data, data_len, sub);
	crypto_generichash_update(&d->state, (const uint8_t *)name.ptr, name.len);
	crypto_generichash_update(&d->state, &zero, 1);
	crypto_generichash_update(&d->state, sub, sizeof(sub));
}

void hb_digest_final(struct hb_digest *d, uint8_t out[HB_DIGEST_LEN])
{
	crypto_generichash_final(&d->state, out, HB_DIGEST_LEN);
}
