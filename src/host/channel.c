/* A verifier session over a libvirt channel stream (see channel.h). */
#include "config.h"

#include <limits.h>

#include <glib/gi18n.h>

#include "channel.h"
#include "virt-api.h"

G_DEFINE_QUARK(snpg-channel-error-quark, snpg_channel_error)

/* One read from the stream; frames are bounded by the session itself. */
#define RECV_CHUNK 16384

struct _SnpgChannel {
    virStreamPtr stream;
    SnpgVerifierSession *session;
    GByteArray *out;            /* bytes the session wants sent, not yet taken */
    SnpgChannelDoneFunc done;
    gpointer user_data;
    int stream_events;          /* registered events; -1: no callback */
    int timer;                  /* the session deadline; -1: none */
    int deliver_timer;          /* the deferred done call; -1: none */
    gboolean finished;          /* the stream is closed, done is due */
    guint64 bytes_received;
    gint64 opened_us, hello_sent_us, first_byte_us, host_us;
    SnpgSessionStatus status;
    GError *error;
};

static void channel_step(SnpgChannel *ch);

static const char *
virt_message(void)
{
    const char *msg = VIR(GetLastErrorMessage)();

    return msg ? msg : _("unknown libvirt error");
}

/* Calls done from a timer of its own, never from inside a stream callback,
 * so that done may free the channel (and its stream) safely. */
static void
deliver_cb(int timer G_GNUC_UNUSED, void *opaque)
{
    SnpgChannel *ch = opaque;
    SnpgChannelOutcome outcome = { 0 };

    VIR(EventRemoveTimeout)(ch->deliver_timer);
    ch->deliver_timer = -1;
    outcome.reached = ch->status == SNPG_SESSION_DONE;
    outcome.result = snpg_verifier_session_result(ch->session);
    outcome.error = ch->error;
    outcome.bytes_received = ch->bytes_received;
    outcome.opened_us = ch->opened_us;
    outcome.hello_sent_us = ch->hello_sent_us;
    outcome.first_byte_us = ch->first_byte_us;
    outcome.host_us = ch->host_us;
    ch->done(ch, &outcome, ch->user_data);
}

/* The session ended: close the stream (a verdict with Finish, so the last
 * bytes are flushed; a failure with Abort) and schedule done. */
static void
channel_finish(SnpgChannel *ch)
{
    if (ch->finished)
        return;
    ch->finished = TRUE;
    if (ch->stream_events >= 0) {
        VIR(StreamEventRemoveCallback)(ch->stream);
        ch->stream_events = -1;
    }
    if (ch->timer >= 0) {
        VIR(EventRemoveTimeout)(ch->timer);
        ch->timer = -1;
    }
    if (ch->status == SNPG_SESSION_DONE && ch->out->len == 0) {
        if (VIR(StreamFinish)(ch->stream) < 0)
            VIR(StreamAbort)(ch->stream);
    } else {
        VIR(StreamAbort)(ch->stream);
    }
    ch->deliver_timer = VIR(EventAddTimeout)(0, deliver_cb, ch, NULL);
    if (ch->deliver_timer < 0)
        g_warning("cannot schedule the end of a channel session: no event loop");
}

static void
fail(SnpgChannel *ch, GError *error)
{
    ch->status = SNPG_SESSION_FAILED;
    if (!ch->error)
        ch->error = error;
    else
        g_error_free(error);
    channel_finish(ch);
}

/* Sends what the session queued, as far as the stream takes it now. */
static gboolean
flush_out(SnpgChannel *ch)
{
    while (ch->out->len > 0) {
        int n = VIR(StreamSend)(ch->stream, (const char *)ch->out->data,
                              MIN(ch->out->len, (guint)INT_MAX));

        if (n == -2)
            return TRUE;            /* later, when WRITABLE */
        if (n < 0) {
            fail(ch, g_error_new(SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_IO,
                                 _("cannot write to the attestation channel: %s"),
                                 virt_message()));
            return FALSE;
        }
        g_byte_array_remove_range(ch->out, 0, (guint)n);
    }
    if (!ch->hello_sent_us)
        ch->hello_sent_us = g_get_monotonic_time();
    return TRUE;
}

/* Reads everything the stream holds now into the session. */
static void
drain_in(SnpgChannel *ch)
{
    char buf[RECV_CHUNK];

    while (ch->status == SNPG_SESSION_NEED_MORE) {
        GError *error = NULL;
        int n = VIR(StreamRecv)(ch->stream, buf, sizeof(buf));

        if (n == -2)
            return;
        if (n < 0) {
            /* The stream broke: the domain stopped or the daemon went away. */
            g_debug("channel stream error: %s", virt_message());
            n = 0;
        }
        if (n == 0) {
            ch->status = snpg_verifier_session_eof(ch->session, &error);
        } else {
            gint64 t0 = g_get_monotonic_time();

            if (!ch->first_byte_us)
                ch->first_byte_us = t0;
            ch->bytes_received += (guint)n;
            ch->status = snpg_verifier_session_feed(ch->session, (const guint8 *)buf, (gsize)n,
                                                    ch->out, &error);
            ch->host_us += g_get_monotonic_time() - t0;
        }
        if (error) {
            ch->error = error;
            ch->status = SNPG_SESSION_FAILED;
        }
        if (n == 0 && ch->status == SNPG_SESSION_NEED_MORE)
            ch->status = SNPG_SESSION_FAILED;   /* cannot happen: eof ends the session */
        if (n == 0)
            return;
    }
}

static void
stream_cb(virStreamPtr st G_GNUC_UNUSED, int events, void *opaque)
{
    SnpgChannel *ch = opaque;

    if (ch->finished)
        return;
    if (events & VIR_STREAM_EVENT_READABLE)
        drain_in(ch);
    else if (events & (VIR_STREAM_EVENT_HANGUP | VIR_STREAM_EVENT_ERROR))
        drain_in(ch);   /* reads the EOF (or the error) and ends the session */
    channel_step(ch);
}

static void
timer_cb(int timer G_GNUC_UNUSED, void *opaque)
{
    SnpgChannel *ch = opaque;
    GError *error = NULL;

    if (ch->finished)
        return;
    ch->status = snpg_verifier_session_check_deadline(ch->session, g_get_monotonic_time(),
                                                      &error);
    if (error)
        ch->error = error;
    channel_step(ch);
}

/* After any progress: send, then either end the session or wait for the
 * next bytes with the events and the deadline the session now needs. */
static void
channel_step(SnpgChannel *ch)
{
    int want;

    gint64 t0 = g_get_monotonic_time();
    gboolean flushed;

    if (ch->finished)
        return;
    flushed = flush_out(ch);
    ch->host_us += g_get_monotonic_time() - t0;
    if (!flushed)
        return;
    if (ch->status != SNPG_SESSION_NEED_MORE && (ch->status == SNPG_SESSION_FAILED ||
                                                 ch->out->len == 0)) {
        channel_finish(ch);
        return;
    }
    want = VIR_STREAM_EVENT_ERROR | VIR_STREAM_EVENT_HANGUP;
    if (ch->status == SNPG_SESSION_NEED_MORE)
        want |= VIR_STREAM_EVENT_READABLE;
    if (ch->out->len > 0)
        want |= VIR_STREAM_EVENT_WRITABLE;
    if (want != ch->stream_events) {
        if (VIR(StreamEventUpdateCallback)(ch->stream, want) < 0) {
            fail(ch, g_error_new(SNPG_PROTO_ERROR, SNPG_PROTO_ERROR_IO,
                                 _("cannot watch the attestation channel: %s"),
                                 virt_message()));
            return;
        }
        ch->stream_events = want;
    }
    if (ch->status == SNPG_SESSION_NEED_MORE) {
        gint64 deadline = snpg_verifier_session_get_deadline(ch->session);
        gint64 wait_ms = 0;

        if (deadline != G_MAXINT64)
            wait_ms = MAX((deadline - g_get_monotonic_time() + 999) / 1000, 0);
        /* libvirt's timers are periodic: re-armed on every step. */
        VIR(EventUpdateTimeout)(ch->timer, (int)MIN(wait_ms, (gint64)INT_MAX));
    } else {
        /* The verdict is in; only the last bytes are waiting to leave. */
        VIR(EventUpdateTimeout)(ch->timer, -1);
    }
}

SnpgChannel *
snpg_channel_open(virDomainPtr dom, const char *target, const SnpgVerifierConfig *config,
                  SnpgChannelDoneFunc done, gpointer user_data, GError **error)
{
    SnpgChannel *ch;
    virStreamPtr st;
    GError *local = NULL;

    g_return_val_if_fail(dom != NULL && config != NULL && done != NULL, NULL);
    /* dom came from libvirt: the table is loaded. */
    g_return_val_if_fail(snpg_virt_api()->StreamNew != NULL, NULL);
    if (!(st = VIR(StreamNew)(VIR(DomainGetConnect)(dom), VIR_STREAM_NONBLOCK))) {
        g_set_error(error, SNPG_CHANNEL_ERROR, SNPG_CHANNEL_ERROR_OPEN,
                    _("cannot create a libvirt stream: %s"), virt_message());
        return NULL;
    }
    if (VIR(DomainOpenChannel)(dom, target ? target : SNPG_CHANNEL_TARGET, st, 0) < 0) {
        g_set_error(error, SNPG_CHANNEL_ERROR, SNPG_CHANNEL_ERROR_OPEN,
                    _("cannot open the channel '%s' of domain '%s': %s"),
                    target ? target : SNPG_CHANNEL_TARGET, VIR(DomainGetName)(dom),
                    virt_message());
        VIR(StreamFree)(st);
        return NULL;
    }
    ch = g_new0(SnpgChannel, 1);
    ch->stream = st;
    ch->out = g_byte_array_new();
    ch->done = done;
    ch->user_data = user_data;
    ch->stream_events = -1;
    ch->timer = -1;
    ch->deliver_timer = -1;
    ch->status = SNPG_SESSION_NEED_MORE;
    ch->opened_us = g_get_monotonic_time();
    if (!(ch->session = snpg_verifier_session_new(config, &local))) {
        g_propagate_error(error, local);
        snpg_channel_free(ch);
        return NULL;
    }
    if (VIR(StreamEventAddCallback)(st, VIR_STREAM_EVENT_READABLE | VIR_STREAM_EVENT_ERROR |
                                  VIR_STREAM_EVENT_HANGUP, stream_cb, ch, NULL) < 0 ||
        (ch->stream_events = VIR_STREAM_EVENT_READABLE | VIR_STREAM_EVENT_ERROR |
                             VIR_STREAM_EVENT_HANGUP,
         (ch->timer = VIR(EventAddTimeout)(-1, timer_cb, ch, NULL)) < 0)) {
        g_set_error(error, SNPG_CHANNEL_ERROR, SNPG_CHANNEL_ERROR_OPEN,
                    _("cannot watch the channel of domain '%s' (is an event loop "
                      "registered?): %s"), VIR(DomainGetName)(dom), virt_message());
        snpg_channel_free(ch);
        return NULL;
    }
    snpg_verifier_session_start(ch->session, ch->out);
    channel_step(ch);
    return ch;
}

void
snpg_channel_free(SnpgChannel *ch)
{
    if (!ch)
        return;
    if (ch->stream_events >= 0)
        VIR(StreamEventRemoveCallback)(ch->stream);
    if (ch->timer >= 0)
        VIR(EventRemoveTimeout)(ch->timer);
    if (ch->deliver_timer >= 0)
        VIR(EventRemoveTimeout)(ch->deliver_timer);
    if (!ch->finished)
        VIR(StreamAbort)(ch->stream);
    VIR(StreamFree)(ch->stream);
    g_clear_pointer(&ch->session, snpg_verifier_session_free);
    g_byte_array_unref(ch->out);
    g_clear_error(&ch->error);
    g_free(ch);
}
