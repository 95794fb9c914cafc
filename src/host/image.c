/* Disk images for the workflows (see image.h), with libcryptsetup's
 * user-space paths: no device-mapper on the host. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <ftw.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <libcryptsetup.h>
#include <libxml/xpath.h>
#include <openssl/rand.h>

#include "domain.h"
#include "hex.h"
#include "i18n.h"
#include "image.h"
#include "policy.h"

G_DEFINE_QUARK(snpg-image-error-quark, snpg_image_error)

/* A raw source image or a root directory beyond this is not a VM root. */
#define SOURCE_SIZE_MAX (G_GUINT64_CONSTANT(1) << 40)
/* ext4 from a directory: its files plus room for metadata and growth. */
#define EXT4_SLACK_MIN (G_GUINT64_CONSTANT(32) * 1024 * 1024)
#define COPY_CHUNK (1024 * 1024)

/* ---- small helpers ------------------------------------------------------ */

static gboolean
run_tool(const char *const *argv, const char *const *envp, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autofree char *err = NULL;
    g_autofree char *command = g_strjoinv(" ", (char **)argv);
    int status = 0;

    if (!g_spawn_sync(NULL, (char **)argv, (char **)envp, G_SPAWN_SEARCH_PATH |
                      G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &err, &status, &local) ||
        !g_spawn_check_wait_status(status, &local)) {
        g_strstrip(err ? err : (err = g_strdup("")));
        g_set_error(error, SNPG_IMAGE_ERROR, SNPG_IMAGE_ERROR_TOOL, _("'%s' failed: %s%s%s"),
                    command, local->message, *err ? ": " : "", err);
        return FALSE;
    }
    return TRUE;
}

static gboolean io_error(GError **error, int errnum, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static gboolean crypt_failed(GError **error, int r, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static gboolean
io_error(GError **error, int errnum, const char *fmt, ...)
{
    g_autofree char *what = NULL;
    va_list ap;

    va_start(ap, fmt);
    what = g_strdup_vprintf(fmt, ap);
    va_end(ap);

    g_set_error(error, SNPG_IMAGE_ERROR, SNPG_IMAGE_ERROR_IO, "%s: %s", what, g_strerror(errnum));
    return FALSE;
}

/* Refuses an existing output unless force; outputs must be regular files. */
static gboolean
check_output(const char *path, gboolean force, GError **error)
{
    struct stat st;

    if (lstat(path, &st) != 0)
        return TRUE;
    if (!force) {
        g_set_error(error, SNPG_IMAGE_ERROR, SNPG_IMAGE_ERROR_EXISTS,
                    _("'%s' exists (give --force to replace it)"), path);
        return FALSE;
    }
    if (!S_ISREG(st.st_mode)) {
        g_set_error(error, SNPG_IMAGE_ERROR, SNPG_IMAGE_ERROR_EXISTS,
                    _("'%s' exists and is not a regular file"), path);
        return FALSE;
    }
    return TRUE;
}

/* A new empty temporary file next to path (so that rename is atomic). */
static char *
temp_beside(const char *path, const char *tag, GError **error)
{
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *base = g_path_get_basename(path);
    g_autofree char *tmpl = g_strdup_printf("%s/.%s.%s-XXXXXX", dir, base, tag);
    int fd = g_mkstemp_full(tmpl, O_RDWR | O_CLOEXEC, 0600);

    if (fd < 0) {
        io_error(error, errno, _("Cannot create a temporary file in '%s'"), dir);
        return NULL;
    }
    close(fd);
    return g_steal_pointer(&tmpl);
}

static void
unlink_temp(char *path)
{
    if (path)
        g_unlink(path);
    g_free(path);
}
typedef char TempPath;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TempPath, unlink_temp)

static gboolean
sync_file(const char *path, GError **error)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    gboolean ok = fd >= 0 && fsync(fd) == 0;
    int saved = errno;

    if (fd >= 0)
        close(fd);
    return ok ? TRUE : io_error(error, saved, _("Cannot sync '%s'"), path);
}

/* Renames tmp to dst, after syncing, and syncs the directory. */
static gboolean
commit_file(const char *tmp, const char *dst, GError **error)
{
    g_autofree char *dir = g_path_get_dirname(dst);
    int fd;

    if (!sync_file(tmp, error))
        return FALSE;
    if (g_chmod(tmp, 0600) != 0 || g_rename(tmp, dst) != 0)
        return io_error(error, errno, _("Cannot write '%s'"), dst);
    if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
        fsync(fd);
        close(fd);
    }
    return TRUE;
}

typedef struct {
    guint64 bytes;
    guint64 files;
} TreeSize;

/* nftw() passes no user data: the one walk at a time (the CLI is single
 * threaded) sums into this. */
static TreeSize tree_size_acc;

static int
add_entry_size(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    tree_size_acc.files++;
    if (flag == FTW_F)
        tree_size_acc.bytes += ((guint64)st->st_size + 4095) & ~G_GUINT64_CONSTANT(4095);
    return tree_size_acc.bytes > SOURCE_SIZE_MAX ? 1 : 0;
}

/* The ext4 size for a directory: its files rounded to blocks, an inode's
 * worth per entry, and slack, rounded up to MiB. */
static gboolean
ext4_size_for(const char *dir, guint64 *ret_size, GError **error)
{
    guint64 size;

    memset(&tree_size_acc, 0, sizeof(tree_size_acc));
    if (nftw(dir, add_entry_size, 32, FTW_PHYS) != 0) {
        g_set_error(error, SNPG_IMAGE_ERROR, SNPG_IMAGE_ERROR_INPUT,
                    _("Cannot read the directory '%s' (or it is larger than 1 TiB)"), dir);
        return FALSE;
    }
    size = tree_size_acc.bytes + tree_size_acc.bytes / 4 + tree_size_acc.files * 4096 +
           EXT4_SLACK_MIN;
    *ret_size = (size + (1 << 20) - 1) & ~(guint64)((1 << 20) - 1);
    return TRUE;
}

/* Makes an ext4 of dir inside file at offset (the file already sized). The
 * file system's times come from SOURCE_DATE_EPOCH when set. */
static gboolean
make_ext4(const char *dir, const char *file, guint64 offset, guint64 size, GError **error)
{
    g_autofree char *ext = g_strdup_printf("root_owner=0:0,offset=%" G_GUINT64_FORMAT, offset);
    g_autofree char *blocks = g_strdup_printf("%" G_GUINT64_FORMAT, size / 4096);
    const char *argv[] = { "mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-m", "0",
                           "-E", ext, "-d", dir, file, blocks, NULL };
    g_auto(GStrv) env = g_get_environ();
    const char *epoch = g_getenv("SOURCE_DATE_EPOCH");

    if (epoch && *epoch)
        env = g_environ_setenv(env, "E2FSPROGS_FAKE_TIME", epoch, TRUE);
    return run_tool(argv, (const char *const *)env, error);
}

/* Copies all of src into fd at offset, reporting progress. */
static gboolean
copy_into(const char *src, int out, guint64 offset, guint64 size, const SnpgImageOptions *o,
          const char *stage, GError **error)
{
    g_autofree guint8 *buf = g_malloc(COPY_CHUNK);
    int in = open(src, O_RDONLY | O_CLOEXEC);
    guint64 done = 0;

    if (in < 0)
        return io_error(error, errno, _("Cannot read '%s'"), src);
    while (done < size) {
        ssize_t n = read(in, buf, MIN((guint64)COPY_CHUNK, size - done));

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int saved = n == 0 ? EIO : errno;
            close(in);
            return io_error(error, saved, _("Cannot read '%s'"), src);
        }
        for (ssize_t w = 0; w < n;) {
            ssize_t m = pwrite(out, buf + w, (size_t)(n - w), (off_t)(offset + done + (guint64)w));
            if (m < 0 && errno == EINTR)
                continue;
            if (m <= 0) {
                int saved = errno;
                close(in);
                return io_error(error, saved, _("Cannot write the image of '%s'"), src);
            }
            w += m;
        }
        done += (guint64)n;
        if (o && o->progress)
            o->progress(stage, done, size, o->user_data);
    }
    close(in);
    return TRUE;
}

typedef enum { SOURCE_DIR, SOURCE_RAW } SourceKind;

/* What src is and how many bytes it takes in an image (whole 4 KiB blocks). */
static gboolean
inspect_source(const char *src, SourceKind *ret_kind, guint64 *ret_size, GError **error)
{
    struct stat st;

    if (g_stat(src, &st) != 0) {
        g_set_error(error, SNPG_IMAGE_ERROR, SNPG_IMAGE_ERROR_INPUT, _("Cannot read '%s': %s"),
                    src, g_strerror(errno));
        return FALSE;
    }
    if (S_ISDIR(st.st_mode)) {
        *ret_kind = SOURCE_DIR;
        return ext4_size_for(src, ret_size, error);
    }
    if (!S_ISREG(st.st_mode) || st.st_size <= 0 || (guint64)st.st_size > SOURCE_SIZE_MAX) {
        g_set_error(error, SNPG_IMAGE_ERROR, SNPG_IMAGE_ERROR_INPUT,
                    _("'%s' is neither a directory nor a raw image (a non-empty regular file "
                      "of at most 1 TiB)"), src);
        return FALSE;
    }
    *ret_kind = SOURCE_RAW;
    *ret_size = ((guint64)st.st_size + 4095) & ~G_GUINT64_CONSTANT(4095);
    return TRUE;
}

/* Writes the plaintext of src at offset of path (sized offset + size). */
static gboolean
write_plaintext(const char *src, SourceKind kind, const char *path, guint64 offset,
                guint64 size, const SnpgImageOptions *o, GError **error)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    gboolean ok;

    if (fd < 0)
        return io_error(error, errno, _("Cannot write '%s'"), path);
    if (ftruncate(fd, (off_t)(offset + size)) != 0) {
        int saved = errno;
        close(fd);
        return io_error(error, saved, _("Cannot size '%s'"), path);
    }
    if (kind == SOURCE_DIR) {
        close(fd);
        if (o && o->progress)
            o->progress(_("making ext4"), 0, size, o->user_data);
        ok = make_ext4(src, path, offset, size, error);
        if (ok && o && o->progress)
            o->progress(_("making ext4"), size, size, o->user_data);
        return ok;
    }
    {
        struct stat st;
        ok = g_stat(src, &st) == 0 &&
             copy_into(src, fd, offset, (guint64)st.st_size, o, _("copying"), error);
    }
    close(fd);
    return ok;
}

/* dst ending in .qcow2: converts the raw tmp into another temporary file
 * and returns that one (the raw one is removed). */
static gboolean
maybe_qcow2(char **tmp, const char *dst, GError **error)
{
    g_autoptr(TempPath) qcow = NULL;

    if (!g_str_has_suffix(dst, ".qcow2"))
        return TRUE;
    if (!(qcow = temp_beside(dst, "qcow2", error)))
        return FALSE;
    {
        const char *argv[] = { "qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2",
                               *tmp, qcow, NULL };
        if (!run_tool(argv, NULL, error))
            return FALSE;
    }
    g_unlink(*tmp);
    g_free(*tmp);
    *tmp = g_steal_pointer(&qcow);
    return TRUE;
}

static gboolean
crypt_failed(GError **error, int r, const char *fmt, ...)
{
    g_autofree char *what = NULL;
    va_list ap;

    va_start(ap, fmt);
    what = g_strdup_vprintf(fmt, ap);
    va_end(ap);

    g_set_error(error, SNPG_IMAGE_ERROR, SNPG_IMAGE_ERROR_CRYPT, "%s: %s", what, g_strerror(-r));
    return FALSE;
}

static void
cryptsetup_log(int level, const char *msg, void *usrptr)
{
    if (level == CRYPT_LOG_ERROR)
        g_debug("libcryptsetup: %s", msg);
}

/* ---- rootfs ------------------------------------------------------------- */

static const char *const rootfs_dirs[] = {
    "bin", "dev", "etc", "mnt", "proc", "root", "run", "sbin", "sys", "tmp", "usr", "usr/bin",
    "usr/sbin", "var", "var/tmp",
};

static const char rootfs_init[] =
    "#!/bin/busybox sh\n"
    "# snpguard demo root: print the marker on the console, then power off.\n"
    "export PATH=/bin:/sbin:/usr/bin:/usr/sbin\n"
    "mount -t proc proc /proc 2>/dev/null\n"
    "mount -t sysfs sysfs /sys 2>/dev/null\n"
    "echo \"" SNPG_IMAGE_MARKER_PREFIX "$(cat /etc/snpguard-marker)\"\n"
    "sync\n"
    "poweroff -f\n";

static gboolean
marker_is_valid(const char *marker)
{
    if (strlen(marker) == 0 || strlen(marker) > SNPG_IMAGE_MARKER_MAX)
        return FALSE;
    for (const char *p = marker; *p; p++)
        if (!g_ascii_isprint(*p))
            return FALSE;
    return TRUE;
}

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path) == 0 ? 0 : -1;
}

static gboolean
write_entry(const char *root, const char *rel, const void *data, gsize len, int mode,
            guint32 mtime, GError **error)
{
    g_autofree char *path = g_build_filename(root, rel, NULL);
    struct timespec times[2] = { { mtime, 0 }, { mtime, 0 } };

    if (!g_file_set_contents_full(path, data, (gssize)len, G_FILE_SET_CONTENTS_NONE, mode, error))
        return FALSE;
    if (g_chmod(path, mode) != 0 || utimensat(AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW) != 0)
        return io_error(error, errno, _("Cannot set the mode of '%s'"), path);
    return TRUE;
}

static gboolean
set_times(const char *path, guint32 mtime, GError **error)
{
    struct timespec times[2] = { { mtime, 0 }, { mtime, 0 } };

    if (utimensat(AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW) != 0)
        return io_error(error, errno, _("Cannot set the times of '%s'"), path);
    return TRUE;
}

static gboolean
fill_rootfs(const char *root, const SnpgImageRootfsOptions *o, const char *busybox,
            const char *marker, GError **error)
{
    g_autofree char *applets_text = NULL;
    g_autofree char *marker_line = g_strconcat(marker, "\n", NULL);
    g_autofree char *busybox_data = NULL;
    g_auto(GStrv) applets = NULL;
    gsize busybox_len = 0;

    for (gsize i = 0; i < G_N_ELEMENTS(rootfs_dirs); i++) {
        g_autofree char *path = g_build_filename(root, rootfs_dirs[i], NULL);
        int mode = g_str_equal(rootfs_dirs[i], "tmp") || g_str_equal(rootfs_dirs[i], "var/tmp")
                       ? 01777 : g_str_equal(rootfs_dirs[i], "root") ? 0700 : 0755;

        if (g_mkdir(path, mode) != 0 || g_chmod(path, mode) != 0)
            return io_error(error, errno, _("Cannot create '%s'"), path);
    }
    if (!g_file_get_contents(busybox, &busybox_data, &busybox_len, error))
        return FALSE;
    if (!write_entry(root, "bin/busybox", busybox_data, busybox_len, 0755, o->mtime, error) ||
        !write_entry(root, "sbin/init", rootfs_init, strlen(rootfs_init), 0755, o->mtime, error) ||
        !write_entry(root, "etc/snpguard-marker", marker_line, strlen(marker_line), 0644,
                     o->mtime, error))
        return FALSE;
    {
        const char *argv[] = { busybox, "--list", NULL };
        g_autoptr(GError) local = NULL;
        int status = 0;

        if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                          &applets_text, NULL, &status, &local) ||
            !g_spawn_check_wait_status(status, &local)) {
            g_set_error(error, SNPG_IMAGE_ERROR, SNPG_IMAGE_ERROR_INPUT,
                        _("'%s --list' failed: is it busybox? %s"), busybox, local->message);
            return FALSE;
        }
    }
    applets = g_strsplit(applets_text, "\n", -1);
    for (gsize i = 0; applets[i]; i++) {
        const char *name = applets[i];
        g_autofree char *path = NULL;

        /* The list names busybox itself; skip it and anything not a name. */
        if (!*name || g_str_equal(name, "busybox") || g_str_equal(name, "init") ||
            strchr(name, '/') || strlen(name) > 64 || name[0] == '.')
            continue;
        path = g_build_filename(root, "bin", name, NULL);
        if (symlink("busybox", path) != 0)
            return io_error(error, errno, _("Cannot create '%s'"), path);
        if (!set_times(path, o->mtime, error))
            return FALSE;
    }
    for (gsize i = G_N_ELEMENTS(rootfs_dirs); i > 0; i--) {
        g_autofree char *path = g_build_filename(root, rootfs_dirs[i - 1], NULL);
        if (!set_times(path, o->mtime, error))
            return FALSE;
    }
    return set_times(root, o->mtime, error);
}

gboolean
snpg_image_rootfs(const char *dir, const SnpgImageRootfsOptions *o, GError **error)
{
    const char *busybox = o->busybox ? o->busybox : "/bin/busybox";
    const char *marker = o->marker ? o->marker : "hello";
    g_autofree char *parent = g_path_get_dirname(dir);
    g_autofree char *base = g_path_get_basename(dir);
    g_autofree char *tmp = g_strdup_printf("%s/.%s.rootfs-XXXXXX", parent, base);
    struct stat st;

    if (!marker_is_valid(marker)) {
        g_set_error(error, SNPG_IMAGE_ERROR, SNPG_IMAGE_ERROR_INPUT,
                    _("The marker must be 1 to %d printable ASCII characters"),
                    SNPG_IMAGE_MARKER_MAX);
        return FALSE;
    }
    if (!g_file_test(busybox, G_FILE_TEST_IS_REGULAR)) {
        g_set_error(error, SNPG_IMAGE_ERROR, SNPG_IMAGE_ERROR_INPUT,
                    _("Cannot read busybox '%s' (install busybox-static)"), busybox);
        return FALSE;
    }
    if (lstat(dir, &st) == 0) {
        if (!o->force) {
            g_set_error(error, SNPG_IMAGE_ERROR, SNPG_IMAGE_ERROR_EXISTS,
                        _("'%s' exists (give --force to replace it)"), dir);
            return FALSE;
        }
        if (!S_ISDIR(st.st_mode)) {
            g_set_error(error, SNPG_IMAGE_ERROR, SNPG_IMAGE_ERROR_EXISTS,
                        _("'%s' exists and is not a directory"), dir);
            return FALSE;
        }
    }
    if (!g_mkdtemp_full(tmp, 0755))
        return io_error(error, errno, _("Cannot create a directory in '%s'"), parent);
    if (g_chmod(tmp, 0755) != 0 || !fill_rootfs(tmp, o, busybox, marker, error))
        goto fail;
    if (lstat(dir, &st) == 0 && nftw(dir, remove_entry, 32, FTW_DEPTH | FTW_PHYS) != 0) {
        io_error(error, errno, _("Cannot remove the old '%s'"), dir);
        goto fail;
    }
    if (g_rename(tmp, dir) != 0) {
        io_error(error, errno, _("Cannot create '%s'"), dir);
        goto fail;
    }
    return TRUE;
fail:
    nftw(tmp, remove_entry, 32, FTW_DEPTH | FTW_PHYS);
    return FALSE;
}

/* ---- encrypt ------------------------------------------------------------ */

void
snpg_image_luks_facts_clear(SnpgImageLuksFacts *facts)
{
    g_clear_pointer(&facts->cipher, g_free);
    g_clear_pointer(&facts->header_sha256, g_free);
    g_clear_pointer(&facts->uuid, g_free);
    memset(facts, 0, sizeof(*facts));
}

static int
reencrypt_progress(uint64_t size, uint64_t offset, void *usrptr)
{
    const SnpgImageOptions *o = usrptr;

    if (o && o->progress)
        o->progress(_("encrypting"), offset, size, o->user_data);
    return 0;
}

/* Formats a detached LUKS2 header for the plaintext at the data offset of
 * data_path, encrypts the data area in place (offline reencryption, mode
 * encrypt), then restores the header into the head of data_path. */
static gboolean
encrypt_in_place(const char *data_path, const char *header_path, SnpgSecret *key,
                 const SnpgImageOptions *o, GError **error)
{
    struct crypt_device *cd = NULL;
    const char *pass = (const char *)snpg_secret_data(key);
    size_t pass_len = snpg_secret_len(key);
    struct crypt_pbkdf_type pbkdf = {
        .type = SNPG_IMAGE_PBKDF_TYPE,
        .hash = "sha256",
        .time_ms = 0,
        .iterations = SNPG_IMAGE_PBKDF_ITERATIONS,
        .max_memory_kb = SNPG_IMAGE_PBKDF_MEMORY_KIB,
        .parallel_threads = 1,
        /* Fixed costs: the same on every host, whatever its speed. */
        .flags = CRYPT_PBKDF_NO_BENCHMARK,
    };
    struct crypt_params_luks2 luks2 = { .sector_size = 4096 };
    struct crypt_params_reencrypt params = {
        .mode = CRYPT_REENCRYPT_ENCRYPT,
        .direction = CRYPT_REENCRYPT_FORWARD,
        /* A temporary file: a crash loses nothing worth resuming. */
        .resilience = "none",
        .hash = "sha256",
        .luks2 = &luks2,
        .flags = CRYPT_REENCRYPT_INITIALIZE_ONLY,
    };
    gboolean ok = FALSE;
    int r, keyslot;

    crypt_set_log_callback(NULL, cryptsetup_log, NULL);
    /* No lock files: the image is a private temporary file. */
    crypt_metadata_locking(NULL, 0);
    if ((r = crypt_init_data_device(&cd, header_path, data_path)) < 0) {
        crypt_failed(error, r, _("Cannot use '%s' for LUKS2"), data_path);
        goto out;
    }
    if ((r = crypt_set_data_offset(cd, SNPG_IMAGE_LUKS_DATA_OFFSET / 512)) < 0 ||
        (r = crypt_set_pbkdf_type(cd, &pbkdf)) < 0 ||
        (r = crypt_format(cd, CRYPT_LUKS2, SNPG_IMAGE_LUKS_CIPHER, SNPG_IMAGE_LUKS_CIPHER_MODE,
                          NULL, NULL, SNPG_IMAGE_LUKS_KEY_BITS / 8, &luks2)) < 0) {
        crypt_failed(error, r, _("Cannot format a LUKS2 header for '%s'"), data_path);
        goto out;
    }
    if ((keyslot = crypt_keyslot_add_by_volume_key(cd, 0, NULL, 0, pass, pass_len)) < 0) {
        crypt_failed(error, keyslot, _("Cannot add the key of '%s'"), data_path);
        goto out;
    }
    if ((r = crypt_reencrypt_init_by_passphrase(cd, NULL, pass, pass_len, CRYPT_ANY_SLOT, keyslot,
                                                SNPG_IMAGE_LUKS_CIPHER,
                                                SNPG_IMAGE_LUKS_CIPHER_MODE, &params)) < 0) {
        crypt_failed(error, r, _("Cannot start encrypting '%s'"), data_path);
        goto out;
    }
    params.flags &= ~CRYPT_REENCRYPT_INITIALIZE_ONLY;
    if ((r = crypt_reencrypt_init_by_passphrase(cd, NULL, pass, pass_len, CRYPT_ANY_SLOT, keyslot,
                                                NULL, NULL, &params)) < 0 ||
        (r = crypt_reencrypt_run(cd, reencrypt_progress, (void *)o)) < 0) {
        crypt_failed(error, r, _("Cannot encrypt '%s'"), data_path);
        goto out;
    }
    crypt_free(cd);
    cd = NULL;
    /* The finished header goes into the head of the image. */
    if ((r = crypt_init(&cd, data_path)) < 0 ||
        (r = crypt_header_restore(cd, CRYPT_LUKS2, header_path)) < 0) {
        crypt_failed(error, r, _("Cannot write the LUKS2 header into '%s'"), data_path);
        goto out;
    }
    ok = TRUE;
out:
    if (cd)
        crypt_free(cd);
    return ok;
}

gboolean
snpg_image_luks_facts(const char *path, SnpgImageLuksFacts *ret, GError **error)
{
    struct crypt_device *cd = NULL;
    g_auto(SnpgImageLuksFacts) facts = { 0 };
    g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
    g_autofree guint8 *buf = NULL;
    uint64_t metadata_size = 0, keyslots_size = 0, area;
    int fd = -1, r;
    gboolean ok = FALSE;

    crypt_set_log_callback(NULL, cryptsetup_log, NULL);
    crypt_metadata_locking(NULL, 0);
    if ((r = crypt_init(&cd, path)) < 0 || (r = crypt_load(cd, CRYPT_LUKS2, NULL)) < 0) {
        crypt_failed(error, r, _("'%s' has no LUKS2 header"), path);
        goto out;
    }
    if ((r = crypt_get_metadata_size(cd, &metadata_size, &keyslots_size)) < 0) {
        crypt_failed(error, r, _("Cannot read the LUKS2 header sizes of '%s'"), path);
        goto out;
    }
    facts.cipher = g_strdup_printf("%s-%s", crypt_get_cipher(cd), crypt_get_cipher_mode(cd));
    facts.key_bits = (guint32)crypt_get_volume_key_size(cd) * 8;
    facts.uuid = g_strdup(crypt_get_uuid(cd));
    facts.data_offset = crypt_get_data_offset(cd) * 512;
    /* The bytes the agent copies and hashes (docs/protocol.md). */
    area = 2 * metadata_size + keyslots_size;
    if (metadata_size == 0 || area > facts.data_offset) {
        g_set_error(error, SNPG_IMAGE_ERROR, SNPG_IMAGE_ERROR_CRYPT,
                    _("The LUKS2 header of '%s' has an unexpected size"), path);
        goto out;
    }
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        io_error(error, errno, _("Cannot read '%s'"), path);
        goto out;
    }
    {
        struct stat st;
        if (fstat(fd, &st) == 0 && (guint64)st.st_size > facts.data_offset)
            facts.data_size = (guint64)st.st_size - facts.data_offset;
    }
    buf = g_malloc(COPY_CHUNK);
    for (uint64_t off = 0; off < area;) {
        ssize_t n = pread(fd, buf, MIN((uint64_t)COPY_CHUNK, area - off), (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            io_error(error, n == 0 ? EIO : errno, _("Cannot read '%s'"), path);
            goto out;
        }
        g_checksum_update(sum, buf, n);
        off += (uint64_t)n;
    }
    facts.header_sha256 = g_strdup(g_checksum_get_string(sum));
    *ret = facts;
    memset(&facts, 0, sizeof(facts));
    ok = TRUE;
out:
    if (fd >= 0)
        close(fd);
    if (cd)
        crypt_free(cd);
    return ok;
}

gboolean
snpg_image_encrypt(const char *src, const char *dst, SnpgSecret *key,
                   const SnpgImageOptions *o, SnpgImageLuksFacts *ret_facts, GError **error)
{
    g_autoptr(TempPath) tmp = NULL;
    g_autoptr(TempPath) header = NULL;
    g_auto(SnpgImageLuksFacts) facts = { 0 };
    SourceKind kind;
    guint64 size;

    g_return_val_if_fail(src && dst && key, FALSE);
    if (!check_output(dst, o && o->force, error) || !inspect_source(src, &kind, &size, error))
        return FALSE;
    if (!(tmp = temp_beside(dst, "luks", error)) || !(header = temp_beside(dst, "hdr", error)) ||
        !write_plaintext(src, kind, tmp, SNPG_IMAGE_LUKS_DATA_OFFSET, size, o, error))
        return FALSE;
    /* libcryptsetup extends the header file as it writes the header. */
    if (truncate(header, 4096) != 0)
        return io_error(error, errno, _("Cannot write '%s'"), header);
    if (!encrypt_in_place(tmp, header, key, o, error) ||
        !snpg_image_luks_facts(tmp, &facts, error))
        return FALSE;
    if (!maybe_qcow2(&tmp, dst, error) || !commit_file(tmp, dst, error))
        return FALSE;
    g_clear_pointer(&tmp, g_free);
    if (ret_facts) {
        *ret_facts = facts;
        memset(&facts, 0, sizeof(facts));
    }
    return TRUE;
}

/* ---- verity ------------------------------------------------------------- */

void
snpg_image_verity_facts_clear(SnpgImageVerityFacts *facts)
{
    g_clear_pointer(&facts->root_hash, g_free);
    g_clear_pointer(&facts->salt, g_free);
    g_clear_pointer(&facts->hash_alg, g_free);
    memset(facts, 0, sizeof(*facts));
}

gboolean
snpg_image_verity(const char *src, const char *data, const char *hash,
                  const SnpgImageOptions *o, SnpgImageVerityFacts *ret_facts, GError **error)
{
    g_autoptr(TempPath) data_tmp = NULL;
    g_autoptr(TempPath) hash_tmp = NULL;
    g_auto(SnpgImageVerityFacts) facts = { 0 };
    struct crypt_device *cd = NULL;
    guint8 salt[SNPG_IMAGE_VERITY_SALT_LEN];
    char root_hash[64];
    size_t root_hash_len = sizeof(root_hash);
    SourceKind kind;
    guint64 size;
    int r;

    g_return_val_if_fail(src && data && hash, FALSE);
    if (g_str_equal(data, hash)) {
        g_set_error(error, SNPG_IMAGE_ERROR, SNPG_IMAGE_ERROR_INPUT,
                    _("The data and hash images must be two files"));
        return FALSE;
    }
    if (!check_output(data, o && o->force, error) || !check_output(hash, o && o->force, error) ||
        !inspect_source(src, &kind, &size, error))
        return FALSE;
    if (!(data_tmp = temp_beside(data, "data", error)) ||
        !(hash_tmp = temp_beside(hash, "hash", error)) ||
        !write_plaintext(src, kind, data_tmp, 0, size, o, error))
        return FALSE;
    if (RAND_bytes(salt, sizeof(salt)) != 1) {
        g_set_error(error, SNPG_IMAGE_ERROR, SNPG_IMAGE_ERROR_CRYPT,
                    _("Cannot draw a random salt"));
        return FALSE;
    }
    {
        struct crypt_params_verity params = {
            .hash_name = SNPG_IMAGE_VERITY_HASH,
            .data_device = data_tmp,
            .salt = (const char *)salt,
            .salt_size = sizeof(salt),
            .data_block_size = SNPG_IMAGE_VERITY_BLOCK_SIZE,
            .hash_block_size = SNPG_IMAGE_VERITY_BLOCK_SIZE,
            .data_size = size / SNPG_IMAGE_VERITY_BLOCK_SIZE,
            .hash_area_offset = 0,
            .hash_type = 1,
            /* Every parameter is on the measured command line: no superblock
             * the host could edit. */
            .flags = CRYPT_VERITY_NO_HEADER | CRYPT_VERITY_CREATE_HASH,
        };

        if (o && o->progress)
            o->progress(_("hashing"), 0, size, o->user_data);
        crypt_set_log_callback(NULL, cryptsetup_log, NULL);
        crypt_metadata_locking(NULL, 0);
        if ((r = crypt_init_data_device(&cd, hash_tmp, data_tmp)) < 0 ||
            (r = crypt_format(cd, CRYPT_VERITY, NULL, NULL, NULL, NULL, 0, &params)) < 0 ||
            (r = crypt_volume_key_get(cd, CRYPT_ANY_SLOT, root_hash, &root_hash_len, NULL, 0)) < 0) {
            if (cd)
                crypt_free(cd);
            return crypt_failed(error, r, _("Cannot compute the dm-verity tree of '%s'"), src);
        }
        crypt_free(cd);
        if (o && o->progress)
            o->progress(_("hashing"), size, size, o->user_data);
    }
    facts.root_hash = snpg_hex_encode((const guint8 *)root_hash, root_hash_len);
    facts.salt = snpg_hex_encode(salt, sizeof(salt));
    facts.hash_alg = g_strdup(SNPG_IMAGE_VERITY_HASH);
    facts.data_block_size = SNPG_IMAGE_VERITY_BLOCK_SIZE;
    facts.hash_block_size = SNPG_IMAGE_VERITY_BLOCK_SIZE;
    facts.data_blocks = size / SNPG_IMAGE_VERITY_BLOCK_SIZE;
    /* Both complete before either is renamed into place. */
    if (!maybe_qcow2(&data_tmp, data, error) || !maybe_qcow2(&hash_tmp, hash, error) ||
        !sync_file(data_tmp, error) || !sync_file(hash_tmp, error) ||
        !commit_file(hash_tmp, hash, error))
        return FALSE;
    g_clear_pointer(&hash_tmp, g_free);
    if (!commit_file(data_tmp, data, error)) {
        g_unlink(hash);
        return FALSE;
    }
    g_clear_pointer(&data_tmp, g_free);
    if (ret_facts) {
        *ret_facts = facts;
        memset(&facts, 0, sizeof(facts));
    }
    return TRUE;
}

char *
snpg_image_verity_cmdline(const SnpgImageVerityFacts *f, const char *data_device,
                          const char *hash_device)
{
    return g_strdup_printf("data:%s,hash:%s,roothash:%s,salt:%s,data-blocks:%" G_GUINT64_FORMAT
                           ",hash-alg:%s,data-block-size:%u,hash-block-size:%u",
                           data_device, hash_device, f->root_hash, f->salt && *f->salt ? f->salt : "-",
                           f->data_blocks, f->hash_alg, f->data_block_size, f->hash_block_size);
}

/* ---- the VM ------------------------------------------------------------- */

void
snpg_image_record_luks(SnpgVmRecord *rec, const SnpgImageLuksFacts *facts)
{
    g_autofree char *bits = g_strdup_printf("%u", facts->key_bits);

    snpg_vm_record_set_setting(rec, SNPG_VM_SETTING_LUKS_CIPHER, facts->cipher);
    snpg_vm_record_set_setting(rec, SNPG_VM_SETTING_LUKS_KEY_BITS, bits);
    snpg_vm_record_set_setting(rec, SNPG_VM_SETTING_LUKS_HEADER_SHA256, facts->header_sha256);
}

/* The command line with param=value in place of any earlier param=. */
static char *
cmdline_set(const char *line, const char *param, const char *value)
{
    g_auto(GStrv) words = g_strsplit_set(line ? line : "", " \t\n", -1);
    g_autoptr(GString) out = g_string_new(NULL);
    g_autofree char *prefix = g_strconcat(param, "=", NULL);

    for (gsize i = 0; words[i]; i++) {
        if (!*words[i] || g_str_has_prefix(words[i], prefix))
            continue;
        g_string_append_printf(out, "%s%s", out->len ? " " : "", words[i]);
    }
    g_string_append_printf(out, "%s%s%s", out->len ? " " : "", prefix, value);
    return g_string_free(g_steal_pointer(&out), FALSE);
}

static xmlNode *
xpath_first(xmlXPathContext *ctx, const char *expr)
{
    g_autoptr(xmlXPathObject) obj = xmlXPathEvalExpression(BAD_CAST expr, ctx);

    if (!obj || !obj->nodesetval || obj->nodesetval->nodeNr < 1)
        return NULL;
    return obj->nodesetval->nodeTab[0];
}

static gboolean
set_disks(xmlXPathContext *ctx, const char *const *disks, GError **error)
{
    g_autoptr(xmlXPathObject) obj = xmlXPathEvalExpression(
        BAD_CAST "/domain/devices/disk[@device='disk' or not(@device)]", ctx);
    guint want = g_strv_length((char **)disks);
    int n = obj && obj->nodesetval ? obj->nodesetval->nodeNr : 0;

    if ((guint)n < want) {
        g_set_error(error, SNPG_IMAGE_ERROR, SNPG_IMAGE_ERROR_WORKFLOW,
                    _("The domain has %d disk(s); the image needs %u"), n, want);
        return FALSE;
    }
    for (guint i = 0; i < want; i++) {
        xmlNode *disk = obj->nodesetval->nodeTab[i];
        xmlNode *source = NULL, *driver = NULL;
        g_autofree char *abs = g_canonicalize_filename(disks[i], NULL);

        for (xmlNode *c = disk->children; c; c = c->next) {
            if (c->type == XML_ELEMENT_NODE && xmlStrEqual(c->name, BAD_CAST "source"))
                source = c;
            if (c->type == XML_ELEMENT_NODE && xmlStrEqual(c->name, BAD_CAST "driver"))
                driver = c;
        }
        if (!source)
            source = xmlNewChild(disk, NULL, BAD_CAST "source", NULL);
        xmlSetProp(disk, BAD_CAST "type", BAD_CAST "file");
        xmlSetProp(source, BAD_CAST "file", BAD_CAST abs);
        if (driver)
            xmlSetProp(driver, BAD_CAST "type",
                       BAD_CAST(g_str_has_suffix(abs, ".qcow2") ? "qcow2" : "raw"));
    }
    return TRUE;
}

char *
snpg_image_domain_disk_device(xmlDoc *doc, guint index, GError **error)
{
    g_autoptr(xmlXPathContext) ctx = xmlXPathNewContext(doc);
    g_autofree char *expr = g_strdup_printf(
        "/domain/devices/disk[@device='disk' or not(@device)][%u]/target", index + 1);
    xmlNode *target = ctx ? xpath_first(ctx, expr) : NULL;
    xmlChar *dev = target ? xmlGetProp(target, BAD_CAST "dev") : NULL;
    char *ret = NULL;

    /* Virtio disks only: their names in the guest follow their order. */
    if (dev && g_regex_match_simple("^vd[a-z]{1,2}$", (const char *)dev, 0, 0))
        ret = g_strconcat("/dev/", (const char *)dev, NULL);
    else
        g_set_error(error, SNPG_IMAGE_ERROR, SNPG_IMAGE_ERROR_WORKFLOW,
                    _("Disk %u of the domain is not a virtio disk (vdX)"), index + 1);
    xmlFree(dev);
    return ret;
}

gboolean
snpg_image_update_domain(xmlDoc *doc, SnpgVmRecord *rec, const char *workflow,
                         const char *param, const char *value, const char *const *disks,
                         GError **error)
{
    g_autoptr(xmlXPathContext) ctx = xmlXPathNewContext(doc);
    g_auto(SnpgDomainMeta) meta = { 0 };
    g_auto(SnpgLaunchInputs) in = { 0 };
    g_autoptr(SnpgMeasureExplain) ex = NULL;
    g_autoptr(SnpgAttestPolicy) policy = snpg_attest_policy_new();
    g_autofree char *line = NULL, *new_line = NULL, *hex = NULL, *cmdline_hex = NULL;
    guint8 digest[SNPG_MEASURE_SNP_DIGEST_SIZE];
    xmlNode *os, *cmdline;

    if (!ctx || !snpg_domain_meta_read(doc, &meta, error)) {
        if (!ctx)
            g_set_error(error, SNPG_IMAGE_ERROR, SNPG_IMAGE_ERROR_WORKFLOW,
                        _("Cannot read the domain of VM '%s'"), rec->name);
        return FALSE;
    }
    if (!g_str_equal(snpg_workflow_to_string(meta.workflow), workflow) ||
        (rec->workflow && !g_str_equal(rec->workflow, workflow))) {
        g_set_error(error, SNPG_IMAGE_ERROR, SNPG_IMAGE_ERROR_WORKFLOW,
                    _("VM '%s' has the %s workflow; this image is for the %s workflow"),
                    rec->name, snpg_workflow_to_string(meta.workflow), workflow);
        return FALSE;
    }
    if (disks && !set_disks(ctx, disks, error))
        return FALSE;
    if (!(os = xpath_first(ctx, "/domain/os"))) {
        g_set_error(error, SNPG_IMAGE_ERROR, SNPG_IMAGE_ERROR_WORKFLOW,
                    _("The domain of VM '%s' has no <os> element"), rec->name);
        return FALSE;
    }
    if (!(cmdline = xpath_first(ctx, "/domain/os/cmdline")))
        cmdline = xmlNewChild(os, NULL, BAD_CAST "cmdline", NULL);
    {
        xmlChar *text = xmlNodeGetContent(cmdline);
        line = g_strdup(text ? (const char *)text : "");
        xmlFree(text);
    }
    if (param) {
        /* One word on the command line, of a sane length. */
        if (!value || !*value || strlen(value) > 2048 || strpbrk(value, " \t\n\"") ||
            !*param || strpbrk(param, " \t\n=")) {
            g_set_error(error, SNPG_IMAGE_ERROR, SNPG_IMAGE_ERROR_INPUT,
                        _("Not a kernel command line parameter: '%s=%s'"), param,
                        value ? value : "");
            return FALSE;
        }
        new_line = cmdline_set(line, param, value);
        xmlNodeSetContent(cmdline, NULL);
        xmlNodeAddContent(cmdline, BAD_CAST new_line);
    }
    if (!snpg_domain_seal(doc, &meta, digest, error) ||
        !snpg_domain_launch_inputs(doc, &in, error) ||
        !snpg_domain_measure(&in, digest, &ex, error))
        return FALSE;
    hex = snpg_hex_encode(digest, sizeof(digest));
    cmdline_hex = snpg_hex_encode(ex->hashes.cmdline, 32);

    /* The registry: expected measurement (also in the reference values). */
    if ((rec->reference && !snpg_attest_policy_load_reference_data(
             policy, rec->reference, strlen(rec->reference), error)) ||
        !snpg_attest_policy_set_value(policy, "measurement", hex, error))
        return FALSE;
    snpg_vm_record_set_reference(rec, snpg_attest_policy_get_options(policy));
    g_free(rec->expected_measurement);
    rec->expected_measurement = g_strdup(hex);
    snpg_vm_record_set_setting(rec, "cmdline", in.cmdline);
    for (guint i = 0; rec->inputs && i < rec->inputs->len; i++) {
        SnpgVmInput *input = g_ptr_array_index(rec->inputs, i);

        if (g_str_equal(input->role, "cmdline")) {
            g_free(input->digest);
            input->digest = g_strdup(cmdline_hex);
        }
    }
    return TRUE;
}
