/* Attesting a registered VM: one session with its agent on a connected fd,
 * with the reference values, trust root and disk key the registry holds,
 * and the outcome recorded ("attestation", then "key-release"). Used by
 * 'snpguard attest NAME'; the hook worker and 'snpguard watch' reuse it.
 * No libvirt here: the caller finds and connects the channel socket. */
#pragma once

#include <glib.h>
#include <libxml/tree.h>

#include "registry.h"
#include "verify.h"

typedef struct {
    SnpgVerdict verdict;        /* ACCEPTED, REJECTED or ERROR (as recorded) */
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
 * command line carries. Records the outcome in reg. FALSE only when the
 * inputs could not be prepared (nothing sent, an "error" event recorded);
 * a session that failed midway is TRUE with verdict ERROR and outcome->error. */
gboolean snpg_vm_attest(SnpgRegistry *reg, const SnpgVmRecord *rec, int fd,
                        gint64 read_timeout_us, SnpgVmAttestOutcome *outcome, GError **error);

/* VM settings the attestation reads (written by define/adopt). */
#define SNPG_VM_SETTING_TRUST_ROOT "trust-root"       /* PEM file, emulation only */
#define SNPG_VM_SETTING_VERIFIER_KEY "verifier-key"   /* the identity's private key file */
