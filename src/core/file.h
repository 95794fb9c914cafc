/* Files: every read has a size limit, every private write is atomic.
 *
 * snpg_file_read() reads at most max bytes and refuses a longer file before
 * holding more than max + 1 bytes of it, so a wrong path (a disk image, a
 * device that never ends) costs nothing. Only regular files are read unless
 * the caller allows other kinds (a pipe, a character device, a sysfs blob).
 *
 * snpg_file_write() writes a temporary file in the target's directory
 * (O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC, mode 0600 unless asked otherwise),
 * syncs it, renames it over the target (or links it, for an exclusive
 * create) and syncs the directory: a reader sees the old file or the whole
 * new one, never a part, and a crash leaves no half-written key. The
 * temporary file is removed on any failure. A target that is a symbolic link
 * is refused rather than replaced. */
#pragma once

#include <glib.h>

#define SNPG_FILE_ERROR (snpg_file_error_quark())
GQuark snpg_file_error_quark(void);

/* System call failures are reported in G_FILE_ERROR (from errno); these are
 * the refusals of this module. */
typedef enum {
    SNPG_FILE_ERROR_TOO_LARGE,    /* the file holds more than the limit */
    SNPG_FILE_ERROR_NOT_REGULAR,  /* a device, pipe or directory where a file was wanted */
    SNPG_FILE_ERROR_SYMLINK,      /* the write target is a symbolic link */
} SnpgFileError;

typedef enum {
    SNPG_FILE_READ_REGULAR = 0,
    /* Also read character devices, pipes and sockets (not directories):
     * for paths the operator or the platform names, such as /dev/stdin. */
    SNPG_FILE_READ_ALLOW_DEVICE = 1 << 0,
    /* The contents are secret (a private key): the returned GBytes wipes
     * its memory when freed, and so does every failure path. */
    SNPG_FILE_READ_SECRET = 1 << 1,
} SnpgFileReadFlags;

GBytes *snpg_file_read(const char *path, gsize max, GError **error);
GBytes *snpg_file_read_full(const char *path, gsize max, SnpgFileReadFlags flags,
                            GError **error);

typedef enum {
    SNPG_FILE_WRITE_REPLACE = 0,          /* rename over an existing target */
    /* Refuse an existing target (G_FILE_ERROR_EXIST), atomically: the new
     * file is linked into place, and link() never replaces. */
    SNPG_FILE_WRITE_EXCLUSIVE = 1 << 0,
    /* Mode 0644 instead of 0600: public data such as certificates. */
    SNPG_FILE_WRITE_READABLE = 1 << 1,
} SnpgFileWriteFlags;

/* Atomic replace, mode 0600. */
gboolean snpg_file_write_private(const char *path, const void *data, gsize len,
                                 GError **error);
gboolean snpg_file_write(const char *path, const void *data, gsize len,
                         SnpgFileWriteFlags flags, GError **error);

/* The pieces, for callers that manage their own descriptor (wiping a key in
 * place): write all of data, retrying short writes and EINTR (FALSE with
 * errno set); fsync a directory so that a rename, link or unlink in it is
 * durable (FALSE with errno set; EINVAL from file systems that cannot sync
 * a directory counts as done). */
gboolean snpg_file_write_fd(int fd, const void *data, gsize len);
gboolean snpg_file_sync_dir(const char *dir);
