/*
 * fx_bad_builder: puts a keyed value inside an array, a builder error
 * that must make the collection UNKNOWN whatever follows.
 */
#include "hb/plugin.h"

static int collect(struct hb_plugin_ctx *ctx, void *state,
		   struct hb_plugin_result *r)
{
	(void)ctx;
	(void)state;
	hb_put_int(r, "fine", 1);
	hb_begin_array(r, "arr");
	hb_put_int(r, "oops", 2);
	hb_end(r);
	hb_put_int(r, "after", 3);
	hb_plugin_status(r, HB_PLUGIN_OK, "all good");
	return 0;
}

static const struct hb_plugin desc = {
	.abi_major = HB_PLUGIN_ABI_MAJOR,
	.size = sizeof(struct hb_plugin),
	.name = "fx_bad_builder",
	.kind = HB_PLUGIN_INFO,
	.collect = collect,
};

HB_PLUGIN_DEFINE(desc)
