/* Launch digest of SEV-SNP, SEV-ES and SEV guests (see measure.h and
 * ../shared/measure-algorithm.md for the byte layouts). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "autocleanups.h"
#include "buf.h"
#include "file.h"
#include "i18n.h"
#include "measure.h"

G_DEFINE_QUARK(snpg-measure-error-quark, snpg_measure_error)

#define PAGE_SIZE SNPG_OVMF_PAGE_SIZE
#define PAGE_INFO_SIZE 0x70
#define FOUR_GIB G_GUINT64_CONSTANT(0x100000000)

/* SNP PAGE_INFO page types. */
enum {
    PAGE_TYPE_NORMAL = 1,
    PAGE_TYPE_VMSA = 2,
    PAGE_TYPE_ZERO = 3,
    PAGE_TYPE_UNMEASURED = 4,
    PAGE_TYPE_SECRETS = 5,
    PAGE_TYPE_CPUID = 6,
};

static const char *const page_type_names[] = {
    NULL, "NORMAL", "VMSA", "ZERO", "UNMEASURED", "SECRETS", "CPUID",
};

static const char *const mode_names[SNPG_MEASURE_MODE_LAST] = {
    "snp", "seves", "sev", "snp:ovmf-hash", "snp:svsm",
};

const char *
snpg_measure_mode_to_string(SnpgMeasureMode mode)
{
    g_return_val_if_fail(mode < SNPG_MEASURE_MODE_LAST, NULL);
    return mode_names[mode];
}

int
snpg_measure_mode_from_string(const char *name)
{
    for (int i = 0; i < SNPG_MEASURE_MODE_LAST; i++)
        if (g_str_equal(mode_names[i], name))
            return i;
    return -1;
}

gsize
snpg_measure_digest_size(SnpgMeasureMode mode)
{
    return mode == SNPG_MEASURE_MODE_SEV || mode == SNPG_MEASURE_MODE_SEV_ES
        ? SNPG_MEASURE_SEV_DIGEST_SIZE : SNPG_MEASURE_SNP_DIGEST_SIZE;
}

void
snpg_measure_explain_free(SnpgMeasureExplain *explain)
{
    if (!explain)
        return;
    g_free(explain->firmware);
    g_free(explain->svsm);
    if (explain->stages)
        g_array_unref(explain->stages);
    g_free(explain);
}

static gboolean
crypto_failed(GError **error)
{
    g_set_error(error, SNPG_MEASURE_ERROR, SNPG_MEASURE_ERROR_FAILED,
                _("Computing a digest failed."));
    return FALSE;
}

/* The running state of one measurement: digest algorithm fetched once and a
 * context reused for every page (thousands of small digests). */
typedef struct {
    EVP_MD *md;
    EVP_MD_CTX *ctx;        /* SNP: per-page digests; SEV: the running digest */
    guint8 ld[SNPG_MEASURE_DIGEST_MAX];
    SnpgMeasureExplain *explain;
} Measure;

static void
measure_clear(Measure *m)
{
    EVP_MD_free(m->md);
    EVP_MD_CTX_free(m->ctx);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Measure, measure_clear)

static gboolean
sha384(Measure *m, const void *data, gsize len, guint8 out[48])
{
    unsigned int n = 0;

    return EVP_DigestInit_ex2(m->ctx, m->md, NULL) && EVP_DigestUpdate(m->ctx, data, len) &&
           EVP_DigestFinal_ex(m->ctx, out, &n) && n == 48;
}

/* One SNP LAUNCH_UPDATE: LD = SHA-384(PAGE_INFO(LD, contents, type, gpa)). */
static gboolean
snp_update(Measure *m, guint8 page_type, guint64 gpa, const guint8 contents[48])
{
    guint8 info[PAGE_INFO_SIZE] = { 0 };

    memcpy(info, m->ld, 48);
    if (contents)
        memcpy(info + 0x30, contents, 48);
    snpg_put_u16le(info + 0x60, PAGE_INFO_SIZE);
    info[0x62] = page_type;
    /* imi_page and the VMPL permissions stay 0. */
    snpg_put_u64le(info + 0x68, gpa);
    return sha384(m, info, sizeof(info), m->ld);
}

static gboolean
snp_update_normal(Measure *m, guint64 gpa, const guint8 *data, gsize len)
{
    guint8 contents[48];

    for (gsize off = 0; off < len; off += PAGE_SIZE)
        if (!sha384(m, data + off, PAGE_SIZE, contents) ||
            !snp_update(m, PAGE_TYPE_NORMAL, gpa + off, contents))
            return FALSE;
    return TRUE;
}

static gboolean
snp_update_range(Measure *m, guint8 page_type, guint64 gpa, guint64 len)
{
    for (guint64 off = 0; off < len; off += PAGE_SIZE)
        if (!snp_update(m, page_type, gpa + off, NULL))
            return FALSE;
    return TRUE;
}

static SnpgMeasureStage *
add_stage(Measure *m, SnpgMeasureStageKind kind, guint64 gpa, guint64 length)
{
    SnpgMeasureStage stage = { .kind = kind, .gpa = gpa, .length = length };

    if (!m->explain)
        return NULL;
    g_array_append_val(m->explain->stages, stage);
    return &g_array_index(m->explain->stages, SnpgMeasureStage, m->explain->stages->len - 1);
}

/* The running digest after a stage: for SNP the LD, for SEV the SHA-256 so
 * far (finalized on a copy, the running context goes on). */
static gboolean
snapshot(Measure *m, SnpgMeasureStage *stage, gboolean snp)
{
    g_autoptr(EVP_MD_CTX) copy = NULL;
    unsigned int n = 0;

    if (!stage)
        return TRUE;
    if (snp) {
        memcpy(stage->digest, m->ld, 48);
        return TRUE;
    }
    copy = EVP_MD_CTX_new();
    return copy && EVP_MD_CTX_copy_ex(copy, m->ctx) && EVP_DigestFinal_ex(copy, stage->digest, &n);
}

static gboolean
svsm_size_error(GError **error, const char *path, guint64 size)
{
    g_set_error(error, SNPG_MEASURE_ERROR, SNPG_MEASURE_ERROR_FIRMWARE,
                _("The SVSM image '%s' cannot be used: its size '%llu' is not a nonzero "
                  "multiple of 4096 bytes up to 64 MiB."), path, (unsigned long long)size);
    return FALSE;
}

/* Reads the whole image (the parser needs random access to its tail and
 * the pages are hashed in order), at most SNPG_OVMF_SIZE_MAX bytes.
 * svsm: the image is an SVSM image rather than the firmware. */
static gboolean
read_image(const char *path, gboolean svsm, GByteArray **ret_data, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autoptr(GBytes) data = NULL;
    struct stat st;

    /* A regular file's size is checked first, for the precise message
     * (the read below is bounded either way). */
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
        if (svsm && !snpg_ovmf_check_size((guint64)st.st_size, NULL))
            return svsm_size_error(error, path, (guint64)st.st_size);
        if (!svsm && !snpg_ovmf_check_size((guint64)st.st_size, error)) {
            g_prefix_error(error, _("Firmware '%s': "), path);
            return FALSE;
        }
    }
    /* Devices and pipes too (a firmware given as /dev/fd/N). */
    data = snpg_file_read_full(path, SNPG_OVMF_SIZE_MAX, SNPG_FILE_READ_ALLOW_DEVICE, &local);
    if (!data) {
        g_set_error(error, SNPG_MEASURE_ERROR, SNPG_MEASURE_ERROR_IO,
                    svsm ? _("The SVSM image cannot be used: %s") : _("The firmware cannot be used: %s"),
                    local->message);
        return FALSE;
    }
    /* Not a regular file: the size is known only now. */
    if (svsm && !snpg_ovmf_check_size(g_bytes_get_size(data), NULL))
        return svsm_size_error(error, path, g_bytes_get_size(data));
    *ret_data = g_bytes_unref_to_array(g_steal_pointer(&data));
    return TRUE;
}

static gboolean
firmware_error(GError **error, const char *path, const char *why)
{
    g_set_error(error, SNPG_MEASURE_ERROR, SNPG_MEASURE_ERROR_FIRMWARE,
                _("The firmware '%s' cannot be used: %s."), path, why);
    return FALSE;
}

static gboolean
invalid(GError **error, const char *msg)
{
    g_set_error_literal(error, SNPG_MEASURE_ERROR, SNPG_MEASURE_ERROR_INVALID, msg);
    return FALSE;
}

static gboolean
check_params(const SnpgMeasureParams *p, GError **error)
{
    gboolean snp = p->mode == SNPG_MEASURE_MODE_SNP;
    gboolean svsm = p->mode == SNPG_MEASURE_MODE_SNP_SVSM;

    g_return_val_if_fail(p->mode < SNPG_MEASURE_MODE_LAST, FALSE);
    g_return_val_if_fail(p->vmm < SNPG_VMM_LAST, FALSE);
    g_return_val_if_fail(p->firmware != NULL, FALSE);

    if (p->mode == SNPG_MEASURE_MODE_SNP_OVMF_HASH)
        return TRUE;   /* only the firmware matters */
    if ((snp || svsm || p->mode == SNPG_MEASURE_MODE_SEV_ES) && p->vcpus == 0)
        return invalid(error, _("A guest needs at least one vCPU."));
    if (!svsm && (p->svsm || p->vars_size || p->vars_file))
        return invalid(error, _("An SVSM image and an OVMF variable store apply to the "
                                "snp:svsm mode only."));
    if (svsm) {
        /* The reference ignores these; measuring without them would
         * describe some other guest. */
        if (p->vmm != SNPG_VMM_QEMU)
            return invalid(error, _("The snp:svsm mode supports the QEMU VMM type only."));
        if (!p->svsm)
            return invalid(error, _("The snp:svsm mode needs an SVSM image."));
        if (p->vars_file && p->vars_size)
            return invalid(error, _("Give the OVMF variable store as a size or as a file, "
                                    "not both."));
        if (!p->vars_file && p->vars_size == 0)
            return invalid(error, _("The snp:svsm mode needs the size of the OVMF variable "
                                    "store (nonzero) or the file."));
        if (p->kernel || p->initrd || (p->append && *p->append))
            return invalid(error, _("The snp:svsm mode does not measure a kernel, initrd or "
                                    "command line; they would go unmeasured."));
    }
    if (p->ovmf_hash && !snp)
        return invalid(error, _("A precomputed firmware hash applies to the snp mode only."));
    if (!p->kernel && (p->initrd || (p->append && *p->append)))
        return invalid(error, _("An initrd or a kernel command line needs a kernel."));
    return TRUE;
}

/* What the firmware must provide for the mode; each refusal is a case in
 * which the reference prints a value that no QEMU launch would produce. */
static gboolean
check_firmware(const SnpgMeasureParams *p, const SnpgOvmfInfo *info, GError **error)
{
    gboolean sev = p->mode == SNPG_MEASURE_MODE_SEV;
    gboolean seves = p->mode == SNPG_MEASURE_MODE_SEV_ES;
    gboolean vmsa = !sev && p->mode != SNPG_MEASURE_MODE_SNP_OVMF_HASH;

    if (p->mode == SNPG_MEASURE_MODE_SNP_SVSM)
        return TRUE;   /* only its pages are measured; the SVSM image is checked instead */
    /* The SEV metadata lists the pages SNP pre-validates; QEMU needs it for
     * SNP only. SEV-ES needs just the reset block (the APs' start address). */
    if (!sev && !seves && !info->has_metadata)
        return firmware_error(error, p->firmware,
                              _("it has no SEV metadata, so QEMU cannot launch an SNP guest with it"));
    if (vmsa && !info->has_reset_block)
        return firmware_error(error, p->firmware,
                              seves ? _("it has no SEV-ES reset block, so QEMU cannot launch an "
                                        "SEV-ES guest with it")
                                    : _("it has no SEV-ES reset block, so QEMU cannot launch an "
                                        "SNP guest with it"));
    if (vmsa && p->vcpus > 1 && info->reset_eip == 0)
        return firmware_error(error, p->firmware,
                              seves ? _("its AP reset address is zero, so QEMU cannot start the "
                                        "other vCPUs of an SEV-ES guest")
                                    : _("its AP reset address is zero, so QEMU cannot start the "
                                        "other vCPUs of an SNP guest"));
    if (!p->kernel || p->mode == SNPG_MEASURE_MODE_SNP_OVMF_HASH)
        return TRUE;

    if (p->mode == SNPG_MEASURE_MODE_SNP) {
        const SnpgOvmfSection *sec =
            snpg_ovmf_find_section(info, SNPG_OVMF_SECTION_SNP_KERNEL_HASHES);

        if (!sec)
            return firmware_error(error, p->firmware,
                                  _("a kernel was given but its SEV metadata has no "
                                    "SNP_KERNEL_HASHES section, so kernel, initrd and command "
                                    "line would not be measured"));
        /* QEMU writes the table at the table's address; the page measured is
         * the section's: they must be the same page. */
        if (!info->has_hashes_table ||
            (info->hashes_table_gpa & ~(guint32)(PAGE_SIZE - 1)) != sec->gpa ||
            (info->hashes_table_gpa & (PAGE_SIZE - 1)) + SNPG_SEV_HASHES_TABLE_SIZE > PAGE_SIZE)
            return firmware_error(error, p->firmware,
                                  _("its SEV hashes table does not lie inside its "
                                    "SNP_KERNEL_HASHES page"));
    } else if (!snpg_ovmf_supports_sev_hashes(info)) {
        return firmware_error(error, p->firmware,
                              _("a kernel was given but it has no SEV hashes table, so kernel, "
                                "initrd and command line would not be measured"));
    }
    /* QEMU refuses a table area smaller than the padded table. */
    if (info->hashes_table_size < SNPG_SEV_HASHES_TABLE_SIZE)
        return firmware_error(error, p->firmware, _("its SEV hashes table area is too small"));
    return TRUE;
}

static gboolean
snp_section(Measure *m, const SnpgMeasureParams *p, const SnpgOvmfSection *sec,
            const guint8 *hashes_page)
{
    SnpgMeasureStage *stage = add_stage(m, SNPG_MEASURE_STAGE_SECTION, sec->gpa, sec->size);
    guint8 type = 0, contents[48];
    gboolean ok = TRUE;

    switch (sec->type) {
    case SNPG_OVMF_SECTION_SNP_SEC_MEM:
        /* GCE leaves this memory unmeasured; QEMU and EC2 zero it. */
        type = p->vmm == SNPG_VMM_GCE ? PAGE_TYPE_UNMEASURED : PAGE_TYPE_ZERO;
        ok = snp_update_range(m, type, sec->gpa, sec->size);
        break;
    case SNPG_OVMF_SECTION_SNP_SECRETS:
        type = PAGE_TYPE_SECRETS;
        ok = snp_update(m, type, sec->gpa, NULL);
        break;
    case SNPG_OVMF_SECTION_CPUID:
        type = PAGE_TYPE_CPUID;
        if (p->vmm == SNPG_VMM_EC2) {   /* EC2 adds CPUID pages after all others */
            if (stage)
                stage->skipped = TRUE;
            break;
        }
        ok = snp_update(m, type, sec->gpa, NULL);
        break;
    case SNPG_OVMF_SECTION_SVSM_CAA:
        type = PAGE_TYPE_ZERO;
        ok = snp_update_range(m, type, sec->gpa, sec->size);
        break;
    case SNPG_OVMF_SECTION_SNP_KERNEL_HASHES:
        if (hashes_page) {
            type = PAGE_TYPE_NORMAL;
            ok = sha384(m, hashes_page, PAGE_SIZE, contents) &&
                 snp_update(m, type, sec->gpa, contents);
            if (ok && stage) {
                memcpy(stage->contents_digest, contents, 48);
                stage->contents_digest_len = 48;
            }
        } else {
            type = PAGE_TYPE_ZERO;
            ok = snp_update_range(m, type, sec->gpa, sec->size);
        }
        break;
    default:
        g_assert_not_reached();   /* the parser admits known types only */
    }
    if (stage) {
        stage->section_type = sec->type;
        stage->page_type = page_type_names[type];
    }
    return ok && snapshot(m, stage, TRUE);
}

static void
build_vmsas(const SnpgMeasureParams *p, const SnpgOvmfInfo *info, guint64 features,
            guint8 *bsp, guint8 *ap)
{
    guint32 sig = p->mode == SNPG_MEASURE_MODE_SEV ? 0 : p->vcpu_sig;

    snpg_vmsa_build(bsp, p->vmm, SNPG_VMSA_BSP_EIP, features, sig);
    if (p->vcpus > 1)
        snpg_vmsa_build(ap, p->vmm, info->reset_eip, features, sig);
}

static guint64
vmsa_rdx(const guint8 *page)
{
    SnpgBuf b;
    guint64 v = 0;

    snpg_buf_init(&b, page, SNPG_VMSA_PAGE_SIZE);
    if (snpg_buf_skip(&b, 0x310) < 0 || snpg_buf_get_u64le(&b, &v) < 0)
        return 0;
    return v;
}

static void
explain_vcpu(Measure *m, guint i, guint32 eip, const guint8 *page,
             const guint8 *digest, gsize digest_len, gboolean snp)
{
    SnpgMeasureStage *stage = add_stage(m, SNPG_MEASURE_STAGE_VMSA,
                                        snp ? SNPG_MEASURE_VMSA_GPA : 0, SNPG_VMSA_PAGE_SIZE);

    if (!stage)
        return;
    stage->vcpu = i;
    stage->eip = eip;
    stage->rdx = vmsa_rdx(page);
    stage->page_type = snp ? page_type_names[PAGE_TYPE_VMSA] : NULL;
    memcpy(stage->contents_digest, digest, digest_len);
    stage->contents_digest_len = digest_len;
    snapshot(m, stage, snp);
}

/* Waits for the kernel and initrd hashes; the job is gone afterwards. */
static gboolean
take_hashes(SnpgSevHashesJob **job, SnpgSevHashes *ret_hashes, GError **error)
{
    return snpg_sev_hashes_finish(g_steal_pointer(job), ret_hashes, error);
}

static void
explain_hashes(Measure *m, const SnpgSevHashes *hashes, guint64 gpa, const guint8 *table)
{
    if (!m->explain)
        return;
    m->explain->has_hashes = TRUE;
    m->explain->hashes = *hashes;
    m->explain->hashes_table_gpa = gpa;
    memcpy(m->explain->hashes_table, table, SNPG_SEV_HASHES_TABLE_SIZE);
}

/* Keeps the pages for --dump-vmsa: vCPU 0 has bsp, every other one ap. */
static void
explain_vmsa_pages(Measure *m, const guint8 *bsp, const guint8 *ap, guint vcpus)
{
    if (!m->explain)
        return;
    m->explain->has_vmsa = TRUE;
    memcpy(m->explain->bsp_vmsa, bsp, SNPG_VMSA_PAGE_SIZE);
    m->explain->has_ap_vmsa = vcpus > 1;
    memcpy(m->explain->ap_vmsa, ap, SNPG_VMSA_PAGE_SIZE);
}

static gboolean
measure_snp(Measure *m, const SnpgMeasureParams *p, const guint8 *fw, const SnpgOvmfInfo *info,
            SnpgSevHashesJob **job, GError **error)
{
    g_autofree guint8 *bsp = g_malloc(SNPG_VMSA_PAGE_SIZE);
    g_autofree guint8 *ap = g_malloc0(SNPG_VMSA_PAGE_SIZE);
    g_autofree guint8 *hashes_page = NULL;
    guint8 bsp_digest[48], ap_digest[48];
    SnpgMeasureStage *stage;
    SnpgSevHashes hashes;

    m->md = EVP_MD_fetch(NULL, "SHA384", NULL);
    m->ctx = EVP_MD_CTX_new();
    if (!m->md || !m->ctx)
        return crypto_failed(error);

    /* 1. Firmware pages, hashed while the threads hash kernel and initrd. */
    stage = add_stage(m, SNPG_MEASURE_STAGE_FIRMWARE, info->gpa, info->size);
    if (p->ovmf_hash && p->mode == SNPG_MEASURE_MODE_SNP)
        memcpy(m->ld, p->ovmf_hash, 48);
    else if (!snp_update_normal(m, info->gpa, fw, info->size))
        return crypto_failed(error);
    if (stage) {
        stage->page_type = page_type_names[PAGE_TYPE_NORMAL];
        snapshot(m, stage, TRUE);
    }
    if (p->mode == SNPG_MEASURE_MODE_SNP_OVMF_HASH)
        return TRUE;

    if (*job) {
        guint off = info->hashes_table_gpa & (PAGE_SIZE - 1);

        if (!take_hashes(job, &hashes, error))
            return FALSE;
        hashes_page = g_malloc0(PAGE_SIZE);
        snpg_sev_hashes_table(&hashes, hashes_page + off);
        explain_hashes(m, &hashes, info->hashes_table_gpa, hashes_page + off);
    }

    /* 2. Metadata sections in file order; 3. EC2's CPUID pages. */
    for (guint i = 0; i < info->n_sections; i++)
        if (!snp_section(m, p, &info->sections[i], hashes_page))
            return crypto_failed(error);
    if (p->vmm == SNPG_VMM_EC2) {
        for (guint i = 0; i < info->n_sections; i++) {
            const SnpgOvmfSection *sec = &info->sections[i];

            if (sec->type != SNPG_OVMF_SECTION_CPUID)
                continue;
            stage = add_stage(m, SNPG_MEASURE_STAGE_SECTION, sec->gpa, sec->size);
            if (!snp_update(m, PAGE_TYPE_CPUID, sec->gpa, NULL))
                return crypto_failed(error);
            if (stage) {
                stage->section_type = sec->type;
                stage->page_type = page_type_names[PAGE_TYPE_CPUID];
                snapshot(m, stage, TRUE);
            }
        }
    }

    /* 4. One VMSA per vCPU; every AP has the same page, hashed once. */
    build_vmsas(p, info, p->guest_features, bsp, ap);
    if (!sha384(m, bsp, SNPG_VMSA_PAGE_SIZE, bsp_digest) ||
        (p->vcpus > 1 && !sha384(m, ap, SNPG_VMSA_PAGE_SIZE, ap_digest)))
        return crypto_failed(error);
    for (guint i = 0; i < p->vcpus; i++) {
        if (!snp_update(m, PAGE_TYPE_VMSA, SNPG_MEASURE_VMSA_GPA, i == 0 ? bsp_digest : ap_digest))
            return crypto_failed(error);
        explain_vcpu(m, i, i == 0 ? SNPG_VMSA_BSP_EIP : info->reset_eip, i == 0 ? bsp : ap,
                     i == 0 ? bsp_digest : ap_digest, 48, TRUE);
    }
    explain_vmsa_pages(m, bsp, ap, p->vcpus);
    return TRUE;
}

static gboolean
measure_sev(Measure *m, const SnpgMeasureParams *p, const guint8 *fw, const SnpgOvmfInfo *info,
            SnpgSevHashesJob **job, GError **error)
{
    g_autofree guint8 *bsp = g_malloc(SNPG_VMSA_PAGE_SIZE);
    g_autofree guint8 *ap = g_malloc0(SNPG_VMSA_PAGE_SIZE);
    guint8 bsp_digest[32] = { 0 }, ap_digest[32] = { 0 };
    gboolean es = p->mode == SNPG_MEASURE_MODE_SEV_ES;
    SnpgMeasureStage *stage;
    unsigned int n = 0;

    m->md = EVP_MD_fetch(NULL, "SHA256", NULL);
    m->ctx = EVP_MD_CTX_new();
    if (!m->md || !m->ctx || !EVP_DigestInit_ex2(m->ctx, m->md, NULL) ||
        !EVP_DigestUpdate(m->ctx, fw, info->size))
        return crypto_failed(error);
    stage = add_stage(m, SNPG_MEASURE_STAGE_FIRMWARE, info->gpa, info->size);
    if (!snapshot(m, stage, FALSE))
        return crypto_failed(error);

    if (*job) {
        SnpgSevHashes hashes;
        guint8 table[SNPG_SEV_HASHES_TABLE_SIZE];

        if (!take_hashes(job, &hashes, error))
            return FALSE;
        snpg_sev_hashes_table(&hashes, table);
        if (!EVP_DigestUpdate(m->ctx, table, sizeof(table)))
            return crypto_failed(error);
        stage = add_stage(m, SNPG_MEASURE_STAGE_HASHES_TABLE, info->hashes_table_gpa,
                          SNPG_SEV_HASHES_TABLE_SIZE);
        if (!snapshot(m, stage, FALSE))
            return crypto_failed(error);
        explain_hashes(m, &hashes, info->hashes_table_gpa, table);
    }

    if (es) {
        /* SEV-ES appends the VMSA pages themselves; sev_features is 0. */
        build_vmsas(p, info, 0, bsp, ap);
        if (m->explain) {
            unsigned int dn = 0;

            if (!EVP_Digest(bsp, SNPG_VMSA_PAGE_SIZE, bsp_digest, &dn, m->md, NULL) ||
                (p->vcpus > 1 && !EVP_Digest(ap, SNPG_VMSA_PAGE_SIZE, ap_digest, &dn, m->md, NULL)))
                return crypto_failed(error);
        }
        for (guint i = 0; i < p->vcpus; i++) {
            if (!EVP_DigestUpdate(m->ctx, i == 0 ? bsp : ap, SNPG_VMSA_PAGE_SIZE))
                return crypto_failed(error);
            explain_vcpu(m, i, i == 0 ? SNPG_VMSA_BSP_EIP : info->reset_eip, i == 0 ? bsp : ap,
                         i == 0 ? bsp_digest : ap_digest, 32, FALSE);
        }
        explain_vmsa_pages(m, bsp, ap, p->vcpus);
    }
    if (!EVP_DigestFinal_ex(m->ctx, m->ld, &n) || n != 32)
        return crypto_failed(error);
    return TRUE;
}

/* The size of the variable store file (QEMU maps the whole file). */
static gboolean
vars_file_size(const char *path, guint64 *ret_size, GError **error)
{
    struct stat st;
    int fd, err;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0) {
        err = errno;
        if (fd >= 0)
            close(fd);
        g_set_error(error, SNPG_MEASURE_ERROR, SNPG_MEASURE_ERROR_IO,
                    _("Cannot open the OVMF variable store '%s': %s."), path, g_strerror(err));
        return FALSE;
    }
    close(fd);
    if (!S_ISREG(st.st_mode)) {
        g_set_error(error, SNPG_MEASURE_ERROR, SNPG_MEASURE_ERROR_IO,
                    _("The OVMF variable store '%s' is not a regular file."), path);
        return FALSE;
    }
    if (st.st_size == 0) {
        g_set_error(error, SNPG_MEASURE_ERROR, SNPG_MEASURE_ERROR_INVALID,
                    _("The OVMF variable store '%s' is empty."), path);
        return FALSE;
    }
    *ret_size = (guint64)st.st_size;
    return TRUE;
}

static gboolean
svsm_error(GError **error, const char *path, const char *why)
{
    g_set_error(error, SNPG_MEASURE_ERROR, SNPG_MEASURE_ERROR_FIRMWARE,
                _("The SVSM image '%s' cannot be used: %s."), path, why);
    return FALSE;
}

/* Where the SVSM image goes: below the variable store, which is below the
 * firmware; and what the image must provide. Each refusal is a layout for
 * which the reference prints a value (or crashes) but QEMU could not launch
 * the guest as measured. */
static gboolean
check_svsm(const SnpgMeasureParams *p, const SnpgOvmfInfo *fw, const SnpgOvmfInfo *svsm,
           guint64 vars_size, guint64 *ret_svsm_gpa, GError **error)
{
    guint64 total, svsm_gpa;

    if (vars_size % PAGE_SIZE) {
        g_set_error(error, SNPG_MEASURE_ERROR, SNPG_MEASURE_ERROR_INVALID,
                    _("The OVMF variable store size '%llu' is not a multiple of 4096 bytes, "
                      "so the SVSM image would not start on a page."),
                    (unsigned long long)vars_size);
        return FALSE;
    }
    /* Images are at most 64 MiB each (checked) and vars_size is capped
     * first, so the sum cannot wrap. */
    total = vars_size <= SNPG_MEASURE_VARS_SIZE_MAX ? fw->size + vars_size + svsm->size : 0;
    if (vars_size > SNPG_MEASURE_VARS_SIZE_MAX || total > FOUR_GIB) {
        g_set_error(error, SNPG_MEASURE_ERROR, SNPG_MEASURE_ERROR_INVALID,
                    _("The firmware, the OVMF variable store of '%llu' bytes and the SVSM "
                      "image do not fit below 4 GiB."), (unsigned long long)vars_size);
        return FALSE;
    }
    svsm_gpa = fw->gpa - vars_size - svsm->size;
    if (!svsm->has_svsm_info)
        return svsm_error(error, p->svsm, _("it has no SVSM_INFO entry in its footer table, "
                                            "so its entry point is unknown"));
    if (svsm->svsm_entry_offset >= svsm->size) {
        g_set_error(error, SNPG_MEASURE_ERROR, SNPG_MEASURE_ERROR_FIRMWARE,
                    _("The SVSM image '%s' cannot be used: its entry point offset '0x%x' lies "
                      "outside the image."), p->svsm, svsm->svsm_entry_offset);
        return FALSE;
    }
    if (!svsm->has_metadata)
        return svsm_error(error, p->svsm, _("it has no SEV metadata, so QEMU cannot launch "
                                            "it as an SNP guest"));
    /* The pages from svsm_gpa up are measured already; QEMU cannot add
     * them a second time. */
    for (guint i = 0; i < svsm->n_sections; i++) {
        const SnpgOvmfSection *sec = &svsm->sections[i];

        if ((guint64)sec->gpa + sec->size > svsm_gpa) {
            g_set_error(error, SNPG_MEASURE_ERROR, SNPG_MEASURE_ERROR_FIRMWARE,
                        _("The SVSM image '%s' cannot be used: its SEV metadata section %s at "
                          "'0x%x' of length '0x%x' overlaps the SVSM image, the OVMF variable "
                          "store or the firmware, which start at '0x%llx'."),
                        p->svsm, snpg_ovmf_section_type_to_string(sec->type), sec->gpa,
                        sec->size, (unsigned long long)svsm_gpa);
            return FALSE;
        }
    }
    *ret_svsm_gpa = svsm_gpa;
    return TRUE;
}

/* snp:svsm: firmware pages, SVSM pages, the SVSM image's sections (QEMU
 * rules, no kernel hashes), then the same VMSA for every vCPU. */
static gboolean
measure_svsm(Measure *m, const SnpgMeasureParams *p, const guint8 *fw, const SnpgOvmfInfo *info,
             const guint8 *svsm, const SnpgOvmfInfo *svsm_info, guint64 svsm_gpa, GError **error)
{
    g_autofree guint8 *page = g_malloc(SNPG_VMSA_PAGE_SIZE);
    guint64 entry = svsm_gpa + svsm_info->svsm_entry_offset;
    guint8 digest[48];
    SnpgMeasureStage *stage;

    m->md = EVP_MD_fetch(NULL, "SHA384", NULL);
    m->ctx = EVP_MD_CTX_new();
    if (!m->md || !m->ctx)
        return crypto_failed(error);

    stage = add_stage(m, SNPG_MEASURE_STAGE_FIRMWARE, info->gpa, info->size);
    if (!snp_update_normal(m, info->gpa, fw, info->size))
        return crypto_failed(error);
    if (stage) {
        stage->page_type = page_type_names[PAGE_TYPE_NORMAL];
        snapshot(m, stage, TRUE);
    }
    stage = add_stage(m, SNPG_MEASURE_STAGE_SVSM, svsm_gpa, svsm_info->size);
    if (!snp_update_normal(m, svsm_gpa, svsm, svsm_info->size))
        return crypto_failed(error);
    if (stage) {
        stage->page_type = page_type_names[PAGE_TYPE_NORMAL];
        snapshot(m, stage, TRUE);
    }

    for (guint i = 0; i < svsm_info->n_sections; i++)
        if (!snp_section(m, p, &svsm_info->sections[i], NULL))
            return crypto_failed(error);

    snpg_vmsa_build_svsm(page, entry, p->vcpu_sig);
    if (!sha384(m, page, SNPG_VMSA_PAGE_SIZE, digest))
        return crypto_failed(error);
    for (guint i = 0; i < p->vcpus; i++) {
        if (!snp_update(m, PAGE_TYPE_VMSA, SNPG_MEASURE_VMSA_GPA, digest))
            return crypto_failed(error);
        explain_vcpu(m, i, (guint32)entry, page, digest, 48, TRUE);
    }
    explain_vmsa_pages(m, page, page, p->vcpus);
    return TRUE;
}

/* Reads, parses and places the SVSM image of snp:svsm. */
static gboolean
load_svsm(const SnpgMeasureParams *p, const SnpgOvmfInfo *fw_info, GByteArray **ret_data,
          SnpgOvmfInfo *ret_info, guint64 *ret_vars_size, guint64 *ret_gpa, GError **error)
{
    g_autoptr(GByteArray) data = NULL;
    guint64 vars_size = p->vars_size;

    if (p->vars_file && !vars_file_size(p->vars_file, &vars_size, error))
        return FALSE;
    if (!read_image(p->svsm, TRUE, &data, error))
        return FALSE;
    if (!snpg_ovmf_parse(data->data, data->len, ret_info, error)) {
        g_prefix_error(error, _("SVSM image '%s': "), p->svsm);
        return FALSE;
    }
    if (!check_svsm(p, fw_info, ret_info, vars_size, ret_gpa, error))
        return FALSE;
    *ret_vars_size = vars_size;
    *ret_data = g_steal_pointer(&data);
    return TRUE;
}

gboolean
snpg_measure(const SnpgMeasureParams *params, guint8 *ret_digest,
             SnpgMeasureExplain **ret_explain, GError **error)
{
    g_autoptr(SnpgMeasureExplain) explain = NULL;
    g_autofree SnpgOvmfInfo *info = g_new0(SnpgOvmfInfo, 1);
    g_autoptr(GByteArray) fw_data = NULL;
    g_autoptr(GByteArray) svsm_data = NULL;
    g_autofree SnpgOvmfInfo *svsm_info = NULL;
    guint64 vars_size = 0, svsm_gpa = 0;
    const guint8 *fw;
    g_auto(Measure) m = { 0 };
    SnpgSevHashesJob *job = NULL;
    gboolean svsm = params->mode == SNPG_MEASURE_MODE_SNP_SVSM;
    gboolean snp = params->mode == SNPG_MEASURE_MODE_SNP ||
                   params->mode == SNPG_MEASURE_MODE_SNP_OVMF_HASH || svsm;
    gsize fw_len = 0;
    gboolean ok;

    g_return_val_if_fail(params != NULL && ret_digest != NULL, FALSE);

    if (!check_params(params, error))
        return FALSE;
    if (!read_image(params->firmware, FALSE, &fw_data, error))
        return FALSE;
    fw = fw_data->data;
    fw_len = fw_data->len;
    if (!snpg_ovmf_parse(fw, fw_len, info, error)) {
        g_prefix_error(error, _("Firmware '%s': "), params->firmware);
        return FALSE;
    }
    if (!check_firmware(params, info, error))
        return FALSE;
    if (svsm) {
        svsm_info = g_new0(SnpgOvmfInfo, 1);
        if (!load_svsm(params, info, &svsm_data, svsm_info, &vars_size, &svsm_gpa, error))
            return FALSE;
    }

    if (ret_explain) {
        explain = g_new0(SnpgMeasureExplain, 1);
        explain->mode = params->mode;
        explain->firmware = g_strdup(params->firmware);
        explain->firmware_size = info->size;
        explain->firmware_gpa = info->gpa;
        explain->ovmf = *info;
        explain->ovmf_hash_given = params->ovmf_hash != NULL;
        explain->stages = g_array_new(FALSE, TRUE, sizeof(SnpgMeasureStage));
        explain->firmware_digest_name = snp ? "SHA-384" : "SHA-256";
        if (!EVP_Digest(fw, fw_len, explain->firmware_digest, NULL,
                        snp ? EVP_sha384() : EVP_sha256(), NULL))
            return crypto_failed(error);
        if (svsm) {
            explain->has_svsm = TRUE;
            explain->svsm = g_strdup(params->svsm);
            explain->svsm_size = svsm_info->size;
            explain->svsm_gpa = svsm_gpa;
            explain->svsm_entry = (guint32)(svsm_gpa + svsm_info->svsm_entry_offset);
            explain->svsm_info = *svsm_info;
            explain->vars_size = vars_size;
            explain->vars_gpa = svsm_gpa + svsm_info->size;
            if (!EVP_Digest(svsm_data->data, svsm_data->len, explain->svsm_digest, NULL,
                            EVP_sha384(), NULL))
                return crypto_failed(error);
        }
        m.explain = explain;
    }

    if (params->kernel && params->mode != SNPG_MEASURE_MODE_SNP_OVMF_HASH) {
        job = snpg_sev_hashes_start(params->kernel, params->initrd, params->append, error);
        if (!job)
            return FALSE;
    }
    if (svsm)
        ok = measure_svsm(&m, params, fw, info, svsm_data->data, svsm_info, svsm_gpa, error);
    else if (snp)
        ok = measure_snp(&m, params, fw, info, &job, error);
    else
        ok = measure_sev(&m, params, fw, info, &job, error);
    if (job) {   /* an early failure: still wait for the threads */
        SnpgSevHashes unused;
        snpg_sev_hashes_finish(job, &unused, NULL);
    }
    if (!ok)
        return FALSE;

    memcpy(ret_digest, m.ld, snpg_measure_digest_size(params->mode));
    if (ret_explain) {
        explain->digest_len = snpg_measure_digest_size(params->mode);
        memcpy(explain->digest, m.ld, explain->digest_len);
        *ret_explain = g_steal_pointer(&explain);
    }
    return TRUE;
}
