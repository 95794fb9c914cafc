#include "config.h"

#include <string.h>

#include "file.h"
#include "i18n.h"
#include "port.h"
#include "psp.h"

/* A port name is short; anything longer is not ours. */
#define PORT_NAME_MAX 256
#define SYSFS_ATTR_MAX 4096

char *
snpg_port_find(const char *name, const char *sysfs_dir, const char *dev_dir, GError **error)
{
    g_autoptr(GDir) dir = NULL;
    g_autoptr(GError) local = NULL;
    const char *entry;

    if (!sysfs_dir)
        sysfs_dir = "/sys/class/virtio-ports";
    if (!dev_dir)
        dev_dir = "/dev";
    if (!(dir = g_dir_open(sysfs_dir, 0, &local))) {
        g_set_error(error, SNPG_PSP_ERROR, SNPG_PSP_ERROR_UNAVAILABLE,
                    _("No virtio-serial ports: '%s' cannot be read (is virtio_console loaded?)"),
                    sysfs_dir);
        return NULL;
    }
    while ((entry = g_dir_read_name(dir))) {
        g_autofree char *name_file = g_build_filename(sysfs_dir, entry, "name", NULL);
        /* sysfs attributes claim a page as their size, whatever they hold. */
        g_autoptr(GBytes) bytes = snpg_file_read(name_file, SYSFS_ATTR_MAX, NULL);
        g_autofree char *content = NULL;

        if (!bytes || g_bytes_get_size(bytes) > PORT_NAME_MAX)
            continue;
        content = g_strndup(g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes));
        g_strchomp(content);
        if (g_str_equal(content, name))
            return g_build_filename(dev_dir, entry, NULL);
    }
    g_set_error(error, SNPG_PSP_ERROR, SNPG_PSP_ERROR_UNAVAILABLE,
                _("No virtio-serial port is named '%s'"), name);
    return NULL;
}
