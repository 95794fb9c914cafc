# libsnpguard-host: libvirt, libxml2, SQLite on top of core (later issues).
noinst_LTLIBRARIES += libsnpguard-host.la
libsnpguard_host_la_CPPFLAGS = $(AM_CPPFLAGS) -DG_LOG_DOMAIN=\"snpguard\"
libsnpguard_host_la_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(CRYPTO_CFLAGS) $(XML_CFLAGS)
libsnpguard_host_la_LIBADD = libsnpguard-core.la $(XML_LIBS) $(GLIB_LIBS) $(CRYPTO_LIBS)
libsnpguard_host_la_SOURCES =
libsnpguard_host_la_SOURCES += src/host/initramfs.c src/host/initramfs.h
libsnpguard_host_la_SOURCES += src/host/guest-image.c src/host/guest-image.h
