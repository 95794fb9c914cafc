/* AMD KDS addresses and the local certificate cache (see certcache.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "amd-certs.h"
#include "autocleanups.h"
#include "cert-ext.h"
#include "certcache.h"
#include "hex.h"
#include "file.h"
#include "i18n.h"

G_DEFINE_QUARK(snpg-certcache-error-quark, snpg_certcache_error)

#define CERT_FILE_MAX (1024 * 1024)   /* a chain file is a few KiB */


static const char *const kind_names[SNPG_CERTCACHE_KIND_LAST] = {
    [SNPG_CERTCACHE_KIND_ARK] = "ARK",
    [SNPG_CERTCACHE_KIND_ASK] = "ASK",
    [SNPG_CERTCACHE_KIND_ASVK] = "ASVK",
    [SNPG_CERTCACHE_KIND_CRL] = "CRL",
    [SNPG_CERTCACHE_KIND_VCEK] = "VCEK",
    [SNPG_CERTCACHE_KIND_VLEK] = "VLEK",
};

const char *
snpg_certcache_kind_to_string(SnpgCertcacheKind kind)
{
    return kind < SNPG_CERTCACHE_KIND_LAST ? kind_names[kind] : "?";
}

/* "Milan", "Genoa", "Turin"; NULL for anything else. */
static const char *
product_name(SnpgProduct product)
{
    return product > SNPG_PRODUCT_UNKNOWN && product < SNPG_PRODUCT_LAST
               ? snpg_product_to_string(product)
               : NULL;
}

void
snpg_certcache_entry_free(SnpgCertcacheEntry *entry)
{
    if (!entry)
        return;
    g_free(entry->path);
    g_free(entry->subject);
    g_free(entry->hwid);
    g_free(entry);
}

const char *
snpg_certcache_default_dir(void)
{
    const char *env = g_getenv("SNPGUARD_CERT_CACHE");

    return env && *env ? env : SNPG_CERTCACHE_DEFAULT_DIR;
}

static gsize
hwid_len(SnpgProduct product)
{
    return product == SNPG_PRODUCT_TURIN ? 8 : 64;
}

/* ---- KDS --------------------------------------------------------------- */

char *
snpg_certcache_vcek_url(SnpgProduct product, const guint8 *chip_id, const SnpgTcb *tcb,
                        GError **error)
{
    const char *name = product_name(product);
    g_autofree char *hwid = NULL;
    gboolean zero = TRUE;

    if (!name) {
        g_set_error(error, SNPG_CERTCACHE_ERROR, SNPG_CERTCACHE_ERROR_INVALID,
                    _("The product is unknown: name it (Milan, Genoa or Turin)."));
        return NULL;
    }
    for (gsize i = 0; i < hwid_len(product); i++)
        zero = zero && chip_id[i] == 0;
    if (zero) {
        g_set_error(error, SNPG_CERTCACHE_ERROR, SNPG_CERTCACHE_ERROR_INVALID,
                    _("The report's chip id is zero (masked, or signed by a VLEK): "
                      "there is no VCEK address for it."));
        return NULL;
    }
    hwid = snpg_hex_encode(chip_id, hwid_len(product));
    if (product == SNPG_PRODUCT_TURIN)
        return g_strdup_printf("%s/vcek/v1/%s/%s?fmcSPL=%02u&blSPL=%02u&teeSPL=%02u&snpSPL=%02u"
                               "&ucodeSPL=%02u",
                               SNPG_CERTCACHE_KDS, name, hwid, tcb->fmc, tcb->bl, tcb->tee,
                               tcb->snp, tcb->ucode);
    return g_strdup_printf("%s/vcek/v1/%s/%s?blSPL=%02u&teeSPL=%02u&snpSPL=%02u&ucodeSPL=%02u",
                           SNPG_CERTCACHE_KDS, name, hwid, tcb->bl, tcb->tee, tcb->snp,
                           tcb->ucode);
}

char *
snpg_certcache_chain_url(SnpgProduct product, gboolean vlek)
{
    g_return_val_if_fail(product_name(product), NULL);
    return g_strdup_printf("%s/%s/v1/%s/cert_chain", SNPG_CERTCACHE_KDS, vlek ? "vlek" : "vcek",
                           product_name(product));
}

char *
snpg_certcache_crl_url(SnpgProduct product, gboolean vlek)
{
    g_return_val_if_fail(product_name(product), NULL);
    return g_strdup_printf("%s/%s/v1/%s/crl", SNPG_CERTCACHE_KDS, vlek ? "vlek" : "vcek",
                           product_name(product));
}

/* ---- parsing ----------------------------------------------------------- */

typedef struct {
    X509 *cert;
    X509_CRL *crl;
} Object;

static void
object_free(gpointer p)
{
    Object *o = p;

    X509_free(o->cert);
    X509_CRL_free(o->crl);
    g_free(o);
}

static char *
name_cn(const X509_NAME *name)
{
    int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    const ASN1_STRING *s;
    unsigned char *utf8 = NULL;
    int len;
    char *cn;

    if (i < 0)
        return NULL;
    s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    len = ASN1_STRING_to_UTF8(&utf8, s);
    if (len < 0)
        return NULL;
    cn = g_strndup((const char *)utf8, (gsize)len);
    OPENSSL_free(utf8);
    return cn;
}

static char *
name_oneline(const X509_NAME *name)
{
    g_autoptr(BIO) bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    long len;

    if (!bio || X509_NAME_print_ex(bio, name, 0, XN_FLAG_ONELINE) < 0)
        return g_strdup("?");
    len = BIO_get_mem_data(bio, &data);
    return g_strndup(data, len > 0 ? (gsize)len : 0);
}

static gint64
asn1_time_unix(const ASN1_TIME *t)
{
    struct tm tm = { 0 };

    if (!t || !ASN1_TIME_to_tm(t, &tm))
        return 0;
    {
        g_autoptr(GDateTime) dt = g_date_time_new_utc(tm.tm_year + 1900, tm.tm_mon + 1,
                                                     tm.tm_mday, tm.tm_hour, tm.tm_min,
                                                     tm.tm_sec);
        return dt ? g_date_time_to_unix(dt) : 0;
    }
}

typedef struct {
    SnpgCertcacheKind kind;
    SnpgProduct product;
    SnpgTcb tcb;
    guint8 hwid[64];
    gsize hwid_len;
} Info;

static gboolean
classify_leaf(X509 *cert, Info *info, GError **error)
{
    g_auto(SnpgCertExt) ext = { 0 };
    g_autoptr(GError) local = NULL;

    if (!snpg_cert_ext_parse(cert, &ext, &local) || !product_name(ext.product)) {
        g_set_error(error, SNPG_CERTCACHE_ERROR,
                    local ? SNPG_CERTCACHE_ERROR_PARSE : SNPG_CERTCACHE_ERROR_UNKNOWN,
                    _("The certificate is not a valid AMD SEV-SNP VCEK or VLEK: %s"),
                    local ? local->message : _("unknown product."));
        return FALSE;
    }
    info->kind = ext.kind == SNPG_CERT_KIND_VLEK ? SNPG_CERTCACHE_KIND_VLEK
                                                  : SNPG_CERTCACHE_KIND_VCEK;
    info->product = ext.product;
    info->tcb.fmc = ext.fmc_spl;
    info->tcb.bl = ext.bl_spl;
    info->tcb.tee = ext.tee_spl;
    info->tcb.snp = ext.snp_spl;
    info->tcb.ucode = ext.ucode_spl;
    info->hwid_len = ext.hwid_len;
    memcpy(info->hwid, ext.hwid, MIN(ext.hwid_len, sizeof(info->hwid)));
    if (info->kind == SNPG_CERTCACHE_KIND_VCEK && info->hwid_len != hwid_len(info->product)) {
        g_set_error(error, SNPG_CERTCACHE_ERROR, SNPG_CERTCACHE_ERROR_PARSE,
                    _("The VCEK's hwID has %u bytes, not %u."), (guint)info->hwid_len,
                    (guint)hwid_len(info->product));
        return FALSE;
    }
    return TRUE;
}

static gboolean
classify(const Object *o, Info *info, GError **error)
{
    g_autofree char *cn = NULL;
    const char *rest = NULL;

    memset(info, 0, sizeof(*info));
    if (o->crl) {
        cn = name_cn(X509_CRL_get_issuer(o->crl));
        if (cn && g_str_has_prefix(cn, "ARK-"))
            rest = cn + 4;
        info->kind = SNPG_CERTCACHE_KIND_CRL;
    } else {
        cn = name_cn(X509_get_subject_name(o->cert));
        if (cn && g_str_has_prefix(cn, "ARK-")) {
            info->kind = SNPG_CERTCACHE_KIND_ARK;
            rest = cn + 4;
        } else if (cn && g_str_has_prefix(cn, "SEV-VLEK-")) {
            info->kind = SNPG_CERTCACHE_KIND_ASVK;
            rest = cn + 9;
        } else if (cn && (g_str_equal(cn, "SEV-VCEK") || g_str_equal(cn, "SEV-VLEK"))) {
            return classify_leaf(o->cert, info, error);
        } else if (cn && g_str_has_prefix(cn, "SEV-")) {
            info->kind = SNPG_CERTCACHE_KIND_ASK;
            rest = cn + 4;
        }
    }
    if (rest)
        info->product = snpg_product_from_string(rest);
    if (!rest || info->product == SNPG_PRODUCT_UNKNOWN) {
        g_set_error(error, SNPG_CERTCACHE_ERROR, SNPG_CERTCACHE_ERROR_UNKNOWN,
                    _("The %s with common name '%s' is not an AMD SEV-SNP one."),
                    o->crl ? "CRL" : _("certificate"), cn ? cn : "");
        return FALSE;
    }
    return TRUE;
}

/* Appends every certificate and CRL in one file. */
static gboolean
read_objects(const char *path, GPtrArray *objects, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autoptr(GBytes) bytes = snpg_file_read(path, CERT_FILE_MAX, &local);
    const char *data;
    gsize len = 0;
    guint before = objects->len;

    if (!bytes) {
        if (g_error_matches(local, SNPG_FILE_ERROR, SNPG_FILE_ERROR_TOO_LARGE))
            g_set_error(error, SNPG_CERTCACHE_ERROR, SNPG_CERTCACHE_ERROR_PARSE,
                        _("The file '%s' is too large for a certificate."), path);
        else
            g_set_error_literal(error, SNPG_CERTCACHE_ERROR, SNPG_CERTCACHE_ERROR_IO,
                                local->message);
        return FALSE;
    }
    data = g_bytes_get_data(bytes, &len);
    if (memmem(data, len, "-----BEGIN", 10)) {
        g_autoptr(BIO) bio = BIO_new_mem_buf(data, (int)len);
        STACK_OF(X509_INFO) *infos = bio ? PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL) : NULL;

        for (int i = 0; infos && i < sk_X509_INFO_num(infos); i++) {
            X509_INFO *xi = sk_X509_INFO_value(infos, i);
            Object *o = g_new0(Object, 1);
            if (xi->x509) {
                o->cert = xi->x509;
                xi->x509 = NULL;
            } else if (xi->crl) {
                o->crl = xi->crl;
                xi->crl = NULL;
            } else {
                g_free(o);
                continue;
            }
            g_ptr_array_add(objects, o);
        }
        sk_X509_INFO_pop_free(infos, X509_INFO_free);
    } else {
        const unsigned char *p = (const unsigned char *)data;
        const unsigned char *end = p + len;
        X509 *cert = d2i_X509(NULL, &p, (long)len);
        Object *o;

        if (cert && p != end) {
            X509_free(cert);
            cert = NULL;
        }
        o = g_new0(Object, 1);
        o->cert = cert;
        if (!cert) {
            p = (const unsigned char *)data;
            o->crl = d2i_X509_CRL(NULL, &p, (long)len);
            if (o->crl && p != end)
                g_clear_pointer(&o->crl, X509_CRL_free);
        }
        if (o->cert || o->crl)
            g_ptr_array_add(objects, o);
        else
            g_free(o);
    }
    ERR_clear_error();
    if (objects->len == before) {
        g_set_error(error, SNPG_CERTCACHE_ERROR, SNPG_CERTCACHE_ERROR_PARSE,
                    _("The file '%s' holds no certificate or CRL (PEM or DER)."), path);
        return FALSE;
    }
    return TRUE;
}

/* ---- cache files ------------------------------------------------------- */

static gboolean
write_file(const char *path, const void *data, gsize len, GError **error)
{
    g_autofree char *dir = g_path_get_dirname(path);
    g_autoptr(GError) local = NULL;

    if (g_mkdir_with_parents(dir, 0755) < 0) {
        int saved = errno;
        g_set_error(error, SNPG_CERTCACHE_ERROR, SNPG_CERTCACHE_ERROR_IO,
                    _("Cannot create the directory '%s': %s."), dir, g_strerror(saved));
        return FALSE;
    }
    /* g_file_set_contents_full writes a temporary file, fsyncs and renames. */
    if (!g_file_set_contents_full(path, data, (gssize)len, G_FILE_SET_CONTENTS_CONSISTENT, 0644,
                                  &local)) {
        g_set_error(error, SNPG_CERTCACHE_ERROR, SNPG_CERTCACHE_ERROR_IO,
                    _("Cannot write '%s': %s."), path, local->message);
        return FALSE;
    }
    return TRUE;
}

static char *
tcb_name(SnpgProduct product, const SnpgTcb *tcb)
{
    if (product == SNPG_PRODUCT_TURIN)
        return g_strdup_printf("fmc%u-bl%u-tee%u-snp%u-ucode%u", tcb->fmc, tcb->bl, tcb->tee,
                               tcb->snp, tcb->ucode);
    return g_strdup_printf("bl%u-tee%u-snp%u-ucode%u", tcb->bl, tcb->tee, tcb->snp, tcb->ucode);
}

static char *
der_sha8(const unsigned char *der, int len)
{
    guint8 md[32];
    unsigned int n = 0;

    EVP_Digest(der, (size_t)len, md, &n, EVP_sha256(), NULL);
    return snpg_hex_encode(md, 8);
}

static char *
entry_path(const char *cache_dir, const Info *info, const unsigned char *der, int der_len)
{
    const char *prod = product_name(info->product);
    g_autofree char *tcb = NULL;
    g_autofree char *hw = NULL;
    g_autofree char *sha = NULL;
    g_autofree char *name = NULL;

    switch (info->kind) {
    case SNPG_CERTCACHE_KIND_ARK:
        return g_build_filename(cache_dir, prod, "ark.pem", NULL);
    case SNPG_CERTCACHE_KIND_ASK:
        return g_build_filename(cache_dir, prod, "ask.pem", NULL);
    case SNPG_CERTCACHE_KIND_ASVK:
        return g_build_filename(cache_dir, prod, "asvk.pem", NULL);
    case SNPG_CERTCACHE_KIND_CRL:
        sha = der_sha8(der, der_len);
        name = g_strdup_printf("%s.der", sha);
        return g_build_filename(cache_dir, prod, "crl", name, NULL);
    case SNPG_CERTCACHE_KIND_VCEK:
        tcb = tcb_name(info->product, &info->tcb);
        hw = snpg_hex_encode(info->hwid, info->hwid_len);
        name = g_strdup_printf("%s-%s.der", hw, tcb);
        return g_build_filename(cache_dir, prod, "vcek", name, NULL);
    case SNPG_CERTCACHE_KIND_VLEK:
        tcb = tcb_name(info->product, &info->tcb);
        sha = der_sha8(der, der_len);
        name = g_strdup_printf("%s-%s.der", tcb, sha);
        return g_build_filename(cache_dir, prod, "vlek", name, NULL);
    default:
        g_return_val_if_reached(NULL);
    }
}

static X509_CRL *
load_crl_file(const char *path)
{
    g_autoptr(GBytes) data = snpg_file_read(path, CERT_FILE_MAX, NULL);

    if (!data)
        return NULL;
    return snpg_crl_load(g_bytes_get_data(data, NULL), g_bytes_get_size(data), NULL);
}

/* The issuer a kind is signed by, in the cache or in this import. */
static SnpgCertcacheKind
issuer_kind(SnpgCertcacheKind kind)
{
    switch (kind) {
    case SNPG_CERTCACHE_KIND_VCEK:
        return SNPG_CERTCACHE_KIND_ASK;
    case SNPG_CERTCACHE_KIND_VLEK:
        return SNPG_CERTCACHE_KIND_ASVK;
    default:
        return SNPG_CERTCACHE_KIND_ARK;
    }
}

static int
kind_rank(gconstpointer a, gconstpointer b, gpointer user_data)
{
    const Info *infos = user_data;
    guint ia = GPOINTER_TO_UINT(*(gconstpointer *)a), ib = GPOINTER_TO_UINT(*(gconstpointer *)b);

    if (infos[ia].kind != infos[ib].kind)
        return (int)infos[ia].kind - (int)infos[ib].kind;
    return (int)ia - (int)ib;
}

static SnpgCertcacheEntry *
make_entry(const Object *o, const Info *info, char *path, gboolean verified)
{
    SnpgCertcacheEntry *e = g_new0(SnpgCertcacheEntry, 1);

    e->kind = info->kind;
    e->product = info->product;
    e->path = path;
    e->verified = verified;
    if (o->crl) {
        e->subject = name_oneline(X509_CRL_get_issuer(o->crl));
        e->not_after = asn1_time_unix(X509_CRL_get0_nextUpdate(o->crl));
    } else {
        e->subject = name_oneline(X509_get_subject_name(o->cert));
        e->not_after = asn1_time_unix(X509_get0_notAfter(o->cert));
    }
    if (info->kind == SNPG_CERTCACHE_KIND_VCEK || info->kind == SNPG_CERTCACHE_KIND_VLEK)
        e->tcb = info->tcb;
    if (info->kind == SNPG_CERTCACHE_KIND_VCEK)
        e->hwid = snpg_hex_encode(info->hwid, info->hwid_len);
    return e;
}

GPtrArray *
snpg_certcache_import(const char *cache_dir, const char *const *files, GError **error)
{
    g_autoptr(GPtrArray) objects = g_ptr_array_new_with_free_func(object_free);
    g_autoptr(GPtrArray) order = g_ptr_array_new();
    g_autoptr(GPtrArray) ders = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func(
        (GDestroyNotify)snpg_certcache_entry_free);
    g_autofree Info *infos = NULL;
    g_autofree int *der_lens = NULL;
    /* Issuers of this import, by product and kind (borrowed). */
    X509 *issuers[SNPG_PRODUCT_LAST][SNPG_CERTCACHE_KIND_LAST] = { { NULL } };
    g_autoptr(GPtrArray) cached = g_ptr_array_new_with_free_func((GDestroyNotify)X509_free);
    g_autofree gboolean *verified = NULL;

    for (gsize i = 0; files && files[i]; i++)
        if (!read_objects(files[i], objects, error))
            return NULL;
    infos = g_new0(Info, objects->len);
    der_lens = g_new0(int, objects->len);
    verified = g_new0(gboolean, objects->len);
    for (guint i = 0; i < objects->len; i++) {
        if (!classify(objects->pdata[i], &infos[i], error))
            return NULL;
        g_ptr_array_add(order, GUINT_TO_POINTER(i));
    }
    g_ptr_array_sort_with_data(order, kind_rank, infos);

    /* Validate everything before writing anything. */
    for (guint k = 0; k < order->len; k++) {
        guint i = GPOINTER_TO_UINT(order->pdata[k]);
        const Object *o = objects->pdata[i];
        const Info *info = &infos[i];
        X509 *issuer = NULL;
        EVP_PKEY *key;
        unsigned char *der = NULL;
        int len = o->crl ? i2d_X509_CRL(o->crl, &der) : i2d_X509(o->cert, &der);

        if (len <= 0) {
            g_set_error(error, SNPG_CERTCACHE_ERROR, SNPG_CERTCACHE_ERROR_PARSE,
                        _("A certificate cannot be re-encoded."));
            return NULL;
        }
        g_ptr_array_add(ders, g_memdup2(der, (gsize)len));
        OPENSSL_free(der);
        der_lens[i] = len;

        if (info->kind == SNPG_CERTCACHE_KIND_ARK) {
            issuer = o->cert;
        } else {
            SnpgCertcacheKind ik = issuer_kind(info->kind);
            issuer = issuers[info->product][ik];
            if (!issuer) {
                issuer = snpg_certcache_find_ca(cache_dir, info->product, ik, NULL, NULL);
                if (issuer)
                    g_ptr_array_add(cached, issuer);
            }
        }
        if (issuer) {
            key = X509_get0_pubkey(issuer);
            if (!key || (o->crl ? X509_CRL_verify(o->crl, key) : X509_verify(o->cert, key)) != 1) {
                ERR_clear_error();
                g_set_error(error, SNPG_CERTCACHE_ERROR, SNPG_CERTCACHE_ERROR_SIGNATURE,
                            _("The %s of %s does not verify against its issuer (%s)."),
                            kind_names[info->kind], product_name(info->product),
                            info->kind == SNPG_CERTCACHE_KIND_ARK ? _("itself") : _("cached"));
                return NULL;
            }
            verified[i] = TRUE;
        }
        if (o->cert && info->kind != SNPG_CERTCACHE_KIND_VCEK &&
            info->kind != SNPG_CERTCACHE_KIND_VLEK)
            issuers[info->product][info->kind] = o->cert;
    }

    for (guint k = 0; k < order->len; k++) {
        guint i = GPOINTER_TO_UINT(order->pdata[k]);
        const Object *o = objects->pdata[i];
        const guint8 *der = ders->pdata[k];
        char *path = entry_path(cache_dir, &infos[i], der, der_lens[i]);
        gboolean ok;

        if (o->cert && (infos[i].kind == SNPG_CERTCACHE_KIND_ARK ||
                        infos[i].kind == SNPG_CERTCACHE_KIND_ASK ||
                        infos[i].kind == SNPG_CERTCACHE_KIND_ASVK)) {
            g_autoptr(BIO) bio = BIO_new(BIO_s_mem());
            char *pem = NULL;
            long pem_len;
            if (!bio || !PEM_write_bio_X509(bio, o->cert)) {
                g_free(path);
                g_set_error(error, SNPG_CERTCACHE_ERROR, SNPG_CERTCACHE_ERROR_IO,
                            _("A certificate cannot be written as PEM."));
                return NULL;
            }
            pem_len = BIO_get_mem_data(bio, &pem);
            ok = write_file(path, pem, (gsize)pem_len, error);
        } else {
            ok = write_file(path, der, (gsize)der_lens[i], error);
        }
        if (!ok) {
            g_free(path);
            return NULL;
        }
        g_ptr_array_add(entries, make_entry(o, &infos[i], path, verified[i]));
    }
    return g_steal_pointer(&entries);
}

/* ---- lookups ----------------------------------------------------------- */

X509 *
snpg_certcache_find_ca(const char *cache_dir, SnpgProduct product, SnpgCertcacheKind kind,
                       char **ret_path, GError **error)
{
    const char *prod = product_name(product);
    const char *file = kind == SNPG_CERTCACHE_KIND_ARK    ? "ark.pem"
                       : kind == SNPG_CERTCACHE_KIND_ASK  ? "ask.pem"
                       : kind == SNPG_CERTCACHE_KIND_ASVK ? "asvk.pem"
                                                          : NULL;
    g_autofree char *path = NULL;
    X509 *cert;

    if (!prod || !file) {
        g_set_error(error, SNPG_CERTCACHE_ERROR, SNPG_CERTCACHE_ERROR_INVALID,
                    _("The cache holds ARK, ASK and ASVK certificates of Milan, Genoa and Turin only."));
        return NULL;
    }
    path = g_build_filename(cache_dir, prod, file, NULL);
    cert = snpg_cert_load_file(path, NULL);
    if (!cert) {
        g_set_error(error, SNPG_CERTCACHE_ERROR, SNPG_CERTCACHE_ERROR_NOT_FOUND,
                    _("The certificate cache has no %s for %s ('%s')."), kind_names[kind], prod,
                    path);
        return NULL;
    }
    if (ret_path)
        *ret_path = g_steal_pointer(&path);
    return cert;
}

X509 *
snpg_certcache_find_vcek(const char *cache_dir, SnpgProduct product, const guint8 *chip_id,
                         const SnpgTcb *reported_tcb, char **ret_path, GError **error)
{
    const char *prod = product_name(product);
    g_autofree char *hw = NULL;
    g_autofree char *tcb = NULL;
    g_autofree char *name = NULL;
    g_autofree char *path = NULL;
    X509 *cert;
    Info info;
    Object o = { 0 };

    if (!prod) {
        g_set_error(error, SNPG_CERTCACHE_ERROR, SNPG_CERTCACHE_ERROR_INVALID,
                    _("The product is unknown: name it (Milan, Genoa or Turin)."));
        return NULL;
    }
    hw = snpg_hex_encode(chip_id, hwid_len(product));
    tcb = tcb_name(product, reported_tcb);
    name = g_strdup_printf("%s-%s.der", hw, tcb);
    path = g_build_filename(cache_dir, prod, "vcek", name, NULL);
    cert = snpg_cert_load_file(path, NULL);
    if (!cert) {
        g_set_error(error, SNPG_CERTCACHE_ERROR, SNPG_CERTCACHE_ERROR_NOT_FOUND,
                    _("The certificate cache has no VCEK for this chip at TCB %s ('%s')."), tcb,
                    path);
        return NULL;
    }
    /* The file name is only an index: check the certificate itself. */
    o.cert = cert;
    if (!classify(&o, &info, NULL) || info.kind != SNPG_CERTCACHE_KIND_VCEK ||
        info.product != product || info.hwid_len != hwid_len(product) ||
        memcmp(info.hwid, chip_id, info.hwid_len) != 0 || info.tcb.bl != reported_tcb->bl ||
        info.tcb.tee != reported_tcb->tee || info.tcb.snp != reported_tcb->snp ||
        info.tcb.ucode != reported_tcb->ucode ||
        (product == SNPG_PRODUCT_TURIN && info.tcb.fmc != reported_tcb->fmc)) {
        X509_free(cert);
        g_set_error(error, SNPG_CERTCACHE_ERROR, SNPG_CERTCACHE_ERROR_NOT_FOUND,
                    _("The cached file '%s' does not hold the VCEK its name says."), path);
        return NULL;
    }
    if (ret_path)
        *ret_path = g_steal_pointer(&path);
    return cert;
}

static void
list_dir(const char *cache_dir, SnpgProduct product, const char *sub, GPtrArray *out)
{
    g_autofree char *dir = g_build_filename(cache_dir, product_name(product), sub, NULL);
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    const char *n;

    while (d && (n = g_dir_read_name(d)))
        if (g_str_has_suffix(n, ".pem") || g_str_has_suffix(n, ".der"))
            g_ptr_array_add(names, g_strdup(n));
    for (guint i = 0; i < names->len; i++) {
        g_autofree char *path = g_build_filename(dir, names->pdata[i], NULL);
        Object o = { 0 };
        Info info;

        if (g_str_equal(sub, "crl"))
            o.crl = load_crl_file(path);
        else
            o.cert = snpg_cert_load_file(path, NULL);
        if ((o.cert || o.crl) && classify(&o, &info, NULL) && info.product == product) {
            gboolean in_root = g_str_equal(sub, "");
            gboolean ok = in_root ? (info.kind <= SNPG_CERTCACHE_KIND_ASVK)
                                  : (info.kind == SNPG_CERTCACHE_KIND_CRL && g_str_equal(sub, "crl")) ||
                                    (info.kind == SNPG_CERTCACHE_KIND_VCEK && g_str_equal(sub, "vcek")) ||
                                    (info.kind == SNPG_CERTCACHE_KIND_VLEK && g_str_equal(sub, "vlek"));
            if (ok)
                g_ptr_array_add(out, make_entry(&o, &info, g_steal_pointer(&path), FALSE));
        }
        X509_free(o.cert);
        X509_CRL_free(o.crl);
    }
}

static int
entry_cmp(gconstpointer a, gconstpointer b)
{
    const SnpgCertcacheEntry *x = *(SnpgCertcacheEntry *const *)a;
    const SnpgCertcacheEntry *y = *(SnpgCertcacheEntry *const *)b;

    if (x->product != y->product)
        return (int)x->product - (int)y->product;
    if (x->kind != y->kind)
        return (int)x->kind - (int)y->kind;
    return g_strcmp0(x->path, y->path);
}

GPtrArray *
snpg_certcache_list(const char *cache_dir, GError **error)
{
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(
        (GDestroyNotify)snpg_certcache_entry_free);

    if (g_file_test(cache_dir, G_FILE_TEST_EXISTS) && !g_file_test(cache_dir, G_FILE_TEST_IS_DIR)) {
        g_set_error(error, SNPG_CERTCACHE_ERROR, SNPG_CERTCACHE_ERROR_IO,
                    _("The certificate cache '%s' is not a directory."), cache_dir);
        return NULL;
    }
    for (int p = SNPG_PRODUCT_UNKNOWN + 1; p < SNPG_PRODUCT_LAST; p++) {
        list_dir(cache_dir, (SnpgProduct)p, "", out);
        list_dir(cache_dir, (SnpgProduct)p, "crl", out);
        list_dir(cache_dir, (SnpgProduct)p, "vcek", out);
        list_dir(cache_dir, (SnpgProduct)p, "vlek", out);
    }
    g_ptr_array_sort(out, entry_cmp);
    return g_steal_pointer(&out);
}
