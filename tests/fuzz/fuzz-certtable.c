/* libFuzzer target: the extended report's certificate table, which the host
 * fills and the verifier reads. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "certtable.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The protocol caps the table at 28 KiB; a little more exercises the bounds. */
#define INPUT_MAX (32 * 1024)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_auto(SnpgCertTable) table = { 0 };
    g_autoptr(GError) error = NULL;

    if (size > INPUT_MAX)
        return 0;
    if (!snpg_certtable_parse(data, size, &table, &error)) {
        g_assert(error != NULL);
        return 0;
    }
    /* What parsed must lie inside the input and round-trip through build. */
    for (int k = 0; k < SNPG_CERTTABLE_LAST; k++) {
        if (!table.certs[k])
            continue;
        g_assert(g_bytes_get_size(table.certs[k]) > 0);
        g_assert(g_bytes_get_size(table.certs[k]) <= SNPG_CERTTABLE_CERT_MAX);
    }
    {
        g_autoptr(GBytes) rebuilt = snpg_certtable_build(&table);
        g_auto(SnpgCertTable) again = { 0 };
        g_assert(snpg_certtable_parse(g_bytes_get_data(rebuilt, NULL), g_bytes_get_size(rebuilt),
                                      &again, NULL));
        for (int k = 0; k < SNPG_CERTTABLE_LAST; k++)
            g_assert((table.certs[k] == NULL) == (again.certs[k] == NULL) &&
                     (!table.certs[k] || g_bytes_equal(table.certs[k], again.certs[k])));
    }
    return 0;
}
