/*
 * fx_small_size: a descriptor whose size stops before cleanup, as one
 * built against an older header would: cleanup and functions are set
 * here but lie past size, so hbc must treat them as absent (cleanup
 * would write "cleaned" to the file named by the "marker" key, and
 * functions points at garbage).
 */
#include <stddef.h>
#include <stdio.h>

#include "hb/plugin.h"

static int collect(struct hb_plugin_ctx *ctx, void *state,
		   struct hb_plugin_result *r)
{
	(void)ctx;
	(void)state;
	hb_put_string(r, "old", "yes");
	return 0;
}

static void cleanup(struct hb_plugin_ctx *ctx, void *state)
{
	const char *marker = ctx->api->config_string(ctx, "marker", NULL);
	FILE *f;

	(void)state;
	if (marker && (f = fopen(marker, "w"))) {
		fputs("cleaned", f);
		fclose(f);
	}
}

static const struct hb_plugin desc = {
	.abi_major = HB_PLUGIN_ABI_MAJOR,
	.size = offsetof(struct hb_plugin, cleanup),
	.name = "fx_small_size",
	.version = "0.1",
	.kind = HB_PLUGIN_MONITOR,
	.default_interval = 30,
	.collect = collect,
	.cleanup = cleanup,
	.functions = (const struct hb_plugin_function *)&desc,
};

HB_PLUGIN_DEFINE(desc)
