/*
 * hb-keygen: generates hb keys. Writes key-file text (see hb_key.h) with
 * fresh random secrets to standard output, or to a new mode-0600 file.
 * One key by default; with -n it builds a per-host keys file for a fleet
 * or a load test: COUNT keys with consecutive ids, each bound to its own
 * random host uuid.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, mkostemp */
#endif
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "hb_key.h"

#ifndef HB_PACKAGE_VERSION
#define HB_PACKAGE_VERSION "0.1.0"
#endif

#define EXIT_IO 1
#define EXIT_USAGE 2
#define MAX_COUNT 1000000
#define LINE_MAX_LEN 128 /* id, 64 hex digits, uuid: 112 characters */

struct opts {
	const char *path;	/* -o, NULL for standard output */
	bool force;		/* -f */
	bool has_id;		/* -i given */
	uint32_t id;
	bool has_host;		/* -H given */
	uint8_t host[16];
	bool has_count;		/* -n given: keys get random host uuids */
	uint32_t count;
};

/*
 * Output is buffered here rather than in stdio so that the secrets it
 * passes through can be wiped.
 */
struct out {
	int fd;
	const char *name;	/* for error messages */
	size_t len;
	char buf[65536];
};

static const char usage_text[] =
	"usage: hb-keygen [-i ID] [-H HOST-UUID] [-o FILE] [-f] [-n COUNT]\n"
	"Generates hb keys in key-file format.\n"
	"\n"
	"  -i, --id ID        key id, 1..4294967295 (default: random)\n"
	"  -H, --host UUID    bind the key to this host id\n"
	"  -n, --count COUNT  generate COUNT keys (1..1000000) with consecutive\n"
	"                     ids from ID, each bound to a random host uuid\n"
	"  -o, --output FILE  create FILE (mode 0600) instead of printing\n"
	"  -f, --force        replace FILE if it exists\n"
	"  -h, --help         show this help\n"
	"  -V, --version      show the version\n"
	"\n"
	"Exit status: 0 on success, 1 on an I/O error, 2 on a usage error.\n";

static const struct option long_opts[] = {
	{"id", required_argument, NULL, 'i'},
	{"host", required_argument, NULL, 'H'},
	{"count", required_argument, NULL, 'n'},
	{"output", required_argument, NULL, 'o'},
	{"force", no_argument, NULL, 'f'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0},
};

__attribute__((format(printf, 1, 2)))
static void msg(const char *fmt, ...)
{
	va_list ap;

	fputs("hb-keygen: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

__attribute__((format(printf, 1, 2), noreturn))
static void usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("hb-keygen: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_USAGE);
}

/* Parses a decimal number in min..max: digits only, no sign or spaces. */
static int parse_u32(const char *s, uint32_t min, uint32_t max,
		     uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static void parse_option(int c, const char *arg, struct opts *op)
{
	switch (c) {
	case 'i':
		if (parse_u32(arg, 1, UINT32_MAX, &op->id) < 0)
			usage_error("invalid key id '%s' (1..4294967295)", arg);
		op->has_id = true;
		break;
	case 'H':
		if (hb_uuid_parse(arg, strlen(arg), op->host) != 0)
			usage_error("invalid host uuid '%s'", arg);
		op->has_host = true;
		break;
	case 'n':
		if (parse_u32(arg, 1, MAX_COUNT, &op->count) < 0)
			usage_error("invalid count '%s' (1..%d)", arg, MAX_COUNT);
		op->has_count = true;
		break;
	case 'o':
		op->path = arg;
		break;
	case 'f':
		op->force = true;
		break;
	case 'h':
		fputs(usage_text, stdout);
		exit(0);
	case 'V':
		puts("hb-keygen " HB_PACKAGE_VERSION);
		exit(0);
	}
}

static void check_options(const struct opts *op)
{
	if (op->has_host && op->count > 1)
		usage_error("-H binds one host: it cannot be used with -n > 1");
	if (op->force && !op->path)
		usage_error("-f needs -o FILE");
	if (op->has_id && op->id > UINT32_MAX - (op->count - 1))
		usage_error("%u keys from id %u run past id 4294967295",
			    op->count, op->id);
}

static void parse_args(int argc, char **argv, struct opts *op)
{
	int c;

	memset(op, 0, sizeof(*op));
	op->count = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":i:H:n:o:fhV", long_opts,
				NULL)) != -1) {
		if (c == ':')
			usage_error("option -%c needs an argument", optopt);
		if (c == '?' && optopt)
			usage_error("invalid option -%c", optopt);
		if (c == '?')
			usage_error("invalid option '%s'", argv[optind - 1]);
		parse_option(c, optarg, op);
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	check_options(op);
}

/* A random first id such that all count ids are non-zero 32-bit ids. */
static uint32_t random_first_id(uint32_t count)
{
	return 1 + randombytes_uniform(UINT32_MAX - (count - 1));
}

/* A random version-4 (RFC 4122 variant) uuid. */
static void random_uuid(uint8_t id[16])
{
	randombytes_buf(id, 16);
	id[6] = (uint8_t)((id[6] & 0x0f) | 0x40);
	id[8] = (uint8_t)((id[8] & 0x3f) | 0x80);
}

/* Writes out the buffer, then wipes it. */
static int out_flush(struct out *o)
{
	size_t off = 0;
	ssize_t n;
	int rc = 0;

	while (off < o->len) {
		n = write(o->fd, o->buf + off, o->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			msg("cannot write %s: %s", o->name, strerror(errno));
			rc = -1;
			break;
		}
		off += (size_t)n;
	}
	sodium_memzero(o->buf, o->len);
	o->len = 0;
	return rc;
}

/* Appends s and a newline; s is shorter than the buffer. */
static int out_line(struct out *o, const char *s)
{
	size_t n = strlen(s);

	if (o->len + n + 1 > sizeof(o->buf) && out_flush(o) < 0)
		return -1;
	memcpy(o->buf + o->len, s, n);
	o->buf[o->len + n] = '\n';
	o->len += n + 1;
	return 0;
}

static int out_header(struct out *o)
{
	char stamp[32], line[96];
	time_t now = time(NULL);
	struct tm tm;

	if (!gmtime_r(&now, &tm) ||
	    !strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm))
		strcpy(stamp, "at an unknown time");
	snprintf(line, sizeof(line), "# hb key, generated %s by hb-keygen",
		 stamp);
	return out_line(o, line);
}

/* Generates one key with this id and appends its line. */
static int out_key(struct out *o, const struct opts *op, uint32_t id)
{
	uint8_t master[HB_KEY_LEN], host[16];
	const uint8_t *bind = NULL;
	char line[LINE_MAX_LEN];
	int rc = 0;

	if (op->has_host) {
		bind = op->host;
	} else if (op->has_count) {
		random_uuid(host);
		bind = host;
	}
	randombytes_buf(master, sizeof(master));
	if (hb_key_format(id, master, bind, line, sizeof(line)) != 0) {
		msg("cannot format key %u", id);
		rc = -1;
	}
	sodium_memzero(master, sizeof(master));
	if (rc == 0)
		rc = out_line(o, line);
	sodium_memzero(line, sizeof(line));
	return rc;
}

/* Writes the header and all keys to fd; name is for error messages. */
static int emit(int fd, const char *name, const struct opts *op,
		uint32_t first)
{
	static struct out o;
	int rc;

	o.fd = fd;
	o.name = name;
	o.len = 0;
	rc = out_header(&o);
	for (uint32_t i = 0; rc == 0 && i < op->count; i++)
		rc = out_key(&o, op, first + i);
	if (rc == 0)
		return out_flush(&o);
	sodium_memzero(o.buf, sizeof(o.buf));
	return rc;
}

/* Makes fd a 0600 file holding the keys, syncs and closes it. */
static int fill(int fd, const struct opts *op, uint32_t first)
{
	int rc = -1;

	if (fchmod(fd, 0600) < 0)
		msg("cannot chmod %s: %s", op->path, strerror(errno));
	else if (emit(fd, op->path, op, first) < 0)
		; /* emit() said why */
	else if (fsync(fd) < 0)
		msg("cannot sync %s: %s", op->path, strerror(errno));
	else
		rc = 0;
	if (close(fd) < 0 && rc == 0) {
		msg("cannot close %s: %s", op->path, strerror(errno));
		rc = -1;
	}
	return rc;
}

/* Length of path's directory part including the last slash, or 0. */
static size_t dir_len(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? (size_t)(slash - path) + 1 : 0;
}

/*
 * Syncs the directory holding path so that a new or renamed entry
 * survives a crash. Best effort: the data itself is already synced.
 */
static void sync_dir(const char *path)
{
	size_t n = dir_len(path);
	char *dir = n ? strndup(path, n) : strdup(".");
	int fd;

	if (!dir)
		return;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(dir);
}

/* Creates op->path, refusing to replace an existing file. */
static int write_new(const struct opts *op, uint32_t first)
{
	int fd = open(op->path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC,
		      0600);

	if (fd < 0) {
		msg("cannot create %s: %s%s", op->path, strerror(errno),
		    errno == EEXIST ? " (use -f to replace it)" : "");
		return -1;
	}
	if (fill(fd, op, first) < 0) {
		unlink(op->path);
		return -1;
	}
	sync_dir(op->path);
	return 0;
}

/* Writes a temporary file next to op->path and renames it over. */
static int write_replace(const struct opts *op, uint32_t first)
{
	size_t n = dir_len(op->path);
	char *tmp;
	int fd;

	if (asprintf(&tmp, "%.*s.%s.XXXXXX", (int)n, op->path,
		     op->path + n) < 0) {
		msg("out of memory");
		return -1;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		msg("cannot create %s: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	if (fill(fd, op, first) < 0)
		goto fail;
	if (rename(tmp, op->path) < 0) {
		msg("cannot replace %s: %s", op->path, strerror(errno));
		goto fail;
	}
	free(tmp);
	sync_dir(op->path);
	return 0;
fail:
	unlink(tmp);
	free(tmp);
	return -1;
}

int main(int argc, char **argv)
{
	struct opts op;
	uint32_t first;
	int rc;

	parse_args(argc, argv, &op);
	if (sodium_init() < 0) {
		msg("cannot initialise libsodium");
		return EXIT_IO;
	}
	first = op.has_id ? op.id : random_first_id(op.count);
	if (!op.path)
		return emit(STDOUT_FILENO, "standard output", &op, first) ?
			EXIT_IO : 0;
	rc = op.force ? write_replace(&op, first) : write_new(&op, first);
	if (rc < 0)
		return EXIT_IO;
	if (op.count == 1)
		msg("wrote key %u to %s", first, op.path);
	else
		msg("wrote keys %u..%u to %s", first, first + (op.count - 1),
		    op.path);
	return 0;
}
