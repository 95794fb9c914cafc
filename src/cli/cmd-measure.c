/* snpguard measure: placeholder until the measurement engine lands. */
#include "config.h"

#include <glib/gi18n.h>

#include "command.h"

static char *opt_ovmf;
static int opt_vcpus;

static const GOptionEntry entries[] = {
    { "ovmf", 0, 0, G_OPTION_ARG_FILENAME, &opt_ovmf, N_("OVMF firmware file"), N_("PATH") },
    { "vcpus", 0, 0, G_OPTION_ARG_INT, &opt_vcpus, N_("Number of guest vCPUs"), N_("N") },
    { NULL }
};

static int
run(int argc, char **argv)
{
    g_autoptr(GOptionContext) ctx = snpg_cli_context_new("measure", NULL,
        _("Compute the expected SEV-SNP launch measurement."), entries);
    if (!snpg_cli_parse(ctx, &argc, &argv))
        return SNPG_EXIT_USAGE;
    return SNPG_EXIT_ERROR;
}

const SnpgCommand snpg_cmd_measure = {
    "measure", N_("Compute the expected SEV-SNP launch measurement"), run,
};
