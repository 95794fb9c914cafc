#include "config.h"

#include <glib/gstdio.h>
#include <stdarg.h>
#include <string.h>
#include <sys/wait.h>

#include "testutil.h"

void
snpg_run_clear(SnpgRun *run)
{
    g_clear_pointer(&run->out, g_free);
    g_clear_pointer(&run->err, g_free);
}

void
snpg_runv(SnpgRun *run, const char *cwd, const char *const *args)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(GError) error = NULL;
    const char *exe = g_getenv("SNPGUARD");
    int status = 0;

    g_assert_nonnull(exe);
    g_ptr_array_add(argv, (gpointer)exe);
    for (gsize i = 0; args[i]; i++)
        g_ptr_array_add(argv, (gpointer)args[i]);
    g_ptr_array_add(argv, NULL);

    run->out = run->err = NULL;
    if (!g_spawn_sync(cwd, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                      &run->out, &run->err, &status, &error))
        g_error("cannot run %s: %s", exe, error->message);
    if (WIFEXITED(status))
        run->exit_code = WEXITSTATUS(status);
    else
        run->exit_code = -1;
    if (g_test_verbose())
        g_test_message("exit %d\nstdout: %s\nstderr: %s", run->exit_code, run->out, run->err);
}

void
snpg_run(SnpgRun *run, const char *cwd, const char *arg, ...)
{
    g_autoptr(GPtrArray) args = g_ptr_array_new();
    va_list ap;

    va_start(ap, arg);
    for (const char *a = arg; a; a = va_arg(ap, const char *))
        g_ptr_array_add(args, (gpointer)a);
    va_end(ap);
    g_ptr_array_add(args, NULL);
    snpg_runv(run, cwd, (const char *const *)args->pdata);
}

static char *
build_path_va(const char *base, const char *first, va_list ap)
{
    g_autoptr(GPtrArray) parts = g_ptr_array_new();

    g_ptr_array_add(parts, (gpointer)base);
    for (const char *p = first; p; p = va_arg(ap, const char *))
        g_ptr_array_add(parts, (gpointer)p);
    g_ptr_array_add(parts, NULL);
    return g_build_filenamev((char **)parts->pdata);
}

char *
snpg_test_data(const char *first, ...)
{
    g_autofree char *base = g_test_build_filename(G_TEST_DIST, "data", NULL);
    va_list ap;
    char *path;

    va_start(ap, first);
    path = build_path_va(base, first, ap);
    va_end(ap);
    return path;
}

char *
snpg_test_shared(const char *first, ...)
{
    const char *base = g_getenv("SNPGUARD_SHARED");
    va_list ap;
    char *path;

    if (!base || !g_file_test(base, G_FILE_TEST_IS_DIR)) {
        g_test_skip("../shared is absent (a user's clone): this test needs its data");
        return NULL;
    }
    va_start(ap, first);
    path = build_path_va(base, first, ap);
    va_end(ap);
    return path;
}

static GPtrArray *tmpdirs;

static void
remove_tree(const char *path)
{
    g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
    const char *name;

    while (dir && (name = g_dir_read_name(dir))) {
        g_autofree char *child = g_build_filename(path, name, NULL);
        if (g_file_test(child, G_FILE_TEST_IS_DIR) && !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
            remove_tree(child);
        else
            g_unlink(child);
    }
    g_rmdir(path);
}

static void
remove_tmpdirs(void)
{
    for (guint i = 0; tmpdirs && i < tmpdirs->len; i++)
        remove_tree(g_ptr_array_index(tmpdirs, i));
    g_clear_pointer(&tmpdirs, g_ptr_array_unref);
}

char *
snpg_test_tmpdir(void)
{
    g_autoptr(GError) error = NULL;
    char *dir = g_dir_make_tmp("snpguard-test-XXXXXX", &error);

    g_assert_no_error(error);
    if (!tmpdirs) {
        tmpdirs = g_ptr_array_new_with_free_func(g_free);
        atexit(remove_tmpdirs);
    }
    g_ptr_array_add(tmpdirs, g_strdup(dir));
    return dir;
}

char *
snpg_test_write(const char *dir, const char *name, const void *data, gsize len)
{
    g_autoptr(GError) error = NULL;
    char *path = g_build_filename(dir, name, NULL);

    g_file_set_contents(path, data, len, &error);
    g_assert_no_error(error);
    return path;
}

char *
snpg_test_hex(const guint8 *data, gsize len)
{
    GString *s = g_string_sized_new(len * 2);
    for (gsize i = 0; i < len; i++)
        g_string_append_printf(s, "%02x", data[i]);
    return g_string_free(s, FALSE);
}

GBytes *
snpg_test_unhex(const char *hex)
{
    gsize n = strlen(hex);
    guint8 *out;

    g_assert_cmpuint(n % 2, ==, 0);
    out = g_malloc(n / 2 + 1);
    for (gsize i = 0; i < n / 2; i++) {
        int hi = g_ascii_xdigit_value(hex[2 * i]), lo = g_ascii_xdigit_value(hex[2 * i + 1]);
        g_assert_true(hi >= 0 && lo >= 0);
        out[i] = (guint8)(hi << 4 | lo);
    }
    return g_bytes_new_take(out, n / 2);
}

/* The LUKS2 binary header: the checksum algorithm's name at 72, the
 * checksum at 448 (64 bytes); the JSON area follows the 4 KiB binary header. */
#define LUKS2_BINARY_LEN 4096
#define LUKS2_CSUM_ALG_OFFSET 72
#define LUKS2_CSUM_OFFSET 448

gboolean
snpg_test_luks2_edit_json(const char *device, gsize metadata_size, const char *marker,
                          const char *from, const char *to, GError **error)
{
    g_autofree char *bytes = NULL;
    gsize len;

    if (strlen(from) != strlen(to)) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "'%s' and '%s' differ in length",
                    from, to);
        return FALSE;
    }
    if (!g_file_get_contents(device, &bytes, &len, error))
        return FALSE;
    if (metadata_size <= LUKS2_BINARY_LEN || len < 2 * metadata_size) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "'%s' is too small", device);
        return FALSE;
    }
    for (gsize copy = 0; copy < 2; copy++) {
        guint8 *hdr = (guint8 *)bytes + copy * metadata_size;
        char *json = (char *)hdr + LUKS2_BINARY_LEN;
        char *at = g_strstr_len(json, metadata_size - LUKS2_BINARY_LEN, marker);
        g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
        guint8 digest[32];
        gsize digest_len = sizeof(digest);

        if (at)
            at = g_strstr_len(at, metadata_size - LUKS2_BINARY_LEN - (at - json), from);
        if (!at || strncmp((char *)hdr + LUKS2_CSUM_ALG_OFFSET, "sha256", 7) != 0) {
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "metadata copy %zu of '%s' has no '%s' after '%s' (or no sha256 checksum)",
                        copy, device, from, marker);
            return FALSE;
        }
        memcpy(at, to, strlen(to));
        memset(hdr + LUKS2_CSUM_OFFSET, 0, 64);
        g_checksum_update(sum, hdr, (gssize)metadata_size);
        g_checksum_get_digest(sum, digest, &digest_len);
        memcpy(hdr + LUKS2_CSUM_OFFSET, digest, sizeof(digest));
    }
    return g_file_set_contents(device, bytes, (gssize)len, error);
}
