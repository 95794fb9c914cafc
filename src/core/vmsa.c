/* VMSA page builder and vCPU signatures (see vmsa.h). */
#include "config.h"

#include <string.h>

#include "buf.h"
#include "i18n.h"
#include "vmsa.h"

G_DEFINE_QUARK(snpg-vmsa-error-quark, snpg_vmsa_error)

/* Offsets in the SEV-ES save area (AMD APM vol. 2, table B-4). */
enum {
    OFF_ES = 0x000, OFF_CS = 0x010, OFF_SS = 0x020, OFF_DS = 0x030, OFF_FS = 0x040,
    OFF_GS = 0x050, OFF_GDTR = 0x060, OFF_LDTR = 0x070, OFF_IDTR = 0x080, OFF_TR = 0x090,
    OFF_EFER = 0x0d0, OFF_CR4 = 0x148, OFF_CR0 = 0x158, OFF_DR7 = 0x160, OFF_DR6 = 0x168,
    OFF_RFLAGS = 0x170, OFF_RIP = 0x178, OFF_G_PAT = 0x268, OFF_RDX = 0x310,
    OFF_SEV_FEATURES = 0x3b0, OFF_XCR0 = 0x3e8, OFF_MXCSR = 0x408, OFF_X87_FCW = 0x410,
};

static const char *const vmm_names[SNPG_VMM_LAST] = { "QEMU", "ec2", "gce" };

const char *
snpg_vmm_type_to_string(SnpgVmmType type)
{
    g_return_val_if_fail(type < SNPG_VMM_LAST, NULL);
    return vmm_names[type];
}

int
snpg_vmm_type_from_string(const char *name)
{
    for (int i = 0; i < SNPG_VMM_LAST; i++)
        if (g_str_equal(vmm_names[i], name))
            return i;
    return -1;
}

/* A segment register: u16 selector, u16 attrib, u32 limit, u64 base. */
static void
put_segment(guint8 *page, gsize off, guint16 selector, guint16 attrib, guint32 limit, guint64 base)
{
    snpg_put_u16le(page + off, selector);
    snpg_put_u16le(page + off + 2, attrib);
    snpg_put_u32le(page + off + 4, limit);
    snpg_put_u64le(page + off + 8, base);
}

void
snpg_vmsa_build(guint8 *page, SnpgVmmType vmm, guint32 eip, guint64 sev_features, guint32 vcpu_sig)
{
    guint16 cs_attrib = 0x9b, ss_attrib = 0x93, tr_attrib = 0x8b, x87_fcw = 0x37f;
    guint64 rdx = vcpu_sig, g_pat = G_GUINT64_CONSTANT(0x0007040600070406);
    guint32 mxcsr = 0x1f80;

    g_return_if_fail(vmm < SNPG_VMM_LAST);

    /* Each VMM sets up its vCPUs slightly differently; the values are what
     * it loads, so the measurement must use the same ones. */
    switch (vmm) {
    case SNPG_VMM_QEMU:
        break;
    case SNPG_VMM_EC2:
        cs_attrib = eip == SNPG_VMSA_BSP_EIP ? 0x9a : 0x9b;
        ss_attrib = 0x92;
        tr_attrib = 0x83;
        rdx = 0x600;
        mxcsr = 0;
        x87_fcw = 0;
        break;
    case SNPG_VMM_GCE:
        rdx = 0x600;
        g_pat = 0x00070106;
        mxcsr = 0;
        x87_fcw = 0;
        break;
    default:
        g_assert_not_reached();
    }

    memset(page, 0, SNPG_VMSA_PAGE_SIZE);
    put_segment(page, OFF_ES, 0, 0x93, 0xffff, 0);
    put_segment(page, OFF_CS, 0xf000, cs_attrib, 0xffff, eip & 0xffff0000u);
    put_segment(page, OFF_SS, 0, ss_attrib, 0xffff, 0);
    put_segment(page, OFF_DS, 0, 0x93, 0xffff, 0);
    put_segment(page, OFF_FS, 0, 0x93, 0xffff, 0);
    put_segment(page, OFF_GS, 0, 0x93, 0xffff, 0);
    put_segment(page, OFF_GDTR, 0, 0, 0xffff, 0);
    put_segment(page, OFF_LDTR, 0, 0x82, 0xffff, 0);
    put_segment(page, OFF_IDTR, 0, 0, 0xffff, 0);
    put_segment(page, OFF_TR, 0, tr_attrib, 0xffff, 0);
    snpg_put_u64le(page + OFF_EFER, 0x1000);
    snpg_put_u64le(page + OFF_CR4, 0x40);
    snpg_put_u64le(page + OFF_CR0, 0x10);
    snpg_put_u64le(page + OFF_DR7, 0x400);
    snpg_put_u64le(page + OFF_DR6, 0xffff0ff0);
    snpg_put_u64le(page + OFF_RFLAGS, 0x2);
    snpg_put_u64le(page + OFF_RIP, eip & 0xffff);
    snpg_put_u64le(page + OFF_G_PAT, g_pat);
    snpg_put_u64le(page + OFF_RDX, rdx);
    snpg_put_u64le(page + OFF_SEV_FEATURES, sev_features);
    snpg_put_u64le(page + OFF_XCR0, 0x1);
    snpg_put_u32le(page + OFF_MXCSR, mxcsr);
    snpg_put_u16le(page + OFF_X87_FCW, x87_fcw);
}

void
snpg_vmsa_build_svsm(guint8 *page, guint64 eip, guint32 vcpu_sig)
{
    memset(page, 0, SNPG_VMSA_PAGE_SIZE);
    /* Flat 32-bit code (0xc9b) and data (0xc93) segments. */
    put_segment(page, OFF_ES, 0x10, 0xc93, 0xffffffff, 0);
    put_segment(page, OFF_CS, 0x08, 0xc9b, 0xffffffff, 0);
    put_segment(page, OFF_SS, 0x10, 0xc93, 0xffffffff, 0);
    put_segment(page, OFF_DS, 0x10, 0xc93, 0xffffffff, 0);
    put_segment(page, OFF_FS, 0x10, 0xc93, 0xffffffff, 0);
    put_segment(page, OFF_GS, 0, 0x93, 0xffff, 0);
    put_segment(page, OFF_GDTR, 0, 0, 0xffff, 0);
    put_segment(page, OFF_LDTR, 0, 0x82, 0xffff, 0);
    put_segment(page, OFF_IDTR, 0, 0, 0xffff, 0);
    put_segment(page, OFF_TR, 0, 0x8b, 0xffff, 0);
    snpg_put_u64le(page + OFF_EFER, 0x1000);
    snpg_put_u64le(page + OFF_CR4, 0x40);
    snpg_put_u64le(page + OFF_CR0, 0x11);   /* protection enabled */
    snpg_put_u64le(page + OFF_DR7, 0x400);
    snpg_put_u64le(page + OFF_DR6, 0xffff0ff0);
    snpg_put_u64le(page + OFF_RFLAGS, 0x2);
    snpg_put_u64le(page + OFF_RIP, eip);
    snpg_put_u64le(page + OFF_G_PAT, G_GUINT64_CONSTANT(0x0007040600070406));
    snpg_put_u64le(page + OFF_RDX, vcpu_sig);
    snpg_put_u64le(page + OFF_SEV_FEATURES, 0x1);
    snpg_put_u64le(page + OFF_XCR0, 0x1);
    snpg_put_u32le(page + OFF_MXCSR, 0x1f80);
    /* x87_fcw stays 0: the reference means to set 0x37f but misspells the
     * field, and the measurements taken on hardware match its value. */
}

gboolean
snpg_vmsa_cpu_sig(guint64 family, guint64 model, guint64 stepping, guint32 *ret_sig, GError **error)
{
    guint32 fam_lo, fam_hi;

    /* The reference masks silently; a value that does not fit would give the
     * signature of some other CPU. */
    if (family > 0xf + 0xff || model > 0xff || stepping > 0xf) {
        g_set_error(error, SNPG_VMSA_ERROR, SNPG_VMSA_ERROR_CPU_SIG,
                    _("The vCPU family '%llu', model '%llu' or stepping '%llu' is out of range "
                      "(family up to 270, model up to 255, stepping up to 15)."),
                    (unsigned long long)family, (unsigned long long)model,
                    (unsigned long long)stepping);
        return FALSE;
    }
    /* CPUID(1).EAX: an extended family adds to a base family of 0xf. */
    if (family > 0xf) {
        fam_lo = 0xf;
        fam_hi = (guint32)(family - 0xf);
    } else {
        fam_lo = (guint32)family;
        fam_hi = 0;
    }
    *ret_sig = fam_hi << 20 | (guint32)((model >> 4) & 0xf) << 16 | fam_lo << 8 |
               (guint32)(model & 0xf) << 4 | (guint32)stepping;
    return TRUE;
}

typedef struct {
    const char *name;
    guint8 family, model, stepping;
} CpuType;

/* QEMU's EPYC models and their CPUID family/model/stepping. */
static const CpuType cpu_types[] = {
    { "EPYC", 23, 1, 2 }, { "EPYC-v1", 23, 1, 2 }, { "EPYC-v2", 23, 1, 2 },
    { "EPYC-IBPB", 23, 1, 2 }, { "EPYC-v3", 23, 1, 2 }, { "EPYC-v4", 23, 1, 2 },
    { "EPYC-Rome", 23, 49, 0 }, { "EPYC-Rome-v1", 23, 49, 0 }, { "EPYC-Rome-v2", 23, 49, 0 },
    { "EPYC-Rome-v3", 23, 49, 0 },
    { "EPYC-Milan", 25, 1, 1 }, { "EPYC-Milan-v1", 25, 1, 1 }, { "EPYC-Milan-v2", 25, 1, 1 },
    { "EPYC-Genoa", 25, 17, 0 }, { "EPYC-Genoa-v1", 25, 17, 0 },
    { "EPYC-Turin", 26, 0, 0 },
};

static const char *const cpu_type_names[] = {
    "EPYC", "EPYC-v1", "EPYC-v2", "EPYC-IBPB", "EPYC-v3", "EPYC-v4",
    "EPYC-Rome", "EPYC-Rome-v1", "EPYC-Rome-v2", "EPYC-Rome-v3",
    "EPYC-Milan", "EPYC-Milan-v1", "EPYC-Milan-v2",
    "EPYC-Genoa", "EPYC-Genoa-v1", "EPYC-Turin", NULL,
};
G_STATIC_ASSERT(G_N_ELEMENTS(cpu_type_names) == G_N_ELEMENTS(cpu_types) + 1);

const char *const *
snpg_vmsa_cpu_types(void)
{
    return cpu_type_names;
}

gboolean
snpg_vmsa_cpu_type_sig(const char *name, guint32 *ret_sig, GError **error)
{
    for (gsize i = 0; i < G_N_ELEMENTS(cpu_types); i++)
        if (g_str_equal(cpu_types[i].name, name))
            return snpg_vmsa_cpu_sig(cpu_types[i].family, cpu_types[i].model,
                                     cpu_types[i].stepping, ret_sig, error);
    g_set_error(error, SNPG_VMSA_ERROR, SNPG_VMSA_ERROR_CPU_TYPE,
                _("Unknown vCPU type '%s'."), name);
    return FALSE;
}
