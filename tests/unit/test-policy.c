/* The one verification policy (src/core/policy.h): the same verdict, reason
 * for reason, from `snpguard report verify`, from `snpguard attest` (against
 * a real snpguard-agent on the simulated processor, and through the session
 * callback for the genuine vectors) and from the core policy built from a
 * reference file; and one parser per reference value, for files and options. */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>
#include <sys/wait.h>

#include <json-glib/json-glib.h>

#include "attest.h"
#include "certtable.h"
#include "policy.h"
#include "reference.h"
#include "testutil.h"
#include "vectors.h"

static char *tmp;

static char *
iso(gint64 t)
{
    g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(t);
    return g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ");
}

/* "a,b,c" from a result's reasons, in order. */
static char *
codes_of_result(const SnpgVerifyResult *res)
{
    g_autoptr(GString) s = g_string_new(NULL);

    for (guint i = 0; i < res->failures->len; i++) {
        const SnpgVerifyFailure *f = g_ptr_array_index(res->failures, i);
        g_string_append_printf(s, "%s%s", i ? "," : "", snpg_verify_reason_to_string(f->reason));
    }
    return g_string_free(g_steal_pointer(&s), FALSE);
}

/* The same from a session's refusal (what the agent is told). */
static char *
codes_of_refusal(const SnpgRefusal *r)
{
    g_autoptr(GString) s = g_string_new(NULL);

    for (guint i = 0; i < r->n_reasons; i++)
        g_string_append_printf(s, "%s%s", i ? "," : "", snpg_verify_reason_to_string(r->reasons[i]));
    return g_string_free(g_steal_pointer(&s), FALSE);
}

/* The same from the JSON of report verify or attest; also checks that the
 * verdict agrees with the reasons. */
static char *
codes_of_json(const char *out)
{
    g_autoptr(JsonParser) p = json_parser_new();
    g_autoptr(GError) error = NULL;
    g_autoptr(GString) s = g_string_new(NULL);
    JsonObject *o;
    JsonArray *rs;

    if (!json_parser_load_from_data(p, out, -1, &error))
        g_error("not JSON (%s): %s", error->message, out);
    o = json_node_get_object(json_parser_get_root(p));
    rs = json_object_get_array_member(o, "reasons");
    for (guint i = 0; i < json_array_get_length(rs); i++)
        g_string_append_printf(s, "%s%s", i ? "," : "",
                               json_object_get_string_member(json_array_get_object_element(rs, i), "code"));
    g_assert_cmpstr(json_object_get_string_member(o, "verdict"), ==,
                    s->len ? "rejected" : "accepted");
    return g_string_free(g_steal_pointer(&s), FALSE);
}

/* ---- one case, three callers --------------------------------------------- */

typedef struct {
    const char *report;         /* path */
    const char *leaf;           /* --cert, NULL: none */
    const char *ask_opt;        /* "--ask" or "--asvk" */
    const char *ask;            /* path, NULL: none */
    const char *ark;
    const char *trust_root;
    const char *cache;          /* certificate cache dir, NULL: an empty one */
    const char *reference;      /* path of the reference file */
    gint64 now;
} Case;

static GBytes *
read_or_null(const char *path)
{
    return path ? snpg_test_read(path) : NULL;
}

static SnpgAttestPolicy *
policy_for(const Case *c)
{
    g_autoptr(SnpgAttestPolicy) p = snpg_attest_policy_new();
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) leaf = read_or_null(c->leaf);
    g_autoptr(GBytes) ask = read_or_null(c->ask);
    g_autoptr(GBytes) ark = read_or_null(c->ark);
    g_autoptr(GBytes) root = read_or_null(c->trust_root);

    g_assert_true(snpg_attest_policy_load_reference_file(p, c->reference, &error));
    g_assert_no_error(error);
    snpg_attest_policy_set_now(p, c->now);
    snpg_attest_policy_set_leaf(p, leaf);
    if (ask)
        snpg_attest_policy_set_chain_cert(p, g_str_equal(c->ask_opt, "--asvk") ? SNPG_AMD_CERT_ASVK
                                                                               : SNPG_AMD_CERT_ASK, ask);
    if (ark)
        snpg_attest_policy_set_chain_cert(p, SNPG_AMD_CERT_ARK, ark);
    if (root)
        g_assert_true(snpg_attest_policy_set_trust_root(p, root, NULL));
    snpg_attest_policy_set_cache_dir(p, c->cache);
    return g_steal_pointer(&p);
}

static char *
via_core(const Case *c)
{
    g_autoptr(SnpgAttestPolicy) p = policy_for(c);
    g_autoptr(GBytes) report = snpg_test_read(c->report);
    g_autoptr(SnpgVerifyResult) res = snpg_attest_policy_verify(p, report, NULL, NULL);

    return codes_of_result(res);
}

static char *
via_cli(const Case *c)
{
    g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func(g_free);
    g_auto(SnpgRun) run = { 0 };

    g_ptr_array_add(args, g_strdup("report"));
    g_ptr_array_add(args, g_strdup("verify"));
    g_ptr_array_add(args, g_strdup(c->report));
    g_ptr_array_add(args, g_strdup("--json"));
    g_ptr_array_add(args, g_strdup("--reference"));
    g_ptr_array_add(args, g_strdup(c->reference));
    g_ptr_array_add(args, g_strdup("--now"));
    g_ptr_array_add(args, iso(c->now));
    g_ptr_array_add(args, g_strdup("--cache"));
    g_ptr_array_add(args, g_strdup(c->cache));
#define OPT(name, value) if (value) { g_ptr_array_add(args, g_strdup(name)); g_ptr_array_add(args, g_strdup(value)); }
    OPT("--cert", c->leaf);
    OPT(c->ask_opt, c->ask);
    OPT("--ark", c->ark);
    OPT("--trust-root", c->trust_root);
#undef OPT
    g_ptr_array_add(args, NULL);
    snpg_runv(&run, NULL, (const char *const *)args->pdata);
    if (run.exit_code != 0 && run.exit_code != 3)
        g_error("report verify exited %d: %s", run.exit_code, run.err);
    return codes_of_json(run.out);
}

/* What `snpguard attest` runs on the evidence: the session callback with
 * the policy the command builds, the binding being the report's own
 * REPORT_DATA (a genuine report cannot be re-bound to a new session).
 * With table set, the leaf and ASK come as the guest's extended-report
 * certificate table instead of from the operator. */
static char *
via_session(const Case *c, gboolean table)
{
    Case cc = *c;
    g_autoptr(SnpgAttestPolicy) p = NULL;
    g_autoptr(GBytes) report = snpg_test_read(c->report);
    g_autoptr(GBytes) certs = NULL;
    g_autoptr(GError) error = NULL;
    SnpgAttestContext ctx = { 0 };
    SnpgRefusal refusal = { 0 };
    guint8 binding[SNPG_PROTO_REPORT_DATA_LEN] = { 0 };
    g_autoptr(SnpgReport) parsed = snpg_report_parse(g_bytes_get_data(report, NULL),
                                                     g_bytes_get_size(report), NULL);
    char *codes;

    if (parsed)
        memcpy(binding, parsed->report_data, sizeof(binding));

    if (table) {
        g_auto(SnpgCertTable) t = { 0 };
        g_autoptr(SnpgReport) r = snpg_report_parse(g_bytes_get_data(report, NULL),
                                                    g_bytes_get_size(report), NULL);
        gboolean vlek = r && r->signing_key == SNPG_SIGNING_KEY_VLEK;
        t.certs[vlek ? SNPG_CERTTABLE_VLEK : SNPG_CERTTABLE_VCEK] = read_or_null(c->leaf);
        t.certs[SNPG_CERTTABLE_ASK] = read_or_null(c->ask);
        certs = snpg_certtable_build(&t);
        cc.leaf = cc.ask = NULL;
    }
    p = policy_for(&cc);
    ctx.policy = p;
    if (snpg_attest_verify(report, certs, binding, &refusal, &ctx,
                           &error))
        codes = g_strdup("");
    else
        codes = codes_of_refusal(&refusal);
    g_assert_no_error(error);
    /* The refusal carries what the verdict says. */
    {
        g_autofree char *full = codes_of_result(ctx.result);
        g_assert_cmpstr(codes, ==, full);
    }
    g_free(refusal.text);
    snpg_attest_context_clear(&ctx);
    return codes;
}

static void
expect_same(const char *what, const Case *c, const char *want, gboolean with_table)
{
    g_autofree char *core = via_core(c);
    g_autofree char *cli = via_cli(c);
    g_autofree char *session = via_session(c, FALSE);

    if (g_strcmp0(core, want) != 0)
        g_error("%s: core policy gave '%s', want '%s'", what, core, want);
    if (g_strcmp0(cli, want) != 0)
        g_error("%s: report verify gave '%s', want '%s'", what, cli, want);
    if (g_strcmp0(session, want) != 0)
        g_error("%s: attest's verification gave '%s', want '%s'", what, session, want);
    if (with_table) {
        g_autofree char *evidence = via_session(c, TRUE);
        if (g_strcmp0(evidence, want) != 0)
            g_error("%s: attest with the guest's certificates gave '%s', want '%s'", what,
                    evidence, want);
    }
}

static char *
write_reference(const char *name, const char *body)
{
    g_autofree char *text = g_strdup_printf("[snpguard-reference]\n%s", body);
    return snpg_test_write(tmp, name, text, strlen(text));
}

/* Reference rows over every genuine vector: its own values (accepted), and
 * values it does not meet. */
typedef struct {
    const char *name;
    const char *body;           /* @M@, @C@, @V@: the vector's measurement, chip id, VMPL */
    const char *want;
    gboolean all_vectors;       /* else the first vector of each product and key */
} Row;

static const Row rows[] = {
    { "own-values", "measurement=@M@\nchip-id=@C@\nvmpl=@V@\nallow-debug=true\n", "", TRUE },
    { "other-measurement",
      "measurement=" "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
      "\nallow-debug=true\n", "measurement", FALSE },
    { "min-tcb", "allow-debug=true\nmin-tcb=snp=255\n",
      "min-tcb-reported,min-tcb-committed,min-tcb-launch,min-tcb-current", FALSE },
    { "vmpl-and-mask", "allow-debug=true\nvmpl=3\nplatform-info-required=0x80\n", "vmpl,platform-info", FALSE },
};

static void
test_genuine(void)
{
    g_autoptr(GPtrArray) vectors = snpg_vectors_load();
    g_autoptr(GHashTable) kinds = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autofree char *empty = g_build_filename(tmp, "empty-cache", NULL);

    for (guint i = 0; i < vectors->len; i++) {
        SnpgVector *v = g_ptr_array_index(vectors, i);
        const char *product = json_object_get_string_member(v->meta, "product");
        g_autofree char *kind = g_strdup_printf("%s-%s", product, v->vlek ? "vlek" : "vcek");
        gboolean first = g_hash_table_add(kinds, g_strdup(kind));
        g_autofree char *report = g_build_filename(v->dir, "report.bin", NULL);
        Case c = { .report = report, .leaf = v->leaf_path, .ask_opt = v->vlek ? "--asvk" : "--ask",
                   .ask = v->ask_path, .ark = v->ark_path, .cache = empty, .now = v->window_mid };

        for (gsize r = 0; r < G_N_ELEMENTS(rows); r++) {
            g_autofree char *body = NULL;
            g_autofree char *ref = NULL;
            g_autofree char *what = g_strdup_printf("%s/%s", v->name, rows[r].name);

            if (!rows[r].all_vectors && !first)
                continue;
            {
                g_autofree char *vmpl = g_strdup_printf("%" G_GINT64_FORMAT,
                                                        json_object_get_int_member(v->meta, "vmpl"));
                GString *b = g_string_new(rows[r].body);
                g_string_replace(b, "@M@", json_object_get_string_member(v->meta, "measurement"), 0);
                g_string_replace(b, "@C@", json_object_get_string_member(v->meta, "chip_id"), 0);
                g_string_replace(b, "@V@", vmpl, 0);
                body = g_string_free(b, FALSE);
            }
            ref = write_reference("ref.ini", body);
            c.reference = ref;
            expect_same(what, &c, rows[r].want, first);
        }
    }
}

/* Tampered evidence and supplied certificates that fail: the same reasons
 * everywhere, including the ones the CLI once kept apart. */
static void
test_tampered(void)
{
    g_autoptr(SnpgVector) genuine = snpg_vector_load("milan-v2-vcek-trustee-1e4e3afc");
    g_autoptr(SnpgVector) vlek = snpg_vector_load("milan-v3-vlek-trustee-decdab94");
    g_autoptr(SnpgVector) v3 = snpg_vector_load("genoa-v3-vcek-ccf-4ae0e73a");
    g_autofree char *genuine_report = g_build_filename(genuine->dir, "report.bin", NULL);
    g_autofree char *vlek_report = g_build_filename(vlek->dir, "report.bin", NULL);
    g_autofree char *v3_report = g_build_filename(v3->dir, "report.bin", NULL);
    g_autofree char *azure = snpg_test_data("vectors", "tampered", "constellation-azure-attestation.bin", NULL);
    g_autofree char *azure_vcek = snpg_test_data("vectors", "tampered", "constellation-azure-vcek.cert", NULL);
    g_autofree char *legacy = snpg_test_data("vectors", "tampered", "trustee-test-vcek-invalid-legacy.der", NULL);
    g_autofree char *genoa_ask = snpg_test_data("vectors", "amd-roots", "ask_genoa.pem", NULL);
    g_autofree char *garbage = snpg_test_write(tmp, "garbage.pem", "not a certificate", 17);
    g_autofree char *empty = g_build_filename(tmp, "empty-cache", NULL);
    g_autofree char *cache = g_build_filename(tmp, "cache", NULL);
    g_autofree char *none = write_reference("none.ini", "allow-debug=true\n");
    g_autofree char *short_report = snpg_test_write(tmp, "short.bin", "\x02\0\0\0", 4);
    gint64 y2024 = snpg_vector_time("2024-01-01 00:00:00");
    const struct {
        const char *name;
        Case c;
        const char *want;
    } cases[] = {
        { "azure-platform-info-bit", { .report = azure, .leaf = azure_vcek, .ask_opt = "--ask",
                                       .cache = empty, .reference = none, .now = y2024 },
          "signature" },
        { "edited-vcek", { .report = genuine_report, .leaf = legacy, .ask_opt = "--ask",
                           .cache = empty, .reference = none, .now = genuine->window_mid },
          "chain,signature,cert-chip-id,tcb-mismatch" },
        { "truncated", { .report = short_report, .leaf = genuine->leaf_path, .ask_opt = "--ask",
                         .cache = empty, .reference = none, .now = genuine->window_mid },
          "malformed" },
        { "unparseable-ask", { .report = genuine_report, .leaf = genuine->leaf_path, .ask_opt = "--ask",
                               .ask = garbage, .cache = empty, .reference = none,
                               .now = genuine->window_mid },
          "cert-invalid" },
        { "unparseable-ark", { .report = genuine_report, .leaf = genuine->leaf_path, .ask_opt = "--ask",
                               .ark = garbage, .cache = empty, .reference = none,
                               .now = genuine->window_mid },
          "cert-invalid" },
        { "unparseable-leaf", { .report = genuine_report, .leaf = garbage, .ask_opt = "--ask",
                                .cache = empty, .reference = none, .now = genuine->window_mid },
          "cert-invalid,signature" },
        { "other-products-ask", { .report = genuine_report, .leaf = genuine->leaf_path,
                                  .ask_opt = "--ask", .ask = genoa_ask, .cache = empty,
                                  .reference = none, .now = genuine->window_mid },
          "root-untrusted" },
        { "cache-miss", { .report = v3_report, .ask_opt = "--ask", .cache = empty,
                          .reference = none, .now = v3->window_mid },
          "cert-missing,signature" },
        { "cache-hit", { .report = v3_report, .ask_opt = "--ask", .cache = cache,
                         .reference = none, .now = v3->window_mid },
          "" },
        { "vlek-with-vcek-cache", { .report = vlek_report, .ask_opt = "--ask", .cache = cache,
                                    .reference = none, .now = vlek->window_mid },
          "cert-missing,signature" },
    };
    g_auto(SnpgRun) run = { 0 };

    snpg_run(&run, NULL, "certs", "import", "--cache", cache, v3->leaf_path, v3->ask_path,
             v3->ark_path, NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++)
        expect_same(cases[i].name, &cases[i].c, cases[i].want, FALSE);

    /* The reasons say why the certificate is missing, once. */
    {
        g_autoptr(SnpgAttestPolicy) p = policy_for(&cases[9].c);
        g_autoptr(GBytes) report = snpg_test_read(vlek_report);
        g_autoptr(SnpgVerifyResult) res = snpg_attest_policy_verify(p, report, NULL, NULL);
        const SnpgVerifyFailure *f = g_ptr_array_index(res->failures, 0);
        g_assert_nonnull(strstr(f->detail, "VLEK"));
    }
}

/* ---- the simulated processor: attest against a real agent ---------------- */

static int
agent_attest(const char *sim_dir, const char *id, const char *ark, const char *reference,
             char **ret_codes)
{
    g_autofree char *sock = g_build_filename(tmp, "agent.sock", NULL);
    g_autofree char *address = g_strdup_printf("unix:%s", sock);
    g_autofree char *psp = g_strdup_printf("sim:%s", id);
    g_autoptr(GError) error = NULL;
    g_auto(SnpgRun) run = { 0 };
    const char *argv[] = { g_getenv("SNPGUARD_AGENT"), "--listen", address, "--psp", psp,
                           "--attempts", "1", "--quiet", "--any-verifier", NULL };
    int status = 0;
    GPid pid;

    (void)sim_dir;
    g_unlink(sock);
    g_assert_true(g_spawn_async(NULL, (char **)argv, NULL,
                                G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                                &pid, &error));
    g_assert_no_error(error);
    for (int i = 0; i < 500 && !g_file_test(sock, G_FILE_TEST_EXISTS); i++)
        g_usleep(10 * 1000);
    if (ark)
        snpg_run(&run, NULL, "attest", "--connect", address, "--reference", reference,
                 "--trust-root", ark, "--json", "--timeout", "20", NULL);
    else
        snpg_run(&run, NULL, "attest", "--connect", address, "--reference", reference, "--json",
                 "--timeout", "20", NULL);
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    g_spawn_close_pid(pid);
    if (run.exit_code != 0 && run.exit_code != 3)
        g_error("attest exited %d: %s", run.exit_code, run.err);
    *ret_codes = codes_of_json(run.out);
    return run.exit_code;
}

static void
test_sim_agent(void)
{
    static const char m[] =
        "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";
    g_autofree char *sim_dir = snpg_test_data("sim", "turin", NULL);
    g_autofree char *ark = g_build_filename(sim_dir, "ark.pem", NULL);
    g_autofree char *ask = g_build_filename(sim_dir, "ask.pem", NULL);
    g_autofree char *vcek = g_build_filename(sim_dir, "vcek.der", NULL);
    g_autofree char *id = g_build_filename(tmp, "sim.id", NULL);
    g_autofree char *report = g_build_filename(tmp, "sim.bin", NULL);
    g_autofree char *empty = g_build_filename(tmp, "empty-cache", NULL);
    g_autofree char *own = g_strdup_printf("measurement=%s\n", m);
    g_autofree char *vmpl = g_strdup_printf("measurement=%s\nvmpl=2\n", m);
    const struct {
        const char *name;
        const char *body;
        gboolean trust;
        const char *want;
    } cases[] = {
        { "accepted", own, TRUE, "" },
        { "measurement", "measurement=6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b\n",
          TRUE, "measurement" },
        { "vmpl", vmpl, TRUE, "vmpl" },
        { "min-tcb", "min-tcb=snp=255\n", TRUE,
          "min-tcb-reported,min-tcb-committed,min-tcb-launch,min-tcb-current" },
        { "untrusted-root", own, FALSE, "root-untrusted,chain" },
    };

    {
        g_auto(SnpgRun) run = { 0 };
        snpg_run(&run, NULL, "sim", "identity", sim_dir, "--measurement", m, "-o", id, NULL);
        g_assert_cmpint(run.exit_code, ==, 0);
        snpg_run_clear(&run);
        snpg_run(&run, NULL, "sim", "report", sim_dir, "--measurement", m, "-o", report, NULL);
        g_assert_cmpint(run.exit_code, ==, 0);
    }
    /* A cached test root is evidence like any other: not trusted by being
     * cached, and the cached ARK counts, in every caller. */
    {
        g_autofree char *simcache = g_build_filename(tmp, "simcache", NULL);
        g_autofree char *ref = write_reference("sim.ini", own);
        g_auto(SnpgRun) run = { 0 };
        Case c = { .report = report, .ask_opt = "--ask", .cache = simcache, .reference = ref,
                   .now = g_get_real_time() / G_USEC_PER_SEC };

        snpg_run(&run, NULL, "certs", "import", "--cache", simcache, vcek, ask, ark, NULL);
        g_assert_cmpint(run.exit_code, ==, 0);
        expect_same("cached-test-root", &c, "root-untrusted,root-untrusted,chain", FALSE);
        c.trust_root = ark;
        expect_same("cached-test-root-trusted", &c, "", FALSE);
    }
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *ref = write_reference("sim.ini", cases[i].body);
        g_autofree char *attest = NULL;
        Case c = { .report = report, .leaf = vcek, .ask_opt = "--ask", .ask = ask,
                   .trust_root = cases[i].trust ? ark : NULL, .cache = empty, .reference = ref,
                   .now = g_get_real_time() / G_USEC_PER_SEC };
        int rc;

        expect_same(cases[i].name, &c, cases[i].want, TRUE);
        rc = agent_attest(sim_dir, id, cases[i].trust ? ark : NULL, ref, &attest);
        if (g_strcmp0(attest, cases[i].want) != 0)
            g_error("%s: attest gave '%s', want '%s'", cases[i].name, attest, cases[i].want);
        g_assert_cmpint(rc, ==, *cases[i].want ? 3 : 0);
    }
}

/* What one guest offered (or one VM's operator supplied) never weighs on
 * the verdict of another sharing the verifier. */
static void
test_evidence_not_shared(void)
{
    g_autoptr(SnpgVector) v = snpg_vector_load("milan-v3-vcek-oak-40a2778d");
    g_autofree char *genoa_ask = snpg_test_data("vectors", "amd-roots", "ask_genoa.pem", NULL);
    g_autoptr(GBytes) wrong_ask = snpg_test_read(genoa_ask);
    g_autoptr(SnpgVerifier) verifier = snpg_verifier_new();
    g_autoptr(SnpgAttestPolicy) a = snpg_attest_policy_new_with_verifier(verifier);
    g_autoptr(SnpgAttestPolicy) b = snpg_attest_policy_new_with_verifier(verifier);
    g_auto(SnpgCertTable) bad = { 0 };
    g_auto(SnpgCertTable) good = { 0 };
    g_autoptr(GBytes) bad_table = NULL;
    g_autoptr(GBytes) good_table = NULL;

    bad.certs[SNPG_CERTTABLE_VCEK] = g_bytes_ref(v->leaf);
    bad.certs[SNPG_CERTTABLE_ASK] = g_bytes_ref(wrong_ask);
    bad_table = snpg_certtable_build(&bad);
    good.certs[SNPG_CERTTABLE_VCEK] = g_bytes_ref(v->leaf);
    good_table = snpg_certtable_build(&good);
    snpg_attest_policy_set_now(a, v->window_mid);
    snpg_attest_policy_set_value(a, "allow-debug", "true", NULL);
    snpg_attest_policy_set_now(b, v->window_mid);
    snpg_attest_policy_set_value(b, "allow-debug", "true", NULL);

    for (int round = 0; round < 2; round++) {
        g_autoptr(SnpgVerifyResult) r1 = snpg_attest_policy_verify(a, v->report, bad_table, NULL);
        g_autoptr(SnpgVerifyResult) r2 = snpg_attest_policy_verify(a, v->report, good_table, NULL);
        g_autoptr(SnpgVerifyResult) r3 = NULL;
        g_autofree char *c1 = codes_of_result(r1);
        g_autofree char *c2 = codes_of_result(r2);
        g_autofree char *c3 = NULL;

        g_assert_cmpstr(c1, ==, "root-untrusted");
        g_assert_cmpstr(c2, ==, "");
        /* An operator's wrong ASK on policy b does not reach policy a. */
        snpg_attest_policy_set_chain_cert(b, SNPG_AMD_CERT_ASK, wrong_ask);
        r3 = snpg_attest_policy_verify(b, v->report, good_table, NULL);
        c3 = codes_of_result(r3);
        g_assert_cmpstr(c3, ==, "root-untrusted");
        snpg_attest_policy_set_chain_cert(b, SNPG_AMD_CERT_ASK, NULL);
    }
}

/* ---- one parser per reference value -------------------------------------- */

/* What a key=value means must not depend on where it is written. */
static void
test_reference_same_parser(void)
{
    static const struct { const char *key, *value; } same[] = {
        { "platform-info-required", "10" },     /* hex in both: 0x10 */
        { "platform-info-mask", "0x3" },
        { "policy-max", "30000" },
        { "vmpl", "2" },
        { "min-guest-svn", "010" },             /* decimal in both: 10, never octal */
        { "min-tcb", "bl=1, snp=8" },
        { "min-abi", "1.51" },
        { "product", "Genoa" },
        { "allow-debug", "true" },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(same); i++) {
        g_autofree char *text = g_strdup_printf("[snpguard-reference]\n%s=%s\n", same[i].key,
                                                same[i].value);
        g_autoptr(SnpgAttestPolicy) from_file = snpg_attest_policy_new();
        g_autoptr(SnpgAttestPolicy) from_option = snpg_attest_policy_new();
        g_autoptr(GError) error = NULL;
        g_autofree char *a = NULL;
        g_autofree char *b = NULL;

        g_assert_true(snpg_attest_policy_load_reference_data(from_file, text, strlen(text), &error));
        g_assert_no_error(error);
        g_assert_true(snpg_attest_policy_set_option(from_option, same[i].key, same[i].value, &error));
        g_assert_no_error(error);
        a = snpg_reference_to_data(snpg_attest_policy_get_options(from_file), NULL);
        b = snpg_reference_to_data(snpg_attest_policy_get_options(from_option), NULL);
        g_assert_cmpstr(a, ==, b);
    }
    {
        g_autoptr(SnpgAttestPolicy) p = snpg_attest_policy_new();
        static const char text[] = "[snpguard-reference]\nplatform-info-required=10\nmin-guest-svn=010\n";
        g_assert_true(snpg_attest_policy_load_reference_data(p, text, strlen(text), NULL));
        g_assert_cmpuint(snpg_attest_policy_get_options(p)->platform_info_required, ==, 0x10);
        g_assert_cmpint(snpg_attest_policy_get_options(p)->min_guest_svn, ==, 10);
    }
}

/* Empty, ambiguous or unknown values are errors naming the key, in a file
 * and as options; none of them switches a check off. */
static void
test_reference_refused(void)
{
    static const struct { const char *key, *value; } bad[] = {
        { "min-tcb", "" }, { "min-tcb", " " }, { "min-tcb", "snp=1,,bl=2" }, { "min-tcb", "snp=1,snp=2" },
        { "min-tcb", "snp=" }, { "measurement", "" }, { "report-data", "" }, { "vmpl", "" },
        { "vmpl", "4" }, { "min-guest-svn", "-1" }, { "policy-max", "" }, { "policy-max", "0x" },
        { "platform-info-required", "zz" }, { "allow-debug", "" }, { "allow-debug", "yes" },
        { "min-abi", "" }, { "min-abi", "1" }, { "product", "" }, { "product", "Naples" },
        { "chip-id", ";" },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *text = g_strdup_printf("[snpguard-reference]\n%s=%s\n", bad[i].key, bad[i].value);
        g_autoptr(SnpgAttestPolicy) p = snpg_attest_policy_new();
        g_autoptr(GError) error = NULL;
        g_autofree char *option = g_strdup_printf("--%s", bad[i].key);

        if (snpg_attest_policy_load_reference_data(p, text, strlen(text), &error))
            g_error("the file accepted %s='%s'", bad[i].key, bad[i].value);
        g_assert_error(error, SNPG_REFERENCE_ERROR, SNPG_REFERENCE_ERROR_VALUE);
        g_assert_nonnull(strstr(error->message, bad[i].key));
        g_clear_error(&error);
        if (snpg_attest_policy_set_option(p, bad[i].key, bad[i].value, &error))
            g_error("the option accepted --%s '%s'", bad[i].key, bad[i].value);
        g_assert_nonnull(strstr(error->message, option));
    }
    /* Localized, repeated and unknown keys. */
    {
        static const struct { const char *text, *named; } keys[] = {
            { "[snpguard-reference]\nmeasurement[de]=00\n", "measurement[de]" },
            { "[snpguard-reference]\nvmpl=0\nvmpl=1\n", "vmpl" },
            { "[snpguard-reference]\nmesurement=00\n", "mesurement" },
        };
        for (gsize i = 0; i < G_N_ELEMENTS(keys); i++) {
            g_autoptr(SnpgAttestPolicy) p = snpg_attest_policy_new();
            g_autoptr(GError) error = NULL;
            g_assert_false(snpg_attest_policy_load_reference_data(p, keys[i].text,
                                                                  strlen(keys[i].text), &error));
            g_assert_error(error, SNPG_REFERENCE_ERROR, SNPG_REFERENCE_ERROR_KEY);
            g_assert_nonnull(strstr(error->message, keys[i].named));
        }
    }
    /* On the command line: a usage error naming the option. */
    {
        g_autoptr(SnpgVector) v = snpg_vector_load("milan-v2-vcek-oak-c23c5618");
        g_autofree char *report = g_build_filename(v->dir, "report.bin", NULL);
        g_auto(SnpgRun) run = { 0 };
        snpg_run(&run, NULL, "report", "verify", report, "--cert", v->leaf_path, "--min-tcb", "",
                 NULL);
        g_assert_cmpint(run.exit_code, ==, 2);
        g_assert_nonnull(strstr(run.err, "--min-tcb"));
        snpg_run_clear(&run);
        snpg_run(&run, NULL, "report", "verify", report, "--cert", v->leaf_path, "--vmpl", "0x1",
                 "--min-guest-svn", "007", NULL);
        g_assert_cmpint(run.exit_code, !=, 2);
    }
}

int
main(int argc, char **argv)
{
    int status;

    g_test_init(&argc, &argv, NULL);
    tmp = snpg_test_tmpdir();
    g_test_add_func("/policy/reference/same-parser", test_reference_same_parser);
    g_test_add_func("/policy/reference/refused", test_reference_refused);
    g_test_add_func("/policy/same-verdict/genuine", test_genuine);
    g_test_add_func("/policy/same-verdict/tampered", test_tampered);
    g_test_add_func("/policy/same-verdict/sim-agent", test_sim_agent);
    g_test_add_func("/policy/evidence/not-shared", test_evidence_not_shared);
    status = g_test_run();
    g_free(tmp);
    return status;
}
