#include "config.h"

#include <string.h>

#include "amd-certs.h"
#include "attest.h"
#include "autocleanups.h"
#include "certcache.h"
#include "report.h"
#include "certtable.h"
#include "i18n.h"

void
snpg_attest_context_clear(SnpgAttestContext *ctx)
{
    g_clear_pointer(&ctx->result, snpg_verify_result_free);
}

/* The report's VCEK from the certificate cache, looked up by the product
 * (CPUID, or the required product), CHIP_ID and REPORTED_TCB the report
 * claims: only a lookup; the verifier then checks all of it. The cached ASK
 * joins as evidence unless the operator supplied one. */
static GBytes *
cached_vcek(SnpgAttestContext *ctx, GBytes *report)
{
    g_autoptr(SnpgReport) r = snpg_report_parse(g_bytes_get_data(report, NULL),
                                                g_bytes_get_size(report), NULL);
    g_autoptr(X509) vcek = NULL;
    g_autoptr(X509) ask = NULL;
    unsigned char *der = NULL;
    SnpgProduct product;
    SnpgTcb tcb;
    GBytes *out;
    int len;

    if (!r || r->signing_key != SNPG_SIGNING_KEY_VCEK)
        return NULL;
    product = r->has_cpuid ? r->product : ctx->options->product;
    if (product == SNPG_PRODUCT_UNKNOWN)
        return NULL;
    snpg_tcb_decode(r->reported_tcb, product, &tcb);
    if (!(vcek = snpg_certcache_find_vcek(ctx->cache_dir, product, r->chip_id, &tcb, NULL, NULL)))
        return NULL;
    if (!ctx->operator_chain &&
        (ask = snpg_certcache_find_ca(ctx->cache_dir, product, SNPG_CERTCACHE_KIND_ASK, NULL, NULL)))
        snpg_verifier_set_supplied(ctx->verifier, SNPG_AMD_CERT_ASK, ask);
    if ((len = i2d_X509(vcek, &der)) <= 0)
        return NULL;
    out = g_bytes_new(der, (gsize)len);
    OPENSSL_free(der);
    return out;
}

gboolean
snpg_attest_verify(GBytes *report, GBytes *certs,
                   const guint8 expected_report_data[SNPG_PROTO_REPORT_DATA_LEN],
                   SnpgRefusal *ret_refusal, gpointer user_data, GError **error)
{
    SnpgAttestContext *ctx = user_data;
    g_auto(SnpgCertTable) table = { 0 };
    g_autoptr(GBytes) binding = g_bytes_new(expected_report_data, SNPG_PROTO_REPORT_DATA_LEN);
    g_autoptr(GString) text = g_string_new(NULL);
    SnpgVerifyOptions options = *ctx->options;
    g_autoptr(GBytes) cached = NULL;
    GBytes *leaf = ctx->leaf;
    SnpgVerifyResult *result;

    /* The guest may offer its VCEK/VLEK through the extended report; it is
     * only a candidate: the chain to a pinned (or explicit test) root
     * decides. A malformed table is ignored rather than fatal, so that an
     * operator-supplied certificate or the cache still works. */
    if (!leaf && certs && g_bytes_get_size(certs) > 0 &&
        snpg_certtable_parse(g_bytes_get_data(certs, NULL), g_bytes_get_size(certs), &table, NULL)) {
        leaf = table.certs[SNPG_CERTTABLE_VCEK] ? table.certs[SNPG_CERTTABLE_VCEK]
                                                : table.certs[SNPG_CERTTABLE_VLEK];
        /* Its ASK too, unless the operator gave one: the verifier accepts it
         * only when it is AMD's pinned one or signed by the explicit trust
         * root (never the guest's ARK). */
        if (table.certs[SNPG_CERTTABLE_ASK] && !ctx->operator_chain)
            snpg_verifier_set_supplied_der(ctx->verifier,
                                           table.certs[SNPG_CERTTABLE_VLEK] && !table.certs[SNPG_CERTTABLE_VCEK]
                                               ? SNPG_AMD_CERT_ASVK : SNPG_AMD_CERT_ASK,
                                           table.certs[SNPG_CERTTABLE_ASK], NULL);
    }
    if (!leaf && ctx->cache_dir)
        leaf = cached = cached_vcek(ctx, report);

    /* Freshness and binding: REPORT_DATA must be this session's transcript
     * hash, whatever the reference values say. */
    options.report_data = binding;
    result = snpg_verifier_verify(ctx->verifier, g_bytes_get_data(report, NULL),
                                  g_bytes_get_size(report),
                                  leaf ? g_bytes_get_data(leaf, NULL) : NULL,
                                  leaf ? g_bytes_get_size(leaf) : 0, &options);
    g_clear_pointer(&ctx->result, snpg_verify_result_free);
    ctx->result = result;
    if (snpg_verify_result_accepted(result))
        return TRUE;

    for (guint i = 0; i < result->failures->len && i < SNPG_PROTO_REASONS_MAX; i++) {
        const SnpgVerifyFailure *f = g_ptr_array_index(result->failures, i);
        ret_refusal->reasons[ret_refusal->n_reasons++] = (guint16)f->reason;
        g_string_append_printf(text, "%s%s", i ? "; " : "", snpg_verify_reason_to_string(f->reason));
    }
    /* Reason names only: the details may quote values the guest need not see. */
    ret_refusal->text = g_string_free(g_steal_pointer(&text), FALSE);
    return FALSE;
}
