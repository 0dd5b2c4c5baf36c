/*
 * runner_child: the process of an isolated plugin and the wire between
 * it and hbc's runner. Private to runner.c and runner_child.c.
 *
 * The child is hbc re-executed: argv "hbc --plugin-child 3 PATH 4", the
 * socket on fd 3, its setup on fd 4 (a memfd: the parent's pid, log
 * levels, host id and hostname, and the plugin's hbc.yaml section
 * re-serialised as YAML). Passing the section itself, not the hbc.yaml
 * path, spares the child re-reading a file that may have changed since
 * (or that it can't read), and keeps secrets out of its command line.
 *
 * On the socket, every child-to-parent message is a frame: a u32 (host
 * order: both ends are the same binary) counting the bytes that follow,
 * then a type byte:
 *   'H' "HBPLUG 1" u8 kind, u32 default_interval, name   (loaded)
 *   'E' "HBPLUG 1" i32 code, error text                  (load failed)
 *   'S' u8 status, u8 n, message[n], u64 time_ms, data   (a sample)
 * The child sends H or E first, then one S per request: the parent's
 * only request is the byte 'C' (collect). EOF on the socket, or SIGTERM
 * while idle, makes the child run cleanup() and exit.
 */
#ifndef HBC_RUNNER_CHILD_H
#define HBC_RUNNER_CHILD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "plugin_host.h"

struct hb_conf_doc;
struct hb_conf_node;

#define RUNNER_FRAME_MAX   (PLUGIN_DATA_MAX + 512) /* bytes after the u32 */
#define RUNNER_REQ_COLLECT 'C'

enum { RUNNER_HELLO = 'H', RUNNER_LOADERR = 'E', RUNNER_SAMPLE = 'S' };

/* A decoded frame. s.data is malloc'd (a sample with data). */
struct runner_msg {
	int type;
	char name[65]; /* HELLO */
	int kind;
	uint32_t interval;
	int code; /* LOADERR */
	char err[256];
	struct plugin_sample s; /* SAMPLE */
};

/* A child process as hbc sees it. */
struct runner_proc {
	char *path;   /* the plugin */
	int setupfd;  /* runner_setup_fd()'s */
	pid_t pid;    /* not reaped yet, or 0 */
	int fd;	      /* our end of the socket, non-blocking; or -1 */
	uint8_t *buf; /* 4 + RUNNER_FRAME_MAX bytes: a frame being read */
	size_t have;
};

enum {
	RUNNER_RX_FRAME = 1, /* a frame, decoded into the message */
	RUNNER_RX_MORE = 0,  /* nothing more to read for now */
	RUNNER_RX_EOF = -1,  /* the child closed the socket (or it failed) */
	RUNNER_RX_BAD = -2,  /* a malformed frame */
};

/*
 * A private copy of section (NULL: *copy NULL), in a document of its
 * own: *doc, freed with hb_conf_doc_free(). Returns 0 or a negative code
 * with the reason in err.
 */
int runner_section_copy(const struct hb_conf_node *section,
			struct hb_conf_doc **doc,
			const struct hb_conf_node **copy, char *err,
			size_t errlen);

/*
 * A new memfd (above fd 4) holding a child's setup. Returns the fd, or
 * a negative code with the reason in err.
 */
int runner_setup_fd(const struct hb_conf_node *section,
		    const struct plugin_host_info *info, char *err,
		    size_t errlen);

/* Spawns the child (c->pid, c->fd). Returns 0 or an errno. */
int runner_spawn(struct runner_proc *c);

/* Reads toward one frame without blocking: RUNNER_RX_*. */
int runner_rx(struct runner_proc *c, struct runner_msg *m);

/*
 * Spawns the child and waits up to ms for its hello, in *m. Returns 0,
 * or a negative code with the reason in err ("wrong ABI major 2 (hbc
 * speaks 1)", "plugin process died while loading: signal 11
 * (SIGSEGV)"), the child then killed and reaped, c->fd closed.
 */
int runner_start(struct runner_proc *c, int ms, struct runner_msg *m, char *err,
		 size_t errlen);

/* "signal 11 (SIGSEGV)", "exit status 1"; status < 0: "status unknown". */
void runner_status_text(int status, char *buf, size_t len);

#endif
