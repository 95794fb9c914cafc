/* The verification options shared by `report verify` and `attest`. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <glib/gi18n.h>

#include "amd-certs.h"
#include "autocleanups.h"
#include "certcache.h"
#include "cli-util.h"
#include "command.h"
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
    g_free(a->vmpl); g_free(a->min_guest_svn);
    g_free(a->product); g_free(a->min_tcb); g_free(a->policy_max); g_free(a->min_abi);
    g_free(a->min_policy_abi);
    g_free(a->platform_info_mask); g_free(a->platform_info_required);
}

/* Applies the command-line values over the reference file's, each through
 * the parser of the reference key of the same name. */
static gboolean
apply_options(SnpgVerifyArgs *a, SnpgAttestPolicy *policy)
{
    const struct { const char *key; const char *value; } single[] = {
        { "report-data", a->report_data }, { "host-data", a->host_data },
        { "family-id", a->family_id }, { "image-id", a->image_id },
        { "id-key-digest", a->id_key_digest }, { "author-key-digest", a->author_key_digest },
        { "vmpl", a->vmpl }, { "min-guest-svn", a->min_guest_svn },
        { "min-tcb", a->min_tcb }, { "allow-debug", a->allow_debug ? "true" : NULL },
        { "policy-max", a->policy_max }, { "min-abi", a->min_abi },
        { "min-policy-abi", a->min_policy_abi }, { "platform-info-mask", a->platform_info_mask },
        { "platform-info-required", a->platform_info_required }, { "product", a->product },
    };
    g_autoptr(GError) error = NULL;
    gboolean ok = TRUE;

    for (gsize i = 0; ok && a->measurements && a->measurements[i]; i++)
        ok = snpg_attest_policy_set_option(policy, "measurement", a->measurements[i], &error);
    for (gsize i = 0; ok && a->chip_ids && a->chip_ids[i]; i++)
        ok = snpg_attest_policy_set_option(policy, "chip-id", a->chip_ids[i], &error);
    for (gsize i = 0; ok && i < G_N_ELEMENTS(single); i++)
        if (single[i].value)
            ok = snpg_attest_policy_set_option(policy, single[i].key, single[i].value, &error);
    if (!ok) {
        snpg_cli_error("%s", error->message);
        return FALSE;
    }
    if (a->now) {
        gint64 now = 0;
        if (!snpg_verify_parse_time(a->now, &now, &error)) {
            snpg_cli_error("%s", error->message);
            return FALSE;
        }
        snpg_attest_policy_set_now(policy, now);
    }
    return TRUE;
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
        { "vmpl", 0, 0, G_OPTION_ARG_STRING, &a->vmpl, N_("Required VMPL (0-3)"), N_("N") },
        { "min-guest-svn", 0, 0, G_OPTION_ARG_STRING, &a->min_guest_svn, N_("Minimum guest SVN"), N_("N") },
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
snpg_verify_args_policy(SnpgVerifyArgs *a, SnpgAttestPolicy **ret_policy)
{
    g_autoptr(SnpgAttestPolicy) policy = snpg_attest_policy_new();
    g_autoptr(GError) error = NULL;
    const struct { SnpgAmdCertKind kind; const char *path; } chain[] = {
        { SNPG_AMD_CERT_ARK, a->ark }, { SNPG_AMD_CERT_ASK, a->ask }, { SNPG_AMD_CERT_ASVK, a->asvk },
    };

    if (a->ask && a->asvk) {
        snpg_cli_error(_("give --ask or --asvk, not both"));
        return SNPG_EXIT_USAGE;
    }
    if (a->reference && !snpg_attest_policy_load_reference_file(policy, a->reference, &error)) {
        snpg_cli_error("%s", error->message);
        return SNPG_EXIT_ERROR;
    }
    if (!apply_options(a, policy))
        return SNPG_EXIT_USAGE;

    if (a->trust_root) {
        g_autoptr(GBytes) data = snpg_cli_read_file(a->trust_root, _("trust root"));
        if (!data)
            return SNPG_EXIT_ERROR;
        if (!snpg_attest_policy_set_trust_root(policy, data, &error)) {
            snpg_cli_error(_("cannot use the trust root '%s': %s"), a->trust_root, error->message);
            return SNPG_EXIT_ERROR;
        }
    }
    if (a->crl) {
        g_autoptr(GBytes) data = snpg_cli_read_file(a->crl, _("CRL"));
        if (!data)
            return SNPG_EXIT_ERROR;
        if (!snpg_attest_policy_set_crl(policy, data, &error)) {
            snpg_cli_error(_("cannot use the CRL '%s': %s"), a->crl, error->message);
            return SNPG_EXIT_ERROR;
        }
    }
    /* Supplied certificates are evidence: one that cannot be read is an
     * error of the command, one that does not parse a reason of the verdict. */
    for (gsize i = 0; i < G_N_ELEMENTS(chain); i++) {
        g_autoptr(GBytes) data = NULL;
        if (!chain[i].path)
            continue;
        if (!(data = snpg_cli_read_file(chain[i].path, snpg_amd_cert_kind_to_string(chain[i].kind))))
            return SNPG_EXIT_ERROR;
        snpg_attest_policy_set_chain_cert(policy, chain[i].kind, data);
    }
    if (a->cert) {
        g_autoptr(GBytes) data = snpg_cli_read_file(a->cert, _("certificate"));
        if (!data)
            return SNPG_EXIT_ERROR;
        snpg_attest_policy_set_leaf(policy, data);
    }
    /* Without --cert: the guest's certificates (attest), then the cache. */
    snpg_attest_policy_set_cache_dir(policy, a->cache ? a->cache : snpg_certcache_default_dir());
    *ret_policy = g_steal_pointer(&policy);
    return SNPG_EXIT_OK;
}

gboolean
snpg_verify_args_check_report(SnpgVerifyArgs *a, SnpgAttestPolicy *policy, GBytes *report)
{
    g_autoptr(SnpgReport) r = NULL;

    if (a->cert || snpg_attest_policy_get_options(policy)->product != SNPG_PRODUCT_UNKNOWN)
        return TRUE;
    r = snpg_report_parse(g_bytes_get_data(report, NULL), g_bytes_get_size(report), NULL);
    if (!r || r->has_cpuid)
        return TRUE;    /* the verifier explains a malformed report */
    snpg_cli_error(_("a version %u report carries no CPUID: give --product (Milan, Genoa or "
                     "Turin) to look its VCEK up in the certificate cache, or --cert"),
                   r->version);
    return FALSE;
}

void
snpg_verify_result_add_json(JsonBuilder *b, const SnpgVerifyResult *res)
{
    snpg_cli_json_add_string(b, "verdict", snpg_verify_result_accepted(res)
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
snpg_verify_result_print(const SnpgVerifyResult *res)
{
    if (snpg_verify_result_accepted(res)) {
        printf(_("accepted: the report is authentic (%s %s) and meets the reference values\n"),
               snpg_product_to_string(res->product), snpg_cert_kind_to_string(res->key_kind));
        return;
    }
    for (guint i = 0; i < res->failures->len; i++) {
        const SnpgVerifyFailure *f = g_ptr_array_index(res->failures, i);
        printf("%s: %s\n", snpg_verify_reason_to_string(f->reason), f->detail);
    }
}
