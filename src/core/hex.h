/* Hex for digests, ids and keys on command lines, in files and in output.
 * OpenSSL does the conversion; this module fixes our conventions once:
 * lowercase output, no separators, an optional "0x" prefix on input. */
#pragma once

#include <glib.h>

#define SNPG_HEX_ERROR snpg_hex_error_quark()
GQuark snpg_hex_error_quark(void);
typedef enum {
    SNPG_HEX_ERROR_INVALID,   /* not hex */
    SNPG_HEX_ERROR_LENGTH,    /* the wrong number of bytes */
} SnpgHexError;

/* Lowercase hex of len bytes. */
char *snpg_hex_encode(const guint8 *data, gsize len);

/* Decodes exactly len bytes into out; out is untouched on failure. what
 * names the value in the error ("--measurement", "chip-id"). */
gboolean snpg_hex_decode(const char *what, const char *text, guint8 *out, gsize len,
                         GError **error);

/* Decodes 1 to max_len bytes; with pad_to > 0 the result is zero-padded on
 * the right to pad_to bytes (pad_to >= max_len). */
GBytes *snpg_hex_decode_bytes(const char *what, const char *text, gsize max_len, gsize pad_to,
                              GError **error);
