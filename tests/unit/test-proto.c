/* The attestation protocol codec and key schedule (docs/protocol.md). */
#include "config.h"

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "autocleanups.h"
#include "buf.h"
#include "identity.h"
#include "proto.h"
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
    return g_test_run();
}
