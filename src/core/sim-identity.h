/* The simulated launch identity: what the host hands a guest that runs on
 * the simulated secure processor.
 *
 * On SNP hardware the AMD-SP measures the guest at launch and signs its
 * reports with the chip's VCEK. In emulation the host plays that part: at
 * start it computes the launch measurement of the files the domain names
 * and gives the guest this identity (the simulator's TEST VCEK key, chip id,
 * TCB, and the measurement and policy "measured"), for example as a fw_cfg
 * blob. The agent signs reports with it only when told to (--psp sim:FILE).
 * A production verifier rejects such reports: their chain ends in the
 * simulator's test ARK, trusted only through an explicit --trust-root.
 *
 * File format: a GKeyFile, group [snpguard-sim-identity], documented in
 * snpguard-sim(1). */
#pragma once

#include <glib.h>

#include "report.h"

typedef struct {
    guint8 measurement[48];
    guint64 policy;             /* default 0x30000 */
    guint8 host_data[32];
    guint8 family_id[16];
    guint8 image_id[16];
    guint8 id_key_digest[48];
    guint8 author_key_digest[48];
    guint32 guest_svn;
    guint32 min_vmpl;           /* the guest runs at this VMPL: reports never claim less */
    guint32 report_version;     /* default 5 */
} SnpgSimIdentityParams;

void snpg_sim_identity_params_init(SnpgSimIdentityParams *params);

/* Writes the identity of a guest launched on the simulator in sim_dir. The
 * file holds a private key: it is created with mode 0600. */
gboolean snpg_sim_identity_write(const char *sim_dir, const SnpgSimIdentityParams *params,
                                 const char *path, GError **error);

typedef struct _SnpgSimIdentity SnpgSimIdentity;

SnpgSimIdentity *snpg_sim_identity_load(const char *path, GError **error);
/* The same from bytes already read (at most 64 KiB, as a file); what names
 * them in errors. The caller wipes data: it holds the (test) signing key. */
SnpgSimIdentity *snpg_sim_identity_load_data(const char *data, gsize len, const char *what,
                                             GError **error);
void snpg_sim_identity_free(SnpgSimIdentity *identity);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SnpgSimIdentity, snpg_sim_identity_free)

/* A signed report with this REPORT_DATA, requested at vmpl. */
gboolean snpg_sim_identity_report(SnpgSimIdentity *identity, const guint8 report_data[64],
                                  guint vmpl, GBytes **ret_report, GError **error);

/* The simulated VCEK and ASK certificates (DER), when the identity carries
 * them: what a host with an extended-report configuration offers. */
GBytes *snpg_sim_identity_get_vcek(SnpgSimIdentity *identity);
GBytes *snpg_sim_identity_get_ask(SnpgSimIdentity *identity);
