/* libvirt's functions, loaded on first use.
 *
 * snpguard does not link libvirt: a process that links it pays ~10 ms of
 * relocations at every start, and the hook, which libvirtd runs for every
 * operation of every domain, must pass unmanaged domains in under 5 ms (it
 * never calls libvirt anyway). The modules that talk to libvirt (virt.c,
 * and for attestation on every start boot.c, channel.c, watch.c and the
 * hook's detached worker) call it through this one table, filled by
 * dlopen("libvirt.so.0") the first time snpg_virt_api_load() runs. Only
 * these modules include this header (make syntax-check), and never the
 * hook's own path or the gate. */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

/* Every libvirt function snpguard calls, without its "vir" prefix. */
#define SNPG_VIRT_FUNCTIONS(X) \
    X(SetErrorFunc) X(GetLastError) X(GetLastErrorMessage) X(ResetLastError) \
    X(ConnectOpen) X(ConnectOpenAuth) X(ConnectClose) X(ConnectGetLibVersion) \
    X(ConnectGetDomainCapabilities) X(ConnectSetKeepAlive) \
    X(ConnectRegisterCloseCallback) X(ConnectUnregisterCloseCallback) \
    X(ConnectDomainEventRegisterAny) X(ConnectDomainEventDeregisterAny) \
    X(ConnectListAllDomains) \
    X(DomainLookupByName) X(DomainLookupByUUIDString) X(DomainRef) X(DomainFree) \
    X(DomainDefineXML) X(DomainIsPersistent) X(DomainUndefine) X(DomainIsActive) \
    X(DomainGetXMLDesc) X(DomainGetName) X(DomainGetID) X(DomainGetUUIDString) \
    X(DomainGetConnect) X(DomainCreate) X(DomainDestroy) X(DomainSuspend) \
    X(DomainOpenChannel) \
    X(StreamNew) X(StreamFree) X(StreamSend) X(StreamRecv) X(StreamFinish) X(StreamAbort) \
    X(StreamEventAddCallback) X(StreamEventUpdateCallback) X(StreamEventRemoveCallback) \
    X(EventRegisterDefaultImpl) X(EventRunDefaultImpl) \
    X(EventAddTimeout) X(EventUpdateTimeout) X(EventRemoveTimeout)

typedef struct {
#define SNPG_VIRT_SLOT(name) __typeof__(vir##name) *name;
    SNPG_VIRT_FUNCTIONS(SNPG_VIRT_SLOT)
#undef SNPG_VIRT_SLOT
    virConnectAuthPtr *ConnectAuthPtrDefault;   /* a variable: its address */
} SnpgVirtApi;

/* Loads libvirt once; NULL (error set, SNPG_VIRT_ERROR_CONNECT) when the
 * library or one of its functions is missing. */
const SnpgVirtApi *snpg_virt_api_load(GError **error);
/* The table, for code that only runs once it was loaded (it holds a
 * libvirt object already): all NULL before. */
const SnpgVirtApi *snpg_virt_api(void);

/* A call through the table: VIR(DomainGetName)(dom). */
#define VIR(name) (snpg_virt_api()->name)
