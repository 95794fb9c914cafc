/* snpguard attest NAME: a running managed VM, attested with what the
 * registry holds (kept apart from cmd-attest.c, whose session types share
 * names with the registry's). */
#pragma once

#include <glib.h>

/* Returns the exit code: 0 accepted (key delivered, if the VM has one),
 * 3 rejected, 1 error. */
int snpg_cli_attest_vm(const char *name, const char *uri, const char *state_dir, double timeout,
                       gboolean json);
