# libsnpguard-host: libvirt, libxml2, SQLite on top of core. Built only with
# the host side; it sees core and src/host but not src/cli.
if ENABLE_HOST
noinst_LTLIBRARIES += libsnpguard-host.la
xmltemplatesdir = $(pkgdatadir)/xml-templates
dist_xmltemplates_DATA = xml-templates/encrypted.xml xml-templates/integrity.xml \
	xml-templates/none.xml
endif
libsnpguard_host_la_CPPFLAGS = $(HOST_CPPFLAGS) -DG_LOG_DOMAIN=\"snpguard-host\" \
	-DSNPG_XML_TEMPLATE_DIR=\"$(pkgdatadir)/xml-templates\"
libsnpguard_host_la_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(CRYPTO_CFLAGS) $(XML_CFLAGS) \
	$(SQLITE_CFLAGS) $(LIBVIRT_CFLAGS)
libsnpguard_host_la_LIBADD = libsnpguard-core.la $(GLIB_LIBS) $(CRYPTO_LIBS) $(XML_LIBS) \
	$(SQLITE_LIBS)
libsnpguard_host_la_SOURCES =
# The domain XML: templates, launch inputs, snpguard's metadata.
libsnpguard_host_la_SOURCES += src/host/domain.c src/host/domain.h
# The state directory, the registry (SQLite) and the key store.
libsnpguard_host_la_SOURCES += src/host/statedir.c src/host/statedir.h
libsnpguard_host_la_SOURCES += src/host/registry.c src/host/registry.h src/host/registry-priv.h
libsnpguard_host_la_SOURCES += src/host/keystore.c src/host/keystore.h
# The libvirt connection, libvirt's function table (loaded on first use,
# never linked), the start gate (the hook's decisions, no libvirt) and
# attesting a registered VM.
libsnpguard_host_la_SOURCES += src/host/virt.c src/host/virt.h
libsnpguard_host_la_SOURCES += src/host/virt-api.c src/host/virt-api.h
libsnpguard_host_la_SOURCES += src/host/gate.c src/host/gate.h
libsnpguard_host_la_SOURCES += src/host/vmattest.c src/host/vmattest.h
# Attestation on every start: one boot's records and failure action, the
# channel stream driver, the hook worker and 'snpguard watch'.
libsnpguard_host_la_SOURCES += src/host/boot.c src/host/boot.h
libsnpguard_host_la_SOURCES += src/host/channel.c src/host/channel.h
libsnpguard_host_la_SOURCES += src/host/hookworker.c src/host/hookworker.h
libsnpguard_host_la_SOURCES += src/host/watch.c src/host/watch.h
# The guest image: a reproducible initramfs (newc) and its builder.
libsnpguard_host_la_SOURCES += src/host/initramfs.c src/host/initramfs.h
libsnpguard_host_la_SOURCES += src/host/guest-image.c src/host/guest-image.h
# Disk images for the workflows: LUKS2 and dm-verity with libcryptsetup's
# user-space paths (no device-mapper on the host), the demo root.
libsnpguard_host_la_SOURCES += src/host/image.c src/host/image.h
libsnpguard_host_la_CFLAGS += $(CRYPTSETUP_CFLAGS)
libsnpguard_host_la_LIBADD += $(CRYPTSETUP_LIBS)
