/* libFuzzer target: the guest's kernel command line, which the host chooses
 * (the launch measurement covers it, but the agent parses it before any
 * attestation): snpguard.verifier=PIN. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "identity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Linux caps the command line at a few KiB (COMMAND_LINE_SIZE); more
 * exercises the splitting without slowing the fuzzer. */
#define INPUT_MAX (64 * 1024)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autofree char *cmdline = NULL;
    g_autoptr(GError) error = NULL;
    guint8 pin[SNPG_PROTO_PIN_LEN];
    gboolean found;

    if (size > INPUT_MAX)
        return 0;
    /* The agent reads the file as text: its first NUL ends it. */
    cmdline = g_strndup((const char *)data, size);
    found = snpg_identity_pin_from_cmdline(cmdline, pin, &error);
    /* Found, absent, or malformed with a reason: never two at once. */
    g_assert(!(found && error));
    if (found)
        g_assert(strstr(cmdline, SNPG_IDENTITY_CMDLINE_PARAM "=") != NULL);
    return 0;
}
