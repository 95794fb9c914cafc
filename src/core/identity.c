#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "autocleanups.h"
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
    int fd;

    if (!key || !mem || !PEM_write_bio_PrivateKey(mem, key, NULL, NULL, 0, NULL, NULL) ||
        (pem_len = BIO_get_mem_data(mem, &pem)) <= 0) {
        ERR_clear_error();
        g_set_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_CRYPTO,
                    _("Cannot create an Ed25519 key"));
        return FALSE;
    }
    /* Written next to its destination and renamed into place: with --force
     * the old key survives any failure; without it an existing key is kept. */
    if (!force && g_file_test(path, G_FILE_TEST_EXISTS)) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_EXIST,
                    _("'%s' already exists (use --force to replace it)"), path);
        return FALSE;
    }
    {
        g_autofree char *tmp = g_strdup_printf("%s.XXXXXX", path);
        fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, 0600);
        if (fd < 0) {
            int saved = errno;
            g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved),
                        _("Cannot create '%s': %s"), path, g_strerror(saved));
            return FALSE;
        }
        ok = write(fd, pem, (size_t)pem_len) == pem_len;
        ok = fsync(fd) == 0 && ok;
        ok = close(fd) == 0 && ok;
        OPENSSL_cleanse(pem, (size_t)pem_len);
        /* link() refuses an existing name: the exclusive case stays exclusive. */
        if (ok)
            ok = force ? rename(tmp, path) == 0 : link(tmp, path) == 0;
        if (!ok || !force) {
            int saved = errno;
            unlink(tmp);
            if (!ok) {
                g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved),
                            _("Cannot write '%s': %s"), path, g_strerror(saved));
                return FALSE;
            }
        }
    }
    return snpg_proto_identity_pin(key, ret_pin, error);
}

EVP_PKEY *
snpg_identity_load(const char *path, GError **error)
{
    g_autoptr(BIO) bio = BIO_new_file(path, "r");
    g_autoptr(EVP_PKEY) key = NULL;

    if (!bio) {
        int saved = errno;
        ERR_clear_error();
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved),
                    _("Cannot read the verifier key '%s': %s"), path, g_strerror(saved));
        return NULL;
    }
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
