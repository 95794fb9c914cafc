/* Replays a fuzz corpus through LLVMFuzzerTestOneInput without libFuzzer, so
 * every 'make check' (and the gcc, ASan and valgrind builds) runs the inputs
 * that once mattered. Usage: replay-TARGET [DIR]; without DIR it uses
 * $SNPG_FUZZ_CORPUS or the directory compiled in as FUZZ_CORPUS_DIR.
 * Output is TAP: one test, "ok" when every input returned. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static gint
compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int
main(int argc, char **argv)
{
    const char *dir_name = argc > 1 ? argv[1] : g_getenv("SNPG_FUZZ_CORPUS");
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) error = NULL;
    g_autoptr(GDir) dir = NULL;
    const char *name;

#ifdef FUZZ_CORPUS_DIR
    if (!dir_name)
        dir_name = FUZZ_CORPUS_DIR;
#endif
    printf("1..1\n");
    if (!dir_name) {
        printf("not ok 1 - no corpus directory given\n");
        return 1;
    }
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    if (!(dir = g_dir_open(dir_name, 0, &error))) {
        printf("not ok 1 - %s\n", error->message);
        return 1;
    }
    while ((name = g_dir_read_name(dir)))
        g_ptr_array_add(names, g_build_filename(dir_name, name, NULL));
    /* A stable order makes a failure reproducible from the log. */
    g_ptr_array_sort(names, compare_names);
    if (names->len == 0) {
        printf("not ok 1 - the corpus '%s' is empty\n", dir_name);
        return 1;
    }
    for (guint i = 0; i < names->len; i++) {
        const char *path = g_ptr_array_index(names, i);
        g_autofree char *data = NULL;
        gsize len = 0;

        if (g_file_test(path, G_FILE_TEST_IS_DIR))
            continue;
        if (!g_file_get_contents(path, &data, &len, &error)) {
            printf("not ok 1 - %s\n", error->message);
            return 1;
        }
        printf("# %s\n", path);
        fflush(stdout);   /* so a crash names its input */
        LLVMFuzzerTestOneInput((const uint8_t *)data, len);
    }
    printf("ok 1 - %u inputs from %s\n", names->len, dir_name);
    return 0;
}
