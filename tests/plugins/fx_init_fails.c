/* fx_init_fails: init() refuses with -5; cleanup() must never run. */
#include <stdlib.h>

#include "hb/plugin.h"

static int init(struct hb_plugin_ctx *ctx, void **state)
{
	(void)ctx;
	(void)state;
	return -5;
}

static int collect(struct hb_plugin_ctx *ctx, void *state,
		   struct hb_plugin_result *r)
{
	(void)ctx;
	(void)state;
	(void)r;
	return 0;
}

static void cleanup(struct hb_plugin_ctx *ctx, void *state)
{
	(void)ctx;
	(void)state;
	abort();
}

static const struct hb_plugin desc = {
	.abi_major = HB_PLUGIN_ABI_MAJOR,
	.size = sizeof(struct hb_plugin),
	.name = "fx_init_fails",
	.kind = HB_PLUGIN_INFO,
	.init = init,
	.collect = collect,
	.cleanup = cleanup,
};

HB_PLUGIN_DEFINE(desc)
