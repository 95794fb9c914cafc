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
} SnpgTransportError;

/* "unix:PATH" -> PATH (newly allocated), or NULL with an error. */
char *snpg_transport_unix_path(const char *address, GError **error);

/* A listening unix socket at address (an old socket file there is replaced).
 * Returns the fd, or -1. */
int snpg_transport_listen(const char *address, GError **error);
/* Waits for one connection until the deadline (monotonic us; G_MAXINT64:
 * none). Returns the fd, or -1. */
int snpg_transport_accept(int listen_fd, gint64 deadline, GError **error);
/* Connects to "unix:PATH". Returns the fd, or -1. */
int snpg_transport_connect(const char *address, GError **error);
/* Opens a character device (a virtio-serial port) for reading and writing. */
int snpg_transport_open_device(const char *path, GError **error);
