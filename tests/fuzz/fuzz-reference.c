/* libFuzzer target: reference-values files (GKeyFile), which 'verify' and
 * the verifier service read and whose values may come from elsewhere. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "reference.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A little over the loader's own limit, to exercise the refusal. */
#define INPUT_MAX (72 * 1024)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_auto(SnpgVerifyOptions) opts = { 0 };
    g_autoptr(GError) error = NULL;

    if (size > INPUT_MAX)
        return 0;
    snpg_verify_options_init(&opts);
    if (!snpg_reference_load_data((const char *)data, size, &opts, &error)) {
        g_assert(error != NULL && error->domain == SNPG_REFERENCE_ERROR);
        return 0;
    }
    /* What loaded is written back, and that loads again to the same text. */
    {
        gsize len = 0, len2 = 0;
        g_autofree char *text = snpg_reference_to_data(&opts, &len);
        g_auto(SnpgVerifyOptions) again = { 0 };
        g_autofree char *text2 = NULL;

        snpg_verify_options_init(&again);

        if (!snpg_reference_load_data(text, len, &again, &error))
            g_error("written-back reference values do not load: %s\n%s", error->message, text);
        text2 = snpg_reference_to_data(&again, &len2);
        g_assert(len == len2 && memcmp(text, text2, len) == 0);
    }
    return 0;
}
