/* Attestation end to end, in process: the agent side with the simulated
 * secure processor (sim identity + psp sim backend), the verifier side with
 * the real report verifier, over socketpairs and unix sockets. */
#include "config.h"

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "amd-certs.h"
#include "attest.h"
#include "certcache.h"
#include "psp.h"
#include "sim-identity.h"
#include "testutil.h"
#include "transport.h"

typedef struct {
    char *tmp;
    char *sim_dir;
    X509 *trust_root;
} Env;

static Env env;

static const guint8 measurement_a[48] = { 0xa1, 0xa2, 0xa3, [47] = 0xaa };
static const guint8 measurement_b[48] = { 0xb1, 0xb2, 0xb3, [47] = 0xbb };

static char *
make_identity(const char *name, const guint8 *measurement, void (*tweak)(SnpgSimIdentityParams *))
{
    SnpgSimIdentityParams params;
    g_autoptr(GError) error = NULL;
    char *path = g_build_filename(env.tmp, name, NULL);

    snpg_sim_identity_params_init(&params);
    memcpy(params.measurement, measurement, 48);
    if (tweak)
        tweak(&params);
    g_assert_true(snpg_sim_identity_write(env.sim_dir, &params, path, &error));
    g_assert_no_error(error);
    return path;
}

/* --- the agent side ------------------------------------------------------ */

typedef struct {
    SnpgPsp *psp;
    guint vmpl;
    GBytes *replay;            /* send this report instead */
    gboolean wrong_binding;    /* a report for other REPORT_DATA */
    gboolean no_certs;         /* a host without extended-report certificates */
    void (*mangle)(guint8 *report);  /* bytes changed after signing */
} AgentSide;

static gboolean
agent_report(const guint8 report_data[64], GBytes **ret_report, GBytes **ret_certs,
             gpointer user_data, GError **error)
{
    AgentSide *a = user_data;
    guint8 other[64];

    if (a->replay) {
        *ret_report = g_bytes_ref(a->replay);
        *ret_certs = NULL;
        return TRUE;
    }
    memcpy(other, report_data, 64);
    if (a->wrong_binding)
        other[0] ^= 0x80;   /* as if bound to another ephemeral key */
    if (!snpg_psp_get_report(a->psp, other, a->vmpl, ret_report, ret_certs, error))
        return FALSE;
    if (a->no_certs)
        g_clear_pointer(ret_certs, g_bytes_unref);
    if (a->mangle) {
        gsize len;
        guint8 *bytes = g_bytes_unref_to_data(*ret_report, &len);
        a->mangle(bytes);
        *ret_report = g_bytes_new_take(bytes, len);
    }
    return TRUE;
}

/* --- the verifier side --------------------------------------------------- */

typedef struct {
    int fd;
    SnpgVerifyOptions *options;
    const SnpgKeyPayload *payload;
    gboolean trust_sim;
    const char *cache_dir;
    gboolean ok;
    GError *error;
    SnpgVerifierResult result;
    SnpgVerifyResult *verdict;
} VerifierSide;

static gpointer
verifier_main(gpointer data)
{
    VerifierSide *v = data;
    g_autoptr(SnpgVerifier) verifier = snpg_verifier_new();
    g_autoptr(SnpgAttestPolicy) policy = snpg_attest_policy_new_with_verifier(verifier);
    SnpgAttestContext ctx = { .policy = policy };
    SnpgVerifierConfig cfg = { .verify = snpg_attest_verify, .user_data = &ctx,
                               .payload = v->payload, .read_timeout_us = 10 * G_USEC_PER_SEC };

    if (v->trust_sim)
        snpg_verifier_set_trust_root(verifier, env.trust_root);
    snpg_verify_options_clear(snpg_attest_policy_get_options(policy));
    snpg_verify_options_copy(snpg_attest_policy_get_options(policy), v->options);
    snpg_attest_policy_set_cache_dir(policy, v->cache_dir);
    v->ok = snpg_session_run_verifier(v->fd, &cfg, &v->result, &v->error);
    v->verdict = g_steal_pointer(&ctx.result);
    snpg_attest_context_clear(&ctx);
    close(v->fd);
    return NULL;
}

static void
fill_payload(SnpgKeyPayload *p, const char *key)
{
    p->disk_key = snpg_secret_new_from_data(key, strlen(key));
    p->luks_cipher = g_strdup("aes-xts-plain64");
    p->luks_key_bits = 512;
}

typedef struct {
    gboolean agent_ok;
    SnpgAgentResult agent;
    VerifierSide verifier;
} Outcome;

static void
outcome_clear(Outcome *o)
{
    snpg_agent_result_clear(&o->agent);
    snpg_verifier_result_clear(&o->verifier.result);
    g_clear_pointer(&o->verifier.verdict, snpg_verify_result_free);
    g_clear_error(&o->verifier.error);
}

static void
run_session(AgentSide *agent, SnpgVerifyOptions *options, const SnpgKeyPayload *payload,
            gboolean trust_sim, Outcome *out)
{
    int sv[2];
    GThread *thread;
    g_autoptr(GError) error = NULL;
    SnpgAgentConfig acfg = { .get_report = agent_report, .user_data = agent,
                             .read_timeout_us = 10 * G_USEC_PER_SEC };

    /* out->verifier.cache_dir, when the caller set it, stays. */
    const char *cache_dir = out->verifier.cache_dir;

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
    out->verifier = (VerifierSide){ .fd = sv[0], .options = options, .payload = payload,
                                    .trust_sim = trust_sim, .cache_dir = cache_dir };
    thread = g_thread_new("verifier", verifier_main, &out->verifier);
    out->agent_ok = snpg_session_run_agent(sv[1], &acfg, &out->agent, &error);
    if (error)
        g_test_message("agent: %s", error->message);
    close(sv[1]);
    g_thread_join(thread);
}

static gboolean
refusal_has(const SnpgRefusal *r, guint16 code)
{
    for (guint i = 0; i < r->n_reasons; i++)
        if (r->reasons[i] == code)
            return TRUE;
    return FALSE;
}

static void
options_for(SnpgVerifyOptions *o, const guint8 *measurement)
{
    snpg_verify_options_init(o);
    g_ptr_array_add(o->measurements, g_bytes_new(measurement, 48));
}

static void
test_success_delivers_exactly_the_key(void)
{
    g_autofree char *id_path = make_identity("ok.id", measurement_a, NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(SnpgPsp) psp = NULL;
    g_autofree char *spec = g_strdup_printf("sim:%s", id_path);
    g_auto(SnpgVerifyOptions) options = { 0 };
    g_auto(SnpgKeyPayload) payload = { 0 };
    AgentSide agent = { 0 };
    Outcome out = { 0 };

    psp = snpg_psp_open(spec, &error);
    g_assert_no_error(error);
    agent.psp = psp;
    options_for(&options, measurement_a);
    fill_payload(&payload, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    run_session(&agent, &options, &payload, TRUE, &out);

    g_assert_no_error(out.verifier.error);
    for (guint i = 0; out.verifier.verdict && i < out.verifier.verdict->failures->len; i++) {
        const SnpgVerifyFailure *f = g_ptr_array_index(out.verifier.verdict->failures, i);
        g_test_message("failure: %s: %s", snpg_verify_reason_to_string(f->reason), f->detail);
    }
    g_assert_true(out.agent_ok && out.verifier.ok);
    g_assert_true(snpg_verify_result_accepted(out.verifier.verdict));
    g_assert_true(out.verifier.result.key_confirmed);
    g_assert_false(out.agent.refused);
    g_assert_true(snpg_secret_equal(out.agent.payload.disk_key, payload.disk_key));
    g_assert_cmpstr(out.agent.payload.luks_cipher, ==, "aes-xts-plain64");
    /* The VCEK came from the guest's certificate table: no --cert needed. */
    outcome_clear(&out);
}

/* One failed check of the verifier: no key, and the agent learns why. */
typedef struct {
    const char *name;
    SnpgVerifyReason reason;
    void (*tweak_identity)(SnpgSimIdentityParams *);
    void (*tweak_options)(SnpgVerifyOptions *);
    guint vmpl;
    gboolean untrusted;
    gboolean no_certs;
    void (*mangle)(guint8 *report);
} RejectCase;

static void id_debug(SnpgSimIdentityParams *p) { p->policy |= G_GUINT64_CONSTANT(1) << 19; }
static void id_vmpl1(SnpgSimIdentityParams *p) { p->min_vmpl = 1; }
static void id_host_data(SnpgSimIdentityParams *p) { p->host_data[0] = 0x42; }
static void id_family(SnpgSimIdentityParams *p) { p->family_id[3] = 7; }
static void id_svn(SnpgSimIdentityParams *p) { p->guest_svn = 1; }
static void id_measurement(SnpgSimIdentityParams *p) { memcpy(p->measurement, measurement_b, 48); }
static void opt_vmpl0(SnpgVerifyOptions *o) { o->vmpl = 0; }
static void opt_host_data(SnpgVerifyOptions *o) { o->host_data = g_bytes_new((guint8[32]){ 0x43 }, 32); }
static void opt_family(SnpgVerifyOptions *o) { o->family_id = g_bytes_new((guint8[16]){ 0 }, 16); }
static void opt_svn(SnpgVerifyOptions *o) { o->min_guest_svn = 2; }
static void opt_product(SnpgVerifyOptions *o) { o->product = SNPG_PRODUCT_TURIN; }
static void opt_tcb(SnpgVerifyOptions *o) { o->min_tcb.snp = 250; }
static void opt_id_key(SnpgVerifyOptions *o) { o->id_key_digest = g_bytes_new((guint8[48]){ 9 }, 48); }
static void id_image(SnpgSimIdentityParams *p) { p->image_id[15] = 1; }
static void opt_image(SnpgVerifyOptions *o) { o->image_id = g_bytes_new((guint8[16]){ 0 }, 16); }
static void opt_author(SnpgVerifyOptions *o) { o->author_key_digest = g_bytes_new((guint8[48]){ 1 }, 48); }
static void opt_chip(SnpgVerifyOptions *o) { g_ptr_array_add(o->chip_ids, g_bytes_new((guint8[64]){ 7 }, 64)); }
static void id_single_socket(SnpgSimIdentityParams *p) { p->policy |= G_GUINT64_CONSTANT(1) << 20; }
static void opt_policy_max(SnpgVerifyOptions *o) { o->has_policy_max = TRUE; o->policy_max = 0x30000; }
static void id_no_reserved_bit(SnpgSimIdentityParams *p) { p->policy = 0x10000; }
static void opt_abi(SnpgVerifyOptions *o) { o->min_abi_major = 99; o->min_abi_minor = 0; }
static void opt_platform(SnpgVerifyOptions *o) { o->has_platform_info_mask = TRUE; o->platform_info_mask = 0; }
static void opt_future(SnpgVerifyOptions *o) { o->has_now = TRUE; o->now = G_GINT64_CONSTANT(4102444800); }
static void opt_past(SnpgVerifyOptions *o) { o->has_now = TRUE; o->now = G_GINT64_CONSTANT(946684800); }
static void mangle_signature(guint8 *r) { r[0x2a0] ^= 0x01; }
static void mangle_version(guint8 *r) { r[0] = 9; }

static const RejectCase reject_cases[] = {
    { "measurement", SNPG_VERIFY_REASON_MEASUREMENT, id_measurement, NULL, 0, FALSE },
    { "debug", SNPG_VERIFY_REASON_DEBUG, id_debug, NULL, 0, FALSE },
    { "vmpl", SNPG_VERIFY_REASON_VMPL, id_vmpl1, opt_vmpl0, 1, FALSE },
    { "host-data", SNPG_VERIFY_REASON_HOST_DATA, id_host_data, opt_host_data, 0, FALSE },
    { "family-id", SNPG_VERIFY_REASON_FAMILY_ID, id_family, opt_family, 0, FALSE },
    { "guest-svn", SNPG_VERIFY_REASON_GUEST_SVN, id_svn, opt_svn, 0, FALSE },
    { "product", SNPG_VERIFY_REASON_PRODUCT, NULL, opt_product, 0, FALSE },
    { "min-tcb", SNPG_VERIFY_REASON_MIN_TCB_REPORTED, NULL, opt_tcb, 0, FALSE },
    { "id-key-digest", SNPG_VERIFY_REASON_ID_KEY_DIGEST, NULL, opt_id_key, 0, FALSE },
    { "root-untrusted", SNPG_VERIFY_REASON_ROOT_UNTRUSTED, NULL, NULL, 0, TRUE },
    { "image-id", SNPG_VERIFY_REASON_IMAGE_ID, id_image, opt_image, 0, FALSE },
    { "author-key-digest", SNPG_VERIFY_REASON_AUTHOR_KEY_DIGEST, NULL, opt_author, 0, FALSE },
    { "chip-id", SNPG_VERIFY_REASON_CHIP_ID, NULL, opt_chip, 0, FALSE },
    { "min-tcb-committed", SNPG_VERIFY_REASON_MIN_TCB_COMMITTED, NULL, opt_tcb, 0, FALSE },
    { "min-tcb-launch", SNPG_VERIFY_REASON_MIN_TCB_LAUNCH, NULL, opt_tcb, 0, FALSE },
    { "min-tcb-current", SNPG_VERIFY_REASON_MIN_TCB_CURRENT, NULL, opt_tcb, 0, FALSE },
    { "policy-max", SNPG_VERIFY_REASON_POLICY_MAX, id_single_socket, opt_policy_max, 0, FALSE },
    { "policy-invalid", SNPG_VERIFY_REASON_POLICY_INVALID, id_no_reserved_bit, NULL, 0, FALSE },
    { "abi-min", SNPG_VERIFY_REASON_ABI_MIN, NULL, opt_abi, 0, FALSE },
    { "platform-info", SNPG_VERIFY_REASON_PLATFORM_INFO, NULL, opt_platform, 0, FALSE },
    { "cert-expired", SNPG_VERIFY_REASON_CERT_EXPIRED, NULL, opt_future, 0, FALSE },
    { "cert-not-yet-valid", SNPG_VERIFY_REASON_CERT_NOT_YET_VALID, NULL, opt_past, 0, FALSE },
    { "cert-missing", SNPG_VERIFY_REASON_CERT_MISSING, NULL, NULL, 0, FALSE, TRUE },
    { "signature", SNPG_VERIFY_REASON_SIGNATURE, NULL, NULL, 0, FALSE, FALSE, mangle_signature },
    { "malformed", SNPG_VERIFY_REASON_MALFORMED, NULL, NULL, 0, FALSE, FALSE, mangle_version },
};

static void
test_rejection(gconstpointer data)
{
    const RejectCase *c = data;
    g_autofree char *name = g_strdup_printf("%s.id", c->name);
    g_autofree char *id_path = make_identity(name, measurement_a, c->tweak_identity);
    g_autofree char *spec = g_strdup_printf("sim:%s", id_path);
    g_autoptr(GError) error = NULL;
    g_autoptr(SnpgPsp) psp = snpg_psp_open(spec, &error);
    g_auto(SnpgVerifyOptions) options = { 0 };
    g_auto(SnpgKeyPayload) payload = { 0 };
    AgentSide agent = { .psp = psp, .vmpl = c->vmpl, .no_certs = c->no_certs, .mangle = c->mangle };
    Outcome out = { 0 };

    g_assert_no_error(error);
    options_for(&options, measurement_a);
    if (c->tweak_options)
        c->tweak_options(&options);
    fill_payload(&payload, "a key that must not leave");
    run_session(&agent, &options, &payload, !c->untrusted, &out);

    g_assert_true(out.verifier.ok);
    g_assert_cmpint(out.verifier.result.verdict, ==, SNPG_SESSION_VERDICT_REJECTED);
    g_assert_false(out.verifier.result.key_sent);
    g_assert_true(snpg_verify_result_has(out.verifier.verdict, c->reason));
    g_assert_true(out.agent_ok);
    g_assert_true(out.agent.refused);
    g_assert_null(out.agent.payload.disk_key);
    g_assert_true(refusal_has(&out.agent.refusal, (guint16)c->reason));
    g_assert_nonnull(strstr(out.agent.refusal.text, snpg_verify_reason_to_string(c->reason)));
    outcome_clear(&out);
}

static void
test_replayed_report(void)
{
    g_autofree char *id_path = make_identity("replay.id", measurement_a, NULL);
    g_autofree char *spec = g_strdup_printf("sim:%s", id_path);
    g_autoptr(GError) error = NULL;
    g_autoptr(SnpgPsp) psp = snpg_psp_open(spec, &error);
    g_auto(SnpgVerifyOptions) options = { 0 };
    g_auto(SnpgKeyPayload) payload = { 0 };
    AgentSide agent = { .psp = psp };
    Outcome first = { 0 }, second = { 0 };

    options_for(&options, measurement_a);
    fill_payload(&payload, "replayed key");
    run_session(&agent, &options, &payload, TRUE, &first);
    g_assert_true(first.verifier.result.key_confirmed);

    /* A genuine, correctly signed report recorded earlier, against a new nonce. */
    agent.replay = first.verifier.result.report;
    run_session(&agent, &options, &payload, TRUE, &second);
    g_assert_cmpint(second.verifier.result.verdict, ==, SNPG_SESSION_VERDICT_REJECTED);
    g_assert_false(second.verifier.result.key_sent);
    g_assert_null(second.agent.payload.disk_key);
    g_assert_true(snpg_verify_result_has(second.verifier.verdict, SNPG_VERIFY_REASON_REPORT_DATA));
    g_assert_true(refusal_has(&second.agent.refusal, SNPG_PROTO_REASON_BINDING));
    outcome_clear(&first);
    outcome_clear(&second);
}

static void
test_report_bound_to_other_key(void)
{
    g_autofree char *id_path = make_identity("bound.id", measurement_a, NULL);
    g_autofree char *spec = g_strdup_printf("sim:%s", id_path);
    g_autoptr(GError) error = NULL;
    g_autoptr(SnpgPsp) psp = snpg_psp_open(spec, &error);
    g_auto(SnpgVerifyOptions) options = { 0 };
    g_auto(SnpgKeyPayload) payload = { 0 };
    AgentSide agent = { .psp = psp, .wrong_binding = TRUE };
    Outcome out = { 0 };

    options_for(&options, measurement_a);
    fill_payload(&payload, "bound key");
    run_session(&agent, &options, &payload, TRUE, &out);
    g_assert_cmpint(out.verifier.result.verdict, ==, SNPG_SESSION_VERDICT_REJECTED);
    g_assert_null(out.agent.payload.disk_key);
    g_assert_true(snpg_verify_result_has(out.verifier.verdict, SNPG_VERIFY_REASON_REPORT_DATA));
    outcome_clear(&out);
}

/* A host that offers no certificates: the VCEK comes from the verifier's
 * certificate cache (what 'snpguard certs import' filled); an empty cache
 * leaves the report without a certificate, and no key leaves. */
static void
test_vcek_from_cache(void)
{
    g_autofree char *id_path = make_identity("cache.id", measurement_a, NULL);
    g_autofree char *spec = g_strdup_printf("sim:%s", id_path);
    g_autofree char *cache = g_build_filename(env.tmp, "cert-cache", NULL);
    g_autofree char *empty = g_build_filename(env.tmp, "empty-cache", NULL);
    g_autofree char *vcek = g_build_filename(env.sim_dir, "vcek.der", NULL);
    g_autofree char *ask = g_build_filename(env.sim_dir, "ask.pem", NULL);
    g_autofree char *ark = g_build_filename(env.sim_dir, "ark.pem", NULL);
    const char *files[] = { ark, ask, vcek, NULL };
    g_autoptr(GError) error = NULL;
    g_autoptr(SnpgPsp) psp = snpg_psp_open(spec, &error);
    g_autoptr(GPtrArray) imported = NULL;
    g_auto(SnpgVerifyOptions) options = { 0 };
    g_auto(SnpgKeyPayload) payload = { 0 };
    AgentSide agent = { .psp = psp, .no_certs = TRUE };

    imported = snpg_certcache_import(cache, files, &error);
    g_assert_no_error(error);
    options_for(&options, measurement_a);
    fill_payload(&payload, "key via the cache");
    for (int with_cache = 1; with_cache >= 0; with_cache--) {
        Outcome out = { 0 };
        out.verifier.cache_dir = with_cache ? cache : empty;
        run_session(&agent, &options, &payload, TRUE, &out);
        if (with_cache) {
            g_assert_true(out.verifier.result.key_confirmed);
            g_assert_true(snpg_secret_equal(out.agent.payload.disk_key, payload.disk_key));
        } else {
            g_assert_cmpint(out.verifier.result.verdict, ==, SNPG_SESSION_VERDICT_REJECTED);
            g_assert_true(snpg_verify_result_has(out.verifier.verdict, SNPG_VERIFY_REASON_CERT_MISSING));
            g_assert_null(out.agent.payload.disk_key);
        }
        outcome_clear(&out);
    }
}

/* --- 100 concurrent sessions against one verifier ------------------------ */

#define N_VMS 100
#define N_WORKERS 4

typedef struct {
    SnpgKeyPayload payloads[N_VMS];
    guint8 measurements[N_VMS][48];
    char *identities[N_VMS];
    SnpgVerifyOptions options;
    char *address;
    gint released;
} Fleet;

/* The key of the VM whose verified measurement this is. */
static const SnpgKeyPayload *
fleet_choose(GBytes *report, gpointer choose_data)
{
    Fleet *fleet = choose_data;
    const guint8 *m = (const guint8 *)g_bytes_get_data(report, NULL) + 0x90;

    for (guint i = 0; i < N_VMS; i++)
        if (memcmp(fleet->measurements[i], m, 48) == 0)
            return &fleet->payloads[i];
    return NULL;
}

static void
fleet_worker(gpointer data, gpointer user_data)
{
    Fleet *fleet = user_data;
    int fd = GPOINTER_TO_INT(data) - 1;
    g_autoptr(SnpgVerifier) verifier = snpg_verifier_new();
    SnpgAttestContext ctx = { .verifier = verifier, .options = &fleet->options };
    g_auto(SnpgVerifierResult) result = { 0 };
    g_autoptr(GError) error = NULL;
    SnpgVerifierConfig cfg = { .verify = snpg_attest_verify, .user_data = &ctx,
                               .choose_payload = fleet_choose, .choose_data = fleet,
                               .read_timeout_us = 120 * G_USEC_PER_SEC };

    snpg_verifier_set_trust_root(verifier, env.trust_root);
    if (snpg_session_run_verifier(fd, &cfg, &result, &error) && result.key_confirmed)
        g_atomic_int_inc(&fleet->released);
    else
        g_test_message("verifier: %s", error ? error->message : "rejected");
    snpg_attest_context_clear(&ctx);
    close(fd);
}

typedef struct {
    Fleet *fleet;
    guint index;
    gboolean got_right_key;
} FleetAgent;

static gpointer
fleet_agent(gpointer data)
{
    FleetAgent *a = data;
    g_autofree char *spec = g_strdup_printf("sim:%s", a->fleet->identities[a->index]);
    g_autoptr(GError) error = NULL;
    g_autoptr(SnpgPsp) psp = snpg_psp_open(spec, &error);
    AgentSide side = { .psp = psp };
    SnpgAgentConfig cfg = { .get_report = agent_report, .user_data = &side,
                            .read_timeout_us = 120 * G_USEC_PER_SEC };
    g_auto(SnpgAgentResult) result = { 0 };
    int fd = psp ? snpg_transport_connect(a->fleet->address, G_MAXINT64, &error) : -1;

    if (fd >= 0 && snpg_session_run_agent(fd, &cfg, &result, &error) && !result.refused)
        a->got_right_key = result.payload.disk_key &&
            snpg_secret_equal(result.payload.disk_key, a->fleet->payloads[a->index].disk_key);
    if (fd >= 0)
        close(fd);
    return NULL;
}

static void
test_concurrent_sessions(void)
{
    Fleet *fleet = g_new0(Fleet, 1);
    FleetAgent agents[N_VMS];
    GThread *threads[N_VMS];
    g_autoptr(GError) error = NULL;
    g_autofree char *sock = g_build_filename(env.tmp, "fleet.sock", NULL);
    GThreadPool *pool;
    int listen_fd;

    fleet->address = g_strdup_printf("unix:%s", sock);
    snpg_verify_options_init(&fleet->options);
    for (guint i = 0; i < N_VMS; i++) {
        g_autofree char *name = g_strdup_printf("vm%u.id", i);
        g_autofree char *key = g_strdup_printf("disk key of VM %03u, 32 bytes!!", i);
        memset(fleet->measurements[i], 0, 48);
        fleet->measurements[i][0] = (guint8)i;
        fleet->measurements[i][47] = 0x5a;
        fleet->identities[i] = make_identity(name, fleet->measurements[i], NULL);
        fill_payload(&fleet->payloads[i], key);
        g_ptr_array_add(fleet->options.measurements, g_bytes_new(fleet->measurements[i], 48));
    }
    listen_fd = snpg_transport_listen(fleet->address, &error);
    g_assert_no_error(error);
    pool = g_thread_pool_new(fleet_worker, fleet, N_WORKERS, FALSE, &error);
    g_assert_no_error(error);

    for (guint i = 0; i < N_VMS; i++) {
        agents[i] = (FleetAgent){ .fleet = fleet, .index = i };
        threads[i] = g_thread_new("agent", fleet_agent, &agents[i]);
    }
    for (guint i = 0; i < N_VMS; i++) {
        int fd = snpg_transport_accept(listen_fd, g_get_monotonic_time() + 120 * G_USEC_PER_SEC,
                                       &error);
        g_assert_no_error(error);
        g_thread_pool_push(pool, GINT_TO_POINTER(fd + 1), NULL);
    }
    for (guint i = 0; i < N_VMS; i++)
        g_thread_join(threads[i]);
    g_thread_pool_free(pool, FALSE, TRUE);
    close(listen_fd);

    for (guint i = 0; i < N_VMS; i++)
        g_assert_true(agents[i].got_right_key);
    g_assert_cmpint(fleet->released, ==, N_VMS);

    for (guint i = 0; i < N_VMS; i++) {
        snpg_key_payload_clear(&fleet->payloads[i]);
        g_free(fleet->identities[i]);
    }
    snpg_verify_options_clear(&fleet->options);
    g_free(fleet->address);
    g_free(fleet);
}

int
main(int argc, char **argv)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *ark = NULL;
    int status;

    g_test_init(&argc, &argv, NULL);
    env.tmp = snpg_test_tmpdir();
    env.sim_dir = snpg_test_data("sim", "milan", NULL);
    ark = g_build_filename(env.sim_dir, "ark.pem", NULL);
    env.trust_root = snpg_cert_load_file(ark, &error);
    g_assert_no_error(error);

    g_test_add_func("/attest/success-delivers-exactly-the-key", test_success_delivers_exactly_the_key);
    for (gsize i = 0; i < G_N_ELEMENTS(reject_cases); i++) {
        g_autofree char *path = g_strdup_printf("/attest/rejected/%s", reject_cases[i].name);
        g_test_add_data_func(path, &reject_cases[i], test_rejection);
    }
    g_test_add_func("/attest/replayed-report", test_replayed_report);
    g_test_add_func("/attest/report-bound-to-other-key", test_report_bound_to_other_key);
    g_test_add_func("/attest/vcek-from-cache", test_vcek_from_cache);
    g_test_add_func("/attest/concurrent-sessions", test_concurrent_sessions);
    status = g_test_run();
    X509_free(env.trust_root);
    g_free(env.sim_dir);
    g_free(env.tmp);
    return status;
}
