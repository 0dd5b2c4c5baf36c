/*
 * hb_test.h: fixtures shared by the unit tests of proto/: a fixed test
 * key and host, a header template, one fully populated and one minimal
 * message of each type, field-by-field comparators and a builder of a
 * valid datagram of any type in any security mode. Everything is static
 * inline so every test program includes it without warnings.
 */
#ifndef HB_TEST_H
#define HB_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "hb_error.h"
#include "hb_frame.h"
#include "hb_key.h"
#include "hb_mpr.h"
#include "hb_msg.h"

/* Fails with both codes and their names when rc != want. */
#define assert_rc(rc, want)                                                   \
	do {                                                                  \
		int rc_ = (rc), want_ = (want);                               \
		if (rc_ != want_)                                             \
			fail_msg("%s: got %d (%s), want %d (%s)", #rc, rc_,   \
				 hb_errname(rc_), want_, hb_errname(want_));  \
	} while (0)

#define T_KEY_ID 0x01020304u
#define T_EPOCH 0x11223344u
#define T_SEQ 0x55667788u
#define T_TIME_MS 0x0102030405060708ull

/* Master secret 00 01 02 .. 1f. */
static inline const uint8_t *t_master(void)
{
	static const uint8_t m[HB_KEY_LEN] = {
		0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
		16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};
	return m;
}

/* Host id 10 11 .. 1f (uuid 10111213-1415-1617-1819-1a1b1c1d1e1f). */
static inline const uint8_t *t_host(void)
{
	static const uint8_t h[16] = {0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
				      0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b,
				      0x1c, 0x1d, 0x1e, 0x1f};
	return h;
}

static inline void t_key(struct hb_key *k)
{
	assert_rc(hb_key_init(k, T_KEY_ID, t_master()), 0);
}

/* A valid unfragmented header with distinctive bytes in every field. */
static inline void t_header(struct hb_header *h, uint8_t type, uint8_t mode)
{
	memset(h, 0, sizeof(*h));
	h->version = HB_VERSION;
	h->type = type;
	h->mode = mode;
	h->key_id = T_KEY_ID;
	memcpy(h->host_id, t_host(), 16);
	h->epoch = T_EPOCH;
	h->seq = T_SEQ;
	h->time_ms = T_TIME_MS;
}

/* Makes h fragment index of count of the message starting at seq - index. */
static inline void t_frag(struct hb_header *h, uint16_t index, uint16_t count)
{
	h->flags |= HB_FLAG_FRAG;
	h->frag_msg = h->seq - index;
	h->frag_index = index;
	h->frag_count = count;
}

/* An arbitrary map body for CALL/RES/PROFILE: {"a": 1, "b": [true, nil]}. */
static const uint8_t t_map_body[] = {0x82, 0xa1, 'a',  0x01, 0xa1,
				     'b',  0x92, 0xc3, 0xc0};

/* PLG data: {"free": 12345, "mounts": ["/", "/var"]}. */
static const uint8_t t_plg_data[] = {
	0x82, 0xa4, 'f', 'r', 'e', 'e', 0xcd, 0x30, 0x39, 0xa6, 'm', 'o',
	'u',  'n',  't', 's', 0x92, 0xa1, '/', 0xa4, '/',  'v',  'a', 'r'};

static inline void t_htb_min(struct hb_htb *m)
{
	memset(m, 0, sizeof(*m));
	m->interval = 60;
	m->hostname = hb_str_c("web-1");
	m->status = HB_STATUS_OK;
}

static inline void t_htb_full(struct hb_htb *m)
{
	t_htb_min(m);
	m->interval = HB_INTERVAL_MAX;
	m->status = HB_STATUS_WARNING;
	m->status_msg = hb_str_c("disk almost full");
	m->owner = hb_str_c("ops");
	m->version = hb_str_c("0.1.0");
	m->start_time = 1700000000;
	m->uptime = UINT64_MAX;
	m->has = HB_HTB_HAS_BOOT_ID | HB_HTB_HAS_LOAD | HB_HTB_HAS_DIGEST;
	for (int i = 0; i < 16; i++) {
		m->boot_id[i] = (uint8_t)(0xb0 + i);
		m->info_digest[i] = (uint8_t)(0xd0 + i);
	}
	m->load[0] = 0.5;
	m->load[1] = 1.25;
	m->load[2] = 1e300;
	m->n_labels = 2;
	m->labels[0] = (struct hb_label){hb_str_c("env"), hb_str_c("prod")};
	m->labels[1] = (struct hb_label){hb_str_c("rack"), hb_str_c("")};
	m->n_plugins = 3;
	m->plugins[0] = (struct hb_htb_plugin){hb_str_c("cpu"),
						  HB_STATUS_OK, hb_str_c("")};
	m->plugins[1] = (struct hb_htb_plugin){
		hb_str_c("disk"), HB_STATUS_CRITICAL, hb_str_c("/ 97% full")};
	m->plugins[2] = (struct hb_htb_plugin){
		hb_str_c("mem"), HB_STATUS_UNKNOWN, hb_str_c("no data")};
}

static inline void t_ack_min(struct hb_ack *m)
{
	memset(m, 0, sizeof(*m));
	m->ack_epoch = 1;
}

static inline void t_ack_full(struct hb_ack *m)
{
	m->ack_epoch = UINT32_MAX;
	m->ack_seq = 0x89abcdef;
	m->request_update = true;
	m->interval = 30;
}

static inline void t_plg_min(struct hb_plg *m)
{
	static const uint8_t nil = 0xc0;

	memset(m, 0, sizeof(*m));
	m->plugin = hb_str_c("os");
	m->kind = HB_KIND_INFO;
	m->time_ms = 1;
	m->data = &nil;
	m->data_len = 1;
}

static inline void t_plg_full(struct hb_plg *m)
{
	t_plg_min(m);
	m->plugin = hb_str_c("disk");
	m->kind = HB_KIND_MONITOR;
	m->time_ms = 1700000000123;
	m->interval = 60;
	m->status = HB_STATUS_CRITICAL;
	m->message = hb_str_c("/ 97% full");
	m->data = t_plg_data;
	m->data_len = sizeof(t_plg_data);
}

static inline void t_bye_min(struct hb_bye *m)
{
	memset(m, 0, sizeof(*m));
}

static inline void t_bye_full(struct hb_bye *m)
{
	m->reason = hb_str_c("shutdown");
}

static inline void t_str_equal(struct hb_str a, struct hb_str b)
{
	assert_int_equal(a.len, b.len);
	if (a.len)
		assert_memory_equal(a.ptr, b.ptr, a.len);
}

static inline void t_double_equal(double a, double b)
{
	assert_memory_equal(&a, &b, sizeof(double));
}

static inline void t_htb_equal(const struct hb_htb *a, const struct hb_htb *b)
{
	assert_int_equal(a->interval, b->interval);
	t_str_equal(a->hostname, b->hostname);
	assert_int_equal(a->status, b->status);
	t_str_equal(a->status_msg, b->status_msg);
	t_str_equal(a->owner, b->owner);
	t_str_equal(a->version, b->version);
	assert_int_equal(a->start_time, b->start_time);
	assert_int_equal(a->uptime, b->uptime);
	assert_int_equal(a->has, b->has);
	if (a->has & HB_HTB_HAS_BOOT_ID)
		assert_memory_equal(a->boot_id, b->boot_id, 16);
	if (a->has & HB_HTB_HAS_LOAD)
		for (int i = 0; i < 3; i++)
			t_double_equal(a->load[i], b->load[i]);
	if (a->has & HB_HTB_HAS_DIGEST)
		assert_memory_equal(a->info_digest, b->info_digest, 16);
	assert_int_equal(a->n_labels, b->n_labels);
	for (uint32_t i = 0; i < a->n_labels; i++) {
		t_str_equal(a->labels[i].key, b->labels[i].key);
		t_str_equal(a->labels[i].value, b->labels[i].value);
	}
	assert_int_equal(a->n_plugins, b->n_plugins);
	for (uint32_t i = 0; i < a->n_plugins; i++) {
		t_str_equal(a->plugins[i].name, b->plugins[i].name);
		assert_int_equal(a->plugins[i].status, b->plugins[i].status);
		t_str_equal(a->plugins[i].message, b->plugins[i].message);
	}
}

static inline void t_ack_equal(const struct hb_ack *a, const struct hb_ack *b)
{
	assert_int_equal(a->ack_epoch, b->ack_epoch);
	assert_int_equal(a->ack_seq, b->ack_seq);
	assert_int_equal(a->request_update, b->request_update);
	assert_int_equal(a->interval, b->interval);
}

static inline void t_plg_equal(const struct hb_plg *a, const struct hb_plg *b)
{
	t_str_equal(a->plugin, b->plugin);
	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->time_ms, b->time_ms);
	assert_int_equal(a->interval, b->interval);
	assert_int_equal(a->status, b->status);
	t_str_equal(a->message, b->message);
	assert_int_equal(a->data_len, b->data_len);
	assert_memory_equal(a->data, b->data, a->data_len);
}

static inline void t_bye_equal(const struct hb_bye *a, const struct hb_bye *b)
{
	t_str_equal(a->reason, b->reason);
}

static inline void t_header_equal(const struct hb_header *a,
				  const struct hb_header *b)
{
	assert_int_equal(a->version, b->version);
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->mode, b->mode);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->key_id, b->key_id);
	assert_memory_equal(a->host_id, b->host_id, 16);
	assert_int_equal(a->epoch, b->epoch);
	assert_int_equal(a->seq, b->seq);
	assert_int_equal(a->time_ms, b->time_ms);
	if (a->flags & HB_FLAG_FRAG) {
		assert_int_equal(a->frag_msg, b->frag_msg);
		assert_int_equal(a->frag_index, b->frag_index);
		assert_int_equal(a->frag_count, b->frag_count);
	}
}

/*
 * Encodes the full sample message of a type into out (t_map_body for the
 * reserved types); returns the encoder's code.
 */
static inline int t_encode(uint8_t type, uint8_t *out, size_t cap,
			   size_t *len)
{
	static struct hb_htb htb;
	struct hb_ack ack;
	struct hb_plg plg;
	struct hb_bye bye;

	switch (type) {
	case HB_HTB:
		t_htb_full(&htb);
		return hb_htb_encode(&htb, out, cap, len);
	case HB_ACK:
		t_ack_full(&ack);
		return hb_ack_encode(&ack, out, cap, len);
	case HB_PLG:
		t_plg_full(&plg);
		return hb_plg_encode(&plg, out, cap, len);
	case HB_BYE:
		t_bye_full(&bye);
		return hb_bye_encode(&bye, out, cap, len);
	default:
		if (cap < sizeof(t_map_body))
			return HB_ENOSPC;
		memcpy(out, t_map_body, sizeof(t_map_body));
		*len = sizeof(t_map_body);
		return 0;
	}
}

/* t_encode() that must succeed; returns the body length. */
static inline size_t t_body(uint8_t type, uint8_t *out, size_t cap)
{
	size_t len = 0;

	assert_rc(t_encode(type, out, cap, &len), 0);
	return len;
}

/*
 * Decodes a body of this type; when check, compares it with the message
 * t_encode() makes. Returns the decoder's code (hb_mpr_check's for the
 * reserved types).
 */
static inline int t_decode(uint8_t type, const uint8_t *b, size_t n,
			   bool check)
{
	static struct hb_htb htb, got;
	struct hb_ack ack, ack2;
	struct hb_plg plg, plg2;
	struct hb_bye bye, bye2;
	int rc;

	switch (type) {
	case HB_HTB:
		if ((rc = hb_htb_decode(b, n, &got)) == 0 && check)
			t_htb_full(&htb), t_htb_equal(&htb, &got);
		return rc;
	case HB_ACK:
		if ((rc = hb_ack_decode(b, n, &ack2)) == 0 && check)
			t_ack_full(&ack), t_ack_equal(&ack, &ack2);
		return rc;
	case HB_PLG:
		if ((rc = hb_plg_decode(b, n, &plg2)) == 0 && check)
			t_plg_full(&plg), t_plg_equal(&plg, &plg2);
		return rc;
	case HB_BYE:
		if ((rc = hb_bye_decode(b, n, &bye2)) == 0 && check)
			t_bye_full(&bye), t_bye_equal(&bye, &bye2);
		return rc;
	default:
		if ((rc = hb_mpr_check(b, n)) == 0 && check) {
			assert_int_equal(n, sizeof(t_map_body));
			assert_memory_equal(b, t_map_body, n);
		}
		return rc;
	}
}

/*
 * Builds a valid datagram of this type and mode (header from t_header(),
 * fragment index 1 of 3 when frag, body from t_body(), sealed with
 * t_key()) into out and returns its length.
 */
static inline size_t t_datagram(uint8_t type, uint8_t mode, bool frag,
				uint8_t *out, size_t cap)
{
	uint8_t body[HB_FRAME_MAX];
	struct hb_header h;
	struct hb_key k;
	size_t blen = t_body(type, body, sizeof(body)), len = 0;

	t_key(&k);
	t_header(&h, type, mode);
	if (frag)
		t_frag(&h, 1, 3);
	assert_rc(hb_frame_seal(&h, &k, body, blen, out, cap, &len), 0);
	return len;
}

/* The buffer t_dup() returned last; freed by the next call. */
static inline uint8_t **t_dup_slot(void)
{
	static uint8_t *last;
	return &last;
}

/*
 * A heap copy of exactly len bytes, so ASan catches any over-read. It
 * lives until the next t_dup() or t_dup_free(): a failing assertion
 * leaks nothing.
 */
static inline uint8_t *t_dup(const uint8_t *p, size_t len)
{
	uint8_t **slot = t_dup_slot();

	free(*slot);
	*slot = malloc(len ? len : 1);
	assert_non_null(*slot);
	if (len)
		memcpy(*slot, p, len);
	return *slot;
}

static inline void t_dup_free(void)
{
	free(*t_dup_slot());
	*t_dup_slot() = NULL;
}

#endif
