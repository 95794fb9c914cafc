/* AMD certificates for offline verification: KDS addresses and a local cache.
 *
 * AMD's Key Distribution Service (spec 57230) serves, per product:
 *   VCEK   https://kdsintf.amd.com/vcek/v1/{Product}/{hwid}?blSPL=BL&teeSPL=TEE&snpSPL=SNP&ucodeSPL=UCODE
 *          Turin: hwid is CHIP_ID[0:8] and the query starts with fmcSPL=FMC
 *          (SPLs are two-digit zero-padded decimals, hwid lowercase hex)
 *   chain  https://kdsintf.amd.com/{vcek|vlek}/v1/{Product}/cert_chain  (ASK or ASVK, then ARK)
 *   CRL    https://kdsintf.amd.com/{vcek|vlek}/v1/{Product}/crl
 * A VLEK is provisioned to the cloud provider; KDS serves no per-chip URL for
 * it.
 *
 * The cache is a directory (default /var/lib/snpguard/certs, or
 * $SNPGUARD_CERT_CACHE) holding what the operator imported:
 *   {Product}/ark.pem ask.pem asvk.pem
 *   {Product}/vcek/{hwid}-[fmcN-]blN-teeN-snpN-ucodeN.der
 *   {Product}/vlek/[fmcN-]blN-teeN-snpN-ucodeN-{sha256[0:8]}.der
 *   {Product}/crl/{sha256[0:8]}.der
 * The cache is a convenience, not a trust anchor: `report verify` still pins
 * AMD's roots. */
#pragma once

#include <glib.h>
#include <openssl/x509.h>

#include "report.h"   /* SnpgProduct, SnpgTcb (types only) */

#define SNPG_CERTCACHE_ERROR (snpg_certcache_error_quark())
GQuark snpg_certcache_error_quark(void);

typedef enum {
    SNPG_CERTCACHE_ERROR_IO,          /* a file cannot be read or written */
    SNPG_CERTCACHE_ERROR_PARSE,       /* neither a certificate nor a CRL */
    SNPG_CERTCACHE_ERROR_UNKNOWN,     /* not an AMD SEV-SNP certificate we know */
    SNPG_CERTCACHE_ERROR_SIGNATURE,   /* does not verify against its (cached) issuer */
    SNPG_CERTCACHE_ERROR_NOT_FOUND,   /* no matching certificate in the cache */
    SNPG_CERTCACHE_ERROR_INVALID,     /* bad argument (product, chip id) */
} SnpgCertcacheError;

#define SNPG_CERTCACHE_DEFAULT_DIR "/var/lib/snpguard/certs"
#define SNPG_CERTCACHE_KDS "https://kdsintf.amd.com"

typedef enum {
    SNPG_CERTCACHE_KIND_ARK,
    SNPG_CERTCACHE_KIND_ASK,
    SNPG_CERTCACHE_KIND_ASVK,
    SNPG_CERTCACHE_KIND_CRL,
    SNPG_CERTCACHE_KIND_VCEK,
    SNPG_CERTCACHE_KIND_VLEK,
    SNPG_CERTCACHE_KIND_LAST,
} SnpgCertcacheKind;

const char *snpg_certcache_kind_to_string(SnpgCertcacheKind kind);  /* "ARK", ... */

typedef struct {
    SnpgCertcacheKind kind;
    SnpgProduct product;
    char *path;             /* in the cache */
    char *subject;          /* one line, or the CRL's issuer */
    gint64 not_after;       /* Unix time; CRL: nextUpdate (0: none) */
    gboolean verified;      /* signature checked (ARK: self; others: cached issuer) */
    /* VCEK and VLEK only */
    SnpgTcb tcb;
    char *hwid;             /* lowercase hex (VCEK), NULL for VLEK */
} SnpgCertcacheEntry;

void snpg_certcache_entry_free(SnpgCertcacheEntry *entry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SnpgCertcacheEntry, snpg_certcache_entry_free)

/* $SNPGUARD_CERT_CACHE if set and not empty, else SNPG_CERTCACHE_DEFAULT_DIR. */
const char *snpg_certcache_default_dir(void);

/* KDS addresses (newly allocated). chip_id is the report's 64-byte CHIP_ID;
 * an all-zero hwid (MASK_CHIP_KEY) is refused. */
char *snpg_certcache_vcek_url(SnpgProduct product, const guint8 *chip_id, const SnpgTcb *tcb,
                              GError **error);
char *snpg_certcache_chain_url(SnpgProduct product, gboolean vlek);
char *snpg_certcache_crl_url(SnpgProduct product, gboolean vlek);

/* Imports every certificate and CRL in the files (PEM, possibly several per
 * file, or DER), ARKs first, then ASK/ASVK, CRLs, leaves, so a chain file
 * and a leaf can come in one call. Nothing is written unless every object
 * is valid. Returns the entries written (SnpgCertcacheEntry). */
GPtrArray *snpg_certcache_import(const char *cache_dir, const char *const *files,
                                 GError **error);

/* Everything in the cache, sorted by product, kind and path. A missing
 * cache directory is an empty list. */
GPtrArray *snpg_certcache_list(const char *cache_dir, GError **error);

/* The VCEK of a chip at a TCB: product, the report's 64-byte CHIP_ID (Turin:
 * the first 8 bytes are the hwID) and its REPORTED_TCB decoded in the
 * product's layout. Returns a new reference; ret_path (optional) gets the
 * file. The certificate is parsed, not verified: the caller verifies the
 * chain. SNPG_CERTCACHE_ERROR_NOT_FOUND when the cache has none. */
X509 *snpg_certcache_find_vcek(const char *cache_dir, SnpgProduct product, const guint8 *chip_id,
                               const SnpgTcb *reported_tcb, char **ret_path, GError **error);

/* The cached ARK, ASK or ASVK of a product (kind), or NOT_FOUND. */
X509 *snpg_certcache_find_ca(const char *cache_dir, SnpgProduct product, SnpgCertcacheKind kind,
                             char **ret_path, GError **error);
