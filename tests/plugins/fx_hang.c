/*
 * fx_hang: collect() sleeps for its "seconds" key (default 60) before
 * returning — for the timeout tests. The sleep resumes after signals.
 */
#include <time.h>

#include "hb/plugin.h"

static int collect(struct hb_plugin_ctx *ctx, void *state,
		   struct hb_plugin_result *r)
{
	int64_t s = ctx->api->config_int(ctx, "seconds", 60);
	struct timespec ts = {.tv_sec = s > 0 ? (time_t)s : 0};

	(void)state;
	while (nanosleep(&ts, &ts) != 0)
		;
	hb_put_int(r, "slept", s);
	return 0;
}

static const struct hb_plugin desc = {
	.abi_major = HB_PLUGIN_ABI_MAJOR,
	.size = sizeof(struct hb_plugin),
	.name = "fx_hang",
	.kind = HB_PLUGIN_MONITOR,
	.default_interval = 1,
	.collect = collect,
};

HB_PLUGIN_DEFINE(desc)
