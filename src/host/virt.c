/* The libvirt connection (see virt.h). */
#include "config.h"

#include <dlfcn.h>
#include <string.h>

#include <glib/gi18n.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "domain.h"
#include "virt.h"

G_DEFINE_QUARK(snpg-virt-error-quark, snpg_virt_error)

struct _SnpgVirt {
    virConnectPtr conn;
    char *uri;
};

/* libvirt is loaded when a connection is first opened, not linked: a
 * process that links it pays ~10 ms of relocations at every start, and the
 * hook, run by libvirtd for every domain operation, must pass unmanaged
 * domains in under 5 ms (it never calls libvirt anyway). */
#define LIBVIRT_SONAME "libvirt.so.0"

static struct {
    __typeof__(virSetErrorFunc) *SetErrorFunc;
    __typeof__(virConnectOpen) *ConnectOpen;
    __typeof__(virConnectClose) *ConnectClose;
    __typeof__(virGetLastError) *GetLastError;
    __typeof__(virResetLastError) *ResetLastError;
    __typeof__(virDomainLookupByName) *DomainLookupByName;
    __typeof__(virDomainFree) *DomainFree;
    __typeof__(virDomainDefineXML) *DomainDefineXML;
    __typeof__(virDomainIsPersistent) *DomainIsPersistent;
    __typeof__(virDomainUndefine) *DomainUndefine;
    __typeof__(virDomainIsActive) *DomainIsActive;
    __typeof__(virDomainGetXMLDesc) *DomainGetXMLDesc;
    __typeof__(virConnectGetLibVersion) *ConnectGetLibVersion;
    __typeof__(virConnectGetDomainCapabilities) *ConnectGetDomainCapabilities;
} lv;

static gboolean
load_libvirt(GError **error)
{
    static const char *const names[] = {
        "virSetErrorFunc",
        "virConnectOpen",
        "virConnectClose",
        "virGetLastError",
        "virResetLastError",
        "virDomainLookupByName",
        "virDomainFree",
        "virDomainDefineXML",
        "virDomainIsPersistent",
        "virDomainUndefine",
        "virDomainIsActive",
        "virDomainGetXMLDesc",
        "virConnectGetLibVersion",
        "virConnectGetDomainCapabilities",
    };
    void **slots = (void **)&lv;
    void *handle;

    G_STATIC_ASSERT(sizeof(lv) == G_N_ELEMENTS(names) * sizeof(void *));
    if (lv.ConnectOpen)
        return TRUE;
    if (!(handle = dlopen(LIBVIRT_SONAME, RTLD_NOW | RTLD_LOCAL))) {
        g_set_error(error, SNPG_VIRT_ERROR, SNPG_VIRT_ERROR_CONNECT,
                    _("Cannot load %s (install libvirt0): %s"), LIBVIRT_SONAME, dlerror());
        return FALSE;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
        if (!(slots[i] = dlsym(handle, names[i]))) {
            g_set_error(error, SNPG_VIRT_ERROR, SNPG_VIRT_ERROR_CONNECT,
                        _("%s lacks %s"), LIBVIRT_SONAME, names[i]);
            memset(&lv, 0, sizeof(lv));
            return FALSE;
        }
    }
    return TRUE;
}

static void
domain_free(virDomainPtr dom)
{
    lv.DomainFree(dom);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(virDomain, domain_free)

/* libvirt's last error as the message (it says what and why). */
static void
set_virt_error(GError **error, SnpgVirtError code, const char *what)
{
    virErrorPtr err = lv.GetLastError();

    g_set_error(error, SNPG_VIRT_ERROR, code, "%s: %s", what,
                err && err->message ? err->message : _("unknown libvirt error"));
    lv.ResetLastError();
}

/* libvirt prints every error on stderr by default; we report them once. */
static void
quiet_error_handler(void *user_data, virErrorPtr err)
{
    (void)user_data;
    (void)err;
}

SnpgVirt *
snpg_virt_open(const char *uri, GError **error)
{
    g_autofree char *what = NULL;
    SnpgVirt *virt;
    virConnectPtr conn;

    if (!uri)
        uri = SNPG_VIRT_URI_DEFAULT;
    if (!load_libvirt(error))
        return NULL;
    lv.SetErrorFunc(NULL, quiet_error_handler);
    if (!(conn = lv.ConnectOpen(uri))) {
        what = g_strdup_printf(_("Cannot connect to libvirt at '%s'"), uri);
        set_virt_error(error, SNPG_VIRT_ERROR_CONNECT, what);
        return NULL;
    }
    virt = g_new0(SnpgVirt, 1);
    virt->conn = conn;
    virt->uri = g_strdup(uri);
    return virt;
}

void
snpg_virt_close(SnpgVirt *virt)
{
    if (!virt)
        return;
    lv.ConnectClose(virt->conn);
    g_free(virt->uri);
    g_free(virt);
}

static virDomainPtr
lookup(SnpgVirt *virt, const char *name, GError **error)
{
    virDomainPtr dom = lv.DomainLookupByName(virt->conn, name);

    if (!dom) {
        virErrorPtr err = lv.GetLastError();
        gboolean missing = err && err->code == VIR_ERR_NO_DOMAIN;

        if (missing) {
            g_set_error(error, SNPG_VIRT_ERROR, SNPG_VIRT_ERROR_NOT_FOUND,
                        _("libvirt at '%s' has no domain '%s'"), virt->uri, name);
            lv.ResetLastError();
        } else {
            g_autofree char *what = g_strdup_printf(_("Cannot look up domain '%s'"), name);

            set_virt_error(error, SNPG_VIRT_ERROR_FAILED, what);
        }
    }
    return dom;
}

gboolean
snpg_virt_domain_exists(SnpgVirt *virt, const char *name)
{
    g_autoptr(virDomain) dom = lv.DomainLookupByName(virt->conn, name);

    lv.ResetLastError();
    return dom != NULL;
}

gboolean
snpg_virt_define(SnpgVirt *virt, const char *name, const char *xml, gboolean replace,
                 GError **error)
{
    g_autoptr(virDomain) dom = NULL;

    if (!replace && snpg_virt_domain_exists(virt, name)) {
        g_set_error(error, SNPG_VIRT_ERROR, SNPG_VIRT_ERROR_EXISTS,
                    _("libvirt already has a domain named '%s' (snpguard adopt takes one over)"),
                    name);
        return FALSE;
    }
    if (!(dom = lv.DomainDefineXML(virt->conn, xml))) {
        g_autofree char *what = g_strdup_printf(_("libvirt refused to define '%s'"), name);

        set_virt_error(error, SNPG_VIRT_ERROR_FAILED, what);
        return FALSE;
    }
    return TRUE;
}

gboolean
snpg_virt_undefine(SnpgVirt *virt, const char *name, GError **error)
{
    g_autoptr(virDomain) dom = lookup(virt, name, error);

    if (!dom)
        return FALSE;
    if (lv.DomainIsPersistent(dom) != 1) {
        g_set_error(error, SNPG_VIRT_ERROR, SNPG_VIRT_ERROR_NOT_FOUND,
                    _("libvirt's domain '%s' is not a defined (persistent) domain"), name);
        return FALSE;
    }
    if (lv.DomainUndefine(dom) < 0) {
        g_autofree char *what = g_strdup_printf(_("libvirt refused to undefine '%s'"), name);

        set_virt_error(error, SNPG_VIRT_ERROR_FAILED, what);
        return FALSE;
    }
    return TRUE;
}

char *
snpg_virt_get_xml(SnpgVirt *virt, const char *name, gboolean live, GError **error)
{
    g_autoptr(virDomain) dom = lookup(virt, name, error);
    char *xml, *copy;

    if (!dom)
        return NULL;
    if (live && lv.DomainIsActive(dom) != 1) {
        g_set_error(error, SNPG_VIRT_ERROR, SNPG_VIRT_ERROR_NOT_RUNNING,
                    _("The domain '%s' is not running"), name);
        return NULL;
    }
    if (!(xml = lv.DomainGetXMLDesc(dom, live ? 0 : VIR_DOMAIN_XML_INACTIVE))) {
        g_autofree char *what = g_strdup_printf(_("Cannot read the XML of '%s'"), name);

        set_virt_error(error, SNPG_VIRT_ERROR_FAILED, what);
        return NULL;
    }
    /* libvirt's buffer is free()d, ours g_free()d. */
    copy = g_strdup(xml);
    free(xml);
    return copy;
}

/* ---- the SEV-SNP host check ----------------------------------------------- */

static gboolean
xpath_any(xmlDoc *doc, const char *expr)
{
    g_autoptr(xmlXPathContext) ctx = xmlXPathNewContext(doc);
    g_autoptr(xmlXPathObject) obj = ctx ? xmlXPathEvalExpression(BAD_CAST expr, ctx) : NULL;

    return obj && obj->nodesetval && obj->nodesetval->nodeNr > 0;
}

static char *
xpath_string(xmlDoc *doc, const char *expr)
{
    g_autoptr(xmlXPathContext) ctx = xmlXPathNewContext(doc);
    g_autoptr(xmlXPathObject) obj = ctx ? xmlXPathEvalExpression(BAD_CAST expr, ctx) : NULL;

    if (!obj || obj->type != XPATH_STRING || !obj->stringval || !*obj->stringval)
        return NULL;
    return g_strdup((const char *)obj->stringval);
}

/* Whether the QEMU binary knows the sev-snp-guest object (QEMU >= 9.1). */
static gboolean
qemu_has_snp(const char *emulator)
{
    const char *argv[] = { emulator, "-object", "help", NULL };
    g_autofree char *out = NULL;
    int status = 0;

    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out,
                      NULL, &status, NULL))
        return FALSE;
    return out && strstr(out, "sev-snp-guest") != NULL;
}

/* Whether a QEMU firmware descriptor offers the amd-sev-snp feature (the
 * stateless AmdSev build libvirt picks for SNP). */
static gboolean
have_snp_firmware(void)
{
    static const char *const dirs[] = { "/etc/qemu/firmware", "/usr/share/qemu/firmware" };

    for (gsize i = 0; i < G_N_ELEMENTS(dirs); i++) {
        g_autoptr(GDir) dir = g_dir_open(dirs[i], 0, NULL);
        const char *entry;

        while (dir && (entry = g_dir_read_name(dir))) {
            g_autofree char *path = g_build_filename(dirs[i], entry, NULL);
            g_autofree char *text = NULL;
            gsize len;

            if (!g_str_has_suffix(entry, ".json") ||
                !g_file_get_contents(path, &text, &len, NULL) || len > 65536)
                continue;
            if (strstr(text, "\"amd-sev-snp\""))
                return TRUE;
        }
    }
    return FALSE;
}

gboolean
snpg_virt_check_snp_host(SnpgVirt *virt, GError **error)
{
    g_autoptr(GPtrArray) missing = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *caps = NULL;
    g_autoptr(xmlDoc) doc = NULL;
    unsigned long version = 0;

    if (lv.ConnectGetLibVersion(virt->conn, &version) < 0) {
        set_virt_error(error, SNPG_VIRT_ERROR_FAILED, _("Cannot read libvirt's version"));
        return FALSE;
    }
    if (version < SNPG_VIRT_SNP_MIN_LIBVIRT)
        g_ptr_array_add(missing, g_strdup_printf(
            _("libvirt >= 10.5 (this host has %lu.%lu.%lu, which knows no "
              "<launchSecurity type='sev-snp'>)"),
            version / 1000000, version / 1000 % 1000, version % 1000));
    {
        char *raw = lv.ConnectGetDomainCapabilities(virt->conn, NULL, "x86_64", "q35", "kvm", 0);

        if (raw) {
            caps = g_strdup(raw);
            free(raw);
        }
        lv.ResetLastError();
    }
    if (caps)
        doc = xmlReadMemory(caps, (int)strlen(caps), "domcapabilities.xml", NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc) {
        g_ptr_array_add(missing, g_strdup(
            _("KVM domain capabilities for x86_64 q35 (libvirt reports none: no usable KVM "
              "or QEMU)")));
    } else {
        g_autofree char *emulator = xpath_string(doc, "string(/domainCapabilities/path)");

        if (!emulator || !qemu_has_snp(emulator))
            g_ptr_array_add(missing, g_strdup_printf(
                _("QEMU >= 9.1 with the sev-snp-guest object (%s has none)"),
                emulator ? emulator : "qemu-system-x86_64"));
        if (!xpath_any(doc, "/domainCapabilities/features/launchSecurity"
                            "/enum[@name='sectype']/value[text()='sev-snp']"))
            g_ptr_array_add(missing, g_strdup(
                _("'sev-snp' in the domain capabilities' launchSecurity sectypes (host "
                  "kernel >= 6.11 with KVM SEV-SNP enabled)")));
    }
    if (!have_snp_firmware())
        g_ptr_array_add(missing, g_strdup(
            _("a stateless AmdSev OVMF with a firmware descriptor listing amd-sev-snp "
              "(e.g. Debian's ovmf-amdsev)")));
    if (missing->len == 0)
        return TRUE;
    g_ptr_array_add(missing, NULL);
    {
        g_autofree char *list = g_strjoinv("; ", (char **)missing->pdata);

        g_set_error(error, SNPG_VIRT_ERROR, SNPG_VIRT_ERROR_UNSUPPORTED,
                    _("This host cannot run SEV-SNP guests; it lacks: %s. Use --emulate to "
                      "run the same VM on the simulated secure processor."), list);
    }
    return FALSE;
}
