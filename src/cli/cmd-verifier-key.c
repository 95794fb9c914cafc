/* snpguard verifier-key: the verifier's identity, which guests pin. */
#include "config.h"

#include <stdio.h>

#include <glib/gi18n.h>

#include "autocleanups.h"
#include "cli-util.h"
#include "command.h"
#include "hex.h"
#include "identity.h"

static int
print_pin(const guint8 pin[SNPG_PROTO_PIN_LEN], gboolean json)
{
    g_autofree char *hex = snpg_hex_encode(pin, SNPG_PROTO_PIN_LEN);

    if (json) {
        g_autoptr(JsonBuilder) b = json_builder_new();
        g_autoptr(JsonNode) root = NULL;
        g_autofree char *param = g_strdup_printf("%s=%s", SNPG_IDENTITY_CMDLINE_PARAM, hex);

        json_builder_begin_object(b);
        snpg_cli_json_add_string(b, "pin", hex);
        snpg_cli_json_add_string(b, "cmdline", param);
        json_builder_end_object(b);
        root = json_builder_get_root(b);
        snpg_cli_print_json(root);
    } else {
        printf(_("pin: %s\n"), hex);
        printf(_("kernel command line: %s=%s\n"), SNPG_IDENTITY_CMDLINE_PARAM, hex);
    }
    return SNPG_EXIT_OK;
}

static int
run_sub(int argc, char **argv, gboolean create)
{
    gboolean force = FALSE, json = FALSE;
    const GOptionEntry create_entries[] = {
        { "force", 0, 0, G_OPTION_ARG_NONE, &force, N_("Replace an existing key"), NULL },
        { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print the pin as JSON"), NULL },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx = snpg_cli_context_new(
        create ? "verifier-key create" : "verifier-key pin", "FILE",
        create ? _("Create the verifier's identity key (Ed25519, mode 0600) and print the pin "
                   "that guests put on their kernel command line.")
               : _("Print the pin of a verifier identity key."),
        create ? create_entries : create_entries + 1);
    g_autoptr(GError) error = NULL;
    guint8 pin[SNPG_PROTO_PIN_LEN];

    if (!snpg_cli_parse(ctx, &argc, &argv))
        return SNPG_EXIT_USAGE;
    if (argc != 2) {
        snpg_cli_error(_("expected one key FILE"));
        return SNPG_EXIT_USAGE;
    }
    if (create) {
        if (!snpg_identity_create(argv[1], force, pin, &error)) {
            if (g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_EXIST))
                snpg_cli_error(_("'%s' already exists (use --force to replace it)"), argv[1]);
            else
                snpg_cli_error("%s", error->message);
            return SNPG_EXIT_ERROR;
        }
    } else {
        g_autoptr(EVP_PKEY) key = snpg_identity_load(argv[1], &error);
        if (!key || !snpg_proto_identity_pin(key, pin, &error)) {
            snpg_cli_error("%s", error->message);
            return SNPG_EXIT_ERROR;
        }
    }
    return print_pin(pin, json);
}

static int
run_create(int argc, char **argv)
{
    return run_sub(argc, argv, TRUE);
}

static int
run_pin(int argc, char **argv)
{
    return run_sub(argc, argv, FALSE);
}

static const SnpgCommand subcommands[] = {
    { "create", NULL, run_create },
    { "pin", NULL, run_pin },
    { NULL }
};

static const char help[] =
    N_("Usage: snpguard verifier-key create FILE [--force] [--json]\n"
       "       snpguard verifier-key pin FILE [--json]\n\n"
       "The verifier signs every key it releases with this Ed25519 key; a guest\n"
       "accepts keys only from the verifier whose pin is on its (measured) kernel\n"
       "command line as snpguard.verifier=PIN.\n"
       "Run 'snpguard verifier-key SUBCOMMAND --help' for options.\n");

const SnpgCommand snpg_cmd_verifier_key = {
    "verifier-key", N_("The verifier's identity key that guests pin (create, pin)"), NULL,
    subcommands, help,
};
