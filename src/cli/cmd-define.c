/* snpguard define: the libvirt domain of an SEV-SNP guest, with the launch
 * measurement it will report known before it first runs. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <glib/gi18n.h>

#include "autocleanups.h"
#include "boot.h"
#include "cli-util.h"
#include "cmd-define.h"
#include "command.h"
#include "domain.h"
#include "hex.h"
#include "file.h"
#include "gate.h"
#include "identity.h"
#include "keystore.h"
#include "policy.h"
#include "registry.h"
#include "sim.h"
#include "statedir.h"
#include "virt.h"
#include "vmattest.h"

#define USAGE(...) (snpg_cli_error(__VA_ARGS__), SNPG_EXIT_USAGE)
#define FAIL(...) (snpg_cli_error(__VA_ARGS__), SNPG_EXIT_ERROR)

/* The guest's memory; SNP guests need a few hundred MiB at least. */
#define MEMORY_MIB_DEFAULT 1024
#define MEMORY_MIB_MAX (G_GUINT64_CONSTANT(16) * 1024 * 1024)
#define VCPU_TYPE_DEFAULT "EPYC-Milan"

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
    char *connect;
    char *verifier;
    char **verifier_list;       /* every --verifier given: one verifier per VM */
    char *agent_window;
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
    g_free(o->connect);
    g_free(o->verifier);
    g_strfreev(o->verifier_list);
    g_free(o->agent_window);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Options, options_clear)

/* An existing key this old belongs to a define that died before its
 * commit (a define in progress is seconds old). */
#define ORPHAN_KEY_MIN_AGE 3600

static void
set_uuid(xmlDoc *doc, const char *uuid)
{
    xmlNode *root = xmlDocGetRootElement(doc);
    xmlNode *name = NULL;

    for (xmlNode *n = root->children; n; n = n->next) {
        if (n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, BAD_CAST "uuid"))
            return;
        if (n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, BAD_CAST "name"))
            name = n;
    }
    {
        xmlNode *node = xmlNewDocNode(doc, NULL, BAD_CAST "uuid", BAD_CAST uuid);

        if (name)
            xmlAddNextSibling(name, node);
        else
            xmlAddChild(root, node);
    }
}

static char *
get_uuid(xmlDoc *doc)
{
    xmlNode *root = xmlDocGetRootElement(doc);

    for (xmlNode *n = root->children; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, BAD_CAST "uuid")) {
            xmlChar *text = xmlNodeGetContent(n);
            char *uuid = g_ascii_strdown((const char *)text, -1);

            xmlFree(text);
            return uuid;
        }
    return NULL;
}

static char *
get_name(xmlDoc *doc)
{
    xmlNode *root = xmlDocGetRootElement(doc);

    for (xmlNode *n = root->children; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, BAD_CAST "name")) {
            xmlChar *text = xmlNodeGetContent(n);
            char *name = g_strdup((const char *)text);

            xmlFree(text);
            return name;
        }
    return NULL;
}

/* The record of doc: settings, reference values, the hashes of the files
 * the measurement rests on (as the measurement computed them). */
static SnpgVmRecord *
make_record(xmlDoc *doc, const SnpgCliRegister *r, GError **error)
{
    g_auto(SnpgDomainMeta) meta = { 0 };
    g_auto(SnpgLaunchInputs) in = { 0 };
    g_autoptr(SnpgMeasureExplain) ex = NULL;
    g_autoptr(SnpgAttestPolicy) policy = snpg_attest_policy_new();
    g_autoptr(SnpgVmRecord) rec = NULL;
    g_autofree char *name = get_name(doc), *hex = NULL, *vmpl = NULL, *vcpus = NULL;
    guint8 digest[SNPG_MEASURE_SNP_DIGEST_SIZE];

    if (!snpg_domain_meta_read(doc, &meta, error) ||
        !snpg_domain_launch_inputs(doc, &in, error) ||
        !snpg_domain_measure(&in, digest, &ex, error))
        return NULL;
    hex = snpg_hex_encode(digest, sizeof(digest));
    /* The XML's metadata and the registry must agree on the value. */
    if (!meta.measurement || g_ascii_strcasecmp(meta.measurement, hex) != 0) {
        g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_INVALID,
                    _("The domain's metadata says measurement %s, its files give %s."),
                    meta.measurement ? meta.measurement : "(none)", hex);
        return NULL;
    }
    rec = snpg_vm_record_new(name);
    rec->uuid = get_uuid(doc);
    rec->workflow = g_strdup(snpg_workflow_to_string(meta.workflow));
    rec->expected_measurement = g_strdup(hex);
    rec->verifier_mode = g_strdup(r->verifier_mode);
    if (r->agent_window)
        snpg_vm_record_set_setting(rec, SNPG_VM_SETTING_AGENT_WINDOW, r->agent_window);
    rec->failure_action = g_strdup(snpg_failure_action_to_string(meta.failure_action));
    rec->emulate = meta.emulate;

    vmpl = g_strdup_printf("%u", meta.vmpl);
    if (!snpg_attest_policy_set_value(policy, "measurement", hex, error) ||
        !snpg_attest_policy_set_value(policy, "vmpl", vmpl, error))
        return NULL;
    snpg_vm_record_set_reference(rec, snpg_attest_policy_get_options(policy));

    snpg_vm_record_set_setting(rec, "gate", meta.gate ? "on" : "off");
    vcpus = g_strdup_printf("%u", in.vcpus);
    snpg_vm_record_set_setting(rec, "vcpus", vcpus);
    snpg_vm_record_set_setting(rec, "vcpu-type", in.vcpu_type);
    snpg_vm_record_set_setting(rec, "cmdline", in.cmdline);
    if (meta.verifier_pin)
        snpg_vm_record_set_setting(rec, "verifier-pin", meta.verifier_pin);
    if (r->verifier_key)
        snpg_vm_record_set_setting(rec, SNPG_VM_SETTING_VERIFIER_KEY, r->verifier_key);
    snpg_vm_record_set_setting(rec, "connect", r->connect ? r->connect : SNPG_VIRT_URI_DEFAULT);
    for (guint i = 0; i < in.assumptions->len; i++) {
        g_autofree char *key = g_strdup_printf("assumption-%u", i + 1);

        snpg_vm_record_set_setting(rec, key, g_ptr_array_index(in.assumptions, i));
    }
    {
        g_autofree char *fw = snpg_hex_encode(ex->firmware_digest, SNPG_MEASURE_SNP_DIGEST_SIZE);
        g_autofree char *k = snpg_hex_encode(ex->hashes.kernel, 32);
        g_autofree char *i = snpg_hex_encode(ex->hashes.initrd, 32);
        g_autofree char *c = snpg_hex_encode(ex->hashes.cmdline, 32);

        snpg_vm_record_add_input(rec, "firmware", in.firmware, "sha384", fw);
        snpg_vm_record_add_input(rec, "kernel", in.kernel, "sha256", k);
        snpg_vm_record_add_input(rec, "initrd", in.initrd, "sha256", i);
        snpg_vm_record_add_input(rec, "cmdline", "-", "sha256", c);
    }
    if (r->trust_root) {
        /* Trusted for this VM only, and only with these bytes. */
        g_autoptr(GBytes) pem = snpg_file_read(r->trust_root, 64 * 1024, error);
        g_autofree char *sum = NULL;

        if (!pem)
            return NULL;
        sum = g_compute_checksum_for_bytes(G_CHECKSUM_SHA256, pem);
        snpg_vm_record_set_setting(rec, SNPG_VM_SETTING_TRUST_ROOT, r->trust_root);
        snpg_vm_record_add_input(rec, SNPG_VM_SETTING_TRUST_ROOT, r->trust_root, "sha256", sum);
    }
    return g_steal_pointer(&rec);
}

int
snpg_cli_register_domain(xmlDoc *doc, const SnpgCliRegister *r)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(SnpgVirt) virt = NULL;
    g_autoptr(SnpgRegistry) reg = NULL;
    g_autoptr(SnpgVmRecord) rec = NULL;
    g_autoptr(SnpgVmRecord) existing = NULL;
    g_autoptr(SnpgSecret) key = NULL;
    g_autofree char *xml = NULL, *uuid = NULL, *previous = NULL;
    gboolean defined = FALSE;
    guint removed = 0;

    if (!get_uuid(doc)) {
        uuid = g_uuid_string_random();
        set_uuid(doc, uuid);
    }
    if (!(rec = make_record(doc, r, &error)))
        return FAIL("%s", error->message);
    if (!(virt = snpg_virt_open(r->connect, &error)))
        return FAIL("%s", error->message);
    if (!r->replace && snpg_virt_domain_exists(virt, rec->name))
        return FAIL(_("libvirt already has a domain named '%s' (snpguard adopt %s manages it)"),
                    rec->name, rec->name);
    if (!(reg = snpg_registry_open(r->state_dir, SNPG_REGISTRY_OPEN_CREATE, &error)))
        return FAIL("%s", error->message);
    if ((existing = snpg_registry_get_vm(reg, rec->name, NULL)))
        return FAIL(_("snpguard already manages a VM named '%s' (snpguard undefine %s first)"),
                    rec->name, rec->name);
    if (!snpg_registry_remove_orphan_keys(reg, ORPHAN_KEY_MIN_AGE, &removed, &error))
        return FAIL("%s", error->message);
    if (removed)
        fprintf(stderr, _("snpguard: note: wiped %u disk key(s) no VM refers to (left by an "
                          "interrupted define)\n"), removed);

    /* Order: key file, registry transaction, libvirt define, commit. Each
     * failure undoes what came before it. */
    if (g_str_equal(rec->workflow, "encrypted") &&
        !(key = snpg_keystore_create(r->state_dir, rec->uuid, &rec->key_path, &error)))
        return FAIL("%s", error->message);
    xml = snpg_domain_to_string(doc);
    /* adopt NAME redefines the domain: keep its definition to put back. */
    if (r->replace && !(previous = snpg_virt_get_xml(virt, rec->name, FALSE, &error)))
        return FAIL("%s", error->message);
    if (!snpg_registry_begin(reg, &error) || !snpg_registry_add_vm(reg, rec, &error) ||
        !(defined = snpg_virt_define(virt, rec->name, xml, r->replace, &error)) ||
        !snpg_registry_commit(reg, &error)) {
        g_autoptr(GError) undo = NULL;

        snpg_registry_rollback(reg);
        if (defined && (r->replace ? !snpg_virt_define(virt, rec->name, previous, TRUE, &undo)
                                   : !snpg_virt_undefine(virt, rec->name, &undo)))
            fprintf(stderr, _("snpguard: cannot undo the libvirt definition of '%s': %s\n"),
                    rec->name, undo->message);
        if (rec->key_path && !snpg_keystore_delete(r->state_dir, rec->key_path, &undo))
            fprintf(stderr, _("snpguard: cannot remove the new key: %s\n"), undo->message);
        return FAIL("%s", error->message);
    }
    printf(_("Domain '%s' defined, managed by snpguard\n"), rec->name);
    printf(_("expected measurement: %s\n"), rec->expected_measurement);
    if (rec->key_path)
        printf(_("disk key: %s/%s\n"), r->state_dir, rec->key_path);
    return fflush(stdout) == 0 ? SNPG_EXIT_OK : FAIL(_("Cannot write the output."));
}

char *
snpg_cli_emulate_trust_root(const char *state_dir)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *sim_dir = snpg_gate_sim_dir(state_dir);
    g_autofree char *conf = g_build_filename(sim_dir, "sim.conf", NULL);

    if (!g_file_test(conf, G_FILE_TEST_EXISTS)) {
        if (!snpg_sim_init(sim_dir, "Milan", &error)) {
            snpg_cli_error("%s", error->message);
            return NULL;
        }
        fprintf(stderr, _("snpguard: note: created the simulated secure processor %s "
                          "(TEST keys)\n"), sim_dir);
    }
    return g_build_filename(sim_dir, "ark.pem", NULL);
}

gboolean
snpg_cli_verifier_identity(const char *state_dir, const char *key_file, char **ret_path,
                           char **ret_pin)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *path = NULL;
    guint8 pin[SNPG_PROTO_PIN_LEN];

    if (key_file) {
        path = g_canonicalize_filename(key_file, NULL);
    } else {
        path = g_build_filename(state_dir, "verifier.pem", NULL);
        if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
            if (!snpg_state_dir_ensure(state_dir, TRUE, &error) ||
                !snpg_identity_create(path, FALSE, pin, &error)) {
                snpg_cli_error("%s", error->message);
                return FALSE;
            }
            fprintf(stderr, _("snpguard: note: created the verifier identity %s\n"), path);
        }
    }
    if (!(*ret_pin = snpg_cli_verifier_pin(path)))
        return FALSE;
    *ret_path = g_steal_pointer(&path);
    return TRUE;
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
    g_autofree char *pin = NULL, *identity_file = NULL, *state_dir = NULL, *append = NULL;
    g_autofree char *verifier_key = NULL, *trust_root = NULL;
    SnpgCliRegister reg = { 0 };
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
    /* In the metadata too: a host without the registry (a remote
     * verifier) lets the start gate know who attests. */
    spec.verifier_mode = o->verifier ? o->verifier : "hook";
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
    state_dir = snpg_state_dir_resolve(o->state_dir);
    if (o->agent_window && !g_ascii_string_to_unsigned(o->agent_window, 10, 1, 86400, NULL, NULL))
        return USAGE(_("--agent-window takes seconds, 1 to 86400: '%s'"), o->agent_window);
    if (o->emulate) {
        identity_file = snpg_gate_identity_path(state_dir, name);
        spec.identity_file = identity_file;
        /* The guest's init selects the simulated secure processor. */
        if (!spec.append || !strstr(spec.append, "snpguard.psp=")) {
            append = g_strdup_printf("%s%ssnpguard.psp=sim", spec.append ? spec.append : "",
                                     spec.append && *spec.append ? " " : "");
            spec.append = append;
        }
    }

    if (o->print_xml && o->verifier_key) {
        if (!(pin = snpg_cli_verifier_pin(o->verifier_key)))
            return SNPG_EXIT_ERROR;
        spec.verifier = "key";
    } else if (o->print_xml) {
        /* --print-xml touches nothing: no identity is created for it. */
        spec.verifier = "none";
        fprintf(stderr, _("snpguard: note: no --verifier-key: the command line pins no verifier, "
                          "so the guest accepts a key from any verifier\n"));
    } else {
        if (!o->emulate) {
            g_autoptr(SnpgVirt) virt = snpg_virt_open(o->connect, &error);

            if (!virt || !snpg_virt_check_snp_host(virt, &error))
                return FAIL("%s", error->message);
        }
        if (!snpg_state_dir_ensure(state_dir, TRUE, &error))
            return FAIL("%s", error->message);
        if (!snpg_cli_verifier_identity(state_dir, o->verifier_key, &verifier_key, &pin))
            return SNPG_EXIT_ERROR;
        spec.verifier = o->verifier_key ? "key" : "registry";
    }
    spec.verifier_pin = pin;

    if (!(doc = snpg_domain_build(&spec, &error)))
        return FAIL("%s", error->message);
    if (o->print_xml)
        return snpg_cli_print_domain(doc, o->json, FALSE, FALSE, FALSE);

    reg.state_dir = state_dir;
    reg.connect = o->connect;
    reg.verifier_mode = o->verifier ? o->verifier : "hook";
    reg.agent_window = o->agent_window;
    reg.verifier_key = verifier_key;
    if (o->emulate) {
        if (!(trust_root = snpg_cli_emulate_trust_root(state_dir)))
            return SNPG_EXIT_ERROR;
        reg.trust_root = trust_root;
    }
    return snpg_cli_register_domain(doc, &reg);
}

gboolean
snpg_cli_one_verifier(char **given, char **ret_mode)
{
    *ret_mode = NULL;
    for (guint i = 0; given && given[i]; i++) {
        if (!snpg_boot_verifier_mode_valid(given[i])) {
            snpg_cli_error(_("--verifier takes hook, watch or manual: '%s'"), given[i]);
            return FALSE;
        }
        /* Two verifiers would race for the one channel of every boot. */
        if (i > 0 && !g_str_equal(given[i], given[0])) {
            snpg_cli_error(_("a VM has one verifier: --verifier '%s' and --verifier '%s' both "
                             "given"), given[0], given[i]);
            return FALSE;
        }
    }
    *ret_mode = given && given[0] ? g_strdup(given[0]) : NULL;
    return TRUE;
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
        { "connect", 'c', 0, G_OPTION_ARG_STRING, &o.connect,
          N_("libvirt URI (default qemu:///system)"), N_("URI") },
        { "agent-window", 0, 0, G_OPTION_ARG_STRING, &o.agent_window,
          N_("Seconds the verifier waits for the guest's agent after a start (default 120)"),
          N_("S") },
        { "verifier", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o.verifier_list,
          N_("Who attests the VM and releases its key: hook (default), watch or manual"),
          N_("MODE") },
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
    if (!snpg_cli_one_verifier(o.verifier_list, &o.verifier))
        return SNPG_EXIT_USAGE;
    return define(argv[1], &o);
}

const SnpgCommand snpg_cmd_define = {
    "define", N_("Define an SEV-SNP VM and compute its expected measurement"), run,
};
