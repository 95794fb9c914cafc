/* snpguard certs: AMD KDS addresses for a report, and the local certificate cache. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "certcache.h"
#include "cli-util.h"
#include "command.h"
#include "report.h"

#define REPORT_FILE_MAX 4096   /* a report has 1184 bytes */

static gboolean
parse_product(const char *text, SnpgProduct *ret)
{
    *ret = snpg_product_from_string(text);
    if (*ret == SNPG_PRODUCT_UNKNOWN) {
        snpg_cli_error(_("unknown product '%s' (expected Milan, Genoa or Turin)"), text);
        return FALSE;
    }
    return TRUE;
}

/* ---- certs url --------------------------------------------------------- */

static int
run_url(int argc, char **argv)
{
    g_autofree char *product_text = NULL;
    gboolean json = FALSE;
    const GOptionEntry entries[] = {
        { "product", 0, 0, G_OPTION_ARG_STRING, &product_text,
          N_("Product line (needed for version 2 reports, which carry no CPUID)"),
          N_("Milan|Genoa|Turin") },
        { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print JSON"), NULL },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx = snpg_cli_context_new("certs url", "REPORT",
        _("Print the AMD KDS addresses of the VCEK, the certificate chain and the CRL for a "
          "report, to fetch them on a connected machine (e.g. curl -o vcek.der URL)."),
        entries);
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) data = NULL;
    g_autofree char *leaf = NULL, *chain = NULL, *crl = NULL;
    g_autoptr(SnpgReport) report = NULL;
    SnpgProduct product = SNPG_PRODUCT_UNKNOWN;
    SnpgTcb tcb;
    gboolean vlek;
    GStatBuf st;

    if (!snpg_cli_parse(ctx, &argc, &argv))
        return SNPG_EXIT_USAGE;
    if (argc != 2) {
        snpg_cli_error(_("certs url takes one report file"));
        return SNPG_EXIT_USAGE;
    }
    if (product_text && !parse_product(product_text, &product))
        return SNPG_EXIT_USAGE;
    if (g_stat(argv[1], &st) == 0 && st.st_size > REPORT_FILE_MAX) {
        snpg_cli_error(_("'%s' is too large for an attestation report"), argv[1]);
        return SNPG_EXIT_ERROR;
    }
    if (!(data = snpg_cli_read_file_max(argv[1], _("report"), SNPG_CLI_REPORT_FILE_MAX)))
        return SNPG_EXIT_ERROR;
    if (!(report = snpg_report_parse(g_bytes_get_data(data, NULL), g_bytes_get_size(data),
                                     &error))) {
        snpg_cli_error(_("'%s' is not a valid attestation report: %s"), argv[1], error->message);
        return SNPG_EXIT_ERROR;
    }
    if (report->product != SNPG_PRODUCT_UNKNOWN && product != SNPG_PRODUCT_UNKNOWN &&
        report->product != product) {
        snpg_cli_error(_("the report's CPUID says %s, not %s"),
                       snpg_product_to_string(report->product), snpg_product_to_string(product));
        return SNPG_EXIT_ERROR;
    }
    if (report->product != SNPG_PRODUCT_UNKNOWN)
        product = report->product;
    if (product == SNPG_PRODUCT_UNKNOWN) {
        snpg_cli_error(report->has_cpuid
                           ? _("the report's CPUID names no known product: give --product Milan, Genoa or Turin")
                           : _("a version 2 report does not say its product: give --product Milan, Genoa or Turin"));
        return SNPG_EXIT_USAGE;
    }
    if (report->signing_key != SNPG_SIGNING_KEY_VCEK && report->signing_key != SNPG_SIGNING_KEY_VLEK) {
        snpg_cli_error(_("the report is not signed by a VCEK or a VLEK (signing key field %u)"),
                       report->signing_key);
        return SNPG_EXIT_ERROR;
    }
    vlek = report->signing_key == SNPG_SIGNING_KEY_VLEK;
    snpg_tcb_decode(report->reported_tcb, product, &tcb);
    if (!vlek && !(leaf = snpg_certcache_vcek_url(product, report->chip_id, &tcb, &error))) {
        snpg_cli_error("%s", error->message);
        return SNPG_EXIT_ERROR;
    }
    chain = snpg_certcache_chain_url(product, vlek);
    crl = snpg_certcache_crl_url(product, vlek);

    if (json) {
        g_autoptr(JsonBuilder) b = json_builder_new();
        g_autoptr(JsonNode) root = NULL;

        json_builder_begin_object(b);
        json_builder_set_member_name(b, "product");
        json_builder_add_string_value(b, snpg_product_to_string(product));
        json_builder_set_member_name(b, "signing_key");
        json_builder_add_string_value(b, vlek ? "VLEK" : "VCEK");
        /* Always "vcek" (stable for scripts): null for a VLEK report, whose
         * leaf KDS does not serve per chip. */
        json_builder_set_member_name(b, "vcek");
        if (leaf)
            json_builder_add_string_value(b, leaf);
        else
            json_builder_add_null_value(b);
        json_builder_set_member_name(b, "cert_chain");
        json_builder_add_string_value(b, chain);
        json_builder_set_member_name(b, "crl");
        json_builder_add_string_value(b, crl);
        json_builder_end_object(b);
        root = json_builder_get_root(b);
        snpg_cli_print_json(root);
    } else {
        if (leaf)
            printf("vcek: %s\n", leaf);
        else
            printf("# %s\n", _("VLEK: issued to the cloud provider, not served by KDS per chip; "
                               "the host supplies it with the report"));
        printf("cert_chain: %s\ncrl: %s\n", chain, crl);
    }
    return SNPG_EXIT_OK;
}

/* ---- certs import / list ----------------------------------------------- */

static void
print_entries(GPtrArray *entries, gboolean json, gboolean show_verified)
{
    if (json) {
        g_autoptr(JsonBuilder) b = json_builder_new();
        g_autoptr(JsonNode) root = NULL;

        json_builder_begin_array(b);
        for (guint i = 0; i < entries->len; i++) {
            const SnpgCertcacheEntry *e = entries->pdata[i];
            json_builder_begin_object(b);
            json_builder_set_member_name(b, "kind");
            json_builder_add_string_value(b, snpg_certcache_kind_to_string(e->kind));
            json_builder_set_member_name(b, "product");
            json_builder_add_string_value(b, snpg_product_to_string(e->product));
            json_builder_set_member_name(b, "path");
            json_builder_add_string_value(b, e->path);
            json_builder_set_member_name(b, "subject");
            json_builder_add_string_value(b, e->subject);
            if (e->not_after) {
                g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(e->not_after);
                g_autofree char *t = dt ? g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ") : NULL;
                json_builder_set_member_name(b, "not_after");
                json_builder_add_string_value(b, t);
            }
            if (e->kind == SNPG_CERTCACHE_KIND_VCEK || e->kind == SNPG_CERTCACHE_KIND_VLEK) {
                json_builder_set_member_name(b, "tcb");
                json_builder_begin_object(b);
                if (e->product == SNPG_PRODUCT_TURIN) {
                    json_builder_set_member_name(b, "fmc");
                    json_builder_add_int_value(b, e->tcb.fmc);
                }
                json_builder_set_member_name(b, "bl");
                json_builder_add_int_value(b, e->tcb.bl);
                json_builder_set_member_name(b, "tee");
                json_builder_add_int_value(b, e->tcb.tee);
                json_builder_set_member_name(b, "snp");
                json_builder_add_int_value(b, e->tcb.snp);
                json_builder_set_member_name(b, "ucode");
                json_builder_add_int_value(b, e->tcb.ucode);
                json_builder_end_object(b);
            }
            if (e->hwid) {
                json_builder_set_member_name(b, "hwid");
                json_builder_add_string_value(b, e->hwid);
            }
            if (show_verified) {
                json_builder_set_member_name(b, "signature_checked");
                json_builder_add_boolean_value(b, e->verified);
            }
            json_builder_end_object(b);
        }
        json_builder_end_array(b);
        root = json_builder_get_root(b);
        snpg_cli_print_json(root);
        return;
    }
    for (guint i = 0; i < entries->len; i++) {
        const SnpgCertcacheEntry *e = entries->pdata[i];
        g_autofree char *tcb = NULL;

        if (e->kind == SNPG_CERTCACHE_KIND_VCEK || e->kind == SNPG_CERTCACHE_KIND_VLEK) {
            if (e->product == SNPG_PRODUCT_TURIN)
                tcb = g_strdup_printf(" fmc=%u bl=%u tee=%u snp=%u ucode=%u", e->tcb.fmc,
                                      e->tcb.bl, e->tcb.tee, e->tcb.snp, e->tcb.ucode);
            else
                tcb = g_strdup_printf(" bl=%u tee=%u snp=%u ucode=%u", e->tcb.bl, e->tcb.tee,
                                      e->tcb.snp, e->tcb.ucode);
        }
        printf("%-5s %-5s %s%s%s%s%s\n", snpg_product_to_string(e->product),
               snpg_certcache_kind_to_string(e->kind), e->path, tcb ? tcb : "",
               e->hwid ? " hwid=" : "", e->hwid ? e->hwid : "",
               show_verified && !e->verified ? _(" (issuer not cached: signature not checked)")
                                             : "");
    }
}

static int
run_import(int argc, char **argv)
{
    g_autofree char *cache = NULL;
    gboolean json = FALSE;
    const GOptionEntry entries[] = {
        { "cache", 0, 0, G_OPTION_ARG_FILENAME, &cache,
          N_("Certificate cache (default $SNPGUARD_CERT_CACHE or /var/lib/snpguard/certs)"),
          N_("DIR") },
        { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print JSON"), NULL },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx = snpg_cli_context_new("certs import", "FILE...",
        _("Import VCEK/VLEK certificates (DER or PEM), ASK/ASVK/ARK chains (PEM) and CRLs into "
          "the local certificate cache."), entries);
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) imported = NULL;

    if (!snpg_cli_parse(ctx, &argc, &argv))
        return SNPG_EXIT_USAGE;
    if (argc < 2) {
        snpg_cli_error(_("certs import takes one or more files"));
        return SNPG_EXIT_USAGE;
    }
    imported = snpg_certcache_import(cache ? cache : snpg_certcache_default_dir(),
                                     (const char *const *)argv + 1, &error);
    if (!imported) {
        snpg_cli_error("%s", error->message);
        return SNPG_EXIT_ERROR;
    }
    print_entries(imported, json, TRUE);
    return SNPG_EXIT_OK;
}

static int
run_list(int argc, char **argv)
{
    g_autofree char *cache = NULL;
    gboolean json = FALSE;
    const GOptionEntry entries[] = {
        { "cache", 0, 0, G_OPTION_ARG_FILENAME, &cache,
          N_("Certificate cache (default $SNPGUARD_CERT_CACHE or /var/lib/snpguard/certs)"),
          N_("DIR") },
        { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print JSON"), NULL },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx = snpg_cli_context_new("certs list", NULL,
        _("List the certificates and CRLs in the local certificate cache."), entries);
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) list = NULL;

    if (!snpg_cli_parse(ctx, &argc, &argv))
        return SNPG_EXIT_USAGE;
    if (argc != 1) {
        snpg_cli_error(_("certs list takes no arguments, only options: '%s'"), argv[1]);
        return SNPG_EXIT_USAGE;
    }
    list = snpg_certcache_list(cache ? cache : snpg_certcache_default_dir(), &error);
    if (!list) {
        snpg_cli_error("%s", error->message);
        return SNPG_EXIT_ERROR;
    }
    print_entries(list, json, FALSE);
    return SNPG_EXIT_OK;
}

static const SnpgCommand subcommands[] = {
    { "url", NULL, run_url },
    { "import", NULL, run_import },
    { "list", NULL, run_list },
    { NULL }
};

static const char help[] =
    N_("Usage: snpguard certs url REPORT [--product Milan|Genoa|Turin] [--json]\n"
       "       snpguard certs import FILE... [--cache DIR] [--json]\n"
       "       snpguard certs list [--cache DIR] [--json]\n\n"
       "AMD KDS addresses for a report and the local certificate cache.\n"
       "Run 'snpguard certs SUBCOMMAND --help' for options.\n");

const SnpgCommand snpg_cmd_certs = {
    "certs", N_("AMD certificate addresses and the local cache (url, import, list)"), NULL,
    subcommands, help,
};
