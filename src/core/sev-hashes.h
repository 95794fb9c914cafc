/* The SEV hashes table: SHA-256 of kernel, initrd and command line in the
 * layout QEMU writes into guest memory (PaddedSevHashTable), so the launch
 * measurement covers what direct kernel boot loads. */
#pragma once

#include <glib.h>

#define SNPG_SEV_HASHES_ERROR (snpg_sev_hashes_error_quark())
GQuark snpg_sev_hashes_error_quark(void);

typedef enum {
    SNPG_SEV_HASHES_ERROR_IO,       /* a file could not be opened or read */
    SNPG_SEV_HASHES_ERROR_INPUT,    /* the command line is not UTF-8 */
    SNPG_SEV_HASHES_ERROR_FAILED,   /* libcrypto failed */
} SnpgSevHashesError;

#define SNPG_SEV_HASHES_DIGEST_SIZE 32
/* 168 bytes of table rounded up to 16, as QEMU pads it. */
#define SNPG_SEV_HASHES_TABLE_SIZE 176

typedef struct {
    guint8 cmdline[SNPG_SEV_HASHES_DIGEST_SIZE];
    guint8 initrd[SNPG_SEV_HASHES_DIGEST_SIZE];
    guint8 kernel[SNPG_SEV_HASHES_DIGEST_SIZE];
} SnpgSevHashes;

/* SHA-256 of a file, read in fixed chunks (memory does not grow with the
 * file). what names the file in the error ("kernel", "initrd"). */
gboolean snpg_sev_hashes_file(const char *path, const char *what,
                              guint8 ret_digest[SNPG_SEV_HASHES_DIGEST_SIZE], GError **error);

/* SHA-256 of the command line plus its NUL, as QEMU hashes it (NULL and ""
 * both hash the lone NUL). Fails on invalid UTF-8. */
gboolean snpg_sev_hashes_cmdline(const char *append,
                                 guint8 ret_digest[SNPG_SEV_HASHES_DIGEST_SIZE], GError **error);

/* The 176-byte padded table. */
void snpg_sev_hashes_table(const SnpgSevHashes *hashes, guint8 ret_table[SNPG_SEV_HASHES_TABLE_SIZE]);

/* Hashes kernel and initrd in background threads, so that the caller can
 * hash the firmware meanwhile. initrd NULL hashes as an empty file.
 * The command line is hashed (and checked) at once; NULL on invalid UTF-8.
 * snpg_sev_hashes_finish() waits, frees the job and returns the hashes. */
typedef struct SnpgSevHashesJob SnpgSevHashesJob;
SnpgSevHashesJob *snpg_sev_hashes_start(const char *kernel, const char *initrd, const char *append,
                                        GError **error);
gboolean snpg_sev_hashes_finish(SnpgSevHashesJob *job, SnpgSevHashes *ret_hashes, GError **error);
