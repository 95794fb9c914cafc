#include "config.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "autocleanups.h"
#include "file.h"
#include "hex.h"
#include "i18n.h"
#include "identity.h"

gboolean
snpg_identity_create(const char *path, gboolean force, guint8 ret_pin[SNPG_PROTO_PIN_LEN],
                     GError **error)
{
    g_autoptr(EVP_PKEY) key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    g_autoptr(BIO) mem = BIO_new(BIO_s_mem());
    char *pem = NULL;
    long pem_len;
    gboolean ok;

    if (!key || !mem || !PEM_write_bio_PrivateKey(mem, key, NULL, NULL, 0, NULL, NULL) ||
        (pem_len = BIO_get_mem_data(mem, &pem)) <= 0) {
        ERR_clear_error();
        g_set_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_CRYPTO,
                    _("Cannot create an Ed25519 key"));
        return FALSE;
    }
    /* Atomic: with --force the old key survives any failure; without it an
     * existing key is kept (G_FILE_ERROR_EXIST). */
    ok = snpg_file_write(path, pem, (gsize)pem_len,
                         force ? SNPG_FILE_WRITE_REPLACE : SNPG_FILE_WRITE_EXCLUSIVE, error);
    OPENSSL_cleanse(pem, (gsize)pem_len);
    if (!ok)
        return FALSE;
    return snpg_proto_identity_pin(key, ret_pin, error);
}

EVP_PKEY *
snpg_identity_load(const char *path, GError **error)
{
    /* A PEM Ed25519 key is 119 bytes; anything much larger is the wrong file. */
    g_autoptr(GBytes) pem = snpg_file_read_full(path, 64 * 1024, SNPG_FILE_READ_SECRET, error);
    g_autoptr(BIO) bio = NULL;
    g_autoptr(EVP_PKEY) key = NULL;

    if (!pem) {
        g_prefix_error(error, _("The verifier key: "));
        return NULL;
    }
    if ((bio = BIO_new_mem_buf(g_bytes_get_data(pem, NULL), (int)g_bytes_get_size(pem))))
        key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_ED25519) {
        ERR_clear_error();
        g_set_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_CRYPTO,
                    _("'%s' is not an Ed25519 private key (make one with 'snpguard verifier-key create')"),
                    path);
        return NULL;
    }
    return g_steal_pointer(&key);
}

gboolean
snpg_identity_pin_from_cmdline(const char *cmdline, guint8 ret_pin[SNPG_PROTO_PIN_LEN],
                               GError **error)
{
    g_auto(GStrv) words = g_strsplit_set(cmdline, " \t\n", -1);
    const char *prefix = SNPG_IDENTITY_CMDLINE_PARAM "=";
    guint8 pin[SNPG_PROTO_PIN_LEN];
    gboolean found = FALSE;

    for (gsize i = 0; words[i]; i++) {
        guint8 this_pin[SNPG_PROTO_PIN_LEN];

        if (!g_str_has_prefix(words[i], prefix))
            continue;
        if (!snpg_hex_decode(SNPG_IDENTITY_CMDLINE_PARAM, words[i] + strlen(prefix), this_pin,
                             sizeof(this_pin), error))
            return FALSE;
        /* Two different pins: refuse rather than guess which one counts. */
        if (found && memcmp(pin, this_pin, sizeof(pin)) != 0) {
            g_set_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_MALFORMED,
                        _("The kernel command line names two different verifiers"));
            return FALSE;
        }
        memcpy(pin, this_pin, sizeof(pin));
        found = TRUE;
    }
    if (found)
        memcpy(ret_pin, pin, sizeof(pin));
    return found;
}
