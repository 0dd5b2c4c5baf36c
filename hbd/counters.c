/* counters: names of hbd's counters. */
#include <stdio.h>

#include "counters.h"

static const char *const names[CTR_DROP_FIRST] = {
	"rx_datagrams",   "rx_bytes",       "rx_htb",
	"rx_plg",         "rx_fragments",   "rx_bye",
	"kernel_drops",   "truncated",      "unexpected_type",
	"acks",           "ack_suppressed", "send_errors",
	"hosts_new",      "hosts_full",     "bad_name",
	"transitions",    "reboots",        "restarts",
	"clones",         "flaps",          "request_update",
	"interval_override", "store_dropped", "store_deferred",
};

const char *counter_name(int i)
{
	static char drop[HB_ERR_COUNT][40];

	if (i < 0 || i >= CTR_COUNT)
		return "?";
	if (i < CTR_DROP_FIRST)
		return names[i];
	if (!drop[i - CTR_DROP_FIRST][0])
		snprintf(drop[i - CTR_DROP_FIRST], sizeof(drop[0]), "drop_%s",
			 hb_errname(-(i - CTR_DROP_FIRST)));
	return drop[i - CTR_DROP_FIRST];
}

uint64_t counters_drops(const struct counters *c)
{
	uint64_t sum = 0;

	for (int i = CTR_DROP_FIRST + 1; i < CTR_COUNT; i++)
		sum += c->v[i];
	return sum;
}
