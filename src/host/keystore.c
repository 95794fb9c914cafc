#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "i18n.h"
#include "file.h"
#include "keystore.h"
#include "statedir.h"

G_DEFINE_QUARK(snpg-keystore-error-quark, snpg_keystore_error)

static gboolean io_error(GError **error, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static gboolean
io_error(GError **error, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error_literal(error, SNPG_KEYSTORE_ERROR, SNPG_KEYSTORE_ERROR_IO, msg);
    return FALSE;
}

/* Creates path with data, mode 0600, all or nothing, never replacing an
 * existing key (the core's exclusive atomic write: temporary file, sync,
 * link, directory sync). */
static gboolean
write_private_file(const char *path, const guint8 *data, gsize len, GError **error)
{
    g_autoptr(GError) local = NULL;

    if (snpg_file_write(path, data, len, SNPG_FILE_WRITE_EXCLUSIVE, &local))
        return TRUE;
    if (g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_EXIST)) {
        g_set_error(error, SNPG_KEYSTORE_ERROR, SNPG_KEYSTORE_ERROR_EXISTS,
                    _("The key file '%s' already exists"), path);
        return FALSE;
    }
    return io_error(error, _("Cannot write the key file '%s': %s"), path, local->message);
}

char *
snpg_keystore_path_for(const char *uuid)
{
    g_autofree char *lower = NULL;

    if (!uuid || !g_uuid_string_is_valid(uuid))
        return NULL;
    lower = g_ascii_strdown(uuid, -1);
    return g_strdup_printf(SNPG_KEYSTORE_DIR "/%s.key", lower);
}

/* The absolute path of a key given as the registry holds it; only paths
 * this store makes are accepted, so a tampered record cannot point
 * anywhere else. */
static char *
key_file(const char *state_dir, const char *path, GError **error)
{
    const char *prefix = SNPG_KEYSTORE_DIR "/";
    g_autofree char *uuid = NULL;

    if (path && g_str_has_prefix(path, prefix) && g_str_has_suffix(path, ".key")) {
        const char *start = path + strlen(prefix);

        uuid = g_strndup(start, strlen(start) - strlen(".key"));
        if (g_uuid_string_is_valid(uuid))
            return g_build_filename(state_dir, path, NULL);
    }
    g_set_error(error, SNPG_KEYSTORE_ERROR, SNPG_KEYSTORE_ERROR_INVALID,
                _("'%s' is not a key path of the key store (keys/UUID.key)"), path ? path : "");
    return NULL;
}

SnpgSecret *
snpg_keystore_create(const char *state_dir, const char *uuid, char **ret_path, GError **error)
{
    g_autofree char *rel = snpg_keystore_path_for(uuid);
    g_autofree char *file = NULL;
    g_autoptr(SnpgSecret) key = NULL;

    if (!rel) {
        g_set_error(error, SNPG_KEYSTORE_ERROR, SNPG_KEYSTORE_ERROR_INVALID,
                    _("'%s' is not a UUID"), uuid ? uuid : "");
        return NULL;
    }
    if (!snpg_state_dir_ensure(state_dir, TRUE, error) ||
        !snpg_state_dir_ensure_sub(state_dir, SNPG_KEYSTORE_DIR, TRUE, error))
        return NULL;
    key = snpg_secret_new(SNPG_KEYSTORE_KEY_LEN);
    if (RAND_priv_bytes(snpg_secret_data(key), SNPG_KEYSTORE_KEY_LEN) != 1) {
        g_set_error(error, SNPG_KEYSTORE_ERROR, SNPG_KEYSTORE_ERROR_IO,
                    _("The random generator failed to make a key"));
        return NULL;
    }
    file = g_build_filename(state_dir, rel, NULL);
    if (!write_private_file(file, snpg_secret_data(key), SNPG_KEYSTORE_KEY_LEN, error))
        return NULL;
    if (ret_path)
        *ret_path = g_steal_pointer(&rel);
    return g_steal_pointer(&key);
}

/* Opens a key file refusing links, and checks that it is a regular file of
 * this user, with no group or other access unless any_mode (deleting a key
 * that someone made readable must still wipe it). */
static int
open_key(const char *file, int flags, gboolean any_mode, struct stat *st, GError **error)
{
    int fd = open(file, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);

    if (fd < 0) {
        int saved = errno;

        if (saved == ENOENT)
            g_set_error(error, SNPG_KEYSTORE_ERROR, SNPG_KEYSTORE_ERROR_NOT_FOUND,
                        _("The key file '%s' does not exist"), file);
        else if (saved == ELOOP)
            g_set_error(error, SNPG_KEYSTORE_ERROR, SNPG_KEYSTORE_ERROR_INSECURE,
                        _("The key file '%s' is a symbolic link"), file);
        else
            io_error(error, _("Cannot open the key file '%s': %s"), file, g_strerror(saved));
        return -1;
    }
    if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode) || st->st_uid != geteuid() ||
        (!any_mode && (st->st_mode & 077) != 0)) {
        g_set_error(error, SNPG_KEYSTORE_ERROR, SNPG_KEYSTORE_ERROR_INSECURE,
                    _("The key file '%s' must be a regular file of this user with mode 0600"),
                    file);
        close(fd);
        return -1;
    }
    return fd;
}

SnpgSecret *
snpg_keystore_load(const char *state_dir, const char *path, GError **error)
{
    g_autofree char *file = key_file(state_dir, path, error);
    g_autoptr(SnpgSecret) key = NULL;
    struct stat st;
    gsize got = 0;
    int fd;

    if (!file || (fd = open_key(file, O_RDONLY, FALSE, &st, error)) < 0)
        return NULL;
    if (st.st_size != SNPG_KEYSTORE_KEY_LEN) {
        g_set_error(error, SNPG_KEYSTORE_ERROR, SNPG_KEYSTORE_ERROR_INVALID,
                    _("The key file '%s' is not %d bytes long"), file, SNPG_KEYSTORE_KEY_LEN);
        close(fd);
        return NULL;
    }
    /* Straight into the locked buffer: no copies to wipe. */
    key = snpg_secret_new(SNPG_KEYSTORE_KEY_LEN);
    while (got < SNPG_KEYSTORE_KEY_LEN) {
        ssize_t n = read(fd, snpg_secret_data(key) + got, SNPG_KEYSTORE_KEY_LEN - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            io_error(error, _("Cannot read the key file '%s': %s"), file,
                     g_strerror(n < 0 ? errno : EIO));
            close(fd);
            return NULL;
        }
        got += (gsize)n;
    }
    close(fd);
    return g_steal_pointer(&key);
}

gboolean
snpg_keystore_delete(const char *state_dir, const char *path, GError **error)
{
    g_autofree char *file = key_file(state_dir, path, error);
    g_autofree char *dir = NULL;
    g_autoptr(GError) local = NULL;
    guint8 zeros[4096] = { 0 };
    struct stat st;
    off_t left;
    gboolean ok = TRUE;
    int fd;

    if (!file)
        return FALSE;
    fd = open_key(file, O_WRONLY, TRUE, &st, &local);
    if (fd < 0) {
        if (g_error_matches(local, SNPG_KEYSTORE_ERROR, SNPG_KEYSTORE_ERROR_NOT_FOUND))
            return TRUE;
        g_propagate_error(error, g_steal_pointer(&local));
        return FALSE;
    }
    for (left = st.st_size; ok && left > 0; left -= (off_t)MIN((off_t)sizeof(zeros), left))
        ok = snpg_file_write_fd(fd, zeros, (gsize)MIN((off_t)sizeof(zeros), left));
    ok = ok && fsync(fd) == 0;
    if (!ok) {
        int saved = errno;
        close(fd);
        return io_error(error, _("Cannot wipe the key file '%s': %s"), file, g_strerror(saved));
    }
    close(fd);
    if (unlink(file) < 0 && errno != ENOENT)
        return io_error(error, _("Cannot remove the key file '%s': %s"), file, g_strerror(errno));
    dir = g_path_get_dirname(file);
    if (!snpg_file_sync_dir(dir))
        return io_error(error, _("Cannot sync the key directory '%s': %s"), dir, g_strerror(errno));
    return TRUE;
}
