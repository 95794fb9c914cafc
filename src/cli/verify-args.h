/* The verification options shared by `report verify` and `attest`: one
 * option table, one way to build the verifier, one way to print verdicts. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "verify.h"

typedef struct {
    char *cert, *ask, *asvk, *ark, *crl, *trust_root, *now, *reference, *cache;
    char **measurements, **chip_ids;
    char *report_data, *host_data, *family_id, *image_id, *id_key_digest, *author_key_digest;
    int vmpl;
    gint64 min_guest_svn;
    char *product, *min_tcb, *policy_max, *min_abi, *min_policy_abi, *platform_info_mask;
    char *platform_info_required;
    gboolean allow_debug, json;
} SnpgVerifyArgs;

#define SNPG_VERIFY_ARGS_INIT { .vmpl = -1, .min_guest_svn = -1 }

void snpg_verify_args_clear(SnpgVerifyArgs *a);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SnpgVerifyArgs, snpg_verify_args_clear)

/* Adds the verification options (--cert ... --json) to the context's main
 * group; with_report_data FALSE (attest) leaves out --report-data (attest
 * binds it to the session itself) and --cache (attest takes the VCEK from
 * --cert or the guest's extended report). */
void snpg_verify_args_add_entries(GOptionContext *ctx, SnpgVerifyArgs *a, gboolean with_report_data);

/* Loads the reference file and applies the options over it, then makes the
 * verifier (trust root, CRL, supplied --ark/--ask/--asvk). Supplied
 * certificates that do not parse become rejection lines in extra. Returns
 * an exit code: SNPG_EXIT_OK, or what the command should return. */
int snpg_verify_args_prepare(SnpgVerifyArgs *a, SnpgVerifyOptions *opts,
                             SnpgVerifier **ret_verifier, GPtrArray *extra);

/* The leaf certificate: --cert, or, without it and given the report, the
 * certificate cache (whose ASK/ARK then become supplied evidence). NULL:
 * none (the verifier rejects with cert-missing). *ret_exit is set when the
 * command must stop (unreadable --cert: 1; a v2 report without --product: 2). */
GBytes *snpg_verify_args_leaf(SnpgVerifyArgs *a, SnpgVerifier *verifier, GBytes *report,
                              const SnpgVerifyOptions *opts, int *ret_exit);

/* The verdict: "accepted: ..." or one "code: detail" line per reason. */
void snpg_verify_result_print(const SnpgVerifyResult *res, GPtrArray *extra);
/* Adds verdict, product, signing_key, measurement, chip_id, report_data and
 * reasons[] to the object being built. */
void snpg_verify_result_add_json(JsonBuilder *b, const SnpgVerifyResult *res, GPtrArray *extra);
gboolean snpg_verify_result_accepted_with(const SnpgVerifyResult *res, GPtrArray *extra);
