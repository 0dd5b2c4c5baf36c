/* hb_log_conf: the shared `log:` configuration section. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "hb_error.h"
#include "hb_log_conf.h"

#define L(f) offsetof(struct hb_log_conf, f)

static const char *const levels[] = {"error", "warning", "info", "debug",
				     NULL};

static void expected_modules(char *buf, size_t cap)
{
	size_t len = 0;

	buf[0] = '\0';
	for (int m = 0; m < HB_MOD_COUNT && len < cap; m++)
		len += (size_t)snprintf(buf + len, cap - len, "%s%s",
					m ? ", " : "", hb_log_module_names[m]);
}

/* "modules: {store: debug}": per-module levels; "none": no overrides. */
static int parse_modules(const struct hb_conf_node *n, void *field,
			 struct hb_conf_errors *e)
{
	int *lv = field;
	int rc = 0;

	for (int m = 0; m < HB_MOD_COUNT; m++)
		lv[m] = -1;
	if (hb_conf_node_kind(n) == HB_CONF_NULL ||
	    (hb_conf_node_kind(n) == HB_CONF_SCALAR &&
	     strcmp(hb_conf_node_text(n), "none") == 0))
		return 0;
	if (hb_conf_node_kind(n) != HB_CONF_MAPPING) {
		hb_conf_errorf(e, n, "expected a mapping of module: level");
		return HB_ESYNTAX;
	}
	for (size_t i = 0; i < hb_conf_node_count(n); i++) {
		const char *mod = hb_conf_node_text(hb_conf_node_key(n, i));
		const char *lvl = hb_conf_node_text(hb_conf_node_at(n, i));
		enum hb_log_level l;
		char names[256];
		int m = 0;

		while (m < HB_MOD_COUNT && strcmp(mod, hb_log_module_names[m]))
			m++;
		if (m == HB_MOD_COUNT) {
			expected_modules(names, sizeof(names));
			hb_conf_errorf(e, hb_conf_node_key(n, i),
				       "unknown module (expected one of: %s)",
				       names);
			rc = HB_ESYNTAX;
		} else if (!lvl || hb_log_level_parse(lvl, &l) < 0) {
			hb_conf_errorf(e, hb_conf_node_at(n, i),
				       "expected a level: error, warning, "
				       "info or debug");
			rc = HB_ESYNTAX;
		} else {
			lv[m] = (int)l;
		}
	}
	return rc;
}

const struct hb_conf_key hb_log_conf_keys[] = {
	{.name = "level", .type = HB_CONF_ENUM, .offset = L(level),
	 .def = "info", .enums = levels, .help = "Level of every module."},
	{.name = "modules", .type = HB_CONF_CUSTOM, .offset = L(modules),
	 .sub_size = sizeof(int) * HB_MOD_COUNT, .parse = parse_modules,
	 .def = "none", .help = "Per-module levels: {store: debug}."},
	HB_CONF_END,
};

void hb_log_conf_apply(const struct hb_log_conf *c)
{
	hb_log_set_level((enum hb_log_level)c->level);
	for (int m = 0; m < HB_MOD_COUNT; m++)
		if (c->modules[m] >= 0)
			hb__log_levels[m] = (unsigned char)c->modules[m];
}
