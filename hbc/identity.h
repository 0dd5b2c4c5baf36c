/*
 * identity: who this client is and what it says about the host. The
 * host id (a random version-4 UUID) is generated once and kept in
 * <state_dir>/host-id for the life of the host; the epoch, max(now in
 * seconds, last + 1), is stored in <state_dir>/epoch before any datagram
 * uses it, so epochs grow strictly across restarts (docs/PROTOCOL.md
 * section 5). Both files are written atomically: temporary file, fsync,
 * rename. The rest is read from /proc: boot id, uptime, load averages.
 *
 * Errors are one line in err: the path and strerror(), or what is wrong
 * with the file's contents.
 */
#ifndef HBC_IDENTITY_H
#define HBC_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct identity {
	uint8_t host_id[16];
	char host_uuid[37];
	uint32_t epoch;
	bool has_boot_id;
	uint8_t boot_id[16];
	uint64_t start_time; /* Unix s when hbc started */
};

/*
 * Creates state_dir (mode 0700, parents 0755) if missing, reads or
 * creates the host id, takes the next epoch, reads the boot id. Returns
 * 0 or a negative HB_E* code with the reason in err.
 */
int identity_load(const char *state_dir, struct identity *id, char *err,
		  size_t errlen);

/*
 * Takes the next epoch of state_dir: max(now_s, stored + 1), stored
 * before it is returned. Also for a new epoch when seq runs out.
 */
int identity_next_epoch(const char *state_dir, uint32_t *epoch, char *err,
			size_t errlen);

/* Makes state_dir (and its parents) if missing. */
int identity_make_dir(const char *state_dir, char *err, size_t errlen);

/* The 16 bytes of a boot_id file's uuid text. 0 or a negative code. */
int identity_read_boot_id(const char *path, uint8_t out[16]);

/*
 * Host uptime in seconds and the 1, 5, 15 minute load averages, from one
 * sysinfo(2) call: no file to open and parse at every heartbeat. Loads
 * are rounded to two decimals, as /proc/loadavg shows them. 0 or HB_EIO.
 */
int identity_read_sys(uint64_t *uptime, double load[3]);

#define IDENTITY_BOOT_ID "/proc/sys/kernel/random/boot_id"

#endif
