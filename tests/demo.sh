#!/bin/sh
# The main job on a built-in sample VM, on the simulated secure processor:
#   measure the VM -> the simulated AMD-SP launches it -> the guest agent
#   attests with a fresh report -> the verifier checks it and releases the
#   disk key sealed to the agent's key -> the agent holds exactly that key.
# (Later issues put libvirt define/start and the LUKS unlock around this.)
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)     # sources and data
top=${1:-$src}                             # the build (binaries)
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
    tail_bin="$src/tests/data/measure/ovmf_AmdSev_suffix.bin"
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
    --ovmf "$src/tests/data/measure/ovmf_OvmfX64_suffix.bin" --kernel "$kernel"; then
    echo "demo: expected a refusal" >&2
    exit 1
fi
echo "(refused, exit status 1, as expected)"

measurement=$("$snpguard" measure --mode snp --vcpus 2 --vcpu-type EPYC-Milan \
    --ovmf "$firmware" --kernel "$kernel" --initrd "$initrd" --append "$cmdline")

say "A simulated secure processor (TEST keys; real verifiers reject its root)"
"$snpguard" sim init "$work/sim" --product Milan --force
ls "$work/sim"

say "The guest's launch identity: what the simulated AMD-SP measured"
"$snpguard" sim identity "$work/sim" --measurement "$measurement" -o "$work/identity"

say "The verifier's identity: guests pin it on their measured kernel command line"
"$snpguard" verifier-key create "$work/verifier.pem" --force | tee "$work/verifier.pin"
pin=$(sed -n 's/^pin: //p' "$work/verifier.pin")

say "The guest agent waits for the verifier (standalone mode, simulated reports)"
head -c 64 /dev/urandom > "$work/disk.key"
chmod 600 "$work/disk.key"
rm -f "$work/received.key" "$work/agent.sock"
"$top/snpguard-agent" --listen "unix:$work/agent.sock" --psp "sim:$work/identity" \
    --key-out "$work/received.key" --attempts 3 --verifier-pin "$pin" &
agent=$!
for _ in $(seq 100); do [ -S "$work/agent.sock" ] && break; sleep 0.05; done

say "A wrong measurement: the verifier refuses, and no key leaves"
rc=0
"$snpguard" attest --connect "unix:$work/agent.sock" --trust-root "$work/sim/ark.pem" \
    --measurement "$(printf '%096d' 0)" --key-file "$work/disk.key" \
    --verifier-key "$work/verifier.pem" || rc=$?
[ "$rc" = 3 ] || { echo "demo: expected a rejection (exit status 3), got $rc" >&2; exit 1; }
echo "(rejected, exit status 3)"
[ ! -e "$work/received.key" ] || { echo "demo: a key leaked" >&2; exit 1; }

say "Someone else on the channel (the host) cannot hand the VM a key of its own"
"$snpguard" verifier-key create "$work/impostor.pem" --force > /dev/null
head -c 64 /dev/urandom > "$work/host.key"
rc=0
"$snpguard" attest --connect "unix:$work/agent.sock" --trust-root "$work/sim/ark.pem" \
    --measurement "$measurement" --key-file "$work/host.key" \
    --verifier-key "$work/impostor.pem" || rc=$?
[ "$rc" = 1 ] || { echo "demo: the agent took an impostor's key (exit $rc)" >&2; exit 1; }
[ ! -e "$work/received.key" ] || { echo "demo: an impostor's key was used" >&2; exit 1; }
echo "(the agent refused the impostor's key)"

say "snpguard attest: verify the report, then release the disk key sealed to the agent"
"$snpguard" attest --connect "unix:$work/agent.sock" --trust-root "$work/sim/ark.pem" \
    --measurement "$measurement" --key-file "$work/disk.key" \
    --verifier-key "$work/verifier.pem"
wait "$agent"

say "The agent holds exactly the owner's key"
if cmp -s "$work/disk.key" "$work/received.key"; then
    echo "the keys match ($(wc -c < "$work/received.key") bytes; mode $(stat -c %a "$work/received.key"))"
else
    echo "demo: the keys differ" >&2
    exit 1
fi
say "done; files in $work"
