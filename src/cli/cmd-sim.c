/* snpguard sim: the simulated secure processor (TEST keys, not AMD's). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <glib/gi18n.h>

#include "cli-util.h"
#include "cmd-sim.h"
#include "command.h"
#include "sim.h"

/* "fmc=N,bl=N,tee=N,snp=N,ucode=N": unnamed components keep their value. */
static gboolean
parse_tcb(const char *opt, const char *text, SnpgTcb *tcb)
{
    g_auto(GStrv) parts = g_strsplit(text, ",", -1);

    for (gsize i = 0; parts[i]; i++) {
        g_auto(GStrv) kv = g_strsplit(parts[i], "=", 2);
        guint64 v;
        guint8 *field = NULL;

        if (kv[0] && kv[1]) {
            if (g_str_equal(kv[0], "fmc"))
                field = &tcb->fmc;
            else if (g_str_equal(kv[0], "bl"))
                field = &tcb->bl;
            else if (g_str_equal(kv[0], "tee"))
                field = &tcb->tee;
            else if (g_str_equal(kv[0], "snp"))
                field = &tcb->snp;
            else if (g_str_equal(kv[0], "ucode"))
                field = &tcb->ucode;
        }
        if (!field) {
            snpg_cli_error(_("%s takes fmc=N,bl=N,tee=N,snp=N,ucode=N: '%s'"), opt, text);
            return FALSE;
        }
        if (!snpg_cli_parse_u64(opt, kv[1], 10, 255, &v))
            return FALSE;
        *field = (guint8)v;
    }
    return TRUE;
}

/* ---- sim init ---------------------------------------------------------- */

static int
run_init(int argc, char **argv)
{
    g_autofree char *product = NULL;
    g_autofree char *tcb_text = NULL;
    g_autofree char *chip_text = NULL;
    g_autofree char *root_from = NULL;
    gboolean force = FALSE;
    const GOptionEntry entries[] = {
        { "product", 0, 0, G_OPTION_ARG_STRING, &product,
          N_("Product line: Milan, Genoa or Turin (default Milan)"), N_("NAME") },
        { "tcb", 0, 0, G_OPTION_ARG_STRING, &tcb_text,
          N_("The chip's TCB (default: a recent one of the product)"),
          N_("fmc=N,bl=N,tee=N,snp=N,ucode=N") },
        { "chip-id", 0, 0, G_OPTION_ARG_STRING, &chip_text,
          N_("The chip id, 64 bytes in hex (Turin: 8; default random)"), N_("HEX") },
        { "root-from", 0, 0, G_OPTION_ARG_FILENAME, &root_from,
          N_("Reuse the test ARK and ASK of the simulator in OTHER_DIR (a second chip under "
             "the same root)"), N_("OTHER_DIR") },
        { "force", 0, 0, G_OPTION_ARG_NONE, &force,
          N_("Replace a simulator already in DIR"), NULL },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx = snpg_cli_context_new("sim init", "DIR",
        _("Create a simulated secure processor: a TEST ARK, ASK and VCEK with AMD's "
          "algorithms and extensions, a chip id and a TCB.\n\n"
          "These are test keys: a verifier rejects this root unless --trust-root names "
          "DIR/ark.pem."), entries);
    g_autoptr(GError) error = NULL;
    SnpgSimInitOptions options = { 0 };
    SnpgTcb tcb = { 0 };
    guint8 chip_id[SNPG_SIM_CHIP_ID_SIZE] = { 0 };
    const char *names[] = { NULL, "Milan", "Genoa", "Turin" };
    gboolean found = FALSE;

    if (!snpg_cli_parse(ctx, &argc, &argv))
        return SNPG_EXIT_USAGE;
    if (argc != 2) {
        snpg_cli_error(_("sim init takes one directory"));
        return SNPG_EXIT_USAGE;
    }
    for (int p = SNPG_PRODUCT_MILAN; p <= SNPG_PRODUCT_TURIN; p++) {
        if (!product || g_ascii_strcasecmp(product, names[p]) == 0) {
            options.product = (SnpgProduct)p;
            found = TRUE;
            break;
        }
    }
    if (!found) {
        snpg_cli_error(_("unknown product '%s' (expected Milan, Genoa or Turin)"), product);
        return SNPG_EXIT_USAGE;
    }
    if (tcb_text) {
        if (!parse_tcb("--tcb", tcb_text, &tcb))
            return SNPG_EXIT_USAGE;
        options.tcb = &tcb;
    }
    if (chip_text) {
        gsize n = options.product == SNPG_PRODUCT_TURIN ? 8 : SNPG_SIM_CHIP_ID_SIZE;
        if (!snpg_cli_parse_hex("--chip-id", chip_text, chip_id, n))
            return SNPG_EXIT_USAGE;
        options.chip_id = chip_id;
    }
    options.force = force;
    options.root_from = root_from;
    if (!snpg_sim_init_full(argv[1], &options, &error)) {
        snpg_cli_error("%s", error->message);
        return error->code == SNPG_SIM_ERROR_INVALID ? SNPG_EXIT_USAGE : SNPG_EXIT_ERROR;
    }
    printf(_("Simulated %s secure processor created in '%s' (TEST keys, not AMD's).\n"),
           names[options.product], argv[1]);
    return SNPG_EXIT_OK;
}

/* ---- sim report -------------------------------------------------------- */

typedef struct {
    const char *name;
    SnpgSimMalform flag;
} MalformName;

static const MalformName malform_names[] = {
    { "reserved", SNPG_SIM_MALFORM_RESERVED_NONZERO },
    { "sig-high-bytes", SNPG_SIM_MALFORM_SIG_HIGH_BYTES },
    { "sig-big-endian", SNPG_SIM_MALFORM_SIG_BIG_ENDIAN },
    { "unsigned", SNPG_SIM_MALFORM_UNSIGNED },
    { "sig-reserved", SNPG_SIM_MALFORM_SIG_RESERVED },
};

static int
run_report(int argc, char **argv)
{
    g_autofree char *measurement = NULL, *report_data = NULL, *host_data = NULL;
    g_autofree char *family_id = NULL, *image_id = NULL, *policy = NULL, *signing_key = NULL;
    g_autofree char *id_key_digest = NULL, *author_key_digest = NULL, *chip_id = NULL;
    g_autofree char *platform_info = NULL, *tcb_all = NULL, *tcb_reported = NULL;
    g_autofree char *tcb_committed = NULL, *tcb_launch = NULL, *tcb_current = NULL;
    g_autofree char *output = NULL, *sig_algo = NULL, *launch_mit = NULL, *current_mit = NULL;
    g_autofree char *vmpl = NULL, *version = NULL, *guest_svn = NULL;
    g_auto(GStrv) malform = NULL;
    gboolean author_key_en = FALSE, mask_chip_key = FALSE;
    const GOptionEntry entries[] = {
        { "measurement", 0, 0, G_OPTION_ARG_STRING, &measurement,
          N_("Launch measurement, 48 bytes in hex (required)"), N_("HEX") },
        { "report-data", 0, 0, G_OPTION_ARG_STRING, &report_data,
          N_("REPORT_DATA, up to 64 bytes in hex, zero-padded"), N_("HEX") },
        { "host-data", 0, 0, G_OPTION_ARG_STRING, &host_data,
          N_("HOST_DATA, up to 32 bytes in hex, zero-padded"), N_("HEX") },
        { "policy", 0, 0, G_OPTION_ARG_STRING, &policy,
          N_("Guest policy in hex (default 0x30000)"), N_("HEX") },
        { "vmpl", 0, 0, G_OPTION_ARG_STRING, &vmpl, N_("VMPL 0-3 (default 0)"), N_("N") },
        { "version", 0, 0, G_OPTION_ARG_STRING, &version,
          N_("Report version 2, 3 or 5 (default 5)"), N_("N") },
        { "guest-svn", 0, 0, G_OPTION_ARG_STRING, &guest_svn, N_("Guest SVN"), N_("N") },
        { "family-id", 0, 0, G_OPTION_ARG_STRING, &family_id,
          N_("FAMILY_ID, 16 bytes in hex"), N_("HEX") },
        { "image-id", 0, 0, G_OPTION_ARG_STRING, &image_id,
          N_("IMAGE_ID, 16 bytes in hex"), N_("HEX") },
        { "id-key-digest", 0, 0, G_OPTION_ARG_STRING, &id_key_digest,
          N_("ID_KEY_DIGEST, 48 bytes in hex"), N_("HEX") },
        { "author-key-digest", 0, 0, G_OPTION_ARG_STRING, &author_key_digest,
          N_("AUTHOR_KEY_DIGEST, 48 bytes in hex"), N_("HEX") },
        { "author-key-en", 0, 0, G_OPTION_ARG_NONE, &author_key_en,
          N_("Set AUTHOR_KEY_EN"), NULL },
        { "signing-key", 0, 0, G_OPTION_ARG_STRING, &signing_key,
          N_("SIGNING_KEY field: vcek, vlek or none (the report is always signed by the "
             "simulated VCEK)"), N_("KEY") },
        { "platform-info", 0, 0, G_OPTION_ARG_STRING, &platform_info,
          N_("PLATFORM_INFO in hex (default 0x1)"), N_("HEX") },
        { "chip-id", 0, 0, G_OPTION_ARG_STRING, &chip_id,
          N_("CHIP_ID, 64 bytes in hex (default: the simulator's)"), N_("HEX") },
        { "mask-chip-key", 0, 0, G_OPTION_ARG_NONE, &mask_chip_key,
          N_("Set MASK_CHIP_KEY (CHIP_ID becomes zero)"), NULL },
        { "tcb", 0, 0, G_OPTION_ARG_STRING, &tcb_all,
          N_("All four TCBs (default: the simulator's)"), N_("fmc=N,bl=N,...") },
        { "current-tcb", 0, 0, G_OPTION_ARG_STRING, &tcb_current, N_("CURRENT_TCB"),
          N_("fmc=N,bl=N,...") },
        { "reported-tcb", 0, 0, G_OPTION_ARG_STRING, &tcb_reported, N_("REPORTED_TCB"),
          N_("fmc=N,bl=N,...") },
        { "committed-tcb", 0, 0, G_OPTION_ARG_STRING, &tcb_committed, N_("COMMITTED_TCB"),
          N_("fmc=N,bl=N,...") },
        { "launch-tcb", 0, 0, G_OPTION_ARG_STRING, &tcb_launch, N_("LAUNCH_TCB"),
          N_("fmc=N,bl=N,...") },
        { "launch-mit-vector", 0, 0, G_OPTION_ARG_STRING, &launch_mit,
          N_("LAUNCH_MIT_VECTOR in hex (version 5)"), N_("HEX") },
        { "current-mit-vector", 0, 0, G_OPTION_ARG_STRING, &current_mit,
          N_("CURRENT_MIT_VECTOR in hex (version 5)"), N_("HEX") },
        { "signature-algo", 0, 0, G_OPTION_ARG_STRING, &sig_algo,
          N_("SIGNATURE_ALGO (default 1; others make an invalid report)"), N_("N") },
        { "malform", 0, 0, G_OPTION_ARG_STRING_ARRAY, &malform,
          N_("Make a deliberately invalid report: reserved, sig-high-bytes, sig-big-endian, "
             "unsigned or sig-reserved (repeatable)"), N_("DEFECT") },
        { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
          N_("Write the 1184-byte report to FILE (required)"), N_("FILE") },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx = snpg_cli_context_new("sim report", "DIR",
        _("Make an ATTESTATION_REPORT signed by the simulated VCEK in DIR."), entries);
    g_autoptr(GError) error = NULL;
    g_autoptr(SnpgSim) sim = NULL;
    SnpgSimReportFields f;
    SnpgSimLaunchArgs launch;
    SnpgTcb base, t_current, t_reported, t_committed, t_launch;
    guint8 chip[SNPG_SIM_CHIP_ID_SIZE];
    guint8 report[SNPG_REPORT_SIZE];
    guint64 v;

    if (!snpg_cli_parse(ctx, &argc, &argv))
        return SNPG_EXIT_USAGE;
    if (argc != 2) {
        snpg_cli_error(_("sim report takes one simulator directory"));
        return SNPG_EXIT_USAGE;
    }
    if (!measurement || !output) {
        snpg_cli_error(_("sim report needs --measurement and --output"));
        return SNPG_EXIT_USAGE;
    }
    snpg_sim_report_fields_init(&f);
    launch = (SnpgSimLaunchArgs){ measurement, host_data, family_id, image_id, id_key_digest,
                                  author_key_digest };
    if (!snpg_sim_launch_args_parse(&launch, f.measurement, f.host_data, f.family_id, f.image_id,
                                    f.id_key_digest, f.author_key_digest) ||
        (report_data && !snpg_cli_parse_hex_padded("--report-data", report_data, f.report_data, 64)) ||
        (chip_id && !snpg_cli_parse_hex("--chip-id", chip_id, chip, sizeof(chip))))
        return SNPG_EXIT_USAGE;
    if (policy) {
        if (!snpg_cli_parse_u64("--policy", policy, 16, G_MAXUINT64, &f.policy))
            return SNPG_EXIT_USAGE;
    }
    if (platform_info && !snpg_cli_parse_u64("--platform-info", platform_info, 16, G_MAXUINT64,
                                    &f.platform_info))
        return SNPG_EXIT_USAGE;
    if (launch_mit && !snpg_cli_parse_u64("--launch-mit-vector", launch_mit, 16, G_MAXUINT64,
                                 &f.launch_mit_vector))
        return SNPG_EXIT_USAGE;
    if (current_mit && !snpg_cli_parse_u64("--current-mit-vector", current_mit, 16, G_MAXUINT64,
                                  &f.current_mit_vector))
        return SNPG_EXIT_USAGE;
    if (vmpl) {
        if (!snpg_cli_parse_u64("--vmpl", vmpl, 10, 3, &v))
            return SNPG_EXIT_USAGE;
        f.vmpl = (guint32)v;
    }
    if (version) {
        if (!snpg_cli_parse_u64("--version", version, 10, G_MAXUINT32, &v))
            return SNPG_EXIT_USAGE;
        if (v != 2 && v != 3 && v != 5) {
            snpg_cli_error(_("--version takes 2, 3 or 5: '%s'"), version);
            return SNPG_EXIT_USAGE;
        }
        f.version = (guint32)v;
    }
    if (guest_svn) {
        if (!snpg_cli_parse_u64("--guest-svn", guest_svn, 10, G_MAXUINT32, &v))
            return SNPG_EXIT_USAGE;
        f.guest_svn = (guint32)v;
    }
    if (sig_algo) {
        if (!snpg_cli_parse_u64("--signature-algo", sig_algo, 10, G_MAXUINT32, &v))
            return SNPG_EXIT_USAGE;
        f.signature_algo = (guint32)v;
    }
    if (signing_key) {
        if (g_ascii_strcasecmp(signing_key, "vcek") == 0)
            f.signing_key = SNPG_SIGNING_KEY_VCEK;
        else if (g_ascii_strcasecmp(signing_key, "vlek") == 0)
            f.signing_key = SNPG_SIGNING_KEY_VLEK;
        else if (g_ascii_strcasecmp(signing_key, "none") == 0)
            f.signing_key = SNPG_SIGNING_KEY_NONE;
        else {
            snpg_cli_error(_("--signing-key takes vcek, vlek or none: '%s'"), signing_key);
            return SNPG_EXIT_USAGE;
        }
    }
    for (gsize i = 0; malform && malform[i]; i++) {
        gboolean found = FALSE;
        for (gsize j = 0; j < G_N_ELEMENTS(malform_names); j++) {
            if (g_str_equal(malform[i], malform_names[j].name)) {
                f.malform |= malform_names[j].flag;
                found = TRUE;
            }
        }
        if (!found) {
            snpg_cli_error(_("unknown --malform defect '%s'"), malform[i]);
            return SNPG_EXIT_USAGE;
        }
    }
    f.author_key_en = author_key_en;
    f.mask_chip_key = mask_chip_key;
    if (chip_id)
        f.chip_id = chip;

    if (!(sim = snpg_sim_load(argv[1], &error))) {
        snpg_cli_error("%s", error->message);
        return SNPG_EXIT_ERROR;
    }
    snpg_sim_get_tcb(sim, &base);
    if (tcb_all && !parse_tcb("--tcb", tcb_all, &base))
        return SNPG_EXIT_USAGE;
    t_current = t_reported = t_committed = t_launch = base;
    if ((tcb_current && !parse_tcb("--current-tcb", tcb_current, &t_current)) ||
        (tcb_reported && !parse_tcb("--reported-tcb", tcb_reported, &t_reported)) ||
        (tcb_committed && !parse_tcb("--committed-tcb", tcb_committed, &t_committed)) ||
        (tcb_launch && !parse_tcb("--launch-tcb", tcb_launch, &t_launch)))
        return SNPG_EXIT_USAGE;
    f.current_tcb = &t_current;
    f.reported_tcb = &t_reported;
    f.committed_tcb = &t_committed;
    f.launch_tcb = &t_launch;

    if (!snpg_sim_build_report(sim, &f, report, &error)) {
        snpg_cli_error("%s", error->message);
        return error->code == SNPG_SIM_ERROR_INVALID ? SNPG_EXIT_USAGE : SNPG_EXIT_ERROR;
    }
    if (!g_file_set_contents(output, (const char *)report, sizeof(report), &error)) {
        snpg_cli_error(_("cannot write '%s': %s"), output, error->message);
        return SNPG_EXIT_ERROR;
    }
    return SNPG_EXIT_OK;
}

static const SnpgCommand subcommands[] = {
    { "init", NULL, run_init },
    { "report", NULL, run_report },
    { "identity", NULL, snpg_cmd_sim_identity_run },
    { NULL }
};

static const char help[] =
    N_("Usage: snpguard sim init DIR [--product Milan|Genoa|Turin] [--force]\n"
       "       snpguard sim report DIR --measurement HEX [OPTION...] -o FILE\n"
       "       snpguard sim identity DIR --measurement HEX [OPTION...] -o FILE\n\n"
       "The simulated secure processor: TEST keys, not AMD's. A verifier rejects\n"
       "its root unless --trust-root names DIR/ark.pem.\n\n"
       "Run 'snpguard sim SUBCOMMAND --help' for options.\n");

const SnpgCommand snpg_cmd_sim = {
    "sim", N_("Simulated secure processor with TEST keys (init, report, identity)"), NULL,
    subcommands, help,
};
