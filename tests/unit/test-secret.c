/* SnpgSecret: sizes, file loading, constant-time equality. */
#include "config.h"

#include "secret.h"
#include "testutil.h"

static void
test_new_and_equal(void)
{
    g_autoptr(SnpgSecret) a = snpg_secret_new_from_data("0123456789abcdef", 16);
    g_autoptr(SnpgSecret) b = snpg_secret_new_from_data("0123456789abcdef", 16);
    g_autoptr(SnpgSecret) c = snpg_secret_new_from_data("0123456789abcdeX", 16);
    g_autoptr(SnpgSecret) d = snpg_secret_new_from_data("0123456789abcde", 15);

    g_assert_cmpuint(snpg_secret_len(a), ==, 16);
    g_assert_cmpmem(snpg_secret_data(a), 16, "0123456789abcdef", 16);
    g_assert_true(snpg_secret_equal(a, b));
    g_assert_false(snpg_secret_equal(a, c));
    g_assert_false(snpg_secret_equal(a, d));
}

static void
test_from_file(void)
{
    g_autofree char *dir = snpg_test_tmpdir();
    g_autofree char *good = snpg_test_write(dir, "key", "secret-bytes", 12);
    g_autofree char *empty = snpg_test_write(dir, "empty", "", 0);
    g_autofree char *big_data = g_malloc0(SNPG_SECRET_MAX + 1);
    g_autofree char *big = snpg_test_write(dir, "big", big_data, SNPG_SECRET_MAX + 1);
    g_autofree char *missing = g_build_filename(dir, "missing", NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(SnpgSecret) s = NULL;

    s = snpg_secret_new_from_file(good, &error);
    g_assert_no_error(error);
    g_assert_cmpmem(snpg_secret_data(s), snpg_secret_len(s), "secret-bytes", 12);

    g_assert_null(snpg_secret_new_from_file(empty, &error));
    g_assert_error(error, SNPG_SECRET_ERROR, SNPG_SECRET_ERROR_SIZE);
    g_clear_error(&error);
    g_assert_null(snpg_secret_new_from_file(big, &error));
    g_assert_error(error, SNPG_SECRET_ERROR, SNPG_SECRET_ERROR_SIZE);
    g_clear_error(&error);
    g_assert_null(snpg_secret_new_from_file(missing, &error));
    g_assert_error(error, SNPG_SECRET_ERROR, SNPG_SECRET_ERROR_IO);
    g_clear_error(&error);
    g_assert_null(snpg_secret_new_from_file(dir, &error));
    g_assert_error(error, SNPG_SECRET_ERROR, SNPG_SECRET_ERROR_SIZE);
}

static void
test_wipe(void)
{
    guint8 key[32];

    memset(key, 0xa5, sizeof(key));
    SNPG_WIPE(key);
    for (gsize i = 0; i < sizeof(key); i++)
        g_assert_cmphex(key[i], ==, 0);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/secret/new-and-equal", test_new_and_equal);
    g_test_add_func("/secret/from-file", test_from_file);
    g_test_add_func("/secret/wipe", test_wipe);
    return g_test_run();
}
