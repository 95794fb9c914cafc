/* Hook mode: the local verifier the libvirt hook starts for a managed VM
 * whose verifier is "hook" (the default).
 *
 * The hook runs under the domain's lock, so it must return quickly and
 * never call libvirt. On "started" it only starts a detached worker (double
 * fork, a new session, stdio to its own log STATE/log/NAME.log, every other
 * descriptor closed) and returns. The worker connects to the channel's unix
 * socket named in the live XML, runs the attestation session with the VM's
 * stored policy and key (vmattest.h), records the boot's start, verdict and
 * release, and on any outcome but "accepted" applies the VM's failure
 * action through libvirt, which is safe once the hook has returned. A
 * guest that is not up yet is waited for within the agent window
 * (boot.h); a guest that never answers is recorded as "timeout".
 *
 * In this mode the VM's disk key is on the host: whoever controls the host
 * can read it. 'snpguard watch' on the owner's machine keeps it there. */
#pragma once

#include <glib.h>
#include <libxml/tree.h>

/* "started begin -" of the managed domain name (live XML): starts the
 * worker when the registry names the hook as the VM's verifier. FALSE
 * (error set) when the worker could not be started; the hook must still
 * let the domain run (the start already happened). */
gboolean snpg_hook_worker_started(const char *state_dir, const char *name, xmlDoc *live,
                                  GError **error);

/* "stopped end -": records the boot's stop, for VMs whose verifier is the
 * hook or manual ('snpguard watch' records its own VMs' stops). */
gboolean snpg_hook_worker_stopped(const char *state_dir, const char *name, xmlDoc *live,
                                  GError **error);

/* "release end REASON": records a stop only when "stopped" did not (libvirt
 * skips "stopped" when QEMU failed to start). */
gboolean snpg_hook_worker_released(const char *state_dir, const char *name, xmlDoc *live,
                                   GError **error);

/* The worker itself, run in the detached process (exposed for tests):
 * returns the exit status. socket is the channel's unix socket;
 * started_us (monotonic, 0: unknown) when the hook saw the start. */
int snpg_hook_worker_run(const char *state_dir, const char *name, const char *socket,
                         const char *boot_id, gint64 started_us);
