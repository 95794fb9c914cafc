/* The snpguard command line: help, version, usage errors (exit 2). */
#include "config.h"

#include "testutil.h"

static void
test_version(void)
{
    g_auto(SnpgRun) run = { 0 };

    snpg_run(&run, NULL, "--version", NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    g_assert_cmpstr(run.out, ==, "snpguard " PACKAGE_VERSION "\n");
}

static void
test_help(void)
{
    g_auto(SnpgRun) run = { 0 };

    snpg_run(&run, NULL, "help", NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    g_assert_nonnull(strstr(run.out, "measure"));
    snpg_run_clear(&run);

    snpg_run(&run, NULL, "help", "measure", NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    g_assert_nonnull(strstr(run.out, "--ovmf"));
    snpg_run_clear(&run);

    snpg_run(&run, NULL, "measure", "--help", NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    g_assert_nonnull(strstr(run.out, "--vcpus"));
}

static void
test_usage_errors(void)
{
    g_auto(SnpgRun) run = { 0 };

    const char *const none[] = { NULL };
    snpg_runv(&run, NULL, none);
    g_assert_cmpint(run.exit_code, ==, 2);
    g_assert_nonnull(strstr(run.err, "Usage"));
    snpg_run_clear(&run);

    snpg_run(&run, NULL, "no-such-command", NULL);
    g_assert_cmpint(run.exit_code, ==, 2);
    g_assert_nonnull(strstr(run.err, "unknown command 'no-such-command'"));
    snpg_run_clear(&run);

    snpg_run(&run, NULL, "help", "no-such-command", NULL);
    g_assert_cmpint(run.exit_code, ==, 2);
    snpg_run_clear(&run);

    snpg_run(&run, NULL, "measure", "--no-such-option", NULL);
    g_assert_cmpint(run.exit_code, ==, 2);
    g_assert_nonnull(strstr(run.err, "--no-such-option"));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/cli/version", test_version);
    g_test_add_func("/cli/help", test_help);
    g_test_add_func("/cli/usage-errors", test_usage_errors);
    return g_test_run();
}
