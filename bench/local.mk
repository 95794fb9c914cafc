# Benchmarks: run with 'make bench'; each prints ratios against a floor
# measured in the same run.
EXTRA_DIST += bench/measure
bench: all
	$(SHELL) $(top_srcdir)/bench/measure $(abs_builddir)/snpguard
.PHONY: bench
