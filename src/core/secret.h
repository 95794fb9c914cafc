/* SnpgSecret: a byte buffer for key material.
 *
 * Each secret has pages of its own between two guard pages, locked into
 * memory where RLIMIT_MEMLOCK allows (best effort, as cryptsetup does),
 * excluded from core dumps (MADV_DONTDUMP), wiped with OPENSSL_cleanse when
 * freed, never printed. Freeing one secret never unlocks another. Use it for
 * disk keys, ECDH shared secrets and derived keys. */
#pragma once

#include <glib.h>

typedef struct _SnpgSecret SnpgSecret;

/* A zero-filled secret of len bytes (len > 0, at most SNPG_SECRET_MAX). */
SnpgSecret *snpg_secret_new(gsize len);
/* A copy of data; the caller still wipes its own copy. */
SnpgSecret *snpg_secret_new_from_data(const void *data, gsize len);
/* Reads a whole file of 1..SNPG_SECRET_MAX bytes without leaving copies
 * outside the secret. */
SnpgSecret *snpg_secret_new_from_file(const char *path, GError **error);

guint8 *snpg_secret_data(SnpgSecret *secret);
gsize snpg_secret_len(const SnpgSecret *secret);
gboolean snpg_secret_is_locked(const SnpgSecret *secret);
/* Constant-time comparison. */
gboolean snpg_secret_equal(const SnpgSecret *a, const SnpgSecret *b);
void snpg_secret_free(SnpgSecret *secret);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SnpgSecret, snpg_secret_free)

/* Largest secret accepted: far above any disk key, small enough that a
 * hostile length cannot drive a large allocation. */
#define SNPG_SECRET_MAX 4096

/* Wipes a stack array (sizeof must give its size):
 *   guint8 key[32]; ...; SNPG_WIPE(key); */
void snpg_wipe_array_(void *ptr, gsize len);
#define SNPG_WIPE(arr) snpg_wipe_array_((arr), sizeof(arr))

#define SNPG_SECRET_ERROR snpg_secret_error_quark()
GQuark snpg_secret_error_quark(void);
typedef enum {
    SNPG_SECRET_ERROR_IO,
    SNPG_SECRET_ERROR_SIZE,
} SnpgSecretError;
