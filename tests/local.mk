# Unit tests: GLib test programs (TAP), one per module.
TEST_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(CRYPTO_CFLAGS) $(JSON_CFLAGS)
TEST_LIBS = libsnpguard-core.la $(JSON_LIBS) $(GLIB_LIBS) $(CRYPTO_LIBS)

check_PROGRAMS += tests/unit/test-buf tests/unit/test-cli
TESTS += tests/unit/test-buf tests/unit/test-cli

tests_unit_test_buf_SOURCES = tests/unit/test-buf.c
tests_unit_test_buf_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_buf_LDADD = $(TEST_LIBS)

tests_unit_test_cli_SOURCES = tests/unit/test-cli.c tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_cli_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_cli_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/unit/test-secret
TESTS += tests/unit/test-secret
tests_unit_test_secret_SOURCES = tests/unit/test-secret.c tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_secret_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_secret_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/unit/test-proto
TESTS += tests/unit/test-proto
tests_unit_test_proto_SOURCES = tests/unit/test-proto.c tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_proto_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_proto_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/unit/test-session
TESTS += tests/unit/test-session
tests_unit_test_session_SOURCES = tests/unit/test-session.c tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_session_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_session_LDADD = $(TEST_LIBS)

# snpguard measure: the engine against sev-snp-measure's values, and the command.
check_PROGRAMS += tests/unit/test-measure tests/unit/test-cli-measure
TESTS += tests/unit/test-measure tests/unit/test-cli-measure
MEASURE_TEST_SOURCES = tests/unit/testutil.c tests/unit/testutil.h \
	tests/unit/measure-inputs.c tests/unit/measure-inputs.h
tests_unit_test_measure_SOURCES = tests/unit/test-measure.c $(MEASURE_TEST_SOURCES)
tests_unit_test_measure_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_measure_LDADD = $(TEST_LIBS)
tests_unit_test_cli_measure_SOURCES = tests/unit/test-cli-measure.c $(MEASURE_TEST_SOURCES)
tests_unit_test_cli_measure_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_cli_measure_LDADD = $(TEST_LIBS)
EXTRA_DIST += tests/data/measure/README tests/data/measure/ovmf_AmdSev_suffix.bin \
	tests/data/measure/ovmf_OvmfX64_suffix.bin
EXTRA_DIST += tests/data/measure/svsm_suffix.bin tests/data/measure/svsm_ovmf_suffix.bin

# Simulated secure processor, ID blocks, certificate cache (issue 3).
check_PROGRAMS += tests/unit/test-sim tests/unit/test-idblock tests/unit/test-certcache \
	tests/unit/test-cli-sim
TESTS += tests/unit/test-sim tests/unit/test-idblock tests/unit/test-certcache \
	tests/unit/test-cli-sim
tests_unit_test_sim_SOURCES = tests/unit/test-sim.c tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_sim_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_sim_LDADD = $(TEST_LIBS)
tests_unit_test_idblock_SOURCES = tests/unit/test-idblock.c tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_idblock_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_idblock_LDADD = $(TEST_LIBS)
tests_unit_test_certcache_SOURCES = tests/unit/test-certcache.c tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_certcache_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_certcache_LDADD = $(TEST_LIBS)
tests_unit_test_cli_sim_SOURCES = tests/unit/test-cli-sim.c tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_cli_sim_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_cli_sim_LDADD = $(TEST_LIBS)
EXTRA_DIST += tests/data/sim tests/data/idblock

# Reports, AMD certificates, verification (issue 3, verifier side).
check_PROGRAMS += tests/unit/test-report tests/unit/test-certs tests/unit/test-verify \
	tests/unit/test-cli-report
TESTS += tests/unit/test-report tests/unit/test-certs tests/unit/test-verify \
	tests/unit/test-cli-report
VECTOR_TEST_SOURCES = tests/unit/testutil.c tests/unit/testutil.h \
	tests/unit/vectors.c tests/unit/vectors.h
tests_unit_test_report_SOURCES = tests/unit/test-report.c $(VECTOR_TEST_SOURCES)
tests_unit_test_report_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_report_LDADD = $(TEST_LIBS)
tests_unit_test_certs_SOURCES = tests/unit/test-certs.c $(VECTOR_TEST_SOURCES)
tests_unit_test_certs_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_certs_LDADD = $(TEST_LIBS)
tests_unit_test_verify_SOURCES = tests/unit/test-verify.c $(VECTOR_TEST_SOURCES)
tests_unit_test_verify_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_verify_LDADD = $(TEST_LIBS)
tests_unit_test_cli_report_SOURCES = tests/unit/test-cli-report.c $(VECTOR_TEST_SOURCES)
tests_unit_test_cli_report_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_cli_report_LDADD = $(TEST_LIBS)
EXTRA_DIST += tests/data/vectors

# Attestation end to end (sim identity, agent backends, verifier) and the agent.
check_PROGRAMS += tests/unit/test-attest
TESTS += tests/unit/test-attest
tests_unit_test_attest_SOURCES = tests/unit/test-attest.c tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_attest_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/guest
tests_unit_test_attest_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_attest_LDADD = libsnpguard-agent.la $(TEST_LIBS)
check_PROGRAMS += tests/unit/test-agent
TESTS += tests/unit/test-agent
tests_unit_test_agent_SOURCES = tests/unit/test-agent.c tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_agent_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/guest
tests_unit_test_agent_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_agent_LDADD = libsnpguard-agent.la $(TEST_LIBS)
check_PROGRAMS += tests/unit/test-cli-attest
TESTS += tests/unit/test-cli-attest
tests_unit_test_cli_attest_SOURCES = tests/unit/test-cli-attest.c tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_cli_attest_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_cli_attest_LDADD = $(TEST_LIBS)

# The user-facing surface of every command: --help, usage errors, unreadable
# inputs, --json validity.
check_PROGRAMS += tests/unit/test-cli-surface
TESTS += tests/unit/test-cli-surface
tests_unit_test_cli_surface_SOURCES = tests/unit/test-cli-surface.c tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_cli_surface_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_cli_surface_LDADD = $(TEST_LIBS)

# Integration tests: a real libvirtd and QEMU (TCG), as root; each skips
# with its reason elsewhere. They speak TAP like the unit tests.
TESTS += tests/integration/test-guest-build.sh tests/integration/test-guest-boot.sh
EXTRA_DIST += tests/integration/lib.sh tests/integration/test-guest-build.sh \
	tests/integration/test-guest-boot.sh
# The boot test uses the image the build test made (and checked). Named
# through a variable so that automake still writes the log's own rule.
GUEST_BOOT_LOG = tests/integration/test-guest-boot.sh.log
$(GUEST_BOOT_LOG): tests/integration/test-guest-build.sh.log
# A static agent for the guest image, built on demand by the tests when this
# build's own snpguard-agent is not static (configure --enable-static-agent).
EXTRA_PROGRAMS += tests/integration/snpguard-agent-static
tests_integration_snpguard_agent_static_SOURCES = guest/agent.c
tests_integration_snpguard_agent_static_CPPFLAGS = $(snpguard_agent_CPPFLAGS)
tests_integration_snpguard_agent_static_CFLAGS = $(snpguard_agent_CFLAGS)
tests_integration_snpguard_agent_static_LDFLAGS = $(AM_LDFLAGS) -all-static
tests_integration_snpguard_agent_static_LDADD = libsnpguard-agent.la libsnpguard-core.la \
	$(AGENT_STATIC_LIBS) $(LTLIBINTL)
CLEANFILES += tests/integration/snpguard-agent-static

# The initramfs writer; snpguard hook and guest build's input checks.
check_PROGRAMS += tests/unit/test-initramfs tests/unit/test-cli-guest
TESTS += tests/unit/test-initramfs tests/unit/test-cli-guest
tests_unit_test_initramfs_SOURCES = tests/unit/test-initramfs.c tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_initramfs_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_initramfs_LDADD = libsnpguard-host.la $(TEST_LIBS)
tests_unit_test_cli_guest_SOURCES = tests/unit/test-cli-guest.c tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_cli_guest_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_cli_guest_LDADD = $(TEST_LIBS)
