#!/bin/sh
# snpguard guest build: a bootable image from Debian's kernel package, and
# the same inputs give the same bytes (two builds are compared byte for byte).
# Leaves the image in tests/integration/guest-image for test-guest-boot.sh.
. "$(dirname "$0")/lib.sh"

require_guest_build_tools
command -v readelf >/dev/null || skip_all "readelf is missing (apt-get install binutils)"
command -v cpio >/dev/null || skip_all "cpio is missing (apt-get install cpio)"
make_workdir
watchdog 600

# The agent: this build's own. Linked with libcryptsetup (the encrypted and
# integrity roots), it is dynamic and its libraries go in with it; an agent
# built without cryptsetup may be the static variant.
agent=${SNPGUARD_AGENT:-$it_builddir/snpguard-agent}
[ -x "$agent" ] || bail "no snpguard-agent in $it_builddir"
strip -o "$it_work/snpguard-agent" "$agent" || bail "cannot strip the agent"
dynamic=
readelf -l "$agent" | grep -q INTERP && dynamic=yes

set -- --agent "$it_work/snpguard-agent" --init "$it_srcdir/guest/init"
[ -n "${SNPGUARD_KERNEL_DEB:-}" ] && set -- "$@" --kernel-deb "$SNPGUARD_KERNEL_DEB"
[ -n "${SNPGUARD_CACHE_DIR:-}" ] && set -- "$@" --cache-dir "$SNPGUARD_CACHE_DIR"

image=$it_builddir/tests/integration/guest-image
rm -rf "$image"
t0=$(now)
"$SNPGUARD" guest build "$image" "$@" --json > "$it_work/build1.json" ||
    bail "snpguard guest build"
diag "first build: $(elapsed "$t0" "$(now)") s"
ok "snpguard guest build writes an image"
check "DIR/vmlinuz is a bzImage" sh -c "od -An -c -j 514 -N 4 '$image/vmlinuz' | tr -d ' ' | grep -qx HdrS"
check "DIR/initrd.img is a newc cpio archive" sh -c "head -c 6 '$image/initrd.img' | grep -qx 070701"

t0=$(now)
SOURCE_DATE_EPOCH= "$SNPGUARD" guest build "$it_work/again" "$@" > /dev/null || bail "second build"
diag "second build: $(elapsed "$t0" "$(now)") s"
# gzip, too, gives the same bytes twice (no name, no time in its header).
"$SNPGUARD" guest build "$it_work/gz1" "$@" --compress gzip > /dev/null || bail "gzip build"
"$SNPGUARD" guest build "$it_work/gz2" "$@" --compress gzip > /dev/null || bail "gzip build"
check "two gzip builds give the same initrd.img" cmp "$it_work/gz1/initrd.img" "$it_work/gz2/initrd.img"
check "the gzip initrd holds the same archive" sh -c "gzip -dc '$it_work/gz1/initrd.img' | cmp -s - '$image/initrd.img'"
check "two builds give the same initrd.img, byte for byte" cmp "$image/initrd.img" "$it_work/again/initrd.img"
check "two builds give the same vmlinuz, byte for byte" cmp "$image/vmlinuz" "$it_work/again/vmlinuz"
diag "initrd.img: $(wc -c < "$image/initrd.img") bytes, sha256 $(sha256sum "$image/initrd.img" | cut -d' ' -f1)"

# What is inside, as GNU cpio reads it.
cp "$image/initrd.img" "$it_work/initrd.cpio"
cpio -itv < "$it_work/initrd.cpio" > "$it_work/list" 2>/dev/null || bail "cpio cannot read initrd.img"
for path in init sbin/snpguard-agent bin/busybox bin/sh bin/poweroff bin/insmod bin/sha256sum \
        dev/console lib/modules/virtio_console.ko lib/modules/qemu_fw_cfg.ko \
        lib/modules/dm-crypt.ko lib/modules/dm-verity.ko lib/modules/sev-guest.ko \
        etc/snpguard/modules etc/snpguard/modules-hardware; do
    check "the initramfs holds $path" grep -Eq " $path( ->.*)?\$" "$it_work/list"
done
if [ -n "$dynamic" ]; then
    # Its loader and libraries at the paths this host's loader resolves.
    interp=$(readelf -l "$agent" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
    check "the initramfs holds the agent's loader $interp" grep -Eq " ${interp#/}\$" "$it_work/list"
    for lib in $("$interp" --list "$agent" | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p'); do
        check "the initramfs holds ${lib#/}" grep -Eq " ${lib#/}\$" "$it_work/list"
    done
fi
check "no link is named busybox" sh -c "! grep -q ' bin/busybox -> ' '$it_work/list'"
check "every entry is owned by root:root, mtime 0" \
    sh -c "! grep -Ev '^[-dlc][rwxs-]{9} +[0-9]+ root +root .* Jan  1  1970 ' '$it_work/list'"
check "entries are sorted" sh -c "sed -e 's/.* 1970 //' -e 's/ -> .*//' '$it_work/list' | LC_ALL=C sort -c"

# Modules come after the modules they need.
mkdir "$it_work/x" && (cd "$it_work/x" && cpio -id --quiet 'etc/snpguard/*' < "$it_work/initrd.cpio")
check "sev-guest is loaded on SEV-SNP hardware only" \
    sh -c "grep -qx sev-guest '$it_work/x/etc/snpguard/modules-hardware' && ! grep -q sev-guest '$it_work/x/etc/snpguard/modules'"
order=$(tr '\n' ' ' < "$it_work/x/etc/snpguard/modules")
diag "module load order: $order"
before() {
    echo " $order" | grep -Eq " $1 (.* )?$2 "
}
check "virtio_ring before virtio" before virtio_ring virtio
check "virtio before virtio_pci" before virtio virtio_pci
check "virtio_pci_modern_dev before virtio_pci" before virtio_pci_modern_dev virtio_pci
check "virtio before virtio_console" before virtio virtio_console
check "dm-mod before dm-crypt" before dm-mod dm-crypt
check "dm-bufio before dm-verity" before dm-bufio dm-verity

# --module replaces the list; dependencies still come first; an unknown
# module is an error that names it.
"$SNPGUARD" guest build "$it_work/small" "$@" --module virtio_console --json > "$it_work/small.json" ||
    bail "guest build --module virtio_console"
check "--module virtio_console loads virtio_ring, virtio, virtio_console" \
    sh -c "tr -d ' \n' < '$it_work/small.json' | grep -q '\"modules\":\[\"virtio_ring\",\"virtio\",\"virtio_console\"\]'"
if "$SNPGUARD" guest build "$it_work/nope" "$@" --module no_such_module 2> "$it_work/err"; then
    not_ok "an unknown module is refused"
else
    check "an unknown module is refused" grep -q "has no module 'no_such_module'" "$it_work/err"
fi

# A dynamically linked busybox is refused before anything is downloaded.
if "$SNPGUARD" guest build "$it_work/bad" --busybox "$SNPGUARD" --init "$it_srcdir/guest/init" \
        2> "$it_work/err"; then
    not_ok "a dynamically linked busybox is refused"
else
    check "a dynamically linked busybox is refused" grep -q "dynamically linked" "$it_work/err"
fi
check "...and nothing is written" test ! -e "$it_work/bad"

finish
