/* snpguard-agent: the guest side of attestation, for an initramfs.
 *
 * It proves to the verifier, with a fresh SNP report bound to an ephemeral
 * key, that it runs in the expected VM, and receives the disk key sealed to
 * that key. The key goes straight to its destination (a file descriptor, a
 * new file on a tmpfs, or stdout) and is wiped; nothing is written unless a
 * key arrived. With libcryptsetup (HAVE_CRYPTSETUP) it can instead open the
 * root itself: a LUKS2 device after checking its header against what the
 * verifier expects, or a dm-verity device after verifying its whole tree,
 * so that DONE tells the verifier the root is ready. Links src/core,
 * libcrypto and, if so built, libcryptsetup. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <glib/gi18n.h>

#include "file.h"
#include "hex.h"
#include "identity.h"
/* A statically linked agent (the attestation-only image) cannot carry the
 * shared-only libcryptsetup: it is built with SNPG_AGENT_NO_ROOT. */
#if defined(HAVE_CRYPTSETUP) && !defined(SNPG_AGENT_NO_ROOT)
#define AGENT_OPENS_ROOT 1
#include "luks.h"
#endif
#include "port.h"
#include "psp.h"
#include "session.h"
#include "transport.h"
#include "verify.h"

enum {
    EXIT_KEY = 0,
    EXIT_FAILED = 1,
    EXIT_USAGE = 2,
    EXIT_REFUSED = 3,
};

static char *opt_port;
static char *opt_device;
static char *opt_listen;
static char *opt_connect;
static char *opt_psp;
static char *opt_key_out;
static int opt_key_fd = -1;
static char *opt_kex;
static int opt_vmpl;
static int opt_attempts = 10;
static double opt_timeout = 120;
static double opt_backoff_max = 5;
static double opt_wait = 600;
static gboolean opt_quiet;
static gboolean opt_version;
static char *opt_sysfs;
static char *opt_verifier_pin;
static gboolean opt_any_verifier;
static char *opt_cmdline;
static char *opt_luks_device;
static char *opt_luks_name;
static char *opt_verity;

/* The root this agent opens before DONE, from the options or the kernel
 * command line: a LUKS2 device, or dm-verity; neither in a plain agent. */
#define ROOT_NAME_DEFAULT "snpguard-root"
/* Linux's COMMAND_LINE_SIZE is 2048 on x86; a little room beyond it. */
#define CMDLINE_MAX 4096
static const char *luks_device;
#ifdef AGENT_OPENS_ROOT
static SnpgVerityParams verity;
static gboolean have_verity;
#endif

static const GOptionEntry entries[] = {
    { "port", 'p', 0, G_OPTION_ARG_STRING, &opt_port,
      N_("virtio-serial port name (default " SNPG_PORT_DEFAULT_NAME ")"), N_("NAME") },
    { "device", 'd', 0, G_OPTION_ARG_FILENAME, &opt_device,
      N_("Talk over this character device instead of a named port"), N_("PATH") },
    { "listen", 'l', 0, G_OPTION_ARG_STRING, &opt_listen,
      N_("Standalone mode: wait for the verifier on unix:PATH"), N_("ADDRESS") },
    { "connect", 'c', 0, G_OPTION_ARG_STRING, &opt_connect,
      N_("Connect to a verifier listening on unix:PATH"), N_("ADDRESS") },
    { "psp", 0, 0, G_OPTION_ARG_STRING, &opt_psp,
      N_("Report backend: sev-guest[:DEV], tsm[:DIR] or sim:FILE (default: sev-guest, else tsm)"),
      N_("BACKEND") },
    { "key-out", 'o', 0, G_OPTION_ARG_FILENAME, &opt_key_out,
      N_("Write the received key to this new file (mode 0600), or '-' for stdout"), N_("FILE") },
    { "key-fd", 0, 0, G_OPTION_ARG_INT, &opt_key_fd,
      N_("Write the received key to this open file descriptor"), N_("FD") },
    { "kex", 0, 0, G_OPTION_ARG_STRING, &opt_kex,
      N_("Key agreement: p384 or x25519 (default: x25519 when the verifier offers it)"), N_("NAME") },
    { "vmpl", 0, 0, G_OPTION_ARG_INT, &opt_vmpl, N_("VMPL to request the report at (default 0)"), N_("N") },
    { "attempts", 'n', 0, G_OPTION_ARG_INT, &opt_attempts,
      N_("Give up after N attempts; 0 tries forever (default 10)"), N_("N") },
    { "timeout", 't', 0, G_OPTION_ARG_DOUBLE, &opt_timeout,
      N_("Seconds to wait for each message of the verifier (default 120)"), N_("S") },
    { "backoff-max", 0, 0, G_OPTION_ARG_DOUBLE, &opt_backoff_max,
      N_("Longest pause between attempts, in seconds (default 5)"), N_("S") },
    { "wait", 'w', 0, G_OPTION_ARG_DOUBLE, &opt_wait,
      N_("Seconds to wait for a verifier to connect and start a session, each time none "
         "has; this waiting is not an attempt. 0 waits for ever (default 600)"), N_("S") },
    { "verifier-pin", 0, 0, G_OPTION_ARG_STRING, &opt_verifier_pin,
      N_("Accept keys only from the verifier with this pin (default: snpguard.verifier= on "
         "the kernel command line)"), N_("HEX") },
    { "any-verifier", 0, 0, G_OPTION_ARG_NONE, &opt_any_verifier,
      N_("Accept a key from any verifier: INSECURE, whoever controls the channel can then "
         "choose this VM's disk key"), NULL },
    { "luks-device", 0, 0, G_OPTION_ARG_FILENAME, &opt_luks_device,
      N_("Open this LUKS2 root device with the key, after checking its header against what "
         "the verifier expects (default: snpguard.root=luks:DEV on the kernel command line)"),
      N_("DEV") },
    { "luks-name", 0, 0, G_OPTION_ARG_STRING, &opt_luks_name,
      N_("Name of the opened root under /dev/mapper (default " ROOT_NAME_DEFAULT ")"), N_("NAME") },
    { "verity", 0, 0, G_OPTION_ARG_STRING, &opt_verity,
      N_("Open a dm-verity root with these parameters after verifying it, as snpguard.verity= "
         "on the kernel command line (the default) gives them"), N_("PARAMS") },
    { "sysfs", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_FILENAME, &opt_sysfs, NULL, NULL },
    { "cmdline", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_FILENAME, &opt_cmdline, NULL, NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &opt_quiet, N_("Print errors only"), NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &opt_version, N_("Print the version and exit"), NULL },
    { NULL }
};

static void G_GNUC_PRINTF(1, 2)
say(const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    if (opt_quiet)
        return;
    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fprintf(stderr, "snpguard-agent: %s\n", msg);
}

static void G_GNUC_PRINTF(1, 2)
fail(const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fprintf(stderr, "snpguard-agent: %s %s\n", _("error:"), msg);
}

/* A usage error: one line, then the hint; returns EXIT_USAGE. */
static int G_GNUC_PRINTF(1, 2)
usage_error(const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fprintf(stderr, "snpguard-agent: %s %s\n", _("error:"), msg);
    fprintf(stderr, _("Run '%s --help' for usage.\n"), "snpguard-agent");
    return EXIT_USAGE;
}

static gboolean
get_report(const guint8 report_data[64], GBytes **ret_report, GBytes **ret_certs,
           gpointer user_data, GError **error)
{
    return snpg_psp_get_report(user_data, report_data, (guint)opt_vmpl, ret_report, ret_certs, error);
}

static const char *
reason_name(guint16 code)
{
    const char *name = snpg_proto_reason_to_string(code);

    if (!name)
        name = snpg_verify_reason_to_string(code);
    return name ? name : "unknown";
}

static void
print_refusal(const SnpgRefusal *refusal)
{
    g_autoptr(GString) reasons = g_string_new(NULL);
    g_autofree char *text = refusal->text ? g_strescape(refusal->text, NULL) : NULL;

    for (guint i = 0; i < refusal->n_reasons; i++)
        g_string_append_printf(reasons, "%s%s(%u)", i ? ", " : "", reason_name(refusal->reasons[i]),
                               refusal->reasons[i]);
    fail(_("the verifier refused this VM: %s%s%s%s"), reasons->str, text ? " ('" : "",
         text ? text : "", text ? "')" : "");
}

/* Hands the key on. A file is created exclusively with mode 0600 so that no
 * earlier file (or link an attacker planted) receives it, and synced before
 * the verifier is told the key arrived. */
static gboolean
deliver_key(SnpgSecret *key, GError **error)
{
    const char *what = opt_key_fd >= 0 ? "--key-fd" : _("standard output");
    int fd = opt_key_fd >= 0 ? opt_key_fd : STDOUT_FILENO;
    gboolean ok;
    int saved;

    if (opt_key_out && !g_str_equal(opt_key_out, "-")) {
        fd = open(opt_key_out, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0) {
            saved = errno;
            g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved),
                        _("cannot create '%s': %s"), opt_key_out, g_strerror(saved));
            return FALSE;
        }
        ok = snpg_file_write_fd(fd, snpg_secret_data(key), snpg_secret_len(key)) && fsync(fd) == 0;
        saved = errno;
        if (close(fd) != 0 && ok) {
            ok = FALSE;
            saved = errno;
        }
        if (!ok) {
            /* Our own file, incomplete: nothing half-written stays behind. */
            unlink(opt_key_out);
            g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved),
                        _("cannot write '%s': %s"), opt_key_out, g_strerror(saved));
        }
        return ok;
    }
    /* A pipe or a terminal cannot be synced; written is delivered. */
    if (!snpg_file_write_fd(fd, snpg_secret_data(key), snpg_secret_len(key))) {
        saved = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved),
                    _("cannot write the key to %s: %s"), what, g_strerror(saved));
        return FALSE;
    }
    return TRUE;
}

static void
set_refusal(SnpgRefusal *refusal, guint16 reason, const char *text)
{
    refusal->reasons[0] = reason;
    refusal->n_reasons = 1;
    refusal->text = g_strdup(text);
}

/* The session's delivery step: DONE goes to the verifier only when this
 * returns TRUE. On FALSE the session sends the refusal as ABORT and reports
 * its text as the error. */
static gboolean
deliver_payload(const SnpgKeyPayload *payload, SnpgRefusal *ret_refusal, gpointer user_data)
{
    g_autoptr(GError) error = NULL;

    (void)user_data;
#ifdef AGENT_OPENS_ROOT
    /* The encrypted root: the key goes to libcryptsetup only, and only
     * after the header copy passed the verifier's expectations. */
    if (luks_device) {
        const char *name = opt_luks_name ? opt_luks_name : ROOT_NAME_DEFAULT;

        if (!snpg_luks_check_and_open(luks_device, name, payload, ret_refusal, &error))
            return FALSE;
        say(_("opened the LUKS2 root '%s' as /dev/mapper/%s"), luks_device, name);
        return TRUE;
    }
    /* The integrity root: verified before the verifier hears DONE. */
    if (have_verity) {
        if (!snpg_verity_open(&verity, verity.name, &error)) {
            set_refusal(ret_refusal, SNPG_PROTO_REASON_VERITY, error->message);
            return FALSE;
        }
        say(_("verified and opened the dm-verity root '%s' as /dev/mapper/%s"), verity.data_device,
            verity.name);
        g_clear_error(&error);
    }
#endif
    /* The verifier expects the key to be checked against a LUKS2 header this
     * agent has no disk to read: the key is not handed on unchecked. */
    if (payload->luks_cipher || payload->luks_key_bits || payload->has_luks_header_sha256) {
        set_refusal(ret_refusal, SNPG_PROTO_REASON_LUKS_UNCHECKED,
                    _("the verifier expects a LUKS2 header this agent has no disk to check"));
        return FALSE;
    }
    if (!payload->disk_key) {
        say(_("attestation accepted (no key for this VM)"));
        return TRUE;
    }
    if (!deliver_key(payload->disk_key, &error)) {
        set_refusal(ret_refusal, SNPG_PROTO_REASON_DELIVERY, error->message);
        return FALSE;
    }
    say(_("received the disk key (%zu bytes)"), snpg_secret_len(payload->disk_key));
    return TRUE;
}

/* One connection: opens the stream by the deadline, or -1 after printing why. */
static int
open_stream(int listen_fd, const char *device, gint64 deadline, GError **error)
{
    if (listen_fd >= 0)
        return snpg_transport_accept(listen_fd, deadline, error);
    if (opt_connect)
        return snpg_transport_connect(opt_connect, deadline, error);
    return snpg_transport_open_device(device, error);
}

/* The value of PARAM=VALUE on the kernel command line: NULL when absent,
 * an error when given twice with different values. */
static char *
cmdline_get(const char *cmdline, const char *param, GError **error)
{
    g_auto(GStrv) words = g_strsplit_set(cmdline, " \t\n", -1);
    g_autofree char *prefix = g_strconcat(param, "=", NULL);
    const char *found = NULL;

    for (gsize i = 0; words[i]; i++) {
        if (!g_str_has_prefix(words[i], prefix))
            continue;
        /* Two different values: refuse rather than guess which one counts. */
        if (found && !g_str_equal(found, words[i] + strlen(prefix))) {
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                        _("the kernel command line gives %s twice"), param);
            return NULL;
        }
        found = words[i] + strlen(prefix);
    }
    return g_strdup(found);
}

/* Picks the root to open from the options, else the kernel command line.
 * Returns EXIT_KEY (0) or an exit code after printing why. */
static int
configure_root(const char *cmdline)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *root = NULL, *verity_text = NULL;

    if (cmdline && !opt_luks_device && !opt_verity) {
        root = cmdline_get(cmdline, "snpguard.root", &error);
        if (!error)
            verity_text = cmdline_get(cmdline, "snpguard.verity", &error);
        if (error) {
            fail("%s", error->message);
            return EXIT_FAILED;
        }
        if (root && !g_str_has_prefix(root, "luks:")) {
            fail(_("snpguard.root takes luks:DEV, not '%s'"), root);
            return EXIT_FAILED;
        }
        if (root && root[5] != '/') {
            fail(_("snpguard.root=luks: needs an absolute device path, not '%s'"), root + 5);
            return EXIT_FAILED;
        }
    }
    if (opt_luks_device)
        luks_device = opt_luks_device;
    else if (root)
        luks_device = g_strdup(root + 5);
    if (opt_verity)
        verity_text = g_strdup(opt_verity);
    if (luks_device && verity_text)
        return usage_error(_("give a LUKS2 root or a dm-verity root, not both"));
#ifdef AGENT_OPENS_ROOT
    if (verity_text) {
        if (!snpg_verity_params_parse(verity_text, &verity, &error)) {
            fail("%s", error->message);
            return EXIT_FAILED;
        }
        have_verity = TRUE;
    }
#else
    /* Fail closed: a root that must be checked is never left unchecked. */
    if (luks_device || verity_text) {
        fail(_("this snpguard-agent was built without LUKS2 and dm-verity support "
               "(--without-cryptsetup or a static agent)"));
        return opt_luks_device || opt_verity ? EXIT_USAGE : EXIT_FAILED;
    }
#endif
    if (opt_luks_name && !luks_device)
        return usage_error(_("--luks-name needs a LUKS2 root (--luks-device)"));
    if (opt_luks_name && (!*opt_luks_name || strlen(opt_luks_name) > 64 || strchr(opt_luks_name, '/')))
        return usage_error(_("--luks-name takes a device-mapper name, not '%s'"), opt_luks_name);
    if (luks_device && (opt_key_out || opt_key_fd >= 0))
        return usage_error(_("the key of a LUKS2 root goes to the root only: drop --key-out and --key-fd"));
    return EXIT_KEY;
}

static gint64
wait_deadline(void)
{
    return opt_wait > 0 ? g_get_monotonic_time() + (gint64)(opt_wait * G_USEC_PER_SEC) : G_MAXINT64;
}

int
main(int argc, char **argv)
{
    g_autoptr(GOptionContext) ctx = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(SnpgPsp) psp = NULL;
    g_autofree char *device = NULL;
    g_autofree char *cmdline = NULL;
    int code;
    SnpgAgentConfig config = { .get_report = get_report, .deliver = deliver_payload };
    guint8 pin[SNPG_PROTO_PIN_LEN];
    gboolean have_pin = FALSE;
    int listen_fd = -1, modes;
    gint64 backoff = G_USEC_PER_SEC / 2;
    gint64 waiting_until;
    gboolean pause = FALSE, delivery_failed = FALSE;
    int attempt = 0;
    int last = EXIT_FAILED;

    setlocale(LC_ALL, "");
    bindtextdomain(GETTEXT_PACKAGE, LOCALEDIR);
    bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
    textdomain(GETTEXT_PACKAGE);
    prctl(PR_SET_DUMPABLE, 0);
    /* A reader of --key-fd that went away is a failed delivery, not a kill. */
    signal(SIGPIPE, SIG_IGN);
    /* --help says "snpguard-agent", whatever path it was started by. */
    g_set_prgname("snpguard-agent");

    ctx = g_option_context_new(NULL);
    g_option_context_set_summary(ctx, _("Attest this SEV-SNP guest to its owner and receive its disk key."));
    g_option_context_set_translation_domain(ctx, GETTEXT_PACKAGE);
    g_option_context_add_main_entries(ctx, entries, GETTEXT_PACKAGE);
    if (!g_option_context_parse(ctx, &argc, &argv, &error))
        return usage_error("%s", error->message);
    if (opt_version) {
        printf("snpguard-agent %s\n", PACKAGE_VERSION);
        return EXIT_KEY;
    }
    modes = !!opt_listen + !!opt_connect + !!opt_device + !!opt_port;
    if (argc > 1)
        return usage_error(_("unexpected argument '%s' (the agent takes options only)"), argv[1]);
    if (modes > 1)
        return usage_error(_("give at most one of --port, --device, --listen and --connect"));
    if (opt_vmpl < 0 || opt_vmpl > 3)
        return usage_error(_("--vmpl takes 0 to 3, not '%d'"), opt_vmpl);
    if (opt_attempts < 0)
        return usage_error(_("--attempts takes 0 (for ever) or more, not '%d'"), opt_attempts);
    if (opt_timeout <= 0 || opt_backoff_max < 0)
        return usage_error(_("--timeout must be positive and --backoff-max not negative"));
    if (opt_wait < 0 || opt_wait > G_MAXINT64 / G_USEC_PER_SEC / 2)
        return usage_error(_("--wait takes 0 (for ever) or a number of seconds, not '%g'"), opt_wait);
    if (opt_key_fd >= 0 && opt_key_out)
        return usage_error(_("give --key-fd or --key-out, not both"));
    /* The kernel bounds /proc/cmdline (COMMAND_LINE_SIZE); --cmdline files too. */
    {
        g_autoptr(GBytes) bytes = snpg_file_read(opt_cmdline ? opt_cmdline : "/proc/cmdline",
                                                 CMDLINE_MAX, NULL);
        if (bytes)
            cmdline = g_strndup(g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes));
    }
    if ((code = configure_root(cmdline)) != EXIT_KEY)
        return code;
    /* A key is printed only when asked for explicitly. */
    if (!luks_device && opt_key_fd < 0 && !opt_key_out && isatty(STDOUT_FILENO))
        return usage_error(_("refusing to print the key to a terminal: give --key-out FILE, "
                             "--key-out - or --key-fd"));
    if (opt_kex) {
        if (g_str_equal(opt_kex, "p384"))
            config.kex = SNPG_KEX_P384;
        else if (g_str_equal(opt_kex, "x25519"))
            config.kex = SNPG_KEX_X25519;
        else
            return usage_error(_("unknown key agreement '%s' (use p384 or x25519)"), opt_kex);
    }
    config.read_timeout_us = (gint64)(opt_timeout * G_USEC_PER_SEC);

    /* Which verifier may hand this VM its key: the pin on the measured kernel
     * command line, or the option; without either, only when told so. */
    if (opt_verifier_pin) {
        if (!snpg_hex_decode("--verifier-pin", opt_verifier_pin, pin, sizeof(pin), &error))
            return usage_error("%s", error->message);
        have_pin = TRUE;
    } else if (cmdline) {
        have_pin = snpg_identity_pin_from_cmdline(cmdline, pin, &error);
        if (error) {
            fail("%s", error->message);
            return EXIT_FAILED;
        }
    }
    if (have_pin && opt_any_verifier)
        return usage_error(_("--any-verifier contradicts the verifier pin"));
    if (!have_pin && !opt_any_verifier)
        return usage_error(_("no verifier is pinned: put %s=PIN on the kernel command line, "
                             "give --verifier-pin, or --any-verifier (insecure)"),
                           SNPG_IDENTITY_CMDLINE_PARAM);
    config.verifier_pin = have_pin ? pin : NULL;

    /* The simulator is never chosen implicitly: only real hardware is. */
    if (!opt_psp)
        opt_psp = g_strdup(g_file_test("/dev/sev-guest", G_FILE_TEST_EXISTS) ? "sev-guest" : "tsm");
    if (!(psp = snpg_psp_open(opt_psp, &error))) {
        fail("%s", error->message);
        return EXIT_FAILED;
    }
    config.user_data = psp;

    if (opt_listen) {
        if ((listen_fd = snpg_transport_listen(opt_listen, &error)) < 0) {
            fail("%s", error->message);
            return EXIT_FAILED;
        }
        say(_("waiting for the verifier on '%s'"), opt_listen);
    } else if (!opt_connect) {
        device = opt_device ? g_strdup(opt_device) : NULL;
    }

    /* Only sessions that started count as attempts: waiting for a verifier
     * to connect (a port without a host side reads as hung up) is bounded by
     * --wait instead. A refusal is a verdict: a later failure that is not
     * one (the refusing verifier hanging up) does not replace it. */
    waiting_until = wait_deadline();
    while (opt_attempts == 0 || attempt < opt_attempts) {
        g_auto(SnpgAgentResult) result = { 0 };
        g_autoptr(GError) session_error = NULL;
        int fd;

        if (pause && listen_fd < 0) {
            g_usleep((gulong)backoff);
            backoff = MIN(backoff * 2, (gint64)(opt_backoff_max * G_USEC_PER_SEC));
        }
        pause = TRUE;
        /* The port may appear late (module loading): look it up each time. */
        if (listen_fd < 0 && !opt_connect && !opt_device) {
            g_clear_pointer(&device, g_free);
            device = snpg_port_find(opt_port ? opt_port : SNPG_PORT_DEFAULT_NAME, opt_sysfs, NULL,
                                    &session_error);
            if (!device) {
                fail("%s", session_error->message);
                attempt++;
                continue;
            }
        }
        if ((fd = open_stream(listen_fd, device, waiting_until, &session_error)) < 0) {
            if (g_error_matches(session_error, SNPG_TRANSPORT_ERROR, SNPG_TRANSPORT_ERROR_TIMEOUT)) {
                fail(_("giving up: no verifier started a session within %g s"), opt_wait);
                break;
            }
            fail("%s", session_error->message);
            attempt++;
            continue;
        }
        if (!snpg_transport_wait_first_byte(fd, waiting_until, &session_error)) {
            close(fd);
            if (g_error_matches(session_error, SNPG_TRANSPORT_ERROR, SNPG_TRANSPORT_ERROR_TIMEOUT)) {
                fail(_("giving up: no verifier started a session within %g s"), opt_wait);
                break;
            }
            if (!g_error_matches(session_error, SNPG_TRANSPORT_ERROR, SNPG_TRANSPORT_ERROR_CLOSED)) {
                fail("%s", session_error->message);
                attempt++;
            }
            continue;
        }
        attempt++;
        say(_("attempt %d: attesting with '%s'"), attempt, snpg_psp_name(psp));
        if (!snpg_session_run_agent(fd, &config, &result, &session_error)) {
            close(fd);
            if (result.delivered) {
                /* The key is where it belongs; only its receipt is unconfirmed. */
                fail(_("the verifier was not told the key arrived: %s"), session_error->message);
                last = EXIT_KEY;
                break;
            }
            fail("%s", session_error->message);
            /* The same key would fail the same way: no new attempt. */
            if (result.delivery_failed) {
                last = EXIT_FAILED;
                delivery_failed = TRUE;
                break;
            }
            if (last != EXIT_REFUSED)
                last = EXIT_FAILED;
            waiting_until = wait_deadline();
            continue;
        }
        close(fd);
        if (result.refused) {
            print_refusal(&result.refusal);
            last = EXIT_REFUSED;
            waiting_until = wait_deadline();
            continue;
        }
        last = EXIT_KEY;
        break;
    }
    if (listen_fd >= 0)
        close(listen_fd);
    if (opt_attempts != 0 && attempt >= opt_attempts && last != EXIT_KEY && !delivery_failed)
        fail(_("giving up after attempt %d"), attempt);
    return last;
}
