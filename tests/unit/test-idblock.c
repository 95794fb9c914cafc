/* ID blocks: bit-identical to sev-snp-measure's snp-create-id-block where it
 * is deterministic; signatures verified cryptographically where it is not.
 * Expected values: tests/data/idblock/reference-output.txt (the command that
 * made it is in tests/data/idblock/README). */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "autocleanups.h"
#include "idblock.h"
#include "testutil.h"

#define REF_MEASUREMENT "B28FLQi9p6cAqipgjFyqawDrrSl7bWioWkWx5mmlWLZ+G5HShKMB/mPE+gdQRn7t"
/* sev-snp-measure tests/test_id_block.py, and reference-output.txt */
#define REF_ID_BLOCK "B28FLQi9p6cAqipgjFyqawDrrSl7bWioWkWx5mmlWLZ+G5HShKMB/mPE+gdQRn7t" \
                     "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABAAAAAAAAAAAAAwAAAAAA"
#define REF_ID_KEY_HASH "hwt+NcU/inLQ0yL3WrKvgmJ5Kq9leWIs5BMcPyHyied8sFYKXjuQs5MuZ07HCcsU"
#define REF_AUTHOR_KEY_HASH "YxEcNLv8Ckk4+aAJvQdJgNgXIyPmFZnJ/TNtqGcySOHcqY0L6PdjdqEGuK/UwKBX"

static EVP_PKEY *
load_test_key(const char *name)
{
    g_autofree char *path = snpg_test_data("idblock", name, NULL);
    g_autoptr(GError) error = NULL;
    EVP_PKEY *key = snpg_idblock_load_key(path, FALSE, &error);

    g_assert_no_error(error);
    g_assert_nonnull(key);
    return key;
}

/* The reference's id-auth, decoded from reference-output.txt. */
static guint8 *
reference_auth(void)
{
    g_autofree char *path = snpg_test_data("idblock", "reference-output.txt", NULL);
    g_autofree char *text = NULL;
    const char *p, *end;
    g_autofree char *b64 = NULL;
    gsize len = 0;
    guint8 *auth;

    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    p = strstr(text, "id-auth=");
    g_assert_nonnull(p);
    p += strlen("id-auth=");
    end = strchr(p, '\n');
    g_assert_nonnull(end);
    b64 = g_strndup(p, (gsize)(end - p));
    auth = g_base64_decode(b64, &len);
    g_assert_cmpuint(len, ==, SNPG_IDBLOCK_AUTH_SIZE);
    return auth;
}

static void
test_reference(void)
{
    g_autoptr(EVP_PKEY) id_key = load_test_key("id_key_test.pem");
    g_autoptr(EVP_PKEY) author_key = load_test_key("author_key_test.pem");
    g_autoptr(GError) error = NULL;
    g_autofree guint8 *ld = NULL;
    g_autofree guint8 *ref_auth = reference_auth();
    g_autofree char *block_b64 = NULL, *id_b64 = NULL, *author_b64 = NULL;
    guint8 block[SNPG_IDBLOCK_SIZE];
    guint8 auth[SNPG_IDBLOCK_AUTH_SIZE];
    guint8 id_digest[48], author_digest[48];
    SnpgIdBlockParams params;
    gsize len = 0;
    static const struct {
        gsize off, len;
    } sigs[] = {
        { SNPG_IDBLOCK_AUTH_OFF_BLOCK_SIG, SNPG_IDBLOCK_SIG_BLOB_SIZE },
        { SNPG_IDBLOCK_AUTH_OFF_ID_KEY_SIG, SNPG_IDBLOCK_SIG_BLOB_SIZE },
    };

    snpg_idblock_params_init(&params);
    ld = g_base64_decode(REF_MEASUREMENT, &len);
    g_assert_cmpuint(len, ==, 48);
    memcpy(params.measurement, ld, 48);
    g_assert_true(snpg_idblock_create(&params, id_key, author_key, block, auth, &error));
    g_assert_no_error(error);

    block_b64 = g_base64_encode(block, sizeof(block));
    g_assert_cmpstr(block_b64, ==, REF_ID_BLOCK);
    g_assert_true(snpg_idblock_key_digest(id_key, id_digest, &error));
    g_assert_true(snpg_idblock_key_digest(author_key, author_digest, &error));
    id_b64 = g_base64_encode(id_digest, 48);
    author_b64 = g_base64_encode(author_digest, 48);
    g_assert_cmpstr(id_b64, ==, REF_ID_KEY_HASH);
    g_assert_cmpstr(author_b64, ==, REF_AUTHOR_KEY_HASH);

    /* Everything but the two (randomized) signatures equals the reference. */
    {
        guint8 a[SNPG_IDBLOCK_AUTH_SIZE], b[SNPG_IDBLOCK_AUTH_SIZE];
        memcpy(a, auth, sizeof(a));
        memcpy(b, ref_auth, sizeof(b));
        for (gsize i = 0; i < G_N_ELEMENTS(sigs); i++) {
            memset(a + sigs[i].off, 0, sigs[i].len);
            memset(b + sigs[i].off, 0, sigs[i].len);
        }
        g_assert_cmpmem(a, sizeof(a), b, sizeof(b));
    }
    g_assert_cmpuint(auth[0], ==, 1);
    g_assert_cmpuint(auth[4], ==, 1);

    /* Our signatures verify, and so do the reference's over our bytes. */
    g_assert_true(snpg_idblock_verify(id_key, block, sizeof(block),
                                      auth + SNPG_IDBLOCK_AUTH_OFF_BLOCK_SIG, &error));
    g_assert_true(snpg_idblock_verify(author_key, auth + SNPG_IDBLOCK_AUTH_OFF_ID_KEY,
                                      SNPG_IDBLOCK_KEY_BLOB_SIZE,
                                      auth + SNPG_IDBLOCK_AUTH_OFF_ID_KEY_SIG, &error));
    g_assert_true(snpg_idblock_verify(id_key, block, sizeof(block),
                                      ref_auth + SNPG_IDBLOCK_AUTH_OFF_BLOCK_SIG, &error));
    g_assert_true(snpg_idblock_verify(author_key, auth + SNPG_IDBLOCK_AUTH_OFF_ID_KEY,
                                      SNPG_IDBLOCK_KEY_BLOB_SIZE,
                                      ref_auth + SNPG_IDBLOCK_AUTH_OFF_ID_KEY_SIG, &error));
    g_assert_no_error(error);
    /* Only the high 24 bytes of R and S are zero. */
    for (gsize i = 0; i < G_N_ELEMENTS(sigs); i++) {
        for (gsize j = 48; j < 72; j++) {
            g_assert_cmpuint(auth[sigs[i].off + j], ==, 0);
            g_assert_cmpuint(auth[sigs[i].off + 72 + j], ==, 0);
        }
    }

    /* The wrong key, or one flipped bit, does not verify. */
    g_assert_false(snpg_idblock_verify(author_key, block, sizeof(block),
                                       auth + SNPG_IDBLOCK_AUTH_OFF_BLOCK_SIG, &error));
    g_assert_error(error, SNPG_IDBLOCK_ERROR, SNPG_IDBLOCK_ERROR_SIGNATURE);
    g_clear_error(&error);
    block[0x58] ^= 0x08;   /* DEBUG policy bit */
    g_assert_false(snpg_idblock_verify(id_key, block, sizeof(block),
                                       auth + SNPG_IDBLOCK_AUTH_OFF_BLOCK_SIG, &error));
    g_clear_error(&error);

    /* Two runs: same block, different signatures. */
    {
        guint8 block2[SNPG_IDBLOCK_SIZE], auth2[SNPG_IDBLOCK_AUTH_SIZE];
        block[0x58] ^= 0x08;
        g_assert_true(snpg_idblock_create(&params, id_key, author_key, block2, auth2, &error));
        g_assert_cmpmem(block, sizeof(block), block2, sizeof(block2));
        g_assert_cmpint(memcmp(auth + 0x40, auth2 + 0x40, 72), !=, 0);
    }
}

static void
test_fields(void)
{
    g_autoptr(EVP_PKEY) id_key = load_test_key("id_key_test.pem");
    g_autoptr(GError) error = NULL;
    guint8 block[SNPG_IDBLOCK_SIZE];
    guint8 auth[SNPG_IDBLOCK_AUTH_SIZE];
    guint8 zero[SNPG_IDBLOCK_KEY_BLOB_SIZE] = { 0 };
    SnpgIdBlockParams params;
    static const guint8 want_tail[16] = {
        0x01, 0x00, 0x00, 0x00,                          /* version */
        0x07, 0x00, 0x00, 0x00,                          /* guest SVN */
        0x00, 0x00, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x00,  /* policy 0xb0000 */
    };

    snpg_idblock_params_init(&params);
    g_assert_cmpuint(params.version, ==, 1);
    g_assert_cmphex(params.policy, ==, 0x30000);
    for (int i = 0; i < 48; i++)
        params.measurement[i] = (guint8)i;
    for (int i = 0; i < 16; i++) {
        params.family_id[i] = (guint8)(0x80 + i);
        params.image_id[i] = (guint8)(0xc0 + i);
    }
    params.guest_svn = 7;
    params.policy = 0xb0000;
    g_assert_true(snpg_idblock_create(&params, id_key, NULL, block, auth, &error));
    g_assert_no_error(error);
    g_assert_cmpmem(block, 48, params.measurement, 48);
    g_assert_cmpmem(block + 0x30, 16, params.family_id, 16);
    g_assert_cmpmem(block + 0x40, 16, params.image_id, 16);
    g_assert_cmpmem(block + 0x50, 16, want_tail, 16);
    g_assert_true(snpg_idblock_verify(id_key, block, sizeof(block),
                                      auth + SNPG_IDBLOCK_AUTH_OFF_BLOCK_SIG, &error));
    /* No author key: its signature and key stay zero. */
    g_assert_cmpmem(auth + SNPG_IDBLOCK_AUTH_OFF_ID_KEY_SIG, SNPG_IDBLOCK_SIG_BLOB_SIZE, zero,
                    SNPG_IDBLOCK_SIG_BLOB_SIZE);
    g_assert_cmpmem(auth + SNPG_IDBLOCK_AUTH_OFF_AUTHOR_KEY, SNPG_IDBLOCK_KEY_BLOB_SIZE, zero,
                    SNPG_IDBLOCK_KEY_BLOB_SIZE);
    /* The ID key blob: curve 2, then QX. */
    g_assert_cmphex(auth[SNPG_IDBLOCK_AUTH_OFF_ID_KEY], ==, 2);
}

static void
test_keys(void)
{
    g_autofree char *dir = snpg_test_tmpdir();
    g_autofree char *path = g_build_filename(dir, "id.pem", NULL);
    g_autofree char *p256 = g_build_filename(dir, "p256.pem", NULL);
    g_autofree char *pub = g_build_filename(dir, "pub.pem", NULL);
    g_autofree char *junk = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(EVP_PKEY) key = NULL;
    g_autoptr(EVP_PKEY) pubkey = NULL;
    g_autoptr(EVP_PKEY) other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    guint8 d1[48], d2[48];
    GStatBuf st;

    g_assert_true(snpg_idblock_keygen(path, &error));
    g_assert_no_error(error);
    g_assert_cmpint(g_stat(path, &st), ==, 0);
    g_assert_cmphex(st.st_mode & 0777, ==, 0600);
    key = snpg_idblock_load_key(path, FALSE, &error);
    g_assert_no_error(error);
    /* Never replaces a key. */
    g_assert_false(snpg_idblock_keygen(path, &error));
    g_assert_error(error, SNPG_IDBLOCK_ERROR, SNPG_IDBLOCK_ERROR_IO);
    g_clear_error(&error);

    /* The public half gives the same digest; it is refused where a private key is needed. */
    {
        g_autoptr(BIO) bio = BIO_new_file(pub, "w");
        g_assert_true(PEM_write_bio_PUBKEY(bio, key));
    }
    pubkey = snpg_idblock_load_key(pub, TRUE, &error);
    g_assert_no_error(error);
    g_assert_true(snpg_idblock_key_digest(key, d1, &error));
    g_assert_true(snpg_idblock_key_digest(pubkey, d2, &error));
    g_assert_cmpmem(d1, 48, d2, 48);
    g_assert_null(snpg_idblock_load_key(pub, FALSE, &error));
    g_assert_error(error, SNPG_IDBLOCK_ERROR, SNPG_IDBLOCK_ERROR_KEY);
    g_clear_error(&error);

    /* P-256 and junk are refused. */
    {
        g_autoptr(BIO) bio = BIO_new_file(p256, "w");
        g_assert_true(PEM_write_bio_PrivateKey(bio, other, NULL, NULL, 0, NULL, NULL));
    }
    g_assert_null(snpg_idblock_load_key(p256, FALSE, &error));
    g_assert_error(error, SNPG_IDBLOCK_ERROR, SNPG_IDBLOCK_ERROR_KEY);
    g_clear_error(&error);
    g_assert_false(snpg_idblock_key_digest(other, d1, &error));
    g_assert_error(error, SNPG_IDBLOCK_ERROR, SNPG_IDBLOCK_ERROR_KEY);
    g_clear_error(&error);
    junk = snpg_test_write(dir, "junk.pem", "-----BEGIN EC PRIVATE KEY-----\nAAAA\n", 36);
    g_assert_null(snpg_idblock_load_key(junk, TRUE, &error));
    g_assert_error(error, SNPG_IDBLOCK_ERROR, SNPG_IDBLOCK_ERROR_KEY);
    g_clear_error(&error);
    g_assert_null(snpg_idblock_load_key("/nonexistent/key.pem", FALSE, &error));
    g_assert_error(error, SNPG_IDBLOCK_ERROR, SNPG_IDBLOCK_ERROR_IO);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/idblock/reference", test_reference);
    g_test_add_func("/idblock/fields", test_fields);
    g_test_add_func("/idblock/keys", test_keys);
    return g_test_run();
}
