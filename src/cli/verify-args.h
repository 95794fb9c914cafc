/* The verification options shared by `report verify` and `attest`: one
 * option table and one way to print verdicts. What they mean is decided by
 * the core verification policy (policy.h), which both commands build here. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "policy.h"
#include "verify.h"

typedef struct {
    char *cert, *ask, *asvk, *ark, *crl, *trust_root, *now, *reference, *cache;
    char **measurements, **chip_ids;
    /* Reference values as given: parsed by the reference file's parser. */
    char *report_data, *host_data, *family_id, *image_id, *id_key_digest, *author_key_digest;
    char *vmpl, *min_guest_svn;
    char *product, *min_tcb, *policy_max, *min_abi, *min_policy_abi, *platform_info_mask;
    char *platform_info_required;
    gboolean allow_debug, json;
} SnpgVerifyArgs;

#define SNPG_VERIFY_ARGS_INIT { 0 }

void snpg_verify_args_clear(SnpgVerifyArgs *a);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SnpgVerifyArgs, snpg_verify_args_clear)

/* Adds the verification options (--cert ... --json) to the context's main
 * group; with_report_data FALSE (attest) leaves out --report-data (attest
 * binds it to the session itself). */
void snpg_verify_args_add_entries(GOptionContext *ctx, SnpgVerifyArgs *a, gboolean with_report_data);

/* Builds the verification policy: the reference file, the options over it,
 * the trust root, the CRL, the supplied certificates and the cache. Returns
 * an exit code: SNPG_EXIT_OK, or what the command should return (a file
 * that cannot be read or used: 1; a malformed option: 2). Certificates that
 * are read but do not parse are reasons of the verdict, not errors. */
int snpg_verify_args_policy(SnpgVerifyArgs *a, SnpgAttestPolicy **ret_policy);

/* report verify: a version 2 report whose VCEK is to come from the cache
 * needs --product (its CPUID is missing). Prints why and returns FALSE. */
gboolean snpg_verify_args_check_report(SnpgVerifyArgs *a, SnpgAttestPolicy *policy, GBytes *report);

/* The verdict: "accepted: ..." or one "code: detail" line per reason. */
void snpg_verify_result_print(const SnpgVerifyResult *res);
/* Adds verdict, product, signing_key, measurement, chip_id, report_data and
 * reasons[] to the object being built. */
void snpg_verify_result_add_json(JsonBuilder *b, const SnpgVerifyResult *res);
