/*
 * _fx_skipped: a valid plugin in a file whose name starts with "_",
 * which a loader scanning a directory must skip.
 */
#include "hb/plugin.h"

static int collect(struct hb_plugin_ctx *ctx, void *state,
		   struct hb_plugin_result *r)
{
	(void)ctx;
	(void)state;
	hb_put_bool(r, "skipped", 0);
	return 0;
}

static const struct hb_plugin desc = {
	.abi_major = HB_PLUGIN_ABI_MAJOR,
	.size = sizeof(struct hb_plugin),
	.name = "fx_skipped",
	.kind = HB_PLUGIN_INFO,
	.collect = collect,
};

HB_PLUGIN_DEFINE(desc)
