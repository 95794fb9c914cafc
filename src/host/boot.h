/* One boot of a managed VM, as its verifier (the hook worker or 'snpguard
 * watch') handles it: which boot it is, whether this verifier is the VM's,
 * the record of its start and stop, and the VM's failure action.
 *
 * A boot is named by its boot id, "UUID/ID": the domain's UUID and the id
 * libvirt gave this run of it (a new one for every start). Every event of
 * a boot carries it, so 'history --json' links start, verdict, key release,
 * failure action and stop. Ids restart when libvirtd restarts with no
 * domain running (or the host reboots); a boot whose id was used before is
 * told apart by the "stop" recorded in between. */
#pragma once

#include <glib.h>
#include "virt-api.h"
#include <libxml/tree.h>

#include "registry.h"

/* Who attests a VM and releases its key ('define --verifier'). Exactly one
 * per VM, so two verifiers never race for one channel. */
#define SNPG_VERIFIER_HOOK "hook"       /* the hook worker on the host */
#define SNPG_VERIFIER_WATCH "watch"     /* 'snpguard watch', local or remote */
#define SNPG_VERIFIER_MANUAL "manual"   /* 'snpguard attest NAME' run by someone */

/* The VM's verifier mode (a VM recorded without one: "hook"). */
const char *snpg_boot_verifier_mode(const SnpgVmRecord *rec);
/* Whether name is one of the three modes. */
gboolean snpg_boot_verifier_mode_valid(const char *name);

/* VM setting: seconds the verifier waits for the agent's next message, the
 * first one included (the guest boots meanwhile). */
#define SNPG_VM_SETTING_AGENT_WINDOW "agent-window"
#define SNPG_BOOT_AGENT_WINDOW_DEFAULT 120
/* The agent window in microseconds: the VM's setting, else
 * $SNPGUARD_AGENT_WINDOW (seconds), else the default. */
gint64 snpg_boot_agent_window_us(const SnpgVmRecord *rec);

/* "UUID/ID" (see above); NULL when the domain is not running (id < 1). */
char *snpg_boot_id(const char *uuid, int domain_id);
/* From a live domain XML (<domain id='N'>, <uuid>); NULL if it has none. */
char *snpg_boot_id_from_xml(xmlDoc *live);
/* From a running domain. */
char *snpg_boot_id_of_domain(virDomainPtr dom);

typedef struct {
    gboolean started;       /* a "start" event of this boot (since its id was last stopped) */
    gboolean has_verdict;   /* an "attestation" event of this boot */
    gboolean stopped;       /* the newest event of this boot is its "stop" */
} SnpgBootState;

/* What the registry holds about the boot boot_id of vm. */
gboolean snpg_boot_get_state(SnpgRegistry *reg, const char *vm, const char *boot_id,
                             SnpgBootState *ret, GError **error);

/* The boot id of the newest event of vm that has one (the boot a "stop"
 * without a domain id belongs to), or NULL. */
char *snpg_boot_latest(SnpgRegistry *reg, const char *vm);

/* Records "start" (detail: which verifier saw it) or "stop" for the boot;
 * failures are logged, never fatal: a stop cannot be refused. */
void snpg_boot_record(SnpgRegistry *reg, const char *vm, const char *boot_id, SnpgEventKind kind,
                      const char *detail);

/* The VM's failure action (rec->failure_action: destroy, the default,
 * pause or keep) on dom after the boot boot_id ended with verdict (anything
 * but accepted): applied only while dom still runs that boot, never to a
 * later start of the VM; recorded as a "failure-action" event whose detail
 * says what was done. */
void snpg_boot_apply_failure_action(SnpgRegistry *reg, const SnpgVmRecord *rec, virDomainPtr dom,
                                    const char *boot_id, SnpgVerdict verdict);

/* Logs one line about a VM through GLib's structured logging, with the VM,
 * its boot and (when not NONE) the verdict as fields of their own
 * (SNPGUARD_VM, SNPGUARD_BOOT_ID, SNPGUARD_VERDICT) for the journal. */
void snpg_boot_log(GLogLevelFlags level, const char *vm, const char *boot_id, SnpgVerdict verdict,
                   const char *format, ...) G_GNUC_PRINTF(5, 6);

/* Starts the defined domain name (virDomainCreate) over uri (NULL: the
 * default) and returns the new boot's id. */
char *snpg_boot_start_domain(const char *uri, const char *name, GError **error);

typedef struct {
    SnpgVerdict verdict;        /* of the boot's "attestation"; NONE: none yet */
    GStrv reasons;
    char *detail;
    gboolean key_released;      /* a "key-release" event */
    gboolean key_confirmed;     /* ... whose receipt was confirmed */
    gboolean failure_action;    /* a "failure-action" event */
} SnpgBootVerdict;

void snpg_boot_verdict_clear(SnpgBootVerdict *v);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SnpgBootVerdict, snpg_boot_verdict_clear)
/* The verdict recorded for the boot boot_id of vm so far. */
gboolean snpg_boot_get_verdict(SnpgRegistry *reg, const char *vm, const char *boot_id,
                               SnpgBootVerdict *ret, GError **error);
