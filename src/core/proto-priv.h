/* Internals of proto.c that the tests and fuzz targets reach directly. */
#pragma once

#include "proto.h"

/* Decodes the sealed KEY items (after authentication in the real path). */
gboolean snpg_proto_decode_items(const guint8 *data, gsize len, SnpgKeyPayload *ret,
                                 GError **error);
