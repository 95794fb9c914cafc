/* KDS addresses and the certificate cache, with genuine AMD certificates
 * (tests/data/vectors) and the simulator's test hierarchy (tests/data/sim). */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "autocleanups.h"
#include "certcache.h"
#include "report.h"
#include "testutil.h"

#define MILAN_V2 "milan-v2-vcek-oak-071c9784"
#define TURIN_V5 "turin-v5-vcek-oak-3f44a09b"
#define GENOA_V5 "genoa-v5-vcek-oak-6d1ceffa"
#define MILAN_VLEK "milan-v2-vlek-constellation-5e8e4390"

static char *
vec(const char *name, const char *file)
{
    return snpg_test_data("vectors", "snp-reports", name, file, NULL);
}

static gboolean
have_vectors(void)
{
    g_autofree char *p = vec(MILAN_V2, "report.bin");

    if (!g_file_test(p, G_FILE_TEST_EXISTS)) {
        g_test_skip("the genuine vectors are not in tests/data/vectors");
        return FALSE;
    }
    return TRUE;
}

static SnpgReport *
load_report(const char *name)
{
    g_autofree char *path = vec(name, "report.bin");
    g_autofree char *data = NULL;
    g_autoptr(GError) error = NULL;
    SnpgReport *r;
    gsize len = 0;

    g_assert_true(g_file_get_contents(path, &data, &len, NULL));
    r = snpg_report_parse((const guint8 *)data, len, &error);
    g_assert_no_error(error);
    return r;
}

static void
test_urls(void)
{
    g_autoptr(SnpgReport) k = NULL;
    SnpgTcb tcb;
    g_autoptr(GError) error = NULL;
    g_autofree char *milan = NULL, *turin = NULL, *genoa = NULL;
    g_autofree char *chain = NULL, *crl = NULL, *vchain = NULL, *vcrl = NULL;

    if (!have_vectors())
        return;
    /* Milan v2: no CPUID; the caller names the product. TCB d114000000000003. */
    k = load_report(MILAN_V2);
    g_assert_cmpuint(k->version, ==, 2);
    g_assert_cmpint(k->product, ==, SNPG_PRODUCT_UNKNOWN);
    snpg_tcb_decode(k->reported_tcb, SNPG_PRODUCT_MILAN, &tcb);
    milan = snpg_certcache_vcek_url(SNPG_PRODUCT_MILAN, k->chip_id, &tcb, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(milan, ==,
                    "https://kdsintf.amd.com/vcek/v1/Milan/"
                    "d434c30555a180626ade858fb3efdb214c08596a812f188620af8a7cebce86f4"
                    "b24f4f1a53b5cd9f22cfeaffb3527fc07b51b6270910cf694e7c9bfc582d3a49"
                    "?blSPL=03&teeSPL=00&snpSPL=20&ucodeSPL=209");

    /* Turin v5: product from CPUID, 8-byte hwID, fmcSPL first. */
    g_clear_pointer(&k, snpg_report_free);
    k = load_report(TURIN_V5);
    g_assert_cmpint(k->product, ==, SNPG_PRODUCT_TURIN);
    snpg_tcb_decode(k->reported_tcb, k->product, &tcb);
    turin = snpg_certcache_vcek_url(k->product, k->chip_id, &tcb, &error);
    g_assert_cmpstr(turin, ==,
                    "https://kdsintf.amd.com/vcek/v1/Turin/3b42092f69c656d3"
                    "?fmcSPL=00&blSPL=01&teeSPL=00&snpSPL=02&ucodeSPL=71");

    g_clear_pointer(&k, snpg_report_free);
    k = load_report(GENOA_V5);
    g_assert_cmpint(k->product, ==, SNPG_PRODUCT_GENOA);
    snpg_tcb_decode(k->reported_tcb, k->product, &tcb);
    genoa = snpg_certcache_vcek_url(k->product, k->chip_id, &tcb, &error);
    g_assert_true(g_str_has_suffix(genoa, "?blSPL=10&teeSPL=00&snpSPL=25&ucodeSPL=84"));

    /* VLEK: zero chip id, no per-chip address; vlek chain and CRL. */
    g_clear_pointer(&k, snpg_report_free);
    k = load_report(MILAN_VLEK);
    g_assert_cmpuint(k->signing_key, ==, SNPG_SIGNING_KEY_VLEK);
    snpg_tcb_decode(k->reported_tcb, SNPG_PRODUCT_MILAN, &tcb);
    g_assert_null(snpg_certcache_vcek_url(SNPG_PRODUCT_MILAN, k->chip_id, &tcb, &error));
    g_assert_error(error, SNPG_CERTCACHE_ERROR, SNPG_CERTCACHE_ERROR_INVALID);
    g_clear_error(&error);
    g_assert_null(snpg_certcache_vcek_url(SNPG_PRODUCT_UNKNOWN, k->chip_id, &tcb, &error));
    g_clear_error(&error);

    chain = snpg_certcache_chain_url(SNPG_PRODUCT_GENOA, FALSE);
    crl = snpg_certcache_crl_url(SNPG_PRODUCT_GENOA, FALSE);
    vchain = snpg_certcache_chain_url(SNPG_PRODUCT_MILAN, TRUE);
    vcrl = snpg_certcache_crl_url(SNPG_PRODUCT_MILAN, TRUE);
    g_assert_cmpstr(chain, ==, "https://kdsintf.amd.com/vcek/v1/Genoa/cert_chain");
    g_assert_cmpstr(crl, ==, "https://kdsintf.amd.com/vcek/v1/Genoa/crl");
    g_assert_cmpstr(vchain, ==, "https://kdsintf.amd.com/vlek/v1/Milan/cert_chain");
    g_assert_cmpstr(vcrl, ==, "https://kdsintf.amd.com/vlek/v1/Milan/crl");
}

static GPtrArray *
import(const char *cache, GError **error, ...)
{
    g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(g_free);
    va_list ap;

    va_start(ap, error);
    for (const char *f = va_arg(ap, const char *); f; f = va_arg(ap, const char *))
        g_ptr_array_add(files, g_strdup(f));
    va_end(ap);
    g_ptr_array_add(files, NULL);
    return snpg_certcache_import(cache, (const char *const *)files->pdata, error);
}

static void
test_import_find(void)
{
    g_autofree char *cache = snpg_test_tmpdir();
    g_autofree char *vcek = NULL, *ask = NULL, *ark = NULL;
    g_autofree char *found_path = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) got = NULL;
    g_autoptr(GPtrArray) list = NULL;
    g_autoptr(X509) found = NULL;
    g_autofree char *want_der = NULL;
    g_autoptr(SnpgReport) k = NULL;
    SnpgTcb tcb;
    gsize want_len = 0;

    if (!have_vectors())
        return;
    vcek = vec(MILAN_V2, "vcek.der");
    ask = vec(MILAN_V2, "ask.pem");
    ark = vec(MILAN_V2, "ark.pem");
    /* Leaf first on the command line: imported after its chain anyway. */
    got = import(cache, &error, vcek, ask, ark, NULL);
    g_assert_no_error(error);
    g_assert_cmpuint(got->len, ==, 3);
    for (guint i = 0; i < got->len; i++) {
        const SnpgCertcacheEntry *e = got->pdata[i];
        g_assert_cmpint(e->product, ==, SNPG_PRODUCT_MILAN);
        g_assert_true(e->verified);
        g_assert_true(g_file_test(e->path, G_FILE_TEST_EXISTS));
    }
    g_assert_cmpint(((SnpgCertcacheEntry *)got->pdata[0])->kind, ==, SNPG_CERTCACHE_KIND_ARK);
    g_assert_cmpint(((SnpgCertcacheEntry *)got->pdata[1])->kind, ==, SNPG_CERTCACHE_KIND_ASK);
    g_assert_cmpint(((SnpgCertcacheEntry *)got->pdata[2])->kind, ==, SNPG_CERTCACHE_KIND_VCEK);
    g_assert_cmpuint(((SnpgCertcacheEntry *)got->pdata[2])->tcb.snp, ==, 20);
    g_assert_cmpuint(((SnpgCertcacheEntry *)got->pdata[2])->tcb.ucode, ==, 209);

    /* find_vcek with the report's chip id and REPORTED_TCB. */
    k = load_report(MILAN_V2);
    snpg_tcb_decode(k->reported_tcb, SNPG_PRODUCT_MILAN, &tcb);
    found = snpg_certcache_find_vcek(cache, SNPG_PRODUCT_MILAN, k->chip_id, &tcb, &found_path,
                                     &error);
    g_assert_no_error(error);
    g_assert_nonnull(found);
    g_assert_true(g_file_get_contents(vcek, &want_der, &want_len, NULL));
    {
        unsigned char *der = NULL;
        int len = i2d_X509(found, &der);
        g_assert_cmpmem(der, len, want_der, want_len);
        OPENSSL_free(der);
    }
    g_assert_true(g_str_has_suffix(found_path, "-bl3-tee0-snp20-ucode209.der"));

    /* Another TCB, another chip, another product: not found. */
    tcb.snp++;
    g_assert_null(snpg_certcache_find_vcek(cache, SNPG_PRODUCT_MILAN, k->chip_id, &tcb, NULL,
                                           &error));
    g_assert_error(error, SNPG_CERTCACHE_ERROR, SNPG_CERTCACHE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    tcb.snp--;
    k->chip_id[5] ^= 1;
    g_assert_null(snpg_certcache_find_vcek(cache, SNPG_PRODUCT_MILAN, k->chip_id, &tcb, NULL,
                                           &error));
    g_assert_error(error, SNPG_CERTCACHE_ERROR, SNPG_CERTCACHE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    k->chip_id[5] ^= 1;
    g_assert_null(snpg_certcache_find_vcek(cache, SNPG_PRODUCT_GENOA, k->chip_id, &tcb, NULL,
                                           &error));
    g_assert_error(error, SNPG_CERTCACHE_ERROR, SNPG_CERTCACHE_ERROR_NOT_FOUND);
    g_clear_error(&error);

    /* A file renamed to another chip's name is not taken for it. */
    {
        g_autofree char *fake_name = NULL;
        g_autofree char *fake = NULL;
        SnpgTcb other = tcb;
        other.ucode = 1;
        fake_name = g_strdup_printf("%s", found_path);
        fake = g_strndup(found_path, strlen(found_path) - strlen("ucode209.der"));
        g_free(fake_name);
        fake_name = g_strconcat(fake, "ucode1.der", NULL);
        g_assert_cmpint(rename(found_path, fake_name), ==, 0);
        g_assert_null(snpg_certcache_find_vcek(cache, SNPG_PRODUCT_MILAN, k->chip_id, &other,
                                               NULL, &error));
        g_assert_error(error, SNPG_CERTCACHE_ERROR, SNPG_CERTCACHE_ERROR_NOT_FOUND);
        g_clear_error(&error);
        g_assert_cmpint(rename(fake_name, found_path), ==, 0);
    }

    /* The cached CAs. */
    {
        g_autoptr(X509) a = snpg_certcache_find_ca(cache, SNPG_PRODUCT_MILAN,
                                                   SNPG_CERTCACHE_KIND_ARK, NULL, &error);
        g_assert_no_error(error);
        g_assert_nonnull(a);
        g_assert_null(snpg_certcache_find_ca(cache, SNPG_PRODUCT_MILAN, SNPG_CERTCACHE_KIND_ASVK,
                                             NULL, &error));
        g_assert_error(error, SNPG_CERTCACHE_ERROR, SNPG_CERTCACHE_ERROR_NOT_FOUND);
        g_clear_error(&error);
    }

    /* Turin leaf alone (no chain cached: parsed, signature not checked), then VLEK. */
    {
        g_autofree char *tv = vec(TURIN_V5, "vcek.der");
        g_autofree char *vl = vec(MILAN_VLEK, "vlek.der");
        g_autofree char *asvk = vec(MILAN_VLEK, "asvk.pem");
        g_autoptr(GPtrArray) t = import(cache, &error, tv, NULL);
        g_autoptr(GPtrArray) v = NULL;
        g_assert_no_error(error);
        g_assert_cmpuint(t->len, ==, 1);
        g_assert_false(((SnpgCertcacheEntry *)t->pdata[0])->verified);
        g_assert_cmpstr(((SnpgCertcacheEntry *)t->pdata[0])->hwid, ==, "3b42092f69c656d3");
        g_assert_true(g_str_has_suffix(((SnpgCertcacheEntry *)t->pdata[0])->path,
                                       "Turin/vcek/3b42092f69c656d3-fmc0-bl1-tee0-snp2-ucode71.der"));
        /* VLEK checked against the ASVK in the same import. */
        v = import(cache, &error, vl, asvk, NULL);
        g_assert_no_error(error);
        g_assert_cmpuint(v->len, ==, 2);
        g_assert_cmpint(((SnpgCertcacheEntry *)v->pdata[0])->kind, ==, SNPG_CERTCACHE_KIND_ASVK);
        g_assert_cmpint(((SnpgCertcacheEntry *)v->pdata[1])->kind, ==, SNPG_CERTCACHE_KIND_VLEK);
        g_assert_true(((SnpgCertcacheEntry *)v->pdata[0])->verified);   /* by the cached ARK */
        g_assert_true(((SnpgCertcacheEntry *)v->pdata[1])->verified);
        g_assert_null(((SnpgCertcacheEntry *)v->pdata[1])->hwid);
    }

    list = snpg_certcache_list(cache, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(list->len, ==, 6);  /* Milan ARK ASK ASVK VCEK VLEK, Turin VCEK */
    g_assert_cmpint(((SnpgCertcacheEntry *)list->pdata[0])->kind, ==, SNPG_CERTCACHE_KIND_ARK);
    g_assert_cmpint(((SnpgCertcacheEntry *)list->pdata[5])->product, ==, SNPG_PRODUCT_TURIN);
}

/* A CRL signed by the simulator's (test) Milan ARK, RSA-PSS like AMD's. */
static char *
make_sim_crl(const char *dir)
{
    g_autofree char *sim = snpg_test_data("sim", "milan", NULL);
    g_autofree char *key_path = g_build_filename(sim, "ark-key.pem", NULL);
    g_autofree char *ark_path = g_build_filename(sim, "ark.pem", NULL);
    g_autoptr(BIO) kb = BIO_new_file(key_path, "r");
    g_autoptr(BIO) cb = BIO_new_file(ark_path, "r");
    g_autoptr(EVP_PKEY) key = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
    g_autoptr(X509) ark = PEM_read_bio_X509(cb, NULL, NULL, NULL);
    g_autoptr(X509_CRL) crl = X509_CRL_new();
    g_autoptr(EVP_MD_CTX) md = EVP_MD_CTX_new();
    ASN1_TIME *now = ASN1_TIME_set(NULL, time(NULL));
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char *der = NULL;
    int len;
    char *path;

    g_assert_nonnull(key);
    g_assert_nonnull(ark);
    g_assert_true(X509_CRL_set_version(crl, 1));
    g_assert_true(X509_CRL_set_issuer_name(crl, X509_get_subject_name(ark)));
    g_assert_true(X509_CRL_set1_lastUpdate(crl, now));
    g_assert_cmpint(EVP_DigestSignInit(md, &pctx, EVP_sha384(), NULL, key), ==, 1);
    g_assert_cmpint(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), >, 0);
    g_assert_cmpint(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48), >, 0);
    g_assert_cmpint(X509_CRL_sign_ctx(crl, md), >, 0);
    ASN1_TIME_free(now);
    len = i2d_X509_CRL(crl, &der);
    g_assert_cmpint(len, >, 0);
    path = snpg_test_write(dir, "sim.crl", der, (gsize)len);
    OPENSSL_free(der);
    return path;
}

static void
test_import_reject(void)
{
    g_autofree char *cache = snpg_test_tmpdir();
    g_autofree char *files = snpg_test_tmpdir();
    g_autofree char *garbage = snpg_test_write(files, "garbage.der", "hello", 5);
    g_autofree char *empty_pem = snpg_test_write(files, "x.pem", "-----BEGIN CERTIFICATE-----\n", 28);
    g_autofree char *sim_ask = snpg_test_data("sim", "milan", "ask.pem", NULL);
    g_autofree char *sim_ark = snpg_test_data("sim", "milan", "ark.pem", NULL);
    g_autofree char *sim_vcek = snpg_test_data("sim", "milan", "vcek.der", NULL);
    g_autofree char *crl = make_sim_crl(files);
    g_autofree char *amd_ark = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) got = NULL;
    g_autoptr(GPtrArray) list = NULL;

    g_assert_null(import(cache, &error, garbage, NULL));
    g_assert_error(error, SNPG_CERTCACHE_ERROR, SNPG_CERTCACHE_ERROR_PARSE);
    g_clear_error(&error);
    g_assert_null(import(cache, &error, empty_pem, NULL));
    g_assert_error(error, SNPG_CERTCACHE_ERROR, SNPG_CERTCACHE_ERROR_PARSE);
    g_clear_error(&error);
    g_assert_null(import(cache, &error, "/nonexistent/file.pem", NULL));
    g_assert_error(error, SNPG_CERTCACHE_ERROR, SNPG_CERTCACHE_ERROR_IO);
    g_clear_error(&error);
    /* One bad file: nothing at all is written. */
    g_assert_null(import(cache, &error, sim_ark, sim_ask, garbage, NULL));
    g_clear_error(&error);
    list = snpg_certcache_list(cache, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(list->len, ==, 0);
    g_clear_pointer(&list, g_ptr_array_unref);
    /* An ASK checked against the ARK given with it: AMD's Milan ASK is not
     * signed by the test ARK. */
    if (have_vectors()) {
        g_autofree char *real_ask = vec(MILAN_V2, "ask.pem");
        g_assert_null(import(cache, &error, sim_ark, real_ask, NULL));
        g_assert_error(error, SNPG_CERTCACHE_ERROR, SNPG_CERTCACHE_ERROR_SIGNATURE);
        g_clear_error(&error);
    }

    /* The simulator's chain and a CRL of its ARK import (signatures checked). */
    got = import(cache, &error, sim_vcek, sim_ark, sim_ask, crl, NULL);
    g_assert_no_error(error);
    g_assert_cmpuint(got->len, ==, 4);
    g_assert_cmpint(((SnpgCertcacheEntry *)got->pdata[2])->kind, ==, SNPG_CERTCACHE_KIND_CRL);
    for (guint i = 0; i < got->len; i++)
        g_assert_true(((SnpgCertcacheEntry *)got->pdata[i])->verified);

    /* With the test ARK cached, AMD's real Milan ASK does not verify. */
    if (have_vectors()) {
        g_autofree char *real_ask = vec(MILAN_V2, "ask.pem");
        g_assert_null(import(cache, &error, real_ask, NULL));
        g_assert_error(error, SNPG_CERTCACHE_ERROR, SNPG_CERTCACHE_ERROR_SIGNATURE);
        g_clear_error(&error);
        /* Replacing the root and the ASK together works. */
        amd_ark = vec(MILAN_V2, "ark.pem");
        g_clear_pointer(&got, g_ptr_array_unref);
        got = import(cache, &error, real_ask, amd_ark, NULL);
        g_assert_no_error(error);
        /* Now the simulator's VCEK no longer verifies against the cached ASK. */
        g_assert_null(import(cache, &error, sim_vcek, NULL));
        g_assert_error(error, SNPG_CERTCACHE_ERROR, SNPG_CERTCACHE_ERROR_SIGNATURE);
        g_clear_error(&error);
    }
}

static void
test_default_dir(void)
{
    g_unsetenv("SNPGUARD_CERT_CACHE");
    g_assert_cmpstr(snpg_certcache_default_dir(), ==, "/var/lib/snpguard/certs");
    g_setenv("SNPGUARD_CERT_CACHE", "", TRUE);
    g_assert_cmpstr(snpg_certcache_default_dir(), ==, "/var/lib/snpguard/certs");
    g_setenv("SNPGUARD_CERT_CACHE", "/tmp/x", TRUE);
    g_assert_cmpstr(snpg_certcache_default_dir(), ==, "/tmp/x");
    g_unsetenv("SNPGUARD_CERT_CACHE");
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/certcache/urls", test_urls);
    g_test_add_func("/certcache/import-find", test_import_find);
    g_test_add_func("/certcache/import-reject", test_import_reject);
    g_test_add_func("/certcache/default-dir", test_default_dir);
    return g_test_run();
}
