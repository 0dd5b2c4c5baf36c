/*
 * fx_command: runs a command through run_command and puts what it
 * reports. The command is the "argv" list of its config (default
 * /bin/echo hello world), with "timeout_ms" and "out_max".
 */
#include "hb/plugin.h"

#define ARGS_MAX 16

static int collect(struct hb_plugin_ctx *ctx, void *state,
		   struct hb_plugin_result *r)
{
	const char *def[] = {"/bin/echo", "hello", "world", NULL};
	const char *argv[ARGS_MAX + 1];
	struct hb_command_result res;
	size_t n = 0;
	int rc;

	(void)state;
	while (n < ARGS_MAX &&
	       (argv[n] = ctx->api->config_list_item(ctx, "argv", n)))
		n++;
	argv[n] = NULL;
	rc = ctx->api->run_command(
		ctx, n ? argv : def,
		(uint32_t)ctx->api->config_int(ctx, "timeout_ms", 0),
		(size_t)ctx->api->config_int(ctx, "out_max", 0), &res);
	hb_put_int(r, "rc", rc);
	hb_put_int(r, "exit", res.exit_status);
	hb_put_bool(r, "timed_out", res.timed_out);
	hb_put_bool(r, "truncated", res.truncated);
	hb_put_string(r, "out", res.out);
	hb_put_string(r, "err", res.err);
	ctx->api->command_free(&res);
	return 0;
}

static const struct hb_plugin desc = {
	.abi_major = HB_PLUGIN_ABI_MAJOR,
	.size = sizeof(struct hb_plugin),
	.name = "fx_command",
	.kind = HB_PLUGIN_INFO,
	.collect = collect,
};

HB_PLUGIN_DEFINE(desc)
