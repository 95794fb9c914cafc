/* The libvirt connection: the only module that calls libvirt. define,
 * adopt, undefine and attest open one connection (--connect URI, default
 * qemu:///system) and use these calls; libvirt's own error text becomes
 * the GError message. The hook never comes here: a hook that calls libvirt
 * deadlocks the daemon (see snpguard-hook(8)). */
#pragma once

#include <glib.h>

#define SNPG_VIRT_URI_DEFAULT "qemu:///system"

#define SNPG_VIRT_ERROR (snpg_virt_error_quark())
GQuark snpg_virt_error_quark(void);

typedef enum {
    SNPG_VIRT_ERROR_CONNECT,        /* no connection to the daemon */
    SNPG_VIRT_ERROR_NOT_FOUND,      /* no such domain */
    SNPG_VIRT_ERROR_EXISTS,         /* a domain of that name is already defined */
    SNPG_VIRT_ERROR_NOT_RUNNING,    /* the domain is not running */
    SNPG_VIRT_ERROR_UNSUPPORTED,    /* the host cannot run SEV-SNP guests */
    SNPG_VIRT_ERROR_FAILED,         /* libvirt refused (its message says why) */
} SnpgVirtError;

/* libvirt 10.5.0 introduced <launchSecurity type='sev-snp'>. */
#define SNPG_VIRT_SNP_MIN_LIBVIRT 10005000UL

typedef struct _SnpgVirt SnpgVirt;

/* uri NULL: SNPG_VIRT_URI_DEFAULT. */
SnpgVirt *snpg_virt_open(const char *uri, GError **error);
void snpg_virt_close(SnpgVirt *virt);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SnpgVirt, snpg_virt_close)

/* Whether a domain of that name is defined (or running). */
gboolean snpg_virt_domain_exists(SnpgVirt *virt, const char *name);
/* Defines (persistently) the domain XML; fails with EXISTS when a domain of
 * that name exists and replace is FALSE (adopt replaces its own domain). */
gboolean snpg_virt_define(SnpgVirt *virt, const char *name, const char *xml, gboolean replace,
                          GError **error);
/* Undefines the persistent domain name (a running one keeps running as a
 * transient domain, as with virsh undefine). NOT_FOUND when there is none. */
gboolean snpg_virt_undefine(SnpgVirt *virt, const char *name, GError **error);
/* The domain's XML: inactive (the definition) or live (a running domain's,
 * with the paths libvirt chose, e.g. channel sockets; NOT_RUNNING if not). */
char *snpg_virt_get_xml(SnpgVirt *virt, const char *name, gboolean live, GError **error);

/* Checks that this host can run SEV-SNP guests: libvirt >= 10.5, a QEMU
 * with sev-snp-guest, sev-snp in the domain capabilities' launchSecurity
 * sectypes, and a stateless AmdSev firmware. Fails with UNSUPPORTED and
 * one message naming everything missing. */
gboolean snpg_virt_check_snp_host(SnpgVirt *virt, GError **error);
