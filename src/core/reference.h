/* Reference values file: the owner's expectations for a VM's attestation,
 * the same values as SnpgVerifyOptions, in a GKeyFile group
 * [snpguard-reference]. Format: docs/reference-values.md. */
#pragma once

#include <glib.h>

#include "verify.h"

#define SNPG_REFERENCE_GROUP "snpguard-reference"

#define SNPG_REFERENCE_ERROR (snpg_reference_error_quark())
GQuark snpg_reference_error_quark(void);

typedef enum {
    SNPG_REFERENCE_ERROR_IO,        /* the file cannot be read */
    SNPG_REFERENCE_ERROR_SYNTAX,    /* not a key file, no group */
    SNPG_REFERENCE_ERROR_KEY,       /* an unknown key */
    SNPG_REFERENCE_ERROR_VALUE,     /* a malformed value */
} SnpgReferenceError;

/* One value of a reference key, as written in a file or given as the
 * option of the same name (--min-tcb is "min-tcb"): parsed by the one parser
 * for that key and merged into opts (set values replace, measurement and
 * chip-id lists append, min-tcb merges per component). An empty value is an
 * error, never "no check". SNPG_REFERENCE_ERROR_KEY for an unknown key,
 * _VALUE for a malformed value; both name the key. */
gboolean snpg_reference_set_value(SnpgVerifyOptions *opts, const char *key, const char *value,
                                  GError **error);
/* The same, for the option --KEY: errors name "--KEY". */
gboolean snpg_reference_set_option(SnpgVerifyOptions *opts, const char *key, const char *value,
                                   GError **error);
/* TRUE when key is a reference key. */
gboolean snpg_reference_is_key(const char *key);

/* Parses reference values and merges them into opts (set values replace,
 * measurement and chip-id lists append). opts is unchanged on failure.
 * Unknown, localized (key[lang]) and repeated keys are refused. */
gboolean snpg_reference_load_data(const char *data, gsize len, SnpgVerifyOptions *opts,
                                  GError **error);
gboolean snpg_reference_load_file(const char *path, SnpgVerifyOptions *opts, GError **error);

/* Writes opts as a reference-values file (for `define` to record). */
char *snpg_reference_to_data(const SnpgVerifyOptions *opts, gsize *ret_len);
