/* Attesting a registered VM (see vmattest.h). */
#include "config.h"

#include <string.h>

#include <glib/gi18n.h>
#include <libxml/xpath.h>

#include "attest.h"
#include "session.h"

#include "autocleanups.h"
#include "domain.h"
#include "file.h"
#include "hex.h"
#include "identity.h"
#include "image.h"
#include "keystore.h"
#include "policy.h"
#include "vmattest.h"

/* A trust root or identity is a few KiB of PEM. */
#define PEM_MAX (64 * 1024)

void
snpg_vm_attest_outcome_clear(SnpgVmAttestOutcome *outcome)
{
    g_clear_pointer(&outcome->result, snpg_verify_result_free);
    g_clear_pointer(&outcome->error, g_free);
    memset(outcome, 0, sizeof(*outcome));
}

char *
snpg_vm_attest_channel_socket(xmlDoc *live, GError **error)
{
    g_autoptr(xmlXPathContext) ctx = xmlXPathNewContext(live);
    g_autoptr(xmlXPathObject) obj = NULL;

    if (ctx)
        obj = xmlXPathEvalExpression(BAD_CAST "string(/domain/devices/channel[@type='unix']"
                                     "[target/@name='org.snpguard.attest.0']/source/@path)", ctx);
    if (!obj || obj->type != XPATH_STRING || !obj->stringval || obj->stringval[0] != '/') {
        g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_INVALID,
                    _("the running domain has no unix channel org.snpguard.attest.0 with a "
                      "socket path"));
        return NULL;
    }
    return g_strdup((const char *)obj->stringval);
}

/* The digest a VM's input role recorded at define, or NULL. */
static const char *
input_digest(const SnpgVmRecord *rec, const char *role)
{
    for (guint i = 0; rec->inputs && i < rec->inputs->len; i++) {
        const SnpgVmInput *in = g_ptr_array_index(rec->inputs, i);

        if (g_str_equal(in->role, role))
            return in->digest;
    }
    return NULL;
}

/* The simulator root this VM (only) trusts: the file must still hold the
 * bytes define recorded, so swapping the file trusts nothing new. */
static gboolean
load_trust_root(SnpgAttestPolicy *policy, const SnpgVmRecord *rec, GError **error)
{
    const char *path = snpg_vm_record_get_setting(rec, SNPG_VM_SETTING_TRUST_ROOT);
    const char *want = input_digest(rec, SNPG_VM_SETTING_TRUST_ROOT);
    g_autoptr(GBytes) pem = NULL;
    g_autofree char *have = NULL;

    if (!path)
        return TRUE;
    if (!want) {
        g_set_error(error, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_INVALID,
                    _("VM '%s' names a trust root but no digest of it"), rec->name);
        return FALSE;
    }
    if (!(pem = snpg_file_read(path, PEM_MAX, error)))
        return FALSE;
    have = g_compute_checksum_for_bytes(G_CHECKSUM_SHA256, pem);
    if (g_ascii_strcasecmp(have, want) != 0) {
        g_set_error(error, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_INVALID,
                    _("the trust root '%s' of VM '%s' changed since it was defined"), path,
                    rec->name);
        return FALSE;
    }
    return snpg_attest_policy_set_trust_root(policy, pem, error);
}

/* The LUKS2 header facts 'snpguard image encrypt' recorded for the VM: the
 * agent checks the root's header against them before it uses the key. */
static gboolean
load_luks_expectations(SnpgKeyPayload *payload, const SnpgVmRecord *rec, GError **error)
{
    const char *cipher = snpg_vm_record_get_setting(rec, SNPG_VM_SETTING_LUKS_CIPHER);
    const char *bits = snpg_vm_record_get_setting(rec, SNPG_VM_SETTING_LUKS_KEY_BITS);
    const char *sha = snpg_vm_record_get_setting(rec, SNPG_VM_SETTING_LUKS_HEADER_SHA256);
    guint64 key_bits = 0;

    if (!cipher && !bits && !sha)
        return TRUE;
    if (!cipher || !bits || !sha || strlen(cipher) > 64 ||
        !g_ascii_string_to_unsigned(bits, 10, 8, 4096, &key_bits, NULL) ||
        !snpg_hex_decode(SNPG_VM_SETTING_LUKS_HEADER_SHA256, sha, payload->luks_header_sha256,
                         sizeof(payload->luks_header_sha256), NULL)) {
        g_set_error(error, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_INVALID,
                    _("VM '%s' has incomplete or malformed LUKS2 header facts (run snpguard "
                      "image encrypt again)"), rec->name);
        return FALSE;
    }
    payload->luks_cipher = g_strdup(cipher);
    payload->luks_key_bits = (guint32)key_bits;
    payload->has_luks_header_sha256 = TRUE;
    return TRUE;
}

static void
record(SnpgRegistry *reg, SnpgEvent *ev)
{
    g_autoptr(GError) error = NULL;

    if (!snpg_registry_add_event(reg, ev, &error))
        g_warning("cannot record the %s of '%s': %s", snpg_event_kind_to_string(ev->kind),
                  ev->vm, error->message);
}

static void
record_error(SnpgRegistry *reg, const SnpgVmRecord *rec, const char *boot_id,
             const char *message)
{
    g_autoptr(SnpgEvent) ev = snpg_event_new(SNPG_EVENT_ERROR, rec->name);

    ev->boot_id = g_strdup(boot_id);
    ev->verdict = SNPG_VERDICT_ERROR;
    ev->detail = g_utf8_make_valid(message, MIN(strlen(message), 1000));
    record(reg, ev);
}

struct _SnpgVmVerifier {
    char *vm;
    char *boot_id;
    SnpgAttestPolicy *policy;
    SnpgKeyPayload payload;
    EVP_PKEY *identity;
    SnpgAttestContext actx;
    SnpgVerifierConfig config;
};

void
snpg_vm_verifier_free(SnpgVmVerifier *v)
{
    if (!v)
        return;
    snpg_attest_context_clear(&v->actx);
    snpg_key_payload_clear(&v->payload);
    g_clear_pointer(&v->identity, EVP_PKEY_free);
    g_clear_pointer(&v->policy, snpg_attest_policy_free);
    g_free(v->vm);
    g_free(v->boot_id);
    g_free(v);
}

SnpgVmVerifier *
snpg_vm_verifier_new(SnpgRegistry *reg, const SnpgVmRecord *rec, const char *boot_id,
                     gint64 read_timeout_us, GError **error)
{
    g_autoptr(SnpgVmVerifier) v = g_new0(SnpgVmVerifier, 1);
    g_autoptr(GError) local = NULL;
    const char *identity_path = snpg_vm_record_get_setting(rec, SNPG_VM_SETTING_VERIFIER_KEY);

    v->vm = g_strdup(rec->name);
    v->boot_id = g_strdup(boot_id);
    v->policy = snpg_attest_policy_new();
    if ((rec->reference &&
         !snpg_attest_policy_load_reference_data(v->policy, rec->reference,
                                                 strlen(rec->reference), &local)) ||
        !load_trust_root(v->policy, rec, &local) ||
        (identity_path && !(v->identity = snpg_identity_load(identity_path, &local))) ||
        (rec->key_path &&
         !(v->payload.disk_key = snpg_keystore_load(snpg_registry_state_dir(reg), rec->key_path,
                                                    &local))) ||
        (v->payload.disk_key && !load_luks_expectations(&v->payload, rec, &local))) {
        record_error(reg, rec, boot_id, local->message);
        g_propagate_error(error, g_steal_pointer(&local));
        return NULL;
    }
    v->actx.policy = v->policy;
    v->config.verify = snpg_attest_verify;
    v->config.user_data = &v->actx;
    v->config.payload = v->payload.disk_key ? &v->payload : NULL;
    v->config.identity = v->identity;
    v->config.read_timeout_us = read_timeout_us;
    return g_steal_pointer(&v);
}

const SnpgVerifierConfig *
snpg_vm_verifier_config(const SnpgVmVerifier *v)
{
    return &v->config;
}

void
snpg_vm_verifier_finish(SnpgVmVerifier *v, SnpgRegistry *reg, gboolean reached,
                        const SnpgVerifierResult *session, const GError *session_error,
                        SnpgVmAttestOutcome *outcome)
{
    g_autoptr(SnpgEvent) ev = NULL;

    memset(outcome, 0, sizeof(*outcome));
    outcome->key_len = v->payload.disk_key ? snpg_secret_len(v->payload.disk_key) : 0;
    outcome->result = g_steal_pointer(&v->actx.result);
    outcome->key_sent = session->key_sent;
    outcome->key_confirmed = session->key_confirmed;
    if (!reached)
        outcome->verdict = g_error_matches(session_error, SNPG_PROTO_ERROR,
                                           SNPG_PROTO_ERROR_TIMEOUT) ? SNPG_VERDICT_TIMEOUT
                                                                     : SNPG_VERDICT_ERROR;
    else if (session->verdict == SNPG_SESSION_VERDICT_ACCEPTED)
        outcome->verdict = SNPG_VERDICT_ACCEPTED;
    else
        outcome->verdict = SNPG_VERDICT_REJECTED;
    if (session_error)
        outcome->error = g_strdup(session_error->message);
    else if (session->key_sent && !session->key_confirmed)
        outcome->error = g_strdup(_("the agent did not confirm the key"));

    ev = snpg_event_new(SNPG_EVENT_ATTESTATION, v->vm);
    ev->boot_id = g_strdup(v->boot_id);
    ev->verdict = outcome->verdict;
    if (outcome->result) {
        const SnpgReport *r = outcome->result->report;

        snpg_event_set_verify_reasons(ev, outcome->result);
        if (r) {
            ev->measurement = snpg_hex_encode(r->measurement, sizeof(r->measurement));
            ev->has_tcb = TRUE;
            ev->tcb = r->reported_tcb;
            ev->chip_id = snpg_hex_encode(r->chip_id, sizeof(r->chip_id));
        }
    }
    if (session->report && g_bytes_get_size(session->report) <= SNPG_REGISTRY_REPORT_MAX)
        ev->report = g_bytes_ref(session->report);
    if (outcome->error)
        ev->detail = g_utf8_make_valid(outcome->error, MIN(strlen(outcome->error), 1000));
    record(reg, ev);

    if (v->payload.disk_key && (session->key_sent || outcome->verdict == SNPG_VERDICT_ACCEPTED)) {
        g_autoptr(SnpgEvent) kr = snpg_event_new(SNPG_EVENT_KEY_RELEASE, v->vm);

        kr->boot_id = g_strdup(v->boot_id);
        kr->verdict = session->key_confirmed ? SNPG_VERDICT_ACCEPTED : SNPG_VERDICT_ERROR;
        kr->detail = g_strdup(session->key_confirmed ? "released, receipt confirmed"
                                                     : "released, not confirmed");
        /* Why the agent did not use the key (e.g. luks-header: it refused
         * the root's LUKS2 header), with its text. */
        if (!session->key_confirmed && session->delivery_refusal.n_reasons > 0) {
            g_autoptr(GStrvBuilder) names = g_strv_builder_new();
            const char *text = session->delivery_refusal.text;

            for (guint i = 0; i < session->delivery_refusal.n_reasons; i++) {
                const char *name = snpg_proto_reason_to_string(session->delivery_refusal.reasons[i]);
                g_autofree char *code = g_strdup_printf("agent-%u", session->delivery_refusal.reasons[i]);

                g_strv_builder_add(names, name ? name : code);
            }
            kr->reasons = g_strv_builder_end(names);
            if (text && *text) {
                g_free(kr->detail);
                kr->detail = g_strdup_printf("released, not confirmed: %.900s", text);
            }
        }
        record(reg, kr);
    }
}

gboolean
snpg_vm_attest(SnpgRegistry *reg, const SnpgVmRecord *rec, const char *boot_id, int fd,
               gint64 read_timeout_us,
               SnpgVmAttestOutcome *outcome, GError **error)
{
    g_autoptr(SnpgVmVerifier) v = NULL;
    g_auto(SnpgVerifierResult) session = { 0 };
    g_autoptr(GError) local = NULL;
    gboolean reached;

    memset(outcome, 0, sizeof(*outcome));
    if (!(v = snpg_vm_verifier_new(reg, rec, boot_id, read_timeout_us, error)))
        return FALSE;
    reached = snpg_session_run_verifier(fd, snpg_vm_verifier_config(v), &session, &local);
    snpg_vm_verifier_finish(v, reg, reached, &session, local, outcome);
    return TRUE;
}
