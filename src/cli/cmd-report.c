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
#include "policy.h"
#include "report.h"
#include "verify-args.h"
#include "verify.h"

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
    product = snpg_cli_parse_product(opt_product, &ok);
    if (!ok)
        return SNPG_EXIT_USAGE;
    if (!(data = snpg_cli_read_file_max(argv[1], _("report"), SNPG_CLI_REPORT_FILE_MAX)))
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

static int
run_verify(int argc, char **argv)
{
    g_auto(SnpgVerifyArgs) a = SNPG_VERIFY_ARGS_INIT;
    g_autoptr(GOptionContext) ctx = snpg_cli_context_new("report verify", N_("REPORT"),
        _("Verify an SEV-SNP attestation report: AMD chain, signature, binding and reference values.\n"
          "Exit status: 0 accepted, 3 rejected (reasons on stdout), 1 unreadable input, 2 usage."),
        NULL);
    g_autoptr(SnpgAttestPolicy) policy = NULL;
    g_autoptr(GBytes) report = NULL;
    g_autoptr(SnpgVerifyResult) res = NULL;
    int rc;

    snpg_verify_args_add_entries(ctx, &a, TRUE);
    if (!snpg_cli_parse(ctx, &argc, &argv))
        return SNPG_EXIT_USAGE;
    if (argc != 2) {
        snpg_cli_error(_("expected one REPORT file"));
        return SNPG_EXIT_USAGE;
    }
    if ((rc = snpg_verify_args_policy(&a, &policy)) != SNPG_EXIT_OK)
        return rc;
    if (!(report = snpg_cli_read_file_max(argv[1], _("report"), SNPG_CLI_REPORT_FILE_MAX)))
        return SNPG_EXIT_ERROR;
    if (!snpg_verify_args_check_report(&a, policy, report))
        return SNPG_EXIT_USAGE;

    res = snpg_attest_policy_verify(policy, report, NULL, NULL);
    if (a.json) {
        g_autoptr(JsonBuilder) b = json_builder_new();
        g_autoptr(JsonNode) root = NULL;
        json_builder_begin_object(b);
        snpg_verify_result_add_json(b, res);
        json_builder_end_object(b);
        root = json_builder_get_root(b);
        snpg_cli_print_json(root);
    } else {
        snpg_verify_result_print(res);
    }
    return snpg_verify_result_accepted(res) ? SNPG_EXIT_OK : SNPG_EXIT_REJECTED;
}

static const SnpgCommand subcommands[] = {
    { "show", NULL, run_show },
    { "verify", NULL, run_verify },
    { NULL }
};

static const char help[] =
    N_("Usage: snpguard report show REPORT [--json] [--product Milan|Genoa|Turin]\n"
       "       snpguard report verify REPORT [OPTION...]\n\n"
       "Show or verify an SEV-SNP attestation report.\n"
       "Run 'snpguard report SUBCOMMAND --help' for options.\n");

const SnpgCommand snpg_cmd_report = {
    "report", N_("Show or verify an SEV-SNP attestation report"), NULL, subcommands, help,
};
