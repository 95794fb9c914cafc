/* snpguard-agent as a program: standalone mode against an in-process
 * verifier, retries, key output, exit codes; port discovery. */
#include "config.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
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
static guint8 pin[SNPG_PROTO_PIN_LEN];

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

/* With ret_stdout, the agent's standard output is a pipe to the caller. */
static void
agent_start_piped(Agent *agent, const char *const *extra, int *ret_stdout)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(GError) error = NULL;

    g_ptr_array_add(argv, (gpointer)g_getenv("SNPGUARD_AGENT"));
    for (gsize i = 0; extra[i]; i++)
        g_ptr_array_add(argv, (gpointer)extra[i]);
    g_ptr_array_add(argv, NULL);
    g_assert_true(g_spawn_async_with_pipes(NULL, (char **)argv->pdata, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                                           NULL, NULL, &agent->pid, NULL, ret_stdout, &agent->err_fd,
                                           &error));
    g_assert_no_error(error);
}

static void
agent_start(Agent *agent, const char *const *extra)
{
    agent_start_piped(agent, extra, NULL);
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
        int fd = snpg_transport_connect(address, G_MAXINT64, NULL);
        if (fd >= 0)
            return fd;
        g_usleep(10 * 1000);
    }
    g_assert_not_reached();
}

static gboolean
get_report(const guint8 report_data[64], GBytes **ret_report, GBytes **ret_certs,
           gpointer user_data, GError **error)
{
    return snpg_psp_get_report(user_data, report_data, 0, ret_report, ret_certs, error);
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
    g_assert_cmpint(r1.verdict, ==, SNPG_SESSION_VERDICT_REJECTED);
    g_assert_cmpint(r2.verdict, ==, SNPG_SESSION_VERDICT_REJECTED);
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
    /* The agent tells the verifier it could not hand the key on: released,
     * but not confirmed, with the reason. */
    g_assert_true(verify_once(connect_agent(address), FALSE, &result));
    g_assert_cmpint(agent_wait(&agent, &err), ==, 1);
    g_assert_cmpint(result.verdict, ==, SNPG_SESSION_VERDICT_ACCEPTED);
    g_assert_true(result.key_sent);
    g_assert_false(result.key_confirmed);
    g_assert_cmpuint(result.delivery_refusal.n_reasons, ==, 1);
    g_assert_cmpuint(result.delivery_refusal.reasons[0], ==, SNPG_PROTO_REASON_DELIVERY);
    g_assert_nonnull(strstr(result.delivery_refusal.text, "File exists"));
    g_assert_nonnull(strstr(err, "File exists"));
    g_assert_true(g_file_get_contents(key_out, &content, &len, NULL));
    g_assert_cmpmem(content, len, "old", 3);
}

/* A reader that went away (--key-out - into a closed pipe): the agent is
 * not killed by SIGPIPE, it tells the verifier the key was not delivered. */
static void
test_closed_key_pipe_not_confirmed(void)
{
    g_autofree char *id = write_identity("pipe.id", 0x30000);
    g_autofree char *sock = g_build_filename(tmp, "pipe.sock", NULL);
    g_autofree char *address = g_strdup_printf("unix:%s", sock);
    g_autofree char *psp = g_strdup_printf("sim:%s", id);
    const char *args[] = { "--listen", address, "--psp", psp, "--key-out", "-", "--attempts", "1",
                           "--verifier-pin", pin_hex, NULL };
    g_auto(SnpgVerifierResult) result = { 0 };
    g_autofree char *err = NULL;
    Agent agent;
    int out;

    agent_start_piped(&agent, args, &out);
    close(out);
    g_assert_true(verify_once(connect_agent(address), FALSE, &result));
    g_assert_cmpint(agent_wait(&agent, &err), ==, 1);
    g_assert_cmpint(result.verdict, ==, SNPG_SESSION_VERDICT_ACCEPTED);
    g_assert_true(result.key_sent);
    g_assert_false(result.key_confirmed);
    g_assert_cmpuint(result.delivery_refusal.reasons[0], ==, SNPG_PROTO_REASON_DELIVERY);
    g_assert_nonnull(strstr(err, "standard output"));
}

/* A verifier that refused hangs up; what follows (here a verifier that dies
 * mid-HELLO) is no verdict and does not replace the refusal. */
static void
test_refusal_is_the_final_status(void)
{
    g_autofree char *id = write_identity("hangup.id", 0x30000 | (1 << 19));
    g_autofree char *sock = g_build_filename(tmp, "hangup.sock", NULL);
    g_autofree char *address = g_strdup_printf("unix:%s", sock);
    g_autofree char *psp = g_strdup_printf("sim:%s", id);
    g_autofree char *key_out = g_build_filename(tmp, "hangup.key", NULL);
    const char *args[] = { "--listen", address, "--psp", psp, "--key-out", key_out, "--attempts", "2",
                           "--backoff-max", "0", "--verifier-pin", pin_hex, NULL };
    g_auto(SnpgVerifierResult) r1 = { 0 };
    g_autofree char *err = NULL;
    Agent agent;
    int fd;

    agent_start(&agent, args);
    g_assert_true(verify_once(connect_agent(address), FALSE, &r1));
    g_assert_cmpint(r1.verdict, ==, SNPG_SESSION_VERDICT_REJECTED);
    fd = connect_agent(address);
    g_assert_cmpint(write(fd, "SNPG", 4), ==, 4);
    close(fd);
    g_assert_cmpint(agent_wait(&agent, &err), ==, 3);
    g_assert_false(g_file_test(key_out, G_FILE_TEST_EXISTS));
}

/* Only sessions that started count: connections that close before the
 * first byte (a verifier probing, a watcher reconnecting) are waited out. */
static void
test_unstarted_connections_not_counted(void)
{
    g_autofree char *id = write_identity("probe.id", 0x30000);
    g_autofree char *sock = g_build_filename(tmp, "probe.sock", NULL);
    g_autofree char *address = g_strdup_printf("unix:%s", sock);
    g_autofree char *psp = g_strdup_printf("sim:%s", id);
    g_autofree char *key_out = g_build_filename(tmp, "probe.key", NULL);
    const char *args[] = { "--listen", address, "--psp", psp, "--key-out", key_out, "--attempts", "1",
                           "--verifier-pin", pin_hex, NULL };
    g_auto(SnpgVerifierResult) result = { 0 };
    g_autofree char *err = NULL;
    Agent agent;

    agent_start(&agent, args);
    for (int i = 0; i < 3; i++)
        close(connect_agent(address));
    g_assert_true(verify_once(connect_agent(address), FALSE, &result));
    g_assert_cmpint(agent_wait(&agent, &err), ==, 0);
    g_assert_true(result.key_confirmed);
    g_assert_true(g_file_test(key_out, G_FILE_TEST_EXISTS));
}

/* Waiting for a verifier has a deadline of its own (--wait). */
static void
test_wait_has_a_deadline(void)
{
    g_autofree char *id = write_identity("lonely.id", 0x30000);
    g_autofree char *sock = g_build_filename(tmp, "lonely.sock", NULL);
    g_autofree char *address = g_strdup_printf("unix:%s", sock);
    g_autofree char *psp = g_strdup_printf("sim:%s", id);
    g_autofree char *key_out = g_build_filename(tmp, "lonely.key", NULL);
    const char *args[] = { "--listen", address, "--psp", psp, "--key-out", key_out,
                           "--wait", "0.5", "--verifier-pin", pin_hex, NULL };
    g_autofree char *err = NULL;
    gint64 start = g_get_monotonic_time();
    Agent agent;

    agent_start(&agent, args);
    g_assert_cmpint(agent_wait(&agent, &err), ==, 1);
    g_assert_cmpint(g_get_monotonic_time() - start, >=, G_USEC_PER_SEC / 2);
    g_assert_cmpint(g_get_monotonic_time() - start, <, 10 * G_USEC_PER_SEC);
    g_assert_nonnull(strstr(err, "no verifier started a session within 0.5 s"));
}

/* The port of a VM whose host side nobody has opened yet, emulated by a
 * pty master whose slave (the host side) was closed: poll() reports POLLHUP
 * and read() fails at once, as a virtio-serial port without a host reports
 * POLLHUP and reads 0 (there, for ever; here EIO). Both clear when the other
 * side opens: a late verifier opens the slave and starts a session. */
typedef struct {
    const char *slave_path;
    gint64 delay_us;
    gboolean ok;
    SnpgVerifierResult result;
} LateHost;

static gpointer
late_host_thread(gpointer data)
{
    LateHost *host = data;
    struct termios raw;
    int fd;

    g_usleep((gulong)host->delay_us);
    fd = open(host->slave_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    g_assert_cmpint(fd, >=, 0);
    /* Bytes, not lines: the tty must not translate or echo. */
    g_assert_cmpint(tcgetattr(fd, &raw), ==, 0);
    cfmakeraw(&raw);
    g_assert_cmpint(tcsetattr(fd, TCSANOW, &raw), ==, 0);
    host->ok = verify_once(fd, FALSE, &host->result);
    return NULL;
}

static gboolean
collect_key(const SnpgKeyPayload *payload, SnpgRefusal *ret_refusal, gpointer user_data)
{
    (void)ret_refusal;
    g_string_append_len(user_data, (const char *)snpg_secret_data(payload->disk_key),
                        (gssize)snpg_secret_len(payload->disk_key));
    return TRUE;
}

static int
open_hung_up_port(char **ret_slave_path)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    struct pollfd pfd = { .events = POLLIN };
    int slave;
    char byte;

    g_assert_cmpint(master, >=, 0);
    g_assert_cmpint(grantpt(master), ==, 0);
    g_assert_cmpint(unlockpt(master), ==, 0);
    *ret_slave_path = g_strdup(ptsname(master));
    /* A host side that came and went. */
    slave = open(*ret_slave_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    g_assert_cmpint(slave, >=, 0);
    close(slave);
    pfd.fd = master;
    g_assert_cmpint(poll(&pfd, 1, 0), ==, 1);
    g_assert_true(pfd.revents & POLLHUP);
    g_assert_cmpint(read(master, &byte, 1), <=, 0);
    return master;
}

static void
test_port_waits_for_late_host(void)
{
    g_autofree char *id = write_identity("port.id", 0x30000);
    g_autofree char *psp_spec = g_strdup_printf("sim:%s", id);
    g_autoptr(SnpgPsp) psp = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(GString) received = g_string_new(NULL);
    g_auto(SnpgAgentResult) result = { 0 };
    g_autofree char *slave_path = NULL;
    SnpgAgentConfig config = { .get_report = get_report, .verifier_pin = pin,
                               .read_timeout_us = 10 * G_USEC_PER_SEC,
                               .deliver = collect_key };
    LateHost host = { .delay_us = 700 * 1000 };
    GThread *thread;
    gint64 start;
    int port = open_hung_up_port(&slave_path);

    psp = snpg_psp_open(psp_spec, &error);
    g_assert_no_error(error);
    config.user_data = psp;
    config.deliver_data = received;
    /* The hang-up is no verifier yet: the deadline ends the wait, nothing else. */
    start = g_get_monotonic_time();
    g_assert_false(snpg_transport_wait_first_byte(port, start + 300 * 1000, &error));
    g_assert_error(error, SNPG_TRANSPORT_ERROR, SNPG_TRANSPORT_ERROR_TIMEOUT);
    g_assert_cmpint(g_get_monotonic_time() - start, >=, 300 * 1000);
    g_clear_error(&error);

    host.slave_path = slave_path;
    thread = g_thread_new("late-host", late_host_thread, &host);
    start = g_get_monotonic_time();
    g_assert_true(snpg_transport_wait_first_byte(port, start + 20 * G_USEC_PER_SEC, &error));
    g_assert_no_error(error);
    g_assert_cmpint(g_get_monotonic_time() - start, >=, 500 * 1000);
    g_assert_true(snpg_session_run_agent(port, &config, &result, &error));
    g_assert_no_error(error);
    g_thread_join(thread);
    close(port);
    g_assert_true(host.ok);
    g_assert_true(host.result.key_confirmed);
    g_assert_true(result.delivered);
    g_assert_cmpmem(received->str, received->len, disk_key, strlen(disk_key));
    snpg_verifier_result_clear(&host.result);
}

/* A pty pair for the agent as a program: it gets the slave (--device), the
 * test plays the host on the master. The slave is raw, and stays so while
 * the test holds it open too. */
static int
open_pty(char **ret_slave_path, int *ret_slave)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    struct termios raw;

    g_assert_cmpint(master, >=, 0);
    g_assert_cmpint(grantpt(master), ==, 0);
    g_assert_cmpint(unlockpt(master), ==, 0);
    *ret_slave_path = g_strdup(ptsname(master));
    *ret_slave = open(*ret_slave_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    g_assert_cmpint(*ret_slave, >=, 0);
    g_assert_cmpint(tcgetattr(*ret_slave, &raw), ==, 0);
    cfmakeraw(&raw);
    g_assert_cmpint(tcsetattr(*ret_slave, TCSANOW, &raw), ==, 0);
    return master;
}

/* Waits until the process has path open. */
static void
wait_until_open(GPid pid, const char *path)
{
    g_autofree char *fd_dir = g_strdup_printf("/proc/%d/fd", (int)pid);

    for (int i = 0; i < 500; i++) {
        g_autoptr(GDir) dir = g_dir_open(fd_dir, 0, NULL);
        const char *entry;

        while (dir && (entry = g_dir_read_name(dir))) {
            g_autofree char *link = g_build_filename(fd_dir, entry, NULL);
            g_autofree char *target = g_file_read_link(link, NULL);

            if (target && g_str_equal(target, path))
                return;
        }
        g_usleep(10 * 1000);
    }
    g_assert_not_reached();
}

/* The agent on a device: a verifier that comes late (the host side silent
 * for a while) still gets its session, as the first attempt. */
static void
test_device_late_verifier(void)
{
    g_autofree char *id = write_identity("tty.id", 0x30000);
    g_autofree char *psp = g_strdup_printf("sim:%s", id);
    g_autofree char *key_out = g_build_filename(tmp, "tty.key", NULL);
    g_autofree char *slave_path = NULL;
    g_auto(SnpgVerifierResult) result = { 0 };
    g_autofree char *err = NULL, *content = NULL;
    gsize len = 0;
    Agent agent;
    int slave, master = open_pty(&slave_path, &slave);
    const char *args[] = { "--device", slave_path, "--psp", psp, "--key-out", key_out,
                           "--attempts", "1", "--verifier-pin", pin_hex, NULL };

    agent_start(&agent, args);
    wait_until_open(agent.pid, slave_path);
    g_usleep(G_USEC_PER_SEC / 2);
    g_assert_true(verify_once(master, FALSE, &result));
    g_assert_cmpint(agent_wait(&agent, &err), ==, 0);
    g_assert_true(result.key_confirmed);
    g_assert_true(g_file_get_contents(key_out, &content, &len, NULL));
    g_assert_cmpmem(content, len, disk_key, strlen(disk_key));
    close(slave);
}

/* The agent on a device whose other side hung up (a pty slave after its
 * master closed reads 0 at once and polls POLLHUP, as a virtio-serial port
 * without a host side does; unlike the port, it never recovers). That is no
 * verifier, not a string of failed attempts: the agent waits for --wait and
 * gives up saying so, with no attempt made. */
static void
test_device_hangup_is_waiting(void)
{
    g_autofree char *id = write_identity("hup.id", 0x30000);
    g_autofree char *psp = g_strdup_printf("sim:%s", id);
    g_autofree char *key_out = g_build_filename(tmp, "hup.key", NULL);
    g_autofree char *slave_path = NULL;
    g_autofree char *err = NULL;
    gint64 start;
    Agent agent;
    int slave, master = open_pty(&slave_path, &slave);
    const char *args[] = { "--device", slave_path, "--psp", psp, "--key-out", key_out,
                           "--attempts", "3", "--backoff-max", "0", "--wait", "1",
                           "--verifier-pin", pin_hex, NULL };

    agent_start(&agent, args);
    wait_until_open(agent.pid, slave_path);
    start = g_get_monotonic_time();
    close(master);
    g_assert_cmpint(agent_wait(&agent, &err), ==, 1);
    g_assert_cmpint(g_get_monotonic_time() - start, >=, G_USEC_PER_SEC / 2);
    g_assert_nonnull(strstr(err, "no verifier started a session within 1 s"));
    g_assert_null(strstr(err, "attempt"));
    close(slave);
}

/* On a socket a peer that leaves before its first byte ends the wait. */
static void
test_wait_first_byte_socket(void)
{
    g_autoptr(GError) error = NULL;
    int sv[2];

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
    g_assert_cmpint(write(sv[0], "S", 1), ==, 1);
    g_assert_true(snpg_transport_wait_first_byte(sv[1], G_MAXINT64, &error));
    close(sv[0]);
    close(sv[1]);
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
    close(sv[0]);
    g_assert_false(snpg_transport_wait_first_byte(sv[1], G_MAXINT64, &error));
    g_assert_error(error, SNPG_TRANSPORT_ERROR, SNPG_TRANSPORT_ERROR_CLOSED);
    close(sv[1]);
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
        g_assert_true(snpg_proto_identity_pin(identity, pin, &error));
        pin_hex = snpg_test_hex(pin, sizeof(pin));
    }

    g_test_add_func("/agent/standalone-delivers-key", test_standalone_delivers_key);
    g_test_add_func("/agent/final-refusal-writes-nothing", test_final_refusal_writes_nothing);
    g_test_add_func("/agent/survives-verifier-restart", test_survives_verifier_restart);
    g_test_add_func("/agent/existing-key-file-untouched", test_existing_key_file_untouched);
    g_test_add_func("/agent/closed-key-pipe-not-confirmed", test_closed_key_pipe_not_confirmed);
    g_test_add_func("/agent/refusal-is-the-final-status", test_refusal_is_the_final_status);
    g_test_add_func("/agent/unstarted-connections-not-counted", test_unstarted_connections_not_counted);
    g_test_add_func("/agent/wait-has-a-deadline", test_wait_has_a_deadline);
    g_test_add_func("/agent/port-waits-for-late-host", test_port_waits_for_late_host);
    g_test_add_func("/agent/wait-first-byte-socket", test_wait_first_byte_socket);
    g_test_add_func("/agent/device-late-verifier", test_device_late_verifier);
    g_test_add_func("/agent/device-hangup-is-waiting", test_device_hangup_is_waiting);
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
