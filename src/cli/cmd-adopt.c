/* snpguard adopt: take over an SEV-SNP domain written by virt-manager,
 * virt-install or by hand, and derive the measurement it will report. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <glib/gi18n.h>

#include "cli-util.h"
#include "cmd-define.h"
#include "command.h"
#include "domain.h"
#include "hex.h"
#include "identity.h"
#include "statedir.h"
#include "virt.h"

#define USAGE(...) (snpg_cli_error(__VA_ARGS__), SNPG_EXIT_USAGE)
#define FAIL(...) (snpg_cli_error(__VA_ARGS__), SNPG_EXIT_ERROR)

typedef struct {
    char *xml;
    char *workflow;
    char *vmpl;
    char *failure_action;
    char *verifier_key;
    char *state_dir;
    char *connect;
    char *verifier;
    char **verifier_list;       /* every --verifier given: one verifier per VM */
    gboolean print_xml;
    gboolean json;
} Options;

static void
options_clear(Options *o)
{
    g_free(o->xml);
    g_free(o->workflow);
    g_free(o->vmpl);
    g_free(o->failure_action);
    g_free(o->verifier_key);
    g_free(o->state_dir);
    g_free(o->connect);
    g_free(o->verifier);
    g_strfreev(o->verifier_list);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Options, options_clear)

static int
adopt(const char *name, Options *o)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(xmlDoc) doc = NULL;
    g_autofree char *pin = NULL, *state_dir = NULL, *verifier_key = NULL, *trust_root = NULL;
    SnpgCliRegister reg = { 0 };
    g_auto(SnpgDomainMeta) meta = { 0 };
    gboolean added_channel = FALSE, added_pin = FALSE, unpinned = FALSE;
    guint64 v;
    int n;

    if (o->xml) {
        if (!(doc = snpg_domain_parse_file(o->xml, &error)))
            return FAIL("%s", error->message);
    } else {
        /* A domain libvirt has: its definition (not the live XML). */
        g_autoptr(SnpgVirt) virt = snpg_virt_open(o->connect, &error);
        g_autofree char *xml = virt ? snpg_virt_get_xml(virt, name, FALSE, &error) : NULL;

        if (!xml || !(doc = snpg_domain_parse(xml, strlen(xml), name, &error)))
            return FAIL("%s", error->message);
    }

    /* Settings already there (a domain snpguard wrote) stay, options win. */
    if (!snpg_domain_meta_read(doc, &meta, &error)) {
        if (!g_error_matches(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_NO_METADATA))
            return FAIL("%s", error->message);
        g_clear_error(&error);
        meta.workflow = SNPG_WORKFLOW_NONE;
        meta.gate = TRUE;
        meta.failure_action = SNPG_FAILURE_DESTROY;
        meta.guest_features = SNPG_DOMAIN_GUEST_FEATURES_DEFAULT;
    }
    if (o->workflow && (n = snpg_workflow_from_string(o->workflow)) < 0)
        return USAGE(_("--workflow takes encrypted, integrity or none: '%s'"), o->workflow);
    if (o->workflow)
        meta.workflow = n;
    if (o->failure_action && (n = snpg_failure_action_from_string(o->failure_action)) < 0)
        return USAGE(_("--failure-action takes destroy, pause or keep: '%s'"), o->failure_action);
    if (o->failure_action)
        meta.failure_action = n;
    /* As the registry records it, so the gate of a host without the
     * registry knows who attests. */
    g_free(meta.verifier_mode);
    meta.verifier_mode = g_strdup(o->verifier ? o->verifier : "hook");
    if (o->vmpl) {
        if (!snpg_cli_parse_u64("--vmpl", o->vmpl, 10, 3, &v))
            return SNPG_EXIT_USAGE;
        meta.vmpl = (guint)v;
    }
    if (o->print_xml) {
        if (o->verifier_key && !(pin = snpg_cli_verifier_pin(o->verifier_key)))
            return SNPG_EXIT_ERROR;
    } else {
        /* Registered: released keys are signed, so the guest must pin the
         * identity that signs them (--verifier-key or the registry's own). */
        state_dir = snpg_state_dir_resolve(o->state_dir);
        if (!snpg_state_dir_ensure(state_dir, TRUE, &error))
            return FAIL("%s", error->message);
        if (!snpg_cli_verifier_identity(state_dir, o->verifier_key, &verifier_key, &pin))
            return SNPG_EXIT_ERROR;
    }

    /* The pin changes the measured command line; the channel is a device,
     * outside the measurement, but the guest needs it. */
    if (!snpg_domain_ensure_channel(doc, &added_channel, &error) ||
        !snpg_domain_ensure_verifier_pin(doc, pin, &added_pin, &error))
        return FAIL("%s", error->message);
    if (pin) {
        g_free(meta.verifier);
        meta.verifier = g_strdup(o->verifier_key || o->print_xml ? "key" : "registry");
        g_free(meta.verifier_pin);
        meta.verifier_pin = g_ascii_strdown(pin, -1);
    } else {
        g_auto(SnpgLaunchInputs) in = { 0 };
        guint8 found[SNPG_PROTO_PIN_LEN];

        if (!snpg_domain_launch_inputs(doc, &in, &error))
            return FAIL("%s", error->message);
        if (snpg_identity_pin_from_cmdline(in.cmdline, found, &error)) {
            g_free(meta.verifier_pin);
            meta.verifier_pin = snpg_hex_encode(found, sizeof(found));
            if (!meta.verifier)
                meta.verifier = g_strdup("cmdline");
        } else if (error) {
            return FAIL("%s", error->message);
        } else {
            unpinned = TRUE;
            g_clear_pointer(&meta.verifier_pin, g_free);
            g_free(meta.verifier);
            meta.verifier = g_strdup("none");
        }
    }

    if (!snpg_domain_seal(doc, &meta, NULL, &error))
        return FAIL("%s", error->message);
    if (added_channel)
        fprintf(stderr, _("snpguard: note: added the attestation channel '%s' (a new device; "
                          "devices are not part of the launch measurement)\n"),
                SNPG_DOMAIN_CHANNEL_NAME);
    if (added_pin)
        fprintf(stderr, _("snpguard: note: added %s=%s to the kernel command line: this changes "
                          "the launch measurement\n"), SNPG_IDENTITY_CMDLINE_PARAM, pin);
    if (unpinned)
        fprintf(stderr, _("snpguard: note: no --verifier-key and no %s= on the command line: "
                          "the guest accepts a key from any verifier\n"),
                SNPG_IDENTITY_CMDLINE_PARAM);
    if (o->print_xml)
        return snpg_cli_print_domain(doc, o->json, added_channel, added_pin, TRUE);
    reg.state_dir = state_dir;
    reg.connect = o->connect;
    reg.verifier_mode = o->verifier ? o->verifier : "hook";
    reg.verifier_key = verifier_key;
    reg.replace = o->xml == NULL;
    if (meta.emulate) {
        if (!(trust_root = snpg_cli_emulate_trust_root(state_dir)))
            return SNPG_EXIT_ERROR;
        reg.trust_root = trust_root;
    }
    return snpg_cli_register_domain(doc, &reg);
}

static int
run(int argc, char **argv)
{
    g_auto(Options) o = { 0 };
    const GOptionEntry entries[] = {
        { "xml", 0, 0, G_OPTION_ARG_FILENAME, &o.xml,
          N_("Adopt this domain XML file ('-': standard input) instead of a defined domain"),
          N_("FILE") },
        { "workflow", 0, 0, G_OPTION_ARG_STRING, &o.workflow,
          N_("encrypted, integrity or none (default: none)"), N_("WORKFLOW") },
        { "vmpl", 0, 0, G_OPTION_ARG_STRING, &o.vmpl,
          N_("VMPL the guest requests its reports at (0-3, default 0)"), N_("N") },
        { "failure-action", 0, 0, G_OPTION_ARG_STRING, &o.failure_action,
          N_("What a failed attestation does to the VM: destroy (default), pause or keep"),
          N_("ACTION") },
        { "verifier-key", 0, 0, G_OPTION_ARG_FILENAME, &o.verifier_key,
          N_("Pin this verifier identity (see 'snpguard verifier-key')"), N_("FILE") },
        { "connect", 'c', 0, G_OPTION_ARG_STRING, &o.connect,
          N_("libvirt URI (default qemu:///system)"), N_("URI") },
        { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &o.state_dir,
          N_("State directory (default $SNPGUARD_STATE_DIR or /var/lib/snpguard)"), N_("DIR") },
        { "verifier", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.verifier_list,
          N_("Who attests the VM and releases its key: hook (default), watch or manual"),
          N_("MODE") },
        { "print-xml", 0, 0, G_OPTION_ARG_NONE, &o.print_xml,
          N_("Print the adopted domain XML and change nothing"), NULL },
        { "json", 0, 0, G_OPTION_ARG_NONE, &o.json,
          N_("With --print-xml: print {\"xml\": ..., \"measurement\": ...}"), NULL },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx = snpg_cli_context_new("adopt", "[NAME]",
        _("Manage an existing SEV-SNP domain (direct kernel boot, kernelHashes='yes'): derive\n"
          "its expected launch measurement, adding the attestation channel and the verifier\n"
          "pin when it lacks them."), entries);
    const char *name;

    if (!snpg_cli_parse(ctx, &argc, &argv))
        return SNPG_EXIT_USAGE;
    if (argc > 2)
        return USAGE(_("unexpected argument '%s'"), argv[2]);
    name = argc == 2 ? argv[1] : NULL;
    if (!name && !o.xml)
        return USAGE(_("expected a domain NAME or --xml FILE"));
    if (name && o.xml)
        return USAGE(_("give a domain NAME or --xml FILE, not both"));
    if (!snpg_cli_one_verifier(o.verifier_list, &o.verifier))
        return SNPG_EXIT_USAGE;
    if (o.json && !o.print_xml)
        return USAGE(_("--json applies to --print-xml"));
    return adopt(name, &o);
}

const SnpgCommand snpg_cmd_adopt = {
    "adopt", N_("Manage an existing SEV-SNP domain and compute its expected measurement"), run,
};
