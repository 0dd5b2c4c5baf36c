/*
 * Tests of hbc's identity: the state directory is created 0700, the host
 * id is made once and kept, epochs grow strictly (also within one
 * second and across a clock set back), bad files are reported with
 * their path, and the /proc readers parse what the kernel writes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "hb_error.h"
#include "identity.h"

static char root[64];

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	return remove(path);
}

static int setup(void **state)
{
	snprintf(root, sizeof(root), "/tmp/hbc-identity-XXXXXX");
	assert_non_null(mkdtemp(root));
	return 0;
}

static int teardown(void **state)
{
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_state_dir_created_0700(void **state)
{
	char dir[256], err[512];
	struct identity id;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s/var/lib/hb/client", root);
	assert_int_equal(identity_load(dir, &id, err, sizeof(err)), 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
}

static void test_host_id_kept(void **state)
{
	char dir[256], path[300], text[64], err[512];
	struct identity a, b;
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/state", root);
	assert_int_equal(identity_load(dir, &a, err, sizeof(err)), 0);
	assert_int_equal(identity_load(dir, &b, err, sizeof(err)), 0);
	assert_memory_equal(a.host_id, b.host_id, 16);
	assert_string_equal(a.host_uuid, b.host_uuid);
	/* A random version-4 UUID, RFC 4122 variant. */
	assert_int_equal(a.host_id[6] >> 4, 4);
	assert_int_equal(a.host_id[8] >> 6, 2);
	snprintf(path, sizeof(path), "%s/host-id", dir);
	assert_non_null(f = fopen(path, "r"));
	assert_non_null(fgets(text, sizeof(text), f));
	fclose(f);
	assert_int_equal(strncmp(text, a.host_uuid, 36), 0);
	/* No temporary file is left behind. */
	snprintf(path, sizeof(path), "%s/host-id.tmp", dir);
	assert_int_equal(access(path, F_OK), -1);
	/* Another state directory is another host. */
	snprintf(dir, sizeof(dir), "%s/other", root);
	assert_int_equal(identity_load(dir, &b, err, sizeof(err)), 0);
	assert_memory_not_equal(a.host_id, b.host_id, 16);
}

static void test_epoch_strictly_increasing(void **state)
{
	char dir[256], path[300], text[32], err[512];
	uint32_t e[4], now = (uint32_t)time(NULL);
	struct identity id;

	snprintf(dir, sizeof(dir), "%s/state", root);
	assert_int_equal(identity_load(dir, &id, err, sizeof(err)), 0);
	assert_true(id.epoch >= now);
	/* Restarts within one second still get new epochs. */
	e[0] = id.epoch;
	for (int i = 1; i < 4; i++) {
		assert_int_equal(identity_next_epoch(dir, &e[i], err,
						     sizeof(err)), 0);
		assert_true(e[i] > e[i - 1]);
	}
	assert_int_equal(identity_load(dir, &id, err, sizeof(err)), 0);
	assert_true(id.epoch > e[3]);
	/* A clock set back: the stored epoch still rules. */
	snprintf(path, sizeof(path), "%s/epoch", dir);
	snprintf(text, sizeof(text), "%u\n", now + 100000);
	put(path, text);
	assert_int_equal(identity_next_epoch(dir, &e[0], err, sizeof(err)), 0);
	assert_int_equal(e[0], now + 100001);
}

static void test_bad_files_named(void **state)
{
	char dir[256], path[300], err[512];
	struct identity id;

	snprintf(dir, sizeof(dir), "%s/bad", root);
	assert_int_equal(identity_make_dir(dir, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/host-id", dir);
	put(path, "not-a-uuid\n");
	assert_int_equal(identity_load(dir, &id, err, sizeof(err)),
			 HB_ESYNTAX);
	assert_non_null(strstr(err, path));
	unlink(path);
	snprintf(path, sizeof(path), "%s/epoch", dir);
	put(path, "soon\n");
	assert_int_equal(identity_load(dir, &id, err, sizeof(err)),
			 HB_ESYNTAX);
	assert_non_null(strstr(err, path));
	/* A state_dir that is a file. */
	snprintf(path, sizeof(path), "%s/file", root);
	put(path, "");
	snprintf(dir, sizeof(dir), "%s/file/state", root);
	assert_true(identity_load(dir, &id, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "Not a directory"));
}

static void test_proc_readers(void **state)
{
	char path[300];
	uint8_t boot[16];
	double load[3];
	uint64_t up = 0;

	snprintf(path, sizeof(path), "%s/boot_id", root);
	put(path, "6f1c2a9e-3b4d-4c5e-8f70-123456789abc\n");
	assert_int_equal(identity_read_boot_id(path, boot), 0);
	assert_int_equal(boot[0], 0x6f);
	assert_int_equal(boot[15], 0xbc);
	/* The real ones, on Linux: sysinfo agrees with /proc. */
	assert_int_equal(identity_read_boot_id(IDENTITY_BOOT_ID, boot), 0);
	assert_int_equal(identity_read_sys(&up, load), 0);
	{
		FILE *f = fopen("/proc/uptime", "r");
		double proc_up = 0, proc_load[3] = {-1, -1, -1};

		assert_non_null(f);
		assert_int_equal(fscanf(f, "%lf", &proc_up), 1);
		fclose(f);
		assert_true(up + 2 >= proc_up && up <= proc_up + 2);
		f = fopen("/proc/loadavg", "r");
		assert_non_null(f);
		assert_int_equal(fscanf(f, "%lf %lf %lf", &proc_load[0],
					&proc_load[1], &proc_load[2]),
				 3);
		fclose(f);
		/* Read a moment apart: within what 5 s of change allows. */
		for (int i = 0; i < 3; i++)
			assert_true(load[i] >= 0 && load[i] < proc_load[i] + 1 &&
				    load[i] > proc_load[i] - 1);
		/* Two decimals, as /proc shows them. */
		for (int i = 0; i < 3; i++)
			assert_true(load[i] * 100 -
					    (double)(long)(load[i] * 100 + 0.5) <
				    1e-6 &&
				    (double)(long)(load[i] * 100 + 0.5) -
					    load[i] * 100 < 1e-6);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_state_dir_created_0700,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_id_kept, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_epoch_strictly_increasing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_files_named, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_proc_readers, setup,
						teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
