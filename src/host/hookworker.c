/* Hook mode: the detached verifier the hook starts (see hookworker.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gi18n.h>

#include "boot.h"
#include "virt-api.h"
#include "hookworker.h"
#include "registry.h"
#include "statedir.h"
#include "transport.h"
#include "virt.h"
#include "vmattest.h"

/* Between two connection attempts while the guest is not ready. */
#define RETRY_PAUSE_US (G_USEC_PER_SEC / 2)


static void
silence_libvirt(void *data G_GNUC_UNUSED, virErrorPtr err G_GNUC_UNUSED)
{
    /* Errors are read with virGetLastErrorMessage and logged once. */
}

/* The domain of boot_id ("UUID/ID") through libvirt, or NULL. */
static virDomainPtr
lookup_boot_domain(const char *uri, const char *boot_id, virConnectPtr *ret_conn)
{
    g_autofree char *uuid = g_strndup(boot_id, strcspn(boot_id, "/"));
    virConnectPtr conn;
    virDomainPtr dom;

    if (!snpg_virt_api_load(NULL))
        return NULL;
    VIR(SetErrorFunc)(NULL, silence_libvirt);
    if (!(conn = VIR(ConnectOpen)(uri ? uri : SNPG_VIRT_URI_DEFAULT)))
        return NULL;
    if (!(dom = VIR(DomainLookupByUUIDString)(conn, uuid))) {
        VIR(ConnectClose)(conn);
        return NULL;
    }
    *ret_conn = conn;
    return dom;
}

static void
apply_failure_action(SnpgRegistry *reg, const SnpgVmRecord *rec, const char *boot_id,
                     SnpgVerdict verdict)
{
    virConnectPtr conn = NULL;
    virDomainPtr dom = lookup_boot_domain(snpg_vm_record_get_setting(rec, "connect"), boot_id,
                                          &conn);

    if (!dom) {
        g_autoptr(SnpgEvent) ev = snpg_event_new(SNPG_EVENT_FAILURE_ACTION, rec->name);
        g_autoptr(GError) error = NULL;

        const char *why = VIR(GetLastErrorMessage) ? VIR(GetLastErrorMessage)()
                                                   : "libvirt cannot be loaded";

        snpg_boot_log(G_LOG_LEVEL_WARNING, rec->name, boot_id, verdict,
                      "cannot apply the failure action: %s", why);
        ev->boot_id = g_strdup(boot_id);
        ev->verdict = verdict;
        ev->detail = g_strdup_printf("%s: failed: %s",
                                     rec->failure_action ? rec->failure_action : "destroy", why);
        if (!snpg_registry_add_event(reg, ev, &error))
            g_warning("cannot record the failure action: %s", error->message);
        return;
    }
    snpg_boot_apply_failure_action(reg, rec, dom, boot_id, verdict);
    VIR(DomainFree)(dom);
    VIR(ConnectClose)(conn);
}

/* A failure worth another connection: the agent never sent its evidence
 * and the stream closed (QEMU restarted the port, the agent restarted). */
static gboolean
worth_retry(const SnpgVerifierResult *session, const GError *error)
{
    return !session->report && !session->key_sent &&
           (g_error_matches(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_CLOSED) ||
            g_error_matches(error, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_IO));
}

/* The verification callback, timed: the host's share of a session is
 * this (plus sealing the key, a few hundred microseconds); the rest is the
 * guest's boot, its agent and the transport. */
typedef struct {
    SnpgSessionVerifyFunc verify;
    gpointer user_data;
    gint64 spent_us;
} TimedVerify;

static gboolean
timed_verify(GBytes *report, GBytes *certs,
             const guint8 expected_report_data[SNPG_PROTO_REPORT_DATA_LEN],
             SnpgRefusal *ret_refusal, gpointer user_data, GError **error)
{
    TimedVerify *t = user_data;
    gint64 t0 = g_get_monotonic_time();
    gboolean ok = t->verify(report, certs, expected_report_data, ret_refusal, t->user_data,
                            error);

    t->spent_us += g_get_monotonic_time() - t0;
    return ok;
}

int
snpg_hook_worker_run(const char *state_dir, const char *name, const char *socket,
                     const char *boot_id, gint64 started_us)
{
    gint64 connected_us = 0, verify_us = 0;
    g_autoptr(SnpgRegistry) reg = NULL;
    g_autoptr(SnpgVmRecord) rec = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *address = g_strconcat("unix:", socket, NULL);
    g_auto(SnpgVmAttestOutcome) outcome = { 0 };
    gint64 deadline;
    guint attempts = 0;

    if (!(reg = snpg_registry_open(state_dir, SNPG_REGISTRY_OPEN_DEFAULT, &error)) ||
        !(rec = snpg_registry_get_vm(reg, name, &error))) {
        snpg_boot_log(G_LOG_LEVEL_WARNING, name, boot_id, SNPG_VERDICT_NONE, "%s",
                      error->message);
        return 1;
    }
    if (!g_str_equal(snpg_boot_verifier_mode(rec), SNPG_VERIFIER_HOOK))
        return 0;
    snpg_boot_record(reg, name, boot_id, SNPG_EVENT_START, "verifier: hook worker");
    deadline = g_get_monotonic_time() + snpg_boot_agent_window_us(rec);

    for (;;) {
        g_autoptr(SnpgVmVerifier) v = NULL;
        g_auto(SnpgVerifierResult) session = { 0 };
        g_autoptr(GError) local = NULL;
        gboolean reached = FALSE;
        gint64 now = g_get_monotonic_time();
        int fd;

        attempts++;
        fd = snpg_transport_connect(address, deadline, &local);
        if (fd >= 0) {
            if (!(v = snpg_vm_verifier_new(reg, rec, boot_id, MAX(deadline - now, 1), &error))) {
                close(fd);
                snpg_boot_log(G_LOG_LEVEL_WARNING, name, boot_id, SNPG_VERDICT_ERROR, "%s",
                              error->message);
                apply_failure_action(reg, rec, boot_id, SNPG_VERDICT_ERROR);
                return 1;
            }
            {
                SnpgVerifierConfig cfg = *snpg_vm_verifier_config(v);
                TimedVerify tv = { cfg.verify, cfg.user_data, 0 };

                cfg.verify = timed_verify;
                cfg.user_data = &tv;
                connected_us = g_get_monotonic_time();
                reached = snpg_session_run_verifier(fd, &cfg, &session, &local);
                verify_us = tv.spent_us;
            }
            close(fd);
        }
        now = g_get_monotonic_time();
        if (!reached && now + RETRY_PAUSE_US < deadline &&
            (fd < 0 ? g_file_test(socket, G_FILE_TEST_EXISTS) : worth_retry(&session, local))) {
            snpg_boot_log(G_LOG_LEVEL_INFO, name, boot_id, SNPG_VERDICT_NONE,
                          "the agent is not ready (%s), trying again", local->message);
            g_usleep(RETRY_PAUSE_US);
            continue;
        }
        if (!v && !(v = snpg_vm_verifier_new(reg, rec, boot_id, 1, &error))) {
            snpg_boot_log(G_LOG_LEVEL_WARNING, name, boot_id, SNPG_VERDICT_ERROR, "%s",
                          error->message);
            return 1;
        }
        if (fd < 0 && now >= deadline && !g_error_matches(local, SNPG_PROTO_ERROR,
                                                           SNPG_PROTO_ERROR_TIMEOUT)) {
            g_clear_error(&local);
            g_set_error(&local, SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_TIMEOUT,
                        _("the agent did not answer within its window"));
        }
        snpg_vm_verifier_finish(v, reg, reached, &session, local, &outcome);
        break;
    }
    if (connected_us && started_us)
        snpg_boot_log(G_LOG_LEVEL_MESSAGE, name, boot_id, SNPG_VERDICT_NONE,
                      "timing: host overhead %.1f ms (hook to connected channel %.1f ms, "
                      "verification %.1f ms); verdict after %.2f s",
                      (connected_us - started_us + verify_us) / 1000.0,
                      (connected_us - started_us) / 1000.0, verify_us / 1000.0,
                      (g_get_monotonic_time() - started_us) / 1e6);
    snpg_boot_log(outcome.verdict == SNPG_VERDICT_ACCEPTED ? G_LOG_LEVEL_MESSAGE
                                                           : G_LOG_LEVEL_WARNING,
                  name, boot_id, outcome.verdict, "attestation %s after %u attempt(s)%s%s%s",
                  snpg_verdict_to_string(outcome.verdict), attempts,
                  outcome.key_confirmed ? ", key delivered and confirmed" : "",
                  outcome.error ? ": " : "", outcome.error ? outcome.error : "");
    if (outcome.verdict != SNPG_VERDICT_ACCEPTED)
        apply_failure_action(reg, rec, boot_id, outcome.verdict);
    return outcome.verdict == SNPG_VERDICT_ACCEPTED ? 0 : 3;
}

/* Closes every descriptor from 3 up: the worker outlives the hook, and
 * libvirt waits for the hook's pipes to close. */
static void
close_inherited_fds(void)
{
    long max = sysconf(_SC_OPEN_MAX);

    if (max < 0 || max > 65536)
        max = 65536;
    for (int fd = 3; fd < max; fd++)
        close(fd);
}

/* In the detached process: stdin from /dev/null, stdout and stderr to the
 * VM's log. */
static gboolean
redirect_stdio(const char *state_dir, const char *name)
{
    g_autofree char *log_dir = g_build_filename(state_dir, "log", NULL);
    g_autofree char *file = g_strconcat(name, ".log", NULL);
    g_autofree char *path = g_build_filename(log_dir, file, NULL);
    int null_fd, log_fd;

    if (g_mkdir_with_parents(log_dir, 0700) < 0)
        return FALSE;
    if ((null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
        return FALSE;
    log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (log_fd < 0) {
        close(null_fd);
        return FALSE;
    }
    if (dup2(null_fd, STDIN_FILENO) < 0 || dup2(log_fd, STDOUT_FILENO) < 0 ||
        dup2(log_fd, STDERR_FILENO) < 0)
        return FALSE;
    close(null_fd);
    close(log_fd);
    return TRUE;
}

/* Opens the registry and the VM; FALSE with no error when the VM is not
 * registered (nothing to record). */
static gboolean
open_vm(const char *state_dir, const char *name, SnpgRegistry **ret_reg, SnpgVmRecord **ret_rec,
        GError **error)
{
    g_autoptr(SnpgRegistry) reg = NULL;
    g_autoptr(GError) local = NULL;
    SnpgVmRecord *rec;

    if (!(reg = snpg_registry_open(state_dir, SNPG_REGISTRY_OPEN_DEFAULT, error)))
        return FALSE;
    if (!(rec = snpg_registry_get_vm(reg, name, &local))) {
        if (!g_error_matches(local, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_NOT_FOUND))
            g_propagate_error(error, g_steal_pointer(&local));
        return FALSE;
    }
    *ret_reg = g_steal_pointer(&reg);
    *ret_rec = rec;
    return TRUE;
}

gboolean
snpg_hook_worker_started(const char *state_dir, const char *name, xmlDoc *live, GError **error)
{
    g_autofree char *socket = NULL, *boot_id = NULL;
    gint64 started_us = g_get_monotonic_time();
    pid_t pid;
    int status;

    /* A name is a file name in STATE/log (libvirt forbids '/' anyway). */
    if (!name[0] || strchr(name, '/') || g_str_equal(name, ".") || g_str_equal(name, "..")) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    _("the domain name '%s' cannot name a log file"), name);
        return FALSE;
    }
    /* Only the VM's own verifier opens its channel; the registry read is a
     * few ms and spares a process for every other VM. */
    {
        g_autoptr(SnpgRegistry) reg = NULL;
        g_autoptr(SnpgVmRecord) rec = NULL;

        if (!open_vm(state_dir, name, &reg, &rec, error))
            return error == NULL || *error == NULL;
        if (!g_str_equal(snpg_boot_verifier_mode(rec), SNPG_VERIFIER_HOOK))
            return TRUE;
    }
    if (!(socket = snpg_vm_attest_channel_socket(live, error)))
        return FALSE;
    if (!(boot_id = snpg_boot_id_from_xml(live))) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    _("the live XML of '%s' has no domain id and UUID"), name);
        return FALSE;
    }
    fflush(NULL);
    if ((pid = fork()) < 0) {
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
                    _("cannot start the attestation worker: %s"), g_strerror(errno));
        return FALSE;
    }
    if (pid == 0) {
        /* The intermediate child: a new session, then the worker's parent
         * exits, so the worker is nobody's child but init's. */
        if (setsid() < 0)
            _exit(1);
        if ((pid = fork()) != 0)
            _exit(pid < 0 ? 1 : 0);
        if (chdir("/") < 0 || !redirect_stdio(state_dir, name))
            _exit(1);
        close_inherited_fds();
        umask(077);
        signal(SIGPIPE, SIG_IGN);
        g_log_writer_default_set_use_stderr(TRUE);
        _exit(snpg_hook_worker_run(state_dir, name, socket, boot_id, started_us));
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                    _("cannot start the attestation worker of '%s'"), name);
        return FALSE;
    }
    return TRUE;
}

static gboolean
newest_kind(const SnpgEvent *ev, gpointer user_data, GError **error G_GNUC_UNUSED)
{
    *(SnpgEventKind *)user_data = ev->kind;
    return TRUE;
}

gboolean
snpg_hook_worker_stopped(const char *state_dir, const char *name, xmlDoc *live, GError **error)
{
    g_autoptr(SnpgRegistry) reg = NULL;
    g_autoptr(SnpgVmRecord) rec = NULL;
    g_autofree char *boot_id = snpg_boot_id_from_xml(live);
    SnpgEventKind last = SNPG_EVENT_LAST;

    if (!open_vm(state_dir, name, &reg, &rec, error))
        return error == NULL || *error == NULL;
    if (g_str_equal(snpg_boot_verifier_mode(rec), SNPG_VERIFIER_WATCH))
        return TRUE;
    /* libvirt runs "stopped" after a start the gate refused too: the VM
     * never ran, the refusal is its record. */
    if (!snpg_registry_foreach_event(reg, name, 1, SNPG_HISTORY_SUMMARY, newest_kind, &last,
                                     error))
        return FALSE;
    if (last == SNPG_EVENT_START_REFUSED)
        return TRUE;
    /* libvirt has dropped the domain id from the XML by now: the boot is
     * the newest one recorded. */
    if (!boot_id)
        boot_id = snpg_boot_latest(reg, name);
    snpg_boot_record(reg, name, boot_id, SNPG_EVENT_STOP, "stopped");
    return TRUE;
}

gboolean
snpg_hook_worker_released(const char *state_dir, const char *name, xmlDoc *live,
                          GError **error)
{
    g_autoptr(SnpgRegistry) reg = NULL;
    g_autoptr(SnpgVmRecord) rec = NULL;
    SnpgEventKind last = SNPG_EVENT_LAST;

    (void)live;
    if (!open_vm(state_dir, name, &reg, &rec, error))
        return error == NULL || *error == NULL;
    if (g_str_equal(snpg_boot_verifier_mode(rec), SNPG_VERIFIER_WATCH))
        return TRUE;
    if (!snpg_registry_foreach_event(reg, name, 1, SNPG_HISTORY_SUMMARY, newest_kind, &last,
                                     error))
        return FALSE;
    if (last != SNPG_EVENT_STOP && last != SNPG_EVENT_START_REFUSED)
        snpg_boot_record(reg, name, NULL, SNPG_EVENT_STOP, "released");
    return TRUE;
}
