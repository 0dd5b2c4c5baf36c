/*
 * fx_good: a well-behaved InfoPlugin for the plugin host's tests. It
 * puts one value of every kind, nested containers, its config keys and
 * the host's identity; init() allocates state, cleanup() frees it and
 * writes the word "cleaned" to the file named by its "marker" key.
 */
#include <stdio.h>
#include <stdlib.h>

#include "hb/plugin.h"

struct state {
	int collects;
};

static int init(struct hb_plugin_ctx *ctx, void **state)
{
	struct state *st = calloc(1, sizeof(*st));

	(void)ctx;
	if (!st)
		return -1;
	*state = st;
	return 0;
}

static void put_config(struct hb_plugin_ctx *ctx, struct hb_plugin_result *r)
{
	const char *item;

	hb_put_string(r, "greeting",
		      ctx->api->config_string(ctx, "greeting", "hello"));
	hb_put_int(r, "count", ctx->api->config_int(ctx, "count", 1));
	hb_put_double(r, "ratio", ctx->api->config_double(ctx, "ratio", 0.5));
	hb_put_bool(r, "flag", ctx->api->config_bool(ctx, "flag", 0));
	hb_begin_array(r, "items");
	for (size_t i = 0; (item = ctx->api->config_list_item(ctx, "items", i));
	     i++)
		hb_put_string(r, NULL, item);
	hb_end(r);
}

static int collect(struct hb_plugin_ctx *ctx, void *state,
		   struct hb_plugin_result *r)
{
	struct state *st = state;

	st->collects++;
	put_config(ctx, r);
	hb_put_string(r, "s", "text");
	hb_put_int(r, "neg", -5);
	hb_put_uint(r, "big", UINT64_MAX);
	hb_put_double(r, "pi", 3.25);
	hb_put_bool(r, "yes", 1);
	hb_put_bool(r, "no", 0);
	hb_put_null(r, "nothing");
	hb_begin_map(r, "nested");
	hb_put_int(r, "a", 1);
	hb_begin_array(r, "list");
	hb_put_int(r, NULL, 1);
	hb_put_string(r, NULL, "two");
	hb_put_double(r, NULL, 3.5);
	hb_begin_map(r, NULL);
	hb_put_string(r, "k", "v");
	hb_end(r);
	hb_begin_array(r, NULL);
	hb_end(r);
	hb_end(r);
	hb_end(r);
	hb_put_string(r, "host_id", ctx->api->host_id(ctx));
	hb_put_string(r, "hostname", ctx->api->hostname(ctx));
	hb_put_int(r, "collects", st->collects);
	hb_plugin_log(ctx, HB_PLUGIN_LOG_INFO, "collected %d times",
		      st->collects);
	return 0;
}

static void cleanup(struct hb_plugin_ctx *ctx, void *state)
{
	const char *marker = ctx->api->config_string(ctx, "marker", NULL);
	FILE *f;

	free(state);
	if (marker && (f = fopen(marker, "w"))) {
		fputs("cleaned", f);
		fclose(f);
	}
}

static const struct hb_plugin desc = {
	.abi_major = HB_PLUGIN_ABI_MAJOR,
	.size = sizeof(struct hb_plugin),
	.name = "fx_good",
	.version = "1.0",
	.kind = HB_PLUGIN_INFO,
	.init = init,
	.collect = collect,
	.cleanup = cleanup,
};

HB_PLUGIN_DEFINE(desc)
