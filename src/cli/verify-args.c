/* The verification options shared by `report verify` and `attest`. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <glib/gi18n.h>
#include <openssl/crypto.h>

#include "amd-certs.h"
#include "autocleanups.h"
#include "certcache.h"
#include "cli-util.h"
#include "command.h"
#include "reference.h"
#include "report.h"
#include "verify-args.h"

void
snpg_verify_args_clear(SnpgVerifyArgs *a)
{
    g_free(a->cert); g_free(a->ask); g_free(a->asvk); g_free(a->ark); g_free(a->crl);
    g_free(a->trust_root); g_free(a->now); g_free(a->reference); g_free(a->cache);
    g_strfreev(a->measurements); g_strfreev(a->chip_ids);
    g_free(a->report_data); g_free(a->host_data); g_free(a->family_id); g_free(a->image_id);
    g_free(a->id_key_digest); g_free(a->author_key_digest);
    g_free(a->product); g_free(a->min_tcb); g_free(a->policy_max); g_free(a->min_abi);
    g_free(a->min_policy_abi);
    g_free(a->platform_info_mask); g_free(a->platform_info_required);
}

static gboolean
set_hex_opt(const char *name, const char *text, gsize len, GBytes **slot)
{
    g_autoptr(GError) error = NULL;
    GBytes *b;

    if (!text)
        return TRUE;
    if (!(b = snpg_verify_parse_hex(name, text, len, &error))) {
        snpg_cli_error("%s", error->message);
        return FALSE;
    }
    if (*slot)
        g_bytes_unref(*slot);
    *slot = b;
    return TRUE;
}

/* Applies the command-line values over the reference file's. */
static gboolean
build_options(SnpgVerifyArgs *a, SnpgVerifyOptions *o)
{
    g_autoptr(GError) error = NULL;
    gboolean ok = TRUE;

    for (gsize i = 0; a->measurements && a->measurements[i]; i++) {
        GBytes *b = snpg_verify_parse_hex("--measurement", a->measurements[i], 48, &error);
        if (!b) {
            snpg_cli_error("%s", error->message);
            return FALSE;
        }
        g_ptr_array_add(o->measurements, b);
    }
    for (gsize i = 0; a->chip_ids && a->chip_ids[i]; i++) {
        GBytes *b = snpg_verify_parse_hex("--chip-id", a->chip_ids[i], 64, &error);
        if (!b) {
            snpg_cli_error("%s", error->message);
            return FALSE;
        }
        g_ptr_array_add(o->chip_ids, b);
    }
    if (!set_hex_opt("--report-data", a->report_data, 64, &o->report_data) ||
        !set_hex_opt("--host-data", a->host_data, 32, &o->host_data) ||
        !set_hex_opt("--family-id", a->family_id, 16, &o->family_id) ||
        !set_hex_opt("--image-id", a->image_id, 16, &o->image_id) ||
        !set_hex_opt("--id-key-digest", a->id_key_digest, 48, &o->id_key_digest) ||
        !set_hex_opt("--author-key-digest", a->author_key_digest, 48, &o->author_key_digest))
        return FALSE;
    if (a->vmpl != -1) {
        if (a->vmpl < 0 || a->vmpl > 3) {
            snpg_cli_error(_("the VMPL must be 0 to 3"));
            return FALSE;
        }
        o->vmpl = a->vmpl;
    }
    if (a->min_guest_svn != -1) {
        if (a->min_guest_svn < 0 || a->min_guest_svn > G_MAXUINT32) {
            snpg_cli_error(_("the minimum guest SVN must be 0 to 4294967295"));
            return FALSE;
        }
        o->min_guest_svn = a->min_guest_svn;
    }
    if (a->min_tcb && !snpg_tcb_min_parse(a->min_tcb, &o->min_tcb, &error)) {
        snpg_cli_error("%s", error->message);
        return FALSE;
    }
    if (a->allow_debug)
        o->allow_debug = TRUE;
    if (a->policy_max) {
        ok = snpg_cli_parse_u64("--policy-max", a->policy_max, 16, G_MAXUINT64, &o->policy_max);
        o->has_policy_max = TRUE;
    }
    if (ok && a->platform_info_mask) {
        ok = snpg_cli_parse_u64("--platform-info-mask", a->platform_info_mask, 16, G_MAXUINT64,
                                 &o->platform_info_mask);
        o->has_platform_info_mask = TRUE;
    }
    if (ok && a->platform_info_required)
        ok = snpg_cli_parse_u64("--platform-info-required", a->platform_info_required, 16,
                                G_MAXUINT64, &o->platform_info_required);
    if (!ok)
        return FALSE;
    if (a->min_abi && !snpg_verify_parse_abi(a->min_abi, &o->min_abi_major, &o->min_abi_minor)) {
        snpg_cli_error(_("the minimum ABI '%s' is not MAJOR.MINOR"), a->min_abi);
        return FALSE;
    }
    if (a->min_policy_abi &&
        !snpg_verify_parse_abi(a->min_policy_abi, &o->min_policy_abi_major, &o->min_policy_abi_minor)) {
        snpg_cli_error(_("the minimum policy ABI '%s' is not MAJOR.MINOR"), a->min_policy_abi);
        return FALSE;
    }
    if (a->product) {
        o->product = snpg_cli_parse_product(a->product, &ok);
        if (!ok)
            return FALSE;
    }
    if (a->now) {
        if (!snpg_verify_parse_time(a->now, &o->now, &error)) {
            snpg_cli_error("%s", error->message);
            return FALSE;
        }
        o->has_now = TRUE;
    }
    return TRUE;
}

/* Loads a supplied chain certificate; unparseable evidence is a rejection. */
static int
load_supplied(SnpgVerifier *v, SnpgAmdCertKind kind, const char *path, GPtrArray *extra)
{
    g_autoptr(GBytes) data = NULL;
    g_autoptr(X509) cert = NULL;
    g_autoptr(GError) error = NULL;

    if (!path)
        return SNPG_EXIT_OK;
    if (!(data = snpg_cli_read_file(path, snpg_amd_cert_kind_to_string(kind))))
        return SNPG_EXIT_ERROR;
    cert = snpg_cert_load(g_bytes_get_data(data, NULL), g_bytes_get_size(data), &error);
    if (!cert) {
        g_ptr_array_add(extra, g_strdup_printf("%s: %s", snpg_verify_reason_to_string(
                                                   SNPG_VERIFY_REASON_CERT_INVALID),
                                               error->message));
        return SNPG_EXIT_OK;
    }
    snpg_verifier_set_supplied(v, kind, cert);
    return SNPG_EXIT_OK;
}

void
snpg_verify_args_add_entries(GOptionContext *ctx, SnpgVerifyArgs *a, gboolean with_report_data)
{
    GOptionEntry entries[] = {
        { "cert", 0, 0, G_OPTION_ARG_FILENAME, &a->cert, N_("The VCEK or VLEK certificate (DER or PEM)"), N_("FILE") },
        { "ask", 0, 0, G_OPTION_ARG_FILENAME, &a->ask, N_("The ASK (or ASVK) that came with the report: must be AMD's pinned one or chain to --trust-root"), N_("PEM") },
        { "asvk", 0, 0, G_OPTION_ARG_FILENAME, &a->asvk, N_("The ASVK that came with a VLEK report (same rule as --ask)"), N_("PEM") },
        { "ark", 0, 0, G_OPTION_ARG_FILENAME, &a->ark, N_("The ARK that came with the report: must be AMD's pinned one or the --trust-root"), N_("PEM") },
        { "cache", 0, 0, G_OPTION_ARG_FILENAME, &a->cache, N_("Without --cert, look the VCEK (and the ASK and ARK) up in this certificate cache (default $SNPGUARD_CERT_CACHE or /var/lib/snpguard/certs)"), N_("DIR") },
        { "crl", 0, 0, G_OPTION_ARG_FILENAME, &a->crl, N_("AMD's certificate revocation list (DER or PEM), signed by the ARK"), N_("FILE") },
        { "trust-root", 0, 0, G_OPTION_ARG_FILENAME, &a->trust_root, N_("Also trust this root (e.g. a simulated processor's test ARK)"), N_("PEM") },
        { "now", 0, 0, G_OPTION_ARG_STRING, &a->now, N_("Check certificate validity at this time instead of now"), N_("YYYY-MM-DDTHH:MM:SSZ") },
        { "measurement", 0, 0, G_OPTION_ARG_STRING_ARRAY, &a->measurements, N_("An allowed launch measurement (repeatable)"), N_("HEX") },
        { "report-data", 0, 0, G_OPTION_ARG_STRING, &a->report_data, N_("Expected REPORT_DATA (64 bytes)"), N_("HEX") },
        { "host-data", 0, 0, G_OPTION_ARG_STRING, &a->host_data, N_("Expected HOST_DATA (32 bytes)"), N_("HEX") },
        { "family-id", 0, 0, G_OPTION_ARG_STRING, &a->family_id, N_("Expected FAMILY_ID (16 bytes)"), N_("HEX") },
        { "image-id", 0, 0, G_OPTION_ARG_STRING, &a->image_id, N_("Expected IMAGE_ID (16 bytes)"), N_("HEX") },
        { "id-key-digest", 0, 0, G_OPTION_ARG_STRING, &a->id_key_digest, N_("Expected ID_KEY_DIGEST (48 bytes)"), N_("HEX") },
        { "author-key-digest", 0, 0, G_OPTION_ARG_STRING, &a->author_key_digest, N_("Expected AUTHOR_KEY_DIGEST (48 bytes)"), N_("HEX") },
        { "chip-id", 0, 0, G_OPTION_ARG_STRING_ARRAY, &a->chip_ids, N_("An allowed CHIP_ID (64 bytes; repeatable)"), N_("HEX") },
        { "vmpl", 0, 0, G_OPTION_ARG_INT, &a->vmpl, N_("Required VMPL (0-3)"), N_("N") },
        { "min-guest-svn", 0, 0, G_OPTION_ARG_INT64, &a->min_guest_svn, N_("Minimum guest SVN"), N_("N") },
        { "product", 0, 0, G_OPTION_ARG_STRING, &a->product, N_("Required product"), N_("Milan|Genoa|Turin") },
        { "min-tcb", 0, 0, G_OPTION_ARG_STRING, &a->min_tcb, N_("Minimum TCB for the reported, committed, launch and current TCB"), N_("fmc=N,bl=N,tee=N,snp=N,ucode=N") },
        { "allow-debug", 0, 0, G_OPTION_ARG_NONE, &a->allow_debug, N_("Accept a guest policy that allows debugging"), NULL },
        { "policy-max", 0, 0, G_OPTION_ARG_STRING, &a->policy_max, N_("Policy flag bits allowed to be set"), N_("HEX") },
        { "min-abi", 0, 0, G_OPTION_ARG_STRING, &a->min_abi, N_("Minimum firmware ABI version (current and committed)"), N_("MAJOR.MINOR") },
        { "min-policy-abi", 0, 0, G_OPTION_ARG_STRING, &a->min_policy_abi, N_("Minimum ABI version the guest policy must require"), N_("MAJOR.MINOR") },
        { "platform-info-mask", 0, 0, G_OPTION_ARG_STRING, &a->platform_info_mask, N_("PLATFORM_INFO bits allowed to be set"), N_("HEX") },
        { "platform-info-required", 0, 0, G_OPTION_ARG_STRING, &a->platform_info_required, N_("PLATFORM_INFO bits that must be set"), N_("HEX") },
        { "reference", 0, 0, G_OPTION_ARG_FILENAME, &a->reference, N_("Reference values file (see docs/reference-values.md); options override it"), N_("FILE") },
        { "json", 0, 0, G_OPTION_ARG_NONE, &a->json, N_("Print the verdict as JSON"), NULL },
        { NULL }
    };

    /* attest binds REPORT_DATA to its session: the option would be ignored. */
    if (!with_report_data) {
        gsize n = 0;
        for (gsize i = 0; entries[i].long_name; i++)
            if (!g_str_equal(entries[i].long_name, "report-data"))
                entries[n++] = entries[i];
        entries[n] = (GOptionEntry){ NULL };
    }
    g_option_context_add_main_entries(ctx, entries, GETTEXT_PACKAGE);
}

int
snpg_verify_args_prepare(SnpgVerifyArgs *a, SnpgVerifyOptions *opts,
                         SnpgVerifier **ret_verifier, GPtrArray *extra)
{
    g_autoptr(SnpgVerifier) v = NULL;
    g_autoptr(GError) error = NULL;
    int rc;

    if (a->ask && a->asvk) {
        snpg_cli_error(_("give --ask or --asvk, not both"));
        return SNPG_EXIT_USAGE;
    }
    snpg_verify_options_init(opts);
    if (a->reference && !snpg_reference_load_file(a->reference, opts, &error)) {
        snpg_cli_error("%s", error->message);
        return SNPG_EXIT_ERROR;
    }
    if (!build_options(a, opts))
        return SNPG_EXIT_USAGE;

    v = snpg_verifier_new();
    if (a->trust_root) {
        g_autoptr(GBytes) data = snpg_cli_read_file(a->trust_root, _("trust root"));
        g_autoptr(X509) root = NULL;
        if (!data)
            return SNPG_EXIT_ERROR;
        root = snpg_cert_load(g_bytes_get_data(data, NULL), g_bytes_get_size(data), &error);
        if (!root) {
            snpg_cli_error(_("cannot use the trust root '%s': %s"), a->trust_root,
                           error->message);
            return SNPG_EXIT_ERROR;
        }
        snpg_verifier_set_trust_root(v, root);
    }
    if (a->crl) {
        g_autoptr(GBytes) data = snpg_cli_read_file(a->crl, _("CRL"));
        g_autoptr(X509_CRL) crl = NULL;
        if (!data)
            return SNPG_EXIT_ERROR;
        crl = snpg_crl_load(g_bytes_get_data(data, NULL), g_bytes_get_size(data), &error);
        if (!crl) {
            snpg_cli_error(_("cannot use the CRL '%s': %s"), a->crl, error->message);
            return SNPG_EXIT_ERROR;
        }
        snpg_verifier_set_crl(v, crl);
    }
    if ((rc = load_supplied(v, SNPG_AMD_CERT_ARK, a->ark, extra)) != SNPG_EXIT_OK ||
        (rc = load_supplied(v, SNPG_AMD_CERT_ASK, a->ask, extra)) != SNPG_EXIT_OK ||
        (rc = load_supplied(v, SNPG_AMD_CERT_ASVK, a->asvk, extra)) != SNPG_EXIT_OK)
        return rc;
    *ret_verifier = g_steal_pointer(&v);
    return SNPG_EXIT_OK;
}

/* Without --cert: the report's VCEK from the certificate cache, looked up
 * by product, CHIP_ID and REPORTED_TCB. The cached ASK and ARK, unless
 * given on the command line, are handed to the verifier as supplied
 * evidence: like --ask/--ark they must be AMD's pinned certificates or lead
 * to --trust-root; a cached root is never trusted by itself.
 * Returns the VCEK's DER, or NULL with a note on stderr (the verifier then
 * rejects with "cert-missing"); *usage is set when the report needs
 * --product. */
static GBytes *
find_cached_cert(SnpgVerifier *v, const char *cache_dir, GBytes *report_bytes,
                 SnpgProduct product_opt, gboolean have_ask, gboolean have_ark, gboolean *usage)
{
    g_autoptr(SnpgReport) r = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(X509) vcek = NULL;
    g_autoptr(X509) ask = NULL;
    g_autoptr(X509) ark = NULL;
    g_autofree char *path = NULL;
    unsigned char *der = NULL;
    SnpgProduct product;
    SnpgTcb tcb;
    GBytes *out;
    int len;

    *usage = FALSE;
    r = snpg_report_parse(g_bytes_get_data(report_bytes, NULL), g_bytes_get_size(report_bytes),
                          NULL);
    if (!r)
        return NULL;    /* the verifier explains why */
    product = r->has_cpuid ? r->product : product_opt;
    if (product == SNPG_PRODUCT_UNKNOWN) {
        if (r->has_cpuid)
            snpg_cli_error(_("the report's CPUID names no known product, so no cached VCEK "
                             "applies: give --cert"));
        else
            snpg_cli_error(_("a version %u report carries no CPUID: give --product (Milan, "
                             "Genoa or Turin) to look its VCEK up in the certificate cache, "
                             "or --cert"), r->version);
        *usage = !r->has_cpuid;
        return NULL;
    }
    if (r->signing_key == SNPG_SIGNING_KEY_VLEK) {
        snpg_cli_error(_("the report is signed by a VLEK; the certificate cache serves VCEKs "
                         "only: give --cert"));
        return NULL;
    }
    snpg_tcb_decode(r->reported_tcb, product, &tcb);
    vcek = snpg_certcache_find_vcek(cache_dir, product, r->chip_id, &tcb, &path, &error);
    if (!vcek) {
        snpg_cli_error(_("no --cert was given and the certificate cache '%s' has no VCEK "
                         "for this report: %s"), cache_dir, error->message);
        return NULL;
    }
    g_debug("VCEK from the cache: %s", path);
    if (!have_ask && (ask = snpg_certcache_find_ca(cache_dir, product, SNPG_CERTCACHE_KIND_ASK,
                                                   NULL, NULL)))
        snpg_verifier_set_supplied(v, SNPG_AMD_CERT_ASK, ask);
    if (!have_ark && (ark = snpg_certcache_find_ca(cache_dir, product, SNPG_CERTCACHE_KIND_ARK,
                                                   NULL, NULL)))
        snpg_verifier_set_supplied(v, SNPG_AMD_CERT_ARK, ark);
    if ((len = i2d_X509(vcek, &der)) <= 0)
        return NULL;
    out = g_bytes_new(der, (gsize)len);
    OPENSSL_free(der);
    return out;
}

GBytes *
snpg_verify_args_leaf(SnpgVerifyArgs *a, SnpgVerifier *verifier, GBytes *report,
                      const SnpgVerifyOptions *opts, int *ret_exit)
{
    gboolean usage = FALSE;
    GBytes *cert;

    *ret_exit = SNPG_EXIT_OK;
    if (a->cert) {
        if (!(cert = snpg_cli_read_file(a->cert, _("certificate"))))
            *ret_exit = SNPG_EXIT_ERROR;
        return cert;
    }
    if (!report)
        return NULL;
    cert = find_cached_cert(verifier, a->cache ? a->cache : snpg_certcache_default_dir(), report,
                            opts->product, a->ask || a->asvk, a->ark != NULL, &usage);
    if (usage)
        *ret_exit = SNPG_EXIT_USAGE;
    return cert;
}

gboolean
snpg_verify_result_accepted_with(const SnpgVerifyResult *res, GPtrArray *extra)
{
    return snpg_verify_result_accepted(res) && extra->len == 0;
}

void
snpg_verify_result_add_json(JsonBuilder *b, const SnpgVerifyResult *res, GPtrArray *extra)
{
    snpg_cli_json_add_string(b, "verdict", snpg_verify_result_accepted_with(res, extra)
                                               ? "accepted" : "rejected");
    snpg_cli_json_add_string(b, "product", snpg_product_to_string(res->product));
    snpg_cli_json_add_string(b, "signing_key", snpg_cert_kind_to_string(res->key_kind));
    if (res->report) {
        snpg_cli_json_add_hex(b, "measurement", res->report->measurement, sizeof(res->report->measurement));
        snpg_cli_json_add_hex(b, "chip_id", res->report->chip_id, sizeof(res->report->chip_id));
        snpg_cli_json_add_hex(b, "report_data", res->report->report_data, sizeof(res->report->report_data));
    }
    json_builder_set_member_name(b, "reasons");
    json_builder_begin_array(b);
    for (guint i = 0; i < extra->len; i++) {
        const char *line = g_ptr_array_index(extra, i);
        const char *colon = strchr(line, ':');
        g_autofree char *code = g_strndup(line, (gsize)(colon - line));
        json_builder_begin_object(b);
        snpg_cli_json_add_string(b, "code", code);
        snpg_cli_json_add_string(b, "detail", colon + 2);
        json_builder_end_object(b);
    }
    for (guint i = 0; i < res->failures->len; i++) {
        const SnpgVerifyFailure *f = g_ptr_array_index(res->failures, i);
        json_builder_begin_object(b);
        snpg_cli_json_add_string(b, "code", snpg_verify_reason_to_string(f->reason));
        snpg_cli_json_add_string(b, "detail", f->detail);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
}

void
snpg_verify_result_print(const SnpgVerifyResult *res, GPtrArray *extra)
{
    if (snpg_verify_result_accepted_with(res, extra)) {
        printf(_("accepted: the report is authentic (%s %s) and meets the reference values\n"),
               snpg_product_to_string(res->product), snpg_cert_kind_to_string(res->key_kind));
        return;
    }
    for (guint i = 0; i < extra->len; i++)
        printf("%s\n", (const char *)g_ptr_array_index(extra, i));
    for (guint i = 0; i < res->failures->len; i++) {
        const SnpgVerifyFailure *f = g_ptr_array_index(res->failures, i);
        printf("%s: %s\n", snpg_verify_reason_to_string(f->reason), f->detail);
    }
}
