/* Report parsing: every genuine vector decodes to what its meta.json records;
 * structural defects are refused. */
#include "config.h"

#include <string.h>

#include "buf.h"
#include "report.h"
#include "testutil.h"
#include "vectors.h"

static void
assert_hex(const guint8 *data, gsize len, const char *want)
{
    g_autofree char *h = snpg_test_hex(data, len);
    g_assert_cmpstr(h, ==, want);
}

static guint64
meta_hex(JsonObject *o, const char *member)
{
    return g_ascii_strtoull(json_object_get_string_member(o, member), NULL, 16);
}

static void
assert_tcb(JsonObject *meta, const char *member, guint64 raw, SnpgProduct product)
{
    JsonObject *t = json_object_get_object_member(meta, member);
    SnpgTcb tcb;

    g_assert_cmphex(raw, ==, g_ascii_strtoull(json_object_get_string_member(t, "raw"), NULL, 16));
    snpg_tcb_decode(raw, product, &tcb);
    if (json_object_has_member(t, "fmc"))
        g_assert_cmpint(tcb.fmc, ==, json_object_get_int_member(t, "fmc"));
    g_assert_cmpint(tcb.bl, ==, json_object_get_int_member(t, "bl"));
    g_assert_cmpint(tcb.tee, ==, json_object_get_int_member(t, "tee"));
    g_assert_cmpint(tcb.snp, ==, json_object_get_int_member(t, "snp"));
    g_assert_cmpint(tcb.ucode, ==, json_object_get_int_member(t, "ucode"));
    g_assert_cmpint(tcb.reserved_nonzero, ==, json_object_get_boolean_member(t, "reserved_nonzero"));
    g_assert_cmphex(snpg_tcb_encode(&tcb, product), ==, raw);
}

static void
test_vectors(void)
{
    g_autoptr(GPtrArray) vectors = snpg_vectors_load();

    g_assert_cmpuint(vectors->len, ==, 53);
    for (guint i = 0; i < vectors->len; i++) {
        SnpgVector *v = g_ptr_array_index(vectors, i);
        JsonObject *m = v->meta;
        g_autoptr(GError) error = NULL;
        g_autoptr(SnpgReport) r = snpg_report_parse(g_bytes_get_data(v->report, NULL),
                                                    g_bytes_get_size(v->report), &error);
        SnpgProduct product = snpg_product_from_string(json_object_get_string_member(m, "product"));
        JsonObject *cpuid = json_object_get_object_member(m, "cpuid");
        g_autofree char *cur = NULL;
        g_autofree char *com = NULL;

        g_test_message("%s", v->name);
        g_assert_no_error(error);
        g_assert_cmpuint(r->version, ==, json_object_get_int_member(m, "report_version"));
        g_assert_cmpuint(r->guest_svn, ==, json_object_get_int_member(m, "guest_svn"));
        g_assert_cmphex(r->policy, ==, meta_hex(m, "policy"));
        g_assert_cmpuint(r->vmpl, ==, json_object_get_int_member(m, "vmpl"));
        g_assert_cmpuint(r->signature_algo, ==, json_object_get_int_member(m, "signature_algo"));
        g_assert_cmphex(r->platform_info, ==, meta_hex(m, "platform_info"));
        g_assert_cmphex(r->flags, ==, meta_hex(m, "flags"));
        g_assert_cmpint(r->author_key_en, ==, json_object_get_int_member(m, "author_key_en"));
        g_assert_cmpint(r->mask_chip_key, ==, json_object_get_int_member(m, "mask_chip_key"));
        g_assert_cmpstr(snpg_signing_key_to_string(r->signing_key), ==,
                        json_object_get_string_member(m, "signing_key_field"));
        assert_hex(r->measurement, 48, json_object_get_string_member(m, "measurement"));
        assert_hex(r->report_data, 64, json_object_get_string_member(m, "report_data"));
        assert_hex(r->host_data, 32, json_object_get_string_member(m, "host_data"));
        assert_hex(r->family_id, 16, json_object_get_string_member(m, "family_id"));
        assert_hex(r->image_id, 16, json_object_get_string_member(m, "image_id"));
        assert_hex(r->id_key_digest, 48, json_object_get_string_member(m, "id_key_digest"));
        assert_hex(r->author_key_digest, 48, json_object_get_string_member(m, "author_key_digest"));
        assert_hex(r->report_id, 32, json_object_get_string_member(m, "report_id"));
        assert_hex(r->report_id_ma, 32, json_object_get_string_member(m, "report_id_ma"));
        assert_hex(r->chip_id, 64, json_object_get_string_member(m, "chip_id"));
        if (json_object_get_null_member(cpuid, "fam")) {
            g_assert_false(r->has_cpuid);
            g_assert_cmpint(r->product, ==, SNPG_PRODUCT_UNKNOWN);
        } else {
            g_assert_true(r->has_cpuid);
            g_assert_cmpuint(r->cpuid_fam_id, ==, json_object_get_int_member(cpuid, "fam"));
            g_assert_cmpuint(r->cpuid_mod_id, ==, json_object_get_int_member(cpuid, "mod"));
            g_assert_cmpuint(r->cpuid_step, ==, json_object_get_int_member(cpuid, "step"));
            g_assert_cmpint(r->product, ==, product);
        }
        assert_tcb(m, "current_tcb", r->current_tcb, product);
        assert_tcb(m, "reported_tcb", r->reported_tcb, product);
        assert_tcb(m, "committed_tcb", r->committed_tcb, product);
        assert_tcb(m, "launch_tcb", r->launch_tcb, product);
        cur = g_strdup_printf("%u.%u.%u", r->current_major, r->current_minor, r->current_build);
        com = g_strdup_printf("%u.%u.%u", r->committed_major, r->committed_minor, r->committed_build);
        g_assert_cmpstr(cur, ==, json_object_get_string_member(m, "current_version"));
        g_assert_cmpstr(com, ==, json_object_get_string_member(m, "committed_version"));
        if (json_object_get_null_member(m, "launch_mit_vector")) {
            g_assert_false(r->has_mit_vectors);
        } else {
            g_assert_true(r->has_mit_vectors);
            g_assert_cmpuint(r->launch_mit_vector, ==, json_object_get_int_member(m, "launch_mit_vector"));
            g_assert_cmpuint(r->current_mit_vector, ==, json_object_get_int_member(m, "current_mit_vector"));
        }
        g_assert_cmpmem(r->raw, SNPG_REPORT_SIZE, g_bytes_get_data(v->report, NULL), SNPG_REPORT_SIZE);
        {
            g_auto(GStrv) names = snpg_platform_info_flag_names(r->platform_info);
            JsonArray *want = json_object_get_array_member(m, "platform_info_decoded");
            g_assert_cmpuint(g_strv_length(names), ==, json_array_get_length(want));
            for (guint k = 0; k < json_array_get_length(want); k++)
                g_assert_cmpstr(names[k], ==, json_array_get_string_element(want, k));
        }
    }
}

static GBytes *
genuine(const char *name)
{
    g_autoptr(SnpgVector) v = snpg_vector_load(name);
    return g_bytes_ref(v->report);
}

static void
expect_error(const guint8 *data, gsize len, int code)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(SnpgReport) r = snpg_report_parse(data, len, &error);

    g_assert_null(r);
    g_assert_error(error, SNPG_REPORT_ERROR, code);
}

static void
test_sizes(void)
{
    g_autoptr(GBytes) b = genuine("milan-v3-vcek-oak-40a2778d");
    const guint8 *d = g_bytes_get_data(b, NULL);
    g_autofree guint8 *longer = g_malloc0(SNPG_REPORT_SIZE + 1);
    guint8 zeros[SNPG_REPORT_SIZE] = { 0 };
    guint8 ff[SNPG_REPORT_SIZE];

    memcpy(longer, d, SNPG_REPORT_SIZE);
    expect_error(NULL, 0, SNPG_REPORT_ERROR_SIZE);
    expect_error(d, 1, SNPG_REPORT_ERROR_SIZE);
    expect_error(d, SNPG_REPORT_SIGNED_SIZE, SNPG_REPORT_ERROR_SIZE);
    expect_error(d, SNPG_REPORT_SIZE - 1, SNPG_REPORT_ERROR_SIZE);
    expect_error(longer, SNPG_REPORT_SIZE + 1, SNPG_REPORT_ERROR_SIZE);
    expect_error(zeros, sizeof(zeros), SNPG_REPORT_ERROR_VERSION);
    memset(ff, 0xff, sizeof(ff));
    expect_error(ff, sizeof(ff), SNPG_REPORT_ERROR_VERSION);
}

static void
test_fields(void)
{
    g_autoptr(GBytes) b = genuine("genoa-v5-vcek-oak-6d1ceffa");
    guint8 r[SNPG_REPORT_SIZE];
    /* Reserved offsets of a v5 report, one byte each. */
    static const gsize reserved[] = { 0x04C, 0x04F, 0x18B, 0x19F, 0x1EB, 0x1EF, 0x208, 0x29F,
                                      0x330, 0x49F };

    for (guint32 ver = 0; ver < 8; ver++) {
        memcpy(r, g_bytes_get_data(b, NULL), sizeof(r));
        snpg_put_u32le(r, ver);
        if (ver >= 2 && ver <= 5) {
            g_autoptr(SnpgReport) rep = NULL;
            /* v2 has no CPUID bytes: they must be zero then. */
            if (ver == 2)
                memset(r + 0x188, 0, 3);
            if (ver < 5)
                memset(r + 0x1F8, 0, 16);
            rep = snpg_report_parse(r, sizeof(r), NULL);
            g_assert_nonnull(rep);
            g_assert_cmpint(rep->has_cpuid, ==, ver >= 3);
            g_assert_cmpint(rep->has_mit_vectors, ==, ver >= 5);
        } else {
            expect_error(r, sizeof(r), SNPG_REPORT_ERROR_VERSION);
        }
    }
    /* A v2 report with CPUID bytes set is malformed. */
    memcpy(r, g_bytes_get_data(b, NULL), sizeof(r));
    snpg_put_u32le(r, 2);
    expect_error(r, sizeof(r), SNPG_REPORT_ERROR_RESERVED);
    /* A v3 report with mitigation vectors set is malformed (reserved there). */
    memcpy(r, g_bytes_get_data(b, NULL), sizeof(r));
    snpg_put_u32le(r, 3);
    r[0x1F8] = 1;
    expect_error(r, sizeof(r), SNPG_REPORT_ERROR_RESERVED);

    for (gsize i = 0; i < G_N_ELEMENTS(reserved); i++) {
        memcpy(r, g_bytes_get_data(b, NULL), sizeof(r));
        r[reserved[i]] = 0x01;
        expect_error(r, sizeof(r), SNPG_REPORT_ERROR_RESERVED);
    }
    for (guint32 algo = 0; algo < 4; algo++) {
        if (algo == 1)
            continue;
        memcpy(r, g_bytes_get_data(b, NULL), sizeof(r));
        snpg_put_u32le(r + 0x34, algo);
        expect_error(r, sizeof(r), SNPG_REPORT_ERROR_ALGORITHM);
    }
    /* Signing key 2..6 are reserved; 7 (none) parses. */
    for (guint32 key = 0; key < 8; key++) {
        memcpy(r, g_bytes_get_data(b, NULL), sizeof(r));
        snpg_put_u32le(r + 0x48, key << 2);
        if (key == 0 || key == 1 || key == 7) {
            g_autoptr(SnpgReport) rep = snpg_report_parse(r, sizeof(r), NULL);
            g_assert_nonnull(rep);
            g_assert_cmpuint(rep->signing_key, ==, key);
        } else {
            expect_error(r, sizeof(r), SNPG_REPORT_ERROR_FIELD);
        }
    }
    memcpy(r, g_bytes_get_data(b, NULL), sizeof(r));
    snpg_put_u32le(r + 0x48, 1u << 5);
    expect_error(r, sizeof(r), SNPG_REPORT_ERROR_RESERVED);
    /* Unknown PLATFORM_INFO bits are not a parse error. */
    memcpy(r, g_bytes_get_data(b, NULL), sizeof(r));
    snpg_put_u64le(r + 0x40, G_GUINT64_CONSTANT(0xffffffffffffffff));
    {
        g_autoptr(SnpgReport) rep = snpg_report_parse(r, sizeof(r), NULL);
        g_auto(GStrv) names = NULL;
        g_assert_nonnull(rep);
        names = snpg_platform_info_flag_names(rep->platform_info);
        g_assert_cmpuint(g_strv_length(names), ==, 64);
        g_assert_cmpstr(names[0], ==, "SMT_EN");
        g_assert_cmpstr(names[63], ==, "bit63");
    }
}

static void
test_signature_der(void)
{
    g_autoptr(GBytes) b = genuine("turin-v5-vcek-oak-3f44a09b");
    g_autoptr(SnpgReport) r = snpg_report_parse(g_bytes_get_data(b, NULL), g_bytes_get_size(b), NULL);
    g_autofree guint8 *der = NULL;
    g_autoptr(GError) error = NULL;
    gsize len = 0;

    g_assert_true(snpg_report_signature_der(r, &der, &len, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(der[0], ==, 0x30);
    g_assert_cmpuint(len, >=, 8);
    g_assert_cmpuint(len, <=, 104);
    for (gsize i = 48; i < 72; i++) {
        g_clear_pointer(&der, g_free);
        r->sig_r[i] = 1;
        g_assert_false(snpg_report_signature_der(r, &der, &len, &error));
        g_assert_error(error, SNPG_REPORT_ERROR, SNPG_REPORT_ERROR_SIGNATURE);
        g_clear_error(&error);
        r->sig_r[i] = 0;
        r->sig_s[i] = 0x80;
        g_assert_false(snpg_report_signature_der(r, &der, &len, &error));
        g_clear_error(&error);
        r->sig_s[i] = 0;
    }
}

static void
test_policy(void)
{
    SnpgPolicy p;
    g_auto(GStrv) names = NULL;
    g_autofree char *joined = NULL;

    snpg_policy_decode(G_GUINT64_CONSTANT(0x3001f), &p);
    g_assert_cmpuint(p.abi_minor, ==, 0x1f);
    g_assert_cmpuint(p.abi_major, ==, 0);
    g_assert_true(p.smt);
    g_assert_true(p.reserved_1);
    g_assert_false(p.debug);
    snpg_policy_decode(G_GUINT64_CONSTANT(0xb0000), &p);
    g_assert_true(p.debug);
    snpg_policy_decode(G_GUINT64_CONSTANT(0x3ff0102) | (G_GUINT64_CONSTANT(1) << 40), &p);
    g_assert_cmpuint(p.abi_major, ==, 1);
    g_assert_cmpuint(p.abi_minor, ==, 2);
    g_assert_true(p.migrate_ma && p.debug && p.single_socket && p.cxl_allow);
    g_assert_true(p.mem_aes_256_xts && p.rapl_dis && p.ciphertext_hiding && p.page_swap_disable);
    g_assert_cmphex(p.reserved_mbz, ==, G_GUINT64_CONSTANT(1) << 40);
    names = snpg_policy_flag_names(G_GUINT64_CONSTANT(0xb0000) | (G_GUINT64_CONSTANT(1) << 26));
    joined = g_strjoinv(",", names);
    g_assert_cmpstr(joined, ==, "SMT,RESERVED_1,DEBUG,bit26");
}

static void
test_products(void)
{
    g_assert_cmpint(snpg_product_from_string("Milan-B0"), ==, SNPG_PRODUCT_MILAN);
    g_assert_cmpint(snpg_product_from_string("genoa"), ==, SNPG_PRODUCT_GENOA);
    g_assert_cmpint(snpg_product_from_string("Bergamo"), ==, SNPG_PRODUCT_GENOA);
    g_assert_cmpint(snpg_product_from_string("Siena"), ==, SNPG_PRODUCT_GENOA);
    g_assert_cmpint(snpg_product_from_string("Turin"), ==, SNPG_PRODUCT_TURIN);
    g_assert_cmpint(snpg_product_from_string("Mil"), ==, SNPG_PRODUCT_UNKNOWN);
    g_assert_cmpint(snpg_product_from_string("Milano"), ==, SNPG_PRODUCT_UNKNOWN);
    g_assert_cmpint(snpg_product_from_string(""), ==, SNPG_PRODUCT_UNKNOWN);
    g_assert_cmpint(snpg_product_from_cpuid(0x19, 0x01), ==, SNPG_PRODUCT_MILAN);
    g_assert_cmpint(snpg_product_from_cpuid(0x19, 0x11), ==, SNPG_PRODUCT_GENOA);
    g_assert_cmpint(snpg_product_from_cpuid(0x19, 0xa0), ==, SNPG_PRODUCT_GENOA);
    g_assert_cmpint(snpg_product_from_cpuid(0x1a, 0x02), ==, SNPG_PRODUCT_TURIN);
    g_assert_cmpint(snpg_product_from_cpuid(0x17, 0x31), ==, SNPG_PRODUCT_UNKNOWN);
    g_assert_cmpint(snpg_product_from_cpuid(0x19, 0x21), ==, SNPG_PRODUCT_UNKNOWN);
}

static void
test_tcb_layouts(void)
{
    SnpgTcb t;

    /* Milan/Genoa: BL, TEE, 4 reserved, SNP, UCODE. */
    snpg_tcb_decode(G_GUINT64_CONSTANT(0xd115000000000003), SNPG_PRODUCT_MILAN, &t);
    g_assert_cmpuint(t.bl, ==, 3);
    g_assert_cmpuint(t.snp, ==, 21);
    g_assert_cmpuint(t.ucode, ==, 209);
    g_assert_false(t.reserved_nonzero);
    /* Turin: FMC, BL, TEE, SNP, 3 reserved, UCODE. */
    snpg_tcb_decode(G_GUINT64_CONSTANT(0x4700000002000100), SNPG_PRODUCT_TURIN, &t);
    g_assert_cmpuint(t.fmc, ==, 0);
    g_assert_cmpuint(t.bl, ==, 1);
    g_assert_cmpuint(t.snp, ==, 2);
    g_assert_cmpuint(t.ucode, ==, 71);
    /* The same bytes in the other layout put SNP in a reserved byte. */
    snpg_tcb_decode(G_GUINT64_CONSTANT(0x4700000002000100), SNPG_PRODUCT_MILAN, &t);
    g_assert_true(t.reserved_nonzero);
    snpg_tcb_decode(G_GUINT64_CONSTANT(0x0001000000000000), SNPG_PRODUCT_TURIN, &t);
    g_assert_true(t.reserved_nonzero);
}

/* encode(parse(b)) == b for every genuine report; REPORT_DATA peeked from
 * the raw bytes is the parsed one. */
static void
test_encode_vectors(void)
{
    g_autoptr(GPtrArray) vectors = snpg_vectors_load();

    g_assert_cmpuint(vectors->len, >, 0);
    for (guint i = 0; i < vectors->len; i++) {
        SnpgVector *v = g_ptr_array_index(vectors, i);
        gsize len = 0;
        const guint8 *bytes = g_bytes_get_data(v->report, &len);
        g_autoptr(GError) error = NULL;
        g_autoptr(SnpgReport) r = snpg_report_parse(bytes, len, &error);
        g_autoptr(GBytes) encoded = NULL;
        guint8 report_data[SNPG_REPORT_DATA_SIZE];

        g_test_message("%s", v->name);
        g_assert_no_error(error);
        encoded = snpg_report_encode(r);
        g_assert_cmpmem(g_bytes_get_data(encoded, NULL), g_bytes_get_size(encoded), bytes, len);
        g_assert_true(snpg_report_peek_report_data(bytes, len, report_data));
        g_assert_cmpmem(report_data, sizeof(report_data), r->report_data, sizeof(r->report_data));
    }
}

static void
random_bytes(guint8 *p, gsize n)
{
    for (gsize i = 0; i < n; i++)
        p[i] = (guint8)g_test_rand_int_range(0, 256);
}

static guint64
random_u64(void)
{
    return ((guint64)(guint32)g_test_rand_int() << 32) | (guint32)g_test_rand_int();
}

#define ASSERT_SAME_INT(field) g_assert_cmpuint(back->field, ==, x->field)
#define ASSERT_SAME_MEM(field) g_assert_cmpmem(back->field, sizeof(back->field), x->field, sizeof(x->field))

/* parse(encode(x)) == x, field by field, for random reports of each version
 * and each signing-key value the parser accepts. */
static void
test_encode_round_trip(void)
{
    static const guint signing_keys[] = { SNPG_SIGNING_KEY_VCEK, SNPG_SIGNING_KEY_VLEK,
                                          SNPG_SIGNING_KEY_NONE };

    for (guint round = 0; round < 64; round++) {
        g_autoptr(SnpgReport) x = g_new0(SnpgReport, 1);
        g_autoptr(SnpgReport) back = NULL;
        g_autoptr(GError) error = NULL;
        g_autoptr(GBytes) encoded = NULL;
        guint8 peeked[SNPG_REPORT_DATA_SIZE];
        guint8 direct[SNPG_REPORT_SIZE];

        x->version = SNPG_REPORT_VERSION_MIN + round % (SNPG_REPORT_VERSION_MAX - SNPG_REPORT_VERSION_MIN + 1);
        x->guest_svn = g_test_rand_int();
        x->policy = random_u64();
        random_bytes(x->family_id, sizeof(x->family_id));
        random_bytes(x->image_id, sizeof(x->image_id));
        x->vmpl = g_test_rand_int();
        x->signature_algo = SNPG_REPORT_SIG_ALGO_ECDSA_P384_SHA384;
        x->current_tcb = random_u64();
        x->platform_info = random_u64();
        x->author_key_en = g_test_rand_bit();
        x->mask_chip_key = g_test_rand_bit();
        x->signing_key = signing_keys[round % G_N_ELEMENTS(signing_keys)];
        x->flags = (x->author_key_en ? 1u : 0u) | (x->mask_chip_key ? 2u : 0u) | (x->signing_key << 2);
        random_bytes(x->report_data, sizeof(x->report_data));
        random_bytes(x->measurement, sizeof(x->measurement));
        random_bytes(x->host_data, sizeof(x->host_data));
        random_bytes(x->id_key_digest, sizeof(x->id_key_digest));
        random_bytes(x->author_key_digest, sizeof(x->author_key_digest));
        random_bytes(x->report_id, sizeof(x->report_id));
        random_bytes(x->report_id_ma, sizeof(x->report_id_ma));
        x->reported_tcb = random_u64();
        if (x->version >= 3) {
            x->has_cpuid = TRUE;
            random_bytes(&x->cpuid_fam_id, 1);
            random_bytes(&x->cpuid_mod_id, 1);
            random_bytes(&x->cpuid_step, 1);
            x->product = snpg_product_from_cpuid(x->cpuid_fam_id, x->cpuid_mod_id);
        }
        random_bytes(x->chip_id, sizeof(x->chip_id));
        x->committed_tcb = random_u64();
        random_bytes(&x->current_build, 1);
        random_bytes(&x->current_minor, 1);
        random_bytes(&x->current_major, 1);
        random_bytes(&x->committed_build, 1);
        random_bytes(&x->committed_minor, 1);
        random_bytes(&x->committed_major, 1);
        x->launch_tcb = random_u64();
        if (x->version >= 5) {
            x->has_mit_vectors = TRUE;
            x->launch_mit_vector = random_u64();
            x->current_mit_vector = random_u64();
        }
        random_bytes(x->sig_r, sizeof(x->sig_r));
        random_bytes(x->sig_s, sizeof(x->sig_s));

        encoded = snpg_report_encode(x);
        g_assert_cmpuint(g_bytes_get_size(encoded), ==, SNPG_REPORT_SIZE);
        snpg_report_encode_to(x, direct);
        g_assert_cmpmem(direct, sizeof(direct), g_bytes_get_data(encoded, NULL), SNPG_REPORT_SIZE);
        back = snpg_report_parse(g_bytes_get_data(encoded, NULL), SNPG_REPORT_SIZE, &error);
        g_assert_no_error(error);
        ASSERT_SAME_INT(version);
        ASSERT_SAME_INT(guest_svn);
        ASSERT_SAME_INT(policy);
        ASSERT_SAME_MEM(family_id);
        ASSERT_SAME_MEM(image_id);
        ASSERT_SAME_INT(vmpl);
        ASSERT_SAME_INT(signature_algo);
        ASSERT_SAME_INT(current_tcb);
        ASSERT_SAME_INT(platform_info);
        ASSERT_SAME_INT(flags);
        ASSERT_SAME_INT(author_key_en);
        ASSERT_SAME_INT(mask_chip_key);
        ASSERT_SAME_INT(signing_key);
        ASSERT_SAME_MEM(report_data);
        ASSERT_SAME_MEM(measurement);
        ASSERT_SAME_MEM(host_data);
        ASSERT_SAME_MEM(id_key_digest);
        ASSERT_SAME_MEM(author_key_digest);
        ASSERT_SAME_MEM(report_id);
        ASSERT_SAME_MEM(report_id_ma);
        ASSERT_SAME_INT(reported_tcb);
        ASSERT_SAME_INT(has_cpuid);
        ASSERT_SAME_INT(cpuid_fam_id);
        ASSERT_SAME_INT(cpuid_mod_id);
        ASSERT_SAME_INT(cpuid_step);
        ASSERT_SAME_MEM(chip_id);
        ASSERT_SAME_INT(committed_tcb);
        ASSERT_SAME_INT(current_build);
        ASSERT_SAME_INT(current_minor);
        ASSERT_SAME_INT(current_major);
        ASSERT_SAME_INT(committed_build);
        ASSERT_SAME_INT(committed_minor);
        ASSERT_SAME_INT(committed_major);
        ASSERT_SAME_INT(launch_tcb);
        ASSERT_SAME_INT(has_mit_vectors);
        ASSERT_SAME_INT(launch_mit_vector);
        ASSERT_SAME_INT(current_mit_vector);
        ASSERT_SAME_MEM(sig_r);
        ASSERT_SAME_MEM(sig_s);
        ASSERT_SAME_INT(product);
        g_assert_cmpmem(back->raw, sizeof(back->raw), g_bytes_get_data(encoded, NULL), SNPG_REPORT_SIZE);

        g_assert_true(snpg_report_peek_report_data(back->raw, sizeof(back->raw), peeked));
        g_assert_cmpmem(peeked, sizeof(peeked), x->report_data, sizeof(x->report_data));
    }
    /* Only a whole report has a REPORT_DATA to peek at. */
    {
        guint8 raw[SNPG_REPORT_SIZE + 1] = { 0 }, out[SNPG_REPORT_DATA_SIZE];

        g_assert_false(snpg_report_peek_report_data(raw, SNPG_REPORT_SIZE - 1, out));
        g_assert_false(snpg_report_peek_report_data(raw, SNPG_REPORT_SIZE + 1, out));
        g_assert_false(snpg_report_peek_report_data(NULL, SNPG_REPORT_SIZE, out));
    }
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/report/parse/vectors", test_vectors);
    g_test_add_func("/report/parse/sizes", test_sizes);
    g_test_add_func("/report/parse/fields", test_fields);
    g_test_add_func("/report/encode/vectors", test_encode_vectors);
    g_test_add_func("/report/encode/round-trip", test_encode_round_trip);
    g_test_add_func("/report/signature/der", test_signature_der);
    g_test_add_func("/report/policy/decode", test_policy);
    g_test_add_func("/report/product", test_products);
    g_test_add_func("/report/tcb/layouts", test_tcb_layouts);
    return g_test_run();
}
