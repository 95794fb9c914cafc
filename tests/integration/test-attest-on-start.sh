#!/bin/sh
# Attestation on every start, hook mode, through a real libvirtd and QEMU
# (TCG) with the snpguard hook installed and nothing else run by hand:
#   virsh start of a managed VM -> the hook's worker attests it, the guest
#   receives exactly its key, the boot's start, verdict and confirmed
#   release are recorded under one boot id;
#   a VM whose emulated AMD-SP measured another initrd (--no-gate) ->
#   rejected, no key, the failure action (pause) applied and recorded;
#   a guest that never answers (started paused) -> "timeout" recorded after
#   its agent window, the failure action (destroy) applied and recorded;
#   snpguard start: exit 0 (attested), 3 (rejected), 1 (timeout);
#   an unmanaged domain is never touched; a stop is recorded.
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
cp "$image/vmlinuz" "$it_work/vmlinuz"
for vm in good bad silent start startbad; do
    cp "$image/initrd.img" "$it_work/initrd-$vm.img"
done
firmware=$it_work/OVMF.amdsev.fd
head -c $((2 * 1024 * 1024 - 4096)) /dev/zero | tr '\0' '\377' > "$firmware"
cat "$it_srcdir/tests/data/measure/ovmf_AmdSev_suffix.bin" >> "$firmware"

state=$it_work/state
export SNPGUARD_STATE_DIR="$state"
export SNPGUARD_TEMPLATE_DIR="${SNPGUARD_TEMPLATE_DIR:-$it_srcdir/xml-templates}"
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
    # A disk of its own: QEMU locks it for writing.
    truncate -s 1M "$it_work/root-$dv_name.img"
    "$SNPGUARD" define "$dv_name" --emulate --firmware "$firmware" --kernel "$it_work/vmlinuz" \
        --initrd "$dv_initrd" --append "console=ttyS0 quiet panic=-1" --memory 256 \
        --workflow encrypted --disk "$it_work/root-$dv_name.img" \
        --console-log "$it_work/$dv_name.console" "$@" > "$it_work/$dv_name.define" 2>&1 ||
        { sed 's/^/# define: /' "$it_work/$dv_name.define"; return 1; }
}
# events NAME: "event/verdict/boot_id" lines of the VM's history, oldest first.
events() {
    "$SNPGUARD" history "$1" --json | python3 -c 'import json,sys
for e in json.load(sys.stdin):
    print("%s/%s/%s" % (e["event"], e.get("verdict") or "-", e.get("boot_id") or "-"))'
}
# wait_event NAME EVENT VERDICT SECONDS: 0 once history holds such an event.
wait_event() {
    deadline=$(( $(date +%s) + $4 ))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        events "$1" 2>/dev/null | grep -q "^$2/$3/" && return 0
        sleep 0.2
    done
    return 1
}
# has_event NAME EVENT: 0 when history holds such an event (any verdict).
has_event() {
    events "$1" | grep -q "^$2/"
}
show_log() {
    [ -f "$state/log/$1.log" ] && sed "s/^/# worker $1: /" "$state/log/$1.log"
    events "$1" | sed "s/^/# history $1: /"
}

# --- virsh start -> attested by the hook worker, key confirmed, recorded -----------
good=snpguard-it-hgood-$$
check "define --emulate (verifier: hook, the default)" define_vm "$good" "$it_work/initrd-good.img"
key_digest=$(sha256sum "$state"/keys/*.key | cut -d' ' -f1)
t0=$(now)
check "virsh start" sh -c "$VIRSH start '$good' >/dev/null"
t_started=$(now)
diag "virsh start returned in $(elapsed "$t0" "$t_started") s (the hook returns at once)"
wait_event "$good" attestation accepted 120
check "the worker recorded an accepted attestation" test $? -eq 0
diag "start -> verdict: $(elapsed "$t0" "$(now)") s"
check "key release recorded as confirmed" wait_event "$good" key-release accepted 10
check "the guest powers off after its key" wait_domain_stopped "$good" 60
check "the guest received exactly its key" grep -q "^snpguard: key sha256 $key_digest" "$it_work/$good.console"
check "the stop is recorded" wait_event "$good" stop - 10
show_log "$good"
boots=$(events "$good" | grep -E "^(start|attestation|key-release|stop)/" | cut -d/ -f3- | sort -u)
check "start, verdict, release and stop share one boot id" test "$(echo "$boots" | wc -l)" -eq 1
check "the boot id is UUID/ID" sh -c "echo '$boots' | grep -Eq '^[0-9a-f-]{36}/[0-9]+$'"
check "no failure action for an accepted boot" eval "! has_event '$good' failure-action"

# --- another initrd measured (--no-gate): rejected, paused, recorded ------------------
bad=snpguard-it-hbad-$$
check "define --emulate --no-gate --failure-action pause" \
    define_vm "$bad" "$it_work/initrd-bad.img" --no-gate --failure-action pause
head -c 512 /dev/zero >> "$it_work/initrd-bad.img"
check "virsh start goes on (no gate)" sh -c "$VIRSH start '$bad' >/dev/null"
check "the worker recorded a rejected attestation" wait_event "$bad" attestation rejected 120
check "failure action recorded" wait_event "$bad" failure-action rejected 20
check "the domain is paused" sh -c "[ \"\$($VIRSH domstate '$bad')\" = paused ]"
check "no key release" eval "! has_event '$bad' key-release"
$VIRSH destroy "$bad" >/dev/null 2>&1
check "no key reached the guest" sh -c "! grep -q 'key sha256' '$it_work/$bad.console'"
show_log "$bad"

# --- a guest that never answers: timeout, destroyed, recorded --------------------------
silent=snpguard-it-hsilent-$$
check "define --emulate --agent-window 6" define_vm "$silent" "$it_work/initrd-silent.img" --agent-window 6
check "virsh start --paused (the guest never runs)" sh -c "$VIRSH start --paused '$silent' >/dev/null"
check "a timeout is recorded" wait_event "$silent" attestation timeout 40
check "failure action recorded" wait_event "$silent" failure-action timeout 20
check "the domain is destroyed" wait_domain_stopped "$silent" 20
show_log "$silent"

# --- snpguard start: exit codes -------------------------------------------------------
sgood=snpguard-it-hstart-$$
check "define (start)" define_vm "$sgood" "$it_work/initrd-start.img"
timeout 200 "$SNPGUARD" start "$sgood" --timeout 150 > "$it_work/start.out" 2>&1
status=$?
sed 's/^/# start: /' "$it_work/start.out"
check "snpguard start exits 0 once attested" test "$status" -eq 0
wait_domain_stopped "$sgood" 60
sbad=snpguard-it-hstartbad-$$
check "define (start, no gate)" define_vm "$sbad" "$it_work/initrd-startbad.img" --no-gate
head -c 512 /dev/zero >> "$it_work/initrd-startbad.img"
timeout 200 "$SNPGUARD" start "$sbad" --timeout 150 > "$it_work/startbad.out" 2>&1
status=$?
sed 's/^/# start: /' "$it_work/startbad.out"
check "snpguard start exits 3 when rejected" test "$status" -eq 3
check "with the reason" grep -q "measurement" "$it_work/startbad.out"
check "snpguard start exits 1 on timeout" sh -c "'$SNPGUARD' start '$silent' --timeout 4 >'$it_work/startsilent.out' 2>&1; [ \$? -eq 1 ]"
sed 's/^/# start: /' "$it_work/startsilent.out"
$VIRSH destroy "$silent" >/dev/null 2>&1

# --- an unmanaged domain is never touched ---------------------------------------------
plain=snpguard-it-hplain-$$
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
# Paused, so that it stays (this kernel without an initrd would panic and
# stop by itself): a verifier that touched it would destroy it.
check "an unmanaged domain starts" sh -c "$VIRSH create --paused '$it_work/plain.xml' >/dev/null"
sleep 8
check "it is left alone (no failure action)" sh -c "[ \"\$($VIRSH domstate '$plain')\" = paused ]"
check "no worker log for it" test ! -e "$state/log/$plain.log"
check "no record of it" sh -c "! '$SNPGUARD' history --json | grep -q '$plain'"
$VIRSH destroy "$plain" > /dev/null 2>&1

stop_libvirtd
rm -rf "/run/snpguard/emulate/$(printf %s "$state" | sha256sum | cut -c1-16)"
check "libvirtd is stopped" sh -c "! pgrep -x libvirtd >/dev/null"
check "no worker is left" sh -c "! pgrep -f 'snpguard[ ]hook' >/dev/null"
finish
