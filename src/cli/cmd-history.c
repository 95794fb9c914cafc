/* snpguard history: the record of defines, start refusals, attestations,
 * key releases and errors, from the registry. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <glib/gi18n.h>

#include "cli-util.h"
#include "command.h"
#include "registry.h"
#include "statedir.h"

static glong
cell_width(const char *s)
{
    return g_utf8_strlen(s, -1);
}

/* Appends s, of width characters, padded with blanks to column characters. */
static void
add_cell(GString *line, const char *s, glong width, glong column)
{
    g_string_append(line, s);
    for (; width < column; width++)
        g_string_append_c(line, ' ');
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

/* What the table shows of an event; the strings live in a GStringChunk,
 * VM names and reason lists once each however often they repeat. */
typedef struct {
    gint64 time;
    const char *vm;
    SnpgEventKind kind;
    SnpgVerdict verdict;
    const char *reasons;    /* "a,b" or "-" */
    const char *detail;     /* NULL: none */
} TextRow;

typedef struct {
    GArray *rows;
    GStringChunk *strings;
    const char *last_vm, *last_reasons;
} TextRows;

static gboolean
collect_row(const SnpgEvent *ev, gpointer user_data, GError **error)
{
    TextRows *t = user_data;
    TextRow row = { ev->time, NULL, ev->kind, ev->verdict, "-", NULL };

    /* Most rows repeat the previous row's VM and reasons: no hashing then. */
    if (t->last_vm && g_str_equal(t->last_vm, ev->vm))
        row.vm = t->last_vm;
    else
        row.vm = t->last_vm = g_string_chunk_insert_const(t->strings, ev->vm);
    if (ev->reasons && ev->reasons[0]) {
        g_autofree char *joined = g_strjoinv(",", ev->reasons);

        if (t->last_reasons && g_str_equal(t->last_reasons, joined))
            row.reasons = t->last_reasons;
        else
            row.reasons = t->last_reasons = g_string_chunk_insert_const(t->strings, joined);
    }
    if (ev->detail)
        row.detail = g_string_chunk_insert(t->strings, ev->detail);
    g_array_append_val(t->rows, row);
    return TRUE;
}

/* A table like virsh's, oldest first; columns sized to their contents.
 * Each line is built in memory and written whole: 100,000 lines must not
 * cost a stdio lock per character. */
static void
print_table(const TextRows *t)
{
    const char *h_time = _("Time (UTC)"), *h_vm = _("VM"), *h_event = _("Event"),
               *h_verdict = _("Verdict"), *h_reasons = _("Reasons"), *h_detail = _("Detail");
    glong w_time = MAX(cell_width(h_time), 19), w_vm = cell_width(h_vm);
    glong w_event = cell_width(h_event), w_verdict = cell_width(h_verdict);
    glong w_reasons = cell_width(h_reasons);
    const char *last_vm = NULL, *last_reasons = NULL;
    glong last_vm_width = 0, last_reasons_width = 0;
    g_autoptr(GString) line = g_string_sized_new(256);
    char when[32] = "";
    gint64 when_secs = G_MININT64;

    for (guint i = 0; i < t->rows->len; i++) {
        const TextRow *row = &g_array_index(t->rows, TextRow, i);
        const char *verdict = snpg_verdict_to_string(row->verdict);

        /* Interned strings: a repeat is the same pointer. */
        if (row->vm != last_vm)
            w_vm = MAX(w_vm, cell_width(last_vm = row->vm));
        /* Reason names are ASCII ([a-z0-9-]): bytes are characters. */
        if (row->reasons != last_reasons)
            w_reasons = MAX(w_reasons, (glong)strlen(last_reasons = row->reasons));
        w_event = MAX(w_event, (glong)strlen(snpg_event_kind_to_string(row->kind)));
        w_verdict = MAX(w_verdict, verdict ? (glong)strlen(verdict) : 1);
    }
    g_string_append_c(line, ' ');
    add_cell(line, h_time, cell_width(h_time), w_time + 2);
    add_cell(line, h_vm, cell_width(h_vm), w_vm + 2);
    add_cell(line, h_event, cell_width(h_event), w_event + 2);
    add_cell(line, h_verdict, cell_width(h_verdict), w_verdict + 2);
    add_cell(line, h_reasons, cell_width(h_reasons), w_reasons + 2);
    g_string_append(line, h_detail);
    g_string_append_c(line, '\n');
    for (glong i = cell_width(line->str) - 1; i > 0; i--)
        g_string_append_c(line, '-');
    g_string_append_c(line, '\n');
    fwrite(line->str, 1, line->len, stdout);

    last_vm = last_reasons = NULL;
    for (guint i = 0; i < t->rows->len; i++) {
        const TextRow *row = &g_array_index(t->rows, TextRow, i);
        const char *verdict = snpg_verdict_to_string(row->verdict);
        const char *kind = snpg_event_kind_to_string(row->kind);
        gint64 secs = row->time / G_USEC_PER_SEC;

        if (secs != when_secs) {
            format_time(row->time, when);
            when_secs = secs;
        }
        if (row->vm != last_vm)
            last_vm_width = cell_width(last_vm = row->vm);
        if (row->reasons != last_reasons)
            last_reasons_width = (glong)strlen(last_reasons = row->reasons);
        g_string_truncate(line, 0);
        g_string_append_c(line, ' ');
        add_cell(line, when, 19, w_time + 2);
        add_cell(line, row->vm, last_vm_width, w_vm + 2);
        add_cell(line, kind, (glong)strlen(kind), w_event + 2);
        add_cell(line, verdict ? verdict : "-", verdict ? (glong)strlen(verdict) : 1,
                 w_verdict + 2);
        /* The detail is last and unpadded: no trailing blanks. */
        if (row->detail) {
            add_cell(line, row->reasons, last_reasons_width, w_reasons + 2);
            g_string_append(line, row->detail);
        } else {
            g_string_append(line, row->reasons);
        }
        g_string_append_c(line, '\n');
        fwrite(line->str, 1, line->len, stdout);
    }
}

/* ISO 8601 with microseconds; the part up to the second is formatted once
 * per second (events come in time order). */
typedef struct {
    gint64 secs;
    char text[32];
} TimeCache;

static char *
format_json_time(TimeCache *cache, gint64 time)
{
    gint64 secs = time / G_USEC_PER_SEC - (time % G_USEC_PER_SEC < 0);
    gint64 usec = time - secs * G_USEC_PER_SEC;

    if (secs != cache->secs || !cache->text[0]) {
        time_t t = (time_t)secs;
        struct tm tm;

        if (!gmtime_r(&t, &tm) || strftime(cache->text, sizeof(cache->text),
                                            "%Y-%m-%dT%H:%M:%S", &tm) == 0)
            g_strlcpy(cache->text, "?", sizeof(cache->text));
        cache->secs = secs;
    }
    return g_strdup_printf("%s.%06" G_GINT64_FORMAT "Z", cache->text, usec);
}

/* A string member, or null; json-glib escapes it. */
static void
set_string_or_null(JsonObject *o, const char *name, const char *value)
{
    if (value)
        json_object_set_string_member(o, name, value);
    else
        json_object_set_null_member(o, name);
}

/* One event as a JSON object; every member is always there (null when it
 * does not apply), so scripts can rely on the shape. */
static JsonNode *
event_to_json(TimeCache *times, const SnpgEvent *ev)
{
    JsonObject *o = json_object_new();
    JsonArray *reasons = json_array_new();
    JsonNode *node = json_node_new(JSON_NODE_OBJECT);

    json_object_set_int_member(o, "id", ev->id);
    {
        g_autofree char *time = format_json_time(times, ev->time);
        json_object_set_string_member(o, "time", time);
    }
    set_string_or_null(o, "vm", ev->vm);
    set_string_or_null(o, "vm_uuid", ev->vm_uuid);
    set_string_or_null(o, "event", snpg_event_kind_to_string(ev->kind));
    set_string_or_null(o, "verdict", snpg_verdict_to_string(ev->verdict));
    for (gsize i = 0; ev->reasons && ev->reasons[i]; i++)
        json_array_add_string_element(reasons, ev->reasons[i]);
    json_object_set_array_member(o, "reasons", reasons);
    set_string_or_null(o, "measurement", ev->measurement);
    if (ev->has_tcb) {
        g_autofree char *tcb = g_strdup_printf("0x%" G_GINT64_MODIFIER "x", ev->tcb);
        json_object_set_string_member(o, "tcb", tcb);
    } else {
        json_object_set_null_member(o, "tcb");
    }
    set_string_or_null(o, "chip_id", ev->chip_id);
    set_string_or_null(o, "detail", ev->detail);
    set_string_or_null(o, "boot_id", ev->boot_id);
    json_node_take_object(node, o);
    return node;
}

typedef struct {
    JsonGenerator *generator;
    gboolean first;
    TimeCache times;
} JsonStream;

/* The array is written as it is read, one object per line: 100,000 events
 * need neither a whole tree in memory nor a pause before the first line. */
static gboolean
print_json_event(const SnpgEvent *ev, gpointer user_data, GError **error)
{
    JsonStream *stream = user_data;
    g_autoptr(JsonNode) node = event_to_json(&stream->times, ev);
    g_autofree char *text = NULL;
    gsize len = 0;

    json_generator_set_root(stream->generator, node);
    text = json_generator_to_data(stream->generator, &len);
    fputs(stream->first ? "[\n  " : ",\n  ", stdout);
    fwrite(text, 1, len, stdout);
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
        g_autoptr(JsonGenerator) generator = json_generator_new();
        JsonStream stream = { generator, TRUE, { 0, "" } };

        if (reg && !snpg_registry_foreach_event(reg, name, (guint)limit, SNPG_HISTORY_DEFAULT,
                                                print_json_event,
                                                &stream, &error)) {
            snpg_cli_error("%s", error->message);
            return SNPG_EXIT_ERROR;
        }
        fputs(stream.first ? "[]\n" : "\n]\n", stdout);
    } else {
        TextRows t = { g_array_new(FALSE, FALSE, sizeof(TextRow)), g_string_chunk_new(65536),
                      NULL, NULL };
        gboolean ok = !reg || snpg_registry_foreach_event(reg, name, (guint)limit,
                                                          SNPG_HISTORY_SUMMARY, collect_row,
                                                          &t, &error);

        if (ok)
            print_table(&t);
        g_array_unref(t.rows);
        g_string_chunk_free(t.strings);
        if (!ok) {
            snpg_cli_error("%s", error->message);
            return SNPG_EXIT_ERROR;
        }
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
