/*
 * ingest: one datagram's way through hbd. The cheap checks come first
 * (header, mode, skew, key id, replay window) so that a flood of junk
 * costs little; only then the MAC or AEAD, and only an authenticated
 * datagram may create a host, move its replay window or reach a decoder
 * that allocates.
 */
#define HB_LOG_MODULE HB_MOD_INGEST
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "hb_error.h"
#include "hb_frame.h"
#include "hb_log.h"
#include "hb_mpr.h"
#include "hb_time.h"
#include "ingest.h"

void ingest_init(struct ingest *in, struct hosts *hosts, struct statem *sm,
		 const struct hb_keyring *keys, struct hb_reasm *reasm,
		 struct store *store, struct counters *ctr,
		 const struct ingest_opts *opts, uint32_t server_epoch)
{
	memset(in, 0, sizeof(*in));
	in->hosts = hosts;
	in->sm = sm;
	in->keys = keys;
	in->reasm = reasm;
	in->store = store;
	in->ctr = ctr;
	in->opts = *opts;
	in->server_epoch = server_epoch;
	in->log_events = (struct hb_log_burst){
		.mod = HB_LOG_MODULE,
		.what = "host events (restart, reboot, clone)",
		.per_s = HBD_HOST_LINES_PER_S,
	};
	hb_buf_init(&in->json);
}

void ingest_cleanup(struct ingest *in)
{
	hb_buf_free(&in->json);
}

/* What record() found new about a host. */
#define NEW_EPOCH 1
#define NEW_ADDR 2

static void count(struct ingest *in, enum counter c)
{
	in->ctr->v[c]++;
}

static void drop(struct ingest *in, int err)
{
	in->ctr->v[counter_drop(err)]++;
}

void ingest_format_addr(const struct sockaddr_in6 *a, char *out, size_t cap)
{
	char ip[INET6_ADDRSTRLEN];

	if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
		inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], ip, sizeof(ip));
		snprintf(out, cap, "%s:%u", ip, ntohs(a->sin6_port));
	} else {
		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
		snprintf(out, cap, "[%s]:%u", ip, ntohs(a->sin6_port));
	}
}

static bool same_addr(const struct sockaddr_in6 *a, const struct sockaddr_in6 *b)
{
	return a->sin6_port == b->sin6_port &&
	       memcmp(&a->sin6_addr, &b->sin6_addr, 16) == 0;
}

void ingest_store_host(struct ingest *in, uint32_t idx)
{
	struct host *h = hosts_at(in->hosts, idx);
	const struct host_attrs *a = h->attrs;
	char addr[64];
	struct store_host sh = {
		.rowid = (int64_t)idx + 1,
		.hostname = a ? a->hostname : "",
		.address = addr,
		.owner = a ? a->owner : "",
		.labels_json = a ? a->labels_json : "{}",
		.version = a ? a->version : "",
		.interval_s = h->interval_ms / 1000,
		.state = h->state,
		.state_since_ms = h->state_since_unix,
		.first_seen_ms = h->first_seen_unix,
		.last_seen_ms = h->last_seen_unix,
		.epoch = h->replay.epoch,
		.seq = h->replay.top,
		.status = h->status,
		.status_msg = a && a->status_msg ? a->status_msg : "",
		.boot_start = h->boot_start,
		.boot_id = a && a->has_boot_id ? a->boot_id : NULL,
	};

	memcpy(sh.uuid, h->uuid, 16);
	ingest_format_addr(&h->addr, addr, sizeof(addr));
	if (store_put_host(in->store, &sh) < 0)
		count(in, CTR_STORE_DROPPED);
	else
		h->flags |= HOST_STORED;
}

/* Plugin names become file-like identifiers in tools: keep them tame. */
static bool plugin_name_ok(struct hb_str s)
{
	if (!s.len || s.len > 64)
		return false;
	for (uint32_t i = 0; i < s.len; i++) {
		char c = s.ptr[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

/* Free text from the wire may not hide NULs or control characters. */
static bool text_ok(struct hb_str s, uint32_t max)
{
	if (s.len > max)
		return false;
	for (uint32_t i = 0; i < s.len; i++)
		if ((unsigned char)s.ptr[i] < 0x20 || s.ptr[i] == 0x7f)
			return false;
	return true;
}

static int labels_json(struct hb_buf *b, const struct hb_htb *m)
{
	int rc = hb_buf_append(b, "{", 1);

	for (uint32_t i = 0; rc == 0 && i < m->n_labels; i++) {
		if (i)
			rc = hb_buf_append(b, ",", 1);
		if (!rc)
			rc = hb_json_append_str(b, m->labels[i].key.ptr,
						m->labels[i].key.len);
		if (!rc)
			rc = hb_buf_append(b, ":", 1);
		if (!rc)
			rc = hb_json_append_str(b, m->labels[i].value.ptr,
						m->labels[i].value.len);
	}
	return rc ? rc : hb_buf_append(b, "}", 1);
}

static void event(struct ingest *in, uint32_t idx, uint64_t unix_ms,
		  const char *kind, const char *reason)
{
	struct store_event e = {(int64_t)idx + 1, unix_ms, kind, -1, -1, reason};
	const struct host_attrs *a = hosts_at(in->hosts, idx)->attrs;
	/* Two machines, one identity: worth a warning. */
	enum hb_log_level level =
		strcmp(kind, "clone") == 0 ? HB_LOG_WARN : HB_LOG_INFO;

	if (hb_log_burst_pass(&in->log_events, level, hb_mono_ms()))
		hb__log(HB_LOG_MODULE, level, "%s: %s: %s",
			a ? a->hostname : "new host", kind, reason);
	if (store_put_event(in->store, &e) < 0)
		count(in, CTR_STORE_DROPPED);
}

/* A new epoch: tell a reboot from a client restart from nothing new. */
static void note_epoch(struct ingest *in, uint32_t idx, const struct hb_htb *m,
		       uint64_t unix_ms)
{
	struct host *h = hosts_at(in->hosts, idx);
	uint64_t bh = m->has & HB_HTB_HAS_BOOT_ID ? host_boot_hash(m->boot_id)
						  : 0;
	char why[96];

	if (h->boot_hash && bh && bh != h->boot_hash) {
		snprintf(why, sizeof(why), "boot id changed (up %llu s)",
			 (unsigned long long)m->uptime);
		event(in, idx, unix_ms, "reboot", why);
		count(in, CTR_REBOOTS);
	} else if (h->boot_start && m->start_time &&
		   m->start_time != h->boot_start) {
		snprintf(why, sizeof(why), "client restarted, same boot");
		event(in, idx, unix_ms, "restart", why);
		count(in, CTR_RESTARTS);
	}
	if (bh)
		h->boot_hash = bh;
	if (m->start_time)
		h->boot_start = m->start_time;
}

/* Whether the client must re-send its Info data (protocol: Info digest). */
static bool wants_update(const struct host *h, const struct hb_htb *m)
{
	const char *names[HB_HTB_MAX_PLUGINS];
	uint32_t lens[HB_HTB_MAX_PLUGINS];
	uint8_t digest[HB_DIGEST_LEN];

	if (!(m->has & HB_HTB_HAS_DIGEST))
		return false;
	for (uint32_t i = 0; i < m->n_plugins; i++) {
		names[i] = m->plugins[i].name.ptr;
		lens[i] = m->plugins[i].name.len;
	}
	hosts_info_digest(h, names, lens, m->n_plugins, digest);
	return memcmp(digest, m->info_digest, HB_DIGEST_LEN) != 0;
}

static int on_htb(struct ingest *in, uint32_t idx, const struct hb_header *hdr,
		  const uint8_t *body, size_t len, int news, uint64_t mono,
		  uint64_t unix_ms, struct hb_ack *ack)
{
	struct hb_htb *m = &in->htb;
	struct host *h = hosts_at(in->hosts, idx);
	uint32_t interval_s;
	int rc;

	if ((rc = hb_htb_decode(body, len, m)) < 0)
		return rc;
	if (!text_ok(m->hostname, 255) || !text_ok(m->owner, 255) ||
	    !text_ok(m->version, 64) || !text_ok(m->status_msg, 1024)) {
		count(in, CTR_BAD_NAME);
		return HB_EFIELD;
	}
	count(in, CTR_RX_HTB);
	hb_buf_reset(&in->json);
	if (labels_json(&in->json, m) < 0)
		return HB_ENOMEM;
	/* A PLG may have opened the epoch: compare with the last HTB's. */
	if (hdr->epoch != h->htb_epoch) {
		note_epoch(in, idx, m, unix_ms);
		h->htb_epoch = hdr->epoch;
	}
	rc = hosts_set_attrs(h, m->hostname.ptr, m->hostname.len, m->owner.ptr,
			     m->owner.len, m->version.ptr, m->version.len,
			     in->json.data);
	if (rc >= 0) {
		int st = hosts_set_status_msg(
			h, m->status_msg.ptr, m->status_msg.len,
			m->has & HB_HTB_HAS_BOOT_ID ? m->boot_id : NULL);

		rc = st < 0 ? st : rc | st;
	}
	if (rc < 0)
		return rc;
	interval_s = m->interval;
	if (in->override_s > interval_s) {
		interval_s = in->override_s;
		ack->interval = in->override_s;
		count(in, CTR_INTERVAL_OVERRIDE);
	}
	if (rc > 0 || news || !(h->flags & HOST_STORED) ||
	    h->interval_ms != interval_s * 1000u) {
		h->interval_ms = interval_s * 1000u;
		/* Before any event about it: events refer to the host row. */
		ingest_store_host(in, idx);
	}
	h->status = m->status;
	h->skew_ms = (int32_t)((int64_t)hdr->time_ms - (int64_t)unix_ms);
	state_heartbeat(in->sm, idx, interval_s * 1000u, mono);
	ack->request_update = wants_update(h, m);
	if (ack->request_update)
		count(in, CTR_REQUEST_UPDATE);
	return 0;
}

static int on_plg(struct ingest *in, uint32_t idx, const uint8_t *body,
		  size_t len, uint64_t unix_ms)
{
	struct host *h = hosts_at(in->hosts, idx);
	uint8_t digest[HB_DIGEST_LEN];
	struct hb_plg m;
	int rc;

	if ((rc = hb_plg_decode(body, len, &m)) < 0)
		return rc;
	if (!plugin_name_ok(m.plugin) || !text_ok(m.message, 1024)) {
		count(in, CTR_BAD_NAME);
		return HB_EFIELD;
	}
	count(in, CTR_RX_PLG);
	hb_buf_reset(&in->json);
	if ((rc = hb_json_from_msgpack(m.data, m.data_len, &in->json)) < 0)
		return rc;
	hb_data_digest(m.data, m.data_len, digest);
	{
		char name[65], msg[1025];
		struct store_plugin sp = {
			.rowid = (int64_t)idx + 1,
			.plugin = name,
			.kind = m.kind,
			.status = m.status,
			.message = msg,
			.time_ms = m.time_ms,
			.received_ms = unix_ms,
			.interval_s = m.interval,
			.data_json = in->json.data,
			.digest = digest,
		};

		memcpy(name, m.plugin.ptr, m.plugin.len);
		name[m.plugin.len] = '\0';
		memcpy(msg, m.message.ptr, m.message.len);
		msg[m.message.len] = '\0';
		if (store_put_plugin(in->store, &sp) < 0)
			count(in, CTR_STORE_DROPPED);
	}
	if (m.kind == HB_KIND_INFO &&
	    (rc = hosts_set_info(h, m.plugin.ptr, m.plugin.len, digest)) < 0)
		hb_log_warn("host %u: info plugin not tracked: %s", idx,
			    hb_strerror(rc));
	return 0;
}

/*
 * A datagram from an older epoch of a known host is a replay, or a
 * second machine using the same UUID (a clone). Only an authentic one
 * from another address counts towards a clone event.
 */
static void clone_check(struct ingest *in, uint32_t idx, uint8_t *buf,
			size_t len, const struct hb_header *hdr,
			const struct hb_key *key,
			const struct sockaddr_in6 *from, uint64_t mono,
			uint64_t unix_ms)
{
	struct host *h = hosts_at(in->hosts, idx);
	uint32_t window = in->opts.clone_window_ms;
	const uint8_t *body;
	size_t blen;
	char why[192], addr[64], cur[64];

	if (hdr->epoch >= h->replay.epoch || same_addr(from, &h->addr) ||
	    hb_frame_open(buf, len, hdr, key, &body, &blen) < 0)
		return;
	if (!h->clone_since || mono - h->clone_since > window) {
		h->clone_since = mono;
		h->clone_hits = 0;
	}
	if (++h->clone_hits != in->opts.clone_threshold)
		return;
	ingest_format_addr(from, addr, sizeof(addr));
	ingest_format_addr(&h->addr, cur, sizeof(cur));
	snprintf(why, sizeof(why), "%s (epoch %u) and %s (epoch %u) both send",
		 addr, hdr->epoch, cur, h->replay.epoch);
	event(in, idx, unix_ms, "clone", why);
	count(in, CTR_CLONES);
}

/*
 * The host idx, which ingest_datagram() looked up before authenticating,
 * or a new one created now that the datagram is authentic; HOST_NONE
 * when the table cannot grow.
 */
static uint32_t host_for(struct ingest *in, const struct hb_header *hdr,
			 uint32_t idx, uint64_t unix_ms)
{
	struct host *h;

	if (idx != HOST_NONE)
		return idx;
	if (hosts_add(in->hosts, hdr->host_id, 0, &idx) < 0) {
		count(in, CTR_HOSTS_FULL);
		return HOST_NONE;
	}
	h = hosts_at(in->hosts, idx);
	h->first_seen_unix = unix_ms;
	h->state_since_unix = unix_ms;
	h->state = HBD_STATE_STOPPED; /* until its first heartbeat */
	count(in, CTR_HOSTS_NEW);
	return idx;
}

/*
 * Records an accepted datagram: window, loss from sequence gaps, address.
 * Returns NEW_EPOCH and NEW_ADDR bits.
 */
static int record(struct ingest *in, uint32_t idx, const struct hb_header *hdr,
		  const struct sockaddr_in6 *from, uint64_t unix_ms)
{
	struct host *h = hosts_at(in->hosts, idx);
	bool new_epoch = hdr->epoch != h->replay.epoch;
	int news = new_epoch ? NEW_EPOCH : 0;

	hb_replay_update(&h->replay, hdr->epoch, hdr->seq);
	if (new_epoch) {
		h->next_seq = hdr->seq + 1;
	} else if (hdr->seq >= h->next_seq) {
		h->lost += hdr->seq - h->next_seq;
		h->next_seq = hdr->seq + 1;
	} else if (h->lost) {
		h->lost--; /* late, not lost */
	}
	h->received++;
	h->last_seen_unix = unix_ms;
	if (!same_addr(from, &h->addr)) {
		h->addr = *from;
		news |= NEW_ADDR;
	}
	hosts_mark_dirty(in->hosts, idx);
	return news;
}

static void make_ack(struct ingest *in, uint32_t idx,
		     const struct hb_header *req, size_t req_len,
		     struct hb_ack *ack, const struct hb_key *key,
		     uint64_t unix_ms, uint8_t *reply, size_t cap,
		     size_t *reply_len)
{
	struct host *h = hosts_at(in->hosts, idx);
	struct hb_header hdr = {
		.version = HB_VERSION,
		.type = HB_ACK,
		.mode = req->mode,
		.key_id = req->key_id,
		.epoch = in->server_epoch,
		.seq = ++h->tx_seq,
		.time_ms = unix_ms,
	};
	size_t off = hb_frame_body_offset(&hdr), blen;

	memcpy(hdr.host_id, req->host_id, 16);
	/* Never answer with more bytes than were sent: no amplification. */
	for (int tries = 0; tries < 2; tries++) {
		if (hb_ack_encode(ack, reply + off, cap - off, &blen) == 0 &&
		    hb_frame_overhead(&hdr) + blen <= req_len &&
		    hb_frame_seal(&hdr, key, reply + off, blen, reply, cap,
				  reply_len) == 0) {
			count(in, CTR_ACKS);
			return;
		}
		ack->interval = 0;
	}
	count(in, CTR_ACK_SUPPRESSED);
}

/* The checks that need no key: a junk flood stops here. */
static int precheck(struct ingest *in, const uint8_t *buf, size_t len,
		    struct hb_header *hdr, uint64_t unix_ms,
		    const struct hb_key **key)
{
	int rc = hb_frame_parse(buf, len, hdr);

	if (rc < 0)
		return rc;
	if (hb_type_dir(hdr->type) != HB_DIR_C2S || hdr->type == HB_RES) {
		count(in, CTR_UNEXPECTED_TYPE);
		return HB_ETYPE;
	}
	if (hdr->mode < in->opts.min_mode)
		return HB_EMODE;
	if ((rc = hb_skew_check(hdr->time_ms, unix_ms, in->opts.skew_ms)) < 0)
		return rc;
	*key = NULL;
	if (hdr->mode != HB_MODE_NONE &&
	    !(*key = hb_keyring_find(in->keys, hdr->key_id)))
		return HB_EKEYID;
	return 0;
}

void ingest_datagram(struct ingest *in, uint8_t *buf, size_t len,
		     const struct sockaddr_in6 *from, uint64_t mono,
		     uint64_t unix_ms, uint8_t *reply, size_t cap,
		     size_t *reply_len)
{
	struct hb_ack ack = {0};
	const struct hb_key *key;
	struct hb_header hdr;
	const uint8_t *body;
	size_t blen;
	uint32_t idx;
	int news, rc;

	*reply_len = 0;
	count(in, CTR_RX_DATAGRAMS);
	in->ctr->v[CTR_RX_BYTES] += len;
	if ((rc = precheck(in, buf, len, &hdr, unix_ms, &key)) < 0)
		goto dropped;
	idx = hosts_find(in->hosts, hdr.host_id);
	if (idx != HOST_NONE &&
	    (rc = hb_replay_check(&hosts_at(in->hosts, idx)->replay, hdr.epoch,
				  hdr.seq)) < 0) {
		clone_check(in, idx, buf, len, &hdr, key, from, mono, unix_ms);
		goto dropped;
	}
	if ((rc = hb_frame_open(buf, len, &hdr, key, &body, &blen)) < 0)
		goto dropped;
	if (hdr.epoch == 0) {
		rc = HB_EREPLAY;
		goto dropped;
	}
	if ((idx = host_for(in, &hdr, idx, unix_ms)) == HOST_NONE)
		return;
	news = record(in, idx, &hdr, from, unix_ms);
	/* Before data about it: rows refer to the host's. An HTB stores
	 * the host itself, with its attributes. */
	if ((news || !(hosts_at(in->hosts, idx)->flags & HOST_STORED)) &&
	    hdr.type != HB_HTB)
		ingest_store_host(in, idx);
	ack.ack_epoch = hdr.epoch;
	ack.ack_seq = hdr.seq;
	switch (hdr.type) {
	case HB_HTB:
		rc = on_htb(in, idx, &hdr, body, blen, news, mono, unix_ms,
			    &ack);
		break;
	case HB_PLG:
		if (hdr.flags & HB_FLAG_FRAG) {
			count(in, CTR_RX_FRAGMENTS);
			rc = hb_reasm_add(in->reasm, &hdr, body, blen, mono,
					  &body, &blen);
			if (rc < 0 || !body)
				break;
			ack.ack_seq = hdr.frag_msg;
			/* The ACK answers the whole message, not this piece. */
			len = blen + hb_frame_overhead(&hdr);
		}
		rc = on_plg(in, idx, body, blen, unix_ms);
		break;
	case HB_BYE: {
		struct hb_bye bye;
		char reason[128];

		if ((rc = hb_bye_decode(body, blen, &bye)) < 0)
			break;
		count(in, CTR_RX_BYE);
		snprintf(reason, sizeof(reason), "%.*s",
			 (int)(bye.reason.len < 100 ? bye.reason.len : 100),
			 text_ok(bye.reason, 100) ? bye.reason.ptr : "");
		state_bye(in->sm, idx, reason, mono);
		return; /* not acknowledged: the client is leaving */
	}
	}
	if (rc < 0)
		goto dropped;
	if (hdr.type == HB_PLG && (hdr.flags & HB_FLAG_FRAG) && !body)
		return; /* fragment held; the whole message earns the ACK */
	make_ack(in, idx, &hdr, len, &ack, key, unix_ms, reply, cap, reply_len);
	return;
dropped:
	drop(in, rc);
	if (HB_LOG_DEBUG <= hb__log_levels[HB_LOG_MODULE]) {
		char addr[64];

		ingest_format_addr(from, addr, sizeof(addr));
		hb_log_debug("dropped %zu bytes from %s: %s", len, addr,
			     hb_strerror(rc));
	}
}
