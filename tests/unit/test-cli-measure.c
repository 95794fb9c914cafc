/* snpguard measure, the command: same output as sev-snp-measure for the same
 * arguments, --explain/--json, --dump-vmsa, and one clear line with exit 1
 * (2 for argument shapes) for every refusal.
 * Expected values: virtee/sev-snp-measure 0.0.13 (commit 8f2b337e) run on the
 * inputs this program writes (SNPG_MEASURE_WRITE_INPUTS=DIR keeps a copy):
 *   cd DIR && /usr/bin/python3 sev-snp-measure.py ARGS   (ARGS next to each value) */
#include "config.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include <json-glib/json-glib.h>
#include <openssl/evp.h>

#include "measure-inputs.h"
#include "testutil.h"

static char *inputs;

typedef struct {
    const char *name;
    const char *args[24];
    const char *expected;   /* whole stdout */
} Oracle;

static const Oracle oracles[] = {
    /* sev-snp-measure.py --mode snp --vcpus 4 --vcpu-type EPYC-Milan --ovmf amd.bin --kernel kernel.bin --initrd initrd.bin --append console=ttyS0 */
    { "snp-kernel", { "--mode", "snp", "--vcpus", "4", "--vcpu-type", "EPYC-Milan", "--ovmf", "amd.bin",
      "--kernel", "kernel.bin", "--initrd", "initrd.bin", "--append", "console=ttyS0", NULL },
      "564973fdb2d7189a55fb520de8028b1741b0197d820d51debc1ba89fa16403aa4e48c76b79045576efb7262faad4f392\n" },
    /* sev-snp-measure.py --mode snp --vcpus 3 --vcpu-type EPYC-Milan --ovmf amd.bin --kernel kernel.bin --initrd initrd.bin --append console=ttyS0 --output-format base64 */
    { "snp-base64", { "--mode", "snp", "--vcpus", "3", "--vcpu-type", "EPYC-Milan", "--ovmf", "amd.bin",
      "--kernel", "kernel.bin", "--initrd", "initrd.bin", "--append", "console=ttyS0",
      "--output-format", "base64", NULL },
      "ZvwcGE1aluYPhA3wNrYrfHMkMRx/99FMqvKpprbitletSBMvc7uAXO8urQ5hk0q6\n" },
    /* sev-snp-measure.py --mode snp --vcpus 2 --vcpu-type EPYC-Genoa --ovmf synth.bin -v */
    { "snp-verbose", { "--mode", "snp", "--vcpus", "2", "--vcpu-type", "EPYC-Genoa", "--ovmf", "synth.bin",
      "-v", NULL },
      "Calculated SEV_SNP guest measurement: c82a0ee4340d7188537a3796743a1bdea1be964c51c3fc6677aaf8536186573c60e95aa5bbf86aa5ebf7019a61011b22\n" },
    /* sev-snp-measure.py --mode snp --vcpus 2 --vmm-type gce --ovmf x64.bin */
    { "snp-gce-no-cpu-type", { "--mode", "snp", "--vcpus", "2", "--vmm-type", "gce", "--ovmf", "x64.bin", NULL },
      "8f7de0767a42238325458f30bf453d01b7650068a2880f42486a52bfa90a1703a31109c4ffb88ef4a4e9db5835cf3272\n" },
    /* sev-snp-measure.py --mode seves --vcpus 2 --vcpu-sig 0xa10f10 --ovmf amd.bin -v --output-format base64 */
    { "seves-verbose-base64", { "--mode", "seves", "--vcpus", "2", "--vcpu-sig", "0xa10f10", "--ovmf", "amd.bin",
      "-v", "--output-format", "base64", NULL },
      "Calculated SEV_ES guest measurement: z6XPAzrXOP3ZBJ5/yLc3VFeCkNOrpKNFTbUHLUN37nU=\n" },
    /* Firmware without SNP's SEV metadata is fine for SEV-ES (regression).
     * sev-snp-measure.py --mode seves --vcpus 2 --vcpu-type EPYC-Milan --ovmf synth-nometa.bin */
    { "seves-no-metadata", { "--mode", "seves", "--vcpus", "2", "--vcpu-type", "EPYC-Milan", "--ovmf",
      "synth-nometa.bin", NULL },
      "20a603870dd4a6c5959660f396e56c76d38b490c82d79f066622c3fab414268a\n" },
    /* sev-snp-measure.py --mode seves --vcpus 2 --vcpu-type EPYC-Milan --ovmf synth.bin --kernel kernel.bin */
    { "seves-synth-kernel", { "--mode", "seves", "--vcpus", "2", "--vcpu-type", "EPYC-Milan", "--ovmf", "synth.bin",
      "--kernel", "kernel.bin", NULL },
      "bb97524f13f1cc3526781e81a84a7c83493666ae2f77cad828d2f79a8be30673\n" },
    /* sev-snp-measure.py --mode sev --ovmf amd.bin -v */
    { "sev-verbose", { "--mode", "sev", "--ovmf", "amd.bin", "-v", NULL },
      "Calculated SEV guest measurement: 4219b3b228e1cf892a2d3cea15073fcb29d2268d96add744ccc0fdde34b213f6\n" },
    /* sev-snp-measure.py --mode snp:svsm --vcpus 2 --vcpu-type EPYC-v4 --ovmf svsm-ovmf.bin --svsm svsm.bin --vars-size 540672 */
    { "svsm-hex", { "--mode", "snp:svsm", "--vcpus", "2", "--vcpu-type", "EPYC-v4", "--ovmf", "svsm-ovmf.bin",
      "--svsm", "svsm.bin", "--vars-size", "540672", NULL },
      "8147e1ba28efe7717f5b7f36c34ad03a37c4a88ab437c5d964d035772c3765826a83e5da6972ba90ae1ad3cb55f2538c\n" },
    /* sev-snp-measure.py --mode snp:svsm --vcpus 2 --vcpu-type EPYC-v4 --ovmf svsm-ovmf.bin --svsm svsm.bin --vars-size 540672 --output-format base64 */
    { "svsm-base64", { "--mode", "snp:svsm", "--vcpus", "2", "--vcpu-type", "EPYC-v4", "--ovmf", "svsm-ovmf.bin",
      "--svsm", "svsm.bin", "--vars-size", "540672", "--output-format", "base64", NULL },
      "gUfhuijv53F/W382w0rQOjfEqIq0N8XZZNA1dyw3ZYJqg+XaaXK6kK4a08tV8lOM\n" },
    /* sev-snp-measure.py --mode snp:svsm --vcpus 2 --vcpu-type EPYC-v4 --ovmf svsm-ovmf.bin --svsm svsm.bin --vars-size 540672 -v */
    { "svsm-verbose", { "--mode", "snp:svsm", "--vcpus", "2", "--vcpu-type", "EPYC-v4", "--ovmf", "svsm-ovmf.bin",
      "--svsm", "svsm.bin", "--vars-size", "540672", "-v", NULL },
      "Calculated SEV_SNP_SVSM guest measurement: 8147e1ba28efe7717f5b7f36c34ad03a37c4a88ab437c5d964d035772c3765826a83e5da6972ba90ae1ad3cb55f2538c\n" },
    /* sev-snp-measure.py --mode snp:svsm --vcpus 2 --vcpu-type EPYC-v4 --ovmf svsm-ovmf.bin --svsm svsm.bin --vars-file vars.bin */
    { "svsm-vars-file", { "--mode", "snp:svsm", "--vcpus", "2", "--vcpu-type", "EPYC-v4", "--ovmf", "svsm-ovmf.bin",
      "--svsm", "svsm.bin", "--vars-file", "vars.bin", NULL },
      "a815aceb876f286eac76bff46133909536c1967e59e7efc39b99cbcd7165dfaad489937b2633428a8f7774e008e02862\n" },
    /* sev-snp-measure.py --mode snp:svsm --vcpus 2 --vcpu-family 25 --vcpu-model 17 --vcpu-stepping 0 --ovmf svsm-ovmf.bin --svsm svsm.bin --vars-size 540672 */
    { "svsm-family", { "--mode", "snp:svsm", "--vcpus", "2", "--vcpu-family", "25", "--vcpu-model", "17",
      "--vcpu-stepping", "0", "--ovmf", "svsm-ovmf.bin", "--svsm", "svsm.bin", "--vars-size", "540672", NULL },
      "27812f8ac755c7c6c2403669c405d5f4188a15aaecf734d4ab410e724118c4af08532c3d6a5600828924aeb32c71735e\n" },
    /* sev-snp-measure.py --mode snp:svsm --vcpus 3 --vcpu-type EPYC-Milan --ovmf svsm-ovmf.bin --svsm svsm-synth.bin --vars-file vars.bin -v --output-format base64 */
    { "svsm-synth-verbose-base64", { "--mode", "snp:svsm", "--vcpus", "3", "--vcpu-type", "EPYC-Milan",
      "--ovmf", "svsm-ovmf.bin", "--svsm", "svsm-synth.bin", "--vars-file", "vars.bin", "-v",
      "--output-format", "base64", NULL },
      "Calculated SEV_SNP_SVSM guest measurement: 6ckmArydB0EONeVRpT03vc2VJ5tyRmBUWBS/yM51mM9Ar+6nQm1/xoss8ZRn5qiR\n" },
    /* sev-snp-measure.py --mode snp:ovmf-hash --ovmf amd.bin --output-format base64 -v
     * (this mode ignores every other option and prints hex) */
    { "ovmf-hash-mode", { "--mode", "snp:ovmf-hash", "--ovmf", "amd.bin", "--output-format", "base64", "-v", NULL },
      "a72dc6a6c933e21a7333ce9c4ba1037dc95c34396428e1acccdccd560bb57bc32c4b7521cbec4e3ebab44a5ead6d0a59\n" },
};

/* Runs "snpguard measure ARGS..." in the inputs directory. */
static void
run_measure(SnpgRun *run, const char *const *measure_args)
{
    const char *args[32] = { "measure" };
    gsize n = 1;

    for (gsize i = 0; measure_args[i]; i++) {
        g_assert_cmpuint(n, <, G_N_ELEMENTS(args) - 1);
        args[n++] = measure_args[i];
    }
    snpg_runv(run, inputs, args);
}

static void
test_oracle(gconstpointer data)
{
    const Oracle *o = data;
    g_auto(SnpgRun) run = { 0 };

    run_measure(&run, o->args);
    g_assert_cmpstr(run.err, ==, "");
    g_assert_cmpint(run.exit_code, ==, 0);
    g_assert_cmpstr(run.out, ==, o->expected);
}

/* Debian's OVMF_CODE_4M.fd (package ovmf) has the SEV-ES reset block but no
 * SEV metadata: measured in seves mode, refused in snp mode, each message
 * naming the mode (regression: seves refused it as an SNP firmware).
 * sev-snp-measure.py --mode seves --vcpus 1 --vcpu-type EPYC-v4 --ovmf /usr/share/OVMF/OVMF_CODE_4M.fd */
static void
test_debian_code_4m(void)
{
    static const char fw[] = "/usr/share/OVMF/OVMF_CODE_4M.fd";
    g_auto(SnpgRun) seves = { 0 };
    g_auto(SnpgRun) snp = { 0 };

    if (!g_file_test(fw, G_FILE_TEST_IS_REGULAR)) {
        g_test_skip("/usr/share/OVMF/OVMF_CODE_4M.fd is absent (install Debian's ovmf package)");
        return;
    }
    snpg_run(&seves, inputs, "measure", "--mode", "seves", "--vcpus", "1", "--vcpu-type", "EPYC-v4",
             "--ovmf", fw, NULL);
    g_assert_cmpstr(seves.err, ==, "");
    g_assert_cmpint(seves.exit_code, ==, 0);
    g_assert_cmpstr(seves.out, ==, "c368889b1cfe678e2ebe3ef5e3ee5717563cae665c09ca366fe52a56b9f62d63\n");

    snpg_run(&snp, inputs, "measure", "--mode", "snp", "--vcpus", "1", "--vcpu-type", "EPYC-v4",
             "--ovmf", fw, NULL);
    g_assert_cmpint(snp.exit_code, ==, 1);
    g_assert_cmpstr(snp.out, ==, "");
    g_assert_nonnull(strstr(snp.err, "no SEV metadata, so QEMU cannot launch an SNP guest"));
}

static char *
sha256_file(const char *path)
{
    g_autofree char *data = NULL;
    gsize len = 0;
    guint8 md[32];

    g_assert_true(g_file_get_contents(path, &data, &len, NULL));
    g_assert_true(EVP_Digest(data, len, md, NULL, EVP_sha256(), NULL));
    return snpg_test_hex(md, 32);
}

/* Checks and removes vmsa0.bin ... in dir. */
static void
assert_vmsa_files(const char *dir, const char *const *sums, guint n)
{
    for (guint i = 0; i < n; i++) {
        g_autofree char *name = g_strdup_printf("vmsa%u.bin", i);
        g_autofree char *path = g_build_filename(dir, name, NULL);
        g_autofree char *sum = sha256_file(path);
        g_assert_cmpstr(sum, ==, sums[i]);
        g_unlink(path);
    }
}

/* --dump-vmsa writes the same vmsaN.bin files as the reference (compared by
 * SHA-256: sha256sum vmsa*.bin after the reference command). */
static void
test_dump_vmsa(void)
{
    g_autofree char *dir = snpg_test_tmpdir();
    g_autofree char *fw = g_build_filename(inputs, "amd.bin", NULL);
    g_autofree char *synth = g_build_filename(inputs, "synth.bin", NULL);
    g_auto(SnpgRun) run = { 0 };
    static const char *const snp_ec2[] = {   /* --mode snp --vcpus 3 --vmm-type ec2 --ovmf amd.bin --dump-vmsa */
        "d6c9d0409668043e96874082e992eb1a08393f1ad6f3c1be450e51bc2cc66004",
        "ce413781191b8f11f8cf1a4a5d9d7f9824356c02390b47ea0d33976bc2430b90",
        "ce413781191b8f11f8cf1a4a5d9d7f9824356c02390b47ea0d33976bc2430b90",
    };
    static const char *const seves[] = {   /* --mode seves --vcpus 2 --vcpu-type EPYC-Rome --ovmf synth.bin --dump-vmsa */
        "c46c4ac3460a4d11db1ae28b046b005119cd83127dfd6b78b011df8494d862ea",
        "f094b0a17d0fbdc4f8609f8ba1e88ebff70ce30a42c0c7bf4f24f4791e653a96",
    };

    snpg_run(&run, dir, "measure", "--mode", "snp", "--vcpus", "3", "--vmm-type", "ec2",
             "--ovmf", fw, "--dump-vmsa", NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    /* and the digest is still printed, as by the reference */
    g_assert_cmpstr(run.out, ==, "41d9f51afd8275d59d321f96b5208a704289491f593bab346150ae1cabe7fc24d6d4df831d24f2e0028869fff51768d5\n");
    assert_vmsa_files(dir, snp_ec2, G_N_ELEMENTS(snp_ec2));
    snpg_run_clear(&run);
    snpg_run(&run, dir, "measure", "--mode", "seves", "--vcpus", "2", "--vcpu-type", "EPYC-Rome",
             "--ovmf", synth, "--dump-vmsa", NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    g_assert_cmpstr(run.out, ==, "90e8fddf3024dabf920c054ed9d4b55e33ef08526d9abf86407a0fefac38ca10\n");
    assert_vmsa_files(dir, seves, G_N_ELEMENTS(seves));
    {   /* two vCPUs: exactly two files (the first run's were removed) */
        g_autofree char *third = g_build_filename(dir, "vmsa2.bin", NULL);
        g_assert_false(g_file_test(third, G_FILE_TEST_EXISTS));
    }
}

/* snp:svsm: one identical page per vCPU, as the reference writes them:
 *   sev-snp-measure.py --mode snp:svsm --vcpus 3 --vcpu-type EPYC-Milan --ovmf svsm-ovmf.bin
 *     --svsm svsm-synth.bin --vars-file vars.bin --dump-vmsa; sha256sum vmsa*.bin */
static void
test_dump_vmsa_svsm(void)
{
    g_autofree char *dir = snpg_test_tmpdir();
    g_autofree char *fw = g_build_filename(inputs, "svsm-ovmf.bin", NULL);
    g_autofree char *svsm = g_build_filename(inputs, "svsm-synth.bin", NULL);
    g_autofree char *vars = g_build_filename(inputs, "vars.bin", NULL);
    g_autofree char *fourth = g_build_filename(dir, "vmsa3.bin", NULL);
    g_auto(SnpgRun) run = { 0 };
    static const char *const pages[] = {
        "2bd8b9f58b6452d024e78f4cd48d67aeb6c33b30cb3b3a3f5658e3207d834442",
        "2bd8b9f58b6452d024e78f4cd48d67aeb6c33b30cb3b3a3f5658e3207d834442",
        "2bd8b9f58b6452d024e78f4cd48d67aeb6c33b30cb3b3a3f5658e3207d834442",
    };

    snpg_run(&run, dir, "measure", "--mode", "snp:svsm", "--vcpus", "3", "--vcpu-type", "EPYC-Milan",
             "--ovmf", fw, "--svsm", svsm, "--vars-file", vars, "--dump-vmsa", NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    g_assert_cmpstr(run.out, ==, "e9c92602bc9d07410e35e551a53d37bdcd95279b724660545814bfc8ce7598cf40afeea7426d7fc68b2cf19467e6a891\n");
    g_assert_false(g_file_test(fourth, G_FILE_TEST_EXISTS));
    assert_vmsa_files(dir, pages, G_N_ELEMENTS(pages));
}

static void
test_explain(void)
{
    g_auto(SnpgRun) run = { 0 };

    snpg_run(&run, inputs, "measure", "--mode", "snp", "--vcpus", "4", "--vcpu-type", "EPYC-Milan",
             "--ovmf", "amd.bin", "--kernel", "kernel.bin", "--initrd", "initrd.bin",
             "--append", "console=ttyS0", "--explain", NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    g_assert_true(g_str_has_suffix(run.out, "measurement: 564973fdb2d7189a55fb520de8028b1741b0197d820d51debc1ba89fa16403aa4e48c76b79045576efb7262faad4f392\n"));
    g_assert_nonnull(strstr(run.out, "firmware: amd.bin (131072 bytes at guest address 0xfffe0000)"));
    /* sha256sum kernel.bin */
    g_assert_nonnull(strstr(run.out, "kernel SHA-256:  1ebeaba04b98df6d4d8e37752bff6dee3f9ed2dc4e55d102fbf1968dee93faa4"));
    g_assert_nonnull(strstr(run.out, "section SNP_KERNEL_HASHES: 0x810000, length 0x1000, measured as NORMAL"));
    g_assert_nonnull(strstr(run.out, "section SNP_SEC_MEM: 0x811000, length 0xf000, measured as ZERO"));
    g_assert_nonnull(strstr(run.out, "vCPU 0 (BSP): eip 0xfffffff0, signature 0x00a00f11"));
    g_assert_nonnull(strstr(run.out, "vCPU 3 (AP): eip 0x0080b004, signature 0x00a00f11"));
}

/* The SVSM stages: layout, the SVSM image's sections, one start address. */
static void
test_explain_svsm(void)
{
    g_auto(SnpgRun) run = { 0 };

    /* svsm-synth.bin: 32768 bytes, SVSM_INFO 0x3010; vars.bin 135168 bytes;
     * svsm-ovmf.bin 98304 bytes at 0xfffe8000. */
    snpg_run(&run, inputs, "measure", "--mode", "snp:svsm", "--vcpus", "3", "--vcpu-type", "EPYC-Milan",
             "--ovmf", "svsm-ovmf.bin", "--svsm", "svsm-synth.bin", "--vars-file", "vars.bin",
             "--explain", NULL);
    g_assert_cmpstr(run.err, ==, "");
    g_assert_cmpint(run.exit_code, ==, 0);
    g_assert_true(g_str_has_suffix(run.out, "measurement: e9c92602bc9d07410e35e551a53d37bdcd95279b724660545814bfc8ce7598cf40afeea7426d7fc68b2cf19467e6a891\n"));
    g_assert_nonnull(strstr(run.out, "mode: snp:svsm\n"));
    g_assert_nonnull(strstr(run.out, "firmware: svsm-ovmf.bin (98304 bytes at guest address 0xfffe8000)"));
    g_assert_nonnull(strstr(run.out, "OVMF variable store: 135168 bytes at guest address 0xfffc7000"));
    g_assert_nonnull(strstr(run.out, "SVSM image: svsm-synth.bin (32768 bytes at guest address 0xfffbf000, entry point 0xfffc2010)"));
    g_assert_nonnull(strstr(run.out, "SVSM image pages: 0xfffbf000, length 0x8000\n"));
    g_assert_nonnull(strstr(run.out, "section SNP_KERNEL_HASHES: 0x20000, length 0x1000, measured as ZERO"));
    g_assert_nonnull(strstr(run.out, "section SVSM_CAA: 0x15000, length 0x2000, measured as ZERO"));
    g_assert_nonnull(strstr(run.out, "vCPU 2 (SVSM): eip 0xfffc2010, signature 0x00a00f11"));
    g_assert_null(strstr(run.out, "(BSP)"));
}

static void
test_json_svsm(void)
{
    g_auto(SnpgRun) run = { 0 };
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) error = NULL;
    g_autofree char *svsm_path = g_build_filename(inputs, "svsm.bin", NULL);
    g_autofree char *svsm_data = NULL;
    g_autofree char *svsm_sum = NULL;
    JsonObject *root, *svsm, *st;
    JsonArray *stages;
    gsize len = 0;
    guint8 md[48];

    snpg_run(&run, inputs, "measure", "--mode", "snp:svsm", "--vcpus", "2", "--vcpu-type", "EPYC-v4",
             "--ovmf", "svsm-ovmf.bin", "--svsm", "svsm.bin", "--vars-size", "540672",
             "--output-format", "base64", "--json", NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    g_assert_true(json_parser_load_from_data(parser, run.out, -1, &error));
    g_assert_no_error(error);
    root = json_node_get_object(json_parser_get_root(parser));
    g_assert_cmpstr(json_object_get_string_member(root, "mode"), ==, "snp:svsm");
    g_assert_cmpstr(json_object_get_string_member(root, "measurement"), ==,
                    "gUfhuijv53F/W382w0rQOjfEqIq0N8XZZNA1dyw3ZYJqg+XaaXK6kK4a08tV8lOM");
    svsm = json_object_get_object_member(root, "svsm");
    g_assert_nonnull(svsm);
    g_assert_true(g_file_get_contents(svsm_path, &svsm_data, &len, NULL));
    g_assert_true(EVP_Digest(svsm_data, len, md, NULL, EVP_sha384(), NULL));
    svsm_sum = snpg_test_hex(md, 48);
    g_assert_cmpstr(json_object_get_string_member(svsm, "digest"), ==, svsm_sum);
    /* 4 GiB - 98304 - 540672 - 65536; SVSM_INFO of the Coconut image is 0 */
    g_assert_cmpint(json_object_get_int_member(svsm, "gpa"), ==, 0xfff54000);
    g_assert_cmpint(json_object_get_int_member(svsm, "entry"), ==, 0xfff54000);
    g_assert_cmpint(json_object_get_int_member(svsm, "vars_size"), ==, 540672);
    stages = json_object_get_array_member(root, "stages");
    /* firmware, SVSM, SNP_SEC_MEM, SNP_SECRETS, CPUID, 2 vCPUs */
    g_assert_cmpuint(json_array_get_length(stages), ==, 7);
    st = json_array_get_object_element(stages, 1);
    g_assert_cmpstr(json_object_get_string_member(st, "stage"), ==, "svsm");
    g_assert_cmpint(json_object_get_int_member(st, "gpa"), ==, 0xfff54000);
    st = json_array_get_object_element(stages, 4);
    g_assert_cmpstr(json_object_get_string_member(st, "section"), ==, "CPUID");
    g_assert_cmpint(json_object_get_int_member(st, "gpa"), ==, 0x9f000);
    st = json_array_get_object_element(stages, 6);
    g_assert_cmpint(json_object_get_int_member(st, "eip"), ==, 0xfff54000);
}

static void
test_json(void)
{
    g_auto(SnpgRun) run = { 0 };
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) error = NULL;
    JsonObject *root, *fw;
    JsonArray *stages;
    g_autofree char *fw_sum = NULL;
    g_autofree char *fw_path = g_build_filename(inputs, "amd.bin", NULL);

    snpg_run(&run, inputs, "measure", "--mode", "seves", "--vcpus", "2", "--vcpu-sig", "0xa10f10",
             "--ovmf", "amd.bin", "--output-format", "base64", "--json", NULL);
    g_assert_cmpint(run.exit_code, ==, 0);
    g_assert_true(json_parser_load_from_data(parser, run.out, -1, &error));
    g_assert_no_error(error);
    root = json_node_get_object(json_parser_get_root(parser));
    g_assert_cmpstr(json_object_get_string_member(root, "measurement"), ==,
                    "z6XPAzrXOP3ZBJ5/yLc3VFeCkNOrpKNFTbUHLUN37nU=");
    fw = json_object_get_object_member(root, "firmware");
    fw_sum = sha256_file(fw_path);
    g_assert_cmpstr(json_object_get_string_member(fw, "digest"), ==, fw_sum);
    stages = json_object_get_array_member(root, "stages");
    g_assert_cmpuint(json_array_get_length(stages), ==, 3);   /* firmware, BSP, AP */
    g_assert_cmpint(json_object_get_int_member(json_array_get_object_element(stages, 2), "signature"),
                    ==, 0xa10f10);
}

typedef struct {
    const char *name;
    int exit_code;
    const char *message;    /* a fragment of stderr */
    const char *args[24];
} Refusal;

/* 96 hex digits but one too few / too many; and one bad digit. */
#define HASH95 "a72dc6a6c933e21a7333ce9c4ba1037dc95c34396428e1acccdccd560bb57bc32c4b7521cbec4e3ebab44a5ead6d0a5"
#define HASH98 "a72dc6a6c933e21a7333ce9c4ba1037dc95c34396428e1acccdccd560bb57bc32c4b7521cbec4e3ebab44a5ead6d0a5900"
#define HASHBAD "g72dc6a6c933e21a7333ce9c4ba1037dc95c34396428e1acccdccd560bb57bc32c4b7521cbec4e3ebab44a5ead6d0a59"
#define SNP "--mode", "snp", "--vcpus", "2", "--vcpu-type", "EPYC-Milan"
#define SVSM "--mode", "snp:svsm", "--vcpus", "2", "--vcpu-type", "EPYC-v4", "--ovmf", "svsm-ovmf.bin", \
    "--svsm", "svsm.bin"

static const Refusal refusals[] = {
    /* Refusals where the reference prints a value, crashes or accepts nonsense: exit 1. */
    { "no-metadata", 1, "has no SEV metadata, so QEMU cannot launch an SNP guest", { SNP, "--ovmf", "nometa.bin", NULL } },
    { "vcpus-zero", 1, "at least one vCPU", { "--mode", "snp", "--vcpus", "0", "--vcpu-type", "EPYC",
      "--ovmf", "amd.bin", NULL } },
    { "kernel-no-section", 1, "no SNP_KERNEL_HASHES section", { SNP, "--ovmf", "x64.bin", "--kernel", "kernel.bin", NULL } },
    { "sev-kernel-no-table", 1, "no SEV hashes table", { "--mode", "sev", "--ovmf", "x64.bin", "--kernel", "kernel.bin", NULL } },
    { "seves-kernel-no-table", 1, "no SEV hashes table", { "--mode", "seves", "--vcpus", "1", "--vcpu-sig", "1",
      "--ovmf", "x64.bin", "--kernel", "kernel.bin", NULL } },
    { "table-malformed", 1, "footer table is malformed", { SNP, "--ovmf", "badtable.bin", NULL } },
    { "metadata-malformed", 1, "overlap", { SNP, "--ovmf", "overlap.bin", NULL } },
    { "firmware-unaligned", 1, "multiple of 4096", { SNP, "--ovmf", "kernel.bin", NULL } },
    { "firmware-too-large", 1, "up to 64 MiB", { SNP, "--ovmf", "huge.bin", NULL } },
    { "ovmf-hash-short", 1, "exactly 48 bytes", { SNP, "--ovmf", "amd.bin", "--snp-ovmf-hash", HASH95, NULL } },
    { "ovmf-hash-long", 1, "exactly 48 bytes", { SNP, "--ovmf", "amd.bin", "--snp-ovmf-hash", HASH98, NULL } },
    { "ovmf-hash-not-hex", 1, "exactly 48 bytes", { SNP, "--ovmf", "amd.bin", "--snp-ovmf-hash", HASHBAD, NULL } },
    { "ovmf-hash-not-snp", 1, "snp mode only", { "--mode", "seves", "--vcpus", "1", "--vcpu-sig", "1",
      "--ovmf", "amd.bin", "--snp-ovmf-hash", HASH95 "9", NULL } },
    { "cpu-type-unknown", 1, "Unknown vCPU type 'EPYC-Zen9'", { "--mode", "snp", "--vcpus", "1",
      "--vcpu-type", "EPYC-Zen9", "--ovmf", "amd.bin", NULL } },
    { "family-no-model", 1, "--vcpu-family needs --vcpu-model and --vcpu-stepping", { "--mode", "snp",
      "--vcpus", "1", "--vcpu-family", "25", "--vcpu-stepping", "1", "--ovmf", "amd.bin", NULL } },
    { "family-no-stepping", 1, "--vcpu-family needs --vcpu-model and --vcpu-stepping", { "--mode", "snp",
      "--vcpus", "1", "--vcpu-family", "25", "--vcpu-model", "1", "--ovmf", "amd.bin", NULL } },
    { "family-out-of-range", 1, "out of range", { "--mode", "snp", "--vcpus", "1", "--vcpu-family", "25",
      "--vcpu-model", "256", "--vcpu-stepping", "1", "--ovmf", "amd.bin", NULL } },
    { "initrd-no-kernel", 1, "need --kernel", { SNP, "--ovmf", "amd.bin", "--initrd", "initrd.bin", NULL } },
    { "append-no-kernel", 1, "need --kernel", { SNP, "--ovmf", "amd.bin", "--append", "quiet", NULL } },
    { "firmware-unreadable", 1, "The firmware cannot be used: Cannot read 'missing.bin': No such file", { SNP, "--ovmf", "missing.bin", NULL } },
    { "kernel-unreadable", 1, "Cannot open the kernel 'missing-kernel'", { SNP, "--ovmf", "amd.bin",
      "--kernel", "missing-kernel", NULL } },
    { "initrd-unreadable", 1, "Cannot open the initrd 'missing-initrd'", { SNP, "--ovmf", "amd.bin",
      "--kernel", "kernel.bin", "--initrd", "missing-initrd", NULL } },
    { "append-not-utf8", 1, "not valid UTF-8", { SNP, "--ovmf", "amd.bin", "--kernel", "kernel.bin",
      "--append", "console=\xff", NULL } },
    /* Argument shapes that the reference's argparse refuses: exit 2. */
    { "missing-mode", 2, "required: --mode", { "--ovmf", "amd.bin", NULL } },
    { "missing-ovmf", 2, "required: --ovmf", { "--mode", "sev", NULL } },
    { "missing-both", 2, "required: --mode, --ovmf", { "-v", NULL } },
    { "missing-vcpus", 2, "missing --vcpus N in guest mode 'snp'", { "--mode", "snp", "--vcpu-type", "EPYC",
      "--ovmf", "amd.bin", NULL } },
    { "missing-cpu-type", 2, "missing --vcpu-type or --vcpu-sig or --vcpu-family", { "--mode", "snp",
      "--vcpus", "1", "--ovmf", "amd.bin", NULL } },
    { "mode-choice", 2, "invalid choice: 'snp:tdx'", { "--mode", "snp:tdx", "--ovmf", "amd.bin", NULL } },
    { "output-format-choice", 2, "invalid choice: 'HEX'", { SNP, "--ovmf", "amd.bin", "--output-format", "HEX", NULL } },
    { "vmm-type-unknown", 2, "unknown VMM type 'qemu'", { SNP, "--ovmf", "amd.bin", "--vmm-type", "qemu", NULL } },
    { "dump-vmsa-sev", 2, "--dump-vmsa is not available", { "--mode", "sev", "--ovmf", "amd.bin", "--dump-vmsa", NULL } },
    { "vcpus-not-a-number", 2, "Invalid --vcpus value '-1'", { "--mode", "snp", "--vcpus", "-1", "--vcpu-type", "EPYC",
      "--ovmf", "amd.bin", NULL } },
    { "vcpu-sig-bad", 2, "Invalid --vcpu-sig value '0x1g'", { "--mode", "snp", "--vcpus", "1", "--vcpu-sig", "0x1g",
      "--ovmf", "amd.bin", NULL } },
    { "vcpu-sig-leading-zero", 2, "Invalid --vcpu-sig value '010'", { "--mode", "snp", "--vcpus", "1",
      "--vcpu-sig", "010", "--ovmf", "amd.bin", NULL } },
    { "guest-features-negative", 2, "Invalid --guest-features value '-1'", { SNP, "--ovmf", "amd.bin",
      "--guest-features", "-1", NULL } },
    { "extra-argument", 2, "unrecognized arguments: extra", { SNP, "--ovmf", "amd.bin", "extra", NULL } },
    { "unknown-option", 2, "--ovmf-hash", { SNP, "--ovmf", "amd.bin", "--ovmf-hash", "00", NULL } },
    /* snp:svsm, argparse's refusals (exit 2) */
    { "svsm-vars-missing", 2, "snp:svsm mode requires --vars-size or --vars-file", { SVSM, NULL } },
    { "svsm-vars-size-zero", 2, "snp:svsm mode requires --vars-size or --vars-file", { SVSM,
      "--vars-size", "0", NULL } },
    { "svsm-vars-both", 2, "argument --vars-file: not allowed with argument --vars-size", { SVSM,
      "--vars-size", "4096", "--vars-file", "vars.bin", NULL } },
    { "svsm-vars-size-bad", 2, "Invalid --vars-size value '4k'", { SVSM, "--vars-size", "4k", NULL } },
    { "svsm-vars-size-negative", 2, "Invalid --vars-size value '-4096'", { SVSM, "--vars-size", "-4096", NULL } },
    { "svsm-missing-vcpus", 2, "missing --vcpus N in guest mode 'snp:svsm'", { "--mode", "snp:svsm",
      "--vcpu-type", "EPYC", "--ovmf", "svsm-ovmf.bin", "--svsm", "svsm.bin", "--vars-size", "4096", NULL } },
    /* snp:svsm, where the reference crashes or prints a value anyway (exit 1) */
    { "svsm-no-svsm", 1, "snp:svsm mode needs --svsm PATH", { "--mode", "snp:svsm", "--vcpus", "1",
      "--vcpu-type", "EPYC", "--ovmf", "svsm-ovmf.bin", "--vars-size", "4096", NULL } },
    { "svsm-vmm-ec2", 1, "supports --vmm-type QEMU only, not 'ec2'", { SVSM, "--vars-size", "4096",
      "--vmm-type", "ec2", NULL } },
    { "svsm-vmm-gce", 1, "supports --vmm-type QEMU only, not 'gce'", { "--mode", "snp:svsm", "--vcpus", "1",
      "--ovmf", "svsm-ovmf.bin", "--svsm", "svsm.bin", "--vars-size", "4096", "--vmm-type", "gce", NULL } },
    { "svsm-vcpus-zero", 1, "at least one vCPU", { "--mode", "snp:svsm", "--vcpus", "0", "--vcpu-type", "EPYC",
      "--ovmf", "svsm-ovmf.bin", "--svsm", "svsm.bin", "--vars-size", "4096", NULL } },
    { "svsm-kernel", 1, "does not measure a kernel", { SVSM, "--vars-size", "4096", "--kernel", "kernel.bin", NULL } },
    { "svsm-ovmf-hash", 1, "snp mode only", { SVSM, "--vars-size", "4096", "--snp-ovmf-hash", HASH95 "9", NULL } },
    { "svsm-options-in-snp-mode", 1, "apply to the snp:svsm mode only", { SNP, "--ovmf", "amd.bin",
      "--svsm", "svsm.bin", NULL } },
    { "vars-size-in-seves-mode", 1, "apply to the snp:svsm mode only", { "--mode", "seves", "--vcpus", "1",
      "--vcpu-sig", "1", "--ovmf", "amd.bin", "--vars-size", "4096", NULL } },
    { "svsm-vars-unaligned", 1, "'540000' is not a multiple of 4096", { SVSM, "--vars-size", "540000", NULL } },
    { "svsm-layout-too-large", 1, "do not fit below 4 GiB", { SVSM, "--vars-size", "4294963200", NULL } },
    { "svsm-vars-file-missing", 1, "Cannot open the OVMF variable store 'missing-vars'", { SVSM,
      "--vars-file", "missing-vars", NULL } },
    { "svsm-vars-file-empty", 1, "The OVMF variable store 'vars-empty.bin' is empty", { SVSM,
      "--vars-file", "vars-empty.bin", NULL } },
    { "svsm-image-missing", 1, "The SVSM image cannot be used: Cannot read 'missing-svsm': No such file", { "--mode", "snp:svsm",
      "--vcpus", "1", "--vcpu-type", "EPYC", "--ovmf", "svsm-ovmf.bin", "--svsm", "missing-svsm",
      "--vars-size", "4096", NULL } },
    { "svsm-image-unaligned", 1, "The SVSM image 'kernel.bin' cannot be used: its size '300001'", {
      "--mode", "snp:svsm", "--vcpus", "1", "--vcpu-type", "EPYC", "--ovmf", "svsm-ovmf.bin",
      "--svsm", "kernel.bin", "--vars-size", "4096", NULL } },
    { "svsm-no-svsm-info", 1, "no SVSM_INFO entry", { "--mode", "snp:svsm", "--vcpus", "1", "--vcpu-type",
      "EPYC", "--ovmf", "svsm-ovmf.bin", "--svsm", "amd.bin", "--vars-size", "4096", NULL } },
    { "svsm-section-overlap", 1, "overlaps the SVSM image, the OVMF variable store or the firmware", {
      "--mode", "snp:svsm", "--vcpus", "1", "--vcpu-type", "EPYC", "--ovmf", "svsm-ovmf.bin",
      "--svsm", "svsm-overlap.bin", "--vars-size", "4096", NULL } },
    { "svsm-image-malformed", 1, "SVSM image 'svsm-badtable.bin': The OVMF footer table is malformed", {
      "--mode", "snp:svsm", "--vcpus", "1", "--vcpu-type", "EPYC", "--ovmf", "svsm-ovmf.bin",
      "--svsm", "svsm-badtable.bin", "--vars-size", "4096", NULL } },
};

static void
test_refusal(gconstpointer data)
{
    const Refusal *r = data;
    g_auto(SnpgRun) run = { 0 };

    run_measure(&run, r->args);
    g_assert_cmpint(run.exit_code, ==, r->exit_code);
    g_assert_cmpstr(run.out, ==, "");
    g_assert_true(g_str_has_prefix(run.err, "snpguard: error: "));
    if (!strstr(run.err, r->message))
        g_error("stderr '%s' does not contain '%s'", run.err, r->message);
    /* One line (usage errors add the --help hint of GOption's parser). */
    if (r->exit_code == 1)
        g_assert_cmpint(strchr(run.err, '\n') - run.err, ==, (long)strlen(run.err) - 1);
}

static void
write_refusal_inputs(void)
{
    SnpgSynthSpec spec = *snpg_synth_default();
    SnpgSynthSection secs[8];
    g_autoptr(GByteArray) nometa = NULL, bad = NULL, overlap = NULL;
    g_autoptr(GByteArray) svsm_overlap = NULL, svsm_bad = NULL;
    g_autofree char *p1 = NULL, *p2 = NULL, *p3 = NULL, *huge = NULL;
    g_autofree char *p4 = NULL, *p5 = NULL, *p6 = NULL;
    SnpgSynthSection svsm_secs[8];
    int fd;

    spec.no_metadata = TRUE;
    nometa = snpg_synth_build(&spec);
    p1 = snpg_test_write(inputs, "nometa.bin", nometa->data, nometa->len);

    spec = *snpg_synth_default();
    bad = snpg_synth_build(&spec);
    bad->data[SNPG_SYNTH_RESET_SIZE_OFF(bad->len)] = 17;   /* entry shorter than its header */
    p2 = snpg_test_write(inputs, "badtable.bin", bad->data, bad->len);

    memcpy(secs, spec.sections, spec.n_sections * sizeof(*secs));
    secs[1].gpa = 0x00900000;   /* on top of the first SNP_SEC_MEM range */
    spec.sections = secs;
    overlap = snpg_synth_build(&spec);
    p3 = snpg_test_write(inputs, "overlap.bin", overlap->data, overlap->len);

    /* SVSM images: a section on top of the firmware; an SVSM_INFO twice. */
    spec = *snpg_synth_svsm();
    g_assert_cmpuint(spec.n_sections, <=, G_N_ELEMENTS(svsm_secs));
    memcpy(svsm_secs, spec.sections, spec.n_sections * sizeof(*svsm_secs));
    svsm_secs[1].gpa = 0xffff0000;
    spec.sections = svsm_secs;
    svsm_overlap = snpg_synth_build(&spec);
    p4 = snpg_test_write(inputs, "svsm-overlap.bin", svsm_overlap->data, svsm_overlap->len);
    svsm_bad = snpg_synth_build(snpg_synth_svsm());
    memcpy(svsm_bad->data + svsm_bad->len - 50 - 22 - 16, svsm_bad->data + svsm_bad->len - 50 - 44 - 16, 16);
    p5 = snpg_test_write(inputs, "svsm-badtable.bin", svsm_bad->data, svsm_bad->len);
    p6 = snpg_test_write(inputs, "vars-empty.bin", "", 0);

    /* A sparse 65 MiB file: refused without holding it in memory. */
    huge = g_build_filename(inputs, "huge.bin", NULL);
    fd = open(huge, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, 65 * 1024 * 1024), ==, 0);
    close(fd);
}

int
main(int argc, char **argv)
{
    int rc;

    g_test_init(&argc, &argv, NULL);
    inputs = snpg_test_tmpdir();
    snpg_measure_inputs_write(inputs);
    write_refusal_inputs();

    for (gsize i = 0; i < G_N_ELEMENTS(oracles); i++) {
        g_autofree char *path = g_strdup_printf("/cli-measure/oracle/%s", oracles[i].name);
        g_test_add_data_func(path, &oracles[i], test_oracle);
    }
    g_test_add_func("/cli-measure/debian-ovmf-code-4m", test_debian_code_4m);
    g_test_add_func("/cli-measure/dump-vmsa", test_dump_vmsa);
    g_test_add_func("/cli-measure/explain", test_explain);
    g_test_add_func("/cli-measure/json", test_json);
    g_test_add_func("/cli-measure/svsm/dump-vmsa", test_dump_vmsa_svsm);
    g_test_add_func("/cli-measure/svsm/explain", test_explain_svsm);
    g_test_add_func("/cli-measure/svsm/json", test_json_svsm);
    for (gsize i = 0; i < G_N_ELEMENTS(refusals); i++) {
        g_autofree char *path = g_strdup_printf("/cli-measure/refuse/%s", refusals[i].name);
        g_test_add_data_func(path, &refusals[i], test_refusal);
    }
    rc = g_test_run();
    g_free(inputs);
    return rc;
}
