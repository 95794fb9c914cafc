#!/bin/sh
# A real boot: the image of 'snpguard guest build' under libvirtd + QEMU
# (TCG), emulation style (no launchSecurity; the simulated secure processor's
# launch identity arrives as a fw_cfg blob). The host attests the guest over
# the virtio-serial channel; the guest prints the SHA-256 of exactly the key
# it received. With the wrong expected measurement, attest exits 3 and the
# guest gets no key. The libvirt hook entry point runs for every step and
# lets this unmanaged domain through.
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
# QEMU (user libvirt-qemu) reads them: a copy in the searchable work dir.
cp "$image/vmlinuz" "$image/initrd.img" "$it_work/"

# The hook entry point as installed (a thin exec), logging its arguments.
cat > "$it_work/hook" <<HOOK
#!/bin/sh
echo "\$*" >> "$it_work/hook.log"
exec "$SNPGUARD" hook "\$@"
HOOK
start_libvirtd "$it_work/hook"

# The simulated secure processor, the verifier identity and the key.
"$SNPGUARD" sim init "$it_work/sim" > /dev/null || bail "snpguard sim init"
"$SNPGUARD" verifier-key create "$it_work/verifier.pem" > "$it_work/verifier.pin" ||
    bail "snpguard verifier-key create"
pin=$(sed -n 's/^pin: //p' "$it_work/verifier.pin")
[ ${#pin} -eq 64 ] || bail "verifier-key create printed no pin"
head -c 64 /dev/urandom > "$it_work/disk.key"
chmod 0600 "$it_work/disk.key"
key_digest=$(sha256sum "$it_work/disk.key" | cut -d' ' -f1)
measurement=$(printf 'snpguard test VM' | sha384sum | cut -d' ' -f1)
wrong=$(printf 'another VM' | sha384sum | cut -d' ' -f1)
"$SNPGUARD" sim identity "$it_work/sim" --measurement "$measurement" -o "$it_work/identity" ||
    bail "snpguard sim identity"

# domain_xml NAME: an emulation-style domain around the image.
domain_xml() {
    cat <<XML
<domain type='qemu'>
  <name>$1</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <sysinfo type='fwcfg'>
    <entry name='opt/org.snpguard/identity' file='$it_work/identity'/>
  </sysinfo>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>$it_work/vmlinuz</kernel>
    <initrd>$it_work/initrd.img</initrd>
    <cmdline>console=ttyS0 quiet panic=-1 snpguard.psp=sim snpguard.verifier=$pin</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <serial type='file'>
      <source path='$it_work/$1.console'/>
      <target port='0'/>
    </serial>
    <channel type='unix'>
      <source mode='bind'/>
      <target type='virtio' name='org.snpguard.attest.0'/>
    </channel>
    <rng model='virtio'>
      <backend model='random'>/dev/urandom</backend>
    </rng>
    <memballoon model='none'/>
  </devices>
</domain>
XML
}

# boot NAME: starts the domain; sets $socket to its channel's socket.
boot() {
    domain_xml "$1" > "$it_work/$1.xml"
    track_domain "$1"
    t_start=$(now)
    $VIRSH create "$it_work/$1.xml" > /dev/null || bail "virsh create $1"
    diag "$1: virsh create returned after $(elapsed "$t_start" "$(now)") s"
    socket=$(channel_path "$1" org.snpguard.attest.0)
    [ -S "$socket" ] || bail "$1: no channel socket in the live XML"
}

# Connected as soon as the domain starts, attest waits for the agent's first
# message: the whole boot, slow under TCG on a busy machine.
attest() {
    timeout 150 "$SNPGUARD" attest --timeout 120 --connect "unix:$socket" --trust-root "$it_work/sim/ark.pem" \
        --measurement "$1" --key-file "$it_work/disk.key" --verifier-key "$it_work/verifier.pem"
}

# --- the right VM gets exactly its key ---------------------------------------
name=snpguard-test-boot-$$
boot "$name"
attest "$measurement" > "$it_work/attest.out" 2>&1
status=$?
t_attested=$(now)
sed 's/^/# attest: /' "$it_work/attest.out"
check "attest exits 0 for the expected measurement" test "$status" -eq 0
diag "$name: start -> key released: $(elapsed "$t_start" "$t_attested") s"
check "the guest powers off after the key" wait_domain_stopped "$name" 60
diag "$name: start -> shut off: $(elapsed "$t_start" "$(now)") s"
console=$it_work/$name.console
sed 's/^/# console: /' "$console"
check "the guest received exactly this key (its SHA-256 on the console)" \
    grep -q "^snpguard: key sha256 $key_digest" "$console"
check "the key itself is not on the console" \
    sh -c "! grep -q '$(od -An -tx1 -N 16 "$it_work/disk.key" | tr -d ' \n')' '$console'"
check "the guest read the simulated identity from fw_cfg" sh -c "! grep -q 'no simulated identity' '$console'"
check "every kernel module loaded (and none for the hardware)" \
    sh -c "! grep -q 'cannot load kernel module' '$console'"

# --- the wrong measurement: a refusal, no key ---------------------------------
name2=snpguard-test-refuse-$$
boot "$name2"
attest "$wrong" > "$it_work/attest2.out" 2>&1
status=$?
sed 's/^/# attest: /' "$it_work/attest2.out"
check "attest exits 3 for another measurement" test "$status" -eq 3
console2=$it_work/$name2.console
check "the guest reports the refusal" wait_for_line "$console2" "refused this VM" 30
diag "$name2: start -> refusal on the console: $(elapsed "$t_start" "$(now)") s"
$VIRSH destroy "$name2" > /dev/null 2>&1
wait_domain_stopped "$name2" 30
sed 's/^/# console: /' "$console2"
check "no key reached the guest" sh -c "! grep -q 'key sha256' '$console2'"

# --- the hook entry point ------------------------------------------------------
sed 's/^/# hook: /' "$it_work/hook.log"
for op in "prepare begin" "start begin" "started begin" "stopped end" "release end"; do
    check "the hook ran '$op' for the domain" grep -q "^$name $op " "$it_work/hook.log"
done

stop_libvirtd
check "libvirtd is stopped" sh -c "! pgrep -x libvirtd >/dev/null"
check "the hook is removed" test ! -e "$QEMU_HOOKS_DIR/snpguard-test"
finish
