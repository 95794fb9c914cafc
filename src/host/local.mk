# libsnpguard-host: libvirt, libxml2, SQLite on top of core (later issues).
