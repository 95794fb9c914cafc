/* Verification of a session's evidence: the bridge between the protocol
 * (session.h) and the verification policy (policy.h). */
#pragma once

#include <glib.h>

#include "policy.h"
#include "session.h"
#include "verify.h"

typedef struct {
    SnpgAttestPolicy *policy;          /* borrowed: reference values and
                                        * certificate sources */
    /* Without a policy: a bare verifier and reference values (no operator
     * certificates, no cache); a policy is made from them on first use. */
    SnpgVerifier *verifier;            /* borrowed; one per thread */
    const SnpgVerifyOptions *options;  /* borrowed; copied on first use */
    /* out, for records and output: the verdict of the last evidence */
    SnpgVerifyResult *result;
    SnpgAttestPolicy *own_policy;      /* private */
} SnpgAttestContext;

void snpg_attest_context_clear(SnpgAttestContext *ctx);

/* An SnpgSessionVerifyFunc: user_data is an SnpgAttestContext. Accepts
 * only when the policy accepts the report (snpg_attest_policy_verify) with
 * the session's expected binding as REPORT_DATA. Reasons travel as the
 * verifier's stable reason codes. */
gboolean snpg_attest_verify(GBytes *report, GBytes *certs,
                            const guint8 expected_report_data[SNPG_PROTO_REPORT_DATA_LEN],
                            SnpgRefusal *ret_refusal, gpointer user_data, GError **error);
