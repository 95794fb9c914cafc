# libsnpguard-host: libvirt, libxml2, SQLite on top of core (later issues).
noinst_LTLIBRARIES += libsnpguard-host.la
libsnpguard_host_la_CPPFLAGS = $(AM_CPPFLAGS) -DG_LOG_DOMAIN=\"snpguard-host\" \
	-DSNPG_XML_TEMPLATE_DIR=\"$(pkgdatadir)/xml-templates\"
libsnpguard_host_la_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(CRYPTO_CFLAGS) $(XML_CFLAGS)
libsnpguard_host_la_LIBADD = libsnpguard-core.la $(XML_LIBS) $(GLIB_LIBS) $(CRYPTO_LIBS)
libsnpguard_host_la_SOURCES =
# The domain XML: templates, launch inputs, snpguard's metadata.
libsnpguard_host_la_SOURCES += src/host/domain.c src/host/domain.h
xmltemplatesdir = $(pkgdatadir)/xml-templates
dist_xmltemplates_DATA = xml-templates/encrypted.xml xml-templates/integrity.xml \
	xml-templates/none.xml
