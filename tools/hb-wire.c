/*
 * hb-wire: the protocol at the command line. `decode` explains datagrams
 * given in hex (from a capture, a log, a bug report): header, fragment,
 * authentication with a key file, and the body as JSON. `example` prints
 * the worked examples of docs/PROTOCOL.md from a fixed test key, so the
 * document is produced by the code it describes. `selftest` round-trips
 * every message type in every security mode and checks that tampering is
 * caught.
 */
#include <ctype.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>
#include <sodium.h>

#include "hb_error.h"
#include "hb_frag.h"
#include "hb_frame.h"
#include "hb_json.h"
#include "hb_key.h"
#include "hb_msg.h"

#define LINE_MAX_HEX (2 * HB_FRAME_MAX + 64)

static void usage(FILE *f)
{
	fputs("usage: hb-wire decode [-k KEYFILE] [HEX...]   (no HEX: one "
	      "datagram per line of stdin)\n"
	      "       hb-wire example [--check DOC]            print the "
	      "docs/PROTOCOL.md examples,\n"
	      "                                                or check DOC's "
	      "against them\n"
	      "       hb-wire selftest                         round-trip "
	      "every message in every mode\n",
	      f);
}

/* ---- decode ---- */

static int hex_to_bin(const char *hex, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = 0;

	for (const char *p = hex; *p;) {
		unsigned v;

		if (isspace((unsigned char)*p) || *p == ':') {
			p++;
			continue;
		}
		if (n == cap || !isxdigit((unsigned char)p[0]) ||
		    !isxdigit((unsigned char)p[1]) || sscanf(p, "%2x", &v) != 1)
			return -1;
		out[n++] = (uint8_t)v;
		p += 2;
	}
	*len = n;
	return 0;
}

static void print_header(const struct hb_header *h, size_t len)
{
	char uuid[37];

	hb_uuid_format(h->host_id, uuid);
	printf("datagram: %zu bytes\n", len);
	printf("header: version=%u type=%s mode=%s flags=0x%02x key_id=%" PRIu32
	       "\n        host=%s epoch=%" PRIu32 " seq=%" PRIu32
	       " time_ms=%" PRIu64 "\n",
	       h->version, hb_type_name(h->type), hb_mode_name(h->mode),
	       h->flags, h->key_id, uuid, h->epoch, h->seq, h->time_ms);
	if (h->flags & HB_FLAG_FRAG)
		printf("fragment: msg=%" PRIu32 " index=%u count=%u\n",
		       h->frag_msg, h->frag_index, h->frag_count);
}

/* Checks the body against its type's schema and prints it as JSON. */
static int print_body(uint8_t type, const uint8_t *body, size_t len)
{
	union {
		struct hb_htb htb;
		struct hb_ack ack;
		struct hb_plg plg;
		struct hb_bye bye;
	} *m = malloc(sizeof(*m));
	struct hb_buf json;
	int rc;

	if (!m)
		return HB_ENOMEM;
	switch (type) {
	case HB_HTB: rc = hb_htb_decode(body, len, &m->htb); break;
	case HB_ACK: rc = hb_ack_decode(body, len, &m->ack); break;
	case HB_PLG: rc = hb_plg_decode(body, len, &m->plg); break;
	case HB_BYE: rc = hb_bye_decode(body, len, &m->bye); break;
	default: rc = 0; /* reserved types: no schema yet */
	}
	free(m);
	printf("schema: %s\n", rc < 0 ? hb_strerror(rc) : "ok");
	hb_buf_init(&json);
	if (hb_json_from_msgpack(body, len, &json) == 0)
		printf("body: %s\n", json.data);
	else
		printf("body: (%zu bytes, not msgpack)\n", len);
	hb_buf_free(&json);
	return rc;
}

static int decode_one(const char *hex, const struct hb_keyring *kr,
		      struct hb_reasm *reasm)
{
	static uint8_t buf[HB_FRAME_MAX + 1];
	const uint8_t *body;
	struct hb_header h;
	size_t len, blen;
	int rc;

	if (hex_to_bin(hex, buf, sizeof(buf), &len) < 0) {
		printf("error: not hex, or longer than %d bytes\n", HB_FRAME_MAX);
		return 1;
	}
	if ((rc = hb_frame_parse(buf, len, &h)) < 0) {
		printf("datagram: %zu bytes\nerror: %s (%s)\n", len,
		       hb_strerror(rc), hb_errname(rc));
		return 1;
	}
	print_header(&h, len);
	if (h.mode != HB_MODE_NONE && !kr) {
		printf("auth: not checked (no key file given)\n");
		return 0;
	}
	rc = hb_frame_open(buf, len, &h,
			   kr ? hb_keyring_find(kr, h.key_id) : NULL, &body,
			   &blen);
	if (rc < 0) {
		printf("auth: %s (%s)\n", hb_strerror(rc), hb_errname(rc));
		return 1;
	}
	printf("auth: ok\n");
	if (h.flags & HB_FLAG_FRAG) {
		rc = hb_reasm_add(reasm, &h, body, blen, 0, &body, &blen);
		if (rc < 0) {
			printf("reassembly: %s\n", hb_strerror(rc));
			return 1;
		}
		if (!body) {
			printf("reassembly: waiting for more fragments\n");
			return 0;
		}
		printf("reassembly: complete, %zu bytes\n", blen);
	}
	return print_body(h.type, body, blen) < 0;
}

static int cmd_decode(int argc, char **argv)
{
	struct hb_reasm_limits lim;
	struct hb_keyring *kr = NULL;
	struct hb_reasm *reasm;
	char err[512];
	int opt, bad = 0;

	while ((opt = getopt(argc, argv, "k:h")) != -1) {
		if (opt == 'k') {
			if (!kr && !(kr = hb_keyring_new()))
				return 1;
			if (hb_keyring_load(kr, optarg, err, sizeof(err)) < 0) {
				fprintf(stderr, "hb-wire: %s\n", err);
				return 2;
			}
		} else {
			usage(opt == 'h' ? stdout : stderr);
			return opt == 'h' ? 0 : 2;
		}
	}
	hb_reasm_limits_default(&lim);
	if (!(reasm = hb_reasm_new(&lim)))
		return 1;
	if (optind < argc) {
		for (int i = optind; i < argc; i++, putchar('\n'))
			bad |= decode_one(argv[i], kr, reasm);
	} else {
		static char line[LINE_MAX_HEX];

		while (fgets(line, sizeof(line), stdin)) {
			if (line[strspn(line, " \t\r\n")] == '\0')
				continue;
			bad |= decode_one(line, kr, reasm);
			putchar('\n');
		}
	}
	hb_reasm_free(reasm);
	hb_keyring_free(kr);
	return bad;
}

/* ---- examples and self-test ---- */

/* The documented test key: id 1, secret 00 01 02 ... 1f. Never deploy. */
#define EX_KEY_ID 1
#define EX_EPOCH 1795560000u        /* client epoch, 2026-11-24 */
#define EX_SERVER_EPOCH 1795550000u /* server epoch */
#define EX_TIME_MS 1795560010123ull
static const uint8_t ex_host[16] = {0x6f, 0x1c, 0x2a, 0x9e, 0x3b, 0x4d,
				    0x4c, 0x5e, 0x8f, 0x70, 0x12, 0x34,
				    0x56, 0x78, 0x9a, 0xbc};
static const uint8_t ex_boot_id[16] = {0xb0, 0x07, 0x1d, 0x00, 0x11, 0x22,
				       0x43, 0x33, 0x84, 0x44, 0x55, 0x66,
				       0x77, 0x88, 0x99, 0xaa};

static void example_key(struct hb_key *k)
{
	uint8_t master[HB_KEY_LEN];

	for (int i = 0; i < HB_KEY_LEN; i++)
		master[i] = (uint8_t)i;
	hb_key_init(k, EX_KEY_ID, master);
}

struct dgram {
	char title[96];
	uint8_t buf[HB_FRAME_MAX];
	size_t len;
};

/* The datagrams of one conversation: HTB, its ACK, a PLG, BYE. */
struct convo {
	struct dgram d[16];
	int n;
	int plg_frags; /* PLG datagrams */
	size_t plg_body_len;
};

static void os_data(msgpack_sbuffer *sb, size_t pad)
{
	msgpack_packer pk;

	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, pad ? 8 : 7);
#define KV(k, v)                                                          \
	msgpack_pack_str_with_body(&pk, k, strlen(k));                    \
	msgpack_pack_str_with_body(&pk, v, strlen(v))
	KV("sysname", "Linux");
	KV("release", "6.1.0-27-amd64");
	KV("version", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.115-1 (2024-11-01)");
	KV("machine", "x86_64");
	msgpack_pack_str_with_body(&pk, "os_release", 10);
	msgpack_pack_map(&pk, 3);
	KV("PRETTY_NAME", "Debian GNU/Linux 12 (bookworm)");
	KV("ID", "debian");
	KV("VERSION_ID", "12");
#undef KV
	msgpack_pack_str_with_body(&pk, "cpus", 4);
	msgpack_pack_uint32(&pk, 2);
	msgpack_pack_str_with_body(&pk, "boot_time", 9);
	msgpack_pack_uint32(&pk, 1795473610);
	if (pad) { /* selftest: a body that needs many fragments */
		char *filler = calloc(1, pad);

		msgpack_pack_str_with_body(&pk, "filler", 6);
		msgpack_pack_bin_with_body(&pk, filler, pad);
		free(filler);
	}
}

static void header_init(struct hb_header *h, uint8_t type, uint8_t mode,
			uint32_t epoch, uint32_t seq)
{
	memset(h, 0, sizeof(*h));
	h->version = HB_VERSION;
	h->type = type;
	h->mode = mode;
	h->key_id = mode == HB_MODE_NONE ? 0 : EX_KEY_ID;
	memcpy(h->host_id, ex_host, 16);
	h->epoch = epoch;
	h->seq = seq;
	h->time_ms = EX_TIME_MS + seq;
}

static int add(struct convo *c, const struct hb_header *h,
	       const struct hb_key *k, const uint8_t *body, size_t len,
	       const char *title)
{
	struct dgram *d = &c->d[c->n++];

	snprintf(d->title, sizeof(d->title), "%s", title);
	return hb_frame_seal(h, k, body, len, d->buf, sizeof(d->buf), &d->len);
}

static int add_plg(struct convo *c, uint8_t mode, const struct hb_key *k,
		   uint32_t seq, size_t max_dgram, size_t pad)
{
	static uint8_t body[HB_MESSAGE_DEFAULT];
	msgpack_sbuffer sb;
	struct hb_header h;
	struct hb_plg plg = {0};
	size_t len, chunk;
	uint16_t count;
	int rc;

	msgpack_sbuffer_init(&sb);
	os_data(&sb, pad);
	plg.plugin = hb_str_c("os");
	plg.kind = HB_KIND_INFO;
	plg.time_ms = EX_TIME_MS - 5000;
	plg.data = (const uint8_t *)sb.data;
	plg.data_len = (uint32_t)sb.size;
	rc = hb_plg_encode(&plg, body, sizeof(body), &len);
	msgpack_sbuffer_destroy(&sb);
	if (rc == 0)
		rc = hb_frag_plan(len, max_dgram, mode, &count, &chunk);
	c->plg_frags = count;
	c->plg_body_len = len;
	for (uint16_t i = 0; rc == 0 && i < count; i++) {
		char title[96];

		header_init(&h, HB_PLG, mode, EX_EPOCH, seq + i);
		if (count > 1) {
			h.flags = HB_FLAG_FRAG;
			h.frag_msg = seq;
			h.frag_index = i;
			h.frag_count = count;
		}
		snprintf(title, sizeof(title), "PLG \"os\", fragment %u of %u",
			 i + 1, count);
		rc = add(c, &h, k, body + i * chunk,
			 i + 1 < count ? chunk : len - i * chunk,
			 count > 1 ? title : "PLG \"os\"");
	}
	return rc;
}

/* The Info digest over the example's one InfoPlugin, "os". */
static void example_digest(uint8_t out[HB_DIGEST_LEN])
{
	msgpack_sbuffer sb;
	struct hb_digest d;

	msgpack_sbuffer_init(&sb);
	os_data(&sb, 0);
	hb_digest_init(&d);
	hb_digest_add(&d, hb_str_c("os"), (const uint8_t *)sb.data, sb.size);
	hb_digest_final(&d, out);
	msgpack_sbuffer_destroy(&sb);
}

static int build(struct convo *c, uint8_t mode, size_t max_dgram, size_t pad)
{
	static struct hb_htb htb;
	uint8_t body[HB_FRAME_MAX];
	struct hb_header h;
	struct hb_key k;
	struct hb_ack ack = {EX_EPOCH, 1, true, 0};
	struct hb_bye bye = {hb_str_c("shutdown")};
	size_t len;
	int rc;

	example_key(&k);
	memset(c, 0, sizeof(*c));
	memset(&htb, 0, sizeof(htb));
	htb.interval = 10;
	htb.hostname = hb_str_c("web-01");
	htb.status = HB_STATUS_WARNING;
	htb.status_msg = hb_str_c("load: load average 4.2 > 4");
	htb.owner = hb_str_c("ops");
	htb.version = hb_str_c("0.1.0");
	htb.start_time = EX_EPOCH;
	htb.uptime = 86400;
	htb.has = HB_HTB_HAS_BOOT_ID | HB_HTB_HAS_LOAD | HB_HTB_HAS_DIGEST;
	memcpy(htb.boot_id, ex_boot_id, 16);
	htb.load[0] = 4.25, htb.load[1] = 2.5, htb.load[2] = 1.0;
	example_digest(htb.info_digest);
	htb.n_labels = 1;
	htb.labels[0] = (struct hb_label){hb_str_c("role"), hb_str_c("web")};
	htb.n_plugins = 2;
	htb.plugins[0] = (struct hb_htb_plugin){hb_str_c("load"),
		HB_STATUS_WARNING, hb_str_c("load average 4.2 > 4")};
	htb.plugins[1] = (struct hb_htb_plugin){hb_str_c("os"),
		HB_STATUS_OK, hb_str_c("")};

	header_init(&h, HB_HTB, mode, EX_EPOCH, 1);
	if ((rc = hb_htb_encode(&htb, body, sizeof(body), &len)) < 0 ||
	    (rc = add(c, &h, &k, body, len, "HTB")) < 0)
		goto out;
	header_init(&h, HB_ACK, mode, EX_SERVER_EPOCH, 1);
	h.time_ms = EX_TIME_MS + 2;
	if ((rc = hb_ack_encode(&ack, body, sizeof(body), &len)) < 0 ||
	    (rc = add(c, &h, &k, body, len, "ACK of the HTB")) < 0)
		goto out;
	if ((rc = add_plg(c, mode, &k, 2, max_dgram, pad)) < 0)
		goto out;
	header_init(&h, HB_BYE, mode, EX_EPOCH, 2 + (uint32_t)c->plg_frags);
	if ((rc = hb_bye_encode(&bye, body, sizeof(body), &len)) < 0)
		goto out;
	rc = add(c, &h, &k, body, len, "BYE");
out:
	hb_key_wipe(&k);
	return rc;
}

static void print_hex(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x%s", b[i], (i + 1) % 16 == 0 || i + 1 == n ? "\n" : " ");
}

static int cmd_example(void)
{
	static struct convo c;
	int rc = build(&c, HB_MODE_SIGN, HB_FRAME_MIN, 0);

	if (rc < 0) {
		fprintf(stderr, "hb-wire: example: %s\n", hb_strerror(rc));
		return 1;
	}
	for (int i = 0; i < c.n; i++) {
		printf("#### %s (%zu bytes)\n\n```hex\n", c.d[i].title,
		       c.d[i].len);
		print_hex(c.d[i].buf, c.d[i].len);
		printf("```\n\n");
	}
	return 0;
}

/* Receives one datagram as a server or client would; 0 when it passes. */
static int receive(uint8_t *buf, size_t len, const struct hb_keyring *kr,
		   struct hb_reasm *reasm, const uint8_t **msg, size_t *mlen,
		   uint8_t *type)
{
	struct hb_header h;
	union {
		struct hb_htb htb;
		struct hb_ack ack;
		struct hb_plg plg;
		struct hb_bye bye;
	} *m;
	int rc;

	*msg = NULL;
	if ((rc = hb_frame_parse(buf, len, &h)) < 0 ||
	    (rc = hb_frame_open(buf, len, &h, hb_keyring_find(kr, h.key_id),
				msg, mlen)) < 0)
		return rc;
	if ((h.flags & HB_FLAG_FRAG) &&
	    ((rc = hb_reasm_add(reasm, &h, *msg, *mlen, 0, msg, mlen)) < 0 ||
	     !*msg))
		return rc;
	*type = h.type;
	if (!(m = malloc(sizeof(*m))))
		return HB_ENOMEM;
	switch (h.type) {
	case HB_HTB: rc = hb_htb_decode(*msg, *mlen, &m->htb); break;
	case HB_ACK: rc = hb_ack_decode(*msg, *mlen, &m->ack); break;
	case HB_PLG: rc = hb_plg_decode(*msg, *mlen, &m->plg); break;
	case HB_BYE: rc = hb_bye_decode(*msg, *mlen, &m->bye); break;
	}
	free(m);
	return rc;
}

/* Every datagram passes; every one with a flipped bit fails. */
static int selftest_mode(uint8_t mode, size_t pad, struct hb_keyring *kr)
{
	static struct convo c;
	struct hb_reasm_limits lim;
	struct hb_reasm *reasm;
	int failed = 0, rc;

	hb_reasm_limits_default(&lim);
	if ((rc = build(&c, mode, HB_FRAME_DEFAULT, pad)) < 0 ||
	    !(reasm = hb_reasm_new(&lim))) {
		printf("%-8s build failed: %s\n", hb_mode_name(mode),
		       hb_strerror(rc));
		return 1;
	}
	for (int i = 0; i < c.n; i++) {
		uint8_t copy[HB_FRAME_MAX], type = 0;
		const uint8_t *msg;
		size_t mlen;
		int caught = 0;

		for (size_t bit = 0; mode && bit < 8 * c.d[i].len; bit += 7) {
			memcpy(copy, c.d[i].buf, c.d[i].len);
			copy[bit / 8] ^= (uint8_t)(1 << bit % 8);
			caught += receive(copy, c.d[i].len, kr, reasm, &msg,
					  &mlen, &type) < 0 || !msg;
		}
		rc = receive(c.d[i].buf, c.d[i].len, kr, reasm, &msg, &mlen,
			     &type);
		if (rc < 0 || (mode && caught != (int)(8 * c.d[i].len + 6) / 7))
			failed = 1;
		printf("%-8s %-32s %5zu bytes  %s%s\n", hb_mode_name(mode),
		       c.d[i].title, c.d[i].len,
		       rc < 0 ? hb_strerror(rc) : msg ? "decoded" : "held",
		       mode ? caught == (int)(8 * c.d[i].len + 6) / 7
				      ? ", tampering caught"
				      : ", TAMPERING MISSED"
			    : "");
	}
	hb_reasm_free(reasm);
	return failed;
}

static struct hb_keyring *example_keyring(void)
{
	struct hb_keyring *kr = hb_keyring_new();
	struct hb_key k;

	if (!kr)
		return NULL;
	example_key(&k);
	hb_keyring_add(kr, &k);
	hb_key_wipe(&k);
	return kr;
}

static int cmd_selftest(void)
{
	struct hb_keyring *kr = example_keyring();
	int failed = 0;

	if (!kr)
		return 1;
	for (uint8_t mode = HB_MODE_NONE; mode <= HB_MODE_ENCRYPT; mode++)
		failed |= selftest_mode(mode, 3000, kr);
	hb_keyring_free(kr);
	printf("selftest: %s\n", failed ? "FAILED" : "all passed");
	return failed;
}

/*
 * Reads the ```hex blocks of a document in order: each must be the
 * example datagram the code makes now, and must decode and authenticate
 * with the test key, fragments reassembling.
 */
static int check_doc(const char *path)
{
	static struct convo c;
	static char line[LINE_MAX_HEX], hex[4 * HB_FRAME_MAX];
	struct hb_reasm_limits lim;
	struct hb_keyring *kr = example_keyring();
	struct hb_reasm *reasm;
	FILE *f = fopen(path, "r");
	int block = 0, bad = 0, in = 0;

	hb_reasm_limits_default(&lim);
	reasm = hb_reasm_new(&lim);
	if (!f || !kr || !reasm || build(&c, HB_MODE_SIGN, HB_FRAME_MIN, 0) < 0) {
		fprintf(stderr, "hb-wire: %s: cannot check\n", path);
		return 1;
	}
	while (fgets(line, sizeof(line), f)) {
		uint8_t buf[HB_FRAME_MAX + 1], type;
		const uint8_t *msg;
		size_t len, mlen;

		if (!in) {
			in = strncmp(line, "```hex", 6) == 0;
			hex[0] = '\0';
			continue;
		}
		if (strncmp(line, "```", 3) != 0) {
			if (strlen(hex) + strlen(line) < sizeof(hex))
				strcat(hex, line);
			continue;
		}
		in = 0;
		if (block >= c.n || hex_to_bin(hex, buf, sizeof(buf), &len) < 0 ||
		    len != c.d[block].len || memcmp(buf, c.d[block].buf, len)) {
			fprintf(stderr, "%s: hex block %d differs from what "
				"`hb-wire example` prints\n", path, block + 1);
			bad = 1;
		} else if (receive(buf, len, kr, reasm, &msg, &mlen, &type) < 0) {
			fprintf(stderr, "%s: hex block %d does not decode\n",
				path, block + 1);
			bad = 1;
		}
		block++;
	}
	fclose(f);
	if (block != c.n) {
		fprintf(stderr, "%s: %d hex blocks, expected %d\n", path, block,
			c.n);
		bad = 1;
	}
	hb_reasm_free(reasm);
	hb_keyring_free(kr);
	if (!bad)
		printf("%s: %d examples verified\n", path, block);
	return bad;
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0) {
		fprintf(stderr, "hb-wire: libsodium failed to initialise\n");
		return 1;
	}
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	optind = 2;
	if (strcmp(argv[1], "decode") == 0)
		return cmd_decode(argc, argv);
	if (strcmp(argv[1], "example") == 0)
		return argc == 4 && strcmp(argv[2], "--check") == 0
			       ? check_doc(argv[3])
			       : cmd_example();
	if (strcmp(argv[1], "selftest") == 0)
		return cmd_selftest();
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "hb-wire: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
