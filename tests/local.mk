# Unit tests: GLib test programs (TAP), one per module. Those that need only
# core (and the agent) use CORE_TEST_* and run in an agent-only build
# (--disable-host) too; those that read JSON or run the snpguard command are
# built only 'if ENABLE_HOST'.
CORE_TEST_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(CRYPTO_CFLAGS)
CORE_TEST_LIBS = libsnpguard-core.la $(GLIB_LIBS) $(CRYPTO_LIBS)
TEST_CFLAGS = $(CORE_TEST_CFLAGS) $(JSON_CFLAGS)
TEST_LIBS = libsnpguard-core.la $(JSON_LIBS) $(GLIB_LIBS) $(CRYPTO_LIBS)

check_PROGRAMS += tests/unit/test-buf
TESTS += tests/unit/test-buf
if ENABLE_HOST
check_PROGRAMS += tests/unit/test-cli
TESTS += tests/unit/test-cli
endif

tests_unit_test_buf_SOURCES = tests/unit/test-buf.c
tests_unit_test_buf_CFLAGS = $(CORE_TEST_CFLAGS)
tests_unit_test_buf_LDADD = $(CORE_TEST_LIBS)

tests_unit_test_cli_SOURCES = tests/unit/test-cli.c tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_cli_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_cli_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/unit/test-file
TESTS += tests/unit/test-file
tests_unit_test_file_SOURCES = tests/unit/test-file.c tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_file_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_file_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/unit/test-secret
TESTS += tests/unit/test-secret
tests_unit_test_secret_SOURCES = tests/unit/test-secret.c tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_secret_CFLAGS = $(CORE_TEST_CFLAGS)
tests_unit_test_secret_LDADD = $(CORE_TEST_LIBS)

check_PROGRAMS += tests/unit/test-proto
TESTS += tests/unit/test-proto
tests_unit_test_proto_SOURCES = tests/unit/test-proto.c tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_proto_CFLAGS = $(CORE_TEST_CFLAGS)
tests_unit_test_proto_LDADD = $(CORE_TEST_LIBS)

check_PROGRAMS += tests/unit/test-session
TESTS += tests/unit/test-session
tests_unit_test_session_SOURCES = tests/unit/test-session.c tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_session_CFLAGS = $(CORE_TEST_CFLAGS)
tests_unit_test_session_LDADD = $(CORE_TEST_LIBS)

# snpguard measure: the engine against sev-snp-measure's values, and the command.
check_PROGRAMS += tests/unit/test-measure
TESTS += tests/unit/test-measure
if ENABLE_HOST
check_PROGRAMS += tests/unit/test-cli-measure
TESTS += tests/unit/test-cli-measure
endif
MEASURE_TEST_SOURCES = tests/unit/testutil.c tests/unit/testutil.h \
	tests/unit/measure-inputs.c tests/unit/measure-inputs.h
tests_unit_test_measure_SOURCES = tests/unit/test-measure.c $(MEASURE_TEST_SOURCES)
tests_unit_test_measure_CFLAGS = $(CORE_TEST_CFLAGS)
tests_unit_test_measure_LDADD = $(CORE_TEST_LIBS)
tests_unit_test_cli_measure_SOURCES = tests/unit/test-cli-measure.c $(MEASURE_TEST_SOURCES)
tests_unit_test_cli_measure_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_cli_measure_LDADD = $(TEST_LIBS)
EXTRA_DIST += tests/data/measure/README tests/data/measure/ovmf_AmdSev_suffix.bin \
	tests/data/measure/ovmf_OvmfX64_suffix.bin
EXTRA_DIST += tests/data/measure/svsm_suffix.bin tests/data/measure/svsm_ovmf_suffix.bin

# Simulated secure processor, ID blocks, certificate cache (issue 3).
check_PROGRAMS += tests/unit/test-idblock tests/unit/test-certcache
TESTS += tests/unit/test-idblock tests/unit/test-certcache
if ENABLE_HOST
check_PROGRAMS += tests/unit/test-sim tests/unit/test-cli-sim
TESTS += tests/unit/test-sim tests/unit/test-cli-sim
endif
tests_unit_test_sim_SOURCES = tests/unit/test-sim.c tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_sim_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_sim_LDADD = $(TEST_LIBS)
tests_unit_test_idblock_SOURCES = tests/unit/test-idblock.c tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_idblock_CFLAGS = $(CORE_TEST_CFLAGS)
tests_unit_test_idblock_LDADD = $(CORE_TEST_LIBS)
tests_unit_test_certcache_SOURCES = tests/unit/test-certcache.c tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_certcache_CFLAGS = $(CORE_TEST_CFLAGS)
tests_unit_test_certcache_LDADD = $(CORE_TEST_LIBS)
tests_unit_test_cli_sim_SOURCES = tests/unit/test-cli-sim.c tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_cli_sim_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_cli_sim_LDADD = $(TEST_LIBS)
EXTRA_DIST += tests/data/sim tests/data/idblock

# Reports, AMD certificates, verification (issue 3, verifier side).
if ENABLE_HOST
check_PROGRAMS += tests/unit/test-report tests/unit/test-certs tests/unit/test-verify \
	tests/unit/test-cli-report
TESTS += tests/unit/test-report tests/unit/test-certs tests/unit/test-verify \
	tests/unit/test-cli-report
endif
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
# One verification policy: the same verdict from report verify, attest and core.
if ENABLE_HOST
check_PROGRAMS += tests/unit/test-policy
TESTS += tests/unit/test-policy
endif
tests_unit_test_policy_SOURCES = tests/unit/test-policy.c $(VECTOR_TEST_SOURCES)
tests_unit_test_policy_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_policy_LDADD = $(TEST_LIBS)

# Attestation end to end (sim identity, agent backends, verifier) and the agent.
check_PROGRAMS += tests/unit/test-attest
TESTS += tests/unit/test-attest
tests_unit_test_attest_SOURCES = tests/unit/test-attest.c tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_attest_CPPFLAGS = $(AGENT_CPPFLAGS)
tests_unit_test_attest_CFLAGS = $(CORE_TEST_CFLAGS)
tests_unit_test_attest_LDADD = libsnpguard-agent.la $(CORE_TEST_LIBS)
check_PROGRAMS += tests/unit/test-agent
TESTS += tests/unit/test-agent
tests_unit_test_agent_SOURCES = tests/unit/test-agent.c tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_agent_CPPFLAGS = $(AGENT_CPPFLAGS)
tests_unit_test_agent_CFLAGS = $(CORE_TEST_CFLAGS)
tests_unit_test_agent_LDADD = libsnpguard-agent.la $(CORE_TEST_LIBS)
if ENABLE_HOST
check_PROGRAMS += tests/unit/test-cli-attest
TESTS += tests/unit/test-cli-attest
endif
tests_unit_test_cli_attest_SOURCES = tests/unit/test-cli-attest.c tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_cli_attest_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_cli_attest_LDADD = $(TEST_LIBS)

# The user-facing surface of every command: --help, usage errors, unreadable
# inputs, --json validity.
if ENABLE_HOST
check_PROGRAMS += tests/unit/test-cli-surface
TESTS += tests/unit/test-cli-surface
endif
tests_unit_test_cli_surface_SOURCES = tests/unit/test-cli-surface.c tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_cli_surface_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_cli_surface_LDADD = $(TEST_LIBS)

# The libvirt domain XML (issue 8): templates, schemas, define/adopt --print-xml.
if ENABLE_HOST
check_PROGRAMS += tests/unit/test-domain
TESTS += tests/unit/test-domain
endif
tests_unit_test_domain_CPPFLAGS = $(HOST_CPPFLAGS)
tests_unit_test_domain_SOURCES = tests/unit/test-domain.c $(MEASURE_TEST_SOURCES)
tests_unit_test_domain_CFLAGS = $(TEST_CFLAGS) $(XML_CFLAGS)
tests_unit_test_domain_LDADD = libsnpguard-host.la $(TEST_LIBS) $(XML_LIBS)
EXTRA_DIST += tests/data/libvirt-schemas tests/data/domains
# The registry, key store and state directory (real SQLite), and the
# history and list commands.
if ENABLE_HOST
check_PROGRAMS += tests/unit/test-registry
TESTS += tests/unit/test-registry
endif
tests_unit_test_registry_CPPFLAGS = $(HOST_CPPFLAGS)
tests_unit_test_registry_SOURCES = tests/unit/test-registry.c tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_registry_CFLAGS = $(TEST_CFLAGS) $(SQLITE_CFLAGS)
tests_unit_test_registry_LDADD = libsnpguard-host.la $(TEST_LIBS) $(SQLITE_LIBS)
# One boot's records (boot.h) and the hook's (hookworker.h), no libvirt.
if ENABLE_HOST
check_PROGRAMS += tests/unit/test-boot
TESTS += tests/unit/test-boot
endif
tests_unit_test_boot_CPPFLAGS = $(HOST_CPPFLAGS)
tests_unit_test_boot_SOURCES = tests/unit/test-boot.c tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_boot_CFLAGS = $(TEST_CFLAGS) $(XML_CFLAGS) $(LIBVIRT_CFLAGS)
tests_unit_test_boot_LDADD = libsnpguard-host.la $(TEST_LIBS) $(XML_LIBS) $(SQLITE_LIBS)

# The root device: LUKS2 header checks and dm-verity verification on plain
# files (no device-mapper needed), with libcryptsetup.
if AGENT_CRYPTSETUP
check_PROGRAMS += tests/unit/test-luks
TESTS += tests/unit/test-luks
endif
tests_unit_test_luks_SOURCES = tests/unit/test-luks.c tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_luks_CPPFLAGS = $(AGENT_CPPFLAGS)
tests_unit_test_luks_CFLAGS = $(CORE_TEST_CFLAGS) $(CRYPTSETUP_CFLAGS)
tests_unit_test_luks_LDADD = libsnpguard-luks.la $(CORE_TEST_LIBS) $(CRYPTSETUP_LIBS)
# Integration tests: a real libvirtd and QEMU (TCG), as root; each skips
# with its reason elsewhere. They speak TAP like the unit tests.
if ENABLE_HOST
TESTS += tests/integration/test-guest-build.sh tests/integration/test-guest-boot.sh
TESTS += tests/integration/test-libvirt-define.sh
endif
EXTRA_DIST += tests/integration/lib.sh tests/integration/test-guest-build.sh \
	tests/integration/test-guest-boot.sh tests/integration/test-libvirt-define.sh
# The boot test uses the image the build test made (and checked). Named
# through a variable so that automake still writes the log's own rule.
GUEST_BOOT_LOG = tests/integration/test-guest-boot.sh.log
$(GUEST_BOOT_LOG): tests/integration/test-guest-build.sh.log
LIBVIRT_DEFINE_LOG = tests/integration/test-libvirt-define.sh.log
$(LIBVIRT_DEFINE_LOG): tests/integration/test-guest-build.sh.log
# Attestation on every start: the hook worker and snpguard watch.
TESTS += tests/integration/test-attest-on-start.sh tests/integration/test-watch.sh
EXTRA_DIST += tests/integration/test-attest-on-start.sh tests/integration/test-watch.sh
ATTEST_ON_START_LOG = tests/integration/test-attest-on-start.sh.log
$(ATTEST_ON_START_LOG): tests/integration/test-guest-build.sh.log
WATCH_LOG = tests/integration/test-watch.sh.log
$(WATCH_LOG): tests/integration/test-guest-build.sh.log
# A static agent for the guest image, built on demand by the tests when this
# build's own snpguard-agent is not static (configure --enable-static-agent).
EXTRA_PROGRAMS += tests/integration/snpguard-agent-static
tests_integration_snpguard_agent_static_SOURCES = guest/agent.c
tests_integration_snpguard_agent_static_CPPFLAGS = $(snpguard_agent_CPPFLAGS) -DSNPG_AGENT_NO_ROOT
tests_integration_snpguard_agent_static_CFLAGS = $(snpguard_agent_CFLAGS)
tests_integration_snpguard_agent_static_LDFLAGS = $(AM_LDFLAGS) -all-static
tests_integration_snpguard_agent_static_LDADD = libsnpguard-agent.la libsnpguard-core.la \
	$(AGENT_STATIC_LIBS) $(LTLIBINTL)
CLEANFILES += tests/integration/snpguard-agent-static

# The initramfs writer; snpguard hook and guest build's input checks.
if ENABLE_HOST
check_PROGRAMS += tests/unit/test-initramfs tests/unit/test-cli-guest
TESTS += tests/unit/test-initramfs tests/unit/test-cli-guest
endif
tests_unit_test_initramfs_CPPFLAGS = $(HOST_CPPFLAGS)
tests_unit_test_initramfs_SOURCES = tests/unit/test-initramfs.c tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_initramfs_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_initramfs_LDADD = libsnpguard-host.la $(TEST_LIBS)
tests_unit_test_cli_guest_SOURCES = tests/unit/test-cli-guest.c tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_cli_guest_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_cli_guest_LDADD = $(TEST_LIBS)

# snpguard image: LUKS2 and dm-verity images on plain files (real
# libcryptsetup), checked with the agent's own header and tree checks.
if ENABLE_HOST
if AGENT_CRYPTSETUP
check_PROGRAMS += tests/unit/test-image
TESTS += tests/unit/test-image
endif
endif
tests_unit_test_image_SOURCES = tests/unit/test-image.c $(MEASURE_TEST_SOURCES)
tests_unit_test_image_CPPFLAGS = $(HOST_CPPFLAGS) $(AGENT_CPPFLAGS)
tests_unit_test_image_CFLAGS = $(TEST_CFLAGS) $(XML_CFLAGS) $(CRYPTSETUP_CFLAGS)
tests_unit_test_image_LDADD = libsnpguard-host.la libsnpguard-luks.la $(TEST_LIBS) $(XML_LIBS) \
	$(CRYPTSETUP_LIBS)
# The workflows end to end (encrypted and integrity roots, tampering) and
# the header forger they use.
if ENABLE_HOST
check_PROGRAMS += tests/integration/luks-edit
endif
tests_integration_luks_edit_SOURCES = tests/integration/luks-edit.c tests/unit/testutil.c \
	tests/unit/testutil.h
tests_integration_luks_edit_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/unit
tests_integration_luks_edit_CFLAGS = $(CORE_TEST_CFLAGS)
tests_integration_luks_edit_LDADD = $(CORE_TEST_LIBS)
if ENABLE_HOST
TESTS += tests/integration/test-workflows.sh
endif
EXTRA_DIST += tests/integration/test-workflows.sh
# It boots the image the build test made (and checked).
WORKFLOWS_LOG = tests/integration/test-workflows.sh.log
$(WORKFLOWS_LOG): tests/integration/test-guest-build.sh.log
# define, show, undefine and the start gate against libvirt's test driver.
if ENABLE_HOST
check_PROGRAMS += tests/unit/test-cli-define
TESTS += tests/unit/test-cli-define
endif
tests_unit_test_cli_define_SOURCES = tests/unit/test-cli-define.c tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_cli_define_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_cli_define_LDADD = $(TEST_LIBS)

# snpg_vm_attest(): a registered VM attested by a real agent on a socket.
if ENABLE_HOST
check_PROGRAMS += tests/unit/test-vmattest
TESTS += tests/unit/test-vmattest
endif
tests_unit_test_vmattest_CPPFLAGS = $(HOST_CPPFLAGS)
tests_unit_test_vmattest_SOURCES = tests/unit/test-vmattest.c tests/unit/testutil.c tests/unit/testutil.h
tests_unit_test_vmattest_CFLAGS = $(TEST_CFLAGS) $(XML_CFLAGS)
tests_unit_test_vmattest_LDADD = libsnpguard-host.la $(TEST_LIBS) $(XML_LIBS)
