# The snpguard command: needs json-glib and, later, the host library; not
# built with --disable-host.
if ENABLE_HOST
bin_PROGRAMS += snpguard
endif
snpguard_CPPFLAGS = $(CLI_CPPFLAGS) -DG_LOG_DOMAIN=\"snpguard\" \
	-DSBINDIR=\"$(sbindir)\" -DPKGDATADIR=\"$(pkgdatadir)\"
snpguard_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(CRYPTO_CFLAGS) $(JSON_CFLAGS)
snpguard_LDADD = libsnpguard-core.la $(JSON_LIBS) $(GLIB_LIBS) $(CRYPTO_LIBS) $(LTLIBINTL)
snpguard_SOURCES = \
	src/cli/command.h \
	src/cli/snpguard.c \
	src/cli/cmd-measure.c
snpguard_SOURCES += src/cli/cmd-sim.c src/cli/cmd-idblock.c src/cli/cmd-certs.c
snpguard_SOURCES += src/cli/cmd-report.c
snpguard_SOURCES += src/cli/cli-util.c src/cli/cli-util.h
snpguard_SOURCES += src/cli/cmd-sim-identity.c src/cli/cmd-sim.h src/cli/sim-launch.c
snpguard_SOURCES += src/cli/verify-args.c src/cli/verify-args.h
snpguard_SOURCES += src/cli/cmd-attest.c
snpguard_SOURCES += src/cli/cmd-verifier-key.c
snpguard_SOURCES += src/cli/cmd-define.c src/cli/cmd-define.h src/cli/cmd-adopt.c
snpguard_SOURCES += src/cli/cmd-undefine.c src/cli/cmd-show.c
snpguard_SOURCES += src/cli/measure-explain.c src/cli/measure-explain.h src/cli/attest-vm.c src/cli/attest-vm.h
snpguard_CFLAGS += $(XML_CFLAGS) $(SQLITE_CFLAGS) $(LIBVIRT_CFLAGS)
# The registry commands (history, list) and the host library they use.
snpguard_SOURCES += src/cli/cmd-history.c src/cli/cmd-list.c
snpguard_LDADD += libsnpguard-host.la libsnpguard-core.la $(XML_LIBS) $(SQLITE_LIBS)
snpguard_SOURCES += src/cli/cmd-guest.c
snpguard_SOURCES += src/cli/cmd-hook.c
snpguard_SOURCES += src/cli/cmd-image.c
# Attestation on every start: start NAME and the long-running verifier.
snpguard_SOURCES += src/cli/cmd-start.c src/cli/cmd-watch.c
