/* libFuzzer target: every decoder of the attestation protocol, on both
 * sides. The first byte picks the decoder; the rest is the hostile input.
 * Modes 5 and 6 feed the bytes as the whole stream from the peer into the
 * agent's and the verifier's state machines. */
#include "config.h"

#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

#include "proto-priv.h"
#include "report.h"
#include "session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_MAX (64 * 1024)

static gboolean
fake_report(const guint8 report_data[64], GBytes **ret_report, GBytes **ret_certs,
            gpointer user_data, GError **error)
{
    SnpgReport report = { 0 };

    memcpy(report.report_data, report_data, sizeof(report.report_data));
    *ret_report = snpg_report_encode(&report);
    *ret_certs = NULL;
    return TRUE;
}

static gboolean
fake_verify(GBytes *report, GBytes *certs, const guint8 expected[64], SnpgRefusal *ret_refusal,
            gpointer user_data, GError **error)
{
    return TRUE;
}

/* Runs one side's session with the input as everything the peer sends. */
static void
run_session(gboolean agent, const guint8 *data, gsize len)
{
    int sv[2];
    g_autoptr(GError) error = NULL;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return;
    /* Socket buffers hold far more than INPUT_MAX; then the peer hangs up. */
    if (write(sv[1], data, len) != (ssize_t)len) {
        close(sv[0]);
        close(sv[1]);
        return;
    }
    shutdown(sv[1], SHUT_WR);
    if (agent) {
        g_auto(SnpgAgentResult) result = { 0 };
        SnpgAgentConfig cfg = { .get_report = fake_report, .read_timeout_us = 50 * 1000 };
        snpg_session_run_agent(sv[0], &cfg, &result, &error);
    } else {
        g_auto(SnpgVerifierResult) result = { 0 };
        SnpgVerifierConfig cfg = { .verify = fake_verify, .read_timeout_us = 50 * 1000 };
        snpg_session_run_verifier(sv[0], &cfg, &result, &error);
    }
    close(sv[0]);
    close(sv[1]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) payload = NULL;
    SnpgMsgType type;
    guint32 length;

    if (size < 1 || size > INPUT_MAX)
        return 0;
    payload = g_bytes_new(data + 1, size - 1);
    switch (data[0] % 7) {
    case 0:
        snpg_proto_parse_header(data + 1, size - 1, &type, &length, &error);
        break;
    case 1: {
        SnpgHello hello;
        snpg_hello_decode(payload, &hello, &error);
        break;
    }
    case 2: {
        g_auto(SnpgEvidence) ev = { 0 };
        if (snpg_evidence_decode(payload, &ev, &error))
            g_assert(g_bytes_get_size(ev.report) == SNPG_PROTO_REPORT_LEN);
        break;
    }
    case 3: {
        g_auto(SnpgRefusal) refusal = { 0 };
        if (snpg_refusal_decode(payload, &refusal, &error))
            g_assert(refusal.n_reasons >= 1 && refusal.n_reasons <= SNPG_PROTO_REASONS_MAX);
        break;
    }
    case 4: {
        g_auto(SnpgKeyPayload) items = { 0 };
        snpg_proto_decode_items(data + 1, size - 1, &items, &error);
        break;
    }
    case 5:
        run_session(TRUE, data + 1, size - 1);
        break;
    case 6:
        run_session(FALSE, data + 1, size - 1);
        break;
    }
    return 0;
}
