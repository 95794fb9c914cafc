/* The verifier's identity: a long-term Ed25519 key that signs every KEY it
 * sends. A guest pins it by the SHA-256 of its public key on the kernel
 * command line (snpguard.verifier=HEX), which the launch measurement covers,
 * so a host that plays verifier cannot hand the guest a disk key (and a disk)
 * of its own choosing. */
#pragma once

#include <glib.h>
#include <openssl/evp.h>

#include "proto.h"

#define SNPG_IDENTITY_CMDLINE_PARAM "snpguard.verifier"

/* Creates a new Ed25519 key in path (mode 0600, refusing to overwrite unless
 * force) and returns its pin. */
gboolean snpg_identity_create(const char *path, gboolean force, guint8 ret_pin[SNPG_PROTO_PIN_LEN],
                              GError **error);
/* Loads an Ed25519 private key (PEM). */
EVP_PKEY *snpg_identity_load(const char *path, GError **error);

/* The pin from a kernel command line: the value of snpguard.verifier=HEX.
 * FALSE without error when the parameter is absent; FALSE with an error
 * when it is present but malformed (or given twice with different values). */
gboolean snpg_identity_pin_from_cmdline(const char *cmdline, guint8 ret_pin[SNPG_PROTO_PIN_LEN],
                                        GError **error);
