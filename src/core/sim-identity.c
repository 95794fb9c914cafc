#include "config.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "autocleanups.h"
#include "file.h"
#include "hex.h"
#include "i18n.h"
#include "secret.h"
#include "sim-identity.h"
#include "sim.h"

#define GROUP "snpguard-sim-identity"
/* An identity is a few KiB; refuse anything that is clearly not one. */
#define IDENTITY_MAX (64 * 1024)

struct _SnpgSimIdentity {
    SnpgSim *sim;
    SnpgSimIdentityParams params;
    GBytes *vcek_der;
    GBytes *ask_der;
};

void
snpg_sim_identity_params_init(SnpgSimIdentityParams *params)
{
    memset(params, 0, sizeof(*params));
    params->policy = 0x30000;
    params->report_version = 5;
}

static void
set_hex(GKeyFile *kf, const char *key, const guint8 *data, gsize len)
{
    g_autofree char *hex = snpg_hex_encode(data, len);
    g_key_file_set_string(kf, GROUP, key, hex);
}

gboolean
snpg_sim_identity_write(const char *sim_dir, const SnpgSimIdentityParams *params,
                        const char *path, GError **error)
{
    g_autoptr(SnpgSim) sim = snpg_sim_load(sim_dir, error);
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autofree guint8 *key_der = NULL;
    g_autofree guint8 *cert_der = NULL;
    g_autofree char *key_b64 = NULL;
    g_autofree char *cert_b64 = NULL;
    g_autofree char *ask_b64 = NULL;
    g_autofree char *text = NULL;
    g_autofree char *policy = NULL;
    unsigned char *p = NULL;
    SnpgTcb tcb;
    gsize text_len;
    int key_len, cert_len;
    g_autoptr(GError) local = NULL;
    gboolean ok;

    if (!sim)
        return FALSE;
    snpg_sim_get_tcb(sim, &tcb);
    key_len = i2d_PrivateKey(snpg_sim_get_vcek_key(sim), &p);
    key_der = p;
    p = NULL;
    cert_len = i2d_X509(snpg_sim_get_vcek(sim), &p);
    cert_der = p;
    if (key_len <= 0 || cert_len <= 0) {
        ERR_clear_error();
        g_set_error(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_CRYPTO,
                    _("Cannot encode the simulated VCEK."));
        return FALSE;
    }
    {
        g_autofree char *ask_path = g_build_filename(sim_dir, "ask.pem", NULL);
        /* An RSA-4096 certificate in PEM is about 2.2 KiB. */
        g_autoptr(GBytes) ask_pem = snpg_file_read(ask_path, 64 * 1024, NULL);
        g_autoptr(BIO) bio = ask_pem ? BIO_new_mem_buf(g_bytes_get_data(ask_pem, NULL),
                                                       (int)g_bytes_get_size(ask_pem)) : NULL;
        g_autoptr(X509) ask = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
        unsigned char *q = NULL;
        int ask_len = ask ? i2d_X509(ask, &q) : -1;

        if (ask_len <= 0) {
            ERR_clear_error();
            OPENSSL_cleanse(key_der, (gsize)key_len);
            g_set_error(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_FORMAT,
                        _("Cannot read the simulated ASK '%s'."), ask_path);
            return FALSE;
        }
        ask_b64 = g_base64_encode(q, (gsize)ask_len);
        OPENSSL_free(q);
    }
    key_b64 = g_base64_encode(key_der, (gsize)key_len);
    OPENSSL_cleanse(key_der, (gsize)key_len);
    cert_b64 = g_base64_encode(cert_der, (gsize)cert_len);

    g_key_file_set_comment(kf, NULL, NULL,
                           " snpguard simulated launch identity: TEST keys, NOT AMD's.\n"
                           " A production verifier rejects reports signed with it.", NULL);
    g_key_file_set_string(kf, GROUP, "product", snpg_product_to_string(snpg_sim_get_product(sim)));
    set_hex(kf, "chip-id", snpg_sim_get_chip_id(sim), SNPG_SIM_CHIP_ID_SIZE);
    g_key_file_set_integer(kf, GROUP, "fmc", tcb.fmc);
    g_key_file_set_integer(kf, GROUP, "bl", tcb.bl);
    g_key_file_set_integer(kf, GROUP, "tee", tcb.tee);
    g_key_file_set_integer(kf, GROUP, "snp", tcb.snp);
    g_key_file_set_integer(kf, GROUP, "ucode", tcb.ucode);
    set_hex(kf, "measurement", params->measurement, sizeof(params->measurement));
    policy = g_strdup_printf("0x%" G_GINT64_MODIFIER "x", params->policy);
    g_key_file_set_string(kf, GROUP, "policy", policy);
    set_hex(kf, "host-data", params->host_data, sizeof(params->host_data));
    set_hex(kf, "family-id", params->family_id, sizeof(params->family_id));
    set_hex(kf, "image-id", params->image_id, sizeof(params->image_id));
    set_hex(kf, "id-key-digest", params->id_key_digest, sizeof(params->id_key_digest));
    set_hex(kf, "author-key-digest", params->author_key_digest, sizeof(params->author_key_digest));
    g_key_file_set_integer(kf, GROUP, "guest-svn", (gint)params->guest_svn);
    g_key_file_set_integer(kf, GROUP, "min-vmpl", (gint)params->min_vmpl);
    g_key_file_set_integer(kf, GROUP, "report-version", (gint)params->report_version);
    g_key_file_set_string(kf, GROUP, "vcek", cert_b64);
    g_key_file_set_string(kf, GROUP, "ask", ask_b64);
    g_key_file_set_string(kf, GROUP, "vcek-key", key_b64);
    text = g_key_file_to_data(kf, &text_len, NULL);
    OPENSSL_cleanse(key_b64, strlen(key_b64));

    /* Atomic, 0600: the file holds the (test) signing key. */
    ok = snpg_file_write_private(path, text, text_len, &local);
    OPENSSL_cleanse(text, text_len);
    if (!ok)
        g_set_error_literal(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_IO, local->message);
    return ok;
}

static gboolean
get_hex(GKeyFile *kf, const char *key, guint8 *out, gsize len, GError **error)
{
    g_autofree char *text = g_key_file_get_string(kf, GROUP, key, NULL);

    if (!text) {
        g_set_error(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_FORMAT,
                    _("The simulated identity has no '%s'."), key);
        return FALSE;
    }
    return snpg_hex_decode(key, text, out, len, error);
}

/* Decimal, or hex with a 0x prefix (the policy is written that way). */
static gboolean
get_uint(GKeyFile *kf, const char *key, guint64 max, guint64 *ret, GError **error)
{
    g_autofree char *text = g_key_file_get_value(kf, GROUP, key, NULL);
    const char *digits = text ? g_strstrip(text) : NULL;
    guint base = 10;
    guint64 v = 0;

    if (digits && (g_str_has_prefix(digits, "0x") || g_str_has_prefix(digits, "0X"))) {
        digits += 2;
        base = 16;
    }
    if (!digits || !g_ascii_string_to_unsigned(digits, base, 0, max, &v, NULL)) {
        g_set_error(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_FORMAT,
                    _("The simulated identity has no valid '%s'."), key);
        return FALSE;
    }
    *ret = v;
    return TRUE;
}

/* Reads at most IDENTITY_MAX bytes: the file may be a fw_cfg blob the host
 * wrote (or a pipe, or a device), so its size is capped before any of it is
 * read. The text holds the (test) signing key: wiped when freed. */
static GBytes *
read_identity(const char *path, GError **error)
{
    g_autoptr(GError) local = NULL;
    GBytes *text = snpg_file_read_full(path, IDENTITY_MAX,
                                       SNPG_FILE_READ_ALLOW_DEVICE | SNPG_FILE_READ_SECRET, &local);

    if (text)
        return text;
    if (g_error_matches(local, SNPG_FILE_ERROR, SNPG_FILE_ERROR_TOO_LARGE))
        g_set_error(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_FORMAT,
                    _("'%s' is not a simulated identity."), path);
    else
        g_set_error(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_IO,
                    _("Cannot read the simulated identity: %s"), local->message);
    return NULL;
}

SnpgSimIdentity *
snpg_sim_identity_load(const char *path, GError **error)
{
    g_autoptr(GBytes) text = NULL;
    const char *text_data;
    gsize text_len = 0;

    /* Where the identity comes through fw_cfg, the host wrote it: bounded. */
    if (!(text = read_identity(path, error)))
        return NULL;
    text_data = g_bytes_get_data(text, &text_len);
    return snpg_sim_identity_load_data(text_data, text_len, path, error);
}

SnpgSimIdentity *
snpg_sim_identity_load_data(const char *data, gsize len, const char *what, GError **error)
{
    g_autoptr(SnpgSimIdentity) id = g_new0(SnpgSimIdentity, 1);
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(EVP_PKEY) key = NULL;
    g_autoptr(X509) vcek = NULL;
    gboolean loaded;
    g_autofree char *product_name = NULL;
    g_autofree char *key_b64 = NULL;
    g_autofree char *cert_b64 = NULL;
    g_autofree guint8 *key_der = NULL;
    g_autofree guint8 *cert_der = NULL;
    guint8 chip_id[SNPG_SIM_CHIP_ID_SIZE];
    gsize key_len = 0, cert_len = 0;
    const unsigned char *p;
    SnpgProduct product;
    SnpgTcb tcb = { 0 };
    guint64 v;
    struct { const char *key; guint8 *slot; } tcb_keys[] = {
        { "fmc", &tcb.fmc }, { "bl", &tcb.bl }, { "tee", &tcb.tee }, { "snp", &tcb.snp },
        { "ucode", &tcb.ucode },
    };

    /* The same bound as a file: the bytes may come from the host. */
    loaded = len <= IDENTITY_MAX &&
             g_key_file_load_from_data(kf, data, len, G_KEY_FILE_NONE, NULL) &&
             g_key_file_has_group(kf, GROUP);
    if (!loaded) {
        g_set_error(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_FORMAT,
                    _("'%s' is not a simulated identity."), what);
        return NULL;
    }

    product_name = g_key_file_get_string(kf, GROUP, "product", NULL);
    product = product_name ? snpg_product_from_string(product_name) : SNPG_PRODUCT_UNKNOWN;
    if (product == SNPG_PRODUCT_UNKNOWN) {
        g_set_error(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_FORMAT,
                    _("The simulated identity '%s' names no known product."), what);
        return NULL;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(tcb_keys); i++) {
        if (!get_uint(kf, tcb_keys[i].key, 255, &v, error))
            return NULL;
        *tcb_keys[i].slot = (guint8)v;
    }
    snpg_sim_identity_params_init(&id->params);
    if (!get_hex(kf, "chip-id", chip_id, sizeof(chip_id), error) ||
        !get_hex(kf, "measurement", id->params.measurement, 48, error) ||
        !get_hex(kf, "host-data", id->params.host_data, 32, error) ||
        !get_hex(kf, "family-id", id->params.family_id, 16, error) ||
        !get_hex(kf, "image-id", id->params.image_id, 16, error) ||
        !get_hex(kf, "id-key-digest", id->params.id_key_digest, 48, error) ||
        !get_hex(kf, "author-key-digest", id->params.author_key_digest, 48, error) ||
        !get_uint(kf, "policy", G_MAXUINT64, &id->params.policy, error))
        return NULL;
    if (!get_uint(kf, "guest-svn", G_MAXUINT32, &v, error))
        return NULL;
    id->params.guest_svn = (guint32)v;
    if (!get_uint(kf, "min-vmpl", 3, &v, error))
        return NULL;
    id->params.min_vmpl = (guint32)v;
    if (!get_uint(kf, "report-version", 5, &v, error))
        return NULL;
    id->params.report_version = (guint32)v;

    key_b64 = g_key_file_get_string(kf, GROUP, "vcek-key", NULL);
    if (key_b64)
        key_der = g_base64_decode(key_b64, &key_len);
    p = key_der;
    if (!key_der || key_len == 0 || key_len > G_MAXLONG ||
        !(key = d2i_AutoPrivateKey(NULL, &p, (long)key_len))) {
        ERR_clear_error();
        g_set_error(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_FORMAT,
                    _("The simulated identity '%s' has no valid VCEK key."), what);
        return NULL;
    }
    OPENSSL_cleanse(key_der, key_len);
    OPENSSL_cleanse(key_b64, strlen(key_b64));
    cert_b64 = g_key_file_get_string(kf, GROUP, "vcek", NULL);
    if (cert_b64) {
        cert_der = g_base64_decode(cert_b64, &cert_len);
        p = cert_der;
        if (!cert_der || cert_len == 0 || cert_len > G_MAXLONG ||
            !(vcek = d2i_X509(NULL, &p, (long)cert_len))) {
            ERR_clear_error();
            g_set_error(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_FORMAT,
                        _("The simulated identity '%s' has no valid VCEK certificate."), what);
            return NULL;
        }
        id->vcek_der = g_bytes_new(cert_der, cert_len);
    }
    {
        g_autofree char *ask_b64 = g_key_file_get_string(kf, GROUP, "ask", NULL);
        g_autofree guint8 *ask_der = NULL;
        g_autoptr(X509) ask = NULL;
        gsize ask_len = 0;

        if (ask_b64) {
            ask_der = g_base64_decode(ask_b64, &ask_len);
            p = ask_der;
            if (!ask_der || ask_len == 0 || ask_len > G_MAXLONG ||
                !(ask = d2i_X509(NULL, &p, (long)ask_len))) {
                ERR_clear_error();
                g_set_error(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_FORMAT,
                            _("The simulated identity '%s' has no valid ASK certificate."), what);
                return NULL;
            }
            id->ask_der = g_bytes_new(ask_der, ask_len);
        }
    }
    if (!(id->sim = snpg_sim_new(product, chip_id, &tcb, key, vcek, error)))
        return NULL;
    return g_steal_pointer(&id);
}

void
snpg_sim_identity_free(SnpgSimIdentity *identity)
{
    if (!identity)
        return;
    g_clear_pointer(&identity->sim, snpg_sim_free);
    g_clear_pointer(&identity->vcek_der, g_bytes_unref);
    g_clear_pointer(&identity->ask_der, g_bytes_unref);
    g_free(identity);
}

gboolean
snpg_sim_identity_report(SnpgSimIdentity *identity, const guint8 report_data[64], guint vmpl,
                         GBytes **ret_report, GError **error)
{
    SnpgSimReportFields f;
    guint8 report[SNPG_REPORT_SIZE];

    /* As on hardware: a guest cannot ask for a more privileged VMPL than
     * the one it runs at. */
    if (vmpl > 3 || vmpl < identity->params.min_vmpl) {
        g_set_error(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_INVALID,
                    _("A report at VMPL %u cannot be requested from VMPL %u."), vmpl,
                    identity->params.min_vmpl);
        return FALSE;
    }
    snpg_sim_report_fields_init(&f);
    f.version = identity->params.report_version;
    f.guest_svn = identity->params.guest_svn;
    f.policy = identity->params.policy;
    f.vmpl = vmpl;
    memcpy(f.report_data, report_data, 64);
    memcpy(f.measurement, identity->params.measurement, 48);
    memcpy(f.host_data, identity->params.host_data, 32);
    memcpy(f.family_id, identity->params.family_id, 16);
    memcpy(f.image_id, identity->params.image_id, 16);
    memcpy(f.id_key_digest, identity->params.id_key_digest, 48);
    memcpy(f.author_key_digest, identity->params.author_key_digest, 48);
    if (!snpg_sim_build_report(identity->sim, &f, report, error))
        return FALSE;
    *ret_report = g_bytes_new(report, sizeof(report));
    return TRUE;
}

GBytes *
snpg_sim_identity_get_vcek(SnpgSimIdentity *identity)
{
    return identity->vcek_der ? g_bytes_ref(identity->vcek_der) : NULL;
}

GBytes *
snpg_sim_identity_get_ask(SnpgSimIdentity *identity)
{
    return identity->ask_der ? g_bytes_ref(identity->ask_der) : NULL;
}
