#!/bin/sh
# The main job, on the emulation profile, through a real libvirtd and QEMU
# (TCG): define a VM -> its expected measurement is known before it runs ->
# snpguard start (libvirt starts it; the hook plays the AMD secure processor
# with TEST keys, and its worker attests the boot by itself) -> the guest
# receives exactly its disk key -> the record.
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

say "The guest image: Debian's kernel, busybox and snpguard-agent with its libraries (snpguard guest build)"
agent=$top/snpguard-agent
[ -x "$agent" ] || fail "no $agent: build first"
# Without libcryptsetup the agent attests only: the two workflows are skipped.
workflows=yes
readelf -d "$agent" 2>/dev/null | grep -q 'libcryptsetup' || workflows=no
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

say "snpguard start $vm: libvirt starts it; the hook re-measures the files, hands the guest its"
say "launch identity (emulating), and its worker attests the boot: nothing else is run by hand"
t0=$(now)
timeout 200 "$SNPGUARD" start "$vm" --timeout 150 || fail "snpguard start"
echo "start -> key delivered: $(elapsed "$t0" "$(now)") s"
wait_domain_stopped "$vm" 60

say "The guest's console: it holds exactly the VM's key (its SHA-256, never the key)"
grep '^snpguard:' "$it_work/console.log"
key_digest=$(sha256sum "$state"/keys/*.key | cut -d' ' -f1)
echo "the registry's key: sha256 $key_digest"
grep -q "key sha256 $key_digest" "$it_work/console.log" || fail "the guest did not get the key"

say "snpguard history $vm: the record"
"$SNPGUARD" history "$vm"

say "A changed initrd: the start gate refuses the start (the attestation would too)"
cp "$it_work/image/initrd.img" "$it_work/initrd.orig"
head -c 512 /dev/zero >> "$it_work/image/initrd.img"
if $VIRSH start "$vm" 2> "$it_work/refused.txt"; then
    fail "the changed VM started"
fi
grep -o "snpguard: refusing.*" "$it_work/refused.txt"
"$SNPGUARD" history "$vm" --limit 1
mv "$it_work/initrd.orig" "$it_work/image/initrd.img"

"$SNPGUARD" undefine "$vm" --remove-key

# boot_to_marker NAME MARKER: snpguard start (the hook worker attests and
# releases the key), the guest opens its root and switches to it.
boot_to_marker() {
    : > "$it_work/$1.console"
    t0=$(now)
    timeout 200 "$SNPGUARD" start "$1" --timeout 150 || fail "snpguard start $1"
    wait_for_line "$it_work/$1.console" "snpguard-marker" 90 || fail "$1 did not reach its root"
    echo "start -> root's marker: $(elapsed "$t0" "$(now)") s"
    wait_domain_stopped "$1" 60
    grep -E '^snpguard|snpguard-marker' "$it_work/$1.console"
}

if [ "$workflows" = yes ]; then
    enc=snpguard-demo-encrypted
    say "The encrypted workflow: a small root, a VM, and its LUKS2 image under the VM's own key"
    "$SNPGUARD" image rootfs "$it_work/root-enc" --marker "the encrypted root, unlocked after attestation" \
        > /dev/null || fail "snpguard image rootfs"
    track_domain "$enc"
    "$SNPGUARD" define "$enc" --emulate --firmware "$firmware" --kernel "$it_work/image/vmlinuz" \
        --initrd "$it_work/image/initrd.img" --append "console=ttyS0 quiet panic=-1" \
        --memory 256 --workflow encrypted --disk "$it_work/enc.img" \
        --console-log "$it_work/$enc.console" > /dev/null || fail "snpguard define $enc"
    "$SNPGUARD" image encrypt "$enc" "$it_work/root-enc" "$it_work/enc.img" || fail "snpguard image encrypt"

    say "snpguard start $enc: attested, the key released, the agent checks the LUKS2 header and unlocks"
    boot_to_marker "$enc"
    "$SNPGUARD" history "$enc"

    int=snpguard-demo-integrity
    say "The integrity workflow: a dm-verity root whose root hash is on the measured command line"
    "$SNPGUARD" image rootfs "$it_work/root-int" --marker "the dm-verity root, verified" > /dev/null ||
        fail "snpguard image rootfs"
    track_domain "$int"
    "$SNPGUARD" define "$int" --emulate --firmware "$firmware" --kernel "$it_work/image/vmlinuz" \
        --initrd "$it_work/image/initrd.img" --append "console=ttyS0 quiet panic=-1" \
        --memory 256 --workflow integrity --disk "$it_work/int-data.img" --disk "$it_work/int-hash.img" \
        --console-log "$it_work/$int.console" > /dev/null || fail "snpguard define $int"
    "$SNPGUARD" image verity "$int" "$it_work/root-int" "$it_work/int-data.img" "$it_work/int-hash.img" ||
        fail "snpguard image verity"

    say "snpguard start $int: attested, the whole hash tree verified, the root mounted read-only"
    boot_to_marker "$int"
    "$SNPGUARD" history "$int"
    "$SNPGUARD" undefine "$enc" --remove-key > /dev/null
    "$SNPGUARD" undefine "$int" > /dev/null
else
    echo "(this snpguard-agent has no libcryptsetup: the encrypted and integrity workflows are skipped)"
fi

say "libvirtd stopped"
stop_libvirtd
rm -rf "/run/snpguard/emulate/$(printf %s "$state" | sha256sum | cut -c1-16)"
printf '\ndemo: done: define -> start -> attest -> key -> record, a refused start, and both workflows to their roots\n'
