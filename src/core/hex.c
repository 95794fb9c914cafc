#include "config.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "hex.h"
#include "i18n.h"

G_DEFINE_QUARK(snpg-hex-error-quark, snpg_hex_error)

char *
snpg_hex_encode(const guint8 *data, gsize len)
{
    char *out = g_malloc(len * 2 + 1);
    size_t written = 0;

    if (len == 0 || !OPENSSL_buf2hexstr_ex(out, len * 2 + 1, &written, data, (long)len, '\0')) {
        out[0] = '\0';
        return out;
    }
    /* OpenSSL writes uppercase; tools in this field print lowercase. */
    for (char *p = out; *p; p++)
        *p = g_ascii_tolower(*p);
    return out;
}

/* Returns the decoded bytes (caller frees) and their count, or NULL. */
static guint8 *
decode(const char *what, const char *text, gsize max_len, gsize *ret_len, GError **error)
{
    g_autofree guint8 *buf = NULL;
    size_t got = 0;
    gsize digits;

    if (g_str_has_prefix(text, "0x") || g_str_has_prefix(text, "0X"))
        text += 2;
    digits = strlen(text);
    if (digits == 0 || digits % 2 != 0) {
        g_set_error(error, SNPG_HEX_ERROR, SNPG_HEX_ERROR_INVALID,
                    _("%s must be an even number of hex digits"), what);
        return NULL;
    }
    if (digits / 2 > max_len) {
        g_set_error(error, SNPG_HEX_ERROR, SNPG_HEX_ERROR_LENGTH,
                    _("%s is %zu bytes long; at most %zu are allowed"), what, digits / 2, max_len);
        return NULL;
    }
    buf = g_malloc(digits / 2);
    if (!OPENSSL_hexstr2buf_ex(buf, digits / 2, &got, text, '\0') || got != digits / 2) {
        ERR_clear_error();
        g_set_error(error, SNPG_HEX_ERROR, SNPG_HEX_ERROR_INVALID,
                    _("%s is not valid hex"), what);
        return NULL;
    }
    *ret_len = got;
    return g_steal_pointer(&buf);
}

gboolean
snpg_hex_decode(const char *what, const char *text, guint8 *out, gsize len, GError **error)
{
    g_autofree guint8 *buf = NULL;
    gsize got = 0;

    if (!(buf = decode(what, text, len, &got, error)))
        return FALSE;
    if (got != len) {
        g_set_error(error, SNPG_HEX_ERROR, SNPG_HEX_ERROR_LENGTH,
                    _("%s must be %zu bytes (%zu hex digits), not %zu"), what, len, len * 2, got);
        return FALSE;
    }
    memcpy(out, buf, len);
    return TRUE;
}

GBytes *
snpg_hex_decode_bytes(const char *what, const char *text, gsize max_len, gsize pad_to,
                      GError **error)
{
    g_autofree guint8 *buf = NULL;
    guint8 *padded;
    gsize got = 0;

    g_return_val_if_fail(pad_to == 0 || pad_to >= max_len, NULL);
    if (!(buf = decode(what, text, max_len, &got, error)))
        return NULL;
    if (pad_to == 0)
        return g_bytes_new_take(g_steal_pointer(&buf), got);
    padded = g_malloc0(pad_to);
    memcpy(padded, buf, got);
    return g_bytes_new_take(padded, pad_to);
}
