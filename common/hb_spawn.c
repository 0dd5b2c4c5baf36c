/* hb_spawn: posix_spawn with a clean child. */
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>

#include "hb_spawn.h"

int hb_spawn(pid_t *pid, char *const *argv, char *const *envp, int out_fd,
	     int err_fd)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t sa;
	sigset_t none, all;
	int e;

	sigemptyset(&none);
	sigfillset(&all);
	/* glibc's init and set functions only store values: they can't fail. */
	posix_spawnattr_init(&sa);
	posix_spawnattr_setsigmask(&sa, &none);
	posix_spawnattr_setsigdefault(&sa, &all);
	posix_spawnattr_setflags(&sa, POSIX_SPAWN_SETSIGMASK |
					      POSIX_SPAWN_SETSIGDEF |
					      POSIX_SPAWN_SETSID);
	posix_spawn_file_actions_init(&fa);
	if (!(e = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null",
						   O_RDONLY, 0)) &&
	    !(e = posix_spawn_file_actions_adddup2(&fa, out_fd, 1)) &&
	    !(e = posix_spawn_file_actions_adddup2(&fa, err_fd, 2)) &&
	    !(e = posix_spawn_file_actions_addclosefrom_np(&fa, 3)))
		e = posix_spawn(pid, argv[0], &fa, &sa, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&sa);
	return e;
}
