/* The initial VMSA (VM save area) page of each vCPU, as QEMU, AWS EC2 and
 * GCE set it up for an SEV-ES/SEV-SNP guest, and the vCPU signatures that
 * go into it. */
#pragma once

#include <glib.h>

#define SNPG_VMSA_ERROR (snpg_vmsa_error_quark())
GQuark snpg_vmsa_error_quark(void);

typedef enum {
    SNPG_VMSA_ERROR_CPU_TYPE,    /* unknown vCPU type name */
    SNPG_VMSA_ERROR_CPU_SIG,     /* family/model/stepping out of range */
} SnpgVmsaError;

#define SNPG_VMSA_PAGE_SIZE 4096
/* The BSP starts at the reset vector below 4 GiB. */
#define SNPG_VMSA_BSP_EIP 0xfffffff0u

typedef enum {
    SNPG_VMM_QEMU,
    SNPG_VMM_EC2,
    SNPG_VMM_GCE,
    SNPG_VMM_LAST
} SnpgVmmType;

/* "QEMU", "ec2", "gce" (the reference's spelling), and back (-1: unknown). */
const char *snpg_vmm_type_to_string(SnpgVmmType type);
int snpg_vmm_type_from_string(const char *name);

/* Fills page (SNPG_VMSA_PAGE_SIZE bytes) with the VMSA of a vCPU that starts
 * at eip. vcpu_sig goes into rdx for QEMU (ec2 and gce use a fixed value). */
void snpg_vmsa_build(guint8 *page, SnpgVmmType vmm, guint32 eip, guint64 sev_features,
                     guint32 vcpu_sig);

/* Fills page with the VMSA QEMU (Coconut-SVSM's) gives every vCPU of an
 * SVSM guest: 32-bit protected mode at eip (the SVSM entry point; rip holds
 * all of it), cr0 0x11, sev_features 0x1 and x87_fcw 0 whatever the guest
 * asks, rdx = vcpu_sig. The values are sev-snp-measure's, which were checked
 * against launches on hardware. */
void snpg_vmsa_build_svsm(guint8 *page, guint64 eip, guint32 vcpu_sig);

/* CPUID(1).EAX from family/model/stepping; fails if a value does not fit
 * (family <= 0x10e, model <= 0xff, stepping <= 0xf). */
gboolean snpg_vmsa_cpu_sig(guint64 family, guint64 model, guint64 stepping, guint32 *ret_sig,
                           GError **error);

/* The signature of a QEMU CPU model name ("EPYC-Milan", ...). */
gboolean snpg_vmsa_cpu_type_sig(const char *name, guint32 *ret_sig, GError **error);

/* NULL-terminated list of the known QEMU CPU model names. */
const char *const *snpg_vmsa_cpu_types(void);
