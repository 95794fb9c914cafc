/* Helpers shared by the snpguard subcommands (see cli-util.h). */
#include "config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "cli-util.h"
#include "file.h"
#include "command.h"
#include "hex.h"
#include "report.h"

static gboolean
report(GError *error)
{
    snpg_cli_error("%s", error->message);
    g_error_free(error);
    return FALSE;
}

gboolean
snpg_cli_parse_hex(const char *opt, const char *text, guint8 *out, gsize len)
{
    GError *error = NULL;

    return snpg_hex_decode(opt, text, out, len, &error) || report(error);
}

gboolean
snpg_cli_parse_hex_padded(const char *opt, const char *text, guint8 *out, gsize max)
{
    GError *error = NULL;
    g_autoptr(GBytes) b = snpg_hex_decode_bytes(opt, text, max, max, &error);

    if (!b)
        return report(error);
    memcpy(out, g_bytes_get_data(b, NULL), max);
    return TRUE;
}

gboolean
snpg_cli_parse_u64(const char *opt, const char *text, guint base, guint64 max, guint64 *ret)
{
    const char *t = text;

    if (base == 16 && (g_str_has_prefix(t, "0x") || g_str_has_prefix(t, "0X")))
        t += 2;
    if (!g_ascii_string_to_unsigned(t, base, 0, max, ret, NULL)) {
        if (base == 16)
            snpg_cli_error(_("%s takes a hexadecimal number from 0 to 0x%" G_GINT64_MODIFIER
                             "x: '%s'"), opt, max, text);
        else
            snpg_cli_error(_("%s takes a number from 0 to %" G_GUINT64_FORMAT ": '%s'"), opt,
                           max, text);
        return FALSE;
    }
    return TRUE;
}

void
snpg_cli_json_add_hex(JsonBuilder *b, const char *name, const guint8 *data, gsize len)
{
    g_autofree char *hex = snpg_hex_encode(data, len);

    snpg_cli_json_add_string(b, name, hex);
}

void
snpg_cli_json_add_hex64(JsonBuilder *b, const char *name, guint64 v)
{
    g_autofree char *s = g_strdup_printf("0x%" G_GINT64_MODIFIER "x", v);

    snpg_cli_json_add_string(b, name, s);
}

void
snpg_cli_json_add_int(JsonBuilder *b, const char *name, gint64 v)
{
    json_builder_set_member_name(b, name);
    json_builder_add_int_value(b, v);
}

void
snpg_cli_json_add_string(JsonBuilder *b, const char *name, const char *s)
{
    json_builder_set_member_name(b, name);
    if (s)
        json_builder_add_string_value(b, s);
    else
        json_builder_add_null_value(b);
}

GBytes *
snpg_cli_read_file_max(const char *path, const char *what, gsize max)
{
    g_autoptr(GError) error = NULL;
    /* Read, not mapped: the file may change under a mapping. Pipes and
     * devices too: an operator may give /dev/stdin or <(...). */
    GBytes *data = snpg_file_read_full(path, max, SNPG_FILE_READ_ALLOW_DEVICE, &error);

    if (!data)
        snpg_cli_error(_("the %s cannot be used: %s"), what, error->message);
    return data;
}

GBytes *
snpg_cli_read_file(const char *path, const char *what)
{
    return snpg_cli_read_file_max(path, what, SNPG_CLI_INPUT_FILE_MAX);
}

SnpgProduct
snpg_cli_parse_product(const char *text, gboolean *ok)
{
    SnpgProduct p;

    *ok = TRUE;
    if (!text)
        return SNPG_PRODUCT_UNKNOWN;
    p = snpg_product_from_string(text);
    if (p == SNPG_PRODUCT_UNKNOWN) {
        snpg_cli_error(_("unknown product '%s' (Milan, Genoa or Turin)"), text);
        *ok = FALSE;
    }
    return p;
}
