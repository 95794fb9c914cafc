#!/bin/sh
# Forbidden calls in our sources (libvirt-style syntax check): use the GLib
# or OpenSSL equivalent instead.
top=${1:-.}
status=0
check() {
    pattern=$1; advice=$2
    hits=$(grep -rnE "$pattern" "$top/src" "$top/guest" --include='*.c' --include='*.h' 2>/dev/null)
    if [ -n "$hits" ]; then
        printf '%s\n%s\n\n' "$hits" "-> $advice"
        status=1
    fi
}
check '\b(strtol|strtoul|strtoll|strtoull|atoi|atol)\s*\(' 'use g_ascii_string_to_signed/unsigned'
check '\b(sprintf|vsprintf|strcpy|strcat|strncpy)\s*\(' 'use g_strdup_printf / g_strlcpy'
check '\b(system|popen)\s*\(' 'use g_spawn_* with an argv'
check '\bmemset\s*\([^;]*(key|secret|shared)' 'wipe secrets with OPENSSL_cleanse'

# Layers: core (src/core) links GLib and libcrypto only and the agent (guest/)
# adds nothing but core and, in guest/luks.c, libcryptsetup; neither may include a header of the snpguard command
# (src/cli) or of the host side (src/host), nor a host library. The build
# gives each layer only its own include paths; this also catches a path
# spelled out ("../cli/x.h") or a system header found without flags.
layer() {
    dirs=$1; pattern=$2; advice=$3
    for d in $dirs; do
        hits=$(grep -rnE "^[[:space:]]*#[[:space:]]*include[[:space:]]*$pattern" "$top/$d" \
               --include='*.c' --include='*.h' 2>/dev/null)
        if [ -n "$hits" ]; then
            printf '%s\n%s\n\n' "$hits" "-> $advice"
            status=1
        fi
    done
}
upper=""
for h in "$top"/src/cli/*.h "$top"/src/host/*.h; do
    [ -f "$h" ] && upper="$upper|$(basename "$h" | sed 's/\./\\./g')"
done
upper=${upper#|}
[ -n "$upper" ] && layer "src/core guest" "[\"<]([^\">]*/)?($upper)[\">]" \
    'core and the agent must not include a CLI or host header'
guest_headers=$(for h in "$top"/guest/*.h; do [ -f "$h" ] && basename "$h"; done | sed 's/\./\\./g' | paste -sd'|' -)
[ -n "$guest_headers" ] && layer "src/core" "[\"<]([^\">]*/)?($guest_headers)[\">]" \
    'core must not include an agent header'
layer "src/core guest" '"\.\./' 'no relative includes across directories: each layer has its include path'
layer "src/core" '<(libvirt/|libxml/|sqlite3\.h|libcryptsetup\.h|json-glib/)' \
    'core links GLib and libcrypto only (host libraries belong in src/host or src/cli)'
layer "guest" '<(libvirt/|libxml/|sqlite3\.h|json-glib/)' \
    'the agent links GLib, libcrypto and (guest/luks.c only) libcryptsetup'
# libcryptsetup is optional in the agent (--without-cryptsetup, static agent):
# only guest/luks.c, built when it is there, may include it.
hits=$(grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<libcryptsetup\.h>' "$top/guest" \
       --include='*.c' --include='*.h' 2>/dev/null | grep -v "^$top/guest/luks\.c:")
if [ -n "$hits" ]; then
    printf '%s\n%s\n\n' "$hits" "-> only guest/luks.c includes libcryptsetup.h"
    status=1
fi
# libvirt is called from src/host/virt.c only; the hook and the gate never
# reach it (a hook that calls libvirt deadlocks the daemon).
hits=$(grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<libvirt/' "$top/src" \
       --include='*.c' --include='*.h' 2>/dev/null | grep -v "^$top/src/host/virt\.c:")
hits2=$(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"virt\.h"' \
        "$top/src/cli/cmd-hook.c" "$top/src/host/gate.c" "$top/src/host/gate.h" 2>/dev/null)
if [ -n "$hits$hits2" ]; then
    printf '%s\n%s\n\n' "$hits$hits2" "-> only src/host/virt.c calls libvirt, and never for the hook"
    status=1
fi
exit $status
