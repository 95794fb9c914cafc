#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "i18n.h"
#include "secret.h"

G_DEFINE_QUARK(snpg-secret-error-quark, snpg_secret_error)

/* Each secret owns whole pages: [guard][data pages][guard], the secret at
 * the end of its data pages. Locks are not counted (munlock of a page
 * unlocks it for everyone), so sharing a page with another allocation would
 * let its free unlock this key. The guard pages (PROT_NONE) turn an overrun
 * or underrun into a fault instead of a read of a neighbour. */
struct _SnpgSecret {
    gsize len;
    gsize map_len;      /* the whole mapping, guard pages included */
    gboolean locked;
    guint8 data[];
};

static gsize
page_size(void)
{
    static gsize size;

    if (g_once_init_enter(&size))
        g_once_init_leave(&size, (gsize)sysconf(_SC_PAGESIZE));
    return size;
}

/* The system call, not libc's mlock(): AddressSanitizer intercepts mlock()
 * as a no-op that reports success, which would leave sanitizer builds with
 * unlocked secrets that claim to be locked. */
static gboolean
lock_pages(void *addr, gsize len)
{
    return syscall(SYS_mlock, addr, len) == 0;
}

SnpgSecret *
snpg_secret_new(gsize len)
{
    gsize page = page_size();
    gsize need = sizeof(SnpgSecret) + len;
    gsize data_len, offset;
    guint8 *map;
    SnpgSecret *secret;

    g_return_val_if_fail(len > 0 && len <= SNPG_SECRET_MAX, NULL);
    data_len = (need + page - 1) / page * page;
    map = mmap(NULL, data_len + 2 * page, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED)
        g_error("cannot map %" G_GSIZE_FORMAT " bytes for a secret: %s",
                data_len + 2 * page, g_strerror(errno));   /* as g_malloc aborts */
    if (mprotect(map, page, PROT_NONE) != 0 ||
        mprotect(map + page + data_len, page, PROT_NONE) != 0)
        g_error("cannot protect the guard pages of a secret: %s", g_strerror(errno));

    /* The data ends (up to alignment) where the trailing guard page starts. */
    offset = (data_len - need) & ~(gsize)(G_ALIGNOF(SnpgSecret) - 1);
    secret = (SnpgSecret *)(map + page + offset);
    secret->len = len;
    secret->map_len = data_len + 2 * page;
    /* Best effort, as cryptsetup does: RLIMIT_MEMLOCK may be small; the wipe
     * still happens. Kept out of core dumps either way. */
    secret->locked = lock_pages(map + page, data_len);
    (void)madvise(map + page, data_len, MADV_DONTDUMP);
    return secret;
}

SnpgSecret *
snpg_secret_new_from_data(const void *data, gsize len)
{
    SnpgSecret *secret = snpg_secret_new(len);

    if (secret)
        memcpy(secret->data, data, len);
    return secret;
}

SnpgSecret *
snpg_secret_new_from_file(const char *path, GError **error)
{
    g_autoptr(SnpgSecret) secret = NULL;
    struct stat st;
    gsize got = 0;
    int fd;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int saved = errno;
        g_set_error(error, SNPG_SECRET_ERROR, SNPG_SECRET_ERROR_IO,
                    _("Cannot open key file '%s': %s"), path, g_strerror(saved));
        return NULL;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
        st.st_size > SNPG_SECRET_MAX) {
        g_set_error(error, SNPG_SECRET_ERROR, SNPG_SECRET_ERROR_SIZE,
                    _("Key file '%s' must be a regular file of 1 to %d bytes"),
                    path, SNPG_SECRET_MAX);
        close(fd);
        return NULL;
    }
    /* Read straight into locked memory: no intermediate copies to wipe. */
    secret = snpg_secret_new((gsize)st.st_size);
    while (got < secret->len) {
        ssize_t n = read(fd, secret->data + got, secret->len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int saved = n < 0 ? errno : EIO;
            g_set_error(error, SNPG_SECRET_ERROR, SNPG_SECRET_ERROR_IO,
                        _("Cannot read key file '%s': %s"), path, g_strerror(saved));
            close(fd);
            return NULL;
        }
        got += (gsize)n;
    }
    close(fd);
    return g_steal_pointer(&secret);
}

guint8 *
snpg_secret_data(SnpgSecret *secret)
{
    return secret->data;
}

gsize
snpg_secret_len(const SnpgSecret *secret)
{
    return secret->len;
}

gboolean
snpg_secret_is_locked(const SnpgSecret *secret)
{
    return secret->locked;
}

gboolean
snpg_secret_equal(const SnpgSecret *a, const SnpgSecret *b)
{
    return a->len == b->len && CRYPTO_memcmp(a->data, b->data, a->len) == 0;
}

void
snpg_secret_free(SnpgSecret *secret)
{
    gsize page = page_size();
    guint8 *map;
    gsize map_len;

    if (!secret)
        return;
    /* The mapping starts one guard page below the secret's data page. */
    map = (guint8 *)((guintptr)secret / page * page) - page;
    map_len = secret->map_len;
    OPENSSL_cleanse(map + page, map_len - 2 * page);
    /* munmap drops the lock with the pages; no munlock that could touch
     * anything else. */
    munmap(map, map_len);
}

void
snpg_wipe_array_(void *ptr, gsize len)
{
    OPENSSL_cleanse(ptr, len);
}
