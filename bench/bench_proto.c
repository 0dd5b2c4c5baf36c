/*
 * bench_proto: what the wire protocol costs per datagram, in each
 * security mode. A sender's side is encode + seal (the body encoded in
 * place in the datagram buffer); a receiver's is parse + open (keyring
 * lookup, authentication or decryption) + typed decode, after copying
 * the datagram as recv() would (open decrypts in place). Messages: a
 * realistic HTB (hostname, labels, 4 plugin statuses, load, boot id,
 * Info digest) and a PLG carrying exactly 1 KiB of msgpack data. The raw
 * primitives behind sign and encrypt, and HMAC-SHA256 for comparison,
 * are timed on 160 bytes for context.
 *
 * Each operation is warmed up while finding how many iterations take
 * SECONDS / 5 (default 0.3 s per operation in all), then timed 5 times;
 * the median is printed, as a Markdown table. A benchmark, not a test:
 * it fails only when an operation does.
 *
 *     bench-proto [SECONDS]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <msgpack.h>
#include <sodium.h>

#include "hb_error.h"
#include "hb_frame.h"
#include "hb_key.h"
#include "hb_msg.h"

#define RUNS 5
#define CALIBRATE_S 0.02 /* a warm-up batch at least this long */
#define PLG_DATA_LEN 1024
#define PRIM_LEN 160

/* Results feed this, so that no work can be optimised away. */
static volatile uint64_t sink;

/* One security mode's sender and receiver state. */
struct ctx {
	uint8_t mode;
	struct hb_key key;
	struct hb_keyring *kr;
	struct hb_header htb_h, plg_h;
	const struct hb_htb *htb;
	const struct hb_plg *plg;
	uint8_t out[HB_FRAME_MAX]; /* what the sender builds */
	size_t out_len;
	uint8_t htb_dgram[HB_FRAME_MAX], plg_dgram[HB_FRAME_MAX];
	size_t htb_len, plg_len;
	uint8_t rx[HB_FRAME_MAX]; /* what the receiver works on */
	union {
		struct hb_htb htb;
		struct hb_plg plg;
	} msg;
};

/* Inputs of the primitives. */
static struct {
	uint8_t key[32];
	uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
	uint8_t in[PRIM_LEN], out[PRIM_LEN];
	uint8_t tag[32];
} prim;

typedef int (*op_fn)(struct ctx *c);

__attribute__((noreturn)) static void die(const char *what, int rc)
{
	fprintf(stderr, "bench-proto: %s: %s\n", what, hb_strerror(rc));
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- the messages ---- */

static const uint8_t host_id[16] = {0x6f, 0x1c, 0x2a, 0x9e, 0x3b, 0x4d,
				    0x4c, 0x5e, 0x8f, 0x70, 0x12, 0x34,
				    0x56, 0x78, 0x9a, 0xbc};

static void make_htb(struct hb_htb *m)
{
	static const uint8_t boot_id[16] = {0xb0, 0x07, 0x1d, 0x00, 0x11, 0x22,
					    0x43, 0x33, 0x84, 0x44, 0x55, 0x66,
					    0x77, 0x88, 0x99, 0xaa};

	memset(m, 0, sizeof(*m));
	m->interval = 10;
	m->hostname = hb_str_c("web-01.fra1.example.net");
	m->status = HB_STATUS_WARNING;
	m->status_msg = hb_str_c("disk: / 91% full");
	m->owner = hb_str_c("ops");
	m->version = hb_str_c("0.1.0");
	m->start_time = 1795560000;
	m->uptime = 1234567;
	m->has = HB_HTB_HAS_BOOT_ID | HB_HTB_HAS_LOAD | HB_HTB_HAS_DIGEST;
	memcpy(m->boot_id, boot_id, 16);
	m->load[0] = 0.42, m->load[1] = 0.37, m->load[2] = 0.31;
	hb_data_digest((const uint8_t *)"os", 2, m->info_digest);
	m->n_labels = 3;
	m->labels[0] = (struct hb_label){hb_str_c("role"), hb_str_c("web")};
	m->labels[1] = (struct hb_label){hb_str_c("env"), hb_str_c("prod")};
	m->labels[2] = (struct hb_label){hb_str_c("dc"), hb_str_c("fra1")};
	m->n_plugins = 4;
	m->plugins[0] = (struct hb_htb_plugin){hb_str_c("load"),
		HB_STATUS_OK, hb_str_c("load average 0.42")};
	m->plugins[1] = (struct hb_htb_plugin){hb_str_c("disk"),
		HB_STATUS_WARNING, hb_str_c("/ 91% full")};
	m->plugins[2] = (struct hb_htb_plugin){hb_str_c("memory"),
		HB_STATUS_OK, hb_str_c("23% used")};
	m->plugins[3] = (struct hb_htb_plugin){hb_str_c("os"),
		HB_STATUS_OK, hb_str_c("")};
}

static void pack_kv_str(msgpack_packer *pk, const char *k, const char *v)
{
	msgpack_pack_str_with_body(pk, k, strlen(k));
	msgpack_pack_str_with_body(pk, v, strlen(v));
}

/*
 * Monitor data as a disk plugin might send it: per-filesystem sizes and
 * usage, a note padded so that the value is exactly len bytes.
 */
static void pack_disk_data(msgpack_sbuffer *sb, size_t note_len)
{
	static const char *const mounts[] = {"/", "/boot", "/var", "/home",
					     "/srv", "/srv/data", "/tmp"};
	msgpack_packer pk;
	char note[PLG_DATA_LEN];

	msgpack_sbuffer_clear(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 2);
	msgpack_pack_str_with_body(&pk, "filesystems", 11);
	msgpack_pack_array(&pk, sizeof(mounts) / sizeof(mounts[0]));
	for (size_t i = 0; i < sizeof(mounts) / sizeof(mounts[0]); i++) {
		msgpack_pack_map(&pk, 7);
		pack_kv_str(&pk, "mount", mounts[i]);
		pack_kv_str(&pk, "device", "/dev/mapper/vg0-lv");
		pack_kv_str(&pk, "fstype", "ext4");
		msgpack_pack_str_with_body(&pk, "size", 4);
		msgpack_pack_uint64(&pk, 107374182400ull >> i);
		msgpack_pack_str_with_body(&pk, "used", 4);
		msgpack_pack_uint64(&pk, 97710505984ull >> i);
		msgpack_pack_str_with_body(&pk, "used_pct", 8);
		msgpack_pack_double(&pk, 91.0 - (double)i);
		msgpack_pack_str_with_body(&pk, "inodes_pct", 10);
		msgpack_pack_double(&pk, 12.5 + (double)i);
	}
	memset(note, 'x', note_len);
	msgpack_pack_str_with_body(&pk, "note", 4);
	msgpack_pack_str_with_body(&pk, note, note_len);
}

/* Fills sb with data of exactly PLG_DATA_LEN bytes. */
static void make_plg_data(msgpack_sbuffer *sb)
{
	for (size_t n = 0; n < PLG_DATA_LEN; n++) {
		pack_disk_data(sb, n);
		if (sb->size == PLG_DATA_LEN)
			return;
		if (sb->size > PLG_DATA_LEN)
			break;
	}
	fprintf(stderr, "bench-proto: cannot make %d bytes of data\n",
		PLG_DATA_LEN);
	exit(1);
}

static void make_plg(struct hb_plg *m, const msgpack_sbuffer *data)
{
	memset(m, 0, sizeof(*m));
	m->plugin = hb_str_c("disk");
	m->kind = HB_KIND_MONITOR;
	m->time_ms = 1795560005123ull;
	m->interval = 60;
	m->status = HB_STATUS_WARNING;
	m->message = hb_str_c("/ 91% full");
	m->data = (const uint8_t *)data->data;
	m->data_len = (uint32_t)data->size;
}

static void header_init(struct hb_header *h, uint8_t type, uint8_t mode)
{
	memset(h, 0, sizeof(*h));
	h->version = HB_VERSION;
	h->type = type;
	h->mode = mode;
	h->key_id = mode == HB_MODE_NONE ? 0 : 1;
	memcpy(h->host_id, host_id, 16);
	h->epoch = 1795560000u;
	h->seq = 1;
	h->time_ms = 1795560010123ull;
}

/* ---- the operations ---- */

/* Encodes into the datagram buffer and seals in place, as hbc does. */
static int htb_send(struct ctx *c)
{
	size_t off = hb_frame_body_offset(&c->htb_h), blen;
	int rc;

	c->htb_h.seq++;
	rc = hb_htb_encode(c->htb, c->out + off,
			   sizeof(c->out) - hb_frame_overhead(&c->htb_h), &blen);
	if (!rc)
		rc = hb_frame_seal(&c->htb_h, &c->key, c->out + off, blen,
				   c->out, sizeof(c->out), &c->out_len);
	if (!rc)
		sink += c->out[c->out_len - 1];
	return rc;
}

static int plg_send(struct ctx *c)
{
	size_t off = hb_frame_body_offset(&c->plg_h), blen;
	int rc;

	c->plg_h.seq++;
	rc = hb_plg_encode(c->plg, c->out + off,
			   sizeof(c->out) - hb_frame_overhead(&c->plg_h), &blen);
	if (!rc)
		rc = hb_frame_seal(&c->plg_h, &c->key, c->out + off, blen,
				   c->out, sizeof(c->out), &c->out_len);
	if (!rc)
		sink += c->out[c->out_len - 1];
	return rc;
}

/* Copies as recv() would, then parses, opens and hands out the body. */
static int receive(struct ctx *c, const uint8_t *dgram, size_t len,
		   const uint8_t **body, size_t *blen)
{
	struct hb_header h;
	int rc;

	memcpy(c->rx, dgram, len);
	if ((rc = hb_frame_parse(c->rx, len, &h)) < 0)
		return rc;
	return hb_frame_open(c->rx, len, &h, hb_keyring_find(c->kr, h.key_id),
			     body, blen);
}

static int htb_recv(struct ctx *c)
{
	const uint8_t *body;
	size_t blen;
	int rc = receive(c, c->htb_dgram, c->htb_len, &body, &blen);

	if (!rc)
		rc = hb_htb_decode(body, blen, &c->msg.htb);
	sink += c->msg.htb.interval + c->msg.htb.n_plugins;
	return rc;
}

static int plg_recv(struct ctx *c)
{
	const uint8_t *body;
	size_t blen;
	int rc = receive(c, c->plg_dgram, c->plg_len, &body, &blen);

	if (!rc)
		rc = hb_plg_decode(body, blen, &c->msg.plg);
	sink += c->msg.plg.data_len;
	return rc;
}

static int prim_blake2b(struct ctx *c)
{
	int rc = crypto_generichash(prim.tag, 16, prim.in, PRIM_LEN,
				    prim.key, sizeof(prim.key));

	sink += prim.tag[0];
	prim.in[0] ^= prim.tag[1]; /* each call depends on the last */
	return rc;
}

static int prim_hmac(struct ctx *c)
{
	int rc = crypto_auth_hmacsha256(prim.tag, prim.in, PRIM_LEN, prim.key);

	sink += prim.tag[0];
	prim.in[0] ^= prim.tag[1];
	return rc;
}

static int prim_xchacha(struct ctx *c)
{
	int rc = crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
		prim.out, prim.tag, NULL, prim.in, PRIM_LEN, NULL, 0, NULL,
		prim.nonce, prim.key);

	sink += prim.out[PRIM_LEN - 1];
	prim.nonce[0]++;
	return rc;
}

/* ---- timing ---- */

static double batch(op_fn op, struct ctx *c, uint64_t n, const char *name)
{
	double t0 = now_s();
	int rc;

	for (uint64_t i = 0; i < n; i++)
		if ((rc = op(c)) < 0)
			die(name, rc);
	return now_s() - t0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median nanoseconds per call of op over RUNS runs of secs / RUNS. */
static double measure(op_fn op, struct ctx *c, double secs, const char *name)
{
	double t, ns[RUNS];
	uint64_t n = 1, iters;

	/* Warm-up and calibration: double the batch until it takes long. */
	while ((t = batch(op, c, n, name)) < CALIBRATE_S && n < (1ull << 40))
		n *= 2;
	iters = (uint64_t)(secs / RUNS / (t / (double)n));
	if (iters < 1)
		iters = 1;
	for (int i = 0; i < RUNS; i++)
		ns[i] = batch(op, c, iters, name) * 1e9 / (double)iters;
	qsort(ns, RUNS, sizeof(ns[0]), cmp_double);
	return ns[RUNS / 2];
}

/* ---- setup ---- */

static void ctx_init(struct ctx *c, uint8_t mode, const struct hb_htb *htb,
		     const struct hb_plg *plg)
{
	uint8_t master[HB_KEY_LEN];
	int rc;

	memset(c, 0, sizeof(*c));
	c->mode = mode;
	for (int i = 0; i < HB_KEY_LEN; i++)
		master[i] = (uint8_t)i; /* the documented test key */
	if ((rc = hb_key_init(&c->key, 1, master)) < 0)
		die("key", rc);
	if (!(c->kr = hb_keyring_new()))
		die("keyring", HB_ENOMEM);
	if ((rc = hb_keyring_add(c->kr, &c->key)) < 0)
		die("keyring", rc);
	c->htb = htb;
	c->plg = plg;
	header_init(&c->htb_h, HB_HTB, mode);
	header_init(&c->plg_h, HB_PLG, mode);

	/* The datagrams the receiving side decodes, and their sizes. */
	if ((rc = htb_send(c)) < 0)
		die("HTB", rc);
	c->htb_len = c->out_len;
	memcpy(c->htb_dgram, c->out, c->out_len);
	if ((rc = plg_send(c)) < 0)
		die("PLG", rc);
	c->plg_len = c->out_len;
	memcpy(c->plg_dgram, c->out, c->out_len);
	if ((rc = htb_recv(c)) < 0)
		die("HTB receive", rc);
	if ((rc = plg_recv(c)) < 0)
		die("PLG receive", rc);
	if (c->msg.plg.data_len != PLG_DATA_LEN)
		die("PLG data", HB_EFIELD);
}

static void ctx_free(struct ctx *c)
{
	hb_keyring_free(c->kr);
	hb_key_wipe(&c->key);
}

int main(int argc, char **argv)
{
	static const uint8_t modes[] = {HB_MODE_NONE, HB_MODE_SIGN,
					HB_MODE_ENCRYPT};
	static struct ctx ctx[3];
	static struct hb_htb htb;
	struct hb_plg plg;
	msgpack_sbuffer data;
	double secs = 0.3;
	char *end;

	if (argc > 2 || (argc == 2 && ((secs = strtod(argv[1], &end)) <= 0 ||
				       *end || secs > 600))) {
		fprintf(stderr, "usage: bench-proto [SECONDS per operation, "
				"default 0.3]\n");
		return 2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "bench-proto: libsodium failed to initialise\n");
		return 1;
	}
	make_htb(&htb);
	msgpack_sbuffer_init(&data);
	make_plg_data(&data);
	make_plg(&plg, &data);
	for (int i = 0; i < 3; i++)
		ctx_init(&ctx[i], modes[i], &htb, &plg);
	randombytes_buf(prim.key, sizeof(prim.key));
	randombytes_buf(prim.nonce, sizeof(prim.nonce));
	randombytes_buf(prim.in, sizeof(prim.in));

	printf("libsodium %s, %d runs of %.2f s per operation, median\n\n",
	       sodium_version_string(), RUNS, secs / RUNS);
	printf("| message | mode | datagram bytes | encode+seal ns "
	       "| parse+open+decode ns | received per s (1 core) |\n"
	       "|---|---|--:|--:|--:|--:|\n");
	for (int m = 0; m < 2; m++) {
		for (int i = 0; i < 3; i++) {
			struct ctx *c = &ctx[i];
			const char *name = m ? "PLG (1 KiB data)" : "HTB";
			double tx = measure(m ? plg_send : htb_send, c, secs,
					    name);
			double rx = measure(m ? plg_recv : htb_recv, c, secs,
					    name);

			printf("| %s | %s | %zu | %.0f | %.0f | %.0f |\n", name,
			       hb_mode_name(c->mode),
			       m ? c->plg_len : c->htb_len, tx, rx, 1e9 / rx);
			fflush(stdout);
		}
	}
	printf("\n| primitive, %d bytes | ns |\n|---|--:|\n", PRIM_LEN);
	printf("| BLAKE2b-128 keyed (sign mode) | %.0f |\n",
	       measure(prim_blake2b, NULL, secs, "BLAKE2b"));
	printf("| HMAC-SHA256 (crypto_auth_hmacsha256) | %.0f |\n",
	       measure(prim_hmac, NULL, secs, "HMAC-SHA256"));
	printf("| XChaCha20-Poly1305 seal (encrypt mode) | %.0f |\n",
	       measure(prim_xchacha, NULL, secs, "XChaCha20-Poly1305"));
	for (int i = 0; i < 3; i++)
		ctx_free(&ctx[i]);
	msgpack_sbuffer_destroy(&data);
	return 0;
}
