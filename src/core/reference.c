/* Reference values file (docs/reference-values.md). */
#include "config.h"

#include <string.h>

#include "i18n.h"
#include "reference.h"

G_DEFINE_QUARK(snpg-reference-error-quark, snpg_reference_error)

/* Reference files are small; refuse anything that is clearly not one. */
#define REFERENCE_MAX (1u << 20)

static const char *const known_keys[] = {
    "measurement", "report-data", "host-data", "family-id", "image-id", "id-key-digest",
    "author-key-digest", "chip-id", "vmpl", "min-guest-svn", "min-tcb", "allow-debug",
    "policy-max", "min-abi", "min-policy-abi", "platform-info-mask", "platform-info-required", "product",
};

static gboolean
value_error(const char *key, const char *value, const char *why, GError **error)
{
    g_set_error(error, SNPG_REFERENCE_ERROR, SNPG_REFERENCE_ERROR_VALUE,
                _("The reference value '%s' = '%s' is invalid: %s"), key, value, why);
    return FALSE;
}

static gboolean
get_hex(GKeyFile *kf, const char *key, gsize len, GBytes **slot, GError **error)
{
    g_autofree char *v = g_key_file_get_string(kf, SNPG_REFERENCE_GROUP, key, NULL);
    g_autoptr(GError) local = NULL;
    GBytes *b;

    if (!v)
        return TRUE;
    if (!(b = snpg_verify_parse_hex(key, g_strstrip(v), len, &local)))
        return value_error(key, v, local->message, error);
    if (*slot)
        g_bytes_unref(*slot);
    *slot = b;
    return TRUE;
}

static gboolean
get_hex_list(GKeyFile *kf, const char *key, gsize len, GPtrArray *list, GError **error)
{
    g_auto(GStrv) vs = g_key_file_get_string_list(kf, SNPG_REFERENCE_GROUP, key, NULL, NULL);
    guint added = 0;

    for (gsize i = 0; vs && vs[i]; i++) {
        g_autoptr(GError) local = NULL;
        GBytes *b;

        if (!*g_strstrip(vs[i]))
            continue;
        if (!(b = snpg_verify_parse_hex(key, vs[i], len, &local)))
            return value_error(key, vs[i], local->message, error);
        g_ptr_array_add(list, b);
        added++;
    }
    /* An empty list means "no check" to the verifier: a key that is present
     * but empty ("measurement=" from a failed template substitution) must
     * not silently allow every value. Absent keys remain "not checked". */
    if (added == 0 && g_key_file_has_key(kf, SNPG_REFERENCE_GROUP, key, NULL))
        return value_error(key, "", _("the list is empty."), error);
    return TRUE;
}

static gboolean
get_uint(GKeyFile *kf, const char *key, guint64 max, gboolean *present, guint64 *ret,
         GError **error)
{
    g_autofree char *v = g_key_file_get_string(kf, SNPG_REFERENCE_GROUP, key, NULL);
    const char *p;
    guint base = 10;

    *present = v != NULL;
    if (!v)
        return TRUE;
    p = g_strstrip(v);
    if (g_str_has_prefix(p, "0x") || g_str_has_prefix(p, "0X")) {
        p += 2;
        base = 16;
    }
    if (!g_ascii_string_to_unsigned(p, base, 0, max, ret, NULL))
        return value_error(key, v, _("not a number in range."), error);
    return TRUE;
}

static void
take_bytes(GBytes **to, GBytes **from)
{
    if (!*from)
        return;
    if (*to)
        g_bytes_unref(*to);
    *to = g_steal_pointer(from);
}

gboolean
snpg_reference_load_data(const char *data, gsize len, SnpgVerifyOptions *opts, GError **error)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(GError) local = NULL;
    g_auto(SnpgVerifyOptions) t = { 0 };
    g_auto(GStrv) keys = NULL;
    g_autofree char *tcb = NULL;
    g_autofree char *abi = NULL;
    g_autofree char *policy_abi = NULL;
    g_autofree char *product = NULL;
    gboolean present = FALSE, has_debug;
    guint64 u = 0;

    if (len > REFERENCE_MAX || !g_key_file_load_from_data(kf, data, len, G_KEY_FILE_NONE, &local)) {
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
    /* Unknown keys are refused: a typo must not silently drop a check. */
    keys = g_key_file_get_keys(kf, SNPG_REFERENCE_GROUP, NULL, NULL);
    for (gsize i = 0; keys && keys[i]; i++) {
        gboolean known = FALSE;
        for (gsize k = 0; k < G_N_ELEMENTS(known_keys) && !known; k++)
            known = g_str_equal(keys[i], known_keys[k]);
        if (!known) {
            g_set_error(error, SNPG_REFERENCE_ERROR, SNPG_REFERENCE_ERROR_KEY,
                        _("The reference values hold the unknown key '%s'."), keys[i]);
            return FALSE;
        }
    }

    snpg_verify_options_init(&t);
    if (!get_hex_list(kf, "measurement", 48, t.measurements, error) ||
        !get_hex(kf, "report-data", 64, &t.report_data, error) ||
        !get_hex(kf, "host-data", 32, &t.host_data, error) ||
        !get_hex(kf, "family-id", 16, &t.family_id, error) ||
        !get_hex(kf, "image-id", 16, &t.image_id, error) ||
        !get_hex(kf, "id-key-digest", 48, &t.id_key_digest, error) ||
        !get_hex(kf, "author-key-digest", 48, &t.author_key_digest, error) ||
        !get_hex_list(kf, "chip-id", 64, t.chip_ids, error))
        return FALSE;
    if (!get_uint(kf, "vmpl", 3, &present, &u, error))
        return FALSE;
    if (present)
        t.vmpl = (gint)u;
    if (!get_uint(kf, "min-guest-svn", G_MAXUINT32, &present, &u, error))
        return FALSE;
    if (present)
        t.min_guest_svn = (gint64)u;
    if ((tcb = g_key_file_get_string(kf, SNPG_REFERENCE_GROUP, "min-tcb", NULL)) &&
        !snpg_tcb_min_parse(g_strstrip(tcb), &t.min_tcb, &local))
        return value_error("min-tcb", tcb, local->message, error);
    has_debug = g_key_file_has_key(kf, SNPG_REFERENCE_GROUP, "allow-debug", NULL);
    if (has_debug) {
        t.allow_debug = g_key_file_get_boolean(kf, SNPG_REFERENCE_GROUP, "allow-debug", &local);
        if (local)
            return value_error("allow-debug", "", local->message, error);
    }
    if (!get_uint(kf, "policy-max", G_MAXUINT64, &t.has_policy_max, &t.policy_max, error) ||
        !get_uint(kf, "platform-info-mask", G_MAXUINT64, &t.has_platform_info_mask,
                  &t.platform_info_mask, error) ||
        !get_uint(kf, "platform-info-required", G_MAXUINT64, &present,
                  &t.platform_info_required, error))
        return FALSE;
    if ((abi = g_key_file_get_string(kf, SNPG_REFERENCE_GROUP, "min-abi", NULL)) &&
        !snpg_verify_parse_abi(g_strstrip(abi), &t.min_abi_major, &t.min_abi_minor))
        return value_error("min-abi", abi, _("not MAJOR.MINOR."), error);
    if ((policy_abi = g_key_file_get_string(kf, SNPG_REFERENCE_GROUP, "min-policy-abi", NULL)) &&
        !snpg_verify_parse_abi(g_strstrip(policy_abi), &t.min_policy_abi_major, &t.min_policy_abi_minor))
        return value_error("min-policy-abi", policy_abi, _("not MAJOR.MINOR."), error);
    if ((product = g_key_file_get_string(kf, SNPG_REFERENCE_GROUP, "product", NULL))) {
        t.product = snpg_product_from_string(g_strstrip(product));
        if (t.product == SNPG_PRODUCT_UNKNOWN)
            return value_error("product", product, _("not Milan, Genoa or Turin."), error);
    }

    /* All parsed: merge. */
    for (guint i = 0; i < t.measurements->len; i++)
        g_ptr_array_add(opts->measurements, g_bytes_ref(g_ptr_array_index(t.measurements, i)));
    for (guint i = 0; i < t.chip_ids->len; i++)
        g_ptr_array_add(opts->chip_ids, g_bytes_ref(g_ptr_array_index(t.chip_ids, i)));
    take_bytes(&opts->report_data, &t.report_data);
    take_bytes(&opts->host_data, &t.host_data);
    take_bytes(&opts->family_id, &t.family_id);
    take_bytes(&opts->image_id, &t.image_id);
    take_bytes(&opts->id_key_digest, &t.id_key_digest);
    take_bytes(&opts->author_key_digest, &t.author_key_digest);
    if (t.vmpl >= 0)
        opts->vmpl = t.vmpl;
    if (t.min_guest_svn >= 0)
        opts->min_guest_svn = t.min_guest_svn;
#define TAKE_TCB(f) if (t.min_tcb.f >= 0) opts->min_tcb.f = t.min_tcb.f;
    TAKE_TCB(fmc) TAKE_TCB(bl) TAKE_TCB(tee) TAKE_TCB(snp) TAKE_TCB(ucode)
#undef TAKE_TCB
    if (has_debug)
        opts->allow_debug = t.allow_debug;
    if (t.has_policy_max) {
        opts->has_policy_max = TRUE;
        opts->policy_max = t.policy_max;
    }
    if (t.min_abi_major >= 0) {
        opts->min_abi_major = t.min_abi_major;
        opts->min_abi_minor = t.min_abi_minor;
    }
    if (t.min_policy_abi_major >= 0) {
        opts->min_policy_abi_major = t.min_policy_abi_major;
        opts->min_policy_abi_minor = t.min_policy_abi_minor;
    }
    if (t.has_platform_info_mask) {
        opts->has_platform_info_mask = TRUE;
        opts->platform_info_mask = t.platform_info_mask;
    }
    if (present)
        opts->platform_info_required = t.platform_info_required;
    if (t.product != SNPG_PRODUCT_UNKNOWN)
        opts->product = t.product;
    return TRUE;
}

gboolean
snpg_reference_load_file(const char *path, SnpgVerifyOptions *opts, GError **error)
{
    g_autofree char *data = NULL;
    g_autoptr(GError) local = NULL;
    gsize len = 0;

    if (!g_file_get_contents(path, &data, &len, &local)) {
        g_set_error(error, SNPG_REFERENCE_ERROR, SNPG_REFERENCE_ERROR_IO,
                    _("Cannot read the reference values '%s': %s"), path, local->message);
        return FALSE;
    }
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
