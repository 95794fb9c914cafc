/* newc cpio writer for reproducible initramfs images.
 *
 * Written here rather than by running GNU cpio over a staging directory:
 * cpio takes the link count and mode of every entry from the staging file
 * system: a directory's st_nlink differs between tmpfs, ext4 and btrfs; and
 * a device node there needs mknod as root. Holding the tree in memory makes
 * the archive a function of the caller's inputs alone. The format is the
 * kernel's (Documentation/driver-api/early-userspace/buffer-format.rst). */
#include "config.h"

#include <string.h>
#include <sys/stat.h>

#include "i18n.h"
#include "initramfs.h"

G_DEFINE_QUARK(snpg-initramfs-error-quark, snpg_initramfs_error)

/* Longer paths are a caller's mistake; the kernel's limit is PATH_MAX. */
#define PATH_LEN_MAX 1024
#define NEWC_MAGIC "070701"
#define NEWC_HEADER_LEN 110
#define TRAILER_NAME "TRAILER!!!"

typedef struct {
    guint32 mode;            /* file type and permission bits */
    GBytes *contents;        /* regular files; the target of a symlink */
    guint32 rdev_major, rdev_minor;
} Entry;

struct _SnpgInitramfs {
    GHashTable *entries;     /* path -> Entry */
    guint32 mtime;
};

static void
entry_free(gpointer data)
{
    Entry *entry = data;

    g_clear_pointer(&entry->contents, g_bytes_unref);
    g_free(entry);
}

SnpgInitramfs *
snpg_initramfs_new(guint32 mtime)
{
    SnpgInitramfs *initramfs = g_new0(SnpgInitramfs, 1);

    initramfs->entries = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, entry_free);
    initramfs->mtime = mtime;
    return initramfs;
}

void
snpg_initramfs_free(SnpgInitramfs *initramfs)
{
    if (!initramfs)
        return;
    g_hash_table_unref(initramfs->entries);
    g_free(initramfs);
}

static gboolean
path_is_valid(const char *path)
{
    g_auto(GStrv) parts = NULL;

    if (!path || !*path || strlen(path) > PATH_LEN_MAX || path[0] == '/' ||
        g_str_has_suffix(path, "/"))
        return FALSE;
    parts = g_strsplit(path, "/", -1);
    for (gsize i = 0; parts[i]; i++)
        if (!*parts[i] || g_str_equal(parts[i], ".") || g_str_equal(parts[i], ".."))
            return FALSE;
    return TRUE;
}

static gboolean
add_entry(SnpgInitramfs *initramfs, const char *path, guint32 mode, GBytes *contents,
          guint major, guint minor, GError **error)
{
    Entry *entry;

    if (!path_is_valid(path)) {
        g_set_error(error, SNPG_INITRAMFS_ERROR, SNPG_INITRAMFS_ERROR_PATH,
                    _("'%s' is not a valid path inside an initramfs"), path ? path : "");
        return FALSE;
    }
    if (g_hash_table_contains(initramfs->entries, path)) {
        g_set_error(error, SNPG_INITRAMFS_ERROR, SNPG_INITRAMFS_ERROR_PATH,
                    _("'%s' is added to the initramfs twice"), path);
        return FALSE;
    }
    if (contents && g_bytes_get_size(contents) > G_MAXUINT32) {
        g_set_error(error, SNPG_INITRAMFS_ERROR, SNPG_INITRAMFS_ERROR_TOO_BIG,
                    _("'%s' is too large for a cpio archive"), path);
        return FALSE;
    }
    entry = g_new0(Entry, 1);
    entry->mode = mode;
    entry->contents = contents ? g_bytes_ref(contents) : NULL;
    entry->rdev_major = major;
    entry->rdev_minor = minor;
    g_hash_table_insert(initramfs->entries, g_strdup(path), entry);
    return TRUE;
}

gboolean
snpg_initramfs_add_directory(SnpgInitramfs *initramfs, const char *path, guint mode,
                             GError **error)
{
    return add_entry(initramfs, path, S_IFDIR | (mode & 07777), NULL, 0, 0, error);
}

gboolean
snpg_initramfs_add_file(SnpgInitramfs *initramfs, const char *path, guint mode, GBytes *contents,
                        GError **error)
{
    g_return_val_if_fail(contents != NULL, FALSE);
    return add_entry(initramfs, path, S_IFREG | (mode & 07777), contents, 0, 0, error);
}

gboolean
snpg_initramfs_add_symlink(SnpgInitramfs *initramfs, const char *path, const char *target,
                           GError **error)
{
    g_autoptr(GBytes) contents = NULL;

    if (!target || !*target || strlen(target) > PATH_LEN_MAX) {
        g_set_error(error, SNPG_INITRAMFS_ERROR, SNPG_INITRAMFS_ERROR_PATH,
                    _("'%s' is not a valid symbolic link target"), target ? target : "");
        return FALSE;
    }
    contents = g_bytes_new(target, strlen(target));
    return add_entry(initramfs, path, S_IFLNK | 0777, contents, 0, 0, error);
}

gboolean
snpg_initramfs_add_char_device(SnpgInitramfs *initramfs, const char *path, guint mode,
                               guint major, guint minor, GError **error)
{
    return add_entry(initramfs, path, S_IFCHR | (mode & 07777), NULL, major, minor, error);
}

gboolean
snpg_initramfs_contains(SnpgInitramfs *initramfs, const char *path)
{
    return g_hash_table_contains(initramfs->entries, path);
}

static int
compare_paths(gconstpointer a, gconstpointer b)
{
    /* Byte order: a parent ("a") always sorts before its children ("a/b"). */
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static gboolean
write_padded(GOutputStream *out, const void *data, gsize len, guint64 *offset,
             GCancellable *cancellable, GError **error)
{
    static const guint8 zeros[4] = { 0 };
    gsize pad;

    if (len && !g_output_stream_write_all(out, data, len, NULL, cancellable, error))
        return FALSE;
    *offset += len;
    pad = (4 - (*offset & 3)) & 3;
    if (pad && !g_output_stream_write_all(out, zeros, pad, NULL, cancellable, error))
        return FALSE;
    *offset += pad;
    return TRUE;
}

static gboolean
write_entry(GOutputStream *out, const char *name, guint32 ino, guint32 mode, guint32 nlink,
            guint32 mtime, GBytes *contents, guint32 rdev_major, guint32 rdev_minor,
            guint64 *offset, GCancellable *cancellable, GError **error)
{
    gsize size = contents ? g_bytes_get_size(contents) : 0;
    char header[NEWC_HEADER_LEN + 1];

    /* magic ino mode uid gid nlink mtime filesize devmajor devminor
     * rdevmajor rdevminor namesize check */
    g_snprintf(header, sizeof(header),
               NEWC_MAGIC "%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
               ino, mode, 0u, 0u, nlink, mtime, (guint32)size, 0u, 0u, rdev_major, rdev_minor,
               (guint32)(strlen(name) + 1), 0u);
    if (!g_output_stream_write_all(out, header, NEWC_HEADER_LEN, NULL, cancellable, error))
        return FALSE;
    *offset += NEWC_HEADER_LEN;
    if (!write_padded(out, name, strlen(name) + 1, offset, cancellable, error))
        return FALSE;
    return write_padded(out, contents ? g_bytes_get_data(contents, NULL) : NULL, size, offset,
                        cancellable, error);
}

static gboolean
write_archive(SnpgInitramfs *initramfs, GOutputStream *out, GCancellable *cancellable,
              GError **error)
{
    g_autofree const char **paths = NULL;
    guint n_paths = 0;
    guint64 offset = 0;

    paths = (const char **)g_hash_table_get_keys_as_array(initramfs->entries, &n_paths);
    qsort(paths, n_paths, sizeof(*paths), compare_paths);
    /* Every entry's parent is a directory of the archive, so that unpacking
     * never depends on what the kernel's own initramfs happens to hold. */
    for (guint i = 0; i < n_paths; i++) {
        const char *slash = strrchr(paths[i], '/');
        g_autofree char *parent = slash ? g_strndup(paths[i], (gsize)(slash - paths[i])) : NULL;
        Entry *dir = parent ? g_hash_table_lookup(initramfs->entries, parent) : NULL;

        if (parent && (!dir || !S_ISDIR(dir->mode))) {
            g_set_error(error, SNPG_INITRAMFS_ERROR, SNPG_INITRAMFS_ERROR_PATH,
                        _("'%s' is in the initramfs but its directory '%s' is not"), paths[i],
                        parent);
            return FALSE;
        }
    }
    for (guint i = 0; i < n_paths; i++) {
        Entry *entry = g_hash_table_lookup(initramfs->entries, paths[i]);

        if (!write_entry(out, paths[i], i + 1, entry->mode, S_ISDIR(entry->mode) ? 2 : 1,
                         initramfs->mtime, entry->contents, entry->rdev_major,
                         entry->rdev_minor, &offset, cancellable, error))
            return FALSE;
    }
    return write_entry(out, TRAILER_NAME, 0, 0, 1, 0, NULL, 0, 0, &offset, cancellable, error);
}

gboolean
snpg_initramfs_write(SnpgInitramfs *initramfs, GOutputStream *out,
                     SnpgInitramfsCompression compression, GCancellable *cancellable,
                     GError **error)
{
    g_autoptr(GZlibCompressor) compressor = NULL;
    g_autoptr(GOutputStream) stream = NULL;

    if (compression == SNPG_INITRAMFS_COMPRESSION_NONE)
        return write_archive(initramfs, out, cancellable, error);
    /* Without a GFileInfo the gzip header carries no name and mtime 0. */
    compressor = g_zlib_compressor_new(G_ZLIB_COMPRESSOR_FORMAT_GZIP, 9);
    stream = g_converter_output_stream_new(out, G_CONVERTER(compressor));
    g_filter_output_stream_set_close_base_stream(G_FILTER_OUTPUT_STREAM(stream), FALSE);
    if (!write_archive(initramfs, stream, cancellable, error))
        return FALSE;
    return g_output_stream_close(stream, cancellable, error);
}
