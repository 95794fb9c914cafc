/* The domain XML layer: every XML snpguard writes validates against
 * libvirt 12.8's RelaxNG schemas; the measurement stored in it equals
 * 'snpguard measure' (and sev-snp-measure) on the values the XML holds,
 * whatever form the XML takes; hostile XML gets a clear error. */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libxml/relaxng.h>
#include <libxml/xpathInternals.h>

#include "domain.h"
#include "measure-inputs.h"
#include "testutil.h"

static char *inputs;          /* amd.bin, x64.bin, kernel.bin, initrd.bin, ... */
static char *templates;
static xmlRelaxNGPtr schema;

/* sev-snp-measure 0.0.13 (8f2b337e): --mode snp --vcpus 4 --vcpu-type EPYC-Milan
 * --ovmf amd.bin --kernel kernel.bin --initrd initrd.bin --append console=ttyS0
 * (the "snp-kernel" oracle of test-cli-measure.c, same inputs). */
#define ORACLE_SNP_KERNEL \
    "564973fdb2d7189a55fb520de8028b1741b0197d820d51debc1ba89fa16403aa4e48c76b79045576efb7262faad4f392"

static char *
input(const char *name)
{
    return g_build_filename(inputs, name, NULL);
}

static void
assert_valid(xmlDoc *doc)
{
    xmlRelaxNGValidCtxtPtr v = xmlRelaxNGNewValidCtxt(schema);
    int rc = xmlRelaxNGValidateDoc(v, doc);

    xmlRelaxNGFreeValidCtxt(v);
    if (rc != 0) {
        g_autofree char *text = snpg_domain_to_string(doc);
        g_test_message("invalid domain XML:\n%s", text);
    }
    g_assert_cmpint(rc, ==, 0);
}

static char *
xpath_text(xmlDoc *doc, const char *expr)
{
    g_autofree char *wrapped = g_strdup_printf("string(%s)", expr);
    g_autoptr(xmlXPathContext) ctx = xmlXPathNewContext(doc);
    g_autoptr(xmlXPathObject) obj = NULL;

    xmlXPathRegisterNs(ctx, BAD_CAST "snpguard", BAD_CAST SNPG_DOMAIN_NS_URI);
    obj = xmlXPathEvalExpression(BAD_CAST wrapped, ctx);
    g_assert_nonnull(obj);
    g_assert_cmpint(obj->type, ==, XPATH_STRING);
    return g_strdup((const char *)obj->stringval);
}

static xmlDoc *
parse_string(const char *text)
{
    g_autoptr(GError) error = NULL;
    xmlDoc *doc = snpg_domain_parse(text, strlen(text), "(test)", &error);

    g_assert_no_error(error);
    return doc;
}

/* A test data domain with @DIR@ replaced by the inputs directory. */
static char *
data_domain(const char *name)
{
    g_autofree char *path = snpg_test_data("domains", name, NULL);
    g_autofree char *text = NULL;
    g_autoptr(GError) error = NULL;
    g_auto(GStrv) parts = NULL;

    g_assert_true(g_file_get_contents(path, &text, NULL, &error));
    parts = g_strsplit(text, "@DIR@", -1);
    return g_strjoinv(inputs, parts);
}

static char *
write_tmp(const char *name, const char *text)
{
    return snpg_test_write(inputs, name, text, strlen(text));
}

static void
base_spec(SnpgDomainSpec *spec, SnpgWorkflow workflow, char **owned)
{
    static const char *const one[] = { "/var/lib/libvirt/images/root.img", NULL };
    static const char *const two[] = { "/var/lib/libvirt/images/data.img",
                                       "/var/lib/libvirt/images/hash.img", NULL };

    memset(spec, 0, sizeof(*spec));
    spec->template_dir = templates;
    spec->name = "test-vm";
    spec->workflow = workflow;
    spec->firmware = owned[0] = input("amd.bin");
    spec->kernel = owned[1] = input("kernel.bin");
    spec->initrd = owned[2] = input("initrd.bin");
    spec->vcpus = 2;
    spec->vcpu_type = "EPYC-Milan";
    spec->memory_mib = 512;
    spec->disks = workflow == SNPG_WORKFLOW_ENCRYPTED ? one
                  : workflow == SNPG_WORKFLOW_INTEGRITY ? two : NULL;
    spec->policy = SNPG_DOMAIN_POLICY_DEFAULT;
    spec->failure_action = SNPG_FAILURE_DESTROY;
    spec->identity_file = "/var/lib/snpguard/emulate/test-vm.identity";
}

static void
free_owned(char **owned)
{
    for (int i = 0; i < 3; i++)
        g_free(owned[i]);
}

/* ---- templates and schema ---------------------------------------------- */

static void
test_templates_valid(void)
{
    for (int w = 0; w < SNPG_WORKFLOW_LAST; w++) {
        g_autofree char *file = g_strdup_printf("%s.xml", snpg_workflow_to_string(w));
        g_autofree char *path = g_build_filename(templates, file, NULL);
        g_autoptr(GError) error = NULL;
        g_autoptr(xmlDoc) doc = snpg_domain_parse_file(path, &error);
        g_auto(SnpgDomainMeta) meta = { 0 };

        g_assert_no_error(error);
        assert_valid(doc);
        g_assert_true(snpg_domain_meta_read(doc, &meta, &error));
        g_assert_cmpint(meta.workflow, ==, w);
    }
}

/* Every workflow x every option that changes the XML. */
static void
test_build_combinations(void)
{
    g_autofree char *id_block = NULL;
    g_autofree char *id_auth = NULL;
    g_autofree char *host_data = NULL;
    {
        g_autofree guint8 *zeros = g_malloc0(4096);
        id_block = g_base64_encode(zeros, 96);
        id_auth = g_base64_encode(zeros, 4096);
        host_data = g_base64_encode(zeros, 32);
    }

    for (int w = 0; w < SNPG_WORKFLOW_LAST; w++)
        for (guint combo = 0; combo < 32; combo++) {
            char *owned[3];
            SnpgDomainSpec spec;
            g_autoptr(GError) error = NULL;
            g_autoptr(xmlDoc) doc = NULL;
            g_auto(SnpgLaunchInputs) in = { 0 };
            g_autofree char *measurement = NULL, *type = NULL;
            gboolean emulate = combo & 1;

            base_spec(&spec, w, owned);
            spec.emulate = emulate;
            if (combo & 2)
                spec.console_log = "/var/log/snpguard/test-vm.log";
            if (combo & 4)
                spec.verifier_pin = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
            if ((combo & 8) && !emulate) {
                spec.id_block = id_block;
                spec.id_auth = id_auth;
                spec.host_data = host_data;
            }
            if (combo & 16) {
                spec.append = "console=ttyS0 quiet";
                spec.vcpus = 3;
                spec.vcpu_type = "EPYC-Genoa";
                spec.policy = 0x70000;
                spec.vmpl = 2;
                spec.failure_action = SNPG_FAILURE_PAUSE;
            }
            doc = snpg_domain_build(&spec, &error);
            g_assert_no_error(error);
            assert_valid(doc);

            type = xpath_text(doc, "/domain/@type");
            g_assert_cmpstr(type, ==, emulate ? "qemu" : "kvm");
            {
                g_autofree char *ls = xpath_text(doc, "count(/domain/launchSecurity)");
                g_autofree char *loader = xpath_text(doc, "count(/domain/os/loader)");
                g_autofree char *fwcfg = xpath_text(doc,
                    "/domain/sysinfo[@type='fwcfg']/entry[@name='" SNPG_DOMAIN_FWCFG_IDENTITY "']/@file");
                g_autofree char *disks = xpath_text(doc, "count(/domain/devices/disk)");
                g_autofree char *chan = xpath_text(doc,
                    "count(/domain/devices/channel[@type='unix']/target[@name='" SNPG_DOMAIN_CHANNEL_NAME "'])");
                g_autofree char *serial = xpath_text(doc, "count(/domain/devices/serial)");
                g_autofree char *reboot = xpath_text(doc, "/domain/on_reboot");
                g_autofree char *crash = xpath_text(doc, "/domain/on_crash");
                g_autofree char *cmdline = xpath_text(doc, "/domain/os/cmdline");
                g_autofree char *disks_want = g_strdup_printf("%u", snpg_workflow_disk_count(w));

                g_assert_cmpstr(ls, ==, emulate ? "0" : "1");
                g_assert_cmpstr(loader, ==, emulate ? "0" : "1");
                g_assert_cmpstr(fwcfg, ==, emulate ? spec.identity_file : "");
                g_assert_cmpstr(disks, ==, disks_want);
                g_assert_cmpstr(chan, ==, "1");
                g_assert_cmpstr(serial, ==, (combo & 2) ? "1" : "0");
                g_assert_cmpstr(reboot, ==, "destroy");
                g_assert_cmpstr(crash, ==, "destroy");
                if (combo & 4)
                    g_assert_nonnull(strstr(cmdline, "snpguard.verifier=00112233445566778899aabbccddeeff"
                                                     "00112233445566778899aabbccddeeff"));
                if (combo & 2)
                    g_assert_nonnull(strstr(cmdline, "console="));
                if (combo & 16)
                    g_assert_true(g_str_has_prefix(cmdline, "console=ttyS0 quiet"));
            }
            if (!emulate) {
                g_autofree char *policy = xpath_text(doc, "/domain/launchSecurity/policy");
                g_autofree char *hashes = xpath_text(doc, "/domain/launchSecurity/@kernelHashes");
                g_autofree char *model = xpath_text(doc, "/domain/cpu[@mode='custom']/model[@fallback='forbid']");

                g_assert_cmpstr(policy, ==, (combo & 16) ? "0x70000" : "0x30000");
                g_assert_cmpstr(hashes, ==, "yes");
                g_assert_cmpstr(model, ==, spec.vcpu_type);
            }

            /* The stored measurement is what the XML's own values give. */
            measurement = xpath_text(doc, "/domain/metadata/snpguard:vm/snpguard:measurement");
            g_assert_true(snpg_domain_launch_inputs(doc, &in, &error));
            g_assert_no_error(error);
            g_assert_cmpuint(in.vcpus, ==, spec.vcpus);
            g_assert_cmpuint(in.emulated, ==, emulate);
            {
                guint8 digest[SNPG_MEASURE_SNP_DIGEST_SIZE];
                g_autofree char *hex = NULL;

                g_assert_true(snpg_domain_measure(&in, digest, NULL, &error));
                hex = snpg_test_hex(digest, sizeof(digest));
                g_assert_cmpstr(hex, ==, measurement);
            }
            free_owned(owned);
        }
}

/* The emulated VM carries the SNP VM's measurement: same boot files,
 * firmware and CPU from the metadata. */
static void
test_emulate_same_measurement(void)
{
    for (int w = 0; w < SNPG_WORKFLOW_LAST; w++) {
        char *owned[3];
        SnpgDomainSpec spec;
        g_autoptr(GError) error = NULL;
        g_autoptr(xmlDoc) snp = NULL, emu = NULL;
        g_autofree char *m1 = NULL, *m2 = NULL;

        base_spec(&spec, w, owned);
        snp = snpg_domain_build(&spec, &error);
        g_assert_no_error(error);
        spec.emulate = TRUE;
        emu = snpg_domain_build(&spec, &error);
        g_assert_no_error(error);
        m1 = xpath_text(snp, "/domain/metadata/snpguard:vm/snpguard:measurement");
        m2 = xpath_text(emu, "/domain/metadata/snpguard:vm/snpguard:measurement");
        g_assert_cmpuint(strlen(m1), ==, 96);
        g_assert_cmpstr(m1, ==, m2);
        free_owned(owned);
    }
}

/* Debian 12's libvirt 9.0 knows no sev-snp, but the emulated VM is a plain
 * TCG domain that its schema (when installed) accepts. */
static void
test_emulate_valid_for_libvirt_9(void)
{
    const char *rng = "/usr/share/libvirt/schemas/domain.rng";
    xmlRelaxNGParserCtxtPtr pctx;
    xmlRelaxNGPtr old_schema;

    if (!g_file_test(rng, G_FILE_TEST_EXISTS)) {
        g_test_skip("no libvirt schemas installed in /usr/share/libvirt/schemas");
        return;
    }
    pctx = xmlRelaxNGNewParserCtxt(rng);
    old_schema = xmlRelaxNGParse(pctx);
    xmlRelaxNGFreeParserCtxt(pctx);
    g_assert_nonnull(old_schema);
    for (int w = 0; w < SNPG_WORKFLOW_LAST; w++) {
        char *owned[3];
        SnpgDomainSpec spec;
        g_autoptr(GError) error = NULL;
        g_autoptr(xmlDoc) doc = NULL;
        xmlRelaxNGValidCtxtPtr v;

        base_spec(&spec, w, owned);
        spec.emulate = TRUE;
        spec.console_log = "/var/log/snpguard/vm.log";
        spec.verifier_pin = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        doc = snpg_domain_build(&spec, &error);
        g_assert_no_error(error);
        v = xmlRelaxNGNewValidCtxt(old_schema);
        g_assert_cmpint(xmlRelaxNGValidateDoc(v, doc), ==, 0);
        xmlRelaxNGFreeValidCtxt(v);
        free_owned(owned);
    }
    xmlRelaxNGFree(old_schema);
}

/* host-passthrough: -cpu host, the host's own signature in every VMSA. */
static void
test_build_host_passthrough(void)
{
    char *owned[3];
    SnpgDomainSpec spec;
    g_autoptr(GError) error = NULL;
    g_autoptr(xmlDoc) doc = NULL;
    g_auto(SnpgLaunchInputs) in = { 0 };
    g_autofree char *mode = NULL;
    guint32 host_sig;

    if (!snpg_domain_host_cpu_sig("/proc/cpuinfo", &host_sig, NULL)) {
        g_test_skip("/proc/cpuinfo names no cpu family, model and stepping");
        return;
    }
    base_spec(&spec, SNPG_WORKFLOW_NONE, owned);
    spec.vcpu_type = SNPG_DOMAIN_HOST_PASSTHROUGH;
    doc = snpg_domain_build(&spec, &error);
    g_assert_no_error(error);
    assert_valid(doc);
    mode = xpath_text(doc, "/domain/cpu/@mode");
    g_assert_cmpstr(mode, ==, "host-passthrough");
    g_assert_true(snpg_domain_launch_inputs(doc, &in, &error));
    g_assert_cmphex(in.vcpu_sig, ==, host_sig);
    g_assert_nonnull(strstr(g_ptr_array_index(in.assumptions, 0), "this host's CPU"));
    free_owned(owned);
}

static void
test_build_refusals(void)
{
    static const struct {
        const char *what;
        const char *message;
    } cases[] = {
        { "vcpus-0", "vCPU count" },
        { "unknown-cpu", "Unknown CPU model 'EPYC-Nope'" },
        { "no-hashes-firmware", "SNP_KERNEL_HASHES" },
        { "missing-kernel", "kernel" },
        { "relative-firmware", "absolute" },
        { "disk-count", "takes 1 disk" },
        { "bad-id-block", "ID block" },
        { "id-block-alone", "ID block needs" },
        { "bad-pin", "pin" },
        { "bad-name", "domain name" },
        { "no-template", "template" },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *owned[3];
        SnpgDomainSpec spec;
        g_autoptr(GError) error = NULL;
        g_autoptr(xmlDoc) doc = NULL;
        g_autofree char *x64 = input("x64.bin");
        g_autofree char *nope = input("no-such-kernel");
        const char *w = cases[i].what;

        base_spec(&spec, SNPG_WORKFLOW_ENCRYPTED, owned);
        if (g_str_equal(w, "vcpus-0"))
            spec.vcpus = 0;
        else if (g_str_equal(w, "unknown-cpu"))
            spec.vcpu_type = "EPYC-Nope";
        else if (g_str_equal(w, "no-hashes-firmware"))
            spec.firmware = x64;
        else if (g_str_equal(w, "missing-kernel"))
            spec.kernel = nope;
        else if (g_str_equal(w, "relative-firmware"))
            spec.firmware = "amd.bin";
        else if (g_str_equal(w, "disk-count"))
            spec.disks = NULL;
        else if (g_str_equal(w, "bad-id-block"))
            spec.id_block = spec.id_auth = "AAAA";
        else if (g_str_equal(w, "id-block-alone"))
            spec.id_block = "AAAA";
        else if (g_str_equal(w, "bad-pin"))
            spec.verifier_pin = "1234";
        else if (g_str_equal(w, "bad-name"))
            spec.name = "a/b";
        else if (g_str_equal(w, "no-template"))
            spec.template_dir = "/nonexistent";
        doc = snpg_domain_build(&spec, &error);
        g_assert_null(doc);
        g_assert_nonnull(error);
        g_test_message("%s: %s", w, error->message);
        g_assert_nonnull(strstr(error->message, cases[i].message));
        free_owned(owned);
    }
}

/* ---- the CLI: define's measurement is snpguard measure's ---------------- */

static JsonObject *
parse_json(const char *text, JsonParser **ret_parser)
{
    g_autoptr(GError) error = NULL;
    JsonParser *parser = json_parser_new();

    g_assert_true(json_parser_load_from_data(parser, text, -1, &error));
    *ret_parser = parser;
    return json_node_get_object(json_parser_get_root(parser));
}

/* Runs 'snpguard measure' on the values the XML holds. */
static char *
measure_xml_values(xmlDoc *doc, gboolean emulated)
{
    g_autofree char *vcpus = xpath_text(doc, "/domain/vcpu");
    g_autofree char *current = xpath_text(doc, "/domain/vcpu/@current");
    g_autofree char *model = emulated
        ? xpath_text(doc, "/domain/metadata/snpguard:vm/snpguard:vcpu-type")
        : xpath_text(doc, "/domain/cpu/model");
    g_autofree char *firmware = emulated
        ? xpath_text(doc, "/domain/metadata/snpguard:vm/snpguard:firmware")
        : xpath_text(doc, "/domain/os/loader");
    g_autofree char *kernel = xpath_text(doc, "/domain/os/kernel");
    g_autofree char *initrd = xpath_text(doc, "/domain/os/initrd");
    g_autofree char *cmdline = xpath_text(doc, "/domain/os/cmdline");
    g_auto(SnpgRun) run = { 0 };

    snpg_run(&run, NULL, "measure", "--mode", "snp", "--vcpus", *current ? current : vcpus,
             "--vcpu-type", model, "--ovmf", firmware, "--kernel", kernel, "--initrd", initrd,
             "--append", cmdline, NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    g_strchomp(run.out);
    return g_steal_pointer(&run.out);
}

static void
test_cli_define_matches_measure(void)
{
    g_autofree char *fw = input("amd.bin"), *k = input("kernel.bin"), *i = input("initrd.bin");
    g_autofree char *key = input("verifier.pem");
    g_auto(SnpgRun) keyrun = { 0 };
    const char *const variants[][12] = {
        { NULL },
        { "--vcpus", "4", "--vcpu-type", "EPYC-Rome", "--append", "console=ttyS0 quiet", NULL },
        { "--emulate", "--vcpus", "2", "--vcpu-type", "EPYC-Genoa", "--console-log", "/tmp/c.log", NULL },
        { "--workflow", "encrypted", "--disk", "/tmp/root.img", "--verifier-key", key, NULL },
        { "--workflow", "integrity", "--disk", "d.img", "--disk", "h.img", "--emulate",
          "--verifier-key", key, "--policy", "0x70000", NULL },
    };

    snpg_run(&keyrun, NULL, "verifier-key", "create", key, "--force", NULL);
    g_assert_cmpint(keyrun.exit_code, ==, 0);
    for (gsize v = 0; v < G_N_ELEMENTS(variants); v++) {
        g_autoptr(GPtrArray) args = g_ptr_array_new();
        g_autoptr(JsonParser) parser = NULL;
        g_auto(SnpgRun) run = { 0 };
        g_autoptr(xmlDoc) doc = NULL;
        g_autofree char *from_measure = NULL, *stored = NULL;
        gboolean emulated = FALSE;
        JsonObject *obj;

        for (const char *const *a = (const char *const[]){ "define", "vm", "--firmware", fw,
                 "--kernel", k, "--initrd", i, "--print-xml", "--json", NULL }; *a; a++)
            g_ptr_array_add(args, (gpointer)*a);
        for (gsize j = 0; variants[v][j]; j++) {
            g_ptr_array_add(args, (gpointer)variants[v][j]);
            emulated |= g_str_equal(variants[v][j], "--emulate");
        }
        g_ptr_array_add(args, NULL);
        snpg_runv(&run, inputs, (const char *const *)args->pdata);
        g_assert_cmpint(run.exit_code, ==, 0);
        obj = parse_json(run.out, &parser);
        doc = parse_string(json_object_get_string_member(obj, "xml"));
        assert_valid(doc);
        from_measure = measure_xml_values(doc, emulated);
        stored = xpath_text(doc, "/domain/metadata/snpguard:vm/snpguard:measurement");
        g_assert_cmpstr(json_object_get_string_member(obj, "measurement"), ==, from_measure);
        g_assert_cmpstr(stored, ==, from_measure);
    }
}

static void
test_cli_define_print_xml(void)
{
    g_autofree char *fw = input("amd.bin"), *k = input("kernel.bin"), *i = input("initrd.bin");
    g_auto(SnpgRun) run = { 0 };
    g_autoptr(xmlDoc) doc = NULL;
    g_autofree char *name = NULL;

    snpg_run(&run, inputs, "define", "plain", "--firmware", fw, "--kernel", k, "--initrd", i,
             "--print-xml", NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    g_assert_true(g_str_has_prefix(run.out, "<domain type=\"kvm\">"));
    doc = parse_string(run.out);
    assert_valid(doc);
    name = xpath_text(doc, "/domain/name");
    g_assert_cmpstr(name, ==, "plain");
    /* No verifier key given: said, since the guest then trusts any verifier. */
    g_assert_nonnull(strstr(run.err, "--verifier-key"));
}

static void
test_cli_define_refusals(void)
{
    g_autofree char *fw = input("amd.bin"), *k = input("kernel.bin"), *i = input("initrd.bin");
    g_autofree char *x64 = input("x64.bin");
    static const struct {
        const char *args[6];
        int exit_code;
        const char *message;
    } cases[] = {
        { { "--vcpus", "0", NULL }, 2, "--vcpus must be at least 1" },
        { { "--vcpus", "many", NULL }, 2, "--vcpus" },
        { { "--vcpu-type", "Skylake-Server", NULL }, 1, "Unknown CPU model 'Skylake-Server'" },
        { { "--workflow", "both", NULL }, 2, "--workflow" },
        { { "--workflow", "encrypted", NULL }, 2, "takes 1 --disk" },
        { { "--policy", "0x10000", NULL }, 2, "bit 17" },
        { { "--vmpl", "4", NULL }, 2, "--vmpl" },
        { { "--failure-action", "reboot", NULL }, 2, "--failure-action" },
        { { "--no-gate", NULL }, 2, "--no-gate" },
        { { "--verifier-key", "/nonexistent.pem", NULL }, 1, "nonexistent" },
        { { "--memory", "0", NULL }, 2, "--memory" },
    };

    for (gsize c = 0; c < G_N_ELEMENTS(cases); c++) {
        g_autoptr(GPtrArray) args = g_ptr_array_new();
        g_auto(SnpgRun) run = { 0 };

        for (const char *const *a = (const char *const[]){ "define", "vm", "--firmware", fw,
                 "--kernel", k, "--initrd", i, "--print-xml", NULL }; *a; a++)
            g_ptr_array_add(args, (gpointer)*a);
        for (gsize j = 0; cases[c].args[j]; j++)
            g_ptr_array_add(args, (gpointer)cases[c].args[j]);
        g_ptr_array_add(args, NULL);
        snpg_runv(&run, inputs, (const char *const *)args->pdata);
        g_assert_cmpint(run.exit_code, ==, cases[c].exit_code);
        g_assert_cmpstr(run.out, ==, "");
        g_assert_nonnull(strstr(run.err, cases[c].message));
    }
    {
        /* A firmware without the SNP kernel-hashes section. */
        g_auto(SnpgRun) run = { 0 };
        snpg_run(&run, inputs, "define", "vm", "--firmware", x64, "--kernel", k, "--initrd", i,
                 "--print-xml", NULL);
        g_assert_cmpint(run.exit_code, ==, 1);
        g_assert_nonnull(strstr(run.err, "SNP_KERNEL_HASHES"));
    }
    {
        g_auto(SnpgRun) run = { 0 };
        snpg_run(&run, inputs, "define", "vm", "--kernel", k, "--initrd", i, "--print-xml", NULL);
        g_assert_cmpint(run.exit_code, ==, 2);
        g_assert_nonnull(strstr(run.err, "--firmware"));
    }
}

/* ---- adopt --------------------------------------------------------------- */

/* The virt-install domain and the hand-written one hold the same VM in other
 * forms (units, attribute order, quoting, loader form, placement=/current=,
 * check=/fallback=, a versioned CPU model, policy without 0x): one value. */
static void
test_adopt_forms_agree(void)
{
    g_autofree char *vi = data_domain("virt-install-snp.xml");
    g_autofree char *hw = data_domain("hand-written-snp.xml");
    g_autofree char *vi_path = write_tmp("virt-install-snp.xml", vi);
    g_autofree char *hw_path = write_tmp("hand-written-snp.xml", hw);
    g_autofree char *key = input("verifier.pem");
    g_auto(SnpgRun) keyrun = { 0 };
    g_autofree char *m[2] = { NULL, NULL };
    const char *paths[2] = { vi_path, hw_path };

    snpg_run(&keyrun, NULL, "verifier-key", "create", key, "--force", NULL);
    g_assert_cmpint(keyrun.exit_code, ==, 0);
    for (int p = 0; p < 2; p++) {
        g_auto(SnpgRun) run = { 0 };
        g_autoptr(JsonParser) parser = NULL;
        g_autoptr(xmlDoc) doc = NULL;
        g_autofree char *from_measure = NULL;
        JsonObject *obj;

        snpg_run(&run, NULL, "adopt", "--xml", paths[p], "--verifier-key", key, "--print-xml",
                 "--json", NULL);
        g_assert_cmpint(run.exit_code, ==, 0);
        obj = parse_json(run.out, &parser);
        doc = parse_string(json_object_get_string_member(obj, "xml"));
        assert_valid(doc);
        m[p] = g_strdup(json_object_get_string_member(obj, "measurement"));
        /* The pin was added (said on stderr); the channel only to virt-install's. */
        g_assert_true(json_object_get_boolean_member(obj, "added_verifier_pin"));
        g_assert_nonnull(strstr(run.err, "snpguard.verifier="));
        g_assert_cmpint(json_object_get_boolean_member(obj, "added_channel"), ==, p == 0);
        g_assert_cmpint(strstr(run.err, "attestation channel") != NULL, ==, p == 0);
        /* The vCPUs at launch are current=, 2 of 4. */
        {
            g_auto(SnpgRun) mrun = { 0 };
            g_autofree char *fw = input("amd.bin"), *k = input("kernel.bin");
            g_autofree char *i = input("initrd.bin");
            g_autofree char *cmdline = xpath_text(doc, "/domain/os/cmdline");

            snpg_run(&mrun, NULL, "measure", "--mode", "snp", "--vcpus", "2", "--vcpu-type",
                     "EPYC-Milan", "--ovmf", fw, "--kernel", k, "--initrd", i, "--append",
                     cmdline, NULL);
            g_assert_cmpint(mrun.exit_code, ==, 0);
            from_measure = g_strchomp(g_steal_pointer(&mrun.out));
        }
        g_assert_cmpstr(m[p], ==, from_measure);
    }
    g_assert_cmpstr(m[0], ==, m[1]);
}

/* A domain snpguard wrote, adopted again (from standard input too): nothing
 * to add, the same value, its settings kept. */
static void
test_adopt_roundtrip(void)
{
    g_autofree char *fw = input("amd.bin"), *k = input("kernel.bin"), *i = input("initrd.bin");
    g_autofree char *key = input("verifier.pem");
    g_auto(SnpgRun) keyrun = { 0 };

    snpg_run(&keyrun, NULL, "verifier-key", "create", key, "--force", NULL);
    g_assert_cmpint(keyrun.exit_code, ==, 0);
    for (int emulate = 0; emulate < 2; emulate++) {
        g_auto(SnpgRun) def = { 0 }, adopt = { 0 };
        g_autoptr(JsonParser) p1 = NULL, p2 = NULL;
        g_autoptr(xmlDoc) doc = NULL;
        g_autofree char *path = NULL, *failure = NULL, *workflow = NULL, *cmd = NULL;
        JsonObject *o1, *o2;

        snpg_run(&def, NULL, "define", "again", "--firmware", fw, "--kernel", k, "--initrd", i,
                 "--vcpus", "3", "--failure-action", "pause", "--workflow", "encrypted",
                 "--disk", "/tmp/root.img", "--verifier-key", key, "--print-xml", "--json",
                 emulate ? "--emulate" : NULL, NULL);
        g_assert_cmpint(def.exit_code, ==, 0);
        o1 = parse_json(def.out, &p1);
        g_assert_cmpuint(json_array_get_length(json_object_get_array_member(o1, "assumptions")), >=, 3);
        path = write_tmp("again.xml", json_object_get_string_member(o1, "xml"));
        cmd = g_strdup_printf("%s adopt --xml - --verifier-key '%s' --print-xml --json < '%s'",
                              g_getenv("SNPGUARD"), key, path);
        {
            g_autoptr(GError) error = NULL;
            int status;
            const char *argv[] = { "/bin/sh", "-c", cmd, NULL };

            g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                                       &adopt.out, &adopt.err, &status, &error));
            g_assert_true(g_spawn_check_wait_status(status, &error));
        }
        o2 = parse_json(adopt.out, &p2);
        g_assert_cmpstr(json_object_get_string_member(o1, "measurement"), ==,
                        json_object_get_string_member(o2, "measurement"));
        g_assert_false(json_object_get_boolean_member(o2, "added_channel"));
        g_assert_false(json_object_get_boolean_member(o2, "added_verifier_pin"));
        g_assert_cmpstr(adopt.err, ==, "");
        doc = parse_string(json_object_get_string_member(o2, "xml"));
        failure = xpath_text(doc, "/domain/metadata/snpguard:vm/snpguard:failure-action");
        workflow = xpath_text(doc, "/domain/metadata/snpguard:vm/snpguard:workflow");
        g_assert_cmpstr(failure, ==, "pause");
        g_assert_cmpstr(workflow, ==, "encrypted");
    }
}

/* A hand-written domain with sev-snp-measure's own oracle inputs gives
 * sev-snp-measure's value. */
static void
test_adopt_oracle(void)
{
    g_autofree char *text = g_strdup_printf(
        "<domain type='kvm'><name>oracle</name><memory unit='KiB'>1048576</memory>"
        "<vcpu>4</vcpu><os><type>hvm</type><loader>%s/amd.bin</loader>"
        "<kernel>%s/kernel.bin</kernel><initrd>%s/initrd.bin</initrd>"
        "<cmdline>console=ttyS0</cmdline></os>"
        "<cpu mode='custom'><model>EPYC-Milan</model></cpu>"
        "<devices><channel type='unix'><source mode='bind'/>"
        "<target type='virtio' name='org.snpguard.attest.0'/></channel></devices>"
        "<launchSecurity type='sev-snp' kernelHashes='yes'><policy>0x30000</policy>"
        "</launchSecurity></domain>", inputs, inputs, inputs);
    g_autoptr(xmlDoc) doc = parse_string(text);
    g_autoptr(GError) error = NULL;
    g_auto(SnpgLaunchInputs) in = { 0 };
    g_autoptr(SnpgMeasureExplain) explain = NULL;
    guint8 digest[SNPG_MEASURE_SNP_DIGEST_SIZE];
    g_autofree char *hex = NULL;
    g_autofree char *path = write_tmp("oracle.xml", text);
    g_auto(SnpgRun) run = { 0 };

    g_assert_true(snpg_domain_launch_inputs(doc, &in, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(in.vcpus, ==, 4);
    g_assert_cmphex(in.vcpu_sig, ==, 0x00a00f11);
    g_assert_cmphex(in.guest_features, ==, 0x1);
    g_assert_cmphex(in.policy, ==, 0x30000);
    g_assert_cmpstr(in.cmdline, ==, "console=ttyS0");
    g_assert_cmpuint(in.assumptions->len, >=, 3);
    g_assert_true(snpg_domain_measure(&in, digest, &explain, &error));
    hex = snpg_test_hex(digest, sizeof(digest));
    g_assert_cmpstr(hex, ==, ORACLE_SNP_KERNEL);
    g_assert_nonnull(explain);

    /* The CLI: nothing to add but no pin, which it says. */
    snpg_run(&run, NULL, "adopt", "--xml", path, "--print-xml", "--json", NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    g_assert_nonnull(strstr(run.out, ORACLE_SNP_KERNEL));
    g_assert_nonnull(strstr(run.err, "any verifier"));
    g_assert_null(strstr(run.err, "added"));
}

/* ---- reading hostile or unusable XML ------------------------------------ */

typedef struct {
    const char *name;
    const char *xml;          /* %s: the inputs directory, up to 3 times */
    const char *message;
} Refusal;

#define OS_OK "<os><type>hvm</type><loader>%1$s/amd.bin</loader><kernel>%1$s/kernel.bin</kernel>" \
              "<initrd>%1$s/initrd.bin</initrd></os>"
#define LS_OK "<launchSecurity type='sev-snp' kernelHashes='yes'><policy>0x30000</policy></launchSecurity>"
#define CPU_OK "<cpu mode='custom'><model>EPYC-Milan</model></cpu>"

static const Refusal refusals[] = {
    { "not-xml", "<domain><name>x</name", "not well-formed" },
    { "not-domain", "<network/>", "not a libvirt domain" },
    { "namespaced-root", "<domain xmlns='urn:x'/>", "not a libvirt domain" },
    { "billion-laughs",
      "<!DOCTYPE domain [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'>"
      "<!ENTITY c '&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;'><!ENTITY d '&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;'>"
      "<!ENTITY e '&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;'><!ENTITY f '&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;'>"
      "<!ENTITY g '&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;'><!ENTITY h '&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;'>]>"
      "<domain><vcpu>1</vcpu><os><cmdline>&h;</cmdline></os></domain>",
      "The domain XML" /* libxml2 stops the expansion loop, or the DTD is refused */ },
    { "external-entity",
      "<!DOCTYPE domain [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><domain><name>&x;</name></domain>",
      "document type declaration" },
    { "no-launch-security", "<domain><vcpu>1</vcpu>" OS_OK CPU_OK "</domain>", "launchSecurity" },
    { "sev-not-snp", "<domain><vcpu>1</vcpu>" OS_OK CPU_OK
      "<launchSecurity type='sev'><policy>0x33</policy></launchSecurity></domain>", "'sev', not 'sev-snp'" },
    { "kernel-hashes-off", "<domain><vcpu>1</vcpu>" OS_OK CPU_OK
      "<launchSecurity type='sev-snp'><policy>0x30000</policy></launchSecurity></domain>", "kernelHashes='yes'" },
    { "kernel-hashes-no", "<domain><vcpu>1</vcpu>" OS_OK CPU_OK
      "<launchSecurity type='sev-snp' kernelHashes='no'><policy>0x30000</policy></launchSecurity></domain>",
      "kernelHashes='yes'" },
    { "no-policy", "<domain><vcpu>1</vcpu>" OS_OK CPU_OK
      "<launchSecurity type='sev-snp' kernelHashes='yes'/></domain>", "<policy>" },
    { "vcpus-0", "<domain><vcpu>0</vcpu>" OS_OK CPU_OK LS_OK "</domain>", "vCPU count '0'" },
    { "vcpus-junk", "<domain><vcpu>two</vcpu>" OS_OK CPU_OK LS_OK "</domain>", "vCPU count 'two'" },
    { "current-above", "<domain><vcpu current='5'>4</vcpu>" OS_OK CPU_OK LS_OK "</domain>", "current='5'" },
    { "no-vcpu", "<domain>" OS_OK CPU_OK LS_OK "</domain>", "<vcpu>" },
    { "unknown-cpu", "<domain><vcpu>1</vcpu>" OS_OK "<cpu><model>Opteron_G5</model></cpu>" LS_OK
      "</domain>", "Unknown CPU model 'Opteron_G5'" },
    { "no-cpu", "<domain><vcpu>1</vcpu>" OS_OK LS_OK "</domain>", "no CPU model" },
    { "host-model", "<domain><vcpu>1</vcpu>" OS_OK "<cpu mode='host-model'/>" LS_OK "</domain>",
      "host-model" },
    { "no-kernel", "<domain><vcpu>1</vcpu><os><loader>%1$s/amd.bin</loader><initrd>%1$s/initrd.bin"
      "</initrd></os>" CPU_OK LS_OK "</domain>", "<os><kernel>" },
    { "no-initrd", "<domain><vcpu>1</vcpu><os><loader>%1$s/amd.bin</loader><kernel>%1$s/kernel.bin"
      "</kernel></os>" CPU_OK LS_OK "</domain>", "<os><initrd>" },
    { "firmware-auto", "<domain><vcpu>1</vcpu><os firmware='efi'><loader stateless='yes'/>"
      "<kernel>%1$s/kernel.bin</kernel><initrd>%1$s/initrd.bin</initrd></os>" CPU_OK LS_OK
      "</domain>", "names no firmware file" },
    { "relative-kernel", "<domain><vcpu>1</vcpu><os><loader>%1$s/amd.bin</loader><kernel>kernel.bin"
      "</kernel><initrd>%1$s/initrd.bin</initrd></os>" CPU_OK LS_OK "</domain>", "not an absolute path" },
    { "two-kernels", "<domain><vcpu>1</vcpu><os><loader>%1$s/amd.bin</loader><kernel>%1$s/kernel.bin"
      "</kernel><kernel>/x</kernel><initrd>%1$s/initrd.bin</initrd></os>" CPU_OK LS_OK "</domain>",
      "more than one <os><kernel>" },
    { "bad-policy", "<domain><vcpu>1</vcpu>" OS_OK CPU_OK
      "<launchSecurity type='sev-snp' kernelHashes='yes'><policy>0xzz</policy></launchSecurity>"
      "</domain>", "policy '0xzz'" },
    { "missing-file", "<domain><vcpu>1</vcpu><os><loader>%1$s/amd.bin</loader><kernel>%1$s/nope"
      "</kernel><initrd>%1$s/initrd.bin</initrd></os>" CPU_OK LS_OK "</domain>", "nope" },
    { "bad-metadata", "<domain><vcpu>1</vcpu>" OS_OK CPU_OK LS_OK "<metadata><s:vm xmlns:s='"
      SNPG_DOMAIN_NS_URI "'><s:workflow>all</s:workflow></s:vm></metadata></domain>", "workflow 'all'" },
    { "emulated-no-firmware", "<domain type='qemu'><vcpu>1</vcpu><os><kernel>%1$s/kernel.bin</kernel>"
      "<initrd>%1$s/initrd.bin</initrd></os><metadata><s:vm xmlns:s='" SNPG_DOMAIN_NS_URI "'>"
      "<s:workflow>none</s:workflow><s:emulate>yes</s:emulate><s:firmware>amd.bin</s:firmware>"
      "<s:vcpu-type>EPYC</s:vcpu-type></s:vm></metadata></domain>", "names no SNP firmware" },
    { "other-pin", "<domain><vcpu>1</vcpu><os><loader>%1$s/amd.bin</loader><kernel>%1$s/kernel.bin"
      "</kernel><initrd>%1$s/initrd.bin</initrd><cmdline>snpguard.verifier="
      "1111111111111111111111111111111111111111111111111111111111111111</cmdline></os>"
      CPU_OK LS_OK "</domain>", "pins another verifier" },
};

static void
test_refusal(gconstpointer data)
{
    const Refusal *r = data;
    g_autofree char *text = NULL, *path = NULL, *file = NULL;
    g_autofree char *key = input("verifier.pem");
    g_auto(SnpgRun) run = { 0 }, keyrun = { 0 };

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    text = g_strdup_printf(r->xml, inputs);
#pragma GCC diagnostic pop
    file = g_strdup_printf("refuse-%s.xml", r->name);
    path = write_tmp(file, text);
    snpg_run(&keyrun, NULL, "verifier-key", "create", key, "--force", NULL);
    g_assert_cmpint(keyrun.exit_code, ==, 0);
    snpg_run(&run, NULL, "adopt", "--xml", path, "--verifier-key", key, "--print-xml", NULL);
    g_test_message("%s: %s", r->name, run.err);
    g_assert_cmpint(run.exit_code, ==, 1);
    g_assert_cmpstr(run.out, ==, "");
    g_assert_nonnull(strstr(run.err, r->message));
}

static void
test_hostile_size(void)
{
    gsize len = SNPG_DOMAIN_XML_MAX + 10;
    g_autofree char *big = g_malloc(len + 1);
    g_autoptr(GError) error = NULL;
    g_autofree char *path = NULL;
    g_auto(SnpgRun) run = { 0 };

    memcpy(big, "<domain><name>", 14);
    memset(big + 14, 'a', len - 14);
    big[len] = '\0';
    g_assert_null(snpg_domain_parse(big, len, "(big)", &error));
    g_assert_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_PARSE);
    g_assert_nonnull(strstr(error->message, "too large"));
    path = write_tmp("big.xml", big);
    snpg_run(&run, NULL, "adopt", "--xml", path, "--print-xml", NULL);
    g_assert_cmpint(run.exit_code, ==, 1);
    g_assert_nonnull(strstr(run.err, "too large"));
    /* An endless stream stops at the limit too. */
    snpg_run_clear(&run);
    snpg_run(&run, NULL, "adopt", "--xml", "/dev/zero", "--print-xml", NULL);
    g_assert_cmpint(run.exit_code, ==, 1);
    g_assert_nonnull(strstr(run.err, "too large"));
}

/* ---- metadata ----------------------------------------------------------- */

static void
test_metadata_roundtrip(void)
{
    g_autoptr(xmlDoc) doc = parse_string(
        "<domain><metadata><other:x xmlns:other='urn:other'>keep</other:x>"
        "<s:vm xmlns:s='" SNPG_DOMAIN_NS_URI "'><s:workflow>none</s:workflow></s:vm></metadata></domain>");
    g_autoptr(GError) error = NULL;
    g_auto(SnpgDomainMeta) in = { 0 };
    g_auto(SnpgDomainMeta) out = { 0 };
    g_autofree char *other = NULL, *count = NULL;

    in.workflow = SNPG_WORKFLOW_INTEGRITY;
    in.emulate = TRUE;
    in.gate = FALSE;
    in.failure_action = SNPG_FAILURE_KEEP;
    in.verifier = g_strdup("key");
    in.verifier_pin = g_strdup("ab");
    in.verifier_mode = g_strdup("watch");
    in.vmpl = 3;
    in.firmware = g_strdup("/fw & <x>");
    in.vcpu_type = g_strdup("EPYC-Genoa");
    in.vcpu_sig = 0xa10f10;
    in.guest_features = 0x21;
    in.policy = 0x70000;
    in.measurement = g_strdup("00ff");
    g_assert_true(snpg_domain_meta_write(doc, &in, &error));
    g_assert_true(snpg_domain_meta_read(doc, &out, &error));
    g_assert_no_error(error);
    g_assert_cmpint(out.workflow, ==, in.workflow);
    g_assert_true(out.emulate);
    g_assert_false(out.gate);
    g_assert_cmpint(out.failure_action, ==, SNPG_FAILURE_KEEP);
    g_assert_cmpstr(out.verifier, ==, "key");
    g_assert_cmpstr(out.verifier_pin, ==, "ab");
    g_assert_cmpstr(out.verifier_mode, ==, "watch");
    g_assert_cmpuint(out.vmpl, ==, 3);
    g_assert_cmpstr(out.firmware, ==, "/fw & <x>");
    g_assert_cmpstr(out.vcpu_type, ==, "EPYC-Genoa");
    g_assert_cmphex(out.vcpu_sig, ==, 0xa10f10);
    g_assert_cmphex(out.guest_features, ==, 0x21);
    g_assert_cmphex(out.policy, ==, 0x70000);
    g_assert_cmpstr(out.measurement, ==, "00ff");
    /* One element of our namespace, others untouched. */
    count = xpath_text(doc, "count(/domain/metadata/*[namespace-uri()='" SNPG_DOMAIN_NS_URI "'])");
    g_assert_cmpstr(count, ==, "1");
    other = xpath_text(doc, "/domain/metadata/*[namespace-uri()='urn:other']");
    g_assert_cmpstr(other, ==, "keep");
}

/* Who attests decides what the start gate lets through: only the three
 * modes are read. */
static void
test_metadata_bad_verifier_mode(void)
{
    g_autoptr(xmlDoc) doc = parse_string(
        "<domain><metadata><s:vm xmlns:s='" SNPG_DOMAIN_NS_URI "'><s:workflow>none"
        "</s:workflow><s:verifier-mode>Watch</s:verifier-mode></s:vm></metadata></domain>");
    g_autoptr(GError) error = NULL;
    g_auto(SnpgDomainMeta) meta = { 0 };

    g_assert_false(snpg_domain_meta_read(doc, &meta, &error));
    g_assert_nonnull(error);
    g_assert_nonnull(strstr(error->message, "verifier-mode"));
}

static void
test_metadata_absent(void)
{
    g_autoptr(xmlDoc) doc = parse_string("<domain><name>x</name></domain>");
    g_autoptr(GError) error = NULL;
    g_auto(SnpgDomainMeta) meta = { 0 };

    g_assert_false(snpg_domain_meta_read(doc, &meta, &error));
    g_assert_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_NO_METADATA);
}

/* Guest features other than the default come from the metadata (a host
 * whose QEMU sets debug-swap) and change the value. */
static void
test_guest_features_from_metadata(void)
{
    g_autofree char *base = g_strdup_printf(
        "<domain><vcpu>1</vcpu><os><loader>%1$s/amd.bin</loader><kernel>%1$s/kernel.bin</kernel>"
        "<initrd>%1$s/initrd.bin</initrd></os>" CPU_OK LS_OK "</domain>", inputs);
    g_autoptr(xmlDoc) doc = parse_string(base);
    g_autoptr(GError) error = NULL;
    g_auto(SnpgDomainMeta) meta = { 0 };
    g_auto(SnpgLaunchInputs) a = { 0 };
    g_auto(SnpgLaunchInputs) b = { 0 };
    guint8 da[SNPG_MEASURE_SNP_DIGEST_SIZE], db[SNPG_MEASURE_SNP_DIGEST_SIZE];

    g_assert_true(snpg_domain_launch_inputs(doc, &a, &error));
    meta.workflow = SNPG_WORKFLOW_NONE;
    meta.guest_features = 0x21;
    meta.policy = SNPG_DOMAIN_POLICY_DEFAULT;
    g_assert_true(snpg_domain_meta_write(doc, &meta, &error));
    g_assert_true(snpg_domain_launch_inputs(doc, &b, &error));
    g_assert_no_error(error);
    g_assert_cmphex(a.guest_features, ==, 0x1);
    g_assert_cmphex(b.guest_features, ==, 0x21);
    g_assert_true(snpg_domain_measure(&a, da, NULL, &error));
    g_assert_true(snpg_domain_measure(&b, db, NULL, &error));
    g_assert_true(memcmp(da, db, sizeof(da)) != 0);
}

static void
test_host_cpu_sig(void)
{
    g_autofree char *cpuinfo = write_tmp("cpuinfo",
        "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 17\n"
        "model name\t: AMD EPYC 9654\nstepping\t: 1\n\nprocessor\t: 1\ncpu family\t: 1\n"
        "model\t\t: 1\nstepping\t: 1\n");
    g_autofree char *empty = write_tmp("cpuinfo-empty", "processor\t: 0\n");
    g_autoptr(GError) error = NULL;
    guint32 sig = 0;

    g_assert_true(snpg_domain_host_cpu_sig(cpuinfo, &sig, &error));
    g_assert_no_error(error);
    g_assert_cmphex(sig, ==, 0x00a10f11);   /* family 0x19 = 0xf + 0xa, model 0x11 */
    g_assert_false(snpg_domain_host_cpu_sig(empty, &sig, &error));
    g_assert_error(error, SNPG_DOMAIN_ERROR, SNPG_DOMAIN_ERROR_UNSUPPORTED);
}

int
main(int argc, char **argv)
{
    g_autofree char *rng = NULL;
    xmlRelaxNGParserCtxtPtr pctx;
    int rc;

    g_test_init(&argc, &argv, NULL);
    inputs = snpg_test_tmpdir();
    snpg_measure_inputs_write(inputs);
    templates = g_test_build_filename(G_TEST_DIST, "..", "xml-templates", NULL);
    /* The snpguard binary the CLI tests run reads the same templates. */
    g_setenv("SNPGUARD_TEMPLATE_DIR", templates, TRUE);
    rng = snpg_test_data("libvirt-schemas", "domain.rng", NULL);
    pctx = xmlRelaxNGNewParserCtxt(rng);
    schema = xmlRelaxNGParse(pctx);
    xmlRelaxNGFreeParserCtxt(pctx);
    g_assert_nonnull(schema);

    g_test_add_func("/domain/templates/valid", test_templates_valid);
    g_test_add_func("/domain/build/combinations", test_build_combinations);
    g_test_add_func("/domain/build/emulate-same-measurement", test_emulate_same_measurement);
    g_test_add_func("/domain/build/emulate-valid-for-libvirt-9", test_emulate_valid_for_libvirt_9);
    g_test_add_func("/domain/build/host-passthrough", test_build_host_passthrough);
    g_test_add_func("/domain/build/refusals", test_build_refusals);
    g_test_add_func("/domain/cli/define-matches-measure", test_cli_define_matches_measure);
    g_test_add_func("/domain/cli/define-print-xml", test_cli_define_print_xml);
    g_test_add_func("/domain/cli/define-refusals", test_cli_define_refusals);
    g_test_add_func("/domain/adopt/forms-agree", test_adopt_forms_agree);
    g_test_add_func("/domain/adopt/oracle", test_adopt_oracle);
    g_test_add_func("/domain/adopt/roundtrip", test_adopt_roundtrip);
    for (gsize i = 0; i < G_N_ELEMENTS(refusals); i++) {
        g_autofree char *path = g_strdup_printf("/domain/adopt/refuse/%s", refusals[i].name);
        g_test_add_data_func(path, &refusals[i], test_refusal);
    }
    g_test_add_func("/domain/parse/size-limit", test_hostile_size);
    g_test_add_func("/domain/metadata/roundtrip", test_metadata_roundtrip);
    g_test_add_func("/domain/metadata/bad-verifier-mode", test_metadata_bad_verifier_mode);
    g_test_add_func("/domain/metadata/absent", test_metadata_absent);
    g_test_add_func("/domain/launch/guest-features", test_guest_features_from_metadata);
    g_test_add_func("/domain/launch/host-cpu-sig", test_host_cpu_sig);
    rc = g_test_run();
    xmlRelaxNGFree(schema);
    return rc;
}
