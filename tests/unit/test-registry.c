/* The registry, the key store and the state directory with a real SQLite:
 * records, atomic writes (duplicates, failures, a writer killed with
 * SIGKILL), concurrent writer processes, schema migrations, file modes, no
 * key bytes in the database; and 'snpguard history' / 'snpguard list'. */
#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <utime.h>
#include <unistd.h>

#include <json-glib/json-glib.h>
#include <sqlite3.h>

#include "keystore.h"
#include "registry-priv.h"
#include "registry.h"
#include "statedir.h"
#include "testutil.h"

#define MEASUREMENT_A "aa0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f" \
                      "202122232425262728292a2b2c2d2e2f"
#define MEASUREMENT_B "bb0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f" \
                      "202122232425262728292a2b2c2d2e2f"
#define UUID_A "6f1c5a8e-1f6b-4c3e-9a51-0c2f9f1d7a01"
#define UUID_B "6f1c5a8e-1f6b-4c3e-9a51-0c2f9f1d7a02"
#define UUID_C "6f1c5a8e-1f6b-4c3e-9a51-0c2f9f1d7a03"

/* A fresh state directory (not yet created) in a temporary directory. */
static char *
new_state_dir(void)
{
    g_autofree char *tmp = snpg_test_tmpdir();

    return g_build_filename(tmp, "state", NULL);
}

static SnpgRegistry *
open_registry(const char *state_dir)
{
    g_autoptr(GError) error = NULL;
    SnpgRegistry *reg = snpg_registry_open(state_dir, SNPG_REGISTRY_OPEN_CREATE, &error);

    g_assert_no_error(error);
    g_assert_nonnull(reg);
    return reg;
}

static SnpgVmRecord *
make_vm(const char *name, const char *uuid, const char *measurement)
{
    SnpgVmRecord *rec = snpg_vm_record_new(name);

    rec->uuid = g_strdup(uuid);
    rec->workflow = g_strdup("encrypted");
    rec->expected_measurement = g_strdup(measurement);
    rec->failure_action = g_strdup("destroy");
    rec->verifier_mode = g_strdup("local");
    snpg_vm_record_set_setting(rec, "vcpus", "4");
    snpg_vm_record_set_setting(rec, "cmdline", "console=ttyS0 snpguard.verifier=00");
    snpg_vm_record_set_setting(rec, "append", "");
    snpg_vm_record_add_input(rec, "firmware", "/usr/share/ovmf/OVMF.amdsev.fd", "sha384",
                             MEASUREMENT_A);
    snpg_vm_record_add_input(rec, "kernel", "/var/lib/images/vmlinuz", "sha256",
                             "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
    return rec;
}

/* One integer from a query. */
static gint64
query_int(SnpgRegistry *reg, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    gint64 v;

    g_assert_cmpint(sqlite3_prepare_v2(snpg_registry_db(reg), sql, -1, &stmt, NULL), ==,
                    SQLITE_OK);
    g_assert_cmpint(sqlite3_step(stmt), ==, SQLITE_ROW);
    v = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return v;
}

static gint64
count_rows(SnpgRegistry *reg, const char *table)
{
    g_autofree char *sql = g_strdup_printf("SELECT count(*) FROM %s", table);

    return query_int(reg, sql);
}

static void
assert_integrity(SnpgRegistry *reg)
{
    sqlite3_stmt *stmt = NULL;

    g_assert_cmpint(sqlite3_prepare_v2(snpg_registry_db(reg), "PRAGMA integrity_check", -1, &stmt,
                                       NULL), ==, SQLITE_OK);
    g_assert_cmpint(sqlite3_step(stmt), ==, SQLITE_ROW);
    g_assert_cmpstr((const char *)sqlite3_column_text(stmt, 0), ==, "ok");
    sqlite3_finalize(stmt);
}

static guint
file_mode(const char *path)
{
    struct stat st;

    g_assert_cmpint(stat(path, &st), ==, 0);
    return st.st_mode & 07777;
}

/* ---- state directory ---------------------------------------------------- */

static void
test_state_dir_resolve(void)
{
    g_autofree char *cwd = g_get_current_dir();
    g_autofree char *rel = g_build_filename(cwd, "rel", "dir", NULL);
    char *dir;

    g_unsetenv(SNPG_STATE_DIR_ENV);
    dir = snpg_state_dir_resolve(NULL);
    g_assert_cmpstr(dir, ==, "/var/lib/snpguard");
    g_free(dir);
    g_setenv(SNPG_STATE_DIR_ENV, "/srv/snpg", TRUE);
    dir = snpg_state_dir_resolve(NULL);
    g_assert_cmpstr(dir, ==, "/srv/snpg");
    g_free(dir);
    /* The option wins over the environment; relative paths become absolute. */
    dir = snpg_state_dir_resolve("rel/dir/");
    g_assert_cmpstr(dir, ==, rel);
    g_free(dir);
    g_setenv(SNPG_STATE_DIR_ENV, "", TRUE);
    dir = snpg_state_dir_resolve(NULL);
    g_assert_cmpstr(dir, ==, "/var/lib/snpguard");
    g_free(dir);
    g_unsetenv(SNPG_STATE_DIR_ENV);
}

static void
test_state_dir_modes(void)
{
    g_autofree char *tmp = snpg_test_tmpdir();
    g_autofree char *state = g_build_filename(tmp, "a", "state", NULL);
    g_autofree char *open_dir = g_build_filename(tmp, "open", NULL);
    g_autofree char *file = snpg_test_write(tmp, "file", "x", 1);
    g_autofree char *db = g_build_filename(state, SNPG_REGISTRY_FILE, NULL);
    g_autofree char *wal = g_strconcat(db, "-wal", NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(SnpgRegistry) reg = NULL;
    mode_t old_umask;

    /* Missing and not to be created: NOT_FOUND, and nothing appears. */
    g_assert_false(snpg_state_dir_ensure(state, FALSE, &error));
    g_assert_error(error, SNPG_STATE_DIR_ERROR, SNPG_STATE_DIR_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_assert_null(snpg_registry_open(state, SNPG_REGISTRY_OPEN_DEFAULT, &error));
    g_assert_error(error, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_assert_false(g_file_test(state, G_FILE_TEST_EXISTS));

    /* Created 0700 whatever the umask; the database and its WAL 0600. */
    old_umask = umask(0);
    reg = open_registry(state);
    umask(old_umask);
    g_assert_cmpuint(file_mode(state), ==, 0700);
    g_assert_cmpuint(file_mode(db), ==, 0600);
    g_assert_cmpuint(file_mode(wal), ==, 0600);
    g_assert_cmpstr(snpg_registry_state_dir(reg), ==, state);
    g_clear_pointer(&reg, snpg_registry_close);

    /* Group or other access, or not a directory: refused, not repaired. */
    g_assert_cmpint(mkdir(open_dir, 0700), ==, 0);
    g_assert_cmpint(chmod(open_dir, 0750), ==, 0);
    g_assert_false(snpg_state_dir_ensure(open_dir, TRUE, &error));
    g_assert_error(error, SNPG_STATE_DIR_ERROR, SNPG_STATE_DIR_ERROR_INSECURE);
    g_assert_nonnull(strstr(error->message, "chmod 0700"));
    g_clear_error(&error);
    g_assert_cmpuint(file_mode(open_dir), ==, 0750);
    g_assert_null(snpg_registry_open(open_dir, SNPG_REGISTRY_OPEN_CREATE, &error));
    g_assert_error(error, SNPG_STATE_DIR_ERROR, SNPG_STATE_DIR_ERROR_INSECURE);
    g_clear_error(&error);
    g_assert_false(snpg_state_dir_ensure(file, TRUE, &error));
    g_assert_error(error, SNPG_STATE_DIR_ERROR, SNPG_STATE_DIR_ERROR_INSECURE);
    g_clear_error(&error);
    g_assert_cmpint(chmod(open_dir, 0700), ==, 0);
    g_assert_true(snpg_state_dir_ensure(open_dir, FALSE, &error));
    g_assert_no_error(error);
}

/* ---- VMs ---------------------------------------------------------------- */

static void
test_vm_roundtrip(void)
{
    g_autofree char *state = new_state_dir();
    g_autoptr(SnpgRegistry) reg = open_registry(state);
    g_autoptr(SnpgVmRecord) a = make_vm("alpha", UUID_A, MEASUREMENT_A);
    g_autoptr(SnpgVmRecord) b = make_vm("beta", "6F1C5A8E-1F6B-4C3E-9A51-0C2F9F1D7A02",
                                        "BB0102030405060708090A0B0C0D0E0F101112131415161718191A1B"
                                        "1C1D1E1F202122232425262728292A2B2C2D2E2F");
    g_autoptr(SnpgVmRecord) got = NULL;
    g_autoptr(GPtrArray) all = NULL;
    g_autoptr(GPtrArray) events = NULL;
    g_autoptr(GError) error = NULL;
    g_auto(SnpgVerifyOptions) opts;
    g_auto(SnpgVerifyOptions) loaded;
    g_autofree char *key_path = NULL;
    const SnpgEvent *ev;
    const SnpgVmInput *in;

    snpg_verify_options_init(&opts);
    snpg_verify_options_init(&loaded);
    opts.vmpl = 0;
    g_ptr_array_add(opts.measurements, snpg_test_unhex(MEASUREMENT_A));
    snpg_vm_record_set_reference(a, &opts);
    a->key_path = g_strdup("keys/" UUID_A ".key");
    a->emulate = TRUE;

    g_assert_true(snpg_registry_add_vm(reg, a, &error));
    g_assert_no_error(error);
    g_assert_cmpint(a->id, >, 0);
    g_assert_cmpint(a->created, >, 0);
    b->workflow = (g_free(b->workflow), g_strdup("none"));
    b->failure_action = (g_free(b->failure_action), g_strdup("keep"));
    g_clear_pointer(&b->verifier_mode, g_free);
    g_assert_true(snpg_registry_add_vm(reg, b, &error));
    g_assert_no_error(error);

    got = snpg_registry_get_vm(reg, "alpha", &error);
    g_assert_no_error(error);
    g_assert_cmpstr(got->name, ==, "alpha");
    g_assert_cmpstr(got->uuid, ==, UUID_A);
    g_assert_cmpstr(got->workflow, ==, "encrypted");
    g_assert_cmpstr(got->expected_measurement, ==, MEASUREMENT_A);
    g_assert_cmpstr(got->failure_action, ==, "destroy");
    g_assert_cmpstr(got->verifier_mode, ==, "local");
    g_assert_true(got->emulate);
    g_assert_cmpstr(got->key_path, ==, "keys/" UUID_A ".key");
    g_assert_cmpint(got->created, ==, a->created);
    g_assert_cmpuint(got->settings->len, ==, 3);
    g_assert_cmpstr(snpg_vm_record_get_setting(got, "vcpus"), ==, "4");
    g_assert_cmpstr(snpg_vm_record_get_setting(got, "cmdline"), ==,
                    "console=ttyS0 snpguard.verifier=00");
    g_assert_cmpstr(snpg_vm_record_get_setting(got, "append"), ==, "");
    g_assert_cmpstr(((SnpgVmSetting *)g_ptr_array_index(got->settings, 0))->key, ==, "vcpus");
    g_assert_cmpuint(got->inputs->len, ==, 2);
    in = g_ptr_array_index(got->inputs, 1);
    g_assert_cmpstr(in->role, ==, "kernel");
    g_assert_cmpstr(in->path, ==, "/var/lib/images/vmlinuz");
    g_assert_cmpstr(in->algorithm, ==, "sha256");
    /* The reference values come back as the core reads them. */
    g_assert_true(snpg_vm_record_load_reference(got, &loaded, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(loaded.measurements->len, ==, 1);
    g_assert_true(g_bytes_equal(g_ptr_array_index(loaded.measurements, 0),
                                g_ptr_array_index(opts.measurements, 0)));
    g_assert_cmpint(loaded.vmpl, ==, 0);
    g_clear_pointer(&got, snpg_vm_record_free);

    /* Stored lowercase; no key, no verifier mode. */
    got = snpg_registry_get_vm(reg, "beta", &error);
    g_assert_no_error(error);
    g_assert_cmpstr(got->uuid, ==, UUID_B);
    g_assert_cmpstr(got->expected_measurement, ==, MEASUREMENT_B);
    g_assert_null(got->key_path);
    g_assert_null(got->verifier_mode);
    g_assert_null(got->reference);
    g_assert_false(got->emulate);
    g_clear_pointer(&got, snpg_vm_record_free);

    all = snpg_registry_list_vms(reg, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(all->len, ==, 2);
    g_assert_cmpstr(((SnpgVmRecord *)g_ptr_array_index(all, 0))->name, ==, "alpha");
    g_assert_cmpstr(((SnpgVmRecord *)g_ptr_array_index(all, 1))->name, ==, "beta");

    /* Update replaces fields and items. */
    snpg_vm_record_set_setting(a, "vcpus", "8");
    g_ptr_array_set_size(a->inputs, 1);
    a->expected_measurement = (g_free(a->expected_measurement), g_strdup(MEASUREMENT_B));
    g_assert_true(snpg_registry_update_vm(reg, a, &error));
    g_assert_no_error(error);
    got = snpg_registry_get_vm(reg, "alpha", &error);
    g_assert_cmpstr(snpg_vm_record_get_setting(got, "vcpus"), ==, "8");
    g_assert_cmpuint(got->inputs->len, ==, 1);
    g_assert_cmpstr(got->expected_measurement, ==, MEASUREMENT_B);
    g_assert_cmpstr(got->key_path, ==, "keys/" UUID_A ".key");
    g_assert_cmpint(got->created, ==, a->created);
    g_assert_cmpint(got->updated, >=, got->created);
    g_clear_pointer(&got, snpg_vm_record_free);

    /* Each define is in the history, with the expected measurement. */
    g_assert_true(snpg_registry_history(reg, NULL, 0, &events, &error));
    g_assert_cmpuint(events->len, ==, 2);
    ev = g_ptr_array_index(events, 0);
    g_assert_cmpint(ev->kind, ==, SNPG_EVENT_DEFINE);
    g_assert_cmpstr(ev->vm, ==, "alpha");
    g_assert_cmpstr(ev->vm_uuid, ==, UUID_A);
    g_assert_cmpstr(ev->measurement, ==, MEASUREMENT_A);
    g_assert_cmpint(ev->verdict, ==, SNPG_VERDICT_NONE);
    g_assert_cmpint(ev->time, ==, a->created);
    g_clear_pointer(&events, g_ptr_array_unref);

    /* Remove: the VM and its items go, the key path comes back for the
     * key store, the history stays and says so. */
    g_assert_true(snpg_registry_remove_vm(reg, "alpha", &key_path, &error));
    g_assert_no_error(error);
    g_assert_cmpstr(key_path, ==, "keys/" UUID_A ".key");
    g_assert_null(snpg_registry_get_vm(reg, "alpha", &error));
    g_assert_error(error, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_assert_cmpint(count_rows(reg, "vms"), ==, 1);
    g_assert_cmpint(count_rows(reg, "vm_settings"), ==, 3);
    g_assert_cmpint(count_rows(reg, "vm_inputs"), ==, 2);
    g_assert_cmpint(count_rows(reg, "keys"), ==, 0);
    g_assert_true(snpg_registry_history(reg, "alpha", 0, &events, &error));
    g_assert_cmpuint(events->len, ==, 2);
    ev = g_ptr_array_index(events, 1);
    g_assert_cmpint(ev->kind, ==, SNPG_EVENT_UNDEFINE);
    g_assert_cmpstr(ev->vm_uuid, ==, UUID_A);
    g_assert_false(snpg_registry_remove_vm(reg, "alpha", NULL, &error));
    g_assert_error(error, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_assert_false(snpg_registry_update_vm(reg, a, &error));
    g_assert_error(error, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_NOT_FOUND);
}

static void
test_vm_duplicate(void)
{
    g_autofree char *state = new_state_dir();
    g_autoptr(SnpgRegistry) reg = open_registry(state);
    g_autoptr(SnpgVmRecord) a = make_vm("alpha", UUID_A, MEASUREMENT_A);
    g_autoptr(SnpgVmRecord) same_name = make_vm("alpha", UUID_B, MEASUREMENT_B);
    g_autoptr(SnpgVmRecord) same_uuid = make_vm("gamma", UUID_A, MEASUREMENT_B);
    g_autoptr(SnpgVmRecord) same_key = make_vm("delta", UUID_C, MEASUREMENT_B);
    g_autoptr(SnpgVmRecord) got = NULL;
    g_autoptr(GError) error = NULL;

    a->key_path = g_strdup("keys/" UUID_A ".key");
    g_assert_true(snpg_registry_add_vm(reg, a, &error));
    g_assert_no_error(error);

    g_assert_false(snpg_registry_add_vm(reg, same_name, &error));
    g_assert_error(error, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_EXISTS);
    g_assert_nonnull(strstr(error->message, "'alpha'"));
    g_clear_error(&error);
    g_assert_cmpint(same_name->id, ==, 0);
    g_assert_false(snpg_registry_add_vm(reg, same_uuid, &error));
    g_assert_error(error, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_EXISTS);
    g_clear_error(&error);
    /* Fails at the key, after the VM row and its items went in: all undone. */
    same_key->key_path = g_strdup("keys/" UUID_A ".key");
    g_assert_false(snpg_registry_add_vm(reg, same_key, &error));
    g_assert_error(error, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_EXISTS);
    g_clear_error(&error);

    /* Nothing of the refused ones is left, the first one is intact. */
    g_assert_cmpint(count_rows(reg, "vms"), ==, 1);
    g_assert_cmpint(count_rows(reg, "vm_settings"), ==, 3);
    g_assert_cmpint(count_rows(reg, "vm_inputs"), ==, 2);
    g_assert_cmpint(count_rows(reg, "keys"), ==, 1);
    g_assert_cmpint(count_rows(reg, "events"), ==, 1);
    got = snpg_registry_get_vm(reg, "alpha", &error);
    g_assert_no_error(error);
    g_assert_cmpstr(got->uuid, ==, UUID_A);
    g_assert_cmpstr(got->expected_measurement, ==, MEASUREMENT_A);
}

static void
test_vm_invalid(void)
{
    g_autofree char *state = new_state_dir();
    g_autoptr(SnpgRegistry) reg = open_registry(state);
    g_autoptr(GError) error = NULL;
    static const struct {
        const char *field;
        const char *value;
    } bad[] = {
        { "name", "" },
        { "name", "evil\033[2Jname" },
        { "name", "bad\xff" },
        { "uuid", "not-a-uuid" },
        { "uuid", NULL },
        { "workflow", "plaintext" },
        { "measurement", "abcd" },
        { "measurement", "zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
                         "202122232425262728292a2b2c2d2e2f" },
        { "failure_action", "reboot" },
        { "verifier_mode", "Local Mode" },
        { "key_path", "../escape.key" },
        { "key_path", "/etc/shadow" },
        { "key_path", "keys//x.key" },
        { "setting", "bad key" },
        { "input", "md5" },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(SnpgVmRecord) rec = make_vm("vm", UUID_A, MEASUREMENT_A);
        const char *f = bad[i].field;

        if (g_str_equal(f, "name"))
            rec->name = (g_free(rec->name), g_strdup(bad[i].value));
        else if (g_str_equal(f, "uuid"))
            rec->uuid = (g_free(rec->uuid), g_strdup(bad[i].value));
        else if (g_str_equal(f, "workflow"))
            rec->workflow = (g_free(rec->workflow), g_strdup(bad[i].value));
        else if (g_str_equal(f, "measurement"))
            rec->expected_measurement = (g_free(rec->expected_measurement), g_strdup(bad[i].value));
        else if (g_str_equal(f, "failure_action"))
            rec->failure_action = (g_free(rec->failure_action), g_strdup(bad[i].value));
        else if (g_str_equal(f, "verifier_mode"))
            rec->verifier_mode = (g_free(rec->verifier_mode), g_strdup(bad[i].value));
        else if (g_str_equal(f, "key_path"))
            rec->key_path = g_strdup(bad[i].value);
        else if (g_str_equal(f, "setting"))
            snpg_vm_record_set_setting(rec, bad[i].value, "x");
        else
            snpg_vm_record_add_input(rec, "initrd", "/x", bad[i].value, "00");
        g_assert_false(snpg_registry_add_vm(reg, rec, &error));
        g_assert_error(error, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_INVALID);
        g_clear_error(&error);
    }
    g_assert_cmpint(count_rows(reg, "vms"), ==, 0);
    g_assert_cmpint(count_rows(reg, "events"), ==, 0);
}

/* ---- events ------------------------------------------------------------- */

static void
add_event(SnpgRegistry *reg, SnpgEventKind kind, const char *vm, SnpgVerdict verdict,
          const char *reasons)
{
    g_autoptr(SnpgEvent) ev = snpg_event_new(kind, vm);
    g_autoptr(GError) error = NULL;

    ev->verdict = verdict;
    ev->reasons = reasons ? g_strsplit(reasons, ",", -1) : NULL;
    g_assert_true(snpg_registry_add_event(reg, ev, &error));
    g_assert_no_error(error);
    g_assert_cmpint(ev->id, >, 0);
}

static void
test_event_fields(void)
{
    g_autofree char *state = new_state_dir();
    g_autoptr(SnpgRegistry) reg = open_registry(state);
    g_autoptr(SnpgVmRecord) a = make_vm("alpha", UUID_A, MEASUREMENT_A);
    g_autoptr(SnpgEvent) ev = snpg_event_new(SNPG_EVENT_ATTESTATION, "alpha");
    g_autoptr(SnpgEvent) got = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(SnpgVerifyResult) result = g_new0(SnpgVerifyResult, 1);
    guint8 report[1184];
    const char *const expect[] = { "measurement", "tcb-mismatch", NULL };

    g_assert_true(snpg_registry_add_vm(reg, a, &error));
    for (gsize i = 0; i < sizeof(report); i++)
        report[i] = (guint8)i;
    /* Reasons straight from a verification result, each once. */
    result->failures = g_ptr_array_new_with_free_func(g_free);
    for (int r = 0; r < 3; r++) {
        SnpgVerifyFailure *f = g_new0(SnpgVerifyFailure, 1);
        f->reason = r == 1 ? SNPG_VERIFY_REASON_TCB_MISMATCH : SNPG_VERIFY_REASON_MEASUREMENT;
        g_ptr_array_add(result->failures, f);
    }
    snpg_event_set_verify_reasons(ev, result);
    g_assert_true(g_strv_equal((const char *const *)ev->reasons, expect));
    ev->verdict = SNPG_VERDICT_REJECTED;
    ev->time = G_GINT64_CONSTANT(1796000000123456);
    ev->measurement = g_strdup(MEASUREMENT_B);
    ev->has_tcb = TRUE;
    ev->tcb = G_GUINT64_CONSTANT(0xdb18000000000004);  /* the sign bit set */
    ev->chip_id = g_strnfill(128, 'C');
    ev->report = g_bytes_new(report, sizeof(report));
    /* Control characters a guest might send are recorded as blanks. */
    ev->detail = g_strdup("guest said: \033[31mred\033[0m\nbye");
    ev->boot_id = g_strdup("boot-1");
    g_assert_true(snpg_registry_add_event(reg, ev, &error));
    g_assert_no_error(error);

    got = snpg_registry_get_event(reg, ev->id, &error);
    g_assert_no_error(error);
    g_assert_cmpint(got->kind, ==, SNPG_EVENT_ATTESTATION);
    g_assert_cmpint(got->verdict, ==, SNPG_VERDICT_REJECTED);
    g_assert_cmpint(got->time, ==, G_GINT64_CONSTANT(1796000000123456));
    g_assert_cmpstr(got->vm_uuid, ==, UUID_A);     /* filled in from the VM */
    g_assert_true(g_strv_equal((const char *const *)got->reasons, expect));
    g_assert_cmpstr(got->measurement, ==, MEASUREMENT_B);
    g_assert_true(got->has_tcb);
    g_assert_cmphex(got->tcb, ==, G_GUINT64_CONSTANT(0xdb18000000000004));
    g_assert_cmpuint(strlen(got->chip_id), ==, 128);
    g_assert_true(g_str_has_prefix(got->chip_id, "cccc"));
    g_assert_nonnull(got->report);
    g_assert_true(g_bytes_equal(got->report, ev->report));
    g_assert_cmpstr(got->detail, ==, "guest said:  [31mred [0m bye");
    g_assert_cmpstr(got->boot_id, ==, "boot-1");
    g_clear_pointer(&got, snpg_event_free);
    g_assert_null(snpg_registry_get_event(reg, 9999, &error));
    g_assert_error(error, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_NOT_FOUND);
    g_clear_error(&error);

    /* Malformed events are refused whole. */
    {
        static const char *const bad_reasons[] = { "Measurement", "a,b", "", NULL };

        for (gsize i = 0; bad_reasons[i]; i++) {
            g_autoptr(SnpgEvent) bad = snpg_event_new(SNPG_EVENT_ERROR, "alpha");
            const char *one[] = { bad_reasons[i], NULL };

            bad->reasons = g_strdupv((char **)one);
            g_assert_false(snpg_registry_add_event(reg, bad, &error));
            g_assert_error(error, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_INVALID);
            g_clear_error(&error);
            g_assert_cmpint(bad->id, ==, 0);
        }
    }
    {
        g_autoptr(SnpgEvent) bad = snpg_event_new(SNPG_EVENT_ATTESTATION, "alpha");

        bad->report = g_bytes_new_take(g_malloc0(SNPG_REGISTRY_REPORT_MAX + 1),
                                       SNPG_REGISTRY_REPORT_MAX + 1);
        g_assert_false(snpg_registry_add_event(reg, bad, &error));
        g_assert_error(error, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_INVALID);
        g_clear_error(&error);
        g_clear_pointer(&bad->report, g_bytes_unref);
        bad->measurement = g_strdup("00");
        g_assert_false(snpg_registry_add_event(reg, bad, &error));
        g_assert_error(error, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_INVALID);
        g_clear_error(&error);
        g_clear_pointer(&bad->measurement, g_free);
        bad->kind = SNPG_EVENT_LAST;
        g_assert_false(snpg_registry_add_event(reg, bad, &error));
        g_assert_error(error, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_INVALID);
        g_clear_error(&error);
    }
    g_assert_cmpint(count_rows(reg, "events"), ==, 2);
    g_assert_cmpint(count_rows(reg, "event_reports"), ==, 1);

    /* Names and strings both ways. */
    for (int k = 0; k < SNPG_EVENT_LAST; k++)
        g_assert_cmpint(snpg_event_kind_from_string(snpg_event_kind_to_string(k)), ==, k);
    for (int v = SNPG_VERDICT_NONE + 1; v < SNPG_VERDICT_LAST; v++)
        g_assert_cmpint(snpg_verdict_from_string(snpg_verdict_to_string(v)), ==, v);
    g_assert_null(snpg_verdict_to_string(SNPG_VERDICT_NONE));
    g_assert_cmpint(snpg_event_kind_from_string("reboot"), ==, -1);
    g_assert_cmpint(snpg_verdict_from_string("maybe"), ==, -1);
}

static gboolean
collect_copy(const SnpgEvent *ev, gpointer user_data, GError **error)
{
    SnpgEvent *copy = snpg_event_new(ev->kind, ev->vm);

    copy->id = ev->id;
    copy->time = ev->time;
    copy->verdict = ev->verdict;
    copy->reasons = g_strdupv(ev->reasons);
    copy->measurement = g_strdup(ev->measurement);
    g_ptr_array_add(user_data, copy);
    return TRUE;
}

static void
test_event_time_format(void)
{
    char *s = snpg_event_format_time(G_GINT64_CONSTANT(1796000000123456));

    g_assert_cmpstr(s, ==, "2026-11-30T00:53:20.123456Z");
    g_free(s);
    s = snpg_event_format_time(-1);
    g_assert_cmpstr(s, ==, "1969-12-31T23:59:59.999999Z");
    g_free(s);
}

static void
test_history_order(void)
{
    g_autofree char *state = new_state_dir();
    g_autoptr(SnpgRegistry) reg = open_registry(state);
    g_autoptr(SnpgVmRecord) a = make_vm("alpha", UUID_A, MEASUREMENT_A);
    g_autoptr(SnpgVmRecord) again = make_vm("alpha", UUID_B, MEASUREMENT_A);
    g_autoptr(GPtrArray) events = NULL;
    g_autoptr(GError) error = NULL;
    SnpgEvent *last = NULL;
    g_autofree char *removed_key = NULL;

    g_assert_true(snpg_registry_add_vm(reg, a, &error));
    /* alpha: define + 10 attestations, beta interleaved (no VM record). */
    for (int i = 0; i < 10; i++) {
        add_event(reg, SNPG_EVENT_ATTESTATION, "alpha",
                  i % 2 ? SNPG_VERDICT_ACCEPTED : SNPG_VERDICT_REJECTED,
                  i % 2 ? NULL : "measurement");
        add_event(reg, SNPG_EVENT_ERROR, "beta", SNPG_VERDICT_NONE, NULL);
    }
    add_event(reg, SNPG_EVENT_STOP, "alpha", SNPG_VERDICT_NONE, NULL);

    g_assert_true(snpg_registry_history(reg, NULL, 0, &events, &error));
    g_assert_cmpuint(events->len, ==, 22);
    for (guint i = 1; i < events->len; i++)
        g_assert_cmpint(((SnpgEvent *)events->pdata[i - 1])->id, <,
                        ((SnpgEvent *)events->pdata[i])->id);
    g_clear_pointer(&events, g_ptr_array_unref);

    g_assert_true(snpg_registry_history(reg, "alpha", 0, &events, &error));
    g_assert_cmpuint(events->len, ==, 12);
    g_assert_cmpint(((SnpgEvent *)events->pdata[0])->kind, ==, SNPG_EVENT_DEFINE);
    g_assert_cmpint(((SnpgEvent *)events->pdata[11])->kind, ==, SNPG_EVENT_STOP);
    for (guint i = 0; i < events->len; i++)
        g_assert_cmpstr(((SnpgEvent *)events->pdata[i])->vm, ==, "alpha");
    g_clear_pointer(&events, g_ptr_array_unref);

    /* The newest three, oldest first. */
    g_assert_true(snpg_registry_history(reg, "alpha", 3, &events, &error));
    g_assert_cmpuint(events->len, ==, 3);
    g_assert_cmpint(((SnpgEvent *)events->pdata[0])->verdict, ==, SNPG_VERDICT_REJECTED);
    g_assert_cmpint(((SnpgEvent *)events->pdata[1])->verdict, ==, SNPG_VERDICT_ACCEPTED);
    g_assert_cmpint(((SnpgEvent *)events->pdata[2])->kind, ==, SNPG_EVENT_STOP);
    g_clear_pointer(&events, g_ptr_array_unref);
    g_assert_true(snpg_registry_history(reg, NULL, 2, &events, &error));
    g_assert_cmpuint(events->len, ==, 2);
    g_assert_cmpstr(((SnpgEvent *)events->pdata[0])->vm, ==, "beta");
    g_assert_cmpstr(((SnpgEvent *)events->pdata[1])->vm, ==, "alpha");
    g_clear_pointer(&events, g_ptr_array_unref);
    g_assert_true(snpg_registry_history(reg, "nobody", 5, &events, &error));
    g_assert_cmpuint(events->len, ==, 0);
    g_clear_pointer(&events, g_ptr_array_unref);

    /* The last verdict skips events without one. */
    g_assert_true(snpg_registry_last_verdict(reg, a, &last, &error));
    g_assert_nonnull(last);
    g_assert_cmpint(last->verdict, ==, SNPG_VERDICT_ACCEPTED);
    g_clear_pointer(&last, snpg_event_free);
    /* A VM defined again under the same name starts without one. */
    g_assert_true(snpg_registry_remove_vm(reg, "alpha", &removed_key, &error));
    g_assert_null(removed_key);
    g_assert_true(snpg_registry_add_vm(reg, again, &error));
    g_assert_true(snpg_registry_last_verdict(reg, again, &last, &error));
    g_assert_no_error(error);
    g_assert_null(last);
}

static void
test_transaction(void)
{
    g_autofree char *state = new_state_dir();
    g_autoptr(SnpgRegistry) reg = open_registry(state);
    g_autoptr(SnpgVmRecord) a = make_vm("alpha", UUID_A, MEASUREMENT_A);
    g_autoptr(SnpgVmRecord) b = make_vm("beta", UUID_B, MEASUREMENT_B);
    g_autoptr(SnpgVmRecord) dup = make_vm("beta", UUID_C, MEASUREMENT_B);
    g_autoptr(GError) error = NULL;

    /* define's shape: VM + event, then the libvirt define fails: rollback. */
    g_assert_true(snpg_registry_begin(reg, &error));
    g_assert_true(snpg_registry_add_vm(reg, a, &error));
    add_event(reg, SNPG_EVENT_ERROR, "alpha", SNPG_VERDICT_ERROR, "libvirt");
    g_assert_false(snpg_registry_begin(reg, &error));
    g_assert_error(error, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_TRANSACTION);
    g_clear_error(&error);
    snpg_registry_rollback(reg);
    g_assert_cmpint(count_rows(reg, "vms"), ==, 0);
    g_assert_cmpint(count_rows(reg, "vm_settings"), ==, 0);
    g_assert_cmpint(count_rows(reg, "events"), ==, 0);
    snpg_registry_rollback(reg);   /* harmless with none open */
    g_assert_false(snpg_registry_commit(reg, &error));
    g_assert_error(error, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_TRANSACTION);
    g_clear_error(&error);

    /* A failed write inside a transaction undoes only itself. */
    g_assert_true(snpg_registry_begin(reg, &error));
    g_assert_true(snpg_registry_add_vm(reg, b, &error));
    g_assert_false(snpg_registry_add_vm(reg, dup, &error));
    g_assert_error(error, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_EXISTS);
    g_clear_error(&error);
    g_assert_true(snpg_registry_commit(reg, &error));
    g_assert_no_error(error);
    g_assert_cmpint(count_rows(reg, "vms"), ==, 1);
    g_assert_cmpint(count_rows(reg, "vm_settings"), ==, 3);
    g_assert_cmpint(count_rows(reg, "events"), ==, 1);

    /* Reading in one snapshot. */
    g_assert_true(snpg_registry_begin_read(reg, &error));
    {
        g_autoptr(GPtrArray) vms = snpg_registry_list_vms(reg, &error);
        g_assert_no_error(error);
        g_assert_cmpuint(vms->len, ==, 1);
    }
    g_assert_true(snpg_registry_commit(reg, &error));
    g_assert_no_error(error);
}

/* ---- concurrency and crashes -------------------------------------------- */

#define WRITERS 8
#define EVENTS_PER_WRITER 50
#define VMS_PER_WRITER 5

/* In a child process: its own connection, each event its own transaction.
 * Every tenth write defines a VM, which reads (the duplicate check) before
 * it writes: only a transaction that takes the write lock up front (BEGIN
 * IMMEDIATE) does that without failing on another writer's commit. */
static int
writer_child(const char *state, int writer)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(SnpgRegistry) reg = snpg_registry_open(state, SNPG_REGISTRY_OPEN_CREATE, &error);

    if (!reg)
        return 10;
    for (int i = 0; i < EVENTS_PER_WRITER; i++) {
        g_autoptr(SnpgEvent) ev = snpg_event_new(SNPG_EVENT_ATTESTATION, "shared");

        if (i % (EVENTS_PER_WRITER / VMS_PER_WRITER) == 0) {
            g_autofree char *name = g_strdup_printf("vm-%d-%d", writer, i);
            /* (Not g_uuid_string_random(): forked children share its seed.) */
            g_autofree char *uuid = g_strdup_printf("6f1c5a8e-1f6b-4c3e-9a51-%012x",
                                                    writer * 1000 + i);
            g_autoptr(SnpgVmRecord) rec = make_vm(name, uuid, MEASUREMENT_A);

            if (!snpg_registry_add_vm(reg, rec, &error)) {
                g_printerr("writer %d: %s\n", writer, error->message);
                return 12;
            }
        }
        ev->verdict = SNPG_VERDICT_ACCEPTED;
        ev->detail = g_strdup_printf("writer %d event %d", writer, i);
        ev->boot_id = g_strdup_printf("w%d", writer);
        if (!snpg_registry_add_event(reg, ev, &error)) {
            g_printerr("writer %d: %s\n", writer, error->message);
            return 11;
        }
    }
    return 0;
}

static void
test_concurrent_writers(void)
{
    g_autofree char *state = new_state_dir();
    g_autoptr(SnpgRegistry) reg = NULL;
    g_autoptr(GPtrArray) events = NULL;
    g_autoptr(GError) error = NULL;
    pid_t pids[WRITERS];
    int next[WRITERS] = { 0 };

    /* The children race to create the registry too. */
    for (int w = 0; w < WRITERS; w++) {
        pids[w] = fork();
        g_assert_cmpint(pids[w], >=, 0);
        if (pids[w] == 0)
            _exit(writer_child(state, w));
    }
    for (int w = 0; w < WRITERS; w++) {
        int status = 0;

        g_assert_cmpint(waitpid(pids[w], &status, 0), ==, pids[w]);
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 0);
    }
    reg = open_registry(state);
    g_assert_cmpint(count_rows(reg, "vms"), ==, WRITERS * VMS_PER_WRITER);
    g_assert_cmpint(count_rows(reg, "events"), ==, WRITERS * (EVENTS_PER_WRITER + VMS_PER_WRITER));
    assert_integrity(reg);
    /* Each writer's events are all there, in its own order. */
    g_assert_true(snpg_registry_history(reg, "shared", 0, &events, &error));
    g_assert_cmpuint(events->len, ==, WRITERS * EVENTS_PER_WRITER);
    for (guint i = 0; i < events->len; i++) {
        const SnpgEvent *ev = events->pdata[i];
        g_autofree char *want = NULL;
        int w = ev->boot_id[1] - '0';

        g_assert_cmpint(w, >=, 0);
        g_assert_cmpint(w, <, WRITERS);
        want = g_strdup_printf("writer %d event %d", w, next[w]++);
        g_assert_cmpstr(ev->detail, ==, want);
    }
    for (int w = 0; w < WRITERS; w++)
        g_assert_cmpint(next[w], ==, EVENTS_PER_WRITER);
}

/* A child that writes inside an open transaction, tells the parent, and
 * waits to be killed: the commit never comes. big makes the transaction
 * larger than the page cache, so that uncommitted pages reach the WAL. */
static void
killed_child(const char *state, int fd, gboolean big)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(SnpgRegistry) reg = snpg_registry_open(state, SNPG_REGISTRY_OPEN_DEFAULT, &error);
    g_autoptr(SnpgVmRecord) rec = make_vm("victim", UUID_B, MEASUREMENT_B);
    guint8 report[4096] = { 0 };
    char ok = 'k';

    if (!reg || !snpg_registry_begin(reg, &error) || !snpg_registry_add_vm(reg, rec, &error))
        _exit(20);
    for (int i = 0; i < (big ? 8000 : 1); i++) {
        g_autoptr(SnpgEvent) ev = snpg_event_new(SNPG_EVENT_KEY_RELEASE, "victim");
        ev->verdict = SNPG_VERDICT_ACCEPTED;
        memcpy(report, &i, sizeof(i));
        ev->report = g_bytes_new(report, sizeof(report));
        if (!snpg_registry_add_event(reg, ev, &error))
            _exit(21);
    }
    if (write(fd, &ok, 1) != 1)
        _exit(22);
    for (;;)
        pause();
}

static void
run_killed_writer(gboolean big)
{
    g_autofree char *state = new_state_dir();
    g_autofree char *wal = g_build_filename(state, SNPG_REGISTRY_FILE "-wal", NULL);
    g_autoptr(SnpgRegistry) reg = open_registry(state);
    g_autoptr(SnpgVmRecord) keep = make_vm("keeper", UUID_A, MEASUREMENT_A);
    g_autoptr(SnpgVmRecord) after = make_vm("victim", UUID_B, MEASUREMENT_B);
    g_autoptr(GError) error = NULL;
    int fds[2], status = 0;
    char byte = 0;
    struct stat st;
    pid_t pid;

    g_assert_true(snpg_registry_add_vm(reg, keep, &error));
    g_clear_pointer(&reg, snpg_registry_close);
    g_assert_cmpint(pipe(fds), ==, 0);
    pid = fork();
    g_assert_cmpint(pid, >=, 0);
    if (pid == 0) {
        close(fds[0]);
        killed_child(state, fds[1], big);
    }
    close(fds[1]);
    g_assert_cmpint(read(fds[0], &byte, 1), ==, 1);
    close(fds[0]);
    g_assert_cmpint(byte, ==, 'k');
    if (big) {
        /* The uncommitted transaction spilled into the WAL. */
        g_assert_cmpint(stat(wal, &st), ==, 0);
        g_assert_cmpint(st.st_size, >, 4 * 1024 * 1024);
    }
    g_assert_cmpint(kill(pid, SIGKILL), ==, 0);
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    g_assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    /* It opens, is intact, holds only what was committed, and takes writes. */
    reg = open_registry(state);
    assert_integrity(reg);
    g_assert_cmpint(count_rows(reg, "vms"), ==, 1);
    g_assert_cmpint(count_rows(reg, "vm_settings"), ==, 3);
    g_assert_cmpint(count_rows(reg, "events"), ==, 1);
    g_assert_cmpint(count_rows(reg, "event_reports"), ==, 0);
    g_assert_null(snpg_registry_get_vm(reg, "victim", &error));
    g_assert_error(error, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_assert_true(snpg_registry_add_vm(reg, after, &error));
    g_assert_no_error(error);
    g_assert_cmpint(count_rows(reg, "vms"), ==, 2);
}

static void
test_killed_writer(void)
{
    run_killed_writer(FALSE);
}

static void
test_killed_writer_spilled(void)
{
    run_killed_writer(TRUE);
}

/* Writers killed at random moments (inside a transaction, during COMMIT,
 * between transactions), again and again: every recorded event is whole
 * (an event that carries a report has its report row, in the other table),
 * and the database stays sound. */
static void
test_killed_writers_random(void)
{
    g_autofree char *state = new_state_dir();
    g_autoptr(SnpgRegistry) reg = open_registry(state);
    GRand *rand = g_rand_new_with_seed(g_test_rand_int());

    g_clear_pointer(&reg, snpg_registry_close);
    for (int round = 0; round < 12; round++) {
        int status = 0;
        pid_t pid = fork();

        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
            g_autoptr(GError) error = NULL;
            g_autoptr(SnpgRegistry) child = snpg_registry_open(state, SNPG_REGISTRY_OPEN_DEFAULT,
                                                               &error);
            guint8 report[1184] = { 0 };

            if (!child)
                _exit(30);
            for (int i = 0;; i++) {
                g_autoptr(SnpgEvent) ev = snpg_event_new(SNPG_EVENT_ATTESTATION, "victim");

                ev->verdict = SNPG_VERDICT_ACCEPTED;
                ev->detail = g_strdup("with-report");
                memcpy(report, &i, sizeof(i));
                ev->report = g_bytes_new(report, sizeof(report));
                if (!snpg_registry_add_event(child, ev, &error))
                    _exit(31);
            }
        }
        g_usleep(g_rand_int_range(rand, 2000, 40000));
        g_assert_cmpint(kill(pid, SIGKILL), ==, 0);
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        /* Killed, not failed. */
        g_assert_true(WIFSIGNALED(status));
    }
    g_rand_free(rand);

    reg = open_registry(state);
    assert_integrity(reg);
    g_assert_cmpint(query_int(reg, "SELECT count(*) FROM events e WHERE NOT EXISTS"
                                   " (SELECT 1 FROM event_reports r WHERE r.event_id = e.id)"),
                    ==, 0);
    g_assert_cmpint(query_int(reg, "SELECT count(*) FROM event_reports r WHERE NOT EXISTS"
                                   " (SELECT 1 FROM events e WHERE e.id = r.event_id)"),
                    ==, 0);
    g_assert_cmpint(query_int(reg, "SELECT count(*) FROM pragma_foreign_key_check"), ==, 0);
    g_test_message("%" G_GINT64_FORMAT " whole events recorded", count_rows(reg, "events"));
    g_assert_cmpint(count_rows(reg, "events"), >, 0);
}

/* ---- migrations --------------------------------------------------------- */

static sqlite3 *
open_raw(const char *path)
{
    sqlite3 *db = NULL;

    g_assert_cmpint(sqlite3_open(path, &db), ==, SQLITE_OK);
    return db;
}

static int
raw_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    int v;

    g_assert_cmpint(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
    g_assert_cmpint(sqlite3_step(stmt), ==, SQLITE_ROW);
    v = sqlite3_column_int(stmt, 0);
    sqlite3_finalize(stmt);
    return v;
}

static void
test_migrations(void)
{
    g_autofree char *tmp = snpg_test_tmpdir();
    g_autofree char *path = g_build_filename(tmp, "m.db", NULL);
    g_autofree char *state = new_state_dir();
    g_autoptr(GError) error = NULL;
    const SnpgRegistryMigration v1[] = {
        { 1, "CREATE TABLE t (a INTEGER); INSERT INTO t VALUES (1);" },
    };
    const SnpgRegistryMigration v2[] = {
        v1[0],
        { 2, "ALTER TABLE t ADD COLUMN b TEXT; UPDATE t SET b = 'two';" },
    };
    const SnpgRegistryMigration v3_broken[] = {
        v2[0], v2[1],
        { 3, "CREATE TABLE u (x); INSERT INTO no_such_table VALUES (1);" },
    };
    sqlite3 *db = open_raw(path);

    /* v0 -> v1, once: running it again changes nothing. */
    g_assert_cmpint(raw_int(db, "PRAGMA user_version"), ==, 0);
    g_assert_true(snpg_registry_migrate(db, v1, G_N_ELEMENTS(v1), &error));
    g_assert_no_error(error);
    g_assert_cmpint(raw_int(db, "PRAGMA user_version"), ==, 1);
    g_assert_true(snpg_registry_migrate(db, v1, G_N_ELEMENTS(v1), &error));
    g_assert_cmpint(raw_int(db, "SELECT count(*) FROM t"), ==, 1);
    /* v1 -> v2 applies only the new step. */
    g_assert_true(snpg_registry_migrate(db, v2, G_N_ELEMENTS(v2), &error));
    g_assert_no_error(error);
    g_assert_cmpint(raw_int(db, "PRAGMA user_version"), ==, 2);
    g_assert_cmpint(raw_int(db, "SELECT count(*) FROM t WHERE b = 'two'"), ==, 1);
    /* A failing step leaves the database at the last good version. */
    g_assert_false(snpg_registry_migrate(db, v3_broken, G_N_ELEMENTS(v3_broken), &error));
    g_assert_error(error, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_DB);
    g_assert_nonnull(strstr(error->message, "version 3"));
    g_clear_error(&error);
    g_assert_cmpint(raw_int(db, "PRAGMA user_version"), ==, 2);
    g_assert_cmpint(raw_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'u'"), ==, 0);
    g_assert_true(sqlite3_get_autocommit(db));
    /* A database newer than the list is refused. */
    g_assert_false(snpg_registry_migrate(db, v1, G_N_ELEMENTS(v1), &error));
    g_assert_error(error, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_VERSION);
    g_clear_error(&error);
    sqlite3_close(db);

    /* The real list: a new registry is at this build's version; one from
     * the future is refused by open. */
    {
        g_autoptr(SnpgRegistry) reg = open_registry(state);
        g_autofree char *db_path = g_build_filename(state, SNPG_REGISTRY_FILE, NULL);

        g_assert_cmpint(snpg_registry_migrations[snpg_registry_n_migrations - 1].version, ==,
                        SNPG_REGISTRY_SCHEMA_VERSION);
        g_assert_cmpint(query_int(reg, "PRAGMA user_version"), ==, SNPG_REGISTRY_SCHEMA_VERSION);
        g_assert_cmpint(query_int(reg, "PRAGMA foreign_keys"), ==, 1);
        g_clear_pointer(&reg, snpg_registry_close);
        db = open_raw(db_path);
        g_assert_cmpint(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), ==,
                        SQLITE_OK);
        sqlite3_close(db);
        g_assert_null(snpg_registry_open(state, SNPG_REGISTRY_OPEN_DEFAULT, &error));
        g_assert_error(error, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_VERSION);
    }
}

static void
test_journal_mode(void)
{
    g_autofree char *state = new_state_dir();
    g_autoptr(SnpgRegistry) reg = open_registry(state);
    sqlite3_stmt *stmt = NULL;

    g_assert_cmpint(sqlite3_prepare_v2(snpg_registry_db(reg), "PRAGMA journal_mode", -1, &stmt,
                                       NULL), ==, SQLITE_OK);
    g_assert_cmpint(sqlite3_step(stmt), ==, SQLITE_ROW);
    g_assert_cmpstr((const char *)sqlite3_column_text(stmt, 0), ==, "wal");
    sqlite3_finalize(stmt);
    g_assert_cmpint(query_int(reg, "PRAGMA synchronous"), ==, 2);   /* FULL */
}

/* ---- key store ---------------------------------------------------------- */

static void
test_keystore(void)
{
    g_autofree char *state = new_state_dir();
    g_autofree char *keys = g_build_filename(state, SNPG_KEYSTORE_DIR, NULL);
    g_autofree char *path = NULL;
    g_autofree char *file = NULL;
    g_autofree char *link_path = NULL;
    g_autoptr(SnpgSecret) key = NULL;
    g_autoptr(SnpgSecret) loaded = NULL;
    g_autoptr(SnpgSecret) other = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *contents = NULL;
    gsize len = 0;

    key = snpg_keystore_create(state, "6F1C5A8E-1F6B-4C3E-9A51-0C2F9F1D7A01", &path, &error);
    g_assert_no_error(error);
    g_assert_nonnull(key);
    g_assert_cmpstr(path, ==, "keys/" UUID_A ".key");
    g_assert_cmpuint(snpg_secret_len(key), ==, SNPG_KEYSTORE_KEY_LEN);
    file = g_build_filename(state, path, NULL);
    g_assert_cmpuint(file_mode(state), ==, 0700);
    g_assert_cmpuint(file_mode(keys), ==, 0700);
    g_assert_cmpuint(file_mode(file), ==, 0600);
    g_assert_true(g_file_get_contents(file, &contents, &len, NULL));
    g_assert_cmpmem(contents, len, snpg_secret_data(key), SNPG_KEYSTORE_KEY_LEN);
    /* No temporary file is left next to it. */
    {
        g_autoptr(GDir) dir = g_dir_open(keys, 0, NULL);
        g_assert_cmpstr(g_dir_read_name(dir), ==, UUID_A ".key");
        g_assert_null(g_dir_read_name(dir));
    }

    loaded = snpg_keystore_load(state, path, &error);
    g_assert_no_error(error);
    g_assert_true(snpg_secret_equal(key, loaded));

    /* Never replaced; each VM gets its own random key. */
    g_assert_null(snpg_keystore_create(state, UUID_A, NULL, &error));
    g_assert_error(error, SNPG_KEYSTORE_ERROR, SNPG_KEYSTORE_ERROR_EXISTS);
    g_clear_error(&error);
    other = snpg_keystore_create(state, UUID_B, NULL, &error);
    g_assert_no_error(error);
    g_assert_false(snpg_secret_equal(key, other));
    g_assert_null(snpg_keystore_create(state, "../../etc/x", NULL, &error));
    g_assert_error(error, SNPG_KEYSTORE_ERROR, SNPG_KEYSTORE_ERROR_INVALID);
    g_clear_error(&error);

    /* Only paths of this store load. */
    {
        static const char *const bad[] = {
            "../registry.db", "keys/../registry.db", "/etc/passwd", "keys/x.key",
            "keys/" UUID_A ".key/..", "other/" UUID_A ".key", "",
        };
        for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
            g_assert_null(snpg_keystore_load(state, bad[i], &error));
            g_assert_error(error, SNPG_KEYSTORE_ERROR, SNPG_KEYSTORE_ERROR_INVALID);
            g_clear_error(&error);
        }
    }
    /* Readable by others, a symbolic link, the wrong size: refused. */
    g_assert_cmpint(chmod(file, 0644), ==, 0);
    g_assert_null(snpg_keystore_load(state, path, &error));
    g_assert_error(error, SNPG_KEYSTORE_ERROR, SNPG_KEYSTORE_ERROR_INSECURE);
    g_clear_error(&error);
    g_assert_cmpint(chmod(file, 0600), ==, 0);
    link_path = g_build_filename(keys, UUID_C ".key", NULL);
    g_assert_cmpint(symlink(file, link_path), ==, 0);
    g_assert_null(snpg_keystore_load(state, "keys/" UUID_C ".key", &error));
    g_assert_error(error, SNPG_KEYSTORE_ERROR, SNPG_KEYSTORE_ERROR_INSECURE);
    g_clear_error(&error);
    g_assert_cmpint(unlink(link_path), ==, 0);
    {
        g_autofree char *short_path = g_build_filename(keys, UUID_C ".key", NULL);
        int fd = open(short_path, O_WRONLY | O_CREAT | O_EXCL, 0600);
        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(write(fd, "short", 5), ==, 5);
        close(fd);
        g_assert_null(snpg_keystore_load(state, "keys/" UUID_C ".key", &error));
        g_assert_error(error, SNPG_KEYSTORE_ERROR, SNPG_KEYSTORE_ERROR_INVALID);
        g_clear_error(&error);
    }

    /* Delete: gone (even when someone made it readable); again: fine
     * (undefine may be repeated). */
    g_assert_cmpint(chmod(file, 0644), ==, 0);
    g_assert_true(snpg_keystore_delete(state, path, &error));
    g_assert_no_error(error);
    g_assert_false(g_file_test(file, G_FILE_TEST_EXISTS));
    g_assert_true(snpg_keystore_delete(state, path, &error));
    g_assert_no_error(error);
    g_assert_null(snpg_keystore_load(state, path, &error));
    g_assert_error(error, SNPG_KEYSTORE_ERROR, SNPG_KEYSTORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_assert_false(snpg_keystore_delete(state, "/etc/passwd", &error));
    g_assert_error(error, SNPG_KEYSTORE_ERROR, SNPG_KEYSTORE_ERROR_INVALID);
}

static gboolean
contains(const char *hay, gsize hay_len, const void *needle, gsize len)
{
    return hay && memmem(hay, hay_len, needle, len) != NULL;
}

/* The registry knows where the key is, never what it is. */
static void
test_key_not_in_database(void)
{
    g_autofree char *state = new_state_dir();
    g_autoptr(SnpgRegistry) reg = open_registry(state);
    g_autoptr(SnpgVmRecord) rec = make_vm("alpha", UUID_A, MEASUREMENT_A);
    g_autoptr(SnpgSecret) key = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *hex = NULL, *b64 = NULL;
    static const char *const files[] = { SNPG_REGISTRY_FILE, SNPG_REGISTRY_FILE "-wal" };

    key = snpg_keystore_create(state, UUID_A, &rec->key_path, &error);
    g_assert_no_error(error);
    g_assert_true(snpg_registry_add_vm(reg, rec, &error));
    g_assert_no_error(error);
    add_event(reg, SNPG_EVENT_KEY_RELEASE, "alpha", SNPG_VERDICT_ACCEPTED, NULL);
    g_clear_pointer(&reg, snpg_registry_close);    /* checkpoints the WAL */
    reg = open_registry(state);
    add_event(reg, SNPG_EVENT_STOP, "alpha", SNPG_VERDICT_NONE, NULL);  /* the WAL has frames */

    hex = snpg_test_hex(snpg_secret_data(key), snpg_secret_len(key));
    b64 = g_base64_encode(snpg_secret_data(key), snpg_secret_len(key));
    for (gsize i = 0; i < G_N_ELEMENTS(files); i++) {
        g_autofree char *path = g_build_filename(state, files[i], NULL);
        g_autofree char *bytes = NULL;
        gsize len = 0;

        g_assert_true(g_file_get_contents(path, &bytes, &len, NULL));
        g_assert_cmpuint(len, >, 0);
        /* The path is there (so the search does find what is stored) ... */
        if (i == 0)
            g_assert_true(contains(bytes, len, rec->key_path, strlen(rec->key_path)));
        /* ... and no form of the key, nor its first half. */
        g_assert_false(contains(bytes, len, snpg_secret_data(key), snpg_secret_len(key)));
        g_assert_false(contains(bytes, len, snpg_secret_data(key), 16));
        g_assert_false(contains(bytes, len, hex, strlen(hex)));
        g_assert_false(contains(bytes, len, b64, strlen(b64)));
    }
}

/* What a define killed before its commit leaves: a key no VM refers to. */
static void
test_orphan_keys(void)
{
    g_autofree char *state = new_state_dir();
    g_autoptr(SnpgRegistry) reg = open_registry(state);
    g_autoptr(SnpgVmRecord) rec = make_vm("alpha", UUID_A, MEASUREMENT_A);
    g_autoptr(SnpgSecret) a = NULL, b = NULL, c = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *b_path = NULL, *c_path = NULL;
    g_autofree char *a_file = NULL, *b_file = NULL, *c_file = NULL, *other = NULL;
    struct utimbuf old = { 1000000000, 1000000000 };
    guint removed = 99;

    a = snpg_keystore_create(state, UUID_A, &rec->key_path, &error);
    b = snpg_keystore_create(state, UUID_B, &b_path, &error);
    c = snpg_keystore_create(state, UUID_C, &c_path, &error);
    g_assert_no_error(error);
    g_assert_true(snpg_registry_add_vm(reg, rec, &error));
    a_file = g_build_filename(state, rec->key_path, NULL);
    b_file = g_build_filename(state, b_path, NULL);
    c_file = g_build_filename(state, c_path, NULL);
    other = snpg_test_write(state, "keys/notes.txt", "x", 1);
    g_assert_cmpint(utime(a_file, &old), ==, 0);
    g_assert_cmpint(utime(b_file, &old), ==, 0);
    g_assert_cmpint(utime(other, &old), ==, 0);

    /* B is old and unreferred: removed. A is referred to, C is young (a
     * define may be in progress), notes.txt is not a key name: kept. */
    g_assert_true(snpg_registry_remove_orphan_keys(reg, 3600, &removed, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(removed, ==, 1);
    g_assert_true(g_file_test(a_file, G_FILE_TEST_EXISTS));
    g_assert_false(g_file_test(b_file, G_FILE_TEST_EXISTS));
    g_assert_true(g_file_test(c_file, G_FILE_TEST_EXISTS));
    g_assert_true(g_file_test(other, G_FILE_TEST_EXISTS));
    g_assert_true(snpg_registry_remove_orphan_keys(reg, 0, &removed, &error));
    g_assert_cmpuint(removed, ==, 1);
    g_assert_false(g_file_test(c_file, G_FILE_TEST_EXISTS));
    g_assert_true(g_file_test(a_file, G_FILE_TEST_EXISTS));
}

/* ---- the CLI ------------------------------------------------------------ */

static JsonArray *
parse_array(const char *text, JsonParser *parser)
{
    g_autoptr(GError) error = NULL;
    JsonNode *root;

    g_assert_true(json_parser_load_from_data(parser, text, -1, &error));
    g_assert_no_error(error);
    root = json_parser_get_root(parser);
    g_assert_true(JSON_NODE_HOLDS_ARRAY(root));
    return json_node_get_array(root);
}

static gboolean
is_iso_time(const char *s)
{
    return g_regex_match_simple("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{6}Z$", s, 0, 0);
}

/* WAL: a reader is not held up by a writer in the middle of a transaction,
 * and sees only what was committed. */
static void
test_reader_not_blocked(void)
{
    g_autofree char *state = new_state_dir();
    g_autoptr(SnpgRegistry) reg = open_registry(state);
    g_autoptr(SnpgVmRecord) a = make_vm("alpha", UUID_A, MEASUREMENT_A);
    g_autoptr(SnpgVmRecord) b = make_vm("beta", UUID_B, MEASUREMENT_B);
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) error = NULL;
    g_auto(SnpgRun) run = { 0 };
    gint64 start;

    g_assert_true(snpg_registry_add_vm(reg, a, &error));
    g_assert_true(snpg_registry_begin(reg, &error));
    g_assert_true(snpg_registry_add_vm(reg, b, &error));
    start = g_get_monotonic_time();
    snpg_run(&run, NULL, "list", "--json", "--state-dir", state, NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    g_assert_cmpuint(json_array_get_length(parse_array(run.out, parser)), ==, 1);
    snpg_run_clear(&run);
    snpg_run(&run, NULL, "history", "--json", "--state-dir", state, NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    g_assert_cmpuint(json_array_get_length(parse_array(run.out, parser)), ==, 1);
    /* Far below the busy timeout (10 s): nobody waited for the lock. */
    g_assert_cmpint(g_get_monotonic_time() - start, <, 5 * G_USEC_PER_SEC);
    g_assert_true(snpg_registry_commit(reg, &error));
    snpg_run_clear(&run);
    snpg_run(&run, NULL, "list", "--json", "--state-dir", state, NULL);
    g_assert_cmpuint(json_array_get_length(parse_array(run.out, parser)), ==, 2);
}

static void
seed_cli_registry(const char *state)
{
    g_autoptr(SnpgRegistry) reg = open_registry(state);
    g_autoptr(SnpgVmRecord) a = make_vm("alpha", UUID_A, MEASUREMENT_A);
    g_autoptr(SnpgVmRecord) b = make_vm("beta", UUID_B, MEASUREMENT_B);
    g_autoptr(SnpgEvent) att = snpg_event_new(SNPG_EVENT_ATTESTATION, "alpha");
    g_autoptr(GError) error = NULL;

    b->workflow = (g_free(b->workflow), g_strdup("integrity"));
    g_assert_true(snpg_registry_add_vm(reg, a, &error));
    g_assert_true(snpg_registry_add_vm(reg, b, &error));
    att->verdict = SNPG_VERDICT_REJECTED;
    att->reasons = g_strsplit("measurement,tcb-mismatch", ",", -1);
    att->measurement = g_strdup(MEASUREMENT_B);
    att->has_tcb = TRUE;
    att->tcb = 0x0b00000000000004;
    att->detail = g_strdup("the initrd changed");
    g_assert_true(snpg_registry_add_event(reg, att, &error));
    add_event(reg, SNPG_EVENT_START_REFUSED, "beta", SNPG_VERDICT_REFUSED, "measurement");
    add_event(reg, SNPG_EVENT_ATTESTATION, "alpha", SNPG_VERDICT_ACCEPTED, NULL);
    add_event(reg, SNPG_EVENT_KEY_RELEASE, "alpha", SNPG_VERDICT_ACCEPTED, NULL);
    g_assert_no_error(error);
}

static void
test_cli_history(void)
{
    g_autofree char *state = new_state_dir();
    g_auto(SnpgRun) run = { 0 };
    g_autoptr(JsonParser) parser = json_parser_new();
    JsonArray *arr;
    JsonObject *o;

    seed_cli_registry(state);

    snpg_run(&run, NULL, "history", "--json", "--state-dir", state, NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    g_assert_cmpstr(run.err, ==, "");
    arr = parse_array(run.out, parser);
    g_assert_cmpuint(json_array_get_length(arr), ==, 6);
    for (guint i = 0; i < 6; i++) {
        o = json_array_get_object_element(arr, i);
        g_assert_true(is_iso_time(json_object_get_string_member(o, "time")));
        g_assert_true(json_object_has_member(o, "verdict"));
        g_assert_true(JSON_NODE_HOLDS_ARRAY(json_object_get_member(o, "reasons")));
        if (i > 0)
            g_assert_cmpint(json_object_get_int_member(o, "id"), >,
                            json_object_get_int_member(json_array_get_object_element(arr, i - 1),
                                                       "id"));
    }
    o = json_array_get_object_element(arr, 0);
    g_assert_cmpstr(json_object_get_string_member(o, "vm"), ==, "alpha");
    g_assert_cmpstr(json_object_get_string_member(o, "event"), ==, "define");
    g_assert_true(json_object_get_null_member(o, "verdict"));
    g_assert_cmpstr(json_object_get_string_member(o, "measurement"), ==, MEASUREMENT_A);
    g_assert_cmpstr(json_object_get_string_member(o, "vm_uuid"), ==, UUID_A);
    o = json_array_get_object_element(arr, 2);
    g_assert_cmpstr(json_object_get_string_member(o, "event"), ==, "attestation");
    g_assert_cmpstr(json_object_get_string_member(o, "verdict"), ==, "rejected");
    {
        JsonArray *reasons = json_object_get_array_member(o, "reasons");
        g_assert_cmpuint(json_array_get_length(reasons), ==, 2);
        g_assert_cmpstr(json_array_get_string_element(reasons, 0), ==, "measurement");
        g_assert_cmpstr(json_array_get_string_element(reasons, 1), ==, "tcb-mismatch");
    }
    g_assert_cmpstr(json_object_get_string_member(o, "tcb"), ==, "0xb00000000000004");
    g_assert_cmpstr(json_object_get_string_member(o, "detail"), ==, "the initrd changed");
    o = json_array_get_object_element(arr, 5);   /* newest last */
    g_assert_cmpstr(json_object_get_string_member(o, "event"), ==, "key-release");
    g_assert_cmpstr(json_object_get_string_member(o, "verdict"), ==, "accepted");
    g_assert_cmpuint(json_array_get_length(json_object_get_array_member(o, "reasons")), ==, 0);
    snpg_run_clear(&run);

    /* One VM, newest two. */
    snpg_run(&run, NULL, "history", "alpha", "--json", "--limit", "2", "--state-dir", state, NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    arr = parse_array(run.out, parser);
    g_assert_cmpuint(json_array_get_length(arr), ==, 2);
    o = json_array_get_object_element(arr, 0);
    g_assert_cmpstr(json_object_get_string_member(o, "event"), ==, "attestation");
    g_assert_cmpstr(json_object_get_string_member(o, "verdict"), ==, "accepted");
    o = json_array_get_object_element(arr, 1);
    g_assert_cmpstr(json_object_get_string_member(o, "event"), ==, "key-release");
    snpg_run_clear(&run);

    /* $SNPGUARD_STATE_DIR stands in for --state-dir. */
    {
        const char *argv[] = { g_getenv("SNPGUARD"), "history", "beta", "--json", NULL };
        g_auto(GStrv) env = g_environ_setenv(g_get_environ(), SNPG_STATE_DIR_ENV, state, TRUE);
        g_autofree char *out = NULL;
        int status = 0;

        g_assert_true(g_spawn_sync(NULL, (char **)argv, env, G_SPAWN_STDERR_TO_DEV_NULL, NULL,
                                   NULL, &out, NULL, &status, NULL));
        g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        arr = parse_array(out, parser);
        g_assert_cmpuint(json_array_get_length(arr), ==, 2);
        o = json_array_get_object_element(arr, 1);
        g_assert_cmpstr(json_object_get_string_member(o, "event"), ==, "start-refused");
        g_assert_cmpstr(json_object_get_string_member(o, "verdict"), ==, "refused");
    }

    /* Text: a header, a rule, one line per event, oldest first. */
    snpg_run(&run, NULL, "history", "--state-dir", state, NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    {
        g_auto(GStrv) lines = g_strsplit(run.out, "\n", -1);

        g_assert_cmpuint(g_strv_length(lines), ==, 2 + 6 + 1);
        g_assert_true(g_str_has_prefix(lines[0], " Time (UTC)"));
        g_assert_nonnull(strstr(lines[0], "Verdict"));
        g_assert_true(g_str_has_prefix(lines[1], "-----"));
        g_assert_true(g_regex_match_simple(
            "^ \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d +alpha +define +- +-$", lines[2], 0, 0));
        g_assert_true(g_regex_match_simple(
            " alpha +attestation +rejected +measurement,tcb-mismatch +the initrd changed$",
            lines[4], 0, 0));
        g_assert_true(g_regex_match_simple(" beta +start-refused +refused +measurement$",
                                           lines[5], 0, 0));
        g_assert_cmpstr(lines[8], ==, "");
    }
    snpg_run_clear(&run);
}

/* The JSON writer against json-glib's parser: quotes, backslashes, UTF-8,
 * and control characters that only a tampered database could hold. */
static void
test_cli_history_json_strings(void)
{
    g_autofree char *state = new_state_dir();
    const char *name = "we\"ird\\name \xc3\xbcn\xc3\xaf" "c\xc3\xb8" "de \xf0\x9f\x94\x92";
    const char *detail = "said \"no\" \\ then {\"json\": [1]} \xe2\x80\x94 done";
    g_autoptr(JsonParser) parser = json_parser_new();
    g_auto(SnpgRun) run = { 0 };
    JsonArray *arr;
    JsonObject *o;

    {
        g_autoptr(SnpgRegistry) reg = open_registry(state);
        g_autoptr(SnpgEvent) ev = snpg_event_new(SNPG_EVENT_ERROR, name);
        g_autoptr(GError) error = NULL;
        sqlite3 *db = snpg_registry_db(reg);

        ev->detail = g_strdup(detail);
        ev->boot_id = g_strdup("b\\1");
        g_assert_true(snpg_registry_add_event(reg, ev, &error));
        g_assert_no_error(error);
        g_assert_cmpint(sqlite3_exec(db, "UPDATE events SET detail = 'bell' || char(7) || 'tab'"
                                         " || char(9) || 'nl' || char(10) || char(127) ||"
                                         " 'end', vm_uuid = 'x' || char(1) WHERE id = 1",
                                     NULL, NULL, NULL), ==, SQLITE_OK);
        ev->detail = (g_free(ev->detail), g_strdup(detail));
        g_assert_true(snpg_registry_add_event(reg, ev, &error));
        g_assert_no_error(error);
    }
    snpg_run(&run, NULL, "history", name, "--json", "--state-dir", state, NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    /* RFC 8259 forbids raw control characters in strings (json-glib's
     * parser lets them pass, so look at the bytes). */
    for (const char *p = run.out; *p; p++)
        g_assert_true((guchar)*p >= 0x20 || *p == '\n');
    arr = parse_array(run.out, parser);
    g_assert_cmpuint(json_array_get_length(arr), ==, 2);
    o = json_array_get_object_element(arr, 0);
    g_assert_cmpstr(json_object_get_string_member(o, "vm"), ==, name);
    g_assert_cmpstr(json_object_get_string_member(o, "detail"), ==, "bell\atab\tnl\n\x7f" "end");
    g_assert_cmpstr(json_object_get_string_member(o, "vm_uuid"), ==, "x\x01");
    g_assert_cmpstr(json_object_get_string_member(o, "boot_id"), ==, "b\\1");
    o = json_array_get_object_element(arr, 1);
    g_assert_cmpstr(json_object_get_string_member(o, "detail"), ==, detail);
    g_assert_true(json_object_get_null_member(o, "verdict"));
    g_assert_true(json_object_get_null_member(o, "measurement"));
    g_assert_true(json_object_get_null_member(o, "tcb"));
}

/* A summary leaves the digests out; everything else is as in full. */
static void
test_history_summary(void)
{
    g_autofree char *state = new_state_dir();
    g_autoptr(SnpgRegistry) reg = open_registry(state);
    g_autoptr(SnpgVmRecord) a = make_vm("alpha", UUID_A, MEASUREMENT_A);
    g_autoptr(GPtrArray) full = NULL;
    g_autoptr(GPtrArray) summary = g_ptr_array_new_with_free_func((GDestroyNotify)snpg_event_free);
    g_autoptr(GError) error = NULL;

    g_assert_true(snpg_registry_add_vm(reg, a, &error));
    add_event(reg, SNPG_EVENT_ATTESTATION, "alpha", SNPG_VERDICT_REJECTED, "measurement,vmpl");
    g_assert_true(snpg_registry_history(reg, "alpha", 0, &full, &error));
    g_assert_true(snpg_registry_foreach_event(reg, "alpha", 0, SNPG_HISTORY_SUMMARY,
                                              collect_copy, summary, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(summary->len, ==, 2);
    for (guint i = 0; i < 2; i++) {
        const SnpgEvent *f = full->pdata[i], *s = summary->pdata[i];

        g_assert_cmpint(f->id, ==, s->id);
        g_assert_cmpint(f->time, ==, s->time);
        g_assert_cmpint(f->kind, ==, s->kind);
        g_assert_cmpint(f->verdict, ==, s->verdict);
        g_assert_true(g_strv_equal((const char *const *)f->reasons,
                                   (const char *const *)s->reasons));
        g_assert_null(s->measurement);
    }
    g_assert_cmpstr(((SnpgEvent *)full->pdata[0])->measurement, ==, MEASUREMENT_A);
}

static void
test_cli_list(void)
{
    g_autofree char *state = new_state_dir();
    g_auto(SnpgRun) run = { 0 };
    g_autoptr(JsonParser) parser = json_parser_new();
    JsonArray *arr;
    JsonObject *o, *last;

    seed_cli_registry(state);
    snpg_run(&run, NULL, "list", "--json", "--state-dir", state, NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    arr = parse_array(run.out, parser);
    g_assert_cmpuint(json_array_get_length(arr), ==, 2);
    o = json_array_get_object_element(arr, 0);
    g_assert_cmpstr(json_object_get_string_member(o, "name"), ==, "alpha");
    g_assert_cmpstr(json_object_get_string_member(o, "uuid"), ==, UUID_A);
    g_assert_cmpstr(json_object_get_string_member(o, "workflow"), ==, "encrypted");
    g_assert_cmpstr(json_object_get_string_member(o, "expected_measurement"), ==, MEASUREMENT_A);
    g_assert_false(json_object_get_boolean_member(o, "has_key"));
    last = json_object_get_object_member(o, "last_verdict");
    g_assert_cmpstr(json_object_get_string_member(last, "event"), ==, "key-release");
    g_assert_cmpstr(json_object_get_string_member(last, "verdict"), ==, "accepted");
    o = json_array_get_object_element(arr, 1);
    g_assert_cmpstr(json_object_get_string_member(o, "name"), ==, "beta");
    g_assert_cmpstr(json_object_get_string_member(o, "workflow"), ==, "integrity");
    last = json_object_get_object_member(o, "last_verdict");
    g_assert_cmpstr(json_object_get_string_member(last, "verdict"), ==, "refused");
    g_assert_cmpstr(json_array_get_string_element(json_object_get_array_member(last, "reasons"),
                                                  0), ==, "measurement");
    snpg_run_clear(&run);

    snpg_run(&run, NULL, "list", "--state-dir", state, NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    {
        g_auto(GStrv) lines = g_strsplit(run.out, "\n", -1);

        g_assert_cmpuint(g_strv_length(lines), ==, 5);
        g_assert_true(g_regex_match_simple("^ Name +Workflow +Last verdict +Expected measurement$",
                                           lines[0], 0, 0));
        g_assert_cmpstr(lines[2], ==, " alpha  encrypted  accepted      " MEASUREMENT_A);
        g_assert_cmpstr(lines[3], ==, " beta   integrity  refused       " MEASUREMENT_B);
    }
}

static void
test_cli_empty_and_errors(void)
{
    g_autofree char *tmp = snpg_test_tmpdir();
    g_autofree char *missing = g_build_filename(tmp, "missing", NULL);
    g_autofree char *open_dir = g_build_filename(tmp, "open", NULL);
    g_auto(SnpgRun) run = { 0 };
    static const char *const usage[][4] = {
        { "history", "a", "b", NULL },
        { "history", "--limit", "0", NULL },
        { "history", "--limit", "-1", NULL },
        { "history", "--limit", "lots", NULL },
        { "history", "--no-such-option", NULL },
        { "list", "extra", NULL },
        { "list", "--no-such-option", NULL },
    };

    /* Nothing defined yet: empty output, exit 0, and nothing created. */
    snpg_run(&run, NULL, "history", "--json", "--state-dir", missing, NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    g_assert_cmpstr(run.out, ==, "[]\n");
    snpg_run_clear(&run);
    snpg_run(&run, NULL, "list", "--json", "--state-dir", missing, NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    g_assert_cmpstr(run.out, ==, "[]\n");
    snpg_run_clear(&run);
    g_assert_false(g_file_test(missing, G_FILE_TEST_EXISTS));

    /* A state directory others can read: exit 1, one line naming it. */
    g_assert_cmpint(mkdir(open_dir, 0755), ==, 0);
    g_assert_cmpint(chmod(open_dir, 0755), ==, 0);
    snpg_run(&run, NULL, "history", "--state-dir", open_dir, NULL);
    g_assert_cmpint(run.exit_code, ==, 1);
    g_assert_cmpstr(run.out, ==, "");
    g_assert_true(g_str_has_prefix(run.err, "snpguard: error: The state directory '"));
    g_assert_nonnull(strstr(run.err, "chmod 0700"));
    snpg_run_clear(&run);
    snpg_run(&run, NULL, "list", "--state-dir", open_dir, NULL);
    g_assert_cmpint(run.exit_code, ==, 1);
    snpg_run_clear(&run);

    /* Not a database: exit 1, one line naming the file. */
    {
        g_autofree char *bad_state = g_build_filename(tmp, "bad", NULL);
        g_autofree char *db = NULL;

        g_assert_cmpint(mkdir(bad_state, 0700), ==, 0);
        db = snpg_test_write(bad_state, SNPG_REGISTRY_FILE, "this is not SQLite, honestly: "
                             "it is just text that happens to be in the way\n", 75);
        snpg_run(&run, NULL, "history", "--state-dir", bad_state, NULL);
        g_assert_cmpint(run.exit_code, ==, 1);
        g_assert_cmpstr(run.out, ==, "");
        g_assert_true(g_str_has_prefix(run.err, "snpguard: error: "));
        g_assert_nonnull(strstr(run.err, db));
        g_assert_cmpuint(strchr(run.err, '\n') - run.err + 1, ==, strlen(run.err));
        snpg_run_clear(&run);
    }

    /* Usage errors: exit 2, one error line and the --help hint. */
    for (gsize i = 0; i < G_N_ELEMENTS(usage); i++) {
        g_auto(GStrv) lines = NULL;
        g_autofree char *hint = g_strdup_printf("Run 'snpguard %s --help' for usage.", usage[i][0]);

        snpg_runv(&run, NULL, usage[i]);
        g_assert_cmpint(run.exit_code, ==, 2);
        g_assert_cmpstr(run.out, ==, "");
        lines = g_strsplit(run.err, "\n", -1);
        g_assert_cmpuint(g_strv_length(lines), ==, 3);
        g_assert_true(g_str_has_prefix(lines[0], "snpguard: error: "));
        g_assert_cmpstr(lines[1], ==, hint);
        snpg_run_clear(&run);
    }
    snpg_run(&run, NULL, "history", "--help", NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    g_assert_nonnull(strstr(run.out, "  snpguard history [OPTION"));
    g_assert_nonnull(strstr(run.out, "] [NAME]\n"));
    snpg_run_clear(&run);
    snpg_run(&run, NULL, "list", "--help", NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    g_assert_nonnull(strstr(run.out, "  snpguard list [OPTION"));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_setenv("LC_ALL", "C.UTF-8", TRUE);
    g_test_add_func("/registry/state-dir/resolve", test_state_dir_resolve);
    g_test_add_func("/registry/state-dir/modes", test_state_dir_modes);
    g_test_add_func("/registry/vm/roundtrip", test_vm_roundtrip);
    g_test_add_func("/registry/vm/duplicate", test_vm_duplicate);
    g_test_add_func("/registry/vm/invalid", test_vm_invalid);
    g_test_add_func("/registry/event/fields", test_event_fields);
    g_test_add_func("/registry/event/time-format", test_event_time_format);
    g_test_add_func("/registry/history/order", test_history_order);
    g_test_add_func("/registry/transaction", test_transaction);
    g_test_add_func("/registry/concurrent-writers", test_concurrent_writers);
    g_test_add_func("/registry/killed-writer", test_killed_writer);
    g_test_add_func("/registry/killed-writer-spilled", test_killed_writer_spilled);
    g_test_add_func("/registry/killed-writers-random", test_killed_writers_random);
    g_test_add_func("/registry/migrations", test_migrations);
    g_test_add_func("/registry/journal-mode", test_journal_mode);
    g_test_add_func("/keystore/create-load-delete", test_keystore);
    g_test_add_func("/keystore/not-in-database", test_key_not_in_database);
    g_test_add_func("/keystore/orphans", test_orphan_keys);
    g_test_add_func("/cli/reader-not-blocked", test_reader_not_blocked);
    g_test_add_func("/cli/history", test_cli_history);
    g_test_add_func("/cli/history-json-strings", test_cli_history_json_strings);
    g_test_add_func("/registry/history/summary", test_history_summary);
    g_test_add_func("/cli/list", test_cli_list);
    g_test_add_func("/cli/empty-and-errors", test_cli_empty_and_errors);
    return g_test_run();
}
