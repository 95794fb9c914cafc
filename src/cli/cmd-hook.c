/* snpguard hook: the libvirt qemu hook (hooks/snpguard execs it).
 *
 * libvirt runs it as "snpguard hook DOMAIN OPERATION SUBOP EXTRA" with the
 * live domain XML on stdin, for every domain, while holding the domain's
 * lock. So it must never call libvirt (that deadlocks), must pass domains
 * snpguard does not manage at once, must never fail "reconnect" (libvirt
 * would kill the running VM) and prints nothing on stdout (qemu.d hooks are
 * filters: their output would replace the XML of migrate/restore). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gi18n.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "cli-util.h"
#include "command.h"
#include "gate.h"
#include "statedir.h"

/* A domain XML is a few KiB; libvirt's own RPC limit for strings is 4 MiB. */
#define HOOK_XML_MAX (4 * 1024 * 1024)

G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlDoc, xmlFreeDoc)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlXPathContext, xmlXPathFreeContext)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlXPathObject, xmlXPathFreeObject)

/* Reads stdin to its end, keeping at most HOOK_XML_MAX bytes: libvirt's
 * writer must never block on a hook that stopped reading. Returns NULL when
 * the input is larger or unreadable. */
static GString *
read_stdin_bounded(void)
{
    g_autoptr(GString) text = g_string_sized_new(16384);
    gboolean too_big = FALSE;
    char buf[16384];

    for (;;) {
        ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return NULL;
        if (n == 0)
            break;
        if (text->len + (gsize)n > HOOK_XML_MAX)
            too_big = TRUE;
        if (!too_big)
            g_string_append_len(text, buf, n);
    }
    return too_big ? NULL : g_steal_pointer(&text);
}

/* A managed domain: the start gate on "prepare begin" (gate.h), a "stop"
 * record on "stopped"; every other operation passes. The state directory
 * is $SNPGUARD_STATE_DIR (set in the hook script) or the default. */
static int
hook_managed(const char *domain, const char *operation, const char *subop, xmlDoc *doc)
{
    g_autofree char *state_dir = snpg_state_dir_resolve(NULL);
    g_autoptr(GError) error = NULL;

    if (g_str_equal(operation, "prepare") && g_str_equal(subop, "begin")) {
        g_auto(SnpgGateResult) result = { 0 };

        /* libvirt shows the hook's stderr when the start fails: one line. */
        if (!snpg_gate_prepare(state_dir, domain, doc, &result, &error)) {
            fprintf(stderr, _("snpguard: refusing to start '%s': %s\n"), domain, error->message);
            return SNPG_EXIT_ERROR;
        }
        if (result.refused) {
            fprintf(stderr, "%s\n", result.message);
            return SNPG_EXIT_ERROR;
        }
        return SNPG_EXIT_OK;
    }
    if (g_str_equal(operation, "stopped")) {
        /* Recording is best effort: a stop cannot be refused. */
        if (!snpg_gate_record_stop(state_dir, domain, &error))
            g_debug("cannot record the stop of '%s': %s", domain, error->message);
    }
    return SNPG_EXIT_OK;
}

static int
run(int argc, char **argv)
{
    g_autoptr(GOptionContext) ctx = snpg_cli_context_new("hook",
        "DOMAIN OPERATION SUBOP EXTRA",
        _("The libvirt qemu hook (installed as /etc/libvirt/hooks/qemu.d/snpguard): reads the "
          "live domain XML on standard input. Domains without snpguard's metadata pass "
          "untouched; a managed domain's start is refused when its boot files no longer give "
          "the expected measurement. The gate is an early, clear refusal; the security "
          "boundary is the attestation."), NULL);
    g_autoptr(GString) xml = NULL;
    g_autoptr(xmlDoc) doc = NULL;
    const char *domain, *operation, *subop;

    /* stdout belongs to libvirt (the filtered XML): messages go to stderr. */
    g_log_writer_default_set_use_stderr(TRUE);
    if (!snpg_cli_parse(ctx, &argc, &argv))
        return SNPG_EXIT_USAGE;
    if (argc != 5) {
        snpg_cli_error(_("expected DOMAIN OPERATION SUBOP EXTRA (as libvirt passes them), "
                         "got %d argument(s)"), argc - 1);
        return SNPG_EXIT_USAGE;
    }
    domain = argv[1];
    operation = argv[2];
    subop = argv[3];
    xml = read_stdin_bounded();
    /* A failed reconnect makes libvirt kill the VM: whatever happens, pass. */
    if (g_str_equal(operation, "reconnect"))
        return SNPG_EXIT_OK;
    if (!xml) {
        snpg_cli_error(_("domain '%s': the domain XML on standard input is unreadable or "
                         "larger than %d MiB"), domain, HOOK_XML_MAX >> 20);
        return SNPG_EXIT_ERROR;
    }
    doc = xmlReadMemory(xml->str, (int)xml->len, "domain.xml", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc) {
        snpg_cli_error(_("domain '%s': the domain XML on standard input is not well-formed"),
                       domain);
        return SNPG_EXIT_ERROR;
    }
    /* Unmanaged: pass at once, without opening the registry. */
    if (!snpg_gate_domain_is_managed(doc))
        return SNPG_EXIT_OK;
    return hook_managed(domain, operation, subop, doc);
}

const SnpgCommand snpg_cmd_hook = {
    "hook", N_("The libvirt qemu hook: the start gate (run by libvirtd)"), run,
};
