#!/bin/sh
# The main job, on the emulation profile, through a real libvirtd and QEMU
# (TCG): define a VM -> its expected measurement is known before it runs ->
# virsh start (the hook plays the AMD secure processor with TEST keys) ->
# snpguard attest -> the guest receives exactly its disk key -> the record.
# Then a changed boot file: the start gate refuses it.
#
# Run as root (./quickstart demo): it starts its own libvirtd and virtlogd as
# the integration tests do (tests/integration/lib.sh), installs the hook for
# the run, and stops and removes all of it at the end, also on failure.
# Building the guest image downloads Debian's kernel package (apt-get download).
set -u
src=$(cd "$(dirname "$0")/.." && pwd)     # sources and data
top=${1:-$src}                             # the build (binaries)
SNPGUARD="$top/snpguard"
export SNPGUARD

if [ "$(id -u)" != 0 ]; then
    echo "demo: run as root: it starts its own libvirtd (qemu:///system)" >&2
    exit 1
fi
. "$src/tests/integration/lib.sh"
require_root_and_libvirt
require_guest_build_tools

step=0
say() {
    step=$((step + 1))
    printf '\n== %d. %s\n' "$step" "$*"
}
fail() {
    echo "demo: $*" >&2
    exit 1
}

make_workdir
state=$it_work/state
export SNPGUARD_STATE_DIR="$state"
[ -d "$src/xml-templates" ] && export SNPGUARD_TEMPLATE_DIR="$src/xml-templates"
vm=snpguard-demo

say "The guest image: Debian's kernel, busybox and the static snpguard-agent (snpguard guest build)"
agent=$top/snpguard-agent
if [ ! -x "$agent" ] || readelf -l "$agent" | grep -q INTERP; then
    make -s -C "$top" tests/integration/snpguard-agent-static > "$it_work/make.log" 2>&1 ||
        { cat "$it_work/make.log"; fail "cannot build a static snpguard-agent"; }
    agent=$top/tests/integration/snpguard-agent-static
fi
strip -o "$it_work/snpguard-agent" "$agent"
"$SNPGUARD" guest build "$it_work/image" --agent "$it_work/snpguard-agent" \
    --init "$src/guest/init" || fail "snpguard guest build"
ls -l "$it_work/image"

# The SNP firmware the measurement includes (Debian 12 has no AmdSev build):
# 2 MiB assembled from the real AmdSev tail in tests/data. An emulated VM
# boots its kernel directly; the firmware is measured, not run.
firmware=$it_work/OVMF.amdsev.fd
head -c $((2 * 1024 * 1024 - 4096)) /dev/zero | tr '\0' '\377' > "$firmware"
cat "$src/tests/data/measure/ovmf_AmdSev_suffix.bin" >> "$firmware"
truncate -s 16M "$it_work/root.img"

say "libvirtd with the snpguard hook (hooks/snpguard -> /etc/libvirt/hooks/qemu.d)"
sed -e "s|@bindir@/snpguard|$SNPGUARD|" -e "s|^exec |SNPGUARD_STATE_DIR='$state' exec |" \
    "$src/hooks/snpguard.in" > "$it_work/hook"
start_libvirtd "$it_work/hook"

say "snpguard define $vm --emulate: the domain XML, its measurement, its disk key"
track_domain "$vm"
"$SNPGUARD" define "$vm" --emulate --firmware "$firmware" --kernel "$it_work/image/vmlinuz" \
    --initrd "$it_work/image/initrd.img" --append "console=ttyS0 quiet panic=-1" \
    --memory 256 --workflow encrypted --disk "$it_work/root.img" \
    --console-log "$it_work/console.log" || fail "snpguard define"

say "snpguard show $vm: what the expected measurement rests on"
"$SNPGUARD" show "$vm" | sed -n '/^Expected/p; /^Files/,/^Breakdown/p' | sed '$d'

say "virsh start $vm (the hook re-measures the files and, emulating, hands the guest its launch identity)"
t0=$(now)
$VIRSH start "$vm" || fail "virsh start"

say "snpguard attest $vm: a fresh report, verified; the key released sealed to the guest"
timeout 150 "$SNPGUARD" attest "$vm" --timeout 120 || fail "snpguard attest"
echo "start -> key released: $(elapsed "$t0" "$(now)") s"
wait_domain_stopped "$vm" 60

say "The guest's console: it holds exactly the VM's key (its SHA-256, never the key)"
grep '^snpguard:' "$it_work/console.log"
key_digest=$(sha256sum "$state"/keys/*.key | cut -d' ' -f1)
echo "the registry's key: sha256 $key_digest"
grep -q "key sha256 $key_digest" "$it_work/console.log" || fail "the guest did not get the key"

say "snpguard history $vm: the record"
"$SNPGUARD" history "$vm"

say "A changed initrd: the start gate refuses the start (the attestation would too)"
head -c 512 /dev/zero >> "$it_work/image/initrd.img"
if $VIRSH start "$vm" 2> "$it_work/refused.txt"; then
    fail "the changed VM started"
fi
grep -o "snpguard: refusing.*" "$it_work/refused.txt"
"$SNPGUARD" history "$vm" --limit 1

say "snpguard undefine $vm --remove-key; libvirtd stopped"
"$SNPGUARD" undefine "$vm" --remove-key
stop_libvirtd
rm -rf "/run/snpguard/emulate/$(printf %s "$state" | sha256sum | cut -c1-16)"
printf '\ndemo: done: define -> start -> attest -> key -> record, and a refused start\n'
