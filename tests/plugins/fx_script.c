/*
 * fx_script: a plugin whose collect() follows its "ops" list, one
 * builder call per item, so tests can drive the result builder through
 * any sequence. Each op is "<op> <key> <rest>", key "-" for none:
 *
 *   str K TEXT      put_string (from a buffer overwritten afterwards)
 *   int K N, uint K N, dbl K X, bool K N, null K
 *   map K, array K, end
 *   nest N          N nested maps, each under key "d"
 *   fill K N        a string of N bytes 'x'
 *   raw K HEX       a string of the bytes HEX spells ("ff00")
 *   status S TEXT   status S with message TEXT
 *   log L TEXT      a log line at level L
 *   return N        collect() returns N
 */
#include <stdlib.h>
#include <string.h>

#include "hb/plugin.h"

/* Splits the next space-separated word off *s into buf. */
static void next_word(const char **s, char *buf, size_t cap)
{
	size_t n = 0;

	while (**s == ' ')
		(*s)++;
	for (; **s && **s != ' '; (*s)++)
		if (n + 1 < cap)
			buf[n++] = **s;
	buf[n] = '\0';
	while (**s == ' ')
		(*s)++;
}

/* A string put from a buffer we then destroy: hbc must have copied it. */
static void put_copy(struct hb_plugin_result *r, const char *key,
		     const char *s, size_t len)
{
	char *buf = malloc(len + 1);

	if (!buf)
		return;
	memcpy(buf, s, len);
	buf[len] = '\0';
	hb_put_string(r, key, buf);
	memset(buf, '#', len);
	free(buf);
}

static void put_fill(struct hb_plugin_result *r, const char *key, size_t n)
{
	char *buf = malloc(n + 1);

	if (!buf)
		return;
	memset(buf, 'x', n);
	buf[n] = '\0';
	hb_put_string(r, key, buf);
	free(buf);
}

static void put_raw(struct hb_plugin_result *r, const char *key,
		    const char *hex)
{
	char buf[64];
	size_t n = 0;

	for (; hex[0] && hex[1] && n + 1 < sizeof(buf); hex += 2) {
		char byte[3] = {hex[0], hex[1], '\0'};

		buf[n++] = (char)strtoul(byte, NULL, 16);
	}
	buf[n] = '\0';
	hb_put_string(r, key, buf);
}

static void run_op(struct hb_plugin_ctx *ctx, struct hb_plugin_result *r,
		   const char *line, int *ret)
{
	char op[16], kb[64];
	const char *k;

	next_word(&line, op, sizeof(op));
	next_word(&line, kb, sizeof(kb));
	k = strcmp(kb, "-") ? kb : NULL;
	if (!strcmp(op, "str"))
		put_copy(r, k, line, strlen(line));
	else if (!strcmp(op, "int"))
		hb_put_int(r, k, strtoll(line, NULL, 10));
	else if (!strcmp(op, "uint"))
		hb_put_uint(r, k, strtoull(line, NULL, 10));
	else if (!strcmp(op, "dbl"))
		hb_put_double(r, k, strtod(line, NULL));
	else if (!strcmp(op, "bool"))
		hb_put_bool(r, k, atoi(line));
	else if (!strcmp(op, "null"))
		hb_put_null(r, k);
	else if (!strcmp(op, "map"))
		hb_begin_map(r, k);
	else if (!strcmp(op, "array"))
		hb_begin_array(r, k);
	else if (!strcmp(op, "end"))
		hb_end(r);
	else if (!strcmp(op, "nest"))
		for (int i = atoi(kb); i > 0; i--)
			hb_begin_map(r, "d");
	else if (!strcmp(op, "fill"))
		put_fill(r, k, strtoul(line, NULL, 10));
	else if (!strcmp(op, "raw"))
		put_raw(r, k, line);
	else if (!strcmp(op, "status"))
		hb_plugin_status(r, atoi(kb), "%s", line);
	else if (!strcmp(op, "log"))
		hb_plugin_log(ctx, atoi(kb), "%s", line);
	else if (!strcmp(op, "return"))
		*ret = atoi(kb);
}

static int collect(struct hb_plugin_ctx *ctx, void *state,
		   struct hb_plugin_result *r)
{
	const char *line;
	int ret = 0;

	(void)state;
	for (size_t i = 0; (line = ctx->api->config_list_item(ctx, "ops", i));
	     i++)
		run_op(ctx, r, line, &ret);
	return ret;
}

static const struct hb_plugin desc = {
	.abi_major = HB_PLUGIN_ABI_MAJOR,
	.size = sizeof(struct hb_plugin),
	.name = "fx_script",
	.kind = HB_PLUGIN_MONITOR,
	.default_interval = 60,
	.collect = collect,
};

HB_PLUGIN_DEFINE(desc)
