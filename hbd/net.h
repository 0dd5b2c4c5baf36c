/*
 * net: hbd's UDP sockets. Binds the listen addresses (IPv4 and IPv6),
 * asks for a large receive buffer, drains each readable socket with
 * recvmmsg in batches, hands every datagram to a callback that may
 * produce a reply, and sends the batch's replies with one sendmmsg.
 * Counts the kernel's own queue overflows (SO_RXQ_OVFL) and truncated
 * datagrams, so no loss is silent.
 */
#ifndef HBD_NET_H
#define HBD_NET_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "counters.h"

struct ev_loop;

/* Called per datagram; writes a reply into reply[0..cap) or sets 0. */
typedef void (*net_datagram_cb)(void *ctx, uint8_t *buf, size_t len,
				const struct sockaddr_in6 *from,
				uint8_t *reply, size_t cap, size_t *reply_len);

struct net;

/* Creates the socket set; NULL on ENOMEM. */
struct net *net_new(struct counters *ctr);

/*
 * Binds addr ("0.0.0.0", "::", "127.0.0.1"...) on port (0: ephemeral)
 * with a receive buffer of rcvbuf bytes. Returns 0, or HB_EIO with the
 * reason in err. Logs the effective buffer, warns when it is smaller.
 */
int net_listen(struct net *n, const char *addr, uint16_t port,
	       uint32_t rcvbuf, char *err, size_t errlen);

/* The port the first socket is bound to (for ephemeral ports). */
uint16_t net_port(const struct net *n);

/* Starts watching the sockets on loop. */
void net_start(struct net *n, struct ev_loop *loop, net_datagram_cb cb,
	       void *ctx);

/* Stops watching; the sockets stay bound (for a reload). */
void net_stop(struct net *n);

/* Closes the sockets and frees. NULL allowed. */
void net_free(struct net *n);

#endif
