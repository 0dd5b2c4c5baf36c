/* fx_wrong_abi: a descriptor of ABI major 2, which hbc must refuse. */
#include "hb/plugin.h"

static int collect(struct hb_plugin_ctx *ctx, void *state,
		   struct hb_plugin_result *r)
{
	(void)ctx;
	(void)state;
	(void)r;
	return 0;
}

static const struct hb_plugin desc = {
	.abi_major = 2,
	.size = sizeof(struct hb_plugin),
	.name = "fx_wrong_abi",
	.kind = HB_PLUGIN_INFO,
	.collect = collect,
};

HB_PLUGIN_DEFINE(desc)
