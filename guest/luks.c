/* The root device, opened with libcryptsetup: LUKS2 from a checked
 * in-memory header copy, dm-verity after verifying the whole tree. */
#include "config.h"

#include "luks.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <glib/gi18n.h>
#include <libcryptsetup.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "hex.h"

G_DEFINE_QUARK(snpg-luks-error-quark, snpg_luks_error)

void (*snpg_luks_after_check_hook)(const char *device);

/* Far above any real volume key (512 bits for AES-XTS-256). */
#define SNPG_LUKS_VOLUME_KEY_MAX 512

/* The LUKS2 binary header (big-endian fields, LUKS2 on-disk format). */
#define LUKS2_BINARY_HEADER_LEN 4096
#define LUKS2_HDR_SIZE_OFFSET 8
static const guint8 luks2_magic[6] = { 'L', 'U', 'K', 'S', 0xba, 0xbe };

static void
refuse(SnpgRefusal *refusal, GError **error, guint16 reason, SnpgLuksError code,
       const char *fmt, ...) G_GNUC_PRINTF(5, 6);

/* Fills both the refusal for the verifier and the local error. */
static void
refuse(SnpgRefusal *refusal, GError **error, guint16 reason, SnpgLuksError code, const char *fmt, ...)
{
    g_autofree char *text = NULL;
    va_list ap;

    va_start(ap, fmt);
    text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (refusal) {
        snpg_refusal_clear(refusal);
        refusal->reasons[0] = reason;
        refusal->n_reasons = 1;
        refusal->text = g_strdup(text);
    }
    g_set_error_literal(error, SNPG_LUKS_ERROR, code, text);
}

static gboolean
pread_all(int fd, guint8 *buf, gsize len, guint64 offset)
{
    while (len > 0) {
        ssize_t n = pread(fd, buf, len, (off_t)offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0)
            errno = EIO;  /* the device ends inside its header area */
        if (n <= 0)
            return FALSE;
        buf += n;
        len -= (gsize)n;
        offset += (guint64)n;
    }
    return TRUE;
}

static gboolean
write_all(int fd, const guint8 *buf, gsize len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return FALSE;
        buf += n;
        len -= (gsize)n;
    }
    return TRUE;
}

/* Appends len bytes of the device at offset to the copy. */
static gboolean
copy_range(int dev_fd, int copy_fd, guint64 offset, guint64 len, const char *device, GError **error)
{
    g_autofree guint8 *buf = g_malloc(1024 * 1024);

    while (len > 0) {
        gsize chunk = (gsize)MIN(len, (guint64)1024 * 1024);

        if (!pread_all(dev_fd, buf, chunk, offset)) {
            int saved = errno;
            g_set_error(error, SNPG_LUKS_ERROR, SNPG_LUKS_ERROR_OPEN,
                        _("cannot read the LUKS2 header area of '%s': %s"), device, g_strerror(saved));
            return FALSE;
        }
        if (!write_all(copy_fd, buf, chunk)) {
            int saved = errno;
            g_set_error(error, SNPG_LUKS_ERROR, SNPG_LUKS_ERROR_OPEN,
                        _("cannot copy the LUKS2 header into memory: %s"), g_strerror(saved));
            return FALSE;
        }
        offset += chunk;
        len -= chunk;
    }
    return TRUE;
}

static gboolean
is_power_of_two(guint64 v)
{
    return v && !(v & (v - 1));
}

/* libcryptsetup's messages go to the debug log, not the console. */
static void
cryptsetup_log(int level, const char *msg, void *usr)
{
    (void)usr;
    if (level == CRYPT_LOG_ERROR)
        g_debug("libcryptsetup(%d): %s", level, msg);
}

typedef struct {
    int fd;                   /* the memfd holding the copy */
    char *path;               /* /proc/self/fd/N, for libcryptsetup */
    guint64 len;              /* bytes copied: 2 * metadata + keyslots area */
    guint64 metadata_size;
    guint64 keyslots_size;
} HeaderCopy;

static void
header_copy_clear(HeaderCopy *copy)
{
    if (copy->fd >= 0)
        close(copy->fd);
    copy->fd = -1;
    g_clear_pointer(&copy->path, g_free);
}

/* Copies the header area in two steps, each byte read from the device
 * once: both metadata copies (their size is in the binary header), then
 * the keyslots area, whose size libcryptsetup reads from the copied JSON.
 * Only the complete copy is checked and used afterwards. On FALSE with
 * is_header set, the device does not hold an acceptable LUKS2 header. */
static gboolean
copy_header(const char *device, HeaderCopy *copy, gboolean *is_header, GError **error)
{
    guint8 binary[LUKS2_BINARY_HEADER_LEN];
    guint64 metadata_size = 0, keyslots_size = 0, hdr_size;
    struct crypt_device *cd = NULL;
    int dev_fd, r, saved;
    gboolean ok = FALSE;

    *is_header = FALSE;
    dev_fd = open(device, O_RDONLY | O_CLOEXEC);
    if (dev_fd < 0) {
        saved = errno;
        g_set_error(error, SNPG_LUKS_ERROR, SNPG_LUKS_ERROR_OPEN, _("cannot open '%s': %s"), device,
                    g_strerror(saved));
        return FALSE;
    }
    if (!pread_all(dev_fd, binary, sizeof(binary), 0)) {
        saved = errno;
        g_set_error(error, SNPG_LUKS_ERROR, SNPG_LUKS_ERROR_OPEN, _("cannot read '%s': %s"), device,
                    g_strerror(saved));
        goto out;
    }
    *is_header = TRUE;
    if (memcmp(binary, luks2_magic, sizeof(luks2_magic)) != 0 || binary[6] != 0 || binary[7] != 2) {
        g_set_error(error, SNPG_LUKS_ERROR, SNPG_LUKS_ERROR_HEADER,
                    _("'%s' has no LUKS2 header"), device);
        goto out;
    }
    memcpy(&hdr_size, binary + LUKS2_HDR_SIZE_OFFSET, sizeof(hdr_size));
    hdr_size = GUINT64_FROM_BE(hdr_size);
    if (hdr_size < SNPG_LUKS2_METADATA_MIN || hdr_size > SNPG_LUKS2_METADATA_MAX ||
        !is_power_of_two(hdr_size)) {
        g_set_error(error, SNPG_LUKS_ERROR, SNPG_LUKS_ERROR_HEADER,
                    _("the LUKS2 metadata size %" G_GUINT64_FORMAT " is outside the LUKS2 limits"),
                    hdr_size);
        goto out;
    }

    copy->fd = memfd_create("snpguard-luks-header", MFD_CLOEXEC);
    if (copy->fd < 0) {
        saved = errno;
        *is_header = FALSE;
        g_set_error(error, SNPG_LUKS_ERROR, SNPG_LUKS_ERROR_OPEN,
                    _("cannot make memory for the LUKS2 header: %s"), g_strerror(saved));
        goto out;
    }
    copy->path = g_strdup_printf("/proc/self/fd/%d", copy->fd);
    if (!copy_range(dev_fd, copy->fd, 0, 2 * hdr_size, device, error)) {
        *is_header = FALSE;
        goto out;
    }

    /* The keyslots area size, from the copied metadata. libcryptsetup
     * wants the device to hold the area the metadata claims: a hole up to
     * the LUKS2 limit stands in for it (no memory used), then goes. */
    if (ftruncate(copy->fd, (off_t)(2 * hdr_size + SNPG_LUKS2_KEYSLOTS_MAX)) != 0) {
        saved = errno;
        *is_header = FALSE;
        g_set_error(error, SNPG_LUKS_ERROR, SNPG_LUKS_ERROR_OPEN,
                    _("cannot make memory for the LUKS2 header: %s"), g_strerror(saved));
        goto out;
    }
    if ((r = crypt_init(&cd, copy->path)) < 0 || (r = crypt_load(cd, CRYPT_LUKS2, NULL)) < 0 ||
        (r = crypt_get_metadata_size(cd, &metadata_size, &keyslots_size)) < 0) {
        g_set_error(error, SNPG_LUKS_ERROR, SNPG_LUKS_ERROR_HEADER,
                    _("the LUKS2 metadata of '%s' does not load: %s"), device, g_strerror(-r));
        goto out;
    }
    if (metadata_size != hdr_size || keyslots_size > SNPG_LUKS2_KEYSLOTS_MAX ||
        keyslots_size % 4096 != 0) {
        g_set_error(error, SNPG_LUKS_ERROR, SNPG_LUKS_ERROR_HEADER,
                    _("the LUKS2 area sizes of '%s' are outside the LUKS2 limits"), device);
        goto out;
    }
    if (ftruncate(copy->fd, (off_t)(2 * hdr_size)) != 0 || lseek(copy->fd, 0, SEEK_END) < 0) {
        saved = errno;
        *is_header = FALSE;
        g_set_error(error, SNPG_LUKS_ERROR, SNPG_LUKS_ERROR_OPEN,
                    _("cannot make memory for the LUKS2 header: %s"), g_strerror(saved));
        goto out;
    }
    if (!copy_range(dev_fd, copy->fd, 2 * hdr_size, keyslots_size, device, error)) {
        *is_header = FALSE;
        goto out;
    }
    copy->metadata_size = metadata_size;
    copy->keyslots_size = keyslots_size;
    copy->len = 2 * metadata_size + keyslots_size;
    ok = TRUE;
out:
    if (cd)
        crypt_free(cd);
    close(dev_fd);
    return ok;
}

/* SHA-256 of the whole copy, as libcryptsetup will read it. */
static gboolean
copy_sha256(const HeaderCopy *copy, guint8 ret[32], GError **error)
{
    g_autofree guint8 *buf = g_malloc(1024 * 1024);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    guint64 offset = 0;
    gboolean ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;

    while (ok && offset < copy->len) {
        gsize chunk = (gsize)MIN(copy->len - offset, (guint64)1024 * 1024);

        ok = pread_all(copy->fd, buf, chunk, offset) && EVP_DigestUpdate(ctx, buf, chunk) == 1;
        offset += chunk;
    }
    ok = ok && EVP_DigestFinal_ex(ctx, ret, NULL) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        g_set_error(error, SNPG_LUKS_ERROR, SNPG_LUKS_ERROR_OPEN,
                    _("cannot hash the LUKS2 header copy"));
    return ok;
}

/* cipher_null in any spelling ("cipher_null", "cipher_null-ecb", "null",
 * "none"), case-insensitively, in a cipher or a cipher-mode spec. */
static gboolean
is_null_cipher(const char *spec)
{
    g_autofree char *lower = g_ascii_strdown(spec ? spec : "", -1);

    return !*lower || strstr(lower, "null") || g_str_has_prefix(lower, "none");
}

/* The checks on the loaded copy; on FALSE, text names the failed one.
 * Returns the single keyslot in ret_keyslot. */
static gboolean
check_header(struct crypt_device *cd, const HeaderCopy *copy, const SnpgKeyPayload *expect,
             int *ret_keyslot, char **ret_text, GError **error)
{
    const char *cipher = crypt_get_cipher(cd), *mode = crypt_get_cipher_mode(cd);
    g_autofree char *spec = g_strdup_printf("%s-%s", cipher ? cipher : "", mode ? mode : "");
    int max = crypt_keyslot_max(CRYPT_LUKS2), keyslot = -1, n_keyslots = 0, key_size;
    guint32 requirements = 0;
    guint8 digest[32];

    *ret_text = NULL;
    if (is_null_cipher(cipher) || is_null_cipher(mode)) {
        *ret_text = g_strdup_printf(_("the data segment uses no encryption (cipher '%s')"), spec);
        return FALSE;
    }
    if (!g_str_equal(spec, expect->luks_cipher)) {
        *ret_text = g_strdup_printf(_("the data segment cipher is '%s', not the expected '%s'"), spec,
                                    expect->luks_cipher);
        return FALSE;
    }
    key_size = crypt_get_volume_key_size(cd);
    if (key_size <= 0 || key_size > SNPG_LUKS_VOLUME_KEY_MAX ||
        (guint32)key_size * 8 != expect->luks_key_bits) {
        *ret_text = g_strdup_printf(_("the volume key has %d bits, not the expected %u"), key_size * 8,
                                    expect->luks_key_bits);
        return FALSE;
    }
    /* A reencryption in progress brings a second segment and keyslot. */
    if (crypt_reencrypt_status(cd, NULL) != CRYPT_REENCRYPT_NONE) {
        *ret_text = g_strdup(_("the header records a reencryption"));
        return FALSE;
    }
    if (crypt_persistent_flags_get(cd, CRYPT_FLAGS_REQUIREMENTS, &requirements) < 0 ||
        requirements != 0) {
        *ret_text = g_strdup_printf(_("the header has requirement flags 0x%x"), requirements);
        return FALSE;
    }
    for (int i = 0; i < max; i++) {
        crypt_keyslot_info status = crypt_keyslot_status(cd, i);
        const char *slot_cipher;
        size_t slot_key_size = 0;

        if (status == CRYPT_SLOT_INACTIVE)
            continue;
        if (status != CRYPT_SLOT_ACTIVE && status != CRYPT_SLOT_ACTIVE_LAST) {
            /* Unbound or unreadable keyslots are not part of the expected header. */
            *ret_text = g_strdup_printf(_("keyslot %d is not an ordinary active keyslot"), i);
            return FALSE;
        }
        slot_cipher = crypt_keyslot_get_encryption(cd, i, &slot_key_size);
        if (is_null_cipher(slot_cipher)) {
            *ret_text = g_strdup_printf(_("keyslot %d uses no encryption (cipher '%s')"), i,
                                        slot_cipher ? slot_cipher : "");
            return FALSE;
        }
        keyslot = i;
        n_keyslots++;
    }
    if (n_keyslots != 1) {
        *ret_text = g_strdup_printf(_("the header has %d keyslots, not exactly one"), n_keyslots);
        return FALSE;
    }
    for (int i = 0; i < max; i++) {
        if (crypt_token_status(cd, i, NULL) != CRYPT_TOKEN_INACTIVE) {
            *ret_text = g_strdup_printf(_("the header has a token (%d)"), i);
            return FALSE;
        }
    }
    /* The data must start after the copied area: never inside the header. */
    if (crypt_get_data_offset(cd) > G_MAXUINT64 / 512 || crypt_get_data_offset(cd) * 512 < copy->len) {
        *ret_text = g_strdup(_("the data segment overlaps the header area"));
        return FALSE;
    }
    if (expect->has_luks_header_sha256) {
        if (!copy_sha256(copy, digest, error))
            return FALSE;
        if (CRYPTO_memcmp(digest, expect->luks_header_sha256, sizeof(digest)) != 0) {
            g_autofree char *got = snpg_hex_encode(digest, sizeof(digest));
            *ret_text = g_strdup_printf(_("the header area's SHA-256 is %s, not the expected one"), got);
            return FALSE;
        }
    }
    *ret_keyslot = keyslot;
    return TRUE;
}

gboolean
snpg_luks_check_and_open(const char *device, const char *name, const SnpgKeyPayload *expect,
                         SnpgRefusal *ret_refusal, GError **error)
{
    HeaderCopy copy = { .fd = -1 };
    struct crypt_device *cd = NULL;
    g_autoptr(GError) local = NULL;
    g_autofree char *text = NULL;
    g_autoptr(SnpgSecret) volume_key = NULL;
    size_t volume_key_len;
    gboolean is_header, ok = FALSE;
    int keyslot = -1, r;

    g_return_val_if_fail(device && expect, FALSE);
    /* The key is used only against an expected header: without the
     * expectations nothing is checked, so nothing is opened. */
    if (!expect->disk_key || !expect->luks_cipher || !expect->luks_key_bits) {
        refuse(ret_refusal, error, SNPG_PROTO_REASON_LUKS_HEADER, SNPG_LUKS_ERROR_HEADER,
               _("the verifier sent no disk key or no expected LUKS2 cipher and key size"));
        return FALSE;
    }
    crypt_set_log_callback(NULL, cryptsetup_log, NULL);
    /* The copy is private to this process: no lock files (an initramfs
     * may have no /run/cryptsetup). */
    crypt_metadata_locking(NULL, 0);

    if (!copy_header(device, &copy, &is_header, &local)) {
        refuse(ret_refusal, error, is_header ? SNPG_PROTO_REASON_LUKS_HEADER : SNPG_PROTO_REASON_LUKS_OPEN,
               is_header ? SNPG_LUKS_ERROR_HEADER : SNPG_LUKS_ERROR_OPEN, "%s", local->message);
        goto out;
    }
    /* From here on only the copy is read; the device is the data device. */
    if ((r = crypt_init_data_device(&cd, copy.path, device)) < 0) {
        refuse(ret_refusal, error, SNPG_PROTO_REASON_LUKS_OPEN, SNPG_LUKS_ERROR_OPEN,
               _("cannot use '%s' as the data device: %s"), device, g_strerror(-r));
        goto out;
    }
    if ((r = crypt_load(cd, CRYPT_LUKS2, NULL)) < 0) {
        refuse(ret_refusal, error, SNPG_PROTO_REASON_LUKS_HEADER, SNPG_LUKS_ERROR_HEADER,
               _("the LUKS2 header copy of '%s' does not load: %s"), device, g_strerror(-r));
        goto out;
    }
    if (!check_header(cd, &copy, expect, &keyslot, &text, &local)) {
        if (text)
            refuse(ret_refusal, error, SNPG_PROTO_REASON_LUKS_HEADER, SNPG_LUKS_ERROR_HEADER,
                   _("unexpected LUKS2 header on '%s': %s"), device, text);
        else
            refuse(ret_refusal, error, SNPG_PROTO_REASON_LUKS_OPEN, SNPG_LUKS_ERROR_OPEN, "%s",
                   local->message);
        goto out;
    }
    if (snpg_luks_after_check_hook)
        snpg_luks_after_check_hook(device);
    /* The key opens the checked keyslot (one PBKDF run, no device-mapper
     * needed): a wrong key is told apart from a failing activation. The
     * volume key stays in locked memory and is wiped with it. */
    volume_key = snpg_secret_new((gsize)crypt_get_volume_key_size(cd));
    volume_key_len = snpg_secret_len(volume_key);
    r = crypt_volume_key_get(cd, keyslot, (char *)snpg_secret_data(volume_key), &volume_key_len,
                             (const char *)snpg_secret_data(expect->disk_key),
                             snpg_secret_len(expect->disk_key));
    if (r < 0) {
        refuse(ret_refusal, error, SNPG_PROTO_REASON_LUKS_KEY, SNPG_LUKS_ERROR_KEY,
               _("the key does not open keyslot %d of '%s': %s"), keyslot, device, g_strerror(-r));
        goto out;
    }
    if (name) {
        r = crypt_activate_by_volume_key(cd, name, (const char *)snpg_secret_data(volume_key),
                                         volume_key_len, 0);
        if (r < 0) {
            refuse(ret_refusal, error, SNPG_PROTO_REASON_LUKS_OPEN, SNPG_LUKS_ERROR_OPEN,
                   _("cannot activate '%s' as '%s': %s"), device, name, g_strerror(-r));
            goto out;
        }
    }
    ok = TRUE;
out:
    if (cd)
        crypt_free(cd);
    header_copy_clear(&copy);
    return ok;
}

/* --- dm-verity --------------------------------------------------------- */

void
snpg_verity_params_clear(SnpgVerityParams *params)
{
    g_clear_pointer(&params->data_device, g_free);
    g_clear_pointer(&params->hash_device, g_free);
    g_clear_pointer(&params->hash_name, g_free);
    g_clear_pointer(&params->name, g_free);
    memset(params, 0, sizeof(*params));
}

static gboolean
verity_invalid(GError **error, const char *field, const char *why)
{
    g_set_error(error, SNPG_LUKS_ERROR, SNPG_LUKS_ERROR_VERITY, _("%s: '%s' %s"),
                SNPG_VERITY_CMDLINE_PARAM, field, why);
    return FALSE;
}

static gboolean
parse_u64(const char *field, const char *value, guint64 min, guint64 max, guint64 *ret, GError **error)
{
    guint64 v = 0;

    if (!g_ascii_string_to_unsigned(value, 10, min, max, &v, NULL))
        return verity_invalid(error, field, _("is not a number in range"));
    *ret = v;
    return TRUE;
}

static gboolean
parse_block_size(const char *field, const char *value, guint32 *ret, GError **error)
{
    guint64 v = 0;

    if (!parse_u64(field, value, 512, 65536, &v, error))
        return FALSE;
    if (!is_power_of_two(v))
        return verity_invalid(error, field, _("is not a power of two"));
    *ret = (guint32)v;
    return TRUE;
}

/* An absolute device path: no ':' or ',' (the separators), bounded. */
static gboolean
parse_device(const char *field, const char *value, char **ret, GError **error)
{
    if (value[0] != '/' || strlen(value) > 255)
        return verity_invalid(error, field, _("is not an absolute device path"));
    *ret = g_strdup(value);
    return TRUE;
}

gboolean
snpg_verity_params_parse(const char *text, SnpgVerityParams *ret, GError **error)
{
    g_auto(SnpgVerityParams) params = { 0 };
    g_auto(GStrv) fields = NULL;
    g_autofree char *root_hash = NULL, *salt = NULL;
    guint64 v = 0;
    guint seen = 0;
    const EVP_MD *md;
    static const char *const names[] = { "data", "hash", "roothash", "salt", "data-blocks", "hash-alg",
                                         "data-block-size", "hash-block-size", "hash-offset", "name" };

    if (strlen(text) > 4096)
        return verity_invalid(error, "", _("is too long"));
    params.data_block_size = params.hash_block_size = 4096;
    fields = g_strsplit(text, ",", -1);
    for (gsize i = 0; fields[i]; i++) {
        const char *colon = strchr(fields[i], ':');
        g_autofree char *field = colon ? g_strndup(fields[i], (gsize)(colon - fields[i])) : NULL;
        const char *value = colon ? colon + 1 : NULL;
        guint index = G_N_ELEMENTS(names);

        if (!field)
            return verity_invalid(error, fields[i], _("is not FIELD:VALUE"));
        for (guint n = 0; n < G_N_ELEMENTS(names); n++)
            if (g_str_equal(field, names[n]))
                index = n;
        if (index == G_N_ELEMENTS(names))
            return verity_invalid(error, field, _("is not a known field"));
        if (seen & (1u << index))
            return verity_invalid(error, field, _("is given twice"));
        seen |= 1u << index;
        switch (index) {
        case 0:
            if (!parse_device(field, value, &params.data_device, error))
                return FALSE;
            break;
        case 1:
            if (!parse_device(field, value, &params.hash_device, error))
                return FALSE;
            break;
        case 2:
            root_hash = g_strdup(value);
            break;
        case 3:
            salt = g_strdup(value);
            break;
        case 4:
            if (!parse_u64(field, value, 1, G_MAXUINT64 / 65536, &params.data_blocks, error))
                return FALSE;
            break;
        case 5:
            if (!*value || strlen(value) > 32)
                return verity_invalid(error, field, _("is not a hash name"));
            params.hash_name = g_strdup(value);
            break;
        case 6:
            if (!parse_block_size(field, value, &params.data_block_size, error))
                return FALSE;
            break;
        case 7:
            if (!parse_block_size(field, value, &params.hash_block_size, error))
                return FALSE;
            break;
        case 8:
            if (!parse_u64(field, value, 0, G_MAXUINT64 / 2, &v, error))
                return FALSE;
            params.hash_offset = v;
            break;
        case 9:
            if (!*value || strlen(value) > 64 || strchr(value, '/'))
                return verity_invalid(error, field, _("is not a device-mapper name"));
            params.name = g_strdup(value);
            break;
        }
    }
    if (!params.data_device || !params.hash_device || !root_hash || !salt || !params.data_blocks)
        return verity_invalid(error, text, _("lacks one of data, hash, roothash, salt and data-blocks"));
    if (!params.hash_name)
        params.hash_name = g_strdup("sha256");
    if (!params.name)
        params.name = g_strdup("snpguard-root");
    md = EVP_get_digestbyname(params.hash_name);
    if (!md || EVP_MD_get_size(md) <= 0 || (gsize)EVP_MD_get_size(md) > sizeof(params.root_hash))
        return verity_invalid(error, "hash-alg", _("is not a known hash"));
    params.root_hash_len = (gsize)EVP_MD_get_size(md);
    if (!snpg_hex_decode("roothash", root_hash, params.root_hash, params.root_hash_len, error))
        return FALSE;
    if (params.hash_offset % params.hash_block_size != 0)
        return verity_invalid(error, "hash-offset", _("is not a multiple of the hash block size"));
    if (!g_str_equal(salt, "-")) {
        gsize len = strlen(salt) / 2;

        if (len == 0 || len > sizeof(params.salt) || strlen(salt) % 2 != 0)
            return verity_invalid(error, "salt", _("is not 1 to 256 bytes of hex, or '-'"));
        if (!snpg_hex_decode("salt", salt, params.salt, len, error))
            return FALSE;
        params.salt_len = len;
    }
    *ret = params;
    memset(&params, 0, sizeof(params));
    return TRUE;
}

/* A libcryptsetup context for the measured parameters; check_hash makes
 * an activation without a name hash every block in user space. */
static struct crypt_device *
verity_context(const SnpgVerityParams *params, gboolean check_hash, GError **error)
{
    struct crypt_device *cd = NULL;
    struct crypt_params_verity vp = {
        .hash_name = params->hash_name,
        .data_device = params->data_device,
        .salt = (const char *)params->salt,
        .salt_size = (uint32_t)params->salt_len,
        .hash_type = 1,
        .data_block_size = params->data_block_size,
        .hash_block_size = params->hash_block_size,
        .data_size = params->data_blocks,
        .hash_area_offset = params->hash_offset,
        /* Every parameter is the measured one: no superblock is read from
         * the host's disk. */
        .flags = CRYPT_VERITY_NO_HEADER | (check_hash ? CRYPT_VERITY_CHECK_HASH : 0),
    };
    int r;

    crypt_set_log_callback(NULL, cryptsetup_log, NULL);
    if ((r = crypt_init(&cd, params->hash_device)) < 0) {
        g_set_error(error, SNPG_LUKS_ERROR, SNPG_LUKS_ERROR_VERITY, _("cannot open '%s': %s"),
                    params->hash_device, g_strerror(-r));
        return NULL;
    }
    /* Without a superblock the parameters are "formatted" into the context:
     * with neither CRYPT_VERITY_CREATE_HASH nor a header, nothing is written. */
    if ((r = crypt_format(cd, CRYPT_VERITY, NULL, NULL, NULL, NULL, 0, &vp)) < 0) {
        g_set_error(error, SNPG_LUKS_ERROR, SNPG_LUKS_ERROR_VERITY,
                    _("cannot use '%s' and '%s' as dm-verity devices: %s"), params->data_device,
                    params->hash_device, g_strerror(-r));
        crypt_free(cd);
        return NULL;
    }
    return cd;
}

gboolean
snpg_verity_open(const SnpgVerityParams *params, const char *name, GError **error)
{
    struct crypt_device *cd;
    int r;

    /* First the whole tree against the root hash, in user space: a kernel
     * mapping with a wrong root hash would open and fail only on reads. */
    if (!(cd = verity_context(params, TRUE, error)))
        return FALSE;
    r = crypt_activate_by_volume_key(cd, NULL, (const char *)params->root_hash, params->root_hash_len,
                                     CRYPT_ACTIVATE_READONLY);
    crypt_free(cd);
    /* libcryptsetup 2.6: -EFAULT for the root hash, -EPERM for a block. */
    if (r == -EPERM || r == -EFAULT) {
        g_set_error(error, SNPG_LUKS_ERROR, SNPG_LUKS_ERROR_VERITY,
                    _("'%s' does not match the root hash: the data or hash device was modified"),
                    params->data_device);
        return FALSE;
    }
    if (r < 0) {
        g_set_error(error, SNPG_LUKS_ERROR, SNPG_LUKS_ERROR_VERITY, _("cannot verify dm-verity '%s': %s"),
                    params->data_device, g_strerror(-r));
        return FALSE;
    }
    if (!name)
        return TRUE;
    /* Then the mapping, whose every read the kernel checks against the same
     * root hash: a device changed after the check gives read errors, never
     * other data. */
    if (!(cd = verity_context(params, FALSE, error)))
        return FALSE;
    r = crypt_activate_by_volume_key(cd, name, (const char *)params->root_hash, params->root_hash_len,
                                     CRYPT_ACTIVATE_READONLY);
    crypt_free(cd);
    if (r < 0) {
        g_set_error(error, SNPG_LUKS_ERROR, SNPG_LUKS_ERROR_VERITY, _("cannot activate dm-verity '%s': %s"),
                    name, g_strerror(-r));
        return FALSE;
    }
    return TRUE;
}
