#include "config.h"

#include <string.h>

#include "buf.h"
#include "certtable.h"
#include "i18n.h"

G_DEFINE_QUARK(snpg-certtable-error-quark, snpg_certtable_error)

#define ENTRY_LEN 24

/* GUIDs in the byte order of their string form (as AMD's tools and the
 * Linux kernel store them). */
static const guint8 guids[SNPG_CERTTABLE_LAST][16] = {
    /* ARK  c0b406a4-a803-4952-9743-3fb6014cd0ae */
    [SNPG_CERTTABLE_ARK] = { 0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52,
                             0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae },
    /* ASK  4ab7b379-bbac-4fe4-a02f-05aef327c782 */
    [SNPG_CERTTABLE_ASK] = { 0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4,
                             0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82 },
    /* VCEK 63da758d-e664-4564-adc5-f4b93be8accd */
    [SNPG_CERTTABLE_VCEK] = { 0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
                              0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd },
    /* VLEK a8074bc2-a25a-483e-aae6-39c045a0b8a1 */
    [SNPG_CERTTABLE_VLEK] = { 0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48, 0x3e,
                              0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8, 0xa1 },
};

void
snpg_certtable_clear(SnpgCertTable *table)
{
    for (int i = 0; i < SNPG_CERTTABLE_LAST; i++)
        g_clear_pointer(&table->certs[i], g_bytes_unref);
}

static gboolean
malformed(GError **error, const char *what)
{
    g_set_error(error, SNPG_CERTTABLE_ERROR, SNPG_CERTTABLE_ERROR_MALFORMED,
                _("The report's certificate table is malformed: %s"), what);
    return FALSE;
}

gboolean
snpg_certtable_parse(const guint8 *data, gsize len, SnpgCertTable *ret, GError **error)
{
    g_auto(SnpgCertTable) table = { 0 };
    static const guint8 zero[ENTRY_LEN];
    guint8 guid[16];
    guint32 offsets[SNPG_CERTTABLE_ENTRIES_MAX], lengths[SNPG_CERTTABLE_ENTRIES_MAX];
    int kinds[SNPG_CERTTABLE_ENTRIES_MAX];
    gsize table_end;
    guint n = 0;
    SnpgBuf b;

    snpg_buf_init(&b, data, len);
    for (;;) {
        guint32 off, size;
        int kind = -1;

        if (snpg_buf_remaining(&b) < ENTRY_LEN)
            return malformed(error, _("no terminating entry"));
        if (memcmp(data + b.off, zero, ENTRY_LEN) == 0)
            break;
        if (n == SNPG_CERTTABLE_ENTRIES_MAX)
            return malformed(error, _("too many entries"));
        snpg_buf_get_bytes(&b, guid, sizeof(guid));
        snpg_buf_get_u32le(&b, &off);
        snpg_buf_get_u32le(&b, &size);
        for (int k = 0; k < SNPG_CERTTABLE_LAST; k++)
            if (memcmp(guid, guids[k], 16) == 0)
                kind = k;
        offsets[n] = off;
        lengths[n] = size;
        kinds[n] = kind;
        n++;
    }
    table_end = b.off + ENTRY_LEN;
    for (guint i = 0; i < n; i++) {
        SnpgBuf cert;

        if (kinds[i] < 0)
            continue;   /* a certificate we do not use */
        if (lengths[i] == 0 || lengths[i] > SNPG_CERTTABLE_CERT_MAX)
            return malformed(error, _("a certificate has an impossible size"));
        if (offsets[i] < table_end || snpg_buf_slice(&b, offsets[i], lengths[i], &cert) < 0)
            return malformed(error, _("a certificate lies outside the blob"));
        if (table.certs[kinds[i]])
            return malformed(error, _("a certificate appears twice"));
        table.certs[kinds[i]] = g_bytes_new(cert.data, cert.len);
    }
    *ret = table;
    memset(&table, 0, sizeof(table));
    return TRUE;
}

GBytes *
snpg_certtable_build(const SnpgCertTable *table)
{
    g_autoptr(GByteArray) out = g_byte_array_new();
    guint n = 0;
    guint32 off;

    for (int k = 0; k < SNPG_CERTTABLE_LAST; k++)
        n += table->certs[k] != NULL;
    off = (n + 1) * ENTRY_LEN;
    for (int k = 0; k < SNPG_CERTTABLE_LAST; k++) {
        guint8 entry[ENTRY_LEN];
        gsize size;

        if (!table->certs[k])
            continue;
        size = g_bytes_get_size(table->certs[k]);
        memcpy(entry, guids[k], 16);
        snpg_put_u32le(entry + 16, off);
        snpg_put_u32le(entry + 20, (guint32)size);
        g_byte_array_append(out, entry, sizeof(entry));
        off += (guint32)size;
    }
    {
        guint8 entry[ENTRY_LEN] = { 0 };
        g_byte_array_append(out, entry, sizeof(entry));
    }
    for (int k = 0; k < SNPG_CERTTABLE_LAST; k++)
        if (table->certs[k])
            g_byte_array_append(out, g_bytes_get_data(table->certs[k], NULL),
                                (guint)g_bytes_get_size(table->certs[k]));
    return g_byte_array_free_to_bytes(g_steal_pointer(&out));
}
