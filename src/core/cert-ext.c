/* AMD VCEK/VLEK certificate extensions (spec 57230). */
#include "config.h"

#include <string.h>

#include <openssl/asn1.h>
#include <openssl/objects.h>

#include "autocleanups.h"
#include "cert-ext.h"
#include "i18n.h"

G_DEFINE_QUARK(snpg-cert-error-quark, snpg_cert_error)


#define AMD_OID "1.3.6.1.4.1.3704.1."

const char *
snpg_cert_kind_to_string(SnpgCertKind kind)
{
    switch (kind) {
    case SNPG_CERT_KIND_VCEK: return "VCEK";
    case SNPG_CERT_KIND_VLEK: return "VLEK";
    default: return "unknown";
    }
}

void
snpg_cert_ext_clear(SnpgCertExt *ext)
{
    g_clear_pointer(&ext->product_name, g_free);
    g_clear_pointer(&ext->csp_id, g_free);
    memset(ext, 0, sizeof(*ext));
}

/* The extnValue of the extension with this OID: NULL when absent. Fails when
 * the OID occurs twice (an attacker could hope we read the other one). */
static gboolean
find_ext(X509 *cert, const char *oid_text, const ASN1_OCTET_STRING **ret, GError **error)
{
    g_autoptr(ASN1_OBJECT) oid = OBJ_txt2obj(oid_text, 1);
    int idx;

    *ret = NULL;
    if (!oid) {
        g_set_error(error, SNPG_CERT_ERROR, SNPG_CERT_ERROR_EXTENSION,
                    _("Cannot encode the OID '%s'."), oid_text);
        return FALSE;
    }
    idx = X509_get_ext_by_OBJ(cert, oid, -1);
    if (idx < 0)
        return TRUE;
    if (X509_get_ext_by_OBJ(cert, oid, idx) >= 0) {
        g_set_error(error, SNPG_CERT_ERROR, SNPG_CERT_ERROR_EXTENSION,
                    _("The certificate holds the extension '%s' twice."), oid_text);
        return FALSE;
    }
    *ret = X509_EXTENSION_get_data(X509_get_ext(cert, idx));
    return TRUE;
}

/* An extension holding one DER INTEGER in 0..max; absent → *present FALSE. */
static gboolean
get_int_ext(X509 *cert, const char *oid, const char *name, gint64 max, gboolean *present,
            gint64 *ret, GError **error)
{
    const ASN1_OCTET_STRING *os;
    g_autoptr(ASN1_INTEGER) in = NULL;
    const unsigned char *p;
    gint64 v = 0;

    if (!find_ext(cert, oid, &os, error))
        return FALSE;
    *present = os != NULL;
    if (!os)
        return TRUE;
    p = ASN1_STRING_get0_data(os);
    in = d2i_ASN1_INTEGER(NULL, &p, ASN1_STRING_length(os));
    if (!in || p != ASN1_STRING_get0_data(os) + ASN1_STRING_length(os) ||
        !ASN1_INTEGER_get_int64(&v, in) || v < 0 || v > max) {
        g_set_error(error, SNPG_CERT_ERROR, SNPG_CERT_ERROR_EXTENSION,
                    _("The certificate's '%s' extension is not an INTEGER from 0 to %" G_GINT64_FORMAT "."),
                    name, max);
        return FALSE;
    }
    *ret = v;
    return TRUE;
}

static gboolean
get_spl(X509 *cert, const char *oid, const char *name, gboolean required, gboolean *present,
        guint8 *ret, GError **error)
{
    gboolean have = FALSE;
    gint64 v = 0;

    if (!get_int_ext(cert, oid, name, 255, &have, &v, error))
        return FALSE;
    if (!have && required) {
        g_set_error(error, SNPG_CERT_ERROR, SNPG_CERT_ERROR_EXTENSION,
                    _("The certificate lacks the '%s' extension."), name);
        return FALSE;
    }
    if (present)
        *present = have;
    *ret = (guint8)v;
    return TRUE;
}

/* An IA5String extension with printable ASCII only (it is shown to users). */
static gboolean
get_ia5_ext(X509 *cert, const char *oid, const char *name, char **ret, GError **error)
{
    const ASN1_OCTET_STRING *os;
    g_autoptr(ASN1_IA5STRING) s = NULL;
    const unsigned char *p, *data;
    int len;

    *ret = NULL;
    if (!find_ext(cert, oid, &os, error))
        return FALSE;
    if (!os)
        return TRUE;
    p = ASN1_STRING_get0_data(os);
    s = d2i_ASN1_IA5STRING(NULL, &p, ASN1_STRING_length(os));
    if (!s || p != ASN1_STRING_get0_data(os) + ASN1_STRING_length(os))
        goto bad;
    data = ASN1_STRING_get0_data(s);
    len = ASN1_STRING_length(s);
    if (len <= 0 || len > 256)
        goto bad;
    for (int i = 0; i < len; i++)
        if (data[i] < 0x20 || data[i] > 0x7e)
            goto bad;
    *ret = g_strndup((const char *)data, (gsize)len);
    return TRUE;

bad:
    g_set_error(error, SNPG_CERT_ERROR, SNPG_CERT_ERROR_EXTENSION,
                _("The certificate's '%s' extension is not a printable IA5String."), name);
    return FALSE;
}

/* The subject CN for messages. A certificate may come from the peer (the
 * guest's certificate table), so its raw bytes could hold terminal escape
 * sequences: anything outside printable ASCII is shown as \xHH. AMD's
 * names are printable ASCII, so they are unchanged. */
char *
snpg_cert_subject_cn(X509 *cert)
{
    char buf[128];
    int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof(buf));
    GString *out;

    if (n <= 0)
        return NULL;
    out = g_string_sized_new((gsize)n);
    for (int i = 0; i < n; i++) {
        guint8 c = (guint8)buf[i];
        if (c < 0x20 || c > 0x7e || c == '\\')
            g_string_append_printf(out, "\\x%02x", c);
        else
            g_string_append_c(out, (char)c);
    }
    return g_string_free(out, FALSE);
}

gboolean
snpg_cert_ext_parse(X509 *cert, SnpgCertExt *ret, GError **error)
{
    g_auto(SnpgCertExt) ext = { 0 };
    g_autofree char *cn = NULL;
    const ASN1_OCTET_STRING *hwid = NULL;
    gboolean have = FALSE;
    gint64 v = 0;

    g_return_val_if_fail(cert != NULL, FALSE);

    if (!get_int_ext(cert, AMD_OID "1", "structVersion", G_MAXINT32, &have, &v, error))
        return FALSE;
    ext.struct_version = have ? v : -1;
    if (!get_ia5_ext(cert, AMD_OID "2", "productName", &ext.product_name, error))
        return FALSE;
    if (!ext.product_name) {
        g_set_error(error, SNPG_CERT_ERROR, SNPG_CERT_ERROR_EXTENSION,
                    _("The certificate lacks the '%s' extension."), "productName");
        return FALSE;
    }
    ext.product = snpg_product_from_string(ext.product_name);
    if (!get_spl(cert, AMD_OID "3.1", "blSPL", TRUE, NULL, &ext.bl_spl, error) ||
        !get_spl(cert, AMD_OID "3.2", "teeSPL", TRUE, NULL, &ext.tee_spl, error) ||
        !get_spl(cert, AMD_OID "3.3", "snpSPL", TRUE, NULL, &ext.snp_spl, error) ||
        !get_spl(cert, AMD_OID "3.4", "spl4", FALSE, NULL, &ext.reserved_spl[0], error) ||
        !get_spl(cert, AMD_OID "3.5", "spl5", FALSE, NULL, &ext.reserved_spl[1], error) ||
        !get_spl(cert, AMD_OID "3.6", "spl6", FALSE, NULL, &ext.reserved_spl[2], error) ||
        !get_spl(cert, AMD_OID "3.7", "spl7", FALSE, NULL, &ext.reserved_spl[3], error) ||
        !get_spl(cert, AMD_OID "3.8", "ucodeSPL", TRUE, NULL, &ext.ucode_spl, error) ||
        !get_spl(cert, AMD_OID "3.9", "fmcSPL", ext.product == SNPG_PRODUCT_TURIN,
                 &ext.has_fmc_spl, &ext.fmc_spl, error))
        return FALSE;

    if (!find_ext(cert, AMD_OID "4", &hwid, error) ||
        !get_ia5_ext(cert, AMD_OID "5", "cspID", &ext.csp_id, error))
        return FALSE;
    if (hwid && ext.csp_id) {
        g_set_error(error, SNPG_CERT_ERROR, SNPG_CERT_ERROR_EXTENSION,
                    _("The certificate holds both a hwID and a cspID extension."));
        return FALSE;
    }
    if (hwid) {
        /* The raw chip id, not a nested OCTET STRING: Turin's is the first 8
         * bytes of CHIP_ID, the others all 64. */
        gsize want = ext.product == SNPG_PRODUCT_TURIN ? 8 : 64;
        if ((gsize)ASN1_STRING_length(hwid) != want) {
            g_set_error(error, SNPG_CERT_ERROR, SNPG_CERT_ERROR_EXTENSION,
                        _("The certificate's hwID extension is %d bytes, not %" G_GSIZE_FORMAT "."),
                        ASN1_STRING_length(hwid), want);
            return FALSE;
        }
        memcpy(ext.hwid, ASN1_STRING_get0_data(hwid), want);
        ext.hwid_len = want;
        ext.kind = SNPG_CERT_KIND_VCEK;
    } else if (ext.csp_id) {
        ext.kind = SNPG_CERT_KIND_VLEK;
    } else {
        g_set_error(error, SNPG_CERT_ERROR, SNPG_CERT_ERROR_EXTENSION,
                    _("The certificate has neither a hwID (VCEK) nor a cspID (VLEK) extension."));
        return FALSE;
    }
    /* The subject names the key; it must agree with the extensions. */
    cn = snpg_cert_subject_cn(cert);
    if (!cn || !g_str_equal(cn, ext.kind == SNPG_CERT_KIND_VCEK ? "SEV-VCEK" : "SEV-VLEK")) {
        g_set_error(error, SNPG_CERT_ERROR, SNPG_CERT_ERROR_EXTENSION,
                    _("The certificate's subject '%s' does not match its %s extensions."),
                    cn ? cn : "", snpg_cert_kind_to_string(ext.kind));
        return FALSE;
    }
    *ret = ext;
    memset(&ext, 0, sizeof(ext));   /* ownership moved to *ret */
    return TRUE;
}

gboolean
snpg_cert_ext_parse_der(const guint8 *der, gsize len, SnpgCertExt *ret, GError **error)
{
    g_autoptr(X509) cert = NULL;
    const unsigned char *p = der;

    if (len > G_MAXINT32 || !(cert = d2i_X509(NULL, &p, (long)len)) || p != der + len) {
        g_set_error(error, SNPG_CERT_ERROR, SNPG_CERT_ERROR_PARSE,
                    _("The data is not one DER-encoded X.509 certificate."));
        return FALSE;
    }
    return snpg_cert_ext_parse(cert, ret, error);
}

guint64
snpg_cert_ext_tcb(const SnpgCertExt *ext)
{
    guint8 b[8] = { 0 };
    guint64 raw = 0;

    /* The reserved SPLs sit in the layout's reserved bytes (Milan/Genoa
     * .3.4-.3.7 at bytes 2-5; Turin .3.5-.3.7 at bytes 4-6). */
    if (ext->product == SNPG_PRODUCT_TURIN) {
        b[0] = ext->fmc_spl;
        b[1] = ext->bl_spl;
        b[2] = ext->tee_spl;
        b[3] = ext->snp_spl;
        b[4] = ext->reserved_spl[1];
        b[5] = ext->reserved_spl[2];
        b[6] = ext->reserved_spl[3];
    } else {
        b[0] = ext->bl_spl;
        b[1] = ext->tee_spl;
        memcpy(b + 2, ext->reserved_spl, 4);
        b[6] = ext->snp_spl;
    }
    b[7] = ext->ucode_spl;
    for (int i = 0; i < 8; i++)
        raw |= (guint64)b[i] << (8 * i);
    return raw;
}
