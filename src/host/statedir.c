#include "config.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "i18n.h"
#include "statedir.h"

G_DEFINE_QUARK(snpg-state-dir-error-quark, snpg_state_dir_error)

char *
snpg_state_dir_resolve(const char *option)
{
    const char *dir = option;

    if (!dir || !*dir)
        dir = g_getenv(SNPG_STATE_DIR_ENV);
    if (!dir || !*dir)
        dir = SNPG_STATE_DIR_DEFAULT;
    /* Absolute, so that a hook and a CLI started elsewhere agree on it. */
    return g_canonicalize_filename(dir, NULL);
}

gboolean
snpg_state_dir_ensure(const char *dir, gboolean create, GError **error)
{
    struct stat st;

    g_return_val_if_fail(dir != NULL, FALSE);

    /* stat() follows a symbolic link: the owner and mode checks below apply
     * to the directory that is really used. */
    if (stat(dir, &st) < 0) {
        int saved = errno;

        if (saved != ENOENT) {
            g_set_error(error, SNPG_STATE_DIR_ERROR, SNPG_STATE_DIR_ERROR_IO,
                        _("Cannot examine the state directory '%s': %s"), dir,
                        g_strerror(saved));
            return FALSE;
        }
        if (!create) {
            g_set_error(error, SNPG_STATE_DIR_ERROR, SNPG_STATE_DIR_ERROR_NOT_FOUND,
                        _("The state directory '%s' does not exist"), dir);
            return FALSE;
        }
        if (g_mkdir_with_parents(dir, 0700) < 0 || stat(dir, &st) < 0) {
            saved = errno;
            g_set_error(error, SNPG_STATE_DIR_ERROR, SNPG_STATE_DIR_ERROR_IO,
                        _("Cannot create the state directory '%s': %s"), dir,
                        g_strerror(saved));
            return FALSE;
        }
        /* Whatever the umask did, a directory we created is exactly 0700.
         * (Another process may have created it at the same moment: then the
         * checks below judge its directory.) */
        if (S_ISDIR(st.st_mode) && st.st_uid == geteuid() && (st.st_mode & 07777) != 0700 &&
            (st.st_mode & 077) == 0 && chmod(dir, 0700) == 0)
            st.st_mode = (st.st_mode & ~07777u) | 0700;
    }
    if (!S_ISDIR(st.st_mode)) {
        g_set_error(error, SNPG_STATE_DIR_ERROR, SNPG_STATE_DIR_ERROR_INSECURE,
                    _("The state directory '%s' is not a directory"), dir);
        return FALSE;
    }
    if (st.st_uid != geteuid()) {
        g_set_error(error, SNPG_STATE_DIR_ERROR, SNPG_STATE_DIR_ERROR_INSECURE,
                    _("The state directory '%s' belongs to user %u, not to the user running "
                      "snpguard (%u): refusing to keep keys there"),
                    dir, (unsigned)st.st_uid, (unsigned)geteuid());
        return FALSE;
    }
    if (st.st_mode & 077) {
        g_set_error(error, SNPG_STATE_DIR_ERROR, SNPG_STATE_DIR_ERROR_INSECURE,
                    _("The state directory '%s' has mode %04o: other users could read keys "
                      "there (run 'chmod 0700 %s')"),
                    dir, (unsigned)(st.st_mode & 07777), dir);
        return FALSE;
    }
    if ((st.st_mode & 0700) != 0700) {
        g_set_error(error, SNPG_STATE_DIR_ERROR, SNPG_STATE_DIR_ERROR_INSECURE,
                    _("The state directory '%s' has mode %04o: snpguard needs 0700 "
                      "(run 'chmod 0700 %s')"),
                    dir, (unsigned)(st.st_mode & 07777), dir);
        return FALSE;
    }
    return TRUE;
}

gboolean
snpg_state_dir_ensure_sub(const char *dir, const char *sub, gboolean create, GError **error)
{
    g_autofree char *path = g_build_filename(dir, sub, NULL);

    return snpg_state_dir_ensure(path, create, error);
}
