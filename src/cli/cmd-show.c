/* snpguard show: one managed VM: its settings, the expected measurement
 * with its breakdown (the 'measure --explain' stages), the files it rests
 * on with their digests, every assumption, and the last verdict. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <glib/gi18n.h>

#include "cli-util.h"
#include "command.h"
#include "domain.h"
#include "hex.h"
#include "measure-explain.h"
#include "registry.h"
#include "statedir.h"
#include "virt.h"

#define FAIL(...) (snpg_cli_error(__VA_ARGS__), SNPG_EXIT_ERROR)

/* The breakdown needs the domain's launch values: from libvirt's
 * definition. NULL (with the reason in *ret_why) when it is unavailable. */
static SnpgMeasureExplain *
explain_domain(const char *connect, const char *name, char **ret_why)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(SnpgVirt) virt = snpg_virt_open(connect, &error);
    g_autofree char *xml = NULL;
    g_autoptr(xmlDoc) doc = NULL;
    g_auto(SnpgLaunchInputs) in = { 0 };
    SnpgMeasureExplain *ex = NULL;
    guint8 digest[SNPG_MEASURE_SNP_DIGEST_SIZE];

    if (!virt || !(xml = snpg_virt_get_xml(virt, name, FALSE, &error)) ||
        !(doc = snpg_domain_parse(xml, strlen(xml), name, &error)) ||
        !snpg_domain_launch_inputs(doc, &in, &error) ||
        !snpg_domain_measure(&in, digest, &ex, &error)) {
        *ret_why = g_strdup(error->message);
        return NULL;
    }
    return ex;
}

static void
print_text(const SnpgVmRecord *rec, const SnpgMeasureExplain *ex, const char *why,
           const SnpgEvent *last)
{
    g_autofree char *created = snpg_event_format_time(rec->created);

    printf(_("Name:                 %s\n"), rec->name);
    printf(_("UUID:                 %s\n"), rec->uuid);
    printf(_("Workflow:             %s\n"), rec->workflow);
    printf(_("Emulated:             %s\n"), rec->emulate ? _("yes (simulated secure processor, "
                                                             "TEST keys)") : _("no"));
    printf(_("Verifier:             %s\n"), rec->verifier_mode ? rec->verifier_mode : "-");
    printf(_("Failure action:       %s\n"), rec->failure_action ? rec->failure_action : "-");
    printf(_("Disk key:             %s\n"), rec->key_path ? rec->key_path : _("none"));
    printf(_("Defined:              %s\n"), created);
    printf(_("Expected measurement: %s\n"), rec->expected_measurement);
    printf(_("Settings:\n"));
    for (guint i = 0; i < rec->settings->len; i++) {
        const SnpgVmSetting *s = g_ptr_array_index(rec->settings, i);

        if (!g_str_has_prefix(s->key, "assumption-"))
            printf("  %s: %s\n", s->key, s->value);
    }
    printf(_("Files the measurement rests on (digests at define):\n"));
    for (guint i = 0; i < rec->inputs->len; i++) {
        const SnpgVmInput *in = g_ptr_array_index(rec->inputs, i);

        printf("  %-10s %s %s:%s\n", in->role, in->path, in->algorithm, in->digest);
    }
    printf(_("Assumptions:\n"));
    for (guint i = 0; i < rec->settings->len; i++) {
        const SnpgVmSetting *s = g_ptr_array_index(rec->settings, i);

        if (g_str_has_prefix(s->key, "assumption-"))
            printf("  - %s\n", s->value);
    }
    printf(_("Breakdown (from the domain's definition now):\n"));
    if (ex) {
        g_autofree char *now = snpg_hex_encode(ex->digest, ex->digest_len);

        snpg_cli_print_measure_explain(ex, FALSE);
        printf(g_ascii_strcasecmp(now, rec->expected_measurement) == 0
               ? _("The files measure as expected.\n")
               : _("The files NO LONGER measure as expected: a start would be refused.\n"));
    } else {
        printf(_("  unavailable: %s\n"), why);
    }
    if (last) {
        g_autofree char *time = snpg_event_format_time(last->time);
        g_autofree char *reasons = last->reasons ? g_strjoinv(", ", last->reasons) : NULL;

        printf(_("Last verdict:         %s (%s, %s)%s%s\n"), snpg_verdict_to_string(last->verdict),
               snpg_event_kind_to_string(last->kind), time, reasons && *reasons ? ": " : "",
               reasons && *reasons ? reasons : "");
    } else {
        printf(_("Last verdict:         none yet\n"));
    }
}

static void
print_json(const SnpgVmRecord *rec, const SnpgMeasureExplain *ex, const char *why,
           const SnpgEvent *last)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(JsonNode) root = NULL;
    g_autofree char *created = snpg_event_format_time(rec->created);

    json_builder_begin_object(b);
    snpg_cli_json_add_string(b, "name", rec->name);
    snpg_cli_json_add_string(b, "uuid", rec->uuid);
    snpg_cli_json_add_string(b, "workflow", rec->workflow);
    json_builder_set_member_name(b, "emulate");
    json_builder_add_boolean_value(b, rec->emulate);
    snpg_cli_json_add_string(b, "verifier_mode", rec->verifier_mode);
    snpg_cli_json_add_string(b, "failure_action", rec->failure_action);
    json_builder_set_member_name(b, "has_key");
    json_builder_add_boolean_value(b, rec->key_path != NULL);
    snpg_cli_json_add_string(b, "created", created);
    snpg_cli_json_add_string(b, "expected_measurement", rec->expected_measurement);
    json_builder_set_member_name(b, "settings");
    json_builder_begin_object(b);
    for (guint i = 0; i < rec->settings->len; i++) {
        const SnpgVmSetting *s = g_ptr_array_index(rec->settings, i);

        if (!g_str_has_prefix(s->key, "assumption-"))
            snpg_cli_json_add_string(b, s->key, s->value);
    }
    json_builder_end_object(b);
    json_builder_set_member_name(b, "inputs");
    json_builder_begin_array(b);
    for (guint i = 0; i < rec->inputs->len; i++) {
        const SnpgVmInput *in = g_ptr_array_index(rec->inputs, i);

        json_builder_begin_object(b);
        snpg_cli_json_add_string(b, "role", in->role);
        snpg_cli_json_add_string(b, "path", in->path);
        snpg_cli_json_add_string(b, "algorithm", in->algorithm);
        snpg_cli_json_add_string(b, "digest", in->digest);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_set_member_name(b, "assumptions");
    json_builder_begin_array(b);
    for (guint i = 0; i < rec->settings->len; i++) {
        const SnpgVmSetting *s = g_ptr_array_index(rec->settings, i);

        if (g_str_has_prefix(s->key, "assumption-"))
            json_builder_add_string_value(b, s->value);
    }
    json_builder_end_array(b);
    json_builder_set_member_name(b, "breakdown");
    if (ex) {
        json_builder_begin_object(b);
        snpg_cli_json_add_measure_explain(b, ex, FALSE);
        json_builder_end_object(b);
    } else {
        json_builder_begin_object(b);
        snpg_cli_json_add_string(b, "unavailable", why);
        json_builder_end_object(b);
    }
    json_builder_set_member_name(b, "last_verdict");
    if (last) {
        g_autofree char *time = snpg_event_format_time(last->time);

        json_builder_begin_object(b);
        snpg_cli_json_add_string(b, "time", time);
        snpg_cli_json_add_string(b, "event", snpg_event_kind_to_string(last->kind));
        snpg_cli_json_add_string(b, "verdict", snpg_verdict_to_string(last->verdict));
        json_builder_set_member_name(b, "reasons");
        json_builder_begin_array(b);
        for (gsize i = 0; last->reasons && last->reasons[i]; i++)
            json_builder_add_string_value(b, last->reasons[i]);
        json_builder_end_array(b);
        json_builder_end_object(b);
    } else {
        json_builder_add_null_value(b);
    }
    json_builder_end_object(b);
    root = json_builder_get_root(b);
    snpg_cli_print_json(root);
}

static int
run(int argc, char **argv)
{
    g_autofree char *state_opt = NULL, *connect = NULL, *state_dir = NULL, *why = NULL;
    gboolean json = FALSE;
    const GOptionEntry entries[] = {
        { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print JSON"), NULL },
        { "connect", 'c', 0, G_OPTION_ARG_STRING, &connect,
          N_("libvirt URI (default qemu:///system)"), N_("URI") },
        { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_opt,
          N_("State directory (default $SNPGUARD_STATE_DIR or /var/lib/snpguard)"), N_("DIR") },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx = snpg_cli_context_new("show", "NAME",
        _("Show a managed VM: settings, expected measurement and its breakdown, the files\n"
          "and assumptions it rests on, and the last verdict."), entries);
    g_autoptr(GError) error = NULL;
    g_autoptr(SnpgRegistry) reg = NULL;
    g_autoptr(SnpgVmRecord) rec = NULL;
    g_autoptr(SnpgEvent) last = NULL;
    g_autoptr(SnpgMeasureExplain) ex = NULL;

    if (!snpg_cli_parse(ctx, &argc, &argv))
        return SNPG_EXIT_USAGE;
    if (argc != 2) {
        snpg_cli_error(argc < 2 ? _("expected the VM's NAME") : _("unexpected argument '%s'"),
                       argv[argc < 2 ? 0 : 2]);
        return SNPG_EXIT_USAGE;
    }
    state_dir = snpg_state_dir_resolve(state_opt);
    if (!(reg = snpg_registry_open(state_dir, SNPG_REGISTRY_OPEN_DEFAULT, &error)) ||
        !(rec = snpg_registry_get_vm(reg, argv[1], &error)) ||
        !snpg_registry_last_verdict(reg, rec, &last, &error))
        return FAIL("%s", error->message);
    ex = explain_domain(connect ? connect : snpg_vm_record_get_setting(rec, "connect"), rec->name,
                        &why);
    if (json)
        print_json(rec, ex, why, last);
    else
        print_text(rec, ex, why, last);
    return fflush(stdout) == 0 ? SNPG_EXIT_OK : FAIL(_("Cannot write the output."));
}

const SnpgCommand snpg_cmd_show = {
    "show", N_("Show a managed VM, its expected measurement and what it rests on"), run,
};
