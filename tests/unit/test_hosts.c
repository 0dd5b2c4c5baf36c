/*
 * test_hosts: hbd's host table (hbd/hosts.c). Adding and finding 100k
 * random UUIDs; host addresses and indices that never move while the
 * table grows; hosts loaded at explicit (sparse) row ids; duplicates;
 * attribute replacement that reports whether anything changed; the
 * sorted InfoPlugin digests and the Info digest, checked against an
 * independent BLAKE2b computation and against the protocol's own
 * hb_digest_*; the dirty list; walking a sparse table with hosts_used().
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "hb_error.h"
#include "hb_msg.h"
#include "hosts.h"

/* A deterministic UUID: i spread over the bytes by BLAKE2b. */
static void uuid_of(uint32_t i, uint8_t out[16])
{
	static const uint8_t seed[randombytes_SEEDBYTES] = "test_hosts seed";
	uint8_t s[randombytes_SEEDBYTES];

	memcpy(s, seed, sizeof(s));
	memcpy(s, &i, sizeof(i));
	randombytes_buf_deterministic(out, 16, s);
}

static struct hosts *new_table(void)
{
	struct hosts *t = hosts_new();

	assert_non_null(t);
	return t;
}

static uint32_t add(struct hosts *t, const uint8_t uuid[16], int64_t rowid)
{
	uint32_t idx = HOST_NONE;

	assert_int_equal(hosts_add(t, uuid, rowid, &idx), 0);
	assert_int_not_equal(idx, HOST_NONE);
	return idx;
}

/* ---- add / find ---- */

static void test_empty_table(void **state)
{
	struct hosts *t = new_table();
	uint8_t u[16];

	uuid_of(1, u);
	assert_int_equal(hosts_count(t), 0);
	assert_int_equal(hosts_end(t), 0);
	assert_int_equal(hosts_find(t, u), HOST_NONE);
	hosts_free(t);
	hosts_free(NULL);
}

static void test_add_find_100k_random(void **state)
{
	enum { N = 100000 };
	uint8_t(*uuids)[16] = malloc(N * sizeof(*uuids));
	struct hosts *t = new_table();
	uint8_t absent[16];

	assert_non_null(uuids);
	for (uint32_t i = 0; i < N; i++) {
		randombytes_buf(uuids[i], 16);
		assert_int_equal(add(t, uuids[i], 0), i);
	}
	assert_int_equal(hosts_count(t), N);
	assert_int_equal(hosts_end(t), N);
	for (uint32_t i = 0; i < N; i++) {
		const struct host *h;

		assert_int_equal(hosts_find(t, uuids[i]), i);
		h = hosts_at(t, i);
		assert_memory_equal(h->uuid, uuids[i], 16);
		assert_int_equal(h->flags, HOST_USED);
		assert_int_equal(h->wheel_prev, HOST_NONE);
		assert_int_equal(h->wheel_next, HOST_NONE);
		assert_int_equal(h->dirty_next, HOST_NONE);
		assert_int_equal(h->replay.epoch, 0);
	}
	for (int k = 0; k < 1000; k++) {
		randombytes_buf(absent, 16);
		assert_int_equal(hosts_find(t, absent), HOST_NONE);
	}
	assert_true(hosts_memory(t) >= N * sizeof(struct host));
	hosts_free(t);
	free(uuids);
}

/* UUIDs differing in one bit only, and all-zero / all-ones ones. */
static void test_similar_uuids(void **state)
{
	struct hosts *t = new_table();
	uint8_t u[16] = {0};

	assert_int_equal(add(t, u, 0), 0);
	for (int bit = 0; bit < 128; bit++) {
		u[bit / 8] ^= (uint8_t)(1u << bit % 8);
		assert_int_equal(add(t, u, 0), (uint32_t)bit + 1);
		u[bit / 8] ^= (uint8_t)(1u << bit % 8);
	}
	memset(u, 0xff, 16);
	assert_int_equal(add(t, u, 0), 129);
	memset(u, 0, 16);
	assert_int_equal(hosts_find(t, u), 0);
	for (int bit = 0; bit < 128; bit++) {
		u[bit / 8] ^= (uint8_t)(1u << bit % 8);
		assert_int_equal(hosts_find(t, u), (uint32_t)bit + 1);
		u[bit / 8] ^= (uint8_t)(1u << bit % 8);
	}
	hosts_free(t);
}

/* A pointer from hosts_at stays valid, with its data, while the table grows. */
static void test_pointer_stable_across_growth(void **state)
{
	enum { N = 40000 }; /* ~10 chunks, several index rehashes */
	struct hosts *t = new_table();
	struct host *first, *mid = NULL;
	uint8_t u0[16], u[16];

	uuid_of(0, u0);
	first = hosts_at(t, add(t, u0, 0));
	first->interval_ms = 12345;
	first->received = 77;
	for (uint32_t i = 1; i < N; i++) {
		uuid_of(i, u);
		add(t, u, 0);
		if (i == 5000) {
			mid = hosts_at(t, i);
			mid->lost = 5000;
		}
	}
	assert_ptr_equal(hosts_at(t, 0), first);
	assert_memory_equal(first->uuid, u0, 16);
	assert_int_equal(first->interval_ms, 12345);
	assert_int_equal(first->received, 77);
	assert_ptr_equal(hosts_at(t, 5000), mid);
	assert_int_equal(mid->lost, 5000);
	assert_int_equal(hosts_find(t, u0), 0);
	for (uint32_t i = 0; i < N; i++) {
		uuid_of(i, u);
		assert_int_equal(hosts_find(t, u), i);
	}
	hosts_free(t);
}

/*
 * Hosts loaded from the database at explicit row ids, out of order and
 * with gaps (every chunk up to the highest index holds one of them).
 */
static void test_add_explicit_rowid(void **state)
{
	static const int64_t rowids[] = {4100, 7, 1, 9000, 12000, 4097};
	enum { N = sizeof(rowids) / sizeof(rowids[0]) };
	struct hosts *t = new_table();
	uint8_t u[16];

	for (uint32_t i = 0; i < N; i++) {
		uuid_of(i, u);
		assert_int_equal(add(t, u, rowids[i]), (uint32_t)rowids[i] - 1);
	}
	assert_int_equal(hosts_count(t), N);
	assert_int_equal(hosts_end(t), 12000);
	for (uint32_t i = 0; i < N; i++) {
		struct host *h;

		uuid_of(i, u);
		assert_int_equal(hosts_find(t, u), (uint32_t)rowids[i] - 1);
		h = hosts_at(t, (uint32_t)rowids[i] - 1);
		assert_memory_equal(h->uuid, u, 16);
		assert_int_equal(h->flags, HOST_USED);
	}
	/* Unused indices in between are not hosts. */
	assert_int_equal(hosts_at(t, 1)->flags & HOST_USED, 0);
	/* A new host goes after the highest index in use. */
	uuid_of(100, u);
	assert_int_equal(add(t, u, 0), 12000);
	assert_int_equal(hosts_end(t), 12001);
	/* A row id already taken by another UUID is refused. */
	uuid_of(101, u);
	{
		uint32_t idx = 0;

		assert_int_equal(hosts_add(t, u, 7, &idx), HB_EEXIST);
	}
	assert_int_equal(hosts_find(t, u), HOST_NONE);
	assert_int_equal(hosts_count(t), N + 1);
	hosts_free(t);
}

/*
 * Row ids more than a chunk (4096 hosts) apart leave whole chunks
 * unallocated: hosts_used() walks over them (NULL), and freeing works.
 * (Regression: hosts_free() used to read the missing chunks.)
 */
static void test_sparse_rowid_gap_bigger_than_chunk(void **state)
{
	struct hosts *t = new_table();
	uint8_t a[16], b[16];
	uint32_t used = 0;

	uuid_of(1, a);
	uuid_of(2, b);
	assert_int_equal(add(t, a, 1), 0);
	assert_int_equal(add(t, b, 100000), 99999);
	assert_int_equal(hosts_find(t, a), 0);
	assert_int_equal(hosts_find(t, b), 99999);
	assert_int_equal(hosts_end(t), 100000);
	assert_ptr_equal(hosts_used(t, 0), hosts_at(t, 0));
	assert_ptr_equal(hosts_used(t, 99999), hosts_at(t, 99999));
	assert_null(hosts_used(t, 1));     /* allocated chunk, unused */
	assert_null(hosts_used(t, 50000)); /* chunk never allocated */
	assert_null(hosts_used(t, 100000)); /* past the end */
	assert_null(hosts_used(t, HOST_NONE));
	for (uint32_t i = 0; i < hosts_end(t); i++)
		used += hosts_used(t, i) != NULL;
	assert_int_equal(used, hosts_count(t));
	hosts_free(t);
}

static void test_duplicate_uuid(void **state)
{
	struct hosts *t = new_table();
	uint8_t u[16];
	uint32_t idx = 42;

	uuid_of(9, u);
	assert_int_equal(add(t, u, 0), 0);
	assert_int_equal(hosts_add(t, u, 0, &idx), HB_EEXIST);
	assert_int_equal(hosts_add(t, u, 5, &idx), HB_EEXIST);
	assert_int_equal(idx, 42); /* untouched on failure */
	assert_int_equal(hosts_count(t), 1);
	assert_int_equal(hosts_end(t), 1);
	assert_int_equal(hosts_find(t, u), 0);
	hosts_free(t);
}

static void test_rowid_limit(void **state)
{
	struct hosts *t = new_table();
	uint8_t u[16];
	uint32_t idx = 0;

	uuid_of(3, u);
	assert_int_equal(hosts_add(t, u, (int64_t)UINT32_MAX, &idx),
			 HB_ELIMIT);
	assert_int_equal(hosts_add(t, u, INT64_MAX, &idx), HB_ELIMIT);
	assert_int_equal(hosts_count(t), 0);
	hosts_free(t);
}

/* ---- attributes ---- */

static void test_set_attrs_reports_change(void **state)
{
	struct hosts *t = new_table();
	struct host *h;
	uint8_t u[16];
	/* Lengths shorter than the strings: not NUL-terminated input. */
	static const char host[] = "web-01XYZ", owner[] = "opsXYZ",
			  ver[] = "0.1.0XYZ";

	uuid_of(0, u);
	h = hosts_at(t, add(t, u, 0));
	assert_null(h->attrs);
	assert_int_equal(hosts_set_attrs(h, host, 6, owner, 3, ver, 5, "{}"),
			 1);
	assert_non_null(h->attrs);
	assert_string_equal(h->attrs->hostname, "web-01");
	assert_string_equal(h->attrs->owner, "ops");
	assert_string_equal(h->attrs->version, "0.1.0");
	assert_string_equal(h->attrs->labels_json, "{}");
	/* Identical: 0, and the attributes are not replaced. */
	{
		const struct host_attrs *before = h->attrs;

		assert_int_equal(hosts_set_attrs(h, "web-01", 6, "ops", 3,
						 "0.1.0", 5, "{}"),
				 0);
		assert_ptr_equal(h->attrs, before);
	}
	/* Each field on its own is a change. */
	assert_int_equal(hosts_set_attrs(h, "web-02", 6, "ops", 3, "0.1.0", 5,
					 "{}"),
			 1);
	assert_string_equal(h->attrs->hostname, "web-02");
	assert_int_equal(hosts_set_attrs(h, "web-02", 6, "dev", 3, "0.1.0", 5,
					 "{}"),
			 1);
	assert_string_equal(h->attrs->owner, "dev");
	assert_int_equal(hosts_set_attrs(h, "web-02", 6, "dev", 3, "0.2.0", 5,
					 "{}"),
			 1);
	assert_string_equal(h->attrs->version, "0.2.0");
	assert_int_equal(hosts_set_attrs(h, "web-02", 6, "dev", 3, "0.2.0", 5,
					 "{\"a\":\"b\"}"),
			 1);
	assert_string_equal(h->attrs->labels_json, "{\"a\":\"b\"}");
	/* A prefix or an extension of a field is a change too. */
	assert_int_equal(hosts_set_attrs(h, "web-0", 5, "dev", 3, "0.2.0", 5,
					 "{\"a\":\"b\"}"),
			 1);
	assert_int_equal(hosts_set_attrs(h, "web-0", 5, "devs", 4, "0.2.0", 5,
					 "{\"a\":\"b\"}"),
			 1);
	assert_int_equal(hosts_set_attrs(h, "web-0", 5, "devs", 4, "0.2.0", 5,
					 "{\"a\":\"b\"}"),
			 0);
	/* Empty owner and version. */
	assert_int_equal(hosts_set_attrs(h, "web-0", 5, "", 0, "", 0, "{}"), 1);
	assert_string_equal(h->attrs->owner, "");
	assert_string_equal(h->attrs->version, "");
	assert_int_equal(hosts_set_attrs(h, "web-0", 5, "", 0, "", 0, "{}"), 0);
	hosts_free(t);
}

/* ---- InfoPlugin digests ---- */

static void digest_of(uint8_t seed, uint8_t out[16])
{
	for (int i = 0; i < 16; i++)
		out[i] = (uint8_t)(seed * 31 + i);
}

static void assert_info_names(const struct host *h, const char *const *want,
			      uint32_t n)
{
	assert_int_equal(h->n_info, n);
	for (uint32_t i = 0; i < n; i++)
		assert_string_equal(h->info[i].name, want[i]);
}

static void test_set_info_sorted_and_in_place(void **state)
{
	static const char *const sorted[] = {"B", "alp", "alpha", "mid", "os",
					     "zeta"};
	struct hosts *t = new_table();
	uint8_t u[16], d[16];
	struct host *h;

	uuid_of(0, u);
	h = hosts_at(t, add(t, u, 0));
	assert_int_equal(h->flags & HOST_HAS_INFO, 0);
	digest_of(1, d);
	assert_int_equal(hosts_set_info(h, "zeta", 4, d), 0);
	assert_int_not_equal(h->flags & HOST_HAS_INFO, 0);
	digest_of(2, d);
	assert_int_equal(hosts_set_info(h, "alphaXYZ", 5, d), 0); /* "alpha" */
	digest_of(3, d);
	assert_int_equal(hosts_set_info(h, "mid", 3, d), 0);
	digest_of(4, d);
	assert_int_equal(hosts_set_info(h, "alp", 3, d), 0);
	digest_of(5, d);
	assert_int_equal(hosts_set_info(h, "os", 2, d), 0);
	digest_of(6, d);
	assert_int_equal(hosts_set_info(h, "B", 1, d), 0); /* 'B' < 'a' */
	assert_info_names(h, sorted, 6);

	/* Updating keeps the entry, its place and the count. */
	{
		const struct host_info *alpha = &h->info[2];
		char *name = alpha->name;

		digest_of(9, d);
		assert_int_equal(hosts_set_info(h, "alpha", 5, d), 0);
		assert_info_names(h, sorted, 6);
		assert_ptr_equal(h->info[2].name, name);
		assert_memory_equal(h->info[2].digest, d, 16);
	}
	/* The others kept their digests. */
	digest_of(1, d);
	assert_memory_equal(h->info[5].digest, d, 16);
	digest_of(4, d);
	assert_memory_equal(h->info[1].digest, d, 16);
	hosts_free(t);
}

static void test_set_info_limit(void **state)
{
	struct hosts *t = new_table();
	uint8_t u[16], d[16];
	struct host *h;
	char name[16];

	uuid_of(0, u);
	h = hosts_at(t, add(t, u, 0));
	digest_of(0, d);
	for (int i = 0; i < 64; i++) {
		snprintf(name, sizeof(name), "p%02d", 63 - i);
		assert_int_equal(hosts_set_info(h, name, strlen(name), d), 0);
	}
	assert_int_equal(h->n_info, 64);
	assert_int_equal(hosts_set_info(h, "extra", 5, d), HB_ELIMIT);
	assert_int_equal(h->n_info, 64);
	/* An existing one can still be updated. */
	digest_of(7, d);
	assert_int_equal(hosts_set_info(h, "p10", 3, d), 0);
	for (int i = 0; i < 64; i++) {
		snprintf(name, sizeof(name), "p%02d", i);
		assert_string_equal(h->info[i].name, name);
	}
	assert_memory_equal(h->info[10].digest, d, 16);
	hosts_free(t);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * The protocol's Info digest computed here with crypto_generichash
 * alone: BLAKE2b-128 over name || 0x00 || digest, by ascending name.
 */
static void expected_digest(const char **names, const uint8_t (*digests)[16],
			    size_t n, uint8_t out[16])
{
	const char *sorted[64];
	crypto_generichash_state st;
	static const uint8_t zero = 0;

	memcpy(sorted, names, n * sizeof(*names));
	qsort(sorted, n, sizeof(*sorted), cmp_str);
	crypto_generichash_init(&st, NULL, 0, 16);
	for (size_t i = 0; i < n; i++) {
		size_t k = 0;

		while (strcmp(names[k], sorted[i]) != 0)
			k++;
		crypto_generichash_update(&st, (const uint8_t *)sorted[i],
					  strlen(sorted[i]));
		crypto_generichash_update(&st, &zero, 1);
		crypto_generichash_update(&st, digests[k], 16);
	}
	crypto_generichash_final(&st, out, 16);
}

/* Lengths of NUL-terminated names. */
static void lens_of(const char *const *names, uint32_t n, uint32_t *lens)
{
	for (uint32_t i = 0; i < n; i++)
		lens[i] = (uint32_t)strlen(names[i]);
}

static void test_info_digest_independent(void **state)
{
	const char *held[] = {"pkgs", "os", "hw", "net-if", "Zz"};
	uint8_t digests[5][16], want[16], got[16];
	/* Reported now, in any order, with monitors mixed in. */
	const char *const names[] = {"load", "os", "Zz", "hw", "pkgs",
				     "net-if", "disk"};
	uint32_t lens[7];
	struct hosts *t = new_table();
	struct host *h;
	uint8_t u[16];

	uuid_of(0, u);
	h = hosts_at(t, add(t, u, 0));
	for (int i = 0; i < 5; i++) {
		randombytes_buf(digests[i], 16);
		assert_int_equal(hosts_set_info(h, held[i], strlen(held[i]),
						digests[i]),
				 0);
	}
	expected_digest(held, (const uint8_t(*)[16])digests, 5, want);
	lens_of(names, 7, lens);
	assert_true(hosts_info_digest(h, names, lens, 7, got));
	assert_memory_equal(got, want, 16);
	hosts_free(t);
}

/* InfoPlugins the client no longer reports are left out of the digest. */
static void test_info_digest_ignores_unreported(void **state)
{
	const char *held[] = {"os", "pkgs", "hw"};
	const char *kept[] = {"os", "hw"};
	uint8_t digests[3][16], kept_d[2][16], want[16], got[16];
	/* "pk" and "pkgs2" are not "pkgs": exact names only. */
	const char *const names[] = {"load", "hw", "pk", "pkgs2", "os"};
	uint32_t lens[5];
	struct hosts *t = new_table();
	struct host *h;
	uint8_t u[16];

	uuid_of(0, u);
	h = hosts_at(t, add(t, u, 0));
	for (int i = 0; i < 3; i++) {
		randombytes_buf(digests[i], 16);
		assert_int_equal(hosts_set_info(h, held[i], strlen(held[i]),
						digests[i]),
				 0);
	}
	memcpy(kept_d[0], digests[0], 16);
	memcpy(kept_d[1], digests[2], 16);
	expected_digest(kept, (const uint8_t(*)[16])kept_d, 2, want);
	lens_of(names, 5, lens);
	assert_true(hosts_info_digest(h, names, lens, 5, got));
	assert_memory_equal(got, want, 16);

	/* None of the held ones reported: false. */
	assert_false(hosts_info_digest(h, names, lens, 1, got));
	assert_false(hosts_info_digest(h, names, lens, 0, got));
	hosts_free(t);
}

/*
 * The server side (data digests kept per plugin) and the client side
 * (hb_digest_* over the data) agree, whatever the order of arrival.
 */
static void test_info_digest_matches_protocol(void **state)
{
	static const uint8_t os_data[] = {0x81, 0xa2, 'i', 'd', 0xa6, 'd',
					  'e',  'b',  'i', 'a', 'n'};
	static const uint8_t hw_data[] = {0x92, 0x01, 0xc3};
	static const uint8_t pk_data[] = {0xc0};
	uint8_t d[16], client[16], server[16];
	const char *const names[] = {"pkgs", "os", "hw"};
	uint32_t lens[3];
	struct hb_digest dg;
	struct hosts *t = new_table();
	struct host *h;
	uint8_t u[16];

	uuid_of(0, u);
	h = hosts_at(t, add(t, u, 0));
	hb_data_digest(pk_data, sizeof(pk_data), d);
	hosts_set_info(h, "pkgs", 4, d);
	hb_data_digest(os_data, sizeof(os_data), d);
	hosts_set_info(h, "os", 2, d);
	hb_data_digest(hw_data, sizeof(hw_data), d);
	hosts_set_info(h, "hw", 2, d);

	hb_digest_init(&dg); /* the client feeds names in order */
	hb_digest_add(&dg, hb_str_c("hw"), hw_data, sizeof(hw_data));
	hb_digest_add(&dg, hb_str_c("os"), os_data, sizeof(os_data));
	hb_digest_add(&dg, hb_str_c("pkgs"), pk_data, sizeof(pk_data));
	hb_digest_final(&dg, client);

	lens_of(names, 3, lens);
	assert_true(hosts_info_digest(h, names, lens, 3, server));
	assert_memory_equal(server, client, 16);
	hosts_free(t);
}

/* ---- dirty list ---- */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static void test_dirty_marks_once(void **state)
{
	struct hosts *t = new_table();
	uint32_t out[8];
	uint8_t u[16];

	for (uint32_t i = 0; i < 10; i++) {
		uuid_of(i, u);
		add(t, u, 0);
	}
	assert_int_equal(hosts_take_dirty(t, out, 8), 0);
	hosts_mark_dirty(t, 0);
	hosts_mark_dirty(t, 5);
	hosts_mark_dirty(t, 0);
	hosts_mark_dirty(t, 7);
	hosts_mark_dirty(t, 5);
	assert_int_not_equal(hosts_at(t, 5)->flags & HOST_DIRTY, 0);
	assert_int_equal(hosts_take_dirty(t, out, 2), 2);
	assert_int_equal(hosts_take_dirty(t, out + 2, 8), 1);
	assert_int_equal(hosts_take_dirty(t, out + 3, 8), 0);
	qsort(out, 3, sizeof(*out), cmp_u32);
	assert_int_equal(out[0], 0);
	assert_int_equal(out[1], 5);
	assert_int_equal(out[2], 7);
	for (uint32_t i = 0; i < 10; i++) {
		assert_int_equal(hosts_at(t, i)->flags & HOST_DIRTY, 0);
		assert_int_equal(hosts_at(t, i)->dirty_next, HOST_NONE);
	}
	/* Taken hosts can be marked again. */
	hosts_mark_dirty(t, 5);
	assert_int_equal(hosts_take_dirty(t, out, 8), 1);
	assert_int_equal(out[0], 5);
	assert_int_equal(hosts_take_dirty(t, out, 0), 0);
	hosts_free(t);
}

static void test_dirty_drains_in_batches(void **state)
{
	enum { N = 10000, BATCH = 999 };
	struct hosts *t = new_table();
	uint32_t *out = malloc((N + BATCH) * sizeof(*out));
	uint8_t *seen = calloc(N, 1);
	uint32_t total = 0, n, batches = 0;
	uint8_t u[16];

	assert_non_null(out);
	assert_non_null(seen);
	for (uint32_t i = 0; i < N; i++) {
		uuid_of(i, u);
		add(t, u, 0);
	}
	for (int round = 0; round < 3; round++) /* each host three times */
		for (uint32_t i = 0; i < N; i++)
			hosts_mark_dirty(t, (i * 7919u + (uint32_t)round) % N);
	while ((n = hosts_take_dirty(t, out + total, BATCH)) > 0) {
		assert_true(n <= BATCH);
		total += n;
		batches++;
		/* Marking a taken host mid-drain puts it back once. */
		if (batches == 3)
			hosts_mark_dirty(t, out[0]);
	}
	assert_int_equal(total, N + 1);
	assert_int_equal(batches, (N + 1 + BATCH - 1) / BATCH);
	for (uint32_t i = 0; i < total; i++)
		seen[out[i]]++;
	for (uint32_t i = 0; i < N; i++)
		assert_int_equal(seen[i], i == out[0] ? 2 : 1);
	free(seen);
	free(out);
	hosts_free(t);
}

/* Status message and boot id: changes reported, kept across attrs. */
static void test_set_status_msg(void **state)
{
	struct hosts *t = new_table();
	static const uint8_t boot[16] = {1, 2, 3};
	struct host *h;
	uint8_t u[16];

	uuid_of(0, u);
	h = hosts_at(t, add(t, u, 0));
	assert_int_equal(hosts_set_status_msg(h, "x", 1, NULL), HB_EINVAL);
	hosts_set_attrs(h, "web-01", 6, "", 0, "", 0, "{}");
	assert_null(h->attrs->status_msg);
	assert_int_equal(hosts_set_status_msg(h, "", 0, NULL), 0);
	assert_int_equal(hosts_set_status_msg(h, "load highXX", 9, NULL), 1);
	assert_string_equal(h->attrs->status_msg, "load high");
	assert_int_equal(hosts_set_status_msg(h, "load high", 9, NULL), 0);
	assert_int_equal(hosts_set_status_msg(h, "load high", 9, boot), 1);
	assert_true(h->attrs->has_boot_id);
	assert_int_equal(hosts_set_status_msg(h, "load high", 9, boot), 0);
	/* New attributes keep both. */
	assert_int_equal(hosts_set_attrs(h, "web-02", 6, "", 0, "", 0, "{}"), 1);
	assert_string_equal(h->attrs->status_msg, "load high");
	assert_memory_equal(h->attrs->boot_id, boot, 16);
	assert_int_equal(hosts_set_status_msg(h, "", 0, NULL), 1);
	assert_null(h->attrs->status_msg);
	hosts_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_table),
		cmocka_unit_test(test_set_status_msg),
		cmocka_unit_test(test_add_find_100k_random),
		cmocka_unit_test(test_similar_uuids),
		cmocka_unit_test(test_pointer_stable_across_growth),
		cmocka_unit_test(test_add_explicit_rowid),
		cmocka_unit_test(test_sparse_rowid_gap_bigger_than_chunk),
		cmocka_unit_test(test_duplicate_uuid),
		cmocka_unit_test(test_rowid_limit),
		cmocka_unit_test(test_set_attrs_reports_change),
		cmocka_unit_test(test_set_info_sorted_and_in_place),
		cmocka_unit_test(test_set_info_limit),
		cmocka_unit_test(test_info_digest_independent),
		cmocka_unit_test(test_info_digest_ignores_unreported),
		cmocka_unit_test(test_info_digest_matches_protocol),
		cmocka_unit_test(test_dirty_marks_once),
		cmocka_unit_test(test_dirty_drains_in_batches),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
