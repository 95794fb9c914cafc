/* snpguard report show|verify: inspect and verify SEV-SNP attestation reports. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <glib/gi18n.h>

#include "amd-certs.h"
#include "autocleanups.h"
#include "certcache.h"
#include "cli-util.h"
#include "command.h"
#include "hex.h"
#include "reference.h"
#include "report.h"
#include "verify.h"

/* Input files are small (a report is 1184 bytes, certificates a few KiB);
 * a cap keeps a wrong path (a disk image) from being read into memory. */
#define INPUT_MAX (16u << 20)

static GBytes *
read_input(const char *path, const char *what)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GMappedFile) map = NULL;

    map = g_mapped_file_new(path, FALSE, &error);
    if (!map) {
        snpg_cli_error(_("cannot read the %s '%s': %s"), what, path, error->message);
        return NULL;
    }
    if (g_mapped_file_get_length(map) > INPUT_MAX) {
        snpg_cli_error(_("the %s '%s' is too large"), what, path);
        return NULL;
    }
    /* Copy out: the file may change under a mapping. */
    return g_bytes_new(g_mapped_file_get_contents(map), g_mapped_file_get_length(map));
}

/* ---- show ---------------------------------------------------------------- */

static JsonNode *
tcb_json(guint64 raw, SnpgProduct product)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autofree char *rawhex = g_strdup_printf("%016" G_GINT64_MODIFIER "x", raw);
    SnpgTcb t;

    snpg_tcb_decode(raw, product, &t);
    json_builder_begin_object(b);
    if (product == SNPG_PRODUCT_TURIN) {
        snpg_cli_json_add_int(b, "fmc", t.fmc);
    }
    snpg_cli_json_add_int(b, "bl", t.bl);
    snpg_cli_json_add_int(b, "tee", t.tee);
    snpg_cli_json_add_int(b, "snp", t.snp);
    snpg_cli_json_add_int(b, "ucode", t.ucode);
    snpg_cli_json_add_string(b, "raw", rawhex);
    json_builder_set_member_name(b, "reserved_nonzero");
    json_builder_add_boolean_value(b, t.reserved_nonzero);
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

static void
add_strv(JsonBuilder *b, const char *name, GStrv v)
{
    json_builder_set_member_name(b, name);
    json_builder_begin_array(b);
    for (gsize i = 0; v[i]; i++)
        json_builder_add_string_value(b, v[i]);
    json_builder_end_array(b);
}

static JsonNode *
report_json(const SnpgReport *r, SnpgProduct layout)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_auto(GStrv) pflags = snpg_policy_flag_names(r->policy);
    g_auto(GStrv) pinfo = snpg_platform_info_flag_names(r->platform_info);
    g_autofree char *cur = g_strdup_printf("%u.%u.%u", r->current_major, r->current_minor, r->current_build);
    g_autofree char *com = g_strdup_printf("%u.%u.%u", r->committed_major, r->committed_minor,
                                           r->committed_build);
    SnpgPolicy pol;

    snpg_policy_decode(r->policy, &pol);
    json_builder_begin_object(b);
    snpg_cli_json_add_int(b, "version", r->version);
    snpg_cli_json_add_string(b, "product", snpg_product_to_string(r->product));
    snpg_cli_json_add_string(b, "tcb_layout_product", snpg_product_to_string(layout));
    snpg_cli_json_add_int(b, "guest_svn", r->guest_svn);
    snpg_cli_json_add_hex64(b, "policy", r->policy);
    json_builder_set_member_name(b, "policy_decoded");
    json_builder_begin_object(b);
    snpg_cli_json_add_int(b, "abi_minor", pol.abi_minor);
    snpg_cli_json_add_int(b, "abi_major", pol.abi_major);
    add_strv(b, "flags", pflags);
    json_builder_end_object(b);
    snpg_cli_json_add_hex(b, "family_id", r->family_id, sizeof(r->family_id));
    snpg_cli_json_add_hex(b, "image_id", r->image_id, sizeof(r->image_id));
    snpg_cli_json_add_int(b, "vmpl", r->vmpl);
    snpg_cli_json_add_int(b, "signature_algo", r->signature_algo);
    snpg_cli_json_add_hex64(b, "platform_info", r->platform_info);
    add_strv(b, "platform_info_decoded", pinfo);
    snpg_cli_json_add_hex64(b, "flags", r->flags);
    snpg_cli_json_add_int(b, "author_key_en", r->author_key_en);
    snpg_cli_json_add_int(b, "mask_chip_key", r->mask_chip_key);
    snpg_cli_json_add_string(b, "signing_key", snpg_signing_key_to_string(r->signing_key));
    snpg_cli_json_add_hex(b, "report_data", r->report_data, sizeof(r->report_data));
    snpg_cli_json_add_hex(b, "measurement", r->measurement, sizeof(r->measurement));
    snpg_cli_json_add_hex(b, "host_data", r->host_data, sizeof(r->host_data));
    snpg_cli_json_add_hex(b, "id_key_digest", r->id_key_digest, sizeof(r->id_key_digest));
    snpg_cli_json_add_hex(b, "author_key_digest", r->author_key_digest, sizeof(r->author_key_digest));
    snpg_cli_json_add_hex(b, "report_id", r->report_id, sizeof(r->report_id));
    snpg_cli_json_add_hex(b, "report_id_ma", r->report_id_ma, sizeof(r->report_id_ma));
    snpg_cli_json_add_hex(b, "chip_id", r->chip_id, sizeof(r->chip_id));
    json_builder_set_member_name(b, "cpuid");
    if (r->has_cpuid) {
        json_builder_begin_object(b);
        snpg_cli_json_add_int(b, "fam", r->cpuid_fam_id);
        snpg_cli_json_add_int(b, "mod", r->cpuid_mod_id);
        snpg_cli_json_add_int(b, "step", r->cpuid_step);
        json_builder_end_object(b);
    } else {
        json_builder_add_null_value(b);
    }
    json_builder_set_member_name(b, "current_tcb");
    json_builder_add_value(b, tcb_json(r->current_tcb, layout));
    json_builder_set_member_name(b, "reported_tcb");
    json_builder_add_value(b, tcb_json(r->reported_tcb, layout));
    json_builder_set_member_name(b, "committed_tcb");
    json_builder_add_value(b, tcb_json(r->committed_tcb, layout));
    json_builder_set_member_name(b, "launch_tcb");
    json_builder_add_value(b, tcb_json(r->launch_tcb, layout));
    snpg_cli_json_add_string(b, "current_version", cur);
    snpg_cli_json_add_string(b, "committed_version", com);
    json_builder_set_member_name(b, "launch_mit_vector");
    if (r->has_mit_vectors)
        json_builder_add_int_value(b, (gint64)r->launch_mit_vector);
    else
        json_builder_add_null_value(b);
    json_builder_set_member_name(b, "current_mit_vector");
    if (r->has_mit_vectors)
        json_builder_add_int_value(b, (gint64)r->current_mit_vector);
    else
        json_builder_add_null_value(b);
    json_builder_set_member_name(b, "signature");
    json_builder_begin_object(b);
    snpg_cli_json_add_hex(b, "r_le", r->sig_r, sizeof(r->sig_r));
    snpg_cli_json_add_hex(b, "s_le", r->sig_s, sizeof(r->sig_s));
    json_builder_end_object(b);
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

static void
print_hex_line(const char *name, const guint8 *data, gsize len)
{
    g_autofree char *h = snpg_hex_encode(data, len);
    printf("%-20s %s\n", name, h);
}

static void
print_tcb_line(const char *name, guint64 raw, SnpgProduct layout)
{
    SnpgTcb t;
    g_autofree char *s = NULL;

    snpg_tcb_decode(raw, layout, &t);
    s = snpg_tcb_to_string(&t, layout);
    printf("%-20s %s (0x%016" G_GINT64_MODIFIER "x)%s\n", name, s, raw,
           t.reserved_nonzero ? _(" reserved bytes set") : "");
}

static void
print_report(const SnpgReport *r, SnpgProduct layout)
{
    g_auto(GStrv) pflags = snpg_policy_flag_names(r->policy);
    g_auto(GStrv) pinfo = snpg_platform_info_flag_names(r->platform_info);
    g_autofree char *pf = g_strjoinv(",", pflags);
    g_autofree char *pi = g_strjoinv(",", pinfo);
    SnpgPolicy pol;

    snpg_policy_decode(r->policy, &pol);
    printf("%-20s %u\n", "version", r->version);
    printf("%-20s %s%s\n", "product", snpg_product_to_string(r->product),
           r->has_cpuid ? "" : _(" (version 2 reports carry no CPUID)"));
    if (r->has_cpuid)
        printf("%-20s family=0x%02x model=0x%02x stepping=0x%02x\n", "cpuid", r->cpuid_fam_id,
               r->cpuid_mod_id, r->cpuid_step);
    printf("%-20s %u\n", "guest_svn", r->guest_svn);
    printf("%-20s 0x%" G_GINT64_MODIFIER "x (abi %u.%u; %s)\n", "policy", r->policy,
           pol.abi_major, pol.abi_minor, pf);
    print_hex_line("family_id", r->family_id, sizeof(r->family_id));
    print_hex_line("image_id", r->image_id, sizeof(r->image_id));
    printf("%-20s %u\n", "vmpl", r->vmpl);
    printf("%-20s %u\n", "signature_algo", r->signature_algo);
    printf("%-20s 0x%" G_GINT64_MODIFIER "x (%s)\n", "platform_info", r->platform_info, pi);
    printf("%-20s author_key_en=%d mask_chip_key=%d signing_key=%s\n", "flags",
           r->author_key_en, r->mask_chip_key, snpg_signing_key_to_string(r->signing_key));
    print_hex_line("report_data", r->report_data, sizeof(r->report_data));
    print_hex_line("measurement", r->measurement, sizeof(r->measurement));
    print_hex_line("host_data", r->host_data, sizeof(r->host_data));
    print_hex_line("id_key_digest", r->id_key_digest, sizeof(r->id_key_digest));
    print_hex_line("author_key_digest", r->author_key_digest, sizeof(r->author_key_digest));
    print_hex_line("report_id", r->report_id, sizeof(r->report_id));
    print_hex_line("report_id_ma", r->report_id_ma, sizeof(r->report_id_ma));
    print_hex_line("chip_id", r->chip_id, sizeof(r->chip_id));
    print_tcb_line("current_tcb", r->current_tcb, layout);
    print_tcb_line("reported_tcb", r->reported_tcb, layout);
    print_tcb_line("committed_tcb", r->committed_tcb, layout);
    print_tcb_line("launch_tcb", r->launch_tcb, layout);
    printf("%-20s %u.%u.%u\n", "current_version", r->current_major, r->current_minor, r->current_build);
    printf("%-20s %u.%u.%u\n", "committed_version", r->committed_major, r->committed_minor,
           r->committed_build);
    if (r->has_mit_vectors) {
        printf("%-20s 0x%" G_GINT64_MODIFIER "x\n", "launch_mit_vector", r->launch_mit_vector);
        printf("%-20s 0x%" G_GINT64_MODIFIER "x\n", "current_mit_vector", r->current_mit_vector);
    }
    print_hex_line("signature_r_le", r->sig_r, sizeof(r->sig_r));
    print_hex_line("signature_s_le", r->sig_s, sizeof(r->sig_s));
}

static SnpgProduct
parse_product_opt(const char *text, gboolean *ok)
{
    SnpgProduct p;

    *ok = TRUE;
    if (!text)
        return SNPG_PRODUCT_UNKNOWN;
    p = snpg_product_from_string(text);
    if (p == SNPG_PRODUCT_UNKNOWN) {
        snpg_cli_error(_("unknown product '%s' (Milan, Genoa or Turin)"), text);
        *ok = FALSE;
    }
    return p;
}

static int
run_show(int argc, char **argv)
{
    gboolean opt_json = FALSE;
    g_autofree char *opt_product = NULL;
    const GOptionEntry entries[] = {
        { "json", 0, 0, G_OPTION_ARG_NONE, &opt_json, N_("Print JSON"), NULL },
        { "product", 0, 0, G_OPTION_ARG_STRING, &opt_product,
          N_("Decode TCBs of a version 2 report as this product (default Milan/Genoa layout)"),
          N_("Milan|Genoa|Turin") },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx = snpg_cli_context_new("report show", N_("REPORT"),
        _("Show the fields of an SEV-SNP attestation report (not verified)."), entries);
    g_autoptr(GBytes) data = NULL;
    g_autoptr(SnpgReport) report = NULL;
    g_autoptr(GError) error = NULL;
    SnpgProduct product;
    gboolean ok;

    if (!snpg_cli_parse(ctx, &argc, &argv))
        return SNPG_EXIT_USAGE;
    if (argc != 2) {
        snpg_cli_error(_("expected one REPORT file"));
        return SNPG_EXIT_USAGE;
    }
    product = parse_product_opt(opt_product, &ok);
    if (!ok)
        return SNPG_EXIT_USAGE;
    if (!(data = read_input(argv[1], _("report"))))
        return SNPG_EXIT_ERROR;
    report = snpg_report_parse(g_bytes_get_data(data, NULL), g_bytes_get_size(data), &error);
    if (!report) {
        snpg_cli_error(_("'%s' is not a valid attestation report: %s"), argv[1], error->message);
        return SNPG_EXIT_ERROR;
    }
    product = snpg_report_layout_product(report, product);
    if (opt_json) {
        g_autoptr(JsonNode) node = report_json(report, product);
        snpg_cli_print_json(node);
    } else {
        print_report(report, product);
    }
    return SNPG_EXIT_OK;
}

/* ---- verify -------------------------------------------------------------- */

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

typedef struct {
    char *cert, *ask, *asvk, *ark, *crl, *trust_root, *now, *reference, *cache;
    char **measurements, **chip_ids;
    char *report_data, *host_data, *family_id, *image_id, *id_key_digest, *author_key_digest;
    int vmpl;
    gint64 min_guest_svn;
    char *product, *min_tcb, *policy_max, *min_abi, *platform_info_mask, *platform_info_required;
    gboolean allow_debug, json;
} VerifyArgs;

static void
verify_args_clear(VerifyArgs *a)
{
    g_free(a->cert); g_free(a->ask); g_free(a->asvk); g_free(a->ark); g_free(a->crl);
    g_free(a->trust_root); g_free(a->now); g_free(a->reference); g_free(a->cache);
    g_strfreev(a->measurements); g_strfreev(a->chip_ids);
    g_free(a->report_data); g_free(a->host_data); g_free(a->family_id); g_free(a->image_id);
    g_free(a->id_key_digest); g_free(a->author_key_digest);
    g_free(a->product); g_free(a->min_tcb); g_free(a->policy_max); g_free(a->min_abi);
    g_free(a->platform_info_mask); g_free(a->platform_info_required);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(VerifyArgs, verify_args_clear)

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
build_options(VerifyArgs *a, SnpgVerifyOptions *o)
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
    if (a->product) {
        o->product = parse_product_opt(a->product, &ok);
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
    if (!(data = read_input(path, snpg_amd_cert_kind_to_string(kind))))
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

static void
print_result(const SnpgVerifyResult *res, GPtrArray *extra, gboolean json)
{
    gboolean accepted = snpg_verify_result_accepted(res) && extra->len == 0;

    if (json) {
        g_autoptr(JsonBuilder) b = json_builder_new();
        g_autoptr(JsonNode) root = NULL;

        json_builder_begin_object(b);
        snpg_cli_json_add_string(b, "verdict", accepted ? "accepted" : "rejected");
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
        json_builder_end_object(b);
        root = json_builder_get_root(b);
        snpg_cli_print_json(root);
        return;
    }
    if (accepted) {
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

static int
run_verify(int argc, char **argv)
{
    g_auto(VerifyArgs) a = { .vmpl = -1, .min_guest_svn = -1 };
    const GOptionEntry entries[] = {
        { "cert", 0, 0, G_OPTION_ARG_FILENAME, &a.cert, N_("The VCEK or VLEK certificate (DER or PEM)"), N_("FILE") },
        { "ask", 0, 0, G_OPTION_ARG_FILENAME, &a.ask, N_("The ASK (or ASVK) that came with the report: must be AMD's pinned one or chain to --trust-root"), N_("PEM") },
        { "asvk", 0, 0, G_OPTION_ARG_FILENAME, &a.asvk, N_("The ASVK that came with a VLEK report (same rule as --ask)"), N_("PEM") },
        { "ark", 0, 0, G_OPTION_ARG_FILENAME, &a.ark, N_("The ARK that came with the report: must be AMD's pinned one or the --trust-root"), N_("PEM") },
        { "cache", 0, 0, G_OPTION_ARG_FILENAME, &a.cache, N_("Without --cert, look the VCEK (and the ASK and ARK) up in this certificate cache (default $SNPGUARD_CERT_CACHE or /var/lib/snpguard/certs)"), N_("DIR") },
        { "crl", 0, 0, G_OPTION_ARG_FILENAME, &a.crl, N_("AMD's certificate revocation list (DER or PEM), signed by the ARK"), N_("FILE") },
        { "trust-root", 0, 0, G_OPTION_ARG_FILENAME, &a.trust_root, N_("Also trust this root (e.g. a simulated processor's test ARK)"), N_("PEM") },
        { "now", 0, 0, G_OPTION_ARG_STRING, &a.now, N_("Check certificate validity at this time instead of now"), N_("YYYY-MM-DDTHH:MM:SSZ") },
        { "measurement", 0, 0, G_OPTION_ARG_STRING_ARRAY, &a.measurements, N_("An allowed launch measurement (repeatable)"), N_("HEX") },
        { "report-data", 0, 0, G_OPTION_ARG_STRING, &a.report_data, N_("Expected REPORT_DATA (64 bytes)"), N_("HEX") },
        { "host-data", 0, 0, G_OPTION_ARG_STRING, &a.host_data, N_("Expected HOST_DATA (32 bytes)"), N_("HEX") },
        { "family-id", 0, 0, G_OPTION_ARG_STRING, &a.family_id, N_("Expected FAMILY_ID (16 bytes)"), N_("HEX") },
        { "image-id", 0, 0, G_OPTION_ARG_STRING, &a.image_id, N_("Expected IMAGE_ID (16 bytes)"), N_("HEX") },
        { "id-key-digest", 0, 0, G_OPTION_ARG_STRING, &a.id_key_digest, N_("Expected ID_KEY_DIGEST (48 bytes)"), N_("HEX") },
        { "author-key-digest", 0, 0, G_OPTION_ARG_STRING, &a.author_key_digest, N_("Expected AUTHOR_KEY_DIGEST (48 bytes)"), N_("HEX") },
        { "chip-id", 0, 0, G_OPTION_ARG_STRING_ARRAY, &a.chip_ids, N_("An allowed CHIP_ID (64 bytes; repeatable)"), N_("HEX") },
        { "vmpl", 0, 0, G_OPTION_ARG_INT, &a.vmpl, N_("Required VMPL (0-3)"), N_("N") },
        { "min-guest-svn", 0, 0, G_OPTION_ARG_INT64, &a.min_guest_svn, N_("Minimum guest SVN"), N_("N") },
        { "product", 0, 0, G_OPTION_ARG_STRING, &a.product, N_("Required product"), N_("Milan|Genoa|Turin") },
        { "min-tcb", 0, 0, G_OPTION_ARG_STRING, &a.min_tcb, N_("Minimum TCB for the reported, committed, launch and current TCB"), N_("fmc=N,bl=N,tee=N,snp=N,ucode=N") },
        { "allow-debug", 0, 0, G_OPTION_ARG_NONE, &a.allow_debug, N_("Accept a guest policy that allows debugging"), NULL },
        { "policy-max", 0, 0, G_OPTION_ARG_STRING, &a.policy_max, N_("Policy flag bits allowed to be set"), N_("HEX") },
        { "min-abi", 0, 0, G_OPTION_ARG_STRING, &a.min_abi, N_("Minimum firmware ABI version (current and committed)"), N_("MAJOR.MINOR") },
        { "platform-info-mask", 0, 0, G_OPTION_ARG_STRING, &a.platform_info_mask, N_("PLATFORM_INFO bits allowed to be set"), N_("HEX") },
        { "platform-info-required", 0, 0, G_OPTION_ARG_STRING, &a.platform_info_required, N_("PLATFORM_INFO bits that must be set"), N_("HEX") },
        { "reference", 0, 0, G_OPTION_ARG_FILENAME, &a.reference, N_("Reference values file (see docs/reference-values.md); options override it"), N_("FILE") },
        { "json", 0, 0, G_OPTION_ARG_NONE, &a.json, N_("Print the verdict as JSON"), NULL },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx = snpg_cli_context_new("report verify", N_("REPORT"),
        _("Verify an SEV-SNP attestation report: AMD chain, signature, binding and reference values.\n"
          "Exit status: 0 accepted, 3 rejected (reasons on stdout), 1 unreadable input, 2 usage."),
        entries);
    g_auto(SnpgVerifyOptions) opts = { 0 };
    g_autoptr(SnpgVerifier) v = NULL;
    g_autoptr(GBytes) report = NULL;
    g_autoptr(GBytes) cert = NULL;
    g_autoptr(SnpgVerifyResult) res = NULL;
    g_autoptr(GPtrArray) extra = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) error = NULL;
    int rc;

    if (!snpg_cli_parse(ctx, &argc, &argv))
        return SNPG_EXIT_USAGE;
    if (argc != 2) {
        snpg_cli_error(_("expected one REPORT file"));
        return SNPG_EXIT_USAGE;
    }
    if (a.ask && a.asvk) {
        snpg_cli_error(_("give --ask or --asvk, not both"));
        return SNPG_EXIT_USAGE;
    }
    snpg_verify_options_init(&opts);
    if (a.reference && !snpg_reference_load_file(a.reference, &opts, &error)) {
        snpg_cli_error("%s", error->message);
        return SNPG_EXIT_ERROR;
    }
    if (!build_options(&a, &opts))
        return SNPG_EXIT_USAGE;

    v = snpg_verifier_new();
    if (a.trust_root) {
        g_autoptr(X509) root = snpg_cert_load_file(a.trust_root, &error);
        if (!root) {
            snpg_cli_error(_("cannot use the trust root: %s"), error->message);
            return SNPG_EXIT_ERROR;
        }
        snpg_verifier_set_trust_root(v, root);
    }
    if (a.crl) {
        g_autoptr(GBytes) data = read_input(a.crl, _("CRL"));
        g_autoptr(X509_CRL) crl = NULL;
        if (!data)
            return SNPG_EXIT_ERROR;
        crl = snpg_crl_load(g_bytes_get_data(data, NULL), g_bytes_get_size(data), &error);
        if (!crl) {
            snpg_cli_error(_("cannot use the CRL '%s': %s"), a.crl, error->message);
            return SNPG_EXIT_ERROR;
        }
        snpg_verifier_set_crl(v, crl);
    }
    if ((rc = load_supplied(v, SNPG_AMD_CERT_ARK, a.ark, extra)) != SNPG_EXIT_OK ||
        (rc = load_supplied(v, SNPG_AMD_CERT_ASK, a.ask, extra)) != SNPG_EXIT_OK ||
        (rc = load_supplied(v, SNPG_AMD_CERT_ASVK, a.asvk, extra)) != SNPG_EXIT_OK)
        return rc;

    if (!(report = read_input(argv[1], _("report"))))
        return SNPG_EXIT_ERROR;
    if (a.cert) {
        if (!(cert = read_input(a.cert, _("certificate"))))
            return SNPG_EXIT_ERROR;
    } else {
        gboolean usage = FALSE;

        cert = find_cached_cert(v, a.cache ? a.cache : snpg_certcache_default_dir(), report,
                                opts.product, a.ask || a.asvk, a.ark != NULL, &usage);
        if (usage)
            return SNPG_EXIT_USAGE;
    }

    res = snpg_verifier_verify(v, g_bytes_get_data(report, NULL), g_bytes_get_size(report),
                               cert ? g_bytes_get_data(cert, NULL) : NULL,
                               cert ? g_bytes_get_size(cert) : 0, &opts);
    print_result(res, extra, a.json);
    return snpg_verify_result_accepted(res) && extra->len == 0 ? SNPG_EXIT_OK : SNPG_EXIT_REJECTED;
}

static int
run(int argc, char **argv)
{
    if (argc >= 2 && g_str_equal(argv[1], "show"))
        return run_show(argc - 1, argv + 1);
    if (argc >= 2 && g_str_equal(argv[1], "verify"))
        return run_verify(argc - 1, argv + 1);
    if (argc >= 2 && (g_str_equal(argv[1], "--help") || g_str_equal(argv[1], "-h"))) {
        printf(_("Usage: snpguard report show REPORT [--json]\n"
                 "       snpguard report verify REPORT [OPTION...]\n\n"
                 "Run 'snpguard report verify --help' for the verification options.\n"));
        return SNPG_EXIT_OK;
    }
    snpg_cli_error(_("expected 'report show' or 'report verify'"));
    return SNPG_EXIT_USAGE;
}

const SnpgCommand snpg_cmd_report = {
    "report", N_("Show or verify an SEV-SNP attestation report"), run,
};
