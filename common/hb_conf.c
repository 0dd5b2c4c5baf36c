/*
 * hb_conf: YAML configuration through a table of keys (see hb_conf.h).
 * Two passes: libyaml's event stream is built into a tree of our own
 * nodes (so every node knows its position, parent and key, which makes
 * "file:line:col: a.b[2].c:" messages possible anywhere, also in plugin
 * sections applied long after loading), then the table is applied to the
 * tree. Errors are collected, not returned at the first one, and sorted
 * into file order at the end of each call.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* vasprintf, asprintf */
#endif
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "hb_conf.h"
#include "hb_error.h"
#include "hb_sbuf.h"

#define VALUE_SHOWN 40 /* bytes of a value quoted in a message */
#define KEY_SHOWN 64   /* bytes of one key in a path */
#define PATH_SEGS 64   /* path segments shown; deeper paths start "..." */

struct hb_conf_node {
	enum hb_conf_kind kind;
	bool is_default; /* a table default, not from the file */
	unsigned line, col;
	const struct hb_conf_doc *doc;
	const struct hb_conf_node *parent;
	const char *name; /* key under a mapping (a key node: its own text) */
	size_t index;     /* item index under a sequence, pair index of keys */
	const struct hb_conf_node *dup; /* key nodes: the first equal key */
	const char *text;               /* SCALAR and NULL kinds */
	size_t len;
	struct hb_conf_node **kids; /* mapping: key, value, key, value... */
	size_t nkids, cap;
};

struct hb_conf_doc {
	char *name;
	struct hb_conf_node *root; /* NULL for an empty stream */
};

/* --- messages ---------------------------------------------------------- */

/* What a node is, for "found %s": a kind, or a scalar's quoted text. */
static void sb_what(struct hb_sbuf *b, const struct hb_conf_node *n)
{
	switch (n->kind) {
	case HB_CONF_MAPPING: hb_sbuf_printf(b, "a mapping"); break;
	case HB_CONF_SEQUENCE: hb_sbuf_printf(b, "a sequence"); break;
	case HB_CONF_NULL: hb_sbuf_printf(b, "no value"); break;
	default: hb_sbuf_text(b, n->text, n->len, VALUE_SHOWN, true);
	}
}

/* "listen.tls.cert", "servers[1].port": keys and indexes up to the root. */
static void sb_path(struct hb_sbuf *b, const struct hb_conf_node *n)
{
	const struct hb_conf_node *seg[PATH_SEGS];
	size_t ns = 0;
	bool first = true;

	for (; n && n->parent && ns < PATH_SEGS; n = n->parent)
		seg[ns++] = n;
	if (n && n->parent) {
		hb_sbuf_printf(b, "...");
		first = false;
	}
	while (ns--) {
		const struct hb_conf_node *s = seg[ns];

		if (s->parent->kind == HB_CONF_SEQUENCE) {
			hb_sbuf_printf(b, "[%zu]", s->index);
		} else if (s->name) {
			hb_sbuf_printf(b, "%s", first ? "" : ".");
			hb_sbuf_text(b, s->name, strlen(s->name), KEY_SHOWN, false);
		}
		first = false;
	}
}

static void vreport(struct hb_conf_errors *e, const struct hb_conf_node *n,
		    const char *key, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

/* Records "file:line:col: path[.key]: message" about node n. */
static void vreport(struct hb_conf_errors *e, const struct hb_conf_node *n,
		    const char *key, const char *fmt, va_list ap)
{
	char head[512];
	struct hb_sbuf b = HB_SBUF(head);
	struct hb_conf_error *v;
	char *msg, *text;
	size_t at;

	if (!e)
		return;
	if (e->count >= HB_CONF_ERRORS_MAX) {
		e->dropped++;
		return;
	}
	if (n->doc)
		hb_sbuf_printf(&b, "%s:", n->doc->name);
	if (n->line)
		hb_sbuf_printf(&b, "%u:%u:", n->line, n->col);
	hb_sbuf_printf(&b, "%s", b.len ? " " : "");
	at = b.len;
	sb_path(&b, n);
	if (key)
		hb_sbuf_printf(&b, "%s%s", b.len > at ? "." : "", key);
	hb_sbuf_printf(&b, "%s", b.len > at ? ": " : "");
	if (n->is_default)
		hb_sbuf_printf(&b, "default: ");
	if (vasprintf(&msg, fmt, ap) < 0) {
		e->dropped++;
		return;
	}
	v = realloc(e->v, (e->count + 1) * sizeof(*v));
	if (!v || asprintf(&text, "%s%s", head, msg) < 0) {
		if (v)
			e->v = v;
		free(msg);
		e->dropped++;
		return;
	}
	free(msg);
	e->v = v;
	e->v[e->count++] = (struct hb_conf_error){text, n->line, n->col};
}

void hb_conf_errorf(struct hb_conf_errors *e, const struct hb_conf_node *n,
		    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(e, n, NULL, fmt, ap);
	va_end(ap);
}

/* Stable insertion sort of e->v[from..] by position: few, nearly sorted. */
static void sort_errors(struct hb_conf_errors *e, size_t from)
{
	if (!e)
		return;
	for (size_t i = from + 1; i < e->count; i++) {
		struct hb_conf_error x = e->v[i];
		size_t j = i;

		while (j > from && (x.line < e->v[j - 1].line ||
				    (x.line == e->v[j - 1].line &&
				     x.col < e->v[j - 1].col))) {
			e->v[j] = e->v[j - 1];
			j--;
		}
		e->v[j] = x;
	}
}

void hb_conf_errors_print(const struct hb_conf_errors *e, FILE *f)
{
	for (size_t i = 0; i < e->count; i++)
		fprintf(f, "%s\n", e->v[i].text);
	if (e->dropped)
		fprintf(f, "(%zu more errors not shown)\n", e->dropped);
}

void hb_conf_errors_free(struct hb_conf_errors *e)
{
	for (size_t i = 0; i < e->count; i++)
		free(e->v[i].text);
	free(e->v);
	*e = (struct hb_conf_errors){0};
}

/* --- the tree ---------------------------------------------------------- */

struct builder {
	yaml_parser_t p;
	struct hb_conf_doc *doc;
	struct hb_conf_errors *e;
	const char *text;
	size_t len;
	struct hb_conf_node *stack[HB_CONF_DEPTH_MAX];
	int depth, docs;
	bool soft;    /* errors that still let the table be applied */
	bool aliases; /* errors that leave holes in the tree */
};

static struct hb_conf_node *new_node(struct builder *b, enum hb_conf_kind kind,
				     yaml_mark_t m, const char *text,
				     size_t len)
{
	struct hb_conf_node *n = calloc(1, sizeof(*n) + (text ? len + 1 : 0));
	char *t;

	if (!n)
		return NULL;
	n->kind = kind;
	n->line = (unsigned)m.line + 1;
	n->col = (unsigned)m.column + 1;
	n->doc = b->doc;
	if (text) {
		t = (char *)(n + 1);
		memcpy(t, text, len);
		t[len] = '\0';
		n->text = t;
		n->len = len;
	}
	return n;
}

static void node_free(struct hb_conf_node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nkids; i++)
		node_free(n->kids[i]);
	free(n->kids);
	free(n);
}

/* Links n under the open collection (or as the root); frees it if not. */
static int attach(struct builder *b, struct hb_conf_node *n)
{
	struct hb_conf_node *p;

	if (!n)
		return HB_ENOMEM;
	if (b->depth == 0) {
		b->doc->root = n;
		return 0;
	}
	p = b->stack[b->depth - 1];
	if (p->nkids == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 8;
		struct hb_conf_node **k = realloc(p->kids, cap * sizeof(*k));

		if (!k) {
			node_free(n);
			return HB_ENOMEM;
		}
		p->kids = k;
		p->cap = cap;
	}
	n->parent = p;
	n->index = p->kind == HB_CONF_SEQUENCE ? p->nkids : p->nkids / 2;
	if (p->kind == HB_CONF_MAPPING)
		n->name = p->nkids % 2 ? p->kids[p->nkids - 1]->name : n->text;
	p->kids[p->nkids++] = n;
	return 0;
}

static int key_cmp(const void *a, const void *b)
{
	const struct hb_conf_node *x = *(const struct hb_conf_node *const *)a;
	const struct hb_conf_node *y = *(const struct hb_conf_node *const *)b;
	int r;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	r = memcmp(x->text, y->text, x->len);
	if (r)
		return r;
	return x->index < y->index ? -1 : 1;
}

/*
 * At the end of a mapping: keys must be scalars and unique. Sorting makes
 * the duplicate check O(n log n) even for a huge mapping.
 */
static int check_mapping(struct builder *b, struct hb_conf_node *m)
{
	struct hb_conf_node **keys = malloc((m->nkids / 2 + 1) * sizeof(*keys));
	size_t n = 0;
	char what[64];

	if (!keys)
		return HB_ENOMEM;
	for (size_t i = 0; i < m->nkids; i += 2) {
		struct hb_conf_node *k = m->kids[i];
		struct hb_sbuf w = HB_SBUF(what);

		if (k->text) {
			keys[n++] = k;
			continue;
		}
		sb_what(&w, k);
		hb_conf_errorf(b->e, k, "found %s as a key (expected a scalar)",
			       what);
		b->soft = true;
	}
	qsort(keys, n, sizeof(*keys), key_cmp);
	for (size_t i = 1; i < n; i++) {
		const struct hb_conf_node *first =
			keys[i - 1]->dup ? keys[i - 1]->dup : keys[i - 1];

		if (keys[i]->len != first->len ||
		    memcmp(keys[i]->text, first->text, first->len))
			continue;
		keys[i]->dup = first;
		hb_conf_errorf(b->e, keys[i], "duplicate key (first at %u:%u)",
			       first->line, first->col);
		b->soft = true;
	}
	free(keys);
	return 0;
}

static bool is_null(const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;

	return ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (!*v || !strcmp(v, "~") || !strcmp(v, "null") ||
		!strcmp(v, "Null") || !strcmp(v, "NULL"));
}

/* Returns 0 to go on, HB_ESYNTAX to stop (reported), HB_ENOMEM. */
static int on_event(struct builder *b, const yaml_event_t *ev)
{
	yaml_mark_t m = ev->start_mark;
	struct hb_conf_node *n, at = {.doc = b->doc};
	enum hb_conf_kind kind = HB_CONF_MAPPING;
	int rc;

	at.line = (unsigned)m.line + 1;
	at.col = (unsigned)m.column + 1;
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (!b->docs++)
			return 0;
		hb_conf_errorf(b->e, &at,
			       "multiple documents are not supported");
		return HB_ESYNTAX;
	case YAML_ALIAS_EVENT:
		/* A placeholder keeps keys and values paired. */
		n = new_node(b, HB_CONF_NULL, m, "", 0);
		if ((rc = attach(b, n)))
			return rc;
		hb_conf_errorf(b->e, n, "aliases are not supported");
		b->aliases = true;
		return 0;
	case YAML_SCALAR_EVENT:
		n = new_node(b, is_null(ev) ? HB_CONF_NULL : HB_CONF_SCALAR, m,
			     (const char *)ev->data.scalar.value,
			     ev->data.scalar.length);
		return attach(b, n);
	case YAML_SEQUENCE_START_EVENT:
		kind = HB_CONF_SEQUENCE;
		/* fall through */
	case YAML_MAPPING_START_EVENT:
		if (b->depth == HB_CONF_DEPTH_MAX) {
			hb_conf_errorf(b->e, &at,
				       "nested deeper than %d levels",
				       HB_CONF_DEPTH_MAX);
			return HB_ESYNTAX;
		}
		n = new_node(b, kind, m, NULL, 0);
		if ((rc = attach(b, n)))
			return rc;
		b->stack[b->depth++] = n;
		return 0;
	case YAML_SEQUENCE_END_EVENT: b->depth--; return 0;
	case YAML_MAPPING_END_EVENT:
		return check_mapping(b, b->stack[--b->depth]);
	default: return 0;
	}
}

/* libyaml's error, 1-based; reader errors give only a byte offset. */
static int syntax_error(struct builder *b)
{
	const yaml_parser_t *p = &b->p;
	struct hb_conf_node at = {.doc = b->doc};
	const char *problem = p->problem ? p->problem : "invalid YAML";

	if (p->error == YAML_MEMORY_ERROR)
		return HB_ENOMEM;
	at.line = (unsigned)p->problem_mark.line + 1;
	at.col = (unsigned)p->problem_mark.column + 1;
	if (p->error == YAML_READER_ERROR) {
		at.line = at.col = 1;
		for (size_t i = 0; i < p->problem_offset && i < b->len; i++) {
			at.col = b->text[i] == '\n' ? 1 : at.col + 1;
			at.line += b->text[i] == '\n';
		}
	}
	if (p->context)
		hb_conf_errorf(b->e, &at, "syntax error: %s (%s at %u:%u)",
			       problem, p->context,
			       (unsigned)p->context_mark.line + 1,
			       (unsigned)p->context_mark.column + 1);
	else
		hb_conf_errorf(b->e, &at, "syntax error: %s", problem);
	return HB_ESYNTAX;
}

/*
 * Builds doc->root from text. Returns 0 (with b->soft telling whether
 * errors were recorded that still allow applying the table), HB_ESYNTAX
 * (the tree is unusable) or HB_ENOMEM.
 */
static int build(struct builder *b)
{
	yaml_event_t ev;
	int rc = 0;
	bool done = false;

	if (!yaml_parser_initialize(&b->p))
		return HB_ENOMEM;
	yaml_parser_set_input_string(&b->p, (const unsigned char *)b->text,
				     b->len);
	while (!rc && !done) {
		if (!yaml_parser_parse(&b->p, &ev)) {
			rc = syntax_error(b);
			break;
		}
		rc = on_event(b, &ev);
		done = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&b->p);
	if (!rc && b->aliases)
		rc = HB_ESYNTAX;
	return rc;
}

void hb_conf_doc_free(struct hb_conf_doc *doc)
{
	if (!doc)
		return;
	node_free(doc->root);
	free(doc->name);
	free(doc);
}

/* --- applying a table -------------------------------------------------- */

struct ctx {
	struct hb_conf_errors *e;
	bool keep_nodes;    /* the document outlives the load: set NODEs */
	bool defaults_only; /* hb_conf_defaults(): required keys may lack */
};

static int fail(struct ctx *c, const struct hb_conf_node *n, const char *key,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fail(struct ctx *c, const struct hb_conf_node *n, const char *key,
		const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(c->e, n, key, fmt, ap);
	va_end(ap);
	return HB_ESYNTAX;
}

/* Folds r into rc: memory stops everything, other errors only mark. */
#define MERGE(rc, r)                                                          \
	do {                                                                  \
		int r_ = (r);                                                 \
		if (r_ == HB_ENOMEM)                                          \
			return r_;                                            \
		if (r_ < 0)                                                   \
			(rc) = HB_ESYNTAX;                                    \
	} while (0)

static int apply_map(struct ctx *c, const struct hb_conf_node *map,
		     const struct hb_conf_key *t, char *base, unsigned flags);

static int set_scalar(struct ctx *c, const struct hb_conf_key *k,
		      const struct hb_conf_node *n, void *f)
{
	char exp[512], msg[1024], val[128];
	struct hb_sbuf vb = HB_SBUF(val);
	int rc;

	hb_conf_expected(k, exp, sizeof(exp));
	if (n->kind == HB_CONF_NULL)
		return fail(c, n, NULL, "missing value (expected %s)", exp);
	sb_what(&vb, n);
	if (n->kind != HB_CONF_SCALAR)
		return fail(c, n, NULL, "found %s (expected %s)", val, exp);
	if (strlen(n->text) != n->len)
		return fail(c, n, NULL, "%s contains a NUL (expected %s)", val,
			    exp);
	rc = hb_conf_value_parse(k, n->text, f, msg, sizeof(msg));
	return rc == HB_ESYNTAX ? fail(c, n, NULL, "%s", msg) : rc;
}

/* A sequence, or one item standing for a sequence of one; NULL: none. */
static size_t items(const struct hb_conf_node *n)
{
	return n->kind == HB_CONF_SEQUENCE ? n->nkids : n->kind != HB_CONF_NULL;
}

static const struct hb_conf_node *item(const struct hb_conf_node *n, size_t i)
{
	return n->kind == HB_CONF_SEQUENCE ? n->kids[i] : n;
}

static int set_strv(struct ctx *c, const struct hb_conf_key *k,
		    const struct hb_conf_node *n, struct hb_conf_strv *sv)
{
	static const struct hb_conf_key str = {.name = "",
					       .type = HB_CONF_STRING};
	size_t cnt = items(n);
	int rc = 0;

	if (n->kind == HB_CONF_MAPPING)
		return fail(c, n, NULL, "found a mapping (expected %s)",
			    "a string or a sequence of strings");
	if (!cnt)
		return 0;
	sv->v = calloc(cnt + 1, sizeof(*sv->v));
	if (!sv->v)
		return HB_ENOMEM;
	sv->n = cnt;
	for (size_t i = 0; i < cnt; i++)
		MERGE(rc, set_scalar(c, &str, item(n, i), &sv->v[i]));
	return rc;
}

static int set_list(struct ctx *c, const struct hb_conf_key *k,
		    const struct hb_conf_node *n, struct hb_conf_array *a)
{
	size_t cnt = items(n);
	int rc = 0;

	if (!cnt)
		return 0;
	a->v = calloc(cnt, k->sub_size);
	if (!a->v)
		return HB_ENOMEM;
	a->n = cnt;
	for (size_t i = 0; i < cnt; i++) {
		const struct hb_conf_node *it = item(n, i);
		char *elem = (char *)a->v + i * k->sub_size;
		struct hb_conf_node empty = *it;
		bool only = c->defaults_only;
		int r;

		if (it->kind != HB_CONF_SCALAR || !k->parse) {
			MERGE(rc, apply_map(c, it, k->sub, elem, 0));
			continue;
		}
		/* The shorthand starts from the defaults, and may set what
		 * the sub-table requires, so that is not checked. */
		empty.kind = HB_CONF_NULL;
		c->defaults_only = true;
		r = apply_map(c, &empty, k->sub, elem, 0);
		c->defaults_only = only;
		MERGE(rc, r);
		MERGE(rc, k->parse(it, elem, c->e));
	}
	return rc;
}

static int set_value(struct ctx *c, const struct hb_conf_key *k,
		     const struct hb_conf_node *n, void *f)
{
	switch (k->type) {
	case HB_CONF_STRLIST: return set_strv(c, k, n, f);
	case HB_CONF_SECTION: return apply_map(c, n, k->sub, f, 0);
	case HB_CONF_LIST: return set_list(c, k, n, f);
	case HB_CONF_NODE:
		*(const struct hb_conf_node **)f = c->keep_nodes ? n : NULL;
		return 0;
	case HB_CONF_CUSTOM: return k->parse ? k->parse(n, f, c->e) : 0;
	default: return set_scalar(c, k, n, f);
	}
}

/* The value of key name in a mapping, skipping duplicates (reported). */
static const struct hb_conf_node *find(const struct hb_conf_node *m,
				       const char *name, size_t len)
{
	if (!m || m->kind != HB_CONF_MAPPING)
		return NULL;
	for (size_t i = 0; i + 1 < m->nkids; i += 2) {
		const struct hb_conf_node *k = m->kids[i];

		if (k->text && !k->dup && k->len == len &&
		    !memcmp(k->text, name, len))
			return m->kids[i + 1];
	}
	return NULL;
}

static int apply_key(struct ctx *c, const struct hb_conf_node *map,
		     const struct hb_conf_key *k, char *base)
{
	const struct hb_conf_node *n = find(map, k->name, strlen(k->name));
	struct hb_conf_node def = {
		.kind = HB_CONF_NULL, .line = map->line, .col = map->col,
		.doc = map->doc, .parent = map, .name = k->name, .text = "",
	};

	if (n)
		return set_value(c, k, n, base + k->offset);
	if ((k->flags & HB_CONF_REQUIRED) && !c->defaults_only)
		return fail(c, map, k->name, "missing required key");
	if (k->type == HB_CONF_SECTION) /* its own defaults */
		return set_value(c, k, &def, base + k->offset);
	if (!k->def || k->type == HB_CONF_LIST || k->type == HB_CONF_NODE)
		return 0;
	def.kind = HB_CONF_SCALAR;
	def.is_default = true;
	def.text = k->def;
	def.len = strlen(k->def);
	return set_value(c, k, &def, base + k->offset);
}

static bool known(const struct hb_conf_key *const *tables,
		  const struct hb_conf_node *key)
{
	for (; *tables; tables++)
		for (const struct hb_conf_key *k = *tables; k->name; k++)
			if (strlen(k->name) == key->len &&
			    !memcmp(k->name, key->text, key->len))
				return true;
	return false;
}

static int unknown_keys(struct ctx *c, const struct hb_conf_node *map,
			const struct hb_conf_key *const *tables)
{
	char names[512];
	struct hb_sbuf b = HB_SBUF(names);
	bool listed = false;
	int rc = 0;

	if (!map || map->kind != HB_CONF_MAPPING)
		return 0;
	for (size_t i = 0; i < map->nkids; i += 2) {
		const struct hb_conf_node *key = map->kids[i];

		if (!key->text || key->dup || known(tables, key))
			continue;
		for (const struct hb_conf_key *const *t = tables;
		     !listed && *t; t++)
			for (const struct hb_conf_key *k = *t; k->name; k++)
				hb_sbuf_printf(&b, "%s%s", b.len ? ", " : "one of: ",
					  k->name);
		listed = true;
		rc = fail(c, key, NULL, "unknown key (expected %s)",
			  b.len ? names : "no keys");
	}
	return rc;
}

static int apply_map(struct ctx *c, const struct hb_conf_node *map,
		     const struct hb_conf_key *t, char *base, unsigned flags)
{
	const struct hb_conf_key *const tables[] = {t, NULL};
	char what[128];
	struct hb_sbuf w = HB_SBUF(what);
	int rc = 0;

	if (map->kind != HB_CONF_MAPPING && map->kind != HB_CONF_NULL) {
		sb_what(&w, map);
		return fail(c, map, NULL, "found %s (expected a mapping)",
			    what);
	}
	if (!(flags & HB_CONF_ALLOW_EXTRA))
		rc = unknown_keys(c, map, tables);
	for (const struct hb_conf_key *k = t; k->name; k++)
		MERGE(rc, apply_key(c, map, k, base));
	return rc;
}

/* --- the public entry points ------------------------------------------- */

static size_t field_size(const struct hb_conf_key *k)
{
	switch (k->type) {
	case HB_CONF_BOOL: return sizeof(bool);
	case HB_CONF_INT: return sizeof(int64_t);
	case HB_CONF_DOUBLE: return sizeof(double);
	case HB_CONF_DURATION:
	case HB_CONF_SIZE: return sizeof(uint64_t);
	case HB_CONF_ENUM: return sizeof(int);
	case HB_CONF_STRLIST: return sizeof(struct hb_conf_strv);
	case HB_CONF_LIST: return sizeof(struct hb_conf_array);
	case HB_CONF_CUSTOM: return k->sub_size;
	default: return sizeof(void *); /* STRING, NODE */
	}
}

/* Zeroes every field first, so that any failure can hb_conf_free(). */
static void clear(const struct hb_conf_key *t, char *base)
{
	for (const struct hb_conf_key *k = t; k->name; k++) {
		if (k->type == HB_CONF_SECTION)
			clear(k->sub, base + k->offset);
		else
			memset(base + k->offset, 0, field_size(k));
	}
}

void hb_conf_free(const struct hb_conf_key *table, void *out)
{
	for (const struct hb_conf_key *k = table; k->name; k++) {
		void *f = (char *)out + k->offset;
		struct hb_conf_strv *sv = f;
		struct hb_conf_array *a = f;

		switch (k->type) {
		case HB_CONF_STRING: free(*(char **)f); break;
		case HB_CONF_STRLIST:
			for (size_t i = 0; i < sv->n; i++)
				free(sv->v[i]);
			free(sv->v);
			break;
		case HB_CONF_SECTION: hb_conf_free(k->sub, f); continue;
		case HB_CONF_LIST:
			for (size_t i = 0; i < a->n; i++)
				hb_conf_free(k->sub,
					     (char *)a->v + i * k->sub_size);
			free(a->v);
			break;
		case HB_CONF_CUSTOM:
			if (k->free)
				k->free(f);
			break;
		case HB_CONF_NODE: break;
		default: continue; /* plain values own nothing */
		}
		memset(f, 0, field_size(k));
	}
}

int hb_conf_defaults(const struct hb_conf_key *table, void *out)
{
	struct ctx c = {.defaults_only = true};
	struct hb_conf_node empty = {.kind = HB_CONF_NULL, .text = ""};
	int rc;

	clear(table, out);
	rc = apply_map(&c, &empty, table, out, 0);
	if (rc)
		hb_conf_free(table, out);
	return rc;
}

int hb_conf_apply(const struct hb_conf_node *map,
		  const struct hb_conf_key *table, void *out, unsigned flags,
		  struct hb_conf_errors *errs)
{
	struct ctx c = {.e = errs, .keep_nodes = true};
	struct hb_conf_node empty = {.kind = HB_CONF_NULL, .text = ""};
	size_t from = errs ? errs->count : 0;
	int rc;

	clear(table, out);
	rc = apply_map(&c, map ? map : &empty, table, out, flags);
	sort_errors(errs, from);
	if (rc)
		hb_conf_free(table, out);
	return rc;
}

int hb_conf_check_keys(const struct hb_conf_node *map,
		       const struct hb_conf_key *const *tables,
		       struct hb_conf_errors *errs)
{
	struct ctx c = {.e = errs};
	size_t from = errs ? errs->count : 0;
	int rc = unknown_keys(&c, map, tables);

	sort_errors(errs, from);
	return rc;
}

static int too_big(struct hb_conf_errors *e, const struct hb_conf_doc *d)
{
	struct hb_conf_node at = {.doc = d};

	hb_conf_errorf(e, &at, "larger than %zu MiB", HB_CONF_FILE_MAX >> 20);
	return HB_ESYNTAX;
}

int hb_conf_load_string(const char *name, const char *text, size_t len,
			const struct hb_conf_key *table, void *out,
			struct hb_conf_doc **doc_out,
			struct hb_conf_errors *errs)
{
	struct ctx c = {.e = errs, .keep_nodes = doc_out != NULL};
	struct builder b = {.e = errs, .text = text, .len = len};
	struct hb_conf_node empty = {.kind = HB_CONF_NULL, .text = "",
				     .line = 1, .col = 1};
	size_t from = errs ? errs->count : 0;
	int rc;

	if (doc_out)
		*doc_out = NULL;
	clear(table, out);
	b.doc = calloc(1, sizeof(*b.doc));
	if (!b.doc || !(b.doc->name = strdup(name))) {
		free(b.doc);
		return HB_ENOMEM;
	}
	empty.doc = b.doc;
	rc = len > HB_CONF_FILE_MAX ? too_big(errs, b.doc) : build(&b);
	if (!rc) {
		rc = apply_map(&c, b.doc->root ? b.doc->root : &empty, table,
			       out, 0);
		if (!rc && b.soft)
			rc = HB_ESYNTAX;
	}
	sort_errors(errs, from);
	if (rc) {
		hb_conf_free(table, out);
		hb_conf_doc_free(b.doc);
		return rc;
	}
	if (doc_out)
		*doc_out = b.doc;
	else
		hb_conf_doc_free(b.doc);
	return 0;
}

/* Reads up to HB_CONF_FILE_MAX + 1 bytes: enough to tell it is too big. */
static int read_file(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "re");
	int err = 0;

	if (!f)
		return -errno;
	*out = malloc(HB_CONF_FILE_MAX + 1);
	*len = *out ? fread(*out, 1, HB_CONF_FILE_MAX + 1, f) : 0;
	if (!*out)
		err = ENOMEM;
	else if (ferror(f))
		err = errno ? errno : EIO;
	fclose(f);
	if (err) {
		free(*out);
		*out = NULL;
	}
	return -err;
}

int hb_conf_load_file(const char *path, const struct hb_conf_key *table,
		      void *out, struct hb_conf_doc **doc_out,
		      struct hb_conf_errors *errs)
{
	struct hb_conf_doc d = {.name = (char *)path};
	struct hb_conf_node at = {.doc = &d};
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (doc_out)
		*doc_out = NULL;
	clear(table, out);
	rc = read_file(path, &text, &len);
	if (rc == -ENOMEM)
		return HB_ENOMEM;
	if (rc) {
		hb_conf_errorf(errs, &at, "cannot read: %s", strerror(-rc));
		return HB_EIO;
	}
	if (len > HB_CONF_FILE_MAX)
		rc = too_big(errs, &d);
	else
		rc = hb_conf_load_string(path, text, len, table, out, doc_out,
					 errs);
	free(text);
	return rc;
}

/* --- nodes: NULL is taken for an absent node, so that lookups chain --- */

enum hb_conf_kind hb_conf_node_kind(const struct hb_conf_node *n)
{
	return n ? n->kind : HB_CONF_NULL;
}

const char *hb_conf_node_text(const struct hb_conf_node *n)
{
	return n ? n->text : NULL;
}

size_t hb_conf_node_count(const struct hb_conf_node *n)
{
	if (!n)
		return 0;
	return n->kind == HB_CONF_MAPPING ? n->nkids / 2 : n->nkids;
}

const struct hb_conf_node *hb_conf_node_key(const struct hb_conf_node *n,
					    size_t i)
{
	return hb_conf_node_kind(n) == HB_CONF_MAPPING && i < n->nkids / 2
		       ? n->kids[2 * i]
		       : NULL;
}

const struct hb_conf_node *hb_conf_node_at(const struct hb_conf_node *n,
					   size_t i)
{
	if (hb_conf_node_kind(n) == HB_CONF_MAPPING)
		return i < n->nkids / 2 ? n->kids[2 * i + 1] : NULL;
	return i < hb_conf_node_count(n) ? n->kids[i] : NULL;
}

const struct hb_conf_node *hb_conf_node_get(const struct hb_conf_node *n,
					    const char *name)
{
	return find(n, name, strlen(name));
}

unsigned hb_conf_node_line(const struct hb_conf_node *n)
{
	return n ? n->line : 0;
}

unsigned hb_conf_node_col(const struct hb_conf_node *n)
{
	return n ? n->col : 0;
}
