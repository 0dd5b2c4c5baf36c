/*
 * fuzz_datagram: libFuzzer target for everything a receiver does with
 * bytes from the network. The input is a sequence of datagrams, each
 * preceded by its length as 2 bytes big-endian (the last one may be cut
 * short by the end of the input), so one input can hold the fragments of
 * a message. Every datagram takes two paths:
 *
 *   real      hb_frame_parse, hb_frame_open with a keyring holding the
 *             documented test key, then for a fragment hb_reasm_add, and
 *             for a whole body the typed decoder of its type and
 *             hb_json_from_msgpack (skipped for bodies whose map keys
 *             nest containers more than 10 deep, see to_json()); what
 *             hb-wire and the daemons do.
 *   resealed  the fuzzer cannot forge tags, so a datagram that parses is
 *             sealed again with its own header and body (hb_frame_seal)
 *             and taken down the same path: the decoders and the
 *             reassembler then see fuzzed bodies in sign and encrypt
 *             mode too, not only in mode none.
 *
 * Each input gets its own reassembler per path (small limits, a fake
 * clock advancing 100 ms per datagram so that expiry runs) and its own
 * replay window, all freed at the end, so runs are independent and
 * LeakSanitizer sees every allocation released. Besides the sanitizers,
 * the documented contracts are checked, and a violation aborts:
 *   - a freshly sealed datagram parses back to its header and opens,
 *     except with a key bound to another host (HB_EHOST) or in mode
 *     none naming a key (HB_EMODE), and a flipped bit in its body or
 *     tag fails authentication;
 *   - the reassembler never holds more than its memory cap nor returns
 *     a body over max_message;
 *   - a body that decodes re-encodes, and the encoding decodes to the
 *     same fields;
 *   - hb_json_from_msgpack succeeds exactly when hb_mpr_check does (or
 *     reports ELIMIT), restores the buffer on failure, and writes valid
 *     UTF-8 without raw control characters;
 *   - hb_replay_update agrees with hb_replay_check and records what it
 *     accepts;
 *   - hb_frag_plan, given sizes taken from the header, covers the body
 *     with fragments that fit.
 *
 * Seeds (fuzz/corpus/datagram): the `hb-wire example` datagrams and
 * others made once with the same test key (fragments in every mode,
 * keys bound to hosts, edge cases); see the list in scripts/fuzz.sh.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "hb_error.h"
#include "hb_frag.h"
#include "hb_frame.h"
#include "hb_json.h"
#include "hb_key.h"
#include "hb_mpr.h"
#include "hb_msg.h"
#include "hb_replay.h"

#define KEY_TEST 1 /* the documented test key: secret 00 01 .. 1f */
#define KEY_HOST 2 /* secret 20 21 .. 3f, bound to the example host */
#define CLOCK_START 1000
#define CLOCK_STEP 100 /* ms per datagram */
#define UNIX_NOW 1795560010000ull /* for the skew check: example time */
#define MAX_KEY_NESTING 10 /* see to_json() */

enum { REAL, RESEALED, NPATHS };

#define CHECK(cond)                                                        \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "%s:%d: check failed: %s\n",       \
				__FILE__, __LINE__, #cond);                \
			abort();                                           \
		}                                                          \
	} while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The example host of hb-wire: 6f1c2a9e-3b4d-4c5e-8f70-123456789abc. */
static const uint8_t ex_host[16] = {0x6f, 0x1c, 0x2a, 0x9e, 0x3b, 0x4d,
				    0x4c, 0x5e, 0x8f, 0x70, 0x12, 0x34,
				    0x56, 0x78, 0x9a, 0xbc};

static struct hb_keyring *keyring; /* built once, read-only */

/*
 * The real path's limits leave room for many senders at once (its hash
 * tables grow past 64 entries); the resealed path's are small enough for
 * one input of at most -max_len bytes to hit the memory cap, max_message
 * and the timeout (11 datagrams) easily.
 */
static const struct hb_reasm_limits limits[NPATHS] = {
	[REAL] = {
		.max_message = 16 * 1024,
		.mem_cap = 64 * 1024,
		.timeout_ms = 10000,
		.max_per_sender = 2,
	},
	[RESEALED] = {
		.max_message = 4 * 1024,
		.mem_cap = 4 * 1024,
		.timeout_ms = 1000,
		.max_per_sender = 2,
	},
};

/* What one input's datagrams share. */
struct run {
	struct hb_reasm *reasm[NPATHS];
	struct hb_replay win;
	struct hb_buf json;
	uint64_t now;
};

/* Decoded bodies, and the same decoded again after re-encoding. */
union msg {
	struct hb_htb htb;
	struct hb_ack ack;
	struct hb_plg plg;
	struct hb_bye bye;
};

static union msg msg1, msg2;
static uint8_t reenc[2 * 16 * 1024 + 256];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint8_t master[HB_KEY_LEN];
	struct hb_key k;

	if (sodium_init() < 0)
		abort();
	keyring = hb_keyring_new();
	CHECK(keyring);
	for (int i = 0; i < HB_KEY_LEN; i++)
		master[i] = (uint8_t)i;
	CHECK(hb_key_init(&k, KEY_TEST, master) == 0);
	CHECK(hb_keyring_add(keyring, &k) == 0);
	for (int i = 0; i < HB_KEY_LEN; i++)
		master[i] = (uint8_t)(HB_KEY_LEN + i);
	CHECK(hb_key_init(&k, KEY_HOST, master) == 0);
	k.has_host = true;
	memcpy(k.host_id, ex_host, 16);
	CHECK(hb_keyring_add(keyring, &k) == 0);
	hb_key_wipe(&k);
	return 0;
}

static bool str_eq(struct hb_str a, struct hb_str b)
{
	return a.len == b.len && (!a.len || !memcmp(a.ptr, b.ptr, a.len));
}

static bool htb_eq(const struct hb_htb *a, const struct hb_htb *b)
{
	if (a->interval != b->interval || !str_eq(a->hostname, b->hostname) ||
	    a->status != b->status || !str_eq(a->status_msg, b->status_msg) ||
	    !str_eq(a->owner, b->owner) || !str_eq(a->version, b->version) ||
	    a->start_time != b->start_time || a->uptime != b->uptime ||
	    a->has != b->has || a->n_labels != b->n_labels ||
	    a->n_plugins != b->n_plugins)
		return false;
	if ((a->has & HB_HTB_HAS_BOOT_ID) &&
	    memcmp(a->boot_id, b->boot_id, 16))
		return false;
	/* Bitwise: NaN loads must come back as the same NaN. */
	if ((a->has & HB_HTB_HAS_LOAD) &&
	    memcmp(a->load, b->load, sizeof(a->load)))
		return false;
	if ((a->has & HB_HTB_HAS_DIGEST) &&
	    memcmp(a->info_digest, b->info_digest, HB_DIGEST_LEN))
		return false;
	for (uint32_t i = 0; i < a->n_labels; i++)
		if (!str_eq(a->labels[i].key, b->labels[i].key) ||
		    !str_eq(a->labels[i].value, b->labels[i].value))
			return false;
	for (uint32_t i = 0; i < a->n_plugins; i++)
		if (!str_eq(a->plugins[i].name, b->plugins[i].name) ||
		    a->plugins[i].status != b->plugins[i].status ||
		    !str_eq(a->plugins[i].message, b->plugins[i].message))
			return false;
	return true;
}

static bool plg_eq(const struct hb_plg *a, const struct hb_plg *b)
{
	return str_eq(a->plugin, b->plugin) && a->kind == b->kind &&
	       a->time_ms == b->time_ms && a->interval == b->interval &&
	       a->status == b->status && str_eq(a->message, b->message) &&
	       a->data_len == b->data_len &&
	       !memcmp(a->data, b->data, a->data_len);
}

/*
 * Decodes body by type; a body that decodes must encode again and that
 * encoding must decode to the same message.
 */
static void decode(uint8_t type, const uint8_t *body, size_t len)
{
	size_t n = 0;
	int rc;

	switch (type) {
	case HB_HTB:
		if (hb_htb_decode(body, len, &msg1.htb) < 0)
			return;
		rc = hb_htb_encode(&msg1.htb, reenc, sizeof(reenc), &n);
		CHECK(rc == 0);
		CHECK(hb_htb_decode(reenc, n, &msg2.htb) == 0);
		CHECK(htb_eq(&msg1.htb, &msg2.htb));
		break;
	case HB_ACK:
		if (hb_ack_decode(body, len, &msg1.ack) < 0)
			return;
		rc = hb_ack_encode(&msg1.ack, reenc, sizeof(reenc), &n);
		CHECK(rc == 0);
		CHECK(hb_ack_decode(reenc, n, &msg2.ack) == 0);
		CHECK(msg1.ack.ack_epoch == msg2.ack.ack_epoch &&
		      msg1.ack.ack_seq == msg2.ack.ack_seq &&
		      msg1.ack.request_update == msg2.ack.request_update &&
		      msg1.ack.interval == msg2.ack.interval);
		break;
	case HB_PLG:
		if (hb_plg_decode(body, len, &msg1.plg) < 0)
			return;
		CHECK(hb_mpr_check(msg1.plg.data, msg1.plg.data_len) == 0);
		rc = hb_plg_encode(&msg1.plg, reenc, sizeof(reenc), &n);
		CHECK(rc == 0);
		CHECK(hb_plg_decode(reenc, n, &msg2.plg) == 0);
		CHECK(plg_eq(&msg1.plg, &msg2.plg));
		break;
	case HB_BYE:
		if (hb_bye_decode(body, len, &msg1.bye) < 0)
			return;
		rc = hb_bye_encode(&msg1.bye, reenc, sizeof(reenc), &n);
		CHECK(rc == 0);
		CHECK(hb_bye_decode(reenc, n, &msg2.bye) == 0);
		CHECK(str_eq(msg1.bye.reason, msg2.bye.reason));
		break;
	default: /* reserved types have no schema yet */
		break;
	}
}

/* True when s[0..n) is valid UTF-8 without C0 control characters. */
static bool json_text_ok(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = s[i];
		uint32_t cp;
		size_t len;

		if (c < 0x20)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c < 0xe0)
			len = 2, cp = c & 0x1f;
		else if (c >= 0xe0 && c < 0xf0)
			len = 3, cp = c & 0x0f;
		else if (c >= 0xf0 && c < 0xf5)
			len = 4, cp = c & 0x07;
		else
			return false;
		if (n - i < len)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		i += len;
	}
	return true;
}

/*
 * Records in *max how deeply map keys that are containers nest inside
 * each other in the value at r (each level is one more round of escaping
 * in hb_json). Returns 0, or -1 on malformed msgpack, *max then covering
 * what was read.
 */
static int key_nesting(struct hb_mpr *r, int depth, int keys, int *max)
{
	uint32_t n;
	int type = hb_mpr_peek(r);

	if (keys > *max)
		*max = keys;
	if (depth > HB_MPR_MAX_DEPTH)
		return -1;
	if (type == HB_MP_ARRAY) {
		if (hb_mpr_array(r, &n) < 0)
			return -1;
		while (n--)
			if (key_nesting(r, depth + 1, keys, max) < 0)
				return -1;
		return 0;
	}
	if (type == HB_MP_MAP) {
		if (hb_mpr_map(r, &n) < 0)
			return -1;
		while (n--) {
			int kt = hb_mpr_peek(r);
			int kk = keys + (kt == HB_MP_MAP || kt == HB_MP_ARRAY);

			if (key_nesting(r, depth + 1, kk, max) < 0 ||
			    key_nesting(r, depth + 1, keys, max) < 0)
				return -1;
		}
		return 0;
	}
	return hb_mpr_skip(r) < 0 ? -1 : 0;
}

static void to_json(struct run *r, const uint8_t *body, size_t len)
{
	struct hb_mpr mr;
	int rc, crc, nest = 0;

	/*
	 * Containers as map keys nested N deep grow the JSON about 2.2^N
	 * times (each level escapes the one inside), up to HB_JSON_MAX_OUT:
	 * a 50-byte value costs seconds under ASan, which would starve the
	 * rest of the search. Such bodies skip the JSON step.
	 */
	hb_mpr_init(&mr, body, len);
	if (len)
		(void)key_nesting(&mr, 0, 0, &nest);
	if (nest > MAX_KEY_NESTING)
		return;
	hb_buf_reset(&r->json);
	rc = hb_json_from_msgpack(body, len, &r->json);
	crc = hb_mpr_check(body, len);
	if (rc == 0) {
		CHECK(crc == 0);
		CHECK(r->json.len > 0 && r->json.data[r->json.len] == '\0');
		CHECK(json_text_ok((const uint8_t *)r->json.data,
				   r->json.len));
	} else {
		CHECK(rc == HB_EMSGPACK || rc == HB_ELIMIT);
		CHECK(rc == HB_ELIMIT || crc < 0);
		CHECK(r->json.len == 0);
	}
}

static void reasm_check(const struct hb_reasm *ra, int path)
{
	struct hb_reasm_stats st;

	hb_reasm_get_stats(ra, &st);
	CHECK(st.mem <= limits[path].mem_cap);
	CHECK((st.pending == 0) == (st.mem == 0));
}

/*
 * An authenticated body: reassembled when a fragment, then decoded. It
 * is copied to a buffer of its exact size so that reading one byte past
 * it is caught.
 */
static void deliver(struct run *r, int path, const struct hb_header *h,
		    const uint8_t *body, size_t len)
{
	uint8_t *copy;

	if (h->flags & HB_FLAG_FRAG) {
		int rc = hb_reasm_add(r->reasm[path], h, body, len, r->now,
				      &body, &len);

		reasm_check(r->reasm[path], path);
		if (rc < 0 || !body)
			return;
		CHECK(len <= limits[path].max_message);
	}
	copy = malloc(len ? len : 1);
	CHECK(copy);
	if (len)
		memcpy(copy, body, len);
	decode(h->type, copy, len);
	to_json(r, copy, len);
	free(copy);
}

static bool header_eq(const struct hb_header *a, const struct hb_header *b)
{
	return a->version == b->version && a->type == b->type &&
	       a->mode == b->mode && a->flags == b->flags &&
	       a->key_id == b->key_id &&
	       !memcmp(a->host_id, b->host_id, 16) && a->epoch == b->epoch &&
	       a->seq == b->seq && a->time_ms == b->time_ms &&
	       a->frag_msg == b->frag_msg && a->frag_index == b->frag_index &&
	       a->frag_count == b->frag_count;
}

/*
 * Seals the datagram d[0..len), whose header parsed as *ph, again with a
 * key the keyring holds (the test key when the header names none) and
 * receives the result.
 */
static void resealed(struct run *r, const uint8_t *d, size_t len,
		     const struct hb_header *ph)
{
	static uint8_t body[HB_FRAME_MAX], out[HB_FRAME_MAX],
		tampered[HB_FRAME_MAX];
	const struct hb_key *k = NULL;
	struct hb_header h = *ph, h2;
	const uint8_t *b;
	size_t off = hb_frame_body_offset(&h);
	size_t blen = len - hb_frame_overhead(&h), olen = 0, bl;
	int rc;

	if (h.mode != HB_MODE_NONE) {
		k = hb_keyring_find(keyring, h.key_id);
		if (!k) {
			h.key_id = KEY_TEST;
			k = hb_keyring_find(keyring, KEY_TEST);
		}
	}
	memcpy(body, d + off, blen);
	rc = hb_frame_seal(&h, k, body, blen, out, sizeof(out), &olen);
	CHECK(rc == 0 && olen == len);
	CHECK(hb_frame_parse(out, olen, &h2) == 0 && header_eq(&h, &h2));
	if (k) {
		/* One flipped bit in body or tag: refused before decryption. */
		size_t bits = 8 * (olen - off), bit = h.seq % bits;

		memcpy(tampered, out, olen);
		tampered[off + bit / 8] ^= (uint8_t)(1u << bit % 8);
		rc = hb_frame_open(tampered, olen, &h2, k, &b, &bl);
		CHECK(rc == HB_EAUTH || rc == HB_EHOST);
	}
	/* As a receiver does: the key the header names, whatever the mode. */
	k = hb_keyring_find(keyring, h2.key_id);
	rc = hb_frame_open(out, olen, &h2, k, &b, &bl);
	if (k && h2.mode == HB_MODE_NONE) {
		CHECK(rc == HB_EMODE); /* no downgrade to mode none */
		return;
	}
	if (k && k->has_host && memcmp(k->host_id, h2.host_id, 16)) {
		CHECK(rc == HB_EHOST);
		return;
	}
	CHECK(rc == 0 && bl == blen && (!blen || !memcmp(b, body, blen)));
	deliver(r, RESEALED, &h2, b, bl);
}

/* The replay window must do what hb_replay_check predicts. */
static void replay(struct run *r, const struct hb_header *h)
{
	int want = hb_replay_check(&r->win, h->epoch, h->seq);
	int rc = hb_replay_update(&r->win, h->epoch, h->seq);

	CHECK(rc == want && (rc == 0 || rc == HB_EREPLAY));
	if (rc == 0)
		CHECK(hb_replay_check(&r->win, h->epoch, h->seq) == HB_EREPLAY &&
		      r->win.epoch == h->epoch && r->win.top >= h->seq);
	(void)hb_skew_check(h->time_ms, UNIX_NOW, HB_SKEW_DEFAULT_MS);
}

/*
 * The sender's side of fragmentation, on numbers taken from the header:
 * a plan must cover the body with fragments that fit the datagram size.
 */
static void plan(const struct hb_header *h)
{
	size_t body = (size_t)(h->time_ms % (HB_MESSAGE_MAX + 2));
	size_t max = HB_FRAME_MIN + h->seq % (HB_FRAME_MAX - HB_FRAME_MIN + 1);
	size_t tag = h->mode == HB_MODE_NONE ? 0 : HB_TAG_LEN, chunk = 0;
	size_t room = max - HB_HEADER_LEN - HB_FRAGEXT_LEN - tag;
	uint16_t count = 0;
	int rc = hb_frag_plan(body, max, h->mode, &count, &chunk);

	if (rc == HB_ETOOBIG) {
		CHECK(body > HB_MESSAGE_MAX || body > HB_FRAG_COUNT_MAX * room);
		return;
	}
	CHECK(rc == 0);
	if (count == 1) {
		CHECK(chunk == body && HB_HEADER_LEN + tag + body <= max);
		return;
	}
	CHECK(count >= 2 && count <= HB_FRAG_COUNT_MAX && chunk <= room);
	CHECK(HB_HEADER_LEN + tag + body > max);
	CHECK((size_t)(count - 1) * chunk < body && count * chunk >= body);
}

static void datagram(struct run *r, const uint8_t *d, size_t len)
{
	struct hb_header h;
	const uint8_t *body;
	size_t blen;
	uint8_t *buf;
	int rc;

	/* Exact size, so that reading past the datagram is caught. */
	buf = malloc(len ? len : 1);
	CHECK(buf);
	if (len)
		memcpy(buf, d, len);
	rc = hb_frame_parse(buf, len, &h);
	if (rc < 0) {
		CHECK(rc >= -(HB_ERR_COUNT - 1));
		free(buf);
		return;
	}
	CHECK(len <= HB_FRAME_MAX && len >= hb_frame_overhead(&h));
	replay(r, &h);
	plan(&h);
	resealed(r, d, len, &h);
	rc = hb_frame_open(buf, len, &h, hb_keyring_find(keyring, h.key_id),
			   &body, &blen);
	if (rc == 0)
		deliver(r, REAL, &h, body, blen);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run r;

	memset(&r, 0, sizeof(r));
	hb_replay_init(&r.win);
	hb_buf_init(&r.json);
	r.now = CLOCK_START;
	for (int p = 0; p < NPATHS; p++)
		CHECK((r.reasm[p] = hb_reasm_new(&limits[p])));
	while (size >= 2) {
		size_t len = (size_t)data[0] << 8 | data[1];

		data += 2;
		size -= 2;
		if (len > size)
			len = size;
		datagram(&r, data, len);
		data += len;
		size -= len;
		r.now += CLOCK_STEP;
	}
	for (int p = 0; p < NPATHS; p++) {
		struct hb_reasm_stats st;

		/* Everything still held is older than the timeout by now. */
		hb_reasm_expire(r.reasm[p], r.now + limits[p].timeout_ms);
		hb_reasm_get_stats(r.reasm[p], &st);
		CHECK(st.pending == 0 && st.mem == 0);
		hb_reasm_free(r.reasm[p]);
	}
	hb_buf_free(&r.json);
	return 0;
}
