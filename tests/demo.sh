#!/bin/sh
# The main job on a built-in sample VM. Today: compute and explain the
# expected SEV-SNP launch measurement of a sample direct-kernel-boot VM.
# (Later issues grow this into define -> start -> attest -> unlock.)
set -eu
top=${1:-$(cd "$(dirname "$0")/.." && pwd)}
snpguard="$top/snpguard"
work=${SNPGUARD_DEMO_DIR:-$(mktemp -d /tmp/snpguard-demo.XXXXXX)}
mkdir -p "$work"

say() { printf '\n== %s\n' "$*"; }

# Firmware: an OVMF build with SEV metadata and a kernel-hashes section
# (edk2 OvmfPkg/AmdSev). Debian's ovmf package has no kernel-hashes section,
# so without one on this machine we assemble a 2 MiB image from the real
# firmware tail shipped in tests/data (the measurement covers the filler too).
firmware=${SNPGUARD_DEMO_OVMF:-}
if [ -z "$firmware" ]; then
    firmware="$work/OVMF.amdsev.fd"
    tail_bin="$top/tests/data/measure/ovmf_AmdSev_suffix.bin"
    head -c $((2 * 1024 * 1024 - 4096)) /dev/zero | tr '\0' '\377' > "$firmware"
    cat "$tail_bin" >> "$firmware"
fi

# Kernel and initrd: the machine's own if it has them, else generated.
kernel=$(ls /boot/vmlinuz-* 2>/dev/null | head -n 1 || true)
initrd=$(ls /boot/initrd.img-* 2>/dev/null | head -n 1 || true)
if [ -z "$kernel" ] || [ -z "$initrd" ]; then
    kernel="$work/vmlinuz"; initrd="$work/initrd.img"
    head -c $((8 * 1024 * 1024)) /dev/urandom > "$kernel"
    head -c $((16 * 1024 * 1024)) /dev/urandom > "$initrd"
fi
cmdline="console=ttyS0 root=/dev/vda snpguard.attest=virtio-serial"

say "Sample VM: 2 vCPUs (EPYC-Milan), QEMU, direct kernel boot"
echo "firmware: $firmware"
echo "kernel:   $kernel"
echo "initrd:   $initrd"
echo "cmdline:  $cmdline"

say "snpguard measure --explain"
"$snpguard" measure --mode snp --vcpus 2 --vcpu-type EPYC-Milan \
    --ovmf "$firmware" --kernel "$kernel" --initrd "$initrd" --append "$cmdline" --explain

say "The expected launch measurement (what the AMD-SP will report)"
"$snpguard" measure --mode snp --vcpus 2 --vcpu-type EPYC-Milan \
    --ovmf "$firmware" --kernel "$kernel" --initrd "$initrd" --append "$cmdline"

say "A changed command line changes the measurement"
"$snpguard" measure --mode snp --vcpus 2 --vcpu-type EPYC-Milan \
    --ovmf "$firmware" --kernel "$kernel" --initrd "$initrd" --append "$cmdline init=/bin/sh"

say "Firmware that would leave the kernel unmeasured is refused"
if "$snpguard" measure --mode snp --vcpus 2 --vcpu-type EPYC-Milan \
    --ovmf "$top/tests/data/measure/ovmf_OvmfX64_suffix.bin" --kernel "$kernel"; then
    echo "demo: expected a refusal" >&2
    exit 1
fi
echo "(refused, exit status 1, as expected)"
say "done; files in $work"
