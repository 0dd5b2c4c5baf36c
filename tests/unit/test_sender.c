/*
 * Tests of hbc's protocol client, with the send function and the clocks
 * injected: every datagram it sends is captured and read back as the
 * server would (hb_frame_open, hb_*_decode), and ACKs are built as the
 * server builds them. Covers the HTB's fields and Info digest, the ACK
 * acceptance rules, PLG retransmission with backoff and fresh seqs,
 * fragmentation, the spool bound, failover and return to the first
 * server, the interval override, request_update and BYE.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "hb_error.h"
#include "hb_frame.h"
#include "hb_key.h"
#include "hb_msg.h"
#include "sender.h"

#define EPOCH 1795560000u
#define SERVER_EPOCH 1795550000u
#define T0 1795560010000ull
#define MAX_CAP 4096

struct cap {
	uint32_t server;
	size_t len;
	uint8_t buf[HB_FRAME_MAX];
	struct hb_header h;
	const uint8_t *body;
	size_t blen;
};

static struct {
	struct cap *v;
	size_t n;
	uint64_t unix_ms, mono_ms;
	int recollects, interval_calls;
	uint32_t interval;
	uint32_t server_seq;
} io;

static struct hb_key key, other_key;
static const uint8_t host[16] = {0x6f, 0x1c, 0x2a, 0x9e, 0x3b, 0x4d, 0x4c,
				 0x5e, 0x8f, 0x70, 0x12, 0x34, 0x56, 0x78,
				 0x9a, 0xbc};

static int f_send(void *ctx, uint32_t server, const uint8_t *buf, size_t len)
{
	struct cap *c;

	assert_true(io.n < MAX_CAP);
	c = &io.v[io.n++];
	c->server = server;
	c->len = len;
	memcpy(c->buf, buf, len);
	/* Read it back as the server does. */
	assert_int_equal(hb_frame_parse(c->buf, len, &c->h), 0);
	assert_int_equal(hb_frame_open(c->buf, len, &c->h,
				       c->h.mode ? &key : NULL, &c->body,
				       &c->blen), 0);
	return 0;
}

static uint64_t f_unix(void *ctx)
{
	return io.unix_ms;
}

static uint64_t f_mono(void *ctx)
{
	return io.mono_ms;
}

static void f_recollect(void *ctx)
{
	io.recollects++;
}

static void f_interval(void *ctx, uint32_t s)
{
	io.interval_calls++;
	io.interval = s;
}

static const struct sender_io fio = {
	.send = f_send, .unix_ms = f_unix, .mono_ms = f_mono,
	.recollect_info = f_recollect, .interval_changed = f_interval,
};

static struct sender_opts opts(void)
{
	return (struct sender_opts){
		.mode = HB_MODE_SIGN, .key = &key, .interval_s = 10,
		.n_servers = 1, .failover_after = 3,
		.spool_bytes = 4 << 20, .retransmit_ms = 2000,
		.retransmit_max_ms = 60000, .max_datagram = 1400,
	};
}

static int setup(void **state)
{
	uint8_t m[HB_KEY_LEN];

	memset(&io, 0, sizeof(io));
	io.v = calloc(MAX_CAP, sizeof(*io.v));
	io.unix_ms = T0;
	io.mono_ms = 1000000;
	for (int i = 0; i < HB_KEY_LEN; i++)
		m[i] = (uint8_t)i;
	hb_key_init(&key, 1, m);
	m[0] ^= 1;
	hb_key_init(&other_key, 1, m);
	return io.v ? 0 : -1;
}

static int teardown(void **state)
{
	free(io.v);
	return 0;
}

static struct sender *new_sender(const struct sender_opts *o)
{
	struct sender *s = sender_new(host, EPOCH, o, &fio);

	assert_non_null(s);
	return s;
}

static struct cap *last(void)
{
	assert_true(io.n > 0);
	return &io.v[io.n - 1];
}

/* An ACK as hbd seals it: our host id, its epoch and seq, its clock. */
static size_t make_ack(uint8_t *out, const struct hb_ack *a,
		       const struct hb_key *k, uint8_t mode,
		       const uint8_t *host_id)
{
	struct hb_header h = {.version = HB_VERSION, .type = HB_ACK,
			      .mode = mode, .key_id = mode ? k->id : 0,
			      .epoch = SERVER_EPOCH, .seq = ++io.server_seq,
			      .time_ms = io.unix_ms};
	uint8_t body[128];
	size_t blen, len;

	memcpy(h.host_id, host_id, 16);
	assert_int_equal(hb_ack_encode(a, body, sizeof(body), &blen), 0);
	assert_int_equal(hb_frame_seal(&h, mode ? k : NULL, body, blen, out,
				       HB_FRAME_MAX, &len), 0);
	return len;
}

/* Acknowledges the datagram c as the server would (ack_seq = msg). */
static int ack_full(struct sender *s, const struct cap *c, uint32_t interval,
		    bool update)
{
	struct hb_ack a = {
		.ack_epoch = c->h.epoch,
		.ack_seq = c->h.flags & HB_FLAG_FRAG ? c->h.frag_msg : c->h.seq,
		.request_update = update, .interval = interval};
	uint8_t buf[HB_FRAME_MAX];
	size_t len = make_ack(buf, &a, &key, HB_MODE_SIGN, host);

	return sender_receive(s, buf, len);
}

static int ack(struct sender *s, const struct cap *c)
{
	return ack_full(s, c, 0, false);
}

static void sample(struct sender *s, const char *name, uint8_t kind,
		   uint8_t status, const char *msg, const uint8_t *data,
		   size_t len)
{
	struct sender_sample smp = {
		.plugin = name, .kind = kind, .interval_s = 60,
		.status = status, .message = msg, .data = data, .len = len,
		.time_ms = io.unix_ms};

	assert_int_equal(sender_sample(s, &smp), 0);
}

static void decode_htb(const struct cap *c, struct hb_htb *m)
{
	assert_int_equal(c->h.type, HB_HTB);
	assert_int_equal(hb_htb_decode(c->body, c->blen, m), 0);
}

static void decode_plg(const struct cap *c, struct hb_plg *m)
{
	assert_int_equal(c->h.type, HB_PLG);
	assert_int_equal(c->h.flags, 0);
	assert_int_equal(hb_plg_decode(c->body, c->blen, m), 0);
}

static bool str_is(struct hb_str s, const char *c)
{
	return s.len == strlen(c) && memcmp(s.ptr, c, s.len) == 0;
}

static const uint8_t os_data[] = {0x81, 0xa2, 'i', 'd', 0xa6, 'd', 'e',
				  'b', 'i', 'a', 'n'};
static const uint8_t hw_data[] = {0x81, 0xa4, 'c', 'p', 'u', 's', 0x04};
static const uint8_t mon_data[] = {0x81, 0xa1, 'x', 0x01};

static void test_htb_fields_and_digest(void **state)
{
	static const uint8_t boot[16] = {1, 2, 3, 4, 5, 6, 7, 8,
					 9, 10, 11, 12, 13, 14, 15, 16};
	struct sender_label labels[] = {{"role", "web"}, {"rack", "r1"}};
	struct sender_host hh = {"web-1", "ops", "0.1.0", 1795550000, boot,
				 labels, 2};
	struct sender_sys sys = {12345, true, {4.25, 2.5, 1.0}};
	struct sender_opts o = opts();
	struct sender *s = new_sender(&o);
	static struct hb_htb m;
	uint8_t digest[HB_DIGEST_LEN];
	struct hb_digest dg;

	assert_int_equal(sender_set_host(s, &hh), 0);
	sample(s, "os", HB_KIND_INFO, 0, "Debian", os_data, sizeof(os_data));
	sample(s, "hw", HB_KIND_INFO, 0, "", hw_data, sizeof(hw_data));
	sample(s, "nodata", HB_KIND_INFO, 3, "failed", NULL, 0);
	sample(s, "load", HB_KIND_MONITOR, 1, "load 4.2 > 4", mon_data,
	       sizeof(mon_data));
	sample(s, "disk", HB_KIND_MONITOR, 2, "/ 97% full", mon_data,
	       sizeof(mon_data));
	sample(s, "cpu", HB_KIND_MONITOR, 3, "no data", NULL, 0);
	assert_int_equal(sender_heartbeat(s, &sys), 0);
	decode_htb(last(), &m);
	assert_int_equal(last()->h.seq, io.n); /* every datagram: seq + 1 */
	assert_int_equal(last()->h.epoch, EPOCH);
	assert_memory_equal(last()->h.host_id, host, 16);
	assert_int_equal(m.interval, 10);
	assert_true(str_is(m.hostname, "web-1"));
	assert_true(str_is(m.owner, "ops"));
	assert_true(str_is(m.version, "0.1.0"));
	assert_int_equal(m.start_time, 1795550000);
	assert_int_equal(m.uptime, 12345);
	assert_int_equal(m.has, HB_HTB_HAS_BOOT_ID | HB_HTB_HAS_LOAD |
				       HB_HTB_HAS_DIGEST);
	assert_memory_equal(m.boot_id, boot, 16);
	assert_true(m.load[0] == 4.25 && m.load[2] == 1.0);
	assert_int_equal(m.n_labels, 2);
	assert_true(str_is(m.labels[1].key, "rack"));
	assert_true(str_is(m.labels[1].value, "r1"));
	/* CRITICAL beats UNKNOWN and WARNING; the message names it. */
	assert_int_equal(m.status, HB_STATUS_CRITICAL);
	assert_true(str_is(m.status_msg, "disk: / 97% full"));
	/* Every plugin with data, by name; an Info plugin without none. */
	assert_int_equal(m.n_plugins, 5);
	assert_true(str_is(m.plugins[0].name, "cpu"));
	assert_true(str_is(m.plugins[1].name, "disk"));
	assert_true(str_is(m.plugins[2].name, "hw"));
	assert_true(str_is(m.plugins[3].name, "load"));
	assert_int_equal(m.plugins[3].status, 1);
	assert_true(str_is(m.plugins[3].message, "load 4.2 > 4"));
	assert_true(str_is(m.plugins[4].name, "os"));
	/* The digest: the Info plugins listed, in name order. */
	hb_digest_init(&dg);
	hb_digest_add(&dg, hb_str_c("hw"), hw_data, sizeof(hw_data));
	hb_digest_add(&dg, hb_str_c("os"), os_data, sizeof(os_data));
	hb_digest_final(&dg, digest);
	assert_memory_equal(m.info_digest, digest, 16);
	sender_free(s);
}

/* The worst status by severity and "(+N more)" for ties. */
static void test_overall_status(void **state)
{
	struct sender_opts o = opts();
	struct sender *s = new_sender(&o);
	static struct hb_htb m;

	sender_heartbeat(s, NULL);
	decode_htb(last(), &m);
	assert_int_equal(m.status, HB_STATUS_OK);
	assert_int_equal(m.status_msg.len, 0);
	assert_int_equal(m.n_plugins, 0);
	sample(s, "a", HB_KIND_MONITOR, 3, "", NULL, 0);
	sample(s, "b", HB_KIND_MONITOR, 1, "warm", NULL, 0);
	sample(s, "c", HB_KIND_MONITOR, 1, "hot", NULL, 0);
	sender_heartbeat(s, NULL);
	decode_htb(last(), &m);
	assert_int_equal(m.status, HB_STATUS_WARNING);
	assert_true(str_is(m.status_msg, "b: warm (+1 more)"));
	sample(s, "b", HB_KIND_MONITOR, 0, "", NULL, 0);
	sample(s, "c", HB_KIND_MONITOR, 0, "", NULL, 0);
	sender_heartbeat(s, NULL);
	decode_htb(last(), &m);
	assert_int_equal(m.status, HB_STATUS_UNKNOWN);
	assert_true(str_is(m.status_msg, "a: UNKNOWN"));
	sender_free(s);
}

static void test_ack_acceptance(void **state)
{
	struct sender_opts o = opts();
	struct sender *s = new_sender(&o);
	uint8_t other_host[16], buf[HB_FRAME_MAX], copy[HB_FRAME_MAX];
	struct sender_stats st;
	struct cap htb;
	struct hb_ack a;
	size_t len;

	sender_heartbeat(s, NULL);
	htb = *last();
	a = (struct hb_ack){.ack_epoch = EPOCH, .ack_seq = htb.h.seq};
	memcpy(other_host, host, 16);
	other_host[15] ^= 1;
	/* Forged: another key under our key id. */
	len = make_ack(buf, &a, &other_key, HB_MODE_SIGN, host);
	assert_int_equal(sender_receive(s, buf, len), HB_EAUTH);
	/* Another mode than ours, even unauthenticated none. */
	len = make_ack(buf, &a, &key, HB_MODE_NONE, host);
	assert_int_equal(sender_receive(s, buf, len), HB_EMODE);
	len = make_ack(buf, &a, &key, HB_MODE_ENCRYPT, host);
	assert_int_equal(sender_receive(s, buf, len), HB_EMODE);
	/* Addressed to another host. */
	len = make_ack(buf, &a, &key, HB_MODE_SIGN, other_host);
	assert_int_equal(sender_receive(s, buf, len), HB_EHOST);
	/* Tampered with. */
	len = make_ack(buf, &a, &key, HB_MODE_SIGN, host);
	buf[len - 20] ^= 1;
	assert_int_equal(sender_receive(s, buf, len), HB_EAUTH);
	/* Our own HTB reflected back is no ACK. */
	assert_int_equal(sender_receive(s, htb.buf, htb.len), HB_ETYPE);
	/* Naming a datagram we never sent, or from another epoch. */
	a.ack_seq = htb.h.seq + 5;
	len = make_ack(buf, &a, &key, HB_MODE_SIGN, host);
	assert_int_equal(sender_receive(s, buf, len), HB_EREPLAY);
	a = (struct hb_ack){.ack_epoch = EPOCH - 1, .ack_seq = htb.h.seq};
	len = make_ack(buf, &a, &key, HB_MODE_SIGN, host);
	assert_int_equal(sender_receive(s, buf, len), HB_EREPLAY);
	/* The right one, once: a replayed ACK is inert. */
	a.ack_epoch = EPOCH;
	len = make_ack(buf, &a, &key, HB_MODE_SIGN, host);
	memcpy(copy, buf, len);
	assert_int_equal(sender_receive(s, buf, len), 0);
	assert_int_equal(sender_receive(s, copy, len), HB_EREPLAY);
	sender_get_stats(s, &st);
	assert_int_equal(st.acks, 1);
	assert_int_equal(st.acks_refused, 6);
	assert_int_equal(st.acks_unknown, 3);
	/* Garbage. */
	assert_true(sender_receive(s, (uint8_t *)"hb", 2) < 0);
	sender_free(s);
}

/* Mode none: no key id, no tag; ACKs only in mode none. */
static void test_mode_none(void **state)
{
	struct sender_opts o = opts();
	uint8_t buf[HB_FRAME_MAX];
	struct sender *s;
	struct hb_ack a;
	size_t len;

	o.mode = HB_MODE_NONE;
	o.key = NULL;
	s = new_sender(&o);
	sender_heartbeat(s, NULL);
	assert_int_equal(last()->h.mode, HB_MODE_NONE);
	assert_int_equal(last()->h.key_id, 0);
	assert_int_equal(last()->len, HB_HEADER_LEN + last()->blen);
	a = (struct hb_ack){.ack_epoch = EPOCH, .ack_seq = last()->h.seq};
	len = make_ack(buf, &a, &key, HB_MODE_SIGN, host);
	assert_int_equal(sender_receive(s, buf, len), HB_EMODE);
	len = make_ack(buf, &a, &key, HB_MODE_NONE, host);
	assert_int_equal(sender_receive(s, buf, len), 0);
	sender_free(s);
}

static void test_plg_retransmit_backoff(void **state)
{
	struct sender_opts o = opts();
	struct sender *s = new_sender(&o);
	static const uint32_t gaps[] = {2000, 4000, 8000, 16000, 32000,
					60000, 60000};
	struct sender_stats st;
	struct cap first;
	struct hb_plg p;
	uint32_t seq;

	sample(s, "load", HB_KIND_MONITOR, 1, "high", mon_data,
	       sizeof(mon_data));
	first = *last();
	decode_plg(&first, &p);
	assert_true(str_is(p.plugin, "load"));
	assert_int_equal(p.kind, HB_KIND_MONITOR);
	assert_int_equal(p.interval, 60);
	assert_int_equal(p.status, 1);
	assert_true(str_is(p.message, "high"));
	assert_int_equal(p.time_ms, T0);
	assert_memory_equal(p.data, mon_data, sizeof(mon_data));
	seq = first.h.seq;
	for (size_t i = 0; i < sizeof(gaps) / sizeof(gaps[0]); i++) {
		size_t n = io.n;

		assert_int_equal(sender_next_due(s), io.mono_ms + gaps[i]);
		io.mono_ms += gaps[i] - 1;
		sender_tick(s);
		assert_int_equal(io.n, n); /* not yet */
		io.mono_ms += 1;
		io.unix_ms += gaps[i];
		sender_tick(s);
		assert_int_equal(io.n, n + 1);
		/* A new datagram: new seq, same message, newer header time. */
		assert_true(last()->h.seq > seq);
		seq = last()->h.seq;
		assert_int_equal(last()->h.time_ms, io.unix_ms);
		assert_int_equal(last()->blen, first.blen);
		assert_memory_equal(last()->body, first.body, first.blen);
	}
	/* An ACK of an earlier transmission still ends the delivery. */
	assert_int_equal(ack(s, &io.v[io.n - 3]), 0);
	assert_int_equal(sender_next_due(s), UINT64_MAX);
	sender_get_stats(s, &st);
	assert_int_equal(st.plg, 1);
	assert_int_equal(st.retransmits, 7);
	assert_int_equal(st.spool_count, 0);
	assert_int_equal(st.spool_bytes, 0);
	sender_free(s);
}

static void test_fragments(void **state)
{
	struct sender_opts o = opts();
	struct sender *s;
	uint8_t data[1000], body[2000];
	struct hb_plg p;
	size_t n0, blen = 0;
	uint16_t count;

	o.max_datagram = 256;
	s = new_sender(&o);
	data[0] = 0xc5; /* bin16 of 997 bytes */
	data[1] = 997 >> 8;
	data[2] = 997 & 0xff;
	for (int i = 3; i < 1000; i++)
		data[i] = (uint8_t)i;
	sample(s, "big", HB_KIND_MONITOR, 0, "", data, sizeof(data));
	count = io.v[0].h.frag_count;
	assert_true(count >= 5);
	assert_int_equal(io.n, count);
	for (uint16_t i = 0; i < count; i++) {
		const struct cap *c = &io.v[i];

		assert_true(c->len <= 256);
		assert_int_equal(c->h.flags, HB_FLAG_FRAG);
		assert_int_equal(c->h.seq, io.v[0].h.seq + i);
		assert_int_equal(c->h.frag_msg, io.v[0].h.seq);
		assert_int_equal(c->h.frag_index, i);
		memcpy(body + blen, c->body, c->blen);
		blen += c->blen;
	}
	assert_int_equal(hb_plg_decode(body, blen, &p), 0);
	assert_memory_equal(p.data, data, sizeof(data));
	/* Retransmitted as all fragments with new seqs and a new msg. */
	n0 = io.n;
	io.mono_ms += 2000;
	sender_tick(s);
	assert_int_equal(io.n, n0 + count);
	assert_int_equal(io.v[n0].h.frag_msg, io.v[n0 - 1].h.seq + 1);
	/* ACKed by msg. */
	assert_int_equal(ack(s, &io.v[n0 + 1]), 0);
	assert_int_equal(sender_next_due(s), UINT64_MAX);
	sender_free(s);
}

static void test_spool_bound(void **state)
{
	struct sender_opts o = opts();
	static uint8_t data[20003];
	struct sender_stats st;
	struct sender *s;
	char name[16];
	struct hb_plg p;
	size_t n0;

	o.spool_bytes = 65536;
	o.max_datagram = 8192;
	s = new_sender(&o);
	data[0] = 0xc6; /* bin32 of 19998 bytes */
	data[3] = 19998 >> 8;
	data[4] = 19998 & 0xff;
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		sample(s, name, HB_KIND_MONITOR, 0, "", data, 20003);
	}
	sender_get_stats(s, &st);
	/* About 20 KiB each: the 4th and 5th pushed out the 1st and 2nd. */
	assert_int_equal(st.spool_dropped, 2);
	assert_int_equal(st.spool_count, 3);
	assert_true(st.spool_bytes <= 65536);
	/* What is left is the newest, retransmitted oldest first. */
	n0 = io.n;
	io.mono_ms += 2000;
	sender_tick(s);
	assert_int_equal(io.n, n0 + 3 * io.v[0].h.frag_count);
	for (int i = 0; i < 3; i++) {
		const struct cap *c = &io.v[n0 + i * io.v[0].h.frag_count];
		uint8_t body[30000];
		size_t blen = 0;

		for (int f = 0; f < c->h.frag_count; f++) {
			memcpy(body + blen, c[f].body, c[f].blen);
			blen += c[f].blen;
		}
		assert_int_equal(hb_plg_decode(body, blen, &p), 0);
		snprintf(name, sizeof(name), "m%d", i + 2);
		assert_true(str_is(p.plugin, name));
	}
	sender_free(s);
}

/* Info data dropped from the spool stays cached and goes on request. */
static void test_spool_keeps_info_cache(void **state)
{
	struct sender_opts o = opts();
	static uint8_t data[40003];
	struct sender_stats st;
	struct sender *s;
	struct hb_htb *m = calloc(1, sizeof(*m));
	struct hb_plg p;
	struct cap htb;

	o.spool_bytes = 65536;
	o.max_datagram = 8192;
	s = new_sender(&o);
	data[0] = 0xc6;
	data[3] = 39998 >> 8;
	data[4] = 39998 & 0xff;
	sample(s, "os", HB_KIND_INFO, 0, "", os_data, sizeof(os_data));
	sample(s, "m1", HB_KIND_MONITOR, 0, "", data, sizeof(data));
	sample(s, "m2", HB_KIND_MONITOR, 0, "", data, sizeof(data));
	sender_get_stats(s, &st);
	assert_int_equal(st.spool_dropped, 2); /* os, then m1 */
	/* Still listed and in the digest. */
	sender_heartbeat(s, NULL);
	htb = *last();
	decode_htb(&htb, m);
	assert_int_equal(m->n_plugins, 3);
	assert_true(str_is(m->plugins[2].name, "os"));
	io.n = 0;
	assert_int_equal(ack_full(s, &htb, 0, true), 0);
	assert_int_equal(io.recollects, 1);
	assert_true(io.n >= 1);
	decode_plg(&io.v[0], &p);
	assert_true(str_is(p.plugin, "os"));
	assert_memory_equal(p.data, os_data, sizeof(os_data));
	free(m);
	sender_free(s);
}

/* Acknowledges the last HTB when it went to `server`. */
static void beat(struct sender *s, int answer_from)
{
	size_t n0 = io.n;

	sender_heartbeat(s, NULL);
	for (size_t i = n0; i < io.n; i++)
		if (io.v[i].h.type == HB_HTB &&
		    (int)io.v[i].server == answer_from)
			assert_int_equal(ack(s, &io.v[i]), 0);
}

static uint32_t htb_servers(size_t from)
{
	uint32_t mask = 0;

	for (size_t i = from; i < io.n; i++)
		if (io.v[i].h.type == HB_HTB)
			mask |= 1u << io.v[i].server;
	return mask;
}

static void test_failover(void **state)
{
	struct sender_opts o = opts();
	struct sender_stats st;
	struct sender *s;
	size_t n0;

	o.n_servers = 3;
	o.failover_after = 2;
	s = new_sender(&o);
	beat(s, 0);
	beat(s, -1); /* unanswered 1 */
	beat(s, -1); /* unanswered 2 */
	assert_int_equal(sender_server(s), 0);
	/* Plugin data waits in flight for whichever server answers. */
	sample(s, "m", HB_KIND_MONITOR, 0, "", mon_data, sizeof(mon_data));
	assert_int_equal(last()->server, 0);
	n0 = io.n;
	beat(s, 1); /* two unanswered: the next server, and the PLG too */
	assert_int_equal(sender_server(s), 1);
	assert_int_equal(htb_servers(n0), 1u << 1);
	assert_int_equal(io.v[n0].h.type, HB_PLG);
	assert_int_equal(io.v[n0].server, 1);
	sender_get_stats(s, &st);
	assert_int_equal(st.failovers, 1);
	/* Every 2nd heartbeat also probes server 0, which stays silent. */
	n0 = io.n;
	beat(s, 1);
	assert_int_equal(htb_servers(n0), 1u << 1 | 1u << 0);
	n0 = io.n;
	beat(s, 1);
	assert_int_equal(htb_servers(n0), 1u << 1);
	assert_int_equal(sender_server(s), 1);
	/* Server 0 answers its probe: back to it. */
	n0 = io.n;
	beat(s, 0);
	assert_int_equal(htb_servers(n0), 1u << 1 | 1u << 0);
	assert_int_equal(sender_server(s), 0);
	n0 = io.n;
	beat(s, 0);
	assert_int_equal(htb_servers(n0), 1u << 0);
	/* Server 0 and 1 silent: on to 2, wrapping later to 0. */
	beat(s, -1);
	beat(s, -1);
	beat(s, -1);
	assert_int_equal(sender_server(s), 1);
	beat(s, -1);
	beat(s, -1);
	beat(s, -1);
	assert_int_equal(sender_server(s), 2);
	sender_free(s);
}

/* No server answers: PLGs stay spooled, then go in order. */
static void test_outage_then_flush(void **state)
{
	struct sender_opts o = opts();
	struct sender *s = new_sender(&o);
	struct sender_stats st;
	struct hb_plg p;
	char name[8];
	size_t n0;

	for (int i = 0; i < SENDER_INFLIGHT_MAX + 4; i++) {
		snprintf(name, sizeof(name), "m%02d", i);
		sample(s, name, HB_KIND_MONITOR, 0, "", mon_data,
		       sizeof(mon_data));
	}
	/* A window of deliveries in flight, the rest waits. */
	assert_int_equal(io.n, SENDER_INFLIGHT_MAX);
	for (int t = 0; t < 20; t++) {
		io.mono_ms += 60000;
		sender_tick(s);
		sender_heartbeat(s, NULL);
	}
	sender_get_stats(s, &st);
	assert_int_equal(st.spool_count, SENDER_INFLIGHT_MAX + 4);
	/* The server is back: it answers the HTB, everything follows. */
	sender_heartbeat(s, NULL);
	n0 = io.n;
	assert_int_equal(ack(s, last()), 0);
	assert_true(io.n >= n0 + SENDER_INFLIGHT_MAX);
	for (size_t i = n0; i < io.n; i++) {
		decode_plg(&io.v[i], &p);
		assert_int_equal(ack(s, &io.v[i]), 0);
	}
	/* In order: the ACKs let the rest in, oldest first. */
	decode_plg(&io.v[io.n - 1], &p);
	assert_true(str_is(p.plugin, "m11"));
	sender_get_stats(s, &st);
	assert_int_equal(st.spool_count, 0);
	sender_free(s);
}

static void test_interval_override(void **state)
{
	struct sender_opts o = opts();
	struct sender *s = new_sender(&o);
	static struct hb_htb m;

	sender_heartbeat(s, NULL);
	assert_int_equal(ack_full(s, last(), 30, false), 0);
	assert_int_equal(io.interval_calls, 1);
	assert_int_equal(io.interval, 30);
	assert_int_equal(sender_interval(s), 30);
	sender_heartbeat(s, NULL);
	decode_htb(last(), &m);
	assert_int_equal(m.interval, 30);
	/* Honoured up to an hour. */
	assert_int_equal(ack_full(s, last(), 86400, false), 0);
	assert_int_equal(sender_interval(s), 3600);
	/* Still carried: nothing changes. */
	sender_heartbeat(s, NULL);
	assert_int_equal(ack_full(s, last(), 86400, false), 0);
	assert_int_equal(io.interval_calls, 2);
	/* PLG ACKs carry none and change nothing. */
	sample(s, "m", HB_KIND_MONITOR, 0, "", mon_data, sizeof(mon_data));
	assert_int_equal(ack(s, last()), 0);
	assert_int_equal(sender_interval(s), 3600);
	/* An HTB ACK without it: back to the configured interval. */
	sender_heartbeat(s, NULL);
	assert_int_equal(ack(s, last()), 0);
	assert_int_equal(sender_interval(s), 10);
	assert_int_equal(io.interval, 10);
	assert_int_equal(io.interval_calls, 3);
	sender_free(s);
}

static void test_request_update(void **state)
{
	struct sender_opts o = opts();
	struct sender *s = new_sender(&o);
	static const uint8_t os2[] = {0x81, 0xa2, 'i', 'd', 0xa3, 'a', 'r',
				      'c'};
	struct sender_stats st;
	struct hb_plg p;
	struct cap htb;
	size_t n0;

	sample(s, "os", HB_KIND_INFO, 0, "", os_data, sizeof(os_data));
	sample(s, "hw", HB_KIND_INFO, 0, "", hw_data, sizeof(hw_data));
	sample(s, "m", HB_KIND_MONITOR, 0, "", mon_data, sizeof(mon_data));
	assert_int_equal(io.n, 3);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(ack(s, &io.v[i]), 0);
	/* Unchanged Info data, already delivered, is not sent again. */
	sample(s, "os", HB_KIND_INFO, 0, "", os_data, sizeof(os_data));
	assert_int_equal(io.n, 3);
	sender_get_stats(s, &st);
	assert_int_equal(st.info_unchanged, 1);
	/* The server lost it: both Info plugins go again, Monitor not. */
	sender_heartbeat(s, NULL);
	htb = *last();
	n0 = io.n;
	assert_int_equal(ack_full(s, &htb, 0, true), 0);
	assert_int_equal(io.recollects, 1);
	assert_int_equal(io.n, n0 + 2);
	decode_plg(&io.v[n0], &p);
	assert_true(str_is(p.plugin, "hw"));
	decode_plg(&io.v[n0 + 1], &p);
	assert_true(str_is(p.plugin, "os"));
	/* The fresh collection: same data waits for the pending one... */
	sample(s, "hw", HB_KIND_INFO, 0, "", hw_data, sizeof(hw_data));
	assert_int_equal(io.n, n0 + 2);
	/* ...changed data replaces it. */
	sample(s, "os", HB_KIND_INFO, 0, "", os2, sizeof(os2));
	assert_int_equal(io.n, n0 + 3);
	decode_plg(last(), &p);
	assert_memory_equal(p.data, os2, sizeof(os2));
	/* The replaced transmission is no longer awaited. */
	assert_int_equal(ack(s, &io.v[n0 + 1]), HB_EREPLAY);
	assert_int_equal(ack(s, &io.v[n0]), 0);
	assert_int_equal(ack(s, last()), 0);
	sender_get_stats(s, &st);
	assert_int_equal(st.spool_count, 0);
	assert_int_equal(st.requests_update, 1);
	sender_free(s);
}

static void test_bye(void **state)
{
	struct sender_opts o = opts();
	struct sender *s = new_sender(&o);
	struct hb_bye b;

	sender_heartbeat(s, NULL);
	sender_bye(s, "shutdown");
	assert_int_equal(io.n, 3);
	for (int i = 1; i < 3; i++) {
		assert_int_equal(io.v[i].h.type, HB_BYE);
		assert_int_equal(io.v[i].h.seq, io.v[0].h.seq + i);
		assert_int_equal(hb_bye_decode(io.v[i].body, io.v[i].blen, &b),
				 0);
		assert_true(str_is(b.reason, "shutdown"));
		/* Never acknowledged: an ACK of it is refused. */
		assert_int_equal(ack(s, &io.v[i]), HB_EREPLAY);
	}
	sender_free(s);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_htb_fields_and_digest),
		T(test_overall_status),
		T(test_ack_acceptance),
		T(test_mode_none),
		T(test_plg_retransmit_backoff),
		T(test_fragments),
		T(test_spool_bound),
		T(test_spool_keeps_info_cache),
		T(test_failover),
		T(test_outage_then_flush),
		T(test_interval_override),
		T(test_request_update),
		T(test_bye),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
