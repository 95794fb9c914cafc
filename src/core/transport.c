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

/* Milliseconds until the deadline for poll(), at most cap_ms (-1: none). */
static int
poll_timeout_ms(gint64 deadline, int cap_ms)
{
    gint64 left;

    if (deadline == G_MAXINT64)
        return cap_ms;
    left = (deadline - g_get_monotonic_time() + 999) / 1000;
    left = MAX(left, 0);
    return cap_ms >= 0 ? (int)MIN(left, cap_ms) : (int)MIN(left, G_MAXINT);
}

static gboolean
deadline_passed(gint64 deadline)
{
    return deadline != G_MAXINT64 && g_get_monotonic_time() >= deadline;
}

/* How often a full backlog is retried: a unix socket cannot be polled for a
 * free slot (a non-blocking connect() fails with EAGAIN rather than going
 * on in the background). */
#define CONNECT_RETRY_MS 20

static gboolean
connect_timed_out(const char *address, GError **error)
{
    g_set_error(error, SNPG_TRANSPORT_ERROR, SNPG_TRANSPORT_ERROR_TIMEOUT,
                _("Cannot connect to '%s': it did not accept the connection in time"), address);
    return FALSE;
}

/* A connection in progress (EINPROGRESS): its outcome, by the deadline. */
static gboolean
finish_connect(int fd, const char *address, gint64 deadline, GError **error)
{
    for (;;) {
        struct pollfd pfd = { .fd = fd, .events = POLLOUT };
        int so_error = 0, r;
        socklen_t len = sizeof(so_error);

        if (deadline_passed(deadline))
            return connect_timed_out(address, error);
        r = poll(&pfd, 1, poll_timeout_ms(deadline, -1));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            set_io_error(error, _("Cannot connect to '%s': %s"), address);
            return FALSE;
        }
        if (r == 0)
            continue;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) < 0)
            so_error = errno;
        if (so_error) {
            errno = so_error;
            set_io_error(error, _("Cannot connect to '%s': %s"), address);
            return FALSE;
        }
        return TRUE;
    }
}

int
snpg_transport_connect(const char *address, gint64 deadline, GError **error)
{
    struct sockaddr_un sun;
    int fd, flags;

    if (!fill_sockaddr(address, &sun, error))
        return -1;
    /* Non-blocking, so that a peer that never accepts cannot hold us past
     * the deadline. */
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        set_io_error(error, _("Cannot create a socket for '%s': %s"), address);
        return -1;
    }
    while (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        if (errno == EINTR)
            continue;
        if (errno == EINPROGRESS) {
            if (!finish_connect(fd, address, deadline, error)) {
                close(fd);
                return -1;
            }
            break;
        }
        if (errno == EAGAIN && !deadline_passed(deadline)) {
            /* A full backlog: try again shortly. */
            g_usleep((gulong)poll_timeout_ms(deadline, CONNECT_RETRY_MS) * 1000);
            continue;
        }
        if (errno == EAGAIN)
            connect_timed_out(address, error);
        else
            set_io_error(error, _("Cannot connect to '%s': %s"), address);
        close(fd);
        return -1;
    }
    /* The protocol layer waits with poll() on either kind; callers have
     * always had a blocking descriptor. */
    flags = fcntl(fd, F_GETFL);
    if (flags >= 0)
        fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
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

/* virtio_console reports the missing host side with a level-triggered
 * POLLHUP, so poll() cannot sleep until it clears: look again this often. */
#define HANGUP_RECHECK_MS 100

gboolean
snpg_transport_wait_first_byte(int fd, gint64 deadline, GError **error)
{
    struct stat st;
    gboolean is_socket = fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);

    for (;;) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int r;

        if (deadline_passed(deadline)) {
            g_set_error(error, SNPG_TRANSPORT_ERROR, SNPG_TRANSPORT_ERROR_TIMEOUT,
                        _("No peer started a session in time"));
            return FALSE;
        }
        r = poll(&pfd, 1, poll_timeout_ms(deadline, -1));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            set_io_error(error, _("Cannot wait for a peer on %s: %s"), "stream");
            return FALSE;
        }
        if (r == 0)
            continue;
        if (is_socket) {
            guint8 byte;
            ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);

            if (n > 0)
                return TRUE;
            if (n == 0) {
                g_set_error(error, SNPG_TRANSPORT_ERROR, SNPG_TRANSPORT_ERROR_CLOSED,
                            _("The peer closed the connection before it started a session"));
                return FALSE;
            }
            if (errno == EAGAIN || errno == EINTR)
                continue;
            set_io_error(error, _("Cannot wait for a peer on %s: %s"), "socket");
            return FALSE;
        }
        if (pfd.revents & POLLNVAL) {
            g_set_error(error, SNPG_TRANSPORT_ERROR, SNPG_TRANSPORT_ERROR_IO,
                        _("Cannot wait for a peer on %s: %s"), "device", g_strerror(EBADF));
            return FALSE;
        }
        /* No peer yet (or it left again): not the end of the stream. */
        if (pfd.revents & (POLLHUP | POLLERR)) {
            g_usleep((gulong)poll_timeout_ms(deadline, HANGUP_RECHECK_MS) * 1000);
            continue;
        }
        if (pfd.revents & POLLIN)
            return TRUE;
    }
}
