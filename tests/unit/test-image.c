/* snpguard image: the demo root, LUKS2 and dm-verity images made on this
 * host with libcryptsetup's user-space paths, checked with the agent's own
 * code (guest/luks.c): the LUKS2 image passes exactly the header checks
 * the agent runs with the facts the image command records, and the
 * dm-verity tree verifies against the recorded root hash. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <libxml/xpathInternals.h>

#include "domain.h"
#include "hex.h"
#include "image.h"
#include "luks.h"
#include "measure-inputs.h"
#include "policy.h"
#include "testutil.h"

#define KEY_LEN 64

typedef struct {
    char *dir;
    char *root;       /* a directory to pack */
} Fixture;

static void
fixture_set_up(Fixture *f, gconstpointer data)
{
    g_autofree char *sub = NULL;

    f->dir = snpg_test_tmpdir();
    f->root = g_build_filename(f->dir, "root", NULL);
    sub = g_build_filename(f->root, "etc", NULL);
    g_assert_cmpint(g_mkdir_with_parents(sub, 0755), ==, 0);
    g_free(snpg_test_write(sub, "hostname", "guest\n", 6));
}

static void
fixture_tear_down(Fixture *f, gconstpointer data)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", f->dir);

    g_assert_cmpint(g_spawn_command_line_sync(cmd, NULL, NULL, NULL, NULL), ==, TRUE);
    g_free(f->root);
    g_free(f->dir);
}

static SnpgSecret *
test_key(guint8 fill)
{
    guint8 bytes[KEY_LEN];

    memset(bytes, fill, sizeof(bytes));
    return snpg_secret_new_from_data(bytes, sizeof(bytes));
}

/* Files in dir whose names start with '.' (temporary outputs). */
static guint
count_hidden(const char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name;
    guint n = 0;

    while (d && (name = g_dir_read_name(d)))
        n += name[0] == '.';
    return n;
}

/* What the verifier sends for facts, with key. */
static void
expect_from(SnpgKeyPayload *expect, const SnpgImageLuksFacts *facts, SnpgSecret *key)
{
    g_autoptr(GBytes) digest = snpg_test_unhex(facts->header_sha256);

    memset(expect, 0, sizeof(*expect));
    expect->disk_key = snpg_secret_new_from_data(snpg_secret_data(key), snpg_secret_len(key));
    expect->luks_cipher = g_strdup(facts->cipher);
    expect->luks_key_bits = facts->key_bits;
    g_assert_cmpuint(g_bytes_get_size(digest), ==, 32);
    memcpy(expect->luks_header_sha256, g_bytes_get_data(digest, NULL), 32);
    expect->has_luks_header_sha256 = TRUE;
}

static void
test_encrypt_directory(Fixture *f, gconstpointer data)
{
    g_autofree char *dst = g_build_filename(f->dir, "root.img", NULL);
    g_autoptr(SnpgSecret) key = test_key(0x5a);
    g_autoptr(SnpgSecret) other = test_key(0xa5);
    g_auto(SnpgImageLuksFacts) facts = { 0 };
    g_auto(SnpgImageLuksFacts) again = { 0 };
    g_auto(SnpgKeyPayload) expect = { 0 };
    g_auto(SnpgRefusal) refusal = { 0 };
    g_autoptr(GError) error = NULL;
    g_autofree char *bytes = NULL;
    gsize len;
    SnpgImageOptions o = { 0 };

    g_assert_true(snpg_image_encrypt(f->root, dst, key, &o, &facts, &error));
    g_assert_no_error(error);
    g_assert_cmpstr(facts.cipher, ==, "aes-xts-plain64");
    g_assert_cmpuint(facts.key_bits, ==, 512);
    g_assert_cmpuint(facts.data_offset, ==, SNPG_IMAGE_LUKS_DATA_OFFSET);
    g_assert_cmpuint(strlen(facts.header_sha256), ==, 64);
    g_assert_cmpuint(count_hidden(f->dir), ==, 0);

    /* The agent's checks, with the facts as recorded: they pass, and the
     * key opens the keyslot (activation not asked: no device-mapper). */
    expect_from(&expect, &facts, key);
    g_assert_true(snpg_luks_check_and_open(dst, NULL, &expect, &refusal, &error));
    g_assert_no_error(error);
    /* Another key is refused as luks-key. */
    g_clear_pointer(&expect.disk_key, snpg_secret_free);
    expect.disk_key = snpg_secret_new_from_data(snpg_secret_data(other), KEY_LEN);
    g_assert_false(snpg_luks_check_and_open(dst, NULL, &expect, &refusal, &error));
    g_assert_cmpuint(refusal.reasons[0], ==, SNPG_PROTO_REASON_LUKS_KEY);
    g_clear_error(&error);

    /* The recorded facts are what reading the image gives. */
    g_assert_true(snpg_image_luks_facts(dst, &again, &error));
    g_assert_cmpstr(again.header_sha256, ==, facts.header_sha256);
    g_assert_cmpstr(again.uuid, ==, facts.uuid);

    /* The plaintext is gone: no ext4 superblock magic at the data start. */
    g_assert_true(g_file_get_contents(dst, &bytes, &len, NULL));
    g_assert_cmpuint(len, >, SNPG_IMAGE_LUKS_DATA_OFFSET + 2048);
    g_assert_false((guint8)bytes[SNPG_IMAGE_LUKS_DATA_OFFSET + 1080] == 0x53 &&
                   (guint8)bytes[SNPG_IMAGE_LUKS_DATA_OFFSET + 1081] == 0xef);
    g_assert_null(memmem(bytes + SNPG_IMAGE_LUKS_DATA_OFFSET, len - SNPG_IMAGE_LUKS_DATA_OFFSET,
                         "hostname", 8));
}

/* DST ending in .qcow2: qemu-img's format, holding the same LUKS2 volume. */
static void
test_encrypt_qcow2(Fixture *f, gconstpointer data)
{
    g_autofree char *dst = g_build_filename(f->dir, "root.qcow2", NULL);
    g_autofree char *raw = g_build_filename(f->dir, "back.raw", NULL);
    g_autofree char *head = NULL;
    g_autoptr(SnpgSecret) key = test_key(0x44);
    g_auto(SnpgImageLuksFacts) facts = { 0 };
    g_auto(SnpgImageLuksFacts) back = { 0 };
    g_autoptr(GError) error = NULL;
    SnpgImageOptions o = { 0 };
    const char *argv[] = { "qemu-img", "convert", "-f", "qcow2", "-O", "raw", dst, raw, NULL };
    g_autofree char *qemu_img = g_find_program_in_path("qemu-img");
    int status = -1;

    if (!qemu_img) {
        g_test_skip("qemu-img is missing (apt-get install qemu-utils)");
        return;
    }
    g_assert_true(snpg_image_encrypt(f->root, dst, key, &o, &facts, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(count_hidden(f->dir), ==, 0);
    g_assert_true(g_file_get_contents(dst, &head, NULL, NULL));
    g_assert_cmpmem(head, 4, "QFI\xfb", 4);
    g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
                               NULL, &status, NULL));
    g_assert_cmpint(status, ==, 0);
    g_assert_true(snpg_image_luks_facts(raw, &back, &error));
    g_assert_cmpstr(back.header_sha256, ==, facts.header_sha256);
}

/* A raw image as source, and the header digest defined as what
 * luksHeaderBackup writes. */
static void
test_encrypt_raw(Fixture *f, gconstpointer data)
{
    g_autofree char *raw = g_build_filename(f->dir, "plain.raw", NULL);
    g_autofree char *dst = g_build_filename(f->dir, "root.img", NULL);
    g_autofree char *backup = g_build_filename(f->dir, "backup", NULL);
    g_autofree char *backup_bytes = NULL;
    g_autofree char *sum = NULL;
    g_autoptr(SnpgSecret) key = test_key(0x11);
    g_auto(SnpgImageLuksFacts) facts = { 0 };
    g_autoptr(GError) error = NULL;
    g_autofree guint8 *plain = g_malloc(1 << 20);
    gsize len;
    SnpgImageOptions o = { 0 };

    for (gsize i = 0; i < (1 << 20); i++)
        plain[i] = (guint8)(i * 7);
    g_assert_true(g_file_set_contents(raw, (char *)plain, 1 << 20, NULL));
    g_assert_true(snpg_image_encrypt(raw, dst, key, &o, &facts, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(facts.data_size, ==, 1 << 20);
    {
        const char *argv[] = { "cryptsetup", "luksHeaderBackup", dst, "--header-backup-file",
                               backup, NULL };
        int status = -1;

        if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH |
                          G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                          NULL, NULL, &status, NULL) || status != 0) {
            g_test_skip("cryptsetup luksHeaderBackup is not available");
            return;
        }
    }
    g_assert_true(g_file_get_contents(backup, &backup_bytes, &len, NULL));
    sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (guchar *)backup_bytes, len);
    g_assert_cmpstr(sum, ==, facts.header_sha256);
}

static void
test_refuses_overwrite(Fixture *f, gconstpointer data)
{
    g_autofree char *dst = g_build_filename(f->dir, "root.img", NULL);
    g_autofree char *contents = NULL;
    g_autoptr(SnpgSecret) key = test_key(0x22);
    g_autoptr(GError) error = NULL;
    g_auto(SnpgImageLuksFacts) facts = { 0 };
    SnpgImageOptions o = { 0 };

    g_assert_true(g_file_set_contents(dst, "precious", -1, NULL));
    g_assert_false(snpg_image_encrypt(f->root, dst, key, &o, NULL, &error));
    g_assert_error(error, SNPG_IMAGE_ERROR, SNPG_IMAGE_ERROR_EXISTS);
    g_assert_true(g_file_get_contents(dst, &contents, NULL, NULL));
    g_assert_cmpstr(contents, ==, "precious");
    g_clear_error(&error);
    o.force = TRUE;
    g_assert_true(snpg_image_encrypt(f->root, dst, key, &o, &facts, &error));
    g_assert_no_error(error);
}

/* A failure half-way (mke2fs not found, after the temporary files were
 * made) leaves no output and no temporary file. */
static void
test_failure_leaves_nothing(Fixture *f, gconstpointer data)
{
    g_autofree char *dst = g_build_filename(f->dir, "root.img", NULL);
    g_autofree char *data_img = g_build_filename(f->dir, "data.img", NULL);
    g_autofree char *hash_img = g_build_filename(f->dir, "hash.img", NULL);
    g_autofree char *path = g_strdup(g_getenv("PATH"));
    g_autoptr(SnpgSecret) key = test_key(0x33);
    g_autoptr(GError) error = NULL;
    SnpgImageOptions o = { 0 };

    g_setenv("PATH", "/nonexistent", TRUE);
    g_assert_false(snpg_image_encrypt(f->root, dst, key, &o, NULL, &error));
    g_assert_error(error, SNPG_IMAGE_ERROR, SNPG_IMAGE_ERROR_TOOL);
    g_clear_error(&error);
    g_assert_false(snpg_image_verity(f->root, data_img, hash_img, &o, NULL, &error));
    g_assert_error(error, SNPG_IMAGE_ERROR, SNPG_IMAGE_ERROR_TOOL);
    g_clear_error(&error);
    g_setenv("PATH", path, TRUE);
    g_assert_false(g_file_test(dst, G_FILE_TEST_EXISTS));
    g_assert_false(g_file_test(data_img, G_FILE_TEST_EXISTS));
    g_assert_false(g_file_test(hash_img, G_FILE_TEST_EXISTS));
    g_assert_cmpuint(count_hidden(f->dir), ==, 0);

    g_assert_false(snpg_image_verity("/nonexistent", data_img, hash_img, &o, NULL, &error));
    g_assert_error(error, SNPG_IMAGE_ERROR, SNPG_IMAGE_ERROR_INPUT);
    g_assert_cmpuint(count_hidden(f->dir), ==, 0);
}

static void
test_verity(Fixture *f, gconstpointer data)
{
    g_autofree char *data_img = g_build_filename(f->dir, "data.img", NULL);
    g_autofree char *hash_img = g_build_filename(f->dir, "hash.img", NULL);
    g_auto(SnpgImageVerityFacts) facts = { 0 };
    g_auto(SnpgVerityParams) params = { 0 };
    g_autoptr(GError) error = NULL;
    g_autofree char *value = NULL;
    SnpgImageOptions o = { 0 };
    int fd;

    g_assert_true(snpg_image_verity(f->root, data_img, hash_img, &o, &facts, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(strlen(facts.root_hash), ==, 64);
    g_assert_cmpuint(strlen(facts.salt), ==, 2 * SNPG_IMAGE_VERITY_SALT_LEN);
    g_assert_cmpuint(count_hidden(f->dir), ==, 0);

    /* The command line value parses as the agent parses it, and the tree
     * verifies against that root hash (user space, no mapping). */
    value = snpg_image_verity_cmdline(&facts, data_img, hash_img);
    g_assert_true(snpg_verity_params_parse(value, &params, &error));
    g_assert_no_error(error);
    g_assert_true(snpg_verity_open(&params, NULL, &error));
    g_assert_no_error(error);

    /* Outputs exist: refused without force. */
    g_assert_false(snpg_image_verity(f->root, data_img, hash_img, &o, NULL, &error));
    g_assert_error(error, SNPG_IMAGE_ERROR, SNPG_IMAGE_ERROR_EXISTS);
    g_clear_error(&error);

    /* One modified data block: the verification fails. */
    fd = open(data_img, O_WRONLY);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(pwrite(fd, "X", 1, 4096 * 3 + 17), ==, 1);
    close(fd);
    g_assert_false(snpg_verity_open(&params, NULL, &error));
    g_assert_nonnull(error);
}

static void
test_rootfs(Fixture *f, gconstpointer data)
{
    g_autofree char *dir = g_build_filename(f->dir, "demo", NULL);
    g_autofree char *init = g_build_filename(dir, "sbin", "init", NULL);
    g_autofree char *marker_file = g_build_filename(dir, "etc", "snpguard-marker", NULL);
    g_autofree char *sh = g_build_filename(dir, "bin", "sh", NULL);
    g_autofree char *marker = NULL;
    g_autofree char *target = NULL;
    g_autoptr(GError) error = NULL;
    SnpgImageRootfsOptions o = { .marker = "booted-root 42", .mtime = 1000 };
    struct stat st;

    if (!g_file_test("/bin/busybox", G_FILE_TEST_IS_EXECUTABLE)) {
        g_test_skip("no /bin/busybox (busybox-static)");
        return;
    }
    g_assert_true(snpg_image_rootfs(dir, &o, &error));
    g_assert_no_error(error);
    g_assert_true(g_file_test(init, G_FILE_TEST_IS_EXECUTABLE));
    g_assert_true(g_file_get_contents(marker_file, &marker, NULL, NULL));
    g_assert_cmpstr(marker, ==, "booted-root 42\n");
    target = g_file_read_link(sh, NULL);
    g_assert_cmpstr(target, ==, "busybox");
    g_assert_cmpint(stat(init, &st), ==, 0);
    g_assert_cmpint(st.st_mtime, ==, 1000);

    /* Exists: refused without force; a bad marker refused. */
    g_assert_false(snpg_image_rootfs(dir, &o, &error));
    g_assert_error(error, SNPG_IMAGE_ERROR, SNPG_IMAGE_ERROR_EXISTS);
    g_clear_error(&error);
    o.force = TRUE;
    o.marker = "two\nlines";
    g_assert_false(snpg_image_rootfs(dir, &o, &error));
    g_assert_error(error, SNPG_IMAGE_ERROR, SNPG_IMAGE_ERROR_INPUT);
    g_clear_error(&error);
    o.marker = "again";
    g_assert_true(snpg_image_rootfs(dir, &o, &error));
    g_free(marker);
    g_assert_true(g_file_get_contents(marker_file, &marker, NULL, NULL));
    g_assert_cmpstr(marker, ==, "again\n");
    g_assert_cmpuint(count_hidden(f->dir), ==, 0);
}

/* ---- the VM's domain and record ----------------------------------------- */

static char *
xpath_string(xmlDoc *doc, const char *expr)
{
    g_autofree char *wrapped = g_strdup_printf("string(%s)", expr);
    g_autoptr(xmlXPathContext) ctx = xmlXPathNewContext(doc);
    g_autoptr(xmlXPathObject) obj = NULL;

    xmlXPathRegisterNs(ctx, BAD_CAST "snpguard", BAD_CAST SNPG_DOMAIN_NS_URI);
    obj = xmlXPathEvalExpression(BAD_CAST wrapped, ctx);
    g_assert_nonnull(obj);
    return g_strdup((const char *)obj->stringval);
}

/* An emulated domain of workflow, as define writes it, and its record. */
static xmlDoc *
make_vm(Fixture *f, SnpgWorkflow workflow, SnpgVmRecord **ret_rec)
{
    static const char *const one[] = { "/var/lib/libvirt/images/root.img", NULL };
    static const char *const two[] = { "/var/lib/libvirt/images/data.img",
                                       "/var/lib/libvirt/images/hash.img", NULL };
    g_autofree char *templates = g_test_build_filename(G_TEST_DIST, "..", "xml-templates", NULL);
    g_autofree char *fw = g_build_filename(f->dir, "amd.bin", NULL);
    g_autofree char *kernel = g_build_filename(f->dir, "kernel.bin", NULL);
    g_autofree char *initrd = g_build_filename(f->dir, "initrd.bin", NULL);
    g_autoptr(SnpgAttestPolicy) policy = snpg_attest_policy_new();
    g_autoptr(GError) error = NULL;
    g_auto(SnpgDomainMeta) meta = { 0 };
    SnpgDomainSpec spec = {
        .template_dir = templates, .name = "test-vm", .workflow = workflow,
        .firmware = fw, .kernel = kernel, .initrd = initrd, .vcpus = 1,
        .vcpu_type = "EPYC-Milan", .memory_mib = 256,
        .disks = workflow == SNPG_WORKFLOW_ENCRYPTED ? one : two,
        .policy = SNPG_DOMAIN_POLICY_DEFAULT, .failure_action = SNPG_FAILURE_DESTROY,
        .emulate = TRUE, .append = "panic=-1 snpguard.psp=sim",
        .identity_file = "/run/snpguard/emulate/test-vm.identity",
    };
    xmlDoc *doc;
    SnpgVmRecord *rec;

    snpg_measure_inputs_write(f->dir);
    doc = snpg_domain_build(&spec, &error);
    g_assert_no_error(error);
    g_assert_true(snpg_domain_meta_read(doc, &meta, &error));
    rec = snpg_vm_record_new("test-vm");
    rec->workflow = g_strdup(snpg_workflow_to_string(workflow));
    rec->expected_measurement = g_strdup(meta.measurement);
    g_assert_true(snpg_attest_policy_set_value(policy, "measurement", meta.measurement, &error));
    g_assert_true(snpg_attest_policy_set_value(policy, "vmpl", "0", &error));
    snpg_vm_record_set_reference(rec, snpg_attest_policy_get_options(policy));
    snpg_vm_record_add_input(rec, "cmdline", "-", "sha256", "00");
    *ret_rec = rec;
    return doc;
}

/* The measurement of doc's files and values, recomputed from scratch. */
static char *
measure_doc(xmlDoc *doc)
{
    g_auto(SnpgLaunchInputs) in = { 0 };
    g_autoptr(GError) error = NULL;
    guint8 digest[SNPG_MEASURE_SNP_DIGEST_SIZE];

    g_assert_true(snpg_domain_launch_inputs(doc, &in, &error));
    g_assert_true(snpg_domain_measure(&in, digest, NULL, &error));
    return snpg_hex_encode(digest, sizeof(digest));
}

static void
test_update_encrypted(Fixture *f, gconstpointer data)
{
    g_autoptr(SnpgVmRecord) rec = NULL;
    g_autoptr(xmlDoc) doc = make_vm(f, SNPG_WORKFLOW_ENCRYPTED, &rec);
    g_autoptr(GError) error = NULL;
    g_autoptr(SnpgAttestPolicy) policy = snpg_attest_policy_new();
    g_autofree char *before = g_strdup(rec->expected_measurement);
    g_autofree char *cmdline = NULL, *source = NULL, *type = NULL, *meta_m = NULL, *now = NULL;
    g_autofree char *img = g_build_filename(f->dir, "root.qcow2", NULL);
    const char *disks[] = { img, NULL };
    g_auto(SnpgImageLuksFacts) facts = { .cipher = g_strdup("aes-xts-plain64"), .key_bits = 512,
                                         .header_sha256 = g_strdup("ab") };

    g_autofree char *dev = snpg_image_domain_disk_device(doc, 0, &error);

    g_assert_cmpstr(dev, ==, "/dev/vda");
    g_assert_true(snpg_image_update_domain(doc, rec, "encrypted", "snpguard.root", "luks:/dev/vda",
                                           disks, &error));
    g_assert_no_error(error);
    cmdline = xpath_string(doc, "/domain/os/cmdline");
    g_assert_nonnull(strstr(cmdline, "snpguard.root=luks:/dev/vda"));
    source = xpath_string(doc, "/domain/devices/disk[1]/source/@file");
    g_assert_cmpstr(source, ==, img);
    type = xpath_string(doc, "/domain/devices/disk[1]/driver/@type");
    g_assert_cmpstr(type, ==, "qcow2");

    /* The new measurement: in the metadata, the record and its reference
     * values, and what measuring the XML from scratch gives. */
    now = measure_doc(doc);
    g_assert_cmpstr(now, !=, before);
    meta_m = xpath_string(doc, "/domain/metadata/snpguard:vm/snpguard:measurement");
    g_assert_cmpstr(meta_m, ==, now);
    g_assert_cmpstr(rec->expected_measurement, ==, now);
    g_assert_true(snpg_attest_policy_load_reference_data(policy, rec->reference,
                                                         strlen(rec->reference), &error));
    g_assert_nonnull(strstr(rec->reference, now));
    g_assert_cmpstr(snpg_vm_record_get_setting(rec, "cmdline"), ==, cmdline);

    /* Again: the parameter is replaced, not added twice. */
    g_assert_true(snpg_image_update_domain(doc, rec, "encrypted", "snpguard.root", "luks:/dev/vdb",
                                           NULL, &error));
    g_free(cmdline);
    cmdline = xpath_string(doc, "/domain/os/cmdline");
    g_assert_null(strstr(cmdline, "luks:/dev/vda"));
    g_assert_nonnull(strstr(cmdline, "snpguard.root=luks:/dev/vdb"));

    /* A value that would be two words is refused. */
    g_assert_false(snpg_image_update_domain(doc, rec, "encrypted", "snpguard.root",
                                            "luks:/dev/vda init=/bin/sh", NULL, &error));
    g_assert_error(error, SNPG_IMAGE_ERROR, SNPG_IMAGE_ERROR_INPUT);
    g_clear_error(&error);

    snpg_image_record_luks(rec, &facts);
    g_assert_cmpstr(snpg_vm_record_get_setting(rec, SNPG_VM_SETTING_LUKS_CIPHER), ==,
                    "aes-xts-plain64");
    g_assert_cmpstr(snpg_vm_record_get_setting(rec, SNPG_VM_SETTING_LUKS_KEY_BITS), ==, "512");

    /* The other workflow is refused. */
    g_assert_false(snpg_image_update_domain(doc, rec, "integrity", "snpguard.verity", "x", NULL,
                                            &error));
    g_assert_error(error, SNPG_IMAGE_ERROR, SNPG_IMAGE_ERROR_WORKFLOW);
}

static void
test_update_integrity(Fixture *f, gconstpointer data)
{
    g_autoptr(SnpgVmRecord) rec = NULL;
    g_autoptr(xmlDoc) doc = make_vm(f, SNPG_WORKFLOW_INTEGRITY, &rec);
    g_autoptr(GError) error = NULL;
    g_autofree char *first = NULL, *second = NULL, *hash_source = NULL;
    const char *disks[] = { "/srv/data.img", "/srv/hash.img", NULL };

    g_assert_true(snpg_image_update_domain(doc, rec, "integrity", "snpguard.verity",
                                           "data:/dev/vda,hash:/dev/vdb,roothash:aa", disks, &error));
    g_assert_no_error(error);
    first = g_strdup(rec->expected_measurement);
    hash_source = xpath_string(doc, "/domain/devices/disk[2]/source/@file");
    g_assert_cmpstr(hash_source, ==, "/srv/hash.img");
    /* Another root hash, another measurement. */
    g_assert_true(snpg_image_update_domain(doc, rec, "integrity", "snpguard.verity",
                                           "data:/dev/vda,hash:/dev/vdb,roothash:bb", NULL, &error));
    second = measure_doc(doc);
    g_assert_cmpstr(second, ==, rec->expected_measurement);
    g_assert_cmpstr(second, !=, first);
    g_assert_false(snpg_image_update_domain(doc, rec, "encrypted", "snpguard.root", "luks:/dev/vda",
                                            NULL, &error));
    g_assert_error(error, SNPG_IMAGE_ERROR, SNPG_IMAGE_ERROR_WORKFLOW);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
    ADD("/image/encrypt/directory", test_encrypt_directory);
    ADD("/image/encrypt/raw-and-backup-digest", test_encrypt_raw);
    ADD("/image/encrypt/qcow2", test_encrypt_qcow2);
    ADD("/image/encrypt/refuses-overwrite", test_refuses_overwrite);
    ADD("/image/failure-leaves-nothing", test_failure_leaves_nothing);
    ADD("/image/verity", test_verity);
    ADD("/image/rootfs", test_rootfs);
    ADD("/image/update-domain/encrypted", test_update_encrypted);
    ADD("/image/update-domain/integrity", test_update_integrity);
    return g_test_run();
}
