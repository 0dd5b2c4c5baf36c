/*
 * Unit tests of hb_frag: the fragment plan at its boundaries in every
 * mode, and the reassembler's behaviour under every order of arrival,
 * duplicates, inconsistent fragments and each of its limits (message
 * size, memory cap, per-sender cap, timeout). Headers are built by hand;
 * only hb_frag.c and hb_error.c are linked.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "hb_error.h"
#include "hb_frag.h"

/* One test message: who sends it, its body and how it is cut. */
struct tmsg {
	uint32_t host;
	uint32_t epoch;
	uint32_t id;
	uint8_t type;
	uint8_t *body;
	size_t len;
	size_t chunk;
	uint16_t count;
};

static uint32_t rnd_state = 1;

static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

static void tmsg_init(struct tmsg *t, uint32_t host, uint32_t id, size_t len,
		      size_t chunk)
{
	memset(t, 0, sizeof(*t));
	t->host = host;
	t->epoch = 7;
	t->id = id;
	t->type = HB_PLG;
	t->len = len;
	t->chunk = chunk;
	t->count = (uint16_t)((len + chunk - 1) / chunk);
	t->body = malloc(len);
	assert_non_null(t->body);
	for (size_t i = 0; i < len; i++)
		t->body[i] = (uint8_t)rnd();
}

static void tmsg_free(struct tmsg *t)
{
	free(t->body);
	t->body = NULL;
}

static void header_for(const struct tmsg *t, uint16_t index,
		       struct hb_header *h)
{
	memset(h, 0, sizeof(*h));
	h->version = 1;
	h->type = t->type;
	h->mode = HB_MODE_SIGN;
	h->flags = HB_FLAG_FRAG;
	h->key_id = 1;
	memcpy(h->host_id, &t->host, sizeof(t->host));
	h->host_id[15] = 0xa5;
	h->epoch = t->epoch;
	h->seq = t->id + index;
	h->time_ms = 1700000000000ull;
	h->frag_msg = t->id;
	h->frag_index = index;
	h->frag_count = t->count;
}

/* Sends fragment index of t as the plan cuts it. */
static int send_frag(struct hb_reasm *r, const struct tmsg *t, uint16_t index,
		     uint64_t now, const uint8_t **out, size_t *out_len)
{
	struct hb_header h;
	size_t off = (size_t)index * t->chunk;
	size_t n = t->len - off < t->chunk ? t->len - off : t->chunk;

	header_for(t, index, &h);
	return hb_reasm_add(r, &h, t->body + off, n, now, out, out_len);
}

/* Sends an arbitrary slice as fragment index of t (for bad sizes). */
static int send_raw(struct hb_reasm *r, const struct tmsg *t, uint16_t index,
		    uint16_t count, size_t len, uint64_t now)
{
	struct hb_header h;
	const uint8_t *out = NULL;
	size_t out_len = 0;
	static uint8_t junk[HB_MESSAGE_MAX + 1];

	header_for(t, index, &h);
	h.frag_count = count;
	return hb_reasm_add(r, &h, junk, len, now, &out, &out_len);
}

/* Delivers every fragment of t in the given order; the last completes. */
static void deliver(struct hb_reasm *r, const struct tmsg *t,
		    const uint16_t *order)
{
	const uint8_t *out;
	size_t out_len;

	for (uint16_t i = 0; i < t->count; i++) {
		assert_int_equal(send_frag(r, t, order[i], 0, &out, &out_len),
				 0);
		if (i < t->count - 1) {
			assert_null(out);
			continue;
		}
		assert_non_null(out);
		assert_int_equal(out_len, t->len);
		assert_memory_equal(out, t->body, t->len);
	}
}

static void expect_complete(struct hb_reasm *r, const struct tmsg *t,
			    uint16_t index, uint64_t now)
{
	const uint8_t *out;
	size_t out_len;

	assert_int_equal(send_frag(r, t, index, now, &out, &out_len), 0);
	assert_non_null(out);
	assert_int_equal(out_len, t->len);
	assert_memory_equal(out, t->body, t->len);
}

static void expect_pending(struct hb_reasm *r, const struct tmsg *t,
			   uint16_t index, uint64_t now)
{
	const uint8_t *out;
	size_t out_len;

	assert_int_equal(send_frag(r, t, index, now, &out, &out_len), 0);
	assert_null(out);
}

static struct hb_reasm_stats stats(const struct hb_reasm *r)
{
	struct hb_reasm_stats s;

	hb_reasm_get_stats(r, &s);
	return s;
}

static struct hb_reasm *reasm(size_t max_message, size_t mem_cap,
			      uint32_t timeout_ms, uint32_t per_sender)
{
	struct hb_reasm_limits l = {
		.max_message = max_message,
		.mem_cap = mem_cap,
		.timeout_ms = timeout_ms,
		.max_per_sender = per_sender,
	};
	struct hb_reasm *r = hb_reasm_new(&l);

	assert_non_null(r);
	return r;
}

static struct hb_reasm *reasm_default(void)
{
	struct hb_reasm_limits l;
	struct hb_reasm *r;

	hb_reasm_limits_default(&l);
	r = hb_reasm_new(&l);
	assert_non_null(r);
	return r;
}

/* ---- hb_frag_plan ---- */

static void expect_plan(size_t len, size_t max, uint8_t mode, uint16_t count,
			size_t chunk)
{
	uint16_t c = 0;
	size_t k = 0;

	assert_int_equal(hb_frag_plan(len, max, mode, &c, &k), 0);
	assert_int_equal(c, count);
	assert_int_equal(k, chunk);
}

static void test_plan_exact_fit_is_single(void **state)
{
	expect_plan(1400 - 44, 1400, HB_MODE_NONE, 1, 1356);
	expect_plan(1400 - 44 - 16, 1400, HB_MODE_SIGN, 1, 1340);
	expect_plan(1400 - 44 - 16, 1400, HB_MODE_ENCRYPT, 1, 1340);
	expect_plan(HB_FRAME_MAX - 60, HB_FRAME_MAX, HB_MODE_SIGN, 1, 8132);
	expect_plan(HB_FRAME_MIN - 44, HB_FRAME_MIN, HB_MODE_NONE, 1, 212);
}

static void test_plan_one_byte_more_fragments(void **state)
{
	/* Fragments lose 8 more bytes to the extension. */
	expect_plan(1357, 1400, HB_MODE_NONE, 2, 1400 - 52);
	expect_plan(1341, 1400, HB_MODE_SIGN, 2, 1400 - 68);
	expect_plan(1341, 1400, HB_MODE_ENCRYPT, 2, 1400 - 68);
	expect_plan(213, HB_FRAME_MIN, HB_MODE_NONE, 2, 204);
}

static void test_plan_chunk_multiples(void **state)
{
	expect_plan(3 * 1332, 1400, HB_MODE_SIGN, 3, 1332);
	expect_plan(3 * 1332 + 1, 1400, HB_MODE_SIGN, 4, 1332);
	expect_plan(2 * 1348, 1400, HB_MODE_NONE, 2, 1348);
	expect_plan(2 * 1348 + 1, 1400, HB_MODE_NONE, 3, 1348);
}

static void test_plan_empty_body(void **state)
{
	expect_plan(0, 1400, HB_MODE_ENCRYPT, 1, 0);
}

static void test_plan_count_max(void **state)
{
	uint16_t c;
	size_t k;

	/* 256 - 44 - 8 - 16 = 188 bytes per fragment. */
	expect_plan(HB_FRAG_COUNT_MAX * 188, HB_FRAME_MIN, HB_MODE_SIGN,
		    HB_FRAG_COUNT_MAX, 188);
	assert_int_equal(hb_frag_plan(HB_FRAG_COUNT_MAX * 188 + 1,
				      HB_FRAME_MIN, HB_MODE_SIGN, &c, &k),
			 HB_ETOOBIG);
}

static void test_plan_message_max(void **state)
{
	uint16_t c;
	size_t k;

	expect_plan(HB_MESSAGE_MAX, HB_FRAME_MAX, HB_MODE_NONE, 129, 8140);
	assert_int_equal(hb_frag_plan(HB_MESSAGE_MAX + 1, HB_FRAME_MAX,
				      HB_MODE_NONE, &c, &k),
			 HB_ETOOBIG);
}

static void test_plan_bad_args(void **state)
{
	uint16_t c;
	size_t k;

	assert_int_equal(hb_frag_plan(10, HB_FRAME_MIN - 1, 0, &c, &k),
			 HB_EINVAL);
	assert_int_equal(hb_frag_plan(10, HB_FRAME_MAX + 1, 0, &c, &k),
			 HB_EINVAL);
	assert_int_equal(hb_frag_plan(10, 0, 0, &c, &k), HB_EINVAL);
	assert_int_equal(hb_frag_plan(10, 1400, 3, &c, &k), HB_EINVAL);
	assert_int_equal(hb_frag_plan(10, 1400, 0, NULL, &k), HB_EINVAL);
	assert_int_equal(hb_frag_plan(10, 1400, 0, &c, NULL), HB_EINVAL);
}

/* ---- reassembler: construction ---- */

static void test_limits_default(void **state)
{
	struct hb_reasm_limits l;

	hb_reasm_limits_default(&l);
	assert_int_equal(l.max_message, 64 * 1024);
	assert_int_equal(l.mem_cap, 16 * 1024 * 1024);
	assert_int_equal(l.timeout_ms, 5000);
	assert_int_equal(l.max_per_sender, 4);
}

static void test_new_rejects_bad_limits(void **state)
{
	struct hb_reasm_limits l, bad;

	hb_reasm_limits_default(&l);
	assert_null(hb_reasm_new(NULL));
	bad = l;
	bad.max_message = HB_MESSAGE_MAX + 1;
	assert_null(hb_reasm_new(&bad));
	bad = l;
	bad.max_message = 0;
	assert_null(hb_reasm_new(&bad));
	bad = l;
	bad.mem_cap = 0;
	assert_null(hb_reasm_new(&bad));
	bad = l;
	bad.timeout_ms = 0;
	assert_null(hb_reasm_new(&bad));
	bad = l;
	bad.max_per_sender = 0;
	assert_null(hb_reasm_new(&bad));
	hb_reasm_free(NULL);
}

/* ---- reassembler: order of arrival ---- */

static void test_in_order(void **state)
{
	struct hb_reasm *r = reasm_default();
	uint16_t order[] = {0, 1, 2, 3, 4};
	struct tmsg t;

	tmsg_init(&t, 1, 100, 4 * 1000 + 123, 1000);
	assert_int_equal(t.count, 5);
	deliver(r, &t, order);
	assert_int_equal(stats(r).completed, 1);
	assert_int_equal(stats(r).pending, 0);
	assert_int_equal(stats(r).mem, 0);
	tmsg_free(&t);
	hb_reasm_free(r);
}

static void test_reverse_order(void **state)
{
	struct hb_reasm *r = reasm_default();
	uint16_t order[] = {4, 3, 2, 1, 0};
	struct tmsg t;

	tmsg_init(&t, 1, 100, 4 * 1000 + 1, 1000);
	deliver(r, &t, order);
	assert_int_equal(stats(r).completed, 1);
	assert_int_equal(stats(r).mem, 0);
	tmsg_free(&t);
	hb_reasm_free(r);
}

static void test_shuffled(void **state)
{
	struct hb_reasm *r = reasm_default();
	uint16_t order[37];
	struct tmsg t;

	for (uint32_t round = 0; round < 20; round++) {
		tmsg_init(&t, 1, 100 + round, 36 * 500 + 1 + round, 500);
		assert_int_equal(t.count, 37);
		for (uint16_t i = 0; i < t.count; i++)
			order[i] = i;
		for (uint16_t i = t.count - 1; i > 0; i--) {
			uint16_t j = (uint16_t)(rnd() % (i + 1u)), x = order[i];

			order[i] = order[j];
			order[j] = x;
		}
		deliver(r, &t, order);
		tmsg_free(&t);
	}
	assert_int_equal(stats(r).completed, 20);
	assert_int_equal(stats(r).mem, 0);
	hb_reasm_free(r);
}

static void test_duplicates_ignored(void **state)
{
	struct hb_reasm *r = reasm_default();
	struct tmsg t;

	tmsg_init(&t, 1, 100, 3500, 1000);
	expect_pending(r, &t, 2, 0);
	expect_pending(r, &t, 2, 0);
	expect_pending(r, &t, 0, 0);
	expect_pending(r, &t, 2, 0);
	expect_pending(r, &t, 0, 0);
	expect_pending(r, &t, 3, 0);
	assert_int_equal(stats(r).duplicates, 3);
	assert_int_equal(stats(r).pending, 1);
	expect_complete(r, &t, 1, 0);
	assert_int_equal(stats(r).completed, 1);
	assert_int_equal(stats(r).mem, 0);
	tmsg_free(&t);
	hb_reasm_free(r);
}

static void test_plan_then_reassemble(void **state)
{
	struct hb_reasm *r = reasm_default();
	uint16_t count, order[HB_FRAG_COUNT_MAX];
	size_t chunk;
	struct tmsg t;

	assert_int_equal(hb_frag_plan(50000, 1400, HB_MODE_ENCRYPT, &count,
				      &chunk),
			 0);
	tmsg_init(&t, 9, 1, 50000, chunk);
	assert_int_equal(t.count, count);
	assert_int_equal(count, 38);
	for (uint16_t i = 0; i < count; i++)
		order[i] = (uint16_t)((i * 7u) % count); /* 7 is prime to 38 */
	deliver(r, &t, order);
	tmsg_free(&t);
	hb_reasm_free(r);
}

/* ---- reassembler: keys ---- */

static void test_hosts_and_epochs_kept_apart(void **state)
{
	struct hb_reasm *r = reasm_default();
	struct tmsg a, b, c;

	tmsg_init(&a, 1, 100, 2500, 1000);
	tmsg_init(&b, 2, 100, 2500, 1000);
	tmsg_init(&c, 1, 100, 2500, 1000);
	c.epoch = a.epoch + 1;
	expect_pending(r, &a, 0, 0);
	expect_pending(r, &b, 1, 0);
	expect_pending(r, &c, 2, 0);
	expect_pending(r, &b, 0, 0);
	expect_pending(r, &a, 1, 0);
	expect_pending(r, &c, 0, 0);
	assert_int_equal(stats(r).pending, 3);
	assert_int_equal(stats(r).duplicates, 0);
	expect_complete(r, &b, 2, 0);
	expect_complete(r, &c, 1, 0);
	expect_complete(r, &a, 2, 0);
	assert_int_equal(stats(r).completed, 3);
	tmsg_free(&a);
	tmsg_free(&b);
	tmsg_free(&c);
	hb_reasm_free(r);
}

/* ---- reassembler: inconsistent fragments ---- */

static void test_count_mismatch(void **state)
{
	struct hb_reasm *r = reasm_default();
	struct tmsg t;

	tmsg_init(&t, 1, 100, 250, 100);
	expect_pending(r, &t, 0, 0);
	assert_int_equal(send_raw(r, &t, 1, 4, 100, 0), HB_EFRAG);
	/* The fragment is dropped, the message kept. */
	assert_int_equal(stats(r).pending, 1);
	expect_pending(r, &t, 1, 0);
	expect_complete(r, &t, 2, 0);
	tmsg_free(&t);
	hb_reasm_free(r);
}

static void test_type_mismatch(void **state)
{
	struct hb_reasm *r = reasm_default();
	struct tmsg t;

	tmsg_init(&t, 1, 100, 250, 100);
	expect_pending(r, &t, 0, 0);
	t.type = HB_HTB;
	assert_int_equal(send_raw(r, &t, 1, 3, 100, 0), HB_EFRAG);
	t.type = HB_PLG;
	expect_pending(r, &t, 1, 0);
	expect_complete(r, &t, 2, 0);
	tmsg_free(&t);
	hb_reasm_free(r);
}

static void test_size_mismatch(void **state)
{
	struct hb_reasm *r = reasm_default();
	struct tmsg t, u;

	tmsg_init(&t, 1, 100, 250, 100);
	expect_pending(r, &t, 0, 0);
	assert_int_equal(send_raw(r, &t, 1, 3, 99, 0), HB_EFRAG);
	assert_int_equal(send_raw(r, &t, 1, 3, 101, 0), HB_EFRAG);
	assert_int_equal(send_raw(r, &t, 2, 3, 101, 0), HB_EFRAG);
	assert_int_equal(send_raw(r, &t, 2, 3, 0, 0), HB_EFRAG);
	assert_int_equal(stats(r).pending, 1);
	expect_pending(r, &t, 2, 0);
	expect_complete(r, &t, 1, 0);

	/* The last fragment first: a later middle one may not be shorter. */
	tmsg_init(&u, 1, 200, 300, 100);
	expect_pending(r, &u, 2, 0);
	assert_int_equal(send_raw(r, &u, 0, 3, 99, 0), HB_EFRAG);
	expect_pending(r, &u, 0, 0);
	expect_complete(r, &u, 1, 0);
	tmsg_free(&t);
	tmsg_free(&u);
	hb_reasm_free(r);
}

static void test_bad_fragment_header(void **state)
{
	struct hb_reasm *r = reasm_default();
	const uint8_t *out = (const uint8_t *)"x";
	uint8_t data[10] = {0};
	struct hb_header h;
	size_t out_len = 1;
	struct tmsg t;

	tmsg_init(&t, 1, 100, 250, 100);
	header_for(&t, 0, &h);
	h.flags = 0;
	assert_int_equal(hb_reasm_add(r, &h, data, 10, 0, &out, &out_len),
			 HB_EINVAL);
	assert_null(out);
	assert_int_equal(out_len, 0);
	header_for(&t, 3, &h); /* index == count */
	assert_int_equal(hb_reasm_add(r, &h, data, 10, 0, &out, &out_len),
			 HB_EINVAL);
	header_for(&t, 0, &h);
	h.frag_count = 1;
	assert_int_equal(hb_reasm_add(r, &h, data, 10, 0, &out, &out_len),
			 HB_EINVAL);
	h.frag_count = HB_FRAG_COUNT_MAX + 1;
	assert_int_equal(hb_reasm_add(r, &h, data, 10, 0, &out, &out_len),
			 HB_EINVAL);
	header_for(&t, 0, &h);
	assert_int_equal(hb_reasm_add(NULL, &h, data, 10, 0, &out, &out_len),
			 HB_EINVAL);
	assert_int_equal(hb_reasm_add(r, NULL, data, 10, 0, &out, &out_len),
			 HB_EINVAL);
	assert_int_equal(hb_reasm_add(r, &h, NULL, 10, 0, &out, &out_len),
			 HB_EINVAL);
	assert_int_equal(hb_reasm_add(r, &h, data, 10, 0, NULL, &out_len),
			 HB_EINVAL);
	assert_int_equal(hb_reasm_add(r, &h, data, 10, 0, &out, NULL),
			 HB_EINVAL);
	assert_int_equal(stats(r).pending, 0);
	assert_int_equal(stats(r).mem, 0);
	tmsg_free(&t);
	hb_reasm_free(r);
}

/* ---- reassembler: limits ---- */

static void test_max_message_exact_fits(void **state)
{
	struct hb_reasm *r = reasm(1000, 1 << 20, 5000, 4);
	uint16_t order[] = {3, 0, 2, 1};
	struct tmsg t;

	tmsg_init(&t, 1, 100, 1000, 300);
	deliver(r, &t, order);
	tmsg_free(&t);
	hb_reasm_free(r);
}

static void test_over_max_message_refused_early(void **state)
{
	struct hb_reasm *r = reasm(1000, 1 << 20, 5000, 4);
	struct tmsg t;

	/* Five fragments of 300 make at least 1201 bytes. */
	tmsg_init(&t, 1, 100, 1201, 300);
	assert_int_equal(send_raw(r, &t, 0, 5, 300, 0), HB_ETOOBIG);
	assert_int_equal(send_raw(r, &t, 0, 2, 1001, 0), HB_ETOOBIG);
	/* 4 * 250 + at least 1: one byte too many. */
	assert_int_equal(send_raw(r, &t, 0, 5, 250, 0), HB_ETOOBIG);
	/* A last fragment of 201 means 5 * 201 at least. */
	assert_int_equal(send_raw(r, &t, 4, 5, 201, 0), HB_ETOOBIG);
	assert_int_equal(stats(r).pending, 0);
	assert_int_equal(stats(r).mem, 0);
	tmsg_free(&t);
	hb_reasm_free(r);
}

static void test_at_max_message_accepted(void **state)
{
	struct hb_reasm *r = reasm(1000, 1 << 20, 5000, 4);
	struct tmsg t, u;

	tmsg_init(&t, 1, 100, 1000, 333);
	tmsg_init(&u, 1, 200, 1000, 200);
	assert_int_equal(send_raw(r, &t, 0, 4, 333, 0), 0); /* >= 1000 */
	assert_int_equal(send_raw(r, &u, 4, 5, 200, 0), 0); /* >= 1000 */
	assert_int_equal(stats(r).pending, 2);
	tmsg_free(&t);
	tmsg_free(&u);
	hb_reasm_free(r);
}

static void test_over_max_message_drops_partial(void **state)
{
	struct hb_reasm *r = reasm(1000, 1 << 20, 5000, 4);
	struct tmsg t;

	tmsg_init(&t, 1, 100, 1210, 300);
	/* A 10-byte last fragment of 5 allows a 50-byte message... */
	assert_int_equal(send_raw(r, &t, 4, 5, 10, 0), 0);
	assert_int_equal(stats(r).pending, 1);
	/* ...but with 300-byte fragments the total is 1210. */
	assert_int_equal(send_raw(r, &t, 0, 5, 300, 0), HB_ETOOBIG);
	assert_int_equal(stats(r).pending, 0);
	assert_int_equal(stats(r).mem, 0);
	tmsg_free(&t);
	hb_reasm_free(r);
}

static void test_mem_cap_flood(void **state)
{
	const size_t cap = 64 * 1024;
	struct hb_reasm *r = reasm(HB_MESSAGE_DEFAULT, cap, 5000, 4);
	size_t refused = 0, accepted = 0;
	struct tmsg t;

	for (uint32_t host = 1; host <= 200; host++) {
		for (uint32_t id = 1; id <= 4; id++) {
			const uint8_t *out;
			size_t out_len;
			int rc;

			tmsg_init(&t, host, id, 8000, 1000);
			rc = send_frag(r, &t, 0, 10, &out, &out_len);
			if (rc == HB_EFRAGMEM) {
				refused++;
			} else {
				assert_int_equal(rc, 0);
				accepted++;
			}
			assert_true(stats(r).mem <= cap);
			tmsg_free(&t);
		}
	}
	assert_true(refused > 0);
	assert_true(accepted > 0);
	assert_int_equal(stats(r).pending, accepted);
	assert_true(stats(r).mem >= accepted * 1000);
	assert_int_equal(stats(r).evicted, 0);
	/* Expiry gives everything back. */
	assert_int_equal(hb_reasm_expire(r, 5011), accepted);
	assert_int_equal(stats(r).mem, 0);
	assert_int_equal(stats(r).pending, 0);
	hb_reasm_free(r);
}

/* Fills r with 100-byte first fragments until the cap refuses one. */
static void fill_to_cap(struct hb_reasm *r, size_t cap)
{
	struct tmsg t;
	int rc = 0;

	for (uint32_t host = 1; rc == 0; host++) {
		const uint8_t *out;
		size_t out_len;

		tmsg_init(&t, host, 1, 400, 100);
		rc = send_frag(r, &t, 0, 0, &out, &out_len);
		tmsg_free(&t);
		assert_true(stats(r).mem <= cap);
	}
	assert_int_equal(rc, HB_EFRAGMEM);
}

static void test_mem_cap_refuses_more_of_a_message(void **state)
{
	const size_t cap = 16 * 1024;
	struct hb_reasm *r = reasm(HB_MESSAGE_DEFAULT, cap, 5000, 4);
	const uint8_t *out;
	size_t out_len, pending;
	struct tmsg x;

	tmsg_init(&x, 1000, 1, 3000, 1000);
	expect_pending(r, &x, 0, 0);
	fill_to_cap(r, cap);
	pending = stats(r).pending;
	assert_int_equal(send_frag(r, &x, 1, 0, &out, &out_len), HB_EFRAGMEM);
	assert_null(out);
	assert_int_equal(stats(r).pending, pending);
	assert_true(stats(r).mem <= cap);
	tmsg_free(&x);
	hb_reasm_free(r);
}

static void test_completion_at_mem_cap(void **state)
{
	const size_t cap = 16 * 1024;
	struct hb_reasm *r = reasm(HB_MESSAGE_DEFAULT, cap, 5000, 4);
	struct tmsg x;

	tmsg_init(&x, 1000, 1, 3000, 1000);
	expect_pending(r, &x, 0, 0);
	expect_pending(r, &x, 2, 0);
	fill_to_cap(r, cap);
	/* The completing fragment is not stored, so it is still taken. */
	expect_complete(r, &x, 1, 0);
	tmsg_free(&x);
	hb_reasm_free(r);
}

static void test_per_sender_cap_evicts_oldest(void **state)
{
	struct hb_reasm *r = reasm(HB_MESSAGE_DEFAULT, 1 << 20, 5000, 2);
	struct tmsg m10, m11, m12, other;

	tmsg_init(&m10, 1, 10, 2000, 1000);
	tmsg_init(&m11, 1, 11, 2000, 1000);
	tmsg_init(&m12, 1, 12, 2000, 1000);
	tmsg_init(&other, 2, 10, 2000, 1000);
	expect_pending(r, &other, 0, 0);
	expect_pending(r, &m10, 0, 1);
	expect_pending(r, &m11, 0, 2);
	assert_int_equal(stats(r).evicted, 0);
	expect_pending(r, &m12, 0, 3);
	assert_int_equal(stats(r).evicted, 1);
	assert_int_equal(stats(r).pending, 3);
	expect_complete(r, &m11, 1, 4);
	expect_complete(r, &m12, 1, 4);
	expect_complete(r, &other, 1, 4);
	/* m10 was evicted: its second fragment starts over. */
	expect_pending(r, &m10, 1, 5);
	assert_int_equal(stats(r).pending, 1);
	tmsg_free(&m10);
	tmsg_free(&m11);
	tmsg_free(&m12);
	tmsg_free(&other);
	hb_reasm_free(r);
}

/* At the memory cap, a sender's new message may take its oldest's room. */
static void test_eviction_makes_room_at_mem_cap(void **state)
{
	const size_t cap = 16 * 1024;
	struct hb_reasm *r = reasm(HB_MESSAGE_DEFAULT, cap, 5000, 1);
	struct tmsg a1, a2;

	tmsg_init(&a1, 1000, 1, 3000, 1000);
	tmsg_init(&a2, 1000, 2, 3000, 1000);
	expect_pending(r, &a1, 0, 0);
	fill_to_cap(r, cap);
	expect_pending(r, &a2, 0, 0);
	assert_int_equal(stats(r).evicted, 1);
	assert_true(stats(r).mem <= cap);
	tmsg_free(&a1);
	tmsg_free(&a2);
	hb_reasm_free(r);
}

static void test_timeout_expire(void **state)
{
	struct hb_reasm *r = reasm(HB_MESSAGE_DEFAULT, 1 << 20, 1000, 4);
	struct tmsg a, b;

	tmsg_init(&a, 1, 1, 3000, 1000);
	tmsg_init(&b, 2, 1, 3000, 1000);
	expect_pending(r, &a, 0, 100);
	expect_pending(r, &b, 0, 600);
	/* Later fragments do not make a message younger. */
	expect_pending(r, &a, 1, 1000);
	assert_true(stats(r).mem > 0);
	assert_int_equal(hb_reasm_expire(r, 1100), 0); /* exactly the timeout */
	assert_int_equal(hb_reasm_expire(r, 1101), 1);
	assert_int_equal(stats(r).pending, 1);
	assert_int_equal(hb_reasm_expire(r, 1600), 0);
	assert_int_equal(hb_reasm_expire(r, 1601), 1);
	assert_int_equal(stats(r).expired, 2);
	assert_int_equal(stats(r).pending, 0);
	assert_int_equal(stats(r).mem, 0);
	assert_int_equal(hb_reasm_expire(r, 100000), 0);
	tmsg_free(&a);
	tmsg_free(&b);
	hb_reasm_free(r);
}

static void test_expire_from_add(void **state)
{
	struct hb_reasm *r = reasm_default();
	struct tmsg a, b;

	tmsg_init(&a, 1, 1, 2000, 1000);
	tmsg_init(&b, 2, 1, 2000, 1000);
	expect_pending(r, &a, 0, 0);
	/* Any add past the timeout drops a, so a's last part starts over. */
	expect_pending(r, &b, 0, 5001);
	assert_int_equal(stats(r).expired, 1);
	expect_pending(r, &a, 1, 5001);
	assert_int_equal(stats(r).pending, 2);
	tmsg_free(&a);
	tmsg_free(&b);
	hb_reasm_free(r);
}

/*
 * The reassembler keeps no record of completed messages, so a late copy
 * of a fragment starts a new partial message that later expires. Re-sent
 * datagrams are the replay window's job (same seq), before reassembly.
 */
static void test_late_duplicate_after_completion(void **state)
{
	struct hb_reasm *r = reasm_default();
	uint16_t order[] = {0, 1};
	struct tmsg t;

	tmsg_init(&t, 1, 1, 2000, 1000);
	deliver(r, &t, order);
	expect_pending(r, &t, 0, 0);
	assert_int_equal(stats(r).pending, 1);
	assert_int_equal(stats(r).duplicates, 0);
	assert_int_equal(hb_reasm_expire(r, 5001), 1);
	assert_int_equal(stats(r).mem, 0);
	tmsg_free(&t);
	hb_reasm_free(r);
}

static void test_thousands_pending(void **state)
{
	enum { N = 5000 };
	struct hb_reasm *r = reasm_default();
	struct tmsg *t = calloc(N, sizeof(*t));

	assert_non_null(t);
	for (uint32_t i = 0; i < N; i++) {
		tmsg_init(&t[i], i, i % 3, 300, 128);
		expect_pending(r, &t[i], 1, 0);
		expect_pending(r, &t[i], 2, 0);
	}
	assert_int_equal(stats(r).pending, N);
	for (uint32_t i = N; i-- > 0;) {
		expect_complete(r, &t[i], 0, 1);
		tmsg_free(&t[i]);
	}
	assert_int_equal(stats(r).completed, N);
	assert_int_equal(stats(r).pending, 0);
	assert_int_equal(stats(r).mem, 0);
	free(t);
	hb_reasm_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan_exact_fit_is_single),
		cmocka_unit_test(test_plan_one_byte_more_fragments),
		cmocka_unit_test(test_plan_chunk_multiples),
		cmocka_unit_test(test_plan_empty_body),
		cmocka_unit_test(test_plan_count_max),
		cmocka_unit_test(test_plan_message_max),
		cmocka_unit_test(test_plan_bad_args),
		cmocka_unit_test(test_limits_default),
		cmocka_unit_test(test_new_rejects_bad_limits),
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_reverse_order),
		cmocka_unit_test(test_shuffled),
		cmocka_unit_test(test_duplicates_ignored),
		cmocka_unit_test(test_plan_then_reassemble),
		cmocka_unit_test(test_hosts_and_epochs_kept_apart),
		cmocka_unit_test(test_count_mismatch),
		cmocka_unit_test(test_type_mismatch),
		cmocka_unit_test(test_size_mismatch),
		cmocka_unit_test(test_bad_fragment_header),
		cmocka_unit_test(test_max_message_exact_fits),
		cmocka_unit_test(test_over_max_message_refused_early),
		cmocka_unit_test(test_at_max_message_accepted),
		cmocka_unit_test(test_over_max_message_drops_partial),
		cmocka_unit_test(test_mem_cap_flood),
		cmocka_unit_test(test_mem_cap_refuses_more_of_a_message),
		cmocka_unit_test(test_completion_at_mem_cap),
		cmocka_unit_test(test_per_sender_cap_evicts_oldest),
		cmocka_unit_test(test_eviction_makes_room_at_mem_cap),
		cmocka_unit_test(test_timeout_expire),
		cmocka_unit_test(test_expire_from_add),
		cmocka_unit_test(test_late_duplicate_after_completion),
		cmocka_unit_test(test_thousands_pending),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
