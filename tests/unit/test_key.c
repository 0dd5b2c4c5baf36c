/*
 * test_key: keys (hb_key_init, subkey derivation), key-file lines
 * (hb_key_format), uuids (hb_uuid_parse/format) and the keyring: parsing
 * key-file text with its exact "name:line:col:" errors, lookup among many
 * keys, and loading from a file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <unistd.h>

#include "hb_test.h"

#define HEX0 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define HEX1 "FFEEDDCCBBAA99887766554433221100ffeeddccbbaa99887766554433221100"
#define UUID "10111213-1415-1617-1819-1a1b1c1d1e1f"

static void test_init_rejects_id_zero(void **state)
{
	struct hb_key k;

	assert_rc(hb_key_init(&k, 0, t_master()), HB_EINVAL);
	assert_rc(hb_key_init(&k, 1, t_master()), 0);
	assert_int_equal(k.id, 1);
	assert_false(k.has_host);
	assert_rc(hb_key_init(&k, UINT32_MAX, t_master()), 0);
	assert_int_equal(k.id, UINT32_MAX);
}

static void test_subkeys_distinct_and_pinned(void **state)
{
	struct hb_key k;
	const uint8_t *sub[4];
	uint8_t want[HB_KEY_LEN];

	t_key(&k);
	for (int i = 0; i < 4; i++) {
		sub[i] = k.sub[i / 2][i % 2];
		/* docs: ids 1 sign c2s, 2 sign s2c, 3 encrypt c2s, 4 s2c */
		crypto_kdf_derive_from_key(want, sizeof(want), (uint64_t)i + 1,
					   "hb-proto", t_master());
		assert_memory_equal(sub[i], want, HB_KEY_LEN);
		assert_memory_not_equal(sub[i], t_master(), HB_KEY_LEN);
	}
	assert_memory_equal(k.sub[HB_MODE_SIGN - 1][HB_DIR_S2C], sub[1],
			    HB_KEY_LEN);
	assert_memory_equal(k.sub[HB_MODE_ENCRYPT - 1][HB_DIR_C2S], sub[2],
			    HB_KEY_LEN);
	for (int i = 0; i < 4; i++)
		for (int j = i + 1; j < 4; j++)
			assert_memory_not_equal(sub[i], sub[j], HB_KEY_LEN);
}

static void test_subkeys_depend_on_master_not_id(void **state)
{
	uint8_t other[HB_KEY_LEN];
	struct hb_key a, b, c;

	memcpy(other, t_master(), sizeof(other));
	other[31] ^= 1;
	assert_rc(hb_key_init(&a, 1, t_master()), 0);
	assert_rc(hb_key_init(&b, 2, t_master()), 0);
	assert_rc(hb_key_init(&c, 1, other), 0);
	assert_memory_equal(a.sub, b.sub, sizeof(a.sub));
	assert_memory_not_equal(a.sub[0][0], c.sub[0][0], HB_KEY_LEN);
}

static void test_wipe(void **state)
{
	static const struct hb_key zero;
	struct hb_key k;

	t_key(&k);
	hb_key_wipe(&k);
	assert_memory_equal(&k, &zero, sizeof(k));
}

static void test_format(void **state)
{
	char out[128];

	assert_rc(hb_key_format(42, t_master(), NULL, out, sizeof(out)), 0);
	assert_string_equal(out, "42 " HEX0);
	assert_rc(hb_key_format(UINT32_MAX, t_master(), t_host(), out,
				sizeof(out)), 0);
	assert_string_equal(out, "4294967295 " HEX0 " " UUID);
	/* Exactly enough room, and one byte less. */
	assert_rc(hb_key_format(42, t_master(), NULL, out, 68), 0);
	for (size_t cap = 0; cap < 68; cap++)
		assert_rc(hb_key_format(42, t_master(), NULL, out, cap),
			  HB_ENOSPC);
}

static void test_format_parse_round_trip(void **state)
{
	struct hb_keyring *kr = hb_keyring_new();
	char text[256], err[128];
	const struct hb_key *k;
	struct hb_key want;
	size_t n;

	assert_non_null(kr);
	assert_rc(hb_key_format(9, t_master(), t_host(), text, 128), 0);
	n = strlen(text);
	text[n++] = '\n';
	assert_rc(hb_key_format(8, t_master(), NULL, text + n, 128), 0);
	assert_rc(hb_keyring_parse(kr, text, strlen(text), "t", err,
				   sizeof(err)), 0);
	assert_int_equal(hb_keyring_count(kr), 2);
	assert_rc(hb_key_init(&want, 9, t_master()), 0);
	assert_non_null(k = hb_keyring_find(kr, 9));
	assert_true(k->has_host);
	assert_memory_equal(k->host_id, t_host(), 16);
	assert_memory_equal(k->sub, want.sub, sizeof(want.sub));
	assert_non_null(k = hb_keyring_find(kr, 8));
	assert_false(k->has_host);
	assert_memory_equal(k->sub, want.sub, sizeof(want.sub));
	hb_keyring_free(kr);
}

static void test_uuid_round_trip(void **state)
{
	uint8_t id[16], back[16];
	char s[37];

	assert_rc(hb_uuid_parse(UUID, 36, id), 0);
	assert_memory_equal(id, t_host(), 16);
	hb_uuid_format(id, s);
	assert_string_equal(s, UUID);
	assert_rc(hb_uuid_parse("ABCDEF01-2345-6789-ABCD-EF0123456789", 36, id),
		  0);
	hb_uuid_format(id, s);
	assert_string_equal(s, "abcdef01-2345-6789-abcd-ef0123456789");
	for (int i = 0; i < 16; i++)
		id[i] = (uint8_t)(0xf0 ^ (i * 17));
	hb_uuid_format(id, s);
	assert_rc(hb_uuid_parse(s, strlen(s), back), 0);
	assert_memory_equal(back, id, 16);
}

static void test_uuid_rejects(void **state)
{
	static const char *const bad[] = {
		"",
		"10111213-1415-1617-1819-1a1b1c1d1e1",    /* 35 */
		"10111213-1415-1617-1819-1a1b1c1d1e1f0",  /* 37 */
		"1011121-31415-1617-1819-1a1b1c1d1e1f",   /* dash moved */
		"10111213-14151-617-1819-1a1b1c1d1e1f",
		"10111213-1415-1617-18191a1b-1c1d1e1f",
		"101112131415161718191a1b1c1d1e1f----",
		"{0111213-1415-1617-1819-1a1b1c1d1e1f",
		"10111213 1415 1617 1819 1a1b1c1d1e1f",
	};
	char s[37];
	uint8_t id[16];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_rc(hb_uuid_parse(bad[i], strlen(bad[i]), id), HB_ESYNTAX);
	/* A non-hex digit, or a hex digit for a dash, at every position. */
	for (int pos = 0; pos < 36; pos++) {
		bool dash = pos == 8 || pos == 13 || pos == 18 || pos == 23;

		memcpy(s, UUID, 37);
		s[pos] = dash ? '0' : 'g';
		assert_rc(hb_uuid_parse(s, 36, id), HB_ESYNTAX);
		if (!dash) {
			s[pos] = '-';
			assert_rc(hb_uuid_parse(s, 36, id), HB_ESYNTAX);
		}
	}
}

static void test_parse_keyfile(void **state)
{
	static const char text[] =
		"# hb key file\n"
		"\n"
		"5 " HEX0 "\r\n"
		"  \t# an indented comment\n"
		"7\t" HEX1 "  " UUID "   # web-1\r\n"
		"\r\n"
		"   \t  \n"
		"6 " HEX0 " # comment\n"
		"3  " HEX1 "\t"; /* no final newline */
	static const uint32_t ids[] = {3, 5, 6, 7};
	struct hb_keyring *kr = hb_keyring_new();
	uint8_t m1[HB_KEY_LEN];
	struct hb_key want;
	char err[128] = "junk";

	assert_rc(sodium_hex2bin(m1, sizeof(m1), HEX1, 64, NULL, NULL, NULL),
		  0);
	assert_rc(hb_keyring_parse(kr, text, strlen(text), "t", err,
				   sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(hb_keyring_count(kr), 4);
	for (size_t i = 0; i < 4; i++) {
		const struct hb_key *k = hb_keyring_at(kr, i);
		bool odd = ids[i] == 3 || ids[i] == 7;

		assert_non_null(k);
		assert_int_equal(k->id, ids[i]);
		assert_rc(hb_key_init(&want, ids[i], odd ? m1 : t_master()), 0);
		assert_memory_equal(k->sub, want.sub, sizeof(want.sub));
		assert_int_equal(k->has_host, ids[i] == 7);
	}
	assert_memory_equal(hb_keyring_find(kr, 7)->host_id, t_host(), 16);
	assert_null(hb_keyring_at(kr, 4));
	/* Empty text, and NULL err, are fine. */
	assert_rc(hb_keyring_parse(kr, "", 0, "t", NULL, 0), 0);
	hb_keyring_free(kr);
}

/* Parses text into a fresh keyring; checks rc and the message prefix. */
static void parse_error(const char *text, int want, const char *prefix,
			size_t keys_left)
{
	struct hb_keyring *kr = hb_keyring_new();
	char err[256] = "", head[256];
	size_t n = strlen(prefix);
	int rc;

	assert_non_null(kr);
	rc = hb_keyring_parse(kr, text, strlen(text), "keys.txt", err,
			      sizeof(err));
	snprintf(head, sizeof(head), "%.*s", (int)n, err);
	n = hb_keyring_count(kr);
	hb_keyring_free(kr);
	assert_rc(rc, want);
	assert_string_equal(head, prefix);
	assert_true(strlen(err) > strlen(prefix)); /* says what is wrong */
	assert_int_equal(n, keys_left);
}

static void test_parse_error_bad_id(void **state)
{
	parse_error("0 " HEX0, HB_ESYNTAX, "keys.txt:1:1: ", 0);
	parse_error("1 " HEX0 "\n\n  x1 " HEX0, HB_ESYNTAX, "keys.txt:3:3: ",
		    1);
	parse_error("4294967296 " HEX0, HB_ESYNTAX, "keys.txt:1:1: ", 0);
	parse_error("99999999999999999999999 " HEX0, HB_ESYNTAX,
		    "keys.txt:1:1: ", 0);
	parse_error("-1 " HEX0, HB_ESYNTAX, "keys.txt:1:1: ", 0);
	parse_error("12a " HEX0, HB_ESYNTAX, "keys.txt:1:1: ", 0);
}

static void test_parse_error_short_hex(void **state)
{
	parse_error("1 abcd", HB_ESYNTAX, "keys.txt:1:3: ", 0);
	parse_error("1", HB_ESYNTAX, "keys.txt:1:2: ", 0);
	parse_error("# c\r\n\t1# " HEX0, HB_ESYNTAX, "keys.txt:2:3: ", 0);
	parse_error("1 " HEX0 "\r\n2  " "0" HEX0, HB_ESYNTAX,
		    "keys.txt:2:4: ", 1);
	parse_error("12 " "000102030405060708090a0b0c0d0e0f"
		    "101112131415161718191a1b1c1d1e1", HB_ESYNTAX,
		    "keys.txt:1:4: ", 0);
	parse_error("1 " "g00102030405060708090a0b0c0d0e0f"
		    "101112131415161718191a1b1c1d1e1f", HB_ESYNTAX,
		    "keys.txt:1:3: ", 0);
}

static void test_parse_error_bad_uuid(void **state)
{
	parse_error("1 " HEX0 " 10111213-1415-1617-1819-1a1b1c1d1e1", HB_ESYNTAX,
		    "keys.txt:1:68: ", 0);
	parse_error("1 " HEX0 "\t\tnot-a-uuid", HB_ESYNTAX,
		    "keys.txt:1:69: ", 0);
}

static void test_parse_error_trailing_garbage(void **state)
{
	parse_error("1 " HEX0 " " UUID " x", HB_ESYNTAX, "keys.txt:1:105: ",
		    0);
	parse_error("1 " HEX0 " " UUID " " UUID "\n", HB_ESYNTAX,
		    "keys.txt:1:105: ", 0);
}

static void test_parse_error_duplicate(void **state)
{
	parse_error("5 " HEX0 "\n# x\n5 " HEX1 "\n", HB_EEXIST,
		    "keys.txt:3:1: ", 1);
	parse_error("5 " HEX0 "\n6 " HEX0 "\n7 " HEX0 "\n6 " HEX0 " " UUID,
		    HB_EEXIST, "keys.txt:4:1: ", 3);
}

/* A deterministic permutation source (xorshift32). */
static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void test_keyring_find_many_random_order(void **state)
{
	enum { N = 3000 };
	static uint32_t ids[N];
	struct hb_keyring *kr = hb_keyring_new();
	uint8_t master[HB_KEY_LEN];
	uint32_t seed = 12345;
	struct hb_key k;

	assert_non_null(kr);
	for (uint32_t i = 0; i < N; i++)
		ids[i] = i == N - 1 ? UINT32_MAX : 1 + 3 * i;
	for (uint32_t i = N - 1; i > 0; i--) {
		uint32_t j = rnd(&seed) % (i + 1), t = ids[i];

		ids[i] = ids[j];
		ids[j] = t;
	}
	for (uint32_t i = 0; i < N; i++) {
		memset(master, 0, sizeof(master));
		memcpy(master, &ids[i], sizeof(ids[i]));
		assert_rc(hb_key_init(&k, ids[i], master), 0);
		assert_rc(hb_keyring_add(kr, &k), 0);
		assert_rc(hb_keyring_add(kr, &k), HB_EEXIST);
	}
	assert_int_equal(hb_keyring_count(kr), N);
	for (uint32_t i = 0; i < N; i++) {
		const struct hb_key *f = hb_keyring_find(kr, ids[i]);
		struct hb_key want;

		assert_non_null(f);
		assert_int_equal(f->id, ids[i]);
		memset(master, 0, sizeof(master));
		memcpy(master, &ids[i], sizeof(ids[i]));
		assert_rc(hb_key_init(&want, ids[i], master), 0);
		assert_memory_equal(f->sub, want.sub, sizeof(want.sub));
		assert_null(hb_keyring_find(kr, ids[i] + 1));
	}
	assert_null(hb_keyring_find(kr, 0));
	assert_null(hb_keyring_find(kr, 3 * N + 1));
	for (size_t i = 1; i < N; i++)
		assert_true(hb_keyring_at(kr, i - 1)->id <
			    hb_keyring_at(kr, i)->id);
	hb_keyring_free(kr);
}

static void test_keyring_empty(void **state)
{
	struct hb_keyring *kr = hb_keyring_new();

	assert_non_null(kr);
	assert_int_equal(hb_keyring_count(kr), 0);
	assert_null(hb_keyring_find(kr, 1));
	assert_null(hb_keyring_at(kr, 0));
	hb_keyring_free(kr);
	hb_keyring_free(NULL);
}

/* Writes text to a new temp file; returns its path (static). */
static const char *temp_file(const char *text)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/hb-test-key-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_load_file(void **state)
{
	struct hb_keyring *kr = hb_keyring_new();
	const char *path = temp_file("# keys\n1 " HEX0 "\n2 " HEX1 " " UUID "\n");
	char err[256] = "x";
	int rc = hb_keyring_load(kr, path, err, sizeof(err));
	size_t n = hb_keyring_count(kr);

	unlink(path);
	hb_keyring_free(kr);
	assert_rc(rc, 0);
	assert_string_equal(err, "");
	assert_int_equal(n, 2);
}

static void test_load_error_names_path(void **state)
{
	struct hb_keyring *kr = hb_keyring_new();
	const char *path = temp_file("1 " HEX0 "\nbad " HEX0 "\n");
	char err[256] = "", want[128], head[128];
	int rc = hb_keyring_load(kr, path, err, sizeof(err));
	size_t n = hb_keyring_count(kr);

	snprintf(want, sizeof(want), "%s:2:1: ", path);
	snprintf(head, sizeof(head), "%.*s", (int)strlen(want), err);
	unlink(path);
	hb_keyring_free(kr);
	assert_rc(rc, HB_ESYNTAX);
	assert_string_equal(head, want);
	assert_int_equal(n, 1);
}

static void test_load_missing_file(void **state)
{
	static const char path[] = "/nonexistent-hb-test/keys";
	struct hb_keyring *kr = hb_keyring_new();
	char err[256] = "", head[64];

	assert_rc(hb_keyring_load(kr, path, err, sizeof(err)), HB_EIO);
	snprintf(head, sizeof(head), "%.*s", (int)strlen(path) + 2, err);
	assert_string_equal(head, "/nonexistent-hb-test/keys: ");
	assert_int_equal(hb_keyring_count(kr), 0);
	assert_rc(hb_keyring_load(kr, path, NULL, 0), HB_EIO);
	assert_rc(hb_keyring_load(kr, "/", err, sizeof(err)), HB_EIO);
	hb_keyring_free(kr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_rejects_id_zero),
		cmocka_unit_test(test_subkeys_distinct_and_pinned),
		cmocka_unit_test(test_subkeys_depend_on_master_not_id),
		cmocka_unit_test(test_wipe),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_format_parse_round_trip),
		cmocka_unit_test(test_uuid_round_trip),
		cmocka_unit_test(test_uuid_rejects),
		cmocka_unit_test(test_parse_keyfile),
		cmocka_unit_test(test_parse_error_bad_id),
		cmocka_unit_test(test_parse_error_short_hex),
		cmocka_unit_test(test_parse_error_bad_uuid),
		cmocka_unit_test(test_parse_error_trailing_garbage),
		cmocka_unit_test(test_parse_error_duplicate),
		cmocka_unit_test(test_keyring_find_many_random_order),
		cmocka_unit_test(test_keyring_empty),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_load_error_names_path),
		cmocka_unit_test(test_load_missing_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
