/* An initramfs (newc cpio archive) built in memory and written with fixed
 * metadata, so that the same contents always give the same bytes.
 *
 * Every byte of the initrd is measured at launch, so nothing in the archive
 * may come from the machine that builds it: entries are written sorted by
 * path, with uid/gid 0, one fixed mtime, inode numbers counted from 1 in
 * that order, and the mode the caller names (never the file system's). */
#pragma once

#include <gio/gio.h>

#define SNPG_INITRAMFS_ERROR (snpg_initramfs_error_quark())
GQuark snpg_initramfs_error_quark(void);

typedef enum {
    SNPG_INITRAMFS_ERROR_PATH,     /* an invalid, duplicate or orphaned path */
    SNPG_INITRAMFS_ERROR_TOO_BIG,  /* a file exceeds newc's 32-bit size field */
} SnpgInitramfsError;

typedef enum {
    SNPG_INITRAMFS_COMPRESSION_NONE,
    /* Level 9, no name, mtime 0 in the header. The deflate stream is zlib's:
     * another zlib version may give other bytes (and another measurement). */
    SNPG_INITRAMFS_COMPRESSION_GZIP,
} SnpgInitramfsCompression;

typedef struct _SnpgInitramfs SnpgInitramfs;

/* mtime: the modification time of every entry (SOURCE_DATE_EPOCH, or 0). */
SnpgInitramfs *snpg_initramfs_new(guint32 mtime);
void snpg_initramfs_free(SnpgInitramfs *initramfs);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SnpgInitramfs, snpg_initramfs_free)

/* Paths are relative ("bin/busybox"): no leading or doubled '/', no "." or
 * ".." component. Each path may be added once; its parent directory must be
 * added too (checked when writing). Modes are permission bits (07777). */
gboolean snpg_initramfs_add_directory(SnpgInitramfs *initramfs, const char *path, guint mode,
                                      GError **error);
gboolean snpg_initramfs_add_file(SnpgInitramfs *initramfs, const char *path, guint mode,
                                 GBytes *contents, GError **error);
gboolean snpg_initramfs_add_symlink(SnpgInitramfs *initramfs, const char *path,
                                    const char *target, GError **error);
gboolean snpg_initramfs_add_char_device(SnpgInitramfs *initramfs, const char *path, guint mode,
                                        guint major, guint minor, GError **error);

/* Whether a path has been added. */
gboolean snpg_initramfs_contains(SnpgInitramfs *initramfs, const char *path);

/* Writes the archive (entries sorted by path, then the trailer) to out. */
gboolean snpg_initramfs_write(SnpgInitramfs *initramfs, GOutputStream *out,
                              SnpgInitramfsCompression compression, GCancellable *cancellable,
                              GError **error);
