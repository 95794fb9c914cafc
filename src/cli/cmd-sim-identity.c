/* snpguard sim identity: what the host hands a guest launched on the
 * simulated secure processor (see src/core/sim-identity.h). */
#include "config.h"

#include <glib/gi18n.h>

#include "cli-util.h"
#include "cmd-sim.h"
#include "command.h"
#include "sim-identity.h"

int
snpg_cmd_sim_identity_run(int argc, char **argv)
{
    g_autofree char *measurement = NULL, *policy = NULL, *host_data = NULL, *family_id = NULL;
    g_autofree char *image_id = NULL, *id_key_digest = NULL, *author_key_digest = NULL;
    g_autofree char *vmpl = NULL, *guest_svn = NULL, *version = NULL, *output = NULL;
    const GOptionEntry entries[] = {
        { "measurement", 0, 0, G_OPTION_ARG_STRING, &measurement,
          N_("The launch measurement the simulated AMD-SP measured, 48 bytes in hex (required)"),
          N_("HEX") },
        { "policy", 0, 0, G_OPTION_ARG_STRING, &policy,
          N_("The guest policy in hex (default 0x30000)"), N_("HEX") },
        { "vmpl", 0, 0, G_OPTION_ARG_STRING, &vmpl,
          N_("The VMPL the guest runs at: reports never claim a lower one (default 0)"), N_("N") },
        { "host-data", 0, 0, G_OPTION_ARG_STRING, &host_data,
          N_("HOST_DATA, up to 32 bytes in hex"), N_("HEX") },
        { "family-id", 0, 0, G_OPTION_ARG_STRING, &family_id,
          N_("FAMILY_ID, 16 bytes in hex"), N_("HEX") },
        { "image-id", 0, 0, G_OPTION_ARG_STRING, &image_id,
          N_("IMAGE_ID, 16 bytes in hex"), N_("HEX") },
        { "id-key-digest", 0, 0, G_OPTION_ARG_STRING, &id_key_digest,
          N_("ID_KEY_DIGEST, 48 bytes in hex"), N_("HEX") },
        { "author-key-digest", 0, 0, G_OPTION_ARG_STRING, &author_key_digest,
          N_("AUTHOR_KEY_DIGEST, 48 bytes in hex"), N_("HEX") },
        { "guest-svn", 0, 0, G_OPTION_ARG_STRING, &guest_svn, N_("Guest SVN"), N_("N") },
        { "version", 0, 0, G_OPTION_ARG_STRING, &version,
          N_("Report version 2, 3 or 5 (default 5)"), N_("N") },
        { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
          N_("Write the identity to FILE, mode 0600 (required)"), N_("FILE") },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx = snpg_cli_context_new("sim identity", "DIR",
        _("Write the launch identity of a guest on the simulated secure processor in DIR: "
          "its TEST VCEK key, chip id, TCB, and the measurement and policy the simulated "
          "AMD-SP measured. snpguard-agent --psp sim:FILE signs reports with it.\n\n"
          "The file holds a private key (a test key): it is created with mode 0600."),
        entries);
    g_autoptr(GError) error = NULL;
    SnpgSimIdentityParams params;
    SnpgSimLaunchArgs launch;
    guint64 v;

    if (!snpg_cli_parse(ctx, &argc, &argv))
        return SNPG_EXIT_USAGE;
    if (argc != 2) {
        snpg_cli_error(_("sim identity takes one simulator directory"));
        return SNPG_EXIT_USAGE;
    }
    if (!measurement || !output) {
        snpg_cli_error(_("sim identity needs --measurement and --output"));
        return SNPG_EXIT_USAGE;
    }
    snpg_sim_identity_params_init(&params);
    launch = (SnpgSimLaunchArgs){ measurement, host_data, family_id, image_id, id_key_digest,
                                  author_key_digest };
    if (!snpg_sim_launch_args_parse(&launch, params.measurement, params.host_data, params.family_id,
                                    params.image_id, params.id_key_digest, params.author_key_digest) ||
        (policy && !snpg_cli_parse_u64("--policy", policy, 16, G_MAXUINT64, &params.policy)))
        return SNPG_EXIT_USAGE;
    if (vmpl) {
        if (!snpg_cli_parse_u64("--vmpl", vmpl, 10, 3, &v))
            return SNPG_EXIT_USAGE;
        params.min_vmpl = (guint32)v;
    }
    if (guest_svn) {
        if (!snpg_cli_parse_u64("--guest-svn", guest_svn, 10, G_MAXUINT32, &v))
            return SNPG_EXIT_USAGE;
        params.guest_svn = (guint32)v;
    }
    if (version) {
        if (!snpg_cli_parse_u64("--version", version, 10, 5, &v) || (v != 2 && v != 3 && v != 5)) {
            snpg_cli_error(_("--version takes 2, 3 or 5: '%s'"), version);
            return SNPG_EXIT_USAGE;
        }
        params.report_version = (guint32)v;
    }
    if (!snpg_sim_identity_write(argv[1], &params, output, &error)) {
        snpg_cli_error("%s", error->message);
        return SNPG_EXIT_ERROR;
    }
    return SNPG_EXIT_OK;
}
