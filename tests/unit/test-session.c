/* The verifier and agent state machines over real sockets.
 *
 * Reports here are unsigned stand-ins with the right REPORT_DATA; the
 * end-to-end tests with reports signed by the simulated processor and the
 * real verifier live in test-attest.c. Binding through EVIDENCE's digest
 * makes even a stand-in report's bytes tamper-evident here. */
#include "config.h"

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "session.h"
#include "testutil.h"

#define REPORT_DATA_OFFSET 0x50

typedef struct {
    /* agent side */
    GBytes *replay_report;           /* send this instead of a fresh report */
    gboolean fail_report;
    const char *fail_text;           /* the backend's error text, if set */
    /* verifier side */
    gboolean reject;                 /* the verification callback rejects */
    guint verify_calls;
    GBytes *seen_report;
} Fixture;

static gboolean
fake_report(const guint8 report_data[64], GBytes **ret_report, GBytes **ret_certs,
            gpointer user_data, GError **error)
{
    Fixture *fx = user_data;
    guint8 report[SNPG_PROTO_REPORT_LEN] = { 0x02 };

    if (fx->fail_report) {
        g_set_error_literal(error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
                            fx->fail_text ? fx->fail_text : "no /dev/sev-guest");
        return FALSE;
    }
    if (fx->replay_report) {
        *ret_report = g_bytes_ref(fx->replay_report);
    } else {
        memcpy(report + REPORT_DATA_OFFSET, report_data, 64);
        *ret_report = g_bytes_new(report, sizeof(report));
    }
    *ret_certs = NULL;
    return TRUE;
}

static gboolean
fake_verify(GBytes *report, GBytes *certs, const guint8 expected[64], SnpgRefusal *ret_refusal,
            gpointer user_data, GError **error)
{
    Fixture *fx = user_data;

    fx->verify_calls++;
    g_clear_pointer(&fx->seen_report, g_bytes_unref);
    fx->seen_report = g_bytes_ref(report);
    if (fx->reject) {
        ret_refusal->reasons[0] = 7;
        ret_refusal->reasons[1] = 12;
        ret_refusal->n_reasons = 2;
        ret_refusal->text = g_strdup("measurement: unexpected; debug: DEBUG policy");
        return FALSE;
    }
    return TRUE;
}

typedef struct {
    int fd;
    Fixture *fx;
    const SnpgKeyPayload *payload;
    gint64 timeout;
    gboolean ok;
    GError *error;
    SnpgVerifierResult result;
} VerifierThread;

static gpointer
verifier_thread(gpointer data)
{
    VerifierThread *t = data;
    SnpgVerifierConfig cfg = {
        .verify = fake_verify, .user_data = t->fx, .payload = t->payload,
        .read_timeout_us = t->timeout ? t->timeout : 5 * G_USEC_PER_SEC,
    };

    t->ok = snpg_session_run_verifier(t->fd, &cfg, &t->result, &t->error);
    close(t->fd);
    return NULL;
}

static void
make_pair(int sv[2])
{
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
}

/* Runs one verifier thread against one agent session in this thread. */
static gboolean
run_pair(Fixture *fx, const SnpgKeyPayload *payload, VerifierThread *vt,
         SnpgAgentResult *ar, GError **agent_error)
{
    int sv[2];
    GThread *thread;
    SnpgAgentConfig acfg = {
        .get_report = fake_report, .user_data = fx, .read_timeout_us = 5 * G_USEC_PER_SEC,
    };
    gboolean ok;

    make_pair(sv);
    vt->fd = sv[0];
    vt->fx = fx;
    vt->payload = payload;
    thread = g_thread_new("verifier", verifier_thread, vt);
    ok = snpg_session_run_agent(sv[1], &acfg, ar, agent_error);
    close(sv[1]);
    g_thread_join(thread);
    return ok;
}

static void
fill_payload(SnpgKeyPayload *p)
{
    p->disk_key = snpg_secret_new_from_data("the disk key: 32 bytes long!!!!!", 32);
    p->luks_cipher = g_strdup("aes-xts-plain64");
    p->luks_key_bits = 512;
}

static void
test_success_delivers_key(void)
{
    Fixture fx = { 0 };
    g_auto(SnpgKeyPayload) payload = { 0 };
    VerifierThread vt = { 0 };
    g_auto(SnpgAgentResult) ar = { 0 };
    g_autoptr(GError) error = NULL;

    fill_payload(&payload);
    g_assert_true(run_pair(&fx, &payload, &vt, &ar, &error));
    g_assert_no_error(error);
    g_assert_no_error(vt.error);
    g_assert_true(vt.ok);
    g_assert_cmpint(vt.result.verdict, ==, SNPG_VERDICT_ACCEPTED);
    g_assert_true(vt.result.key_sent);
    g_assert_true(vt.result.key_confirmed);
    g_assert_cmpuint(fx.verify_calls, ==, 1);
    g_assert_false(ar.refused);
    g_assert_nonnull(ar.payload.disk_key);
    g_assert_true(snpg_secret_equal(ar.payload.disk_key, payload.disk_key));
    g_assert_cmpstr(ar.payload.luks_cipher, ==, "aes-xts-plain64");
    g_assert_cmpuint(ar.payload.luks_key_bits, ==, 512);
    snpg_verifier_result_clear(&vt.result);
    g_clear_pointer(&fx.seen_report, g_bytes_unref);
}

static void
test_attestation_only(void)
{
    Fixture fx = { 0 };
    VerifierThread vt = { 0 };
    g_auto(SnpgAgentResult) ar = { 0 };
    g_autoptr(GError) error = NULL;

    g_assert_true(run_pair(&fx, NULL, &vt, &ar, &error));
    g_assert_no_error(error);
    g_assert_true(vt.ok);
    g_assert_cmpint(vt.result.verdict, ==, SNPG_VERDICT_ACCEPTED);
    g_assert_false(vt.result.key_sent);
    g_assert_false(ar.refused);
    g_assert_null(ar.payload.disk_key);
    snpg_verifier_result_clear(&vt.result);
    g_clear_pointer(&fx.seen_report, g_bytes_unref);
}

static void
test_rejection_sends_reasons(void)
{
    Fixture fx = { .reject = TRUE };
    g_auto(SnpgKeyPayload) payload = { 0 };
    VerifierThread vt = { 0 };
    g_auto(SnpgAgentResult) ar = { 0 };
    g_autoptr(GError) error = NULL;

    fill_payload(&payload);
    g_assert_true(run_pair(&fx, &payload, &vt, &ar, &error));
    g_assert_no_error(error);
    g_assert_true(vt.ok);
    g_assert_cmpint(vt.result.verdict, ==, SNPG_VERDICT_REJECTED);
    g_assert_false(vt.result.key_sent);
    g_assert_true(ar.refused);
    g_assert_null(ar.payload.disk_key);
    g_assert_cmpuint(ar.refusal.n_reasons, ==, 2);
    g_assert_cmpuint(ar.refusal.reasons[0], ==, 7);
    g_assert_cmpuint(ar.refusal.reasons[1], ==, 12);
    g_assert_cmpstr(ar.refusal.text, ==, "measurement: unexpected; debug: DEBUG policy");
    snpg_verifier_result_clear(&vt.result);
    g_clear_pointer(&fx.seen_report, g_bytes_unref);
}

static void
test_replayed_report_fails(void)
{
    Fixture fx = { 0 };
    g_auto(SnpgKeyPayload) payload = { 0 };
    VerifierThread vt1 = { 0 }, vt2 = { 0 };
    g_auto(SnpgAgentResult) ar1 = { 0 };
    g_auto(SnpgAgentResult) ar2 = { 0 };
    g_autoptr(GError) error = NULL;

    fill_payload(&payload);
    g_assert_true(run_pair(&fx, &payload, &vt1, &ar1, &error));
    g_assert_cmpint(vt1.result.verdict, ==, SNPG_VERDICT_ACCEPTED);

    /* The report recorded in session 1, replayed against a new nonce. */
    fx.replay_report = g_bytes_ref(fx.seen_report);
    g_assert_true(run_pair(&fx, &payload, &vt2, &ar2, &error));
    g_assert_no_error(error);
    g_assert_cmpint(vt2.result.verdict, ==, SNPG_VERDICT_REJECTED);
    g_assert_false(vt2.result.key_sent);
    g_assert_true(ar2.refused);
    g_assert_null(ar2.payload.disk_key);
    g_assert_cmpuint(ar2.refusal.reasons[0], ==, SNPG_PROTO_REASON_BINDING);
    g_bytes_unref(fx.replay_report);
    snpg_verifier_result_clear(&vt1.result);
    snpg_verifier_result_clear(&vt2.result);
    g_clear_pointer(&fx.seen_report, g_bytes_unref);
}

static void
test_agent_without_report_aborts(void)
{
    Fixture fx = { .fail_report = TRUE };
    g_auto(SnpgKeyPayload) payload = { 0 };
    VerifierThread vt = { 0 };
    g_auto(SnpgAgentResult) ar = { 0 };
    g_autoptr(GError) error = NULL;

    fill_payload(&payload);
    g_assert_false(run_pair(&fx, &payload, &vt, &ar, &error));
    g_assert_nonnull(strstr(error->message, "no /dev/sev-guest"));
    g_assert_false(vt.ok);
    g_assert_error(vt.error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_ABORTED);
    g_assert_nonnull(strstr(vt.error->message, "no /dev/sev-guest"));
    g_assert_false(vt.result.key_sent);
    g_assert_cmpuint(fx.verify_calls, ==, 0);
    g_clear_error(&vt.error);
    snpg_verifier_result_clear(&vt.result);
}

/* ABORT text comes from the peer: valid UTF-8, but a terminal escape in it
 * must not reach the verifier's error message (printed to the operator). */
static void
test_abort_text_escaped(void)
{
    Fixture fx = { .fail_report = TRUE,
                   .fail_text = "boom \x1b]0;owned\x07\x1b[2J\xc2\x9b" "31m \xe2\x80\xae tail" };
    g_auto(SnpgKeyPayload) payload = { 0 };
    VerifierThread vt = { 0 };
    g_auto(SnpgAgentResult) ar = { 0 };
    g_autoptr(GError) error = NULL;

    fill_payload(&payload);
    g_assert_false(run_pair(&fx, &payload, &vt, &ar, &error));
    g_assert_error(vt.error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_ABORTED);
    g_assert_true(g_utf8_validate(vt.error->message, -1, NULL));
    for (const char *p = vt.error->message; *p; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        g_assert_false(g_unichar_iscntrl(c));
        g_assert_false(c >= 0x202a && c <= 0x202e);
    }
    /* Still readable: the text is there, with the controls shown escaped. */
    g_assert_nonnull(strstr(vt.error->message, "boom \\x1b]0;owned\\x07"));
    g_assert_nonnull(strstr(vt.error->message, "tail"));
    g_assert_false(vt.result.key_sent);
    g_clear_error(&vt.error);
    snpg_verifier_result_clear(&vt.result);
}

static void
test_silent_agent_times_out(void)
{
    Fixture fx = { 0 };
    g_auto(SnpgKeyPayload) payload = { 0 };
    VerifierThread vt = { .fx = &fx, .timeout = 200 * 1000 };
    int sv[2];
    GThread *thread;

    fill_payload(&payload);
    make_pair(sv);
    vt.fd = sv[0];
    vt.payload = &payload;
    thread = g_thread_new("verifier", verifier_thread, &vt);
    g_thread_join(thread);
    close(sv[1]);
    g_assert_false(vt.ok);
    g_assert_error(vt.error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_TIMEOUT);
    g_assert_false(vt.result.key_sent);
    g_clear_error(&vt.error);
    snpg_verifier_result_clear(&vt.result);
}

static void
test_silent_verifier_times_out(void)
{
    Fixture fx = { 0 };
    g_auto(SnpgAgentResult) ar = { 0 };
    g_autoptr(GError) error = NULL;
    SnpgAgentConfig acfg = { .get_report = fake_report, .user_data = &fx,
                             .read_timeout_us = 200 * 1000 };
    int sv[2];

    make_pair(sv);
    g_assert_false(snpg_session_run_agent(sv[1], &acfg, &ar, &error));
    g_assert_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_TIMEOUT);
    close(sv[0]);
    close(sv[1]);
}

static void
test_out_of_order(void)
{
    Fixture fx = { 0 };
    g_auto(SnpgKeyPayload) payload = { 0 };
    VerifierThread vt = { .fx = &fx };
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) hello = NULL;
    SnpgMsgType type;
    guint8 junk[32] = { 0 };
    int sv[2];
    GThread *thread;

    fill_payload(&payload);
    make_pair(sv);
    vt.fd = sv[0];
    vt.payload = &payload;
    thread = g_thread_new("verifier", verifier_thread, &vt);
    /* Agent side by hand: read HELLO, answer DONE instead of EVIDENCE. */
    g_assert_true(snpg_proto_read_frame(sv[1], g_get_monotonic_time() + G_USEC_PER_SEC,
                                        &type, &hello, &error));
    g_assert_cmpint(type, ==, SNPG_MSG_HELLO);
    g_assert_true(snpg_proto_write_frame(sv[1], SNPG_MSG_DONE, junk, sizeof(junk),
                                         g_get_monotonic_time() + G_USEC_PER_SEC, &error));
    g_thread_join(thread);
    close(sv[1]);
    g_assert_false(vt.ok);
    g_assert_error(vt.error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_UNEXPECTED);
    g_assert_false(vt.result.key_sent);
    g_clear_error(&vt.error);
    snpg_verifier_result_clear(&vt.result);
}

/* What a hostile verifier (or relay) can send the agent before anything
 * else: each ends the session cleanly, without a key. */
static void
test_agent_rejects_bad_frames(void)
{
    static const guint8 unknown_type[] = { 'S', 'N', 'P', 'G', 1, 9, 0, 0, 0, 0, 0, 0 };
    static const guint8 oversized[] = { 'S', 'N', 'P', 'G', 1, 1, 0, 0, 0xff, 0xff, 0xff, 0x7f };
    static const guint8 truncated[] = { 'S', 'N', 'P', 'G', 1, 1, 0, 0, 34, 0, 0, 0, 1, 2, 3 };
    static const guint8 bad_version[] = { 'S', 'N', 'P', 'G', 2, 1, 0, 0, 34, 0, 0, 0 };
    guint8 key_first[12 + 50] = { 'S', 'N', 'P', 'G', 1, 3, 0, 0, 50, 0, 0, 0, 32, 0 };
    const struct { const guint8 *bytes; gsize len; int code; } cases[] = {
        { unknown_type, sizeof(unknown_type), SNPG_PROTO_ERROR_MALFORMED },
        { oversized, sizeof(oversized), SNPG_PROTO_ERROR_MALFORMED },
        { truncated, sizeof(truncated), SNPG_PROTO_ERROR_CLOSED },
        { bad_version, sizeof(bad_version), SNPG_PROTO_ERROR_MALFORMED },
        { key_first, sizeof(key_first), SNPG_PROTO_ERROR_UNEXPECTED },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        Fixture fx = { 0 };
        g_auto(SnpgAgentResult) ar = { 0 };
        g_autoptr(GError) error = NULL;
        SnpgAgentConfig acfg = { .get_report = fake_report, .user_data = &fx,
                                 .read_timeout_us = G_USEC_PER_SEC };
        int sv[2];

        make_pair(sv);
        g_assert_cmpint(write(sv[0], cases[i].bytes, cases[i].len), ==, (gssize)cases[i].len);
        shutdown(sv[0], SHUT_WR);
        g_assert_false(snpg_session_run_agent(sv[1], &acfg, &ar, &error));
        g_assert_error(error, SNPG_PROTO_ERROR, cases[i].code);
        g_assert_null(ar.payload.disk_key);
        close(sv[0]);
        close(sv[1]);
    }
}

/* The same on the verifier's side, after its HELLO: no key leaves. */
static void
test_verifier_rejects_bad_frames(void)
{
    static const guint8 unknown_type[] = { 'S', 'N', 'P', 'G', 1, 0, 0, 0, 0, 0, 0, 0 };
    static const guint8 oversized[] = { 'S', 'N', 'P', 'G', 1, 2, 0, 0, 0x01, 0x80, 0, 0 };
    static const guint8 truncated[] = { 'S', 'N', 'P', 'G', 1, 2, 0, 0, 0xcc, 0x04, 0, 0, 2, 0 };
    const struct { const guint8 *bytes; gsize len; int code; } cases[] = {
        { unknown_type, sizeof(unknown_type), SNPG_PROTO_ERROR_MALFORMED },
        { oversized, sizeof(oversized), SNPG_PROTO_ERROR_MALFORMED },
        { truncated, sizeof(truncated), SNPG_PROTO_ERROR_CLOSED },
    };
    g_auto(SnpgKeyPayload) payload = { 0 };

    fill_payload(&payload);
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        Fixture fx = { 0 };
        VerifierThread vt = { .fx = &fx, .payload = &payload, .timeout = G_USEC_PER_SEC };
        int sv[2];
        GThread *thread;

        make_pair(sv);
        vt.fd = sv[0];
        g_assert_cmpint(write(sv[1], cases[i].bytes, cases[i].len), ==, (gssize)cases[i].len);
        shutdown(sv[1], SHUT_WR);
        thread = g_thread_new("verifier", verifier_thread, &vt);
        g_thread_join(thread);
        close(sv[1]);
        g_assert_false(vt.ok);
        g_assert_error(vt.error, SNPG_PROTO_ERROR, cases[i].code);
        g_assert_false(vt.result.key_sent);
        g_assert_cmpuint(fx.verify_calls, ==, 0);
        g_clear_error(&vt.error);
        snpg_verifier_result_clear(&vt.result);
    }
}

/* A relay that flips one byte at a chosen position of the stream in one
 * direction. Whatever it changes, no key reaches the agent: HELLO is bound
 * into REPORT_DATA, EVIDENCE into the keys, KEY is authenticated. */
typedef struct {
    int from, to;
    gssize flip_at;        /* byte offset in this direction, -1: none */
    gsize seen;            /* bytes relayed */
} RelayDir;

static gpointer
relay_thread(gpointer data)
{
    RelayDir *d = data;
    guint8 buf[4096];
    ssize_t n;

    while ((n = read(d->from, buf, sizeof(buf))) > 0) {
        if (d->flip_at >= 0 && (gsize)d->flip_at >= d->seen && (gsize)d->flip_at < d->seen + (gsize)n)
            buf[d->flip_at - d->seen] ^= 0x01;
        d->seen += (gsize)n;
        if (write(d->to, buf, (gsize)n) != n)
            break;
    }
    shutdown(d->to, SHUT_WR);
    return NULL;
}

/* Runs one session through a relay that flips one byte; returns FALSE when
 * the flip lies past the end of the traffic in that direction. */
static gboolean
relay_once(const SnpgKeyPayload *payload, guint dir, gssize offset, gsize *ret_traffic)
{
    Fixture fx = { 0 };
    VerifierThread vt = { .fx = &fx, .payload = payload, .timeout = 500 * 1000 };
    g_auto(SnpgAgentResult) ar = { 0 };
    g_autoptr(GError) error = NULL;
    SnpgAgentConfig acfg = { .get_report = fake_report, .user_data = &fx,
                             .read_timeout_us = 500 * 1000 };
    int vs[2], as[2];
    RelayDir to_agent, to_verifier;
    GThread *threads[3];
    gboolean ok;

    make_pair(vs);
    make_pair(as);
    to_agent = (RelayDir){ vs[1], as[0], dir == 0 ? offset : -1, 0 };
    to_verifier = (RelayDir){ as[0], vs[1], dir == 1 ? offset : -1, 0 };
    vt.fd = vs[0];
    threads[0] = g_thread_new("verifier", verifier_thread, &vt);
    threads[1] = g_thread_new("relay-a", relay_thread, &to_agent);
    threads[2] = g_thread_new("relay-v", relay_thread, &to_verifier);
    ok = snpg_session_run_agent(as[1], &acfg, &ar, &error);
    close(as[1]);
    g_thread_join(threads[0]);
    shutdown(vs[1], SHUT_RDWR);
    shutdown(as[0], SHUT_RDWR);
    g_thread_join(threads[1]);
    g_thread_join(threads[2]);
    close(vs[1]);
    close(as[0]);
    *ret_traffic = dir == 0 ? to_agent.seen : to_verifier.seen;

    if (offset >= 0 && (gsize)offset >= *ret_traffic) {
        /* Nothing was changed: this must be the genuine session. */
        g_assert_true(ok && vt.ok && vt.result.key_confirmed);
        g_assert_nonnull(ar.payload.disk_key);
    } else {
        /* Changed on the way: no key, whatever the byte. DONE is the last
         * message: when it is hit the agent already holds the key, which
         * was sealed to it, and the verifier records the release as failed. */
        gboolean hit_done = dir == 1 && (gsize)offset >= *ret_traffic - (SNPG_PROTO_HEADER_LEN + 32);
        if (!hit_done)
            g_assert_null(ar.payload.disk_key);
        g_assert_false(vt.ok && vt.result.key_confirmed);
        if (ok && !hit_done)
            g_assert_true(ar.refused);
        /* A verdict either rejects, or accepts with a key the agent says it
         * could not open (ABORT after KEY): released, never confirmed. */
        if (vt.ok && vt.result.verdict == SNPG_VERDICT_ACCEPTED) {
            g_assert_cmpuint(vt.result.delivery_refusal.n_reasons, >=, 1);
            g_assert_false(vt.result.key_confirmed);
        } else if (vt.ok) {
            g_assert_cmpint(vt.result.verdict, ==, SNPG_VERDICT_REJECTED);
        }
    }
    g_clear_error(&vt.error);
    snpg_verifier_result_clear(&vt.result);
    g_clear_pointer(&fx.seen_report, g_bytes_unref);
    return offset < 0 || (gsize)offset < *ret_traffic;
}

static void
test_relay_tampering(void)
{
    g_auto(SnpgKeyPayload) payload = { 0 };
    gsize traffic = 0;
    guint runs = 0;

    fill_payload(&payload);
    /* Every byte of every message, in both directions. */
    for (guint dir = 0; dir < 2; dir++) {
        for (gssize off = 0; relay_once(&payload, dir, off, &traffic); off++)
            runs++;
        g_test_message("direction %u: %zu bytes, each changed once", dir, traffic);
    }
    g_assert_cmpuint(runs, >, 1400);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/session/success-delivers-key", test_success_delivers_key);
    g_test_add_func("/session/attestation-only", test_attestation_only);
    g_test_add_func("/session/rejection-sends-reasons", test_rejection_sends_reasons);
    g_test_add_func("/session/replayed-report-fails", test_replayed_report_fails);
    g_test_add_func("/session/agent-without-report-aborts", test_agent_without_report_aborts);
    g_test_add_func("/session/abort-text-escaped", test_abort_text_escaped);
    g_test_add_func("/session/silent-agent-times-out", test_silent_agent_times_out);
    g_test_add_func("/session/silent-verifier-times-out", test_silent_verifier_times_out);
    g_test_add_func("/session/out-of-order", test_out_of_order);
    g_test_add_func("/session/agent-rejects-bad-frames", test_agent_rejects_bad_frames);
    g_test_add_func("/session/verifier-rejects-bad-frames", test_verifier_rejects_bad_frames);
    g_test_add_func("/session/relay-tampering", test_relay_tampering);
    return g_test_run();
}
