/* The key store: one random disk key per VM, in STATE/keys/<uuid>.key
 * (mode 0600, in a 0700 directory). The registry records only the path
 * relative to the state directory; key bytes never reach the database, a
 * log, or an error message. Keys are handled in SnpgSecret (locked,
 * wiped on free). */
#pragma once

#include <glib.h>

#include "secret.h"

#define SNPG_KEYSTORE_DIR "keys"
/* A disk key: 64 bytes, as LUKS2 takes for aes-xts-plain64 with 256-bit keys. */
#define SNPG_KEYSTORE_KEY_LEN 64

#define SNPG_KEYSTORE_ERROR (snpg_keystore_error_quark())
GQuark snpg_keystore_error_quark(void);

typedef enum {
    SNPG_KEYSTORE_ERROR_INVALID,    /* not a key path of this store, not a UUID */
    SNPG_KEYSTORE_ERROR_EXISTS,     /* a key for that VM already exists */
    SNPG_KEYSTORE_ERROR_NOT_FOUND,  /* no such key file */
    SNPG_KEYSTORE_ERROR_INSECURE,   /* not a regular 0600 file of ours */
    SNPG_KEYSTORE_ERROR_IO,
} SnpgKeystoreError;

/* "keys/<uuid>.key" (the UUID in lowercase), or NULL when uuid is not an
 * RFC 4122 UUID. */
char *snpg_keystore_path_for(const char *uuid);

/* Creates a new random key for the VM uuid: the state directory and keys/
 * are created (0700) when missing; the file is written to a temporary
 * name, synced, linked into place (never replacing an existing key) and the
 * directory synced. Returns the key; ret_path (may be NULL) receives the
 * path relative to state_dir for the registry. */
SnpgSecret *snpg_keystore_create(const char *state_dir, const char *uuid, char **ret_path,
                                 GError **error);

/* Loads a key by its path relative to state_dir (as the registry holds it).
 * The file must be a regular file (no symbolic link) owned by this user,
 * with no group or other access, of exactly SNPG_KEYSTORE_KEY_LEN bytes. */
SnpgSecret *snpg_keystore_load(const char *state_dir, const char *path, GError **error);

/* Overwrites the key file with zeros, syncs, and unlinks it (undefine).
 * The overwrite is best effort: journaling and copy-on-write file systems
 * and SSDs may keep old blocks. A missing file is not an error. */
gboolean snpg_keystore_delete(const char *state_dir, const char *path, GError **error);
