/* One attestation session over a byte stream, for each side.
 *
 * The state machines of docs/protocol.md: the verifier sends a fresh nonce,
 * checks the evidence through a callback (the report verifier, with the
 * expected REPORT_DATA) and releases the key at most once; the agent answers
 * with a report bound to its ephemeral key and opens the sealed key. */
#pragma once

#include <glib.h>

#include "proto.h"

/* Verification callback: TRUE when the evidence is accepted. On rejection
 * it returns FALSE and fills ret_refusal (reason codes and text); a GError is
 * only for failures to run the check at all (then the session ends without
 * telling the agent why). */
typedef gboolean (*SnpgSessionVerifyFunc)(GBytes *report, GBytes *certs,
                                          const guint8 expected_report_data[SNPG_PROTO_REPORT_DATA_LEN],
                                          SnpgRefusal *ret_refusal, gpointer user_data,
                                          GError **error);

typedef struct {
    SnpgSessionVerifyFunc verify;
    gpointer user_data;
    guint16 kex_mask;              /* 0: both */
    gint64 read_timeout_us;        /* each read; 0: 30 s */
    const SnpgKeyPayload *payload; /* what to release; NULL: verify only */
    /* Optional: picks what to release once the evidence is accepted (a
     * verifier serving several VMs chooses by the verified report); its
     * answer replaces payload. Called at most once per session. */
    const SnpgKeyPayload *(*choose_payload)(GBytes *report, gpointer choose_data);
    gpointer choose_data;
    EVP_PKEY *identity;            /* Ed25519: signs KEY so agents can pin it */
} SnpgVerifierConfig;

typedef enum {
    SNPG_SESSION_VERDICT_ACCEPTED,         /* verified; the key (if any) was sent */
    SNPG_SESSION_VERDICT_REJECTED,         /* the evidence failed verification */
} SnpgSessionVerdict;

typedef struct {
    SnpgSessionVerdict verdict;
    SnpgRefusal refusal;           /* the reasons, when rejected */
    GBytes *report;                /* the report received (for the record) */
    gboolean key_sent;
    gboolean key_confirmed;        /* DONE arrived and matched */
    /* Accepted, KEY sent, and the agent answered ABORT instead of DONE: it
     * could not hand the key on, or refused expectations it cannot check.
     * Its reasons, the text escaped for printing; empty (n_reasons 0)
     * otherwise. The verdict stays ACCEPTED, key_confirmed FALSE. */
    SnpgRefusal delivery_refusal;
} SnpgVerifierResult;

void snpg_verifier_result_clear(SnpgVerifierResult *result);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SnpgVerifierResult, snpg_verifier_result_clear)

/* --- the verifier as a step machine ----------------------------------
 *
 * For a caller that serves many sessions from one event loop (snpguard
 * watch over libvirt streams): the session does no I/O. The caller feeds it
 * the bytes it receives, sends whatever the session appends to `out`, and
 * enforces the session's deadline. One object per connection, used by one
 * thread at a time; the verification callback runs inside feed. */
typedef enum {
    SNPG_SESSION_NEED_MORE,        /* waiting for the peer: feed more bytes */
    SNPG_SESSION_DONE,             /* a verdict: see the result; send out, close */
    SNPG_SESSION_FAILED,           /* a transport or protocol failure: send out, close */
} SnpgSessionStatus;

typedef struct _SnpgVerifierSession SnpgVerifierSession;

/* Draws the session's nonce. config is copied (identity is referenced);
 * config->payload and what choose_payload returns must outlive the session. */
SnpgVerifierSession *snpg_verifier_session_new(const SnpgVerifierConfig *config, GError **error);
void snpg_verifier_session_free(SnpgVerifierSession *session);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SnpgVerifierSession, snpg_verifier_session_free)

/* Appends HELLO to out and starts the clock: call once, first. */
void snpg_verifier_session_start(SnpgVerifierSession *session, GByteArray *out);
/* Consumes len bytes from the peer (any split: a byte at a time or several
 * frames at once) and appends what to send to out. Once the session is
 * finished, further bytes are ignored and the final status is returned
 * again. FAILED always comes with error set. */
SnpgSessionStatus snpg_verifier_session_feed(SnpgVerifierSession *session, const guint8 *data,
                                             gsize len, GByteArray *out, GError **error);
/* The peer closed its side (or the stream broke): a failure unless the
 * session had already finished. */
SnpgSessionStatus snpg_verifier_session_eof(SnpgVerifierSession *session, GError **error);
/* When the peer's next message is due (g_get_monotonic_time() µs), or
 * G_MAXINT64 when the session is not waiting (not started, or finished). */
gint64 snpg_verifier_session_get_deadline(const SnpgVerifierSession *session);
/* Fails the session with SNPG_PROTO_ERROR_TIMEOUT if now is past the
 * deadline; otherwise returns the current status. */
SnpgSessionStatus snpg_verifier_session_check_deadline(SnpgVerifierSession *session, gint64 now,
                                                       GError **error);
SnpgSessionStatus snpg_verifier_session_get_status(const SnpgVerifierSession *session);
/* The result so far (complete once DONE; on FAILED, key_sent says whether
 * a key left). Owned by the session. */
const SnpgVerifierResult *snpg_verifier_session_result(const SnpgVerifierSession *session);
/* Moves the result into ret (which must be empty), leaving the session's empty. */
void snpg_verifier_session_steal_result(SnpgVerifierSession *session, SnpgVerifierResult *ret);

/* Runs one session on fd, blocking: a loop over the step machine above.
 * TRUE when it reached a verdict (accepted or rejected, see result); FALSE
 * on a transport or protocol failure, with nothing released unless
 * result->key_sent says so. */
gboolean snpg_session_run_verifier(int fd, const SnpgVerifierConfig *config,
                                   SnpgVerifierResult *result, GError **error);

/* Report callback of the agent: a report with exactly this REPORT_DATA,
 * and optionally the certificate table of an extended report. */
typedef gboolean (*SnpgSessionReportFunc)(const guint8 report_data[SNPG_PROTO_REPORT_DATA_LEN],
                                          GBytes **ret_report, GBytes **ret_certs,
                                          gpointer user_data, GError **error);

/* Delivery callback of the agent: hands the opened payload on (writes and
 * syncs the key file, writes the descriptor, flushes stdout). TRUE only once
 * the key reached its destination: DONE, which the verifier records as a
 * confirmed release, is sent only then. On FALSE it fills ret_refusal (or
 * leaves it empty for SNPG_PROTO_REASON_DELIVERY); the agent sends it as
 * ABORT. */
typedef gboolean (*SnpgSessionDeliverFunc)(const SnpgKeyPayload *payload, SnpgRefusal *ret_refusal,
                                           gpointer user_data);

typedef struct {
    SnpgSessionReportFunc get_report;
    gpointer user_data;
    SnpgKex kex;                   /* 0: the best the verifier offers */
    const guint8 *verifier_pin;    /* SNPG_PROTO_PIN_LEN bytes: accept keys
                                    * only from this verifier; NULL: any */
    gint64 read_timeout_us;        /* 0: 120 s (verification may fetch) */
    /* NULL: DONE is sent as soon as the key opened and the payload is left
     * in the result for the caller (tests). Otherwise called once, with
     * deliver_data, before DONE; the payload is wiped after it. */
    SnpgSessionDeliverFunc deliver;
    gpointer deliver_data;
} SnpgAgentConfig;

typedef struct {
    gboolean refused;              /* TRUE: see refusal; FALSE: see payload */
    SnpgRefusal refusal;
    SnpgKeyPayload payload;        /* without a deliver callback */
    gboolean delivered;            /* deliver took the key (TRUE even if DONE
                                    * could not be sent afterwards) */
    gboolean delivery_failed;      /* deliver refused it: ABORT sent, nothing
                                    * kept; a new attempt would fail the same way */
} SnpgAgentResult;

void snpg_agent_result_clear(SnpgAgentResult *result);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SnpgAgentResult, snpg_agent_result_clear)

/* Runs one session on fd. TRUE when it ended with a key (delivered, with a
 * deliver callback) or a refusal; FALSE on a transport or protocol failure
 * (retry with a new connection) or a failed delivery (delivery_failed). */
gboolean snpg_session_run_agent(int fd, const SnpgAgentConfig *config,
                                SnpgAgentResult *result, GError **error);
