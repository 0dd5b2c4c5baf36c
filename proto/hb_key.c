/*
 * hb_key: subkey derivation, key-file text and the keyring. Subkeys are
 * crypto_kdf_derive_from_key(32, id, "hb-proto", master) with the ids of
 * docs/PROTOCOL.md "Keys": 1 sign c2s, 2 sign s2c, 3 encrypt c2s,
 * 4 encrypt s2c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "hb_error.h"
#include "hb_frame.h"
#include "hb_key.h"

#define KEYFILE_MAX (512u << 20) /* per-host keys of ~4M hosts */

int hb_key_init(struct hb_key *k, uint32_t id, const uint8_t master[HB_KEY_LEN])
{
	if (id == 0)
		return HB_EINVAL;
	memset(k, 0, sizeof(*k));
	k->id = id;
	for (int m = 0; m < 2; m++)
		for (int d = 0; d < 2; d++)
			crypto_kdf_derive_from_key(k->sub[m][d], HB_KEY_LEN,
						   (uint64_t)(1 + 2 * m + d),
						   HB_KDF_CONTEXT, master);
	return 0;
}

void hb_key_wipe(struct hb_key *k)
{
	sodium_memzero(k, sizeof(*k));
}

int hb_key_format(uint32_t id, const uint8_t master[HB_KEY_LEN],
		  const uint8_t *host, char *out, size_t cap)
{
	char hex[2 * HB_KEY_LEN + 1];
	char uuid[37] = "";
	int n;

	sodium_bin2hex(hex, sizeof(hex), master, HB_KEY_LEN);
	if (host)
		hb_uuid_format(host, uuid);
	n = snprintf(out, cap, "%u %s%s%s", id, hex, host ? " " : "", uuid);
	sodium_memzero(hex, sizeof(hex));
	return n < 0 || (size_t)n >= cap ? HB_ENOSPC : 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes exactly 2 * n hex digits. */
static int hex_decode(const char *s, size_t n, uint8_t *out)
{
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return HB_ESYNTAX;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int hb_uuid_parse(const char *s, size_t len, uint8_t out[16])
{
	static const uint8_t groups[] = {4, 2, 2, 2, 6};

	if (len != 36)
		return HB_ESYNTAX;
	for (size_t g = 0; g < sizeof(groups); g++) {
		if (hex_decode(s, groups[g], out) < 0)
			return HB_ESYNTAX;
		s += 2 * groups[g];
		out += groups[g];
		if (g + 1 < sizeof(groups) && *s++ != '-')
			return HB_ESYNTAX;
	}
	return 0;
}

void hb_uuid_format(const uint8_t id[16], char out[37])
{
	static const char digits[] = "0123456789abcdef";
	char *p = out;

	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		*p++ = digits[id[i] >> 4];
		*p++ = digits[id[i] & 15];
	}
	*p = '\0';
}

struct hb_keyring {
	struct hb_key *keys; /* sorted by id */
	size_t n, cap;
};

struct hb_keyring *hb_keyring_new(void)
{
	return calloc(1, sizeof(struct hb_keyring));
}

void hb_keyring_free(struct hb_keyring *kr)
{
	if (!kr)
		return;
	if (kr->keys)
		sodium_memzero(kr->keys, kr->cap * sizeof(*kr->keys));
	free(kr->keys);
	free(kr);
}

/* Index of the first key with id >= id. */
static size_t lower_bound(const struct hb_keyring *kr, uint32_t id)
{
	size_t lo = 0, hi = kr->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (kr->keys[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int grow(struct hb_keyring *kr)
{
	size_t cap = kr->cap ? kr->cap * 2 : 16;
	struct hb_key *keys = calloc(cap, sizeof(*keys));

	if (!keys)
		return HB_ENOMEM;
	if (kr->keys) {
		memcpy(keys, kr->keys, kr->n * sizeof(*keys));
		sodium_memzero(kr->keys, kr->cap * sizeof(*keys));
		free(kr->keys);
	}
	kr->keys = keys;
	kr->cap = cap;
	return 0;
}

int hb_keyring_add(struct hb_keyring *kr, const struct hb_key *k)
{
	size_t i;

	/* Key files are usually written in id order: append fast. */
	if (kr->n && kr->keys[kr->n - 1].id < k->id)
		i = kr->n;
	else
		i = lower_bound(kr, k->id);
	if (i < kr->n && kr->keys[i].id == k->id)
		return HB_EEXIST;
	if (kr->n == kr->cap && grow(kr) < 0)
		return HB_ENOMEM;
	memmove(&kr->keys[i + 1], &kr->keys[i], (kr->n - i) * sizeof(*k));
	kr->keys[i] = *k;
	kr->n++;
	return 0;
}

const struct hb_key *hb_keyring_find(const struct hb_keyring *kr, uint32_t id)
{
	size_t i = lower_bound(kr, id);

	return i < kr->n && kr->keys[i].id == id ? &kr->keys[i] : NULL;
}

size_t hb_keyring_count(const struct hb_keyring *kr)
{
	return kr->n;
}

const struct hb_key *hb_keyring_at(const struct hb_keyring *kr, size_t i)
{
	return i < kr->n ? &kr->keys[i] : NULL;
}

/* Where the key-file parser is, for messages. */
struct cursor {
	const char *name;
	const char *line; /* start of the current line */
	size_t lineno;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 3, 4))) static int
fail(const struct cursor *c, const char *at, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!c->errlen)
		return HB_ESYNTAX;
	n = snprintf(c->err, c->errlen, "%s:%zu:%zu: ", c->name, c->lineno,
		     (size_t)(at - c->line) + 1);
	if (n >= 0 && (size_t)n < c->errlen) {
		va_start(ap, fmt);
		vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return HB_ESYNTAX;
}

static const char *skip_blank(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

static const char *word_end(const char *p, const char *end)
{
	while (p < end && *p != ' ' && *p != '\t' && *p != '#')
		p++;
	return p;
}

static int parse_id(const struct cursor *c, const char *p, const char *e,
		    uint32_t *id)
{
	const char *q;
	uint64_t v = 0;

	for (q = p; q < e && *q >= '0' && *q <= '9' && v <= UINT32_MAX; q++)
		v = v * 10 + (uint64_t)(*q - '0');
	if (q == p || q != e || v == 0 || v > UINT32_MAX)
		return fail(c, p, "key id: expected a number 1..4294967295");
	*id = (uint32_t)v;
	return 0;
}

/* One non-empty, comment-stripped line: id, secret, optional host. */
static int parse_line(struct hb_keyring *kr, const struct cursor *c,
		      const char *p, const char *end)
{
	uint8_t master[HB_KEY_LEN];
	const char *id_at = p, *e;
	struct hb_key k;
	uint32_t id = 0;
	int rc;

	e = word_end(p, end);
	if ((rc = parse_id(c, p, e, &id)) < 0)
		return rc;
	p = skip_blank(e, end);
	e = word_end(p, end);
	if (e - p != 2 * HB_KEY_LEN || hex_decode(p, HB_KEY_LEN, master) < 0) {
		sodium_memzero(master, sizeof(master));
		return fail(c, p, "key: expected 64 hex digits");
	}
	hb_key_init(&k, id, master);
	sodium_memzero(master, sizeof(master));
	p = skip_blank(e, end);
	if (p < end && *p != '#') {
		e = word_end(p, end);
		if (hb_uuid_parse(p, (size_t)(e - p), k.host_id) < 0) {
			rc = fail(c, p, "host: expected a uuid "
					"(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)");
			goto out;
		}
		k.has_host = true;
		p = skip_blank(e, end);
	}
	if (p < end && *p != '#') {
		rc = fail(c, p, "unexpected text after the key");
		goto out;
	}
	rc = hb_keyring_add(kr, &k);
	if (rc == HB_EEXIST)
		fail(c, id_at, "key id %u: defined twice", id);
out:
	hb_key_wipe(&k);
	return rc;
}

int hb_keyring_parse(struct hb_keyring *kr, const char *text, size_t len,
		     const char *name, char *err, size_t errlen)
{
	struct cursor c = {name, text, 0, err, errlen};
	const char *end = text + len;

	if (errlen)
		err[0] = '\0';
	while (c.line < end) {
		const char *eol = memchr(c.line, '\n', (size_t)(end - c.line));
		const char *stop = eol ? eol : end;
		const char *p;
		int rc;

		c.lineno++;
		if (stop > c.line && stop[-1] == '\r')
			stop--;
		p = skip_blank(c.line, stop);
		if (p < stop && *p != '#' && (rc = parse_line(kr, &c, p, stop)) < 0)
			return rc;
		c.line = eol ? eol + 1 : end;
	}
	return 0;
}

int hb_keyring_load(struct hb_keyring *kr, const char *path, char *err,
		    size_t errlen)
{
	FILE *f = fopen(path, "re");
	struct stat st;
	char *text = NULL;
	size_t n = 0;
	int rc = HB_EIO;

	if (!f || fstat(fileno(f), &st) < 0) {
		if (errlen)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (st.st_size > KEYFILE_MAX) {
		if (errlen)
			snprintf(err, errlen, "%s: larger than %u MiB", path,
				 KEYFILE_MAX >> 20);
		goto out;
	}
	rc = HB_ENOMEM;
	if (!(text = malloc((size_t)st.st_size + 1)))
		goto out;
	n = fread(text, 1, (size_t)st.st_size, f);
	if (ferror(f)) {
		if (errlen)
			snprintf(err, errlen, "%s: read error", path);
		rc = HB_EIO;
	} else {
		rc = hb_keyring_parse(kr, text, n, path, err, errlen);
	}
	sodium_memzero(text, n);
out:
	free(text);
	if (f)
		fclose(f);
	return rc;
}
