/*
 * runner_child: the process of an isolated plugin, and both ends of its
 * wire (runner_child.h): what hbc's runner needs to spawn it, copy its
 * section and read its frames, and the child's main.
 *
 * The section travels as YAML in flow style with every scalar
 * double-quoted and every character outside printable ASCII escaped:
 * whatever the original text held, libyaml reads back the same tree
 * (hb_conf types values by table, not by YAML, so quoting changes
 * nothing). Positions in messages about a copy are the copy's.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create, closefrom, sigabbrev_np */
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hb_conf.h"
#include "hb_error.h"
#include "hb_json.h"
#include "hb_mpr.h"
#include "hb_time.h"
#include "runner.h"
#include "runner_child.h"

#define HB_LOG_MODULE HB_MOD_PLUGIN
#include "hb_log.h"

#define MAGIC	     "HBPLUG 1"
#define MAGIC_LEN    8
#define SOCK_FD	     3
#define SETUP_FD     4
#define SETUP_MAGIC  "HBSETUP 1"
#define SETUP_FIELDS 5 /* magic, ppid, log levels, host id, hostname */
#define SETUP_MAX    (2 * HB_CONF_FILE_MAX)

extern char **environ;

/* --- the section as YAML ---------------------------------------------- */

/* Decodes one UTF-8 character; an invalid byte stands for itself. */
static size_t utf8_next(const unsigned char *p, uint32_t *cp)
{
	size_t n = *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : *p >= 0xc0 ? 2 : 1;
	uint32_t v = n == 1 ? *p : *p & (0x3f >> (n - 1));

	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			*cp = *p;
			return 1;
		}
		v = v << 6 | (p[i] & 0x3f);
	}
	*cp = v;
	return n;
}

static int put_quoted(struct hb_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	int rc = hb_buf_append(b, "\"", 1);
	char esc[12];
	uint32_t cp;

	while (!rc && *p) {
		size_t n = utf8_next(p, &cp);

		if (cp >= 0x20 && cp < 0x7f && cp != '"' && cp != '\\') {
			rc = hb_buf_append(b, p, 1);
		} else {
			snprintf(esc, sizeof(esc), "\\U%08" PRIX32, cp);
			rc = hb_buf_append(b, esc, 10);
		}
		p += n;
	}
	return rc ? rc : hb_buf_append(b, "\"", 1);
}

/* Depth is the original document's, which hb_conf bounded. */
static int put_node(struct hb_buf *b, const struct hb_conf_node *n)
{
	enum hb_conf_kind kind = hb_conf_node_kind(n);
	size_t count = hb_conf_node_count(n);
	int rc;

	if (kind == HB_CONF_NULL)
		return hb_buf_append(b, "null", 4);
	if (kind == HB_CONF_SCALAR)
		return put_quoted(b, hb_conf_node_text(n));
	rc = hb_buf_append(b, kind == HB_CONF_MAPPING ? "{" : "[", 1);
	for (size_t i = 0; i < count && !rc; i++) {
		if (i)
			rc = hb_buf_append(b, ", ", 2);
		if (!rc && kind == HB_CONF_MAPPING &&
		    !(rc = put_quoted(
			  b, hb_conf_node_text(hb_conf_node_key(n, i)))))
			rc = hb_buf_append(b, ": ", 2);
		if (!rc)
			rc = put_node(b, hb_conf_node_at(n, i));
	}
	return rc ? rc
		  : hb_buf_append(b, kind == HB_CONF_MAPPING ? "}" : "]", 1);
}

/* Parses "s: <flow>" into a document of its own. */
static int parse_section(const char *yaml, size_t len, struct hb_conf_doc **doc,
			 const struct hb_conf_node **out, char *err,
			 size_t errlen)
{
	static const struct hb_conf_key table[] = {
	    {.name = "s", .type = HB_CONF_NODE, .offset = 0},
	    HB_CONF_END,
	};
	struct hb_conf_errors errs = {0};
	int rc = hb_conf_load_string("plugin section", yaml, len, table, out,
				     doc, &errs);

	if (rc)
		snprintf(err, errlen, "plugin section: %s",
			 errs.count ? errs.v[0].text : hb_strerror(rc));
	hb_conf_errors_free(&errs);
	return rc;
}

int runner_section_copy(const struct hb_conf_node *section,
			struct hb_conf_doc **doc,
			const struct hb_conf_node **copy, char *err,
			size_t errlen)
{
	struct hb_buf b;
	int rc;

	*doc = NULL;
	*copy = NULL;
	if (hb_conf_node_kind(section) == HB_CONF_NULL)
		return 0;
	hb_buf_init(&b);
	if ((rc = hb_buf_append(&b, "s: ", 3)) || (rc = put_node(&b, section)))
		snprintf(err, errlen, "plugin section: %s", hb_strerror(rc));
	else
		rc = parse_section(b.data, b.len, doc, copy, err, errlen);
	hb_buf_free(&b);
	return rc;
}

static int put_field(struct hb_buf *b, const char *s)
{
	return hb_buf_append(b, s ? s : "", strlen(s ? s : "") + 1);
}

static int build_setup(struct hb_buf *b, const struct hb_conf_node *section,
		       const struct plugin_host_info *info)
{
	char ppid[16], levels[HB_MOD_COUNT + 1];
	int rc;

	snprintf(ppid, sizeof(ppid), "%d", (int)getpid());
	for (int i = 0; i < HB_MOD_COUNT; i++)
		levels[i] = (char)('0' + hb__log_levels[i]);
	levels[HB_MOD_COUNT] = '\0';
	if ((rc = put_field(b, SETUP_MAGIC)) || (rc = put_field(b, ppid)) ||
	    (rc = put_field(b, levels)) ||
	    (rc = put_field(b, info ? info->host_id : NULL)) ||
	    (rc = put_field(b, info ? info->hostname : NULL)))
		return rc;
	if (hb_conf_node_kind(section) == HB_CONF_NULL)
		return 0;
	if ((rc = hb_buf_append(b, "s: ", 3)) || (rc = put_node(b, section)))
		return rc;
	return b->len > SETUP_MAX ? HB_ETOOBIG : 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* fd moved above the two the child gets, so dup2()s can't collide. */
static int fd_above(int fd)
{
	int hi;

	if (fd > SETUP_FD)
		return fd;
	hi = fcntl(fd, F_DUPFD_CLOEXEC, SETUP_FD + 1);
	close(fd);
	return hi;
}

int runner_setup_fd(const struct hb_conf_node *section,
		    const struct plugin_host_info *info, char *err,
		    size_t errlen)
{
	struct hb_buf b;
	int fd = -1, rc;

	hb_buf_init(&b);
	if ((rc = build_setup(&b, section, info))) {
		snprintf(err, errlen, "plugin section: %s", hb_strerror(rc));
		goto out;
	}
	if ((fd = memfd_create("hbc-plugin-setup", MFD_CLOEXEC)) < 0 ||
	    write_all(fd, b.data, b.len) < 0 || (fd = fd_above(fd)) < 0) {
		snprintf(err, errlen, "memfd: %s", strerror(errno));
		rc = HB_EIO;
	}
out:
	hb_buf_free(&b);
	if (rc && fd >= 0)
		close(fd);
	return rc ? rc : fd;
}

/* --- reading frames (the parent) ---------------------------------------- */

static void copy_text(char *dst, size_t cap, const uint8_t *src, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	/* One log line per message: control bytes could forge others. */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)dst[i] < 0x20 || dst[i] == 0x7f)
			dst[i] = '?';
}

static int decode_hello(const uint8_t *b, size_t len, struct runner_msg *m)
{
	size_t n;

	if (len < MAGIC_LEN + 5 + 1 || memcmp(b, MAGIC, MAGIC_LEN))
		return HB_EMSGPACK;
	b += MAGIC_LEN;
	m->kind = b[0];
	memcpy(&m->interval, b + 1, 4);
	n = len - MAGIC_LEN - 5;
	if (n >= sizeof(m->name) || memchr(b + 5, '\0', n) ||
	    (m->kind != HB_PLUGIN_INFO && m->kind != HB_PLUGIN_MONITOR))
		return HB_EMSGPACK;
	copy_text(m->name, sizeof(m->name), b + 5, n);
	return 0;
}

static int decode_loaderr(const uint8_t *b, size_t len, struct runner_msg *m)
{
	int32_t code;

	if (len < MAGIC_LEN + 4 || memcmp(b, MAGIC, MAGIC_LEN))
		return HB_EMSGPACK;
	memcpy(&code, b + MAGIC_LEN, 4);
	m->code = code < 0 ? code : HB_EINVAL;
	copy_text(m->err, sizeof(m->err), b + MAGIC_LEN + 4,
		  len - MAGIC_LEN - 4);
	return 0;
}

static int decode_sample(const uint8_t *b, size_t len, struct runner_msg *m)
{
	struct plugin_sample *s = &m->s;
	size_t n, dlen;

	if (len < 2 || b[0] > HB_PLUGIN_UNKNOWN || len < 2 + (size_t)b[1] + 8)
		return HB_EMSGPACK;
	s->status = b[0];
	n = b[1];
	copy_text(s->message, sizeof(s->message), b + 2, n);
	memcpy(&s->time_ms, b + 2 + n, 8);
	b += 2 + n + 8;
	dlen = len - 2 - n - 8;
	/* The child is our code, but the plugin shares its memory. */
	if (dlen > PLUGIN_DATA_MAX || (dlen && hb_mpr_check(b, dlen)))
		return HB_EMSGPACK;
	if (dlen && !(s->data = malloc(dlen)))
		return HB_ENOMEM;
	if (dlen)
		memcpy(s->data, b, dlen);
	s->len = dlen;
	return 0;
}

static int decode(const uint8_t *b, size_t len, struct runner_msg *m)
{
	memset(m, 0, sizeof(*m));
	if (len < 1)
		return HB_EMSGPACK;
	m->type = b[0];
	switch (m->type) {
	case RUNNER_HELLO: return decode_hello(b + 1, len - 1, m);
	case RUNNER_LOADERR: return decode_loaderr(b + 1, len - 1, m);
	case RUNNER_SAMPLE: return decode_sample(b + 1, len - 1, m);
	}
	return HB_EMSGPACK;
}

/* One frame at a time: the child never sends more than asked for. */
int runner_rx(struct runner_proc *c, struct runner_msg *m)
{
	for (;;) {
		size_t need = 4;
		uint32_t len;
		ssize_t n;

		if (c->have >= 4) {
			memcpy(&len, c->buf, 4);
			if (!len || len > RUNNER_FRAME_MAX)
				return RUNNER_RX_BAD;
			need = 4 + (size_t)len;
			if (c->have == need) {
				c->have = 0;
				return decode(c->buf + 4, len, m)
					   ? RUNNER_RX_BAD
					   : RUNNER_RX_FRAME;
			}
		}
		n = read(c->fd, c->buf + c->have, need - c->have);
		if (n > 0)
			c->have += (size_t)n;
		else if (n == 0)
			return RUNNER_RX_EOF;
		else if (errno == EAGAIN || errno == EWOULDBLOCK)
			return RUNNER_RX_MORE;
		else if (errno != EINTR)
			return RUNNER_RX_EOF;
	}
}

static int rx_wait(struct runner_proc *c, struct runner_msg *m, int ms)
{
	uint64_t end = hb_mono_ms() + (uint64_t)ms, now;
	struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
	int rc;

	while ((rc = runner_rx(c, m)) == RUNNER_RX_MORE &&
	       (now = hb_mono_ms()) < end)
		poll(&pfd, 1, (int)(end - now));
	return rc;
}

/* --- spawning (the parent) --------------------------------------------- */

void runner_status_text(int status, char *buf, size_t len)
{
	const char *abbrev;

	if (status < 0) {
		snprintf(buf, len, "status unknown");
	} else if (WIFSIGNALED(status)) {
		abbrev = sigabbrev_np(WTERMSIG(status));
		snprintf(buf, len, "signal %d (SIG%s)", WTERMSIG(status),
			 abbrev ? abbrev : "?");
	} else {
		snprintf(buf, len, "exit status %d", WEXITSTATUS(status));
	}
}

/*
 * The child gets an empty signal mask, default dispositions, its own
 * process group (a terminal's ^C is for hbc, which then ends its
 * children), /dev/null on stdin, stdout onto stderr, the socket on 3,
 * the setup on 4, no other descriptors, and hbc's environment.
 */
int runner_spawn(struct runner_proc *c)
{
	char fd_arg[] = "3", setup_arg[] = "4", opt[] = "--plugin-child";
	char *argv[] = {
	    program_invocation_name, opt, fd_arg, c->path, setup_arg, NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t sa;
	sigset_t none, all;
	int sv[2], err;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return errno;
	if ((sv[1] = fd_above(sv[1])) < 0) {
		err = errno;
		close(sv[0]);
		return err;
	}
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	sigemptyset(&none);
	sigfillset(&all);
	/* glibc's init and set functions only store values: can't fail. */
	posix_spawnattr_init(&sa);
	posix_spawnattr_setsigmask(&sa, &none);
	posix_spawnattr_setsigdefault(&sa, &all);
	posix_spawnattr_setpgroup(&sa, 0);
	posix_spawnattr_setflags(&sa, POSIX_SPAWN_SETSIGMASK |
					  POSIX_SPAWN_SETSIGDEF |
					  POSIX_SPAWN_SETPGROUP);
	posix_spawn_file_actions_init(&fa);
	if (!(err = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null",
						     O_RDONLY, 0)) &&
	    !(err = posix_spawn_file_actions_adddup2(&fa, 2, 1)) &&
	    !(err = posix_spawn_file_actions_adddup2(&fa, sv[1], SOCK_FD)) &&
	    !(err = posix_spawn_file_actions_adddup2(&fa, c->setupfd,
						     SETUP_FD)) &&
	    !(err =
		  posix_spawn_file_actions_addclosefrom_np(&fa, SETUP_FD + 1)))
		err = posix_spawn(&c->pid, "/proc/self/exe", &fa, &sa, argv,
				  environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&sa);
	close(sv[1]);
	c->have = 0;
	if (err) {
		close(sv[0]);
		c->pid = 0;
	} else {
		c->fd = sv[0];
	}
	return err;
}

/* Why the child did not come up (rc: rx_wait()'s); it is reaped. */
static int start_failed(struct runner_proc *c, int rc, struct runner_msg *m,
			int ms, char *err, size_t errlen)
{
	int status = -1;
	char how[64];

	kill(c->pid, SIGKILL);
	while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
		;
	c->pid = 0;
	close(c->fd);
	c->fd = -1;
	runner_status_text(status, how, sizeof(how));
	if (rc == RUNNER_RX_FRAME && m->type == RUNNER_LOADERR)
		snprintf(err, errlen, "%s", m->err);
	else if (rc == RUNNER_RX_MORE)
		snprintf(err, errlen, "plugin process not ready after %d ms",
			 ms);
	else if (rc == RUNNER_RX_EOF)
		snprintf(err, errlen, "plugin process died while loading: %s",
			 how);
	else
		snprintf(err, errlen, "plugin process sent a malformed answer");
	if (rc == RUNNER_RX_FRAME)
		plugin_sample_free(&m->s);
	return rc == RUNNER_RX_FRAME && m->type == RUNNER_LOADERR ? m->code
								  : HB_EIO;
}

int runner_start(struct runner_proc *c, int ms, struct runner_msg *m, char *err,
		 size_t errlen)
{
	int rc = runner_spawn(c);

	if (rc) {
		snprintf(err, errlen, "spawn /proc/self/exe: %s", strerror(rc));
		return HB_EIO;
	}
	rc = rx_wait(c, m, ms);
	if (rc == RUNNER_RX_FRAME && m->type == RUNNER_HELLO)
		return 0;
	return start_failed(c, rc, m, ms, err, errlen);
}

/* --- the child --------------------------------------------------------- */

struct child {
	int fd;
	const char *path;
	char *setup;
	size_t setup_len;
	const char *yaml; /* in setup, after the fields */
	size_t yaml_len;
	const char *field[SETUP_FIELDS];
	struct hb_conf_doc *doc;
	const struct hb_conf_node *section;
	struct plugin_host *host;
	uint8_t frame[4 + RUNNER_FRAME_MAX];
};

static volatile sig_atomic_t stopping;

static void on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

static int send_frame(struct child *c, size_t len)
{
	uint32_t n = (uint32_t)len;
	const uint8_t *p = c->frame;

	memcpy(c->frame, &n, 4);
	len += 4;
	while (len) {
		ssize_t k = send(c->fd, p, len, MSG_NOSIGNAL);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

static int send_loaderr(struct child *c, int code, const char *text)
{
	size_t n = strlen(text);
	int32_t v = code;

	if (n > 1000)
		n = 1000;
	c->frame[4] = RUNNER_LOADERR;
	memcpy(c->frame + 5, MAGIC, MAGIC_LEN);
	memcpy(c->frame + 5 + MAGIC_LEN, &v, 4);
	memcpy(c->frame + 9 + MAGIC_LEN, text, n);
	return send_frame(c, 1 + MAGIC_LEN + 4 + n);
}

static int send_hello(struct child *c)
{
	const char *name = plugin_host_name(c->host);
	uint32_t interval = plugin_host_default_interval(c->host);
	size_t n = strlen(name);

	c->frame[4] = RUNNER_HELLO;
	memcpy(c->frame + 5, MAGIC, MAGIC_LEN);
	c->frame[5 + MAGIC_LEN] = (uint8_t)plugin_host_kind(c->host);
	memcpy(c->frame + 6 + MAGIC_LEN, &interval, 4);
	memcpy(c->frame + 10 + MAGIC_LEN, name, n);
	return send_frame(c, 1 + MAGIC_LEN + 5 + n);
}

static int send_sample(struct child *c, struct plugin_sample *s)
{
	size_t n = strnlen(s->message, 255), dlen = s->data ? s->len : 0;
	uint8_t *p = c->frame + 4;

	/* plugin_host bounds the data; this guards the frame regardless. */
	if (dlen > PLUGIN_DATA_MAX) {
		s->status = HB_PLUGIN_UNKNOWN;
		n = (size_t)snprintf(s->message, sizeof(s->message),
				     "data larger than %d bytes",
				     PLUGIN_DATA_MAX);
		dlen = 0;
	}
	*p++ = RUNNER_SAMPLE;
	*p++ = s->status;
	*p++ = (uint8_t)n;
	memcpy(p, s->message, n);
	memcpy(p + n, &s->time_ms, 8);
	if (dlen)
		memcpy(p + n + 8, s->data, dlen);
	return send_frame(c, 3 + n + 8 + dlen);
}

static int read_setup(struct child *c, int fd)
{
	struct stat st;
	size_t at = 0, k = 0;

	if (fstat(fd, &st) < 0 || st.st_size <= 0 ||
	    (size_t)st.st_size > SETUP_MAX ||
	    !(c->setup = malloc((size_t)st.st_size + 1)))
		return -1;
	c->setup_len = (size_t)st.st_size;
	while (at < c->setup_len) {
		ssize_t n =
		    pread(fd, c->setup + at, c->setup_len - at, (off_t)at);

		if (n <= 0 && !(n < 0 && errno == EINTR))
			return -1;
		at += n > 0 ? (size_t)n : 0;
	}
	c->setup[c->setup_len] = '\0';
	for (size_t i = 0; i < SETUP_FIELDS; i++) {
		if (k >= c->setup_len)
			return -1;
		c->field[i] = c->setup + k;
		k += strlen(c->field[i]) + 1;
	}
	c->yaml = c->setup + k;
	c->yaml_len = c->setup_len - k;
	return strcmp(c->field[0], SETUP_MAGIC) ? -1 : 0;
}

/* Log levels as hbc had them; then the section, if there is one. */
static int apply_setup(struct child *c, char *err, size_t errlen)
{
	const char *lv = c->field[2];

	for (int i = 0; i < HB_MOD_COUNT && lv[i] >= '0' && lv[i] <= '3'; i++)
		hb__log_levels[i] = (unsigned char)(lv[i] - '0');
	if (!c->yaml_len)
		return 0;
	return parse_section(c->yaml, c->yaml_len, &c->doc, &c->section, err,
			     errlen);
}

static void child_signals(const char *ppid)
{
	struct sigaction sa = {.sa_handler = on_term};

	/* No SA_RESTART: SIGTERM interrupts the wait for a request. */
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* hbc gone: nobody to answer; the socket's EOF would tell too,
	 * but not a child stuck in collect(). */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != (pid_t)atoi(ppid))
		_exit(1);
}

static int load(struct child *c)
{
	struct plugin_host_info info;
	char err[512] = "";
	int rc = HB_EINVAL;

	if (read_setup(c, SETUP_FD) < 0) {
		snprintf(err, sizeof(err), "plugin process: bad setup");
	} else {
		child_signals(c->field[1]);
		info.host_id = c->field[3];
		info.hostname = c->field[4];
		if (!(rc = apply_setup(c, err, sizeof(err))))
			rc = plugin_host_load(c->path, c->section, &info,
					      &c->host, err, sizeof(err));
	}
	close(SETUP_FD);
	if (rc)
		send_loaderr(c, rc, err);
	else if (send_hello(c))
		rc = HB_EIO;
	return rc;
}

static void serve(struct child *c)
{
	struct plugin_sample s;
	char req;

	while (!stopping) {
		ssize_t n = read(c->fd, &req, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || req != RUNNER_REQ_COLLECT)
			return;
		memset(&s, 0, sizeof(s));
		plugin_host_collect(c->host, &s);
		n = send_sample(c, &s);
		plugin_sample_free(&s);
		if (n)
			return;
	}
}

int runner_child_main(int fd, int argc, char **argv)
{
	struct child *c;
	int rc;

	if (argc < 5 || fd != SOCK_FD || atoi(argv[4]) != SETUP_FD) {
		fprintf(stderr, "%s: --plugin-child is for hbc's own use\n",
			argv[0]);
		return 2;
	}
	hb_log_open("hbc-plugin", false);
	if (!(c = calloc(1, sizeof(*c))))
		return 1;
	c->fd = fd;
	c->path = argv[3];
	if (!(rc = load(c))) {
		serve(c);
		plugin_host_unload(c->host);
	}
	hb_conf_doc_free(c->doc);
	free(c->setup);
	free(c);
	return rc ? 1 : 0;
}
