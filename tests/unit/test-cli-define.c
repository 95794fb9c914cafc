/* snpguard define, show, undefine and the start gate, against libvirt's
 * in-process test driver (test:///default: a fresh mock host per process,
 * with one domain named "test"): what is recorded, and that every failure
 * leaves nothing behind. The real daemon and QEMU are in
 * tests/integration/test-libvirt-define.sh. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>

#include "testutil.h"

#define TEST_URI "test:///default"

static char *tmp;
static char *state;
static char *firmware, *kernel, *initrd, *disk;

/* state_dir: SNPGUARD_STATE_DIR for this run, NULL: the test's. */
static void
run_stdin_in(SnpgRun *run, const char *state_dir, const char *stdin_text,
             const char *const *args)
{
    g_autoptr(GSubprocessLauncher) launcher =
        g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                  G_SUBPROCESS_FLAGS_STDERR_PIPE);
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(GSubprocess) proc = NULL;
    g_autoptr(GBytes) in = g_bytes_new(stdin_text, strlen(stdin_text));
    g_autoptr(GBytes) out = NULL, err = NULL;
    g_autoptr(GError) error = NULL;

    g_ptr_array_add(argv, (gpointer)g_getenv("SNPGUARD"));
    for (gsize i = 0; args[i]; i++)
        g_ptr_array_add(argv, (gpointer)args[i]);
    g_ptr_array_add(argv, NULL);
    if (state_dir)
        g_subprocess_launcher_setenv(launcher, "SNPGUARD_STATE_DIR", state_dir, TRUE);
    proc = g_subprocess_launcher_spawnv(launcher, (const char *const *)argv->pdata, &error);
    g_assert_no_error(error);
    g_assert_true(g_subprocess_communicate(proc, in, NULL, &out, &err, &error));
    g_assert_no_error(error);
    run->exit_code = g_subprocess_get_if_exited(proc) ? g_subprocess_get_exit_status(proc) : -1;
    run->out = g_strndup(g_bytes_get_size(out) ? g_bytes_get_data(out, NULL) : "",
                         g_bytes_get_size(out));
    run->err = g_strndup(g_bytes_get_size(err) ? g_bytes_get_data(err, NULL) : "",
                         g_bytes_get_size(err));
}

static void
run_stdin(SnpgRun *run, const char *stdin_text, const char *const *args)
{
    run_stdin_in(run, NULL, stdin_text, args);
}

static guint
count_keys(void)
{
    g_autofree char *dir = g_build_filename(state, "keys", NULL);
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    guint n = 0;

    while (d && g_dir_read_name(d))
        n++;
    return n;
}

static gboolean
registered(const char *name)
{
    g_auto(SnpgRun) run = { 0 };
    g_autofree char *quoted = g_strdup_printf("\"name\" : \"%s\"", name);

    snpg_run(&run, tmp, "list", "--json", NULL);
    return run.exit_code == 0 && strstr(run.out, quoted) != NULL;
}

/* define NAME --emulate with the test files, plus extra arguments. */
static void
define(SnpgRun *run, const char *name, const char *extra1, const char *extra2)
{
    const char *const args[] = { "define", name, "--emulate", "--connect", TEST_URI,
                                 "--firmware", firmware, "--kernel", kernel, "--initrd", initrd,
                                 "--workflow", "encrypted", "--disk", disk, extra1, extra2, NULL };

    snpg_runv(run, tmp, args);
}

/* Without --emulate, a host that cannot run SNP guests gets one error that
 * names what is missing (the test driver is this libvirt, < 10.5), and
 * nothing is created. */
static void
test_snp_host_check(void)
{
    g_auto(SnpgRun) run = { 0 };

    snpg_run(&run, tmp, "define", "snp1", "--connect", TEST_URI, "--firmware", firmware,
             "--kernel", kernel, "--initrd", initrd, NULL);
    g_assert_cmpint(run.exit_code, ==, 1);
    g_assert_nonnull(strstr(run.err, "cannot run SEV-SNP guests"));
    g_assert_nonnull(strstr(run.err, "libvirt >= 10.5 (this host has "));
    g_assert_nonnull(strstr(run.err, "--emulate"));
    g_assert_cmpuint(g_strv_length(g_strsplit(run.err, "\n", -1)), ==, 2);
    g_assert_false(g_file_test(state, G_FILE_TEST_EXISTS));
}

/* A define records the VM, its key and a define event, in one go. */
static void
test_define_registers(void)
{
    g_auto(SnpgRun) run = { 0 };
    g_auto(SnpgRun) again = { 0 };
    g_auto(SnpgRun) show = { 0 };
    g_auto(SnpgRun) hist = { 0 };
    g_autofree char *measurement = NULL;
    const char *p;

    define(&run, "vm1", NULL, NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    g_assert_nonnull((p = strstr(run.out, "expected measurement: ")));
    measurement = g_strndup(p + strlen("expected measurement: "), 96);
    g_assert_true(registered("vm1"));
    g_assert_cmpuint(count_keys(), ==, 1);

    /* show: the same value, the files with their digests, the assumptions,
     * the simulator's root trusted for this VM. */
    snpg_run(&show, tmp, "show", "vm1", "--json", NULL);
    g_assert_cmpint(show.exit_code, ==, 0);
    g_assert_nonnull(strstr(show.out, measurement));
    g_assert_nonnull(strstr(show.out, "\"role\" : \"initrd\""));
    g_assert_nonnull(strstr(show.out, "\"role\" : \"trust-root\""));
    g_assert_nonnull(strstr(show.out, "\"assumptions\" : [\n"));
    g_assert_nonnull(strstr(show.out, "\"gate\" : \"on\""));
    g_assert_nonnull(strstr(show.out, "\"verifier_mode\" : \"hook\""));
    g_assert_nonnull(strstr(show.out, "snpguard.psp=sim"));

    snpg_run(&hist, tmp, "history", "vm1", "--json", NULL);
    g_assert_nonnull(strstr(hist.out, "\"event\":\"define\""));

    /* The same name again: refused, no second key. */
    define(&again, "vm1", NULL, NULL);
    g_assert_cmpint(again.exit_code, ==, 1);
    g_assert_nonnull(strstr(again.err, "already manages a VM named 'vm1'"));
    g_assert_cmpuint(count_keys(), ==, 1);
}

/* Failures leave no registry row, no key and no domain. */
static void
test_define_leaves_nothing(void)
{
    g_autofree char *plain_fw = snpg_test_data("measure", "ovmf_OvmfX64_suffix.bin", NULL);
    g_autofree char *missing = g_build_filename(tmp, "missing", NULL);
    struct {
        const char *name, *opt, *value, *message;
        int exit_code;
    } cases[] = {
        { "test", NULL, NULL, "libvirt already has a domain named 'test'", 1 },
        { "a/b", NULL, NULL, "Invalid domain name", 1 },
        { "vm2", "--vcpus", "0", "--vcpus must be at least 1", 2 },
        { "vm2", "--vcpu-type", "Pentium-Pro-9000", "Pentium-Pro-9000", 1 },
        { "vm2", "--verifier", "sometimes", "--verifier takes hook, watch or manual", 2 },
    };
    guint keys = count_keys();

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_auto(SnpgRun) run = { 0 };

        define(&run, cases[i].name, cases[i].opt, cases[i].value);
        g_assert_cmpint(run.exit_code, ==, cases[i].exit_code);
        g_assert_nonnull(strstr(run.err, cases[i].message));
        g_assert_false(registered(cases[i].name));
        g_assert_cmpuint(count_keys(), ==, keys);
    }
    {
        g_auto(SnpgRun) run = { 0 };

        snpg_run(&run, tmp, "define", "vm2", "--emulate", "--connect", TEST_URI, "--firmware",
                 plain_fw, "--kernel", kernel, "--initrd", initrd, NULL);
        g_assert_cmpint(run.exit_code, ==, 1);
        g_assert_false(registered("vm2"));
    }
    {
        g_auto(SnpgRun) run = { 0 };

        snpg_run(&run, tmp, "define", "vm2", "--emulate", "--connect", TEST_URI, "--firmware",
                 firmware, "--kernel", missing, "--initrd", initrd, NULL);
        g_assert_cmpint(run.exit_code, ==, 1);
        g_assert_false(registered("vm2"));
    }
    g_assert_cmpuint(count_keys(), ==, keys);
}

/* One verifier per VM: two different --verifier are a usage error, before
 * anything is made; the same one twice is one. --agent-window is bounded. */
static void
test_one_verifier(void)
{
    struct { const char *a, *b, *window; int exit_code; const char *message; } cases[] = {
        { "hook", "watch", NULL, 2, "a VM has one verifier" },
        { "watch", "manual", NULL, 2, "a VM has one verifier" },
        { "both", "both", NULL, 2, "--verifier takes hook, watch or manual" },
        { "watch", "watch", "0", 2, "--agent-window takes seconds" },
        { "watch", "watch", "86401", 2, "--agent-window takes seconds" },
    };
    guint keys = count_keys();

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_auto(SnpgRun) run = { 0 };

        snpg_run(&run, tmp, "define", "vm5", "--emulate", "--connect", TEST_URI, "--firmware",
                 firmware, "--kernel", kernel, "--initrd", initrd, "--verifier", cases[i].a,
                 "--verifier", cases[i].b, cases[i].window ? "--agent-window" : NULL,
                 cases[i].window, NULL);
        g_assert_cmpint(run.exit_code, ==, cases[i].exit_code);
        g_assert_nonnull(strstr(run.err, cases[i].message));
        g_assert_false(registered("vm5"));
    }
    g_assert_cmpuint(count_keys(), ==, keys);
    {
        g_auto(SnpgRun) run = { 0 };
        g_auto(SnpgRun) show = { 0 };

        snpg_run(&run, tmp, "define", "vm5", "--emulate", "--connect", TEST_URI, "--firmware",
                 firmware, "--kernel", kernel, "--initrd", initrd, "--verifier", "watch",
                 "--verifier", "watch", "--agent-window", "30", NULL);
        g_assert_cmpint(run.exit_code, ==, 0);
        snpg_run(&show, tmp, "show", "vm5", "--json", NULL);
        g_assert_nonnull(strstr(show.out, "\"verifier_mode\" : \"watch\""));
        g_assert_nonnull(strstr(show.out, "\"agent-window\" : \"30\""));
    }
}

/* libvirt refusing the domain after the key was made and the VM added:
 * the transaction rolls back and the key is wiped (adopt and define
 * register alike). The test driver's domain "test" holds this UUID. */
static void
test_libvirt_refusal_rolls_back(void)
{
    const char *const print[] = { "define", "vm3", "--emulate", "--firmware", firmware,
                                  "--kernel", kernel, "--initrd", initrd, "--workflow",
                                  "encrypted", "--disk", disk, "--print-xml", NULL };
    g_auto(SnpgRun) xml = { 0 };
    g_auto(SnpgRun) run = { 0 };
    g_auto(SnpgRun) hist = { 0 };
    g_autofree char *path = NULL, *text = NULL;
    guint keys = count_keys();

    snpg_runv(&xml, tmp, print);
    g_assert_cmpint(xml.exit_code, ==, 0);
    text = g_strjoinv("<name>vm3</name><uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>",
                      g_strsplit(xml.out, "<name>vm3</name>", 2));
    path = snpg_test_write(tmp, "vm3.xml", text, strlen(text));
    snpg_run(&run, tmp, "adopt", "--xml", path, "--connect", TEST_URI, NULL);
    g_assert_cmpint(run.exit_code, ==, 1);
    g_assert_nonnull(strstr(run.err, "libvirt refused to define 'vm3'"));
    g_assert_false(registered("vm3"));
    g_assert_cmpuint(count_keys(), ==, keys);
    snpg_run(&hist, tmp, "history", "vm3", "--json", NULL);
    g_assert_null(strstr(hist.out, "vm3"));
}

/* The gate: the domain XML as defined passes prepare (root: the simulated
 * identity is written); after the initrd changed the start is refused with
 * one line naming it, and recorded. */
static void
test_gate(void)
{
    g_autofree char *pem = g_build_filename(state, "verifier.pem", NULL);
    const char *const print[] = { "define", "vm1", "--emulate", "--firmware", firmware,
                                  "--kernel", kernel, "--initrd", initrd, "--workflow",
                                  "encrypted", "--disk", disk, "--verifier-key", pem,
                                  "--print-xml", NULL };
    const char *const hook[] = { "hook", "vm1", "prepare", "begin", "-", NULL };
    g_auto(SnpgRun) xml = { 0 };
    g_auto(SnpgRun) pass = { 0 };
    g_auto(SnpgRun) refused = { 0 };
    g_auto(SnpgRun) hist = { 0 };
    FILE *f;

    snpg_runv(&xml, tmp, print);
    g_assert_cmpint(xml.exit_code, ==, 0);
    if (geteuid() == 0) {
        run_stdin(&pass, xml.out, hook);
        g_assert_cmpstr(pass.err, ==, "");
        g_assert_cmpint(pass.exit_code, ==, 0);
    }
    f = fopen(initrd, "a");
    g_assert_nonnull(f);
    fputs("changed", f);
    fclose(f);
    run_stdin(&refused, xml.out, hook);
    g_assert_cmpint(refused.exit_code, ==, 1);
    g_assert_cmpstr(refused.out, ==, "");
    g_assert_nonnull(strstr(refused.err, "refusing to start 'vm1'"));
    g_assert_nonnull(strstr(refused.err, "initrd-changed"));
    /* One line: libvirt shows it as the reason of the failed start. */
    g_assert_true(g_str_has_suffix(refused.err, "\n"));
    g_assert_null(strchr(refused.err, '\n')[1] ? strchr(refused.err, '\n') : NULL);
    snpg_run(&hist, tmp, "history", "vm1", "--json", NULL);
    g_assert_nonnull(strstr(hist.out, "\"event\":\"start-refused\",\"verdict\":\"refused\","
                                      "\"reasons\":[\"initrd-changed\"]"));
    /* libvirt then runs "stopped": a VM that never ran gets no stop record. */
    {
        const char *const stopped[] = { "hook", "vm1", "stopped", "end", "-", NULL };
        g_auto(SnpgRun) stop = { 0 };
        g_auto(SnpgRun) after = { 0 };

        run_stdin(&stop, xml.out, stopped);
        g_assert_cmpint(stop.exit_code, ==, 0);
        snpg_run(&after, tmp, "history", "vm1", "--json", NULL);
        g_assert_cmpstr(after.out, ==, hist.out);
    }
}

/* undefine: the row goes, the history stays, the key is kept unless
 * --remove-key confirms it. */
static void
test_undefine(void)
{
    g_auto(SnpgRun) run = { 0 };
    g_auto(SnpgRun) hist = { 0 };

    snpg_run(&run, tmp, "undefine", "vm1", "--connect", TEST_URI, NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    g_assert_nonnull(strstr(run.out, "disk key kept: "));
    g_assert_false(registered("vm1"));
    g_assert_cmpuint(count_keys(), ==, 0);
    snpg_run(&hist, tmp, "history", "vm1", "--json", NULL);
    g_assert_nonnull(strstr(hist.out, "\"event\":\"define\""));
    g_assert_nonnull(strstr(hist.out, "\"event\":\"undefine\""));
    if (geteuid() == 0) {
        /* undefine removed the identity the gate wrote; its directory goes too. */
        g_autofree char *id = g_compute_checksum_for_string(G_CHECKSUM_SHA256, state, -1);
        g_autofree char *dir = NULL;

        id[16] = '\0';
        dir = g_build_filename("/run/snpguard/emulate", id, NULL);
        g_assert_cmpint(rmdir(dir), ==, 0);
    }
}

/* A VM whose verifier is remote ('--verifier watch' defined from the
 * owner's machine) is unknown to this host's registry: the gate lets it
 * start (the watch's attestation is the boundary), writing the emulated
 * identity from its files; without a simulated AMD-SP here it refuses.
 * A hook or manual VM unknown to the registry stays refused. */
static void
test_gate_remote(void)
{
    const char *const hook[] = { "hook", "remote1", "prepare", "begin", "-", NULL };
    g_autofree char *identity = NULL;
    g_autofree char *host = g_build_filename(tmp, "host-state", NULL);
    const char *const modes[] = { "watch", "hook", "manual" };

    for (gsize i = 0; i < G_N_ELEMENTS(modes); i++) {
        const char *const print[] = { "define", "remote1", "--emulate", "--firmware", firmware,
                                      "--kernel", kernel, "--initrd", initrd, "--verifier",
                                      modes[i], "--print-xml", NULL };
        gboolean remote = g_str_equal(modes[i], "watch");
        g_auto(SnpgRun) xml = { 0 };
        g_auto(SnpgRun) gate = { 0 };
        g_auto(SnpgRun) bare = { 0 };

        snpg_runv(&xml, tmp, print);
        g_assert_cmpint(xml.exit_code, ==, 0);
        /* Writing the identity under /run takes root. */
        if (remote && geteuid() != 0)
            goto bare_host;
        run_stdin(&gate, xml.out, hook);
        g_assert_cmpstr(gate.out, ==, "");
        g_assert_cmpint(gate.exit_code, ==, remote ? 0 : 1);
        if (remote) {
            g_autofree char *id = g_compute_checksum_for_string(G_CHECKSUM_SHA256, state, -1);
            g_autofree char *dir = NULL;

            g_assert_cmpstr(gate.err, ==, "");
            id[16] = '\0';
            dir = g_build_filename("/run/snpguard/emulate", id, NULL);
            identity = g_build_filename(dir, "remote1.identity", NULL);
            g_assert_true(g_file_test(identity, G_FILE_TEST_IS_REGULAR));
            g_assert_cmpint(unlink(identity), ==, 0);
            g_assert_cmpint(rmdir(dir), ==, 0);
        } else {
            g_assert_nonnull(strstr(gate.err, "does not know it"));
        }
bare_host:
        /* A host with no simulated AMD-SP cannot play it. */
        run_stdin_in(&bare, host, xml.out, hook);
        g_assert_cmpint(bare.exit_code, ==, 1);
        g_assert_nonnull(strstr(bare.err, "this host has none"));
    }
    /* adopt writes the mode it registers into the metadata too. */
    {
        const char *const print[] = { "define", "remote1", "--emulate", "--firmware", firmware,
                                      "--kernel", kernel, "--initrd", initrd, "--print-xml",
                                      NULL };
        g_auto(SnpgRun) xml = { 0 };
        g_auto(SnpgRun) adopted = { 0 };
        g_autofree char *path = NULL;

        snpg_runv(&xml, tmp, print);
        g_assert_cmpint(xml.exit_code, ==, 0);
        g_assert_nonnull(strstr(xml.out, "verifier-mode>hook<"));
        path = snpg_test_write(tmp, "remote1.xml", xml.out, strlen(xml.out));
        snpg_run(&adopted, tmp, "adopt", "--xml", path, "--verifier", "watch", "--print-xml",
                 NULL);
        g_assert_cmpint(adopted.exit_code, ==, 0);
        g_assert_nonnull(strstr(adopted.out, "verifier-mode>watch<"));
        g_assert_null(strstr(adopted.out, "verifier-mode>hook<"));
    }
}

int
main(int argc, char **argv)
{
    g_autofree char *templates = NULL;
    g_autofree char *tail = NULL;
    g_autofree char *tail_data = NULL;
    g_autoptr(GByteArray) fw = g_byte_array_new();
    gsize tail_len;
    guint8 page[4096];

    g_test_init(&argc, &argv, NULL);
    tail = snpg_test_data("measure", "ovmf_AmdSev_suffix.bin", NULL);
    tmp = snpg_test_tmpdir();
    state = g_build_filename(tmp, "state", NULL);
    templates = g_build_filename(g_getenv("G_TEST_SRCDIR"), "..", "xml-templates", NULL);
    g_setenv("SNPGUARD_TEMPLATE_DIR", templates, TRUE);
    g_setenv("SNPGUARD_STATE_DIR", state, TRUE);
    /* An AmdSev image as tests/demo.sh assembles it. */
    g_assert_true(g_file_get_contents(tail, &tail_data, &tail_len, NULL));
    memset(page, 0xff, sizeof(page));
    for (int i = 0; i < 511; i++)
        g_byte_array_append(fw, page, sizeof(page));
    g_byte_array_append(fw, (const guint8 *)tail_data, (guint)tail_len);
    firmware = snpg_test_write(tmp, "OVMF.amdsev.fd", fw->data, fw->len);
    kernel = snpg_test_write(tmp, "vmlinuz", "kernel", 6);
    initrd = snpg_test_write(tmp, "initrd.img", "initrd", 6);
    disk = snpg_test_write(tmp, "root.img", "disk", 4);

    g_test_add_func("/define/snp-host-check", test_snp_host_check);
    g_test_add_func("/define/registers", test_define_registers);
    g_test_add_func("/define/leaves-nothing", test_define_leaves_nothing);
    g_test_add_func("/define/libvirt-refusal-rolls-back", test_libvirt_refusal_rolls_back);
    g_test_add_func("/define/gate", test_gate);
    g_test_add_func("/define/one-verifier", test_one_verifier);
    g_test_add_func("/define/undefine", test_undefine);
    g_test_add_func("/define/gate-remote", test_gate_remote);
    return g_test_run();
}
