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
