#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <sqlite3.h>

#include "hex.h"
#include "i18n.h"
#include "keystore.h"
#include "reference.h"
#include "registry-priv.h"
#include "registry.h"
#include "statedir.h"

G_DEFINE_QUARK(snpg-registry-error-quark, snpg_registry_error)

/* How long a writer waits for others (hook processes, the CLI) before it
 * gives up: far longer than any of our transactions, short enough that a
 * stuck process shows up as an error rather than a hung start. */
#define BUSY_TIMEOUT_MS 10000

struct _SnpgRegistry {
    sqlite3 *db;
    char *state_dir;
    char *path;
    GHashTable *stmts;          /* SQL text (static, by address) -> sqlite3_stmt */
};

/* ---- enum <-> string ---------------------------------------------------- */

static const char *const event_kind_names[SNPG_EVENT_LAST] = {
    [SNPG_EVENT_DEFINE] = "define",
    [SNPG_EVENT_START_REFUSED] = "start-refused",
    [SNPG_EVENT_ATTESTATION] = "attestation",
    [SNPG_EVENT_KEY_RELEASE] = "key-release",
    [SNPG_EVENT_FAILURE_ACTION] = "failure-action",
    [SNPG_EVENT_STOP] = "stop",
    [SNPG_EVENT_ERROR] = "error",
    [SNPG_EVENT_UNDEFINE] = "undefine",
    [SNPG_EVENT_START] = "start",
};

static const char *const verdict_names[SNPG_VERDICT_LAST] = {
    [SNPG_VERDICT_NONE] = NULL,
    [SNPG_VERDICT_ACCEPTED] = "accepted",
    [SNPG_VERDICT_REJECTED] = "rejected",
    [SNPG_VERDICT_REFUSED] = "refused",
    [SNPG_VERDICT_TIMEOUT] = "timeout",
    [SNPG_VERDICT_ERROR] = "error",
};

static const char *const workflow_names[] = { "encrypted", "integrity", "none", NULL };
static const char *const failure_action_names[] = { "destroy", "pause", "keep", NULL };

const char *
snpg_event_kind_to_string(SnpgEventKind kind)
{
    g_return_val_if_fail(kind < SNPG_EVENT_LAST, NULL);
    return event_kind_names[kind];
}

int
snpg_event_kind_from_string(const char *name)
{
    for (int i = 0; name && i < SNPG_EVENT_LAST; i++)
        if (g_str_equal(event_kind_names[i], name))
            return i;
    return -1;
}

const char *
snpg_verdict_to_string(SnpgVerdict verdict)
{
    g_return_val_if_fail(verdict < SNPG_VERDICT_LAST, NULL);
    return verdict_names[verdict];
}

int
snpg_verdict_from_string(const char *name)
{
    for (int i = SNPG_VERDICT_NONE + 1; name && i < SNPG_VERDICT_LAST; i++)
        if (g_str_equal(verdict_names[i], name))
            return i;
    return -1;
}

/* ---- events and VM records ---------------------------------------------- */

SnpgEvent *
snpg_event_new(SnpgEventKind kind, const char *vm)
{
    SnpgEvent *event = g_new0(SnpgEvent, 1);

    event->kind = kind;
    event->vm = g_strdup(vm);
    return event;
}

void
snpg_event_free(SnpgEvent *event)
{
    if (!event)
        return;
    g_free(event->vm);
    g_free(event->vm_uuid);
    g_strfreev(event->reasons);
    g_free(event->measurement);
    g_free(event->chip_id);
    g_clear_pointer(&event->report, g_bytes_unref);
    g_free(event->detail);
    g_free(event->boot_id);
    g_free(event);
}

static SnpgEvent *
event_copy(const SnpgEvent *src)
{
    SnpgEvent *event = g_new0(SnpgEvent, 1);

    *event = *src;
    event->vm = g_strdup(src->vm);
    event->vm_uuid = g_strdup(src->vm_uuid);
    event->reasons = g_strdupv(src->reasons);
    event->measurement = g_strdup(src->measurement);
    event->chip_id = g_strdup(src->chip_id);
    event->report = src->report ? g_bytes_ref(src->report) : NULL;
    event->detail = g_strdup(src->detail);
    event->boot_id = g_strdup(src->boot_id);
    return event;
}

void
snpg_event_set_verify_reasons(SnpgEvent *event, const SnpgVerifyResult *result)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new();

    for (guint i = 0; result->failures && i < result->failures->len; i++) {
        const SnpgVerifyFailure *f = g_ptr_array_index(result->failures, i);
        const char *name = snpg_verify_reason_to_string(f->reason);

        /* One name per reason, even when a check failed twice. */
        if (name && !g_ptr_array_find_with_equal_func(names, name, g_str_equal, NULL))
            g_ptr_array_add(names, (gpointer)name);
    }
    g_ptr_array_add(names, NULL);
    g_strfreev(event->reasons);
    event->reasons = g_strdupv((char **)names->pdata);
}

char *
snpg_event_format_time(gint64 time)
{
    time_t secs = (time_t)(time / G_USEC_PER_SEC);
    gint64 usec = time % G_USEC_PER_SEC;
    struct tm tm;

    if (usec < 0) {
        usec += G_USEC_PER_SEC;
        secs--;
    }
    if (!gmtime_r(&secs, &tm))
        return g_strdup("?");
    return g_strdup_printf("%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
                           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                           (int)usec);
}

static void
setting_free(gpointer p)
{
    SnpgVmSetting *s = p;

    g_free(s->key);
    g_free(s->value);
    g_free(s);
}

static void
input_free(gpointer p)
{
    SnpgVmInput *in = p;

    g_free(in->role);
    g_free(in->path);
    g_free(in->algorithm);
    g_free(in->digest);
    g_free(in);
}

SnpgVmRecord *
snpg_vm_record_new(const char *name)
{
    SnpgVmRecord *rec = g_new0(SnpgVmRecord, 1);

    rec->name = g_strdup(name);
    rec->settings = g_ptr_array_new_with_free_func(setting_free);
    rec->inputs = g_ptr_array_new_with_free_func(input_free);
    return rec;
}

void
snpg_vm_record_free(SnpgVmRecord *rec)
{
    if (!rec)
        return;
    g_free(rec->name);
    g_free(rec->uuid);
    g_free(rec->workflow);
    g_free(rec->expected_measurement);
    g_free(rec->reference);
    g_free(rec->verifier_mode);
    g_free(rec->failure_action);
    g_clear_pointer(&rec->settings, g_ptr_array_unref);
    g_clear_pointer(&rec->inputs, g_ptr_array_unref);
    g_free(rec->key_path);
    g_free(rec);
}

void
snpg_vm_record_set_setting(SnpgVmRecord *rec, const char *key, const char *value)
{
    SnpgVmSetting *s;

    for (guint i = 0; i < rec->settings->len; i++) {
        s = g_ptr_array_index(rec->settings, i);
        if (g_str_equal(s->key, key)) {
            g_free(s->value);
            s->value = g_strdup(value);
            return;
        }
    }
    s = g_new0(SnpgVmSetting, 1);
    s->key = g_strdup(key);
    s->value = g_strdup(value);
    g_ptr_array_add(rec->settings, s);
}

const char *
snpg_vm_record_get_setting(const SnpgVmRecord *rec, const char *key)
{
    for (guint i = 0; i < rec->settings->len; i++) {
        const SnpgVmSetting *s = g_ptr_array_index(rec->settings, i);
        if (g_str_equal(s->key, key))
            return s->value;
    }
    return NULL;
}

void
snpg_vm_record_add_input(SnpgVmRecord *rec, const char *role, const char *path,
                         const char *algorithm, const char *digest_hex)
{
    SnpgVmInput *in = g_new0(SnpgVmInput, 1);

    in->role = g_strdup(role);
    in->path = g_strdup(path);
    in->algorithm = g_strdup(algorithm);
    in->digest = g_strdup(digest_hex);
    g_ptr_array_add(rec->inputs, in);
}

void
snpg_vm_record_set_reference(SnpgVmRecord *rec, const SnpgVerifyOptions *opts)
{
    g_free(rec->reference);
    rec->reference = snpg_reference_to_data(opts, NULL);
}

gboolean
snpg_vm_record_load_reference(const SnpgVmRecord *rec, SnpgVerifyOptions *opts, GError **error)
{
    if (!rec->reference)
        return TRUE;
    return snpg_reference_load_data(rec->reference, strlen(rec->reference), opts, error);
}

/* ---- validation --------------------------------------------------------- */

static gboolean invalid(GError **error, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Sets SNPG_REGISTRY_ERROR_INVALID. Fields are named as in the schema and
 * the JSON output ('name', 'expected_measurement'), as hex.c names options. */
static gboolean
invalid(GError **error, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error_literal(error, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_INVALID, msg);
    return FALSE;
}

/* UTF-8 of 1..max bytes without control characters (they would reach
 * terminals through list and history). */
static gboolean
check_text(const char *field, const char *text, gsize max, gboolean optional, GError **error)
{
    gsize len;

    if (!text)
        return optional ? TRUE : invalid(error, _("The registry needs a value for '%s'"), field);
    len = strlen(text);
    if (len == 0 || len > max)
        return invalid(error, _("The registry field '%s' must be 1 to %zu bytes long"), field,
                       max);
    if (!g_utf8_validate(text, (gssize)len, NULL))
        return invalid(error, _("The registry field '%s' is not valid UTF-8"), field);
    for (const char *p = text; *p; p = g_utf8_next_char(p))
        if (g_unichar_iscntrl(g_utf8_get_char(p)))
            return invalid(error, _("The registry field '%s' contains a control character"),
                           field);
    return TRUE;
}

/* A stable name: [a-z0-9-], 1..max bytes. */
static gboolean
is_token(const char *text, gsize max)
{
    gsize len = text ? strlen(text) : 0;

    if (len == 0 || len > max)
        return FALSE;
    for (const char *p = text; *p; p++)
        if (!g_ascii_islower(*p) && !g_ascii_isdigit(*p) && *p != '-')
            return FALSE;
    return TRUE;
}

/* A setting key or input role: [A-Za-z0-9._-], 1..64 bytes. */
static gboolean
is_key(const char *text)
{
    gsize len = text ? strlen(text) : 0;

    if (len == 0 || len > 64)
        return FALSE;
    for (const char *p = text; *p; p++)
        if (!g_ascii_isalnum(*p) && *p != '.' && *p != '_' && *p != '-')
            return FALSE;
    return TRUE;
}

static gboolean
is_hex(const char *text, gsize want_len)
{
    if (!text || strlen(text) != want_len)
        return FALSE;
    for (const char *p = text; *p; p++)
        if (!g_ascii_isxdigit(*p))
            return FALSE;
    return TRUE;
}

static gboolean
is_one_of(const char *text, const char *const *names)
{
    return text && g_strv_contains(names, text);
}

/* A path relative to the state directory that stays inside it. */
static gboolean
is_inner_path(const char *path)
{
    g_auto(GStrv) parts = NULL;

    if (!path || !*path || g_path_is_absolute(path) || strlen(path) > SNPG_REGISTRY_TEXT_MAX)
        return FALSE;
    parts = g_strsplit(path, "/", -1);
    for (gsize i = 0; parts[i]; i++)
        if (!*parts[i] || g_str_equal(parts[i], ".") || g_str_equal(parts[i], ".."))
            return FALSE;
    return TRUE;
}

static gboolean
check_vm_name(const char *name, GError **error)
{
    return check_text("name", name, SNPG_REGISTRY_NAME_MAX, FALSE, error);
}

static gboolean
check_vm(const SnpgVmRecord *rec, GError **error)
{
    if (!check_vm_name(rec->name, error))
        return FALSE;
    if (!rec->uuid || !g_uuid_string_is_valid(rec->uuid))
        return invalid(error, _("The registry field '%s' must be an RFC 4122 UUID"), "uuid");
    if (!is_one_of(rec->workflow, workflow_names))
        return invalid(error, _("The workflow must be encrypted, integrity or none"));
    if (!is_hex(rec->expected_measurement, 96))
        return invalid(error, _("The registry field '%s' must be %d hex digits"),
                       "expected_measurement", 96);
    if (rec->reference && (strlen(rec->reference) > SNPG_REGISTRY_REFERENCE_MAX ||
                           !g_utf8_validate(rec->reference, -1, NULL)))
        return invalid(error, _("The reference values must be UTF-8 text of at most %d bytes"),
                       SNPG_REGISTRY_REFERENCE_MAX);
    if (rec->verifier_mode && !is_token(rec->verifier_mode, 64))
        return invalid(error, _("The verifier mode must be a name of [a-z0-9-]"));
    if (!is_one_of(rec->failure_action, failure_action_names))
        return invalid(error, _("The failure action must be destroy, pause or keep"));
    if (rec->settings->len > SNPG_REGISTRY_ITEMS_MAX || rec->inputs->len > SNPG_REGISTRY_ITEMS_MAX)
        return invalid(error, _("A VM has at most %d settings and %d inputs"),
                       SNPG_REGISTRY_ITEMS_MAX, SNPG_REGISTRY_ITEMS_MAX);
    for (guint i = 0; i < rec->settings->len; i++) {
        const SnpgVmSetting *s = g_ptr_array_index(rec->settings, i);

        if (!is_key(s->key))
            return invalid(error, _("A setting name must be 1 to 64 of [A-Za-z0-9._-]"));
        /* A value may be empty (an empty command line). */
        if (!s->value)
            return invalid(error, _("The registry needs a value for '%s'"), s->key);
        if (*s->value && !check_text(s->key, s->value, SNPG_REGISTRY_TEXT_MAX, FALSE, error))
            return FALSE;
    }
    for (guint i = 0; i < rec->inputs->len; i++) {
        const SnpgVmInput *in = g_ptr_array_index(rec->inputs, i);
        gsize want = 0;

        if (!is_key(in->role))
            return invalid(error, _("An input role must be 1 to 64 of [A-Za-z0-9._-]"));
        if (!check_text(in->role, in->path, SNPG_REGISTRY_TEXT_MAX, FALSE, error))
            return FALSE;
        if (g_strcmp0(in->algorithm, "sha256") == 0)
            want = 64;
        else if (g_strcmp0(in->algorithm, "sha384") == 0)
            want = 96;
        else if (g_strcmp0(in->algorithm, "sha512") == 0)
            want = 128;
        else
            return invalid(error, _("The digest of the input '%s' must be sha256, sha384 or "
                                    "sha512"), in->role);
        if (!is_hex(in->digest, want))
            return invalid(error, _("The digest of the input '%s' must be %zu hex digits"),
                           in->role, want);
    }
    if (rec->key_path && !is_inner_path(rec->key_path))
        return invalid(error, _("The key path must lie inside the state directory"));
    return TRUE;
}

static gboolean
check_event(const SnpgEvent *event, GError **error)
{
    if (event->kind >= SNPG_EVENT_LAST || event->verdict >= SNPG_VERDICT_LAST)
        return invalid(error, _("The event kind or verdict is unknown"));
    if (!check_vm_name(event->vm, error))
        return FALSE;
    if (event->vm_uuid && !g_uuid_string_is_valid(event->vm_uuid))
        return invalid(error, _("The registry field '%s' must be an RFC 4122 UUID"), "vm_uuid");
    if (event->reasons) {
        if (g_strv_length(event->reasons) > SNPG_REGISTRY_REASONS_MAX)
            return invalid(error, _("An event has at most %d reasons"),
                           SNPG_REGISTRY_REASONS_MAX);
        for (gsize i = 0; event->reasons[i]; i++)
            if (!is_token(event->reasons[i], SNPG_REGISTRY_REASON_LEN_MAX))
                return invalid(error, _("A reason must be a stable name of 1 to %d of [a-z0-9-]"),
                               SNPG_REGISTRY_REASON_LEN_MAX);
    }
    if (event->measurement && !is_hex(event->measurement, 96))
        return invalid(error, _("The registry field '%s' must be %d hex digits"), "measurement",
                       96);
    if (event->chip_id && !is_hex(event->chip_id, 128))
        return invalid(error, _("The registry field '%s' must be %d hex digits"), "chip_id", 128);
    if (event->report && (g_bytes_get_size(event->report) == 0 ||
                          g_bytes_get_size(event->report) > SNPG_REGISTRY_REPORT_MAX))
        return invalid(error, _("The report must be 1 to %d bytes"), SNPG_REGISTRY_REPORT_MAX);
    return check_text("boot_id", event->boot_id, 256, TRUE, error);
}

/* A detail may quote what a guest or a library said: it is recorded in any
 * case, made valid UTF-8, control characters replaced by spaces and cut to
 * SNPG_REGISTRY_TEXT_MAX bytes, rather than refused with the record. */
static char *
clean_detail(const char *detail)
{
    g_autofree char *valid = NULL;
    GString *out;

    if (!detail || !*detail)
        return NULL;
    valid = g_utf8_make_valid(detail, -1);
    out = g_string_sized_new(strlen(valid));
    for (const char *p = valid; *p; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        gsize n = (gsize)(g_utf8_next_char(p) - p);

        if (out->len + n > SNPG_REGISTRY_TEXT_MAX)
            break;
        if (g_unichar_iscntrl(c))
            g_string_append_c(out, ' ');
        else
            g_string_append_len(out, p, (gssize)n);
    }
    return g_string_free(out, FALSE);
}

/* ---- SQLite plumbing ---------------------------------------------------- */

static gboolean
db_error(SnpgRegistry *reg, sqlite3 *db, int rc, GError **error)
{
    int code = (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED
                   ? SNPG_REGISTRY_ERROR_BUSY
                   : SNPG_REGISTRY_ERROR_DB;

    /* Plain SQLITE_BUSY is the busy timeout running out. */
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
        g_set_error(error, SNPG_REGISTRY_ERROR, code,
                    _("The registry '%s' stayed locked by another process for %d seconds"),
                    reg ? reg->path : sqlite3_db_filename(db, "main"), BUSY_TIMEOUT_MS / 1000);
    else
        g_set_error(error, SNPG_REGISTRY_ERROR, code, _("Registry '%s': %s"),
                    reg ? reg->path : sqlite3_db_filename(db, "main"), sqlite3_errmsg(db));
    return FALSE;
}

static gboolean
exec_sql(sqlite3 *db, const char *sql, GError **error)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

    return rc == SQLITE_OK ? TRUE : db_error(NULL, db, rc, error);
}

/* A cached statement, reset and unbound when it goes out of scope, so that
 * no statement keeps a read snapshot open. */
typedef sqlite3_stmt *CachedStmt;

static void
cached_stmt_release(CachedStmt *stmt)
{
    if (*stmt) {
        sqlite3_reset(*stmt);
        sqlite3_clear_bindings(*stmt);
    }
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(CachedStmt, cached_stmt_release)

static void
stmt_finalize(gpointer stmt)
{
    sqlite3_finalize(stmt);
}

/* sql must be a string literal: the cache is keyed by its address. */
static sqlite3_stmt *
stmt_get(SnpgRegistry *reg, const char *sql, GError **error)
{
    sqlite3_stmt *stmt = g_hash_table_lookup(reg->stmts, sql);
    int rc;

    if (stmt)
        return stmt;
    rc = sqlite3_prepare_v3(reg->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
    if (rc != SQLITE_OK) {
        db_error(reg, reg->db, rc, error);
        return NULL;
    }
    g_hash_table_insert(reg->stmts, (gpointer)sql, stmt);
    return stmt;
}

static void
bind_text(sqlite3_stmt *stmt, int idx, const char *text)
{
    if (text)
        sqlite3_bind_text(stmt, idx, text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(stmt, idx);
}

/* Runs a statement that returns no rows. */
static gboolean
step_done(SnpgRegistry *reg, sqlite3_stmt *stmt, GError **error)
{
    int rc = sqlite3_step(stmt);

    return rc == SQLITE_DONE ? TRUE : db_error(reg, reg->db, rc, error);
}

static char *
column_strdup(sqlite3_stmt *stmt, int col)
{
    return g_strdup((const char *)sqlite3_column_text(stmt, col));
}

/* Writes run in a transaction of their own (BEGIN IMMEDIATE: the write lock
 * at once, so a deferred reader-turned-writer can never fail on a stale
 * snapshot), or inside the caller's under a savepoint, so that a failed
 * write leaves the caller's transaction as it was. */
typedef struct {
    SnpgRegistry *reg;
    gboolean own;
    gboolean active;
} WriteScope;

static gboolean
write_begin(SnpgRegistry *reg, WriteScope *scope, GError **error)
{
    int rc;

    scope->reg = reg;
    scope->own = sqlite3_get_autocommit(reg->db);
    rc = sqlite3_exec(reg->db, scope->own ? "BEGIN IMMEDIATE" : "SAVEPOINT snpg_write", NULL,
                      NULL, NULL);
    if (rc != SQLITE_OK)
        return db_error(reg, reg->db, rc, error);
    scope->active = TRUE;
    return TRUE;
}

static gboolean
write_end(WriteScope *scope, gboolean ok, GError **error)
{
    SnpgRegistry *reg = scope->reg;
    int rc;

    g_assert(scope->active);
    scope->active = FALSE;
    if (ok) {
        rc = sqlite3_exec(reg->db, scope->own ? "COMMIT" : "RELEASE snpg_write", NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            return TRUE;
        db_error(reg, reg->db, rc, error);
    }
    if (scope->own)
        sqlite3_exec(reg->db, "ROLLBACK", NULL, NULL, NULL);
    else
        sqlite3_exec(reg->db, "ROLLBACK TO snpg_write; RELEASE snpg_write", NULL, NULL, NULL);
    return FALSE;
}

/* Reads that take several statements see one snapshot. */
static gboolean
read_begin(SnpgRegistry *reg, gboolean *own, GError **error)
{
    *own = sqlite3_get_autocommit(reg->db);
    if (*own) {
        int rc = sqlite3_exec(reg->db, "BEGIN", NULL, NULL, NULL);
        if (rc != SQLITE_OK)
            return db_error(reg, reg->db, rc, error);
    }
    return TRUE;
}

static void
read_end(SnpgRegistry *reg, gboolean own)
{
    if (own)
        sqlite3_exec(reg->db, "COMMIT", NULL, NULL, NULL);
}

/* ---- schema ------------------------------------------------------------- */

/* Version 1. Events keep the VM's name and UUID as text (no foreign key):
 * history outlives the VM. Report bytes sit in a table of their own so that
 * reading history never pages through them (bench/history). Enumerations are checked in C,
 * not with CHECK constraints, so that adding an event kind needs no table
 * rebuild. Reasons are a comma-separated list of names ([a-z0-9-], checked
 * on insert), read without a JSON parser per row. */
static const char schema_v1[] =
    "CREATE TABLE vms ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  uuid TEXT NOT NULL UNIQUE,"
    "  workflow TEXT NOT NULL,"
    "  expected_measurement TEXT NOT NULL,"
    "  reference TEXT,"
    "  verifier_mode TEXT,"
    "  failure_action TEXT NOT NULL,"
    "  emulate INTEGER NOT NULL DEFAULT 0,"
    "  created INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL);"
    "CREATE TABLE vm_settings ("
    "  vm_id INTEGER NOT NULL REFERENCES vms(id) ON DELETE CASCADE,"
    "  position INTEGER NOT NULL,"
    "  key TEXT NOT NULL,"
    "  value TEXT NOT NULL,"
    "  PRIMARY KEY (vm_id, key));"
    "CREATE TABLE vm_inputs ("
    "  vm_id INTEGER NOT NULL REFERENCES vms(id) ON DELETE CASCADE,"
    "  position INTEGER NOT NULL,"
    "  role TEXT NOT NULL,"
    "  path TEXT NOT NULL,"
    "  algorithm TEXT NOT NULL,"
    "  digest TEXT NOT NULL,"
    "  PRIMARY KEY (vm_id, position));"
    "CREATE TABLE keys ("
    "  id INTEGER PRIMARY KEY,"
    "  vm_id INTEGER NOT NULL REFERENCES vms(id) ON DELETE CASCADE,"
    "  purpose TEXT NOT NULL,"
    "  path TEXT NOT NULL UNIQUE,"
    "  created INTEGER NOT NULL,"
    "  UNIQUE (vm_id, purpose));"
    /* Clustered by VM: one VM's history is one contiguous range, however
     * its events interleave with other VMs' in time. id orders all events
     * (assigned under the write lock: max + 1). Digests and chip ids are
     * stored as bytes (half the size of hex). */
    "CREATE TABLE events ("
    "  vm TEXT NOT NULL,"
    "  id INTEGER NOT NULL,"
    "  time INTEGER NOT NULL,"
    "  vm_uuid TEXT,"
    "  kind TEXT NOT NULL,"
    "  verdict TEXT,"
    "  reasons TEXT,"
    "  measurement BLOB,"
    "  tcb INTEGER,"
    "  chip_id BLOB,"
    "  detail TEXT,"
    "  boot_id TEXT,"
    "  PRIMARY KEY (vm, id)) WITHOUT ROWID;"
    "CREATE UNIQUE INDEX events_by_id ON events (id);"
    "CREATE TABLE event_reports ("
    "  event_id INTEGER PRIMARY KEY REFERENCES events(id) ON DELETE CASCADE,"
    "  report BLOB NOT NULL);";

const SnpgRegistryMigration snpg_registry_migrations[] = {
    { 1, schema_v1 },
};
const gsize snpg_registry_n_migrations = G_N_ELEMENTS(snpg_registry_migrations);

static gboolean
user_version(sqlite3 *db, int *ret, GError **error)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, NULL);

    if (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        *ret = sqlite3_column_int(stmt, 0);
        sqlite3_finalize(stmt);
        return TRUE;
    }
    sqlite3_finalize(stmt);
    return db_error(NULL, db, rc, error);
}

gboolean
snpg_registry_migrate(sqlite3 *db, const SnpgRegistryMigration *migrations, gsize n_migrations,
                      GError **error)
{
    int latest = n_migrations ? migrations[n_migrations - 1].version : 0;
    int version;

    if (!user_version(db, &version, error))
        return FALSE;
    if (version > latest) {
        g_set_error(error, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_VERSION,
                    _("The registry '%s' has schema version %d, newer than this snpguard "
                      "knows (%d): use a newer snpguard"),
                    sqlite3_db_filename(db, "main"), version, latest);
        return FALSE;
    }
    for (gsize i = 0; i < n_migrations; i++) {
        const SnpgRegistryMigration *m = &migrations[i];
        g_autofree char *bump = NULL;

        g_assert(m->version == (int)i + 1);
        if (m->version <= version)
            continue;
        if (!exec_sql(db, "BEGIN IMMEDIATE", error))
            return FALSE;
        /* Another process may have migrated while we waited for the lock. */
        if (!user_version(db, &version, error)) {
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return FALSE;
        }
        if (m->version <= version) {
            sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
            continue;
        }
        g_debug("registry: migrating schema %d -> %d", version, m->version);
        bump = g_strdup_printf("PRAGMA user_version = %d", m->version);
        if (!exec_sql(db, m->sql, error) || !exec_sql(db, bump, error) ||
            !exec_sql(db, "COMMIT", error)) {
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            g_prefix_error(error, _("Cannot bring the registry to schema version %d: "),
                           m->version);
            return FALSE;
        }
        version = m->version;
    }
    return TRUE;
}

/* ---- open / close ------------------------------------------------------- */

/* The database is created here, mode 0600, rather than by SQLite (which
 * would follow the umask); its -wal and -shm files take the same mode. */
static gboolean
create_private_file(const char *path, GError **error)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

    if (fd < 0) {
        int saved = errno;
        g_set_error(error, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_DB,
                    _("Cannot create the registry '%s': %s"), path, g_strerror(saved));
        return FALSE;
    }
    close(fd);
    return TRUE;
}

/* Switching to WAL needs a moment alone with the file; concurrent openers
 * of a new registry may see SQLITE_BUSY here even with the busy handler. */
static gboolean
enable_wal(SnpgRegistry *reg, GError **error)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)BUSY_TIMEOUT_MS * 1000;

    for (;;) {
        sqlite3_stmt *stmt = NULL;
        int rc = sqlite3_prepare_v2(reg->db, "PRAGMA journal_mode = WAL", -1, &stmt, NULL);

        if (rc == SQLITE_OK)
            rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW) {
            const char *mode = (const char *)sqlite3_column_text(stmt, 0);
            /* Some file systems cannot share memory maps: SQLite then keeps
             * a rollback journal, which is just as safe, only slower. */
            if (g_strcmp0(mode, "wal") != 0)
                g_debug("registry: journal mode '%s', not WAL", mode);
            sqlite3_finalize(stmt);
            return TRUE;
        }
        sqlite3_finalize(stmt);
        if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED)
            return db_error(reg, reg->db, rc, error);
        if (g_get_monotonic_time() > deadline)
            return db_error(reg, reg->db, rc, error);
        g_usleep(10000);
    }
}

SnpgRegistry *
snpg_registry_open(const char *state_dir, SnpgRegistryOpenFlags flags, GError **error)
{
    g_autoptr(SnpgRegistry) reg = NULL;
    gboolean create = (flags & SNPG_REGISTRY_OPEN_CREATE) != 0;
    g_autoptr(GError) local = NULL;
    int rc;

    g_return_val_if_fail(state_dir != NULL, NULL);

    if (!snpg_state_dir_ensure(state_dir, create, &local)) {
        if (g_error_matches(local, SNPG_STATE_DIR_ERROR, SNPG_STATE_DIR_ERROR_NOT_FOUND))
            g_set_error(error, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_NOT_FOUND, "%s",
                        local->message);
        else
            g_propagate_error(error, g_steal_pointer(&local));
        return NULL;
    }
    reg = g_new0(SnpgRegistry, 1);
    reg->state_dir = g_strdup(state_dir);
    reg->path = g_build_filename(state_dir, SNPG_REGISTRY_FILE, NULL);
    reg->stmts = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
                                       stmt_finalize);
    if (!g_file_test(reg->path, G_FILE_TEST_EXISTS)) {
        if (!create) {
            g_set_error(error, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_NOT_FOUND,
                        _("There is no registry in '%s' yet"), state_dir);
            return NULL;
        }
        if (!create_private_file(reg->path, error))
            return NULL;
    }
    /* One connection per thread (see registry.h): no mutex on every call. */
    rc = sqlite3_open_v2(reg->path, &reg->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        if (!reg->db) {
            g_set_error(error, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_DB,
                        _("Cannot open the registry '%s': %s"), reg->path, sqlite3_errstr(rc));
            return NULL;
        }
        db_error(reg, reg->db, rc, error);
        return NULL;
    }
    sqlite3_extended_result_codes(reg->db, 1);
    sqlite3_busy_timeout(reg->db, BUSY_TIMEOUT_MS);
    /* Reads through a memory map: a long history without a read() per page
     * (bench/history). The cost: an I/O error while reading the file comes
     * as SIGBUS instead of an error code; the file is ours alone, in a
     * private directory, and is never truncated under a reader (WAL). */
    if (!enable_wal(reg, error) ||
        !exec_sql(reg->db, "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;"
                  " PRAGMA mmap_size = 268435456", error) ||
        !snpg_registry_migrate(reg->db, snpg_registry_migrations, snpg_registry_n_migrations,
                               error))
        return NULL;
    return g_steal_pointer(&reg);
}

void
snpg_registry_close(SnpgRegistry *reg)
{
    if (!reg)
        return;
    /* Statements first: sqlite3_close refuses while any is alive. */
    g_clear_pointer(&reg->stmts, g_hash_table_unref);
    if (reg->db) {
        if (!sqlite3_get_autocommit(reg->db))
            sqlite3_exec(reg->db, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_close(reg->db);
    }
    g_free(reg->state_dir);
    g_free(reg->path);
    g_free(reg);
}

const char *
snpg_registry_state_dir(const SnpgRegistry *reg)
{
    return reg->state_dir;
}

sqlite3 *
snpg_registry_db(SnpgRegistry *reg)
{
    return reg->db;
}

/* ---- transactions ------------------------------------------------------- */

/* One transaction at a time: IMMEDIATE takes the write lock up front (no
 * deadlock between two writers upgrading), DEFERRED only reads. */
static gboolean
begin_with(SnpgRegistry *reg, const char *statement, GError **error)
{
    int rc;

    if (!sqlite3_get_autocommit(reg->db)) {
        g_set_error(error, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_TRANSACTION,
                    _("A registry transaction is already open"));
        return FALSE;
    }
    rc = sqlite3_exec(reg->db, statement, NULL, NULL, NULL);
    return rc == SQLITE_OK ? TRUE : db_error(reg, reg->db, rc, error);
}

gboolean
snpg_registry_begin(SnpgRegistry *reg, GError **error)
{
    return begin_with(reg, "BEGIN IMMEDIATE", error);
}

gboolean
snpg_registry_begin_read(SnpgRegistry *reg, GError **error)
{
    return begin_with(reg, "BEGIN DEFERRED", error);
}

gboolean
snpg_registry_commit(SnpgRegistry *reg, GError **error)
{
    int rc;

    if (sqlite3_get_autocommit(reg->db)) {
        g_set_error(error, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_TRANSACTION,
                    _("No registry transaction is open"));
        return FALSE;
    }
    rc = sqlite3_exec(reg->db, "COMMIT", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        return TRUE;
    db_error(reg, reg->db, rc, error);
    sqlite3_exec(reg->db, "ROLLBACK", NULL, NULL, NULL);
    return FALSE;
}

void
snpg_registry_rollback(SnpgRegistry *reg)
{
    if (!sqlite3_get_autocommit(reg->db))
        sqlite3_exec(reg->db, "ROLLBACK", NULL, NULL, NULL);
}

/* ---- events ------------------------------------------------------------- */

static char *
join_reasons(char **reasons)
{
    if (!reasons || !reasons[0])
        return NULL;
    return g_strjoinv(",", reasons);
}

/* Binds hex (validated by check_event) as bytes, or NULL. */
static void
bind_hex(sqlite3_stmt *stmt, int idx, const char *hex, guint8 *buf, gsize len)
{
    if (hex && snpg_hex_decode("hex", hex, buf, len, NULL))
        sqlite3_bind_blob(stmt, idx, buf, (int)len, SQLITE_STATIC);
    else
        sqlite3_bind_null(stmt, idx);
}

static gboolean
insert_event(SnpgRegistry *reg, SnpgEvent *event, GError **error)
{
    /* Under the write lock: no other writer can take the same id. */
    static const char sql_id[] = "SELECT COALESCE(MAX(id), 0) + 1 FROM events";
    static const char sql[] =
        "INSERT INTO events (id, time, vm, vm_uuid, kind, verdict, reasons, measurement, tcb,"
        " chip_id, detail, boot_id)"
        " VALUES (?12, ?1, ?2, COALESCE(?3, (SELECT uuid FROM vms WHERE name = ?2)), ?4, ?5,"
        " ?6, ?7, ?8, ?9, ?10, ?11)";
    static const char sql_report[] = "INSERT INTO event_reports (event_id, report) VALUES (?, ?)";
    g_auto(CachedStmt) stmt = NULL;
    g_autofree char *reasons = join_reasons(event->reasons);
    g_autofree char *uuid = event->vm_uuid ? g_ascii_strdown(event->vm_uuid, -1) : NULL;
    g_autofree char *detail = clean_detail(event->detail);
    gint64 time = event->time ? event->time : g_get_real_time();
    guint8 measurement[48], chip_id[64];
    gint64 id;
    int rc;

    {
        g_auto(CachedStmt) id_stmt = stmt_get(reg, sql_id, error);

        if (!id_stmt)
            return FALSE;
        rc = sqlite3_step(id_stmt);
        if (rc != SQLITE_ROW)
            return db_error(reg, reg->db, rc, error);
        id = sqlite3_column_int64(id_stmt, 0);
    }
    if (!(stmt = stmt_get(reg, sql, error)))
        return FALSE;
    sqlite3_bind_int64(stmt, 12, id);
    sqlite3_bind_int64(stmt, 1, time);
    bind_text(stmt, 2, event->vm);
    bind_text(stmt, 3, uuid);
    bind_text(stmt, 4, snpg_event_kind_to_string(event->kind));
    bind_text(stmt, 5, snpg_verdict_to_string(event->verdict));
    bind_text(stmt, 6, reasons);
    bind_hex(stmt, 7, event->measurement, measurement, sizeof(measurement));
    if (event->has_tcb)
        sqlite3_bind_int64(stmt, 8, (sqlite3_int64)event->tcb);  /* the bits, as signed */
    bind_hex(stmt, 9, event->chip_id, chip_id, sizeof(chip_id));
    bind_text(stmt, 10, detail);
    bind_text(stmt, 11, event->boot_id);
    if (!step_done(reg, stmt, error))
        return FALSE;
    event->id = id;
    event->time = time;
    if (event->report) {
        g_auto(CachedStmt) rstmt = NULL;
        gsize len;
        gconstpointer data = g_bytes_get_data(event->report, &len);

        if (!(rstmt = stmt_get(reg, sql_report, error)))
            return FALSE;
        sqlite3_bind_int64(rstmt, 1, event->id);
        sqlite3_bind_blob(rstmt, 2, data, (int)len, SQLITE_STATIC);
        if (!step_done(reg, rstmt, error))
            return FALSE;
    }
    return TRUE;
}

gboolean
snpg_registry_add_event(SnpgRegistry *reg, SnpgEvent *event, GError **error)
{
    WriteScope scope = { 0 };
    gint64 id, time;

    if (!check_event(event, error))
        return FALSE;
    id = event->id;
    time = event->time;
    if (!write_begin(reg, &scope, error))
        return FALSE;
    if (!write_end(&scope, insert_event(reg, event, error), error)) {
        /* Untouched on failure. */
        event->id = id;
        event->time = time;
        return FALSE;
    }
    return TRUE;
}

#define EVENT_COLUMNS \
    "id, time, vm, vm_uuid, kind, verdict, reasons, measurement, tcb, chip_id, detail, boot_id"

/* Lowercase hex of the bytes of a BLOB column into out (NULL column,
 * or not len bytes: NULL). */
static char *
column_hex(sqlite3_stmt *stmt, int col, gsize len, char *out)
{
    const guint8 *data = sqlite3_column_blob(stmt, col);
    size_t written = 0;

    if (!data || (gsize)sqlite3_column_bytes(stmt, col) != len ||
        !OPENSSL_buf2hexstr_ex(out, len * 2 + 1, &written, data, (long)len, '\0'))
        return NULL;
    /* OpenSSL writes uppercase; setting bit 5 lowercases A-F and leaves
     * the digits as they are (this runs for every row of a history). */
    for (char *p = out; *p; p++)
        *p |= 0x20;
    return out;
}

/* Where a row's hex fields are written while it is passed on. */
typedef struct {
    char measurement[48 * 2 + 1];
    char chip_id[64 * 2 + 1];
} RowBuffers;

/* Fills ev from a row of EVENT_COLUMNS with pointers into the row and buf
 * (valid until the next step) and a reasons vector the caller frees. */
static gboolean
event_from_row(SnpgRegistry *reg, sqlite3_stmt *stmt, SnpgEvent *ev, RowBuffers *buf,
               GError **error)
{
    const char *kind = (const char *)sqlite3_column_text(stmt, 4);
    const char *verdict = (const char *)sqlite3_column_text(stmt, 5);
    const char *reasons = (const char *)sqlite3_column_text(stmt, 6);
    int k = snpg_event_kind_from_string(kind);
    int v = verdict ? snpg_verdict_from_string(verdict) : SNPG_VERDICT_NONE;

    memset(ev, 0, sizeof(*ev));
    if (k < 0 || v < 0) {
        g_set_error(error, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_DB,
                    _("Registry '%s': event %" G_GINT64_FORMAT
                      " has an unknown kind or verdict ('%s', '%s')"),
                    reg->path, (gint64)sqlite3_column_int64(stmt, 0), kind ? kind : "",
                    verdict ? verdict : "");
        return FALSE;
    }
    ev->id = sqlite3_column_int64(stmt, 0);
    ev->time = sqlite3_column_int64(stmt, 1);
    ev->vm = (char *)sqlite3_column_text(stmt, 2);
    ev->vm_uuid = (char *)sqlite3_column_text(stmt, 3);
    ev->kind = (SnpgEventKind)k;
    ev->verdict = (SnpgVerdict)v;
    ev->reasons = reasons && *reasons ? g_strsplit(reasons, ",", SNPG_REGISTRY_REASONS_MAX + 1)
                                      : g_new0(char *, 1);
    ev->measurement = column_hex(stmt, 7, 48, buf->measurement);
    if (sqlite3_column_type(stmt, 8) != SQLITE_NULL) {
        ev->has_tcb = TRUE;
        ev->tcb = (guint64)sqlite3_column_int64(stmt, 8);
    }
    ev->chip_id = column_hex(stmt, 9, 64, buf->chip_id);
    ev->detail = (char *)sqlite3_column_text(stmt, 10);
    ev->boot_id = (char *)sqlite3_column_text(stmt, 11);
    return TRUE;
}

SnpgEvent *
snpg_registry_get_event(SnpgRegistry *reg, gint64 id, GError **error)
{
    static const char sql[] =
        "SELECT " EVENT_COLUMNS ", (SELECT report FROM event_reports WHERE event_id = id)"
        " FROM events WHERE id = ?";
    g_auto(CachedStmt) stmt = NULL;
    SnpgEvent row, *event;
    RowBuffers buf;
    int rc;

    if (!(stmt = stmt_get(reg, sql, error)))
        return NULL;
    sqlite3_bind_int64(stmt, 1, id);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) {
        g_set_error(error, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_NOT_FOUND,
                    _("There is no event %" G_GINT64_FORMAT " in the registry"), id);
        return NULL;
    }
    if (rc != SQLITE_ROW) {
        db_error(reg, reg->db, rc, error);
        return NULL;
    }
    if (!event_from_row(reg, stmt, &row, &buf, error))
        return NULL;
    event = event_copy(&row);
    g_strfreev(row.reasons);
    if (sqlite3_column_type(stmt, 12) == SQLITE_BLOB)
        event->report = g_bytes_new(sqlite3_column_blob(stmt, 12),
                                    (gsize)sqlite3_column_bytes(stmt, 12));
    return event;
}

/* The columns a summary leaves out (measurement, TCB, chip id, boot id)
 * are selected as NULL: a table of 100,000 events need not decode them. */
#define EVENT_SUMMARY_COLUMNS \
    "id, time, vm, vm_uuid, kind, verdict, reasons, NULL, NULL, NULL, detail, NULL"

/* One VM or all, all events or the newest `limit`: the newest come from a
 * descending walk, then go back into time order. */
#define HISTORY_SQL(columns) \
    { "SELECT " columns " FROM events ORDER BY id", \
      "SELECT * FROM (SELECT " columns " FROM events ORDER BY id DESC LIMIT ?2) ORDER BY id", \
      "SELECT " columns " FROM events WHERE vm = ?1 ORDER BY id", \
      "SELECT * FROM (SELECT " columns " FROM events WHERE vm = ?1 ORDER BY id DESC" \
      " LIMIT ?2) ORDER BY id" }

static const char *const history_sql[2][4] = {
    HISTORY_SQL(EVENT_COLUMNS),
    HISTORY_SQL(EVENT_SUMMARY_COLUMNS),
};

gboolean
snpg_registry_foreach_event(SnpgRegistry *reg, const char *vm, guint limit,
                            SnpgHistoryFlags flags, SnpgEventFunc func, gpointer user_data,
                            GError **error)
{
    const char *sql = history_sql[(flags & SNPG_HISTORY_SUMMARY) ? 1 : 0]
                                 [(vm ? 2 : 0) + (limit ? 1 : 0)];
    g_auto(CachedStmt) stmt = NULL;
    int rc;

    if (!(stmt = stmt_get(reg, sql, error)))
        return FALSE;
    if (vm)
        bind_text(stmt, 1, vm);
    if (limit)
        sqlite3_bind_int64(stmt, 2, limit);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        SnpgEvent row;
        RowBuffers buf;
        gboolean ok;

        if (!event_from_row(reg, stmt, &row, &buf, error))
            return FALSE;
        ok = func(&row, user_data, error);
        g_strfreev(row.reasons);
        if (!ok)
            return FALSE;
    }
    return rc == SQLITE_DONE ? TRUE : db_error(reg, reg->db, rc, error);
}

static gboolean
collect_event(const SnpgEvent *event, gpointer user_data, GError **error)
{
    g_ptr_array_add(user_data, event_copy(event));
    return TRUE;
}

gboolean
snpg_registry_history(SnpgRegistry *reg, const char *vm, guint limit, GPtrArray **ret_events,
                      GError **error)
{
    g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func((GDestroyNotify)snpg_event_free);

    if (!snpg_registry_foreach_event(reg, vm, limit, SNPG_HISTORY_DEFAULT, collect_event, events,
                                     error))
        return FALSE;
    *ret_events = g_steal_pointer(&events);
    return TRUE;
}

gboolean
snpg_registry_last_verdict(SnpgRegistry *reg, const SnpgVmRecord *rec, SnpgEvent **ret_event,
                           GError **error)
{
    static const char sql[] =
        "SELECT " EVENT_COLUMNS " FROM events WHERE vm = ?1 AND vm_uuid = ?2"
        " AND verdict IS NOT NULL ORDER BY id DESC LIMIT 1";
    g_auto(CachedStmt) stmt = NULL;
    g_autofree char *uuid = g_ascii_strdown(rec->uuid ? rec->uuid : "", -1);
    SnpgEvent row;
    RowBuffers buf;
    int rc;

    if (!(stmt = stmt_get(reg, sql, error)))
        return FALSE;
    bind_text(stmt, 1, rec->name);
    bind_text(stmt, 2, uuid);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) {
        *ret_event = NULL;
        return TRUE;
    }
    if (rc != SQLITE_ROW)
        return db_error(reg, reg->db, rc, error);
    if (!event_from_row(reg, stmt, &row, &buf, error))
        return FALSE;
    *ret_event = event_copy(&row);
    g_strfreev(row.reasons);
    return TRUE;
}

/* ---- VMs ---------------------------------------------------------------- */

static gboolean
insert_vm_items(SnpgRegistry *reg, gint64 vm_id, const SnpgVmRecord *rec, gint64 now,
                GError **error)
{
    static const char sql_setting[] =
        "INSERT INTO vm_settings (vm_id, position, key, value) VALUES (?, ?, ?, ?)";
    static const char sql_input[] =
        "INSERT INTO vm_inputs (vm_id, position, role, path, algorithm, digest)"
        " VALUES (?, ?, ?, ?, ?, ?)";
    static const char sql_key[] =
        "INSERT INTO keys (vm_id, purpose, path, created) VALUES (?, 'disk', ?, ?)";

    for (guint i = 0; i < rec->settings->len; i++) {
        const SnpgVmSetting *s = g_ptr_array_index(rec->settings, i);
        g_auto(CachedStmt) stmt = stmt_get(reg, sql_setting, error);

        if (!stmt)
            return FALSE;
        sqlite3_bind_int64(stmt, 1, vm_id);
        sqlite3_bind_int(stmt, 2, (int)i);
        bind_text(stmt, 3, s->key);
        bind_text(stmt, 4, s->value);
        if (!step_done(reg, stmt, error))
            return FALSE;
    }
    for (guint i = 0; i < rec->inputs->len; i++) {
        const SnpgVmInput *in = g_ptr_array_index(rec->inputs, i);
        g_auto(CachedStmt) stmt = stmt_get(reg, sql_input, error);
        g_autofree char *digest = g_ascii_strdown(in->digest, -1);

        if (!stmt)
            return FALSE;
        sqlite3_bind_int64(stmt, 1, vm_id);
        sqlite3_bind_int(stmt, 2, (int)i);
        bind_text(stmt, 3, in->role);
        bind_text(stmt, 4, in->path);
        bind_text(stmt, 5, in->algorithm);
        bind_text(stmt, 6, digest);
        if (!step_done(reg, stmt, error))
            return FALSE;
    }
    if (rec->key_path) {
        g_auto(CachedStmt) stmt = stmt_get(reg, sql_key, error);
        int rc;

        if (!stmt)
            return FALSE;
        sqlite3_bind_int64(stmt, 1, vm_id);
        bind_text(stmt, 2, rec->key_path);
        sqlite3_bind_int64(stmt, 3, now);
        rc = sqlite3_step(stmt);
        if (rc == SQLITE_CONSTRAINT_UNIQUE) {
            g_set_error(error, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_EXISTS,
                        _("The key file '%s' already belongs to another VM"), rec->key_path);
            return FALSE;
        }
        if (rc != SQLITE_DONE)
            return db_error(reg, reg->db, rc, error);
    }
    return TRUE;
}

/* The row id of the VM with that name or UUID (0: none), and its name. */
static gboolean
find_vm(SnpgRegistry *reg, const char *name, const char *uuid, gint64 *ret_id,
        char **ret_name, GError **error)
{
    static const char sql[] = "SELECT id, name FROM vms WHERE name = ?1 OR uuid = ?2";
    g_auto(CachedStmt) stmt = stmt_get(reg, sql, error);
    int rc;

    if (!stmt)
        return FALSE;
    bind_text(stmt, 1, name);
    bind_text(stmt, 2, uuid);
    rc = sqlite3_step(stmt);
    *ret_id = 0;
    if (rc == SQLITE_ROW) {
        *ret_id = sqlite3_column_int64(stmt, 0);
        if (ret_name)
            *ret_name = column_strdup(stmt, 1);
        return TRUE;
    }
    return rc == SQLITE_DONE ? TRUE : db_error(reg, reg->db, rc, error);
}

static gboolean
add_vm_locked(SnpgRegistry *reg, SnpgVmRecord *rec, const char *uuid, const char *measurement,
              gint64 now, GError **error)
{
    static const char sql[] =
        "INSERT INTO vms (name, uuid, workflow, expected_measurement, reference, verifier_mode,"
        " failure_action, emulate, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    g_autoptr(SnpgEvent) define = NULL;
    g_autofree char *holder = NULL;
    gint64 existing, vm_id;

    /* Checked under the write lock: no other writer can slip in between. */
    if (!find_vm(reg, rec->name, uuid, &existing, &holder, error))
        return FALSE;
    if (existing) {
        if (g_str_equal(holder, rec->name))
            g_set_error(error, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_EXISTS,
                        _("A VM named '%s' is already defined"), rec->name);
        else
            g_set_error(error, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_EXISTS,
                        _("The UUID %s already belongs to the VM '%s'"), uuid, holder);
        return FALSE;
    }
    {
        g_auto(CachedStmt) stmt = stmt_get(reg, sql, error);

        if (!stmt)
            return FALSE;
        bind_text(stmt, 1, rec->name);
        bind_text(stmt, 2, uuid);
        bind_text(stmt, 3, rec->workflow);
        bind_text(stmt, 4, measurement);
        bind_text(stmt, 5, rec->reference);
        bind_text(stmt, 6, rec->verifier_mode);
        bind_text(stmt, 7, rec->failure_action);
        sqlite3_bind_int(stmt, 8, rec->emulate ? 1 : 0);
        sqlite3_bind_int64(stmt, 9, now);
        sqlite3_bind_int64(stmt, 10, now);
        if (!step_done(reg, stmt, error))
            return FALSE;
        vm_id = sqlite3_last_insert_rowid(reg->db);
    }
    if (!insert_vm_items(reg, vm_id, rec, now, error))
        return FALSE;
    define = snpg_event_new(SNPG_EVENT_DEFINE, rec->name);
    define->time = now;
    define->vm_uuid = g_strdup(uuid);
    define->measurement = g_strdup(measurement);
    if (!insert_event(reg, define, error))
        return FALSE;
    rec->id = vm_id;
    return TRUE;
}

gboolean
snpg_registry_add_vm(SnpgRegistry *reg, SnpgVmRecord *rec, GError **error)
{
    g_autofree char *uuid = NULL, *measurement = NULL;
    WriteScope scope = { 0 };
    gint64 now = g_get_real_time();

    if (!check_vm(rec, error))
        return FALSE;
    uuid = g_ascii_strdown(rec->uuid, -1);
    measurement = g_ascii_strdown(rec->expected_measurement, -1);
    if (!write_begin(reg, &scope, error))
        return FALSE;
    if (!write_end(&scope, add_vm_locked(reg, rec, uuid, measurement, now, error), error)) {
        rec->id = 0;
        return FALSE;
    }
    rec->created = rec->updated = now;
    return TRUE;
}

static gboolean
update_vm_locked(SnpgRegistry *reg, SnpgVmRecord *rec, const char *uuid, const char *measurement,
                 gint64 now, GError **error)
{
    static const char sql_find[] = "SELECT id, created FROM vms WHERE name = ?";
    static const char sql[] =
        "UPDATE vms SET uuid = ?2, workflow = ?3, expected_measurement = ?4, reference = ?5,"
        " verifier_mode = ?6, failure_action = ?7, emulate = ?8, updated = ?9 WHERE id = ?1";
    /* The items are replaced as a whole. */
    static const char *const sql_clear[] = {
        "DELETE FROM vm_settings WHERE vm_id = ?",
        "DELETE FROM vm_inputs WHERE vm_id = ?",
        "DELETE FROM keys WHERE vm_id = ?",
    };
    gint64 vm_id, created;
    int rc;

    {
        g_auto(CachedStmt) stmt = stmt_get(reg, sql_find, error);

        if (!stmt)
            return FALSE;
        bind_text(stmt, 1, rec->name);
        rc = sqlite3_step(stmt);
        if (rc == SQLITE_DONE) {
            g_set_error(error, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_NOT_FOUND,
                        _("No VM named '%s' is defined"), rec->name);
            return FALSE;
        }
        if (rc != SQLITE_ROW)
            return db_error(reg, reg->db, rc, error);
        vm_id = sqlite3_column_int64(stmt, 0);
        created = sqlite3_column_int64(stmt, 1);
    }
    {
        g_auto(CachedStmt) stmt = stmt_get(reg, sql, error);

        if (!stmt)
            return FALSE;
        sqlite3_bind_int64(stmt, 1, vm_id);
        bind_text(stmt, 2, uuid);
        bind_text(stmt, 3, rec->workflow);
        bind_text(stmt, 4, measurement);
        bind_text(stmt, 5, rec->reference);
        bind_text(stmt, 6, rec->verifier_mode);
        bind_text(stmt, 7, rec->failure_action);
        sqlite3_bind_int(stmt, 8, rec->emulate ? 1 : 0);
        sqlite3_bind_int64(stmt, 9, now);
        rc = sqlite3_step(stmt);
        if (rc == SQLITE_CONSTRAINT_UNIQUE) {
            g_set_error(error, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_EXISTS,
                        _("The UUID %s already belongs to another VM"), uuid);
            return FALSE;
        }
        if (rc != SQLITE_DONE)
            return db_error(reg, reg->db, rc, error);
    }
    for (gsize i = 0; i < G_N_ELEMENTS(sql_clear); i++) {
        g_auto(CachedStmt) stmt = stmt_get(reg, sql_clear[i], error);

        if (!stmt)
            return FALSE;
        sqlite3_bind_int64(stmt, 1, vm_id);
        if (!step_done(reg, stmt, error))
            return FALSE;
    }
    if (!insert_vm_items(reg, vm_id, rec, now, error))
        return FALSE;
    rec->id = vm_id;
    rec->created = created;
    return TRUE;
}

gboolean
snpg_registry_update_vm(SnpgRegistry *reg, SnpgVmRecord *rec, GError **error)
{
    g_autofree char *uuid = NULL, *measurement = NULL;
    WriteScope scope = { 0 };
    gint64 now = g_get_real_time();

    if (!check_vm(rec, error))
        return FALSE;
    uuid = g_ascii_strdown(rec->uuid, -1);
    measurement = g_ascii_strdown(rec->expected_measurement, -1);
    if (!write_begin(reg, &scope, error))
        return FALSE;
    if (!write_end(&scope, update_vm_locked(reg, rec, uuid, measurement, now, error), error))
        return FALSE;
    rec->updated = now;
    return TRUE;
}

static SnpgVmRecord *
get_vm_locked(SnpgRegistry *reg, const char *name, GError **error)
{
    static const char sql[] =
        "SELECT id, name, uuid, workflow, expected_measurement, reference, verifier_mode,"
        " failure_action, emulate, created, updated FROM vms WHERE name = ?";
    static const char sql_settings[] =
        "SELECT key, value FROM vm_settings WHERE vm_id = ? ORDER BY position";
    static const char sql_inputs[] =
        "SELECT role, path, algorithm, digest FROM vm_inputs WHERE vm_id = ? ORDER BY position";
    static const char sql_key[] = "SELECT path FROM keys WHERE vm_id = ? AND purpose = 'disk'";
    g_autoptr(SnpgVmRecord) rec = NULL;
    int rc;

    {
        g_auto(CachedStmt) stmt = stmt_get(reg, sql, error);

        if (!stmt)
            return NULL;
        bind_text(stmt, 1, name);
        rc = sqlite3_step(stmt);
        if (rc == SQLITE_DONE) {
            g_set_error(error, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_NOT_FOUND,
                        _("No VM named '%s' is defined"), name);
            return NULL;
        }
        if (rc != SQLITE_ROW) {
            db_error(reg, reg->db, rc, error);
            return NULL;
        }
        rec = snpg_vm_record_new((const char *)sqlite3_column_text(stmt, 1));
        rec->id = sqlite3_column_int64(stmt, 0);
        rec->uuid = column_strdup(stmt, 2);
        rec->workflow = column_strdup(stmt, 3);
        rec->expected_measurement = column_strdup(stmt, 4);
        rec->reference = column_strdup(stmt, 5);
        rec->verifier_mode = column_strdup(stmt, 6);
        rec->failure_action = column_strdup(stmt, 7);
        rec->emulate = sqlite3_column_int(stmt, 8) != 0;
        rec->created = sqlite3_column_int64(stmt, 9);
        rec->updated = sqlite3_column_int64(stmt, 10);
    }
    {
        g_auto(CachedStmt) stmt = stmt_get(reg, sql_settings, error);

        if (!stmt)
            return NULL;
        sqlite3_bind_int64(stmt, 1, rec->id);
        while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
            snpg_vm_record_set_setting(rec, (const char *)sqlite3_column_text(stmt, 0),
                                       (const char *)sqlite3_column_text(stmt, 1));
        if (rc != SQLITE_DONE) {
            db_error(reg, reg->db, rc, error);
            return NULL;
        }
    }
    {
        g_auto(CachedStmt) stmt = stmt_get(reg, sql_inputs, error);

        if (!stmt)
            return NULL;
        sqlite3_bind_int64(stmt, 1, rec->id);
        while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
            snpg_vm_record_add_input(rec, (const char *)sqlite3_column_text(stmt, 0),
                                     (const char *)sqlite3_column_text(stmt, 1),
                                     (const char *)sqlite3_column_text(stmt, 2),
                                     (const char *)sqlite3_column_text(stmt, 3));
        if (rc != SQLITE_DONE) {
            db_error(reg, reg->db, rc, error);
            return NULL;
        }
    }
    {
        g_auto(CachedStmt) stmt = stmt_get(reg, sql_key, error);

        if (!stmt)
            return NULL;
        sqlite3_bind_int64(stmt, 1, rec->id);
        rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW)
            rec->key_path = column_strdup(stmt, 0);
        else if (rc != SQLITE_DONE) {
            db_error(reg, reg->db, rc, error);
            return NULL;
        }
    }
    return g_steal_pointer(&rec);
}

SnpgVmRecord *
snpg_registry_get_vm(SnpgRegistry *reg, const char *name, GError **error)
{
    SnpgVmRecord *rec;
    gboolean own;

    if (!read_begin(reg, &own, error))
        return NULL;
    rec = get_vm_locked(reg, name, error);
    read_end(reg, own);
    return rec;
}

GPtrArray *
snpg_registry_list_vms(SnpgRegistry *reg, GError **error)
{
    static const char sql[] = "SELECT name FROM vms ORDER BY name";
    g_autoptr(GPtrArray) vms = g_ptr_array_new_with_free_func((GDestroyNotify)snpg_vm_record_free);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    gboolean own, ok = TRUE;
    int rc;

    if (!read_begin(reg, &own, error))
        return NULL;
    {
        g_auto(CachedStmt) stmt = stmt_get(reg, sql, error);

        if (!stmt) {
            read_end(reg, own);
            return NULL;
        }
        while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
            g_ptr_array_add(names, column_strdup(stmt, 0));
        if (rc != SQLITE_DONE)
            ok = db_error(reg, reg->db, rc, error);
    }
    for (guint i = 0; ok && i < names->len; i++) {
        SnpgVmRecord *rec = get_vm_locked(reg, g_ptr_array_index(names, i), error);

        if (!rec)
            ok = FALSE;
        else
            g_ptr_array_add(vms, rec);
    }
    read_end(reg, own);
    return ok ? g_steal_pointer(&vms) : NULL;
}

static gboolean
remove_vm_locked(SnpgRegistry *reg, const char *name, char **ret_key_path, GError **error)
{
    static const char sql_find[] =
        "SELECT id, uuid, (SELECT path FROM keys WHERE vm_id = vms.id AND purpose = 'disk')"
        " FROM vms WHERE name = ?";
    static const char sql_delete[] = "DELETE FROM vms WHERE id = ?";
    g_autoptr(SnpgEvent) undefine = NULL;
    g_autofree char *uuid = NULL, *key_path = NULL;
    gint64 vm_id;
    int rc;

    {
        g_auto(CachedStmt) stmt = stmt_get(reg, sql_find, error);

        if (!stmt)
            return FALSE;
        bind_text(stmt, 1, name);
        rc = sqlite3_step(stmt);
        if (rc == SQLITE_DONE) {
            g_set_error(error, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_NOT_FOUND,
                        _("No VM named '%s' is defined"), name);
            return FALSE;
        }
        if (rc != SQLITE_ROW)
            return db_error(reg, reg->db, rc, error);
        vm_id = sqlite3_column_int64(stmt, 0);
        uuid = column_strdup(stmt, 1);
        key_path = column_strdup(stmt, 2);
    }
    {
        /* Settings, inputs and the key reference go with it (ON DELETE CASCADE). */
        g_auto(CachedStmt) stmt = stmt_get(reg, sql_delete, error);

        if (!stmt)
            return FALSE;
        sqlite3_bind_int64(stmt, 1, vm_id);
        if (!step_done(reg, stmt, error))
            return FALSE;
    }
    undefine = snpg_event_new(SNPG_EVENT_UNDEFINE, name);
    undefine->vm_uuid = g_steal_pointer(&uuid);
    if (!insert_event(reg, undefine, error))
        return FALSE;
    if (ret_key_path)
        *ret_key_path = g_steal_pointer(&key_path);
    return TRUE;
}

gboolean
snpg_registry_remove_vm(SnpgRegistry *reg, const char *name, char **ret_key_path,
                        GError **error)
{
    WriteScope scope = { 0 };
    g_autofree char *key_path = NULL;

    if (!check_vm_name(name, error))
        return FALSE;
    if (!write_begin(reg, &scope, error))
        return FALSE;
    if (!write_end(&scope, remove_vm_locked(reg, name, &key_path, error), error))
        return FALSE;
    if (ret_key_path)
        *ret_key_path = g_steal_pointer(&key_path);
    return TRUE;
}

static gboolean
key_is_referred_to(SnpgRegistry *reg, const char *path, gboolean *ret, GError **error)
{
    static const char sql[] = "SELECT 1 FROM keys WHERE path = ?";
    g_auto(CachedStmt) stmt = stmt_get(reg, sql, error);
    int rc;

    if (!stmt)
        return FALSE;
    bind_text(stmt, 1, path);
    rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_error(reg, reg->db, rc, error);
    *ret = rc == SQLITE_ROW;
    return TRUE;
}

gboolean
snpg_registry_remove_orphan_keys(SnpgRegistry *reg, guint min_age, guint *ret_removed,
                                 GError **error)
{
    g_autofree char *dir_path = g_build_filename(reg->state_dir, SNPG_KEYSTORE_DIR, NULL);
    g_autoptr(GDir) dir = g_dir_open(dir_path, 0, NULL);
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    const char *name;
    guint removed = 0;

    /* No key directory: no keys. */
    while (dir && (name = g_dir_read_name(dir))) {
        g_autofree char *uuid = g_str_has_suffix(name, ".key")
                                    ? g_strndup(name, strlen(name) - strlen(".key"))
                                    : NULL;
        g_autofree char *path = uuid ? snpg_keystore_path_for(uuid) : NULL;
        g_autofree char *file = NULL;
        gboolean referred = FALSE;
        struct stat st;

        /* Only names this store makes (temporary files are left alone). */
        if (!path || !g_str_equal(path + strlen(SNPG_KEYSTORE_DIR "/"), name))
            continue;
        file = g_build_filename(reg->state_dir, path, NULL);
        if (lstat(file, &st) < 0 || now - (gint64)st.st_mtime < (gint64)min_age)
            continue;
        if (!key_is_referred_to(reg, path, &referred, error))
            return FALSE;
        if (referred)
            continue;
        g_debug("registry: removing the orphan key file %s", path);
        if (!snpg_keystore_delete(reg->state_dir, path, error))
            return FALSE;
        removed++;
    }
    if (ret_removed)
        *ret_removed = removed;
    return TRUE;
}
