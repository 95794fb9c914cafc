/* The bounded reader: every getter refuses short input and consumes nothing. */
#include "config.h"

#include "buf.h"

static const guint8 sample[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x00, 0x00, 0xff };

static void
test_getters(void)
{
    SnpgBuf b;
    guint16 u16;
    guint32 u32;
    guint64 u64;
    guint8 u8;

    snpg_buf_init(&b, sample, sizeof(sample));
    g_assert_cmpint(snpg_buf_get_u16le(&b, &u16), ==, SNPG_BUF_OK);
    g_assert_cmphex(u16, ==, 0x0201);
    g_assert_cmpint(snpg_buf_get_u16be(&b, &u16), ==, SNPG_BUF_OK);
    g_assert_cmphex(u16, ==, 0x0304);
    g_assert_cmpint(snpg_buf_get_u32le(&b, &u32), ==, SNPG_BUF_OK);
    g_assert_cmphex(u32, ==, 0x08070605);
    g_assert_cmpint(snpg_buf_expect_zero(&b, 2), ==, SNPG_BUF_OK);
    g_assert_cmpint(snpg_buf_get_u8(&b, &u8), ==, SNPG_BUF_OK);
    g_assert_cmphex(u8, ==, 0xff);
    g_assert_cmpuint(snpg_buf_remaining(&b), ==, 0);

    snpg_buf_init(&b, sample, sizeof(sample));
    g_assert_cmpint(snpg_buf_get_u64le(&b, &u64), ==, SNPG_BUF_OK);
    g_assert_cmphex(u64, ==, G_GUINT64_CONSTANT(0x0807060504030201));
    g_assert_cmpint(snpg_buf_get_u32be(&b, &u32), ==, SNPG_BUF_ERR_SHORT);
}

static void
test_truncated_consumes_nothing(void)
{
    SnpgBuf b;
    guint32 u32 = 0xdeadbeef;
    guint64 u64 = 7;
    SnpgBuf child;

    snpg_buf_init(&b, sample, 3);
    g_assert_cmpint(snpg_buf_get_u32le(&b, &u32), ==, SNPG_BUF_ERR_SHORT);
    g_assert_cmphex(u32, ==, 0xdeadbeef);
    g_assert_cmpuint(b.off, ==, 0);
    g_assert_cmpint(snpg_buf_get_u64le(&b, &u64), ==, SNPG_BUF_ERR_SHORT);
    g_assert_cmpuint(u64, ==, 7);
    g_assert_cmpint(snpg_buf_sub(&b, 4, &child), ==, SNPG_BUF_ERR_SHORT);
    g_assert_cmpint(snpg_buf_skip(&b, G_MAXSIZE), ==, SNPG_BUF_ERR_SHORT);
    g_assert_cmpuint(b.off, ==, 0);
}

static void
test_nonzero_and_slices(void)
{
    SnpgBuf b, child;
    guint8 byte;

    snpg_buf_init(&b, sample, sizeof(sample));
    g_assert_cmpint(snpg_buf_expect_zero(&b, 1), ==, SNPG_BUF_ERR_NONZERO);
    g_assert_cmpuint(b.off, ==, 0);

    g_assert_cmpint(snpg_buf_sub(&b, 2, &child), ==, SNPG_BUF_OK);
    g_assert_cmpuint(child.len, ==, 2);
    g_assert_cmpuint(b.off, ==, 2);
    g_assert_cmpint(snpg_buf_get_u8(&child, &byte), ==, SNPG_BUF_OK);
    g_assert_cmphex(byte, ==, 1);

    g_assert_cmpint(snpg_buf_slice(&b, 10, 1, &child), ==, SNPG_BUF_OK);
    g_assert_cmpint(snpg_buf_slice(&b, 10, 2, &child), ==, SNPG_BUF_ERR_RANGE);
    g_assert_cmpint(snpg_buf_slice(&b, G_MAXSIZE, 2, &child), ==, SNPG_BUF_ERR_RANGE);
    g_assert_cmpint(snpg_buf_slice(&b, 1, G_MAXSIZE, &child), ==, SNPG_BUF_ERR_RANGE);
}

static void
test_put(void)
{
    guint8 out[8];

    snpg_put_u64le(out, G_GUINT64_CONSTANT(0x0102030405060708));
    g_assert_cmphex(out[0], ==, 0x08);
    g_assert_cmphex(out[7], ==, 0x01);
    snpg_put_u32le(out, 0xa1b2c3d4);
    g_assert_cmphex(out[0], ==, 0xd4);
    snpg_put_u16le(out, 0x1234);
    g_assert_cmphex(out[0], ==, 0x34);
    g_assert_cmphex(out[1], ==, 0x12);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/buf/getters", test_getters);
    g_test_add_func("/buf/truncated-consumes-nothing", test_truncated_consumes_nothing);
    g_test_add_func("/buf/nonzero-and-slices", test_nonzero_and_slices);
    g_test_add_func("/buf/put", test_put);
    return g_test_run();
}
