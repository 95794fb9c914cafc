/* Benchmark of report verification against floors measured in the same run:
 *   cached:  reports/s with the chain already verified, vs one ECDSA P-384
 *            verification per report (libcrypto in a loop, as openssl speed);
 *   first:   a verification that also checks the chain (fresh verifier), vs
 *            one ECDSA plus three RSA-4096 PSS verifications.
 * Usage: bench-verify VECTOR_DIR [SECONDS]. Prints ratios; exits 1 when a
 * target (cached >= 0.85x, first <= 1.2x) is missed. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "amd-certs.h"
#include "autocleanups.h"
#include "verify.h"

static double seconds = 2.0;

static GBytes *
slurp(const char *dir, const char *name)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autoptr(GError) error = NULL;
    char *data = NULL;
    gsize len = 0;

    if (!g_file_get_contents(path, &data, &len, &error)) {
        fprintf(stderr, "bench-verify: %s\n", error->message);
        exit(1);
    }
    return g_bytes_new_take(data, len);
}

/* Runs fn until the time is up; returns seconds per call. */
static double
time_loop(void (*fn)(gpointer), gpointer data)
{
    gint64 start = g_get_monotonic_time(), now;
    guint64 n = 0;

    do {
        for (int i = 0; i < 16; i++)
            fn(data);
        n += 16;
        now = g_get_monotonic_time();
    } while (now - start < (gint64)(seconds * G_USEC_PER_SEC));
    return (double)(now - start) / G_USEC_PER_SEC / (double)n;
}

typedef struct {
    EVP_PKEY *key;
    EVP_PKEY_CTX *ctx;
    const guint8 *tbs;
    gsize tbs_len;
    guint8 digest[64];
    gsize digest_len;
    guint8 sig[600];
    gsize sig_len;
    gboolean pss;
} Floor;

/* One raw verification of a precomputed digest (what openssl speed times). */
static void
floor_verify(gpointer p)
{
    Floor *f = p;
    if (EVP_PKEY_verify(f->ctx, f->sig, f->sig_len, f->digest, f->digest_len) != 1) {
        fprintf(stderr, "bench-verify: floor verification failed\n");
        exit(1);
    }
}

static void
floor_init(Floor *f, EVP_PKEY *key, const guint8 *sig, gsize sig_len, const guint8 *tbs,
           gsize tbs_len, gboolean pss)
{
    unsigned int n = 0;

    memset(f, 0, sizeof(*f));
    f->key = key;
    EVP_Digest(tbs, tbs_len, f->digest, &n, EVP_sha384(), NULL);
    f->digest_len = n;
    memcpy(f->sig, sig, sig_len);
    f->sig_len = sig_len;
    f->ctx = EVP_PKEY_CTX_new(key, NULL);
    EVP_PKEY_verify_init(f->ctx);
    EVP_PKEY_CTX_set_signature_md(f->ctx, EVP_sha384());
    if (pss) {
        EVP_PKEY_CTX_set_rsa_padding(f->ctx, RSA_PKCS1_PSS_PADDING);
        EVP_PKEY_CTX_set_rsa_mgf1_md(f->ctx, EVP_sha384());
        EVP_PKEY_CTX_set_rsa_pss_saltlen(f->ctx, 48);
    }
}

/* The RSA-PSS floor: the certificate's own signature over its TBS bytes. */
static void
floor_init_cert(Floor *f, X509 *cert, X509 *issuer)
{
    const ASN1_BIT_STRING *sig = NULL;
    unsigned char *tbs = NULL;
    int tbs_len = i2d_re_X509_tbs(cert, &tbs);

    X509_get0_signature(&sig, NULL, cert);
    floor_init(f, X509_get0_pubkey(issuer), ASN1_STRING_get0_data(sig),
               (gsize)ASN1_STRING_length(sig), tbs, (gsize)tbs_len, TRUE);
    OPENSSL_free(tbs);
}

typedef struct {
    SnpgVerifier *verifier;
    GBytes *report;
    GBytes *leaf;
    SnpgVerifyOptions *opts;
} Run;

static void
verify_cached(gpointer p)
{
    Run *r = p;
    g_autoptr(SnpgVerifyResult) res = snpg_verifier_verify(r->verifier,
        g_bytes_get_data(r->report, NULL), g_bytes_get_size(r->report),
        g_bytes_get_data(r->leaf, NULL), g_bytes_get_size(r->leaf), r->opts);
    if (!snpg_verify_result_accepted(res)) {
        fprintf(stderr, "bench-verify: the report was rejected\n");
        exit(1);
    }
}

static void
verify_first(gpointer p)
{
    Run *r = p;
    g_autoptr(SnpgVerifier) v = snpg_verifier_new();
    Run fresh = *r;

    fresh.verifier = v;
    verify_cached(&fresh);
}

static Floor *floors;

static void
floor_first(gpointer p)
{
    (void)p;
    for (int i = 0; i < 4; i++)
        floor_verify(&floors[i]);
}

int
main(int argc, char **argv)
{
    g_autoptr(GBytes) report = NULL;
    g_autoptr(GBytes) leaf = NULL;
    g_autoptr(SnpgReport) parsed = NULL;
    g_autoptr(X509) leaf_cert = NULL;
    g_autoptr(X509) ask = NULL;
    g_autoptr(X509) ark = NULL;
    g_autoptr(SnpgVerifier) verifier = snpg_verifier_new();
    g_auto(SnpgVerifyOptions) opts = { 0 };
    g_autofree guint8 *der = NULL;
    gsize der_len = 0;
    Floor fl[4];
    Run run;
    double t_floor, t_cached, t_floor_first, t_first, r_cached, r_first;
    gboolean vlek;

    if (argc < 2) {
        fprintf(stderr, "usage: bench-verify VECTOR_DIR [SECONDS]\n");
        return 2;
    }
    if (argc > 2)
        seconds = g_ascii_strtod(argv[2], NULL);
    report = slurp(argv[1], "report.bin");
    vlek = g_file_test(g_build_filename(argv[1], "vlek.der", NULL), G_FILE_TEST_EXISTS);
    leaf = slurp(argv[1], vlek ? "vlek.der" : "vcek.der");
    parsed = snpg_report_parse(g_bytes_get_data(report, NULL), g_bytes_get_size(report), NULL);
    leaf_cert = snpg_cert_load(g_bytes_get_data(leaf, NULL), g_bytes_get_size(leaf), NULL);
    if (!parsed || !leaf_cert || !snpg_report_signature_der(parsed, &der, &der_len, NULL)) {
        fprintf(stderr, "bench-verify: unusable vector '%s'\n", argv[1]);
        return 1;
    }
    {
        g_auto(SnpgCertExt) ext = { 0 };
        snpg_cert_ext_parse(leaf_cert, &ext, NULL);
        ark = snpg_amd_cert_get(ext.product, SNPG_AMD_CERT_ARK, NULL);
        ask = snpg_amd_cert_get(ext.product, vlek ? SNPG_AMD_CERT_ASVK : SNPG_AMD_CERT_ASK, NULL);
    }
    snpg_verify_options_init(&opts);
    opts.has_now = TRUE;
    opts.now = X509_cmp_time(X509_get0_notAfter(leaf_cert), NULL) > 0
                   ? g_get_real_time() / G_USEC_PER_SEC : 0;
    if (!opts.now) {
        gint64 nb = 0, na = 0;
        snpg_cert_validity(leaf_cert, &nb, &na);
        opts.now = nb + (na - nb) / 2;
    }
    opts.allow_debug = TRUE;
    run = (Run){ verifier, report, leaf, &opts };

    floor_init(&fl[0], X509_get0_pubkey(leaf_cert), der, der_len, parsed->raw,
               SNPG_REPORT_SIGNED_SIZE, FALSE);
    floor_init_cert(&fl[1], ark, ark);
    floor_init_cert(&fl[2], ask, ark);
    floor_init_cert(&fl[3], leaf_cert, ask);
    floors = fl;

    verify_cached(&run);            /* warms the cache */
    t_floor = time_loop(floor_verify, &fl[0]);
    t_cached = time_loop(verify_cached, &run);
    t_floor_first = time_loop(floor_first, NULL);
    t_first = time_loop(verify_first, &run);
    r_cached = t_floor / t_cached;
    r_first = t_first / t_floor_first;

    printf("vector: %s\n", argv[1]);
    printf("floor:  ECDSA P-384 verify            %8.0f /s\n", 1.0 / t_floor);
    printf("cached: report verifications          %8.0f /s  ratio %.2fx of floor (target >= 0.85x)\n",
           1.0 / t_cached, r_cached);
    printf("floor:  1 ECDSA + 3 RSA-4096 PSS      %8.1f us\n", t_floor_first * 1e6);
    printf("first:  verification with the chain   %8.1f us  ratio %.2fx of floor (target <= 1.2x)\n",
           t_first * 1e6, r_first);
    for (int i = 0; i < 4; i++)
        EVP_PKEY_CTX_free(fl[i].ctx);
    return r_cached >= 0.85 && r_first <= 1.2 ? 0 : 1;
}
