/* Benchmark of the host side of attestation, against floors measured in the
 * same run:
 *   cpu:        the verifier's CPU time per successful attestation (simulated
 *               reports, chain cached in a long-lived verifier), vs one ECDSA
 *               P-384 verification + one ECDH + one HKDF + one AES-GCM seal
 *               (libcrypto in a loop); target <= 1.3x.
 *   throughput: whole sessions per second (agents included) with two
 *               verifier workers vs one; target >= 1.6x.
 * Usage: bench-attest SIM_DIR [SECONDS]. Exits 1 when a target is missed. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "amd-certs.h"
#include "attest.h"
#include "autocleanups.h"
#include "psp.h"
#include "sim-identity.h"

static double seconds = 2.0;
static X509 *trust_root;
static EVP_PKEY *identity;                 /* when set, the verifier signs every KEY */
static EVP_PKEY *identity_key;
static guint8 pin[SNPG_PROTO_PIN_LEN];     /* and the agents pin it */
static char *identity_path;
static const guint8 measurement[48] = { 0x5e, [47] = 0xe5 };

G_DEFINE_AUTOPTR_CLEANUP_FUNC(EVP_KDF, EVP_KDF_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(EVP_KDF_CTX, EVP_KDF_CTX_free)

static double
thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- the floor ------------------------------------------------------------ */

typedef struct {
    EVP_PKEY *sign_key, *ecdh_own, *ecdh_peer;
    guint8 tbs[0x2a0];
    guint8 sig[256];
    size_t sig_len;
} Floor;

static void
floor_once(Floor *f)
{
    g_autoptr(EVP_MD_CTX) md = EVP_MD_CTX_new();
    g_autoptr(EVP_PKEY_CTX) dctx = EVP_PKEY_CTX_new_from_pkey(NULL, f->ecdh_own, NULL);
    g_autoptr(EVP_KDF) kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    g_autoptr(EVP_KDF_CTX) kctx = EVP_KDF_CTX_new(kdf);
    g_autoptr(EVP_CIPHER_CTX) cctx = EVP_CIPHER_CTX_new();
    guint8 z[64], okm[76], ct[64], tag[16];
    size_t z_len = sizeof(z);
    int n;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA384", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, z, 32),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, f->tbs, 32),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, f->tbs, 64),
        OSSL_PARAM_construct_end(),
    };

    g_assert(EVP_DigestVerifyInit(md, NULL, EVP_sha384(), NULL, f->sign_key) == 1);
    g_assert(EVP_DigestVerify(md, f->sig, f->sig_len, f->tbs, sizeof(f->tbs)) == 1);
    g_assert(EVP_PKEY_derive_init(dctx) == 1 && EVP_PKEY_derive_set_peer(dctx, f->ecdh_peer) == 1 &&
             EVP_PKEY_derive(dctx, z, &z_len) == 1);
    g_assert(EVP_KDF_derive(kctx, okm, sizeof(okm), params) == 1);
    g_assert(EVP_EncryptInit_ex(cctx, EVP_aes_256_gcm(), NULL, okm, okm + 32) == 1 &&
             EVP_EncryptUpdate(cctx, NULL, &n, f->tbs, 64) == 1 &&
             EVP_EncryptUpdate(cctx, ct, &n, f->tbs, 48) == 1 &&
             EVP_EncryptFinal_ex(cctx, ct + n, &n) == 1 &&
             EVP_CIPHER_CTX_ctrl(cctx, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1);
}

static double
floor_cpu_per_op(void)
{
    Floor f = { 0 };
    g_autoptr(EVP_MD_CTX) md = EVP_MD_CTX_new();
    double start;
    guint64 n = 0;

    f.sign_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    /* The same key agreement as the sessions measured (X25519, the default). */
    f.ecdh_own = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    f.ecdh_peer = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    memset(f.tbs, 0x5a, sizeof(f.tbs));
    f.sig_len = sizeof(f.sig);
    g_assert(EVP_DigestSignInit(md, NULL, EVP_sha384(), NULL, f.sign_key) == 1 &&
             EVP_DigestSign(md, f.sig, &f.sig_len, f.tbs, sizeof(f.tbs)) == 1);
    start = thread_cpu();
    do {
        floor_once(&f);
        n++;
    } while (thread_cpu() - start < seconds);
    EVP_PKEY_free(f.sign_key);
    EVP_PKEY_free(f.ecdh_own);
    EVP_PKEY_free(f.ecdh_peer);
    return (thread_cpu() - start) / (double)n;
}

/* --- sessions --------------------------------------------------------------- */

static gboolean
agent_report(const guint8 report_data[64], GBytes **ret_report, GBytes **ret_certs,
             gpointer user_data, GError **error)
{
    return snpg_psp_get_report(user_data, report_data, 0, ret_report, ret_certs, error);
}

typedef struct {
    int fd;
} AgentJob;

static gpointer
agent_main(gpointer data)
{
    int fd = GPOINTER_TO_INT(data);
    g_autofree char *spec = g_strdup_printf("sim:%s", identity_path);
    g_autoptr(SnpgPsp) psp = snpg_psp_open(spec, NULL);
    g_auto(SnpgAgentResult) result = { 0 };
    SnpgAgentConfig cfg = { .get_report = agent_report, .user_data = psp,
                            .verifier_pin = identity ? pin : NULL };

    g_assert(snpg_session_run_agent(fd, &cfg, &result, NULL) && !result.refused);
    close(fd);
    return NULL;
}

typedef struct {
    SnpgVerifier *verifier;        /* long-lived: the chain stays cached */
    SnpgVerifyOptions options;
    SnpgKeyPayload payload;
    double cpu;                    /* verifier CPU spent in sessions */
    guint sessions;
    gint64 deadline;
} Worker;

static void
worker_init(Worker *w)
{
    memset(w, 0, sizeof(*w));
    w->verifier = snpg_verifier_new();
    snpg_verifier_set_trust_root(w->verifier, trust_root);
    snpg_verify_options_init(&w->options);
    g_ptr_array_add(w->options.measurements, g_bytes_new(measurement, 48));
    w->payload.disk_key = snpg_secret_new_from_data("0123456789abcdef0123456789abcdef", 32);
}

static void
worker_clear(Worker *w)
{
    snpg_verifier_free(w->verifier);
    snpg_verify_options_clear(&w->options);
    snpg_key_payload_clear(&w->payload);
}

/* One session: the agent in its own thread, the verifier here. */
static void
one_session(Worker *w)
{
    SnpgAttestContext ctx = { .verifier = w->verifier, .options = &w->options };
    SnpgVerifierConfig cfg = { .verify = snpg_attest_verify, .user_data = &ctx,
                               .payload = &w->payload, .identity = identity };
    g_auto(SnpgVerifierResult) result = { 0 };
    GThread *agent;
    double start;
    int sv[2];

    g_assert(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    agent = g_thread_new("agent", agent_main, GINT_TO_POINTER(sv[1]));
    start = thread_cpu();
    g_assert(snpg_session_run_verifier(sv[0], &cfg, &result, NULL) && result.key_confirmed);
    w->cpu += thread_cpu() - start;
    w->sessions++;
    snpg_attest_context_clear(&ctx);
    close(sv[0]);
    g_thread_join(agent);
}

static gpointer
worker_main(gpointer data)
{
    Worker *w = data;

    while (g_get_monotonic_time() < w->deadline)
        one_session(w);
    return NULL;
}

static double
throughput(guint n_workers)
{
    Worker workers[2];
    GThread *threads[2];
    gint64 start = g_get_monotonic_time();
    guint total = 0;

    for (guint i = 0; i < n_workers; i++) {
        worker_init(&workers[i]);
        workers[i].deadline = start + (gint64)(seconds * G_USEC_PER_SEC);
        threads[i] = g_thread_new("worker", worker_main, &workers[i]);
    }
    for (guint i = 0; i < n_workers; i++) {
        g_thread_join(threads[i]);
        total += workers[i].sessions;
        worker_clear(&workers[i]);
    }
    return total / ((double)(g_get_monotonic_time() - start) / G_USEC_PER_SEC);
}

int
main(int argc, char **argv)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *ark = NULL;
    g_autofree char *tmp = NULL;
    SnpgSimIdentityParams params;
    Worker w;
    double floor_cpu, ours = 0, ours_signed = 0, one, two, cpu_ratio, scale;
    gboolean ok;

    if (argc < 2) {
        fprintf(stderr, "usage: bench-attest SIM_DIR [SECONDS]\n");
        return 2;
    }
    if (argc > 2)
        seconds = g_ascii_strtod(argv[2], NULL);
    ark = g_build_filename(argv[1], "ark.pem", NULL);
    if (!(trust_root = snpg_cert_load_file(ark, &error))) {
        fprintf(stderr, "bench-attest: %s\n", error->message);
        return 1;
    }
    identity_key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    g_assert(snpg_proto_identity_pin(identity_key, pin, NULL));
    tmp = g_dir_make_tmp("snpguard-bench-XXXXXX", NULL);
    identity_path = g_build_filename(tmp, "identity", NULL);
    snpg_sim_identity_params_init(&params);
    memcpy(params.measurement, measurement, 48);
    if (!snpg_sim_identity_write(argv[1], &params, identity_path, &error)) {
        fprintf(stderr, "bench-attest: %s\n", error->message);
        return 1;
    }

    floor_cpu = floor_cpu_per_op();
    /* The protocol of the issue (unsigned KEY), then with the verifier's
     * identity signing every KEY (snpguard's default when --verifier-key is
     * given): one Ed25519 signature more, which the floor does not include. */
    for (int signed_key = 0; signed_key < 2; signed_key++) {
        identity = signed_key ? identity_key : NULL;
        worker_init(&w);
        one_session(&w);             /* the first verifies the chain: not counted */
        w.cpu = 0;
        w.sessions = 0;
        w.deadline = g_get_monotonic_time() + (gint64)(seconds * G_USEC_PER_SEC);
        worker_main(&w);
        if (signed_key)
            ours_signed = w.cpu / w.sessions;
        else
            ours = w.cpu / w.sessions;
        worker_clear(&w);
    }
    cpu_ratio = ours / floor_cpu;
    identity = identity_key;

    one = throughput(1);
    two = throughput(2);
    scale = two / one;

    printf("attestation, host CPU per success: %.0f us; floor (ECDSA P-384 verify + X25519 ECDH + "
           "HKDF + AES-GCM seal): %.0f us; ratio %.2fx (target <= 1.3x) %s\n",
           ours * 1e6, floor_cpu * 1e6, cpu_ratio, cpu_ratio <= 1.3 ? "ok" : "MISSED");
    printf("  with the KEY signed by the verifier's Ed25519 identity (not in the floor): %.0f us, "
           "ratio %.2fx\n", ours_signed * 1e6, ours_signed / floor_cpu);
    printf("throughput, whole sessions (signed KEY, agents included): 1 worker %.0f/s, 2 workers %.0f/s; "
           "ratio %.2fx (target >= 1.6x) %s\n", one, two, scale, scale >= 1.6 ? "ok" : "MISSED");
    ok = cpu_ratio <= 1.3 && scale >= 1.6;
    g_unlink(identity_path);
    g_rmdir(tmp);
    g_free(identity_path);
    X509_free(trust_root);
    EVP_PKEY_free(identity_key);
    return ok ? 0 : 1;
}
