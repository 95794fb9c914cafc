/* snpguard hook (what libvirt runs for every domain) and the input checks
 * of snpguard guest build that need no kernel package. */
#include "config.h"

#include <string.h>

#include <gio/gio.h>

#include "testutil.h"

static char *tmp;

/* Runs "snpguard ARGS..." with stdin_text on standard input. */
static void
run_with_stdin(SnpgRun *run, const char *stdin_text, gsize stdin_len, const char *const *env,
               const char *const *args)
{
    g_autoptr(GSubprocessLauncher) launcher =
        g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                  G_SUBPROCESS_FLAGS_STDERR_PIPE);
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(GSubprocess) proc = NULL;
    g_autoptr(GBytes) in = g_bytes_new(stdin_text, stdin_len);
    g_autoptr(GBytes) out = NULL;
    g_autoptr(GBytes) err = NULL;
    g_autoptr(GError) error = NULL;

    g_ptr_array_add(argv, (gpointer)g_getenv("SNPGUARD"));
    g_assert_nonnull(argv->pdata[0]);
    for (gsize i = 0; args[i]; i++)
        g_ptr_array_add(argv, (gpointer)args[i]);
    g_ptr_array_add(argv, NULL);
    for (gsize i = 0; env && env[i]; i += 2)
        g_subprocess_launcher_setenv(launcher, env[i], env[i + 1], TRUE);
    g_subprocess_launcher_set_cwd(launcher, tmp);
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
run_hook(SnpgRun *run, const char *xml, gsize len, const char *operation, const char *subop)
{
    const char *const args[] = { "hook", "vm1", operation, subop, "-", NULL };
    g_autofree char *state = g_build_filename(tmp, "state", NULL);
    const char *const env[] = { "G_MESSAGES_DEBUG", "snpguard", "SNPGUARD_STATE_DIR", state,
                                NULL };

    run_with_stdin(run, xml, len, env, args);
}

#define UNMANAGED \
    "<domain type='qemu' id='3'><name>vm1</name><memory>262144</memory>" \
    "<metadata><other:x xmlns:other='https://example.org/other/1'/></metadata>" \
    "<os><type>hvm</type></os></domain>"
#define MANAGED \
    "<domain type='qemu' id='3'><name>vm1</name>" \
    "<metadata><snpg:vm xmlns:snpg='https://snpguard.org/xmlns/vm/1'><snpg:workflow>none" \
    "</snpg:workflow></snpg:vm></metadata><os><type>hvm</type></os></domain>"
/* The namespace outside <metadata> does not make a domain managed. */
#define ELSEWHERE \
    "<domain type='qemu'><name>vm1</name><description/>" \
    "<devices><snpg:vm xmlns:snpg='https://snpguard.org/xmlns/vm/1'/></devices></domain>"

static const char *const operations[][2] = {
    { "prepare", "begin" }, { "start", "begin" }, { "started", "begin" }, { "stopped", "end" },
    { "release", "end" }, { "migrate", "begin" }, { "restore", "begin" }, { "reconnect", "begin" },
    { "attach", "begin" },
};

/* Unmanaged domains pass every operation silently: exit 0, nothing on
 * stdout (qemu.d hooks are filters: output would replace the XML). */
static void
test_hook_unmanaged(void)
{
    const char *const docs[] = { UNMANAGED, ELSEWHERE };

    for (gsize d = 0; d < G_N_ELEMENTS(docs); d++) {
        for (gsize i = 0; i < G_N_ELEMENTS(operations); i++) {
            g_auto(SnpgRun) run = { 0 };

            run_hook(&run, docs[d], strlen(docs[d]), operations[i][0], operations[i][1]);
            g_assert_cmpint(run.exit_code, ==, 0);
            g_assert_cmpstr(run.out, ==, "");
            g_assert_null(strstr(run.err, "managed domain"));
        }
    }
}

/* A domain with snpguard's metadata reaches the start gate on prepare only:
 * metadata it cannot measure (no launch inputs here) refuses the start
 * with one line; every other operation passes. stdout stays empty even
 * with debug messages on. */
static void
test_hook_managed(void)
{
    for (gsize i = 0; i < G_N_ELEMENTS(operations); i++) {
        g_auto(SnpgRun) run = { 0 };
        gboolean gate = g_str_equal(operations[i][0], "prepare");

        run_hook(&run, MANAGED, strlen(MANAGED), operations[i][0], operations[i][1]);
        g_assert_cmpint(run.exit_code, ==, gate ? 1 : 0);
        g_assert_cmpstr(run.out, ==, "");
        g_assert_true((strstr(run.err, "refusing to start 'vm1'") != NULL) == gate);
    }
}

/* Broken input fails every operation but reconnect, which libvirt answers
 * by killing the running VM. */
static void
test_hook_bad_input(void)
{
    gsize big_len = 5 * 1024 * 1024;
    g_autofree char *big = g_malloc(big_len);
    struct { const char *xml; gsize len; const char *message; } cases[] = {
        { "<domain><name>vm1</name>", 0, "not well-formed" },
        { "", 0, "not well-formed" },
        { NULL, 0, "larger than 4 MiB" },
    };

    memset(big, ' ', big_len);
    cases[0].len = strlen(cases[0].xml);
    cases[2].xml = big;
    cases[2].len = big_len;
    for (gsize c = 0; c < G_N_ELEMENTS(cases); c++) {
        for (gsize i = 0; i < G_N_ELEMENTS(operations); i++) {
            g_auto(SnpgRun) run = { 0 };
            gboolean reconnect = g_str_equal(operations[i][0], "reconnect");

            run_hook(&run, cases[c].xml, cases[c].len, operations[i][0], operations[i][1]);
            g_assert_cmpstr(run.out, ==, "");
            if (reconnect) {
                g_assert_cmpint(run.exit_code, ==, 0);
                continue;
            }
            g_assert_cmpint(run.exit_code, ==, 1);
            g_assert_nonnull(strstr(run.err, "domain 'vm1'"));
            g_assert_nonnull(strstr(run.err, cases[c].message));
        }
    }
}

/* An entity defined in an internal subset is not expanded into a parse
 * (no network, no file reads): the document parses as is. */
static void
test_hook_no_external_entities(void)
{
    const char *xml = "<!DOCTYPE domain [<!ENTITY x SYSTEM 'file:///etc/shadow'>]>"
                      "<domain><name>vm1</name><description>&x;</description></domain>";
    g_auto(SnpgRun) run = { 0 };

    run_hook(&run, xml, strlen(xml), "prepare", "begin");
    g_assert_cmpint(run.exit_code, ==, 0);
    g_assert_cmpstr(run.out, ==, "");
}

/* hooks/snpguard as built: a thin exec of the installed snpguard. */
static void
test_hook_script(void)
{
    g_autofree char *path = g_build_filename(g_getenv("G_TEST_BUILDDIR"), "..", "hooks",
                                             "snpguard", NULL);
    g_autofree char *text = NULL;
    g_autoptr(GError) error = NULL;

    if (!g_getenv("G_TEST_BUILDDIR") || !g_file_test(path, G_FILE_TEST_EXISTS)) {
        g_test_skip("hooks/snpguard is not built");
        return;
    }
    g_assert_true(g_file_test(path, G_FILE_TEST_IS_EXECUTABLE));
    g_assert_true(g_file_get_contents(path, &text, NULL, &error));
    g_assert_true(g_str_has_prefix(text, "#!/bin/sh\n"));
    g_assert_true(g_regex_match_simple("\nexec /[^ ]*/snpguard hook \"\\$@\"\n$", text, 0, 0));
    g_assert_null(strstr(text, "@bindir@"));
    g_assert_null(strstr(text, "virsh"));
}

/* ---- guest build: checked before anything is downloaded ---------------- */

static void
run_build(SnpgRun *run, const char *const *env, const char *const *more)
{
    g_autoptr(GPtrArray) args = g_ptr_array_new();
    g_autofree char *cache = g_build_filename(tmp, "cache", NULL);
    g_autofree char *out = g_build_filename(tmp, "image", NULL);

    g_ptr_array_add(args, (gpointer)"guest");
    g_ptr_array_add(args, (gpointer)"build");
    g_ptr_array_add(args, out);
    g_ptr_array_add(args, (gpointer)"--cache-dir");
    g_ptr_array_add(args, cache);
    for (gsize i = 0; more[i]; i++)
        g_ptr_array_add(args, (gpointer)more[i]);
    g_ptr_array_add(args, NULL);
    run_with_stdin(run, "", 0, env, (const char *const *)args->pdata);
}

static void
test_build_inputs(void)
{
    g_autofree char *missing = g_build_filename(tmp, "no-such-agent", NULL);
    g_autofree char *text = snpg_test_write(tmp, "not-elf", "#!/bin/sh\n", 10);
    g_autofree char *image = g_build_filename(tmp, "image", NULL);
    struct { const char *agent; const char *message; } cases[] = {
        { missing, "Cannot read the agent" },
        { text, "is not an x86-64 executable" },
        { tmp, "is not a regular file" },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_auto(SnpgRun) run = { 0 };
        const char *const more[] = { "--agent", cases[i].agent, "--init", text, NULL };

        run_build(&run, NULL, more);
        g_assert_cmpint(run.exit_code, ==, 1);
        g_assert_true(g_str_has_prefix(run.err, "snpguard: error: "));
        g_assert_nonnull(strstr(run.err, cases[i].message));
        g_assert_nonnull(strstr(run.err, cases[i].agent));
        g_assert_false(g_file_test(image, G_FILE_TEST_EXISTS));
    }
}

static void
test_build_usage(void)
{
    const char *const gz[] = { "--compress", "xz", NULL };
    const char *const none[] = { NULL };
    const char *const bad_epoch[] = { "SOURCE_DATE_EPOCH", "yesterday", NULL };
    const char *const big_epoch[] = { "SOURCE_DATE_EPOCH", "4294967296", NULL };
    g_auto(SnpgRun) run = { 0 };

    run_build(&run, NULL, gz);
    g_assert_cmpint(run.exit_code, ==, 2);
    g_assert_nonnull(strstr(run.err, "'xz'"));
    snpg_run_clear(&run);
    run_build(&run, bad_epoch, none);
    g_assert_cmpint(run.exit_code, ==, 2);
    g_assert_nonnull(strstr(run.err, "SOURCE_DATE_EPOCH"));
    snpg_run_clear(&run);
    run_build(&run, big_epoch, none);
    g_assert_cmpint(run.exit_code, ==, 2);
    g_assert_nonnull(strstr(run.err, "SOURCE_DATE_EPOCH"));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    tmp = snpg_test_tmpdir();
    g_test_add_func("/hook/unmanaged", test_hook_unmanaged);
    g_test_add_func("/hook/managed", test_hook_managed);
    g_test_add_func("/hook/bad-input", test_hook_bad_input);
    g_test_add_func("/hook/no-external-entities", test_hook_no_external_entities);
    g_test_add_func("/hook/script", test_hook_script);
    g_test_add_func("/guest-build/inputs", test_build_inputs);
    g_test_add_func("/guest-build/usage", test_build_usage);
    return g_test_run();
}
