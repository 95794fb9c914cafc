#!/bin/sh
# The two boot workflows end to end, on the emulation profile, through a
# real libvirtd and QEMU (TCG) with the snpguard hook installed:
#   encrypted: define -> image encrypt -> virsh start -> attest NAME -> the
#     agent checks the LUKS2 header, unlocks, init switch_roots -> the root's
#     marker on the console; then, each on its own start, the host's attacks:
#     a cipher_null header with the same UUID (CVE-2025-59054 class), the
#     wrong key, a keyslot added, another cipher, another VM's header -> refused before
#     activation, no marker, the reason recorded;
#   integrity: define -> image verity -> start -> attest -> the marker; one
#     modified data block -> the boot stops; another root hash on the
#     command line -> another measurement -> rejected;
#   the initramfs rebuilt from the same inputs -> the same bytes and the
#     same measurement.
. "$(dirname "$0")/lib.sh"

require_root_and_libvirt
require_guest_build_tools
command -v cryptsetup >/dev/null || skip_all "cryptsetup is missing (apt-get install cryptsetup-bin)"
command -v mke2fs >/dev/null || skip_all "mke2fs is missing (apt-get install e2fsprogs)"
"$SNPGUARD" show --help >/dev/null 2>&1 ||
    skip_all "this snpguard has no show/define/attest NAME yet (the libvirt integration)"
lock_machine
make_workdir
watchdog 900

image=$it_builddir/tests/integration/guest-image
if [ ! -s "$image/initrd.img" ] || [ ! -s "$image/vmlinuz" ]; then
    skip_all "no guest image: tests/integration/test-guest-build.sh makes it"
fi
if ! (mkdir "$it_work/x" && cd "$it_work/x" && cpio -id --quiet 'lib*/*libcryptsetup*' \
        < "$image/initrd.img" 2>/dev/null && ls lib*/*/libcryptsetup* >/dev/null 2>&1); then
    skip_all "the guest image's agent has no LUKS2/dm-verity support (a static agent)"
fi
luks_edit=$it_builddir/tests/integration/luks-edit
[ -x "$luks_edit" ] || bail "no $luks_edit (make check builds it)"
cp "$image/vmlinuz" "$image/initrd.img" "$it_work/"
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

# define_vm NAME WORKFLOW DISK... [-- OPTION...]
define_vm() {
    dv_name=$1
    dv_workflow=$2
    shift 2
    set -- --workflow "$dv_workflow" "$@"
    track_domain "$dv_name"
    # 'snpguard attest NAME' (boot below) is these VMs' verifier: the hook
    # worker (the default verifier) leaves manual VMs alone.
    "$SNPGUARD" define "$dv_name" --emulate --verifier manual --firmware "$firmware" \
        --kernel "$it_work/vmlinuz" \
        --initrd "$it_work/initrd.img" --append "console=ttyS0 quiet panic=-1" --memory 256 \
        --console-log "$it_work/$dv_name.console" "$@" > "$it_work/$dv_name.define" 2>&1 ||
        { sed 's/^/# define: /' "$it_work/$dv_name.define"; return 1; }
}
# boot NAME TAG: starts NAME, attests it (exit status in $attest_status,
# output in $it_work/TAG.attest), waits until it is off; the console of
# this boot in $it_work/TAG.console.
boot() {
    : > "$it_work/$1.console"
    t0=$(now)
    if ! $VIRSH start "$1" > "$it_work/$2.start" 2>&1; then
        sed 's/^/# virsh start: /' "$it_work/$2.start"
        attest_status=255
        return 1
    fi
    timeout 150 "$SNPGUARD" attest "$1" --timeout 120 > "$it_work/$2.attest" 2>&1
    attest_status=$?
    sed 's/^/# attest: /' "$it_work/$2.attest"
    # A rejected guest waits for another verifier (the failure action is
    # the hook worker's): stop it here.
    if [ "$attest_status" -eq 3 ]; then
        wait_for_line "$it_work/$1.console" "refused this VM" 30
        $VIRSH destroy "$1" >/dev/null 2>&1
    fi
    wait_domain_stopped "$1" 90 || { $VIRSH destroy "$1" >/dev/null 2>&1; wait_domain_stopped "$1" 30; }
    cp "$it_work/$1.console" "$it_work/$2.console"
    grep -E 'snpguard|marker|LUKS2|verity|root' "$it_work/$2.console" | sed 's/^/# console: /'
    diag "$2: start -> off in $(elapsed "$t0" "$(now)") s"
}
# history_has NAME PATTERN: the VM's history (JSON) matches PATTERN (grep -E).
history_has() {
    "$SNPGUARD" history "$1" --json | tr -d '\n' | grep -Eq "$2"
}

"$SNPGUARD" image rootfs "$it_work/root-enc" --marker "encrypted root $$" > /dev/null ||
    bail "snpguard image rootfs"
"$SNPGUARD" image rootfs "$it_work/root-int" --marker "integrity root $$" > /dev/null ||
    bail "snpguard image rootfs"
ok "image rootfs"

# --- encrypted: the good boot ------------------------------------------------------
enc=snpguard-it-enc-$$
define_vm "$enc" encrypted --disk "$it_work/enc.img" || bail "define --workflow encrypted"
ok "define --workflow encrypted"
before=$("$SNPGUARD" show "$enc" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["expected_measurement"])')
"$SNPGUARD" image encrypt "$enc" "$it_work/root-enc" "$it_work/enc.img" > "$it_work/encrypt.out" 2>&1
status=$?
sed 's/^/# image encrypt: /' "$it_work/encrypt.out"
[ "$status" -eq 0 ] || bail "image encrypt"
ok "image encrypt"
"$SNPGUARD" show "$enc" --json > "$it_work/enc.show"
check "the header facts are recorded" sh -c "grep -q '\"luks-cipher\" *: *\"aes-xts-plain64\"' '$it_work/enc.show' && grep -q 'luks-header-sha256' '$it_work/enc.show'"
check "the command line names the LUKS2 root" sh -c "$VIRSH dumpxml '$enc' | grep -q 'snpguard.root=luks:/dev/vda'"
after=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["expected_measurement"])' "$it_work/enc.show")
check "the expected measurement changed with the command line" test "$before" != "$after"
check "the header is LUKS2 aes-xts-plain64 (cryptsetup's view)" \
    sh -c "cryptsetup luksDump '$it_work/enc.img' | grep -q 'cipher: aes-xts-plain64'"
cp "$it_work/enc.img" "$it_work/enc.pristine"

boot "$enc" enc-good
check "attest NAME exits 0" test "$attest_status" -eq 0
check "the encrypted root booted to its marker" grep -q "snpguard-marker: encrypted root $$" "$it_work/enc-good.console"
check "history: key release confirmed" history_has "$enc" '"event" *: *"key-release", *[^}]*"verdict" *: *"accepted"'

# refused_boot TAG DESCRIPTION REASON: a boot whose root must be refused.
refused_boot() {
    boot "$enc" "$1"
    check "$2: no marker" sh -c "! grep -q 'snpguard-marker' '$it_work/$1.console'"
    check "$2: the agent refused the root ($3)" grep -q "$3" "$it_work/$1.console"
    check "$2: attest reports the key unconfirmed" test "$attest_status" -ne 0
}

# The CVE-2025-59054 class: the data segment's cipher switched to
# cipher_null, same UUID, valid checksums.
cp "$it_work/enc.pristine" "$it_work/enc.img"
"$luks_edit" "$it_work/enc.img" '"segments"' '"encryption":"aes-xts-plain64"' \
    '"encryption":"cipher_null-ecb"' || bail "luks-edit"
check "the forged header loads in cryptsetup" sh -c "cryptsetup luksDump '$it_work/enc.img' | grep -q 'cipher: cipher_null-ecb'"
refused_boot enc-null "a cipher_null header" "unexpected LUKS2 header"
check "history records luks-header for the null-cipher header" history_has "$enc" 'luks-header'

# The wrong key: the store's key file replaced.
key_file=$(ls "$state"/keys/*.key)
cp "$key_file" "$it_work/key.saved"
head -c 64 /dev/urandom > "$key_file"
cp "$it_work/enc.pristine" "$it_work/enc.img"
refused_boot enc-wrong-key "the wrong key" "does not open keyslot"
check "history records luks-key" history_has "$enc" 'luks-key'
cat "$it_work/key.saved" > "$key_file"

# A keyslot added (with the VM's own key, as the host could if it had it).
cp "$it_work/enc.pristine" "$it_work/enc.img"
head -c 64 /dev/urandom > "$it_work/other.key"
cryptsetup luksAddKey -q --key-file "$key_file" --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
    "$it_work/enc.img" "$it_work/other.key" || bail "cryptsetup luksAddKey"
refused_boot enc-keyslot "a keyslot added" "unexpected LUKS2 header"

# Another cipher for the data segment (valid checksums).
cp "$it_work/enc.pristine" "$it_work/enc.img"
"$luks_edit" "$it_work/enc.img" '"segments"' '"encryption":"aes-xts-plain64"' \
    '"encryption":"aes-cbc-plain64"' || bail "luks-edit"
refused_boot enc-cipher "another cipher" "not the expected 'aes-xts-plain64'"

# Another header: the same root encrypted again under another VM's key.
other=snpguard-it-other-$$
define_vm "$other" encrypted --disk "$it_work/other.img" || bail "define another VM"
"$SNPGUARD" image encrypt "$other" "$it_work/root-enc" "$it_work/other.img" --no-define > /dev/null ||
    bail "image encrypt another VM"
cp "$it_work/other.img" "$it_work/enc.img"
refused_boot enc-other "another VM's header" "unexpected LUKS2 header"
"$SNPGUARD" undefine "$other" --remove-key > /dev/null 2>&1
check "image verity refuses a VM of the other workflow" sh -c \
    "! '$SNPGUARD' image verity '$enc' '$it_work/root-int' '$it_work/x.data' '$it_work/x.hash' 2>/dev/null"
check "image encrypt refuses to overwrite" sh -c \
    "! '$SNPGUARD' image encrypt '$enc' '$it_work/root-enc' '$it_work/enc.img' 2>/dev/null"

# --- integrity ------------------------------------------------------------------------
int=snpguard-it-int-$$
# No gate: a changed command line must reach the attestation.
define_vm "$int" integrity --disk "$it_work/int-data.img" --disk "$it_work/int-hash.img" --no-gate ||
    bail "define --workflow integrity"
ok "define --workflow integrity"
"$SNPGUARD" image verity "$int" "$it_work/root-int" "$it_work/int-data.img" "$it_work/int-hash.img" \
    > "$it_work/verity.out" 2>&1
status=$?
sed 's/^/# image verity: /' "$it_work/verity.out"
[ "$status" -eq 0 ] || bail "image verity"
ok "image verity"
root_hash=$(sed -n 's/.*root hash \([0-9a-f]*\).*/\1/p' "$it_work/verity.out")
check "the command line carries the root hash" sh -c "$VIRSH dumpxml '$int' | grep -q 'roothash:$root_hash'"
cp "$it_work/int-data.img" "$it_work/int-data.pristine"

boot "$int" int-good
check "attest NAME exits 0 (integrity)" test "$attest_status" -eq 0
check "the dm-verity root booted to its marker" grep -q "snpguard-marker: integrity root $$" "$it_work/int-good.console"

# One modified block of the data image.
printf 'X' | dd of="$it_work/int-data.img" bs=1 seek=$((4096 * 5 + 100)) conv=notrunc 2>/dev/null
boot "$int" int-block
check "a modified block: no marker" sh -c "! grep -q 'snpguard-marker' '$it_work/int-block.console'"
check "a modified block: the boot stops at the verification (1109)" grep -q "reason 1109.*does not match the root hash" "$it_work/int-block.console"
cp "$it_work/int-data.pristine" "$it_work/int-data.img"

# Another root hash on the command line: the launch measures another
# command line, so the report's measurement is not the expected one.
other_hash=$(printf '%s' "$root_hash" | tr '0-9a-f' '1-9a-f0')
$VIRSH dumpxml --inactive --security-info "$int" | sed "s/roothash:$root_hash/roothash:$other_hash/" \
    > "$it_work/int-other.xml"
$VIRSH define "$it_work/int-other.xml" > /dev/null || bail "virsh define with another root hash"
boot "$int" int-hash
check "another root hash: attest rejects (exit 3)" test "$attest_status" -eq 3
check "another root hash: the reason is the measurement" grep -q "measurement" "$it_work/int-hash.attest"
check "another root hash: no marker" sh -c "! grep -q 'snpguard-marker' '$it_work/int-hash.console'"

# --- the initramfs rebuilt: same bytes, same measurement -------------------------------
agent=${SNPGUARD_AGENT:-$it_builddir/snpguard-agent}
strip -o "$it_work/agent" "$agent" || bail "strip"
set -- --agent "$it_work/agent" --init "$it_srcdir/guest/init"
[ -n "${SNPGUARD_KERNEL_DEB:-}" ] && set -- "$@" --kernel-deb "$SNPGUARD_KERNEL_DEB"
[ -n "${SNPGUARD_CACHE_DIR:-}" ] && set -- "$@" --cache-dir "$SNPGUARD_CACHE_DIR"
"$SNPGUARD" guest build "$it_work/g1" "$@" > /dev/null && "$SNPGUARD" guest build "$it_work/g2" "$@" > /dev/null ||
    bail "guest build twice"
check "the initramfs rebuilt: identical bytes" cmp "$it_work/g1/initrd.img" "$it_work/g2/initrd.img"
m1=$("$SNPGUARD" measure --mode snp --vcpus 1 --vcpu-type EPYC-Milan --ovmf "$firmware" \
    --kernel "$it_work/g1/vmlinuz" --initrd "$it_work/g1/initrd.img" --append "panic=-1")
m2=$("$SNPGUARD" measure --mode snp --vcpus 1 --vcpu-type EPYC-Milan --ovmf "$firmware" \
    --kernel "$it_work/g2/vmlinuz" --initrd "$it_work/g2/initrd.img" --append "panic=-1")
check "the initramfs rebuilt: identical measurement" test -n "$m1" -a "$m1" = "$m2"

stop_libvirtd
rm -rf "/run/snpguard/emulate/$(printf %s "$state" | sha256sum | cut -c1-16)"
finish
