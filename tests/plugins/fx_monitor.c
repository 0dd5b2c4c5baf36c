/* fx_monitor: a MonitorPlugin (interval 5 s) reporting a WARNING. */
#include "hb/plugin.h"

static int collect(struct hb_plugin_ctx *ctx, void *state,
		   struct hb_plugin_result *r)
{
	(void)ctx;
	(void)state;
	hb_put_double(r, "load", 3.5);
	hb_plugin_status(r, HB_PLUGIN_WARNING, "load is %.2f", 3.5);
	return 0;
}

static const struct hb_plugin desc = {
	.abi_major = HB_PLUGIN_ABI_MAJOR,
	.size = sizeof(struct hb_plugin),
	.name = "fx_monitor",
	.version = "1.0",
	.kind = HB_PLUGIN_MONITOR,
	.default_interval = 5,
	.collect = collect,
};

HB_PLUGIN_DEFINE(desc)
