/*
 * hb_error: the one error convention of hb. Functions return 0 on success
 * and a negative HB_E* code on failure; hb_strerror() explains a code,
 * hb_errname() gives a short stable identifier for counters and logs.
 */
#ifndef HB_ERROR_H
#define HB_ERROR_H

enum {
	HB_OK = 0,
	HB_EINVAL = -1,    /* invalid argument (a caller bug) */
	HB_ENOMEM = -2,    /* out of memory */
	HB_ENOSPC = -3,    /* output buffer too small */
	HB_ETRUNC = -4,    /* datagram shorter than its header and tag */
	HB_ETOOBIG = -5,   /* datagram or message larger than allowed */
	HB_EMAGIC = -6,    /* not an hb datagram */
	HB_EVERSION = -7,  /* unknown protocol version */
	HB_ETYPE = -8,     /* unknown message type */
	HB_EMODE = -9,     /* unknown or unaccepted security mode */
	HB_EFLAGS = -10,   /* reserved bits set or fragment fields invalid */
	HB_EKEYID = -11,   /* no key with this key id */
	HB_EAUTH = -12,    /* tag verification or decryption failed */
	HB_EHOST = -13,    /* key is bound to another host */
	HB_EMSGPACK = -14, /* body is not one well-formed msgpack map */
	HB_EFIELD = -15,   /* known key with a wrong type or range, or twice */
	HB_EMISSING = -16, /* required key missing */
	HB_ELIMIT = -17,   /* more elements than the decoder accepts */
	HB_EREPLAY = -18,  /* sequence already seen or too old, or old epoch */
	HB_ESKEW = -19,    /* timestamp outside the clock-skew window */
	HB_EFRAG = -20,    /* fragment inconsistent with its message */
	HB_EFRAGMEM = -21, /* reassembly memory cap reached */
	HB_EIO = -22,      /* file could not be read or written */
	HB_ESYNTAX = -23,  /* text input (key file...) malformed */
	HB_EEXIST = -24,   /* duplicate entry */
};

#define HB_ERR_COUNT 25 /* codes are 0 .. -(HB_ERR_COUNT - 1) */

/* Returns a static, human-readable description of an HB_E* code. */
const char *hb_strerror(int err);

/* Returns a static snake_case identifier ("bad_magic") of an HB_E* code. */
const char *hb_errname(int err);

#endif
