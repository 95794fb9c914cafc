/* The registry: one SQLite database (STATE/registry.db) with the VMs snpguard
 * manages and the record of everything that happened to them.
 *
 * - WAL journal, a busy timeout, foreign keys on, synchronous=FULL: readers
 *   never block writers, and a committed record survives a power loss.
 * - Every write is one transaction (BEGIN IMMEDIATE ... COMMIT): a writer
 *   killed half-way leaves no half record, and concurrent writers (hook
 *   processes, the CLI, a hook worker) serialise instead of failing.
 * - The schema has a version (PRAGMA user_version) and a list of migrations
 *   applied in order, each in its own transaction.
 * - Keys are recorded by reference only (a path relative to the state
 *   directory, see keystore.h): key bytes never enter the database.
 *
 * A SnpgRegistry is one connection: use it from one thread, and never across
 * fork() (open a new one in the child).
 *
 * How the callers use it:
 *   define    key = snpg_keystore_create(state, uuid, &rec->key_path, ...);
 *             reg = snpg_registry_open(state, SNPG_REGISTRY_OPEN_CREATE, ...);
 *             snpg_registry_begin(reg); snpg_registry_add_vm(reg, rec);
 *             virDomainDefineXML(...); snpg_registry_commit(reg);
 *             on any failure: snpg_registry_rollback(reg) (or close it),
 *             undefine the domain if it was defined, and
 *             snpg_keystore_delete(state, rec->key_path): nothing is left.
 *   undefine  snpg_registry_begin; snpg_registry_remove_vm(reg, name, &key_path);
 *             virDomainUndefine; snpg_registry_commit;
 *             then snpg_keystore_delete(state, key_path).
 *   hook      (after the domain XML's snpguard metadata says the domain is
 *             managed) snpg_registry_get_vm for the expected measurement and
 *             inputs; snpg_registry_add_event(START_REFUSED ...) on a refusal.
 *   attest, hook worker, watch
 *             snpg_registry_get_vm + snpg_vm_record_load_reference for the
 *             reference values, snpg_keystore_load(state, rec->key_path) for
 *             the key, snpg_registry_add_event for the attestation (with
 *             snpg_event_set_verify_reasons), key release, failure action.
 *   list, show, history
 *             snpg_registry_open without CREATE (NOT_FOUND: nothing defined),
 *             list_vms / get_vm / last_verdict / foreach_event. */
#pragma once

#include <glib.h>

#include "verify.h"

#define SNPG_REGISTRY_FILE "registry.db"

#define SNPG_REGISTRY_ERROR (snpg_registry_error_quark())
GQuark snpg_registry_error_quark(void);

typedef enum {
    SNPG_REGISTRY_ERROR_NOT_FOUND,  /* no registry yet (without CREATE), no such VM or event */
    SNPG_REGISTRY_ERROR_EXISTS,     /* a VM of that name or UUID is already defined */
    SNPG_REGISTRY_ERROR_INVALID,    /* a field is malformed or out of bounds */
    SNPG_REGISTRY_ERROR_BUSY,       /* other writers held the database past the timeout */
    SNPG_REGISTRY_ERROR_VERSION,    /* written by a newer snpguard */
    SNPG_REGISTRY_ERROR_TRANSACTION, /* begin/commit/rollback misuse */
    SNPG_REGISTRY_ERROR_DB,         /* any other SQLite failure (corrupt file, I/O, full disk) */
} SnpgRegistryError;

/* Schema version this build writes (PRAGMA user_version). */
#define SNPG_REGISTRY_SCHEMA_VERSION 1

/* Bounds on what one record may hold: a hostile domain name or guest
 * message cannot grow the database without limit. */
#define SNPG_REGISTRY_NAME_MAX 255          /* bytes of a VM name */
#define SNPG_REGISTRY_TEXT_MAX 4096         /* bytes of a path, setting value, detail */
#define SNPG_REGISTRY_REFERENCE_MAX 65536   /* bytes of a reference-values text */
#define SNPG_REGISTRY_REASONS_MAX 64        /* reasons per event */
#define SNPG_REGISTRY_REASON_LEN_MAX 64     /* bytes of one reason name */
#define SNPG_REGISTRY_REPORT_MAX 65536      /* bytes of report evidence per event */
#define SNPG_REGISTRY_ITEMS_MAX 256         /* settings or inputs per VM */

/* ---- events ------------------------------------------------------------- */

/* Stored as these strings: append only, never rename. */
typedef enum {
    SNPG_EVENT_DEFINE,          /* "define" */
    SNPG_EVENT_START_REFUSED,   /* "start-refused" */
    SNPG_EVENT_ATTESTATION,     /* "attestation" */
    SNPG_EVENT_KEY_RELEASE,     /* "key-release" */
    SNPG_EVENT_FAILURE_ACTION,  /* "failure-action" */
    SNPG_EVENT_STOP,            /* "stop" */
    SNPG_EVENT_ERROR,           /* "error" */
    SNPG_EVENT_UNDEFINE,        /* "undefine" */
    SNPG_EVENT_START,           /* "start": a boot its verifier saw begin */
    SNPG_EVENT_LAST
} SnpgEventKind;

typedef enum {
    SNPG_VERDICT_NONE,          /* no verdict applies (stored as NULL) */
    SNPG_VERDICT_ACCEPTED,      /* "accepted" */
    SNPG_VERDICT_REJECTED,      /* "rejected" */
    SNPG_VERDICT_REFUSED,       /* "refused" */
    SNPG_VERDICT_TIMEOUT,       /* "timeout" */
    SNPG_VERDICT_ERROR,         /* "error" */
    SNPG_VERDICT_LAST
} SnpgVerdict;

const char *snpg_event_kind_to_string(SnpgEventKind kind);
/* -1 when the string names no kind. */
int snpg_event_kind_from_string(const char *name);
/* NULL for SNPG_VERDICT_NONE. */
const char *snpg_verdict_to_string(SnpgVerdict verdict);
/* -1 when the string names no verdict. */
int snpg_verdict_from_string(const char *name);

typedef struct {
    gint64 id;              /* set by the registry; increases with every event */
    gint64 time;            /* microseconds since the epoch, UTC; 0 on add: now */
    char *vm;               /* the VM's name (kept after undefine) */
    char *vm_uuid;          /* NULL on add: the defined VM's, if any */
    SnpgEventKind kind;
    SnpgVerdict verdict;
    GStrv reasons;          /* stable reason names ([a-z0-9-]), e.g. the
                             * verifier's; NULL or empty: none */
    char *measurement;      /* 96 hex digits: seen in the report (attestation),
                             * recomputed (start-refused), expected (define) */
    gboolean has_tcb;
    guint64 tcb;            /* the reported TCB */
    char *chip_id;          /* 128 hex digits */
    GBytes *report;         /* the report bytes; only snpg_registry_get_event()
                             * fills it on reading */
    char *detail;           /* one sentence for people */
    char *boot_id;          /* identifies one start of the VM */
} SnpgEvent;

/* A new event with the other fields empty. */
SnpgEvent *snpg_event_new(SnpgEventKind kind, const char *vm);
void snpg_event_free(SnpgEvent *event);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SnpgEvent, snpg_event_free)
/* Sets reasons from a verification result (its failures, in order). */
void snpg_event_set_verify_reasons(SnpgEvent *event, const SnpgVerifyResult *result);
/* "2026-11-29T06:09:13.123456Z". */
char *snpg_event_format_time(gint64 time);

/* ---- VMs ---------------------------------------------------------------- */

typedef struct {
    char *key;
    char *value;
} SnpgVmSetting;

/* A file the expected measurement rests on, with its digest at define time. */
typedef struct {
    char *role;             /* "firmware", "kernel", "initrd", "disk", ... */
    char *path;
    char *algorithm;        /* "sha256", "sha384" */
    char *digest;           /* lowercase hex */
} SnpgVmInput;

typedef struct {
    gint64 id;              /* set by the registry */
    char *name;
    char *uuid;             /* RFC 4122 text (stored lowercase) */
    char *workflow;         /* "encrypted", "integrity" or "none" */
    char *expected_measurement; /* 96 hex digits (stored lowercase) */
    char *reference;        /* reference values as snpg_reference_to_data()
                             * writes them; NULL: none */
    char *verifier_mode;    /* who attests and releases the key, e.g. "local"
                             * (hook worker) or "remote" (snpguard watch);
                             * NULL: not set */
    char *failure_action;   /* "destroy", "pause" or "keep" */
    gboolean emulate;       /* the emulation profile (simulated secure processor) */
    GPtrArray *settings;    /* SnpgVmSetting *, in order */
    GPtrArray *inputs;      /* SnpgVmInput *, in order */
    char *key_path;         /* the disk key, relative to the state directory
                             * (keystore.h); NULL: no key */
    gint64 created;         /* microseconds UTC, set by the registry */
    gint64 updated;
} SnpgVmRecord;

SnpgVmRecord *snpg_vm_record_new(const char *name);
void snpg_vm_record_free(SnpgVmRecord *rec);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SnpgVmRecord, snpg_vm_record_free)
/* Sets (or replaces) a setting; keys are unique. */
void snpg_vm_record_set_setting(SnpgVmRecord *rec, const char *key, const char *value);
/* NULL when not set. */
const char *snpg_vm_record_get_setting(const SnpgVmRecord *rec, const char *key);
void snpg_vm_record_add_input(SnpgVmRecord *rec, const char *role, const char *path,
                              const char *algorithm, const char *digest_hex);
/* Stores opts as reference-values text. */
void snpg_vm_record_set_reference(SnpgVmRecord *rec, const SnpgVerifyOptions *opts);
/* Merges the stored reference values into opts (see snpg_reference_load_data);
 * TRUE with opts untouched when there are none. */
gboolean snpg_vm_record_load_reference(const SnpgVmRecord *rec, SnpgVerifyOptions *opts,
                                       GError **error);

/* ---- the registry ------------------------------------------------------- */

typedef struct _SnpgRegistry SnpgRegistry;

typedef enum {
    SNPG_REGISTRY_OPEN_DEFAULT = 0,
    /* Create the state directory (0700) and the database when missing.
     * Without it a missing one is SNPG_REGISTRY_ERROR_NOT_FOUND, so that
     * reading commands (list, history) create nothing. */
    SNPG_REGISTRY_OPEN_CREATE = 1 << 0,
} SnpgRegistryOpenFlags;

/* Opens STATE/registry.db, after checking the state directory (statedir.h),
 * and brings its schema up to SNPG_REGISTRY_SCHEMA_VERSION. */
SnpgRegistry *snpg_registry_open(const char *state_dir, SnpgRegistryOpenFlags flags,
                                 GError **error);
void snpg_registry_close(SnpgRegistry *reg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SnpgRegistry, snpg_registry_close)

const char *snpg_registry_state_dir(const SnpgRegistry *reg);

/* Transactions spanning several calls, e.g. define: add the VM (with its
 * key and define event), define the libvirt domain, then commit; any
 * failure rolls back and leaves nothing. begin takes the write lock at once
 * (BEGIN IMMEDIATE), waiting up to the busy timeout. Outside such a
 * transaction, every write function is a transaction of its own. */
gboolean snpg_registry_begin(SnpgRegistry *reg, GError **error);
gboolean snpg_registry_commit(SnpgRegistry *reg, GError **error);
/* A read-only transaction: the calls until commit or rollback see one
 * snapshot (e.g. list_vms and each VM's last verdict), without blocking
 * writers. Write in a transaction from snpg_registry_begin instead: a
 * write here may fail with BUSY when another writer committed meanwhile. */
gboolean snpg_registry_begin_read(SnpgRegistry *reg, GError **error);
/* Harmless when no transaction is open. */
void snpg_registry_rollback(SnpgRegistry *reg);

/* Adds a VM: its row, settings, inputs, the key reference (rec->key_path)
 * and a "define" event carrying the expected measurement, all or nothing.
 * A VM of the same name or UUID gives SNPG_REGISTRY_ERROR_EXISTS. On success
 * rec->id, created and updated are set. */
gboolean snpg_registry_add_vm(SnpgRegistry *reg, SnpgVmRecord *rec, GError **error);
/* Replaces the stored fields of the VM named rec->name (all of them but
 * name and created). */
gboolean snpg_registry_update_vm(SnpgRegistry *reg, SnpgVmRecord *rec, GError **error);
/* NULL with SNPG_REGISTRY_ERROR_NOT_FOUND when no VM has that name. */
SnpgVmRecord *snpg_registry_get_vm(SnpgRegistry *reg, const char *name, GError **error);
/* Every VM, by name. */
GPtrArray *snpg_registry_list_vms(SnpgRegistry *reg, GError **error);
/* Removes the VM and its key reference and records an "undefine" event; the
 * history stays. ret_key_path (may be NULL) receives the key file to wipe
 * (snpg_keystore_delete) once the transaction is committed, or NULL. */
gboolean snpg_registry_remove_vm(SnpgRegistry *reg, const char *name, char **ret_key_path,
                                 GError **error);

/* Wipes and removes key files under STATE/keys that no VM refers to and
 * that are older than min_age seconds: what a define killed between
 * creating its key and committing leaves behind. (A define in progress has
 * a key that is not yet referred to: min_age spares it; an hour is ample.)
 * ret_removed (may be NULL) receives the count. */
gboolean snpg_registry_remove_orphan_keys(SnpgRegistry *reg, guint min_age, guint *ret_removed,
                                          GError **error);

/* Appends an event (validated: see the bounds above); sets event->id and,
 * when 0, event->time. */
gboolean snpg_registry_add_event(SnpgRegistry *reg, SnpgEvent *event, GError **error);
/* One event with its report bytes. */
SnpgEvent *snpg_registry_get_event(SnpgRegistry *reg, gint64 id, GError **error);

typedef gboolean (*SnpgEventFunc)(const SnpgEvent *event, gpointer user_data, GError **error);

typedef enum {
    SNPG_HISTORY_DEFAULT = 0,
    /* Leave measurement, TCB, chip id and boot id out (NULL, has_tcb
     * FALSE): what a table shows, read faster. */
    SNPG_HISTORY_SUMMARY = 1 << 0,
} SnpgHistoryFlags;

/* Calls func for the newest limit events (0: all) of the VM named vm (NULL:
 * every VM), oldest first. Events are passed without report bytes, valid
 * during the call only. func returning FALSE stops the walk with its error. */
gboolean snpg_registry_foreach_event(SnpgRegistry *reg, const char *vm, guint limit,
                                     SnpgHistoryFlags flags, SnpgEventFunc func,
                                     gpointer user_data, GError **error);
/* The same events collected: SnpgEvent *, oldest first. */
gboolean snpg_registry_history(SnpgRegistry *reg, const char *vm, guint limit,
                               GPtrArray **ret_events, GError **error);
/* The newest event with a verdict for the defined VM rec (matched by name
 * and UUID, so a VM defined again under an old name starts afresh); NULL
 * in *ret_event when there is none. */
gboolean snpg_registry_last_verdict(SnpgRegistry *reg, const SnpgVmRecord *rec,
                                    SnpgEvent **ret_event, GError **error);
