/* identity: the host id, the epoch and what /proc says about the host. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <sodium.h>

#include "hb_error.h"
#include "hb_key.h"
#include "hb_time.h"
#include "identity.h"

/* Reads a small text file into buf (NUL-terminated); bytes or -errno. */
static ssize_t read_small(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, cap - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

/* dir/name.tmp, fsync, rename over dir/name: all or nothing. */
static int write_atomic(const char *dir, const char *name, const char *text,
			char *err, size_t errlen)
{
	char path[4096], tmp[4200];
	size_t len = strlen(text);
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) < 0 ||
	    close(fd) < 0 || rename(tmp, path) < 0) {
		snprintf(err, errlen, "%s: %s", fd < 0 ? tmp : path,
			 strerror(errno ? errno : EIO));
		if (fd >= 0)
			unlink(tmp);
		return HB_EIO;
	}
	/* The rename itself must survive a crash too. */
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(fd);
		close(fd);
	}
	return 0;
}

int identity_make_dir(const char *state_dir, char *err, size_t errlen)
{
	char path[4096];
	size_t len = strlen(state_dir);

	if (len == 0 || len >= sizeof(path)) {
		snprintf(err, errlen, "state_dir: bad path '%s'", state_dir);
		return HB_EINVAL;
	}
	memcpy(path, state_dir, len + 1);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return HB_EIO;
		}
		*p = '/';
	}
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return HB_EIO;
	}
	return 0;
}

static void new_uuid(uint8_t id[16])
{
	randombytes_buf(id, 16);
	id[6] = (uint8_t)((id[6] & 0x0f) | 0x40); /* version 4 */
	id[8] = (uint8_t)((id[8] & 0x3f) | 0x80); /* RFC 4122 variant */
}

/* <dir>/host-id: read, or created once. */
static int host_id(const char *dir, struct identity *id, char *err,
		   size_t errlen)
{
	char path[4096], text[64];
	ssize_t n;
	int rc;

	snprintf(path, sizeof(path), "%s/host-id", dir);
	n = read_small(path, text, sizeof(text));
	if (n >= 0) {
		text[strcspn(text, " \t\r\n")] = '\0';
		if (hb_uuid_parse(text, strlen(text), id->host_id) < 0) {
			snprintf(err, errlen, "%s: not a uuid (remove the file "
				 "to make a new host id)", path);
			return HB_ESYNTAX;
		}
		hb_uuid_format(id->host_id, id->host_uuid);
		return 0;
	}
	if (n != -ENOENT) {
		snprintf(err, errlen, "%s: %s", path, strerror((int)-n));
		return HB_EIO;
	}
	new_uuid(id->host_id);
	hb_uuid_format(id->host_id, id->host_uuid);
	snprintf(text, sizeof(text), "%s\n", id->host_uuid);
	rc = write_atomic(dir, "host-id", text, err, errlen);
	return rc;
}

int identity_next_epoch(const char *state_dir, uint32_t *epoch, char *err,
			size_t errlen)
{
	uint32_t now = (uint32_t)(hb_unix_ms() / 1000), last = 0;
	char path[4096], text[32];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/epoch", state_dir);
	n = read_small(path, text, sizeof(text));
	if (n < 0 && n != -ENOENT) {
		snprintf(err, errlen, "%s: %s", path, strerror((int)-n));
		return HB_EIO;
	}
	if (n >= 0 && sscanf(text, "%" SCNu32, &last) != 1) {
		snprintf(err, errlen, "%s: not a number", path);
		return HB_ESYNTAX;
	}
	if (last == UINT32_MAX) {
		snprintf(err, errlen, "%s: epochs exhausted", path);
		return HB_EINVAL;
	}
	*epoch = now > last ? now : last + 1;
	snprintf(text, sizeof(text), "%" PRIu32 "\n", *epoch);
	return write_atomic(state_dir, "epoch", text, err, errlen);
}

int identity_read_boot_id(const char *path, uint8_t out[16])
{
	char text[64];

	if (read_small(path, text, sizeof(text)) < 0)
		return HB_EIO;
	text[strcspn(text, " \t\r\n")] = '\0';
	return hb_uuid_parse(text, strlen(text), out) < 0 ? HB_ESYNTAX : 0;
}

int identity_read_sys(uint64_t *uptime, double load[3])
{
	struct sysinfo si;

	if (sysinfo(&si) < 0)
		return HB_EIO;
	*uptime = si.uptime > 0 ? (uint64_t)si.uptime : 0;
	/* Fixed point with 16 fraction bits; the kernel rounds to 1/100
	 * for /proc/loadavg the same way. */
	for (int i = 0; i < 3; i++)
		load[i] = (double)((si.loads[i] * 100 + (1u << 15)) >> 16) / 100;
	return 0;
}

int identity_load(const char *state_dir, struct identity *id, char *err,
		  size_t errlen)
{
	int rc;

	memset(id, 0, sizeof(*id));
	id->start_time = hb_unix_ms() / 1000;
	if ((rc = identity_make_dir(state_dir, err, errlen)) < 0 ||
	    (rc = host_id(state_dir, id, err, errlen)) < 0 ||
	    (rc = identity_next_epoch(state_dir, &id->epoch, err, errlen)) < 0)
		return rc;
	id->has_boot_id = identity_read_boot_id(IDENTITY_BOOT_ID,
						id->boot_id) == 0;
	return 0;
}
