#include "config.h"

#include <string.h>

#include "testutil.h"
#include "vectors.h"

GBytes *
snpg_test_read(const char *path)
{
    g_autoptr(GError) error = NULL;
    char *data = NULL;
    gsize len = 0;

    g_file_get_contents(path, &data, &len, &error);
    g_assert_no_error(error);
    return g_bytes_new_take(data, len);
}

gint64
snpg_vector_time(const char *text)
{
    g_autoptr(GTimeZone) utc = g_time_zone_new_utc();
    g_autofree char *iso = g_strdup(text);
    g_autoptr(GDateTime) dt = NULL;

    if (strlen(iso) > 10 && iso[10] == ' ')
        iso[10] = 'T';
    dt = g_date_time_new_from_iso8601(iso, utc);
    g_assert_nonnull(dt);
    return g_date_time_to_unix(dt);
}

void
snpg_vector_free(SnpgVector *v)
{
    if (!v)
        return;
    g_free(v->name);
    g_free(v->dir);
    g_clear_object(&v->parser);
    g_bytes_unref(v->report);
    g_bytes_unref(v->leaf);
    g_free(v->leaf_path);
    g_free(v->ask_path);
    g_free(v->ark_path);
    g_free(v);
}

SnpgVector *
snpg_vector_load(const char *name)
{
    g_autoptr(SnpgVector) v = g_new0(SnpgVector, 1);
    g_autoptr(GError) error = NULL;
    g_autofree char *meta = NULL;
    g_autofree char *report = NULL;
    JsonArray *window;

    v->name = g_strdup(name);
    v->dir = snpg_test_data("vectors", "snp-reports", name, NULL);
    meta = g_build_filename(v->dir, "meta.json", NULL);
    v->parser = json_parser_new();
    json_parser_load_from_file(v->parser, meta, &error);
    g_assert_no_error(error);
    v->meta = json_node_get_object(json_parser_get_root(v->parser));
    report = g_build_filename(v->dir, "report.bin", NULL);
    v->report = snpg_test_read(report);
    v->vlek = g_str_equal(json_object_get_string_member(v->meta, "signing_key"), "VLEK");
    v->leaf_path = g_build_filename(v->dir, v->vlek ? "vlek.der" : "vcek.der", NULL);
    v->leaf = snpg_test_read(v->leaf_path);
    v->ask_path = g_build_filename(v->dir, v->vlek ? "asvk.pem" : "ask.pem", NULL);
    v->ark_path = g_build_filename(v->dir, "ark.pem", NULL);
    window = json_object_get_array_member(v->meta, "chain_valid_window");
    v->not_before = snpg_vector_time(json_array_get_string_element(window, 0));
    v->not_after = snpg_vector_time(json_array_get_string_element(window, 1));
    v->window_mid = v->not_before + (v->not_after - v->not_before) / 2;
    return g_steal_pointer(&v);
}

static int
cmp_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

GPtrArray *
snpg_vectors_load(void)
{
    g_autofree char *root = snpg_test_data("vectors", "snp-reports", NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(GDir) dir = g_dir_open(root, 0, &error);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)snpg_vector_free);
    const char *n;

    g_assert_no_error(error);
    while ((n = g_dir_read_name(dir)))
        g_ptr_array_add(names, g_strdup(n));
    g_ptr_array_sort(names, cmp_names);
    for (guint i = 0; i < names->len; i++)
        g_ptr_array_add(out, snpg_vector_load(g_ptr_array_index(names, i)));
    return out;
}
