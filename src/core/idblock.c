/* SEV-SNP ID block and ID auth structure (see idblock.h for the layouts). */
#include "config.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "autocleanups.h"
#include "buf.h"
#include "file.h"
#include "i18n.h"
#include "idblock.h"

G_DEFINE_QUARK(snpg-idblock-error-quark, snpg_idblock_error)

#define COORD_SIZE 72   /* QX, QY, R, S fields; P-384 uses the low 48 bytes */

G_STATIC_ASSERT(SNPG_IDBLOCK_AUTH_OFF_BLOCK_SIG + SNPG_IDBLOCK_SIG_BLOB_SIZE ==
                SNPG_IDBLOCK_AUTH_OFF_ID_KEY);
G_STATIC_ASSERT(SNPG_IDBLOCK_AUTH_OFF_ID_KEY + SNPG_IDBLOCK_KEY_BLOB_SIZE + 60 ==
                SNPG_IDBLOCK_AUTH_OFF_ID_KEY_SIG);
G_STATIC_ASSERT(SNPG_IDBLOCK_AUTH_OFF_ID_KEY_SIG + SNPG_IDBLOCK_SIG_BLOB_SIZE ==
                SNPG_IDBLOCK_AUTH_OFF_AUTHOR_KEY);
G_STATIC_ASSERT(SNPG_IDBLOCK_AUTH_OFF_AUTHOR_KEY + SNPG_IDBLOCK_KEY_BLOB_SIZE + 892 ==
                SNPG_IDBLOCK_AUTH_SIZE);

static gboolean
crypto_fail(GError **error, const char *what)
{
    unsigned long e = ERR_get_error();
    char detail[256] = "";

    if (e)
        ERR_error_string_n(e, detail, sizeof(detail));
    ERR_clear_error();
    g_set_error(error, SNPG_IDBLOCK_ERROR, SNPG_IDBLOCK_ERROR_CRYPTO,
                _("Cannot %s: '%s'."), what, detail);
    return FALSE;
}

void
snpg_idblock_params_init(SnpgIdBlockParams *params)
{
    memset(params, 0, sizeof(*params));
    params->version = 1;
    params->policy = SNPG_IDBLOCK_DEFAULT_POLICY;
}

void
snpg_idblock_encode(const SnpgIdBlockParams *params, guint8 *out)
{
    memset(out, 0, SNPG_IDBLOCK_SIZE);
    memcpy(out + 0x00, params->measurement, 48);
    memcpy(out + 0x30, params->family_id, 16);
    memcpy(out + 0x40, params->image_id, 16);
    snpg_put_u32le(out + 0x50, params->version);
    snpg_put_u32le(out + 0x54, params->guest_svn);
    snpg_put_u64le(out + 0x58, params->policy);
}

static gboolean
is_p384(EVP_PKEY *key)
{
    char group[64] = "";

    return EVP_PKEY_get_base_id(key) == EVP_PKEY_EC &&
           EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                          sizeof(group), NULL) &&
           (g_str_equal(group, "secp384r1") || g_str_equal(group, "P-384"));
}

/* A PEM key is a few hundred bytes; anything larger is the wrong file. */
#define KEY_FILE_MAX (64 * 1024)

EVP_PKEY *
snpg_idblock_load_key(const char *path, gboolean allow_public, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autoptr(GBytes) pem = snpg_file_read_full(path, KEY_FILE_MAX, SNPG_FILE_READ_SECRET, &local);
    g_autoptr(BIO) bio = NULL;
    g_autoptr(EVP_PKEY) key = NULL;
    gsize len = 0;
    const void *data;

    if (!pem) {
        g_set_error(error, SNPG_IDBLOCK_ERROR, SNPG_IDBLOCK_ERROR_IO,
                    _("Cannot open the key file: %s"), local->message);
        return NULL;
    }
    data = g_bytes_get_data(pem, &len);
    if ((bio = BIO_new_mem_buf(data, (int)len)))
        key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    /* Again from the start, in a new BIO (a consumed memory BIO is empty). */
    BIO_free(g_steal_pointer(&bio));
    if (!key && allow_public && (bio = BIO_new_mem_buf(data, (int)len)))
        key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    ERR_clear_error();
    if (!key) {
        g_set_error(error, SNPG_IDBLOCK_ERROR, SNPG_IDBLOCK_ERROR_KEY,
                    allow_public ? _("The file '%s' holds no PEM key.")
                                 : _("The file '%s' holds no PEM private key."), path);
        return NULL;
    }
    if (!is_p384(key)) {
        g_set_error(error, SNPG_IDBLOCK_ERROR, SNPG_IDBLOCK_ERROR_KEY,
                    _("The key in '%s' is not an EC P-384 key."), path);
        return NULL;
    }
    return g_steal_pointer(&key);
}

gboolean
snpg_idblock_keygen(const char *path, GError **error)
{
    g_autoptr(EVP_PKEY) key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    g_autoptr(BIO) bio = BIO_new(BIO_s_secmem());
    g_autoptr(GError) local = NULL;
    char *pem = NULL;
    long pem_len;

    if (!key)
        return crypto_fail(error, "generate an EC P-384 key");
    if (!bio || !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) ||
        (pem_len = BIO_get_mem_data(bio, &pem)) <= 0)
        return crypto_fail(error, "write the key file");
    /* Never replaces a key. */
    if (!snpg_file_write(path, pem, (gsize)pem_len, SNPG_FILE_WRITE_EXCLUSIVE, &local)) {
        g_set_error_literal(error, SNPG_IDBLOCK_ERROR, SNPG_IDBLOCK_ERROR_IO, local->message);
        return FALSE;
    }
    return TRUE;
}

gboolean
snpg_idblock_key_blob(EVP_PKEY *key, guint8 *out, GError **error)
{
    g_autoptr(BIGNUM) x = NULL;
    g_autoptr(BIGNUM) y = NULL;

    if (!is_p384(key)) {
        g_set_error(error, SNPG_IDBLOCK_ERROR, SNPG_IDBLOCK_ERROR_KEY,
                    _("ID block keys must be EC P-384 keys."));
        return FALSE;
    }
    if (!EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &x) ||
        !EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &y))
        return crypto_fail(error, "read the public key");
    memset(out, 0, SNPG_IDBLOCK_KEY_BLOB_SIZE);
    snpg_put_u32le(out, SNPG_IDBLOCK_CURVE_P384);
    if (BN_bn2lebinpad(x, out + 4, COORD_SIZE) != COORD_SIZE ||
        BN_bn2lebinpad(y, out + 4 + COORD_SIZE, COORD_SIZE) != COORD_SIZE)
        return crypto_fail(error, "encode the public key");
    return TRUE;
}

gboolean
snpg_idblock_key_digest(EVP_PKEY *key, guint8 out[SNPG_IDBLOCK_DIGEST_SIZE], GError **error)
{
    guint8 blob[SNPG_IDBLOCK_KEY_BLOB_SIZE];
    unsigned int len = 0;

    if (!snpg_idblock_key_blob(key, blob, error))
        return FALSE;
    if (!EVP_Digest(blob, sizeof(blob), out, &len, EVP_sha384(), NULL) ||
        len != SNPG_IDBLOCK_DIGEST_SIZE)
        return crypto_fail(error, "hash the public key");
    return TRUE;
}

gboolean
snpg_idblock_sign(EVP_PKEY *key, const guint8 *data, gsize len, guint8 *out, GError **error)
{
    g_autoptr(EVP_MD_CTX) md = EVP_MD_CTX_new();
    g_autoptr(ECDSA_SIG) sig = NULL;
    unsigned char der[160];
    const unsigned char *p = der;
    size_t der_len = sizeof(der);
    const BIGNUM *r = NULL, *s = NULL;

    if (!is_p384(key)) {
        g_set_error(error, SNPG_IDBLOCK_ERROR, SNPG_IDBLOCK_ERROR_KEY,
                    _("ID block keys must be EC P-384 keys."));
        return FALSE;
    }
    if (!md || EVP_DigestSignInit(md, NULL, EVP_sha384(), NULL, key) <= 0 ||
        EVP_DigestSign(md, der, &der_len, data, len) <= 0 ||
        !(sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len)))
        return crypto_fail(error, "sign with the key");
    ECDSA_SIG_get0(sig, &r, &s);
    memset(out, 0, SNPG_IDBLOCK_SIG_BLOB_SIZE);
    if (BN_bn2lebinpad(r, out, COORD_SIZE) != COORD_SIZE ||
        BN_bn2lebinpad(s, out + COORD_SIZE, COORD_SIZE) != COORD_SIZE)
        return crypto_fail(error, "encode a signature");
    return TRUE;
}

gboolean
snpg_idblock_verify(EVP_PKEY *key, const guint8 *data, gsize len, const guint8 *sig,
                    GError **error)
{
    g_autoptr(ECDSA_SIG) es = ECDSA_SIG_new();
    g_autoptr(EVP_MD_CTX) md = EVP_MD_CTX_new();
    BIGNUM *r = BN_lebin2bn(sig, COORD_SIZE, NULL);
    BIGNUM *s = BN_lebin2bn(sig + COORD_SIZE, COORD_SIZE, NULL);
    unsigned char *der = NULL;
    int der_len, rc;

    if (!es || !md || !r || !s || !ECDSA_SIG_set0(es, r, s)) {
        BN_free(r);
        BN_free(s);
        return crypto_fail(error, "decode a signature");
    }
    der_len = i2d_ECDSA_SIG(es, &der);
    if (der_len <= 0)
        return crypto_fail(error, "decode a signature");
    rc = EVP_DigestVerifyInit(md, NULL, EVP_sha384(), NULL, key) > 0
             ? EVP_DigestVerify(md, der, (size_t)der_len, data, len)
             : -1;
    OPENSSL_free(der);
    ERR_clear_error();
    if (rc != 1) {
        g_set_error(error, SNPG_IDBLOCK_ERROR, SNPG_IDBLOCK_ERROR_SIGNATURE,
                    _("The ID block signature does not verify."));
        return FALSE;
    }
    return TRUE;
}

gboolean
snpg_idblock_create(const SnpgIdBlockParams *params, EVP_PKEY *id_key, EVP_PKEY *author_key,
                    guint8 *ret_block, guint8 *ret_auth, GError **error)
{
    guint8 block[SNPG_IDBLOCK_SIZE];
    g_autofree guint8 *auth = g_malloc0(SNPG_IDBLOCK_AUTH_SIZE);

    snpg_idblock_encode(params, block);
    snpg_put_u32le(auth + SNPG_IDBLOCK_AUTH_OFF_ID_KEY_ALGO, SNPG_IDBLOCK_ALGO_ECDSA_P384_SHA384);
    snpg_put_u32le(auth + SNPG_IDBLOCK_AUTH_OFF_AUTH_KEY_ALGO, SNPG_IDBLOCK_ALGO_ECDSA_P384_SHA384);
    if (!snpg_idblock_sign(id_key, block, sizeof(block), auth + SNPG_IDBLOCK_AUTH_OFF_BLOCK_SIG,
                           error) ||
        !snpg_idblock_key_blob(id_key, auth + SNPG_IDBLOCK_AUTH_OFF_ID_KEY, error))
        return FALSE;
    if (author_key &&
        (!snpg_idblock_sign(author_key, auth + SNPG_IDBLOCK_AUTH_OFF_ID_KEY,
                            SNPG_IDBLOCK_KEY_BLOB_SIZE, auth + SNPG_IDBLOCK_AUTH_OFF_ID_KEY_SIG,
                            error) ||
         !snpg_idblock_key_blob(author_key, auth + SNPG_IDBLOCK_AUTH_OFF_AUTHOR_KEY, error)))
        return FALSE;
    memcpy(ret_block, block, sizeof(block));
    memcpy(ret_auth, auth, SNPG_IDBLOCK_AUTH_SIZE);
    return TRUE;
}
