/* The managed-domain part of 'snpguard hook' (cmd-hook.c calls it once the
 * live XML carries snpguard's metadata): the start gate on "prepare begin",
 * a "stop" record on "stopped"/"release". Never calls libvirt. */
#pragma once

#include <libxml/tree.h>

/* Returns the hook's exit code (non-zero refuses a prepare). */
int snpg_cli_hook_managed(const char *domain, const char *operation, const char *subop,
                          xmlDoc *doc);
