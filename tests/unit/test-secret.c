/* SnpgSecret: sizes, file loading, constant-time equality. */
#include "config.h"

#include <stdio.h>
#include <sys/resource.h>

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

/* What /proc/self/smaps says about the mapping that holds addr. */
typedef struct {
    gboolean found;
    char perms[5];          /* "rw-p", "---p" */
    guint64 locked_kb;      /* "Locked:" */
    gboolean locked_flag;   /* "lo" in VmFlags */
    gboolean dontdump;      /* "dd" in VmFlags */
} Mapping;

static Mapping
find_mapping(const void *addr)
{
    g_autofree char *smaps = NULL;
    g_auto(GStrv) lines = NULL;
    Mapping m = { 0 };
    gboolean inside = FALSE;
    guintptr a = (guintptr)addr;

    g_assert_true(g_file_get_contents("/proc/self/smaps", &smaps, NULL, NULL));
    lines = g_strsplit(smaps, "\n", -1);
    for (char **l = lines; *l; l++) {
        unsigned long long start, end;
        char perms[5];

        if (sscanf(*l, "%llx-%llx %4s", &start, &end, perms) == 3) {
            if (m.found)
                break;          /* past the mapping we wanted */
            inside = a >= start && a < end;
            if (inside) {
                m.found = TRUE;
                g_strlcpy(m.perms, perms, sizeof(m.perms));
            }
        } else if (inside && g_str_has_prefix(*l, "Locked:")) {
            m.locked_kb = g_ascii_strtoull(*l + strlen("Locked:"), NULL, 10);
        } else if (inside && g_str_has_prefix(*l, "VmFlags:")) {
            g_auto(GStrv) flags = g_strsplit(*l + strlen("VmFlags:"), " ", -1);
            m.locked_flag = g_strv_contains((const char *const *)flags, "lo");
            m.dontdump = g_strv_contains((const char *const *)flags, "dd");
        }
    }
    return m;
}

/* Locks are not counted: a secret sharing a page with another one lost its
 * lock when the other was freed. Each secret now has its own pages. */
static void
test_lock_survives_other_free(void)
{
    g_autoptr(SnpgSecret) key = snpg_secret_new(64);
    SnpgSecret *other;
    guint8 *data = snpg_secret_data(key);
    gsize page = (gsize)sysconf(_SC_PAGESIZE);
    guintptr after = ((guintptr)data + snpg_secret_len(key) + page - 1) / page * page;
    Mapping m;

    if (!snpg_secret_is_locked(key)) {
        struct rlimit rl = { 0 };
        g_autofree char *why = NULL;

        getrlimit(RLIMIT_MEMLOCK, &rl);
        why = g_strdup_printf("mlock failed (RLIMIT_MEMLOCK %llu bytes): cannot check locking",
                              (unsigned long long)rl.rlim_cur);
        g_test_skip(why);
        return;
    }
    other = snpg_secret_new(32);
    g_assert_true(snpg_secret_is_locked(other));
    memset(snpg_secret_data(other), 0x5a, 32);
    snpg_secret_free(other);

    m = find_mapping(data);
    g_assert_true(m.found);
    g_assert_cmpstr(m.perms, ==, "rw-p");
    g_assert_cmpuint(m.locked_kb, >=, page / 1024);
    g_assert_true(m.locked_flag);
    g_assert_true(m.dontdump);
    /* The whole key is usable; the page after it is a guard. */
    memset(data, 0xa5, snpg_secret_len(key));
    m = find_mapping((const void *)after);
    g_assert_true(m.found);
    g_assert_cmpstr(m.perms, ==, "---p");
}

/* The largest secret spans two pages; all of it is usable and locked. */
static void
test_largest(void)
{
    g_autoptr(SnpgSecret) big = snpg_secret_new(SNPG_SECRET_MAX);
    guint8 *data = snpg_secret_data(big);
    Mapping m;

    memset(data, 0x42, SNPG_SECRET_MAX);
    g_assert_cmphex(data[SNPG_SECRET_MAX - 1], ==, 0x42);
    if (!snpg_secret_is_locked(big)) {
        g_test_skip("mlock failed (see /secret/lock-survives-other-free): cannot check locking");
        return;
    }
    m = find_mapping(data + SNPG_SECRET_MAX - 1);
    g_assert_true(m.found);
    g_assert_true(m.locked_flag);
    g_assert_true(m.dontdump);
    g_assert_true(find_mapping(data).locked_flag);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/secret/new-and-equal", test_new_and_equal);
    g_test_add_func("/secret/from-file", test_from_file);
    g_test_add_func("/secret/wipe", test_wipe);
    g_test_add_func("/secret/lock-survives-other-free", test_lock_survives_other_free);
    g_test_add_func("/secret/largest", test_largest);
    return g_test_run();
}
