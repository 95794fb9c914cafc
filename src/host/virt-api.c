/* libvirt's functions, loaded on first use (see virt-api.h). */
#include "config.h"

#include <dlfcn.h>
#include <string.h>

#include <glib/gi18n.h>

#include "virt-api.h"
#include "virt.h"

#define LIBVIRT_SONAME "libvirt.so.0"

static SnpgVirtApi table;
G_LOCK_DEFINE_STATIC(table);

const SnpgVirtApi *
snpg_virt_api(void)
{
    return &table;
}

const SnpgVirtApi *
snpg_virt_api_load(GError **error)
{
    static const char *const names[] = {
#define SNPG_VIRT_NAME(name) "vir" #name,
        SNPG_VIRT_FUNCTIONS(SNPG_VIRT_NAME)
#undef SNPG_VIRT_NAME
        "virConnectAuthPtrDefault",
    };
    SnpgVirtApi loaded = { 0 };
    void **slots = (void **)&loaded;
    void *handle;

    G_STATIC_ASSERT(sizeof(loaded) == G_N_ELEMENTS(names) * sizeof(void *));
    G_LOCK(table);
    if (table.ConnectOpen) {
        G_UNLOCK(table);
        return &table;
    }
    if (!(handle = dlopen(LIBVIRT_SONAME, RTLD_NOW | RTLD_LOCAL))) {
        G_UNLOCK(table);
        g_set_error(error, SNPG_VIRT_ERROR, SNPG_VIRT_ERROR_CONNECT,
                    _("Cannot load %s (install libvirt0): %s"), LIBVIRT_SONAME, dlerror());
        return NULL;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
        if (!(slots[i] = dlsym(handle, names[i]))) {
            G_UNLOCK(table);
            g_set_error(error, SNPG_VIRT_ERROR, SNPG_VIRT_ERROR_CONNECT, _("%s lacks %s"),
                        LIBVIRT_SONAME, names[i]);
            return NULL;
        }
    }
    table = loaded;
    G_UNLOCK(table);
    return &table;
}
