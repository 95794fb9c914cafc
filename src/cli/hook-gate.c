/* The managed-domain part of 'snpguard hook' (see hook-gate.h). */
#include "config.h"

#include <stdio.h>

#include <glib/gi18n.h>

#include "cli-util.h"
#include "command.h"
#include "gate.h"
#include "hook-gate.h"
#include "statedir.h"

int
snpg_cli_hook_managed(const char *domain, const char *operation, const char *subop,
                      xmlDoc *doc)
{
    g_autofree char *state_dir = snpg_state_dir_resolve(NULL);
    g_autoptr(GError) error = NULL;

    if (g_str_equal(operation, "prepare") && g_str_equal(subop, "begin")) {
        g_auto(SnpgGateResult) result = { 0 };

        /* libvirt shows the hook's stderr when the start fails: one line. */
        if (!snpg_gate_prepare(state_dir, domain, doc, &result, &error)) {
            fprintf(stderr, _("snpguard: refusing to start '%s': %s\n"), domain, error->message);
            return SNPG_EXIT_ERROR;
        }
        if (result.refused) {
            fprintf(stderr, "%s\n", result.message);
            return SNPG_EXIT_ERROR;
        }
        return SNPG_EXIT_OK;
    }
    if (g_str_equal(operation, "stopped")) {
        /* Recording is best effort: a stop cannot be refused. */
        if (!snpg_gate_record_stop(state_dir, domain, &error))
            g_debug("cannot record the stop of '%s': %s", domain, error->message);
    }
    return SNPG_EXIT_OK;
}
