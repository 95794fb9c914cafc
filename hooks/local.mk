# The libvirt qemu hook: a thin exec of 'snpguard hook' with the installed
# bindir. libvirt reads hooks from /etc/libvirt/hooks only, so install with
# --sysconfdir=/etc (or set libvirthookdir) for libvirtd to see it.
libvirthookdir = $(sysconfdir)/libvirt/hooks/qemu.d
libvirthook_SCRIPTS = hooks/snpguard
CLEANFILES += hooks/snpguard
EXTRA_DIST += hooks/snpguard.in
hooks/snpguard: $(top_srcdir)/hooks/snpguard.in Makefile
	$(AM_V_GEN)$(MKDIR_P) hooks && \
	sed -e 's|@bindir[@]|$(bindir)|g' $(top_srcdir)/hooks/snpguard.in > $@.tmp && \
	chmod +x $@.tmp && mv $@.tmp $@
