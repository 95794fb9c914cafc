/* The file module: reads stop at their limit, writes are atomic, private
 * and leave nothing behind when they fail. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "file.h"
#include "testutil.h"

static gint
compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The names in dir, sorted, joined by spaces: shows any temporary file left. */
static char *
list_dir(const char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    const char *name;

    g_assert_nonnull(d);
    while ((name = g_dir_read_name(d)))
        g_ptr_array_add(names, g_strdup(name));
    g_ptr_array_sort(names, compare_names);
    g_ptr_array_add(names, NULL);
    return g_strjoinv(" ", (char **)names->pdata);
}

static void
assert_contents(const char *path, const char *want)
{
    g_autofree char *data = NULL;
    gsize len = 0;

    g_assert_true(g_file_get_contents(path, &data, &len, NULL));
    g_assert_cmpmem(data, len, want, strlen(want));
}

static void
test_read_limits(void)
{
    g_autofree char *dir = snpg_test_tmpdir();
    g_autofree char *path = snpg_test_write(dir, "f", "0123456789", 10);
    g_autofree char *empty = snpg_test_write(dir, "empty", "", 0);
    g_autofree char *sparse = g_build_filename(dir, "sparse", NULL);
    g_autofree char *missing = g_build_filename(dir, "missing", NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) b = NULL;
    int fd;

    /* Exactly at the limit: read. */
    b = snpg_file_read(path, 10, &error);
    g_assert_no_error(error);
    g_assert_cmpmem(g_bytes_get_data(b, NULL), g_bytes_get_size(b), "0123456789", 10);
    g_clear_pointer(&b, g_bytes_unref);
    b = snpg_file_read(empty, 10, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(g_bytes_get_size(b), ==, 0);

    /* One byte over: refused, saying which file and which limit. */
    g_assert_null(snpg_file_read(path, 9, &error));
    g_assert_error(error, SNPG_FILE_ERROR, SNPG_FILE_ERROR_TOO_LARGE);
    g_assert_nonnull(strstr(error->message, path));
    g_assert_nonnull(strstr(error->message, "larger than 9 bytes"));
    g_clear_error(&error);

    /* A 64 GiB sparse file is refused before it is read. */
    fd = open(sparse, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, (off_t)64 << 30), ==, 0);
    close(fd);
    g_assert_null(snpg_file_read(sparse, 4096, &error));
    g_assert_error(error, SNPG_FILE_ERROR, SNPG_FILE_ERROR_TOO_LARGE);
    g_clear_error(&error);

    /* A secret is read the same way (and wiped when freed). */
    g_clear_pointer(&b, g_bytes_unref);
    b = snpg_file_read_full(path, 10, SNPG_FILE_READ_SECRET, &error);
    g_assert_no_error(error);
    g_assert_cmpmem(g_bytes_get_data(b, NULL), g_bytes_get_size(b), "0123456789", 10);
    g_assert_null(snpg_file_read_full(path, 9, SNPG_FILE_READ_SECRET, &error));
    g_assert_error(error, SNPG_FILE_ERROR, SNPG_FILE_ERROR_TOO_LARGE);
    g_clear_error(&error);

    g_assert_null(snpg_file_read(missing, 10, &error));
    g_assert_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
    g_assert_nonnull(strstr(error->message, missing));
}

static void
test_read_kinds(void)
{
    g_autofree char *dir = snpg_test_tmpdir();
    g_autofree char *fifo = g_build_filename(dir, "fifo", NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) b = NULL;
    g_autofree char *pipe_path = NULL;
    int fds[2];

    /* Only regular files unless devices are allowed; never a directory. */
    g_assert_null(snpg_file_read(dir, 10, &error));
    g_assert_error(error, SNPG_FILE_ERROR, SNPG_FILE_ERROR_NOT_REGULAR);
    g_clear_error(&error);
    g_assert_null(snpg_file_read_full(dir, 10, SNPG_FILE_READ_ALLOW_DEVICE, &error));
    g_assert_error(error, SNPG_FILE_ERROR, SNPG_FILE_ERROR_NOT_REGULAR);
    g_clear_error(&error);
    g_assert_null(snpg_file_read("/dev/null", 10, &error));
    g_assert_error(error, SNPG_FILE_ERROR, SNPG_FILE_ERROR_NOT_REGULAR);
    g_clear_error(&error);
    /* A FIFO without a writer: refused at once, not waited for. */
    g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
    g_assert_null(snpg_file_read(fifo, 10, &error));
    g_assert_error(error, SNPG_FILE_ERROR, SNPG_FILE_ERROR_NOT_REGULAR);
    g_clear_error(&error);

    /* An endless device stops at the limit. */
    g_assert_null(snpg_file_read_full("/dev/zero", 100000, SNPG_FILE_READ_ALLOW_DEVICE, &error));
    g_assert_error(error, SNPG_FILE_ERROR, SNPG_FILE_ERROR_TOO_LARGE);
    g_clear_error(&error);

    /* A pipe, allowed: read to its end. */
    g_assert_cmpint(pipe(fds), ==, 0);
    g_assert_cmpint(write(fds[1], "abc", 3), ==, 3);
    close(fds[1]);
    pipe_path = g_strdup_printf("/proc/self/fd/%d", fds[0]);
    b = snpg_file_read_full(pipe_path, 3, SNPG_FILE_READ_ALLOW_DEVICE, &error);
    g_assert_no_error(error);
    g_assert_cmpmem(g_bytes_get_data(b, NULL), g_bytes_get_size(b), "abc", 3);
    close(fds[0]);
}

static void
test_write_private(void)
{
    g_autofree char *dir = snpg_test_tmpdir();
    g_autofree char *path = g_build_filename(dir, "key", NULL);
    g_autofree char *pub = g_build_filename(dir, "cert", NULL);
    g_autofree char *listing = NULL;
    g_autoptr(GError) error = NULL;
    GStatBuf st;
    mode_t old_umask = umask(0);   /* the mode is set, not left to the umask */

    g_assert_true(snpg_file_write_private(path, "secret", 6, &error));
    g_assert_no_error(error);
    assert_contents(path, "secret");
    g_assert_cmpint(g_lstat(path, &st), ==, 0);
    g_assert_true(S_ISREG(st.st_mode));
    g_assert_cmpuint(st.st_mode & 07777, ==, 0600);

    umask(077);   /* and a readable file is readable whatever the umask */
    g_assert_true(snpg_file_write(pub, "public", 6, SNPG_FILE_WRITE_READABLE, &error));
    g_assert_no_error(error);
    g_assert_cmpint(g_lstat(pub, &st), ==, 0);
    g_assert_cmpuint(st.st_mode & 07777, ==, 0644);
    umask(old_umask);

    listing = list_dir(dir);
    g_assert_cmpstr(listing, ==, "cert key");
}

static void
test_write_replace(void)
{
    g_autofree char *dir = snpg_test_tmpdir();
    g_autofree char *path = snpg_test_write(dir, "key", "old key", 7);
    g_autofree char *old = g_build_filename(dir, "old-link", NULL);
    g_autofree char *listing = NULL;
    g_autoptr(GError) error = NULL;
    GStatBuf st;

    g_assert_cmpint(g_chmod(path, 0644), ==, 0);
    /* A second name for the old file: a write in place would change it too. */
    g_assert_cmpint(link(path, old), ==, 0);
    g_assert_true(snpg_file_write_private(path, "new key", 7, &error));
    g_assert_no_error(error);
    assert_contents(path, "new key");
    assert_contents(old, "old key");
    g_assert_cmpint(g_lstat(path, &st), ==, 0);
    g_assert_cmpuint(st.st_mode & 07777, ==, 0600);

    /* Exclusive: the existing file stays as it is. */
    g_assert_false(snpg_file_write(path, "other", 5, SNPG_FILE_WRITE_EXCLUSIVE, &error));
    g_assert_error(error, G_FILE_ERROR, G_FILE_ERROR_EXIST);
    g_clear_error(&error);
    assert_contents(path, "new key");
    listing = list_dir(dir);
    g_assert_cmpstr(listing, ==, "key old-link");
}

static void
test_write_symlink(void)
{
    g_autofree char *dir = snpg_test_tmpdir();
    g_autofree char *victim = snpg_test_write(dir, "victim", "keep", 4);
    g_autofree char *link_path = g_build_filename(dir, "link", NULL);
    g_autofree char *dangling = g_build_filename(dir, "dangling", NULL);
    g_autofree char *nowhere = g_build_filename(dir, "nowhere", NULL);
    g_autofree char *listing = NULL;
    g_autoptr(GError) error = NULL;
    GStatBuf st;

    g_assert_cmpint(symlink(victim, link_path), ==, 0);
    g_assert_false(snpg_file_write_private(link_path, "evil", 4, &error));
    g_assert_error(error, SNPG_FILE_ERROR, SNPG_FILE_ERROR_SYMLINK);
    g_assert_nonnull(strstr(error->message, link_path));
    g_clear_error(&error);
    assert_contents(victim, "keep");
    g_assert_cmpint(g_lstat(link_path, &st), ==, 0);
    g_assert_true(S_ISLNK(st.st_mode));

    /* A dangling link would create its target: refused too. */
    g_assert_cmpint(symlink(nowhere, dangling), ==, 0);
    g_assert_false(snpg_file_write(dangling, "evil", 4, SNPG_FILE_WRITE_EXCLUSIVE, &error));
    g_assert_error(error, SNPG_FILE_ERROR, SNPG_FILE_ERROR_SYMLINK);
    g_assert_false(g_file_test(nowhere, G_FILE_TEST_EXISTS));

    listing = list_dir(dir);
    g_assert_cmpstr(listing, ==, "dangling link victim");
}

static void
test_write_failures(void)
{
    g_autofree char *dir = snpg_test_tmpdir();
    g_autofree char *locked = g_build_filename(dir, "locked", NULL);
    g_autofree char *path = NULL;
    g_autofree char *listing = NULL;
    g_autoptr(GError) error = NULL;
    struct rlimit old_limit, small = { 16, 16 };
    g_autofree char *big = g_malloc0(4096);

    /* A directory where the file should be. */
    g_assert_false(snpg_file_write_private(dir, "x", 1, &error));
    g_assert_error(error, SNPG_FILE_ERROR, SNPG_FILE_ERROR_NOT_REGULAR);
    g_clear_error(&error);

    /* The write itself fails (file size limit): the temporary file goes. */
    path = snpg_test_write(dir, "key", "old", 3);
    signal(SIGXFSZ, SIG_IGN);
    g_assert_cmpint(getrlimit(RLIMIT_FSIZE, &old_limit), ==, 0);
    small.rlim_max = old_limit.rlim_max;
    g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &small), ==, 0);
    g_assert_false(snpg_file_write_private(path, big, 4096, &error));
    g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &old_limit), ==, 0);
    g_assert_error(error, G_FILE_ERROR, (gint)g_file_error_from_errno(EFBIG));
    g_clear_error(&error);
    assert_contents(path, "old");
    listing = list_dir(dir);
    g_assert_cmpstr(listing, ==, "key");
    g_clear_pointer(&listing, g_free);

    /* An unwritable directory (not for root, which writes anyway). */
    g_assert_cmpint(g_mkdir(locked, 0500), ==, 0);
    if (geteuid() == 0)
        g_test_message("running as root: the unwritable-directory case is not checked");
    else {
        g_autofree char *inside = g_build_filename(locked, "key", NULL);

        g_assert_false(snpg_file_write_private(inside, "x", 1, &error));
        g_assert_error(error, G_FILE_ERROR, G_FILE_ERROR_ACCES);
        g_clear_error(&error);
        listing = list_dir(locked);
        g_assert_cmpstr(listing, ==, "");
    }
    g_assert_cmpint(g_chmod(locked, 0700), ==, 0);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/file/read/limits", test_read_limits);
    g_test_add_func("/file/read/kinds", test_read_kinds);
    g_test_add_func("/file/write/private", test_write_private);
    g_test_add_func("/file/write/replace", test_write_replace);
    g_test_add_func("/file/write/symlink", test_write_symlink);
    g_test_add_func("/file/write/failures", test_write_failures);
    return g_test_run();
}
