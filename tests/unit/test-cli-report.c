/* snpguard report show|verify: the command's contract (exit codes, output). */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "vectors.h"

static char *
iso(gint64 t)
{
    g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(t);
    return g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ");
}

static void
test_show_json(void)
{
    g_autoptr(GPtrArray) vectors = snpg_vectors_load();
    /* The fields show --json prints under meta.json's names. */
    static const char *const same[] = {
        "measurement", "report_data", "host_data", "family_id", "image_id", "id_key_digest",
        "author_key_digest", "report_id", "report_id_ma", "chip_id", "policy", "platform_info",
        "current_version", "committed_version",
    };

    for (guint i = 0; i < vectors->len; i++) {
        SnpgVector *v = g_ptr_array_index(vectors, i);
        g_autofree char *report = g_build_filename(v->dir, "report.bin", NULL);
        g_auto(SnpgRun) run = { 0 };
        g_autoptr(JsonParser) p = json_parser_new();
        g_autoptr(GError) error = NULL;
        const char *product = json_object_get_string_member(v->meta, "product");
        JsonObject *o;

        snpg_run(&run, NULL, "report", "show", report, "--json", "--product", product, NULL);
        g_assert_cmpint(run.exit_code, ==, 0);
        json_parser_load_from_data(p, run.out, -1, &error);
        g_assert_no_error(error);
        o = json_node_get_object(json_parser_get_root(p));
        for (gsize k = 0; k < G_N_ELEMENTS(same); k++)
            g_assert_cmpstr(json_object_get_string_member(o, same[k]), ==,
                            json_object_get_string_member(v->meta, same[k]));
        g_assert_cmpint(json_object_get_int_member(o, "version"), ==,
                        json_object_get_int_member(v->meta, "report_version"));
        g_assert_cmpint(json_object_get_int_member(o, "vmpl"), ==,
                        json_object_get_int_member(v->meta, "vmpl"));
        g_assert_cmpstr(json_object_get_string_member(o, "signing_key"), ==,
                        json_object_get_string_member(v->meta, "signing_key_field"));
        g_assert_cmpstr(json_object_get_string_member(o, "tcb_layout_product"), ==, product);
        g_assert_cmpint(json_object_get_int_member(json_object_get_object_member(o, "reported_tcb"), "snp"), ==,
                        json_object_get_int_member(json_object_get_object_member(v->meta, "reported_tcb"), "snp"));
        g_assert_cmpint(json_object_get_int_member(json_object_get_object_member(o, "reported_tcb"), "ucode"), ==,
                        json_object_get_int_member(json_object_get_object_member(v->meta, "reported_tcb"), "ucode"));
    }
}

static void
test_show_text(void)
{
    g_autoptr(SnpgVector) v = snpg_vector_load("turin-v5-vcek-oak-3f44a09b");
    g_autofree char *report = g_build_filename(v->dir, "report.bin", NULL);
    g_auto(SnpgRun) run = { 0 };

    snpg_run(&run, NULL, "report", "show", report, NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    g_assert_nonnull(strstr(run.out, "reported_tcb         fmc=0 bl=1 tee=0 snp=2 ucode=71"));
    g_assert_nonnull(strstr(run.out, "product              Turin"));
    g_assert_nonnull(strstr(run.out, "bit6"));
}

static void
test_verify_all(void)
{
    g_autoptr(GPtrArray) vectors = snpg_vectors_load();

    for (guint i = 0; i < vectors->len; i++) {
        SnpgVector *v = g_ptr_array_index(vectors, i);
        g_autofree char *report = g_build_filename(v->dir, "report.bin", NULL);
        g_autofree char *now = iso(v->window_mid);
        g_auto(SnpgRun) run = { 0 };

        snpg_run(&run, NULL, "report", "verify", report, "--cert", v->leaf_path,
                 v->vlek ? "--asvk" : "--ask", v->ask_path, "--ark", v->ark_path,
                 "--now", now, "--allow-debug", NULL);
        if (run.exit_code != 0)
            g_error("%s: %s", v->name, run.out);
        g_assert_true(g_str_has_prefix(run.out, "accepted"));
    }
}

static void
test_verify_rejections(void)
{
    g_autoptr(SnpgVector) v = snpg_vector_load("milan-v2-vcek-oak-c23c5618");
    g_autofree char *report = g_build_filename(v->dir, "report.bin", NULL);
    g_autofree char *now = iso(v->window_mid);
    g_autofree char *later = iso(v->not_after + 3600);
    g_autofree char *dir = snpg_test_tmpdir();
    g_autofree char *trunc = snpg_test_write(dir, "short.bin", g_bytes_get_data(v->report, NULL), 1000);
    g_autofree char *empty = snpg_test_write(dir, "empty.bin", "", 0);
    g_autofree char *genoa_ask = snpg_test_data("vectors", "amd-roots", "ask_genoa.pem", NULL);
    g_autofree char *zero48 = g_strnfill(96, '0');

    /* Several failures, each on its own "code: explanation" line. */
    {
        g_auto(SnpgRun) run = { 0 };
        g_auto(GStrv) lines = NULL;
        snpg_run(&run, NULL, "report", "verify", report, "--cert", v->leaf_path, "--now", later,
                 "--measurement", zero48, "--vmpl", "1", "--product", "Genoa", NULL);
        g_assert_cmpint(run.exit_code, ==, 3);
        lines = g_strsplit(g_strchomp(run.out), "\n", -1);
        g_assert_cmpuint(g_strv_length(lines), ==, 4);
        g_assert_true(g_str_has_prefix(lines[0], "cert-expired: "));
        g_assert_true(g_str_has_prefix(lines[1], "product: "));
        g_assert_true(g_str_has_prefix(lines[2], "measurement: "));
        g_assert_true(g_str_has_prefix(lines[3], "vmpl: "));
    }
    /* --json */
    {
        g_auto(SnpgRun) run = { 0 };
        g_autoptr(JsonParser) p = json_parser_new();
        g_autoptr(GError) error = NULL;
        JsonObject *o;
        JsonArray *rs;
        snpg_run(&run, NULL, "report", "verify", report, "--cert", v->leaf_path, "--now", now,
                 "--ask", genoa_ask, "--json", NULL);
        g_assert_cmpint(run.exit_code, ==, 3);
        json_parser_load_from_data(p, run.out, -1, &error);
        g_assert_no_error(error);
        o = json_node_get_object(json_parser_get_root(p));
        g_assert_cmpstr(json_object_get_string_member(o, "verdict"), ==, "rejected");
        rs = json_object_get_array_member(o, "reasons");
        g_assert_cmpuint(json_array_get_length(rs), ==, 1);
        g_assert_cmpstr(json_object_get_string_member(json_array_get_object_element(rs, 0), "code"),
                        ==, "root-untrusted");
    }
    /* Truncated and empty reports are rejections, not errors. */
    {
        g_auto(SnpgRun) run = { 0 };
        snpg_run(&run, NULL, "report", "verify", trunc, "--cert", v->leaf_path, "--now", now, NULL);
        g_assert_cmpint(run.exit_code, ==, 3);
        g_assert_true(g_str_has_prefix(run.out, "malformed: "));
    }
    {
        g_auto(SnpgRun) run = { 0 };
        snpg_run(&run, NULL, "report", "verify", empty, "--cert", v->leaf_path, "--now", now, NULL);
        g_assert_cmpint(run.exit_code, ==, 3);
    }
    /* No --cert and nothing cached: rejected (more in /cli/report/verify/cache). */
    {
        g_auto(SnpgRun) run = { 0 };
        snpg_run(&run, NULL, "report", "verify", report, "--now", now, "--product", "Milan",
                 "--cache", dir, NULL);
        g_assert_cmpint(run.exit_code, ==, 3);
        g_assert_nonnull(strstr(run.out, "cert-missing: "));
    }
    /* Unreadable inputs: 1. */
    {
        g_auto(SnpgRun) run = { 0 };
        snpg_run(&run, NULL, "report", "verify", "/nonexistent/report.bin", "--cert", v->leaf_path, NULL);
        g_assert_cmpint(run.exit_code, ==, 1);
    }
    {
        g_auto(SnpgRun) run = { 0 };
        snpg_run(&run, NULL, "report", "verify", report, "--cert", "/nonexistent.der", NULL);
        g_assert_cmpint(run.exit_code, ==, 1);
    }
    /* Usage errors: 2. */
    {
        static const char *const bad[][3] = {
            { "--measurement", "abc", NULL }, { "--vmpl", "7", NULL }, { "--product", "Naples", NULL },
            { "--min-tcb", "snp=x", NULL }, { "--now", "yesterday", NULL }, { "--bogus", NULL, NULL },
            { "--report-data", "00", NULL }, { "--policy-max", "zz", NULL },
        };
        for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
            g_auto(SnpgRun) run = { 0 };
            const char *args[8] = { "report", "verify", report, bad[i][0], bad[i][1], NULL };
            snpg_runv(&run, NULL, args);
            g_assert_cmpint(run.exit_code, ==, 2);
            /* Hex and number options name themselves in the message. */
            if (g_str_equal(bad[i][0], "--measurement") || g_str_equal(bad[i][0], "--report-data") ||
                g_str_equal(bad[i][0], "--policy-max"))
                g_assert_nonnull(strstr(run.err, bad[i][0]));
        }
        {
            g_auto(SnpgRun) run = { 0 };
            snpg_run(&run, NULL, "report", "verify", report, "--report-data", "00", NULL);
            g_assert_nonnull(strstr(run.err, "--report-data must be 64 bytes (128 hex digits), not 1"));
            snpg_run_clear(&run);
            snpg_run(&run, NULL, "report", "verify", report, "--measurement", "xyz0", NULL);
            g_assert_cmpint(run.exit_code, ==, 2);
            g_assert_nonnull(strstr(run.err, "--measurement is not valid hex"));
        }
    }
    {
        g_auto(SnpgRun) run = { 0 };
        snpg_run(&run, NULL, "report", "frobnicate", NULL);
        g_assert_cmpint(run.exit_code, ==, 2);
    }
    {
        g_auto(SnpgRun) run = { 0 };
        snpg_run(&run, NULL, "report", "show", trunc, NULL);
        g_assert_cmpint(run.exit_code, ==, 1);
    }
}

static void
test_reference_file(void)
{
    g_autoptr(SnpgVector) v = snpg_vector_load("genoa-v3-vcek-trustee-227a641d");
    g_autofree char *report = g_build_filename(v->dir, "report.bin", NULL);
    g_autofree char *now = iso(v->window_mid);
    g_autofree char *dir = snpg_test_tmpdir();
    g_autofree char *good_text = g_strdup_printf(
        "# reference values for a test VM\n[snpguard-reference]\nmeasurement=%s;\n"
        "host-data=%s\nvmpl=%d\nproduct=Genoa\nallow-debug=false\npolicy-max=0x%x\nmin-abi=1.0\n"
        "min-policy-abi=0.0\n",
        json_object_get_string_member(v->meta, "measurement"),
        json_object_get_string_member(v->meta, "host_data"),
        (int)json_object_get_int_member(v->meta, "vmpl"), 0x3ffff);
    g_autofree char *good = snpg_test_write(dir, "good.ref", good_text, strlen(good_text));
    g_autofree char *typo = snpg_test_write(dir, "typo.ref", "[snpguard-reference]\nmeasurment=00\n", 35);

    {
        g_auto(SnpgRun) run = { 0 };
        snpg_run(&run, NULL, "report", "verify", report, "--cert", v->leaf_path, "--now", now,
                 "--reference", good, NULL);
        g_assert_cmpint(run.exit_code, ==, 0);
    }
    /* A command-line value overrides the file's. */
    {
        g_auto(SnpgRun) run = { 0 };
        snpg_run(&run, NULL, "report", "verify", report, "--cert", v->leaf_path, "--now", now,
                 "--reference", good, "--vmpl", "3", NULL);
        g_assert_cmpint(run.exit_code, ==, 3);
        g_assert_true(g_str_has_prefix(run.out, "vmpl: "));
    }
    /* An unknown key is refused, not ignored. */
    {
        g_auto(SnpgRun) run = { 0 };
        snpg_run(&run, NULL, "report", "verify", report, "--cert", v->leaf_path, "--now", now,
                 "--reference", typo, NULL);
        g_assert_cmpint(run.exit_code, ==, 1);
        g_assert_nonnull(strstr(run.err, "measurment"));
    }
}

/* Without --cert, report verify takes the VCEK (and the ASK and ARK) from the
 * certificate cache; cached certificates are evidence, never a trust anchor. */
static void
test_verify_cache(void)
{
    g_autoptr(SnpgVector) v3 = snpg_vector_load("genoa-v3-vcek-ccf-4ae0e73a");
    g_autoptr(SnpgVector) v2 = snpg_vector_load("milan-v2-vcek-oak-c23c5618");
    g_autofree char *report3 = g_build_filename(v3->dir, "report.bin", NULL);
    g_autofree char *report2 = g_build_filename(v2->dir, "report.bin", NULL);
    g_autofree char *now3 = iso(v3->window_mid);
    g_autofree char *now2 = iso(v2->window_mid);
    g_autofree char *tmp = snpg_test_tmpdir();
    g_autofree char *cache = g_build_filename(tmp, "cache", NULL);
    g_autofree char *empty = g_build_filename(tmp, "empty", NULL);
    g_autofree char *simcache = g_build_filename(tmp, "simcache", NULL);
    g_autofree char *simdir = snpg_test_data("sim", "milan", NULL);
    g_autofree char *sim_vcek = g_build_filename(simdir, "vcek.der", NULL);
    g_autofree char *sim_ask = g_build_filename(simdir, "ask.pem", NULL);
    g_autofree char *sim_ark = g_build_filename(simdir, "ark.pem", NULL);
    g_autofree char *sim_report = g_build_filename(tmp, "sim.bin", NULL);
    g_autofree char *m48 = g_strnfill(96, 'a');

    {
        g_auto(SnpgRun) run = { 0 };
        snpg_run(&run, NULL, "certs", "import", "--cache", cache, v3->leaf_path, v3->ask_path,
                 v3->ark_path, v2->leaf_path, NULL);
        g_assert_cmpint(run.exit_code, ==, 0);
    }
    /* A genuine v3 report: product from CPUID, VCEK by chip id and TCB. */
    {
        g_auto(SnpgRun) run = { 0 };
        snpg_run(&run, NULL, "report", "verify", report3, "--cache", cache, "--now", now3, NULL);
        g_assert_cmpint(run.exit_code, ==, 0);
        g_assert_true(g_str_has_prefix(run.out, "accepted"));
    }
    /* The same through $SNPGUARD_CERT_CACHE. */
    {
        g_auto(SnpgRun) run = { 0 };
        const char *args[] = { "report", "verify", report3, "--now", now3, NULL };
        g_setenv("SNPGUARD_CERT_CACHE", cache, TRUE);
        snpg_runv(&run, NULL, args);
        g_unsetenv("SNPGUARD_CERT_CACHE");
        g_assert_cmpint(run.exit_code, ==, 0);
    }
    /* An empty cache: rejected, the VCEK is missing. */
    {
        g_auto(SnpgRun) run = { 0 };
        snpg_run(&run, NULL, "report", "verify", report3, "--cache", empty, "--now", now3, NULL);
        g_assert_cmpint(run.exit_code, ==, 3);
        g_assert_true(g_str_has_prefix(run.out, "cert-missing: "));
        g_assert_nonnull(strstr(run.out, "has no VCEK"));
    }
    /* A v2 report carries no CPUID: --product names the cache's product. */
    {
        g_auto(SnpgRun) run = { 0 };
        snpg_run(&run, NULL, "report", "verify", report2, "--cache", cache, "--now", now2, NULL);
        g_assert_cmpint(run.exit_code, ==, 2);
        g_assert_nonnull(strstr(run.err, "--product"));
        snpg_run_clear(&run);
        snpg_run(&run, NULL, "report", "verify", report2, "--cache", cache, "--now", now2,
                 "--product", "Milan", NULL);
        g_assert_cmpint(run.exit_code, ==, 0);
        snpg_run_clear(&run);
        /* The wrong product finds nothing. */
        snpg_run(&run, NULL, "report", "verify", report2, "--cache", cache, "--now", now2,
                 "--product", "Genoa", NULL);
        g_assert_cmpint(run.exit_code, ==, 3);
        g_assert_nonnull(strstr(run.out, "cert-missing: "));
    }
    /* A cached test root is not trusted by being cached. */
    {
        g_auto(SnpgRun) run = { 0 };
        snpg_run(&run, NULL, "certs", "import", "--cache", simcache, sim_vcek, sim_ask, sim_ark,
                 NULL);
        g_assert_cmpint(run.exit_code, ==, 0);
        snpg_run_clear(&run);
        snpg_run(&run, NULL, "sim", "report", simdir, "--measurement", m48, "-o", sim_report,
                 NULL);
        g_assert_cmpint(run.exit_code, ==, 0);
        snpg_run_clear(&run);
        snpg_run(&run, NULL, "report", "verify", sim_report, "--cache", simcache, NULL);
        g_assert_cmpint(run.exit_code, ==, 3);
        g_assert_nonnull(strstr(run.out, "root-untrusted: "));
        snpg_run_clear(&run);
        snpg_run(&run, NULL, "report", "verify", sim_report, "--cache", simcache, "--trust-root",
                 sim_ark, NULL);
        g_assert_cmpint(run.exit_code, ==, 0);
    }
}

/* A report file is read with a limit (64 KiB): a disk image given by
 * mistake is refused before it is read; a directory is refused too. */
static void
test_input_limits(void)
{
    g_autofree char *dir = snpg_test_tmpdir();
    g_autofree char *big = g_build_filename(dir, "disk.img", NULL);
    g_auto(SnpgRun) run = { 0 };
    g_auto(SnpgRun) run_dir = { 0 };
    FILE *f = fopen(big, "w");

    g_assert_nonnull(f);
    g_assert_cmpint(ftruncate(fileno(f), (off_t)8 << 30), ==, 0);
    fclose(f);
    snpg_run(&run, NULL, "report", "show", big, NULL);
    g_assert_cmpint(run.exit_code, ==, 1);
    g_assert_cmpstr(run.out, ==, "");
    g_assert_nonnull(strstr(run.err, "is larger than 65536 bytes"));
    snpg_run(&run_dir, NULL, "report", "show", dir, NULL);
    g_assert_cmpint(run_dir.exit_code, ==, 1);
    g_assert_nonnull(strstr(run_dir.err, "it is a directory"));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/cli/report/show/json", test_show_json);
    g_test_add_func("/cli/report/show/text", test_show_text);
    g_test_add_func("/cli/report/verify/all", test_verify_all);
    g_test_add_func("/cli/report/verify/rejections", test_verify_rejections);
    g_test_add_func("/cli/report/verify/cache", test_verify_cache);
    g_test_add_func("/cli/report/verify/reference", test_reference_file);
    g_test_add_func("/cli/report/input-limits", test_input_limits);
    return g_test_run();
}
