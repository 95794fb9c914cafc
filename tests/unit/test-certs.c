/* AMD certificates: the pinned roots are AMD's (fingerprints), the chain
 * primitives accept AMD's hierarchy and refuse edits, the VCEK/VLEK
 * extensions decode to what meta.json records. */
#include "config.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "amd-certs.h"
#include "autocleanups.h"
#include "cert-ext.h"
#include "testutil.h"
#include "vectors.h"

static X509 *
load(const char *path)
{
    g_autoptr(GError) error = NULL;
    X509 *c = snpg_cert_load_file(path, &error);
    g_assert_no_error(error);
    return c;
}

static void
test_pinned_fingerprints(void)
{
    g_autofree char *fp = snpg_test_data("vectors", "amd-roots", "fingerprints.json", NULL);
    g_autoptr(JsonParser) p = json_parser_new();
    g_autoptr(GError) error = NULL;
    JsonArray *list;

    json_parser_load_from_file(p, fp, &error);
    g_assert_no_error(error);
    list = json_node_get_array(json_parser_get_root(p));
    g_assert_cmpuint(json_array_get_length(list), ==, 9);
    for (guint i = 0; i < json_array_get_length(list); i++) {
        JsonObject *o = json_array_get_object_element(list, i);
        SnpgProduct product = snpg_product_from_string(json_object_get_string_member(o, "product"));
        const char *kind_s = json_object_get_string_member(o, "kind");
        SnpgAmdCertKind kind = g_str_equal(kind_s, "ARK") ? SNPG_AMD_CERT_ARK
                             : g_str_equal(kind_s, "ASK") ? SNPG_AMD_CERT_ASK : SNPG_AMD_CERT_ASVK;
        g_autoptr(X509) pinned = snpg_amd_cert_get(product, kind, &error);
        g_autofree char *file = snpg_test_data("vectors", "amd-roots",
                                               json_object_get_string_member(o, "file"), NULL);
        g_autoptr(X509) from_file = load(file);
        guint8 digest[32];
        g_autofree char *hex = NULL;
        g_autofree char *cn = NULL;

        g_assert_no_error(error);
        g_assert_true(snpg_cert_fingerprint(pinned, digest));
        hex = snpg_test_hex(digest, sizeof(digest));
        g_assert_cmpstr(hex, ==, json_object_get_string_member(o, "sha256_der"));
        g_assert_true(snpg_amd_cert_is_pinned(from_file, product, kind));
        cn = snpg_cert_subject_cn(pinned);
        g_assert_cmpstr(cn, ==, json_object_get_string_member(o, "subject"));
        /* Never pinned for another product or role. */
        for (int op = SNPG_PRODUCT_MILAN; op < SNPG_PRODUCT_LAST; op++)
            for (int ok = 0; ok < SNPG_AMD_CERT_LAST; ok++)
                if (op != (int)product || ok != (int)kind)
                    g_assert_false(snpg_amd_cert_is_pinned(from_file, op, ok));
    }
    /* Bergamo and Siena use Genoa's certificates. */
    g_assert_cmpstr(snpg_amd_cert_pem(snpg_product_from_string("Bergamo"), SNPG_AMD_CERT_ARK), ==,
                    snpg_amd_cert_pem(SNPG_PRODUCT_GENOA, SNPG_AMD_CERT_ARK));
    g_assert_null(snpg_amd_cert_pem(SNPG_PRODUCT_UNKNOWN, SNPG_AMD_CERT_ARK));
}

static void
test_pinned_chain(void)
{
    for (int p = SNPG_PRODUCT_MILAN; p < SNPG_PRODUCT_LAST; p++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(X509) ark = snpg_amd_cert_get(p, SNPG_AMD_CERT_ARK, NULL);
        g_autoptr(X509) ask = snpg_amd_cert_get(p, SNPG_AMD_CERT_ASK, NULL);
        g_autoptr(X509) asvk = snpg_amd_cert_get(p, SNPG_AMD_CERT_ASVK, NULL);
        g_autoptr(X509) other_ark = snpg_amd_cert_get(p == SNPG_PRODUCT_TURIN ? SNPG_PRODUCT_MILAN : p + 1,
                                                      SNPG_AMD_CERT_ARK, NULL);

        g_assert_true(snpg_cert_check_pss(ark, &error));
        g_assert_true(snpg_cert_verify_issued_by(ark, ark, &error));
        g_assert_true(snpg_cert_verify_issued_by(ask, ark, &error));
        g_assert_true(snpg_cert_verify_issued_by(asvk, ark, &error));
        g_assert_no_error(error);
        /* Wrong order and wrong product fail. */
        g_assert_false(snpg_cert_verify_issued_by(ark, ask, &error));
        g_clear_error(&error);
        g_assert_false(snpg_cert_verify_issued_by(ask, ask, &error));
        g_clear_error(&error);
        g_assert_false(snpg_cert_verify_issued_by(ask, other_ark, &error));
        g_assert_error(error, SNPG_CERT_ERROR, SNPG_CERT_ERROR_ISSUER);
    }
}

/* Re-encodes cert with one byte of its DER changed at off. */
static X509 *
mangle(X509 *cert, gsize off_from_end, guint8 xor)
{
    unsigned char *der = NULL;
    int n = i2d_X509(cert, &der);
    const unsigned char *p = der;
    X509 *out;

    g_assert_cmpint(n, >, (int)off_from_end);
    der[n - 1 - off_from_end] ^= xor;
    out = d2i_X509(NULL, &p, n);
    OPENSSL_free(der);
    g_assert_nonnull(out);
    return out;
}

static void
test_broken_self_signature(void)
{
    g_autoptr(X509) ark = snpg_amd_cert_get(SNPG_PRODUCT_MILAN, SNPG_AMD_CERT_ARK, NULL);
    g_autoptr(X509) bad = mangle(ark, 10, 0x01);   /* inside the signature */
    g_autoptr(GError) error = NULL;

    g_assert_false(snpg_cert_verify_issued_by(bad, bad, &error));
    g_assert_error(error, SNPG_CERT_ERROR, SNPG_CERT_ERROR_SIGNATURE);
    g_assert_false(snpg_amd_cert_is_pinned(bad, SNPG_PRODUCT_MILAN, SNPG_AMD_CERT_ARK));
}

static void
test_non_pss_refused(void)
{
    /* A certificate signed with PKCS#1 v1.5 (generated here) is refused by
     * the algorithm check even though its signature is valid. */
    g_autoptr(EVP_PKEY) key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    g_autoptr(X509) c = X509_new();
    g_autoptr(GError) error = NULL;
    X509_NAME *name;

    g_assert_nonnull(key);
    X509_set_version(c, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(c), 1);
    name = X509_get_subject_name(c);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"ARK-Milan", -1, -1, 0);
    X509_set_issuer_name(c, name);
    X509_gmtime_adj(X509_getm_notBefore(c), 0);
    X509_gmtime_adj(X509_getm_notAfter(c), 3600);
    X509_set_pubkey(c, key);
    g_assert_cmpint(X509_sign(c, key, EVP_sha384()), >, 0);
    g_assert_false(snpg_cert_check_pss(c, &error));
    g_assert_error(error, SNPG_CERT_ERROR, SNPG_CERT_ERROR_ALGORITHM);
    g_clear_error(&error);
    g_assert_false(snpg_cert_verify_issued_by(c, c, &error));
    g_assert_error(error, SNPG_CERT_ERROR, SNPG_CERT_ERROR_ALGORITHM);
}

static void
test_ext_vectors(void)
{
    g_autoptr(GPtrArray) vectors = snpg_vectors_load();

    for (guint i = 0; i < vectors->len; i++) {
        SnpgVector *v = g_ptr_array_index(vectors, i);
        JsonObject *want = json_object_get_object_member(v->meta, "cert_extensions");
        g_auto(SnpgCertExt) ext = { 0 };
        g_autoptr(GError) error = NULL;
        g_autoptr(X509) leaf = NULL;
        g_autoptr(X509) ask = NULL;
        g_autoptr(X509) ark = NULL;
        SnpgProduct product = snpg_product_from_string(json_object_get_string_member(v->meta, "product"));

        g_test_message("%s", v->name);
        g_assert_true(snpg_cert_ext_parse_der(g_bytes_get_data(v->leaf, NULL),
                                              g_bytes_get_size(v->leaf), &ext, &error));
        g_assert_no_error(error);
        g_assert_cmpint(ext.kind, ==, v->vlek ? SNPG_CERT_KIND_VLEK : SNPG_CERT_KIND_VCEK);
        g_assert_cmpint(ext.product, ==, product);
        g_assert_cmpstr(ext.product_name, ==, json_object_get_string_member(want, "productName"));
        g_assert_cmpint(ext.struct_version, ==, json_object_get_int_member(want, "structVersion"));
        g_assert_cmpuint(ext.bl_spl, ==, json_object_get_int_member(want, "blSPL"));
        g_assert_cmpuint(ext.tee_spl, ==, json_object_get_int_member(want, "teeSPL"));
        g_assert_cmpuint(ext.snp_spl, ==, json_object_get_int_member(want, "snpSPL"));
        g_assert_cmpuint(ext.ucode_spl, ==, json_object_get_int_member(want, "ucodeSPL"));
        g_assert_cmpint(ext.has_fmc_spl, ==, json_object_has_member(want, "fmcSPL"));
        if (ext.has_fmc_spl)
            g_assert_cmpuint(ext.fmc_spl, ==, json_object_get_int_member(want, "fmcSPL"));
        if (v->vlek) {
            g_assert_cmpuint(ext.hwid_len, ==, 0);
            g_assert_cmpstr(ext.csp_id, ==, json_object_get_string_member(want, "cspID"));
        } else {
            g_autofree char *hw = snpg_test_hex(ext.hwid, ext.hwid_len);
            g_assert_cmpuint(ext.hwid_len, ==, product == SNPG_PRODUCT_TURIN ? 8 : 64);
            g_assert_cmpstr(hw, ==, json_object_get_string_member(want, "hwID"));
            g_assert_null(ext.csp_id);
        }
        {
            /* The certificate's TCB is the report's REPORTED_TCB. */
            JsonObject *rt = json_object_get_object_member(v->meta, "reported_tcb");
            g_assert_cmphex(snpg_cert_ext_tcb(&ext), ==,
                            g_ascii_strtoull(json_object_get_string_member(rt, "raw"), NULL, 16));
        }
        /* The vector's chain verifies with the primitives and is AMD's. */
        leaf = load(v->leaf_path);
        ask = load(v->ask_path);
        ark = load(v->ark_path);
        g_assert_true(snpg_amd_cert_is_pinned(ark, product, SNPG_AMD_CERT_ARK));
        g_assert_true(snpg_amd_cert_is_pinned(ask, product, v->vlek ? SNPG_AMD_CERT_ASVK : SNPG_AMD_CERT_ASK));
        g_assert_true(snpg_cert_verify_issued_by(leaf, ask, &error));
        g_assert_no_error(error);
        g_assert_true(snpg_cert_check_time(leaf, v->window_mid, &error));
        g_assert_no_error(error);
        g_assert_false(snpg_cert_check_time(leaf, v->not_after + 1, &error));
        g_assert_error(error, SNPG_CERT_ERROR, SNPG_CERT_ERROR_EXPIRED);
        g_clear_error(&error);
        g_assert_false(snpg_cert_check_time(leaf, v->not_before - 1, &error));
        g_assert_error(error, SNPG_CERT_ERROR, SNPG_CERT_ERROR_NOT_YET_VALID);
    }
}

static void
test_ext_tampered(void)
{
    g_autofree char *legacy = snpg_test_data("vectors", "tampered", "trustee-test-vcek-invalid-legacy.der", NULL);
    g_autofree char *nested = snpg_test_data("vectors", "tampered", "trustee-test-vcek-invalid-new.der", NULL);
    g_autofree char *ask_path = snpg_test_data("vectors", "amd-roots", "ask_milan.pem", NULL);
    g_autoptr(X509) ask = load(ask_path);
    g_autoptr(X509) a = load(legacy);
    g_autoptr(X509) b = load(nested);
    g_auto(SnpgCertExt) ext = { 0 };
    g_autoptr(GError) error = NULL;

    /* hwID replaced: decodes, but AMD's signature no longer verifies. */
    g_assert_true(snpg_cert_ext_parse(a, &ext, &error));
    g_assert_cmpuint(ext.hwid[1], ==, 0x01);
    g_assert_false(snpg_cert_verify_issued_by(a, ask, &error));
    g_assert_error(error, SNPG_CERT_ERROR, SNPG_CERT_ERROR_SIGNATURE);
    g_clear_error(&error);
    /* hwID wrapped in an extra OCTET STRING: refused as an extension. */
    g_assert_false(snpg_cert_ext_parse(b, &ext, &error));
    g_assert_error(error, SNPG_CERT_ERROR, SNPG_CERT_ERROR_EXTENSION);
    g_clear_error(&error);
    g_assert_false(snpg_cert_verify_issued_by(b, ask, &error));
    g_assert_error(error, SNPG_CERT_ERROR, SNPG_CERT_ERROR_SIGNATURE);
}

static void
test_load_formats(void)
{
    g_autoptr(SnpgVector) v = snpg_vector_load("milan-v3-vcek-oak-40a2778d");
    g_autoptr(GError) error = NULL;
    g_autoptr(X509) der = snpg_cert_load(g_bytes_get_data(v->leaf, NULL), g_bytes_get_size(v->leaf), &error);
    g_autoptr(BIO) bio = BIO_new(BIO_s_mem());
    g_autoptr(X509) pem = NULL;
    g_autoptr(GByteArray) two = g_byte_array_new();
    char *mem = NULL;
    long n;

    g_assert_no_error(error);
    PEM_write_bio_X509(bio, der);
    n = BIO_get_mem_data(bio, &mem);
    pem = snpg_cert_load((const guint8 *)mem, (gsize)n, &error);
    g_assert_no_error(error);
    g_assert_cmpint(X509_cmp(der, pem), ==, 0);
    /* Two PEM certificates, DER with trailing bytes, garbage: refused. */
    g_byte_array_append(two, (const guint8 *)mem, (guint)n);
    g_byte_array_append(two, (const guint8 *)mem, (guint)n);
    g_assert_null(snpg_cert_load(two->data, two->len, &error));
    g_assert_error(error, SNPG_CERT_ERROR, SNPG_CERT_ERROR_PARSE);
    g_clear_error(&error);
    g_byte_array_set_size(two, 0);
    g_byte_array_append(two, g_bytes_get_data(v->leaf, NULL), (guint)g_bytes_get_size(v->leaf));
    g_byte_array_append(two, (const guint8 *)"x", 1);
    g_assert_null(snpg_cert_load(two->data, two->len, &error));
    g_clear_error(&error);
    g_assert_null(snpg_cert_load((const guint8 *)"junk", 4, &error));
    g_clear_error(&error);
    g_assert_null(snpg_cert_load(NULL, 0, &error));
    g_clear_error(&error);
    g_assert_null(snpg_cert_ext_parse_der((const guint8 *)"junk", 4, NULL, &error) ? (void *)1 : NULL);
    g_assert_error(error, SNPG_CERT_ERROR, SNPG_CERT_ERROR_PARSE);
}

/* A certificate the guest sends (its certificate table) names itself: a
 * terminal escape in its CN must not reach the messages the verifier prints. */
static void
test_subject_cn_escaped(void)
{
    static const char evil[] = "SEV-\x1b]0;owned\x07\x1b[2J\\VCEK";
    g_autoptr(X509) cert = X509_new();
    g_autoptr(EVP_PKEY) key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    g_autoptr(GError) error = NULL;
    g_autofree char *cn = NULL;
    X509_NAME *name = X509_get_subject_name(cert);

    g_assert_nonnull(key);
    g_assert_true(X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                             (const unsigned char *)evil, -1, -1, 0));
    g_assert_true(X509_set_issuer_name(cert, name));
    g_assert_nonnull(X509_gmtime_adj(X509_getm_notBefore(cert), -7200));
    g_assert_nonnull(X509_gmtime_adj(X509_getm_notAfter(cert), -3600));
    g_assert_true(X509_set_pubkey(cert, key));
    g_assert_cmpint(X509_sign(cert, key, EVP_sha384()), >, 0);

    cn = snpg_cert_subject_cn(cert);
    g_assert_cmpstr(cn, ==, "SEV-\\x1b]0;owned\\x07\\x1b[2J\\x5cVCEK");
    /* The expiry message quotes the name: escaped there too. */
    g_assert_false(snpg_cert_check_time(cert, g_get_real_time() / G_USEC_PER_SEC, &error));
    g_assert_error(error, SNPG_CERT_ERROR, SNPG_CERT_ERROR_EXPIRED);
    g_assert_null(strchr(error->message, '\x1b'));
    g_assert_null(strchr(error->message, '\x07'));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/certs/pinned/fingerprints", test_pinned_fingerprints);
    g_test_add_func("/certs/pinned/chain", test_pinned_chain);
    g_test_add_func("/certs/chain/broken-self-signature", test_broken_self_signature);
    g_test_add_func("/certs/chain/non-pss", test_non_pss_refused);
    g_test_add_func("/certs/ext/vectors", test_ext_vectors);
    g_test_add_func("/certs/ext/tampered", test_ext_tampered);
    g_test_add_func("/certs/load/formats", test_load_formats);
    g_test_add_func("/certs/subject/escaped", test_subject_cn_escaped);
    return g_test_run();
}
