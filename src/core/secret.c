#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "i18n.h"
#include "secret.h"

G_DEFINE_QUARK(snpg-secret-error-quark, snpg_secret_error)

struct _SnpgSecret {
    gsize len;
    gboolean locked;
    guint8 data[];
};

SnpgSecret *
snpg_secret_new(gsize len)
{
    SnpgSecret *secret;

    g_return_val_if_fail(len > 0 && len <= SNPG_SECRET_MAX, NULL);
    secret = g_malloc0(sizeof(*secret) + len);
    secret->len = len;
    /* Ignore failure: RLIMIT_MEMLOCK may be small; the wipe still happens. */
    secret->locked = mlock(secret, sizeof(*secret) + len) == 0;
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
    gsize total;

    if (!secret)
        return;
    total = sizeof(*secret) + secret->len;
    OPENSSL_cleanse(secret->data, secret->len);
    if (secret->locked)
        munlock(secret, total);
    g_free(secret);
}

void
snpg_wipe_array_(void *ptr, gsize len)
{
    OPENSSL_cleanse(ptr, len);
}
