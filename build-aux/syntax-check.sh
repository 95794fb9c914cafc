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
exit $status
