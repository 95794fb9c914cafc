/* Disk images for the two boot workflows, prepared on the host without
 * device-mapper (libcryptsetup's user-space paths only):
 *
 * - rootfs: a small bootable root (busybox) whose init prints a marker on
 *   the console and powers the VM off; the demo's and the tests' root.
 * - encrypt: a LUKS2 image whose keyslot opens with the VM's key from the
 *   key store. The plaintext (an ext4 made from a directory, or a raw
 *   image) is written at the data offset of a new file, a LUKS2 header is
 *   formatted as a detached header for it, libcryptsetup's offline
 *   reencryption (mode "encrypt", no data shift) encrypts the data area in
 *   user space, and the header is then restored into the head of the file:
 *   the layout luksFormat gives (header at 0, data at 16 MiB).
 * - verity: a dm-verity data image and its hash image (no superblock, the
 *   tree at offset 0), with the root hash and salt the kernel command line
 *   then carries.
 *
 * Every output is written to a temporary file in its own directory and
 * renamed into place only when complete: a failure leaves nothing. An
 * existing output is replaced only when asked (force). */
#pragma once

#include <glib.h>
#include <libxml/tree.h>

#include "registry.h"
#include "secret.h"

#define SNPG_IMAGE_ERROR (snpg_image_error_quark())
GQuark snpg_image_error_quark(void);

typedef enum {
    SNPG_IMAGE_ERROR_INPUT,     /* a missing, unreadable or unsuitable input */
    SNPG_IMAGE_ERROR_EXISTS,    /* the output exists and force was not given */
    SNPG_IMAGE_ERROR_IO,        /* writing an output failed */
    SNPG_IMAGE_ERROR_TOOL,      /* mke2fs or qemu-img failed */
    SNPG_IMAGE_ERROR_CRYPT,     /* libcryptsetup failed */
    SNPG_IMAGE_ERROR_WORKFLOW,  /* the VM's workflow or domain does not fit */
} SnpgImageError;

/* The LUKS2 volume snpguard writes and the agent expects. */
#define SNPG_IMAGE_LUKS_CIPHER "aes"
#define SNPG_IMAGE_LUKS_CIPHER_MODE "xts-plain64"
#define SNPG_IMAGE_LUKS_KEY_BITS 512
/* Where the data starts: luksFormat's default (header and keyslots area). */
#define SNPG_IMAGE_LUKS_DATA_OFFSET (G_GUINT64_CONSTANT(16) * 1024 * 1024)
/* Keyslot PBKDF: Argon2id with small fixed costs. The passphrase is the
 * VM's 64-byte random key (512 bits of entropy), so the PBKDF adds nothing
 * against guessing; what matters is that the guest (256 MiB, possibly
 * under TCG) opens it quickly. See docs/workflows.md. */
#define SNPG_IMAGE_PBKDF_TYPE "argon2id"
#define SNPG_IMAGE_PBKDF_MEMORY_KIB 32768
#define SNPG_IMAGE_PBKDF_ITERATIONS 4

/* The dm-verity layout snpguard writes. */
#define SNPG_IMAGE_VERITY_HASH "sha256"
#define SNPG_IMAGE_VERITY_BLOCK_SIZE 4096
#define SNPG_IMAGE_VERITY_SALT_LEN 32

/* Registry settings of a VM that image commands record; the attestation
 * puts the LUKS2 ones into the sealed payload (SnpgKeyPayload). */
#define SNPG_VM_SETTING_LUKS_CIPHER "luks-cipher"           /* "aes-xts-plain64" */
#define SNPG_VM_SETTING_LUKS_KEY_BITS "luks-key-bits"       /* "512" */
#define SNPG_VM_SETTING_LUKS_HEADER_SHA256 "luks-header-sha256" /* 64 hex digits */
#define SNPG_VM_SETTING_VERITY "verity"                     /* the snpguard.verity= value */

/* Progress of long work: done out of total bytes of stage. */
typedef void (*SnpgImageProgressFunc)(const char *stage, guint64 done, guint64 total,
                                      gpointer user_data);

/* ---- rootfs ------------------------------------------------------------- */

typedef struct {
    const char *busybox;        /* a static busybox; NULL: /bin/busybox */
    const char *marker;         /* printed as "snpguard-marker: TEXT"; NULL: "hello" */
    guint32 mtime;              /* of every entry (SOURCE_DATE_EPOCH or 0) */
    gboolean force;             /* replace an existing DIR */
} SnpgImageRootfsOptions;

/* The marker line the root's init prints (tests look for it). */
#define SNPG_IMAGE_MARKER_PREFIX "snpguard-marker: "
/* A marker: printable ASCII, at most this many bytes. */
#define SNPG_IMAGE_MARKER_MAX 200

/* Writes a small bootable root into dir (created; replaced only with force):
 * busybox and its applet links, /sbin/init printing the marker and
 * powering off, the usual empty directories. */
gboolean snpg_image_rootfs(const char *dir, const SnpgImageRootfsOptions *options,
                           GError **error);

/* ---- encrypt ------------------------------------------------------------ */

typedef struct {
    gboolean force;
    SnpgImageProgressFunc progress;   /* may be NULL */
    gpointer user_data;
} SnpgImageOptions;

/* What the agent must find in the LUKS2 header (docs/protocol.md). */
typedef struct {
    char *cipher;               /* "aes-xts-plain64" */
    guint32 key_bits;           /* volume key size */
    char *header_sha256;        /* hex, of 2 * metadata size + keyslots size bytes */
    char *uuid;                 /* the LUKS2 UUID */
    guint64 data_offset;        /* bytes */
    guint64 data_size;          /* bytes of the encrypted area */
} SnpgImageLuksFacts;

void snpg_image_luks_facts_clear(SnpgImageLuksFacts *facts);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SnpgImageLuksFacts, snpg_image_luks_facts_clear)

/* Writes dst: a LUKS2 volume (aes-xts-plain64, 512-bit volume key, one
 * keyslot that key opens) holding src, a directory (made into ext4) or a
 * raw image. dst ending in ".qcow2" is converted with qemu-img. */
gboolean snpg_image_encrypt(const char *src, const char *dst, SnpgSecret *key,
                            const SnpgImageOptions *options, SnpgImageLuksFacts *ret_facts,
                            GError **error);

/* Reads the facts of a LUKS2 image (raw) at path, as the agent computes them. */
gboolean snpg_image_luks_facts(const char *path, SnpgImageLuksFacts *ret_facts, GError **error);

/* ---- verity ------------------------------------------------------------- */

typedef struct {
    char *root_hash;            /* hex */
    char *salt;                 /* hex */
    char *hash_alg;             /* "sha256" */
    guint32 data_block_size;
    guint32 hash_block_size;
    guint64 data_blocks;
} SnpgImageVerityFacts;

void snpg_image_verity_facts_clear(SnpgImageVerityFacts *facts);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SnpgImageVerityFacts, snpg_image_verity_facts_clear)

/* Writes the data image (src: a directory made into ext4, or a raw image
 * padded to whole blocks) and its dm-verity hash image (no superblock). */
gboolean snpg_image_verity(const char *src, const char *data, const char *hash,
                           const SnpgImageOptions *options, SnpgImageVerityFacts *ret_facts,
                           GError **error);

/* The value of snpguard.verity= for facts with the devices the guest sees
 * (e.g. /dev/vda and /dev/vdb), as snpguard-agent(8) parses it. */
char *snpg_image_verity_cmdline(const SnpgImageVerityFacts *facts, const char *data_device,
                                const char *hash_device);

/* ---- the VM ------------------------------------------------------------- */

/* Updates a VM's definition for its new image(s): the domain XML doc gets
 * the disk files (absolute paths, driver type from the name: qcow2 or
 * raw) and, on its kernel command line, param=value (replacing any earlier
 * param=); its measurement is recomputed into the snpguard metadata; rec
 * gets the new expected measurement (also in its reference values), the
 * command line setting and input digest. Refuses a VM of another workflow.
 * The caller stores rec and redefines doc (snpg_image_commit_vm). */
gboolean snpg_image_update_domain(xmlDoc *doc, SnpgVmRecord *rec, const char *workflow,
                                  const char *param, const char *value,
                                  const char *const *disks, GError **error);

/* The guest's device of the domain's disk number index (0: the first),
 * e.g. "/dev/vda"; virtio disks only. */
char *snpg_image_domain_disk_device(xmlDoc *doc, guint index, GError **error);

/* Records the LUKS2 facts as rec's settings (SNPG_VM_SETTING_LUKS_*). */
void snpg_image_record_luks(SnpgVmRecord *rec, const SnpgImageLuksFacts *facts);
