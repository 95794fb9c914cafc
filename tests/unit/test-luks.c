/* The root device checks: real LUKS2 headers made with libcryptsetup on
 * plain files, and hostile variants of them (a null cipher, another key, an
 * added keyslot, another cipher or key size, a token, another digest), each
 * refused by the header check before any activation; dm-verity trees made
 * with libcryptsetup, verified in user space against the right root hash
 * only. This host has no device-mapper: activation itself is not run,
 * except to show it fails as luks-open after the checks passed. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libcryptsetup.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "luks.h"
#include "session.h"
#include "sim-identity.h"
#include "testutil.h"
#include "transport.h"

#define PASSPHRASE "correct horse battery staple"
#define DEVICE_SIZE (4 * 1024 * 1024)
#define METADATA_SIZE (16 * 1024)
#define KEYSLOTS_SIZE (1024 * 1024)

typedef struct {
    char *dir;
    char *device;
} Fixture;

/* A LUKS2 device of DEVICE_SIZE bytes on a plain file, formatted by
 * libcryptsetup with a cheap PBKDF (tests only), one keyslot for
 * passphrase. */
static void
make_luks(const char *path, const char *type, const char *cipher, const char *mode, gsize key_bytes,
          const char *passphrase)
{
    struct crypt_device *cd = NULL;
    struct crypt_pbkdf_type pbkdf = {
        .type = CRYPT_KDF_PBKDF2, .hash = "sha256", .iterations = 1000,
        .flags = CRYPT_PBKDF_NO_BENCHMARK,
    };
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, DEVICE_SIZE), ==, 0);
    close(fd);
    g_assert_cmpint(crypt_init(&cd, path), ==, 0);
    g_assert_cmpint(crypt_set_pbkdf_type(cd, &pbkdf), ==, 0);
    if (g_str_equal(type, CRYPT_LUKS2))
        g_assert_cmpint(crypt_set_metadata_size(cd, METADATA_SIZE, KEYSLOTS_SIZE), ==, 0);
    g_assert_cmpint(crypt_format(cd, type, cipher, mode, NULL, NULL, key_bytes, NULL), ==, 0);
    g_assert_cmpint(crypt_keyslot_add_by_volume_key(cd, CRYPT_ANY_SLOT, NULL, 0, passphrase,
                                                    strlen(passphrase)), ==, 0);
    crypt_free(cd);
}

static struct crypt_device *
load(const char *path)
{
    struct crypt_device *cd = NULL;

    g_assert_cmpint(crypt_init(&cd, path), ==, 0);
    g_assert_cmpint(crypt_load(cd, CRYPT_LUKS2, NULL), ==, 0);
    return cd;
}

/* SHA-256 of what `cryptsetup luksHeaderBackup` writes: the definition of
 * the header digest in docs/protocol.md. */
static void
backup_sha256(const char *dir, const char *device, guint8 ret[32])
{
    g_autofree char *backup = g_build_filename(dir, "backup", NULL);
    g_autofree char *bytes = NULL;
    struct crypt_device *cd = load(device);
    gsize len;

    unlink(backup);
    g_assert_cmpint(crypt_header_backup(cd, CRYPT_LUKS2, backup), ==, 0);
    crypt_free(cd);
    g_assert_true(g_file_get_contents(backup, &bytes, &len, NULL));
    g_assert_cmpuint(len, ==, 2 * METADATA_SIZE + KEYSLOTS_SIZE);
    g_assert_cmpint(EVP_Digest(bytes, len, ret, NULL, EVP_sha256(), NULL), ==, 1);
    unlink(backup);
}

/* What the verifier sends for the fixture's device. */
static void
expect_fixture(SnpgKeyPayload *expect, const char *passphrase)
{
    memset(expect, 0, sizeof(*expect));
    expect->disk_key = snpg_secret_new_from_data(passphrase, strlen(passphrase));
    expect->luks_cipher = g_strdup("aes-xts-plain64");
    expect->luks_key_bits = 512;
}

static void
fixture_set_up(Fixture *f, gconstpointer data)
{
    (void)data;
    f->dir = snpg_test_tmpdir();
    f->device = g_build_filename(f->dir, "root.img", NULL);
    make_luks(f->device, CRYPT_LUKS2, "aes", "xts-plain64", 64, PASSPHRASE);
}

static void
fixture_tear_down(Fixture *f, gconstpointer data)
{
    (void)data;
    g_free(f->device);
    g_free(f->dir);
}

/* Runs the check with activation requested: a refusal naming the header
 * (1106) or the key (1108) shows the function stopped before activating,
 * since activating can only fail here as luks-open (no device-mapper). */
static void
assert_refused(const char *device, const SnpgKeyPayload *expect, guint16 reason, const char *text)
{
    g_auto(SnpgRefusal) refusal = { 0 };
    g_autoptr(GError) error = NULL;

    g_assert_false(snpg_luks_check_and_open(device, "snpguard-test-root", expect, &refusal, &error));
    g_assert_nonnull(error);
    if (g_test_verbose())
        g_printerr("refused: %s\n", error->message);
    g_assert_cmpuint(refusal.n_reasons, ==, 1);
    g_assert_cmpuint(refusal.reasons[0], ==, reason);
    g_assert_cmpstr(refusal.text, ==, error->message);
    if (!strstr(error->message, text))
        g_error("'%s' does not name '%s'", error->message, text);
}

static void
test_expected(Fixture *f, gconstpointer data)
{
    g_auto(SnpgKeyPayload) expect = { 0 };
    g_auto(SnpgRefusal) refusal = { 0 };
    g_autoptr(GError) error = NULL;

    (void)data;
    expect_fixture(&expect, PASSPHRASE);
    backup_sha256(f->dir, f->device, expect.luks_header_sha256);
    expect.has_luks_header_sha256 = TRUE;
    /* Every check passes and the key opens the keyslot. */
    g_assert_true(snpg_luks_check_and_open(f->device, NULL, &expect, &refusal, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(refusal.n_reasons, ==, 0);
    /* Without the digest too. */
    expect.has_luks_header_sha256 = FALSE;
    g_assert_true(snpg_luks_check_and_open(f->device, NULL, &expect, &refusal, &error));
    g_assert_no_error(error);
}

/* Activation needs device-mapper, which this host lacks: after the checks
 * passed it fails as luks-open, exactly. */
static void
test_activation_without_dm(Fixture *f, gconstpointer data)
{
    g_auto(SnpgKeyPayload) expect = { 0 };
    g_autofree char *misc = NULL;

    (void)data;
    if (!g_file_get_contents("/proc/misc", &misc, NULL, NULL) || strstr(misc, "device-mapper")) {
        g_test_skip("this host has device-mapper: not activating a test device");
        return;
    }
    expect_fixture(&expect, PASSPHRASE);
    assert_refused(f->device, &expect, SNPG_PROTO_REASON_LUKS_OPEN, "cannot activate");
}

static void
test_digest(Fixture *f, gconstpointer data)
{
    g_auto(SnpgKeyPayload) expect = { 0 };

    (void)data;
    expect_fixture(&expect, PASSPHRASE);
    backup_sha256(f->dir, f->device, expect.luks_header_sha256);
    expect.luks_header_sha256[31] ^= 1;
    expect.has_luks_header_sha256 = TRUE;
    assert_refused(f->device, &expect, SNPG_PROTO_REASON_LUKS_HEADER, "SHA-256");
}

/* A header forged as a host could (testutil.c). */
static void
edit_json(const char *device, const char *marker, const char *from, const char *to)
{
    g_autoptr(GError) error = NULL;

    g_assert_true(snpg_test_luks2_edit_json(device, METADATA_SIZE, marker, from, to, &error));
    g_assert_no_error(error);
}

/* CVE-2025-59054 class: the data segment switched to cipher_null keeps
 * the keyslot, so the real key still "opens" it. */
static void
test_null_segment(Fixture *f, gconstpointer data)
{
    g_auto(SnpgKeyPayload) expect = { 0 };
    struct crypt_device *cd;

    (void)data;
    edit_json(f->device, "\"segments\"", "\"encryption\":\"aes-xts-plain64\"",
              "\"encryption\":\"cipher_null-ecb\"");
    /* libcryptsetup itself loads the forged header. */
    cd = load(f->device);
    g_assert_cmpstr(crypt_get_cipher(cd), ==, "cipher_null");
    crypt_free(cd);
    expect_fixture(&expect, PASSPHRASE);
    assert_refused(f->device, &expect, SNPG_PROTO_REASON_LUKS_HEADER, "data segment uses no encryption");
}

static void
test_null_keyslot(Fixture *f, gconstpointer data)
{
    g_auto(SnpgKeyPayload) expect = { 0 };

    (void)data;
    edit_json(f->device, "\"keyslots\"", "\"encryption\":\"aes-xts-plain64\"",
              "\"encryption\":\"cipher_null-ecb\"");
    expect_fixture(&expect, PASSPHRASE);
    assert_refused(f->device, &expect, SNPG_PROTO_REASON_LUKS_HEADER, "keyslot 0 uses no encryption");
}

/* The same layout re-made under another volume key and passphrase: its
 * digest differs; without a digest the verifier's key opens no keyslot. */
static void
test_other_key(Fixture *f, gconstpointer data)
{
    g_auto(SnpgKeyPayload) expect = { 0 };

    (void)data;
    expect_fixture(&expect, PASSPHRASE);
    backup_sha256(f->dir, f->device, expect.luks_header_sha256);
    expect.has_luks_header_sha256 = TRUE;
    make_luks(f->device, CRYPT_LUKS2, "aes", "xts-plain64", 64, "the host's own passphrase");
    assert_refused(f->device, &expect, SNPG_PROTO_REASON_LUKS_HEADER, "SHA-256");
    expect.has_luks_header_sha256 = FALSE;
    assert_refused(f->device, &expect, SNPG_PROTO_REASON_LUKS_KEY, "does not open keyslot 0");
}

static void
test_wrong_key(Fixture *f, gconstpointer data)
{
    g_auto(SnpgKeyPayload) expect = { 0 };

    (void)data;
    expect_fixture(&expect, "not the passphrase");
    assert_refused(f->device, &expect, SNPG_PROTO_REASON_LUKS_KEY, "does not open keyslot 0");
}

/* A second keyslot lets its holder open the root too. */
static void
test_added_keyslot(Fixture *f, gconstpointer data)
{
    g_auto(SnpgKeyPayload) expect = { 0 };
    struct crypt_device *cd = load(f->device);

    (void)data;
    g_assert_cmpint(crypt_keyslot_add_by_passphrase(cd, CRYPT_ANY_SLOT, PASSPHRASE, strlen(PASSPHRASE),
                                                    "host", 4), ==, 1);
    crypt_free(cd);
    expect_fixture(&expect, PASSPHRASE);
    assert_refused(f->device, &expect, SNPG_PROTO_REASON_LUKS_HEADER, "2 keyslots");
}

static void
test_other_cipher(Fixture *f, gconstpointer data)
{
    g_auto(SnpgKeyPayload) expect = { 0 };

    (void)data;
    make_luks(f->device, CRYPT_LUKS2, "aes", "cbc-essiv:sha256", 32, PASSPHRASE);
    expect_fixture(&expect, PASSPHRASE);
    expect.luks_key_bits = 256;
    assert_refused(f->device, &expect, SNPG_PROTO_REASON_LUKS_HEADER,
                   "'aes-cbc-essiv:sha256', not the expected 'aes-xts-plain64'");
}

static void
test_other_key_size(Fixture *f, gconstpointer data)
{
    g_auto(SnpgKeyPayload) expect = { 0 };

    (void)data;
    make_luks(f->device, CRYPT_LUKS2, "aes", "xts-plain64", 32, PASSPHRASE);
    expect_fixture(&expect, PASSPHRASE);
    assert_refused(f->device, &expect, SNPG_PROTO_REASON_LUKS_HEADER, "256 bits, not the expected 512");
}

static void
test_token(Fixture *f, gconstpointer data)
{
    g_auto(SnpgKeyPayload) expect = { 0 };
    struct crypt_device *cd = load(f->device);

    (void)data;
    g_assert_cmpint(crypt_token_json_set(cd, CRYPT_ANY_TOKEN,
                                         "{\"type\":\"host-token\",\"keyslots\":[]}"), ==, 0);
    crypt_free(cd);
    expect_fixture(&expect, PASSPHRASE);
    assert_refused(f->device, &expect, SNPG_PROTO_REASON_LUKS_HEADER, "token");
}

/* A reencryption started on the header (as `cryptsetup reencrypt
 * --init-only` leaves it): a second volume key in an unbound keyslot. */
static void
test_reencryption(Fixture *f, gconstpointer data)
{
    g_auto(SnpgKeyPayload) expect = { 0 };
    struct crypt_pbkdf_type pbkdf = {
        .type = CRYPT_KDF_PBKDF2, .hash = "sha256", .iterations = 1000,
        .flags = CRYPT_PBKDF_NO_BENCHMARK,
    };
    struct crypt_params_luks2 luks2 = { .sector_size = 512 };
    struct crypt_params_reencrypt params = {
        .mode = CRYPT_REENCRYPT_REENCRYPT, .direction = CRYPT_REENCRYPT_FORWARD,
        .resilience = "checksum", .hash = "sha256", .luks2 = &luks2,
        .flags = CRYPT_REENCRYPT_INITIALIZE_ONLY,
    };
    struct crypt_device *cd = load(f->device);
    int new_slot;

    (void)data;
    g_assert_cmpint(crypt_set_pbkdf_type(cd, &pbkdf), ==, 0);
    new_slot = crypt_keyslot_add_by_key(cd, CRYPT_ANY_SLOT, NULL, 64, PASSPHRASE, strlen(PASSPHRASE),
                                        CRYPT_VOLUME_KEY_NO_SEGMENT);
    g_assert_cmpint(new_slot, ==, 1);
    g_assert_cmpint(crypt_reencrypt_init_by_passphrase(cd, NULL, PASSPHRASE, strlen(PASSPHRASE), 0, new_slot,
                                                       "aes", "xts-plain64", &params), >=, 0);
    crypt_free(cd);
    expect_fixture(&expect, PASSPHRASE);
    assert_refused(f->device, &expect, SNPG_PROTO_REASON_LUKS_HEADER, "reencryption");
}

/* A data segment that starts inside the header area (here inside the
 * keyslots area): the mapped root would expose the header's bytes.
 * libcryptsetup's own validation refuses it already when it loads the
 * metadata; the agent's overlap check is a second line behind it. */
static void
test_data_inside_header(Fixture *f, gconstpointer data)
{
    g_auto(SnpgKeyPayload) expect = { 0 };
    struct crypt_device *cd = load(f->device);

    (void)data;
    g_assert_cmpuint(crypt_get_data_offset(cd), ==, 2 * 1024 * 1024 / 512);
    crypt_free(cd);
    edit_json(f->device, "\"segments\"", "\"offset\":\"2097152\"", "\"offset\":\"1048576\"");
    expect_fixture(&expect, PASSPHRASE);
    assert_refused(f->device, &expect, SNPG_PROTO_REASON_LUKS_HEADER, "does not load");
}

static void
swap_header(const char *device)
{
    /* The host's move after the check: a header of its own, another key. */
    make_luks(device, CRYPT_LUKS2, "aes", "xts-plain64", 64, "the host's own passphrase");
}

/* The header swapped on the device after the check changes nothing: the
 * key is tried (and the root would be activated) with the checked copy. */
static void
test_swap_after_check(Fixture *f, gconstpointer data)
{
    g_auto(SnpgKeyPayload) expect = { 0 };
    g_auto(SnpgRefusal) refusal = { 0 };
    g_autoptr(GError) error = NULL;
    struct crypt_device *cd;

    (void)data;
    expect_fixture(&expect, PASSPHRASE);
    snpg_luks_after_check_hook = swap_header;
    g_assert_true(snpg_luks_check_and_open(f->device, NULL, &expect, &refusal, &error));
    snpg_luks_after_check_hook = NULL;
    g_assert_no_error(error);
    /* The device really holds the other header now. */
    cd = load(f->device);
    g_assert_cmpint(crypt_activate_by_passphrase(cd, NULL, CRYPT_ANY_SLOT, PASSPHRASE, strlen(PASSPHRASE), 0),
                    ==, -EPERM);
    crypt_free(cd);
}

static void
test_luks1(Fixture *f, gconstpointer data)
{
    g_auto(SnpgKeyPayload) expect = { 0 };

    (void)data;
    make_luks(f->device, CRYPT_LUKS1, "aes", "xts-plain64", 64, PASSPHRASE);
    expect_fixture(&expect, PASSPHRASE);
    assert_refused(f->device, &expect, SNPG_PROTO_REASON_LUKS_HEADER, "no LUKS2 header");
}

/* A binary header claiming a metadata size beyond LUKS2's 4 MiB: refused
 * before anything of that size is read or allocated. */
static void
test_metadata_size_bound(Fixture *f, gconstpointer data)
{
    g_auto(SnpgKeyPayload) expect = { 0 };
    guint64 huge = GUINT64_TO_BE((guint64)8 * 1024 * 1024);
    int fd = open(f->device, O_WRONLY);

    (void)data;
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(pwrite(fd, &huge, sizeof(huge), 8), ==, sizeof(huge));
    close(fd);
    expect_fixture(&expect, PASSPHRASE);
    assert_refused(f->device, &expect, SNPG_PROTO_REASON_LUKS_HEADER, "outside the LUKS2 limits");
}

/* A device that ends inside the header area it claims. */
static void
test_truncated(Fixture *f, gconstpointer data)
{
    g_auto(SnpgKeyPayload) expect = { 0 };

    (void)data;
    g_assert_cmpint(truncate(f->device, 2 * METADATA_SIZE + 4096), ==, 0);
    expect_fixture(&expect, PASSPHRASE);
    assert_refused(f->device, &expect, SNPG_PROTO_REASON_LUKS_OPEN, "cannot read the LUKS2 header area");
}

static void
test_no_expectations(Fixture *f, gconstpointer data)
{
    g_auto(SnpgKeyPayload) expect = { 0 };
    g_autofree char *missing = g_build_filename(f->dir, "missing", NULL);

    (void)data;
    expect_fixture(&expect, PASSPHRASE);
    g_clear_pointer(&expect.luks_cipher, g_free);
    assert_refused(f->device, &expect, SNPG_PROTO_REASON_LUKS_HEADER, "no expected LUKS2 cipher");
    expect.luks_cipher = g_strdup("aes-xts-plain64");
    g_clear_pointer(&expect.disk_key, snpg_secret_free);
    assert_refused(f->device, &expect, SNPG_PROTO_REASON_LUKS_HEADER, "no disk key");
    expect.disk_key = snpg_secret_new_from_data(PASSPHRASE, strlen(PASSPHRASE));
    assert_refused(missing, &expect, SNPG_PROTO_REASON_LUKS_OPEN, "cannot open");
}

/* --- dm-verity ------------------------------------------------------------ */

#define VERITY_BLOCKS 64

typedef struct {
    char *dir;
    char *data;
    char *hash;
    char *root_hex;
    char *salt_hex;
} VerityFixture;

static void
verity_set_up(VerityFixture *f, gconstpointer unused)
{
    g_autofree guint8 *blocks = g_malloc(VERITY_BLOCKS * 4096);
    guint8 salt[32], root[64];
    size_t root_len = sizeof(root);
    struct crypt_device *cd = NULL;
    struct crypt_params_verity params = {
        .hash_name = "sha256", .salt = (const char *)salt, .salt_size = sizeof(salt),
        .hash_type = 1, .data_block_size = 4096, .hash_block_size = 4096,
        .data_size = VERITY_BLOCKS, .flags = CRYPT_VERITY_NO_HEADER | CRYPT_VERITY_CREATE_HASH,
    };

    (void)unused;
    g_assert_cmpint(RAND_bytes(blocks, VERITY_BLOCKS * 4096), ==, 1);
    g_assert_cmpint(RAND_bytes(salt, sizeof(salt)), ==, 1);
    f->dir = snpg_test_tmpdir();
    f->data = snpg_test_write(f->dir, "data.img", blocks, VERITY_BLOCKS * 4096);
    f->hash = snpg_test_write(f->dir, "hash.img", "", 0);
    params.data_device = f->data;
    g_assert_cmpint(crypt_init(&cd, f->hash), ==, 0);
    g_assert_cmpint(crypt_format(cd, CRYPT_VERITY, NULL, NULL, NULL, NULL, 0, &params), ==, 0);
    g_assert_cmpint(crypt_volume_key_get(cd, CRYPT_ANY_SLOT, (char *)root, &root_len, NULL, 0), ==, 0);
    g_assert_cmpuint(root_len, ==, 32);
    crypt_free(cd);
    f->root_hex = snpg_test_hex(root, root_len);
    f->salt_hex = snpg_test_hex(salt, sizeof(salt));
}

static void
verity_tear_down(VerityFixture *f, gconstpointer unused)
{
    (void)unused;
    g_free(f->dir);
    g_free(f->data);
    g_free(f->hash);
    g_free(f->root_hex);
    g_free(f->salt_hex);
}

static void
verity_parse(const VerityFixture *f, const char *root_hex, SnpgVerityParams *ret)
{
    g_autofree char *text = g_strdup_printf("data:%s,hash:%s,roothash:%s,salt:%s,data-blocks:%u",
                                            f->data, f->hash, root_hex, f->salt_hex, VERITY_BLOCKS);
    g_autoptr(GError) error = NULL;

    g_assert_true(snpg_verity_params_parse(text, ret, &error));
    g_assert_no_error(error);
}

static void
test_verity_accepts(VerityFixture *f, gconstpointer unused)
{
    g_auto(SnpgVerityParams) params = { 0 };
    g_autoptr(GError) error = NULL;

    (void)unused;
    verity_parse(f, f->root_hex, &params);
    g_assert_cmpstr(params.name, ==, "snpguard-root");
    g_assert_cmpuint(params.data_blocks, ==, VERITY_BLOCKS);
    g_assert_true(snpg_verity_open(&params, NULL, &error));
    g_assert_no_error(error);
}

static void
assert_verity_rejected(const SnpgVerityParams *params)
{
    g_autoptr(GError) error = NULL;

    g_assert_false(snpg_verity_open(params, NULL, &error));
    g_assert_error(error, SNPG_LUKS_ERROR, SNPG_LUKS_ERROR_VERITY);
    if (!strstr(error->message, "does not match the root hash"))
        g_error("%s", error->message);
}

/* A wrong root hash: a kernel open would succeed; this fails at once. */
static void
test_verity_wrong_root(VerityFixture *f, gconstpointer unused)
{
    g_auto(SnpgVerityParams) params = { 0 };

    (void)unused;
    verity_parse(f, f->root_hex, &params);
    params.root_hash[0] ^= 1;
    assert_verity_rejected(&params);
}

static void
flip_byte(const char *path, off_t offset)
{
    int fd = open(path, O_RDWR);
    guint8 byte;

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(pread(fd, &byte, 1, offset), ==, 1);
    byte ^= 0x80;
    g_assert_cmpint(pwrite(fd, &byte, 1, offset), ==, 1);
    close(fd);
}

static void
test_verity_modified_data(VerityFixture *f, gconstpointer unused)
{
    g_auto(SnpgVerityParams) params = { 0 };

    (void)unused;
    verity_parse(f, f->root_hex, &params);
    /* One byte of the last data block: the whole tree is checked. */
    flip_byte(f->data, (VERITY_BLOCKS - 1) * 4096 + 17);
    assert_verity_rejected(&params);
}

static void
test_verity_modified_hash(VerityFixture *f, gconstpointer unused)
{
    g_auto(SnpgVerityParams) params = { 0 };

    (void)unused;
    verity_parse(f, f->root_hex, &params);
    flip_byte(f->hash, 5);
    assert_verity_rejected(&params);
}

/* Salt and parameters come from the command line only: another salt is
 * another tree. */
static void
test_verity_other_salt(VerityFixture *f, gconstpointer unused)
{
    g_auto(SnpgVerityParams) params = { 0 };

    (void)unused;
    verity_parse(f, f->root_hex, &params);
    params.salt[0] ^= 1;
    assert_verity_rejected(&params);
}

static void
test_verity_parse_errors(void)
{
    static const char *const bad[] = {
        "",
        "data:/dev/vda,hash:/dev/vdb,salt:-,data-blocks:8",                  /* no roothash */
        "data:/dev/vda,hash:/dev/vdb,roothash:00,salt:-,data-blocks:8",      /* short root hash */
        "data:dev/vda,hash:/dev/vdb,roothash:%s,salt:-,data-blocks:8",       /* relative path */
        "data:/dev/vda,hash:/dev/vdb,roothash:%s,salt:-,data-blocks:0",
        "data:/dev/vda,hash:/dev/vdb,roothash:%s,salt:-,data-blocks:8,data:/dev/vdc",
        "data:/dev/vda,hash:/dev/vdb,roothash:%s,salt:-,data-blocks:8,colour:red",
        "data:/dev/vda,hash:/dev/vdb,roothash:%s,salt:-,data-blocks:8,data-block-size:3000",
        "data:/dev/vda,hash:/dev/vdb,roothash:%s,salt:-,data-blocks:8,hash-block-size:131072",
        "data:/dev/vda,hash:/dev/vdb,roothash:%s,salt:-,data-blocks:8,hash-offset:100",
        "data:/dev/vda,hash:/dev/vdb,roothash:%s,salt:-,data-blocks:8,hash-alg:nosuch",
        "data:/dev/vda,hash:/dev/vdb,roothash:%s,salt:abc,data-blocks:8",
        "data:/dev/vda,hash:/dev/vdb,roothash:%s,salt:-,data-blocks:8,name:a/b",
        "data:/dev/vda,hash:/dev/vdb,roothash:%s,salt:-,data-blocks:8,noval",
    };
    g_autofree char *root = g_strnfill(64, 'a');

    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_auto(SnpgVerityParams) params = { 0 };
        g_autoptr(GError) error = NULL;
        g_autofree char *text = NULL;

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        text = g_strdup_printf(bad[i], root);
#pragma GCC diagnostic pop
        g_assert_false(snpg_verity_params_parse(text, &params, &error));
        g_assert_nonnull(error);
        g_assert_null(params.data_device);
    }
}

static void
test_verity_parse_full(void)
{
    g_auto(SnpgVerityParams) params = { 0 };
    g_autoptr(GError) error = NULL;
    g_autofree char *root = g_strnfill(128, 'b');
    g_autofree char *text = g_strdup_printf("data:/dev/vda,hash:/dev/vdb,roothash:%s,salt:-,"
                                            "data-blocks:1024,hash-alg:sha512,data-block-size:1024,"
                                            "hash-block-size:512,hash-offset:4096,name:root", root);

    g_assert_true(snpg_verity_params_parse(text, &params, &error));
    g_assert_no_error(error);
    g_assert_cmpstr(params.data_device, ==, "/dev/vda");
    g_assert_cmpstr(params.hash_device, ==, "/dev/vdb");
    g_assert_cmpstr(params.hash_name, ==, "sha512");
    g_assert_cmpuint(params.root_hash_len, ==, 64);
    g_assert_cmpuint(params.root_hash[63], ==, 0xbb);
    g_assert_cmpuint(params.salt_len, ==, 0);
    g_assert_cmpuint(params.data_block_size, ==, 1024);
    g_assert_cmpuint(params.hash_block_size, ==, 512);
    g_assert_cmpuint(params.hash_offset, ==, 4096);
    g_assert_cmpstr(params.name, ==, "root");
}

/* --- the agent: the delivery step opens the root ------------------------ */

static gboolean
accept_all(GBytes *report, GBytes *certs, const guint8 expected[SNPG_PROTO_REPORT_DATA_LEN],
           SnpgRefusal *ret_refusal, gpointer user_data, GError **error)
{
    (void)report, (void)certs, (void)expected, (void)ret_refusal, (void)user_data, (void)error;
    return TRUE;
}

/* Runs snpguard-agent (simulated report, any verifier) with extra options
 * against one in-process verifier session releasing payload; returns the
 * agent's exit code and its stderr. */
static int
run_agent(const char *dir, const char *const *extra, const SnpgKeyPayload *payload,
          SnpgVerifierResult *result, char **ret_err)
{
    g_autofree char *sim_dir = snpg_test_data("sim", "genoa", NULL);
    g_autofree char *id = g_build_filename(dir, "agent.id", NULL);
    g_autofree char *sock = g_build_filename(dir, "agent.sock", NULL);
    g_autofree char *address = g_strdup_printf("unix:%s", sock);
    g_autofree char *psp = g_strdup_printf("sim:%s", id);
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_autoptr(GError) error = NULL;
    SnpgVerifierConfig cfg = { .verify = accept_all, .payload = payload,
                               .read_timeout_us = 30 * G_USEC_PER_SEC };
    SnpgSimIdentityParams params;
    GString *err = g_string_new(NULL);
    char buf[1024];
    ssize_t n;
    int fd = -1, err_fd, status = 0;
    GPid pid;

    snpg_sim_identity_params_init(&params);
    unlink(id);
    unlink(sock);
    g_assert_true(snpg_sim_identity_write(sim_dir, &params, id, &error));
    g_assert_no_error(error);
    g_ptr_array_add(argv, (gpointer)g_getenv("SNPGUARD_AGENT"));
    for (const char *const *a = (const char *const[]){ "--listen", address, "--psp", psp, "--any-verifier",
                                                       "--attempts", "1", NULL };
         *a; a++)
        g_ptr_array_add(argv, (gpointer)*a);
    for (gsize i = 0; extra[i]; i++)
        g_ptr_array_add(argv, (gpointer)extra[i]);
    g_ptr_array_add(argv, NULL);
    g_assert_true(g_spawn_async_with_pipes(NULL, (char **)argv->pdata, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                                           NULL, NULL, &pid, NULL, NULL, &err_fd, &error));
    g_assert_no_error(error);
    for (int i = 0; i < 500 && fd < 0; i++) {
        fd = snpg_transport_connect(address, G_MAXINT64, NULL);
        if (fd < 0)
            g_usleep(10 * 1000);
    }
    g_assert_cmpint(fd, >=, 0);
    /* Every case here ends with the agent's ABORT after KEY: for the
     * verifier a verdict (accepted, not confirmed, the agent's reasons). */
    g_assert_true(snpg_session_run_verifier(fd, &cfg, result, &error));
    g_assert_no_error(error);
    g_assert_cmpint(result->verdict, ==, SNPG_SESSION_VERDICT_ACCEPTED);
    g_assert_false(result->key_confirmed);
    close(fd);
    while ((n = read(err_fd, buf, sizeof(buf))) > 0)
        g_string_append_len(err, buf, n);
    close(err_fd);
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    g_spawn_close_pid(pid);
    if (g_test_verbose())
        g_printerr("agent: %s", err->str);
    *ret_err = g_string_free(err, FALSE);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
assert_agent_refused(const SnpgVerifierResult *result, guint16 reason, const char *text)
{
    g_assert_false(result->key_confirmed);
    g_assert_cmpuint(result->delivery_refusal.n_reasons, ==, 1);
    g_assert_cmpuint(result->delivery_refusal.reasons[0], ==, reason);
    if (!strstr(result->delivery_refusal.text, text))
        g_error("'%s' does not name '%s'", result->delivery_refusal.text, text);
}

/* The forged header reaches the agent through --luks-device and through
 * snpguard.root= on the kernel command line: refused, and the verifier
 * hears why. */
static void
test_agent_refuses_forged_header(Fixture *f, gconstpointer data)
{
    g_auto(SnpgKeyPayload) expect = { 0 };
    g_autofree char *cmdline_text = g_strdup_printf("quiet snpguard.root=luks:%s\n", f->device);
    g_autofree char *cmdline = snpg_test_write(f->dir, "cmdline", cmdline_text, strlen(cmdline_text));
    const char *by_option[] = { "--luks-device", f->device, NULL };
    const char *by_cmdline[] = { "--cmdline", cmdline, NULL };
    const char *const *ways[] = { by_option, by_cmdline };

    (void)data;
    edit_json(f->device, "\"segments\"", "\"encryption\":\"aes-xts-plain64\"",
              "\"encryption\":\"cipher_null-ecb\"");
    expect_fixture(&expect, PASSPHRASE);
    for (gsize i = 0; i < G_N_ELEMENTS(ways); i++) {
        g_auto(SnpgVerifierResult) result = { 0 };
        g_autofree char *err = NULL;

        g_assert_cmpint(run_agent(f->dir, ways[i], &expect, &result, &err), ==, 1);
        assert_agent_refused(&result, SNPG_PROTO_REASON_LUKS_HEADER, "uses no encryption");
        g_assert_nonnull(strstr(err, "uses no encryption"));
        g_assert_null(strstr(err, PASSPHRASE));
    }
}

/* The expected header passes; only the activation is left, which this
 * host cannot do (no device-mapper): luks-open, not a header refusal. */
static void
test_agent_expected_header(Fixture *f, gconstpointer data)
{
    g_auto(SnpgKeyPayload) expect = { 0 };
    g_auto(SnpgVerifierResult) result = { 0 };
    g_autofree char *err = NULL;
    g_autofree char *misc = NULL;
    const char *args[] = { "--luks-device", f->device, "--luks-name", "snpguard-test-root", NULL };

    (void)data;
    if (!g_file_get_contents("/proc/misc", &misc, NULL, NULL) || strstr(misc, "device-mapper")) {
        g_test_skip("this host has device-mapper: not activating a test device");
        return;
    }
    expect_fixture(&expect, PASSPHRASE);
    backup_sha256(f->dir, f->device, expect.luks_header_sha256);
    expect.has_luks_header_sha256 = TRUE;
    g_assert_cmpint(run_agent(f->dir, args, &expect, &result, &err), ==, 1);
    assert_agent_refused(&result, SNPG_PROTO_REASON_LUKS_OPEN, "cannot activate");
}

/* A dm-verity root that fails its root hash stops before DONE. */
static void
test_agent_verity_wrong_root(VerityFixture *f, gconstpointer unused)
{
    g_auto(SnpgKeyPayload) payload = { 0 };
    g_auto(SnpgVerifierResult) result = { 0 };
    g_autofree char *err = NULL;
    g_autofree char *wrong = g_strnfill(64, '0');
    g_autofree char *verity = g_strdup_printf("data:%s,hash:%s,roothash:%s,salt:%s,data-blocks:%u",
                                              f->data, f->hash, wrong, f->salt_hex, VERITY_BLOCKS);
    const char *args[] = { "--verity", verity, NULL };

    (void)unused;
    g_assert_cmpint(run_agent(f->dir, args, &payload, &result, &err), ==, 1);
    assert_agent_refused(&result, SNPG_PROTO_REASON_VERITY, "does not match the root hash");
}

/* The right root hash passes the verification; only the mapping is left,
 * which this host cannot make. */
static void
test_agent_verity_right_root(VerityFixture *f, gconstpointer unused)
{
    g_auto(SnpgKeyPayload) payload = { 0 };
    g_auto(SnpgVerifierResult) result = { 0 };
    g_autofree char *err = NULL;
    g_autofree char *misc = NULL;
    g_autofree char *verity = g_strdup_printf("data:%s,hash:%s,roothash:%s,salt:%s,data-blocks:%u,"
                                              "name:snpguard-test-verity", f->data, f->hash,
                                              f->root_hex, f->salt_hex, VERITY_BLOCKS);
    const char *args[] = { "--verity", verity, NULL };

    (void)unused;
    if (!g_file_get_contents("/proc/misc", &misc, NULL, NULL) || strstr(misc, "device-mapper")) {
        g_test_skip("this host has device-mapper: not activating a test device");
        return;
    }
    g_assert_cmpint(run_agent(f->dir, args, &payload, &result, &err), ==, 1);
    assert_agent_refused(&result, SNPG_PROTO_REASON_VERITY, "cannot activate dm-verity 'snpguard-test-verity'");
}

static void
test_agent_usage(void)
{
    static const char *const cases[][6] = {
        { "--luks-device", "/dev/vda", "--key-out", "/tmp/k", NULL },
        { "--luks-device", "/dev/vda", "--verity", "data:/dev/vdb", NULL },
        { "--luks-name", "root", "--key-out", "/tmp/k", NULL },
        { "--luks-device", "/dev/vda", "--luks-name", "a/b", NULL },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GPtrArray) argv = g_ptr_array_new();
        g_autofree char *err = NULL;
        g_autoptr(GError) error = NULL;
        int status;

        g_ptr_array_add(argv, (gpointer)g_getenv("SNPGUARD_AGENT"));
        g_ptr_array_add(argv, (gpointer)"--any-verifier");
        for (gsize j = 0; cases[i][j]; j++)
            g_ptr_array_add(argv, (gpointer)cases[i][j]);
        g_ptr_array_add(argv, NULL);
        g_assert_true(g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                                   NULL, &err, &status, &error));
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 2);
        g_assert_nonnull(strstr(err, "--help"));
    }
}

/* libcryptsetup warns about the deliberately small keyslots area. */
static void
quiet_log(int level, const char *msg, void *usr)
{
    (void)usr;
    if (g_test_verbose())
        g_printerr("libcryptsetup(%d): %s", level, msg);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    crypt_set_log_callback(NULL, quiet_log, NULL);
#define LUKS_TEST(path, fn) g_test_add(path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
    LUKS_TEST("/luks/expected", test_expected);
    LUKS_TEST("/luks/activation-without-dm", test_activation_without_dm);
    LUKS_TEST("/luks/digest", test_digest);
    LUKS_TEST("/luks/null-segment", test_null_segment);
    LUKS_TEST("/luks/null-keyslot", test_null_keyslot);
    LUKS_TEST("/luks/other-key", test_other_key);
    LUKS_TEST("/luks/wrong-key", test_wrong_key);
    LUKS_TEST("/luks/added-keyslot", test_added_keyslot);
    LUKS_TEST("/luks/other-cipher", test_other_cipher);
    LUKS_TEST("/luks/other-key-size", test_other_key_size);
    LUKS_TEST("/luks/token", test_token);
    LUKS_TEST("/luks/reencryption", test_reencryption);
    LUKS_TEST("/luks/data-inside-header", test_data_inside_header);
    LUKS_TEST("/luks/swap-after-check", test_swap_after_check);
    LUKS_TEST("/luks/luks1", test_luks1);
    LUKS_TEST("/luks/metadata-size-bound", test_metadata_size_bound);
    LUKS_TEST("/luks/truncated", test_truncated);
    LUKS_TEST("/luks/no-expectations", test_no_expectations);
#define VERITY_TEST(path, fn) g_test_add(path, VerityFixture, NULL, verity_set_up, fn, verity_tear_down)
    VERITY_TEST("/verity/accepts", test_verity_accepts);
    VERITY_TEST("/verity/wrong-root", test_verity_wrong_root);
    VERITY_TEST("/verity/modified-data", test_verity_modified_data);
    VERITY_TEST("/verity/modified-hash", test_verity_modified_hash);
    VERITY_TEST("/verity/other-salt", test_verity_other_salt);
    LUKS_TEST("/agent/refuses-forged-header", test_agent_refuses_forged_header);
    LUKS_TEST("/agent/expected-header", test_agent_expected_header);
    VERITY_TEST("/agent/verity-wrong-root", test_agent_verity_wrong_root);
    VERITY_TEST("/agent/verity-right-root", test_agent_verity_right_root);
    g_test_add_func("/agent/usage", test_agent_usage);
    g_test_add_func("/verity/parse-errors", test_verity_parse_errors);
    g_test_add_func("/verity/parse-full", test_verity_parse_full);
    return g_test_run();
}
