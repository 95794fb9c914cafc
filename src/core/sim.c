/* The simulated AMD secure processor: a TEST hierarchy and signed reports.
 * See sim.h: nothing here is AMD's, and a verifier trusts this root only when
 * told to explicitly. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "amd-certs.h"
#include "autocleanups.h"
#include "buf.h"
#include "file.h"
#include "hex.h"
#include "i18n.h"
#include "sim.h"

G_DEFINE_QUARK(snpg-sim-error-quark, snpg_sim_error)

#define SIG_COMPONENT_SIZE SNPG_REPORT_SIG_COMPONENT  /* R and S; P-384 uses the low 48 bytes */
#define P384_SIZE SNPG_REPORT_SIG_SCALAR
#define TEST_ORG "snpguard TEST"
#define TEST_OU "snpguard simulated secure processor - NOT AMD"
#define AMD_OID "1.3.6.1.4.1.3704.1"


struct _SnpgSim {
    SnpgProduct product;
    guint8 chip_id[SNPG_SIM_CHIP_ID_SIZE];
    SnpgTcb tcb;
    EVP_PKEY *vcek_key;
    X509 *vcek;
};

static const struct {
    const char *name;
    const char *vcek_product_name;  /* productName extension as AMD writes it */
    guint8 fam, mod, step;
    SnpgTcb tcb;                 /* a plausible default */
} products[SNPG_PRODUCT_LAST] = {
    [SNPG_PRODUCT_MILAN] = { "Milan", "Milan-B0", 0x19, 0x01, 0x01, { 0, 3, 0, 20, 209 } },
    [SNPG_PRODUCT_GENOA] = { "Genoa", "Genoa", 0x19, 0x11, 0x01, { 0, 10, 0, 25, 84 } },
    [SNPG_PRODUCT_TURIN] = { "Turin", "Turin", 0x1A, 0x02, 0x01, { 0, 1, 0, 2, 71 } },
};

static gboolean
valid_product(SnpgProduct product)
{
    return product > SNPG_PRODUCT_UNKNOWN && product < SNPG_PRODUCT_LAST;
}

static gboolean
product_from_string(const char *name, SnpgProduct *ret)
{
    for (int i = SNPG_PRODUCT_UNKNOWN + 1; i < SNPG_PRODUCT_LAST; i++) {
        if (name && g_ascii_strcasecmp(name, products[i].name) == 0) {
            *ret = (SnpgProduct)i;
            return TRUE;
        }
    }
    return FALSE;
}

void
snpg_sim_product_cpuid(SnpgProduct product, guint8 *fam, guint8 *mod, guint8 *step)
{
    g_return_if_fail(valid_product(product));
    *fam = products[product].fam;
    *mod = products[product].mod;
    *step = products[product].step;
}

void
snpg_sim_report_fields_init(SnpgSimReportFields *fields)
{
    memset(fields, 0, sizeof(*fields));
    fields->version = 5;
    fields->policy = 0x30000;
    fields->signature_algo = 1;
    fields->platform_info = 0x1;
    fields->signing_key = SNPG_SIGNING_KEY_VCEK;
    memset(fields->report_id_ma, 0xff, sizeof(fields->report_id_ma));
    fields->current_version[0] = 61;
    fields->current_version[1] = 55;
    fields->current_version[2] = 1;
    memcpy(fields->committed_version, fields->current_version, 3);
}

/* ---- errors ------------------------------------------------------------ */

static gboolean
crypto_fail(GError **error, const char *what)
{
    unsigned long e = ERR_get_error();
    char detail[256] = "";

    if (e)
        ERR_error_string_n(e, detail, sizeof(detail));
    ERR_clear_error();
    g_set_error(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_CRYPTO,
                _("The simulator failed to %s: '%s'."), what, detail);
    return FALSE;
}

/* ---- files ------------------------------------------------------------- */

/* Atomic; mode 0600, or 0644 (SNPG_FILE_WRITE_READABLE) for the public
 * files (certificates, sim.conf). */
static gboolean
write_file(const char *path, const void *data, gsize len, SnpgFileWriteFlags flags,
           GError **error)
{
    g_autoptr(GError) local = NULL;

    if (snpg_file_write(path, data, len, flags, &local))
        return TRUE;
    g_set_error_literal(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_IO, local->message);
    return FALSE;
}

static gboolean
write_bio_file(const char *path, BIO *bio, SnpgFileWriteFlags flags, GError **error)
{
    char *data = NULL;
    long len = BIO_get_mem_data(bio, &data);

    if (len < 0)
        return crypto_fail(error, "serialize a file");
    return write_file(path, data, (gsize)len, flags, error);
}

static gboolean
write_private_key(const char *dir, const char *name, EVP_PKEY *key, GError **error)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autoptr(BIO) bio = BIO_new(BIO_s_secmem());
    gboolean ok;

    if (!bio || !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL))
        return crypto_fail(error, "serialize a private key");
    ok = write_bio_file(path, bio, SNPG_FILE_WRITE_REPLACE, error);
    return ok;
}

static gboolean
write_cert_pem(const char *dir, const char *name, X509 *cert, GError **error)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autoptr(BIO) bio = BIO_new(BIO_s_mem());

    if (!bio || !PEM_write_bio_X509(bio, cert))
        return crypto_fail(error, "serialize a certificate");
    return write_bio_file(path, bio, SNPG_FILE_WRITE_READABLE, error);
}

static gboolean
write_cert_der(const char *dir, const char *name, X509 *cert, GError **error)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    unsigned char *der = NULL;
    int len = i2d_X509(cert, &der);
    gboolean ok;

    if (len <= 0)
        return crypto_fail(error, "serialize a certificate");
    ok = write_file(path, der, (gsize)len, SNPG_FILE_WRITE_READABLE, error);
    OPENSSL_free(der);
    return ok;
}

/* ---- certificates ------------------------------------------------------ */

static X509_NAME *
make_name(const char *cn)
{
    g_autoptr(X509_NAME) name = X509_NAME_new();

    if (!name ||
        !X509_NAME_add_entry_by_txt(name, "OU", MBSTRING_UTF8, (const guchar *)TEST_OU, -1, -1, 0) ||
        !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const guchar *)TEST_ORG, -1, -1, 0) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const guchar *)cn, -1, -1, 0))
        return NULL;
    return g_steal_pointer(&name);
}

static gboolean
add_std_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    g_autoptr(X509_EXTENSION) ext = NULL;

    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    ext = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
    return ext && X509_add_ext(cert, ext, -1);
}

/* An extension whose extnValue is the given DER (AMD's encoding). */
static gboolean
add_der_ext(X509 *cert, const char *oid, const guint8 *der, int der_len)
{
    g_autoptr(ASN1_OBJECT) obj = OBJ_txt2obj(oid, 1);
    g_autoptr(ASN1_OCTET_STRING) value = ASN1_OCTET_STRING_new();
    g_autoptr(X509_EXTENSION) ext = NULL;

    if (!obj || !value || !ASN1_OCTET_STRING_set(value, der, der_len))
        return FALSE;
    ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, value);
    return ext && X509_add_ext(cert, ext, -1);
}

static gboolean
add_int_ext(X509 *cert, const char *oid, long v)
{
    g_autoptr(ASN1_INTEGER) i = ASN1_INTEGER_new();
    unsigned char *der = NULL;
    int len;
    gboolean ok;

    if (!i || !ASN1_INTEGER_set(i, v))
        return FALSE;
    len = i2d_ASN1_INTEGER(i, &der);
    if (len <= 0)
        return FALSE;
    ok = add_der_ext(cert, oid, der, len);
    OPENSSL_free(der);
    return ok;
}

static gboolean
add_ia5_ext(X509 *cert, const char *oid, const char *text)
{
    g_autoptr(ASN1_IA5STRING) s = ASN1_IA5STRING_new();
    unsigned char *der = NULL;
    int len;
    gboolean ok;

    if (!s || !ASN1_STRING_set(s, text, -1))
        return FALSE;
    len = i2d_ASN1_IA5STRING(s, &der);
    if (len <= 0)
        return FALSE;
    ok = add_der_ext(cert, oid, der, len);
    OPENSSL_free(der);
    return ok;
}

/* RSA-PSS, SHA-384, MGF1-SHA-384, salt 48: what AMD's ARK and ASK use. */
static gboolean
sign_pss(X509 *cert, EVP_PKEY *key)
{
    g_autoptr(EVP_MD_CTX) md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;

    return md && EVP_DigestSignInit(md, &pctx, EVP_sha384(), NULL, key) > 0 &&
           EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48) > 0 &&
           EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384()) > 0 &&
           X509_sign_ctx(cert, md) > 0;
}

static X509 *
new_cert(long serial, const char *subject_cn, X509 *issuer, EVP_PKEY *pub, long days)
{
    g_autoptr(X509) cert = X509_new();
    g_autoptr(X509_NAME) subject = make_name(subject_cn);

    if (!cert || !subject || !X509_set_version(cert, 2) ||
        !ASN1_INTEGER_set(X509_get_serialNumber(cert), serial) ||
        !X509_set_subject_name(cert, subject) ||
        !X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : subject) ||
        !X509_gmtime_adj(X509_getm_notBefore(cert), -24L * 3600) ||
        !X509_time_adj_ex(X509_getm_notAfter(cert), (int)days, 0, NULL) ||
        !X509_set_pubkey(cert, pub))
        return NULL;
    return g_steal_pointer(&cert);
}

static X509 *
make_ark(SnpgProduct product, EVP_PKEY *key)
{
    g_autofree char *cn = g_strdup_printf("ARK-%s", products[product].name);
    g_autoptr(X509) cert = new_cert(1, cn, NULL, key, 25 * 365);

    if (!cert ||
        !add_std_ext(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign") ||
        !add_std_ext(cert, cert, NID_subject_key_identifier, "hash") ||
        !add_std_ext(cert, cert, NID_basic_constraints, "critical,CA:TRUE") ||
        !sign_pss(cert, key))
        return NULL;
    return g_steal_pointer(&cert);
}

static X509 *
make_ask(SnpgProduct product, X509 *ark, EVP_PKEY *ark_key, EVP_PKEY *key)
{
    g_autofree char *cn = g_strdup_printf("SEV-%s", products[product].name);
    g_autoptr(X509) cert = new_cert(2, cn, ark, key, 25 * 365);

    if (!cert ||
        !add_std_ext(cert, ark, NID_subject_key_identifier, "hash") ||
        !add_std_ext(cert, ark, NID_authority_key_identifier, "keyid:always") ||
        !add_std_ext(cert, ark, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
        !add_std_ext(cert, ark, NID_key_usage, "critical,keyCertSign") ||
        !sign_pss(cert, ark_key))
        return NULL;
    return g_steal_pointer(&cert);
}

/* The VCEK extensions in AMD's order and encoding: each extnValue is the DER
 * of an INTEGER (SPLs, structVersion), an IA5String (productName) or the raw
 * chip id (hwID: 64 bytes, Turin 8). Milan/Genoa: structVersion 0, SPL slots
 * 1,2,4,5,6,7,3,8; Turin: structVersion 1, fmcSPL (.3.9) first, no slot 4. */
static gboolean
add_vcek_exts(X509 *cert, SnpgProduct product, const SnpgTcb *tcb, const guint8 *chip_id)
{
    gboolean turin = product == SNPG_PRODUCT_TURIN;

    if (!add_int_ext(cert, AMD_OID ".1", turin ? 1 : 0) ||
        !add_ia5_ext(cert, AMD_OID ".2", products[product].vcek_product_name))
        return FALSE;
    if (turin) {
        return add_int_ext(cert, AMD_OID ".3.9", tcb->fmc) &&
               add_int_ext(cert, AMD_OID ".3.1", tcb->bl) &&
               add_int_ext(cert, AMD_OID ".3.2", tcb->tee) &&
               add_int_ext(cert, AMD_OID ".3.3", tcb->snp) &&
               add_int_ext(cert, AMD_OID ".3.5", 0) &&
               add_int_ext(cert, AMD_OID ".3.6", 0) &&
               add_int_ext(cert, AMD_OID ".3.7", 0) &&
               add_int_ext(cert, AMD_OID ".3.8", tcb->ucode) &&
               add_der_ext(cert, AMD_OID ".4", chip_id, 8);
    }
    return add_int_ext(cert, AMD_OID ".3.1", tcb->bl) &&
           add_int_ext(cert, AMD_OID ".3.2", tcb->tee) &&
           add_int_ext(cert, AMD_OID ".3.4", 0) &&
           add_int_ext(cert, AMD_OID ".3.5", 0) &&
           add_int_ext(cert, AMD_OID ".3.6", 0) &&
           add_int_ext(cert, AMD_OID ".3.7", 0) &&
           add_int_ext(cert, AMD_OID ".3.3", tcb->snp) &&
           add_int_ext(cert, AMD_OID ".3.8", tcb->ucode) &&
           add_der_ext(cert, AMD_OID ".4", chip_id, SNPG_SIM_CHIP_ID_SIZE);
}

static X509 *
make_vcek(SnpgProduct product, X509 *ask, EVP_PKEY *ask_key, EVP_PKEY *key,
          const SnpgTcb *tcb, const guint8 *chip_id)
{
    g_autoptr(X509) cert = new_cert(0, "SEV-VCEK", ask, key, 7 * 365);

    if (!cert || !add_vcek_exts(cert, product, tcb, chip_id) || !sign_pss(cert, ask_key))
        return NULL;
    return g_steal_pointer(&cert);
}

/* ---- init -------------------------------------------------------------- */

static gboolean
prepare_dir(const char *dir, gboolean force, GError **error)
{
    g_autofree char *conf = g_build_filename(dir, "sim.conf", NULL);
    g_autoptr(GDir) d = NULL;

    if (g_mkdir_with_parents(dir, 0700) < 0) {
        int saved = errno;
        g_set_error(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_IO,
                    _("Cannot create the directory '%s': %s."), dir, g_strerror(saved));
        return FALSE;
    }
    if (g_chmod(dir, 0700) < 0) {
        int saved = errno;
        g_set_error(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_IO,
                    _("Cannot restrict the permissions of '%s': %s."), dir, g_strerror(saved));
        return FALSE;
    }
    if (force)
        return TRUE;
    if (g_file_test(conf, G_FILE_TEST_EXISTS)) {
        g_set_error(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_EXISTS,
                    _("The directory '%s' already holds a simulator (use --force to replace it)."),
                    dir);
        return FALSE;
    }
    d = g_dir_open(dir, 0, NULL);
    if (d && g_dir_read_name(d)) {
        g_set_error(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_EXISTS,
                    _("The directory '%s' is not empty (use --force to write into it)."), dir);
        return FALSE;
    }
    return TRUE;
}

static gboolean
write_conf(const char *dir, SnpgProduct product, const guint8 *chip_id,
           const SnpgTcb *tcb, GError **error)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autofree char *hex = snpg_hex_encode(chip_id, SNPG_SIM_CHIP_ID_SIZE);
    g_autofree char *path = g_build_filename(dir, "sim.conf", NULL);
    g_autofree char *data = NULL;
    gsize len = 0;

    g_key_file_set_string(kf, "sim", "product", products[product].name);
    g_key_file_set_comment(kf, "sim", NULL,
                           " snpguard simulated secure processor: TEST keys, NOT AMD.\n"
                           " A verifier accepts its ARK only when --trust-root names it.",
                           NULL);
    g_key_file_set_string(kf, "sim", "chip-id", hex);
    g_key_file_set_integer(kf, "tcb", "fmc", tcb->fmc);
    g_key_file_set_integer(kf, "tcb", "bl", tcb->bl);
    g_key_file_set_integer(kf, "tcb", "tee", tcb->tee);
    g_key_file_set_integer(kf, "tcb", "snp", tcb->snp);
    g_key_file_set_integer(kf, "tcb", "ucode", tcb->ucode);
    data = g_key_file_to_data(kf, &len, NULL);
    return write_file(path, data, len, SNPG_FILE_WRITE_READABLE, error);
}

static EVP_PKEY *
read_key(const char *dir, const char *name, GError **error)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    /* An RSA-4096 PEM key is about 3.3 KiB. */
    g_autoptr(GBytes) pem = snpg_file_read_full(path, 64 * 1024, SNPG_FILE_READ_SECRET, NULL);
    g_autoptr(BIO) bio = pem ? BIO_new_mem_buf(g_bytes_get_data(pem, NULL),
                                               (int)g_bytes_get_size(pem)) : NULL;
    EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;

    ERR_clear_error();
    if (!key)
        g_set_error(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_FORMAT,
                    _("Cannot read the private key '%s'."), path);
    return key;
}

static X509 *
read_cert(const char *dir, const char *name, GError **error)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autoptr(GError) local = NULL;
    X509 *cert = snpg_cert_load_file(path, &local);

    if (!cert)
        g_set_error(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_FORMAT,
                    _("Cannot read the certificate '%s': %s"), path, local->message);
    return cert;
}

/* The ARK and ASK of another simulator of the same product. */
static gboolean
load_root(const char *dir, SnpgProduct product, EVP_PKEY **ark_key, X509 **ark,
          EVP_PKEY **ask_key, X509 **ask, GError **error)
{
    g_autoptr(SnpgSim) other = snpg_sim_load(dir, error);

    if (!other)
        return FALSE;
    if (other->product != product) {
        g_set_error(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_INVALID,
                    _("The simulator in '%s' is a %s, not a %s."), dir,
                    products[other->product].name, products[product].name);
        return FALSE;
    }
    return (*ark_key = read_key(dir, "ark-key.pem", error)) &&
           (*ask_key = read_key(dir, "ask-key.pem", error)) &&
           (*ark = read_cert(dir, "ark.pem", error)) &&
           (*ask = read_cert(dir, "ask.pem", error));
}

gboolean
snpg_sim_init_full(const char *dir, const SnpgSimInitOptions *options, GError **error)
{
    SnpgProduct product = options->product;
    g_autoptr(EVP_PKEY) ark_key = NULL;
    g_autoptr(EVP_PKEY) ask_key = NULL;
    g_autoptr(EVP_PKEY) vcek_key = NULL;
    g_autoptr(X509) ark = NULL;
    g_autoptr(X509) ask = NULL;
    g_autoptr(X509) vcek = NULL;
    guint8 chip_id[SNPG_SIM_CHIP_ID_SIZE] = { 0 };
    SnpgTcb tcb;

    g_return_val_if_fail(dir != NULL, FALSE);
    if (!valid_product(product)) {
        g_set_error(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_INVALID,
                    _("Unknown product number %d."), (int)product);
        return FALSE;
    }
    tcb = options->tcb ? *options->tcb : products[product].tcb;
    if (product != SNPG_PRODUCT_TURIN && tcb.fmc != 0) {
        g_set_error(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_INVALID,
                    _("Only Turin has an FMC security patch level."));
        return FALSE;
    }
    if (options->chip_id) {
        memcpy(chip_id, options->chip_id, sizeof(chip_id));
        if (product == SNPG_PRODUCT_TURIN) {
            for (gsize i = 8; i < sizeof(chip_id); i++) {
                if (chip_id[i]) {
                    g_set_error(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_INVALID,
                                _("A Turin chip id has 8 bytes: the rest must be zero."));
                    return FALSE;
                }
            }
        }
    } else if (RAND_bytes(chip_id, product == SNPG_PRODUCT_TURIN ? 8 : (int)sizeof(chip_id)) != 1) {
        return crypto_fail(error, "draw a chip id");
    }
    if (!prepare_dir(dir, options->force, error))
        return FALSE;

    if (options->root_from) {
        if (!load_root(options->root_from, product, &ark_key, &ark, &ask_key, &ask, error))
            return FALSE;
    } else if (!(ark_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096)) ||
               !(ask_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096))) {
        return crypto_fail(error, "generate a key");
    }
    if (!(vcek_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384")))
        return crypto_fail(error, "generate a key");
    if ((!ark && !(ark = make_ark(product, ark_key))) ||
        (!ask && !(ask = make_ask(product, ark, ark_key, ask_key))) ||
        !(vcek = make_vcek(product, ask, ask_key, vcek_key, &tcb, chip_id)))
        return crypto_fail(error, "create a certificate");

    return write_private_key(dir, "ark-key.pem", ark_key, error) &&
           write_private_key(dir, "ask-key.pem", ask_key, error) &&
           write_private_key(dir, "vcek-key.pem", vcek_key, error) &&
           write_cert_pem(dir, "ark.pem", ark, error) &&
           write_cert_pem(dir, "ask.pem", ask, error) &&
           write_cert_der(dir, "vcek.der", vcek, error) &&
           write_conf(dir, product, chip_id, &tcb, error);
}

gboolean
snpg_sim_init(const char *dir, const char *product, GError **error)
{
    SnpgSimInitOptions options = { 0 };

    if (!product_from_string(product, &options.product)) {
        g_set_error(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_INVALID,
                    _("Unknown product '%s' (expected Milan, Genoa or Turin)."),
                    product ? product : "");
        return FALSE;
    }
    return snpg_sim_init_full(dir, &options, error);
}

/* ---- load -------------------------------------------------------------- */

void
snpg_sim_free(SnpgSim *sim)
{
    if (!sim)
        return;
    EVP_PKEY_free(sim->vcek_key);
    X509_free(sim->vcek);
    g_free(sim);
}

static gboolean
conf_u8(GKeyFile *kf, const char *key, guint8 *ret, const char *path, GError **error)
{
    g_autoptr(GError) local = NULL;
    gint v = g_key_file_get_integer(kf, "tcb", key, &local);

    if (local || v < 0 || v > 255) {
        g_set_error(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_FORMAT,
                    _("The simulator file '%s' has no valid TCB value '%s'."), path, key);
        return FALSE;
    }
    *ret = (guint8)v;
    return TRUE;
}

SnpgSim *
snpg_sim_load(const char *dir, GError **error)
{
    g_autofree char *conf = g_build_filename(dir, "sim.conf", NULL);
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(GBytes) conf_text = NULL;
    g_autoptr(GError) local = NULL;
    g_autofree char *product = NULL;
    g_autofree char *chip = NULL;
    g_autoptr(SnpgSim) sim = g_new0(SnpgSim, 1);

    /* sim.conf is a few lines. */
    if (!(conf_text = snpg_file_read(conf, 64 * 1024, &local)) ||
        !g_key_file_load_from_data(kf, g_bytes_get_data(conf_text, NULL),
                                   g_bytes_get_size(conf_text), G_KEY_FILE_NONE, &local)) {
        g_set_error(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_IO,
                    _("Cannot read the simulator in '%s': %s."), dir, local->message);
        return NULL;
    }
    product = g_key_file_get_string(kf, "sim", "product", NULL);
    chip = g_key_file_get_string(kf, "sim", "chip-id", NULL);
    if (!product_from_string(product, &sim->product) || !chip ||
        !snpg_hex_decode("chip-id", chip, sim->chip_id, sizeof(sim->chip_id), NULL)) {
        g_set_error(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_FORMAT,
                    _("The simulator file '%s' has no valid product or chip id."), conf);
        return NULL;
    }
    if (!conf_u8(kf, "fmc", &sim->tcb.fmc, conf, error) ||
        !conf_u8(kf, "bl", &sim->tcb.bl, conf, error) ||
        !conf_u8(kf, "tee", &sim->tcb.tee, conf, error) ||
        !conf_u8(kf, "snp", &sim->tcb.snp, conf, error) ||
        !conf_u8(kf, "ucode", &sim->tcb.ucode, conf, error))
        return NULL;

    if (!(sim->vcek_key = read_key(dir, "vcek-key.pem", error)))
        return NULL;
    if (EVP_PKEY_get_base_id(sim->vcek_key) != EVP_PKEY_EC || EVP_PKEY_get_bits(sim->vcek_key) != 384) {
        g_set_error(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_FORMAT,
                    _("The simulated VCEK key '%s' is not an EC P-384 key."), dir);
        return NULL;
    }
    if (!(sim->vcek = read_cert(dir, "vcek.der", error)))
        return NULL;
    return g_steal_pointer(&sim);
}

SnpgSim *
snpg_sim_new(SnpgProduct product, const guint8 *chip_id, const SnpgTcb *tcb, EVP_PKEY *vcek_key,
             X509 *vcek, GError **error)
{
    g_autoptr(SnpgSim) sim = NULL;

    if (!valid_product(product)) {
        g_set_error(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_INVALID,
                    _("The simulator supports Milan, Genoa and Turin only."));
        return NULL;
    }
    if (EVP_PKEY_get_base_id(vcek_key) != EVP_PKEY_EC || EVP_PKEY_get_bits(vcek_key) != 384) {
        g_set_error(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_FORMAT,
                    _("The simulated VCEK key must be an EC P-384 key."));
        return NULL;
    }
    sim = g_new0(SnpgSim, 1);
    sim->product = product;
    memcpy(sim->chip_id, chip_id, sizeof(sim->chip_id));
    sim->tcb = *tcb;
    EVP_PKEY_up_ref(vcek_key);
    sim->vcek_key = vcek_key;
    if (vcek) {
        X509_up_ref(vcek);
        sim->vcek = vcek;
    }
    return g_steal_pointer(&sim);
}

SnpgProduct
snpg_sim_get_product(const SnpgSim *sim)
{
    return sim->product;
}

const guint8 *
snpg_sim_get_chip_id(const SnpgSim *sim)
{
    return sim->chip_id;
}

void
snpg_sim_get_tcb(const SnpgSim *sim, SnpgTcb *ret)
{
    *ret = sim->tcb;
}

EVP_PKEY *
snpg_sim_get_vcek_key(const SnpgSim *sim)
{
    return sim->vcek_key;
}

X509 *
snpg_sim_get_vcek(const SnpgSim *sim)
{
    return sim->vcek;
}

/* ---- reports ----------------------------------------------------------- */

gboolean
snpg_sim_sign(const SnpgSim *sim, guint8 *report, GError **error)
{
    g_autoptr(EVP_MD_CTX) md = EVP_MD_CTX_new();
    g_autoptr(ECDSA_SIG) sig = NULL;
    unsigned char der[160];
    const unsigned char *p = der;
    size_t der_len = sizeof(der);
    const BIGNUM *r = NULL, *s = NULL;
    guint8 *field = report + SNPG_REPORT_SIG_OFFSET;

    if (!md || EVP_DigestSignInit(md, NULL, EVP_sha384(), NULL, sim->vcek_key) <= 0 ||
        EVP_DigestSign(md, der, &der_len, report, SNPG_REPORT_SIGNED_SIZE) <= 0 ||
        !(sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len)))
        return crypto_fail(error, "sign a report");
    ECDSA_SIG_get0(sig, &r, &s);
    memset(field, 0, 2 * SIG_COMPONENT_SIZE);
    if (BN_bn2lebinpad(r, field, SIG_COMPONENT_SIZE) != SIG_COMPONENT_SIZE ||
        BN_bn2lebinpad(s, field + SIG_COMPONENT_SIZE, SIG_COMPONENT_SIZE) != SIG_COMPONENT_SIZE)
        return crypto_fail(error, "encode a signature");
    return TRUE;
}

static void
reverse(guint8 *p, gsize n)
{
    for (gsize i = 0; i < n / 2; i++) {
        guint8 t = p[i];
        p[i] = p[n - 1 - i];
        p[n - 1 - i] = t;
    }
}

/* The report's fields from the request and the simulator's defaults. */
static void
fill_report(const SnpgSim *sim, const SnpgSimReportFields *f, SnpgReport *rep)
{
    const SnpgProduct product = sim->product;

    memset(rep, 0, sizeof(*rep));
    rep->version = f->version;
    rep->guest_svn = f->guest_svn;
    rep->policy = f->policy;
    memcpy(rep->family_id, f->family_id, sizeof(rep->family_id));
    memcpy(rep->image_id, f->image_id, sizeof(rep->image_id));
    rep->vmpl = f->vmpl;
    rep->signature_algo = f->signature_algo;
    rep->current_tcb = snpg_tcb_encode(f->current_tcb ? f->current_tcb : &sim->tcb, product);
    rep->platform_info = f->platform_info;
    rep->author_key_en = f->author_key_en;
    rep->mask_chip_key = f->mask_chip_key;
    rep->signing_key = f->signing_key;
    memcpy(rep->report_data, f->report_data, sizeof(rep->report_data));
    memcpy(rep->measurement, f->measurement, sizeof(rep->measurement));
    memcpy(rep->host_data, f->host_data, sizeof(rep->host_data));
    memcpy(rep->id_key_digest, f->id_key_digest, sizeof(rep->id_key_digest));
    memcpy(rep->author_key_digest, f->author_key_digest, sizeof(rep->author_key_digest));
    memcpy(rep->report_id, f->report_id, sizeof(rep->report_id));
    memcpy(rep->report_id_ma, f->report_id_ma, sizeof(rep->report_id_ma));
    rep->reported_tcb = snpg_tcb_encode(f->reported_tcb ? f->reported_tcb : &sim->tcb, product);
    if (f->version >= 3) {
        rep->has_cpuid = TRUE;
        snpg_sim_product_cpuid(product, &rep->cpuid_fam_id, &rep->cpuid_mod_id, &rep->cpuid_step);
        if (f->cpuid_set) {
            rep->cpuid_fam_id = f->cpuid_fam;
            rep->cpuid_mod_id = f->cpuid_mod;
            rep->cpuid_step = f->cpuid_step;
        }
    }
    if (f->chip_id)
        memcpy(rep->chip_id, f->chip_id, sizeof(rep->chip_id));
    else if (!f->mask_chip_key)
        memcpy(rep->chip_id, sim->chip_id, sizeof(rep->chip_id));
    rep->committed_tcb = snpg_tcb_encode(f->committed_tcb ? f->committed_tcb : &sim->tcb, product);
    rep->current_build = f->current_version[0];
    rep->current_minor = f->current_version[1];
    rep->current_major = f->current_version[2];
    rep->committed_build = f->committed_version[0];
    rep->committed_minor = f->committed_version[1];
    rep->committed_major = f->committed_version[2];
    rep->launch_tcb = snpg_tcb_encode(f->launch_tcb ? f->launch_tcb : &sim->tcb, product);
    if (f->version >= 5) {
        rep->has_mit_vectors = TRUE;
        rep->launch_mit_vector = f->launch_mit_vector;
        rep->current_mit_vector = f->current_mit_vector;
    }
}

gboolean
snpg_sim_build_report(const SnpgSim *sim, const SnpgSimReportFields *f, guint8 *out,
                      GError **error)
{
    g_autoptr(SnpgReport) rep = g_new0(SnpgReport, 1);
    guint8 r[SNPG_REPORT_SIZE];

    if (f->version != 2 && f->version != 3 && f->version != 5) {
        g_set_error(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_INVALID,
                    _("The simulator makes reports of version 2, 3 or 5, not %u."), f->version);
        return FALSE;
    }
    if (f->vmpl > 3 || f->signing_key > 7) {
        g_set_error(error, SNPG_SIM_ERROR, SNPG_SIM_ERROR_INVALID,
                    _("The VMPL must be 0 to 3 and the signing key field 0 to 7."));
        return FALSE;
    }

    /* The simulator signs exactly what the report module encodes. */
    fill_report(sim, f, rep);
    snpg_report_encode_to(rep, r);
    if (f->malform & SNPG_SIM_MALFORM_RESERVED_NONZERO)
        r[SNPG_REPORT_RESERVED0_OFFSET] = 0x01;

    if (!(f->malform & SNPG_SIM_MALFORM_UNSIGNED) && !snpg_sim_sign(sim, r, error))
        return FALSE;
    if (f->malform & SNPG_SIM_MALFORM_SIG_BIG_ENDIAN) {
        reverse(r + SNPG_REPORT_SIG_OFFSET, P384_SIZE);
        reverse(r + SNPG_REPORT_SIG_OFFSET + SIG_COMPONENT_SIZE, P384_SIZE);
    }
    if (f->malform & SNPG_SIM_MALFORM_SIG_HIGH_BYTES)
        r[SNPG_REPORT_SIG_OFFSET + P384_SIZE] = 0x01;
    if (f->malform & SNPG_SIM_MALFORM_SIG_RESERVED)
        r[SNPG_REPORT_SIG_RESERVED_OFFSET] = 0x01;

    memcpy(out, r, sizeof(r));
    return TRUE;
}

gboolean
snpg_sim_report(const char *dir, const SnpgSimReportFields *fields, GBytes **ret, GError **error)
{
    g_autoptr(SnpgSim) sim = snpg_sim_load(dir, error);
    guint8 *out;

    if (!sim)
        return FALSE;
    out = g_malloc(SNPG_REPORT_SIZE);
    if (!snpg_sim_build_report(sim, fields, out, error)) {
        g_free(out);
        return FALSE;
    }
    *ret = g_bytes_new_take(out, SNPG_REPORT_SIZE);
    return TRUE;
}
