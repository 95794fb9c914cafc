/* Report backends of the guest agent (see psp.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <linux/sev-guest.h>

#include "buf.h"
#include "certtable.h"
#include "file.h"
#include "i18n.h"
#include "proto.h"
#include "psp.h"
#include "sim-identity.h"

G_DEFINE_QUARK(snpg-psp-error-quark, snpg_psp_error)

#define DEFAULT_SEV_GUEST "/dev/sev-guest"
#define DEFAULT_TSM "/sys/kernel/config/tsm/report"
/* MSG_REPORT_RSP (ABI 56860): status, report_size, 24 reserved, report. */
#define REPORT_RSP_HEADER 0x20
/* First guess for the extended report's certificate table: 4 pages; the
 * VMM says how much it needs when that is too little. */
#define CERTS_GUESS (4 * 4096)

typedef enum { BACKEND_SEV_GUEST, BACKEND_TSM, BACKEND_SIM } Backend;

struct _SnpgPsp {
    Backend backend;
    char *path;
    char *name;
    SnpgSimIdentity *identity;
};

SnpgPsp *
snpg_psp_open(const char *spec, GError **error)
{
    g_autoptr(SnpgPsp) psp = g_new0(SnpgPsp, 1);

    if (g_str_equal(spec, "sev-guest") || g_str_has_prefix(spec, "sev-guest:")) {
        psp->backend = BACKEND_SEV_GUEST;
        psp->path = g_strdup(spec[9] ? spec + 10 : DEFAULT_SEV_GUEST);
    } else if (g_str_equal(spec, "tsm") || g_str_has_prefix(spec, "tsm:")) {
        psp->backend = BACKEND_TSM;
        psp->path = g_strdup(spec[3] ? spec + 4 : DEFAULT_TSM);
    } else if (g_str_has_prefix(spec, "sim:") && spec[4]) {
        psp->backend = BACKEND_SIM;
        psp->path = g_strdup(spec + 4);
        if (!(psp->identity = snpg_sim_identity_load(psp->path, error)))
            return NULL;
    } else {
        g_set_error(error, SNPG_PSP_ERROR, SNPG_PSP_ERROR_SPEC,
                    _("Unknown report backend '%s' (use sev-guest, tsm or sim:FILE)"), spec);
        return NULL;
    }
    psp->name = g_strdup(spec);
    return g_steal_pointer(&psp);
}

void
snpg_psp_free(SnpgPsp *psp)
{
    if (!psp)
        return;
    g_free(psp->path);
    g_free(psp->name);
    g_clear_pointer(&psp->identity, snpg_sim_identity_free);
    g_free(psp);
}

const char *
snpg_psp_name(const SnpgPsp *psp)
{
    return psp->name;
}

/* The firmware's MSG_REPORT_RSP: status 0, size 1184, then the report. */
static GBytes *
parse_report_rsp(const guint8 *data, gsize len, GError **error)
{
    SnpgBuf b;
    guint32 status, size;
    const guint8 *report;

    snpg_buf_init(&b, data, len);
    if (snpg_buf_get_u32le(&b, &status) < 0 || snpg_buf_get_u32le(&b, &size) < 0 ||
        snpg_buf_skip(&b, REPORT_RSP_HEADER - 8) < 0) {
        g_set_error(error, SNPG_PSP_ERROR, SNPG_PSP_ERROR_MALFORMED,
                    _("The firmware's report response is truncated"));
        return NULL;
    }
    if (status != 0) {
        g_set_error(error, SNPG_PSP_ERROR, SNPG_PSP_ERROR_FAILED,
                    _("The firmware refused the report request (status 0x%x)"), status);
        return NULL;
    }
    if (size != SNPG_PROTO_REPORT_LEN || snpg_buf_peek_ptr(&b, &report, size) < 0) {
        g_set_error(error, SNPG_PSP_ERROR, SNPG_PSP_ERROR_MALFORMED,
                    _("The firmware returned a report of %u bytes instead of %d"),
                    size, SNPG_PROTO_REPORT_LEN);
        return NULL;
    }
    return g_bytes_new(report, size);
}

static gboolean
sev_guest_report(SnpgPsp *psp, const guint8 report_data[64], guint vmpl,
                 GBytes **ret_report, GBytes **ret_certs, GError **error)
{
    struct snp_ext_report_req ext = { 0 };
    struct snp_report_resp resp = { 0 };
    struct snp_guest_request_ioctl req = { 0 };
    guint8 *certs = NULL;     /* g_aligned_alloc0: page-aligned for the kernel */
    guint32 certs_len = CERTS_GUESS;
    GBytes *report;
    int fd, r;

    fd = open(psp->path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        int saved = errno;
        g_set_error(error, SNPG_PSP_ERROR, SNPG_PSP_ERROR_UNAVAILABLE,
                    _("Cannot open '%s': %s"), psp->path, g_strerror(saved));
        return FALSE;
    }
    memcpy(ext.data.user_data, report_data, 64);
    ext.data.vmpl = vmpl;
    for (int attempt = 0; attempt < 2; attempt++) {
        g_aligned_free(certs);
        /* The kernel wants page-aligned, page-multiple certificate buffers. */
        certs_len = (certs_len + 4095) & ~4095u;
        certs = g_aligned_alloc0(certs_len, 1, 4096);
        ext.certs_address = (guint64)(guintptr)certs;
        ext.certs_len = certs_len;
        req = (struct snp_guest_request_ioctl){ .msg_version = 1,
                                                .req_data = (guint64)(guintptr)&ext,
                                                .resp_data = (guint64)(guintptr)&resp };
        r = ioctl(fd, SNP_GET_EXT_REPORT, &req);
        if (r == 0 || req.vmm_error != SNP_GUEST_VMM_ERR_INVALID_LEN)
            break;
        /* Too small: the VMM tells the size it needs; bounded by the protocol. */
        if (ext.certs_len == 0 || ext.certs_len > SNPG_PROTO_CERTS_MAX) {
            r = -1;
            break;
        }
        certs_len = ext.certs_len;
    }
    if (r != 0) {
        /* Without an extended report (no certificates from the host): the plain one. */
        struct snp_report_req plain = ext.data;
        g_clear_pointer(&certs, g_aligned_free);
        req = (struct snp_guest_request_ioctl){ .msg_version = 1,
                                                .req_data = (guint64)(guintptr)&plain,
                                                .resp_data = (guint64)(guintptr)&resp };
        r = ioctl(fd, SNP_GET_REPORT, &req);
    }
    close(fd);
    if (r != 0) {
        g_aligned_free(certs);
        g_set_error(error, SNPG_PSP_ERROR, SNPG_PSP_ERROR_FAILED,
                    _("The report request on '%s' failed (firmware error 0x%x, VMM error 0x%x)"),
                    psp->path, req.fw_error, req.vmm_error);
        return FALSE;
    }
    if (!(report = parse_report_rsp(resp.data, sizeof(resp.data), error))) {
        g_aligned_free(certs);
        return FALSE;
    }
    *ret_report = report;
    /* An all-zero table means the host supplied no certificates. */
    *ret_certs = NULL;
    if (certs) {
        gboolean any = FALSE;
        for (guint32 i = 0; i < certs_len && !any; i++)
            any = certs[i] != 0;
        if (any)
            *ret_certs = g_bytes_new(certs, certs_len);
        g_aligned_free(certs);
    }
    return TRUE;
}

static gboolean
write_attr(const char *dir, const char *attr, const void *data, gsize len, GError **error)
{
    g_autofree char *path = g_build_filename(dir, attr, NULL);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    gboolean ok;

    if (fd < 0) {
        int saved = errno;
        g_set_error(error, SNPG_PSP_ERROR, SNPG_PSP_ERROR_UNAVAILABLE,
                    _("Cannot open '%s': %s"), path, g_strerror(saved));
        return FALSE;
    }
    ok = write(fd, data, len) == (gssize)len;
    close(fd);
    if (!ok)
        g_set_error(error, SNPG_PSP_ERROR, SNPG_PSP_ERROR_FAILED,
                    _("Cannot write '%s'"), path);
    return ok;
}

/* configfs attributes are read in one go; bounded by max. */
static GBytes *
read_attr(const char *dir, const char *attr, gsize max, GError **error)
{
    g_autofree char *path = g_build_filename(dir, attr, NULL);
    g_autoptr(GError) local = NULL;
    GBytes *data = snpg_file_read(path, max, &local);

    if (data)
        return data;
    if (g_error_matches(local, SNPG_FILE_ERROR, SNPG_FILE_ERROR_TOO_LARGE))
        g_set_error_literal(error, SNPG_PSP_ERROR, SNPG_PSP_ERROR_MALFORMED, local->message);
    else if (g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_set_error_literal(error, SNPG_PSP_ERROR, SNPG_PSP_ERROR_UNAVAILABLE, local->message);
    else
        g_set_error_literal(error, SNPG_PSP_ERROR, SNPG_PSP_ERROR_FAILED, local->message);
    return NULL;
}

static gboolean
tsm_report(SnpgPsp *psp, const guint8 report_data[64], guint vmpl,
           GBytes **ret_report, GBytes **ret_certs, GError **error)
{
    g_autofree char *name = g_strdup_printf("snpguard-%d-%" G_GINT64_FORMAT, (int)getpid(),
                                            g_get_monotonic_time());
    g_autofree char *entry = g_build_filename(psp->path, name, NULL);
    g_autofree char *level = g_strdup_printf("%u", vmpl);
    g_autoptr(GBytes) report = NULL;
    g_autoptr(GBytes) provider = NULL;
    g_autoptr(GBytes) certs = NULL;
    gboolean ok = FALSE;

    /* One configfs entry per request: no other writer can race on it. */
    if (g_mkdir(entry, 0700) < 0) {
        int saved = errno;
        g_set_error(error, SNPG_PSP_ERROR, SNPG_PSP_ERROR_UNAVAILABLE,
                    _("Cannot create the configfs-tsm entry '%s': %s"), entry, g_strerror(saved));
        return FALSE;
    }
    if ((provider = read_attr(entry, "provider", 64, NULL)) &&
        !g_str_has_prefix(g_bytes_get_data(provider, NULL), "sev_guest")) {
        g_set_error(error, SNPG_PSP_ERROR, SNPG_PSP_ERROR_UNAVAILABLE,
                    _("The configfs-tsm provider is not SEV-SNP"));
        goto out;
    }
    if ((vmpl && !write_attr(entry, "privlevel", level, strlen(level), error)) ||
        !write_attr(entry, "inblob", report_data, 64, error) ||
        !(report = read_attr(entry, "outblob", SNPG_PROTO_REPORT_LEN, error)))
        goto out;
    if (g_bytes_get_size(report) != SNPG_PROTO_REPORT_LEN) {
        g_set_error(error, SNPG_PSP_ERROR, SNPG_PSP_ERROR_MALFORMED,
                    _("configfs-tsm returned a report of %zu bytes instead of %d"),
                    g_bytes_get_size(report), SNPG_PROTO_REPORT_LEN);
        goto out;
    }
    /* The certificate table is optional: hosts need not provide one. */
    certs = read_attr(entry, "auxblob", SNPG_PROTO_CERTS_MAX, NULL);
    *ret_report = g_steal_pointer(&report);
    *ret_certs = certs && g_bytes_get_size(certs) ? g_steal_pointer(&certs) : NULL;
    ok = TRUE;
out:
    g_rmdir(entry);
    return ok;
}

gboolean
snpg_psp_get_report(SnpgPsp *psp, const guint8 report_data[64], guint vmpl,
                    GBytes **ret_report, GBytes **ret_certs, GError **error)
{
    switch (psp->backend) {
    case BACKEND_SEV_GUEST:
        return sev_guest_report(psp, report_data, vmpl, ret_report, ret_certs, error);
    case BACKEND_TSM:
        return tsm_report(psp, report_data, vmpl, ret_report, ret_certs, error);
    case BACKEND_SIM: {
        /* Like a host with an extended-report configuration: offer the VCEK. */
        g_auto(SnpgCertTable) table = { 0 };
        if (!snpg_sim_identity_report(psp->identity, report_data, vmpl, ret_report, error))
            return FALSE;
        table.certs[SNPG_CERTTABLE_VCEK] = snpg_sim_identity_get_vcek(psp->identity);
        table.certs[SNPG_CERTTABLE_ASK] = snpg_sim_identity_get_ask(psp->identity);
        *ret_certs = table.certs[SNPG_CERTTABLE_VCEK] ? snpg_certtable_build(&table) : NULL;
        return TRUE;
    }
    }
    g_assert_not_reached();
}
