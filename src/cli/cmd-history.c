/* snpguard history: the record of defines, start refusals, attestations,
 * key releases and errors, from the registry. */
#include "config.h"

#include <stdio.h>
#include <time.h>

#include <glib/gi18n.h>

#include "cli-util.h"
#include "command.h"
#include "registry.h"
#include "statedir.h"

/* Writes s and pads it with blanks to width characters. */
static void
put_cell(const char *s, glong width)
{
    glong n = g_utf8_strlen(s, -1);

    fputs(s, stdout);
    for (; n < width; n++)
        putchar(' ');
}

static glong
cell_width(const char *s)
{
    return g_utf8_strlen(s, -1);
}

/* "2026-11-29 06:09:13": seconds are enough for people; --json has more. */
static void
format_time(gint64 time, char out[32])
{
    time_t secs = (time_t)(time / G_USEC_PER_SEC - (time % G_USEC_PER_SEC < 0));
    struct tm tm;

    if (!gmtime_r(&secs, &tm) || strftime(out, 32, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        g_strlcpy(out, "?", 32);
}

static char *
reasons_text(const SnpgEvent *ev)
{
    return ev->reasons && ev->reasons[0] ? g_strjoinv(",", ev->reasons) : g_strdup("-");
}

/* A table like virsh's, oldest first; columns sized to their contents. */
static void
print_table(GPtrArray *events)
{
    const char *h_time = _("Time (UTC)"), *h_vm = _("VM"), *h_event = _("Event"),
               *h_verdict = _("Verdict"), *h_reasons = _("Reasons"), *h_detail = _("Detail");
    glong w_time = MAX(cell_width(h_time), 19), w_vm = cell_width(h_vm);
    glong w_event = cell_width(h_event), w_verdict = cell_width(h_verdict);
    glong w_reasons = cell_width(h_reasons), total;
    g_autoptr(GPtrArray) reasons = g_ptr_array_new_full(events->len, g_free);

    for (guint i = 0; i < events->len; i++) {
        const SnpgEvent *ev = g_ptr_array_index(events, i);
        const char *verdict = snpg_verdict_to_string(ev->verdict);
        char *r = reasons_text(ev);

        g_ptr_array_add(reasons, r);
        w_vm = MAX(w_vm, cell_width(ev->vm));
        w_event = MAX(w_event, cell_width(snpg_event_kind_to_string(ev->kind)));
        w_verdict = MAX(w_verdict, verdict ? cell_width(verdict) : 1);
        w_reasons = MAX(w_reasons, cell_width(r));
    }
    putchar(' ');
    put_cell(h_time, w_time + 2);
    put_cell(h_vm, w_vm + 2);
    put_cell(h_event, w_event + 2);
    put_cell(h_verdict, w_verdict + 2);
    put_cell(h_reasons, w_reasons + 2);
    fputs(h_detail, stdout);
    putchar('\n');
    total = 1 + w_time + w_vm + w_event + w_verdict + w_reasons + 10 + cell_width(h_detail);
    for (glong i = 0; i < total; i++)
        putchar('-');
    putchar('\n');
    for (guint i = 0; i < events->len; i++) {
        const SnpgEvent *ev = g_ptr_array_index(events, i);
        const char *verdict = snpg_verdict_to_string(ev->verdict);
        char when[32];

        format_time(ev->time, when);
        putchar(' ');
        put_cell(when, w_time + 2);
        put_cell(ev->vm, w_vm + 2);
        put_cell(snpg_event_kind_to_string(ev->kind), w_event + 2);
        put_cell(verdict ? verdict : "-", w_verdict + 2);
        /* The detail is last and unpadded: no trailing blanks. */
        if (ev->detail) {
            put_cell(g_ptr_array_index(reasons, i), w_reasons + 2);
            fputs(ev->detail, stdout);
        } else {
            fputs(g_ptr_array_index(reasons, i), stdout);
        }
        putchar('\n');
    }
}

static void
add_optional_string(JsonBuilder *b, const char *name, const char *value)
{
    json_builder_set_member_name(b, name);
    if (value)
        json_builder_add_string_value(b, value);
    else
        json_builder_add_null_value(b);
}

/* One event as a JSON object; every member is always there (null when it
 * does not apply), so scripts can rely on the shape. */
static JsonNode *
event_to_json(const SnpgEvent *ev)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autofree char *time = snpg_event_format_time(ev->time);

    json_builder_begin_object(b);
    snpg_cli_json_add_int(b, "id", ev->id);
    snpg_cli_json_add_string(b, "time", time);
    snpg_cli_json_add_string(b, "vm", ev->vm);
    add_optional_string(b, "vm_uuid", ev->vm_uuid);
    snpg_cli_json_add_string(b, "event", snpg_event_kind_to_string(ev->kind));
    add_optional_string(b, "verdict", snpg_verdict_to_string(ev->verdict));
    json_builder_set_member_name(b, "reasons");
    json_builder_begin_array(b);
    for (gsize i = 0; ev->reasons && ev->reasons[i]; i++)
        json_builder_add_string_value(b, ev->reasons[i]);
    json_builder_end_array(b);
    add_optional_string(b, "measurement", ev->measurement);
    if (ev->has_tcb) {
        snpg_cli_json_add_hex64(b, "tcb", ev->tcb);
    } else {
        json_builder_set_member_name(b, "tcb");
        json_builder_add_null_value(b);
    }
    add_optional_string(b, "chip_id", ev->chip_id);
    add_optional_string(b, "detail", ev->detail);
    add_optional_string(b, "boot_id", ev->boot_id);
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

typedef struct {
    gboolean first;
} JsonStream;

/* The array is written as it is read, one object per line: 100,000 events
 * need neither a tree in memory nor a pause before the first line. */
static gboolean
print_json_event(const SnpgEvent *ev, gpointer user_data, GError **error)
{
    JsonStream *stream = user_data;
    g_autoptr(JsonNode) node = event_to_json(ev);
    g_autofree char *text = json_to_string(node, FALSE);

    fputs(stream->first ? "[\n  " : ",\n  ", stdout);
    fputs(text, stdout);
    stream->first = FALSE;
    return TRUE;
}

static int
run(int argc, char **argv)
{
    gboolean json = FALSE;
    g_autofree char *limit_text = NULL, *state_opt = NULL, *state_dir = NULL;
    const GOptionEntry entries[] = {
        { "limit", 'n', 0, G_OPTION_ARG_STRING, &limit_text,
          N_("Show only the newest N events (default: all)"), N_("N") },
        { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print a JSON array of events"), NULL },
        { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_opt,
          N_("The state directory (default: $SNPGUARD_STATE_DIR or /var/lib/snpguard)"),
          N_("DIR") },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx = snpg_cli_context_new(
        "history", "[NAME]",
        _("Show the recorded events (define, start refusals, attestations, key releases, "
          "errors) of every VM or of the VM NAME, oldest first."),
        entries);
    g_autoptr(SnpgRegistry) reg = NULL;
    g_autoptr(GError) error = NULL;
    const char *name = NULL;
    guint64 limit = 0;

    if (!snpg_cli_parse(ctx, &argc, &argv))
        return SNPG_EXIT_USAGE;
    if (argc > 2) {
        snpg_cli_error(_("expected at most one VM NAME"));
        return SNPG_EXIT_USAGE;
    }
    if (argc == 2)
        name = argv[1];
    if (limit_text) {
        if (!snpg_cli_parse_u64("--limit", limit_text, 10, G_MAXUINT, &limit))
            return SNPG_EXIT_USAGE;
        if (limit == 0) {
            snpg_cli_error(_("--limit takes a number from 1 to %u: '%s'"), G_MAXUINT, limit_text);
            return SNPG_EXIT_USAGE;
        }
    }

    state_dir = snpg_state_dir_resolve(state_opt);
    reg = snpg_registry_open(state_dir, SNPG_REGISTRY_OPEN_DEFAULT, &error);
    /* Nothing defined here yet: an empty history, not an error. */
    if (!reg && !g_error_matches(error, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_NOT_FOUND)) {
        snpg_cli_error("%s", error->message);
        return SNPG_EXIT_ERROR;
    }

    if (json) {
        JsonStream stream = { TRUE };

        if (reg && !snpg_registry_foreach_event(reg, name, (guint)limit, print_json_event,
                                                &stream, &error)) {
            snpg_cli_error("%s", error->message);
            return SNPG_EXIT_ERROR;
        }
        fputs(stream.first ? "[]\n" : "\n]\n", stdout);
    } else {
        g_autoptr(GPtrArray) events = NULL;

        if (!reg)
            events = g_ptr_array_new();
        else if (!snpg_registry_history(reg, name, (guint)limit, &events, &error)) {
            snpg_cli_error("%s", error->message);
            return SNPG_EXIT_ERROR;
        }
        print_table(events);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        snpg_cli_error(_("cannot write the output"));
        return SNPG_EXIT_ERROR;
    }
    return SNPG_EXIT_OK;
}

const SnpgCommand snpg_cmd_history = {
    "history", N_("Show the recorded events of the VMs (attestations, refusals, ...)"), run,
};
