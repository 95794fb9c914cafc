/* 'snpguard watch' (see watch.h). */
#include "config.h"

#include <signal.h>
#include <string.h>

#include <glib-unix.h>
#include <glib/gi18n.h>

#include "boot.h"
#include "virt-api.h"
#include "channel.h"
#include "domain.h"
#include "virt.h"
#include "gate.h"
#include "registry.h"
#include "vmattest.h"
#include "watch.h"

#define URI_DEFAULT "qemu:///system"
/* Keepalive: a probe after 5 s of silence, the connection given up after 3
 * unanswered ones (libvirtd restarting closes the socket sooner). */
#define KEEPALIVE_INTERVAL 5
#define KEEPALIVE_COUNT 3
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
/* Between two attempts while a guest's agent is not up yet. */
#define RETRY_MS 1000
/* Sessions per boot that may end in evidence bound to another nonce. */
#define STALE_RETRIES_MAX 3

typedef struct Job Job;

struct _SnpgWatch {
    SnpgWatchOptions opts;
    char *uri;
    SnpgRegistry *reg;
    virConnectPtr conn;
    int lifecycle_id;
    int reconnect_timer;
    int backoff_ms;
    gboolean quit;
    guint signal_sources[2];
    GHashTable *jobs;           /* UUID -> Job: sessions running */
    GHashTable *boots;          /* UUID -> boot id of managed watch-mode domains running */
};

struct Job {
    SnpgWatch *w;
    char *uuid;
    char *boot_id;
    virDomainPtr dom;
    SnpgVmRecord *rec;
    SnpgVmVerifier *verifier;
    SnpgChannel *channel;
    gint64 started_us;          /* when this verifier learnt of the boot */
    gint64 deadline;            /* the agent window */
    int retry_timer;
    guint attempts;
};

static gboolean watch_connect(SnpgWatch *w, GError **error);
static void job_attempt(Job *job);

static void
silence_libvirt(void *data G_GNUC_UNUSED, virErrorPtr err G_GNUC_UNUSED)
{
    /* Errors are read with virGetLastErrorMessage and logged once. */
}

static void
job_free(Job *job)
{
    if (job->retry_timer >= 0)
        VIR(EventRemoveTimeout)(job->retry_timer);
    g_clear_pointer(&job->channel, snpg_channel_free);
    g_clear_pointer(&job->verifier, snpg_vm_verifier_free);
    g_clear_pointer(&job->rec, snpg_vm_record_free);
    if (job->dom)
        VIR(DomainFree)(job->dom);
    g_free(job->uuid);
    g_free(job->boot_id);
    g_free(job);
}

/* The job's session ended with outcome (reached or not): record, act, drop. */
static void
job_conclude(Job *job, gboolean reached, const SnpgVerifierResult *result, const GError *error)
{
    SnpgWatch *w = job->w;
    g_auto(SnpgVmAttestOutcome) outcome = { 0 };
    SnpgVerifierResult empty = { 0 };

    if (!job->verifier) {
        g_autoptr(GError) local = NULL;

        if (!(job->verifier = snpg_vm_verifier_new(w->reg, job->rec, job->boot_id, 1, &local))) {
            snpg_boot_log(G_LOG_LEVEL_WARNING, job->rec->name, job->boot_id, SNPG_VERDICT_ERROR,
                          "%s", local->message);
            snpg_boot_apply_failure_action(w->reg, job->rec, job->dom, job->boot_id,
                                           SNPG_VERDICT_ERROR);
            g_hash_table_remove(w->jobs, job->uuid);
            return;
        }
    }
    snpg_vm_verifier_finish(job->verifier, w->reg, reached, result ? result : &empty, error,
                            &outcome);
    snpg_boot_log(outcome.verdict == SNPG_VERDICT_ACCEPTED ? G_LOG_LEVEL_MESSAGE
                                                           : G_LOG_LEVEL_WARNING,
                  job->rec->name, job->boot_id, outcome.verdict,
                  "attestation %s after %u attempt(s)%s%s%s",
                  snpg_verdict_to_string(outcome.verdict), job->attempts,
                  outcome.key_confirmed ? ", key delivered and confirmed" : "",
                  outcome.error ? ": " : "", outcome.error ? outcome.error : "");
    if (w->opts.on_verdict)
        w->opts.on_verdict(job->rec->name, job->boot_id, snpg_verdict_to_string(outcome.verdict),
                           job->started_us, g_get_monotonic_time(), w->opts.user_data);
    /* A domain that stopped mid-session has nothing left to act on. */
    if (outcome.verdict != SNPG_VERDICT_ACCEPTED && VIR(DomainIsActive)(job->dom) == 1)
        snpg_boot_apply_failure_action(w->reg, job->rec, job->dom, job->boot_id,
                                       outcome.verdict);
    g_hash_table_remove(w->jobs, job->uuid);
}

static void
retry_cb(int timer G_GNUC_UNUSED, void *opaque)
{
    Job *job = opaque;

    VIR(EventRemoveTimeout)(job->retry_timer);
    job->retry_timer = -1;
    job_attempt(job);
}

/* Whether to try again: the agent never spoke, the stream closed, the
 * domain still runs and its window is not over. */
static gboolean
job_should_retry(Job *job, guint64 bytes_received, const GError *error)
{
    return bytes_received == 0 &&
           g_get_monotonic_time() + RETRY_MS * 1000 < job->deadline &&
           !g_error_matches(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_TIMEOUT) &&
           VIR(DomainIsActive)(job->dom) == 1;
}

static void
job_schedule_retry(Job *job)
{
    g_clear_pointer(&job->channel, snpg_channel_free);
    g_clear_pointer(&job->verifier, snpg_vm_verifier_free);
    job->retry_timer = VIR(EventAddTimeout)(RETRY_MS, retry_cb, job, NULL);
}

static void
channel_done(SnpgChannel *channel G_GNUC_UNUSED, const SnpgChannelOutcome *outcome,
             gpointer user_data)
{
    Job *job = user_data;

    if (outcome->reached && outcome->first_byte_us) {
        /* The host's share: from the start event to HELLO on its way, and
         * the time spent verifying and sealing; the rest is the guest's
         * boot, its agent and the transport. */
        gint64 to_hello = outcome->hello_sent_us - job->started_us;

        snpg_boot_log(G_LOG_LEVEL_INFO, job->rec->name, job->boot_id, SNPG_VERDICT_NONE,
                      "timing: host overhead %.1f ms (start event to first message %.1f ms, "
                      "session %.1f ms); agent up after %.2f s; verdict after %.2f s",
                      (to_hello + outcome->host_us) / 1000.0, to_hello / 1000.0,
                      outcome->host_us / 1000.0,
                      (outcome->first_byte_us - job->started_us) / 1e6,
                      (g_get_monotonic_time() - job->started_us) / 1e6);
    }
    /* Evidence bound to another nonce and nothing else wrong: the agent
     * answered a HELLO of a session that died with the connection (libvirtd
     * restarted after the agent read it). A fresh session settles it; a
     * host replaying old evidence gains nothing but a retry. */
    if (outcome->reached && outcome->result->verdict == SNPG_SESSION_VERDICT_REJECTED &&
        outcome->result->refusal.n_reasons == 1 &&
        outcome->result->refusal.reasons[0] == SNPG_VERIFY_REASON_REPORT_DATA &&
        job->attempts < STALE_RETRIES_MAX && !outcome->result->key_sent &&
        g_get_monotonic_time() + RETRY_MS * 1000 < job->deadline) {
        snpg_boot_log(G_LOG_LEVEL_MESSAGE, job->rec->name, job->boot_id, SNPG_VERDICT_NONE,
                      "evidence bound to an earlier session's nonce, trying again");
        job_schedule_retry(job);
        return;
    }
    if (!outcome->reached && job_should_retry(job, outcome->bytes_received, outcome->error)) {
        snpg_boot_log(G_LOG_LEVEL_INFO, job->rec->name, job->boot_id, SNPG_VERDICT_NONE,
                      "the agent is not ready (%s), trying again", outcome->error->message);
        job_schedule_retry(job);
        return;
    }
    job_conclude(job, outcome->reached, outcome->result, outcome->error);
}

static void
job_attempt(Job *job)
{
    SnpgWatch *w = job->w;
    g_autoptr(GError) error = NULL;
    gint64 remaining = job->deadline - g_get_monotonic_time();

    job->attempts++;
    if (!(job->verifier = snpg_vm_verifier_new(w->reg, job->rec, job->boot_id,
                                               MAX(remaining, 1), &error))) {
        /* Recorded as an "error" event; the VM cannot be attested. */
        snpg_boot_log(G_LOG_LEVEL_WARNING, job->rec->name, job->boot_id, SNPG_VERDICT_ERROR,
                      "%s", error->message);
        snpg_boot_apply_failure_action(w->reg, job->rec, job->dom, job->boot_id,
                                       SNPG_VERDICT_ERROR);
        g_hash_table_remove(w->jobs, job->uuid);
        return;
    }
    job->channel = snpg_channel_open(job->dom, NULL, snpg_vm_verifier_config(job->verifier),
                                     channel_done, job, &error);
    if (!job->channel) {
        if (job_should_retry(job, 0, error)) {
            job_schedule_retry(job);
            return;
        }
        job_conclude(job, FALSE, NULL, error);
    }
}

/* A domain that runs: attest it if it is managed, its verifier is watch,
 * and (catch_up) its current boot has no verdict yet. */
static void
consider_domain(SnpgWatch *w, virDomainPtr dom, gboolean catch_up)
{
    char uuid[VIR_UUID_STRING_BUFLEN];
    g_autofree char *xml = NULL, *boot_id = NULL;
    g_autoptr(xmlDoc) doc = NULL;
    g_autoptr(SnpgVmRecord) rec = NULL;
    g_autoptr(GError) error = NULL;
    SnpgBootState state = { 0 };
    const char *name = VIR(DomainGetName)(dom);
    Job *job;

    if (VIR(DomainGetUUIDString)(dom, uuid) < 0 || g_hash_table_contains(w->jobs, uuid))
        return;
    if (!(xml = VIR(DomainGetXMLDesc)(dom, 0)) ||
        !(doc = snpg_domain_parse(xml, strlen(xml), name, &error)) ||
        !snpg_gate_domain_is_managed(doc))
        return;     /* unmanaged (or gone): never touched */
    if (!(rec = snpg_registry_get_vm(w->reg, name, &error))) {
        g_debug("domain '%s' carries snpguard metadata but is not in this registry: %s", name,
                error->message);
        return;
    }
    if (!g_str_equal(snpg_boot_verifier_mode(rec), SNPG_VERIFIER_WATCH))
        return;
    if (rec->uuid && g_ascii_strcasecmp(rec->uuid, uuid) != 0) {
        snpg_boot_log(G_LOG_LEVEL_WARNING, name, NULL, SNPG_VERDICT_NONE,
                      "the running domain's UUID %s is not the registered one, ignoring", uuid);
        return;
    }
    if (!(boot_id = snpg_boot_id_of_domain(dom)))
        return;
    if (!snpg_boot_get_state(w->reg, name, boot_id, &state, &error)) {
        snpg_boot_log(G_LOG_LEVEL_WARNING, name, boot_id, SNPG_VERDICT_NONE, "%s",
                      error->message);
        return;
    }
    g_hash_table_replace(w->boots, g_strdup(uuid), g_strdup(boot_id));
    if (catch_up && state.has_verdict)
        return;
    if (!state.started)
        snpg_boot_record(w->reg, name, boot_id, SNPG_EVENT_START,
                         catch_up ? "verifier: snpguard watch (found running)"
                                  : "verifier: snpguard watch");
    snpg_boot_log(G_LOG_LEVEL_INFO, name, boot_id, SNPG_VERDICT_NONE, "attesting%s",
                  catch_up ? " (started while the verifier was away)" : "");
    job = g_new0(Job, 1);
    job->w = w;
    job->uuid = g_strdup(uuid);
    job->boot_id = g_steal_pointer(&boot_id);
    job->dom = dom;
    VIR(DomainRef)(dom);
    job->rec = g_steal_pointer(&rec);
    job->retry_timer = -1;
    job->started_us = g_get_monotonic_time();
    job->deadline = job->started_us + (w->opts.agent_window_us > 0
                                           ? w->opts.agent_window_us
                                           : snpg_boot_agent_window_us(job->rec));
    g_hash_table_replace(w->jobs, job->uuid, job);
    job_attempt(job);
}

static void
domain_stopped(SnpgWatch *w, virDomainPtr dom)
{
    char uuid[VIR_UUID_STRING_BUFLEN];
    g_autofree char *boot_id = NULL;
    gpointer key = NULL, value = NULL;

    if (VIR(DomainGetUUIDString)(dom, uuid) < 0 ||
        !g_hash_table_steal_extended(w->boots, uuid, &key, &value))
        return;     /* not a watch-mode boot of ours */
    g_free(key);
    boot_id = value;
    /* A session still running ends by itself: its stream reads EOF. */
    snpg_boot_record(w->reg, VIR(DomainGetName)(dom), boot_id, SNPG_EVENT_STOP, "stopped");
    snpg_boot_log(G_LOG_LEVEL_INFO, VIR(DomainGetName)(dom), boot_id, SNPG_VERDICT_NONE,
                  "stopped");
}

static int
lifecycle_cb(virConnectPtr conn G_GNUC_UNUSED, virDomainPtr dom, int event,
             int detail G_GNUC_UNUSED, void *opaque)
{
    SnpgWatch *w = opaque;

    if (event == VIR_DOMAIN_EVENT_STARTED)
        consider_domain(w, dom, FALSE);
    else if (event == VIR_DOMAIN_EVENT_STOPPED)
        domain_stopped(w, dom);
    return 0;
}

/* Every running managed domain whose boot has no verdict: after a
 * (re)connection, boots that started while the verifier was away. */
static void
catch_up(SnpgWatch *w)
{
    virDomainPtr *doms = NULL;
    int n = VIR(ConnectListAllDomains)(w->conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);

    if (n < 0) {
        g_warning("cannot list the running domains: %s", VIR(GetLastErrorMessage)());
        return;
    }
    for (int i = 0; i < n; i++) {
        consider_domain(w, doms[i], TRUE);
        VIR(DomainFree)(doms[i]);
    }
    free(doms);
}

static void
reconnect_cb(int timer G_GNUC_UNUSED, void *opaque)
{
    SnpgWatch *w = opaque;
    g_autoptr(GError) error = NULL;

    VIR(EventRemoveTimeout)(w->reconnect_timer);
    w->reconnect_timer = -1;
    if (watch_connect(w, &error)) {
        g_message("reconnected to %s", w->uri);
        w->backoff_ms = BACKOFF_MIN_MS;
        return;
    }
    g_debug("%s", error->message);
    w->backoff_ms = MIN(w->backoff_ms * 2, BACKOFF_MAX_MS);
    w->reconnect_timer = VIR(EventAddTimeout)(w->backoff_ms, reconnect_cb, w, NULL);
}

/* Drops the connection: sessions on it end without a verdict (their
 * streams are gone; the boots are attested again after reconnecting). */
static void
watch_disconnect(SnpgWatch *w)
{
    g_hash_table_remove_all(w->jobs);
    g_hash_table_remove_all(w->boots);
    if (!w->conn)
        return;
    if (w->lifecycle_id >= 0)
        VIR(ConnectDomainEventDeregisterAny)(w->conn, w->lifecycle_id);
    w->lifecycle_id = -1;
    VIR(ConnectUnregisterCloseCallback)(w->conn, NULL);
    VIR(ConnectClose)(w->conn);
    w->conn = NULL;
}

static void
lost_cb(int timer, void *opaque)
{
    SnpgWatch *w = opaque;

    VIR(EventRemoveTimeout)(timer);
    watch_disconnect(w);
    if (w->reconnect_timer < 0 && !w->quit)
        w->reconnect_timer = VIR(EventAddTimeout)(w->backoff_ms, reconnect_cb, w, NULL);
}

static void
close_cb(virConnectPtr conn G_GNUC_UNUSED, int reason, void *opaque)
{
    g_warning("lost the connection to libvirt (reason %d); reconnecting", reason);
    /* Not inside libvirt's own close callback: from the loop. */
    VIR(EventAddTimeout)(0, lost_cb, opaque, NULL);
}

static gboolean
watch_connect(SnpgWatch *w, GError **error)
{
    virConnectPtr conn = VIR(ConnectOpenAuth)(w->uri, *VIR(ConnectAuthPtrDefault), 0);

    if (!conn) {
        g_set_error(error, SNPG_VIRT_ERROR, SNPG_VIRT_ERROR_CONNECT, _("cannot connect to '%s': %s"),
                    w->uri, VIR(GetLastErrorMessage)());
        return FALSE;
    }
    w->conn = conn;
    /* Local qemu:///system over a unix socket has no keepalive need but
     * accepts it; a remote one must notice a dead peer. */
    if (VIR(ConnectSetKeepAlive)(conn, KEEPALIVE_INTERVAL, KEEPALIVE_COUNT) < 0)
        g_debug("no keepalive on '%s': %s", w->uri, VIR(GetLastErrorMessage)());
    if (VIR(ConnectRegisterCloseCallback)(conn, close_cb, w, NULL) < 0 ||
        (w->lifecycle_id = VIR(ConnectDomainEventRegisterAny)(
             conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE, VIR_DOMAIN_EVENT_CALLBACK(lifecycle_cb),
             w, NULL)) < 0) {
        g_set_error(error, SNPG_VIRT_ERROR, SNPG_VIRT_ERROR_FAILED,
                    _("cannot subscribe to the domain events of '%s': %s"), w->uri,
                    VIR(GetLastErrorMessage)());
        watch_disconnect(w);
        return FALSE;
    }
    catch_up(w);
    return TRUE;
}

static gboolean
on_signal(gpointer user_data)
{
    snpg_watch_quit(user_data);
    return G_SOURCE_CONTINUE;
}

SnpgWatch *
snpg_watch_new(const SnpgWatchOptions *opts, GError **error)
{
    static gsize loop_registered = 0;
    g_autoptr(SnpgWatch) w = NULL;

    if (!snpg_virt_api_load(error))
        return NULL;
    w = g_new0(SnpgWatch, 1);
    if (g_once_init_enter(&loop_registered)) {
        VIR(SetErrorFunc)(NULL, silence_libvirt);
        if (VIR(EventRegisterDefaultImpl)() < 0)
            g_warning("cannot register libvirt's event loop: %s", VIR(GetLastErrorMessage)());
        g_once_init_leave(&loop_registered, 1);
    }
    w->opts = *opts;
    w->uri = g_strdup(opts->uri ? opts->uri : URI_DEFAULT);
    w->opts.uri = w->uri;
    w->lifecycle_id = -1;
    w->reconnect_timer = -1;
    w->backoff_ms = BACKOFF_MIN_MS;
    w->jobs = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)job_free);
    w->boots = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    if (!(w->reg = snpg_registry_open(opts->state_dir, SNPG_REGISTRY_OPEN_DEFAULT, error)))
        return NULL;
    return g_steal_pointer(&w);
}

void
snpg_watch_free(SnpgWatch *w)
{
    if (!w)
        return;
    watch_disconnect(w);
    if (w->reconnect_timer >= 0)
        VIR(EventRemoveTimeout)(w->reconnect_timer);
    for (guint i = 0; i < G_N_ELEMENTS(w->signal_sources); i++)
        if (w->signal_sources[i])
            g_source_remove(w->signal_sources[i]);
    g_hash_table_unref(w->jobs);
    g_hash_table_unref(w->boots);
    g_clear_pointer(&w->reg, snpg_registry_close);
    g_free(w->uri);
    g_free(w);
}

void
snpg_watch_quit(SnpgWatch *w)
{
    w->quit = TRUE;
}

gboolean
snpg_watch_run(SnpgWatch *w, GError **error)
{
    /* libvirt's default event loop iterates GLib's default main context
     * (libvirt >= 6.3), so GLib's signal sources run in it too. */
    w->signal_sources[0] = g_unix_signal_add(SIGTERM, on_signal, w);
    w->signal_sources[1] = g_unix_signal_add(SIGINT, on_signal, w);
    signal(SIGPIPE, SIG_IGN);
    if (!watch_connect(w, error))
        return FALSE;
    g_message("watching %s", w->uri);
    while (!w->quit)
        if (VIR(EventRunDefaultImpl)() < 0)
            g_debug("event loop: %s", VIR(GetLastErrorMessage)());
    /* Sessions still running end without a verdict: the next watch (or
     * attest) finds their boots unverified. */
    watch_disconnect(w);
    return TRUE;
}
