/*
 * sender: heartbeats, plugin data deliveries with retransmission and a
 * bounded spool, ACK acceptance, server failover and BYE. See sender.h;
 * the rules quoted are docs/PROTOCOL.md's.
 */
#define HB_LOG_MODULE HB_MOD_CLIENT
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hb_error.h"
#include "hb_frag.h"
#include "hb_frame.h"
#include "hb_log.h"
#include "hb_msg.h"
#include "sender.h"

#define HTB_AWAIT 16    /* recent HTBs whose ACK is still accepted */
#define TX_KEEP 4       /* transmissions of a delivery still ACKable */
#define NAME_MAX_LEN 64
#define MSG_LEN 256
#define SKEW_LOG_MS 1000
#define SKEW_WARN_MS 60000

struct tx {
	uint32_t epoch, seq; /* seq 0: empty */
	uint32_t server;
};

struct plug;

/* One PLG message until the server acknowledges it. */
struct delivery {
	struct delivery *prev, *next;
	struct plug *info; /* Info: its cache entry; NULL: Monitor */
	uint8_t *body;
	size_t len;
	bool inflight;
	uint32_t backoff_ms;
	uint64_t due; /* mono ms of the next retransmission */
	struct tx tx[TX_KEEP];
	unsigned ntx;
};

/* One plugin's latest status and, for Info plugins, the cached data. */
struct plug {
	char name[NAME_MAX_LEN + 1];
	uint8_t kind, status;
	uint32_t interval_s;
	char message[MSG_LEN];
	uint64_t time_ms;
	bool has_data;
	uint8_t *data;
	size_t len;
	uint8_t digest[HB_DIGEST_LEN];
	bool sent; /* the server acknowledged this data */
	struct delivery *pending;
};

struct sender {
	struct sender_opts o;
	struct hb_key key;
	struct sender_io io;
	uint8_t host_id[16];
	uint32_t epoch, seq; /* seq: the last one used */
	char *host_mem;  /* the texts below */
	const char *text[3 + 2 * HB_HTB_MAX_LABELS]; /* see set_host() */
	size_t n_labels;
	uint64_t start_time;
	bool has_boot_id;
	uint8_t boot_id[16];
	struct plug *plugs[HB_HTB_MAX_PLUGINS]; /* by name, bytewise */
	size_t n_plugs;
	struct delivery *head, *tail;
	size_t n_inflight;
	struct tx htb[HTB_AWAIT];
	unsigned htb_next;
	uint32_t cur, unanswered, probes;
	bool htb_sent, htb_answered; /* the last HTB to cur */
	uint32_t override_s;
	int skew_level;
	int64_t skew_logged;
	struct sender_stats st;
	char status_msg[MSG_LEN + NAME_MAX_LEN + 32];
	struct hb_htb m;
	uint8_t body[HB_FRAME_MAX];
	uint8_t dgram[HB_FRAME_MAX];
};

/* ---- small helpers ---- */

static uint64_t now_mono(struct sender *s)
{
	return s->io.mono_ms(s->io.ctx);
}

/* s[0..len) cut back to a UTF-8 character boundary at most max long. */
static uint32_t utf8_cut(const char *p, size_t len, size_t max)
{
	if (len <= max)
		return (uint32_t)len;
	while (max > 0 && ((unsigned char)p[max] & 0xc0) == 0x80)
		max--;
	return (uint32_t)max;
}

/* Copies text, control bytes made spaces (hbd refuses them). */
static void copy_text(char *dst, size_t cap, const char *src)
{
	size_t n = utf8_cut(src ? src : "", src ? strlen(src) : 0, cap - 1);

	for (size_t i = 0; i < n; i++)
		dst[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f
				 ? ' ' : src[i];
	dst[n] = '\0';
}

static const char *server_str(const struct sender *s, uint32_t server)
{
	return s->io.server_name ? s->io.server_name(s->io.ctx, server)
				 : "the server";
}

/* n consecutive seqs; a new epoch when they would run out. */
static int take_seqs(struct sender *s, uint32_t n, uint32_t *first)
{
	if (s->seq > UINT32_MAX - n) {
		uint32_t e;
		int rc = s->io.new_epoch ? s->io.new_epoch(s->io.ctx, &e)
					 : HB_EINVAL;

		if (rc < 0 || e <= s->epoch) {
			hb_log_err("sequence numbers exhausted and no new "
				   "epoch: not sending");
			return rc < 0 ? rc : HB_EINVAL;
		}
		hb_log_info("new epoch %" PRIu32, e);
		s->epoch = e;
		s->seq = 0;
	}
	*first = s->seq + 1;
	s->seq += n;
	return 0;
}

static void header(struct sender *s, struct hb_header *h, uint8_t type,
		   uint32_t seq)
{
	*h = (struct hb_header){.version = HB_VERSION, .type = type,
				.mode = s->o.mode,
				.key_id = s->o.mode ? s->key.id : 0,
				.epoch = s->epoch, .seq = seq,
				.time_ms = s->io.unix_ms(s->io.ctx)};
	memcpy(h->host_id, s->host_id, 16);
}

static int seal_send(struct sender *s, const struct hb_header *h,
		     const uint8_t *body, size_t len, uint32_t server)
{
	size_t n;
	int rc = hb_frame_seal(h, s->o.mode ? &s->key : NULL, body, len,
			       s->dgram, sizeof(s->dgram), &n);

	if (rc < 0) {
		hb_log_err("cannot seal a %s: %s", hb_type_name(h->type),
			   hb_strerror(rc));
		return rc;
	}
	s->st.datagrams++;
	if ((rc = s->io.send(s->io.ctx, server, s->dgram, n)) < 0)
		s->st.send_errors++;
	return rc;
}

/* ---- the plugin table ---- */

/* Index of plugin name, or where it would go (*found false). */
static size_t plug_pos(const struct sender *s, const char *name, bool *found)
{
	size_t i = 0;

	while (i < s->n_plugs && strcmp(s->plugs[i]->name, name) < 0)
		i++;
	*found = i < s->n_plugs && strcmp(s->plugs[i]->name, name) == 0;
	return i;
}

static struct plug *plug_get(struct sender *s, const char *name)
{
	bool found;
	size_t i = plug_pos(s, name, &found);
	struct plug *p;

	if (found)
		return s->plugs[i];
	if (s->n_plugs == HB_HTB_MAX_PLUGINS || !(p = calloc(1, sizeof(*p))))
		return NULL;
	snprintf(p->name, sizeof(p->name), "%s", name);
	memmove(s->plugs + i + 1, s->plugs + i,
		(s->n_plugs - i) * sizeof(*s->plugs));
	s->plugs[i] = p;
	s->n_plugs++;
	return p;
}

/* ---- the spool ---- */

static void unlink_delivery(struct sender *s, struct delivery *d)
{
	*(d->prev ? &d->prev->next : &s->head) = d->next;
	*(d->next ? &d->next->prev : &s->tail) = d->prev;
	if (d->inflight)
		s->n_inflight--;
	if (d->info && d->info->pending == d)
		d->info->pending = NULL;
	s->st.spool_bytes -= d->len;
	s->st.spool_count--;
	free(d->body);
	free(d);
}

/* Sends delivery d (again) to the current server, as new datagrams. */
static int transmit(struct sender *s, struct delivery *d)
{
	uint32_t first;
	uint16_t count;
	size_t chunk;
	int rc;

	rc = hb_frag_plan(d->len, s->o.max_datagram, s->o.mode, &count,
			  &chunk);
	if (rc < 0 || (rc = take_seqs(s, count, &first)) < 0)
		return rc;
	for (uint16_t f = 0; f < count; f++) {
		struct hb_header h;
		size_t off = f * chunk;

		header(s, &h, HB_PLG, first + f);
		if (count > 1)
			h.flags = HB_FLAG_FRAG, h.frag_msg = first,
			h.frag_index = f, h.frag_count = count;
		seal_send(s, &h, d->body + off,
			  f + 1 < count ? chunk : d->len - off, s->cur);
	}
	d->tx[d->ntx++ % TX_KEEP] = (struct tx){s->epoch, first, s->cur};
	if (d->ntx > 1)
		s->st.retransmits++;
	else
		s->st.plg++;
	return 0;
}

/* Transmits queued deliveries, oldest first, while the window allows. */
static void fill(struct sender *s)
{
	uint64_t now = now_mono(s);

	for (struct delivery *d = s->head;
	     d && s->n_inflight < SENDER_INFLIGHT_MAX; d = d->next) {
		if (d->inflight)
			continue;
		d->inflight = true;
		s->n_inflight++;
		d->backoff_ms = s->o.retransmit_ms;
		d->due = now + d->backoff_ms;
		transmit(s, d);
	}
}

/* Makes room for len bytes by dropping the oldest deliveries. */
static void make_room(struct sender *s, size_t len)
{
	while (s->head && s->st.spool_bytes + len > s->o.spool_bytes) {
		/* Logged at the 1st, 2nd, 4th, 8th... drop. */
		uint64_t n = ++s->st.spool_dropped;

		if (!(n & (n - 1)))
			hb_log_warn("spool full (%" PRIu64 " bytes): dropped "
				    "the oldest plugin data (%" PRIu64 " so "
				    "far)", s->o.spool_bytes, n);
		unlink_delivery(s, s->head);
	}
}

/* Queues a PLG body (taken over) for delivery. */
static int enqueue(struct sender *s, uint8_t *body, size_t len,
		   struct plug *info)
{
	struct delivery *d;

	if (len > s->o.spool_bytes) {
		s->st.spool_too_big++;
		free(body);
		return HB_ETOOBIG;
	}
	make_room(s, len);
	if (!(d = calloc(1, sizeof(*d)))) {
		free(body);
		return HB_ENOMEM;
	}
	*d = (struct delivery){.prev = s->tail, .info = info, .body = body,
			       .len = len};
	*(s->tail ? &s->tail->next : &s->head) = d;
	s->tail = d;
	s->st.spool_bytes += len;
	s->st.spool_count++;
	if (info)
		info->pending = d;
	fill(s);
	return 0;
}

/* The PLG body of plugin p's latest collection (data: NULL for nil). */
static int encode_plg(struct plug *p, const uint8_t *data, size_t len,
		      uint8_t **body, size_t *blen)
{
	static const uint8_t nil = 0xc0;
	struct hb_plg m = {
		.plugin = hb_str_c(p->name), .kind = p->kind,
		.time_ms = p->time_ms,
		.interval = p->kind == HB_KIND_MONITOR ? p->interval_s : 0,
		.status = p->status, .message = hb_str_c(p->message),
		.data = data ? data : &nil, .data_len = data ? (uint32_t)len : 1,
	};
	size_t cap = len + MSG_LEN + NAME_MAX_LEN + 128;
	int rc;

	if (!(*body = malloc(cap)))
		return HB_ENOMEM;
	if ((rc = hb_plg_encode(&m, *body, cap, blen)) < 0) {
		hb_log_warn("plugin %s: data not sent: %s", p->name,
			    hb_strerror(rc));
		free(*body);
	}
	return rc;
}

static int queue_info(struct sender *s, struct plug *p)
{
	uint8_t *body;
	size_t len;
	int rc = encode_plg(p, p->data, p->len, &body, &len);

	return rc < 0 ? rc : enqueue(s, body, len, p);
}

/* ---- samples ---- */

static int take_info(struct sender *s, struct plug *p,
		     const struct sender_sample *smp)
{
	uint8_t digest[HB_DIGEST_LEN];
	uint8_t *copy;

	if (!smp->data) /* a failed collection keeps the cached data */
		return 0;
	hb_data_digest(smp->data, smp->len, digest);
	if (p->has_data && p->len == smp->len &&
	    !memcmp(p->digest, digest, sizeof(digest)) &&
	    (p->sent || p->pending)) {
		s->st.info_unchanged++;
		return 0;
	}
	if (!(copy = malloc(smp->len ? smp->len : 1)))
		return HB_ENOMEM;
	memcpy(copy, smp->data, smp->len);
	free(p->data);
	p->data = copy;
	p->len = smp->len;
	p->has_data = true;
	memcpy(p->digest, digest, sizeof(digest));
	p->sent = false;
	/* Newer Info replaces older unacknowledged Info of this plugin. */
	if (p->pending)
		unlink_delivery(s, p->pending);
	return queue_info(s, p);
}

int sender_sample(struct sender *s, const struct sender_sample *smp)
{
	struct plug *p;
	uint8_t *body;
	size_t len;
	int rc;

	if (!hb_str_c(smp->plugin).len || strlen(smp->plugin) > NAME_MAX_LEN)
		return HB_EINVAL;
	if (!(p = plug_get(s, smp->plugin)))
		return HB_ENOMEM;
	p->kind = smp->kind;
	p->status = smp->status <= HB_STATUS_UNKNOWN ? smp->status
						     : HB_STATUS_UNKNOWN;
	p->interval_s = smp->interval_s;
	p->time_ms = smp->time_ms;
	copy_text(p->message, sizeof(p->message), smp->message);
	if (p->kind == HB_KIND_INFO)
		return take_info(s, p, smp);
	if ((rc = encode_plg(p, smp->data, smp->len, &body, &len)) < 0)
		return rc;
	return enqueue(s, body, len, NULL);
}

void sender_forget(struct sender *s, const char *plugin)
{
	bool found;
	size_t i = plug_pos(s, plugin, &found);
	struct plug *p;

	if (!found)
		return;
	p = s->plugs[i];
	for (struct delivery *d = s->head; d; d = d->next)
		if (d->info == p)
			d->info = NULL;
	free(p->data);
	free(p);
	memmove(s->plugs + i, s->plugs + i + 1,
		(s->n_plugs - i - 1) * sizeof(*s->plugs));
	s->n_plugs--;
}

/* ---- heartbeats ---- */

static bool listed(const struct plug *p)
{
	return p->kind != HB_KIND_INFO || p->has_data;
}

/* Overall status and the message naming the worst plugin. */
static void overall(struct sender *s, struct hb_htb *m)
{
	const struct plug *worst = NULL;
	size_t same = 0;

	m->status = HB_STATUS_OK;
	for (size_t i = 0; i < s->n_plugs; i++) {
		const struct plug *p = s->plugs[i];
		uint8_t w = hb_status_worst(m->status, p->status);

		if (p->status == HB_STATUS_OK)
			continue;
		if (!worst || w != m->status)
			worst = p, same = 0;
		else if (p->status == worst->status)
			same++;
		m->status = w;
	}
	s->status_msg[0] = '\0';
	if (worst) {
		int n = snprintf(s->status_msg, sizeof(s->status_msg), "%s: %s",
				 worst->name, worst->message[0]
						      ? worst->message
						      : hb_status_name(worst->status));

		if (same && n > 0 && (size_t)n < sizeof(s->status_msg))
			snprintf(s->status_msg + n, sizeof(s->status_msg) - n,
				 " (+%zu more)", same);
	}
	m->status_msg = hb_str_c(s->status_msg);
}

/* Plugin statuses (messages cut to msg_max) and the Info digest. */
static void plugins_and_digest(struct sender *s, struct hb_htb *m,
			       size_t msg_max)
{
	struct hb_digest dg;

	hb_digest_init(&dg);
	m->n_plugins = 0;
	for (size_t i = 0; i < s->n_plugs && m->n_plugins <
					      HB_HTB_MAX_PLUGINS; i++) {
		const struct plug *p = s->plugs[i];
		struct hb_htb_plugin *ps = &m->plugins[m->n_plugins];

		if (!listed(p))
			continue;
		ps->name = hb_str_c(p->name);
		ps->status = p->status;
		ps->message = (struct hb_str){
			p->message, utf8_cut(p->message, strlen(p->message),
					     msg_max)};
		m->n_plugins++;
		if (p->kind == HB_KIND_INFO)
			hb_digest_add(&dg, ps->name, p->data, p->len);
	}
	hb_digest_final(&dg, m->info_digest);
	m->has |= HB_HTB_HAS_DIGEST;
}

static int build_htb(struct sender *s, const struct sender_sys *sys,
		     size_t *len)
{
	static const size_t cuts[] = {MSG_LEN, 40, 0};
	struct hb_htb *m = &s->m;
	int rc = HB_ENOSPC;

	memset(m, 0, sizeof(*m));
	m->interval = sender_interval(s);
	m->hostname = hb_str_c(s->host_mem ? s->text[0] : "localhost");
	m->owner = hb_str_c(s->text[1]);
	m->version = hb_str_c(s->text[2]);
	m->start_time = s->start_time;
	m->uptime = sys ? sys->uptime : 0;
	if (s->has_boot_id) {
		m->has |= HB_HTB_HAS_BOOT_ID;
		memcpy(m->boot_id, s->boot_id, 16);
	}
	if (sys && sys->has_load) {
		m->has |= HB_HTB_HAS_LOAD;
		memcpy(m->load, sys->load, sizeof(m->load));
	}
	for (size_t i = 0; i < s->n_labels; i++)
		m->labels[i] = (struct hb_label){hb_str_c(s->text[3 + 2 * i]),
						 hb_str_c(s->text[4 + 2 * i])};
	m->n_labels = (uint32_t)s->n_labels;
	overall(s, m);
	/* An HTB is one datagram: long messages are cut to make it fit. */
	for (size_t c = 0; rc == HB_ENOSPC && c < 3; c++) {
		plugins_and_digest(s, m, cuts[c]);
		rc = hb_htb_encode(m, s->body, HB_FRAME_MAX - HB_HEADER_LEN -
					       HB_TAG_LEN, len);
	}
	return rc;
}

static int send_htb(struct sender *s, size_t len, uint32_t server)
{
	struct hb_header h;
	uint32_t seq;
	int rc = take_seqs(s, 1, &seq);

	if (rc < 0)
		return rc;
	header(s, &h, HB_HTB, seq);
	s->htb[s->htb_next++ % HTB_AWAIT] = (struct tx){s->epoch, seq, server};
	s->st.htb++;
	return seal_send(s, &h, s->body, len, server);
}

/*
 * Deliveries in flight go again to the server now in use, at once: all
 * of them after a change of server, else those that went unanswered.
 */
static void flush(struct sender *s, bool all)
{
	uint64_t now = now_mono(s);

	for (struct delivery *d = s->head; d; d = d->next) {
		if (!d->inflight ||
		    (!all && d->backoff_ms <= s->o.retransmit_ms))
			continue;
		transmit(s, d);
		d->backoff_ms = s->o.retransmit_ms;
		d->due = now + d->backoff_ms;
	}
	fill(s);
}

static void use_server(struct sender *s, uint32_t server, const char *why)
{
	if (server == 0)
		hb_log_info("%s: now sending to %s", why,
			    server_str(s, server));
	else
		hb_log_warn("%s: now sending to %s", why,
			    server_str(s, server));
	s->cur = server;
	s->unanswered = 0;
	s->probes = 0;
	s->htb_sent = false;
	flush(s, true);
}

/* Counts the last HTB to the current server; fails over when due. */
static void check_answered(struct sender *s)
{
	char why[96];

	if (s->htb_sent && !s->htb_answered)
		s->unanswered++;
	if (s->unanswered < s->o.failover_after)
		return;
	if (s->o.n_servers < 2) {
		if (s->unanswered == s->o.failover_after)
			hb_log_warn("%s: %" PRIu32 " heartbeats unanswered",
				    server_str(s, s->cur), s->unanswered);
		return;
	}
	s->st.failovers++;
	snprintf(why, sizeof(why), "%s: %" PRIu32 " heartbeats unanswered",
		 server_str(s, s->cur), s->unanswered);
	use_server(s, (s->cur + 1) % s->o.n_servers, why);
}

int sender_heartbeat(struct sender *s, const struct sender_sys *sys)
{
	size_t len;
	int rc;

	check_answered(s);
	if ((rc = build_htb(s, sys, &len)) < 0) {
		hb_log_err("cannot encode the heartbeat: %s", hb_strerror(rc));
		return rc;
	}
	rc = send_htb(s, len, s->cur);
	s->htb_sent = true;
	s->htb_answered = false;
	/* Away from the first server: probe it to come back. */
	if (s->cur != 0 && ++s->probes % s->o.failover_after == 0)
		send_htb(s, len, 0);
	return rc;
}

/* ---- ACKs ---- */

static void log_skew(struct sender *s, uint64_t server_ms)
{
	int64_t skew = (int64_t)(s->io.unix_ms(s->io.ctx) - server_ms);
	int64_t mag = skew < 0 ? -skew : skew;
	int level = mag > SKEW_WARN_MS ? 2 : mag > SKEW_LOG_MS ? 1 : 0;
	int64_t moved = skew - s->skew_logged;

	if (level == s->skew_level &&
	    (level == 0 || (moved < SKEW_LOG_MS && moved > -SKEW_LOG_MS)))
		return;
	s->skew_level = level;
	s->skew_logged = skew;
	if (level == 2)
		hb_log_warn("clock skew %+.3f s against the server (ours "
			    "minus its): check NTP", skew / 1000.0);
	else
		hb_log_info("clock skew %+.3f s against the server",
			    skew / 1000.0);
}

static void apply_interval(struct sender *s, uint32_t want)
{
	if (want > SENDER_INTERVAL_OVERRIDE_MAX)
		want = SENDER_INTERVAL_OVERRIDE_MAX;
	if (want == s->override_s)
		return;
	if (want)
		hb_log_warn("server asks for a %" PRIu32 " s heartbeat "
			    "interval", want);
	else
		hb_log_info("back to the configured %" PRIu32 " s heartbeat "
			    "interval", s->o.interval_s);
	s->override_s = want;
	if (s->io.interval_changed)
		s->io.interval_changed(s->io.ctx, sender_interval(s));
}

/* request_update: every Info plugin's data goes again, fresh if can be. */
static void request_update(struct sender *s)
{
	s->st.requests_update++;
	hb_log_info("server asks for all Info data");
	for (size_t i = 0; i < s->n_plugs; i++) {
		struct plug *p = s->plugs[i];

		if (p->kind != HB_KIND_INFO || !p->has_data)
			continue;
		p->sent = false;
		if (!p->pending)
			queue_info(s, p);
	}
	if (s->io.recollect_info)
		s->io.recollect_info(s->io.ctx);
}

static void htb_acked(struct sender *s, struct tx *t, const struct hb_ack *a)
{
	uint32_t server = t->server;

	t->seq = 0;
	if (server == s->cur) {
		if (s->unanswered >= s->o.failover_after)
			hb_log_info("%s answers again", server_str(s, server));
		s->unanswered = 0;
		s->htb_answered = true;
	} else if (server == 0) {
		use_server(s, 0, "first server answers again");
	}
	apply_interval(s, a->interval);
	if (a->request_update)
		request_update(s);
	flush(s, false);
}

static void plg_acked(struct sender *s, struct delivery *d)
{
	if (d->info) {
		d->info->sent = true;
		d->info->pending = NULL;
		d->info = NULL;
	}
	unlink_delivery(s, d);
	fill(s);
}

/* Finds what (ack_epoch, ack_seq) names: an HTB or a delivery. */
static int match(struct sender *s, const struct hb_ack *a, struct tx **t,
		 struct delivery **dv)
{
	if (a->ack_seq == 0)
		return HB_EREPLAY;
	for (unsigned i = 0; i < HTB_AWAIT; i++) {
		if (s->htb[i].seq == a->ack_seq &&
		    s->htb[i].epoch == a->ack_epoch) {
			*t = &s->htb[i];
			return 0;
		}
	}
	for (struct delivery *d = s->head; d; d = d->next) {
		for (unsigned i = 0; i < TX_KEEP && i < d->ntx; i++) {
			if (d->tx[i].seq == a->ack_seq &&
			    d->tx[i].epoch == a->ack_epoch) {
				*dv = d;
				return 0;
			}
		}
	}
	return HB_EREPLAY;
}

static int open_ack(struct sender *s, uint8_t *buf, size_t len,
		    struct hb_header *h, struct hb_ack *a)
{
	const uint8_t *body;
	size_t blen;
	int rc;

	if ((rc = hb_frame_parse(buf, len, h)) < 0)
		return rc;
	if (h->type != HB_ACK)
		return HB_ETYPE;
	if (h->mode != s->o.mode)
		return HB_EMODE;
	if (s->o.mode && h->key_id != s->key.id)
		return HB_EKEYID;
	if (memcmp(h->host_id, s->host_id, 16) != 0)
		return HB_EHOST;
	if ((rc = hb_frame_open(buf, len, h, s->o.mode ? &s->key : NULL,
				&body, &blen)) < 0)
		return rc;
	return hb_ack_decode(body, blen, a);
}

int sender_receive(struct sender *s, uint8_t *buf, size_t len)
{
	struct delivery *d = NULL;
	struct hb_header h;
	struct hb_ack a;
	struct tx *t = NULL;
	int rc;

	if ((rc = open_ack(s, buf, len, &h, &a)) < 0) {
		s->st.acks_refused++;
		hb_log_debug("datagram refused: %s", hb_errname(rc));
		return rc;
	}
	if ((rc = match(s, &a, &t, &d)) < 0) {
		s->st.acks_unknown++;
		hb_log_debug("ACK of %" PRIu32 "/%" PRIu32 ": not awaited",
			     a.ack_epoch, a.ack_seq);
		return rc;
	}
	s->st.acks++;
	log_skew(s, h.time_ms);
	if (t)
		htb_acked(s, t, &a);
	else
		plg_acked(s, d);
	return 0;
}

/* ---- timing, BYE ---- */

void sender_tick(struct sender *s)
{
	uint64_t now = now_mono(s);

	for (struct delivery *d = s->head; d; d = d->next) {
		if (!d->inflight || d->due > now)
			continue;
		transmit(s, d);
		d->backoff_ms = d->backoff_ms * 2 > s->o.retransmit_max_ms
					? s->o.retransmit_max_ms
					: d->backoff_ms * 2;
		d->due = now + d->backoff_ms;
	}
}

uint64_t sender_next_due(const struct sender *s)
{
	uint64_t due = UINT64_MAX;

	for (const struct delivery *d = s->head; d; d = d->next)
		if (d->inflight && d->due < due)
			due = d->due;
	return due;
}

void sender_bye(struct sender *s, const char *reason)
{
	struct hb_bye m = {hb_str_c(reason)};
	uint8_t body[256];
	size_t len;

	if (hb_bye_encode(&m, body, sizeof(body), &len) < 0)
		return;
	for (int i = 0; i < 2; i++) {
		struct hb_header h;
		uint32_t seq;

		if (take_seqs(s, 1, &seq) < 0)
			return;
		header(s, &h, HB_BYE, seq);
		s->st.bye++;
		seal_send(s, &h, body, len, s->cur);
	}
}

/* ---- life cycle ---- */

static bool opts_ok(const struct sender_opts *o)
{
	return o->mode <= HB_MODE_ENCRYPT && (o->mode == 0 || o->key) &&
	       o->interval_s >= HB_INTERVAL_MIN &&
	       o->interval_s <= HB_INTERVAL_MAX && o->n_servers >= 1 &&
	       o->failover_after >= 1 && o->retransmit_ms >= 1 &&
	       o->retransmit_max_ms >= o->retransmit_ms &&
	       o->max_datagram >= HB_FRAME_MIN &&
	       o->max_datagram <= HB_FRAME_MAX;
}

int sender_reconfigure(struct sender *s, const struct sender_opts *o)
{
	uint32_t before = sender_interval(s);

	if (!opts_ok(o))
		return HB_EINVAL;
	if (o->key)
		s->key = *o->key;
	if (o->n_servers != s->o.n_servers) {
		memset(s->htb, 0, sizeof(s->htb));
		s->cur = 0;
		s->unanswered = 0;
		s->probes = 0;
		s->htb_sent = false;
	}
	s->o = *o;
	s->o.key = NULL;
	make_room(s, 0);
	if (sender_interval(s) != before && s->io.interval_changed)
		s->io.interval_changed(s->io.ctx, sender_interval(s));
	return 0;
}

struct sender *sender_new(const uint8_t host_id[16], uint32_t epoch,
			  const struct sender_opts *o,
			  const struct sender_io *io)
{
	struct sender *s;

	if (!opts_ok(o) || !epoch || !io->send || !io->unix_ms ||
	    !io->mono_ms || !(s = calloc(1, sizeof(*s))))
		return NULL;
	s->o = *o;
	s->o.key = NULL;
	if (o->key)
		s->key = *o->key;
	s->io = *io;
	memcpy(s->host_id, host_id, 16);
	s->epoch = epoch;
	return s;
}

/* text[]: hostname, owner, version, then each label's key and value. */
int sender_set_host(struct sender *s, const struct sender_host *h)
{
	size_t n = h->n_labels < HB_HTB_MAX_LABELS ? h->n_labels
						   : HB_HTB_MAX_LABELS;
	const char *src[3 + 2 * HB_HTB_MAX_LABELS] = {h->hostname, h->owner,
						      h->version};
	size_t need = 0, k, cnt = 3 + 2 * n;
	char *mem;

	for (k = 0; k < n; k++) {
		src[3 + 2 * k] = h->labels[k].key;
		src[4 + 2 * k] = h->labels[k].value;
	}
	for (k = 0; k < cnt; k++)
		need += (src[k] ? strlen(src[k]) : 0) + 1;
	if (!(mem = malloc(need)))
		return HB_ENOMEM;
	free(s->host_mem);
	s->host_mem = mem;
	for (k = 0; k < cnt; k++) {
		copy_text(mem, 256, src[k]);
		s->text[k] = mem;
		mem += strlen(mem) + 1;
	}
	s->n_labels = n;
	s->start_time = h->start_time;
	s->has_boot_id = h->boot_id != NULL;
	if (h->boot_id)
		memcpy(s->boot_id, h->boot_id, 16);
	return 0;
}

void sender_free(struct sender *s)
{
	if (!s)
		return;
	while (s->head)
		unlink_delivery(s, s->head);
	for (size_t i = 0; i < s->n_plugs; i++) {
		free(s->plugs[i]->data);
		free(s->plugs[i]);
	}
	free(s->host_mem);
	hb_key_wipe(&s->key);
	free(s);
}

uint32_t sender_interval(const struct sender *s)
{
	return s->override_s ? s->override_s : s->o.interval_s;
}

uint32_t sender_server(const struct sender *s)
{
	return s->cur;
}

void sender_get_stats(const struct sender *s, struct sender_stats *st)
{
	*st = s->st;
}
