/*
 * net: sockets, recvmmsg batches and batched replies. Replies are
 * collected while a batch is processed and sent together, one syscall
 * for up to BATCH ACKs.
 */
#define HB_LOG_MODULE HB_MOD_NET
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "hb_error.h"
#include "hb_frame.h"
#include "hb_log.h"
#include "net.h"

#define BATCH 64
#define MAX_SOCKS 8
#define REPLY_MAX 512
#define BATCHES_PER_WAKEUP 32 /* then let the other sockets and timers run */

struct sock {
	int fd;
	int family;
	uint32_t ovfl; /* last SO_RXQ_OVFL value seen */
	ev_io w;
	struct net *net;
};

struct net {
	struct counters *ctr;
	struct sock socks[MAX_SOCKS];
	int n;
	net_datagram_cb cb;
	void *ctx;
	struct ev_loop *loop;
	/* receive batch */
	struct mmsghdr in[BATCH];
	struct iovec in_iov[BATCH];
	struct sockaddr_storage in_addr[BATCH];
	char in_ctrl[BATCH][CMSG_SPACE(sizeof(uint32_t))];
	uint8_t in_buf[BATCH][HB_FRAME_MAX + 1];
	/* replies */
	struct mmsghdr out[BATCH];
	struct iovec out_iov[BATCH];
	struct sockaddr_storage out_addr[BATCH];
	uint8_t out_buf[BATCH][REPLY_MAX];
};

struct net *net_new(struct counters *ctr)
{
	struct net *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->ctr = ctr;
	for (int i = 0; i < BATCH; i++) {
		n->in_iov[i].iov_base = n->in_buf[i];
		n->in_iov[i].iov_len = sizeof(n->in_buf[i]);
		n->out_iov[i].iov_base = n->out_buf[i];
	}
	return n;
}

static int fail(char *err, size_t errlen, const char *what, const char *addr)
{
	snprintf(err, errlen, "%s %s: %s", what, addr, strerror(errno));
	return HB_EIO;
}

/* Root may exceed net.core.rmem_max; others get what it allows. */
static void set_rcvbuf(int fd, uint32_t want, const char *addr)
{
	int v = (int)want, got = 0;
	socklen_t len = sizeof(got);

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len);
	got /= 2; /* the kernel reports twice what it accounts as payload */
	if ((uint32_t)got < want)
		hb_log_warn("%s: receive buffer %d bytes, not %u: raise "
			    "net.core.rmem_max or run as root",
			    addr, got, want);
	else
		hb_log_info("%s: receive buffer %d bytes", addr, got);
}

int net_listen(struct net *n, const char *addr, uint16_t port,
	       uint32_t rcvbuf, char *err, size_t errlen)
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int fd, one = 1;

	if (n->n == MAX_SOCKS) {
		snprintf(err, errlen, "more than %d listen addresses", MAX_SOCKS);
		return HB_EINVAL;
	}
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		len = sizeof(*s4);
	} else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		len = sizeof(*s6);
	} else {
		snprintf(err, errlen, "listen %s: not an IPv4 or IPv6 address",
			 addr);
		return HB_EINVAL;
	}
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(err, errlen, "socket for", addr);
	/* "::" must not also take IPv4: "0.0.0.0" is listed on its own. */
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
	set_rcvbuf(fd, rcvbuf, addr);
	if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
		int rc = fail(err, errlen, "bind", addr);

		close(fd);
		return rc;
	}
	n->socks[n->n].fd = fd;
	n->socks[n->n].family = ss.ss_family;
	n->socks[n->n].net = n;
	n->n++;
	return 0;
}

uint16_t net_port(const struct net *n)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (!n->n || getsockname(n->socks[0].fd, (struct sockaddr *)&ss, &len))
		return 0;
	return ntohs(ss.ss_family == AF_INET
			     ? ((struct sockaddr_in *)&ss)->sin_port
			     : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* Source address as IPv6 (IPv4 mapped), the one form ingest knows. */
static void to_v6(const struct sockaddr_storage *ss, struct sockaddr_in6 *out)
{
	if (ss->ss_family == AF_INET6) {
		*out = *(const struct sockaddr_in6 *)ss;
		return;
	}
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

	memset(out, 0, sizeof(*out));
	out->sin6_family = AF_INET6;
	out->sin6_port = s4->sin_port;
	out->sin6_addr.s6_addr[10] = 0xff;
	out->sin6_addr.s6_addr[11] = 0xff;
	memcpy(&out->sin6_addr.s6_addr[12], &s4->sin_addr, 4);
}

static void note_overflow(struct sock *s, struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		uint32_t v;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SO_RXQ_OVFL)
			continue;
		memcpy(&v, CMSG_DATA(c), sizeof(v));
		/* A running total per socket; count what is new. */
		s->net->ctr->v[CTR_KERNEL_DROPS] += v - s->ovfl;
		s->ovfl = v;
	}
}

static void send_replies(struct sock *s, int n_out)
{
	int sent = 0;

	while (sent < n_out) {
		int r = sendmmsg(s->fd, s->net->out + sent,
				 (unsigned)(n_out - sent), MSG_DONTWAIT);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			/* A full send buffer: drop the rest, they are ACKs. */
			s->net->ctr->v[CTR_SEND_ERRORS] += (uint64_t)(n_out - sent);
			return;
		}
		sent += r;
	}
}

/* Processes one received batch of n datagrams and sends their replies. */
static void process(struct sock *s, int n)
{
	struct net *net = s->net;
	int n_out = 0;

	for (int i = 0; i < n; i++) {
		struct msghdr *mh = &net->in[i].msg_hdr;
		struct sockaddr_in6 from;
		size_t reply_len;

		note_overflow(s, mh);
		if (mh->msg_flags & MSG_TRUNC) {
			net->ctr->v[CTR_TRUNCATED]++;
			net->ctr->v[counter_drop(HB_ETOOBIG)]++;
			continue;
		}
		to_v6(&net->in_addr[i], &from);
		net->cb(net->ctx, net->in_buf[i], net->in[i].msg_len, &from,
			net->out_buf[n_out], REPLY_MAX, &reply_len);
		if (!reply_len)
			continue;
		net->out_iov[n_out].iov_len = reply_len;
		net->out_addr[n_out] = net->in_addr[i];
		net->out[n_out].msg_hdr = (struct msghdr){
			.msg_name = &net->out_addr[n_out],
			.msg_namelen = mh->msg_namelen,
			.msg_iov = &net->out_iov[n_out],
			.msg_iovlen = 1,
		};
		n_out++;
	}
	if (n_out)
		send_replies(s, n_out);
}

static void readable_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sock *s = w->data;
	struct net *net = s->net;

	for (int b = 0; b < BATCHES_PER_WAKEUP; b++) {
		int n;

		for (int i = 0; i < BATCH; i++) {
			net->in[i].msg_hdr = (struct msghdr){
				.msg_name = &net->in_addr[i],
				.msg_namelen = sizeof(net->in_addr[i]),
				.msg_iov = &net->in_iov[i],
				.msg_iovlen = 1,
				.msg_control = net->in_ctrl[i],
				.msg_controllen = sizeof(net->in_ctrl[i]),
			};
		}
		n = recvmmsg(s->fd, net->in, BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0) {
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				hb_log_warn("recvmmsg: %s", strerror(errno));
			return;
		}
		process(s, n);
		if (n < BATCH)
			return;
	}
}

void net_start(struct net *n, struct ev_loop *loop, net_datagram_cb cb,
	       void *ctx)
{
	n->cb = cb;
	n->ctx = ctx;
	n->loop = loop;
	for (int i = 0; i < n->n; i++) {
		ev_io_init(&n->socks[i].w, readable_cb, n->socks[i].fd, EV_READ);
		n->socks[i].w.data = &n->socks[i];
		ev_io_start(loop, &n->socks[i].w);
	}
}

void net_stop(struct net *n)
{
	for (int i = 0; n->loop && i < n->n; i++)
		ev_io_stop(n->loop, &n->socks[i].w);
}

void net_free(struct net *n)
{
	if (!n)
		return;
	net_stop(n);
	for (int i = 0; i < n->n; i++)
		close(n->socks[i].fd);
	free(n);
}
