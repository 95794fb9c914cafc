/* libFuzzer target: libvirt domain XML, as the libvirt hook reads it on
 * standard input (and define/adopt/show read it from a file): the bounded
 * parser that refuses a DTD, snpguard's metadata and the launch inputs.
 * SNPG_LAUNCH_INPUTS_NO_HOST keeps it from reading /proc/cpuinfo; nothing
 * here opens a path the XML names (only snpg_domain_measure() would). */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "domain.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A little over the parser's own limit, to exercise the refusal. */
#define INPUT_MAX (SNPG_DOMAIN_XML_MAX + 16)

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    xmlInitParser();
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autoptr(xmlDoc) doc = NULL;
    g_autoptr(GError) error = NULL;
    g_auto(SnpgDomainMeta) meta = { 0 };
    g_auto(SnpgLaunchInputs) inputs = { 0 };

    if (size > INPUT_MAX)
        return 0;
    if (!(doc = snpg_domain_parse((const char *)data, size, "(fuzz)", &error))) {
        g_assert(error != NULL);
        return 0;
    }
    /* What parsed has no DTD and a <domain> root without a namespace. */
    g_assert(doc->intSubset == NULL && doc->extSubset == NULL);
    g_assert(xmlStrEqual(xmlDocGetRootElement(doc)->name, BAD_CAST "domain"));

    if (snpg_domain_meta_read(doc, &meta, &error)) {
        g_assert(meta.workflow < SNPG_WORKFLOW_LAST);
        g_assert(meta.failure_action < SNPG_FAILURE_LAST);
        g_assert(meta.vmpl <= 3);
        /* What was read is written back and read the same. */
        {
            g_auto(SnpgDomainMeta) again = { 0 };

            if (!snpg_domain_meta_write(doc, &meta, &error) ||
                !snpg_domain_meta_read(doc, &again, &error))
                g_error("metadata does not round-trip: %s", error->message);
            g_assert(again.workflow == meta.workflow && again.emulate == meta.emulate &&
                     again.gate == meta.gate && again.failure_action == meta.failure_action &&
                     again.vmpl == meta.vmpl && again.vcpu_sig == meta.vcpu_sig &&
                     again.guest_features == meta.guest_features && again.policy == meta.policy);
            g_assert(g_strcmp0(again.verifier, meta.verifier) == 0 &&
                     g_strcmp0(again.verifier_pin, meta.verifier_pin) == 0 &&
                     g_strcmp0(again.firmware, meta.firmware) == 0 &&
                     g_strcmp0(again.vcpu_type, meta.vcpu_type) == 0 &&
                     g_strcmp0(again.measurement, meta.measurement) == 0);
        }
    } else {
        g_assert(error != NULL);
        g_clear_error(&error);
    }

    if (snpg_domain_launch_inputs_full(doc, SNPG_LAUNCH_INPUTS_NO_HOST, &inputs, &error)) {
        /* Every path the measurement would hash is absolute; the counts are
         * the ones a launch can have. */
        g_assert(inputs.firmware && inputs.firmware[0] == '/');
        g_assert(inputs.kernel && inputs.kernel[0] == '/');
        g_assert(inputs.initrd && inputs.initrd[0] == '/');
        g_assert(inputs.cmdline != NULL && inputs.vcpu_type != NULL);
        g_assert(inputs.vcpus >= 1 && inputs.vcpus <= 512);
        g_assert(inputs.kernel_hashes);
        g_assert(inputs.assumptions && inputs.assumptions->len > 0);
        /* Nothing was read from this host: no /proc/cpuinfo signature. */
        if (!inputs.emulated && g_str_equal(inputs.vcpu_type, SNPG_DOMAIN_HOST_PASSTHROUGH))
            g_assert(inputs.vcpu_sig == 0);
    } else {
        g_assert(error != NULL);
        g_clear_error(&error);
    }

    /* The text written back parses again (what define/adopt print). */
    {
        g_autofree char *text = snpg_domain_to_string(doc);
        g_autoptr(xmlDoc) again = NULL;

        g_assert(text != NULL);
        again = snpg_domain_parse(text, strlen(text), "(fuzz, written back)", &error);
        if (!again)
            g_error("written-back XML does not parse: %s", error->message);
    }
    return 0;
}
