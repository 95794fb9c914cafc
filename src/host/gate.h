/* The start gate: what the libvirt hook decides on "prepare begin" for a
 * domain snpguard manages, from the live domain XML alone. It never calls
 * libvirt (the hook runs under the domain's lock: that deadlocks), so the
 * hook, a hook worker and 'snpguard watch' can all use it.
 *
 * The gate is an early, clear refusal of a start whose boot files no
 * longer give the expected measurement; the security boundary is the
 * attestation, which checks what the secure processor measured. */
#pragma once

#include <glib.h>
#include <libxml/tree.h>

#include "registry.h"

/* Whether the domain XML carries snpguard's metadata element. Cheap: no
 * file, no registry; an unmanaged domain passes with this alone. */
gboolean snpg_gate_domain_is_managed(xmlDoc *doc);

typedef struct {
    gboolean refused;       /* the start must not go on */
    char *message;          /* refused: one line for libvirt to show */
    GStrv reasons;          /* refused: stable names, e.g. "initrd-changed" */
    char *measurement;      /* hex: what the live XML's files give (NULL on error) */
    gboolean wrote_identity; /* emulation: the simulated launch identity was written */
} SnpgGateResult;

void snpg_gate_result_clear(SnpgGateResult *result);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SnpgGateResult, snpg_gate_result_clear)

/* "prepare begin" for the managed domain name (live XML doc): re-hashes the
 * files the XML names, recomputes the launch measurement and compares it
 * with the registry's expectation. For the emulation profile it then plays
 * the AMD-SP: writes the simulated launch identity (STATE/sim) carrying the
 * measurement it computed, independently of the expectation, to the fw_cfg
 * file the XML names (which must be snpg_gate_identity_path()), also when
 * the gate is off. A refusal (gate on) is recorded as a "start-refused"
 * event. FALSE (error set) when the check itself could not run: the caller
 * refuses the start then too. */
gboolean snpg_gate_prepare(const char *state_dir, const char *name, xmlDoc *doc,
                           SnpgGateResult *result, GError **error);

/* "stopped"/"release": records a "stop" event for a registered VM (no-op for
 * one the registry does not know). */
gboolean snpg_gate_record_stop(const char *state_dir, const char *name, GError **error);

/* Where the hook writes emulated VMs' launch identities: not in the state
 * directory, whose 0700 QEMU (user libvirt-qemu) cannot traverse. The file
 * itself is 0600; libvirt hands it to QEMU for the run. */
#define SNPG_GATE_EMULATE_RUN_DIR "/run/snpguard/emulate"
/* SNPG_GATE_EMULATE_RUN_DIR/<16 hex digits of SHA-256(state_dir)>. */
char *snpg_gate_identity_dir(const char *state_dir);
/* The fw_cfg file of the emulated VM name: snpg_gate_identity_dir()/NAME.identity. */
char *snpg_gate_identity_path(const char *state_dir, const char *name);
/* STATE/sim: the state directory's simulated secure processor. */
char *snpg_gate_sim_dir(const char *state_dir);
