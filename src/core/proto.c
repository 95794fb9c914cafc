/* The attestation protocol (docs/protocol.md): every byte from the peer is
 * hostile, so each decoder checks exact lengths and rejects trailing data. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "autocleanups.h"
#include "buf.h"
#include "i18n.h"
#include "proto.h"
#include "proto-priv.h"

G_DEFINE_QUARK(snpg-proto-error-quark, snpg_proto_error)

G_DEFINE_AUTOPTR_CLEANUP_FUNC(EVP_KDF, EVP_KDF_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(EVP_KDF_CTX, EVP_KDF_CTX_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(EVP_CIPHER, EVP_CIPHER_free)

static const guint8 magic[4] = { 'S', 'N', 'P', 'G' };
static const char transcript_label[] = "snpguard/v1";
static const char wrap_label[] = "snpguard/v1 key wrap";
static const char done_label[] = "snpguard/v1 done";
static const char auth_label[] = "snpguard/v1 verifier";

#define P384_PUB_LEN 97
#define X25519_PUB_LEN 32
#define GCM_TAG_LEN 16
#define OKM_LEN 76      /* aead key 32 | iv 12 | confirm key 32 */
#define EVIDENCE_DIGEST_LEN 48
#define REFUSAL_MIN (2 + 2 + 2)
#define REFUSAL_MAX (2 + 2 * SNPG_PROTO_REASONS_MAX + 2 + SNPG_PROTO_TEXT_MAX)

/* Per-type payload bounds: a frame outside them is dropped unread. */
static const struct {
    guint32 min, max;
} payload_bounds[] = {
    [SNPG_MSG_HELLO] = { SNPG_PROTO_NONCE_LEN + 2, SNPG_PROTO_NONCE_LEN + 2 },
    [SNPG_MSG_EVIDENCE] = { 2 + 2 + X25519_PUB_LEN + 4 + SNPG_PROTO_REPORT_LEN + 4, SNPG_PROTO_FRAME_MAX },
    [SNPG_MSG_KEY] = { 2 + X25519_PUB_LEN + GCM_TAG_LEN, 8192 },
    [SNPG_MSG_REFUSE] = { REFUSAL_MIN, REFUSAL_MAX },
    [SNPG_MSG_ABORT] = { REFUSAL_MIN, REFUSAL_MAX },
    [SNPG_MSG_DONE] = { SNPG_PROTO_CONFIRM_LEN, SNPG_PROTO_CONFIRM_LEN },
};

const char *
snpg_msg_type_to_string(SnpgMsgType type)
{
    switch (type) {
    case SNPG_MSG_HELLO: return "HELLO";
    case SNPG_MSG_EVIDENCE: return "EVIDENCE";
    case SNPG_MSG_KEY: return "KEY";
    case SNPG_MSG_REFUSE: return "REFUSE";
    case SNPG_MSG_ABORT: return "ABORT";
    case SNPG_MSG_DONE: return "DONE";
    }
    return "unknown";
}

const char *
snpg_proto_reason_to_string(guint code)
{
    switch (code) {
    case SNPG_PROTO_REASON_BINDING: return "binding";
    case SNPG_PROTO_REASON_VERIFIER: return "verifier-error";
    case SNPG_PROTO_REASON_NO_REPORT: return "no-report";
    case SNPG_PROTO_REASON_BAD_KEY: return "bad-key";
    case SNPG_PROTO_REASON_UNPINNED: return "unpinned";
    case SNPG_PROTO_REASON_NO_KEX: return "no-kex";
    case SNPG_PROTO_REASON_DELIVERY: return "delivery";
    case SNPG_PROTO_REASON_LUKS_UNCHECKED: return "luks-unchecked";
    case SNPG_PROTO_REASON_LUKS_HEADER: return "luks-header";
    case SNPG_PROTO_REASON_LUKS_OPEN: return "luks-open";
    case SNPG_PROTO_REASON_LUKS_KEY: return "luks-key";
    case SNPG_PROTO_REASON_VERITY: return "verity";
    default: return NULL;
    }
}

static gboolean
malformed(GError **error, const char *what)
{
    g_set_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_MALFORMED,
                _("Malformed protocol message: %s"), what);
    return FALSE;
}

static gboolean
crypto_failed(GError **error, const char *what)
{
    g_debug("OpenSSL error in %s: %lu", what, ERR_peek_last_error());
    ERR_clear_error();
    g_set_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_CRYPTO,
                _("Cryptographic operation failed: %s"), what);
    return FALSE;
}

/* --- framing ---------------------------------------------------------- */

gboolean
snpg_proto_parse_header(const guint8 *header, gsize len, SnpgMsgType *ret_type,
                        guint32 *ret_length, GError **error)
{
    SnpgBuf b;
    guint8 got_magic[4], version, type;
    guint16 flags;
    guint32 length;

    snpg_buf_init(&b, header, len);
    if (len != SNPG_PROTO_HEADER_LEN ||
        snpg_buf_get_bytes(&b, got_magic, sizeof(got_magic)) < 0 ||
        snpg_buf_get_u8(&b, &version) < 0 || snpg_buf_get_u8(&b, &type) < 0 ||
        snpg_buf_get_u16le(&b, &flags) < 0 || snpg_buf_get_u32le(&b, &length) < 0)
        return malformed(error, _("short header"));
    if (memcmp(got_magic, magic, sizeof(magic)) != 0)
        return malformed(error, _("bad magic"));
    if (version != SNPG_PROTO_VERSION) {
        g_set_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_MALFORMED,
                    _("Unsupported protocol version %u (this side speaks %u)"),
                    version, SNPG_PROTO_VERSION);
        return FALSE;
    }
    if (flags != 0)
        return malformed(error, _("reserved flags set"));
    if (type < SNPG_MSG_HELLO || type > SNPG_MSG_DONE) {
        g_set_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_MALFORMED,
                    _("Unknown protocol message type %u"), type);
        return FALSE;
    }
    if (length < payload_bounds[type].min || length > payload_bounds[type].max) {
        g_set_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_MALFORMED,
                    _("Protocol message %s has a length of %u bytes, outside %u to %u"),
                    snpg_msg_type_to_string(type), length, payload_bounds[type].min,
                    payload_bounds[type].max);
        return FALSE;
    }
    *ret_type = type;
    *ret_length = length;
    return TRUE;
}

GBytes *
snpg_proto_frame(SnpgMsgType type, const void *payload, gsize len)
{
    guint8 *frame;

    g_return_val_if_fail(len <= SNPG_PROTO_FRAME_MAX, NULL);
    frame = g_malloc(SNPG_PROTO_HEADER_LEN + len);
    memcpy(frame, magic, sizeof(magic));
    frame[4] = SNPG_PROTO_VERSION;
    frame[5] = (guint8)type;
    snpg_put_u16le(frame + 6, 0);
    snpg_put_u32le(frame + 8, (guint32)len);
    if (len)
        memcpy(frame + SNPG_PROTO_HEADER_LEN, payload, len);
    return g_bytes_new_take(frame, SNPG_PROTO_HEADER_LEN + len);
}

/* Waits until fd is ready for events or the deadline passes. */
gboolean
snpg_proto_wait_fd(int fd, short events, gint64 deadline, GError **error)
{
    for (;;) {
        struct pollfd pfd = { .fd = fd, .events = events };
        gint64 now = g_get_monotonic_time();
        int timeout_ms, r;

        if (deadline != G_MAXINT64 && now >= deadline) {
            g_set_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_TIMEOUT,
                        _("The peer did not answer in time"));
            return FALSE;
        }
        timeout_ms = deadline == G_MAXINT64 ? -1 : (int)MIN((deadline - now + 999) / 1000, G_MAXINT);
        r = poll(&pfd, 1, timeout_ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int saved = errno;
            g_set_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_IO,
                        _("Cannot wait for the peer: %s"), g_strerror(saved));
            return FALSE;
        }
        if (r > 0)
            return TRUE;
    }
}

/* Sockets are tried without waiting first and polled only when they would
 * block: most messages fit the socket buffer, so this saves a system call
 * per message. Character devices (virtio ports) are polled, then written. */
gboolean
snpg_proto_write_all(int fd, const guint8 *data, gsize len, gint64 deadline, GError **error)
{
    gboolean is_socket = TRUE;

    while (len > 0) {
        ssize_t n;

        if (is_socket) {
            /* MSG_NOSIGNAL: a peer that hangs up must not kill us with SIGPIPE. */
            n = send(fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0 && errno == ENOTSOCK) {
                is_socket = FALSE;
                continue;
            }
        } else {
            if (!snpg_proto_wait_fd(fd, POLLOUT, deadline, error))
                return FALSE;
            n = write(fd, data, len);
        }
        if (n < 0 && errno == EAGAIN) {
            if (!snpg_proto_wait_fd(fd, POLLOUT, deadline, error))
                return FALSE;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int saved = errno;
            g_set_error(error, SNPG_PROTO_ERROR,
                        saved == EPIPE ? SNPG_PROTO_ERROR_CLOSED : SNPG_PROTO_ERROR_IO,
                        _("Cannot send to the peer: %s"), g_strerror(saved));
            return FALSE;
        }
        data += n;
        len -= (gsize)n;
    }
    return TRUE;
}

static gboolean
read_all(int fd, guint8 *data, gsize len, gboolean expect_wait, gint64 deadline, GError **error)
{
    gboolean is_socket = TRUE;

    /* A message header usually has to be waited for (the peer is still
     * computing): poll first rather than fail a read; the payload that
     * follows is usually there already. */
    if (expect_wait && !snpg_proto_wait_fd(fd, POLLIN, deadline, error))
        return FALSE;

    while (len > 0) {
        ssize_t n;

        if (is_socket) {
            n = recv(fd, data, len, MSG_DONTWAIT);
            if (n < 0 && errno == ENOTSOCK) {
                is_socket = FALSE;
                continue;
            }
        } else {
            if (!snpg_proto_wait_fd(fd, POLLIN, deadline, error))
                return FALSE;
            n = read(fd, data, len);
        }
        if (n < 0 && errno == EAGAIN) {
            if (!snpg_proto_wait_fd(fd, POLLIN, deadline, error))
                return FALSE;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int saved = errno;
            g_set_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_IO,
                        _("Cannot receive from the peer: %s"), g_strerror(saved));
            return FALSE;
        }
        if (n == 0) {
            g_set_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_CLOSED,
                        _("The peer closed the connection"));
            return FALSE;
        }
        data += n;
        len -= (gsize)n;
    }
    return TRUE;
}

gboolean
snpg_proto_write_frame(int fd, SnpgMsgType type, const void *payload, gsize len,
                       gint64 deadline, GError **error)
{
    g_autoptr(GBytes) frame = snpg_proto_frame(type, payload, len);
    gsize size;
    const guint8 *data = g_bytes_get_data(frame, &size);

    return snpg_proto_write_all(fd, data, size, deadline, error);
}

gboolean
snpg_proto_read_frame(int fd, gint64 deadline, SnpgMsgType *ret_type,
                      GBytes **ret_payload, GError **error)
{
    guint8 header[SNPG_PROTO_HEADER_LEN];
    g_autofree guint8 *payload = NULL;
    SnpgMsgType type;
    guint32 length;

    if (!read_all(fd, header, sizeof(header), TRUE, deadline, error) ||
        !snpg_proto_parse_header(header, sizeof(header), &type, &length, error))
        return FALSE;
    /* length is bounded by payload_bounds, so this allocation is too. */
    payload = g_malloc(length ? length : 1);
    if (!read_all(fd, payload, length, FALSE, deadline, error))
        return FALSE;
    *ret_type = type;
    *ret_payload = g_bytes_new_take(g_steal_pointer(&payload), length);
    return TRUE;
}

/* --- messages --------------------------------------------------------- */

GBytes *
snpg_hello_encode(const SnpgHello *hello)
{
    guint8 out[SNPG_PROTO_NONCE_LEN + 2];

    memcpy(out, hello->nonce, SNPG_PROTO_NONCE_LEN);
    snpg_put_u16le(out + SNPG_PROTO_NONCE_LEN, hello->kex_mask);
    return g_bytes_new(out, sizeof(out));
}

gboolean
snpg_hello_decode(GBytes *payload, SnpgHello *ret, GError **error)
{
    SnpgBuf b;
    SnpgHello hello;
    gsize len;
    const guint8 *data = g_bytes_get_data(payload, &len);

    snpg_buf_init(&b, data, len);
    if (snpg_buf_get_bytes(&b, hello.nonce, sizeof(hello.nonce)) < 0 ||
        snpg_buf_get_u16le(&b, &hello.kex_mask) < 0 || snpg_buf_remaining(&b) != 0)
        return malformed(error, "HELLO");
    if (hello.kex_mask == 0 || (hello.kex_mask & ~(SNPG_KEX_BIT(SNPG_KEX_P384) |
                                                   SNPG_KEX_BIT(SNPG_KEX_X25519))))
        return malformed(error, _("HELLO offers no known key agreement"));
    *ret = hello;
    return TRUE;
}

gsize
snpg_kex_pub_len(SnpgKex kex)
{
    switch (kex) {
    case SNPG_KEX_P384: return P384_PUB_LEN;
    case SNPG_KEX_X25519: return X25519_PUB_LEN;
    }
    return 0;
}

void
snpg_evidence_clear(SnpgEvidence *ev)
{
    g_clear_pointer(&ev->pub, g_bytes_unref);
    g_clear_pointer(&ev->report, g_bytes_unref);
    g_clear_pointer(&ev->certs, g_bytes_unref);
}

GBytes *
snpg_evidence_encode(const SnpgEvidence *ev)
{
    g_autoptr(GByteArray) out = g_byte_array_new();
    gsize pub_len = g_bytes_get_size(ev->pub);
    gsize report_len = g_bytes_get_size(ev->report);
    gsize certs_len = ev->certs ? g_bytes_get_size(ev->certs) : 0;
    guint8 tmp[4];

    g_return_val_if_fail(pub_len <= G_MAXUINT16 && certs_len <= SNPG_PROTO_CERTS_MAX, NULL);
    snpg_put_u16le(tmp, (guint16)ev->kex);
    g_byte_array_append(out, tmp, 2);
    snpg_put_u16le(tmp, (guint16)pub_len);
    g_byte_array_append(out, tmp, 2);
    g_byte_array_append(out, g_bytes_get_data(ev->pub, NULL), (guint)pub_len);
    snpg_put_u32le(tmp, (guint32)report_len);
    g_byte_array_append(out, tmp, 4);
    g_byte_array_append(out, g_bytes_get_data(ev->report, NULL), (guint)report_len);
    snpg_put_u32le(tmp, (guint32)certs_len);
    g_byte_array_append(out, tmp, 4);
    if (certs_len)
        g_byte_array_append(out, g_bytes_get_data(ev->certs, NULL), (guint)certs_len);
    return g_byte_array_free_to_bytes(g_steal_pointer(&out));
}

gboolean
snpg_evidence_decode(GBytes *payload, SnpgEvidence *ret, GError **error)
{
    SnpgBuf b;
    gsize len;
    const guint8 *data = g_bytes_get_data(payload, &len);
    const guint8 *pub, *report, *certs;
    guint16 kex, pub_len;
    guint32 report_len, certs_len;

    snpg_buf_init(&b, data, len);
    if (snpg_buf_get_u16le(&b, &kex) < 0 || snpg_buf_get_u16le(&b, &pub_len) < 0)
        return malformed(error, "EVIDENCE");
    if ((kex != SNPG_KEX_P384 && kex != SNPG_KEX_X25519) || pub_len != snpg_kex_pub_len(kex))
        return malformed(error, _("EVIDENCE names an unknown key agreement or key size"));
    if (snpg_buf_peek_ptr(&b, &pub, pub_len) < 0 ||
        snpg_buf_get_u32le(&b, &report_len) < 0 || report_len != SNPG_PROTO_REPORT_LEN ||
        snpg_buf_peek_ptr(&b, &report, report_len) < 0 ||
        snpg_buf_get_u32le(&b, &certs_len) < 0 || certs_len > SNPG_PROTO_CERTS_MAX ||
        snpg_buf_peek_ptr(&b, &certs, certs_len) < 0 || snpg_buf_remaining(&b) != 0)
        return malformed(error, "EVIDENCE");
    ret->kex = kex;
    ret->pub = g_bytes_new(pub, pub_len);
    ret->report = g_bytes_new(report, report_len);
    ret->certs = g_bytes_new(certs, certs_len);
    return TRUE;
}

void
snpg_refusal_clear(SnpgRefusal *refusal)
{
    g_clear_pointer(&refusal->text, g_free);
    refusal->n_reasons = 0;
}

GBytes *
snpg_refusal_encode(const SnpgRefusal *refusal)
{
    g_autoptr(GByteArray) out = g_byte_array_new();
    gsize text_len = refusal->text ? strlen(refusal->text) : 0;
    guint8 tmp[2];

    g_return_val_if_fail(refusal->n_reasons >= 1 && refusal->n_reasons <= SNPG_PROTO_REASONS_MAX, NULL);
    /* Our own text: cut at the limit on a character boundary. */
    if (text_len > SNPG_PROTO_TEXT_MAX)
        text_len = (gsize)(g_utf8_find_prev_char(refusal->text, refusal->text + SNPG_PROTO_TEXT_MAX + 1) - refusal->text);
    snpg_put_u16le(tmp, (guint16)refusal->n_reasons);
    g_byte_array_append(out, tmp, 2);
    for (guint i = 0; i < refusal->n_reasons; i++) {
        snpg_put_u16le(tmp, refusal->reasons[i]);
        g_byte_array_append(out, tmp, 2);
    }
    snpg_put_u16le(tmp, (guint16)text_len);
    g_byte_array_append(out, tmp, 2);
    if (text_len)
        g_byte_array_append(out, (const guint8 *)refusal->text, (guint)text_len);
    return g_byte_array_free_to_bytes(g_steal_pointer(&out));
}

gboolean
snpg_refusal_decode(GBytes *payload, SnpgRefusal *ret, GError **error)
{
    SnpgBuf b;
    gsize len;
    const guint8 *data = g_bytes_get_data(payload, &len);
    const guint8 *text;
    guint16 count, text_len;
    guint16 reasons[SNPG_PROTO_REASONS_MAX];

    snpg_buf_init(&b, data, len);
    if (snpg_buf_get_u16le(&b, &count) < 0 || count < 1 || count > SNPG_PROTO_REASONS_MAX)
        return malformed(error, _("refusal reason count"));
    for (guint i = 0; i < count; i++)
        if (snpg_buf_get_u16le(&b, &reasons[i]) < 0)
            return malformed(error, _("refusal reasons"));
    if (snpg_buf_get_u16le(&b, &text_len) < 0 || text_len > SNPG_PROTO_TEXT_MAX ||
        snpg_buf_peek_ptr(&b, &text, text_len) < 0 || snpg_buf_remaining(&b) != 0)
        return malformed(error, _("refusal text"));
    if (memchr(text, 0, text_len) || !g_utf8_validate((const char *)text, text_len, NULL))
        return malformed(error, _("refusal text is not UTF-8"));
    memcpy(ret->reasons, reasons, count * sizeof(reasons[0]));
    ret->n_reasons = count;
    ret->text = g_strndup((const char *)text, text_len);
    return TRUE;
}

/* --- the key schedule ---------------------------------------------------- */

EVP_PKEY *
snpg_kex_generate(SnpgKex kex, GError **error)
{
    EVP_PKEY *key = NULL;

    switch (kex) {
    case SNPG_KEX_P384:
        key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
        break;
    case SNPG_KEX_X25519:
        key = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
        break;
    }
    if (!key)
        crypto_failed(error, "key generation");
    return key;
}

GBytes *
snpg_kex_export_pub(EVP_PKEY *key, SnpgKex kex, GError **error)
{
    guint8 out[P384_PUB_LEN];
    gsize len = 0;

    switch (kex) {
    case SNPG_KEX_P384:
        if (!EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                             out, sizeof(out), &len) || len != P384_PUB_LEN)
            return crypto_failed(error, "public key export"), NULL;
        break;
    case SNPG_KEX_X25519:
        len = X25519_PUB_LEN;
        if (!EVP_PKEY_get_raw_public_key(key, out, &len) || len != X25519_PUB_LEN)
            return crypto_failed(error, "public key export"), NULL;
        break;
    }
    return g_bytes_new(out, len);
}

/* A peer's public key; a P-384 point must lie on the curve. */
static EVP_PKEY *
import_pub(SnpgKex kex, GBytes *pub, GError **error)
{
    gsize len;
    const guint8 *data = g_bytes_get_data(pub, &len);
    g_autoptr(EVP_PKEY) key = NULL;

    if (len != snpg_kex_pub_len(kex))
        return malformed(error, _("public key size")), NULL;
    if (kex == SNPG_KEX_X25519) {
        key = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, data, len);
    } else {
        g_autoptr(EVP_PKEY_CTX) ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
        g_autoptr(EVP_PKEY_CTX) check = NULL;
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"P-384", 0),
            OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)data, len),
            OSSL_PARAM_construct_end(),
        };
        if (data[0] != 0x04 || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
            EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
            ERR_clear_error();
            g_set_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_CRYPTO,
                        _("The peer's public key is not a valid P-384 point"));
            return NULL;
        }
        /* On the curve is enough: P-384 has cofactor 1, so the order check
         * of a full public_check (another scalar multiplication) adds nothing. */
        check = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
        if (!check || EVP_PKEY_public_check_quick(check) <= 0) {
            ERR_clear_error();
            g_set_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_CRYPTO,
                        _("The peer's public key is not a valid P-384 point"));
            return NULL;
        }
    }
    if (!key)
        return crypto_failed(error, "public key import"), NULL;
    return g_steal_pointer(&key);
}

void
snpg_proto_report_data(const SnpgHello *hello, SnpgKex kex, GBytes *agent_pub,
                       guint8 ret[SNPG_PROTO_REPORT_DATA_LEN])
{
    g_autoptr(GBytes) hello_bytes = snpg_hello_encode(hello);
    g_autoptr(EVP_MD_CTX) ctx = EVP_MD_CTX_new();
    gsize pub_len;
    const guint8 *pub = g_bytes_get_data(agent_pub, &pub_len);
    guint8 head[1 + 2 + 2];
    unsigned int out_len = 0;

    head[0] = SNPG_PROTO_VERSION;
    snpg_put_u16le(head + 1, (guint16)kex);
    snpg_put_u16le(head + 3, (guint16)pub_len);
    /* Allocation failure in these calls is not recoverable input handling. */
    g_assert(ctx && EVP_DigestInit_ex(ctx, EVP_sha512(), NULL));
    EVP_DigestUpdate(ctx, transcript_label, sizeof(transcript_label) - 1);
    EVP_DigestUpdate(ctx, head, 1);
    EVP_DigestUpdate(ctx, g_bytes_get_data(hello_bytes, NULL), g_bytes_get_size(hello_bytes));
    EVP_DigestUpdate(ctx, head + 1, 4);
    EVP_DigestUpdate(ctx, pub, pub_len);
    EVP_DigestFinal_ex(ctx, ret, &out_len);
    g_assert(out_len == SNPG_PROTO_REPORT_DATA_LEN);
}

/* Z = ECDH(own, peer); okm = HKDF-SHA-384(Z, salt = nonce, info). */
static SnpgSecret *
derive_okm(EVP_PKEY *own, EVP_PKEY *peer, const guint8 nonce[SNPG_PROTO_NONCE_LEN],
           const guint8 report_data[SNPG_PROTO_REPORT_DATA_LEN],
           const guint8 evidence_digest[EVIDENCE_DIGEST_LEN], GBytes *verifier_pub,
           GError **error)
{
    g_autoptr(EVP_PKEY_CTX) ctx = EVP_PKEY_CTX_new_from_pkey(NULL, own, NULL);
    g_autoptr(EVP_KDF) kdf = NULL;
    g_autoptr(EVP_KDF_CTX) kctx = NULL;
    g_autoptr(SnpgSecret) z = NULL;
    g_autoptr(SnpgSecret) okm = NULL;
    g_autoptr(GByteArray) info = g_byte_array_new();
    gsize z_len = 0;

    if (!ctx || EVP_PKEY_derive_init(ctx) <= 0 || EVP_PKEY_derive_set_peer(ctx, peer) <= 0 ||
        EVP_PKEY_derive(ctx, NULL, &z_len) <= 0 || z_len == 0 || z_len > 64)
        return crypto_failed(error, "ECDH"), NULL;
    z = snpg_secret_new(z_len);
    if (EVP_PKEY_derive(ctx, snpg_secret_data(z), &z_len) <= 0)
        return crypto_failed(error, "ECDH"), NULL;

    g_byte_array_append(info, (const guint8 *)wrap_label, sizeof(wrap_label) - 1);
    g_byte_array_append(info, report_data, SNPG_PROTO_REPORT_DATA_LEN);
    g_byte_array_append(info, evidence_digest, EVIDENCE_DIGEST_LEN);
    g_byte_array_append(info, g_bytes_get_data(verifier_pub, NULL),
                        (guint)g_bytes_get_size(verifier_pub));

    kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA384", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, snpg_secret_data(z), z_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)nonce, SNPG_PROTO_NONCE_LEN),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info->data, info->len),
        OSSL_PARAM_construct_end(),
    };
    okm = snpg_secret_new(OKM_LEN);
    if (!kctx || EVP_KDF_derive(kctx, snpg_secret_data(okm), OKM_LEN, params) <= 0)
        return crypto_failed(error, "HKDF"), NULL;
    return g_steal_pointer(&okm);
}

/* SHA-384 of the EVIDENCE payload as sent or received: binds the parts the
 * report's signature does not cover (lengths, the certificate table). */
static void
evidence_digest(GBytes *evidence, guint8 ret[EVIDENCE_DIGEST_LEN])
{
    unsigned int len = 0;

    g_assert(EVP_Digest(g_bytes_get_data(evidence, NULL), g_bytes_get_size(evidence), ret, &len,
                        EVP_sha384(), NULL) && len == EVIDENCE_DIGEST_LEN);
}

static void
confirm_tag(SnpgSecret *okm, guint8 ret[SNPG_PROTO_CONFIRM_LEN])
{
    guint8 mac[48];
    size_t mac_len = 0;

    g_assert(EVP_Q_mac(NULL, "HMAC", NULL, "SHA384", NULL, snpg_secret_data(okm) + 44, 32,
                       (const guint8 *)done_label, sizeof(done_label) - 1,
                       mac, sizeof(mac), &mac_len));
    memcpy(ret, mac, SNPG_PROTO_CONFIRM_LEN);
}

void
snpg_key_payload_clear(SnpgKeyPayload *payload)
{
    g_clear_pointer(&payload->disk_key, snpg_secret_free);
    g_clear_pointer(&payload->luks_cipher, g_free);
    payload->luks_key_bits = 0;
    payload->has_luks_header_sha256 = FALSE;
}

static void
put_item(guint8 *out, gsize *off, guint16 type, const void *value, gsize len)
{
    snpg_put_u16le(out + *off, type);
    snpg_put_u16le(out + *off + 2, (guint16)len);
    memcpy(out + *off + 4, value, len);
    *off += 4 + len;
}

/* The sealed items live in a SnpgSecret: they hold the disk key. */
static SnpgSecret *
encode_items(const SnpgKeyPayload *p)
{
    gsize key_len = p->disk_key ? snpg_secret_len(p->disk_key) : 0;
    gsize cipher_len = p->luks_cipher ? strlen(p->luks_cipher) : 0;
    gsize total = (key_len ? 4 + key_len : 0) + (cipher_len ? 4 + cipher_len : 0) +
                  (p->luks_key_bits ? 8 : 0) + (p->has_luks_header_sha256 ? 36 : 0);
    g_autoptr(SnpgSecret) out = NULL;
    gsize off = 0;
    guint8 bits[4];

    if (total == 0)
        return NULL;
    out = snpg_secret_new(total);
    if (key_len)
        put_item(snpg_secret_data(out), &off, SNPG_ITEM_DISK_KEY,
                 snpg_secret_data(p->disk_key), key_len);
    if (cipher_len)
        put_item(snpg_secret_data(out), &off, SNPG_ITEM_LUKS_CIPHER, p->luks_cipher, cipher_len);
    if (p->luks_key_bits) {
        snpg_put_u32le(bits, p->luks_key_bits);
        put_item(snpg_secret_data(out), &off, SNPG_ITEM_LUKS_KEY_BITS, bits, 4);
    }
    if (p->has_luks_header_sha256)
        put_item(snpg_secret_data(out), &off, SNPG_ITEM_LUKS_HEADER_SHA256,
                 p->luks_header_sha256, 32);
    g_assert(off == total);
    return g_steal_pointer(&out);
}

gboolean
snpg_proto_decode_items(const guint8 *data, gsize len, SnpgKeyPayload *ret, GError **error)
{
    g_auto(SnpgKeyPayload) p = { 0 };
    SnpgBuf b;

    snpg_buf_init(&b, data, len);
    while (snpg_buf_remaining(&b) > 0) {
        guint16 type, item_len;
        const guint8 *value;

        if (snpg_buf_get_u16le(&b, &type) < 0 || snpg_buf_get_u16le(&b, &item_len) < 0 ||
            snpg_buf_peek_ptr(&b, &value, item_len) < 0)
            return malformed(error, _("sealed item"));
        switch (type) {
        case SNPG_ITEM_DISK_KEY:
            if (p.disk_key || item_len == 0 || item_len > SNPG_PROTO_DISK_KEY_MAX)
                return malformed(error, _("disk key item"));
            p.disk_key = snpg_secret_new_from_data(value, item_len);
            break;
        case SNPG_ITEM_LUKS_CIPHER:
            if (p.luks_cipher || item_len == 0 || item_len > 64 || memchr(value, 0, item_len) ||
                !g_utf8_validate((const char *)value, item_len, NULL))
                return malformed(error, _("cipher item"));
            p.luks_cipher = g_strndup((const char *)value, item_len);
            break;
        case SNPG_ITEM_LUKS_KEY_BITS:
            if (p.luks_key_bits || item_len != 4)
                return malformed(error, _("key size item"));
            memcpy(&p.luks_key_bits, value, 4);
            p.luks_key_bits = GUINT32_FROM_LE(p.luks_key_bits);
            if (p.luks_key_bits == 0)
                return malformed(error, _("key size item"));
            break;
        case SNPG_ITEM_LUKS_HEADER_SHA256:
            if (p.has_luks_header_sha256 || item_len != 32)
                return malformed(error, _("header digest item"));
            memcpy(p.luks_header_sha256, value, 32);
            p.has_luks_header_sha256 = TRUE;
            break;
        default:
            return malformed(error, _("unknown sealed item"));
        }
    }
    *ret = p;
    memset(&p, 0, sizeof(p));
    return TRUE;
}

/* The verifier's signature over a KEY message: everything the agent checks
 * is covered, so only the pinned verifier can have sent it. */
static GBytes *
auth_message(const guint8 report_data[SNPG_PROTO_REPORT_DATA_LEN],
             const guint8 ev_digest[EVIDENCE_DIGEST_LEN], const guint8 *pub, gsize pub_len,
             const guint8 *sealed, gsize sealed_len)
{
    GByteArray *m = g_byte_array_new();
    guint8 len16[2];

    g_byte_array_append(m, (const guint8 *)auth_label, sizeof(auth_label) - 1);
    g_byte_array_append(m, report_data, SNPG_PROTO_REPORT_DATA_LEN);
    g_byte_array_append(m, ev_digest, EVIDENCE_DIGEST_LEN);
    snpg_put_u16le(len16, (guint16)pub_len);
    g_byte_array_append(m, len16, 2);
    g_byte_array_append(m, pub, (guint)pub_len);
    g_byte_array_append(m, sealed, (guint)sealed_len);
    return g_byte_array_free_to_bytes(m);
}

gboolean
snpg_proto_identity_pin(EVP_PKEY *identity, guint8 ret[SNPG_PROTO_PIN_LEN], GError **error)
{
    guint8 raw[SNPG_PROTO_IDENTITY_PUB_LEN];
    size_t raw_len = sizeof(raw);
    unsigned int md_len = 0;

    if (EVP_PKEY_get_base_id(identity) != EVP_PKEY_ED25519 ||
        !EVP_PKEY_get_raw_public_key(identity, raw, &raw_len) || raw_len != sizeof(raw) ||
        !EVP_Digest(raw, raw_len, ret, &md_len, EVP_sha256(), NULL) || md_len != SNPG_PROTO_PIN_LEN) {
        ERR_clear_error();
        g_set_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_CRYPTO,
                    _("A verifier identity must be an Ed25519 key"));
        return FALSE;
    }
    return TRUE;
}

GBytes *
snpg_proto_seal_key(const SnpgHello *hello, SnpgKex kex, GBytes *agent_pub, GBytes *evidence,
                    const SnpgKeyPayload *payload, EVP_PKEY *identity,
                    guint8 ret_confirm[SNPG_PROTO_CONFIRM_LEN], GError **error)
{
    return snpg_proto_seal_key_with_ephemeral(hello, kex, agent_pub, evidence, payload, identity,
                                              NULL, ret_confirm, error);
}

GBytes *
snpg_proto_seal_key_with_ephemeral(const SnpgHello *hello, SnpgKex kex, GBytes *agent_pub,
                                   GBytes *evidence, const SnpgKeyPayload *payload,
                                   EVP_PKEY *identity, EVP_PKEY *ephemeral,
                                   guint8 ret_confirm[SNPG_PROTO_CONFIRM_LEN], GError **error)
{
    guint8 report_data[SNPG_PROTO_REPORT_DATA_LEN];
    guint8 ev_digest[EVIDENCE_DIGEST_LEN];
    g_autoptr(EVP_PKEY) peer = NULL;
    g_autoptr(EVP_PKEY) own = NULL;
    g_autoptr(GBytes) own_pub = NULL;
    g_autoptr(SnpgSecret) okm = NULL;
    g_autoptr(SnpgSecret) items = NULL;
    g_autoptr(EVP_CIPHER_CTX) cctx = NULL;
    g_autoptr(EVP_CIPHER) aes = NULL;
    g_autoptr(GByteArray) aad = g_byte_array_new();
    g_autofree guint8 *sealed = NULL;
    g_autoptr(GByteArray) out = g_byte_array_new();
    guint8 auth[2 + SNPG_PROTO_AUTH_LEN] = { 0 };
    gsize pub_len, items_len, sealed_len;
    int n = 0, done = 0;

    if (ephemeral && EVP_PKEY_up_ref(ephemeral))
        own = ephemeral;
    if (!(peer = import_pub(kex, agent_pub, error)) ||
        (!own && !(own = snpg_kex_generate(kex, error))) ||
        !(own_pub = snpg_kex_export_pub(own, kex, error)))
        return NULL;
    snpg_proto_report_data(hello, kex, agent_pub, report_data);
    evidence_digest(evidence, ev_digest);
    if (!(okm = derive_okm(own, peer, hello->nonce, report_data, ev_digest, own_pub, error)))
        return NULL;

    items = encode_items(payload);
    items_len = items ? snpg_secret_len(items) : 0;
    pub_len = g_bytes_get_size(own_pub);
    sealed_len = items_len + GCM_TAG_LEN;
    sealed = g_malloc(sealed_len);

    g_byte_array_append(aad, report_data, sizeof(report_data));
    g_byte_array_append(aad, ev_digest, sizeof(ev_digest));
    g_byte_array_append(aad, g_bytes_get_data(own_pub, NULL), (guint)pub_len);
    aes = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    cctx = EVP_CIPHER_CTX_new();
    if (!aes || !cctx ||
        !EVP_EncryptInit_ex2(cctx, aes, snpg_secret_data(okm), snpg_secret_data(okm) + 32, NULL) ||
        !EVP_EncryptUpdate(cctx, NULL, &n, aad->data, (int)aad->len) ||
        (items_len && !EVP_EncryptUpdate(cctx, sealed, &done, snpg_secret_data(items), (int)items_len)) ||
        !EVP_EncryptFinal_ex(cctx, sealed + done, &n) ||
        !EVP_CIPHER_CTX_ctrl(cctx, EVP_CTRL_GCM_GET_TAG, GCM_TAG_LEN, sealed + items_len))
        return crypto_failed(error, "AES-GCM seal"), NULL;

    /* Signed by the verifier's identity, when it has one (docs/protocol.md). */
    if (identity) {
        g_autoptr(GBytes) msg = auth_message(report_data, ev_digest, g_bytes_get_data(own_pub, NULL),
                                             pub_len, sealed, sealed_len);
        g_autoptr(EVP_MD_CTX) md = EVP_MD_CTX_new();
        size_t raw_len = SNPG_PROTO_IDENTITY_PUB_LEN, sig_len = SNPG_PROTO_AUTH_LEN - SNPG_PROTO_IDENTITY_PUB_LEN;

        snpg_put_u16le(auth, SNPG_PROTO_AUTH_LEN);
        if (EVP_PKEY_get_base_id(identity) != EVP_PKEY_ED25519 ||
            !EVP_PKEY_get_raw_public_key(identity, auth + 2, &raw_len) ||
            raw_len != SNPG_PROTO_IDENTITY_PUB_LEN || !md ||
            EVP_DigestSignInit(md, NULL, NULL, NULL, identity) != 1 ||
            EVP_DigestSign(md, auth + 2 + SNPG_PROTO_IDENTITY_PUB_LEN, &sig_len,
                           g_bytes_get_data(msg, NULL), g_bytes_get_size(msg)) != 1 ||
            sig_len != SNPG_PROTO_AUTH_LEN - SNPG_PROTO_IDENTITY_PUB_LEN)
            return crypto_failed(error, "verifier signature"), NULL;
    }
    {
        guint8 len16[2];
        snpg_put_u16le(len16, (guint16)pub_len);
        g_byte_array_append(out, len16, 2);
        g_byte_array_append(out, g_bytes_get_data(own_pub, NULL), (guint)pub_len);
        g_byte_array_append(out, auth, identity ? sizeof(auth) : 2);
        g_byte_array_append(out, sealed, (guint)sealed_len);
    }
    confirm_tag(okm, ret_confirm);
    return g_byte_array_free_to_bytes(g_steal_pointer(&out));
}

/* With a pin, KEY must carry the pinned verifier's valid signature. */
static gboolean
check_auth(const guint8 *auth, guint16 auth_len, const guint8 *verifier_pin, GBytes *msg,
           GError **error)
{
    g_autoptr(EVP_PKEY) key = NULL;
    g_autoptr(EVP_MD_CTX) md = NULL;
    guint8 pin[SNPG_PROTO_PIN_LEN];
    unsigned int pin_len = 0;

    if (!verifier_pin)
        return TRUE;
    if (auth_len != SNPG_PROTO_AUTH_LEN) {
        g_set_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_UNAUTHENTICATED,
                    _("The key is not signed by a verifier, and this agent accepts keys from "
                      "its pinned verifier only"));
        return FALSE;
    }
    if (!EVP_Digest(auth, SNPG_PROTO_IDENTITY_PUB_LEN, pin, &pin_len, EVP_sha256(), NULL) ||
        CRYPTO_memcmp(pin, verifier_pin, SNPG_PROTO_PIN_LEN) != 0) {
        g_set_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_UNAUTHENTICATED,
                    _("The key is signed by a verifier other than the pinned one"));
        return FALSE;
    }
    key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, auth, SNPG_PROTO_IDENTITY_PUB_LEN);
    md = EVP_MD_CTX_new();
    if (!key || !md || EVP_DigestVerifyInit(md, NULL, NULL, NULL, key) != 1 ||
        EVP_DigestVerify(md, auth + SNPG_PROTO_IDENTITY_PUB_LEN,
                         SNPG_PROTO_AUTH_LEN - SNPG_PROTO_IDENTITY_PUB_LEN,
                         g_bytes_get_data(msg, NULL), g_bytes_get_size(msg)) != 1) {
        ERR_clear_error();
        g_set_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_UNAUTHENTICATED,
                    _("The pinned verifier's signature on the key does not verify"));
        return FALSE;
    }
    return TRUE;
}

gboolean
snpg_proto_open_key(const SnpgHello *hello, SnpgKex kex,
                    EVP_PKEY *agent_key, GBytes *agent_pub, GBytes *evidence, GBytes *key_msg,
                    const guint8 *verifier_pin,
                    SnpgKeyPayload *ret, guint8 ret_confirm[SNPG_PROTO_CONFIRM_LEN],
                    GError **error)
{
    guint8 report_data[SNPG_PROTO_REPORT_DATA_LEN];
    guint8 ev_digest[EVIDENCE_DIGEST_LEN];
    g_autoptr(GBytes) verifier_pub = NULL;
    g_autoptr(EVP_PKEY) peer = NULL;
    g_autoptr(SnpgSecret) okm = NULL;
    g_autoptr(SnpgSecret) items = NULL;
    g_autoptr(EVP_CIPHER_CTX) cctx = NULL;
    g_autoptr(EVP_CIPHER) aes = NULL;
    g_autoptr(GByteArray) aad = g_byte_array_new();
    SnpgBuf b;
    gsize len;
    const guint8 *data = g_bytes_get_data(key_msg, &len);
    const guint8 *pub, *sealed, *auth = NULL;
    guint16 pub_len, auth_len;
    gsize sealed_len;
    int n = 0, done = 0;

    snpg_buf_init(&b, data, len);
    /* The plaintext buffer below is sealed_len + 1 bytes and a SnpgSecret
     * holds at most SNPG_SECRET_MAX: so sealed_len < SNPG_SECRET_MAX (the
     * KEY frame itself may be up to 8192 bytes, so this bound is what keeps
     * a peer's sealed_len of exactly SNPG_SECRET_MAX from a NULL secret). */
    if (snpg_buf_get_u16le(&b, &pub_len) < 0 || pub_len != snpg_kex_pub_len(kex) ||
        snpg_buf_peek_ptr(&b, &pub, pub_len) < 0 ||
        snpg_buf_get_u16le(&b, &auth_len) < 0 ||
        (auth_len != 0 && auth_len != SNPG_PROTO_AUTH_LEN) ||
        snpg_buf_peek_ptr(&b, &auth, auth_len) < 0 ||
        snpg_buf_remaining(&b) < GCM_TAG_LEN ||
        snpg_buf_remaining(&b) - GCM_TAG_LEN >= SNPG_SECRET_MAX)
        return malformed(error, "KEY");
    sealed_len = snpg_buf_remaining(&b) - GCM_TAG_LEN;
    snpg_buf_peek_ptr(&b, &sealed, sealed_len + GCM_TAG_LEN);

    snpg_proto_report_data(hello, kex, agent_pub, report_data);
    evidence_digest(evidence, ev_digest);
    {
        g_autoptr(GBytes) msg = auth_message(report_data, ev_digest, pub, pub_len, sealed,
                                             sealed_len + GCM_TAG_LEN);
        if (!check_auth(auth, auth_len, verifier_pin, msg, error))
            return FALSE;
    }
    verifier_pub = g_bytes_new(pub, pub_len);
    if (!(peer = import_pub(kex, verifier_pub, error)))
        return FALSE;
    if (!(okm = derive_okm(agent_key, peer, hello->nonce, report_data, ev_digest, verifier_pub,
                           error)))
        return FALSE;

    g_byte_array_append(aad, report_data, sizeof(report_data));
    g_byte_array_append(aad, ev_digest, sizeof(ev_digest));
    g_byte_array_append(aad, pub, pub_len);
    /* One spare byte: the secret is never empty, and Final may write 0 bytes. */
    items = snpg_secret_new(sealed_len + 1);
    aes = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    cctx = EVP_CIPHER_CTX_new();
    if (!aes || !cctx ||
        !EVP_DecryptInit_ex2(cctx, aes, snpg_secret_data(okm), snpg_secret_data(okm) + 32, NULL) ||
        !EVP_DecryptUpdate(cctx, NULL, &n, aad->data, (int)aad->len) ||
        (sealed_len && !EVP_DecryptUpdate(cctx, snpg_secret_data(items), &done, sealed, (int)sealed_len)) ||
        !EVP_CIPHER_CTX_ctrl(cctx, EVP_CTRL_GCM_SET_TAG, GCM_TAG_LEN, (void *)(sealed + sealed_len)) ||
        EVP_DecryptFinal_ex(cctx, snpg_secret_data(items) + done, &n) <= 0) {
        ERR_clear_error();
        g_set_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_CRYPTO,
                    _("The sealed key failed authentication: it was not made for this session"));
        return FALSE;
    }
    if (!snpg_proto_decode_items(snpg_secret_data(items), sealed_len, ret, error))
        return FALSE;
    confirm_tag(okm, ret_confirm);
    return TRUE;
}
