# snpguard-agent: the guest side of attestation. It links the core library
# and libcrypto only, so it can be copied into an initramfs with few files.
sbin_PROGRAMS += snpguard-agent
snpguard_agent_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/guest -DG_LOG_DOMAIN=\"snpguard-agent\"
snpguard_agent_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(CRYPTO_CFLAGS)
snpguard_agent_LDADD = libsnpguard-agent.la libsnpguard-core.la $(GLIB_LIBS) $(CRYPTO_LIBS) $(LTLIBINTL)
snpguard_agent_SOURCES = guest/agent.c
if STATIC_AGENT
snpguard_agent_LDFLAGS = $(AM_LDFLAGS) -all-static
snpguard_agent_LDADD += $(AGENT_STATIC_LIBS)
endif

# The agent's parts that tests link too.
noinst_LTLIBRARIES += libsnpguard-agent.la
libsnpguard_agent_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/guest -DG_LOG_DOMAIN=\"snpguard-agent\"
libsnpguard_agent_la_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(CRYPTO_CFLAGS)
libsnpguard_agent_la_SOURCES = guest/psp.c guest/psp.h guest/port.c guest/port.h

# The initramfs init script that 'snpguard guest build' puts in the image.
dist_pkgdata_DATA = guest/init
