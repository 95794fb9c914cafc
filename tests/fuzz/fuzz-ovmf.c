/* libFuzzer target: the OVMF footer table and SEV metadata parser, which
 * reads a firmware image that may come from anywhere. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "ovmf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The tables live in the last pages; 1 MiB covers them with room to spare
 * and keeps each run fast. */
#define INPUT_MAX (1024 * 1024)

static void
parse(const guint8 *data, gsize len)
{
    g_autoptr(GError) error = NULL;
    SnpgOvmfInfo info;

    if (!snpg_ovmf_parse(data, len, &info, &error)) {
        g_assert(error != NULL);
        return;
    }
    g_assert(error == NULL);
    /* Touch what the measurement uses, so a bad count or pointer shows. */
    g_assert(info.n_sections <= SNPG_OVMF_SECTIONS_MAX);
    for (guint i = 0; i < info.n_sections; i++) {
        g_assert(snpg_ovmf_section_type_to_string(info.sections[i].type) != NULL);
        g_assert(info.sections[i].size > 0 && info.sections[i].size % SNPG_OVMF_PAGE_SIZE == 0);
    }
    (void)snpg_ovmf_find_section(&info, SNPG_OVMF_SECTION_SNP_KERNEL_HASHES);
    (void)snpg_ovmf_supports_sev_hashes(&info);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autofree guint8 *image = NULL;
    gsize padded;

    if (size > INPUT_MAX)
        return 0;
    /* As given (exercises the size checks), and front-padded to whole pages
     * so that most inputs reach the table parser with their tail intact. */
    parse(data, size);
    padded = (size + SNPG_OVMF_PAGE_SIZE - 1) / SNPG_OVMF_PAGE_SIZE * SNPG_OVMF_PAGE_SIZE;
    if (padded == 0 || padded == size)
        return 0;
    image = g_malloc0(padded);
    memcpy(image + (padded - size), data, size);
    parse(image, padded);
    return 0;
}
