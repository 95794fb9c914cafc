/* The user-facing surface of snpguard and snpguard-agent, command by
 * command: --help (exit 0, a usage line naming the whole command), usage
 * errors (exit 2, one error line plus the --help hint), unreadable inputs
 * (exit 1, the file named in quotes), and --json output (valid JSON with
 * snake_case keys). Uses the committed simulators in tests/data/sim: no
 * RSA key generation, so it stays fast. */
#include "config.h"

#include <string.h>
#include <sys/wait.h>

#include <json-glib/json-glib.h>

#include "testutil.h"

static char *tmp;

/* ---- the command table -------------------------------------------------- */

typedef struct {
    const char *argv[4];        /* the command words, NULL-terminated */
    const char *params;         /* after "[OPTION…]" on the usage line, or NULL */
    const char *bad[3];         /* arguments that make a usage error (missing/extra) */
} Leaf;

static const Leaf leaves[] = {
    { { "measure" }, NULL, { "extra" } },
    { { "report", "show" }, "REPORT", { NULL } },
    { { "report", "verify" }, "REPORT", { "a", "b" } },
    { { "attest" }, "[NAME]", { "a", "b" } },
    { { "show" }, "NAME", { NULL } },
    { { "undefine" }, "NAME", { NULL } },
    { { "verifier-key", "create" }, "FILE", { NULL } },
    { { "verifier-key", "pin" }, "FILE", { "a", "b" } },
    { { "sim", "init" }, "DIR", { NULL } },
    { { "sim", "report" }, "DIR", { "a", "b" } },
    { { "sim", "identity" }, "DIR", { NULL } },
    { { "idblock", "create" }, NULL, { "extra" } },
    { { "idblock", "keygen" }, "FILE", { NULL } },
    { { "idblock", "digest" }, NULL, { "extra" } },
    { { "certs", "url" }, "REPORT", { NULL } },
    { { "certs", "import" }, "FILE...", { NULL } },
    { { "certs", "list" }, NULL, { "extra" } },
    { { "guest", "build" }, "DIR", { NULL } },
    { { "image", "rootfs" }, "DIR", { NULL } },
    { { "image", "encrypt" }, "NAME SRC DST", { "a", "b" } },
    { { "image", "verity" }, "NAME SRC DATA HASH", { "a", "b" } },
    { { "hook" }, "DOMAIN OPERATION SUBOP EXTRA", { "a", "b" } },
    { { "start" }, "NAME", { NULL } },
    { { "watch" }, NULL, { "extra" } },
};

static const char *const groups[] = { "report", "verifier-key", "sim", "idblock", "certs",
                                      "guest", "image" };

static char *
command_name(const char *const *words)
{
    g_autofree char *joined = g_strjoinv(" ", (char **)words);

    return g_strdup_printf("snpguard %s", joined);
}

static void
run_words(SnpgRun *run, const char *const *words, const char *const *more)
{
    g_autoptr(GPtrArray) args = g_ptr_array_new();

    for (gsize i = 0; words[i]; i++)
        g_ptr_array_add(args, (gpointer)words[i]);
    for (gsize i = 0; more && more[i]; i++)
        g_ptr_array_add(args, (gpointer)more[i]);
    g_ptr_array_add(args, NULL);
    snpg_runv(run, tmp, (const char *const *)args->pdata);
}

/* Exit 2; stderr is exactly "PROG: error: ..." and "Run 'NAME --help' for usage.". */
static void
assert_usage_error(const SnpgRun *run, const char *prog, const char *name)
{
    g_auto(GStrv) lines = NULL;
    g_autofree char *prefix = g_strdup_printf("%s: error: ", prog);
    g_autofree char *hint = g_strdup_printf("Run '%s --help' for usage.", name);

    g_assert_cmpint(run->exit_code, ==, 2);
    g_assert_cmpstr(run->out, ==, "");
    g_assert_true(g_str_has_suffix(run->err, "\n"));
    lines = g_strsplit(run->err, "\n", -1);
    g_assert_cmpuint(g_strv_length(lines), ==, 3);  /* two lines and the empty tail */
    g_assert_true(g_str_has_prefix(lines[0], prefix));
    g_assert_cmpuint(strlen(lines[0]), >, strlen(prefix));
    g_assert_cmpstr(lines[1], ==, hint);
}

/* "  NAME [OPTION…] PARAMS" (GOption's usage line) in the help text. */
static void
assert_usage_line(const char *help, const char *name, const char *params)
{
    g_auto(GStrv) lines = g_strsplit(help, "\n", -1);
    g_autofree char *start = g_strdup_printf("  %s [OPTION", name);
    g_autofree char *tail = params ? g_strconcat(" ", params, NULL) : g_strdup("");
    gboolean found = FALSE;

    for (gsize i = 0; lines[i]; i++) {
        if (!g_str_has_prefix(lines[i], start))
            continue;
        /* "[OPTION…]" or "[OPTION...]" depending on the locale. */
        const char *close = strchr(lines[i] + strlen(start), ']');
        g_assert_nonnull(close);
        g_assert_cmpstr(close + 1, ==, tail);
        found = TRUE;
    }
    if (!found)
        g_error("no usage line '%s [OPTION…]%s%s' in:\n%s", name, params ? " " : "",
                params ? params : "", help);
}

static void
test_leaf_help(gconstpointer data)
{
    const Leaf *leaf = data;
    g_autofree char *name = command_name(leaf->argv);
    g_auto(SnpgRun) run = { 0 };
    const char *const help[] = { "--help", NULL };

    run_words(&run, leaf->argv, help);
    g_assert_cmpint(run.exit_code, ==, 0);
    g_assert_cmpstr(run.err, ==, "");
    g_assert_true(g_str_has_prefix(run.out, "Usage:"));
    assert_usage_line(run.out, name, leaf->params);

    /* "snpguard help GROUP SUB" is the same text. */
    if (leaf->argv[1]) {
        g_auto(SnpgRun) h = { 0 };
        snpg_run(&h, NULL, "help", leaf->argv[0], leaf->argv[1], NULL);
        g_assert_cmpint(h.exit_code, ==, 0);
        g_assert_cmpstr(h.out, ==, run.out);
    }
}

static void
test_leaf_unknown_option(gconstpointer data)
{
    const Leaf *leaf = data;
    g_autofree char *name = command_name(leaf->argv);
    g_auto(SnpgRun) run = { 0 };
    const char *const bogus[] = { "--no-such-option", NULL };

    run_words(&run, leaf->argv, bogus);
    assert_usage_error(&run, "snpguard", name);
    g_assert_nonnull(strstr(run.err, "--no-such-option"));
}

static void
test_leaf_bad_arguments(gconstpointer data)
{
    const Leaf *leaf = data;
    g_autofree char *name = command_name(leaf->argv);
    g_auto(SnpgRun) run = { 0 };

    run_words(&run, leaf->argv, leaf->bad);
    assert_usage_error(&run, "snpguard", name);
}

static void
test_group(gconstpointer data)
{
    const char *group = data;
    g_autofree char *name = g_strdup_printf("snpguard %s", group);
    g_autofree char *usage = g_strdup_printf("Usage: snpguard %s ", group);
    const char *const words[] = { group, NULL };
    const char *const help[] = { "--help", NULL };
    const char *const bogus[] = { "--no-such-option", NULL };
    const char *const sub[] = { "no-such-subcommand", NULL };
    g_auto(SnpgRun) run = { 0 };

    run_words(&run, words, help);
    g_assert_cmpint(run.exit_code, ==, 0);
    g_assert_true(g_str_has_prefix(run.out, usage));
    snpg_run_clear(&run);

    /* "snpguard help GROUP" is the same text. */
    {
        g_auto(SnpgRun) h = { 0 };
        snpg_run(&h, NULL, "help", group, NULL);
        g_assert_cmpint(h.exit_code, ==, 0);
        g_assert_true(g_str_has_prefix(h.out, usage));
    }

    run_words(&run, words, NULL);
    assert_usage_error(&run, "snpguard", name);
    snpg_run_clear(&run);
    run_words(&run, words, bogus);
    assert_usage_error(&run, "snpguard", name);
    snpg_run_clear(&run);
    run_words(&run, words, sub);
    assert_usage_error(&run, "snpguard", name);
    g_assert_nonnull(strstr(run.err, "'no-such-subcommand'"));
    snpg_run_clear(&run);
    snpg_run(&run, NULL, "help", group, "no-such-subcommand", NULL);
    g_assert_cmpint(run.exit_code, ==, 2);
    g_assert_nonnull(strstr(run.err, "'no-such-subcommand'"));
}

static void
test_toplevel(void)
{
    g_auto(SnpgRun) run = { 0 };

    snpg_run(&run, NULL, "--help", NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    g_assert_true(g_str_has_prefix(run.out, "Usage: snpguard COMMAND"));
    /* Every command is listed. */
    for (gsize i = 0; i < G_N_ELEMENTS(leaves); i++) {
        g_autofree char *needle = g_strdup_printf("\n  %s ", leaves[i].argv[0]);
        g_assert_nonnull(strstr(run.out, needle));
    }
    snpg_run_clear(&run);

    snpg_run(&run, NULL, "no-such-command", NULL);
    g_assert_cmpint(run.exit_code, ==, 2);
    g_assert_true(g_str_has_prefix(run.err, "snpguard: error: unknown command 'no-such-command'\n"));
    g_assert_nonnull(strstr(run.err, "Run 'snpguard help'"));
}

/* ---- snpguard-agent ------------------------------------------------------ */

static void
run_agent(SnpgRun *run, const char *const *args)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(GError) error = NULL;
    int status = 0;

    g_ptr_array_add(argv, (gpointer)g_getenv("SNPGUARD_AGENT"));
    g_assert_nonnull(argv->pdata[0]);
    for (gsize i = 0; args[i]; i++)
        g_ptr_array_add(argv, (gpointer)args[i]);
    g_ptr_array_add(argv, NULL);
    g_assert_true(g_spawn_sync(tmp, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               &run->out, &run->err, &status, &error));
    run->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
test_agent(void)
{
    g_auto(SnpgRun) run = { 0 };
    const char *const help[] = { "--help", NULL };
    const char *const bogus[] = { "--no-such-option", NULL };
    const char *const extra[] = { "--any-verifier", "--key-out", "-", "extra", NULL };
    const char *const vmpl[] = { "--any-verifier", "--key-out", "-", "--vmpl", "7", NULL };
    const char *const modes[] = { "--any-verifier", "--key-out", "-", "--device", "/dev/null",
                                  "--connect", "unix:/nonexistent", NULL };
    const char *const kex[] = { "--any-verifier", "--key-out", "-", "--kex", "rsa", NULL };

    run_agent(&run, help);
    g_assert_cmpint(run.exit_code, ==, 0);
    assert_usage_line(run.out, "snpguard-agent", NULL);
    snpg_run_clear(&run);

    run_agent(&run, bogus);
    assert_usage_error(&run, "snpguard-agent", "snpguard-agent");
    snpg_run_clear(&run);
    run_agent(&run, extra);
    assert_usage_error(&run, "snpguard-agent", "snpguard-agent");
    g_assert_nonnull(strstr(run.err, "'extra'"));
    snpg_run_clear(&run);
    run_agent(&run, vmpl);
    assert_usage_error(&run, "snpguard-agent", "snpguard-agent");
    snpg_run_clear(&run);
    run_agent(&run, modes);
    assert_usage_error(&run, "snpguard-agent", "snpguard-agent");
    snpg_run_clear(&run);
    run_agent(&run, kex);
    assert_usage_error(&run, "snpguard-agent", "snpguard-agent");
}

/* ---- unreadable inputs ---------------------------------------------------- */

static void
test_unreadable(void)
{
    g_autofree char *missing = g_build_filename(tmp, "missing", NULL);
    g_autofree char *quoted = g_strdup_printf("'%s'", missing);
    g_autofree char *vcek = snpg_test_data("sim", "milan", "vcek.der", NULL);
    const char *m = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"
                    "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";
    const char *const cases[][10] = {
        { "report", "show", missing },
        { "report", "verify", missing, "--cert", vcek },
        { "report", "verify", missing, "--trust-root", missing },
        { "certs", "url", missing },
        { "certs", "import", "--cache", tmp, missing },
        { "verifier-key", "pin", missing },
        { "idblock", "digest", "--id-key", missing },
        { "sim", "report", missing, "--measurement", m, "-o", "r.bin" },
        { "sim", "identity", missing, "--measurement", m, "-o", "id" },
        { "measure", "--mode", "snp", "--vcpus", "1", "--vcpu-type", "EPYC", "--ovmf", missing },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_auto(SnpgRun) run = { 0 };
        g_auto(GStrv) lines = NULL;

        snpg_runv(&run, tmp, cases[i]);
        g_assert_cmpint(run.exit_code, ==, 1);
        g_assert_true(g_str_has_prefix(run.err, "snpguard: error: "));
        g_assert_nonnull(strstr(run.err, quoted));
        /* One line, printed once. */
        lines = g_strsplit(run.err, "\n", -1);
        g_assert_cmpuint(g_strv_length(lines), ==, 2);
    }
}

/* ---- JSON ----------------------------------------------------------------- */

static void
assert_snake_case_keys(JsonNode *node)
{
    if (JSON_NODE_HOLDS_OBJECT(node)) {
        JsonObjectIter it;
        const char *name;
        JsonNode *member;

        json_object_iter_init(&it, json_node_get_object(node));
        while (json_object_iter_next(&it, &name, &member)) {
            g_assert_cmpuint(strlen(name), >, 0);
            for (const char *c = name; *c; c++)
                if (!(g_ascii_islower(*c) || g_ascii_isdigit(*c) || *c == '_'))
                    g_error("JSON key '%s' is not snake_case", name);
            assert_snake_case_keys(member);
        }
    } else if (JSON_NODE_HOLDS_ARRAY(node)) {
        JsonArray *a = json_node_get_array(node);
        for (guint i = 0; i < json_array_get_length(a); i++)
            assert_snake_case_keys(json_array_get_element(a, i));
    }
}

/* Parses stdout as one JSON value and checks its keys; returns its root. */
static JsonNode *
parse_json(const SnpgRun *run)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) error = NULL;
    JsonNode *root;

    if (!json_parser_load_from_data(parser, run->out, -1, &error))
        g_error("invalid JSON (%s):\n%s", error->message, run->out);
    root = json_node_copy(json_parser_get_root(parser));
    g_assert_nonnull(root);
    assert_snake_case_keys(root);
    return root;
}

static JsonObject *
object_of(JsonNode *root)
{
    g_assert_true(JSON_NODE_HOLDS_OBJECT(root));
    return json_node_get_object(root);
}

static char *
make_ovmf(void)
{
    g_autofree char *suffix_path = snpg_test_data("measure", "ovmf_AmdSev_suffix.bin", NULL);
    g_autofree char *suffix = NULL;
    gsize len = 0;
    gsize filler = 256 * 1024;
    g_autofree guint8 *image = NULL;

    g_assert_true(g_file_get_contents(suffix_path, &suffix, &len, NULL));
    image = g_malloc0(filler + len);
    memcpy(image + filler, suffix, len);
    return snpg_test_write(tmp, "OVMF.fd", image, filler + len);
}

static void
test_json(void)
{
    g_autofree char *sim = snpg_test_data("sim", "milan", NULL);
    g_autofree char *ark = snpg_test_data("sim", "milan", "ark.pem", NULL);
    g_autofree char *ask = snpg_test_data("sim", "milan", "ask.pem", NULL);
    g_autofree char *vcek = snpg_test_data("sim", "milan", "vcek.der", NULL);
    g_autofree char *id_key = snpg_test_data("idblock", "id_key_test.pem", NULL);
    g_autofree char *author_key = snpg_test_data("idblock", "author_key_test.pem", NULL);
    g_autofree char *report = g_build_filename(tmp, "json-report.bin", NULL);
    g_autofree char *cache = g_build_filename(tmp, "json-cache", NULL);
    g_autofree char *vkey = g_build_filename(tmp, "json-verifier.pem", NULL);
    g_autofree char *ovmf = make_ovmf();
    const char *m = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"
                    "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";
    g_auto(SnpgRun) run = { 0 };
    JsonNode *root;

    snpg_run(&run, NULL, "measure", "--mode", "snp", "--vcpus", "2", "--vcpu-type", "EPYC-Milan",
             "--ovmf", ovmf, "--json", NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    root = parse_json(&run);
    g_assert_cmpuint(strlen(json_object_get_string_member(object_of(root), "measurement")), ==, 96);
    json_node_unref(root);
    snpg_run_clear(&run);

    snpg_run(&run, NULL, "sim", "report", sim, "--measurement", m, "-o", report, NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    snpg_run_clear(&run);

    snpg_run(&run, NULL, "report", "show", report, "--json", NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    root = parse_json(&run);
    g_assert_cmpstr(json_object_get_string_member(object_of(root), "measurement"), ==, m);
    json_node_unref(root);
    snpg_run_clear(&run);

    snpg_run(&run, NULL, "report", "verify", report, "--cert", vcek, "--ask", ask,
             "--trust-root", ark, "--measurement", m, "--json", NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    root = parse_json(&run);
    g_assert_cmpstr(json_object_get_string_member(object_of(root), "verdict"), ==, "accepted");
    json_node_unref(root);
    snpg_run_clear(&run);

    /* Rejected: still JSON, exit 3, reasons with stable codes. */
    snpg_run(&run, NULL, "report", "verify", report, "--cert", vcek, "--json", NULL);
    g_assert_cmpint(run.exit_code, ==, 3);
    root = parse_json(&run);
    g_assert_cmpstr(json_object_get_string_member(object_of(root), "verdict"), ==, "rejected");
    g_assert_cmpuint(json_array_get_length(json_object_get_array_member(object_of(root), "reasons")),
                     >, 0);
    json_node_unref(root);
    snpg_run_clear(&run);

    snpg_run(&run, NULL, "certs", "url", report, "--json", NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    root = parse_json(&run);
    g_assert_true(json_object_has_member(object_of(root), "vcek"));
    g_assert_true(json_object_has_member(object_of(root), "cert_chain"));
    g_assert_true(json_object_has_member(object_of(root), "crl"));
    json_node_unref(root);
    snpg_run_clear(&run);

    snpg_run(&run, NULL, "certs", "import", "--cache", cache, vcek, ask, ark, "--json", NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    root = parse_json(&run);
    g_assert_true(JSON_NODE_HOLDS_ARRAY(root));
    g_assert_cmpuint(json_array_get_length(json_node_get_array(root)), ==, 3);
    json_node_unref(root);
    snpg_run_clear(&run);

    snpg_run(&run, NULL, "certs", "list", "--cache", cache, "--json", NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    root = parse_json(&run);
    g_assert_cmpuint(json_array_get_length(json_node_get_array(root)), ==, 3);
    json_node_unref(root);
    snpg_run_clear(&run);

    snpg_run(&run, NULL, "idblock", "create", "--id-key", id_key, "--author-key", author_key,
             "--measurement", m, "--json", NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    root = parse_json(&run);
    g_assert_true(json_object_has_member(object_of(root), "id_block"));
    json_node_unref(root);
    snpg_run_clear(&run);

    snpg_run(&run, NULL, "idblock", "digest", "--id-key", id_key, "--json", NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    root = parse_json(&run);
    g_assert_cmpuint(strlen(json_object_get_string_member(object_of(root), "id_key_digest")), ==, 96);
    json_node_unref(root);
    snpg_run_clear(&run);

    snpg_run(&run, NULL, "verifier-key", "create", vkey, "--json", NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    root = parse_json(&run);
    g_assert_cmpuint(strlen(json_object_get_string_member(object_of(root), "pin")), ==, 64);
    json_node_unref(root);
    snpg_run_clear(&run);

    snpg_run(&run, NULL, "verifier-key", "pin", vkey, "--json", NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    root = parse_json(&run);
    g_assert_true(g_str_has_prefix(json_object_get_string_member(object_of(root), "cmdline"),
                                   "snpguard.verifier="));
    json_node_unref(root);
    snpg_run_clear(&run);

    /* An existing key is kept, and the message says how to replace it. */
    snpg_run(&run, NULL, "verifier-key", "create", vkey, NULL);
    g_assert_cmpint(run.exit_code, ==, 1);
    g_assert_nonnull(strstr(run.err, "--force"));
}

/* attest --json over a real session with the agent. */
static void
test_attest_json(void)
{
    g_autofree char *sim = snpg_test_data("sim", "milan", NULL);
    g_autofree char *ark = snpg_test_data("sim", "milan", "ark.pem", NULL);
    g_autofree char *id = g_build_filename(tmp, "attest.id", NULL);
    g_autofree char *sock = g_build_filename(tmp, "attest.sock", NULL);
    g_autofree char *address = g_strdup_printf("unix:%s", sock);
    g_autofree char *psp = g_strdup_printf("sim:%s", id);
    g_autofree char *key_out = g_build_filename(tmp, "attest.key", NULL);
    g_autofree char *key = snpg_test_write(tmp, "attest-disk.key", "0123456789abcdef", 16);
    const char *m = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"
                    "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";
    const char *argv[] = { g_getenv("SNPGUARD_AGENT"), "--listen", address, "--psp", psp,
                           "--key-out", key_out, "--attempts", "1", "--quiet",
                           "--any-verifier", NULL };
    g_autoptr(GError) error = NULL;
    g_auto(SnpgRun) run = { 0 };
    JsonNode *root;
    GPid pid;
    int status = 0;

    snpg_run(&run, NULL, "sim", "identity", sim, "--measurement", m, "-o", id, NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    snpg_run_clear(&run);

    g_assert_true(g_spawn_async(tmp, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                &pid, &error));
    /* The agent is listening once its socket exists. */
    for (int i = 0; i < 500 && !g_file_test(sock, G_FILE_TEST_EXISTS); i++)
        g_usleep(10000);
    snpg_run(&run, NULL, "attest", "--connect", address, "--trust-root", ark, "--measurement", m,
             "--key-file", key, "--json", NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    root = parse_json(&run);
    g_assert_cmpstr(json_object_get_string_member(object_of(root), "verdict"), ==, "accepted");
    g_assert_true(json_object_get_boolean_member(object_of(root), "key_released"));
    json_node_unref(root);
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    g_spawn_close_pid(pid);
    g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    /* English messages: the tests compare them. */
    g_setenv("LC_ALL", "C", TRUE);
    tmp = snpg_test_tmpdir();

    g_test_add_func("/cli-surface/toplevel", test_toplevel);
    for (gsize i = 0; i < G_N_ELEMENTS(leaves); i++) {
        g_autofree char *name = g_strjoinv("-", (char **)leaves[i].argv);
        g_autofree char *p1 = g_strdup_printf("/cli-surface/%s/help", name);
        g_autofree char *p2 = g_strdup_printf("/cli-surface/%s/unknown-option", name);
        g_autofree char *p3 = g_strdup_printf("/cli-surface/%s/bad-arguments", name);

        g_test_add_data_func(p1, &leaves[i], test_leaf_help);
        g_test_add_data_func(p2, &leaves[i], test_leaf_unknown_option);
        g_test_add_data_func(p3, &leaves[i], test_leaf_bad_arguments);
    }
    for (gsize i = 0; i < G_N_ELEMENTS(groups); i++) {
        g_autofree char *path = g_strdup_printf("/cli-surface/%s/group", groups[i]);
        g_test_add_data_func(path, groups[i], test_group);
    }
    g_test_add_func("/cli-surface/agent", test_agent);
    g_test_add_func("/cli-surface/unreadable", test_unreadable);
    g_test_add_func("/cli-surface/json", test_json);
    g_test_add_func("/cli-surface/attest-json", test_attest_json);
    return g_test_run();
}
