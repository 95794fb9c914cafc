#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "i18n.h"
#include "transport.h"

G_DEFINE_QUARK(snpg-transport-error-quark, snpg_transport_error)

char *
snpg_transport_unix_path(const char *address, GError **error)
{
    struct sockaddr_un sun;

    if (!g_str_has_prefix(address, "unix:") || !address[5]) {
        g_set_error(error, SNPG_TRANSPORT_ERROR, SNPG_TRANSPORT_ERROR_ADDRESS,
                    _("Unsupported address '%s' (expected unix:PATH)"), address);
        return NULL;
    }
    if (strlen(address + 5) >= sizeof(sun.sun_path)) {
        g_set_error(error, SNPG_TRANSPORT_ERROR, SNPG_TRANSPORT_ERROR_ADDRESS,
                    _("The socket path in '%s' is too long"), address);
        return NULL;
    }
    return g_strdup(address + 5);
}

static gboolean
fill_sockaddr(const char *address, struct sockaddr_un *sun, GError **error)
{
    g_autofree char *path = snpg_transport_unix_path(address, error);

    if (!path)
        return FALSE;
    memset(sun, 0, sizeof(*sun));
    sun->sun_family = AF_UNIX;
    g_strlcpy(sun->sun_path, path, sizeof(sun->sun_path));
    return TRUE;
}

/* errno is read first: nothing may run between the failing call and here. */
#define set_io_error(error, fmt, what)                                               \
    do {                                                                             \
        int saved_ = errno;                                                          \
        g_set_error((error), SNPG_TRANSPORT_ERROR, SNPG_TRANSPORT_ERROR_IO, (fmt),    \
                    (what), g_strerror(saved_));                                     \
    } while (0)

int
snpg_transport_listen(const char *address, GError **error)
{
    struct sockaddr_un sun;
    struct stat st;
    int fd;

    if (!fill_sockaddr(address, &sun, error))
        return -1;
    /* Replace a stale socket from an earlier run, never another file. */
    if (lstat(sun.sun_path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(sun.sun_path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        set_io_error(error, _("Cannot create a socket for '%s': %s"), address);
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(fd, 64) < 0) {
        set_io_error(error, _("Cannot listen on '%s': %s"), address);
        close(fd);
        return -1;
    }
    return fd;
}

int
snpg_transport_accept(int listen_fd, gint64 deadline, GError **error)
{
    for (;;) {
        struct pollfd pfd = { .fd = listen_fd, .events = POLLIN };
        gint64 now = g_get_monotonic_time();
        int timeout_ms, r, fd;

        if (deadline != G_MAXINT64 && now >= deadline) {
            g_set_error(error, SNPG_TRANSPORT_ERROR, SNPG_TRANSPORT_ERROR_TIMEOUT,
                        _("No peer connected in time"));
            return -1;
        }
        timeout_ms = deadline == G_MAXINT64 ? -1 : (int)MIN((deadline - now + 999) / 1000, G_MAXINT);
        r = poll(&pfd, 1, timeout_ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            set_io_error(error, _("Cannot wait for a peer on %s: %s"), "socket");
            return -1;
        }
        if (r == 0)
            continue;
        fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0)
            return fd;
        if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED) {
            set_io_error(error, _("Cannot accept a peer on %s: %s"), "socket");
            return -1;
        }
    }
}

int
snpg_transport_connect(const char *address, GError **error)
{
    struct sockaddr_un sun;
    int fd;

    if (!fill_sockaddr(address, &sun, error))
        return -1;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        set_io_error(error, _("Cannot create a socket for '%s': %s"), address);
        return -1;
    }
    while (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        if (errno == EINTR)
            continue;
        set_io_error(error, _("Cannot connect to '%s': %s"), address);
        close(fd);
        return -1;
    }
    return fd;
}

int
snpg_transport_open_device(const char *path, GError **error)
{
    int fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);

    if (fd < 0)
        set_io_error(error, _("Cannot open '%s': %s"), path);
    return fd;
}
