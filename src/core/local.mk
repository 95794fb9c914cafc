# libsnpguard-core: GLib + libcrypto only, so the guest agent can link it alone.
noinst_LTLIBRARIES += libsnpguard-core.la
libsnpguard_core_la_CPPFLAGS = $(AM_CPPFLAGS) -DG_LOG_DOMAIN=\"snpguard-core\"
libsnpguard_core_la_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(CRYPTO_CFLAGS)
libsnpguard_core_la_LIBADD = $(GLIB_LIBS) $(CRYPTO_LIBS)
libsnpguard_core_la_SOURCES = \
	src/core/autocleanups.h \
	src/core/i18n.h \
	src/core/buf.c src/core/buf.h \
	src/core/secret.c src/core/secret.h

# The attestation protocol (docs/protocol.md).
libsnpguard_core_la_SOURCES += src/core/proto.c src/core/proto.h
libsnpguard_core_la_SOURCES += src/core/session.c src/core/session.h
# snpguard measure: firmware tables, SEV hashes table, VMSA pages, launch digest.
libsnpguard_core_la_SOURCES += \
	src/core/ovmf.c src/core/ovmf.h \
	src/core/sev-hashes.c src/core/sev-hashes.h \
	src/core/vmsa.c src/core/vmsa.h \
	src/core/measure.c src/core/measure.h
