/*
 * hb_daemon: detaching a daemon so that whoever started it learns the
 * real outcome of its start-up: the parent waits on a pipe until the
 * child reports success or failure, and exits with that status.
 */
#ifndef HB_DAEMON_H
#define HB_DAEMON_H

/*
 * Forks, makes the child a session leader in /, with stdio on /dev/null;
 * the parent never returns. Call before any thread exists (fork keeps
 * only the caller). Returns 0 in the child with *ready_fd to pass to
 * hb_daemon_ready(), or -1 (logged).
 */
int hb_daemonize(int *ready_fd);

/*
 * Tells the waiting parent how start-up went (0: success, the parent
 * exits 0; else it exits 1) and closes ready_fd. ready_fd < 0: nothing.
 */
void hb_daemon_ready(int ready_fd, int rc);

#endif
