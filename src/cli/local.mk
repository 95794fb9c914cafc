bin_PROGRAMS += snpguard
snpguard_CPPFLAGS = $(AM_CPPFLAGS) -DG_LOG_DOMAIN=\"snpguard\" \
	-DSBINDIR=\"$(sbindir)\" -DPKGDATADIR=\"$(pkgdatadir)\"
snpguard_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(CRYPTO_CFLAGS) $(JSON_CFLAGS) $(XML_CFLAGS)
snpguard_LDADD = libsnpguard-host.la libsnpguard-core.la $(XML_LIBS) $(JSON_LIBS) $(GLIB_LIBS) $(CRYPTO_LIBS) $(LTLIBINTL)
snpguard_SOURCES = \
	src/cli/command.h \
	src/cli/snpguard.c \
	src/cli/cmd-measure.c
snpguard_SOURCES += src/cli/cmd-sim.c src/cli/cmd-idblock.c src/cli/cmd-certs.c
snpguard_SOURCES += src/cli/cmd-report.c
snpguard_SOURCES += src/cli/cli-util.c src/cli/cli-util.h
snpguard_SOURCES += src/cli/cmd-sim-identity.c src/cli/cmd-sim.h
snpguard_SOURCES += src/cli/verify-args.c src/cli/verify-args.h
snpguard_SOURCES += src/cli/cmd-attest.c
snpguard_SOURCES += src/cli/cmd-verifier-key.c
snpguard_SOURCES += src/cli/cmd-guest.c
snpguard_SOURCES += src/cli/cmd-hook.c
