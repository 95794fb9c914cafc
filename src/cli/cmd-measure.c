/* snpguard measure: a drop-in for sev-snp-measure over the core measure
 * engine, plus --explain and --json for debugging a mismatch. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <glib/gi18n.h>

#include "cli-util.h"
#include "command.h"
#include "hex.h"
#include "measure.h"
#include "measure-explain.h"

typedef struct {
    char *mode;
    char *vcpus;
    char *vcpu_type;
    char *vcpu_sig;
    char *vcpu_family;
    char *vcpu_model;
    char *vcpu_stepping;
    char *vmm_type;
    char *ovmf;
    char *kernel;
    char *initrd;
    char *append;
    char *guest_features;
    char *ovmf_hash;
    char *output_format;
    char *svsm;
    char *vars_size;
    char *vars_file;
    gboolean dump_vmsa;
    gboolean verbose;
    gboolean explain;
    gboolean json;
} Options;

static void
options_clear(Options *o)
{
    g_free(o->mode);
    g_free(o->vcpus);
    g_free(o->vcpu_type);
    g_free(o->vcpu_sig);
    g_free(o->vcpu_family);
    g_free(o->vcpu_model);
    g_free(o->vcpu_stepping);
    g_free(o->vmm_type);
    g_free(o->ovmf);
    g_free(o->kernel);
    g_free(o->initrd);
    g_free(o->append);
    g_free(o->guest_features);
    g_free(o->ovmf_hash);
    g_free(o->output_format);
    g_free(o->svsm);
    g_free(o->vars_size);
    g_free(o->vars_file);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Options, options_clear)

/* Returns an exit code through *ret when the command is finished. */
#define USAGE(...) (snpg_cli_error(__VA_ARGS__), SNPG_EXIT_USAGE)
#define FAIL(...) (snpg_cli_error(__VA_ARGS__), SNPG_EXIT_ERROR)

/* An integer the way Python's int(s, 0) reads one: 0x, 0o, 0b prefixes or
 * decimal; negative values are refused (the reference wraps them). */
static gboolean
parse_auto_base(const char *s, guint64 max, guint64 *ret)
{
    guint base = 10;

    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        base = 16;
    else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O'))
        base = 8;
    else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B'))
        base = 2;
    else if (s[0] == '0' && s[1] != '\0')
        return FALSE;   /* Python refuses "010": is it octal or decimal? */
    if (base != 10)
        s += 2;
    return g_ascii_string_to_unsigned(s, base, 0, max, ret, NULL);
}

static gboolean
parse_decimal(const char *s, guint64 max, guint64 *ret)
{
    return g_ascii_string_to_unsigned(s, 10, 0, max, ret, NULL);
}

static char *
format_digest(const guint8 *digest, gsize len, gboolean base64)
{
    return base64 ? g_base64_encode(digest, len) : snpg_hex_encode(digest, len);
}

/* The CPU signature, with sev-snp-measure's precedence: family/model/
 * stepping, then --vcpu-sig, then --vcpu-type. */
static int
resolve_vcpu_sig(const Options *o, SnpgMeasureMode mode, SnpgVmmType vmm, guint32 *ret_sig)
{
    g_autoptr(GError) error = NULL;
    guint64 v = 0;

    *ret_sig = 0;
    /* Checked in every mode: a misspelt option must not go unnoticed. */
    if (o->vcpu_type && !snpg_vmsa_cpu_type_sig(o->vcpu_type, ret_sig, &error)) {
        g_autofree char *known = g_strjoinv(", ", (char **)snpg_vmsa_cpu_types());
        return FAIL(_("%s Known types: %s."), error->message, known);
    }
    if (o->vcpu_family && (!o->vcpu_model || !o->vcpu_stepping))
        return FAIL(_("--vcpu-family needs --vcpu-model and --vcpu-stepping."));
    if (mode == SNPG_MEASURE_MODE_SEV) {
        *ret_sig = 0;   /* no VMSA is measured */
        return SNPG_EXIT_OK;
    }
    if (o->vcpu_family) {
        guint64 f, m, s;

        if (!parse_decimal(o->vcpu_family, G_MAXUINT32, &f))
            return USAGE(_("Invalid --vcpu-family value '%s'."), o->vcpu_family);
        if (!parse_decimal(o->vcpu_model, G_MAXUINT32, &m))
            return USAGE(_("Invalid --vcpu-model value '%s'."), o->vcpu_model);
        if (!parse_decimal(o->vcpu_stepping, G_MAXUINT32, &s))
            return USAGE(_("Invalid --vcpu-stepping value '%s'."), o->vcpu_stepping);
        if (!snpg_vmsa_cpu_sig(f, m, s, ret_sig, &error))
            return FAIL("%s", error->message);
    } else if (o->vcpu_sig) {
        if (!parse_auto_base(o->vcpu_sig, G_MAXUINT32, &v))
            return USAGE(_("Invalid --vcpu-sig value '%s' (a 32-bit number: decimal, 0x hex, "
                           "0o octal or 0b binary)."), o->vcpu_sig);
        *ret_sig = (guint32)v;
    } else if (!o->vcpu_type && vmm == SNPG_VMM_QEMU) {
        return USAGE(_("missing --vcpu-type or --vcpu-sig or --vcpu-family in guest mode '%s'"),
                     o->mode);
    }
    return SNPG_EXIT_OK;
}

static const char *
verbose_mode_name(SnpgMeasureMode mode)
{
    switch (mode) {
    case SNPG_MEASURE_MODE_SNP: return "SEV_SNP";
    case SNPG_MEASURE_MODE_SEV_ES: return "SEV_ES";
    case SNPG_MEASURE_MODE_SEV: return "SEV";
    case SNPG_MEASURE_MODE_SNP_SVSM: return "SEV_SNP_SVSM";
    default: return "SEV_SNP";
    }
}

static int
dump_vmsas(const SnpgMeasureExplain *ex, guint vcpus)
{
    for (guint i = 0; i < vcpus; i++) {
        g_autoptr(GError) error = NULL;
        g_autofree char *name = g_strdup_printf("vmsa%u.bin", i);

        if (!g_file_set_contents(name, (const char *)(i == 0 ? ex->bsp_vmsa : ex->ap_vmsa),
                                 SNPG_VMSA_PAGE_SIZE, &error))
            return FAIL("%s", error->message);
    }
    return SNPG_EXIT_OK;
}

static int
measure(Options *o)
{
    g_autoptr(SnpgMeasureExplain) explain = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *out = NULL;
    SnpgMeasureParams p = { 0 };
    guint8 ovmf_hash[SNPG_MEASURE_SNP_DIGEST_SIZE];
    guint8 digest[SNPG_MEASURE_DIGEST_MAX];
    gboolean base64;
    gboolean want_explain = o->explain || o->json || o->dump_vmsa;
    int mode, vmm, rc;
    guint64 v;

    /* Argument shapes first, with argparse's exit code 2. */
    if (!o->mode || !o->ovmf)
        return USAGE(_("the following arguments are required: %s"),
                     !o->mode && !o->ovmf ? "--mode, --ovmf" : !o->mode ? "--mode" : "--ovmf");
    if ((mode = snpg_measure_mode_from_string(o->mode)) < 0)
        return USAGE(_("argument --mode: invalid choice: '%s' (choose from 'sev', 'seves', "
                       "'snp', 'snp:ovmf-hash', 'snp:svsm')"), o->mode);
    if (o->output_format && !g_str_equal(o->output_format, "hex") &&
        !g_str_equal(o->output_format, "base64"))
        return USAGE(_("argument --output-format: invalid choice: '%s' (choose from 'hex', "
                       "'base64')"), o->output_format);
    base64 = o->output_format && g_str_equal(o->output_format, "base64");
    p.mode = mode;
    p.firmware = o->ovmf;

    if (mode == SNPG_MEASURE_MODE_SNP_OVMF_HASH) {
        /* Like the reference: everything else is ignored, output is hex. */
        base64 = FALSE;
        o->verbose = FALSE;
        o->dump_vmsa = FALSE;
        want_explain = o->explain || o->json;
    } else {
        if ((o->initrd || (o->append && *o->append)) && !o->kernel)
            return FAIL(_("--initrd and --append need --kernel."));
        if (mode == SNPG_MEASURE_MODE_SNP_SVSM) {
            /* argparse's checks first (exit 2), like the reference. */
            if (o->vars_size && o->vars_file)
                return USAGE(_("argument --vars-file: not allowed with argument --vars-size"));
            if (o->vars_size && !parse_decimal(o->vars_size, SNPG_MEASURE_VARS_SIZE_MAX, &v))
                return USAGE(_("Invalid --vars-size value '%s' (a decimal number of bytes)."),
                             o->vars_size);
            if (o->vars_size)
                p.vars_size = v;
            if (!o->vars_file && p.vars_size == 0)
                return USAGE(_("snp:svsm mode requires --vars-size or --vars-file"));
            if (!o->svsm)
                return FAIL(_("snp:svsm mode needs --svsm PATH."));
            p.svsm = o->svsm;
            p.vars_file = o->vars_file;
        } else if (o->svsm || o->vars_size || o->vars_file) {
            return FAIL(_("--svsm, --vars-size and --vars-file apply to the snp:svsm mode only."));
        }
        if (mode != SNPG_MEASURE_MODE_SEV && !o->vcpus)
            return USAGE(_("missing --vcpus N in guest mode '%s'"), o->mode);
        if (mode != SNPG_MEASURE_MODE_SEV) {
            if (!parse_decimal(o->vcpus, 65536, &v))
                return USAGE(_("Invalid --vcpus value '%s'."), o->vcpus);
            p.vcpus = (guint)v;
        }
        vmm = snpg_vmm_type_from_string(o->vmm_type ? o->vmm_type : "QEMU");
        if (vmm < 0)
            return USAGE(_("unknown VMM type '%s'"), o->vmm_type);
        p.vmm = vmm;
        if ((rc = resolve_vcpu_sig(o, mode, vmm, &p.vcpu_sig)) != SNPG_EXIT_OK)
            return rc;
        if (mode == SNPG_MEASURE_MODE_SNP_SVSM && vmm != SNPG_VMM_QEMU)
            return FAIL(_("snp:svsm mode supports --vmm-type QEMU only, not '%s'."), o->vmm_type);
        p.guest_features = 0x1;
        if (o->guest_features && !parse_auto_base(o->guest_features, G_MAXUINT64, &v))
            return USAGE(_("Invalid --guest-features value '%s' (a 64-bit number: decimal, "
                           "0x hex, 0o octal or 0b binary)."), o->guest_features);
        if (o->guest_features)
            p.guest_features = v;
        if (o->dump_vmsa && mode == SNPG_MEASURE_MODE_SEV)
            return USAGE(_("--dump-vmsa is not available in the selected mode"));
        if (o->ovmf_hash) {
            if (mode != SNPG_MEASURE_MODE_SNP)
                return FAIL(_("--snp-ovmf-hash applies to the snp mode only."));
            if (!snpg_hex_decode("--snp-ovmf-hash", o->ovmf_hash, ovmf_hash, sizeof(ovmf_hash), NULL))
                return FAIL(_("--snp-ovmf-hash must be exactly 48 bytes written as 96 hex digits."));
            p.ovmf_hash = ovmf_hash;
        }
        p.kernel = o->kernel;
        p.initrd = o->initrd;
        p.append = o->append;
    }

    if (!snpg_measure(&p, digest, want_explain ? &explain : NULL, &error))
        return FAIL("%s", error->message);
    if (o->dump_vmsa && (rc = dump_vmsas(explain, p.vcpus)) != SNPG_EXIT_OK)
        return rc;

    if (o->json) {
        g_autoptr(JsonBuilder) b = json_builder_new();
        g_autoptr(JsonNode) root = NULL;

        json_builder_begin_object(b);
        snpg_cli_json_add_measure_explain(b, explain, base64);
        json_builder_end_object(b);
        root = json_builder_get_root(b);
        snpg_cli_print_json(root);
    } else if (o->explain) {
        snpg_cli_print_measure_explain(explain, base64);
    } else {
        out = format_digest(digest, snpg_measure_digest_size(mode), base64);
        if (o->verbose)
            printf("Calculated %s guest measurement: %s\n", verbose_mode_name(mode), out);
        else
            printf("%s\n", out);
    }
    return fflush(stdout) == 0 ? SNPG_EXIT_OK : FAIL(_("Cannot write the output."));
}

static int
run(int argc, char **argv)
{
    g_auto(Options) o = { 0 };
    const GOptionEntry entries[] = {
        { "mode", 0, 0, G_OPTION_ARG_STRING, &o.mode,
          N_("Guest mode: snp, seves, sev, snp:ovmf-hash or snp:svsm (required)"), N_("MODE") },
        { "vcpus", 0, 0, G_OPTION_ARG_STRING, &o.vcpus, N_("Number of guest vCPUs"), N_("N") },
        { "vcpu-type", 0, 0, G_OPTION_ARG_STRING, &o.vcpu_type,
          N_("QEMU vCPU model (EPYC, EPYC-Rome, EPYC-Milan, EPYC-Genoa, EPYC-Turin, ...)"),
          N_("CPUTYPE") },
        { "vcpu-sig", 0, 0, G_OPTION_ARG_STRING, &o.vcpu_sig,
          N_("vCPU signature, CPUID(1).EAX (0x.. hex, 0o.. octal or decimal)"), N_("VALUE") },
        { "vcpu-family", 0, 0, G_OPTION_ARG_STRING, &o.vcpu_family, N_("vCPU family"),
          N_("FAMILY") },
        { "vcpu-model", 0, 0, G_OPTION_ARG_STRING, &o.vcpu_model, N_("vCPU model"), N_("MODEL") },
        { "vcpu-stepping", 0, 0, G_OPTION_ARG_STRING, &o.vcpu_stepping, N_("vCPU stepping"),
          N_("STEPPING") },
        { "vmm-type", 0, 0, G_OPTION_ARG_STRING, &o.vmm_type,
          N_("Type of VMM: QEMU (default), ec2 or gce"), N_("VMMTYPE") },
        { "ovmf", 0, 0, G_OPTION_ARG_FILENAME, &o.ovmf, N_("OVMF firmware file (required)"),
          N_("PATH") },
        { "kernel", 0, 0, G_OPTION_ARG_FILENAME, &o.kernel, N_("Kernel file (direct boot)"),
          N_("PATH") },
        { "initrd", 0, 0, G_OPTION_ARG_FILENAME, &o.initrd, N_("Initrd file (with --kernel)"),
          N_("PATH") },
        /* FILENAME: the bytes as given, so the core can refuse invalid UTF-8. */
        { "append", 0, 0, G_OPTION_ARG_FILENAME, &o.append,
          N_("Kernel command line (with --kernel)"), N_("CMDLINE") },
        { "guest-features", 0, 0, G_OPTION_ARG_STRING, &o.guest_features,
          N_("SEV features of the guest's VMSA (default 0x1)"), N_("VALUE") },
        { "snp-ovmf-hash", 0, 0, G_OPTION_ARG_STRING, &o.ovmf_hash,
          N_("Precomputed digest of the firmware pages (96 hex digits, see --mode "
             "snp:ovmf-hash)"), N_("HASH") },
        { "output-format", 0, 0, G_OPTION_ARG_STRING, &o.output_format,
          N_("Output format: hex (default) or base64"), N_("FORMAT") },
        { "svsm", 0, 0, G_OPTION_ARG_FILENAME, &o.svsm,
          N_("Coconut-SVSM image (snp:svsm mode)"), N_("PATH") },
        { "vars-size", 0, 0, G_OPTION_ARG_STRING, &o.vars_size,
          N_("Size of the OVMF_VARS file in bytes (snp:svsm mode; conflicts with --vars-file)"),
          N_("SIZE") },
        { "vars-file", 0, 0, G_OPTION_ARG_FILENAME, &o.vars_file,
          N_("OVMF_VARS file (snp:svsm mode; conflicts with --vars-size)"), N_("PATH") },
        { "dump-vmsa", 0, 0, G_OPTION_ARG_NONE, &o.dump_vmsa,
          N_("Write each measured VMSA to vmsaN.bin in the current directory"), NULL },
        { "verbose", 'v', 0, G_OPTION_ARG_NONE, &o.verbose,
          N_("Print \"Calculated MODE guest measurement: ...\""), NULL },
        { "explain", 0, 0, G_OPTION_ARG_NONE, &o.explain,
          N_("Show how the measurement was computed, step by step"), NULL },
        { "json", 0, 0, G_OPTION_ARG_NONE, &o.json,
          N_("Print the measurement and its explanation as JSON"), NULL },
        { NULL }
    };
    g_autoptr(GOptionContext) ctx = snpg_cli_context_new("measure", NULL,
        _("Compute the expected SEV-SNP (or SEV-ES, SEV) launch measurement.\n\n"
          "snp:svsm mode (AMD SEV-SNP with Coconut-SVSM, QEMU only) also needs --svsm and\n"
          "either --vars-size or --vars-file; it ignores --guest-features (always 0x1)."),
        entries);

    if (!snpg_cli_parse(ctx, &argc, &argv))
        return SNPG_EXIT_USAGE;
    if (argc > 1)
        return USAGE(_("unrecognized arguments: %s"), argv[1]);
    return measure(&o);
}

const SnpgCommand snpg_cmd_measure = {
    "measure", N_("Compute the expected SEV-SNP launch measurement"), run,
};
