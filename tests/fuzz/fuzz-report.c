/* libFuzzer target: the attestation report parser and the verifier's
 * per-report checks, on bytes that come from an untrusted guest/host. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "report.h"
#include "verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A report is 1184 bytes; a little more still tests the size check. */
#define INPUT_MAX 4096

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(SnpgReport) r = NULL;

    if (size > INPUT_MAX)
        return 0;
    r = snpg_report_parse(data, size, &error);
    if (!r) {
        g_assert(error != NULL);
    } else {
        g_autofree guint8 *der = NULL;
        gsize der_len = 0;
        g_auto(GStrv) pol = snpg_policy_flag_names(r->policy);
        g_auto(GStrv) info = snpg_platform_info_flag_names(r->platform_info);
        SnpgTcb t;

        guint8 encoded[SNPG_REPORT_SIZE];

        g_assert(size == SNPG_REPORT_SIZE && memcmp(r->raw, data, size) == 0);
        /* Whatever the parser accepts, the encoder gives back byte for byte. */
        snpg_report_encode_to(r, encoded);
        g_assert(memcmp(encoded, data, size) == 0);
        if (snpg_report_signature_der(r, &der, &der_len, NULL))
            g_assert(der_len > 0 && der_len <= 110);
        for (int p = 0; p < SNPG_PRODUCT_LAST; p++) {
            snpg_tcb_decode(r->reported_tcb, p, &t);
            if (!t.reserved_nonzero)
                g_assert(snpg_tcb_encode(&t, p) == r->reported_tcb);
        }
        g_assert(pol && info);
    }

    /* The verifier's checks without a certificate (no crypto: fast). */
    {
        static SnpgVerifier *verifier;
        g_auto(SnpgVerifyOptions) o = { 0 };
        g_autoptr(SnpgVerifyResult) res = NULL;

        if (!verifier)
            verifier = snpg_verifier_new();
        snpg_verify_options_init(&o);
        o.has_policy_max = TRUE;
        o.has_platform_info_mask = TRUE;
        o.min_tcb.snp = 1;
        o.min_abi_major = 1;
        res = snpg_verifier_verify(verifier, data, size, NULL, 0, &o);
        /* Without a certificate nothing is ever accepted. */
        g_assert(res && !snpg_verify_result_accepted(res));
    }
    return 0;
}
