# snpguard-agent: the guest side of attestation. It links the core library
# and libcrypto, and libcryptsetup for the root device when configured so
# (AGENT_CRYPTSETUP; never in a static agent).
sbin_PROGRAMS += snpguard-agent
snpguard_agent_CPPFLAGS = $(AGENT_CPPFLAGS) -DG_LOG_DOMAIN=\"snpguard-agent\"
snpguard_agent_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(CRYPTO_CFLAGS)
snpguard_agent_LDADD = libsnpguard-agent.la libsnpguard-core.la $(GLIB_LIBS) $(CRYPTO_LIBS) $(LTLIBINTL)
snpguard_agent_SOURCES = guest/agent.c
if STATIC_AGENT
snpguard_agent_LDFLAGS = $(AM_LDFLAGS) -all-static
snpguard_agent_LDADD += $(AGENT_STATIC_LIBS)
endif

# The agent's parts that tests link too.
noinst_LTLIBRARIES += libsnpguard-agent.la
libsnpguard_agent_la_CPPFLAGS = $(AGENT_CPPFLAGS) -DG_LOG_DOMAIN=\"snpguard-agent\"
libsnpguard_agent_la_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(CRYPTO_CFLAGS)
libsnpguard_agent_la_SOURCES = guest/psp.c guest/psp.h guest/port.c guest/port.h

EXTRA_DIST += guest/luks.c guest/luks.h
if AGENT_CRYPTSETUP
# The root device: LUKS2 from a checked header copy, dm-verity.
noinst_LTLIBRARIES += libsnpguard-luks.la
libsnpguard_luks_la_CPPFLAGS = $(AGENT_CPPFLAGS) -DG_LOG_DOMAIN=\"snpguard-agent\"
libsnpguard_luks_la_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(CRYPTO_CFLAGS) $(CRYPTSETUP_CFLAGS)
libsnpguard_luks_la_SOURCES = guest/luks.c guest/luks.h
snpguard_agent_CFLAGS += $(CRYPTSETUP_CFLAGS)
snpguard_agent_LDADD += libsnpguard-luks.la $(CRYPTSETUP_LIBS)
endif
# The initramfs init script that 'snpguard guest build' puts in the image.
dist_pkgdata_DATA = guest/init
