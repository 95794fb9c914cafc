/* The protocol state machines (docs/protocol.md, "State machines"). */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "autocleanups.h"
#include "i18n.h"
#include "report.h"
#include "proto-priv.h"
#include "session.h"

#define VERIFIER_DEFAULT_TIMEOUT (30 * G_USEC_PER_SEC)
#define AGENT_DEFAULT_TIMEOUT (120 * G_USEC_PER_SEC)

void
snpg_verifier_result_clear(SnpgVerifierResult *result)
{
    snpg_refusal_clear(&result->refusal);
    snpg_refusal_clear(&result->delivery_refusal);
    g_clear_pointer(&result->report, g_bytes_unref);
    result->key_sent = result->key_confirmed = FALSE;
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

/* An ABORT's reasons, its text made safe to print. */
static gboolean
decode_peer_refusal(GBytes *payload, SnpgRefusal *ret, GError **error)
{
    g_auto(SnpgRefusal) decoded = { 0 };

    if (!snpg_refusal_decode(payload, &decoded, error))
        return FALSE;
    memcpy(ret->reasons, decoded.reasons, decoded.n_reasons * sizeof(decoded.reasons[0]));
    ret->n_reasons = decoded.n_reasons;
    ret->text = escape_peer_text(decoded.text ? decoded.text : "");
    return TRUE;
}

/* --- the verifier's step machine ----------------------------------------- */

typedef enum {
    VERIFIER_NEW,
    VERIFIER_WAIT_EVIDENCE,
    VERIFIER_WAIT_DONE,
    VERIFIER_FINISHED,             /* a verdict: status DONE */
    VERIFIER_FAILED,
} VerifierState;

struct _SnpgVerifierSession {
    SnpgVerifierConfig config;
    VerifierState state;
    SnpgHello hello;
    gint64 deadline;
    /* The frame being received: the header first, then a payload buffer
     * allocated only once the header is valid and of an expected type, so
     * never larger than that type allows. */
    guint8 header[SNPG_PROTO_HEADER_LEN];
    gsize header_len;
    SnpgMsgType frame_type;
    guint8 *payload;
    guint32 payload_len, payload_have;
    guint8 confirm[SNPG_PROTO_CONFIRM_LEN];
    SnpgVerifierResult result;
    GError *error;                 /* why it failed, returned on each call after */
};

static gint64
verifier_timeout(const SnpgVerifierConfig *config)
{
    return config->read_timeout_us > 0 ? config->read_timeout_us : VERIFIER_DEFAULT_TIMEOUT;
}

SnpgVerifierSession *
snpg_verifier_session_new(const SnpgVerifierConfig *config, GError **error)
{
    g_autoptr(SnpgVerifierSession) s = NULL;

    g_return_val_if_fail(config && config->verify, NULL);
    if (config->kex_mask & ~(SNPG_KEX_BIT(SNPG_KEX_P384) | SNPG_KEX_BIT(SNPG_KEX_X25519))) {
        g_set_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_MALFORMED,
                    _("The verifier is configured with an unknown key agreement (mask 0x%x)"),
                    config->kex_mask);
        return NULL;
    }
    s = g_new0(SnpgVerifierSession, 1);
    s->config = *config;
    if (s->config.identity)
        EVP_PKEY_up_ref(s->config.identity);
    s->state = VERIFIER_NEW;
    s->deadline = G_MAXINT64;
    s->hello.kex_mask = config->kex_mask ? config->kex_mask
                                         : SNPG_KEX_BIT(SNPG_KEX_P384) | SNPG_KEX_BIT(SNPG_KEX_X25519);
    /* Freshness: a new nonce for every attempt. */
    if (RAND_bytes(s->hello.nonce, sizeof(s->hello.nonce)) != 1) {
        g_set_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_CRYPTO,
                    _("Cannot draw a random nonce"));
        return NULL;
    }
    return g_steal_pointer(&s);
}

void
snpg_verifier_session_free(SnpgVerifierSession *s)
{
    if (!s)
        return;
    if (s->config.identity)
        EVP_PKEY_free(s->config.identity);
    g_free(s->payload);
    snpg_verifier_result_clear(&s->result);
    g_clear_error(&s->error);
    OPENSSL_cleanse(s, sizeof(*s));
    g_free(s);
}

static void
queue_frame(GByteArray *out, SnpgMsgType type, GBytes *payload)
{
    g_autoptr(GBytes) frame = snpg_proto_frame(type, g_bytes_get_data(payload, NULL),
                                               g_bytes_get_size(payload));

    g_byte_array_append(out, g_bytes_get_data(frame, NULL), (guint)g_bytes_get_size(frame));
}

static void
queue_refusal(GByteArray *out, const SnpgRefusal *refusal)
{
    g_autoptr(GBytes) payload = snpg_refusal_encode(refusal);

    queue_frame(out, SNPG_MSG_REFUSE, payload);
}

static gboolean
is_waiting(const SnpgVerifierSession *s)
{
    return s->state == VERIFIER_WAIT_EVIDENCE || s->state == VERIFIER_WAIT_DONE;
}

static SnpgSessionStatus
current_status(const SnpgVerifierSession *s, GError **error)
{
    switch (s->state) {
    case VERIFIER_FINISHED:
        return SNPG_SESSION_DONE;
    case VERIFIER_FAILED:
        g_propagate_error(error, g_error_copy(s->error));
        return SNPG_SESSION_FAILED;
    default:
        return SNPG_SESSION_NEED_MORE;
    }
}

/* Ends the session with cause (taken). */
static SnpgSessionStatus
fail(SnpgVerifierSession *s, GError *cause, GError **error)
{
    s->state = VERIFIER_FAILED;
    s->deadline = G_MAXINT64;
    g_clear_pointer(&s->payload, g_free);
    g_clear_error(&s->error);
    s->error = cause;
    return current_status(s, error);
}

static SnpgSessionStatus
finish(SnpgVerifierSession *s)
{
    s->state = VERIFIER_FINISHED;
    s->deadline = G_MAXINT64;
    return SNPG_SESSION_DONE;
}

static SnpgSessionStatus
fail_unexpected(SnpgVerifierSession *s, SnpgMsgType got, GError **error)
{
    GError *cause = NULL;

    unexpected(got, s->state == VERIFIER_WAIT_EVIDENCE ? "EVIDENCE" : "DONE", &cause);
    return fail(s, cause, error);
}

void
snpg_verifier_session_start(SnpgVerifierSession *s, GByteArray *out)
{
    g_autoptr(GBytes) hello = NULL;

    g_return_if_fail(s->state == VERIFIER_NEW);
    hello = snpg_hello_encode(&s->hello);
    queue_frame(out, SNPG_MSG_HELLO, hello);
    s->state = VERIFIER_WAIT_EVIDENCE;
    s->deadline = g_get_monotonic_time() + verifier_timeout(&s->config);
}

/* EVIDENCE arrived: check the binding, run the verifier, answer REFUSE or
 * KEY (at most one KEY per session: the state moves on). */
static SnpgSessionStatus
on_evidence(SnpgVerifierSession *s, GBytes *evidence, GByteArray *out, GError **error)
{
    static const SnpgKeyPayload empty = { 0 };
    g_auto(SnpgEvidence) ev = { 0 };
    g_auto(SnpgRefusal) refusal = { 0 };
    g_autoptr(GError) cause = NULL;
    g_autoptr(GBytes) key_msg = NULL;
    guint8 expected[SNPG_PROTO_REPORT_DATA_LEN];
    guint8 report_data[SNPG_REPORT_DATA_SIZE];
    const SnpgKeyPayload *release;
    gboolean accepted, bound;

    if (!snpg_evidence_decode(evidence, &ev, &cause))
        return fail(s, g_steal_pointer(&cause), error);
    if (!(s->hello.kex_mask & SNPG_KEX_BIT(ev.kex))) {
        g_set_error(&cause, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_MALFORMED,
                    _("The agent chose a key agreement that was not offered"));
        return fail(s, g_steal_pointer(&cause), error);
    }
    s->result.report = g_bytes_ref(ev.report);

    /* Binding: the report must commit to this nonce and this agent key. The
     * callback checks it too, with the signature; this check alone would mean
     * nothing for an unsigned report, so it only ever adds a reason. */
    snpg_proto_report_data(&s->hello, ev.kex, ev.pub, expected);
    bound = snpg_report_peek_report_data(g_bytes_get_data(ev.report, NULL),
                                         g_bytes_get_size(ev.report), report_data) &&
            CRYPTO_memcmp(report_data, expected, sizeof(expected)) == 0;

    accepted = s->config.verify(ev.report, ev.certs, expected, &refusal, s->config.user_data,
                                &cause);
    if (cause) {
        g_auto(SnpgRefusal) internal = { .reasons = { SNPG_PROTO_REASON_VERIFIER }, .n_reasons = 1 };
        internal.text = g_strdup(_("The verifier could not check the evidence"));
        queue_refusal(out, &internal);
        return fail(s, g_steal_pointer(&cause), error);
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
        s->result.verdict = SNPG_SESSION_VERDICT_REJECTED;
        s->result.refusal = refusal;
        memset(&refusal, 0, sizeof(refusal));
        /* The caller sends it best effort: the verdict stands even if the
         * agent is gone. */
        queue_refusal(out, &s->result.refusal);
        return finish(s);
    }

    s->result.verdict = SNPG_SESSION_VERDICT_ACCEPTED;
    release = s->config.choose_payload ? s->config.choose_payload(ev.report, s->config.choose_data)
                                       : s->config.payload;
    key_msg = snpg_proto_seal_key(&s->hello, ev.kex, ev.pub, evidence, release ? release : &empty,
                                  s->config.identity, s->confirm, &cause);
    if (!key_msg)
        return fail(s, g_steal_pointer(&cause), error);
    queue_frame(out, SNPG_MSG_KEY, key_msg);
    /* From here on the key may be on its way, whatever happens next. */
    s->result.key_sent = release && release->disk_key;
    s->state = VERIFIER_WAIT_DONE;
    s->deadline = g_get_monotonic_time() + verifier_timeout(&s->config);
    return SNPG_SESSION_NEED_MORE;
}

static SnpgSessionStatus
on_message(SnpgVerifierSession *s, SnpgMsgType type, GBytes *payload, GByteArray *out,
           GError **error)
{
    g_autoptr(GError) cause = NULL;

    if (s->state == VERIFIER_WAIT_EVIDENCE && type == SNPG_MSG_EVIDENCE)
        return on_evidence(s, payload, out, error);
    if (s->state == VERIFIER_WAIT_EVIDENCE) {
        /* ABORT before any key: the agent gave up, its reasons are the error. */
        g_auto(SnpgRefusal) abort_msg = { 0 };

        if (decode_peer_refusal(payload, &abort_msg, &cause))
            g_set_error(&cause, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_ABORTED,
                        _("The agent gave up (reason %u): %s"), abort_msg.reasons[0],
                        *abort_msg.text ? abort_msg.text : _("no details"));
        return fail(s, g_steal_pointer(&cause), error);
    }
    if (type == SNPG_MSG_ABORT) {
        /* After KEY: the verdict stands (accepted, the key sealed to the
         * attested VM), but the agent says the key did not reach its
         * destination. A release, not confirmed, with the agent's reasons. */
        if (!decode_peer_refusal(payload, &s->result.delivery_refusal, &cause))
            return fail(s, g_steal_pointer(&cause), error);
        return finish(s);
    }
    s->result.key_confirmed = g_bytes_get_size(payload) == sizeof(s->confirm) &&
        CRYPTO_memcmp(g_bytes_get_data(payload, NULL), s->confirm, sizeof(s->confirm)) == 0;
    if (!s->result.key_confirmed) {
        g_set_error(&cause, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_CRYPTO,
                    _("The agent's confirmation does not match this session"));
        return fail(s, g_steal_pointer(&cause), error);
    }
    return finish(s);
}

static gboolean
expected_type(const SnpgVerifierSession *s, SnpgMsgType type)
{
    if (type == SNPG_MSG_ABORT)
        return TRUE;
    return type == (s->state == VERIFIER_WAIT_EVIDENCE ? SNPG_MSG_EVIDENCE : SNPG_MSG_DONE);
}

SnpgSessionStatus
snpg_verifier_session_feed(SnpgVerifierSession *s, const guint8 *data, gsize len,
                           GByteArray *out, GError **error)
{
    g_return_val_if_fail(s->state != VERIFIER_NEW, SNPG_SESSION_FAILED);

    while (is_waiting(s)) {
        gsize take;

        if (s->header_len < SNPG_PROTO_HEADER_LEN) {
            GError *cause = NULL;
            guint32 length;

            if (len == 0)
                break;
            take = MIN(len, SNPG_PROTO_HEADER_LEN - s->header_len);
            memcpy(s->header + s->header_len, data, take);
            s->header_len += take;
            data += take;
            len -= take;
            if (s->header_len < SNPG_PROTO_HEADER_LEN)
                break;
            /* The whole header is checked before a byte of payload is kept:
             * magic, version, flags, type, and the length bounds of the type. */
            if (!snpg_proto_parse_header(s->header, sizeof(s->header), &s->frame_type, &length,
                                         &cause))
                return fail(s, cause, error);
            if (!expected_type(s, s->frame_type))
                return fail_unexpected(s, s->frame_type, error);
            s->payload = g_malloc(length ? length : 1);
            s->payload_len = length;
            s->payload_have = 0;
        }
        take = MIN(len, (gsize)(s->payload_len - s->payload_have));
        if (take) {
            memcpy(s->payload + s->payload_have, data, take);
            s->payload_have += (guint32)take;
            data += take;
            len -= take;
        }
        if (s->payload_have < s->payload_len)
            break;
        {
            g_autoptr(GBytes) payload = g_bytes_new_take(g_steal_pointer(&s->payload), s->payload_len);
            SnpgSessionStatus status;

            s->header_len = 0;
            status = on_message(s, s->frame_type, payload, out, error);
            if (status != SNPG_SESSION_NEED_MORE)
                return status;
        }
    }
    return current_status(s, error);
}

SnpgSessionStatus
snpg_verifier_session_eof(SnpgVerifierSession *s, GError **error)
{
    if (s->state == VERIFIER_NEW || is_waiting(s)) {
        GError *cause = g_error_new_literal(SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_CLOSED,
                                            _("The peer closed the connection"));
        return fail(s, cause, error);
    }
    return current_status(s, error);
}

gint64
snpg_verifier_session_get_deadline(const SnpgVerifierSession *s)
{
    return s->deadline;
}

SnpgSessionStatus
snpg_verifier_session_check_deadline(SnpgVerifierSession *s, gint64 now, GError **error)
{
    if (is_waiting(s) && now >= s->deadline) {
        GError *cause = g_error_new_literal(SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_TIMEOUT,
                                            _("The peer did not answer in time"));
        return fail(s, cause, error);
    }
    return current_status(s, error);
}

SnpgSessionStatus
snpg_verifier_session_get_status(const SnpgVerifierSession *s)
{
    return current_status(s, NULL);
}

const SnpgVerifierResult *
snpg_verifier_session_result(const SnpgVerifierSession *s)
{
    return &s->result;
}

void
snpg_verifier_session_steal_result(SnpgVerifierSession *s, SnpgVerifierResult *ret)
{
    *ret = s->result;
    memset(&s->result, 0, sizeof(s->result));
}

/* --- the blocking verifier: one fd, a loop over the step machine ----------- */

/* Sends out completely by deadline (best effort when error is NULL). */
static gboolean
flush_out(int fd, GByteArray *out, gint64 deadline, GError **error)
{
    gboolean ok = out->len == 0 || snpg_proto_write_all(fd, out->data, out->len, deadline, error);

    g_byte_array_set_size(out, 0);
    return ok;
}

gboolean
snpg_session_run_verifier(int fd, const SnpgVerifierConfig *config,
                          SnpgVerifierResult *result, GError **error)
{
    g_autoptr(SnpgVerifierSession) s = snpg_verifier_session_new(config, error);
    g_autoptr(GByteArray) out = g_byte_array_new();
    g_autoptr(GError) local_error = NULL;
    SnpgSessionStatus status = SNPG_SESSION_NEED_MORE;

    if (!s)
        return FALSE;
    snpg_verifier_session_start(s, out);
    while (status == SNPG_SESSION_NEED_MORE) {
        guint8 buf[4096];
        g_autoptr(GError) wait_error = NULL;
        ssize_t n;

        if (!flush_out(fd, out, snpg_verifier_session_get_deadline(s), &local_error)) {
            status = SNPG_SESSION_FAILED;
            break;
        }
        if (!snpg_proto_wait_fd(fd, POLLIN, snpg_verifier_session_get_deadline(s), &wait_error)) {
            /* The session words its own timeout (which message was late). */
            if (g_error_matches(wait_error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_TIMEOUT)) {
                status = snpg_verifier_session_check_deadline(s, G_MAXINT64, &local_error);
            } else {
                g_propagate_error(&local_error, g_steal_pointer(&wait_error));
                status = SNPG_SESSION_FAILED;
            }
            break;
        }
        do {
            n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
            if (n < 0 && errno == ENOTSOCK)
                n = read(fd, buf, sizeof(buf));
        } while (n < 0 && errno == EINTR);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
        if (n < 0) {
            int saved = errno;
            g_set_error(&local_error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_IO,
                        _("Cannot receive from the peer: %s"), g_strerror(saved));
            status = SNPG_SESSION_FAILED;
            break;
        }
        status = n == 0 ? snpg_verifier_session_eof(s, &local_error)
                        : snpg_verifier_session_feed(s, buf, (gsize)n, out, &local_error);
    }
    /* What is left (REFUSE) goes out best effort: the verdict stands even
     * if the agent is gone. */
    flush_out(fd, out, g_get_monotonic_time() + verifier_timeout(config), NULL);
    snpg_verifier_session_steal_result(s, result);
    if (status != SNPG_SESSION_DONE) {
        g_propagate_error(error, g_steal_pointer(&local_error));
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
