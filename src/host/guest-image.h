/* The guest image: a Debian kernel and an initramfs holding
 * snpguard-agent (with its shared libraries when dynamically linked), busybox, the kernel modules the agent needs (in
 * dependency order) and the init script. Reproducible: the same inputs give
 * the same bytes, because the launch measurement covers every byte. */
#pragma once

#include <glib.h>

#include "initramfs.h"

#define SNPG_GUEST_IMAGE_ERROR (snpg_guest_image_error_quark())
GQuark snpg_guest_image_error_quark(void);

typedef enum {
    SNPG_GUEST_IMAGE_ERROR_INPUT,    /* a missing, unreadable or unsuitable input file */
    SNPG_GUEST_IMAGE_ERROR_KERNEL,   /* the kernel package or its modules */
    SNPG_GUEST_IMAGE_ERROR_TOOL,     /* apt-get, apt-cache, dpkg-deb or depmod failed */
} SnpgGuestImageError;

/* The modules loaded by default, in this order (their dependencies first):
 * virtio console, fw_cfg and virtio-rng for attestation, virtio disks, device-mapper
 * with dm-crypt and dm-verity, the kernel crypto for LUKS2, and ext4 for the
 * root file system. */
extern const char *const snpg_guest_image_default_modules[];

/* Loaded only when the kernel command line does not select the simulated
 * secure processor: the SEV-SNP guest device (/dev/sev-guest), which fails to
 * load on other machines. */
extern const char *const snpg_guest_image_hardware_modules[];

typedef struct {
    const char *kernel_deb;       /* a linux-image .deb; NULL: Debian's current one (apt) */
    const char *cache_dir;        /* where downloaded packages are kept */
    const char *agent;            /* snpguard-agent: static, or dynamically linked (the
                                   * encrypted and integrity roots need libcryptsetup,
                                   * which Debian ships shared only): then its shared
                                   * libraries and loader go in at the paths this
                                   * host's loader resolves them to */
    const char *busybox;          /* a statically linked busybox */
    const char *init;             /* the init script */
    const char *const *modules;   /* NULL: snpg_guest_image_default_modules */
    guint32 mtime;                /* of every initramfs entry (SOURCE_DATE_EPOCH or 0) */
    SnpgInitramfsCompression compression;
} SnpgGuestImageOptions;

typedef struct {
    char *kernel_deb;             /* the package the kernel and modules came from */
    char *kernel_release;         /* e.g. 6.1.0-56-amd64 */
    GStrv modules;                /* the modules (file names without .ko), in load order */
    GStrv hardware_modules;       /* then these, on SEV-SNP hardware only */
    GStrv builtin;                /* requested modules built into the kernel */
    char *vmlinuz_sha256;         /* hex */
    char *initrd_sha256;          /* hex */
} SnpgGuestImageInfo;

void snpg_guest_image_info_clear(SnpgGuestImageInfo *info);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SnpgGuestImageInfo, snpg_guest_image_info_clear)

/* Downloads (apt-get download, no install) the linux-image package that
 * Debian's linux-image-amd64 currently depends on into cache_dir, unless a
 * copy with the archive's SHA-256 is already there; returns its path. */
char *snpg_guest_image_fetch_kernel_deb(const char *cache_dir, GError **error);

/* Writes out_dir/vmlinuz and out_dir/initrd.img (each replaced atomically). */
gboolean snpg_guest_image_build(const char *out_dir, const SnpgGuestImageOptions *options,
                                SnpgGuestImageInfo *ret_info, GError **error);

/* Fails unless path is an x86-64 ELF executable without a program
 * interpreter (a static binary that runs in an initramfs). */
gboolean snpg_guest_image_check_static(const char *path, const char *what, GError **error);
