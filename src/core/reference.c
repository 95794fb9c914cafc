/* Reference values file (docs/reference-values.md). */
#include "config.h"

#include <string.h>

#include "i18n.h"
#include "file.h"
#include "reference.h"

G_DEFINE_QUARK(snpg-reference-error-quark, snpg_reference_error)

/* Reference files are small; refuse anything that is clearly not one. */
#define REFERENCE_MAX (1u << 20)

/* How each value is written: one parser per kind, for files and options. */
typedef enum {
    VALUE_HEX,          /* exact-length hex (hex.h conventions) */
    VALUE_HEX_LIST,     /* ';'-separated hex values, appended */
    VALUE_COUNT,        /* decimal, or hexadecimal with 0x */
    VALUE_MASK,         /* bit mask: always hexadecimal, 0x optional */
    VALUE_TCB,          /* fmc=N,bl=N,tee=N,snp=N,ucode=N */
    VALUE_BOOL,         /* true or false */
    VALUE_ABI,          /* MAJOR.MINOR */
    VALUE_PRODUCT,      /* Milan, Genoa or Turin */
} ValueKind;

typedef struct {
    const char *key;
    ValueKind kind;
    gsize len;          /* bytes, for hex */
    guint64 max;        /* for counts */
} KeySpec;

static const KeySpec key_specs[] = {
    { "measurement", VALUE_HEX_LIST, 48, 0 },
    { "report-data", VALUE_HEX, 64, 0 },
    { "host-data", VALUE_HEX, 32, 0 },
    { "family-id", VALUE_HEX, 16, 0 },
    { "image-id", VALUE_HEX, 16, 0 },
    { "id-key-digest", VALUE_HEX, 48, 0 },
    { "author-key-digest", VALUE_HEX, 48, 0 },
    { "chip-id", VALUE_HEX_LIST, 64, 0 },
    { "vmpl", VALUE_COUNT, 0, 3 },
    { "min-guest-svn", VALUE_COUNT, 0, G_MAXUINT32 },
    { "min-tcb", VALUE_TCB, 0, 0 },
    { "allow-debug", VALUE_BOOL, 0, 0 },
    { "policy-max", VALUE_MASK, 0, 0 },
    { "min-abi", VALUE_ABI, 0, 0 },
    { "min-policy-abi", VALUE_ABI, 0, 0 },
    { "platform-info-mask", VALUE_MASK, 0, 0 },
    { "platform-info-required", VALUE_MASK, 0, 0 },
    { "product", VALUE_PRODUCT, 0, 0 },
};

static const KeySpec *
find_key(const char *key)
{
    for (gsize i = 0; i < G_N_ELEMENTS(key_specs); i++)
        if (g_str_equal(key, key_specs[i].key))
            return &key_specs[i];
    return NULL;
}

gboolean
snpg_reference_is_key(const char *key)
{
    return key && find_key(key) != NULL;
}

static gboolean
value_error(const char *key, const char *value, const char *why, GError **error)
{
    g_set_error(error, SNPG_REFERENCE_ERROR, SNPG_REFERENCE_ERROR_VALUE,
                _("The reference value '%s' = '%s' is invalid: %s"), key, value, why);
    return FALSE;
}

/* Errors name the key as the caller knows it: "min-tcb" in a file,
 * "--min-tcb" on a command line. */
typedef struct {
    const KeySpec *spec;
    gboolean option;
} Where;

static gboolean
where_error(const Where *w, const char *value, const char *why, GError **error)
{
    if (!w->option)
        return value_error(w->spec->key, value, why, error);
    g_set_error(error, SNPG_REFERENCE_ERROR, SNPG_REFERENCE_ERROR_VALUE,
                _("The option --%s '%s' is invalid: %s"), w->spec->key, value, why);
    return FALSE;
}

static void
replace_bytes(GBytes **slot, GBytes *b)
{
    if (*slot)
        g_bytes_unref(*slot);
    *slot = b;
}

static GBytes **
hex_slot(SnpgVerifyOptions *o, const char *key)
{
    if (g_str_equal(key, "report-data"))
        return &o->report_data;
    if (g_str_equal(key, "host-data"))
        return &o->host_data;
    if (g_str_equal(key, "family-id"))
        return &o->family_id;
    if (g_str_equal(key, "image-id"))
        return &o->image_id;
    if (g_str_equal(key, "id-key-digest"))
        return &o->id_key_digest;
    return &o->author_key_digest;
}

/* Parses one value of a known key into o; o may be partly changed on failure. */
static gboolean
parse_value(SnpgVerifyOptions *o, const Where *w, const char *raw, GError **error)
{
    const KeySpec *spec = w->spec;
    g_autofree char *name = w->option ? g_strconcat("--", spec->key, NULL) : g_strdup(spec->key);
    g_autofree char *v = g_strstrip(g_strdup(raw));
    g_autoptr(GError) local = NULL;
    const char *p = v;
    guint64 u = 0;

    /* An empty value never means "no check": a template whose substitution
     * failed must not switch a check off. */
    if (!*v)
        return where_error(w, raw, _("the value is empty."), error);

    switch (spec->kind) {
    case VALUE_HEX: {
        GBytes *b = snpg_verify_parse_hex(name, v, spec->len, &local);
        if (!b)
            return where_error(w, raw, local->message, error);
        replace_bytes(hex_slot(o, spec->key), b);
        return TRUE;
    }
    case VALUE_HEX_LIST: {
        g_auto(GStrv) items = g_strsplit(v, ";", -1);
        GPtrArray *list = g_str_equal(spec->key, "measurement") ? o->measurements : o->chip_ids;
        guint added = 0;

        for (gsize i = 0; items[i]; i++) {
            GBytes *b;
            /* GKeyFile lists may end with ';' */
            if (!*g_strstrip(items[i]) && !items[i + 1])
                continue;
            if (!(b = snpg_verify_parse_hex(name, items[i], spec->len, &local)))
                return where_error(w, raw, local->message, error);
            g_ptr_array_add(list, b);
            added++;
        }
        if (!added)
            return where_error(w, raw, _("the list is empty."), error);
        return TRUE;
    }
    case VALUE_COUNT:
    case VALUE_MASK: {
        gboolean hex = spec->kind == VALUE_MASK;
        if (g_str_has_prefix(p, "0x") || g_str_has_prefix(p, "0X")) {
            p += 2;
            hex = TRUE;
        }
        if (!g_ascii_string_to_unsigned(p, hex ? 16 : 10, 0, spec->kind == VALUE_MASK ? G_MAXUINT64 : spec->max,
                                        &u, NULL))
            return where_error(w, raw, spec->kind == VALUE_MASK
                                   ? _("not a hexadecimal bit mask.")
                                   : _("not a number in range."), error);
        if (g_str_equal(spec->key, "vmpl"))
            o->vmpl = (gint)u;
        else if (g_str_equal(spec->key, "min-guest-svn"))
            o->min_guest_svn = (gint64)u;
        else if (g_str_equal(spec->key, "policy-max")) {
            o->has_policy_max = TRUE;
            o->policy_max = u;
        } else if (g_str_equal(spec->key, "platform-info-mask")) {
            o->has_platform_info_mask = TRUE;
            o->platform_info_mask = u;
        } else {
            o->platform_info_required = u;
        }
        return TRUE;
    }
    case VALUE_TCB:
        if (!snpg_tcb_min_parse(v, &o->min_tcb, &local))
            return where_error(w, raw, local->message, error);
        return TRUE;
    case VALUE_BOOL:
        if (g_str_equal(v, "true") || g_str_equal(v, "1"))
            o->allow_debug = TRUE;
        else if (g_str_equal(v, "false") || g_str_equal(v, "0"))
            o->allow_debug = FALSE;
        else
            return where_error(w, raw, _("not true or false."), error);
        return TRUE;
    case VALUE_ABI: {
        gboolean policy = g_str_equal(spec->key, "min-policy-abi");
        if (!snpg_verify_parse_abi(v, policy ? &o->min_policy_abi_major : &o->min_abi_major,
                                   policy ? &o->min_policy_abi_minor : &o->min_abi_minor))
            return where_error(w, raw, _("not MAJOR.MINOR."), error);
        return TRUE;
    }
    case VALUE_PRODUCT:
        o->product = snpg_product_from_string(v);
        if (o->product == SNPG_PRODUCT_UNKNOWN)
            return where_error(w, raw, _("not Milan, Genoa or Turin."), error);
        return TRUE;
    }
    g_assert_not_reached();
}

static gboolean
set_value(SnpgVerifyOptions *opts, const char *key, const char *value, gboolean option,
          GError **error)
{
    Where w = { find_key(key), option };

    if (!w.spec) {
        g_set_error(error, SNPG_REFERENCE_ERROR, SNPG_REFERENCE_ERROR_KEY,
                    _("The reference values hold the unknown key '%s'."), key);
        return FALSE;
    }
    return parse_value(opts, &w, value, error);
}

gboolean
snpg_reference_set_value(SnpgVerifyOptions *opts, const char *key, const char *value,
                         GError **error)
{
    return set_value(opts, key, value, FALSE, error);
}

gboolean
snpg_reference_set_option(SnpgVerifyOptions *opts, const char *key, const char *value,
                          GError **error)
{
    return set_value(opts, key, value, TRUE, error);
}

/* Copies the value of key from "from" (freshly parsed) into "to". */
static void
merge_key(SnpgVerifyOptions *to, SnpgVerifyOptions *from, const KeySpec *spec)
{
    const char *key = spec->key;

    switch (spec->kind) {
    case VALUE_HEX:
        replace_bytes(hex_slot(to, key), g_steal_pointer(hex_slot(from, key)));
        break;
    case VALUE_HEX_LIST: {
        gboolean m = g_str_equal(key, "measurement");
        GPtrArray *src = m ? from->measurements : from->chip_ids;
        for (guint i = 0; i < src->len; i++)
            g_ptr_array_add(m ? to->measurements : to->chip_ids,
                            g_bytes_ref(g_ptr_array_index(src, i)));
        break;
    }
    case VALUE_COUNT:
    case VALUE_MASK:
        if (g_str_equal(key, "vmpl"))
            to->vmpl = from->vmpl;
        else if (g_str_equal(key, "min-guest-svn"))
            to->min_guest_svn = from->min_guest_svn;
        else if (g_str_equal(key, "policy-max")) {
            to->has_policy_max = TRUE;
            to->policy_max = from->policy_max;
        } else if (g_str_equal(key, "platform-info-mask")) {
            to->has_platform_info_mask = TRUE;
            to->platform_info_mask = from->platform_info_mask;
        } else {
            to->platform_info_required = from->platform_info_required;
        }
        break;
    case VALUE_TCB:
#define TAKE_TCB(f) if (from->min_tcb.f >= 0) to->min_tcb.f = from->min_tcb.f;
        TAKE_TCB(fmc) TAKE_TCB(bl) TAKE_TCB(tee) TAKE_TCB(snp) TAKE_TCB(ucode)
#undef TAKE_TCB
        break;
    case VALUE_BOOL:
        to->allow_debug = from->allow_debug;
        break;
    case VALUE_ABI:
        if (g_str_equal(key, "min-policy-abi")) {
            to->min_policy_abi_major = from->min_policy_abi_major;
            to->min_policy_abi_minor = from->min_policy_abi_minor;
        } else {
            to->min_abi_major = from->min_abi_major;
            to->min_abi_minor = from->min_abi_minor;
        }
        break;
    case VALUE_PRODUCT:
        to->product = from->product;
        break;
    }
}

gboolean
snpg_reference_load_data(const char *data, gsize len, SnpgVerifyOptions *opts, GError **error)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(GError) local = NULL;
    g_auto(SnpgVerifyOptions) t = { 0 };
    g_auto(GStrv) keys = NULL;
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);

    /* Translations kept, so that a localized key ("measurement[de]") is
     * seen and refused rather than silently dropped. */
    if (len > REFERENCE_MAX ||
        !g_key_file_load_from_data(kf, data, len, G_KEY_FILE_KEEP_TRANSLATIONS, &local)) {
        g_set_error(error, SNPG_REFERENCE_ERROR, SNPG_REFERENCE_ERROR_SYNTAX,
                    _("The reference values are not a key file: %s"),
                    local ? local->message : _("too large"));
        return FALSE;
    }
    if (!g_key_file_has_group(kf, SNPG_REFERENCE_GROUP)) {
        g_set_error(error, SNPG_REFERENCE_ERROR, SNPG_REFERENCE_ERROR_SYNTAX,
                    _("The reference values have no group '[%s]'."), SNPG_REFERENCE_GROUP);
        return FALSE;
    }
    /* Unknown keys are refused: a typo must not silently drop a check. A
     * key given twice is ambiguous (GKeyFile would keep the last one). */
    keys = g_key_file_get_keys(kf, SNPG_REFERENCE_GROUP, NULL, NULL);
    for (gsize i = 0; keys && keys[i]; i++) {
        if (strchr(keys[i], '[')) {
            g_set_error(error, SNPG_REFERENCE_ERROR, SNPG_REFERENCE_ERROR_KEY,
                        _("The reference values hold the localized key '%s': reference values "
                          "have no translations."), keys[i]);
            return FALSE;
        }
        if (!find_key(keys[i])) {
            g_set_error(error, SNPG_REFERENCE_ERROR, SNPG_REFERENCE_ERROR_KEY,
                        _("The reference values hold the unknown key '%s'."), keys[i]);
            return FALSE;
        }
        if (!g_hash_table_add(seen, keys[i])) {
            g_set_error(error, SNPG_REFERENCE_ERROR, SNPG_REFERENCE_ERROR_KEY,
                        _("The reference values give the key '%s' more than once."), keys[i]);
            return FALSE;
        }
    }

    snpg_verify_options_init(&t);
    for (gsize i = 0; keys && keys[i]; i++) {
        g_autofree char *v = g_key_file_get_string(kf, SNPG_REFERENCE_GROUP, keys[i], &local);
        if (!v)
            return value_error(keys[i], "", local->message, error);
        if (!snpg_reference_set_value(&t, keys[i], v, error))
            return FALSE;
    }

    /* All parsed: merge. */
    for (gsize i = 0; keys && keys[i]; i++)
        merge_key(opts, &t, find_key(keys[i]));
    return TRUE;
}

/* A reference file lists a few dozen values; anything larger is not one. */
#define REFERENCE_FILE_MAX (1u << 20)

gboolean
snpg_reference_load_file(const char *path, SnpgVerifyOptions *opts, GError **error)
{
    g_autoptr(GBytes) bytes = NULL;
    g_autoptr(GError) local = NULL;
    const char *data;
    gsize len = 0;

    if (!(bytes = snpg_file_read(path, REFERENCE_FILE_MAX, &local))) {
        g_set_error(error, SNPG_REFERENCE_ERROR, SNPG_REFERENCE_ERROR_IO,
                    _("Cannot read the reference values '%s': %s"), path, local->message);
        return FALSE;
    }
    data = g_bytes_get_data(bytes, &len);
    if (!snpg_reference_load_data(data, len, opts, &local)) {
        g_set_error(error, SNPG_REFERENCE_ERROR, local->code, _("In '%s': %s"), path,
                    local->message);
        return FALSE;
    }
    return TRUE;
}

static char *
to_hex(GBytes *b)
{
    gsize n = 0;
    const guint8 *d = g_bytes_get_data(b, &n);
    GString *s = g_string_sized_new(n * 2);

    for (gsize i = 0; i < n; i++)
        g_string_append_printf(s, "%02x", d[i]);
    return g_string_free(s, FALSE);
}

static void
set_hex(GKeyFile *kf, const char *key, GBytes *b)
{
    g_autofree char *h = NULL;

    if (!b)
        return;
    h = to_hex(b);
    g_key_file_set_string(kf, SNPG_REFERENCE_GROUP, key, h);
}

static void
set_hex_list(GKeyFile *kf, const char *key, GPtrArray *list)
{
    g_autoptr(GPtrArray) strs = g_ptr_array_new_with_free_func(g_free);

    if (!list || !list->len)
        return;
    for (guint i = 0; i < list->len; i++)
        g_ptr_array_add(strs, to_hex(g_ptr_array_index(list, i)));
    g_key_file_set_string_list(kf, SNPG_REFERENCE_GROUP, key,
                               (const char *const *)strs->pdata, strs->len);
}

char *
snpg_reference_to_data(const SnpgVerifyOptions *o, gsize *ret_len)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(GString) tcb = g_string_new(NULL);

    set_hex_list(kf, "measurement", o->measurements);
    set_hex(kf, "report-data", o->report_data);
    set_hex(kf, "host-data", o->host_data);
    set_hex(kf, "family-id", o->family_id);
    set_hex(kf, "image-id", o->image_id);
    set_hex(kf, "id-key-digest", o->id_key_digest);
    set_hex(kf, "author-key-digest", o->author_key_digest);
    set_hex_list(kf, "chip-id", o->chip_ids);
    if (o->vmpl >= 0)
        g_key_file_set_integer(kf, SNPG_REFERENCE_GROUP, "vmpl", o->vmpl);
    if (o->min_guest_svn >= 0)
        g_key_file_set_int64(kf, SNPG_REFERENCE_GROUP, "min-guest-svn", o->min_guest_svn);
#define TCB(f) if (o->min_tcb.f >= 0) g_string_append_printf(tcb, "%s%s=%d", tcb->len ? "," : "", #f, o->min_tcb.f);
    TCB(fmc) TCB(bl) TCB(tee) TCB(snp) TCB(ucode)
#undef TCB
    if (tcb->len)
        g_key_file_set_string(kf, SNPG_REFERENCE_GROUP, "min-tcb", tcb->str);
    g_key_file_set_boolean(kf, SNPG_REFERENCE_GROUP, "allow-debug", o->allow_debug);
    if (o->has_policy_max) {
        g_autofree char *v = g_strdup_printf("0x%" G_GINT64_MODIFIER "x", o->policy_max);
        g_key_file_set_string(kf, SNPG_REFERENCE_GROUP, "policy-max", v);
    }
    if (o->min_abi_major >= 0) {
        g_autofree char *v = g_strdup_printf("%d.%d", o->min_abi_major, MAX(o->min_abi_minor, 0));
        g_key_file_set_string(kf, SNPG_REFERENCE_GROUP, "min-abi", v);
    }
    if (o->min_policy_abi_major >= 0) {
        g_autofree char *v = g_strdup_printf("%d.%d", o->min_policy_abi_major,
                                             MAX(o->min_policy_abi_minor, 0));
        g_key_file_set_string(kf, SNPG_REFERENCE_GROUP, "min-policy-abi", v);
    }
    if (o->has_platform_info_mask) {
        g_autofree char *v = g_strdup_printf("0x%" G_GINT64_MODIFIER "x", o->platform_info_mask);
        g_key_file_set_string(kf, SNPG_REFERENCE_GROUP, "platform-info-mask", v);
    }
    if (o->platform_info_required) {
        g_autofree char *v = g_strdup_printf("0x%" G_GINT64_MODIFIER "x", o->platform_info_required);
        g_key_file_set_string(kf, SNPG_REFERENCE_GROUP, "platform-info-required", v);
    }
    if (o->product != SNPG_PRODUCT_UNKNOWN)
        g_key_file_set_string(kf, SNPG_REFERENCE_GROUP, "product", snpg_product_to_string(o->product));
    return g_key_file_to_data(kf, ret_len, NULL);
}
