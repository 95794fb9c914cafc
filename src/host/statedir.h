/* The state directory: where the registry (registry.db) and the key store
 * (keys/) live. Chosen by --state-dir, else $SNPGUARD_STATE_DIR, else
 * /var/lib/snpguard. It holds disk keys, so it is private: mode 0700,
 * owned by the user running snpguard. An existing directory that is not is
 * refused (never silently repaired): someone else may have read or planted
 * files in it, and the message says how to fix it. */
#pragma once

#include <glib.h>

#define SNPG_STATE_DIR_DEFAULT "/var/lib/snpguard"
#define SNPG_STATE_DIR_ENV "SNPGUARD_STATE_DIR"

#define SNPG_STATE_DIR_ERROR (snpg_state_dir_error_quark())
GQuark snpg_state_dir_error_quark(void);

typedef enum {
    SNPG_STATE_DIR_ERROR_NOT_FOUND, /* it does not exist (and was not to be created) */
    SNPG_STATE_DIR_ERROR_INSECURE,  /* not a directory, wrong owner, or group/other access */
    SNPG_STATE_DIR_ERROR_IO,        /* cannot be created or examined */
} SnpgStateDirError;

/* The state directory to use, as an absolute path: option (the --state-dir
 * value, may be NULL), else $SNPGUARD_STATE_DIR when set and not empty, else
 * SNPG_STATE_DIR_DEFAULT. A relative path is taken from the current directory. */
char *snpg_state_dir_resolve(const char *option);

/* Checks that dir is a private directory: a directory (not a symbolic link)
 * owned by the effective user, with no group or other permission bits.
 * With create, a missing dir is created with mode 0700 (its missing parents
 * too); without it, a missing dir fails with SNPG_STATE_DIR_ERROR_NOT_FOUND. */
gboolean snpg_state_dir_ensure(const char *dir, gboolean create, GError **error);

/* The same check for the directory path dir/sub (e.g. "keys"). */
gboolean snpg_state_dir_ensure_sub(const char *dir, const char *sub, gboolean create,
                                   GError **error);
