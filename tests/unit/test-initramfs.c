/* The newc writer: exact bytes, order independent of insertion, fixed
 * metadata, invalid trees refused, gzip without timestamps; GNU cpio reads
 * what it writes. */
#include "config.h"

#include <string.h>

#include <gio/gio.h>

#include "initramfs.h"
#include "testutil.h"

static GBytes *
write_bytes(SnpgInitramfs *initramfs, SnpgInitramfsCompression compression)
{
    g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable();
    g_autoptr(GError) error = NULL;

    g_assert_true(snpg_initramfs_write(initramfs, out, compression, NULL, &error));
    g_assert_no_error(error);
    g_assert_true(g_output_stream_close(out, NULL, NULL));
    return g_memory_output_stream_steal_as_bytes(G_MEMORY_OUTPUT_STREAM(out));
}

static void
add_sample(SnpgInitramfs *initramfs, gboolean reversed)
{
    g_autoptr(GBytes) hi = g_bytes_new_static("hi\n", 3);
    g_autoptr(GError) error = NULL;

    if (!reversed) {
        g_assert_true(snpg_initramfs_add_directory(initramfs, "bin", 0755, &error));
        g_assert_true(snpg_initramfs_add_file(initramfs, "bin/hi", 0644, hi, &error));
        g_assert_true(snpg_initramfs_add_symlink(initramfs, "bin/sh", "hi", &error));
        g_assert_true(snpg_initramfs_add_char_device(initramfs, "console", 0600, 5, 1, &error));
    } else {
        g_assert_true(snpg_initramfs_add_char_device(initramfs, "console", 0600, 5, 1, &error));
        g_assert_true(snpg_initramfs_add_symlink(initramfs, "bin/sh", "hi", &error));
        g_assert_true(snpg_initramfs_add_file(initramfs, "bin/hi", 0644, hi, &error));
        g_assert_true(snpg_initramfs_add_directory(initramfs, "bin", 0755, &error));
    }
    g_assert_no_error(error);
}

/* The archive, byte for byte: header fields in hex, names and data padded
 * to 4 bytes, entries sorted, inodes counted from 1, then the trailer. */
static void
test_exact_bytes(void)
{
    g_autoptr(SnpgInitramfs) initramfs = snpg_initramfs_new(0);
    g_autoptr(GBytes) bytes = NULL;
    g_autoptr(GString) expected = g_string_new(NULL);

    add_sample(initramfs, FALSE);
    bytes = write_bytes(initramfs, SNPG_INITRAMFS_COMPRESSION_NONE);
    /*                                ino     mode    uid     gid     nlink   mtime   size    dev maj/min         rdev maj/min        namesize check */
    g_string_append(expected, "070701" "00000001" "000041ED" "00000000" "00000000" "00000002" "00000000" "00000000" "00000000" "00000000" "00000000" "00000000" "00000004" "00000000");
    g_string_append_len(expected, "bin\0", 4);                          /* 110 + 4: pad 2 */
    g_string_append_len(expected, "\0\0", 2);
    g_string_append(expected, "070701" "00000002" "000081A4" "00000000" "00000000" "00000001" "00000000" "00000003" "00000000" "00000000" "00000000" "00000000" "00000007" "00000000");
    g_string_append_len(expected, "bin/hi\0", 7);                       /* 110 + 7: pad 3 */
    g_string_append_len(expected, "\0\0\0", 3);
    g_string_append_len(expected, "hi\n\0", 4);                         /* data 3: pad 1 */
    g_string_append(expected, "070701" "00000003" "0000A1FF" "00000000" "00000000" "00000001" "00000000" "00000002" "00000000" "00000000" "00000000" "00000000" "00000007" "00000000");
    g_string_append_len(expected, "bin/sh\0\0\0\0", 10);
    g_string_append_len(expected, "hi\0\0", 4);
    g_string_append(expected, "070701" "00000004" "00002180" "00000000" "00000000" "00000001" "00000000" "00000000" "00000000" "00000000" "00000005" "00000001" "00000008" "00000000");
    g_string_append_len(expected, "console\0", 8);                      /* 110 + 8: pad 2 */
    g_string_append_len(expected, "\0\0", 2);
    g_string_append(expected, "070701" "00000000" "00000000" "00000000" "00000000" "00000001" "00000000" "00000000" "00000000" "00000000" "00000000" "00000000" "0000000B" "00000000");
    g_string_append_len(expected, "TRAILER!!!\0", 11);                   /* 110 + 11: pad 3 */
    g_string_append_len(expected, "\0\0\0", 3);

    g_assert_cmpmem(g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes), expected->str,
                    expected->len);
}

static void
test_order_independent(void)
{
    g_autoptr(SnpgInitramfs) a = snpg_initramfs_new(0);
    g_autoptr(SnpgInitramfs) b = snpg_initramfs_new(0);
    g_autoptr(GBytes) bytes_a = NULL;
    g_autoptr(GBytes) bytes_b = NULL;

    add_sample(a, FALSE);
    add_sample(b, TRUE);
    bytes_a = write_bytes(a, SNPG_INITRAMFS_COMPRESSION_NONE);
    bytes_b = write_bytes(b, SNPG_INITRAMFS_COMPRESSION_NONE);
    g_assert_true(g_bytes_equal(bytes_a, bytes_b));
}

/* SOURCE_DATE_EPOCH reaches every entry but the trailer. */
static void
test_mtime(void)
{
    g_autoptr(SnpgInitramfs) initramfs = snpg_initramfs_new(1700000000);
    g_autoptr(GBytes) bytes = NULL;
    const char *data;
    gsize len, count = 0;

    add_sample(initramfs, FALSE);
    bytes = write_bytes(initramfs, SNPG_INITRAMFS_COMPRESSION_NONE);
    data = g_bytes_get_data(bytes, &len);
    for (const char *p = data; (p = memmem(p, len - (gsize)(p - data), "070701", 6)); p += 6) {
        if (strncmp(p + 6 + 5 * 8, "6553F100", 8) == 0)
            count++;
    }
    g_assert_cmpuint(count, ==, 4);
}

static void
test_invalid_paths(void)
{
    const char *const bad[] = { "", "/bin", "bin/", "a//b", ".", "..", "a/../b", "./a", "a/." };
    g_autoptr(SnpgInitramfs) initramfs = snpg_initramfs_new(0);
    g_autoptr(GError) error = NULL;
    g_autofree char *long_path = g_strnfill(1025, 'a');

    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_assert_false(snpg_initramfs_add_directory(initramfs, bad[i], 0755, &error));
        g_assert_error(error, SNPG_INITRAMFS_ERROR, SNPG_INITRAMFS_ERROR_PATH);
        g_clear_error(&error);
    }
    g_assert_false(snpg_initramfs_add_directory(initramfs, long_path, 0755, &error));
    g_assert_error(error, SNPG_INITRAMFS_ERROR, SNPG_INITRAMFS_ERROR_PATH);
    g_clear_error(&error);
    g_assert_false(snpg_initramfs_add_symlink(initramfs, "l", "", &error));
    g_assert_error(error, SNPG_INITRAMFS_ERROR, SNPG_INITRAMFS_ERROR_PATH);
    g_clear_error(&error);
    /* Twice the same path. */
    g_assert_true(snpg_initramfs_add_directory(initramfs, "bin", 0755, &error));
    g_assert_false(snpg_initramfs_add_char_device(initramfs, "bin", 0600, 5, 1, &error));
    g_assert_error(error, SNPG_INITRAMFS_ERROR, SNPG_INITRAMFS_ERROR_PATH);
}

/* An entry whose directory is missing, or is not a directory, fails the
 * write before any byte is written. */
static void
test_orphans(void)
{
    g_autoptr(GBytes) x = g_bytes_new_static("x", 1);

    for (int parent_is_file = 0; parent_is_file < 2; parent_is_file++) {
        g_autoptr(SnpgInitramfs) initramfs = snpg_initramfs_new(0);
        g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable();
        g_autoptr(GError) error = NULL;

        if (parent_is_file)
            g_assert_true(snpg_initramfs_add_file(initramfs, "etc", 0644, x, &error));
        g_assert_true(snpg_initramfs_add_file(initramfs, "etc/passwd", 0644, x, &error));
        g_assert_false(snpg_initramfs_write(initramfs, out, SNPG_INITRAMFS_COMPRESSION_NONE,
                                            NULL, &error));
        g_assert_error(error, SNPG_INITRAMFS_ERROR, SNPG_INITRAMFS_ERROR_PATH);
        g_assert_nonnull(strstr(error->message, "'etc/passwd'"));
        g_assert_cmpuint(g_memory_output_stream_get_data_size(G_MEMORY_OUTPUT_STREAM(out)), ==, 0);
    }
}

/* gzip: the same bytes every time, no name and mtime 0 in the header, and
 * it holds exactly the uncompressed archive. */
static void
test_gzip(void)
{
    g_autoptr(SnpgInitramfs) initramfs = snpg_initramfs_new(0);
    g_autoptr(GBytes) plain = NULL;
    g_autoptr(GBytes) gz1 = NULL;
    g_autoptr(GBytes) gz2 = NULL;
    g_autoptr(GZlibDecompressor) decompressor = NULL;
    g_autoptr(GInputStream) in = NULL;
    g_autoptr(GInputStream) unzip = NULL;
    g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable();
    g_autoptr(GBytes) unzipped = NULL;
    g_autoptr(GError) error = NULL;
    const guint8 *h;
    gsize len;

    add_sample(initramfs, FALSE);
    plain = write_bytes(initramfs, SNPG_INITRAMFS_COMPRESSION_NONE);
    gz1 = write_bytes(initramfs, SNPG_INITRAMFS_COMPRESSION_GZIP);
    gz2 = write_bytes(initramfs, SNPG_INITRAMFS_COMPRESSION_GZIP);
    g_assert_true(g_bytes_equal(gz1, gz2));
    h = g_bytes_get_data(gz1, &len);
    g_assert_cmpuint(len, >, 10);
    g_assert_cmpuint(h[0], ==, 0x1f);
    g_assert_cmpuint(h[1], ==, 0x8b);
    g_assert_cmpuint(h[3], ==, 0);              /* FLG: no name, no comment, no extra */
    g_assert_cmpuint(h[4] | h[5] | h[6] | h[7], ==, 0);  /* MTIME */

    decompressor = g_zlib_decompressor_new(G_ZLIB_COMPRESSOR_FORMAT_GZIP);
    in = g_memory_input_stream_new_from_bytes(gz1);
    unzip = g_converter_input_stream_new(in, G_CONVERTER(decompressor));
    g_assert_cmpint(g_output_stream_splice(out, unzip, G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL,
                                           &error), >, 0);
    g_assert_no_error(error);
    unzipped = g_memory_output_stream_steal_as_bytes(G_MEMORY_OUTPUT_STREAM(out));
    g_assert_true(g_bytes_equal(unzipped, plain));
}

/* GNU cpio (when installed) reads the archive: names, types and links. */
static void
test_gnu_cpio_reads_it(void)
{
    g_autofree char *cpio = g_find_program_in_path("cpio");
    g_autoptr(SnpgInitramfs) initramfs = snpg_initramfs_new(0);
    g_autoptr(GBytes) bytes = NULL;
    g_autofree char *dir = NULL;
    g_autofree char *archive = NULL;
    g_autofree char *cmd = NULL;
    g_autofree char *out = NULL;
    g_autoptr(GError) error = NULL;
    int status = 0;

    if (!cpio) {
        g_test_skip("GNU cpio is not installed");
        return;
    }
    add_sample(initramfs, FALSE);
    bytes = write_bytes(initramfs, SNPG_INITRAMFS_COMPRESSION_NONE);
    dir = snpg_test_tmpdir();
    archive = snpg_test_write(dir, "a.cpio", g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes));
    cmd = g_strdup_printf("sh -c 'LC_ALL=C cpio -itv --quiet < %s'", archive);
    g_assert_true(g_spawn_command_line_sync(cmd, &out, NULL, &status, &error));
    g_assert_no_error(error);
    g_assert_true(g_spawn_check_wait_status(status, NULL));
    g_assert_true(g_regex_match_simple("^drwxr-xr-x +2 root +root +0 Jan  1  1970 bin\n"
                                       "-rw-r--r-- +1 root +root +3 Jan  1  1970 bin/hi\n"
                                       "lrwxrwxrwx +1 root +root +2 Jan  1  1970 bin/sh -> hi\n"
                                       "crw------- +1 root +root +5, +1 Jan  1  1970 console\n$",
                                       out, 0, 0));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/initramfs/exact-bytes", test_exact_bytes);
    g_test_add_func("/initramfs/order-independent", test_order_independent);
    g_test_add_func("/initramfs/mtime", test_mtime);
    g_test_add_func("/initramfs/invalid-paths", test_invalid_paths);
    g_test_add_func("/initramfs/orphans", test_orphans);
    g_test_add_func("/initramfs/gzip", test_gzip);
    g_test_add_func("/initramfs/gnu-cpio", test_gnu_cpio_reads_it);
    return g_test_run();
}
