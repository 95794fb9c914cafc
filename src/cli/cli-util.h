/* Helpers shared by the cmd-<verb>.c files: option values and JSON output.
 * Parsers print the error (snpg_cli_error) and return FALSE; the caller
 * returns SNPG_EXIT_USAGE. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "report.h"

/* Exactly len bytes of hex (an optional 0x prefix) into out. */
gboolean snpg_cli_parse_hex(const char *opt, const char *text, guint8 *out, gsize len);
/* 1 to max bytes of hex into out, zero-padded on the right to max bytes. */
gboolean snpg_cli_parse_hex_padded(const char *opt, const char *text, guint8 *out, gsize max);
/* An unsigned number from 0 to max in base 10 or 16 (base 16: an optional
 * 0x prefix). */
gboolean snpg_cli_parse_u64(const char *opt, const char *text, guint base, guint64 max,
                            guint64 *ret);

/* Adds "name": "<lowercase hex of data>" to the object being built. */
void snpg_cli_json_add_hex(JsonBuilder *b, const char *name, const guint8 *data, gsize len);
/* Adds "name": "0x<hex of v>". */
void snpg_cli_json_add_hex64(JsonBuilder *b, const char *name, guint64 v);
/* Adds "name": v. */
void snpg_cli_json_add_int(JsonBuilder *b, const char *name, gint64 v);
/* Adds "name": "s" (s NULL: null). */
void snpg_cli_json_add_string(JsonBuilder *b, const char *name, const char *s);

/* Limits of the input files, by kind. A report is 1184 bytes: a larger
 * limit lets the parser say what is wrong with a wrong-sized file. */
#define SNPG_CLI_REPORT_FILE_MAX (64u << 10)
#define SNPG_CLI_INPUT_FILE_MAX (16u << 20)   /* certificates, chains, CRLs */

/* A small input file, read whole (a regular file, a pipe or a device, at
 * most max bytes); on failure prints why and returns NULL.
 * snpg_cli_read_file: at most SNPG_CLI_INPUT_FILE_MAX. */
GBytes *snpg_cli_read_file(const char *path, const char *what);
GBytes *snpg_cli_read_file_max(const char *path, const char *what, gsize max);
/* --product: Milan, Genoa or Turin (NULL: unknown); prints the error. */
SnpgProduct snpg_cli_parse_product(const char *text, gboolean *ok);
