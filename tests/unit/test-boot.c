/* One boot of a managed VM (boot.h) and the hook's records (hookworker.h),
 * against a real registry: boot ids from the live XML, the boot's state and
 * verdict as the registry's events say, the stop record with and without a
 * domain id, and which VMs the hook's worker leaves alone. No libvirt. */
#include "config.h"

#include <string.h>

#include "boot.h"
#include "domain.h"
#include "hookworker.h"
#include "registry.h"
#include "testutil.h"

#define UUID "6d1c39a2-8b0e-4c5f-9f7a-0b1c2d3e4f50"
#define MEASUREMENT "5e" "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" "e5"

static char *
new_state(void)
{
    g_autofree char *tmp = snpg_test_tmpdir();

    return g_build_filename(tmp, "state", NULL);
}

static SnpgRegistry *
registry_with_vm(const char *state, const char *name, const char *mode)
{
    g_autoptr(GError) error = NULL;
    SnpgRegistry *reg = snpg_registry_open(state, SNPG_REGISTRY_OPEN_CREATE, &error);
    g_autoptr(SnpgVmRecord) rec = snpg_vm_record_new(name);

    g_assert_no_error(error);
    rec->uuid = g_strdup(UUID);
    rec->workflow = g_strdup("none");
    rec->expected_measurement = g_strdup(MEASUREMENT);
    rec->failure_action = g_strdup("destroy");
    rec->verifier_mode = g_strdup(mode);
    g_assert_true(snpg_registry_add_vm(reg, rec, &error));
    g_assert_no_error(error);
    return reg;
}

static xmlDoc *
parse(const char *xml)
{
    g_autoptr(GError) error = NULL;
    xmlDoc *doc = snpg_domain_parse(xml, strlen(xml), "test", &error);

    g_assert_no_error(error);
    return doc;
}

static void
add(SnpgRegistry *reg, const char *vm, SnpgEventKind kind, SnpgVerdict verdict,
    const char *boot_id)
{
    g_autoptr(SnpgEvent) ev = snpg_event_new(kind, vm);
    g_autoptr(GError) error = NULL;

    ev->verdict = verdict;
    ev->boot_id = g_strdup(boot_id);
    if (kind == SNPG_EVENT_ATTESTATION && verdict == SNPG_VERDICT_REJECTED)
        ev->reasons = g_strsplit("measurement,policy", ",", -1);
    g_assert_true(snpg_registry_add_event(reg, ev, &error));
    g_assert_no_error(error);
}

static void
test_id_from_xml(void)
{
    struct { const char *xml; const char *id; } cases[] = {
        { "<domain type='qemu' id='7'><name>a</name><uuid>" UUID "</uuid></domain>",
          UUID "/7" },
        /* libvirt's UUIDs are lowercase; virDomainGetUUIDString's too. */
        { "<domain id='12'><uuid>6D1C39A2-8B0E-4C5F-9F7A-0B1C2D3E4F50</uuid></domain>",
          UUID "/12" },
        { "<domain><uuid>" UUID "</uuid></domain>", NULL },          /* not running */
        { "<domain id='-1'><uuid>" UUID "</uuid></domain>", NULL },
        { "<domain id='1x'><uuid>" UUID "</uuid></domain>", NULL },
        { "<domain id='3'><uuid>not-a-uuid</uuid></domain>", NULL },
        { "<domain id='3'/>", NULL },
    };

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(xmlDoc) doc = parse(cases[i].xml);
        g_autofree char *id = snpg_boot_id_from_xml(doc);

        g_assert_cmpstr(id, ==, cases[i].id);
    }
    g_assert_null(snpg_boot_id(UUID, 0));
    g_assert_null(snpg_boot_id(NULL, 3));
}

static void
test_modes(void)
{
    g_autoptr(SnpgVmRecord) rec = snpg_vm_record_new("vm");

    g_assert_cmpstr(snpg_boot_verifier_mode(rec), ==, "hook");
    rec->verifier_mode = g_strdup("watch");
    g_assert_cmpstr(snpg_boot_verifier_mode(rec), ==, "watch");
    g_assert_true(snpg_boot_verifier_mode_valid("hook"));
    g_assert_true(snpg_boot_verifier_mode_valid("watch"));
    g_assert_true(snpg_boot_verifier_mode_valid("manual"));
    g_assert_false(snpg_boot_verifier_mode_valid("both"));
    g_assert_false(snpg_boot_verifier_mode_valid(NULL));

    g_unsetenv("SNPGUARD_AGENT_WINDOW");
    g_assert_cmpint(snpg_boot_agent_window_us(rec), ==, 120 * G_USEC_PER_SEC);
    g_setenv("SNPGUARD_AGENT_WINDOW", "7", TRUE);
    g_assert_cmpint(snpg_boot_agent_window_us(rec), ==, 7 * G_USEC_PER_SEC);
    snpg_vm_record_set_setting(rec, SNPG_VM_SETTING_AGENT_WINDOW, "9");
    g_assert_cmpint(snpg_boot_agent_window_us(rec), ==, 9 * G_USEC_PER_SEC);
    /* Out of bounds or not a number: the next source. */
    snpg_vm_record_set_setting(rec, SNPG_VM_SETTING_AGENT_WINDOW, "0");
    g_assert_cmpint(snpg_boot_agent_window_us(rec), ==, 7 * G_USEC_PER_SEC);
    g_setenv("SNPGUARD_AGENT_WINDOW", "99999999999", TRUE);
    g_assert_cmpint(snpg_boot_agent_window_us(rec), ==, 120 * G_USEC_PER_SEC);
    g_unsetenv("SNPGUARD_AGENT_WINDOW");
}

static void
test_state_and_verdict(void)
{
    g_autofree char *state = new_state();
    g_autoptr(SnpgRegistry) reg = registry_with_vm(state, "vm", "watch");
    g_autoptr(GError) error = NULL;
    const char *b1 = UUID "/1", *b2 = UUID "/2";
    SnpgBootState st;

    g_assert_true(snpg_boot_get_state(reg, "vm", b1, &st, &error));
    g_assert_false(st.started || st.has_verdict || st.stopped);

    add(reg, "vm", SNPG_EVENT_START, SNPG_VERDICT_NONE, b1);
    add(reg, "vm", SNPG_EVENT_ATTESTATION, SNPG_VERDICT_REJECTED, b1);
    add(reg, "vm", SNPG_EVENT_FAILURE_ACTION, SNPG_VERDICT_REJECTED, b1);
    add(reg, "vm", SNPG_EVENT_START, SNPG_VERDICT_NONE, b2);   /* another boot */
    g_assert_true(snpg_boot_get_state(reg, "vm", b1, &st, &error));
    g_assert_true(st.started && st.has_verdict && !st.stopped);
    g_assert_true(snpg_boot_get_state(reg, "vm", b2, &st, &error));
    g_assert_true(st.started && !st.has_verdict);
    {
        g_auto(SnpgBootVerdict) v = { 0 };

        g_assert_true(snpg_boot_get_verdict(reg, "vm", b1, &v, &error));
        g_assert_cmpint(v.verdict, ==, SNPG_VERDICT_REJECTED);
        g_assert_cmpstr(v.reasons[0], ==, "measurement");
        g_assert_true(v.failure_action && !v.key_released);
    }
    {
        g_auto(SnpgBootVerdict) v = { 0 };

        g_assert_true(snpg_boot_get_verdict(reg, "vm", b2, &v, &error));
        g_assert_cmpint(v.verdict, ==, SNPG_VERDICT_NONE);
    }

    /* The id comes back after libvirtd restarted with nothing running: the
     * stop in between makes the new boot one without a verdict. */
    add(reg, "vm", SNPG_EVENT_STOP, SNPG_VERDICT_NONE, b1);
    g_assert_true(snpg_boot_get_state(reg, "vm", b1, &st, &error));
    g_assert_true(st.stopped && !st.has_verdict && !st.started);
    add(reg, "vm", SNPG_EVENT_START, SNPG_VERDICT_NONE, b1);
    add(reg, "vm", SNPG_EVENT_ATTESTATION, SNPG_VERDICT_ACCEPTED, b1);
    add(reg, "vm", SNPG_EVENT_KEY_RELEASE, SNPG_VERDICT_ACCEPTED, b1);
    add(reg, "vm", SNPG_EVENT_STOP, SNPG_VERDICT_NONE, b1);
    {
        g_auto(SnpgBootVerdict) v = { 0 };

        /* A verdict stays readable after its boot stopped (snpguard start
         * of a guest that powers off at once). */
        g_assert_true(snpg_boot_get_verdict(reg, "vm", b1, &v, &error));
        g_assert_cmpint(v.verdict, ==, SNPG_VERDICT_ACCEPTED);
        g_assert_true(v.key_released && v.key_confirmed && !v.failure_action);
        g_assert_true(!v.reasons || !v.reasons[0]);
    }
    {
        g_autofree char *latest = snpg_boot_latest(reg, "vm");

        g_assert_cmpstr(latest, ==, b1);
    }
    g_assert_no_error(error);
}

/* history's kinds in order, "kind:boot" */
static char *
kinds(SnpgRegistry *reg, const char *vm)
{
    g_autoptr(GPtrArray) events = NULL;
    g_autoptr(GString) s = g_string_new("");
    g_autoptr(GError) error = NULL;

    g_assert_true(snpg_registry_history(reg, vm, 0, &events, &error));
    for (guint i = 0; i < events->len; i++) {
        SnpgEvent *ev = g_ptr_array_index(events, i);

        g_string_append_printf(s, "%s%s:%s", i ? " " : "", snpg_event_kind_to_string(ev->kind),
                               ev->boot_id ? ev->boot_id : "-");
        snpg_event_free(ev);
    }
    g_ptr_array_set_free_func(events, NULL);
    return g_string_free(g_steal_pointer(&s), FALSE);
}

static void
test_hook_records(void)
{
    g_autofree char *state = new_state();
    g_autoptr(GError) error = NULL;
    g_autoptr(xmlDoc) live = parse("<domain id='4'><name>vm</name><uuid>" UUID "</uuid></domain>");
    g_autoptr(xmlDoc) gone = parse("<domain><name>vm</name><uuid>" UUID "</uuid></domain>");

    {
        g_autoptr(SnpgRegistry) reg = registry_with_vm(state, "vm", "hook");

        add(reg, "vm", SNPG_EVENT_START, SNPG_VERDICT_NONE, UUID "/4");
    }
    /* stopped with the domain id, then with none: the newest boot's. */
    g_assert_true(snpg_hook_worker_stopped(state, "vm", live, &error));
    g_assert_true(snpg_hook_worker_stopped(state, "vm", gone, &error));
    /* release after stopped records nothing more. */
    g_assert_true(snpg_hook_worker_released(state, "vm", gone, &error));
    /* VMs it does not know: nothing, and no error (the stop cannot fail). */
    g_assert_true(snpg_hook_worker_stopped(state, "other", live, &error));
    g_assert_true(snpg_hook_worker_released(state, "other", live, &error));
    /* started for a VM it does not know: no worker. */
    g_assert_true(snpg_hook_worker_started(state, "other", live, &error));
    g_assert_no_error(error);
    {
        g_autoptr(GError) e = NULL;
        g_autoptr(SnpgRegistry) reg = snpg_registry_open(state, 0, &e);
        g_autofree char *k = kinds(reg, "vm");

        g_assert_cmpstr(k, ==, "define:- start:" UUID "/4 stop:" UUID "/4 stop:" UUID "/4");
        g_assert_null(snpg_registry_get_vm(reg, "other", NULL));
    }
}

static void
test_watch_vms_left_alone(void)
{
    g_autofree char *state = new_state();
    g_autoptr(GError) error = NULL;
    g_autoptr(xmlDoc) live = parse("<domain id='4'><name>vm</name><uuid>" UUID "</uuid>"
                                   "<devices><channel type='unix'><source mode='bind' "
                                   "path='/nonexistent/sock'/><target type='virtio' "
                                   "name='org.snpguard.attest.0'/></channel></devices></domain>");
    g_autofree char *log = g_build_filename(state, "log", "vm.log", NULL);

    g_autoptr(SnpgRegistry) reg = registry_with_vm(state, "vm", "watch");
    /* A watch VM: no worker (not even its log), no stop record from the hook. */
    g_assert_true(snpg_hook_worker_started(state, "vm", live, &error));
    g_assert_true(snpg_hook_worker_stopped(state, "vm", live, &error));
    g_assert_no_error(error);
    g_assert_false(g_file_test(log, G_FILE_TEST_EXISTS));
    {
        g_autofree char *k = kinds(reg, "vm");

        g_assert_cmpstr(k, ==, "define:-");
    }
    /* A name that cannot be a file name is refused before any fork. */
    g_assert_false(snpg_hook_worker_started(state, "../x", live, &error));
    g_assert_nonnull(error);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/boot/id-from-xml", test_id_from_xml);
    g_test_add_func("/boot/modes-and-window", test_modes);
    g_test_add_func("/boot/state-and-verdict", test_state_and_verdict);
    g_test_add_func("/boot/hook-records", test_hook_records);
    g_test_add_func("/boot/watch-vms-left-alone", test_watch_vms_left_alone);
    return g_test_run();
}
