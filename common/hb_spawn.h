/*
 * hb_spawn: starting a command the way hb runs every outside program
 * (hooks, plugins' run_command): execve of an absolute path, no shell,
 * in a session of its own (so a timeout can kill its whole group), with
 * an empty signal mask and default dispositions, stdin on /dev/null,
 * stdout and stderr on the given descriptors, no other descriptor.
 */
#ifndef HB_SPAWN_H
#define HB_SPAWN_H

#include <sys/types.h>

/*
 * Spawns argv[0] with argv and envp, stdout on out_fd and stderr on
 * err_fd (they may be the same). Returns 0 and *pid, or an errno.
 * (glibc leaves its two internal signals, 32 and 33, ignored in the
 * child; sigaction() cannot reach them and glibc programs reclaim them.)
 */
int hb_spawn(pid_t *pid, char *const *argv, char *const *envp, int out_fd,
	     int err_fd);

#endif
