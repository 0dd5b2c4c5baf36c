/* hb_daemon: detach, and report start-up to the waiting parent. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "hb_daemon.h"
#include "hb_log.h"

int hb_daemonize(int *ready_fd)
{
	int p[2], null;
	char status = 1;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		hb_log_err("daemonize: %s", strerror(errno));
		return -1;
	}
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], &status, 1) != 1)
			status = 1;
		_exit(status);
	}
	close(p[0]);
	setsid();
	if (chdir("/") < 0)
		return -1;
	if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
	*ready_fd = p[1];
	return 0;
}

void hb_daemon_ready(int ready_fd, int rc)
{
	char status = rc ? 1 : 0;

	if (ready_fd < 0)
		return;
	if (write(ready_fd, &status, 1) != 1)
		hb_log_warn("could not report start-up to the parent");
	close(ready_fd);
}
