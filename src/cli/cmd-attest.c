/* snpguard attest: one verification session with a guest agent; the disk
 * key leaves only sealed to the key a verified, fresh report binds. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gi18n.h>

#include "attest.h"
#include "attest-vm.h"
#include "autocleanups.h"
#include "cli-util.h"
#include "identity.h"
#include "command.h"
#include "secret.h"
#include "session.h"
#include "transport.h"
#include "verify-args.h"

/* "delivery(1104) 'text'": the agent's reasons for not taking a released
 * key. Its text comes from the guest: escaped before it reaches a terminal. */
static char *
describe_refusal(const SnpgRefusal *refusal)
{
    GString *out = g_string_new(NULL);

    for (guint i = 0; i < refusal->n_reasons; i++) {
        const char *name = snpg_proto_reason_to_string(refusal->reasons[i]);

        g_string_append_printf(out, "%s%s(%u)", i ? ", " : "", name ? name : "unknown",
                               refusal->reasons[i]);
    }
    if (refusal->text && *refusal->text) {
        g_autofree char *text = g_strescape(refusal->text, NULL);

        g_string_append_printf(out, " '%s'", text);
    }
    return g_string_free(out, FALSE);
}

static void
print_json(const SnpgVerifyResult *res, const SnpgVerifierResult *session,
           const char *error)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(JsonNode) root = NULL;

    json_builder_begin_object(b);
    if (res) {
        snpg_verify_result_add_json(b, res);
    } else {
        snpg_cli_json_add_string(b, "verdict", "error");
    }
    json_builder_set_member_name(b, "key_released");
    json_builder_add_boolean_value(b, session->key_sent);
    json_builder_set_member_name(b, "key_confirmed");
    json_builder_add_boolean_value(b, session->key_confirmed);
    if (session->delivery_refusal.n_reasons) {
        json_builder_set_member_name(b, "delivery_refused");
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "reasons");
        json_builder_begin_array(b);
        for (guint i = 0; i < session->delivery_refusal.n_reasons; i++) {
            guint16 code = session->delivery_refusal.reasons[i];
            const char *name = snpg_proto_reason_to_string(code);

            json_builder_begin_object(b);
            json_builder_set_member_name(b, "code");
            json_builder_add_int_value(b, code);
            snpg_cli_json_add_string(b, "name", name ? name : "unknown");
            json_builder_end_object(b);
        }
        json_builder_end_array(b);
        if (session->delivery_refusal.text)
            snpg_cli_json_add_string(b, "text", session->delivery_refusal.text);
        json_builder_end_object(b);
    }
    if (error)
        snpg_cli_json_add_string(b, "error", error);
    json_builder_end_object(b);
    root = json_builder_get_root(b);
    snpg_cli_print_json(root);
}

static int
run(int argc, char **argv)
{
    g_auto(SnpgVerifyArgs) a = SNPG_VERIFY_ARGS_INIT;
    g_autofree char *connect = NULL, *key_file = NULL, *luks_cipher = NULL, *kex = NULL;
    g_autofree char *verifier_key = NULL, *state_dir = NULL;
    int luks_key_bits = 0;
    double timeout = 30;
    const GOptionEntry entries[] = {
        { "connect", 'c', 0, G_OPTION_ARG_STRING, &connect,
          N_("Where the agent waits: unix:PATH; with NAME: the libvirt URI (default "
             "qemu:///system)"), N_("ADDRESS") },
        { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_dir,
          N_("With NAME: the state directory (default $SNPGUARD_STATE_DIR or "
             "/var/lib/snpguard)"), N_("DIR") },
        { "key-file", 'k', 0, G_OPTION_ARG_FILENAME, &key_file,
          N_("The disk key to release on success (1 to 512 bytes); without it the "
             "session only attests (integrity-only VMs)"), N_("FILE") },
        { "luks-cipher", 0, 0, G_OPTION_ARG_STRING, &luks_cipher,
          N_("The LUKS2 cipher the agent must find in the disk header before it uses the key "
             "(an agent that cannot check it refuses the key)"), N_("SPEC") },
        { "luks-key-bits", 0, 0, G_OPTION_ARG_INT, &luks_key_bits,
          N_("The LUKS2 volume key size the agent must find, in bits (an agent that cannot "
             "check it refuses the key)"), N_("N") },
        { "verifier-key", 0, 0, G_OPTION_ARG_FILENAME, &verifier_key,
          N_("Sign the released key with this identity (see 'snpguard verifier-key'); guests "
             "that pin it accept keys only from it"), N_("FILE") },
        { "kex", 0, 0, G_OPTION_ARG_STRING, &kex,
          N_("Key agreements to offer: x25519, p384 or both (default both)"), N_("NAME") },
        { "timeout", 't', 0, G_OPTION_ARG_DOUBLE, &timeout,
          N_("Seconds to wait for the connection and for each message of the agent (default 30)"),
          N_("S") },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx = snpg_cli_context_new("attest", "[NAME]",
        _("Attest a guest through its agent and release the disk key to it. With NAME, a "
          "running VM snpguard manages: its reference values, trust root and key come from the "
          "registry, its channel from libvirt, and the outcome is recorded. Otherwise the report must "
          "verify against AMD's chain (or --trust-root) and every reference value, and its "
          "REPORT_DATA must bind this session's fresh nonce and the agent's key. The key "
          "travels sealed to that key only.\n\n"
          "Exit status: 0 key delivered (or attested, without --key-file), 3 rejected "
          "(reasons on stdout), 1 transport or protocol error, 2 usage."),
        entries);
    g_autoptr(SnpgAttestPolicy) policy = NULL;
    g_autoptr(GError) error = NULL;
    g_auto(SnpgKeyPayload) payload = { 0 };
    g_auto(SnpgVerifierResult) result = { 0 };
    g_autoptr(EVP_PKEY) identity = NULL;
    SnpgAttestContext actx = { 0 };
    SnpgVerifierConfig cfg = { .verify = snpg_attest_verify };
    gboolean ok;
    int rc, fd;

    snpg_verify_args_add_entries(ctx, &a, FALSE);
    if (!snpg_cli_parse(ctx, &argc, &argv))
        return SNPG_EXIT_USAGE;
    if (argc > 2) {
        snpg_cli_error(_("unexpected argument '%s'"), argv[2]);
        return SNPG_EXIT_USAGE;
    }
    if (timeout <= 0 || timeout > 86400) {
        snpg_cli_error(_("--timeout takes more than 0 and up to 86400 seconds, not '%g'"), timeout);
        return SNPG_EXIT_USAGE;
    }
    if (argc == 2) {
        /* Everything but the transport comes from the registry. */
        if (key_file || verifier_key || luks_cipher || luks_key_bits || kex) {
            snpg_cli_error(_("with a VM NAME the key, verifier identity and key agreement come "
                             "from the registry"));
            return SNPG_EXIT_USAGE;
        }
        return snpg_cli_attest_vm(argv[1], connect, state_dir, timeout, a.json);
    }
    if (state_dir) {
        snpg_cli_error(_("--state-dir applies to attest NAME"));
        return SNPG_EXIT_USAGE;
    }
    if (!connect) {
        snpg_cli_error(_("attest needs --connect unix:PATH"));
        return SNPG_EXIT_USAGE;
    }
    if (timeout <= 0 || timeout > 86400) {
        snpg_cli_error(_("--timeout takes more than 0 and up to 86400 seconds, not '%g'"), timeout);
        return SNPG_EXIT_USAGE;
    }
    if (luks_key_bits < 0) {
        snpg_cli_error(_("--luks-key-bits takes a positive size, not '%d'"), luks_key_bits);
        return SNPG_EXIT_USAGE;
    }
    if (!kex || g_str_equal(kex, "both"))
        cfg.kex_mask = SNPG_KEX_BIT(SNPG_KEX_X25519) | SNPG_KEX_BIT(SNPG_KEX_P384);
    else if (g_str_equal(kex, "x25519"))
        cfg.kex_mask = SNPG_KEX_BIT(SNPG_KEX_X25519);
    else if (g_str_equal(kex, "p384"))
        cfg.kex_mask = SNPG_KEX_BIT(SNPG_KEX_P384);
    else {
        snpg_cli_error(_("unknown key agreement '%s' (x25519, p384 or both)"), kex);
        return SNPG_EXIT_USAGE;
    }
    if (verifier_key && !(identity = snpg_identity_load(verifier_key, &error))) {
        snpg_cli_error("%s", error->message);
        return SNPG_EXIT_ERROR;
    }
    /* The leaf: --cert, else the guest's extended-report table, else the
     * certificate cache (--cache, $SNPGUARD_CERT_CACHE or the default). */
    if ((rc = snpg_verify_args_policy(&a, &policy)) != SNPG_EXIT_OK)
        return rc;
    if (key_file) {
        if (!(payload.disk_key = snpg_secret_new_from_file(key_file, &error))) {
            snpg_cli_error("%s", error->message);
            return SNPG_EXIT_ERROR;
        }
        if (snpg_secret_len(payload.disk_key) > SNPG_PROTO_DISK_KEY_MAX) {
            snpg_cli_error(_("the key in '%s' is longer than %d bytes"), key_file,
                           SNPG_PROTO_DISK_KEY_MAX);
            return SNPG_EXIT_ERROR;
        }
        payload.luks_cipher = g_strdup(luks_cipher);
        payload.luks_key_bits = (guint32)luks_key_bits;
    } else if (luks_cipher || luks_key_bits) {
        snpg_cli_error(_("--luks-cipher and --luks-key-bits describe the key of --key-file"));
        return SNPG_EXIT_USAGE;
    }
    if ((fd = snpg_transport_connect(connect,
                                     g_get_monotonic_time() + (gint64)(timeout * G_USEC_PER_SEC),
                                     &error)) < 0) {
        if (a.json)
            print_json(NULL, &result, error->message);
        snpg_cli_error("%s", error->message);
        return SNPG_EXIT_ERROR;
    }
    signal(SIGPIPE, SIG_IGN);
    actx = (SnpgAttestContext){ .policy = policy };
    cfg.user_data = &actx;
    cfg.payload = payload.disk_key ? &payload : NULL;
    cfg.identity = identity;
    cfg.read_timeout_us = (gint64)(timeout * G_USEC_PER_SEC);
    ok = snpg_session_run_verifier(fd, &cfg, &result, &error);
    close(fd);

    /* Released but not confirmed: the agent said why (ABORT after KEY), or
     * the session broke after KEY (a lost DONE). Either way no success. */
    if ((result.key_sent && !result.key_confirmed) || result.delivery_refusal.n_reasons) {
        g_autofree char *why = result.delivery_refusal.n_reasons
            ? describe_refusal(&result.delivery_refusal)
            : g_strdup(error ? error->message : _("no confirmation"));

        if (a.json)
            print_json(actx.result, &result, error ? error->message : why);
        /* Attestation only (no key): the agent refused the verifier's answer
         * itself, e.g. a KEY signed by a verifier it does not pin. */
        if (result.key_sent)
            snpg_cli_error(_("key released but not confirmed: %s"), why);
        else
            snpg_cli_error(_("the agent did not accept the verifier's answer: %s"), why);
        snpg_attest_context_clear(&actx);
        return SNPG_EXIT_ERROR;
    }
    if (!ok) {
        if (a.json)
            print_json(actx.result, &result, error->message);
        snpg_cli_error("%s", error->message);
        snpg_attest_context_clear(&actx);
        return SNPG_EXIT_ERROR;
    }
    if (a.json) {
        print_json(actx.result, &result, NULL);
    } else if (actx.result) {
        snpg_verify_result_print(actx.result);
        if (result.key_sent)
            printf(_("key released: %zu bytes, sealed to the attested VM, receipt confirmed\n"),
                   snpg_secret_len(payload.disk_key));
    }
    rc = result.verdict == SNPG_SESSION_VERDICT_ACCEPTED ? SNPG_EXIT_OK : SNPG_EXIT_REJECTED;
    snpg_attest_context_clear(&actx);
    return rc;
}

const SnpgCommand snpg_cmd_attest = {
    "attest", N_("Attest a guest through its agent and release its disk key"), run,
};
