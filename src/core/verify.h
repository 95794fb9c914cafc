/* Verification of an SEV-SNP attestation report: the AMD certificate chain
 * (pinned roots, or a root the caller trusts explicitly), the report's
 * signature, the binding of the certificate to the report, and the owner's
 * reference values. Every failed check is reported, each with a stable
 * reason code, not only the first one.
 *
 * A SnpgVerifier caches the chain verdict and the public key of each leaf
 * certificate (keyed by the SHA-256 of its bytes), so that verifying many
 * reports against one VCEK costs about one ECDSA verification each.
 * A verifier is not thread-safe; use one per thread. */
#pragma once

#include <glib.h>
#include <openssl/x509.h>

#include "amd-certs.h"
#include "cert-ext.h"
#include "report.h"

#define SNPG_VERIFY_ERROR (snpg_verify_error_quark())
GQuark snpg_verify_error_quark(void);

typedef enum {
    SNPG_VERIFY_ERROR_INVALID,    /* an option value is malformed */
} SnpgVerifyError;

/* Reason codes: stored in records and printed for scripts. Append only;
 * never renumber, never rename the strings. */
typedef enum {
    SNPG_VERIFY_REASON_MALFORMED = 0,          /* "malformed" */
    SNPG_VERIFY_REASON_SIGNATURE = 1,          /* "signature" */
    SNPG_VERIFY_REASON_CHAIN = 2,              /* "chain" */
    SNPG_VERIFY_REASON_ROOT_UNTRUSTED = 3,     /* "root-untrusted" */
    SNPG_VERIFY_REASON_CERT_EXPIRED = 4,       /* "cert-expired" */
    SNPG_VERIFY_REASON_CERT_NOT_YET_VALID = 5, /* "cert-not-yet-valid" */
    SNPG_VERIFY_REASON_CERT_REVOKED = 6,       /* "cert-revoked" */
    SNPG_VERIFY_REASON_CRL = 7,                /* "crl" */
    SNPG_VERIFY_REASON_CERT_MISSING = 8,       /* "cert-missing" */
    SNPG_VERIFY_REASON_CERT_INVALID = 9,       /* "cert-invalid" */
    SNPG_VERIFY_REASON_PRODUCT = 10,           /* "product" */
    SNPG_VERIFY_REASON_SIGNING_KEY = 11,       /* "signing-key" */
    SNPG_VERIFY_REASON_CERT_CHIP_ID = 12,      /* "cert-chip-id" */
    SNPG_VERIFY_REASON_TCB_MISMATCH = 13,      /* "tcb-mismatch" */
    SNPG_VERIFY_REASON_MEASUREMENT = 14,       /* "measurement" */
    SNPG_VERIFY_REASON_REPORT_DATA = 15,       /* "report-data" */
    SNPG_VERIFY_REASON_HOST_DATA = 16,         /* "host-data" */
    SNPG_VERIFY_REASON_FAMILY_ID = 17,         /* "family-id" */
    SNPG_VERIFY_REASON_IMAGE_ID = 18,          /* "image-id" */
    SNPG_VERIFY_REASON_ID_KEY_DIGEST = 19,     /* "id-key-digest" */
    SNPG_VERIFY_REASON_AUTHOR_KEY_DIGEST = 20, /* "author-key-digest" */
    SNPG_VERIFY_REASON_CHIP_ID = 21,           /* "chip-id" */
    SNPG_VERIFY_REASON_VMPL = 22,              /* "vmpl" */
    SNPG_VERIFY_REASON_GUEST_SVN = 23,         /* "guest-svn" */
    SNPG_VERIFY_REASON_MIN_TCB_REPORTED = 24,  /* "min-tcb-reported" */
    SNPG_VERIFY_REASON_MIN_TCB_COMMITTED = 25, /* "min-tcb-committed" */
    SNPG_VERIFY_REASON_MIN_TCB_LAUNCH = 26,    /* "min-tcb-launch" */
    SNPG_VERIFY_REASON_MIN_TCB_CURRENT = 27,   /* "min-tcb-current" */
    SNPG_VERIFY_REASON_DEBUG = 28,             /* "debug" */
    SNPG_VERIFY_REASON_POLICY_MAX = 29,        /* "policy-max" */
    SNPG_VERIFY_REASON_POLICY_INVALID = 30,    /* "policy-invalid" */
    SNPG_VERIFY_REASON_ABI_MIN = 31,           /* "abi-min" */
    SNPG_VERIFY_REASON_PLATFORM_INFO = 32,     /* "platform-info" */
    SNPG_VERIFY_REASON_LAST
} SnpgVerifyReason;

const char *snpg_verify_reason_to_string(SnpgVerifyReason reason);
/* -1 when the string names no reason. */
int snpg_verify_reason_from_string(const char *name);

typedef struct {
    SnpgVerifyReason reason;
    char *detail;               /* one translated sentence */
} SnpgVerifyFailure;

/* A minimum per TCB component; -1 means no minimum. fmc applies to Turin. */
typedef struct {
    gint fmc, bl, tee, snp, ucode;
} SnpgTcbMin;

void snpg_tcb_min_init(SnpgTcbMin *min);
gboolean snpg_tcb_min_is_set(const SnpgTcbMin *min);
/* "fmc=N,bl=N,tee=N,snp=N,ucode=N" (any non-empty subset, each at most once,
 * N in 0..255); merges into *min. Empty text is an error, not "no minimum". */
gboolean snpg_tcb_min_parse(const char *text, SnpgTcbMin *min, GError **error);

typedef struct {
    GPtrArray *measurements;    /* GBytes of 48 bytes; empty or NULL: any */
    GBytes *report_data;        /* 64 bytes, NULL: any */
    GBytes *host_data;          /* 32 */
    GBytes *family_id;          /* 16 */
    GBytes *image_id;           /* 16 */
    GBytes *id_key_digest;      /* 48 */
    GBytes *author_key_digest;  /* 48 */
    GPtrArray *chip_ids;        /* GBytes of 64 bytes: allow-list; empty: any */
    gint vmpl;                  /* -1: any */
    gint64 min_guest_svn;       /* -1: none */
    SnpgTcbMin min_tcb;         /* applied to reported, committed, launch and current TCB */
    gboolean allow_debug;
    gboolean has_policy_max;
    guint64 policy_max;         /* flag bits (16+) allowed in the policy */
    gint min_abi_major;         /* -1: none; firmware ABI (current and committed) */
    gint min_abi_minor;
    gint min_policy_abi_major;  /* -1: none; the ABI the guest policy requires */
    gint min_policy_abi_minor;
    gboolean has_platform_info_mask;
    guint64 platform_info_mask; /* PLATFORM_INFO bits allowed to be set */
    guint64 platform_info_required; /* bits that must be set */
    SnpgProduct product;        /* UNKNOWN: any */
    gboolean has_now;
    gint64 now;                 /* Unix seconds for certificate validity */
} SnpgVerifyOptions;

void snpg_verify_options_init(SnpgVerifyOptions *opts);
void snpg_verify_options_clear(SnpgVerifyOptions *opts);
/* A deep copy of from into to (uninitialized); clear it with _clear. */
void snpg_verify_options_copy(SnpgVerifyOptions *to, const SnpgVerifyOptions *from);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SnpgVerifyOptions, snpg_verify_options_clear)

/* Hex of exactly want_len bytes (hex.h), with an optional 0x prefix and ':' or
 * blank separators (as reference-values files may have). */
GBytes *snpg_verify_parse_hex(const char *name, const char *text, gsize want_len, GError **error);
/* "MAJOR.MINOR", each 0..255. */
gboolean snpg_verify_parse_abi(const char *text, gint *major, gint *minor);
/* "YYYY-MM-DDTHH:MM:SSZ" (any ISO 8601 with a zone). */
gboolean snpg_verify_parse_time(const char *text, gint64 *ret, GError **error);

typedef struct {
    GPtrArray *failures;        /* SnpgVerifyFailure *, in check order */
    SnpgReport *report;         /* NULL when the report is malformed */
    SnpgProduct product;        /* product of the chain used */
    SnpgCertKind key_kind;      /* VCEK or VLEK per the certificate */
} SnpgVerifyResult;

gboolean snpg_verify_result_accepted(const SnpgVerifyResult *result);
gboolean snpg_verify_result_has(const SnpgVerifyResult *result, SnpgVerifyReason reason);
/* Adds a failure at index (at most the end): for callers that check more
 * than the verifier does (policy.h). */
void snpg_verify_result_insert(SnpgVerifyResult *result, guint index, SnpgVerifyReason reason,
                               const char *detail);
void snpg_verify_result_free(SnpgVerifyResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SnpgVerifyResult, snpg_verify_result_free)

typedef struct _SnpgVerifier SnpgVerifier;

SnpgVerifier *snpg_verifier_new(void);
void snpg_verifier_free(SnpgVerifier *verifier);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SnpgVerifier, snpg_verifier_free)

/* A root the caller trusts explicitly (the simulated processor's test ARK;
 * NULL: none). Setting the same root (or the same CRL object) again keeps
 * the cached verdicts.
 * AMD's pinned roots are always trusted; roots arriving with a report never. */
void snpg_verifier_set_trust_root(SnpgVerifier *verifier, X509 *root);
/* Certificates supplied with the evidence (--ark, --ask/--asvk). They are
 * accepted only when byte-identical to the pinned ones of the product, or,
 * for an ASK/ASVK, when signed by the explicit trust root. */
void snpg_verifier_set_supplied(SnpgVerifier *verifier, SnpgAmdCertKind kind, X509 *cert);
/* The same from DER (or PEM) bytes; cheap when the same bytes were supplied
 * before, as with each session of one guest. */
gboolean snpg_verifier_set_supplied_der(SnpgVerifier *verifier, SnpgAmdCertKind kind, GBytes *der,
                                        GError **error);
/* A CRL that must be signed by the chain's root; revoked ASK/ASVK/VCEK/VLEK
 * serials are rejected. */
void snpg_verifier_set_crl(SnpgVerifier *verifier, X509_CRL *crl);

/* Verifies report bytes against the leaf certificate (DER or PEM; NULL:
 * rejected as "cert-missing") and the options. Never fails: a result with
 * no failures is an acceptance. */
SnpgVerifyResult *snpg_verifier_verify(SnpgVerifier *verifier,
                                       const guint8 *report, gsize report_len,
                                       const guint8 *leaf, gsize leaf_len,
                                       const SnpgVerifyOptions *opts);
