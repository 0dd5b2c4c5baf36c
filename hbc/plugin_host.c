/*
 * plugin_host: one loaded plugin and the api table it is given
 * (plugin_host.h).
 *
 * The result builder records what collect() puts as a small tree in an
 * arena, because msgpack wants each container's element count before
 * its elements and a plugin adds values one at a time; the tree is
 * packed with msgpack-c once collect() returns. The packed size is
 * tracked as values arrive (exactly: msgpack-c picks the shortest
 * encodings), so a plugin that puts too much fails at once instead of
 * growing the arena without bound.
 *
 * The handles a plugin gets point into our structures: its ctx is the
 * first member of struct plugin_host, its result the first of struct
 * result.
 */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "command.h"
#include "hb_conf.h"
#include "hb_error.h"
#include "hb_mpr.h"
#include "hb_time.h"
#include "plugin_host.h"

#define HB_LOG_MODULE HB_MOD_PLUGIN
#include "hb_log.h"

#define NAME_LEN_MAX 64
/* Open containers, the top-level map included: what hb_mpr accepts. */
#define DEPTH_MAX HB_MPR_MAX_DEPTH
#define CHUNK_SIZE 8192
#define LOG_LINE_MAX 1024

struct plugin_host {
	struct hb_plugin_ctx ctx; /* the plugin's handle */
	struct hb_plugin d;       /* descriptor; fields past its size zero */
	void *dl;
	void *state;
	const struct hb_conf_node *section;
	char *path, *host_id, *hostname;
	char name[NAME_LEN_MAX + 1];
};

enum vtype { V_NIL, V_BOOL, V_INT, V_UINT, V_DOUBLE, V_STR, V_MAP, V_ARRAY };

/* One value put by the plugin. */
struct val {
	struct val *next; /* next in its container */
	const char *key;  /* in maps; NULL in arrays */
	size_t key_len;
	enum vtype type;
	union {
		bool b;
		int64_t i;
		uint64_t u;
		double d;
		struct { const char *p; size_t len; } s;
		struct { struct val *head, *tail; uint32_t n; } c;
	} v;
};

struct chunk {
	struct chunk *next;
	size_t used, cap;
	max_align_t mem[];
};

/* One collect()'s data in the making. */
struct result {
	struct hb_plugin_result pub; /* the plugin's handle */
	struct chunk *arena;
	struct val root;
	struct val *open[DEPTH_MAX]; /* open[0] is root */
	int depth;                   /* containers open, root included */
	size_t size;                 /* packed size so far */
	int status;
	bool status_set; /* the plugin called vstatus */
	char message[256];
	char err[128]; /* the first builder error, "" if none */
};

/* The handles are first members: a cast gets their containers back. */
static struct plugin_host *host_of(struct hb_plugin_ctx *ctx)
{
	return (struct plugin_host *)ctx;
}

static struct result *res_of(struct hb_plugin_result *pub)
{
	return (struct result *)pub;
}

/* --- the builder ------------------------------------------------------- */

static void *arena_alloc(struct result *r, size_t n)
{
	struct chunk *c = r->arena;
	void *p;

	n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	if (!c || c->cap - c->used < n) {
		size_t cap = n > CHUNK_SIZE ? n : CHUNK_SIZE;

		if (!(c = malloc(sizeof(*c) + cap)))
			return NULL;
		c->next = r->arena;
		c->used = 0;
		c->cap = cap;
		r->arena = c;
	}
	p = (char *)c->mem + c->used;
	c->used += n;
	return p;
}

static void arena_free(struct result *r)
{
	while (r->arena) {
		struct chunk *next = r->arena->next;

		free(r->arena);
		r->arena = next;
	}
}

__attribute__((format(printf, 2, 3))) static void
fail(struct result *r, const char *fmt, ...)
{
	va_list ap;

	if (r->err[0])
		return;
	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
}

/* Packed sizes of msgpack-c's (shortest) encodings. */
static size_t str_size(size_t len)
{
	return len + (len < 32 ? 1 : len < 256 ? 2 : len < 65536 ? 3 : 5);
}

static size_t uint_size(uint64_t u)
{
	return u < 128 ? 1 : u < 256 ? 2 : u < 65536 ? 3 : u >> 32 ? 9 : 5;
}

static size_t int_size(int64_t i)
{
	if (i >= 0)
		return uint_size((uint64_t)i);
	return i >= -32 ? 1 : i >= -128 ? 2 : i >= -32768 ? 3
		: i >= INT32_MIN ? 5 : 9;
}

static size_t header_size(uint32_t n)
{
	return n < 16 ? 1 : n < 65536 ? 3 : 5;
}

static void grow(struct result *r, size_t n)
{
	r->size += n;
	if (r->size > PLUGIN_DATA_MAX)
		fail(r, "data larger than %d bytes", PLUGIN_DATA_MAX);
}

/* Copies len bytes of s into the arena, NUL-terminated. */
static const char *copy(struct result *r, const char *s, size_t len)
{
	char *p = arena_alloc(r, len + 1);

	if (p) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

/*
 * Appends a value of this type, packing into vsize bytes, to the
 * innermost open container; NULL after a sticky error, or setting one.
 */
static struct val *add(struct hb_plugin_result *pub, const char *key,
		       enum vtype type, size_t vsize)
{
	struct result *r = res_of(pub);
	struct val *c = r->open[r->depth - 1], *v;
	size_t klen = key ? strlen(key) : 0;

	if (!r->err[0] && c->type == V_ARRAY && key)
		fail(r, "key \"%.40s\" given inside an array", key);
	if (!r->err[0] && c->type == V_MAP && !key)
		fail(r, "value without a key in a map");
	if (!r->err[0] && type >= V_MAP && r->depth == DEPTH_MAX)
		fail(r, "maps and arrays nested deeper than %d", DEPTH_MAX);
	if (r->err[0])
		return NULL;
	grow(r, header_size(c->v.c.n + 1) - header_size(c->v.c.n) +
			(key ? str_size(klen) : 0) + vsize);
	if (r->err[0])
		return NULL;
	if ((v = arena_alloc(r, sizeof(*v))))
		*v = (struct val){.key_len = klen, .type = type};
	if (!v || (key && !(v->key = copy(r, key, klen)))) {
		fail(r, "out of memory");
		return NULL;
	}
	if (c->v.c.tail)
		c->v.c.tail->next = v;
	else
		c->v.c.head = v;
	c->v.c.tail = v;
	c->v.c.n++;
	return v;
}

/* A NULL string is put as nil. */
static void put_string(struct hb_plugin_result *pub, const char *key,
		       const char *value)
{
	size_t len = value ? strlen(value) : 0;
	struct val *v = add(pub, key, value ? V_STR : V_NIL,
			    value ? str_size(len) : 1);

	if (v && value && !(v->v.s.p = copy(res_of(pub), value, len)))
		fail(res_of(pub), "out of memory");
	if (v)
		v->v.s.len = len;
}

static void put_int(struct hb_plugin_result *pub, const char *key,
		    int64_t value)
{
	struct val *v = add(pub, key, V_INT, int_size(value));

	if (v)
		v->v.i = value;
}

static void put_uint(struct hb_plugin_result *pub, const char *key,
		     uint64_t value)
{
	struct val *v = add(pub, key, V_UINT, uint_size(value));

	if (v)
		v->v.u = value;
}

static void put_double(struct hb_plugin_result *pub, const char *key,
		       double value)
{
	struct val *v = add(pub, key, V_DOUBLE, 9);

	if (v)
		v->v.d = value;
}

static void put_bool(struct hb_plugin_result *pub, const char *key,
		     int value)
{
	struct val *v = add(pub, key, V_BOOL, 1);

	if (v)
		v->v.b = value != 0;
}

static void put_null(struct hb_plugin_result *pub, const char *key)
{
	add(pub, key, V_NIL, 1);
}

static void begin(struct hb_plugin_result *pub, const char *key,
		  enum vtype type)
{
	struct result *r = res_of(pub);
	struct val *v = add(pub, key, type, 1);

	if (v)
		r->open[r->depth++] = v;
}

static void begin_map(struct hb_plugin_result *pub, const char *key)
{
	begin(pub, key, V_MAP);
}

static void begin_array(struct hb_plugin_result *pub, const char *key)
{
	begin(pub, key, V_ARRAY);
}

static void end(struct hb_plugin_result *pub)
{
	struct result *r = res_of(pub);

	if (r->err[0])
		return;
	if (r->depth <= 1)
		fail(r, "end() without an open map or array");
	else
		r->depth--;
}

/* Drops the bytes of a UTF-8 character vsnprintf cut off at the end. */
static void trim_utf8(char *s)
{
	size_t len = strlen(s), i = len;
	unsigned char lead;

	while (i > 0 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
		i--;
	if (i-- == 0 || !((lead = (unsigned char)s[i]) & 0x80))
		return;
	if (len - i < (lead >= 0xf0 ? 4u : lead >= 0xe0 ? 3u : 2u))
		s[i] = '\0';
}

__attribute__((format(printf, 3, 0))) static void
vstatus(struct hb_plugin_result *pub, int status, const char *fmt,
	va_list ap)
{
	struct result *r = res_of(pub);

	if (status < HB_PLUGIN_OK || status > HB_PLUGIN_UNKNOWN)
		status = HB_PLUGIN_UNKNOWN;
	r->status = status;
	r->status_set = true;
	r->message[0] = '\0';
	if (fmt && vsnprintf(r->message, sizeof(r->message), fmt, ap) >=
			   (int)sizeof(r->message))
		trim_utf8(r->message);
	/* The collector refuses control bytes in messages (and the sample
	 * with them): a newline must not cost the plugin its data. */
	for (char *c = r->message; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = ' ';
}

static int pack_val(msgpack_packer *pk, const struct val *v)
{
	int rc = 0;

	switch (v->type) {
	case V_NIL: return msgpack_pack_nil(pk);
	case V_BOOL: return v->v.b ? msgpack_pack_true(pk)
				   : msgpack_pack_false(pk);
	case V_INT: return msgpack_pack_int64(pk, v->v.i);
	case V_UINT: return msgpack_pack_uint64(pk, v->v.u);
	case V_DOUBLE: return msgpack_pack_double(pk, v->v.d);
	case V_STR: return msgpack_pack_str_with_body(pk, v->v.s.p, v->v.s.len);
	case V_MAP: rc = msgpack_pack_map(pk, v->v.c.n); break;
	case V_ARRAY: rc = msgpack_pack_array(pk, v->v.c.n); break;
	}
	/* Depth is bounded by DEPTH_MAX: the recursion is too. */
	for (const struct val *c = v->v.c.head; c && !rc; c = c->next) {
		if (c->key)
			rc = msgpack_pack_str_with_body(pk, c->key, c->key_len);
		if (!rc)
			rc = pack_val(pk, c);
	}
	return rc;
}

/* Packs the tree into s->data, or sets r->err. */
static void pack(struct result *r, struct plugin_sample *s)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	if (pack_val(&pk, &r->root))
		fail(r, "out of memory");
	else if (sb.size > PLUGIN_DATA_MAX)
		fail(r, "data larger than %d bytes", PLUGIN_DATA_MAX);
	else if (sb.size != r->size ||
		 hb_mpr_check((const uint8_t *)sb.data, sb.size))
		fail(r, "data packed wrong (an hbc bug)");
	if (r->err[0]) {
		msgpack_sbuffer_destroy(&sb);
		return;
	}
	/* msgpack-c's sbuffer is plain malloc'd memory: it is handed on. */
	s->data = (uint8_t *)sb.data;
	s->len = sb.size;
}

static void result_init(struct result *r, const struct hb_plugin_api *api)
{
	memset(r, 0, sizeof(*r));
	r->pub.api = api;
	r->root.type = V_MAP;
	r->open[0] = &r->root;
	r->depth = 1;
	r->size = 1;
	r->status = HB_PLUGIN_OK;
}

/* --- the plugin's context: log, config, host, commands ----------------- */

__attribute__((format(printf, 3, 0))) static void
vlog(struct hb_plugin_ctx *ctx, int level, const char *fmt, va_list ap)
{
	struct plugin_host *p = host_of(ctx);
	/* The plugin's levels are hb_log's, numbered alike. */
	enum hb_log_level lvl = level < 0 ? HB_LOG_ERR
				: level > 3 ? HB_LOG_DEBUG
					    : (enum hb_log_level)level;
	char msg[LOG_LINE_MAX];

	if (lvl > hb__log_levels[HB_LOG_MODULE] || !fmt)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* One message, one line: control bytes could forge others. */
	for (char *c = msg; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	hb__log_at(lvl, "plugin %s: %s", p->name, msg);
}

/* The scalar at key in the plugin's section, or NULL. */
static const char *scalar(struct hb_plugin_ctx *ctx, const char *key)
{
	const struct hb_conf_node *n;

	if (!key)
		return NULL;
	n = hb_conf_node_get(host_of(ctx)->section, key);
	return hb_conf_node_kind(n) == HB_CONF_SCALAR ? hb_conf_node_text(n)
						      : NULL;
}

/* Parses as hbc.yaml's own keys of this type are parsed; 0 or error. */
static int parse_as(enum hb_conf_type type, const char *text, void *field)
{
	const struct hb_conf_key k = {.name = "", .type = type};

	return text ? hb_conf_value_parse(&k, text, field, NULL, 0)
		    : HB_EINVAL;
}

static const char *config_string(struct hb_plugin_ctx *ctx, const char *key,
				 const char *def)
{
	const char *s = scalar(ctx, key);

	return s ? s : def;
}

static int64_t config_int(struct hb_plugin_ctx *ctx, const char *key,
			  int64_t def)
{
	int64_t v;

	return parse_as(HB_CONF_INT, scalar(ctx, key), &v) ? def : v;
}

static double config_double(struct hb_plugin_ctx *ctx, const char *key,
			    double def)
{
	double v;

	return parse_as(HB_CONF_DOUBLE, scalar(ctx, key), &v) ? def : v;
}

static int config_bool(struct hb_plugin_ctx *ctx, const char *key, int def)
{
	bool v;

	return parse_as(HB_CONF_BOOL, scalar(ctx, key), &v) ? def : v;
}

/* As hbc.yaml's string lists: a sequence, or one string for one item. */
static const char *config_list_item(struct hb_plugin_ctx *ctx,
				    const char *key, size_t i)
{
	const struct hb_conf_node *n;

	if (!key)
		return NULL;
	n = hb_conf_node_get(host_of(ctx)->section, key);
	if (hb_conf_node_kind(n) == HB_CONF_SEQUENCE)
		n = hb_conf_node_at(n, i);
	else if (i > 0)
		return NULL;
	return hb_conf_node_kind(n) == HB_CONF_SCALAR ? hb_conf_node_text(n)
						      : NULL;
}

static const char *host_id(struct hb_plugin_ctx *ctx)
{
	return host_of(ctx)->host_id;
}

static const char *hostname(struct hb_plugin_ctx *ctx)
{
	return host_of(ctx)->hostname;
}

static int run_command(struct hb_plugin_ctx *ctx, const char *const *argv,
		       uint32_t timeout_ms, size_t out_max,
		       struct hb_command_result *res)
{
	int rc = hbc_command_run(argv, timeout_ms, out_max, res);

	/* The plugin sees the outcome; a hung command is worth a word. */
	if (!rc && res->timed_out)
		hb_log_warn("plugin %s: command %s killed at its timeout",
			    host_of(ctx)->name, argv[0]);
	return rc;
}

static const struct hb_plugin_api api = {
	.abi_major = HB_PLUGIN_ABI_MAJOR,
	.size = sizeof(struct hb_plugin_api),
	.vlog = vlog,
	.config_string = config_string,
	.config_int = config_int,
	.config_double = config_double,
	.config_bool = config_bool,
	.config_list_item = config_list_item,
	.host_id = host_id,
	.hostname = hostname,
	.run_command = run_command,
	.command_free = hbc_command_free,
	.put_string = put_string,
	.put_int = put_int,
	.put_uint = put_uint,
	.put_double = put_double,
	.put_bool = put_bool,
	.put_null = put_null,
	.begin_map = begin_map,
	.begin_array = begin_array,
	.end = end,
	.vstatus = vstatus,
};

/* --- loading ----------------------------------------------------------- */

typedef const struct hb_plugin *(*entry_fn)(void);

/* The fields up to collect() are required; later ones may be absent. */
#define DESC_SIZE_MIN                                                     \
	(offsetof(struct hb_plugin, collect) +                            \
	 sizeof(((struct hb_plugin *)0)->collect))

__attribute__((format(printf, 4, 5))) static int
errf(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static bool valid_name(const char *s)
{
	size_t n = 0;

	if (!s)
		return false;
	for (; s[n] && n <= NAME_LEN_MAX; n++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			    "0123456789_.-", s[n]))
			return false;
	return n >= 1 && n <= NAME_LEN_MAX;
}

/* Copies the descriptor into d (size bytes of it) and checks it. */
static int check_desc(const struct hb_plugin *src, struct hb_plugin *d,
		      char *err, size_t errlen)
{
	if (!src)
		return errf(err, errlen, HB_EINVAL,
			    "hb_plugin_entry returned NULL");
	if (src->abi_major != HB_PLUGIN_ABI_MAJOR)
		return errf(err, errlen, HB_EINVAL,
			    "wrong ABI major %u (hbc speaks %d)",
			    src->abi_major, HB_PLUGIN_ABI_MAJOR);
	if (src->size < DESC_SIZE_MIN)
		return errf(err, errlen, HB_EINVAL,
			    "descriptor too small: %u bytes (at least %zu)",
			    src->size, DESC_SIZE_MIN);
	memset(d, 0, sizeof(*d));
	memcpy(d, src, src->size < sizeof(*d) ? src->size : sizeof(*d));
	if (!valid_name(d->name))
		return errf(err, errlen, HB_EINVAL,
			    "invalid name (expected 1 to %d of A-Z a-z 0-9 _ . -)",
			    NAME_LEN_MAX);
	if (d->kind != HB_PLUGIN_INFO && d->kind != HB_PLUGIN_MONITOR)
		return errf(err, errlen, HB_EINVAL, "invalid kind %d",
			    d->kind);
	if (!d->collect)
		return errf(err, errlen, HB_EINVAL, "no collect function");
	return 0;
}

static void host_free(struct plugin_host *p)
{
	free(p->path);
	free(p->host_id);
	free(p->hostname);
	free(p);
}

static struct plugin_host *host_new(const char *path,
				    const struct hb_conf_node *section,
				    const struct plugin_host_info *info)
{
	struct plugin_host *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->ctx.api = &api;
	p->section = section;
	p->path = strdup(path);
	p->host_id = strdup(info && info->host_id ? info->host_id : "");
	p->hostname = strdup(info && info->hostname ? info->hostname : "");
	if (!p->path || !p->host_id || !p->hostname) {
		host_free(p);
		return NULL;
	}
	return p;
}

/* Checks the descriptor and runs init(); p->dl is closed by the caller. */
static int start_plugin(struct plugin_host *p, char *err, size_t errlen)
{
	entry_fn entry = (entry_fn)dlsym(p->dl, "hb_plugin_entry");
	int rc;

	if (!entry)
		return errf(err, errlen, HB_EINVAL,
			    "no hb_plugin_entry symbol");
	if ((rc = check_desc(entry(), &p->d, err, errlen)))
		return rc;
	strcpy(p->name, p->d.name);
	if (p->d.init && (rc = p->d.init(&p->ctx, &p->state)))
		return errf(err, errlen, HB_EINVAL, "init failed: %d", rc);
	return 0;
}

int plugin_host_load(const char *path, const struct hb_conf_node *section,
		     const struct plugin_host_info *info,
		     struct plugin_host **out, char *err, size_t errlen)
{
	struct plugin_host *p;
	int rc;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (!path)
		return errf(err, errlen, HB_EINVAL, "no path");
	if (!(p = host_new(path, section, info)))
		return errf(err, errlen, HB_ENOMEM, "out of memory");
	if (!(p->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL))) {
		rc = errf(err, errlen, HB_EIO, "dlopen: %s", dlerror());
		host_free(p);
		return rc;
	}
	if ((rc = start_plugin(p, err, errlen))) {
		dlclose(p->dl);
		host_free(p);
		return rc;
	}
	hb_log_debug("plugin %s: loaded from %s (version %s)", p->name, path,
		     p->d.version ? p->d.version : "?");
	*out = p;
	return 0;
}

const char *plugin_host_name(const struct plugin_host *p)
{
	return p->name;
}

int plugin_host_kind(const struct plugin_host *p)
{
	return p->d.kind;
}

uint32_t plugin_host_default_interval(const struct plugin_host *p)
{
	return p->d.default_interval;
}

const char *plugin_host_path(const struct plugin_host *p)
{
	return p->path;
}

/* --- collecting -------------------------------------------------------- */

int plugin_host_collect(struct plugin_host *p, struct plugin_sample *s)
{
	struct result r;
	int rc;

	result_init(&r, &api);
	rc = p->d.collect(&p->ctx, p->state, &r.pub);
	memset(s, 0, sizeof(*s));
	s->time_ms = hb_unix_ms();
	/* Containers left open are closed: the tree needs no ending. */
	if (rc >= 0 && !r.err[0])
		pack(&r, s);
	if (r.err[0]) {
		s->status = HB_PLUGIN_UNKNOWN;
		snprintf(s->message, sizeof(s->message), "%s", r.err);
		hb_log_debug("plugin %s: data refused: %s", p->name, r.err);
	} else if (rc < 0) {
		/* plugin.h: UNKNOWN unless the plugin set a status. */
		s->status = r.status_set ? (uint8_t)r.status
					 : HB_PLUGIN_UNKNOWN;
		if (r.message[0])
			memcpy(s->message, r.message, sizeof(s->message));
		else
			snprintf(s->message, sizeof(s->message),
				 "collect failed: %d", rc);
	} else {
		s->status = (uint8_t)r.status;
		memcpy(s->message, r.message, sizeof(s->message));
	}
	arena_free(&r);
	return 0;
}

void plugin_sample_free(struct plugin_sample *s)
{
	if (!s)
		return;
	free(s->data);
	s->data = NULL;
	s->len = 0;
}

void plugin_host_unload(struct plugin_host *p)
{
	if (!p)
		return;
	if (p->d.cleanup)
		p->d.cleanup(&p->ctx, p->state);
	dlclose(p->dl);
	hb_log_debug("plugin %s: unloaded", p->name);
	host_free(p);
}
