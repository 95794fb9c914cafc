#!/bin/sh
# 'snpguard watch' through a real libvirtd and QEMU (TCG): the verifier for
# VMs defined with --verifier watch, over a libvirt connection
# (virDomainOpenChannel streams, lifecycle events). The hook stays
# installed (the start gate and the emulated AMD-SP) and must leave these
# VMs to watch.
#   4 VMs started at once -> each attested once, key delivered and
#   confirmed, recorded under its boot id;
#   another initrd measured (--no-gate) -> rejected, destroyed, recorded;
#   libvirtd restarted while a guest boots -> watch reconnects and attests it;
#   a VM started while watch is stopped -> attested when it comes back;
#   a domain destroyed in the middle of its session -> recorded, no action;
#   an unmanaged domain is never touched.
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
firmware=$it_work/OVMF.amdsev.fd
head -c $((2 * 1024 * 1024 - 4096)) /dev/zero | tr '\0' '\377' > "$firmware"
cat "$it_srcdir/tests/data/measure/ovmf_AmdSev_suffix.bin" >> "$firmware"

state=$it_work/state
export SNPGUARD_STATE_DIR="$state"
export SNPGUARD_TEMPLATE_DIR="${SNPGUARD_TEMPLATE_DIR:-$it_srcdir/xml-templates}"
sed -e "s|@bindir@/snpguard|$SNPGUARD|" -e "s|^exec |SNPGUARD_STATE_DIR='$state' exec |" \
    "$it_srcdir/hooks/snpguard.in" > "$it_work/hook"
start_libvirtd "$it_work/hook"

watch_pid=""
trap 'st=$?; stop_pid "$watch_pid"; (exit $st); it_cleanup' EXIT
start_watch() {
    "$SNPGUARD" watch --verbose >> "$it_work/watch.log" 2>&1 &
    watch_pid=$!
}

define_vm() {
    dv_name=$1
    shift
    track_domain "$dv_name"
    # A disk of its own: QEMU locks it for writing.
    truncate -s 1M "$it_work/root-$dv_name.img"
    cp "$image/initrd.img" "$it_work/initrd-$dv_name.img"
    "$SNPGUARD" define "$dv_name" --emulate --verifier watch --firmware "$firmware" \
        --kernel "$it_work/vmlinuz" --initrd "$it_work/initrd-$dv_name.img" \
        --append "console=ttyS0 quiet panic=-1" --memory 256 \
        --workflow encrypted --disk "$it_work/root-$dv_name.img" \
        --console-log "$it_work/$dv_name.console" "$@" > "$it_work/$dv_name.define" 2>&1 ||
        { sed 's/^/# define: /' "$it_work/$dv_name.define"; return 1; }
}
events() {
    "$SNPGUARD" history "$1" --json | python3 -c 'import json,sys
for e in json.load(sys.stdin):
    print("%s/%s/%s" % (e["event"], e.get("verdict") or "-", e.get("boot_id") or "-"))'
}
wait_event() {
    deadline=$(( $(date +%s) + $4 ))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        events "$1" 2>/dev/null | grep -q "^$2/$3/" && return 0
        sleep 0.2
    done
    return 1
}
count_event() {
    events "$1" | grep -c "^$2/$3/"
}

# --- 4 VMs at once --------------------------------------------------------------
vms=""
for i in 1 2 3 4; do
    vm=snpguard-it-w$i-$$
    check "define --emulate --verifier watch ($vm)" define_vm "$vm"
    vms="$vms $vm"
done
check "define refuses two verifiers for one VM" sh -c "! '$SNPGUARD' define twoverifiers --emulate \
    --verifier hook --verifier watch --firmware '$firmware' --kernel '$it_work/vmlinuz' \
    --initrd '$image/initrd.img' --workflow none 2>'$it_work/two.err'; grep -q 'one verifier' '$it_work/two.err'"
start_watch
sleep 0.5
check "watch runs" pid_alive "$watch_pid"
t0=$(now)
start_pids=""
for vm in $vms; do
    $VIRSH start "$vm" >/dev/null 2>&1 &
    start_pids="$start_pids $!"
done
# Only the starts: watch and the watchdog run in the background too.
for pid in $start_pids; do
    wait "$pid"
done
all_ok=0
for vm in $vms; do
    wait_event "$vm" key-release accepted 150 || all_ok=1
done
check "all 4 attested, keys delivered and confirmed" test $all_ok -eq 0
diag "4 starts -> 4 confirmed keys: $(elapsed "$t0" "$(now)") s"
for vm in $vms; do
    check "$vm: one accepted attestation, by watch alone" test "$(count_event "$vm" attestation accepted)" -eq 1
    check "$vm: no other verdict" test "$(events "$vm" | grep -c '^attestation/')" -eq 1
    wait_domain_stopped "$vm" 60
    check "$vm: the guest received a key" grep -q '^snpguard: key sha256' "$it_work/$vm.console"
    check "$vm: the stop is recorded" wait_event "$vm" stop - 20
done
check "no hook worker attested a watch VM" sh -c "! ls '$state'/log/*.log 2>/dev/null | grep -q . || ! grep -q attestation '$state'/log/*.log"

# --- rejected: destroyed and recorded --------------------------------------------
bad=snpguard-it-wbad-$$
check "define --no-gate (watch)" define_vm "$bad" --no-gate
head -c 512 /dev/zero >> "$it_work/initrd-$bad.img"
check "virsh start" sh -c "$VIRSH start '$bad' >/dev/null"
check "watch recorded a rejected attestation" wait_event "$bad" attestation rejected 150
check "failure action recorded" wait_event "$bad" failure-action rejected 20
check "the domain is destroyed" wait_domain_stopped "$bad" 20
check "no key reached the guest" sh -c "! grep -q 'key sha256' '$it_work/$bad.console'"

# --- libvirtd restarted while a guest boots ---------------------------------------
r1=snpguard-it-wr1-$$
check "define (restart)" define_vm "$r1"
check "virsh start" sh -c "$VIRSH start '$r1' >/dev/null"
sleep 1
stop_pid "$it_libvirtd_pid"
check "libvirtd stopped" eval "! pid_alive '$it_libvirtd_pid'"
sleep 1
/usr/sbin/libvirtd -d || bail "libvirtd does not restart"
it_libvirtd_pid=$(wait_pidfile /run/libvirtd.pid) || bail "libvirtd wrote no pid file"
until $VIRSH version >/dev/null 2>&1; do sleep 0.1; done
check "watch survived the restart" pid_alive "$watch_pid"
check "the boot that was in progress is attested after reconnecting" wait_event "$r1" key-release accepted 150
check "one accepted attestation" test "$(count_event "$r1" attestation accepted)" -eq 1
check "watch said it reconnected" grep -q "reconnected" "$it_work/watch.log"

# --- a VM started while watch is away ----------------------------------------------
r2=snpguard-it-wr2-$$
check "define (away)" define_vm "$r2"
stop_pid "$watch_pid"
check "watch stops on SIGTERM" sh -c "! kill -0 $watch_pid 2>/dev/null"
check "virsh start while watch is away" sh -c "$VIRSH start '$r2' >/dev/null"
sleep 2
start_watch
check "attested when watch comes back" wait_event "$r2" key-release accepted 150
check "recorded as found running" sh -c "'$SNPGUARD' history '$r2' --json | grep -q 'found running'"

# --- a domain that stops in the middle of its session -------------------------------
mid=snpguard-it-wmid-$$
check "define (stops mid-session)" define_vm "$mid"
check "virsh start" sh -c "$VIRSH start '$mid' >/dev/null"
sleep 2
$VIRSH destroy "$mid" >/dev/null 2>&1
check "the session ends, recorded as error" wait_event "$mid" attestation error 30
check "its stop is recorded" wait_event "$mid" stop - 10
check "no failure action for a domain that is gone" eval "! events '$mid' | grep -q '^failure-action/'"
check "watch runs on" pid_alive "$watch_pid"

# --- an unmanaged domain ------------------------------------------------------------
plain=snpguard-it-wplain-$$
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
sleep 2
check "it is left alone (no failure action)" sh -c "[ \"\$($VIRSH domstate '$plain')\" = paused ]"
check "no record of it" sh -c "! '$SNPGUARD' history --json | grep -q '$plain'"
$VIRSH destroy "$plain" > /dev/null 2>&1

sed 's/^/# watch: /' "$it_work/watch.log" | tail -40
stop_pid "$watch_pid"
watch_pid=""
stop_libvirtd
rm -rf "/run/snpguard/emulate/$(printf %s "$state" | sha256sum | cut -c1-16)"
check "libvirtd is stopped" sh -c "! pgrep -x libvirtd >/dev/null"
finish
