/*
 * hb_conf: the YAML configuration loader of hbd and hbc. A program
 * describes its configuration once, as a static table of keys (name,
 * type, bounds, default, help: one entry each, as in redis's config.c);
 * the loader parses the file with libyaml, fills a C struct through the
 * table and reports every problem it finds in one pass, one line each:
 *
 *     hbd.yaml:12:14: listen.port: 70000 is out of range (expected an
 *     integer 1..65535)
 *
 * (one line in reality), "file:line:col: key.path: problem (expected
 * ...)", lines and columns 1-based, pointing at the offending value, or
 * at the key for unknown and duplicate keys. Sequence items appear in
 * paths as "servers[1].port".
 *
 * YAML accepted: one document whose top level is a mapping (an empty
 * file, or one of comments only, is an empty mapping: all defaults).
 * Keys are scalars and unique. Anchors are ignored; aliases are refused
 * (no billion laughs); tags are ignored. Collections nest at most
 * HB_CONF_DEPTH_MAX deep; files are at most HB_CONF_FILE_MAX bytes.
 * Values are typed by the table, not by YAML: "port: '7781'" is the
 * integer 7781 and "name: yes" is the string "yes". A plain empty value,
 * "~" or "null" is "no value": an error for a scalar key, an empty
 * mapping for a section, an empty list for a list.
 *
 * Every function returns 0 or a negative HB_E* code (hb_error.h):
 * HB_ESYNTAX when the configuration has errors (all of them in errs),
 * HB_EIO when the file cannot be read, HB_ENOMEM. Assumes the "C"
 * LC_NUMERIC locale, as the rest of hb.
 *
 * Code: hb_conf.c builds the tree and walks tables over it;
 * hb_conf_value.c parses and describes scalar values. Link both, and
 * libyaml (pkg-config yaml-0.1).
 */
#ifndef HB_CONF_H
#define HB_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define HB_CONF_FILE_MAX ((size_t)4 << 20) /* bytes */
#define HB_CONF_DEPTH_MAX 32  /* nested mappings and sequences */
#define HB_CONF_ERRORS_MAX 64 /* messages kept; more are only counted */

/* One parsed YAML node: opaque, read with the hb_conf_node_* accessors. */
struct hb_conf_node;

/* A parsed file: owns every node. Opaque. */
struct hb_conf_doc;

/*
 * Types of table entries, and the C type of the field at .offset:
 *   STRING    char *, malloc'd, NULL when absent without default
 *   BOOL      bool: true/false, yes/no, on/off (also Capitalised, UPPER)
 *   INT       int64_t: decimal or 0x hex, in .min .. .max
 *   DOUBLE    double: decimal with optional exponent, in .dmin .. .dmax
 *   DURATION  uint64_t milliseconds: "10" or "1.5" (seconds), or with a
 *             unit ms, s, m, h, d ("250ms", "1.5m"); .min/.max in ms
 *   SIZE      uint64_t bytes: "512", or with a unit B, k/K/KiB, M/MiB,
 *             G/GiB, T/TiB (powers of 1024), KB, MB, GB, TB (powers of
 *             1000); decimals allowed ("1.5G"); .min/.max in bytes
 *   ENUM      int: index into .enums, a NULL-terminated list of names
 *   STRLIST   struct hb_conf_strv: a sequence of strings, or one string
 *   SECTION   a struct (inline at .offset) described by the table .sub
 *   LIST      struct hb_conf_array: a sequence of mappings (or a single
 *             mapping), each a struct of .sub_size bytes described by
 *             .sub; if .parse is set, an item that is a scalar is given
 *             to it instead (shorthands such as "host:port"), the
 *             element already holding .sub's defaults
 *   NODE      const struct hb_conf_node *: the raw subtree, for keys the
 *             table cannot describe (plugin sections); NULL when absent
 *   CUSTOM    .sub_size bytes, zeroed, then filled by .parse (given the
 *             value node, or the default), emptied by .free (if set) in
 *             hb_conf_free(); .free must accept a zeroed field and one
 *             that .parse filled only partly before failing
 */
enum hb_conf_type {
	HB_CONF_STRING = 1,
	HB_CONF_BOOL,
	HB_CONF_INT,
	HB_CONF_DOUBLE,
	HB_CONF_DURATION,
	HB_CONF_SIZE,
	HB_CONF_ENUM,
	HB_CONF_STRLIST,
	HB_CONF_SECTION,
	HB_CONF_LIST,
	HB_CONF_NODE,
	HB_CONF_CUSTOM,
};

/* hb_conf_key.flags */
#define HB_CONF_REQUIRED 0x1u /* absent is an error; needs no .def */

struct hb_conf_errors;

/*
 * One configuration key. Tables are arrays of these ended by
 * HB_CONF_END; offsets are relative to the struct the table describes.
 *
 * .def is YAML scalar text (or NULL) and goes through the very parser
 * user values go through, so the documented default is exactly what
 * applies: "7781", "10s", "64KiB", "info". For STRLIST it is one
 * element. SECTION, LIST and NODE have no default (absent: the section's
 * own defaults, an empty list, NULL). Keys without default and not
 * required are zero (NULL, 0, false) when absent.
 *
 * .parse (CUSTOM, LIST shorthands) converts node n into field; it
 * reports problems with hb_conf_errorf(e, n, ...) and returns 0,
 * HB_ESYNTAX after reporting, or HB_ENOMEM. n lives only during the call
 * (a default is a temporary node); .parse may call hb_conf_apply().
 */
struct hb_conf_key {
	const char *name;
	enum hb_conf_type type;
	size_t offset;
	/* Inclusive bounds; both 0: unbounded; INT64_MAX (or INT64_MIN),
	 * HUGE_VAL (or -HUGE_VAL): bounded on one side. */
	int64_t min, max;  /* INT, DURATION (ms), SIZE (bytes) */
	double dmin, dmax; /* DOUBLE */
	const char *def;
	const char *const *enums;      /* ENUM */
	const struct hb_conf_key *sub; /* SECTION, LIST */
	size_t sub_size;               /* LIST element, CUSTOM field size */
	int (*parse)(const struct hb_conf_node *n, void *field,
		     struct hb_conf_errors *e);
	void (*free)(void *field); /* CUSTOM: frees what .parse stored */
	unsigned flags;
	const char *help; /* one line, for hb_conf_describe() */
};

#define HB_CONF_END {.name = NULL}

/* STRLIST field: v[0..n) malloc'd strings, v[n] == NULL; v NULL if n 0. */
struct hb_conf_strv {
	char **v;
	size_t n;
};

/* LIST field: n structs of the entry's .sub_size bytes; v NULL if n 0. */
struct hb_conf_array {
	void *v;
	size_t n;
};

/* One error message, "file:line:col: path: problem"; line 0: no place. */
struct hb_conf_error {
	char *text;
	unsigned line, col;
};

/*
 * Errors collected by the loader, in file order within one call. Start
 * zeroed ({0}); several calls may append to one. Owns the texts.
 */
struct hb_conf_errors {
	struct hb_conf_error *v;
	size_t count;   /* messages in v */
	size_t dropped; /* errors past HB_CONF_ERRORS_MAX (or without memory) */
};

/* Prints each message on its own line, then how many were dropped. */
void hb_conf_errors_print(const struct hb_conf_errors *e, FILE *f);

/* Frees the messages and leaves e zeroed. */
void hb_conf_errors_free(struct hb_conf_errors *e);

/*
 * Loads a configuration file into out through table. Every field the
 * table describes is overwritten (not freed first): pass a fresh struct.
 * errs may be NULL (errors are then only counted into the return code).
 * doc_out, when not NULL, receives the parsed document, which NODE fields
 * point into: free it with hb_conf_doc_free() after the last use of those
 * nodes. When doc_out is NULL, NODE fields are NULL.
 * Returns 0; HB_ESYNTAX with every problem in errs; HB_EIO (unreadable,
 * message in errs); HB_ENOMEM. On failure out owns nothing (as after
 * hb_conf_free()) and *doc_out is NULL.
 */
int hb_conf_load_file(const char *path, const struct hb_conf_key *table,
		      void *out, struct hb_conf_doc **doc_out,
		      struct hb_conf_errors *errs);

/* As hb_conf_load_file() on text[0..len), named `name` in messages. */
int hb_conf_load_string(const char *name, const char *text, size_t len,
			const struct hb_conf_key *table, void *out,
			struct hb_conf_doc **doc_out,
			struct hb_conf_errors *errs);

/*
 * Fills out with the table's defaults alone, as a load of an empty file
 * would, except that missing required keys are not errors. Returns 0,
 * HB_ESYNTAX (a default does not parse: a bug in the table) or
 * HB_ENOMEM; on failure out owns nothing.
 */
int hb_conf_defaults(const struct hb_conf_key *table, void *out);

/*
 * Frees what out owns through table (strings, lists, sections, CUSTOM
 * fields with .free) and zeroes those pointers: calling it twice is
 * harmless. NODE fields are set to NULL; the doc owns their nodes.
 */
void hb_conf_free(const struct hb_conf_key *table, void *out);

/* Frees a document and all its nodes. NULL is allowed. */
void hb_conf_doc_free(struct hb_conf_doc *doc);

/* hb_conf_apply() flags */
#define HB_CONF_ALLOW_EXTRA 0x1u /* keys the table lacks are not errors */

/*
 * Applies a table to a node of a loaded document (a NODE field: a plugin
 * section), exactly as the loader does to a section: out is overwritten,
 * missing keys get defaults, errors name the node's file and path. A
 * "no value" node (or NULL) is an empty mapping. With HB_CONF_ALLOW_EXTRA
 * unknown keys are left to the caller, who checks them all at the end
 * with hb_conf_check_keys(). Returns 0, HB_ESYNTAX, HB_ENOMEM; on
 * failure out owns nothing.
 */
int hb_conf_apply(const struct hb_conf_node *map,
		  const struct hb_conf_key *table, void *out, unsigned flags,
		  struct hb_conf_errors *errs);

/*
 * Reports every key of mapping map that none of the NULL-terminated
 * tables has ("unknown key (expected one of: ...)"): e.g. hbc's common
 * plugin keys plus one plugin's own. Returns 0 or HB_ESYNTAX.
 */
int hb_conf_check_keys(const struct hb_conf_node *map,
		       const struct hb_conf_key *const *tables,
		       struct hb_conf_errors *errs);

/*
 * Records "file:line:col: path: <fmt...>" about node n (a .parse
 * callback's problem). e may be NULL.
 */
void hb_conf_errorf(struct hb_conf_errors *e, const struct hb_conf_node *n,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Node kinds. NULL: a plain empty value, "~", "null", "Null", "NULL". */
enum hb_conf_kind {
	HB_CONF_NULL,
	HB_CONF_SCALAR,
	HB_CONF_MAPPING,
	HB_CONF_SEQUENCE,
};

/*
 * Node accessors; nodes live as long as their document. For a mapping,
 * count is its number of keys, and key(i)/at(i) its i-th key node and
 * value in file order; for a sequence, at(i) is its i-th item. Out of
 * range gives NULL, and every accessor takes NULL as an absent node (kind
 * NULL, text NULL, count 0, line 0), so lookups chain:
 * hb_conf_node_get(hb_conf_node_get(root, "a"), "b").
 */
enum hb_conf_kind hb_conf_node_kind(const struct hb_conf_node *n);
/* Scalar (and NULL-kind) text as written, NUL-terminated; else NULL. */
const char *hb_conf_node_text(const struct hb_conf_node *n);
size_t hb_conf_node_count(const struct hb_conf_node *n);
const struct hb_conf_node *hb_conf_node_key(const struct hb_conf_node *n,
					    size_t i);
const struct hb_conf_node *hb_conf_node_at(const struct hb_conf_node *n,
					   size_t i);
/* The value of key `name` in mapping n, or NULL. */
const struct hb_conf_node *hb_conf_node_get(const struct hb_conf_node *n,
					    const char *name);
/* 1-based position of the node's first character. */
unsigned hb_conf_node_line(const struct hb_conf_node *n);
unsigned hb_conf_node_col(const struct hb_conf_node *n);

/*
 * Parse a duration into milliseconds or a size into bytes, as DURATION
 * and SIZE keys do (for command-line options). Return 0, HB_ESYNTAX
 * (malformed), HB_EINVAL (finer than 1 ms or 1 byte), HB_ETOOBIG (does
 * not fit 64 bits).
 */
int hb_conf_parse_duration(const char *s, uint64_t *ms);
int hb_conf_parse_size(const char *s, uint64_t *bytes);

/*
 * Parses scalar text for key k (STRING, BOOL, INT, DOUBLE, DURATION, SIZE
 * or ENUM) into field exactly as the loader does: for command-line
 * overrides. Returns 0; HB_ESYNTAX with the problem written into
 * msg[0..cap) ("70000 is out of range (expected an integer 1..65535)");
 * HB_ENOMEM; HB_EINVAL for a key of another type. A STRING is strdup'd.
 * msg is always NUL-terminated (cut to fit); it may be NULL if cap is 0.
 */
int hb_conf_value_parse(const struct hb_conf_key *k, const char *text,
			void *field, char *msg, size_t cap);

/*
 * Makes a relative *path absolute against the directory the program was
 * in when this was first called (call it during start-up, before a
 * daemon moves to /): relative paths in a configuration keep meaning the
 * same, also on reload. NULL and absolute paths are left alone. Returns 0
 * or HB_ENOMEM.
 */
int hb_conf_abs_path(char **path);

/* Writes what key k accepts ("an integer 1..65535") into buf[0..cap). */
void hb_conf_expected(const struct hb_conf_key *k, char *buf, size_t cap);

/*
 * Prints each key of table, one per line with its path, what it accepts
 * and its default, then its help text indented: for "--help-config".
 */
void hb_conf_describe(const struct hb_conf_key *table, FILE *f);

#endif
