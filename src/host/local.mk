# libsnpguard-host: libvirt, libxml2, SQLite on top of core (later issues).
# Build it only 'if ENABLE_HOST', with libsnpguard_host_la_CPPFLAGS =
# $(HOST_CPPFLAGS), so that it sees core and src/host but not src/cli.
