#!/bin/sh
# The libvirt life of a managed VM on the emulation profile, through a real
# libvirtd and QEMU (TCG) with the snpguard hook installed:
#   define --emulate -> virsh start -> snpguard attest NAME -> the guest
#   prints the digest of exactly its key -> the verdict is in the history;
#   a boot file changed after define -> the gate refuses the start, recorded;
#   the same with --no-gate -> the start goes on, attest rejects (exit 3), no key;
#   an unmanaged domain starts untouched; undefine keeps the history.
. "$(dirname "$0")/lib.sh"

require_root_and_libvirt
require_guest_build_tools
lock_machine
make_workdir
watchdog 600

image=$it_builddir/tests/integration/guest-image
if [ ! -s "$image/initrd.img" ] || [ ! -s "$image/vmlinuz" ]; then
    skip_all "no guest image: tests/integration/test-guest-build.sh makes it"
fi
# QEMU (user libvirt-qemu) reads the boot files: copies in the searchable
# work directory, one initrd per VM so that each can be changed alone.
cp "$image/vmlinuz" "$it_work/vmlinuz"
for vm in good gated nogate; do
    cp "$image/initrd.img" "$it_work/initrd-$vm.img"
done
# The SNP firmware the measurement includes (emulated VMs boot without
# it): an AmdSev image assembled as tests/demo.sh does.
firmware=$it_work/OVMF.amdsev.fd
head -c $((2 * 1024 * 1024 - 4096)) /dev/zero | tr '\0' '\377' > "$firmware"
cat "$it_srcdir/tests/data/measure/ovmf_AmdSev_suffix.bin" >> "$firmware"
truncate -s 1M "$it_work/root.img"

state=$it_work/state
export SNPGUARD_STATE_DIR="$state"
export SNPGUARD_TEMPLATE_DIR="${SNPGUARD_TEMPLATE_DIR:-$it_srcdir/xml-templates}"
# The hook as installed (hooks/snpguard, a thin exec of 'snpguard hook'),
# pointing at this build and this run's state directory.
sed -e "s|@bindir@/snpguard|$SNPGUARD|" -e "s|^exec |SNPGUARD_STATE_DIR='$state' exec |" \
    "$it_srcdir/hooks/snpguard.in" > "$it_work/hook"
grep -q "^SNPGUARD_STATE_DIR=.* exec $SNPGUARD hook" "$it_work/hook" || bail "cannot make the hook script"
start_libvirtd "$it_work/hook"

# define_vm NAME INITRD [OPTION...]
define_vm() {
    dv_name=$1
    dv_initrd=$2
    shift 2
    track_domain "$dv_name"
    "$SNPGUARD" define "$dv_name" --emulate --firmware "$firmware" --kernel "$it_work/vmlinuz" \
        --initrd "$dv_initrd" --append "console=ttyS0 quiet panic=-1" --memory 256 \
        --workflow encrypted --disk "$it_work/root.img" \
        --console-log "$it_work/$dv_name.console" "$@" > "$it_work/$dv_name.define" 2>&1
}
# event_count NAME EVENT VERDICT: how many such events history --json holds.
event_count() {
    "$SNPGUARD" history "$1" --json |
        python3 -c 'import json,sys; print(sum(1 for e in json.load(sys.stdin)
            if e["event"] == sys.argv[1] and e.get("verdict") == sys.argv[2]))' "$2" "$3"
}

# --- define -> start -> attest -> the key -> the record -----------------------
good=snpguard-it-good-$$
define_vm "$good" "$it_work/initrd-good.img"
status=$?
sed 's/^/# define: /' "$it_work/$good.define"
[ "$status" -eq 0 ] || bail "define --emulate"
ok "define --emulate"
check "the domain is defined in libvirt" sh -c "$VIRSH dominfo '$good' >/dev/null"
check "the domain is in the registry" sh -c "'$SNPGUARD' list --json | grep -q '\"$good\"'"
expected=$("$SNPGUARD" show "$good" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["expected_measurement"])')
key_file=$(ls "$state"/keys/*.key)
key_digest=$(sha256sum "$key_file" | cut -d' ' -f1)
check "define's measurement is measure's on the same files" sh -c "[ \"\$('$SNPGUARD' measure --mode snp \
    --vcpus 1 --vcpu-type EPYC-Milan --ovmf '$firmware' --kernel '$it_work/vmlinuz' \
    --initrd '$it_work/initrd-good.img' \
    --append \"\$('$SNPGUARD' show '$good' --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"settings\"][\"cmdline\"])')\")\" = '$expected' ]"
t_start=$(now)
check "virsh start" sh -c "$VIRSH start '$good' >/dev/null"
timeout 150 "$SNPGUARD" attest "$good" --timeout 120 > "$it_work/attest-good.out" 2>&1
status=$?
sed 's/^/# attest: /' "$it_work/attest-good.out"
check "attest NAME exits 0" test "$status" -eq 0
diag "start -> key released: $(elapsed "$t_start" "$(now)") s"
check "the guest powers off after the key" wait_domain_stopped "$good" 60
sed 's/^/# console: /' "$it_work/$good.console"
check "the guest received exactly the VM's key" \
    grep -q "^snpguard: key sha256 $key_digest" "$it_work/$good.console"
check "history: attestation accepted" test "$(event_count "$good" attestation accepted)" -eq 1
check "history: key release confirmed" test "$(event_count "$good" key-release accepted)" -eq 1

# --- a changed initrd: the gate refuses the start -------------------------------
gated=snpguard-it-gated-$$
check "define --emulate (gate on)" define_vm "$gated" "$it_work/initrd-gated.img"
head -c 512 /dev/zero >> "$it_work/initrd-gated.img"
$VIRSH start "$gated" > "$it_work/start-gated.out" 2>&1
status=$?
sed 's/^/# virsh start: /' "$it_work/start-gated.out"
check "virsh start fails" test "$status" -ne 0
check "with the gate's line" grep -q "refusing to start '$gated'.*initrd-changed" "$it_work/start-gated.out"
check "the domain is not running" sh -c "[ \"\$($VIRSH domstate '$gated')\" = 'shut off' ]"
check "history: start-refused" test "$(event_count "$gated" start-refused refused)" -eq 1

# --- the same with --no-gate: the attestation rejects it ------------------------
nogate=snpguard-it-nogate-$$
check "define --emulate --no-gate" define_vm "$nogate" "$it_work/initrd-nogate.img" --no-gate
head -c 512 /dev/zero >> "$it_work/initrd-nogate.img"
check "virsh start goes on" sh -c "$VIRSH start '$nogate' >/dev/null"
timeout 150 "$SNPGUARD" attest "$nogate" --timeout 120 > "$it_work/attest-nogate.out" 2>&1
status=$?
sed 's/^/# attest: /' "$it_work/attest-nogate.out"
check "attest NAME exits 3" test "$status" -eq 3
check "the reason is the measurement" grep -q "measurement" "$it_work/attest-nogate.out"
wait_for_line "$it_work/$nogate.console" "refused this VM|attestation failed" 60
$VIRSH destroy "$nogate" > /dev/null 2>&1
wait_domain_stopped "$nogate" 30
sed 's/^/# console: /' "$it_work/$nogate.console"
check "no key reached the guest" sh -c "! grep -q 'key sha256' '$it_work/$nogate.console'"
check "history: attestation rejected" test "$(event_count "$nogate" attestation rejected)" -eq 1
check "history: no key release" test "$(event_count "$nogate" key-release accepted)" -eq 0

# --- an unmanaged domain starts untouched -----------------------------------------
plain=snpguard-it-plain-$$
cat > "$it_work/plain.xml" <<XML
<domain type='qemu'>
  <name>$plain</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type>
    <kernel>$it_work/vmlinuz</kernel><cmdline>panic=-1</cmdline></os>
  <on_reboot>destroy</on_reboot><on_crash>destroy</on_crash>
  <devices><memballoon model='none'/></devices>
</domain>
XML
track_domain "$plain"
check "an unmanaged domain starts" sh -c "$VIRSH create '$it_work/plain.xml' >/dev/null"
$VIRSH destroy "$plain" > /dev/null 2>&1

# --- undefine: the domain and the row go, the history stays -----------------------
check "undefine --remove-key" sh -c "'$SNPGUARD' undefine '$good' --remove-key >/dev/null"
check "the domain is gone from libvirt" sh -c "! $VIRSH dominfo '$good' >/dev/null 2>&1"
check "the key file is wiped" test ! -e "$key_file"
check "the history stays" test "$(event_count "$good" attestation accepted)" -eq 1
check "undefine keeps a key without --remove-key" sh -c "'$SNPGUARD' undefine '$gated' | grep -q 'disk key kept'"

stop_libvirtd
rm -rf "/run/snpguard/emulate/$(printf %s "$state" | sha256sum | cut -c1-16)"
check "libvirtd is stopped" sh -c "! pgrep -x libvirtd >/dev/null"
finish
