/* Report backends of the guest agent: where an attestation report comes from.
 *
 *   sev-guest[:DEVICE]   the SNP_GET_EXT_REPORT / SNP_GET_REPORT ioctls of
 *                        /dev/sev-guest (Linux sev-guest driver)
 *   tsm[:DIR]            Linux configfs-tsm, /sys/kernel/config/tsm/report
 *   sim:FILE             the simulated secure processor, from an identity
 *                        file written by `snpguard sim identity` (tests and
 *                        machines without SNP; chosen explicitly only)
 */
#pragma once

#include <glib.h>

#define SNPG_PSP_ERROR snpg_psp_error_quark()
GQuark snpg_psp_error_quark(void);
typedef enum {
    SNPG_PSP_ERROR_SPEC,        /* unknown backend name */
    SNPG_PSP_ERROR_UNAVAILABLE, /* device or interface missing */
    SNPG_PSP_ERROR_FAILED,      /* the request failed */
    SNPG_PSP_ERROR_MALFORMED,   /* the firmware's answer is malformed */
} SnpgPspError;

typedef struct _SnpgPsp SnpgPsp;

SnpgPsp *snpg_psp_open(const char *spec, GError **error);
void snpg_psp_free(SnpgPsp *psp);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SnpgPsp, snpg_psp_free)

const char *snpg_psp_name(const SnpgPsp *psp);

/* A report with exactly this REPORT_DATA at the given VMPL, and the
 * certificate table of an extended report when the backend has one
 * (*ret_certs NULL otherwise). */
gboolean snpg_psp_get_report(SnpgPsp *psp, const guint8 report_data[64], guint vmpl,
                             GBytes **ret_report, GBytes **ret_certs, GError **error);
