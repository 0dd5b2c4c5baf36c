/*
 * hbc: the client daemon's command line. hbc.c runs the daemon: read the
 * configuration, the host id and epoch, the key; detach (before any
 * thread exists); then the event loop until SIGTERM. Two other modes:
 * --test-plugin runs one plugin once, in-process, and prints its data
 * as JSON (the plugin author's first tool); the hidden --plugin-child
 * is the process of an isolated plugin (runner.h).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "hb_error.h"
#include "hb_json.h"
#include "hb_log.h"
#include "hbc.h"
#include "plugin_host.h"

#define EXIT_USAGE 2

static void usage(FILE *f)
{
	fprintf(f, "usage: hbc [-f] [-n] [-c FILE]\n"
		   "       hbc --test-plugin PATH [-c FILE]\n"
		   "  -c FILE  configuration (default %s)\n"
		   "  -f       stay in the foreground, log to stderr\n"
		   "  -n       check the configuration (and key file) and exit\n"
		   "  --test-plugin PATH  load the plugin PATH (with its section\n"
		   "           of FILE if -c is given), collect once, print the\n"
		   "           result as JSON; exit 0 unless status UNKNOWN\n"
		   "  --help-config  describe every configuration key\n"
		   "  -V       print the version\n",
		   HBC_DEFAULT_CONFIG);
}

static int load_conf(const char *path, struct hbc_conf *c)
{
	struct hb_conf_errors errs = {0};
	const char *problem;
	int rc = hbc_conf_load(path, c, &errs, &problem);

	hb_conf_errors_print(&errs, stderr);
	if (rc < 0 && problem)
		fprintf(stderr, "%s: %s\n", path, problem);
	hb_conf_errors_free(&errs);
	return rc;
}

/* The host id hbc uses, if the state directory has one; else zeros. */
static void test_host_id(const struct hbc_conf *c, char uuid[37])
{
	char path[4200], text[64] = "";
	uint8_t id[16] = {0};
	FILE *f;

	snprintf(path, sizeof(path), "%s/host-id",
		 c && c->state_dir ? c->state_dir : HBC_DEFAULT_STATE_DIR);
	if ((f = fopen(path, "re"))) {
		if (fgets(text, sizeof(text), f))
			text[strcspn(text, "\r\n")] = '\0';
		fclose(f);
	}
	if (hb_uuid_parse(text, strlen(text), id) < 0)
		memset(id, 0, sizeof(id));
	hb_uuid_format(id, uuid);
}

static const char *status_name(int status)
{
	static const char *const names[] = {"OK", "WARNING", "CRITICAL",
					    "UNKNOWN"};

	return status >= 0 && status <= 3 ? names[status] : "?";
}

static int print_sample(const char *name, int kind,
			const struct plugin_sample *s)
{
	struct hb_buf b;
	char head[128];
	int rc;

	hb_buf_init(&b);
	hb_buf_append(&b, "{\"plugin\":", 10);
	hb_json_append_str(&b, name, strlen(name));
	snprintf(head, sizeof(head), ",\"kind\":\"%s\",\"status\":\"%s\","
		 "\"message\":", kind == HB_PLUGIN_INFO ? "info" : "monitor",
		 status_name(s->status));
	hb_buf_append(&b, head, strlen(head));
	hb_json_append_str(&b, s->message, strlen(s->message));
	snprintf(head, sizeof(head), ",\"time\":%" PRIu64 ",\"data\":",
		 s->time_ms);
	hb_buf_append(&b, head, strlen(head));
	rc = s->data ? hb_json_from_msgpack(s->data, s->len, &b)
		     : hb_buf_append(&b, "null", 4);
	hb_buf_append(&b, "}", 1);
	if (rc == 0)
		printf("%s\n", b.data);
	else
		fprintf(stderr, "hbc: data not printable: %s\n",
			hb_strerror(rc));
	hb_buf_free(&b);
	return rc;
}

/* --test-plugin PATH [-c FILE]: init, one collect, cleanup. */
static int test_plugin(const char *path, const char *conf_path)
{
	const struct hbc_plugin_conf *pc = NULL;
	struct hbc_conf c = {0};
	struct plugin_host_info info;
	struct plugin_sample s = {0};
	struct plugin_host *p;
	char stem[256], uuid[37], host[256] = "localhost", err[512] = "";
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	int rc;

	snprintf(stem, sizeof(stem), "%s", base);
	if (strlen(stem) > 3 && !strcmp(stem + strlen(stem) - 3, ".so"))
		stem[strlen(stem) - 3] = '\0';
	if (conf_path && load_conf(conf_path, &c) < 0)
		return EXIT_USAGE;
	if (conf_path)
		pc = hbc_conf_plugin(&c, stem);
	hb_log_open("hbc", false);
	hb_log_set_level(conf_path ? (enum hb_log_level)c.log.level
				   : HB_LOG_INFO);
	test_host_id(conf_path ? &c : NULL, uuid);
	if (c.hostname)
		snprintf(host, sizeof(host), "%s", c.hostname);
	else
		gethostname(host, sizeof(host) - 1);
	info = (struct plugin_host_info){uuid, host};
	if ((rc = plugin_host_load(path, pc ? pc->section : NULL, &info, &p,
				   err, sizeof(err))) < 0) {
		fprintf(stderr, "hbc: %s: %s\n", path,
			err[0] ? err : hb_strerror(rc));
		hbc_conf_free(&c);
		return 1;
	}
	plugin_host_collect(p, &s);
	rc = print_sample(plugin_host_name(p), plugin_host_kind(p), &s);
	if (rc == 0 && s.status == HB_PLUGIN_UNKNOWN)
		rc = 1;
	plugin_sample_free(&s);
	plugin_host_unload(p);
	hbc_conf_free(&c);
	hb_log_close();
	return rc == 0 ? 0 : 1;
}

/* -n: the configuration and the key file it names. */
static int check(const char *path, struct hbc_conf *c)
{
	static const uint8_t any[16];
	struct hb_key key;
	char err[512];
	int rc = hbc_conf_load_key(c, any, &key, err, sizeof(err));

	hb_key_wipe(&key);
	if (rc < 0 && rc != HB_EHOST)
		fprintf(stderr, "%s\n", err);
	printf("%s: %s\n", path, rc < 0 && rc != HB_EHOST ? "key file has "
							    "errors" : "ok");
	hbc_conf_free(c);
	return rc < 0 && rc != HB_EHOST ? EXIT_USAGE : 0;
}

static int daemon_main(const char *path, bool foreground)
{
	struct hbc *h = calloc(1, sizeof(*h));
	int rc;

	if (!h)
		return 1;
	/* A daemon moves to /: reloads must still find the file. */
	if (!(h->conf_path = realpath(path, NULL))) {
		fprintf(stderr, "hbc: %s: %s\n", path, strerror(errno));
		free(h);
		return EXIT_USAGE;
	}
	h->foreground = foreground;
	if (load_conf(path, &h->conf) < 0) {
		free((char *)h->conf_path);
		free(h);
		return EXIT_USAGE;
	}
	hb_log_open("hbc", !foreground);
	rc = hbc_start(h);
	if (rc == 0)
		rc = hbc_run(h);
	hbc_stop(h);
	hb_log_close();
	free((char *)h->conf_path);
	free(h);
	return rc;
}

static void describe(void)
{
	hb_conf_describe(hbc_conf_table, stdout);
	printf("\nplugins.<name>: the keys of every plugin section, "
	       "besides the plugin's own:\n");
	hb_conf_describe(hbc_plugin_table, stdout);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"help", no_argument, NULL, 'h'},
		{"help-config", no_argument, NULL, 'H'},
		{"version", no_argument, NULL, 'V'},
		{"test-plugin", required_argument, NULL, 'T'},
		{0},
	};
	const char *path = NULL, *plugin = NULL;
	bool foreground = false, check_only = false;
	struct hbc_conf c = {0};
	int opt;

	if (argc >= 3 && strcmp(argv[1], "--plugin-child") == 0)
		return runner_child_main(atoi(argv[2]), argc, argv);
	while ((opt = getopt_long(argc, argv, "c:fnhV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': path = optarg; break;
		case 'f': foreground = true; break;
		case 'n': check_only = true; break;
		case 'T': plugin = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'H': describe(); return 0;
		case 'V': printf("hbc %s\n", HB_PACKAGE_VERSION); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc || (plugin && (foreground || check_only))) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "hbc: libsodium failed to initialise\n");
		return 1;
	}
	if (plugin)
		return test_plugin(plugin, path);
	if (!path)
		path = HBC_DEFAULT_CONFIG;
	if (check_only)
		return load_conf(path, &c) < 0 ? EXIT_USAGE : check(path, &c);
	return daemon_main(path, foreground);
}
