/* Bounded reads and atomic private writes (see file.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "file.h"
#include "i18n.h"

G_DEFINE_QUARK(snpg-file-error-quark, snpg_file_error)

/* What one read() asks for when the size is not known in advance. */
#define READ_CHUNK (64 * 1024)

static void
read_failed(GError **error, int err, const char *path)
{
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(err),
                _("Cannot read '%s': %s."), path, g_strerror(err));
}

static void
write_failed(GError **error, int err, const char *path)
{
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(err),
                _("Cannot write '%s': %s."), path, g_strerror(err));
}

static void
close_keep_errno(int fd)
{
    int saved = errno;

    close(fd);
    errno = saved;
}

static void
wipe_free(gpointer data)
{
    GByteArray *array = data;

    explicit_bzero(array->data, array->len);
    g_byte_array_unref(array);
}

GBytes *
snpg_file_read(const char *path, gsize max, GError **error)
{
    return snpg_file_read_full(path, max, SNPG_FILE_READ_REGULAR, error);
}

static void
too_large(GError **error, const char *path, gsize max)
{
    g_set_error(error, SNPG_FILE_ERROR, SNPG_FILE_ERROR_TOO_LARGE,
                _("'%s' is larger than %" G_GSIZE_FORMAT " bytes, the most this kind of file "
                  "may hold."), path, max);
}

GBytes *
snpg_file_read_full(const char *path, gsize max, SnpgFileReadFlags flags, GError **error)
{
    g_autoptr(GByteArray) data = NULL;
    gboolean secret = (flags & SNPG_FILE_READ_SECRET) != 0;
    gsize want = READ_CHUNK;
    struct stat st;
    int fd;

    g_return_val_if_fail(path != NULL, NULL);
    g_return_val_if_fail(max < G_MAXUINT, NULL);   /* a GByteArray holds it */

    /* O_NONBLOCK: opening a FIFO without a writer must not hang before the
     * kind of file is known; it is cleared again before reading. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        read_failed(error, errno, path);
        return NULL;
    }
    if (fstat(fd, &st) < 0) {
        read_failed(error, errno, path);
        close(fd);
        return NULL;
    }
    if (S_ISDIR(st.st_mode) ||
        (!S_ISREG(st.st_mode) && !(flags & SNPG_FILE_READ_ALLOW_DEVICE))) {
        g_set_error(error, SNPG_FILE_ERROR, SNPG_FILE_ERROR_NOT_REGULAR,
                    S_ISDIR(st.st_mode) ? _("Cannot read '%s': it is a directory.")
                                        : _("Cannot read '%s': it is not a regular file."),
                    path);
        close(fd);
        return NULL;
    }
    if (S_ISREG(st.st_mode)) {
        /* Refused before any of it is read; the loop below still stops at
         * max + 1 bytes should the file grow meanwhile. */
        if ((guint64)st.st_size > (guint64)max) {
            too_large(error, path, max);
            close(fd);
            return NULL;
        }
        want = (gsize)st.st_size + 1;   /* + 1: EOF in the first read */
    }
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
        read_failed(error, errno, path);
        close(fd);
        return NULL;
    }

    /* Allocated at once (the size of a regular file; up to 1 MiB for the
     * others), so no reallocation leaves a copy of secret contents behind. */
    data = g_byte_array_sized_new((guint)MIN(S_ISREG(st.st_mode) ? want : MAX(want, (gsize)1 << 20),
                                             max + 1));
    for (;;) {
        gsize old = data->len, room = MIN(want, max + 1 - old);
        ssize_t n;

        g_byte_array_set_size(data, (guint)(old + room));
        n = read(fd, data->data + old, room);
        g_byte_array_set_size(data, (guint)(old + (n > 0 ? (gsize)n : 0)));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            read_failed(error, errno, path);
            break;
        }
        if (n == 0) {
            close(fd);
            if (!secret)
                return g_byte_array_free_to_bytes(g_steal_pointer(&data));
            {
                GByteArray *contents = g_steal_pointer(&data);
                return g_bytes_new_with_free_func(contents->data, contents->len, wipe_free,
                                                  contents);
            }
        }
        if (data->len > max) {
            too_large(error, path, max);
            break;
        }
        want = READ_CHUNK;
    }
    close(fd);
    if (secret)
        explicit_bzero(data->data, data->len);
    return NULL;
}

gboolean
snpg_file_write_private(const char *path, const void *data, gsize len, GError **error)
{
    return snpg_file_write(path, data, len, SNPG_FILE_WRITE_REPLACE, error);
}

/* Refuses a target that is a symbolic link or not a regular file; for an
 * exclusive create, any existing target. */
static gboolean
check_target(const char *path, SnpgFileWriteFlags flags, GError **error)
{
    struct stat st;

    if (lstat(path, &st) < 0) {
        if (errno == ENOENT)
            return TRUE;
        write_failed(error, errno, path);
        return FALSE;
    }
    if (S_ISLNK(st.st_mode)) {
        g_set_error(error, SNPG_FILE_ERROR, SNPG_FILE_ERROR_SYMLINK,
                    _("Cannot write '%s': it is a symbolic link."), path);
        return FALSE;
    }
    if (flags & SNPG_FILE_WRITE_EXCLUSIVE) {
        write_failed(error, EEXIST, path);
        return FALSE;
    }
    if (!S_ISREG(st.st_mode)) {
        g_set_error(error, SNPG_FILE_ERROR, SNPG_FILE_ERROR_NOT_REGULAR,
                    _("Cannot write '%s': it is not a regular file."), path);
        return FALSE;
    }
    return TRUE;
}

gboolean
snpg_file_write_fd(int fd, const void *data, gsize len)
{
    const guint8 *p = data;

    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return FALSE;
        if (n == 0) {
            errno = EIO;
            return FALSE;
        }
        p += n;
        len -= (gsize)n;
    }
    return TRUE;
}

/* The rename (or link) is durable only once the directory is synced. Some
 * file systems cannot sync a directory (EINVAL): nothing more can be done. */
gboolean
snpg_file_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    gboolean ok;

    if (fd < 0)
        return FALSE;
    ok = fsync(fd) == 0 || errno == EINVAL;
    close_keep_errno(fd);
    return ok;
}

gboolean
snpg_file_write(const char *path, const void *data, gsize len, SnpgFileWriteFlags flags,
                GError **error)
{
    g_autofree char *dir = NULL;
    g_autofree char *base = NULL;
    g_autofree char *tmp = NULL;
    mode_t mode = (flags & SNPG_FILE_WRITE_READABLE) ? 0644 : 0600;
    int fd, err;

    g_return_val_if_fail(path != NULL, FALSE);
    g_return_val_if_fail(data != NULL || len == 0, FALSE);

    if (!check_target(path, flags, error))
        return FALSE;
    dir = g_path_get_dirname(path);
    base = g_path_get_basename(path);
    /* Hidden, next to the target: the same file system, so rename() is atomic. */
    tmp = g_strdup_printf("%s%s.%s.XXXXXX", dir, G_DIR_SEPARATOR_S, base);
    /* g_mkstemp_full adds O_CREAT | O_EXCL. */
    fd = g_mkstemp_full(tmp, O_WRONLY | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) {
        write_failed(error, errno, path);
        return FALSE;
    }
    /* The umask may have taken bits away from a readable file. */
    if (fchmod(fd, mode) < 0 || !snpg_file_write_fd(fd, data, len) || fsync(fd) < 0) {
        close_keep_errno(fd);
        goto fail;
    }
    if (close(fd) < 0)
        goto fail;
    if (flags & SNPG_FILE_WRITE_EXCLUSIVE) {
        /* link() refuses an existing name: the create stays exclusive even
         * if the target appeared since check_target(). */
        if (link(tmp, path) < 0)
            goto fail;
        g_unlink(tmp);
    } else if (rename(tmp, path) < 0) {
        goto fail;
    }
    if (!snpg_file_sync_dir(dir)) {
        int saved = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved),
                    _("Cannot sync the directory of '%s': %s."), path, g_strerror(saved));
        return FALSE;
    }
    return TRUE;

fail:
    err = errno;
    g_unlink(tmp);
    write_failed(error, err, path);
    return FALSE;
}
