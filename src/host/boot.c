/* One boot of a managed VM (see boot.h). */
#include "config.h"

#include <stdarg.h>
#include <string.h>

#include <glib/gi18n.h>
#include <libxml/xpath.h>

#include "boot.h"
#include "virt-api.h"
#include "domain.h"
#include "virt.h"

/* A boot's events: its start, a verdict, a release, an action and a stop;
 * a few retries at most. Looking further back only finds older boots. */
#define BOOT_EVENTS_SCAN 256
/* The agent window accepted from the environment: a second to a day. */
#define AGENT_WINDOW_MAX (24 * 3600)




const char *
snpg_boot_verifier_mode(const SnpgVmRecord *rec)
{
    return rec->verifier_mode ? rec->verifier_mode : SNPG_VERIFIER_HOOK;
}

gboolean
snpg_boot_verifier_mode_valid(const char *name)
{
    return name && (g_str_equal(name, SNPG_VERIFIER_HOOK) ||
                    g_str_equal(name, SNPG_VERIFIER_WATCH) ||
                    g_str_equal(name, SNPG_VERIFIER_MANUAL));
}

static gboolean
parse_seconds(const char *text, guint64 *ret)
{
    return text && g_ascii_string_to_unsigned(text, 10, 1, AGENT_WINDOW_MAX, ret, NULL);
}

gint64
snpg_boot_agent_window_us(const SnpgVmRecord *rec)
{
    guint64 seconds = SNPG_BOOT_AGENT_WINDOW_DEFAULT;

    if (!parse_seconds(rec ? snpg_vm_record_get_setting(rec, SNPG_VM_SETTING_AGENT_WINDOW)
                           : NULL, &seconds) &&
        !parse_seconds(g_getenv("SNPGUARD_AGENT_WINDOW"), &seconds))
        seconds = SNPG_BOOT_AGENT_WINDOW_DEFAULT;
    return (gint64)seconds * G_USEC_PER_SEC;
}

char *
snpg_boot_id(const char *uuid, int domain_id)
{
    if (!uuid || domain_id < 1)
        return NULL;
    return g_strdup_printf("%s/%d", uuid, domain_id);
}

static char *
xpath_string(xmlXPathContext *ctx, const char *expr)
{
    g_autoptr(xmlXPathObject) obj = xmlXPathEvalExpression(BAD_CAST expr, ctx);

    if (!obj || obj->type != XPATH_STRING || !obj->stringval || !obj->stringval[0])
        return NULL;
    return g_strdup((const char *)obj->stringval);
}

char *
snpg_boot_id_from_xml(xmlDoc *live)
{
    g_autoptr(xmlXPathContext) ctx = xmlXPathNewContext(live);
    g_autofree char *uuid = NULL, *id = NULL, *lower = NULL;
    guint64 n;

    if (!ctx || !(uuid = xpath_string(ctx, "string(/domain/uuid)")) ||
        !(id = xpath_string(ctx, "string(/domain/@id)")) ||
        !g_ascii_string_to_unsigned(id, 10, 1, G_MAXINT, &n, NULL) ||
        !g_uuid_string_is_valid(uuid))
        return NULL;
    /* libvirt prints UUIDs in lowercase; so does virDomainGetUUIDString. */
    lower = g_ascii_strdown(uuid, -1);
    return snpg_boot_id(lower, (int)n);
}

char *
snpg_boot_id_of_domain(virDomainPtr dom)
{
    char uuid[VIR_UUID_STRING_BUFLEN];
    int id = (int)VIR(DomainGetID)(dom);

    if (VIR(DomainGetUUIDString)(dom, uuid) < 0)
        return NULL;
    return snpg_boot_id(uuid, id);
}

typedef struct {
    const char *boot_id;
    SnpgBootState state;
} StateWalk;

static gboolean
state_step(const SnpgEvent *ev, gpointer user_data, GError **error G_GNUC_UNUSED)
{
    StateWalk *w = user_data;

    if (!ev->boot_id || !g_str_equal(ev->boot_id, w->boot_id))
        return TRUE;
    switch (ev->kind) {
    case SNPG_EVENT_STOP:
        /* The id may come back after a daemon restart: a new boot. */
        memset(&w->state, 0, sizeof(w->state));
        w->state.stopped = TRUE;
        break;
    case SNPG_EVENT_START:
        w->state.started = TRUE;
        w->state.stopped = FALSE;
        break;
    case SNPG_EVENT_ATTESTATION:
        w->state.has_verdict = TRUE;
        w->state.stopped = FALSE;
        break;
    default:
        break;
    }
    return TRUE;
}

gboolean
snpg_boot_get_state(SnpgRegistry *reg, const char *vm, const char *boot_id, SnpgBootState *ret,
                    GError **error)
{
    StateWalk w = { boot_id, { 0 } };

    if (!snpg_registry_foreach_event(reg, vm, BOOT_EVENTS_SCAN, SNPG_HISTORY_DEFAULT, state_step,
                                     &w, error))
        return FALSE;
    *ret = w.state;
    return TRUE;
}

static gboolean
latest_step(const SnpgEvent *ev, gpointer user_data, GError **error G_GNUC_UNUSED)
{
    char **latest = user_data;

    if (ev->boot_id) {
        g_free(*latest);
        *latest = g_strdup(ev->boot_id);
    }
    return TRUE;
}

char *
snpg_boot_latest(SnpgRegistry *reg, const char *vm)
{
    char *latest = NULL;

    if (!snpg_registry_foreach_event(reg, vm, BOOT_EVENTS_SCAN, SNPG_HISTORY_DEFAULT,
                                     latest_step, &latest, NULL))
        g_clear_pointer(&latest, g_free);
    return latest;
}

void
snpg_boot_record(SnpgRegistry *reg, const char *vm, const char *boot_id, SnpgEventKind kind,
                 const char *detail)
{
    g_autoptr(SnpgEvent) ev = snpg_event_new(kind, vm);
    g_autoptr(GError) error = NULL;

    ev->boot_id = g_strdup(boot_id);
    ev->detail = g_strdup(detail);
    if (!snpg_registry_add_event(reg, ev, &error))
        snpg_boot_log(G_LOG_LEVEL_WARNING, vm, boot_id, SNPG_VERDICT_NONE,
                      "cannot record the %s: %s", snpg_event_kind_to_string(kind),
                      error->message);
}

void
snpg_boot_apply_failure_action(SnpgRegistry *reg, const SnpgVmRecord *rec, virDomainPtr dom,
                               const char *boot_id, SnpgVerdict verdict)
{
    int action = rec->failure_action ? snpg_failure_action_from_string(rec->failure_action)
                                     : SNPG_FAILURE_DESTROY;
    g_autofree char *now_boot = NULL;
    g_autofree char *detail = NULL;
    g_autoptr(SnpgEvent) ev = NULL;
    g_autoptr(GError) error = NULL;
    int rc = 0;

    if (action < 0)
        action = SNPG_FAILURE_DESTROY;  /* an unknown action must not keep a VM running */
    if (VIR(DomainIsActive)(dom) != 1 || !(now_boot = snpg_boot_id_of_domain(dom)) ||
        !boot_id || !g_str_equal(now_boot, boot_id)) {
        detail = g_strdup_printf("%s: not applied, the boot has ended",
                                 snpg_failure_action_to_string(action));
    } else if (action == SNPG_FAILURE_DESTROY) {
        rc = VIR(DomainDestroy)(dom);
    } else if (action == SNPG_FAILURE_PAUSE) {
        rc = VIR(DomainSuspend)(dom);
    }
    if (!detail && rc < 0)
        detail = g_strdup_printf("%s: failed: %s", snpg_failure_action_to_string(action),
                                 VIR(GetLastErrorMessage)());
    else if (!detail)
        detail = g_strdup_printf("%s: %s", snpg_failure_action_to_string(action),
                                 action == SNPG_FAILURE_DESTROY ? "the domain was destroyed"
                                 : action == SNPG_FAILURE_PAUSE ? "the domain was paused"
                                 : "the domain keeps running");
    snpg_boot_log(rc < 0 ? G_LOG_LEVEL_WARNING : G_LOG_LEVEL_MESSAGE, rec->name, boot_id, verdict,
                  "failure action %s", detail);
    ev = snpg_event_new(SNPG_EVENT_FAILURE_ACTION, rec->name);
    ev->boot_id = g_strdup(boot_id);
    ev->verdict = verdict;
    ev->detail = g_steal_pointer(&detail);
    if (!snpg_registry_add_event(reg, ev, &error))
        snpg_boot_log(G_LOG_LEVEL_WARNING, rec->name, boot_id, verdict,
                      "cannot record the failure action: %s", error->message);
}

void
snpg_boot_log(GLogLevelFlags level, const char *vm, const char *boot_id, SnpgVerdict verdict,
              const char *format, ...)
{
    g_autofree char *message = NULL;
    const char *verdict_name = snpg_verdict_to_string(verdict);
    GLogField fields[] = {
        { "GLIB_DOMAIN", G_LOG_DOMAIN, -1 },
        { "PRIORITY", NULL, -1 },
        { "MESSAGE", NULL, -1 },
        { "SNPGUARD_VM", vm, -1 },
        { "SNPGUARD_BOOT_ID", boot_id ? boot_id : "", -1 },
        { "SNPGUARD_VERDICT", verdict_name ? verdict_name : "", -1 },
    };
    va_list ap;

    va_start(ap, format);
    message = g_strdup_vprintf(format, ap);
    va_end(ap);
    fields[2].value = g_strdup_printf("%s: %s", vm, message);
    fields[1].value = level & G_LOG_LEVEL_ERROR ? "3" : level & G_LOG_LEVEL_CRITICAL ? "3"
                    : level & G_LOG_LEVEL_WARNING ? "4" : level & G_LOG_LEVEL_MESSAGE ? "5"
                    : level & G_LOG_LEVEL_INFO ? "6" : "7";
    g_log_structured_array(level, fields, G_N_ELEMENTS(fields));
    g_free((char *)fields[2].value);
}

char *
snpg_boot_start_domain(const char *uri, const char *name, GError **error)
{
    virConnectPtr conn;
    virDomainPtr dom = NULL;
    char *boot_id = NULL;

    if (!snpg_virt_api_load(error))
        return NULL;
    conn = VIR(ConnectOpenAuth)(uri ? uri : "qemu:///system", *VIR(ConnectAuthPtrDefault), 0);
    if (!conn) {
        g_set_error(error, SNPG_VIRT_ERROR, SNPG_VIRT_ERROR_CONNECT, _("cannot connect to '%s': %s"),
                    uri ? uri : "qemu:///system", VIR(GetLastErrorMessage)());
        return NULL;
    }
    if (!(dom = VIR(DomainLookupByName)(conn, name)) || VIR(DomainCreate)(dom) < 0 ||
        !(boot_id = snpg_boot_id_of_domain(dom)))
        g_set_error(error, SNPG_VIRT_ERROR, SNPG_VIRT_ERROR_FAILED, _("cannot start '%s': %s"), name,
                    VIR(GetLastErrorMessage)());
    if (dom)
        VIR(DomainFree)(dom);
    VIR(ConnectClose)(conn);
    return boot_id;
}

void
snpg_boot_verdict_clear(SnpgBootVerdict *v)
{
    g_clear_pointer(&v->reasons, g_strfreev);
    g_clear_pointer(&v->detail, g_free);
    memset(v, 0, sizeof(*v));
}

static gboolean
verdict_step(const SnpgEvent *ev, gpointer user_data, GError **error G_GNUC_UNUSED)
{
    struct { const char *boot_id; SnpgBootVerdict *v; } *w = user_data;

    if (!ev->boot_id || !g_str_equal(ev->boot_id, w->boot_id))
        return TRUE;
    if (ev->kind == SNPG_EVENT_ATTESTATION) {
        snpg_boot_verdict_clear(w->v);
        w->v->verdict = ev->verdict;
        w->v->reasons = g_strdupv(ev->reasons);
        w->v->detail = g_strdup(ev->detail);
    } else if (ev->kind == SNPG_EVENT_KEY_RELEASE) {
        w->v->key_released = TRUE;
        w->v->key_confirmed = ev->verdict == SNPG_VERDICT_ACCEPTED;
    } else if (ev->kind == SNPG_EVENT_FAILURE_ACTION) {
        w->v->failure_action = TRUE;
    } else if (ev->kind == SNPG_EVENT_START) {
        snpg_boot_verdict_clear(w->v);   /* what came before was an older boot with this id */
    }
    return TRUE;
}

gboolean
snpg_boot_get_verdict(SnpgRegistry *reg, const char *vm, const char *boot_id,
                      SnpgBootVerdict *ret, GError **error)
{
    struct { const char *boot_id; SnpgBootVerdict *v; } w = { boot_id, ret };

    memset(ret, 0, sizeof(*ret));
    return snpg_registry_foreach_event(reg, vm, BOOT_EVENTS_SCAN, SNPG_HISTORY_DEFAULT,
                                       verdict_step, &w, error);
}
