/* The start gate (see gate.h). */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include <glib/gi18n.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "domain.h"
#include "gate.h"
#include "hex.h"
#include "measure.h"
#include "sim-identity.h"
#include "statedir.h"

gboolean
snpg_gate_domain_is_managed(xmlDoc *doc)
{
    g_autoptr(xmlXPathContext) ctx = xmlXPathNewContext(doc);
    g_autoptr(xmlXPathObject) found = NULL;

    if (!ctx || xmlXPathRegisterNs(ctx, BAD_CAST "snpg", BAD_CAST SNPG_DOMAIN_NS_URI) != 0)
        return FALSE;
    found = xmlXPathEvalExpression(BAD_CAST "/domain/metadata/snpg:*", ctx);
    return found && found->nodesetval && found->nodesetval->nodeNr > 0;
}

void
snpg_gate_result_clear(SnpgGateResult *result)
{
    g_free(result->message);
    g_strfreev(result->reasons);
    g_free(result->measurement);
    memset(result, 0, sizeof(*result));
}

char *
snpg_gate_identity_dir(const char *state_dir)
{
    g_autofree char *id = g_compute_checksum_for_string(G_CHECKSUM_SHA256, state_dir, -1);

    /* Per state directory, so that test runs and users do not collide. */
    id[16] = '\0';
    return g_build_filename(SNPG_GATE_EMULATE_RUN_DIR, id, NULL);
}

char *
snpg_gate_identity_path(const char *state_dir, const char *name)
{
    g_autofree char *dir = snpg_gate_identity_dir(state_dir);
    g_autofree char *file = g_strdup_printf("%s.identity", name);

    return g_build_filename(dir, file, NULL);
}

/* One level of the identity directory: created 0711 (QEMU, another user,
 * must traverse it; nobody may list or write it), or an existing one that
 * is a real directory of ours that only we can write. */
static gboolean
ensure_traversable_dir(const char *path, GError **error)
{
    GStatBuf st;

    if (g_mkdir(path, 0711) != 0 && errno != EEXIST) {
        g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_IO,
                    _("Cannot create '%s': %s"), path, g_strerror(errno));
        return FALSE;
    }
    if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
        (st.st_mode & 022)) {
        g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_IO,
                    _("'%s' is not a directory of this user that only it can write"), path);
        return FALSE;
    }
    return TRUE;
}

char *
snpg_gate_sim_dir(const char *state_dir)
{
    return g_build_filename(state_dir, "sim", NULL);
}

/* The file of the fw_cfg entry the guest reads its identity from. */
static char *
fwcfg_identity_file(xmlDoc *doc)
{
    g_autoptr(xmlXPathContext) ctx = xmlXPathNewContext(doc);
    g_autoptr(xmlXPathObject) obj = NULL;

    if (!ctx)
        return NULL;
    obj = xmlXPathEvalExpression(BAD_CAST "string(/domain/sysinfo[@type='fwcfg']/entry[@name='"
                                 SNPG_DOMAIN_FWCFG_IDENTITY "']/@file)", ctx);
    if (!obj || obj->type != XPATH_STRING || !obj->stringval || !*obj->stringval)
        return NULL;
    return g_strdup((const char *)obj->stringval);
}

/* Plays the AMD-SP for an emulated domain: the identity carries what the
 * files measure now, whatever the registry expects. */
static gboolean
write_identity(const char *state_dir, const char *name, xmlDoc *doc, const SnpgDomainMeta *meta,
               const guint8 *digest, GError **error)
{
    g_autofree char *want = snpg_gate_identity_path(state_dir, name);
    g_autofree char *file = fwcfg_identity_file(doc);
    g_autofree char *sim_dir = snpg_gate_sim_dir(state_dir);
    SnpgSimIdentityParams params;

    /* Without a registry here (a remote verifier) the AMD-SP it plays
     * must still be the one the verifier trusts: this host's copy. */
    {
        g_autofree char *conf = g_build_filename(sim_dir, "sim.conf", NULL);

        if (!g_file_test(conf, G_FILE_TEST_EXISTS)) {
            g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_INVALID,
                        _("the emulated domain needs a simulated secure processor in %s and "
                          "this host has none (copy the one the verifier trusts there)"),
                        sim_dir);
            return FALSE;
        }
    }

    /* The hook runs as root: it writes only where define put the file,
     * never where an edited XML points. */
    if (!file || !g_str_equal(file, want)) {
        g_set_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_INVALID,
                    _("the emulated domain's fw_cfg entry %s names '%s', not '%s'"),
                    SNPG_DOMAIN_FWCFG_IDENTITY, file ? file : "", want);
        return FALSE;
    }
    {
        g_autofree char *dir = snpg_gate_identity_dir(state_dir);
        g_autofree char *parent = g_path_get_dirname(dir);
        g_autofree char *top = g_path_get_dirname(parent);

        if (!ensure_traversable_dir(top, error) || !ensure_traversable_dir(parent, error) ||
            !ensure_traversable_dir(dir, error))
            return FALSE;
    }
    snpg_sim_identity_params_init(&params);
    memcpy(params.measurement, digest, sizeof(params.measurement));
    params.policy = meta->policy;
    return snpg_sim_identity_write(sim_dir, &params, want, error);
}

/* Names what changed since define: the files by their digests (the ones
 * the measurement computed anyway: no second read), else the rest of the
 * launch parameters (vCPUs, CPU model, command line, features). */
static GStrv
changed_inputs(const SnpgVmRecord *rec, const SnpgMeasureExplain *ex)
{
    g_autoptr(GStrvBuilder) b = g_strv_builder_new();
    gboolean any = FALSE;

    for (guint i = 0; rec->inputs && i < rec->inputs->len; i++) {
        const SnpgVmInput *in = g_ptr_array_index(rec->inputs, i);
        g_autofree char *now = NULL;

        if (g_str_equal(in->role, "firmware"))
            now = snpg_hex_encode(ex->firmware_digest, SNPG_MEASURE_SNP_DIGEST_SIZE);
        else if (g_str_equal(in->role, "kernel") && ex->has_hashes)
            now = snpg_hex_encode(ex->hashes.kernel, 32);
        else if (g_str_equal(in->role, "initrd") && ex->has_hashes)
            now = snpg_hex_encode(ex->hashes.initrd, 32);
        else if (g_str_equal(in->role, "cmdline") && ex->has_hashes)
            now = snpg_hex_encode(ex->hashes.cmdline, 32);
        if (now && g_ascii_strcasecmp(now, in->digest) != 0) {
            g_autofree char *reason = g_strdup_printf("%s-changed", in->role);

            g_strv_builder_add(b, reason);
            any = TRUE;
        }
    }
    if (!any)
        g_strv_builder_add(b, "launch-parameters-changed");
    return g_strv_builder_end(b);
}

static void
record_refusal(SnpgRegistry *reg, const SnpgVmRecord *rec, const SnpgGateResult *result)
{
    g_autoptr(SnpgEvent) ev = snpg_event_new(SNPG_EVENT_START_REFUSED, rec->name);
    g_autoptr(GError) error = NULL;

    ev->verdict = SNPG_VERDICT_REFUSED;
    ev->reasons = g_strdupv(result->reasons);
    ev->measurement = g_strdup(result->measurement);
    ev->detail = g_strdup(result->message);
    /* The refusal stands even if it cannot be recorded. */
    if (!snpg_registry_add_event(reg, ev, &error))
        g_warning("cannot record the refused start of '%s': %s", rec->name, error->message);
}

gboolean
snpg_gate_prepare(const char *state_dir, const char *name, xmlDoc *doc, SnpgGateResult *result,
                  GError **error)
{
    g_auto(SnpgDomainMeta) meta = { 0 };
    g_auto(SnpgLaunchInputs) in = { 0 };
    g_autoptr(SnpgMeasureExplain) ex = NULL;
    g_autoptr(SnpgRegistry) reg = NULL;
    g_autoptr(SnpgVmRecord) rec = NULL;
    guint8 digest[SNPG_MEASURE_SNP_DIGEST_SIZE];

    memset(result, 0, sizeof(*result));
    if (!snpg_domain_meta_read(doc, &meta, error) ||
        !snpg_domain_launch_inputs(doc, &in, error) ||
        !snpg_domain_measure(&in, digest, &ex, error))
        return FALSE;
    result->measurement = snpg_hex_encode(digest, sizeof(digest));

    if (meta.emulate) {
        if (!write_identity(state_dir, name, doc, &meta, digest, error))
            return FALSE;
        result->wrote_identity = TRUE;
    }

    if (!(reg = snpg_registry_open(state_dir, SNPG_REGISTRY_OPEN_DEFAULT, error)) ||
        !(rec = snpg_registry_get_vm(reg, name, error))) {
        if (error && *error && g_error_matches(*error, SNPG_REGISTRY_ERROR,
                                               SNPG_REGISTRY_ERROR_NOT_FOUND)) {
            /* A remote verifier ('snpguard watch' over a libvirt
             * connection) keeps the registry on the owner's machine: the
             * gate is only an early refusal, its attestation is the
             * boundary. */
            if (meta.verifier_mode && g_str_equal(meta.verifier_mode, "watch")) {
                g_clear_error(error);
                return TRUE;
            }
            g_clear_error(error);
            g_set_error(error, SNPG_REGISTRY_ERROR, SNPG_REGISTRY_ERROR_NOT_FOUND,
                        _("the domain carries snpguard's metadata but the registry in %s does "
                          "not know it (snpguard adopt %s registers it)"), state_dir, name);
        }
        return FALSE;
    }
    if (g_ascii_strcasecmp(rec->expected_measurement, result->measurement) == 0)
        return TRUE;
    result->reasons = changed_inputs(rec, ex);
    {
        g_autofree char *list = g_strjoinv(", ", result->reasons);

        result->message = g_strdup_printf(
            _("snpguard: refusing to start '%s': its boot files measure %.16s..., not the "
              "expected %.16s... (%s); 'snpguard show %s' lists the inputs"),
            name, result->measurement, rec->expected_measurement, list, name);
    }
    if (!meta.gate)
        return TRUE;   /* gate off: the attestation rejects it */
    result->refused = TRUE;
    record_refusal(reg, rec, result);
    return TRUE;
}
