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
# configure --enable-fuzzing instruments the library; the target links libFuzzer.
noinst_PROGRAMS += tests/fuzz/fuzz-ovmf
tests_fuzz_fuzz_ovmf_SOURCES = tests/fuzz/fuzz-ovmf.c
tests_fuzz_fuzz_ovmf_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(CRYPTO_CFLAGS)
tests_fuzz_fuzz_ovmf_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_ovmf_LDADD = libsnpguard-core.la $(GLIB_LIBS) $(CRYPTO_LIBS)
endif

# Attestation report parser (+ per-report checks) and AMD certificate extensions.
check_PROGRAMS += tests/fuzz/replay-report tests/fuzz/replay-cert-ext
TESTS += tests/fuzz/replay-report tests/fuzz/replay-cert-ext
tests_fuzz_replay_report_SOURCES = tests/fuzz/driver.c tests/fuzz/fuzz-report.c
tests_fuzz_replay_report_CPPFLAGS = $(AM_CPPFLAGS) \
	-DFUZZ_CORPUS_DIR=\"$(abs_srcdir)/tests/fuzz/corpus/report\"
tests_fuzz_replay_report_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(CRYPTO_CFLAGS)
tests_fuzz_replay_report_LDADD = libsnpguard-core.la $(GLIB_LIBS) $(CRYPTO_LIBS)
tests_fuzz_replay_cert_ext_SOURCES = tests/fuzz/driver.c tests/fuzz/fuzz-cert-ext.c
tests_fuzz_replay_cert_ext_CPPFLAGS = $(AM_CPPFLAGS) \
	-DFUZZ_CORPUS_DIR=\"$(abs_srcdir)/tests/fuzz/corpus/cert-ext\"
tests_fuzz_replay_cert_ext_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(CRYPTO_CFLAGS)
tests_fuzz_replay_cert_ext_LDADD = libsnpguard-core.la $(GLIB_LIBS) $(CRYPTO_LIBS)
EXTRA_DIST += tests/fuzz/corpus/report tests/fuzz/corpus/cert-ext
if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz-report tests/fuzz/fuzz-cert-ext
tests_fuzz_fuzz_report_SOURCES = tests/fuzz/fuzz-report.c
tests_fuzz_fuzz_report_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(CRYPTO_CFLAGS)
tests_fuzz_fuzz_report_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_report_LDADD = libsnpguard-core.la $(GLIB_LIBS) $(CRYPTO_LIBS)
tests_fuzz_fuzz_cert_ext_SOURCES = tests/fuzz/fuzz-cert-ext.c
tests_fuzz_fuzz_cert_ext_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(CRYPTO_CFLAGS)
tests_fuzz_fuzz_cert_ext_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_cert_ext_LDADD = libsnpguard-core.la $(GLIB_LIBS) $(CRYPTO_LIBS)
endif

# The attestation protocol's decoders and both state machines.
check_PROGRAMS += tests/fuzz/replay-proto
TESTS += tests/fuzz/replay-proto
tests_fuzz_replay_proto_SOURCES = tests/fuzz/driver.c tests/fuzz/fuzz-proto.c
tests_fuzz_replay_proto_CPPFLAGS = $(AM_CPPFLAGS) \
	-DFUZZ_CORPUS_DIR=\"$(abs_srcdir)/tests/fuzz/corpus/proto\"
tests_fuzz_replay_proto_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(CRYPTO_CFLAGS)
tests_fuzz_replay_proto_LDADD = libsnpguard-core.la $(GLIB_LIBS) $(CRYPTO_LIBS)
EXTRA_DIST += tests/fuzz/corpus/proto
if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz-proto
tests_fuzz_fuzz_proto_SOURCES = tests/fuzz/fuzz-proto.c
tests_fuzz_fuzz_proto_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(CRYPTO_CFLAGS)
tests_fuzz_fuzz_proto_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_proto_LDADD = libsnpguard-core.la $(GLIB_LIBS) $(CRYPTO_LIBS)
endif

# The extended report's certificate table (from the host, read by the verifier).
check_PROGRAMS += tests/fuzz/replay-certtable
TESTS += tests/fuzz/replay-certtable
tests_fuzz_replay_certtable_SOURCES = tests/fuzz/driver.c tests/fuzz/fuzz-certtable.c
tests_fuzz_replay_certtable_CPPFLAGS = $(AM_CPPFLAGS) \
	-DFUZZ_CORPUS_DIR=\"$(abs_srcdir)/tests/fuzz/corpus/certtable\"
tests_fuzz_replay_certtable_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(CRYPTO_CFLAGS)
tests_fuzz_replay_certtable_LDADD = libsnpguard-core.la $(GLIB_LIBS) $(CRYPTO_LIBS)
EXTRA_DIST += tests/fuzz/corpus/certtable
if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz-certtable
tests_fuzz_fuzz_certtable_SOURCES = tests/fuzz/fuzz-certtable.c
tests_fuzz_fuzz_certtable_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(CRYPTO_CFLAGS)
tests_fuzz_fuzz_certtable_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_certtable_LDADD = libsnpguard-core.la $(GLIB_LIBS) $(CRYPTO_LIBS)
endif

# Reference-values files and the simulated launch identity (a fw_cfg blob
# from the host), both GKeyFiles; the kernel command line's verifier pin.
check_PROGRAMS += tests/fuzz/replay-reference tests/fuzz/replay-sim-identity \
	tests/fuzz/replay-cmdline
TESTS += tests/fuzz/replay-reference tests/fuzz/replay-sim-identity tests/fuzz/replay-cmdline
tests_fuzz_replay_reference_SOURCES = tests/fuzz/driver.c tests/fuzz/fuzz-reference.c
tests_fuzz_replay_reference_CPPFLAGS = $(AM_CPPFLAGS) \
	-DFUZZ_CORPUS_DIR=\"$(abs_srcdir)/tests/fuzz/corpus/reference\"
tests_fuzz_replay_reference_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(CRYPTO_CFLAGS)
tests_fuzz_replay_reference_LDADD = libsnpguard-core.la $(GLIB_LIBS) $(CRYPTO_LIBS)
tests_fuzz_replay_sim_identity_SOURCES = tests/fuzz/driver.c tests/fuzz/fuzz-sim-identity.c
tests_fuzz_replay_sim_identity_CPPFLAGS = $(AM_CPPFLAGS) \
	-DFUZZ_CORPUS_DIR=\"$(abs_srcdir)/tests/fuzz/corpus/sim-identity\"
tests_fuzz_replay_sim_identity_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(CRYPTO_CFLAGS)
tests_fuzz_replay_sim_identity_LDADD = libsnpguard-core.la $(GLIB_LIBS) $(CRYPTO_LIBS)
tests_fuzz_replay_cmdline_SOURCES = tests/fuzz/driver.c tests/fuzz/fuzz-cmdline.c
tests_fuzz_replay_cmdline_CPPFLAGS = $(AM_CPPFLAGS) \
	-DFUZZ_CORPUS_DIR=\"$(abs_srcdir)/tests/fuzz/corpus/cmdline\"
tests_fuzz_replay_cmdline_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(CRYPTO_CFLAGS)
tests_fuzz_replay_cmdline_LDADD = libsnpguard-core.la $(GLIB_LIBS) $(CRYPTO_LIBS)
EXTRA_DIST += tests/fuzz/corpus/reference tests/fuzz/corpus/sim-identity \
	tests/fuzz/corpus/cmdline
if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz-reference tests/fuzz/fuzz-sim-identity tests/fuzz/fuzz-cmdline
tests_fuzz_fuzz_reference_SOURCES = tests/fuzz/fuzz-reference.c
tests_fuzz_fuzz_reference_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(CRYPTO_CFLAGS)
tests_fuzz_fuzz_reference_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_reference_LDADD = libsnpguard-core.la $(GLIB_LIBS) $(CRYPTO_LIBS)
tests_fuzz_fuzz_sim_identity_SOURCES = tests/fuzz/fuzz-sim-identity.c
tests_fuzz_fuzz_sim_identity_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(CRYPTO_CFLAGS)
tests_fuzz_fuzz_sim_identity_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_sim_identity_LDADD = libsnpguard-core.la $(GLIB_LIBS) $(CRYPTO_LIBS)
tests_fuzz_fuzz_cmdline_SOURCES = tests/fuzz/fuzz-cmdline.c
tests_fuzz_fuzz_cmdline_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(CRYPTO_CFLAGS)
tests_fuzz_fuzz_cmdline_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_cmdline_LDADD = libsnpguard-core.la $(GLIB_LIBS) $(CRYPTO_LIBS)
endif

# libvirt domain XML (the hook reads it on standard input): parse, metadata,
# launch inputs. Host side only.
if ENABLE_HOST
check_PROGRAMS += tests/fuzz/replay-domain
TESTS += tests/fuzz/replay-domain
if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz-domain
endif
endif
tests_fuzz_replay_domain_SOURCES = tests/fuzz/driver.c tests/fuzz/fuzz-domain.c
tests_fuzz_replay_domain_CPPFLAGS = $(HOST_CPPFLAGS) \
	-DFUZZ_CORPUS_DIR=\"$(abs_srcdir)/tests/fuzz/corpus/domain\"
tests_fuzz_replay_domain_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(CRYPTO_CFLAGS) $(XML_CFLAGS)
tests_fuzz_replay_domain_LDADD = libsnpguard-host.la $(XML_LIBS) $(GLIB_LIBS) $(CRYPTO_LIBS)
tests_fuzz_fuzz_domain_SOURCES = tests/fuzz/fuzz-domain.c
tests_fuzz_fuzz_domain_CPPFLAGS = $(HOST_CPPFLAGS)
tests_fuzz_fuzz_domain_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(CRYPTO_CFLAGS) $(XML_CFLAGS)
tests_fuzz_fuzz_domain_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_domain_LDADD = libsnpguard-host.la $(XML_LIBS) $(GLIB_LIBS) $(CRYPTO_LIBS)
EXTRA_DIST += tests/fuzz/corpus/domain
