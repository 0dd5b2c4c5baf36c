/*
 * command: runs a plugin's external command (command.h).
 *
 * The child is started with posix_spawn(), which in glibc is a
 * vfork-like clone: cheap however big hbc is, safe next to other
 * threads, and an exec failure comes back to us as its return value
 * instead of as an exit status. Both pipes are read with poll() until
 * the child exits; the exit is seen through a pidfd when the kernel has
 * them (else by polling in short slices) and checked with waitid(...
 * WNOWAIT), which leaves the child a zombie: its pid, and so its process
 * group id, cannot be reused until we reap it, so killing the group
 * afterwards never hits a stranger.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "command.h"
#include "hb_spawn.h"
#include "hb_error.h"
#include "hb_time.h"

#define BUF_START 4096  /* first allocation of a stream's buffer */
#define SLICE_MS 10     /* exit polling when no pidfd can be had */
#define READS 16        /* reads of one pipe per wakeup */
#define READS_LAST 64   /* reads of one pipe once the run is over */
#define STATUS_KILLED (128 + SIGKILL)

/* One captured output stream. */
struct stream {
	int fd;    /* our end of the pipe, -1 once at EOF */
	char *buf; /* cap + 1 bytes, NUL-terminated */
	size_t len, cap, max;
	bool truncated;
};

struct run {
	pid_t pid;
	int pidfd; /* -1: none, exits are polled for */
	struct stream s[2]; /* stdout, stderr */
};

/* The whole environment of a command: nothing of hbc's leaks through. */
static char *const envp[] = {
	"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
	"LANG=C",
	NULL,
};

static int stream_init(struct stream *s, size_t max)
{
	s->fd = -1;
	s->len = 0;
	s->max = max;
	s->truncated = false;
	s->cap = max < BUF_START ? max : BUF_START;
	if (!(s->buf = malloc(s->cap + 1)))
		return HB_ENOMEM;
	s->buf[0] = '\0';
	return 0;
}

/* Room for more bytes, up to max; false when full (or out of memory). */
static bool stream_room(struct stream *s)
{
	size_t cap;
	char *p;

	if (s->len < s->cap)
		return true;
	if (s->cap >= s->max)
		return false;
	cap = s->cap > s->max / 2 ? s->max : s->cap * 2;
	if (!(p = realloc(s->buf, cap + 1)))
		return false; /* what doesn't fit is dropped, as past max */
	s->buf = p;
	s->cap = cap;
	return true;
}

static void stream_close(struct stream *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/*
 * Reads what the pipe holds (non-blocking), keeping up to max bytes; at
 * most `reads` reads, so an endless writer can't keep us from the
 * deadline.
 */
static void stream_read(struct stream *s, int reads)
{
	char scratch[4096];

	while (s->fd >= 0 && reads-- > 0) {
		bool keep = stream_room(s);
		ssize_t n = keep ? read(s->fd, s->buf + s->len, s->cap - s->len)
				 : read(s->fd, scratch, sizeof(scratch));

		if (n > 0 && keep) {
			s->len += (size_t)n;
			s->buf[s->len] = '\0';
		} else if (n > 0) {
			s->truncated = true;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && errno == EAGAIN) {
			return;
		} else { /* EOF or error: nothing more will come */
			stream_close(s);
		}
	}
}

/*
 * A pipe end that lands on 0, 1 or 2 (hbc started with them closed)
 * would be clobbered by the child's dup2s: move it above.
 */
static int high_fd(int fd)
{
	int nfd;

	if (fd > 2)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return nfd;
}

static int make_pipe(int p[2])
{
	if (pipe2(p, O_CLOEXEC) < 0)
		return errno;
	p[0] = high_fd(p[0]);
	p[1] = high_fd(p[1]);
	if (p[0] >= 0 && p[1] >= 0)
		return 0;
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	return EMFILE;
}

/* Starts the child with its two pipes; returns 0 or an errno. */
static int start(struct run *r, const char *const *argv)
{
	int out[2], err[2], e;

	if ((e = make_pipe(out)))
		return e;
	if ((e = make_pipe(err))) {
		close(out[0]);
		close(out[1]);
		return e;
	}
	e = hb_spawn(&r->pid, (char *const *)argv, envp, out[1], err[1]);
	/* Only the child holds the write ends now: EOF means it is done. */
	close(out[1]);
	close(err[1]);
	if (e) {
		close(out[0]);
		close(err[0]);
		return e;
	}
	/* Only our ends are non-blocking: the child writes as it likes. */
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(err[0], F_SETFL, O_NONBLOCK);
	r->s[0].fd = out[0];
	r->s[1].fd = err[0];
	r->pidfd = pidfd_open(r->pid, 0);
	return 0;
}

/* 1: the child has exited (not reaped yet); 0: not yet; -1: lost. */
static int has_exited(pid_t pid)
{
	siginfo_t si;
	int rc;

	memset(&si, 0, sizeof(si));
	do
		rc = waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT);
	while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return -1; /* ECHILD: someone else reaped it */
	return si.si_pid == pid;
}

/*
 * Reads both pipes until the child exits (returns 1), the deadline
 * passes (0) or its status is lost (-1).
 */
static int pump(struct run *r, uint64_t deadline)
{
	for (;;) {
		struct pollfd pfd[3] = {
			{.fd = r->s[0].fd, .events = POLLIN},
			{.fd = r->s[1].fd, .events = POLLIN},
			{.fd = r->pidfd, .events = POLLIN},
		};
		uint64_t now = hb_mono_ms();
		int st = has_exited(r->pid);
		uint64_t wait;

		if (st)
			return st;
		if (now >= deadline)
			return 0;
		wait = deadline - now;
		if (r->pidfd < 0 && wait > SLICE_MS)
			wait = SLICE_MS;
		/* Errors (EINTR, ENOMEM) just retry: the deadline holds. */
		if (poll(pfd, 3, (int)wait) <= 0)
			continue;
		for (int i = 0; i < 2; i++)
			if (pfd[i].revents)
				stream_read(&r->s[i], READS);
	}
}

static int reap(pid_t pid)
{
	pid_t rc;
	int st;

	do
		rc = waitpid(pid, &st, 0);
	while (rc < 0 && errno == EINTR);
	if (rc != pid)
		return -1;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
}

/*
 * Ends a run: the group is killed (all of it at the timeout, its
 * leftovers after an exit), what the pipes still hold is read and the
 * child reaped. Returns the exit status.
 */
static int finish(struct run *r, int how)
{
	int status = -1;

	if (how >= 0)
		kill(-r->pid, SIGKILL);
	if (how == 0)
		kill(r->pid, SIGKILL); /* in case it left its group */
	if (how >= 0)
		status = reap(r->pid);
	for (int i = 0; i < 2; i++) {
		stream_read(&r->s[i], READS_LAST);
		stream_close(&r->s[i]);
	}
	if (r->pidfd >= 0)
		close(r->pidfd);
	return how == 0 ? STATUS_KILLED : status;
}

/* Replaces res->err with a message about why nothing ran. */
__attribute__((format(printf, 2, 3))) static void
not_run(struct hb_command_result *res, const char *fmt, ...)
{
	va_list ap;
	char *msg;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return; /* the empty err stays */
	free(res->err);
	res->err = msg;
	res->err_len = (size_t)n;
}

static void set_result(struct hb_command_result *res, struct run *r)
{
	res->out = r->s[0].buf;
	res->out_len = r->s[0].len;
	res->err = r->s[1].buf;
	res->err_len = r->s[1].len;
	res->truncated = r->s[0].truncated || r->s[1].truncated;
}

static uint32_t clamp_timeout(uint32_t ms)
{
	if (ms == 0)
		return HB_COMMAND_TIMEOUT_DEFAULT_MS;
	return ms > HB_COMMAND_TIMEOUT_MAX_MS ? HB_COMMAND_TIMEOUT_MAX_MS : ms;
}

int hbc_command_run(const char *const *argv, uint32_t timeout_ms,
		    size_t out_max, struct hb_command_result *res)
{
	uint64_t deadline = hb_mono_ms() + clamp_timeout(timeout_ms);
	struct run r = {.pid = -1, .pidfd = -1};
	int e, how;

	memset(res, 0, sizeof(*res));
	res->exit_status = -1;
	if (!out_max)
		out_max = HBC_COMMAND_OUT_DEFAULT;
	if (stream_init(&r.s[0], out_max) || stream_init(&r.s[1], out_max)) {
		free(r.s[0].buf);
		free(r.s[1].buf);
		return HB_ENOMEM;
	}
	set_result(res, &r);
	if (!argv || !argv[0] || argv[0][0] != '/') {
		not_run(res, "argv[0] must be an absolute path: %s",
			argv && argv[0] ? argv[0] : "(none)");
		return HB_EINVAL;
	}
	if ((e = start(&r, argv))) {
		not_run(res, "%s: %s", argv[0], strerrordesc_np(e));
		return e == ENOMEM ? HB_ENOMEM : HB_EIO;
	}
	how = pump(&r, deadline);
	res->exit_status = finish(&r, how);
	res->timed_out = how == 0;
	set_result(res, &r);
	return 0;
}

void hbc_command_free(struct hb_command_result *res)
{
	if (!res)
		return;
	free(res->out);
	free(res->err);
	memset(res, 0, sizeof(*res));
}
