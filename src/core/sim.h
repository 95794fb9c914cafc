/* The simulated AMD secure processor (for tests and for machines without SNP).
 *
 * THESE ARE TEST KEYS. `snpg_sim_init` creates a private test hierarchy that
 * uses AMD's algorithms and certificate extensions:
 *
 *   ARK-<Product>   RSA-4096, self-signed, RSA-PSS SHA-384 salt 48
 *   SEV-<Product>   (ASK) RSA-4096, signed by the ARK with RSA-PSS
 *   SEV-VCEK        EC P-384, signed by the ASK with RSA-PSS, carrying the
 *                   VCEK extensions under 1.3.6.1.4.1.3704.1 exactly as AMD
 *                   encodes them (structVersion, productName, the SPLs, hwID)
 *
 * Every name also carries O="snpguard TEST" and
 * OU="snpguard simulated secure processor - NOT AMD". A production verifier
 * pins AMD's real roots and rejects this ARK unless the operator names it
 * explicitly (`snpguard report verify --trust-root DIR/ark.pem`).
 *
 * Files in DIR (0700): ark.pem, ask.pem, vcek.der (certificates, 0644),
 * ark-key.pem, ask-key.pem, vcek-key.pem (private keys, 0600) and sim.conf (a
 * GKeyFile: product, chip id, TCB).
 *
 * `snpg_sim_report` builds an ATTESTATION_REPORT (AMD SEV-SNP ABI spec 56860,
 * table "ATTESTATION_REPORT Structure") of version 2, 3 or 5 with chosen
 * fields and signs bytes 0x000-0x29F with the VCEK key (ECDSA P-384 SHA-384,
 * R and S as 72-byte little-endian fields). Deliberately malformed reports for
 * negative tests are requested through the explicit `malform` flags. */
#pragma once

#include <glib.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "report.h"   /* SnpgProduct, SnpgTcb, the report layout */

#define SNPG_SIM_ERROR (snpg_sim_error_quark())
GQuark snpg_sim_error_quark(void);

typedef enum {
    SNPG_SIM_ERROR_INVALID,     /* bad argument: unknown product, bad version, ... */
    SNPG_SIM_ERROR_EXISTS,      /* the directory already holds a simulator */
    SNPG_SIM_ERROR_IO,          /* a file cannot be read or written */
    SNPG_SIM_ERROR_FORMAT,      /* a simulator file is malformed */
    SNPG_SIM_ERROR_CRYPTO,      /* OpenSSL failed */
} SnpgSimError;

/* The report layout is report.h's: the simulator fills an SnpgReport and
 * signs what snpg_report_encode_to produces. */
#define SNPG_SIM_CHIP_ID_SIZE SNPG_REPORT_CHIP_ID_SIZE

/* Deliberate defects for negative tests (0 for a well-formed report). */
typedef enum {
    SNPG_SIM_MALFORM_RESERVED_NONZERO = 1 << 0, /* a reserved byte of the signed area set, then signed */
    SNPG_SIM_MALFORM_SIG_HIGH_BYTES = 1 << 1,   /* R[48] nonzero (after signing) */
    SNPG_SIM_MALFORM_SIG_BIG_ENDIAN = 1 << 2,   /* R and S stored big-endian */
    SNPG_SIM_MALFORM_UNSIGNED = 1 << 3,         /* signature field left zero */
    SNPG_SIM_MALFORM_SIG_RESERVED = 1 << 4,     /* byte in the signature's reserved tail set */
} SnpgSimMalform;

typedef struct {
    guint32 version;            /* 2, 3 or 5 */
    guint32 guest_svn;
    guint64 policy;
    guint8 family_id[16];
    guint8 image_id[16];
    guint32 vmpl;
    guint32 signature_algo;     /* 1 = ECDSA P-384 SHA-384; other values for negative tests */
    guint64 platform_info;
    gboolean author_key_en;
    gboolean mask_chip_key;     /* also zeroes CHIP_ID unless chip_id is given */
    guint32 signing_key;        /* SnpgSigningKey; 0 to 7 (reserved values for negative tests) */
    guint8 report_data[64];
    guint8 measurement[48];
    guint8 host_data[32];
    guint8 id_key_digest[48];
    guint8 author_key_digest[48];
    guint8 report_id[32];
    guint8 report_id_ma[32];
    /* NULL: the simulator's TCB (sim.conf) for all four. */
    /* TCBs are written in the product's layout (Milan, Genoa: BL, TEE,
     * 4 reserved, SNP, UCODE; Turin: FMC, BL, TEE, SNP, 3 reserved, UCODE);
     * reserved_nonzero is ignored. */
    const SnpgTcb *current_tcb;
    const SnpgTcb *reported_tcb;
    const SnpgTcb *committed_tcb;
    const SnpgTcb *launch_tcb;
    const guint8 *chip_id;      /* 64 bytes; NULL: the simulator's */
    gboolean cpuid_set;         /* FALSE: the product's CPUID (v3+ only) */
    guint8 cpuid_fam, cpuid_mod, cpuid_step;
    guint8 current_version[3];  /* build, minor, major */
    guint8 committed_version[3];
    guint64 launch_mit_vector;  /* v5 */
    guint64 current_mit_vector; /* v5 */
    SnpgSimMalform malform;
} SnpgSimReportFields;

/* Defaults: version 5, policy 0x30000, VMPL 0, signature algo 1, VCEK,
 * platform_info 0x1 (SMT), report_id_ma all 0xff, firmware 1.55.x, the rest
 * zero. */
void snpg_sim_report_fields_init(SnpgSimReportFields *fields);

typedef struct {
    SnpgProduct product;        /* MILAN, GENOA or TURIN */
    const SnpgTcb *tcb;         /* NULL: a product default */
    const guint8 *chip_id;      /* 64 bytes; NULL: random (Turin: 8 random bytes, rest zero) */
    gboolean force;             /* overwrite an existing simulator in DIR */
    /* Another simulator whose ARK and ASK (keys and certificates) to reuse:
     * a second chip under the same test root. NULL: generate new ones. */
    const char *root_from;
} SnpgSimInitOptions;

/* Creates the test hierarchy in dir (created 0700 if missing). Refuses a
 * directory that already holds a simulator unless force is set. product is
 * "Milan", "Genoa" or "Turin" (case-insensitive). */
gboolean snpg_sim_init(const char *dir, const char *product, GError **error);
gboolean snpg_sim_init_full(const char *dir, const SnpgSimInitOptions *options, GError **error);

typedef struct _SnpgSim SnpgSim;

SnpgSim *snpg_sim_load(const char *dir, GError **error);
void snpg_sim_free(SnpgSim *sim);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SnpgSim, snpg_sim_free)

/* A simulator from its parts: what a simulated guest holds (see
 * sim-identity.h). Takes references on vcek_key and vcek (which may be
 * NULL: then snpg_sim_get_vcek returns NULL). */
SnpgSim *snpg_sim_new(SnpgProduct product, const guint8 *chip_id, const SnpgTcb *tcb,
                      EVP_PKEY *vcek_key, X509 *vcek, GError **error);

SnpgProduct snpg_sim_get_product(const SnpgSim *sim);
const guint8 *snpg_sim_get_chip_id(const SnpgSim *sim);  /* 64 bytes */
void snpg_sim_get_tcb(const SnpgSim *sim, SnpgTcb *ret);
EVP_PKEY *snpg_sim_get_vcek_key(const SnpgSim *sim);     /* borrowed */
X509 *snpg_sim_get_vcek(const SnpgSim *sim);             /* borrowed */

/* Serializes and signs a report into out (SNPG_REPORT_SIZE bytes). */
gboolean snpg_sim_build_report(const SnpgSim *sim, const SnpgSimReportFields *fields,
                               guint8 *out, GError **error);
/* Signs the signed area of report (SNPG_REPORT_SIZE bytes) in place:
 * for tests that mangle a field and need a validly re-signed report. */
gboolean snpg_sim_sign(const SnpgSim *sim, guint8 *report, GError **error);
/* Loads the simulator in dir and builds one report. */
gboolean snpg_sim_report(const char *dir, const SnpgSimReportFields *fields,
                         GBytes **ret, GError **error);

/* The CPUID family/model/stepping the simulator puts into v3+ reports. */
void snpg_sim_product_cpuid(SnpgProduct product, guint8 *fam, guint8 *mod, guint8 *step);
