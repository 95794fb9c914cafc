/* AMD certificate hierarchy: pinned roots and chain primitives. */
#include "config.h"

#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "amd-certs.h"
#include "autocleanups.h"
#include "file.h"
#include "i18n.h"

/* amd-roots.c */
extern const char snpg_amd_ark_milan_pem[], snpg_amd_ask_milan_pem[], snpg_amd_asvk_milan_pem[];
extern const char snpg_amd_ark_genoa_pem[], snpg_amd_ask_genoa_pem[], snpg_amd_asvk_genoa_pem[];
extern const char snpg_amd_ark_turin_pem[], snpg_amd_ask_turin_pem[], snpg_amd_asvk_turin_pem[];

/* A cap for certificate and CRL files: AMD's are a few KiB (CRLs < 64 KiB). */
#define CERT_FILE_MAX (4u << 20)

/* PSS parameters of AMD's hierarchy: SHA-384, MGF1-SHA-384, salt 48. */
#define AMD_PSS_SALT 48

const char *
snpg_amd_cert_kind_to_string(SnpgAmdCertKind kind)
{
    static const char *const names[SNPG_AMD_CERT_LAST] = { "ARK", "ASK", "ASVK" };
    return (guint)kind < SNPG_AMD_CERT_LAST ? names[kind] : "unknown";
}

const char *
snpg_amd_cert_pem(SnpgProduct product, SnpgAmdCertKind kind)
{
    static const char *const table[SNPG_PRODUCT_LAST][SNPG_AMD_CERT_LAST] = {
        [SNPG_PRODUCT_MILAN] = { snpg_amd_ark_milan_pem, snpg_amd_ask_milan_pem, snpg_amd_asvk_milan_pem },
        [SNPG_PRODUCT_GENOA] = { snpg_amd_ark_genoa_pem, snpg_amd_ask_genoa_pem, snpg_amd_asvk_genoa_pem },
        [SNPG_PRODUCT_TURIN] = { snpg_amd_ark_turin_pem, snpg_amd_ask_turin_pem, snpg_amd_asvk_turin_pem },
    };
    if ((guint)product >= SNPG_PRODUCT_LAST || (guint)kind >= SNPG_AMD_CERT_LAST)
        return NULL;
    return table[product][kind];
}

X509 *
snpg_amd_cert_get(SnpgProduct product, SnpgAmdCertKind kind, GError **error)
{
    const char *pem = snpg_amd_cert_pem(product, kind);

    if (!pem) {
        g_set_error(error, SNPG_CERT_ERROR, SNPG_CERT_ERROR_UNKNOWN_PRODUCT,
                    _("There is no pinned AMD %s for the product '%s'."),
                    snpg_amd_cert_kind_to_string(kind), snpg_product_to_string(product));
        return NULL;
    }
    return snpg_cert_load((const guint8 *)pem, strlen(pem), error);
}

/* The pinned certificates' DER, decoded once per process. */
static GBytes *
pinned_der(SnpgProduct product, SnpgAmdCertKind kind)
{
    static gsize once[SNPG_PRODUCT_LAST][SNPG_AMD_CERT_LAST];
    static GBytes *der[SNPG_PRODUCT_LAST][SNPG_AMD_CERT_LAST];

    if ((guint)product >= SNPG_PRODUCT_LAST || (guint)kind >= SNPG_AMD_CERT_LAST ||
        product == SNPG_PRODUCT_UNKNOWN)
        return NULL;
    if (g_once_init_enter(&once[product][kind])) {
        g_autoptr(X509) cert = snpg_amd_cert_get(product, kind, NULL);
        unsigned char *buf = NULL;
        int n = cert ? i2d_X509(cert, &buf) : -1;

        /* The built-in PEMs are tested; a failure here is our bug. */
        g_assert(n > 0);
        der[product][kind] = g_bytes_new(buf, (gsize)n);
        OPENSSL_free(buf);
        g_once_init_leave(&once[product][kind], 1);
    }
    return der[product][kind];
}

X509 *
snpg_amd_cert_ref(SnpgProduct product, SnpgAmdCertKind kind)
{
    static gsize once[SNPG_PRODUCT_LAST][SNPG_AMD_CERT_LAST];
    static X509 *certs[SNPG_PRODUCT_LAST][SNPG_AMD_CERT_LAST];

    if ((guint)product >= SNPG_PRODUCT_LAST || (guint)kind >= SNPG_AMD_CERT_LAST ||
        product == SNPG_PRODUCT_UNKNOWN)
        return NULL;
    /* Parsed once per process: they are constants, and a parsed key keeps
     * its precomputed values (RSA Montgomery context) across verifications. */
    if (g_once_init_enter(&once[product][kind])) {
        certs[product][kind] = snpg_amd_cert_get(product, kind, NULL);
        g_assert(certs[product][kind]);    /* built in and tested */
        g_once_init_leave(&once[product][kind], 1);
    }
    X509_up_ref(certs[product][kind]);
    return certs[product][kind];
}

gboolean
snpg_amd_cert_is_pinned(X509 *cert, SnpgProduct product, SnpgAmdCertKind kind)
{
    GBytes *want = pinned_der(product, kind);
    unsigned char *buf = NULL;
    gboolean same;
    int n;

    if (!want || !cert)
        return FALSE;
    n = i2d_X509(cert, &buf);
    if (n <= 0)
        return FALSE;
    same = (gsize)n == g_bytes_get_size(want) &&
           memcmp(buf, g_bytes_get_data(want, NULL), (gsize)n) == 0;
    OPENSSL_free(buf);
    return same;
}

static gboolean
looks_like_pem(const guint8 *data, gsize len)
{
    static const char marker[] = "-----BEGIN ";
    gsize i = 0;

    while (i < len && g_ascii_isspace(data[i]))
        i++;
    return len - i >= sizeof(marker) - 1 && memcmp(data + i, marker, sizeof(marker) - 1) == 0;
}

X509 *
snpg_cert_load(const guint8 *data, gsize len, GError **error)
{
    g_autoptr(X509) cert = NULL;

    if (len == 0 || len > CERT_FILE_MAX)
        goto bad;
    if (looks_like_pem(data, len)) {
        g_autoptr(BIO) bio = BIO_new_mem_buf(data, (int)len);
        g_autoptr(X509) extra = NULL;

        if (!bio || !(cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)))
            goto bad;
        /* One certificate only: a bundle must not smuggle in a second. */
        extra = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        ERR_clear_error();
        if (extra) {
            g_set_error(error, SNPG_CERT_ERROR, SNPG_CERT_ERROR_PARSE,
                        _("The PEM data holds more than one certificate."));
            return NULL;
        }
    } else {
        const unsigned char *p = data;
        cert = d2i_X509(NULL, &p, (long)len);
        if (!cert || p != data + len)
            goto bad;
    }
    return g_steal_pointer(&cert);

bad:
    ERR_clear_error();
    g_set_error(error, SNPG_CERT_ERROR, SNPG_CERT_ERROR_PARSE,
                _("The data is not a DER or PEM X.509 certificate."));
    return NULL;
}

X509 *
snpg_cert_load_file(const char *path, GError **error)
{
    g_autoptr(GBytes) data = snpg_file_read(path, CERT_FILE_MAX, error);
    GError *local = NULL;
    X509 *cert;

    if (!data)
        return NULL;
    cert = snpg_cert_load(g_bytes_get_data(data, NULL), g_bytes_get_size(data), &local);
    if (!cert) {
        g_set_error(error, SNPG_CERT_ERROR, local->code, _("The file '%s' is unusable: %s"),
                    path, local->message);
        g_error_free(local);
    }
    return cert;
}

X509_CRL *
snpg_crl_load(const guint8 *data, gsize len, GError **error)
{
    g_autoptr(X509_CRL) crl = NULL;

    if (len == 0 || len > CERT_FILE_MAX)
        goto bad;
    if (looks_like_pem(data, len)) {
        g_autoptr(BIO) bio = BIO_new_mem_buf(data, (int)len);
        if (!bio || !(crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL)))
            goto bad;
    } else {
        const unsigned char *p = data;
        crl = d2i_X509_CRL(NULL, &p, (long)len);
        if (!crl || p != data + len)
            goto bad;
    }
    return g_steal_pointer(&crl);

bad:
    ERR_clear_error();
    g_set_error(error, SNPG_CERT_ERROR, SNPG_CERT_ERROR_PARSE,
                _("The data is not a DER or PEM certificate revocation list."));
    return NULL;
}

gboolean
snpg_cert_fingerprint(X509 *cert, guint8 ret[32])
{
    unsigned int n = 0;
    return X509_digest(cert, EVP_sha256(), ret, &n) == 1 && n == 32;
}

static gboolean
algor_is(const X509_ALGOR *alg, int nid)
{
    const ASN1_OBJECT *obj = NULL;
    X509_ALGOR_get0(&obj, NULL, NULL, alg);
    return obj && OBJ_obj2nid(obj) == nid;
}

/* The hash algorithm must be SHA-384; its parameters absent or NULL. */
static gboolean
algor_is_sha384(const X509_ALGOR *alg)
{
    int ptype = 0;
    X509_ALGOR_get0(NULL, &ptype, NULL, alg);
    return algor_is(alg, NID_sha384) && (ptype == V_ASN1_UNDEF || ptype == V_ASN1_NULL);
}

static gboolean
check_pss_algor(const X509_ALGOR *alg, GError **error)
{
    g_autoptr(RSA_PSS_PARAMS) pss = NULL;
    g_autoptr(X509_ALGOR) mgf_hash = NULL;
    const void *pval = NULL;
    int ptype = 0;

    if (!alg || !algor_is(alg, NID_rsassaPss))
        goto bad;
    X509_ALGOR_get0(NULL, &ptype, &pval, alg);
    if (ptype != V_ASN1_SEQUENCE || !pval)
        goto bad;
    pss = ASN1_item_unpack(pval, ASN1_ITEM_rptr(RSA_PSS_PARAMS));
    /* Absent fields mean SHA-1 defaults (RFC 4055): not AMD's. */
    if (!pss || !pss->hashAlgorithm || !algor_is_sha384(pss->hashAlgorithm) ||
        !pss->maskGenAlgorithm || !algor_is(pss->maskGenAlgorithm, NID_mgf1) ||
        !pss->saltLength || ASN1_INTEGER_get(pss->saltLength) != AMD_PSS_SALT)
        goto bad;
    if (pss->trailerField && ASN1_INTEGER_get(pss->trailerField) != 1)
        goto bad;
    X509_ALGOR_get0(NULL, &ptype, &pval, pss->maskGenAlgorithm);
    if (ptype != V_ASN1_SEQUENCE || !pval)
        goto bad;
    mgf_hash = ASN1_item_unpack(pval, ASN1_ITEM_rptr(X509_ALGOR));
    if (!mgf_hash || !algor_is_sha384(mgf_hash))
        goto bad;
    return TRUE;

bad:
    ERR_clear_error();
    g_set_error(error, SNPG_CERT_ERROR, SNPG_CERT_ERROR_ALGORITHM,
                _("The signature algorithm is not RSASSA-PSS with SHA-384, MGF1-SHA-384 and a 48-byte salt."));
    return FALSE;
}

gboolean
snpg_cert_check_pss(X509 *cert, GError **error)
{
    const X509_ALGOR *outer = NULL;

    X509_get0_signature(NULL, &outer, cert);
    /* The signed (tbs) algorithm must be the same as the outer one. */
    if (X509_ALGOR_cmp(outer, X509_get0_tbs_sigalg(cert)) != 0) {
        g_set_error(error, SNPG_CERT_ERROR, SNPG_CERT_ERROR_ALGORITHM,
                    _("The certificate's two signature algorithm fields differ."));
        return FALSE;
    }
    return check_pss_algor(outer, error);
}

static char *
name_text(const X509_NAME *name)
{
    char buf[256];
    X509_NAME_oneline(name, buf, sizeof(buf));
    return g_strdup(buf);
}

gboolean
snpg_cert_verify_issued_by(X509 *cert, X509 *issuer, GError **error)
{
    EVP_PKEY *key;

    if (X509_NAME_cmp(X509_get_issuer_name(cert), X509_get_subject_name(issuer)) != 0) {
        g_autofree char *want = name_text(X509_get_issuer_name(cert));
        g_autofree char *have = name_text(X509_get_subject_name(issuer));
        g_set_error(error, SNPG_CERT_ERROR, SNPG_CERT_ERROR_ISSUER,
                    _("The certificate's issuer '%s' is not the signer '%s'."), want, have);
        return FALSE;
    }
    if (!snpg_cert_check_pss(cert, error))
        return FALSE;
    key = X509_get0_pubkey(issuer);
    if (!key || X509_verify(cert, key) != 1) {
        g_autofree char *who = name_text(X509_get_subject_name(cert));
        ERR_clear_error();
        g_set_error(error, SNPG_CERT_ERROR, SNPG_CERT_ERROR_SIGNATURE,
                    _("The signature on the certificate '%s' does not verify."), who);
        return FALSE;
    }
    return TRUE;
}

gboolean
snpg_crl_verify_issued_by(X509_CRL *crl, X509 *issuer, GError **error)
{
    const X509_ALGOR *alg = NULL;
    EVP_PKEY *key;

    if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0) {
        g_set_error(error, SNPG_CERT_ERROR, SNPG_CERT_ERROR_CRL,
                    _("The revocation list is not issued by the root of this chain."));
        return FALSE;
    }
    X509_CRL_get0_signature(crl, NULL, &alg);
    if (!check_pss_algor(alg, error))
        return FALSE;
    key = X509_get0_pubkey(issuer);
    if (!key || X509_CRL_verify(crl, key) != 1) {
        ERR_clear_error();
        g_set_error(error, SNPG_CERT_ERROR, SNPG_CERT_ERROR_CRL,
                    _("The signature on the revocation list does not verify."));
        return FALSE;
    }
    return TRUE;
}

gboolean
snpg_crl_is_revoked(X509_CRL *crl, X509 *cert)
{
    X509_REVOKED *entry = NULL;
    return X509_CRL_get0_by_serial(crl, &entry, X509_get0_serialNumber(cert)) == 1;
}

static gboolean
asn1_time_to_unix(const ASN1_TIME *t, gint64 *ret)
{
    struct tm tm;

    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return FALSE;
    *ret = (gint64)timegm(&tm);
    return TRUE;
}

gboolean
snpg_cert_validity(X509 *cert, gint64 *ret_not_before, gint64 *ret_not_after)
{
    gint64 nb = 0, na = 0;

    if (!asn1_time_to_unix(X509_get0_notBefore(cert), &nb) ||
        !asn1_time_to_unix(X509_get0_notAfter(cert), &na))
        return FALSE;
    *ret_not_before = nb;
    *ret_not_after = na;
    return TRUE;
}

static char *
unix_text(gint64 t)
{
    g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(t);
    return dt ? g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ") : g_strdup("?");
}

gboolean
snpg_cert_check_time(X509 *cert, gint64 now, GError **error)
{
    gint64 nb = 0, na = 0;
    g_autofree char *who = snpg_cert_subject_cn(cert);

    if (!snpg_cert_validity(cert, &nb, &na)) {
        g_set_error(error, SNPG_CERT_ERROR, SNPG_CERT_ERROR_PARSE,
                    _("The validity dates of the certificate '%s' cannot be read."), who ? who : "");
        return FALSE;
    }
    if (now < nb) {
        g_autofree char *when = unix_text(nb);
        g_set_error(error, SNPG_CERT_ERROR, SNPG_CERT_ERROR_NOT_YET_VALID,
                    _("The certificate '%s' is not valid before '%s'."), who ? who : "", when);
        return FALSE;
    }
    if (now > na) {
        g_autofree char *when = unix_text(na);
        g_set_error(error, SNPG_CERT_ERROR, SNPG_CERT_ERROR_EXPIRED,
                    _("The certificate '%s' expired at '%s'."), who ? who : "", when);
        return FALSE;
    }
    return TRUE;
}
