/* snpguard undefine: remove a managed VM's domain and registry entry; its
 * history stays, and its disk key goes only when that is confirmed. */
#include "config.h"

#include <errno.h>
#include <stdio.h>

#include <glib/gstdio.h>

#include <glib/gi18n.h>

#include "cli-util.h"
#include "command.h"
#include "gate.h"
#include "keystore.h"
#include "registry.h"
#include "statedir.h"
#include "virt.h"

#define FAIL(...) (snpg_cli_error(__VA_ARGS__), SNPG_EXIT_ERROR)

static int
run(int argc, char **argv)
{
    g_autofree char *state_opt = NULL, *connect = NULL, *state_dir = NULL, *key_path = NULL;
    gboolean remove_key = FALSE;
    const GOptionEntry entries[] = {
        { "remove-key", 0, 0, G_OPTION_ARG_NONE, &remove_key,
          N_("Also wipe the VM's disk key: its encrypted disk can never be opened again"),
          NULL },
        { "connect", 'c', 0, G_OPTION_ARG_STRING, &connect,
          N_("libvirt URI (default qemu:///system)"), N_("URI") },
        { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_opt,
          N_("State directory (default $SNPGUARD_STATE_DIR or /var/lib/snpguard)"), N_("DIR") },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx = snpg_cli_context_new("undefine", "NAME",
        _("Remove a VM snpguard manages: its libvirt domain and its registry entry. The\n"
          "history stays. The disk key is wiped only with --remove-key; otherwise it is\n"
          "kept (and the path printed)."), entries);
    g_autoptr(GError) error = NULL;
    g_autoptr(SnpgRegistry) reg = NULL;
    g_autoptr(SnpgVirt) virt = NULL;
    g_autoptr(SnpgVmRecord) rec = NULL;
    const char *name;

    if (!snpg_cli_parse(ctx, &argc, &argv))
        return SNPG_EXIT_USAGE;
    if (argc != 2) {
        snpg_cli_error(argc < 2 ? _("expected the VM's NAME") : _("unexpected argument '%s'"),
                       argv[argc < 2 ? 0 : 2]);
        return SNPG_EXIT_USAGE;
    }
    name = argv[1];
    state_dir = snpg_state_dir_resolve(state_opt);
    if (!(reg = snpg_registry_open(state_dir, SNPG_REGISTRY_OPEN_DEFAULT, &error)) ||
        !(rec = snpg_registry_get_vm(reg, name, &error)))
        return FAIL("%s", error->message);
    if (!(virt = snpg_virt_open(connect, &error)))
        return FAIL("%s", error->message);

    /* The registry row goes with the domain, or neither goes. A domain
     * someone already undefined with virsh is no reason to keep the row. */
    if (!snpg_registry_begin(reg, &error) ||
        !snpg_registry_remove_vm(reg, name, &key_path, &error))
        return FAIL("%s", error->message);
    if (!snpg_virt_undefine(virt, name, &error)) {
        if (!g_error_matches(error, SNPG_VIRT_ERROR, SNPG_VIRT_ERROR_NOT_FOUND)) {
            snpg_registry_rollback(reg);
            return FAIL("%s", error->message);
        }
        fprintf(stderr, _("snpguard: note: %s\n"), error->message);
        g_clear_error(&error);
    }
    if (!snpg_registry_commit(reg, &error))
        return FAIL(_("%s (the libvirt domain is already undefined)"), error->message);
    printf(_("Domain '%s' undefined; its history is kept\n"), name);
    if (rec->emulate) {
        /* The last simulated launch identity the hook wrote (TEST keys). */
        g_autofree char *identity = snpg_gate_identity_path(state_dir, name);

        g_unlink(identity);
    }
    if (key_path && remove_key) {
        if (!snpg_keystore_delete(state_dir, key_path, &error))
            return FAIL("%s", error->message);
        printf(_("disk key wiped\n"));
    } else if (key_path) {
        /* Out of keys/: there, a key no VM refers to is wiped as a leftover
         * of an interrupted define. */
        g_autofree char *from = g_build_filename(state_dir, key_path, NULL);
        g_autofree char *base = g_path_get_basename(key_path);
        g_autofree char *to = g_build_filename(state_dir, "undefined-keys", base, NULL);

        if (!snpg_state_dir_ensure_sub(state_dir, "undefined-keys", TRUE, &error))
            return FAIL("%s", error->message);
        if (g_rename(from, to) != 0)
            return FAIL(_("Cannot move the disk key %s to %s: %s"), from, to, g_strerror(errno));
        printf(_("disk key kept: %s (--remove-key would have wiped it)\n"), to);
    }
    return fflush(stdout) == 0 ? SNPG_EXIT_OK : FAIL(_("Cannot write the output."));
}

const SnpgCommand snpg_cmd_undefine = {
    "undefine", N_("Remove a managed VM (its history stays)"), run,
};
