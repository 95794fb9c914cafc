# libFuzzer targets (clang, --enable-fuzzing) and their corpus replay, which
# runs in every 'make check' through tests/fuzz/driver.c.
# OVMF footer table and SEV metadata parser (snpguard measure).
check_PROGRAMS += tests/fuzz/replay-ovmf
TESTS += tests/fuzz/replay-ovmf
tests_fuzz_replay_ovmf_SOURCES = tests/fuzz/driver.c tests/fuzz/fuzz-ovmf.c
tests_fuzz_replay_ovmf_CPPFLAGS = $(AM_CPPFLAGS) \
	-DFUZZ_CORPUS_DIR=\"$(abs_srcdir)/tests/fuzz/corpus/ovmf\"
tests_fuzz_replay_ovmf_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(CRYPTO_CFLAGS)
tests_fuzz_replay_ovmf_LDADD = libsnpguard-core.la $(GLIB_LIBS) $(CRYPTO_LIBS)
EXTRA_DIST += tests/fuzz/corpus/ovmf
if ENABLE_FUZZING
# The parser is compiled in (not linked from the library) so that libFuzzer's
# coverage instrumentation reaches it.
noinst_PROGRAMS += tests/fuzz/fuzz-ovmf
tests_fuzz_fuzz_ovmf_SOURCES = tests/fuzz/fuzz-ovmf.c src/core/ovmf.c src/core/buf.c
tests_fuzz_fuzz_ovmf_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_ovmf_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_ovmf_LDADD = $(GLIB_LIBS)
endif
