/* Verification of a session's evidence: the bridge between the protocol
 * (session.h) and the report verifier (verify.h). */
#pragma once

#include <glib.h>

#include "session.h"
#include "verify.h"

typedef struct {
    SnpgVerifier *verifier;            /* borrowed; one per thread */
    const SnpgVerifyOptions *options;  /* reference values; report_data is
                                        * replaced by the session's binding */
    GBytes *leaf;                      /* VCEK/VLEK from the operator; NULL:
                                        * the guest's table, then the cache */
    const char *cache_dir;             /* certificate cache; NULL: none */
    gboolean operator_chain;           /* the operator supplied --ask/--ark:
                                        * evidence never replaces them */
    /* out, for records and output: the verdict of the last evidence */
    SnpgVerifyResult *result;
} SnpgAttestContext;

void snpg_attest_context_clear(SnpgAttestContext *ctx);

/* An SnpgSessionVerifyFunc: user_data is an SnpgAttestContext. Accepts
 * only when the report verifies against the chain and every reference
 * value, and its REPORT_DATA is the session's expected binding. Reasons
 * travel as the verifier's stable reason codes. */
gboolean snpg_attest_verify(GBytes *report, GBytes *certs,
                            const guint8 expected_report_data[SNPG_PROTO_REPORT_DATA_LEN],
                            SnpgRefusal *ret_refusal, gpointer user_data, GError **error);
