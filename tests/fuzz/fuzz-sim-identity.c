/* libFuzzer target: the simulated launch identity, which a guest reads from
 * a fw_cfg blob the host wrote (hostile from the guest's view). A loaded
 * identity must sign a report that parses. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "report.h"
#include "sim-identity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The loader's limit (a fw_cfg blob is read at most this far), and a little
 * over it to exercise the refusal. */
#define IDENTITY_MAX (64 * 1024)
#define INPUT_MAX (72 * 1024)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autoptr(SnpgSimIdentity) id = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) report = NULL;
    guint8 report_data[64] = { 0x5a };
    g_autoptr(SnpgReport) parsed = NULL;

    if (size > INPUT_MAX)
        return 0;
    if (!(id = snpg_sim_identity_load_data((const char *)data, size, "(fuzz)", &error))) {
        g_assert(error != NULL);
        return 0;
    }
    g_assert(size <= IDENTITY_MAX);
    if (!snpg_sim_identity_report(id, report_data, 3, &report, &error))
        g_error("a loaded identity cannot sign at VMPL 3: %s", error->message);
    if (!(parsed = snpg_report_parse(g_bytes_get_data(report, NULL), g_bytes_get_size(report),
                                     &error)))
        g_error("the simulated report does not parse: %s", error->message);
    g_assert(memcmp(parsed->report_data, report_data, sizeof(report_data)) == 0);
    g_assert(parsed->vmpl == 3);
    (void)snpg_sim_identity_get_vcek(id);
    (void)snpg_sim_identity_get_ask(id);
    return 0;
}
