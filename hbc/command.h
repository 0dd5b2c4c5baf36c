/*
 * command: runs an external program for a plugin (plugin.h's
 * run_command) and captures what it writes. No shell: argv[0] is an
 * absolute path executed directly, with the rest of argv as written.
 *
 * The child gets /dev/null on stdin, a pipe each on stdout and stderr,
 * no other descriptors, default signal dispositions, an empty signal
 * mask, its own session (so its process group can be killed as a
 * whole) and only PATH=/usr/sbin:/usr/bin:/sbin:/bin and LANG=C in its
 * environment.
 *
 * A run ends when the child exits: what is left of its process group
 * (background jobs it started) is then killed, so a command leaves
 * nothing behind, and output written after the exit is lost. At the
 * timeout the whole group is killed. The status is reaped with waitpid()
 * on the child's own pid: a SIGCHLD handler that reaps every child
 * (libev's default loop does) would steal it — hbc must not use one.
 *
 * Safe to call from several threads at once: no global state, and every
 * descriptor is close-on-exec, so concurrent runs don't leak pipes into
 * each other's children.
 */
#ifndef HBC_COMMAND_H
#define HBC_COMMAND_H

#include <stddef.h>
#include <stdint.h>

#include "hb/plugin.h"

#define HBC_COMMAND_OUT_DEFAULT (64 * 1024) /* out_max 0 */

/*
 * Runs argv (NULL-terminated, argv[0] an absolute path) for at most
 * timeout_ms (0: HB_COMMAND_TIMEOUT_DEFAULT_MS; capped at
 * HB_COMMAND_TIMEOUT_MAX_MS) and fills *res: stdout and stderr, each
 * NUL-terminated and cut at out_max bytes (0: HBC_COMMAND_OUT_DEFAULT;
 * the rest is read and discarded, truncated set), and the exit status:
 * the exit code, or 128 + the signal that killed it (128 + 9 and
 * timed_out set after a timeout).
 *
 * Returns 0 when the command ran, whatever its status. When it could
 * not be run, returns HB_EINVAL (bad argv) or HB_EIO (spawn or exec
 * failed: missing file, not executable...) with exit_status -1 and the
 * reason in res->err; HB_ENOMEM. exit_status is also -1 if the status
 * was reaped by someone else. Free res with hbc_command_free() in every
 * case.
 */
int hbc_command_run(const char *const *argv, uint32_t timeout_ms,
		    size_t out_max, struct hb_command_result *res);

/* Frees the outputs and zeroes res. NULL, and a zeroed res, allowed. */
void hbc_command_free(struct hb_command_result *res);

#endif
