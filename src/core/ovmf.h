/* OVMF firmware: the footer GUID table and the SEV metadata that tell the
 * hypervisor which guest pages SNP pre-validates, and how.
 *
 * The parser is strict where sev-snp-measure is lax: a table or a section
 * list that QEMU would misread, or that would make the measurement silently
 * cover less than QEMU does, is an error instead of a guess. */
#pragma once

#include <glib.h>

#define SNPG_OVMF_ERROR (snpg_ovmf_error_quark())
GQuark snpg_ovmf_error_quark(void);

typedef enum {
    SNPG_OVMF_ERROR_SIZE,        /* image empty, too large or not page-sized */
    SNPG_OVMF_ERROR_TABLE,       /* footer GUID table truncated or malformed */
    SNPG_OVMF_ERROR_METADATA,    /* SEV metadata header or sections malformed */
} SnpgOvmfError;

#define SNPG_OVMF_PAGE_SIZE 4096u
/* Real images are 2-4 MiB; the cap bounds memory and the 4 GiB mapping. */
#define SNPG_OVMF_SIZE_MAX (64u * 1024 * 1024)
/* edk2 ships 5-7 sections and 5-6 table entries; more is not firmware. */
#define SNPG_OVMF_SECTIONS_MAX 64
#define SNPG_OVMF_TABLE_ENTRIES_MAX 64

typedef enum {
    SNPG_OVMF_SECTION_SNP_SEC_MEM = 1,
    SNPG_OVMF_SECTION_SNP_SECRETS = 2,
    SNPG_OVMF_SECTION_CPUID = 3,
    SNPG_OVMF_SECTION_SVSM_CAA = 4,
    SNPG_OVMF_SECTION_SNP_KERNEL_HASHES = 0x10,
} SnpgOvmfSectionType;

typedef struct {
    guint32 gpa;
    guint32 size;
    SnpgOvmfSectionType type;
} SnpgOvmfSection;

typedef struct {
    guint64 size;               /* bytes of the image */
    guint64 gpa;                /* the image ends at 4 GiB */
    gboolean has_table;         /* footer GUID table present */
    gboolean has_reset_block;   /* SEV_ES_RESET_BLOCK entry */
    guint32 reset_eip;          /* AP reset vector */
    gboolean has_hashes_table;  /* SEV_HASH_TABLE_RV entry */
    guint32 hashes_table_gpa;
    guint32 hashes_table_size;
    gboolean has_svsm_info;     /* SVSM_INFO entry (Coconut-SVSM images) */
    guint32 svsm_entry_offset;  /* the SVSM's entry point, from the image start */
    gboolean has_metadata;      /* OVMF_SEV_METADATA entry and a valid ASEV header */
    guint n_sections;
    SnpgOvmfSection sections[SNPG_OVMF_SECTIONS_MAX];
} SnpgOvmfInfo;

/* Whether an image of this size can be firmware at all (checked before
 * reading it). */
gboolean snpg_ovmf_check_size(guint64 size, GError **error);

/* Parses a whole firmware image. Without a footer table (or without SEV
 * metadata) it succeeds with has_table (has_metadata) FALSE: whether that is
 * acceptable depends on the mode, which the caller knows. */
gboolean snpg_ovmf_parse(const guint8 *data, gsize len, SnpgOvmfInfo *ret_info, GError **error);

/* "SNP_SEC_MEM", ...; NULL for a value that is not a section type. */
const char *snpg_ovmf_section_type_to_string(guint32 type);

/* The section of that type, or NULL. */
const SnpgOvmfSection *snpg_ovmf_find_section(const SnpgOvmfInfo *info, SnpgOvmfSectionType type);

/* Whether sev/seves can measure kernel, initrd and command line (a hashes
 * table with a nonzero address, like sev-snp-measure's check). */
gboolean snpg_ovmf_supports_sev_hashes(const SnpgOvmfInfo *info);
