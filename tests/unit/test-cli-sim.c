/* snpguard sim, idblock and certs on the command line: exit codes, outputs,
 * and `report verify` driven by reports the simulator signs. */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "testutil.h"

#define M48 "abababababababababababababababababababababababababababababababababababababababababababababababab"
#define M48_TAIL "ababababababababababababababababababababababababababababababababababababababababababababababab"
#define M48_OTHER "cdababababababababababababababababababababababababababababababababababababababababababababababab"

static char *
sim(const char *product)
{
    return snpg_test_data("sim", product, NULL);
}

static char *
sim_file(const char *product, const char *name)
{
    return snpg_test_data("sim", product, name, NULL);
}

/* Makes a report with the committed Milan simulator and extra options. */
static char *
make_report(const char *dir, const char *name, const char *first, ...)
{
    g_autoptr(GPtrArray) args = g_ptr_array_new();
    g_autofree char *out = g_build_filename(dir, name, NULL);
    g_autofree char *simdir = sim("milan");
    g_auto(SnpgRun) run = { 0 };
    va_list ap;

    g_ptr_array_add(args, (gpointer)"sim");
    g_ptr_array_add(args, (gpointer)"report");
    g_ptr_array_add(args, simdir);
    g_ptr_array_add(args, (gpointer)"--measurement");
    g_ptr_array_add(args, (gpointer)M48);
    g_ptr_array_add(args, (gpointer)"-o");
    g_ptr_array_add(args, out);
    va_start(ap, first);
    for (const char *a = first; a; a = va_arg(ap, const char *))
        g_ptr_array_add(args, (gpointer)a);
    va_end(ap);
    g_ptr_array_add(args, NULL);
    snpg_runv(&run, NULL, (const char *const *)args->pdata);
    g_assert_cmpint(run.exit_code, ==, 0);
    return g_steal_pointer(&out);
}

/* report verify against the Milan simulator's chain (trusted explicitly). */
static int
verify(SnpgRun *run, const char *report, gboolean trust, const char *first, ...)
{
    g_autoptr(GPtrArray) args = g_ptr_array_new();
    g_autofree char *vcek = sim_file("milan", "vcek.der");
    g_autofree char *ask = sim_file("milan", "ask.pem");
    g_autofree char *ark = sim_file("milan", "ark.pem");
    va_list ap;

    g_ptr_array_add(args, (gpointer)"report");
    g_ptr_array_add(args, (gpointer)"verify");
    g_ptr_array_add(args, (gpointer)report);
    g_ptr_array_add(args, (gpointer)"--cert");
    g_ptr_array_add(args, vcek);
    g_ptr_array_add(args, (gpointer)"--ask");
    g_ptr_array_add(args, ask);
    g_ptr_array_add(args, (gpointer)"--ark");
    g_ptr_array_add(args, ark);
    if (trust) {
        g_ptr_array_add(args, (gpointer)"--trust-root");
        g_ptr_array_add(args, ark);
    }
    va_start(ap, first);
    for (const char *a = first; a; a = va_arg(ap, const char *))
        g_ptr_array_add(args, (gpointer)a);
    va_end(ap);
    g_ptr_array_add(args, NULL);
    snpg_runv(run, NULL, (const char *const *)args->pdata);
    return run->exit_code;
}

/* These tests verify what they generate with 'report verify': if its --help
 * is broken, that is a failure, not a reason to skip them. */
static void
assert_report_verify_works(void)
{
    g_auto(SnpgRun) run = { 0 };

    snpg_run(&run, NULL, "report", "verify", "--help", NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    g_assert_nonnull(strstr(run.out, "--trust-root"));
}

/* The full generation (two RSA-4096 keys), once, and its report verifies. */
static void
test_init(void)
{
    g_autofree char *tmp = snpg_test_tmpdir();
    g_autofree char *dir = g_build_filename(tmp, "turin", NULL);
    g_autofree char *dir2 = g_build_filename(tmp, "turin2", NULL);
    g_autofree char *report = g_build_filename(tmp, "r.bin", NULL);
    g_autofree char *vcek = g_build_filename(dir, "vcek.der", NULL);
    g_autofree char *ask = g_build_filename(dir, "ask.pem", NULL);
    g_autofree char *ark = g_build_filename(dir, "ark.pem", NULL);
    g_autofree char *conf = g_build_filename(dir, "sim.conf", NULL);
    g_autofree char *conf_text = NULL;
    g_auto(SnpgRun) run = { 0 };

    snpg_run(&run, NULL, "sim", "init", dir, "--product", "turin", "--tcb",
             "fmc=1,bl=2,tee=3,snp=4,ucode=5", "--chip-id", "0102030405060708", NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    g_assert_nonnull(strstr(run.out, "TEST"));
    g_assert_true(g_file_get_contents(conf, &conf_text, NULL, NULL));
    g_assert_nonnull(strstr(conf_text, "product=Turin"));
    g_assert_nonnull(strstr(conf_text, "chip-id=0102030405060708000000"));
    g_assert_nonnull(strstr(conf_text, "fmc=1"));
    snpg_run_clear(&run);

    /* Exists: refused (1); forced with a reused root: fine. */
    snpg_run(&run, NULL, "sim", "init", dir, NULL);
    g_assert_cmpint(run.exit_code, ==, 1);
    g_assert_nonnull(strstr(run.err, "--force"));
    snpg_run_clear(&run);
    snpg_run(&run, NULL, "sim", "init", dir2, "--product", "Turin", "--root-from", dir, NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    snpg_run_clear(&run);

    snpg_run(&run, NULL, "sim", "report", dir, "--measurement", M48, "-o", report, NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    snpg_run_clear(&run);
    assert_report_verify_works();
    snpg_run(&run, NULL, "report", "verify", report, "--cert", vcek, "--ask", ask, "--ark", ark,
             "--trust-root", ark, "--measurement", M48, "--min-tcb",
             "fmc=1,bl=2,tee=3,snp=4,ucode=5", NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    snpg_run_clear(&run);
    /* Without --trust-root the test root is rejected. */
    snpg_run(&run, NULL, "report", "verify", report, "--cert", vcek, "--ask", ask, "--ark", ark,
             NULL);
    g_assert_cmpint(run.exit_code, ==, 3);
    g_assert_nonnull(strstr(run.out, "root-untrusted"));
}

static void
test_usage(void)
{
    g_autofree char *tmp = snpg_test_tmpdir();
    g_autofree char *simdir = sim("milan");
    g_autofree char *out = g_build_filename(tmp, "r.bin", NULL);
    g_autofree char *missing = g_build_filename(tmp, "nosim", NULL);
    g_auto(SnpgRun) run = { 0 };
    static const char *const bad[][4] = {
        { "--measurement", "abcd", NULL },                      /* short */
        { "--measurement", M48 "00", NULL },                    /* long */
        { "--measurement", "zz" M48_TAIL, NULL },                /* not hex */
        { "--measurement", M48, "--report-data", "abc" },       /* odd */
        { "--measurement", M48, "--version", "4" },
        { "--measurement", M48, "--vmpl", "4" },
        { "--measurement", M48, "--policy", "0xnothex" },
        { "--measurement", M48, "--signing-key", "ask" },
        { "--measurement", M48, "--malform", "everything" },
        { "--measurement", M48, "--tcb", "xyz=1" },
        { "--measurement", M48, "--family-id", "00" },
        { "--report-data", "00", NULL },                        /* no measurement */
    };

    snpg_run(&run, NULL, "sim", NULL);
    g_assert_cmpint(run.exit_code, ==, 2);
    snpg_run_clear(&run);
    snpg_run(&run, NULL, "sim", "frobnicate", NULL);
    g_assert_cmpint(run.exit_code, ==, 2);
    snpg_run_clear(&run);
    snpg_run(&run, NULL, "sim", "--help", NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    g_assert_nonnull(strstr(run.out, "TEST keys"));
    snpg_run_clear(&run);
    snpg_run(&run, NULL, "help", "sim", NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    snpg_run_clear(&run);
    snpg_run(&run, NULL, "sim", "init", "--help", NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    g_assert_nonnull(strstr(run.out, "--trust-root"));
    snpg_run_clear(&run);
    snpg_run(&run, NULL, "sim", "init", NULL);
    g_assert_cmpint(run.exit_code, ==, 2);
    snpg_run_clear(&run);
    snpg_run(&run, NULL, "sim", "init", missing, "--product", "Rome", NULL);
    g_assert_cmpint(run.exit_code, ==, 2);
    g_assert_nonnull(strstr(run.err, "'Rome'"));
    g_assert_false(g_file_test(missing, G_FILE_TEST_EXISTS));
    snpg_run_clear(&run);
    snpg_run(&run, NULL, "sim", "init", missing, "--chip-id", "00", NULL);
    g_assert_cmpint(run.exit_code, ==, 2);
    snpg_run_clear(&run);

    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        const char *args[12] = { "sim", "report", simdir, "-o", out };
        gsize n = 5;
        for (gsize j = 0; j < 4 && bad[i][j]; j++)
            args[n++] = bad[i][j];
        args[n] = NULL;
        snpg_runv(&run, NULL, args);
        if (run.exit_code != 2)
            g_test_message("case %" G_GSIZE_FORMAT ": %s", i, run.err);
        g_assert_cmpint(run.exit_code, ==, 2);
        g_assert_false(g_file_test(out, G_FILE_TEST_EXISTS));
        snpg_run_clear(&run);
    }
    /* No output file option: usage. No simulator: error. */
    snpg_run(&run, NULL, "sim", "report", simdir, "--measurement", M48, NULL);
    g_assert_cmpint(run.exit_code, ==, 2);
    snpg_run_clear(&run);
    snpg_run(&run, NULL, "sim", "report", missing, "--measurement", M48, "-o", out, NULL);
    g_assert_cmpint(run.exit_code, ==, 1);
    g_assert_false(g_file_test(out, G_FILE_TEST_EXISTS));
}

static void
test_report_output(void)
{
    g_autofree char *tmp = snpg_test_tmpdir();
    g_autofree char *r = make_report(tmp, "r.bin", "--report-data", "0102", "--host-data", "ff",
                                     "--policy", "0x30000", "--vmpl", "1", "--version", "3",
                                     "--guest-svn", "9", "--family-id",
                                     "00112233445566778899aabbccddeeff", NULL);
    g_autofree char *data = NULL;
    gsize len = 0;
    const guint8 *b;

    g_assert_true(g_file_get_contents(r, &data, &len, NULL));
    g_assert_cmpuint(len, ==, 1184);
    b = (const guint8 *)data;
    g_assert_cmpuint(b[0], ==, 3);
    g_assert_cmpuint(b[4], ==, 9);
    g_assert_cmpuint(b[0x30], ==, 1);
    g_assert_cmphex(b[0x10], ==, 0x00);
    g_assert_cmphex(b[0x1f], ==, 0xff);
    g_assert_cmphex(b[0x50], ==, 0x01);
    g_assert_cmphex(b[0x51], ==, 0x02);
    g_assert_cmphex(b[0x52], ==, 0x00);   /* zero-padded */
    g_assert_cmphex(b[0xC0], ==, 0xff);
    g_assert_cmphex(b[0x90], ==, 0xab);
    g_assert_cmphex(b[0x188], ==, 0x19);  /* Milan CPUID family */
}

static void
test_verify(void)
{
    g_autofree char *tmp = snpg_test_tmpdir();
    g_autofree char *good = NULL;
    g_auto(SnpgRun) run = { 0 };
    struct {
        const char *name;
        const char *sim_args[5];
        const char *verify_args[5];
        const char *reason;
    } cases[] = {
        { "debug", { "--policy", "0xb0000" }, { NULL }, "debug" },
        { "vmpl", { "--vmpl", "1" }, { "--vmpl", "0" }, "vmpl" },
        { "measurement", { NULL }, { "--measurement", M48_OTHER }, "measurement" },
        { "report-data", { "--report-data", "01" }, { "--report-data", "02000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" }, "report-data" },
        { "host-data", { "--host-data", "01" }, { "--host-data",
          "0200000000000000000000000000000000000000000000000000000000000000" }, "host-data" },
        { "min-tcb", { NULL }, { "--min-tcb", "snp=99" }, "min-tcb-reported" },
        { "product", { NULL }, { "--product", "Genoa" }, "product" },
        { "guest-svn", { "--guest-svn", "1" }, { "--min-guest-svn", "2" }, "guest-svn" },
        { "unsigned", { "--malform", "unsigned" }, { NULL }, NULL },
        { "sig-big-endian", { "--malform", "sig-big-endian" }, { NULL }, NULL },
        { "sig-high-bytes", { "--malform", "sig-high-bytes" }, { NULL }, NULL },
        { "reserved", { "--malform", "reserved" }, { NULL }, NULL },
        { "sig-algo", { "--signature-algo", "2" }, { NULL }, NULL },
        { "signing-key-vlek", { "--signing-key", "vlek" }, { NULL }, NULL },
        { "tcb-mismatch", { "--reported-tcb", "snp=1" }, { NULL }, NULL },
        { "other-chip", { "--chip-id",
          "0000000000000000000000000000000000000000000000000000000000000000"
          "0000000000000000000000000000000000000000000000000000000000000001" }, { NULL }, NULL },
    };

    assert_report_verify_works();
    good = make_report(tmp, "good.bin", "--report-data", "01", NULL);
    g_assert_cmpint(verify(&run, good, TRUE, "--measurement", M48, NULL), ==, 0);
    snpg_run_clear(&run);
    g_assert_cmpint(verify(&run, good, FALSE, NULL), ==, 3);
    g_assert_nonnull(strstr(run.out, "root-untrusted"));
    snpg_run_clear(&run);
    /* DEBUG is accepted only when allowed. */
    {
        g_autofree char *dbg = make_report(tmp, "dbg.bin", "--policy", "0xb0000", NULL);
        g_assert_cmpint(verify(&run, dbg, TRUE, "--allow-debug", NULL), ==, 0);
        snpg_run_clear(&run);
    }

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *name = g_strdup_printf("%s.bin", cases[i].name);
        g_autofree char *r = make_report(tmp, name, cases[i].sim_args[0], cases[i].sim_args[1],
                                         NULL);
        int rc = verify(&run, r, TRUE, cases[i].verify_args[0], cases[i].verify_args[1], NULL);
        if (rc != 3)
            g_test_message("case %s: exit %d\n%s%s", cases[i].name, rc, run.out, run.err);
        g_assert_cmpint(rc, ==, 3);
        if (cases[i].reason) {
            g_autofree char *prefix = g_strdup_printf("%s:", cases[i].reason);
            if (!strstr(run.out, prefix))
                g_test_message("case %s: %s", cases[i].name, run.out);
            g_assert_nonnull(strstr(run.out, prefix));
        }
        snpg_run_clear(&run);
    }
}

static void
test_idblock(void)
{
    g_autofree char *tmp = snpg_test_tmpdir();
    g_autofree char *key = g_build_filename(tmp, "id.pem", NULL);
    g_autofree char *ref_id = snpg_test_data("idblock", "id_key_test.pem", NULL);
    g_autofree char *ref_author = snpg_test_data("idblock", "author_key_test.pem", NULL);
    g_autofree char *ref_out = snpg_test_data("idblock", "reference-output.txt", NULL);
    g_autofree char *ref_text = NULL;
    g_auto(GStrv) ref_lines = NULL;
    g_auto(GStrv) lines = NULL;
    g_auto(SnpgRun) run = { 0 };
    GStatBuf st;

    snpg_run(&run, NULL, "idblock", "keygen", key, NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    g_assert_cmpint(g_stat(key, &st), ==, 0);
    g_assert_cmphex(st.st_mode & 0777, ==, 0600);
    snpg_run_clear(&run);
    snpg_run(&run, NULL, "idblock", "keygen", key, NULL);
    g_assert_cmpint(run.exit_code, ==, 1);
    snpg_run_clear(&run);

    /* --format reference: the reference's lines, but for the id-auth signatures. */
    snpg_run(&run, NULL, "idblock", "create", "--id-key", ref_id, "--author-key", ref_author,
             "--measurement", "B28FLQi9p6cAqipgjFyqawDrrSl7bWioWkWx5mmlWLZ+G5HShKMB/mPE+gdQRn7t",
             "--format", "reference", NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    g_assert_true(g_file_get_contents(ref_out, &ref_text, NULL, NULL));
    ref_lines = g_strsplit(ref_text, "\n", -1);
    lines = g_strsplit(run.out, "\n", -1);
    g_assert_cmpuint(g_strv_length(lines), ==, 4);
    g_assert_true(g_str_has_prefix(lines[0], "id-block=B28FLQi9p6cAqipgjFyqawDrrSl7bWioWkWx5mmlWLZ+G5HShKMB/mPE+gdQRn7tAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABAAAAAAAAAAAAAwAAAAAA,id-auth="));
    g_assert_cmpuint(strlen(lines[0]), ==, strlen(ref_lines[0]));
    g_assert_cmpstr(lines[1], ==, ref_lines[1]);
    g_assert_cmpstr(lines[2], ==, ref_lines[2]);
    snpg_run_clear(&run);

    /* Hex measurement, libvirt and JSON forms; digest command agrees. */
    snpg_run(&run, NULL, "idblock", "create", "--id-key", ref_id, "--measurement",
             "076f052d08bda7a700aa2a608c5caa6b00ebad297b6d68a85a45b1e669a558b67e1b91d284a301fe63c4fa0750467eed",
             "--format", "libvirt", NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    g_assert_nonnull(strstr(run.out, "<idBlock>B28FLQi9p6cAqipgjFyqawDrrSl7bWioWkWx5mmlWLZ+G5HShKMB/mPE+gdQRn7t"));
    g_assert_nonnull(strstr(run.out, "<idAuth>AQAAAAEAAAA"));
    g_assert_nonnull(strstr(run.out, "authorKey='no'"));
    snpg_run_clear(&run);
    snpg_run(&run, NULL, "idblock", "digest", "--id-key", ref_id, "--author-key", ref_author, NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    /* hex of the reference's base64 id_key_hash / author_key */
    g_assert_nonnull(strstr(run.out, "id-key-digest: 870b7e35c53f8a72d0d322f75ab2af8262792aaf6579622ce4131c3f21f289e77cb0560a5e3b90b3932e674ec709cb14\n"));
    g_assert_nonnull(strstr(run.out, "author-key-digest: 63111c34bbfc0a4938f9a009bd074980d8172323e61599c9fd336da8673248e1dca98d0be8f76376a106b8afd4c0a057\n"));
    snpg_run_clear(&run);
    snpg_run(&run, NULL, "idblock", "create", "--id-key", ref_id, "--measurement",
             "B28FLQi9p6cAqipgjFyqawDrrSl7bWioWkWx5mmlWLZ+G5HShKMB/mPE+gdQRn7t", "--json", NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    g_assert_nonnull(strstr(run.out, "\"id_key_digest\" : \"870b7e35"));
    g_assert_nonnull(strstr(run.out, "\"author_key_digest\" : null"));
    snpg_run_clear(&run);

    /* Usage and input errors. */
    snpg_run(&run, NULL, "idblock", "create", "--id-key", ref_id, NULL);
    g_assert_cmpint(run.exit_code, ==, 2);
    snpg_run_clear(&run);
    snpg_run(&run, NULL, "idblock", "create", "--id-key", ref_id, "--measurement", "abcd", NULL);
    g_assert_cmpint(run.exit_code, ==, 2);
    snpg_run_clear(&run);
    snpg_run(&run, NULL, "idblock", "create", "--id-key", ref_out, "--measurement", M48, NULL);
    g_assert_cmpint(run.exit_code, ==, 1);
    snpg_run_clear(&run);
    snpg_run(&run, NULL, "idblock", "create", "--id-key", ref_id, "--measurement", M48,
             "--format", "xml", NULL);
    g_assert_cmpint(run.exit_code, ==, 2);
    snpg_run_clear(&run);
    snpg_run(&run, NULL, "idblock", NULL);
    g_assert_cmpint(run.exit_code, ==, 2);
}

/* An ID block's key digests and IDs, carried by a simulated report, pass verify. */
static void
test_idblock_verify(void)
{
    g_autofree char *tmp = snpg_test_tmpdir();
    g_autofree char *ref_id = snpg_test_data("idblock", "id_key_test.pem", NULL);
    g_autofree char *ref_author = snpg_test_data("idblock", "author_key_test.pem", NULL);
    const char *id_hex = "870b7e35c53f8a72d0d322f75ab2af8262792aaf6579622ce4131c3f21f289e77cb0560a5e3b90b3932e674ec709cb14";
    const char *author_hex = "63111c34bbfc0a4938f9a009bd074980d8172323e61599c9fd336da8673248e1dca98d0be8f76376a106b8afd4c0a057";
    g_autofree char *r = NULL;
    g_auto(SnpgRun) run = { 0 };

    assert_report_verify_works();
    r = make_report(tmp, "id.bin", "--id-key-digest", id_hex, "--author-key-digest", author_hex,
                    "--author-key-en", "--image-id", "0102030405060708090a0b0c0d0e0f10", NULL);
    g_assert_cmpint(verify(&run, r, TRUE, "--id-key-digest", id_hex, "--author-key-digest",
                           author_hex, NULL), ==, 0);
    snpg_run_clear(&run);
    g_assert_cmpint(verify(&run, r, TRUE, "--id-key-digest", author_hex, NULL), ==, 3);
    g_assert_nonnull(strstr(run.out, "id-key-digest:"));
    snpg_run_clear(&run);
    g_assert_cmpint(verify(&run, r, TRUE, "--image-id", "00000000000000000000000000000000", NULL), ==, 3);
    g_assert_nonnull(strstr(run.out, "image-id:"));
    (void)ref_id;
    (void)ref_author;
}

static void
test_certs(void)
{
    g_autofree char *cache = snpg_test_tmpdir();
    g_autofree char *tmp = snpg_test_tmpdir();
    g_autofree char *milan_v2 = snpg_test_data("vectors", "snp-reports",
                                               "milan-v2-vcek-oak-071c9784", "report.bin", NULL);
    g_autofree char *vcek = snpg_test_data("vectors", "snp-reports",
                                           "milan-v2-vcek-oak-071c9784", "vcek.der", NULL);
    g_autofree char *vlek = snpg_test_data("vectors", "snp-reports",
                                           "milan-v3-vlek-trustee-decdab94", "report.bin", NULL);
    g_autofree char *sim_ark = sim_file("milan", "ark.pem");
    g_autofree char *sim_ask = sim_file("milan", "ask.pem");
    g_autofree char *sim_vcek = sim_file("milan", "vcek.der");
    g_autofree char *garbage = snpg_test_write(tmp, "g.pem", "garbage", 7);
    g_autofree char *turin = NULL;
    g_auto(SnpgRun) run = { 0 };

    /* A simulated v3 Turin report: product from CPUID. */
    {
        g_autofree char *tsim = sim("turin");
        turin = g_build_filename(tmp, "turin.bin", NULL);
        snpg_run(&run, NULL, "sim", "report", tsim, "--measurement", M48, "--version", "3",
                 "--tcb", "fmc=3,bl=4,tee=0,snp=7,ucode=99", "-o", turin, NULL);
        g_assert_cmpint(run.exit_code, ==, 0);
        snpg_run_clear(&run);
        snpg_run(&run, NULL, "certs", "url", turin, NULL);
        g_assert_cmpint(run.exit_code, ==, 0);
        g_assert_nonnull(strstr(run.out, "vcek: https://kdsintf.amd.com/vcek/v1/Turin/"));
        g_assert_nonnull(strstr(run.out, "?fmcSPL=03&blSPL=04&teeSPL=00&snpSPL=07&ucodeSPL=99\n"));
        g_assert_nonnull(strstr(run.out, "cert_chain: https://kdsintf.amd.com/vcek/v1/Turin/cert_chain\n"));
        g_assert_nonnull(strstr(run.out, "crl: https://kdsintf.amd.com/vcek/v1/Turin/crl\n"));
        snpg_run_clear(&run);
        snpg_run(&run, NULL, "certs", "url", turin, "--product", "Milan", NULL);
        g_assert_cmpint(run.exit_code, ==, 1);
        snpg_run_clear(&run);
    }
    if (g_file_test(milan_v2, G_FILE_TEST_EXISTS)) {
        /* v2: needs --product. */
        snpg_run(&run, NULL, "certs", "url", milan_v2, NULL);
        g_assert_cmpint(run.exit_code, ==, 2);
        g_assert_nonnull(strstr(run.err, "--product"));
        snpg_run_clear(&run);
        snpg_run(&run, NULL, "certs", "url", milan_v2, "--product", "Milan", "--json", NULL);
        g_assert_cmpint(run.exit_code, ==, 0);
        g_assert_nonnull(strstr(run.out, "?blSPL=03&teeSPL=00&snpSPL=20&ucodeSPL=209\""));
        snpg_run_clear(&run);
    }
    if (g_file_test(vlek, G_FILE_TEST_EXISTS)) {
        snpg_run(&run, NULL, "certs", "url", vlek, NULL);
        g_assert_cmpint(run.exit_code, ==, 0);
        g_assert_nonnull(strstr(run.out, "cert_chain: https://kdsintf.amd.com/vlek/v1/Milan/cert_chain\n"));
        g_assert_null(strstr(run.out, "vcek:"));
        snpg_run_clear(&run);
    }
    snpg_run(&run, NULL, "certs", "url", garbage, NULL);
    g_assert_cmpint(run.exit_code, ==, 1);
    snpg_run_clear(&run);
    snpg_run(&run, NULL, "certs", "url", NULL);
    g_assert_cmpint(run.exit_code, ==, 2);
    snpg_run_clear(&run);

    /* import and list, with --cache and with the environment variable. */
    snpg_run(&run, NULL, "certs", "import", "--cache", cache, sim_vcek, sim_ask, sim_ark, NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    g_assert_nonnull(strstr(run.out, "VCEK"));
    snpg_run_clear(&run);
    snpg_run(&run, NULL, "certs", "import", "--cache", cache, garbage, NULL);
    g_assert_cmpint(run.exit_code, ==, 1);
    snpg_run_clear(&run);
    if (g_file_test(vcek, G_FILE_TEST_EXISTS)) {
        /* AMD's VCEK does not chain to the cached test ASK. */
        snpg_run(&run, NULL, "certs", "import", "--cache", cache, vcek, NULL);
        g_assert_cmpint(run.exit_code, ==, 1);
        snpg_run_clear(&run);
    }
    snpg_run(&run, NULL, "certs", "list", "--cache", cache, "--json", NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    g_assert_nonnull(strstr(run.out, "\"kind\" : \"ARK\""));
    g_assert_nonnull(strstr(run.out, "\"kind\" : \"VCEK\""));
    g_assert_nonnull(strstr(run.out, "\"snp\" : 20"));
    snpg_run_clear(&run);
    {
        const char *argv[] = { "certs", "list", NULL };
        g_setenv("SNPGUARD_CERT_CACHE", cache, TRUE);
        snpg_runv(&run, NULL, argv);
        g_unsetenv("SNPGUARD_CERT_CACHE");
        g_assert_cmpint(run.exit_code, ==, 0);
        g_assert_nonnull(strstr(run.out, "Milan ARK"));
        g_assert_nonnull(strstr(run.out, "Milan VCEK"));
        snpg_run_clear(&run);
    }
    snpg_run(&run, NULL, "certs", "import", "--cache", cache, NULL);
    g_assert_cmpint(run.exit_code, ==, 2);
    snpg_run_clear(&run);
    snpg_run(&run, NULL, "certs", "nope", NULL);
    g_assert_cmpint(run.exit_code, ==, 2);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/cli-sim/sim/init", test_init);
    g_test_add_func("/cli-sim/sim/usage", test_usage);
    g_test_add_func("/cli-sim/sim/report", test_report_output);
    g_test_add_func("/cli-sim/verify/sim-reports", test_verify);
    g_test_add_func("/cli-sim/idblock/commands", test_idblock);
    g_test_add_func("/cli-sim/idblock/verify", test_idblock_verify);
    g_test_add_func("/cli-sim/certs/commands", test_certs);
    return g_test_run();
}
