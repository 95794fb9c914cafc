#include "config.h"

#include <string.h>

#include "amd-certs.h"
#include "attest.h"
#include "certtable.h"
#include "i18n.h"

void
snpg_attest_context_clear(SnpgAttestContext *ctx)
{
    g_clear_pointer(&ctx->result, snpg_verify_result_free);
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
    GBytes *leaf = ctx->leaf;
    SnpgVerifyResult *result;

    /* The guest may offer its VCEK/VLEK through the extended report; it is
     * only a candidate: the chain to a pinned (or explicit test) root
     * decides. A malformed table is ignored rather than fatal, so that an
     * operator-supplied certificate still works. */
    if (!leaf && certs && g_bytes_get_size(certs) > 0 &&
        snpg_certtable_parse(g_bytes_get_data(certs, NULL), g_bytes_get_size(certs), &table, NULL)) {
        leaf = table.certs[SNPG_CERTTABLE_VCEK] ? table.certs[SNPG_CERTTABLE_VCEK]
                                                : table.certs[SNPG_CERTTABLE_VLEK];
        /* Its ASK too: the verifier accepts it only when it is AMD's pinned
         * one or signed by the explicit trust root (never the guest's ARK). */
        if (table.certs[SNPG_CERTTABLE_ASK])
            snpg_verifier_set_supplied_der(ctx->verifier,
                                           table.certs[SNPG_CERTTABLE_VLEK] && !table.certs[SNPG_CERTTABLE_VCEK]
                                               ? SNPG_AMD_CERT_ASVK : SNPG_AMD_CERT_ASK,
                                           table.certs[SNPG_CERTTABLE_ASK], NULL);
    }

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
