/* The attestation protocol codec and key schedule (docs/protocol.md). */
#include "config.h"

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "autocleanups.h"
#include "buf.h"
#include "hex.h"
#include "identity.h"
#include "proto.h"
#include "proto-priv.h"
#include "testutil.h"

static const guint8 test_nonce[SNPG_PROTO_NONCE_LEN] = {
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
    17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
};
static const SnpgHello test_hello_msg = {
    .nonce = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
               17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32 },
    .kex_mask = 3,
};

static void
test_header(void)
{
    g_autoptr(GBytes) frame = snpg_proto_frame(SNPG_MSG_DONE, "0123456789abcdef0123456789abcdef", 32);
    const guint8 *data = g_bytes_get_data(frame, NULL);
    guint8 h[SNPG_PROTO_HEADER_LEN];
    g_autoptr(GError) error = NULL;
    SnpgMsgType type = 0;
    guint32 len = 0;

    g_assert_cmpuint(g_bytes_get_size(frame), ==, SNPG_PROTO_HEADER_LEN + 32);
    g_assert_true(snpg_proto_parse_header(data, SNPG_PROTO_HEADER_LEN, &type, &len, &error));
    g_assert_no_error(error);
    g_assert_cmpint(type, ==, SNPG_MSG_DONE);
    g_assert_cmpuint(len, ==, 32);

    /* Each header byte changed on its own must be refused, except the
     * length bytes, which are refused when out of the type's bounds. */
    for (gsize i = 0; i < 8; i++) {
        memcpy(h, data, sizeof(h));
        h[i] ^= 0x40;
        g_assert_false(snpg_proto_parse_header(h, sizeof(h), &type, &len, &error));
        g_assert_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_MALFORMED);
        g_clear_error(&error);
    }
    memcpy(h, data, sizeof(h));
    h[8] = 33;                              /* DONE is exactly 32 bytes */
    g_assert_false(snpg_proto_parse_header(h, sizeof(h), &type, &len, &error));
    g_clear_error(&error);
    memcpy(h, data, sizeof(h));
    h[5] = SNPG_MSG_EVIDENCE;
    snpg_put_u32le(h + 8, SNPG_PROTO_FRAME_MAX + 1);
    g_assert_false(snpg_proto_parse_header(h, sizeof(h), &type, &len, &error));
    g_clear_error(&error);
    h[5] = 7;                               /* unknown type */
    snpg_put_u32le(h + 8, 32);
    g_assert_false(snpg_proto_parse_header(h, sizeof(h), &type, &len, &error));
    g_assert_nonnull(strstr(error->message, "type 7"));
    g_clear_error(&error);
    g_assert_false(snpg_proto_parse_header(data, SNPG_PROTO_HEADER_LEN - 1, &type, &len, &error));
    g_clear_error(&error);
}

static void
test_hello(void)
{
    SnpgHello hello = { .kex_mask = SNPG_KEX_BIT(SNPG_KEX_P384) | SNPG_KEX_BIT(SNPG_KEX_X25519) };
    SnpgHello back = { 0 };
    g_autoptr(GBytes) enc = NULL;
    g_autoptr(GError) error = NULL;
    guint8 buf[64];

    memcpy(hello.nonce, test_nonce, sizeof(test_nonce));
    enc = snpg_hello_encode(&hello);
    g_assert_true(snpg_hello_decode(enc, &back, &error));
    g_assert_cmpmem(back.nonce, 32, test_nonce, 32);
    g_assert_cmpuint(back.kex_mask, ==, hello.kex_mask);

    memcpy(buf, g_bytes_get_data(enc, NULL), 34);
    for (gsize n = 0; n < 36; n++) {
        g_autoptr(GBytes) cut = NULL;
        if (n == 34)
            continue;
        cut = g_bytes_new(buf, n);
        g_assert_false(snpg_hello_decode(cut, &back, &error));
        g_clear_error(&error);
    }
    snpg_put_u16le(buf + 32, 0x4);          /* no known key agreement */
    g_autoptr(GBytes) bad = g_bytes_new(buf, 34);
    g_assert_false(snpg_hello_decode(bad, &back, &error));
    g_assert_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_MALFORMED);
}

static GBytes *
make_evidence_payload(SnpgKex kex, gsize certs_len)
{
    g_autofree guint8 *report = g_malloc(SNPG_PROTO_REPORT_LEN);
    g_autofree guint8 *certs = g_malloc0(certs_len + 1);
    g_autofree guint8 *pub = g_malloc(snpg_kex_pub_len(kex));
    g_auto(SnpgEvidence) ev = { 0 };

    for (gsize i = 0; i < SNPG_PROTO_REPORT_LEN; i++)
        report[i] = (guint8)i;
    memset(pub, 0x04, snpg_kex_pub_len(kex));
    ev.kex = kex;
    ev.pub = g_bytes_new(pub, snpg_kex_pub_len(kex));
    ev.report = g_bytes_new(report, SNPG_PROTO_REPORT_LEN);
    ev.certs = g_bytes_new(certs, certs_len);
    return snpg_evidence_encode(&ev);
}

static void
test_evidence(void)
{
    g_autoptr(GBytes) enc = make_evidence_payload(SNPG_KEX_P384, 100);
    g_auto(SnpgEvidence) ev = { 0 };
    g_autoptr(GError) error = NULL;
    gsize len;
    const guint8 *data = g_bytes_get_data(enc, &len);

    g_assert_true(snpg_evidence_decode(enc, &ev, &error));
    g_assert_no_error(error);
    g_assert_cmpint(ev.kex, ==, SNPG_KEX_P384);
    g_assert_cmpuint(g_bytes_get_size(ev.pub), ==, 97);
    g_assert_cmpuint(g_bytes_get_size(ev.report), ==, SNPG_PROTO_REPORT_LEN);
    g_assert_cmpuint(g_bytes_get_size(ev.certs), ==, 100);
    snpg_evidence_clear(&ev);

    /* Every truncation, and one trailing byte, is refused. */
    for (gsize n = 0; n < len; n += (n < 8 ? 1 : 37)) {
        g_autoptr(GBytes) cut = g_bytes_new(data, n);
        g_assert_false(snpg_evidence_decode(cut, &ev, &error));
        g_assert_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_MALFORMED);
        g_clear_error(&error);
    }
    g_autofree guint8 *longer = g_malloc0(len + 1);
    memcpy(longer, data, len);
    g_autoptr(GBytes) extended = g_bytes_new(longer, len + 1);
    g_assert_false(snpg_evidence_decode(extended, &ev, &error));
    g_clear_error(&error);

    /* Key size must match the key agreement; the report size is exact. */
    g_autofree guint8 *mangled = g_memdup2(data, len);
    snpg_put_u16le(mangled, SNPG_KEX_X25519);
    g_autoptr(GBytes) wrong_kex = g_bytes_new(mangled, len);
    g_assert_false(snpg_evidence_decode(wrong_kex, &ev, &error));
    g_clear_error(&error);
    memcpy(mangled, data, len);
    snpg_put_u32le(mangled + 4 + 97, SNPG_PROTO_REPORT_LEN - 1);
    g_autoptr(GBytes) wrong_report = g_bytes_new(mangled, len);
    g_assert_false(snpg_evidence_decode(wrong_report, &ev, &error));
    g_clear_error(&error);

    /* A certificate blob over the limit is refused. */
    g_autoptr(GBytes) max = make_evidence_payload(SNPG_KEX_X25519, SNPG_PROTO_CERTS_MAX);
    gsize max_len = g_bytes_get_size(max);
    g_autofree guint8 *over = g_malloc0(max_len + 1);
    memcpy(over, g_bytes_get_data(max, NULL), max_len);
    snpg_put_u32le(over + 4 + 32 + 4 + SNPG_PROTO_REPORT_LEN, SNPG_PROTO_CERTS_MAX + 1);
    g_autoptr(GBytes) big = g_bytes_new(over, max_len + 1);
    g_assert_true(snpg_evidence_decode(max, &ev, &error));
    snpg_evidence_clear(&ev);
    g_assert_false(snpg_evidence_decode(big, &ev, &error));
    g_clear_error(&error);
}

static void
test_refusal(void)
{
    g_auto(SnpgRefusal) r = { .reasons = { 3, 9 }, .n_reasons = 2 };
    g_auto(SnpgRefusal) back = { 0 };
    g_autoptr(GBytes) enc = NULL;
    g_autoptr(GError) error = NULL;
    gsize len;

    r.text = g_strdup("measurement: not the expected one");
    enc = snpg_refusal_encode(&r);
    g_assert_true(snpg_refusal_decode(enc, &back, &error));
    g_assert_cmpuint(back.n_reasons, ==, 2);
    g_assert_cmpuint(back.reasons[1], ==, 9);
    g_assert_cmpstr(back.text, ==, r.text);
    snpg_refusal_clear(&back);

    const guint8 *data = g_bytes_get_data(enc, &len);
    g_autofree guint8 *m = g_memdup2(data, len);
    m[len - 3] = 0;                          /* NUL inside the text */
    g_autoptr(GBytes) nul = g_bytes_new(m, len);
    g_assert_false(snpg_refusal_decode(nul, &back, &error));
    g_clear_error(&error);
    memcpy(m, data, len);
    m[len - 3] = 0xff;                       /* not UTF-8 */
    g_autoptr(GBytes) bad_utf8 = g_bytes_new(m, len);
    g_assert_false(snpg_refusal_decode(bad_utf8, &back, &error));
    g_clear_error(&error);
    memcpy(m, data, len);
    snpg_put_u16le(m, 0);                    /* no reasons */
    g_autoptr(GBytes) none = g_bytes_new(m, len);
    g_assert_false(snpg_refusal_decode(none, &back, &error));
    g_clear_error(&error);
}

typedef struct {
    SnpgKex kex;
} KexCase;

static void
make_payload(SnpgKeyPayload *p)
{
    p->disk_key = snpg_secret_new_from_data("0123456789abcdef0123456789abcdef", 32);
    p->luks_cipher = g_strdup("aes-xts-plain64");
    p->luks_key_bits = 512;
    memset(p->luks_header_sha256, 0x5a, 32);
    p->has_luks_header_sha256 = TRUE;
}

static void
test_seal_open(gconstpointer data)
{
    const KexCase *c = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(EVP_PKEY) agent = snpg_kex_generate(c->kex, &error);
    g_autoptr(EVP_PKEY) other = snpg_kex_generate(c->kex, &error);
    g_autoptr(GBytes) agent_pub = snpg_kex_export_pub(agent, c->kex, &error);
    g_autoptr(GBytes) other_pub = snpg_kex_export_pub(other, c->kex, &error);
    g_auto(SnpgKeyPayload) sent = { 0 };
    g_auto(SnpgKeyPayload) got = { 0 };
    g_autoptr(GBytes) msg = NULL;
    guint8 confirm_v[SNPG_PROTO_CONFIRM_LEN], confirm_a[SNPG_PROTO_CONFIRM_LEN];
    SnpgHello other_hello = test_hello_msg, other_mask = test_hello_msg;
    guint8 rd1[64], rd2[64];
    gsize len;

    g_assert_no_error(error);
    make_payload(&sent);
    g_autoptr(GBytes) evidence = g_bytes_new_static("the EVIDENCE payload", 20);
    g_autoptr(GBytes) other_evidence = g_bytes_new_static("the EVIDENCE payloaD", 20);
    msg = snpg_proto_seal_key(&test_hello_msg, c->kex, agent_pub, evidence, &sent, NULL, confirm_v, &error);
    g_assert_no_error(error);
    g_assert_true(snpg_proto_open_key(&test_hello_msg, c->kex, agent, agent_pub, evidence, msg, NULL, &got,
                                      confirm_a, &error));
    g_assert_no_error(error);
    g_assert_true(snpg_secret_equal(sent.disk_key, got.disk_key));
    g_assert_cmpstr(got.luks_cipher, ==, "aes-xts-plain64");
    g_assert_cmpuint(got.luks_key_bits, ==, 512);
    g_assert_true(got.has_luks_header_sha256);
    g_assert_cmpmem(got.luks_header_sha256, 32, sent.luks_header_sha256, 32);
    g_assert_cmpmem(confirm_v, 32, confirm_a, 32);
    snpg_key_payload_clear(&got);

    /* The ciphertext never contains the key in the clear. */
    const guint8 *m = g_bytes_get_data(msg, &len);
    g_assert_null(memmem(m, len, "0123456789abcdef", 16));

    /* Another nonce, another agent key: no key. */
    other_hello.nonce[0] ^= 1;
    other_mask.kex_mask = SNPG_KEX_BIT(c->kex);
    g_assert_false(snpg_proto_open_key(&other_mask, c->kex, agent, agent_pub, evidence, msg, NULL, &got,
                                       confirm_a, &error));
    g_assert_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_CRYPTO);
    g_clear_error(&error);
    g_assert_false(snpg_proto_open_key(&other_hello, c->kex, agent, agent_pub, evidence, msg, NULL, &got,
                                       confirm_a, &error));
    g_assert_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_CRYPTO);
    g_clear_error(&error);
    g_assert_false(snpg_proto_open_key(&test_hello_msg, c->kex, other, other_pub, evidence, msg, NULL, &got,
                                       confirm_a, &error));
    g_clear_error(&error);
    g_assert_null(got.disk_key);

    /* Evidence changed on the way: the keys differ, nothing opens. */
    g_assert_false(snpg_proto_open_key(&test_hello_msg, c->kex, agent, agent_pub, other_evidence,
                                       msg, NULL, &got, confirm_a, &error));
    g_assert_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_CRYPTO);
    g_clear_error(&error);
    g_assert_null(got.disk_key);

    /* A relay that changes any byte of KEY makes the session fail. */
    for (gsize i = 0; i < len; i++) {
        g_autofree guint8 *flip = g_memdup2(m, len);
        g_autoptr(GBytes) mangled = NULL;
        flip[i] ^= 0x01;
        mangled = g_bytes_new(flip, len);
        g_assert_false(snpg_proto_open_key(&test_hello_msg, c->kex, agent, agent_pub, evidence, mangled, NULL, &got,
                                           confirm_a, &error));
        g_clear_error(&error);
        g_assert_null(got.disk_key);
    }

    /* REPORT_DATA binds the nonce and the agent key. */
    snpg_proto_report_data(&test_hello_msg, c->kex, agent_pub, rd1);
    snpg_proto_report_data(&other_hello, c->kex, agent_pub, rd2);
    g_assert_true(memcmp(rd1, rd2, 64) != 0);
    snpg_proto_report_data(&other_mask, c->kex, agent_pub, rd2);
    g_assert_true(memcmp(rd1, rd2, 64) != 0);
    snpg_proto_report_data(&test_hello_msg, c->kex, other_pub, rd2);
    g_assert_true(memcmp(rd1, rd2, 64) != 0);
}

/* A KEY whose sealed part is as long as the largest secret (the frame
 * bound allows it) must be refused as malformed, not crash the agent
 * before authentication (the plaintext buffer is one byte longer). */
static void
test_open_key_oversized(void)
{
    g_autoptr(EVP_PKEY) agent = snpg_kex_generate(SNPG_KEX_X25519, NULL);
    g_autoptr(EVP_PKEY) verifier = snpg_kex_generate(SNPG_KEX_X25519, NULL);
    g_autoptr(GBytes) agent_pub = snpg_kex_export_pub(agent, SNPG_KEX_X25519, NULL);
    g_autoptr(GBytes) verifier_pub = snpg_kex_export_pub(verifier, SNPG_KEX_X25519, NULL);
    g_autoptr(GBytes) evidence = g_bytes_new_static("x", 1);
    g_auto(SnpgKeyPayload) got = { 0 };
    guint8 confirm[SNPG_PROTO_CONFIRM_LEN];

    for (gsize sealed = SNPG_SECRET_MAX - 1; sealed <= SNPG_SECRET_MAX + 1; sealed++) {
        gsize len = 2 + 32 + 2 + sealed + 16;    /* pub, no signature, sealed, tag */
        g_autofree guint8 *msg = g_malloc0(len);
        g_autoptr(GBytes) key_msg = NULL;
        g_autoptr(GError) error = NULL;

        g_assert_cmpuint(len, <=, 8192);   /* within KEY's frame bound */
        snpg_put_u16le(msg, 32);
        memcpy(msg + 2, g_bytes_get_data(verifier_pub, NULL), 32);
        key_msg = g_bytes_new(msg, len);
        g_assert_false(snpg_proto_open_key(&test_hello_msg, SNPG_KEX_X25519, agent, agent_pub,
                                           evidence, key_msg, NULL, &got, confirm, &error));
        if (sealed >= SNPG_SECRET_MAX)
            g_assert_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_MALFORMED);
        else
            g_assert_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_CRYPTO);
        g_assert_null(got.disk_key);
    }
}

/* A KEY signed by the verifier's identity opens only with that identity's
 * pin; an unsigned one, or one signed by another key, does not. */
static void
test_verifier_identity(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(EVP_PKEY) agent = snpg_kex_generate(SNPG_KEX_X25519, &error);
    g_autoptr(GBytes) agent_pub = snpg_kex_export_pub(agent, SNPG_KEX_X25519, &error);
    g_autoptr(EVP_PKEY) identity = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    g_autoptr(EVP_PKEY) impostor = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    g_autoptr(EVP_PKEY) not_ed25519 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    g_autoptr(GBytes) evidence = g_bytes_new_static("evidence", 8);
    g_auto(SnpgKeyPayload) sent = { 0 };
    guint8 pin[SNPG_PROTO_PIN_LEN], confirm[SNPG_PROTO_CONFIRM_LEN];
    struct { EVP_PKEY *signer; gboolean flip; gboolean opens; } cases[] = {
        { identity, FALSE, TRUE },
        { NULL, FALSE, FALSE },         /* unsigned */
        { impostor, FALSE, FALSE },     /* another verifier */
        { identity, TRUE, FALSE },      /* a changed signature */
    };

    g_assert_true(snpg_proto_identity_pin(identity, pin, &error));
    {
        guint8 other[SNPG_PROTO_PIN_LEN];
        g_assert_false(snpg_proto_identity_pin(not_ed25519, other, &error));
        g_assert_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_CRYPTO);
        g_clear_error(&error);
    }
    make_payload(&sent);
    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_auto(SnpgKeyPayload) got = { 0 };
        g_autoptr(GBytes) msg = snpg_proto_seal_key(&test_hello_msg, SNPG_KEX_X25519, agent_pub,
                                                    evidence, &sent, cases[i].signer, confirm, &error);
        gsize len;
        g_autofree guint8 *bytes = g_bytes_unref_to_data(g_steal_pointer(&msg), &len);
        g_autoptr(GBytes) key_msg = NULL;
        gboolean opened;

        g_assert_no_error(error);
        if (cases[i].flip)
            bytes[2 + 32 + 2 + 32 + 5] ^= 0x10;   /* inside the signature */
        key_msg = g_bytes_new(bytes, len);
        opened = snpg_proto_open_key(&test_hello_msg, SNPG_KEX_X25519, agent, agent_pub, evidence,
                                     key_msg, pin, &got, confirm, &error);
        g_assert_cmpint(opened, ==, cases[i].opens);
        if (opened) {
            g_assert_true(snpg_secret_equal(got.disk_key, sent.disk_key));
        } else {
            g_assert_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_UNAUTHENTICATED);
            g_assert_null(got.disk_key);
            g_clear_error(&error);
        }
    }
}

static void
test_pin_from_cmdline(void)
{
    static const char pin_a[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    static const char pin_b[] = "ff112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    g_autofree char *one = g_strdup_printf("ro quiet snpguard.verifier=%s console=ttyS0", pin_a);
    g_autofree char *twice = g_strdup_printf("snpguard.verifier=%s x snpguard.verifier=%s", pin_a, pin_a);
    g_autofree char *two = g_strdup_printf("snpguard.verifier=%s snpguard.verifier=%s", pin_a, pin_b);
    g_autoptr(GError) error = NULL;
    guint8 pin[SNPG_PROTO_PIN_LEN] = { 0 };

    g_assert_true(snpg_identity_pin_from_cmdline(one, pin, &error));
    g_assert_no_error(error);
    g_assert_cmphex(pin[0], ==, 0x00);
    g_assert_cmphex(pin[31], ==, 0xff);
    g_assert_true(snpg_identity_pin_from_cmdline(twice, pin, &error));
    g_assert_false(snpg_identity_pin_from_cmdline("ro quiet", pin, &error));
    g_assert_no_error(error);
    /* A near miss is not the parameter. */
    g_assert_false(snpg_identity_pin_from_cmdline("xsnpguard.verifier=00 snpguard.verifierx=00", pin, &error));
    g_assert_no_error(error);
    g_assert_false(snpg_identity_pin_from_cmdline(two, pin, &error));
    g_assert_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_MALFORMED);
    g_clear_error(&error);
    g_assert_false(snpg_identity_pin_from_cmdline("snpguard.verifier=abcd", pin, &error));
    g_assert_nonnull(error);
}

static void
test_bad_peer_point(void)
{
    g_autoptr(GError) error = NULL;
    g_auto(SnpgKeyPayload) sent = { 0 };
    guint8 point[97], confirm[32];

    memset(point, 0x11, sizeof(point));
    point[0] = 0x04;                         /* uncompressed, but not on the curve */
    g_autoptr(GBytes) pub = g_bytes_new(point, sizeof(point));
    g_autoptr(GBytes) evidence = g_bytes_new_static("x", 1);
    make_payload(&sent);
    g_assert_null(snpg_proto_seal_key(&test_hello_msg, SNPG_KEX_P384, pub, evidence, &sent, NULL, confirm, &error));
    g_assert_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_CRYPTO);
}

static void
test_stream(void)
{
    int sv[2];
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) payload = NULL;
    SnpgMsgType type = 0;
    guint8 header[SNPG_PROTO_HEADER_LEN] = { 'S', 'N', 'P', 'G', 1, SNPG_MSG_EVIDENCE, 0, 0 };

    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
    g_assert_true(snpg_proto_write_frame(sv[0], SNPG_MSG_DONE, test_nonce, 32,
                                         g_get_monotonic_time() + G_USEC_PER_SEC, &error));
    g_assert_true(snpg_proto_read_frame(sv[1], g_get_monotonic_time() + G_USEC_PER_SEC,
                                        &type, &payload, &error));
    g_assert_no_error(error);
    g_assert_cmpint(type, ==, SNPG_MSG_DONE);
    g_assert_cmpmem(g_bytes_get_data(payload, NULL), g_bytes_get_size(payload), test_nonce, 32);

    /* A silent peer times out. */
    gint64 start = g_get_monotonic_time();
    g_assert_false(snpg_proto_read_frame(sv[1], start + 100 * 1000, &type, &payload, &error));
    g_assert_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_TIMEOUT);
    g_assert_cmpint(g_get_monotonic_time() - start, >=, 100 * 1000);
    g_clear_error(&error);

    /* An oversized length is refused from the header alone. */
    snpg_put_u32le(header + 8, 0x7fffffff);
    g_assert_cmpint(write(sv[0], header, sizeof(header)), ==, sizeof(header));
    g_assert_false(snpg_proto_read_frame(sv[1], g_get_monotonic_time() + G_USEC_PER_SEC,
                                         &type, &payload, &error));
    g_assert_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_MALFORMED);
    g_clear_error(&error);

    /* A truncated frame, then close: the reader sees the close. */
    snpg_put_u32le(header + 8, 32);
    header[5] = SNPG_MSG_DONE;
    g_assert_cmpint(write(sv[0], header, sizeof(header)), ==, sizeof(header));
    g_assert_cmpint(write(sv[0], test_nonce, 5), ==, 5);
    close(sv[0]);
    g_assert_false(snpg_proto_read_frame(sv[1], g_get_monotonic_time() + G_USEC_PER_SEC,
                                         &type, &payload, &error));
    g_assert_error(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_CLOSED);
    g_clear_error(&error);

    /* Writing to a closed peer is an error, not SIGPIPE. */
    g_assert_false(snpg_proto_write_frame(sv[1], SNPG_MSG_DONE, test_nonce, 32,
                                          g_get_monotonic_time() + G_USEC_PER_SEC, &error));
    g_assert_nonnull(error);
    close(sv[1]);
}

/* --- known-answer vectors (docs/protocol.md, "Test vectors") ----------
 *
 * Every input fixed, every intermediate value pinned, each computed here a
 * second time from OpenSSL primitives alone: a change to the key schedule
 * made the same way on both sides still fails this test, and another
 * implementation can check itself against the same hex. */

/* Inputs. X25519 keys: RFC 7748 section 6.1 (Alice: agent, Bob: verifier
 * ephemeral); Ed25519 identity: RFC 8032 section 7.1, TEST 1. */
#define KAT_AGENT_PRIV "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"
#define KAT_AGENT_PUB "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
#define KAT_VERIFIER_EPH_PRIV "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"
#define KAT_VERIFIER_EPH_PUB "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"
#define KAT_IDENTITY_SEED "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
#define KAT_IDENTITY_PUB "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
#define KAT_KEX_MASK 0x0003
#define KAT_LUKS_CIPHER "aes-xts-plain64"
#define KAT_LUKS_KEY_BITS 512

/* Outputs. */
#define KAT_TRANSCRIPT \
    "736e7067756172642f763101000102030405060708090a0b0c0d0e0f10111213" \
    "1415161718191a1b1c1d1e1f0300020020008520f0098930a754748b7ddcb43e" \
    "f75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
#define KAT_REPORT_DATA \
    "3da711a8139299b8251e51dfec982beca1cb61ab3956fec3832af80490454335" \
    "6d6d29e1e0e65abadf284fcbf2798298727ba3a6e2dd3b3645d5c66fc3eb5d16"
#define KAT_EVIDENCE_SHA384 \
    "445acd772c675df14a6533e86018637bc441da964fc9b192a51b7485de23858e" \
    "f78dd1b0f2fe6a98de56f7e7b2f07773"
#define KAT_Z "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"
#define KAT_PIN "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9"
#define KAT_OKM \
    "739c04dc00eec57923220e297512a1f8c21d8c1fff220f26f3b735d0bb532796" \
    "fc310b9ca8aa63e8dc5c4aec4c6a68f95d5f19f824636322043dc343f0d7b6e4" \
    "1e5cded8ce1205997a505fc0"
#define KAT_ITEMS \
    "01002000808182838485868788898a8b8c8d8e8f909192939495969798999a9b" \
    "9c9d9e9f02000f006165732d7874732d706c61696e3634030004000002000004" \
    "0020005a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a" \
    "5a5a5a"
#define KAT_SEALED \
    "e42ffbce6afd58fda8bb797c305223f2e2d777c5ab022648c99e355e14f8a4f8" \
    "e4c594dac0ccabc5304d2c4eb195ed25c763ee7fc160ade07b25939514c6d3ab" \
    "2034e88ddeaa2998a7d1361fe39e8fd7cd20a4b4a20faefdf4c7e0c44d82ab78" \
    "f12be7e874f119ed04f359327060a7842ee9c4"
#define KAT_SIGNATURE \
    "58d20b0cd32b3291063563b5c8267af9c9f0f9fdcd7d20da6d951a99a25b9d9d" \
    "3b0be4292245633bdc13f4b52026759095efb17437e7d5f38fd7b63845a18f07"
#define KAT_KEY \
    "2000de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f88" \
    "2b4f6000d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68" \
    "f707511a58d20b0cd32b3291063563b5c8267af9c9f0f9fdcd7d20da6d951a99" \
    "a25b9d9d3b0be4292245633bdc13f4b52026759095efb17437e7d5f38fd7b638" \
    "45a18f07e42ffbce6afd58fda8bb797c305223f2e2d777c5ab022648c99e355e" \
    "14f8a4f8e4c594dac0ccabc5304d2c4eb195ed25c763ee7fc160ade07b259395" \
    "14c6d3ab2034e88ddeaa2998a7d1361fe39e8fd7cd20a4b4a20faefdf4c7e0c4" \
    "4d82ab78f12be7e874f119ed04f359327060a7842ee9c4"
#define KAT_CONFIRM "676c02035e0624896fc3cec09e9653a8234957c0bb9ed7c18e2804a8a49e40fd"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(EVP_KDF, EVP_KDF_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(EVP_KDF_CTX, EVP_KDF_CTX_free)

static void
assert_hex(const char *name, const guint8 *data, gsize len, const char *expected)
{
    g_autofree char *hex = snpg_test_hex(data, len);

    g_test_message("%s (%zu bytes) = %s", name, len, hex);
    g_assert_cmpstr(hex, ==, expected);
}

static GBytes *
unhex(const char *text)
{
    gsize len = strlen(text) / 2;
    g_autofree guint8 *data = g_malloc(len);

    g_assert_true(snpg_hex_decode("test vector", text, data, len, NULL));
    return g_bytes_new(data, len);
}

static void
kat_payload(SnpgKeyPayload *p)
{
    guint8 key[32];

    for (gsize i = 0; i < sizeof(key); i++)
        key[i] = (guint8)(0x80 + i);
    p->disk_key = snpg_secret_new_from_data(key, sizeof(key));
    p->luks_cipher = g_strdup(KAT_LUKS_CIPHER);
    p->luks_key_bits = KAT_LUKS_KEY_BITS;
    memset(p->luks_header_sha256, 0x5a, 32);
    p->has_luks_header_sha256 = TRUE;
}

static void
test_known_answers(void)
{
    static const char transcript_label[] = "snpguard/v1";
    static const char wrap_label[] = "snpguard/v1 key wrap";
    static const char auth_label[] = "snpguard/v1 verifier";
    static const char done_label[] = "snpguard/v1 done";
    g_autoptr(GBytes) agent_priv = unhex(KAT_AGENT_PRIV);
    g_autoptr(GBytes) agent_pub = unhex(KAT_AGENT_PUB);
    g_autoptr(GBytes) eph_priv = unhex(KAT_VERIFIER_EPH_PRIV);
    g_autoptr(GBytes) eph_pub = unhex(KAT_VERIFIER_EPH_PUB);
    g_autoptr(GBytes) seed = unhex(KAT_IDENTITY_SEED);
    g_autoptr(EVP_PKEY) agent = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL,
                                                             g_bytes_get_data(agent_priv, NULL), 32);
    g_autoptr(EVP_PKEY) eph = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL,
                                                           g_bytes_get_data(eph_priv, NULL), 32);
    g_autoptr(EVP_PKEY) identity = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL,
                                                                g_bytes_get_data(seed, NULL), 32);
    g_autoptr(GBytes) own_agent_pub = NULL;
    g_autoptr(GBytes) own_eph_pub = NULL;
    g_autoptr(GByteArray) transcript = g_byte_array_new();
    g_autoptr(GByteArray) evidence_bytes = g_byte_array_new();
    g_autoptr(GByteArray) info = g_byte_array_new();
    g_autoptr(GByteArray) items = g_byte_array_new();
    g_autoptr(GByteArray) aad = g_byte_array_new();
    g_autoptr(GByteArray) signed_msg = g_byte_array_new();
    g_autoptr(GByteArray) key_bytes = g_byte_array_new();
    g_autoptr(GBytes) evidence = NULL;
    g_autoptr(GBytes) key_msg = NULL;
    g_autoptr(GError) error = NULL;
    g_auto(SnpgKeyPayload) sent = { 0 };
    g_auto(SnpgKeyPayload) got = { 0 };
    g_auto(SnpgEvidence) ev = { .kex = SNPG_KEX_X25519 };
    SnpgHello hello = { .kex_mask = KAT_KEX_MASK };
    guint8 report[SNPG_PROTO_REPORT_LEN] = { 0 };
    guint8 report_data[64], lib_report_data[64], ev_digest[48], z[32], okm[76], pin[32];
    guint8 sealed[256], tag[16], signature[64], confirm[48], lib_confirm[32], open_confirm[32];
    guint8 tmp[4];
    size_t z_len = sizeof(z), sig_len = sizeof(signature), mac_len = 0;
    unsigned int md_len = 0;
    int n = 0, sealed_len = 0;

    g_assert_nonnull(agent);
    g_assert_nonnull(eph);
    g_assert_nonnull(identity);
    for (gsize i = 0; i < SNPG_PROTO_NONCE_LEN; i++)
        hello.nonce[i] = (guint8)i;
    kat_payload(&sent);

    /* The keys are the RFCs' keys. */
    own_agent_pub = snpg_kex_export_pub(agent, SNPG_KEX_X25519, &error);
    own_eph_pub = snpg_kex_export_pub(eph, SNPG_KEX_X25519, &error);
    g_assert_true(g_bytes_equal(own_agent_pub, agent_pub));
    g_assert_true(g_bytes_equal(own_eph_pub, eph_pub));
    g_assert_true(snpg_proto_identity_pin(identity, pin, &error));
    {
        guint8 raw[32];
        size_t raw_len = sizeof(raw);
        g_assert_true(EVP_PKEY_get_raw_public_key(identity, raw, &raw_len));
        assert_hex("identity public key", raw, raw_len, KAT_IDENTITY_PUB);
    }
    assert_hex("pin = SHA-256(identity public key)", pin, sizeof(pin), KAT_PIN);

    /* 1. transcript = "snpguard/v1" | 01 | nonce | u16 kex_mask | u16 kex | u16 pub_len | pub */
    g_byte_array_append(transcript, (const guint8 *)transcript_label, sizeof(transcript_label) - 1);
    g_byte_array_append(transcript, (const guint8[]){ 1 }, 1);
    g_byte_array_append(transcript, hello.nonce, sizeof(hello.nonce));
    g_byte_array_append(transcript, (const guint8[]){ KAT_KEX_MASK, 0, SNPG_KEX_X25519, 0, 32, 0 }, 6);
    g_byte_array_append(transcript, g_bytes_get_data(agent_pub, NULL), 32);
    assert_hex("transcript", transcript->data, transcript->len, KAT_TRANSCRIPT);
    /* 2. report_data = SHA-512(transcript), and the library agrees. */
    g_assert_true(EVP_Digest(transcript->data, transcript->len, report_data, &md_len, EVP_sha512(), NULL));
    assert_hex("report_data", report_data, sizeof(report_data), KAT_REPORT_DATA);
    snpg_proto_report_data(&hello, SNPG_KEX_X25519, agent_pub, lib_report_data);
    g_assert_cmpmem(lib_report_data, 64, report_data, 64);

    /* 3. The report: 1184 zero bytes but u32 version 2 at 0 and REPORT_DATA
     * at 0x50; EVIDENCE = u16 kex | u16 32 | pub | u32 1184 | report | u32 0. */
    report[0] = 2;
    memcpy(report + 0x50, report_data, 64);
    g_byte_array_append(evidence_bytes, (const guint8[]){ SNPG_KEX_X25519, 0, 32, 0 }, 4);
    g_byte_array_append(evidence_bytes, g_bytes_get_data(agent_pub, NULL), 32);
    snpg_put_u32le(tmp, SNPG_PROTO_REPORT_LEN);
    g_byte_array_append(evidence_bytes, tmp, 4);
    g_byte_array_append(evidence_bytes, report, sizeof(report));
    g_byte_array_append(evidence_bytes, (const guint8[]){ 0, 0, 0, 0 }, 4);
    ev.pub = g_bytes_ref(agent_pub);
    ev.report = g_bytes_new(report, sizeof(report));
    ev.certs = g_bytes_new(NULL, 0);
    evidence = snpg_evidence_encode(&ev);
    g_assert_cmpmem(g_bytes_get_data(evidence, NULL), g_bytes_get_size(evidence),
                    evidence_bytes->data, evidence_bytes->len);
    g_assert_true(EVP_Digest(evidence_bytes->data, evidence_bytes->len, ev_digest, &md_len,
                             EVP_sha384(), NULL));
    assert_hex("ev_digest = SHA-384(EVIDENCE payload)", ev_digest, sizeof(ev_digest),
               KAT_EVIDENCE_SHA384);

    /* 4. Z = X25519(verifier ephemeral private, agent public) */
    {
        g_autoptr(EVP_PKEY_CTX) ctx = EVP_PKEY_CTX_new(eph, NULL);
        g_autoptr(EVP_PKEY) peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL,
                                                               g_bytes_get_data(agent_pub, NULL), 32);
        g_assert_true(EVP_PKEY_derive_init(ctx) > 0 && EVP_PKEY_derive_set_peer(ctx, peer) > 0 &&
                      EVP_PKEY_derive(ctx, z, &z_len) > 0);
        assert_hex("Z", z, z_len, KAT_Z);
    }
    /* 5. okm = HKDF-SHA-384(Z, salt = nonce, info = label | report_data |
     * ev_digest | verifier ephemeral pub, 76 bytes) */
    g_byte_array_append(info, (const guint8 *)wrap_label, sizeof(wrap_label) - 1);
    g_byte_array_append(info, report_data, 64);
    g_byte_array_append(info, ev_digest, 48);
    g_byte_array_append(info, g_bytes_get_data(eph_pub, NULL), 32);
    {
        g_autoptr(EVP_KDF) kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
        g_autoptr(EVP_KDF_CTX) kctx = EVP_KDF_CTX_new(kdf);
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA384", 0),
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, z, sizeof(z)),
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, hello.nonce, sizeof(hello.nonce)),
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info->data, info->len),
            OSSL_PARAM_construct_end(),
        };
        g_assert_true(EVP_KDF_derive(kctx, okm, sizeof(okm), params) > 0);
        assert_hex("okm", okm, sizeof(okm), KAT_OKM);
    }

    /* 6. items: disk key, cipher, key bits, header digest (u16 type | u16 len | value) */
    g_byte_array_append(items, (const guint8[]){ 1, 0, 32, 0 }, 4);
    g_byte_array_append(items, snpg_secret_data(sent.disk_key), 32);
    g_byte_array_append(items, (const guint8[]){ 2, 0, sizeof(KAT_LUKS_CIPHER) - 1, 0 }, 4);
    g_byte_array_append(items, (const guint8 *)KAT_LUKS_CIPHER, sizeof(KAT_LUKS_CIPHER) - 1);
    g_byte_array_append(items, (const guint8[]){ 3, 0, 4, 0, 0x00, 0x02, 0, 0 }, 8);
    g_byte_array_append(items, (const guint8[]){ 4, 0, 32, 0 }, 4);
    g_byte_array_append(items, sent.luks_header_sha256, 32);
    assert_hex("items", items->data, items->len, KAT_ITEMS);

    /* 7. sealed = AES-256-GCM(okm[0:32], iv okm[32:44], aad = report_data |
     * ev_digest | verifier ephemeral pub, items) | tag */
    g_byte_array_append(aad, report_data, 64);
    g_byte_array_append(aad, ev_digest, 48);
    g_byte_array_append(aad, g_bytes_get_data(eph_pub, NULL), 32);
    {
        g_autoptr(EVP_CIPHER_CTX) cctx = EVP_CIPHER_CTX_new();
        g_assert_cmpuint(items->len, <=, sizeof(sealed));
        g_assert_true(EVP_EncryptInit_ex(cctx, EVP_aes_256_gcm(), NULL, NULL, NULL) &&
                      EVP_CIPHER_CTX_ctrl(cctx, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) &&
                      EVP_EncryptInit_ex(cctx, NULL, NULL, okm, okm + 32) &&
                      EVP_EncryptUpdate(cctx, NULL, &n, aad->data, (int)aad->len) &&
                      EVP_EncryptUpdate(cctx, sealed, &sealed_len, items->data, (int)items->len) &&
                      EVP_EncryptFinal_ex(cctx, sealed + sealed_len, &n) &&
                      EVP_CIPHER_CTX_ctrl(cctx, EVP_CTRL_GCM_GET_TAG, 16, tag));
        memcpy(sealed + sealed_len, tag, 16);
        sealed_len += 16;
        assert_hex("sealed (ciphertext | tag)", sealed, (gsize)sealed_len, KAT_SEALED);
    }

    /* 8. signature = Ed25519(identity, "snpguard/v1 verifier" | report_data |
     * ev_digest | u16 32 | verifier ephemeral pub | sealed) */
    g_byte_array_append(signed_msg, (const guint8 *)auth_label, sizeof(auth_label) - 1);
    g_byte_array_append(signed_msg, report_data, 64);
    g_byte_array_append(signed_msg, ev_digest, 48);
    g_byte_array_append(signed_msg, (const guint8[]){ 32, 0 }, 2);
    g_byte_array_append(signed_msg, g_bytes_get_data(eph_pub, NULL), 32);
    g_byte_array_append(signed_msg, sealed, (guint)sealed_len);
    {
        g_autoptr(EVP_MD_CTX) md = EVP_MD_CTX_new();
        g_assert_true(EVP_DigestSignInit(md, NULL, NULL, NULL, identity) == 1 &&
                      EVP_DigestSign(md, signature, &sig_len, signed_msg->data, signed_msg->len) == 1);
        assert_hex("signature", signature, sig_len, KAT_SIGNATURE);
    }

    /* 9. KEY = u16 32 | verifier ephemeral pub | u16 96 | identity pub |
     * signature | sealed; the library's seal gives exactly these bytes. */
    g_byte_array_append(key_bytes, (const guint8[]){ 32, 0 }, 2);
    g_byte_array_append(key_bytes, g_bytes_get_data(eph_pub, NULL), 32);
    g_byte_array_append(key_bytes, (const guint8[]){ 96, 0 }, 2);
    {
        g_autoptr(GBytes) id_pub = unhex(KAT_IDENTITY_PUB);
        g_byte_array_append(key_bytes, g_bytes_get_data(id_pub, NULL), 32);
    }
    g_byte_array_append(key_bytes, signature, 64);
    g_byte_array_append(key_bytes, sealed, (guint)sealed_len);
    assert_hex("KEY payload", key_bytes->data, key_bytes->len, KAT_KEY);
    key_msg = snpg_proto_seal_key_with_ephemeral(&hello, SNPG_KEX_X25519, agent_pub, evidence, &sent,
                                                 identity, eph, lib_confirm, &error);
    g_assert_no_error(error);
    g_assert_cmpmem(g_bytes_get_data(key_msg, NULL), g_bytes_get_size(key_msg),
                    key_bytes->data, key_bytes->len);

    /* 10. confirm = HMAC-SHA-384(okm[44:76], "snpguard/v1 done")[0:32] */
    g_assert_true(EVP_Q_mac(NULL, "HMAC", NULL, "SHA384", NULL, okm + 44, 32,
                            (const guint8 *)done_label, sizeof(done_label) - 1,
                            confirm, sizeof(confirm), &mac_len));
    assert_hex("confirm (DONE payload)", confirm, 32, KAT_CONFIRM);
    g_assert_cmpmem(lib_confirm, 32, confirm, 32);

    /* The other direction: the agent, with its fixed key and the pin, opens
     * the pinned KEY bytes and finds the payload. */
    {
        g_autoptr(GBytes) pinned_key = unhex(KAT_KEY);
        g_assert_true(snpg_proto_open_key(&hello, SNPG_KEX_X25519, agent, agent_pub, evidence,
                                          pinned_key, pin, &got, open_confirm, &error));
        g_assert_no_error(error);
    }
    g_assert_true(snpg_secret_equal(got.disk_key, sent.disk_key));
    g_assert_cmpstr(got.luks_cipher, ==, KAT_LUKS_CIPHER);
    g_assert_cmpuint(got.luks_key_bits, ==, KAT_LUKS_KEY_BITS);
    g_assert_true(got.has_luks_header_sha256);
    g_assert_cmpmem(got.luks_header_sha256, 32, sent.luks_header_sha256, 32);
    g_assert_cmpmem(open_confirm, 32, confirm, 32);
}

int
main(int argc, char **argv)
{
    static const KexCase p384 = { SNPG_KEX_P384 }, x25519 = { SNPG_KEX_X25519 };

    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/proto/header", test_header);
    g_test_add_func("/proto/hello", test_hello);
    g_test_add_func("/proto/evidence", test_evidence);
    g_test_add_func("/proto/refusal", test_refusal);
    g_test_add_data_func("/proto/seal-open/p384", &p384, test_seal_open);
    g_test_add_data_func("/proto/seal-open/x25519", &x25519, test_seal_open);
    g_test_add_func("/proto/bad-peer-point", test_bad_peer_point);
    g_test_add_func("/proto/verifier-identity", test_verifier_identity);
    g_test_add_func("/proto/pin-from-cmdline", test_pin_from_cmdline);
    g_test_add_func("/proto/open-key-oversized", test_open_key_oversized);
    g_test_add_func("/proto/stream", test_stream);
    g_test_add_func("/proto/known-answers", test_known_answers);
    return g_test_run();
}
