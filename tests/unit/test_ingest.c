/*
 * test_ingest: hbd's receive path (hbd/ingest.c) end to end in memory:
 * real host table, state machine, keyring, reassembler and counters, a
 * fake store (fake_store.c) that records every operation, datagrams
 * built with the proto API as a client would, and injected clocks.
 * Covered: a first HTB creating the host (UP, stored, ACKed); the ACK
 * itself (type, direction, key, epoch, body, never larger than what it
 * answers: the datagram, or a fragmented PLG's whole message, as
 * docs/PROTOCOL.md section 8 says); request_update against the Info
 * digest; PLG single and fragmented (in and out of order); BYE (STOPPED,
 * never acknowledged); every drop reason counted with no ACK, no store
 * operation and no change to the host; sequence gaps; reboot / restart /
 * clone events; address changes; interval override; a full store;
 * encrypt mode; bodies refused after authentication.
 *
 * Tests marked "Regression" pin defects found while writing these tests
 * (fixed since). UBSan reports raised while a datagram is processed fail
 * the test too (see ub_check()).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "counters.h"
#include "hb_error.h"
#include "hb_frag.h"
#include "hb_frame.h"
#include "hb_key.h"
#include "hb_msg.h"
#include "hosts.h"
#include "ingest.h"
#include "state.h"
#include "store.h"

#define FAKE_STORE_INTERFACE_ONLY
#include "fake_store.c"

#define SERVER_EPOCH 1795550000u
#define EPOCH 1795560000u          /* the client's first epoch */
#define U0 1795560010000ull        /* Unix ms at the start of each test */
#define M0 50000000ull             /* monotonic ms at the start */
#define START_A 1795559000u        /* client start time (HTB start_time) */
#define SKEW 300000u
#define KEY_ID 1
#define HOST_KEY_ID 2
#define STRANGER_KEY_ID 99

static const uint8_t cl_uuid[16] = {0x6f, 0x1c, 0x2a, 0x9e, 0x3b, 0x4d,
				    0x4c, 0x5e, 0x8f, 0x70, 0x12, 0x34,
				    0x56, 0x78, 0x9a, 0xbc};
/* The host the per-host key (id 2) is bound to. */
static const uint8_t bound_uuid[16] = {0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
				       0x4b, 0x0b, 0x8b, 0x0b, 0x0b, 0x0b,
				       0x0b, 0x0b, 0x0b, 0x0b};
#define BOUND_UUID_TEXT "0b0b0b0b-0b0b-4b0b-8b0b-0b0b0b0b0b0b"
static const uint8_t boot_a[16] = {0xa0, 1, 2, 3, 4, 5, 6, 7,
				   8,    9, 10, 11, 12, 13, 14, 15};
static const uint8_t boot_b[16] = {0xb0, 1, 2, 3, 4, 5, 6, 7,
				   8,    9, 10, 11, 12, 13, 14, 15};

/* {"sysname":"Linux","cpus":2} and the same with 4 cpus. */
static const uint8_t os_v1[] = {0x82, 0xa7, 's', 'y', 's', 'n', 'a', 'm',
				'e',  0xa5, 'L', 'i', 'n', 'u', 'x', 0xa4,
				'c',  'p',  'u', 's', 0x02};
static const uint8_t os_v2[] = {0x82, 0xa7, 's', 'y', 's', 'n', 'a', 'm',
				'e',  0xa5, 'L', 'i', 'n', 'u', 'x', 0xa4,
				'c',  'p',  'u', 's', 0x04};
#define OS_V1_JSON "{\"sysname\":\"Linux\",\"cpus\":2}"
/* ["bash","coreutils"] */
static const uint8_t pkgs[] = {0x92, 0xa4, 'b', 'a', 's', 'h', 0xa9, 'c',
			       'o',  'r',  'e', 'u', 't', 'i', 'l',  's'};

/* ---- UBSan reports as test failures ---- */

/*
 * The UBSan runtime calls __ubsan_on_report() for every report (a weak
 * hook); counting them lets a test fail on undefined behaviour instead
 * of only printing it. Without -fsanitize=undefined this is never called.
 */
void __ubsan_on_report(void);
void __ubsan_get_current_report_data(const char **kind, const char **msg,
				     const char **file, unsigned *line,
				     unsigned *col, char **addr)
	__attribute__((weak));

static int ub_reports;
static char ub_last[512];

void __ubsan_on_report(void)
{
	const char *kind = "?", *msg = "?", *file = "?";
	unsigned line = 0, col = 0;
	char *addr = NULL;

	ub_reports++;
	if (__ubsan_get_current_report_data)
		__ubsan_get_current_report_data(&kind, &msg, &file, &line,
						&col, &addr);
	snprintf(ub_last, sizeof(ub_last), "%s:%u: %s: %s", file, line, kind,
		 msg);
}

/* Fails when UBSan reported anything since `before`. */
static void ub_check(int before)
{
	if (ub_reports != before)
		fail_msg("undefined behaviour: %s", ub_last);
}

/* ---- fixture ---- */

struct rec {
	struct transition tr;
};

struct fx {
	struct hosts *hosts;
	struct statem *sm;
	struct hb_keyring *kr;
	struct hb_reasm *reasm;
	struct store *store;
	struct counters ctr;
	struct ingest in;
	struct hb_key key;      /* id 1, secret 00..1f: shared */
	struct hb_key host_key; /* id 2, bound to bound_uuid */
	struct hb_key stranger; /* id 99: not in the keyring */
	struct hb_key impostor; /* id 1 with another secret */
	struct rec tr[256];
	size_t n_tr;
	uint8_t reply[HB_FRAME_MAX];
	size_t reply_len;
	struct sockaddr_in6 addr_a, addr_b;
	uint64_t t;       /* ms since the start of the test */
	size_t msg_len;   /* a fragmented PLG's whole size (section 8) */
};

/* A client: its identity, key, mode and numbering. */
struct client {
	uint8_t uuid[16];
	uint32_t epoch, seq; /* seq of its next datagram */
	const struct hb_key *key;
	uint8_t mode;
	uint32_t last_ack_seq; /* header seq of the last ACK it got */
};

struct dg {
	struct hb_header h;
	uint8_t b[HB_FRAME_MAX];
	size_t len;
};

static uint64_t mono(const struct fx *f)
{
	return M0 + f->t;
}

static uint64_t now_unix(const struct fx *f)
{
	return U0 + f->t;
}

static void on_transition(void *ctx, const struct transition *tr)
{
	struct fx *f = ctx;

	assert_true(f->n_tr < sizeof(f->tr) / sizeof(f->tr[0]));
	f->tr[f->n_tr++].tr = *tr;
}

static void addr_v4(struct sockaddr_in6 *a, const char *ip, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->sin6_family = AF_INET6;
	a->sin6_port = htons(port);
	a->sin6_addr.s6_addr[10] = 0xff;
	a->sin6_addr.s6_addr[11] = 0xff;
	assert_int_equal(inet_pton(AF_INET, ip, &a->sin6_addr.s6_addr[12]), 1);
}

static void master_from(uint8_t base, uint8_t out[HB_KEY_LEN])
{
	for (int i = 0; i < HB_KEY_LEN; i++)
		out[i] = (uint8_t)(base + i);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct ingest_opts io = {HB_MODE_SIGN, SKEW, 60000, 3};
	struct hb_reasm_limits rl;
	struct state_opts so;
	uint8_t m[HB_KEY_LEN];
	char line[160], hex[65], err[160];

	assert_non_null(f);
	master_from(0x00, m);
	assert_int_equal(hb_key_init(&f->key, KEY_ID, m), 0);
	master_from(0x40, m);
	assert_int_equal(hb_key_init(&f->host_key, HOST_KEY_ID, m), 0);
	f->host_key.has_host = true;
	memcpy(f->host_key.host_id, bound_uuid, 16);
	master_from(0x80, m);
	assert_int_equal(hb_key_init(&f->stranger, STRANGER_KEY_ID, m), 0);
	assert_int_equal(hb_key_init(&f->impostor, KEY_ID, m), 0);

	f->kr = hb_keyring_new();
	assert_non_null(f->kr);
	assert_int_equal(hb_keyring_add(f->kr, &f->key), 0);
	/* The bound key as a server's key file line declares it. */
	master_from(0x40, m);
	sodium_bin2hex(hex, sizeof(hex), m, sizeof(m));
	snprintf(line, sizeof(line), "%u %s %s\n", HOST_KEY_ID, hex,
		 BOUND_UUID_TEXT);
	assert_int_equal(hb_keyring_parse(f->kr, line, strlen(line), "test",
					  err, sizeof(err)),
			 0);
	assert_true(hb_keyring_find(f->kr, HOST_KEY_ID)->has_host);

	f->hosts = hosts_new();
	f->sm = malloc(sizeof(*f->sm));
	assert_non_null(f->hosts);
	assert_non_null(f->sm);
	state_opts_default(&so);
	state_init(f->sm, f->hosts, &so, M0, on_transition, f);
	hb_reasm_limits_default(&rl);
	f->reasm = hb_reasm_new(&rl);
	assert_non_null(f->reasm);
	f->store = fake_store_new();
	ingest_init(&f->in, f->hosts, f->sm, f->kr, f->reasm, f->store,
		    &f->ctr, &io, SERVER_EPOCH);
	addr_v4(&f->addr_a, "127.0.0.1", 40000);
	addr_v4(&f->addr_b, "127.0.0.1", 40001);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	ingest_cleanup(&f->in);
	fake_store_free(f->store);
	hb_reasm_free(f->reasm);
	free(f->sm);
	hosts_free(f->hosts);
	hb_keyring_free(f->kr);
	free(f);
	return 0;
}

static void client_init(struct fx *f, struct client *c)
{
	memset(c, 0, sizeof(*c));
	memcpy(c->uuid, cl_uuid, 16);
	c->epoch = EPOCH;
	c->seq = 1;
	c->key = &f->key;
	c->mode = HB_MODE_SIGN;
}

/* ---- building datagrams ---- */

static void header(struct client *c, struct hb_header *h, uint8_t type,
		   uint64_t time_ms)
{
	memset(h, 0, sizeof(*h));
	h->version = HB_VERSION;
	h->type = type;
	h->mode = c->mode;
	h->key_id = c->mode == HB_MODE_NONE ? 0 : c->key->id;
	memcpy(h->host_id, c->uuid, 16);
	h->epoch = c->epoch;
	h->seq = c->seq++;
	h->time_ms = time_ms;
}

static void seal(struct client *c, struct dg *d, const uint8_t *body,
		 size_t blen)
{
	assert_int_equal(hb_frame_seal(&d->h,
				       c->mode == HB_MODE_NONE ? NULL : c->key,
				       body, blen, d->b, sizeof(d->b), &d->len),
			 0);
}

/* A datagram of any type with this body, stamped now. */
static void make(struct fx *f, struct client *c, struct dg *d, uint8_t type,
		 const uint8_t *body, size_t blen)
{
	header(c, &d->h, type, now_unix(f));
	seal(c, d, body, blen);
}

static void info_digest_os(const uint8_t *data, size_t len, uint8_t out[16])
{
	struct hb_digest dg;

	hb_digest_init(&dg);
	hb_digest_add(&dg, hb_str_c("os"), data, len);
	hb_digest_final(&dg, out);
}

/* The HTB of a typical client: one InfoPlugin "os", one monitor "load". */
static struct hb_htb *std_htb(void)
{
	static struct hb_htb m;

	memset(&m, 0, sizeof(m));
	m.interval = 10;
	m.hostname = hb_str_c("web-01");
	m.status = HB_STATUS_WARNING;
	m.status_msg = hb_str_c("load: 4.2 > 4");
	m.owner = hb_str_c("ops");
	m.version = hb_str_c("0.1.0");
	m.start_time = START_A;
	m.uptime = 86400;
	m.has = HB_HTB_HAS_BOOT_ID | HB_HTB_HAS_DIGEST;
	memcpy(m.boot_id, boot_a, 16);
	info_digest_os(os_v1, sizeof(os_v1), m.info_digest);
	m.n_labels = 1;
	m.labels[0] = (struct hb_label){hb_str_c("role"), hb_str_c("web")};
	m.n_plugins = 2;
	m.plugins[0] = (struct hb_htb_plugin){
		hb_str_c("load"), HB_STATUS_WARNING, hb_str_c("4.2 > 4")};
	m.plugins[1] = (struct hb_htb_plugin){hb_str_c("os"), HB_STATUS_OK,
						 hb_str_c("")};
	return &m;
}

static void make_htb(struct fx *f, struct client *c, struct dg *d,
		     const struct hb_htb *m)
{
	uint8_t body[HB_FRAME_MAX];
	size_t blen;

	assert_int_equal(hb_htb_encode(m, body, sizeof(body), &blen), 0);
	make(f, c, d, HB_HTB, body, blen);
}

static size_t plg_body(struct fx *f, const char *name, uint8_t kind,
		       const uint8_t *data, size_t dlen, const char *message,
		       uint8_t *out, size_t cap)
{
	struct hb_plg p = {0};
	size_t len;

	p.plugin = hb_str_c(name);
	p.kind = kind;
	p.time_ms = now_unix(f) - 5000;
	p.interval = kind == HB_KIND_MONITOR ? 60 : 0;
	p.status = kind == HB_KIND_MONITOR ? HB_STATUS_WARNING : HB_STATUS_OK;
	p.message = message ? hb_str_c(message) : (struct hb_str){NULL, 0};
	p.data = data;
	p.data_len = (uint32_t)dlen;
	assert_int_equal(hb_plg_encode(&p, out, cap, &len), 0);
	return len;
}

static void make_plg(struct fx *f, struct client *c, struct dg *d,
		     const char *name, uint8_t kind, const uint8_t *data,
		     size_t dlen, const char *message)
{
	uint8_t body[HB_FRAME_MAX];
	size_t blen = plg_body(f, name, kind, data, dlen, message, body,
			       sizeof(body));

	make(f, c, d, HB_PLG, body, blen);
}

static void make_bye(struct fx *f, struct client *c, struct dg *d,
		     const char *reason)
{
	struct hb_bye m = {reason ? hb_str_c(reason) : (struct hb_str){0}};
	uint8_t body[256];
	size_t blen;

	assert_int_equal(hb_bye_encode(&m, body, sizeof(body), &blen), 0);
	make(f, c, d, HB_BYE, body, blen);
}

/* ---- delivering ---- */

/*
 * Hands a heap copy of exactly the datagram's bytes (ASan sees any
 * over-read) to ingest at the fixture's clocks. Checks the amplification
 * rule on every reply (for a fragment: against the whole message) and
 * that no undefined behaviour was reported.
 */
static size_t deliver(struct fx *f, const struct dg *d,
		      const struct sockaddr_in6 *from)
{
	uint8_t *copy = malloc(d->len ? d->len : 1);
	int ub = ub_reports;
	size_t limit;

	assert_non_null(copy);
	memcpy(copy, d->b, d->len);
	memset(f->reply, 0xee, sizeof(f->reply));
	ingest_datagram(&f->in, copy, d->len, from, mono(f), now_unix(f),
			f->reply, sizeof(f->reply), &f->reply_len);
	free(copy);
	ub_check(ub);
	limit = d->h.flags & HB_FLAG_FRAG ? f->msg_len : d->len;
	if (f->reply_len > limit)
		fail_msg("reply of %zu bytes to a request of %zu",
			 f->reply_len, limit);
	return f->reply_len;
}

static uint32_t host_idx(struct fx *f, const uint8_t uuid[16])
{
	uint32_t idx = hosts_find(f->hosts, uuid);

	assert_int_not_equal(idx, HOST_NONE);
	return idx;
}

static struct host *host_of(struct fx *f, const uint8_t uuid[16])
{
	return hosts_at(f->hosts, host_idx(f, uuid));
}

/*
 * Checks the reply is an ACK to c that authenticates with c's key under
 * the s2c subkey and acknowledges (c's epoch, ack_seq); returns its body.
 */
static struct hb_ack check_ack(struct fx *f, struct client *c,
			       uint32_t ack_seq)
{
	struct hb_header h;
	const uint8_t *body;
	size_t blen;
	struct hb_ack a;

	if (!f->reply_len)
		fail_msg("no ACK (acks=%llu suppressed=%llu drops=%llu)",
			 (unsigned long long)f->ctr.v[CTR_ACKS],
			 (unsigned long long)f->ctr.v[CTR_ACK_SUPPRESSED],
			 (unsigned long long)counters_drops(&f->ctr));
	assert_int_equal(hb_frame_parse(f->reply, f->reply_len, &h), 0);
	assert_string_equal(hb_type_name(h.type), "ACK");
	assert_int_equal(hb_type_dir(h.type), HB_DIR_S2C);
	assert_string_equal(hb_mode_name(h.mode), hb_mode_name(c->mode));
	assert_int_equal(h.key_id, c->key->id);
	assert_int_equal(h.flags, 0);
	assert_memory_equal(h.host_id, c->uuid, 16);
	assert_int_equal(h.epoch, SERVER_EPOCH);
	assert_int_equal(h.time_ms, now_unix(f));
	assert_true(h.seq > c->last_ack_seq);
	c->last_ack_seq = h.seq;
	if (c->mode == HB_MODE_SIGN) {
		/* Recomputed here: BLAKE2b-128 keyed with the s2c subkey. */
		uint8_t tag[HB_TAG_LEN];

		crypto_generichash(tag, sizeof(tag), f->reply,
				   f->reply_len - HB_TAG_LEN,
				   c->key->sub[HB_MODE_SIGN - 1][HB_DIR_S2C],
				   HB_KEY_LEN);
		assert_memory_equal(tag, f->reply + f->reply_len - HB_TAG_LEN,
				    HB_TAG_LEN);
	}
	assert_int_equal(hb_frame_open(f->reply, f->reply_len, &h, c->key,
				       &body, &blen),
			 0);
	assert_int_equal(hb_ack_decode(body, blen, &a), 0);
	assert_int_equal(a.ack_epoch, c->epoch);
	assert_int_equal(a.ack_seq, ack_seq);
	return a;
}

/* Sends a standard HTB (or m) from addr A and checks its ACK. */
static struct hb_ack htb_ok(struct fx *f, struct client *c,
			    const struct hb_htb *m)
{
	struct dg d;

	make_htb(f, c, &d, m ? m : std_htb());
	deliver(f, &d, &f->addr_a);
	return check_ack(f, c, d.h.seq);
}

/* ---- drops ---- */

struct snap {
	bool exists;
	struct host h;
	size_t hosts, store_ops, n_tr;
	struct counters ctr;
};

static void snap_take(struct fx *f, const uint8_t uuid[16], struct snap *s)
{
	uint32_t idx = hosts_find(f->hosts, uuid);

	memset(s, 0, sizeof(*s));
	s->exists = idx != HOST_NONE;
	if (s->exists)
		memcpy(&s->h, hosts_at(f->hosts, idx), sizeof(s->h));
	s->hosts = hosts_count(f->hosts);
	s->store_ops = fake_store_ops(f->store);
	s->n_tr = f->n_tr;
	s->ctr = f->ctr;
}

/* "drop_x+1 drop_y+1": every drop counter that moved since s. */
static void drop_diff(const struct fx *f, const struct snap *s, char *out,
		      size_t cap)
{
	size_t n = 0;

	out[0] = '\0';
	for (int i = CTR_DROP_FIRST; i < CTR_COUNT; i++)
		if (f->ctr.v[i] != s->ctr.v[i])
			n += (size_t)snprintf(
				out + n, n < cap ? cap - n : 0, "%s%s+%llu",
				n ? " " : "", counter_name(i),
				(unsigned long long)(f->ctr.v[i] - s->ctr.v[i]));
}

/*
 * The datagram is dropped as err (any reason when err is 0): counted
 * once under that reason, no reply, no store operation, no transition,
 * no host created, and the host of `uuid` not changed in any byte.
 */
static void assert_dropped(struct fx *f, const struct dg *d,
			   const struct sockaddr_in6 *from, int err,
			   const uint8_t uuid[16])
{
	struct snap s;
	char got[256], want[64];

	snap_take(f, uuid, &s);
	deliver(f, d, from);
	drop_diff(f, &s, got, sizeof(got));
	if (err) {
		snprintf(want, sizeof(want), "%s+1", counter_name(counter_drop(err)));
		assert_string_equal(got, want);
	} else {
		assert_int_equal(counters_drops(&f->ctr),
				 counters_drops(&s.ctr) + 1);
	}
	assert_int_equal(f->reply_len, 0);
	assert_int_equal(f->ctr.v[CTR_RX_DATAGRAMS],
			 s.ctr.v[CTR_RX_DATAGRAMS] + 1);
	assert_int_equal(f->ctr.v[CTR_ACKS], s.ctr.v[CTR_ACKS]);
	assert_int_equal(f->ctr.v[CTR_ACK_SUPPRESSED],
			 s.ctr.v[CTR_ACK_SUPPRESSED]);
	assert_int_equal(f->ctr.v[CTR_RX_HTB], s.ctr.v[CTR_RX_HTB]);
	assert_int_equal(f->ctr.v[CTR_HOSTS_NEW], s.ctr.v[CTR_HOSTS_NEW]);
	assert_int_equal(fake_store_ops(f->store), s.store_ops);
	assert_int_equal(f->n_tr, s.n_tr);
	assert_int_equal(hosts_count(f->hosts), s.hosts);
	if (s.exists)
		assert_memory_equal(hosts_at(f->hosts, hosts_find(f->hosts, uuid)),
				    &s.h, sizeof(s.h));
	else
		assert_int_equal(hosts_find(f->hosts, uuid), HOST_NONE);
}

/* A client whose host is known and UP: one HTB accepted. */
static void known_client(struct fx *f, struct client *c)
{
	client_init(f, c);
	htb_ok(f, c, NULL);
	f->t += 1000;
}

/* ===================================================================== */

static void test_first_htb_creates_host(void **state)
{
	struct fx *f = *state;
	const struct store_host *sh;
	struct client c;
	struct host *h;
	struct hb_ack a;
	uint32_t idx;

	client_init(f, &c);
	a = htb_ok(f, &c, NULL);
	assert_true(a.request_update); /* the server holds no Info data */
	assert_int_equal(a.interval, 0);

	idx = host_idx(f, cl_uuid);
	h = hosts_at(f->hosts, idx);
	assert_int_equal(hosts_count(f->hosts), 1);
	assert_string_equal(hbd_state_name(h->state), "UP");
	assert_int_equal(h->interval_ms, 10000);
	assert_int_equal(h->status, HB_STATUS_WARNING);
	assert_int_equal(h->received, 1);
	assert_int_equal(h->lost, 0);
	assert_int_equal(h->replay.epoch, EPOCH);
	assert_int_equal(h->replay.top, 1);
	assert_int_equal(h->first_seen_unix, U0);
	assert_int_equal(h->last_seen_unix, U0);
	assert_int_equal(h->last_seen_mono, M0);
	assert_int_equal(h->skew_ms, 0);
	assert_memory_equal(&h->addr, &f->addr_a, sizeof(f->addr_a));
	assert_non_null(h->attrs);
	assert_string_equal(h->attrs->hostname, "web-01");
	assert_string_equal(h->attrs->owner, "ops");
	assert_string_equal(h->attrs->version, "0.1.0");
	assert_string_equal(h->attrs->labels_json, "{\"role\":\"web\"}");
	assert_int_not_equal(h->flags & HOST_DIRTY, 0);

	/* One transition, STOPPED -> UP. */
	assert_int_equal(f->n_tr, 1);
	assert_int_equal(f->tr[0].tr.idx, idx);
	assert_string_equal(hbd_state_name(f->tr[0].tr.from), "STOPPED");
	assert_string_equal(hbd_state_name(f->tr[0].tr.to), "UP");
	assert_string_equal(f->tr[0].tr.reason, "first heartbeat");

	/* The host row, written once. */
	assert_string_equal(f->store->journal, "H");
	sh = fake_store_last_host(f->store);
	assert_int_equal(sh->rowid, (int64_t)idx + 1);
	assert_memory_equal(sh->uuid, cl_uuid, 16);
	assert_string_equal(sh->hostname, "web-01");
	assert_string_equal(sh->address, "127.0.0.1:40000");
	assert_string_equal(sh->owner, "ops");
	assert_string_equal(sh->version, "0.1.0");
	assert_string_equal(sh->labels_json, "{\"role\":\"web\"}");
	assert_int_equal(sh->interval_s, 10);
	assert_int_equal(sh->first_seen_ms, U0);
	assert_int_equal(sh->epoch, EPOCH);
	assert_int_equal(sh->seq, 1);
	assert_int_equal(sh->boot_start, START_A);

	assert_int_equal(f->ctr.v[CTR_RX_DATAGRAMS], 1);
	assert_int_equal(f->ctr.v[CTR_RX_HTB], 1);
	assert_int_equal(f->ctr.v[CTR_HOSTS_NEW], 1);
	assert_int_equal(f->ctr.v[CTR_ACKS], 1);
	assert_int_equal(f->ctr.v[CTR_REQUEST_UPDATE], 1);
	assert_int_equal(counters_drops(&f->ctr), 0);
}

/* A second identical HTB: no transition and no host write. */
static void test_repeated_htb_is_quiet(void **state)
{
	struct fx *f = *state;
	struct client c;

	known_client(f, &c);
	htb_ok(f, &c, NULL);
	f->t += 10000;
	htb_ok(f, &c, NULL);
	assert_int_equal(f->n_tr, 1);
	assert_string_equal(f->store->journal, "H");
	assert_int_equal(host_of(f, cl_uuid)->received, 3);
	assert_int_equal(f->ctr.v[CTR_ACKS], 3);
}

/* A changed attribute is written. */
static void test_changed_attrs_stored(void **state)
{
	struct fx *f = *state;
	struct hb_htb *m;
	struct client c;

	known_client(f, &c);
	m = std_htb();
	m->hostname = hb_str_c("web-02");
	m->n_labels = 2;
	m->labels[1] = (struct hb_label){hb_str_c("dc"), hb_str_c("fra\"1")};
	htb_ok(f, &c, m);
	assert_string_equal(f->store->journal, "HH");
	assert_string_equal(fake_store_last_host(f->store)->hostname, "web-02");
	assert_string_equal(fake_store_last_host(f->store)->labels_json,
			    "{\"role\":\"web\",\"dc\":\"fra\\\"1\"}");
}

static void test_request_update_cleared_by_info(void **state)
{
	struct fx *f = *state;
	struct client c;
	struct dg d;

	client_init(f, &c);
	assert_true(htb_ok(f, &c, NULL).request_update);
	/* The client re-sends its InfoPlugin. */
	make_plg(f, &c, &d, "os", HB_KIND_INFO, os_v1, sizeof(os_v1), "ok");
	deliver(f, &d, &f->addr_a);
	assert_false(check_ack(f, &c, d.h.seq).request_update);
	f->t += 10000;
	assert_false(htb_ok(f, &c, NULL).request_update);
	assert_int_equal(f->ctr.v[CTR_REQUEST_UPDATE], 1);
}

/* New Info data the HTB's digest does not cover yet: ask again. */
static void test_request_update_after_info_changed(void **state)
{
	struct fx *f = *state;
	struct hb_htb *m;
	struct client c;
	struct dg d;

	client_init(f, &c);
	htb_ok(f, &c, NULL);
	make_plg(f, &c, &d, "os", HB_KIND_INFO, os_v1, sizeof(os_v1), "v1");
	deliver(f, &d, &f->addr_a);
	assert_false(htb_ok(f, &c, NULL).request_update);
	make_plg(f, &c, &d, "os", HB_KIND_INFO, os_v2, sizeof(os_v2), "v2");
	deliver(f, &d, &f->addr_a);
	assert_true(htb_ok(f, &c, NULL).request_update); /* old digest */
	m = std_htb();
	info_digest_os(os_v2, sizeof(os_v2), m->info_digest);
	assert_false(htb_ok(f, &c, m).request_update);
}

/* Info the server holds but the client no longer reports is ignored. */
static void test_request_update_ignores_unreported_info(void **state)
{
	struct fx *f = *state;
	struct hb_htb *m;
	struct client c;
	struct dg d;

	client_init(f, &c);
	htb_ok(f, &c, NULL);
	make_plg(f, &c, &d, "os", HB_KIND_INFO, os_v1, sizeof(os_v1), "ok");
	deliver(f, &d, &f->addr_a);
	make_plg(f, &c, &d, "pkgs", HB_KIND_INFO, pkgs, sizeof(pkgs), "ok");
	deliver(f, &d, &f->addr_a);
	assert_int_equal(host_of(f, cl_uuid)->n_info, 2);
	/* Reports load and os only; the digest covers os only. */
	assert_false(htb_ok(f, &c, NULL).request_update);
	/* Reports pkgs too: the digest must cover it. */
	m = std_htb();
	m->n_plugins = 3;
	m->plugins[2] = (struct hb_htb_plugin){hb_str_c("pkgs"),
						  HB_STATUS_OK, hb_str_c("")};
	assert_true(htb_ok(f, &c, m).request_update);
}

/* An HTB without info_digest never gets request_update (section 9). */
static void test_no_digest_no_request_update(void **state)
{
	struct fx *f = *state;
	struct hb_htb *m;
	struct client c;

	client_init(f, &c);
	m = std_htb();
	m->has &= ~(unsigned)HB_HTB_HAS_DIGEST;
	assert_false(htb_ok(f, &c, m).request_update);
	assert_int_equal(f->ctr.v[CTR_REQUEST_UPDATE], 0);
}

/* A monitor plugin's data is stored but is not Info. */
static void test_monitor_plg_is_not_info(void **state)
{
	struct fx *f = *state;
	const struct store_plugin *p;
	struct client c;
	struct dg d;

	known_client(f, &c);
	make_plg(f, &c, &d, "load", HB_KIND_MONITOR, pkgs, sizeof(pkgs),
		 "4.2 > 4");
	deliver(f, &d, &f->addr_a);
	check_ack(f, &c, d.h.seq);
	assert_int_equal(host_of(f, cl_uuid)->n_info, 0);
	assert_int_equal(f->store->n_plugins, 1);
	p = &f->store->plugins[0];
	assert_string_equal(p->plugin, "load");
	assert_int_equal(p->kind, HB_KIND_MONITOR);
	assert_int_equal(p->status, HB_STATUS_WARNING);
	assert_string_equal(p->message, "4.2 > 4");
	assert_int_equal(p->interval_s, 60);
	assert_string_equal(p->data_json, "[\"bash\",\"coreutils\"]");
}

static void test_plg_single(void **state)
{
	struct fx *f = *state;
	const struct store_plugin *p;
	uint8_t digest[16];
	struct client c;
	struct hb_ack a;
	struct dg d;
	uint32_t idx;

	known_client(f, &c);
	idx = host_idx(f, cl_uuid);
	make_plg(f, &c, &d, "os", HB_KIND_INFO, os_v1, sizeof(os_v1), "fine");
	deliver(f, &d, &f->addr_a);
	a = check_ack(f, &c, d.h.seq);
	assert_false(a.request_update);
	assert_int_equal(a.interval, 0);
	assert_string_equal(f->store->journal, "HP");
	p = &f->store->plugins[0];
	assert_int_equal(p->rowid, (int64_t)idx + 1);
	assert_string_equal(p->plugin, "os");
	assert_int_equal(p->kind, HB_KIND_INFO);
	assert_int_equal(p->status, HB_STATUS_OK);
	assert_string_equal(p->message, "fine");
	assert_int_equal(p->time_ms, now_unix(f) - 5000);
	assert_int_equal(p->received_ms, now_unix(f));
	assert_int_equal(p->interval_s, 0);
	assert_string_equal(p->data_json, OS_V1_JSON);
	hb_data_digest(os_v1, sizeof(os_v1), digest);
	assert_memory_equal(p->digest, digest, 16);
	/* The host now holds that Info digest. */
	assert_int_equal(host_of(f, cl_uuid)->n_info, 1);
	assert_string_equal(host_of(f, cl_uuid)->info[0].name, "os");
	assert_memory_equal(host_of(f, cl_uuid)->info[0].digest, digest, 16);
	assert_int_equal(f->ctr.v[CTR_RX_PLG], 1);
	assert_int_equal(f->ctr.v[CTR_RX_FRAGMENTS], 0);
}

/* A PLG as a new host's first datagram stores the host row first. */
static void test_plg_from_new_host(void **state)
{
	struct fx *f = *state;
	struct client c;
	struct dg d;

	client_init(f, &c);
	make_plg(f, &c, &d, "os", HB_KIND_INFO, os_v1, sizeof(os_v1), "x");
	deliver(f, &d, &f->addr_a);
	check_ack(f, &c, d.h.seq);
	assert_string_equal(f->store->journal, "HP");
	assert_string_equal(f->store->hosts[0].address, "127.0.0.1:40000");
	assert_int_equal(f->store->plugins[0].rowid, f->store->hosts[0].rowid);
	/* Known, but not UP before its first heartbeat. */
	assert_string_equal(hbd_state_name(host_of(f, cl_uuid)->state),
			    "STOPPED");
	assert_int_equal(f->n_tr, 0);
}

/* A PLG body too big for one 256-byte datagram, and its fragments. */
struct frags {
	struct dg d[64];
	uint16_t n;
	uint32_t msg; /* seq of fragment 0 */
	char json[4096];
};

static void make_fragments(struct fx *f, struct client *c, struct frags *fr,
			   bool short_last)
{
	static uint8_t body[HB_MESSAGE_DEFAULT];
	uint8_t data[2048];
	size_t blen = 0, chunk = 0, pad;

	/*
	 * Pick a size whose last fragment is larger than an ACK or, when
	 * short_last, one whose last fragment (68 + r bytes) is smaller.
	 */
	for (pad = 600;; pad++) {
		data[0] = 0x81;
		data[1] = 0xa4;
		memcpy(data + 2, "blob", 4);
		data[6] = 0xda; /* str 16 */
		data[7] = (uint8_t)(pad >> 8);
		data[8] = (uint8_t)pad;
		memset(data + 9, 'x', pad);
		blen = plg_body(f, "pkgs", HB_KIND_INFO, data, 9 + pad, "big",
				body, sizeof(body));
		assert_int_equal(hb_frag_plan(blen, HB_FRAME_MIN, c->mode,
					      &fr->n, &chunk),
				 0);
		if (fr->n >= 4 && (short_last ? blen % chunk >= 1 &&
							blen % chunk <= 10
					       : blen % chunk > 120))
			break;
	}
	f->msg_len = HB_HEADER_LEN + HB_FRAGEXT_LEN + blen + HB_TAG_LEN;
	assert_true(fr->n <= 64);
	snprintf(fr->json, sizeof(fr->json), "{\"blob\":\"%.*s\"}", (int)pad,
		 (const char *)data + 9);
	fr->msg = c->seq;
	for (uint16_t i = 0; i < fr->n; i++) {
		struct dg *d = &fr->d[i];
		size_t off = i * chunk;

		header(c, &d->h, HB_PLG, now_unix(f));
		d->h.flags = HB_FLAG_FRAG;
		d->h.frag_msg = fr->msg;
		d->h.frag_index = i;
		d->h.frag_count = fr->n;
		seal(c, d, body + off, i + 1 < fr->n ? chunk : blen - off);
		assert_true(d->len <= HB_FRAME_MIN);
	}
}

static void check_fragmented_plg(struct fx *f, struct client *c,
				 const struct frags *fr, const uint16_t *order)
{
	for (uint16_t k = 0; k < fr->n; k++) {
		deliver(f, &fr->d[order[k]], &f->addr_a);
		if (k + 1 < fr->n) {
			assert_int_equal(f->reply_len, 0);
			assert_int_equal(f->store->n_plugins, 0);
		}
	}
	/* ACK after the last one, naming the first fragment's seq. */
	check_ack(f, c, fr->msg);
	assert_int_equal(f->store->n_plugins, 1);
	assert_string_equal(f->store->plugins[0].plugin, "pkgs");
	assert_string_equal(f->store->plugins[0].message, "big");
	assert_string_equal(f->store->plugins[0].data_json, fr->json);
	assert_int_equal(f->ctr.v[CTR_RX_FRAGMENTS], fr->n);
	assert_int_equal(f->ctr.v[CTR_RX_PLG], 1);
	assert_int_equal(f->ctr.v[CTR_ACKS], 2); /* HTB and this */
	assert_int_equal(counters_drops(&f->ctr), 0);
}

static void test_plg_fragmented_in_order(void **state)
{
	static struct frags fr;
	struct fx *f = *state;
	uint16_t order[64];
	struct client c;

	known_client(f, &c);
	make_fragments(f, &c, &fr, false);
	for (uint16_t i = 0; i < fr.n; i++)
		order[i] = i;
	check_fragmented_plg(f, &c, &fr, order);
}

/*
 * The ACK of a fragmented PLG is measured against the whole message
 * (section 8): a last fragment of 69..78 bytes, smaller than the ACK,
 * still gets it.
 */
static void test_plg_fragmented_short_last_fragment(void **state)
{
	static struct frags fr;
	struct fx *f = *state;
	uint16_t order[64];
	struct client c;

	known_client(f, &c);
	make_fragments(f, &c, &fr, true);
	assert_true(fr.d[fr.n - 1].len <= 78);
	for (uint16_t i = 0; i < fr.n; i++)
		order[i] = i;
	check_fragmented_plg(f, &c, &fr, order);
	assert_int_equal(f->ctr.v[CTR_ACK_SUPPRESSED], 0);
}

static void test_plg_fragmented_out_of_order(void **state)
{
	static struct frags fr;
	struct fx *f = *state;
	uint16_t order[64];
	struct client c;

	known_client(f, &c);
	make_fragments(f, &c, &fr, false);
	/* Last first, then the others backwards but one, then that one. */
	order[0] = (uint16_t)(fr.n - 1);
	for (uint16_t i = 1; i + 1 < fr.n; i++)
		order[i] = (uint16_t)(fr.n - 1 - i);
	order[fr.n - 1] = 0;
	assert_int_equal(order[fr.n - 2], 1);
	check_fragmented_plg(f, &c, &fr, order);
}

/* BYE: STOPPED and never acknowledged (sections 6.5 and 8). */
static void test_bye_stops_without_ack(void **state)
{
	struct fx *f = *state;
	struct client c;
	struct dg d;

	known_client(f, &c);
	make_bye(f, &c, &d, "shutdown: the system is going down for reboot");
	deliver(f, &d, &f->addr_a);
	assert_int_equal(f->reply_len, 0);
	assert_int_equal(f->ctr.v[CTR_ACKS], 1); /* the HTB's */
	assert_int_equal(f->ctr.v[CTR_ACK_SUPPRESSED], 0);
	assert_int_equal(counters_drops(&f->ctr), 0);
	assert_int_equal(f->ctr.v[CTR_RX_BYE], 1);
	assert_string_equal(hbd_state_name(host_of(f, cl_uuid)->state),
			    "STOPPED");
	assert_int_equal(f->n_tr, 2);
	assert_string_equal(hbd_state_name(f->tr[1].tr.from), "UP");
	assert_string_equal(
		f->tr[1].tr.reason,
		"BYE: shutdown: the system is going down for reboot");
	/* Silent for an hour: no LATE, no DOWN. */
	f->t += 3600 * 1000;
	state_advance(f->sm, mono(f));
	assert_int_equal(f->n_tr, 2);
	/* And back. */
	htb_ok(f, &c, NULL);
	assert_int_equal(f->n_tr, 3);
	assert_string_equal(f->tr[2].tr.reason, "heartbeat after BYE");
}

/* A repeated BYE (new seq) and a bare one: ignored once STOPPED. */
static void test_bye_repeated(void **state)
{
	struct fx *f = *state;
	struct client c;
	struct dg d;

	known_client(f, &c);
	make_bye(f, &c, &d, NULL);
	assert_int_equal(d.len, 61);
	deliver(f, &d, &f->addr_a);
	assert_int_equal(f->reply_len, 0);
	assert_int_equal(f->n_tr, 2);
	assert_string_equal(f->tr[1].tr.reason, "BYE");
	make_bye(f, &c, &d, NULL);
	deliver(f, &d, &f->addr_a);
	make_bye(f, &c, &d, "again");
	deliver(f, &d, &f->addr_a);
	assert_int_equal(f->reply_len, 0);
	assert_int_equal(f->n_tr, 2);
	assert_int_equal(f->ctr.v[CTR_RX_BYE], 3);
	assert_int_equal(f->ctr.v[CTR_ACKS] + f->ctr.v[CTR_ACK_SUPPRESSED], 1);
	assert_int_equal(counters_drops(&f->ctr), 0);
}

/*
 * Why an HTB is never left without ACK: the smallest HTB datagram (sign)
 * is 90 bytes, the largest ACK without request_update or interval 89.
 * That HTB, from a client with the widest epoch and seq, gets its ACK.
 */
static void test_ack_never_larger_than_htb(void **state)
{
	static struct hb_htb m;
	struct hb_ack big = {UINT32_MAX, UINT32_MAX, false, 0};
	uint8_t body[HB_FRAME_MAX];
	struct fx *f = *state;
	struct client c;
	size_t blen;
	struct dg d;

	client_init(f, &c);
	c.epoch = UINT32_MAX - 1; /* widest ack_epoch / ack_seq encodings */
	c.seq = UINT32_MAX - 10;
	memset(&m, 0, sizeof(m));
	m.interval = 10;
	m.hostname = hb_str_c("a");
	assert_int_equal(hb_htb_encode(&m, body, sizeof(body), &blen), 0);
	assert_int_equal(HB_HEADER_LEN + blen + HB_TAG_LEN, 90);
	assert_int_equal(hb_ack_encode(&big, body, sizeof(body), &blen), 0);
	assert_int_equal(HB_HEADER_LEN + blen + HB_TAG_LEN, 89);

	make_htb(f, &c, &d, &m);
	assert_int_equal(d.len, 90);
	deliver(f, &d, &f->addr_a); /* deliver() checks reply <= request */
	check_ack(f, &c, d.h.seq);
	assert_int_equal(f->ctr.v[CTR_ACK_SUPPRESSED], 0);
}

/*
 * An ACK that would outgrow its HTB leaves out the interval override
 * (section 8) rather than going unsent.
 */
static void test_override_left_out_when_ack_too_big(void **state)
{
	static struct hb_htb m;
	struct fx *f = *state;
	struct client c;
	struct hb_ack a;
	struct dg d;

	f->in.override_s = 60;
	client_init(f, &c);
	c.seq = 70000; /* a 5-byte ack_seq */
	memset(&m, 0, sizeof(m));
	m.interval = 10;
	m.hostname = hb_str_c("a");
	make_htb(f, &c, &d, &m);
	assert_int_equal(d.len, 90);
	deliver(f, &d, &f->addr_a);
	a = check_ack(f, &c, d.h.seq);
	assert_int_equal(a.interval, 0);
	assert_int_equal(f->ctr.v[CTR_ACK_SUPPRESSED], 0);
	assert_int_equal(f->ctr.v[CTR_INTERVAL_OVERRIDE], 1);
	/* A larger HTB carries it. */
	a = htb_ok(f, &c, NULL);
	assert_int_equal(a.interval, 60);
}

/* ---- drops ---- */

static void test_drop_bad_magic(void **state)
{
	struct fx *f = *state;
	struct client c;
	struct dg d;

	known_client(f, &c);
	make_htb(f, &c, &d, std_htb());
	d.b[0] = 'H';
	assert_dropped(f, &d, &f->addr_a, HB_EMAGIC, cl_uuid);
	d.b[0] = 'h';
	d.b[1] = 'B';
	assert_dropped(f, &d, &f->addr_a, HB_EMAGIC, cl_uuid);
}

static void test_drop_truncated(void **state)
{
	static const size_t lens[] = {0, 1, 43, 44, 59};
	struct fx *f = *state;
	struct client c;
	struct dg d;

	known_client(f, &c);
	make_htb(f, &c, &d, std_htb());
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct dg cut = d;

		cut.len = lens[i];
		assert_dropped(f, &cut, &f->addr_a, HB_ETRUNC, cl_uuid);
	}
	/* One byte short of the tag: it no longer authenticates. */
	d.len--;
	assert_dropped(f, &d, &f->addr_a, HB_EAUTH, cl_uuid);
}

static void test_drop_unknown_version(void **state)
{
	struct fx *f = *state;
	struct client c;
	struct dg d;

	known_client(f, &c);
	make_htb(f, &c, &d, std_htb());
	d.b[2] = 2;
	assert_dropped(f, &d, &f->addr_a, HB_EVERSION, cl_uuid);
	d.b[2] = 0;
	assert_dropped(f, &d, &f->addr_a, HB_EVERSION, cl_uuid);
}

/* Mode none when at least sign is required, for a known and a new host. */
static void test_drop_mode_none(void **state)
{
	struct fx *f = *state;
	struct client c, n;
	struct dg d;

	known_client(f, &c);
	c.mode = HB_MODE_NONE;
	make_htb(f, &c, &d, std_htb());
	assert_dropped(f, &d, &f->addr_a, HB_EMODE, cl_uuid);
	client_init(f, &n);
	n.uuid[0] ^= 1;
	n.mode = HB_MODE_NONE;
	make_htb(f, &n, &d, std_htb());
	assert_dropped(f, &d, &f->addr_a, HB_EMODE, n.uuid);
}

static void test_drop_unknown_key_id(void **state)
{
	struct fx *f = *state;
	struct client c;
	struct dg d;

	known_client(f, &c);
	c.key = &f->stranger;
	make_htb(f, &c, &d, std_htb());
	assert_dropped(f, &d, &f->addr_a, HB_EKEYID, cl_uuid);
}

static void test_drop_forged_tag(void **state)
{
	struct fx *f = *state;
	struct client c;
	struct dg d;

	known_client(f, &c);
	make_htb(f, &c, &d, std_htb());
	d.b[d.len - 1] ^= 0x80;
	assert_dropped(f, &d, &f->addr_a, HB_EAUTH, cl_uuid);
	/* Right key id, wrong secret. */
	c.key = &f->impostor;
	make_htb(f, &c, &d, std_htb());
	assert_dropped(f, &d, &f->addr_a, HB_EAUTH, cl_uuid);
	/* A forged datagram creates no host. */
	c.uuid[15] ^= 1;
	make_htb(f, &c, &d, std_htb());
	assert_dropped(f, &d, &f->addr_a, HB_EAUTH, c.uuid);
}

/* Signed for the other direction (s2c subkey): not a valid HTB. */
static void test_drop_wrong_direction_subkey(void **state)
{
	struct fx *f = *state;
	uint8_t body[HB_FRAME_MAX];
	struct client c;
	size_t blen;
	struct dg d;

	known_client(f, &c);
	assert_int_equal(hb_htb_encode(std_htb(), body, sizeof(body), &blen),
			 0);
	header(&c, &d.h, HB_HTB, now_unix(f));
	seal(&c, &d, body, blen);
	crypto_generichash(d.b + d.len - HB_TAG_LEN, HB_TAG_LEN, d.b,
			   d.len - HB_TAG_LEN,
			   f->key.sub[HB_MODE_SIGN - 1][HB_DIR_S2C], HB_KEY_LEN);
	assert_dropped(f, &d, &f->addr_a, HB_EAUTH, cl_uuid);
}

static void test_drop_replayed_datagram(void **state)
{
	struct fx *f = *state;
	struct client c;
	struct dg d;

	client_init(f, &c);
	make_htb(f, &c, &d, std_htb());
	deliver(f, &d, &f->addr_a);
	check_ack(f, &c, d.h.seq);
	f->t += 500;
	assert_dropped(f, &d, &f->addr_a, HB_EREPLAY, cl_uuid);
	/* Also from elsewhere (same epoch: no clone suspicion). */
	assert_dropped(f, &d, &f->addr_b, HB_EREPLAY, cl_uuid);
	assert_int_equal(f->ctr.v[CTR_CLONES], 0);
}

/* Epoch 0 is never valid, even authentic, even from a new host. */
static void test_drop_epoch_zero(void **state)
{
	struct fx *f = *state;
	struct client c;
	struct dg d;

	known_client(f, &c);
	c.epoch = 0;
	make_htb(f, &c, &d, std_htb());
	assert_dropped(f, &d, &f->addr_a, HB_EREPLAY, cl_uuid);
	c.uuid[3] ^= 0x10;
	make_htb(f, &c, &d, std_htb());
	assert_dropped(f, &d, &f->addr_a, HB_EREPLAY, c.uuid);
}

static void test_drop_stale_and_future_time(void **state)
{
	struct fx *f = *state;
	struct client c;
	struct dg d;

	known_client(f, &c);
	header(&c, &d.h, HB_HTB, now_unix(f) - SKEW - 1);
	{
		uint8_t body[HB_FRAME_MAX];
		size_t blen;

		assert_int_equal(hb_htb_encode(std_htb(), body, sizeof(body),
					       &blen),
				 0);
		seal(&c, &d, body, blen);
		assert_dropped(f, &d, &f->addr_a, HB_ESKEW, cl_uuid);
		header(&c, &d.h, HB_HTB, now_unix(f) + SKEW + 1);
		seal(&c, &d, body, blen);
		assert_dropped(f, &d, &f->addr_a, HB_ESKEW, cl_uuid);
		/* At the edges of the window: accepted. */
		header(&c, &d.h, HB_HTB, now_unix(f) + SKEW);
		seal(&c, &d, body, blen);
		deliver(f, &d, &f->addr_a);
		check_ack(f, &c, d.h.seq);
		assert_int_equal(host_of(f, cl_uuid)->skew_ms, (int32_t)SKEW);
		header(&c, &d.h, HB_HTB, now_unix(f) - SKEW);
		seal(&c, &d, body, blen);
		deliver(f, &d, &f->addr_a);
		check_ack(f, &c, d.h.seq);
		assert_int_equal(host_of(f, cl_uuid)->skew_ms, -(int32_t)SKEW);
	}
}

/* A per-host key authenticates its own host only. */
static void test_per_host_key(void **state)
{
	struct fx *f = *state;
	struct client c, b;
	struct dg d;

	known_client(f, &c);
	c.key = &f->host_key; /* bound to bound_uuid, used for cl_uuid */
	make_htb(f, &c, &d, std_htb());
	assert_dropped(f, &d, &f->addr_a, HB_EHOST, cl_uuid);
	/* Not even for a host not yet known. */
	c.uuid[0] ^= 0xff;
	make_htb(f, &c, &d, std_htb());
	assert_dropped(f, &d, &f->addr_a, HB_EHOST, c.uuid);

	client_init(f, &b);
	memcpy(b.uuid, bound_uuid, 16);
	b.key = &f->host_key;
	htb_ok(f, &b, NULL); /* ACKed under key 2 */
	assert_string_equal(hbd_state_name(host_of(f, bound_uuid)->state),
			    "UP");
}

static void test_drop_garbage(void **state)
{
	struct fx *f = *state;
	uint8_t seed[randombytes_SEEDBYTES] = {0};
	struct client c;
	struct dg d;

	known_client(f, &c);
	memset(&d.h, 0, sizeof(d.h));
	for (uint32_t i = 0; i < 2000; i++) {
		memcpy(seed, &i, sizeof(i));
		randombytes_buf_deterministic(d.b, sizeof(d.b), seed);
		d.len = d.b[0] | (d.b[1] & 1) << 8; /* 0..511 */
		if (i % 2) { /* past the magic */
			d.b[0] = 'h';
			d.b[1] = 'b';
		}
		if (i % 4 == 1) { /* and the version */
			d.b[2] = HB_VERSION;
			d.b[6] = d.b[7] = 0;
		}
		assert_dropped(f, &d, &f->addr_a, 0, cl_uuid);
	}
}

/* Every single-bit corruption of a valid HTB is dropped, harmlessly. */
static void test_drop_every_bit_flip(void **state)
{
	struct fx *f = *state;
	struct client c;
	struct dg d, bad;

	known_client(f, &c);
	make_htb(f, &c, &d, std_htb());
	for (size_t bit = 0; bit < 8 * d.len; bit++) {
		bad = d;
		bad.b[bit / 8] ^= (uint8_t)(1u << bit % 8);
		assert_dropped(f, &bad, &f->addr_a, 0, cl_uuid);
	}
	deliver(f, &d, &f->addr_a); /* the original still passes */
	check_ack(f, &c, d.h.seq);
}

/* Server-bound ACKs (and other s2c or unhandled types): bad_type. */
static void test_drop_unexpected_types(void **state)
{
	static const uint8_t types[] = {HB_ACK, HB_CALL, HB_PROFILE, HB_RES};
	static const uint8_t map0[] = {0x80};
	struct fx *f = *state;
	struct client c;
	struct dg d;

	known_client(f, &c);
	for (size_t i = 0; i < sizeof(types); i++) {
		uint64_t before = f->ctr.v[CTR_UNEXPECTED_TYPE];

		if (types[i] == HB_ACK) {
			struct hb_ack a = {EPOCH, 1, false, 0};
			uint8_t body[64];
			size_t blen;

			assert_int_equal(hb_ack_encode(&a, body, sizeof(body),
						       &blen),
					 0);
			make(f, &c, &d, HB_ACK, body, blen);
		} else {
			make(f, &c, &d, types[i], map0, sizeof(map0));
		}
		assert_dropped(f, &d, &f->addr_a, HB_ETYPE, cl_uuid);
		assert_int_equal(f->ctr.v[CTR_UNEXPECTED_TYPE], before + 1);
	}
}

/* Authentic datagrams whose bodies are refused: no ACK, no action. */
static void test_drop_bad_bodies(void **state)
{
	static const uint8_t not_map[] = {0x91, 0x01};
	static const uint8_t no_host[] = {0x82, 0xa8, 'i', 'n', 't', 'e', 'r',
					  'v',  'a',  'l', 0x0a, 0xa6, 's',
					  't',  'a',  't', 'u',  's',  0x00};
	struct fx *f = *state;
	struct hb_htb *m;
	struct client c;
	struct dg d;

	known_client(f, &c);
	make(f, &c, &d, HB_HTB, not_map, sizeof(not_map));
	deliver(f, &d, &f->addr_a);
	assert_int_equal(f->reply_len, 0);
	assert_int_equal(f->ctr.v[counter_drop(HB_EMSGPACK)], 1);
	make(f, &c, &d, HB_HTB, no_host, sizeof(no_host));
	deliver(f, &d, &f->addr_a);
	assert_int_equal(f->reply_len, 0);
	assert_int_equal(f->ctr.v[counter_drop(HB_EMISSING)], 1);
	m = std_htb();
	m->hostname = hb_str_c("web\n01");
	make_htb(f, &c, &d, m);
	deliver(f, &d, &f->addr_a);
	assert_int_equal(f->reply_len, 0);
	assert_int_equal(f->ctr.v[CTR_BAD_NAME], 1);
	assert_int_equal(f->ctr.v[counter_drop(HB_EFIELD)], 1);
	make_plg(f, &c, &d, "../etc", HB_KIND_INFO, os_v1, sizeof(os_v1), "m");
	deliver(f, &d, &f->addr_a);
	assert_int_equal(f->reply_len, 0);
	assert_int_equal(f->ctr.v[CTR_BAD_NAME], 2);
	assert_int_equal(f->store->n_plugins, 0);
	assert_string_equal(host_of(f, cl_uuid)->attrs->hostname, "web-01");
	assert_int_equal(f->n_tr, 1);
	assert_int_equal(f->ctr.v[CTR_ACKS], 1);
}

/* ---- sequence, epochs, clones ---- */

static void test_sequence_gaps_counted_as_lost(void **state)
{
	struct fx *f = *state;
	struct client c;
	struct host *h;

	client_init(f, &c);
	htb_ok(f, &c, NULL); /* seq 1 */
	htb_ok(f, &c, NULL); /* seq 2 */
	h = host_of(f, cl_uuid);
	assert_int_equal(h->lost, 0);
	c.seq = 6; /* 3, 4, 5 missing */
	htb_ok(f, &c, NULL);
	assert_int_equal(h->lost, 3);
	assert_int_equal(h->received, 3);
	c.seq = 4; /* late, not lost */
	htb_ok(f, &c, NULL);
	assert_int_equal(h->lost, 2);
	assert_int_equal(h->received, 4);
	c.seq = 7;
	htb_ok(f, &c, NULL);
	assert_int_equal(h->lost, 2);
	/* A new epoch starts counting afresh. */
	c.epoch++;
	c.seq = 1000;
	htb_ok(f, &c, NULL);
	assert_int_equal(h->lost, 2);
	assert_int_equal(h->next_seq, 1001);
}

static void test_reboot_event(void **state)
{
	struct fx *f = *state;
	const struct store_event *e;
	struct hb_htb *m;
	struct client c;
	uint32_t idx;

	known_client(f, &c);
	idx = host_idx(f, cl_uuid);
	c.epoch += 100;
	c.seq = 1;
	m = std_htb();
	memcpy(m->boot_id, boot_b, 16);
	m->start_time = START_A + 100;
	htb_ok(f, &c, m);
	assert_int_equal(fake_store_count_events(f->store, "reboot"), 1);
	assert_int_equal(fake_store_count_events(f->store, "restart"), 0);
	e = fake_store_last_event(f->store, "reboot");
	assert_int_equal(e->rowid, (int64_t)idx + 1);
	assert_int_equal(e->time_ms, now_unix(f));
	assert_int_equal(e->from, -1);
	assert_int_equal(e->to, -1);
	assert_int_equal(f->ctr.v[CTR_REBOOTS], 1);
	/* More HTBs of that epoch: nothing new. */
	htb_ok(f, &c, m);
	assert_int_equal(f->store->n_events, 1);
	assert_int_equal(f->n_tr, 1); /* still UP throughout */
}

static void test_restart_event(void **state)
{
	struct fx *f = *state;
	struct hb_htb *m;
	struct client c;

	known_client(f, &c);
	c.epoch += 100;
	c.seq = 1;
	m = std_htb();
	m->start_time = START_A + 100; /* same boot_id */
	htb_ok(f, &c, m);
	assert_int_equal(fake_store_count_events(f->store, "restart"), 1);
	assert_int_equal(fake_store_count_events(f->store, "reboot"), 0);
	assert_int_equal(fake_store_last_event(f->store, "restart")->rowid,
			 (int64_t)host_idx(f, cl_uuid) + 1);
	assert_int_equal(f->ctr.v[CTR_RESTARTS], 1);
}

/* A new epoch with the same boot id and start time: no event. */
static void test_new_epoch_same_boot_no_event(void **state)
{
	struct fx *f = *state;
	struct client c;

	known_client(f, &c);
	c.epoch += 100;
	c.seq = 1;
	htb_ok(f, &c, NULL);
	assert_int_equal(f->store->n_events, 0);
	assert_int_equal(f->ctr.v[CTR_REBOOTS] + f->ctr.v[CTR_RESTARTS], 0);
}

/*
 * Regression: reboots were only looked for when an HTB was the first
 * accepted datagram of its epoch, so a PLG (spooled, retransmitted or
 * reordered) opening the new epoch hid the reboot its HTB announced.
 */
static void test_reboot_detected_when_plg_opens_epoch(void **state)
{
	struct fx *f = *state;
	struct hb_htb *m;
	struct client c;
	struct dg d;

	known_client(f, &c);
	c.epoch += 100;
	c.seq = 1;
	make_plg(f, &c, &d, "os", HB_KIND_INFO, os_v1, sizeof(os_v1), "x");
	deliver(f, &d, &f->addr_a);
	check_ack(f, &c, d.h.seq);
	m = std_htb();
	memcpy(m->boot_id, boot_b, 16);
	m->start_time = START_A + 100;
	htb_ok(f, &c, m);
	assert_int_equal(fake_store_count_events(f->store, "reboot"), 1);
}

/* Sends n authentic HTBs of `epoch` from addr, `gap_ms` apart. */
static void old_epoch_htbs(struct fx *f, struct client *k, int n,
			   const struct sockaddr_in6 *from, uint64_t gap_ms)
{
	for (int i = 0; i < n; i++) {
		struct dg d;

		make_htb(f, k, &d, std_htb());
		deliver(f, &d, from);
		assert_int_equal(f->reply_len, 0);
		f->t += gap_ms;
	}
}

static void test_clone_event_once(void **state)
{
	struct fx *f = *state;
	const struct store_event *e;
	struct client a, b;
	struct host *h;

	client_init(f, &a);
	a.epoch = 200;
	htb_ok(f, &a, NULL);
	h = host_of(f, cl_uuid);
	client_init(f, &b); /* the same UUID on another machine */
	b.epoch = 100;
	old_epoch_htbs(f, &b, 2, &f->addr_b, 1000);
	assert_int_equal(fake_store_count_events(f->store, "clone"), 0);
	old_epoch_htbs(f, &b, 1, &f->addr_b, 1000);
	assert_int_equal(fake_store_count_events(f->store, "clone"), 1);
	e = fake_store_last_event(f->store, "clone");
	assert_int_equal(e->rowid, (int64_t)host_idx(f, cl_uuid) + 1);
	assert_non_null(strstr(e->reason, "127.0.0.1:40001 (epoch 100)"));
	assert_non_null(strstr(e->reason, "127.0.0.1:40000 (epoch 200)"));
	assert_int_equal(f->ctr.v[CTR_CLONES], 1);
	assert_int_equal(f->ctr.v[counter_drop(HB_EREPLAY)], 3);
	/* More of the same within the window: no second event. */
	old_epoch_htbs(f, &b, 5, &f->addr_b, 1000);
	assert_int_equal(fake_store_count_events(f->store, "clone"), 1);
	/* The real host is untouched: address, epoch, state. */
	assert_memory_equal(&h->addr, &f->addr_a, sizeof(f->addr_a));
	assert_int_equal(h->replay.epoch, 200);
	assert_int_equal(h->received, 1);
	assert_int_equal(f->n_tr, 1);
	assert_int_equal(f->store->n_hosts, 1);
}

/* Old epochs from the host's own address, or forged ones: no clone. */
static void test_clone_needs_authentic_other_address(void **state)
{
	struct fx *f = *state;
	struct client a, b;

	client_init(f, &a);
	a.epoch = 200;
	htb_ok(f, &a, NULL);
	client_init(f, &b);
	b.epoch = 100;
	old_epoch_htbs(f, &b, 5, &f->addr_a, 1000);
	b.key = &f->impostor;
	old_epoch_htbs(f, &b, 5, &f->addr_b, 1000);
	assert_int_equal(f->store->n_events, 0);
	assert_int_equal(f->ctr.v[CTR_CLONES], 0);
}

/* Hits spread wider than the clone window do not add up. */
static void test_clone_window(void **state)
{
	struct fx *f = *state;
	struct client a, b;

	client_init(f, &a);
	a.epoch = 200;
	htb_ok(f, &a, NULL);
	client_init(f, &b);
	b.epoch = 100;
	old_epoch_htbs(f, &b, 2, &f->addr_b, 31000); /* at 0 s and 31 s */
	/* 62 s: past the window, counting restarts (1), 63 s (2)... */
	old_epoch_htbs(f, &b, 2, &f->addr_b, 1000);
	assert_int_equal(fake_store_count_events(f->store, "clone"), 0);
	old_epoch_htbs(f, &b, 1, &f->addr_b, 1000); /* ...64 s (3) */
	assert_int_equal(fake_store_count_events(f->store, "clone"), 1);
}

static void test_address_change_stores_host(void **state)
{
	struct fx *f = *state;
	struct sockaddr_in6 v6;
	struct client c;
	struct dg d;

	client_init(f, &c);
	htb_ok(f, &c, NULL);
	htb_ok(f, &c, NULL);
	assert_int_equal(f->store->n_hosts, 1);
	make_htb(f, &c, &d, std_htb());
	deliver(f, &d, &f->addr_b);
	check_ack(f, &c, d.h.seq);
	assert_int_equal(f->store->n_hosts, 2);
	assert_string_equal(fake_store_last_host(f->store)->address,
			    "127.0.0.1:40001");
	assert_memory_equal(&host_of(f, cl_uuid)->addr, &f->addr_b,
			    sizeof(f->addr_b));
	/* A PLG from yet another address: stored before the plugin. */
	memset(&v6, 0, sizeof(v6));
	v6.sin6_family = AF_INET6;
	v6.sin6_port = htons(7781);
	v6.sin6_addr.s6_addr[15] = 1; /* ::1 */
	make_plg(f, &c, &d, "os", HB_KIND_INFO, os_v1, sizeof(os_v1), "m");
	deliver(f, &d, &v6);
	check_ack(f, &c, d.h.seq);
	assert_string_equal(f->store->journal, "HHHP");
	assert_string_equal(fake_store_last_host(f->store)->address,
			    "[::1]:7781");
	assert_int_equal(f->n_tr, 1);
}

static void test_interval_override(void **state)
{
	struct fx *f = *state;
	struct client c;
	struct hb_ack a;
	struct host *h;

	f->in.override_s = 60;
	client_init(f, &c);
	a = htb_ok(f, &c, NULL); /* declares 10 s */
	assert_int_equal(a.interval, 60);
	h = host_of(f, cl_uuid);
	assert_int_equal(h->interval_ms, 60000);
	assert_int_equal(fake_store_last_host(f->store)->interval_s, 60);
	assert_int_equal(f->ctr.v[CTR_INTERVAL_OVERRIDE], 1);
	/* The host is judged by the override: not LATE at 15 s... */
	f->t = 15100;
	state_advance(f->sm, mono(f));
	assert_int_equal(f->n_tr, 1);
	/* ...but at 90 s. */
	f->t = 90100;
	state_advance(f->sm, mono(f));
	assert_int_equal(f->n_tr, 2);
	assert_string_equal(hbd_state_name(f->tr[1].tr.to), "LATE");
}

/* An override shorter than the declared interval is not sent. */
static void test_interval_override_not_shorter(void **state)
{
	struct fx *f = *state;
	struct client c;

	f->in.override_s = 5;
	client_init(f, &c);
	assert_int_equal(htb_ok(f, &c, NULL).interval, 0);
	assert_int_equal(host_of(f, cl_uuid)->interval_ms, 10000);
	assert_int_equal(f->ctr.v[CTR_INTERVAL_OVERRIDE], 0);
}

/*
 * A full store loses writes (counted) but not the protocol; a host whose
 * row was refused is written again, before anything about it, once the
 * store accepts writes, and then only when something changes.
 */
static void test_store_full(void **state)
{
	struct fx *f = *state;
	struct client c;
	struct dg d;

	f->store->fail = true;
	client_init(f, &c);
	htb_ok(f, &c, NULL);
	assert_int_equal(f->ctr.v[CTR_STORE_DROPPED], 1);
	assert_string_equal(hbd_state_name(host_of(f, cl_uuid)->state), "UP");
	make_plg(f, &c, &d, "os", HB_KIND_INFO, os_v1, sizeof(os_v1), "m");
	deliver(f, &d, &f->addr_a);
	check_ack(f, &c, d.h.seq);
	/* The host row again, then the plugin: both refused. */
	assert_int_equal(f->ctr.v[CTR_STORE_DROPPED], 3);
	assert_int_equal(f->store->refused, 3);
	assert_int_equal(fake_store_ops(f->store), 0);

	f->store->fail = false;
	make_plg(f, &c, &d, "os", HB_KIND_INFO, os_v1, sizeof(os_v1), "m");
	deliver(f, &d, &f->addr_a);
	check_ack(f, &c, d.h.seq);
	assert_string_equal(f->store->journal, "HP");
	assert_string_equal(f->store->hosts[0].hostname, "web-01");
	htb_ok(f, &c, NULL);
	htb_ok(f, &c, NULL);
	assert_string_equal(f->store->journal, "HP");
	assert_int_equal(f->ctr.v[CTR_STORE_DROPPED], 3);
}

/* Mode encrypt: the ACK is encrypted too, under the s2c subkey. */
static void test_encrypt_mode(void **state)
{
	struct fx *f = *state;
	struct client c;
	struct dg d;

	client_init(f, &c);
	c.mode = HB_MODE_ENCRYPT;
	assert_true(htb_ok(f, &c, NULL).request_update);
	make_plg(f, &c, &d, "os", HB_KIND_INFO, os_v1, sizeof(os_v1), "m");
	deliver(f, &d, &f->addr_a);
	check_ack(f, &c, d.h.seq);
	assert_string_equal(f->store->plugins[0].data_json, OS_V1_JSON);
	assert_false(htb_ok(f, &c, NULL).request_update);
}

/*
 * Regression: a new host's row was written only by a successful HTB.
 * When its first authentic HTB was refused after authentication (here a
 * hostname with a control character, as from a client reading its
 * hostname from a file with a trailing newline), its PLGs were then
 * ACKed and stored with a rowid that had no hosts row, which the SQLite
 * schema's REFERENCES hosts(id) rejects.
 */
static void test_host_row_before_plugin_after_refused_htb(void **state)
{
	struct fx *f = *state;
	struct hb_htb *m;
	struct client c;
	struct dg d;

	client_init(f, &c);
	m = std_htb();
	m->hostname = hb_str_c("web-01\n");
	make_htb(f, &c, &d, m);
	deliver(f, &d, &f->addr_a);
	assert_int_equal(f->reply_len, 0);
	assert_int_equal(f->ctr.v[CTR_BAD_NAME], 1);
	make_plg(f, &c, &d, "os", HB_KIND_INFO, os_v1, sizeof(os_v1), "m");
	deliver(f, &d, &f->addr_a);
	check_ack(f, &c, d.h.seq);
	assert_string_equal(f->store->journal, "HP");
}

/*
 * Regression (undefined behaviour): absent optional strings decode as
 * {NULL, 0}, and ingest passed them on to strndup(NULL, 0) and
 * memcmp(x, NULL, 0) (HTB without owner / version, via hosts_set_attrs)
 * and memcpy(msg, NULL, 0) (PLG without message), all declared nonnull
 * by glibc. Fails through ub_check() when built with UBSan.
 */
static void test_absent_optional_strings(void **state)
{
	static struct hb_htb m;
	struct fx *f = *state;
	struct client c;
	struct dg d;

	client_init(f, &c);
	memset(&m, 0, sizeof(m));
	m.interval = 10;
	m.hostname = hb_str_c("web-01"); /* no owner, no version */
	m.has = HB_HTB_HAS_DIGEST;
	info_digest_os(os_v1, sizeof(os_v1), m.info_digest);
	m.n_plugins = 1;
	m.plugins[0] = (struct hb_htb_plugin){hb_str_c("os"), HB_STATUS_OK,
						 hb_str_c("")};
	make_htb(f, &c, &d, &m);
	deliver(f, &d, &f->addr_a); /* failed here under UBSan */
	check_ack(f, &c, d.h.seq);
	assert_string_equal(host_of(f, cl_uuid)->attrs->owner, "");
	make_htb(f, &c, &d, &m);
	deliver(f, &d, &f->addr_a);
	check_ack(f, &c, d.h.seq);
	make_plg(f, &c, &d, "os", HB_KIND_INFO, os_v1, sizeof(os_v1), NULL);
	deliver(f, &d, &f->addr_a);
	check_ack(f, &c, d.h.seq);
	assert_string_equal(f->store->plugins[0].message, "");
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		/*
		 * First: UBSan reports each source location once per
		 * process, so the first test to reach one sees it.
		 */
		T(test_absent_optional_strings),
		T(test_first_htb_creates_host),
		T(test_repeated_htb_is_quiet),
		T(test_changed_attrs_stored),
		T(test_request_update_cleared_by_info),
		T(test_request_update_after_info_changed),
		T(test_request_update_ignores_unreported_info),
		T(test_no_digest_no_request_update),
		T(test_monitor_plg_is_not_info),
		T(test_plg_single),
		T(test_plg_from_new_host),
		T(test_plg_fragmented_in_order),
		T(test_plg_fragmented_out_of_order),
		T(test_plg_fragmented_short_last_fragment),
		T(test_bye_stops_without_ack),
		T(test_bye_repeated),
		T(test_ack_never_larger_than_htb),
		T(test_override_left_out_when_ack_too_big),
		T(test_drop_bad_magic),
		T(test_drop_truncated),
		T(test_drop_unknown_version),
		T(test_drop_mode_none),
		T(test_drop_unknown_key_id),
		T(test_drop_forged_tag),
		T(test_drop_wrong_direction_subkey),
		T(test_drop_replayed_datagram),
		T(test_drop_epoch_zero),
		T(test_drop_stale_and_future_time),
		T(test_per_host_key),
		T(test_drop_garbage),
		T(test_drop_every_bit_flip),
		T(test_drop_unexpected_types),
		T(test_drop_bad_bodies),
		T(test_sequence_gaps_counted_as_lost),
		T(test_reboot_event),
		T(test_restart_event),
		T(test_new_epoch_same_boot_no_event),
		T(test_reboot_detected_when_plg_opens_epoch),
		T(test_clone_event_once),
		T(test_clone_needs_authentic_other_address),
		T(test_clone_window),
		T(test_address_change_stores_host),
		T(test_interval_override),
		T(test_interval_override_not_shorter),
		T(test_store_full),
		T(test_encrypt_mode),
		T(test_host_row_before_plugin_after_refused_htb),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
