/* The certificate table of an extended attestation report (GHCB spec 56421,
 * "SNP Extended Guest Request"): entries of { GUID, u32 offset, u32 length }
 * ended by an all-zero entry, then the certificates (DER). The host fills
 * it, so it is untrusted like everything else from the guest: it may only
 * *offer* certificates, which the verifier checks against pinned roots. */
#pragma once

#include <glib.h>

#define SNPG_CERTTABLE_ERROR snpg_certtable_error_quark()
GQuark snpg_certtable_error_quark(void);
typedef enum {
    SNPG_CERTTABLE_ERROR_MALFORMED,
} SnpgCertTableError;

typedef enum {
    SNPG_CERTTABLE_ARK,
    SNPG_CERTTABLE_ASK,
    SNPG_CERTTABLE_VCEK,
    SNPG_CERTTABLE_VLEK,
    SNPG_CERTTABLE_LAST
} SnpgCertTableKind;

/* At most this many entries: the table holds a handful of certificates. */
#define SNPG_CERTTABLE_ENTRIES_MAX 16
/* A DER certificate of AMD's is under 2 KiB; anything this big is not one. */
#define SNPG_CERTTABLE_CERT_MAX 8192

typedef struct {
    GBytes *certs[SNPG_CERTTABLE_LAST];   /* NULL when absent */
} SnpgCertTable;

void snpg_certtable_clear(SnpgCertTable *table);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SnpgCertTable, snpg_certtable_clear)

/* Strict: entries inside the blob and after the table, no overlap between
 * the table and a certificate, no known GUID twice, sizes bounded. Unknown
 * GUIDs are skipped. An all-zero blob is an empty table. */
gboolean snpg_certtable_parse(const guint8 *data, gsize len, SnpgCertTable *ret, GError **error);

/* Builds a table from the certificates present in table (for the simulator). */
GBytes *snpg_certtable_build(const SnpgCertTable *table);
