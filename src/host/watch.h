/* 'snpguard watch': the long-running verifier for the VMs whose verifier is
 * "watch".
 *
 * It holds one libvirt connection (local, or remote such as
 * qemu+ssh://host/system: then the registry and the keys stay on this
 * machine and the host relays only ciphertext), subscribes to domain
 * lifecycle events and, for every managed domain of its mode that starts,
 * opens the attestation channel (channel.h) and runs one session with the
 * VM's stored policy and key (vmattest.h). All sessions share one event
 * loop and one thread. It records each boot's start, verdict, release and
 * stop (boot.h), and applies the VM's failure action on any verdict but
 * "accepted". A lost connection (libvirtd restarted, keepalive expired) is
 * reopened with a backoff; then every running managed domain whose current
 * boot has no verdict yet is attested. Domains without snpguard's metadata
 * are never touched. */
#pragma once

#include <glib.h>

typedef struct {
    const char *uri;            /* NULL: qemu:///system */
    const char *state_dir;      /* the registry and keys */
    gint64 agent_window_us;     /* 0: each VM's (boot.h) */
    /* Called (from the loop) after each boot's verdict is recorded, for
     * tests and the benchmark; may be NULL. */
    void (*on_verdict)(const char *vm, const char *boot_id, const char *verdict,
                       gint64 started_us, gint64 verdict_us, gpointer user_data);
    gpointer user_data;
} SnpgWatchOptions;

typedef struct _SnpgWatch SnpgWatch;

/* Registers libvirt's event loop (once per process; before any connection
 * is opened) and opens the registry. */
SnpgWatch *snpg_watch_new(const SnpgWatchOptions *opts, GError **error);
void snpg_watch_free(SnpgWatch *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SnpgWatch, snpg_watch_free)

/* Connects and serves until snpg_watch_quit (or SIGINT/SIGTERM). FALSE
 * only when the first connection fails (later losses are retried). */
gboolean snpg_watch_run(SnpgWatch *w, GError **error);
void snpg_watch_quit(SnpgWatch *w);
