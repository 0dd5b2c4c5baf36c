/*
 * hb_log_conf: the `log:` section every hb daemon's configuration has —
 * a general level and per-module levels — as a table for hb_conf, and
 * applying it to hb_log.
 */
#ifndef HB_LOG_CONF_H
#define HB_LOG_CONF_H

#include "hb_conf.h"
#include "hb_log.h"

struct hb_log_conf {
	int level;                 /* enum hb_log_level */
	int modules[HB_MOD_COUNT]; /* -1: the general level */
};

/* The keys of the section: level, modules. */
extern const struct hb_conf_key hb_log_conf_keys[];

/* Sets hb_log's levels from c. */
void hb_log_conf_apply(const struct hb_log_conf *c);

#endif
