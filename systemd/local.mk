# The systemd unit of 'snpguard watch' (installed; enable it where the
# verifier runs). systemdsystemunitdir can be set at make time.
if ENABLE_HOST
systemdsystemunitdir = $(prefix)/lib/systemd/system
systemdsystemunit_DATA = systemd/snpguard-watch.service
endif
CLEANFILES += systemd/snpguard-watch.service
EXTRA_DIST += systemd/snpguard-watch.service.in
systemd/snpguard-watch.service: $(top_srcdir)/systemd/snpguard-watch.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd && \
	sed -e 's|@bindir[@]|$(bindir)|g' $(top_srcdir)/systemd/snpguard-watch.service.in > $@.tmp && \
	mv $@.tmp $@
