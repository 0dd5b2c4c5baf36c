/* hb_error: descriptions and identifiers of the HB_E* codes. */
#include "hb_error.h"

static const struct {
	const char *name;
	const char *text;
} errors[HB_ERR_COUNT] = {
	{"ok", "success"},
	{"invalid_argument", "invalid argument"},
	{"no_memory", "out of memory"},
	{"no_space", "output buffer too small"},
	{"truncated", "datagram shorter than its header and tag"},
	{"too_big", "datagram or message larger than allowed"},
	{"bad_magic", "not an hb datagram (bad magic)"},
	{"bad_version", "unknown protocol version"},
	{"bad_type", "unknown message type"},
	{"bad_mode", "unknown or unaccepted security mode"},
	{"bad_flags", "reserved header bits set or invalid fragment fields"},
	{"unknown_key", "no key with this key id"},
	{"bad_tag", "authentication failed (bad tag)"},
	{"wrong_host", "key is bound to another host"},
	{"bad_msgpack", "body is not one well-formed msgpack map"},
	{"bad_field", "field has a wrong type or range, or appears twice"},
	{"missing_field", "required field missing"},
	{"limit", "more elements than the decoder accepts"},
	{"replay", "replayed or too old sequence number"},
	{"skew", "timestamp outside the clock-skew window"},
	{"bad_fragment", "fragment inconsistent with its message"},
	{"reassembly_memory", "reassembly memory cap reached"},
	{"io", "file could not be read or written"},
	{"syntax", "malformed input"},
	{"duplicate", "duplicate entry"},
};

static int index_of(int err)
{
	if (err > 0 || err <= -HB_ERR_COUNT)
		return -1;
	return -err;
}

const char *hb_strerror(int err)
{
	int i = index_of(err);
	return i < 0 ? "unknown error" : errors[i].text;
}

const char *hb_errname(int err)
{
	int i = index_of(err);
	return i < 0 ? "unknown" : errors[i].name;
}
