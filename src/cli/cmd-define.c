/* snpguard define: the libvirt domain of an SEV-SNP guest, with the launch
 * measurement it will report known before it first runs. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <glib/gi18n.h>

#include "autocleanups.h"
#include "cli-util.h"
#include "cmd-define.h"
#include "command.h"
#include "domain.h"
#include "hex.h"
#include "identity.h"

#define USAGE(...) (snpg_cli_error(__VA_ARGS__), SNPG_EXIT_USAGE)
#define FAIL(...) (snpg_cli_error(__VA_ARGS__), SNPG_EXIT_ERROR)

/* The guest's memory; SNP guests need a few hundred MiB at least. */
#define MEMORY_MIB_DEFAULT 1024
#define MEMORY_MIB_MAX (G_GUINT64_CONSTANT(16) * 1024 * 1024)
#define VCPU_TYPE_DEFAULT "EPYC-Milan"
#define STATE_DIR_DEFAULT "/var/lib/snpguard"

typedef struct {
    char *firmware;
    char *kernel;
    char *initrd;
    char *append;
    char *vcpus;
    char *vcpu_type;
    char *memory;
    char **disks;
    char *workflow;
    char *policy;
    char *vmpl;
    char *failure_action;
    char *console_log;
    char *verifier_key;
    char *id_block;
    char *id_auth;
    char *host_data;
    char *state_dir;
    gboolean emulate;
    gboolean no_gate;
    gboolean print_xml;
    gboolean json;
} Options;

static void
options_clear(Options *o)
{
    g_free(o->firmware);
    g_free(o->kernel);
    g_free(o->initrd);
    g_free(o->append);
    g_free(o->vcpus);
    g_free(o->vcpu_type);
    g_free(o->memory);
    g_strfreev(o->disks);
    g_free(o->workflow);
    g_free(o->policy);
    g_free(o->vmpl);
    g_free(o->failure_action);
    g_free(o->console_log);
    g_free(o->verifier_key);
    g_free(o->id_block);
    g_free(o->id_auth);
    g_free(o->host_data);
    g_free(o->state_dir);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Options, options_clear)

/* The integrator replaces this with the registry + libvirt path: store the
 * VM, create its disk key (encrypted workflow), define the domain, and leave
 * nothing behind on failure. */
static int
define_in_libvirt(xmlDoc *doc, const SnpgDomainSpec *spec)
{
    (void)doc;
    (void)spec;
    return FAIL(_("defining in libvirt is not implemented yet; use --print-xml"));
}

/* The registry's own verifier identity (created on first use). The
 * integrator replaces this; until then only --verifier-key pins one. */
static gboolean
registry_verifier_pin(char **ret_pin)
{
    *ret_pin = NULL;
    return FALSE;
}

char *
snpg_cli_verifier_pin(const char *key_path)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(EVP_PKEY) key = snpg_identity_load(key_path, &error);
    guint8 pin[SNPG_PROTO_PIN_LEN];

    if (!key || !snpg_proto_identity_pin(key, pin, &error)) {
        snpg_cli_error("%s", error->message);
        return NULL;
    }
    return snpg_hex_encode(pin, sizeof(pin));
}

int
snpg_cli_print_domain(xmlDoc *doc, gboolean json, gboolean added_channel, gboolean added_pin,
                      gboolean adopt)
{
    g_autofree char *xml = snpg_domain_to_string(doc);
    g_auto(SnpgDomainMeta) meta = { 0 };
    g_autoptr(GError) error = NULL;

    if (!snpg_domain_meta_read(doc, &meta, &error))
        return FAIL("%s", error->message);
    if (json) {
        g_autoptr(JsonBuilder) b = json_builder_new();
        g_autoptr(JsonNode) root = NULL;

        g_auto(SnpgLaunchInputs) in = { 0 };

        if (!snpg_domain_launch_inputs(doc, &in, &error))
            return FAIL("%s", error->message);
        json_builder_begin_object(b);
        snpg_cli_json_add_string(b, "xml", xml);
        snpg_cli_json_add_string(b, "measurement", meta.measurement);
        /* What the value rests on, in words (as 'show' prints it). */
        json_builder_set_member_name(b, "assumptions");
        json_builder_begin_array(b);
        for (guint i = 0; i < in.assumptions->len; i++)
            json_builder_add_string_value(b, g_ptr_array_index(in.assumptions, i));
        json_builder_end_array(b);
        if (adopt) {
            json_builder_set_member_name(b, "added_channel");
            json_builder_add_boolean_value(b, added_channel);
            json_builder_set_member_name(b, "added_verifier_pin");
            json_builder_add_boolean_value(b, added_pin);
        }
        json_builder_end_object(b);
        root = json_builder_get_root(b);
        snpg_cli_print_json(root);
    } else {
        fputs(xml, stdout);
    }
    return fflush(stdout) == 0 ? SNPG_EXIT_OK : FAIL(_("Cannot write the output."));
}

/* Paths go into the XML absolute (the schema wants them; libvirt resolves
 * nothing against the caller's directory). */
static char *
absolute(const char *path)
{
    return path ? g_canonicalize_filename(path, NULL) : NULL;
}

static int
define(const char *name, Options *o)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(xmlDoc) doc = NULL;
    g_autofree char *firmware = NULL, *kernel = NULL, *initrd = NULL, *console_log = NULL;
    g_autofree char *pin = NULL, *identity_file = NULL;
    g_autoptr(GPtrArray) disks = g_ptr_array_new_with_free_func(g_free);
    SnpgDomainSpec spec = { 0 };
    guint64 v;
    int n;

    if (!o->firmware || !o->kernel || !o->initrd)
        return USAGE(_("--firmware, --kernel and --initrd are required"));
    spec.name = name;
    spec.workflow = SNPG_WORKFLOW_NONE;
    if (o->workflow && (n = snpg_workflow_from_string(o->workflow)) < 0)
        return USAGE(_("--workflow takes encrypted, integrity or none: '%s'"), o->workflow);
    if (o->workflow)
        spec.workflow = n;
    spec.failure_action = SNPG_FAILURE_DESTROY;
    if (o->failure_action && (n = snpg_failure_action_from_string(o->failure_action)) < 0)
        return USAGE(_("--failure-action takes destroy, pause or keep: '%s'"), o->failure_action);
    if (o->failure_action)
        spec.failure_action = n;
    spec.vcpus = 1;
    if (o->vcpus) {
        if (!snpg_cli_parse_u64("--vcpus", o->vcpus, 10, 512, &v))
            return SNPG_EXIT_USAGE;
        if (v == 0)
            return USAGE(_("--vcpus must be at least 1"));
        spec.vcpus = (guint)v;
    }
    spec.memory_mib = MEMORY_MIB_DEFAULT;
    if (o->memory) {
        if (!snpg_cli_parse_u64("--memory", o->memory, 10, MEMORY_MIB_MAX, &v))
            return SNPG_EXIT_USAGE;
        if (v == 0)
            return USAGE(_("--memory must be at least 1 MiB"));
        spec.memory_mib = v;
    }
    spec.policy = SNPG_DOMAIN_POLICY_DEFAULT;
    if (o->policy && !snpg_cli_parse_u64("--policy", o->policy, 16, G_MAXUINT64, &spec.policy))
        return SNPG_EXIT_USAGE;
    /* Bit 17 is reserved and must be 1: the firmware refuses the launch. */
    if (!(spec.policy & (G_GUINT64_CONSTANT(1) << 17)))
        return USAGE(_("--policy 0x%" G_GINT64_MODIFIER "x lacks bit 17 (reserved, must be 1; "
                       "QEMU's default is 0x30000)"), spec.policy);
    if (o->vmpl && !snpg_cli_parse_u64("--vmpl", o->vmpl, 10, 3, &v))
        return SNPG_EXIT_USAGE;
    spec.vmpl = o->vmpl ? (guint)v : 0;
    spec.vcpu_type = o->vcpu_type ? o->vcpu_type : VCPU_TYPE_DEFAULT;
    spec.emulate = o->emulate;
    spec.no_gate = o->no_gate;
    if (o->no_gate && !o->emulate)
        return USAGE(_("--no-gate applies to --emulate only"));
    spec.id_block = o->id_block;
    spec.id_auth = o->id_auth;
    spec.host_data = o->host_data;
    if (o->emulate && (o->id_block || o->host_data))
        return USAGE(_("--id-block, --id-auth and --host-data need SEV-SNP, not --emulate"));

    spec.firmware = firmware = absolute(o->firmware);
    spec.kernel = kernel = absolute(o->kernel);
    spec.initrd = initrd = absolute(o->initrd);
    spec.console_log = console_log = absolute(o->console_log);
    spec.append = o->append;
    if (o->append && !g_utf8_validate(o->append, -1, NULL))
        return FAIL(_("--append is not valid UTF-8"));
    for (char **d = o->disks; d && *d; d++)
        g_ptr_array_add(disks, absolute(*d));
    g_ptr_array_add(disks, NULL);
    spec.disks = (const char *const *)disks->pdata;
    if (disks->len - 1 != snpg_workflow_disk_count(spec.workflow))
        return USAGE(_("the %s workflow takes %u --disk (the %s), not %u"),
                     snpg_workflow_to_string(spec.workflow),
                     snpg_workflow_disk_count(spec.workflow),
                     spec.workflow == SNPG_WORKFLOW_ENCRYPTED ? _("LUKS2 root disk")
                     : spec.workflow == SNPG_WORKFLOW_INTEGRITY ? _("data disk, then its hash disk")
                     : _("none"), disks->len - 1);
    if (o->emulate) {
        const char *state = o->state_dir ? o->state_dir : g_getenv("SNPGUARD_STATE_DIR");
        g_autofree char *state_abs = absolute(state ? state : STATE_DIR_DEFAULT);
        g_autofree char *file = g_strdup_printf("%s.identity", name);

        identity_file = g_build_filename(state_abs, "emulate", file, NULL);
        spec.identity_file = identity_file;
    }

    if (o->verifier_key) {
        if (!(pin = snpg_cli_verifier_pin(o->verifier_key)))
            return SNPG_EXIT_ERROR;
        spec.verifier = "key";
    } else if (registry_verifier_pin(&pin)) {
        spec.verifier = "registry";
    } else {
        spec.verifier = "none";
        fprintf(stderr, _("snpguard: note: no --verifier-key: the command line pins no verifier, "
                          "so the guest accepts a key from any verifier\n"));
    }
    spec.verifier_pin = pin;

    if (!(doc = snpg_domain_build(&spec, &error)))
        return FAIL("%s", error->message);
    if (o->print_xml)
        return snpg_cli_print_domain(doc, o->json, FALSE, FALSE, FALSE);
    return define_in_libvirt(doc, &spec);
}

static int
run(int argc, char **argv)
{
    g_auto(Options) o = { 0 };
    const GOptionEntry entries[] = {
        { "firmware", 0, 0, G_OPTION_ARG_FILENAME, &o.firmware,
          N_("The SEV-SNP firmware (an OVMF AmdSev build with kernel hashes; required)"),
          N_("FILE") },
        { "kernel", 0, 0, G_OPTION_ARG_FILENAME, &o.kernel, N_("The guest kernel (required)"),
          N_("FILE") },
        { "initrd", 0, 0, G_OPTION_ARG_FILENAME, &o.initrd, N_("The guest initrd (required)"),
          N_("FILE") },
        { "append", 0, 0, G_OPTION_ARG_STRING, &o.append,
          N_("Kernel command line (snpguard.verifier=PIN is added)"), N_("STR") },
        { "vcpus", 0, 0, G_OPTION_ARG_STRING, &o.vcpus, N_("vCPUs (default 1)"), N_("N") },
        { "vcpu-type", 0, 0, G_OPTION_ARG_STRING, &o.vcpu_type,
          N_("QEMU CPU model (default EPYC-Milan) or host-passthrough"), N_("MODEL") },
        { "memory", 0, 0, G_OPTION_ARG_STRING, &o.memory, N_("Memory in MiB (default 1024)"),
          N_("MiB") },
        { "disk", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &o.disks,
          N_("A disk image (encrypted: the root; integrity: data, then hash)"), N_("FILE") },
        { "workflow", 0, 0, G_OPTION_ARG_STRING, &o.workflow,
          N_("encrypted, integrity or none (default: none)"), N_("WORKFLOW") },
        { "policy", 0, 0, G_OPTION_ARG_STRING, &o.policy,
          N_("SEV-SNP guest policy (default 0x30000)"), N_("HEX") },
        { "vmpl", 0, 0, G_OPTION_ARG_STRING, &o.vmpl,
          N_("VMPL the guest requests its reports at (0-3, default 0)"), N_("N") },
        { "failure-action", 0, 0, G_OPTION_ARG_STRING, &o.failure_action,
          N_("What a failed attestation does to the VM: destroy (default), pause or keep"),
          N_("ACTION") },
        { "id-block", 0, 0, G_OPTION_ARG_STRING, &o.id_block,
          N_("ID block (base64, 96 bytes; with --id-auth)"), N_("BASE64") },
        { "id-auth", 0, 0, G_OPTION_ARG_STRING, &o.id_auth,
          N_("ID authentication information (base64, 4096 bytes)"), N_("BASE64") },
        { "host-data", 0, 0, G_OPTION_ARG_STRING, &o.host_data,
          N_("Host data for the report (base64, 32 bytes)"), N_("BASE64") },
        { "emulate", 0, 0, G_OPTION_ARG_NONE, &o.emulate,
          N_("The same VM on QEMU TCG with the simulated secure processor"), NULL },
        { "no-gate", 0, 0, G_OPTION_ARG_NONE, &o.no_gate,
          N_("With --emulate: no start gate, so a changed boot file reaches attestation"), NULL },
        { "console-log", 0, 0, G_OPTION_ARG_FILENAME, &o.console_log,
          N_("Write the guest's serial console to FILE"), N_("FILE") },
        { "verifier-key", 0, 0, G_OPTION_ARG_FILENAME, &o.verifier_key,
          N_("Pin this verifier identity (see 'snpguard verifier-key')"), N_("FILE") },
        { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &o.state_dir,
          N_("State directory (default $SNPGUARD_STATE_DIR or /var/lib/snpguard)"), N_("DIR") },
        { "print-xml", 0, 0, G_OPTION_ARG_NONE, &o.print_xml,
          N_("Print the domain XML and change nothing"), NULL },
        { "json", 0, 0, G_OPTION_ARG_NONE, &o.json,
          N_("With --print-xml: print {\"xml\": ..., \"measurement\": ...}"), NULL },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx = snpg_cli_context_new("define", "NAME",
        _("Define an SEV-SNP VM: its libvirt domain, with the launch measurement the secure\n"
          "processor will report computed from the values in that domain XML."), entries);

    if (!snpg_cli_parse(ctx, &argc, &argv))
        return SNPG_EXIT_USAGE;
    if (argc < 2)
        return USAGE(_("expected the VM's NAME"));
    if (argc > 2)
        return USAGE(_("unexpected argument '%s'"), argv[2]);
    if (o.json && !o.print_xml)
        return USAGE(_("--json applies to --print-xml"));
    return define(argv[1], &o);
}

const SnpgCommand snpg_cmd_define = {
    "define", N_("Define an SEV-SNP VM and compute its expected measurement"), run,
};
