/*
 * hbd: the collector daemon's command line. hbd.c runs the rest: parse
 * the configuration, load keys, bind the sockets, detach (before any
 * thread exists), open the database and load the hosts back, write the
 * pid file, drop privileges; then the event loop until SIGTERM.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ev.h>
#include <sodium.h>

#include "hb_error.h"
#include "hb_log.h"
#include "hb_time.h"
#include "hbd.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: hbd [-f] [-n] [-c FILE]\n"
		   "  -c FILE  configuration (default %s)\n"
		   "  -f       stay in the foreground, log to stderr\n"
		   "  -n       check the configuration and exit\n"
		   "  --help-config  describe every configuration key\n"
		   "  -V       print the version\n",
		   HBD_DEFAULT_CONFIG);
}

/* Prints a configuration's errors; returns the exit status for them. */
static int report_conf(const struct hb_conf_errors *errs, const char *problem)
{
	hb_conf_errors_print(errs, stderr);
	if (problem)
		fprintf(stderr, "%s\n", problem);
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"help", no_argument, NULL, 'h'},
		{"help-config", no_argument, NULL, 'H'},
		{"version", no_argument, NULL, 'V'},
		{0},
	};
	const char *path = HBD_DEFAULT_CONFIG;
	struct hb_conf_errors errs = {0};
	bool foreground = false, check = false;
	const char *problem;
	struct hbd *d;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "c:fnhV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': path = optarg; break;
		case 'f': foreground = true; break;
		case 'n': check = true; break;
		case 'h': usage(stdout); return 0;
		case 'H': hb_conf_describe(hbd_conf_table, stdout); return 0;
		case 'V': printf("hbd %s\n", HB_PACKAGE_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "hbd: libsodium failed to initialise\n");
		return 1;
	}
	if (!(d = calloc(1, sizeof(*d))))
		return 1;
	/* A daemon moves to /: reloads must still find the file. */
	d->conf_path = realpath(path, NULL);
	if (!d->conf_path) {
		fprintf(stderr, "hbd: %s: %s\n", path, strerror(errno));
		free(d);
		return 2;
	}
	d->foreground = foreground;
	if (hbd_conf_load(path, &d->conf, &errs, &problem) < 0) {
		rc = report_conf(&errs, problem);
		hb_conf_errors_free(&errs);
		free((char *)d->conf_path);
		free(d);
		return rc;
	}
	if (check) {
		rc = hbd_check_keys(d);
		printf("%s: %s\n", path, rc == 0 ? "ok" : "key files have errors");
		hbd_conf_free(&d->conf);
		free((char *)d->conf_path);
		free(d);
		return rc == 0 ? 0 : 2;
	}
	hb_log_open("hbd", !foreground);
	rc = hbd_start(d);
	if (rc == 0)
		rc = hbd_run(d);
	hbd_stop(d);
	hb_log_close();
	free((char *)d->conf_path);
	free(d);
	return rc;
}
