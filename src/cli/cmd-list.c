/* snpguard list: the VMs in the registry, with their expected measurement
 * and last verdict. */
#include "config.h"

#include <stdio.h>

#include <glib/gi18n.h>

#include "cli-util.h"
#include "command.h"
#include "registry.h"
#include "statedir.h"

static void
put_cell(const char *s, glong width)
{
    glong n = g_utf8_strlen(s, -1);

    fputs(s, stdout);
    for (; n < width; n++)
        putchar(' ');
}

static void
add_last_verdict(JsonBuilder *b, const SnpgEvent *last)
{
    g_autofree char *time = NULL;

    json_builder_set_member_name(b, "last_verdict");
    if (!last) {
        json_builder_add_null_value(b);
        return;
    }
    time = snpg_event_format_time(last->time);
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
}

static void
print_json(GPtrArray *vms, GPtrArray *verdicts)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(JsonNode) root = NULL;

    json_builder_begin_array(b);
    for (guint i = 0; i < vms->len; i++) {
        const SnpgVmRecord *vm = g_ptr_array_index(vms, i);
        g_autofree char *created = snpg_event_format_time(vm->created);

        json_builder_begin_object(b);
        snpg_cli_json_add_string(b, "name", vm->name);
        snpg_cli_json_add_string(b, "uuid", vm->uuid);
        snpg_cli_json_add_string(b, "workflow", vm->workflow);
        snpg_cli_json_add_string(b, "expected_measurement", vm->expected_measurement);
        snpg_cli_json_add_string(b, "failure_action", vm->failure_action);
        snpg_cli_json_add_string(b, "verifier_mode", vm->verifier_mode);
        json_builder_set_member_name(b, "emulate");
        json_builder_add_boolean_value(b, vm->emulate);
        json_builder_set_member_name(b, "has_key");
        json_builder_add_boolean_value(b, vm->key_path != NULL);
        snpg_cli_json_add_string(b, "created", created);
        add_last_verdict(b, g_ptr_array_index(verdicts, i));
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    root = json_builder_get_root(b);
    snpg_cli_print_json(root);
}

/* Name, workflow, last verdict, expected measurement: the measurement is
 * last, whole, so that it can be compared and wraps harmlessly. */
static void
print_table(GPtrArray *vms, GPtrArray *verdicts)
{
    const char *h_name = _("Name"), *h_workflow = _("Workflow"),
               *h_verdict = _("Last verdict"), *h_measurement = _("Expected measurement");
    glong w_name = g_utf8_strlen(h_name, -1), w_workflow = g_utf8_strlen(h_workflow, -1);
    glong w_verdict = g_utf8_strlen(h_verdict, -1), total;

    for (guint i = 0; i < vms->len; i++) {
        const SnpgVmRecord *vm = g_ptr_array_index(vms, i);
        const SnpgEvent *last = g_ptr_array_index(verdicts, i);

        w_name = MAX(w_name, g_utf8_strlen(vm->name, -1));
        w_workflow = MAX(w_workflow, g_utf8_strlen(vm->workflow, -1));
        if (last)
            w_verdict = MAX(w_verdict, g_utf8_strlen(snpg_verdict_to_string(last->verdict), -1));
    }
    putchar(' ');
    put_cell(h_name, w_name + 2);
    put_cell(h_workflow, w_workflow + 2);
    put_cell(h_verdict, w_verdict + 2);
    puts(h_measurement);
    total = 1 + w_name + w_workflow + w_verdict + 6 + MAX(g_utf8_strlen(h_measurement, -1), 96);
    for (glong i = 0; i < total; i++)
        putchar('-');
    putchar('\n');
    for (guint i = 0; i < vms->len; i++) {
        const SnpgVmRecord *vm = g_ptr_array_index(vms, i);
        const SnpgEvent *last = g_ptr_array_index(verdicts, i);

        putchar(' ');
        put_cell(vm->name, w_name + 2);
        put_cell(vm->workflow, w_workflow + 2);
        put_cell(last ? snpg_verdict_to_string(last->verdict) : "-", w_verdict + 2);
        puts(vm->expected_measurement);
    }
}

static int
run(int argc, char **argv)
{
    gboolean json = FALSE;
    g_autofree char *state_opt = NULL, *state_dir = NULL;
    const GOptionEntry entries[] = {
        { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print a JSON array of VMs"), NULL },
        { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_opt,
          N_("The state directory (default: $SNPGUARD_STATE_DIR or /var/lib/snpguard)"),
          N_("DIR") },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx = snpg_cli_context_new(
        "list", NULL,
        _("List the VMs snpguard manages: workflow, last verdict and expected measurement."),
        entries);
    g_autoptr(SnpgRegistry) reg = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) vms = NULL;
    g_autoptr(GPtrArray) verdicts = g_ptr_array_new_with_free_func((GDestroyNotify)snpg_event_free);

    if (!snpg_cli_parse(ctx, &argc, &argv))
        return SNPG_EXIT_USAGE;
    if (argc > 1) {
        snpg_cli_error(_("unexpected argument '%s'"), argv[1]);
        return SNPG_EXIT_USAGE;
    }

    state_dir = snpg_state_dir_resolve(state_opt);
    reg = snpg_registry_open(state_dir, SNPG_REGISTRY_OPEN_DEFAULT, &error);
    if (!reg) {
        /* Nothing defined here yet: an empty list, not an error. */
        if (!g_error_matches(error, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_NOT_FOUND)) {
            snpg_cli_error("%s", error->message);
            return SNPG_EXIT_ERROR;
        }
        vms = g_ptr_array_new();
    } else {
        /* One snapshot for the VMs and their verdicts. */
        if (!snpg_registry_begin_read(reg, &error) ||
            !(vms = snpg_registry_list_vms(reg, &error))) {
            snpg_cli_error("%s", error->message);
            return SNPG_EXIT_ERROR;
        }
        for (guint i = 0; i < vms->len; i++) {
            SnpgEvent *last = NULL;

            if (!snpg_registry_last_verdict(reg, g_ptr_array_index(vms, i), &last, &error)) {
                snpg_cli_error("%s", error->message);
                return SNPG_EXIT_ERROR;
            }
            g_ptr_array_add(verdicts, last);
        }
        snpg_registry_rollback(reg);
    }

    if (json)
        print_json(vms, verdicts);
    else
        print_table(vms, verdicts);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        snpg_cli_error(_("cannot write the output"));
        return SNPG_EXIT_ERROR;
    }
    return SNPG_EXIT_OK;
}

const SnpgCommand snpg_cmd_list = {
    "list", N_("List the VMs snpguard manages, with their last verdict"), run,
};
