/* snpguard guest build: the guest kernel and initramfs (see snpguard-guest(1)). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <glib/gi18n.h>

#include "cli-util.h"
#include "command.h"
#include "guest-image.h"

/* Next to the running snpguard (a build tree), else where `make install`
 * puts it. */
static char *
default_path(const char *beside_exe, const char *installed)
{
    g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);

    if (exe) {
        g_autofree char *dir = g_path_get_dirname(exe);
        g_autofree char *candidate = g_build_filename(dir, beside_exe, NULL);

        if (g_file_test(candidate, G_FILE_TEST_IS_REGULAR))
            return g_steal_pointer(&candidate);
    }
    return g_strdup(installed);
}

static void
print_json(const char *dir, const SnpgGuestImageInfo *info)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(JsonNode) root = NULL;
    g_autofree char *vmlinuz = g_build_filename(dir, "vmlinuz", NULL);
    g_autofree char *initrd = g_build_filename(dir, "initrd.img", NULL);

    json_builder_begin_object(b);
    snpg_cli_json_add_string(b, "kernel_release", info->kernel_release);
    snpg_cli_json_add_string(b, "kernel_deb", info->kernel_deb);
    json_builder_set_member_name(b, "modules");
    json_builder_begin_array(b);
    for (gsize i = 0; info->modules[i]; i++)
        json_builder_add_string_value(b, info->modules[i]);
    json_builder_end_array(b);
    json_builder_set_member_name(b, "hardware_modules");
    json_builder_begin_array(b);
    for (gsize i = 0; info->hardware_modules[i]; i++)
        json_builder_add_string_value(b, info->hardware_modules[i]);
    json_builder_end_array(b);
    json_builder_set_member_name(b, "builtin");
    json_builder_begin_array(b);
    for (gsize i = 0; info->builtin[i]; i++)
        json_builder_add_string_value(b, info->builtin[i]);
    json_builder_end_array(b);
    json_builder_set_member_name(b, "vmlinuz");
    json_builder_begin_object(b);
    snpg_cli_json_add_string(b, "path", vmlinuz);
    snpg_cli_json_add_string(b, "sha256", info->vmlinuz_sha256);
    json_builder_end_object(b);
    json_builder_set_member_name(b, "initrd");
    json_builder_begin_object(b);
    snpg_cli_json_add_string(b, "path", initrd);
    snpg_cli_json_add_string(b, "sha256", info->initrd_sha256);
    json_builder_end_object(b);
    json_builder_end_object(b);
    root = json_builder_get_root(b);
    snpg_cli_print_json(root);
}

static void
print_text(const char *dir, const SnpgGuestImageInfo *info)
{
    g_autofree char *modules = g_strjoinv(" ", info->modules);
    g_autofree char *vmlinuz = g_build_filename(dir, "vmlinuz", NULL);
    g_autofree char *initrd = g_build_filename(dir, "initrd.img", NULL);

    printf(_("kernel:  %s (from %s)\n"), info->kernel_release, info->kernel_deb);
    printf(_("modules: %s\n"), modules);
    if (info->hardware_modules[0]) {
        g_autofree char *hardware = g_strjoinv(" ", info->hardware_modules);
        printf(_("on SEV-SNP hardware: %s\n"), hardware);
    }
    if (info->builtin[0]) {
        g_autofree char *builtin = g_strjoinv(" ", info->builtin);
        printf(_("built in: %s\n"), builtin);
    }
    printf("sha256 %s  %s\n", info->vmlinuz_sha256, vmlinuz);
    printf("sha256 %s  %s\n", info->initrd_sha256, initrd);
}

static int
run_build(int argc, char **argv)
{
    g_autofree char *kernel_deb = NULL;
    g_autofree char *agent = NULL;
    g_autofree char *busybox = NULL;
    g_autofree char *init = NULL;
    g_autofree char *cache_dir = NULL;
    g_autofree char *compress = NULL;
    g_auto(GStrv) modules = NULL;
    gboolean json = FALSE;
    const GOptionEntry entries[] = {
        { "kernel-deb", 0, 0, G_OPTION_ARG_FILENAME, &kernel_deb,
          N_("Take the kernel and its modules from this linux-image package (default: "
             "download the one Debian's linux-image-amd64 depends on)"), N_("FILE") },
        { "agent", 0, 0, G_OPTION_ARG_FILENAME, &agent,
          N_("The statically linked snpguard-agent (default: the one installed with snpguard)"),
          N_("FILE") },
        { "busybox", 0, 0, G_OPTION_ARG_FILENAME, &busybox,
          N_("The statically linked busybox (default /bin/busybox, from busybox-static)"),
          N_("FILE") },
        { "init", 0, 0, G_OPTION_ARG_FILENAME, &init,
          N_("The init script (default: the one installed with snpguard)"), N_("FILE") },
        { "module", 'm', 0, G_OPTION_ARG_STRING_ARRAY, &modules,
          N_("Load this kernel module (repeatable; replaces the default list)"), N_("NAME") },
        { "cache-dir", 0, 0, G_OPTION_ARG_FILENAME, &cache_dir,
          N_("Keep downloaded packages here (default ~/.cache/snpguard)"), N_("DIR") },
        { "compress", 0, 0, G_OPTION_ARG_STRING, &compress,
          N_("Initramfs compression: none or gzip (default none: it boots faster under "
             "emulation, and its bytes depend on no compressor's version)"), N_("NAME") },
        { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print the result as JSON"), NULL },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx = snpg_cli_context_new("guest build", "DIR",
        _("Write DIR/vmlinuz and DIR/initrd.img: a Debian kernel and an initramfs with the "
          "static snpguard-agent, busybox, the kernel modules it needs and an init that runs "
          "the agent and reports the outcome on the console.\n\n"
          "The same inputs give the same bytes: entries sorted, owner 0, every time "
          "SOURCE_DATE_EPOCH (or 0), no compression by default."), entries);
    g_autoptr(GError) error = NULL;
    g_auto(SnpgGuestImageInfo) info = { 0 };
    SnpgGuestImageOptions options = { 0 };
    const char *epoch = g_getenv("SOURCE_DATE_EPOCH");

    if (!snpg_cli_parse(ctx, &argc, &argv))
        return SNPG_EXIT_USAGE;
    if (argc < 2) {
        snpg_cli_error(_("expected the output DIR"));
        return SNPG_EXIT_USAGE;
    }
    if (argc > 2) {
        snpg_cli_error(_("unexpected argument '%s'"), argv[2]);
        return SNPG_EXIT_USAGE;
    }
    if (!compress || g_str_equal(compress, "none")) {
        options.compression = SNPG_INITRAMFS_COMPRESSION_NONE;
    } else if (g_str_equal(compress, "gzip")) {
        options.compression = SNPG_INITRAMFS_COMPRESSION_GZIP;
    } else {
        snpg_cli_error(_("unknown compression '%s' (use gzip or none)"), compress);
        return SNPG_EXIT_USAGE;
    }
    if (epoch && *epoch) {
        guint64 v;

        if (!snpg_cli_parse_u64("SOURCE_DATE_EPOCH", epoch, 10, G_MAXUINT32, &v))
            return SNPG_EXIT_USAGE;
        options.mtime = (guint32)v;
    }
    if (!agent)
        agent = default_path("snpguard-agent", SBINDIR "/snpguard-agent");
    if (!init)
        init = default_path("guest/init", PKGDATADIR "/init");
    if (!cache_dir)
        cache_dir = g_build_filename(g_get_user_cache_dir(), "snpguard", NULL);
    options.kernel_deb = kernel_deb;
    options.cache_dir = cache_dir;
    options.agent = agent;
    options.busybox = busybox ? busybox : "/bin/busybox";
    options.init = init;
    options.modules = (const char *const *)modules;

    if (!snpg_guest_image_build(argv[1], &options, &info, &error)) {
        snpg_cli_error("%s", error->message);
        return SNPG_EXIT_ERROR;
    }
    if (json)
        print_json(argv[1], &info);
    else
        print_text(argv[1], &info);
    return SNPG_EXIT_OK;
}

static const SnpgCommand subcommands[] = {
    { "build", NULL, run_build },
    { NULL }
};

static const char help[] =
    N_("Usage: snpguard guest build DIR [--kernel-deb FILE] [--agent FILE] [OPTION...]\n\n"
       "Builds the guest image: a Debian kernel and a reproducible initramfs that\n"
       "attests the VM with snpguard-agent.\n\n"
       "Run 'snpguard guest build --help' for options.\n");

const SnpgCommand snpg_cmd_guest = {
    "guest", N_("The guest kernel and initramfs (build)"), NULL,
    subcommands, help,
};
