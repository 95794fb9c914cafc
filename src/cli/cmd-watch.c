/* snpguard watch: the long-running verifier (see watch.h and
 * snpguard-watch(8)). */
#include "config.h"

#include <stdio.h>
#include <unistd.h>

#include <glib/gi18n.h>

#include "cli-util.h"
#include "command.h"
#include "statedir.h"
#include "watch.h"

static gboolean verbose;

/* The journal when stderr is connected to it (systemd sets that up for a
 * service), plain lines on stderr otherwise; debug only with --verbose.
 * The structured fields (SNPGUARD_VM, SNPGUARD_BOOT_ID, SNPGUARD_VERDICT)
 * reach the journal as fields of their own. */
static GLogWriterOutput
writer(GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
    if ((level & G_LOG_LEVEL_DEBUG) && !verbose)
        return G_LOG_WRITER_HANDLED;
    if ((level & G_LOG_LEVEL_INFO) && !verbose && !g_log_writer_is_journald(fileno(stderr)))
        return G_LOG_WRITER_HANDLED;
    if (g_log_writer_is_journald(fileno(stderr)) &&
        g_log_writer_journald(level, fields, n_fields, user_data) == G_LOG_WRITER_HANDLED)
        return G_LOG_WRITER_HANDLED;
    return g_log_writer_standard_streams(level, fields, n_fields, user_data);
}

static int
run(int argc, char **argv)
{
    g_autofree char *uri = NULL, *state_opt = NULL, *window = NULL;
    const GOptionEntry entries[] = {
        { "connect", 'c', 0, G_OPTION_ARG_STRING, &uri,
          N_("libvirt URI (default qemu:///system; qemu+ssh://HOST/system keeps the keys here)"),
          N_("URI") },
        { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_opt,
          N_("State directory (default $SNPGUARD_STATE_DIR or /var/lib/snpguard)"), N_("DIR") },
        { "agent-window", 0, 0, G_OPTION_ARG_STRING, &window,
          N_("Seconds to wait for a guest's agent after its start (default: each VM's, 120)"),
          N_("S") },
        { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, N_("Log every step"), NULL },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx = snpg_cli_context_new("watch", "",
        _("Attest every managed VM whose verifier is 'watch' when it starts: subscribes to\n"
          "libvirt's domain events, runs the attestation over the VM's channel, records the\n"
          "verdict and applies the VM's failure action. Runs until SIGTERM."), entries);
    g_autofree char *state_dir = NULL;
    g_autoptr(SnpgWatch) w = NULL;
    g_autoptr(GError) error = NULL;
    SnpgWatchOptions opts = { 0 };
    guint64 seconds = 0;

    if (!snpg_cli_parse(ctx, &argc, &argv))
        return SNPG_EXIT_USAGE;
    if (argc > 1) {
        snpg_cli_error(_("unexpected argument '%s'"), argv[1]);
        return SNPG_EXIT_USAGE;
    }
    if (window && !g_ascii_string_to_unsigned(window, 10, 1, 86400, &seconds, NULL)) {
        snpg_cli_error(_("--agent-window takes seconds, 1 to 86400: '%s'"), window);
        return SNPG_EXIT_USAGE;
    }
    g_log_set_writer_func(writer, NULL, NULL);
    state_dir = snpg_state_dir_resolve(state_opt);
    opts.uri = uri;
    opts.state_dir = state_dir;
    opts.agent_window_us = (gint64)seconds * G_USEC_PER_SEC;
    if (!(w = snpg_watch_new(&opts, &error)) || !snpg_watch_run(w, &error)) {
        snpg_cli_error("%s", error->message);
        return SNPG_EXIT_ERROR;
    }
    return SNPG_EXIT_OK;
}

const SnpgCommand snpg_cmd_watch = {
    "watch", N_("Attest managed VMs on every start, over a libvirt connection"), run,
};
