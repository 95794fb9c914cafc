/* One verification policy for every caller: `report verify`, `attest`, the
 * libvirt hook worker and `watch` build it the same way and get the same
 * verdict, reason for reason.
 *
 * A policy holds the owner's reference values (a reference-values file,
 * then option values over it, through one parser per key: reference.h) and
 * the certificate sources:
 *   - the leaf (VCEK/VLEK) the operator supplied; without it the guest's
 *     evidence (the extended report's certificate table), then the
 *     certificate cache (VCEKs only);
 *   - ASK/ASVK/ARK the operator supplied; without them the guest's ASK, or
 *     the cache's ASK and ARK when the leaf came from the cache. Supplied,
 *     offered and cached certificates are evidence, never trust: each must
 *     be AMD's pinned one or lead to the explicit trust root;
 *   - the explicit trust root, the CRL and the verification time.
 * Every failure of a supplied certificate (unparseable, not found in the
 * cache, a VLEK report with the VCEK-only cache) is a reason of the result
 * (cert-invalid, cert-missing), never a separate error.
 *
 * A policy is not thread-safe (nor is its SnpgVerifier): one per thread, or
 * several policies (one per VM) sharing a thread's verifier. The trust
 * root and the CRL belong to the verifier: policies sharing one share them. */
#pragma once

#include <glib.h>

#include "amd-certs.h"
#include "verify.h"

#define SNPG_POLICY_ERROR (snpg_policy_error_quark())
GQuark snpg_policy_error_quark(void);

typedef enum {
    SNPG_POLICY_ERROR_TRUST_ROOT,   /* the trust root does not parse */
    SNPG_POLICY_ERROR_CRL,          /* the CRL does not parse */
} SnpgPolicyError;

typedef struct _SnpgAttestPolicy SnpgAttestPolicy;

/* A policy with no reference values (every report from a genuine chain
 * passes) and its own verifier. */
SnpgAttestPolicy *snpg_attest_policy_new(void);
/* The same, verifying with the caller's verifier (transfer none; it must
 * outlive the policy), so that the policies of many VMs served by one
 * thread share one leaf cache. The policy sets the verifier's supplied
 * certificates on each verification. */
SnpgAttestPolicy *snpg_attest_policy_new_with_verifier(SnpgVerifier *verifier);
void snpg_attest_policy_free(SnpgAttestPolicy *policy);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SnpgAttestPolicy, snpg_attest_policy_free)

/* ---- reference values ---------------------------------------------------- */

/* Merges a reference-values file (docs/reference-values.md) into the
 * policy; SNPG_REFERENCE_ERROR on failure, the policy unchanged. */
gboolean snpg_attest_policy_load_reference_file(SnpgAttestPolicy *policy, const char *path,
                                                GError **error);
gboolean snpg_attest_policy_load_reference_data(SnpgAttestPolicy *policy, const char *data,
                                                gsize len, GError **error);
/* One reference value by its key, as options give them ("min-tcb",
 * "snp=8"); the same parser as the file's (snpg_reference_set_value). */
gboolean snpg_attest_policy_set_value(SnpgAttestPolicy *policy, const char *key,
                                      const char *value, GError **error);
/* The same for the command-line option --KEY (errors name "--KEY"). */
gboolean snpg_attest_policy_set_option(SnpgAttestPolicy *policy, const char *key,
                                       const char *value, GError **error);
/* The reference values, for callers that build them directly (transfer
 * none; changes apply to the next verification). */
SnpgVerifyOptions *snpg_attest_policy_get_options(SnpgAttestPolicy *policy);
/* Certificate validity at this Unix time instead of the current time. */
void snpg_attest_policy_set_now(SnpgAttestPolicy *policy, gint64 unix_seconds);

/* ---- trust --------------------------------------------------------------- */

/* A root trusted explicitly (a simulated processor's test ARK), DER or PEM;
 * set on the policy's verifier (snpg_verifier_set_trust_root). */
gboolean snpg_attest_policy_set_trust_root(SnpgAttestPolicy *policy, GBytes *data, GError **error);
/* AMD's CRL (DER or PEM); it must be signed by the chain's root. Set on
 * the policy's verifier (snpg_verifier_set_crl). */
gboolean snpg_attest_policy_set_crl(SnpgAttestPolicy *policy, GBytes *data, GError **error);

/* ---- certificate sources ------------------------------------------------- */

/* The VCEK or VLEK the operator supplied (DER or PEM; NULL: none). It takes
 * precedence over the guest's and the cache's; bytes that do not parse are
 * rejected as cert-invalid. */
void snpg_attest_policy_set_leaf(SnpgAttestPolicy *policy, GBytes *data);
/* The ARK, ASK or ASVK the operator supplied (DER or PEM; NULL: none). Bytes
 * that do not parse make every verdict a rejection with cert-invalid. Give
 * an ASK or an ASVK, not both (the later one replaces the other). */
void snpg_attest_policy_set_chain_cert(SnpgAttestPolicy *policy, SnpgAmdCertKind kind,
                                       GBytes *data);
/* The certificate cache to look VCEKs (and their ASK and ARK) up in when
 * neither the operator nor the guest gave a leaf (certcache.h); NULL: none. */
void snpg_attest_policy_set_cache_dir(SnpgAttestPolicy *policy, const char *dir);

/* ---- verification -------------------------------------------------------- */

/* Verifies report bytes with the guest's certificate table (the extended
 * report's, NULL or empty: none). expected_report_data (64 bytes; NULL: the
 * reference value, if any) replaces the reference REPORT_DATA: a session
 * passes its binding. Never fails: a result without failures is an
 * acceptance (transfer full). */
SnpgVerifyResult *snpg_attest_policy_verify(SnpgAttestPolicy *policy, GBytes *report,
                                            GBytes *certs, const guint8 *expected_report_data);
