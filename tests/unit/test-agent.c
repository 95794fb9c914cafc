/* snpguard-agent as a program: standalone mode against an in-process
 * verifier, retries, key output, exit codes; port discovery. */
#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "amd-certs.h"
#include "attest.h"
#include "port.h"
#include "psp.h"
#include "sim-identity.h"
#include "testutil.h"
#include "transport.h"

static char *tmp;
static char *sim_dir;
static X509 *trust_root;
static const guint8 measurement[48] = { 0x11, 0x22, [47] = 0x33 };
static const char disk_key[] = "this is the 32-byte disk key....";
static EVP_PKEY *identity;       /* the verifier's; the agents pin it */
static EVP_PKEY *impostor;       /* someone else on the channel */
static char *pin_hex;

static char *
write_identity(const char *name, guint64 policy)
{
    SnpgSimIdentityParams params;
    g_autoptr(GError) error = NULL;
    char *path = g_build_filename(tmp, name, NULL);

    snpg_sim_identity_params_init(&params);
    memcpy(params.measurement, measurement, 48);
    params.policy = policy;
    g_assert_true(snpg_sim_identity_write(sim_dir, &params, path, &error));
    return path;
}

typedef struct {
    GPid pid;
    int err_fd;
} Agent;

static void
agent_start(Agent *agent, const char *const *extra)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(GError) error = NULL;

    g_ptr_array_add(argv, (gpointer)g_getenv("SNPGUARD_AGENT"));
    for (gsize i = 0; extra[i]; i++)
        g_ptr_array_add(argv, (gpointer)extra[i]);
    g_ptr_array_add(argv, NULL);
    g_assert_true(g_spawn_async_with_pipes(NULL, (char **)argv->pdata, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                                           NULL, NULL, &agent->pid, NULL, NULL, &agent->err_fd, &error));
    g_assert_no_error(error);
}

/* Waits for the agent to exit; returns its exit code and its stderr. */
static int
agent_wait(Agent *agent, char **ret_err)
{
    GString *err = g_string_new(NULL);
    char buf[1024];
    ssize_t n;
    int status = 0;

    while ((n = read(agent->err_fd, buf, sizeof(buf))) > 0)
        g_string_append_len(err, buf, n);
    close(agent->err_fd);
    g_assert_cmpint(waitpid(agent->pid, &status, 0), ==, agent->pid);
    g_spawn_close_pid(agent->pid);
    if (g_test_verbose())
        g_test_message("agent stderr: %s", err->str);
    *ret_err = g_string_free(err, FALSE);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Connects to the agent's socket, retrying while it starts up. */
static int
connect_agent(const char *address)
{
    for (int i = 0; i < 500; i++) {
        int fd = snpg_transport_connect(address, NULL);
        if (fd >= 0)
            return fd;
        g_usleep(10 * 1000);
    }
    g_assert_not_reached();
}

/* One verifier session on fd with the real verifier and the sim root. */
static gboolean
verify_as(int fd, EVP_PKEY *signer, gboolean accept_debug, SnpgVerifierResult *result)
{
    g_autoptr(SnpgVerifier) verifier = snpg_verifier_new();
    g_auto(SnpgVerifyOptions) options = { 0 };
    g_auto(SnpgKeyPayload) payload = { 0 };
    g_autoptr(GError) error = NULL;
    SnpgAttestContext ctx = { .verifier = verifier, .options = &options };
    SnpgVerifierConfig cfg = { .verify = snpg_attest_verify, .user_data = &ctx,
                               .payload = &payload, .read_timeout_us = 30 * G_USEC_PER_SEC,
                               .identity = signer };
    gboolean ok;

    snpg_verify_options_init(&options);
    g_ptr_array_add(options.measurements, g_bytes_new(measurement, 48));
    options.allow_debug = accept_debug;
    payload.disk_key = snpg_secret_new_from_data(disk_key, strlen(disk_key));
    snpg_verifier_set_trust_root(verifier, trust_root);
    ok = snpg_session_run_verifier(fd, &cfg, result, &error);
    if (error)
        g_test_message("verifier: %s", error->message);
    snpg_attest_context_clear(&ctx);
    close(fd);
    return ok;
}

/* The genuine verifier: signs with the identity the agents pin. */
static gboolean
verify_once(int fd, gboolean accept_debug, SnpgVerifierResult *result)
{
    return verify_as(fd, identity, accept_debug, result);
}

static void
test_standalone_delivers_key(void)
{
    g_autofree char *id = write_identity("ok.id", 0x30000);
    g_autofree char *sock = g_build_filename(tmp, "ok.sock", NULL);
    g_autofree char *address = g_strdup_printf("unix:%s", sock);
    g_autofree char *psp = g_strdup_printf("sim:%s", id);
    g_autofree char *key_out = g_build_filename(tmp, "ok.key", NULL);
    const char *args[] = { "--listen", address, "--psp", psp, "--key-out", key_out, "--attempts", "1", "--verifier-pin", pin_hex, NULL };
    g_auto(SnpgVerifierResult) result = { 0 };
    g_autofree char *err = NULL;
    g_autofree char *content = NULL;
    gsize len = 0;
    struct stat st;
    Agent agent;

    agent_start(&agent, args);
    g_assert_true(verify_once(connect_agent(address), FALSE, &result));
    g_assert_cmpint(agent_wait(&agent, &err), ==, 0);
    g_assert_true(result.key_confirmed);
    g_assert_true(g_file_get_contents(key_out, &content, &len, NULL));
    g_assert_cmpmem(content, len, disk_key, strlen(disk_key));
    g_assert_cmpint(g_stat(key_out, &st), ==, 0);
    g_assert_cmpint(st.st_mode & 0777, ==, 0600);
    /* The key is never printed. */
    g_assert_null(strstr(err, disk_key));
}

static void
test_final_refusal_writes_nothing(void)
{
    /* DEBUG in the policy: a verifier that does not allow it refuses. */
    g_autofree char *id = write_identity("debug.id", 0x30000 | (1 << 19));
    g_autofree char *sock = g_build_filename(tmp, "debug.sock", NULL);
    g_autofree char *address = g_strdup_printf("unix:%s", sock);
    g_autofree char *psp = g_strdup_printf("sim:%s", id);
    g_autofree char *key_out = g_build_filename(tmp, "debug.key", NULL);
    const char *args[] = { "--listen", address, "--psp", psp, "--key-out", key_out, "--attempts", "2",
                           "--backoff-max", "0", "--verifier-pin", pin_hex, NULL };
    g_auto(SnpgVerifierResult) r1 = { 0 };
    g_auto(SnpgVerifierResult) r2 = { 0 };
    g_autofree char *err = NULL;
    Agent agent;

    agent_start(&agent, args);
    g_assert_true(verify_once(connect_agent(address), FALSE, &r1));
    g_assert_true(verify_once(connect_agent(address), FALSE, &r2));
    g_assert_cmpint(agent_wait(&agent, &err), ==, 3);
    g_assert_cmpint(r1.verdict, ==, SNPG_VERDICT_REJECTED);
    g_assert_cmpint(r2.verdict, ==, SNPG_VERDICT_REJECTED);
    g_assert_false(g_file_test(key_out, G_FILE_TEST_EXISTS));
    g_assert_nonnull(strstr(err, "debug"));
}

static void
test_survives_verifier_restart(void)
{
    g_autofree char *id = write_identity("restart.id", 0x30000);
    g_autofree char *sock = g_build_filename(tmp, "restart.sock", NULL);
    g_autofree char *address = g_strdup_printf("unix:%s", sock);
    g_autofree char *psp = g_strdup_printf("sim:%s", id);
    g_autofree char *key_out = g_build_filename(tmp, "restart.key", NULL);
    const char *args[] = { "--listen", address, "--psp", psp, "--key-out", key_out, "--attempts", "3",
                           "--verifier-pin", pin_hex, NULL };
    g_auto(SnpgVerifierResult) result = { 0 };
    g_autofree char *err = NULL;
    g_autofree char *content = NULL;
    gsize len = 0;
    Agent agent;
    int fd;

    agent_start(&agent, args);
    /* A verifier that dies right after it connected. */
    fd = connect_agent(address);
    close(fd);
    /* Then one that reads the HELLO-less stream halfway and dies. */
    fd = connect_agent(address);
    g_assert_cmpint(write(fd, "SNPG", 4), ==, 4);
    close(fd);
    /* The restarted verifier. */
    g_assert_true(verify_once(connect_agent(address), FALSE, &result));
    g_assert_cmpint(agent_wait(&agent, &err), ==, 0);
    g_assert_true(g_file_get_contents(key_out, &content, &len, NULL));
    g_assert_cmpmem(content, len, disk_key, strlen(disk_key));
}

static void
test_existing_key_file_untouched(void)
{
    g_autofree char *id = write_identity("exists.id", 0x30000);
    g_autofree char *sock = g_build_filename(tmp, "exists.sock", NULL);
    g_autofree char *address = g_strdup_printf("unix:%s", sock);
    g_autofree char *psp = g_strdup_printf("sim:%s", id);
    g_autofree char *key_out = snpg_test_write(tmp, "exists.key", "old", 3);
    const char *args[] = { "--listen", address, "--psp", psp, "--key-out", key_out, "--attempts", "1", "--verifier-pin", pin_hex, NULL };
    g_auto(SnpgVerifierResult) result = { 0 };
    g_autofree char *err = NULL;
    g_autofree char *content = NULL;
    gsize len = 0;
    Agent agent;

    agent_start(&agent, args);
    verify_once(connect_agent(address), FALSE, &result);
    g_assert_cmpint(agent_wait(&agent, &err), ==, 1);
    g_assert_true(g_file_get_contents(key_out, &content, &len, NULL));
    g_assert_cmpmem(content, len, "old", 3);
}

/* Someone else on the channel (the host playing verifier) cannot hand the
 * VM a key: unsigned, or signed by another identity, the agent refuses it. */
static void
test_only_the_pinned_verifier(void)
{
    g_autofree char *id = write_identity("pinned.id", 0x30000);
    g_autofree char *sock = g_build_filename(tmp, "pinned.sock", NULL);
    g_autofree char *address = g_strdup_printf("unix:%s", sock);
    g_autofree char *psp = g_strdup_printf("sim:%s", id);
    g_autofree char *key_out = g_build_filename(tmp, "pinned.key", NULL);
    const char *args[] = { "--listen", address, "--psp", psp, "--key-out", key_out, "--attempts", "3",
                           "--verifier-pin", pin_hex, NULL };
    g_auto(SnpgVerifierResult) r1 = { 0 };
    g_auto(SnpgVerifierResult) r2 = { 0 };
    g_auto(SnpgVerifierResult) r3 = { 0 };
    g_autofree char *err = NULL;
    g_autofree char *content = NULL;
    gsize len = 0;
    Agent agent;

    agent_start(&agent, args);
    /* An impostor: the report verifies, but the agent rejects its KEY
     * (ABORT after KEY: a verdict, the release never confirmed). */
    g_assert_true(verify_as(connect_agent(address), impostor, FALSE, &r1));
    g_assert_false(r1.key_confirmed);
    g_assert_cmpuint(r1.delivery_refusal.reasons[0], ==, SNPG_PROTO_REASON_UNPINNED);
    g_assert_false(g_file_test(key_out, G_FILE_TEST_EXISTS));
    /* An unsigned KEY: the same. */
    g_assert_true(verify_as(connect_agent(address), NULL, FALSE, &r2));
    g_assert_false(r2.key_confirmed);
    g_assert_cmpuint(r2.delivery_refusal.reasons[0], ==, SNPG_PROTO_REASON_UNPINNED);
    g_assert_false(g_file_test(key_out, G_FILE_TEST_EXISTS));
    /* The pinned verifier. */
    g_assert_true(verify_once(connect_agent(address), FALSE, &r3));
    g_assert_cmpint(agent_wait(&agent, &err), ==, 0);
    g_assert_nonnull(strstr(err, "other than the pinned one"));
    g_assert_nonnull(strstr(err, "not signed by a verifier"));
    g_assert_true(g_file_get_contents(key_out, &content, &len, NULL));
    g_assert_cmpmem(content, len, disk_key, strlen(disk_key));
}

/* The pin comes from the (measured) kernel command line by default; without
 * any pin the agent does not start unless told to accept any verifier. */
static void
test_pin_from_cmdline(void)
{
    g_autofree char *id = write_identity("cmdline.id", 0x30000);
    g_autofree char *sock = g_build_filename(tmp, "cmdline.sock", NULL);
    g_autofree char *address = g_strdup_printf("unix:%s", sock);
    g_autofree char *psp = g_strdup_printf("sim:%s", id);
    g_autofree char *key_out = g_build_filename(tmp, "cmdline.key", NULL);
    g_autofree char *line = g_strdup_printf("console=ttyS0 snpguard.verifier=%s quiet\n", pin_hex);
    g_autofree char *cmdline = snpg_test_write(tmp, "cmdline", line, strlen(line));
    g_autofree char *no_pin = snpg_test_write(tmp, "cmdline-none", "console=ttyS0\n", 14);
    g_autofree char *bad_pin = snpg_test_write(tmp, "cmdline-bad", "snpguard.verifier=zz\n", 21);
    const char *args[] = { "--listen", address, "--psp", psp, "--key-out", key_out, "--attempts", "2",
                           "--cmdline", cmdline, NULL };
    const char *unpinned[] = { "--connect", address, "--psp", psp, "--cmdline", no_pin, NULL };
    const char *malformed[] = { "--connect", address, "--psp", psp, "--cmdline", bad_pin, NULL };
    g_auto(SnpgVerifierResult) r1 = { 0 };
    g_auto(SnpgVerifierResult) r2 = { 0 };
    g_autofree char *err = NULL, *e2 = NULL, *e3 = NULL;
    Agent agent;

    agent_start(&agent, args);
    /* Refused after KEY: accepted, never confirmed. */
    g_assert_true(verify_as(connect_agent(address), impostor, FALSE, &r1));
    g_assert_false(r1.key_confirmed);
    g_assert_cmpuint(r1.delivery_refusal.reasons[0], ==, SNPG_PROTO_REASON_UNPINNED);
    g_assert_true(verify_once(connect_agent(address), FALSE, &r2));
    g_assert_cmpint(agent_wait(&agent, &err), ==, 0);
    g_assert_true(g_file_test(key_out, G_FILE_TEST_EXISTS));

    agent_start(&agent, unpinned);
    g_assert_cmpint(agent_wait(&agent, &e2), ==, 2);
    g_assert_nonnull(strstr(e2, "no verifier is pinned"));
    agent_start(&agent, malformed);
    g_assert_cmpint(agent_wait(&agent, &e3), ==, 1);
    g_assert_nonnull(strstr(e3, "snpguard.verifier"));
}

/* --any-verifier: the explicit, insecure way to take any verifier's key. */
static void
test_any_verifier(void)
{
    g_autofree char *id = write_identity("any.id", 0x30000);
    g_autofree char *sock = g_build_filename(tmp, "any.sock", NULL);
    g_autofree char *address = g_strdup_printf("unix:%s", sock);
    g_autofree char *psp = g_strdup_printf("sim:%s", id);
    g_autofree char *key_out = g_build_filename(tmp, "any.key", NULL);
    const char *args[] = { "--listen", address, "--psp", psp, "--key-out", key_out, "--attempts", "1",
                           "--any-verifier", NULL };
    g_auto(SnpgVerifierResult) result = { 0 };
    g_autofree char *err = NULL;
    Agent agent;

    agent_start(&agent, args);
    g_assert_true(verify_as(connect_agent(address), NULL, FALSE, &result));
    g_assert_cmpint(agent_wait(&agent, &err), ==, 0);
    g_assert_true(g_file_test(key_out, G_FILE_TEST_EXISTS));
}

static void
test_usage_and_backend_errors(void)
{
    const char *bad_usage[] = { "--listen", "unix:/x", "--connect", "unix:/y", NULL };
    const char *bad_kex[] = { "--kex", "rsa", NULL };
    const char *bad_psp[] = { "--psp", "tpm", "--connect", "unix:/nonexistent", "--any-verifier", NULL };
    const char *no_sim[] = { "--psp", "sim:/nonexistent/identity", "--connect", "unix:/x",
                             "--any-verifier", NULL };
    g_autofree char *e1 = NULL, *e2 = NULL, *e3 = NULL, *e4 = NULL;
    Agent agent;

    agent_start(&agent, bad_usage);
    g_assert_cmpint(agent_wait(&agent, &e1), ==, 2);
    agent_start(&agent, bad_kex);
    g_assert_cmpint(agent_wait(&agent, &e2), ==, 2);
    g_assert_nonnull(strstr(e2, "'rsa'"));
    agent_start(&agent, bad_psp);
    g_assert_cmpint(agent_wait(&agent, &e3), ==, 1);
    g_assert_nonnull(strstr(e3, "'tpm'"));
    agent_start(&agent, no_sim);
    g_assert_cmpint(agent_wait(&agent, &e4), ==, 1);
    g_assert_nonnull(strstr(e4, "/nonexistent/identity"));
}

/* Without SEV-SNP here the kernel backends can only be checked for their
 * failure paths: clear errors that name the device, never a crash. */
static void
test_kernel_backends_fail_cleanly(void)
{
    g_autofree char *not_a_device = snpg_test_write(tmp, "not-sev-guest", "x", 1);
    g_autofree char *sev_spec = g_strdup_printf("sev-guest:%s", not_a_device);
    g_autofree char *tsm_dir = g_build_filename(tmp, "no-configfs", NULL);
    g_autofree char *tsm_spec = g_strdup_printf("tsm:%s", tsm_dir);
    g_autoptr(GError) error = NULL;
    g_autoptr(SnpgPsp) sev = snpg_psp_open(sev_spec, &error);
    g_autoptr(SnpgPsp) tsm = snpg_psp_open(tsm_spec, &error);
    g_autoptr(SnpgPsp) missing = snpg_psp_open("sev-guest:/nonexistent/sev-guest", &error);
    GBytes *report = NULL, *certs = NULL;
    guint8 report_data[64] = { 1 };

    g_assert_no_error(error);
    g_assert_false(snpg_psp_get_report(sev, report_data, 0, &report, &certs, &error));
    g_assert_error(error, SNPG_PSP_ERROR, SNPG_PSP_ERROR_FAILED);
    g_assert_nonnull(strstr(error->message, "not-sev-guest"));
    g_clear_error(&error);
    g_assert_false(snpg_psp_get_report(missing, report_data, 0, &report, &certs, &error));
    g_assert_error(error, SNPG_PSP_ERROR, SNPG_PSP_ERROR_UNAVAILABLE);
    g_clear_error(&error);
    g_assert_false(snpg_psp_get_report(tsm, report_data, 0, &report, &certs, &error));
    g_assert_error(error, SNPG_PSP_ERROR, SNPG_PSP_ERROR_UNAVAILABLE);
    g_assert_nonnull(strstr(error->message, "configfs-tsm"));
    g_clear_error(&error);
    g_assert_null(report);
    g_assert_null(snpg_psp_open("sim:", &error));
    g_assert_error(error, SNPG_PSP_ERROR, SNPG_PSP_ERROR_SPEC);
}

static void
test_port_discovery(void)
{
    g_autofree char *sysfs = g_build_filename(tmp, "virtio-ports", NULL);
    g_autofree char *p1 = g_build_filename(sysfs, "vport0p1", NULL);
    g_autofree char *p2 = g_build_filename(sysfs, "vport1p1", NULL);
    g_autoptr(GError) error = NULL;
    g_autofree char *found = NULL;
    g_autofree char *n1 = NULL, *n2 = NULL;

    g_assert_cmpint(g_mkdir_with_parents(p1, 0700), ==, 0);
    g_assert_cmpint(g_mkdir_with_parents(p2, 0700), ==, 0);
    n1 = snpg_test_write(p1, "name", "org.qemu.guest_agent.0\n", 23);
    n2 = snpg_test_write(p2, "name", SNPG_PORT_DEFAULT_NAME "\n", strlen(SNPG_PORT_DEFAULT_NAME) + 1);
    found = snpg_port_find(SNPG_PORT_DEFAULT_NAME, sysfs, "/dev", &error);
    g_assert_no_error(error);
    g_assert_cmpstr(found, ==, "/dev/vport1p1");
    g_assert_null(snpg_port_find("org.other", sysfs, "/dev", &error));
    g_assert_nonnull(strstr(error->message, "'org.other'"));
    g_clear_error(&error);
    g_assert_null(snpg_port_find("x", "/nonexistent", "/dev", &error));
    g_assert_nonnull(strstr(error->message, "virtio_console"));
}

int
main(int argc, char **argv)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *ark = NULL;
    int status;

    g_test_init(&argc, &argv, NULL);
    signal(SIGPIPE, SIG_IGN);
    tmp = snpg_test_tmpdir();
    sim_dir = snpg_test_data("sim", "genoa", NULL);
    ark = g_build_filename(sim_dir, "ark.pem", NULL);
    trust_root = snpg_cert_load_file(ark, &error);
    g_assert_no_error(error);
    identity = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    impostor = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    {
        guint8 pin[SNPG_PROTO_PIN_LEN];
        g_assert_true(snpg_proto_identity_pin(identity, pin, &error));
        pin_hex = snpg_test_hex(pin, sizeof(pin));
    }

    g_test_add_func("/agent/standalone-delivers-key", test_standalone_delivers_key);
    g_test_add_func("/agent/final-refusal-writes-nothing", test_final_refusal_writes_nothing);
    g_test_add_func("/agent/survives-verifier-restart", test_survives_verifier_restart);
    g_test_add_func("/agent/existing-key-file-untouched", test_existing_key_file_untouched);
    g_test_add_func("/agent/only-the-pinned-verifier", test_only_the_pinned_verifier);
    g_test_add_func("/agent/pin-from-cmdline", test_pin_from_cmdline);
    g_test_add_func("/agent/any-verifier", test_any_verifier);
    g_test_add_func("/agent/usage-and-backend-errors", test_usage_and_backend_errors);
    g_test_add_func("/agent/port-discovery", test_port_discovery);
    g_test_add_func("/agent/kernel-backends-fail-cleanly", test_kernel_backends_fail_cleanly);
    status = g_test_run();
    X509_free(trust_root);
    EVP_PKEY_free(identity);
    EVP_PKEY_free(impostor);
    g_free(pin_hex);
    g_free(sim_dir);
    g_free(tmp);
    return status;
}
