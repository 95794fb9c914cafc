/* The launch digest of an SEV-SNP, SEV-ES or SEV guest: what the AMD secure
 * processor will have measured when QEMU has loaded firmware, kernel hashes
 * and vCPU state, computed ahead of time so attestation can compare it.
 * Bit-identical to virtee/sev-snp-measure wherever that tool gives a value
 * QEMU could also produce; an error wherever it would not. */
#pragma once

#include <glib.h>

#include "ovmf.h"
#include "sev-hashes.h"
#include "vmsa.h"

#define SNPG_MEASURE_ERROR (snpg_measure_error_quark())
GQuark snpg_measure_error_quark(void);

typedef enum {
    SNPG_MEASURE_ERROR_IO,        /* the firmware could not be read */
    SNPG_MEASURE_ERROR_FIRMWARE,  /* the firmware cannot launch this kind of guest */
    SNPG_MEASURE_ERROR_INVALID,   /* contradictory or out-of-range parameters */
    SNPG_MEASURE_ERROR_FAILED,    /* libcrypto failed */
} SnpgMeasureError;

typedef enum {
    SNPG_MEASURE_MODE_SNP,
    SNPG_MEASURE_MODE_SEV_ES,
    SNPG_MEASURE_MODE_SEV,
    SNPG_MEASURE_MODE_SNP_OVMF_HASH,   /* the firmware pages' digest alone */
    SNPG_MEASURE_MODE_SNP_SVSM,        /* SNP with a Coconut-SVSM image below OVMF */
    SNPG_MEASURE_MODE_LAST
} SnpgMeasureMode;

/* "snp", "seves", "sev", "snp:ovmf-hash", "snp:svsm"; from_string returns -1 if unknown. */
const char *snpg_measure_mode_to_string(SnpgMeasureMode mode);
int snpg_measure_mode_from_string(const char *name);

#define SNPG_MEASURE_SNP_DIGEST_SIZE 48   /* SHA-384 launch digest */
#define SNPG_MEASURE_SEV_DIGEST_SIZE 32   /* SHA-256 (sev, seves) */
#define SNPG_MEASURE_DIGEST_MAX 48
/* Guest physical address of every VMSA page in the SNP digest (the
 * reference's constant, kept for identical values). */
#define SNPG_MEASURE_VMSA_GPA G_GUINT64_CONSTANT(0x0000fffffffff000)

typedef struct {
    SnpgMeasureMode mode;
    guint vcpus;                 /* > 0, except sev and snp:ovmf-hash (ignored) */
    guint32 vcpu_sig;            /* CPUID(1).EAX, QEMU only */
    SnpgVmmType vmm;
    guint64 guest_features;      /* VMSA sev_features (SNP) */
    const char *firmware;        /* OVMF image, required */
    const char *kernel;          /* direct boot: all three measured via the hashes table */
    const char *initrd;
    const char *append;
    const guint8 *ovmf_hash;     /* NULL, or 48 bytes replacing the firmware pages (snp) */
    /* snp:svsm only (QEMU, no kernel): the SVSM image, mapped right below the
     * OVMF variable store, which lies right below the firmware. Its size is
     * vars_size, or that of the file vars_file (exactly one of them). */
    const char *svsm;
    guint64 vars_size;
    const char *vars_file;
} SnpgMeasureParams;

/* Upper bound of the variable store size (the whole layout lies below 4 GiB). */
#define SNPG_MEASURE_VARS_SIZE_MAX G_GUINT64_CONSTANT(0x100000000)

typedef enum {
    SNPG_MEASURE_STAGE_FIRMWARE,      /* firmware pages (or the precomputed hash) */
    SNPG_MEASURE_STAGE_SECTION,       /* an SEV metadata section */
    SNPG_MEASURE_STAGE_HASHES_TABLE,  /* sev/seves: the table appended to the digest */
    SNPG_MEASURE_STAGE_VMSA,          /* one vCPU */
    SNPG_MEASURE_STAGE_SVSM,          /* snp:svsm: the SVSM image's pages */
} SnpgMeasureStageKind;

typedef struct {
    SnpgMeasureStageKind kind;
    SnpgOvmfSectionType section_type;  /* SECTION */
    guint64 gpa;
    guint64 length;
    const char *page_type;     /* how SNP measured it: "NORMAL", "ZERO", ...; NULL otherwise */
    gboolean skipped;          /* SECTION not measured here (ec2 CPUID: measured later) */
    guint vcpu;                /* VMSA: index, 0 = BSP (snp:svsm: all alike) */
    guint32 eip;               /* VMSA: start address */
    guint64 rdx;               /* VMSA: the signature value loaded into rdx */
    gsize contents_digest_len; /* 0, or the digest of the page contents below */
    guint8 contents_digest[SNPG_MEASURE_DIGEST_MAX];
    guint8 digest[SNPG_MEASURE_DIGEST_MAX];   /* running launch digest after this stage */
} SnpgMeasureStage;

typedef struct {
    SnpgMeasureMode mode;
    char *firmware;
    guint64 firmware_size;
    guint64 firmware_gpa;
    const char *firmware_digest_name;   /* "SHA-384" (SNP) or "SHA-256" */
    guint8 firmware_digest[SNPG_MEASURE_DIGEST_MAX];   /* of the whole file */
    gboolean ovmf_hash_given;
    SnpgOvmfInfo ovmf;
    gboolean has_hashes;
    SnpgSevHashes hashes;
    guint64 hashes_table_gpa;
    guint8 hashes_table[SNPG_SEV_HASHES_TABLE_SIZE];
    GArray *stages;                     /* SnpgMeasureStage */
    gboolean has_vmsa;
    guint8 bsp_vmsa[SNPG_VMSA_PAGE_SIZE];
    gboolean has_ap_vmsa;
    guint8 ap_vmsa[SNPG_VMSA_PAGE_SIZE];   /* shared by every AP */
    /* snp:svsm: the SVSM image (its SEV metadata sections are the ones
     * measured) and the variable store between it and the firmware. */
    gboolean has_svsm;
    char *svsm;
    guint64 svsm_size;
    guint64 svsm_gpa;
    guint8 svsm_digest[SNPG_MEASURE_SNP_DIGEST_SIZE];   /* SHA-384 of the file */
    guint32 svsm_entry;                  /* guest address every vCPU starts at */
    SnpgOvmfInfo svsm_info;
    guint64 vars_size;
    guint64 vars_gpa;
    gsize digest_len;
    guint8 digest[SNPG_MEASURE_DIGEST_MAX];
} SnpgMeasureExplain;

void snpg_measure_explain_free(SnpgMeasureExplain *explain);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SnpgMeasureExplain, snpg_measure_explain_free)

/* The digest size of a mode (48 or 32). */
gsize snpg_measure_digest_size(SnpgMeasureMode mode);

/* Computes the launch digest into ret_digest (snpg_measure_digest_size()
 * bytes). With ret_explain, also returns how it was computed. */
gboolean snpg_measure(const SnpgMeasureParams *params, guint8 *ret_digest,
                      SnpgMeasureExplain **ret_explain, GError **error);
