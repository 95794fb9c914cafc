/* SEV-SNP attestation report parsing (AMD ABI specification 56860). */
#include "config.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>

#include "autocleanups.h"
#include "buf.h"
#include "i18n.h"
#include "report.h"

G_DEFINE_QUARK(snpg-report-error-quark, snpg_report_error)

/* Offsets of the fields the parser checks by position (ABI 56860). */
#define OFF_CPUID 0x188u
#define OFF_CHIP_ID 0x1A0u
#define OFF_MIT_END_V5 0x208u
#define OFF_MIT 0x1F8u

/* Documentation of the wire layout; never cast over input. */
typedef struct {
    guint32 version, guest_svn;
    guint64 policy;
    guint8 family_id[16], image_id[16];
    guint32 vmpl, signature_algo;
    guint64 current_tcb, platform_info;
    guint32 flags, reserved0;
    guint8 report_data[64], measurement[48], host_data[32];
    guint8 id_key_digest[48], author_key_digest[48], report_id[32], report_id_ma[32];
    guint64 reported_tcb;
    guint8 cpuid_fam, cpuid_mod, cpuid_step, reserved1[21];
    guint8 chip_id[64];
    guint64 committed_tcb;
    guint8 cur_build, cur_minor, cur_major, reserved2;
    guint8 com_build, com_minor, com_major, reserved3;
    guint64 launch_tcb, launch_mit, current_mit;
    guint8 reserved4[0x98];
    guint8 sig_r[72], sig_s[72], sig_reserved[368];
} __attribute__((packed)) WireReport;
G_STATIC_ASSERT(sizeof(WireReport) == SNPG_REPORT_SIZE);
G_STATIC_ASSERT(G_STRUCT_OFFSET(WireReport, reported_tcb) == 0x180);
G_STATIC_ASSERT(G_STRUCT_OFFSET(WireReport, cpuid_fam) == OFF_CPUID);
G_STATIC_ASSERT(G_STRUCT_OFFSET(WireReport, chip_id) == OFF_CHIP_ID);
G_STATIC_ASSERT(G_STRUCT_OFFSET(WireReport, launch_mit) == OFF_MIT);
G_STATIC_ASSERT(G_STRUCT_OFFSET(WireReport, reserved4) == OFF_MIT_END_V5);
G_STATIC_ASSERT(G_STRUCT_OFFSET(WireReport, sig_r) == SNPG_REPORT_SIG_OFFSET);
G_STATIC_ASSERT(G_STRUCT_OFFSET(WireReport, sig_reserved) == SNPG_REPORT_SIG_RESERVED_OFFSET);
G_STATIC_ASSERT(G_STRUCT_OFFSET(WireReport, reserved0) == SNPG_REPORT_RESERVED0_OFFSET);
G_STATIC_ASSERT(sizeof(((WireReport *)0)->report_data) == SNPG_REPORT_DATA_SIZE);
G_STATIC_ASSERT(sizeof(((WireReport *)0)->chip_id) == SNPG_REPORT_CHIP_ID_SIZE);
#define OFF_REPORT_DATA 0x050u
G_STATIC_ASSERT(G_STRUCT_OFFSET(WireReport, report_data) == OFF_REPORT_DATA);

static const char *const product_names[SNPG_PRODUCT_LAST] = {
    [SNPG_PRODUCT_UNKNOWN] = "unknown",
    [SNPG_PRODUCT_MILAN] = "Milan",
    [SNPG_PRODUCT_GENOA] = "Genoa",
    [SNPG_PRODUCT_TURIN] = "Turin",
};

const char *
snpg_product_to_string(SnpgProduct product)
{
    if ((guint)product >= SNPG_PRODUCT_LAST)
        return "unknown";
    return product_names[product];
}

SnpgProduct
snpg_product_from_string(const char *name)
{
    static const struct { const char *name; SnpgProduct product; } table[] = {
        { "milan", SNPG_PRODUCT_MILAN }, { "genoa", SNPG_PRODUCT_GENOA },
        { "bergamo", SNPG_PRODUCT_GENOA }, { "siena", SNPG_PRODUCT_GENOA },
        { "turin", SNPG_PRODUCT_TURIN },
    };
    gsize n;

    if (!name)
        return SNPG_PRODUCT_UNKNOWN;
    /* Certificates name the stepping too ("Milan-B0"). */
    n = strcspn(name, "-");
    for (gsize i = 0; i < G_N_ELEMENTS(table); i++)
        if (strlen(table[i].name) == n && g_ascii_strncasecmp(name, table[i].name, n) == 0)
            return table[i].product;
    return SNPG_PRODUCT_UNKNOWN;
}

SnpgProduct
snpg_product_from_cpuid(guint8 family, guint8 model)
{
    /* Family 19h: Milan models 00h-0Fh, Genoa 10h-1Fh, Bergamo/Siena A0h-AFh.
     * Family 1Ah: Turin models 00h-1Fh. */
    if (family == 0x19) {
        if (model <= 0x0f)
            return SNPG_PRODUCT_MILAN;
        if ((model >= 0x10 && model <= 0x1f) || (model >= 0xa0 && model <= 0xaf))
            return SNPG_PRODUCT_GENOA;
    } else if (family == 0x1a && model <= 0x1f) {
        return SNPG_PRODUCT_TURIN;
    }
    return SNPG_PRODUCT_UNKNOWN;
}

const char *
snpg_signing_key_to_string(guint signing_key)
{
    switch (signing_key) {
    case SNPG_SIGNING_KEY_VCEK: return "VCEK";
    case SNPG_SIGNING_KEY_VLEK: return "VLEK";
    case SNPG_SIGNING_KEY_NONE: return "none";
    default: return "reserved";
    }
}

void
snpg_tcb_decode(guint64 raw, SnpgProduct product, SnpgTcb *ret)
{
    guint8 b[8];

    for (int i = 0; i < 8; i++)
        b[i] = (guint8)(raw >> (8 * i));
    memset(ret, 0, sizeof(*ret));
    if (product == SNPG_PRODUCT_TURIN) {
        ret->fmc = b[0];
        ret->bl = b[1];
        ret->tee = b[2];
        ret->snp = b[3];
        ret->reserved_nonzero = b[4] || b[5] || b[6];
    } else {
        ret->bl = b[0];
        ret->tee = b[1];
        ret->reserved_nonzero = b[2] || b[3] || b[4] || b[5];
        ret->snp = b[6];
    }
    ret->ucode = b[7];
}

guint64
snpg_tcb_encode(const SnpgTcb *tcb, SnpgProduct product)
{
    guint8 b[8] = { 0 };
    guint64 raw = 0;

    if (product == SNPG_PRODUCT_TURIN) {
        b[0] = tcb->fmc;
        b[1] = tcb->bl;
        b[2] = tcb->tee;
        b[3] = tcb->snp;
    } else {
        b[0] = tcb->bl;
        b[1] = tcb->tee;
        b[6] = tcb->snp;
    }
    b[7] = tcb->ucode;
    for (int i = 0; i < 8; i++)
        raw |= (guint64)b[i] << (8 * i);
    return raw;
}

char *
snpg_tcb_to_string(const SnpgTcb *tcb, SnpgProduct product)
{
    if (product == SNPG_PRODUCT_TURIN)
        return g_strdup_printf("fmc=%u bl=%u tee=%u snp=%u ucode=%u",
                               tcb->fmc, tcb->bl, tcb->tee, tcb->snp, tcb->ucode);
    return g_strdup_printf("bl=%u tee=%u snp=%u ucode=%u",
                           tcb->bl, tcb->tee, tcb->snp, tcb->ucode);
}

void
snpg_policy_decode(guint64 raw, SnpgPolicy *ret)
{
    memset(ret, 0, sizeof(*ret));
    ret->abi_minor = (guint8)(raw & SNPG_POLICY_ABI_MINOR_MASK);
    ret->abi_major = (guint8)(raw >> SNPG_POLICY_ABI_MAJOR_SHIFT);
    ret->smt = !!(raw & SNPG_POLICY_SMT);
    ret->reserved_1 = !!(raw & SNPG_POLICY_RESERVED_1);
    ret->migrate_ma = !!(raw & SNPG_POLICY_MIGRATE_MA);
    ret->debug = !!(raw & SNPG_POLICY_DEBUG);
    ret->single_socket = !!(raw & SNPG_POLICY_SINGLE_SOCKET);
    ret->cxl_allow = !!(raw & SNPG_POLICY_CXL_ALLOW);
    ret->mem_aes_256_xts = !!(raw & SNPG_POLICY_MEM_AES_256_XTS);
    ret->rapl_dis = !!(raw & SNPG_POLICY_RAPL_DIS);
    ret->ciphertext_hiding = !!(raw & SNPG_POLICY_CIPHERTEXT_HIDING);
    ret->page_swap_disable = !!(raw & SNPG_POLICY_PAGE_SWAP_DISABLE);
    ret->reserved_mbz = raw & SNPG_POLICY_RESERVED_MBZ;
}

static GStrv
bit_names(guint64 raw, guint first, const char *const *names, guint n_names)
{
    g_autoptr(GStrvBuilder) b = g_strv_builder_new();

    for (guint bit = first; bit < 64; bit++) {
        if (!(raw & (G_GUINT64_CONSTANT(1) << bit)))
            continue;
        if (bit < n_names && names[bit])
            g_strv_builder_add(b, names[bit]);
        else {
            g_autofree char *name = g_strdup_printf("bit%u", bit);
            g_strv_builder_add(b, name);
        }
    }
    return g_strv_builder_end(b);
}

GStrv
snpg_policy_flag_names(guint64 raw)
{
    static const char *const names[] = {
        [16] = "SMT", [17] = "RESERVED_1", [18] = "MIGRATE_MA", [19] = "DEBUG",
        [20] = "SINGLE_SOCKET", [21] = "CXL_ALLOW", [22] = "MEM_AES_256_XTS",
        [23] = "RAPL_DIS", [24] = "CIPHERTEXT_HIDING", [25] = "PAGE_SWAP_DISABLE",
    };
    /* Bits 15:0 are the ABI version, not flags. */
    return bit_names(raw, 16, names, G_N_ELEMENTS(names));
}

GStrv
snpg_platform_info_flag_names(guint64 raw)
{
    static const char *const names[] = {
        [0] = "SMT_EN", [1] = "TSME_EN", [2] = "ECC_EN", [3] = "RAPL_DIS",
        [4] = "CIPHERTEXT_HIDING_EN", [5] = "ALIAS_CHECK_COMPLETE",
    };
    return bit_names(raw, 0, names, G_N_ELEMENTS(names));
}

SnpgProduct
snpg_report_layout_product(const SnpgReport *report, SnpgProduct fallback)
{
    return report->product != SNPG_PRODUCT_UNKNOWN ? report->product : fallback;
}

static gboolean
reserved_error(int r, const char *field, GError **error)
{
    if (r == SNPG_BUF_OK)
        return TRUE;
    g_set_error(error, SNPG_REPORT_ERROR, SNPG_REPORT_ERROR_RESERVED,
                _("The reserved field '%s' of the attestation report is not zero."), field);
    return FALSE;
}

SnpgReport *
snpg_report_parse(const guint8 *data, gsize len, GError **error)
{
    g_autoptr(SnpgReport) r = NULL;
    SnpgBuf b;
    int rc = 0;

    if (len != SNPG_REPORT_SIZE) {
        g_set_error(error, SNPG_REPORT_ERROR, SNPG_REPORT_ERROR_SIZE,
                    _("An attestation report is %u bytes, not %" G_GSIZE_FORMAT "."),
                    SNPG_REPORT_SIZE, len);
        return NULL;
    }
    r = g_new0(SnpgReport, 1);
    snpg_buf_init(&b, data, len);

    /* The size is exact, so the getters below cannot run short; their codes
     * are still checked, as everywhere. */
    rc |= snpg_buf_get_u32le(&b, &r->version);
    if (rc == 0 && (r->version < SNPG_REPORT_VERSION_MIN || r->version > SNPG_REPORT_VERSION_MAX)) {
        g_set_error(error, SNPG_REPORT_ERROR, SNPG_REPORT_ERROR_VERSION,
                    _("The attestation report version '%u' is not supported (2 to 5 are)."),
                    r->version);
        return NULL;
    }
    rc |= snpg_buf_get_u32le(&b, &r->guest_svn);
    rc |= snpg_buf_get_u64le(&b, &r->policy);
    rc |= snpg_buf_get_bytes(&b, r->family_id, sizeof(r->family_id));
    rc |= snpg_buf_get_bytes(&b, r->image_id, sizeof(r->image_id));
    rc |= snpg_buf_get_u32le(&b, &r->vmpl);
    rc |= snpg_buf_get_u32le(&b, &r->signature_algo);
    if (rc == 0 && r->signature_algo != SNPG_REPORT_SIG_ALGO_ECDSA_P384_SHA384) {
        g_set_error(error, SNPG_REPORT_ERROR, SNPG_REPORT_ERROR_ALGORITHM,
                    _("The attestation report's signature algorithm '%u' is not ECDSA P-384 with SHA-384 (1)."),
                    r->signature_algo);
        return NULL;
    }
    rc |= snpg_buf_get_u64le(&b, &r->current_tcb);
    rc |= snpg_buf_get_u64le(&b, &r->platform_info);
    rc |= snpg_buf_get_u32le(&b, &r->flags);
    if (rc != 0)
        goto short_input;
    r->author_key_en = r->flags & 1;
    r->mask_chip_key = (r->flags >> 1) & 1;
    r->signing_key = (r->flags >> 2) & 7;
    if (r->flags >> 5) {
        g_set_error(error, SNPG_REPORT_ERROR, SNPG_REPORT_ERROR_RESERVED,
                    _("The reserved bits of the attestation report's key flags are not zero (flags '0x%x')."),
                    r->flags);
        return NULL;
    }
    if (r->signing_key != SNPG_SIGNING_KEY_VCEK && r->signing_key != SNPG_SIGNING_KEY_VLEK &&
        r->signing_key != SNPG_SIGNING_KEY_NONE) {
        g_set_error(error, SNPG_REPORT_ERROR, SNPG_REPORT_ERROR_FIELD,
                    _("The attestation report's signing-key field holds the reserved value '%u'."),
                    r->signing_key);
        return NULL;
    }
    if (!reserved_error(snpg_buf_expect_zero(&b, 4), "0x04C", error))
        return NULL;
    rc |= snpg_buf_get_bytes(&b, r->report_data, sizeof(r->report_data));
    rc |= snpg_buf_get_bytes(&b, r->measurement, sizeof(r->measurement));
    rc |= snpg_buf_get_bytes(&b, r->host_data, sizeof(r->host_data));
    rc |= snpg_buf_get_bytes(&b, r->id_key_digest, sizeof(r->id_key_digest));
    rc |= snpg_buf_get_bytes(&b, r->author_key_digest, sizeof(r->author_key_digest));
    rc |= snpg_buf_get_bytes(&b, r->report_id, sizeof(r->report_id));
    rc |= snpg_buf_get_bytes(&b, r->report_id_ma, sizeof(r->report_id_ma));
    rc |= snpg_buf_get_u64le(&b, &r->reported_tcb);
    if (rc != 0)
        goto short_input;
    if (r->version >= 3) {
        r->has_cpuid = TRUE;
        rc |= snpg_buf_get_u8(&b, &r->cpuid_fam_id);
        rc |= snpg_buf_get_u8(&b, &r->cpuid_mod_id);
        rc |= snpg_buf_get_u8(&b, &r->cpuid_step);
        if (!reserved_error(snpg_buf_expect_zero(&b, 0x15), "0x18B", error))
            return NULL;
        r->product = snpg_product_from_cpuid(r->cpuid_fam_id, r->cpuid_mod_id);
    } else if (!reserved_error(snpg_buf_expect_zero(&b, 0x18), "0x188", error)) {
        return NULL;
    }
    rc |= snpg_buf_get_bytes(&b, r->chip_id, sizeof(r->chip_id));
    rc |= snpg_buf_get_u64le(&b, &r->committed_tcb);
    rc |= snpg_buf_get_u8(&b, &r->current_build);
    rc |= snpg_buf_get_u8(&b, &r->current_minor);
    rc |= snpg_buf_get_u8(&b, &r->current_major);
    if (rc != 0)
        goto short_input;
    if (!reserved_error(snpg_buf_expect_zero(&b, 1), "0x1EB", error))
        return NULL;
    rc |= snpg_buf_get_u8(&b, &r->committed_build);
    rc |= snpg_buf_get_u8(&b, &r->committed_minor);
    rc |= snpg_buf_get_u8(&b, &r->committed_major);
    if (rc != 0)
        goto short_input;
    if (!reserved_error(snpg_buf_expect_zero(&b, 1), "0x1EF", error))
        return NULL;
    rc |= snpg_buf_get_u64le(&b, &r->launch_tcb);
    if (rc != 0)
        goto short_input;
    /* Version 4 has no published layout of its own; it is laid out as 3. */
    if (r->version >= 5) {
        r->has_mit_vectors = TRUE;
        rc |= snpg_buf_get_u64le(&b, &r->launch_mit_vector);
        rc |= snpg_buf_get_u64le(&b, &r->current_mit_vector);
        if (rc != 0)
            goto short_input;
        if (!reserved_error(snpg_buf_expect_zero(&b, SNPG_REPORT_SIG_OFFSET - OFF_MIT_END_V5),
                            "0x208", error))
            return NULL;
    } else if (!reserved_error(snpg_buf_expect_zero(&b, SNPG_REPORT_SIG_OFFSET - OFF_MIT),
                               "0x1F8", error)) {
        return NULL;
    }
    rc |= snpg_buf_get_bytes(&b, r->sig_r, sizeof(r->sig_r));
    rc |= snpg_buf_get_bytes(&b, r->sig_s, sizeof(r->sig_s));
    if (rc != 0)
        goto short_input;
    if (!reserved_error(snpg_buf_expect_zero(&b, snpg_buf_remaining(&b)), "0x330", error))
        return NULL;
    memcpy(r->raw, data, SNPG_REPORT_SIZE);
    return g_steal_pointer(&r);

short_input:
    g_set_error(error, SNPG_REPORT_ERROR, SNPG_REPORT_ERROR_SIZE,
                _("The attestation report ends early."));
    return NULL;
}

/* Sequential writer over the output, in the order of the parser's reads. */
typedef struct {
    guint8 *p;
} Writer;

static void
put_u8(Writer *w, guint8 v)
{
    *w->p++ = v;
}

static void
put_u32(Writer *w, guint32 v)
{
    snpg_put_u32le(w->p, v);
    w->p += 4;
}

static void
put_u64(Writer *w, guint64 v)
{
    snpg_put_u64le(w->p, v);
    w->p += 8;
}

static void
put_bytes(Writer *w, const void *data, gsize n)
{
    memcpy(w->p, data, n);
    w->p += n;
}

static void
put_zero(Writer *w, gsize n)
{
    memset(w->p, 0, n);
    w->p += n;
}

void
snpg_report_encode_to(const SnpgReport *r, guint8 out[SNPG_REPORT_SIZE])
{
    Writer w = { out };
    guint32 flags = (r->author_key_en ? 1u : 0u) | (r->mask_chip_key ? 2u : 0u) |
                    ((r->signing_key & 7u) << 2);

    put_u32(&w, r->version);
    put_u32(&w, r->guest_svn);
    put_u64(&w, r->policy);
    put_bytes(&w, r->family_id, sizeof(r->family_id));
    put_bytes(&w, r->image_id, sizeof(r->image_id));
    put_u32(&w, r->vmpl);
    put_u32(&w, r->signature_algo);
    put_u64(&w, r->current_tcb);
    put_u64(&w, r->platform_info);
    put_u32(&w, flags);
    put_zero(&w, 4);
    put_bytes(&w, r->report_data, sizeof(r->report_data));
    put_bytes(&w, r->measurement, sizeof(r->measurement));
    put_bytes(&w, r->host_data, sizeof(r->host_data));
    put_bytes(&w, r->id_key_digest, sizeof(r->id_key_digest));
    put_bytes(&w, r->author_key_digest, sizeof(r->author_key_digest));
    put_bytes(&w, r->report_id, sizeof(r->report_id));
    put_bytes(&w, r->report_id_ma, sizeof(r->report_id_ma));
    put_u64(&w, r->reported_tcb);
    if (r->version >= 3) {
        put_u8(&w, r->cpuid_fam_id);
        put_u8(&w, r->cpuid_mod_id);
        put_u8(&w, r->cpuid_step);
        put_zero(&w, 0x15);
    } else {
        put_zero(&w, 0x18);
    }
    put_bytes(&w, r->chip_id, sizeof(r->chip_id));
    put_u64(&w, r->committed_tcb);
    put_u8(&w, r->current_build);
    put_u8(&w, r->current_minor);
    put_u8(&w, r->current_major);
    put_zero(&w, 1);
    put_u8(&w, r->committed_build);
    put_u8(&w, r->committed_minor);
    put_u8(&w, r->committed_major);
    put_zero(&w, 1);
    put_u64(&w, r->launch_tcb);
    if (r->version >= 5) {
        put_u64(&w, r->launch_mit_vector);
        put_u64(&w, r->current_mit_vector);
        put_zero(&w, SNPG_REPORT_SIG_OFFSET - OFF_MIT_END_V5);
    } else {
        put_zero(&w, SNPG_REPORT_SIG_OFFSET - OFF_MIT);
    }
    put_bytes(&w, r->sig_r, sizeof(r->sig_r));
    put_bytes(&w, r->sig_s, sizeof(r->sig_s));
    put_zero(&w, SNPG_REPORT_SIZE - SNPG_REPORT_SIG_RESERVED_OFFSET);
    g_assert(w.p == out + SNPG_REPORT_SIZE);
}

GBytes *
snpg_report_encode(const SnpgReport *report)
{
    guint8 *out = g_malloc(SNPG_REPORT_SIZE);

    snpg_report_encode_to(report, out);
    return g_bytes_new_take(out, SNPG_REPORT_SIZE);
}

gboolean
snpg_report_peek_report_data(const guint8 *report, gsize len, guint8 out[SNPG_REPORT_DATA_SIZE])
{
    if (!report || len != SNPG_REPORT_SIZE)
        return FALSE;
    memcpy(out, report + OFF_REPORT_DATA, SNPG_REPORT_DATA_SIZE);
    return TRUE;
}

void
snpg_report_free(SnpgReport *report)
{
    g_free(report);
}

static gboolean
high_bytes_zero(const guint8 *le)
{
    for (gsize i = SNPG_REPORT_SIG_SCALAR; i < SNPG_REPORT_SIG_COMPONENT; i++)
        if (le[i])
            return FALSE;
    return TRUE;
}

gboolean
snpg_report_signature_der(const SnpgReport *report, guint8 **ret_der, gsize *ret_len,
                          GError **error)
{
    g_autoptr(ECDSA_SIG) sig = NULL;
    g_autoptr(BIGNUM) r = NULL;
    g_autoptr(BIGNUM) s = NULL;
    unsigned char *der = NULL;
    int n;

    if (!high_bytes_zero(report->sig_r) || !high_bytes_zero(report->sig_s)) {
        g_set_error(error, SNPG_REPORT_ERROR, SNPG_REPORT_ERROR_SIGNATURE,
                    _("The report signature's R or S has non-zero bytes beyond the 48 of a P-384 scalar."));
        return FALSE;
    }
    r = BN_lebin2bn(report->sig_r, SNPG_REPORT_SIG_SCALAR, NULL);
    s = BN_lebin2bn(report->sig_s, SNPG_REPORT_SIG_SCALAR, NULL);
    sig = ECDSA_SIG_new();
    if (!r || !s || !sig || !ECDSA_SIG_set0(sig, r, s)) {
        g_set_error(error, SNPG_REPORT_ERROR, SNPG_REPORT_ERROR_SIGNATURE,
                    _("The report signature could not be converted."));
        return FALSE;
    }
    r = s = NULL;   /* owned by sig now */
    n = i2d_ECDSA_SIG(sig, &der);
    if (n <= 0) {
        g_set_error(error, SNPG_REPORT_ERROR, SNPG_REPORT_ERROR_SIGNATURE,
                    _("The report signature could not be converted."));
        return FALSE;
    }
    *ret_der = g_memdup2(der, (gsize)n);
    *ret_len = (gsize)n;
    OPENSSL_free(der);
    return TRUE;
}
