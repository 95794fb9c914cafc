/* snpg_vm_attest(): a registered VM (defined with 'snpguard define --emulate'
 * against libvirt's test driver) attested by a real snpguard-agent on a unix
 * socket, with what the registry holds: the verdict, the key the agent
 * receives, the events recorded, and the VM's own trust root checked by its
 * recorded digest. */
#include "config.h"

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gio.h>

#include "keystore.h"
#include "registry.h"
#include "testutil.h"
#include "transport.h"
#include "vmattest.h"

static char *tmp, *state;

typedef struct {
    GSubprocess *agent;
    char *key_out;
    int fd;
} Agent;

/* Starts snpguard-agent on a socket with a simulated identity measuring
 * measurement, pinning pin; connects to it. */
static void
agent_start(Agent *a, const char *measurement, const char *pin, const char *tag)
{
    g_autofree char *sim = g_build_filename(state, "sim", NULL);
    g_autofree char *identity = g_strdup_printf("%s/identity-%s", tmp, tag);
    g_autofree char *sock = g_strdup_printf("%s/agent-%s.sock", tmp, tag);
    g_autofree char *psp = g_strconcat("sim:", identity, NULL);
    g_autofree char *listen = g_strconcat("unix:", sock, NULL);
    g_auto(SnpgRun) run = { 0 };
    g_autoptr(GError) error = NULL;
    gint64 deadline = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;

    snpg_run(&run, tmp, "sim", "identity", sim, "--measurement", measurement, "-o", identity,
             NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    a->key_out = g_strdup_printf("%s/key-%s.out", tmp, tag);
    a->agent = g_subprocess_new(G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error,
                                g_getenv("SNPGUARD_AGENT"), "--listen", listen, "--psp", psp,
                                "--verifier-pin", pin, "--key-out", a->key_out, "--attempts", "1",
                                "--timeout", "20", "--quiet", NULL);
    g_assert_no_error(error);
    /* The agent binds its socket shortly after it starts. */
    while ((a->fd = snpg_transport_connect(listen, deadline, NULL)) < 0) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_usleep(20000);
    }
}

static void
agent_finish(Agent *a)
{
    g_autoptr(GError) error = NULL;

    close(a->fd);
    g_assert_true(g_subprocess_wait(a->agent, NULL, &error));
    g_clear_object(&a->agent);
    g_free(a->key_out);
}

static guint
count_events(SnpgRegistry *reg, SnpgEventKind kind, SnpgVerdict verdict)
{
    g_autoptr(GPtrArray) events = NULL;
    g_autoptr(GError) error = NULL;
    guint n = 0;

    g_assert_true(snpg_registry_history(reg, "vm1", 0, &events, &error));
    for (guint i = 0; i < events->len; i++) {
        const SnpgEvent *ev = g_ptr_array_index(events, i);

        n += ev->kind == kind && ev->verdict == verdict;
    }
    return n;
}

static SnpgVmRecord *
get_vm(SnpgRegistry *reg)
{
    g_autoptr(GError) error = NULL;
    SnpgVmRecord *rec = snpg_registry_get_vm(reg, "vm1", &error);

    g_assert_no_error(error);
    return rec;
}

/* The expected VM: accepted, exactly its key delivered and confirmed,
 * attestation and key-release recorded. */
static void
test_accepted(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(SnpgRegistry) reg = snpg_registry_open(state, 0, &error);
    g_autoptr(SnpgVmRecord) rec = get_vm(reg);
    g_auto(SnpgVmAttestOutcome) out = { 0 };
    g_autoptr(SnpgSecret) key = snpg_keystore_load(state, rec->key_path, &error);
    g_autofree char *got = NULL;
    gsize got_len;
    Agent a = { 0 };

    g_assert_no_error(error);
    agent_start(&a, rec->expected_measurement, snpg_vm_record_get_setting(rec, "verifier-pin"),
                "good");
    g_assert_true(snpg_vm_attest(reg, rec, a.fd, 20 * G_USEC_PER_SEC, &out, &error));
    g_assert_no_error(error);
    agent_finish(&a);
    g_assert_cmpint(out.verdict, ==, SNPG_VERDICT_ACCEPTED);
    g_assert_true(out.key_sent);
    g_assert_true(out.key_confirmed);
    g_assert_null(out.error);
    {
        g_autofree char *path = g_strdup_printf("%s/key-good.out", tmp);

        g_assert_true(g_file_get_contents(path, &got, &got_len, NULL));
    }
    g_assert_cmpmem(got, got_len, snpg_secret_data(key), snpg_secret_len(key));
    g_assert_cmpuint(count_events(reg, SNPG_EVENT_ATTESTATION, SNPG_VERDICT_ACCEPTED), ==, 1);
    g_assert_cmpuint(count_events(reg, SNPG_EVENT_KEY_RELEASE, SNPG_VERDICT_ACCEPTED), ==, 1);
}

/* Another measurement: rejected for it, no key leaves, recorded. */
static void
test_rejected(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(SnpgRegistry) reg = snpg_registry_open(state, 0, &error);
    g_autoptr(SnpgVmRecord) rec = get_vm(reg);
    g_auto(SnpgVmAttestOutcome) out = { 0 };
    g_autofree char *wrong = g_strnfill(96, 'a');
    g_autofree char *path = g_strdup_printf("%s/key-wrong.out", tmp);
    Agent a = { 0 };

    agent_start(&a, wrong, snpg_vm_record_get_setting(rec, "verifier-pin"), "wrong");
    g_assert_true(snpg_vm_attest(reg, rec, a.fd, 20 * G_USEC_PER_SEC, &out, &error));
    agent_finish(&a);
    g_assert_cmpint(out.verdict, ==, SNPG_VERDICT_REJECTED);
    g_assert_false(out.key_sent);
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
    g_assert_cmpuint(count_events(reg, SNPG_EVENT_ATTESTATION, SNPG_VERDICT_REJECTED), ==, 1);
    {
        g_autoptr(GPtrArray) events = NULL;
        const SnpgEvent *last;

        g_assert_true(snpg_registry_history(reg, "vm1", 1, &events, &error));
        last = g_ptr_array_index(events, 0);
        g_assert_cmpint(last->kind, ==, SNPG_EVENT_ATTESTATION);
        g_assert_true(g_strv_contains((const char *const *)last->reasons, "measurement"));
        g_assert_cmpstr(last->measurement, ==, wrong);
    }
}

/* The simulator's root is trusted for this VM by the bytes define saw: a
 * replaced ark.pem trusts nothing; nothing is sent, an error is recorded. */
static void
test_trust_root_pinned(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(SnpgRegistry) reg = snpg_registry_open(state, 0, &error);
    g_autoptr(SnpgVmRecord) rec = get_vm(reg);
    g_auto(SnpgVmAttestOutcome) out = { 0 };
    const char *root = snpg_vm_record_get_setting(rec, "trust-root");
    g_autofree char *pem = NULL;
    gsize len;
    int sv[2];
    char byte;

    g_assert_nonnull(root);
    g_assert_true(g_file_get_contents(root, &pem, &len, NULL));
    g_assert_true(g_file_set_contents(root, "-----BEGIN CERTIFICATE-----\n", -1, NULL));
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    g_assert_false(snpg_vm_attest(reg, rec, sv[0], G_USEC_PER_SEC, &out, &error));
    g_assert_nonnull(strstr(error->message, "changed since it was defined"));
    close(sv[0]);
    g_assert_cmpint(read(sv[1], &byte, 1), ==, 0);   /* nothing was sent */
    close(sv[1]);
    g_assert_cmpuint(count_events(reg, SNPG_EVENT_ERROR, SNPG_VERDICT_ERROR), ==, 1);
    g_assert_true(g_file_set_contents(root, pem, (gssize)len, NULL));
}

int
main(int argc, char **argv)
{
    g_autofree char *templates = NULL, *tail = NULL, *tail_data = NULL;
    g_autofree char *firmware = NULL, *kernel = NULL, *initrd = NULL, *disk = NULL;
    g_autoptr(GByteArray) fw = g_byte_array_new();
    g_auto(SnpgRun) run = { 0 };
    gsize tail_len;
    guint8 page[4096];

    g_test_init(&argc, &argv, NULL);
    if (!g_getenv("SNPGUARD") || !g_getenv("SNPGUARD_AGENT")) {
        g_test_skip("SNPGUARD and SNPGUARD_AGENT name the built programs (make check sets them)");
        return g_test_run();
    }
    tmp = snpg_test_tmpdir();
    state = g_build_filename(tmp, "state", NULL);
    templates = g_build_filename(g_getenv("G_TEST_SRCDIR"), "..", "xml-templates", NULL);
    g_setenv("SNPGUARD_TEMPLATE_DIR", templates, TRUE);
    g_setenv("SNPGUARD_STATE_DIR", state, TRUE);
    tail = snpg_test_data("measure", "ovmf_AmdSev_suffix.bin", NULL);
    g_assert_true(g_file_get_contents(tail, &tail_data, &tail_len, NULL));
    memset(page, 0xff, sizeof(page));
    for (int i = 0; i < 511; i++)
        g_byte_array_append(fw, page, sizeof(page));
    g_byte_array_append(fw, (const guint8 *)tail_data, (guint)tail_len);
    firmware = snpg_test_write(tmp, "OVMF.amdsev.fd", fw->data, fw->len);
    kernel = snpg_test_write(tmp, "vmlinuz", "kernel", 6);
    initrd = snpg_test_write(tmp, "initrd.img", "initrd", 6);
    disk = snpg_test_write(tmp, "root.img", "disk", 4);
    snpg_run(&run, tmp, "define", "vm1", "--emulate", "--connect", "test:///default",
             "--firmware", firmware, "--kernel", kernel, "--initrd", initrd, "--workflow",
             "encrypted", "--disk", disk, NULL);
    if (run.exit_code != 0)
        g_error("define: %s", run.err);

    g_test_add_func("/vmattest/accepted", test_accepted);
    g_test_add_func("/vmattest/rejected", test_rejected);
    g_test_add_func("/vmattest/trust-root-pinned", test_trust_root_pinned);
    return g_test_run();
}
