/* Shared helpers for the unit tests. */
#pragma once

#include <glib.h>

typedef struct {
    int exit_code;      /* -1 when killed by a signal */
    char *out;
    char *err;
} SnpgRun;

void snpg_run_clear(SnpgRun *run);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SnpgRun, snpg_run_clear)

/* Runs the built snpguard ($SNPGUARD) with a NULL-terminated argument list,
 * in directory cwd (NULL: current), capturing output and exit code. */
void snpg_run(SnpgRun *run, const char *cwd, const char *arg, ...) G_GNUC_NULL_TERMINATED;
void snpg_runv(SnpgRun *run, const char *cwd, const char *const *args);

/* Path of a file under tests/data (G_TEST_SRCDIR). */
char *snpg_test_data(const char *first, ...) G_GNUC_NULL_TERMINATED;

/* Path under ../shared, or NULL (and the test is skipped with the reason)
 * when a user's clone has no ../shared. */
char *snpg_test_shared(const char *first, ...) G_GNUC_NULL_TERMINATED;

/* A fresh temporary directory, removed with its files at exit. */
char *snpg_test_tmpdir(void);

/* Writes bytes to a new file in dir; returns its path. */
char *snpg_test_write(const char *dir, const char *name, const void *data, gsize len);

/* Hex of bytes (lowercase), and back; from_hex aborts the test on bad input. */
char *snpg_test_hex(const guint8 *data, gsize len);
GBytes *snpg_test_unhex(const char *hex);

/* Forges a LUKS2 header as a host could: rewrites a JSON string in both
 * metadata copies of device (the first occurrence of from after marker, to
 * of the same length) and recomputes each copy's checksum (SHA-256 over the
 * binary header with its checksum field zeroed, and the JSON area).
 * metadata_size is the header's (16 KiB unless formatted otherwise). */
gboolean snpg_test_luks2_edit_json(const char *device, gsize metadata_size, const char *marker,
                                   const char *from, const char *to, GError **error);
