/* snpguard attest NAME (see attest-vm.h). */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gi18n.h>

#include "attest-vm.h"
#include "cli-util.h"
#include "command.h"
#include "domain.h"
#include "registry.h"
#include "statedir.h"
#include "transport.h"
#include "verify-args.h"
#include "virt.h"
#include "vmattest.h"

#define FAIL(...) (snpg_cli_error(__VA_ARGS__), SNPG_EXIT_ERROR)

static void
print_json(const SnpgVmAttestOutcome *out, const char *error)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(JsonNode) root = NULL;

    json_builder_begin_object(b);
    if (out && out->result)
        snpg_verify_result_add_json(b, out->result);
    else
        snpg_cli_json_add_string(b, "verdict", "error");
    json_builder_set_member_name(b, "key_released");
    json_builder_add_boolean_value(b, out && out->key_sent);
    json_builder_set_member_name(b, "key_confirmed");
    json_builder_add_boolean_value(b, out && out->key_confirmed);
    if (error)
        snpg_cli_json_add_string(b, "error", error);
    json_builder_end_object(b);
    root = json_builder_get_root(b);
    snpg_cli_print_json(root);
}

static int
fail_json(gboolean json, const char *message)
{
    if (json)
        print_json(NULL, message);
    return FAIL("%s", message);
}

int
snpg_cli_attest_vm(const char *name, const char *uri, const char *state_opt, double timeout,
                   gboolean json)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *state_dir = snpg_state_dir_resolve(state_opt);
    g_autofree char *xml = NULL, *socket = NULL, *address = NULL;
    g_autoptr(SnpgRegistry) reg = NULL;
    g_autoptr(SnpgVmRecord) rec = NULL;
    g_autoptr(SnpgVirt) virt = NULL;
    g_autoptr(xmlDoc) live = NULL;
    g_auto(SnpgVmAttestOutcome) out = { 0 };
    gint64 timeout_us = (gint64)(timeout * G_USEC_PER_SEC);
    int fd;

    if (!(reg = snpg_registry_open(state_dir, SNPG_REGISTRY_OPEN_DEFAULT, &error)) ||
        !(rec = snpg_registry_get_vm(reg, name, &error)))
        return fail_json(json, error->message);
    if (!uri)
        uri = snpg_vm_record_get_setting(rec, "connect");
    /* The socket libvirt chose is in the live XML only. */
    if (!(virt = snpg_virt_open(uri, &error)) ||
        !(xml = snpg_virt_get_xml(virt, name, TRUE, &error)) ||
        !(live = snpg_domain_parse(xml, strlen(xml), name, &error)) ||
        !(socket = snpg_vm_attest_channel_socket(live, &error)))
        return fail_json(json, error->message);
    g_clear_pointer(&virt, snpg_virt_close);
    address = g_strconcat("unix:", socket, NULL);
    if ((fd = snpg_transport_connect(address, g_get_monotonic_time() + timeout_us, &error)) < 0)
        return fail_json(json, error->message);
    signal(SIGPIPE, SIG_IGN);
    if (!snpg_vm_attest(reg, rec, fd, timeout_us, &out, &error)) {
        close(fd);
        return fail_json(json, error->message);
    }
    close(fd);

    if (json)
        print_json(&out, out.error);
    else if (out.result)
        snpg_verify_result_print(out.result);
    if (out.key_sent && !out.key_confirmed)
        return FAIL(_("key released but not confirmed: %s"), out.error);
    if (out.verdict == SNPG_VERDICT_ERROR)
        return FAIL("%s", out.error ? out.error : _("the session failed"));
    if (!json && out.key_sent)
        printf(_("key released: %zu bytes, sealed to the attested VM, receipt confirmed\n"),
               out.key_len);
    fflush(stdout);
    return out.verdict == SNPG_VERDICT_ACCEPTED ? SNPG_EXIT_OK : SNPG_EXIT_REJECTED;
}
