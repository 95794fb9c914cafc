/* SEV-SNP ATTESTATION_REPORT (AMD SEV-SNP ABI specification 56860, table
 * "ATTESTATION_REPORT Structure"): strict parsing and decoding.
 *
 * The parser checks structure only (size, version, signature algorithm,
 * reserved fields). It never verifies the signature: that is verify.c's job,
 * and no field may be trusted before it has done so. */
#pragma once

#include <glib.h>

#define SNPG_REPORT_ERROR (snpg_report_error_quark())
GQuark snpg_report_error_quark(void);

typedef enum {
    SNPG_REPORT_ERROR_SIZE,           /* not exactly SNPG_REPORT_SIZE bytes */
    SNPG_REPORT_ERROR_VERSION,        /* unknown report version */
    SNPG_REPORT_ERROR_ALGORITHM,      /* signature algorithm is not ECDSA P-384 SHA-384 */
    SNPG_REPORT_ERROR_RESERVED,       /* a reserved field is not zero */
    SNPG_REPORT_ERROR_FIELD,          /* a field holds a value the ABI reserves */
    SNPG_REPORT_ERROR_SIGNATURE,      /* R or S cannot be a P-384 scalar */
} SnpgReportError;

/* Wire layout (all little-endian). */
#define SNPG_REPORT_SIZE 0x4A0u          /* 1184 bytes */
#define SNPG_REPORT_SIGNED_SIZE 0x2A0u   /* the signature covers 0x000-0x29F */
#define SNPG_REPORT_SIG_OFFSET 0x2A0u
#define SNPG_REPORT_SIG_COMPONENT 72u    /* R and S fields, little-endian */
#define SNPG_REPORT_SIG_SCALAR 48u       /* significant bytes of a P-384 scalar */
#define SNPG_REPORT_SIG_ALGO_ECDSA_P384_SHA384 1u
#define SNPG_REPORT_SIG_RESERVED_OFFSET 0x330u  /* after R and S: must be zero */
#define SNPG_REPORT_RESERVED0_OFFSET 0x04Cu     /* 4 reserved bytes after the key flags */
#define SNPG_REPORT_DATA_SIZE 64u
#define SNPG_REPORT_CHIP_ID_SIZE 64u
#define SNPG_REPORT_VERSION_MIN 2u
#define SNPG_REPORT_VERSION_MAX 5u

/* AMD EPYC product lines. Bergamo and Siena are Genoa for attestation
 * purposes (same keys and layouts). Values are stored: never renumber. */
typedef enum {
    SNPG_PRODUCT_UNKNOWN = 0,
    SNPG_PRODUCT_MILAN = 1,
    SNPG_PRODUCT_GENOA = 2,
    SNPG_PRODUCT_TURIN = 3,
    SNPG_PRODUCT_LAST
} SnpgProduct;

const char *snpg_product_to_string(SnpgProduct product);
/* Accepts "Milan", "Genoa", "Turin", case-insensitively, with an optional
 * stepping suffix as in certificates ("Milan-B0"), and "Bergamo"/"Siena"
 * (= Genoa). Returns SNPG_PRODUCT_UNKNOWN otherwise. */
SnpgProduct snpg_product_from_string(const char *name);
/* From the CPUID family/model the report carries (version 3 and later). */
SnpgProduct snpg_product_from_cpuid(guint8 family, guint8 model);

/* The signing-key field of the report (bits 4:2 of offset 0x48). */
typedef enum {
    SNPG_SIGNING_KEY_VCEK = 0,
    SNPG_SIGNING_KEY_VLEK = 1,
    SNPG_SIGNING_KEY_NONE = 7,
} SnpgSigningKey;

const char *snpg_signing_key_to_string(guint signing_key);

/* A TCB_VERSION decoded in a product's layout:
 *   Milan, Genoa: BL, TEE, 4 reserved, SNP, UCODE (byte 0 .. byte 7)
 *   Turin:        FMC, BL, TEE, SNP, 3 reserved, UCODE */
typedef struct {
    guint8 fmc;                 /* Turin only; 0 elsewhere */
    guint8 bl;
    guint8 tee;
    guint8 snp;
    guint8 ucode;
    gboolean reserved_nonzero;  /* a reserved byte of this layout is set */
} SnpgTcb;

/* Unknown product: decoded in the Milan/Genoa layout (the v2 default). */
void snpg_tcb_decode(guint64 raw, SnpgProduct product, SnpgTcb *ret);
guint64 snpg_tcb_encode(const SnpgTcb *tcb, SnpgProduct product);
/* "fmc=0 bl=1 tee=0 snp=2 ucode=71" (fmc only for Turin). */
char *snpg_tcb_to_string(const SnpgTcb *tcb, SnpgProduct product);

/* Guest policy bits (ABI 56860, "Guest Policy Structure"). */
#define SNPG_POLICY_ABI_MINOR_MASK       G_GUINT64_CONSTANT(0xff)
#define SNPG_POLICY_ABI_MAJOR_SHIFT      8
#define SNPG_POLICY_SMT                  (G_GUINT64_CONSTANT(1) << 16)
#define SNPG_POLICY_RESERVED_1           (G_GUINT64_CONSTANT(1) << 17) /* must be 1 */
#define SNPG_POLICY_MIGRATE_MA           (G_GUINT64_CONSTANT(1) << 18)
#define SNPG_POLICY_DEBUG                (G_GUINT64_CONSTANT(1) << 19)
#define SNPG_POLICY_SINGLE_SOCKET        (G_GUINT64_CONSTANT(1) << 20)
#define SNPG_POLICY_CXL_ALLOW            (G_GUINT64_CONSTANT(1) << 21)
#define SNPG_POLICY_MEM_AES_256_XTS      (G_GUINT64_CONSTANT(1) << 22)
#define SNPG_POLICY_RAPL_DIS             (G_GUINT64_CONSTANT(1) << 23)
#define SNPG_POLICY_CIPHERTEXT_HIDING    (G_GUINT64_CONSTANT(1) << 24)
#define SNPG_POLICY_PAGE_SWAP_DISABLE    (G_GUINT64_CONSTANT(1) << 25)
#define SNPG_POLICY_RESERVED_MBZ         (~G_GUINT64_CONSTANT(0) << 26)

typedef struct {
    guint8 abi_minor;
    guint8 abi_major;
    gboolean smt;
    gboolean reserved_1;        /* bit 17, must be 1 */
    gboolean migrate_ma;
    gboolean debug;
    gboolean single_socket;
    gboolean cxl_allow;
    gboolean mem_aes_256_xts;
    gboolean rapl_dis;
    gboolean ciphertext_hiding;
    gboolean page_swap_disable;
    guint64 reserved_mbz;       /* bits 63:26 as set in the policy */
} SnpgPolicy;

void snpg_policy_decode(guint64 raw, SnpgPolicy *ret);
/* Names of the flags set ("SMT", "DEBUG", ...; "bitN" for reserved bits). */
GStrv snpg_policy_flag_names(guint64 raw);
/* Names of the PLATFORM_INFO bits set ("SMT_EN", ...; "bitN" if unknown). */
GStrv snpg_platform_info_flag_names(guint64 raw);

typedef struct {
    guint32 version;
    guint32 guest_svn;
    guint64 policy;
    guint8 family_id[16];
    guint8 image_id[16];
    guint32 vmpl;
    guint32 signature_algo;
    guint64 current_tcb;            /* raw TCB_VERSION; decode with snpg_tcb_decode */
    guint64 platform_info;
    guint32 flags;                  /* raw word at 0x48 */
    gboolean author_key_en;
    gboolean mask_chip_key;
    guint signing_key;              /* SnpgSigningKey */
    guint8 report_data[64];
    guint8 measurement[48];
    guint8 host_data[32];
    guint8 id_key_digest[48];
    guint8 author_key_digest[48];
    guint8 report_id[32];
    guint8 report_id_ma[32];
    guint64 reported_tcb;
    gboolean has_cpuid;             /* version 3 and later */
    guint8 cpuid_fam_id;
    guint8 cpuid_mod_id;
    guint8 cpuid_step;
    guint8 chip_id[64];
    guint64 committed_tcb;
    guint8 current_build, current_minor, current_major;
    guint8 committed_build, committed_minor, committed_major;
    guint64 launch_tcb;
    gboolean has_mit_vectors;       /* version 5 and later */
    guint64 launch_mit_vector;
    guint64 current_mit_vector;
    guint8 sig_r[SNPG_REPORT_SIG_COMPONENT];  /* little-endian, as on the wire */
    guint8 sig_s[SNPG_REPORT_SIG_COMPONENT];
    SnpgProduct product;            /* from CPUID; UNKNOWN for version 2 */
    guint8 raw[SNPG_REPORT_SIZE];   /* the exact bytes parsed */
} SnpgReport;

/* The wire bytes of report's fields: the inverse of snpg_report_parse for
 * every report it accepts (parse(encode(x)) gives x back, encode(parse(b))
 * gives b). The key-flags word is built from author_key_en, mask_chip_key and
 * signing_key (the flags field is ignored); the CPUID bytes are written for
 * version 3 and later and the mitigation vectors for version 5 and later, as
 * the parser reads them; product and raw are ignored; reserved bytes are zero.
 * sig_r and sig_s are written as they are: a signer leaves them zero and signs
 * the first SNPG_REPORT_SIGNED_SIZE bytes of the result. No field is checked:
 * the simulator also encodes reports the parser must refuse. */
void snpg_report_encode_to(const SnpgReport *report, guint8 out[SNPG_REPORT_SIZE]);
GBytes *snpg_report_encode(const SnpgReport *report);

/* REPORT_DATA of a report that has not been parsed (or verified) yet, for
 * binding checks that add a reason. FALSE if len is not SNPG_REPORT_SIZE. */
gboolean snpg_report_peek_report_data(const guint8 *report, gsize len,
                                      guint8 out[SNPG_REPORT_DATA_SIZE]);

/* Strict parse of exactly SNPG_REPORT_SIZE bytes. */
SnpgReport *snpg_report_parse(const guint8 *data, gsize len, GError **error);
void snpg_report_free(SnpgReport *report);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SnpgReport, snpg_report_free)

/* The product whose TCB layout applies: the report's own (CPUID) when it
 * has one, else the fallback (typically the certificate's product). */
SnpgProduct snpg_report_layout_product(const SnpgReport *report, SnpgProduct fallback);

/* The signature as a DER ECDSA-Sig-Value. Rejects R or S whose bytes above
 * the 48 significant ones are not zero (a P-384 scalar cannot use them). */
gboolean snpg_report_signature_der(const SnpgReport *report, guint8 **ret_der,
                                   gsize *ret_len, GError **error);
