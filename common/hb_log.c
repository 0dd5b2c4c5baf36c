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

bool hb_log_burst_pass(struct hb_log_burst *b, enum hb_log_level level,
		       uint64_t now_ms)
{
	if (level > hb__log_levels[b->mod])
		return false;
	if (!b->second_ms || now_ms - b->second_ms >= 1000) {
		hb_log_burst_flush(b, now_ms, false);
		b->second_ms = now_ms;
		b->passed = 0;
	}
	if (b->passed < b->per_s) {
		b->passed++;
		return true;
	}
	if (!b->held++) {
		b->held_since = now_ms;
		b->held_level = level;
	} else if (level < b->held_level) {
		b->held_level = level;
	}
	return false;
}

void hb_log_burst_flush(struct hb_log_burst *b, uint64_t now_ms, bool now)
{
	if (!b->held || (!now && now_ms - b->second_ms < 1000))
		return;
	hb__log(b->mod, b->held_level,
		"%llu more %s not logged in %.1f s (over %u a second; all are "
		"in the database)",
		(unsigned long long)b->held, b->what,
		(double)(now_ms - b->held_since) / 1000.0, b->per_s);
	b->held = 0;
}
