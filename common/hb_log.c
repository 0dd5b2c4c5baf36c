/* hb_log: level filtering and the two sinks, stderr and syslog. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "hb_error.h"
#include "hb_log.h"

unsigned char hb__log_levels[HB_MOD_COUNT] = {
	HB_LOG_INFO, HB_LOG_INFO, HB_LOG_INFO, HB_LOG_INFO, HB_LOG_INFO,
	HB_LOG_INFO, HB_LOG_INFO, HB_LOG_INFO, HB_LOG_INFO,
};

const char *const hb_log_module_names[HB_MOD_COUNT] = {
	"core", "conf", "net", "ingest", "state",
	"store", "hooks", "plugin", "client",
};

static const char *ident = "hb";
static bool to_syslog;

void hb_log_open(const char *name, bool use_syslog)
{
	ident = name;
	to_syslog = use_syslog;
	if (use_syslog)
		openlog(name, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void hb_log_close(void)
{
	if (to_syslog)
		closelog();
	to_syslog = false;
}

void hb_log_set_level(enum hb_log_level level)
{
	memset(hb__log_levels, level, sizeof(hb__log_levels));
}

int hb_log_set_module_level(const char *module, enum hb_log_level level)
{
	for (int i = 0; i < HB_MOD_COUNT; i++) {
		if (strcmp(module, hb_log_module_names[i]) == 0) {
			hb__log_levels[i] = (unsigned char)level;
			return 0;
		}
	}
	return HB_EINVAL;
}

int hb_log_level_parse(const char *s, enum hb_log_level *level)
{
	static const struct {
		const char *name;
		enum hb_log_level level;
	} names[] = {
		{"err", HB_LOG_ERR},   {"error", HB_LOG_ERR},
		{"warn", HB_LOG_WARN}, {"warning", HB_LOG_WARN},
		{"info", HB_LOG_INFO}, {"debug", HB_LOG_DEBUG},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i].name) == 0) {
			*level = names[i].level;
			return 0;
		}
	}
	return HB_EINVAL;
}

void hb__log(enum hb_log_module mod, enum hb_log_level level, const char *fmt,
	     ...)
{
	static const char *const tags[] = {"error", "warn", "info", "debug"};
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (to_syslog) {
		syslog(prio[level], "%s: %s", hb_log_module_names[mod], msg);
	} else {
		struct timespec ts;
		struct tm tm;
		char when[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		/* One write per line keeps lines whole between processes. */
		fprintf(stderr, "%s.%03ldZ %s[%d]: %s %s: %s\n", when,
			ts.tv_nsec / 1000000, ident, (int)getpid(), tags[level],
			hb_log_module_names[mod], msg);
	}
}
