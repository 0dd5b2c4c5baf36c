/*
 * hb-query: the operator's view of what hbd stored. Lists hosts with
 * their state and status, shows one host in detail (attributes, Info
 * data, latest Monitor values, recent events), a plugin's samples over
 * time, the events, and hbd's counters: aligned tables for people,
 * --json and --csv for scripts. It only reads the database (read-only,
 * one snapshot per run), so it is safe to run while hbd writes.
 *
 * This file: the command line and the options all commands share. The
 * commands are in hb_query_hosts.c, hb_query_host.c, hb_query_data.c
 * and hb_query_stats.c; the plumbing in hb_query_db.c and
 * hb_query_text.c.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hb_query.h"

static const char usage_text[] =
	"usage: hb-query [--db PATH] COMMAND [OPTIONS]\n"
	"Shows what hbd stored: hosts, their plugin data, events, counters.\n"
	"\n"
	"Commands:\n"
	"  hosts [GLOB...]   hosts: state, last seen, address, owner, status\n"
	"  host ID|NAME      one host: attributes, Info data, latest Monitor\n"
	"                    values, recent events\n"
	"  plugin NAME       a plugin's samples over time, or one field\n"
	"  events            state changes, reboots, restarts, clones\n"
	"  stats             hbd's counters\n"
	"  help [COMMAND]    this help, or the command's (as COMMAND --help)\n"
	"\n"
	"Options (also accepted after the command):\n"
	"      --db PATH     the database (default: $HB_DB if set, else\n"
	"                    " DEFAULT_DB ")\n"
	"  -h, --help        show this help\n"
	"  -V, --version     show the version\n"
	"\n"
	"hosts, plugin and events take --json or --csv for scripts (host and\n"
	"stats: --json). Times are UTC. Colour only when the output is a\n"
	"terminal and NO_COLOR is not set. The database is opened read-only:\n"
	"run hb-query as any user that can read it and its -wal and -shm\n"
	"files, while hbd runs.\n"
	"\n"
	"Examples:\n"
	"  hb-query hosts --state down,late\n"
	"  hb-query hosts 'web-*' --label env=prod\n"
	"  hb-query host web-1\n"
	"  hb-query plugin load --host web-1 --since 2h --field per_cpu.load1\n"
	"  hb-query events --since 1h --kind state\n"
	"  hb-query stats --json\n"
	"\n"
	"Exit status: 0 on success (a listing may be empty), 2 on an error:\n"
	"bad usage, unknown host, missing or unreadable database.\n";

static const struct {
	const char *name;
	int (*run)(struct query *q, int argc, char **argv);
} commands[] = {
	{"hosts", cmd_hosts},
	{"host", cmd_host},
	{"plugin", cmd_plugin},
	{"events", cmd_events},
	{"stats", cmd_stats},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

void common_option(struct query *q, const char *cmd, int c, char **argv,
		   const char *help)
{
	switch (c) {
	case OPT_DB:
		q->path = optarg;
		break;
	case OPT_JSON:
		set_format(q, cmd, FMT_JSON);
		break;
	case OPT_CSV:
		set_format(q, cmd, FMT_CSV);
		break;
	case 'h':
		fputs(help, stdout);
		exit(0);
	default:
		die_option(cmd, c, argv);
	}
}

static bool use_color(void)
{
	const char *no = getenv("NO_COLOR"), *term = getenv("TERM");

	return isatty(STDOUT_FILENO) && !(no && *no) &&
	       !(term && strcmp(term, "dumb") == 0);
}

static int run_command(struct query *q, int argc, char **argv)
{
	const char *name = argv[0];
	char *help_argv[] = {NULL, "--help", NULL};

	if (strcmp(name, "help") == 0) {
		if (argc == 1) {
			fputs(usage_text, stdout);
			return 0;
		}
		help_argv[0] = argv[1];
		return run_command(q, 2, help_argv);
	}
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (strcmp(name, commands[i].name) != 0)
			continue;
		optind = 0; /* GNU getopt: start again, on argv[1] */
		return commands[i].run(q, argc, argv);
	}
	die("unknown command '%s' (hosts, host, plugin, events, stats;"
	    " see hb-query --help)", name);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, OPT_DB},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *env = getenv("HB_DB");
	struct query q = {
		.path = env && *env ? env : DEFAULT_DB,
		.color = use_color(),
	};
	int c, rc;

	opterr = 0;
	/* "+": stop at the command, whose options are its own. */
	while ((c = getopt_long(argc, argv, "+:hV", opts, NULL)) != -1) {
		if (c == 'V') {
			puts("hb-query " HB_PACKAGE_VERSION);
			return 0;
		}
		common_option(&q, NULL, c, argv, usage_text);
	}
	if (optind >= argc)
		die("no command given (hosts, host, plugin, events, stats;"
		    " see hb-query --help)");
	rc = run_command(&q, argc - optind, argv + optind);
	db_close(&q);
	if (fflush(stdout) != 0 || ferror(stdout))
		die("cannot write the output");
	return rc;
}
