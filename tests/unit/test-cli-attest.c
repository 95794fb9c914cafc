/* snpguard attest against snpguard-agent, both as programs, with the
 * simulated secure processor: exit codes, outputs, the key on both ends. */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "testutil.h"

static char *tmp;
static char *sim_dir;
static char *ark;
static char *verifier_key;     /* made by 'snpguard verifier-key create' */
static char *pin;
static const char measurement[] =
    "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";
static const char other_measurement[] =
    "6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b";

typedef struct {
    GPid pid;
    char *address;
    char *key_out;
} Agent;

static char *
identity(const char *name, const char *const *extra)
{
    g_autoptr(GPtrArray) args = g_ptr_array_new();
    g_auto(SnpgRun) run = { 0 };
    char *path = g_build_filename(tmp, name, NULL);

    g_ptr_array_add(args, (gpointer)"sim");
    g_ptr_array_add(args, (gpointer)"identity");
    g_ptr_array_add(args, sim_dir);
    g_ptr_array_add(args, (gpointer)"--measurement");
    g_ptr_array_add(args, (gpointer)measurement);
    g_ptr_array_add(args, (gpointer)"-o");
    g_ptr_array_add(args, path);
    for (gsize i = 0; extra && extra[i]; i++)
        g_ptr_array_add(args, (gpointer)extra[i]);
    g_ptr_array_add(args, NULL);
    snpg_runv(&run, NULL, (const char *const *)args->pdata);
    g_assert_cmpint(run.exit_code, ==, 0);
    return path;
}

static void
agent_start(Agent *agent, const char *name, const char *id_path)
{
    g_autofree char *sock = g_strdup_printf("%s/%s.sock", tmp, name);
    g_autofree char *psp = g_strdup_printf("sim:%s", id_path);
    g_autoptr(GError) error = NULL;

    agent->address = g_strdup_printf("unix:%s", sock);
    agent->key_out = g_strdup_printf("%s/%s.key", tmp, name);
    const char *argv[] = { g_getenv("SNPGUARD_AGENT"), "--listen", agent->address, "--psp", psp,
                           "--key-out", agent->key_out, "--attempts", "1", "--quiet",
                           "--verifier-pin", pin, NULL };
    g_assert_true(g_spawn_async(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                &agent->pid, &error));
    g_assert_no_error(error);
    for (int i = 0; i < 500 && !g_file_test(sock, G_FILE_TEST_EXISTS); i++)
        g_usleep(10 * 1000);
}

static int
agent_finish(Agent *agent)
{
    int status = 0;

    g_assert_cmpint(waitpid(agent->pid, &status, 0), ==, agent->pid);
    g_spawn_close_pid(agent->pid);
    g_free(agent->address);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
test_key_delivered(void)
{
    g_autofree char *id = identity("ok.id", NULL);
    g_autofree char *key = snpg_test_write(tmp, "disk.key", "0123456789abcdef0123456789abcdef", 32);
    g_auto(SnpgRun) run = { 0 };
    g_autofree char *got = NULL;
    gsize len = 0;
    Agent agent;

    agent_start(&agent, "ok", id);
    snpg_run(&run, NULL, "attest", "--connect", agent.address, "--trust-root", ark,
             "--measurement", measurement, "--key-file", key, "--verifier-key", verifier_key, NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    g_assert_nonnull(strstr(run.out, "accepted"));
    g_assert_nonnull(strstr(run.out, "key released: 32 bytes"));
    g_assert_nonnull(strstr(run.out, "receipt confirmed"));
    /* The key itself never appears in the verifier's output. */
    g_assert_null(strstr(run.out, "0123456789abcdef"));
    g_assert_cmpint(agent_finish(&agent), ==, 0);
    g_assert_true(g_file_get_contents(agent.key_out, &got, &len, NULL));
    g_assert_cmpmem(got, len, "0123456789abcdef0123456789abcdef", 32);
    g_free(agent.key_out);
}

static void
test_rejected_exit_3(void)
{
    g_autofree char *id = identity("rej.id", NULL);
    g_autofree char *key = snpg_test_write(tmp, "rej-disk.key", "secret", 6);
    g_auto(SnpgRun) run = { 0 };
    Agent agent;

    agent_start(&agent, "rej", id);
    snpg_run(&run, NULL, "attest", "--connect", agent.address, "--trust-root", ark,
             "--measurement", other_measurement, "--key-file", key, "--verifier-key", verifier_key,
             NULL);
    g_assert_cmpint(run.exit_code, ==, 3);
    g_assert_true(g_str_has_prefix(run.out, "measurement: "));
    g_assert_cmpint(agent_finish(&agent), ==, 3);
    g_assert_false(g_file_test(agent.key_out, G_FILE_TEST_EXISTS));
    g_free(agent.key_out);
}

static void
test_untrusted_root_json(void)
{
    g_autofree char *id = identity("json.id", NULL);
    g_autofree char *key = snpg_test_write(tmp, "json-disk.key", "secret", 6);
    g_auto(SnpgRun) run = { 0 };
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) error = NULL;
    JsonObject *root;
    Agent agent;

    agent_start(&agent, "json", id);
    /* Without --trust-root the simulated chain is not trusted. */
    snpg_run(&run, NULL, "attest", "--connect", agent.address, "--measurement", measurement,
             "--key-file", key, "--json", "--verifier-key", verifier_key, NULL);
    g_assert_cmpint(run.exit_code, ==, 3);
    g_assert_true(json_parser_load_from_data(parser, run.out, -1, &error));
    root = json_node_get_object(json_parser_get_root(parser));
    g_assert_cmpstr(json_object_get_string_member(root, "verdict"), ==, "rejected");
    g_assert_false(json_object_get_boolean_member(root, "key_released"));
    g_assert_cmpstr(json_object_get_string_member(
                        json_array_get_object_element(json_object_get_array_member(root, "reasons"), 0),
                        "code"), ==, "root-untrusted");
    agent_finish(&agent);
    g_assert_false(g_file_test(agent.key_out, G_FILE_TEST_EXISTS));
    g_free(agent.key_out);
}

static void
test_attestation_only(void)
{
    g_autofree char *id = identity("verity.id", NULL);
    g_auto(SnpgRun) run = { 0 };
    Agent agent;

    agent_start(&agent, "verity", id);
    snpg_run(&run, NULL, "attest", "--connect", agent.address, "--trust-root", ark,
             "--measurement", measurement, "--verifier-key", verifier_key, NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    g_assert_null(strstr(run.out, "key released"));
    g_assert_cmpint(agent_finish(&agent), ==, 0);
    g_assert_false(g_file_test(agent.key_out, G_FILE_TEST_EXISTS));
    g_free(agent.key_out);
}

/* Without the pinned identity the verifier's KEY is refused by the agent:
 * attest reports the failure, and no key arrives. */
static void
test_unpinned_verifier(void)
{
    g_autofree char *id = identity("unpinned.id", NULL);
    g_autofree char *key = snpg_test_write(tmp, "unpinned-disk.key", "secret", 6);
    g_autofree char *other_key = g_build_filename(tmp, "other-verifier.pem", NULL);
    g_auto(SnpgRun) run = { 0 };
    Agent agent;

    snpg_run(&run, NULL, "verifier-key", "create", other_key, NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    snpg_run_clear(&run);
    agent_start(&agent, "unpinned", id);
    snpg_run(&run, NULL, "attest", "--connect", agent.address, "--trust-root", ark,
             "--measurement", measurement, "--key-file", key, "--verifier-key", other_key, NULL);
    g_assert_cmpint(run.exit_code, ==, 1);
    g_assert_nonnull(strstr(run.err, "not confirmed"));
    g_assert_cmpint(agent_finish(&agent), ==, 1);
    g_assert_false(g_file_test(agent.key_out, G_FILE_TEST_EXISTS));
    g_free(agent.key_out);
}

/* The agent cannot hand the key on (its --key-out exists): it says so, and
 * attest must not claim a confirmed receipt. */
static void
test_undelivered_not_confirmed(void)
{
    g_autofree char *id = identity("undelivered.id", NULL);
    g_autofree char *key = snpg_test_write(tmp, "undelivered-disk.key", "secret", 6);
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) error = NULL;
    g_auto(SnpgRun) run = { 0 };
    g_autofree char *got = NULL;
    JsonObject *root, *refused, *reason;
    gsize len = 0;
    Agent agent;

    for (int json = 0; json < 2; json++) {
        agent_start(&agent, json ? "undelivered-json" : "undelivered", id);
        g_assert_true(g_file_set_contents(agent.key_out, "old", 3, NULL));
        snpg_run_clear(&run);
        snpg_run(&run, NULL, "attest", "--connect", agent.address, "--trust-root", ark,
                 "--measurement", measurement, "--key-file", key, "--verifier-key", verifier_key,
                 json ? "--json" : NULL, NULL);
        g_assert_cmpint(run.exit_code, ==, 1);
        g_assert_null(strstr(run.out, "receipt confirmed"));
        g_assert_nonnull(strstr(run.err, "released but not confirmed: delivery(1104)"));
        g_assert_nonnull(strstr(run.err, "File exists"));
        g_assert_cmpint(agent_finish(&agent), ==, 1);
        g_assert_true(g_file_get_contents(agent.key_out, &got, &len, NULL));
        g_assert_cmpmem(got, len, "old", 3);
        g_clear_pointer(&got, g_free);
        g_free(agent.key_out);
    }
    g_assert_true(json_parser_load_from_data(parser, run.out, -1, &error));
    root = json_node_get_object(json_parser_get_root(parser));
    g_assert_true(json_object_get_boolean_member(root, "key_released"));
    g_assert_false(json_object_get_boolean_member(root, "key_confirmed"));
    refused = json_object_get_object_member(root, "delivery_refused");
    reason = json_array_get_object_element(json_object_get_array_member(refused, "reasons"), 0);
    g_assert_cmpint(json_object_get_int_member(reason, "code"), ==, 1104);
    g_assert_cmpstr(json_object_get_string_member(reason, "name"), ==, "delivery");
}

/* LUKS2 expectations reach an agent that has no disk to check them
 * against: it refuses the key rather than hand it on unchecked. */
static void
test_luks_expectations_unchecked(void)
{
    g_autofree char *id = identity("luks.id", NULL);
    g_autofree char *key = snpg_test_write(tmp, "luks-disk.key", "secret", 6);
    const char *expectations[][2] = { { "--luks-cipher", "aes-xts-plain64" },
                                      { "--luks-key-bits", "512" } };

    for (gsize i = 0; i < G_N_ELEMENTS(expectations); i++) {
        g_autofree char *name = g_strdup_printf("luks%zu", i);
        g_auto(SnpgRun) run = { 0 };
        Agent agent;

        agent_start(&agent, name, id);
        snpg_run(&run, NULL, "attest", "--connect", agent.address, "--trust-root", ark,
                 "--measurement", measurement, "--key-file", key, "--verifier-key", verifier_key,
                 expectations[i][0], expectations[i][1], NULL);
        g_assert_cmpint(run.exit_code, ==, 1);
        g_assert_nonnull(strstr(run.err, "released but not confirmed: luks-unchecked(1105)"));
        g_assert_cmpint(agent_finish(&agent), ==, 1);
        g_assert_false(g_file_test(agent.key_out, G_FILE_TEST_EXISTS));
        g_free(agent.key_out);
    }
}

/* A peer that listens but never accepts (its backlog is full) cannot hold
 * attest past --timeout. */
static void
test_connect_bounded_by_timeout(void)
{
    g_autofree char *sock = g_build_filename(tmp, "full.sock", NULL);
    g_autofree char *address = g_strdup_printf("unix:%s", sock);
    g_autoptr(GArray) queued = g_array_new(FALSE, FALSE, sizeof(int));
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    g_auto(SnpgRun) run = { 0 };
    gint64 start;
    int listener;

    g_strlcpy(sun.sun_path, sock, sizeof(sun.sun_path));
    listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_assert_cmpint(bind(listener, (struct sockaddr *)&sun, sizeof(sun)), ==, 0);
    g_assert_cmpint(listen(listener, 0), ==, 0);
    /* Fill the backlog until a further connection would have to wait. */
    for (;;) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

        if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
            g_assert_cmpint(errno, ==, EAGAIN);
            close(fd);
            break;
        }
        g_array_append_val(queued, fd);
        g_assert_cmpuint(queued->len, <, 100);
    }
    start = g_get_monotonic_time();
    snpg_run(&run, NULL, "attest", "--connect", address, "--measurement", measurement,
             "--timeout", "1", NULL);
    g_assert_cmpint(run.exit_code, ==, 1);
    g_assert_nonnull(strstr(run.err, "in time"));
    g_assert_cmpint(g_get_monotonic_time() - start, >=, G_USEC_PER_SEC);
    g_assert_cmpint(g_get_monotonic_time() - start, <, 10 * G_USEC_PER_SEC);
    for (guint i = 0; i < queued->len; i++)
        close(g_array_index(queued, int, i));
    close(listener);
}

static void
test_verifier_key_command(void)
{
    g_autofree char *path = g_build_filename(tmp, "vk.pem", NULL);
    g_auto(SnpgRun) run = { 0 };
    g_autofree char *created_pin = NULL;
    struct stat st;

    snpg_run(&run, NULL, "verifier-key", "create", path, "--json", NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    g_assert_nonnull(strstr(run.out, "\"cmdline\" : \"snpguard.verifier="));
    g_assert_cmpint(g_stat(path, &st), ==, 0);
    g_assert_cmpint(st.st_mode & 0777, ==, 0600);
    created_pin = g_strdup(strstr(run.out, "\"pin\" : \"") + 9);
    *strchr(created_pin, '"') = 0;
    g_assert_cmpuint(strlen(created_pin), ==, 64);
    snpg_run_clear(&run);
    /* The same pin again from the file; never overwritten without --force. */
    snpg_run(&run, NULL, "verifier-key", "pin", path, NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    g_assert_nonnull(strstr(run.out, created_pin));
    snpg_run_clear(&run);
    snpg_run(&run, NULL, "verifier-key", "create", path, NULL);
    g_assert_cmpint(run.exit_code, ==, 1);
    snpg_run_clear(&run);
    snpg_run(&run, NULL, "verifier-key", "pin", ark, NULL);
    g_assert_cmpint(run.exit_code, ==, 1);
    g_assert_nonnull(strstr(run.err, "Ed25519"));
    snpg_run_clear(&run);
    snpg_run(&run, NULL, "verifier-key", "frobnicate", NULL);
    g_assert_cmpint(run.exit_code, ==, 2);
}

static void
test_errors(void)
{
    g_autofree char *nowhere = g_strdup_printf("unix:%s/nobody.sock", tmp);
    g_autofree char *missing = g_build_filename(tmp, "missing.key", NULL);
    g_auto(SnpgRun) run = { 0 };

    snpg_run(&run, NULL, "attest", "--connect", nowhere, "--measurement", measurement, NULL);
    g_assert_cmpint(run.exit_code, ==, 1);
    g_assert_nonnull(strstr(run.err, "nobody.sock"));
    snpg_run_clear(&run);
    snpg_run(&run, NULL, "attest", "--measurement", measurement, NULL);
    g_assert_cmpint(run.exit_code, ==, 2);
    snpg_run_clear(&run);
    snpg_run(&run, NULL, "attest", "--connect", "tcp:1.2.3.4:5", NULL);
    g_assert_cmpint(run.exit_code, ==, 1);
    g_assert_nonnull(strstr(run.err, "unix:PATH"));
    snpg_run_clear(&run);
    snpg_run(&run, NULL, "attest", "--connect", nowhere, "--key-file", missing, NULL);
    g_assert_cmpint(run.exit_code, ==, 1);
    g_assert_nonnull(strstr(run.err, "missing.key"));
    snpg_run_clear(&run);
    snpg_run(&run, NULL, "attest", "--connect", nowhere, "--measurement", "xyz", NULL);
    g_assert_cmpint(run.exit_code, ==, 2);
    snpg_run_clear(&run);
    /* REPORT_DATA belongs to the session: attest does not take it. */
    snpg_run(&run, NULL, "attest", "--connect", nowhere, "--report-data", "00", NULL);
    g_assert_cmpint(run.exit_code, ==, 2);
}

int
main(int argc, char **argv)
{
    int status;

    g_test_init(&argc, &argv, NULL);
    tmp = snpg_test_tmpdir();
    sim_dir = snpg_test_data("sim", "turin", NULL);
    ark = g_build_filename(sim_dir, "ark.pem", NULL);
    verifier_key = g_build_filename(tmp, "verifier.pem", NULL);
    {
        g_auto(SnpgRun) run = { 0 };
        const char *p;
        snpg_run(&run, NULL, "verifier-key", "create", verifier_key, NULL);
        g_assert_cmpint(run.exit_code, ==, 0);
        p = strstr(run.out, "pin: ");
        g_assert_nonnull(p);
        pin = g_strndup(p + 5, 64);
    }
    g_test_add_func("/cli/attest/key-delivered", test_key_delivered);
    g_test_add_func("/cli/attest/rejected-exit-3", test_rejected_exit_3);
    g_test_add_func("/cli/attest/untrusted-root-json", test_untrusted_root_json);
    g_test_add_func("/cli/attest/attestation-only", test_attestation_only);
    g_test_add_func("/cli/attest/unpinned-verifier", test_unpinned_verifier);
    g_test_add_func("/cli/attest/undelivered-not-confirmed", test_undelivered_not_confirmed);
    g_test_add_func("/cli/attest/luks-expectations-unchecked", test_luks_expectations_unchecked);
    g_test_add_func("/cli/attest/connect-bounded-by-timeout", test_connect_bounded_by_timeout);
    g_test_add_func("/cli/attest/verifier-key-command", test_verifier_key_command);
    g_test_add_func("/cli/attest/errors", test_errors);
    status = g_test_run();
    g_free(ark);
    g_free(verifier_key);
    g_free(pin);
    g_free(sim_dir);
    g_free(tmp);
    return status;
}
