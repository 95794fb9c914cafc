/* The root device of the two boot workflows, opened with libcryptsetup.
 *
 * Encrypted workflow: the LUKS2 header area of the root device is copied
 * into memory once (a memfd), that copy is checked against what the
 * verifier expects, and the same copy is then used as a detached header for
 * the activation: the device's own header is never read again, so a host
 * that swaps it after the check gains nothing (docs/design-notes.md).
 *
 * Integrity workflow: dm-verity with every parameter from the measured
 * kernel command line; the whole hash tree is verified against the root
 * hash before the mapping is created. */
#pragma once

#include <glib.h>

#include "proto.h"

#define SNPG_LUKS_ERROR snpg_luks_error_quark()
GQuark snpg_luks_error_quark(void);
typedef enum {
    SNPG_LUKS_ERROR_HEADER,   /* the header is not the expected one */
    SNPG_LUKS_ERROR_KEY,      /* the key opens no keyslot of the checked header */
    SNPG_LUKS_ERROR_OPEN,     /* device I/O or activation failed */
    SNPG_LUKS_ERROR_VERITY,   /* dm-verity parameters or verification failed */
} SnpgLuksError;

/* LUKS2 limits: metadata (binary header + JSON area) of 16 KiB to 4 MiB,
 * stored twice, and a keyslots area of at most 128 MiB. */
#define SNPG_LUKS2_METADATA_MIN (16 * 1024)
#define SNPG_LUKS2_METADATA_MAX (4 * 1024 * 1024)
#define SNPG_LUKS2_KEYSLOTS_MAX (128 * 1024 * 1024)

/* Copies the header area of device (the bytes the header digest covers,
 * docs/protocol.md) into memory and checks that copy: LUKS2 only, no null
 * cipher in the segment or any keyslot, the expected cipher and key size,
 * exactly one keyslot, no token, no reencryption or other requirement, and
 * the expected SHA-256 when the verifier gave one. On success it also
 * checks that the key opens the keyslot (no device-mapper needed). Then,
 * unless name is NULL, it activates /dev/mapper/NAME with that same copy
 * as a detached header. The caller's key (an SnpgSecret) is wiped by its
 * owner; libcryptsetup wipes its own copies.
 *
 * On FALSE, ret_refusal holds the reason for the verifier (luks-header,
 * luks-key or luks-open) with a text naming the failed check, and error
 * says the same (SNPG_LUKS_ERROR). */
gboolean snpg_luks_check_and_open(const char *device, const char *name, const SnpgKeyPayload *expect,
                                  SnpgRefusal *ret_refusal, GError **error);

/* Tests only: called after the header copy passed its checks and before
 * the key is tried, with the device path (a test swaps the device's header
 * there to show that only the copy is used afterwards). NULL otherwise. */
extern void (*snpg_luks_after_check_hook)(const char *device);

/* Tests only: called after the header copy passed its checks and before
 * the key is tried, with the device path (a test swaps the device's header
 * there to show that only the copy is used afterwards). NULL otherwise. */
extern void (*snpg_luks_after_check_hook)(const char *device);

/* dm-verity parameters, all from the measured kernel command line. */
typedef struct {
    char *data_device;
    char *hash_device;
    char *hash_name;                /* "sha256" unless given */
    guint8 root_hash[64];
    gsize root_hash_len;            /* the digest size of hash_name */
    guint8 salt[256];
    gsize salt_len;                 /* 0: no salt */
    guint32 data_block_size;        /* bytes; 4096 unless given */
    guint32 hash_block_size;        /* bytes; 4096 unless given */
    guint64 data_blocks;            /* required */
    guint64 hash_offset;            /* bytes: where the tree starts on hash_device (no superblock) */
    char *name;                     /* the mapping: "snpguard-root" unless given */
} SnpgVerityParams;

void snpg_verity_params_clear(SnpgVerityParams *params);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SnpgVerityParams, snpg_verity_params_clear)

/* The kernel command line parameter, see snpguard-agent(8):
 *   snpguard.verity=data:DEV,hash:DEV,roothash:HEX,salt:HEX|-,data-blocks:N
 *                   [,hash-alg:NAME][,data-block-size:N][,hash-block-size:N]
 *                   [,hash-offset:BYTES][,name:NAME] */
#define SNPG_VERITY_CMDLINE_PARAM "snpguard.verity"
/* The root device of the encrypted workflow: snpguard.root=luks:DEV */
#define SNPG_ROOT_CMDLINE_PARAM "snpguard.root"

/* Parses the value of snpguard.verity= (also accepted by --verity). */
gboolean snpg_verity_params_parse(const char *text, SnpgVerityParams *ret, GError **error);

/* Verifies the whole hash tree against the root hash in user space, then,
 * unless name is NULL, creates the read-only mapping /dev/mapper/NAME. A
 * wrong root hash or any modified block fails here, before anything reads
 * the root. */
gboolean snpg_verity_open(const SnpgVerityParams *params, const char *name, GError **error);
