/* SEV-SNP ID blocks (AMD SEV-SNP ABI spec 56860, SNP_LAUNCH_FINISH:
 * "ID_BLOCK", "ID_AUTH_INFO", "ECDSA Public Key Format", "ECDSA Signature
 * Format").
 *
 * The guest owner signs the expected launch measurement (and family id,
 * image id, guest SVN, policy) with an ID key; an optional author key signs
 * the ID key. libvirt passes both structures to QEMU (<idBlock>, <idAuth>,
 * base64), the AMD-SP checks them at launch and the report then carries
 * SHA-384 of each public key blob (ID_KEY_DIGEST, AUTHOR_KEY_DIGEST).
 *
 * Layouts (little-endian):
 *   ID block (0x60): 0x00 LD[48] | 0x30 FAMILY_ID[16] | 0x40 IMAGE_ID[16] |
 *                    0x50 u32 VERSION=1 | 0x54 u32 GUEST_SVN | 0x58 u64 POLICY
 *   Public key blob (0x404): u32 CURVE=2 (P-384) | QX[72] | QY[72] | zero
 *   Signature blob (0x200): R[72] | S[72] | zero (ECDSA P-384 SHA-384)
 *   ID auth (0x1000): 0x000 u32 ID_KEY_ALGO=1 | 0x004 u32 AUTH_KEY_ALGO=1 |
 *                     0x040 ID_BLOCK_SIG | 0x240 ID_KEY | 0x680 ID_KEY_SIG |
 *                     0x880 AUTHOR_KEY | zero */
#pragma once

#include <glib.h>
#include <openssl/evp.h>

#define SNPG_IDBLOCK_ERROR (snpg_idblock_error_quark())
GQuark snpg_idblock_error_quark(void);

typedef enum {
    SNPG_IDBLOCK_ERROR_KEY,        /* not an EC P-384 key, or unreadable */
    SNPG_IDBLOCK_ERROR_IO,         /* a file cannot be read or written */
    SNPG_IDBLOCK_ERROR_CRYPTO,     /* OpenSSL failed */
    SNPG_IDBLOCK_ERROR_SIGNATURE,  /* a signature does not verify */
    SNPG_IDBLOCK_ERROR_FORMAT,     /* a structure is malformed */
} SnpgIdBlockError;

#define SNPG_IDBLOCK_SIZE 0x60
#define SNPG_IDBLOCK_AUTH_SIZE 0x1000
#define SNPG_IDBLOCK_KEY_BLOB_SIZE 0x404
#define SNPG_IDBLOCK_SIG_BLOB_SIZE 0x200
#define SNPG_IDBLOCK_DIGEST_SIZE 48
#define SNPG_IDBLOCK_CURVE_P384 2
#define SNPG_IDBLOCK_ALGO_ECDSA_P384_SHA384 1
#define SNPG_IDBLOCK_DEFAULT_POLICY G_GUINT64_CONSTANT(0x30000)

#define SNPG_IDBLOCK_AUTH_OFF_ID_KEY_ALGO 0x000
#define SNPG_IDBLOCK_AUTH_OFF_AUTH_KEY_ALGO 0x004
#define SNPG_IDBLOCK_AUTH_OFF_BLOCK_SIG 0x040
#define SNPG_IDBLOCK_AUTH_OFF_ID_KEY 0x240
#define SNPG_IDBLOCK_AUTH_OFF_ID_KEY_SIG 0x680
#define SNPG_IDBLOCK_AUTH_OFF_AUTHOR_KEY 0x880

typedef struct {
    guint8 measurement[48];
    guint8 family_id[16];
    guint8 image_id[16];
    guint32 version;            /* 1 */
    guint32 guest_svn;
    guint64 policy;
} SnpgIdBlockParams;

/* Version 1, policy 0x30000, everything else zero. */
void snpg_idblock_params_init(SnpgIdBlockParams *params);

/* The 96-byte ID block. */
void snpg_idblock_encode(const SnpgIdBlockParams *params, guint8 *out);

/* Reads a PEM private key (any PEM form OpenSSL reads; with allow_public
 * also a PEM public key) and checks it is EC P-384. */
EVP_PKEY *snpg_idblock_load_key(const char *path, gboolean allow_public, GError **error);

/* Creates a new EC P-384 key and writes it as PEM (PKCS#8) to path, mode
 * 0600, refusing to replace an existing file. */
gboolean snpg_idblock_keygen(const char *path, GError **error);

/* The 0x404-byte public key blob of an EC P-384 key (public or private). */
gboolean snpg_idblock_key_blob(EVP_PKEY *key, guint8 *out, GError **error);

/* SHA-384 of the key blob: what the report's ID_KEY_DIGEST and
 * AUTHOR_KEY_DIGEST hold. */
gboolean snpg_idblock_key_digest(EVP_PKEY *key, guint8 out[SNPG_IDBLOCK_DIGEST_SIZE],
                                 GError **error);

/* ECDSA P-384 SHA-384 signature of data in the 0x200-byte blob format
 * (randomized). */
gboolean snpg_idblock_sign(EVP_PKEY *key, const guint8 *data, gsize len, guint8 *out,
                           GError **error);
/* Verifies a 0x200-byte signature blob over data with key. */
gboolean snpg_idblock_verify(EVP_PKEY *key, const guint8 *data, gsize len, const guint8 *sig,
                             GError **error);

/* Builds the ID block and the ID auth structure. author_key may be NULL:
 * then ID_KEY_SIG and AUTHOR_KEY stay zero (launch with author key
 * disabled). */
gboolean snpg_idblock_create(const SnpgIdBlockParams *params, EVP_PKEY *id_key,
                             EVP_PKEY *author_key, guint8 *ret_block, guint8 *ret_auth,
                             GError **error);
