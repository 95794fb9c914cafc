# Benchmarks: run with 'make bench'; each prints ratios against a floor
# measured in the same run.
EXTRA_DIST += bench/measure
bench: all
	$(SHELL) $(top_srcdir)/bench/measure $(abs_builddir)/snpguard
.PHONY: bench

# Report verification (bench/verify drives bench/bench-verify).
EXTRA_PROGRAMS += bench/bench-verify
CLEANFILES += bench/bench-verify$(EXEEXT)
bench_bench_verify_SOURCES = bench/bench-verify.c
bench_bench_verify_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(CRYPTO_CFLAGS)
bench_bench_verify_LDADD = libsnpguard-core.la $(GLIB_LIBS) $(CRYPTO_LIBS)
EXTRA_DIST += bench/verify
bench: bench-verify
bench-verify: bench/bench-verify$(EXEEXT)
	$(SHELL) $(top_srcdir)/bench/verify $(abs_builddir)/bench/bench-verify$(EXEEXT) \
		$(abs_srcdir)/tests/data/vectors
.PHONY: bench-verify
