/* Attestation report verification: chain, signature, binding, reference values. */
#include "config.h"

#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>

#include "autocleanups.h"
#include "hex.h"
#include "i18n.h"
#include "verify.h"

G_DEFINE_QUARK(snpg-verify-error-quark, snpg_verify_error)

/* Leaf entries kept per verifier; a fleet verifier sees one per chip. When
 * full, the cache is emptied (simple, and bounded). */
#define CACHE_MAX 1024

static const char *const reason_names[SNPG_VERIFY_REASON_LAST] = {
    [SNPG_VERIFY_REASON_MALFORMED] = "malformed",
    [SNPG_VERIFY_REASON_SIGNATURE] = "signature",
    [SNPG_VERIFY_REASON_CHAIN] = "chain",
    [SNPG_VERIFY_REASON_ROOT_UNTRUSTED] = "root-untrusted",
    [SNPG_VERIFY_REASON_CERT_EXPIRED] = "cert-expired",
    [SNPG_VERIFY_REASON_CERT_NOT_YET_VALID] = "cert-not-yet-valid",
    [SNPG_VERIFY_REASON_CERT_REVOKED] = "cert-revoked",
    [SNPG_VERIFY_REASON_CRL] = "crl",
    [SNPG_VERIFY_REASON_CERT_MISSING] = "cert-missing",
    [SNPG_VERIFY_REASON_CERT_INVALID] = "cert-invalid",
    [SNPG_VERIFY_REASON_PRODUCT] = "product",
    [SNPG_VERIFY_REASON_SIGNING_KEY] = "signing-key",
    [SNPG_VERIFY_REASON_CERT_CHIP_ID] = "cert-chip-id",
    [SNPG_VERIFY_REASON_TCB_MISMATCH] = "tcb-mismatch",
    [SNPG_VERIFY_REASON_MEASUREMENT] = "measurement",
    [SNPG_VERIFY_REASON_REPORT_DATA] = "report-data",
    [SNPG_VERIFY_REASON_HOST_DATA] = "host-data",
    [SNPG_VERIFY_REASON_FAMILY_ID] = "family-id",
    [SNPG_VERIFY_REASON_IMAGE_ID] = "image-id",
    [SNPG_VERIFY_REASON_ID_KEY_DIGEST] = "id-key-digest",
    [SNPG_VERIFY_REASON_AUTHOR_KEY_DIGEST] = "author-key-digest",
    [SNPG_VERIFY_REASON_CHIP_ID] = "chip-id",
    [SNPG_VERIFY_REASON_VMPL] = "vmpl",
    [SNPG_VERIFY_REASON_GUEST_SVN] = "guest-svn",
    [SNPG_VERIFY_REASON_MIN_TCB_REPORTED] = "min-tcb-reported",
    [SNPG_VERIFY_REASON_MIN_TCB_COMMITTED] = "min-tcb-committed",
    [SNPG_VERIFY_REASON_MIN_TCB_LAUNCH] = "min-tcb-launch",
    [SNPG_VERIFY_REASON_MIN_TCB_CURRENT] = "min-tcb-current",
    [SNPG_VERIFY_REASON_DEBUG] = "debug",
    [SNPG_VERIFY_REASON_POLICY_MAX] = "policy-max",
    [SNPG_VERIFY_REASON_POLICY_INVALID] = "policy-invalid",
    [SNPG_VERIFY_REASON_ABI_MIN] = "abi-min",
    [SNPG_VERIFY_REASON_PLATFORM_INFO] = "platform-info",
};

const char *
snpg_verify_reason_to_string(SnpgVerifyReason reason)
{
    if ((guint)reason >= SNPG_VERIFY_REASON_LAST)
        return "unknown";
    return reason_names[reason];
}

int
snpg_verify_reason_from_string(const char *name)
{
    for (int i = 0; i < SNPG_VERIFY_REASON_LAST; i++)
        if (name && g_str_equal(name, reason_names[i]))
            return i;
    return -1;
}

/* ---- failures ------------------------------------------------------------ */

static void
failure_free(gpointer p)
{
    SnpgVerifyFailure *f = p;
    g_free(f->detail);
    g_free(f);
}

static void G_GNUC_PRINTF(3, 4)
fail(GPtrArray *failures, SnpgVerifyReason reason, const char *fmt, ...)
{
    SnpgVerifyFailure *f = g_new0(SnpgVerifyFailure, 1);
    va_list ap;

    va_start(ap, fmt);
    f->reason = reason;
    f->detail = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_ptr_array_add(failures, f);
}

static void
fail_error(GPtrArray *failures, SnpgVerifyReason reason, const GError *error)
{
    fail(failures, reason, "%s", error->message);
}

gboolean
snpg_verify_result_accepted(const SnpgVerifyResult *result)
{
    return result->failures->len == 0;
}

gboolean
snpg_verify_result_has(const SnpgVerifyResult *result, SnpgVerifyReason reason)
{
    for (guint i = 0; i < result->failures->len; i++)
        if (((SnpgVerifyFailure *)g_ptr_array_index(result->failures, i))->reason == reason)
            return TRUE;
    return FALSE;
}

void
snpg_verify_result_insert(SnpgVerifyResult *result, guint index, SnpgVerifyReason reason,
                          const char *detail)
{
    SnpgVerifyFailure *f = g_new0(SnpgVerifyFailure, 1);

    f->reason = reason;
    f->detail = g_strdup(detail);
    g_ptr_array_insert(result->failures, (gint)MIN(index, result->failures->len), f);
}

void
snpg_verify_result_free(SnpgVerifyResult *result)
{
    if (!result)
        return;
    g_ptr_array_unref(result->failures);
    snpg_report_free(result->report);
    g_free(result);
}

/* ---- options ------------------------------------------------------------- */

void
snpg_tcb_min_init(SnpgTcbMin *min)
{
    min->fmc = min->bl = min->tee = min->snp = min->ucode = -1;
}

gboolean
snpg_tcb_min_is_set(const SnpgTcbMin *min)
{
    return min->fmc >= 0 || min->bl >= 0 || min->tee >= 0 || min->snp >= 0 || min->ucode >= 0;
}

gboolean
snpg_tcb_min_parse(const char *text, SnpgTcbMin *min, GError **error)
{
    g_auto(GStrv) parts = g_strsplit(text, ",", -1);
    SnpgTcbMin out = *min;
    SnpgTcbMin given;

    /* Empty text or an empty item would mean "no minimum": refused, as is a
     * component named twice (which one was meant?). */
    snpg_tcb_min_init(&given);
    if (!parts[0])
        goto bad;
    for (gsize i = 0; parts[i]; i++) {
        g_auto(GStrv) kv = g_strsplit(g_strstrip(parts[i]), "=", 2);
        guint64 v = 0;
        gint *slot = NULL;
        gint *seen = NULL;

        if (!kv[0] || !kv[1])
            goto bad;
        if (g_str_equal(kv[0], "fmc"))
            slot = &out.fmc, seen = &given.fmc;
        else if (g_str_equal(kv[0], "bl"))
            slot = &out.bl, seen = &given.bl;
        else if (g_str_equal(kv[0], "tee"))
            slot = &out.tee, seen = &given.tee;
        else if (g_str_equal(kv[0], "snp"))
            slot = &out.snp, seen = &given.snp;
        else if (g_str_equal(kv[0], "ucode") || g_str_equal(kv[0], "microcode"))
            slot = &out.ucode, seen = &given.ucode;
        if (!slot || *seen >= 0 || !g_ascii_string_to_unsigned(g_strstrip(kv[1]), 10, 0, 255, &v, NULL))
            goto bad;
        *slot = *seen = (gint)v;
    }
    *min = out;
    return TRUE;

bad:
    g_set_error(error, SNPG_VERIFY_ERROR, SNPG_VERIFY_ERROR_INVALID,
                _("The minimum TCB '%s' is not a list of fmc=N, bl=N, tee=N, snp=N, ucode=N with N from 0 to 255."),
                text);
    return FALSE;
}

void
snpg_verify_options_init(SnpgVerifyOptions *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->measurements = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    opts->chip_ids = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    opts->vmpl = -1;
    opts->min_guest_svn = -1;
    snpg_tcb_min_init(&opts->min_tcb);
    opts->min_abi_major = opts->min_abi_minor = -1;
    opts->min_policy_abi_major = opts->min_policy_abi_minor = -1;
}

static GPtrArray *
bytes_list_copy(GPtrArray *from)
{
    GPtrArray *to = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);

    for (guint i = 0; from && i < from->len; i++)
        g_ptr_array_add(to, g_bytes_ref(g_ptr_array_index(from, i)));
    return to;
}

static GBytes *
bytes_ref0(GBytes *b)
{
    return b ? g_bytes_ref(b) : NULL;
}

void
snpg_verify_options_copy(SnpgVerifyOptions *to, const SnpgVerifyOptions *from)
{
    *to = *from;
    to->measurements = bytes_list_copy(from->measurements);
    to->chip_ids = bytes_list_copy(from->chip_ids);
    to->report_data = bytes_ref0(from->report_data);
    to->host_data = bytes_ref0(from->host_data);
    to->family_id = bytes_ref0(from->family_id);
    to->image_id = bytes_ref0(from->image_id);
    to->id_key_digest = bytes_ref0(from->id_key_digest);
    to->author_key_digest = bytes_ref0(from->author_key_digest);
}

void
snpg_verify_options_clear(SnpgVerifyOptions *opts)
{
    g_clear_pointer(&opts->measurements, g_ptr_array_unref);
    g_clear_pointer(&opts->chip_ids, g_ptr_array_unref);
    g_clear_pointer(&opts->report_data, g_bytes_unref);
    g_clear_pointer(&opts->host_data, g_bytes_unref);
    g_clear_pointer(&opts->family_id, g_bytes_unref);
    g_clear_pointer(&opts->image_id, g_bytes_unref);
    g_clear_pointer(&opts->id_key_digest, g_bytes_unref);
    g_clear_pointer(&opts->author_key_digest, g_bytes_unref);
}

GBytes *
snpg_verify_parse_hex(const char *name, const char *text, gsize want_len, GError **error)
{
    g_autofree char *compact = g_strdup(text);
    g_autofree guint8 *out = g_malloc(want_len);
    gsize n = 0;

    /* Reference values may be written with ':' or blank separators. */
    for (const char *p = text; *p; p++)
        if (!g_ascii_isspace(*p) && *p != ':')
            compact[n++] = *p;
    compact[n] = '\0';
    if (!snpg_hex_decode(name, compact, out, want_len, error))
        return NULL;
    return g_bytes_new_take(g_steal_pointer(&out), want_len);
}

gboolean
snpg_verify_parse_time(const char *text, gint64 *ret, GError **error)
{
    g_autoptr(GTimeZone) utc = g_time_zone_new_utc();
    g_autoptr(GDateTime) dt = g_date_time_new_from_iso8601(text, utc);

    if (!dt) {
        g_set_error(error, SNPG_VERIFY_ERROR, SNPG_VERIFY_ERROR_INVALID,
                    _("The time '%s' is not of the form YYYY-MM-DDTHH:MM:SSZ."), text);
        return FALSE;
    }
    *ret = g_date_time_to_unix(dt);
    return TRUE;
}

/* Parses "MAJOR.MINOR". */
gboolean
snpg_verify_parse_abi(const char *text, gint *major, gint *minor)
{
    g_auto(GStrv) parts = g_strsplit(text, ".", 3);
    guint64 a = 0, b = 0;

    if (!parts[0] || !parts[1] || parts[2] ||
        !g_ascii_string_to_unsigned(parts[0], 10, 0, 255, &a, NULL) ||
        !g_ascii_string_to_unsigned(parts[1], 10, 0, 255, &b, NULL))
        return FALSE;
    *major = (gint)a;
    *minor = (gint)b;
    return TRUE;
}

/* ---- the verifier and its leaf cache ------------------------------------ */

/* The time-independent verdict on one leaf certificate and its chain. */
typedef struct {
    X509 *leaf;
    EVP_PKEY *pkey;             /* the leaf's P-384 key, when usable */
    SnpgCertExt ext;
    gboolean ext_ok;
    SnpgProduct product;
    GPtrArray *failures;        /* chain failures (SnpgVerifyFailure) */
    X509 *chain[3];             /* leaf, intermediate, root: for the time checks */
} LeafEntry;

struct _SnpgVerifier {
    X509 *trust_root;
    X509 *supplied[SNPG_AMD_CERT_LAST];
    GBytes *supplied_der[SNPG_AMD_CERT_LAST];   /* as given to set_supplied_der */
    X509_CRL *crl;
    GHashTable *cache;          /* GBytes (sha256 || product hint) → LeafEntry */
    EVP_MD *sha384;             /* process-wide, see sha384_md() */
    EVP_MD_CTX *mdctx;
};

static void
leaf_entry_free(gpointer p)
{
    LeafEntry *e = p;

    X509_free(e->leaf);
    EVP_PKEY_free(e->pkey);
    snpg_cert_ext_clear(&e->ext);
    g_ptr_array_unref(e->failures);
    for (int i = 0; i < 3; i++)
        X509_free(e->chain[i]);
    g_free(e);
}

/* Fetching an algorithm costs a provider lookup: do it once per process. */
static EVP_MD *
sha384_md(void)
{
    static gsize once;
    static EVP_MD *md;

    if (g_once_init_enter(&once)) {
        md = EVP_MD_fetch(NULL, "SHA384", NULL);
        g_once_init_leave(&once, 1);
    }
    return md;
}

SnpgVerifier *
snpg_verifier_new(void)
{
    SnpgVerifier *v = g_new0(SnpgVerifier, 1);

    v->cache = g_hash_table_new_full(g_bytes_hash, g_bytes_equal,
                                     (GDestroyNotify)g_bytes_unref, leaf_entry_free);
    v->sha384 = sha384_md();
    v->mdctx = EVP_MD_CTX_new();
    /* Both exist in any OpenSSL 3 default provider; absence is a broken install. */
    g_assert(v->sha384 && v->mdctx);
    return v;
}

void
snpg_verifier_free(SnpgVerifier *v)
{
    if (!v)
        return;
    X509_free(v->trust_root);
    for (int i = 0; i < SNPG_AMD_CERT_LAST; i++) {
        X509_free(v->supplied[i]);
        if (v->supplied_der[i])
            g_bytes_unref(v->supplied_der[i]);
    }
    X509_CRL_free(v->crl);
    g_hash_table_unref(v->cache);
    EVP_MD_CTX_free(v->mdctx);
    g_free(v);
}

static X509 *
x509_ref(X509 *cert)
{
    if (cert)
        X509_up_ref(cert);
    return cert;
}

/* The cached verdicts depend on the configuration: changing it drops them. */
void
snpg_verifier_set_trust_root(SnpgVerifier *v, X509 *root)
{
    if (root == v->trust_root || (root && v->trust_root && X509_cmp(root, v->trust_root) == 0))
        return;
    X509_free(v->trust_root);
    v->trust_root = x509_ref(root);
    g_hash_table_remove_all(v->cache);
}

void
snpg_verifier_set_supplied(SnpgVerifier *v, SnpgAmdCertKind kind, X509 *cert)
{
    g_return_if_fail((guint)kind < SNPG_AMD_CERT_LAST);
    /* The same certificate again (each session of a guest offers its ASK):
     * the cached verdicts still hold. */
    if (cert == v->supplied[kind] ||
        (cert && v->supplied[kind] && X509_cmp(v->supplied[kind], cert) == 0))
        return;
    X509_free(v->supplied[kind]);
    v->supplied[kind] = x509_ref(cert);
    g_clear_pointer(&v->supplied_der[kind], g_bytes_unref);
    g_hash_table_remove_all(v->cache);
}

gboolean
snpg_verifier_set_supplied_der(SnpgVerifier *v, SnpgAmdCertKind kind, GBytes *der, GError **error)
{
    g_autoptr(X509) cert = NULL;

    g_return_val_if_fail((guint)kind < SNPG_AMD_CERT_LAST, FALSE);
    /* Parsing an RSA-4096 certificate costs more than comparing bytes. */
    if (v->supplied_der[kind] && g_bytes_equal(v->supplied_der[kind], der))
        return TRUE;
    if (!(cert = snpg_cert_load(g_bytes_get_data(der, NULL), g_bytes_get_size(der), error)))
        return FALSE;
    snpg_verifier_set_supplied(v, kind, cert);
    /* The same certificate in another encoding keeps the cached verdicts
     * (set_supplied returns early): the old bytes must still be dropped. */
    g_clear_pointer(&v->supplied_der[kind], g_bytes_unref);
    v->supplied_der[kind] = g_bytes_ref(der);
    return TRUE;
}

void
snpg_verifier_set_crl(SnpgVerifier *v, X509_CRL *crl)
{
    if (crl == v->crl)
        return;
    X509_CRL_free(v->crl);
    v->crl = crl;
    if (crl)
        X509_CRL_up_ref(crl);
    g_hash_table_remove_all(v->cache);
}

static gboolean
same_der(X509 *a, X509 *b)
{
    return a && b && X509_cmp(a, b) == 0;
}

/* Is a supplied intermediate (ASK or ASVK) one of the product's pinned ones? */
static gboolean
pinned_intermediate(X509 *cert, SnpgProduct product)
{
    return snpg_amd_cert_is_pinned(cert, product, SNPG_AMD_CERT_ASK) ||
           snpg_amd_cert_is_pinned(cert, product, SNPG_AMD_CERT_ASVK);
}

static gboolean
leaf_key_usable(EVP_PKEY *key)
{
    char group[32] = "";
    size_t n = 0;

    return key && EVP_PKEY_get_base_id(key) == EVP_PKEY_EC &&
           EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof(group), &n) == 1 &&
           g_str_equal(group, "secp384r1");
}

/* A fallback for leaves whose extensions are unusable: AMD's issuers are
 * "SEV-<Product>" and "SEV-VLEK-<Product>". Only picks which pinned chain
 * to check the leaf against; it grants no trust. */
static SnpgProduct
product_from_issuer(X509 *leaf)
{
    char buf[64];
    const char *p = buf;
    int n = X509_NAME_get_text_by_NID(X509_get_issuer_name(leaf), NID_commonName, buf, sizeof(buf));

    if (n <= 0 || !g_str_has_prefix(p, "SEV-"))
        return SNPG_PRODUCT_UNKNOWN;
    p += 4;
    if (g_str_has_prefix(p, "VLEK-"))
        p += 5;
    return snpg_product_from_string(p);
}

/* The pinned ARK's self-signature and its signature on the pinned ASK/ASVK
 * are constants of the build: check them once per process and reuse the
 * verdict (the ARK stays one RSA-4096 key, so a failure is also constant).
 * Supplied certificates, trust roots and leaves are verified every time. */
typedef struct {
    gsize once;
    char *self_error;           /* NULL: the signature verified */
    char *inter_error;
} PinnedVerdict;

static PinnedVerdict pinned_verdicts[SNPG_PRODUCT_LAST][SNPG_AMD_CERT_LAST];

static const PinnedVerdict *
pinned_verdict(SnpgProduct product, SnpgAmdCertKind inter_kind, X509 *ark, X509 *inter)
{
    PinnedVerdict *pv;

    g_return_val_if_fail((guint)product < SNPG_PRODUCT_LAST &&
                         (guint)inter_kind < SNPG_AMD_CERT_LAST, NULL);
    pv = &pinned_verdicts[product][inter_kind];
    if (g_once_init_enter(&pv->once)) {
        g_autoptr(GError) error = NULL;

        if (!snpg_cert_verify_issued_by(ark, ark, &error))
            pv->self_error = g_strdup(error->message);
        g_clear_error(&error);
        if (!snpg_cert_verify_issued_by(inter, ark, &error))
            pv->inter_error = g_strdup(error->message);
        g_once_init_leave(&pv->once, 1);
    }
    return pv;
}

/* Builds and checks the chain for one leaf; everything here is independent
 * of the report and of the time, so the result is cached. */
static LeafEntry *
eval_leaf(SnpgVerifier *v, const guint8 *leaf_data, gsize leaf_len, SnpgProduct hint)
{
    LeafEntry *e = g_new0(LeafEntry, 1);
    g_autoptr(GError) error = NULL;
    g_autoptr(X509) ark = NULL;
    g_autoptr(X509) inter = NULL;
    X509 *root = NULL;
    X509 *supplied_inter;
    SnpgAmdCertKind inter_kind;
    gboolean custom = FALSE;

    e->failures = g_ptr_array_new_with_free_func(failure_free);
    e->leaf = snpg_cert_load(leaf_data, leaf_len, &error);
    if (!e->leaf) {
        fail(e->failures, SNPG_VERIFY_REASON_CERT_INVALID,
             _("The VCEK/VLEK certificate cannot be parsed: %s"), error->message);
        return e;
    }
    if (leaf_key_usable(X509_get0_pubkey(e->leaf)))
        e->pkey = X509_get_pubkey(e->leaf);
    else
        fail(e->failures, SNPG_VERIFY_REASON_CERT_INVALID,
             _("The VCEK/VLEK certificate's key is not an ECDSA P-384 key."));

    e->ext_ok = snpg_cert_ext_parse(e->leaf, &e->ext, &error);
    if (!e->ext_ok) {
        fail(e->failures, SNPG_VERIFY_REASON_CERT_INVALID,
             _("The VCEK/VLEK certificate's AMD extensions are unusable: %s"), error->message);
        g_clear_error(&error);
    }
    e->product = e->ext_ok && e->ext.product != SNPG_PRODUCT_UNKNOWN ? e->ext.product : hint;
    if (e->product == SNPG_PRODUCT_UNKNOWN)
        e->product = product_from_issuer(e->leaf);
    if (e->product == SNPG_PRODUCT_UNKNOWN) {
        fail(e->failures, SNPG_VERIFY_REASON_PRODUCT,
             _("The product cannot be determined, so no AMD root applies."));
        return e;
    }

    /* VLEKs chain through the ASVK, VCEKs through the ASK. */
    inter_kind = e->ext_ok && e->ext.kind == SNPG_CERT_KIND_VLEK ? SNPG_AMD_CERT_ASVK
                                                                : SNPG_AMD_CERT_ASK;
    supplied_inter = v->supplied[SNPG_AMD_CERT_ASVK] && inter_kind == SNPG_AMD_CERT_ASVK
                         ? v->supplied[SNPG_AMD_CERT_ASVK] : v->supplied[SNPG_AMD_CERT_ASK];

    /* Supplied certificates are evidence, not trust: each must be AMD's
     * pinned one of this product, or lead to the explicit trust root. */
    for (int k = SNPG_AMD_CERT_ASK; k <= SNPG_AMD_CERT_ASVK; k++) {
        X509 *s = v->supplied[k];
        if (!s || pinned_intermediate(s, e->product))
            continue;
        if (v->trust_root && s == supplied_inter) {
            custom = TRUE;
            continue;
        }
        fail(e->failures, SNPG_VERIFY_REASON_ROOT_UNTRUSTED,
             _("The supplied %s is not AMD's pinned %s certificate for '%s'%s."),
             snpg_amd_cert_kind_to_string(k), "ASK/ASVK", snpg_product_to_string(e->product),
             v->trust_root ? _(" and is not the intermediate for the trusted root") : "");
    }
    if (v->supplied[SNPG_AMD_CERT_ARK] &&
        !snpg_amd_cert_is_pinned(v->supplied[SNPG_AMD_CERT_ARK], e->product, SNPG_AMD_CERT_ARK) &&
        !same_der(v->supplied[SNPG_AMD_CERT_ARK], v->trust_root))
        fail(e->failures, SNPG_VERIFY_REASON_ROOT_UNTRUSTED,
             _("The supplied ARK is neither AMD's pinned ARK for '%s' nor the trusted root."),
             snpg_product_to_string(e->product));

    if (custom) {
        root = v->trust_root;
        inter = x509_ref(supplied_inter);
    } else {
        ark = snpg_amd_cert_ref(e->product, SNPG_AMD_CERT_ARK);
        inter = snpg_amd_cert_ref(e->product, inter_kind);
        g_assert(ark && inter);     /* built in and tested */
        root = ark;
    }

    /* The three signatures: root self-signature, root → intermediate,
     * intermediate → leaf (each RSASSA-PSS SHA-384, salt 48). The first two
     * are memoized for AMD's pinned certificates only. */
    if (custom) {
        if (!snpg_cert_verify_issued_by(root, root, &error)) {
            fail(e->failures, SNPG_VERIFY_REASON_CHAIN,
                 _("The root is not validly self-signed: %s"), error->message);
            g_clear_error(&error);
        }
        if (!snpg_cert_verify_issued_by(inter, root, &error)) {
            fail(e->failures, SNPG_VERIFY_REASON_CHAIN, _("The %s is not signed by the root: %s"),
                 snpg_amd_cert_kind_to_string(inter_kind), error->message);
            g_clear_error(&error);
        }
    } else {
        const PinnedVerdict *pv = pinned_verdict(e->product, inter_kind, root, inter);

        if (pv->self_error)
            fail(e->failures, SNPG_VERIFY_REASON_CHAIN,
                 _("The root is not validly self-signed: %s"), pv->self_error);
        if (pv->inter_error)
            fail(e->failures, SNPG_VERIFY_REASON_CHAIN, _("The %s is not signed by the root: %s"),
                 snpg_amd_cert_kind_to_string(inter_kind), pv->inter_error);
    }
    if (!snpg_cert_verify_issued_by(e->leaf, inter, &error)) {
        fail(e->failures, SNPG_VERIFY_REASON_CHAIN, _("The %s is not signed by the %s: %s"),
             e->ext_ok ? snpg_cert_kind_to_string(e->ext.kind) : "VCEK/VLEK",
             snpg_amd_cert_kind_to_string(inter_kind), error->message);
        g_clear_error(&error);
    }

    if (v->crl) {
        if (!snpg_crl_verify_issued_by(v->crl, root, &error)) {
            fail_error(e->failures, SNPG_VERIFY_REASON_CRL, error);
            g_clear_error(&error);
        } else {
            if (snpg_crl_is_revoked(v->crl, inter))
                fail(e->failures, SNPG_VERIFY_REASON_CERT_REVOKED,
                     _("The %s is revoked by the CRL."), snpg_amd_cert_kind_to_string(inter_kind));
            if (snpg_crl_is_revoked(v->crl, e->leaf))
                fail(e->failures, SNPG_VERIFY_REASON_CERT_REVOKED,
                     _("The VCEK/VLEK is revoked by the CRL."));
        }
    }
    e->chain[0] = x509_ref(e->leaf);
    e->chain[1] = x509_ref(inter);
    e->chain[2] = x509_ref(root);
    ERR_clear_error();
    return e;
}

static LeafEntry *
lookup_leaf(SnpgVerifier *v, const guint8 *leaf, gsize leaf_len, SnpgProduct hint)
{
    guint8 key[33];
    unsigned int n = 0;
    g_autoptr(GBytes) kb = NULL;
    LeafEntry *e;

    /* The hint only matters when the certificate names no product. */
    key[32] = (guint8)hint;
    if (EVP_Digest(leaf, leaf_len, key, &n, EVP_sha256(), NULL) == 1 && n == 32) {
        kb = g_bytes_new(key, sizeof(key));
    } else {
        /* Cannot happen with a working libcrypto; key by the bytes then. */
        g_autoptr(GByteArray) all = g_byte_array_sized_new((guint)leaf_len + 1);
        g_byte_array_append(all, leaf, (guint)leaf_len);
        g_byte_array_append(all, &key[32], 1);
        kb = g_byte_array_free_to_bytes(g_steal_pointer(&all));
    }
    e = g_hash_table_lookup(v->cache, kb);
    if (e)
        return e;
    if (g_hash_table_size(v->cache) >= CACHE_MAX)
        g_hash_table_remove_all(v->cache);
    e = eval_leaf(v, leaf, leaf_len, hint);
    g_hash_table_insert(v->cache, g_steal_pointer(&kb), e);
    return e;
}

/* ---- per-report checks --------------------------------------------------- */

static void
copy_failures(GPtrArray *to, GPtrArray *from)
{
    for (guint i = 0; i < from->len; i++) {
        SnpgVerifyFailure *f = g_ptr_array_index(from, i);
        fail(to, f->reason, "%s", f->detail);
    }
}

static gboolean
bytes_equal(GBytes *want, const guint8 *have, gsize have_len)
{
    gsize n = 0;
    const guint8 *w = g_bytes_get_data(want, &n);
    return n == have_len && CRYPTO_memcmp(w, have, n) == 0;
}

static void
check_field(GPtrArray *failures, SnpgVerifyReason reason, const char *name, GBytes *want,
            const guint8 *have, gsize have_len)
{
    if (!want || bytes_equal(want, have, have_len))
        return;
    g_autofree char *h = snpg_hex_encode(have, have_len);
    g_autofree char *w = snpg_hex_encode(g_bytes_get_data(want, NULL), g_bytes_get_size(want));
    fail(failures, reason, _("The report's %s '%s' is not the expected '%s'."), name, h, w);
}

static gboolean
verify_signature(SnpgVerifier *v, EVP_PKEY *key, const SnpgReport *r, GError **error)
{
    g_autofree guint8 *der = NULL;
    gsize der_len = 0;
    int ok;

    if (!snpg_report_signature_der(r, &der, &der_len, error))
        return FALSE;
    EVP_MD_CTX_reset(v->mdctx);
    ok = EVP_DigestVerifyInit(v->mdctx, NULL, v->sha384, NULL, key) == 1 &&
         EVP_DigestVerify(v->mdctx, der, der_len, r->raw, SNPG_REPORT_SIGNED_SIZE) == 1;
    ERR_clear_error();
    if (!ok) {
        g_set_error(error, SNPG_VERIFY_ERROR, SNPG_VERIFY_ERROR_INVALID,
                    _("The report's ECDSA P-384 signature does not verify under the VCEK/VLEK."));
        return FALSE;
    }
    return TRUE;
}

static void
check_min_tcb(GPtrArray *failures, SnpgVerifyReason reason, const char *which, guint64 raw,
              SnpgProduct product, const SnpgTcbMin *min)
{
    SnpgTcb t;
    g_autoptr(GString) low = g_string_new(NULL);

    snpg_tcb_decode(raw, product, &t);
#define LOW(field)                                                                      \
    if (min->field >= 0 && t.field < min->field)                                        \
        g_string_append_printf(low, "%s%s=%u<%d", low->len ? ", " : "", #field, t.field, min->field);
    if (product == SNPG_PRODUCT_TURIN)
        LOW(fmc);
    LOW(bl);
    LOW(tee);
    LOW(snp);
    LOW(ucode);
#undef LOW
    if (low->len)
        fail(failures, reason, _("The %s TCB is below the minimum: %s."), which, low->str);
}

static void
check_tcb_reserved(GPtrArray *failures, const char *which, guint64 raw, SnpgProduct product)
{
    SnpgTcb t;

    snpg_tcb_decode(raw, product, &t);
    if (t.reserved_nonzero)
        fail(failures, SNPG_VERIFY_REASON_MALFORMED,
             _("The reserved bytes of the %s TCB (0x%016" G_GINT64_MODIFIER "x) are not zero for '%s'."),
             which, raw, snpg_product_to_string(product));
}

static void
check_binding(GPtrArray *failures, const SnpgReport *r, LeafEntry *e, SnpgProduct product,
              const SnpgVerifyOptions *opts)
{
    /* Product: the report's CPUID, the certificate and the caller agree. */
    if (r->has_cpuid && r->product == SNPG_PRODUCT_UNKNOWN)
        fail(failures, SNPG_VERIFY_REASON_PRODUCT,
             _("The report's CPUID family 0x%02x model 0x%02x is not a known SEV-SNP product."),
             r->cpuid_fam_id, r->cpuid_mod_id);
    if (r->product != SNPG_PRODUCT_UNKNOWN && e && e->ext_ok &&
        e->ext.product != SNPG_PRODUCT_UNKNOWN && r->product != e->ext.product)
        fail(failures, SNPG_VERIFY_REASON_PRODUCT,
             _("The report comes from a '%s' but the certificate is for '%s'."),
             snpg_product_to_string(r->product), snpg_product_to_string(e->ext.product));
    if (opts->product != SNPG_PRODUCT_UNKNOWN && product != opts->product)
        fail(failures, SNPG_VERIFY_REASON_PRODUCT, _("The product is '%s', not the expected '%s'."),
             snpg_product_to_string(product), snpg_product_to_string(opts->product));

    if (r->signing_key == SNPG_SIGNING_KEY_NONE)
        fail(failures, SNPG_VERIFY_REASON_SIGNING_KEY, _("The report says it is not signed."));
    if (!e || !e->ext_ok)
        return;
    if ((r->signing_key == SNPG_SIGNING_KEY_VCEK && e->ext.kind != SNPG_CERT_KIND_VCEK) ||
        (r->signing_key == SNPG_SIGNING_KEY_VLEK && e->ext.kind != SNPG_CERT_KIND_VLEK))
        fail(failures, SNPG_VERIFY_REASON_SIGNING_KEY,
             _("The report is signed by a %s but the certificate is a %s."),
             snpg_signing_key_to_string(r->signing_key), snpg_cert_kind_to_string(e->ext.kind));

    if (e->ext.kind == SNPG_CERT_KIND_VCEK &&
        CRYPTO_memcmp(r->chip_id, e->ext.hwid, e->ext.hwid_len) != 0) {
        g_autofree char *have = snpg_hex_encode(r->chip_id, e->ext.hwid_len);
        g_autofree char *want = snpg_hex_encode(e->ext.hwid, e->ext.hwid_len);
        fail(failures, SNPG_VERIFY_REASON_CERT_CHIP_ID,
             _("The report's CHIP_ID '%s' is not the VCEK's hwID '%s'."), have, want);
    }
    if (r->reported_tcb != snpg_cert_ext_tcb(&e->ext)) {
        SnpgTcb a, b;
        snpg_tcb_decode(r->reported_tcb, product, &a);
        snpg_tcb_decode(snpg_cert_ext_tcb(&e->ext), product, &b);
        g_autofree char *as = snpg_tcb_to_string(&a, product);
        g_autofree char *bs = snpg_tcb_to_string(&b, product);
        fail(failures, SNPG_VERIFY_REASON_TCB_MISMATCH,
             _("The report's REPORTED_TCB '%s' is not the certificate's TCB '%s'."), as, bs);
    }
}

static void
check_reference(GPtrArray *failures, const SnpgReport *r, SnpgProduct product,
                const SnpgVerifyOptions *o)
{
    SnpgPolicy pol;

    if (o->measurements && o->measurements->len) {
        gboolean found = FALSE;
        for (guint i = 0; i < o->measurements->len && !found; i++)
            found = bytes_equal(g_ptr_array_index(o->measurements, i), r->measurement,
                                sizeof(r->measurement));
        if (!found) {
            g_autofree char *h = snpg_hex_encode(r->measurement, sizeof(r->measurement));
            fail(failures, SNPG_VERIFY_REASON_MEASUREMENT,
                 _("The measurement '%s' is not an expected one."), h);
        }
    }
    check_field(failures, SNPG_VERIFY_REASON_REPORT_DATA, "REPORT_DATA", o->report_data,
                r->report_data, sizeof(r->report_data));
    check_field(failures, SNPG_VERIFY_REASON_HOST_DATA, "HOST_DATA", o->host_data,
                r->host_data, sizeof(r->host_data));
    check_field(failures, SNPG_VERIFY_REASON_FAMILY_ID, "FAMILY_ID", o->family_id,
                r->family_id, sizeof(r->family_id));
    check_field(failures, SNPG_VERIFY_REASON_IMAGE_ID, "IMAGE_ID", o->image_id,
                r->image_id, sizeof(r->image_id));
    check_field(failures, SNPG_VERIFY_REASON_ID_KEY_DIGEST, "ID_KEY_DIGEST", o->id_key_digest,
                r->id_key_digest, sizeof(r->id_key_digest));
    check_field(failures, SNPG_VERIFY_REASON_AUTHOR_KEY_DIGEST, "AUTHOR_KEY_DIGEST",
                o->author_key_digest, r->author_key_digest, sizeof(r->author_key_digest));
    if (o->chip_ids && o->chip_ids->len) {
        gboolean found = FALSE;
        for (guint i = 0; i < o->chip_ids->len && !found; i++)
            found = bytes_equal(g_ptr_array_index(o->chip_ids, i), r->chip_id, sizeof(r->chip_id));
        if (!found) {
            g_autofree char *h = snpg_hex_encode(r->chip_id, sizeof(r->chip_id));
            fail(failures, SNPG_VERIFY_REASON_CHIP_ID, _("The chip '%s' is not an allowed one."), h);
        }
    }
    if (o->vmpl >= 0 && r->vmpl != (guint32)o->vmpl)
        fail(failures, SNPG_VERIFY_REASON_VMPL, _("The report is from VMPL %u, not %d."),
             r->vmpl, o->vmpl);
    if (o->min_guest_svn >= 0 && r->guest_svn < o->min_guest_svn)
        fail(failures, SNPG_VERIFY_REASON_GUEST_SVN,
             _("The guest SVN %u is below the minimum %" G_GINT64_FORMAT "."), r->guest_svn,
             o->min_guest_svn);
    if (snpg_tcb_min_is_set(&o->min_tcb)) {
        check_min_tcb(failures, SNPG_VERIFY_REASON_MIN_TCB_REPORTED, _("reported"),
                      r->reported_tcb, product, &o->min_tcb);
        check_min_tcb(failures, SNPG_VERIFY_REASON_MIN_TCB_COMMITTED, _("committed"),
                      r->committed_tcb, product, &o->min_tcb);
        check_min_tcb(failures, SNPG_VERIFY_REASON_MIN_TCB_LAUNCH, _("launch"),
                      r->launch_tcb, product, &o->min_tcb);
        check_min_tcb(failures, SNPG_VERIFY_REASON_MIN_TCB_CURRENT, _("current"),
                      r->current_tcb, product, &o->min_tcb);
    }

    snpg_policy_decode(r->policy, &pol);
    if (pol.debug && !o->allow_debug)
        fail(failures, SNPG_VERIFY_REASON_DEBUG,
             _("The guest policy allows debugging (DEBUG=1): the host can read its memory."));
    if (!pol.reserved_1 || pol.reserved_mbz)
        fail(failures, SNPG_VERIFY_REASON_POLICY_INVALID,
             _("The guest policy 0x%" G_GINT64_MODIFIER "x has invalid reserved bits."), r->policy);
    if (o->has_policy_max) {
        /* Flag bits only: the ABI version (15:0) and must-be-one bit 17 are not flags. */
        guint64 flags = r->policy & ~(G_GUINT64_CONSTANT(0xffff) | SNPG_POLICY_RESERVED_1);
        guint64 extra = flags & ~o->policy_max;
        if (extra) {
            g_auto(GStrv) names = snpg_policy_flag_names(extra);
            g_autofree char *list = g_strjoinv(", ", names);
            fail(failures, SNPG_VERIFY_REASON_POLICY_MAX,
                 _("The guest policy sets bits beyond the allowed 0x%" G_GINT64_MODIFIER "x: %s."),
                 o->policy_max, list);
        }
    }
    if (o->min_abi_major >= 0) {
        int want = o->min_abi_major * 256 + MAX(o->min_abi_minor, 0);
        int cur = r->current_major * 256 + r->current_minor;
        int com = r->committed_major * 256 + r->committed_minor;
        if (cur < want || com < want)
            fail(failures, SNPG_VERIFY_REASON_ABI_MIN,
                 _("The firmware ABI (current %u.%u, committed %u.%u) is below the minimum %d.%d."),
                 r->current_major, r->current_minor, r->committed_major, r->committed_minor,
                 o->min_abi_major, MAX(o->min_abi_minor, 0));
    }
    /* The ABI the guest's policy demands of the firmware: a guest launched
     * with a lower requirement could have run on older firmware. */
    if (o->min_policy_abi_major >= 0) {
        int want = o->min_policy_abi_major * 256 + MAX(o->min_policy_abi_minor, 0);
        if (pol.abi_major * 256 + pol.abi_minor < want)
            fail(failures, SNPG_VERIFY_REASON_ABI_MIN,
                 _("The guest policy requires ABI %u.%u, below the minimum %d.%d."),
                 pol.abi_major, pol.abi_minor, o->min_policy_abi_major,
                 MAX(o->min_policy_abi_minor, 0));
    }
    if (o->has_platform_info_mask && (r->platform_info & ~o->platform_info_mask)) {
        g_auto(GStrv) names = snpg_platform_info_flag_names(r->platform_info & ~o->platform_info_mask);
        g_autofree char *list = g_strjoinv(", ", names);
        fail(failures, SNPG_VERIFY_REASON_PLATFORM_INFO,
             _("The platform has features set that are not allowed: %s."), list);
    }
    if (o->platform_info_required & ~r->platform_info) {
        g_auto(GStrv) names = snpg_platform_info_flag_names(o->platform_info_required & ~r->platform_info);
        g_autofree char *list = g_strjoinv(", ", names);
        fail(failures, SNPG_VERIFY_REASON_PLATFORM_INFO,
             _("The platform lacks required features: %s."), list);
    }
}

SnpgVerifyResult *
snpg_verifier_verify(SnpgVerifier *v, const guint8 *report, gsize report_len,
                     const guint8 *leaf, gsize leaf_len, const SnpgVerifyOptions *opts)
{
    g_autoptr(SnpgVerifyResult) res = g_new0(SnpgVerifyResult, 1);
    g_autoptr(GError) error = NULL;
    LeafEntry *e = NULL;
    SnpgProduct product;
    gint64 now;

    g_return_val_if_fail(v != NULL && opts != NULL, NULL);
    res->failures = g_ptr_array_new_with_free_func(failure_free);

    /* Structure first: nothing else is meaningful on a malformed report. */
    res->report = snpg_report_parse(report, report_len, &error);
    if (!res->report) {
        fail_error(res->failures, SNPG_VERIFY_REASON_MALFORMED, error);
        return g_steal_pointer(&res);
    }

    if (leaf && leaf_len)
        e = lookup_leaf(v, leaf, leaf_len,
                        res->report->product != SNPG_PRODUCT_UNKNOWN ? res->report->product
                                                                     : opts->product);
    else
        fail(res->failures, SNPG_VERIFY_REASON_CERT_MISSING,
             _("No VCEK or VLEK certificate was given or found."));

    product = e && e->product != SNPG_PRODUCT_UNKNOWN ? e->product
            : snpg_report_layout_product(res->report, opts->product);
    res->product = product;
    res->key_kind = e && e->ext_ok ? e->ext.kind : SNPG_CERT_KIND_UNKNOWN;

    if (e) {
        copy_failures(res->failures, e->failures);
        now = opts->has_now ? opts->now : g_get_real_time() / G_USEC_PER_SEC;
        for (int i = 2; i >= 0; i--) {
            if (!e->chain[i] || snpg_cert_check_time(e->chain[i], now, &error))
                continue;
            fail_error(res->failures,
                       g_error_matches(error, SNPG_CERT_ERROR, SNPG_CERT_ERROR_NOT_YET_VALID)
                           ? SNPG_VERIFY_REASON_CERT_NOT_YET_VALID
                           : SNPG_VERIFY_REASON_CERT_EXPIRED,
                       error);
            g_clear_error(&error);
        }
        /* A revocation list is only as good as it is current: past its
         * nextUpdate, a revocation since then would go unseen. */
        if (v->crl && X509_CRL_get0_nextUpdate(v->crl)) {
            struct tm tm;
            if (!ASN1_TIME_to_tm(X509_CRL_get0_nextUpdate(v->crl), &tm) || timegm(&tm) < now) {
                ERR_clear_error();
                fail(res->failures, SNPG_VERIFY_REASON_CRL,
                     _("The CRL is out of date (its next update was due before the "
                       "verification time): fetch a current one."));
            }
        }
    }

    if (!e || !e->pkey)
        fail(res->failures, SNPG_VERIFY_REASON_SIGNATURE,
             _("The report's signature cannot be checked without a usable VCEK/VLEK."));
    else if (!verify_signature(v, e->pkey, res->report, &error)) {
        fail_error(res->failures, SNPG_VERIFY_REASON_SIGNATURE, error);
        g_clear_error(&error);
    }

    check_binding(res->failures, res->report, e, product, opts);
    check_tcb_reserved(res->failures, _("current"), res->report->current_tcb, product);
    check_tcb_reserved(res->failures, _("committed"), res->report->committed_tcb, product);
    check_tcb_reserved(res->failures, _("launch"), res->report->launch_tcb, product);
    check_reference(res->failures, res->report, product, opts);

    return g_steal_pointer(&res);
}
