/* snpguard guest build: kernel from Debian's package, initramfs from the
 * static agent, busybox, modules and init. The kernel package is read with
 * the Debian tools (apt-cache, apt-get download, dpkg-deb -x, depmod);
 * nothing is installed on the host. */
#include "config.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "guest-image.h"
#include "i18n.h"

G_DEFINE_QUARK(snpg-guest-image-error-quark, snpg_guest_image_error)

const char *const snpg_guest_image_default_modules[] = {
    "virtio_ring", "virtio", "virtio_pci_legacy_dev", "virtio_pci_modern_dev", "virtio_pci",
    "virtio_console", "qemu_fw_cfg",
    /* Without a seeded CRNG getrandom() blocks, and with it the agent's key
     * generation: under TCG (no RDRAND) that can take minutes. */
    "virtio-rng",
    "virtio_blk",
    "dm-mod", "dm-bufio", "dm-verity", "dm-crypt",
    "ecb", "xts", "af_alg", "algif_skcipher", "algif_hash",
    /* The root file system, ext4 as snpguard image writes it: ext4 asks
     * the crypto API for crc32c, which nothing could load on demand here. */
    "crc32c_generic", "ext4",
    NULL
};

const char *const snpg_guest_image_hardware_modules[] = {
    "sev-guest",
    NULL
};

/* Inputs beyond this are not an agent, a busybox or a module. */
#define INPUT_SIZE_MAX (256 * 1024 * 1024)
/* An applet or module name. */
#define NAME_LEN_MAX 64
/* The kernel's meta package: it depends on the current linux-image-VERSION. */
#define KERNEL_META_PACKAGE "linux-image-amd64"

/* ---- small helpers ------------------------------------------------------ */

static GBytes *
read_input(const char *path, const char *what, GError **error)
{
    g_autoptr(GMappedFile) mapped = NULL;
    g_autoptr(GError) local = NULL;
    struct stat st;

    if (g_stat(path, &st) != 0) {
        int saved = errno;
        g_set_error(error, SNPG_GUEST_IMAGE_ERROR, SNPG_GUEST_IMAGE_ERROR_INPUT,
                    _("Cannot read the %s '%s': %s"), what, path, g_strerror(saved));
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        g_set_error(error, SNPG_GUEST_IMAGE_ERROR, SNPG_GUEST_IMAGE_ERROR_INPUT,
                    _("The %s '%s' is not a regular file"), what, path);
        return NULL;
    }
    if (st.st_size > INPUT_SIZE_MAX) {
        g_set_error(error, SNPG_GUEST_IMAGE_ERROR, SNPG_GUEST_IMAGE_ERROR_INPUT,
                    _("The %s '%s' is larger than %d MiB"), what, path, INPUT_SIZE_MAX >> 20);
        return NULL;
    }
    if (st.st_size == 0)
        return g_bytes_new(NULL, 0);
    if (!(mapped = g_mapped_file_new(path, FALSE, &local))) {
        g_set_error(error, SNPG_GUEST_IMAGE_ERROR, SNPG_GUEST_IMAGE_ERROR_INPUT,
                    _("Cannot read the %s '%s': %s"), what, path, local->message);
        return NULL;
    }
    return g_mapped_file_get_bytes(mapped);
}

/* Checks that path is an x86-64 ELF executable; sets *ret_interp to its
 * program interpreter (NULL: statically linked). */
static gboolean
inspect_elf(const char *path, const char *what, char **ret_interp, GError **error)
{
    g_autoptr(GBytes) bytes = read_input(path, what, error);
    const guint8 *data;
    const Elf64_Ehdr *eh;
    gsize len;

    *ret_interp = NULL;
    if (!bytes)
        return FALSE;
    data = g_bytes_get_data(bytes, &len);
    eh = (const Elf64_Ehdr *)data;
    if (len < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
        eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_X86_64 ||
        (eh->e_type != ET_EXEC && eh->e_type != ET_DYN)) {
        g_set_error(error, SNPG_GUEST_IMAGE_ERROR, SNPG_GUEST_IMAGE_ERROR_INPUT,
                    _("The %s '%s' is not an x86-64 executable"), what, path);
        return FALSE;
    }
    if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phoff > len ||
        (len - eh->e_phoff) / sizeof(Elf64_Phdr) < eh->e_phnum) {
        g_set_error(error, SNPG_GUEST_IMAGE_ERROR, SNPG_GUEST_IMAGE_ERROR_INPUT,
                    _("The %s '%s' has a damaged ELF header"), what, path);
        return FALSE;
    }
    for (guint i = 0; i < eh->e_phnum; i++) {
        Elf64_Phdr ph;

        memcpy(&ph, data + eh->e_phoff + i * sizeof(Elf64_Phdr), sizeof(ph));
        if (ph.p_type != PT_INTERP)
            continue;
        if (ph.p_offset > len || ph.p_filesz > len - ph.p_offset || ph.p_filesz < 2 ||
            ph.p_filesz > 256 || data[ph.p_offset + ph.p_filesz - 1] != '\0' ||
            data[ph.p_offset] != '/') {
            g_set_error(error, SNPG_GUEST_IMAGE_ERROR, SNPG_GUEST_IMAGE_ERROR_INPUT,
                        _("The %s '%s' has a damaged program interpreter"), what, path);
            return FALSE;
        }
        *ret_interp = g_strdup((const char *)data + ph.p_offset);
        return TRUE;
    }
    return TRUE;
}

gboolean
snpg_guest_image_check_static(const char *path, const char *what, GError **error)
{
    g_autofree char *interp = NULL;

    if (!inspect_elf(path, what, &interp, error))
        return FALSE;
    if (interp) {
        g_set_error(error, SNPG_GUEST_IMAGE_ERROR, SNPG_GUEST_IMAGE_ERROR_INPUT,
                    _("The %s '%s' is dynamically linked; the initramfs holds no "
                      "libraries (build it statically)"), what, path);
        return FALSE;
    }
    return TRUE;
}

/* Runs a tool; on failure the error names the command and its last words. */
static gboolean
run_tool(const char *const *argv, const char *cwd, char **ret_stdout, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    g_autofree char *command = g_strjoinv(" ", (char **)argv);
    int status = 0;

    if (!g_spawn_sync(cwd, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err,
                      &status, &local) ||
        !g_spawn_check_wait_status(status, &local)) {
        g_strstrip(err ? err : (err = g_strdup("")));
        g_set_error(error, SNPG_GUEST_IMAGE_ERROR, SNPG_GUEST_IMAGE_ERROR_TOOL,
                    _("'%s' failed: %s%s%s"), command, local->message, *err ? ": " : "", err);
        return FALSE;
    }
    if (ret_stdout)
        *ret_stdout = g_steal_pointer(&out);
    return TRUE;
}

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path) == 0 ? 0 : -1;
}

/* rm -rf of a directory this process created. */
static void
remove_tree(const char *path)
{
    if (path && nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        g_warning("cannot remove '%s': %s", path, g_strerror(errno));
}

static char *
sha256_file_hex(const char *path, GError **error)
{
    g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
    g_autoptr(GMappedFile) mapped = g_mapped_file_new(path, FALSE, error);

    if (!mapped)
        return NULL;
    g_checksum_update(sum, (const guchar *)g_mapped_file_get_contents(mapped),
                      (gssize)g_mapped_file_get_length(mapped));
    return g_strdup(g_checksum_get_string(sum));
}

/* ---- the kernel package ------------------------------------------------- */

/* The value of "Field:" in the first stanza of apt-cache show's output. */
static char *
stanza_field(const char *text, const char *field)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    g_autofree char *prefix = g_strconcat(field, ":", NULL);

    for (gsize i = 0; lines[i] && *lines[i]; i++)
        if (g_str_has_prefix(lines[i], prefix))
            return g_strstrip(g_strdup(lines[i] + strlen(prefix)));
    return NULL;
}

static gboolean
package_name_is_valid(const char *name)
{
    if (!name || !g_ascii_isalnum(name[0]) || strlen(name) > 128)
        return FALSE;
    for (const char *p = name; *p; p++)
        if (!g_ascii_islower(*p) && !g_ascii_isdigit(*p) && !strchr(".+-", *p))
            return FALSE;
    return TRUE;
}

char *
snpg_guest_image_fetch_kernel_deb(const char *cache_dir, GError **error)
{
    const char *show_meta[] = { "apt-cache", "show", "--no-all-versions", KERNEL_META_PACKAGE,
                                NULL };
    g_autofree char *meta = NULL;
    g_autofree char *depends = NULL;
    g_autofree char *package = NULL;
    g_autofree char *info = NULL;
    g_autofree char *version = NULL;
    g_autofree char *filename = NULL;
    g_autofree char *sha256 = NULL;
    g_autofree char *basename = NULL;
    g_autofree char *deb = NULL;
    g_autofree char *have = NULL;
    g_autofree char *spec = NULL;

    if (!run_tool(show_meta, NULL, &meta, error))
        return NULL;
    /* "Depends: linux-image-6.1.0-56-amd64 (= 6.1.192-2)" */
    depends = stanza_field(meta, "Depends");
    if (depends)
        package = g_strndup(depends, strcspn(depends, " ,|("));
    if (!package_name_is_valid(package) || !g_str_has_prefix(package, "linux-image-")) {
        g_set_error(error, SNPG_GUEST_IMAGE_ERROR, SNPG_GUEST_IMAGE_ERROR_KERNEL,
                    _("Cannot tell which kernel %s depends on (give --kernel-deb FILE)"),
                    KERNEL_META_PACKAGE);
        return NULL;
    }
    {
        const char *show[] = { "apt-cache", "show", "--no-all-versions", package, NULL };
        if (!run_tool(show, NULL, &info, error))
            return NULL;
    }
    version = stanza_field(info, "Version");
    filename = stanza_field(info, "Filename");
    sha256 = stanza_field(info, "SHA256");
    if (!version || !filename || !sha256 || strlen(sha256) != 64) {
        g_set_error(error, SNPG_GUEST_IMAGE_ERROR, SNPG_GUEST_IMAGE_ERROR_KERNEL,
                    _("apt-cache shows no version, file name or SHA-256 for '%s'"), package);
        return NULL;
    }
    basename = g_path_get_basename(filename);
    if (!g_str_has_suffix(basename, ".deb") || basename[0] == '.') {
        g_set_error(error, SNPG_GUEST_IMAGE_ERROR, SNPG_GUEST_IMAGE_ERROR_KERNEL,
                    _("apt-cache names an unexpected file for '%s': '%s'"), package, filename);
        return NULL;
    }
    if (g_mkdir_with_parents(cache_dir, 0755) != 0) {
        int saved = errno;
        g_set_error(error, SNPG_GUEST_IMAGE_ERROR, SNPG_GUEST_IMAGE_ERROR_INPUT,
                    _("Cannot create the cache directory '%s': %s"), cache_dir,
                    g_strerror(saved));
        return NULL;
    }
    deb = g_build_filename(cache_dir, basename, NULL);
    /* A cached copy is used only if it is the one the archive names. */
    if (g_file_test(deb, G_FILE_TEST_IS_REGULAR) && (have = sha256_file_hex(deb, NULL)) &&
        g_ascii_strcasecmp(have, sha256) == 0)
        return g_steal_pointer(&deb);
    g_clear_pointer(&have, g_free);
    g_unlink(deb);
    spec = g_strdup_printf("%s=%s", package, version);
    {
        const char *download[] = { "apt-get", "download", "-q", spec, NULL };
        if (!run_tool(download, cache_dir, NULL, error))
            return NULL;
    }
    if (!(have = sha256_file_hex(deb, error)))
        return NULL;
    if (g_ascii_strcasecmp(have, sha256) != 0) {
        g_unlink(deb);
        g_set_error(error, SNPG_GUEST_IMAGE_ERROR, SNPG_GUEST_IMAGE_ERROR_KERNEL,
                    _("The downloaded '%s' does not have the archive's SHA-256"), deb);
        return NULL;
    }
    return g_steal_pointer(&deb);
}

/* The one boot/vmlinuz-RELEASE of an unpacked kernel package. */
static char *
find_kernel_release(const char *root, const char *deb, GError **error)
{
    g_autofree char *boot = g_build_filename(root, "boot", NULL);
    g_autoptr(GDir) dir = g_dir_open(boot, 0, NULL);
    g_autofree char *release = NULL;
    const char *name;

    while (dir && (name = g_dir_read_name(dir))) {
        if (!g_str_has_prefix(name, "vmlinuz-"))
            continue;
        if (release) {
            g_set_error(error, SNPG_GUEST_IMAGE_ERROR, SNPG_GUEST_IMAGE_ERROR_KERNEL,
                        _("'%s' holds more than one kernel"), deb);
            return NULL;
        }
        release = g_strdup(name + strlen("vmlinuz-"));
    }
    if (!release || !*release || strchr(release, '/') || g_str_equal(release, "..")) {
        g_set_error(error, SNPG_GUEST_IMAGE_ERROR, SNPG_GUEST_IMAGE_ERROR_KERNEL,
                    _("'%s' holds no boot/vmlinuz-RELEASE: is it a linux-image package?"), deb);
        return NULL;
    }
    return g_steal_pointer(&release);
}

/* ---- modules ------------------------------------------------------------ */

typedef struct {
    GHashTable *deps;      /* module name -> GStrv: [0] its file, then its dependencies' files */
    GHashTable *builtin;   /* module names built into the kernel */
    GHashTable *by_file;   /* file -> module name (borrowed from deps) */
} ModuleIndex;

static void
module_index_clear(ModuleIndex *index)
{
    g_clear_pointer(&index->by_file, g_hash_table_unref);
    g_clear_pointer(&index->deps, g_hash_table_unref);
    g_clear_pointer(&index->builtin, g_hash_table_unref);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(ModuleIndex, module_index_clear)

/* "kernel/drivers/md/dm-mod.ko" -> "dm_mod": modprobe treats '-' and '_' alike. */
static char *
module_name_from_file(const char *file)
{
    g_autofree char *base = g_path_get_basename(file);
    char *dot = strstr(base, ".ko");

    if (dot)
        *dot = '\0';
    return g_strdelimit(g_steal_pointer(&base), "-", '_');
}

static gboolean
load_module_index(const char *modules_dir, ModuleIndex *index, GError **error)
{
    g_autofree char *dep_path = g_build_filename(modules_dir, "modules.dep", NULL);
    g_autofree char *builtin_path = g_build_filename(modules_dir, "modules.builtin", NULL);
    g_autofree char *dep_text = NULL;
    g_autofree char *builtin_text = NULL;
    g_auto(GStrv) lines = NULL;

    index->deps = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                        (GDestroyNotify)g_strfreev);
    index->builtin = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    index->by_file = g_hash_table_new(g_str_hash, g_str_equal);
    if (!g_file_get_contents(dep_path, &dep_text, NULL, error))
        return FALSE;
    lines = g_strsplit(dep_text, "\n", -1);
    for (gsize i = 0; lines[i]; i++) {
        char *colon = strchr(lines[i], ':');
        g_autoptr(GStrvBuilder) files = g_strv_builder_new();
        g_auto(GStrv) deps = NULL;
        char *name;

        if (!colon)
            continue;
        *colon = '\0';
        g_strv_builder_add(files, lines[i]);
        deps = g_strsplit_set(colon + 1, " \t", -1);
        for (gsize j = 0; deps[j]; j++)
            if (*deps[j])
                g_strv_builder_add(files, deps[j]);
        name = module_name_from_file(lines[i]);
        g_hash_table_insert(index->deps, name, g_strv_builder_end(files));
        g_hash_table_insert(index->by_file,
                            ((char **)g_hash_table_lookup(index->deps, name))[0], name);
    }
    /* Older or custom kernels may lack the list: then nothing counts as built in. */
    if (g_file_get_contents(builtin_path, &builtin_text, NULL, NULL)) {
        g_auto(GStrv) builtin = g_strsplit(builtin_text, "\n", -1);
        for (gsize i = 0; builtin[i]; i++)
            if (*builtin[i])
                g_hash_table_add(index->builtin, module_name_from_file(builtin[i]));
    }
    return TRUE;
}

/* Appends name's dependencies, then name itself, to order (depth first, so
 * every module comes after the modules it needs). */
static gboolean
resolve_module(const ModuleIndex *index, const char *name, GHashTable *state, GPtrArray *order,
               GPtrArray *builtin, const char *release, GError **error)
{
    g_autofree char *key = g_strdelimit(g_strdup(name), "-", '_');
    const char *const *files = g_hash_table_lookup(index->deps, key);
    gpointer seen = g_hash_table_lookup(state, key);

    if (seen == GINT_TO_POINTER(2))
        return TRUE;
    if (seen == GINT_TO_POINTER(1)) {
        g_set_error(error, SNPG_GUEST_IMAGE_ERROR, SNPG_GUEST_IMAGE_ERROR_KERNEL,
                    _("The modules of kernel %s depend on each other in a cycle at '%s'"),
                    release, name);
        return FALSE;
    }
    if (!files) {
        if (g_hash_table_contains(index->builtin, key)) {
            g_hash_table_insert(state, g_strdup(key), GINT_TO_POINTER(2));
            g_ptr_array_add(builtin, g_strdup(name));
            return TRUE;
        }
        g_set_error(error, SNPG_GUEST_IMAGE_ERROR, SNPG_GUEST_IMAGE_ERROR_KERNEL,
                    _("Kernel %s has no module '%s'"), release, name);
        return FALSE;
    }
    if (!g_str_has_suffix(files[0], ".ko")) {
        g_set_error(error, SNPG_GUEST_IMAGE_ERROR, SNPG_GUEST_IMAGE_ERROR_KERNEL,
                    _("The module '%s' of kernel %s is compressed; busybox insmod needs plain "
                      ".ko files"), files[0], release);
        return FALSE;
    }
    g_hash_table_insert(state, g_strdup(key), GINT_TO_POINTER(1));
    /* modprobe loads the listed dependencies from last to first. */
    for (gsize n = g_strv_length((char **)files); n > 1; n--) {
        const char *dep = g_hash_table_lookup(index->by_file, files[n - 1]);

        if (!dep) {
            g_set_error(error, SNPG_GUEST_IMAGE_ERROR, SNPG_GUEST_IMAGE_ERROR_KERNEL,
                        _("Kernel %s: '%s' needs '%s', which modules.dep does not list"),
                        release, files[0], files[n - 1]);
            return FALSE;
        }
        if (!resolve_module(index, dep, state, order, builtin, release, error))
            return FALSE;
    }
    g_hash_table_insert(state, g_strdup(key), GINT_TO_POINTER(2));
    g_ptr_array_add(order, g_strdup(files[0]));
    return TRUE;
}

/* ---- the initramfs ------------------------------------------------------ */

static gboolean
add_input(SnpgInitramfs *initramfs, const char *path_inside, guint mode, const char *file,
          const char *what, GError **error)
{
    g_autoptr(GBytes) bytes = read_input(file, what, error);

    return bytes && snpg_initramfs_add_file(initramfs, path_inside, mode, bytes, error);
}

/* busybox and a link for each applet it names ("busybox --list"). */
static gboolean
add_busybox(SnpgInitramfs *initramfs, const char *busybox, GError **error)
{
    const char *list[] = { busybox, "--list", NULL };
    g_autofree char *applets_text = NULL;
    g_auto(GStrv) applets = NULL;

    if (!snpg_guest_image_check_static(busybox, _("busybox"), error) ||
        !add_input(initramfs, "bin/busybox", 0755, busybox, _("busybox"), error) ||
        !run_tool(list, NULL, &applets_text, error))
        return FALSE;
    applets = g_strsplit(applets_text, "\n", -1);
    for (gsize i = 0; applets[i]; i++) {
        g_autofree char *path = NULL;
        const char *name = applets[i];

        /* The list names busybox itself; skip it and anything that is not a name. */
        if (!*name || g_str_equal(name, "busybox") || strchr(name, '/') ||
            strlen(name) > NAME_LEN_MAX || g_str_equal(name, ".") || g_str_equal(name, ".."))
            continue;
        path = g_strconcat("bin/", name, NULL);
        if (!snpg_initramfs_contains(initramfs, path) &&
            !snpg_initramfs_add_symlink(initramfs, path, "busybox", error))
            return FALSE;
    }
    return TRUE;
}

/* Adds path's parent directories that the archive lacks. */
static gboolean
add_parents(SnpgInitramfs *initramfs, const char *path, GError **error)
{
    g_auto(GStrv) parts = g_strsplit(path, "/", -1);
    g_autoptr(GString) dir = g_string_new(NULL);

    for (gsize i = 0; parts[i] && parts[i + 1]; i++) {
        g_string_append_printf(dir, "%s%s", dir->len ? "/" : "", parts[i]);
        if (!snpg_initramfs_contains(initramfs, dir->str) &&
            !snpg_initramfs_add_directory(initramfs, dir->str, 0755, error))
            return FALSE;
    }
    return TRUE;
}

/* A dynamically linked agent: its shared libraries and the program
 * interpreter, at the paths the interpreter resolves them to on this host
 * ("ld.so --list AGENT"), so that the agent finds them in the guest. */
static gboolean
add_shared_libraries(SnpgInitramfs *initramfs, const char *agent, const char *interp,
                     GError **error)
{
    const char *list[] = { interp, "--list", agent, NULL };
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;

    if (!run_tool(list, NULL, &text, error))
        return FALSE;
    lines = g_strsplit(text, "\n", -1);
    for (gsize i = 0; lines[i]; i++) {
        /* "\tlibx.so.1 => /lib/.../libx.so.1 (0x...)" or "\t/lib64/ld-....so.2 (0x...)" */
        g_autofree char *line = g_strstrip(g_strdup(lines[i]));
        const char *arrow = strstr(line, "=> ");
        const char *path = arrow ? arrow + 3 : line;
        g_autofree char *file = g_strndup(path, strcspn(path, " "));

        if (!*line || g_str_has_prefix(line, "linux-vdso"))
            continue;
        if (g_str_has_prefix(path, "not found")) {
            g_set_error(error, SNPG_GUEST_IMAGE_ERROR, SNPG_GUEST_IMAGE_ERROR_INPUT,
                        _("The agent '%s' needs a library this host lacks: %s"), agent, line);
            return FALSE;
        }
        if (file[0] != '/' || strstr(file, "/../") || strlen(file) > 255) {
            g_set_error(error, SNPG_GUEST_IMAGE_ERROR, SNPG_GUEST_IMAGE_ERROR_INPUT,
                        _("Unexpected line from '%s --list': '%s'"), interp, line);
            return FALSE;
        }
        if (snpg_initramfs_contains(initramfs, file + 1))
            continue;
        if (!add_parents(initramfs, file + 1, error) ||
            !add_input(initramfs, file + 1, 0755, file, _("shared library"), error))
            return FALSE;
    }
    return TRUE;
}

/* The module files, and list_path naming them in load order. */
static gboolean
add_modules(SnpgInitramfs *initramfs, const char *modules_dir, GPtrArray *order,
            const char *list_path, GError **error)
{
    g_autoptr(GString) load_list = g_string_new(NULL);
    g_autoptr(GBytes) load_bytes = NULL;

    for (guint i = 0; i < order->len; i++) {
        g_autofree char *file = g_build_filename(modules_dir, order->pdata[i], NULL);
        g_autofree char *base = g_path_get_basename(order->pdata[i]);
        g_autofree char *inside = g_strconcat("lib/modules/", base, NULL);

        if (!add_input(initramfs, inside, 0644, file, _("kernel module"), error))
            return FALSE;
        g_string_append_printf(load_list, "%.*s\n", (int)(strlen(base) - strlen(".ko")), base);
    }
    load_bytes = g_string_free_to_bytes(g_steal_pointer(&load_list));
    return snpg_initramfs_add_file(initramfs, list_path, 0644, load_bytes, error);
}

static GStrv
module_names(GPtrArray *order)
{
    g_autoptr(GStrvBuilder) names = g_strv_builder_new();

    for (guint i = 0; i < order->len; i++) {
        g_autofree char *base = g_path_get_basename(order->pdata[i]);

        base[strlen(base) - strlen(".ko")] = '\0';
        g_strv_builder_add(names, base);
    }
    return g_strv_builder_end(names);
}

static gboolean
write_initrd(SnpgInitramfs *initramfs, const char *path, SnpgInitramfsCompression compression,
             GError **error)
{
    g_autoptr(GFile) file = g_file_new_for_path(path);
    g_autoptr(GFileOutputStream) out = NULL;
    g_autoptr(GOutputStream) buffered = NULL;

    /* g_file_replace writes a temporary file and renames it on close. */
    if (!(out = g_file_replace(file, NULL, FALSE, G_FILE_CREATE_NONE, NULL, error)))
        return FALSE;
    buffered = g_buffered_output_stream_new_sized(G_OUTPUT_STREAM(out), 1 << 20);
    if (!snpg_initramfs_write(initramfs, buffered, compression, NULL, error)) {
        g_output_stream_close(buffered, NULL, NULL);
        g_unlink(path);
        return FALSE;
    }
    return g_output_stream_close(buffered, NULL, error);
}

void
snpg_guest_image_info_clear(SnpgGuestImageInfo *info)
{
    g_clear_pointer(&info->kernel_deb, g_free);
    g_clear_pointer(&info->kernel_release, g_free);
    g_clear_pointer(&info->modules, g_strfreev);
    g_clear_pointer(&info->hardware_modules, g_strfreev);
    g_clear_pointer(&info->builtin, g_strfreev);
    g_clear_pointer(&info->vmlinuz_sha256, g_free);
    g_clear_pointer(&info->initrd_sha256, g_free);
}

static const char *const initramfs_dirs[] = {
    "bin", "dev", "etc", "etc/snpguard", "lib", "lib/modules", "proc", "run", "sbin", "sys",
    "tmp",
};

/* Unpacks the kernel package into cache_dir/kernels/SHA256 (once: the tree,
 * with the modules.dep that depmod writes, is reused by later builds) and
 * returns that directory. It appears under its name only when complete. */
static char *
unpack_kernel(const char *deb, const char *cache_dir, GError **error)
{
    g_autofree char *digest = NULL;
    g_autofree char *kernels = g_build_filename(cache_dir, "kernels", NULL);
    g_autofree char *tree = NULL;
    g_autofree char *tmp = NULL;
    g_autofree char *release = NULL;
    g_autofree char *modules_dir = NULL;

    if (!(digest = sha256_file_hex(deb, error)))
        return NULL;
    tree = g_build_filename(kernels, digest, NULL);
    if (g_file_test(tree, G_FILE_TEST_IS_DIR))
        return g_steal_pointer(&tree);
    /* ~400 MB: next to the cache, not on a tmpfs. */
    if (g_mkdir_with_parents(kernels, 0755) != 0) {
        int saved = errno;
        g_set_error(error, SNPG_GUEST_IMAGE_ERROR, SNPG_GUEST_IMAGE_ERROR_INPUT,
                    _("Cannot create the cache directory '%s': %s"), kernels, g_strerror(saved));
        return NULL;
    }
    tmp = g_build_filename(kernels, "unpack-XXXXXX", NULL);
    if (!g_mkdtemp(tmp)) {
        int saved = errno;
        g_set_error(error, SNPG_GUEST_IMAGE_ERROR, SNPG_GUEST_IMAGE_ERROR_INPUT,
                    _("Cannot create a directory in '%s': %s"), kernels, g_strerror(saved));
        return NULL;
    }
    {
        const char *unpack[] = { "dpkg-deb", "-x", deb, tmp, NULL };
        if (!run_tool(unpack, NULL, NULL, error))
            goto fail;
    }
    if (!(release = find_kernel_release(tmp, deb, error)))
        goto fail;
    modules_dir = g_build_filename(tmp, "lib", "modules", release, NULL);
    if (!g_file_test(modules_dir, G_FILE_TEST_IS_DIR)) {
        g_set_error(error, SNPG_GUEST_IMAGE_ERROR, SNPG_GUEST_IMAGE_ERROR_KERNEL,
                    _("'%s' has no modules for kernel %s"), deb, release);
        goto fail;
    }
    /* Debian ships no modules.dep: depmod writes it at install time. */
    {
        const char *depmod[] = { "depmod", "-b", tmp, release, NULL };
        if (!run_tool(depmod, NULL, NULL, error))
            goto fail;
    }
    if (g_rename(tmp, tree) != 0) {
        int saved = errno;
        /* A concurrent build may have put the same tree there first. */
        remove_tree(tmp);
        if (g_file_test(tree, G_FILE_TEST_IS_DIR))
            return g_steal_pointer(&tree);
        g_set_error(error, SNPG_GUEST_IMAGE_ERROR, SNPG_GUEST_IMAGE_ERROR_INPUT,
                    _("Cannot create '%s': %s"), tree, g_strerror(saved));
        return NULL;
    }
    return g_steal_pointer(&tree);
fail:
    remove_tree(tmp);
    return NULL;
}

static gboolean
build_in(const char *unpacked, const char *out_dir, const SnpgGuestImageOptions *options,
         SnpgGuestImageInfo *info, GError **error)
{
    const char *const *modules = options->modules ? options->modules
                                                  : snpg_guest_image_default_modules;
    g_autoptr(SnpgInitramfs) initramfs = snpg_initramfs_new(options->mtime);
    g_autoptr(GPtrArray) order = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) hardware_order = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) builtin = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GHashTable) state = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_auto(ModuleIndex) index = { 0 };
    g_autofree char *release = NULL;
    g_autofree char *modules_dir = NULL;
    g_autofree char *vmlinuz_in = NULL;
    g_autofree char *vmlinuz_out = NULL;
    g_autofree char *initrd_out = NULL;
    g_autoptr(GBytes) kernel = NULL;
    g_autoptr(GBytes) release_line = NULL;
    g_autofree char *interp = NULL;

    if (!(release = find_kernel_release(unpacked, info->kernel_deb, error)))
        return FALSE;
    modules_dir = g_build_filename(unpacked, "lib", "modules", release, NULL);
    if (!load_module_index(modules_dir, &index, error))
        return FALSE;
    for (gsize i = 0; modules[i]; i++)
        if (!resolve_module(&index, modules[i], state, order, builtin, release, error))
            return FALSE;
    /* After the common list: what it already loads is not loaded twice. */
    for (gsize i = 0; snpg_guest_image_hardware_modules[i]; i++)
        if (!resolve_module(&index, snpg_guest_image_hardware_modules[i], state, hardware_order,
                            builtin, release, error))
            return FALSE;

    for (gsize i = 0; i < G_N_ELEMENTS(initramfs_dirs); i++)
        if (!snpg_initramfs_add_directory(initramfs, initramfs_dirs[i], 0755, error))
            return FALSE;
    /* The kernel's built-in initramfs has it too; stdout of init needs it. */
    if (!snpg_initramfs_add_char_device(initramfs, "dev/console", 0600, 5, 1, error) ||
        !add_input(initramfs, "init", 0755, options->init, _("init script"), error) ||
        !inspect_elf(options->agent, _("agent"), &interp, error) ||
        !add_input(initramfs, "sbin/snpguard-agent", 0755, options->agent, _("agent"), error) ||
        (interp && !add_shared_libraries(initramfs, options->agent, interp, error)) ||
        !add_busybox(initramfs, options->busybox, error) ||
        !add_modules(initramfs, modules_dir, order, "etc/snpguard/modules", error) ||
        !add_modules(initramfs, modules_dir, hardware_order, "etc/snpguard/modules-hardware",
                     error))
        return FALSE;
    release_line = g_bytes_new_take(g_strconcat(release, "\n", NULL), strlen(release) + 1);
    if (!snpg_initramfs_add_file(initramfs, "etc/snpguard/kernel-release", 0644, release_line,
                                 error))
        return FALSE;

    if (g_mkdir_with_parents(out_dir, 0755) != 0) {
        int saved = errno;
        g_set_error(error, SNPG_GUEST_IMAGE_ERROR, SNPG_GUEST_IMAGE_ERROR_INPUT,
                    _("Cannot create '%s': %s"), out_dir, g_strerror(saved));
        return FALSE;
    }
    vmlinuz_in = g_strdup_printf("%s/boot/vmlinuz-%s", unpacked, release);
    vmlinuz_out = g_build_filename(out_dir, "vmlinuz", NULL);
    initrd_out = g_build_filename(out_dir, "initrd.img", NULL);
    if (!(kernel = read_input(vmlinuz_in, _("kernel"), error)) ||
        !g_file_set_contents_full(vmlinuz_out, g_bytes_get_data(kernel, NULL),
                                  (gssize)g_bytes_get_size(kernel),
                                  G_FILE_SET_CONTENTS_CONSISTENT, 0644, error) ||
        !write_initrd(initramfs, initrd_out, options->compression, error))
        return FALSE;
    if (!(info->vmlinuz_sha256 = sha256_file_hex(vmlinuz_out, error)) ||
        !(info->initrd_sha256 = sha256_file_hex(initrd_out, error)))
        return FALSE;
    info->kernel_release = g_steal_pointer(&release);
    info->modules = module_names(order);
    info->hardware_modules = module_names(hardware_order);
    g_ptr_array_add(builtin, NULL);
    info->builtin = (GStrv)g_ptr_array_steal(builtin, NULL);
    return TRUE;
}

gboolean
snpg_guest_image_build(const char *out_dir, const SnpgGuestImageOptions *options,
                       SnpgGuestImageInfo *ret_info, GError **error)
{
    g_auto(SnpgGuestImageInfo) info = { 0 };
    g_autofree char *unpacked = NULL;
    gboolean ok;

    g_return_val_if_fail(options->agent && options->busybox && options->init, FALSE);
    /* Inputs first: no download or unpacking for a build that cannot succeed. */
    {
        g_autofree char *interp = NULL;
        if (!inspect_elf(options->agent, _("agent"), &interp, error) ||
            !snpg_guest_image_check_static(options->busybox, _("busybox"), error))
            return FALSE;
    }
    {
        g_autoptr(GBytes) init = read_input(options->init, _("init script"), error);
        if (!init)
            return FALSE;
    }
    if (options->kernel_deb) {
        if (!g_file_test(options->kernel_deb, G_FILE_TEST_IS_REGULAR)) {
            g_set_error(error, SNPG_GUEST_IMAGE_ERROR, SNPG_GUEST_IMAGE_ERROR_INPUT,
                        _("Cannot read the kernel package '%s'"), options->kernel_deb);
            return FALSE;
        }
        info.kernel_deb = g_strdup(options->kernel_deb);
    } else if (!(info.kernel_deb = snpg_guest_image_fetch_kernel_deb(options->cache_dir,
                                                                      error))) {
        return FALSE;
    }
    if (!(unpacked = unpack_kernel(info.kernel_deb, options->cache_dir, error)))
        return FALSE;
    ok = build_in(unpacked, out_dir, options, &info, error);
    if (ok && ret_info) {
        *ret_info = info;
        memset(&info, 0, sizeof(info));
    }
    return ok;
}
