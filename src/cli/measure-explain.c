/* The stages of a launch measurement (snpguard measure --explain), as text
 * and as JSON members: one printer for 'measure' and 'show'. */
#include "config.h"

#include <stdio.h>

#include <glib/gi18n.h>

#include "cli-util.h"
#include "hex.h"
#include "measure-explain.h"

static char *
format_digest(const guint8 *digest, gsize len, gboolean base64)
{
    return base64 ? g_base64_encode(digest, len) : snpg_hex_encode(digest, len);
}

void
snpg_cli_print_measure_explain(const SnpgMeasureExplain *ex, gboolean base64)
{
    gsize dlen = ex->digest_len;
    g_autofree char *fw_digest = snpg_hex_encode(ex->firmware_digest,
                                        ex->mode == SNPG_MEASURE_MODE_SEV ||
                                        ex->mode == SNPG_MEASURE_MODE_SEV_ES ? 32 : 48);

    printf(_("mode: %s\n"), snpg_measure_mode_to_string(ex->mode));
    printf(_("firmware: %s (%llu bytes at guest address 0x%llx)\n"), ex->firmware,
           (unsigned long long)ex->firmware_size, (unsigned long long)ex->firmware_gpa);
    printf(_("firmware %s: %s\n"), ex->firmware_digest_name, fw_digest);
    if (ex->has_svsm) {
        g_autofree char *svsm_digest = snpg_hex_encode(ex->svsm_digest, 48);

        printf(_("OVMF variable store: %llu bytes at guest address 0x%llx (not measured)\n"),
               (unsigned long long)ex->vars_size, (unsigned long long)ex->vars_gpa);
        printf(_("SVSM image: %s (%llu bytes at guest address 0x%llx, entry point 0x%08x)\n"),
               ex->svsm, (unsigned long long)ex->svsm_size, (unsigned long long)ex->svsm_gpa,
               ex->svsm_entry);
        printf(_("SVSM image SHA-384: %s\n"), svsm_digest);
        printf(_("sections: the SVSM image's SEV metadata (the firmware's is not measured); "
                 "every vCPU starts at the SVSM entry point with sev_features 0x1\n"));
    }
    if (ex->has_hashes) {
        g_autofree char *k = snpg_hex_encode(ex->hashes.kernel, 32);
        g_autofree char *i = snpg_hex_encode(ex->hashes.initrd, 32);
        g_autofree char *c = snpg_hex_encode(ex->hashes.cmdline, 32);

        printf(_("SEV hashes table at 0x%llx:\n"), (unsigned long long)ex->hashes_table_gpa);
        printf(_("  kernel SHA-256:  %s\n"), k);
        printf(_("  initrd SHA-256:  %s\n"), i);
        printf(_("  cmdline SHA-256: %s\n"), c);
    }
    for (guint n = 0; n < ex->stages->len; n++) {
        const SnpgMeasureStage *st = &g_array_index(ex->stages, SnpgMeasureStage, n);
        g_autofree char *after = snpg_hex_encode(st->digest, dlen);
        g_autofree char *contents = snpg_hex_encode(st->contents_digest, st->contents_digest_len);

        switch (st->kind) {
        case SNPG_MEASURE_STAGE_FIRMWARE:
            if (ex->ovmf_hash_given)
                printf(_("firmware pages: precomputed (--snp-ovmf-hash)\n"));
            else
                printf(_("firmware pages: 0x%llx, length 0x%llx\n"),
                       (unsigned long long)st->gpa, (unsigned long long)st->length);
            break;
        case SNPG_MEASURE_STAGE_SECTION:
            printf(_("section %s: 0x%llx, length 0x%llx, measured as %s%s\n"),
                   snpg_ovmf_section_type_to_string(st->section_type),
                   (unsigned long long)st->gpa, (unsigned long long)st->length,
                   st->skipped ? _("nothing here (ec2 measures CPUID pages last)") : st->page_type,
                   st->contents_digest_len ? _(" (the hashes table page)") : "");
            break;
        case SNPG_MEASURE_STAGE_HASHES_TABLE:
            printf(_("SEV hashes table: %llu bytes\n"), (unsigned long long)st->length);
            break;
        case SNPG_MEASURE_STAGE_SVSM:
            printf(_("SVSM image pages: 0x%llx, length 0x%llx\n"),
                   (unsigned long long)st->gpa, (unsigned long long)st->length);
            break;
        case SNPG_MEASURE_STAGE_VMSA:
            printf(_("vCPU %u (%s): eip 0x%08x, signature 0x%08llx, VMSA %s %s\n"),
                   st->vcpu, ex->has_svsm ? "SVSM" : st->vcpu == 0 ? "BSP" : "AP", st->eip,
                   (unsigned long long)st->rdx, dlen == 48 ? "SHA-384" : "SHA-256", contents);
            break;
        default:
            break;
        }
        if (!st->skipped)
            printf(_("  digest after: %s\n"), after);
    }
    {
        g_autofree char *final = format_digest(ex->digest, dlen, base64);
        printf(_("measurement: %s\n"), final);
    }
}

void
snpg_cli_json_add_measure_explain(JsonBuilder *b, const SnpgMeasureExplain *ex, gboolean base64)
{
    g_autofree char *final = format_digest(ex->digest, ex->digest_len, base64);
    gsize dlen = ex->digest_len;

    snpg_cli_json_add_string(b, "mode", snpg_measure_mode_to_string(ex->mode));
    snpg_cli_json_add_string(b, "measurement", final);
    json_builder_set_member_name(b, "firmware");
    json_builder_begin_object(b);
    snpg_cli_json_add_string(b, "path", ex->firmware);
    snpg_cli_json_add_int(b, "size", (gint64)ex->firmware_size);
    snpg_cli_json_add_int(b, "gpa", (gint64)ex->firmware_gpa);
    snpg_cli_json_add_string(b, "digest_algorithm", ex->firmware_digest_name);
    snpg_cli_json_add_hex(b, "digest", ex->firmware_digest, g_str_equal(ex->firmware_digest_name, "SHA-384") ? 48 : 32);
    json_builder_set_member_name(b, "precomputed_hash");
    json_builder_add_boolean_value(b, ex->ovmf_hash_given);
    json_builder_end_object(b);
    if (ex->has_svsm) {
        json_builder_set_member_name(b, "svsm");
        json_builder_begin_object(b);
        snpg_cli_json_add_string(b, "path", ex->svsm);
        snpg_cli_json_add_int(b, "size", (gint64)ex->svsm_size);
        snpg_cli_json_add_int(b, "gpa", (gint64)ex->svsm_gpa);
        snpg_cli_json_add_int(b, "entry", ex->svsm_entry);
        snpg_cli_json_add_string(b, "digest_algorithm", "SHA-384");
        snpg_cli_json_add_hex(b, "digest", ex->svsm_digest, 48);
        snpg_cli_json_add_int(b, "vars_size", (gint64)ex->vars_size);
        snpg_cli_json_add_int(b, "vars_gpa", (gint64)ex->vars_gpa);
        json_builder_end_object(b);
    }
    if (ex->has_hashes) {
        json_builder_set_member_name(b, "sev_hashes");
        json_builder_begin_object(b);
        snpg_cli_json_add_int(b, "table_gpa", (gint64)ex->hashes_table_gpa);
        snpg_cli_json_add_hex(b, "kernel", ex->hashes.kernel, 32);
        snpg_cli_json_add_hex(b, "initrd", ex->hashes.initrd, 32);
        snpg_cli_json_add_hex(b, "cmdline", ex->hashes.cmdline, 32);
        snpg_cli_json_add_hex(b, "table", ex->hashes_table, SNPG_SEV_HASHES_TABLE_SIZE);
        json_builder_end_object(b);
    }
    json_builder_set_member_name(b, "stages");
    json_builder_begin_array(b);
    for (guint n = 0; n < ex->stages->len; n++) {
        const SnpgMeasureStage *st = &g_array_index(ex->stages, SnpgMeasureStage, n);
        static const char *const kinds[] = { "firmware", "section", "hashes-table", "vmsa", "svsm" };

        json_builder_begin_object(b);
        snpg_cli_json_add_string(b, "stage", kinds[st->kind]);
        if (st->kind == SNPG_MEASURE_STAGE_SECTION)
            snpg_cli_json_add_string(b, "section", snpg_ovmf_section_type_to_string(st->section_type));
        if (st->kind == SNPG_MEASURE_STAGE_VMSA) {
            snpg_cli_json_add_int(b, "vcpu", st->vcpu);
            snpg_cli_json_add_int(b, "eip", st->eip);
            snpg_cli_json_add_int(b, "signature", (gint64)st->rdx);
        }
        snpg_cli_json_add_int(b, "gpa", (gint64)st->gpa);
        snpg_cli_json_add_int(b, "length", (gint64)st->length);
        if (st->page_type && !st->skipped)
            snpg_cli_json_add_string(b, "page_type", st->page_type);
        if (st->skipped) {
            json_builder_set_member_name(b, "skipped");
            json_builder_add_boolean_value(b, TRUE);
        }
        if (st->contents_digest_len)
            snpg_cli_json_add_hex(b, "contents_digest", st->contents_digest, st->contents_digest_len);
        if (!st->skipped)
            snpg_cli_json_add_hex(b, "digest_after", st->digest, dlen);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
}
