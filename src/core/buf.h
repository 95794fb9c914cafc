/* SnpgBuf: the one bounded reader for untrusted bytes.
 *
 * Every getter checks the remaining length before it touches memory, copies
 * into the caller's variable (never casts a struct over the input) and
 * consumes nothing when it fails. Errors are cheap negative codes; modules
 * turn them into a GError with context at their boundary. */
#pragma once

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const guint8 *data;
    gsize len;
    gsize off;
} SnpgBuf;

enum {
    SNPG_BUF_OK = 0,
    SNPG_BUF_ERR_SHORT = -1,     /* fewer bytes remain than asked for */
    SNPG_BUF_ERR_NONZERO = -2,   /* a reserved field is not zero */
    SNPG_BUF_ERR_RANGE = -3,     /* an offset or length points outside */
};

void snpg_buf_init(SnpgBuf *buf, const void *data, gsize len);
gsize snpg_buf_remaining(const SnpgBuf *buf);
int snpg_buf_skip(SnpgBuf *buf, gsize n);
int snpg_buf_get_u8(SnpgBuf *buf, guint8 *ret);
int snpg_buf_get_u16le(SnpgBuf *buf, guint16 *ret);
int snpg_buf_get_u32le(SnpgBuf *buf, guint32 *ret);
int snpg_buf_get_u64le(SnpgBuf *buf, guint64 *ret);
int snpg_buf_get_u16be(SnpgBuf *buf, guint16 *ret);
int snpg_buf_get_u32be(SnpgBuf *buf, guint32 *ret);
int snpg_buf_get_bytes(SnpgBuf *buf, void *ret, gsize n);
/* Points *ret into the buffer (no copy); valid while the data lives. */
int snpg_buf_peek_ptr(SnpgBuf *buf, const guint8 **ret, gsize n);
int snpg_buf_expect_zero(SnpgBuf *buf, gsize n);
/* A child view of the next n bytes; the parent advances past them. */
int snpg_buf_sub(SnpgBuf *buf, gsize n, SnpgBuf *ret_child);
/* A view of [off, off+n) of the whole buffer, independent of the cursor. */
int snpg_buf_slice(const SnpgBuf *buf, gsize off, gsize n, SnpgBuf *ret_child);

/* Little-endian stores into a caller-sized array (for building wire data). */
void snpg_put_u16le(guint8 *p, guint16 v);
void snpg_put_u32le(guint8 *p, guint32 v);
void snpg_put_u64le(guint8 *p, guint64 v);
