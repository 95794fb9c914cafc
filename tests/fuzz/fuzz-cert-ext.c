/* libFuzzer target: certificate loading (DER/PEM) and AMD's VCEK/VLEK
 * extension parser, on certificates that arrive with untrusted evidence. */
#include "config.h"

#include <stdint.h>

#include <glib.h>

#include "amd-certs.h"
#include "autocleanups.h"
#include "cert-ext.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* AMD's certificates are under 2 KiB; 64 KiB covers CRLs and bundles. */
#define INPUT_MAX (64 * 1024)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_auto(SnpgCertExt) ext = { 0 };
    g_autoptr(GError) error = NULL;
    g_autoptr(X509) cert = NULL;
    g_autoptr(X509_CRL) crl = NULL;

    if (size > INPUT_MAX)
        return 0;
    if (snpg_cert_ext_parse_der(data, size, &ext, &error)) {
        g_assert(ext.kind == SNPG_CERT_KIND_VCEK || ext.kind == SNPG_CERT_KIND_VLEK);
        g_assert(ext.hwid_len <= SNPG_HWID_MAX);
        g_assert(ext.product_name != NULL);
        (void)snpg_cert_ext_tcb(&ext);
    } else {
        g_assert(error != NULL);
    }
    g_clear_error(&error);
    cert = snpg_cert_load(data, size, &error);
    if (cert) {
        gint64 nb, na;
        (void)snpg_cert_check_pss(cert, NULL);
        (void)snpg_cert_validity(cert, &nb, &na);
        (void)snpg_amd_cert_is_pinned(cert, SNPG_PRODUCT_MILAN, SNPG_AMD_CERT_ARK);
    }
    g_clear_error(&error);
    crl = snpg_crl_load(data, size, &error);
    return 0;
}
