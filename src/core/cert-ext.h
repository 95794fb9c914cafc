/* AMD's X.509 extensions in VCEK and VLEK certificates (AMD "Versioned Chip
 * Endorsement Key (VCEK) Certificate and KDS Interface Specification" 57230,
 * and the VLEK addendum). OIDs under 1.3.6.1.4.1.3704.1:
 *   .1 structVersion (INTEGER)     .2 productName (IA5String, "Milan-B0")
 *   .3.1 blSPL  .3.2 teeSPL  .3.3 snpSPL  .3.4-.3.7 reserved SPLs
 *   .3.8 ucodeSPL  .3.9 fmcSPL (Turin)                 (all INTEGER)
 *   .4 hwID (the raw chip id: 64 bytes; Turin 8)        .5 cspID (VLEK, IA5String)
 * Checked against the genuine certificates in tests/data/vectors. */
#pragma once

#include <glib.h>
#include <openssl/x509.h>

#include "report.h"

#define SNPG_CERT_ERROR (snpg_cert_error_quark())
GQuark snpg_cert_error_quark(void);

typedef enum {
    SNPG_CERT_ERROR_PARSE,        /* not a certificate / CRL */
    SNPG_CERT_ERROR_EXTENSION,    /* an AMD extension is missing or malformed */
    SNPG_CERT_ERROR_ALGORITHM,    /* not RSASSA-PSS SHA-384 MGF1-SHA-384 salt 48 */
    SNPG_CERT_ERROR_SIGNATURE,    /* the issuer's signature does not verify */
    SNPG_CERT_ERROR_ISSUER,       /* issuer name differs from the signer's subject */
    SNPG_CERT_ERROR_UNTRUSTED,    /* does not lead to a pinned or explicitly trusted root */
    SNPG_CERT_ERROR_EXPIRED,
    SNPG_CERT_ERROR_NOT_YET_VALID,
    SNPG_CERT_ERROR_REVOKED,
    SNPG_CERT_ERROR_CRL,          /* the CRL is not signed by the root */
    SNPG_CERT_ERROR_UNKNOWN_PRODUCT,
} SnpgCertError;

typedef enum {
    SNPG_CERT_KIND_UNKNOWN = 0,
    SNPG_CERT_KIND_VCEK = 1,
    SNPG_CERT_KIND_VLEK = 2,
} SnpgCertKind;

const char *snpg_cert_kind_to_string(SnpgCertKind kind);

#define SNPG_HWID_MAX 64u

typedef struct {
    SnpgCertKind kind;
    gint64 struct_version;
    char *product_name;             /* as written, e.g. "Milan-B0" */
    SnpgProduct product;
    gboolean has_fmc_spl;           /* Turin */
    guint8 fmc_spl, bl_spl, tee_spl, snp_spl, ucode_spl;
    guint8 reserved_spl[4];         /* .3.4 - .3.7, absent ones are 0 */
    guint8 hwid[SNPG_HWID_MAX];     /* VCEK only */
    gsize hwid_len;                 /* 64, or 8 on Turin; 0 for VLEK */
    char *csp_id;                   /* VLEK only */
} SnpgCertExt;

void snpg_cert_ext_clear(SnpgCertExt *ext);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SnpgCertExt, snpg_cert_ext_clear)

/* The subject's common name (or NULL). */
char *snpg_cert_subject_cn(X509 *cert);

/* Reads the AMD extensions of a VCEK or VLEK certificate. Requires
 * productName and the bl/tee/snp/ucode SPLs (fmc on Turin), and exactly one
 * of hwID (VCEK) and cspID (VLEK), consistent with the subject's CN. */
gboolean snpg_cert_ext_parse(X509 *cert, SnpgCertExt *ret, GError **error);
/* The same on an arbitrary DER blob (certificate), as the fuzzer feeds it. */
gboolean snpg_cert_ext_parse_der(const guint8 *der, gsize len, SnpgCertExt *ret,
                                 GError **error);

/* The TCB_VERSION the certificate endorses, in its product's layout. */
guint64 snpg_cert_ext_tcb(const SnpgCertExt *ext);
