#include "config.h"

#include "attest.h"

G_STATIC_ASSERT(SNPG_PROTO_REPORT_DATA_LEN == 64);

void
snpg_attest_context_clear(SnpgAttestContext *ctx)
{
    g_clear_pointer(&ctx->result, snpg_verify_result_free);
    g_clear_pointer(&ctx->own_policy, snpg_attest_policy_free);
}

static SnpgAttestPolicy *
context_policy(SnpgAttestContext *ctx)
{
    if (ctx->policy)
        return ctx->policy;
    if (!ctx->own_policy) {
        ctx->own_policy = snpg_attest_policy_new_with_verifier(ctx->verifier);
        snpg_verify_options_clear(snpg_attest_policy_get_options(ctx->own_policy));
        snpg_verify_options_copy(snpg_attest_policy_get_options(ctx->own_policy), ctx->options);
    }
    return ctx->own_policy;
}

gboolean
snpg_attest_verify(GBytes *report, GBytes *certs,
                   const guint8 expected_report_data[SNPG_PROTO_REPORT_DATA_LEN],
                   SnpgRefusal *ret_refusal, gpointer user_data, GError **error)
{
    SnpgAttestContext *ctx = user_data;
    g_autoptr(GString) text = g_string_new(NULL);
    SnpgVerifyResult *result;

    (void)error;
    result = snpg_attest_policy_verify(context_policy(ctx), report, certs, expected_report_data);
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
