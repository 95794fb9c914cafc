/* AMD's SEV-SNP certificate hierarchy: the pinned ARK, ASK and ASVK of each
 * product, and the primitives a chain check is built from
 * (ARK self-signed → ASK/ASVK → VCEK/VLEK, RSASSA-PSS SHA-384 salt 48).
 * Errors are in the SNPG_CERT_ERROR domain (cert-ext.h). */
#pragma once

#include <glib.h>
#include <openssl/x509.h>

#include "cert-ext.h"
#include "report.h"

typedef enum {
    SNPG_AMD_CERT_ARK = 0,      /* AMD Root Key (self-signed) */
    SNPG_AMD_CERT_ASK = 1,      /* AMD SEV Key: signs VCEKs */
    SNPG_AMD_CERT_ASVK = 2,     /* AMD SEV VLEK Key: signs VLEKs */
    SNPG_AMD_CERT_LAST
} SnpgAmdCertKind;

const char *snpg_amd_cert_kind_to_string(SnpgAmdCertKind kind);

/* The built-in PEM of a pinned certificate; NULL for an unknown product. */
const char *snpg_amd_cert_pem(SnpgProduct product, SnpgAmdCertKind kind);
/* The same, parsed (a new reference). */
X509 *snpg_amd_cert_get(SnpgProduct product, SnpgAmdCertKind kind, GError **error);
/* The same from a process-wide cache (a new reference; NULL for an unknown
 * product). */
X509 *snpg_amd_cert_ref(SnpgProduct product, SnpgAmdCertKind kind);
/* TRUE when cert is byte-for-byte (DER) the pinned certificate. */
gboolean snpg_amd_cert_is_pinned(X509 *cert, SnpgProduct product, SnpgAmdCertKind kind);

/* One certificate from DER or PEM bytes (exactly one; trailing data refused). */
X509 *snpg_cert_load(const guint8 *data, gsize len, GError **error);
X509 *snpg_cert_load_file(const char *path, GError **error);
/* A CRL from DER or PEM bytes. */
X509_CRL *snpg_crl_load(const guint8 *data, gsize len, GError **error);

/* SHA-256 of the DER encoding (fingerprint). */
gboolean snpg_cert_fingerprint(X509 *cert, guint8 ret[32]);

/* Asserts cert is signed with RSASSA-PSS, SHA-384, MGF1 with SHA-384, salt
 * length 48, trailer 1: the only algorithm AMD's hierarchy uses. */
gboolean snpg_cert_check_pss(X509 *cert, GError **error);
/* Checks that cert's issuer name is issuer's subject, the algorithm (above)
 * and the signature under issuer's public key. */
gboolean snpg_cert_verify_issued_by(X509 *cert, X509 *issuer, GError **error);
/* A CRL's algorithm, issuer name and signature under issuer's key. */
gboolean snpg_crl_verify_issued_by(X509_CRL *crl, X509 *issuer, GError **error);
/* TRUE when the CRL lists cert's serial number. */
gboolean snpg_crl_is_revoked(X509_CRL *crl, X509 *cert);

/* The validity window as Unix seconds. */
gboolean snpg_cert_validity(X509 *cert, gint64 *ret_not_before, gint64 *ret_not_after);
/* Validity at now (Unix seconds): SNPG_CERT_ERROR_EXPIRED / _NOT_YET_VALID. */
gboolean snpg_cert_check_time(X509 *cert, gint64 now, GError **error);

