# libsnpguard-core: GLib + libcrypto only, so the guest agent can link it alone.
noinst_LTLIBRARIES += libsnpguard-core.la
libsnpguard_core_la_CPPFLAGS = $(CORE_CPPFLAGS) -DG_LOG_DOMAIN=\"snpguard-core\"
libsnpguard_core_la_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(CRYPTO_CFLAGS)
libsnpguard_core_la_LIBADD = $(GLIB_LIBS) $(CRYPTO_LIBS)
libsnpguard_core_la_SOURCES = \
	src/core/autocleanups.h \
	src/core/i18n.h \
	src/core/buf.c src/core/buf.h \
	src/core/file.c src/core/file.h \
	src/core/secret.c src/core/secret.h
# The simulated secure processor, ID blocks, the certificate cache (issue 3).
libsnpguard_core_la_SOURCES += \
	src/core/sim.c src/core/sim.h

# The attestation protocol (docs/protocol.md).
libsnpguard_core_la_SOURCES += src/core/proto.c src/core/proto.h src/core/proto-priv.h
# snpguard measure: firmware tables, SEV hashes table, VMSA pages, launch digest.
libsnpguard_core_la_SOURCES += \
	src/core/ovmf.c src/core/ovmf.h \
	src/core/sev-hashes.c src/core/sev-hashes.h \
	src/core/vmsa.c src/core/vmsa.h \
	src/core/measure.c src/core/measure.h
libsnpguard_core_la_SOURCES += \
	src/core/idblock.c src/core/idblock.h \
	src/core/certcache.c src/core/certcache.h
libsnpguard_core_la_SOURCES += src/core/session.c src/core/session.h
# Attestation reports, AMD certificates, verification (issue 3, verifier side).
libsnpguard_core_la_SOURCES += \
	src/core/report.c src/core/report.h \
	src/core/cert-ext.c src/core/cert-ext.h \
	src/core/amd-certs.c src/core/amd-certs.h src/core/amd-roots.c \
	src/core/verify.c src/core/verify.h \
	src/core/reference.c src/core/reference.h
# Hex conventions; the simulated launch identity a simulated guest holds.
libsnpguard_core_la_SOURCES += src/core/hex.c src/core/hex.h \
	src/core/sim-identity.c src/core/sim-identity.h
libsnpguard_core_la_SOURCES += src/core/transport.c src/core/transport.h
# Extended-report certificate tables; evidence verification for sessions.
libsnpguard_core_la_SOURCES += src/core/certtable.c src/core/certtable.h \
	src/core/attest.c src/core/attest.h \
	src/core/policy.c src/core/policy.h
# The verifier's identity (an Ed25519 key the guest pins).
libsnpguard_core_la_SOURCES += src/core/identity.c src/core/identity.h
