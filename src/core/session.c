/* The protocol state machines (docs/protocol.md, "State machines"). */
#include "config.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "autocleanups.h"
#include "i18n.h"
#include "report.h"
#include "session.h"

#define VERIFIER_DEFAULT_TIMEOUT (30 * G_USEC_PER_SEC)
#define AGENT_DEFAULT_TIMEOUT (120 * G_USEC_PER_SEC)

void
snpg_verifier_result_clear(SnpgVerifierResult *result)
{
    snpg_refusal_clear(&result->refusal);
    g_clear_pointer(&result->report, g_bytes_unref);
    result->key_sent = result->key_confirmed = FALSE;
    snpg_refusal_clear(&result->delivery_refusal);
}

void
snpg_agent_result_clear(SnpgAgentResult *result)
{
    snpg_refusal_clear(&result->refusal);
    snpg_key_payload_clear(&result->payload);
    result->refused = result->delivered = result->delivery_failed = FALSE;
}

static gint64
deadline_after(gint64 timeout_us, gint64 fallback)
{
    return g_get_monotonic_time() + (timeout_us > 0 ? timeout_us : fallback);
}

static gboolean
unexpected(SnpgMsgType got, const char *wanted, GError **error)
{
    g_set_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_UNEXPECTED,
                _("Unexpected protocol message %s while waiting for %s"),
                snpg_msg_type_to_string(got), wanted);
    return FALSE;
}

static gboolean
send_refusal(int fd, SnpgMsgType type, const SnpgRefusal *refusal, gint64 deadline,
             GError **error)
{
    g_autoptr(GBytes) payload = snpg_refusal_encode(refusal);

    return snpg_proto_write_frame(fd, type, g_bytes_get_data(payload, NULL),
                                  g_bytes_get_size(payload), deadline, error);
}

static void
add_reason(SnpgRefusal *refusal, guint16 code)
{
    for (guint i = 0; i < refusal->n_reasons; i++)
        if (refusal->reasons[i] == code)
            return;
    if (refusal->n_reasons < SNPG_PROTO_REASONS_MAX)
        refusal->reasons[refusal->n_reasons++] = code;
}

/* The peer's text is valid UTF-8 (snpg_refusal_decode checks) but may hold
 * control characters: escape sequences that would drive the operator's
 * terminal when the error is printed. Those become visible \xHH / \uHHHH. */
static char *
escape_peer_text(const char *text)
{
    GString *out = g_string_sized_new(strlen(text));

    for (const char *p = text; *p; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);

        if (g_unichar_iscntrl(c) || c == 0x2028 || c == 0x2029 ||
            (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069)) {
            if (c < 0x100)
                g_string_append_printf(out, "\\x%02x", c);
            else
                g_string_append_printf(out, "\\u%04x", c);
        } else {
            g_string_append_len(out, p, g_utf8_next_char(p) - p);
        }
    }
    return g_string_free(out, FALSE);
}

/* The agent gave up: surface its reasons as the error, and keep them in
 * ret_refusal when given (an ABORT after KEY says why the key released was
 * not delivered). */
static gboolean
agent_aborted(GBytes *payload, SnpgRefusal *ret_refusal, GError **error)
{
    g_auto(SnpgRefusal) abort_msg = { 0 };
    g_autofree char *text = NULL;

    if (!snpg_refusal_decode(payload, &abort_msg, error))
        return FALSE;
    text = abort_msg.text && *abort_msg.text ? escape_peer_text(abort_msg.text) : NULL;
    g_set_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_ABORTED,
                _("The agent gave up (reason %u): %s"), abort_msg.reasons[0],
                text ? text : _("no details"));
    if (ret_refusal) {
        /* As received: whoever prints the text escapes it. */
        snpg_refusal_clear(ret_refusal);
        *ret_refusal = abort_msg;
        memset(&abort_msg, 0, sizeof(abort_msg));
    }
    return FALSE;
}

gboolean
snpg_session_run_verifier(int fd, const SnpgVerifierConfig *config,
                          SnpgVerifierResult *result, GError **error)
{
    SnpgHello hello = { .kex_mask = config->kex_mask };
    g_autoptr(GBytes) hello_bytes = NULL;
    g_autoptr(GBytes) payload = NULL;
    g_autoptr(GBytes) evidence = NULL;
    g_auto(SnpgEvidence) ev = { 0 };
    g_auto(SnpgRefusal) refusal = { 0 };
    guint8 expected[SNPG_PROTO_REPORT_DATA_LEN];
    guint8 report_data[SNPG_REPORT_DATA_SIZE];
    guint8 confirm[SNPG_PROTO_CONFIRM_LEN];
    g_autoptr(GError) verify_error = NULL;
    SnpgMsgType type;
    gboolean accepted, bound;

    if (!hello.kex_mask)
        hello.kex_mask = SNPG_KEX_BIT(SNPG_KEX_P384) | SNPG_KEX_BIT(SNPG_KEX_X25519);
    /* Freshness: a new nonce for every attempt. */
    if (RAND_bytes(hello.nonce, sizeof(hello.nonce)) != 1) {
        g_set_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_CRYPTO,
                    _("Cannot draw a random nonce"));
        return FALSE;
    }
    hello_bytes = snpg_hello_encode(&hello);
    if (!snpg_proto_write_frame(fd, SNPG_MSG_HELLO, g_bytes_get_data(hello_bytes, NULL),
                                g_bytes_get_size(hello_bytes),
                                deadline_after(config->read_timeout_us, VERIFIER_DEFAULT_TIMEOUT),
                                error))
        return FALSE;

    if (!snpg_proto_read_frame(fd, deadline_after(config->read_timeout_us, VERIFIER_DEFAULT_TIMEOUT),
                               &type, &payload, error))
        return FALSE;
    if (type == SNPG_MSG_ABORT)
        return agent_aborted(payload, NULL, error);
    if (type != SNPG_MSG_EVIDENCE)
        return unexpected(type, "EVIDENCE", error);
    if (!snpg_evidence_decode(payload, &ev, error))
        return FALSE;
    evidence = g_bytes_ref(payload);
    if (!(hello.kex_mask & SNPG_KEX_BIT(ev.kex))) {
        g_set_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_MALFORMED,
                    _("The agent chose a key agreement that was not offered"));
        return FALSE;
    }
    result->report = g_bytes_ref(ev.report);

    /* Binding: the report must commit to this nonce and this agent key. The
     * callback checks it too, with the signature; this check alone would mean
     * nothing for an unsigned report, so it only ever adds a reason. */
    snpg_proto_report_data(&hello, ev.kex, ev.pub, expected);
    bound = snpg_report_peek_report_data(g_bytes_get_data(ev.report, NULL),
                                         g_bytes_get_size(ev.report), report_data) &&
            CRYPTO_memcmp(report_data, expected, sizeof(expected)) == 0;

    accepted = config->verify(ev.report, ev.certs, expected, &refusal, config->user_data,
                              &verify_error);
    if (verify_error) {
        g_auto(SnpgRefusal) internal = { .reasons = { SNPG_PROTO_REASON_VERIFIER }, .n_reasons = 1 };
        internal.text = g_strdup(_("The verifier could not check the evidence"));
        send_refusal(fd, SNPG_MSG_REFUSE, &internal,
                     deadline_after(config->read_timeout_us, VERIFIER_DEFAULT_TIMEOUT), NULL);
        g_propagate_error(error, g_steal_pointer(&verify_error));
        return FALSE;
    }
    if (!bound) {
        accepted = FALSE;
        add_reason(&refusal, SNPG_PROTO_REASON_BINDING);
        if (!refusal.text)
            refusal.text = g_strdup(_("The report does not bind this session's nonce and key"));
    }
    if (!accepted) {
        if (refusal.n_reasons == 0)
            add_reason(&refusal, SNPG_PROTO_REASON_VERIFIER);
        result->verdict = SNPG_VERDICT_REJECTED;
        result->refusal = refusal;
        memset(&refusal, 0, sizeof(refusal));
        /* Best effort: the verdict stands even if the agent is gone. */
        send_refusal(fd, SNPG_MSG_REFUSE, &result->refusal,
                     deadline_after(config->read_timeout_us, VERIFIER_DEFAULT_TIMEOUT), NULL);
        return TRUE;
    }

    result->verdict = SNPG_VERDICT_ACCEPTED;
    {
        static const SnpgKeyPayload empty = { 0 };
        const SnpgKeyPayload *release = config->choose_payload
            ? config->choose_payload(ev.report, config->choose_data) : config->payload;
        g_autoptr(GBytes) key_msg = snpg_proto_seal_key(&hello, ev.kex, ev.pub, evidence,
                                                        release ? release : &empty,
                                                        config->identity, confirm, error);
        if (!key_msg)
            return FALSE;
        /* One release per nonce: this is the only KEY this session sends. */
        result->key_sent = release && release->disk_key;
        if (!snpg_proto_write_frame(fd, SNPG_MSG_KEY, g_bytes_get_data(key_msg, NULL),
                                    g_bytes_get_size(key_msg),
                                    deadline_after(config->read_timeout_us, VERIFIER_DEFAULT_TIMEOUT),
                                    error))
            return FALSE;
    }
    g_clear_pointer(&payload, g_bytes_unref);
    if (!snpg_proto_read_frame(fd, deadline_after(config->read_timeout_us, VERIFIER_DEFAULT_TIMEOUT),
                               &type, &payload, error))
        return FALSE;
    if (type == SNPG_MSG_ABORT)
        return agent_aborted(payload, &result->delivery_refusal, error);
    if (type != SNPG_MSG_DONE)
        return unexpected(type, "DONE", error);
    result->key_confirmed = g_bytes_get_size(payload) == sizeof(confirm) &&
        CRYPTO_memcmp(g_bytes_get_data(payload, NULL), confirm, sizeof(confirm)) == 0;
    if (!result->key_confirmed) {
        g_set_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_CRYPTO,
                    _("The agent's confirmation does not match this session"));
        return FALSE;
    }
    return TRUE;
}

/* X25519 first: constant-time by construction, no point validation to get
 * wrong, and a fraction of P-384's cost on both sides. */
static SnpgKex
choose_kex(SnpgKex wanted, guint16 offered)
{
    if (wanted)
        return (offered & SNPG_KEX_BIT(wanted)) ? wanted : 0;
    if (offered & SNPG_KEX_BIT(SNPG_KEX_X25519))
        return SNPG_KEX_X25519;
    if (offered & SNPG_KEX_BIT(SNPG_KEX_P384))
        return SNPG_KEX_P384;
    return 0;
}

static void
send_abort(int fd, guint16 reason, const char *text, gint64 deadline)
{
    g_auto(SnpgRefusal) abort_msg = { .reasons = { reason }, .n_reasons = 1 };

    abort_msg.text = g_strdup(text);
    send_refusal(fd, SNPG_MSG_ABORT, &abort_msg, deadline, NULL);
}

gboolean
snpg_session_run_agent(int fd, const SnpgAgentConfig *config, SnpgAgentResult *result,
                       GError **error)
{
    g_autoptr(GBytes) payload = NULL;
    g_autoptr(EVP_PKEY) key = NULL;
    g_autoptr(GBytes) pub = NULL;
    g_autoptr(GBytes) report = NULL;
    g_autoptr(GBytes) certs = NULL;
    g_autoptr(GBytes) evidence = NULL;
    g_autoptr(GError) report_error = NULL;
    g_autoptr(GError) open_error = NULL;
    g_auto(SnpgEvidence) ev = { 0 };
    guint8 report_data[SNPG_PROTO_REPORT_DATA_LEN];
    guint8 confirm[SNPG_PROTO_CONFIRM_LEN];
    SnpgHello hello;
    SnpgMsgType type;
    SnpgKex kex;

    if (!snpg_proto_read_frame(fd, deadline_after(config->read_timeout_us, AGENT_DEFAULT_TIMEOUT),
                               &type, &payload, error))
        return FALSE;
    if (type != SNPG_MSG_HELLO)
        return unexpected(type, "HELLO", error);
    if (!snpg_hello_decode(payload, &hello, error))
        return FALSE;
    if (!(kex = choose_kex(config->kex, hello.kex_mask))) {
        send_abort(fd, SNPG_PROTO_REASON_NO_KEX, _("no key agreement both sides accept"),
                   deadline_after(config->read_timeout_us, AGENT_DEFAULT_TIMEOUT));
        g_set_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_MALFORMED,
                    _("The verifier offers no key agreement this agent accepts"));
        return FALSE;
    }

    /* A fresh ephemeral key per attempt; the report binds it. */
    if (!(key = snpg_kex_generate(kex, error)) || !(pub = snpg_kex_export_pub(key, kex, error)))
        return FALSE;
    snpg_proto_report_data(&hello, kex, pub, report_data);
    if (!config->get_report(report_data, &report, &certs, config->user_data, &report_error)) {
        send_abort(fd, SNPG_PROTO_REASON_NO_REPORT, report_error->message,
                   deadline_after(config->read_timeout_us, AGENT_DEFAULT_TIMEOUT));
        g_propagate_prefixed_error(error, g_steal_pointer(&report_error), "%s",
                                   _("Cannot obtain an attestation report: "));
        return FALSE;
    }
    if (g_bytes_get_size(report) != SNPG_PROTO_REPORT_LEN ||
        (certs && g_bytes_get_size(certs) > SNPG_PROTO_CERTS_MAX)) {
        send_abort(fd, SNPG_PROTO_REASON_NO_REPORT, _("the report backend returned a report of the wrong size"),
                   deadline_after(config->read_timeout_us, AGENT_DEFAULT_TIMEOUT));
        g_set_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_MALFORMED,
                    _("The report backend returned %zu bytes instead of %d"),
                    g_bytes_get_size(report), SNPG_PROTO_REPORT_LEN);
        return FALSE;
    }
    ev.kex = kex;
    ev.pub = g_bytes_ref(pub);
    ev.report = g_bytes_ref(report);
    ev.certs = certs ? g_bytes_ref(certs) : g_bytes_new(NULL, 0);
    evidence = snpg_evidence_encode(&ev);
    if (!snpg_proto_write_frame(fd, SNPG_MSG_EVIDENCE, g_bytes_get_data(evidence, NULL),
                                g_bytes_get_size(evidence),
                                deadline_after(config->read_timeout_us, AGENT_DEFAULT_TIMEOUT), error))
        return FALSE;

    g_clear_pointer(&payload, g_bytes_unref);
    if (!snpg_proto_read_frame(fd, deadline_after(config->read_timeout_us, AGENT_DEFAULT_TIMEOUT),
                               &type, &payload, error))
        return FALSE;
    if (type == SNPG_MSG_REFUSE) {
        if (!snpg_refusal_decode(payload, &result->refusal, error))
            return FALSE;
        result->refused = TRUE;
        return TRUE;
    }
    if (type != SNPG_MSG_KEY)
        return unexpected(type, "KEY or REFUSE", error);
    if (!snpg_proto_open_key(&hello, kex, key, pub, evidence, payload, config->verifier_pin,
                             &result->payload, confirm, &open_error)) {
        gboolean unpinned = g_error_matches(open_error, SNPG_PROTO_ERROR,
                                            SNPG_PROTO_ERROR_UNAUTHENTICATED);
        send_abort(fd, unpinned ? SNPG_PROTO_REASON_UNPINNED : SNPG_PROTO_REASON_BAD_KEY,
                   unpinned ? _("the key is not from the verifier this VM pins")
                            : _("the sealed key did not open"),
                   deadline_after(config->read_timeout_us, AGENT_DEFAULT_TIMEOUT));
        g_propagate_error(error, g_steal_pointer(&open_error));
        return FALSE;
    }
    result->refused = FALSE;
    /* DONE tells the verifier the key arrived: only once it did. */
    if (config->deliver) {
        g_auto(SnpgRefusal) refusal = { 0 };
        gboolean delivered = config->deliver(&result->payload, &refusal, config->deliver_data);

        /* Handed on or not, this process keeps no copy of the key. */
        snpg_key_payload_clear(&result->payload);
        if (!delivered) {
            if (refusal.n_reasons == 0)
                add_reason(&refusal, SNPG_PROTO_REASON_DELIVERY);
            result->delivery_failed = TRUE;
            send_refusal(fd, SNPG_MSG_ABORT, &refusal,
                         deadline_after(config->read_timeout_us, AGENT_DEFAULT_TIMEOUT), NULL);
            g_set_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_ABORTED,
                        _("The key was not handed on (reason %u): %s"), refusal.reasons[0],
                        refusal.text ? refusal.text : _("no details"));
            return FALSE;
        }
        result->delivered = TRUE;
    }
    if (!snpg_proto_write_frame(fd, SNPG_MSG_DONE, confirm, sizeof(confirm),
                                deadline_after(config->read_timeout_us, AGENT_DEFAULT_TIMEOUT), error)) {
        snpg_key_payload_clear(&result->payload);
        return FALSE;
    }
    return TRUE;
}
