/* snpguard: entry point and subcommand dispatch. */
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include <glib/gi18n.h>

#include "command.h"

static const SnpgCommand *const commands[] = {
    &snpg_cmd_measure,
    &snpg_cmd_report,
    &snpg_cmd_attest,
    &snpg_cmd_verifier_key,
    &snpg_cmd_sim,
    &snpg_cmd_idblock,
    &snpg_cmd_certs,
    &snpg_cmd_guest,
    &snpg_cmd_hook,
};

static const SnpgCommand *
find_command(const char *name)
{
    for (gsize i = 0; i < G_N_ELEMENTS(commands); i++)
        if (g_str_equal(commands[i]->name, name))
            return commands[i];
    return NULL;
}

static void
print_usage(FILE *out)
{
    fprintf(out, _("Usage: snpguard COMMAND [OPTION...]\n"
                   "       snpguard help [COMMAND]\n"
                   "       snpguard --version\n\n"
                   "Trustworthy AMD SEV-SNP virtual machines under libvirt/QEMU.\n\n"
                   "Commands:\n"));
    for (gsize i = 0; i < G_N_ELEMENTS(commands); i++)
        fprintf(out, "  %-14s %s\n", commands[i]->name, _(commands[i]->summary));
    fprintf(out, _("\nRun 'snpguard COMMAND --help' for the options of a command.\n"));
}

void
snpg_cli_error(const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fprintf(stderr, "snpguard: %s %s\n", _("error:"), msg);
}

GOptionContext *
snpg_cli_context_new(const char *name, const char *parameter_string,
                     const char *summary, const GOptionEntry *entries)
{
    g_autofree char *prgname = g_strdup_printf("snpguard %s", name);
    GOptionContext *ctx = g_option_context_new(parameter_string);

    /* --help then reads "Usage: snpguard NAME [OPTION...] PARAMETERS". */
    g_set_prgname(prgname);
    g_option_context_set_summary(ctx, summary);
    g_option_context_set_translation_domain(ctx, GETTEXT_PACKAGE);
    if (entries)
        g_option_context_add_main_entries(ctx, entries, GETTEXT_PACKAGE);
    return ctx;
}

gboolean
snpg_cli_parse(GOptionContext *ctx, int *argc, char ***argv)
{
    g_autoptr(GError) error = NULL;

    /* main() adds the "Run '... --help'" hint to every usage error. */
    if (!g_option_context_parse(ctx, argc, argv, &error)) {
        snpg_cli_error("%s", error->message);
        return FALSE;
    }
    return TRUE;
}

void
snpg_cli_print_json(JsonNode *node)
{
    g_autofree char *text = json_to_string(node, TRUE);
    printf("%s\n", text);
}

int
main(int argc, char **argv)
{
    const SnpgCommand *cmd;

    setlocale(LC_ALL, "");
    bindtextdomain(GETTEXT_PACKAGE, LOCALEDIR);
    bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
    textdomain(GETTEXT_PACKAGE);
    /* Keys pass through this process: no core dumps, no ptrace by peers. */
    prctl(PR_SET_DUMPABLE, 0);
    g_set_prgname("snpguard");

    if (argc < 2) {
        print_usage(stderr);
        return SNPG_EXIT_USAGE;
    }
    if (g_str_equal(argv[1], "--version") || g_str_equal(argv[1], "version")) {
        printf("snpguard %s\n", PACKAGE_VERSION);
        return SNPG_EXIT_OK;
    }
    if (g_str_equal(argv[1], "--help") || g_str_equal(argv[1], "-h")) {
        print_usage(stdout);
        return SNPG_EXIT_OK;
    }
    if (g_str_equal(argv[1], "help")) {
        if (argc == 2) {
            print_usage(stdout);
            return SNPG_EXIT_OK;
        }
        if (!(cmd = find_command(argv[2]))) {
            snpg_cli_error(_("unknown command '%s'"), argv[2]);
            fprintf(stderr, _("Run 'snpguard help' for the list of commands.\n"));
            return SNPG_EXIT_USAGE;
        }
        char *help_argv[] = { (char *)cmd->name, (char *)"--help", NULL };
        return cmd->run(2, help_argv);
    }
    if (!(cmd = find_command(argv[1]))) {
        snpg_cli_error(_("unknown command '%s'"), argv[1]);
        fprintf(stderr, _("Run 'snpguard help' for the list of commands.\n"));
        return SNPG_EXIT_USAGE;
    }
    /* Group commands (report, sim, ...) keep this name; their subcommands
     * set "snpguard NAME SUB" in snpg_cli_context_new(). */
    {
        g_autofree char *prgname = g_strdup_printf("snpguard %s", cmd->name);
        int rc;

        g_set_prgname(prgname);
        rc = cmd->run(argc - 1, argv + 1);
        /* Every usage error ends with the same hint, naming the (sub)command. */
        if (rc == SNPG_EXIT_USAGE)
            fprintf(stderr, _("Run '%s --help' for usage.\n"), g_get_prgname());
        return rc;
    }
}
