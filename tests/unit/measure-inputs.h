/* Deterministic inputs for the measure tests: full firmware images made from
 * the fixture tails, synthetic firmware with our own footer table and SEV
 * metadata, and kernel/initrd files with a fixed byte pattern. The expected
 * digests in the tests were computed by sev-snp-measure on exactly these
 * bytes: run a test program with SNPG_MEASURE_WRITE_INPUTS=DIR to get them. */
#pragma once

#include <glib.h>

typedef struct {
    guint32 gpa, size, type;
} SnpgSynthSection;

typedef struct {
    gsize size;                    /* image size (multiple of 4096, >= 8192) */
    gboolean no_reset_block;
    guint32 reset_eip;
    gboolean no_hashes_table;
    guint32 hashes_table_gpa, hashes_table_size;
    gboolean no_metadata;
    guint32 metadata_version;      /* 0: 1 */
    gboolean svsm_info;            /* add an SVSM_INFO entry (before the metadata entry) */
    guint32 svsm_entry_offset;
    guint n_sections;
    const SnpgSynthSection *sections;
} SnpgSynthSpec;

/* Offsets inside a synthetic image, for tests that corrupt one field. The
 * table holds, from the start: metadata entry, hashes entry, reset entry,
 * footer (each "data | u16 size | GUID"). The ASEV header is 4 KiB from the end. */
#define SNPG_SYNTH_FOOTER_SIZE_OFF(size) ((size) - 32 - 18)
#define SNPG_SYNTH_RESET_SIZE_OFF(size) ((size) - 32 - 18 - 18)
#define SNPG_SYNTH_METADATA_OFF(size) ((size) - 4096)

/* The standard synthetic spec used by the oracle cases ("synth.bin"). */
const SnpgSynthSpec *snpg_synth_default(void);
/* A synthetic SVSM image ("svsm-synth.bin"): entry point 0x3010 into the
 * image, an SVSM_CAA and a kernel hashes section. */
const SnpgSynthSpec *snpg_synth_svsm(void);
/* Bytes of the variable store file "vars.bin". */
#define SNPG_SYNTH_VARS_SIZE (33 * 4096)
GByteArray *snpg_synth_build(const SnpgSynthSpec *spec);

/* filler_pages pages of a fixed pattern followed by the 4 KiB tail. */
GByteArray *snpg_image_from_tail(const char *tail_path, guint filler_pages);

/* Writes amd.bin, x64.bin, synth.bin, synth-nometa.bin (synth.bin without
 * SEV metadata), kernel.bin, initrd.bin, and for
 * snp:svsm svsm.bin, svsm-ovmf.bin (from the Coconut fixture tails),
 * svsm-synth.bin and vars.bin into dir
 * (and, with SNPG_MEASURE_WRITE_INPUTS set, also into that directory). */
void snpg_measure_inputs_write(const char *dir);
