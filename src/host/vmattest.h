/* Attesting a registered VM: one session with its agent on a connected fd,
 * with the reference values, trust root and disk key the registry holds,
 * and the outcome recorded ("attestation", then "key-release"). Used by
 * 'snpguard attest NAME'; the hook worker and 'snpguard watch' reuse it.
 * No libvirt here: the caller finds and connects the channel socket. */
#pragma once

#include <glib.h>
#include <libxml/tree.h>

#include "registry.h"
#include "attest.h"
#include "session.h"
#include "verify.h"

typedef struct {
    SnpgVerdict verdict;        /* ACCEPTED, REJECTED, TIMEOUT or ERROR (as recorded) */
    SnpgVerifyResult *result;   /* the verification (NULL if no report came) */
    gboolean key_sent;          /* the disk key left, sealed to the attested VM */
    gboolean key_confirmed;     /* the agent confirmed it */
    gsize key_len;
    char *error;                /* transport/protocol failure, or why the key
                                 * was not confirmed; NULL otherwise */
} SnpgVmAttestOutcome;

void snpg_vm_attest_outcome_clear(SnpgVmAttestOutcome *outcome);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SnpgVmAttestOutcome, snpg_vm_attest_outcome_clear)

/* The unix socket of the attestation channel (org.snpguard.attest.0) in a
 * running domain's live XML, or NULL (error set). */
char *snpg_vm_attest_channel_socket(xmlDoc *live, GError **error);

/* Runs one verifier session for the VM rec on fd (connected to its agent;
 * not closed): the policy from rec's reference values (plus, for the
 * emulation profile, the simulator's root this VM trusts), its disk key
 * from the key store, signed with the verifier identity whose pin the VM's
 * command line carries. Records the outcome in reg, under boot_id (boot.h;
 * NULL: none) when given. FALSE only when the
 * inputs could not be prepared (nothing sent, an "error" event recorded);
 * a session that failed midway is TRUE with verdict ERROR (TIMEOUT for a
 * missed deadline) and outcome->error. */
gboolean snpg_vm_attest(SnpgRegistry *reg, const SnpgVmRecord *rec, const char *boot_id, int fd,
                        gint64 read_timeout_us, SnpgVmAttestOutcome *outcome, GError **error);

/* One attestation of the VM rec prepared, for a session run by the caller
 * (blocking, or driven by an event loop: channel.h): the verifier
 * configuration built from rec's reference values, trust root, disk key
 * and verifier identity, as snpg_vm_attest describes. boot_id (may be
 * NULL) goes into every event recorded for this attempt. NULL (an "error"
 * event recorded, error set) when the inputs cannot be prepared. */
typedef struct _SnpgVmVerifier SnpgVmVerifier;

SnpgVmVerifier *snpg_vm_verifier_new(SnpgRegistry *reg, const SnpgVmRecord *rec,
                                     const char *boot_id, gint64 read_timeout_us,
                                     GError **error);
void snpg_vm_verifier_free(SnpgVmVerifier *v);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SnpgVmVerifier, snpg_vm_verifier_free)
/* (transfer none) valid as long as v: hand it to one session only. */
const SnpgVerifierConfig *snpg_vm_verifier_config(const SnpgVmVerifier *v);
/* Records the session's outcome ("attestation", then "key-release" when a
 * key was due or sent) and fills outcome. reached: the session reached a
 * verdict (session->verdict); otherwise session_error says why, and a
 * SNPG_PROTO_ERROR_TIMEOUT is recorded as the verdict "timeout". */
void snpg_vm_verifier_finish(SnpgVmVerifier *v, SnpgRegistry *reg, gboolean reached,
                             const SnpgVerifierResult *session, const GError *session_error,
                             SnpgVmAttestOutcome *outcome);

/* VM settings the attestation reads (written by define/adopt). */
#define SNPG_VM_SETTING_TRUST_ROOT "trust-root"       /* PEM file, emulation only */
#define SNPG_VM_SETTING_VERIFIER_KEY "verifier-key"   /* the identity's private key file */
