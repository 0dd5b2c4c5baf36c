/*
 * test_error: hb_strerror() and hb_errname() give every code
 * 0 .. -(HB_ERR_COUNT - 1) its own name and text, and "unknown..." for
 * anything outside that range.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <string.h>

#include "hb_error.h"

static void test_every_code_has_a_name_and_text(void **state)
{
	for (int err = 0; err > -HB_ERR_COUNT; err--) {
		const char *name = hb_errname(err), *text = hb_strerror(err);

		assert_non_null(name);
		assert_non_null(text);
		assert_true(name[0] != '\0');
		assert_true(text[0] != '\0');
		assert_string_not_equal(name, "unknown");
		assert_string_not_equal(text, "unknown error");
	}
}

static void test_names_and_texts_are_distinct(void **state)
{
	for (int a = 0; a > -HB_ERR_COUNT; a--) {
		for (int b = a - 1; b > -HB_ERR_COUNT; b--) {
			assert_string_not_equal(hb_errname(a), hb_errname(b));
			assert_string_not_equal(hb_strerror(a), hb_strerror(b));
		}
	}
}

static void test_names_are_snake_case(void **state)
{
	for (int err = 0; err > -HB_ERR_COUNT; err--) {
		const char *name = hb_errname(err);

		for (const char *p = name; *p; p++)
			assert_true((*p >= 'a' && *p <= 'z') || *p == '_' ||
				    (*p >= '0' && *p <= '9'));
	}
}

static void test_known_names(void **state)
{
	assert_string_equal(hb_errname(HB_OK), "ok");
	assert_string_equal(hb_errname(HB_EMAGIC), "bad_magic");
	assert_string_equal(hb_errname(HB_EAUTH), "bad_tag");
	assert_string_equal(hb_errname(HB_EEXIST), "duplicate");
	assert_int_equal(HB_EEXIST, -(HB_ERR_COUNT - 1));
}

static void test_out_of_range_is_unknown(void **state)
{
	static const int bad[] = {1, 2, 100, INT_MAX, -HB_ERR_COUNT,
				  -HB_ERR_COUNT - 1, -1000, INT_MIN};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_string_equal(hb_errname(bad[i]), "unknown");
		assert_string_equal(hb_strerror(bad[i]), "unknown error");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_code_has_a_name_and_text),
		cmocka_unit_test(test_names_and_texts_are_distinct),
		cmocka_unit_test(test_names_are_snake_case),
		cmocka_unit_test(test_known_names),
		cmocka_unit_test(test_out_of_range_is_unknown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
