/* One verifier session over a domain's attestation channel, through libvirt.
 *
 * The channel is opened with virDomainOpenChannel on a non-blocking stream
 * and the session (the core's step machine, session.h) is driven from
 * libvirt's event loop: stream callbacks feed it the agent's bytes and send
 * what it answers, a timer enforces its deadline. Many channels share one
 * loop and one thread; nothing here blocks on the guest. This works the same
 * over a remote connection (qemu+ssh://): the host relays the stream's bytes
 * and sees only the protocol's ciphertext.
 *
 * The caller runs the event loop (virEventRegisterDefaultImpl before the
 * connection is opened, then virEventRunDefaultImpl). */
#pragma once

#include <glib.h>
#include "virt-api.h"

#include "attest.h"
#include "session.h"

/* The target name of snpguard's channel (<target name=...> in the XML). */
#define SNPG_CHANNEL_TARGET "org.snpguard.attest.0"

typedef struct _SnpgChannel SnpgChannel;

typedef struct {
    /* The session reached a verdict (see result) or failed (see error). */
    gboolean reached;
    const SnpgVerifierResult *result;  /* (transfer none) valid during the call */
    const GError *error;               /* NULL when reached */
    /* How many bytes the agent sent: 0 means it never spoke (not up yet,
     * or the domain went away before its agent ran). */
    guint64 bytes_received;
    /* Timing (g_get_monotonic_time() us), for the logs and the benchmark:
     * when the channel was opened, when HELLO had left, when the agent's
     * first byte arrived, and the time snpguard itself spent on the session
     * (feeding the step machine: verification, sealing the key; and
     * sending), the rest being the guest's and the transport's. */
    gint64 opened_us;
    gint64 hello_sent_us;
    gint64 first_byte_us;
    gint64 host_us;
} SnpgChannelOutcome;

/* Called once, from the event loop, when the session has ended and the
 * stream is closed. It may free the channel. */
typedef void (*SnpgChannelDoneFunc)(SnpgChannel *channel, const SnpgChannelOutcome *outcome,
                                    gpointer user_data);

/* Opens target (NULL: SNPG_CHANNEL_TARGET) of the running domain dom and
 * starts a session with config (which, with what it points to, must
 * outlive the channel): sends HELLO as soon as the stream takes it. Guest
 * writes wait in QEMU until the host side connects, and the host's wait
 * until the guest opens its port, so the channel may be opened before the
 * agent runs: the session's first deadline is then the agent's window.
 * NULL (error set) when libvirt refuses the channel (no such channel, not
 * running, another client holds it). */
SnpgChannel *snpg_channel_open(virDomainPtr dom, const char *target,
                               const SnpgVerifierConfig *config, SnpgChannelDoneFunc done,
                               gpointer user_data, GError **error);
/* Closes the stream; a session still running ends without a call to done
 * and without a verdict. */
void snpg_channel_free(SnpgChannel *channel);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SnpgChannel, snpg_channel_free)

#define SNPG_CHANNEL_ERROR (snpg_channel_error_quark())
GQuark snpg_channel_error_quark(void);

typedef enum {
    SNPG_CHANNEL_ERROR_OPEN,    /* libvirt refused the stream or the channel */
} SnpgChannelError;
