/* The simulated secure processor: its certificate hierarchy (AMD's algorithms
 * and extensions, checked against real VCEKs), report layout (checked
 * against genuine reports and their meta.json) and signatures. */
#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "autocleanups.h"
#include "buf.h"
#include "sim.h"
#include "sim-identity.h"
#include "testutil.h"

/* Offsets from the ABI specification's table, written out independently of
 * report.c so that the genuine vectors check its layout. */
#define OFF_VERSION 0x000
#define OFF_GUEST_SVN 0x004
#define OFF_POLICY 0x008
#define OFF_VMPL 0x030
#define OFF_SIGNATURE_ALGO 0x034
#define OFF_PLATFORM_INFO 0x040
#define OFF_FLAGS 0x048
#define OFF_REPORT_DATA 0x050
#define OFF_MEASUREMENT 0x090
#define OFF_HOST_DATA 0x0C0
#define OFF_REPORT_ID_MA 0x160
#define OFF_REPORTED_TCB 0x180
#define OFF_CPUID_FAM 0x188
#define OFF_CPUID_MOD 0x189
#define OFF_CPUID_STEP 0x18A
#define OFF_CHIP_ID 0x1A0
#define OFF_CURRENT_VERSION 0x1E8
#define OFF_LAUNCH_TCB 0x1F0
#define OFF_LAUNCH_MIT_VECTOR 0x1F8

static const char *const product_dirs[] = { NULL, "milan", "genoa", "turin" };

/* A real VCEK of each product, for the extension layout. */
static const char *const real_vceks[] = {
    NULL,
    "milan-v2-vcek-oak-071c9784",
    "genoa-v5-vcek-oak-6d1ceffa",
    "turin-v5-vcek-oak-3f44a09b",
};

static X509 *
load_pem(const char *path)
{
    g_autoptr(BIO) bio = BIO_new_file(path, "r");
    X509 *cert;

    g_assert_nonnull(bio);
    cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    g_assert_nonnull(cert);
    return cert;
}

static X509 *
load_der(const char *path)
{
    g_autofree char *data = NULL;
    gsize len = 0;
    const unsigned char *p;
    X509 *cert;

    g_assert_true(g_file_get_contents(path, &data, &len, NULL));
    p = (const unsigned char *)data;
    cert = d2i_X509(NULL, &p, (long)len);
    g_assert_nonnull(cert);
    return cert;
}

static char *
sim_dir(SnpgProduct p)
{
    return snpg_test_data("sim", product_dirs[p], NULL);
}

/* The signature is RSA-PSS, SHA-384, MGF1-SHA-384, salt 48 (AMD's). */
static void
assert_pss(X509 *cert)
{
    const X509_ALGOR *alg = NULL;
    const ASN1_OBJECT *oid = NULL;
    const void *pval = NULL;
    int ptype = 0;
    g_autoptr(RSA_PSS_PARAMS) pss = NULL;
    int64_t salt = 0;

    X509_get0_signature(NULL, &alg, cert);
    X509_ALGOR_get0(&oid, &ptype, &pval, alg);
    g_assert_cmpint(OBJ_obj2nid(oid), ==, NID_rsassaPss);
    g_assert_cmpint(ptype, ==, V_ASN1_SEQUENCE);
    pss = ASN1_item_unpack(pval, ASN1_ITEM_rptr(RSA_PSS_PARAMS));
    g_assert_nonnull(pss);
    g_assert_nonnull(pss->hashAlgorithm);
    g_assert_cmpint(OBJ_obj2nid(pss->hashAlgorithm->algorithm), ==, NID_sha384);
    g_assert_nonnull(pss->maskGenAlgorithm);
    g_assert_cmpint(OBJ_obj2nid(pss->maskGenAlgorithm->algorithm), ==, NID_mgf1);
    {
        const ASN1_TYPE *t = pss->maskGenAlgorithm->parameter;
        const unsigned char *mp;
        X509_ALGOR *mgf_md;
        g_assert_nonnull(t);
        g_assert_cmpint(t->type, ==, V_ASN1_SEQUENCE);
        mp = ASN1_STRING_get0_data(t->value.sequence);
        mgf_md = d2i_X509_ALGOR(NULL, &mp, ASN1_STRING_length(t->value.sequence));
        g_assert_nonnull(mgf_md);
        g_assert_cmpint(OBJ_obj2nid(mgf_md->algorithm), ==, NID_sha384);
        X509_ALGOR_free(mgf_md);
    }
    g_assert_nonnull(pss->saltLength);
    g_assert_true(ASN1_INTEGER_get_int64(&salt, pss->saltLength));
    g_assert_cmpint(salt, ==, 48);
}

static char *
cn_of(X509_NAME *name, int nid)
{
    char buf[256] = "";

    X509_NAME_get_text_by_NID(name, nid, buf, sizeof(buf));
    return g_strdup(buf);
}

static void
test_chain(void)
{
    static const char *const names[] = { NULL, "Milan", "Genoa", "Turin" };

    for (int p = SNPG_PRODUCT_MILAN; p <= SNPG_PRODUCT_TURIN; p++) {
        g_autofree char *dir = sim_dir(p);
        g_autofree char *ark_path = g_build_filename(dir, "ark.pem", NULL);
        g_autofree char *ask_path = g_build_filename(dir, "ask.pem", NULL);
        g_autofree char *vcek_path = g_build_filename(dir, "vcek.der", NULL);
        g_autoptr(X509) ark = load_pem(ark_path);
        g_autoptr(X509) ask = load_pem(ask_path);
        g_autoptr(X509) vcek = load_der(vcek_path);
        g_autofree char *ark_cn = cn_of(X509_get_subject_name(ark), NID_commonName);
        g_autofree char *ask_cn = cn_of(X509_get_subject_name(ask), NID_commonName);
        g_autofree char *vcek_cn = cn_of(X509_get_subject_name(vcek), NID_commonName);
        g_autofree char *ark_ou = cn_of(X509_get_subject_name(ark), NID_organizationalUnitName);
        g_autofree char *want_ark = g_strdup_printf("ARK-%s", names[p]);
        g_autofree char *want_ask = g_strdup_printf("SEV-%s", names[p]);
        EVP_PKEY *ark_pub = X509_get0_pubkey(ark);
        EVP_PKEY *ask_pub = X509_get0_pubkey(ask);

        g_assert_cmpint(X509_verify(ark, ark_pub), ==, 1);
        g_assert_cmpint(X509_verify(ask, ark_pub), ==, 1);
        g_assert_cmpint(X509_verify(vcek, ask_pub), ==, 1);
        /* And not across: the VCEK is not signed by the ARK. */
        g_assert_cmpint(X509_verify(vcek, ark_pub), !=, 1);
        ERR_clear_error();
        assert_pss(ark);
        assert_pss(ask);
        assert_pss(vcek);
        g_assert_cmpint(EVP_PKEY_get_base_id(ark_pub), ==, EVP_PKEY_RSA);
        g_assert_cmpint(EVP_PKEY_get_bits(ark_pub), ==, 4096);
        g_assert_cmpint(EVP_PKEY_get_bits(ask_pub), ==, 4096);
        g_assert_cmpint(EVP_PKEY_get_base_id(X509_get0_pubkey(vcek)), ==, EVP_PKEY_EC);
        g_assert_cmpint(EVP_PKEY_get_bits(X509_get0_pubkey(vcek)), ==, 384);
        g_assert_cmpstr(ark_cn, ==, want_ark);
        g_assert_cmpstr(ask_cn, ==, want_ask);
        g_assert_cmpstr(vcek_cn, ==, "SEV-VCEK");
        g_assert_nonnull(strstr(ark_ou, "NOT AMD"));
        g_assert_cmpint(X509_NAME_cmp(X509_get_issuer_name(vcek), X509_get_subject_name(ask)), ==, 0);
        g_assert_true(X509_check_ca(ark) > 0);
        g_assert_true(X509_check_ca(ask) > 0);
    }
}

/* extnValue bytes of the AMD extension with that OID suffix. */
static GBytes *
ext_value(X509 *cert, const char *suffix)
{
    g_autofree char *oid = g_strconcat("1.3.6.1.4.1.3704.1", suffix, NULL);
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    int i = X509_get_ext_by_OBJ(cert, obj, -1);
    const ASN1_OCTET_STRING *v;

    ASN1_OBJECT_free(obj);
    if (i < 0)
        return NULL;
    v = X509_EXTENSION_get_data(X509_get_ext(cert, i));
    return g_bytes_new(ASN1_STRING_get0_data(v), (gsize)ASN1_STRING_length(v));
}

static GPtrArray *
ext_oids(X509 *cert)
{
    GPtrArray *oids = g_ptr_array_new_with_free_func(g_free);

    for (int i = 0; i < X509_get_ext_count(cert); i++) {
        char buf[80];
        OBJ_obj2txt(buf, sizeof(buf), X509_EXTENSION_get_object(X509_get_ext(cert, i)), 1);
        g_ptr_array_add(oids, g_strdup(buf));
    }
    return oids;
}

static void
assert_int_ext(X509 *cert, const char *suffix, guint v)
{
    g_autoptr(GBytes) b = ext_value(cert, suffix);
    gsize len = 0;
    const guint8 *d;
    guint8 want[4];
    gsize want_len;

    g_assert_nonnull(b);
    d = g_bytes_get_data(b, &len);
    /* DER INTEGER: 02 01 vv, or 02 02 00 vv when the high bit is set. */
    want[0] = 0x02;
    if (v >= 0x80) {
        want[1] = 2;
        want[2] = 0;
        want[3] = (guint8)v;
        want_len = 4;
    } else {
        want[1] = 1;
        want[2] = (guint8)v;
        want_len = 3;
    }
    g_assert_cmpmem(d, len, want, want_len);
}

static void
test_vcek_extensions(void)
{
    static const char *const product_names[] = { NULL, "Milan-B0", "Genoa", "Turin" };

    for (int p = SNPG_PRODUCT_MILAN; p <= SNPG_PRODUCT_TURIN; p++) {
        g_autofree char *dir = sim_dir(p);
        g_autoptr(GError) error = NULL;
        g_autoptr(SnpgSim) sim = snpg_sim_load(dir, &error);
        X509 *vcek;
        SnpgTcb tcb;
        g_autoptr(GBytes) name = NULL;
        g_autoptr(GBytes) hwid = NULL;
        g_autoptr(GPtrArray) oids = NULL;
        g_autofree char *real_path = NULL;
        gsize len = 0;
        const guint8 *d;
        gsize hwid_len = p == SNPG_PRODUCT_TURIN ? 8 : 64;

        g_assert_no_error(error);
        vcek = snpg_sim_get_vcek(sim);
        snpg_sim_get_tcb(sim, &tcb);

        assert_int_ext(vcek, ".1", p == SNPG_PRODUCT_TURIN ? 1 : 0);
        name = ext_value(vcek, ".2");
        d = g_bytes_get_data(name, &len);
        g_assert_cmpuint(len, ==, 2 + strlen(product_names[p]));
        g_assert_cmphex(d[0], ==, 0x16);  /* IA5String */
        g_assert_cmpuint(d[1], ==, strlen(product_names[p]));
        g_assert_cmpmem(d + 2, len - 2, product_names[p], strlen(product_names[p]));
        assert_int_ext(vcek, ".3.1", tcb.bl);
        assert_int_ext(vcek, ".3.2", tcb.tee);
        assert_int_ext(vcek, ".3.3", tcb.snp);
        assert_int_ext(vcek, ".3.8", tcb.ucode);
        if (p == SNPG_PRODUCT_TURIN)
            assert_int_ext(vcek, ".3.9", tcb.fmc);
        else
            g_assert_null(ext_value(vcek, ".3.9"));
        /* hwID: the raw chip id, not a nested OCTET STRING. */
        hwid = ext_value(vcek, ".4");
        d = g_bytes_get_data(hwid, &len);
        g_assert_cmpmem(d, len, snpg_sim_get_chip_id(sim), hwid_len);

        /* Same extensions in the same order as a real VCEK of the product. */
        real_path = snpg_test_data("vectors", "snp-reports", real_vceks[p], "vcek.der", NULL);
        if (g_file_test(real_path, G_FILE_TEST_EXISTS)) {
            g_autoptr(X509) real = load_der(real_path);
            g_autoptr(GPtrArray) real_oids = ext_oids(real);
            oids = ext_oids(vcek);
            g_assert_cmpuint(oids->len, ==, real_oids->len);
            for (guint i = 0; i < oids->len; i++) {
                g_autoptr(GBytes) a = NULL;
                g_autoptr(GBytes) b = NULL;
                const char *suffix = (const char *)oids->pdata[i] + strlen("1.3.6.1.4.1.3704.1");
                g_assert_cmpstr(oids->pdata[i], ==, real_oids->pdata[i]);
                /* Same DER type and, except hwID, same shape. */
                a = ext_value(vcek, suffix);
                b = ext_value(real, suffix);
                if (!g_str_equal(suffix, ".4"))
                    g_assert_cmphex(((const guint8 *)g_bytes_get_data(a, NULL))[0], ==,
                                    ((const guint8 *)g_bytes_get_data(b, NULL))[0]);
                else
                    g_assert_cmpuint(g_bytes_get_size(a), ==, g_bytes_get_size(b));
            }
        }
    }
}

static void
assert_mode(const char *dir, const char *name, guint mode)
{
    g_autofree char *path = name ? g_build_filename(dir, name, NULL) : g_strdup(dir);
    GStatBuf st;

    g_assert_cmpint(g_stat(path, &st), ==, 0);
    g_assert_cmphex(st.st_mode & 0777, ==, mode);
}

/* Generation with a reused root (fast: one EC key); the full generation
 * with two RSA-4096 keys runs once in test-cli-sim. */
static void
test_init(void)
{
    g_autofree char *tmp = snpg_test_tmpdir();
    g_autofree char *dir = g_build_filename(tmp, "chip2", NULL);
    g_autofree char *root = sim_dir(SNPG_PRODUCT_GENOA);
    g_autofree char *milan = sim_dir(SNPG_PRODUCT_MILAN);
    g_autofree char *ark_path = g_build_filename(root, "ark.pem", NULL);
    g_autofree char *ask_path = g_build_filename(root, "ask.pem", NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(SnpgSim) sim = NULL;
    g_autoptr(SnpgSim) first = NULL;
    g_autoptr(X509) ask = load_pem(ask_path);
    g_autofree char *my_ark = NULL;
    g_autofree char *root_ark = NULL;
    SnpgTcb tcb = { .bl = 7, .tee = 1, .snp = 22, .ucode = 200 }, got;
    guint8 chip[64];
    SnpgSimInitOptions opts = { .product = SNPG_PRODUCT_GENOA, .tcb = &tcb, .chip_id = chip,
                                .root_from = root };

    for (int i = 0; i < 64; i++)
        chip[i] = (guint8)(0xa0 + i);
    g_assert_true(snpg_sim_init_full(dir, &opts, &error));
    g_assert_no_error(error);
    assert_mode(dir, NULL, 0700);
    assert_mode(dir, "vcek-key.pem", 0600);
    assert_mode(dir, "ark-key.pem", 0600);
    assert_mode(dir, "ask-key.pem", 0600);
    sim = snpg_sim_load(dir, &error);
    g_assert_no_error(error);
    g_assert_cmpint(snpg_sim_get_product(sim), ==, SNPG_PRODUCT_GENOA);
    g_assert_cmpmem(snpg_sim_get_chip_id(sim), 64, chip, 64);
    snpg_sim_get_tcb(sim, &got);
    g_assert_cmpuint(got.bl, ==, 7);
    g_assert_cmpuint(got.tee, ==, 1);
    g_assert_cmpuint(got.snp, ==, 22);
    g_assert_cmpuint(got.ucode, ==, 200);
    /* Same root, new chip: the new VCEK chains to the old ASK. */
    g_assert_cmpint(X509_verify(snpg_sim_get_vcek(sim), X509_get0_pubkey(ask)), ==, 1);
    first = snpg_sim_load(root, &error);
    g_assert_no_error(error);
    g_assert_cmpint(memcmp(snpg_sim_get_chip_id(first), chip, 64), !=, 0);
    my_ark = g_build_filename(dir, "ark.pem", NULL);
    {
        g_autofree char *a = NULL, *b = NULL;
        g_assert_true(g_file_get_contents(my_ark, &a, NULL, NULL));
        g_assert_true(g_file_get_contents(ark_path, &b, NULL, NULL));
        g_assert_cmpstr(a, ==, b);
    }

    /* Existing simulator: refused, unless forced. */
    g_assert_false(snpg_sim_init_full(dir, &opts, &error));
    g_assert_error(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_EXISTS);
    g_clear_error(&error);
    opts.force = TRUE;
    opts.chip_id = NULL;
    g_assert_true(snpg_sim_init_full(dir, &opts, &error));
    g_assert_no_error(error);

    /* A non-empty directory that is not a simulator: refused. */
    {
        g_autofree char *other = g_build_filename(tmp, "other", NULL);
        g_autofree char *f = NULL;
        g_assert_cmpint(g_mkdir(other, 0700), ==, 0);
        f = snpg_test_write(other, "precious.txt", "x", 1);
        opts.force = FALSE;
        g_assert_false(snpg_sim_init_full(other, &opts, &error));
        g_assert_error(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_EXISTS);
        g_clear_error(&error);
    }

    /* Unknown products, a root of another product, FMC outside Turin. */
    g_assert_false(snpg_sim_init(dir, "Rome", &error));
    g_assert_error(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_INVALID);
    g_clear_error(&error);
    g_assert_false(snpg_sim_init(dir, NULL, &error));
    g_assert_error(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_INVALID);
    g_clear_error(&error);
    opts.product = SNPG_PRODUCT_UNKNOWN;
    g_assert_false(snpg_sim_init_full(dir, &opts, &error));
    g_assert_error(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_INVALID);
    g_clear_error(&error);
    opts.product = SNPG_PRODUCT_MILAN;
    opts.force = TRUE;
    g_assert_false(snpg_sim_init_full(dir, &opts, &error));  /* root is Genoa's */
    g_assert_error(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_INVALID);
    g_clear_error(&error);
    tcb.fmc = 1;
    opts.root_from = milan;
    g_assert_false(snpg_sim_init_full(dir, &opts, &error));
    g_assert_error(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_INVALID);
    g_clear_error(&error);

    /* A missing simulator cannot sign. */
    {
        g_autofree char *none = g_build_filename(tmp, "none", NULL);
        g_assert_null(snpg_sim_load(none, &error));
        g_assert_error(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_IO);
    }
}

/* ECDSA P-384 SHA-384 over 0x000-0x29F with R, S little-endian at 0x2A0. */
static gboolean
report_sig_ok(X509 *cert, const guint8 *report)
{
    g_autoptr(ECDSA_SIG) sig = ECDSA_SIG_new();
    g_autoptr(EVP_MD_CTX) md = EVP_MD_CTX_new();
    BIGNUM *r = BN_lebin2bn(report + 0x2A0, 72, NULL);
    BIGNUM *s = BN_lebin2bn(report + 0x2A0 + 72, 72, NULL);
    unsigned char *der = NULL;
    int len, rc;

    g_assert_true(ECDSA_SIG_set0(sig, r, s));
    len = i2d_ECDSA_SIG(sig, &der);
    g_assert_cmpint(len, >, 0);
    g_assert_cmpint(EVP_DigestVerifyInit(md, NULL, EVP_sha384(), NULL, X509_get0_pubkey(cert)), ==, 1);
    rc = EVP_DigestVerify(md, der, (size_t)len, report, 0x2A0);
    OPENSSL_free(der);
    ERR_clear_error();
    return rc == 1;
}

static guint32
u32_at(const guint8 *r, gsize off)
{
    SnpgBuf b;
    guint32 v = 0;

    snpg_buf_init(&b, r, SNPG_REPORT_SIZE);
    g_assert_cmpint(snpg_buf_skip(&b, off), ==, SNPG_BUF_OK);
    g_assert_cmpint(snpg_buf_get_u32le(&b, &v), ==, SNPG_BUF_OK);
    return v;
}

static guint64
u64_at(const guint8 *r, gsize off)
{
    SnpgBuf b;
    guint64 v = 0;

    snpg_buf_init(&b, r, SNPG_REPORT_SIZE);
    g_assert_cmpint(snpg_buf_skip(&b, off), ==, SNPG_BUF_OK);
    g_assert_cmpint(snpg_buf_get_u64le(&b, &v), ==, SNPG_BUF_OK);
    return v;
}

static gboolean
all_zero(const guint8 *p, gsize n)
{
    for (gsize i = 0; i < n; i++)
        if (p[i])
            return FALSE;
    return TRUE;
}

static void
fill(guint8 *p, gsize n, guint8 seed)
{
    for (gsize i = 0; i < n; i++)
        p[i] = (guint8)(seed + i);
}

static void
test_report_fields(void)
{
    static const guint32 versions[] = { 2, 3, 5 };

    for (int p = SNPG_PRODUCT_MILAN; p <= SNPG_PRODUCT_TURIN; p++) {
        g_autofree char *dir = sim_dir(p);
        g_autoptr(GError) error = NULL;
        g_autoptr(SnpgSim) sim = snpg_sim_load(dir, &error);
        SnpgTcb cur = { .fmc = 1, .bl = 2, .tee = 3, .snp = 4, .ucode = 5 };
        SnpgTcb rep = { .fmc = 6, .bl = 7, .tee = 8, .snp = 9, .ucode = 10 };
        SnpgTcb com = { .fmc = 11, .bl = 12, .tee = 13, .snp = 14, .ucode = 15 };
        SnpgTcb lau = { .fmc = 16, .bl = 17, .tee = 18, .snp = 19, .ucode = 20 };

        if (p != SNPG_PRODUCT_TURIN)
            cur.fmc = rep.fmc = com.fmc = lau.fmc = 0;
        g_assert_no_error(error);
        for (gsize v = 0; v < G_N_ELEMENTS(versions); v++) {
            SnpgSimReportFields f;
            guint8 r[SNPG_REPORT_SIZE];
            guint8 fam, mod, step;
            guint64 want_rep;

            snpg_sim_report_fields_init(&f);
            f.version = versions[v];
            f.guest_svn = 0x11223344;
            f.policy = 0x0000000000b0000ull | 0x1f;
            fill(f.family_id, 16, 0x10);
            fill(f.image_id, 16, 0x20);
            f.vmpl = 2;
            f.platform_info = 0x25;
            f.author_key_en = TRUE;
            f.signing_key = SNPG_SIGNING_KEY_VLEK;
            fill(f.report_data, 64, 0x30);
            fill(f.measurement, 48, 0x40);
            fill(f.host_data, 32, 0x50);
            fill(f.id_key_digest, 48, 0x60);
            fill(f.author_key_digest, 48, 0x70);
            fill(f.report_id, 32, 0x80);
            f.current_tcb = &cur;
            f.reported_tcb = &rep;
            f.committed_tcb = &com;
            f.launch_tcb = &lau;
            f.launch_mit_vector = 0x0102030405060708ull;
            f.current_mit_vector = 0x1112131415161718ull;
            g_assert_true(snpg_sim_build_report(sim, &f, r, &error));
            g_assert_no_error(error);

            g_assert_cmpuint(u32_at(r, 0x000), ==, versions[v]);
            g_assert_cmphex(u32_at(r, 0x004), ==, 0x11223344);
            g_assert_cmphex(u64_at(r, 0x008), ==, f.policy);
            g_assert_cmpmem(r + 0x010, 16, f.family_id, 16);
            g_assert_cmpmem(r + 0x020, 16, f.image_id, 16);
            g_assert_cmpuint(u32_at(r, 0x030), ==, 2);
            g_assert_cmpuint(u32_at(r, 0x034), ==, 1);
            g_assert_cmphex(u64_at(r, 0x040), ==, 0x25);
            g_assert_cmphex(u32_at(r, 0x048), ==, 1u | (1u << 2));  /* AUTHOR_KEY_EN, VLEK */
            g_assert_cmphex(u32_at(r, 0x04C), ==, 0);
            g_assert_cmpmem(r + 0x050, 64, f.report_data, 64);
            g_assert_cmpmem(r + 0x090, 48, f.measurement, 48);
            g_assert_cmpmem(r + 0x0C0, 32, f.host_data, 32);
            g_assert_cmpmem(r + 0x0E0, 48, f.id_key_digest, 48);
            g_assert_cmpmem(r + 0x110, 48, f.author_key_digest, 48);
            g_assert_cmpmem(r + 0x140, 32, f.report_id, 32);
            g_assert_cmpmem(r + 0x160, 32, f.report_id_ma, 32);
            g_assert_cmphex(r[0x160], ==, 0xff);
            /* TCB layouts, byte by byte. */
            if (p == SNPG_PRODUCT_TURIN) {
                const guint8 want[8] = { 6, 7, 8, 9, 0, 0, 0, 10 };
                g_assert_cmpmem(r + 0x180, 8, want, 8);
                want_rep = 0x0a00000009080706ull;
            } else {
                const guint8 want[8] = { 7, 8, 0, 0, 0, 0, 9, 10 };
                g_assert_cmpmem(r + 0x180, 8, want, 8);
                want_rep = 0x0a09000000000807ull;
            }
            g_assert_cmphex(u64_at(r, 0x180), ==, want_rep);
            g_assert_cmphex(r[0x038], ==, p == SNPG_PRODUCT_TURIN ? 1 : 2);
            g_assert_cmphex(r[0x1E0], ==, p == SNPG_PRODUCT_TURIN ? 11 : 12);
            g_assert_cmphex(r[0x1F0 + 7], ==, 20);
            snpg_sim_product_cpuid(p, &fam, &mod, &step);
            if (versions[v] >= 3) {
                g_assert_cmphex(r[0x188], ==, fam);
                g_assert_cmphex(r[0x189], ==, mod);
                g_assert_cmphex(r[0x18A], ==, step);
            } else {
                g_assert_true(all_zero(r + 0x188, 3));
            }
            g_assert_true(all_zero(r + 0x18B, 0x1A0 - 0x18B));
            g_assert_cmpmem(r + 0x1A0, 64, snpg_sim_get_chip_id(sim), 64);
            g_assert_cmpmem(r + 0x1E8, 3, f.current_version, 3);
            g_assert_cmphex(r[0x1EB], ==, 0);
            g_assert_cmpmem(r + 0x1EC, 3, f.committed_version, 3);
            if (versions[v] >= 5) {
                g_assert_cmphex(u64_at(r, 0x1F8), ==, 0x0102030405060708ull);
                g_assert_cmphex(u64_at(r, 0x200), ==, 0x1112131415161718ull);
            } else {
                g_assert_true(all_zero(r + 0x1F8, 16));
            }
            g_assert_true(all_zero(r + 0x208, 0x2A0 - 0x208));
            g_assert_true(all_zero(r + 0x2A0 + 48, 72 - 48));           /* R high bytes */
            g_assert_true(all_zero(r + 0x2A0 + 72 + 48, 72 - 48));      /* S high bytes */
            g_assert_true(all_zero(r + 0x2A0 + 144, 512 - 144));
            g_assert_true(report_sig_ok(snpg_sim_get_vcek(sim), r));
        }
    }
}

static void
test_report_defaults(void)
{
    g_autofree char *dir = sim_dir(SNPG_PRODUCT_MILAN);
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) bytes = NULL;
    g_autoptr(SnpgSim) sim = snpg_sim_load(dir, &error);
    SnpgSimReportFields f;
    const guint8 *r;
    gsize len = 0;
    SnpgTcb tcb;

    g_assert_no_error(error);
    snpg_sim_report_fields_init(&f);
    g_assert_true(snpg_sim_report(dir, &f, &bytes, &error));
    g_assert_no_error(error);
    r = g_bytes_get_data(bytes, &len);
    g_assert_cmpuint(len, ==, 1184);
    g_assert_cmpuint(u32_at(r, 0), ==, 5);
    g_assert_cmphex(u64_at(r, 8), ==, 0x30000);
    g_assert_cmphex(u32_at(r, 0x48), ==, 0);
    snpg_sim_get_tcb(sim, &tcb);
    g_assert_cmphex(r[0x180], ==, tcb.bl);
    g_assert_cmphex(r[0x186], ==, tcb.snp);
    g_assert_cmphex(r[0x187], ==, tcb.ucode);
    g_assert_cmphex(u64_at(r, 0x180), ==, u64_at(r, 0x038));
    g_assert_cmphex(u64_at(r, 0x180), ==, u64_at(r, 0x1E0));
    g_assert_cmphex(u64_at(r, 0x180), ==, u64_at(r, 0x1F0));
    g_assert_true(report_sig_ok(snpg_sim_get_vcek(sim), r));

    /* MASK_CHIP_KEY zeroes CHIP_ID. */
    f.mask_chip_key = TRUE;
    g_clear_pointer(&bytes, g_bytes_unref);
    g_assert_true(snpg_sim_report(dir, &f, &bytes, &error));
    r = g_bytes_get_data(bytes, &len);
    g_assert_true(all_zero(r + 0x1A0, 64));
    g_assert_cmphex(u32_at(r, 0x48), ==, 2);

    /* Refused: version 4, VMPL 4. */
    f.version = 4;
    g_assert_false(snpg_sim_build_report(sim, &f, (guint8[1184]){ 0 }, &error));
    g_assert_error(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_INVALID);
    g_clear_error(&error);
    f.version = 3;
    f.vmpl = 4;
    g_assert_false(snpg_sim_build_report(sim, &f, (guint8[1184]){ 0 }, &error));
    g_assert_error(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_INVALID);
}

static void
test_report_malformed(void)
{
    g_autofree char *dir = sim_dir(SNPG_PRODUCT_TURIN);
    g_autoptr(GError) error = NULL;
    g_autoptr(SnpgSim) sim = snpg_sim_load(dir, &error);
    X509 *vcek;
    SnpgSimReportFields f;
    guint8 r[1184], good[1184];

    g_assert_no_error(error);
    vcek = snpg_sim_get_vcek(sim);
    snpg_sim_report_fields_init(&f);
    fill(f.measurement, 48, 1);
    g_assert_true(snpg_sim_build_report(sim, &f, good, &error));
    /* The simulator signed what the report module encodes: it parses and
     * encodes back to the same bytes, signature included. */
    {
        g_autoptr(SnpgReport) parsed = snpg_report_parse(good, sizeof(good), &error);
        guint8 again[SNPG_REPORT_SIZE];

        g_assert_no_error(error);
        g_assert_cmpmem(parsed->measurement, 48, f.measurement, 48);
        snpg_report_encode_to(parsed, again);
        g_assert_cmpmem(again, sizeof(again), good, sizeof(good));
    }

    /* Nonzero reserved bytes, validly signed. */
    f.malform = SNPG_SIM_MALFORM_RESERVED_NONZERO;
    g_assert_true(snpg_sim_build_report(sim, &f, r, &error));
    g_assert_cmphex(r[0x4C], ==, 1);
    g_assert_true(report_sig_ok(vcek, r));

    /* Another signature algorithm, validly signed. */
    f.malform = 0;
    f.signature_algo = 2;
    g_assert_true(snpg_sim_build_report(sim, &f, r, &error));
    g_assert_cmpuint(u32_at(r, 0x34), ==, 2);
    g_assert_true(report_sig_ok(vcek, r));
    f.signature_algo = 1;

    f.malform = SNPG_SIM_MALFORM_UNSIGNED;
    g_assert_true(snpg_sim_build_report(sim, &f, r, &error));
    g_assert_true(all_zero(r + 0x2A0, 512));
    g_assert_cmpmem(r, 0x2A0, good, 0x2A0);
    g_assert_false(report_sig_ok(vcek, r));
    /* Re-signing makes it valid. */
    g_assert_true(snpg_sim_sign(sim, r, &error));
    g_assert_true(report_sig_ok(vcek, r));

    f.malform = SNPG_SIM_MALFORM_SIG_BIG_ENDIAN;
    g_assert_true(snpg_sim_build_report(sim, &f, r, &error));
    g_assert_false(report_sig_ok(vcek, r));
    for (int i = 0; i < 24; i++) {   /* back to little-endian: valid */
        guint8 t = r[0x2A0 + i];
        r[0x2A0 + i] = r[0x2A0 + 47 - i];
        r[0x2A0 + 47 - i] = t;
        t = r[0x2E8 + i];
        r[0x2E8 + i] = r[0x2E8 + 47 - i];
        r[0x2E8 + 47 - i] = t;
    }
    g_assert_true(report_sig_ok(vcek, r));

    f.malform = SNPG_SIM_MALFORM_SIG_HIGH_BYTES;
    g_assert_true(snpg_sim_build_report(sim, &f, r, &error));
    g_assert_cmphex(r[0x2A0 + 48], ==, 1);
    g_assert_false(report_sig_ok(vcek, r));

    f.malform = SNPG_SIM_MALFORM_SIG_RESERVED;
    g_assert_true(snpg_sim_build_report(sim, &f, r, &error));
    g_assert_cmphex(r[0x2A0 + 144], ==, 1);
    g_assert_true(report_sig_ok(vcek, r));   /* outside R and S: a parser must catch it */

    /* Mangle a field and re-sign: valid signature, new content. */
    memcpy(r, good, sizeof(r));
    r[0x090] ^= 0xff;
    g_assert_false(report_sig_ok(vcek, r));
    g_assert_true(snpg_sim_sign(sim, r, &error));
    g_assert_true(report_sig_ok(vcek, r));
    /* Another chip's VCEK does not verify it. */
    {
        g_autofree char *other = sim_dir(SNPG_PRODUCT_MILAN);
        g_autoptr(SnpgSim) osim = snpg_sim_load(other, &error);
        g_assert_no_error(error);
        g_assert_false(report_sig_ok(snpg_sim_get_vcek(osim), r));
    }
}

/* Our offsets applied to genuine reports give what meta.json records, and
 * their signatures verify with the same R/S convention the simulator uses. */
static const char *const genuine[] = {
    "milan-v2-vcek-oak-071c9784",
    "milan-v3-vcek-oak-40a2778d",
    "genoa-v5-vcek-oak-6d1ceffa",
    "turin-v5-vcek-oak-3f44a09b",
    "milan-v2-vlek-constellation-5e8e4390",
};

static char *
hex_at(const guint8 *r, gsize off, gsize n)
{
    return snpg_test_hex(r + off, n);
}

static void
test_genuine_layout(void)
{
    for (gsize i = 0; i < G_N_ELEMENTS(genuine); i++) {
        g_autofree char *dir = snpg_test_data("vectors", "snp-reports", genuine[i], NULL);
        g_autofree char *meta_path = g_build_filename(dir, "meta.json", NULL);
        g_autofree char *report_path = g_build_filename(dir, "report.bin", NULL);
        gboolean vlek = strstr(genuine[i], "vlek") != NULL;
        g_autofree char *cert_path = g_build_filename(dir, vlek ? "vlek.der" : "vcek.der", NULL);
        g_autoptr(JsonParser) parser = json_parser_new();
        g_autoptr(GError) error = NULL;
        g_autofree char *data = NULL;
        g_autoptr(X509) cert = NULL;
        g_autofree char *policy = NULL, *pinfo = NULL, *tcb_raw = NULL, *version = NULL;
        g_autofree char *h1 = NULL, *h2 = NULL, *h3 = NULL, *h4 = NULL, *h5 = NULL;
        const guint8 *r;
        gsize len = 0;
        JsonObject *m, *cpuid;

        if (!g_file_test(meta_path, G_FILE_TEST_EXISTS)) {
            g_test_skip("the genuine vectors are not in tests/data/vectors");
            return;
        }
        g_assert_true(json_parser_load_from_file(parser, meta_path, &error));
        m = json_node_get_object(json_parser_get_root(parser));
        g_assert_true(g_file_get_contents(report_path, &data, &len, NULL));
        g_assert_cmpuint(len, ==, SNPG_REPORT_SIZE);
        r = (const guint8 *)data;
        cert = load_der(cert_path);

        g_assert_cmpuint(u32_at(r, OFF_VERSION), ==,
                         json_object_get_int_member(m, "report_version"));
        g_assert_cmpuint(u32_at(r, OFF_GUEST_SVN), ==,
                         json_object_get_int_member(m, "guest_svn"));
        policy = g_strdup_printf("0x%" G_GINT64_MODIFIER "x", u64_at(r, OFF_POLICY));
        g_assert_cmpstr(policy, ==, json_object_get_string_member(m, "policy"));
        g_assert_cmpuint(u32_at(r, OFF_VMPL), ==,
                         json_object_get_int_member(m, "vmpl"));
        g_assert_cmpuint(u32_at(r, OFF_SIGNATURE_ALGO), ==,
                         json_object_get_int_member(m, "signature_algo"));
        pinfo = g_strdup_printf("0x%" G_GINT64_MODIFIER "x",
                                u64_at(r, OFF_PLATFORM_INFO));
        g_assert_cmpstr(pinfo, ==, json_object_get_string_member(m, "platform_info"));
        g_assert_cmpuint((u32_at(r, OFF_FLAGS) >> 2) & 7, ==, vlek ? 1 : 0);
        h1 = hex_at(r, OFF_MEASUREMENT, 48);
        g_assert_cmpstr(h1, ==, json_object_get_string_member(m, "measurement"));
        h2 = hex_at(r, OFF_REPORT_DATA, 64);
        g_assert_cmpstr(h2, ==, json_object_get_string_member(m, "report_data"));
        h3 = hex_at(r, OFF_CHIP_ID, 64);
        g_assert_cmpstr(h3, ==, json_object_get_string_member(m, "chip_id"));
        h4 = hex_at(r, OFF_HOST_DATA, 32);
        g_assert_cmpstr(h4, ==, json_object_get_string_member(m, "host_data"));
        h5 = hex_at(r, OFF_REPORT_ID_MA, 32);
        g_assert_cmpstr(h5, ==, json_object_get_string_member(m, "report_id_ma"));
        /* meta.json prints the raw TCB as a big-endian u64. */
        tcb_raw = g_strdup_printf("%016" G_GINT64_MODIFIER "x",
                                  u64_at(r, OFF_REPORTED_TCB));
        g_assert_cmpstr(tcb_raw, ==, json_object_get_string_member(
                                         json_object_get_object_member(m, "reported_tcb"), "raw"));
        g_free(tcb_raw);
        tcb_raw = g_strdup_printf("%016" G_GINT64_MODIFIER "x",
                                  u64_at(r, OFF_LAUNCH_TCB));
        g_assert_cmpstr(tcb_raw, ==, json_object_get_string_member(
                                         json_object_get_object_member(m, "launch_tcb"), "raw"));
        version = g_strdup_printf("%u.%u.%u", r[OFF_CURRENT_VERSION + 2],
                                  r[OFF_CURRENT_VERSION + 1],
                                  r[OFF_CURRENT_VERSION]);
        g_assert_cmpstr(version, ==, json_object_get_string_member(m, "current_version"));
        cpuid = json_object_get_object_member(m, "cpuid");
        if (!json_object_get_null_member(cpuid, "fam")) {
            g_assert_cmpuint(r[OFF_CPUID_FAM], ==,
                             json_object_get_int_member(cpuid, "fam"));
            g_assert_cmpuint(r[OFF_CPUID_MOD], ==,
                             json_object_get_int_member(cpuid, "mod"));
            g_assert_cmpuint(r[OFF_CPUID_STEP], ==,
                             json_object_get_int_member(cpuid, "step"));
        }
        if (json_object_has_member(m, "launch_mit_vector") &&
            !json_object_get_null_member(m, "launch_mit_vector"))
            g_assert_cmpuint(u64_at(r, OFF_LAUNCH_MIT_VECTOR), ==,
                             json_object_get_int_member(m, "launch_mit_vector"));
        g_assert_true(report_sig_ok(cert, r));
    }
}

/* A writer that feeds a pipe until the reader stops reading (EPIPE) or the
 * limit is reached; counts what it managed to write. */
typedef struct {
    int fd;
    gsize limit;
    gsize written;
} PipeFeeder;

static gpointer
pipe_feeder(gpointer data)
{
    PipeFeeder *f = data;
    static guint8 chunk[16384];

    memset(chunk, 'A', sizeof(chunk));
    while (f->written < f->limit) {
        ssize_t n = write(f->fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        f->written += (gsize)n;
    }
    close(f->fd);
    return NULL;
}

/* The identity may come from a fw_cfg blob the (untrusted) host wrote: a
 * huge or endless one must be refused after a bounded read, not slurped
 * whole into memory first. */
static void
test_identity_bounded_read(void)
{
    PipeFeeder feeder = { .limit = 64u << 20 };
    g_autoptr(GError) error = NULL;
    g_autofree char *path = NULL;
    SnpgSimIdentity *id;
    GThread *thread;
    int fds[2];

    signal(SIGPIPE, SIG_IGN);
    g_assert_cmpint(pipe(fds), ==, 0);
    feeder.fd = fds[1];
    path = g_strdup_printf("/proc/self/fd/%d", fds[0]);
    thread = g_thread_new("feeder", pipe_feeder, &feeder);
    id = snpg_sim_identity_load(path, &error);
    close(fds[0]);
    g_thread_join(thread);
    g_assert_null(id);
    g_assert_error(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_FORMAT);
    /* 64 KiB identity cap plus what the pipe buffers: far below the 64 MiB offered. */
    g_assert_cmpuint(feeder.written, <, 4u << 20);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/sim/identity/bounded-read", test_identity_bounded_read);
    g_test_add_func("/sim/chain/verify", test_chain);
    g_test_add_func("/sim/chain/vcek-extensions", test_vcek_extensions);
    g_test_add_func("/sim/init/same-root", test_init);
    g_test_add_func("/sim/report/fields", test_report_fields);
    g_test_add_func("/sim/report/defaults", test_report_defaults);
    g_test_add_func("/sim/report/malformed", test_report_malformed);
    g_test_add_func("/sim/report/genuine-layout", test_genuine_layout);
    return g_test_run();
}
