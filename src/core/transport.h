/* Stream endpoints for the protocol: "unix:PATH" sockets and device paths.
 * Both the verifier and the agent use them; libvirt channels come in through
 * the host library as plain file descriptors. */
#pragma once

#include <glib.h>

#define SNPG_TRANSPORT_ERROR snpg_transport_error_quark()
GQuark snpg_transport_error_quark(void);
typedef enum {
    SNPG_TRANSPORT_ERROR_ADDRESS,   /* not a usable address */
    SNPG_TRANSPORT_ERROR_IO,
    SNPG_TRANSPORT_ERROR_TIMEOUT,
    SNPG_TRANSPORT_ERROR_CLOSED,    /* the peer left before it sent anything */
} SnpgTransportError;

/* "unix:PATH" -> PATH (newly allocated), or NULL with an error. */
char *snpg_transport_unix_path(const char *address, GError **error);

/* A listening unix socket at address (an old socket file there is replaced).
 * Returns the fd, or -1. */
int snpg_transport_listen(const char *address, GError **error);
/* Waits for one connection until the deadline (monotonic us; G_MAXINT64:
 * none). Returns the fd, or -1. */
int snpg_transport_accept(int listen_fd, gint64 deadline, GError **error);
/* Connects to "unix:PATH" by the deadline (monotonic us; G_MAXINT64: none):
 * a peer that listens but does not accept (a full backlog) cannot hold the
 * caller longer. Returns the fd, or -1. */
int snpg_transport_connect(const char *address, gint64 deadline, GError **error);
/* Opens a character device (a virtio-serial port) for reading and writing. */
int snpg_transport_open_device(const char *path, GError **error);

/* Waits until the peer on fd has sent the first byte of a session (nothing is
 * consumed), or the deadline passes (SNPG_TRANSPORT_ERROR_TIMEOUT).
 * On a character device, a hang-up means that no peer is connected yet: a
 * virtio-serial port without a host side reports POLLHUP (and read() returns
 * 0) until the host opens it. That is waited out, not taken for the end of
 * the stream. On a socket, a peer that closes before it sent anything fails
 * with SNPG_TRANSPORT_ERROR_CLOSED. */
gboolean snpg_transport_wait_first_byte(int fd, gint64 deadline, GError **error);
