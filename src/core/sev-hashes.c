/* SEV hashes table and streamed file hashing (see sev-hashes.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "autocleanups.h"
#include "buf.h"
#include "i18n.h"
#include "sev-hashes.h"

G_DEFINE_QUARK(snpg-sev-hashes-error-quark, snpg_sev_hashes_error)

/* Large reads keep syscall overhead negligible next to SHA-256. */
#define CHUNK_SIZE (1024 * 1024)
#define TABLE_LENGTH 168
#define ENTRY_LENGTH 50

/* GUIDs in on-disk (EFI) byte order. */
static const guint8 table_guid[16] = {   /* 9438d606-4f22-4cc9-b479-a793d411fd21 */
    0x06, 0xd6, 0x38, 0x94, 0x22, 0x4f, 0xc9, 0x4c,
    0xb4, 0x79, 0xa7, 0x93, 0xd4, 0x11, 0xfd, 0x21 };
static const guint8 cmdline_guid[16] = {   /* 97d02dd8-bd20-4c94-aa78-e7714d36ab2a */
    0xd8, 0x2d, 0xd0, 0x97, 0x20, 0xbd, 0x94, 0x4c,
    0xaa, 0x78, 0xe7, 0x71, 0x4d, 0x36, 0xab, 0x2a };
static const guint8 initrd_guid[16] = {   /* 44baf731-3a2f-4bd7-9af1-41e29169781d */
    0x31, 0xf7, 0xba, 0x44, 0x2f, 0x3a, 0xd7, 0x4b,
    0x9a, 0xf1, 0x41, 0xe2, 0x91, 0x69, 0x78, 0x1d };
static const guint8 kernel_guid[16] = {   /* 4de79437-abd2-427f-b835-d5b172d2045b */
    0x37, 0x94, 0xe7, 0x4d, 0xd2, 0xab, 0x7f, 0x42,
    0xb8, 0x35, 0xd5, 0xb1, 0x72, 0xd2, 0x04, 0x5b };

static gboolean
crypto_failed(GError **error)
{
    g_set_error(error, SNPG_SEV_HASHES_ERROR, SNPG_SEV_HASHES_ERROR_FAILED,
                _("Computing a SHA-256 digest failed."));
    return FALSE;
}

static void
close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
}

gboolean
snpg_sev_hashes_file(const char *path, const char *what,
                     guint8 ret_digest[SNPG_SEV_HASHES_DIGEST_SIZE], GError **error)
{
    g_autoptr(EVP_MD) md = EVP_MD_fetch(NULL, "SHA256", NULL);
    g_autoptr(EVP_MD_CTX) ctx = EVP_MD_CTX_new();
    g_autofree guint8 *chunk = NULL;
    __attribute__((cleanup(close_fd))) int fd = -1;
    guint8 digest[SNPG_SEV_HASHES_DIGEST_SIZE];
    unsigned int len = 0;

    if (!md || !ctx || !EVP_DigestInit_ex2(ctx, md, NULL))
        return crypto_failed(error);
    if (path) {
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            int err = errno;
            g_set_error(error, SNPG_SEV_HASHES_ERROR, SNPG_SEV_HASHES_ERROR_IO,
                        _("Cannot open the %s '%s': %s."), what, path, g_strerror(err));
            return FALSE;
        }
        (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        chunk = g_malloc(CHUNK_SIZE);
        for (;;) {
            ssize_t n = read(fd, chunk, CHUNK_SIZE);

            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                int err = errno;
                g_set_error(error, SNPG_SEV_HASHES_ERROR, SNPG_SEV_HASHES_ERROR_IO,
                            _("Cannot read the %s '%s': %s."), what, path, g_strerror(err));
                return FALSE;
            }
            if (n == 0)
                break;
            if (!EVP_DigestUpdate(ctx, chunk, (size_t)n))
                return crypto_failed(error);
        }
    }
    if (!EVP_DigestFinal_ex(ctx, digest, &len) || len != sizeof(digest))
        return crypto_failed(error);
    memcpy(ret_digest, digest, sizeof(digest));
    return TRUE;
}

gboolean
snpg_sev_hashes_cmdline(const char *append, guint8 ret_digest[SNPG_SEV_HASHES_DIGEST_SIZE],
                        GError **error)
{
    const char *s = append ? append : "";
    gsize n = strlen(s);
    unsigned int len = 0;
    guint8 digest[SNPG_SEV_HASHES_DIGEST_SIZE];
    g_autoptr(EVP_MD) md = EVP_MD_fetch(NULL, "SHA256", NULL);

    /* QEMU passes the string on as the guest's command line: bytes that are
     * not UTF-8 would be hashed one way here and shown another way there. */
    if (!g_utf8_validate(s, (gssize)n, NULL)) {
        g_set_error(error, SNPG_SEV_HASHES_ERROR, SNPG_SEV_HASHES_ERROR_INPUT,
                    _("The kernel command line is not valid UTF-8."));
        return FALSE;
    }
    /* The hash covers the terminating NUL, as QEMU's does. */
    if (!md || !EVP_Digest(s, n + 1, digest, &len, md, NULL) || len != sizeof(digest))
        return crypto_failed(error);
    memcpy(ret_digest, digest, sizeof(digest));
    return TRUE;
}

static guint8 *
put_entry(guint8 *p, const guint8 guid[16], const guint8 digest[SNPG_SEV_HASHES_DIGEST_SIZE])
{
    memcpy(p, guid, 16);
    snpg_put_u16le(p + 16, ENTRY_LENGTH);
    memcpy(p + 18, digest, SNPG_SEV_HASHES_DIGEST_SIZE);
    return p + ENTRY_LENGTH;
}

void
snpg_sev_hashes_table(const SnpgSevHashes *hashes, guint8 ret_table[SNPG_SEV_HASHES_TABLE_SIZE])
{
    guint8 *p = ret_table;

    G_STATIC_ASSERT(16 + 2 + 3 * ENTRY_LENGTH == TABLE_LENGTH);
    memset(ret_table, 0, SNPG_SEV_HASHES_TABLE_SIZE);
    memcpy(p, table_guid, 16);
    snpg_put_u16le(p + 16, TABLE_LENGTH);
    p += 18;
    p = put_entry(p, cmdline_guid, hashes->cmdline);
    p = put_entry(p, initrd_guid, hashes->initrd);
    put_entry(p, kernel_guid, hashes->kernel);
}

typedef struct {
    char *path;
    const char *what;
    guint8 digest[SNPG_SEV_HASHES_DIGEST_SIZE];
    GError *error;
    GThread *thread;
} FileJob;

struct SnpgSevHashesJob {
    guint8 cmdline[SNPG_SEV_HASHES_DIGEST_SIZE];
    FileJob files[2];   /* kernel, initrd */
};

static gpointer
file_job_run(gpointer data)
{
    FileJob *job = data;

    snpg_sev_hashes_file(job->path, job->what, job->digest, &job->error);
    return NULL;
}

SnpgSevHashesJob *
snpg_sev_hashes_start(const char *kernel, const char *initrd, const char *append, GError **error)
{
    SnpgSevHashesJob *job;

    g_return_val_if_fail(kernel != NULL, NULL);

    job = g_new0(SnpgSevHashesJob, 1);
    /* The command line is checked first, before any file is read. */
    if (!snpg_sev_hashes_cmdline(append, job->cmdline, error)) {
        g_free(job);
        return NULL;
    }
    job->files[0] = (FileJob){ .path = g_strdup(kernel), .what = "kernel" };
    job->files[1] = (FileJob){ .path = g_strdup(initrd), .what = "initrd" };
    for (guint i = 0; i < G_N_ELEMENTS(job->files); i++) {
        if (!job->files[i].path)
            continue;
        /* Without a thread the file is simply hashed in finish(). */
        job->files[i].thread = g_thread_try_new("snpg-hash", file_job_run, &job->files[i], NULL);
    }
    return job;
}

gboolean
snpg_sev_hashes_finish(SnpgSevHashesJob *job, SnpgSevHashes *ret_hashes, GError **error)
{
    SnpgSevHashes hashes = { 0 };
    gboolean ok = TRUE;

    for (guint i = 0; i < G_N_ELEMENTS(job->files); i++) {
        FileJob *f = &job->files[i];

        if (f->thread)
            g_thread_join(f->thread);
        else
            file_job_run(f);
    }
    for (guint i = 0; i < G_N_ELEMENTS(job->files) && ok; i++) {
        if (job->files[i].error) {
            g_propagate_error(error, g_steal_pointer(&job->files[i].error));
            ok = FALSE;
        }
    }
    if (ok) {
        memcpy(hashes.cmdline, job->cmdline, sizeof(hashes.cmdline));
        memcpy(hashes.kernel, job->files[0].digest, sizeof(hashes.kernel));
        memcpy(hashes.initrd, job->files[1].digest, sizeof(hashes.initrd));
        *ret_hashes = hashes;
    }
    for (guint i = 0; i < G_N_ELEMENTS(job->files); i++) {
        g_clear_error(&job->files[i].error);
        g_free(job->files[i].path);
    }
    g_free(job);
    return ok;
}
