/* OVMF footer GUID table and SEV metadata parser (see ovmf.h). */
#include "config.h"

#include <string.h>

#include "buf.h"
#include "i18n.h"
#include "ovmf.h"

G_DEFINE_QUARK(snpg-ovmf-error-quark, snpg_ovmf_error)

/* An entry is "data | u16 size | GUID", size counting data + this header. */
#define ENTRY_HEADER_SIZE 18
/* The last 32 bytes of the image hold the reset vector code. */
#define RESET_VECTOR_SIZE 32
#define METADATA_HEADER_SIZE 16
#define METADATA_ITEM_SIZE 12
#define FOUR_GIB G_GUINT64_CONSTANT(0x100000000)

/* GUIDs in their on-disk (EFI, mixed-endian) byte order. */
static const guint8 footer_guid[16] = {   /* 96b582de-1fb2-45f7-baea-a366c55a082d */
    0xde, 0x82, 0xb5, 0x96, 0xb2, 0x1f, 0xf7, 0x45,
    0xba, 0xea, 0xa3, 0x66, 0xc5, 0x5a, 0x08, 0x2d };
static const guint8 reset_block_guid[16] = {   /* 00f771de-1a7e-4fcb-890e-68c77e2fb44e */
    0xde, 0x71, 0xf7, 0x00, 0x7e, 0x1a, 0xcb, 0x4f,
    0x89, 0x0e, 0x68, 0xc7, 0x7e, 0x2f, 0xb4, 0x4e };
static const guint8 hashes_table_guid[16] = {   /* 7255371f-3a3b-4b04-927b-1da6efa8d454 */
    0x1f, 0x37, 0x55, 0x72, 0x3b, 0x3a, 0x04, 0x4b,
    0x92, 0x7b, 0x1d, 0xa6, 0xef, 0xa8, 0xd4, 0x54 };
static const guint8 metadata_guid[16] = {   /* dc886566-984a-4798-a75e-5585a7bf67cc */
    0x66, 0x65, 0x88, 0xdc, 0x4a, 0x98, 0x98, 0x47,
    0xa7, 0x5e, 0x55, 0x85, 0xa7, 0xbf, 0x67, 0xcc };
static const guint8 svsm_info_guid[16] = {   /* a789a612-0597-4c4b-a49f-cbb1fe9d1ddd */
    0x12, 0xa6, 0x89, 0xa7, 0x97, 0x05, 0x4b, 0x4c,
    0xa4, 0x9f, 0xcb, 0xb1, 0xfe, 0x9d, 0x1d, 0xdd };

const char *
snpg_ovmf_section_type_to_string(guint32 type)
{
    switch (type) {
    case SNPG_OVMF_SECTION_SNP_SEC_MEM: return "SNP_SEC_MEM";
    case SNPG_OVMF_SECTION_SNP_SECRETS: return "SNP_SECRETS";
    case SNPG_OVMF_SECTION_CPUID: return "CPUID";
    case SNPG_OVMF_SECTION_SVSM_CAA: return "SVSM_CAA";
    case SNPG_OVMF_SECTION_SNP_KERNEL_HASHES: return "SNP_KERNEL_HASHES";
    default: return NULL;
    }
}

const SnpgOvmfSection *
snpg_ovmf_find_section(const SnpgOvmfInfo *info, SnpgOvmfSectionType type)
{
    for (guint i = 0; i < info->n_sections; i++)
        if (info->sections[i].type == type)
            return &info->sections[i];
    return NULL;
}

gboolean
snpg_ovmf_supports_sev_hashes(const SnpgOvmfInfo *info)
{
    return info->has_hashes_table && info->hashes_table_gpa != 0;
}

static gboolean
table_error(GError **error, const char *why)
{
    g_set_error(error, SNPG_OVMF_ERROR, SNPG_OVMF_ERROR_TABLE,
                _("The OVMF footer table is malformed: %s."), why);
    return FALSE;
}

static gboolean
metadata_error(GError **error, const char *why)
{
    g_set_error(error, SNPG_OVMF_ERROR, SNPG_OVMF_ERROR_METADATA,
                _("The SEV metadata is malformed: %s."), why);
    return FALSE;
}

/* Stores one known entry; a known GUID twice would make the reference pick
 * one silently, so it is refused. */
static gboolean
take_entry(SnpgBuf *data, const guint8 guid[16], SnpgOvmfInfo *info,
           SnpgBuf *ret_metadata_entry, gboolean *have_metadata_entry, GError **error)
{
    if (memcmp(guid, reset_block_guid, 16) == 0) {
        if (info->has_reset_block)
            return table_error(error, _("the SEV-ES reset block entry appears twice"));
        if (snpg_buf_get_u32le(data, &info->reset_eip) < 0)
            return table_error(error, _("the SEV-ES reset block entry is too short"));
        info->has_reset_block = TRUE;
    } else if (memcmp(guid, hashes_table_guid, 16) == 0) {
        if (info->has_hashes_table)
            return table_error(error, _("the SEV hashes table entry appears twice"));
        if (snpg_buf_get_u32le(data, &info->hashes_table_gpa) < 0 ||
            snpg_buf_get_u32le(data, &info->hashes_table_size) < 0)
            return table_error(error, _("the SEV hashes table entry is too short"));
        info->has_hashes_table = TRUE;
    } else if (memcmp(guid, svsm_info_guid, 16) == 0) {
        if (info->has_svsm_info)
            return table_error(error, _("the SVSM information entry appears twice"));
        if (snpg_buf_get_u32le(data, &info->svsm_entry_offset) < 0)
            return table_error(error, _("the SVSM information entry is too short"));
        info->has_svsm_info = TRUE;
    } else if (memcmp(guid, metadata_guid, 16) == 0) {
        if (*have_metadata_entry)
            return table_error(error, _("the SEV metadata entry appears twice"));
        *ret_metadata_entry = *data;
        *have_metadata_entry = TRUE;
    }
    return TRUE;
}

static gboolean
parse_table(const SnpgBuf *image, SnpgOvmfInfo *info, SnpgBuf *ret_metadata_entry,
            gboolean *have_metadata_entry, GError **error)
{
    gsize footer_off = image->len - RESET_VECTOR_SIZE - ENTRY_HEADER_SIZE;
    SnpgBuf footer;
    guint8 guid[16];
    guint16 footer_size;
    gsize start, end;
    guint n_entries = 0;

    if (snpg_buf_slice(image, footer_off, ENTRY_HEADER_SIZE, &footer) < 0 ||
        snpg_buf_get_u16le(&footer, &footer_size) < 0 ||
        snpg_buf_get_bytes(&footer, guid, sizeof(guid)) < 0)
        return table_error(error, _("the image is too small"));
    if (memcmp(guid, footer_guid, sizeof(guid)) != 0)
        return TRUE;   /* no table: e.g. a variable store or a non-SEV build */
    info->has_table = TRUE;
    if (footer_size < ENTRY_HEADER_SIZE)
        return table_error(error, _("the footer entry is shorter than its header"));
    if ((gsize)(footer_size - ENTRY_HEADER_SIZE) > footer_off)
        return table_error(error, _("the table extends before the start of the image"));

    /* Entries are chained backwards from the footer. */
    start = footer_off - (gsize)(footer_size - ENTRY_HEADER_SIZE);
    end = footer_off;
    while (end > start) {
        SnpgBuf header, data;
        guint16 size;

        if (end - start < ENTRY_HEADER_SIZE)
            return table_error(error, _("bytes are left over before the first entry"));
        if (++n_entries > SNPG_OVMF_TABLE_ENTRIES_MAX)
            return table_error(error, _("it has too many entries"));
        if (snpg_buf_slice(image, end - ENTRY_HEADER_SIZE, ENTRY_HEADER_SIZE, &header) < 0 ||
            snpg_buf_get_u16le(&header, &size) < 0 ||
            snpg_buf_get_bytes(&header, guid, sizeof(guid)) < 0)
            return table_error(error, _("an entry is truncated"));
        if (size < ENTRY_HEADER_SIZE)
            return table_error(error, _("an entry is shorter than its header"));
        if (size > end - start)
            return table_error(error, _("an entry extends past the start of the table"));
        if (snpg_buf_slice(image, end - size, size - ENTRY_HEADER_SIZE, &data) < 0)
            return table_error(error, _("an entry is truncated"));
        if (!take_entry(&data, guid, info, ret_metadata_entry, have_metadata_entry, error))
            return FALSE;
        end -= size;
    }
    return TRUE;
}

static gboolean
sections_overlap(const SnpgOvmfSection *a, const SnpgOvmfSection *b)
{
    guint64 a_end = (guint64)a->gpa + a->size, b_end = (guint64)b->gpa + b->size;

    return a->gpa < b_end && b->gpa < a_end;
}

static gboolean
parse_section(SnpgBuf *items, SnpgOvmfInfo *info, GError **error)
{
    SnpgOvmfSection *sec = &info->sections[info->n_sections];
    guint32 type;

    if (snpg_buf_get_u32le(items, &sec->gpa) < 0 ||
        snpg_buf_get_u32le(items, &sec->size) < 0 ||
        snpg_buf_get_u32le(items, &type) < 0)
        return metadata_error(error, _("a section descriptor is truncated"));
    if (!snpg_ovmf_section_type_to_string(type)) {
        g_set_error(error, SNPG_OVMF_ERROR, SNPG_OVMF_ERROR_METADATA,
                    _("The SEV metadata has a section of unknown type '%u'."), type);
        return FALSE;
    }
    sec->type = type;
    if (sec->size == 0 || sec->gpa % SNPG_OVMF_PAGE_SIZE || sec->size % SNPG_OVMF_PAGE_SIZE) {
        g_set_error(error, SNPG_OVMF_ERROR, SNPG_OVMF_ERROR_METADATA,
                    _("The SEV metadata section %s at '0x%x' of length '0x%x' is empty "
                      "or not 4 KiB aligned."),
                    snpg_ovmf_section_type_to_string(type), sec->gpa, sec->size);
        return FALSE;
    }
    if ((guint64)sec->gpa + sec->size > FOUR_GIB)
        return metadata_error(error, _("a section extends past 4 GiB"));
    /* QEMU puts exactly one page of hashes there; the reference asserts it. */
    if (type == SNPG_OVMF_SECTION_SNP_KERNEL_HASHES && sec->size != SNPG_OVMF_PAGE_SIZE)
        return metadata_error(error, _("the kernel hashes section is not exactly one page"));
    for (guint i = 0; i < info->n_sections; i++) {
        if (sections_overlap(&info->sections[i], sec)) {
            g_set_error(error, SNPG_OVMF_ERROR, SNPG_OVMF_ERROR_METADATA,
                        _("The SEV metadata sections at '0x%x' and '0x%x' overlap."),
                        info->sections[i].gpa, sec->gpa);
            return FALSE;
        }
        if (type == SNPG_OVMF_SECTION_SNP_KERNEL_HASHES && info->sections[i].type == type)
            return metadata_error(error, _("the kernel hashes section appears twice"));
    }
    info->n_sections++;
    return TRUE;
}

static gboolean
parse_metadata(const SnpgBuf *image, SnpgBuf *entry, SnpgOvmfInfo *info, GError **error)
{
    guint32 offset_from_end, size, version, n_items;
    guint8 sig[4];
    SnpgBuf header, items;

    if (snpg_buf_get_u32le(entry, &offset_from_end) < 0)
        return table_error(error, _("the SEV metadata entry is too short"));
    if (offset_from_end < METADATA_HEADER_SIZE || offset_from_end > image->len)
        return metadata_error(error, _("its offset points outside the image"));
    if (snpg_buf_slice(image, image->len - offset_from_end, offset_from_end, &header) < 0 ||
        snpg_buf_get_bytes(&header, sig, sizeof(sig)) < 0 ||
        snpg_buf_get_u32le(&header, &size) < 0 ||
        snpg_buf_get_u32le(&header, &version) < 0 ||
        snpg_buf_get_u32le(&header, &n_items) < 0)
        return metadata_error(error, _("the header is truncated"));
    if (memcmp(sig, "ASEV", 4) != 0)
        return metadata_error(error, _("the signature is not 'ASEV'"));
    if (version != 1)
        return metadata_error(error, _("the version is not 1"));
    if (n_items > SNPG_OVMF_SECTIONS_MAX)
        return metadata_error(error, _("it declares too many sections"));
    if (size < METADATA_HEADER_SIZE + (guint64)n_items * METADATA_ITEM_SIZE)
        return metadata_error(error, _("its sections extend past its declared size"));
    if (size > offset_from_end)
        return metadata_error(error, _("its declared size extends past the end of the image"));
    if (snpg_buf_sub(&header, n_items * METADATA_ITEM_SIZE, &items) < 0)
        return metadata_error(error, _("the section list is truncated"));
    for (guint i = 0; i < n_items; i++)
        if (!parse_section(&items, info, error))
            return FALSE;
    info->has_metadata = TRUE;
    return TRUE;
}

gboolean
snpg_ovmf_check_size(guint64 size, GError **error)
{
    if (size == 0 || size % SNPG_OVMF_PAGE_SIZE || size > SNPG_OVMF_SIZE_MAX) {
        g_set_error(error, SNPG_OVMF_ERROR, SNPG_OVMF_ERROR_SIZE,
                    _("The firmware image size '%llu' is not a nonzero multiple "
                      "of 4096 bytes up to 64 MiB."), (unsigned long long)size);
        return FALSE;
    }
    return TRUE;
}

gboolean
snpg_ovmf_parse(const guint8 *data, gsize len, SnpgOvmfInfo *ret_info, GError **error)
{
    g_autofree SnpgOvmfInfo *info = g_new0(SnpgOvmfInfo, 1);
    SnpgBuf image, metadata_entry = { 0 };
    gboolean have_metadata_entry = FALSE;

    g_return_val_if_fail(data != NULL || len == 0, FALSE);
    g_return_val_if_fail(ret_info != NULL, FALSE);

    if (!snpg_ovmf_check_size(len, error))
        return FALSE;
    snpg_buf_init(&image, data, len);
    info->size = len;
    info->gpa = FOUR_GIB - len;
    if (!parse_table(&image, info, &metadata_entry, &have_metadata_entry, error))
        return FALSE;
    if (have_metadata_entry && !parse_metadata(&image, &metadata_entry, info, error))
        return FALSE;
    *ret_info = *info;
    return TRUE;
}
