/* Deterministic inputs for the measure tests (see measure-inputs.h). */
#include "config.h"

#include <string.h>

#include "buf.h"
#include "measure-inputs.h"
#include "testutil.h"

static const guint8 footer_guid[16] = {
    0xde, 0x82, 0xb5, 0x96, 0xb2, 0x1f, 0xf7, 0x45, 0xba, 0xea, 0xa3, 0x66, 0xc5, 0x5a, 0x08, 0x2d };
static const guint8 reset_guid[16] = {
    0xde, 0x71, 0xf7, 0x00, 0x7e, 0x1a, 0xcb, 0x4f, 0x89, 0x0e, 0x68, 0xc7, 0x7e, 0x2f, 0xb4, 0x4e };
static const guint8 hashes_guid[16] = {
    0x1f, 0x37, 0x55, 0x72, 0x3b, 0x3a, 0x04, 0x4b, 0x92, 0x7b, 0x1d, 0xa6, 0xef, 0xa8, 0xd4, 0x54 };
static const guint8 metadata_guid[16] = {
    0x66, 0x65, 0x88, 0xdc, 0x4a, 0x98, 0x98, 0x47, 0xa7, 0x5e, 0x55, 0x85, 0xa7, 0xbf, 0x67, 0xcc };
static const guint8 svsm_info_guid[16] = {
    0x12, 0xa6, 0x89, 0xa7, 0x97, 0x05, 0x4b, 0x4c, 0xa4, 0x9f, 0xcb, 0xb1, 0xfe, 0x9d, 0x1d, 0xdd };

/* Layout differs from edk2's on purpose (other addresses, an SVSM_CAA range,
 * kernel hashes in the middle, another AP reset address) so that a parser
 * tuned to the fixtures would fail. */
static const SnpgSynthSection default_sections[] = {
    { 0x00900000, 0x2000, 1 },    /* SNP_SEC_MEM */
    { 0x00902000, 0x1000, 2 },    /* SNP_SECRETS */
    { 0x00903000, 0x1000, 3 },    /* CPUID */
    { 0x00920000, 0x1000, 0x10 }, /* SNP_KERNEL_HASHES */
    { 0x00904000, 0x2000, 4 },    /* SVSM_CAA */
    { 0x00906000, 0x3000, 1 },    /* SNP_SEC_MEM */
};

static const SnpgSynthSpec default_spec = {
    .size = 16 * 4096,
    .reset_eip = 0x0090c008,
    .hashes_table_gpa = 0x00920400,
    .hashes_table_size = 0x400,
    .n_sections = G_N_ELEMENTS(default_sections),
    .sections = default_sections,
};

const SnpgSynthSpec *
snpg_synth_default(void)
{
    return &default_spec;
}

/* Low addresses like Coconut's, but unlike its image: kernel hashes (the
 * svsm mode measures them as zero pages) and SVSM_CAA between the others. */
static const SnpgSynthSection svsm_sections[] = {
    { 0x00010000, 0x3000, 1 },    /* SNP_SEC_MEM */
    { 0x00013000, 0x1000, 2 },    /* SNP_SECRETS */
    { 0x00020000, 0x1000, 0x10 }, /* SNP_KERNEL_HASHES */
    { 0x00014000, 0x1000, 3 },    /* CPUID */
    { 0x00015000, 0x2000, 4 },    /* SVSM_CAA */
};

static const SnpgSynthSpec svsm_spec = {
    .size = 8 * 4096,
    .reset_eip = 0x0000b004,      /* ignored by the svsm mode */
    .no_hashes_table = TRUE,
    .svsm_info = TRUE,
    .svsm_entry_offset = 0x3010,
    .n_sections = G_N_ELEMENTS(svsm_sections),
    .sections = svsm_sections,
};

const SnpgSynthSpec *
snpg_synth_svsm(void)
{
    return &svsm_spec;
}

static void
fill_pattern(guint8 *p, gsize len, guint page0)
{
    for (gsize i = 0; i < len; i++)
        p[i] = (guint8)((page0 + i / 4096) * 31 + (i % 4096) * 7 + 1);
}

/* Writes an entry ending at *end and moves *end before it. */
static void
put_entry(guint8 *img, gsize *end, const guint8 guid[16], const guint8 *data, gsize len)
{
    gsize size = len + 18;

    memcpy(img + *end - 16, guid, 16);
    snpg_put_u16le(img + *end - 18, (guint16)size);
    memcpy(img + *end - size, data, len);
    *end -= size;
}

GByteArray *
snpg_synth_build(const SnpgSynthSpec *spec)
{
    GByteArray *out = g_byte_array_sized_new(spec->size);
    guint8 *img;
    gsize end, footer_end;
    guint8 d[8];

    g_byte_array_set_size(out, spec->size);
    img = out->data;
    fill_pattern(img, spec->size, 100);

    /* ASEV header and sections, 4 KiB from the end. */
    if (!spec->no_metadata) {
        guint8 *m = img + SNPG_SYNTH_METADATA_OFF(spec->size);

        memcpy(m, "ASEV", 4);
        snpg_put_u32le(m + 4, 16 + 12 * spec->n_sections);
        snpg_put_u32le(m + 8, spec->metadata_version ? spec->metadata_version : 1);
        snpg_put_u32le(m + 12, spec->n_sections);
        for (guint i = 0; i < spec->n_sections; i++) {
            snpg_put_u32le(m + 16 + 12 * i, spec->sections[i].gpa);
            snpg_put_u32le(m + 20 + 12 * i, spec->sections[i].size);
            snpg_put_u32le(m + 24 + 12 * i, spec->sections[i].type);
        }
    }

    /* Footer table: entries chained backwards from the footer entry. */
    memset(img + spec->size - 32, 0x90, 32);   /* stands in for the reset vector */
    footer_end = end = spec->size - 32;
    end -= 18;
    if (!spec->no_reset_block) {
        snpg_put_u32le(d, spec->reset_eip);
        put_entry(img, &end, reset_guid, d, 4);
    }
    if (!spec->no_hashes_table) {
        snpg_put_u32le(d, spec->hashes_table_gpa);
        snpg_put_u32le(d + 4, spec->hashes_table_size);
        put_entry(img, &end, hashes_guid, d, 8);
    }
    if (!spec->no_metadata) {
        snpg_put_u32le(d, 4096);
        put_entry(img, &end, metadata_guid, d, 4);
    }
    if (spec->svsm_info) {
        snpg_put_u32le(d, spec->svsm_entry_offset);
        put_entry(img, &end, svsm_info_guid, d, 4);
    }
    memcpy(img + footer_end - 16, footer_guid, 16);
    snpg_put_u16le(img + footer_end - 18, (guint16)(footer_end - end));
    return out;
}

GByteArray *
snpg_image_from_tail(const char *tail_path, guint filler_pages)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *tail = NULL;
    gsize tail_len = 0;
    GByteArray *out;

    g_file_get_contents(tail_path, &tail, &tail_len, &error);
    g_assert_no_error(error);
    out = g_byte_array_sized_new(filler_pages * 4096 + tail_len);
    g_byte_array_set_size(out, filler_pages * 4096);
    fill_pattern(out->data, out->len, 0);
    g_byte_array_append(out, (const guint8 *)tail, tail_len);
    return out;
}

static void
write_bytes(const char *dir, const char *name, const guint8 *data, gsize len)
{
    const char *extra = g_getenv("SNPG_MEASURE_WRITE_INPUTS");

    g_free(snpg_test_write(dir, name, data, len));
    if (extra && *extra)
        g_free(snpg_test_write(extra, name, data, len));
}

void
snpg_measure_inputs_write(const char *dir)
{
    g_autofree char *amd_tail = snpg_test_data("measure", "ovmf_AmdSev_suffix.bin", NULL);
    g_autofree char *x64_tail = snpg_test_data("measure", "ovmf_OvmfX64_suffix.bin", NULL);
    g_autoptr(GByteArray) amd = snpg_image_from_tail(amd_tail, 31);
    g_autoptr(GByteArray) x64 = snpg_image_from_tail(x64_tail, 31);
    g_autoptr(GByteArray) synth = snpg_synth_build(&default_spec);
    SnpgSynthSpec nometa_spec = default_spec;
    g_autoptr(GByteArray) synth_nometa = NULL;
    g_autofree char *svsm_tail = snpg_test_data("measure", "svsm_suffix.bin", NULL);
    g_autofree char *svsm_ovmf_tail = snpg_test_data("measure", "svsm_ovmf_suffix.bin", NULL);
    g_autoptr(GByteArray) svsm = snpg_image_from_tail(svsm_tail, 15);
    g_autoptr(GByteArray) svsm_ovmf = snpg_image_from_tail(svsm_ovmf_tail, 23);
    g_autoptr(GByteArray) svsm_synth = snpg_synth_build(&svsm_spec);
    g_autofree guint8 *vars = g_malloc0(SNPG_SYNTH_VARS_SIZE);
    /* Sizes that are not chunk multiples; the initrd spans several reads. */
    gsize klen = 300001, ilen = 1536 * 1024 + 3;
    g_autofree guint8 *kernel = g_malloc(klen);
    g_autofree guint8 *initrd = g_malloc(ilen);

    for (gsize i = 0; i < klen; i++)
        kernel[i] = (guint8)(i * 7 % 251);
    for (gsize i = 0; i < ilen; i++)
        initrd[i] = (guint8)(i * 13 % 253);
    write_bytes(dir, "amd.bin", amd->data, amd->len);
    write_bytes(dir, "x64.bin", x64->data, x64->len);
    write_bytes(dir, "synth.bin", synth->data, synth->len);
    /* A firmware for SEV-ES only: reset block and hashes table, no SNP metadata. */
    nometa_spec.no_metadata = TRUE;
    synth_nometa = snpg_synth_build(&nometa_spec);
    write_bytes(dir, "synth-nometa.bin", synth_nometa->data, synth_nometa->len);
    write_bytes(dir, "kernel.bin", kernel, klen);
    write_bytes(dir, "initrd.bin", initrd, ilen);
    write_bytes(dir, "svsm.bin", svsm->data, svsm->len);
    write_bytes(dir, "svsm-ovmf.bin", svsm_ovmf->data, svsm_ovmf->len);
    write_bytes(dir, "svsm-synth.bin", svsm_synth->data, svsm_synth->len);
    write_bytes(dir, "vars.bin", vars, SNPG_SYNTH_VARS_SIZE);
}
