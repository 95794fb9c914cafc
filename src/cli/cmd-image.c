/* snpguard image: disk images for the workflows (see snpguard-image(1)). */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gi18n.h>

#include "cli-util.h"
#include "command.h"
#include "domain.h"
#include "image.h"
#include "keystore.h"
#include "registry.h"
#include "statedir.h"
#include "virt.h"

#define USAGE(...) (snpg_cli_error(__VA_ARGS__), SNPG_EXIT_USAGE)
#define FAIL(...) (snpg_cli_error(__VA_ARGS__), SNPG_EXIT_ERROR)

/* ---- progress ----------------------------------------------------------- */

typedef struct {
    gboolean tty;
    char *stage;
    int last_percent;
} Progress;

/* A bar on a terminal (stderr), nothing otherwise. */
static void
show_progress(const char *stage, guint64 done, guint64 total, gpointer user_data)
{
    Progress *p = user_data;
    int percent = total ? (int)(done * 100 / total) : 100;
    char bar[41];

    if (!p->tty)
        return;
    if (p->stage && g_str_equal(p->stage, stage) && percent == p->last_percent)
        return;
    if (!p->stage || !g_str_equal(p->stage, stage)) {
        if (p->stage)
            fputc('\n', stderr);
        g_free(p->stage);
        p->stage = g_strdup(stage);
    }
    p->last_percent = percent;
    for (int i = 0; i < 40; i++)
        bar[i] = i < percent * 40 / 100 ? '#' : '.';
    bar[40] = '\0';
    fprintf(stderr, "\r%-12s [%s] %3d%%", stage, bar, percent);
    fflush(stderr);
}

static void
progress_end(Progress *p)
{
    if (p->tty && p->stage)
        fputc('\n', stderr);
    g_clear_pointer(&p->stage, g_free);
}

/* ---- the VM's domain ---------------------------------------------------- */

/* The registered VM name, checked for workflow; NULL after printing why. */
static SnpgVmRecord *
load_vm(SnpgRegistry *reg, const char *name, const char *workflow)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(SnpgVmRecord) rec = snpg_registry_get_vm(reg, name, &error);

    if (!rec) {
        if (g_error_matches(error, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_NOT_FOUND))
            snpg_cli_error(_("no VM named '%s' (snpguard define %s --workflow %s first)"), name,
                           name, workflow);
        else
            snpg_cli_error("%s", error->message);
        return NULL;
    }
    if (!rec->workflow || !g_str_equal(rec->workflow, workflow)) {
        snpg_cli_error(_("VM '%s' has the %s workflow, not %s"), name,
                       rec->workflow ? rec->workflow : "none", workflow);
        return NULL;
    }
    return g_steal_pointer(&rec);
}

/* What the VM's command line gets: snpguard.root=luks:DEV for a LUKS2
 * image (verity NULL), else snpguard.verity=... with the devices the
 * domain's disks are in the guest unless given. */
static char *
root_parameter(xmlDoc *doc, const SnpgImageVerityFacts *verity, const char *data_dev,
               const char *hash_dev, GError **error)
{
    g_autofree char *first = NULL, *second = NULL;

    if (!verity) {
        if (!(first = snpg_image_domain_disk_device(doc, 0, error)))
            return NULL;
        return g_strconcat("luks:", first, NULL);
    }
    if ((!data_dev && !(first = snpg_image_domain_disk_device(doc, 0, error))) ||
        (!hash_dev && !(second = snpg_image_domain_disk_device(doc, 1, error))))
        return NULL;
    return snpg_image_verity_cmdline(verity, data_dev ? data_dev : first,
                                     hash_dev ? hash_dev : second);
}

/* Puts the image(s) and the root parameter into the VM's domain,
 * recomputes its measurement, and stores both: the registry row and the
 * libvirt definition change together or not at all. */
static int
update_vm(SnpgRegistry *reg, SnpgVmRecord *rec, const char *connect, const char *const *disks,
          const SnpgImageVerityFacts *verity, const char *data_dev, const char *hash_dev)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(xmlDoc) doc = NULL;
    g_autoptr(SnpgVirt) virt = NULL;
    g_autofree char *xml = NULL, *new_xml = NULL, *value = NULL;
    const char *uri = connect ? connect : snpg_vm_record_get_setting(rec, "connect");
    const char *workflow = verity ? "integrity" : "encrypted";
    const char *param = verity ? "snpguard.verity" : "snpguard.root";

    if (!(virt = snpg_virt_open(uri, &error)) ||
        !(xml = snpg_virt_get_xml(virt, rec->name, FALSE, &error)) ||
        !(doc = snpg_domain_parse(xml, strlen(xml), rec->name, &error)) ||
        !(value = root_parameter(doc, verity, data_dev, hash_dev, &error)) ||
        !snpg_image_update_domain(doc, rec, workflow, param, value, disks, &error))
        return FAIL("%s", error->message);
    if (verity)
        snpg_vm_record_set_setting(rec, SNPG_VM_SETTING_VERITY, value);
    new_xml = snpg_domain_to_string(doc);
    if (!snpg_registry_begin(reg, &error) || !snpg_registry_update_vm(reg, rec, &error) ||
        !snpg_virt_define(virt, rec->name, new_xml, TRUE, &error) ||
        !snpg_registry_commit(reg, &error)) {
        snpg_registry_rollback(reg);
        return FAIL("%s", error->message);
    }
    printf(_("VM '%s' updated: %s=%s, expected measurement %s\n"), rec->name, param, value,
           rec->expected_measurement);
    return SNPG_EXIT_OK;
}

/* ---- image rootfs ------------------------------------------------------- */

static int
run_rootfs(int argc, char **argv)
{
    g_autofree char *marker = NULL, *busybox = NULL;
    gboolean force = FALSE;
    const GOptionEntry entries[] = {
        { "marker", 0, 0, G_OPTION_ARG_STRING, &marker,
          N_("The text its init prints as 'snpguard-marker: TEXT' (default hello)"), N_("TEXT") },
        { "busybox", 0, 0, G_OPTION_ARG_FILENAME, &busybox,
          N_("The statically linked busybox (default /bin/busybox, from busybox-static)"),
          N_("FILE") },
        { "force", 0, 0, G_OPTION_ARG_NONE, &force, N_("Replace an existing DIR"), NULL },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx = snpg_cli_context_new("image rootfs", "DIR",
        _("Write a small bootable root file system into DIR: busybox, and an /sbin/init "
          "that prints 'snpguard-marker: TEXT' on the console and powers the VM off."),
        entries);
    g_autoptr(GError) error = NULL;
    SnpgImageRootfsOptions o = { 0 };
    const char *epoch = g_getenv("SOURCE_DATE_EPOCH");

    if (!snpg_cli_parse(ctx, &argc, &argv))
        return SNPG_EXIT_USAGE;
    if (argc < 2)
        return USAGE(_("expected the output DIR"));
    if (argc > 2)
        return USAGE(_("unexpected argument '%s'"), argv[2]);
    if (epoch && *epoch) {
        guint64 v;
        if (!snpg_cli_parse_u64("SOURCE_DATE_EPOCH", epoch, 10, G_MAXUINT32, &v))
            return SNPG_EXIT_USAGE;
        o.mtime = (guint32)v;
    }
    o.busybox = busybox;
    o.marker = marker;
    o.force = force;
    if (!snpg_image_rootfs(argv[1], &o, &error))
        return FAIL("%s", error->message);
    return SNPG_EXIT_OK;
}

/* ---- image encrypt ------------------------------------------------------ */

static int
run_encrypt(int argc, char **argv)
{
    g_autofree char *state_opt = NULL, *state_dir = NULL, *connect = NULL;
    gboolean force = FALSE, no_define = FALSE;
    const GOptionEntry entries[] = {
        { "force", 0, 0, G_OPTION_ARG_NONE, &force, N_("Replace an existing DST"), NULL },
        { "no-define", 0, 0, G_OPTION_ARG_NONE, &no_define,
          N_("Record the header facts in the registry, but leave the libvirt domain as it is"),
          NULL },
        { "connect", 'c', 0, G_OPTION_ARG_STRING, &connect,
          N_("libvirt URI (default: the one the VM was defined with)"), N_("URI") },
        { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_opt,
          N_("The state directory (default: $SNPGUARD_STATE_DIR or /var/lib/snpguard)"),
          N_("DIR") },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx = snpg_cli_context_new("image encrypt", "NAME SRC DST",
        _("Write DST, a LUKS2 image (aes-xts-plain64, 512-bit key) of SRC (a directory, made "
          "into ext4, or a raw image) whose single keyslot opens with VM NAME's key from the "
          "key store. The header's cipher, key size and SHA-256 are recorded for the "
          "attestation, and the VM's domain gets DST as its disk and "
          "snpguard.root=luks:/dev/vdX on its command line (its measurement recomputed).\n\n"
          "DST ending in .qcow2 is converted with qemu-img. Nothing is left behind on failure."),
        entries);
    g_autoptr(GError) error = NULL;
    g_autoptr(SnpgRegistry) reg = NULL;
    g_autoptr(SnpgVmRecord) rec = NULL;
    g_autoptr(SnpgSecret) key = NULL;
    g_auto(SnpgImageLuksFacts) facts = { 0 };
    Progress progress = { .tty = isatty(STDERR_FILENO), .last_percent = -1 };
    SnpgImageOptions o = { .force = force, .progress = show_progress, .user_data = &progress };
    gboolean ok;

    if (!snpg_cli_parse(ctx, &argc, &argv))
        return SNPG_EXIT_USAGE;
    if (argc < 4)
        return USAGE(_("expected NAME SRC DST"));
    if (argc > 4)
        return USAGE(_("unexpected argument '%s'"), argv[4]);
    o.force = force;
    state_dir = snpg_state_dir_resolve(state_opt);
    if (!(reg = snpg_registry_open(state_dir, SNPG_REGISTRY_OPEN_DEFAULT, &error)))
        return FAIL("%s", error->message);
    if (!(rec = load_vm(reg, argv[1], "encrypted")))
        return SNPG_EXIT_ERROR;
    if (!rec->key_path)
        return FAIL(_("VM '%s' has no disk key"), rec->name);
    if (!(key = snpg_keystore_load(state_dir, rec->key_path, &error)))
        return FAIL("%s", error->message);
    ok = snpg_image_encrypt(argv[2], argv[3], key, &o, &facts, &error);
    progress_end(&progress);
    if (!ok)
        return FAIL("%s", error->message);
    printf(_("wrote %s: LUKS2 %s, %u-bit key, header sha256 %s\n"), argv[3], facts.cipher,
           facts.key_bits, facts.header_sha256);
    snpg_image_record_luks(rec, &facts);
    if (no_define) {
        if (!snpg_registry_update_vm(reg, rec, &error))
            return FAIL("%s", error->message);
        return SNPG_EXIT_OK;
    }
    {
        const char *disks[] = { argv[3], NULL };
        return update_vm(reg, rec, connect, disks, NULL, NULL, NULL);
    }
}

/* ---- image verity ------------------------------------------------------- */

static int
run_verity(int argc, char **argv)
{
    g_autofree char *state_opt = NULL, *state_dir = NULL, *connect = NULL;
    g_autofree char *data_dev = NULL, *hash_dev = NULL, *value = NULL;
    gboolean force = FALSE, no_define = FALSE;
    const GOptionEntry entries[] = {
        { "force", 0, 0, G_OPTION_ARG_NONE, &force, N_("Replace existing DATA and HASH"), NULL },
        { "data-device", 0, 0, G_OPTION_ARG_STRING, &data_dev,
          N_("The data disk as the guest sees it (default: the domain's first disk, /dev/vda)"),
          N_("DEV") },
        { "hash-device", 0, 0, G_OPTION_ARG_STRING, &hash_dev,
          N_("The hash disk as the guest sees it (default: the domain's second disk, /dev/vdb)"),
          N_("DEV") },
        { "no-define", 0, 0, G_OPTION_ARG_NONE, &no_define,
          N_("Record the parameters in the registry, but leave the libvirt domain as it is"),
          NULL },
        { "connect", 'c', 0, G_OPTION_ARG_STRING, &connect,
          N_("libvirt URI (default: the one the VM was defined with)"), N_("URI") },
        { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_opt,
          N_("The state directory (default: $SNPGUARD_STATE_DIR or /var/lib/snpguard)"),
          N_("DIR") },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx = snpg_cli_context_new("image verity", "NAME SRC DATA HASH",
        _("Write DATA (SRC: a directory, made into ext4, or a raw image) and HASH, its dm-verity "
          "hash tree (sha256, 4 KiB blocks, a random salt, no superblock). VM NAME's domain "
          "gets DATA and HASH as its disks and snpguard.verity=... with the root hash on its "
          "command line; its expected measurement is recomputed."), entries);
    g_autoptr(GError) error = NULL;
    g_autoptr(SnpgRegistry) reg = NULL;
    g_autoptr(SnpgVmRecord) rec = NULL;
    g_auto(SnpgImageVerityFacts) facts = { 0 };
    Progress progress = { .tty = isatty(STDERR_FILENO), .last_percent = -1 };
    SnpgImageOptions o = { .progress = show_progress, .user_data = &progress };
    gboolean ok;

    if (!snpg_cli_parse(ctx, &argc, &argv))
        return SNPG_EXIT_USAGE;
    if (argc < 5)
        return USAGE(_("expected NAME SRC DATA HASH"));
    if (argc > 5)
        return USAGE(_("unexpected argument '%s'"), argv[5]);
    for (guint i = 0; i < 2; i++) {
        const char *dev = i == 0 ? data_dev : hash_dev;

        if (dev && !g_regex_match_simple("^/dev/[a-z0-9/_-]{1,64}$", dev, 0, 0))
            return USAGE(_("a device is a path under /dev without commas, not '%s'"), dev);
    }
    o.force = force;
    state_dir = snpg_state_dir_resolve(state_opt);
    if (!(reg = snpg_registry_open(state_dir, SNPG_REGISTRY_OPEN_DEFAULT, &error)))
        return FAIL("%s", error->message);
    if (!(rec = load_vm(reg, argv[1], "integrity")))
        return SNPG_EXIT_ERROR;
    ok = snpg_image_verity(argv[2], argv[3], argv[4], &o, &facts, &error);
    progress_end(&progress);
    if (!ok)
        return FAIL("%s", error->message);
    printf(_("wrote %s and %s: root hash %s\n"), argv[3], argv[4], facts.root_hash);
    if (no_define) {
        /* No domain to ask: the devices as given, else the template's. */
        value = snpg_image_verity_cmdline(&facts, data_dev ? data_dev : "/dev/vda",
                                          hash_dev ? hash_dev : "/dev/vdb");
        snpg_vm_record_set_setting(rec, SNPG_VM_SETTING_VERITY, value);
        if (!snpg_registry_update_vm(reg, rec, &error))
            return FAIL("%s", error->message);
        printf("snpguard.verity=%s\n", value);
        return SNPG_EXIT_OK;
    }
    {
        const char *disks[] = { argv[3], argv[4], NULL };
        return update_vm(reg, rec, connect, disks, &facts, data_dev, hash_dev);
    }
}

static const SnpgCommand subcommands[] = {
    { "rootfs", NULL, run_rootfs },
    { "encrypt", NULL, run_encrypt },
    { "verity", NULL, run_verity },
    { NULL }
};

static const char help[] =
    N_("Usage: snpguard image rootfs DIR [--marker TEXT] [--force]\n"
       "       snpguard image encrypt NAME SRC DST [--force]\n"
       "       snpguard image verity NAME SRC DATA HASH [--force]\n\n"
       "Disk images for the two boot workflows: a small demo root, a LUKS2 image that\n"
       "the VM's key opens (encrypted workflow), dm-verity data and hash images whose\n"
       "root hash goes on the measured command line (integrity workflow).\n\n"
       "Run 'snpguard image SUBCOMMAND --help' for options.\n");

const SnpgCommand snpg_cmd_image = {
    "image", N_("Disk images for the workflows (rootfs, encrypt, verity)"), NULL,
    subcommands, help,
};
