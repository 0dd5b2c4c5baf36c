/*
 * fuzz_keyfile: libFuzzer target for the key-file parser,
 * hb_keyring_parse(), the one text loader so far (YAML configuration
 * will get a target of its own). The input is the file's text. Besides
 * the sanitizers, the documented contracts are checked, and a violation
 * aborts:
 *   - the error text is always NUL-terminated, empty on success, and
 *     names the file on a syntax error or repeated id, also when the
 *     buffer truncates it;
 *   - parsing without an error buffer gives the same result and keys;
 *   - the keyring stays sorted by id without duplicates or id 0, and
 *     hb_keyring_find() finds every key;
 *   - parsing the same text again into the same keyring fails with
 *     HB_EEXIST and adds nothing;
 *   - a host binding formats to a uuid that parses back to it.
 * hb_uuid_parse() also gets the whole input.
 *
 * Seeds (fuzz/corpus/keyfile): hb-keygen-style lines, host-bound keys,
 * comments and blank lines, CRLF, and a few syntax errors.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "hb_error.h"
#include "hb_key.h"

#define CHECK(cond)                                                        \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "%s:%d: check failed: %s\n",       \
				__FILE__, __LINE__, #cond);                \
			abort();                                           \
		}                                                          \
	} while (0)

#define NAME "fuzz.keys"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (sodium_init() < 0)
		abort();
	return 0;
}

static void check_ring(const struct hb_keyring *kr)
{
	size_t n = hb_keyring_count(kr);

	for (size_t i = 0; i < n; i++) {
		const struct hb_key *k = hb_keyring_at(kr, i);

		CHECK(k && k->id != 0);
		CHECK(i == 0 || hb_keyring_at(kr, i - 1)->id < k->id);
		CHECK(hb_keyring_find(kr, k->id) == k);
		if (k->has_host) {
			uint8_t back[16];
			char uuid[37];

			hb_uuid_format(k->host_id, uuid);
			CHECK(strlen(uuid) == 36);
			CHECK(hb_uuid_parse(uuid, 36, back) == 0 &&
			      !memcmp(back, k->host_id, 16));
		}
	}
	CHECK(hb_keyring_at(kr, n) == NULL);
}

static bool same_keys(const struct hb_keyring *a, const struct hb_keyring *b)
{
	if (hb_keyring_count(a) != hb_keyring_count(b))
		return false;
	for (size_t i = 0; i < hb_keyring_count(a); i++) {
		const struct hb_key *x = hb_keyring_at(a, i);
		const struct hb_key *y = hb_keyring_at(b, i);

		if (x->id != y->id || x->has_host != y->has_host ||
		    memcmp(x->host_id, y->host_id, 16) ||
		    memcmp(x->sub, y->sub, sizeof(x->sub)))
			return false;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct hb_keyring *a = hb_keyring_new(), *b = hb_keyring_new();
	char err[256], small[12];
	uint8_t uuid[16];
	size_t n;
	int rc;

	CHECK(a && b);
	memset(err, 'x', sizeof(err));
	rc = hb_keyring_parse(a, text, size, NAME, err, sizeof(err));
	CHECK(memchr(err, '\0', sizeof(err)));
	if (rc == 0) {
		CHECK(err[0] == '\0');
	} else {
		CHECK(rc == HB_ESYNTAX || rc == HB_EEXIST || rc == HB_ENOMEM);
		if (rc != HB_ENOMEM)
			CHECK(strncmp(err, NAME ":", strlen(NAME ":")) == 0);
	}
	check_ring(a);

	/* No error buffer: same outcome, same keys. */
	CHECK(hb_keyring_parse(b, text, size, NAME, NULL, 0) == rc);
	CHECK(same_keys(a, b));

	/* Again into the same keyring: the first key is now a duplicate. */
	n = hb_keyring_count(a);
	if (rc == 0 && n > 0) {
		memset(small, 'x', sizeof(small));
		rc = hb_keyring_parse(a, text, size, NAME, small,
				      sizeof(small));
		CHECK(rc == HB_EEXIST);
		CHECK(memchr(small, '\0', sizeof(small)));
		CHECK(strncmp(small, NAME, strlen(NAME)) == 0);
		CHECK(hb_keyring_count(a) == n);
	}

	if (hb_uuid_parse(text, size, uuid) == 0) {
		char back[37];

		hb_uuid_format(uuid, back);
		CHECK(size == 36 && strncasecmp(back, text, 36) == 0);
	}
	hb_keyring_free(a);
	hb_keyring_free(b);
	return 0;
}
