/* Shared by snpguard define and adopt. */
#pragma once

#include <glib.h>

#include "domain.h"

/* The pin of the verifier identity in key_path, as hex; NULL after printing
 * the error. */
char *snpg_cli_verifier_pin(const char *key_path);

/* Prints the domain XML, or with json {"xml": ..., "measurement": ...} (adopt
 * adds what it changed). Returns the exit code. */
int snpg_cli_print_domain(xmlDoc *doc, gboolean json, gboolean added_channel,
                          gboolean added_pin, gboolean adopt);

/* Registering a domain XML (define, adopt): what the registry records
 * beside what the XML and its metadata say. */
typedef struct {
    const char *state_dir;      /* absolute */
    const char *connect;        /* libvirt URI, NULL: qemu:///system */
    const char *verifier_mode;  /* "hook", "watch" or "manual" */
    const char *verifier_key;   /* the identity that signs released keys (absolute) */
    const char *trust_root;     /* emulation: the simulator's ARK (absolute), else NULL */
    gboolean replace;           /* adopt: the libvirt domain exists and is redefined */
} SnpgCliRegister;

/* Records the VM of doc (its metadata sealed) in the registry with its
 * disk key (encrypted workflow) and defines the domain in libvirt, all or
 * nothing: on any failure no registry row, no key file and no (new)
 * domain remain. Prints what it did; returns the exit code. */
int snpg_cli_register_domain(xmlDoc *doc, const SnpgCliRegister *r);

/* The verifier identity a VM pins: key_file when given, else the state
 * directory's own (STATE/verifier.pem, created on first use). Sets
 * *ret_path (absolute) and *ret_pin (hex); FALSE after printing the error. */
gboolean snpg_cli_verifier_identity(const char *state_dir, const char *key_file, char **ret_path,
                                    char **ret_pin);

/* The emulation profile's trust root: the ARK of the state directory's own
 * simulated secure processor (STATE/sim, TEST keys, created on first use).
 * NULL after printing the error. */
char *snpg_cli_emulate_trust_root(const char *state_dir);
