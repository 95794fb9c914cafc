# Benchmarks: run with 'make bench'; each prints ratios against a floor
# measured in the same run.
EXTRA_DIST += bench/measure
# 'make bench' runs every benchmark even when one misses its target (timing
# on a shared machine is noisy), then fails if any did; bench-verify alone
# fails only with BENCH_STRICT=1.
bench: all bench/bench-verify$(EXEEXT) bench/bench-attest$(EXEEXT) bench/bench-history$(EXEEXT)
	@status=0; \
	$(SHELL) $(top_srcdir)/bench/verify $(abs_builddir)/bench/bench-verify$(EXEEXT) \
		$(abs_srcdir)/tests/data/vectors || status=1; \
	$(SHELL) $(top_srcdir)/bench/attest $(abs_builddir)/bench/bench-attest$(EXEEXT) \
		$(abs_srcdir)/tests/data/sim/milan || status=1; \
	$(SHELL) $(top_srcdir)/bench/measure $(abs_builddir)/snpguard || status=1; \
	$(SHELL) $(top_srcdir)/bench/history $(abs_builddir)/bench/bench-history$(EXEEXT) \
		$(abs_builddir)/snpguard || status=1; \
	$(SHELL) $(top_srcdir)/bench/gate $(abs_builddir)/snpguard || status=1; \
	exit $$status
.PHONY: bench

# The start gate (the libvirt hook on prepare), managed and unmanaged.
EXTRA_DIST += bench/gate
bench-gate: snpguard$(EXEEXT)
	$(SHELL) $(top_srcdir)/bench/gate $(abs_builddir)/snpguard
.PHONY: bench-gate

# Report verification (bench/verify drives bench/bench-verify).
EXTRA_PROGRAMS += bench/bench-verify
CLEANFILES += bench/bench-verify$(EXEEXT)
bench_bench_verify_SOURCES = bench/bench-verify.c
bench_bench_verify_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(CRYPTO_CFLAGS)
bench_bench_verify_LDADD = libsnpguard-core.la $(GLIB_LIBS) $(CRYPTO_LIBS)
EXTRA_DIST += bench/verify
bench-verify: bench/bench-verify$(EXEEXT)
	$(SHELL) $(top_srcdir)/bench/verify $(abs_builddir)/bench/bench-verify$(EXEEXT) \
		$(abs_srcdir)/tests/data/vectors
.PHONY: bench-verify

# Attestation sessions (bench/attest drives bench/bench-attest).
EXTRA_PROGRAMS += bench/bench-attest
CLEANFILES += bench/bench-attest$(EXEEXT)
bench_bench_attest_SOURCES = bench/bench-attest.c
bench_bench_attest_CPPFLAGS = $(AGENT_CPPFLAGS)
bench_bench_attest_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(CRYPTO_CFLAGS)
bench_bench_attest_LDADD = libsnpguard-agent.la libsnpguard-core.la $(GLIB_LIBS) $(CRYPTO_LIBS)
EXTRA_DIST += bench/attest
bench-attest: bench/bench-attest$(EXEEXT)
	$(SHELL) $(top_srcdir)/bench/attest $(abs_builddir)/bench/bench-attest$(EXEEXT) \
		$(abs_srcdir)/tests/data/sim/milan
.PHONY: bench-attest

# snpguard history over 100,000 events (bench/history drives bench/bench-history).
EXTRA_PROGRAMS += bench/bench-history
CLEANFILES += bench/bench-history$(EXEEXT)
bench_bench_history_SOURCES = bench/bench-history.c
bench_bench_history_CPPFLAGS = $(HOST_CPPFLAGS)
bench_bench_history_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(SQLITE_CFLAGS)
bench_bench_history_LDADD = libsnpguard-host.la libsnpguard-core.la $(GLIB_LIBS) $(CRYPTO_LIBS) \
	$(SQLITE_LIBS)
EXTRA_DIST += bench/history
bench-history: all bench/bench-history$(EXEEXT)
	$(SHELL) $(top_srcdir)/bench/history $(abs_builddir)/bench/bench-history$(EXEEXT) \
		$(abs_builddir)/snpguard
.PHONY: bench-history
