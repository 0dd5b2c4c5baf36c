/*
 * fx_crash: collect() dies of SIGSEGV after putting a value — for the
 * tests of isolated plugins (never collect it in the test process).
 */
#include <signal.h>

#include "hb/plugin.h"

static int collect(struct hb_plugin_ctx *ctx, void *state,
		   struct hb_plugin_result *r)
{
	(void)ctx;
	(void)state;
	hb_put_int(r, "before", 1);
	raise(SIGSEGV);
	return 0;
}

static const struct hb_plugin desc = {
	.abi_major = HB_PLUGIN_ABI_MAJOR,
	.size = sizeof(struct hb_plugin),
	.name = "fx_crash",
	.kind = HB_PLUGIN_MONITOR,
	.default_interval = 1,
	.collect = collect,
};

HB_PLUGIN_DEFINE(desc)
