/* Finding the attestation port inside the guest.
 *
 * An initramfs has no udev, so there are no /dev/virtio-ports/NAME links:
 * the name of each port is read from /sys/class/virtio-ports/vportNpM/name
 * and the device is /dev/vportNpM. */
#pragma once

#include <glib.h>

#define SNPG_PORT_DEFAULT_NAME "org.snpguard.attest.0"

/* The device path of the virtio-serial port called name, or NULL with an
 * error when no port has that name. sysfs_dir and dev_dir default to
 * /sys/class/virtio-ports and /dev when NULL. */
char *snpg_port_find(const char *name, const char *sysfs_dir, const char *dev_dir,
                     GError **error);
