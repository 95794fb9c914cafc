# libsnpguard-host: libvirt, libxml2, SQLite on top of core (later issues).
noinst_LTLIBRARIES += libsnpguard-host.la
libsnpguard_host_la_CPPFLAGS = $(AM_CPPFLAGS) -DG_LOG_DOMAIN=\"snpguard-host\"
libsnpguard_host_la_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(CRYPTO_CFLAGS) $(XML_CFLAGS) \
	$(SQLITE_CFLAGS) $(LIBVIRT_CFLAGS)
# Programs link libsnpguard-core.la after this library.
libsnpguard_host_la_LIBADD = $(GLIB_LIBS) $(CRYPTO_LIBS) $(XML_LIBS) $(SQLITE_LIBS) $(LIBVIRT_LIBS)
libsnpguard_host_la_SOURCES =
# The state directory, the registry (SQLite) and the key store.
libsnpguard_host_la_SOURCES += src/host/statedir.c src/host/statedir.h
libsnpguard_host_la_SOURCES += src/host/registry.c src/host/registry.h src/host/registry-priv.h
libsnpguard_host_la_SOURCES += src/host/keystore.c src/host/keystore.h
