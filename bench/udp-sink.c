/*
 * udp-sink: the machine's raw UDP receive rate, as a yardstick for hbd.
 * It binds 127.0.0.1 (port 0: any free one), asks for an 8 MiB receive
 * buffer (SO_RCVBUFFORCE as root, else SO_RCVBUF up to rmem_max), and
 * counts datagrams with recvmmsg, doing nothing else with them. It prints
 * "port N" on stdout once bound; on SIGTERM/SIGINT, or after -d seconds,
 * it prints one JSON object: datagrams and bytes received, kernel drops
 * (SO_RXQ_OVFL) and the effective buffer size, then exits 0.
 *
 * usage: udp-sink [-p PORT] [-d SECONDS] [-b BYTES]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define DGRAM_MAX 2048
#define DURATION_MAX 3600.0

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(void)
{
	fprintf(stderr, "usage: udp-sink [-p PORT] [-d SECONDS] [-b BYTES]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static uint8_t buf[BATCH][DGRAM_MAX];
	static char ctrl[BATCH][CMSG_SPACE(sizeof(uint32_t))];
	struct mmsghdr m[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_in sa = {.sin_family = AF_INET};
	struct sigaction sig = {.sa_handler = on_signal};
	socklen_t len = sizeof(sa);
	uint64_t count = 0, bytes = 0, batches = 0;
	uint32_t drops = 0;
	double duration = 60, end, first = 0, last = 0;
	int port = 0, rcvbuf = 8 << 20, got = 0, one = 1, fd, c;

	while ((c = getopt(argc, argv, "p:d:b:")) != -1) {
		switch (c) {
		case 'p': port = atoi(optarg); break;
		case 'd': duration = atof(optarg); break;
		case 'b': rcvbuf = atoi(optarg); break;
		default: usage();
		}
	}
	if (port < 0 || port > 65535 || !(duration > 0) ||
	    duration > DURATION_MAX || rcvbuf <= 0)
		usage();
	sigaction(SIGTERM, &sig, NULL);
	sigaction(SIGINT, &sig, NULL);

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("udp-sink: socket");
		return 1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
		       sizeof(rcvbuf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	len = sizeof(got);
	getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len);
	setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("udp-sink: bind");
		return 1;
	}
	len = sizeof(sa);
	getsockname(fd, (struct sockaddr *)&sa, &len);
	printf("port %u\n", ntohs(sa.sin_port));
	fflush(stdout);

	for (int i = 0; i < BATCH; i++) {
		iov[i].iov_base = buf[i];
		iov[i].iov_len = sizeof(buf[i]);
	}
	end = mono() + duration;
	while (!stop) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		double now = mono();
		int n;

		if (now >= end)
			break;
		/* Short waits: SIGTERM and the deadline are seen promptly. */
		if (poll(&p, 1, 100) <= 0)
			continue;
		for (int i = 0; i < BATCH; i++) {
			m[i].msg_hdr = (struct msghdr){
				.msg_iov = &iov[i],
				.msg_iovlen = 1,
				.msg_control = ctrl[i],
				.msg_controllen = sizeof(ctrl[i]),
			};
		}
		n = recvmmsg(fd, m, BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			perror("udp-sink: recvmmsg");
			return 1;
		}
		if (!count && n)
			first = now;
		batches++;
		for (int i = 0; i < n; i++) {
			struct msghdr *mh = &m[i].msg_hdr;

			bytes += m[i].msg_len;
			for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm;
			     cm = CMSG_NXTHDR(mh, cm))
				if (cm->cmsg_level == SOL_SOCKET &&
				    cm->cmsg_type == SO_RXQ_OVFL)
					memcpy(&drops, CMSG_DATA(cm),
					       sizeof(drops));
		}
		count += (uint64_t)n;
		last = mono();
	}
	printf("{\"received\":%" PRIu64 ",\"bytes\":%" PRIu64
	       ",\"kernel_drops\":%" PRIu32 ",\"batches\":%" PRIu64
	       ",\"rcvbuf\":%d,\"active_s\":%.3f}\n",
	       count, bytes, drops, batches, got / 2,
	       count ? last - first : 0.0);
	return 0;
}
