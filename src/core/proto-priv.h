/* Internals of proto.c that the tests and fuzz targets reach directly. */
#pragma once

#include "proto.h"

/* Decodes the sealed KEY items (after authentication in the real path). */
gboolean snpg_proto_decode_items(const guint8 *data, gsize len, SnpgKeyPayload *ret,
                                 GError **error);

/* snpg_proto_seal_key with a given verifier ephemeral key instead of a
 * fresh one (NULL: fresh). For the known-answer vectors of docs/protocol.md
 * only: the only randomness in a KEY is that key (the IV comes from HKDF,
 * Ed25519 signatures are deterministic), and reusing one would reuse the
 * AEAD key and IV. snpg_proto_seal_key always draws a fresh key. */
GBytes *snpg_proto_seal_key_with_ephemeral(const SnpgHello *hello, SnpgKex kex, GBytes *agent_pub,
                                           GBytes *evidence, const SnpgKeyPayload *payload,
                                           EVP_PKEY *identity, EVP_PKEY *ephemeral,
                                           guint8 ret_confirm[SNPG_PROTO_CONFIRM_LEN],
                                           GError **error);

/* Blocking I/O with an absolute deadline (g_get_monotonic_time), shared by
 * the framing and the blocking verifier loop (session.c): wait for events
 * on fd (SNPG_PROTO_ERROR_TIMEOUT when the deadline passes), and write all
 * of data (sockets without SIGPIPE; character devices polled). */
gboolean snpg_proto_wait_fd(int fd, short events, gint64 deadline, GError **error);
gboolean snpg_proto_write_all(int fd, const guint8 *data, gsize len, gint64 deadline,
                              GError **error);
