/* One verification policy for every caller (policy.h). */
#include "config.h"

#include <string.h>

#include <openssl/err.h>

#include "autocleanups.h"
#include "certcache.h"
#include "certtable.h"
#include "i18n.h"
#include "policy.h"
#include "reference.h"
#include "report.h"

G_DEFINE_QUARK(snpg-policy-error-quark, snpg_policy_error)

struct _SnpgAttestPolicy {
    SnpgVerifier *verifier;
    gboolean owns_verifier;
    SnpgVerifyOptions options;
    GBytes *leaf;                              /* the operator's VCEK/VLEK */
    X509 *chain[SNPG_AMD_CERT_LAST];           /* the operator's ARK/ASK/ASVK */
    char *chain_error[SNPG_AMD_CERT_LAST];     /* why one of them did not parse */
    char *cache_dir;
};

SnpgAttestPolicy *
snpg_attest_policy_new_with_verifier(SnpgVerifier *verifier)
{
    SnpgAttestPolicy *p = g_new0(SnpgAttestPolicy, 1);

    g_return_val_if_fail(verifier != NULL, NULL);
    p->verifier = verifier;
    snpg_verify_options_init(&p->options);
    return p;
}

SnpgAttestPolicy *
snpg_attest_policy_new(void)
{
    SnpgAttestPolicy *p = snpg_attest_policy_new_with_verifier(snpg_verifier_new());

    p->owns_verifier = TRUE;
    return p;
}

void
snpg_attest_policy_free(SnpgAttestPolicy *p)
{
    if (!p)
        return;
    if (p->owns_verifier)
        snpg_verifier_free(p->verifier);
    snpg_verify_options_clear(&p->options);
    if (p->leaf)
        g_bytes_unref(p->leaf);
    for (int k = 0; k < SNPG_AMD_CERT_LAST; k++) {
        X509_free(p->chain[k]);
        g_free(p->chain_error[k]);
    }
    g_free(p->cache_dir);
    g_free(p);
}

/* ---- reference values ---------------------------------------------------- */

gboolean
snpg_attest_policy_load_reference_file(SnpgAttestPolicy *p, const char *path, GError **error)
{
    return snpg_reference_load_file(path, &p->options, error);
}

gboolean
snpg_attest_policy_load_reference_data(SnpgAttestPolicy *p, const char *data, gsize len,
                                       GError **error)
{
    return snpg_reference_load_data(data, len, &p->options, error);
}

gboolean
snpg_attest_policy_set_value(SnpgAttestPolicy *p, const char *key, const char *value,
                             GError **error)
{
    return snpg_reference_set_value(&p->options, key, value, error);
}

gboolean
snpg_attest_policy_set_option(SnpgAttestPolicy *p, const char *key, const char *value,
                              GError **error)
{
    return snpg_reference_set_option(&p->options, key, value, error);
}

SnpgVerifyOptions *
snpg_attest_policy_get_options(SnpgAttestPolicy *p)
{
    return &p->options;
}

void
snpg_attest_policy_set_now(SnpgAttestPolicy *p, gint64 unix_seconds)
{
    p->options.has_now = TRUE;
    p->options.now = unix_seconds;
}

/* ---- trust and certificate sources --------------------------------------- */

gboolean
snpg_attest_policy_set_trust_root(SnpgAttestPolicy *p, GBytes *data, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autoptr(X509) root = snpg_cert_load(g_bytes_get_data(data, NULL), g_bytes_get_size(data),
                                          &local);

    if (!root) {
        g_set_error(error, SNPG_POLICY_ERROR, SNPG_POLICY_ERROR_TRUST_ROOT,
                    _("The trust root is not a certificate: %s"), local->message);
        return FALSE;
    }
    snpg_verifier_set_trust_root(p->verifier, root);
    return TRUE;
}

gboolean
snpg_attest_policy_set_crl(SnpgAttestPolicy *p, GBytes *data, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autoptr(X509_CRL) crl = snpg_crl_load(g_bytes_get_data(data, NULL), g_bytes_get_size(data), &local);

    if (!crl) {
        g_set_error(error, SNPG_POLICY_ERROR, SNPG_POLICY_ERROR_CRL,
                    _("The CRL cannot be used: %s"), local->message);
        return FALSE;
    }
    snpg_verifier_set_crl(p->verifier, crl);
    return TRUE;
}

void
snpg_attest_policy_set_leaf(SnpgAttestPolicy *p, GBytes *data)
{
    if (p->leaf)
        g_bytes_unref(p->leaf);
    p->leaf = data ? g_bytes_ref(data) : NULL;
}

static void
clear_chain_cert(SnpgAttestPolicy *p, SnpgAmdCertKind kind)
{
    g_clear_pointer(&p->chain[kind], X509_free);
    g_clear_pointer(&p->chain_error[kind], g_free);
}

void
snpg_attest_policy_set_chain_cert(SnpgAttestPolicy *p, SnpgAmdCertKind kind, GBytes *data)
{
    g_autoptr(GError) error = NULL;

    g_return_if_fail((guint)kind < SNPG_AMD_CERT_LAST);
    clear_chain_cert(p, kind);
    /* One intermediate: an ASK or an ASVK. */
    if (kind == SNPG_AMD_CERT_ASK)
        clear_chain_cert(p, SNPG_AMD_CERT_ASVK);
    else if (kind == SNPG_AMD_CERT_ASVK)
        clear_chain_cert(p, SNPG_AMD_CERT_ASK);
    if (!data)
        return;
    p->chain[kind] = snpg_cert_load(g_bytes_get_data(data, NULL), g_bytes_get_size(data), &error);
    if (!p->chain[kind])
        p->chain_error[kind] = g_strdup(error->message);
}

void
snpg_attest_policy_set_cache_dir(SnpgAttestPolicy *p, const char *dir)
{
    g_free(p->cache_dir);
    p->cache_dir = g_strdup(dir);
}

/* ---- verification -------------------------------------------------------- */

static void
note(GPtrArray *notes, SnpgVerifyReason reason, char *detail)
{
    SnpgVerifyFailure *f = g_new0(SnpgVerifyFailure, 1);

    f->reason = reason;
    f->detail = detail;
    g_ptr_array_add(notes, f);
}

static void
note_free(gpointer data)
{
    SnpgVerifyFailure *f = data;

    g_free(f->detail);
    g_free(f);
}

static GBytes *
x509_to_der(X509 *cert)
{
    unsigned char *der = NULL;
    int len = i2d_X509(cert, &der);
    GBytes *out;

    if (len <= 0) {
        ERR_clear_error();
        return NULL;
    }
    out = g_bytes_new(der, (gsize)len);
    OPENSSL_free(der);
    return out;
}

/* The report's VCEK from the certificate cache, looked up by the product
 * (CPUID, or the required one), CHIP_ID and REPORTED_TCB the report claims:
 * only a lookup; the verifier checks all of it. The cached ASK and ARK come
 * with it as evidence (never as trust). NULL with a cert-missing note
 * saying why when there is none. */
static GBytes *
cached_leaf(SnpgAttestPolicy *p, GBytes *report, X509 **ret_ask, X509 **ret_ark, GPtrArray *notes)
{
    g_autoptr(SnpgReport) r = snpg_report_parse(g_bytes_get_data(report, NULL),
                                                g_bytes_get_size(report), NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(X509) vcek = NULL;
    SnpgProduct product;
    SnpgTcb tcb;

    if (!r)
        return NULL;    /* the verifier says why */
    product = r->has_cpuid ? r->product : p->options.product;
    if (product == SNPG_PRODUCT_UNKNOWN) {
        if (r->has_cpuid)
            note(notes, SNPG_VERIFY_REASON_CERT_MISSING,
                 g_strdup(_("The report's CPUID names no known product, so no cached VCEK "
                            "applies: give the VCEK.")));
        else
            note(notes, SNPG_VERIFY_REASON_CERT_MISSING,
                 g_strdup_printf(_("A version %u report carries no CPUID: name the product to "
                                   "look its VCEK up in the certificate cache, or give the "
                                   "VCEK."), r->version));
        return NULL;
    }
    if (r->signing_key == SNPG_SIGNING_KEY_VLEK) {
        note(notes, SNPG_VERIFY_REASON_CERT_MISSING,
             g_strdup(_("The report is signed by a VLEK; the certificate cache serves VCEKs "
                        "only: give the VLEK certificate.")));
        return NULL;
    }
    snpg_tcb_decode(r->reported_tcb, product, &tcb);
    vcek = snpg_certcache_find_vcek(p->cache_dir, product, r->chip_id, &tcb, NULL, &error);
    if (!vcek) {
        note(notes, SNPG_VERIFY_REASON_CERT_MISSING,
             g_strdup_printf(_("The certificate cache '%s' has no VCEK for this report: %s"),
                             p->cache_dir, error->message));
        return NULL;
    }
    *ret_ask = snpg_certcache_find_ca(p->cache_dir, product, SNPG_CERTCACHE_KIND_ASK, NULL, NULL);
    *ret_ark = snpg_certcache_find_ca(p->cache_dir, product, SNPG_CERTCACHE_KIND_ARK, NULL, NULL);
    return x509_to_der(vcek);
}

SnpgVerifyResult *
snpg_attest_policy_verify(SnpgAttestPolicy *p, GBytes *report, GBytes *certs,
                          const guint8 *expected_report_data)
{
    g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func(note_free);
    g_auto(SnpgCertTable) table = { 0 };
    g_autoptr(GBytes) binding = NULL;
    g_autoptr(GBytes) from_cache = NULL;
    g_autoptr(X509) cache_ask = NULL;
    g_autoptr(X509) cache_ark = NULL;
    SnpgVerifyOptions options = p->options;
    SnpgVerifyResult *res;
    GBytes *leaf = p->leaf;
    GBytes *offered_inter = NULL;
    SnpgAmdCertKind offered_kind = SNPG_AMD_CERT_ASK;
    gboolean operator_inter = p->chain[SNPG_AMD_CERT_ASK] || p->chain[SNPG_AMD_CERT_ASVK] ||
                              p->chain_error[SNPG_AMD_CERT_ASK] || p->chain_error[SNPG_AMD_CERT_ASVK];
    gboolean operator_ark = p->chain[SNPG_AMD_CERT_ARK] || p->chain_error[SNPG_AMD_CERT_ARK];
    gboolean missing_explained;
    X509 *ask, *asvk, *ark;

    g_return_val_if_fail(p != NULL && report != NULL, NULL);

    for (int k = 0; k < SNPG_AMD_CERT_LAST; k++)
        if (p->chain_error[k])
            note(notes, SNPG_VERIFY_REASON_CERT_INVALID,
                 g_strdup_printf(_("The supplied %s cannot be parsed: %s"),
                                 snpg_amd_cert_kind_to_string(k), p->chain_error[k]));

    /* The guest may offer its VCEK/VLEK through the extended report: only a
     * candidate, the chain to a pinned (or the explicit) root decides. A
     * malformed table is ignored rather than fatal, so that the cache still
     * works. */
    if (!leaf && certs && g_bytes_get_size(certs) > 0 &&
        snpg_certtable_parse(g_bytes_get_data(certs, NULL), g_bytes_get_size(certs), &table, NULL)) {
        leaf = table.certs[SNPG_CERTTABLE_VCEK] ? table.certs[SNPG_CERTTABLE_VCEK]
                                                : table.certs[SNPG_CERTTABLE_VLEK];
        if (table.certs[SNPG_CERTTABLE_ASK] && !operator_inter) {
            offered_inter = table.certs[SNPG_CERTTABLE_ASK];
            offered_kind = table.certs[SNPG_CERTTABLE_VLEK] && !table.certs[SNPG_CERTTABLE_VCEK]
                               ? SNPG_AMD_CERT_ASVK : SNPG_AMD_CERT_ASK;
        }
    }
    if (!leaf && p->cache_dir)
        leaf = from_cache = cached_leaf(p, report, &cache_ask, &cache_ark, notes);

    /* The verifier's supplied certificates are exactly this verification's
     * (operator's, else the guest's or the cache's): what one guest offered
     * never weighs on the verdict of another that shares the verifier. */
    ask = operator_inter ? p->chain[SNPG_AMD_CERT_ASK] : cache_ask;
    asvk = operator_inter ? p->chain[SNPG_AMD_CERT_ASVK] : NULL;
    ark = operator_ark ? p->chain[SNPG_AMD_CERT_ARK] : cache_ark;
    if (offered_inter) {
        snpg_verifier_set_supplied(p->verifier, offered_kind == SNPG_AMD_CERT_ASK
                                                    ? SNPG_AMD_CERT_ASVK : SNPG_AMD_CERT_ASK, NULL);
        /* An offered ASK that does not parse is ignored: the pinned one applies. */
        if (!snpg_verifier_set_supplied_der(p->verifier, offered_kind, offered_inter, NULL))
            snpg_verifier_set_supplied(p->verifier, offered_kind, NULL);
    } else {
        snpg_verifier_set_supplied(p->verifier, SNPG_AMD_CERT_ASK, ask);
        snpg_verifier_set_supplied(p->verifier, SNPG_AMD_CERT_ASVK, asvk);
    }
    snpg_verifier_set_supplied(p->verifier, SNPG_AMD_CERT_ARK, ark);

    /* Freshness and binding: a session's REPORT_DATA is its transcript
     * hash, whatever the reference values say. */
    if (expected_report_data) {
        binding = g_bytes_new(expected_report_data, 64);
        options.report_data = binding;
    }
    res = snpg_verifier_verify(p->verifier, g_bytes_get_data(report, NULL), g_bytes_get_size(report),
                               leaf ? g_bytes_get_data(leaf, NULL) : NULL,
                               leaf ? g_bytes_get_size(leaf) : 0, &options);

    /* The policy's own reasons come first; a cert-missing it explained
     * replaces the verifier's generic one. */
    missing_explained = FALSE;
    for (guint i = 0; i < notes->len; i++)
        missing_explained |= ((SnpgVerifyFailure *)g_ptr_array_index(notes, i))->reason ==
                             SNPG_VERIFY_REASON_CERT_MISSING;
    for (guint i = res->failures->len; missing_explained && i > 0; i--)
        if (((SnpgVerifyFailure *)g_ptr_array_index(res->failures, i - 1))->reason ==
            SNPG_VERIFY_REASON_CERT_MISSING)
            g_ptr_array_remove_index(res->failures, i - 1);
    for (guint i = 0; i < notes->len; i++) {
        SnpgVerifyFailure *f = g_ptr_array_index(notes, i);
        snpg_verify_result_insert(res, i, f->reason, f->detail);
    }
    return res;
}
