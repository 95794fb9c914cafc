/* snpguard start NAME: start a managed VM and wait for this boot's verdict,
 * whoever its verifier is (the hook worker, 'snpguard watch', or someone
 * running 'snpguard attest NAME'). */
#include "config.h"

#include <stdio.h>

#include <glib/gi18n.h>

#include "boot.h"
#include "cli-util.h"
#include "command.h"
#include "registry.h"
#include "statedir.h"

#define FAIL(...) (snpg_cli_error(__VA_ARGS__), SNPG_EXIT_ERROR)
#define USAGE(...) (snpg_cli_error(__VA_ARGS__), SNPG_EXIT_USAGE)

/* How often the registry is read while waiting (each read is a snapshot
 * of a few rows). */
#define POLL_US (G_USEC_PER_SEC / 5)
/* After an accepted verdict, the release record follows within ms. */
#define RELEASE_GRACE_US (2 * G_USEC_PER_SEC)
#define TIMEOUT_DEFAULT 300

static int
report(const char *name, const SnpgBootVerdict *v, gboolean expect_key)
{
    switch (v->verdict) {
    case SNPG_VERDICT_ACCEPTED:
        if (expect_key && !v->key_confirmed)
            return FAIL(_("'%s' was attested, but its key was %s"), name,
                        v->key_released ? _("not confirmed by the guest") : _("not released"));
        printf(expect_key ? _("%s: attested; disk key delivered and confirmed\n")
                          : _("%s: attested\n"), name);
        return SNPG_EXIT_OK;
    case SNPG_VERDICT_REJECTED:
        printf(_("%s: attestation rejected\n"), name);
        for (guint i = 0; v->reasons && v->reasons[i]; i++)
            printf(_("  reason: %s\n"), v->reasons[i]);
        if (v->detail)
            printf(_("  detail: %s\n"), v->detail);
        return SNPG_EXIT_REJECTED;
    default:
        return FAIL(_("'%s' was not attested (%s)%s%s"), name, snpg_verdict_to_string(v->verdict),
                    v->detail ? ": " : "", v->detail ? v->detail : "");
    }
}

static int
run(int argc, char **argv)
{
    g_autofree char *timeout_opt = NULL, *uri = NULL, *state_opt = NULL;
    const GOptionEntry entries[] = {
        { "timeout", 0, 0, G_OPTION_ARG_STRING, &timeout_opt,
          N_("Seconds to wait for the verdict (default 300)"), N_("S") },
        { "connect", 'c', 0, G_OPTION_ARG_STRING, &uri,
          N_("libvirt URI (default: the VM's, or qemu:///system)"), N_("URI") },
        { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_opt,
          N_("State directory (default $SNPGUARD_STATE_DIR or /var/lib/snpguard)"), N_("DIR") },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx = snpg_cli_context_new("start", "NAME",
        _("Start a managed VM and wait for the verdict on this boot, whoever attests it.\n"
          "Exit status: 0 attested (and its key delivered), 3 rejected, 1 error or timeout."),
        entries);
    g_autofree char *state_dir = NULL, *boot_id = NULL;
    g_autoptr(SnpgRegistry) reg = NULL;
    g_autoptr(SnpgVmRecord) rec = NULL;
    g_autoptr(GError) error = NULL;
    guint64 timeout_s = TIMEOUT_DEFAULT;
    gint64 deadline, accepted_at = 0;
    const char *name, *mode;

    if (!snpg_cli_parse(ctx, &argc, &argv))
        return SNPG_EXIT_USAGE;
    if (argc < 2)
        return USAGE(_("expected the VM's NAME"));
    if (argc > 2)
        return USAGE(_("unexpected argument '%s'"), argv[2]);
    if (timeout_opt && !g_ascii_string_to_unsigned(timeout_opt, 10, 1, 86400, &timeout_s, NULL))
        return USAGE(_("--timeout takes seconds, 1 to 86400: '%s'"), timeout_opt);
    name = argv[1];
    state_dir = snpg_state_dir_resolve(state_opt);
    if (!(reg = snpg_registry_open(state_dir, SNPG_REGISTRY_OPEN_DEFAULT, &error)) ||
        !(rec = snpg_registry_get_vm(reg, name, &error)))
        return FAIL("%s", error->message);
    mode = snpg_boot_verifier_mode(rec);
    if (!uri)
        uri = g_strdup(snpg_vm_record_get_setting(rec, "connect"));
    if (!(boot_id = snpg_boot_start_domain(uri, name, &error)))
        return FAIL("%s", error->message);
    deadline = g_get_monotonic_time() + (gint64)timeout_s * G_USEC_PER_SEC;
    fprintf(stderr, _("%s: started (boot %s); waiting for the %s verifier\n"), name, boot_id,
            mode);
    if (g_str_equal(mode, SNPG_VERIFIER_MANUAL))
        fprintf(stderr, _("%s: its verifier is manual: run 'snpguard attest %s' (waiting %u s)\n"),
                name, name, (guint)timeout_s);

    for (;;) {
        g_auto(SnpgBootVerdict) v = { 0 };
        gint64 now;

        if (!snpg_boot_get_verdict(reg, name, boot_id, &v, &error))
            return FAIL("%s", error->message);
        now = g_get_monotonic_time();
        if (v.verdict != SNPG_VERDICT_NONE) {
            /* Wait for the release record that follows an acceptance. */
            if (v.verdict != SNPG_VERDICT_ACCEPTED || !rec->key_path || v.key_released)
                return report(name, &v, rec->key_path != NULL);
            if (!accepted_at)
                accepted_at = now;
            if (now - accepted_at > RELEASE_GRACE_US)
                return report(name, &v, TRUE);
        }
        if (now >= deadline)
            return FAIL(_("no verdict on '%s' within %u s (boot %s)"), name, (guint)timeout_s,
                        boot_id);
        g_usleep(POLL_US);
    }
}

const SnpgCommand snpg_cmd_start = {
    "start", N_("Start a managed VM and wait for its attestation"), run,
};
