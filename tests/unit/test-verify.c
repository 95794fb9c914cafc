/* Verification: every genuine report is accepted inside its chain window;
 * every alteration, wrong chain, wrong time and policy violation is rejected
 * with its reason, and all failures are reported, not only the first. */
#include "config.h"

#include <string.h>

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "amd-certs.h"
#include "buf.h"
#include "reference.h"
#include "autocleanups.h"
#include "sim.h"
#include "testutil.h"
#include "vectors.h"
#include "verify.h"

static const char *const sweep_vectors[] = {
    "milan-v2-vcek-oak-071c9784", "milan-v3-vlek-trustee-decdab94",
    "genoa-v5-vcek-oak-6d1ceffa", "turin-v5-vcek-oak-3f44a09b",
};

static X509 *
load(const char *path)
{
    g_autoptr(GError) error = NULL;
    X509 *c = snpg_cert_load_file(path, &error);
    g_assert_no_error(error);
    return c;
}

static void
opts_at(SnpgVerifyOptions *o, gint64 now)
{
    snpg_verify_options_init(o);
    o->has_now = TRUE;
    o->now = now;
}

static SnpgVerifyResult *
run(SnpgVerifier *verifier, GBytes *report, GBytes *leaf, const SnpgVerifyOptions *o)
{
    SnpgVerifyResult *r = snpg_verifier_verify(verifier, g_bytes_get_data(report, NULL),
                                               g_bytes_get_size(report),
                                               leaf ? g_bytes_get_data(leaf, NULL) : NULL,
                                               leaf ? g_bytes_get_size(leaf) : 0, o);
    g_assert_nonnull(r);
    if (g_test_verbose())
        for (guint i = 0; i < r->failures->len; i++) {
            SnpgVerifyFailure *f = g_ptr_array_index(r->failures, i);
            g_test_message("  %s: %s", snpg_verify_reason_to_string(f->reason), f->detail);
        }
    return r;
}

static int
cmp_str(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The result's reason codes, sorted and comma-joined, for exact asserts. */
static char *
reasons(const SnpgVerifyResult *r)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new();
    for (guint i = 0; i < r->failures->len; i++) {
        const char *n = snpg_verify_reason_to_string(((SnpgVerifyFailure *)g_ptr_array_index(r->failures, i))->reason);
        gboolean dup = FALSE;
        for (guint k = 0; k < names->len; k++)
            dup |= g_str_equal(g_ptr_array_index(names, k), n);
        if (!dup)
            g_ptr_array_add(names, (gpointer)n);
    }
    g_ptr_array_sort(names, cmp_str);
    {
        g_autoptr(GString) s = g_string_new(NULL);
        for (guint i = 0; i < names->len; i++)
            g_string_append_printf(s, "%s%s", i ? "," : "", *(const char **)&names->pdata[i]);
        return g_string_free(g_steal_pointer(&s), FALSE);
    }
}

static void
assert_reasons(SnpgVerifier *verifier, GBytes *report, GBytes *leaf, const SnpgVerifyOptions *o,
               const char *want)
{
    g_autoptr(SnpgVerifyResult) r = run(verifier, report, leaf, o);
    g_autofree char *got = reasons(r);
    g_assert_cmpstr(got, ==, want);
}

static gboolean
is_debug(SnpgVector *v)
{
    g_autoptr(SnpgReport) r = snpg_report_parse(g_bytes_get_data(v->report, NULL),
                                                g_bytes_get_size(v->report), NULL);
    return r && (r->policy & SNPG_POLICY_DEBUG);
}

static void
test_genuine(void)
{
    g_autoptr(GPtrArray) vectors = snpg_vectors_load();
    g_autoptr(SnpgVerifier) verifier = snpg_verifier_new();
    guint debug_seen = 0, vlek_seen = 0;

    for (guint i = 0; i < vectors->len; i++) {
        SnpgVector *v = g_ptr_array_index(vectors, i);
        g_auto(SnpgVerifyOptions) o = { 0 };
        g_autoptr(SnpgVerifyResult) r = NULL;

        g_test_message("%s", v->name);
        opts_at(&o, v->window_mid);
        o.allow_debug = TRUE;
        r = run(verifier, v->report, v->leaf, &o);
        g_assert_cmpuint(r->failures->len, ==, 0);
        g_assert_true(snpg_verify_result_accepted(r));
        g_assert_cmpstr(snpg_product_to_string(r->product), ==,
                        json_object_get_string_member(v->meta, "product"));
        g_assert_cmpstr(snpg_cert_kind_to_string(r->key_kind), ==,
                        json_object_get_string_member(v->meta, "signing_key"));
        vlek_seen += v->vlek;
        /* Both ends of the window are inside it. */
        o.now = v->not_before;
        assert_reasons(verifier, v->report, v->leaf, &o, "");
        o.now = v->not_after;
        assert_reasons(verifier, v->report, v->leaf, &o, "");
        /* DEBUG guests are refused unless allowed, for that reason only. */
        o.now = v->window_mid;
        o.allow_debug = FALSE;
        if (is_debug(v)) {
            debug_seen++;
            assert_reasons(verifier, v->report, v->leaf, &o, "debug");
        } else {
            assert_reasons(verifier, v->report, v->leaf, &o, "");
        }
    }
    g_assert_cmpuint(debug_seen, >=, 1);
    g_assert_cmpuint(vlek_seen, ==, 7);
}

/* Every single-bit flip of the signed region is rejected. */
static void
test_bitflips(gconstpointer data)
{
    g_autoptr(SnpgVector) v = snpg_vector_load(data);
    g_autoptr(SnpgVerifier) verifier = snpg_verifier_new();
    g_auto(SnpgVerifyOptions) o = { 0 };
    g_autofree guint8 *buf = g_memdup2(g_bytes_get_data(v->report, NULL), SNPG_REPORT_SIZE);
    /* Under valgrind a full sweep would take many minutes; a stride keeps
     * every byte position covered across the bit numbers. */
    guint stride = RUNNING_ON_VALGRIND ? 61 : 1;
    guint flips = 0;

    opts_at(&o, v->window_mid);
    o.allow_debug = TRUE;
    for (guint bit = 0; bit < SNPG_REPORT_SIGNED_SIZE * 8; bit += stride) {
        g_autoptr(SnpgVerifyResult) r = NULL;

        buf[bit / 8] ^= (guint8)(1u << (bit % 8));
        r = snpg_verifier_verify(verifier, buf, SNPG_REPORT_SIZE, g_bytes_get_data(v->leaf, NULL),
                                 g_bytes_get_size(v->leaf), &o);
        buf[bit / 8] ^= (guint8)(1u << (bit % 8));
        if (snpg_verify_result_accepted(r))
            g_error("flip of bit %u (byte 0x%x) of %s accepted", bit, bit / 8, v->name);
        /* Either structurally refused or a failed signature, always. */
        g_assert_true(snpg_verify_result_has(r, SNPG_VERIFY_REASON_SIGNATURE) ||
                      snpg_verify_result_has(r, SNPG_VERIFY_REASON_MALFORMED));
        flips++;
    }
    g_assert_cmpuint(flips, >=, SNPG_REPORT_SIGNED_SIZE * 8 / stride);
}

/* Flips in R, S and the signature's reserved tail. */
static void
test_signature_flips(void)
{
    g_autoptr(SnpgVector) v = snpg_vector_load("milan-v3-vcek-oak-40a2778d");
    g_autoptr(SnpgVerifier) verifier = snpg_verifier_new();
    g_auto(SnpgVerifyOptions) o = { 0 };
    g_autofree guint8 *buf = g_memdup2(g_bytes_get_data(v->report, NULL), SNPG_REPORT_SIZE);
    guint stride = RUNNING_ON_VALGRIND ? 13 : 1;

    opts_at(&o, v->window_mid);
    for (guint bit = SNPG_REPORT_SIG_OFFSET * 8; bit < SNPG_REPORT_SIZE * 8; bit += stride) {
        g_autoptr(SnpgVerifyResult) r = NULL;
        gsize byte = bit / 8;

        /* The reserved tail only needs sampling: any set byte is malformed. */
        if (byte >= SNPG_REPORT_SIG_OFFSET + 144 && bit % 41)
            continue;
        buf[byte] ^= (guint8)(1u << (bit % 8));
        r = snpg_verifier_verify(verifier, buf, SNPG_REPORT_SIZE, g_bytes_get_data(v->leaf, NULL),
                                 g_bytes_get_size(v->leaf), &o);
        buf[byte] ^= (guint8)(1u << (bit % 8));
        g_assert_false(snpg_verify_result_accepted(r));
    }
}

static void
test_signature_encoding(void)
{
    g_autoptr(SnpgVector) v = snpg_vector_load("genoa-v3-vcek-trustee-18e907bf");
    g_autoptr(SnpgVerifier) verifier = snpg_verifier_new();
    g_auto(SnpgVerifyOptions) o = { 0 };
    guint8 buf[SNPG_REPORT_SIZE];

    opts_at(&o, v->window_mid);
    /* Non-zero bytes above the 48 significant ones, in R and in S. */
    for (int which = 0; which < 2; which++) {
        g_autoptr(GBytes) b = NULL;
        memcpy(buf, g_bytes_get_data(v->report, NULL), sizeof(buf));
        buf[SNPG_REPORT_SIG_OFFSET + which * 72 + 48] = 0x01;
        b = g_bytes_new(buf, sizeof(buf));
        assert_reasons(verifier, b, v->leaf, &o, "signature");
    }
    /* R and S stored big-endian (48 bytes reversed). */
    {
        g_autoptr(GBytes) b = NULL;
        memcpy(buf, g_bytes_get_data(v->report, NULL), sizeof(buf));
        for (int c = 0; c < 2; c++) {
            guint8 *p = buf + SNPG_REPORT_SIG_OFFSET + c * 72;
            for (int i = 0; i < 24; i++) {
                guint8 t = p[i];
                p[i] = p[47 - i];
                p[47 - i] = t;
            }
        }
        b = g_bytes_new(buf, sizeof(buf));
        assert_reasons(verifier, b, v->leaf, &o, "signature");
    }
    /* No signature at all, and a report that says it is unsigned. */
    {
        g_autoptr(GBytes) b = NULL;
        memcpy(buf, g_bytes_get_data(v->report, NULL), sizeof(buf));
        memset(buf + SNPG_REPORT_SIG_OFFSET, 0, SNPG_REPORT_SIZE - SNPG_REPORT_SIG_OFFSET);
        b = g_bytes_new(buf, sizeof(buf));
        assert_reasons(verifier, b, v->leaf, &o, "signature");
        snpg_put_u32le(buf + 0x48, 7u << 2);
        g_clear_pointer(&b, g_bytes_unref);
        b = g_bytes_new(buf, sizeof(buf));
        assert_reasons(verifier, b, v->leaf, &o, "signature,signing-key");
    }
}

static void
test_sizes(void)
{
    g_autoptr(SnpgVector) v = snpg_vector_load("milan-v2-vcek-oak-18fba71c");
    g_autoptr(SnpgVerifier) verifier = snpg_verifier_new();
    g_auto(SnpgVerifyOptions) o = { 0 };
    const guint8 *d = g_bytes_get_data(v->report, NULL);
    g_autofree guint8 *longer = g_malloc0(SNPG_REPORT_SIZE + 16);
    guint8 fill[SNPG_REPORT_SIZE];
    gsize cuts[] = { 0, 1, 4, SNPG_REPORT_SIGNED_SIZE, SNPG_REPORT_SIZE - 1 };

    opts_at(&o, v->window_mid);
    for (gsize i = 0; i < G_N_ELEMENTS(cuts); i++) {
        g_autoptr(GBytes) b = g_bytes_new(d, cuts[i]);
        assert_reasons(verifier, b, v->leaf, &o, "malformed");
    }
    memcpy(longer, d, SNPG_REPORT_SIZE);
    for (gsize extra = 1; extra <= 16; extra *= 4) {
        g_autoptr(GBytes) b = g_bytes_new(longer, SNPG_REPORT_SIZE + extra);
        assert_reasons(verifier, b, v->leaf, &o, "malformed");
    }
    for (int f = 0; f < 2; f++) {
        g_autoptr(GBytes) b = NULL;
        memset(fill, f ? 0xff : 0x00, sizeof(fill));
        b = g_bytes_new(fill, sizeof(fill));
        assert_reasons(verifier, b, v->leaf, &o, "malformed");
    }
}

static void
test_chain_rejections(void)
{
    g_autoptr(SnpgVector) milan = snpg_vector_load("milan-v3-vcek-oak-40a2778d");
    g_autoptr(SnpgVector) milan2 = snpg_vector_load("milan-v3-vcek-trustee-05b7438a");
    g_autoptr(SnpgVector) vlek = snpg_vector_load("milan-v3-vlek-trustee-decdab94");
    g_autoptr(SnpgVector) genoa = snpg_vector_load("genoa-v5-vcek-oak-6d1ceffa");
    g_autofree char *genoa_ask_path = snpg_test_data("vectors", "amd-roots", "ask_genoa.pem", NULL);
    g_autofree char *genoa_ark_path = snpg_test_data("vectors", "amd-roots", "ark_genoa.pem", NULL);
    g_autoptr(X509) m_ask = load(milan->ask_path);
    g_autoptr(X509) m_ark = load(milan->ark_path);
    g_autoptr(X509) g_ask = load(genoa_ask_path);
    g_autoptr(X509) g_ark = load(genoa_ark_path);
    g_auto(SnpgVerifyOptions) o = { 0 };

    opts_at(&o, milan->window_mid);
    g_assert_cmpint(milan2->window_mid, >, 0);

    /* The genuine chain supplied with the report is fine. */
    {
        g_autoptr(SnpgVerifier) v = snpg_verifier_new();
        snpg_verifier_set_supplied(v, SNPG_AMD_CERT_ASK, m_ask);
        snpg_verifier_set_supplied(v, SNPG_AMD_CERT_ARK, m_ark);
        assert_reasons(v, milan->report, milan->leaf, &o, "");
    }
    /* Another chip's VCEK (same product, valid chain). */
    {
        g_autoptr(SnpgVerifier) v = snpg_verifier_new();
        o.now = MAX(milan->not_before, milan2->not_before) + 86400;
        g_autoptr(SnpgVerifyResult) r = run(v, milan->report, milan2->leaf, &o);
        g_assert_true(snpg_verify_result_has(r, SNPG_VERIFY_REASON_CERT_CHIP_ID));
        g_assert_true(snpg_verify_result_has(r, SNPG_VERIFY_REASON_SIGNATURE));
        o.now = milan->window_mid;
    }
    /* Another product's ASK, ARK, or both. */
    {
        g_autoptr(SnpgVerifier) v = snpg_verifier_new();
        snpg_verifier_set_supplied(v, SNPG_AMD_CERT_ASK, g_ask);
        assert_reasons(v, milan->report, milan->leaf, &o, "root-untrusted");
        snpg_verifier_set_supplied(v, SNPG_AMD_CERT_ASK, NULL);
        snpg_verifier_set_supplied(v, SNPG_AMD_CERT_ARK, g_ark);
        assert_reasons(v, milan->report, milan->leaf, &o, "root-untrusted");
        snpg_verifier_set_supplied(v, SNPG_AMD_CERT_ASK, g_ask);
        assert_reasons(v, milan->report, milan->leaf, &o, "root-untrusted");
    }
    /* ARK and ASK swapped. */
    {
        g_autoptr(SnpgVerifier) v = snpg_verifier_new();
        snpg_verifier_set_supplied(v, SNPG_AMD_CERT_ASK, m_ark);
        snpg_verifier_set_supplied(v, SNPG_AMD_CERT_ARK, m_ask);
        assert_reasons(v, milan->report, milan->leaf, &o, "root-untrusted");
    }
    /* A Genoa report's chain presented for the Milan report. */
    {
        g_autoptr(SnpgVerifier) v = snpg_verifier_new();
        g_autoptr(SnpgVerifyResult) r = run(v, milan->report, genoa->leaf, &o);
        g_assert_true(snpg_verify_result_has(r, SNPG_VERIFY_REASON_PRODUCT));
        g_assert_true(snpg_verify_result_has(r, SNPG_VERIFY_REASON_CERT_CHIP_ID));
        g_assert_true(snpg_verify_result_has(r, SNPG_VERIFY_REASON_SIGNATURE));
        g_assert_true(snpg_verify_result_has(r, SNPG_VERIFY_REASON_TCB_MISMATCH));
        g_assert_false(snpg_verify_result_has(r, SNPG_VERIFY_REASON_CHAIN));  /* Genoa's chain is fine */
    }
    /* A VLEK report with a VCEK, and a VCEK report with a VLEK. */
    {
        g_autoptr(SnpgVerifier) v = snpg_verifier_new();
        g_auto(SnpgVerifyOptions) ov = { 0 };
        g_autoptr(SnpgVerifyResult) r = NULL;

        opts_at(&ov, vlek->window_mid);
        r = run(v, vlek->report, milan->leaf, &ov);
        g_assert_true(snpg_verify_result_has(r, SNPG_VERIFY_REASON_SIGNING_KEY));
        g_assert_true(snpg_verify_result_has(r, SNPG_VERIFY_REASON_SIGNATURE));
        g_clear_pointer(&r, snpg_verify_result_free);
        r = run(v, milan->report, vlek->leaf, &o);
        g_assert_true(snpg_verify_result_has(r, SNPG_VERIFY_REASON_SIGNING_KEY));
        g_assert_true(snpg_verify_result_has(r, SNPG_VERIFY_REASON_SIGNATURE));
        /* A VLEK with the ASK as its supplied intermediate (not the ASVK). */
        {
            g_autoptr(SnpgVerifier) v2 = snpg_verifier_new();
            g_autoptr(X509) asvk = load(vlek->ask_path);
            snpg_verifier_set_supplied(v2, SNPG_AMD_CERT_ASK, asvk);
            assert_reasons(v2, vlek->report, vlek->leaf, &ov, "");
        }
    }
    /* No certificate at all. */
    {
        g_autoptr(SnpgVerifier) v = snpg_verifier_new();
        assert_reasons(v, milan->report, NULL, &o, "cert-missing,signature");
    }
    /* Garbage instead of a certificate. */
    {
        g_autoptr(SnpgVerifier) v = snpg_verifier_new();
        g_autoptr(GBytes) junk = g_bytes_new_static("not a certificate", 17);
        assert_reasons(v, milan->report, junk, &o, "cert-invalid,signature");
    }
}

static X509 *
flip_signature(X509 *cert)
{
    unsigned char *der = NULL;
    int n = i2d_X509(cert, &der);
    const unsigned char *p = der;
    X509 *out;

    der[n - 5] ^= 0x01;
    out = d2i_X509(NULL, &p, n);
    OPENSSL_free(der);
    g_assert_nonnull(out);
    return out;
}

static void
test_trust_root(void)
{
    g_autoptr(SnpgVector) milan = snpg_vector_load("milan-v2-vcek-oak-e4a7eaff");
    g_autoptr(X509) ark = load(milan->ark_path);
    g_autoptr(X509) ask = load(milan->ask_path);
    g_autoptr(X509) broken = flip_signature(ark);
    g_autoptr(X509) broken_ask = flip_signature(ask);
    g_auto(SnpgVerifyOptions) o = { 0 };

    opts_at(&o, milan->window_mid);
    /* A broken ARK self-signature: untrusted when supplied... */
    {
        g_autoptr(SnpgVerifier) v = snpg_verifier_new();
        snpg_verifier_set_supplied(v, SNPG_AMD_CERT_ARK, broken);
        assert_reasons(v, milan->report, milan->leaf, &o, "root-untrusted");
    }
    /* ...and refused as an explicit trust root with its own ASK. */
    {
        g_autoptr(SnpgVerifier) v = snpg_verifier_new();
        snpg_verifier_set_trust_root(v, broken);
        snpg_verifier_set_supplied(v, SNPG_AMD_CERT_ARK, broken);
        snpg_verifier_set_supplied(v, SNPG_AMD_CERT_ASK, broken_ask);
        assert_reasons(v, milan->report, milan->leaf, &o, "chain");
    }
    /* An explicit root does not make a non-pinned ASK acceptable unless it
     * signed it: AMD's ARK as trust root, a broken ASK. */
    {
        g_autoptr(SnpgVerifier) v = snpg_verifier_new();
        snpg_verifier_set_trust_root(v, ark);
        snpg_verifier_set_supplied(v, SNPG_AMD_CERT_ASK, broken_ask);
        assert_reasons(v, milan->report, milan->leaf, &o, "chain");
    }
}

static void
test_validity(void)
{
    g_autoptr(SnpgVector) vlek = snpg_vector_load("milan-v2-vlek-trustee-affb92f9");
    g_autoptr(SnpgVector) turin = snpg_vector_load("turin-v5-vcek-oak-3f44a09b");
    g_autoptr(SnpgVerifier) v = snpg_verifier_new();
    g_auto(SnpgVerifyOptions) o = { 0 };

    opts_at(&o, vlek->not_after + 1);
    assert_reasons(v, vlek->report, vlek->leaf, &o, "cert-expired");
    o.now = vlek->not_before - 1;
    assert_reasons(v, vlek->report, vlek->leaf, &o, "cert-not-yet-valid");
    o.now = turin->not_before - 1;
    assert_reasons(v, turin->report, turin->leaf, &o, "cert-not-yet-valid");
    o.now = snpg_vector_time("2049-01-01 00:00:00");   /* past every AMD root too */
    {
        g_autoptr(SnpgVerifyResult) r = run(v, turin->report, turin->leaf, &o);
        g_autofree char *got = reasons(r);
        g_assert_cmpstr(got, ==, "cert-expired");
        g_assert_cmpuint(r->failures->len, ==, 3);   /* ARK, ASK and VCEK */
    }
}

static void
test_tampered(void)
{
    g_autofree char *rep = snpg_test_data("vectors", "tampered", "constellation-azure-attestation.bin", NULL);
    g_autofree char *vcek = snpg_test_data("vectors", "tampered", "constellation-azure-vcek.cert", NULL);
    g_autofree char *legacy = snpg_test_data("vectors", "tampered", "trustee-test-vcek-invalid-legacy.der", NULL);
    g_autofree char *nested = snpg_test_data("vectors", "tampered", "trustee-test-vcek-invalid-new.der", NULL);
    g_autoptr(GBytes) report = snpg_test_read(rep);
    g_autoptr(GBytes) cert = snpg_test_read(vcek);
    g_autoptr(GBytes) cert_legacy = snpg_test_read(legacy);
    g_autoptr(GBytes) cert_nested = snpg_test_read(nested);
    g_autoptr(SnpgVerifier) v = snpg_verifier_new();
    g_autoptr(SnpgVector) genuine = snpg_vector_load("milan-v2-vcek-trustee-1e4e3afc");
    g_auto(SnpgVerifyOptions) o = { 0 };
    g_autofree guint8 *fixed = NULL;

    opts_at(&o, snpg_vector_time("2024-01-01 00:00:00"));
    /* PLATFORM_INFO bit 0 changed after signing. */
    assert_reasons(v, report, cert, &o, "signature");
    /* Flipping it back restores the signature: the test is about that bit. */
    fixed = g_memdup2(g_bytes_get_data(report, NULL), g_bytes_get_size(report));
    fixed[0x40] ^= 0x01;
    {
        g_autoptr(GBytes) b = g_bytes_new(fixed, g_bytes_get_size(report));
        assert_reasons(v, b, cert, &o, "");
    }
    /* Edited VCEKs: the ASK's signature no longer verifies. */
    {
        g_autoptr(SnpgVerifyResult) r = run(v, genuine->report, cert_legacy, &o);
        g_assert_true(snpg_verify_result_has(r, SNPG_VERIFY_REASON_CHAIN));
        g_assert_false(snpg_verify_result_accepted(r));
    }
    {
        g_autoptr(SnpgVerifyResult) r = run(v, genuine->report, cert_nested, &o);
        g_assert_true(snpg_verify_result_has(r, SNPG_VERIFY_REASON_CHAIN));
        g_assert_true(snpg_verify_result_has(r, SNPG_VERIFY_REASON_CERT_INVALID));
    }
}

static GBytes *
hexb(const char *hex)
{
    return snpg_test_unhex(hex);
}

static void
test_policy_rejections(void)
{
    g_autoptr(GPtrArray) vectors = snpg_vectors_load();
    g_autoptr(SnpgVerifier) v = snpg_verifier_new();
    guint vmpl1 = 0;

    for (guint i = 0; i < vectors->len; i++) {
        SnpgVector *vec = g_ptr_array_index(vectors, i);
        JsonObject *m = vec->meta;
        g_auto(SnpgVerifyOptions) o = { 0 };
        const char *product = json_object_get_string_member(m, "product");

        opts_at(&o, vec->window_mid);
        o.allow_debug = TRUE;
        /* The reference values the vector itself has: accepted. */
        g_ptr_array_add(o.measurements, hexb("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"));
        g_ptr_array_add(o.measurements, hexb(json_object_get_string_member(m, "measurement")));
        o.report_data = hexb(json_object_get_string_member(m, "report_data"));
        o.host_data = hexb(json_object_get_string_member(m, "host_data"));
        o.family_id = hexb(json_object_get_string_member(m, "family_id"));
        o.image_id = hexb(json_object_get_string_member(m, "image_id"));
        o.id_key_digest = hexb(json_object_get_string_member(m, "id_key_digest"));
        o.author_key_digest = hexb(json_object_get_string_member(m, "author_key_digest"));
        g_ptr_array_add(o.chip_ids, hexb(json_object_get_string_member(m, "chip_id")));
        o.vmpl = (gint)json_object_get_int_member(m, "vmpl");
        o.product = snpg_product_from_string(product);
        o.min_guest_svn = json_object_get_int_member(m, "guest_svn");
        o.has_policy_max = TRUE;
        o.policy_max = g_ascii_strtoull(json_object_get_string_member(m, "policy"), NULL, 16);
        assert_reasons(v, vec->report, vec->leaf, &o, "");

        /* Now all wrong at once: every failure is reported. */
        g_ptr_array_remove_index(o.measurements, 1);
        g_clear_pointer(&o.report_data, g_bytes_unref);
        o.report_data = hexb("ff00000000000000000000000000000000000000000000000000000000000000"
                             "00000000000000000000000000000000000000000000000000000000000000ff");
        g_clear_pointer(&o.host_data, g_bytes_unref);
        o.host_data = hexb("aa000000000000000000000000000000000000000000000000000000000000aa");
        g_clear_pointer(&o.family_id, g_bytes_unref);
        o.family_id = hexb("0102030405060708090a0b0c0d0e0f10");
        g_clear_pointer(&o.image_id, g_bytes_unref);
        o.image_id = hexb("0102030405060708090a0b0c0d0e0f10");
        g_clear_pointer(&o.id_key_digest, g_bytes_unref);
        o.id_key_digest = hexb("11111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111");
        g_clear_pointer(&o.author_key_digest, g_bytes_unref);
        o.author_key_digest = hexb("11111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111");
        g_ptr_array_set_size(o.chip_ids, 0);
        g_ptr_array_add(o.chip_ids, hexb("01010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101010101"));
        o.vmpl = o.vmpl == 0 ? 1 : 0;
        o.product = o.product == SNPG_PRODUCT_MILAN ? SNPG_PRODUCT_GENOA : SNPG_PRODUCT_MILAN;
        o.min_guest_svn = json_object_get_int_member(m, "guest_svn") + 1;
        o.min_tcb.ucode = 255;
        o.min_tcb.bl = 255;
        o.min_abi_major = 9;
        o.min_abi_minor = 0;
        o.has_platform_info_mask = TRUE;
        o.platform_info_mask = 0;
        o.policy_max = 0;
        assert_reasons(v, vec->report, vec->leaf, &o,
                       "abi-min,author-key-digest,chip-id,family-id,guest-svn,host-data,id-key-digest,"
                       "image-id,measurement,min-tcb-committed,min-tcb-current,min-tcb-launch,"
                       "min-tcb-reported,platform-info,policy-max,product,report-data,vmpl");
        vmpl1 += json_object_get_int_member(m, "vmpl") == 1;
    }
    g_assert_cmpuint(vmpl1, >=, 2);
}

static void
test_min_tcb_components(void)
{
    g_autoptr(SnpgVector) turin = snpg_vector_load("turin-v5-vcek-oak-3f44a09b");
    g_autoptr(SnpgVector) milan = snpg_vector_load("milan-v2-vcek-go-sev-guest-377e6241");
    g_autoptr(SnpgVerifier) v = snpg_verifier_new();
    g_auto(SnpgVerifyOptions) o = { 0 };
    g_autoptr(GError) error = NULL;

    /* Turin: bl=1 snp=2 ucode=71 fmc=0. */
    opts_at(&o, turin->window_mid);
    g_assert_true(snpg_tcb_min_parse("fmc=0,bl=1,tee=0,snp=2,ucode=71", &o.min_tcb, &error));
    assert_reasons(v, turin->report, turin->leaf, &o, "");
    g_assert_true(snpg_tcb_min_parse("fmc=1", &o.min_tcb, &error));
    assert_reasons(v, turin->report, turin->leaf, &o,
                   "min-tcb-committed,min-tcb-current,min-tcb-launch,min-tcb-reported");
    g_assert_true(snpg_tcb_min_parse("fmc=0,snp=3", &o.min_tcb, &error));
    assert_reasons(v, turin->report, turin->leaf, &o,
                   "min-tcb-committed,min-tcb-current,min-tcb-launch,min-tcb-reported");
    g_assert_false(snpg_tcb_min_parse("snp=256", &o.min_tcb, &error));
    g_clear_error(&error);
    g_assert_false(snpg_tcb_min_parse("foo=1", &o.min_tcb, &error));
    g_clear_error(&error);
    g_assert_false(snpg_tcb_min_parse("snp", &o.min_tcb, &error));
    g_clear_error(&error);

    /* Milan: fmc does not exist there and is ignored. */
    snpg_verify_options_clear(&o);
    opts_at(&o, milan->window_mid);
    o.allow_debug = TRUE;   /* this vector's guest has DEBUG set */
    g_assert_true(snpg_tcb_min_parse("fmc=200", &o.min_tcb, &error));
    assert_reasons(v, milan->report, milan->leaf, &o, "");
}

static void
test_reason_table(void)
{
    for (int i = 0; i < SNPG_VERIFY_REASON_LAST; i++) {
        const char *name = snpg_verify_reason_to_string(i);
        g_assert_cmpstr(name, !=, "unknown");
        g_assert_cmpint(snpg_verify_reason_from_string(name), ==, i);
    }
    /* Stored values: these never change. */
    g_assert_cmpint(SNPG_VERIFY_REASON_MALFORMED, ==, 0);
    g_assert_cmpint(SNPG_VERIFY_REASON_SIGNATURE, ==, 1);
    g_assert_cmpint(SNPG_VERIFY_REASON_MEASUREMENT, ==, 14);
    g_assert_cmpint(SNPG_VERIFY_REASON_DEBUG, ==, 28);
    g_assert_cmpint(SNPG_VERIFY_REASON_PLATFORM_INFO, ==, 32);
    g_assert_cmpint(snpg_verify_reason_from_string("nope"), ==, -1);
}

/* The same ASK offered in another encoding each session (PEM, then DER):
 * the verifier keeps one copy, never one per offer. Counted through the
 * free notifications of the bytes it was given. */
static guint supplied_freed;

static void
count_free(gpointer data)
{
    supplied_freed++;
    g_free(data);
}

static GBytes *
counted_bytes(const void *data, gsize len)
{
    return g_bytes_new_with_free_func(g_memdup2(data, len), len, count_free, NULL);
}

static void
test_supplied_encodings(void)
{
    g_autoptr(SnpgVector) a = snpg_vector_load("genoa-v3-vcek-ccf-4ae0e73a");
    g_autoptr(GBytes) pem = snpg_test_read(a->ask_path);
    g_autoptr(X509) ask = snpg_cert_load(g_bytes_get_data(pem, NULL), g_bytes_get_size(pem), NULL);
    g_autoptr(SnpgVerifier) v = snpg_verifier_new();
    g_auto(SnpgVerifyOptions) o = { 0 };
    unsigned char *der = NULL;
    int der_len = i2d_X509(ask, &der);
    const guint rounds = 50;

    g_assert_cmpint(der_len, >, 0);
    opts_at(&o, a->window_mid);
    supplied_freed = 0;
    for (guint i = 0; i < 2 * rounds; i++) {
        g_autoptr(GBytes) b = i % 2 ? counted_bytes(der, (gsize)der_len)
                                    : counted_bytes(g_bytes_get_data(pem, NULL), g_bytes_get_size(pem));
        g_autoptr(GError) error = NULL;
        g_assert_true(snpg_verifier_set_supplied_der(v, SNPG_AMD_CERT_ASK, b, &error));
        g_assert_no_error(error);
    }
    /* Every copy but the one held now was released. */
    g_assert_cmpuint(supplied_freed, ==, 2 * rounds - 1);
    /* And the verdict is unchanged: still AMD's pinned ASK. */
    assert_reasons(v, a->report, a->leaf, &o, "");
    OPENSSL_free(der);
    g_clear_pointer(&v, snpg_verifier_free);
    g_assert_cmpuint(supplied_freed, ==, 2 * rounds);
}

static void
test_cache(void)
{
    g_autoptr(SnpgVector) a = snpg_vector_load("genoa-v3-vcek-ccf-4ae0e73a");
    g_autoptr(SnpgVerifier) v = snpg_verifier_new();
    g_auto(SnpgVerifyOptions) o = { 0 };

    opts_at(&o, a->window_mid);
    /* The cached verdict must not survive a change of configuration. */
    for (int i = 0; i < 3; i++)
        assert_reasons(v, a->report, a->leaf, &o, "");
    {
        g_autofree char *p = snpg_test_data("vectors", "amd-roots", "ask_turin.pem", NULL);
        g_autoptr(X509) other = load(p);
        snpg_verifier_set_supplied(v, SNPG_AMD_CERT_ASK, other);
        assert_reasons(v, a->report, a->leaf, &o, "root-untrusted");
        snpg_verifier_set_supplied(v, SNPG_AMD_CERT_ASK, NULL);
        assert_reasons(v, a->report, a->leaf, &o, "");
    }
    /* Time is not cached: the same leaf expires. */
    o.now = a->not_after + 10;
    assert_reasons(v, a->report, a->leaf, &o, "cert-expired");
}

/* A CRL issued under issuer's name, listing revoked's serial, signed by key
 * with RSASSA-PSS SHA-384 salt 48 (AMD's algorithm). */
static X509_CRL *
make_crl_until(X509 *issuer, EVP_PKEY *key, X509 *revoked, gint64 when, gint64 next_update)
{
    X509_CRL *crl = X509_CRL_new();
    g_autoptr(EVP_MD_CTX) mctx = EVP_MD_CTX_new();
    X509_REVOKED *rev = X509_REVOKED_new();
    ASN1_TIME *t = ASN1_TIME_set(NULL, (time_t)when);
    EVP_PKEY_CTX *pctx = NULL;

    X509_CRL_set_version(crl, 1);
    X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer));
    X509_CRL_set1_lastUpdate(crl, t);
    if (next_update) {
        ASN1_TIME *n = ASN1_TIME_set(NULL, (time_t)next_update);
        X509_CRL_set1_nextUpdate(crl, n);
        ASN1_TIME_free(n);
    }
    X509_REVOKED_set_serialNumber(rev, (ASN1_INTEGER *)X509_get0_serialNumber(revoked));
    X509_REVOKED_set_revocationDate(rev, t);
    X509_CRL_add0_revoked(crl, rev);
    g_assert_cmpint(EVP_DigestSignInit(mctx, &pctx, EVP_sha384(), NULL, key), ==, 1);
    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384());
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48);
    g_assert_cmpint(X509_CRL_sign_ctx(crl, mctx), >, 0);
    ASN1_TIME_free(t);
    return crl;
}

static X509_CRL *
make_crl(X509 *issuer, EVP_PKEY *key, X509 *revoked, gint64 when)
{
    return make_crl_until(issuer, key, revoked, when, 0);
}

/* A CRL that AMD's ARK did not sign is refused ("crl"); the revocation
 * lookup finds a listed serial. (A CRL the root did sign: /verify/sim/crl.) */
static void
test_crl_foreign(void)
{
    g_autoptr(SnpgVector) milan = snpg_vector_load("milan-v3-vcek-oak-8a73d9be");
    g_autoptr(X509) ark = load(milan->ark_path);
    g_autoptr(X509) vcek = snpg_cert_load(g_bytes_get_data(milan->leaf, NULL),
                                          g_bytes_get_size(milan->leaf), NULL);
    g_autoptr(EVP_PKEY) key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    g_autoptr(X509_CRL) crl = NULL;
    g_autoptr(SnpgVerifier) v = snpg_verifier_new();
    g_auto(SnpgVerifyOptions) o = { 0 };

    g_assert_nonnull(key);
    crl = make_crl(ark, key, vcek, milan->window_mid);
    g_assert_true(snpg_crl_is_revoked(crl, vcek));
    opts_at(&o, milan->window_mid);
    snpg_verifier_set_crl(v, crl);
    assert_reasons(v, milan->report, milan->leaf, &o, "crl");
    snpg_verifier_set_crl(v, NULL);
    assert_reasons(v, milan->report, milan->leaf, &o, "");
}

/* ---- reports signed by the simulated processor --------------------------
 * Policy cases the genuine vectors cannot show (DEBUG with everything else
 * valid, each TCB separately, policy bits, ...) use the committed test
 * hierarchy in tests/data/sim/<product>, its ARK as the explicit trust root.
 * Each test changes one thing and expects exactly its reason. */

typedef struct {
    SnpgSim *sim;
    X509 *ark;
    GBytes *vcek;
    SnpgVerifier *verifier;
    SnpgSimReportFields f;
    SnpgVerifyOptions o;
    SnpgTcb tcb;                /* the simulator's */
    char *dir;
} Sim;

static void
sim_clear(Sim *s)
{
    snpg_sim_free(s->sim);
    X509_free(s->ark);
    g_clear_pointer(&s->vcek, g_bytes_unref);
    snpg_verifier_free(s->verifier);
    snpg_verify_options_clear(&s->o);
    g_free(s->dir);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Sim, sim_clear)

static void
sim_setup(Sim *s, const char *product)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *ark = NULL;
    g_autofree char *ask_path = NULL;
    g_autofree char *vcek = NULL;
    g_autoptr(X509) ask = NULL;

    s->dir = snpg_test_data("sim", product, NULL);
    ask_path = g_build_filename(s->dir, "ask.pem", NULL);
    ask = load(ask_path);
    ark = g_build_filename(s->dir, "ark.pem", NULL);
    vcek = g_build_filename(s->dir, "vcek.der", NULL);
    s->sim = snpg_sim_load(s->dir, &error);
    g_assert_no_error(error);
    s->ark = load(ark);
    s->vcek = snpg_test_read(vcek);
    s->verifier = snpg_verifier_new();
    snpg_verifier_set_trust_root(s->verifier, s->ark);
    snpg_verifier_set_supplied(s->verifier, SNPG_AMD_CERT_ASK, ask);
    snpg_sim_get_tcb(s->sim, &s->tcb);
    snpg_sim_report_fields_init(&s->f);
    memset(s->f.measurement, 0x5a, sizeof(s->f.measurement));
    snpg_verify_options_init(&s->o);
}

/* Signs a report with the current fields and checks the verdict. */
static void
sim_expect(Sim *s, const char *want)
{
    guint8 buf[SNPG_REPORT_SIZE];
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) report = NULL;

    g_assert_true(snpg_sim_build_report(s->sim, &s->f, buf, &error));
    g_assert_no_error(error);
    report = g_bytes_new(buf, sizeof(buf));
    assert_reasons(s->verifier, report, s->vcek, &s->o, want);
}

static void
set_bytes(GBytes **slot, guint8 fill, gsize len)
{
    g_autofree guint8 *b = g_malloc(len);

    memset(b, fill, len);
    g_clear_pointer(slot, g_bytes_unref);
    *slot = g_bytes_new(b, len);
}

static void
test_sim_accepted(void)
{
    g_auto(Sim) s = { 0 };

    for (gsize i = 0; i < 3; i++) {
        const char *products[] = { "milan", "genoa", "turin" };
        g_auto(Sim) p = { 0 };
        sim_setup(&p, products[i]);
        sim_expect(&p, "");
    }
    /* Without the trust root the test hierarchy is refused. */
    sim_setup(&s, "milan");
    snpg_verifier_set_trust_root(s.verifier, NULL);
    sim_expect(&s, "chain,root-untrusted");
}

static void
test_sim_debug(void)
{
    g_auto(Sim) s = { 0 };

    sim_setup(&s, "milan");
    s.f.policy |= SNPG_POLICY_DEBUG;
    sim_expect(&s, "debug");
    s.o.allow_debug = TRUE;
    sim_expect(&s, "");
}

static void
test_sim_policy_max(void)
{
    g_auto(Sim) s = { 0 };

    sim_setup(&s, "genoa");
    s.f.policy |= SNPG_POLICY_MIGRATE_MA | SNPG_POLICY_SINGLE_SOCKET;
    s.o.has_policy_max = TRUE;
    s.o.policy_max = SNPG_POLICY_SMT | SNPG_POLICY_SINGLE_SOCKET;
    sim_expect(&s, "policy-max");
    s.o.policy_max |= SNPG_POLICY_MIGRATE_MA;
    sim_expect(&s, "");
    /* DEBUG allowed by --allow-debug is still a flag --policy-max may forbid. */
    s.f.policy |= SNPG_POLICY_DEBUG;
    s.o.allow_debug = TRUE;
    sim_expect(&s, "policy-max");
    /* Reserved bits that must be zero, or bit 17 clear: invalid. */
    s.f.policy = SNPG_POLICY_SMT;
    s.o.has_policy_max = FALSE;
    sim_expect(&s, "policy-invalid");
}

static void
test_sim_min_abi(void)
{
    g_auto(Sim) s = { 0 };

    sim_setup(&s, "milan");
    s.f.current_version[2] = 1;     /* major */
    s.f.current_version[1] = 55;    /* minor */
    s.f.committed_version[2] = 1;
    s.f.committed_version[1] = 54;
    s.o.min_abi_major = 1;
    s.o.min_abi_minor = 54;
    sim_expect(&s, "");
    s.o.min_abi_minor = 55;         /* the committed firmware is older */
    sim_expect(&s, "abi-min");
    s.o.min_abi_major = 2;
    s.o.min_abi_minor = 0;
    sim_expect(&s, "abi-min");
}

/* The ABI the guest policy demands (its ABI_MAJOR.ABI_MINOR), apart from
 * the firmware's own version. */
static void
test_sim_min_policy_abi(void)
{
    g_auto(Sim) s = { 0 };

    sim_setup(&s, "milan");
    s.f.policy = 0x30000 | (1 << 8) | 51;    /* requires ABI 1.51 */
    s.o.min_policy_abi_major = 1;
    s.o.min_policy_abi_minor = 51;
    sim_expect(&s, "");
    s.o.min_policy_abi_minor = 52;
    sim_expect(&s, "abi-min");
    s.o.min_policy_abi_major = 0;
    s.o.min_policy_abi_minor = 99;
    sim_expect(&s, "");
}

static void
test_sim_vmpl(void)
{
    g_auto(Sim) s = { 0 };

    sim_setup(&s, "milan");
    s.f.vmpl = 2;
    s.o.vmpl = 0;
    sim_expect(&s, "vmpl");
    s.o.vmpl = 2;
    sim_expect(&s, "");
}

static void
test_sim_guest_svn(void)
{
    g_auto(Sim) s = { 0 };

    sim_setup(&s, "milan");
    s.f.guest_svn = 6;
    s.o.min_guest_svn = 7;
    sim_expect(&s, "guest-svn");
    s.o.min_guest_svn = 6;
    sim_expect(&s, "");
}

/* Each TCB (reported, committed, launch, current) and each component below
 * the minimum is rejected with that TCB's reason. The reported TCB must stay
 * the VCEK's, so it is also tested with a minimum above the chip's (the only
 * way for a component that is 0, such as Turin's FMC here). */
static void
test_sim_min_tcb(gconstpointer data)
{
    const char *product = data;
    g_auto(Sim) s = { 0 };
    SnpgTcb low, high;
    const char *names[] = { "fmc", "bl", "tee", "snp", "ucode" };
    gboolean turin = g_str_equal(product, "turin");

    sim_setup(&s, product);
    for (gsize c = turin ? 0 : 1; c < G_N_ELEMENTS(names); c++) {
        guint8 *field[] = { &low.fmc, &low.bl, &low.tee, &low.snp, &low.ucode };
        guint8 *hfield[] = { &high.fmc, &high.bl, &high.tee, &high.snp, &high.ucode };
        gint *min[] = { &s.o.min_tcb.fmc, &s.o.min_tcb.bl, &s.o.min_tcb.tee, &s.o.min_tcb.snp,
                        &s.o.min_tcb.ucode };
        const guint8 *chip[] = { &s.tcb.fmc, &s.tcb.bl, &s.tcb.tee, &s.tcb.snp, &s.tcb.ucode };

        g_test_message("%s component %s", product, names[c]);
        snpg_tcb_min_init(&s.o.min_tcb);
        *min[c] = *chip[c];
        sim_expect(&s, "");
        if (*chip[c] > 0) {
            /* One TCB one below the minimum: exactly its reason. */
            low = s.tcb;
            *field[c] = *chip[c] - 1;
            s.f.committed_tcb = &low;
            sim_expect(&s, "min-tcb-committed");
            s.f.committed_tcb = NULL;
            s.f.launch_tcb = &low;
            sim_expect(&s, "min-tcb-launch");
            s.f.launch_tcb = NULL;
            s.f.current_tcb = &low;
            sim_expect(&s, "min-tcb-current");
            s.f.current_tcb = NULL;
            /* A lower REPORTED_TCB no longer matches the VCEK, and is too low. */
            s.f.reported_tcb = &low;
            sim_expect(&s, "min-tcb-reported,tcb-mismatch");
            s.f.reported_tcb = NULL;
        }
        /* REPORTED_TCB is bound to the VCEK: a minimum above the chip's. */
        *min[c] = *chip[c] + 1;
        sim_expect(&s, "min-tcb-committed,min-tcb-current,min-tcb-launch,min-tcb-reported");
        /* The other TCBs above it, one at a time left at the chip's. */
        high = s.tcb;
        *hfield[c] = *chip[c] + 1;
        s.f.current_tcb = s.f.committed_tcb = s.f.launch_tcb = &high;
        sim_expect(&s, "min-tcb-reported");
        s.f.committed_tcb = &s.tcb;
        sim_expect(&s, "min-tcb-committed,min-tcb-reported");
        s.f.committed_tcb = &high;
        s.f.launch_tcb = &s.tcb;
        sim_expect(&s, "min-tcb-launch,min-tcb-reported");
        s.f.launch_tcb = &high;
        s.f.current_tcb = &s.tcb;
        sim_expect(&s, "min-tcb-current,min-tcb-reported");
        s.f.current_tcb = s.f.committed_tcb = s.f.launch_tcb = NULL;
    }
}

static void
test_sim_platform_info(void)
{
    g_auto(Sim) s = { 0 };

    sim_setup(&s, "genoa");
    s.f.platform_info = 0x3;        /* SMT_EN | TSME_EN */
    s.o.has_platform_info_mask = TRUE;
    s.o.platform_info_mask = 0x1;
    sim_expect(&s, "platform-info");
    s.o.platform_info_mask = 0x3;
    sim_expect(&s, "");
    s.o.platform_info_required = 0x4;
    sim_expect(&s, "platform-info");
}

static void
test_sim_ids(void)
{
    g_auto(Sim) s = { 0 };

    sim_setup(&s, "milan");
    memset(s.f.family_id, 0x11, sizeof(s.f.family_id));
    memset(s.f.image_id, 0x22, sizeof(s.f.image_id));
    set_bytes(&s.o.family_id, 0x11, 16);
    set_bytes(&s.o.image_id, 0x22, 16);
    sim_expect(&s, "");
    set_bytes(&s.o.family_id, 0x12, 16);
    sim_expect(&s, "family-id");
    set_bytes(&s.o.family_id, 0x11, 16);
    set_bytes(&s.o.image_id, 0x21, 16);
    sim_expect(&s, "image-id");
}

static void
test_sim_key_digests(void)
{
    g_auto(Sim) s = { 0 };

    sim_setup(&s, "milan");
    memset(s.f.id_key_digest, 0x33, sizeof(s.f.id_key_digest));
    memset(s.f.author_key_digest, 0x44, sizeof(s.f.author_key_digest));
    s.f.author_key_en = TRUE;
    set_bytes(&s.o.id_key_digest, 0x33, 48);
    set_bytes(&s.o.author_key_digest, 0x44, 48);
    sim_expect(&s, "");
    set_bytes(&s.o.id_key_digest, 0x34, 48);
    sim_expect(&s, "id-key-digest");
    set_bytes(&s.o.id_key_digest, 0x33, 48);
    set_bytes(&s.o.author_key_digest, 0x00, 48);
    sim_expect(&s, "author-key-digest");
}

static void
test_sim_chip_id(void)
{
    g_auto(Sim) s = { 0 };
    g_autoptr(GBytes) own = NULL;

    sim_setup(&s, "milan");
    own = g_bytes_new(snpg_sim_get_chip_id(s.sim), 64);
    {
        GBytes *other = NULL;
        set_bytes(&other, 0x77, 64);
        g_ptr_array_add(s.o.chip_ids, other);
    }
    sim_expect(&s, "chip-id");
    g_ptr_array_add(s.o.chip_ids, g_bytes_ref(own));
    sim_expect(&s, "");
}

static void
test_sim_report_data(void)
{
    g_auto(Sim) s = { 0 };

    sim_setup(&s, "milan");
    memset(s.f.report_data, 0xab, sizeof(s.f.report_data));
    set_bytes(&s.o.report_data, 0xab, 64);
    sim_expect(&s, "");
    s.f.report_data[63] ^= 1;
    sim_expect(&s, "report-data");
}

static void
test_sim_host_data(void)
{
    g_auto(Sim) s = { 0 };

    sim_setup(&s, "milan");
    memset(s.f.host_data, 0xcd, sizeof(s.f.host_data));
    set_bytes(&s.o.host_data, 0xcd, 32);
    sim_expect(&s, "");
    s.f.host_data[0] ^= 0x80;
    sim_expect(&s, "host-data");
}

static void
test_sim_measurement(void)
{
    g_auto(Sim) s = { 0 };
    GBytes *m = NULL;

    sim_setup(&s, "turin");
    set_bytes(&m, 0x01, 48);
    g_ptr_array_add(s.o.measurements, m);
    m = NULL;
    set_bytes(&m, 0x02, 48);
    g_ptr_array_add(s.o.measurements, m);
    sim_expect(&s, "measurement");
    /* One of several allowed values is accepted. */
    m = NULL;
    set_bytes(&m, 0x5a, 48);
    g_ptr_array_add(s.o.measurements, m);
    sim_expect(&s, "");
}

static void
test_sim_product(void)
{
    g_auto(Sim) s = { 0 };

    sim_setup(&s, "genoa");
    s.o.product = SNPG_PRODUCT_MILAN;
    sim_expect(&s, "product");
    s.o.product = SNPG_PRODUCT_GENOA;
    sim_expect(&s, "");
    /* A Genoa VCEK signing a report whose CPUID says Milan. */
    s.o.product = SNPG_PRODUCT_UNKNOWN;
    s.f.cpuid_set = TRUE;
    snpg_sim_product_cpuid(SNPG_PRODUCT_MILAN, &s.f.cpuid_fam, &s.f.cpuid_mod, &s.f.cpuid_step);
    sim_expect(&s, "product");
}

static void
test_sim_signing_key(void)
{
    g_auto(Sim) s = { 0 };

    sim_setup(&s, "milan");
    s.f.signing_key = SNPG_SIGNING_KEY_VLEK;    /* but signed by the VCEK */
    sim_expect(&s, "signing-key");
    s.f.signing_key = SNPG_SIGNING_KEY_NONE;
    sim_expect(&s, "signing-key");
}

/* A CRL signed by the (trusted) test ARK that revokes the VCEK. */
static void
test_sim_crl(void)
{
    g_auto(Sim) s = { 0 };
    g_autofree char *key_path = NULL;
    g_autoptr(BIO) bio = NULL;
    g_autoptr(EVP_PKEY) ark_key = NULL;
    g_autoptr(X509) vcek = NULL;
    g_autoptr(X509_CRL) crl = NULL;
    g_autoptr(X509_CRL) other = NULL;

    sim_setup(&s, "milan");
    key_path = g_build_filename(s.dir, "ark-key.pem", NULL);
    bio = BIO_new_file(key_path, "r");
    ark_key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    g_assert_nonnull(ark_key);
    vcek = snpg_cert_load(g_bytes_get_data(s.vcek, NULL), g_bytes_get_size(s.vcek), NULL);
    crl = make_crl(s.ark, ark_key, vcek, g_get_real_time() / G_USEC_PER_SEC);
    snpg_verifier_set_crl(s.verifier, crl);
    sim_expect(&s, "cert-revoked");
    /* A CRL of the same root that lists another serial changes nothing. */
    other = make_crl(s.ark, ark_key, s.ark, g_get_real_time() / G_USEC_PER_SEC);
    snpg_verifier_set_crl(s.verifier, other);
    sim_expect(&s, "");
}

/* A CRL past its nextUpdate is stale: rejected ("crl"); a current one is fine. */
static void
test_sim_crl_stale(void)
{
    g_auto(Sim) s = { 0 };
    g_autofree char *key_path = NULL;
    g_autoptr(BIO) bio = NULL;
    g_autoptr(EVP_PKEY) ark_key = NULL;
    g_autoptr(X509_CRL) stale = NULL;
    g_autoptr(X509_CRL) current = NULL;
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;

    sim_setup(&s, "milan");
    key_path = g_build_filename(s.dir, "ark-key.pem", NULL);
    bio = BIO_new_file(key_path, "r");
    ark_key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    g_assert_nonnull(ark_key);
    /* Lists only the ARK's own serial: nothing the chain uses is revoked. */
    stale = make_crl_until(s.ark, ark_key, s.ark, now - 7200, now - 3600);
    snpg_verifier_set_crl(s.verifier, stale);
    sim_expect(&s, "crl");
    current = make_crl_until(s.ark, ark_key, s.ark, now - 7200, now + 86400);
    snpg_verifier_set_crl(s.verifier, current);
    sim_expect(&s, "");
}

/* A reference file whose list key is present but empty would leave the
 * verifier with no allowed values, i.e. no check at all: refused. */
static void
test_reference_empty_list(void)
{
    static const char *const bad[] = {
        "[snpguard-reference]\nmeasurement=\n",
        "[snpguard-reference]\nmeasurement=;\n",
        "[snpguard-reference]\nmeasurement= ; ;\n",
        "[snpguard-reference]\nchip-id=\n",
    };

    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_auto(SnpgVerifyOptions) o = { 0 };
        g_autoptr(GError) error = NULL;

        snpg_verify_options_init(&o);
        g_assert_false(snpg_reference_load_data(bad[i], strlen(bad[i]), &o, &error));
        g_assert_error(error, SNPG_REFERENCE_ERROR, SNPG_REFERENCE_ERROR_VALUE);
        g_assert_cmpuint(o.measurements->len, ==, 0);
    }
    /* Absent keys still mean "not checked". */
    {
        static const char ok[] = "[snpguard-reference]\nvmpl=0\n";
        g_auto(SnpgVerifyOptions) o = { 0 };
        g_autoptr(GError) error = NULL;

        snpg_verify_options_init(&o);
        g_assert_true(snpg_reference_load_data(ok, strlen(ok), &o, &error));
        g_assert_no_error(error);
    }
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/verify/reasons/table", test_reason_table);
    g_test_add_func("/verify/genuine/all", test_genuine);
    for (gsize i = 0; i < G_N_ELEMENTS(sweep_vectors); i++) {
        g_autofree char *path = g_strdup_printf("/verify/bitflip/%s", sweep_vectors[i]);
        /* One full sweep always; the others in thorough mode (-m thorough). */
        if (i == 0 || g_test_thorough())
            g_test_add_data_func(path, sweep_vectors[i], test_bitflips);
    }
    g_test_add_func("/verify/signature/flips", test_signature_flips);
    g_test_add_func("/verify/signature/encoding", test_signature_encoding);
    g_test_add_func("/verify/report/sizes", test_sizes);
    g_test_add_func("/verify/chain/rejections", test_chain_rejections);
    g_test_add_func("/verify/chain/trust-root", test_trust_root);
    g_test_add_func("/verify/chain/validity", test_validity);
    g_test_add_func("/verify/tampered", test_tampered);
    g_test_add_func("/verify/policy/rejections", test_policy_rejections);
    g_test_add_func("/verify/policy/min-tcb", test_min_tcb_components);
    g_test_add_func("/verify/cache", test_cache);
    g_test_add_func("/verify/supplied/encodings", test_supplied_encodings);
    g_test_add_func("/verify/chain/crl-foreign", test_crl_foreign);
    g_test_add_func("/verify/sim/accepted", test_sim_accepted);
    g_test_add_func("/verify/sim/debug", test_sim_debug);
    g_test_add_func("/verify/sim/policy-max", test_sim_policy_max);
    g_test_add_func("/verify/sim/abi-min", test_sim_min_abi);
    g_test_add_func("/verify/sim/vmpl", test_sim_vmpl);
    g_test_add_func("/verify/sim/guest-svn", test_sim_guest_svn);
    g_test_add_data_func("/verify/sim/min-tcb/milan", "milan", test_sim_min_tcb);
    g_test_add_data_func("/verify/sim/min-tcb/genoa", "genoa", test_sim_min_tcb);
    g_test_add_data_func("/verify/sim/min-tcb/turin", "turin", test_sim_min_tcb);
    g_test_add_func("/verify/sim/platform-info", test_sim_platform_info);
    g_test_add_func("/verify/sim/family-image-id", test_sim_ids);
    g_test_add_func("/verify/sim/key-digests", test_sim_key_digests);
    g_test_add_func("/verify/sim/chip-id", test_sim_chip_id);
    g_test_add_func("/verify/sim/report-data", test_sim_report_data);
    g_test_add_func("/verify/sim/host-data", test_sim_host_data);
    g_test_add_func("/verify/sim/measurement", test_sim_measurement);
    g_test_add_func("/verify/sim/product", test_sim_product);
    g_test_add_func("/verify/sim/signing-key", test_sim_signing_key);
    g_test_add_func("/verify/sim/min-policy-abi", test_sim_min_policy_abi);
    g_test_add_func("/verify/sim/crl", test_sim_crl);
    g_test_add_func("/verify/sim/crl-stale", test_sim_crl_stale);
    g_test_add_func("/verify/reference/empty-list", test_reference_empty_list);
    return g_test_run();
}
