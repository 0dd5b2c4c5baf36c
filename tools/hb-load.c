/*
 * hb-load: the load generator. It simulates many hosts, each with its own
 * host id, epoch and sequence numbers, sends their heartbeats (and, on
 * request, plugin data, Info and BYE) to a collector at a paced rate,
 * matches the ACKs that come back and reports loss and ACK latency. For
 * the collector's end-to-end tests it also sends bounded amounts of bad
 * traffic (--inject) that a correct server never acknowledges.
 *
 * A simulated host costs one struct host (56 bytes) and a slot of the host
 * id table (4 to 8 bytes); every header and body is computed when it is
 * sent. Per host the ACK state of its last WINDOW sequence numbers is
 * kept as bitmaps, like the server's replay window, so matching an ACK is
 * a few shifts. Send times, for latency, sit in a fixed 12 MiB table.
 *
 * With -j the hosts are split into slices, one per sender thread (a
 * struct worker): each has its own socket, send batch, books and share of
 * the rate, and touches no other thread's hosts, so the threads share
 * nothing they write. Their books are added up once all have ended.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sendmmsg, recvmmsg, ppoll */
#endif
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <msgpack.h>
#include <sodium.h>

#include "hb_error.h"
#include "hb_frag.h"
#include "hb_frame.h"
#include "hb_hist.h"
#include "hb_key.h"
#include "hb_msg.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

#define HOSTS_MAX 10000000
#define HOSTS_DEFAULT 1000
#define THREADS_MAX 64
#define RATE_MAX 1e7
#define RUN_MAX_S 3600   /* hard cap on sending, whatever the options */
#define DRAIN_MAX_S 60
#define NS 1000000000ull
#define BATCH 64         /* datagrams per sendmmsg and per recvmmsg */
#define RECV_PASSES 16   /* recvmmsgs per pass: ACK floods can't stall sends */
#define WAKE_TURNS BATCH /* at high rates, turns per wake-up: a full batch */
#define LATE_MAX_NS 10000000ull /* at low rates, the most a turn is late */
#define NAP_MAX_NS 100000000ull /* longest sleep: how soon a signal is seen */
#define SLACK_NS 1000    /* wake this much after a turn's time, never before */
#define SLOT_LEN 9000    /* the oversized injection; all else <= HB_FRAME_MAX */
#define WINDOW 64        /* seqs per host whose ACK state is kept */
#define FRAG_LIMIT 48    /* a round's seqs stay within WINDOW */
#define SEQ_LIMIT (UINT32_MAX - 4096) /* a host stops here, not wrapping */
#define SOCKBUF (16 << 20)
#define SKEW_MS 3600000  /* stale and future injections: one hour off */
#define LAST_FRAG_MIN 128 /* see blob_setup() */
#define UUID_CHUNK 4096
#define PLG_BUF (HB_MESSAGE_MAX + 1024) /* an encoded PLG, not yet split */

enum { INJ_GARBAGE, INJ_FORGED, INJ_REPLAY, INJ_STALE, INJ_FUTURE,
       INJ_OVERSIZED, INJ_KINDS };
static const char *const inj_names[INJ_KINDS] = {
	"garbage", "forged", "replay", "stale", "future", "oversized"};

/* What a datagram in the send batch is, for the books once it is sent. */
enum what {
	W_HTB,    /* ACK expected; its latency is measured */
	W_PLG,    /* a PLG's first (or only) datagram: ACK expected */
	W_FRAG,   /* a later fragment: no ACK of its own */
	W_BYE,    /* not acknowledged (PROTOCOL.md: the client is leaving) */
	W_BAD,    /* injected, with a fresh seq: must never be ACKed */
	W_REPLAY, /* injected copy of an ACKed HTB: must not be ACKed again */
	W_JUNK,   /* injected random bytes: no seq at all */
};

enum phase { PH_MAIN, PH_REPLAY, PH_BYE };

struct opts {
	uint32_t n;           /* 0: not given */
	int mode;             /* -1: not given */
	const char *keyfile;
	const char *target;
	bool allow_remote;
	double rate;
	double duration;      /* 0: not given */
	bool has_rounds;
	uint32_t rounds;
	uint32_t interval;
	size_t plg;           /* 0: no Monitor PLG */
	size_t max_dgram;
	bool info, bye, json, verbose;
	double drain;
	const char *seed;
	uint32_t epoch;       /* 0: Unix time at start */
	uint32_t seq_start;   /* every host's first seq; 0: not given (1) */
	uint32_t src_port;    /* thread k sends from src_port + k; 0: any */
	uint32_t threads;
	unsigned inject;      /* bit per INJ_* */
};

/* One simulated host. The bitmaps' bit i is about seq - i. */
struct host {
	uint8_t id[16];
	uint32_t seq;     /* last seq used, seq_start - 1 before the first */
	uint32_t htb_seq; /* seq of the latest HTB sent, 0: none */
	uint32_t htb_ms;  /* its time_ms - unix0_ms, to replay it exactly */
	uint64_t want;    /* sent, ACK awaited */
	uint64_t got;     /* ACKed */
	uint64_t bad;     /* injected: an ACK is a server bug */
};

struct stats {
	uint64_t htb, plg, bye, injected, send_errors;
	uint64_t expected, acked, duplicates, unmatched, late, foreign;
	uint64_t bad_acks, bad_acked, request_update, interval_override;
};

struct slot {
	uint32_t host, seq, ms;
	uint8_t what;
};

/* Datagrams being put together for one sendmmsg. */
struct batch {
	int n;
	struct slot s[BATCH];
	struct mmsghdr m[BATCH];
	struct iovec iov[BATCH];
	uint8_t buf[BATCH][SLOT_LEN];
};

/* Room for one recvmmsg of ACKs, with their kernel receive times. */
struct inbox {
	uint8_t buf[BATCH][HB_FRAME_MAX + 1];
	uint8_t ctl[BATCH][CMSG_SPACE(sizeof(struct timespec))];
	struct sockaddr_storage from[BATCH];
	struct iovec iov[BATCH];
	struct mmsghdr m[BATCH];
};

/* When an HTB was sent, for its ACK's latency; see sent_slot(). */
struct sent {
	uint32_t host, seq, us;
};

/*
 * A sender thread and all it writes: hosts first .. first + count - 1,
 * its socket, its rate (its share of -r, by hosts) and its books. The
 * message templates are copies, as sending sets fields in them.
 */
struct worker {
	uint32_t first, count;
	double rate;
	uint32_t turn_seqs;         /* the most seqs a host's turn took */
	int sock;
	pthread_t thread;
	struct stats st;
	struct hb_hist lat;         /* HTB ACK latency, µs */
	struct sent *sent_tab;
	uint32_t sent_mask;
	struct batch *out;
	struct inbox *in;
	uint8_t *plg_body;          /* an encoded PLG, before fragmenting */
	struct hb_htb htb;          /* template; hostname set per host */
	struct hb_plg info_plg, mon_plg;
	uint64_t main_end, send_end;
	bool interrupted;           /* a signal came during its sending */
	/* For -v: a copy of the books the main thread may read. */
	pthread_mutex_t lock;
	struct stats pub_st;
	struct hb_hist pub_lat;
};

static struct opts opt = {.mode = -1, .target = "127.0.0.1:7781",
			  .rate = 1000, .interval = 10, .threads = 1,
			  .max_dgram = HB_FRAME_DEFAULT, .drain = 1};
static struct host *hosts;
static uint32_t nhosts;
static uint32_t *table; /* host ids, open addressing; see table_slot() */
static size_t table_mask;
static struct hb_keyring *keyring;
static const struct hb_key *shared_key;
static bool per_host;   /* key i is host i's, and names it */
static uint32_t epoch, seq_first;
static uint64_t t0_ns, unix0_ns, unix0_ms, hard_end_ns;
static struct sockaddr_storage dest;
static socklen_t dest_len;
static uint8_t forge_master[HB_KEY_LEN];
static atomic_int signals; /* SIGINT and SIGTERM so far */
static struct hb_htb htb;            /* templates, copied by each worker */
static struct hb_plg info_plg, mon_plg;
static msgpack_sbuffer os_data, blob_data;
static struct worker *workers;
static uint32_t nworkers;
static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cond;
static uint32_t workers_done;

static const char usage_text[] =
	"usage: hb-load [options]\n"
	"Simulates many hb hosts sending heartbeats to a collector and reports ACK\n"
	"loss and latency. Every run is bounded in time.\n"
	"\n"
	"  -s, --server HOST:PORT  collector (default 127.0.0.1:7781; or [::1]:7781)\n"
	"      --allow-remote      allow a target that is not a loopback address\n"
	"  -n, --hosts N           simulated hosts, 1..10000000 (default 1000; with\n"
	"                          per-host keys: one per key)\n"
	"  -m, --mode MODE         none, sign or encrypt (default: sign with -k)\n"
	"  -k, --key KEYFILE       keys; if bound to hosts, host i is key i's host,\n"
	"                          else all hosts share the first key\n"
	"  -r, --rate RATE         host turns per second in all, one HTB each\n"
	"                          (default 1000)\n"
	"  -d, --duration SECONDS  send for this long (default 10, at most 3600)\n"
	"  -c, --count ROUNDS      send exactly ROUNDS HTBs per host (within -d if\n"
	"                          given), then stop; 0: no HTBs, only --info,\n"
	"                          --inject and --bye traffic\n"
	"  -i, --interval SECONDS  interval declared in each HTB (default 10)\n"
	"  -j, --threads THREADS   sender threads, 1..64, each with its own socket\n"
	"                          and a slice of the hosts (default 1)\n"
	"      --plg BYTES         also a Monitor PLG per host and round with about\n"
	"                          BYTES of data (at most 48 fragments)\n"
	"      --max-dgram BYTES   largest datagram when fragmenting (default 1400)\n"
	"      --info              each host first sends an Info PLG \"os\"\n"
	"      --bye               each host sends a BYE at the end\n"
	"      --drain SECONDS     then wait this long for late ACKs (default 1)\n"
	"      --inject KIND,...   also send, per host and round, traffic a correct\n"
	"                          server never ACKs: garbage, forged, replay,\n"
	"                          stale, future, oversized, or all\n"
	"      --seed S            derive host ids from S instead of at random\n"
	"      --epoch E           every host's epoch (default: Unix time; runs that\n"
	"                          reuse host ids need increasing epochs, or\n"
	"                          --seq-start to continue one)\n"
	"      --seq-start S       every host's first seq (default 1); with the\n"
	"                          --epoch and --seed of an earlier run and S its\n"
	"                          reported next seq, the hosts carry on where that\n"
	"                          run left them, without restarting\n"
	"      --source-port PORT  send from local port PORT (thread k: PORT + k):\n"
	"                          a continued run then also keeps the hosts'\n"
	"                          address, which hbd stores anew when it changes\n"
	"      --json              print the report as one JSON object\n"
	"  -v, --verbose           print progress every second, on stderr\n"
	"  -h, --help              show this help\n"
	"\n"
	"Exit status: 0 when the run completed (loss or not), 1 on a runtime error\n"
	"or an interrupted run, 2 on a usage error.\n";

static void usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

/* Errors are one line on stderr. */
__attribute__((format(printf, 1, 0)))
static void vmsg(const char *fmt, va_list ap)
{
	fputs("hb-load: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

static void usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	exit(EXIT_USAGE);
}

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	exit(EXIT_RUNTIME);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

/* The wall clock is read once; header times follow the monotonic clock. */
static uint64_t wall_ms(uint64_t ns)
{
	return unix0_ms + (ns - t0_ns) / 1000000;
}

static uint64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static struct timespec ts_of(uint64_t ns)
{
	return (struct timespec){.tv_sec = (time_t)(ns / NS),
				 .tv_nsec = (long)(ns % NS)};
}

/*
 * Send and receive times for latencies, in µs after the run's start on
 * the wall clock: the kernel's receive timestamps (SO_TIMESTAMPNS) are
 * on that clock, and they let ACKs wait in the socket buffer while
 * hb-load sends or sleeps without their latency growing.
 */
static uint32_t stamp_us(uint64_t real)
{
	return (uint32_t)((real - unix0_ns) / 1000);
}

/* Starts the run's clocks: t0 and the Unix time that goes with it. */
static void clock_start(void)
{
	unix0_ns = real_ns();
	t0_ns = mono_ns();
	unix0_ms = unix0_ns / 1000000;
	hard_end_ns = t0_ns + (uint64_t)RUN_MAX_S * NS;
}

/* Seconds from t0 to ns; never 0, as rates divide by it. */
static double secs(uint64_t ns)
{
	return ns > t0_ns ? (double)(ns - t0_ns) / NS : 1e-9;
}

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* Whether the sending must end: a signal came since `seen` of them. */
static bool stopping(int seen)
{
	return atomic_load_explicit(&signals, memory_order_relaxed) > seen;
}

/* ---- ACK latency ---- */

/*
 * When recent HTBs were sent, for their ACKs' latency: a direct-mapped
 * table per worker, of the last million or so HTBs in all, whatever the
 * number of hosts, so an ACK slower than its host's next HTB still counts
 * (it is the slow ones that make a p99 under overload).
 */
#define SENT_BITS 20
#define SENT_BITS_MIN 14

static struct sent *sent_slot(struct worker *w, uint32_t host, uint32_t seq)
{
	uint32_t h = host * 0x9e3779b1u ^ seq * 0x85ebca77u;

	return &w->sent_tab[(h ^ h >> 15) & w->sent_mask];
}

static void sent_note(struct worker *w, uint32_t host, uint32_t seq,
		      uint32_t us)
{
	*sent_slot(w, host, seq) = (struct sent){host, seq, us};
}

/* seq is never 0, so an unused slot never matches. */
static void sent_lookup(struct worker *w, uint32_t host, uint32_t seq,
			uint32_t now_us)
{
	struct sent *e = sent_slot(w, host, seq);

	/* A wall clock step back could make it negative. */
	if (e->host == host && e->seq == seq && (int32_t)(now_us - e->us) >= 0)
		hb_hist_add(&w->lat, now_us - e->us);
}

/* ---- options ---- */

static uint64_t parse_uint(const char *s, const char *what, uint64_t min,
			   uint64_t max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || errno || v < min || v > max)
		usage_error("%s: '%s' is not a number in %" PRIu64 "..%" PRIu64,
			    what, s, min, max);
	return v;
}

static double parse_num(const char *s, const char *what, double min,
			double max)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end || errno || !isfinite(v) || v < min || v > max)
		usage_error("%s: '%s' is not a number in %g..%g", what, s, min,
			    max);
	return v;
}

static void parse_inject(const char *arg)
{
	char buf[128], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", arg);
	for (char *w = strtok_r(buf, ",", &save); w;
	     w = strtok_r(NULL, ",", &save)) {
		int k = 0;

		if (strcmp(w, "all") == 0) {
			opt.inject = (1u << INJ_KINDS) - 1;
			continue;
		}
		while (k < INJ_KINDS && strcmp(w, inj_names[k]) != 0)
			k++;
		if (k == INJ_KINDS)
			usage_error("--inject: unknown kind '%s'", w);
		opt.inject |= 1u << k;
	}
}

enum { O_PLG = 256, O_MAXDGRAM, O_INFO, O_BYE, O_DRAIN, O_INJECT, O_SEED,
       O_EPOCH, O_SEQ_START, O_SRC_PORT, O_REMOTE, O_JSON };

static const struct option long_opts[] = {
	{"hosts", required_argument, NULL, 'n'},
	{"mode", required_argument, NULL, 'm'},
	{"key", required_argument, NULL, 'k'},
	{"server", required_argument, NULL, 's'},
	{"rate", required_argument, NULL, 'r'},
	{"duration", required_argument, NULL, 'd'},
	{"count", required_argument, NULL, 'c'},
	{"interval", required_argument, NULL, 'i'},
	{"threads", required_argument, NULL, 'j'},
	{"verbose", no_argument, NULL, 'v'},
	{"help", no_argument, NULL, 'h'},
	{"plg", required_argument, NULL, O_PLG},
	{"max-dgram", required_argument, NULL, O_MAXDGRAM},
	{"info", no_argument, NULL, O_INFO},
	{"bye", no_argument, NULL, O_BYE},
	{"drain", required_argument, NULL, O_DRAIN},
	{"inject", required_argument, NULL, O_INJECT},
	{"seed", required_argument, NULL, O_SEED},
	{"epoch", required_argument, NULL, O_EPOCH},
	{"seq-start", required_argument, NULL, O_SEQ_START},
	{"source-port", required_argument, NULL, O_SRC_PORT},
	{"allow-remote", no_argument, NULL, O_REMOTE},
	{"json", no_argument, NULL, O_JSON},
	{NULL, 0, NULL, 0},
};

static void parse_opt(int c, const char *arg)
{
	uint8_t mode;

	switch (c) {
	case 'n': opt.n = (uint32_t)parse_uint(arg, "-n", 1, HOSTS_MAX); break;
	case 'm':
		if (hb_mode_parse(arg, &mode) < 0)
			usage_error("-m: unknown mode '%s' (none, sign or "
				    "encrypt)", arg);
		opt.mode = mode;
		break;
	case 'k': opt.keyfile = arg; break;
	case 's': opt.target = arg; break;
	case 'r': opt.rate = parse_num(arg, "-r", 0.001, RATE_MAX); break;
	case 'd': opt.duration = parse_num(arg, "-d", 0.001, RUN_MAX_S); break;
	case 'c':
		opt.has_rounds = true;
		opt.rounds = (uint32_t)parse_uint(arg, "-c", 0, UINT32_MAX);
		break;
	case 'i':
		opt.interval = (uint32_t)parse_uint(arg, "-i", HB_INTERVAL_MIN,
						    HB_INTERVAL_MAX);
		break;
	case 'j':
		opt.threads = (uint32_t)parse_uint(arg, "-j", 1, THREADS_MAX);
		break;
	case 'v': opt.verbose = true; break;
	case O_PLG:
		opt.plg = parse_uint(arg, "--plg", 1, HB_MESSAGE_MAX);
		break;
	case O_MAXDGRAM:
		opt.max_dgram = parse_uint(arg, "--max-dgram", HB_FRAME_MIN,
					   HB_FRAME_MAX);
		break;
	case O_INFO: opt.info = true; break;
	case O_BYE: opt.bye = true; break;
	case O_DRAIN:
		opt.drain = parse_num(arg, "--drain", 0, DRAIN_MAX_S);
		break;
	case O_INJECT: parse_inject(arg); break;
	case O_SEED: opt.seed = arg; break;
	case O_EPOCH:
		opt.epoch = (uint32_t)parse_uint(arg, "--epoch", 1, UINT32_MAX);
		break;
	case O_SEQ_START:
		opt.seq_start = (uint32_t)parse_uint(arg, "--seq-start", 1,
						     SEQ_LIMIT);
		break;
	case O_SRC_PORT:
		opt.src_port = (uint32_t)parse_uint(arg, "--source-port", 1,
						    65535);
		break;
	case O_REMOTE: opt.allow_remote = true; break;
	case O_JSON: opt.json = true; break;
	}
}

static void parse_args(int argc, char **argv)
{
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":n:m:k:s:r:d:c:i:j:vh", long_opts,
				NULL)) != -1) {
		if (c == 'h') {
			fputs(usage_text, stdout);
			exit(0);
		}
		if (c == ':')
			usage_error("option '%s' needs an argument",
				    argv[optind - 1]);
		if (c == '?')
			usage_error("unknown option '%s' (-h for help)",
				    optopt ? (char[]){'-', (char)optopt, 0}
					   : argv[optind - 1]);
		parse_opt(c, optarg);
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
}

static bool is_loopback(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in *a4 = (const void *)ss;
	const struct sockaddr_in6 *a6 = (const void *)ss;
	const struct in6_addr *a = &a6->sin6_addr;

	if (ss->ss_family == AF_INET)
		return ntohl(a4->sin_addr.s_addr) >> 24 == 127;
	return IN6_IS_ADDR_LOOPBACK(a) ||
	       (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
}

/* HOST, HOST:PORT, [V6] or [V6]:PORT; a bare V6 literal takes no port. */
static void parse_target(const char *s)
{
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM,
				 .ai_flags = AI_NUMERICSERV}, *ai;
	const char *port = "7781", *colon = strrchr(s, ':');
	char host[256];
	size_t len = strlen(s);
	int rc;

	if (s[0] == '[') {
		const char *e = strchr(s, ']');

		if (!e || (e[1] && e[1] != ':'))
			usage_error("-s: '%s' is not HOST:PORT", s);
		len = (size_t)(e - s - 1);
		s++;
		port = e[1] ? e + 2 : port;
	} else if (colon && colon == strchr(s, ':')) {
		len = (size_t)(colon - s);
		port = colon + 1;
	}
	if (len == 0 || len >= sizeof(host))
		usage_error("-s: '%s' is not HOST:PORT", s);
	memcpy(host, s, len);
	host[len] = '\0';
	parse_uint(port, "-s port", 1, 65535);
	if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0)
		usage_error("-s: %s: %s", host, gai_strerror(rc));
	memcpy(&dest, ai->ai_addr, ai->ai_addrlen);
	dest_len = ai->ai_addrlen;
	freeaddrinfo(ai);
	if (!opt.allow_remote && !is_loopback(&dest))
		usage_error("-s: %s is not a loopback address; load-testing "
			    "another machine needs --allow-remote", host);
}

/* Key file: shared key, or one key (and host) per simulated host. */
static void keys_setup(void)
{
	char err[512] = "";
	size_t n, bound = 0;
	int rc;

	if (!(keyring = hb_keyring_new()))
		die("out of memory");
	if (!opt.keyfile)
		return;
	if ((rc = hb_keyring_load(keyring, opt.keyfile, err, sizeof(err))) < 0)
		usage_error("%s", err[0] ? err : hb_strerror(rc));
	if (!(n = hb_keyring_count(keyring)))
		usage_error("%s: no keys", opt.keyfile);
	for (size_t i = 0; i < n; i++)
		bound += hb_keyring_at(keyring, i)->has_host;
	if (bound && bound != n)
		usage_error("%s: %zu of %zu keys are bound to hosts; bind all "
			    "or none", opt.keyfile, bound, n);
	per_host = bound;
	if (!per_host) {
		shared_key = hb_keyring_at(keyring, 0);
		return;
	}
	if (!opt.n)
		opt.n = (uint32_t)(n < HOSTS_MAX ? n : HOSTS_MAX);
	if (opt.n > n)
		usage_error("-n %" PRIu32 ": %s has only %zu host keys", opt.n,
			    opt.keyfile, n);
}

static void check_args(void)
{
	double t;

	if (opt.mode < 0)
		opt.mode = opt.keyfile ? HB_MODE_SIGN : HB_MODE_NONE;
	if (opt.mode != HB_MODE_NONE && !opt.keyfile)
		usage_error("mode %s needs a key file (-k)",
			    hb_mode_name((uint8_t)opt.mode));
	if ((opt.inject & 1u << INJ_FORGED) && opt.mode == HB_MODE_NONE)
		usage_error("--inject forged needs mode sign or encrypt");
	if ((opt.inject & 1u << INJ_REPLAY) && opt.has_rounds && !opt.rounds)
		usage_error("--inject replay needs HTBs to copy: -c 1 or more");
	/* Without its epoch, a seq continues nothing: a new epoch restarts
	 * every host, whatever its first seq. */
	if (opt.seq_start && !opt.epoch)
		usage_error("--seq-start continues an epoch: give that epoch "
			    "with --epoch");
	nhosts = opt.n ? opt.n : HOSTS_DEFAULT;
	if (opt.threads > nhosts)
		usage_error("-j %" PRIu32 ": more threads than the %" PRIu32
			    " hosts to share out", opt.threads, nhosts);
	if (opt.src_port && opt.src_port + opt.threads - 1 > 65535)
		usage_error("--source-port %" PRIu32 " with -j %" PRIu32
			    ": the threads' ports go past 65535", opt.src_port,
			    opt.threads);
	t = (double)nhosts * opt.rounds / opt.rate;
	if (opt.has_rounds && !opt.duration && t > RUN_MAX_S)
		usage_error("-c %" PRIu32 " with %" PRIu32 " hosts at %g/s "
			    "would take %.0f s, over the %d s cap", opt.rounds,
			    nhosts, opt.rate, t, RUN_MAX_S);
	if (!opt.has_rounds && !opt.duration)
		opt.duration = 10;
}

/* ---- hosts ---- */

static uint64_t id_hash(const uint8_t id[16])
{
	uint64_t a, b, h;

	memcpy(&a, id, 8);
	memcpy(&b, id + 8, 8);
	h = a ^ (b * 0x9e3779b97f4a7c15ull);
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 29);
}

/*
 * A table entry: host index + 1 in the low 24 bits (HOSTS_MAX < 2^24),
 * the hash's top byte above, so that a probe rarely has to fetch a host
 * (a cache miss at 10M hosts) only to find another id.
 */
#define TAG_SHIFT 24
#define INDEX_MASK ((1u << TAG_SHIFT) - 1)
_Static_assert(HOSTS_MAX < INDEX_MASK, "host index + 1 fits below the tag");

static uint32_t tag_of(uint64_t hash)
{
	return (uint32_t)(hash >> 56) << TAG_SHIFT;
}

/* Where id is in the table, or the empty slot where it would go. */
static size_t table_slot(const uint8_t id[16])
{
	uint64_t hash = id_hash(id);
	uint32_t tag = tag_of(hash);
	size_t i = hash & table_mask;

	for (; table[i]; i = (i + 1) & table_mask)
		if ((table[i] & ~INDEX_MASK) == tag &&
		    !memcmp(hosts[(table[i] & INDEX_MASK) - 1].id, id, 16))
			break;
	return i;
}

static int64_t host_find(const uint8_t id[16])
{
	uint32_t e = table[table_slot(id)];

	return e ? (int64_t)(e & INDEX_MASK) - 1 : -1;
}

/* Open addressing, load at most 2/3: 4 to 8 bytes a host. */
static void table_build(void)
{
	size_t size = 1024;
	char uuid[37];

	while (size < (size_t)nhosts + nhosts / 2)
		size *= 2;
	if (!(table = calloc(size, sizeof(*table))))
		die("cannot allocate the host table for %" PRIu32 " hosts",
		    nhosts);
	table_mask = size - 1;
	for (uint32_t i = 0; i < nhosts; i++) {
		size_t j = table_slot(hosts[i].id);

		if (table[j]) {
			hb_uuid_format(hosts[i].id, uuid);
			usage_error("host %s appears twice", uuid);
		}
		table[j] = tag_of(id_hash(hosts[i].id)) | (i + 1);
	}
}

/* Random v4 uuids, from a ChaCha20 stream: a seed makes them repeatable. */
static void uuids_fill(void)
{
	static uint8_t buf[UUID_CHUNK * 16];
	uint8_t seed[randombytes_SEEDBYTES], cseed[randombytes_SEEDBYTES];

	if (opt.seed)
		crypto_generichash(seed, sizeof(seed),
				   (const uint8_t *)opt.seed, strlen(opt.seed),
				   NULL, 0);
	else
		randombytes_buf(seed, sizeof(seed));
	for (uint32_t i = 0; i < nhosts; i += UUID_CHUNK) {
		uint32_t n = nhosts - i < UUID_CHUNK ? nhosts - i : UUID_CHUNK;
		uint8_t chunk[4] = {(uint8_t)(i >> 24), (uint8_t)(i >> 16),
				    (uint8_t)(i >> 8), (uint8_t)i};

		crypto_generichash(cseed, sizeof(cseed), chunk, 4, seed,
				   sizeof(seed));
		randombytes_buf_deterministic(buf, n * 16, cseed);
		for (uint32_t j = 0; j < n; j++) {
			uint8_t *id = hosts[i + j].id;

			memcpy(id, buf + 16 * j, 16);
			id[6] = (uint8_t)((id[6] & 0x0f) | 0x40);
			id[8] = (uint8_t)((id[8] & 0x3f) | 0x80);
		}
	}
}

/*
 * Every host starts at the same seq: --seq-start continues a run that
 * ended with hosts at different seqs (some had one more turn) from the
 * highest, so the others skip a few, which a receiver accepts (and hbd
 * counts in the host's `lost`).
 */
static void hosts_setup(void)
{
	if (!(hosts = calloc(nhosts, sizeof(*hosts))))
		die("cannot allocate %" PRIu32 " hosts", nhosts);
	if (per_host)
		for (uint32_t i = 0; i < nhosts; i++)
			memcpy(hosts[i].id, hb_keyring_at(keyring, i)->host_id,
			       16);
	else
		uuids_fill();
	for (uint32_t i = 0; i < nhosts; i++)
		hosts[i].seq = seq_first - 1;
	table_build();
}

/* The seq that continues every host after this run: see hosts_setup(). */
static uint32_t seq_next(void)
{
	uint32_t top = seq_first - 1;

	for (uint32_t i = 0; i < nhosts; i++)
		if (hosts[i].seq > top)
			top = hosts[i].seq;
	return top + 1;
}

static const struct hb_key *key_of(uint32_t i)
{
	if (opt.mode == HB_MODE_NONE)
		return NULL;
	return per_host ? hb_keyring_at(keyring, i) : shared_key;
}

/* Takes host h's next seq; the bitmaps slide with it. */
static uint32_t next_seq(struct host *h)
{
	h->want <<= 1;
	h->got <<= 1;
	h->bad <<= 1;
	return ++h->seq;
}

/* ---- message templates ---- */

static void pack_str(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str_with_body(pk, s, strlen(s));
}

static struct hb_plg plg_of(const char *name, uint8_t kind,
			    const msgpack_sbuffer *data)
{
	return (struct hb_plg){.plugin = hb_str_c(name), .kind = kind,
			       .interval = kind ? opt.interval : 0,
			       .data = (const uint8_t *)data->data,
			       .data_len = (uint32_t)data->size};
}

static void info_setup(void)
{
	struct hb_digest d;
	msgpack_packer pk;

	msgpack_sbuffer_init(&os_data);
	msgpack_packer_init(&pk, &os_data, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 3);
	pack_str(&pk, "sysname");
	pack_str(&pk, "Linux");
	pack_str(&pk, "release");
	pack_str(&pk, "6.1.0-load");
	pack_str(&pk, "machine");
	pack_str(&pk, "x86_64");
	info_plg = plg_of("os", HB_KIND_INFO, &os_data);
	/* Every host has the same Info, so the HTBs carry one digest. */
	hb_digest_init(&d);
	hb_digest_add(&d, info_plg.plugin, info_plg.data, info_plg.data_len);
	hb_digest_final(&d, htb.info_digest);
	htb.has |= HB_HTB_HAS_DIGEST;
	/* The protocol: the digest covers the InfoPlugins listed here. */
	htb.plugins[htb.n_plugins++] = (struct hb_htb_plugin){
		hb_str_c("os"), HB_STATUS_OK, hb_str_c("")};
}

static void blob_pack(size_t len)
{
	static const char abc[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	msgpack_packer pk;
	char *s = malloc(len + 1);

	if (!s)
		die("out of memory");
	for (size_t i = 0; i < len; i++)
		s[i] = abc[i % (sizeof(abc) - 1)];
	msgpack_sbuffer_destroy(&blob_data);
	msgpack_sbuffer_init(&blob_data);
	msgpack_packer_init(&pk, &blob_data, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 1);
	pack_str(&pk, "blob");
	msgpack_pack_str_with_body(&pk, s, len);
	free(s);
}

/* Fragments the Monitor PLG of one round needs; 0 if it cannot be sent. */
static uint16_t mon_frags(size_t *last)
{
	static uint8_t body[PLG_BUF];
	size_t len, chunk;
	uint16_t count;

	mon_plg = plg_of("blob", HB_KIND_MONITOR, &blob_data);
	mon_plg.time_ms = unix0_ms; /* same encoded size all run long */
	if (hb_plg_encode(&mon_plg, body, sizeof(body), &len) < 0 ||
	    hb_frag_plan(len, opt.max_dgram, (uint8_t)opt.mode, &count,
			 &chunk) < 0)
		return 0;
	*last = len - (size_t)(count - 1) * chunk;
	return count;
}

/*
 * The "blob" str fills the data up to about opt.plg bytes. A server never
 * answers with more than the datagram it answers (PROTOCOL.md section 8),
 * so the last fragment is kept larger than an ACK by growing the blob.
 */
static void blob_setup(void)
{
	size_t blen = opt.plg > 8 ? opt.plg - 8 : 0, last;
	uint16_t count;

	blob_pack(blen);
	count = mon_frags(&last);
	if (count > 1 && last < LAST_FRAG_MIN) {
		blob_pack(blen + LAST_FRAG_MIN - last);
		count = mon_frags(&last);
	}
	if (count == 0 || count > FRAG_LIMIT)
		usage_error("--plg %zu: needs more than %d fragments at "
			    "--max-dgram %zu", opt.plg, FRAG_LIMIT,
			    opt.max_dgram);
}

static void templates_setup(void)
{
	htb.interval = opt.interval;
	htb.status = HB_STATUS_OK;
	htb.version = hb_str_c("hb-load");
	/* hbd tells a client restart by a new start_time: a run that
	 * continues an epoch is then the same client run, as it should. */
	htb.start_time = epoch;
	/* Heartbeats always announce the Info data (--info also sends it),
	 * so a server without it asks for it: request_update. */
	info_setup();
	if (opt.plg)
		blob_setup();
	randombytes_buf(forge_master, sizeof(forge_master));
}

/* ---- sending ---- */

/* Binds w's socket to local port `port` of every address. */
static void socket_bind(struct worker *w, uint32_t port)
{
	struct sockaddr_storage a = {.ss_family = dest.ss_family};
	struct sockaddr_in *a4 = (void *)&a;
	struct sockaddr_in6 *a6 = (void *)&a;

	if (a.ss_family == AF_INET)
		a4->sin_port = htons((uint16_t)port);
	else
		a6->sin6_port = htons((uint16_t)port);
	if (bind(w->sock, (struct sockaddr *)&a, dest_len) < 0)
		die("cannot send from port %" PRIu32 ": %s", port,
		    strerror(errno));
}

/* Worker k's socket; --source-port gives it a fixed local port. */
static void socket_setup(struct worker *w, uint32_t k)
{
	int size = SOCKBUF;

	w->sock = socket(dest.ss_family,
			 SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (w->sock < 0)
		die("socket: %s", strerror(errno));
	if (opt.src_port)
		socket_bind(w, opt.src_port + k);
	/* Deep buffers absorb bursts; FORCE passes rmem_max when allowed. */
	if (setsockopt(w->sock, SOL_SOCKET, SO_SNDBUFFORCE, &size,
		       sizeof(size)))
		setsockopt(w->sock, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	if (setsockopt(w->sock, SOL_SOCKET, SO_RCVBUFFORCE, &size,
		       sizeof(size)))
		setsockopt(w->sock, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	setsockopt(w->sock, SOL_SOCKET, SO_TIMESTAMPNS, &(int){1}, sizeof(int));
	for (int i = 0; i < BATCH; i++) {
		w->out->iov[i].iov_base = w->out->buf[i];
		w->out->m[i].msg_hdr = (struct msghdr){
			.msg_name = &dest, .msg_namelen = dest_len,
			.msg_iov = &w->out->iov[i], .msg_iovlen = 1};
	}
}

/* Books one datagram the kernel took. */
static void sent_one(struct worker *w, const struct slot *s, uint32_t now_us)
{
	struct host *h = &hosts[s->host];
	uint32_t d = h->seq - s->seq;
	uint64_t bit = d < WINDOW ? 1ull << d : 0;

	switch (s->what) {
	case W_HTB:
		w->st.htb++;
		h->htb_seq = s->seq;
		h->htb_ms = s->ms;
		sent_note(w, s->host, s->seq, now_us);
		break;
	case W_PLG:
	case W_FRAG: w->st.plg++; break;
	case W_BYE: w->st.bye++; break;
	default:
		w->st.injected++;
		h->bad |= s->what == W_JUNK ? 0 : bit;
		return;
	}
	if (s->what != W_FRAG && s->what != W_BYE) {
		w->st.expected++;
		h->want |= bit;
	}
}

static void receive(struct worker *w);

/* Waits up to 2 ms for room in the send buffer, taking in ACKs meanwhile. */
static void wait_writable(struct worker *w)
{
	struct pollfd p = {w->sock, POLLIN | POLLOUT, 0};

	if (poll(&p, 1, 2) > 0 && (p.revents & POLLIN))
		receive(w);
}

/*
 * Sends the batch. A full send buffer is waited out briefly a few times;
 * then the rest of the batch is dropped and counted, so a server or a
 * link that cannot keep up shows as send errors, never as a hang.
 */
static void flush(struct worker *w)
{
	struct batch *b = w->out;
	int off = 0, waits = 0, r;

	while (off < b->n) {
		/* Before: on loopback an ACK can beat sendmmsg's return. */
		uint32_t now_us = stamp_us(real_ns());

		r = sendmmsg(w->sock, b->m + off, (unsigned)(b->n - off), 0);
		if (r > 0) {
			for (int i = off; i < off + r; i++)
				sent_one(w, &b->s[i], now_us);
			off += r;
		} else if (r == 0) { /* cannot happen with off < b->n */
			break;
		} else if (errno == EINTR) {
			continue;
		} else if ((errno == EAGAIN || errno == ENOBUFS) && waits < 4) {
			waits++;
			wait_writable(w);
		} else if (errno == EAGAIN || errno == ENOBUFS) {
			w->st.send_errors += (uint64_t)(b->n - off);
			break;
		} else {
			if (!w->st.send_errors)
				fprintf(stderr, "hb-load: send: %s\n",
					strerror(errno));
			w->st.send_errors++;
			off++;
		}
	}
	b->n = 0;
}

/*
 * The next free batch slot. A full batch is sent first, and ACKs taken
 * in: however long a pass of turns, none waits more than a batch, which
 * would age it out of its host's window (with few hosts) or overflow a
 * small receive buffer.
 */
static int slot_take(struct worker *w)
{
	if (w->out->n == BATCH) {
		flush(w);
		receive(w);
	}
	return w->out->n;
}

static void slot_commit(struct worker *w, int k, uint32_t host, uint32_t seq,
			uint8_t what, size_t len)
{
	w->out->s[k] = (struct slot){.host = host, .seq = seq, .what = what};
	w->out->iov[k].iov_len = len;
	w->out->n++;
}

static void header_init(struct hb_header *h, uint32_t i, uint8_t type,
			uint32_t seq, uint64_t ms)
{
	const struct hb_key *k = key_of(i);

	*h = (struct hb_header){.version = HB_VERSION, .type = type,
				.mode = (uint8_t)opt.mode,
				.key_id = k ? k->id : 0, .epoch = epoch,
				.seq = seq, .time_ms = ms};
	memcpy(h->host_id, hosts[i].id, 16);
}

/* Seals a datagram into the batch; returns its slot. */
static int put(struct worker *w, uint32_t i, const struct hb_header *h,
	       const struct hb_key *k, const uint8_t *body, size_t len,
	       uint8_t what)
{
	int slot = slot_take(w), rc;
	size_t n;

	rc = hb_frame_seal(h, k, body, len, w->out->buf[slot], SLOT_LEN, &n);
	if (rc < 0)
		die("cannot seal a %s: %s", hb_type_name(h->type),
		    hb_strerror(rc));
	slot_commit(w, slot, i, h->seq, what, n);
	w->out->s[slot].ms = (uint32_t)(h->time_ms - unix0_ms);
	return slot;
}

/* An HTB of host i: what = W_HTB, or an injection made of one. */
static int put_htb(struct worker *w, uint32_t i, uint32_t seq, uint64_t ms,
		   const struct hb_key *k, uint8_t what)
{
	uint8_t body[512];
	struct hb_header h;
	char name[24];
	size_t len;
	int rc;

	header_init(&h, i, HB_HTB, seq, ms);
	snprintf(name, sizeof(name), "load-%" PRIu32, i);
	w->htb.hostname = hb_str_c(name);
	if ((rc = hb_htb_encode(&w->htb, body, sizeof(body), &len)) < 0)
		die("cannot encode an HTB: %s", hb_strerror(rc));
	return put(w, i, &h, k, body, len, what);
}

/* One PLG message, fragmented as planned: fragments take consecutive seqs. */
static void put_plg(struct worker *w, uint32_t i, struct hb_plg *p,
		    uint64_t ms)
{
	uint8_t *body = w->plg_body;
	struct host *hp = &hosts[i];
	uint32_t first = hp->seq + 1;
	size_t len, chunk;
	uint16_t count;
	int rc;

	p->time_ms = ms;
	if ((rc = hb_plg_encode(p, body, PLG_BUF, &len)) < 0 ||
	    (rc = hb_frag_plan(len, opt.max_dgram, (uint8_t)opt.mode, &count,
			       &chunk)) < 0)
		die("cannot build a PLG: %s", hb_strerror(rc));
	for (uint16_t f = 0; f < count; f++) {
		struct hb_header h;
		size_t off = f * chunk;

		header_init(&h, i, HB_PLG, next_seq(hp), ms);
		if (count > 1)
			h.flags = HB_FLAG_FRAG, h.frag_msg = first,
			h.frag_index = f, h.frag_count = count;
		put(w, i, &h, key_of(i), body + off,
		    f + 1 < count ? chunk : len - off, f ? W_FRAG : W_PLG);
	}
}

/* A BYE gets no ACK (PROTOCOL.md section 8); the reason says why. */
static void put_bye(struct worker *w, uint32_t i, uint64_t ms)
{
	struct hb_bye bye = {hb_str_c("hb-load: simulated host stopping at "
				      "the end of a load test run")};
	uint8_t body[128];
	struct hb_header h;
	size_t len;

	hb_bye_encode(&bye, body, sizeof(body), &len);
	header_init(&h, i, HB_BYE, next_seq(&hosts[i]), ms);
	put(w, i, &h, key_of(i), body, len, W_BYE);
}

/* Resends host i's latest HTB byte for byte, once, after it was ACKed. */
static void replay(struct worker *w, uint32_t i)
{
	struct host *h = &hosts[i];
	uint32_t d = h->seq - h->htb_seq;

	if (!h->htb_seq || d >= WINDOW || !(h->got >> d & 1) ||
	    (h->bad >> d & 1))
		return;
	put_htb(w, i, h->htb_seq, unix0_ms + h->htb_ms, key_of(i), W_REPLAY);
}

/* Not hb, a header cut short, or a tag (or mode none: body) cut short. */
static void garbage(struct worker *w, uint32_t i, uint64_t round,
		    uint64_t ms)
{
	struct batch *b = w->out;
	int k;

	switch ((i + round) % 3) {
	case 0:
		k = slot_take(w);
		slot_commit(w, k, i, 0, W_JUNK,
			    1 + randombytes_uniform(HB_FRAME_DEFAULT));
		randombytes_buf(b->buf[k], b->iov[k].iov_len);
		break;
	case 1:
		k = put_htb(w, i, next_seq(&hosts[i]), ms, key_of(i), W_BAD);
		b->iov[k].iov_len = 1 + randombytes_uniform(HB_HEADER_LEN - 1);
		break;
	default:
		k = put_htb(w, i, next_seq(&hosts[i]), ms, key_of(i), W_BAD);
		b->iov[k].iov_len -= 1 + randombytes_uniform(HB_TAG_LEN);
	}
}

static void inject(struct worker *w, uint32_t i, int kind, uint64_t round,
		   uint64_t ms)
{
	const struct hb_key *key = key_of(i);
	struct host *h = &hosts[i];
	struct batch *b = w->out;
	struct hb_key fk;
	int k;

	switch (kind) {
	case INJ_GARBAGE: garbage(w, i, round, ms); break;
	case INJ_FORGED: /* the right key id, another secret */
		hb_key_init(&fk, key->id, forge_master);
		put_htb(w, i, next_seq(h), ms, &fk, W_BAD);
		hb_key_wipe(&fk);
		break;
	case INJ_STALE:
		put_htb(w, i, next_seq(h), ms - SKEW_MS, key, W_BAD);
		break;
	case INJ_FUTURE:
		put_htb(w, i, next_seq(h), ms + SKEW_MS, key, W_BAD);
		break;
	case INJ_OVERSIZED: /* a valid header, over HB_FRAME_MAX */
		k = put_htb(w, i, next_seq(h), ms, key, W_BAD);
		randombytes_buf(b->buf[k] + b->iov[k].iov_len,
				SLOT_LEN - b->iov[k].iov_len);
		b->iov[k].iov_len = SLOT_LEN;
		break;
	}
}

/* Host i's share of a phase: in the main phase, one round of traffic. */
static void turn(struct worker *w, uint32_t i, uint64_t round, enum phase ph)
{
	uint64_t ms = wall_ms(mono_ns());
	bool beats = !opt.has_rounds || opt.rounds;

	if (hosts[i].seq > SEQ_LIMIT)
		return;
	if (ph == PH_REPLAY) {
		replay(w, i);
		return;
	}
	if (ph == PH_BYE) {
		put_bye(w, i, ms);
		return;
	}
	if (round == 0 && opt.info)
		put_plg(w, i, &w->info_plg, ms);
	if (opt.inject & 1u << INJ_REPLAY)
		replay(w, i);
	if (beats)
		put_htb(w, i, next_seq(&hosts[i]), ms, key_of(i), W_HTB);
	if (beats && opt.plg)
		put_plg(w, i, &w->mon_plg, ms);
	for (int k = 0; k < INJ_KINDS; k++)
		if (k != INJ_REPLAY && (opt.inject & 1u << k))
			inject(w, i, k, round, ms);
}

/* ---- receiving ---- */

/* Whether an ACK came from where the datagrams went. */
static bool from_dest(const struct sockaddr_storage *a)
{
	const struct sockaddr_in *a4 = (const void *)a;
	const struct sockaddr_in *d4 = (const void *)&dest;
	const struct sockaddr_in6 *a6 = (const void *)a;
	const struct sockaddr_in6 *d6 = (const void *)&dest;

	if (a->ss_family != dest.ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return a4->sin_port == d4->sin_port &&
		       a4->sin_addr.s_addr == d4->sin_addr.s_addr;
	return a6->sin6_port == d6->sin6_port &&
	       IN6_ARE_ADDR_EQUAL(&a6->sin6_addr, &d6->sin6_addr);
}

/* An authenticated ACK of host i: which of its datagrams does it name? */
static void ack_match(struct worker *w, uint32_t i, const struct hb_ack *a,
		      uint32_t now_us)
{
	struct host *h = &hosts[i];
	uint32_t d = h->seq - a->ack_seq;
	uint64_t bit = 1ull << (d % WINDOW);

	if (a->ack_epoch != epoch || !a->ack_seq || a->ack_seq > h->seq)
		w->st.unmatched++;
	else if (d >= WINDOW)
		w->st.late++;
	else if (h->bad & bit)
		w->st.bad_acked++;
	else if (h->got & bit)
		w->st.duplicates++;
	else if (!(h->want & bit))
		w->st.unmatched++;
	else {
		h->want &= ~bit;
		h->got |= bit;
		w->st.acked++;
		sent_lookup(w, i, a->ack_seq, now_us);
	}
}

/* Whether host i is one of w's: no other socket sent for it. */
static bool owns(const struct worker *w, int64_t i)
{
	return i >= w->first && i - w->first < w->count;
}

static void on_datagram(struct worker *w, uint8_t *buf, size_t len,
			uint32_t now_us)
{
	const uint8_t *body;
	struct hb_header h;
	struct hb_ack a;
	size_t blen;
	int64_t i;

	/* An ACK in another mode proves nothing: it counts as bad. */
	if (hb_frame_parse(buf, len, &h) < 0 || h.type != HB_ACK ||
	    h.mode != opt.mode) {
		w->st.bad_acks++;
		return;
	}
	if (!owns(w, i = host_find(h.host_id))) {
		w->st.unmatched++;
		return;
	}
	if (hb_frame_open(buf, len, &h, key_of((uint32_t)i), &body, &blen) ||
	    hb_ack_decode(body, blen, &a) < 0) {
		w->st.bad_acks++;
		return;
	}
	w->st.request_update += a.request_update;
	w->st.interval_override += a.interval != 0;
	ack_match(w, (uint32_t)i, &a, now_us);
}

/* When the kernel received it (SO_TIMESTAMPNS), or now. */
static uint32_t rx_stamp(struct msghdr *m)
{
	struct timespec ts;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level == SOL_SOCKET &&
		    c->cmsg_type == SCM_TIMESTAMPNS) {
			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			return stamp_us((uint64_t)ts.tv_sec * NS +
					(uint64_t)ts.tv_nsec);
		}
	}
	return stamp_us(real_ns());
}

/* Takes in the ACKs waiting in w's socket. */
static void receive(struct worker *w)
{
	struct inbox *in = w->in;

	for (int pass = 0; pass < RECV_PASSES; pass++) {
		int r;

		for (int k = 0; k < BATCH; k++) {
			in->iov[k] = (struct iovec){in->buf[k],
						    sizeof(in->buf[k])};
			in->m[k].msg_hdr = (struct msghdr){
				.msg_name = &in->from[k],
				.msg_namelen = sizeof(in->from[k]),
				.msg_iov = &in->iov[k], .msg_iovlen = 1,
				.msg_control = in->ctl[k],
				.msg_controllen = sizeof(in->ctl[k])};
		}
		r = recvmmsg(w->sock, in->m, BATCH, MSG_DONTWAIT, NULL);
		for (int k = 0; k < r; k++) {
			/* Counted, but still authenticated and used. */
			w->st.foreign += !from_dest(&in->from[k]);
			on_datagram(w, in->buf[k], in->m[k].msg_len,
				    rx_stamp(&in->m[k].msg_hdr));
		}
		if (r < BATCH)
			return;
	}
}

/* ---- pacing ---- */

/* For -v: lets the main thread see w's books as they are now. */
static void publish(struct worker *w)
{
	if (!opt.verbose)
		return;
	pthread_mutex_lock(&w->lock);
	w->pub_st = w->st;
	w->pub_lat = w->lat;
	pthread_mutex_unlock(&w->lock);
}

/*
 * Sleeps until `until` (monotonic), or a signal. ACKs wait in the socket
 * buffer meanwhile and are read once it wakes: woken for each burst of
 * them it would wake several times a batch, and each wake-up costs tens
 * of µs of CPU in a VM. Their latency is the kernel's receive time.
 */
static void sleep_until(uint64_t until)
{
	struct timespec ts = ts_of(until);

	if (until > mono_ns())
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

/* Waits until `until` or until ACKs arrive, taking them in. */
static void wait_input(struct worker *w, uint64_t until)
{
	struct pollfd p = {w->sock, POLLIN, 0};
	uint64_t now = mono_ns();
	struct timespec ts;

	/* Bounded, so that a signal another thread took is seen soon. */
	until = min64(until, now + NAP_MAX_NS);
	if (until > now) {
		ts = ts_of(until - now);
		if (ppoll(&p, 1, &ts, NULL) <= 0)
			return;
	}
	receive(w);
}

/* When turn k of a phase that started at `start` is due. */
static uint64_t due_at(const struct worker *w, uint64_t start, uint64_t k)
{
	return start + (uint64_t)((double)k * NS / w->rate) + SLACK_NS;
}

/*
 * Turns per wake-up (or pass): a full batch, unless the worker has so
 * few hosts that a host's seq would move by more than half its ACK window
 * in one. ACKs are read between any two passes; one that missed a read
 * by a pass must then still find its seq in the window.
 */
static uint64_t wake_turns(const struct worker *w)
{
	uint64_t t = (uint64_t)w->count * (WINDOW / 2) /
		     (w->turn_seqs ? w->turn_seqs : 1);

	return t < 1 ? 1 : min64(t, WAKE_TURNS);
}

/*
 * When to wake up next, having done `done` turns: when wake_turns() more
 * are due, for one sendmmsg per wake-up; at low rates, where that is
 * long, when the next turn is due, but no turn later than LATE_MAX_NS
 * after its time.
 */
static uint64_t next_wake(const struct worker *w, uint64_t start,
			  uint64_t done, uint64_t now)
{
	uint64_t one = due_at(w, start, done);
	uint64_t full = due_at(w, start, done + wake_turns(w) - 1);

	return min64(min64(full, max64(one, now + LATE_MAX_NS)),
		     now + NAP_MAX_NS);
}

/* Turns done .. due - 1; a slow pass (big turns) still ends at `end`. */
static uint64_t pass(struct worker *w, enum phase ph, uint64_t done,
		     uint64_t due, uint64_t end)
{
	for (int k = 0; done < due; k++, done++) {
		uint32_t i = w->first + (uint32_t)(done % w->count);
		uint32_t seq = hosts[i].seq;

		if (k % 16 == 15 && mono_ns() >= end)
			break;
		turn(w, i, done / w->count, ph);
		if (hosts[i].seq - seq > w->turn_seqs)
			w->turn_seqs = hosts[i].seq - seq;
	}
	return done;
}

/*
 * Runs turns 0 .. turns - 1 of a phase (turn k: the worker's host
 * k % count, round k / count) on a clock schedule: turn k is due k / rate
 * seconds after `start`, so a late wake-up is caught up on, never lost.
 * At `end`, the turns due before it that a wake-up would have sent still
 * go. Between two passes it takes in the ACKs that came: once a wake-up,
 * before sending, so a batch's ACKs had the whole sleep to arrive. A
 * phase that runs to its end also waits out its last turn's slot, so
 * rates come out right. Returns the turns done.
 */
static uint64_t run_phase(struct worker *w, enum phase ph, uint64_t start,
			  uint64_t turns, uint64_t end)
{
	uint64_t done = 0, now, due;

	end = min64(end, hard_end_ns);
	while (done < turns && !stopping(0)) {
		if ((now = mono_ns()) >= end) {
			due = (uint64_t)ceil((double)(end - start) * w->rate /
					     NS);
			due = min64(min64(due, turns), done + WAKE_TURNS);
			done = pass(w, ph, done, due, UINT64_MAX);
			break;
		}
		due = (uint64_t)((double)(now - start) * w->rate / NS) + 1;
		due = min64(due, turns);
		done = pass(w, ph, done, min64(due, done + wake_turns(w)), end);
		flush(w);
		publish(w);
		if (done >= due) /* else behind: on at once */
			sleep_until(min64(next_wake(w, start, done, mono_ns()),
					  end));
		receive(w);
	}
	flush(w);
	if (done == turns) {
		end = min64(end, due_at(w, start, turns) - SLACK_NS);
		while (!stopping(0) && (now = mono_ns()) < end)
			wait_input(w, end);
	}
	return done;
}

/*
 * Takes in ACKs until `until`, or until every awaited ACK came if
 * `early`, or until a signal beyond the `seen` ones.
 */
static void drain(struct worker *w, uint64_t until, bool early, int seen)
{
	while (!stopping(seen) && mono_ns() < until &&
	       !(early && w->st.acked >= w->st.expected)) {
		wait_input(w, until);
		publish(w);
	}
}

/* ---- report ---- */

/* The workers' books added up, once all have ended. */
static struct stats st;
static struct hb_hist lat;
static bool interrupted; /* a signal came during the sending */
static uint32_t next_seq_all;

static void stats_add(struct stats *a, const struct stats *b)
{
	a->htb += b->htb;
	a->plg += b->plg;
	a->bye += b->bye;
	a->injected += b->injected;
	a->send_errors += b->send_errors;
	a->expected += b->expected;
	a->acked += b->acked;
	a->duplicates += b->duplicates;
	a->unmatched += b->unmatched;
	a->late += b->late;
	a->foreign += b->foreign;
	a->bad_acks += b->bad_acks;
	a->bad_acked += b->bad_acked;
	a->request_update += b->request_update;
	a->interval_override += b->interval_override;
}

/* Histograms of the same buckets add up exactly. */
static void hist_add(struct hb_hist *a, const struct hb_hist *b)
{
	for (int i = 0; i < HB_HIST_BUCKETS; i++)
		a->b[i] += b->b[i];
	a->n += b->n;
	a->max = max64(a->max, b->max);
}

static void report_text(double main_s, double send_s, double total_s)
{
	uint64_t sent = st.htb + st.plg + st.bye, lost = st.expected - st.acked;
	char target[INET6_ADDRSTRLEN + 8];

	if (getnameinfo((struct sockaddr *)&dest, dest_len, target,
			sizeof(target), NULL, 0, NI_NUMERICHOST))
		strcpy(target, "?");
	printf("hb-load: %" PRIu32 " hosts, mode %s, target %s, %.2f s "
	       "sending, %.2f s in all\n", nhosts,
	       hb_mode_name((uint8_t)opt.mode), target, send_s, total_s);
	printf("  sent       %" PRIu64 " datagrams: %" PRIu64 " HTB, %" PRIu64
	       " PLG, %" PRIu64 " BYE; %" PRIu64 " send errors\n", sent, st.htb,
	       st.plg, st.bye, st.send_errors);
	printf("  rate       %.0f HTB/s (target %g), %.0f datagrams/s\n",
	       st.htb / main_s, opt.rate, (sent + st.injected) / send_s);
	printf("  acked      %" PRIu64 " of %" PRIu64 ", lost %" PRIu64
	       " (%.3f %%)\n", st.acked, st.expected, lost,
	       st.expected ? 100.0 * lost / st.expected : 0.0);
	printf("  latency    p50 %" PRIu64 " us, p99 %" PRIu64 " us, p99.9 %"
	       PRIu64 " us, max %" PRIu64 " us (%" PRIu64 " HTB ACKs)\n",
	       hb_hist_pct(&lat, 0.5), hb_hist_pct(&lat, 0.99),
	       hb_hist_pct(&lat, 0.999), lat.max, lat.n);
	printf("  acks       %" PRIu64 " duplicate, %" PRIu64 " unmatched, %"
	       PRIu64 " late, %" PRIu64 " bad, %" PRIu64 " from elsewhere; %"
	       PRIu64 " request_update, %" PRIu64 " interval override\n",
	       st.duplicates, st.unmatched, st.late, st.bad_acks, st.foreign,
	       st.request_update, st.interval_override);
	if (opt.inject)
		printf("  injected   %" PRIu64 ", of them ACKed (must be 0): %"
		       PRIu64 "\n", st.injected, st.bad_acked);
	printf("  epoch      %" PRIu32 ", next seq %" PRIu32 " (--epoch %"
	       PRIu32 " --seq-start %" PRIu32 " continues these hosts)\n",
	       epoch, next_seq_all, epoch, next_seq_all);
}

static void report_json(double main_s, double send_s, double total_s)
{
	uint64_t sent = st.htb + st.plg + st.bye, lost = st.expected - st.acked;

	printf("{\"sent\":%" PRIu64 ",\"sent_htb\":%" PRIu64 ",\"sent_plg\":%"
	       PRIu64 ",\"sent_bye\":%" PRIu64 ",\"send_errors\":%" PRIu64,
	       sent, st.htb, st.plg, st.bye, st.send_errors);
	printf(",\"expected\":%" PRIu64 ",\"acked\":%" PRIu64 ",\"lost\":%"
	       PRIu64 ",\"loss_pct\":%.3f", st.expected, st.acked, lost,
	       st.expected ? 100.0 * lost / st.expected : 0.0);
	printf(",\"p50_us\":%" PRIu64 ",\"p99_us\":%" PRIu64 ",\"p999_us\":%"
	       PRIu64 ",\"max_us\":%" PRIu64 ",\"latency_samples\":%" PRIu64,
	       hb_hist_pct(&lat, 0.5), hb_hist_pct(&lat, 0.99),
	       hb_hist_pct(&lat, 0.999), lat.max, lat.n);
	printf(",\"rate\":%.1f,\"dgram_rate\":%.1f", st.htb / main_s,
	       (sent + st.injected) / send_s);
	printf(",\"request_update\":%" PRIu64 ",\"interval_override\":%" PRIu64
	       ",\"bad_acks\":%" PRIu64 ",\"duplicates\":%" PRIu64
	       ",\"unmatched\":%" PRIu64 ",\"late\":%" PRIu64 ",\"foreign\":%"
	       PRIu64, st.request_update, st.interval_override, st.bad_acks,
	       st.duplicates, st.unmatched, st.late, st.foreign);
	printf(",\"injected\":%" PRIu64 ",\"bad_acked\":%" PRIu64
	       ",\"hosts\":%" PRIu32 ",\"mode\":\"%s\",\"duration_s\":%.3f"
	       ",\"elapsed_s\":%.3f", st.injected, st.bad_acked, nhosts,
	       hb_mode_name((uint8_t)opt.mode), main_s, total_s);
	printf(",\"epoch\":%" PRIu32 ",\"next_seq\":%" PRIu32 ",\"threads\":%"
	       PRIu32 ",\"interrupted\":%s}\n", epoch, next_seq_all, nworkers,
	       interrupted ? "true" : "false");
}

/* ---- threads ---- */

static void on_signal(int sig)
{
	atomic_fetch_add(&signals, 1);
}

static void signals_setup(void)
{
	/* The first ^C ends the run with a report, the second kills. */
	struct sigaction sa = {.sa_handler = on_signal,
			       .sa_flags = SA_RESETHAND};

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* Main phase: -c rounds, or as many turns as -d allows; hosts active. */
static uint64_t run_main(struct worker *w)
{
	uint64_t end = opt.duration ? t0_ns + (uint64_t)(opt.duration * NS)
				    : hard_end_ns;
	uint64_t turns = UINT64_MAX, done;

	if (opt.has_rounds)
		turns = opt.rounds ? (uint64_t)w->count * opt.rounds
		      : (opt.info || opt.inject) ? w->count : 0;
	/* From t0, as -d: starting the threads takes a while. */
	done = run_phase(w, PH_MAIN, t0_ns, turns, end);
	/* The hosts that took part; with -c 0 alone, BYE is for all. */
	return turns ? min64(done, w->count) : w->count;
}

/*
 * A sender thread's whole run. A signal ends its sending; the drain
 * then still runs, ended early only by a further signal.
 */
static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t drain_ns = (uint64_t)(opt.drain * NS), active;
	int seen;

	active = run_main(w);
	w->main_end = mono_ns();
	if ((opt.inject & 1u << INJ_REPLAY) && !stopping(0)) {
		/* Replay the last HTBs only once their ACKs are in. */
		drain(w, mono_ns() + drain_ns, true, 0);
		run_phase(w, PH_REPLAY, mono_ns(), active, hard_end_ns);
	}
	if (opt.bye && !stopping(0))
		run_phase(w, PH_BYE, mono_ns(), active, hard_end_ns);
	w->send_end = mono_ns();
	seen = atomic_load(&signals);
	w->interrupted = seen > 0;
	/* Injections were sent: wait the whole drain for wrongful ACKs. */
	drain(w, w->send_end + drain_ns, w->st.injected == 0, seen);
	publish(w);
	pthread_mutex_lock(&done_lock);
	workers_done++;
	pthread_cond_signal(&done_cond);
	pthread_mutex_unlock(&done_lock);
	return NULL;
}

/* Its own buffers, socket and slice of the hosts and of the rate. */
static void worker_setup(struct worker *w, uint32_t k)
{
	uint32_t bits = SENT_BITS;

	w->first = (uint32_t)((uint64_t)nhosts * k / nworkers);
	w->count = (uint32_t)((uint64_t)nhosts * (k + 1) / nworkers) - w->first;
	w->rate = opt.rate * w->count / nhosts;
	/* The threads share the million or so latency slots out. */
	for (uint32_t j = nworkers; j > 1 && bits > SENT_BITS_MIN; j /= 2)
		bits--;
	w->sent_mask = (1u << bits) - 1;
	if (!(w->sent_tab = calloc(1u << bits, sizeof(*w->sent_tab))) ||
	    !(w->out = calloc(1, sizeof(*w->out))) ||
	    !(w->in = calloc(1, sizeof(*w->in))) ||
	    !(w->plg_body = malloc(PLG_BUF)))
		die("out of memory");
	w->htb = htb;
	w->info_plg = info_plg;
	w->mon_plg = mon_plg;
	pthread_mutex_init(&w->lock, NULL);
	socket_setup(w, k);
}

static void workers_setup(void)
{
	nworkers = opt.threads;
	if (!(workers = calloc(nworkers, sizeof(*workers))))
		die("out of memory");
	for (uint32_t k = 0; k < nworkers; k++)
		worker_setup(&workers[k], k);
}

/* -v: the workers' books as they last published them, every second. */
static void progress(uint64_t now)
{
	struct stats s = {0};
	struct hb_hist *l = calloc(1, sizeof(*l));
	double t = (double)(now - t0_ns) / NS;

	if (!l)
		return;
	for (uint32_t k = 0; k < nworkers; k++) {
		pthread_mutex_lock(&workers[k].lock);
		stats_add(&s, &workers[k].pub_st);
		hist_add(l, &workers[k].pub_lat);
		pthread_mutex_unlock(&workers[k].lock);
	}
	fprintf(stderr, "hb-load: %6.1f s  sent %" PRIu64 " (htb %" PRIu64
		")  acked %" PRIu64 "  awaited %" PRIu64 "  send errors %"
		PRIu64 "  %.0f HTB/s  p99 %" PRIu64 " us\n", t,
		s.htb + s.plg + s.bye, s.htb, s.acked, s.expected - s.acked,
		s.send_errors, (double)s.htb / t, hb_hist_pct(l, 0.99));
	free(l);
}

/* Waits for every worker to end, printing progress meanwhile if -v. */
static void workers_wait(void)
{
	uint64_t next = t0_ns + NS;
	struct timespec ts;

	pthread_mutex_lock(&done_lock);
	while (workers_done < nworkers) {
		if (!opt.verbose) {
			pthread_cond_wait(&done_cond, &done_lock);
			continue;
		}
		ts = ts_of(next);
		if (pthread_cond_timedwait(&done_cond, &done_lock, &ts) !=
		    ETIMEDOUT)
			continue;
		pthread_mutex_unlock(&done_lock);
		progress(mono_ns());
		next += NS;
		pthread_mutex_lock(&done_lock);
	}
	pthread_mutex_unlock(&done_lock);
}

static void workers_run(void)
{
	pthread_condattr_t ca;
	int rc;

	/* Timed waits on the monotonic clock, as everything here. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&done_cond, &ca);
	pthread_condattr_destroy(&ca);
	for (uint32_t k = 0; k < nworkers; k++)
		if ((rc = pthread_create(&workers[k].thread, NULL, worker_main,
					 &workers[k])) != 0)
			die("cannot start a sender thread: %s", strerror(rc));
	workers_wait();
	for (uint32_t k = 0; k < nworkers; k++)
		pthread_join(workers[k].thread, NULL);
}

/* ---- main ---- */

int main(int argc, char **argv)
{
	uint64_t main_end = 0, send_end = 0;

	if (sodium_init() < 0)
		die("libsodium failed to initialise");
	parse_args(argc, argv);
	parse_target(opt.target);
	keys_setup();
	check_args();
	epoch = opt.epoch ? opt.epoch : (uint32_t)time(NULL);
	seq_first = opt.seq_start ? opt.seq_start : 1;
	clock_start();
	templates_setup();
	hosts_setup();
	workers_setup();
	signals_setup();
	clock_start(); /* setting up 10M hosts takes a while */

	workers_run();
	for (uint32_t k = 0; k < nworkers; k++) {
		stats_add(&st, &workers[k].st);
		hist_add(&lat, &workers[k].lat);
		main_end = max64(main_end, workers[k].main_end);
		send_end = max64(send_end, workers[k].send_end);
		interrupted |= workers[k].interrupted;
	}
	next_seq_all = seq_next();
	if (opt.json)
		report_json(secs(main_end), secs(send_end), secs(mono_ns()));
	else
		report_text(secs(main_end), secs(send_end), secs(mono_ns()));
	if (interrupted)
		fprintf(stderr, "hb-load: interrupted before the end\n");
	return interrupted ? EXIT_RUNTIME : 0;
}
