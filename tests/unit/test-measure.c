/* The launch-measurement engine (src/core/measure.c, ovmf.c, sev-hashes.c,
 * vmsa.c) against values computed by the reference, virtee/sev-snp-measure
 * 0.0.13 (commit 8f2b337e), run locally on the same input bytes:
 *   SNPG_MEASURE_WRITE_INPUTS=DIR tests/unit/test-measure -p /measure/oracle/snp/vcpus/1
 *   cd DIR && /usr/bin/python3 sev-snp-measure.py ARGS   (ARGS next to each value)
 * Paths /usr/share/... are Debian 12's ovmf package (2022.11-6+deb12u1). */
#include "config.h"

#include <string.h>

#include <openssl/evp.h>

#include "measure-inputs.h"
#include "measure.h"
#include "ovmf.h"
#include "sev-hashes.h"
#include "testutil.h"
#include "vmsa.h"

static char *inputs;   /* directory with amd.bin, x64.bin, synth.bin, kernel.bin, initrd.bin */

typedef struct {
    const char *name;
    SnpgMeasureMode mode;
    guint vcpus;
    const char *cpu_type;
    const char *sig;            /* as given to --vcpu-sig */
    int family, model, stepping; /* family -1: not given */
    SnpgVmmType vmm;
    const char *features;       /* NULL: default 0x1 */
    const char *fw, *kernel, *initrd, *append;
    const char *ovmf_hash;
    const char *expected;
} Case;

static const Case cases[] = {
/* Generated with the reference; each comment is its exact command line. */
    /* sev-snp-measure.py --mode snp --vcpus 2 --vcpu-type EPYC --ovmf amd.bin */
    { "snp/cpu-type/EPYC", SNPG_MEASURE_MODE_SNP, 2, "EPYC", NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "amd.bin", NULL, NULL, NULL,
      NULL,
      "220197180eab9d147e4e4f7ab9f8d3618129ab948122de447892e580b58cda7a9bc1fdf8864e371ef6b9d01358da3dd0" },
    /* sev-snp-measure.py --mode snp --vcpus 2 --vcpu-type EPYC-v1 --ovmf amd.bin */
    { "snp/cpu-type/EPYC-v1", SNPG_MEASURE_MODE_SNP, 2, "EPYC-v1", NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "amd.bin", NULL, NULL, NULL,
      NULL,
      "220197180eab9d147e4e4f7ab9f8d3618129ab948122de447892e580b58cda7a9bc1fdf8864e371ef6b9d01358da3dd0" },
    /* sev-snp-measure.py --mode snp --vcpus 2 --vcpu-type EPYC-v2 --ovmf amd.bin */
    { "snp/cpu-type/EPYC-v2", SNPG_MEASURE_MODE_SNP, 2, "EPYC-v2", NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "amd.bin", NULL, NULL, NULL,
      NULL,
      "220197180eab9d147e4e4f7ab9f8d3618129ab948122de447892e580b58cda7a9bc1fdf8864e371ef6b9d01358da3dd0" },
    /* sev-snp-measure.py --mode snp --vcpus 2 --vcpu-type EPYC-IBPB --ovmf amd.bin */
    { "snp/cpu-type/EPYC-IBPB", SNPG_MEASURE_MODE_SNP, 2, "EPYC-IBPB", NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "amd.bin", NULL, NULL, NULL,
      NULL,
      "220197180eab9d147e4e4f7ab9f8d3618129ab948122de447892e580b58cda7a9bc1fdf8864e371ef6b9d01358da3dd0" },
    /* sev-snp-measure.py --mode snp --vcpus 2 --vcpu-type EPYC-v3 --ovmf amd.bin */
    { "snp/cpu-type/EPYC-v3", SNPG_MEASURE_MODE_SNP, 2, "EPYC-v3", NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "amd.bin", NULL, NULL, NULL,
      NULL,
      "220197180eab9d147e4e4f7ab9f8d3618129ab948122de447892e580b58cda7a9bc1fdf8864e371ef6b9d01358da3dd0" },
    /* sev-snp-measure.py --mode snp --vcpus 2 --vcpu-type EPYC-v4 --ovmf amd.bin */
    { "snp/cpu-type/EPYC-v4", SNPG_MEASURE_MODE_SNP, 2, "EPYC-v4", NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "amd.bin", NULL, NULL, NULL,
      NULL,
      "220197180eab9d147e4e4f7ab9f8d3618129ab948122de447892e580b58cda7a9bc1fdf8864e371ef6b9d01358da3dd0" },
    /* sev-snp-measure.py --mode snp --vcpus 2 --vcpu-type EPYC-Rome --ovmf amd.bin */
    { "snp/cpu-type/EPYC-Rome", SNPG_MEASURE_MODE_SNP, 2, "EPYC-Rome", NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "amd.bin", NULL, NULL, NULL,
      NULL,
      "86435ce7886cf06d3517678662f581447bc4e31d5fcd56f564a66f4ec609383c1fef14f7ff1af32cfc31baee001003bf" },
    /* sev-snp-measure.py --mode snp --vcpus 2 --vcpu-type EPYC-Rome-v1 --ovmf amd.bin */
    { "snp/cpu-type/EPYC-Rome-v1", SNPG_MEASURE_MODE_SNP, 2, "EPYC-Rome-v1", NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "amd.bin", NULL, NULL, NULL,
      NULL,
      "86435ce7886cf06d3517678662f581447bc4e31d5fcd56f564a66f4ec609383c1fef14f7ff1af32cfc31baee001003bf" },
    /* sev-snp-measure.py --mode snp --vcpus 2 --vcpu-type EPYC-Rome-v2 --ovmf amd.bin */
    { "snp/cpu-type/EPYC-Rome-v2", SNPG_MEASURE_MODE_SNP, 2, "EPYC-Rome-v2", NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "amd.bin", NULL, NULL, NULL,
      NULL,
      "86435ce7886cf06d3517678662f581447bc4e31d5fcd56f564a66f4ec609383c1fef14f7ff1af32cfc31baee001003bf" },
    /* sev-snp-measure.py --mode snp --vcpus 2 --vcpu-type EPYC-Rome-v3 --ovmf amd.bin */
    { "snp/cpu-type/EPYC-Rome-v3", SNPG_MEASURE_MODE_SNP, 2, "EPYC-Rome-v3", NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "amd.bin", NULL, NULL, NULL,
      NULL,
      "86435ce7886cf06d3517678662f581447bc4e31d5fcd56f564a66f4ec609383c1fef14f7ff1af32cfc31baee001003bf" },
    /* sev-snp-measure.py --mode snp --vcpus 2 --vcpu-type EPYC-Milan --ovmf amd.bin */
    { "snp/cpu-type/EPYC-Milan", SNPG_MEASURE_MODE_SNP, 2, "EPYC-Milan", NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "amd.bin", NULL, NULL, NULL,
      NULL,
      "98cf65392fca3490ff0efb3d997b36f741f9a62b5a5edb112597475b42a2af9d62914b2ffab2dd8b8d65ecee8ad142a5" },
    /* sev-snp-measure.py --mode snp --vcpus 2 --vcpu-type EPYC-Milan-v1 --ovmf amd.bin */
    { "snp/cpu-type/EPYC-Milan-v1", SNPG_MEASURE_MODE_SNP, 2, "EPYC-Milan-v1", NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "amd.bin", NULL, NULL, NULL,
      NULL,
      "98cf65392fca3490ff0efb3d997b36f741f9a62b5a5edb112597475b42a2af9d62914b2ffab2dd8b8d65ecee8ad142a5" },
    /* sev-snp-measure.py --mode snp --vcpus 2 --vcpu-type EPYC-Milan-v2 --ovmf amd.bin */
    { "snp/cpu-type/EPYC-Milan-v2", SNPG_MEASURE_MODE_SNP, 2, "EPYC-Milan-v2", NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "amd.bin", NULL, NULL, NULL,
      NULL,
      "98cf65392fca3490ff0efb3d997b36f741f9a62b5a5edb112597475b42a2af9d62914b2ffab2dd8b8d65ecee8ad142a5" },
    /* sev-snp-measure.py --mode snp --vcpus 2 --vcpu-type EPYC-Genoa --ovmf amd.bin */
    { "snp/cpu-type/EPYC-Genoa", SNPG_MEASURE_MODE_SNP, 2, "EPYC-Genoa", NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "amd.bin", NULL, NULL, NULL,
      NULL,
      "04159d3c9ef178be0a6e7695691d6e6087a6d55b39e77ce251c9bf0bd1c410007190eeb08ee0a8f637027cdd00340144" },
    /* sev-snp-measure.py --mode snp --vcpus 2 --vcpu-type EPYC-Genoa-v1 --ovmf amd.bin */
    { "snp/cpu-type/EPYC-Genoa-v1", SNPG_MEASURE_MODE_SNP, 2, "EPYC-Genoa-v1", NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "amd.bin", NULL, NULL, NULL,
      NULL,
      "04159d3c9ef178be0a6e7695691d6e6087a6d55b39e77ce251c9bf0bd1c410007190eeb08ee0a8f637027cdd00340144" },
    /* sev-snp-measure.py --mode snp --vcpus 2 --vcpu-type EPYC-Turin --ovmf amd.bin */
    { "snp/cpu-type/EPYC-Turin", SNPG_MEASURE_MODE_SNP, 2, "EPYC-Turin", NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "amd.bin", NULL, NULL, NULL,
      NULL,
      "131beb324f310fad0220b66cd2e66b9f965e00df99f9e011612c038a5e899eb97325d224a0b99ba9afa411561c10cbbc" },
    /* sev-snp-measure.py --mode snp --vcpus 2 --vcpu-sig 0xa00f11 --ovmf amd.bin */
    { "snp/sig/hex", SNPG_MEASURE_MODE_SNP, 2, NULL, "0xa00f11", -1, 0, 0, SNPG_VMM_QEMU, NULL, "amd.bin", NULL, NULL, NULL,
      NULL,
      "98cf65392fca3490ff0efb3d997b36f741f9a62b5a5edb112597475b42a2af9d62914b2ffab2dd8b8d65ecee8ad142a5" },
    /* sev-snp-measure.py --mode snp --vcpus 2 --vcpu-sig 8392466 --ovmf amd.bin */
    { "snp/sig/decimal", SNPG_MEASURE_MODE_SNP, 2, NULL, "8392466", -1, 0, 0, SNPG_VMM_QEMU, NULL, "amd.bin", NULL, NULL, NULL,
      NULL,
      "220197180eab9d147e4e4f7ab9f8d3618129ab948122de447892e580b58cda7a9bc1fdf8864e371ef6b9d01358da3dd0" },
    /* sev-snp-measure.py --mode snp --vcpus 2 --vcpu-sig 0o40007421 --ovmf amd.bin */
    { "snp/sig/octal", SNPG_MEASURE_MODE_SNP, 2, NULL, "0o40007421", -1, 0, 0, SNPG_VMM_QEMU, NULL, "amd.bin", NULL, NULL, NULL,
      NULL,
      "e6bdd3fe9afa55785a236c69d6ef3529e7b92438f58ca9059dc3b995833067b0db5e7808142620093ca14f4cc759f383" },
    /* sev-snp-measure.py --mode snp --vcpus 2 --vcpu-sig 0 --ovmf amd.bin */
    { "snp/sig/zero", SNPG_MEASURE_MODE_SNP, 2, NULL, "0", -1, 0, 0, SNPG_VMM_QEMU, NULL, "amd.bin", NULL, NULL, NULL,
      NULL,
      "8554466d6a0d859f423e5c071c9abd5f8092ea79fa040d579f26d5e3f2f57080a09065574bb86023d2507cf9fdb1a1eb" },
    /* sev-snp-measure.py --mode snp --vcpus 2 --vcpu-family 25 --vcpu-model 1 --vcpu-stepping 1 --ovmf amd.bin */
    { "snp/fms/milan", SNPG_MEASURE_MODE_SNP, 2, NULL, NULL, 25, 1, 1, SNPG_VMM_QEMU, NULL, "amd.bin", NULL, NULL, NULL,
      NULL,
      "98cf65392fca3490ff0efb3d997b36f741f9a62b5a5edb112597475b42a2af9d62914b2ffab2dd8b8d65ecee8ad142a5" },
    /* sev-snp-measure.py --mode snp --vcpus 2 --vcpu-family 23 --vcpu-model 49 --vcpu-stepping 0 --ovmf amd.bin */
    { "snp/fms/rome", SNPG_MEASURE_MODE_SNP, 2, NULL, NULL, 23, 49, 0, SNPG_VMM_QEMU, NULL, "amd.bin", NULL, NULL, NULL,
      NULL,
      "86435ce7886cf06d3517678662f581447bc4e31d5fcd56f564a66f4ec609383c1fef14f7ff1af32cfc31baee001003bf" },
    /* sev-snp-measure.py --mode snp --vcpus 2 --vcpu-family 6 --vcpu-model 85 --vcpu-stepping 4 --ovmf amd.bin */
    { "snp/fms/family6", SNPG_MEASURE_MODE_SNP, 2, NULL, NULL, 6, 85, 4, SNPG_VMM_QEMU, NULL, "amd.bin", NULL, NULL, NULL,
      NULL,
      "19017e305009ea5def07d9fa8dfbc725c9f0e595703562456cb1d123e7e274611948215a9e31db9f3aca10af311b4552" },
    /* sev-snp-measure.py --mode snp --vcpus 2 --vcpu-family 270 --vcpu-model 255 --vcpu-stepping 15 --ovmf amd.bin */
    { "snp/fms/family270", SNPG_MEASURE_MODE_SNP, 2, NULL, NULL, 270, 255, 15, SNPG_VMM_QEMU, NULL, "amd.bin", NULL, NULL, NULL,
      NULL,
      "e8f61cbc07c4cb713cbac30714234b221f36298485612f412b36d798f1cb16445824307176bc5d1c7b12648216e102a8" },
    /* sev-snp-measure.py --mode snp --vcpus 2 --vcpu-family 0 --vcpu-model 0 --vcpu-stepping 0 --ovmf amd.bin */
    { "snp/fms/zero", SNPG_MEASURE_MODE_SNP, 2, NULL, NULL, 0, 0, 0, SNPG_VMM_QEMU, NULL, "amd.bin", NULL, NULL, NULL,
      NULL,
      "8554466d6a0d859f423e5c071c9abd5f8092ea79fa040d579f26d5e3f2f57080a09065574bb86023d2507cf9fdb1a1eb" },
    /* sev-snp-measure.py --mode snp --vcpus 4 --vcpu-type EPYC-Milan --vmm-type QEMU --ovmf amd.bin --kernel kernel.bin --initrd initrd.bin --append console=ttyS0 */
    { "snp/vmm/QEMU/amd-kernel", SNPG_MEASURE_MODE_SNP, 4, "EPYC-Milan", NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "amd.bin", "kernel.bin", "initrd.bin", "console=ttyS0",
      NULL,
      "564973fdb2d7189a55fb520de8028b1741b0197d820d51debc1ba89fa16403aa4e48c76b79045576efb7262faad4f392" },
    /* sev-snp-measure.py --mode snp --vcpus 4 --vcpu-type EPYC-Genoa --vmm-type QEMU --ovmf x64.bin */
    { "snp/vmm/QEMU/x64", SNPG_MEASURE_MODE_SNP, 4, "EPYC-Genoa", NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "x64.bin", NULL, NULL, NULL,
      NULL,
      "c7b872c59fb45482b8c54b820897824a80589a7e54777224559fb707040280efe3fcef164367c670013f7f86563a0775" },
    /* sev-snp-measure.py --mode snp --vcpus 3 --vcpu-type EPYC-Turin --vmm-type QEMU --ovmf synth.bin --kernel kernel.bin */
    { "snp/vmm/QEMU/synth", SNPG_MEASURE_MODE_SNP, 3, "EPYC-Turin", NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "synth.bin", "kernel.bin", NULL, NULL,
      NULL,
      "20c22c1ee5a539ab404238733e3e1d8be4c5b7cb8b684c4a32a10a45840542eda430ffaca0f336f0fd03e25cf40eb96a" },
    /* sev-snp-measure.py --mode seves --vcpus 3 --vcpu-type EPYC-Rome --vmm-type QEMU --ovmf amd.bin --kernel kernel.bin --initrd initrd.bin */
    { "seves/vmm/QEMU", SNPG_MEASURE_MODE_SEV_ES, 3, "EPYC-Rome", NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "amd.bin", "kernel.bin", "initrd.bin", NULL,
      NULL,
      "33bd25cb47648a279306c1735deeaaddc64e989a13bdfcee4d66e21840ba480e" },
    /* sev-snp-measure.py --mode snp --vcpus 4 --vcpu-type EPYC-Milan --vmm-type ec2 --ovmf amd.bin --kernel kernel.bin --initrd initrd.bin --append console=ttyS0 */
    { "snp/vmm/ec2/amd-kernel", SNPG_MEASURE_MODE_SNP, 4, "EPYC-Milan", NULL, -1, 0, 0, SNPG_VMM_EC2, NULL, "amd.bin", "kernel.bin", "initrd.bin", "console=ttyS0",
      NULL,
      "097e3f1a26626be3299ef8caacf80ee650bced7a080927997e158f76992894112b008a6e0d94278039a0d4724b01f3cd" },
    /* sev-snp-measure.py --mode snp --vcpus 4 --vcpu-type EPYC-Genoa --vmm-type ec2 --ovmf x64.bin */
    { "snp/vmm/ec2/x64", SNPG_MEASURE_MODE_SNP, 4, "EPYC-Genoa", NULL, -1, 0, 0, SNPG_VMM_EC2, NULL, "x64.bin", NULL, NULL, NULL,
      NULL,
      "5636b10423ecbf458c8221453cca6459c3d66d4d86fb20d730383538331c0ccd7b5c4689ff8f1efb0f6654956154432c" },
    /* sev-snp-measure.py --mode snp --vcpus 3 --vcpu-type EPYC-Turin --vmm-type ec2 --ovmf synth.bin --kernel kernel.bin */
    { "snp/vmm/ec2/synth", SNPG_MEASURE_MODE_SNP, 3, "EPYC-Turin", NULL, -1, 0, 0, SNPG_VMM_EC2, NULL, "synth.bin", "kernel.bin", NULL, NULL,
      NULL,
      "28a7130faa6a408bbd770469a1ecf336e9d9cdbe7a32622ddf4d4811c9b3508e25e60119007ca0823419bc1dd6c372a8" },
    /* sev-snp-measure.py --mode seves --vcpus 3 --vcpu-type EPYC-Rome --vmm-type ec2 --ovmf amd.bin --kernel kernel.bin --initrd initrd.bin */
    { "seves/vmm/ec2", SNPG_MEASURE_MODE_SEV_ES, 3, "EPYC-Rome", NULL, -1, 0, 0, SNPG_VMM_EC2, NULL, "amd.bin", "kernel.bin", "initrd.bin", NULL,
      NULL,
      "1ea44095d055ede1e462a2a5448dab4f0bafebf342269c467d4c5067812030ab" },
    /* sev-snp-measure.py --mode snp --vcpus 4 --vcpu-type EPYC-Milan --vmm-type gce --ovmf amd.bin --kernel kernel.bin --initrd initrd.bin --append console=ttyS0 */
    { "snp/vmm/gce/amd-kernel", SNPG_MEASURE_MODE_SNP, 4, "EPYC-Milan", NULL, -1, 0, 0, SNPG_VMM_GCE, NULL, "amd.bin", "kernel.bin", "initrd.bin", "console=ttyS0",
      NULL,
      "ddb35d6f71c87944757d4c39cffa6fe00a1d72a0212ce5fc7fef3525c61697b7afaccd752d6a9789640e1a21aee5bb55" },
    /* sev-snp-measure.py --mode snp --vcpus 4 --vcpu-type EPYC-Genoa --vmm-type gce --ovmf x64.bin */
    { "snp/vmm/gce/x64", SNPG_MEASURE_MODE_SNP, 4, "EPYC-Genoa", NULL, -1, 0, 0, SNPG_VMM_GCE, NULL, "x64.bin", NULL, NULL, NULL,
      NULL,
      "6c478351083f02d40439c637fb6f18f6590f46150f16e9b1f84418ebc0d19b66ebbbe1bdd65d94083c39aef78277fec1" },
    /* sev-snp-measure.py --mode snp --vcpus 3 --vcpu-type EPYC-Turin --vmm-type gce --ovmf synth.bin --kernel kernel.bin */
    { "snp/vmm/gce/synth", SNPG_MEASURE_MODE_SNP, 3, "EPYC-Turin", NULL, -1, 0, 0, SNPG_VMM_GCE, NULL, "synth.bin", "kernel.bin", NULL, NULL,
      NULL,
      "9489a7f138dc09cdfbf950b57ed240a57e9289e5a868ac19c6bc534af576b71147221d60c4127e6678d77384287c3645" },
    /* sev-snp-measure.py --mode seves --vcpus 3 --vcpu-type EPYC-Rome --vmm-type gce --ovmf amd.bin --kernel kernel.bin --initrd initrd.bin */
    { "seves/vmm/gce", SNPG_MEASURE_MODE_SEV_ES, 3, "EPYC-Rome", NULL, -1, 0, 0, SNPG_VMM_GCE, NULL, "amd.bin", "kernel.bin", "initrd.bin", NULL,
      NULL,
      "48b4f97db84bed7993ac31d78c9cf6a69ea08ca7173515a9f6f694e5c88b805d" },
    /* sev-snp-measure.py --mode snp --vcpus 2 --vcpu-type EPYC-Milan --guest-features 0x0 --ovmf amd.bin */
    { "snp/features/0x0", SNPG_MEASURE_MODE_SNP, 2, "EPYC-Milan", NULL, -1, 0, 0, SNPG_VMM_QEMU, "0x0", "amd.bin", NULL, NULL, NULL,
      NULL,
      "a7fedfb1b7805c42fcd6c9ce67cb15c426a665ddc5a8f8da14d57f9b4fcc0b4f10aec27f7f916f855adb8d141cbcc599" },
    /* sev-snp-measure.py --mode snp --vcpus 2 --vcpu-type EPYC-Milan --guest-features 0x21 --ovmf amd.bin */
    { "snp/features/0x21", SNPG_MEASURE_MODE_SNP, 2, "EPYC-Milan", NULL, -1, 0, 0, SNPG_VMM_QEMU, "0x21", "amd.bin", NULL, NULL, NULL,
      NULL,
      "ca8ced47899284f2f278019972127c8595987c793ff247166fb05e8baa69f23fa7a74372733a908ae12d08261f145ff7" },
    /* sev-snp-measure.py --mode snp --vcpus 2 --vcpu-type EPYC-Milan --guest-features 0x3f --ovmf amd.bin */
    { "snp/features/0x3f", SNPG_MEASURE_MODE_SNP, 2, "EPYC-Milan", NULL, -1, 0, 0, SNPG_VMM_QEMU, "0x3f", "amd.bin", NULL, NULL, NULL,
      NULL,
      "087c6d268fa9b1ff5901b10432463458f17720ed03aaeca6f435194a65d929b3995dfaccfc5f3837f5f704b2c2123e3e" },
    /* sev-snp-measure.py --mode snp --vcpus 2 --vcpu-type EPYC-Milan --guest-features 0xffffffffffffffff --ovmf amd.bin */
    { "snp/features/0xffffffffffffffff", SNPG_MEASURE_MODE_SNP, 2, "EPYC-Milan", NULL, -1, 0, 0, SNPG_VMM_QEMU, "0xffffffffffffffff", "amd.bin", NULL, NULL, NULL,
      NULL,
      "c53aa6135d584f480113bd1d45919e5f5acb6d1773789fd0a8689f885af619d352051c666bee3c186f4c5707f81bbf45" },
    /* sev-snp-measure.py --mode seves --vcpus 2 --vcpu-type EPYC-Milan --guest-features 0x21 --ovmf amd.bin */
    { "seves/features-ignored", SNPG_MEASURE_MODE_SEV_ES, 2, "EPYC-Milan", NULL, -1, 0, 0, SNPG_VMM_QEMU, "0x21", "amd.bin", NULL, NULL, NULL,
      NULL,
      "858c738c8a168456fc3bba5db49f3d13c41e8f8ab19bc7fb554152ae0fdcbb51" },
    /* sev-snp-measure.py --mode snp --vcpus 1 --vcpu-type EPYC-Milan --ovmf amd.bin --kernel kernel.bin */
    { "snp/hashes/kernel", SNPG_MEASURE_MODE_SNP, 1, "EPYC-Milan", NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "amd.bin", "kernel.bin", NULL, NULL,
      NULL,
      "ff12687c7b8e21bb1ff6316720b12bfcba9ba328f4658c46cd87485e11cdc94691e8b249e75041f305e076024d1d9dbb" },
    /* sev-snp-measure.py --mode snp --vcpus 1 --vcpu-type EPYC-Milan --ovmf amd.bin --kernel kernel.bin --append '' */
    { "snp/hashes/kernel-empty-append", SNPG_MEASURE_MODE_SNP, 1, "EPYC-Milan", NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "amd.bin", "kernel.bin", NULL, "",
      NULL,
      "ff12687c7b8e21bb1ff6316720b12bfcba9ba328f4658c46cd87485e11cdc94691e8b249e75041f305e076024d1d9dbb" },
    /* sev-snp-measure.py --mode snp --vcpus 1 --vcpu-type EPYC-Milan --ovmf amd.bin --kernel kernel.bin --initrd initrd.bin */
    { "snp/hashes/kernel-initrd", SNPG_MEASURE_MODE_SNP, 1, "EPYC-Milan", NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "amd.bin", "kernel.bin", "initrd.bin", NULL,
      NULL,
      "870c0cac74c7400067c5713c96aed3a231482a286dc8119e5d0482128e285345a610e6d9ea6671d81c77bebe4f591887" },
    /* sev-snp-measure.py --mode snp --vcpus 1 --vcpu-type EPYC-Milan --ovmf amd.bin --kernel kernel.bin --append 'root=/dev/vda1 console=ttyS0' */
    { "snp/hashes/kernel-append", SNPG_MEASURE_MODE_SNP, 1, "EPYC-Milan", NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "amd.bin", "kernel.bin", NULL, "root=/dev/vda1 console=ttyS0",
      NULL,
      "54dafca9adfa2cf985cbf95a5faa5af363a6b47f3d1f0afe3b3864885eaf55d55316509072bfe35c63bcc74824763baa" },
    /* sev-snp-measure.py --mode snp --vcpus 1 --vcpu-type EPYC-Milan --ovmf amd.bin --kernel kernel.bin --initrd initrd.bin --append 'quiet name=äöü' */
    { "snp/hashes/utf8-append", SNPG_MEASURE_MODE_SNP, 1, "EPYC-Milan", NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "amd.bin", "kernel.bin", "initrd.bin", "quiet name=\303\244\303\266\303\274",
      NULL,
      "4b29f209f3a981bc425cf437a43eb288fb87a5204a1bfd500856adb944de28bf8a9e095a19f6f81e7a08927d39cd1cbb" },
    /* sev-snp-measure.py --mode snp --vcpus 1 --vcpu-type EPYC-Milan --ovmf amd.bin --kernel initrd.bin --initrd kernel.bin */
    { "snp/hashes/initrd-as-kernel", SNPG_MEASURE_MODE_SNP, 1, "EPYC-Milan", NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "amd.bin", "initrd.bin", "kernel.bin", NULL,
      NULL,
      "f77035fd3eced0af36bcd5f24f8c2bc8025045b0a75ba4c36f5ddc4f965e45e4d77585b4113b1c148a5152970865fe43" },
    /* sev-snp-measure.py --mode snp --vcpus 1 --vcpu-type EPYC-Genoa --ovmf amd.bin */
    { "snp/vcpus/1", SNPG_MEASURE_MODE_SNP, 1, "EPYC-Genoa", NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "amd.bin", NULL, NULL, NULL,
      NULL,
      "25c45023f739d093cf8aaa49d0f26929c1e076f13efdff968eadfd018fcc811a28bb9b02b7750c54ff289e65711e28a2" },
    /* sev-snp-measure.py --mode snp --vcpus 2 --vcpu-type EPYC-Genoa --ovmf amd.bin */
    { "snp/vcpus/2", SNPG_MEASURE_MODE_SNP, 2, "EPYC-Genoa", NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "amd.bin", NULL, NULL, NULL,
      NULL,
      "04159d3c9ef178be0a6e7695691d6e6087a6d55b39e77ce251c9bf0bd1c410007190eeb08ee0a8f637027cdd00340144" },
    /* sev-snp-measure.py --mode snp --vcpus 64 --vcpu-type EPYC-Genoa --ovmf amd.bin */
    { "snp/vcpus/64", SNPG_MEASURE_MODE_SNP, 64, "EPYC-Genoa", NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "amd.bin", NULL, NULL, NULL,
      NULL,
      "17864cf7b039fc52694ab65694ab737de04f5e142b4bfcafba56332f64cc05183d1973eabbf267b4e22efc5305c44408" },
    /* sev-snp-measure.py --mode seves --vcpus 1 --vcpu-type EPYC-Genoa --ovmf amd.bin */
    { "seves/vcpus/1", SNPG_MEASURE_MODE_SEV_ES, 1, "EPYC-Genoa", NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "amd.bin", NULL, NULL, NULL,
      NULL,
      "a4cf2eb92517d8a70fd6d43a86555d44729b712fe4bc7f584acdcfb6d01d451e" },
    /* sev-snp-measure.py --mode seves --vcpus 64 --vcpu-type EPYC-Genoa --ovmf x64.bin */
    { "seves/vcpus/64", SNPG_MEASURE_MODE_SEV_ES, 64, "EPYC-Genoa", NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "x64.bin", NULL, NULL, NULL,
      NULL,
      "dc91c6bc2a51d96c89b9e73231fe7347c52da2aba4a4adae834b53c15d8ac917" },
    /* sev-snp-measure.py --mode snp:ovmf-hash --ovmf amd.bin */
    { "snp/ovmf-hash-mode/amd", SNPG_MEASURE_MODE_SNP_OVMF_HASH, 0, NULL, NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "amd.bin", NULL, NULL, NULL,
      NULL,
      "a72dc6a6c933e21a7333ce9c4ba1037dc95c34396428e1acccdccd560bb57bc32c4b7521cbec4e3ebab44a5ead6d0a59" },
    /* sev-snp-measure.py --mode snp:ovmf-hash --ovmf synth.bin */
    { "snp/ovmf-hash-mode/synth", SNPG_MEASURE_MODE_SNP_OVMF_HASH, 0, NULL, NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "synth.bin", NULL, NULL, NULL,
      NULL,
      "8da64b6508929c9fb84c7c2dc27de8e4ea7769b8635c055200455567e7b39f7e3bb893657db49d57acf5e6a08ee24a7e" },
    /* sev-snp-measure.py --mode sev --ovmf amd.bin */
    { "sev/no-kernel", SNPG_MEASURE_MODE_SEV, 0, NULL, NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "amd.bin", NULL, NULL, NULL,
      NULL,
      "4219b3b228e1cf892a2d3cea15073fcb29d2268d96add744ccc0fdde34b213f6" },
    /* sev-snp-measure.py --mode sev --ovmf amd.bin --kernel kernel.bin --initrd initrd.bin --append console=ttyS0 */
    { "sev/kernel", SNPG_MEASURE_MODE_SEV, 0, NULL, NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "amd.bin", "kernel.bin", "initrd.bin", "console=ttyS0",
      NULL,
      "b99198925ebc7355548db23956cfb4601bc37c9f3df454d6dfcd00d55e3da713" },
    /* sev-snp-measure.py --mode sev --ovmf x64.bin */
    { "sev/x64", SNPG_MEASURE_MODE_SEV, 0, NULL, NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "x64.bin", NULL, NULL, NULL,
      NULL,
      "19047019034ddba09c674de3968c1633de36046cc6da729b611370d1a8dad7f6" },
    /* sev-snp-measure.py --mode sev --ovmf synth.bin --kernel kernel.bin */
    { "sev/synth-kernel", SNPG_MEASURE_MODE_SEV, 0, NULL, NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "synth.bin", "kernel.bin", NULL, NULL,
      NULL,
      "c6b306e81db1452b7003c577d0c3ff56bff42eb62e6f2694b57e05965c65ea47" },
    /* sev-snp-measure.py --mode seves --vcpus 2 --vcpu-type EPYC --ovmf x64.bin */
    { "seves/x64", SNPG_MEASURE_MODE_SEV_ES, 2, "EPYC", NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "x64.bin", NULL, NULL, NULL,
      NULL,
      "708232b30f7c7dfc8185717edab0d13250d39248affc3fea42f20490a51bac41" },
    /* SEV-ES needs the reset block only, not SNP's SEV metadata (regression:
     * such firmware was refused in seves mode).
     * sev-snp-measure.py --mode seves --vcpus 2 --vcpu-type EPYC-Milan --ovmf synth-nometa.bin */
    { "seves/synth-nometa", SNPG_MEASURE_MODE_SEV_ES, 2, "EPYC-Milan", NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "synth-nometa.bin", NULL, NULL, NULL,
      NULL,
      "20a603870dd4a6c5959660f396e56c76d38b490c82d79f066622c3fab414268a" },
    /* sev-snp-measure.py --mode seves --vcpus 2 --vcpu-type EPYC-Milan --ovmf synth-nometa.bin --kernel kernel.bin --initrd initrd.bin --append console=ttyS0 */
    { "seves/synth-nometa-kernel", SNPG_MEASURE_MODE_SEV_ES, 2, "EPYC-Milan", NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "synth-nometa.bin", "kernel.bin", "initrd.bin", "console=ttyS0",
      NULL,
      "c0748bd519003ae2826cadb0a72af054b471066c5d72291d10d469970946bd41" },
    /* sev-snp-measure.py --mode snp --vcpus 4 --vcpu-type EPYC-Genoa --ovmf /usr/share/ovmf/OVMF.fd */
    { "debian/ovmf-fd/snp", SNPG_MEASURE_MODE_SNP, 4, "EPYC-Genoa", NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "/usr/share/ovmf/OVMF.fd", NULL, NULL, NULL,
      NULL,
      "a509186122f6e4e095ebab39abf4aea568d9949b9e929d0759f45a3983dfc2df71404de97367aba26c08ddeebc3d7ba0" },
    /* sev-snp-measure.py --mode snp --vcpus 2 --vmm-type gce --ovmf /usr/share/ovmf/OVMF.fd */
    { "debian/ovmf-fd/snp-gce", SNPG_MEASURE_MODE_SNP, 2, NULL, NULL, -1, 0, 0, SNPG_VMM_GCE, NULL, "/usr/share/ovmf/OVMF.fd", NULL, NULL, NULL,
      NULL,
      "54089cc1872606eb58e09c0c780095ec910d96faf61d0ddbc608539b6b3338fb109b89f3e3662ee6cdb74552629e86d5" },
    /* sev-snp-measure.py --mode seves --vcpus 2 --vcpu-sig 0xa10f10 --ovmf /usr/share/ovmf/OVMF.fd */
    { "debian/ovmf-fd/seves", SNPG_MEASURE_MODE_SEV_ES, 2, NULL, "0xa10f10", -1, 0, 0, SNPG_VMM_QEMU, NULL, "/usr/share/ovmf/OVMF.fd", NULL, NULL, NULL,
      NULL,
      "e4b4746142b2df911ee18a0b0e71af077529f26f150b6b788e5135a1d7cf14f1" },
    /* sev-snp-measure.py --mode sev --ovmf /usr/share/ovmf/OVMF.fd */
    { "debian/ovmf-fd/sev", SNPG_MEASURE_MODE_SEV, 0, NULL, NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "/usr/share/ovmf/OVMF.fd", NULL, NULL, NULL,
      NULL,
      "7b456907dd0786d415999e801a1ac4637b8ed4d7cf5378cfc6edbe5e574dd773" },
    /* sev-snp-measure.py --mode snp:ovmf-hash --ovmf /usr/share/ovmf/OVMF.fd */
    { "debian/ovmf-fd/ovmf-hash", SNPG_MEASURE_MODE_SNP_OVMF_HASH, 0, NULL, NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "/usr/share/ovmf/OVMF.fd", NULL, NULL, NULL,
      NULL,
      "ba2c811512ef868474f239a21f7d7057d65a20de87a003c4f116e4fb1573183bfbcd75c3e99b2f558575a5d0094f73c6" },
    /* sev-snp-measure.py --mode snp --vcpus 4 --vcpu-type EPYC-Genoa --ovmf /usr/share/OVMF/OVMF_CODE.fd */
    { "debian/ovmf-code/snp", SNPG_MEASURE_MODE_SNP, 4, "EPYC-Genoa", NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "/usr/share/OVMF/OVMF_CODE.fd", NULL, NULL, NULL,
      NULL,
      "df9a8dcee6313ae7b057a67d04502e4a7f5060ae988043d4066655d87bcf6cfa4b7d14b485cdf67bc118182f2ec18fd2" },
    /* sev-snp-measure.py --mode snp --vcpus 2 --vmm-type gce --ovmf /usr/share/OVMF/OVMF_CODE.fd */
    { "debian/ovmf-code/snp-gce", SNPG_MEASURE_MODE_SNP, 2, NULL, NULL, -1, 0, 0, SNPG_VMM_GCE, NULL, "/usr/share/OVMF/OVMF_CODE.fd", NULL, NULL, NULL,
      NULL,
      "4533a3de7876297e19711fc610bff6b9928ca050a81516b3dcbe8f410ce38ba4769b29060d00322cefa19e4abcbab4ed" },
    /* sev-snp-measure.py --mode seves --vcpus 2 --vcpu-sig 0xa10f10 --ovmf /usr/share/OVMF/OVMF_CODE.fd */
    { "debian/ovmf-code/seves", SNPG_MEASURE_MODE_SEV_ES, 2, NULL, "0xa10f10", -1, 0, 0, SNPG_VMM_QEMU, NULL, "/usr/share/OVMF/OVMF_CODE.fd", NULL, NULL, NULL,
      NULL,
      "ef5aba1ada29a8ad3c9953168e1d8bf14eb9be42bd226ce90a901b338add65a4" },
    /* sev-snp-measure.py --mode sev --ovmf /usr/share/OVMF/OVMF_CODE.fd */
    { "debian/ovmf-code/sev", SNPG_MEASURE_MODE_SEV, 0, NULL, NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "/usr/share/OVMF/OVMF_CODE.fd", NULL, NULL, NULL,
      NULL,
      "d9b568def24088c92f34b5479e0ed7e44d0a4d4cea8a0f5716719180bba48106" },
    /* Debian's 4 MiB OVMF has the SEV-ES reset block but no SEV metadata: QEMU
     * launches SEV-ES guests with it (regression: it was refused).
     * sev-snp-measure.py --mode seves --vcpus 4 --vcpu-type EPYC-v4 --ovmf /usr/share/OVMF/OVMF_CODE_4M.fd */
    { "debian/ovmf-code-4m/seves", SNPG_MEASURE_MODE_SEV_ES, 4, "EPYC-v4", NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "/usr/share/OVMF/OVMF_CODE_4M.fd", NULL, NULL, NULL,
      NULL,
      "9509e57b579b7be22e2b151ad3e941538f7ecb3028eeeef3a6c8aad65f8cfa2a" },
    /* sev-snp-measure.py --mode snp:ovmf-hash --ovmf /usr/share/OVMF/OVMF_CODE.fd */
    { "debian/ovmf-code/ovmf-hash", SNPG_MEASURE_MODE_SNP_OVMF_HASH, 0, NULL, NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "/usr/share/OVMF/OVMF_CODE.fd", NULL, NULL, NULL,
      NULL,
      "a5429c12f18e96502e1dd4917e8b0c35e4f4ebceac5fe8820b41d91d1c509abeb28146fcc453e8be4d3ede27c3fbaad3" },
    /* sev-snp-measure.py --mode snp --vcpus 2 --vcpu-type EPYC-Milan --ovmf amd.bin --kernel kernel.bin --snp-ovmf-hash 8da64b6508929c9fb84c7c2dc27de8e4ea7769b8635c055200455567e7b39f7e3bb893657db49d57acf5e6a08ee24a7e */
    { "snp/precomputed/synth-hash-on-amd", SNPG_MEASURE_MODE_SNP, 2, "EPYC-Milan", NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "amd.bin", "kernel.bin", NULL, NULL,
      "8da64b6508929c9fb84c7c2dc27de8e4ea7769b8635c055200455567e7b39f7e3bb893657db49d57acf5e6a08ee24a7e",
      "04c0705f566a0cf5b2f100039b01702cf550519e6cf420f74f8f46775a0fbd9babaed9ee000f340836af308d2ed7772e" },
    /* sev-snp-measure.py --mode snp --vcpus 2 --vcpu-type EPYC-Milan --ovmf amd.bin --kernel kernel.bin --snp-ovmf-hash A72DC6A6C933E21A7333CE9C4BA1037DC95C34396428E1ACCCDCCD560BB57BC32C4B7521CBEC4E3EBAB44A5EAD6D0A59 */
    { "snp/precomputed/own-hash", SNPG_MEASURE_MODE_SNP, 2, "EPYC-Milan", NULL, -1, 0, 0, SNPG_VMM_QEMU, NULL, "amd.bin", "kernel.bin", NULL, NULL,
      "A72DC6A6C933E21A7333CE9C4BA1037DC95C34396428E1ACCCDCCD560BB57BC32C4B7521CBEC4E3EBAB44A5EAD6D0A59",
      "ce6a4a55ed0d585e908cb1b3efc6aa7406b631a3e84a9e2ef05dfe3ec320742660cde52c20b72ec3f2050335dac116c5" },
};

/* "0x..", "0o.." or decimal, as the reference's int(s, 0). */
static guint64
parse_int(const char *s)
{
    guint base = 10;
    guint64 v = 0;

    if (g_str_has_prefix(s, "0x"))
        base = 16;
    else if (g_str_has_prefix(s, "0o"))
        base = 8;
    g_assert_true(g_ascii_string_to_unsigned(base == 10 ? s : s + 2, base, 0, G_MAXUINT64, &v, NULL));
    return v;
}

static char *
input_path(const char *name)
{
    return name[0] == '/' ? g_strdup(name) : g_build_filename(inputs, name, NULL);
}

static void
case_params(const Case *c, SnpgMeasureParams *p, char **paths, guint8 *hash)
{
    g_autoptr(GError) error = NULL;

    memset(p, 0, sizeof(*p));
    p->mode = c->mode;
    p->vcpus = c->vcpus;
    p->vmm = c->vmm;
    p->guest_features = c->features ? parse_int(c->features) : 0x1;
    if (c->family >= 0)
        g_assert_true(snpg_vmsa_cpu_sig(c->family, c->model, c->stepping, &p->vcpu_sig, &error));
    else if (c->sig)
        p->vcpu_sig = (guint32)parse_int(c->sig);
    else if (c->cpu_type)
        g_assert_true(snpg_vmsa_cpu_type_sig(c->cpu_type, &p->vcpu_sig, &error));
    g_assert_no_error(error);
    p->firmware = paths[0] = input_path(c->fw);
    if (c->kernel)
        p->kernel = paths[1] = input_path(c->kernel);
    if (c->initrd)
        p->initrd = paths[2] = input_path(c->initrd);
    p->append = c->append;
    if (c->ovmf_hash) {
        g_autoptr(GBytes) b = snpg_test_unhex(c->ovmf_hash);
        g_assert_cmpuint(g_bytes_get_size(b), ==, 48);
        memcpy(hash, g_bytes_get_data(b, NULL), 48);
        p->ovmf_hash = hash;
    }
}

static gboolean
skip_absent(const char *fw)
{
    if (fw[0] == '/' && !g_file_test(fw, G_FILE_TEST_EXISTS)) {
        g_autofree char *msg = g_strdup_printf("%s is absent (install Debian's ovmf package)", fw);
        g_test_skip(msg);
        return TRUE;
    }
    return FALSE;
}

static void
test_oracle(gconstpointer data)
{
    const Case *c = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(SnpgMeasureExplain) explain = NULL;
    char *paths[3] = { NULL, NULL, NULL };
    guint8 digest[SNPG_MEASURE_DIGEST_MAX], hash[48];
    SnpgMeasureParams p;
    g_autofree char *hex = NULL, *hex2 = NULL;
    gsize n = snpg_measure_digest_size(c->mode);

    if (skip_absent(c->fw))
        return;
    case_params(c, &p, paths, hash);
    g_assert_true(snpg_measure(&p, digest, NULL, &error));
    g_assert_no_error(error);
    hex = snpg_test_hex(digest, n);
    g_assert_cmpstr(hex, ==, c->expected);

    /* The explanation must not change the value, and ends on it. */
    memset(digest, 0, sizeof(digest));
    g_assert_true(snpg_measure(&p, digest, &explain, &error));
    g_assert_no_error(error);
    hex2 = snpg_test_hex(digest, n);
    g_assert_cmpstr(hex2, ==, c->expected);
    g_assert_cmpuint(explain->digest_len, ==, n);
    g_assert_cmpmem(explain->digest, n, digest, n);
    if (explain->stages->len > 0) {
        const SnpgMeasureStage *last = &g_array_index(explain->stages, SnpgMeasureStage,
                                                      explain->stages->len - 1);
        g_assert_cmpmem(last->digest, n, digest, n);
    }
    for (guint i = 0; i < G_N_ELEMENTS(paths); i++)
        g_free(paths[i]);
}

/* The running digests in an explanation are real: the stage after the
 * firmware of an snp measurement is the snp:ovmf-hash value, and feeding it
 * back as a precomputed hash gives the same launch digest. */
static void
test_explain_stages(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(SnpgMeasureExplain) ex = NULL, ex_hash = NULL;
    g_autofree char *fw = g_build_filename(inputs, "synth.bin", NULL);
    g_autofree char *kernel = g_build_filename(inputs, "kernel.bin", NULL);
    SnpgMeasureParams p = { .mode = SNPG_MEASURE_MODE_SNP, .vcpus = 5, .vcpu_sig = 0xa00f11,
                            .vmm = SNPG_VMM_QEMU, .guest_features = 1, .firmware = fw,
                            .kernel = kernel };
    SnpgMeasureParams h = { .mode = SNPG_MEASURE_MODE_SNP_OVMF_HASH, .firmware = fw };
    guint8 d1[48], d2[48], d3[48], fwsha[48];
    const SnpgMeasureStage *st;
    guint n_vmsa = 0, n_sections = 0;

    g_assert_true(snpg_measure(&p, d1, &ex, &error));
    g_assert_true(snpg_measure(&h, d2, &ex_hash, &error));
    g_assert_no_error(error);
    st = &g_array_index(ex->stages, SnpgMeasureStage, 0);
    g_assert_cmpint(st->kind, ==, SNPG_MEASURE_STAGE_FIRMWARE);
    g_assert_cmpmem(st->digest, 48, d2, 48);
    g_assert_cmpuint(ex->firmware_gpa, ==, G_GUINT64_CONSTANT(0x100000000) - 16 * 4096);
    p.ovmf_hash = d2;
    g_assert_true(snpg_measure(&p, d3, NULL, &error));
    g_assert_cmpmem(d1, 48, d3, 48);

    /* The firmware digest is SHA-384 of the file. */
    {
        g_autofree char *data = NULL;
        gsize len = 0;
        g_assert_true(g_file_get_contents(fw, &data, &len, NULL));
        g_assert_true(EVP_Digest(data, len, fwsha, NULL, EVP_sha384(), NULL));
        g_assert_cmpmem(ex->firmware_digest, 48, fwsha, 48);
    }
    for (guint i = 0; i < ex->stages->len; i++) {
        st = &g_array_index(ex->stages, SnpgMeasureStage, i);
        if (st->kind == SNPG_MEASURE_STAGE_SECTION) {
            g_assert_cmpuint(st->gpa, ==, snpg_synth_default()->sections[n_sections].gpa);
            n_sections++;
        }
        if (st->kind == SNPG_MEASURE_STAGE_VMSA) {
            g_assert_cmpuint(st->vcpu, ==, n_vmsa);
            g_assert_cmpuint(st->eip, ==, n_vmsa == 0 ? 0xfffffff0u : 0x0090c008u);
            g_assert_cmpuint(st->rdx, ==, 0xa00f11);
            n_vmsa++;
        }
    }
    g_assert_cmpuint(n_sections, ==, snpg_synth_default()->n_sections);
    g_assert_cmpuint(n_vmsa, ==, 5);
    g_assert_true(ex->has_hashes);
    /* The AP page differs from the BSP page only by the start address. */
    g_assert_true(ex->has_ap_vmsa);
    g_assert_true(memcmp(ex->bsp_vmsa, ex->ap_vmsa, 4096) != 0);
}

/* ---- vmsa and sev-hashes units ------------------------------------------ */

static void
test_cpu_sig(void)
{
    g_autoptr(GError) error = NULL;
    guint32 sig = 0;
    /* The table of ../shared/measure-algorithm.md section 4. */
    static const struct { const char *name; guint32 sig; } expect[] = {
        { "EPYC", 0x00800f12 }, { "EPYC-v4", 0x00800f12 }, { "EPYC-IBPB", 0x00800f12 },
        { "EPYC-Rome", 0x00830f10 }, { "EPYC-Rome-v3", 0x00830f10 },
        { "EPYC-Milan", 0x00a00f11 }, { "EPYC-Milan-v2", 0x00a00f11 },
        { "EPYC-Genoa", 0x00a10f10 }, { "EPYC-Genoa-v1", 0x00a10f10 },
        { "EPYC-Turin", 0x00b00f00 },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(expect); i++) {
        g_assert_true(snpg_vmsa_cpu_type_sig(expect[i].name, &sig, &error));
        g_assert_cmphex(sig, ==, expect[i].sig);
    }
    g_assert_false(snpg_vmsa_cpu_type_sig("EPYC-Zen9", &sig, &error));
    g_assert_error(error, SNPG_VMSA_ERROR, SNPG_VMSA_ERROR_CPU_TYPE);
    g_clear_error(&error);
    g_assert_false(snpg_vmsa_cpu_type_sig("epyc", &sig, &error));   /* case-sensitive */
    g_clear_error(&error);

    sig = 0x1234;
    g_assert_false(snpg_vmsa_cpu_sig(271, 0, 0, &sig, &error));
    g_assert_error(error, SNPG_VMSA_ERROR, SNPG_VMSA_ERROR_CPU_SIG);
    g_assert_cmphex(sig, ==, 0x1234);   /* nothing written on failure */
    g_clear_error(&error);
    g_assert_false(snpg_vmsa_cpu_sig(25, 256, 0, &sig, &error));
    g_clear_error(&error);
    g_assert_false(snpg_vmsa_cpu_sig(25, 1, 16, &sig, &error));
    g_clear_error(&error);
    g_assert_true(snpg_vmsa_cpu_sig(15, 0, 0, &sig, &error));
    g_assert_cmphex(sig, ==, 0x00000f00);
    g_assert_true(snpg_vmsa_cpu_sig(16, 0, 0, &sig, &error));
    g_assert_cmphex(sig, ==, 0x00100f00);
}

static void
test_vmsa_layout(void)
{
    g_autofree guint8 *page = g_malloc(SNPG_VMSA_PAGE_SIZE);

    snpg_vmsa_build(page, SNPG_VMM_QEMU, 0x0080b004, 0x21, 0x00a00f11);
    /* cs: selector 0xf000, attrib 0x9b, limit 0xffff, base 0x00800000 */
    g_assert_cmpmem(page + 0x10, 16, "\x00\xf0\x9b\x00\xff\xff\x00\x00\x00\x00\x80\x00\x00\x00\x00\x00", 16);
    g_assert_cmpmem(page + 0x178, 8, "\x04\xb0\x00\x00\x00\x00\x00\x00", 8);   /* rip */
    g_assert_cmpmem(page + 0x310, 8, "\x11\x0f\xa0\x00\x00\x00\x00\x00", 8);   /* rdx */
    g_assert_cmpmem(page + 0x3b0, 8, "\x21\x00\x00\x00\x00\x00\x00\x00", 8);   /* sev_features */
    g_assert_cmpmem(page + 0x408, 4, "\x80\x1f\x00\x00", 4);                   /* mxcsr */
    g_assert_cmpuint(page[0xfff], ==, 0);

    snpg_vmsa_build(page, SNPG_VMM_EC2, SNPG_VMSA_BSP_EIP, 1, 0x00a00f11);
    g_assert_cmpuint(page[0x12], ==, 0x9a);   /* ec2 BSP cs attrib */
    g_assert_cmpmem(page + 0x310, 8, "\x00\x06\x00\x00\x00\x00\x00\x00", 8);   /* fixed rdx */
    snpg_vmsa_build(page, SNPG_VMM_GCE, SNPG_VMSA_BSP_EIP, 1, 0);
    g_assert_cmpmem(page + 0x268, 8, "\x06\x01\x07\x00\x00\x00\x00\x00", 8);   /* g_pat */

    g_assert_cmpint(snpg_vmm_type_from_string("ec2"), ==, SNPG_VMM_EC2);
    g_assert_cmpint(snpg_vmm_type_from_string("EC2"), ==, -1);
    g_assert_cmpstr(snpg_vmm_type_to_string(SNPG_VMM_GCE), ==, "gce");
}

static void
test_hashes_table(void)
{
    g_autoptr(GError) error = NULL;
    SnpgSevHashes h;
    guint8 table[SNPG_SEV_HASHES_TABLE_SIZE];
    g_autofree char *kernel = g_build_filename(inputs, "kernel.bin", NULL);
    g_autofree char *k = NULL, *c = NULL, *t = NULL;
    SnpgSevHashesJob *job;

    job = snpg_sev_hashes_start(kernel, NULL, "", &error);
    g_assert_nonnull(job);
    g_assert_true(snpg_sev_hashes_finish(job, &h, &error));
    g_assert_no_error(error);
    /* sha256sum kernel.bin (as written by snpg_measure_inputs_write); printf "\0" | sha256sum */
    k = snpg_test_hex(h.kernel, 32);
    g_assert_cmpstr(k, ==, "1ebeaba04b98df6d4d8e37752bff6dee3f9ed2dc4e55d102fbf1968dee93faa4");
    c = snpg_test_hex(h.cmdline, 32);
    g_assert_cmpstr(c, ==, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
    snpg_sev_hashes_table(&h, table);
    /* GUID, length 168, cmdline entry header, padding (algorithm doc section 3) */
    t = snpg_test_hex(table, 0x12 + 18);
    g_assert_cmpstr(t, ==, "06d63894224fc94cb479a793d411fd21a800d82dd09720bd944caa78e7714d36ab2a3200");
    g_assert_cmpmem(table + 0x44, 18, "\x31\xf7\xba\x44\x2f\x3a\xd7\x4b\x9a\xf1\x41\xe2\x91\x69\x78\x1d\x32\x00", 18);
    g_assert_cmpmem(table + 0x76, 18, "\x37\x94\xe7\x4d\xd2\xab\x7f\x42\xb8\x35\xd5\xb1\x72\xd2\x04\x5b\x32\x00", 18);
    g_assert_cmpmem(table + 0x88, 32, h.kernel, 32);
    g_assert_cmpmem(table + 0xa8, 8, "\0\0\0\0\0\0\0\0", 8);

    /* Refusals: invalid UTF-8 before any file is read; unreadable files. */
    g_assert_null(snpg_sev_hashes_start(kernel, NULL, "bad \xff", &error));
    g_assert_error(error, SNPG_SEV_HASHES_ERROR, SNPG_SEV_HASHES_ERROR_INPUT);
    g_clear_error(&error);
    job = snpg_sev_hashes_start(kernel, "/nonexistent/initrd", NULL, &error);
    g_assert_false(snpg_sev_hashes_finish(job, &h, &error));
    g_assert_error(error, SNPG_SEV_HASHES_ERROR, SNPG_SEV_HASHES_ERROR_IO);
    g_assert_nonnull(strstr(error->message, "/nonexistent/initrd"));
    g_clear_error(&error);
    job = snpg_sev_hashes_start(inputs, NULL, NULL, &error);   /* a directory */
    g_assert_false(snpg_sev_hashes_finish(job, &h, &error));
    g_assert_error(error, SNPG_SEV_HASHES_ERROR, SNPG_SEV_HASHES_ERROR_IO);
}

/* ---- the firmware parser ------------------------------------------------- */

static void
test_ovmf_fixtures(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *path = snpg_test_data("measure", "ovmf_AmdSev_suffix.bin", NULL);
    g_autoptr(GByteArray) img = snpg_image_from_tail(path, 0);
    SnpgOvmfInfo info;

    g_assert_true(snpg_ovmf_parse(img->data, img->len, &info, &error));
    g_assert_no_error(error);
    /* Values as dumped by the reference's OVMF class from the same tail. */
    g_assert_true(info.has_table && info.has_metadata && info.has_reset_block);
    g_assert_cmphex(info.reset_eip, ==, 0x0080b004);
    g_assert_cmphex(info.hashes_table_gpa, ==, 0x00810c00);
    g_assert_cmphex(info.hashes_table_size, ==, 0x400);
    g_assert_cmpuint(info.n_sections, ==, 7);
    g_assert_cmphex(info.sections[5].gpa, ==, 0x810000);
    g_assert_cmpint(info.sections[5].type, ==, SNPG_OVMF_SECTION_SNP_KERNEL_HASHES);
    g_assert_cmphex(info.sections[6].size, ==, 0xf000);
    g_assert_true(snpg_ovmf_supports_sev_hashes(&info));

    g_free(path);
    path = snpg_test_data("measure", "ovmf_OvmfX64_suffix.bin", NULL);
    g_byte_array_unref(img);
    img = snpg_image_from_tail(path, 1);
    g_assert_true(snpg_ovmf_parse(img->data, img->len, &info, &error));
    g_assert_cmpuint(info.n_sections, ==, 6);
    g_assert_null(snpg_ovmf_find_section(&info, SNPG_OVMF_SECTION_SNP_KERNEL_HASHES));
    g_assert_false(snpg_ovmf_supports_sev_hashes(&info));   /* gpa 0 */
    g_assert_cmpuint(info.gpa, ==, G_GUINT64_CONSTANT(0x100000000) - 8192);
}

typedef struct {
    const char *name;
    void (*mutate)(GByteArray *img, SnpgSynthSpec *spec, SnpgSynthSection *secs);
    int code;
    const char *message;   /* a fragment of the error */
} BadFirmware;

#define SZ 16 * 4096
static void m_size_short(GByteArray *i, SnpgSynthSpec *s, SnpgSynthSection *x) { g_byte_array_set_size(i, SZ - 1); }
static void m_size_zero(GByteArray *i, SnpgSynthSpec *s, SnpgSynthSection *x) { g_byte_array_set_size(i, 0); }
static void m_footer_small(GByteArray *i, SnpgSynthSpec *s, SnpgSynthSection *x) { i->data[SNPG_SYNTH_FOOTER_SIZE_OFF(SZ)] = 5; }
static void m_footer_huge(GByteArray *i, SnpgSynthSpec *s, SnpgSynthSection *x)
{
    s->size = 8192;   /* a footer size of 0xffff reaches before the start of 8 KiB */
    if (i->len == 8192)
        i->data[SNPG_SYNTH_FOOTER_SIZE_OFF(8192)] = i->data[SNPG_SYNTH_FOOTER_SIZE_OFF(8192) + 1] = 0xff;
}
static void m_entry_small(GByteArray *i, SnpgSynthSpec *s, SnpgSynthSection *x) { i->data[SNPG_SYNTH_RESET_SIZE_OFF(SZ)] = 3; }
static void m_entry_big(GByteArray *i, SnpgSynthSpec *s, SnpgSynthSection *x) { i->data[SNPG_SYNTH_RESET_SIZE_OFF(SZ)] = 200; }
static void m_leftover(GByteArray *i, SnpgSynthSpec *s, SnpgSynthSection *x) { i->data[SNPG_SYNTH_FOOTER_SIZE_OFF(SZ)] += 5; }
static void m_dup_guid(GByteArray *i, SnpgSynthSpec *s, SnpgSynthSection *x)
{
    /* The hashes entry gets the reset block's GUID (its data is long enough). */
    memcpy(i->data + SZ - 32 - 18 - 22 - 16, i->data + SZ - 32 - 18 - 16, 16);
}
static void m_many_entries(GByteArray *i, SnpgSynthSpec *s, SnpgSynthSection *x)
{
    gsize end = SZ - 50;
    for (guint n = 0; n < 65; n++) {   /* 65 empty entries with an unknown GUID */
        end -= 18;
        i->data[end] = 18;
        i->data[end + 1] = 0;
        memset(i->data + end + 2, 0x11 + n, 16);
    }
    i->data[SZ - 50] = (guint8)((SZ - 50 - end + 18) & 0xff);
    i->data[SZ - 49] = (guint8)((SZ - 50 - end + 18) >> 8);
}
static void m_md_offset(GByteArray *i, SnpgSynthSpec *s, SnpgSynthSection *x)
{
    /* The metadata entry's data: 4 bytes before its header. */
    gsize off = SZ - 32 - 18 - 22 - 26 - 22;
    i->data[off + 3] = 0x7f;
}
static void m_md_sig(GByteArray *i, SnpgSynthSpec *s, SnpgSynthSection *x) { i->data[SNPG_SYNTH_METADATA_OFF(SZ)] = 'B'; }
static void m_md_version(GByteArray *i, SnpgSynthSpec *s, SnpgSynthSection *x) { s->metadata_version = 2; }
static void m_md_count(GByteArray *i, SnpgSynthSpec *s, SnpgSynthSection *x) { i->data[SNPG_SYNTH_METADATA_OFF(SZ) + 12] = 65; }
static void m_md_size_small(GByteArray *i, SnpgSynthSpec *s, SnpgSynthSection *x) { i->data[SNPG_SYNTH_METADATA_OFF(SZ) + 4] = 20; }
static void m_md_size_big(GByteArray *i, SnpgSynthSpec *s, SnpgSynthSection *x) { i->data[SNPG_SYNTH_METADATA_OFF(SZ) + 5] = 0x20; }
static void m_sec_type(GByteArray *i, SnpgSynthSpec *s, SnpgSynthSection *x) { x[1].type = 5; }
static void m_sec_gpa(GByteArray *i, SnpgSynthSpec *s, SnpgSynthSection *x) { x[0].gpa += 0x800; }
static void m_sec_size(GByteArray *i, SnpgSynthSpec *s, SnpgSynthSection *x) { x[0].size = 0x1800; }
static void m_sec_zero(GByteArray *i, SnpgSynthSpec *s, SnpgSynthSection *x) { x[4].size = 0; }
static void m_sec_overlap(GByteArray *i, SnpgSynthSpec *s, SnpgSynthSection *x) { x[5].gpa = 0x00901000; }
static void m_sec_4g(GByteArray *i, SnpgSynthSpec *s, SnpgSynthSection *x) { x[5].gpa = 0xfffff000; x[5].size = 0x2000; }
static void m_sec_hashes_size(GByteArray *i, SnpgSynthSpec *s, SnpgSynthSection *x) { x[3].size = 0x2000; }
static void m_sec_hashes_twice(GByteArray *i, SnpgSynthSpec *s, SnpgSynthSection *x) { x[5].type = 0x10; x[5].size = 0x1000; }

static const BadFirmware bad_firmware[] = {
    { "size-unaligned", m_size_short, SNPG_OVMF_ERROR_SIZE, "multiple of 4096" },
    { "size-zero", m_size_zero, SNPG_OVMF_ERROR_SIZE, "multiple of 4096" },
    { "footer-short", m_footer_small, SNPG_OVMF_ERROR_TABLE, "shorter than its header" },
    { "footer-past-start", m_footer_huge, SNPG_OVMF_ERROR_TABLE, "before the start" },
    { "entry-short", m_entry_small, SNPG_OVMF_ERROR_TABLE, "shorter than its header" },
    { "entry-past-table", m_entry_big, SNPG_OVMF_ERROR_TABLE, "past the start of the table" },
    { "table-leftover", m_leftover, SNPG_OVMF_ERROR_TABLE, "left over" },
    { "entry-duplicate", m_dup_guid, SNPG_OVMF_ERROR_TABLE, "appears twice" },
    { "entries-too-many", m_many_entries, SNPG_OVMF_ERROR_TABLE, "too many entries" },
    { "metadata-offset", m_md_offset, SNPG_OVMF_ERROR_METADATA, "outside the image" },
    { "metadata-signature", m_md_sig, SNPG_OVMF_ERROR_METADATA, "ASEV" },
    { "metadata-version", m_md_version, SNPG_OVMF_ERROR_METADATA, "version" },
    { "metadata-count", m_md_count, SNPG_OVMF_ERROR_METADATA, "too many sections" },
    { "metadata-size-small", m_md_size_small, SNPG_OVMF_ERROR_METADATA, "declared size" },
    { "metadata-size-past-end", m_md_size_big, SNPG_OVMF_ERROR_METADATA, "end of the image" },
    { "section-type", m_sec_type, SNPG_OVMF_ERROR_METADATA, "unknown type '5'" },
    { "section-gpa-unaligned", m_sec_gpa, SNPG_OVMF_ERROR_METADATA, "aligned" },
    { "section-size-unaligned", m_sec_size, SNPG_OVMF_ERROR_METADATA, "aligned" },
    { "section-size-zero", m_sec_zero, SNPG_OVMF_ERROR_METADATA, "empty" },
    { "section-overlap", m_sec_overlap, SNPG_OVMF_ERROR_METADATA, "overlap" },
    { "section-past-4g", m_sec_4g, SNPG_OVMF_ERROR_METADATA, "4 GiB" },
    { "section-hashes-size", m_sec_hashes_size, SNPG_OVMF_ERROR_METADATA, "one page" },
    { "section-hashes-twice", m_sec_hashes_twice, SNPG_OVMF_ERROR_METADATA, "twice" },
};

static void
test_ovmf_bad(gconstpointer data)
{
    const BadFirmware *bad = data;
    g_autoptr(GError) error = NULL;
    SnpgSynthSpec spec = *snpg_synth_default();
    SnpgSynthSection secs[8];
    g_autoptr(GByteArray) img = NULL;
    SnpgOvmfInfo info, before;

    g_assert_cmpuint(spec.n_sections, <=, G_N_ELEMENTS(secs));
    memcpy(secs, spec.sections, spec.n_sections * sizeof(*secs));
    spec.sections = secs;
    /* Spec changes first (they need a rebuild), then byte changes. */
    img = snpg_synth_build(&spec);
    bad->mutate(img, &spec, secs);
    g_byte_array_unref(img);
    img = snpg_synth_build(&spec);
    bad->mutate(img, &spec, secs);

    memset(&info, 0xa5, sizeof(info));
    before = info;
    g_assert_false(snpg_ovmf_parse(img->len ? img->data : NULL, img->len, &info, &error));
    g_assert_error(error, SNPG_OVMF_ERROR, bad->code);
    if (!strstr(error->message, bad->message))
        g_error("'%s' does not contain '%s'", error->message, bad->message);
    g_assert_cmpmem(&info, sizeof(info), &before, sizeof(before));   /* untouched */
}

/* The unmodified synthetic image parses: the refusals above are caused by
 * the one change each makes. */
static void
test_ovmf_synth_good(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GByteArray) img = snpg_synth_build(snpg_synth_default());
    SnpgOvmfInfo info;

    g_assert_true(snpg_ovmf_parse(img->data, img->len, &info, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(info.n_sections, ==, 6);
    g_assert_cmphex(info.reset_eip, ==, 0x0090c008);
    g_assert_cmpstr(snpg_ovmf_section_type_to_string(info.sections[4].type), ==, "SVSM_CAA");
}

/* No footer GUID: not an error for the parser (sev mode measures any file). */
static void
test_ovmf_no_table(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree guint8 *zero = g_malloc0(8192);
    SnpgOvmfInfo info;

    g_assert_true(snpg_ovmf_parse(zero, 8192, &info, &error));
    g_assert_false(info.has_table);
    g_assert_false(info.has_metadata);
}

/* ---- engine refusals ----------------------------------------------------- */

typedef struct {
    const char *name;
    SnpgMeasureParams params;
    const char *fw_spec;    /* "synth-no-metadata", ... or a file in inputs */
    int code;
    const char *message;
} Refusal;

static const SnpgSynthSection sec_hashes_elsewhere[] = {
    { 0x00900000, 0x2000, 1 }, { 0x00930000, 0x1000, 0x10 },
};

static const Refusal refusals[] = {
    { "vcpus-zero", { .mode = SNPG_MEASURE_MODE_SNP, .vcpus = 0 }, "amd.bin",
      SNPG_MEASURE_ERROR_INVALID, "at least one vCPU" },
    { "seves-vcpus-zero", { .mode = SNPG_MEASURE_MODE_SEV_ES, .vcpus = 0 }, "amd.bin",
      SNPG_MEASURE_ERROR_INVALID, "at least one vCPU" },
    { "no-metadata", { .mode = SNPG_MEASURE_MODE_SNP, .vcpus = 1 }, "synth-no-metadata",
      SNPG_MEASURE_ERROR_FIRMWARE, "no SEV metadata, so QEMU cannot launch an SNP guest" },
    { "no-reset-block", { .mode = SNPG_MEASURE_MODE_SNP, .vcpus = 1 }, "synth-no-reset",
      SNPG_MEASURE_ERROR_FIRMWARE, "no SEV-ES reset block, so QEMU cannot launch an SNP guest" },
    { "seves-no-reset-block", { .mode = SNPG_MEASURE_MODE_SEV_ES, .vcpus = 1 }, "synth-no-reset",
      SNPG_MEASURE_ERROR_FIRMWARE, "no SEV-ES reset block, so QEMU cannot launch an SEV-ES guest" },
    { "reset-eip-zero", { .mode = SNPG_MEASURE_MODE_SNP, .vcpus = 2 }, "synth-eip-zero",
      SNPG_MEASURE_ERROR_FIRMWARE, "reset address is zero, so QEMU cannot start the other vCPUs of an SNP guest" },
    { "seves-reset-eip-zero", { .mode = SNPG_MEASURE_MODE_SEV_ES, .vcpus = 2 }, "synth-eip-zero",
      SNPG_MEASURE_ERROR_FIRMWARE, "reset address is zero, so QEMU cannot start the other vCPUs of an SEV-ES guest" },
    { "snp-kernel-no-section", { .mode = SNPG_MEASURE_MODE_SNP, .vcpus = 1, .kernel = "kernel.bin" },
      "x64.bin", SNPG_MEASURE_ERROR_FIRMWARE, "no SNP_KERNEL_HASHES section" },
    { "sev-kernel-no-table", { .mode = SNPG_MEASURE_MODE_SEV, .kernel = "kernel.bin" },
      "x64.bin", SNPG_MEASURE_ERROR_FIRMWARE, "no SEV hashes table" },
    { "seves-kernel-no-table", { .mode = SNPG_MEASURE_MODE_SEV_ES, .vcpus = 1, .kernel = "kernel.bin" },
      "x64.bin", SNPG_MEASURE_ERROR_FIRMWARE, "no SEV hashes table" },
    { "snp-kernel-no-rv", { .mode = SNPG_MEASURE_MODE_SNP, .vcpus = 1, .kernel = "kernel.bin" },
      "synth-no-hashes", SNPG_MEASURE_ERROR_FIRMWARE, "inside its SNP_KERNEL_HASHES page" },
    { "snp-kernel-table-elsewhere", { .mode = SNPG_MEASURE_MODE_SNP, .vcpus = 1, .kernel = "kernel.bin" },
      "synth-hashes-elsewhere", SNPG_MEASURE_ERROR_FIRMWARE, "inside its SNP_KERNEL_HASHES page" },
    { "snp-kernel-table-small", { .mode = SNPG_MEASURE_MODE_SNP, .vcpus = 1, .kernel = "kernel.bin" },
      "synth-table-small", SNPG_MEASURE_ERROR_FIRMWARE, "too small" },
    { "ovmf-hash-not-snp", { .mode = SNPG_MEASURE_MODE_SEV_ES, .vcpus = 1,
      .ovmf_hash = (const guint8 *)"0123456789abcdef0123456789abcdef0123456789abcdef" },
      "amd.bin", SNPG_MEASURE_ERROR_INVALID, "snp mode only" },
    { "initrd-no-kernel", { .mode = SNPG_MEASURE_MODE_SNP, .vcpus = 1, .initrd = "initrd.bin" },
      "amd.bin", SNPG_MEASURE_ERROR_INVALID, "needs a kernel" },
    { "append-no-kernel", { .mode = SNPG_MEASURE_MODE_SEV, .append = "quiet" },
      "amd.bin", SNPG_MEASURE_ERROR_INVALID, "needs a kernel" },
    { "firmware-missing", { .mode = SNPG_MEASURE_MODE_SNP, .vcpus = 1 }, "no-such-file.bin",
      SNPG_MEASURE_ERROR_IO, "no-such-file.bin" },
    { "kernel-missing", { .mode = SNPG_MEASURE_MODE_SNP, .vcpus = 1, .kernel = "no-such-kernel" },
      "amd.bin", -1, "no-such-kernel" },
    { "append-not-utf8", { .mode = SNPG_MEASURE_MODE_SNP, .vcpus = 1, .kernel = "kernel.bin",
      .append = "a\xc3(" }, "amd.bin", -2, "UTF-8" },
    { "firmware-malformed", { .mode = SNPG_MEASURE_MODE_SEV }, "synth-bad-version",
      -3, "version" },
};

static char *
refusal_firmware(const char *spec_name)
{
    SnpgSynthSpec spec = *snpg_synth_default();
    g_autoptr(GByteArray) img = NULL;

    if (!g_str_has_prefix(spec_name, "synth-"))
        return g_build_filename(inputs, spec_name, NULL);
    if (g_str_equal(spec_name, "synth-no-metadata"))
        spec.no_metadata = TRUE;
    else if (g_str_equal(spec_name, "synth-no-reset"))
        spec.no_reset_block = TRUE;
    else if (g_str_equal(spec_name, "synth-eip-zero"))
        spec.reset_eip = 0;
    else if (g_str_equal(spec_name, "synth-no-hashes"))
        spec.no_hashes_table = TRUE;
    else if (g_str_equal(spec_name, "synth-hashes-elsewhere")) {
        spec.sections = sec_hashes_elsewhere;
        spec.n_sections = G_N_ELEMENTS(sec_hashes_elsewhere);
    } else if (g_str_equal(spec_name, "synth-table-small"))
        spec.hashes_table_size = 0xa0;
    else if (g_str_equal(spec_name, "synth-bad-version"))
        spec.metadata_version = 7;
    else
        g_assert_not_reached();
    img = snpg_synth_build(&spec);
    return snpg_test_write(inputs, spec_name, img->data, img->len);
}

static void
test_refusal(gconstpointer data)
{
    const Refusal *r = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(SnpgMeasureExplain) explain = NULL;
    g_autofree char *fw = refusal_firmware(r->fw_spec);
    g_autofree char *kernel = r->params.kernel ? g_build_filename(inputs, r->params.kernel, NULL) : NULL;
    g_autofree char *initrd = r->params.initrd ? g_build_filename(inputs, r->params.initrd, NULL) : NULL;
    SnpgMeasureParams p = r->params;
    guint8 digest[48], before[48];

    p.firmware = fw;
    p.kernel = kernel;
    p.initrd = initrd;
    p.vcpu_sig = 0xa00f11;
    memset(digest, 0x5c, sizeof(digest));
    memcpy(before, digest, sizeof(digest));
    g_assert_false(snpg_measure(&p, digest, &explain, &error));
    g_assert_null(explain);
    g_assert_cmpmem(digest, 48, before, 48);   /* nothing written on failure */
    if (r->code == -1)
        g_assert_error(error, SNPG_SEV_HASHES_ERROR, SNPG_SEV_HASHES_ERROR_IO);
    else if (r->code == -2)
        g_assert_error(error, SNPG_SEV_HASHES_ERROR, SNPG_SEV_HASHES_ERROR_INPUT);
    else if (r->code == -3)
        g_assert_error(error, SNPG_OVMF_ERROR, SNPG_OVMF_ERROR_METADATA);
    else
        g_assert_error(error, SNPG_MEASURE_ERROR, r->code);
    if (!strstr(error->message, r->message))
        g_error("'%s' does not contain '%s'", error->message, r->message);
}

/* A precomputed hash equal to the firmware's own gives the plain value; in
 * snp:ovmf-hash mode it is ignored like every other option. */
static void
test_ovmf_hash_ignored_in_hash_mode(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *fw = g_build_filename(inputs, "amd.bin", NULL);
    static const guint8 junk[48] = { 1, 2, 3 };
    SnpgMeasureParams a = { .mode = SNPG_MEASURE_MODE_SNP_OVMF_HASH, .firmware = fw };
    SnpgMeasureParams b = a;
    guint8 da[48], db[48];

    b.ovmf_hash = junk;
    b.vcpus = 0;
    g_assert_true(snpg_measure(&a, da, NULL, &error));
    g_assert_true(snpg_measure(&b, db, NULL, &error));
    g_assert_cmpmem(da, 48, db, 48);
}

/* ---- snp:svsm ------------------------------------------------------------ */

/* Expected values: the reference run in the inputs directory, as above, on
 * svsm.bin and svsm-ovmf.bin (the Coconut fixture tails of
 * tests/data/measure behind 15 and 23 filler pages), svsm-synth.bin (entry
 * point 0x3010 into the image, SVSM_CAA and kernel hashes sections) and
 * vars.bin (135168 bytes). */
typedef struct {
    const char *name;
    guint vcpus;
    guint32 sig;                /* the signature of the command's vCPU option */
    const char *fw, *svsm;
    guint64 vars_size;          /* 0: vars.bin */
    guint64 features;           /* given, and ignored by the mode */
    const char *expected;
} SvsmCase;

static const SvsmCase svsm_cases[] = {
    /* sev-snp-measure.py --mode snp:svsm --vcpus 1 --vcpu-type EPYC-v4 --ovmf svsm-ovmf.bin --svsm svsm.bin --vars-size 540672 */
    { "vcpus/1", 1, 0x00800f12, "svsm-ovmf.bin", "svsm.bin", 540672, 1,
      "949124df69704a0db0bc7a5fa9cb5abd57c1489801ab88c27d17eafc497afbf52efe86c0b48f3b3f0546b7cdc558b1c3" },
    /* sev-snp-measure.py --mode snp:svsm --vcpus 2 --vcpu-type EPYC-v4 --ovmf svsm-ovmf.bin --svsm svsm.bin --vars-size 540672 */
    { "vcpus/2", 2, 0x00800f12, "svsm-ovmf.bin", "svsm.bin", 540672, 1,
      "8147e1ba28efe7717f5b7f36c34ad03a37c4a88ab437c5d964d035772c3765826a83e5da6972ba90ae1ad3cb55f2538c" },
    /* sev-snp-measure.py --mode snp:svsm --vcpus 4 --vcpu-type EPYC-v4 --ovmf svsm-ovmf.bin --svsm svsm.bin --vars-size 540672 */
    { "vcpus/4", 4, 0x00800f12, "svsm-ovmf.bin", "svsm.bin", 540672, 1,
      "f1d06da6aa8167eaffc4d377554f2c83f42fde95678ed294413f83a16556d4c1e6cf67fc86834a1c400c99eacf7c97ef" },
    /* sev-snp-measure.py --mode snp:svsm --vcpus 64 --vcpu-type EPYC-v4 --ovmf svsm-ovmf.bin --svsm svsm.bin --vars-size 540672 */
    { "vcpus/64", 64, 0x00800f12, "svsm-ovmf.bin", "svsm.bin", 540672, 1,
      "f1748d24a43fe842df81da54874b6761a706cb64faff5a81d539c49be264fab444ae8a3ff36d159f0eeb837bec2377bd" },
    /* sev-snp-measure.py --mode snp:svsm --vcpus 2 --vcpu-type EPYC-Milan --ovmf svsm-ovmf.bin --svsm svsm.bin --vars-size 540672 */
    { "cpu-type/EPYC-Milan", 2, 0x00a00f11, "svsm-ovmf.bin", "svsm.bin", 540672, 1,
      "f0d8f5f6f7069f94d18cd7de83b89fecf09fc715a34f0eeefe2a86257674fa90e3c9ab8a72960692d4e1ae1671079960" },
    /* sev-snp-measure.py --mode snp:svsm --vcpus 2 --vcpu-type EPYC-Turin --ovmf svsm-ovmf.bin --svsm svsm.bin --vars-size 540672 */
    { "cpu-type/EPYC-Turin", 2, 0x00b00f00, "svsm-ovmf.bin", "svsm.bin", 540672, 1,
      "43236607ef7a6a055a9638bfe05084a6a441a7da105c0e6b705a244b770d4d76ae3b7c2ec375b0148dd22ac22044ac58" },
    /* sev-snp-measure.py --mode snp:svsm --vcpus 2 --vcpu-sig 0xa10f11 --ovmf svsm-ovmf.bin --svsm svsm.bin --vars-size 540672 */
    { "vcpu-sig", 2, 0x00a10f11, "svsm-ovmf.bin", "svsm.bin", 540672, 1,
      "ab32136d6619a293e6609c6cc8ac69a362aabbb50e4b1bdd53c02fa265509e9d41019ace98cbb44084a1c96a3256e702" },
    /* sev-snp-measure.py --mode snp:svsm --vcpus 2 --vcpu-family 25 --vcpu-model 17 --vcpu-stepping 0 --ovmf svsm-ovmf.bin --svsm svsm.bin --vars-size 540672 */
    { "family-model-stepping", 2, 0x00a10f10, "svsm-ovmf.bin", "svsm.bin", 540672, 1,
      "27812f8ac755c7c6c2403669c405d5f4188a15aaecf734d4ab410e724118c4af08532c3d6a5600828924aeb32c71735e" },
    /* sev-snp-measure.py --mode snp:svsm --vcpus 2 --vcpu-type EPYC-v4 --ovmf svsm-ovmf.bin --svsm svsm.bin --vars-size 540672 --guest-features 0x21
     * (= vcpus/2: sev_features is always 0x1) */
    { "guest-features-ignored", 2, 0x00800f12, "svsm-ovmf.bin", "svsm.bin", 540672, 0x21,
      "8147e1ba28efe7717f5b7f36c34ad03a37c4a88ab437c5d964d035772c3765826a83e5da6972ba90ae1ad3cb55f2538c" },
    /* sev-snp-measure.py --mode snp:svsm --vcpus 2 --vcpu-type EPYC-v4 --ovmf svsm-ovmf.bin --svsm svsm.bin --vars-size 135168 */
    { "vars-size", 2, 0x00800f12, "svsm-ovmf.bin", "svsm.bin", 135168, 1,
      "a815aceb876f286eac76bff46133909536c1967e59e7efc39b99cbcd7165dfaad489937b2633428a8f7774e008e02862" },
    /* sev-snp-measure.py --mode snp:svsm --vcpus 2 --vcpu-type EPYC-v4 --ovmf svsm-ovmf.bin --svsm svsm.bin --vars-file vars.bin
     * (= vars-size: vars.bin has 135168 bytes) */
    { "vars-file", 2, 0x00800f12, "svsm-ovmf.bin", "svsm.bin", 0, 1,
      "a815aceb876f286eac76bff46133909536c1967e59e7efc39b99cbcd7165dfaad489937b2633428a8f7774e008e02862" },
    /* sev-snp-measure.py --mode snp:svsm --vcpus 3 --vcpu-type EPYC-Milan --ovmf svsm-ovmf.bin --svsm svsm-synth.bin --vars-file vars.bin */
    { "synth/vcpus-3", 3, 0x00a00f11, "svsm-ovmf.bin", "svsm-synth.bin", 0, 1,
      "e9c92602bc9d07410e35e551a53d37bdcd95279b724660545814bfc8ce7598cf40afeea7426d7fc68b2cf19467e6a891" },
    /* sev-snp-measure.py --mode snp:svsm --vcpus 1 --vcpu-sig 0 --ovmf svsm-ovmf.bin --svsm svsm-synth.bin --vars-size 4096 */
    { "synth/vcpus-1-sig-0", 1, 0, "svsm-ovmf.bin", "svsm-synth.bin", 4096, 1,
      "b985ee13c40ca375655b57332716f80a870abe15fccb2ac8c97f1965221a24b3c0693ddb6ad6bf96d5b8ef9b0b7bad12" },
    /* sev-snp-measure.py --mode snp:svsm --vcpus 1 --vcpu-type EPYC-Genoa --ovmf amd.bin --svsm svsm.bin --vars-size 540672
     * (the firmware's own metadata, kernel hashes included, is not measured) */
    { "amd-firmware", 1, 0x00a10f10, "amd.bin", "svsm.bin", 540672, 1,
      "2a9e6a57c5c8d2aec75518ee30f6165a4f29a5a49e743613259615b56fc68c4cc2390e72423e258429e4d0e10f4ba59f" },
};

static void
svsm_params(const SvsmCase *c, SnpgMeasureParams *p, char **paths)
{
    memset(p, 0, sizeof(*p));
    p->mode = SNPG_MEASURE_MODE_SNP_SVSM;
    p->vcpus = c->vcpus;
    p->vcpu_sig = c->sig;
    p->vmm = SNPG_VMM_QEMU;
    p->guest_features = c->features;
    p->firmware = paths[0] = input_path(c->fw);
    p->svsm = paths[1] = input_path(c->svsm);
    if (c->vars_size)
        p->vars_size = c->vars_size;
    else
        p->vars_file = paths[2] = input_path("vars.bin");
}

static void
test_svsm_oracle(gconstpointer data)
{
    const SvsmCase *c = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(SnpgMeasureExplain) ex = NULL;
    char *paths[3] = { NULL, NULL, NULL };
    guint8 digest[48];
    g_autofree char *hex = NULL;
    const SnpgMeasureStage *st;
    SnpgMeasureParams p;

    svsm_params(c, &p, paths);
    g_assert_cmpuint(snpg_measure_digest_size(p.mode), ==, 48);
    g_assert_true(snpg_measure(&p, digest, NULL, &error));
    g_assert_no_error(error);
    hex = snpg_test_hex(digest, 48);
    g_assert_cmpstr(hex, ==, c->expected);

    /* With the explanation: the same value, which its last stage ends on;
     * firmware first, then the SVSM image right below the variable store. */
    memset(digest, 0, sizeof(digest));
    g_assert_true(snpg_measure(&p, digest, &ex, &error));
    g_assert_no_error(error);
    g_assert_cmpmem(digest, 48, ex->digest, 48);
    g_free(hex);
    hex = snpg_test_hex(digest, 48);
    g_assert_cmpstr(hex, ==, c->expected);
    g_assert_true(ex->has_svsm);
    g_assert_cmpuint(ex->vars_gpa + ex->vars_size, ==, ex->firmware_gpa);
    g_assert_cmpuint(ex->svsm_gpa + ex->svsm_size, ==, ex->vars_gpa);
    g_assert_cmpuint(ex->vars_size, ==, c->vars_size ? c->vars_size : SNPG_SYNTH_VARS_SIZE);
    g_assert_cmpuint(ex->stages->len, ==, 2 + ex->svsm_info.n_sections + c->vcpus);
    st = &g_array_index(ex->stages, SnpgMeasureStage, 0);
    g_assert_cmpint(st->kind, ==, SNPG_MEASURE_STAGE_FIRMWARE);
    st = &g_array_index(ex->stages, SnpgMeasureStage, 1);
    g_assert_cmpint(st->kind, ==, SNPG_MEASURE_STAGE_SVSM);
    g_assert_cmpuint(st->gpa, ==, ex->svsm_gpa);
    for (guint i = 0; i < ex->svsm_info.n_sections; i++) {
        st = &g_array_index(ex->stages, SnpgMeasureStage, 2 + i);
        g_assert_cmpint(st->kind, ==, SNPG_MEASURE_STAGE_SECTION);
        g_assert_cmpuint(st->gpa, ==, ex->svsm_info.sections[i].gpa);   /* the SVSM's */
        if (st->section_type == SNPG_OVMF_SECTION_SNP_KERNEL_HASHES)
            g_assert_cmpstr(st->page_type, ==, "ZERO");   /* never hashes */
    }
    for (guint i = 0; i < c->vcpus; i++) {
        st = &g_array_index(ex->stages, SnpgMeasureStage, 2 + ex->svsm_info.n_sections + i);
        g_assert_cmpint(st->kind, ==, SNPG_MEASURE_STAGE_VMSA);
        g_assert_cmpuint(st->vcpu, ==, i);
        g_assert_cmphex(st->eip, ==, ex->svsm_entry);
        g_assert_cmphex(st->rdx, ==, c->sig);
    }
    g_assert_cmphex(ex->svsm_entry, ==, ex->svsm_gpa + ex->svsm_info.svsm_entry_offset);
    /* Every vCPU has the same page. */
    g_assert_cmpmem(ex->bsp_vmsa, 4096, ex->ap_vmsa, 4096);
    for (guint i = 0; i < G_N_ELEMENTS(paths); i++)
        g_free(paths[i]);
}

/* The whole Coconut fixtures (not copied: 4.6 MiB) when
 * SNPG_SVSM_FIXTURES names a directory holding them, e.g. a checkout of
 * sev-snp-measure's tests/fixtures. The values are sev-snp-measure's own
 * tests (tests/test_guest.py, test_snp_svsm_4_vcpus and _2_vcpus), which it
 * took from launches of these images on hardware. */
static void
test_svsm_full_fixtures(void)
{
    const char *dir = g_getenv("SNPG_SVSM_FIXTURES");
    g_autofree char *fw = NULL, *svsm = NULL, *hex = NULL;
    g_autoptr(GError) error = NULL;
    SnpgMeasureParams p = { .mode = SNPG_MEASURE_MODE_SNP_SVSM, .vcpus = 4,
                            .vcpu_sig = 0x00800f12, .vmm = SNPG_VMM_QEMU,
                            .guest_features = 0x21, .vars_size = 540672 };
    guint8 digest[48];

    if (!dir || !*dir) {
        g_test_skip("SNPG_SVSM_FIXTURES is not set (sev-snp-measure's tests/fixtures)");
        return;
    }
    p.firmware = fw = g_build_filename(dir, "svsm_ovmf.fd", NULL);
    p.svsm = svsm = g_build_filename(dir, "svsm.bin", NULL);
    g_assert_true(snpg_measure(&p, digest, NULL, &error));
    g_assert_no_error(error);
    hex = snpg_test_hex(digest, 48);
    g_assert_cmpstr(hex, ==, "27d154c27b7b359c935e250ec6fee72aa0ae8c1225e3b0e1cf46a9567e938066d7d6f94bbdc4a857818bdb79277a44b2");
    p.vcpus = 2;
    g_assert_true(snpg_measure(&p, digest, NULL, &error));
    g_free(hex);
    hex = snpg_test_hex(digest, 48);
    g_assert_cmpstr(hex, ==, "9b94745036aafddf4f7f8b00c7513abb5b7703178cb95aaa57928bd963d68d3bfcb715d6019b9167ee2517b11b0d9be7");
}

static void
test_vmsa_svsm_layout(void)
{
    g_autofree guint8 *page = g_malloc(SNPG_VMSA_PAGE_SIZE);
    g_autofree guint8 *zero = g_malloc0(SNPG_VMSA_PAGE_SIZE);

    memset(page, 0xee, SNPG_VMSA_PAGE_SIZE);
    snpg_vmsa_build_svsm(page, 0xffaea010, 0x00a00f11);
    /* cs: selector 0x08, attrib 0xc9b, limit 0xffffffff, base 0; es: 0x10, 0xc93 */
    g_assert_cmpmem(page + 0x10, 16, "\x08\x00\x9b\x0c\xff\xff\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00", 16);
    g_assert_cmpmem(page + 0x00, 16, "\x10\x00\x93\x0c\xff\xff\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00", 16);
    g_assert_cmpmem(page + 0x50, 16, "\x00\x00\x93\x00\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 16);
    g_assert_cmpmem(page + 0x158, 8, "\x11\x00\x00\x00\x00\x00\x00\x00", 8);   /* cr0 */
    g_assert_cmpmem(page + 0x178, 8, "\x10\xa0\xae\xff\x00\x00\x00\x00", 8);   /* rip: all of eip */
    g_assert_cmpmem(page + 0x310, 8, "\x11\x0f\xa0\x00\x00\x00\x00\x00", 8);   /* rdx */
    g_assert_cmpmem(page + 0x3b0, 8, "\x01\x00\x00\x00\x00\x00\x00\x00", 8);   /* sev_features */
    g_assert_cmpmem(page + 0x408, 4, "\x80\x1f\x00\x00", 4);                   /* mxcsr */
    g_assert_cmpmem(page + 0x410, 2, "\x00\x00", 2);                           /* x87_fcw */
    g_assert_cmpmem(page + 0x420, 4096 - 0x420, zero, 4096 - 0x420);
}

/* SVSM_INFO is parsed; twice or too short is a malformed table. */
static void
test_ovmf_svsm_info(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *path = snpg_test_data("measure", "svsm_suffix.bin", NULL);
    g_autoptr(GByteArray) img = snpg_image_from_tail(path, 0);
    g_autoptr(GByteArray) synth = NULL;
    SnpgOvmfInfo info;
    gsize off;

    /* The Coconut tail, as dumped by the reference's OVMF class. */
    g_assert_true(snpg_ovmf_parse(img->data, img->len, &info, &error));
    g_assert_no_error(error);
    g_assert_true(info.has_svsm_info && info.has_metadata);
    g_assert_cmphex(info.svsm_entry_offset, ==, 0);
    g_assert_cmpuint(info.n_sections, ==, 3);
    g_assert_cmphex(info.sections[0].size, ==, 0x9e000);
    g_assert_cmpint(info.sections[2].type, ==, SNPG_OVMF_SECTION_CPUID);

    synth = snpg_synth_build(snpg_synth_svsm());
    g_assert_true(snpg_ovmf_parse(synth->data, synth->len, &info, &error));
    g_assert_cmphex(info.svsm_entry_offset, ==, 0x3010);
    g_assert_false(info.has_hashes_table);
    /* Entries from the footer's header backwards: reset block, metadata,
     * SVSM_INFO, 22 bytes each, GUID last. The metadata entry becomes a
     * second SVSM_INFO. */
    off = synth->len - 32 - 18;
    memcpy(synth->data + off - 22 - 16, synth->data + off - 44 - 16, 16);
    g_assert_false(snpg_ovmf_parse(synth->data, synth->len, &info, &error));
    g_assert_error(error, SNPG_OVMF_ERROR, SNPG_OVMF_ERROR_TABLE);
    g_assert_nonnull(strstr(error->message, "SVSM information entry appears twice"));
}

typedef struct {
    const char *name;
    SnpgMeasureParams params;   /* mode snp:svsm unless set; firmware svsm-ovmf.bin */
    const char *svsm;           /* a file in inputs or "synth-..." (see svsm_image) */
    const char *vars_file;      /* NULL: params.vars_size */
    GQuark domain;              /* 0: SNPG_MEASURE_ERROR */
    int code;
    const char *message;
} SvsmRefusal;

#define SVSM_OK .mode = SNPG_MEASURE_MODE_SNP_SVSM, .vcpus = 2, .vars_size = 4096

static const SvsmRefusal svsm_refusals[] = {
    { "vcpus-zero", { .mode = SNPG_MEASURE_MODE_SNP_SVSM, .vars_size = 4096 }, "svsm.bin", NULL,
      0, SNPG_MEASURE_ERROR_INVALID, "at least one vCPU" },
    { "no-svsm", { SVSM_OK }, NULL, NULL, 0, SNPG_MEASURE_ERROR_INVALID, "needs an SVSM image" },
    { "vmm-ec2", { SVSM_OK, .vmm = SNPG_VMM_EC2 }, "svsm.bin", NULL,
      0, SNPG_MEASURE_ERROR_INVALID, "QEMU VMM type only" },
    { "vmm-gce", { SVSM_OK, .vmm = SNPG_VMM_GCE }, "svsm.bin", NULL,
      0, SNPG_MEASURE_ERROR_INVALID, "QEMU VMM type only" },
    { "vars-missing", { .mode = SNPG_MEASURE_MODE_SNP_SVSM, .vcpus = 1 }, "svsm.bin", NULL,
      0, SNPG_MEASURE_ERROR_INVALID, "variable store (nonzero)" },
    { "vars-both", { SVSM_OK }, "svsm.bin", "vars.bin",
      0, SNPG_MEASURE_ERROR_INVALID, "not both" },
    { "kernel", { SVSM_OK, .kernel = "kernel.bin" }, "svsm.bin", NULL,
      0, SNPG_MEASURE_ERROR_INVALID, "would go unmeasured" },
    { "append", { SVSM_OK, .kernel = "kernel.bin", .append = "quiet" }, "svsm.bin", NULL,
      0, SNPG_MEASURE_ERROR_INVALID, "would go unmeasured" },
    { "ovmf-hash", { SVSM_OK, .ovmf_hash = (const guint8 *)"0123456789abcdef0123456789abcdef0123456789abcdef" },
      "svsm.bin", NULL, 0, SNPG_MEASURE_ERROR_INVALID, "snp mode only" },
    { "svsm-in-snp-mode", { .mode = SNPG_MEASURE_MODE_SNP, .vcpus = 1 }, "svsm.bin", NULL,
      0, SNPG_MEASURE_ERROR_INVALID, "snp:svsm mode only" },
    { "vars-in-seves-mode", { .mode = SNPG_MEASURE_MODE_SEV_ES, .vcpus = 1, .vars_size = 4096 }, NULL, NULL,
      0, SNPG_MEASURE_ERROR_INVALID, "snp:svsm mode only" },
    { "vars-unaligned", { .mode = SNPG_MEASURE_MODE_SNP_SVSM, .vcpus = 2, .vars_size = 4097 }, "svsm.bin", NULL,
      0, SNPG_MEASURE_ERROR_INVALID, "not a multiple of 4096" },
    { "vars-too-large", { .mode = SNPG_MEASURE_MODE_SNP_SVSM, .vcpus = 2, .vars_size = G_GUINT64_CONSTANT(0x100001000) }, "svsm.bin", NULL,
      0, SNPG_MEASURE_ERROR_INVALID, "do not fit below 4 GiB" },
    { "layout-below-zero", { .mode = SNPG_MEASURE_MODE_SNP_SVSM, .vcpus = 2, .vars_size = G_GUINT64_CONSTANT(0xffff0000) }, "svsm.bin", NULL,
      0, SNPG_MEASURE_ERROR_INVALID, "do not fit below 4 GiB" },
    { "vars-file-missing", { .mode = SNPG_MEASURE_MODE_SNP_SVSM, .vcpus = 1 }, "svsm.bin", "no-such-vars",
      0, SNPG_MEASURE_ERROR_IO, "no-such-vars" },
    { "vars-file-empty", { .mode = SNPG_MEASURE_MODE_SNP_SVSM, .vcpus = 1 }, "svsm.bin", "synth-vars-empty",
      0, SNPG_MEASURE_ERROR_INVALID, "is empty" },
    { "vars-file-not-regular", { .mode = SNPG_MEASURE_MODE_SNP_SVSM, .vcpus = 1 }, "svsm.bin", ".",
      0, SNPG_MEASURE_ERROR_IO, "not a regular file" },
    { "svsm-missing", { SVSM_OK }, "no-such-svsm", NULL, 0, SNPG_MEASURE_ERROR_IO, "The SVSM image cannot be used" },
    { "svsm-unaligned", { SVSM_OK }, "kernel.bin", NULL,
      0, SNPG_MEASURE_ERROR_FIRMWARE, "not a nonzero multiple of 4096" },
    { "svsm-no-svsm-info", { SVSM_OK }, "amd.bin", NULL,
      0, SNPG_MEASURE_ERROR_FIRMWARE, "no SVSM_INFO entry" },
    { "svsm-entry-outside", { SVSM_OK }, "synth-entry-outside", NULL,
      0, SNPG_MEASURE_ERROR_FIRMWARE, "entry point offset '0x8000' lies outside" },
    { "svsm-no-metadata", { SVSM_OK }, "synth-no-metadata", NULL,
      0, SNPG_MEASURE_ERROR_FIRMWARE, "has no SEV metadata" },
    { "svsm-section-overlaps-layout", { SVSM_OK }, "synth-overlap", NULL,
      0, SNPG_MEASURE_ERROR_FIRMWARE, "section SNP_SEC_MEM at '0xfffff000' of length '0x1000' overlaps" },
    { "svsm-malformed", { SVSM_OK }, "synth-bad-version", NULL,
      1, SNPG_OVMF_ERROR_METADATA, "version" },
};

static const SnpgSynthSection svsm_sec_overlap[] = {
    { 0x00010000, 0x3000, 1 }, { 0xfffff000, 0x1000, 1 },
};

static char *
svsm_image(const char *name)
{
    SnpgSynthSpec spec = *snpg_synth_svsm();
    g_autoptr(GByteArray) img = NULL;

    if (!g_str_has_prefix(name, "synth-"))
        return input_path(name);
    if (g_str_equal(name, "synth-vars-empty"))
        return snpg_test_write(inputs, name, "", 0);
    if (g_str_equal(name, "synth-entry-outside"))
        spec.svsm_entry_offset = 8 * 4096;
    else if (g_str_equal(name, "synth-no-metadata"))
        spec.no_metadata = TRUE;
    else if (g_str_equal(name, "synth-overlap")) {
        spec.sections = svsm_sec_overlap;
        spec.n_sections = G_N_ELEMENTS(svsm_sec_overlap);
    } else if (g_str_equal(name, "synth-bad-version"))
        spec.metadata_version = 2;
    else
        g_assert_not_reached();
    img = snpg_synth_build(&spec);
    return snpg_test_write(inputs, name, img->data, img->len);
}

static void
test_svsm_refusal(gconstpointer data)
{
    const SvsmRefusal *r = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(SnpgMeasureExplain) explain = NULL;
    g_autofree char *fw = input_path("svsm-ovmf.bin");
    g_autofree char *svsm = r->svsm ? svsm_image(r->svsm) : NULL;
    g_autofree char *vars = r->vars_file ? svsm_image(r->vars_file) : NULL;
    g_autofree char *kernel = r->params.kernel ? input_path(r->params.kernel) : NULL;
    SnpgMeasureParams p = r->params;
    GQuark domain = r->domain ? SNPG_OVMF_ERROR : SNPG_MEASURE_ERROR;
    guint8 digest[48], before[48];

    p.firmware = fw;
    p.svsm = svsm;
    p.vars_file = vars;
    p.kernel = kernel;
    p.vcpu_sig = 0x00800f12;
    memset(digest, 0x5c, sizeof(digest));
    memcpy(before, digest, sizeof(digest));
    g_assert_false(snpg_measure(&p, digest, &explain, &error));
    g_assert_null(explain);
    g_assert_cmpmem(digest, 48, before, 48);   /* nothing written on failure */
    g_assert_error(error, domain, r->code);
    if (!strstr(error->message, r->message))
        g_error("'%s' does not contain '%s'", error->message, r->message);
}

int
main(int argc, char **argv)
{
    int rc;

    g_test_init(&argc, &argv, NULL);
    inputs = snpg_test_tmpdir();
    snpg_measure_inputs_write(inputs);

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path = g_strdup_printf("/measure/oracle/%s", cases[i].name);
        g_test_add_data_func(path, &cases[i], test_oracle);
    }
    g_test_add_func("/measure/explain/stages", test_explain_stages);
    g_test_add_func("/measure/ovmf-hash-mode/ignores-options", test_ovmf_hash_ignored_in_hash_mode);
    for (gsize i = 0; i < G_N_ELEMENTS(refusals); i++) {
        g_autofree char *path = g_strdup_printf("/measure/refuse/%s", refusals[i].name);
        g_test_add_data_func(path, &refusals[i], test_refusal);
    }
    g_test_add_func("/vmsa/cpu-sig", test_cpu_sig);
    g_test_add_func("/vmsa/layout", test_vmsa_layout);
    g_test_add_func("/sev-hashes/table", test_hashes_table);
    g_test_add_func("/ovmf/parse/fixtures", test_ovmf_fixtures);
    g_test_add_func("/ovmf/parse/synthetic", test_ovmf_synth_good);
    g_test_add_func("/ovmf/parse/no-table", test_ovmf_no_table);
    for (gsize i = 0; i < G_N_ELEMENTS(bad_firmware); i++) {
        g_autofree char *path = g_strdup_printf("/ovmf/parse/bad/%s", bad_firmware[i].name);
        g_test_add_data_func(path, &bad_firmware[i], test_ovmf_bad);
    }
    for (gsize i = 0; i < G_N_ELEMENTS(svsm_cases); i++) {
        g_autofree char *path = g_strdup_printf("/measure/svsm/oracle/%s", svsm_cases[i].name);
        g_test_add_data_func(path, &svsm_cases[i], test_svsm_oracle);
    }
    g_test_add_func("/measure/svsm/full-fixtures", test_svsm_full_fixtures);
    for (gsize i = 0; i < G_N_ELEMENTS(svsm_refusals); i++) {
        g_autofree char *path = g_strdup_printf("/measure/svsm/refuse/%s", svsm_refusals[i].name);
        g_test_add_data_func(path, &svsm_refusals[i], test_svsm_refusal);
    }
    g_test_add_func("/vmsa/svsm-layout", test_vmsa_svsm_layout);
    g_test_add_func("/ovmf/parse/svsm-info", test_ovmf_svsm_info);
    rc = g_test_run();
    g_free(inputs);
    return rc;
}
