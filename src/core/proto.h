/* The attestation protocol: frames, messages and the key schedule.
 * The bytes are documented in docs/protocol.md; keep the two in step. */
#pragma once

#include <glib.h>
#include <openssl/evp.h>

#include "secret.h"

#define SNPG_PROTO_VERSION 1
#define SNPG_PROTO_HEADER_LEN 12
#define SNPG_PROTO_NONCE_LEN 32
#define SNPG_PROTO_REPORT_DATA_LEN 64
#define SNPG_PROTO_REPORT_LEN 1184
#define SNPG_PROTO_CONFIRM_LEN 32
/* Longest payload of any type: bounds every allocation a peer can cause. */
#define SNPG_PROTO_FRAME_MAX 32768
#define SNPG_PROTO_CERTS_MAX 28672
#define SNPG_PROTO_TEXT_MAX 1024
#define SNPG_PROTO_REASONS_MAX 64
#define SNPG_PROTO_DISK_KEY_MAX 512
/* The verifier's identity: an Ed25519 key, pinned in the guest by the
 * SHA-256 of its raw public key (on the measured kernel command line). */
#define SNPG_PROTO_IDENTITY_PUB_LEN 32
#define SNPG_PROTO_AUTH_LEN (32 + 64)     /* identity public key | signature */
#define SNPG_PROTO_PIN_LEN 32

/* Message types: part of the wire format, never renumbered. */
typedef enum {
    SNPG_MSG_HELLO = 1,
    SNPG_MSG_EVIDENCE = 2,
    SNPG_MSG_KEY = 3,
    SNPG_MSG_REFUSE = 4,
    SNPG_MSG_ABORT = 5,
    SNPG_MSG_DONE = 6,
} SnpgMsgType;

/* Key agreement: values on the wire (EVIDENCE) and bits in HELLO. */
typedef enum {
    SNPG_KEX_P384 = 1,
    SNPG_KEX_X25519 = 2,
} SnpgKex;
#define SNPG_KEX_BIT(kex) (1u << ((kex) - 1))

/* Sealed KEY payload items (docs/protocol.md). */
typedef enum {
    SNPG_ITEM_DISK_KEY = 1,
    SNPG_ITEM_LUKS_CIPHER = 2,
    SNPG_ITEM_LUKS_KEY_BITS = 3,
    SNPG_ITEM_LUKS_HEADER_SHA256 = 4,
} SnpgItemType;

/* Reason codes that the protocol layer itself sends, above the verifier's
 * stable codes (docs/reference-values.md). Never renumbered. */
enum {
    SNPG_PROTO_REASON_BINDING = 1000,     /* REPORT_DATA does not bind this session */
    SNPG_PROTO_REASON_VERIFIER = 1001,    /* the verifier could not run its checks */
    SNPG_PROTO_REASON_NO_REPORT = 1100,   /* ABORT: the agent could not get a report */
    SNPG_PROTO_REASON_BAD_KEY = 1101,     /* ABORT: the sealed key did not open */
    SNPG_PROTO_REASON_UNPINNED = 1102,    /* ABORT: KEY not from the pinned verifier */
    SNPG_PROTO_REASON_NO_KEX = 1103,      /* ABORT: no key agreement both sides accept */
    SNPG_PROTO_REASON_DELIVERY = 1104,    /* ABORT: the key could not be handed on */
    SNPG_PROTO_REASON_LUKS_UNCHECKED = 1105, /* ABORT: LUKS2 expectations this agent cannot check */
    SNPG_PROTO_REASON_LUKS_HEADER = 1106, /* ABORT: the root's LUKS2 header is not the expected one */
    SNPG_PROTO_REASON_LUKS_OPEN = 1107,   /* ABORT: the root device could not be read or activated */
    SNPG_PROTO_REASON_LUKS_KEY = 1108,    /* ABORT: the key opens no keyslot of the expected header */
    SNPG_PROTO_REASON_VERITY = 1109,      /* ABORT: the dm-verity root failed its root hash */
};

/* The name of a reason code above (e.g. "delivery"), or NULL. */
const char *snpg_proto_reason_to_string(guint code);

#define SNPG_PROTO_ERROR snpg_proto_error_quark()
GQuark snpg_proto_error_quark(void);
typedef enum {
    SNPG_PROTO_ERROR_MALFORMED,   /* a frame or payload breaks the format */
    SNPG_PROTO_ERROR_UNEXPECTED,  /* a valid message at the wrong time */
    SNPG_PROTO_ERROR_TIMEOUT,     /* a deadline passed */
    SNPG_PROTO_ERROR_CLOSED,      /* the peer closed the stream */
    SNPG_PROTO_ERROR_IO,
    SNPG_PROTO_ERROR_CRYPTO,      /* authentication failed or a key is invalid */
    SNPG_PROTO_ERROR_ABORTED,     /* the agent gave up (ABORT) */
    SNPG_PROTO_ERROR_UNAUTHENTICATED, /* KEY not signed by the pinned verifier */
} SnpgProtoError;

const char *snpg_msg_type_to_string(SnpgMsgType type);

/* --- framing --------------------------------------------------------- */

/* Validates a header; on success returns the type and payload length. */
gboolean snpg_proto_parse_header(const guint8 *header, gsize len, SnpgMsgType *ret_type,
                                 guint32 *ret_length, GError **error);
/* A whole frame (header + payload). */
GBytes *snpg_proto_frame(SnpgMsgType type, const void *payload, gsize len);

/* Blocking I/O on a stream fd with an absolute deadline (g_get_monotonic_time
 * microseconds). read_frame never allocates more than the type allows. */
gboolean snpg_proto_write_frame(int fd, SnpgMsgType type, const void *payload, gsize len,
                                gint64 deadline, GError **error);
gboolean snpg_proto_read_frame(int fd, gint64 deadline, SnpgMsgType *ret_type,
                               GBytes **ret_payload, GError **error);

/* --- messages -------------------------------------------------------- */

typedef struct {
    guint8 nonce[SNPG_PROTO_NONCE_LEN];
    guint16 kex_mask;
} SnpgHello;

GBytes *snpg_hello_encode(const SnpgHello *hello);
gboolean snpg_hello_decode(GBytes *payload, SnpgHello *ret, GError **error);

typedef struct {
    SnpgKex kex;
    GBytes *pub;
    GBytes *report;
    GBytes *certs;     /* may be empty, never NULL after decode */
} SnpgEvidence;

void snpg_evidence_clear(SnpgEvidence *ev);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SnpgEvidence, snpg_evidence_clear)
GBytes *snpg_evidence_encode(const SnpgEvidence *ev);
gboolean snpg_evidence_decode(GBytes *payload, SnpgEvidence *ret, GError **error);

typedef struct {
    guint16 reasons[SNPG_PROTO_REASONS_MAX];
    guint n_reasons;
    char *text;
} SnpgRefusal;

void snpg_refusal_clear(SnpgRefusal *refusal);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SnpgRefusal, snpg_refusal_clear)
/* REFUSE and ABORT share one layout. */
GBytes *snpg_refusal_encode(const SnpgRefusal *refusal);
gboolean snpg_refusal_decode(GBytes *payload, SnpgRefusal *ret, GError **error);

/* --- the key schedule ------------------------------------------------- */

/* The pin of a verifier identity: SHA-256 of its raw Ed25519 public key. */
gboolean snpg_proto_identity_pin(EVP_PKEY *identity, guint8 ret[SNPG_PROTO_PIN_LEN], GError **error);

/* Public key bytes as sent on the wire for the given kex. */
gsize snpg_kex_pub_len(SnpgKex kex);
EVP_PKEY *snpg_kex_generate(SnpgKex kex, GError **error);
GBytes *snpg_kex_export_pub(EVP_PKEY *key, SnpgKex kex, GError **error);

/* REPORT_DATA = SHA-512(transcript): version, the whole HELLO (nonce and
 * the offered key agreements, so a relay cannot steer the choice) and the
 * agent's key. */
void snpg_proto_report_data(const SnpgHello *hello, SnpgKex kex, GBytes *agent_pub,
                            guint8 ret[SNPG_PROTO_REPORT_DATA_LEN]);

/* The disk key and what the agent checks before it uses it. */
typedef struct {
    SnpgSecret *disk_key;        /* NULL: attestation only (integrity workflow) */
    char *luks_cipher;           /* NULL: not checked */
    guint32 luks_key_bits;       /* 0: not checked */
    guint8 luks_header_sha256[32]; /* of the header area: both metadata copies and the
                                    * keyslots area, what luksHeaderBackup writes
                                    * (docs/protocol.md) */
    gboolean has_luks_header_sha256;
} SnpgKeyPayload;

void snpg_key_payload_clear(SnpgKeyPayload *payload);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SnpgKeyPayload, snpg_key_payload_clear)

/* Verifier side: seals the payload to the agent's public key. evidence is
 * the EVIDENCE payload as received (its digest is bound into the keys).
 * Returns the KEY message payload, and the confirmation DONE must carry. */
GBytes *snpg_proto_seal_key(const SnpgHello *hello, SnpgKex kex, GBytes *agent_pub,
                            GBytes *evidence, const SnpgKeyPayload *payload,
                            EVP_PKEY *identity /* Ed25519, or NULL: unsigned */,
                            guint8 ret_confirm[SNPG_PROTO_CONFIRM_LEN], GError **error);

/* Agent side: opens a KEY message with its private key; evidence is the
 * EVIDENCE payload as sent. Fills ret and the confirmation for DONE. */
gboolean snpg_proto_open_key(const SnpgHello *hello, SnpgKex kex,
                             EVP_PKEY *agent_key, GBytes *agent_pub, GBytes *evidence,
                             GBytes *key_msg,
                             const guint8 *verifier_pin /* 32 bytes, or NULL: any verifier */,
                             SnpgKeyPayload *ret, guint8 ret_confirm[SNPG_PROTO_CONFIRM_LEN],
                             GError **error);
