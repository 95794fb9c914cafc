/* The verifier and agent state machines over real sockets.
 *
 * Reports here are unsigned stand-ins with the right REPORT_DATA; the
 * end-to-end tests with reports signed by the simulated processor and the
 * real verifier live in test-attest.c. Binding through EVIDENCE's digest
 * makes even a stand-in report's bytes tamper-evident here. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "autocleanups.h"
#include "buf.h"
#include "session.h"
#include "testutil.h"

#define REPORT_DATA_OFFSET 0x50

typedef struct {
    /* agent side */
    GBytes *replay_report;           /* send this instead of a fresh report */
    gboolean fail_report;
    const char *fail_text;           /* the backend's error text, if set */
    gboolean deliver;                /* use a delivery callback */
    guint16 delivery_reason;         /* it fails with this reason (0: succeeds;
                                      * G_MAXUINT16: fails without a reason) */
    GString *delivered;              /* what it received */
    const guint8 *agent_pin;         /* the agent accepts keys from this verifier only */
    /* verifier side */
    EVP_PKEY *identity;              /* the verifier signs KEY with it */
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

static gboolean
fake_deliver(const SnpgKeyPayload *payload, SnpgRefusal *ret_refusal, gpointer user_data)
{
    Fixture *fx = user_data;

    if (fx->delivery_reason == G_MAXUINT16)
        return FALSE;
    if (fx->delivery_reason) {
        ret_refusal->reasons[0] = fx->delivery_reason;
        ret_refusal->n_reasons = 1;
        ret_refusal->text = g_strdup("the key file exists");
        return FALSE;
    }
    if (!fx->delivered)
        fx->delivered = g_string_new(NULL);
    g_string_append_len(fx->delivered, (const char *)snpg_secret_data(payload->disk_key),
                        (gssize)snpg_secret_len(payload->disk_key));
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
        .identity = t->fx->identity,
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
        .deliver = fx->deliver ? fake_deliver : NULL, .deliver_data = fx,
        .verifier_pin = fx->agent_pin,
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
    g_assert_cmpint(vt.result.verdict, ==, SNPG_SESSION_VERDICT_ACCEPTED);
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

/* DONE, the verifier's "confirmed", comes only after the key was handed
 * on; the agent keeps no copy. */
static void
test_done_after_delivery(void)
{
    Fixture fx = { .deliver = TRUE };
    g_auto(SnpgKeyPayload) payload = { 0 };
    VerifierThread vt = { 0 };
    g_auto(SnpgAgentResult) ar = { 0 };
    g_autoptr(GError) error = NULL;

    fill_payload(&payload);
    g_assert_true(run_pair(&fx, &payload, &vt, &ar, &error));
    g_assert_no_error(error);
    g_assert_true(vt.ok);
    g_assert_true(vt.result.key_confirmed);
    g_assert_cmpuint(vt.result.delivery_refusal.n_reasons, ==, 0);
    g_assert_true(ar.delivered);
    g_assert_null(ar.payload.disk_key);
    g_assert_cmpmem(fx.delivered->str, fx.delivered->len, snpg_secret_data(payload.disk_key),
                    snpg_secret_len(payload.disk_key));
    g_string_free(fx.delivered, TRUE);
    snpg_verifier_result_clear(&vt.result);
    g_clear_pointer(&fx.seen_report, g_bytes_unref);
}

/* A delivery that fails is an ABORT with its reason (1104 when the callback
 * gives none): released, not confirmed; the key is wiped. */
static void
test_failed_delivery_aborts(void)
{
    const guint16 reasons[] = { SNPG_PROTO_REASON_LUKS_UNCHECKED, G_MAXUINT16 };

    for (gsize i = 0; i < G_N_ELEMENTS(reasons); i++) {
        Fixture fx = { .deliver = TRUE, .delivery_reason = reasons[i] };
        g_auto(SnpgKeyPayload) payload = { 0 };
        VerifierThread vt = { 0 };
        g_auto(SnpgAgentResult) ar = { 0 };
        g_autoptr(GError) error = NULL;

        fill_payload(&payload);
        g_assert_false(run_pair(&fx, &payload, &vt, &ar, &error));
        g_assert_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_ABORTED);
        g_assert_true(ar.delivery_failed);
        g_assert_false(ar.delivered);
        g_assert_null(ar.payload.disk_key);
        /* For the verifier an ABORT after KEY is a verdict: accepted,
         * released, not confirmed, with the agent's reasons. */
        g_assert_true(vt.ok);
        g_assert_no_error(vt.error);
        g_assert_cmpint(vt.result.verdict, ==, SNPG_SESSION_VERDICT_ACCEPTED);
        g_assert_true(vt.result.key_sent);
        g_assert_false(vt.result.key_confirmed);
        g_assert_cmpuint(vt.result.delivery_refusal.n_reasons, ==, 1);
        if (reasons[i] == G_MAXUINT16) {
            g_assert_cmpuint(vt.result.delivery_refusal.reasons[0], ==, SNPG_PROTO_REASON_DELIVERY);
        } else {
            g_assert_cmpuint(vt.result.delivery_refusal.reasons[0], ==, reasons[i]);
            g_assert_cmpstr(vt.result.delivery_refusal.text, ==, "the key file exists");
        }
        g_assert_null(fx.delivered);
        g_clear_error(&vt.error);
        snpg_verifier_result_clear(&vt.result);
        g_clear_pointer(&fx.seen_report, g_bytes_unref);
    }
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
    g_assert_cmpint(vt.result.verdict, ==, SNPG_SESSION_VERDICT_ACCEPTED);
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
    g_assert_cmpint(vt.result.verdict, ==, SNPG_SESSION_VERDICT_REJECTED);
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
    g_assert_cmpint(vt1.result.verdict, ==, SNPG_SESSION_VERDICT_ACCEPTED);

    /* The report recorded in session 1, replayed against a new nonce. */
    fx.replay_report = g_bytes_ref(fx.seen_report);
    g_assert_true(run_pair(&fx, &payload, &vt2, &ar2, &error));
    g_assert_no_error(error);
    g_assert_cmpint(vt2.result.verdict, ==, SNPG_SESSION_VERDICT_REJECTED);
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
        if (vt.ok && vt.result.verdict == SNPG_SESSION_VERDICT_ACCEPTED) {
            g_assert_cmpuint(vt.result.delivery_refusal.n_reasons, >=, 1);
            g_assert_false(vt.result.key_confirmed);
        } else if (vt.ok) {
            g_assert_cmpint(vt.result.verdict, ==, SNPG_SESSION_VERDICT_REJECTED);
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

/* --- the step machine, driven directly -------------------------------- */

/* Splits a byte stream into frame types (the stream is our own output). */
static GArray *
frame_types(const guint8 *data, gsize len)
{
    GArray *types = g_array_new(FALSE, FALSE, sizeof(SnpgMsgType));

    while (len >= SNPG_PROTO_HEADER_LEN) {
        SnpgMsgType type;
        guint32 plen;

        g_assert_true(snpg_proto_parse_header(data, SNPG_PROTO_HEADER_LEN, &type, &plen, NULL));
        g_assert_cmpuint(len, >=, SNPG_PROTO_HEADER_LEN + plen);
        g_array_append_val(types, type);
        data += SNPG_PROTO_HEADER_LEN + plen;
        len -= SNPG_PROTO_HEADER_LEN + plen;
    }
    g_assert_cmpuint(len, ==, 0);
    return types;
}

/* An honest agent's EVIDENCE frame for the HELLO frame at the start of
 * hello_frame (a stand-in report with the right REPORT_DATA). */
static GBytes *
evidence_frame_for(const guint8 *hello_frame)
{
    g_autoptr(GBytes) hello_payload = g_bytes_new(hello_frame + SNPG_PROTO_HEADER_LEN,
                                                  SNPG_PROTO_NONCE_LEN + 2);
    g_autoptr(EVP_PKEY) key = snpg_kex_generate(SNPG_KEX_X25519, NULL);
    g_auto(SnpgEvidence) ev = { .kex = SNPG_KEX_X25519 };
    g_autoptr(GBytes) evidence = NULL;
    guint8 report[SNPG_PROTO_REPORT_LEN] = { 0x02 };
    SnpgHello hello;

    g_assert_true(snpg_hello_decode(hello_payload, &hello, NULL));
    ev.pub = snpg_kex_export_pub(key, SNPG_KEX_X25519, NULL);
    snpg_proto_report_data(&hello, SNPG_KEX_X25519, ev.pub, report + REPORT_DATA_OFFSET);
    ev.report = g_bytes_new(report, sizeof(report));
    ev.certs = g_bytes_new(NULL, 0);
    evidence = snpg_evidence_encode(&ev);
    return snpg_proto_frame(SNPG_MSG_EVIDENCE, g_bytes_get_data(evidence, NULL),
                            g_bytes_get_size(evidence));
}

/* A verifier session brought to WAIT_DONE: KEY is in out. */
static SnpgVerifierSession *
session_past_key(Fixture *fx, const SnpgKeyPayload *payload, GByteArray *out)
{
    SnpgVerifierConfig cfg = { .verify = fake_verify, .user_data = fx, .payload = payload };
    g_autoptr(GError) error = NULL;
    SnpgVerifierSession *s = snpg_verifier_session_new(&cfg, &error);
    g_autoptr(GBytes) evidence = NULL;
    g_autoptr(GArray) types = NULL;
    guint hello_len;

    g_assert_no_error(error);
    snpg_verifier_session_start(s, out);
    hello_len = out->len;
    g_assert_cmpuint(hello_len, ==, SNPG_PROTO_HEADER_LEN + SNPG_PROTO_NONCE_LEN + 2);
    evidence = evidence_frame_for(out->data);
    g_assert_cmpint(snpg_verifier_session_feed(s, g_bytes_get_data(evidence, NULL),
                                               g_bytes_get_size(evidence), out, &error),
                    ==, SNPG_SESSION_NEED_MORE);
    g_assert_no_error(error);
    types = frame_types(out->data, out->len);
    g_assert_cmpuint(types->len, ==, 2);
    g_assert_cmpint(g_array_index(types, SnpgMsgType, 1), ==, SNPG_MSG_KEY);
    g_assert_true(snpg_verifier_session_result(s)->key_sent);
    return s;
}

/* After KEY, an ABORT is the agent saying the key did not reach its
 * destination: a verdict (accepted), the release not confirmed, the agent's
 * reasons kept with their text escaped. */
static void
test_abort_after_key(void)
{
    Fixture fx = { 0 };
    g_auto(SnpgKeyPayload) payload = { 0 };
    g_autoptr(GByteArray) out = g_byte_array_new();
    g_autoptr(SnpgVerifierSession) s = NULL;
    g_auto(SnpgRefusal) abort_msg = { .reasons = { 1104, 7 }, .n_reasons = 2 };
    g_autoptr(GBytes) abort_payload = NULL;
    g_autoptr(GBytes) frame = NULL;
    g_autoptr(GError) error = NULL;
    g_auto(SnpgVerifierResult) result = { 0 };
    guint before;

    fill_payload(&payload);
    s = session_past_key(&fx, &payload, out);
    before = out->len;
    abort_msg.text = g_strdup("cannot write /run/key: File exists \x1b[2J\xe2\x80\xae");
    abort_payload = snpg_refusal_encode(&abort_msg);
    frame = snpg_proto_frame(SNPG_MSG_ABORT, g_bytes_get_data(abort_payload, NULL),
                             g_bytes_get_size(abort_payload));
    g_assert_cmpint(snpg_verifier_session_feed(s, g_bytes_get_data(frame, NULL),
                                               g_bytes_get_size(frame), out, &error),
                    ==, SNPG_SESSION_DONE);
    g_assert_no_error(error);
    g_assert_cmpuint(out->len, ==, before);        /* nothing more to send */
    g_assert_cmpint(snpg_verifier_session_get_deadline(s), ==, G_MAXINT64);
    snpg_verifier_session_steal_result(s, &result);
    g_assert_cmpint(result.verdict, ==, SNPG_SESSION_VERDICT_ACCEPTED);
    g_assert_true(result.key_sent);
    g_assert_false(result.key_confirmed);
    g_assert_cmpuint(result.refusal.n_reasons, ==, 0);
    g_assert_cmpuint(result.delivery_refusal.n_reasons, ==, 2);
    g_assert_cmpuint(result.delivery_refusal.reasons[0], ==, 1104);
    g_assert_cmpuint(result.delivery_refusal.reasons[1], ==, 7);
    g_assert_cmpstr(result.delivery_refusal.text, ==,
                    "cannot write /run/key: File exists \\x1b[2J\\u202e");
    /* Later bytes change nothing. */
    g_assert_cmpint(snpg_verifier_session_feed(s, (const guint8 *)"junk", 4, out, &error),
                    ==, SNPG_SESSION_DONE);
    g_assert_cmpint(snpg_verifier_session_eof(s, &error), ==, SNPG_SESSION_DONE);
    g_assert_no_error(error);
    snpg_verifier_result_clear(&result);
    g_assert_cmpuint(result.delivery_refusal.n_reasons, ==, 0);
    g_assert_null(result.delivery_refusal.text);
    g_clear_pointer(&fx.seen_report, g_bytes_unref);
}

/* The same through the blocking verifier and the real agent: an agent that
 * pins another verifier answers KEY with ABORT 1102. */
static void
test_abort_after_key_blocking(void)
{
    Fixture fx = { 0 };
    g_auto(SnpgKeyPayload) payload = { 0 };
    g_autoptr(EVP_PKEY) identity = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    guint8 other_pin[SNPG_PROTO_PIN_LEN];
    VerifierThread vt = { 0 };
    g_auto(SnpgAgentResult) ar = { 0 };
    g_autoptr(GError) error = NULL;

    memset(other_pin, 0x55, sizeof(other_pin));
    fx.identity = identity;
    fx.agent_pin = other_pin;
    fill_payload(&payload);
    g_assert_false(run_pair(&fx, &payload, &vt, &ar, &error));
    g_assert_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_UNAUTHENTICATED);
    g_assert_null(ar.payload.disk_key);
    g_assert_no_error(vt.error);
    g_assert_true(vt.ok);
    g_assert_cmpint(vt.result.verdict, ==, SNPG_SESSION_VERDICT_ACCEPTED);
    g_assert_true(vt.result.key_sent);
    g_assert_false(vt.result.key_confirmed);
    g_assert_cmpuint(vt.result.delivery_refusal.n_reasons, ==, 1);
    g_assert_cmpuint(vt.result.delivery_refusal.reasons[0], ==, SNPG_PROTO_REASON_UNPINNED);
    g_assert_nonnull(vt.result.delivery_refusal.text);
    snpg_verifier_result_clear(&vt.result);
    g_clear_pointer(&fx.seen_report, g_bytes_unref);
}

/* No DONE after KEY (the agent hangs up, or says nothing): an error, and
 * the result says the key left. */
static void
test_missing_done(void)
{
    g_auto(SnpgKeyPayload) payload = { 0 };

    fill_payload(&payload);
    for (guint timeout = 0; timeout < 2; timeout++) {
        Fixture fx = { 0 };
        g_autoptr(GByteArray) out = g_byte_array_new();
        g_autoptr(SnpgVerifierSession) s = session_past_key(&fx, &payload, out);
        g_autoptr(GError) error = NULL;
        gint64 deadline = snpg_verifier_session_get_deadline(s);
        const SnpgVerifierResult *result;

        g_assert_cmpint(deadline, >, g_get_monotonic_time());
        g_assert_cmpint(deadline, <, G_MAXINT64);
        if (timeout) {
            g_assert_cmpint(snpg_verifier_session_check_deadline(s, deadline - 1, &error),
                            ==, SNPG_SESSION_NEED_MORE);
            g_assert_no_error(error);
            g_assert_cmpint(snpg_verifier_session_check_deadline(s, deadline, &error),
                            ==, SNPG_SESSION_FAILED);
            g_assert_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_TIMEOUT);
        } else {
            /* Half a DONE, then the close. */
            g_assert_cmpint(snpg_verifier_session_feed(s, (const guint8 *)"SNPG\1\6", 6, out, &error),
                            ==, SNPG_SESSION_NEED_MORE);
            g_assert_cmpint(snpg_verifier_session_eof(s, &error), ==, SNPG_SESSION_FAILED);
            g_assert_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_CLOSED);
        }
        g_clear_error(&error);
        /* Failed for good: each later call says so again. */
        g_assert_cmpint(snpg_verifier_session_feed(s, (const guint8 *)"x", 1, out, &error),
                        ==, SNPG_SESSION_FAILED);
        g_assert_nonnull(error);
        result = snpg_verifier_session_result(s);
        g_assert_cmpint(result->verdict, ==, SNPG_SESSION_VERDICT_ACCEPTED);
        g_assert_true(result->key_sent);
        g_assert_false(result->key_confirmed);
        g_assert_cmpuint(result->delivery_refusal.n_reasons, ==, 0);
        g_clear_pointer(&fx.seen_report, g_bytes_unref);
    }
}

/* A frame's header is judged before its payload is kept: a hostile length
 * or an out-of-turn type fails at the twelfth byte. */
static void
test_header_judged_first(void)
{
    static const guint8 oversized[] = { 'S', 'N', 'P', 'G', 1, 2, 0, 0, 0x01, 0x80, 0, 0 };
    static const guint8 done_first[] = { 'S', 'N', 'P', 'G', 1, 6, 0, 0, 32, 0, 0, 0 };
    const struct { const guint8 *bytes; int code; } cases[] = {
        { oversized, SNPG_PROTO_ERROR_MALFORMED },
        { done_first, SNPG_PROTO_ERROR_UNEXPECTED },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        Fixture fx = { 0 };
        SnpgVerifierConfig cfg = { .verify = fake_verify, .user_data = &fx };
        g_autoptr(SnpgVerifierSession) s = snpg_verifier_session_new(&cfg, NULL);
        g_autoptr(GByteArray) out = g_byte_array_new();
        g_autoptr(GError) error = NULL;

        snpg_verifier_session_start(s, out);
        for (gsize n = 0; n < SNPG_PROTO_HEADER_LEN - 1; n++)
            g_assert_cmpint(snpg_verifier_session_feed(s, cases[i].bytes + n, 1, out, &error),
                            ==, SNPG_SESSION_NEED_MORE);
        g_assert_cmpint(snpg_verifier_session_feed(s, cases[i].bytes + SNPG_PROTO_HEADER_LEN - 1,
                                                   1, out, &error),
                        ==, SNPG_SESSION_FAILED);
        g_assert_error(error, SNPG_PROTO_ERROR, cases[i].code);
        g_assert_cmpuint(fx.verify_calls, ==, 0);
    }
}

static void
test_unknown_kex_configured(void)
{
    Fixture fx = { 0 };
    SnpgVerifierConfig cfg = { .verify = fake_verify, .user_data = &fx, .kex_mask = 0x4 };
    g_autoptr(GError) error = NULL;

    g_assert_null(snpg_verifier_session_new(&cfg, &error));
    g_assert_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_MALFORMED);
}

/* Runs a verifier step machine on fd in this thread, reading at most chunk
 * bytes at a time; records what the agent sent. */
static SnpgSessionStatus
drive_session(int fd, SnpgVerifierSession *s, gsize chunk, GByteArray *record, GError **error)
{
    g_autoptr(GByteArray) out = g_byte_array_new();
    SnpgSessionStatus status = SNPG_SESSION_NEED_MORE;

    snpg_verifier_session_start(s, out);
    while (status == SNPG_SESSION_NEED_MORE) {
        guint8 buf[4096];
        ssize_t n;

        if (out->len) {
            n = write(fd, out->data, out->len);
            g_assert_cmpint(n, >, 0);
            g_byte_array_remove_range(out, 0, (guint)n);
            continue;
        }
        n = read(fd, buf, MIN(chunk, sizeof(buf)));
        g_assert_cmpint(n, >=, 0);
        if (record)
            g_byte_array_append(record, buf, (guint)n);
        status = n == 0 ? snpg_verifier_session_eof(s, error)
                        : snpg_verifier_session_feed(s, buf, (gsize)n, out, error);
    }
    if (out->len)
        g_assert_cmpint(write(fd, out->data, out->len), ==, (gssize)out->len);
    return status;
}

typedef struct {
    int fd;
    Fixture *fx;
    gboolean ok;
    SnpgAgentResult result;
} AgentThread;

static gpointer
agent_thread(gpointer data)
{
    AgentThread *t = data;
    SnpgAgentConfig acfg = { .get_report = fake_report, .user_data = t->fx,
                             .read_timeout_us = 5 * G_USEC_PER_SEC };

    t->ok = snpg_session_run_agent(t->fd, &acfg, &t->result, NULL);
    close(t->fd);
    return NULL;
}

/* One session, the verifier fed the agent's bytes as they come (any split:
 * here a byte at a time); returns what the agent sent. */
static GByteArray *
record_session(Fixture *fx, const SnpgKeyPayload *payload, gsize chunk)
{
    SnpgVerifierConfig cfg = { .verify = fake_verify, .user_data = fx, .payload = payload };
    g_autoptr(SnpgVerifierSession) s = snpg_verifier_session_new(&cfg, NULL);
    g_autoptr(GError) error = NULL;
    GByteArray *record = g_byte_array_new();
    AgentThread at = { .fx = fx };
    GThread *thread;
    int sv[2];

    make_pair(sv);
    at.fd = sv[1];
    thread = g_thread_new("agent", agent_thread, &at);
    g_assert_cmpint(drive_session(sv[0], s, chunk, record, &error), ==, SNPG_SESSION_DONE);
    g_assert_no_error(error);
    g_thread_join(thread);
    close(sv[0]);
    g_assert_true(at.ok);
    g_assert_true(snpg_verifier_session_result(s)->key_confirmed);
    g_assert_true(snpg_secret_equal(at.result.payload.disk_key, payload->disk_key));
    snpg_agent_result_clear(&at.result);
    return record;
}

static void
test_step_any_split(void)
{
    Fixture fx = { 0 };
    g_auto(SnpgKeyPayload) payload = { 0 };
    const gsize chunks[] = { 1, 7, 4096 };

    fill_payload(&payload);
    for (gsize i = 0; i < G_N_ELEMENTS(chunks); i++) {
        g_autoptr(GByteArray) record = record_session(&fx, &payload, chunks[i]);
        g_autoptr(GArray) types = frame_types(record->data, record->len);

        g_assert_cmpuint(types->len, ==, 2);
        g_assert_cmpint(g_array_index(types, SnpgMsgType, 0), ==, SNPG_MSG_EVIDENCE);
        g_assert_cmpint(g_array_index(types, SnpgMsgType, 1), ==, SNPG_MSG_DONE);
    }
    g_clear_pointer(&fx.seen_report, g_bytes_unref);
}

/* Freshness: no two sessions share a nonce (a fixed or repeating nonce
 * would let a recorded agent side be replayed, see the next test). */
static void
test_nonces_never_repeat(void)
{
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_bytes_hash, g_bytes_equal,
                                                       (GDestroyNotify)g_bytes_unref, NULL);
    Fixture fx = { 0 };
    SnpgVerifierConfig cfg = { .verify = fake_verify, .user_data = &fx };
    static const guint8 zero[SNPG_PROTO_NONCE_LEN] = { 0 };

    for (guint i = 0; i < 1000; i++) {
        g_autoptr(SnpgVerifierSession) s = snpg_verifier_session_new(&cfg, NULL);
        g_autoptr(GByteArray) out = g_byte_array_new();
        GBytes *nonce;

        snpg_verifier_session_start(s, out);
        g_assert_cmpuint(out->len, ==, SNPG_PROTO_HEADER_LEN + SNPG_PROTO_NONCE_LEN + 2);
        g_assert_cmpint(out->data[5], ==, SNPG_MSG_HELLO);
        g_assert_true(memcmp(out->data + SNPG_PROTO_HEADER_LEN, zero, sizeof(zero)) != 0);
        nonce = g_bytes_new(out->data + SNPG_PROTO_HEADER_LEN, SNPG_PROTO_NONCE_LEN);
        g_assert_true(g_hash_table_add(seen, nonce));
    }
    /* And through the blocking verifier, as snpguard attest runs it. */
    for (guint i = 0; i < 2; i++) {
        VerifierThread vt = { .fx = &fx, .timeout = G_USEC_PER_SEC };
        g_autoptr(GBytes) hello = NULL;
        g_autoptr(GError) error = NULL;
        SnpgMsgType type;
        GThread *thread;
        int sv[2];

        make_pair(sv);
        vt.fd = sv[0];
        thread = g_thread_new("verifier", verifier_thread, &vt);
        g_assert_true(snpg_proto_read_frame(sv[1], g_get_monotonic_time() + G_USEC_PER_SEC,
                                            &type, &hello, &error));
        g_assert_cmpint(type, ==, SNPG_MSG_HELLO);
        close(sv[1]);
        g_thread_join(thread);
        g_assert_true(g_hash_table_add(seen, g_bytes_new(g_bytes_get_data(hello, NULL),
                                                         SNPG_PROTO_NONCE_LEN)));
        g_clear_error(&vt.error);
        snpg_verifier_result_clear(&vt.result);
    }
    g_assert_cmpuint(g_hash_table_size(seen), ==, 1002);
}

/* A whole recorded agent side (the same EVIDENCE bytes, the same agent key,
 * then its DONE) replayed against a new session: the verification callback
 * accepts the report (it is a stand-in), yet the new nonce is not in its
 * REPORT_DATA, so the session refuses on binding and no KEY leaves. */
static void
test_replayed_agent_side_refused(void)
{
    Fixture fx = { 0 };
    g_auto(SnpgKeyPayload) payload = { 0 };
    g_autoptr(GByteArray) record = NULL;
    SnpgVerifierConfig cfg = { .verify = fake_verify, .user_data = &fx, .payload = &payload };
    g_autoptr(SnpgVerifierSession) s = NULL;
    g_autoptr(GByteArray) out = g_byte_array_new();
    g_autoptr(GArray) types = NULL;
    g_autoptr(GError) error = NULL;
    const SnpgVerifierResult *result;
    guint hello_len;

    fill_payload(&payload);
    record = record_session(&fx, &payload, 4096);
    s = snpg_verifier_session_new(&cfg, &error);
    snpg_verifier_session_start(s, out);
    hello_len = out->len;
    g_assert_cmpint(snpg_verifier_session_feed(s, record->data, record->len, out, &error),
                    ==, SNPG_SESSION_DONE);
    g_assert_no_error(error);
    result = snpg_verifier_session_result(s);
    g_assert_cmpint(result->verdict, ==, SNPG_SESSION_VERDICT_REJECTED);
    g_assert_cmpuint(result->refusal.n_reasons, ==, 1);
    g_assert_cmpuint(result->refusal.reasons[0], ==, SNPG_PROTO_REASON_BINDING);
    g_assert_false(result->key_sent);
    g_assert_false(result->key_confirmed);
    g_assert_cmpuint(fx.verify_calls, ==, 2);
    /* What the verifier sends after its HELLO: one REFUSE, no KEY. */
    types = frame_types(out->data + hello_len, out->len - hello_len);
    g_assert_cmpuint(types->len, ==, 1);
    g_assert_cmpint(g_array_index(types, SnpgMsgType, 0), ==, SNPG_MSG_REFUSE);
    g_clear_pointer(&fx.seen_report, g_bytes_unref);
}

/* --- many sessions in one thread -------------------------------------- */

#define CONCURRENT_SESSIONS 200
#define AGENT_THREADS 8

typedef struct {
    int fd;                        /* the agent's end */
    SnpgAgentConfig config;
    gboolean ok;
    GError *error;
    SnpgAgentResult result;
} PooledAgent;

static void
pooled_agent(gpointer data, gpointer user_data)
{
    PooledAgent *a = data;

    (void)user_data;
    a->ok = snpg_session_run_agent(a->fd, &a->config, &a->result, &a->error);
    close(a->fd);
}

typedef struct {
    int fd;                        /* the verifier's end, non-blocking */
    SnpgVerifierSession *session;
    SnpgKeyPayload payload;
    GByteArray *out;
    SnpgSessionStatus status;
    GError *error;
} LoopSession;

/* One step of the event loop for one session whose fd is ready. */
static void
loop_session_io(LoopSession *ls, short revents)
{
    if ((revents & POLLOUT) && ls->out->len) {
        ssize_t n = send(ls->fd, ls->out->data, ls->out->len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0)
            g_byte_array_remove_range(ls->out, 0, (guint)n);
    }
    if (revents & (POLLIN | POLLHUP | POLLERR)) {
        guint8 buf[4096];
        ssize_t n = recv(ls->fd, buf, sizeof(buf), MSG_DONTWAIT);

        if (n > 0)
            ls->status = snpg_verifier_session_feed(ls->session, buf, (gsize)n, ls->out, &ls->error);
        else if (n == 0 || errno != EAGAIN)
            ls->status = snpg_verifier_session_eof(ls->session, &ls->error);
    }
}

/* 200 verifier sessions served by one thread (one poll() loop, as snpguard
 * watch will serve libvirt streams), against 200 real agents that run on
 * a pool of 8 threads: most agents wait their turn, so most sessions sit
 * half-way while others finish. Each VM gets its own key. */
static void
test_concurrent_sessions(void)
{
    Fixture fx = { 0 };
    g_autoptr(EVP_PKEY) identity = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    guint8 pin[SNPG_PROTO_PIN_LEN];
    g_autofree LoopSession *sessions = g_new0(LoopSession, CONCURRENT_SESSIONS);
    g_autofree PooledAgent *agents = g_new0(PooledAgent, CONCURRENT_SESSIONS);
    g_autofree struct pollfd *pfds = g_new0(struct pollfd, CONCURRENT_SESSIONS);
    g_autofree guint *index = g_new0(guint, CONCURRENT_SESSIONS);
    GThreadPool *pool;
    gint64 give_up = g_get_monotonic_time() + 120 * G_USEC_PER_SEC;
    guint active = CONCURRENT_SESSIONS;

    g_assert_true(snpg_proto_identity_pin(identity, pin, NULL));
    pool = g_thread_pool_new(pooled_agent, NULL, AGENT_THREADS, FALSE, NULL);
    for (guint i = 0; i < CONCURRENT_SESSIONS; i++) {
        LoopSession *ls = &sessions[i];
        SnpgVerifierConfig cfg = { .verify = fake_verify, .user_data = &fx, .payload = &ls->payload,
                                   .identity = identity, .read_timeout_us = 60 * G_USEC_PER_SEC };
        g_autofree char *key = g_strdup_printf("the disk key of VM number %03u", i);
        int sv[2];

        make_pair(sv);
        g_assert_cmpint(fcntl(sv[0], F_SETFL, O_NONBLOCK), ==, 0);
        ls->fd = sv[0];
        ls->payload.disk_key = snpg_secret_new_from_data(key, strlen(key));
        ls->session = snpg_verifier_session_new(&cfg, NULL);
        ls->out = g_byte_array_new();
        snpg_verifier_session_start(ls->session, ls->out);
        agents[i] = (PooledAgent){ .fd = sv[1],
                                   .config = { .get_report = fake_report, .user_data = &fx,
                                               .verifier_pin = pin,
                                               .read_timeout_us = 60 * G_USEC_PER_SEC } };
        g_assert_true(g_thread_pool_push(pool, &agents[i], NULL));
    }

    /* fake_verify counts calls in fx without a lock: only this thread verifies. */
    while (active > 0) {
        gint64 now = g_get_monotonic_time(), next = G_MAXINT64;
        nfds_t n = 0;
        int r;

        g_assert_cmpint(now, <, give_up);
        for (guint i = 0; i < CONCURRENT_SESSIONS; i++) {
            LoopSession *ls = &sessions[i];

            if (ls->status != SNPG_SESSION_NEED_MORE)
                continue;
            ls->status = snpg_verifier_session_check_deadline(ls->session, now, &ls->error);
            if (ls->status != SNPG_SESSION_NEED_MORE)
                continue;
            next = MIN(next, snpg_verifier_session_get_deadline(ls->session));
            pfds[n] = (struct pollfd){ .fd = ls->fd, .events = POLLIN | (ls->out->len ? POLLOUT : 0) };
            index[n++] = i;
        }
        if (n == 0)
            break;
        r = poll(pfds, n, (int)MIN((next - now) / 1000 + 1, 1000));
        g_assert_cmpint(r, >=, 0);
        for (nfds_t k = 0; k < n; k++)
            if (pfds[k].revents)
                loop_session_io(&sessions[index[k]], pfds[k].revents);
        active = 0;
        for (guint i = 0; i < CONCURRENT_SESSIONS; i++)
            active += sessions[i].status == SNPG_SESSION_NEED_MORE;
    }
    g_thread_pool_free(pool, FALSE, TRUE);

    for (guint i = 0; i < CONCURRENT_SESSIONS; i++) {
        LoopSession *ls = &sessions[i];
        const SnpgVerifierResult *result = snpg_verifier_session_result(ls->session);

        g_assert_no_error(ls->error);
        g_assert_cmpint(ls->status, ==, SNPG_SESSION_DONE);
        g_assert_cmpint(result->verdict, ==, SNPG_SESSION_VERDICT_ACCEPTED);
        g_assert_true(result->key_confirmed);
        g_assert_no_error(agents[i].error);
        g_assert_true(agents[i].ok);
        g_assert_false(agents[i].result.refused);
        g_assert_true(snpg_secret_equal(agents[i].result.payload.disk_key, ls->payload.disk_key));
        snpg_agent_result_clear(&agents[i].result);
        snpg_key_payload_clear(&ls->payload);
        snpg_verifier_session_free(ls->session);
        g_byte_array_unref(ls->out);
        close(ls->fd);
    }
    g_assert_cmpuint(fx.verify_calls, ==, CONCURRENT_SESSIONS);
    g_clear_pointer(&fx.seen_report, g_bytes_unref);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/session/success-delivers-key", test_success_delivers_key);
    g_test_add_func("/session/attestation-only", test_attestation_only);
    g_test_add_func("/session/done-after-delivery", test_done_after_delivery);
    g_test_add_func("/session/failed-delivery-aborts", test_failed_delivery_aborts);
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
    g_test_add_func("/session/step/abort-after-key", test_abort_after_key);
    g_test_add_func("/session/step/abort-after-key-blocking", test_abort_after_key_blocking);
    g_test_add_func("/session/step/missing-done", test_missing_done);
    g_test_add_func("/session/step/header-judged-first", test_header_judged_first);
    g_test_add_func("/session/step/any-split", test_step_any_split);
    g_test_add_func("/session/step/unknown-kex-configured", test_unknown_kex_configured);
    g_test_add_func("/session/nonces-never-repeat", test_nonces_never_repeat);
    g_test_add_func("/session/replayed-agent-side-refused", test_replayed_agent_side_refused);
    g_test_add_func("/session/concurrent-sessions", test_concurrent_sessions);
    return g_test_run();
}
