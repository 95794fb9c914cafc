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
    &snpg_cmd_define, &snpg_cmd_adopt,
    &snpg_cmd_list, &snpg_cmd_show, &snpg_cmd_undefine,
    &snpg_cmd_history,
    &snpg_cmd_guest,
    &snpg_cmd_image,
    &snpg_cmd_hook,
    &snpg_cmd_start, &snpg_cmd_watch,
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

static const SnpgCommand *
find_subcommand(const SnpgCommand *group, const char *name)
{
    for (const SnpgCommand *sub = group->subcommands; sub->name; sub++)
        if (g_str_equal(sub->name, name))
            return sub;
    return NULL;
}

/* "init, report or identity" */
static char *
subcommand_names(const SnpgCommand *group)
{
    g_autoptr(GString) list = g_string_new(NULL);
    gsize n = 0;

    while (group->subcommands[n].name)
        n++;
    for (gsize i = 0; i + 1 < n; i++) {
        if (i > 0)
            g_string_append(list, ", ");
        g_string_append(list, group->subcommands[i].name);
    }
    if (n < 2)
        return g_strdup(n ? group->subcommands[0].name : "");
    return g_strdup_printf(_("%s or %s"), list->str, group->subcommands[n - 1].name);
}

/* Runs a command; argv[0] is its name. A group hands the rest to the
 * subcommand argv[1] names, its own name still in the program name. */
static int
run_command(const SnpgCommand *cmd, int argc, char **argv)
{
    const SnpgCommand *sub;
    g_autofree char *names = NULL;

    if (!cmd->subcommands)
        return cmd->run(argc, argv);
    if (argc >= 2 && (sub = find_subcommand(cmd, argv[1]))) {
        g_autofree char *prgname = g_strdup_printf("snpguard %s %s", cmd->name, sub->name);

        g_set_prgname(prgname);
        return sub->run(argc - 1, argv + 1);
    }
    if (argc >= 2 && (g_str_equal(argv[1], "--help") || g_str_equal(argv[1], "-h"))) {
        fputs(_(cmd->help), stdout);
        return SNPG_EXIT_OK;
    }
    names = subcommand_names(cmd);
    if (argc >= 2)
        snpg_cli_error(_("unknown %s subcommand '%s' (expected %s)"), cmd->name, argv[1], names);
    else
        snpg_cli_error(_("%s needs a subcommand: %s"), cmd->name, names);
    return SNPG_EXIT_USAGE;
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
        /* "help GROUP SUB" is "GROUP SUB --help"; "help GROUP" is "GROUP --help". */
        {
            const SnpgCommand *sub = NULL;
            char *help_argv[] = { (char *)cmd->name, (char *)"--help", NULL, NULL };

            if (cmd->subcommands && argc > 3) {
                if (!(sub = find_subcommand(cmd, argv[3]))) {
                    g_autofree char *names = subcommand_names(cmd);

                    snpg_cli_error(_("unknown %s subcommand '%s' (expected %s)"), cmd->name,
                                   argv[3], names);
                    fprintf(stderr, _("Run 'snpguard help %s' for its subcommands.\n"), cmd->name);
                    return SNPG_EXIT_USAGE;
                }
                help_argv[1] = (char *)sub->name;
                help_argv[2] = (char *)"--help";
            }
            return run_command(cmd, sub ? 3 : 2, help_argv);
        }
    }
    if (!(cmd = find_command(argv[1]))) {
        snpg_cli_error(_("unknown command '%s'"), argv[1]);
        fprintf(stderr, _("Run 'snpguard help' for the list of commands.\n"));
        return SNPG_EXIT_USAGE;
    }
    /* Group commands (report, sim, ...) keep this name; run_command() names
     * their subcommands "snpguard NAME SUB". */
    {
        g_autofree char *prgname = g_strdup_printf("snpguard %s", cmd->name);
        int rc;

        g_set_prgname(prgname);
        rc = run_command(cmd, argc - 1, argv + 1);
        /* Every usage error ends with the same hint, naming the (sub)command. */
        if (rc == SNPG_EXIT_USAGE)
            fprintf(stderr, _("Run '%s --help' for usage.\n"), g_get_prgname());
        return rc;
    }
}
