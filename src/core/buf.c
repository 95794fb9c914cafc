#include "config.h"

#include <string.h>

#include "buf.h"

void
snpg_buf_init(SnpgBuf *buf, const void *data, gsize len)
{
    buf->data = data;
    buf->len = data ? len : 0;
    buf->off = 0;
}

gsize
snpg_buf_remaining(const SnpgBuf *buf)
{
    return buf->len - buf->off;
}

/* The single bounds check: written so that it cannot overflow. */
static gboolean
have(const SnpgBuf *buf, gsize n)
{
    return n <= buf->len - buf->off;
}

int
snpg_buf_skip(SnpgBuf *buf, gsize n)
{
    if (!have(buf, n))
        return SNPG_BUF_ERR_SHORT;
    buf->off += n;
    return SNPG_BUF_OK;
}

int
snpg_buf_get_bytes(SnpgBuf *buf, void *ret, gsize n)
{
    if (!have(buf, n))
        return SNPG_BUF_ERR_SHORT;
    if (n)
        memcpy(ret, buf->data + buf->off, n);
    buf->off += n;
    return SNPG_BUF_OK;
}

int
snpg_buf_peek_ptr(SnpgBuf *buf, const guint8 **ret, gsize n)
{
    if (!have(buf, n))
        return SNPG_BUF_ERR_SHORT;
    *ret = buf->data + buf->off;
    buf->off += n;
    return SNPG_BUF_OK;
}

int
snpg_buf_get_u8(SnpgBuf *buf, guint8 *ret)
{
    return snpg_buf_get_bytes(buf, ret, 1);
}

int
snpg_buf_get_u16le(SnpgBuf *buf, guint16 *ret)
{
    guint16 v;
    int r = snpg_buf_get_bytes(buf, &v, sizeof(v));
    if (r == SNPG_BUF_OK)
        *ret = GUINT16_FROM_LE(v);
    return r;
}

int
snpg_buf_get_u32le(SnpgBuf *buf, guint32 *ret)
{
    guint32 v;
    int r = snpg_buf_get_bytes(buf, &v, sizeof(v));
    if (r == SNPG_BUF_OK)
        *ret = GUINT32_FROM_LE(v);
    return r;
}

int
snpg_buf_get_u64le(SnpgBuf *buf, guint64 *ret)
{
    guint64 v;
    int r = snpg_buf_get_bytes(buf, &v, sizeof(v));
    if (r == SNPG_BUF_OK)
        *ret = GUINT64_FROM_LE(v);
    return r;
}

int
snpg_buf_get_u16be(SnpgBuf *buf, guint16 *ret)
{
    guint16 v;
    int r = snpg_buf_get_bytes(buf, &v, sizeof(v));
    if (r == SNPG_BUF_OK)
        *ret = GUINT16_FROM_BE(v);
    return r;
}

int
snpg_buf_get_u32be(SnpgBuf *buf, guint32 *ret)
{
    guint32 v;
    int r = snpg_buf_get_bytes(buf, &v, sizeof(v));
    if (r == SNPG_BUF_OK)
        *ret = GUINT32_FROM_BE(v);
    return r;
}

int
snpg_buf_expect_zero(SnpgBuf *buf, gsize n)
{
    if (!have(buf, n))
        return SNPG_BUF_ERR_SHORT;
    for (gsize i = 0; i < n; i++)
        if (buf->data[buf->off + i] != 0)
            return SNPG_BUF_ERR_NONZERO;
    buf->off += n;
    return SNPG_BUF_OK;
}

int
snpg_buf_sub(SnpgBuf *buf, gsize n, SnpgBuf *ret_child)
{
    if (!have(buf, n))
        return SNPG_BUF_ERR_SHORT;
    snpg_buf_init(ret_child, buf->data + buf->off, n);
    buf->off += n;
    return SNPG_BUF_OK;
}

int
snpg_buf_slice(const SnpgBuf *buf, gsize off, gsize n, SnpgBuf *ret_child)
{
    if (off > buf->len || n > buf->len - off)
        return SNPG_BUF_ERR_RANGE;
    snpg_buf_init(ret_child, buf->data + off, n);
    return SNPG_BUF_OK;
}

void
snpg_put_u16le(guint8 *p, guint16 v)
{
    v = GUINT16_TO_LE(v);
    memcpy(p, &v, sizeof(v));
}

void
snpg_put_u32le(guint8 *p, guint32 v)
{
    v = GUINT32_TO_LE(v);
    memcpy(p, &v, sizeof(v));
}

void
snpg_put_u64le(guint8 *p, guint64 v)
{
    v = GUINT64_TO_LE(v);
    memcpy(p, &v, sizeof(v));
}
