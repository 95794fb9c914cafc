# Shared by the integration tests (sourced; POSIX sh). They run a real
# libvirtd and QEMU (TCG) as ../shared/HARNESS.md describes, speak TAP, and
# skip ("1..0 # SKIP reason") where that is impossible: not root, libvirt or
# QEMU missing, or a libvirtd already running that is not ours.
#
# Everything started here is stopped by pid from an EXIT trap, also on
# failure, on a signal and on the watchdog's timeout: the test domains are
# destroyed and undefined, libvirtd and virtlogd (if we started it) killed,
# the hook we installed removed and /dev/kvm's mode restored.

set -u

: "${SNPGUARD:?SNPGUARD must name the snpguard binary (make check sets it)}"
it_builddir=$(cd "$(dirname "$SNPGUARD")" && pwd)
it_srcdir=$(cd "$(dirname "$0")/../.." && pwd)
VIRSH="virsh -q -c qemu:///system"
HOOKS_DIR=/etc/libvirt/hooks
QEMU_HOOKS_DIR=$HOOKS_DIR/qemu.d

it_test=0
it_failed=0
it_domains=""
it_libvirtd_pid=""
it_virtlogd_pid=""
it_hook=""
it_made_hook_dirs=""
it_kvm_mode=""
it_watchdog_pid=""
it_work=""

# ---- TAP ---------------------------------------------------------------------

skip_all() {
    echo "1..0 # SKIP $*"
    exit 0
}
ok() {
    it_test=$((it_test + 1))
    echo "ok $it_test - $*"
}
not_ok() {
    it_test=$((it_test + 1))
    it_failed=$((it_failed + 1))
    echo "not ok $it_test - $*"
}
# check DESCRIPTION COMMAND...: one TAP line for the command's success.
check() {
    it_desc=$1
    shift
    if "$@"; then ok "$it_desc"; else not_ok "$it_desc"; fi
}
diag() {
    echo "# $*"
}
# Fails the test now: later steps depend on this one.
bail() {
    not_ok "$*"
    exit 1
}
# Prints the plan and the exit status for the checks run so far.
finish() {
    echo "1..$it_test"
    [ "$it_failed" -eq 0 ]
    exit $?
}

# Seconds since the epoch, with milliseconds.
now() {
    date +%s.%3N
}
elapsed() {
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'
}

# ---- requirements --------------------------------------------------------------

# require_root_and_libvirt: skip unless this can run libvirtd + QEMU here.
require_root_and_libvirt() {
    [ "$(id -u)" = 0 ] || skip_all "needs root (starts its own libvirtd on qemu:///system)"
    for tool in /usr/sbin/libvirtd /usr/sbin/virtlogd; do
        [ -x "$tool" ] || skip_all "$tool is missing (apt-get install libvirt-daemon-system)"
    done
    command -v virsh >/dev/null || skip_all "virsh is missing (apt-get install libvirt-clients)"
    command -v qemu-system-x86_64 >/dev/null ||
        skip_all "qemu-system-x86_64 is missing (apt-get install qemu-system-x86)"
    command -v xmllint >/dev/null || skip_all "xmllint is missing (apt-get install libxml2-utils)"
}

# require_guest_build_tools: skip unless 'snpguard guest build' can run.
require_guest_build_tools() {
    [ -x /bin/busybox ] || skip_all "/bin/busybox is missing (apt-get install busybox-static)"
    command -v depmod >/dev/null || skip_all "depmod is missing (apt-get install kmod)"
    command -v dpkg-deb >/dev/null || skip_all "dpkg-deb is missing (not a Debian system)"
    if [ -z "${SNPGUARD_KERNEL_DEB:-}" ]; then
        command -v apt-get >/dev/null ||
            skip_all "apt-get is missing and SNPGUARD_KERNEL_DEB names no kernel package"
        apt-cache show --no-all-versions linux-image-amd64 >/dev/null 2>&1 ||
            skip_all "apt knows no linux-image-amd64 (run apt-get update, or set SNPGUARD_KERNEL_DEB)"
    fi
}

# ---- work directory and timeouts ---------------------------------------------

# make_workdir: $it_work, removed at exit (unless SNPGUARD_KEEP_WORK is set).
# Searchable by others: QEMU runs as libvirt-qemu and opens the kernel there.
make_workdir() {
    it_work=$(mktemp -d /tmp/snpguard-it.XXXXXX)
    chmod 0755 "$it_work"
}

# watchdog SECONDS: the whole test ends (and cleans up) after SECONDS.
watchdog() {
    (
        trap 'kill "$it_sleep_pid" 2>/dev/null; exit 0' TERM
        sleep "$1" &
        it_sleep_pid=$!
        wait "$it_sleep_pid" && echo "# watchdog: $1 s are up" && kill -TERM $$
    ) &
    it_watchdog_pid=$!
}

# One libvirtd at a time on this machine, across concurrently run tests.
lock_machine() {
    exec 9>/run/snpguard-integration.lock
    flock -w 900 9 || bail "another integration test holds /run/snpguard-integration.lock"
}

# ---- libvirtd ------------------------------------------------------------------

pid_alive() {
    [ -n "$1" ] && kill -0 "$1" 2>/dev/null
}

# start_libvirtd [HOOK_SCRIPT]: installs HOOK_SCRIPT (if given) as
# qemu.d/snpguard-test before the daemon starts (libvirtd looks for hooks only
# then), then starts virtlogd (unless one runs) and libvirtd, and waits until
# qemu:///system answers. Skips if a libvirtd we did not start is running.
start_libvirtd() {
    # Every developer's runs on this machine take this lock around their
    # libvirtd, so that concurrent runs wait for each other instead of
    # colliding (held until stop_libvirtd).
    mkdir -p /run/lock
    exec 8>/run/lock/snpguard-libvirtd-test.lock
    flock -w 900 8 || bail "another run holds /run/lock/snpguard-libvirtd-test.lock for 900 s"
    if [ -e /run/libvirtd.pid ] && pid_alive "$(cat /run/libvirtd.pid 2>/dev/null)"; then
        skip_all "a libvirtd is already running (pid $(cat /run/libvirtd.pid)); not ours to stop"
    fi
    if pgrep -x libvirtd >/dev/null 2>&1; then
        skip_all "a libvirtd is already running; not ours to stop"
    fi
    # systemd would answer qemu:///system itself (socket activation), and our
    # daemon could not bind the socket.
    if systemd_unit_active libvirtd.socket || systemd_unit_active libvirtd.service; then
        skip_all "systemd runs libvirtd here (stop libvirtd.service and libvirtd*.socket to run this test)"
    fi
    if [ -n "${1:-}" ]; then
        for dir in "$HOOKS_DIR" "$QEMU_HOOKS_DIR"; do
            if [ ! -d "$dir" ]; then
                mkdir -p "$dir" && it_made_hook_dirs="$dir $it_made_hook_dirs"
            fi
        done
        it_hook=$QEMU_HOOKS_DIR/snpguard-test
        [ -e "$it_hook" ] && skip_all "$it_hook exists (another test run?)"
        install -m 0755 "$1" "$it_hook" || bail "cannot install the hook $it_hook"
    fi
    # A /dev/kvm libvirt cannot use makes it re-probe QEMU on every start (≈60 s).
    if [ -e /dev/kvm ]; then
        it_kvm_mode=$(stat -c '%a %U:%G' /dev/kvm)
        chown root:kvm /dev/kvm 2>/dev/null && chmod 0660 /dev/kvm
    fi
    if { [ -e /run/virtlogd.pid ] && pid_alive "$(cat /run/virtlogd.pid 2>/dev/null)"; } ||
        systemd_unit_active virtlogd.socket; then
        diag "using the running virtlogd"
    else
        /usr/sbin/virtlogd -d || bail "virtlogd does not start"
        it_virtlogd_pid=$(wait_pidfile /run/virtlogd.pid) || bail "virtlogd wrote no pid file"
    fi
    it_t0=$(now)
    /usr/sbin/libvirtd -d || bail "libvirtd does not start"
    it_libvirtd_pid=$(wait_pidfile /run/libvirtd.pid) || bail "libvirtd wrote no pid file"
    tries=0
    until $VIRSH version >/dev/null 2>&1; do
        tries=$((tries + 1))
        [ $tries -lt 1200 ] || bail "libvirtd does not answer on qemu:///system after 120 s"
        pid_alive "$it_libvirtd_pid" || bail "libvirtd exited"
        sleep 0.1
    done
    diag "libvirtd ready in $(elapsed "$it_t0" "$(now)") s"
}

systemd_unit_active() {
    [ -d /run/systemd/system ] && command -v systemctl >/dev/null &&
        systemctl is-active --quiet "$1" 2>/dev/null
}

wait_pidfile() {
    for _ in $(seq 100); do
        if [ -s "$1" ] && pid_alive "$(cat "$1")"; then
            cat "$1"
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# Kills a process we started, by pid: TERM, then KILL after 10 s.
stop_pid() {
    pid_alive "$1" || return 0
    kill -TERM "$1" 2>/dev/null
    for _ in $(seq 100); do
        pid_alive "$1" || return 0
        sleep 0.1
    done
    kill -KILL "$1" 2>/dev/null
}

# stop_libvirtd: destroys and undefines every test domain, stops what
# start_libvirtd started, removes the hook. Safe to call twice.
stop_libvirtd() {
    if [ -n "$it_libvirtd_pid" ] && pid_alive "$it_libvirtd_pid"; then
        for dom in $it_domains; do
            $VIRSH destroy "$dom" >/dev/null 2>&1
            $VIRSH undefine "$dom" >/dev/null 2>&1
        done
    fi
    it_domains=""
    stop_pid "$it_libvirtd_pid"
    it_libvirtd_pid=""
    stop_pid "$it_virtlogd_pid"
    it_virtlogd_pid=""
    if [ -n "$it_hook" ]; then
        rm -f "$it_hook"
        it_hook=""
    fi
    for dir in $it_made_hook_dirs; do
        rmdir "$dir" 2>/dev/null
    done
    it_made_hook_dirs=""
    if [ -n "$it_kvm_mode" ]; then
        chown "${it_kvm_mode#* }" /dev/kvm 2>/dev/null
        chmod "${it_kvm_mode%% *}" /dev/kvm 2>/dev/null
        it_kvm_mode=""
    fi
    # Release the libvirtd lock (start_libvirtd took it).
    { flock -u 8; } 2>/dev/null
}

# Registers a domain name for cleanup.
track_domain() {
    it_domains="$it_domains $1"
}

it_cleanup() {
    status=$?
    trap - EXIT INT TERM HUP
    stop_libvirtd
    if [ -n "$it_watchdog_pid" ]; then
        kill -TERM "$it_watchdog_pid" 2>/dev/null
    fi
    # The hook writes emulated identities under /run, keyed by the state
    # directory: remove this run's, also after a failure.
    if [ -n "${SNPGUARD_STATE_DIR:-}" ]; then
        rm -rf "/run/snpguard/emulate/$(printf %s "$SNPGUARD_STATE_DIR" | sha256sum | cut -c1-16)"
    fi
    if [ -n "$it_work" ] && [ -z "${SNPGUARD_KEEP_WORK:-}" ]; then
        rm -rf "$it_work"
    fi
    exit $status
}
trap it_cleanup EXIT
trap 'exit 1' INT TERM HUP

# ---- domains --------------------------------------------------------------------

# domain_state NAME: running, shut off, ... or "gone" (a transient domain
# that stopped).
domain_state() {
    $VIRSH domstate "$1" 2>/dev/null || echo gone
}

# wait_domain_stopped NAME SECONDS: 0 once it is shut off or gone.
wait_domain_stopped() {
    deadline=$(( $(date +%s) + $2 ))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        case $(domain_state "$1") in
        "shut off"|gone) return 0 ;;
        esac
        sleep 0.1
    done
    return 1
}

# channel_path NAME TARGET: the unix socket libvirt made for the channel.
channel_path() {
    $VIRSH dumpxml "$1" |
        xmllint --xpath "string(//channel[target/@name='$2']/source/@path)" - 2>/dev/null
}

# wait_for_line FILE PATTERN SECONDS: 0 once FILE has a line matching PATTERN (grep -E).
wait_for_line() {
    deadline=$(( $(date +%s) + $3 ))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        grep -Eq "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
